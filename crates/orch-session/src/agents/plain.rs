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
/// Each template word may contain `{prompt_file}`, `{cwd}` and `{task_id}`; they are
/// replaced inside the word (no shell, so no quoting issue). Output is plain text; the
/// exit code decides.
#[derive(Debug, Clone)]
pub struct CustomCommand {
    template: Vec<String>,
}

const PLACEHOLDERS: [&str; 3] = ["{prompt_file}", "{cwd}", "{task_id}"];

impl CustomCommand {
    /// Checks the template: at least a program, and no placeholder other than
    /// `{prompt_file}`, `{cwd}` and `{task_id}`.
    pub fn new<I, S>(template: I) -> Result<CustomCommand, AgentError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let template: Vec<String> = template.into_iter().map(Into::into).collect();
        if template.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(AgentError::Template {
                problem: "the template is empty".into(),
            });
        }
        for word in &template {
            let mut rest = word.as_str();
            while let Some(start) = rest.find('{') {
                let tail = &rest[start..];
                match PLACEHOLDERS.iter().find(|p| tail.starts_with(*p)) {
                    Some(p) => rest = &tail[p.len()..],
                    None => {
                        let end = tail.find('}').map_or(tail.len(), |e| e + 1);
                        return Err(AgentError::Template {
                            problem: format!(
                                "unknown placeholder {:?} in {word:?}; use {{prompt_file}}, {{cwd}} or {{task_id}}",
                                &tail[..end]
                            ),
                        });
                    }
                }
            }
        }
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
        let argv = self
            .template
            .iter()
            .map(|w| {
                w.replace("{prompt_file}", &prompt)
                    .replace("{cwd}", &cwd)
                    .replace("{task_id}", req.task.as_str())
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
