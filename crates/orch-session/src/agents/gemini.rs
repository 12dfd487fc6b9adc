//! Gemini CLI: `gemini --output-format stream-json -p …`, JSONL events `init`, `message`,
//! `tool_use`, `tool_result`, `error`, `result` (gemini-cli `packages/core/src/output`).

use serde_json::Value;

use super::{json_or_output, str_field};
use crate::agent::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, AgentResult, SessionEnd, TokenUsage,
    last_result, without_verdict,
};
use crate::error::AgentError;
use crate::spec::{CommandSpec, ExitStatus, Stdin};

/// What `-p` says; Gemini appends it to the prompt read from standard input (the
/// instruction file).
const PROMPT_TAIL: &str = "Carry out the task described above.";

/// The Gemini CLI adapter.
///
/// Runs `gemini --output-format stream-json -p "<short tail>"` with the instruction file on
/// standard input (Gemini appends `-p` to piped input), `-m` for the model,
/// `--approval-mode` from the request's permission mode (`yolo`, `auto_edit`, …) and
/// `--resume <session id>` for a retry. Exit codes: 0 success, 1 error or API failure, 42
/// input error, 53 turn limit exceeded. `--output-format json` (one object with `response`,
/// `stats`, `error`) is read too.
#[derive(Debug, Clone)]
pub struct Gemini {
    program: String,
}

impl Gemini {
    /// The adapter running `gemini` from `PATH`.
    pub fn new() -> Gemini {
        Gemini {
            program: "gemini".into(),
        }
    }

    /// Runs another executable with Gemini's command line.
    pub fn with_program(program: impl Into<String>) -> Gemini {
        Gemini {
            program: program.into(),
        }
    }
}

impl Default for Gemini {
    fn default() -> Self {
        Gemini::new()
    }
}

impl Agent for Gemini {
    fn state_paths(&self, home: &std::path::Path) -> Vec<std::path::PathBuf> {
        [".gemini"].iter().map(|p| home.join(p)).collect()
    }

    fn name(&self) -> &'static str {
        "gemini"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        std::fs::metadata(&req.prompt_file).map_err(|source| AgentError::PromptFile {
            path: req.prompt_file.clone(),
            source,
        })?;
        let mut tail = PROMPT_TAIL.to_owned();
        if let Some(extra) = &req.append_system_prompt {
            tail = format!("{extra}\n\n{tail}");
        }
        let mut argv = vec![
            self.program.clone(),
            "--output-format".into(),
            "stream-json".into(),
        ];
        if let Some(model) = &req.model {
            argv.extend(["-m".into(), model.clone()]);
        }
        if let Some(mode) = &req.permission_mode {
            argv.extend(["--approval-mode".into(), mode.clone()]);
        }
        if let Some(session) = &req.resume {
            argv.extend(["--resume".into(), session.clone()]);
        }
        argv.extend(req.extra_args.iter().cloned());
        argv.extend(["-p".into(), tail]);
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
        match end {
            SessionEnd::Exited {
                exit: ExitStatus::Code(53),
            } => AgentOutcome::Failed {
                subtype: "turn_limit_exceeded".into(),
                message: None,
            },
            SessionEnd::Exited {
                exit: ExitStatus::Code(42),
            } => AgentOutcome::Failed {
                subtype: "input_error".into(),
                message: None,
            },
            SessionEnd::Exited {
                exit: ExitStatus::Code(1),
            } => match events.iter().rev().find_map(|e| match e {
                AgentEvent::Error { message } => Some(message.clone()),
                _ => None,
            }) {
                Some(message) => AgentOutcome::ApiError {
                    message: Some(message),
                },
                None => without_verdict(end),
            },
            _ => without_verdict(end),
        }
    }
}

fn stats_usage(stats: &Value) -> Option<TokenUsage> {
    let n = |k: &str| stats.get(k).and_then(Value::as_u64);
    let input = n("input_tokens")?;
    let cached = n("cached").unwrap_or(0);
    Some(TokenUsage {
        // `input_tokens` includes the cached part; `input` is the rest.
        input_tokens: n("input").unwrap_or(input.saturating_sub(cached)),
        output_tokens: n("output_tokens").unwrap_or(0),
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
    })
}

fn parse(v: &Value) -> Vec<AgentEvent> {
    match v.get("type").and_then(Value::as_str) {
        Some("init") => vec![AgentEvent::Init {
            session_id: str_field(v, "session_id"),
            model: str_field(v, "model"),
            cwd: None,
            tools: Vec::new(),
        }],
        Some("message") if v.get("role").and_then(Value::as_str) == Some("assistant") => {
            vec![AgentEvent::Text {
                text: str_field(v, "content").unwrap_or_default(),
            }]
        }
        Some("tool_use") => vec![AgentEvent::ToolUse {
            id: str_field(v, "tool_id"),
            name: str_field(v, "tool_name").unwrap_or_default(),
            input: v.get("parameters").cloned().unwrap_or(Value::Null),
        }],
        Some("tool_result") => {
            let is_error = v.get("status").and_then(Value::as_str) == Some("error");
            let output = str_field(v, "output")
                .or_else(|| v.get("error").and_then(|e| str_field(e, "message")))
                .unwrap_or_default();
            vec![AgentEvent::ToolResult {
                tool_use_id: str_field(v, "tool_id"),
                output,
                is_error,
            }]
        }
        Some("error") => vec![AgentEvent::Error {
            message: str_field(v, "message").unwrap_or_default(),
        }],
        Some("result") => {
            let ok = v.get("status").and_then(Value::as_str) == Some("success");
            let error = v.get("error");
            let stats = v.get("stats");
            vec![AgentEvent::Result(AgentResult {
                subtype: if ok {
                    "success".into()
                } else {
                    error
                        .and_then(|e| str_field(e, "type"))
                        .unwrap_or_else(|| "error".into())
                },
                is_error: !ok,
                text: error.and_then(|e| str_field(e, "message")),
                usage: stats.and_then(stats_usage),
                duration_ms: stats
                    .and_then(|s| s.get("duration_ms"))
                    .and_then(Value::as_u64),
                ..AgentResult::default()
            })]
        }
        // `--output-format json`: a single object without `type`.
        None if v.get("response").is_some() || v.get("error").is_some() => {
            let mut out = Vec::new();
            if let Some(text) = str_field(v, "response") {
                out.push(AgentEvent::Text { text });
            }
            let error = v.get("error").filter(|e| !e.is_null());
            out.push(AgentEvent::Result(AgentResult {
                subtype: match error {
                    Some(e) => str_field(e, "type").unwrap_or_else(|| "error".into()),
                    None => "success".into(),
                },
                is_error: error.is_some(),
                text: error.and_then(|e| str_field(e, "message")),
                session_id: str_field(v, "session_id"),
                ..AgentResult::default()
            }));
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::TaskId;

    const SESSION: &str = r#"{"type":"init","timestamp":"2025-10-10T12:00:00.000Z","session_id":"abc123","model":"gemini-2.5-pro"}
{"type":"message","role":"user","content":"List files","timestamp":"2025-10-10T12:00:01.000Z"}
{"type":"tool_use","tool_name":"run_shell_command","tool_id":"tool-1","parameters":{"command":"ls"},"timestamp":"2025-10-10T12:00:02.000Z"}
{"type":"tool_result","tool_id":"tool-1","status":"success","output":"README.md","timestamp":"2025-10-10T12:00:03.000Z"}
{"type":"message","role":"assistant","content":"Here are the files.","delta":true,"timestamp":"2025-10-10T12:00:04.000Z"}
{"type":"some_future_event","x":1}
{"type":"result","status":"success","stats":{"total_tokens":250,"input_tokens":200,"output_tokens":50,"cached":150,"input":50,"duration_ms":3000,"tool_calls":1},"timestamp":"2025-10-10T12:00:05.000Z"}"#;

    #[test]
    fn parses_a_session() {
        let g = Gemini::new();
        let ev: Vec<_> = SESSION.lines().flat_map(|l| g.parse_line(l)).collect();
        assert_eq!(ev.len(), 5, "{ev:?}");
        let ok = SessionEnd::Exited {
            exit: ExitStatus::Code(0),
        };
        assert_eq!(g.outcome(&ok, &ev), AgentOutcome::Succeeded);
        let usage = g.usage(&ev);
        assert_eq!(usage.agent_session_id.as_deref(), Some("abc123"));
        assert_eq!(usage.tokens.unwrap().cache_read_input_tokens, 150);
        assert_eq!(usage.tokens.unwrap().input_tokens, 50);
        assert_eq!(usage.duration_ms, Some(3000));
    }

    #[test]
    fn failures() {
        let g = Gemini::new();
        let ev = g.parse_line(
            r#"{"type":"result","status":"error","error":{"type":"FatalTurnLimitedError","message":"too many turns"}}"#,
        );
        let end = SessionEnd::Exited {
            exit: ExitStatus::Code(53),
        };
        assert_eq!(
            g.outcome(&end, &ev),
            AgentOutcome::Failed {
                subtype: "FatalTurnLimitedError".into(),
                message: Some("too many turns".into())
            }
        );
        assert!(
            matches!(g.outcome(&end, &[]), AgentOutcome::Failed { subtype, .. } if subtype == "turn_limit_exceeded")
        );
        let json = g.parse_line(r#"{"response":"ok","stats":{}}"#);
        assert_eq!(
            g.outcome(
                &SessionEnd::Exited {
                    exit: ExitStatus::Code(0)
                },
                &json
            ),
            AgentOutcome::Succeeded
        );
    }

    #[test]
    fn command_line() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = dir.path().join("p.md");
        std::fs::write(&prompt, "x").unwrap();
        let mut req = AgentRequest::new(TaskId::new("T-1").unwrap(), &prompt, dir.path());
        req.permission_mode = Some("yolo".into());
        req.resume = Some("abc".into());
        let cmd = Gemini::new().command(&req).unwrap();
        assert_eq!(
            cmd.argv,
            [
                "gemini",
                "--output-format",
                "stream-json",
                "--approval-mode",
                "yolo",
                "--resume",
                "abc",
                "-p",
                PROMPT_TAIL
            ]
        );
        assert_eq!(cmd.stdin, Stdin::File(prompt));
    }
}
