//! Retrying one delivery: exponential backoff with full jitter, the server's `Retry-After`
//! honoured, and a deadline after which the delivery gives up so that the dispatcher retries
//! at the group's next flush.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::time::Instant;

/// Why an attempt failed, as the `reason` label of the failure counters says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailReason {
    /// The server refused the request for good (4xx other than 429, Slack `ok:false`).
    ClientError,
    /// The server failed (5xx).
    ServerError,
    /// The server asked us to slow down (429, Slack `ratelimited`).
    RateLimited,
    /// No answer: connection refused or reset, DNS, TLS, or the request timed out.
    Connection,
    /// The notification could not be built (template, secret file, payload).
    Config,
    /// The caller stopped waiting (the dispatcher's per-send timeout).
    Canceled,
}

impl FailReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailReason::ClientError => "client_error",
            FailReason::ServerError => "server_error",
            FailReason::RateLimited => "rate_limited",
            FailReason::Connection => "connection",
            FailReason::Config => "config",
            FailReason::Canceled => "canceled",
        }
    }
}

/// The result of one attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Delivered.
    Done,
    /// Failed; a later attempt may succeed, not before `retry_after` when the server said so.
    Transient {
        reason: FailReason,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Failed for good.
    Permanent { reason: FailReason, message: String },
}

/// The final failure of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) reason: FailReason,
    pub(crate) message: String,
    /// Whether a later delivery (at the next flush) may succeed.
    pub(crate) retryable: bool,
    pub(crate) attempts: u32,
}

/// Backoff settings of a delivery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
    pub(crate) give_up_after: Duration,
}

impl Policy {
    /// The upper bound of the random delay before retry number `n` (0-based).
    fn cap(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.min(30));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// A delay drawn uniformly from `[0, cap(n)]` ("full jitter"), so that many groups
    /// failing together do not retry in lockstep.
    pub(crate) fn delay(&self, n: u32) -> Duration {
        let cap = self.cap(n);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the next try would start after the
/// deadline. A server's `Retry-After` is a lower bound of the wait.
pub(crate) async fn run<F, Fut>(policy: Policy, mut attempt: F) -> Result<u32, Failure>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let deadline = Instant::now() + policy.give_up_after;
    let mut n = 0u32;
    loop {
        n += 1;
        match attempt(n).await {
            Attempt::Done => return Ok(n),
            Attempt::Permanent { reason, message } => {
                return Err(Failure {
                    reason,
                    message,
                    retryable: false,
                    attempts: n,
                });
            }
            Attempt::Transient {
                reason,
                message,
                retry_after,
            } => {
                let wait = policy
                    .delay(n - 1)
                    .max(retry_after.unwrap_or(Duration::ZERO));
                if Instant::now() + wait > deadline {
                    return Err(Failure {
                        reason,
                        message: format!("{message} (gave up after {n} attempts)"),
                        retryable: true,
                        attempts: n,
                    });
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub(crate) fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(give_up_ms: u64) -> Policy {
        Policy {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
            give_up_after: Duration::from_millis(give_up_ms),
        }
    }

    #[test]
    fn delays_stay_under_the_capped_exponential() {
        let p = policy(1000);
        assert_eq!(p.cap(0), Duration::from_millis(1));
        assert_eq!(p.cap(2), Duration::from_millis(4));
        assert_eq!(p.cap(40), Duration::from_millis(4));
        for n in 0..10 {
            assert!(p.delay(n) <= p.cap(n));
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let r = run(policy(1000), |n| async move {
            if n < 3 {
                Attempt::Transient {
                    reason: FailReason::ServerError,
                    message: "500".into(),
                    retry_after: None,
                }
            } else {
                Attempt::Done
            }
        })
        .await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test]
    async fn permanent_failure_stops_at_once() {
        let r = run(policy(1000), |_| async {
            Attempt::Permanent {
                reason: FailReason::ClientError,
                message: "400".into(),
            }
        })
        .await;
        let f = r.unwrap_err();
        assert_eq!((f.attempts, f.retryable), (1, false));
    }

    #[tokio::test]
    async fn gives_up_when_retry_after_passes_the_deadline() {
        let r = run(policy(50), |_| async {
            Attempt::Transient {
                reason: FailReason::RateLimited,
                message: "429".into(),
                retry_after: Some(Duration::from_secs(60)),
            }
        })
        .await;
        let f = r.unwrap_err();
        assert_eq!((f.attempts, f.retryable), (1, true));
        assert_eq!(f.reason, FailReason::RateLimited);
    }
}
