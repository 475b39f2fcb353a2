// dat console: talking to the daemon. The token (when the daemon wants one) lives in this tab's
// sessionStorage and travels in the Authorization header only: streams are read with fetch()
// (EventSource cannot send the header), never a token in a URL.

let token = sessionStorage.getItem("dat-token");

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code;
  }
}

export function hasToken() {
  return Boolean(token);
}

export function headers(extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

export async function api(path, { method = "GET", body, text } = {}) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  } else if (text !== undefined) {
    init.body = text;
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    await askToken();
    return api(path, { method, body, text });
  }
  const raw = await response.text();
  const data = raw ? JSON.parse(raw) : null;
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

// Server-sent events read with fetch (EventSource cannot send the token header).
async function stream(path, onEvent, signal) {
  const response = await fetch(path, { headers: headers(), signal });
  if (!response.ok || !response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = "message";
      let data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(type, JSON.parse(data));
    }
  }
}

export function live(path, onEvent) {
  const controller = new AbortController();
  stream(path, onEvent, controller.signal).catch(() => {});
  return () => controller.abort();
}

// ---- the token -----------------------------------------------------------------------------

let asking = null;

export function askToken() {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  document.getElementById("main").replaceChildren(); // nothing but the prompt until a token works
  error.textContent = token ? "That token was refused." : "";
  asking = new Promise((resolve) => {
    document.getElementById("token-form").onsubmit = async (event) => {
      event.preventDefault();
      token = input.value.trim();
      const check = await fetch("/api/dat/runs?limit=1", { headers: headers() });
      if (check.status === 401) {
        error.textContent = "That token was refused.";
        return;
      }
      sessionStorage.setItem("dat-token", token);
      dialog.close();
      asking = null;
      resolve();
    };
    dialog.showModal();
    input.focus();
  });
  return asking;
}
