//! `orch task show` and `orch task set-status`

use orch_core::{TaskId, TaskStatus, exit_code};

use crate::cmd::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{minutes, print_json};
use crate::repo::RepoPaths;

fn parse_id(id: &str) -> CliResult<TaskId> {
    TaskId::new(id).map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))
}

pub fn show(repo: &RepoPaths, id: &str, json: bool) -> CliResult {
    let store = open_store(repo)?;
    let record = store.task(&parse_id(id)?)?;
    if json {
        return print_json(&record);
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
    Ok(())
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
