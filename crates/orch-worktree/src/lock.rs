//! The repository-wide orch lock: one file in the git directory, locked with the operating
//! system's advisory file lock (`flock` on Unix). The kernel releases it when the holder
//! exits, however it exits, so a crashed orch never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::LockError;

/// File name of the lock inside the common git directory.
pub(crate) const LOCK_FILE: &str = "orch-worktree.lock";

/// Held while worktrees or branches are being changed; released on drop.
#[derive(Debug)]
pub(crate) struct RepoLock {
    _file: File,
}

impl RepoLock {
    /// Takes the lock in `git_dir`, waiting at most `timeout`.
    pub(crate) fn acquire(git_dir: &Path, timeout: Duration) -> Result<RepoLock, LockError> {
        let path = git_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(RepoLock { _file: file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(LockError::Timeout {
                    path: PathBuf::from(&path),
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                });
            }
            std::thread::sleep(pause.min(timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_then_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let first = RepoLock::acquire(dir.path(), Duration::from_secs(1)).unwrap();
        let err = RepoLock::acquire(dir.path(), Duration::from_millis(30)).unwrap_err();
        assert!(matches!(err, LockError::Timeout { .. }), "{err}");
        drop(first);
        RepoLock::acquire(dir.path(), Duration::from_millis(30)).unwrap();
    }

    #[test]
    fn released_for_a_waiting_thread() {
        let dir = tempfile::tempdir().unwrap();
        let first = RepoLock::acquire(dir.path(), Duration::from_secs(1)).unwrap();
        let path = dir.path().to_owned();
        let waiter =
            std::thread::spawn(move || RepoLock::acquire(&path, Duration::from_secs(5)).is_ok());
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
        assert!(waiter.join().unwrap());
    }
}
