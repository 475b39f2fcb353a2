//! `NatsServer`: a real `nats-server -js` on a free port with its own temp store dir, killed on
//! drop; and `Js`, a small blocking JetStream client for assertions on the `DAT_EVENTS` stream.
//! Set `DAT_TEST_LOG=1` to see the server's logs.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::Value;

/// The server binary: `/usr/sbin/nats-server` (Debian's package) or `nats-server` on PATH.
fn binary() -> PathBuf {
    let debian = PathBuf::from("/usr/sbin/nats-server");
    if debian.exists() {
        return debian;
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("nats-server")).find(|p| p.exists()))
        .expect("nats-server not found: run scripts/test, which installs it (apt-get install nats-server)")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A running nats-server with JetStream.
pub struct NatsServer {
    child: Option<Child>,
    store: tempfile::TempDir,
    pub port: u16,
    pub url: String,
}

impl NatsServer {
    /// Starts a server on a free port and a fresh store dir.
    pub fn start() -> Self {
        let port = free_port();
        let mut server = NatsServer {
            child: None,
            store: tempfile::tempdir().expect("store dir"),
            port,
            url: format!("nats://127.0.0.1:{port}"),
        };
        server.restart();
        server
    }

    /// SIGKILL: no goodbye to clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store dir (after [`NatsServer::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill the server first");
        let logs = std::env::var_os("DAT_TEST_LOG").is_some();
        let child = Command::new(binary())
            .args(["-js", "-sd"])
            .arg(self.store.path())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(if logs { Stdio::inherit() } else { Stdio::null() })
            .stderr(if logs { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("spawn nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not accept connections within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message of the stream, as a subscriber sees it.
#[derive(Debug)]
pub struct StoredEvent {
    pub subject: String,
    pub msg_id: String,
    pub payload: Value,
}

/// A blocking JetStream client for assertions.
pub struct Js {
    rt: tokio::runtime::Runtime,
    pub client: async_nats::Client,
    js: jetstream::Context,
}

impl Js {
    pub fn connect(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let client = rt.block_on(async_nats::connect(url)).expect("connect to nats-server");
        // The context spawns its ack handler, so it is built inside the runtime.
        let js = rt.block_on(async { jetstream::new(client.clone()) });
        Js { rt, client, js }
    }

    /// The runtime, for tests that subscribe.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Messages in `DAT_EVENTS` (0 while the stream does not exist yet).
    pub fn count(&self) -> u64 {
        self.rt.block_on(async {
            match self.js.get_stream("DAT_EVENTS").await {
                Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            }
        })
    }

    /// Every message in the stream, in stream order.
    pub fn events(&self) -> Vec<StoredEvent> {
        self.rt.block_on(async {
            let mut stream = self.js.get_stream("DAT_EVENTS").await.expect("stream DAT_EVENTS");
            let state = stream.info().await.expect("stream info").state.clone();
            let mut out = Vec::new();
            for seq in state.first_sequence..=state.last_sequence {
                let message = stream.get_raw_message(seq).await.expect("stored message");
                let msg_id =
                    message.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned()).expect("Nats-Msg-Id header");
                out.push(StoredEvent {
                    subject: message.subject.to_string(),
                    msg_id,
                    payload: serde_json::from_slice(&message.payload).expect("JSON payload"),
                });
            }
            out
        })
    }

    /// The stream's duplicate window.
    pub fn duplicate_window(&self) -> Duration {
        self.rt.block_on(async {
            let mut stream = self.js.get_stream("DAT_EVENTS").await.expect("stream DAT_EVENTS");
            stream.info().await.expect("stream info").config.duplicate_window
        })
    }
}
