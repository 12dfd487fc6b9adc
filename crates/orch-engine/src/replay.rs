//! The replay agent: a stand-in coding agent that applies prepared changes, for `orch
//! demo` and for trying orch without an agent CLI or an API key.
//!
//! A [`ReplayScript`] lists, per task and attempt, the files to write and what to say. The
//! `orch` binary runs it as an agent process (`orch replay-agent --script FILE`), which
//! prints Claude Code's `stream-json` lines (init, assistant text, `Write` tool calls and
//! their results, the final `result`), so the real Claude Code parser and every other part
//! of the loop handle it exactly like Claude Code. [`ReplayAgent`] is its [`Agent`] adapter.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use orch_session::{
    Agent, AgentError, AgentEvent, AgentOutcome, AgentRequest, ClaudeCode, CommandSpec, SessionEnd,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the replay agent does for one attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplayAttempt {
    /// What it says first.
    pub say: String,
    /// Files to write, path (relative to the worktree) → content.
    pub write: BTreeMap<String, String>,
    /// Milliseconds it "thinks" before writing.
    pub think_ms: u64,
    /// End with an API error (`is_error: true`) instead of success.
    pub api_error: bool,
}

/// Prepared changes per task id, one entry per attempt; attempts past the last repeat it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplayScript {
    /// Task id → attempts.
    pub tasks: BTreeMap<String, Vec<ReplayAttempt>>,
}

impl ReplayScript {
    /// Reads a script file (JSON).
    pub fn load(path: &Path) -> Result<ReplayScript, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a replay script: {e}", path.display()))
    }

    /// The attempt `attempt` (1-based) of `task`.
    pub fn attempt(&self, task: &str, attempt: u32) -> Option<&ReplayAttempt> {
        let attempts = self.tasks.get(task)?;
        let i = usize::try_from(attempt.max(1) - 1).unwrap_or(usize::MAX);
        attempts.get(i).or_else(|| attempts.last())
    }
}

/// The [`Agent`] adapter of the replay agent: `<program> replay-agent --script FILE
/// --prompt-file FILE --session-id ID`, parsed as Claude Code output.
#[derive(Debug, Clone)]
pub struct ReplayAgent {
    program: PathBuf,
    script: PathBuf,
    parser: ClaudeCode,
}

impl ReplayAgent {
    /// A replay agent run by `program` (the `orch` binary) with `script`.
    pub fn new(program: impl Into<PathBuf>, script: impl Into<PathBuf>) -> ReplayAgent {
        ReplayAgent {
            program: program.into(),
            script: script.into(),
            parser: ClaudeCode::new(),
        }
    }
}

impl Agent for ReplayAgent {
    fn name(&self) -> &'static str {
        "replay"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        let mut argv = vec![
            self.program.display().to_string(),
            "replay-agent".into(),
            "--script".into(),
            self.script.display().to_string(),
            "--prompt-file".into(),
            req.prompt_file.display().to_string(),
        ];
        if let Some(id) = req.session_id.as_ref().or(req.resume.as_ref()) {
            argv.push("--session-id".into());
            argv.push(id.clone());
        }
        let mut spec = CommandSpec::new(argv);
        for (k, v) in &req.env {
            spec = spec.env(k.clone(), v.clone());
        }
        Ok(spec)
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        self.parser.parse_line(line)
    }

    fn outcome(&self, end: &SessionEnd, events: &[AgentEvent]) -> AgentOutcome {
        self.parser.outcome(end, events)
    }
}

/// Runs the replay agent in `cwd` for the task and attempt named by `ORCH_TASK` and
/// `ORCH_ATTEMPT`, printing stream-json to `out`. Returns the exit code.
pub fn run_replay_agent(script: &Path, session_id: &str, cwd: &Path, out: &mut dyn Write) -> i32 {
    let started = Instant::now();
    let task = std::env::var("ORCH_TASK").unwrap_or_default();
    let attempt: u32 = std::env::var("ORCH_ATTEMPT")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let mut emit = |value: serde_json::Value| {
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    };
    emit(json!({
        "type": "system", "subtype": "init", "cwd": cwd, "session_id": session_id,
        "tools": ["Write"], "model": "replay", "permissionMode": "acceptEdits",
    }));
    let script = match ReplayScript::load(script) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("replay-agent: {e}");
            return 2;
        }
    };
    let plan = script.attempt(&task, attempt).cloned().unwrap_or_default();
    let say = |emit: &mut dyn FnMut(serde_json::Value), text: &str| {
        emit(json!({
            "type": "assistant", "session_id": session_id,
            "message": {"role": "assistant", "model": "replay", "content": [{"type": "text", "text": text}]},
        }));
    };
    let opening = if plan.say.is_empty() {
        format!("Working on {task} (attempt {attempt}).")
    } else {
        plan.say.clone()
    };
    say(&mut emit, &opening);
    std::thread::sleep(Duration::from_millis(plan.think_ms));
    let mut turns = 1;
    for (n, (path, content)) in plan.write.iter().enumerate() {
        let Some(full) = inside(cwd, path) else {
            say(
                &mut emit,
                &format!("Refusing to write outside the worktree: {path}"),
            );
            continue;
        };
        let id = format!("toolu_replay_{n}");
        emit(json!({
            "type": "assistant", "session_id": session_id,
            "message": {"role": "assistant", "model": "replay", "content": [
                {"type": "tool_use", "id": id, "name": "Write", "input": {"file_path": full, "content": content}}
            ]},
        }));
        let written = full
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&full, content));
        let (text, is_error) = match written {
            Ok(()) => (format!("File written: {path}"), false),
            Err(e) => (format!("cannot write {path}: {e}"), true),
        };
        emit(json!({
            "type": "user", "session_id": session_id,
            "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": text, "is_error": is_error}
            ]},
        }));
        turns += 1;
    }
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (is_error, text) = if plan.api_error {
        (true, "API Error: 529 overloaded (replayed)".to_owned())
    } else {
        (
            false,
            format!("Done: {} file(s) written.", plan.write.len()),
        )
    };
    emit(json!({
        "type": "result", "subtype": "success", "is_error": is_error, "duration_ms": elapsed,
        "duration_api_ms": elapsed, "num_turns": turns, "result": text, "session_id": session_id,
        "total_cost_usd": 0.0,
        "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
    }));
    0
}

/// `cwd/path` when `path` is relative and stays inside `cwd`.
fn inside(cwd: &Path, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let safe = p.components().all(|c| matches!(c, Component::Normal(_)));
    (safe && !path.is_empty()).then(|| cwd.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_past_the_last_repeat_it_and_paths_stay_inside() {
        let mut script = ReplayScript::default();
        script.tasks.insert(
            "T".into(),
            vec![
                ReplayAttempt::default(),
                ReplayAttempt {
                    say: "second".into(),
                    ..Default::default()
                },
            ],
        );
        assert_eq!(script.attempt("T", 1).unwrap().say, "");
        assert_eq!(script.attempt("T", 5).unwrap().say, "second");
        assert!(script.attempt("U", 1).is_none());
        assert!(inside(Path::new("/w"), "../x").is_none());
        assert!(inside(Path::new("/w"), "/etc/passwd").is_none());
        assert_eq!(
            inside(Path::new("/w"), "src/a.py"),
            Some(PathBuf::from("/w/src/a.py"))
        );
    }

    #[test]
    fn output_parses_as_claude_code() {
        let dir = tempfile::tempdir().unwrap();
        let mut script = ReplayScript::default();
        script.tasks.insert(
            "TASK-A-001".into(),
            vec![ReplayAttempt {
                write: BTreeMap::from([("src/a.txt".into(), "hello\n".into())]),
                ..Default::default()
            }],
        );
        let path = dir.path().join("script.json");
        std::fs::write(&path, serde_json::to_string(&script).unwrap()).unwrap();
        // The task comes from the environment in real runs; an unknown task writes nothing.
        let mut out = Vec::new();
        assert_eq!(run_replay_agent(&path, "s1", dir.path(), &mut out), 0);
        let agent = ReplayAgent::new("orch", &path);
        let events: Vec<AgentEvent> = String::from_utf8(out)
            .unwrap()
            .lines()
            .flat_map(|l| agent.parse_line(l))
            .collect();
        let end = SessionEnd::Exited {
            exit: orch_session::ExitStatus::Code(0),
        };
        assert_eq!(agent.outcome(&end, &events), AgentOutcome::Succeeded);
    }
}
