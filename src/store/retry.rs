//! Owns retrying a backend call that failed for a reason that passes: throttling (HTTP 429), a
//! burst of 502/503/504, a dropped connection. Attempts are bounded ([`MAX_ATTEMPTS`]), spaced
//! by exponential backoff with jitter (a `Retry-After` is honoured up to [`MAX_DELAY`]), and the
//! store's time budget still bounds the whole call. Each retry is one `--logs-level debug` line
//! ("throttled (HTTP 429) from Vault on store `v` (read of `k`): retry 1/3 in 212 ms"), so a slow command can be explained.
//!
//! Writes are retried too: every backend here writes whole values (a repeated PUT leaves the
//! same state), and the failures retried are ones where the server did not do the work.

use std::future::Future;
use std::time::Duration;

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
    /// The store's name.
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
                    format!(
                        "{} from {} on store `{}` ({} of `{}`): retry {}/{} in {} ms",
                        t.reason,
                        call.service,
                        call.store,
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
