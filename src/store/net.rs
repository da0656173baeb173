//! Owns what the network backends share: the `timeout` option (for every keyed backend the
//! budget of one call, see `keyed.rs`; for `hashicorp/vault`, `redis` and `artifactory` also the
//! bound of each request), turning a transport failure into a sentence and a hint, removing
//! credentials from text before it reaches a message, and running a call to completion from
//! synchronous code ([`run_blocking`], for the SOPS master-key providers).
//!
//! Every network call is bounded: `options.timeout` (seconds, default [`DEFAULT_TIMEOUT`]) caps
//! connecting and the whole request, so an unreachable or silent server fails in bounded time.

use std::time::Duration;

use crate::config::StoreConfig;
use crate::store::StoreError;

/// Default budget of one store call, and bound on one network request (connect + answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The request timeout of a store: `options.timeout` in seconds (a number or a string).
pub fn timeout(cfg: &StoreConfig) -> Result<Duration, StoreError> {
    use crate::yaml::Node;
    let raw = match cfg.options.get("timeout") {
        None | Some(Node::Null) => return Ok(DEFAULT_TIMEOUT),
        Some(Node::Int(i)) => i.to_string(),
        Some(Node::Float(f)) => f.to_string(),
        Some(Node::Str(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
    };
    match raw.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(StoreError::Config {
            store: cfg.name.clone(),
            message: format!(
                "`timeout` must be a number of seconds between 0 and 3600, not `{raw}`"
            ),
            hint: Some(
                "set `options.timeout: 10` (seconds) or remove it for the 20 s default".into(),
            ),
        }),
    }
}

/// Why a request never got an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Nothing listens there, or the host is unknown.
    Connect,
    /// No answer within the timeout.
    Timeout,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Anything else on the wire.
    Other,
}

/// Classifies an error by walking its source chain for a `reqwest`/`io` cause.
pub fn classify(err: &(dyn std::error::Error + 'static)) -> Transport {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut found = Transport::Other;
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return Transport::Timeout;
            }
            if r.is_connect() {
                found = Transport::Connect;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::TimedOut | K::WouldBlock => return Transport::Timeout,
                K::ConnectionRefused | K::NotFound | K::AddrNotAvailable | K::HostUnreachable => {
                    return Transport::Connect;
                }
                _ => {}
            }
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            found = Transport::Tls;
        }
        cur = e.source();
    }
    found
}

/// Whether the connection was dropped under a request that had been sent: reset, aborted, a
/// broken pipe, or closed before the whole answer arrived. Such a request may well succeed when
/// sent again (a restarting server, a proxy recycling connections); a refused connection or a
/// timeout is not this (nothing listens there; the time bound is spent).
pub fn dropped(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<reqwest::Error>()
            && (r.is_timeout() || r.is_connect())
        {
            return false;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
            ) {
                return true;
            }
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("connection closed before message completed")
            || text.contains("connection reset")
            || text.contains("end of file before message length reached")
            || text.contains("incomplete message")
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The innermost message of an error chain (usually the most specific, e.g. "Connection
/// refused"), with `secrets` removed.
pub fn root_cause(err: &(dyn std::error::Error + 'static), secrets: &[&str]) -> String {
    let mut last = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        last = e.to_string();
        cur = e.source();
    }
    redact(&last, secrets)
}

/// A sentence and a hint for a transport failure talking to `what` at `location`.
pub fn describe(
    kind: Transport,
    what: &str,
    location: &str,
    timeout: Duration,
) -> (String, String) {
    match kind {
        Transport::Connect => (
            format!("cannot connect to {what} at {location}"),
            format!("check the store's address and that {what} is running and reachable from here"),
        ),
        Transport::Timeout => (
            format!(
                "{what} at {location} did not answer within {} s",
                timeout.as_secs_f64()
            ),
            "check the address, the network and the server's health; `options.timeout` sets the bound".into(),
        ),
        Transport::Tls => (
            format!("the TLS connection to {what} at {location} failed"),
            "check that the URL's scheme matches the server, and set `options.ca_cert` to the CA bundle that signed its certificate".into(),
        ),
        Transport::Other => (
            format!("the request to {what} at {location} failed"),
            format!("check that {what} is reachable and healthy"),
        ),
    }
}

/// Replaces every non-empty `secrets` occurrence in `text` with `****`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "****");
    }
    out
}

/// A URL with any user/password part replaced by `****`, for messages.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if !u.username().is_empty() {
                let _ = u.set_username("****");
            }
            if u.password().is_some() {
                let _ = u.set_password(Some("****"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

/// Runs `f` to completion on a fresh thread and runtime (the codec calls providers from sync
/// code that may itself be inside a runtime).
pub fn run_blocking<T: Send>(
    f: impl std::future::Future<Output = Result<T, String>> + Send,
) -> Result<T, String> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for the key service: {e}"))?
                .block_on(f)
        })
        .join()
        .unwrap_or_else(|_| Err("the key service call panicked".into()))
    })
}

/// Implements [`MasterKeyProvider`](crate::sops::MasterKeyProvider) for a network key service that handles one metadata `kind`
/// and has `async fn unwrap_async(&self, entry)` and `async fn wrap_async(&self, spec, payload)`:
/// other kinds are `Ok(None)`, and each call runs to completion on its own runtime
/// ([`run_blocking`]), as the codec is synchronous.
macro_rules! network_key_provider {
    ($ty:ty, $kind:literal) => {
        impl $crate::sops::MasterKeyProvider for $ty {
            fn decrypt(
                &self,
                kind: &str,
                entry: &$crate::sops::Value,
            ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, String> {
                if kind != $kind {
                    return Ok(None);
                }
                $crate::store::net::run_blocking(self.unwrap_async(entry)).map(Some)
            }

            fn encrypt(
                &self,
                kind: &str,
                spec: &$crate::sops::Value,
                payload: &[u8],
            ) -> Result<Option<$crate::sops::Value>, String> {
                if kind != $kind {
                    return Ok(None);
                }
                $crate::store::net::run_blocking(self.wrap_async(spec, payload)).map(Some)
            }
        }
    };
}
pub(crate) use network_key_provider;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dropped_connections_count_as_dropped() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
        ] {
            assert!(dropped(&Error::from(kind)), "{kind:?}");
        }
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::TimedOut,
            ErrorKind::NotFound,
        ] {
            assert!(!dropped(&Error::from(kind)), "{kind:?}");
        }
        assert!(dropped(&Error::other(
            "connection closed before message completed"
        )));
    }

    #[test]
    fn urls_lose_credentials() {
        assert_eq!(
            redact_url("redis://user:pw@127.0.0.1:6379/0"),
            "redis://****:****@127.0.0.1:6379/0"
        );
        assert_eq!(redact_url("rediss://:pw@h:1"), "rediss://:****@h:1");
        assert_eq!(redact_url("http://h:8200"), "http://h:8200/");
        assert_eq!(redact_url("not a url"), "<unparsable URL>");
    }

    #[test]
    fn the_default_budget_is_20_s_and_timeout_sets_it() {
        let cfg = |o: &str| crate::store::test_config("s", crate::config::StoreKind::Redis, o);
        assert_eq!(timeout(&cfg("url: x")).unwrap(), Duration::from_secs(20));
        assert_eq!(
            timeout(&cfg("url: x\ntimeout: 2")).unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(
            timeout(&cfg("url: x\ntimeout: '0.5'")).unwrap(),
            Duration::from_millis(500)
        );
        for bad in ["abc", "''", "0", "-1", "99999"] {
            let e = timeout(&cfg(&format!("url: x\ntimeout: {bad}"))).unwrap_err();
            assert!(e.to_string().contains("`timeout` must be"), "{bad}: {e}");
        }
    }

    #[test]
    fn redact_removes_every_secret() {
        assert_eq!(redact("a tok b tok", &["tok", ""]), "a **** b ****");
    }

    #[test]
    fn io_causes_are_classified() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(classify(&refused), Transport::Connect);
        let slow = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(classify(&slow), Transport::Timeout);
    }
}
