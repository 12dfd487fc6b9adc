//! The values that cross the [`crate::SessionBackend`] seam: what to run ([`SpawnSpec`],
//! [`CommandSpec`]), the handle of a running session ([`SessionHandle`]) and its state
//! ([`SessionStatus`], [`ExitStatus`]).

use std::fmt;
use std::path::PathBuf;

use orch_core::TaskId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a session's standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stdin {
    /// `/dev/null`: the agent must never wait for a human on standard input.
    #[default]
    Null,
    /// A file, for example the instruction file as Claude Code's prompt.
    File(PathBuf),
}

/// A program to run: argv (no shell involved), extra environment and standard input.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommandSpec {
    /// Program and arguments; `argv[0]` is looked up on `PATH`.
    pub argv: Vec<String>,
    /// Extra environment variables (names must be `[A-Za-z_][A-Za-z0-9_]*`).
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// Standard input.
    #[serde(default)]
    pub stdin: Stdin,
}

impl CommandSpec {
    /// A command with these arguments, no extra environment and standard input from
    /// `/dev/null`.
    pub fn new<I, S>(argv: I) -> CommandSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            stdin: Stdin::Null,
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> CommandSpec {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets standard input.
    pub fn stdin(mut self, stdin: Stdin) -> CommandSpec {
        self.stdin = stdin;
        self
    }
}

/// Everything a backend needs to start one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpawnSpec {
    /// The session's id (also used as Claude Code's `--session-id` on a first attempt).
    pub id: Uuid,
    /// The task the session works on; with the id it names the session.
    pub task: TaskId,
    /// Working directory (the task's worktree).
    pub cwd: PathBuf,
    /// What to run.
    pub command: CommandSpec,
    /// The attempt's log file; all output (stdout and stderr) is appended to it.
    pub log_path: PathBuf,
    /// Most bytes of output the log keeps; the rest is counted and dropped, with a line
    /// saying so at the end of the log. `None`: no limit.
    #[serde(default)]
    pub log_limit: Option<u64>,
}

impl SpawnSpec {
    /// A spec with a fresh random id.
    pub fn new(
        task: TaskId,
        cwd: impl Into<PathBuf>,
        command: CommandSpec,
        log_path: impl Into<PathBuf>,
    ) -> SpawnSpec {
        SpawnSpec {
            id: Uuid::new_v4(),
            task,
            cwd: cwd.into(),
            command,
            log_path: log_path.into(),
            log_limit: None,
        }
    }

    /// The session name: the task id and the first 8 hex digits of the id
    /// (`TASK-BA-001-1a2b3c4d`). Only safe characters: it is a tmux target and a file name.
    pub fn session_name(&self) -> String {
        session_name(&self.task, self.id)
    }
}

pub(crate) fn session_name(task: &TaskId, id: Uuid) -> String {
    let simple = id.simple().to_string();
    format!("{task}-{}", &simple[..8])
}

/// Which backend runs a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackendKind {
    /// A tmux session on orch's own tmux server.
    Tmux,
    /// A plain child process in its own process group.
    Process,
}

impl BackendKind {
    /// `tmux` or `process`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Tmux => "tmux",
            BackendKind::Process => "process",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A started session. Plain data: dropping it stops nothing, and a handle read back with
/// [`crate::SessionBackend::list`] after a restart works like the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHandle {
    /// The session id.
    pub id: Uuid,
    /// The session name (`<task>-<8 hex digits>`), the tmux session name.
    pub name: String,
    /// The task.
    pub task: TaskId,
    /// The backend running it.
    pub backend: BackendKind,
    /// Process id of the session's wrapper shell, which leads the session's process group.
    pub pid: Option<u32>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The attempt's log file.
    pub log_path: PathBuf,
    /// The program run (`argv[0]`), for display.
    pub program: String,
    /// Start time, milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// The tmux socket name (`tmux -L <socket>`), for the tmux backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmux_socket: Option<String>,
    /// Start time of the wrapper process in clock ticks since boot (Linux), to tell a live
    /// session from an unrelated process that reused its pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start_ticks: Option<u64>,
}

/// How a session's program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl ExitStatus {
    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }

    /// The exit code, if it exited normally.
    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Code(c) => Some(c),
            ExitStatus::Signal(_) => None,
        }
    }

    /// Reads a shell's `$?`: 129 to 192 are deaths by signal 1 to 64, by shell convention.
    pub fn from_shell_status(status: i32) -> ExitStatus {
        if (129..=192).contains(&status) {
            ExitStatus::Signal(status - 128)
        } else {
            ExitStatus::Code(status)
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// The state of a session as its backend sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionStatus {
    /// Still running.
    Running,
    /// The program ended; its status was recorded by the wrapper.
    Exited {
        /// How it ended.
        exit: ExitStatus,
    },
    /// Stopped with [`crate::SessionBackend::kill`] (by this process or another, such as
    /// `orch session kill`), and no longer running.
    Killed,
    /// Neither running nor recorded: killed from outside with its wrapper (SIGKILL), or its
    /// tmux server died.
    Gone,
}

impl SessionStatus {
    /// Whether the session still runs.
    pub fn is_running(self) -> bool {
        self == SessionStatus::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_task_and_short_uuid() {
        let task = TaskId::new("TASK-BA-001").unwrap();
        let id = Uuid::parse_str("1a2b3c4d-0000-4000-8000-000000000000").unwrap();
        assert_eq!(session_name(&task, id), "TASK-BA-001-1a2b3c4d");
    }

    #[test]
    fn shell_statuses() {
        assert_eq!(ExitStatus::from_shell_status(0), ExitStatus::Code(0));
        assert_eq!(ExitStatus::from_shell_status(3), ExitStatus::Code(3));
        assert_eq!(ExitStatus::from_shell_status(130), ExitStatus::Signal(2));
        assert_eq!(ExitStatus::from_shell_status(137), ExitStatus::Signal(9));
        assert!(ExitStatus::Code(0).success());
        assert!(!ExitStatus::Signal(2).success());
    }

    #[test]
    fn status_json() {
        let s = SessionStatus::Exited {
            exit: ExitStatus::Code(1),
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"state":"exited","exit":{"code":1}}"#
        );
        assert_eq!(
            serde_json::to_string(&SessionStatus::Running).unwrap(),
            r#"{"state":"running"}"#
        );
    }
}
