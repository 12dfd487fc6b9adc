//! Claude Code: `claude -p --output-format stream-json --verbose`, one JSON object a line.

use serde_json::Value;

use super::{content_text, json_or_output, str_field};
use crate::agent::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, AgentResult, SessionEnd, TokenUsage,
    last_result, without_verdict,
};
use crate::error::AgentError;
use crate::spec::{CommandSpec, Stdin};

/// The Claude Code adapter.
///
/// Runs `claude -p --output-format stream-json --verbose` (stream-json needs `--verbose`
/// with `-p`) with the instruction file on standard input, `--session-id` for a first
/// attempt or `--resume` for a retry, and `--model`, `--max-turns`, `--permission-mode`,
/// `--append-system-prompt`, `--allowedTools`, `--disallowedTools` when the request sets
/// them, and `--max-budget-usd` when it sets a budget and the installed CLI has the flag. Without a permission mode Claude
/// Code may refuse edits in headless mode; set one (`acceptEdits`, `bypassPermissions`) in
/// the request.
///
/// The verdict is the `result` line: a `subtype` other than `success` is
/// [`AgentOutcome::Failed`], `is_error: true` is [`AgentOutcome::ApiError`] (even with
/// `subtype: success` and exit code 0), and a run without a `result` line crashed (or timed
/// out, or was killed). Unknown line types and content blocks are skipped.
#[derive(Debug, Clone)]
pub struct ClaudeCode {
    program: String,
    /// Whether `program --help` lists `--max-budget-usd` (asked once, when first needed).
    budget_flag: std::sync::Arc<std::sync::OnceLock<bool>>,
}

impl ClaudeCode {
    /// The adapter running `claude` from `PATH`.
    pub fn new() -> ClaudeCode {
        ClaudeCode::with_program("claude")
    }

    /// Runs another executable with Claude Code's command line (tests use the fake agent).
    pub fn with_program(program: impl Into<String>) -> ClaudeCode {
        ClaudeCode {
            program: program.into(),
            budget_flag: std::sync::Arc::default(),
        }
    }

    /// Whether the installed CLI has `--max-budget-usd` (older versions refuse unknown
    /// flags, so it is only passed when `--help` lists it). Asked once, bounded to 10 s.
    pub fn supports_budget_flag(&self) -> bool {
        *self
            .budget_flag
            .get_or_init(|| help_mentions(&self.program, "--max-budget-usd"))
    }
}

/// Runs `program --help` (stdin closed, at most 10 s, output capped) and looks for `flag`.
fn help_mentions(program: &str, flag: &str) -> bool {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return false;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.take(1 << 20).read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    text.contains(flag)
}

impl Default for ClaudeCode {
    fn default() -> Self {
        ClaudeCode::new()
    }
}

impl Agent for ClaudeCode {
    fn state_paths(&self, home: &std::path::Path) -> Vec<std::path::PathBuf> {
        [".claude", ".claude.json", ".config/claude"]
            .iter()
            .map(|p| home.join(p))
            .collect()
    }

    fn name(&self) -> &'static str {
        "claude"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        std::fs::metadata(&req.prompt_file).map_err(|source| AgentError::PromptFile {
            path: req.prompt_file.clone(),
            source,
        })?;
        let mut argv: Vec<String> = [
            self.program.as_str(),
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut flag = |name: &str, value: &str| {
            argv.push(name.to_owned());
            argv.push(value.to_owned());
        };
        if let Some(resume) = &req.resume {
            flag("--resume", resume);
        } else if let Some(id) = &req.session_id {
            flag("--session-id", id);
        }
        if let Some(model) = &req.model {
            flag("--model", model);
        }
        if let Some(turns) = req.max_turns {
            flag("--max-turns", &turns.to_string());
        }
        if let Some(mode) = &req.permission_mode {
            flag("--permission-mode", mode);
        }
        if let Some(prompt) = &req.append_system_prompt {
            flag("--append-system-prompt", prompt);
        }
        if !req.allowed_tools.is_empty() {
            flag("--allowedTools", &req.allowed_tools.join(","));
        }
        if !req.disallowed_tools.is_empty() {
            flag("--disallowedTools", &req.disallowed_tools.join(","));
        }
        if let Some(usd) = req.max_budget_usd.filter(|u| u.is_finite() && *u > 0.0)
            && self.supports_budget_flag()
        {
            flag("--max-budget-usd", &format!("{usd:.2}"));
        }
        argv.extend(req.extra_args.iter().cloned());
        Ok(CommandSpec {
            argv,
            env: req.env.clone(),
            stdin: Stdin::File(req.prompt_file.clone()),
        })
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        match json_or_output(line) {
            Ok(v) => parse(&v),
            Err(events) => events,
        }
    }

    fn outcome(&self, end: &SessionEnd, events: &[AgentEvent]) -> AgentOutcome {
        match last_result(events) {
            Some(r) if r.subtype != "success" => AgentOutcome::Failed {
                subtype: r.subtype.clone(),
                message: r.text.clone(),
            },
            Some(r) if r.is_error => AgentOutcome::ApiError {
                message: r.text.clone(),
            },
            Some(_) => AgentOutcome::Succeeded,
            None => without_verdict(end),
        }
    }
}

fn parse(v: &Value) -> Vec<AgentEvent> {
    match v.get("type").and_then(Value::as_str) {
        Some("system") if v.get("subtype").and_then(Value::as_str) == Some("init") => {
            vec![AgentEvent::Init {
                session_id: str_field(v, "session_id"),
                model: str_field(v, "model"),
                cwd: str_field(v, "cwd"),
                tools: v
                    .get("tools")
                    .and_then(Value::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            }]
        }
        Some("assistant") => blocks(v)
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => Some(AgentEvent::Text {
                    text: str_field(b, "text").unwrap_or_default(),
                }),
                Some("tool_use") => Some(AgentEvent::ToolUse {
                    id: str_field(b, "id"),
                    name: str_field(b, "name").unwrap_or_default(),
                    input: b.get("input").cloned().unwrap_or(Value::Null),
                }),
                _ => None,
            })
            .collect(),
        Some("user") => blocks(v)
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            .map(|b| AgentEvent::ToolResult {
                tool_use_id: str_field(b, "tool_use_id"),
                output: content_text(b.get("content")),
                is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect(),
        Some("result") => vec![AgentEvent::Result(AgentResult {
            subtype: str_field(v, "subtype").unwrap_or_else(|| "unknown".into()),
            is_error: v.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            text: str_field(v, "result"),
            session_id: str_field(v, "session_id"),
            cost_usd: v
                .get("total_cost_usd")
                .or_else(|| v.get("cost_usd"))
                .and_then(Value::as_f64),
            usage: v.get("usage").and_then(TokenUsage::from_json),
            num_turns: v
                .get("num_turns")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
            duration_ms: v.get("duration_ms").and_then(Value::as_u64),
        })],
        _ => Vec::new(),
    }
}

/// The content blocks of an assistant or user message (a string content has none).
fn blocks(v: &Value) -> &[Value] {
    v.get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ExitStatus;
    use orch_core::TaskId;

    fn claude() -> ClaudeCode {
        ClaudeCode::new()
    }

    /// A `claude` stand-in whose `--help` lists (or not) the budget flag.
    fn fake_cli(dir: &std::path::Path, name: &str, help: &str) -> String {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{help}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[test]
    fn the_budget_flag_is_passed_only_where_the_cli_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = dir.path().join("TASK-A-001.md");
        std::fs::write(&prompt, "do it").unwrap();
        let mut req = AgentRequest::new(TaskId::new("TASK-A-001").unwrap(), &prompt, dir.path());
        req.max_budget_usd = Some(1.5);
        req.allowed_tools = vec!["Bash(cargo test:*)".into(), "Read".into()];
        let new = ClaudeCode::with_program(fake_cli(
            dir.path(),
            "new-claude",
            "  --max-budget-usd <amount>  Maximum dollar amount",
        ));
        let argv = new.command(&req).unwrap().argv;
        assert!(
            argv.windows(2).any(|w| w == ["--max-budget-usd", "1.50"]),
            "{argv:?}"
        );
        assert!(
            argv.windows(2)
                .any(|w| w == ["--allowedTools", "Bash(cargo test:*),Read"])
        );
        let old = ClaudeCode::with_program(fake_cli(dir.path(), "old-claude", "  --model <m>"));
        let argv = old.command(&req).unwrap().argv;
        assert!(!argv.iter().any(|a| a == "--max-budget-usd"), "{argv:?}");
        let missing = ClaudeCode::with_program(dir.path().join("nothing").display().to_string());
        assert!(!missing.supports_budget_flag());
    }

    #[test]
    fn command_line() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = dir.path().join("TASK-A-001.md");
        std::fs::write(&prompt, "do it").unwrap();
        let mut req = AgentRequest::new(TaskId::new("TASK-A-001").unwrap(), &prompt, dir.path());
        req.session_id = Some("11111111-1111-4111-8111-111111111111".into());
        req.model = Some("opus".into());
        req.max_turns = Some(7);
        req.permission_mode = Some("acceptEdits".into());
        req.append_system_prompt = Some("be brief".into());
        let cmd = claude().command(&req).unwrap();
        assert_eq!(
            cmd.argv,
            [
                "claude",
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--session-id",
                "11111111-1111-4111-8111-111111111111",
                "--model",
                "opus",
                "--max-turns",
                "7",
                "--permission-mode",
                "acceptEdits",
                "--append-system-prompt",
                "be brief"
            ]
        );
        assert_eq!(cmd.stdin, Stdin::File(prompt.clone()));

        req.resume = Some("prev".into());
        let cmd = claude().command(&req).unwrap();
        assert!(cmd.argv.windows(2).any(|w| w == ["--resume", "prev"]));
        assert!(!cmd.argv.contains(&"--session-id".to_owned()));

        req.prompt_file = dir.path().join("missing.md");
        assert!(matches!(
            claude().command(&req),
            Err(AgentError::PromptFile { .. })
        ));
    }

    #[test]
    fn unknown_lines_and_blocks_are_skipped() {
        let c = claude();
        assert!(
            c.parse_line(r#"{"type":"stream_event","event":{}}"#)
                .is_empty()
        );
        assert!(
            c.parse_line(r#"{"type":"system","subtype":"compact_boundary"}"#)
                .is_empty()
        );
        assert!(c.parse_line(r#"{"no_type":1}"#).is_empty());
        assert!(c.parse_line("").is_empty());
        assert_eq!(
            c.parse_line(r#"{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"x"},{"type":"text","text":"hi"},{"type":"server_tool_use"}]}}"#),
            vec![AgentEvent::Text { text: "hi".into() }]
        );
        assert!(
            c.parse_line(r#"{"type":"user","message":{"content":"plain"}}"#)
                .is_empty()
        );
        assert_eq!(
            c.parse_line("Error: something on stderr"),
            vec![AgentEvent::Output {
                line: "Error: something on stderr".into()
            }]
        );
        assert_eq!(c.parse_line("[1,2]").len(), 1);
    }

    fn result(subtype: &str, is_error: bool) -> Vec<AgentEvent> {
        claude().parse_line(&format!(
            r#"{{"type":"result","subtype":"{subtype}","is_error":{is_error},"result":"msg","session_id":"s","cost_usd":0.5,"num_turns":3}}"#
        ))
    }

    #[test]
    fn verdicts() {
        let c = claude();
        let ok = SessionEnd::Exited {
            exit: ExitStatus::Code(0),
        };
        assert_eq!(
            c.outcome(&ok, &result("success", false)),
            AgentOutcome::Succeeded
        );
        assert_eq!(
            c.outcome(&ok, &result("success", true)),
            AgentOutcome::ApiError {
                message: Some("msg".into())
            }
        );
        assert_eq!(
            c.outcome(&ok, &result("error_max_turns", true)),
            AgentOutcome::Failed {
                subtype: "error_max_turns".into(),
                message: Some("msg".into())
            }
        );
        assert_eq!(
            c.outcome(&ok, &[]),
            AgentOutcome::Crashed {
                exit: Some(ExitStatus::Code(0))
            }
        );
        assert_eq!(
            c.outcome(&SessionEnd::IdleTimedOut, &[]),
            AgentOutcome::TimedOut { idle: true }
        );
        assert_eq!(c.outcome(&SessionEnd::Killed, &[]), AgentOutcome::Killed);
        // The old cost field name is still read.
        let usage = c.usage(&result("success", false));
        assert_eq!(usage.cost_usd, Some(0.5));
        assert_eq!(usage.num_turns, Some(3));
    }
}
