use std::path::PathBuf;

use orch_core::{IllegalTransition, PlanError, TaskId};

/// Everything that can go wrong with the state database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A reader asked for a database that does not exist (run `orch init`).
    #[error("no state database at {}", path.display())]
    NotInitialized {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The database file could not be opened or configured.
    #[error("cannot open the state database {}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer orch.
    #[error(
        "the state database has schema version {found}, newer than this orch supports ({supported}); upgrade orch"
    )]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A migration step failed; the database stays at the previous version.
    #[error("migrating the state database to version {version} failed")]
    Migration {
        /// The version being applied.
        version: u32,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// Any other SQLite error.
    #[error("state database error")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row could not be decoded (hand-edited or corrupt database).
    #[error("the state database holds an unreadable {what}: {message}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// The decoding error.
        message: String,
    },
    /// No plan has been imported yet.
    #[error("no plan has been imported yet")]
    NoPlan,
    /// The plan to import is invalid; nothing was written.
    #[error("the plan is invalid")]
    InvalidPlan(#[from] PlanError),
    /// A different plan is already imported.
    #[error("{}", plan_conflict_message(existing, *started, *replace_requested))]
    PlanConflict {
        /// Name of the stored plan.
        existing: String,
        /// How many of its tasks have started (left pending, ready or blocked).
        started: usize,
        /// Whether `--replace` was asked for.
        replace_requested: bool,
    },
    /// No task with this id in the stored plan.
    #[error("no task {id} in the plan")]
    UnknownTask {
        /// The id asked for.
        id: TaskId,
    },
    /// The state machine refused the change; nothing was written.
    #[error("task {task}: {source}")]
    IllegalTransition {
        /// The task.
        task: TaskId,
        /// The refused move.
        #[source]
        source: IllegalTransition,
    },
    /// No PM message with this id.
    #[error("no PM message {id}")]
    UnknownMessage {
        /// The id asked for.
        id: String,
    },
    /// The message changed between reading and writing it (the runner expired or answered
    /// it meanwhile); nothing was written.
    #[error(
        "PM message {id} changed while it was being updated (it is now {state}); look at it again"
    )]
    MessageChanged {
        /// The message.
        id: String,
        /// Its state now.
        state: String,
    },
    /// The task has no review waiting.
    #[error("{task} is not waiting for a review{}", if status.is_empty() { String::new() } else { format!(" (it is {status})") })]
    NoReview {
        /// The task.
        task: TaskId,
        /// Its status, when known.
        status: String,
    },
    /// Somebody decided the review first; nothing was written.
    #[error("the review of {task} was already decided: {verdict} by {by}")]
    ReviewDecided {
        /// The task.
        task: TaskId,
        /// `approved` or `rejected`.
        verdict: String,
        /// Who decided.
        by: String,
    },
    /// Another runner holds a fresh lease.
    #[error(
        "another runner is active: {owner} (pid {pid} on {host}), last heartbeat {heartbeat_age_secs} s ago"
    )]
    LeaseHeld {
        /// The holder.
        owner: String,
        /// Its process id.
        pid: u32,
        /// Its host name.
        host: String,
        /// Seconds since its last heartbeat.
        heartbeat_age_secs: u64,
    },
    /// This runner's lease was taken over by another after it went stale.
    #[error("the runner lease of {owner} was taken over by {taken_by}")]
    LeaseLost {
        /// The runner that thought it held the lease.
        owner: String,
        /// Who holds it now (empty when nobody does).
        taken_by: String,
    },
}

fn plan_conflict_message(existing: &str, started: usize, replace_requested: bool) -> String {
    if started > 0 {
        format!(
            "a different plan `{existing}` is already imported and {started} of its tasks have started; \
             it cannot be replaced while it runs (finish or cancel its tasks, or start over with a fresh `.orch/`)"
        )
    } else if replace_requested {
        format!(
            "a different plan `{existing}` is already imported and a runner holds the lease; stop the run before replacing it"
        )
    } else {
        format!(
            "a different plan `{existing}` is already imported; none of its tasks has started, so it can be replaced with `orch plan import --replace FILE`"
        )
    }
}
