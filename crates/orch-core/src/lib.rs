//! The core model of orch, shared by every other crate: validated ids, [`Plan`]s of
//! [`Epic`]s and [`Task`]s, the dependency graph ([`DepGraph`]) with waves, critical path
//! and conflicts, the scheduling policy ([`next_tasks`], and [`TaskBoard`] for a run loop
//! that asks after every status change), the task state machine
//! ([`transition`]), the [`Event`] log entries, the `.orch/orch.toml` [`Config`] and the
//! binary's [`exit_code`]s.
//!
//! This crate does no I/O beyond reading a configuration file: it is the vocabulary the
//! store, the layers and the engine speak.
//!
//! # Example
//!
//! ```
//! use orch_core::{next_tasks, Plan, PlanFormat, TaskStatus};
//!
//! let plan = Plan::parse(r#"
//!     name = "webapp"
//!     [[epic]]
//!     id = "DB"
//!     name = "Database"
//!     [[task]]
//!     id = "TASK-DB-001"
//!     title = "Schema"
//!     epic = "DB"
//!     [[task]]
//!     id = "TASK-DB-002"
//!     title = "Seed data"
//!     epic = "DB"
//!     depends_on = ["TASK-DB-001"]
//! "#, PlanFormat::Toml)?;
//!
//! let graph = plan.validate()?;
//! assert_eq!(graph.wave_count(), 2);
//!
//! let statuses = vec![TaskStatus::Pending; graph.len()];
//! let start = next_tasks(&graph, &statuses, 3);
//! assert_eq!(graph.id(start[0]).as_str(), "TASK-DB-001");
//! # Ok::<(), orch_core::PlanError>(())
//! ```

#![deny(missing_docs)]

mod agents;
mod board;
mod budget;
mod clock;
mod config;
mod event;
pub mod exit_code;
pub mod fault;
mod graph;
mod id;
mod plan;
mod schedule;
mod secrets;
mod status;
mod terminal;

pub use agents::{AgentTables, AgentsConfig, CLAUDE_PERMISSION_MODES, ClaudeAgentConfig};
pub use board::TaskBoard;
pub use budget::{BudgetConfig, Spend};
pub use clock::{Clock, SystemClock};
pub use config::{
    AiConfig, Config, ConfigError, CustomCheckConfig, DEFAULT_CONFIG_TOML, GATE_CACHE_KEY_FILE,
    MAX_CUSTOM_DIMENSION_LEN, QUALITY_DIMENSION_ALIASES, QUALITY_DIMENSIONS, QualityConfig,
    QualityWeights, RepoConfig, RunConfig, StoreConfig, custom_dimension_problem,
};
pub use event::Event;
pub use graph::{
    ConflictGroup, CriticalPath, DepGraph, PlanError, ScopeOverlap, overlapping_scopes,
    scope_groups, scopes_overlap,
};
pub use id::{EpicId, IdError, MAX_ID_LEN, TaskId, slugify, validate_name};
pub use plan::{
    Category, Epic, PLAN_FORMAT_VERSION, Plan, PlanFormat, Priority, ReviewMode, TEST_ALLOWANCES,
    Task,
};
pub use schedule::{
    dependencies_met, newly_blocked, newly_ready, next_tasks, priority_key, readiness_move,
};
pub use secrets::{SECRET_PATTERNS, is_secret_name};
pub use status::{IllegalTransition, TaskStatus, UnknownStatus, transition};
pub use terminal::{sanitize_line, sanitize_terminal};
