//! Progress of `orch run` and `orch demo`: on a terminal, a live block (one line per active
//! task and an overall bar) under the scrolling event lines; otherwise plain lines only,
//! with a progress line when the counts change.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use orch_engine::{Progress, RunEvent, RunSnapshot};

use crate::output::truncate;

/// Draws a run's progress on stderr (stdout stays free for `--json`).
#[derive(Debug)]
pub struct Renderer {
    live: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Lines of the live block currently on screen.
    drawn: usize,
    last: Option<RunSnapshot>,
    /// (done, dropped, escalated, active) when a plain progress line was last printed.
    last_counts: Option<(usize, usize, usize, usize)>,
}

pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(0);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

impl Renderer {
    pub fn new() -> Renderer {
        Renderer {
            live: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn line(event: &RunEvent) -> String {
        match event {
            RunEvent::Recovered {
                adopted,
                lost,
                resumed,
            } => format!(
                "recovered an interrupted run: {} session(s) adopted, {} lost (retried), {} verification(s)/merge(s) resumed",
                adopted.len(),
                lost.len(),
                resumed.len()
            ),
            RunEvent::TaskStarted {
                task,
                attempt,
                agent,
                attach,
            } => format!(
                "▶ {task} attempt {attempt} ({agent}){}",
                attach
                    .as_deref()
                    .map(|a| format!(" — watch: {a}"))
                    .unwrap_or_default()
            ),
            RunEvent::TaskPhase { task, status } => format!("  {task} {status}"),
            RunEvent::ScopeViolation { task, files } => format!(
                "! {task} changed files outside its scope: {}",
                truncate(&files.join(", "), 80)
            ),
            RunEvent::TaskFailed {
                task,
                attempt,
                kind,
                summary,
                next,
            } => format!(
                "✗ {task} attempt {attempt}: {kind}: {} → {next}",
                truncate(summary, 90)
            ),
            RunEvent::TaskCompleted {
                task,
                attempts,
                quality,
            } => format!(
                "✓ {task} merged after {attempts} attempt(s){}",
                quality
                    .map(|q| format!(", quality {q:.2}"))
                    .unwrap_or_default()
            ),
            RunEvent::Question {
                message,
                task,
                text,
            } => format!(
                "? {message} about {task} — answer with `orch msg answer {message} <LETTER>`\n{}",
                text.lines()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            RunEvent::DecisionApplied {
                message,
                task,
                action,
            } => {
                format!("→ {message}: `{action}` applied to {task}")
            }
            RunEvent::EpicFinished { epic, outcome } => format!("◆ epic {epic}: {outcome}"),
            RunEvent::Note { text } => format!("  {text}"),
            _ => format!("{event:?}"),
        }
    }

    fn block(snapshot: &RunSnapshot) -> Vec<String> {
        let mut lines: Vec<String> = snapshot
            .active
            .iter()
            .map(|a| {
                format!(
                    "  {:<14} {:<9} {} #{} {}",
                    a.task.as_str(),
                    a.status.as_str(),
                    clock(a.elapsed),
                    a.attempt,
                    truncate(a.last_output.as_deref().unwrap_or(""), 60)
                )
            })
            .collect();
        lines.push(Renderer::summary(snapshot));
        lines
    }

    fn summary(s: &RunSnapshot) -> String {
        format!(
            "  wave {}/{} {} {}/{} done{}{} · {}",
            s.wave.map_or_else(|| "-".to_owned(), |w| w.to_string()),
            s.waves,
            bar(s.done + s.dropped, s.total, 24),
            s.done,
            s.total,
            if s.dropped > 0 {
                format!(", {} skipped", s.dropped)
            } else {
                String::new()
            },
            if s.escalated > 0 {
                format!(", {} waiting for you", s.escalated)
            } else {
                String::new()
            },
            clock(s.elapsed)
        )
    }

    fn erase(state: &mut State, err: &mut impl std::io::Write) {
        if state.drawn > 0 {
            let _ = write!(err, "\x1b[{}A\x1b[J", state.drawn);
            state.drawn = 0;
        }
    }

    fn draw(state: &mut State, err: &mut impl std::io::Write) {
        if let Some(snapshot) = &state.last {
            let lines = Renderer::block(snapshot);
            for line in &lines {
                let _ = writeln!(err, "{}", orch_core::sanitize_line(line));
            }
            state.drawn = lines.len();
        }
    }

    /// Clears the live block (before the final report).
    pub fn finish(&self) {
        if self.live {
            let mut state = self.state();
            let mut err = std::io::stderr().lock();
            Renderer::erase(&mut state, &mut err);
        }
    }

    /// Prints a line of its own (the demo's "human" answering).
    pub fn say(&self, text: &str) {
        self.print(text);
    }

    fn print(&self, text: &str) {
        let mut state = self.state();
        let mut err = std::io::stderr().lock();
        if self.live {
            Renderer::erase(&mut state, &mut err);
        }
        let elapsed = state.last.as_ref().map(|s| s.elapsed).unwrap_or_default();
        // Events carry agent output, task titles and questions: no escape sequence of
        // theirs reaches the terminal.
        let text = crate::output::sanitize(text);
        let _ = writeln!(err, "[{}] {text}", clock(elapsed));
        if self.live {
            Renderer::draw(&mut state, &mut err);
        }
    }
}

impl Progress for Renderer {
    fn event(&self, event: &RunEvent) {
        if matches!(event, RunEvent::TaskPhase { .. }) && self.live {
            return; // the live block shows phases
        }
        self.print(&Renderer::line(event));
    }

    fn snapshot(&self, snapshot: &RunSnapshot) {
        let mut state = self.state();
        state.last = Some(snapshot.clone());
        let mut err = std::io::stderr().lock();
        if self.live {
            Renderer::erase(&mut state, &mut err);
            Renderer::draw(&mut state, &mut err);
            return;
        }
        let counts = (
            snapshot.done,
            snapshot.dropped,
            snapshot.escalated,
            snapshot.active.len(),
        );
        if state.last_counts != Some(counts) {
            state.last_counts = Some(counts);
            let _ = writeln!(
                err,
                "[{}] {} running · {}",
                clock(snapshot.elapsed),
                snapshot.active.len(),
                Renderer::summary(snapshot).trim()
            );
        }
    }
}
