//! Supervised agent sessions: orch's session layer.
//!
//! Agents are long-running, fallible child programs. This crate starts them, watches them,
//! reads what they say, stops them, and finds them again after the orchestrator itself died.
//!
//! - [`SessionBackend`] runs sessions: [`TmuxBackend`] (orch's own tmux server, `tmux -L
//!   orch`, so a human can attach) or [`ProcessBackend`] (a plain child in its own process
//!   group). Every session runs in a small wrapper shell that appends all output to the
//!   attempt's log and records the exit status in the sessions directory, so results survive
//!   an orchestrator crash; [`SessionBackend::list`] finds the sessions again for adoption.
//!   Kills stop the whole process group: SIGINT, SIGTERM, then SIGKILL, with a grace period.
//! - [`Agent`] adapts one coding-agent CLI: its command line, its output parser and its
//!   verdicts. [`ClaudeCode`] (stream-json), [`Codex`] (`exec --json`), [`Gemini`]
//!   (stream-json), [`Aider`] and [`CustomCommand`] (plain text; the exit code decides).
//! - [`SessionPool`] runs at most N sessions at once with a wall-clock and an idle limit and
//!   publishes [`SessionEvent`]s (started, output, idle, timed out, exited); each session
//!   ends in a [`SessionReport`] with the [`AgentOutcome`] and the attempt's cost and usage.
//! - [`Sessions`] serves `orch session list|logs|attach|kill` on a repository's `.orch/`.
//!
//! This crate never writes the store: it returns values and events.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use orch_core::TaskId;
//! use orch_session::{
//!     AgentOutcome, AgentRequest, CustomCommand, PoolConfig, ProcessBackend, SessionPool,
//! };
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let prompt = dir.path().join("TASK-A-001.md");
//! std::fs::write(&prompt, "Say hello.")?;
//!
//! let backend = Arc::new(ProcessBackend::new(dir.path().join("sessions")));
//! let config = PoolConfig { timeout: Duration::from_secs(10), ..PoolConfig::default() };
//! let pool = SessionPool::new(backend, config);
//!
//! // Any command can be an agent; this one prints its instructions.
//! let agent = Arc::new(CustomCommand::new(["cat", "{prompt_file}"])?);
//! let request = AgentRequest::new(TaskId::new("TASK-A-001")?, &prompt, dir.path());
//! let session = pool.start(agent, request, dir.path().join("logs/TASK-A-001/1.log")).await?;
//! let report = session.wait().await?;
//!
//! assert_eq!(report.outcome, AgentOutcome::Succeeded);
//! assert_eq!(std::fs::read_to_string(&report.handle.log_path)?, "Say hello.");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod agent;
mod agents;
mod backend;
mod error;
mod logs;
mod manage;
mod pool;
mod process;
mod procs;
mod registry;
mod sandbox;
mod shell;
mod spec;
mod tmux;

pub use agent::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, AgentResult, AttemptUsage, SessionEnd,
    TokenUsage, agent_by_name, summarize_usage,
};
pub use agents::{Aider, CUSTOM_PLACEHOLDERS, ClaudeCode, Codex, CustomCommand, Gemini};
pub use backend::{
    BackendChoice, BackendOptions, BoxFuture, DEFAULT_KILL_GRACE, SessionBackend, open_backend,
    tmux_available, wait_until_done,
};
pub use error::{AgentError, SessionError};
pub use logs::{attempt_log_path, latest_attempt_log};
pub use manage::{SessionInfo, Sessions};
pub use pool::{
    DEFAULT_LOG_LIMIT, MAX_KEY_EVENTS, PoolConfig, RunningSession, SessionEvent, SessionPool,
    SessionReport,
};
pub use process::ProcessBackend;
pub use sandbox::{BwrapProbe, Sandbox, SandboxMode, probe_bwrap};
pub use spec::{
    BackendKind, CommandSpec, ExitStatus, SessionHandle, SessionStatus, SpawnSpec, Stdin,
};
pub use tmux::{DEFAULT_SOCKET, TmuxBackend};
