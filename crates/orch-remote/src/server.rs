//! [`RemoteServer`]: the inbound endpoint. Binding and serving are separate so that the
//! caller learns the address (and a port in use) first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

use crate::command::{Command, Effect, Project, Reply};
use crate::config::{ConfigError, RemoteConfig, RemoteSecrets};
use crate::ratelimit::RateLimiter;
use crate::replay::ReplayCache;

/// Largest request body accepted (chat payloads are a few KB).
const MAX_BODY: usize = 64 * 1024;

/// Where replies go and how long a platform waits, overridable for tests.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Slack `response_url`s must start with one of these (default
    /// `https://hooks.slack.com/`): a signed request still cannot make orch post anywhere.
    pub slack_response_prefixes: Vec<String>,
    /// Discord's API base (default `https://discord.com/api/v10`).
    pub discord_api: String,
    /// LINE's API base (default `https://api.line.me`).
    pub line_api: String,
    /// A command still running after this is answered later (Slack's `response_url`,
    /// Discord's deferred response); Slack and Discord allow 3 s (default 2.5 s).
    pub answer_within: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            slack_response_prefixes: vec!["https://hooks.slack.com/".into()],
            discord_api: "https://discord.com/api/v10".into(),
            line_api: "https://api.line.me".into(),
            answer_within: Duration::from_millis(2500),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) project: Project,
    pub(crate) config: RemoteConfig,
    pub(crate) secrets: RemoteSecrets,
    pub(crate) options: RemoteOptions,
    pub(crate) discord_key: Option<ed25519_dalek::VerifyingKey>,
    pub(crate) replay: ReplayCache,
    pub(crate) limiter: RateLimiter,
    pub(crate) http: reqwest::Client,
}

/// Who sent a request, once the platform's signature vouched for it.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) platform: &'static str,
    pub(crate) user: String,
}

impl Actor {
    pub(crate) fn id(&self) -> String {
        format!("{}:{}", self.platform, self.user)
    }
}

/// How a request ended, for the handlers' status codes.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The command ran (or will, for a slow one): the reply.
    Done(Reply),
    /// Still running after `answer_within`: the reply comes through the receiver.
    Later(tokio::sync::oneshot::Receiver<Reply>),
    /// Not on the allow-list.
    NotAllowed,
    /// Over the rate limit.
    RateLimited,
}

impl Shared {
    pub(crate) fn now_unix() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// Writes an audit event (best effort: a store that cannot be written is logged).
    pub(crate) async fn audit(&self, platform: &str, user: &str, command: &str, outcome: &str) {
        let event = orch_core::Event::RemoteCommand {
            platform: platform.to_owned(),
            user: crate::command::clean(user, 100),
            command: crate::command::clean(command, 200),
            outcome: outcome.to_owned(),
        };
        let db = self.project.store.clone();
        let written = tokio::task::spawn_blocking(move || {
            orch_store::Store::open_existing(&db).and_then(|mut s| s.append_event(&event))
        })
        .await;
        if !matches!(written, Ok(Ok(_))) {
            tracing::warn!("cannot record a remote command in the store");
        }
    }

    /// Allow-list, rate limit, then the command, answered within `answer_within` or later.
    pub(crate) async fn run(self: &Arc<Self>, actor: &Actor, allowed: bool, text: &str) -> Outcome {
        if !allowed {
            self.audit(actor.platform, &actor.user, text, "not_allowed")
                .await;
            return Outcome::NotAllowed;
        }
        if !self.limiter.allow(&actor.id(), std::time::Instant::now()) {
            self.audit(actor.platform, &actor.user, text, "rate_limited")
                .await;
            return Outcome::RateLimited;
        }
        let command = match Command::parse(text) {
            Ok(c) => c,
            Err(problem) => {
                self.audit(actor.platform, &actor.user, text, "unknown_command")
                    .await;
                return Outcome::Done(Reply {
                    text: problem,
                    effect: Effect::None,
                });
            }
        };
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(self);
        let by = actor.id();
        let (platform, user) = (actor.platform, actor.user.clone());
        let label = command.to_string();
        tokio::spawn(async move {
            let project = shared.project.clone();
            let cmd = command.clone();
            let reply =
                tokio::task::spawn_blocking(move || crate::command::execute(&project, &cmd, &by))
                    .await
                    .unwrap_or_else(|_| Err("the command failed".into()))
                    .unwrap_or_else(|problem| Reply {
                        text: format!("cannot do that: {}", crate::command::clean(&problem, 500)),
                        effect: Effect::None,
                    });
            let outcome = match reply.effect {
                Effect::AlreadyAnswered => "already_answered",
                _ => "accepted",
            };
            shared.audit(platform, &user, &label, outcome).await;
            let _ = tx.send(reply);
        });
        match tokio::time::timeout(self.options.answer_within, &mut rx).await {
            Ok(Ok(reply)) => Outcome::Done(reply),
            Ok(Err(_)) => Outcome::Done(Reply {
                text: "the command failed".into(),
                effect: Effect::None,
            }),
            Err(_) => Outcome::Later(rx),
        }
    }
}

/// The endpoint, bound to its address.
#[derive(Debug)]
pub struct RemoteServer {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RemoteServer {
    /// Checks the setup (`[remote]`, the secrets), opens nothing yet but the store's path,
    /// and binds the address.
    pub fn bind(
        orch_dir: &Path,
        config: RemoteConfig,
        secrets: RemoteSecrets,
        budget_usd: Option<f64>,
        options: RemoteOptions,
    ) -> Result<RemoteServer, ConfigError> {
        config.check(&secrets)?;
        let store: PathBuf = orch_dir.join("state.db");
        if !store.is_file() {
            return Err(ConfigError(format!(
                "{} does not exist: run `orch init` first",
                store.display()
            )));
        }
        let discord_key = match &secrets.discord_public_key {
            Some(hex) if config.discord.is_some() => {
                Some(crate::verify::discord_public_key(hex).map_err(ConfigError)?)
            }
            _ => None,
        };
        let wanted = SocketAddr::new(config.bind, config.port);
        let listener = std::net::TcpListener::bind(wanted)
            .map_err(|e| ConfigError(format!("cannot listen on {wanted}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ConfigError(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ConfigError(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ConfigError(format!("an HTTP client: {e}")))?;
        let shared = Arc::new(Shared {
            project: Project { store, budget_usd },
            replay: ReplayCache::new(
                Duration::from_secs(2 * config.timestamp_window_secs.unsigned_abs() + 60),
                100_000,
            ),
            limiter: RateLimiter::new(config.rate_per_minute, config.burst),
            config,
            secrets,
            options,
            discord_key,
            http,
        });
        Ok(RemoteServer {
            listener,
            addr,
            shared,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoints served, for the start-up message.
    pub fn endpoints(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.shared.config.slack.is_some() {
            out.push("/slack/commands (slash command /orch)".into());
            out.push("/slack/interactions (buttons)".into());
        }
        if self.shared.config.discord.is_some() {
            out.push("/discord/interactions".into());
        }
        if self.shared.config.line.is_some() {
            out.push("/line/webhook".into());
        }
        out
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let shared = self.shared;
        let mut router = Router::new();
        if shared.config.slack.is_some() {
            router = router
                .route("/slack/commands", post(crate::slack::command))
                .route("/slack/interactions", post(crate::slack::interaction));
        }
        if shared.config.discord.is_some() {
            router = router.route("/discord/interactions", post(crate::discord::interaction));
        }
        if shared.config.line.is_some() {
            router = router.route("/line/webhook", post(crate::line::webhook));
        }
        let app = router
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
