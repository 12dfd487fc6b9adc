//! [`Sessions`]: what `orch session list|logs|attach|kill` need, on a repository's `.orch/`
//! directory, whatever backend started the sessions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orch_core::TaskId;
use serde::Serialize;

use crate::backend::{SessionBackend, tmux_available};
use crate::error::SessionError;
use crate::logs::{LogTail, latest_attempt_log};
use crate::process::ProcessBackend;
use crate::spec::{BackendKind, SessionHandle, SessionStatus};
use crate::tmux::TmuxBackend;

/// One session as `orch session list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    /// The session.
    #[serde(flatten)]
    pub handle: SessionHandle,
    /// Its state now.
    pub status: SessionStatus,
    /// The command to watch it live, if its backend has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<Vec<String>>,
}

/// The sessions of one repository: `<orch_dir>/sessions/` for their records and
/// `<orch_dir>/logs/` for their logs, across both backends.
#[derive(Debug)]
pub struct Sessions {
    orch_dir: PathBuf,
    tmux: Option<TmuxBackend>,
    process: Arc<ProcessBackend>,
}

impl Sessions {
    /// Opens the `.orch` directory `orch_dir` (sessions in `sessions/`, tmux socket `orch`).
    /// The tmux backend is only consulted when tmux is installed.
    pub fn open(orch_dir: impl Into<PathBuf>) -> Sessions {
        let orch_dir = orch_dir.into();
        let state = orch_dir.join("sessions");
        Sessions {
            tmux: tmux_available().then(|| TmuxBackend::new(&state)),
            process: Arc::new(ProcessBackend::new(&state)),
            orch_dir,
        }
    }

    /// Uses another tmux socket name than `orch`.
    pub fn with_tmux_socket(mut self, socket: &str) -> Result<Sessions, SessionError> {
        if let Some(t) = self.tmux.take() {
            self.tmux = Some(t.with_socket(socket)?);
        }
        Ok(self)
    }

    /// Sets the grace period between the signals of a kill (default 5 s).
    pub fn with_kill_grace(mut self, grace: Duration) -> Sessions {
        self.tmux = self.tmux.map(|t| t.with_kill_grace(grace));
        let state = self.orch_dir.join("sessions");
        self.process = Arc::new(ProcessBackend::new(state).with_kill_grace(grace));
        self
    }

    /// The `.orch` directory.
    pub fn orch_dir(&self) -> &Path {
        &self.orch_dir
    }

    fn backend(&self, kind: BackendKind) -> Option<&dyn SessionBackend> {
        match kind {
            BackendKind::Tmux => self.tmux.as_ref().map(|t| t as &dyn SessionBackend),
            BackendKind::Process => Some(self.process.as_ref()),
        }
    }

    async fn info(&self, handle: SessionHandle) -> Result<SessionInfo, SessionError> {
        let backend = self.backend(handle.backend);
        let status = match backend {
            Some(b) => b.status(&handle).await?,
            None => SessionStatus::Gone,
        };
        let attach = match (backend, status) {
            (Some(b), SessionStatus::Running) => b.attach_command(&handle),
            _ => None,
        };
        Ok(SessionInfo {
            handle,
            status,
            attach,
        })
    }

    /// `orch session list`: every session not yet cleaned up (running, or ended while no
    /// orchestrator watched), oldest first.
    pub async fn list(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let mut handles = Vec::new();
        if let Some(t) = &self.tmux {
            handles.extend(t.list().await?);
        }
        handles.extend(self.process.list().await?);
        handles.sort_by(|a, b| (a.started_at_ms, &a.name).cmp(&(b.started_at_ms, &b.name)));
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(self.info(h).await?);
        }
        Ok(out)
    }

    /// Finds one session by full id, id prefix (at least 4 characters), session name or
    /// task id (its latest session, a running one first).
    pub async fn find(&self, query: &str) -> Result<SessionInfo, SessionError> {
        let all = self.list().await?;
        let q = query.trim().to_ascii_lowercase();
        let exact: Vec<&SessionInfo> = all
            .iter()
            .filter(|s| s.handle.id.to_string() == q || s.handle.name == query)
            .collect();
        if let [one] = exact.as_slice() {
            return Ok((*one).clone());
        }
        if q.len() >= 4 {
            let prefixed: Vec<&SessionInfo> = all
                .iter()
                .filter(|s| {
                    s.handle.id.to_string().starts_with(&q) || s.handle.id.simple().starts_with(&q)
                })
                .collect();
            match prefixed.as_slice() {
                [one] => return Ok((*one).clone()),
                [] => {}
                many => {
                    return Err(SessionError::Ambiguous {
                        query: query.to_owned(),
                        count: many.len(),
                    });
                }
            }
        }
        all.iter()
            .filter(|s| s.handle.task.as_ref().is_some_and(|t| t.as_str() == query))
            .max_by_key(|s| (s.status.is_running(), s.handle.started_at_ms))
            .cloned()
            .ok_or_else(|| SessionError::NotFound {
                query: query.to_owned(),
            })
    }

    /// `orch session kill ID`: stops the session's process group (interrupt, terminate,
    /// kill, with the grace period) and returns its state afterwards. The session's records
    /// stay until its orchestrator (or `cleanup`) collects them.
    pub async fn kill(&self, query: &str) -> Result<SessionInfo, SessionError> {
        let info = self.find(query).await?;
        if let Some(b) = self.backend(info.handle.backend) {
            b.kill(&info.handle).await?;
        }
        self.info(info.handle).await
    }

    /// `orch session attach ID`: the command to run (with the terminal) to watch the
    /// session; `None` when its backend cannot be attached to (the process backend: follow
    /// its log instead).
    pub async fn attach_command(&self, query: &str) -> Result<Option<Vec<String>>, SessionError> {
        let info = self.find(query).await?;
        Ok(self
            .backend(info.handle.backend)
            .and_then(|b| b.attach_command(&info.handle)))
    }

    /// The log of a session (id, prefix or name), or of a task's latest session or, when
    /// none is recorded, its highest-numbered attempt log in `<orch_dir>/logs/<TASK>/`.
    pub async fn log_path(&self, query: &str) -> Result<PathBuf, SessionError> {
        Ok(self.resolve_log(query).await?.0)
    }

    async fn resolve_log(
        &self,
        query: &str,
    ) -> Result<(PathBuf, Option<SessionHandle>), SessionError> {
        match self.find(query).await {
            Ok(info) => Ok((info.handle.log_path.clone(), Some(info.handle))),
            Err(SessionError::NotFound { .. }) => {
                let task = TaskId::new(query).map_err(|_| SessionError::NotFound {
                    query: query.to_owned(),
                })?;
                latest_attempt_log(&self.orch_dir, &task)
                    .map(|p| (p, None))
                    .ok_or_else(|| SessionError::NotFound {
                        query: query.to_owned(),
                    })
            }
            Err(e) => Err(e),
        }
    }

    /// `orch session logs ID|TASK [--follow]`: copies the log to `out`; with `follow`, keeps
    /// copying new output until the session no longer runs (a log without a running
    /// session is copied once). Following has no time bound: the caller stops it
    /// (Ctrl-C) or the session ends.
    pub async fn write_logs(
        &self,
        query: &str,
        out: &mut (dyn Write + Send),
        follow: bool,
    ) -> Result<(), SessionError> {
        let (path, handle) = self.resolve_log(query).await?;
        let io_err = |e| SessionError::io("write log", &path, e);
        let mut tail = LogTail::new(&path);
        loop {
            let bytes = tail.read_bytes();
            if bytes.is_empty() {
                break;
            }
            out.write_all(&bytes).map_err(io_err)?;
        }
        out.flush().map_err(io_err)?;
        let (true, Some(handle)) = (follow, handle) else {
            return Ok(());
        };
        let Some(backend) = self.backend(handle.backend) else {
            return Ok(());
        };
        loop {
            let running = backend.status(&handle).await?.is_running();
            loop {
                let bytes = tail.read_bytes();
                if bytes.is_empty() {
                    break;
                }
                out.write_all(&bytes).map_err(io_err)?;
                out.flush().map_err(io_err)?;
            }
            if !running {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deletes the records of sessions that ended (never their logs) and returns how many.
    pub async fn cleanup_finished(&self) -> Result<usize, SessionError> {
        let mut n = 0;
        for info in self.list().await? {
            if !info.status.is_running()
                && let Some(b) = self.backend(info.handle.backend)
            {
                b.cleanup(&info.handle).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}
