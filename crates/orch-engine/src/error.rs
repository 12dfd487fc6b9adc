//! Why a run could not start or had to stop (a failing task is not an error: it is retried,
//! escalated, and reported).

use std::path::PathBuf;

/// An engine error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The state database failed (including "another runner holds the lease").
    #[error(transparent)]
    Store(#[from] orch_store::StoreError),
    /// Git worktrees or branches failed in a way the run cannot work around.
    #[error(transparent)]
    Worktree(#[from] orch_worktree::WorktreeError),
    /// A merge failed in a way the run cannot work around.
    #[error(transparent)]
    Merge(#[from] orch_worktree::MergeError),
    /// The session layer failed (backend unusable, agent command invalid).
    #[error(transparent)]
    Session(#[from] orch_session::SessionError),
    /// The configured agent cannot be used.
    #[error(transparent)]
    Agent(#[from] orch_session::AgentError),
    /// The `[escalation]` section is invalid.
    #[error("invalid [escalation] configuration: {0}")]
    Escalation(#[from] orch_escalation::PolicyError),
    /// The escalation lifecycle refused a step (a corrupt message in the store).
    #[error(transparent)]
    Lifecycle(#[from] orch_escalation::LifecycleError),
    /// A setting is unusable.
    #[error("invalid setting `{key}`: {problem}")]
    Config {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// There is no plan to run.
    #[error("no plan: run `orch plan PRD.md` (or `orch plan import FILE`) first")]
    NoPlan,
    /// A file could not be written or read.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The plan in the store does not validate.
    #[error(transparent)]
    Plan(#[from] orch_core::PlanError),
    /// Another runner took the lease (this one was stalled past the staleness limit): this
    /// run stopped at once and left every session to it.
    #[error(
        "another runner took over this repository's lease; this run stopped and left its sessions to it"
    )]
    LeaseLost,
    /// The repository or the machine is not ready to run, found before any task started.
    #[error("{problem}")]
    Preflight {
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

impl EngineError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> EngineError {
        let path = path.into();
        move |source| EngineError::Io {
            action,
            path,
            source,
        }
    }
}
