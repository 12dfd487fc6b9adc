//! `orch worktree list|create|remove|prune|conflicts`

use orch_core::{TaskId, exit_code};
use orch_store::Store;
use orch_worktree::{MergeError, PruneOptions, RemoveOptions, TaskBase, WorktreeError};
use serde::Serialize;

use crate::cli::WorktreeCommand;
use crate::error::{CliError, CliResult, chain};
use crate::output::{Table, print_json};
use crate::repo::RepoPaths;

impl From<WorktreeError> for CliError {
    fn from(err: WorktreeError) -> CliError {
        use WorktreeError as E;
        let code = match &err {
            E::NotARepository { .. } | E::BareRepository { .. } => exit_code::NOT_A_REPOSITORY,
            E::NotFound { .. } | E::RevisionNotFound { .. } | E::BranchNotFound { .. } => {
                exit_code::NOT_FOUND
            }
            E::InvalidRoot { .. } | E::InvalidGlob { .. } | E::OutsideRoot { .. } => {
                exit_code::INVALID_INPUT
            }
            E::BranchDiverged { .. }
            | E::BranchCheckedOut { .. }
            | E::PathOccupied { .. }
            | E::RegisteredElsewhere { .. }
            | E::BaseMismatch { .. }
            | E::Dirty { .. }
            | E::WorktreeLocked { .. }
            | E::Lock(_) => exit_code::CONFLICT,
            _ => exit_code::FAILURE,
        };
        CliError::new(code, chain(&err))
    }
}

impl From<MergeError> for CliError {
    fn from(err: MergeError) -> CliError {
        match err {
            MergeError::Worktree(inner) => inner.into(),
            other => CliError::new(exit_code::CONFLICT, chain(&other)),
        }
    }
}

/// A snake_case name of a serialisable enum value, for tables.
fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

fn short(sha: Option<&str>) -> String {
    sha.map(|s| s.chars().take(8).collect())
        .unwrap_or_else(|| "-".into())
}

/// The stored plan's tasks, when `orch init` and an import happened; worktree commands
/// also work in a repository without a plan.
fn plan(repo: &RepoPaths) -> CliResult<Option<orch_core::Plan>> {
    if !repo.state_db().is_file() {
        return Ok(None);
    }
    Ok(Store::open_existing(&repo.state_db())?.plan()?)
}

pub fn run(repo: &RepoPaths, command: &WorktreeCommand) -> CliResult {
    let config = repo.config()?;
    let manager = orch_engine::open_worktree_manager(&repo.root, &config.repo)?;
    match command {
        WorktreeCommand::List { json } => {
            let list = manager.list()?;
            if *json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!(
                    "No task worktrees under {}.",
                    manager.worktree_root().display()
                );
                return Ok(());
            }
            let mut table = Table::new([
                "TASK", "STATE", "BASE", "HEAD", "AHEAD", "BEHIND", "FILES", "+/-", "PATH",
            ]);
            for info in &list {
                let count = |n: Option<usize>| n.map_or("-".into(), |n| n.to_string());
                table.row(vec![
                    info.task.to_string(),
                    name_of(&info.state),
                    short(info.base_sha.as_deref()),
                    short(info.head_sha.as_deref()),
                    count(info.ahead),
                    count(info.behind),
                    info.changes.len().to_string(),
                    format!("+{} -{}", info.insertions, info.deletions),
                    info.path.display().to_string(),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        WorktreeCommand::Create { task, json } => {
            let id = parse_task(task)?;
            let base = match plan(repo)?
                .as_ref()
                .and_then(|p| p.task(&id))
                .map(|t| t.epic.clone())
            {
                Some(epic) => TaskBase::EpicTip(epic),
                None => TaskBase::BaseBranch,
            };
            let created = manager.create(&id, &base)?;
            if *json {
                return print_json(&created);
            }
            println!(
                "{} worktree for {} at {}",
                if created.reused {
                    "Reused the"
                } else {
                    "Created a"
                },
                created.task,
                created.path.display()
            );
            println!(
                "  branch {} from {}",
                created.branch,
                short(Some(&created.base_sha))
            );
            Ok(())
        }
        WorktreeCommand::Remove {
            task,
            force,
            delete_branch,
        } => {
            let id = parse_task(task)?;
            let removed = manager.remove(
                &id,
                &RemoveOptions::new()
                    .force(*force)
                    .delete_branch(*delete_branch),
            )?;
            println!(
                "Removed the worktree of {} ({})",
                removed.task,
                removed.path.display()
            );
            if removed.branch_deleted {
                println!("  deleted branch {}", removed.branch);
            } else {
                println!("  kept branch {}", removed.branch);
            }
            for path in &removed.discarded {
                println!("  discarded uncommitted {path}");
            }
            Ok(())
        }
        WorktreeCommand::Prune { dry_run, json } => {
            let mut options = PruneOptions::new().dry_run(*dry_run);
            if let Some(plan) = plan(repo)? {
                options = options.plan_tasks(plan.tasks.iter().map(|t| t.id.clone()));
            }
            let report = manager.prune(&options)?;
            if *json {
                return print_json(&report);
            }
            if report.entries.is_empty() {
                println!("Nothing to prune.");
            }
            for entry in &report.entries {
                println!(
                    "{:<12} {:<28} {}{}",
                    name_of(&entry.action),
                    name_of(&entry.reason),
                    entry.path.display(),
                    entry
                        .detail
                        .as_deref()
                        .map(|d| format!("  ({d})"))
                        .unwrap_or_default()
                );
            }
            if *dry_run && !report.entries.is_empty() {
                println!("(dry run: nothing was changed)");
            }
            Ok(())
        }
        WorktreeCommand::Conflicts { a, b, json } => {
            let report = manager.predict_conflicts(a, b)?;
            if *json {
                print_json(&report)?;
            } else if report.is_clean() {
                println!("{a} and {b} merge cleanly ({}).", name_of(&report.kind));
            } else {
                println!(
                    "{a} and {b} would conflict in {} path(s):",
                    report.conflicts.len()
                );
                for conflict in &report.conflicts {
                    println!("  {:<12} {}", name_of(&conflict.kind), conflict.path);
                }
            }
            if report.is_clean() {
                Ok(())
            } else {
                Err(
                    CliError::new(exit_code::CONFLICT, format!("{a} and {b} would conflict"))
                        .after_json_document(*json),
                )
            }
        }
    }
}

fn parse_task(task: &str) -> CliResult<TaskId> {
    TaskId::new(task).map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))
}
