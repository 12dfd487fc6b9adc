//! The adapters of the [`crate::Agent`] seam, one per coding-agent CLI.

mod claude;
mod codex;
mod gemini;
mod plain;

pub use claude::ClaudeCode;
pub use codex::Codex;
pub use gemini::Gemini;
pub(crate) use plain::PlainCommand;
pub use plain::{Aider, CUSTOM_PLACEHOLDERS, CustomCommand};

use crate::agent::AgentEvent;

/// Parses a line as a JSON object; a line that is not one becomes an
/// [`AgentEvent::Output`] (stray stderr, a permission prompt), a blank line nothing.
pub(crate) fn json_or_output(line: &str) -> Result<serde_json::Value, Vec<AgentEvent>> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Err(Vec::new());
    }
    match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(vec![AgentEvent::Output {
            line: line.trim_end_matches('\r').to_owned(),
        }]),
    }
}

pub(crate) fn str_field(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

/// Text of a tool result's `content`: a string, or an array of `{type: text, text}` blocks.
pub(crate) fn content_text(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}
