//! The one global: the tracing subscriber, set once in `main`. Logs go to stderr so that stdout
//! carries only what a command prints for its user (and the daemon's address line).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the subscriber. `RUST_LOG` overrides the default level (`info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
