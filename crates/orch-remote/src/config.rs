//! `[remote]` in `.orch/orch.toml` (who may act, where to listen) and the secrets, which
//! come only from the environment: a signing secret in a file that agents can read, or that
//! gets committed, would let anyone answer for you.

use std::net::IpAddr;

use serde::Deserialize;

/// Environment variable of Slack's signing secret.
pub const SLACK_SIGNING_SECRET_ENV: &str = "ORCH_SLACK_SIGNING_SECRET";
/// Environment variable of the Discord application's public key (hex).
pub const DISCORD_PUBLIC_KEY_ENV: &str = "ORCH_DISCORD_PUBLIC_KEY";
/// Environment variable of the LINE channel secret.
pub const LINE_CHANNEL_SECRET_ENV: &str = "ORCH_LINE_CHANNEL_SECRET";
/// Environment variable of the LINE channel access token (for replies).
pub const LINE_ACCESS_TOKEN_ENV: &str = "ORCH_LINE_CHANNEL_ACCESS_TOKEN";

/// The default port of `orch remote serve`.
pub const DEFAULT_PORT: u16 = 8766;

/// Who may act from Slack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Slack user ids (`U0123ABCD`).
    pub users: Vec<String>,
    /// Channel ids commands may come from (`C0123ABCD`); empty: any channel.
    pub channels: Vec<String>,
}

/// Who may act from Discord.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Discord user ids (snowflakes).
    pub users: Vec<String>,
    /// Guild (server) ids commands may come from; empty: any guild, and direct messages.
    pub guilds: Vec<String>,
}

/// Who may act from LINE.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineConfig {
    /// LINE user ids (`U` and 32 hex digits).
    pub users: Vec<String>,
}

/// `[remote]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteConfig {
    /// Address to listen on (default loopback; reach it through a tunnel).
    pub bind: IpAddr,
    /// Port (default 8766; 0 picks a free one).
    pub port: u16,
    /// Requests older or newer than this many seconds are refused (default 300).
    pub timestamp_window_secs: i64,
    /// Commands a user may send a minute (default 20), in bursts of up to `burst` (10).
    pub rate_per_minute: u32,
    /// See `rate_per_minute`.
    pub burst: u32,
    /// `[remote.slack]`: enables the Slack endpoint.
    pub slack: Option<SlackConfig>,
    /// `[remote.discord]`: enables the Discord endpoint.
    pub discord: Option<DiscordConfig>,
    /// `[remote.line]`: enables the LINE endpoint.
    pub line: Option<LineConfig>,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_PORT,
            timestamp_window_secs: 300,
            rate_per_minute: 20,
            burst: 10,
            slack: None,
            discord: None,
            line: None,
        }
    }
}

/// Secrets, read from the environment; `Debug` never shows them.
#[derive(Clone, Default)]
pub struct RemoteSecrets {
    /// Slack's signing secret.
    pub slack_signing_secret: Option<String>,
    /// The Discord application's public key, hex.
    pub discord_public_key: Option<String>,
    /// LINE's channel secret.
    pub line_channel_secret: Option<String>,
    /// LINE's channel access token (replies).
    pub line_access_token: Option<String>,
}

impl std::fmt::Debug for RemoteSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "set" } else { "unset" };
        f.debug_struct("RemoteSecrets")
            .field("slack_signing_secret", &set(&self.slack_signing_secret))
            .field("discord_public_key", &set(&self.discord_public_key))
            .field("line_channel_secret", &set(&self.line_channel_secret))
            .field("line_access_token", &set(&self.line_access_token))
            .finish()
    }
}

impl RemoteSecrets {
    /// From `ORCH_SLACK_SIGNING_SECRET`, `ORCH_DISCORD_PUBLIC_KEY`,
    /// `ORCH_LINE_CHANNEL_SECRET` and `ORCH_LINE_CHANNEL_ACCESS_TOKEN`.
    pub fn from_env() -> RemoteSecrets {
        let get = |name| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        RemoteSecrets {
            slack_signing_secret: get(SLACK_SIGNING_SECRET_ENV),
            discord_public_key: get(DISCORD_PUBLIC_KEY_ENV),
            line_channel_secret: get(LINE_CHANNEL_SECRET_ENV),
            line_access_token: get(LINE_ACCESS_TOKEN_ENV),
        }
    }
}

/// A setup that cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl RemoteConfig {
    /// `[remote]` from the raw table (`None`: the file has no `[remote]`).
    pub fn from_table(table: Option<&toml::Table>) -> Result<RemoteConfig, ConfigError> {
        let Some(table) = table else {
            return Ok(RemoteConfig::default());
        };
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(format!("[remote]: {}", e.message())))
    }

    /// Checks that something is enabled, that every enabled platform has its secret and a
    /// non-empty allow-list, and the limits.
    pub fn check(&self, secrets: &RemoteSecrets) -> Result<(), ConfigError> {
        let mut enabled = 0;
        let need = |name: &str, env: &str, present: bool, users: &[String]| {
            if !present {
                return Err(ConfigError(format!(
                    "[remote.{name}] is configured but {env} is not set: requests cannot be verified"
                )));
            }
            if users.iter().all(|u| u.trim().is_empty()) {
                return Err(ConfigError(format!(
                    "[remote.{name}] users is empty: nobody could use it; add your {name} user id"
                )));
            }
            Ok(())
        };
        if let Some(slack) = &self.slack {
            need(
                "slack",
                SLACK_SIGNING_SECRET_ENV,
                secrets.slack_signing_secret.is_some(),
                &slack.users,
            )?;
            enabled += 1;
        }
        if let Some(discord) = &self.discord {
            need(
                "discord",
                DISCORD_PUBLIC_KEY_ENV,
                secrets.discord_public_key.is_some(),
                &discord.users,
            )?;
            if let Some(key) = &secrets.discord_public_key {
                crate::verify::discord_public_key(key)
                    .map_err(|e| ConfigError(format!("{DISCORD_PUBLIC_KEY_ENV}: {e}")))?;
            }
            enabled += 1;
        }
        if let Some(line) = &self.line {
            need(
                "line",
                LINE_CHANNEL_SECRET_ENV,
                secrets.line_channel_secret.is_some(),
                &line.users,
            )?;
            enabled += 1;
        }
        if enabled == 0 {
            return Err(ConfigError(
                "no platform is configured: add [remote.slack], [remote.discord] or [remote.line] to .orch/orch.toml".into(),
            ));
        }
        if self.timestamp_window_secs <= 0 || self.timestamp_window_secs > 3600 {
            return Err(ConfigError(
                "[remote] timestamp_window_secs must be between 1 and 3600".into(),
            ));
        }
        if self.rate_per_minute == 0 || self.burst == 0 {
            return Err(ConfigError(
                "[remote] rate_per_minute and burst must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse::<toml::Table>().unwrap()
    }

    #[test]
    fn a_platform_needs_its_secret_and_its_users() {
        let config = RemoteConfig::from_table(Some(&table("[slack]\nusers = [\"U1\"]\n"))).unwrap();
        let none = RemoteSecrets::default();
        assert!(
            config
                .check(&none)
                .unwrap_err()
                .0
                .contains(SLACK_SIGNING_SECRET_ENV)
        );
        let secrets = RemoteSecrets {
            slack_signing_secret: Some("s3cret".into()),
            ..RemoteSecrets::default()
        };
        assert_eq!(config.check(&secrets), Ok(()));
        let empty = RemoteConfig::from_table(Some(&table("[slack]\nusers = []\n"))).unwrap();
        assert!(empty.check(&secrets).unwrap_err().0.contains("nobody"));
        assert!(RemoteConfig::default().check(&secrets).is_err());
        assert!(RemoteConfig::from_table(Some(&table("[slak]\n"))).is_err());
        assert!(!format!("{secrets:?}").contains("s3cret"));
    }
}
