//! PM messages: the question put to a human, its options, and the message lifecycle.
//!
//! ```text
//! Open ──▶ Notified ──▶ AwaitingDecision ──▶ Decided{option} ──▶ Applied
//!   │         │               │
//!   └─────────┴───────────────┴──▶ Decided{option} | Expired | Suppressed
//! ```
//!
//! A message is *pending* while it is `Open`, `Notified` or `AwaitingDecision`: a human may
//! answer it, it may expire, or it may be suppressed (withdrawn, with the reason recorded).
//! `Applied`, `Expired` and `Suppressed` are final. Every other move is a
//! [`LifecycleError::IllegalTransition`] and leaves the message unchanged.

use std::fmt;
use std::str::FromStr;

use orch_core::{TaskId, TaskStatus, validate_name};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::advisor::RuleAdvisor;
use crate::failure::{DiffStats, FailureContext, FailureKind, Fingerprint, QualitySummary};

/// The id of a PM message: `PM-0001`, `PM-0002`, … (`PM-` and a sequence number).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// The id with this sequence number (`PM-0042`).
    pub fn from_seq(seq: u64) -> MessageId {
        MessageId(format!("PM-{seq:04}"))
    }

    /// Parses an id as typed by a user: `PM-0042`, `pm-42` or just `42`.
    pub fn parse(input: &str) -> Result<MessageId, LifecycleError> {
        let trimmed = input.trim();
        let digits = trimmed
            .strip_prefix("PM-")
            .or_else(|| trimmed.strip_prefix("pm-"))
            .unwrap_or(trimmed);
        if let Ok(seq) = digits.parse::<u64>() {
            return Ok(MessageId::from_seq(seq));
        }
        validate_name("message", trimmed).map_err(|_| LifecycleError::InvalidId {
            input: input.escape_debug().to_string(),
        })?;
        Ok(MessageId(trimmed.to_owned()))
    }

    /// The sequence number, for ids of the form `PM-<n>`.
    pub fn seq(&self) -> Option<u64> {
        self.0.strip_prefix("PM-")?.parse().ok()
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MessageId, D::Error> {
        let s = String::deserialize(deserializer)?;
        MessageId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The letter of an option: `A`, `B`, … `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptionKey(char);

impl OptionKey {
    /// The key at this position (0 → `A`); `None` past `Z`.
    pub fn from_index(index: usize) -> Option<OptionKey> {
        let index = u8::try_from(index).ok().filter(|i| *i < 26)?;
        Some(OptionKey(char::from(b'A' + index)))
    }

    /// The letter.
    pub fn letter(self) -> char {
        self.0
    }
}

impl fmt::Display for OptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for OptionKey {
    type Err = ();

    /// Parses `A`, `a`, ` b ` (one ASCII letter, any case).
    fn from_str(s: &str) -> Result<OptionKey, ()> {
        let mut chars = s.trim().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => Ok(OptionKey(c.to_ascii_uppercase())),
            _ => Err(()),
        }
    }
}

impl Serialize for OptionKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OptionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OptionKey, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("`{s}` is not an option letter")))
    }
}

/// What the engine does once an option is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Take the work as it is (merge it despite the failed check).
    Accept,
    /// Run the task again with these extra instructions.
    RetryWithInstructions {
        /// Added to the task's instruction file.
        instructions: String,
        /// Start from a fresh worktree on the current tip of the epic branch (after a merge
        /// conflict).
        #[serde(default)]
        fresh_worktree: bool,
        /// Run the agent in a mode that does not stop on interactive permission prompts
        /// (after an idle session).
        #[serde(default)]
        non_interactive: bool,
    },
    /// Run the task again with another agent.
    RetryWithAgent {
        /// The agent to use; `None`: the engine picks the next configured one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
        /// Extra instructions for it.
        #[serde(default)]
        instructions: String,
    },
    /// Break the task into smaller tasks (the planner does the split).
    SplitTask {
        /// What to split along.
        hint: String,
    },
    /// Do not do the task; dependents become blocked.
    Skip,
    /// Stop the whole run.
    AbortRun,
    /// Raise a spending limit (`scope`: `run`, `epic E`, `task T`) to this many cents; the
    /// task waiting for it goes on.
    RaiseBudget {
        /// What the limit covers.
        scope: String,
        /// The new limit in US cents.
        limit_cents: u64,
    },
    /// Stop starting attempts and end the run gracefully; nothing is cancelled and the next
    /// `orch run` goes on where this one stopped.
    StopRun,
}

impl Action {
    /// A short name: `accept`, `retry`, `retry_with_agent`, `split`, `skip`, `abort_run`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::RetryWithInstructions { .. } => "retry",
            Action::RetryWithAgent { .. } => "retry_with_agent",
            Action::SplitTask { .. } => "split",
            Action::Skip => "skip",
            Action::AbortRun => "abort_run",
            Action::RaiseBudget { .. } => "raise_budget",
            Action::StopRun => "stop_run",
        }
    }

    /// Whether the task runs again.
    pub fn is_retry(&self) -> bool {
        matches!(
            self,
            Action::RetryWithInstructions { .. } | Action::RetryWithAgent { .. }
        )
    }

    /// The status an escalated task moves to once the action is applied: retries →
    /// `Ready`; accept → `Completed` (after the engine merged the branch); split and skip →
    /// `Skipped` (a split task is superseded by the new tasks); abort → `Cancelled`.
    pub fn task_status(&self) -> TaskStatus {
        match self {
            Action::Accept => TaskStatus::Completed,
            Action::RetryWithInstructions { .. } | Action::RetryWithAgent { .. } => {
                TaskStatus::Ready
            }
            Action::SplitTask { .. } | Action::Skip => TaskStatus::Skipped,
            Action::AbortRun => TaskStatus::Cancelled,
            Action::RaiseBudget { .. } | Action::StopRun => TaskStatus::Ready,
        }
    }

    /// The action with a human's note added to its instructions (retries) or hint (split).
    pub fn with_note(mut self, note: Option<&str>) -> Action {
        let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) else {
            return self;
        };
        let append = |text: &mut String| {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str("Note from the project manager: ");
            text.push_str(note);
        };
        match &mut self {
            Action::RetryWithInstructions { instructions, .. }
            | Action::RetryWithAgent { instructions, .. } => append(instructions),
            Action::SplitTask { hint } => append(hint),
            Action::Accept
            | Action::Skip
            | Action::AbortRun
            | Action::RaiseBudget { .. }
            | Action::StopRun => {}
        }
        self
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Accept => f.write_str("accept as is"),
            Action::RetryWithInstructions {
                fresh_worktree: true,
                ..
            } => f.write_str("retry on a fresh worktree from the current tip"),
            Action::RetryWithInstructions {
                non_interactive: true,
                ..
            } => f.write_str("retry without permission prompts"),
            Action::RetryWithInstructions { .. } => f.write_str("retry with extra instructions"),
            Action::RetryWithAgent { agent: Some(a), .. } => write!(f, "retry with agent {a}"),
            Action::RetryWithAgent { agent: None, .. } => f.write_str("retry with another agent"),
            Action::SplitTask { .. } => f.write_str("split the task"),
            Action::Skip => f.write_str("skip the task"),
            Action::AbortRun => f.write_str("abort the run"),
            Action::RaiseBudget { scope, limit_cents } => write!(
                f,
                "raise the {scope} budget to ${}.{:02}",
                limit_cents / 100,
                limit_cents % 100
            ),
            Action::StopRun => f.write_str("stop the run (nothing is cancelled)"),
        }
    }
}

/// One answer a human can give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionOption {
    /// `A`, `B`, …; assigned in order when the message is built.
    pub key: OptionKey,
    /// A short title.
    pub title: String,
    /// Arguments for it.
    #[serde(default)]
    pub pros: Vec<String>,
    /// Arguments against it.
    #[serde(default)]
    pub cons: Vec<String>,
    /// What it triggers.
    pub action: Action,
    /// Whether this is the recommended option; exactly one option of a message is.
    #[serde(default)]
    pub recommended: bool,
}

impl DecisionOption {
    /// An option (key `A` until the message assigns keys in order).
    pub fn new(title: impl Into<String>, action: Action) -> DecisionOption {
        DecisionOption {
            key: OptionKey('A'),
            title: title.into(),
            pros: Vec::new(),
            cons: Vec::new(),
            action,
            recommended: false,
        }
    }

    /// Adds an argument for it.
    pub fn pro(mut self, text: impl Into<String>) -> DecisionOption {
        self.pros.push(text.into());
        self
    }

    /// Adds an argument against it.
    pub fn con(mut self, text: impl Into<String>) -> DecisionOption {
        self.cons.push(text.into());
        self
    }

    /// Marks it recommended.
    pub fn recommended(mut self) -> DecisionOption {
        self.recommended = true;
        self
    }
}

/// Makes a list of options well-formed: at most 26, keys `A`, `B`, … in order, exactly one
/// recommended (the first one marked, else the first). An empty list is replaced by the
/// offline [`RuleAdvisor`]'s options for `failure`.
pub fn normalize_options(
    mut options: Vec<DecisionOption>,
    failure: &FailureContext,
) -> Vec<DecisionOption> {
    options.retain(|o| !o.title.trim().is_empty());
    if options.is_empty() {
        options = RuleAdvisor::new().advise(failure);
    }
    options.truncate(26);
    let recommended = options.iter().position(|o| o.recommended).unwrap_or(0);
    for (i, option) in options.iter_mut().enumerate() {
        option.key = OptionKey::from_index(i).unwrap_or(OptionKey('Z'));
        option.recommended = i == recommended;
    }
    options
}

/// What the human is shown about the failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageContext {
    /// The failure message (at most 2,000 characters).
    pub summary: String,
    /// Fingerprint of the failure.
    pub fingerprint: Fingerprint,
    /// Agent of the failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Quality report summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualitySummary>,
    /// Last lines of the session log (at most [`FailureContext::LOG_TAIL_LINES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    /// Diff statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<DiffStats>,
    /// The kind that kept repeating, for a repeated failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<FailureKind>,
    /// Failed attempts of the task so far.
    #[serde(default)]
    pub failures: u32,
    /// Which escalation of this task this is (1 for the first).
    #[serde(default)]
    pub escalation: u32,
}

/// Where a message is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MessageState {
    /// Created, not announced yet.
    Open,
    /// The notification step ran (possibly rate-limited or failed everywhere).
    Notified {
        /// Channels that delivered it.
        #[serde(default)]
        delivered: Vec<String>,
        /// Channels that failed.
        #[serde(default)]
        failed: Vec<String>,
    },
    /// A human has seen it (dashboard, `orch msg show`); waiting for the answer.
    AwaitingDecision,
    /// A human chose an option.
    Decided {
        /// The option.
        option: OptionKey,
        /// The human's note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The engine applied the decision. Final.
    Applied {
        /// The option that was applied.
        option: OptionKey,
        /// The human's note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Nobody answered in time; the configured action was applied. Final.
    Expired {
        /// What was done instead.
        action: Action,
    },
    /// Withdrawn before a decision (a limit was reached, the run ended, the task was
    /// settled another way). Final.
    Suppressed {
        /// Why.
        reason: String,
    },
}

impl MessageState {
    /// The snake_case name (`open`, `notified`, `awaiting_decision`, …).
    pub fn name(&self) -> &'static str {
        match self {
            MessageState::Open => "open",
            MessageState::Notified { .. } => "notified",
            MessageState::AwaitingDecision => "awaiting_decision",
            MessageState::Decided { .. } => "decided",
            MessageState::Applied { .. } => "applied",
            MessageState::Expired { .. } => "expired",
            MessageState::Suppressed { .. } => "suppressed",
        }
    }

    /// Whether a human can still answer: `Open`, `Notified` or `AwaitingDecision`.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            MessageState::Open | MessageState::Notified { .. } | MessageState::AwaitingDecision
        )
    }

    /// Whether nothing can happen to the message any more.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            MessageState::Applied { .. }
                | MessageState::Expired { .. }
                | MessageState::Suppressed { .. }
        )
    }

    /// Whether the lifecycle allows moving from `self` to `next` (by state, ignoring data).
    pub fn can_become(&self, next: &MessageState) -> bool {
        use MessageState as S;
        matches!(
            (self, next),
            (S::Open, S::Notified { .. })
                | (S::Notified { .. }, S::AwaitingDecision)
                | (
                    S::Open | S::Notified { .. } | S::AwaitingDecision,
                    S::Decided { .. } | S::Expired { .. } | S::Suppressed { .. },
                )
                | (S::Decided { .. }, S::Applied { .. })
        )
    }
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of a message's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The state entered ([`MessageState::name`]).
    pub state: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who made the change, when a human did (`cli`, `dashboard`, `slack:U123`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// A question to the project manager (the human) about a failing task, with options.
/// Serializes to the JSON stored as one row and sent by the generic webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PmMessage {
    /// `PM-0001`, …
    pub id: MessageId,
    /// The task.
    pub task: TaskId,
    /// The failure kind (`repeated_failure` when the circuit breaker tripped).
    pub kind: FailureKind,
    /// The question.
    pub question: String,
    /// The facts behind it.
    pub context: MessageContext,
    /// Options `A`, `B`, …; exactly one is recommended.
    pub options: Vec<DecisionOption>,
    /// Where it is in its lifecycle.
    #[serde(flatten)]
    pub state: MessageState,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it expires if nobody answers; `None`: never.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// What expiry does to the task.
    pub on_expiry: Action,
    /// Every state it entered, oldest first (starts with `open`).
    #[serde(default)]
    pub history: Vec<StateChange>,
}

/// Longest failure summary kept in a message, in characters.
const MAX_SUMMARY_CHARS: usize = 2000;

impl PmMessage {
    /// Builds an `Open` message about `failure` with these options (normalised with
    /// [`normalize_options`]). It never expires and expiry skips the task until
    /// [`PmMessage::with_expiry`] says otherwise.
    pub fn new(
        id: MessageId,
        failure: &FailureContext,
        options: Vec<DecisionOption>,
        created_at: OffsetDateTime,
    ) -> PmMessage {
        let options = normalize_options(options, failure);
        let log_start = failure
            .log_tail
            .len()
            .saturating_sub(FailureContext::LOG_TAIL_LINES);
        PmMessage {
            id,
            task: failure.task.clone(),
            kind: failure.kind,
            question: question_for(failure),
            context: MessageContext {
                summary: truncate(&failure.message, MAX_SUMMARY_CHARS),
                fingerprint: failure.fingerprint(),
                agent: failure.agent.clone(),
                quality: failure.quality.clone(),
                log_tail: failure.log_tail[log_start..]
                    .iter()
                    .map(|l| truncate(l, 500))
                    .collect(),
                diff: failure.diff,
                cause: failure.cause,
                failures: failure.attempt,
                escalation: 0,
            },
            options,
            state: MessageState::Open,
            created_at,
            expires_at: None,
            on_expiry: Action::Skip,
            history: vec![StateChange {
                state: "open".into(),
                at: created_at,
                by: None,
            }],
        }
    }

    /// Sets when it expires and what expiry does.
    pub fn with_expiry(mut self, expires_at: Option<OffsetDateTime>, action: Action) -> PmMessage {
        self.expires_at = expires_at;
        self.on_expiry = action;
        self
    }

    /// Whether a human can still answer it.
    pub fn is_pending(&self) -> bool {
        self.state.is_pending()
    }

    /// The recommended option.
    pub fn recommended(&self) -> Option<&DecisionOption> {
        self.options.iter().find(|o| o.recommended)
    }

    /// The option with this key.
    pub fn option(&self, key: OptionKey) -> Option<&DecisionOption> {
        self.options.iter().find(|o| o.key == key)
    }

    /// The letters of the options, e.g. `A, B, C`.
    pub fn option_letters(&self) -> String {
        self.options
            .iter()
            .map(|o| o.key.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// For a `Decided` or `Applied` message: the chosen option's action with the note.
    pub fn decided_action(&self) -> Option<Action> {
        match &self.state {
            MessageState::Decided { option, note } | MessageState::Applied { option, note } => {
                Some(
                    self.option(*option)?
                        .action
                        .clone()
                        .with_note(note.as_deref()),
                )
            }
            _ => None,
        }
    }

    fn enter(&mut self, next: MessageState, now: OffsetDateTime) -> Result<(), LifecycleError> {
        if !self.state.can_become(&next) {
            return Err(LifecycleError::IllegalTransition {
                message: self.id.clone(),
                from: self.state.name(),
                to: next.name(),
            });
        }
        self.history.push(StateChange {
            state: next.name().into(),
            at: now,
            by: None,
        });
        self.state = next;
        Ok(())
    }

    /// `Open` → `Notified`: records which channels delivered it and which failed (both may
    /// be empty when the notification was rate-limited or no channel is configured).
    pub fn mark_notified(
        &mut self,
        delivered: Vec<String>,
        failed: Vec<String>,
        now: OffsetDateTime,
    ) -> Result<(), LifecycleError> {
        self.enter(MessageState::Notified { delivered, failed }, now)
    }

    /// `Notified` → `AwaitingDecision`: a human has seen it.
    pub fn acknowledge(&mut self, now: OffsetDateTime) -> Result<(), LifecycleError> {
        self.enter(MessageState::AwaitingDecision, now)
    }

    /// pending → `Decided{option}`: validates the option and returns the action to apply
    /// (the option's action with the note added).
    pub fn decide(
        &mut self,
        option: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Action, LifecycleError> {
        let key = self.parse_option(option)?;
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        self.enter(MessageState::Decided { option: key, note }, now)?;
        Ok(self.decided_action().unwrap_or(Action::Skip))
    }

    /// [`PmMessage::decide`], recording who answered.
    pub fn decide_by(
        &mut self,
        option: &str,
        note: Option<&str>,
        by: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Action, LifecycleError> {
        let action = self.decide(option, note, now)?;
        if let Some(last) = self.history.last_mut() {
            last.by = by.map(str::to_owned);
        }
        Ok(action)
    }

    /// Who decided it and when, once it is decided (`None` for who when not recorded).
    pub fn decided_by(&self) -> Option<(Option<&str>, OffsetDateTime)> {
        self.history
            .iter()
            .rev()
            .find(|h| h.state == "decided")
            .map(|h| (h.by.as_deref(), h.at))
    }

    fn parse_option(&self, option: &str) -> Result<OptionKey, LifecycleError> {
        option
            .parse::<OptionKey>()
            .ok()
            .filter(|k| self.option(*k).is_some())
            .ok_or_else(|| LifecycleError::UnknownOption {
                message: self.id.clone(),
                option: truncate(&option.escape_debug().to_string(), 40),
                valid: self.option_letters(),
            })
    }

    /// `Decided` → `Applied`: the engine carried the decision out.
    pub fn mark_applied(&mut self, now: OffsetDateTime) -> Result<(), LifecycleError> {
        let (option, note) = match &self.state {
            MessageState::Decided { option, note } => (*option, note.clone()),
            other => {
                return Err(LifecycleError::IllegalTransition {
                    message: self.id.clone(),
                    from: other.name(),
                    to: "applied",
                });
            }
        };
        self.enter(MessageState::Applied { option, note }, now)
    }

    /// pending → `Expired`: returns the action expiry applies.
    pub fn expire(&mut self, now: OffsetDateTime) -> Result<Action, LifecycleError> {
        let action = self.on_expiry.clone();
        self.enter(
            MessageState::Expired {
                action: action.clone(),
            },
            now,
        )?;
        Ok(action)
    }

    /// pending → `Suppressed`, recording why.
    pub fn suppress(
        &mut self,
        reason: impl Into<String>,
        now: OffsetDateTime,
    ) -> Result<(), LifecycleError> {
        self.enter(
            MessageState::Suppressed {
                reason: reason.into(),
            },
            now,
        )
    }

    /// Whether it is pending and past its expiry time.
    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        self.is_pending() && self.expires_at.is_some_and(|at| at <= now)
    }

    /// The whole message as plain text (for `orch msg show`, the console and LINE).
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{}  {}  {}  [{}]\n",
            self.id,
            self.task,
            self.kind.describe(),
            self.state.name()
        );
        out.push_str(&self.question);
        out.push('\n');
        let context = self.context_lines();
        if !context.is_empty() {
            out.push('\n');
            for line in context {
                out.push_str(&line);
                out.push('\n');
            }
        }
        if !self.context.log_tail.is_empty() {
            out.push_str("Last log lines:\n");
            for line in &self.context.log_tail {
                out.push_str("  | ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str("\nOptions:\n");
        for o in &self.options {
            out.push_str(&format!(
                "  {}. {}{}\n",
                o.key,
                o.title,
                if o.recommended { "  (recommended)" } else { "" }
            ));
            for p in &o.pros {
                out.push_str(&format!("       + {p}\n"));
            }
            for c in &o.cons {
                out.push_str(&format!("       - {c}\n"));
            }
        }
        out.push('\n');
        out.push_str(&self.answer_hint());
        out.push('\n');
        if let Some(at) = self.expires_at
            && self.is_pending()
        {
            out.push_str(&format!(
                "Expires {} (then: {}).\n",
                rfc3339(at),
                self.on_expiry
            ));
        }
        out
    }

    /// `Failure: …`, `Quality: …`, `Diff: …`, `Attempts: …` lines shown with the question.
    pub fn context_lines(&self) -> Vec<String> {
        let c = &self.context;
        let mut lines = vec![format!("Failure: {}", first_line(&c.summary, 300))];
        if let Some(q) = &c.quality {
            lines.push(format!("Quality: {}", q.line()));
        }
        if let Some(d) = &c.diff {
            lines.push(format!("Diff: {d}"));
        }
        let mut attempts = format!("Attempts: {} failed", c.failures);
        if c.escalation > 0 {
            attempts.push_str(&format!("; escalation {}", c.escalation));
        }
        if let Some(agent) = &c.agent {
            attempts.push_str(&format!("; agent {agent}"));
        }
        lines.push(attempts);
        lines
    }

    /// `Answer with: orch msg answer PM-0001 <A|B|C> [--note TEXT]`
    pub fn answer_hint(&self) -> String {
        format!("Answer with: {}", self.answer_command())
    }

    /// `orch msg answer PM-0001 <A|B|C> [--note TEXT]`
    pub fn answer_command(&self) -> String {
        format!(
            "orch msg answer {} <{}> [--note TEXT]",
            self.id,
            self.options
                .iter()
                .map(|o| o.key.to_string())
                .collect::<Vec<_>>()
                .join("|")
        )
    }
}

/// The question for a failure.
fn question_for(f: &FailureContext) -> String {
    let task = &f.task;
    match f.kind {
        FailureKind::QualityBelowThreshold => match &f.quality {
            Some(q) => format!(
                "{task} did not pass the quality gate: {}. How should we proceed?",
                q.line()
            ),
            None => format!("{task} did not pass the quality gate. How should we proceed?"),
        },
        FailureKind::TestsFailing => {
            format!("{task} keeps failing its tests. How should we proceed?")
        }
        FailureKind::AgentCrashed => {
            format!("The agent working on {task} stopped without a result. Run it again?")
        }
        FailureKind::AgentApiError => {
            format!("The agent working on {task} got errors from its model API. What now?")
        }
        FailureKind::Timeout => {
            format!("{task} ran out of time. Is it too big, or should it get another try?")
        }
        FailureKind::Idle => format!(
            "The agent on {task} went quiet, probably waiting on a permission prompt. How should it continue?"
        ),
        FailureKind::MergeConflict => format!(
            "{task} conflicts with work already merged into its epic branch. How should we resolve it?"
        ),
        FailureKind::OutOfScope => format!(
            "The agent on {task} changed files outside the task's scope. Keep the change or redo it within scope?"
        ),
        FailureKind::NoChanges => format!(
            "The agent reported {task} as done but changed no file. Was it already done, or should it try again?"
        ),
        FailureKind::Tampering => format!(
            "The agent on {task} tampered with what it must not touch (see the evidence). Its work was not merged. What now?"
        ),
        FailureKind::TestIntegrity => format!(
            "The agent on {task} weakened the tests its work is measured by. Redo it with the tests intact, or accept the test changes?"
        ),
        FailureKind::BudgetReached => format!(
            "{task} cannot start: {}. Raise the limit, or stop here?",
            f.message
        ),
        FailureKind::RepeatedFailure => format!(
            "{task} failed {} times in a row the same way ({}). Automatic retries stopped. What should we do?",
            f.repeats.max(2),
            f.cause.unwrap_or(FailureKind::RepeatedFailure).describe()
        ),
    }
}

/// A message state change that the lifecycle does not allow, or an answer that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// No message has this id.
    #[error("no PM message {id}")]
    UnknownMessage {
        /// The id asked for.
        id: String,
    },
    /// The text is not a message id.
    #[error("`{input}` is not a PM message id (expected PM-0001 or 1)")]
    InvalidId {
        /// What was given (escaped).
        input: String,
    },
    /// The move is not allowed from the current state.
    #[error("PM message {message} is {from}; it cannot become {to}")]
    IllegalTransition {
        /// The message.
        message: MessageId,
        /// Its current state.
        from: &'static str,
        /// The state asked for.
        to: &'static str,
    },
    /// The answer names no option of the message.
    #[error("PM message {message} has no option `{option}`; choose one of {valid}")]
    UnknownOption {
        /// The message.
        message: MessageId,
        /// What was given.
        option: String,
        /// The valid letters.
        valid: String,
    },
}

/// The result of answering a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// The message, now `Decided`: store it.
    pub message: PmMessage,
    /// What to do: the chosen option's action with the note added.
    pub action: Action,
}

/// `orch msg answer ID OPTION [--note TEXT]`: validates the answer against `message` and
/// returns the decided message (to store) and the action to apply. The message itself is
/// not changed; an answer to a message that is not pending, or naming no option, is an
/// error.
pub fn answer_message(
    message: &PmMessage,
    option: &str,
    note: Option<&str>,
    now: OffsetDateTime,
) -> Result<Answered, LifecycleError> {
    answer_message_by(message, option, note, None, now)
}

/// [`answer_message`], recording who answered (shown to a second answerer).
pub fn answer_message_by(
    message: &PmMessage,
    option: &str,
    note: Option<&str>,
    by: Option<&str>,
    now: OffsetDateTime,
) -> Result<Answered, LifecycleError> {
    let mut decided = message.clone();
    let action = decided.decide_by(option, note, by, now)?;
    Ok(Answered {
        message: decided,
        action,
    })
}

/// `orch msg show ID`: the message with this id (`PM-0007`, `pm-7` or `7`).
pub fn find_message<'a>(
    messages: &'a [PmMessage],
    id: &str,
) -> Result<&'a PmMessage, LifecycleError> {
    let wanted = MessageId::parse(id)?;
    messages
        .iter()
        .find(|m| m.id == wanted || (m.id.seq().is_some() && m.id.seq() == wanted.seq()))
        .ok_or_else(|| LifecycleError::UnknownMessage {
            id: wanted.to_string(),
        })
}

/// Which messages `orch msg list` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListFilter {
    /// Only those waiting for an answer (default).
    #[default]
    Pending,
    /// All of them.
    All,
}

/// One row of `orch msg list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// Id.
    pub id: MessageId,
    /// Task.
    pub task: TaskId,
    /// Failure kind.
    pub kind: FailureKind,
    /// State name.
    pub state: String,
    /// The question.
    pub question: String,
    /// Option letters.
    pub options: Vec<OptionKey>,
    /// The recommended option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended: Option<OptionKey>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl fmt::Display for MessageSummary {
    /// `PM-0001  TASK-A-001  notified  failing tests  [A*|B|C]  question…`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: Vec<String> = self
            .options
            .iter()
            .map(|k| {
                if Some(*k) == self.recommended {
                    format!("{k}*")
                } else {
                    k.to_string()
                }
            })
            .collect();
        write!(
            f,
            "{}  {}  {}  {}  [{}]  {}",
            self.id,
            self.task,
            self.state,
            self.kind.describe(),
            options.join("|"),
            first_line(&self.question, 100)
        )
    }
}

/// `orch msg list [--json]`: one summary per message passing `filter`, oldest first. Print
/// them with `Display` (one line each) or serialize the vector for `--json`.
pub fn list_messages<'a>(
    messages: impl IntoIterator<Item = &'a PmMessage>,
    filter: ListFilter,
) -> Vec<MessageSummary> {
    let mut rows: Vec<MessageSummary> = messages
        .into_iter()
        .filter(|m| filter == ListFilter::All || m.is_pending())
        .map(|m| MessageSummary {
            id: m.id.clone(),
            task: m.task.clone(),
            kind: m.kind,
            state: m.state.name().into(),
            question: m.question.clone(),
            options: m.options.iter().map(|o| o.key).collect(),
            recommended: m.recommended().map(|o| o.key),
            created_at: m.created_at,
            expires_at: m.expires_at,
        })
        .collect();
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    rows
}

/// Cuts `text` to `max` characters, ending with `…` when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn first_line(text: &str, max: usize) -> String {
    truncate(text.lines().next().unwrap_or(""), max)
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()
    }

    fn message() -> PmMessage {
        let failure = FailureContext::new(
            TaskId::new("TASK-A-001").unwrap(),
            FailureKind::TestsFailing,
            "2 tests failed",
        );
        PmMessage::new(
            MessageId::from_seq(1),
            &failure,
            vec![
                DecisionOption::new("Retry", Action::Skip),
                DecisionOption::new("Skip", Action::Skip).recommended(),
                DecisionOption::new("Abort", Action::AbortRun).recommended(),
            ],
            now(),
        )
    }

    #[test]
    fn ids_parse_leniently() {
        assert_eq!(MessageId::parse("PM-0007").unwrap().as_str(), "PM-0007");
        assert_eq!(MessageId::parse("pm-7").unwrap().as_str(), "PM-0007");
        assert_eq!(MessageId::parse(" 7 ").unwrap().as_str(), "PM-0007");
        assert_eq!(MessageId::parse("PM-12345").unwrap().seq(), Some(12345));
        assert!(MessageId::parse("../x").is_err());
        assert!(serde_json::from_str::<MessageId>("\"a b\"").is_err());
    }

    #[test]
    fn options_are_keyed_with_one_recommendation() {
        let m = message();
        let keys: Vec<char> = m.options.iter().map(|o| o.key.letter()).collect();
        assert_eq!(keys, ['A', 'B', 'C']);
        assert_eq!(m.options.iter().filter(|o| o.recommended).count(), 1);
        assert_eq!(m.recommended().unwrap().key.letter(), 'B');
        let empty = normalize_options(
            vec![],
            &FailureContext::new(
                TaskId::new("T-1").unwrap(),
                FailureKind::Timeout,
                "timed out",
            ),
        );
        assert!(empty.len() >= 2);
        assert_eq!(empty.iter().filter(|o| o.recommended).count(), 1);
    }

    #[test]
    fn lifecycle_happy_path_and_illegal_moves() {
        let mut m = message();
        assert!(m.acknowledge(now()).is_err());
        m.mark_notified(vec!["slack".into()], vec![], now())
            .unwrap();
        assert!(m.mark_notified(vec![], vec![], now()).is_err());
        m.acknowledge(now()).unwrap();
        let err = m.decide("Z", None, now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PM message PM-0001 has no option `Z`; choose one of A, B, C"
        );
        assert_eq!(m.state, MessageState::AwaitingDecision);
        let action = m.decide("c", Some(" go "), now()).unwrap();
        assert_eq!(action, Action::AbortRun);
        assert_eq!(
            m.state,
            MessageState::Decided {
                option: OptionKey('C'),
                note: Some("go".into())
            }
        );
        assert!(m.expire(now()).is_err());
        assert!(m.suppress("x", now()).is_err());
        m.mark_applied(now()).unwrap();
        assert!(m.state.is_final());
        let err = m.mark_applied(now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PM message PM-0001 is applied; it cannot become applied"
        );
        let names: Vec<&str> = m.history.iter().map(|h| h.state.as_str()).collect();
        assert_eq!(
            names,
            [
                "open",
                "notified",
                "awaiting_decision",
                "decided",
                "applied"
            ]
        );
    }

    #[test]
    fn notes_reach_retry_instructions() {
        let a = Action::RetryWithInstructions {
            instructions: "fix tests".into(),
            fresh_worktree: false,
            non_interactive: false,
        }
        .with_note(Some("use the mock DB"));
        let Action::RetryWithInstructions { instructions, .. } = a else {
            panic!()
        };
        assert_eq!(
            instructions,
            "fix tests\n\nNote from the project manager: use the mock DB"
        );
        assert_eq!(Action::Skip.with_note(Some("x")), Action::Skip);
    }

    #[test]
    fn json_round_trip() {
        let mut m = message().with_expiry(Some(now()), Action::Skip);
        m.mark_notified(vec![], vec!["slack".into()], now())
            .unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["state"], "notified");
        assert_eq!(json["failed"][0], "slack");
        assert_eq!(json["options"][1]["key"], "B");
        assert_eq!(json["options"][2]["action"]["type"], "abort_run");
        assert_eq!(json["created_at"], "2026-01-01T00:00:00Z");
        let back: PmMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn cli_helpers() {
        let mut a = message();
        let mut b = message();
        b.id = MessageId::from_seq(2);
        b.created_at += time::Duration::minutes(1);
        a.mark_notified(vec![], vec![], now()).unwrap();
        a.decide("A", None, now()).unwrap();
        let all = [a.clone(), b.clone()];
        let pending = list_messages(&all, ListFilter::Pending);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, b.id);
        assert_eq!(list_messages(&all, ListFilter::All).len(), 2);
        assert_eq!(
            pending[0].to_string(),
            "PM-0002  TASK-A-001  open  failing tests  [A|B*|C]  TASK-A-001 keeps failing its tests. How should we proceed?"
        );
        assert_eq!(find_message(&all, "2").unwrap().id, b.id);
        assert!(matches!(
            find_message(&all, "PM-9"),
            Err(LifecycleError::UnknownMessage { .. })
        ));
        let answered = answer_message(&b, "b", Some("fine"), now()).unwrap();
        assert_eq!(answered.action, Action::Skip);
        assert!(matches!(
            answered.message.state,
            MessageState::Decided { .. }
        ));
        assert!(b.is_pending(), "the input is not changed");
        assert!(answer_message(&a, "A", None, now()).is_err());
        let text = b.render_text();
        assert!(text.contains("  B. Skip  (recommended)"), "{text}");
        assert!(
            text.contains("Answer with: orch msg answer PM-0002 <A|B|C> [--note TEXT]"),
            "{text}"
        );
    }
}
