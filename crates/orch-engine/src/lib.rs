//! The orch conductor: runs a stored plan's tasks through every layer and verifies each
//! result itself. Main type: [`Conductor`].
//!
//! For every task whose dependencies are completed, at most [`EngineOptions::parallel`] at
//! once (longest remaining critical path first, conflicting file scopes never together):
//!
//! 1. a git worktree and branch `orch/task/<TASK>` from the tip of the epic branch
//!    `orch/epic/<EPIC>` (`orch-worktree`, with orch's [`worktree_naming`]);
//! 2. an instruction file with the task, what its dependencies delivered, the quality bar
//!    and, on a retry, the previous attempt's failure as feedback (`orch-ai`);
//! 3. an agent session, supervised with a wall-clock and an idle limit (`orch-session`);
//! 4. verification by the orchestrator, not the agent's word: whatever the agent left is
//!    committed; no change means failure ("claimed done but changed nothing"); files
//!    outside the task's scope are reported; the quality gate (eight dimensions and the
//!    project's custom ones) runs in the worktree (`orch-quality`);
//! 5. the merge queue: one merge at a time into the epic branch, conflicts predicted first;
//!    on a conflict the task branch is rebased onto the new tip and verified once more;
//! 6. failures are retried with feedback (resuming the agent's own session where it can),
//!    then escalated to a human as a PM message with options (`orch-escalation`); answers
//!    given with `orch msg answer` are picked up while the run goes on;
//! 7. a finished epic's branch is merged into the base branch, left, or proposed as a pull
//!    request.
//!
//! Every status change goes through the store's state machine with its event, so `orch
//! status` and the dashboard follow the run from other processes. A run killed at any
//! moment is recovered by the next one: live sessions are adopted, vanished ones count as a
//! crashed attempt, and interrupted verifications and merges are finished. A
//! [`StopHandle`] stops a run gracefully (running sessions may finish within a grace
//! period) or at once.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//! use orch_core::Config;
//! use orch_engine::{Conductor, EngineOptions, RunOutcome};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let repo = Path::new("/path/to/repo"); // `orch init` and `orch plan PRD.md` done
//! let config = Config::load(&repo.join(".orch/orch.toml"))?;
//! let mut options = EngineOptions::from_config(repo, config)?;
//! options.parallel = 4;
//! let conductor = Conductor::open(options)?;
//! let stop = conductor.stop_handle(); // call stop.escalate() on Ctrl-C
//! let report = conductor.run().await?;
//! println!("{:?}: {}/{} tasks in {:?}", report.outcome, report.completed(), report.tasks.len(), report.makespan);
//! assert_eq!(report.outcome, RunOutcome::Completed);
//! # drop(stop);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod advisor;
mod budget;
mod conductor;
mod decisions;
mod demo;
mod epic;
mod error;
mod instructions;
mod lease;
mod naming;
mod options;
mod preflight;
mod progress;
mod recover;
mod replay;
mod review;
mod worker;

pub use advisor::ModelAdvisor;
pub use budget::BudgetReport;
pub use conductor::Conductor;
pub use demo::{DEMO_PRD, DemoProject, answer_pending};
pub use error::EngineError;
pub use instructions::task_instructions;
pub use naming::{EPIC_BRANCH_PREFIX, TASK_BRANCH_PREFIX, open_worktree_manager, worktree_naming};
pub use options::{
    EngineOptions, EpicCompletion, StopHandle, StopLevel, agent_named, escalation_policy,
    sandbox_from_config,
};
pub use progress::{
    ActiveTask, Progress, RunEvent, RunOutcome, RunReport, RunSnapshot, Silent, TaskSummary,
};
pub use replay::{ReplayAgent, ReplayAttempt, ReplayScript, run_replay_agent};
