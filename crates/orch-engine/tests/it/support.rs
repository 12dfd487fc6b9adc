//! A repository with a stored plan, and engine options that run the fake agent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use orch_core::{Config, Epic, EpicId, Plan, Task, TaskId, TaskStatus};
use orch_engine::{Conductor, EngineOptions, RunReport};
use orch_session::ClaudeCode;
use orch_store::{AttemptRecord, Store, TaskFilter};
use orch_testutils::{FAKE_SCENARIO_MARKER, FakeScenario, TempRepo, fake_agent_path};

/// A task of a test plan: id, dependencies, scope, and what the fake agent does.
pub struct Spec<'a> {
    pub id: &'a str,
    pub deps: &'a [&'a str],
    pub files: &'a [&'a str],
    pub scenario: FakeScenario,
}

/// An agent that writes `path` and finishes.
pub fn writes(path: &str) -> FakeScenario {
    FakeScenario::new()
        .text("Working on it.")
        .write(path, &format!("written for {path}\n"))
}

/// A one-epic plan of `specs`; each task's description carries its fake-agent scenario.
pub fn plan_of(specs: &[Spec<'_>]) -> Plan {
    let epic = EpicId::new("E").unwrap();
    let tasks = specs
        .iter()
        .map(|s| {
            let mut t = Task::new(
                TaskId::new(s.id).unwrap(),
                format!("Task {}", s.id),
                epic.clone(),
            );
            t.depends_on = s.deps.iter().map(|d| TaskId::new(*d).unwrap()).collect();
            t.files = s.files.iter().map(|f| (*f).to_owned()).collect();
            t.description = format!("{FAKE_SCENARIO_MARKER} {}", s.scenario.to_json());
            t
        })
        .collect();
    Plan {
        version: 1,
        name: "test".into(),
        strategy: None,
        epics: vec![Epic {
            review: None,
            id: epic,
            name: "Epic".into(),
            goal: String::new(),
            strategy: None,
        }],
        tasks,
    }
}

/// A repository with one commit and `plan` stored as `orch plan import` would.
pub fn repo_with(plan: &Plan) -> TempRepo {
    let repo = TempRepo::new();
    repo.write("README.md", "# test\n");
    repo.commit_all("initial");
    std::fs::create_dir_all(repo.path().join(".orch")).unwrap();
    let exclude = repo.path().join(".git/info/exclude");
    let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
    text.push_str("/.orch/\n/.worktrees/\n");
    std::fs::write(&exclude, text).unwrap();
    let mut store = Store::open(&repo.path().join(".orch/state.db")).unwrap();
    store.import_plan(plan, false).unwrap();
    store.refresh_readiness().unwrap();
    repo
}

/// Options for a fast, deterministic run: plain processes, the fake agent, no gate, no
/// backoff, escalation after `max_retries` retries, the run ending when only questions
/// remain.
pub fn options(repo: &Path, max_retries: u32) -> EngineOptions {
    let mut config = Config::default();
    config.run.backend = "process".into();
    config.run.quality_gate = false;
    config.run.max_retries = max_retries;
    config
        .escalation
        .insert("backoff_initial_seconds".into(), toml::Value::Integer(0));
    let mut options = EngineOptions::from_config(repo, config).unwrap();
    options.agent = Arc::new(ClaudeCode::with_program(
        fake_agent_path().display().to_string(),
    ));
    options.wait_for_answers = false;
    options.tick = Duration::from_millis(50);
    options.session_timeout = Duration::from_secs(60);
    options.idle_timeout = None;
    options.without_console_notifier().unwrap();
    options
}

pub fn run(options: EngineOptions) -> RunReport {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async { Conductor::open(options).unwrap().run().await.unwrap() })
}

pub fn status(repo: &TempRepo, id: &str) -> TaskStatus {
    let store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    store.task(&TaskId::new(id).unwrap()).unwrap().task.status
}

pub fn attempts(repo: &TempRepo, id: &str) -> Vec<AttemptRecord> {
    let store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    store.attempts(Some(&TaskId::new(id).unwrap())).unwrap()
}

pub fn statuses(repo: &TempRepo) -> Vec<(String, TaskStatus)> {
    let store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    store
        .tasks(&TaskFilter::default())
        .unwrap()
        .into_iter()
        .map(|r| (r.task.id.to_string(), r.task.status))
        .collect()
}

/// Nothing left behind: no task worktree, no session files.
pub fn assert_clean(repo: &TempRepo) {
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "only the main worktree may remain:\n{worktrees}"
    );
    let sessions = repo.path().join(".orch/sessions");
    let left: Vec<_> = std::fs::read_dir(&sessions)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "session files left: {left:?}");
}
