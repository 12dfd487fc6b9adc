//! `orch task show` and `orch task set-status`

use orch_core::{TaskId, TaskStatus, exit_code};

use crate::cmd::open_store;
use crate::error::{CliError, CliResult};
use serde::Serialize;

use crate::output::{minutes, print_json, sanitize, truncate};
use crate::repo::RepoPaths;

fn parse_id(id: &str) -> CliResult<TaskId> {
    TaskId::new(id).map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))
}

/// `orch task show --json`: the task record as stored, its attempts in short, and the
/// last quality gate report that ran (so a script can see why the gate failed).
#[derive(Serialize)]
struct TaskView<'a> {
    #[serde(flatten)]
    record: &'a orch_store::TaskRecord,
    attempts: Vec<AttemptView<'a>>,
    last_gate: Option<GateView>,
}

#[derive(Serialize)]
struct AttemptView<'a> {
    attempt: u32,
    agent: &'a str,
    result: Option<&'a str>,
    summary: Option<&'a str>,
    quality: Option<f64>,
    cost_usd: Option<f64>,
    changed_files: &'a [String],
}

#[derive(Serialize)]
pub(crate) struct GateView {
    attempt: u32,
    score: f64,
    threshold: f64,
    passed: bool,
    gate_failures: Vec<String>,
    /// Dimensions that failed or could not run, with their findings.
    failed: Vec<orch_quality::DimensionResult>,
    skipped: std::collections::BTreeMap<orch_quality::Dimension, String>,
}

pub(crate) fn last_gate(attempts: &[orch_store::AttemptRecord]) -> Option<GateView> {
    attempts.iter().rev().find_map(|a| {
        let report: orch_quality::QualityReport =
            serde_json::from_value(a.quality_report.clone()?).ok()?;
        Some(GateView {
            attempt: a.attempt,
            score: report.quality_score,
            threshold: report.threshold,
            passed: report.passed,
            gate_failures: report.gate_failures,
            failed: report
                .dimensions
                .into_iter()
                .filter(|d| {
                    matches!(
                        d.status,
                        orch_quality::CheckStatus::Failed | orch_quality::CheckStatus::Error { .. }
                    )
                })
                .collect(),
            skipped: report.skipped,
        })
    })
}

/// `orch task show ID --instructions`: the instruction file the next attempt gets.
pub fn instructions(repo: &RepoPaths, id: &str) -> CliResult {
    let store = open_store(repo)?;
    let record = store.task(&parse_id(id)?)?;
    let plan = store.plan()?.ok_or_else(|| {
        CliError::new(
            orch_core::exit_code::NOT_FOUND,
            "no plan is stored; run `orch plan PRD.md` first",
        )
    })?;
    let mut options = orch_engine::EngineOptions::from_config(&repo.root, repo.config()?)?;
    let stored = repo.orch_dir().join(crate::cmd::prd::STORED_PRD);
    options.prd = std::fs::read(&stored)
        .ok()
        .and_then(|bytes| orch_ai::Prd::from_bytes(&bytes).ok());
    options.repo_map = Some(repo.map());
    let attempt = store.attempts(Some(&record.task.id))?.len() as u32 + 1;
    let task = plan
        .task(&record.task.id)
        .cloned()
        .unwrap_or_else(|| record.task.clone());
    print!(
        "{}",
        orch_engine::task_instructions(&plan, &task, &store, &options, attempt, None)
    );
    Ok(())
}

pub fn show(repo: &RepoPaths, id: &str, json: bool) -> CliResult {
    let store = open_store(repo)?;
    let record = store.task(&parse_id(id)?)?;
    let attempts = store.attempts(Some(&record.task.id))?;
    let gate = last_gate(&attempts);
    if json {
        return print_json(&TaskView {
            record: &record,
            attempts: attempts
                .iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    agent: &a.agent,
                    result: a.result.as_deref(),
                    summary: a.summary.as_deref(),
                    quality: a.quality,
                    cost_usd: a.cost_usd,
                    changed_files: &a.changed_files,
                })
                .collect(),
            last_gate: gate,
        });
    }
    let t = &record.task;
    println!("{}  {}", t.id, t.title);
    println!("  status      {}", t.status);
    println!("  epic        {}", t.epic);
    println!("  wave        {}", record.wave);
    println!("  category    {}", t.category);
    println!("  priority    {}", t.priority);
    println!("  estimate    {}", minutes(u64::from(t.estimate_minutes)));
    println!("  attempts    {}", t.attempts);
    let list = |ids: &[TaskId]| {
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.iter()
                .map(TaskId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    println!("  depends on  {}", list(&t.depends_on));
    if !t.conflicts_with.is_empty() {
        println!("  conflicts   {}", list(&t.conflicts_with));
    }
    if !t.files.is_empty() {
        println!("  files       {}", t.files.join(", "));
    }
    if !t.description.is_empty() {
        println!("\n{}", t.description.trim_end());
    }
    if !t.acceptance.is_empty() {
        println!("\nAcceptance criteria:");
        for criterion in &t.acceptance {
            println!("  - {criterion}");
        }
    }
    if !attempts.is_empty() {
        println!("\nAttempts:");
        for a in &attempts {
            println!(
                "  {:>2}  {:<8} {:<22} {:>5}  {}",
                a.attempt,
                a.agent,
                a.result.as_deref().unwrap_or("running"),
                a.quality.map_or_else(|| "-".into(), |q| format!("{q:.2}")),
                truncate(&sanitize(a.summary.as_deref().unwrap_or("")), 80)
            );
        }
    }
    if let Some(gate) = &gate {
        print_gate(gate);
    }
    Ok(())
}

pub(crate) fn print_gate(gate: &GateView) {
    println!(
        "\nLast quality gate (attempt {}): {:.2}, threshold {:.2}: {}",
        gate.attempt,
        gate.score,
        gate.threshold,
        if gate.passed { "passed" } else { "FAILED" }
    );
    for failure in &gate.gate_failures {
        println!("  gate: {}", sanitize(failure));
    }
    for d in &gate.failed {
        let status = match &d.status {
            orch_quality::CheckStatus::Error { reason } => format!("error: {}", sanitize(reason)),
            other => other.word().to_owned(),
        };
        println!("  {:<13} {:.2}  {status}", d.dimension.name(), d.score);
        const SHOWN: usize = 15;
        for f in d.findings.iter().take(SHOWN) {
            println!(
                "      {}  {}  {}",
                f.location(),
                f.severity.word(),
                truncate(&sanitize(&f.message), 120)
            );
        }
        if d.findings.len() > SHOWN {
            println!("      … {} more (see --json)", d.findings.len() - SHOWN);
        }
    }
    for (dimension, reason) in &gate.skipped {
        println!("  {:<13} skipped: {}", dimension.name(), sanitize(reason));
    }
}

pub fn set_status(repo: &RepoPaths, id: &str, status: &str, reason: &str) -> CliResult {
    let id = parse_id(id)?;
    let to: TaskStatus = status.parse().map_err(|e: orch_core::UnknownStatus| {
        CliError::new(exit_code::INVALID_INPUT, e.to_string())
    })?;
    let mut store = open_store(repo)?;
    let from = store.task(&id)?.task.status;
    store.transition(&id, to, Some(reason))?;
    println!("{id}: {from} → {to}");
    let moved = store.refresh_readiness()?;
    if moved > 0 {
        println!("{moved} other task(s) changed status as a consequence; see `orch status`.");
    }
    Ok(())
}
