//! One module per command.

pub mod doctor;
pub mod graph;
pub mod init;
pub mod msg;
pub mod plan;
pub mod prd;
pub mod quality;
pub mod session;
pub mod status;
pub mod task;
pub mod worktree;

use orch_core::{DepGraph, Plan, TaskStatus, newly_blocked, newly_ready};
use orch_store::{Store, StoreError};

use crate::error::CliResult;
use crate::repo::RepoPaths;

/// Opens the existing store of an initialised repository.
pub fn open_store(repo: &RepoPaths) -> CliResult<Store> {
    repo.require_initialized()?;
    Ok(Store::open_existing(&repo.state_db())?)
}

/// The stored plan and its graph; an error with a hint when there is none.
pub fn load_plan(store: &Store) -> CliResult<(Plan, DepGraph)> {
    let plan = store.plan()?.ok_or(StoreError::NoPlan)?;
    let graph = plan.validate()?;
    Ok((plan, graph))
}

/// Moves `Pending` tasks whose dependencies are all completed to `Ready`, and those with a
/// dependency that can never complete to `Blocked`. Returns how many moved.
pub fn refresh_readiness(store: &mut Store) -> CliResult<usize> {
    let (plan, graph) = load_plan(store)?;
    let statuses: Vec<TaskStatus> = plan.tasks.iter().map(|t| t.status).collect();
    let mut moved = 0;
    for i in newly_ready(&graph, &statuses) {
        store.transition(
            graph.id(i),
            TaskStatus::Ready,
            Some("dependencies completed"),
        )?;
        moved += 1;
    }
    for i in newly_blocked(&graph, &statuses) {
        store.transition(
            graph.id(i),
            TaskStatus::Blocked,
            Some("a dependency was skipped or cancelled"),
        )?;
        moved += 1;
    }
    Ok(moved)
}
