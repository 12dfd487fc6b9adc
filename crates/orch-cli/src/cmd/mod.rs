//! One module per command.

pub mod claude;
pub mod completions;
pub mod dashboard;
pub mod demo;
pub mod doctor;
pub mod graph;
pub mod init;
pub mod mcp;
pub mod msg;
pub mod plan;
pub mod prd;
pub mod progress;
pub mod quality;
pub mod remote;
pub mod review;
pub mod run;
pub mod session;
pub mod status;
pub mod stop;
pub mod task;
pub mod verify;
pub mod worktree;

use orch_core::{DepGraph, Plan};
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
