//! Bounded escalation for orch: when a task keeps failing, ask a human a precise question
//! with concrete options, and never loop.
//!
//! - [`EscalationPolicy`] is the `[escalation]` section of `orch.toml`: retries before
//!   escalating, backoff, the circuit breaker on identical failures ([`Fingerprint`]),
//!   escalations per task, open messages in total, global rate limits on notifications and
//!   decision logs, expiry with a default action.
//! - [`Escalator`] is the clock-driven state machine applying it. Each failure
//!   ([`FailureContext`]) gets a [`Decision`]: [`Decision::Retry`], [`Decision::Escalate`]
//!   with a new [`PmMessage`], [`Decision::Hold`] or [`Decision::Suppress`]. It does no I/O
//!   and writes no store: the engine persists what it returns ([`Outcome`],
//!   [`Resolution`], [`DecisionLog`], the serializable [`EscalatorState`]).
//! - [`PmMessage`] is the question, its context and options A, B, C… ([`DecisionOption`],
//!   each with an [`Action`]), with the lifecycle Open → Notified → AwaitingDecision →
//!   Decided → Applied, or Expired, or Suppressed ([`MessageState`]); illegal moves are
//!   [`LifecycleError`]s. [`list_messages`], [`find_message`] and [`answer_message`] are the
//!   library side of `orch msg list|show|answer`.
//! - [`Advisor`] proposes the options; [`RuleAdvisor`] is the offline default.
//! - [`Notifier`] tells a human: [`SlackNotifier`], [`DiscordNotifier`], [`LineNotifier`],
//!   [`WebhookNotifier`] (signed JSON) and [`ConsoleNotifier`], run together by
//!   [`NotifierSet`] so that no failing channel blocks or crashes a run. URLs and tokens are
//!   [`Secret`]s: never logged, printed or shown by `Debug`.
//!
//! # Features
//!
//! - `http` (default): the Slack, Discord, LINE and webhook notifiers, on reqwest with
//!   rustls. Without it (`default-features = false`) everything else builds without a
//!   network stack: the policy, the escalator, PM messages, the advisor, the payload
//!   builders ([`slack_payload`]…), the console notifier and [`NotifierSet`]; a configured
//!   HTTP channel is then a [`NotifyError::Config`] error from [`NotifyConfig::build`].
//!
//! # How the engine drives it
//!
//! 1. On a failed attempt: `escalator.on_failure(context, &advisor).await` and act on the
//!    [`Decision`]: reschedule a retry at `at` with `feedback`; for an escalation store the
//!    message, set the task `Escalated`, run [`NotifierSet::notify_all`] if `notify`, then
//!    [`Escalator::record_notification`] (with an empty [`NotifyReport`] when not
//!    notifying); on hold, do not run the task; on suppress, apply `action` if any.
//!    Write `outcome.log` to the decision log when present.
//! 2. On every tick: [`Escalator::expire_due`] (apply each resolution's action) and
//!    [`Escalator::release_held`] (treat each outcome as in step 1).
//! 3. When a stored message turns `Decided` (the CLI answered it):
//!    [`Escalator::record_answer`], apply the action, [`Escalator::mark_applied`].
//! 4. Persist [`Escalator::state`] (JSON) or rebuild it with
//!    [`EscalatorState::from_messages`] after a crash.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use orch_core::{SystemClock, TaskId};
//! use orch_escalation::{
//!     Decision, EscalationPolicy, Escalator, FailureContext, FailureKind, RuleAdvisor,
//!     answer_message,
//! };
//!
//! let policy = EscalationPolicy { max_retries: 1, ..EscalationPolicy::default() };
//! let mut escalator = Escalator::new(policy, Arc::new(SystemClock))?;
//! let task = TaskId::new("TASK-BA-001").unwrap();
//! let advisor = RuleAdvisor::new();
//! let failure = || FailureContext::new(task.clone(), FailureKind::TestsFailing, "2 tests failed");
//!
//! // The first failure is retried with feedback, after a backoff.
//! let first = escalator.on_failure_with(failure(), |f| advisor.advise(f));
//! assert!(matches!(first.decision, Decision::Retry { attempt: 1, .. }));
//!
//! // The second is escalated to a human as a PM message with options.
//! let second = escalator.on_failure_with(failure(), |f| advisor.advise(f));
//! let Decision::Escalate { message, notify } = second.decision else { panic!() };
//! assert!(notify);
//! assert_eq!(message.id.as_str(), "PM-0001");
//! assert_eq!(message.recommended().unwrap().key.letter(), 'A');
//!
//! // `orch msg answer PM-0001 A --note "mock the clock"`
//! let answered = answer_message(&message, "A", Some("mock the clock"), time::OffsetDateTime::now_utc())?;
//! assert!(answered.action.is_retry());
//! let resolution = escalator.record_answer(&answered.message)?;
//! assert_eq!(resolution.action, answered.action);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod advisor;
mod escalator;
mod failure;
mod message;
mod notify;
mod policy;
mod secret;
mod stored;

pub use advisor::{Advisor, BoxFuture, DynAdvisor, RuleAdvisor, feedback_for};
pub use escalator::{
    Decision, DecisionLog, Escalator, EscalatorState, Outcome, RateWindow, Resolution,
    SuppressReason, TaskRecord, Totals,
};
pub use failure::{
    DiffStats, FailureContext, FailureKind, Fingerprint, QualitySummary, normalize_message,
};
pub use message::{
    Action, Answered, DecisionOption, LifecycleError, ListFilter, MessageContext, MessageId,
    MessageState, MessageSummary, OptionKey, PmMessage, StateChange, answer_message,
    answer_message_by, find_message, list_messages, normalize_options,
};
pub use notify::{
    ConsoleNotifier, DiscordConfig, DynNotifier, HttpSettings, LINE_API_BASE, LineConfig, Notifier,
    NotifierOutcome, NotifierSet, NotifyConfig, NotifyError, NotifyReport, SIGNATURE_HEADER,
    SlackConfig, WebhookConfig, discord_payload, line_payload, slack_payload,
};
#[cfg(feature = "http")]
pub use notify::{DiscordNotifier, LineNotifier, SlackNotifier, WebhookNotifier};
pub use policy::{
    DEFAULT_ESCALATION_TOML, EscalationPolicy, ExhaustedAction, ExpiryAction, PolicyError,
    RateLimit,
};
pub use secret::{REDACTED, Secret};
pub use stored::{
    StoredAnswer, StoredPmMessage, UndecodableMessage, answer_stored, answer_stored_by,
    decode_stored,
};
