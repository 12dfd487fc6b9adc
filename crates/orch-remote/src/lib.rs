//! Remote control for orch from a phone: answer its questions and steer a run from Slack,
//! Discord and LINE.
//!
//! [`RemoteServer`] serves one endpoint per platform configured in `[remote]`:
//! `/slack/commands` and `/slack/interactions`, `/discord/interactions`, `/line/webhook`.
//! Every request is checked exactly as its platform documents before anything in it is
//! parsed or acted on — Slack's `v0` HMAC-SHA256 with a 5-minute timestamp window,
//! Discord's Ed25519 over `timestamp + body`, LINE's base64 HMAC-SHA256 — and is refused
//! when replayed (a cache of seen signatures and event ids). Then the sender must be on the
//! platform's allow-list (users; Slack channels, Discord guilds), within a per-user rate
//! limit; anyone else gets a refusal and an audit event.
//!
//! The commands are the same everywhere ([`Command`]): `status`, `tasks`, `task ID`,
//! `answer PM-0001 A [note]`, `pause`, `resume`, `stop`, `logs TASK`. Answers go through the
//! same compare-and-swap as `orch msg answer`, so a button pressed twice, or on two
//! platforms at once, answers once and the second is told who was first. Every accepted
//! command is an event in the store, shown by the dashboard. Secrets come only from the
//! environment ([`RemoteSecrets`]); the server binds to loopback unless told otherwise, and
//! never serves a platform without its secret.

#![deny(missing_docs)]

mod command;
mod config;
mod discord;
mod line;
mod ratelimit;
mod replay;
mod server;
mod slack;
mod verify;

pub use command::{Command, Effect, HELP, Project, Reply, execute};
pub use config::{
    ConfigError, DEFAULT_PORT, DISCORD_PUBLIC_KEY_ENV, DiscordConfig, LINE_ACCESS_TOKEN_ENV,
    LINE_CHANNEL_SECRET_ENV, LineConfig, RemoteConfig, RemoteSecrets, SLACK_SIGNING_SECRET_ENV,
    SlackConfig,
};
pub use server::{RemoteOptions, RemoteServer};
pub use verify::{line_signature, slack_signature};
