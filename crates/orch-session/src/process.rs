//! The process backend: the wrapper shell as a plain child in its own process group, with
//! stdout and stderr appended to the log. Used when tmux is missing, or by choice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::{Child, Command};

use crate::backend::{BoxFuture, DEFAULT_KILL_GRACE, SessionBackend};
use crate::error::SessionError;
use crate::procs;
use crate::registry::{Registry, now_ms, prepare_log};
use crate::shell::{Output, wrapper_script};
use crate::spec::{BackendKind, SessionHandle, SessionStatus, SpawnSpec};

/// Sessions as child processes.
///
/// The children this backend started are killed with their whole process group when the
/// backend is dropped. Sessions of an earlier orchestrator (found with
/// [`SessionBackend::list`] after a crash) are watched through their pid, checked against
/// the pid's start time so a reused pid is never taken for the session.
#[derive(Debug)]
pub struct ProcessBackend {
    registry: Registry,
    grace: Duration,
    children: Mutex<HashMap<String, Child>>,
}

impl ProcessBackend {
    /// A backend keeping its session files in `state_dir`.
    pub fn new(state_dir: impl Into<PathBuf>) -> ProcessBackend {
        ProcessBackend {
            registry: Registry::new(state_dir),
            grace: DEFAULT_KILL_GRACE,
            children: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the grace period between the signals of a kill.
    pub fn with_kill_grace(mut self, grace: Duration) -> ProcessBackend {
        self.grace = grace;
        self
    }

    /// The sessions directory.
    pub fn state_dir(&self) -> &Path {
        self.registry.dir()
    }

    fn children(&self) -> std::sync::MutexGuard<'_, HashMap<String, Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reaps our child if it ended; `Some` with its status then. `None` when it runs or is
    /// not ours.
    fn reap(&self, name: &str) -> Option<std::process::ExitStatus> {
        let mut children = self.children();
        let child = children.get_mut(name)?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(session = name, error = %e, "cannot wait for session process");
                None
            }
        }
    }

    fn owns(&self, name: &str) -> bool {
        self.children().contains_key(name)
    }

    fn check(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        if handle.backend != BackendKind::Process {
            return Err(SessionError::WrongBackend {
                name: handle.name.clone(),
                expected: "process",
                actual: handle.backend.as_str(),
            });
        }
        Ok(())
    }

    fn running(&self, handle: &SessionHandle) -> bool {
        if self.owns(&handle.name) {
            return self.reap(&handle.name).is_none();
        }
        handle
            .pid
            .is_some_and(|pid| procs::process_alive(pid, handle.pid_start_ticks))
    }

    async fn do_spawn(&self, spec: &SpawnSpec) -> Result<SessionHandle, SessionError> {
        spec.check()?;
        if !spec.cwd.is_dir() {
            return Err(SessionError::InvalidSpec {
                problem: format!("working directory {} does not exist", spec.cwd.display()),
            });
        }
        let name = spec.session_name();
        self.registry.ensure_dir()?;
        let exit_path = self.registry.exit_path(&name);
        let script = wrapper_script(
            &spec.command,
            &spec.cwd,
            &exit_path,
            Output::Inherit,
            spec.log_limit,
        )?;
        let log = prepare_log(&spec.log_path)?;
        let log_err = log
            .try_clone()
            .map_err(|e| SessionError::io("open log file", &spec.log_path, e))?;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&script)
            .current_dir(&spec.cwd)
            .envs(spec.command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            // We kill the whole group ourselves; see Drop.
            .kill_on_drop(false);
        let child = cmd.spawn().map_err(|source| SessionError::Spawn {
            program: "/bin/sh".into(),
            source,
        })?;
        let pid = child.id();
        let handle = SessionHandle {
            id: spec.id,
            name: name.clone(),
            task: spec.task.clone(),
            backend: BackendKind::Process,
            pid,
            cwd: spec.cwd.clone(),
            log_path: spec.log_path.clone(),
            program: spec.command.argv[0].clone(),
            started_at_ms: now_ms(),
            tmux_socket: None,
            pid_start_ticks: pid.and_then(procs::start_ticks),
        };
        self.children().insert(name.clone(), child);
        if let Err(e) = self.registry.write(&handle) {
            if let Some(pgid) = pid {
                procs::signal_group(pgid, Signal::SIGKILL);
            }
            return Err(e);
        }
        tracing::debug!(session = %name, ?pid, "process session started");
        Ok(handle)
    }

    async fn do_status(&self, handle: &SessionHandle) -> Result<SessionStatus, SessionError> {
        self.check(handle)?;
        if self.registry.exit_status(&handle.name)?.is_some() {
            let _ = self.reap(&handle.name);
            return self.registry.final_status(&handle.name);
        }
        if self.running(handle) {
            return Ok(SessionStatus::Running);
        }
        // Ended between the two looks, or died without recording its status (SIGKILL).
        let _ = self.reap(&handle.name);
        self.registry.final_status(&handle.name)
    }

    async fn do_kill(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        self.check(handle)?;
        if self.running(handle) {
            self.registry.mark_killed(&handle.name);
        }
        if let Some(pgid) = handle.pid {
            let name = handle.name.clone();
            procs::stop_group(pgid, self.grace, || {
                let _ = self.reap(&name);
            })
            .await;
            // Collect the wrapper so it leaves no zombie.
            let _ = self.reap(&name);
        }
        Ok(())
    }

    async fn do_cleanup(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        self.check(handle)?;
        if self.running(handle) || handle.pid.is_some_and(procs::group_alive) {
            self.do_kill(handle).await?;
        }
        let child = self.children().remove(&handle.name);
        if let Some(mut child) = child {
            // Bounded: the group was stopped above, so this returns at once.
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
        self.registry.remove(&handle.name)
    }

    async fn do_list(&self) -> Result<Vec<SessionHandle>, SessionError> {
        let mut out = Vec::new();
        for handle in self.registry.all(Some(BackendKind::Process)) {
            if self.running(&handle) || self.registry.exit_status(&handle.name)?.is_some() {
                out.push(handle);
            }
        }
        Ok(out)
    }
}

impl SessionBackend for ProcessBackend {
    fn detach_all(&self) {
        // Dropped without a kill: the children keep running for whoever adopted them.
        self.children().clear();
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Process
    }

    fn spawn<'a>(
        &'a self,
        spec: &'a SpawnSpec,
    ) -> BoxFuture<'a, Result<SessionHandle, SessionError>> {
        Box::pin(self.do_spawn(spec))
    }

    fn status<'a>(
        &'a self,
        handle: &'a SessionHandle,
    ) -> BoxFuture<'a, Result<SessionStatus, SessionError>> {
        Box::pin(self.do_status(handle))
    }

    fn kill<'a>(&'a self, handle: &'a SessionHandle) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.do_kill(handle))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionHandle>, SessionError>> {
        Box::pin(self.do_list())
    }

    fn attach_command(&self, _handle: &SessionHandle) -> Option<Vec<String>> {
        None
    }

    fn cleanup<'a>(&'a self, handle: &'a SessionHandle) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.do_cleanup(handle))
    }
}

impl Drop for ProcessBackend {
    /// Kills the process group of every session this backend started whose wrapper has not
    /// been reaped yet (so its group id cannot have been reused). No grace period: a drop
    /// cannot wait.
    fn drop(&mut self) {
        let children = std::mem::take(&mut *self.children());
        for (name, mut child) in children {
            if let Some(pgid) = child.id() {
                tracing::debug!(session = %name, pgid, "killing session group on drop");
                procs::signal_group(pgid, Signal::SIGKILL);
                let _ = child.start_kill();
            }
        }
    }
}
