//! The escalation policy: every limit that keeps escalation bounded, as the `[escalation]`
//! section of `.orch/orch.toml`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::message::Action;
use crate::notify::NotifyConfig;

/// The `[escalation]` section as `orch init` would write it: every key commented out with its
/// default, so it parses to [`EscalationPolicy::default`].
pub const DEFAULT_ESCALATION_TOML: &str = r#"[escalation]
# Automatic retries of a failed task before a human is asked.
# max_retries = 2
# Wait before retry n: backoff_initial_seconds * backoff_factor^(n-1), at most backoff_max_seconds.
# backoff_initial_seconds = 30
# backoff_factor = 2.0
# backoff_max_seconds = 600
# Circuit breaker: after this many identical failures in a row (same kind and normalised
# message) automatic retries stop and the task is escalated as a repeated failure.
# breaker_threshold = 3
# Most PM messages ever opened for one task; after that the task gets `on_exhausted`.
# max_escalations_per_task = 5
# Most PM messages waiting for an answer at once; further escalations wait in a queue.
# max_open_messages = 10
# Most notifications sent, over all tasks, within a sliding window.
# notification_limit = { max = 6, window_minutes = 60 }
# Most decision log entries written, over all tasks, within a sliding window.
# decision_log_limit = { max = 20, window_minutes = 60 }
# An unanswered message expires after this many minutes (0: never) ...
# expire_after_minutes = 1440
# ... and then this is done: "skip" the task, apply the "recommended" option, or "abort_run".
# on_expiry = "skip"
# What happens to a task that used up max_escalations_per_task: "skip" or "abort_run".
# on_exhausted = "skip"

[escalation.notify]
# Print PM messages on the console (stderr).
# console = true
# Per HTTP request timeout, retries after a failed request, and the first retry delay.
# timeout_seconds = 10
# retries = 2
# backoff_millis = 500
# A rate-limited (429) answer asking to wait longer than this counts as a failure.
# max_retry_after_seconds = 30
# Upper bound for notifying all channels about one message.
# deadline_seconds = 60

# Each channel is on when its URL or token is found: in the environment variable named here
# (preferred: orch.toml is usually committed) or, discouraged, literally in this file.
[escalation.notify.slack]
# webhook_url_env = "ORCH_SLACK_WEBHOOK_URL"
[escalation.notify.discord]
# webhook_url_env = "ORCH_DISCORD_WEBHOOK_URL"
[escalation.notify.line]
# token_env = "ORCH_LINE_CHANNEL_TOKEN"
# to_env = "ORCH_LINE_TO"
# api_base = "https://api.line.me"
[escalation.notify.webhook]
# url_env = "ORCH_WEBHOOK_URL"
# secret_env = "ORCH_WEBHOOK_SECRET"
"#;

/// A sliding-window rate limit: at most `max` events within any `window_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Most events in one window.
    pub max: u32,
    /// Window length in minutes.
    pub window_minutes: u32,
}

impl RateLimit {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.window_minutes) * 60)
    }
}

/// What happens to a task whose message expired unanswered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryAction {
    /// Skip the task (default: nothing unreviewed gets merged).
    #[default]
    Skip,
    /// Apply the option the advisor recommended.
    Recommended,
    /// Abort the whole run.
    AbortRun,
}

/// What happens to a task that used up its escalations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExhaustedAction {
    /// Skip the task (default).
    #[default]
    Skip,
    /// Abort the whole run.
    AbortRun,
}

impl ExhaustedAction {
    /// The action to apply.
    pub fn action(self) -> Action {
        match self {
            ExhaustedAction::Skip => Action::Skip,
            ExhaustedAction::AbortRun => Action::AbortRun,
        }
    }
}

/// The escalation policy. Deserializes from the `[escalation]` section of `orch.toml`; every
/// key is optional and defaults as documented on each field and in
/// [`DEFAULT_ESCALATION_TOML`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Automatic retries of a failed task before escalating (default 2).
    pub max_retries: u32,
    /// Delay before the first retry, in seconds (default 30).
    pub backoff_initial_seconds: u64,
    /// Growth of the delay per retry (default 2.0).
    pub backoff_factor: f64,
    /// Longest delay between retries, in seconds (default 600).
    pub backoff_max_seconds: u64,
    /// Identical failures in a row that trip the circuit breaker (default 3, at least 2).
    pub breaker_threshold: u32,
    /// Most messages opened for one task (default 5).
    pub max_escalations_per_task: u32,
    /// Most messages waiting for an answer at once, over all tasks (default 10).
    pub max_open_messages: u32,
    /// Global notification rate limit (default 6 per 60 minutes).
    pub notification_limit: RateLimit,
    /// Global decision-log rate limit (default 20 per 60 minutes).
    pub decision_log_limit: RateLimit,
    /// Minutes until an unanswered message expires; 0 = never (default 1440, one day).
    pub expire_after_minutes: u64,
    /// What an expired message does to its task (default `skip`).
    pub on_expiry: ExpiryAction,
    /// What happens to a task that used up its escalations (default `skip`).
    pub on_exhausted: ExhaustedAction,
    /// `[escalation.notify]`: notification channels and their HTTP behaviour.
    pub notify: NotifyConfig,
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        EscalationPolicy {
            max_retries: 2,
            backoff_initial_seconds: 30,
            backoff_factor: 2.0,
            backoff_max_seconds: 600,
            breaker_threshold: 3,
            max_escalations_per_task: 5,
            max_open_messages: 10,
            notification_limit: RateLimit {
                max: 6,
                window_minutes: 60,
            },
            decision_log_limit: RateLimit {
                max: 20,
                window_minutes: 60,
            },
            expire_after_minutes: 1440,
            on_expiry: ExpiryAction::Skip,
            on_exhausted: ExhaustedAction::Skip,
            notify: NotifyConfig::default(),
        }
    }
}

/// A policy value that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A key has an unusable value.
    #[error("`escalation.{key}` {problem}")]
    Invalid {
        /// The key below `[escalation]`, e.g. `max_open_messages`.
        key: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The section is not valid TOML or has unknown keys or wrong types.
    #[error("invalid [escalation] section: {message}")]
    Parse {
        /// The parser's message.
        message: String,
    },
}

impl EscalationPolicy {
    /// Checks that every value is usable.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |key, problem| Err(PolicyError::Invalid { key, problem });
        if self.max_escalations_per_task == 0 {
            return invalid("max_escalations_per_task", "must be at least 1");
        }
        if self.max_open_messages == 0 {
            return invalid("max_open_messages", "must be at least 1");
        }
        if self.breaker_threshold < 2 {
            return invalid("breaker_threshold", "must be at least 2");
        }
        if !self.backoff_factor.is_finite() || self.backoff_factor < 1.0 {
            return invalid("backoff_factor", "must be a number of at least 1.0");
        }
        if self.backoff_max_seconds < self.backoff_initial_seconds {
            return invalid(
                "backoff_max_seconds",
                "must be at least backoff_initial_seconds",
            );
        }
        for (key, limit) in [
            ("notification_limit", self.notification_limit),
            ("decision_log_limit", self.decision_log_limit),
        ] {
            if limit.max == 0 || limit.window_minutes == 0 {
                return invalid(key, "needs max and window_minutes of at least 1");
            }
        }
        self.notify.validate()
    }

    /// Parses the TOML text of a file holding an `[escalation]` table (other tables are
    /// ignored) and validates it. A file without the table gives the defaults.
    pub fn from_toml(text: &str) -> Result<EscalationPolicy, PolicyError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            escalation: EscalationPolicy,
        }
        let file: File = toml_from_str(text)?;
        file.escalation.validate()?;
        Ok(file.escalation)
    }

    /// The wait before automatic retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let initial = self.backoff_initial_seconds as f64;
        let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = (initial * self.backoff_factor.max(1.0).powi(exp))
            .min(self.backoff_max_seconds as f64)
            .max(0.0);
        Duration::from_secs_f64(secs)
    }

    /// How long a message stays open, or `None` when messages never expire.
    pub fn expire_after(&self) -> Option<Duration> {
        (self.expire_after_minutes > 0).then(|| Duration::from_secs(self.expire_after_minutes * 60))
    }

    /// The most decision log entries one task can cause over its whole life, whatever
    /// happens. Each of its at most `max_escalations_per_task` cycles logs at most its
    /// retries, one hold (waiting for a free slot), the escalation, and the answer, expiry or
    /// withdrawal; after the last cycle come at most its retries and one final "escalations
    /// used up". The global `decision_log_limit` bounds all tasks together on top of this.
    pub fn max_decision_logs_per_task(&self) -> u64 {
        let retries = u64::from(self.max_retries);
        (retries + 3) * u64::from(self.max_escalations_per_task) + retries + 1
    }
}

fn toml_from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
    toml::from_str(text).map_err(|e| PolicyError::Parse {
        message: e.to_string().trim_end().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_defaults() {
        let p = EscalationPolicy::from_toml(DEFAULT_ESCALATION_TOML).unwrap();
        assert_eq!(p, EscalationPolicy::default());
    }

    #[test]
    fn template_documents_the_defaults() {
        let uncommented: String = DEFAULT_ESCALATION_TOML
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let p = EscalationPolicy::from_toml(&uncommented).unwrap();
        assert_eq!(p, EscalationPolicy::default());
    }

    #[test]
    fn partial_sections_and_errors() {
        let p = EscalationPolicy::from_toml(
            "[run]\nparallel = 2\n[escalation]\nmax_open_messages = 3\non_expiry = \"recommended\"\n",
        )
        .unwrap();
        assert_eq!(p.max_open_messages, 3);
        assert_eq!(p.on_expiry, ExpiryAction::Recommended);
        assert_eq!(p.max_retries, 2);
        let err = EscalationPolicy::from_toml("[escalation]\nmax_retrys = 1\n").unwrap_err();
        assert!(err.to_string().contains("max_retrys"), "{err}");
        let err = EscalationPolicy::from_toml("[escalation]\nbreaker_threshold = 1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`escalation.breaker_threshold` must be at least 2"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = EscalationPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(30));
        assert_eq!(p.backoff(2), Duration::from_secs(60));
        assert_eq!(p.backoff(3), Duration::from_secs(120));
        assert_eq!(p.backoff(10), Duration::from_secs(600));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(600));
        assert_eq!(p.expire_after(), Some(Duration::from_secs(86_400)));
        assert_eq!(p.max_decision_logs_per_task(), 28);
    }
}
