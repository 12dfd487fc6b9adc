use std::fmt;
use std::path::PathBuf;

use orch_core::{IllegalTransition, PlanError, TaskId};

/// What SQLite (through rusqlite) said: its message and, for errors of SQLite itself, its
/// extended result code. This crate's own type, so a new rusqlite release never changes
/// this crate's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteError {
    message: String,
    code: Option<i32>,
}

impl SqliteError {
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// SQLite's extended result code (`SQLITE_BUSY` is 5, `SQLITE_CONSTRAINT_UNIQUE` 2067,
    /// …) when SQLite itself failed; `None` for errors of the binding (a type mismatch, no
    /// row).
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// Whether another connection held the database locked for longer than the busy
    /// timeout (`SQLITE_BUSY` or `SQLITE_LOCKED`).
    pub fn is_busy(&self) -> bool {
        self.code.is_some_and(|c| matches!(c & 0xff, 5 | 6))
    }
}

impl From<rusqlite::Error> for SqliteError {
    fn from(e: rusqlite::Error) -> SqliteError {
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.extended_code),
            _ => None,
        };
        SqliteError {
            message: e.to_string(),
            code,
        }
    }
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqliteError {}

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
        source: SqliteError,
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
        source: SqliteError,
    },
    /// Any other SQLite error.
    #[error("state database error")]
    Sqlite(#[source] SqliteError),
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

// `?` on rusqlite's results inside this crate. Hidden: rusqlite's types are not part of
// this crate's API (see `SqliteError`).
#[doc(hidden)]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(e.into())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_errors_keep_message_and_code() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let e = SqliteError::from(busy);
        assert_eq!(e.message(), "database is locked");
        assert_eq!(e.code(), Some(5));
        assert!(e.is_busy());
        let e = SqliteError::from(rusqlite::Error::QueryReturnedNoRows);
        assert_eq!(e.code(), None);
        assert!(!e.is_busy());
        let wrapped = StoreError::from(rusqlite::Error::QueryReturnedNoRows);
        assert!(matches!(wrapped, StoreError::Sqlite(_)));
        assert_eq!(
            std::error::Error::source(&wrapped).map(|s| s.to_string()),
            Some(e.to_string())
        );
    }
}
