//! `orch status`

use orch_core::{EpicId, TaskStatus, exit_code};
use orch_store::{Summary, TaskFilter, TaskRecord};
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::cmd::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{Table, print_json, truncate};
use crate::repo::RepoPaths;

#[derive(Serialize)]
struct StatusView<'a> {
    plan: String,
    summary: &'a Summary,
    /// What the plan's agents spent against the run limit.
    spend: orch_core::Spend,
    tasks: &'a [TaskRecord],
}

/// The run limit in force: `[budget] run_usd`, or what a human raised it to.
fn run_limit(repo: &RepoPaths, store: &orch_store::Store) -> Option<f64> {
    let configured = repo.config().ok().and_then(|c| c.budget.run_usd);
    store.run_budget(configured).ok().flatten()
}

pub fn run(repo: &RepoPaths, args: &StatusArgs) -> CliResult {
    let store = open_store(repo)?;
    let info = store.plan_info()?.ok_or(orch_store::StoreError::NoPlan)?;
    let filter = filter_from(args)?;
    let summary = store.summary()?;
    let tasks = store.tasks(&filter)?;
    let spend = orch_core::Spend {
        spent_usd: summary.spent_usd,
        limit_usd: run_limit(repo, &store),
    };
    if args.json {
        return print_json(&StatusView {
            plan: info.name.clone(),
            summary: &summary,
            spend,
            tasks: &tasks,
        });
    }
    if !args.watch {
        print!(
            "{}",
            crate::output::sanitize(&render(&info.name, &summary, &tasks))
        );
        if spend.spent_usd > 0.0 || spend.limit_usd.is_some() {
            println!(
                "\nSpent by agents: {}{}",
                spend.describe(),
                if spend.exhausted() {
                    " (limit reached: no new attempts start)"
                } else {
                    ""
                }
            );
        }
        return Ok(());
    }
    watch(&store, &info.name, &filter, args.interval)
}

/// Redraws the status each time the event log grows. Reads only; the runner writes.
fn watch(
    store: &orch_store::Store,
    plan: &str,
    filter: &TaskFilter,
    interval_ms: u64,
) -> CliResult {
    use std::io::{IsTerminal as _, Write as _};
    let terminal = std::io::stdout().is_terminal();
    let interval = std::time::Duration::from_millis(interval_ms.clamp(50, 60_000));
    let mut shown_seq = None;
    loop {
        let seq = store.last_event_seq()?;
        if shown_seq != Some(seq) {
            let text = render(plan, &store.summary()?, &store.tasks(filter)?);
            let mut out = std::io::stdout().lock();
            if terminal {
                // Clear the screen and go home, so the table stays in place.
                let _ = write!(out, "\x1b[2J\x1b[H");
            } else if shown_seq.is_some() {
                let _ = writeln!(out, "---");
            }
            let _ = write!(out, "{}", crate::output::sanitize(&text));
            let _ = writeln!(out, "(event {seq}; watching, Ctrl-C to stop)");
            let _ = out.flush();
            shown_seq = Some(seq);
        }
        std::thread::sleep(interval);
    }
}

fn filter_from(args: &StatusArgs) -> CliResult<TaskFilter> {
    let mut filter = TaskFilter::default();
    if let Some(epic) = &args.epic {
        filter.epic = Some(
            EpicId::new(epic.as_str())
                .map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))?,
        );
    }
    if !args.statuses.is_empty() {
        let parsed: Result<Vec<TaskStatus>, _> = args
            .statuses
            .iter()
            .map(|s| s.parse::<TaskStatus>())
            .collect();
        filter.statuses =
            Some(parsed.map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))?);
    }
    Ok(filter)
}

fn count(summary: &Summary, status: TaskStatus) -> usize {
    summary.by_status.get(&status).copied().unwrap_or(0)
}

/// The article's dashboard as text: current wave, completed / active / ready / pending,
/// then one row per task.
pub fn render(plan: &str, summary: &Summary, tasks: &[TaskRecord]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Plan: {plan} ({} epics, {} tasks, {} waves)\n",
        summary.epics, summary.total, summary.wave_count
    ));
    match summary.current_wave {
        Some(wave) => out.push_str(&format!("Current wave: {wave} of {}\n", summary.wave_count)),
        None => out.push_str("Current wave: none (every task has finished)\n"),
    }
    let active = count(summary, TaskStatus::Running)
        + count(summary, TaskStatus::Verifying)
        + count(summary, TaskStatus::Merging);
    let mut parts = vec![
        format!(
            "Completed {}/{}",
            count(summary, TaskStatus::Completed),
            summary.total
        ),
        format!("Active {active}"),
        format!("Ready {}", count(summary, TaskStatus::Ready)),
        format!("Pending {}", count(summary, TaskStatus::Pending)),
    ];
    for status in [
        TaskStatus::AwaitingReview,
        TaskStatus::Failed,
        TaskStatus::Escalated,
        TaskStatus::Blocked,
        TaskStatus::Skipped,
        TaskStatus::Cancelled,
    ] {
        let n = count(summary, status);
        if n > 0 {
            let name = status.as_str().replace('_', " ");
            let mut label = name[..1].to_ascii_uppercase();
            label.push_str(&name[1..]);
            parts.push(format!("{label} {n}"));
        }
    }
    out.push_str(&parts.join("   "));
    out.push_str("\n\n");

    let mut table = Table::new(["TASK", "STATUS", "WAVE", "EPIC", "TRIES", "TITLE"]);
    for record in tasks {
        let task = &record.task;
        table.row(vec![
            task.id.to_string(),
            task.status.to_string(),
            record.wave.to_string(),
            task.epic.to_string(),
            task.attempts.to_string(),
            truncate(&task.title, 60),
        ]);
    }
    if tasks.is_empty() {
        out.push_str("(no task matches)\n");
    } else {
        out.push_str(&table.render());
    }
    out
}
