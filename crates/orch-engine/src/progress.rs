//! What a run tells its watcher as it goes ([`RunEvent`], [`RunSnapshot`] through the
//! [`Progress`] trait) and what it hands back at the end ([`RunReport`]).

use std::time::Duration;

use orch_core::{EpicId, TaskId, TaskStatus};
use serde::Serialize;

/// Something worth a line in the run's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunEvent {
    /// Tasks left by an earlier, interrupted run were picked up.
    Recovered {
        /// Sessions still alive (or finished) that were adopted.
        adopted: Vec<TaskId>,
        /// Tasks whose session was gone: counted as a crashed attempt.
        lost: Vec<TaskId>,
        /// Tasks whose verification or merge was resumed.
        resumed: Vec<TaskId>,
    },
    /// An agent session started on a task.
    TaskStarted {
        /// The task.
        task: TaskId,
        /// Attempt number.
        attempt: u32,
        /// Agent name.
        agent: String,
        /// How a human can watch it (`tmux -L orch attach -t …`), when possible.
        attach: Option<String>,
    },
    /// A task moved to another phase.
    TaskPhase {
        /// The task.
        task: TaskId,
        /// Its new status.
        status: TaskStatus,
    },
    /// A task changed files outside its declared scope (reported, not refused).
    ScopeViolation {
        /// The task.
        task: TaskId,
        /// The files.
        files: Vec<String>,
    },
    /// A task's attempt failed verification; what happens next.
    TaskFailed {
        /// The task.
        task: TaskId,
        /// Attempt number.
        attempt: u32,
        /// Failure kind (`no_changes`, `tests_failing`, …).
        kind: String,
        /// One line.
        summary: String,
        /// `retry`, `escalate`, `hold`, `suppress`, or `interrupted`.
        next: String,
    },
    /// A task passed the gate and was merged into its epic branch.
    TaskCompleted {
        /// The task.
        task: TaskId,
        /// Attempts it took.
        attempts: u32,
        /// Quality score, when the gate ran.
        quality: Option<f64>,
    },
    /// A question for a human.
    Question {
        /// Message id (`PM-0001`).
        message: String,
        /// The task.
        task: TaskId,
        /// The question and its options, as text.
        text: String,
    },
    /// A human's decision was applied.
    DecisionApplied {
        /// Message id.
        message: String,
        /// The task.
        task: TaskId,
        /// The action (`retry`, `accept`, `skip`, …).
        action: String,
    },
    /// A finished epic's branch was merged into the base branch, left, or proposed as a PR.
    EpicFinished {
        /// The epic.
        epic: EpicId,
        /// What happened, one line.
        outcome: String,
    },
    /// Anything else worth saying (warnings included).
    Note {
        /// The text.
        text: String,
    },
}

/// The state of the run at one moment, for a live display.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSnapshot {
    /// The lowest wave with unfinished work.
    pub wave: Option<u32>,
    /// Number of waves.
    pub waves: u32,
    /// Completed tasks.
    pub done: usize,
    /// Skipped or cancelled tasks.
    pub dropped: usize,
    /// All tasks.
    pub total: usize,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Tasks waiting for a human.
    pub escalated: usize,
    /// One row per active task.
    pub active: Vec<ActiveTask>,
}

/// A task that is running, verifying or merging.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActiveTask {
    /// The task.
    pub task: TaskId,
    /// Running, verifying or merging.
    pub status: TaskStatus,
    /// Attempt number.
    pub attempt: u32,
    /// Time in this attempt.
    pub elapsed: Duration,
    /// The agent's latest line, shortened.
    pub last_output: Option<String>,
}

/// Watches a run. Both methods are called from the run's own loop: keep them quick.
pub trait Progress: Send + Sync {
    /// Something happened.
    fn event(&self, event: &RunEvent);
    /// The state now; called a few times a second.
    fn snapshot(&self, _snapshot: &RunSnapshot) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _event: &RunEvent) {}
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every task is completed.
    Completed,
    /// Nothing more can run now: tasks are failed, blocked, skipped or waiting for a human.
    Incomplete,
    /// Stopped by Ctrl-C (or [`crate::StopHandle`]).
    Interrupted,
    /// A human chose to abort the run.
    Aborted,
}

impl RunOutcome {
    /// `completed`, `incomplete`, `interrupted`, `aborted`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Completed => "completed",
            RunOutcome::Incomplete => "incomplete",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Aborted => "aborted",
        }
    }
}

/// One task in the final report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskSummary {
    /// The task.
    pub task: TaskId,
    /// Its title.
    pub title: String,
    /// Its status at the end.
    pub status: TaskStatus,
    /// Attempts over all runs.
    pub attempts: u32,
    /// Quality score of the last gate run.
    pub quality: Option<f64>,
    /// Busy time in this run: agent, verification and merge, summed over its attempts.
    pub busy: Duration,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall-clock time of the run.
    pub makespan: Duration,
    /// The sum of every task's busy time: how long the same work would take one task at a
    /// time.
    pub serial: Duration,
    /// Time spent inside agent sessions.
    pub agent_time: Duration,
    /// Sessions at once.
    pub parallel: usize,
    /// Every task.
    pub tasks: Vec<TaskSummary>,
    /// Agent cost in US dollars, where agents report it.
    pub cost_usd: Option<f64>,
    /// Spending against the run's limit, and the limits reached.
    #[serde(default)]
    pub budget: crate::budget::BudgetReport,
    /// Verified tasks waiting for a human review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awaiting_review: Vec<String>,
    /// PM messages still waiting for an answer.
    pub open_questions: Vec<String>,
    /// Finished epics whose merge into the base branch was refused, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_merges: Vec<String>,
}

impl RunReport {
    /// `serial / makespan`: how much faster than one task at a time.
    pub fn speedup(&self) -> f64 {
        let m = self.makespan.as_secs_f64();
        if m <= 0.0 {
            return 1.0;
        }
        self.serial.as_secs_f64() / m
    }

    /// The speed-up worth claiming: `Some(ratio)` only when running in parallel saved
    /// time that means something (the one-at-a-time estimate is at least
    /// [`RunReport::MIN_SERIAL_FOR_CLAIM`], the run had more than one session, and the
    /// ratio is at least 1.1). Short runs and runs slower than serial claim nothing.
    pub fn speedup_claim(&self) -> Option<f64> {
        let ratio = self.speedup();
        (self.parallel > 1
            && self.serial >= Self::MIN_SERIAL_FOR_CLAIM
            && self.makespan >= Duration::from_millis(500)
            && ratio >= 1.1)
            .then_some(ratio)
    }

    /// Below this much work, timings are noise and no speed-up is claimed.
    pub const MIN_SERIAL_FOR_CLAIM: Duration = Duration::from_secs(5);

    /// Mean quality score of completed tasks that were gated.
    pub fn mean_quality(&self) -> Option<f64> {
        let scores: Vec<f64> = self
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Completed)
            .filter_map(|t| t.quality)
            .collect();
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
    }

    /// Completed tasks.
    pub fn completed(&self) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Completed)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(makespan_ms: u64, serial_ms: u64, parallel: usize) -> RunReport {
        RunReport {
            outcome: RunOutcome::Completed,
            makespan: Duration::from_millis(makespan_ms),
            serial: Duration::from_millis(serial_ms),
            agent_time: Duration::ZERO,
            parallel,
            tasks: Vec::new(),
            cost_usd: None,
            budget: crate::budget::BudgetReport::default(),
            awaiting_review: Vec::new(),
            open_questions: Vec::new(),
            pending_merges: Vec::new(),
        }
    }

    #[test]
    fn a_speed_up_is_claimed_only_when_it_means_something() {
        assert_eq!(report(10_000, 30_000, 3).speedup_claim(), Some(3.0));
        // Slower than one at a time.
        assert_eq!(report(10_000, 8_000, 3).speedup_claim(), None);
        // Too little work to time.
        assert_eq!(report(200, 900, 3).speedup_claim(), None);
        // One session at a time cannot be faster than itself.
        assert_eq!(report(10_000, 30_000, 1).speedup_claim(), None);
        // Within noise.
        assert_eq!(report(10_000, 10_500, 3).speedup_claim(), None);
    }
}
