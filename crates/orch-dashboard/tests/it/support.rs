//! A repository's `.orch/` with a real store (a plan, an attempt, a PM message), and a real
//! dashboard serving it on a loopback port.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orch_core::{Plan, PlanFormat, SystemClock, TaskId};
use orch_dashboard::{Dashboard, DashboardConfig, Token};
use orch_escalation::{
    Decision, EscalationPolicy, Escalator, FailureContext, FailureKind, PmMessage, RuleAdvisor,
};
use orch_store::{AttemptEnd, AttemptRecord, Store};
use tokio::sync::oneshot;

pub const PLAN: &str = r#"
name = "shop"
[[epic]]
id = "API"
name = "Backend API"
[[epic]]
id = "UI"
name = "Web UI"
[[task]]
id = "TASK-API-001"
title = "Products endpoint"
epic = "API"
description = "GET /products returns the catalogue."
files = ["src/products.rs"]
[[task]]
id = "TASK-API-002"
title = "Orders endpoint"
epic = "API"
depends_on = ["TASK-API-001"]
[[task]]
id = "TASK-UI-001"
title = "Product list page"
epic = "UI"
depends_on = ["TASK-API-001"]
"#;

pub fn id(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

/// A temporary `.orch` directory with the shop plan imported.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".orch/logs")).unwrap();
        let repo = Repo { dir };
        let mut store = repo.store();
        let plan = Plan::parse(PLAN, PlanFormat::Toml).unwrap();
        store.import_plan(&plan, false).unwrap();
        store.refresh_readiness().unwrap();
        repo
    }

    pub fn orch_dir(&self) -> PathBuf {
        self.dir.path().join(".orch")
    }

    pub fn db(&self) -> PathBuf {
        self.orch_dir().join("state.db")
    }

    /// A second connection, as another process's would be.
    pub fn store(&self) -> Store {
        Store::open(&self.db()).unwrap()
    }

    /// TASK-API-001 ran once, passed the gate with a breakdown, and its log has lines.
    pub fn with_finished_attempt(self) -> Repo {
        let mut store = self.store();
        let task = id("TASK-API-001");
        let log = self.orch_dir().join("logs/TASK-API-001-1.log");
        std::fs::write(&log, "\u{1b}[32mcompiling\u{1b}[0m\nall 12 tests passed\n").unwrap();
        store.begin_attempt(&attempt(&task, 1, &log)).unwrap();
        let report = serde_json::json!({
            "quality_score": 0.9, "passed": true, "gate_failures": [],
            "breakdown": { "syntax": 1.0, "tests": 0.8, "lint": 0.9 },
            "skipped": { "performance": "no benchmark configured" }
        });
        store
            .finish_attempt(
                &task,
                1,
                AttemptEnd {
                    result: "passed".into(),
                    summary: "gate passed".into(),
                    quality: Some(0.9),
                    quality_report: Some(report),
                    cost_usd: Some(0.125),
                    agent_ms: Some(42_000),
                    changed_files: vec!["src/products.rs".into()],
                    ..AttemptEnd::default()
                },
            )
            .unwrap();
        self
    }

    /// An open PM message about TASK-UI-001, as the runner stores it.
    pub fn with_message(self) -> Repo {
        let message = escalated_message("TASK-UI-001");
        let mut store = self.store();
        let json = serde_json::to_string(&message).unwrap();
        store
            .save_message(
                message.id.as_str(),
                &message.task,
                message.state.name(),
                &json,
            )
            .unwrap();
        self
    }

    /// The stored document of a message.
    pub fn message_json(&self, id: &str) -> String {
        self.store()
            .messages()
            .unwrap()
            .into_iter()
            .find(|m| m.id == id)
            .unwrap()
            .json
    }
}

pub fn attempt(task: &TaskId, n: u32, log: &Path) -> AttemptRecord {
    AttemptRecord {
        session_id: format!("session-{n}"),
        session_name: format!("orch-{task}-{n}"),
        ..AttemptRecord::starting(task.clone(), n, "claude", log.display().to_string())
    }
}

pub fn escalated_message(task: &str) -> PmMessage {
    let policy = EscalationPolicy {
        max_retries: 0,
        ..EscalationPolicy::default()
    };
    let mut escalator = Escalator::new(policy, Arc::new(SystemClock)).unwrap();
    let advisor = RuleAdvisor::new();
    let failure = FailureContext::new(id(task), FailureKind::TestsFailing, "2 tests failed");
    let outcome = escalator.on_failure_with(failure, |f| advisor.advise(f));
    let Decision::Escalate { message, .. } = outcome.decision else {
        panic!("expected an escalation, got {:?}", outcome.decision)
    };
    *message
}

/// A dashboard serving on a free loopback port until dropped.
pub struct Server {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub token: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    pub async fn start(repo: &Repo) -> Server {
        let mut config = DashboardConfig::new(repo.orch_dir());
        config.port = 0;
        Server::start_with(config).await
    }

    pub async fn start_with(config: DashboardConfig) -> Server {
        let dashboard = Dashboard::bind(config).unwrap();
        let addr = dashboard.local_addr();
        let token = dashboard.token().expose().to_owned();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(dashboard.serve(async {
            let _ = stopped.await;
        }));
        Server {
            base: format!("http://127.0.0.1:{}", addr.port()),
            addr,
            token,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://127.0.0.1:{}/ws{query}", self.addr.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn user_token() -> Token {
    Token::new("correct-horse-battery-staple").unwrap()
}
