//! Codex CLI: `codex exec --json`, JSONL events (`thread.started`, `turn.started`,
//! `item.started` / `item.updated` / `item.completed`, `turn.completed` with `usage`,
//! `turn.failed`, `error`).

use serde_json::{Value, json};

use super::{json_or_output, str_field};
use crate::agent::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, AgentResult, SessionEnd, TokenUsage,
    last_result, without_verdict,
};
use crate::error::AgentError;
use crate::spec::{CommandSpec, Stdin};

/// Prompts larger than this go through standard input (`-`) instead of argv.
const MAX_PROMPT_ARG: u64 = 100 * 1024;

/// The Codex CLI adapter.
///
/// Runs `codex exec --json --sandbox <mode> [--model M] <prompt>` with standard input from
/// `/dev/null` (Codex appends piped stdin to the prompt, and would wait on an inherited
/// one), the instruction file's text as the prompt; a retry runs `codex exec --json …
/// resume <thread id> <prompt>`. The sandbox is the request's permission mode, default
/// `workspace-write` (Codex's own default is read-only, useless for a coding task).
/// Codex has no turn limit flag; `max_turns` is ignored.
///
/// `turn.completed` is the success verdict (its `usage` is summed per attempt),
/// `turn.failed` a failure, an `error` event without a verdict an API error.
#[derive(Debug, Clone)]
pub struct Codex {
    program: String,
}

impl Codex {
    /// The adapter running `codex` from `PATH`.
    pub fn new() -> Codex {
        Codex {
            program: "codex".into(),
        }
    }

    /// Runs another executable with Codex's command line.
    pub fn with_program(program: impl Into<String>) -> Codex {
        Codex {
            program: program.into(),
        }
    }
}

impl Default for Codex {
    fn default() -> Self {
        Codex::new()
    }
}

impl Agent for Codex {
    fn state_paths(&self, home: &std::path::Path) -> Vec<std::path::PathBuf> {
        [".codex"].iter().map(|p| home.join(p)).collect()
    }

    fn name(&self) -> &'static str {
        "codex"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        let prompt_error = |source| AgentError::PromptFile {
            path: req.prompt_file.clone(),
            source,
        };
        let size = std::fs::metadata(&req.prompt_file)
            .map_err(prompt_error)?
            .len();
        let (prompt, stdin) = if size > MAX_PROMPT_ARG {
            ("-".to_owned(), Stdin::File(req.prompt_file.clone()))
        } else {
            let mut text = std::fs::read_to_string(&req.prompt_file).map_err(prompt_error)?;
            if let Some(extra) = &req.append_system_prompt {
                text.push_str("\n\n");
                text.push_str(extra);
            }
            (text, Stdin::Null)
        };
        let mut argv = vec![self.program.clone(), "exec".into(), "--json".into()];
        argv.push("--sandbox".into());
        argv.push(
            req.permission_mode
                .clone()
                .unwrap_or_else(|| "workspace-write".into()),
        );
        if let Some(model) = &req.model {
            argv.extend(["--model".into(), model.clone()]);
        }
        argv.extend(req.extra_args.iter().cloned());
        if let Some(thread) = &req.resume {
            argv.extend(["resume".into(), thread.clone()]);
        }
        argv.push(prompt);
        Ok(CommandSpec {
            argv,
            env: req.env.clone(),
            stdin,
        })
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        match json_or_output(line) {
            Ok(v) => parse(&v),
            Err(events) => events,
        }
    }

    fn outcome(&self, end: &SessionEnd, events: &[AgentEvent]) -> AgentOutcome {
        if let Some(r) = last_result(events) {
            return if r.is_error {
                AgentOutcome::Failed {
                    subtype: r.subtype.clone(),
                    message: r.text.clone(),
                }
            } else {
                AgentOutcome::Succeeded
            };
        }
        let last_error = events.iter().rev().find_map(|e| match e {
            AgentEvent::Error { message } => Some(message.clone()),
            _ => None,
        });
        match (last_error, end) {
            (Some(message), SessionEnd::Exited { .. }) => AgentOutcome::ApiError {
                message: Some(message),
            },
            _ => without_verdict(end),
        }
    }
}

fn parse(v: &Value) -> Vec<AgentEvent> {
    match v.get("type").and_then(Value::as_str) {
        Some("thread.started") => vec![AgentEvent::Init {
            session_id: str_field(v, "thread_id"),
            model: None,
            cwd: None,
            tools: Vec::new(),
        }],
        Some("turn.completed") => {
            let usage = v.get("usage").and_then(TokenUsage::from_json);
            let mut out = Vec::new();
            if let Some(usage) = usage {
                out.push(AgentEvent::Usage {
                    usage,
                    cost_usd: None,
                });
            }
            out.push(AgentEvent::Result(AgentResult {
                subtype: "success".into(),
                ..AgentResult::default()
            }));
            out
        }
        Some("turn.failed") => vec![AgentEvent::Result(AgentResult {
            subtype: "turn_failed".into(),
            is_error: true,
            text: v.get("error").and_then(|e| str_field(e, "message")),
            ..AgentResult::default()
        })],
        Some("error") => vec![AgentEvent::Error {
            message: str_field(v, "message").unwrap_or_default(),
        }],
        Some("item.completed") => v.get("item").map(item).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn item(item: &Value) -> Vec<AgentEvent> {
    let id = str_field(item, "id");
    match item.get("type").and_then(Value::as_str) {
        Some("agent_message") => vec![AgentEvent::Text {
            text: str_field(item, "text").unwrap_or_default(),
        }],
        Some("command_execution") => {
            let failed = item.get("status").and_then(Value::as_str) == Some("failed")
                || item
                    .get("exit_code")
                    .and_then(Value::as_i64)
                    .is_some_and(|c| c != 0);
            vec![
                AgentEvent::ToolUse {
                    id: id.clone(),
                    name: "command_execution".into(),
                    input: json!({ "command": item.get("command").cloned().unwrap_or(Value::Null) }),
                },
                AgentEvent::ToolResult {
                    tool_use_id: id,
                    output: str_field(item, "aggregated_output").unwrap_or_default(),
                    is_error: failed,
                },
            ]
        }
        Some("file_change") => vec![AgentEvent::ToolUse {
            id,
            name: "file_change".into(),
            input: json!({ "changes": item.get("changes").cloned().unwrap_or(Value::Null) }),
        }],
        Some("mcp_tool_call") => vec![AgentEvent::ToolUse {
            id,
            name: format!(
                "{}/{}",
                str_field(item, "server").unwrap_or_default(),
                str_field(item, "tool").unwrap_or_default()
            ),
            input: item.get("arguments").cloned().unwrap_or(Value::Null),
        }],
        Some("error") => vec![AgentEvent::Error {
            message: str_field(item, "message").unwrap_or_default(),
        }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ExitStatus;
    use orch_core::TaskId;

    /// Lines in the shape `codex exec --json` prints (codex-rs `exec_events.rs`).
    const SESSION: &str = r#"{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Scanning the repo**"}}
{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"README.md\n","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"src/lib.rs","kind":"update"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Done."}}
{"type":"item.completed","item":{"id":"item_4","type":"todo_list","items":[]}}
{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}"#;

    fn events(text: &str) -> Vec<AgentEvent> {
        text.lines()
            .flat_map(|l| Codex::new().parse_line(l))
            .collect()
    }

    #[test]
    fn parses_a_session() {
        let ev = events(SESSION);
        assert!(
            matches!(&ev[0], AgentEvent::Init { session_id: Some(t), .. } if t.starts_with("0199"))
        );
        assert!(ev.contains(&AgentEvent::Text {
            text: "Done.".into()
        }));
        assert!(ev.iter().any(|e| matches!(e, AgentEvent::ToolResult { output, is_error: false, .. } if output == "README.md\n")));
        let c = Codex::new();
        let ok = SessionEnd::Exited {
            exit: ExitStatus::Code(0),
        };
        assert_eq!(c.outcome(&ok, &ev), AgentOutcome::Succeeded);
        let usage = c.usage(&ev);
        assert_eq!(
            usage.tokens,
            Some(TokenUsage {
                input_tokens: 24763,
                output_tokens: 122,
                cache_read_input_tokens: 24448,
                cache_creation_input_tokens: 0
            })
        );
        assert_eq!(
            usage.agent_session_id.as_deref(),
            Some("0199a213-81c0-7800-8aa1-bbab2a035a53")
        );
    }

    #[test]
    fn failures() {
        let c = Codex::new();
        let exit1 = SessionEnd::Exited {
            exit: ExitStatus::Code(1),
        };
        let ev = events(
            r#"{"type":"thread.started","thread_id":"t"}
{"type":"turn.failed","error":{"message":"stream disconnected"}}"#,
        );
        assert_eq!(
            c.outcome(&exit1, &ev),
            AgentOutcome::Failed {
                subtype: "turn_failed".into(),
                message: Some("stream disconnected".into())
            }
        );
        let ev = events(r#"{"type":"error","message":"quota exceeded"}"#);
        assert_eq!(
            c.outcome(&exit1, &ev),
            AgentOutcome::ApiError {
                message: Some("quota exceeded".into())
            }
        );
        assert_eq!(
            c.outcome(&exit1, &[]),
            AgentOutcome::Crashed {
                exit: Some(ExitStatus::Code(1))
            }
        );
    }

    #[test]
    fn command_line() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = dir.path().join("p.md");
        std::fs::write(&prompt, "fix the bug").unwrap();
        let mut req = AgentRequest::new(TaskId::new("T-1").unwrap(), &prompt, dir.path());
        req.model = Some("gpt-5-codex".into());
        let cmd = Codex::new().command(&req).unwrap();
        assert_eq!(
            cmd.argv,
            [
                "codex",
                "exec",
                "--json",
                "--sandbox",
                "workspace-write",
                "--model",
                "gpt-5-codex",
                "fix the bug"
            ]
        );
        assert_eq!(cmd.stdin, Stdin::Null);
        req.resume = Some("thread-9".into());
        let cmd = Codex::new().command(&req).unwrap();
        assert_eq!(
            &cmd.argv[cmd.argv.len() - 3..],
            ["resume", "thread-9", "fix the bug"]
        );
        std::fs::write(&prompt, "x".repeat(200 * 1024)).unwrap();
        let cmd = Codex::new().command(&req).unwrap();
        assert_eq!(cmd.argv.last().unwrap(), "-");
        assert_eq!(cmd.stdin, Stdin::File(prompt));
    }
}
