//! Plain-text agents: Aider and any custom command. The exit code decides.

use std::path::Path;

use crate::agent::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, SessionEnd, TokenUsage, without_verdict,
};
use crate::error::AgentError;
use crate::spec::{CommandSpec, ExitStatus, Stdin};

fn plain_line(line: &str) -> Vec<AgentEvent> {
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Vec::new();
    }
    vec![AgentEvent::Output {
        line: line.to_owned(),
    }]
}

fn exit_code_outcome(end: &SessionEnd) -> AgentOutcome {
    match end {
        SessionEnd::Exited {
            exit: ExitStatus::Code(0),
        } => AgentOutcome::Succeeded,
        SessionEnd::Exited {
            exit: ExitStatus::Code(code),
        } => AgentOutcome::Failed {
            subtype: format!("exit_code_{code}"),
            message: None,
        },
        other => without_verdict(other),
    }
}

/// How [`crate::SessionPool::run`] reads a plain command: every non-blank line is an
/// [`AgentEvent::Output`], the exit code decides. Not an agent: it has no command of its
/// own (the [`crate::SessionRequest`] carries it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainCommand;

impl Agent for PlainCommand {
    fn name(&self) -> &'static str {
        "command"
    }

    fn command(&self, _req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        Err(AgentError::Unsupported {
            agent: "command",
            problem: "a plain command comes with its SessionRequest, not from an AgentRequest"
                .into(),
        })
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        plain_line(line)
    }

    fn outcome(&self, end: &SessionEnd, _events: &[AgentEvent]) -> AgentOutcome {
        exit_code_outcome(end)
    }
}

/// The Aider adapter.
///
/// Runs `aider --message-file <instructions> --yes-always --no-pretty --no-stream
/// --no-check-update [--model M]` with standard input from `/dev/null`; a retry adds
/// `--restore-chat-history`. Output is plain text; Aider's `Tokens: … sent, … received.
/// Cost: $… message, $… session.` lines are read as usage. The exit code decides.
#[derive(Debug, Clone)]
pub struct Aider {
    program: String,
}

impl Aider {
    /// The adapter running `aider` from `PATH`.
    pub fn new() -> Aider {
        Aider {
            program: "aider".into(),
        }
    }

    /// Runs another executable with Aider's command line.
    pub fn with_program(program: impl Into<String>) -> Aider {
        Aider {
            program: program.into(),
        }
    }
}

impl Default for Aider {
    fn default() -> Self {
        Aider::new()
    }
}

impl Agent for Aider {
    fn state_paths(&self, home: &std::path::Path) -> Vec<std::path::PathBuf> {
        [".aider", ".aider.conf.yml", ".cache"]
            .iter()
            .map(|p| home.join(p))
            .collect()
    }

    fn name(&self) -> &'static str {
        "aider"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        let prompt = path_str(&req.prompt_file)?;
        let mut argv: Vec<String> = vec![
            self.program.clone(),
            "--message-file".into(),
            prompt,
            "--yes-always".into(),
            "--no-pretty".into(),
            "--no-stream".into(),
            "--no-check-update".into(),
        ];
        if let Some(model) = &req.model {
            argv.extend(["--model".into(), model.clone()]);
        }
        if req.resume.is_some() {
            argv.push("--restore-chat-history".into());
        }
        argv.extend(req.extra_args.iter().cloned());
        Ok(CommandSpec {
            argv,
            env: req.env.clone(),
            stdin: Stdin::Null,
        })
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        let mut out = plain_line(line);
        if let Some(usage) = aider_usage(line) {
            out.push(usage);
        }
        out
    }

    fn outcome(&self, end: &SessionEnd, _events: &[AgentEvent]) -> AgentOutcome {
        exit_code_outcome(end)
    }
}

/// `Tokens: 4.2k sent, 1.1k cache hit, 130 received. Cost: $0.01 message, $0.02 session.`
fn aider_usage(line: &str) -> Option<AgentEvent> {
    let rest = line.trim().strip_prefix("Tokens:")?;
    let (tokens, cost) = match rest.split_once("Cost:") {
        Some((t, c)) => (t, Some(c)),
        None => (rest, None),
    };
    let mut usage = TokenUsage::default();
    for part in tokens.trim().trim_end_matches('.').split(',') {
        let part = part.trim().trim_end_matches('.');
        let (number, label) = part.split_once(' ')?;
        let n = parse_count(number)?;
        match label.trim() {
            "sent" => usage.input_tokens += n,
            "received" => usage.output_tokens += n,
            "cache hit" => usage.cache_read_input_tokens += n,
            "cache write" => usage.cache_creation_input_tokens += n,
            _ => {}
        }
    }
    let cost_usd = cost.and_then(|c| {
        c.split(',')
            .find(|p| p.contains("message"))
            .and_then(|p| p.trim().strip_prefix('$'))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.replace(',', "").parse::<f64>().ok())
    });
    Some(AgentEvent::Usage { usage, cost_usd })
}

fn parse_count(text: &str) -> Option<u64> {
    let text = text.replace(',', "");
    let (digits, factor) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1_000.0),
        'm' | 'M' => (&text[..text.len() - 1], 1_000_000.0),
        _ => (text.as_str(), 1.0),
    };
    let value: f64 = digits.parse().ok()?;
    // Counts are small whole numbers; rounding is the intent.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((value * factor).round() as u64)
}

fn path_str(path: &Path) -> Result<String, AgentError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| AgentError::Unsupported {
            agent: "aider",
            problem: format!("path {} is not valid UTF-8", path.display()),
        })
}

/// Any command, from an argv template.
///
/// Each template word may contain placeholders, replaced inside the word (no shell, so no
/// quoting issue): `{prompt_file}` (the instruction file), `{cwd}` (the task's workspace),
/// `{task_id}` or its alias `{task}`, and `{session_id}` (orch's session id for this
/// attempt; empty when resuming). `{{` and `}}` stand for literal braces, so `sh -c` scripts
/// and JSON arguments can be written (`"sh", "-c", "f() {{ cat \"$1\"; }}; f {prompt_file}"`).
/// Output is plain text; the exit code decides.
#[derive(Debug, Clone)]
pub struct CustomCommand {
    template: Vec<Vec<Piece>>,
}

/// One part of a template word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    PromptFile,
    Cwd,
    TaskId,
    SessionId,
}

/// Every placeholder a template may use, with what it stands for.
pub const CUSTOM_PLACEHOLDERS: [&str; 5] = [
    "{prompt_file}",
    "{cwd}",
    "{task_id}",
    "{task}",
    "{session_id}",
];

fn placeholder(name: &str) -> Option<Piece> {
    Some(match name {
        "prompt_file" => Piece::PromptFile,
        "cwd" => Piece::Cwd,
        "task_id" | "task" => Piece::TaskId,
        "session_id" => Piece::SessionId,
        _ => return None,
    })
}

/// Splits one template word into text and placeholders.
fn parse_word(word: &str) -> Result<Vec<Piece>, AgentError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = word.char_indices().peekable();
    let problem = |what: String| AgentError::Template {
        problem: format!(
            "{what} in {word:?}; placeholders are {}, and {{{{ }}}} write literal braces",
            CUSTOM_PLACEHOLDERS.join(", ")
        ),
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let rest = &word[i + 1..];
                let Some(end) = rest.find('}') else {
                    return Err(problem("an unclosed `{`".into()));
                };
                let name = &rest[..end];
                let Some(piece) = placeholder(name) else {
                    return Err(problem(format!("unknown placeholder {{{name}}}")));
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(piece);
                // Skip the name and the closing brace.
                for _ in 0..=name.chars().count() {
                    chars.next();
                }
            }
            '}' => return Err(problem("a lone `}`".into())),
            other => text.push(other),
        }
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

impl CustomCommand {
    /// Checks the template: at least a program, only known placeholders
    /// ([`CUSTOM_PLACEHOLDERS`]) and braces written as `{{` / `}}` elsewhere.
    pub fn new<I, S>(template: I) -> Result<CustomCommand, AgentError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let words: Vec<String> = template.into_iter().map(Into::into).collect();
        if words.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(AgentError::Template {
                problem: "the template is empty".into(),
            });
        }
        let template = words
            .iter()
            .map(|w| parse_word(w))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CustomCommand { template })
    }
}

impl Agent for CustomCommand {
    fn name(&self) -> &'static str {
        "custom"
    }

    fn command(&self, req: &AgentRequest) -> Result<CommandSpec, AgentError> {
        let prompt = path_str(&req.prompt_file)?;
        let cwd = path_str(&req.cwd)?;
        let session = req.session_id.as_deref().unwrap_or_default();
        let argv = self
            .template
            .iter()
            .map(|word| {
                word.iter()
                    .map(|piece| match piece {
                        Piece::Text(text) => text.as_str(),
                        Piece::PromptFile => prompt.as_str(),
                        Piece::Cwd => cwd.as_str(),
                        Piece::TaskId => req.task.as_str(),
                        Piece::SessionId => session,
                    })
                    .collect::<String>()
            })
            .collect();
        Ok(CommandSpec {
            argv,
            env: req.env.clone(),
            stdin: Stdin::Null,
        })
    }

    fn parse_line(&self, line: &str) -> Vec<AgentEvent> {
        plain_line(line)
    }

    fn outcome(&self, end: &SessionEnd, _events: &[AgentEvent]) -> AgentOutcome {
        exit_code_outcome(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::TaskId;

    fn req() -> AgentRequest {
        AgentRequest::new(
            TaskId::new("TASK-X-001").unwrap(),
            "/repo/.orch/instructions/TASK-X-001.md",
            "/repo/.worktrees/TASK-X-001",
        )
    }

    #[test]
    fn custom_template() {
        let c =
            CustomCommand::new(["my-agent", "--in={prompt_file}", "{cwd}", "t:{task_id}"]).unwrap();
        let cmd = c.command(&req()).unwrap();
        assert_eq!(
            cmd.argv,
            [
                "my-agent",
                "--in=/repo/.orch/instructions/TASK-X-001.md",
                "/repo/.worktrees/TASK-X-001",
                "t:TASK-X-001"
            ]
        );
        assert!(CustomCommand::new(["x", "{prompt}"]).is_err());
        assert!(CustomCommand::new(Vec::<String>::new()).is_err());
        assert!(CustomCommand::new(["x", "{"]).is_err());
        assert!(CustomCommand::new(["x", "}"]).is_err());
        assert!(CustomCommand::new(["x", "{task_id"]).is_err());
    }

    #[test]
    fn documented_placeholders_and_literal_braces() {
        let c = CustomCommand::new([
            "sh",
            "-c",
            "f() {{ echo \"$1\"; }}; f {task} {session_id}",
            "{{\"task\": \"{task_id}\"}}",
            "{cwd}{{}}",
        ])
        .unwrap();
        let mut request = req();
        request.session_id = Some("0123".into());
        let cmd = c.command(&request).unwrap();
        assert_eq!(
            cmd.argv,
            [
                "sh",
                "-c",
                "f() { echo \"$1\"; }; f TASK-X-001 0123",
                "{\"task\": \"TASK-X-001\"}",
                "/repo/.worktrees/TASK-X-001{}",
            ]
        );
        // Every documented placeholder is accepted.
        for p in CUSTOM_PLACEHOLDERS {
            CustomCommand::new(["x", p]).unwrap();
        }
        let err = CustomCommand::new(["x", "{nope}"]).unwrap_err().to_string();
        assert!(
            err.contains("{nope}") && err.contains("{session_id}"),
            "{err}"
        );
    }

    #[test]
    fn exit_code_decides() {
        let c = CustomCommand::new(["x"]).unwrap();
        let end = |code| SessionEnd::Exited {
            exit: ExitStatus::Code(code),
        };
        assert_eq!(c.outcome(&end(0), &[]), AgentOutcome::Succeeded);
        assert_eq!(
            c.outcome(&end(2), &[]),
            AgentOutcome::Failed {
                subtype: "exit_code_2".into(),
                message: None
            }
        );
        assert_eq!(
            c.outcome(
                &SessionEnd::Exited {
                    exit: ExitStatus::Signal(9)
                },
                &[]
            ),
            AgentOutcome::Crashed {
                exit: Some(ExitStatus::Signal(9))
            }
        );
        assert_eq!(c.parse_line("  "), vec![]);
    }

    #[test]
    fn aider_command_and_usage() {
        let cmd = Aider::new().command(&req()).unwrap();
        assert_eq!(
            &cmd.argv[..3],
            [
                "aider",
                "--message-file",
                "/repo/.orch/instructions/TASK-X-001.md"
            ]
        );
        assert!(cmd.argv.contains(&"--yes-always".to_owned()));
        let ev = Aider::new().parse_line(
            "Tokens: 4.2k sent, 1.1k cache hit, 130 received. Cost: $0.01 message, $0.05 session.",
        );
        assert_eq!(
            ev[1],
            AgentEvent::Usage {
                usage: TokenUsage {
                    input_tokens: 4200,
                    output_tokens: 130,
                    cache_read_input_tokens: 1100,
                    cache_creation_input_tokens: 0
                },
                cost_usd: Some(0.01)
            }
        );
        assert_eq!(
            Aider::new().parse_line("Applied edit to src/lib.rs").len(),
            1
        );
    }
}
