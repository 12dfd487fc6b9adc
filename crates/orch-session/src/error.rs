//! Error enums, one per concern: running sessions ([`SessionError`]) and building agent
//! commands ([`AgentError`]).

use std::path::PathBuf;

/// A session could not be started, inspected, stopped or found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A file or directory of the session (log, state directory, exit file) failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done (`create log file`, `read exit file`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An external program (`tmux`, the wrapper shell) could not be run.
    #[error("cannot run {program}")]
    Spawn {
        /// The program.
        program: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `tmux` ran but reported an error.
    #[error("tmux {command} failed: {stderr}")]
    Tmux {
        /// The tmux command (`new-session`, …).
        command: String,
        /// What tmux printed on stderr (trimmed).
        stderr: String,
    },
    /// An external command did not finish within its bound.
    #[error("{what} did not finish within {seconds} s")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The bound in seconds.
        seconds: u64,
    },
    /// The spawn specification cannot be turned into a safe command line.
    #[error("invalid session spec: {problem}")]
    InvalidSpec {
        /// What is wrong (an empty argv, a NUL byte, a bad environment variable name, …).
        problem: String,
    },
    /// A handle of one backend was given to another.
    #[error("session {name} belongs to the {actual} backend, not {expected}")]
    WrongBackend {
        /// The session name.
        name: String,
        /// The backend asked.
        expected: &'static str,
        /// The backend the handle belongs to.
        actual: &'static str,
    },
    /// No session matches the id, name or task given.
    #[error("no session matches `{query}`")]
    NotFound {
        /// What was looked up.
        query: String,
    },
    /// More than one session matches; the caller must be more specific.
    #[error("`{query}` matches {count} sessions; give a longer id")]
    Ambiguous {
        /// What was looked up.
        query: String,
        /// How many sessions match.
        count: usize,
    },
    /// A session's metadata file is not valid.
    #[error("session metadata {path} is not valid: {message}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The agent adapter could not build its command.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The session's supervising task stopped unexpectedly (it panicked or was cancelled).
    #[error("the supervisor of session {name} stopped unexpectedly")]
    SupervisorLost {
        /// The session name.
        name: String,
    },
}

impl SessionError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        SessionError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// An agent adapter cannot build a command for a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The instruction (prompt) file cannot be read.
    #[error("cannot read the instruction file {path}")]
    PromptFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A value of the request cannot be used by this agent.
    #[error("{agent}: {problem}")]
    Unsupported {
        /// The adapter name.
        agent: &'static str,
        /// What cannot be done.
        problem: String,
    },
    /// A custom command template is empty or uses an unknown placeholder.
    #[error("custom agent template: {problem}")]
    Template {
        /// What is wrong.
        problem: String,
    },
    /// No adapter has this name.
    #[error("unknown agent `{name}`; known: claude, codex, gemini, aider, custom")]
    UnknownAgent {
        /// The name asked for.
        name: String,
    },
}
