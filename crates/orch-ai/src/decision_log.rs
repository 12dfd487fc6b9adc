//! Every model decision on disk, under `.orch/logs/ai_decisions/`, bounded: identical
//! decisions are written once, and the oldest files go when the count or total size would
//! pass the limits, so a runaway loop cannot fill the disk with logs.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Bounds of the log directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Most files kept.
    pub max_files: usize,
    /// Most bytes kept across all files.
    pub max_bytes: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_files: 100,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// One decision as written.
#[derive(Debug, Serialize)]
struct Record<'a> {
    kind: &'a str,
    model: &'a str,
    unix_ms: u128,
    input: &'a str,
    output: &'a str,
    outcome: &'a str,
}

/// The decision log of one repository.
#[derive(Debug)]
pub struct DecisionLog {
    dir: PathBuf,
    limits: LogLimits,
    lock: Mutex<()>,
}

impl DecisionLog {
    /// A log in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>, limits: LogLimits) -> DecisionLog {
        DecisionLog {
            dir: dir.into(),
            limits,
            lock: Mutex::new(()),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one decision; `Ok(None)` when an identical one is already there. The file name
    /// is `<kind>-<hash>.json`, the hash over kind, model, input and output.
    pub fn record(
        &self,
        kind: &str,
        model: &str,
        input: &str,
        output: &str,
        outcome: &str,
    ) -> io::Result<Option<PathBuf>> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut hasher = Sha256::new();
        for part in [kind, model, input, output, outcome] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let hash: String = hasher
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let safe_kind: String = kind
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let path = self.dir.join(format!("{safe_kind}-{hash}.json"));
        if path.exists() {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.dir)?;
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let record = Record {
            kind,
            model,
            unix_ms,
            input,
            output,
            outcome,
        };
        let mut text = serde_json::to_string_pretty(&record).map_err(io::Error::other)?;
        text.push('\n');
        // A single record larger than the whole budget is cut, never written whole.
        let budget = usize::try_from(self.limits.max_bytes).unwrap_or(usize::MAX);
        if text.len() > budget {
            let mut cut = budget.saturating_sub(64);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("\n… (truncated)\n");
        }
        self.make_room(text.len() as u64)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &text)?;
        std::fs::rename(&tmp, &path)?;
        Ok(Some(path))
    }

    /// Deletes the oldest files until one more file of `incoming` bytes fits.
    fn make_room(&self, incoming: u64) -> io::Result<()> {
        let mut files: Vec<(std::time::SystemTime, PathBuf, u64)> = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_file() {
                files.push((meta.modified()?, entry.path(), meta.len()));
            }
        }
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.2).sum();
        let mut count = files.len();
        for (_, path, len) in files {
            if count < self.limits.max_files && total + incoming <= self.limits.max_bytes {
                break;
            }
            std::fs::remove_file(&path)?;
            count -= 1;
            total -= len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let log = DecisionLog::new(
            dir.path().join("ai"),
            LogLimits {
                max_files: 5,
                max_bytes: 10_000,
            },
        );
        assert!(
            log.record("plan", "m", "in", "out", "ok")
                .unwrap()
                .is_some()
        );
        assert!(
            log.record("plan", "m", "in", "out", "ok")
                .unwrap()
                .is_none(),
            "identical decision written twice"
        );
        for i in 0..500 {
            log.record("plan", "m", &format!("in {i}"), &"x".repeat(1_000), "ok")
                .unwrap();
        }
        let files: Vec<_> = std::fs::read_dir(log.dir()).unwrap().collect();
        assert!(files.len() <= 5, "{} files", files.len());
        let total: u64 = files
            .iter()
            .map(|f| f.as_ref().unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 10_000, "{total} bytes");
        log.record("huge", "m", &"y".repeat(50_000), "", "ok")
            .unwrap();
        let total: u64 = std::fs::read_dir(log.dir())
            .unwrap()
            .map(|f| f.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 10_000, "{total} bytes after a huge record");
    }
}
