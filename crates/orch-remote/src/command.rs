//! The commands a chat accepts, the same on every platform, and what they do to the store.
//! Answers go through the same compare-and-swap as `orch msg answer`, so a button pressed
//! twice, or on two platforms at once, answers once; the second press is told who was
//! first. Replies are plain text (each platform wraps them); everything an agent wrote is
//! redacted before it leaves.

use std::fmt;
use std::path::{Path, PathBuf};

use orch_core::{Spend, TaskId, TaskStatus};
use orch_escalation::{LifecycleError, PmMessage, answer_stored_by, decode_stored};
use orch_store::{ControlAction, Store, StoreError, TaskFilter};

/// Most task rows `tasks` lists.
const MAX_TASK_ROWS: usize = 40;
/// Log lines `logs` shows.
const LOG_LINES: usize = 15;
/// Longest note an answer keeps.
const MAX_NOTE_CHARS: usize = 2000;

/// One request from a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Wave, done/total, running, waiting for you, spend.
    Status,
    /// Every task with its status (the first 40).
    Tasks,
    /// One task in short.
    Task(TaskId),
    /// Answer a PM message with an option, and a note.
    Answer {
        /// `PM-0001`, `pm-1` or `1`.
        message: String,
        /// The option letter.
        option: String,
        /// A note for the record (and the agent).
        note: Option<String>,
    },
    /// Start no new attempts.
    Pause,
    /// Start attempts again.
    Resume,
    /// Stop gracefully.
    Stop,
    /// The last lines of a task's latest log.
    Logs(TaskId),
    /// What can be typed.
    Help,
}

impl Command {
    /// Parses `status`, `task TASK-A-001`, `answer PM-0001 B why not`, … (a leading `orch`
    /// or `/orch` is ignored, case-insensitive command words).
    pub fn parse(text: &str) -> Result<Command, String> {
        let text = text.trim();
        let mut words = text.split_whitespace().peekable();
        if words
            .peek()
            .is_some_and(|w| w.eq_ignore_ascii_case("orch") || w.eq_ignore_ascii_case("/orch"))
        {
            words.next();
        }
        let Some(verb) = words.next() else {
            return Ok(Command::Help);
        };
        let task = |arg: Option<&str>| -> Result<TaskId, String> {
            let arg =
                arg.ok_or_else(|| format!("`{verb}` needs a task id, e.g. `{verb} TASK-BA-001`"))?;
            TaskId::new(arg).map_err(|e| format!("`{arg}` is not a task id: {e}"))
        };
        let command = match verb.to_ascii_lowercase().as_str() {
            "status" => Command::Status,
            "tasks" => Command::Tasks,
            "task" => Command::Task(task(words.next())?),
            "logs" | "log" => Command::Logs(task(words.next())?),
            "pause" => Command::Pause,
            "resume" => Command::Resume,
            "stop" => Command::Stop,
            "help" => Command::Help,
            "answer" => {
                let message = words
                    .next()
                    .ok_or("`answer` needs a message id and an option, e.g. `answer PM-0001 A`")?
                    .to_owned();
                let option = words
                    .next()
                    .ok_or("`answer` needs an option letter after the message id")?
                    .to_owned();
                let note: String = words.by_ref().collect::<Vec<_>>().join(" ");
                if note.chars().count() > MAX_NOTE_CHARS {
                    return Err(format!(
                        "the note is longer than {MAX_NOTE_CHARS} characters"
                    ));
                }
                Command::Answer {
                    message,
                    option,
                    note: (!note.is_empty()).then_some(note),
                }
            }
            other => {
                return Err(format!(
                    "unknown command `{}`; try `help`",
                    other.chars().take(40).collect::<String>()
                ));
            }
        };
        if !matches!(command, Command::Answer { .. }) && words.next().is_some() {
            return Err(format!("`{verb}` takes nothing more; try `help`"));
        }
        Ok(command)
    }

    /// Whether it changes anything (everything but reading).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Command::Answer { .. } | Command::Pause | Command::Resume | Command::Stop
        )
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Status => f.write_str("status"),
            Command::Tasks => f.write_str("tasks"),
            Command::Task(t) => write!(f, "task {t}"),
            Command::Answer {
                message, option, ..
            } => write!(f, "answer {message} {option}"),
            Command::Pause => f.write_str("pause"),
            Command::Resume => f.write_str("resume"),
            Command::Stop => f.write_str("stop"),
            Command::Logs(t) => write!(f, "logs {t}"),
            Command::Help => f.write_str("help"),
        }
    }
}

/// The text of `help`.
pub const HELP: &str = "orch commands:
status — wave, done/total, running, waiting for you, spend
tasks — every task and its status
task TASK-ID — one task
answer PM-0001 A [note] — answer a question
pause / resume — stop or restart starting new attempts
stop — finish running tasks, start no new ones, end the run
logs TASK-ID — the last lines of its agent's log";

/// Where the store and the logs are.
#[derive(Debug, Clone)]
pub struct Project {
    /// `.orch/state.db`.
    pub store: PathBuf,
    /// The run limit from `[budget] run_usd`, for `status`.
    pub budget_usd: Option<f64>,
}

/// What running a command changed, besides its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read only.
    None,
    /// Answered a message.
    Answered,
    /// Somebody answered first: nothing written.
    AlreadyAnswered,
    /// Paused, resumed or stopped.
    Controlled,
}

/// A command's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Plain text for the chat.
    pub text: String,
    /// What it did.
    pub effect: Effect,
}

impl Reply {
    fn read(text: String) -> Reply {
        Reply {
            text,
            effect: Effect::None,
        }
    }
}

/// Runs `command` for `by` (`slack:U123`) on the project's store (blocking: call it off the
/// async runtime).
pub fn execute(project: &Project, command: &Command, by: &str) -> Result<Reply, String> {
    let mut store = Store::open_existing(&project.store).map_err(|e| e.to_string())?;
    let text = |r: Result<String, StoreError>| r.map(Reply::read).map_err(|e| e.to_string());
    match command {
        Command::Help => Ok(Reply::read(HELP.to_owned())),
        Command::Status => text(status(&store, project.budget_usd)),
        Command::Tasks => text(tasks(&store)),
        Command::Task(id) => text(task(&store, id)),
        Command::Logs(id) => text(logs(&store, id)),
        Command::Answer {
            message,
            option,
            note,
        } => answer(&mut store, message, option, note.as_deref(), by),
        Command::Pause | Command::Resume | Command::Stop => {
            let action = match command {
                Command::Pause => ControlAction::Pause,
                Command::Resume => ControlAction::Resume,
                _ => ControlAction::Stop,
            };
            store
                .request_control(action, by)
                .map_err(|e| e.to_string())?;
            let running = run_in_progress(&store);
            let text = match (action, running) {
                (ControlAction::Pause, _) => {
                    "Paused: no new attempts start; running ones go on. `resume` starts them again."
                }
                (ControlAction::Resume, _) => "Resumed: attempts start again.",
                (ControlAction::Stop, true) => {
                    "Stopping: running tasks finish, no new ones start, then the run ends."
                }
                (ControlAction::Stop, false) => "No run is in progress; nothing to stop.",
            };
            Ok(Reply {
                text: text.to_owned(),
                effect: Effect::Controlled,
            })
        }
    }
}

fn run_in_progress(store: &Store) -> bool {
    store.lease().ok().flatten().is_some_and(|l| {
        let age = time::OffsetDateTime::now_utc() - l.heartbeat_at;
        age.whole_seconds() < 60
    })
}

fn messages(store: &Store) -> Result<Vec<orch_escalation::StoredPmMessage>, StoreError> {
    Ok(store
        .messages()?
        .iter()
        .filter_map(|row| decode_stored(&row.id, &row.json).ok())
        .collect())
}

fn status(store: &Store, budget: Option<f64>) -> Result<String, StoreError> {
    let Some(plan) = store.plan_info()? else {
        return Ok("No plan yet: `orch plan PRD.md`.".to_owned());
    };
    let summary = store.summary()?;
    let count = |s: TaskStatus| summary.by_status.get(&s).copied().unwrap_or(0);
    let running =
        count(TaskStatus::Running) + count(TaskStatus::Verifying) + count(TaskStatus::Merging);
    let questions: Vec<String> = messages(store)?
        .into_iter()
        .filter(|m| m.message.is_pending())
        .map(|m| m.message.id.to_string())
        .collect();
    let reviews = count(TaskStatus::AwaitingReview);
    let spend = Spend {
        spent_usd: summary.spent_usd,
        limit_usd: store.run_budget(budget)?,
    };
    let mut out = format!("{}\n", plan.name);
    out.push_str(&match summary.current_wave {
        Some(w) => format!("wave {w} of {}", summary.wave_count),
        None => "every task has finished".to_owned(),
    });
    out.push_str(&format!(
        " · done {}/{} · running {running}",
        count(TaskStatus::Completed),
        summary.total
    ));
    let stuck =
        count(TaskStatus::Failed) + count(TaskStatus::Escalated) + count(TaskStatus::Blocked);
    if stuck > 0 {
        out.push_str(&format!(" · stuck {stuck}"));
    }
    out.push('\n');
    if questions.is_empty() && reviews == 0 {
        out.push_str("waiting for you: nothing\n");
    } else {
        let mut waiting = Vec::new();
        if !questions.is_empty() {
            waiting.push(format!("questions {}", questions.join(", ")));
        }
        if reviews > 0 {
            waiting.push(format!(
                "{reviews} review{}",
                if reviews == 1 { "" } else { "s" }
            ));
        }
        out.push_str(&format!("waiting for you: {}\n", waiting.join("; ")));
    }
    out.push_str(&format!("spent: {}", spend.describe()));
    let control = store.run_control()?;
    if let Some(by) = control.paused_by {
        out.push_str(&format!("\npaused by {by}"));
    }
    out.push_str(if run_in_progress(store) {
        "\na run is in progress"
    } else {
        "\nno run in progress"
    });
    Ok(out)
}

fn tasks(store: &Store) -> Result<String, StoreError> {
    let all = store.tasks(&TaskFilter::default())?;
    if all.is_empty() {
        return Ok("No tasks.".to_owned());
    }
    let mut out = String::new();
    for record in all.iter().take(MAX_TASK_ROWS) {
        let t = &record.task;
        out.push_str(&format!("{} {} {}\n", t.id, t.status, clean(&t.title, 60)));
    }
    if all.len() > MAX_TASK_ROWS {
        out.push_str(&format!(
            "… {} more (`orch status` shows all)\n",
            all.len() - MAX_TASK_ROWS
        ));
    }
    Ok(out.trim_end().to_owned())
}

fn task(store: &Store, id: &TaskId) -> Result<String, StoreError> {
    let record = store.task(id)?;
    let t = &record.task;
    let mut out = format!(
        "{} {}\n{} · wave {} · {} attempt{}",
        t.id,
        clean(&t.title, 120),
        t.status,
        record.wave,
        t.attempts,
        if t.attempts == 1 { "" } else { "s" }
    );
    if let Some(last) = store.attempts(Some(id))?.pop() {
        out.push_str(&format!(
            "\nlast attempt {}: {}",
            last.attempt,
            last.result.as_deref().unwrap_or("running")
        ));
        if let Some(q) = last.quality {
            out.push_str(&format!(" · quality {q:.2}"));
        }
        if let Some(summary) = &last.summary {
            out.push_str(&format!("\n{}", clean(summary, 300)));
        }
    }
    Ok(out)
}

fn answer(
    store: &mut Store,
    id: &str,
    option: &str,
    note: Option<&str>,
    by: &str,
) -> Result<Reply, String> {
    let loaded = messages(store).map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc();
    let first = |message: &PmMessage| -> String {
        match message.decided_by() {
            Some((who, at)) => format!(
                "{} was already answered: {} by {} at {}",
                message.id,
                decided_option(message),
                who.unwrap_or("someone"),
                at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ),
            None => format!(
                "{} cannot be answered any more (it is {})",
                message.id,
                message.state.name()
            ),
        }
    };
    let stored = match answer_stored_by(&loaded, id, option, note, Some(by), now) {
        Ok(stored) => stored,
        Err(LifecycleError::IllegalTransition { message, .. }) => {
            let current = loaded
                .iter()
                .find(|m| m.message.id == message)
                .map(|m| first(&m.message));
            return Ok(Reply {
                text: current.unwrap_or_else(|| format!("{message} cannot be answered any more")),
                effect: Effect::AlreadyAnswered,
            });
        }
        Err(e) => return Err(e.to_string()),
    };
    let message = &stored.answered.message;
    match store.update_message_if(
        message.id.as_str(),
        &stored.expected,
        &message.task,
        message.state.name(),
        &stored.document,
    ) {
        Ok(_) => Ok(Reply {
            text: format!(
                "{}: answered {} — the runner will {}",
                message.id,
                decided_option(message),
                stored.answered.action
            ),
            effect: Effect::Answered,
        }),
        Err(StoreError::MessageChanged { .. }) => {
            // Somebody else wrote first: read what they did.
            let now_stored = messages(store).map_err(|e| e.to_string())?;
            let text = now_stored
                .iter()
                .find(|m| m.message.id == message.id)
                .map(|m| first(&m.message))
                .unwrap_or_else(|| format!("{} changed meanwhile; look at it again", message.id));
            Ok(Reply {
                text,
                effect: Effect::AlreadyAnswered,
            })
        }
        Err(e) => Err(e.to_string()),
    }
}

fn decided_option(message: &PmMessage) -> String {
    match &message.state {
        orch_escalation::MessageState::Decided { option, .. }
        | orch_escalation::MessageState::Applied { option, .. } => {
            let title = message
                .option(*option)
                .map(|o| format!(" ({})", clean(&o.title, 80)))
                .unwrap_or_default();
            format!("{option}{title}")
        }
        other => other.name().to_owned(),
    }
}

fn logs(store: &Store, id: &TaskId) -> Result<String, StoreError> {
    store.task(id)?;
    let Some(last) = store.attempts(Some(id))?.pop() else {
        return Ok(format!("{id} has not run yet."));
    };
    let lines = log_tail(Path::new(&last.log_path), LOG_LINES);
    if lines.is_empty() {
        return Ok(format!("{id}, attempt {}: no output yet.", last.attempt));
    }
    Ok(format!(
        "{id}, attempt {} (last {} lines):\n{}",
        last.attempt,
        lines.len(),
        lines.join("\n")
    ))
}

/// The last `n` readable lines of an attempt log (Claude Code stream-json read as steps,
/// other output as it is), redacted.
fn log_tail(path: &Path, n: usize) -> Vec<String> {
    use orch_session::{Agent as _, AgentEvent};
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(256 << 10)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let claude = orch_session::ClaudeCode::new();
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        for event in claude.parse_line(raw) {
            let line = match event {
                AgentEvent::Text { text } => text,
                AgentEvent::ToolUse { name, .. } => format!("[{name}]"),
                AgentEvent::Output { line } => line,
                AgentEvent::Error { message, .. } => format!("error: {message}"),
                _ => continue,
            };
            lines.extend(
                line.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| clean(l, 300)),
            );
        }
    }
    let start = lines.len().saturating_sub(n);
    lines.split_off(start)
}

/// Untrusted text for a chat: control characters and escape sequences out, secrets
/// redacted, at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let safe = orch_core::sanitize_terminal(text);
    static REDACTOR: std::sync::OnceLock<orch_secrets::Redactor> = std::sync::OnceLock::new();
    let redactor = REDACTOR.get_or_init(|| orch_secrets::Redactor::from_env(Vec::new()));
    let redacted = redactor.redact_text(&safe);
    let mut out: String = redacted.chars().take(max).collect();
    if redacted.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_the_same_everywhere() {
        assert_eq!(Command::parse("status"), Ok(Command::Status));
        assert_eq!(Command::parse("/orch Status"), Ok(Command::Status));
        assert_eq!(Command::parse("orch tasks"), Ok(Command::Tasks));
        assert_eq!(Command::parse(""), Ok(Command::Help));
        assert_eq!(
            Command::parse("answer PM-0001 B  mock the clock"),
            Ok(Command::Answer {
                message: "PM-0001".into(),
                option: "B".into(),
                note: Some("mock the clock".into())
            })
        );
        assert_eq!(
            Command::parse("logs TASK-A-001"),
            Ok(Command::Logs(TaskId::new("TASK-A-001").unwrap()))
        );
        assert!(Command::parse("task ../etc").is_err());
        assert!(Command::parse("answer PM-0001").is_err());
        assert!(Command::parse("status now").is_err());
        assert!(
            Command::parse("rm -rf /")
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(Command::Pause.writes() && !Command::Status.writes());
    }
}
