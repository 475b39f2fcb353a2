//! `NatsUrl`: a NATS server address checked once, at configuration time.

use std::fmt;
use std::str::FromStr;

/// A NATS server URL such as `nats://127.0.0.1:4222` (scheme and port default to `nats` and
/// 4222, as the NATS clients do). Once you hold one, the client accepts it.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsUrl(String);

/// Why a NATS URL was refused. Shown with the setting it came from; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("not a NATS server URL ({reason}); expected e.g. nats://127.0.0.1:4222")]
pub struct BadNatsUrl {
    reason: String,
}

impl NatsUrl {
    /// Checks `text` as a NATS server address.
    ///
    /// # Errors
    /// [`BadNatsUrl`] when the client would refuse it.
    pub fn parse(text: &str) -> Result<Self, BadNatsUrl> {
        let text = text.trim();
        if text.is_empty() {
            return Err(BadNatsUrl { reason: "empty".into() });
        }
        async_nats::ServerAddr::from_str(text).map_err(|e| BadNatsUrl { reason: e.to_string() })?;
        Ok(NatsUrl(text.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Credentials may sit in a URL (`nats://user:pass@host`): `Debug` hides everything before `@`.
impl fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.rsplit_once('@') {
            Some((_, host)) => write!(f, "NatsUrl(***@{host})"),
            None => write!(f, "NatsUrl({})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_server_addresses_and_refuses_garbage() {
        assert!(NatsUrl::parse("nats://127.0.0.1:4222").is_ok());
        assert!(NatsUrl::parse("localhost:4222").is_ok());
        assert!(NatsUrl::parse("").is_err());
        assert!(NatsUrl::parse("http://[::1").is_err());
        let secret = NatsUrl::parse("nats://me:secret@host:4222").unwrap();
        assert!(!format!("{secret:?}").contains("secret"));
    }
}
