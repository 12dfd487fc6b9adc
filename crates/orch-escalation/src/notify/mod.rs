//! The `Notifier` seam and its implementations, plus the bounded fan-out [`NotifierSet`].

mod buttons;
mod config;
mod console;
mod discord;
#[cfg(feature = "http")]
mod hmac;
mod http;
mod line;
mod slack;
mod webhook;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub use config::{DiscordConfig, LineConfig, NotifyConfig, SlackConfig, WebhookConfig};
pub use console::ConsoleNotifier;
pub use discord::discord_payload;
pub use http::HttpSettings;
pub use line::{LINE_API_BASE, line_payload};
pub use slack::slack_payload;
pub use webhook::SIGNATURE_HEADER;
#[cfg(feature = "http")]
pub use {
    discord::DiscordNotifier, line::LineNotifier, slack::SlackNotifier, webhook::WebhookNotifier,
};

use crate::advisor::BoxFuture;
use crate::message::PmMessage;

/// Tells a human about a PM message.
///
/// Implementations bound their own work (timeouts, a few retries); [`NotifierSet`] adds a
/// deadline on top and never lets one failing channel hold up or crash a run.
pub trait Notifier: Send + Sync {
    /// A short name for reports and logs (`slack`, `discord`, `line`, `webhook`, `console`).
    /// Never a URL or a token.
    fn name(&self) -> &str;

    /// Delivers the message.
    fn notify(&self, msg: &PmMessage) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// The object-safe form of [`Notifier`], implemented for every notifier.
pub trait DynNotifier: Send + Sync {
    /// [`Notifier::name`].
    fn name(&self) -> &str;
    /// [`Notifier::notify`], boxed.
    fn notify_boxed<'a>(&'a self, msg: &'a PmMessage) -> BoxFuture<'a, Result<(), NotifyError>>;
}

impl<N: Notifier> DynNotifier for N {
    fn name(&self) -> &str {
        Notifier::name(self)
    }

    fn notify_boxed<'a>(&'a self, msg: &'a PmMessage) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.notify(msg))
    }
}

/// A notification that did not go out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The channel is not usable as configured (missing or malformed URL or token).
    #[error("{notifier}: {problem}")]
    Config {
        /// The notifier.
        notifier: String,
        /// What is wrong (never the secret itself).
        problem: String,
    },
    /// The service answered with an error status.
    #[error("{notifier}: HTTP {status}: {body}")]
    Http {
        /// The notifier.
        notifier: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The service is rate limiting and asked to wait longer than allowed.
    #[error("{notifier}: rate limited; asked to wait {retry_after:?}")]
    RateLimited {
        /// The notifier.
        notifier: String,
        /// How long it asked to wait.
        retry_after: Duration,
    },
    /// No answer within the request timeout.
    #[error("{notifier}: no answer within {after:?}")]
    Timeout {
        /// The notifier.
        notifier: String,
        /// The timeout.
        after: Duration,
    },
    /// The request could not be sent (connection refused, TLS, DNS…). The URL is stripped
    /// from the source error.
    #[error("{notifier}: request failed")]
    Transport {
        /// The notifier.
        notifier: String,
        /// The HTTP client's error (boxed, so no HTTP client's type is part of this API).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Writing to the console failed.
    #[error("{notifier}: cannot write")]
    Io {
        /// The notifier.
        notifier: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The notifier did not finish within the [`NotifierSet`] deadline.
    #[error("{notifier}: did not finish within {after:?}")]
    Deadline {
        /// The notifier.
        notifier: String,
        /// The deadline.
        after: Duration,
    },
    /// The notifier panicked (caught; the run goes on).
    #[error("{notifier}: panicked")]
    Panicked {
        /// The notifier.
        notifier: String,
    },
}

/// How one notifier fared.
#[derive(Debug)]
pub struct NotifierOutcome {
    /// Its name.
    pub notifier: String,
    /// Delivered, or why not.
    pub result: Result<(), NotifyError>,
    /// How long it took.
    pub elapsed: Duration,
}

/// How every notifier of a [`NotifierSet`] fared, in the order they were added.
#[derive(Debug, Default)]
pub struct NotifyReport {
    /// One per notifier.
    pub outcomes: Vec<NotifierOutcome>,
}

impl NotifyReport {
    /// Names of the notifiers that delivered.
    pub fn delivered(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|o| o.result.is_ok())
            .map(|o| o.notifier.clone())
            .collect()
    }

    /// Names of the notifiers that failed.
    pub fn failed(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|o| o.result.is_err())
            .map(|o| o.notifier.clone())
            .collect()
    }
}

/// Several notifiers run together: each concurrently, each within a deadline, panics
/// caught; the report says who delivered. A failing notifier is logged (without secrets)
/// and otherwise ignored.
#[derive(Clone)]
pub struct NotifierSet {
    notifiers: Vec<Arc<dyn DynNotifier>>,
    deadline: Duration,
}

impl fmt::Debug for NotifierSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierSet")
            .field(
                "notifiers",
                &self.notifiers.iter().map(|n| n.name()).collect::<Vec<_>>(),
            )
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl NotifierSet {
    /// An empty set whose notifiers each get at most `deadline`.
    pub fn new(deadline: Duration) -> NotifierSet {
        NotifierSet {
            notifiers: Vec::new(),
            deadline,
        }
    }

    /// Adds a notifier.
    pub fn with(mut self, notifier: impl Notifier + 'static) -> NotifierSet {
        self.push(Arc::new(notifier));
        self
    }

    /// Adds a shared notifier.
    pub fn push(&mut self, notifier: Arc<dyn DynNotifier>) {
        self.notifiers.push(notifier);
    }

    /// The notifiers' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.notifiers.iter().map(|n| n.name().to_owned()).collect()
    }

    /// Whether there is no notifier.
    pub fn is_empty(&self) -> bool {
        self.notifiers.is_empty()
    }

    /// The per-notifier deadline.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Runs every notifier on `msg` concurrently and waits at most the deadline. Needs a
    /// tokio runtime. Never fails: problems are in the report.
    pub async fn notify_all(&self, msg: &PmMessage) -> NotifyReport {
        let msg = Arc::new(msg.clone());
        let mut tasks = JoinSet::new();
        let mut ids = Vec::new();
        for (index, notifier) in self.notifiers.iter().enumerate() {
            let notifier = Arc::clone(notifier);
            let msg = Arc::clone(&msg);
            let deadline = self.deadline;
            let handle = tasks.spawn(async move {
                let start = Instant::now();
                let result = match tokio::time::timeout(deadline, notifier.notify_boxed(&msg)).await
                {
                    Ok(result) => result,
                    Err(_) => Err(NotifyError::Deadline {
                        notifier: notifier.name().to_owned(),
                        after: deadline,
                    }),
                };
                (index, result, start.elapsed())
            });
            ids.push(handle.id());
        }
        let mut slots: Vec<Option<NotifierOutcome>> = self.notifiers.iter().map(|_| None).collect();
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, (index, result, elapsed))) => {
                    slots[index] = Some(NotifierOutcome {
                        notifier: self.notifiers[index].name().to_owned(),
                        result,
                        elapsed,
                    });
                }
                Err(error) => {
                    if let Some(index) = ids.iter().position(|id| *id == error.id()) {
                        let notifier = self.notifiers[index].name().to_owned();
                        slots[index] = Some(NotifierOutcome {
                            result: Err(NotifyError::Panicked {
                                notifier: notifier.clone(),
                            }),
                            notifier,
                            elapsed: Duration::ZERO,
                        });
                    }
                }
            }
        }
        let outcomes: Vec<NotifierOutcome> = slots.into_iter().flatten().collect();
        for outcome in &outcomes {
            match &outcome.result {
                Ok(()) => tracing::debug!(
                    message = %msg.id,
                    notifier = %outcome.notifier,
                    elapsed_ms = outcome.elapsed.as_millis() as u64,
                    "notification delivered"
                ),
                Err(error) => tracing::warn!(
                    message = %msg.id,
                    notifier = %outcome.notifier,
                    error = %error,
                    "notification failed"
                ),
            }
        }
        NotifyReport { outcomes }
    }
}
