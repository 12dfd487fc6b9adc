//! The conductor (orch-engine) with an agent of your own: any program that works in the
//! task's directory can be an orch agent by implementing `orch_session::Agent`.
//!
//! This one is a shell script that writes a notes file for its task. The program makes a
//! throw-away git repository, stores a two-task plan (the second depends on the first),
//! runs it — worktrees, the agent, verification, the merge queue — and prints the report.
//!
//! `cargo run -p orch-examples --bin custom-agent`

use std::process::Command;
use std::sync::Arc;

use orch_core::{Config, Plan, PlanFormat};
use orch_engine::{Conductor, EngineOptions};
use orch_session::{
    Agent, AgentError, AgentEvent, AgentOutcome, AgentRequest, CommandSpec, SessionEnd, Stdin,
};
use orch_store::Store;

/// Writes `NOTES-<task>.md` with the first line of its instructions and commits nothing:
/// orch commits what an agent leaves and verifies it itself.
#[derive(Debug)]
struct NotesAgent;

impl Agent for NotesAgent {
    fn name(&self) -> &'static str {
        "notes"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        let script = format!(
            "echo \"working on {task}\"; head -n 1 > NOTES-{task}.md; echo done",
            task = req.task
        );
        Ok(CommandSpec {
            argv: vec!["sh".into(), "-c".into(), script],
            env: req.env.clone(),
            // The instruction file on standard input, as Claude Code gets it.
            stdin: Stdin::File(req.prompt_file.clone()),
        })
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        vec![AgentEvent::Output {
            line: line.to_owned(),
        }]
    }

    fn outcome(&self, end: &SessionEnd, _events: &[AgentEvent]) -> AgentOutcome {
        match end {
            SessionEnd::Exited { exit } if exit.success() => AgentOutcome::Succeeded,
            SessionEnd::Exited { exit } => AgentOutcome::Crashed { exit: Some(*exit) },
            SessionEnd::TimedOut => AgentOutcome::TimedOut { idle: false },
            SessionEnd::IdleTimedOut => AgentOutcome::TimedOut { idle: true },
            SessionEnd::Killed => AgentOutcome::Killed,
            // Lost, and whatever later versions add: no verdict.
            _ => AgentOutcome::Crashed { exit: None },
        }
    }
}

const PLAN: &str = r#"
name = "notes"
[[epic]]
id = "DOC"
name = "Notes"
[[task]]
id = "TASK-DOC-001"
title = "Write the first notes"
epic = "DOC"
[[task]]
id = "TASK-DOC-002"
title = "Write notes that build on the first"
epic = "DOC"
depends_on = ["TASK-DOC-001"]
"#;

fn git(dir: &std::path::Path, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=example",
            "-c",
            "user.email=example@example.invalid",
        ])
        .args(args)
        .status()?;
    if !status.success() {
        return Err(format!("git {args:?} failed").into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"])?;
    std::fs::write(repo.join("README.md"), "# notes\n")?;
    std::fs::write(repo.join(".git/info/exclude"), "/.orch/\n/.worktrees/\n")?;
    git(repo, &["add", "-A"])?;
    git(repo, &["commit", "-qm", "initial"])?;

    // What `orch init` and `orch plan import` do: a store with the plan.
    std::fs::create_dir_all(repo.join(".orch"))?;
    let mut store = Store::open(&repo.join(".orch/state.db"))?;
    store.import_plan(&Plan::parse(PLAN, PlanFormat::Toml)?, false)?;
    drop(store);

    let mut config = Config::default();
    config.run.backend = "process".into();
    config.run.quality_gate = false; // a notes file has nothing for the gate to check
    let mut options = EngineOptions::from_config(repo, config)?;
    options.agent = Arc::new(NotesAgent);
    options.wait_for_answers = false;

    let report = tokio::runtime::Runtime::new()?
        .block_on(async { Conductor::open(options)?.run().await })?;
    println!(
        "{}: {}/{} tasks",
        report.outcome.as_str(),
        report.completed(),
        report.tasks.len()
    );
    for task in &report.tasks {
        println!(
            "  {} {} ({} attempt)",
            task.task, task.status, task.attempts
        );
    }
    let notes = std::fs::read_to_string(repo.join("NOTES-TASK-DOC-002.md")).unwrap_or_default();
    println!(
        "merged into main: NOTES-TASK-DOC-002.md = {:?}",
        notes.trim()
    );
    Ok(())
}
