//! `orch review list|show|approve|reject`: a human looks at verified work before it is
//! merged (`[run] review = "human"`). Decisions go to the store with a compare-and-swap; the
//! running `orch run` (or the next one) carries them out: an approval merges exactly the
//! commit that was shown, a rejection retries the task with the note as feedback.

use std::io::{IsTerminal as _, Write as _};

use orch_core::{TaskId, exit_code};
use orch_store::{Review, ReviewVerdict, Store};
use orch_worktree::TreePatch;
use serde::Serialize;

use crate::cli::ReviewCommand;
use crate::cmd::open_store;
use crate::cmd::task::{GateView, last_gate, print_gate};
use crate::error::{CliError, CliResult};
use crate::output::{Table, print_json, sanitize, truncate};
use crate::repo::RepoPaths;

/// Most bytes of diff text `review show` loads.
const MAX_DIFF_BYTES: usize = 8 << 20;

pub fn run(repo: &RepoPaths, command: &ReviewCommand) -> CliResult {
    let mut store = open_store(repo)?;
    match command {
        ReviewCommand::List { all, json } => list(&store, *all, *json),
        ReviewCommand::Show { task, stat, json } => show(repo, &store, task, *stat, *json),
        ReviewCommand::Approve { task, note, json } => decide(
            &mut store,
            task,
            ReviewVerdict::Approved,
            note.as_deref(),
            *json,
        ),
        ReviewCommand::Reject { task, note, json } => {
            if note.trim().is_empty() {
                return Err(CliError::new(
                    exit_code::USAGE,
                    "--note must say what the next attempt should change",
                ));
            }
            decide(&mut store, task, ReviewVerdict::Rejected, Some(note), *json)
        }
    }
}

fn parse_task(id: &str) -> CliResult<TaskId> {
    TaskId::new(id).map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))
}

fn list(store: &Store, all: bool, json: bool) -> CliResult {
    let reviews = store.reviews(!all)?;
    if json {
        return print_json(&reviews);
    }
    if reviews.is_empty() {
        println!("No {}reviews.", if all { "" } else { "pending " });
        return Ok(());
    }
    let mut table = Table::new(["TASK", "ATTEMPT", "STATE", "COMMIT", "BY", "TITLE"]);
    for r in &reviews {
        let title = store
            .task(&r.task)
            .map(|t| t.task.title)
            .unwrap_or_default();
        table.row(vec![
            r.task.to_string(),
            r.attempt.to_string(),
            r.state.clone(),
            r.sha.chars().take(10).collect(),
            r.decided_by.clone().unwrap_or_else(|| "-".into()),
            truncate(&sanitize(&title), 48),
        ]);
    }
    println!("{}", table.render());
    if reviews.iter().any(Review::is_pending) {
        println!(
            "`orch review show TASK` shows the diff; then `orch review approve TASK` or `orch review reject TASK --note \"…\"`."
        );
    }
    Ok(())
}

/// `orch review show --json`.
#[derive(Serialize)]
struct ReviewView<'a> {
    review: &'a Review,
    title: String,
    /// The agent's own summary of its work (the `result` line of its session).
    agent_summary: Option<String>,
    gate: Option<GateView>,
    diff: &'a TreePatch,
}

fn show(repo: &RepoPaths, store: &Store, id: &str, stat_only: bool, json: bool) -> CliResult {
    let task = parse_task(id)?;
    let record = store.task(&task)?;
    let review = store.review(&task)?.ok_or_else(|| {
        CliError::new(
            exit_code::NOT_FOUND,
            format!("{task} has no review (it is {})", record.task.status),
        )
        .with_hint("`orch review list` shows the tasks waiting for a review")
    })?;
    let config = repo.config()?;
    let manager = orch_engine::open_worktree_manager(&repo.root, &config.repo)?;
    let diff = manager.patch_between(&review.base_sha, &review.sha, MAX_DIFF_BYTES)?;
    let attempts = store.attempts(Some(&task))?;
    let reviewed: Vec<_> = attempts
        .iter()
        .filter(|a| a.attempt == review.attempt)
        .cloned()
        .collect();
    let gate = last_gate(&reviewed);
    let agent_summary = reviewed
        .first()
        .and_then(|a| agent_summary(std::path::Path::new(&a.log_path)));
    if json {
        return print_json(&ReviewView {
            review: &review,
            title: record.task.title.clone(),
            agent_summary,
            gate,
            diff: &diff,
        });
    }
    println!(
        "{task}  {}\nattempt {}, commit {} (from {}), review {}{}",
        sanitize(&record.task.title),
        review.attempt,
        &review.sha.chars().take(10).collect::<String>(),
        &review.base_sha.chars().take(10).collect::<String>(),
        review.state,
        review
            .decided_by
            .as_deref()
            .map(|by| format!(" by {}", sanitize(by)))
            .unwrap_or_default()
    );
    if let Some(note) = &review.note {
        println!("note: {}", sanitize(note));
    }
    if let Some(summary) = &agent_summary {
        println!("\nThe agent's summary:\n{}", indent(&sanitize(summary)));
    }
    if let Some(gate) = &gate {
        print_gate(gate);
    }
    println!("\n{}", sanitize(&diff.stat()));
    if stat_only {
        return Ok(());
    }
    let text = sanitize_diff(&diff.text());
    page(&text);
    if diff.truncated {
        println!("(the diff was cut at {} MB)", MAX_DIFF_BYTES >> 20);
    }
    if review.is_pending() {
        println!(
            "\n`orch review approve {task}` merges commit {}; `orch review reject {task} --note \"…\"` retries it.",
            &review.sha.chars().take(10).collect::<String>()
        );
    }
    Ok(())
}

fn decide(
    store: &mut Store,
    id: &str,
    verdict: ReviewVerdict,
    note: Option<&str>,
    json: bool,
) -> CliResult {
    let task = parse_task(id)?;
    let by = std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .map_or_else(|| "cli".to_owned(), |user| format!("{user} (cli)"));
    let review = store.decide_review(&task, verdict, &by, note)?;
    if json {
        return print_json(&review);
    }
    match verdict {
        ReviewVerdict::Approved => println!(
            "{task}: approved; the running `orch run` merges commit {} (or the next one does).",
            &review.sha.chars().take(10).collect::<String>()
        ),
        ReviewVerdict::Rejected => {
            println!("{task}: rejected; it runs again with your note as feedback.")
        }
    }
    Ok(())
}

/// The `result` text of the last session log line of that type (Claude Code stream-json),
/// from the log's last 256 KB.
fn agent_summary(log: &std::path::Path) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(log).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(256 << 10)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.lines().rev().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        (value.get("type")?.as_str()? == "result")
            .then(|| value.get("result")?.as_str().map(|s| truncate(s, 4000)))
            .flatten()
    })
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// An agent wrote the diff: no terminal control sequence of it reaches the reviewer's
/// terminal (tabs and newlines stay).
fn sanitize_diff(text: &str) -> String {
    text.lines().map(|l| format!("{}\n", sanitize(l))).collect()
}

/// Through `$PAGER` (default `less -R`) on a terminal, else straight to stdout.
fn page(text: &str) {
    if std::io::stdout().is_terminal() {
        let pager = std::env::var("PAGER")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "less -R".into());
        let mut parts = pager.split_whitespace();
        if let Some(program) = parts.next()
            && let Ok(mut child) = std::process::Command::new(program)
                .args(parts)
                .stdin(std::process::Stdio::piped())
                .spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return;
        }
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
