//! The state of an orch repository in SQLite (`.orch/state.db`): the single source of truth.
//!
//! [`Store`] holds the imported [`Plan`], every task's status and attempts, an append-only
//! log of [`Event`]s with monotonic sequence numbers, and the single-runner [`Lease`].
//! Status changes go through the core state machine ([`orch_core::transition`]) inside a
//! transaction together with their event, so the log and the state never disagree. The database runs in WAL mode: readers in other processes
//! (`orch status`, the dashboard) work while a runner writes.
//!
//!
//! The orch-core types of its API ([`Plan`], [`Task`], [`TaskId`], [`TaskStatus`],
//! [`Event`], …) are re-exported, so a program using this crate alone needs no other orch
//! crate; SQLite's errors come back as this crate's [`SqliteError`]. Timestamps are the
//! `time` crate's `OffsetDateTime`, the calendar type of its ecosystem.
//!
//! # Example
//!
//! ```
//! use orch_store::{Plan, PlanFormat, Store, TaskFilter, TaskId, TaskStatus};
//!
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::open(&dir.path().join("state.db"))?;
//! let plan = Plan::parse(r#"
//!     name = "demo"
//!     [[epic]]
//!     id = "E"
//!     name = "Epic"
//!     [[task]]
//!     id = "TASK-E-001"
//!     title = "First"
//!     epic = "E"
//! "#, PlanFormat::Toml)?;
//! store.import_plan(&plan, false)?;
//!
//! let id = TaskId::new("TASK-E-001")?;
//! store.transition(&id, TaskStatus::Ready, Some("dependencies completed"))?;
//! assert_eq!(store.task(&id)?.task.status, TaskStatus::Ready);
//! // Illegal moves are refused and change nothing.
//! assert!(store.transition(&id, TaskStatus::Completed, None).is_err());
//! assert_eq!(store.events_since(0, 100)?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod attempts;
mod control;
mod error;
mod events;
mod lease;
mod messages;
mod migrate;
mod reviews;
mod store;

pub use orch_core::{
    Clock, DepGraph, Epic, EpicId, Event, IllegalTransition, Plan, PlanError, PlanFormat,
    SystemClock, Task, TaskId, TaskStatus,
};

pub use attempts::{AttemptEnd, AttemptRecord};
pub use control::{ControlAction, RunControl};
pub use error::{SqliteError, StoreError};
pub use events::StoredEvent;
pub use lease::{Lease, LeaseInfo, host_name};
pub use messages::StoredMessage;
pub use migrate::SCHEMA_VERSION;
pub use reviews::{Review, ReviewVerdict};
pub use store::{ImportOutcome, PlanInfo, Store, Summary, TaskFilter, TaskRecord};
