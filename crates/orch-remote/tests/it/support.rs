//! A project with a plan and an open PM message, a running remote endpoint, and signers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer as _, SigningKey};
use orch_core::{Plan, PlanFormat, SystemClock, TaskId};
use orch_escalation::{
    Decision, EscalationPolicy, Escalator, FailureContext, FailureKind, PmMessage, RuleAdvisor,
};
use orch_remote::{RemoteConfig, RemoteOptions, RemoteSecrets, RemoteServer};
use orch_store::Store;
use orch_testutils::MockHttpServer;
use tokio::sync::oneshot;

pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5-test";
pub const LINE_SECRET: &str = "line-channel-secret-for-tests";
pub const SLACK_USER: &str = "U0ALLOWED";
pub const DISCORD_USER: &str = "80351110224678912";
pub const LINE_USER: &str = "U4af4980629fffffffffffffffffffff";

const PLAN: &str = r#"
name = "shop"
[[epic]]
id = "API"
name = "API"
[[task]]
id = "TASK-API-001"
title = "Orders API"
epic = "API"
[[task]]
id = "TASK-API-002"
title = "Refunds"
epic = "API"
"#;

/// A temporary `.orch` with the plan and one open question about TASK-API-001.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".orch")).unwrap();
        let project = Project { dir };
        let mut store = project.store();
        store
            .import_plan(&Plan::parse(PLAN, PlanFormat::Toml).unwrap(), false)
            .unwrap();
        store.refresh_readiness().unwrap();
        let message = question("TASK-API-001");
        let json = serde_json::to_string(&message).unwrap();
        store
            .save_message(
                message.id.as_str(),
                &message.task,
                message.state.name(),
                &json,
            )
            .unwrap();
        project
    }

    pub fn orch_dir(&self) -> PathBuf {
        self.dir.path().join(".orch")
    }

    pub fn store(&self) -> Store {
        Store::open(&self.orch_dir().join("state.db")).unwrap()
    }

    pub fn message(&self) -> PmMessage {
        let row = self.store().messages().unwrap().remove(0);
        serde_json::from_str(&row.json).unwrap()
    }

    /// Everything a refused request must leave alone: messages, task statuses, run control.
    pub fn state(&self) -> String {
        let store = self.store();
        let messages: Vec<String> = store
            .messages()
            .unwrap()
            .into_iter()
            .map(|m| m.json)
            .collect();
        let tasks: Vec<String> = store
            .tasks(&orch_store::TaskFilter::default())
            .unwrap()
            .into_iter()
            .map(|t| format!("{} {}", t.task.id, t.task.status))
            .collect();
        format!("{messages:?} {tasks:?} {:?}", store.run_control().unwrap())
    }

    /// The remote-command audit events, as `(user, command, outcome)`.
    pub fn audit(&self) -> Vec<(String, String, String)> {
        self.store()
            .events_since(0, 10_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.event {
                orch_core::Event::RemoteCommand {
                    user,
                    command,
                    outcome,
                    ..
                } => Some((user, command, outcome)),
                _ => None,
            })
            .collect()
    }
}

fn question(task: &str) -> PmMessage {
    let policy = EscalationPolicy {
        max_retries: 0,
        ..EscalationPolicy::default()
    };
    let mut escalator = Escalator::new(policy, Arc::new(SystemClock)).unwrap();
    let failure = FailureContext::new(
        TaskId::new(task).unwrap(),
        FailureKind::TestsFailing,
        "2 tests failed",
    );
    let advisor = RuleAdvisor::new();
    let outcome = escalator.on_failure_with(failure, |f| advisor.advise(f));
    let Decision::Escalate { message, .. } = outcome.decision else {
        panic!("expected an escalation")
    };
    *message
}

/// A running endpoint with Slack, Discord and LINE enabled, and the mock platform APIs.
pub struct Endpoint {
    pub base: String,
    pub discord_key: SigningKey,
    pub platform: MockHttpServer,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Endpoint {
    pub async fn start(project: &Project) -> Endpoint {
        Endpoint::start_with(project, |_| {}).await
    }

    pub async fn start_with(project: &Project, tune: impl FnOnce(&mut RemoteOptions)) -> Endpoint {
        let discord_key = SigningKey::from_bytes(&key_bytes());
        let public_hex: String = discord_key
            .verifying_key()
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let table: toml::Table = format!(
            "port = 0\nrate_per_minute = 600\nburst = 100\n\
             [slack]\nusers = [\"{SLACK_USER}\"]\n\
             [discord]\nusers = [\"{DISCORD_USER}\"]\n\
             [line]\nusers = [\"{LINE_USER}\"]\n"
        )
        .parse()
        .unwrap();
        let config = RemoteConfig::from_table(Some(&table)).unwrap();
        let secrets = RemoteSecrets {
            slack_signing_secret: Some(SLACK_SECRET.into()),
            discord_public_key: Some(public_hex),
            line_channel_secret: Some(LINE_SECRET.into()),
            line_access_token: Some("line-access-token".into()),
        };
        let platform = MockHttpServer::start();
        let mut options = RemoteOptions {
            slack_response_prefixes: vec![platform.url().to_owned()],
            discord_api: platform.url().to_owned(),
            line_api: platform.url().to_owned(),
            ..RemoteOptions::default()
        };
        tune(&mut options);
        let server =
            RemoteServer::bind(&project.orch_dir(), config, secrets, Some(5.0), options).unwrap();
        let base = format!("http://{}", server.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Endpoint {
            base,
            discord_key,
            platform,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits (up to 10 s) until the mock platform received `n` requests.
    pub async fn platform_requests(&self, n: usize) -> Vec<orch_testutils::RecordedRequest> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.platform.requests();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `application/x-www-form-urlencoded`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Slack request signed as Slack signs it, at `ts`.
pub async fn slack(
    endpoint: &Endpoint,
    path: &str,
    body: &str,
    ts: i64,
    secret: &str,
) -> (u16, String) {
    let ts = ts.to_string();
    let signature = orch_remote::slack_signature(secret.as_bytes(), &ts, body.as_bytes());
    send(
        client()
            .post(endpoint.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body.to_owned()),
    )
    .await
}

/// A Discord interaction signed with `key` at `ts`.
pub async fn discord(endpoint: &Endpoint, body: &str, ts: i64, key: &SigningKey) -> (u16, String) {
    let ts = ts.to_string();
    let mut signed = ts.clone().into_bytes();
    signed.extend_from_slice(body.as_bytes());
    let signature: String = key
        .sign(&signed)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    send(
        client()
            .post(endpoint.url("/discord/interactions"))
            .header("content-type", "application/json")
            .header("x-signature-timestamp", ts)
            .header("x-signature-ed25519", signature)
            .body(body.to_owned()),
    )
    .await
}

/// A LINE webhook signed with `secret`.
pub async fn line(endpoint: &Endpoint, body: &str, secret: &str) -> (u16, String) {
    let signature = orch_remote::line_signature(secret.as_bytes(), body.as_bytes());
    send(
        client()
            .post(endpoint.url("/line/webhook"))
            .header("content-type", "application/json")
            .header("x-line-signature", signature)
            .body(body.to_owned()),
    )
    .await
}

async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// 32 fresh bytes for a test key (seeded from the clock: a new key each run).
pub fn key_bytes() -> [u8; 32] {
    use rand::{Rng as _, SeedableRng as _};
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    rand::rngs::SmallRng::seed_from_u64(seed ^ n.rotate_left(32)).random()
}
