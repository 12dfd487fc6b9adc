//! `[escalation.notify]`: which channels are on and how they behave. URLs and tokens come
//! from environment variables (names configurable) or, discouraged, from the file itself.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::HttpSettings;
use super::{ConsoleNotifier, LINE_API_BASE, NotifierSet, NotifyError};
#[cfg(feature = "http")]
use super::{DiscordNotifier, LineNotifier, SlackNotifier, WebhookNotifier};
use crate::policy::PolicyError;
use crate::secret::Secret;

/// `[escalation.notify.slack]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// The webhook URL itself (discouraged: orch.toml is usually committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Secret>,
    /// Environment variable holding the webhook URL (default `ORCH_SLACK_WEBHOOK_URL`).
    pub webhook_url_env: String,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            webhook_url: None,
            webhook_url_env: "ORCH_SLACK_WEBHOOK_URL".into(),
        }
    }
}

/// `[escalation.notify.discord]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// The webhook URL itself (discouraged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Secret>,
    /// Environment variable holding the webhook URL (default `ORCH_DISCORD_WEBHOOK_URL`).
    pub webhook_url_env: String,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            webhook_url: None,
            webhook_url_env: "ORCH_DISCORD_WEBHOOK_URL".into(),
        }
    }
}

/// `[escalation.notify.line]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineConfig {
    /// The channel access token itself (discouraged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Environment variable holding the token (default `ORCH_LINE_CHANNEL_TOKEN`).
    pub token_env: String,
    /// The recipient (user, group or room id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Environment variable holding the recipient (default `ORCH_LINE_TO`).
    pub to_env: String,
    /// API base URL (default `https://api.line.me`).
    pub api_base: String,
}

impl Default for LineConfig {
    fn default() -> Self {
        LineConfig {
            token: None,
            token_env: "ORCH_LINE_CHANNEL_TOKEN".into(),
            to: None,
            to_env: "ORCH_LINE_TO".into(),
            api_base: LINE_API_BASE.into(),
        }
    }
}

/// `[escalation.notify.webhook]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// The URL itself (discouraged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// Environment variable holding the URL (default `ORCH_WEBHOOK_URL`).
    pub url_env: String,
    /// The signing secret itself (discouraged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Environment variable holding the signing secret (default `ORCH_WEBHOOK_SECRET`).
    pub secret_env: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            url_env: "ORCH_WEBHOOK_URL".into(),
            secret: None,
            secret_env: "ORCH_WEBHOOK_SECRET".into(),
        }
    }
}

/// `[escalation.notify]`: the channels and their HTTP behaviour. A channel is on when its
/// URL (or token and recipient, for LINE) is found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Print messages on stderr (default true).
    pub console: bool,
    /// Per-request timeout in seconds (default 10).
    pub timeout_seconds: u64,
    /// Retries after a failed request (default 2).
    pub retries: u32,
    /// First retry delay in milliseconds, doubled per retry (default 500).
    pub backoff_millis: u64,
    /// Longest `Retry-After` honoured, in seconds (default 30).
    pub max_retry_after_seconds: u64,
    /// Bound for one notifier on one message, in seconds (default 60).
    pub deadline_seconds: u64,
    /// Slack.
    pub slack: SlackConfig,
    /// Discord.
    pub discord: DiscordConfig,
    /// LINE.
    pub line: LineConfig,
    /// Generic webhook.
    pub webhook: WebhookConfig,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            console: true,
            timeout_seconds: 10,
            retries: 2,
            backoff_millis: 500,
            max_retry_after_seconds: 30,
            deadline_seconds: 60,
            slack: SlackConfig::default(),
            discord: DiscordConfig::default(),
            line: LineConfig::default(),
            webhook: WebhookConfig::default(),
        }
    }
}

impl NotifyConfig {
    pub(crate) fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |key, problem| Err(PolicyError::Invalid { key, problem });
        if self.timeout_seconds == 0 {
            return invalid("notify.timeout_seconds", "must be at least 1");
        }
        if self.deadline_seconds == 0 {
            return invalid("notify.deadline_seconds", "must be at least 1");
        }
        if super::http::check_url("line", "api_base", &self.line.api_base).is_err() {
            return invalid("notify.line.api_base", "must be an http(s) URL");
        }
        Ok(())
    }

    /// The HTTP settings every webhook notifier gets.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_secs(self.timeout_seconds),
            retries: self.retries,
            backoff: Duration::from_millis(self.backoff_millis),
            max_backoff: HttpSettings::default()
                .max_backoff
                .max(Duration::from_millis(self.backoff_millis)),
            max_retry_after: Duration::from_secs(self.max_retry_after_seconds),
        }
    }

    /// Builds the notifier set, reading URLs and tokens from the process environment.
    pub fn build(&self) -> Result<NotifierSet, NotifyError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// Builds the notifier set, looking environment variables up with `env`. A channel
    /// whose URL or token is found but malformed, or a LINE channel with a token but no
    /// recipient, is an error (so `orch doctor` can say so); the values never appear in it.
    /// Without the crate's `http` feature, any configured Slack, Discord, LINE or webhook
    /// channel is a [`NotifyError::Config`] error: only the console notifier exists.
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<NotifierSet, NotifyError> {
        let lookup = |literal: &Option<Secret>, var: &str| -> Option<Secret> {
            literal
                .clone()
                .filter(|s| !s.is_blank())
                .or_else(|| env(var).map(Secret::new).filter(|s| !s.is_blank()))
        };
        #[cfg(feature = "http")]
        let settings = self.http_settings();
        let mut set = NotifierSet::new(Duration::from_secs(self.deadline_seconds));
        if self.console {
            set = set.with(ConsoleNotifier::stderr());
        }
        if let Some(url) = lookup(&self.slack.webhook_url, &self.slack.webhook_url_env) {
            #[cfg(feature = "http")]
            {
                set = set.with(SlackNotifier::new(url, settings)?);
            }
            #[cfg(not(feature = "http"))]
            return Err(without_http("slack", url));
        }
        if let Some(url) = lookup(&self.discord.webhook_url, &self.discord.webhook_url_env) {
            #[cfg(feature = "http")]
            {
                set = set.with(DiscordNotifier::new(url, settings)?);
            }
            #[cfg(not(feature = "http"))]
            return Err(without_http("discord", url));
        }
        let line_to = self
            .line
            .to
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| env(&self.line.to_env).filter(|s| !s.trim().is_empty()));
        match (lookup(&self.line.token, &self.line.token_env), line_to) {
            (Some(token), Some(to)) => {
                #[cfg(feature = "http")]
                {
                    set = set.with(
                        LineNotifier::new(token, to, settings)?
                            .with_api_base(&self.line.api_base)?,
                    );
                }
                #[cfg(not(feature = "http"))]
                return Err(without_http("line", (token, to)));
            }
            (Some(_), None) => {
                return Err(NotifyError::Config {
                    notifier: "line".into(),
                    problem: format!(
                        "a channel token is set but no recipient (`to` or ${})",
                        self.line.to_env
                    ),
                });
            }
            (None, _) => {}
        }
        if let Some(url) = lookup(&self.webhook.url, &self.webhook.url_env) {
            let secret = lookup(&self.webhook.secret, &self.webhook.secret_env);
            #[cfg(feature = "http")]
            {
                set = set.with(WebhookNotifier::new(url, secret, settings)?);
            }
            #[cfg(not(feature = "http"))]
            return Err(without_http("webhook", (url, secret)));
        }
        Ok(set)
    }
}

/// A channel that is configured while the HTTP notifiers are compiled out.
#[cfg(not(feature = "http"))]
fn without_http<T>(notifier: &str, _configured: T) -> NotifyError {
    NotifyError::Config {
        notifier: notifier.to_owned(),
        problem: "orch-escalation was built without its `http` feature".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "http")]
    #[test]
    fn channels_come_from_the_environment() {
        let cfg = NotifyConfig::default();
        let set = cfg.build_with_env(|_| None).unwrap();
        assert_eq!(set.names(), ["console"]);
        let env = |name: &str| match name {
            "ORCH_SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/SECRET".into()),
            "ORCH_DISCORD_WEBHOOK_URL" => Some("https://discord.com/api/webhooks/1/SECRET".into()),
            "ORCH_LINE_CHANNEL_TOKEN" => Some("SECRET".into()),
            "ORCH_LINE_TO" => Some("U123".into()),
            "ORCH_WEBHOOK_URL" => Some("https://example.com/hook".into()),
            _ => None,
        };
        let set = cfg.build_with_env(env).unwrap();
        assert_eq!(
            set.names(),
            ["console", "slack", "discord", "line", "webhook"]
        );
        assert!(!format!("{set:?}").contains("SECRET"));
    }

    #[cfg(feature = "http")]
    #[test]
    fn broken_channels_are_reported_without_secrets() {
        let cfg = NotifyConfig {
            console: false,
            ..NotifyConfig::default()
        };
        let err = cfg
            .build_with_env(|n| (n == "ORCH_SLACK_WEBHOOK_URL").then(|| "SECRET-not-a-url".into()))
            .unwrap_err();
        assert_eq!(err.to_string(), "slack: webhook URL is not an http(s) URL");
        let err = cfg
            .build_with_env(|n| (n == "ORCH_LINE_CHANNEL_TOKEN").then(|| "SECRET".into()))
            .unwrap_err();
        assert!(err.to_string().contains("no recipient"), "{err}");
        assert!(!err.to_string().contains("SECRET"));
    }

    #[cfg(not(feature = "http"))]
    #[test]
    fn without_http_only_the_console_is_built() {
        let cfg = NotifyConfig::default();
        assert_eq!(cfg.build_with_env(|_| None).unwrap().names(), ["console"]);
        let err = cfg
            .build_with_env(|n| (n == "ORCH_SLACK_WEBHOOK_URL").then(|| "https://SECRET".into()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "slack: orch-escalation was built without its `http` feature"
        );
    }

    #[cfg(feature = "http")]
    #[test]
    fn literal_secrets_are_redacted_when_serialized() {
        let cfg: NotifyConfig = toml::from_str(
            "console = false\n[slack]\nwebhook_url = \"https://hooks.slack.com/services/XYZZY\"\n",
        )
        .unwrap();
        assert_eq!(cfg.build_with_env(|_| None).unwrap().names(), ["slack"]);
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(!json.contains("XYZZY"), "{json}");
        assert!(!format!("{cfg:?}").contains("XYZZY"));
    }
}
