//! The HTTP plumbing the webhook notifiers share: a client, a per-request timeout, retries
//! with exponential backoff, and `Retry-After` handling.

use std::time::Duration;

use super::NotifyError;
#[cfg(feature = "http")]
use {
    crate::message::truncate,
    reqwest::header::{HeaderMap, RETRY_AFTER},
    reqwest::{Client, RequestBuilder},
};

/// Timeouts and retries of one HTTP notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// Limit for one request, from connecting to the end of the response body (default 10 s).
    pub timeout: Duration,
    /// Retries after a failed request: timeouts, connection errors, 5xx, 408 and 429
    /// (default 2). Other 4xx answers are not retried.
    pub retries: u32,
    /// Delay before the first retry, doubled for each further one (default 500 ms).
    pub backoff: Duration,
    /// Longest delay between retries (default 5 s).
    pub max_backoff: Duration,
    /// A 429 asking to wait longer than this fails at once with
    /// [`NotifyError::RateLimited`] (default 30 s).
    pub max_retry_after: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl HttpSettings {
    /// The delay after failed attempt number `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What a notifier makes of one HTTP answer.
#[cfg(feature = "http")]
pub(crate) enum Verdict {
    /// Delivered.
    Done,
    /// Try again, after the server's requested wait if it gave one.
    Retry {
        wait: Option<Duration>,
        error: NotifyError,
    },
    /// Give up.
    Fail(NotifyError),
}

/// An HTTP answer as the notifiers judge it.
#[cfg(feature = "http")]
pub(crate) struct Answer<'a> {
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub body: &'a str,
    /// 1 for the first attempt.
    pub attempt: u32,
}

#[cfg(feature = "http")]
pub(crate) fn client(notifier: &str) -> Result<Client, NotifyError> {
    Client::builder()
        .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| NotifyError::Config {
            notifier: notifier.to_owned(),
            problem: "cannot set up the HTTP client".into(),
        })
}

/// Checks that a URL is an absolute http(s) URL, without ever showing it.
pub(crate) fn check_url(notifier: &str, what: &str, url: &str) -> Result<(), NotifyError> {
    if is_http_url(url.trim()) {
        Ok(())
    } else {
        Err(NotifyError::Config {
            notifier: notifier.to_owned(),
            problem: format!("{what} is not an http(s) URL"),
        })
    }
}

#[cfg(feature = "http")]
fn is_http_url(url: &str) -> bool {
    matches!(reqwest::Url::parse(url), Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// Without an HTTP client (only `[notify]` validation needs this): an `http://` or `https://`
/// scheme followed by a host.
#[cfg(not(feature = "http"))]
fn is_http_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.is_empty()
        && !host.starts_with(':')
        && !host.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The standard judgement: 2xx delivered; 408, 429 and 5xx retried (429 after its
/// `Retry-After`); anything else fails.
#[cfg(feature = "http")]
pub(crate) fn standard(notifier: &str, answer: &Answer<'_>) -> Verdict {
    match answer.status {
        200..=299 => Verdict::Done,
        429 => rate_limited(notifier, retry_after_header(answer.headers), answer),
        408 | 500..=599 => Verdict::Retry {
            wait: None,
            error: http_error(notifier, answer),
        },
        _ => Verdict::Fail(http_error(notifier, answer)),
    }
}

#[cfg(feature = "http")]
pub(crate) fn rate_limited(notifier: &str, wait: Option<Duration>, answer: &Answer<'_>) -> Verdict {
    Verdict::Retry {
        wait: Some(wait.unwrap_or(Duration::from_secs(1))),
        error: http_error(notifier, answer),
    }
}

#[cfg(feature = "http")]
pub(crate) fn http_error(notifier: &str, answer: &Answer<'_>) -> NotifyError {
    NotifyError::Http {
        notifier: notifier.to_owned(),
        status: answer.status,
        body: truncate(answer.body.trim(), 200),
    }
}

/// `Retry-After` in seconds (integer or decimal); HTTP dates are ignored.
#[cfg(feature = "http")]
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = value.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Sends the request `build` makes, retrying as `settings` say and as `judge` decides.
#[cfg(feature = "http")]
pub(crate) async fn send(
    notifier: &str,
    settings: &HttpSettings,
    build: impl Fn() -> RequestBuilder,
    judge: impl Fn(&Answer<'_>) -> Verdict,
) -> Result<(), NotifyError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let (wait, error) = match build().timeout(settings.timeout).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.text().await.unwrap_or_default();
                let answer = Answer {
                    status,
                    headers: &headers,
                    body: &body,
                    attempt,
                };
                match judge(&answer) {
                    Verdict::Done => return Ok(()),
                    Verdict::Fail(error) => return Err(error),
                    Verdict::Retry { wait, error } => (wait, error),
                }
            }
            Err(e) if e.is_timeout() => (
                None,
                NotifyError::Timeout {
                    notifier: notifier.to_owned(),
                    after: settings.timeout,
                },
            ),
            Err(e) => (
                None,
                NotifyError::Transport {
                    notifier: notifier.to_owned(),
                    source: Box::new(e.without_url()),
                },
            ),
        };
        if let Some(wait) = wait
            && wait > settings.max_retry_after
        {
            return Err(NotifyError::RateLimited {
                notifier: notifier.to_owned(),
                retry_after: wait,
            });
        }
        if attempt > settings.retries {
            return Err(error);
        }
        let wait = wait.unwrap_or_else(|| settings.backoff_after(attempt));
        tracing::debug!(notifier, attempt, error = %error, wait_ms = wait.as_millis() as u64, "notification attempt failed; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "http")]
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = HttpSettings::default();
        assert_eq!(s.backoff_after(1), Duration::from_millis(500));
        assert_eq!(s.backoff_after(2), Duration::from_secs(1));
        assert_eq!(s.backoff_after(5), Duration::from_secs(5));
        assert_eq!(s.backoff_after(u32::MAX), Duration::from_secs(5));
    }

    #[cfg(feature = "http")]
    #[test]
    fn retry_after_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_header(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after_header(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.25"));
        assert_eq!(retry_after_header(&h), Some(Duration::from_millis(250)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after_header(&h), None);
    }

    #[test]
    fn urls_are_checked_without_showing_them() {
        assert!(check_url("slack", "webhook URL", "https://hooks.example/x").is_ok());
        let err = check_url("slack", "webhook URL", "hooks.example/SECRET").unwrap_err();
        assert_eq!(err.to_string(), "slack: webhook URL is not an http(s) URL");
        assert!(check_url("slack", "webhook URL", "file:///etc/passwd").is_err());
    }
}
