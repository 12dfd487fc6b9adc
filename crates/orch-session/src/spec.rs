//! The values that cross the [`crate::SessionBackend`] seam: what to run ([`SpawnSpec`],
//! [`CommandSpec`]), the session's id ([`SessionId`]), the handle of a running session
//! ([`SessionHandle`]) and its state ([`SessionStatus`], [`ExitStatus`]).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use orch_core::TaskId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::SessionError;

/// A session's id: a random (version 4) UUID, written in its hyphenated form
/// (`1a2b3c4d-…`); its first 8 hex digits end the session's name.
///
/// Serialises as that string; parses from it or from the 32 hex digits without hyphens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh random id.
    pub fn random() -> SessionId {
        SessionId(Uuid::new_v4())
    }

    /// The 32 lowercase hex digits without hyphens.
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }

    /// The first 8 hex digits, as in session names.
    pub fn short(&self) -> String {
        self.simple()[..8].to_owned()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A string that is not a session id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a session id (a UUID)")]
pub struct ParseSessionIdError {
    /// The rejected text (control characters escaped).
    pub value: String,
}

impl FromStr for SessionId {
    type Err = ParseSessionIdError;

    fn from_str(s: &str) -> Result<SessionId, ParseSessionIdError> {
        Uuid::parse_str(s.trim())
            .map(SessionId)
            .map_err(|_| ParseSessionIdError {
                value: s.escape_debug().to_string(),
            })
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SessionId, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

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
    pub id: SessionId,
    /// What the session is called, before its short id (`<label>-<8 hex digits>`): ASCII
    /// letters, digits, `-` and `_`, at most 64 bytes.
    pub label: String,
    /// The task the session works on, when it belongs to one (orch's agents do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// Working directory (for an agent, the task's worktree).
    pub cwd: PathBuf,
    /// What to run.
    pub command: CommandSpec,
    /// The session's log file; all output (stdout and stderr) is appended to it.
    pub log_path: PathBuf,
    /// Most bytes of output the log keeps; the rest is counted and dropped, with a line
    /// saying so at the end of the log. `None`: no limit.
    #[serde(default)]
    pub log_limit: Option<u64>,
}

impl SpawnSpec {
    /// A spec with a fresh random id, labelled after the program (`sleep` for `["sleep",
    /// "1"]`, `session` when nothing usable is left), belonging to no task.
    pub fn new(
        cwd: impl Into<PathBuf>,
        command: CommandSpec,
        log_path: impl Into<PathBuf>,
    ) -> SpawnSpec {
        SpawnSpec {
            id: SessionId::random(),
            label: default_label(&command),
            task: None,
            cwd: cwd.into(),
            command,
            log_path: log_path.into(),
            log_limit: None,
        }
    }

    /// Belongs to `task`, and is labelled with its id.
    pub fn with_task(mut self, task: TaskId) -> SpawnSpec {
        self.label = task.to_string();
        self.task = Some(task);
        self
    }

    /// Labelled `label` (see [`SpawnSpec::label`]).
    pub fn with_label(mut self, label: impl Into<String>) -> Result<SpawnSpec, SessionError> {
        let label = label.into();
        check_label(&label)?;
        self.label = label;
        Ok(self)
    }

    /// The session name: the label and the first 8 hex digits of the id
    /// (`TASK-BA-001-1a2b3c4d`). Only safe characters: it is a tmux target and a file name.
    pub fn session_name(&self) -> String {
        session_name(&self.label, self.id)
    }

    /// Checks what a backend relies on besides the command (the wrapper checks that): a
    /// safe label.
    pub(crate) fn check(&self) -> Result<(), SessionError> {
        check_label(&self.label)
    }
}

/// A session label must be a safe name: it goes into tmux targets and file names.
pub(crate) fn check_label(label: &str) -> Result<(), SessionError> {
    orch_core::validate_name("session label", label).map_err(|e| SessionError::InvalidSpec {
        problem: e.to_string(),
    })
}

/// The program's file name reduced to the safe alphabet (`session` when nothing is left).
pub(crate) fn default_label(command: &CommandSpec) -> String {
    let program = command
        .argv
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or("");
    let mapped: String = program
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(32)
        .collect();
    let label = mapped.trim_start_matches(['-', '_']);
    if label.is_empty() {
        "session".into()
    } else {
        label.to_owned()
    }
}

pub(crate) fn session_name(label: &str, id: SessionId) -> String {
    format!("{label}-{}", id.short())
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
    pub id: SessionId,
    /// The session name (`<label>-<8 hex digits>`), the tmux session name.
    pub name: String,
    /// The task, when the session belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
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
    fn names_are_label_and_short_id() {
        let id: SessionId = "1a2b3c4d-0000-4000-8000-000000000000".parse().unwrap();
        assert_eq!(session_name("TASK-BA-001", id), "TASK-BA-001-1a2b3c4d");
        let spec = SpawnSpec::new("/tmp", CommandSpec::new(["/usr/bin/sleep", "1"]), "/tmp/l");
        assert_eq!(spec.label, "sleep");
        assert_eq!(spec.task, None);
        let spec = spec.with_task(TaskId::new("T-1").unwrap());
        assert_eq!(spec.label, "T-1");
        assert!(spec.session_name().starts_with("T-1-"));
        let odd = SpawnSpec::new("/", CommandSpec::new(["./my tool.sh"]), "/l");
        assert_eq!(odd.label, "my-tool-sh");
        assert_eq!(
            SpawnSpec::new("/", CommandSpec::new(["..."]), "/l").label,
            "session"
        );
        assert!(odd.clone().with_label("a:b").is_err());
        assert_eq!(odd.with_label("build").unwrap().label, "build");
    }

    #[test]
    fn session_ids_round_trip_as_strings() {
        let id = SessionId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<SessionId>().unwrap(), id);
        assert_eq!(id.simple().parse::<SessionId>().unwrap(), id);
        assert_eq!(id.short(), &id.simple()[..8]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
        assert!("nope".parse::<SessionId>().is_err());
        assert!(serde_json::from_str::<SessionId>("\"nope\"").is_err());
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
