//! Integration tests of orch-escalation: notifiers against a local HTTP server (with their
//! answer buttons), lifecycle properties, the escalation-loop regression, and the library
//! side of `orch msg`.

#[cfg(feature = "http")]
mod buttons;
mod cli;
mod incident;
mod lifecycle;
#[cfg(feature = "http")]
mod notifiers;

use orch_core::TaskId;
use orch_escalation::{
    FailureContext, FailureKind, MessageId, PmMessage, QualitySummary, RuleAdvisor,
};
use time::OffsetDateTime;

/// 2026-01-01T00:00:00Z, the start of `ManualClock::new()`.
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()
}

/// The article's example: quality 0.96, only coverage short.
pub fn sample_failure() -> FailureContext {
    FailureContext::new(
        TaskId::new("TASK-BA-001").unwrap(),
        FailureKind::QualityBelowThreshold,
        "coverage 78% is below the 80% target",
    )
    .with_attempt(3)
    .with_agent("claude")
    .with_quality(QualitySummary {
        overall: 0.96,
        threshold: 0.8,
        failing: vec!["coverage".into()],
        coverage: Some(0.78),
        coverage_target: Some(0.8),
        findings: Vec::new(),
    })
    .with_log_tail(["running 12 tests", "test result: ok. 12 passed"])
    .with_diff(orch_escalation::DiffStats {
        files_changed: 3,
        insertions: 120,
        deletions: 4,
    })
}

/// A message about [`sample_failure`] with the rule advisor's options.
pub fn sample_message() -> PmMessage {
    let failure = sample_failure();
    let options = RuleAdvisor::new().advise(&failure);
    PmMessage::new(MessageId::from_seq(1), &failure, options, t0())
}
