// dat console: one page over the daemon's HTTP API. Views: runs, a run (its eight stages with
// their inputs and actions, live), its history (the events; any one shows the run as of then),
// datasets and profiles. Plain DOM, no framework, no build step; `api.js` talks to the daemon.

import { api, askToken, headers, live, ApiError, hasToken } from "./api.js";

const STAGES = ["discovery", "selection", "context", "table_availability", "table_selection", "preview", "parse", "export"];
const OPTIONAL = new Set(["context", "preview"]);
const BACKGROUND = new Set(["parse", "export"]);
const FORMATS = ["parquet", "csv", "tsv", "json", "jsonl", "xlsx"];

const main = document.getElementById("main");
let leave = () => {}; // stops the live streams of the view being left


// ---- downloads: fetched with the token header, saved from a blob ----------------------------

async function download(datasetId) {
  const response = await fetch(`/api/datasets/${datasetId}/data`, { headers: headers() });
  if (!response.ok) throw new ApiError(response.status, (await response.json()).error);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? datasetId;
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- DOM helpers ---------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function table(headings, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))),
  );
}

function when(timestamp) {
  return timestamp ? new Date(timestamp).toLocaleString() : "—";
}

function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function alertBox() {
  return el("p", { class: "error", role: "alert" });
}

function show(box, error) {
  box.textContent = error ? error.message : "";
}

// ---- runs ----------------------------------------------------------------------------------

function runState(view) {
  if (view.current_stage === null) return "completed";
  return Object.values(view.stages).some((s) => s.running) ? "running" : "open";
}

async function runsView(params) {
  const status = params.get("status") ?? "";
  const query = status ? `?status=${status}` : "";
  const [{ runs }, { profiles }] = await Promise.all([api(`/api/dat/runs${query}`), api("/api/dat/profiles")]);
  const filter = el(
    "select",
    { id: "status-filter", onchange: (e) => (location.hash = `#/runs?status=${e.target.value}`) },
    ["", "open", "running", "completed"].map((s) => el("option", { value: s, selected: s === status }, s || "all")),
  );
  const error = alertBox();
  const create = el(
    "form",
    {
      class: "create",
      onsubmit: async (event) => {
        event.preventDefault();
        const form = new FormData(event.target);
        try {
          const view = await api("/api/dat/runs", {
            method: "POST",
            body: { name: form.get("name") || null, profile_id: form.get("profile") || null },
          });
          location.hash = `#/runs/${view.run_id}`;
        } catch (e) {
          show(error, e);
        }
      },
    },
    el("h2", {}, "New run"),
    el("label", { for: "run-name" }, "Name"),
    el("input", { id: "run-name", name: "name", placeholder: "lot 42" }),
    el("label", { for: "run-profile" }, "Profile"),
    el(
      "select",
      { id: "run-profile", name: "profile" },
      el("option", { value: "" }, "none"),
      profiles.map((p) => el("option", { value: p.profile_id }, p.title ? `${p.title} (${p.profile_id})` : p.profile_id)),
    ),
    el("button", { type: "submit" }, "Create run"),
    error,
  );
  const rows = runs.map((r) => [
    el("a", { href: `#/runs/${r.run_id}` }, r.name ?? r.run_id),
    when(r.created_at),
    r.current_stage ?? "done",
    runState(r),
    r.profile_id ?? "—",
  ]);
  return [
    el("h1", {}, "Runs"),
    create,
    el("p", {}, el("label", { for: "status-filter" }, "Status "), filter),
    runs.length ? table(["Run", "Created", "Current stage", "Status", "Profile"], rows) : el("p", {}, "No runs yet."),
  ];
}

// ---- a run ---------------------------------------------------------------------------------

function stageState(status) {
  if (status.running) return "running";
  if (status.error) return "error";
  if (status.interrupted && status.state === "unlocked") return "interrupted";
  if (status.cancelled && status.state === "unlocked") return "cancelled";
  if (status.skipped) return "skipped";
  if (status.state === "locked") return status.completed ? "completed" : "locked";
  return "unlocked";
}

async function artifact(runId, stage) {
  try {
    return (await api(`/api/dat/runs/${runId}/stages/${stage}/artifact`)).content;
  } catch {
    return null;
  }
}

// Each stage's inputs as a form; returns [fields, () => lock body].
async function inputsOf(stage, run, disabled) {
  const id = run.run_id;
  if (stage === "discovery") {
    const root = el("select", { id: "discovery-root", name: "root", disabled });
    const fill = async (path) => {
      const listing = await api(`/api/dat/workspace?path=${encodeURIComponent(path)}`);
      const base = listing.path === "." ? "" : listing.path;
      const options = [el("option", { value: listing.path }, `${listing.path} (this folder)`)];
      for (const folder of listing.folders) {
        const child = base ? `${base}/${folder}` : folder;
        options.push(el("option", { value: child }, child));
      }
      root.replaceChildren(...options);
    };
    await fill("");
    root.addEventListener("dblclick", () => fill(root.value === "." ? "" : root.value));
    const include = el("input", { id: "discovery-include", placeholder: "*.csv, *.xlsx", disabled });
    const exclude = el("input", { id: "discovery-exclude", placeholder: "old/*", disabled });
    const globs = (input) => input.value.split(",").map((g) => g.trim()).filter(Boolean);
    return [
      [
        el("label", { for: "discovery-root" }, "Folder"), root,
        el("label", { for: "discovery-include" }, "Include (globs)"), include,
        el("label", { for: "discovery-exclude" }, "Exclude (globs)"), exclude,
      ],
      () => ({ root: root.value, include: globs(include), exclude: globs(exclude) }),
    ];
  }
  const upstream = { selection: "discovery", table_selection: "table_availability" }[stage];
  if (upstream && run.stages[upstream]?.state !== "locked") {
    return [[el("p", { class: "hint" }, `Lock ${upstream.replace("_", " ")} first.`)], () => ({})];
  }
  if (stage === "selection") {
    const found = await artifact(id, "discovery");
    const files = (found?.files ?? []).filter((f) => f.supported);
    const boxes = files.map((f) => el("input", { type: "checkbox", value: f.path, checked: true, disabled, id: `file-${f.path}` }));
    return [
      [el("fieldset", {}, el("legend", {}, "Files"), files.map((f, i) => el("div", {}, boxes[i], el("label", { for: `file-${f.path}` }, `${f.path} (${f.size} bytes)`))))],
      () => ({ files: boxes.filter((b) => b.checked).map((b) => b.value) }),
    ];
  }
  if (stage === "table_selection") {
    const found = await artifact(id, "table_availability");
    const tables = found?.tables ?? [];
    const usable = (t) => t.status === "available" || t.status === "partial";
    const boxes = tables.map((t) => el("input", { type: "checkbox", value: t.table_id, checked: usable(t), disabled: disabled || !usable(t), id: `table-${t.table_id}` }));
    return [
      [
        table(
          ["", "Table", "Status", "Rows", "Columns"],
          tables.map((t, i) => [boxes[i], el("label", { for: `table-${t.table_id}` }, t.table_id), t.status, String(t.row_estimate ?? "—"), String(t.columns?.length ?? 0)]),
        ),
      ],
      () => ({ tables: boxes.filter((b) => b.checked).map((b) => b.value) }),
    ];
  }
  if (stage === "preview") {
    const rows = el("input", { id: "preview-rows", type: "number", min: 1, max: 100, value: 20, disabled });
    return [[el("label", { for: "preview-rows" }, "Rows"), rows], () => ({ rows: Number(rows.value) })];
  }
  if (stage === "export") {
    const format = el("select", { id: "export-format", disabled }, FORMATS.map((f) => el("option", { value: f }, f)));
    const fields = [el("label", { for: "export-format" }, "Format"), format];
    let output = null;
    if (run.profile_id) {
      try {
        const tables = await api(`/api/dat/profiles/${run.profile_id}/tables`);
        output = el("select", { id: "export-output", disabled }, el("option", { value: "" }, "the dataset"), (tables.outputs ?? []).map((o) => el("option", { value: o.id }, o.id)));
        fields.push(el("label", { for: "export-output" }, "Profile output"), output);
      } catch {
        output = null;
      }
    }
    return [fields, () => ({ format: format.value, ...(output?.value ? { output: output.value } : {}) })];
  }
  return [[], () => ({})];
}

// What a locked stage shows: its artifact, briefly.
async function outcomeOf(stage, run) {
  const status = run.stages[stage];
  if (status.state !== "locked" || status.skipped) return null;
  const content = await artifact(run.run_id, stage);
  if (!content) return null;
  if (stage === "discovery") return el("p", {}, `${content.supported} supported file(s), ${content.unsupported} other(s) in ${content.root}`);
  if (stage === "table_availability") return el("p", {}, Object.entries(content.counts ?? {}).map(([k, v]) => `${v} ${k}`).join(", "));
  if (stage === "preview") {
    return el("div", { class: "previews" }, (content.tables ?? []).map((t) =>
      t.preview ? el("figure", {}, el("figcaption", {}, t.table_id), table(t.preview.columns.map((c) => c.name ?? c), (t.preview.rows ?? []).map((r) => r.map((v) => (v === null ? "" : String(v)))))) : el("p", {}, `${t.table_id}: ${t.error}`)));
  }
  if (stage === "export" && status.completed) {
    const error = alertBox();
    return el("p", {}, `Dataset ${content.dataset_id} (${content.format}) `,
      el("button", { type: "button", class: "download", onclick: () => download(content.dataset_id).catch((e) => show(error, e)) }, "Download"), error);
  }
  return null;
}

// The last progress of each stage of the run on screen: a page redrawn by an event keeps it.
let progressSeen = {};

function progressBar(stage) {
  const box = el("div", { class: "progress", hidden: true, id: `progress-${stage}` },
    el("progress", { max: 100, value: 0, "aria-label": `${stage} progress` }),
    el("span", { class: "progress-text" }));
  if (progressSeen[stage]) drawProgress(box, progressSeen[stage]);
  return box;
}

function drawProgress(box, p) {
  box.hidden = false;
  box.querySelector("progress").value = p.percent;
  const eta = p.eta_seconds === null || p.eta_seconds === undefined ? "" : `, ETA ${duration(p.eta_seconds)}`;
  box.querySelector(".progress-text").textContent = `${Math.floor(p.percent)}% (${p.tables_done}/${p.tables_total} tables, ${p.rows} rows${eta})`;
}

async function stageCard(stage, run, { readOnly = false } = {}) {
  const status = run.stages[stage];
  const state = stageState(status);
  const error = alertBox();
  const locked = status.state === "locked";
  const [fields, bodyOf] = readOnly || locked ? [[], () => ({})] : await inputsOf(stage, run, false);
  const act = (action, body) => async () => {
    show(error, null);
    try {
      await api(`/api/dat/runs/${run.run_id}/stages/${stage}/${action}`, { method: "POST", body });
      await refresh(run.run_id);
    } catch (e) {
      show(error, e);
    }
  };
  const buttons = readOnly ? [] : [
    !locked && el("button", { type: "submit" }, "Lock"),
    locked && el("button", { type: "button", onclick: act("unlock") }, "Unlock"),
    OPTIONAL.has(stage) && !status.skipped && el("button", { type: "button", onclick: act("skip") }, "Skip"),
    locked && !status.completed && !status.running && el("button", { type: "button", onclick: act("complete") }, "Complete"),
    status.running && el("button", {
      type: "button",
      onclick: async () => {
        try {
          await api(`/api/dat/runs/${run.run_id}/cancel`, { method: "POST", body: { by: "console" } });
        } catch (e) {
          show(error, e);
        }
      },
    }, "Cancel"),
  ];
  const form = el("form", {
    onsubmit: (event) => {
      event.preventDefault();
      act("lock", bodyOf())();
    },
  }, fields, el("div", { class: "actions" }, buttons));
  return el("li", { class: "stage", dataset: { stage, state } },
    el("h3", {}, stage.replace("_", " "), " ", el("span", { class: "badge" }, state)),
    el("dl", {},
      el("dt", {}, "Stage ID"), el("dd", {}, status.stage_id ?? "—"),
      el("dt", {}, "Locked"), el("dd", {}, when(status.locked_at)),
      el("dt", {}, "Completed"), el("dd", {}, when(status.completed_at)),
      status.error && el("dt", {}, "Error"), status.error && el("dd", {}, status.error)),
    BACKGROUND.has(stage) && !readOnly && progressBar(stage),
    readOnly ? null : await outcomeOf(stage, run),
    form,
    error);
}

async function pipeline(run, options) {
  const cards = [];
  for (const stage of STAGES) if (run.stages[stage]) cards.push(await stageCard(stage, run, options));
  return el("ol", { class: "pipeline", "aria-label": "Stages" }, cards);
}

async function refresh(runId) {
  const holder = document.getElementById("pipeline");
  if (!holder) return;
  const run = await api(`/api/dat/runs/${runId}`);
  document.getElementById("run-current").textContent = run.current_stage ?? "done";
  holder.replaceChildren(await pipeline(run));
}

async function runView(runId) {
  const run = await api(`/api/dat/runs/${runId}`);
  const holder = el("div", { id: "pipeline" }, await pipeline(run));
  // Live: stage states from the run's events, progress from its progress stream.
  let pending = Promise.resolve();
  const stopEvents = live(`/api/dat/runs/${runId}/events/stream`, (type, envelope) => {
    if (envelope.type === "Checkpointed") return; // no stage changed state
    pending = pending.then(() => refresh(runId)).catch(() => {});
  });
  progressSeen = {};
  const stopProgress = live(`/api/dat/runs/${runId}/progress`, (type, p) => {
    progressSeen[p.stage] = p;
    const box = document.getElementById(`progress-${p.stage}`);
    if (box) drawProgress(box, p);
  });
  leave = () => {
    stopEvents();
    stopProgress();
  };
  return [
    el("h1", {}, run.name ?? run.run_id),
    el("p", {}, `Run ${run.run_id} · created ${when(run.created_at)} · current stage `, el("strong", { id: "run-current" }, run.current_stage ?? "done"), " · ",
      el("a", { href: `#/runs/${runId}/history` }, "History")),
    holder,
  ];
}

// ---- history -------------------------------------------------------------------------------

function describe(event) {
  const d = event.data ?? {};
  if (event.type === "Cascaded") return `unlocking ${d.trigger} also unlocked ${d.targets.join(", ")}`;
  if (event.type === "Checkpointed") return `${d.table_id}: ${d.rows} rows`;
  if (event.type === "StageLocked") return `${d.stage_id}${d.reused ? " (reused)" : ""}`;
  if (event.type === "CleanupPerformed") return `${d.removed.length} item(s), ${d.bytes} bytes`;
  if (event.type === "Interrupted") return `${d.checkpoints} table(s) checkpointed before`;
  if (d.error) return d.error;
  if (d.reason) return d.reason;
  return "";
}

async function historyView(runId) {
  const { events } = await api(`/api/dat/runs/${runId}/events`);
  const asOf = el("section", { id: "as-of", "aria-live": "polite" }, el("p", {}, "Select an event to see the run as it was then."));
  const select = async (seq, button) => {
    for (const b of document.querySelectorAll(".timeline button")) b.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    const run = await api(`/api/dat/runs/${runId}?at_seq=${seq}`);
    asOf.replaceChildren(el("h2", {}, `As of event ${seq}`), el("p", {}, `current stage `, el("strong", { id: "as-of-current" }, run.current_stage ?? "done")), await pipeline(run, { readOnly: true }));
  };
  const items = events.map((e) => {
    const button = el("button", { type: "button", "aria-pressed": "false", dataset: { seq: e.seq }, onclick: (ev) => select(e.seq, ev.currentTarget) },
      el("span", { class: "seq" }, `#${e.seq}`), " ", el("time", { datetime: e.at }, when(e.at)), " ",
      el("strong", {}, e.type), " ", el("span", {}, e.data?.stage ?? ""), " ", el("span", { class: "details" }, describe(e)));
    return el("li", {}, button);
  });
  return [
    el("h1", {}, "History"),
    el("p", {}, el("a", { href: `#/runs/${runId}` }, "Back to the run")),
    el("div", { class: "history" }, el("ol", { class: "timeline", "aria-label": "Events" }, items), asOf),
  ];
}

// ---- datasets and profiles -----------------------------------------------------------------

async function datasetsView() {
  const { datasets } = await api("/api/datasets");
  return [
    el("h1", {}, "Datasets"),
    datasets.length
      ? table(["Dataset", "Name", "Created", "Rows", "Format"], datasets.map((d) => [el("a", { href: `#/datasets/${d.dataset_id}` }, d.dataset_id), d.name, when(d.created_at), String(d.row_count), d.format]))
      : el("p", {}, "No datasets yet."),
  ];
}

async function datasetView(id) {
  const [manifest, preview, lineage] = await Promise.all([api(`/api/datasets/${id}`), api(`/api/datasets/${id}/preview?rows=20`), api(`/api/datasets/${id}/lineage`)]);
  const error = alertBox();
  return [
    el("h1", {}, manifest.name),
    el("p", {}, el("button", { type: "button", class: "download", onclick: () => download(id).catch((e) => show(error, e)) }, "Download"), error),
    el("h2", {}, "Preview"),
    el("div", { id: "dataset-preview" }, table(preview.columns.map((c) => c.name ?? c), preview.rows.map((r) => r.map((v) => (v === null ? "" : String(v)))))),
    el("h2", {}, "Lineage"),
    el("pre", {}, JSON.stringify(lineage, null, 2)),
    el("h2", {}, "Manifest"),
    el("pre", {}, JSON.stringify(manifest, null, 2)),
  ];
}

async function profilesView() {
  const { profiles } = await api("/api/dat/profiles");
  const result = el("div", { id: "profile-check", "aria-live": "polite" });
  const file = el("input", { type: "file", id: "profile-file", accept: ".yaml,.yml,.json" });
  const check = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const chosen = file.files[0];
      if (!chosen) return;
      const answer = await api("/api/dat/profiles/check", { method: "POST", text: await chosen.text() });
      result.replaceChildren(
        el("p", {}, answer.valid ? `Valid: ${answer.profile_id}` : `${answer.problems.length} problem(s)`),
        answer.problems.length ? table(["Path", "Problem"], answer.problems.map((p) => [p.path || "(profile)", p.message])) : null,
        answer.warnings.length ? el("ul", {}, answer.warnings.map((w) => el("li", {}, typeof w === "string" ? w : `${w.path}: ${w.message}`))) : null,
      );
    },
  }, el("label", { for: "profile-file" }, "Profile file"), file, el("button", { type: "submit" }, "Validate"));
  return [
    el("h1", {}, "Profiles"),
    profiles.length ? table(["Profile", "Title", "Tables", "Source"], profiles.map((p) => [p.profile_id, p.title ?? "", String(p.tables ?? ""), p.source ?? ""])) : el("p", {}, "No profiles."),
    el("h2", {}, "Validate a profile"),
    check,
    result,
  ];
}

// ---- routing -------------------------------------------------------------------------------

async function route() {
  leave();
  leave = () => {};
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query ?? "");
  const parts = path.split("/").filter(Boolean);
  let view;
  try {
    if (parts[0] === "runs" && parts[1] && parts[2] === "history") view = await historyView(parts[1]);
    else if (parts[0] === "runs" && parts[1]) view = await runView(parts[1]);
    else if (parts[0] === "datasets" && parts[1]) view = await datasetView(parts[1]);
    else if (parts[0] === "datasets") view = await datasetsView();
    else if (parts[0] === "profiles") view = await profilesView();
    else view = await runsView(params);
  } catch (e) {
    view = [el("h1", {}, "Something went wrong"), el("p", { role: "alert" }, e.message)];
  }
  main.replaceChildren(...view);
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", location.hash.startsWith(link.getAttribute("href")));
  }
}

window.addEventListener("hashchange", route);
(async () => {
  // Health needs no token and says whether the others do: ask for one before any call fails.
  const health = await (await fetch("/api/dat/health")).json();
  if (health.token_required && !hasToken()) await askToken();
  await route();
})();
