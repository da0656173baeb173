//! Owns making the AWS SDK's retries visible: an interceptor on the SSM and Secrets Manager
//! clients that remembers why an attempt failed (HTTP status and AWS error code, e.g.
//! `ThrottlingException`) and, when the SDK starts another attempt of the same operation,
//! writes one `--logs-level debug` line: "throttled (HTTP 400 ThrottlingException) from AWS SSM
//! (GetParameters): retry 1/3". The retry policy itself (attempts, backoff) is the SDK's, set in
//! `aws_common`.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Logs the SDK's retries of one client at debug level.
#[derive(Debug)]
pub struct RetryLog {
    /// The service, e.g. "AWS SSM".
    pub service: &'static str,
}

/// Why the previous attempt of this operation failed.
#[derive(Debug, Clone)]
struct LastFailure(String);

impl Storable for LastFailure {
    type Storer = StoreReplace<Self>;
}

/// The AWS error code of a JSON-protocol answer: the `x-amzn-ErrorType` header, else the body's
/// `__type` (either may carry a `prefix#` or a `:suffix`).
fn error_code(headers: Option<&str>, body: Option<&[u8]>) -> Option<String> {
    let raw = headers.map(str::to_owned).or_else(|| {
        let v: serde_json::Value = serde_json::from_slice(body?).ok()?;
        v.get("__type")
            .or_else(|| v.get("code"))
            .and_then(|t| t.as_str())
            .map(str::to_owned)
    })?;
    let code = raw.rsplit('#').next().unwrap_or(&raw);
    let code = code.split(':').next().unwrap_or(code).trim();
    (!code.is_empty()).then(|| code.to_owned())
}

/// A failed attempt in words, or `None` for an answer that is not a failure.
fn describe(status: u16, code: Option<&str>) -> Option<String> {
    let throttled = status == 429
        || code.is_some_and(|c| {
            c.contains("Throttl") || c == "TooManyRequestsException" || c == "RequestLimitExceeded"
        });
    let what = if throttled {
        "throttled"
    } else if status >= 500 {
        "unavailable"
    } else if status >= 400 {
        "rejected"
    } else {
        return None;
    };
    Some(match code {
        Some(c) => format!("{what} (HTTP {status} {c})"),
        None => format!("{what} (HTTP {status})"),
    })
}

impl Intercept for RetryLog {
    fn name(&self) -> &'static str {
        "atmos-retry-log"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !crate::printer::debug_enabled() {
            return Ok(());
        }
        let failure = match context.response() {
            Some(resp) => {
                let code = error_code(resp.headers().get("x-amzn-errortype"), resp.body().bytes());
                describe(resp.status().as_u16(), code.as_deref())
            }
            // No answer at all: a connection or timeout failure.
            None => context
                .output_or_error()
                .and_then(Result::err)
                .map(|_| "no answer (connection failed or timed out)".to_owned()),
        };
        if let Some(f) = failure {
            cfg.interceptor_state().store_put(LastFailure(f));
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        if attempt > 1 && crate::printer::debug_enabled() {
            let reason = cfg
                .load::<LastFailure>()
                .map_or_else(|| "failed".to_owned(), |f| f.0.clone());
            let op = cfg
                .load::<Metadata>()
                .map_or_else(|| "call".to_owned(), |m| m.name().to_owned());
            crate::printer::debug(|| {
                format!(
                    "{reason} from {} ({op}): retry {}/{}",
                    self.service,
                    attempt - 1,
                    super::aws_common::MAX_ATTEMPTS - 1
                )
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_named_from_status_and_error_code() {
        assert_eq!(
            error_code(
                None,
                Some(br#"{"__type":"ThrottlingException","message":"x"}"#)
            ),
            Some("ThrottlingException".into())
        );
        assert_eq!(
            error_code(
                Some("ThrottlingException:http://internal.amazon.com/coral/"),
                None
            ),
            Some("ThrottlingException".into())
        );
        assert_eq!(
            error_code(
                None,
                Some(br#"{"__type":"com.amazon.coral#InternalFailure"}"#)
            ),
            Some("InternalFailure".into())
        );
        assert_eq!(
            describe(400, Some("ThrottlingException")).as_deref(),
            Some("throttled (HTTP 400 ThrottlingException)")
        );
        assert_eq!(
            describe(503, None).as_deref(),
            Some("unavailable (HTTP 503)")
        );
        assert_eq!(describe(200, None), None);
    }
}
