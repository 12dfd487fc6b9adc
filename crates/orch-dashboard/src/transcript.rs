//! Agent logs as a person reads them: stream-json lines (Claude Code, Codex, Gemini)
//! become one short line per step (text, tool call, tool answer, result); plain-text logs
//! (Aider, custom commands) stay as they are.

use std::sync::Arc;

use orch_session::{Agent, AgentEvent, ClaudeCode, agent_by_name};

/// Longest line shown; a tool's whole input or output is in the raw log.
const MAX_LINE_CHARS: usize = 240;

/// The parser for an attempt's agent. Replayed and unknown agents speak Claude Code's
/// stream-json, the format orch's own tools emit.
pub(crate) fn parser_for(agent: &str) -> Arc<dyn Agent> {
    agent_by_name(agent).unwrap_or_else(|_| Arc::new(ClaudeCode::new()))
}

fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The readable lines of one raw log line.
pub(crate) fn readable(parser: &dyn Agent, line: &str) -> Vec<String> {
    let events = parser.parse_line(line);
    if events.is_empty() {
        // A JSON line the parser has no use for (a hook, a rate-limit notice) is noise.
        return if line.trim_start().starts_with('{') {
            Vec::new()
        } else {
            vec![line.to_owned()]
        };
    }
    events.iter().filter_map(describe).collect()
}

fn describe(event: &AgentEvent) -> Option<String> {
    Some(match event {
        AgentEvent::Init { model, .. } => match model {
            Some(model) => format!("● session started ({model})"),
            None => "● session started".to_owned(),
        },
        AgentEvent::Text { text } => clip(text),
        AgentEvent::ToolUse { name, input, .. } => format!("→ {name} {}", clip(&brief(input))),
        AgentEvent::ToolResult {
            output, is_error, ..
        } => {
            let first = output.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let more = output.lines().count().saturating_sub(1);
            let tail = if more > 0 {
                format!(" (+{more} lines)")
            } else {
                String::new()
            };
            let mark = if *is_error { "✗" } else { "←" };
            format!("{mark} {}{tail}", clip(first))
        }
        AgentEvent::Usage { .. } => return None,
        AgentEvent::Error { message } => format!("✗ {}", clip(message)),
        AgentEvent::Result(result) => {
            let mut line = format!("■ {}", result.subtype);
            if let Some(cost) = result.cost_usd {
                line.push_str(&format!(", ${cost:.4}"));
            }
            if let Some(turns) = result.num_turns {
                line.push_str(&format!(", {turns} turns"));
            }
            line
        }
        AgentEvent::Output { line } => line.clone(),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// The part of a tool's input that says what it does: a path, a command, a pattern.
fn brief(input: &serde_json::Value) -> String {
    for key in [
        "file_path",
        "path",
        "command",
        "cmd",
        "pattern",
        "url",
        "description",
    ] {
        if let Some(value) = input.get(key).and_then(|v| v.as_str()) {
            return value.replace('\n', " ");
        }
    }
    input.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_stream_json_reads_as_steps() {
        let parser = parser_for("claude");
        let init = r#"{"type":"system","subtype":"init","session_id":"s","model":"claude-sonnet","tools":[]}"#;
        assert_eq!(
            readable(&*parser, init),
            ["● session started (claude-sonnet)"]
        );
        let tool = r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Writing the test."},{"type":"tool_use","id":"t1","name":"Write","input":{"file_path":"tests/test_x.py","content":"..."}}]},"session_id":"s"}"#;
        assert_eq!(
            readable(&*parser, tool),
            ["Writing the test.", "→ Write tests/test_x.py"]
        );
        let result = r#"{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s","total_cost_usd":0.0123,"num_turns":4}"#;
        assert_eq!(readable(&*parser, result), ["■ success, $0.0123, 4 turns"]);
        assert_eq!(
            readable(&*parser, "plain stderr line"),
            ["plain stderr line"]
        );
        assert!(readable(&*parser, r#"{"type":"unknown_noise"}"#).is_empty());
    }

    #[test]
    fn unknown_agents_fall_back_to_stream_json() {
        let parser = parser_for("replay");
        let text = r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"hi"}]}}"#;
        assert_eq!(readable(&*parser, text), ["hi"]);
        assert_eq!(clip(&"x".repeat(300)).chars().count(), MAX_LINE_CHARS + 1);
    }
}
