//! `orch verify --hook`: the input Claude Code gives a command hook on stdin, and the loop
//! guard. A `Stop` hook that exits 2 makes Claude continue; when it cannot fix the findings
//! it would be sent back forever (Claude Code itself gives up only after 8 blocks). So the
//! blocks in a row are counted per session (and task) in the git directory, never in the
//! tree: after [`MAX_BLOCKS`], verify lets Claude stop and warns the user instead.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use orch_core::exit_code;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

/// Blocks in a row after which Claude is let go (with a warning).
pub const MAX_BLOCKS: u32 = 3;
/// Largest hook input read (Claude Code sends a few kilobytes).
const MAX_INPUT: u64 = 1024 * 1024;
/// Counts older than this are forgotten.
const FORGET_AFTER_SECS: u64 = 24 * 3600;

/// The fields of Claude Code's hook input verify uses (all optional: a hand-run
/// `orch verify --hook` has none).
#[derive(Debug, Default)]
pub struct HookInput {
    pub session_id: String,
    pub cwd: Option<PathBuf>,
    pub event: String,
    /// `Stop`/`SubagentStop`: Claude is already continuing because a stop hook blocked.
    pub stop_hook_active: bool,
    /// `TaskCompleted`: the task being completed.
    pub task_id: Option<String>,
}

/// Reads the hook input from stdin (nothing when stdin is a terminal or empty).
pub fn read_stdin() -> CliResult<HookInput> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(HookInput::default());
    }
    let mut text = String::new();
    stdin
        .lock()
        .take(MAX_INPUT + 1)
        .read_to_string(&mut text)
        .map_err(|e| CliError::io("cannot read the hook input on stdin", e))?;
    if text.len() as u64 > MAX_INPUT {
        return Err(CliError::new(
            exit_code::INVALID_INPUT,
            "the hook input on stdin is over 1 MiB",
        ));
    }
    parse(&text)
}

fn parse(text: &str) -> CliResult<HookInput> {
    if text.trim().is_empty() {
        return Ok(HookInput::default());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        CliError::new(
            exit_code::INVALID_INPUT,
            format!("the hook input on stdin is not JSON: {e}"),
        )
    })?;
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    Ok(HookInput {
        session_id: field("session_id").unwrap_or_default().to_owned(),
        cwd: field("cwd").filter(|c| !c.is_empty()).map(PathBuf::from),
        event: field("hook_event_name").unwrap_or_default().to_owned(),
        stop_hook_active: value
            .get("stop_hook_active")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        task_id: field("task_id").map(str::to_owned),
    })
}

/// What to do with a failing verification.
#[derive(Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Exit 2: this is block number `n` in a row.
    Block(u32),
    /// Exit 0 with a warning: `n` blocks in a row did not help.
    Release(u32),
}

/// Counts blocks in a row for one session (and task).
#[derive(Debug)]
pub struct LoopGuard {
    file: PathBuf,
    key: String,
    /// Whether earlier blocks count: for `Stop`, only while Claude continues because of
    /// one (`stop_hook_active`); a new turn starts again from zero.
    continuing: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    blocks: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry {
    count: u32,
    at: u64,
}

impl LoopGuard {
    /// The guard for `input`, its state in `<git dir>/orch/verify-state.json`.
    pub fn new(git_dir: &Path, input: &HookInput) -> LoopGuard {
        let event = if input.event.is_empty() {
            "Stop"
        } else {
            input.event.as_str()
        };
        let mut key = format!("{event}/{}", input.session_id);
        if let Some(task) = &input.task_id {
            key.push('/');
            key.push_str(task);
        }
        let stops = matches!(event, "Stop" | "SubagentStop");
        LoopGuard {
            file: git_dir.join("orch").join("verify-state.json"),
            key,
            continuing: !stops || input.stop_hook_active,
        }
    }

    /// The verification passed: the count starts again.
    pub fn passed(&self) {
        let mut state = self.load();
        if state.blocks.remove(&self.key).is_some() {
            self.save(&state);
        }
    }

    /// The verification failed: block again, or let go after [`MAX_BLOCKS`].
    pub fn failed(&self) -> OnFailure {
        let mut state = self.load();
        let before = match state.blocks.get(&self.key) {
            Some(entry) if self.continuing => entry.count,
            _ => 0,
        };
        if before >= MAX_BLOCKS {
            state.blocks.remove(&self.key);
            self.save(&state);
            return OnFailure::Release(before);
        }
        state.blocks.insert(
            self.key.clone(),
            Entry {
                count: before + 1,
                at: now(),
            },
        );
        self.save(&state);
        OnFailure::Block(before + 1)
    }

    fn load(&self) -> State {
        let mut state: State = std::fs::read(&self.file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let now = now();
        state
            .blocks
            .retain(|_, e| now.saturating_sub(e.at) < FORGET_AFTER_SECS);
        state
    }

    /// Best effort: without a record the guard cannot count, and Claude Code's own limit
    /// still ends the loop.
    fn save(&self, state: &State) {
        let write = || -> std::io::Result<()> {
            let dir = self.file.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            serde_json::to_writer(&mut tmp, state)?;
            tmp.persist(&self.file).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            eprintln!(
                "warning: cannot record the hook's blocks in {}: {e}",
                self.file.display()
            );
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(active: bool) -> HookInput {
        parse(&format!(
            r#"{{"session_id": "s1", "cwd": "/tmp/x", "hook_event_name": "Stop", "stop_hook_active": {active}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn hook_input_is_read_leniently() {
        let input = stop(true);
        assert_eq!(input.session_id, "s1");
        assert_eq!(input.cwd.as_deref(), Some(Path::new("/tmp/x")));
        assert!(input.stop_hook_active);
        assert!(parse("").unwrap().session_id.is_empty());
        assert!(parse("not json").is_err());
    }

    #[test]
    fn blocks_in_a_row_are_counted_and_a_new_turn_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = LoopGuard::new(dir.path(), &stop(false));
        assert_eq!(first.failed(), OnFailure::Block(1));
        let again = LoopGuard::new(dir.path(), &stop(true));
        assert_eq!(again.failed(), OnFailure::Block(2));
        assert_eq!(again.failed(), OnFailure::Block(3));
        assert_eq!(again.failed(), OnFailure::Release(3));
        assert_eq!(again.failed(), OnFailure::Block(1));
        // A new turn (not continuing because of a block) counts from zero.
        assert_eq!(first.failed(), OnFailure::Block(1));
        again.failed();
        again.passed();
        assert_eq!(again.failed(), OnFailure::Block(1));
    }

    #[test]
    fn tasks_are_counted_apart() {
        let dir = tempfile::tempdir().unwrap();
        let task = |id: &str| {
            parse(&format!(
                r#"{{"session_id": "s", "hook_event_name": "TaskCompleted", "task_id": "{id}"}}"#
            ))
            .unwrap()
        };
        let a = LoopGuard::new(dir.path(), &task("a"));
        let b = LoopGuard::new(dir.path(), &task("b"));
        assert_eq!(a.failed(), OnFailure::Block(1));
        assert_eq!(a.failed(), OnFailure::Block(2));
        assert_eq!(b.failed(), OnFailure::Block(1));
    }
}
