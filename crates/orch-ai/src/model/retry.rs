//! Bounded retries with exponential backoff that honour the server's `retry-after`.

use std::time::Duration;

#[cfg(feature = "http")]
use {
    super::{ModelError, ModelReply},
    std::future::Future,
};

/// How often and how patiently a client retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub base_delay: Duration,
    /// Upper bound of any one delay, `retry-after` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// A failed attempt and the server's requested wait, if it sent one.
#[cfg(feature = "http")]
pub(crate) struct AttemptError {
    pub error: ModelError,
    pub retry_after: Option<Duration>,
}

#[cfg(feature = "http")]
impl From<ModelError> for AttemptError {
    fn from(error: ModelError) -> Self {
        AttemptError {
            error,
            retry_after: None,
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts run out.
    #[cfg(feature = "http")]
    pub(crate) async fn run<F, Fut>(&self, mut attempt: F) -> Result<ModelReply, ModelError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ModelReply, AttemptError>>,
    {
        let max = self.max_attempts.max(1);
        let mut n = 0;
        loop {
            n += 1;
            match attempt().await {
                Ok(mut reply) => {
                    reply.attempts = n;
                    return Ok(reply);
                }
                Err(AttemptError { error, retry_after }) => {
                    if !error.is_retryable() {
                        return Err(error);
                    }
                    if n >= max {
                        return Err(if max == 1 {
                            error
                        } else {
                            ModelError::Exhausted {
                                attempts: n,
                                last: Box::new(error),
                            }
                        });
                    }
                    let wait = retry_after
                        .unwrap_or_else(|| self.backoff(n))
                        .min(self.max_delay);
                    tracing::debug!(attempt = n, ?wait, %error, "model request failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// `retry-after` in seconds (fractions allowed); HTTP dates are ignored for the backoff.
#[cfg(feature = "http")]
pub(crate) fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(350));
    }
}
