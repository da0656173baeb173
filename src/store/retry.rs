//! Owns retrying a backend call that failed for a reason that passes: throttling (HTTP 429), a
//! burst of 502/503/504, a dropped connection. Attempts are bounded ([`MAX_ATTEMPTS`]), spaced
//! by exponential backoff with jitter (a `Retry-After` is honoured up to [`MAX_DELAY`]), and the
//! store's time budget still bounds the whole call. Each retry is one `--logs-level debug` line
//! ("throttled (HTTP 429) from Vault on store `v` (read of `k`): retry 1/3 in 212 ms"), so a slow command can be explained.
//!
//! Writes are retried too: every backend here writes whole values (a repeated PUT leaves the
//! same state), and the failures retried are ones where the server did not do the work.
//!
//! The SOPS master-key services (Vault transit, GCP Cloud KMS, Azure Key Vault keys) send their
//! wrap/unwrap calls through [`send`], which adds dropped connections to the transient failures:
//! an encrypt or decrypt changes nothing on the server, so repeating one is always safe.

use std::future::Future;
use std::time::Duration;

use zeroize::Zeroizing;

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 4;
/// The first backoff; it doubles per retry.
pub const FIRST_DELAY: Duration = Duration::from_millis(200);
/// The longest wait between two attempts (also the cap on a server's `Retry-After`).
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// Why a call may succeed if tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transient {
    /// What happened, for the debug line: "throttled (HTTP 429)", "unavailable (HTTP 503)".
    pub reason: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl Transient {
    /// The transient reading of an HTTP status: 429 is throttling, 502/503/504 unavailability.
    pub fn from_status(status: u16) -> Option<Self> {
        let reason = match status {
            429 => format!("throttled (HTTP {status})"),
            502..=504 => format!("unavailable (HTTP {status})"),
            _ => return None,
        };
        Some(Self {
            reason,
            retry_after: None,
        })
    }

    /// With the server's `Retry-After` (seconds) header value, if it parses.
    #[must_use]
    pub fn with_retry_after(mut self, header: Option<&str>) -> Self {
        self.retry_after = header
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        self
    }
}

/// Who is calling, for the debug line.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The service, e.g. "Vault".
    pub service: &'a str,
    /// The store's name; empty for a call no store makes (a SOPS master-key service).
    pub store: &'a str,
    /// "read", "write", "delete", …
    pub op: &'a str,
    /// The physical key.
    pub key: &'a str,
}

/// The wait before retry number `retry` (1-based): 200 ms, 400 ms, 800 ms … capped at
/// [`MAX_DELAY`], ±20% jitter; a `Retry-After` wins when it is longer (still capped).
pub fn delay(retry: u32, retry_after: Option<Duration>) -> Duration {
    use rand::Rng;
    let base = FIRST_DELAY.saturating_mul(1 << retry.saturating_sub(1).min(10));
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    let backoff = base.mul_f64(jitter);
    retry_after
        .map_or(backoff, |r| r.max(backoff))
        .min(MAX_DELAY)
}

/// Runs `attempt` until it succeeds, fails for a reason `transient` does not recognise, or has
/// run [`MAX_ATTEMPTS`] times; the last error is returned as it is.
pub async fn with_retries<T, E, Fut>(
    call: Call<'_>,
    mut attempt: impl FnMut() -> Fut,
    transient: impl Fn(&E) -> Option<Transient>,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if tried < MAX_ATTEMPTS => {
                let Some(t) = transient(&e) else {
                    return Err(e);
                };
                let wait = delay(tried, t.retry_after);
                crate::printer::debug(|| {
                    let store = if call.store.is_empty() {
                        String::new()
                    } else {
                        format!(" on store `{}`", call.store)
                    };
                    format!(
                        "{} from {}{store} ({} of `{}`): retry {}/{} in {} ms",
                        t.reason,
                        call.service,
                        call.op,
                        call.key,
                        tried,
                        MAX_ATTEMPTS - 1,
                        wait.as_millis()
                    )
                });
                tokio::time::sleep(wait).await;
                tried += 1;
            }
            done => return done,
        }
    }
}

/// An HTTP answer read whole. The body is wiped on drop: a key service's answer holds a data key.
pub struct Answer {
    /// The status of the answer.
    pub status: reqwest::StatusCode,
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
}

/// Sends the request `build` makes and reads the whole answer, as [`with_retries`] does:
/// throttling and unavailability answers (429, 502–504; `Retry-After` honoured) and a
/// connection dropped while sending or reading ([`super::net::dropped`]) are tried again, up to
/// [`MAX_ATTEMPTS`] in all. Every other answer, and the last one, is returned whatever its
/// status (a 4xx at once); a transport error is returned as it is (a refused connection, a
/// timeout or a TLS failure at once, so each request keeps its own time bound).
pub async fn send(
    call: Call<'_>,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Answer, reqwest::Error> {
    enum Failed {
        Status(Answer, Transient),
        Transport(reqwest::Error),
    }
    let read = |req: reqwest::RequestBuilder| async move {
        let resp = req.send().await.map_err(Failed::Transport)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = resp.bytes().await.map_err(Failed::Transport)?;
        let answer = Answer {
            status,
            body: Zeroizing::new(bytes.to_vec()),
        };
        match Transient::from_status(status.as_u16()) {
            Some(t) => Err(Failed::Status(
                answer,
                t.with_retry_after(retry_after.as_deref()),
            )),
            None => Ok(answer),
        }
    };
    let result = with_retries(
        call,
        || read(build()),
        |f: &Failed| match f {
            Failed::Status(_, t) => Some(t.clone()),
            Failed::Transport(e) if super::net::dropped(e) => Some(Transient {
                reason: "connection dropped".into(),
                retry_after: None,
            }),
            Failed::Transport(_) => None,
        },
    )
    .await;
    match result {
        Ok(answer) | Err(Failed::Status(answer, _)) => Ok(answer),
        Err(Failed::Transport(e)) => Err(e),
    }
}

/// The end of an error for an answer [`send`] gave up on: `" after 4 attempts"` for a
/// throttling or unavailability status, empty for any other.
pub fn attempts_note(status: reqwest::StatusCode) -> String {
    if Transient::from_status(status.as_u16()).is_some() {
        format!(" after {MAX_ATTEMPTS} attempts")
    } else {
        String::new()
    }
}

/// The same for a transport error [`send`] returned: `" after 4 attempts"` when the connection
/// kept dropping, empty for any other failure (those are not retried).
pub fn dropped_note(err: &reqwest::Error) -> String {
    if super::net::dropped(err) {
        format!(" after {MAX_ATTEMPTS} attempts")
    } else {
        String::new()
    }
}

/// The hint for a status [`send`] retried until it gave up, if it is one.
pub fn exhausted_hint(status: reqwest::StatusCode, service: &str) -> Option<String> {
    match status.as_u16() {
        429 => Some(format!(
            "{service} is rate-limiting these credentials: wait and run the command again, or ask for a higher quota"
        )),
        502..=504 => Some(format!(
            "{service} (or a proxy in front of it) is unavailable: check its health, then run the command again"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn call() -> Call<'static> {
        Call {
            service: "Test",
            store: "s",
            op: "read",
            key: "k",
        }
    }

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn transient_failures_are_retried_until_success() {
        let n = AtomicU32::new(0);
        let r: Result<u32, u16> = block(with_retries(
            call(),
            || async {
                let i = n.fetch_add(1, Ordering::SeqCst);
                if i < 2 { Err(503) } else { Ok(i) }
            },
            |s| Transient::from_status(*s),
        ));
        assert_eq!(r, Ok(2));
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn attempts_are_bounded_and_the_last_error_is_kept() {
        let n = AtomicU32::new(0);
        let r: Result<(), u16> = block(with_retries(
            call(),
            || async {
                n.fetch_add(1, Ordering::SeqCst);
                Err(429)
            },
            |s| Transient::from_status(*s),
        ));
        assert_eq!(r, Err(429));
        assert_eq!(n.load(Ordering::SeqCst), MAX_ATTEMPTS);
    }

    #[test]
    fn other_failures_are_not_retried() {
        let n = AtomicU32::new(0);
        let r: Result<(), u16> = block(with_retries(
            call(),
            || async {
                n.fetch_add(1, Ordering::SeqCst);
                Err(403)
            },
            |s| Transient::from_status(*s),
        ));
        assert_eq!(r, Err(403));
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let d1 = delay(1, None);
        let d3 = delay(3, None);
        assert!(d1 >= Duration::from_millis(160) && d1 <= Duration::from_millis(240));
        assert!(d3 >= Duration::from_millis(640) && d3 <= Duration::from_millis(960));
        assert_eq!(delay(9, None), MAX_DELAY);
        assert_eq!(delay(1, Some(Duration::from_secs(60))), MAX_DELAY);
        assert!(delay(1, Some(Duration::from_secs(1))) >= Duration::from_secs(1));
        assert_eq!(
            Transient::from_status(429)
                .unwrap()
                .with_retry_after(Some("1.5"))
                .retry_after,
            Some(Duration::from_millis(1500))
        );
    }
}
