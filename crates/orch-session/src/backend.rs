//! The [`SessionBackend`] seam and how a backend is chosen.

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SessionError;
use crate::process::ProcessBackend;
use crate::spec::{BackendKind, SessionHandle, SessionStatus, SpawnSpec};
use crate::tmux::TmuxBackend;

/// A boxed future, so [`SessionBackend`] can be used as `dyn SessionBackend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Default grace period between the signals of [`SessionBackend::kill`].
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

/// Runs agent sessions: a tmux server or plain processes.
///
/// Every session runs inside a wrapper shell that leads its own process group, appends all
/// output to the attempt's log and records the exit status in the backend's sessions
/// directory, so status survives the orchestrator. Handles are plain data; a backend opened
/// on the same sessions directory after a restart finds them again with [`list`].
///
/// [`list`]: SessionBackend::list
pub trait SessionBackend: Send + Sync + Debug {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// Starts a session. Fails if the working directory does not exist or the command
    /// cannot be quoted safely.
    fn spawn<'a>(
        &'a self,
        spec: &'a SpawnSpec,
    ) -> BoxFuture<'a, Result<SessionHandle, SessionError>>;

    /// Whether the session runs, ended (with its recorded exit status) or is gone.
    fn status<'a>(
        &'a self,
        handle: &'a SessionHandle,
    ) -> BoxFuture<'a, Result<SessionStatus, SessionError>>;

    /// Stops the session's whole process group: SIGINT, then SIGTERM, then SIGKILL, with the
    /// backend's grace period after each of the first two. A session that already ended is
    /// not an error.
    fn kill<'a>(&'a self, handle: &'a SessionHandle) -> BoxFuture<'a, Result<(), SessionError>>;

    /// Sessions of this repository (this sessions directory) that were not cleaned up: the
    /// running ones and those that ended while nobody watched (their status is still on
    /// disk). Oldest first.
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionHandle>, SessionError>>;

    /// The command a human runs to watch the session live (`tmux -L orch attach-session -t
    /// =NAME`), if the backend has one.
    fn attach_command(&self, handle: &SessionHandle) -> Option<Vec<String>>;

    /// Forgets a session: stops it if it still runs, stops anything left in its process
    /// group, and deletes its files in the sessions directory (never its log).
    fn cleanup<'a>(&'a self, handle: &'a SessionHandle) -> BoxFuture<'a, Result<(), SessionError>>;

    /// Lets go of every session this backend started without stopping any: another
    /// orchestrator took them over (it found them with [`SessionBackend::list`]). After
    /// this, dropping the backend stops nothing. Default: nothing to let go of.
    fn detach_all(&self) {}
}

/// Which backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackendChoice {
    /// tmux when it is installed, otherwise plain processes.
    #[default]
    Auto,
    /// Always tmux.
    Tmux,
    /// Always plain processes.
    Process,
}

/// Where and how a backend keeps its sessions.
#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// The sessions directory (by convention `.orch/sessions`).
    pub state_dir: PathBuf,
    /// The tmux server socket name (`tmux -L <name>`), default `orch`.
    pub tmux_socket: String,
    /// Grace period between the signals of a kill, default 5 s.
    pub kill_grace: Duration,
}

impl BackendOptions {
    /// Defaults for this sessions directory.
    pub fn new(state_dir: impl Into<PathBuf>) -> BackendOptions {
        BackendOptions {
            state_dir: state_dir.into(),
            tmux_socket: crate::tmux::DEFAULT_SOCKET.to_owned(),
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }
}

/// Opens the backend `choice` names; `Auto` picks tmux when [`tmux_available`].
pub fn open_backend(
    choice: BackendChoice,
    options: &BackendOptions,
) -> Result<Arc<dyn SessionBackend>, SessionError> {
    let tmux = match choice {
        BackendChoice::Tmux => true,
        BackendChoice::Process => false,
        BackendChoice::Auto => tmux_available(),
    };
    Ok(if tmux {
        Arc::new(
            TmuxBackend::new(&options.state_dir)
                .with_socket(&options.tmux_socket)?
                .with_kill_grace(options.kill_grace),
        )
    } else {
        Arc::new(ProcessBackend::new(&options.state_dir).with_kill_grace(options.kill_grace))
    })
}

/// Whether a working `tmux` is on `PATH`.
pub fn tmux_available() -> bool {
    std::process::Command::new("tmux")
        .arg("-V")
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Polls `status` until the session is no longer running or `bound` has passed; returns the
/// last status seen. Polls fast at first (1 ms), backing off to 50 ms.
pub async fn wait_until_done(
    backend: &dyn SessionBackend,
    handle: &SessionHandle,
    bound: Duration,
) -> Result<SessionStatus, SessionError> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut step = Duration::from_millis(1);
    loop {
        let status = backend.status(handle).await?;
        if !status.is_running() || tokio::time::Instant::now() >= deadline {
            return Ok(status);
        }
        tokio::time::sleep(step).await;
        step = (step * 2).min(Duration::from_millis(50));
    }
}
