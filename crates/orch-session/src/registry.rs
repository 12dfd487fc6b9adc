//! The sessions directory (`.orch/sessions/` by convention): one `<name>.json` with the
//! [`SessionHandle`] per session and, once its program ended, `<name>.exit` with the status
//! the wrapper recorded. Both survive an orchestrator crash; [`Registry::remove`] cleans up.

use std::path::{Path, PathBuf};

use crate::error::SessionError;
use crate::spec::{BackendKind, ExitStatus, SessionHandle, SessionStatus};

#[derive(Debug, Clone)]
pub(crate) struct Registry {
    dir: PathBuf,
}

impl Registry {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Registry {
        Registry { dir: dir.into() }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn ensure_dir(&self) -> Result<(), SessionError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| SessionError::io("create sessions directory", &self.dir, e))
    }

    pub(crate) fn meta_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    pub(crate) fn exit_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.exit"))
    }

    fn killed_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.killed"))
    }

    /// Records that the session was stopped on purpose, before the signals go out.
    pub(crate) fn mark_killed(&self, name: &str) {
        let path = self.killed_path(name);
        if let Err(e) = std::fs::write(&path, b"") {
            tracing::warn!(path = %path.display(), error = %e, "cannot write kill marker");
        }
    }

    pub(crate) fn was_killed(&self, name: &str) -> bool {
        self.killed_path(name).exists()
    }

    /// The status of a session that no longer runs.
    pub(crate) fn final_status(&self, name: &str) -> Result<SessionStatus, SessionError> {
        if self.was_killed(name) {
            return Ok(SessionStatus::Killed);
        }
        Ok(match self.exit_status(name)? {
            Some(exit) => SessionStatus::Exited { exit },
            None => SessionStatus::Gone,
        })
    }

    /// Writes the handle atomically (temporary file, then rename).
    pub(crate) fn write(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        self.ensure_dir()?;
        let path = self.meta_path(&handle.name);
        let tmp = self.dir.join(format!("{}.json.tmp", handle.name));
        let json = serde_json::to_vec_pretty(handle).expect("handles serialize");
        std::fs::write(&tmp, json)
            .map_err(|e| SessionError::io("write session metadata", &tmp, e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| SessionError::io("write session metadata", &path, e))
    }

    pub(crate) fn read(&self, path: &Path) -> Result<SessionHandle, SessionError> {
        let bytes =
            std::fs::read(path).map_err(|e| SessionError::io("read session metadata", path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| SessionError::Metadata {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Every session recorded here for `backend` (all backends for `None`), oldest first.
    /// Unreadable files are skipped with a warning.
    pub(crate) fn all(&self, backend: Option<BackendKind>) -> Vec<SessionHandle> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut handles: Vec<SessionHandle> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| match self.read(&p) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping session metadata");
                    None
                }
            })
            .filter(|h| backend.is_none_or(|b| h.backend == b))
            .collect();
        handles.sort_by(|a, b| (a.started_at_ms, &a.name).cmp(&(b.started_at_ms, &b.name)));
        handles
    }

    /// The recorded exit status, if the wrapper wrote one.
    pub(crate) fn exit_status(&self, name: &str) -> Result<Option<ExitStatus>, SessionError> {
        let path = self.exit_path(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => match text.trim().parse::<i32>() {
                Ok(code) => Ok(Some(ExitStatus::from_shell_status(code))),
                Err(_) => Err(SessionError::Metadata {
                    path,
                    message: format!("exit status {:?} is not a number", text.trim()),
                }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SessionError::io("read exit file", path, e)),
        }
    }

    /// Deletes the session's files; missing files are fine.
    pub(crate) fn remove(&self, name: &str) -> Result<(), SessionError> {
        for path in [
            self.meta_path(name),
            self.exit_path(name),
            self.killed_path(name),
            self.dir.join(format!("{name}.exit.tmp")),
        ] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SessionError::io("remove session file", path, e)),
            }
        }
        Ok(())
    }
}

/// Creates the log file's directory and the file itself (empty), so it can be tailed at once.
pub(crate) fn prepare_log(path: &Path) -> Result<std::fs::File, SessionError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| SessionError::io("create log directory", parent, e))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SessionError::io("open log file", path, e))
}

pub(crate) fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
