//! The task state machine (DESIGN §6).
//!
//! ```text
//! Pending ──▶ Ready ──▶ Running ──▶ Verifying ──▶ Merging ──▶ Completed
//!    │          ▲          │            │   ▲        │
//!    │          │          │            ▼   │        │
//!    │          │          │      AwaitingReview     │   (review = "human")
//!    │          │          ▼            ▼            ▼
//!    │          └──────  Failed ◀───────┴────────────┘
//!    │          │          │
//!    │          │          ▼
//!    │          └────── Escalated ──▶ Completed | Skipped | Cancelled
//!    ▼
//! Blocked ──▶ Pending | Ready | Skipped | Cancelled
//! ```
//!
//! [`transition`] is the only way to move a task; every illegal move is an error.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a task is in its life.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Some dependency is not completed yet.
    #[default]
    Pending,
    /// Every dependency is completed; waiting for a free slot.
    Ready,
    /// An agent session is working on it.
    Running,
    /// The agent finished; the orchestrator runs the quality gate.
    Verifying,
    /// The gate passed and a human reviews the diff before it is merged
    /// (`review = "human"`); approval moves it to `Merging`, rejection retries it.
    AwaitingReview,
    /// The gate passed; the task branch is in the merge queue.
    Merging,
    /// Merged into its epic branch. Terminal.
    Completed,
    /// The last attempt failed; it may be retried or escalated.
    Failed,
    /// Waiting for a human decision.
    Escalated,
    /// A dependency was skipped or cancelled and nobody decided what to do.
    Blocked,
    /// Deliberately not done. Terminal.
    Skipped,
    /// Abandoned. Terminal.
    Cancelled,
}

impl TaskStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TaskStatus; 12] = [
        TaskStatus::Pending,
        TaskStatus::Ready,
        TaskStatus::Running,
        TaskStatus::Verifying,
        TaskStatus::AwaitingReview,
        TaskStatus::Merging,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Escalated,
        TaskStatus::Blocked,
        TaskStatus::Skipped,
        TaskStatus::Cancelled,
    ];

    /// The lowercase name used in files, the store and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Ready => "ready",
            TaskStatus::Running => "running",
            TaskStatus::Verifying => "verifying",
            TaskStatus::AwaitingReview => "awaiting_review",
            TaskStatus::Merging => "merging",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Escalated => "escalated",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// No transition leaves this status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Skipped | TaskStatus::Cancelled
        )
    }

    /// The task occupies a worktree and may touch files: `Running`, `Verifying` or `Merging`.
    /// Conflicting tasks must not start while another is active.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            TaskStatus::Running | TaskStatus::Verifying | TaskStatus::Merging
        )
    }

    /// The task's unmerged work sits in its worktree: active, or verified and waiting for a
    /// review. A task whose files conflict with it must not start meanwhile, or the
    /// approved work would no longer merge.
    pub fn holds_work(self) -> bool {
        self.is_active() || self == TaskStatus::AwaitingReview
    }

    /// The statuses this one may move to, in the order of [`TaskStatus::ALL`].
    pub fn successors(self) -> Vec<TaskStatus> {
        TaskStatus::ALL
            .into_iter()
            .filter(|to| is_allowed(self, *to))
            .collect()
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown task status `{0}`; expected one of: pending, ready, running, verifying, awaiting_review, merging, completed, failed, escalated, blocked, skipped, cancelled"
)]
pub struct UnknownStatus(pub String);

impl FromStr for TaskStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        TaskStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == lower)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal transition {from} → {to}{}", allowed_hint(*from))]
#[non_exhaustive]
pub struct IllegalTransition {
    /// The current status.
    pub from: TaskStatus,
    /// The requested status.
    pub to: TaskStatus,
}

fn allowed_hint(from: TaskStatus) -> String {
    let next = from.successors();
    if next.is_empty() {
        format!(" ({from} is terminal)")
    } else {
        let names: Vec<&str> = next.iter().map(|s| s.as_str()).collect();
        format!(" (from {from} a task may go to: {})", names.join(", "))
    }
}

fn is_allowed(from: TaskStatus, to: TaskStatus) -> bool {
    use TaskStatus::*;
    matches!(
        (from, to),
        // dependencies done, or a decision unblocked it
        (Pending, Ready | Blocked | Skipped | Cancelled)
            | (Ready, Running | Skipped | Cancelled)
            | (Running, Verifying | Failed | Escalated)
            | (Verifying, Merging | AwaitingReview | Failed | Escalated)
            // approved, or rejected (a retry with the reviewer's note), or given up
            | (AwaitingReview, Merging | Failed | Skipped | Cancelled)
            | (Merging, Completed | Failed | Escalated)
            | (Failed, Ready | Escalated | Skipped | Cancelled)
            | (Escalated, Ready | Completed | Skipped | Cancelled)
            | (Blocked, Pending | Ready | Skipped | Cancelled)
    )
}

/// Checks the move `from → to` and returns the new status, or the reason it is illegal.
///
/// A move to the same status is illegal too: it would record an event for nothing.
pub fn transition(from: TaskStatus, to: TaskStatus) -> Result<TaskStatus, IllegalTransition> {
    if is_allowed(from, to) {
        Ok(to)
    } else {
        Err(IllegalTransition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::*;

    #[test]
    fn happy_path() {
        let mut s = Pending;
        for next in [Ready, Running, Verifying, Merging, Completed] {
            s = transition(s, next).unwrap();
        }
        assert_eq!(s, Completed);
    }

    #[test]
    fn review_path() {
        let mut s = Verifying;
        for next in [AwaitingReview, Merging, Completed] {
            s = transition(s, next).unwrap();
        }
        assert!(
            transition(AwaitingReview, Failed).is_ok(),
            "a rejection retries"
        );
        assert!(
            transition(AwaitingReview, Completed).is_err(),
            "never merged unseen"
        );
        assert!(!AwaitingReview.is_active() && AwaitingReview.holds_work());
    }

    #[test]
    fn retry_and_escalation_paths() {
        for (a, b) in [
            (Running, Failed),
            (Failed, Ready),
            (Verifying, Escalated),
            (Escalated, Ready),
            (Escalated, Completed),
            (Escalated, Skipped),
            (Escalated, Cancelled),
            (Pending, Blocked),
            (Blocked, Ready),
        ] {
            assert!(transition(a, b).is_ok(), "{a} → {b}");
        }
    }

    #[test]
    fn terminal_states_are_final() {
        for from in [Completed, Skipped, Cancelled] {
            assert!(from.is_terminal());
            assert!(from.successors().is_empty());
            for to in TaskStatus::ALL {
                assert!(transition(from, to).is_err());
            }
        }
    }

    #[test]
    fn illegal_move_message_lists_alternatives() {
        let err = transition(Pending, Completed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "illegal transition pending → completed (from pending a task may go to: ready, blocked, skipped, cancelled)"
        );
        assert_eq!(
            transition(Completed, Ready).unwrap_err().to_string(),
            "illegal transition completed → ready (completed is terminal)"
        );
    }

    #[test]
    fn parse_round_trip() {
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>().unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert!("done".parse::<TaskStatus>().is_err());
    }
}
