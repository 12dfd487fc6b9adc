//! Supervised sessions: orch's session layer. Main type: [`SessionPool`].
//!
//! Agents and the commands they run are long-running, fallible child programs. This crate
//! starts them, watches them, reads what they say, stops them, and finds them again after
//! the orchestrator itself died.
//!
//! - [`SessionPool`] runs at most N sessions at once with a wall-clock and an idle limit and
//!   publishes [`SessionEvent`]s (started, output, idle, timed out, exited) to every
//!   [`Subscription`]; each session ends in a [`SessionReport`] with its [`AgentOutcome`]
//!   and, for agents, the attempt's cost and usage. Any command runs through it
//!   ([`SessionPool::run`] with a [`SessionRequest`]: argv, environment, stdin, working
//!   directory, log file, limits; no task or prompt file needed), and so do agents
//!   ([`SessionPool::start`], which builds the command from an [`AgentRequest`]).
//! - [`SessionBackend`] runs sessions: [`TmuxBackend`] (orch's own tmux server, `tmux -L
//!   orch`, so a human can attach) or [`ProcessBackend`] (a plain child in its own process
//!   group). Every session runs in a small wrapper shell that appends all output to the
//!   session's log and records the exit status in the sessions directory, so results
//!   survive an orchestrator crash; [`SessionBackend::list`] finds the sessions again for
//!   adoption. Kills stop the whole process group: SIGINT, SIGTERM, then SIGKILL, with a
//!   grace period.
//! - [`Agent`] adapts one coding-agent CLI: its command line, its output parser and its
//!   verdicts. [`ClaudeCode`] (stream-json), [`Codex`] (`exec --json`), [`Gemini`]
//!   (stream-json), [`Aider`] and [`CustomCommand`] (plain text; the exit code decides).
//! - [`Sessions`] serves `orch session list|logs|attach|kill` on a repository's `.orch/`.
//!
//! Sessions are identified by a [`SessionId`]; the orch-core types of the API ([`TaskId`],
//! [`RunConfig`]) are re-exported, so a program using this crate alone needs no other orch
//! crate. This crate never writes the store: it returns values and events.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use orch_session::{
//!     AgentOutcome, CommandSpec, PoolConfig, ProcessBackend, SessionEnd, SessionPool,
//!     SessionRequest,
//! };
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let backend = Arc::new(ProcessBackend::new(dir.path().join("sessions")));
//! let config = PoolConfig { timeout: Duration::from_secs(10), ..PoolConfig::default() };
//! let pool = SessionPool::new(backend, config);
//!
//! // A plain command: no task, no prompt file, no agent.
//! let hello = SessionRequest::new(
//!     CommandSpec::new(["sh", "-c", "echo hello; echo oops >&2"]),
//!     dir.path(),
//!     dir.path().join("logs/hello.log"),
//! );
//! // Another with its own, shorter limit: killed with its whole process group.
//! let slow = SessionRequest::new(
//!     CommandSpec::new(["sleep", "30"]),
//!     dir.path(),
//!     dir.path().join("logs/slow.log"),
//! )
//! .timeout(Duration::from_millis(300));
//!
//! let mut events = pool.subscribe();
//! let (hello, slow) = (pool.run(hello).await?, pool.run(slow).await?);
//! let report = hello.wait().await?;
//! assert_eq!(report.outcome, AgentOutcome::Succeeded);
//! assert_eq!(std::fs::read_to_string(&report.handle.log_path)?, "hello\noops\n");
//! assert_eq!(slow.wait().await?.end, SessionEnd::TimedOut);
//! assert!(events.recv().await.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An agent is a command too:
//!
//! ```
//! # use std::sync::Arc;
//! # use orch_session::{AgentOutcome, PoolConfig, ProcessBackend, SessionPool};
//! use orch_session::{AgentRequest, CustomCommand, TaskId};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! # let dir = tempfile::tempdir()?;
//! # let pool = SessionPool::new(
//! #     Arc::new(ProcessBackend::new(dir.path().join("sessions"))),
//! #     PoolConfig::default(),
//! # );
//! let prompt = dir.path().join("TASK-A-001.md");
//! std::fs::write(&prompt, "Say hello.")?;
//! // Any command can be an agent; this one prints its instructions.
//! let agent = Arc::new(CustomCommand::new(["cat", "{prompt_file}"])?);
//! let request = AgentRequest::new(TaskId::new("TASK-A-001")?, &prompt, dir.path());
//! let session = pool.start(agent, request, dir.path().join("logs/TASK-A-001/1.log")).await?;
//! let report = session.wait().await?;
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

pub use orch_core::{IdError, RunConfig, TaskId};

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
    SessionReport, SessionRequest, Subscription,
};
pub use process::ProcessBackend;
pub use sandbox::{BwrapProbe, Sandbox, SandboxMode, probe_bwrap};
pub use spec::{
    BackendKind, CommandSpec, ExitStatus, ParseSessionIdError, SessionHandle, SessionId,
    SessionStatus, SpawnSpec, Stdin,
};
pub use tmux::{DEFAULT_SOCKET, TmuxBackend};
