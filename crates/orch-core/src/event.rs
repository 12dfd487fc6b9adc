//! Events: one for every state change, appended to the store's log.

use serde::{Deserialize, Serialize};

use crate::id::TaskId;
use crate::status::TaskStatus;

/// Something that happened. Every state change in orch is recorded as one event; the
/// dashboard and `orch status --watch` are driven by the log of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A plan was stored.
    PlanImported {
        /// Plan name.
        plan: String,
        /// [`crate::Plan::content_fingerprint`].
        fingerprint: String,
        /// Number of epics.
        epics: usize,
        /// Number of tasks.
        tasks: usize,
        /// Whether it replaced an earlier plan that had not started.
        replaced: bool,
    },
    /// A task moved from one status to another.
    TaskStatusChanged {
        /// The task.
        task: TaskId,
        /// Status before.
        from: TaskStatus,
        /// Status after.
        to: TaskStatus,
        /// Why, in a few words (`dependencies completed`, `manual override`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A runner took the single-runner lease.
    LeaseAcquired {
        /// Who holds it now.
        owner: String,
        /// Process id of the holder.
        pid: u32,
        /// The previous holder whose lease had gone stale, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        took_over_from: Option<String>,
    },
    /// A runner gave the lease back.
    LeaseReleased {
        /// Who held it.
        owner: String,
    },
    /// A PM message (an escalation question to a human) was stored or changed state.
    MessageChanged {
        /// The message id, e.g. `PM-0001`.
        message: String,
        /// The task it is about.
        task: TaskId,
        /// Its state name after the change (`open`, `decided`, …).
        state: String,
    },
    /// `orch run` started (or resumed) the plan.
    RunStarted {
        /// Run id (the lease owner).
        run: String,
        /// Sessions at once.
        parallel: u32,
        /// Agent adapter name.
        agent: String,
        /// Whether tasks left running by an earlier run were recovered.
        #[serde(default)]
        recovered: usize,
    },
    /// The run ended.
    RunFinished {
        /// Run id.
        run: String,
        /// `completed`, `incomplete`, `interrupted` or `aborted`.
        outcome: String,
        /// Milliseconds from start to end.
        elapsed_ms: u64,
    },
    /// An agent session started on a task (or was adopted after a restart).
    AttemptStarted {
        /// The task.
        task: TaskId,
        /// Attempt number, from 1.
        attempt: u32,
        /// Session name (`orch-TASK-…`).
        session: String,
        /// Agent adapter name.
        agent: String,
        /// Whether an earlier run started it and this one adopted it.
        #[serde(default)]
        adopted: bool,
    },
    /// An attempt ended: the agent's verdict and the orchestrator's.
    AttemptFinished {
        /// The task.
        task: TaskId,
        /// Attempt number.
        attempt: u32,
        /// `passed`, or the failure kind (`no_changes`, `tests_failing`, …).
        result: String,
        /// Quality score, when the gate ran.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quality: Option<f64>,
        /// One line for humans.
        summary: String,
    },
    /// A task changed files outside its declared file scope.
    ScopeViolation {
        /// The task.
        task: TaskId,
        /// The files (first few).
        files: Vec<String>,
    },
    /// A branch was merged by the merge queue (task → epic) or at epic completion (epic →
    /// base).
    Merged {
        /// The task, for a task merge.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
        /// Source branch.
        source: String,
        /// Target branch.
        target: String,
        /// The target's new tip.
        sha: String,
    },
    /// A verified task waits for a human review before it is merged.
    ReviewRequested {
        /// The task.
        task: TaskId,
        /// The attempt whose work is reviewed.
        attempt: u32,
        /// The verified commit: what an approval merges.
        sha: String,
    },
    /// A reviewer approved or rejected a task's verified work.
    ReviewDecided {
        /// The task.
        task: TaskId,
        /// The attempt reviewed.
        attempt: u32,
        /// `approved` or `rejected`.
        verdict: String,
        /// Who decided (`cli`, `dashboard`, `mcp`, a user name).
        by: String,
        /// The reviewer's note (for a rejection: what the next attempt must fix).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Somebody paused, resumed or stopped the run from outside it (a chat command, the
    /// CLI); the runner follows on its next tick.
    RunControl {
        /// `pause`, `resume` or `stop`.
        action: String,
        /// Who (`slack:U123`, `cli`, …).
        by: String,
    },
    /// A request from a chat platform, accepted or refused: the audit trail of remote control.
    RemoteCommand {
        /// `slack`, `discord` or `line`.
        platform: String,
        /// The platform's user id (empty when the request never got that far).
        user: String,
        /// The command (`status`, `answer PM-0001 A`, …), or what was refused.
        command: String,
        /// `accepted`, or why it was refused (`not_allowed`, `rate_limited`, …).
        outcome: String,
    },
    /// A spending limit was reached; no new attempt of what it covers starts.
    BudgetReached {
        /// `run`, `epic E` or `task T`.
        scope: String,
        /// Dollars spent.
        spent_usd: f64,
        /// The limit.
        limit_usd: f64,
    },
}

impl Event {
    /// The short name of the event kind, as stored (`task_status_changed`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::PlanImported { .. } => "plan_imported",
            Event::TaskStatusChanged { .. } => "task_status_changed",
            Event::LeaseAcquired { .. } => "lease_acquired",
            Event::LeaseReleased { .. } => "lease_released",
            Event::MessageChanged { .. } => "message_changed",
            Event::RunStarted { .. } => "run_started",
            Event::RunFinished { .. } => "run_finished",
            Event::AttemptStarted { .. } => "attempt_started",
            Event::AttemptFinished { .. } => "attempt_finished",
            Event::ScopeViolation { .. } => "scope_violation",
            Event::Merged { .. } => "merged",
            Event::ReviewRequested { .. } => "review_requested",
            Event::ReviewDecided { .. } => "review_decided",
            Event::BudgetReached { .. } => "budget_reached",
            Event::RunControl { .. } => "run_control",
            Event::RemoteCommand { .. } => "remote_command",
        }
    }

    /// The task this event is about, if any.
    pub fn task(&self) -> Option<&TaskId> {
        match self {
            Event::TaskStatusChanged { task, .. }
            | Event::MessageChanged { task, .. }
            | Event::AttemptStarted { task, .. }
            | Event::AttemptFinished { task, .. }
            | Event::ScopeViolation { task, .. }
            | Event::ReviewRequested { task, .. }
            | Event::ReviewDecided { task, .. } => Some(task),
            Event::Merged { task, .. } => task.as_ref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_json() {
        let e = Event::TaskStatusChanged {
            task: TaskId::new("TASK-A-001").unwrap(),
            from: TaskStatus::Pending,
            to: TaskStatus::Ready,
            reason: None,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"task_status_changed","task":"TASK-A-001","from":"pending","to":"ready"}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        assert_eq!(e.kind(), "task_status_changed");
    }
}
