//! The [`Agent`] seam: how to start one coding-agent CLI, how to read its output, and how to
//! judge a finished run.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use orch_core::TaskId;
use serde::{Deserialize, Serialize};

use crate::error::AgentError;
use crate::spec::{CommandSpec, ExitStatus};

/// What an agent run is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRequest {
    /// The task.
    pub task: TaskId,
    /// The instruction file (`.orch/instructions/<TASK>.md`): the agent's prompt.
    pub prompt_file: PathBuf,
    /// Working directory: the task's worktree. A resumed Claude Code session must run in
    /// the same directory as the original, or Claude cannot find it.
    pub cwd: PathBuf,
    /// Id for a new agent-side session (Claude Code `--session-id`, a UUID). The pool fills
    /// it with the orch session id when empty and not resuming.
    pub session_id: Option<String>,
    /// Agent-side session to resume on a retry (Claude session id, Codex thread id, Gemini
    /// session id).
    pub resume: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Turn limit (Claude Code `--max-turns`).
    pub max_turns: Option<u32>,
    /// Permission mode (Claude `--permission-mode`, Codex `--sandbox`, Gemini
    /// `--approval-mode`).
    pub permission_mode: Option<String>,
    /// Extra system prompt (Claude `--append-system-prompt`).
    pub append_system_prompt: Option<String>,
    /// Most US dollars this run may spend (Claude Code `--max-budget-usd`, passed only
    /// where the installed CLI has the flag).
    #[serde(default)]
    pub max_budget_usd: Option<f64>,
    /// Tools allowed without asking (Claude `--allowedTools`).
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    /// Tools never allowed (Claude `--disallowedTools`).
    #[serde(default)]
    pub disallowed_tools: Vec<String>,
    /// Extra arguments appended as they are.
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: Vec<(String, String)>,
}

impl AgentRequest {
    /// A request with only the task, prompt file and working directory set.
    pub fn new(task: TaskId, prompt_file: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Self {
        AgentRequest {
            task,
            prompt_file: prompt_file.into(),
            cwd: cwd.into(),
            session_id: None,
            resume: None,
            model: None,
            max_turns: None,
            permission_mode: None,
            append_system_prompt: None,
            max_budget_usd: None,
            allowed_tools: Vec::new(),
            disallowed_tools: Vec::new(),
            extra_args: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// Token counts, summed over a run where the agent reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens not served from cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
}

impl TokenUsage {
    /// Reads the usual field names of a JSON usage object; `None` if it has none of them.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<TokenUsage> {
        let get = |keys: &[&str]| keys.iter().find_map(|k| v.get(*k).and_then(|x| x.as_u64()));
        let usage = TokenUsage {
            input_tokens: get(&["input_tokens"]).unwrap_or(0),
            output_tokens: get(&["output_tokens"]).unwrap_or(0),
            cache_read_input_tokens: get(&["cache_read_input_tokens", "cached_input_tokens"])
                .unwrap_or(0),
            cache_creation_input_tokens: get(&["cache_creation_input_tokens"]).unwrap_or(0),
        };
        let any = ["input_tokens", "output_tokens", "cached_input_tokens"]
            .iter()
            .any(|k| v.get(*k).is_some());
        any.then_some(usage)
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
    }
}

/// The final line of a run, as the agent reported it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentResult {
    /// `success`, `error_max_turns`, `error_during_execution`, … (Claude Code); adapters of
    /// other agents map their verdicts onto this.
    pub subtype: String,
    /// Whether the agent flags the run as an error (true on API errors even with
    /// `subtype: success`).
    pub is_error: bool,
    /// The final answer or error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The agent-side session id, for `--resume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Total cost in US dollars (`total_cost_usd`; the old `cost_usd` is read too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Token usage of the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// Number of turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_turns: Option<u32>,
    /// Duration the agent measured, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// One thing an agent said, parsed from a line of its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentEvent {
    /// The agent started a session (Claude `system/init`, Codex `thread.started`, Gemini
    /// `init`).
    Init {
        /// Agent-side session (or thread) id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        /// Model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// Working directory the agent reports.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        /// Tools the agent may use.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tools: Vec<String>,
    },
    /// Assistant text.
    Text {
        /// The text.
        text: String,
    },
    /// The agent calls a tool.
    ToolUse {
        /// Tool call id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Tool name (`Bash`, `Edit`, `command_execution`, …).
        name: String,
        /// Tool input.
        input: serde_json::Value,
    },
    /// A tool's answer.
    ToolResult {
        /// The call it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_use_id: Option<String>,
        /// Output text.
        output: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// Token usage (and cost) of a part of the run (a Codex turn, an Aider message).
    Usage {
        /// Tokens.
        usage: TokenUsage,
        /// Cost in US dollars, if reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
    },
    /// An error the agent reported (Codex `error`, Gemini `error`).
    Error {
        /// The message.
        message: String,
    },
    /// The run's verdict line.
    Result(AgentResult),
    /// A plain-text line (Aider, custom commands, stray stderr of JSON agents).
    Output {
        /// The line, without its newline.
        line: String,
    },
}

/// How a session ended, as the pool saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEnd {
    /// The program ended by itself.
    Exited {
        /// How.
        exit: ExitStatus,
    },
    /// The wall-clock limit was reached; the session was killed.
    TimedOut,
    /// Nothing was printed for the idle limit; the session was killed.
    IdleTimedOut,
    /// Someone asked for it to be killed.
    Killed,
    /// It disappeared without a recorded status (killed from outside, tmux server died).
    Lost,
}

/// The verdict on one agent run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentOutcome {
    /// The agent reports success.
    Succeeded,
    /// The agent reports a failure (`error_max_turns`, `error_during_execution`,
    /// `exit_code_2`, …).
    Failed {
        /// The failure kind.
        subtype: String,
        /// The agent's message, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The model API failed (Claude `is_error: true`, even with `subtype: success` and exit
    /// code 0).
    ApiError {
        /// The agent's message, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The program ended without a verdict (no `result` line).
    Crashed {
        /// Its exit status, if one was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit: Option<ExitStatus>,
    },
    /// Killed by the pool for running too long (`idle: false`) or printing nothing for too
    /// long (`idle: true`).
    TimedOut {
        /// Whether it was the idle limit.
        idle: bool,
    },
    /// Killed on request.
    Killed,
}

impl AgentOutcome {
    /// Whether the run succeeded.
    pub fn is_success(&self) -> bool {
        *self == AgentOutcome::Succeeded
    }
}

/// Cost and usage of one attempt, where the agent reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttemptUsage {
    /// The agent-side session id, to resume on a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_session_id: Option<String>,
    /// Cost in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenUsage>,
    /// Turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_turns: Option<u32>,
    /// Duration the agent measured, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// One coding-agent CLI: its command line, its output format and its verdicts.
pub trait Agent: Send + Sync + Debug {
    /// Short name (`claude`, `codex`, `gemini`, `aider`, `custom`).
    fn name(&self) -> &'static str;

    /// The command that runs `req`.
    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError>;

    /// Parses one line of output (without its newline). Lines the adapter does not know
    /// give no event; nothing here fails.
    fn parse_line(&self, line: &str) -> Vec<AgentEvent>;

    /// The verdict on a finished run from how it ended and what it said.
    fn outcome(&self, end: &SessionEnd, events: &[AgentEvent]) -> AgentOutcome;

    /// Cost and usage of the run. The default reads the last [`AgentEvent::Result`], sums
    /// [`AgentEvent::Usage`] events and takes the session id from `Init` or `Result`.
    fn usage(&self, events: &[AgentEvent]) -> AttemptUsage {
        summarize_usage(events)
    }

    /// Files and directories (under `home`) where the CLI keeps its own state (login,
    /// settings, session history): writable inside a sandbox when they exist. Default:
    /// none.
    fn state_paths(&self, home: &std::path::Path) -> Vec<std::path::PathBuf> {
        let _ = home;
        Vec::new()
    }
}

/// The default [`Agent::usage`].
pub fn summarize_usage(events: &[AgentEvent]) -> AttemptUsage {
    let mut out = AttemptUsage::default();
    let mut summed: Option<TokenUsage> = None;
    let mut summed_cost: Option<f64> = None;
    for event in events {
        match event {
            AgentEvent::Init { session_id, .. } if session_id.is_some() => {
                out.agent_session_id.clone_from(session_id);
            }
            AgentEvent::Usage { usage, cost_usd } => {
                summed.get_or_insert_with(TokenUsage::default).add(usage);
                if let Some(c) = cost_usd {
                    *summed_cost.get_or_insert(0.0) += c;
                }
            }
            AgentEvent::Result(r) => {
                if r.session_id.is_some() {
                    out.agent_session_id.clone_from(&r.session_id);
                }
                out.cost_usd = r.cost_usd.or(out.cost_usd);
                out.tokens = r.usage.or(out.tokens);
                out.num_turns = r.num_turns.or(out.num_turns);
                out.duration_ms = r.duration_ms.or(out.duration_ms);
            }
            _ => {}
        }
    }
    if summed.is_some() {
        out.tokens = summed;
    }
    if out.cost_usd.is_none() {
        out.cost_usd = summed_cost;
    }
    out
}

/// The last verdict line among `events`.
pub(crate) fn last_result(events: &[AgentEvent]) -> Option<&AgentResult> {
    events.iter().rev().find_map(|e| match e {
        AgentEvent::Result(r) => Some(r),
        _ => None,
    })
}

/// The outcome of a run without a verdict line.
pub(crate) fn without_verdict(end: &SessionEnd) -> AgentOutcome {
    match end {
        SessionEnd::TimedOut => AgentOutcome::TimedOut { idle: false },
        SessionEnd::IdleTimedOut => AgentOutcome::TimedOut { idle: true },
        SessionEnd::Killed => AgentOutcome::Killed,
        SessionEnd::Exited { exit } => AgentOutcome::Crashed { exit: Some(*exit) },
        SessionEnd::Lost => AgentOutcome::Crashed { exit: None },
    }
}

/// The adapter called `name`: `claude`, `codex`, `gemini` or `aider` (the custom command
/// needs a template: see [`crate::CustomCommand::new`]).
pub fn agent_by_name(name: &str) -> Result<Arc<dyn Agent>, AgentError> {
    Ok(match name {
        "claude" | "claude-code" => Arc::new(crate::agents::ClaudeCode::new()),
        "codex" => Arc::new(crate::agents::Codex::new()),
        "gemini" => Arc::new(crate::agents::Gemini::new()),
        "aider" => Arc::new(crate::agents::Aider::new()),
        "custom" => {
            return Err(AgentError::Template {
                problem: "the custom agent needs a command template".into(),
            });
        }
        other => {
            return Err(AgentError::UnknownAgent {
                name: other.to_owned(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_sums_parts_and_prefers_the_result() {
        let events = vec![
            AgentEvent::Init {
                session_id: Some("t1".into()),
                model: None,
                cwd: None,
                tools: vec![],
            },
            AgentEvent::Usage {
                usage: TokenUsage {
                    input_tokens: 10,
                    output_tokens: 2,
                    ..Default::default()
                },
                cost_usd: Some(0.5),
            },
            AgentEvent::Usage {
                usage: TokenUsage {
                    input_tokens: 5,
                    output_tokens: 1,
                    ..Default::default()
                },
                cost_usd: Some(0.25),
            },
        ];
        let u = summarize_usage(&events);
        assert_eq!(u.agent_session_id.as_deref(), Some("t1"));
        assert_eq!(u.tokens.unwrap().input_tokens, 15);
        assert_eq!(u.cost_usd, Some(0.75));
    }

    #[test]
    fn events_serialize_tagged() {
        let e = AgentEvent::Text { text: "hi".into() };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"text","text":"hi"}"#
        );
        let o = AgentOutcome::Failed {
            subtype: "error_max_turns".into(),
            message: None,
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"kind":"failed","subtype":"error_max_turns"}"#
        );
    }

    #[test]
    fn names() {
        for n in ["claude", "codex", "gemini", "aider"] {
            assert_eq!(agent_by_name(n).unwrap().name(), n);
        }
        assert!(agent_by_name("custom").is_err());
        assert!(agent_by_name("vim").is_err());
    }
}
