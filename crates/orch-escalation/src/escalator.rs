//! The escalator: a clock-driven state machine that turns failures into decisions and keeps
//! every escalation inside the policy's bounds.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use orch_core::{Clock, TaskId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::advisor::{Advisor, feedback_for};
use crate::failure::{FailureContext, FailureKind, Fingerprint};
use crate::message::{Action, DecisionOption, LifecycleError, MessageId, MessageState, PmMessage};
use crate::notify::NotifyReport;
use crate::policy::{EscalationPolicy, ExpiryAction, PolicyError, RateLimit};

/// Why a failure was not escalated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SuppressReason {
    /// The task already had `limit` messages.
    EscalationLimit {
        /// `max_escalations_per_task`.
        limit: u32,
    },
    /// `limit` messages are already waiting for an answer.
    OpenMessageLimit {
        /// `max_open_messages`.
        limit: u32,
    },
    /// The task already has a pending message; a failure report now is a duplicate.
    AwaitingDecision {
        /// That message.
        message: MessageId,
    },
}

impl SuppressReason {
    fn code(&self) -> &'static str {
        match self {
            SuppressReason::EscalationLimit { .. } => "escalation_limit",
            SuppressReason::OpenMessageLimit { .. } => "open_message_limit",
            SuppressReason::AwaitingDecision { .. } => "awaiting_decision",
        }
    }
}

impl fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuppressReason::EscalationLimit { limit } => {
                write!(
                    f,
                    "the task was escalated {limit} times already (the limit)"
                )
            }
            SuppressReason::OpenMessageLimit { limit } => {
                write!(
                    f,
                    "{limit} PM messages are already waiting for an answer (the limit)"
                )
            }
            SuppressReason::AwaitingDecision { message } => {
                write!(f, "{message} is still waiting for an answer")
            }
        }
    }
}

/// What the engine should do about a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Run the task again at `at` (after `after`), with `feedback` added to its instructions.
    Retry {
        /// Automatic retry number since the last human decision (1-based).
        attempt: u32,
        /// The backoff.
        #[serde(with = "duration_ms", rename = "after_ms")]
        after: Duration,
        /// When to start it.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// What went wrong and what to do about it.
        feedback: String,
        /// Start from a fresh worktree on the current epic tip (merge conflicts).
        fresh_worktree: bool,
        /// Run the agent without interactive permission prompts (idle sessions).
        non_interactive: bool,
    },
    /// Ask a human: store the message, mark the task escalated, and notify when `notify`
    /// (false when the global notification rate limit is reached: the message still waits
    /// in `orch msg list`). Then report with [`Escalator::record_notification`].
    Escalate {
        /// The new message, `Open`.
        message: Box<PmMessage>,
        /// Whether to send notifications for it.
        notify: bool,
    },
    /// Park the task: do not run it; it is escalated when [`Escalator::release_held`]
    /// finds a free slot.
    Hold {
        /// Why.
        reason: SuppressReason,
    },
    /// Do not escalate. Apply `action` to the task when there is one; with none, leave the
    /// task as it is (it is waiting for an answer already).
    Suppress {
        /// Why.
        reason: SuppressReason,
        /// What to do with the task instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action: Option<Action>,
    },
}

impl Decision {
    /// `retry`, `escalate`, `hold` or `suppress`.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Retry { .. } => "retry",
            Decision::Escalate { .. } => "escalate",
            Decision::Hold { .. } => "hold",
            Decision::Suppress { .. } => "suppress",
        }
    }
}

/// One entry for the decision log. The escalator hands one out only while the global
/// `decision_log_limit` allows, and only for decisions that change something (a repeated
/// "still waiting" or "still held" is not logged again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionLog {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The task.
    pub task: TaskId,
    /// `retry`, `escalate`, `hold`, `suppress`, `answer`, `expire` or `withdraw`.
    pub decision: String,
    /// The message concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageId>,
    /// The failure fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// One line for humans.
    pub summary: String,
}

/// The result of handling one failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// What to do.
    pub decision: Decision,
    /// The decision log entry to write, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<DecisionLog>,
}

/// A message that was answered or expired, and what to do about its task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// The message in its new state: store it.
    pub message: PmMessage,
    /// The action to apply to the task.
    pub action: Action,
    /// The decision log entry to write, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<DecisionLog>,
}

/// What the escalator remembers about one task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskRecord {
    /// Failures reported (counted ones; duplicates while waiting are not).
    pub failures: u32,
    /// Failures since the last human decision (or the start).
    pub since_decision: u32,
    /// Fingerprint of the last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fingerprint: Option<Fingerprint>,
    /// Identical failures in a row (same fingerprint).
    pub identical: u32,
    /// Messages opened for the task.
    pub escalations: u32,
    /// The pending message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<MessageId>,
    /// Waiting in the held queue for a free message slot.
    pub held: bool,
    /// Used up its escalations.
    pub exhausted: bool,
    /// The last quiet decision that was logged (not logged again while it repeats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_quiet: Option<String>,
}

/// Event times within a sliding window, for the global rate limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RateWindow {
    /// Unix milliseconds, oldest first.
    times: VecDeque<i64>,
}

impl RateWindow {
    fn prune(&mut self, now_ms: i64, limit: RateLimit) {
        let window = i64::try_from(limit.window().as_millis()).unwrap_or(i64::MAX);
        while self
            .times
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= window)
        {
            self.times.pop_front();
        }
    }

    /// Records an event at `now` if fewer than `limit.max` happened within the window.
    fn try_take(&mut self, now_ms: i64, limit: RateLimit) -> bool {
        self.prune(now_ms, limit);
        if self.times.len() < limit.max as usize {
            self.times.push_back(now_ms);
            true
        } else {
            false
        }
    }

    /// Events within the window ending at `now_ms`.
    pub fn count(&self, now_ms: i64, limit: RateLimit) -> usize {
        let window = i64::try_from(limit.window().as_millis()).unwrap_or(i64::MAX);
        self.times
            .iter()
            .filter(|t| now_ms.saturating_sub(**t) < window)
            .count()
    }
}

/// Running totals, for status displays and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Failures reported (all, including duplicates).
    pub failures: u64,
    /// Retry decisions.
    pub retries: u64,
    /// Messages opened.
    pub escalations: u64,
    /// Notifications allowed.
    pub notifications: u64,
    /// Decision log entries handed out.
    pub decision_logs: u64,
    /// Hold decisions.
    pub holds: u64,
    /// Suppress decisions.
    pub suppressed: u64,
    /// Messages answered.
    pub answered: u64,
    /// Messages expired.
    pub expired: u64,
    /// Messages withdrawn.
    pub withdrawn: u64,
}

/// Everything the escalator knows, serializable so the engine can persist it and resume
/// after a crash ([`Escalator::with_state`]), or rebuild it from stored messages
/// ([`EscalatorState::from_messages`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EscalatorState {
    /// Sequence number of the last message id handed out.
    pub last_seq: u64,
    /// Per task.
    pub tasks: BTreeMap<TaskId, TaskRecord>,
    /// Every message, by id.
    pub messages: BTreeMap<MessageId, PmMessage>,
    /// Escalations waiting for a free message slot, oldest first.
    pub held: VecDeque<FailureContext>,
    /// Recent notifications.
    pub notifications: RateWindow,
    /// Recent decision log entries.
    pub decision_logs: RateWindow,
    /// Running totals.
    pub totals: Totals,
}

impl EscalatorState {
    /// Rebuilds the state from stored messages: ids, per-task escalation counts, pending
    /// messages and the last fingerprint of each task. Retry counters and rate windows start
    /// empty (each message that was notified counts in the notification window).
    pub fn from_messages(messages: impl IntoIterator<Item = PmMessage>) -> EscalatorState {
        let mut state = EscalatorState::default();
        let mut messages: Vec<PmMessage> = messages.into_iter().collect();
        messages.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        for m in messages {
            state.last_seq = state.last_seq.max(m.id.seq().unwrap_or(0));
            let rec = state.tasks.entry(m.task.clone()).or_default();
            rec.escalations += 1;
            rec.failures = rec.failures.max(m.context.failures);
            rec.last_fingerprint = Some(m.context.fingerprint.clone());
            rec.identical = 1;
            if m.is_pending() {
                rec.pending = Some(m.id.clone());
            }
            if let Some(at) = m
                .history
                .iter()
                .find(|h| h.state == "notified")
                .map(|h| h.at)
            {
                state.notifications.times.push_back(millis(at));
            }
            state.messages.insert(m.id.clone(), m);
        }
        state.notifications.times.make_contiguous().sort_unstable();
        state
    }
}

/// The escalation state machine. It never does I/O: it reads the clock, counts, and returns
/// [`Outcome`]s and [`Resolution`]s for the engine to persist and carry out.
///
/// The bounds it guarantees, whatever the sequence of failures and answers:
/// - at most `max_escalations_per_task` messages per task, ever;
/// - at most `max_open_messages` pending messages at once;
/// - at most `notification_limit.max` notifications allowed per window;
/// - at most `decision_log_limit.max` decision log entries per window, and at most
///   [`EscalationPolicy::max_decision_logs_per_task`] per task (repeated "still held" or
///   "still exhausted" decisions and duplicate failure reports are not logged again);
/// - no automatic retry once the breaker trips on `breaker_threshold` identical failures.
#[derive(Debug)]
pub struct Escalator {
    policy: EscalationPolicy,
    clock: Arc<dyn Clock>,
    state: EscalatorState,
}

/// What [`Escalator::assess`] found: a finished outcome or an escalation needing options.
enum Step {
    Done(Outcome),
    Escalate(FailureContext),
}

impl Escalator {
    /// A fresh escalator; the policy is validated.
    pub fn new(policy: EscalationPolicy, clock: Arc<dyn Clock>) -> Result<Escalator, PolicyError> {
        Escalator::with_state(policy, clock, EscalatorState::default())
    }

    /// An escalator resuming from a saved state; the policy is validated.
    pub fn with_state(
        policy: EscalationPolicy,
        clock: Arc<dyn Clock>,
        state: EscalatorState,
    ) -> Result<Escalator, PolicyError> {
        policy.validate()?;
        Ok(Escalator {
            policy,
            clock,
            state,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &EscalationPolicy {
        &self.policy
    }

    /// The state, to persist.
    pub fn state(&self) -> &EscalatorState {
        &self.state
    }

    /// The message with this id.
    pub fn message(&self, id: &MessageId) -> Option<&PmMessage> {
        self.state.messages.get(id)
    }

    /// Every message, by id.
    pub fn messages(&self) -> impl Iterator<Item = &PmMessage> {
        self.state.messages.values()
    }

    /// What is known about a task.
    pub fn task(&self, task: &TaskId) -> Option<&TaskRecord> {
        self.state.tasks.get(task)
    }

    /// Messages waiting for an answer.
    pub fn open_messages(&self) -> usize {
        self.state
            .messages
            .values()
            .filter(|m| m.is_pending())
            .count()
    }

    /// Escalations waiting for a free slot.
    pub fn held(&self) -> usize {
        self.state.held.len()
    }

    /// Messages decided but not yet applied (after a restart, apply these first).
    pub fn decided_unapplied(&self) -> Vec<&PmMessage> {
        self.state
            .messages
            .values()
            .filter(|m| matches!(m.state, MessageState::Decided { .. }))
            .collect()
    }

    /// Handles one failed attempt. The advisor is asked for options only when a message is
    /// actually opened.
    pub async fn on_failure<A: Advisor + ?Sized>(
        &mut self,
        failure: FailureContext,
        advisor: &A,
    ) -> Outcome {
        match self.assess(failure) {
            Step::Done(outcome) => outcome,
            Step::Escalate(ctx) => {
                let options = advisor.options(&ctx).await;
                self.open(ctx, options)
            }
        }
    }

    /// [`Escalator::on_failure`] with a synchronous option source (e.g.
    /// [`crate::RuleAdvisor::advise`]).
    pub fn on_failure_with(
        &mut self,
        failure: FailureContext,
        advise: impl FnOnce(&FailureContext) -> Vec<DecisionOption>,
    ) -> Outcome {
        match self.assess(failure) {
            Step::Done(outcome) => outcome,
            Step::Escalate(ctx) => {
                let options = advise(&ctx);
                self.open(ctx, options)
            }
        }
    }

    /// Opens held escalations while message slots are free, oldest first. Call it after an
    /// answer, an expiry or a withdrawal (or on every tick).
    pub async fn release_held<A: Advisor + ?Sized>(&mut self, advisor: &A) -> Vec<Outcome> {
        let mut out = Vec::new();
        while let Some(ctx) = self.next_held() {
            let options = advisor.options(&ctx).await;
            out.push(self.open(ctx, options));
        }
        out
    }

    /// [`Escalator::release_held`] with a synchronous option source.
    pub fn release_held_with(
        &mut self,
        mut advise: impl FnMut(&FailureContext) -> Vec<DecisionOption>,
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        while let Some(ctx) = self.next_held() {
            let options = advise(&ctx);
            out.push(self.open(ctx, options));
        }
        out
    }

    fn next_held(&mut self) -> Option<FailureContext> {
        if self.open_messages() >= self.policy.max_open_messages as usize {
            return None;
        }
        let ctx = self.state.held.pop_front()?;
        if let Some(rec) = self.state.tasks.get_mut(&ctx.task) {
            rec.held = false;
        }
        Some(ctx)
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Hands out a decision log entry if the global limit allows.
    fn log(
        &mut self,
        task: &TaskId,
        decision: &str,
        message: Option<&MessageId>,
        fingerprint: Option<&Fingerprint>,
        summary: String,
    ) -> Option<DecisionLog> {
        let now = self.now();
        if !self
            .state
            .decision_logs
            .try_take(millis(now), self.policy.decision_log_limit)
        {
            tracing::debug!(task = %task, decision, "decision log rate limit reached");
            return None;
        }
        self.state.totals.decision_logs += 1;
        Some(DecisionLog {
            at: now,
            task: task.clone(),
            decision: decision.to_owned(),
            message: message.cloned(),
            fingerprint: fingerprint.cloned(),
            summary,
        })
    }

    /// A decision that repeats while nothing changes (held, exhausted): logged only the
    /// first time in a row. A duplicate failure report while a message is pending is not a
    /// decision at all and is never logged.
    fn quiet(&mut self, task: &TaskId, decision: Decision, reason: &SuppressReason) -> Outcome {
        let code = reason.code();
        let rec = self.state.tasks.entry(task.clone()).or_default();
        let first = rec.last_quiet.as_deref() != Some(code);
        rec.last_quiet = Some(code.to_owned());
        match decision {
            Decision::Hold { .. } => self.state.totals.holds += 1,
            _ => self.state.totals.suppressed += 1,
        }
        let loggable = !matches!(reason, SuppressReason::AwaitingDecision { .. });
        let log = if first && loggable {
            let summary = match &decision {
                Decision::Hold { reason } => format!("held: {reason}"),
                Decision::Suppress {
                    reason,
                    action: Some(a),
                } => format!("not escalated: {reason}; {a}"),
                _ => format!("not escalated: {reason}"),
            };
            self.log(task, decision.name(), None, None, summary)
        } else {
            None
        };
        Outcome { decision, log }
    }

    fn assess(&mut self, failure: FailureContext) -> Step {
        self.state.totals.failures += 1;
        let task = failure.task.clone();
        let rec = self.state.tasks.entry(task.clone()).or_default();

        if let Some(message) = rec.pending.clone() {
            let reason = SuppressReason::AwaitingDecision { message };
            let decision = Decision::Suppress {
                reason: reason.clone(),
                action: None,
            };
            return Step::Done(self.quiet(&task, decision, &reason));
        }
        if rec.held {
            let reason = SuppressReason::OpenMessageLimit {
                limit: self.policy.max_open_messages,
            };
            let decision = Decision::Hold {
                reason: reason.clone(),
            };
            return Step::Done(self.quiet(&task, decision, &reason));
        }
        if rec.exhausted {
            return Step::Done(self.exhausted(&task));
        }

        let fingerprint = failure.fingerprint();
        if rec.last_fingerprint.as_ref() == Some(&fingerprint) {
            rec.identical = rec.identical.saturating_add(1);
        } else {
            rec.identical = 1;
            rec.last_fingerprint = Some(fingerprint.clone());
        }
        rec.failures = rec.failures.saturating_add(1);
        rec.since_decision = rec.since_decision.saturating_add(1);
        rec.last_quiet = None;
        let tripped = rec.identical >= self.policy.breaker_threshold
            || failure.kind == FailureKind::RepeatedFailure;

        if !tripped
            && !failure.kind.escalates_at_once()
            && rec.since_decision <= self.policy.max_retries
        {
            let attempt = rec.since_decision;
            let after = self.policy.backoff(attempt);
            let now = self.now();
            let at = now + after;
            self.state.totals.retries += 1;
            let summary = format!(
                "retry {attempt}/{} in {} after {}",
                self.policy.max_retries,
                human_duration(after),
                failure.kind.describe()
            );
            let decision = Decision::Retry {
                attempt,
                after,
                at,
                feedback: feedback_for(&failure),
                fresh_worktree: failure.kind == FailureKind::MergeConflict,
                non_interactive: failure.kind == FailureKind::Idle,
            };
            let log = self.log(&task, "retry", None, Some(&fingerprint), summary);
            return Step::Done(Outcome { decision, log });
        }

        if rec.escalations >= self.policy.max_escalations_per_task {
            rec.exhausted = true;
            return Step::Done(self.exhausted(&task));
        }

        let identical = rec.identical;
        let mut ctx = failure;
        ctx.attempt = rec.failures;
        if tripped && ctx.kind != FailureKind::RepeatedFailure {
            ctx.cause = Some(ctx.kind);
            ctx.kind = FailureKind::RepeatedFailure;
            ctx.repeats = identical;
        } else if ctx.kind == FailureKind::RepeatedFailure {
            ctx.repeats = ctx.repeats.max(identical);
        }

        if self.open_messages() >= self.policy.max_open_messages as usize {
            let rec = self.state.tasks.entry(task.clone()).or_default();
            rec.held = true;
            self.state.held.push_back(ctx);
            let reason = SuppressReason::OpenMessageLimit {
                limit: self.policy.max_open_messages,
            };
            let decision = Decision::Hold {
                reason: reason.clone(),
            };
            return Step::Done(self.quiet(&task, decision, &reason));
        }
        Step::Escalate(ctx)
    }

    fn exhausted(&mut self, task: &TaskId) -> Outcome {
        let reason = SuppressReason::EscalationLimit {
            limit: self.policy.max_escalations_per_task,
        };
        let decision = Decision::Suppress {
            reason: reason.clone(),
            action: Some(self.policy.on_exhausted.action()),
        };
        self.quiet(task, decision, &reason)
    }

    /// Asks a human at once, outside the retry and rate rules: for questions that are not
    /// about the agent's work (a spending limit reached). `on_expiry` is what an unanswered
    /// question does when it expires (never something that spends more).
    pub fn ask(
        &mut self,
        ctx: FailureContext,
        options: Vec<DecisionOption>,
        on_expiry: Action,
    ) -> Outcome {
        let mut outcome = self.open(ctx, options);
        if let Decision::Escalate { message, .. } = &mut outcome.decision {
            message.on_expiry = on_expiry.clone();
            if let Some(stored) = self.state.messages.get_mut(&message.id) {
                stored.on_expiry = on_expiry;
            }
        }
        outcome
    }

    /// Opens a message for an escalation `assess` (or the held queue) approved.
    fn open(&mut self, ctx: FailureContext, options: Vec<DecisionOption>) -> Outcome {
        let now = self.now();
        self.state.last_seq += 1;
        let id = MessageId::from_seq(self.state.last_seq);
        let mut message = PmMessage::new(id.clone(), &ctx, options, now);
        let on_expiry = match self.policy.on_expiry {
            ExpiryAction::Skip => Action::Skip,
            ExpiryAction::AbortRun => Action::AbortRun,
            ExpiryAction::Recommended => message
                .recommended()
                .map(|o| o.action.clone())
                .unwrap_or(Action::Skip),
        };
        let expires_at = self.policy.expire_after().map(|d| now + d);
        message = message.with_expiry(expires_at, on_expiry);

        let rec = self.state.tasks.entry(ctx.task.clone()).or_default();
        rec.escalations += 1;
        rec.pending = Some(id.clone());
        rec.last_quiet = None;
        message.context.escalation = rec.escalations;
        message.context.failures = rec.failures;
        let escalation = rec.escalations;

        let notify = self
            .state
            .notifications
            .try_take(millis(now), self.policy.notification_limit);
        self.state.totals.escalations += 1;
        if notify {
            self.state.totals.notifications += 1;
        }
        self.state.messages.insert(id.clone(), message.clone());
        let summary = format!(
            "escalated as {id} ({escalation}/{}): {}{}",
            self.policy.max_escalations_per_task,
            ctx.kind.describe(),
            if notify {
                ""
            } else {
                "; notification rate-limited"
            }
        );
        let fingerprint = message.context.fingerprint.clone();
        let log = self.log(
            &ctx.task,
            "escalate",
            Some(&id),
            Some(&fingerprint),
            summary,
        );
        Outcome {
            decision: Decision::Escalate {
                message: Box::new(message),
                notify,
            },
            log,
        }
    }

    fn message_mut(&mut self, id: &MessageId) -> Result<&mut PmMessage, LifecycleError> {
        self.state
            .messages
            .get_mut(id)
            .ok_or_else(|| LifecycleError::UnknownMessage { id: id.to_string() })
    }

    /// `Open` → `Notified`, with the channels that delivered and failed (an empty report when
    /// the decision said not to notify).
    pub fn record_notification(
        &mut self,
        id: &MessageId,
        report: &NotifyReport,
    ) -> Result<&PmMessage, LifecycleError> {
        let now = self.now();
        let message = self.message_mut(id)?;
        message.mark_notified(report.delivered(), report.failed(), now)?;
        Ok(message)
    }

    /// `Notified` → `AwaitingDecision`: a human has seen the message.
    pub fn acknowledge(&mut self, id: &MessageId) -> Result<&PmMessage, LifecycleError> {
        let now = self.now();
        let message = self.message_mut(id)?;
        message.acknowledge(now)?;
        Ok(message)
    }

    /// A human answers a pending message (dashboard, MCP, or the CLI in the same process).
    pub fn answer(
        &mut self,
        id: &MessageId,
        option: &str,
        note: Option<&str>,
    ) -> Result<Resolution, LifecycleError> {
        let now = self.now();
        let message = self.message_mut(id)?;
        let action = message.decide(option, note, now)?;
        let message = message.clone();
        Ok(self.settled(message, action, "answer"))
    }

    /// Takes in a message answered elsewhere (the CLI wrote it to the store): checks that
    /// the answer is a legal step from the escalator's copy and adopts it. Recording the
    /// same decision twice is harmless (no second log entry).
    pub fn record_answer(&mut self, decided: &PmMessage) -> Result<Resolution, LifecycleError> {
        let (option, note) = match &decided.state {
            MessageState::Decided { option, note } => (*option, note.clone()),
            other => {
                return Err(LifecycleError::IllegalTransition {
                    message: decided.id.clone(),
                    from: "pending",
                    to: other.name(),
                });
            }
        };
        let now = self.now();
        let ours = self.message_mut(&decided.id)?;
        if ours.state == decided.state {
            let action = ours.decided_action().unwrap_or(Action::Skip);
            return Ok(Resolution {
                message: ours.clone(),
                action,
                log: None,
            });
        }
        let at = decided.history.last().map_or(now, |h| h.at);
        let action = ours.decide(&option.to_string(), note.as_deref(), at)?;
        let message = ours.clone();
        Ok(self.settled(message, action, "answer"))
    }

    /// `Decided` → `Applied`: the engine carried the decision out.
    pub fn mark_applied(&mut self, id: &MessageId) -> Result<&PmMessage, LifecycleError> {
        let now = self.now();
        let message = self.message_mut(id)?;
        message.mark_applied(now)?;
        Ok(message)
    }

    /// Expires every pending message past its expiry time; each resolution carries the
    /// configured expiry action for its task.
    pub fn expire_due(&mut self) -> Vec<Resolution> {
        let now = self.now();
        let due: Vec<MessageId> = self
            .state
            .messages
            .values()
            .filter(|m| m.is_due(now))
            .map(|m| m.id.clone())
            .collect();
        let mut out = Vec::new();
        for id in due {
            let Some(message) = self.state.messages.get_mut(&id) else {
                continue;
            };
            let Ok(action) = message.expire(now) else {
                continue;
            };
            let message = message.clone();
            out.push(self.settled(message, action, "expire"));
        }
        out
    }

    /// Withdraws a pending message (the run ended, the task was settled another way):
    /// pending → `Suppressed` with the reason recorded.
    pub fn withdraw(
        &mut self,
        id: &MessageId,
        reason: &str,
    ) -> Result<(PmMessage, Option<DecisionLog>), LifecycleError> {
        let now = self.now();
        let message = self.message_mut(id)?;
        message.suppress(reason, now)?;
        let message = message.clone();
        self.state.totals.withdrawn += 1;
        self.clear_pending(&message);
        let log = self.log(
            &message.task,
            "withdraw",
            Some(&message.id),
            Some(&message.context.fingerprint),
            format!("{} withdrawn: {reason}", message.id),
        );
        Ok((message, log))
    }

    fn clear_pending(&mut self, message: &PmMessage) {
        if let Some(rec) = self.state.tasks.get_mut(&message.task)
            && rec.pending.as_ref() == Some(&message.id)
        {
            rec.pending = None;
            rec.since_decision = 0;
            rec.last_quiet = None;
        }
    }

    fn settled(&mut self, message: PmMessage, action: Action, decision: &str) -> Resolution {
        self.clear_pending(&message);
        let summary = if decision == "expire" {
            self.state.totals.expired += 1;
            format!("{} expired unanswered: {action}", message.id)
        } else {
            self.state.totals.answered += 1;
            let option = match &message.state {
                MessageState::Decided { option, .. } => option.to_string(),
                _ => "?".into(),
            };
            format!("{} answered {option}: {action}", message.id)
        };
        let log = self.log(
            &message.task,
            decision,
            Some(&message.id),
            Some(&message.context.fingerprint),
            summary,
        );
        Resolution {
            message,
            action,
            log,
        }
    }
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `45s`, `2m`, `1h 5m`.
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!(
            "{}m{}",
            secs / 60,
            if secs.is_multiple_of(60) {
                String::new()
            } else {
                format!(" {}s", secs % 60)
            }
        )
    } else {
        format!("{}h {}m", secs / 3600, (secs % 3600) / 60)
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::RuleAdvisor;

    #[derive(Debug)]
    struct FixedClock(std::sync::Mutex<OffsetDateTime>);

    impl Clock for FixedClock {
        fn now(&self) -> OffsetDateTime {
            *self.0.lock().unwrap()
        }
    }

    fn setup(policy: EscalationPolicy) -> (Escalator, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock(std::sync::Mutex::new(
            OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(),
        )));
        (Escalator::new(policy, clock.clone()).unwrap(), clock)
    }

    fn fail(task: &str, kind: FailureKind, msg: &str) -> FailureContext {
        FailureContext::new(TaskId::new(task).unwrap(), kind, msg)
    }

    fn advise(ctx: &FailureContext) -> Vec<DecisionOption> {
        RuleAdvisor::new().advise(ctx)
    }

    #[test]
    fn retries_then_escalates() {
        let (mut esc, _) = setup(EscalationPolicy::default());
        let o1 = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "a"), advise);
        let Decision::Retry { attempt, after, .. } = o1.decision else {
            panic!("{o1:?}")
        };
        assert_eq!((attempt, after), (1, Duration::from_secs(30)));
        assert_eq!(
            o1.log.unwrap().summary,
            "retry 1/2 in 30s after failing tests"
        );
        let o2 = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "b"), advise);
        assert!(matches!(o2.decision, Decision::Retry { attempt: 2, .. }));
        let o3 = esc.on_failure_with(fail("T-1", FailureKind::Timeout, "c"), advise);
        let Decision::Escalate { message, notify } = o3.decision else {
            panic!("{o3:?}")
        };
        assert!(notify);
        assert_eq!(message.id.as_str(), "PM-0001");
        assert_eq!(message.kind, FailureKind::Timeout);
        assert_eq!(message.context.escalation, 1);
        assert_eq!(message.context.failures, 3);
        assert_eq!(esc.open_messages(), 1);
        // A duplicate failure report while waiting is suppressed, logged once.
        let dup = esc.on_failure_with(fail("T-1", FailureKind::Timeout, "c"), advise);
        assert!(matches!(
            dup.decision,
            Decision::Suppress {
                reason: SuppressReason::AwaitingDecision { .. },
                action: None
            }
        ));
        assert!(dup.log.is_none(), "a duplicate report is not a decision");
    }

    #[test]
    fn breaker_trips_on_identical_failures() {
        let policy = EscalationPolicy {
            max_retries: 10,
            ..EscalationPolicy::default()
        };
        let (mut esc, _) = setup(policy);
        for n in 1..=2 {
            let o = esc.on_failure_with(
                fail(
                    "T-1",
                    FailureKind::TestsFailing,
                    &format!("{n} tests failed at 0x{n}f"),
                ),
                advise,
            );
            assert_eq!(o.decision.name(), "retry");
        }
        let o = esc.on_failure_with(
            fail("T-1", FailureKind::TestsFailing, "7 tests failed at 0xab"),
            advise,
        );
        let Decision::Escalate { message, .. } = o.decision else {
            panic!("{o:?}")
        };
        assert_eq!(message.kind, FailureKind::RepeatedFailure);
        assert_eq!(message.context.cause, Some(FailureKind::TestsFailing));
        assert_eq!(message.recommended().unwrap().action, Action::Skip);
        assert!(
            message.question.contains("failed 3 times in a row"),
            "{}",
            message.question
        );
    }

    #[test]
    fn answers_reset_retries_and_limits_hold() {
        let policy = EscalationPolicy {
            max_retries: 0,
            max_escalations_per_task: 2,
            max_open_messages: 1,
            ..EscalationPolicy::default()
        };
        let (mut esc, _) = setup(policy);
        let o = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "x"), advise);
        let Decision::Escalate { message, .. } = o.decision else {
            panic!()
        };
        // Another task cannot open a message: held.
        let held = esc.on_failure_with(fail("T-2", FailureKind::Timeout, "y"), advise);
        assert!(matches!(held.decision, Decision::Hold { .. }));
        assert_eq!(esc.held(), 1);
        assert!(esc.release_held_with(advise).is_empty());
        let r = esc.answer(&message.id, "A", Some("try harder")).unwrap();
        assert!(r.action.is_retry());
        assert!(esc.answer(&message.id, "A", None).is_err());
        let released = esc.release_held_with(advise);
        assert_eq!(released.len(), 1);
        let Decision::Escalate { message: m2, .. } = &released[0].decision else {
            panic!()
        };
        assert_eq!(m2.task.as_str(), "T-2");
        assert_eq!(esc.held(), 0);
        // T-1 fails again: escalation 2 is held (slot taken by T-2), then exhausted later.
        let o = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "x"), advise);
        assert!(matches!(o.decision, Decision::Hold { .. }));
        assert_eq!(
            o.log.unwrap().summary,
            "held: 1 PM messages are already waiting for an answer (the limit)"
        );
        let o = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "x"), advise);
        assert!(matches!(o.decision, Decision::Hold { .. }));
        assert!(o.log.is_none(), "logged once per hold");
        esc.withdraw(&m2.id, "run ended").unwrap();
        let released = esc.release_held_with(advise);
        let Decision::Escalate { message: m3, .. } = &released[0].decision else {
            panic!()
        };
        assert_eq!(m3.context.escalation, 2);
        esc.answer(&m3.id, "A", None).unwrap();
        let o = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "x"), advise);
        assert_eq!(
            o.decision,
            Decision::Suppress {
                reason: SuppressReason::EscalationLimit { limit: 2 },
                action: Some(Action::Skip)
            }
        );
        assert!(o.log.is_some());
        let again = esc.on_failure_with(fail("T-1", FailureKind::TestsFailing, "x"), advise);
        assert!(again.log.is_none());
        assert_eq!(
            esc.task(&TaskId::new("T-1").unwrap()).unwrap().escalations,
            2
        );
    }

    #[test]
    fn expiry_applies_configured_action() {
        let policy = EscalationPolicy {
            max_retries: 0,
            expire_after_minutes: 10,
            on_expiry: ExpiryAction::Recommended,
            ..EscalationPolicy::default()
        };
        let (mut esc, clock) = setup(policy);
        let o = esc.on_failure_with(fail("T-1", FailureKind::MergeConflict, "conflict"), advise);
        let Decision::Escalate { message, .. } = o.decision else {
            panic!()
        };
        esc.record_notification(&message.id, &NotifyReport::default())
            .unwrap();
        assert!(esc.expire_due().is_empty());
        *clock.0.lock().unwrap() += time::Duration::minutes(10);
        let expired = esc.expire_due();
        assert_eq!(expired.len(), 1);
        assert!(matches!(
            expired[0].action,
            Action::RetryWithInstructions {
                fresh_worktree: true,
                ..
            }
        ));
        assert_eq!(expired[0].message.state.name(), "expired");
        assert!(esc.expire_due().is_empty());
        assert_eq!(esc.open_messages(), 0);
    }

    #[test]
    fn record_answer_validates_and_is_idempotent() {
        let policy = EscalationPolicy {
            max_retries: 0,
            ..EscalationPolicy::default()
        };
        let (mut esc, _) = setup(policy);
        let o = esc.on_failure_with(fail("T-1", FailureKind::Idle, "quiet"), advise);
        let Decision::Escalate { message, .. } = o.decision else {
            panic!()
        };
        let now = esc.now();
        let answered = crate::message::answer_message(&message, "B", None, now).unwrap();
        let r = esc.record_answer(&answered.message).unwrap();
        assert_eq!(r.action, answered.action);
        assert!(r.log.is_some());
        let again = esc.record_answer(&answered.message).unwrap();
        assert!(again.log.is_none());
        let other = crate::message::answer_message(&message, "C", None, now).unwrap();
        assert!(esc.record_answer(&other.message).is_err());
        assert_eq!(esc.decided_unapplied().len(), 1);
        esc.mark_applied(&message.id).unwrap();
        assert!(esc.decided_unapplied().is_empty());
    }

    #[test]
    fn state_round_trips_and_rebuilds() {
        let policy = EscalationPolicy {
            max_retries: 0,
            ..EscalationPolicy::default()
        };
        let (mut esc, clock) = setup(policy.clone());
        esc.on_failure_with(fail("T-1", FailureKind::Idle, "quiet"), advise);
        esc.on_failure_with(fail("T-2", FailureKind::Idle, "quiet"), advise);
        let json = serde_json::to_string(esc.state()).unwrap();
        let back: EscalatorState = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, esc.state());
        let rebuilt = EscalatorState::from_messages(esc.messages().cloned());
        let mut esc2 = Escalator::with_state(policy, clock, rebuilt).unwrap();
        assert_eq!(esc2.open_messages(), 2);
        let o = esc2.on_failure_with(fail("T-3", FailureKind::Idle, "quiet"), advise);
        let Decision::Escalate { message, .. } = o.decision else {
            panic!()
        };
        assert_eq!(message.id.as_str(), "PM-0003");
        let o = esc2.on_failure_with(fail("T-1", FailureKind::Idle, "quiet"), advise);
        assert!(matches!(o.decision, Decision::Suppress { .. }));
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(120)), "2m");
        assert_eq!(human_duration(Duration::from_secs(150)), "2m 30s");
        assert_eq!(human_duration(Duration::from_secs(3900)), "1h 5m");
    }
}
