//! Attempt logs: where they live and how they are read as they grow.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use orch_core::TaskId;

/// Most bytes read from a log in one look; the rest waits for the next.
const MAX_READ: u64 = 4 * 1024 * 1024;

/// Longest line handed to a parser; the rest of a longer line is skipped up to its end,
/// so one huge line cannot make orch hold it in memory.
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// Appended to a line that was cut at [`MAX_LINE`].
pub(crate) const LINE_CUT: &str = " …[orch: line cut]";

/// The log of attempt `attempt` of `task`: `<orch_dir>/logs/<TASK>/<attempt>.log`.
pub fn attempt_log_path(orch_dir: &Path, task: &TaskId, attempt: u32) -> PathBuf {
    orch_dir
        .join("logs")
        .join(task.as_str())
        .join(format!("{attempt}.log"))
}

/// The log of the latest attempt of `task` in `<orch_dir>/logs/<TASK>/` (highest attempt
/// number), if any.
pub fn latest_attempt_log(orch_dir: &Path, task: &TaskId) -> Option<PathBuf> {
    let dir = orch_dir.join("logs").join(task.as_str());
    std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let n: u32 = path
                .extension()
                .filter(|x| *x == "log")
                .and(path.file_stem())?
                .to_str()?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, p)| p)
}

/// Follows a growing log file and cuts it into lines.
#[derive(Debug)]
pub(crate) struct LogTail {
    path: PathBuf,
    file: Option<File>,
    pos: u64,
    partial: Vec<u8>,
    /// Inside a line longer than [`MAX_LINE`]: bytes are dropped until its end.
    skipping: bool,
}

impl LogTail {
    pub(crate) fn new(path: impl Into<PathBuf>) -> LogTail {
        LogTail {
            path: path.into(),
            file: None,
            pos: 0,
            partial: Vec::new(),
            skipping: false,
        }
    }

    /// New bytes since the last call (at most [`MAX_READ`]); empty when nothing new.
    pub(crate) fn read_bytes(&mut self) -> Vec<u8> {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else {
            return Vec::new();
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return Vec::new();
        };
        if len < self.pos {
            // Truncated or replaced: start over.
            self.pos = 0;
            self.partial.clear();
        }
        if len == self.pos || file.seek(SeekFrom::Start(self.pos)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        match file.take(MAX_READ).read_to_end(&mut buf) {
            Ok(n) => self.pos += n as u64,
            Err(e) => tracing::warn!(path = %self.path.display(), error = %e, "cannot read log"),
        }
        buf
    }

    /// Complete new lines (without newline), and whether any byte arrived. A line longer
    /// than [`MAX_LINE`] comes out cut, once, with [`LINE_CUT`] at its end.
    pub(crate) fn read_lines(&mut self) -> (Vec<String>, bool) {
        let bytes = self.read_bytes();
        if bytes.is_empty() {
            return (Vec::new(), false);
        }
        let mut lines = Vec::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let newline = rest.iter().position(|b| *b == b'\n');
            let (chunk, ends_line) = match newline {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            rest = match newline {
                Some(i) => &rest[i + 1..],
                None => &[],
            };
            if self.skipping {
                self.skipping = !ends_line;
                continue;
            }
            let room = MAX_LINE.saturating_sub(self.partial.len());
            if chunk.len() > room {
                self.partial.extend_from_slice(&chunk[..room]);
                let mut line = String::from_utf8_lossy(&self.partial).into_owned();
                line.push_str(LINE_CUT);
                lines.push(line);
                self.partial.clear();
                self.skipping = !ends_line;
                continue;
            }
            self.partial.extend_from_slice(chunk);
            if ends_line {
                lines.push(String::from_utf8_lossy(&self.partial).into_owned());
                self.partial.clear();
            }
        }
        (lines, true)
    }

    /// The last line if the file does not end with a newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        if self.partial.is_empty() {
            return None;
        }
        let line = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tail_cuts_lines_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut tail = LogTail::new(&path);
        assert_eq!(tail.read_lines(), (vec![], false));
        let mut f = File::create(&path).unwrap();
        f.write_all(b"one\ntw").unwrap();
        assert_eq!(tail.read_lines(), (vec!["one".to_owned()], true));
        f.write_all(b"o\nthree").unwrap();
        assert_eq!(tail.read_lines(), (vec!["two".to_owned()], true));
        assert_eq!(tail.finish().as_deref(), Some("three"));
        assert_eq!(tail.finish(), None);
    }

    #[test]
    fn a_huge_line_is_cut_and_never_held_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut f = File::create(&path).unwrap();
        let mut tail = LogTail::new(&path);
        f.write_all(b"before\n").unwrap();
        // Ten megabytes without a newline, written in pieces, then the end of the line.
        let piece = vec![b'x'; 1024 * 1024];
        let mut seen = Vec::new();
        for _ in 0..10 {
            f.write_all(&piece).unwrap();
            seen.extend(tail.read_lines().0);
            assert!(tail.partial.len() <= MAX_LINE);
        }
        f.write_all(b"tail of it\nafter\n").unwrap();
        seen.extend(tail.read_lines().0);
        assert_eq!(
            seen.len(),
            3,
            "{:?}",
            seen.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(seen[0], "before");
        assert_eq!(seen[1].len(), MAX_LINE + LINE_CUT.len());
        assert!(seen[1].ends_with(LINE_CUT));
        assert_eq!(seen[2], "after");
    }

    #[test]
    fn latest_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let task = TaskId::new("TASK-A-001").unwrap();
        assert_eq!(latest_attempt_log(dir.path(), &task), None);
        for n in [1, 2, 10] {
            let p = attempt_log_path(dir.path(), &task, n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        assert_eq!(
            latest_attempt_log(dir.path(), &task).unwrap(),
            dir.path().join("logs/TASK-A-001/10.log")
        );
    }
}
