//! The library side of `orch msg list|show|answer`, as the CLI will call it: messages come
//! from the store as JSON rows, the answer goes back as a JSON row, and the engine adopts it.

use std::sync::Arc;

use orch_core::{Clock, TaskId, TaskStatus};
use orch_escalation::{
    Action, Decision, EscalationPolicy, Escalator, FailureContext, FailureKind, LifecycleError,
    ListFilter, MessageState, MessageSummary, NotifyReport, PmMessage, RuleAdvisor, answer_message,
    find_message, list_messages,
};
use orch_testutils::ManualClock;

use crate::sample_failure;

/// An engine that escalated two tasks; returns it and the rows the store would hold.
fn engine_with_two_messages() -> (Escalator, Arc<ManualClock>, Vec<String>) {
    let clock = Arc::new(ManualClock::new());
    let policy = EscalationPolicy {
        max_retries: 0,
        ..EscalationPolicy::default()
    };
    let mut escalator = Escalator::new(policy, clock.clone()).unwrap();
    let advisor = RuleAdvisor::new();
    let mut rows = Vec::new();
    for failure in [
        sample_failure(),
        FailureContext::new(
            TaskId::new("TASK-BA-002").unwrap(),
            FailureKind::Idle,
            "no output for 10 minutes",
        ),
    ] {
        let outcome = escalator.on_failure_with(failure, |f| advisor.advise(f));
        let Decision::Escalate { message, .. } = outcome.decision else {
            panic!("{outcome:?}")
        };
        let stored = escalator
            .record_notification(&message.id, &NotifyReport::default())
            .unwrap();
        rows.push(serde_json::to_string(stored).unwrap());
        clock.advance(time::Duration::minutes(1));
    }
    (escalator, clock, rows)
}

fn load(rows: &[String]) -> Vec<PmMessage> {
    rows.iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

#[test]
fn list_show_answer_round_trip() {
    let (mut escalator, clock, rows) = engine_with_two_messages();
    let messages = load(&rows);

    // orch msg list
    let list = list_messages(&messages, ListFilter::Pending);
    let lines: Vec<String> = list.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "PM-0001  TASK-BA-001  notified  quality below threshold  [A*|B|C]  TASK-BA-001 did not pass the quality gate: score 0.96 (threshold 0.80); short: coverage 78% (target…",
            "PM-0002  TASK-BA-002  notified  agent idle (probably waiting on a permission prompt)  [A*|B|C]  The agent on TASK-BA-002 went quiet, probably waiting on a permission prompt. How should it continu…",
        ]
    );
    // orch msg list --json
    let json = serde_json::to_value(&list).unwrap();
    assert_eq!(json[1]["id"], "PM-0002");
    assert_eq!(json[1]["state"], "notified");
    assert_eq!(json[1]["recommended"], "A");
    assert_eq!(json[1]["options"], serde_json::json!(["A", "B", "C"]));
    assert_eq!(json[1]["created_at"], "2026-01-01T00:01:00Z");
    assert_eq!(json[1]["expires_at"], "2026-01-02T00:01:00Z");
    let back: Vec<MessageSummary> = serde_json::from_value(json).unwrap();
    assert_eq!(back, list);

    // orch msg show 2
    let shown = find_message(&messages, "2").unwrap();
    let text = shown.render_text();
    assert!(
        text.starts_with("PM-0002  TASK-BA-002  agent idle"),
        "{text}"
    );
    assert!(
        text.contains("  A. Retry without permission prompts  (recommended)"),
        "{text}"
    );
    assert!(
        text.contains("Expires 2026-01-02T00:01:00Z (then: skip the task)."),
        "{text}"
    );

    // orch msg answer PM-0002 a --note "allow cargo"
    let answered = answer_message(shown, "a", Some("allow cargo"), clock.now()).unwrap();
    let Action::RetryWithInstructions {
        instructions,
        non_interactive,
        ..
    } = &answered.action
    else {
        panic!("{:?}", answered.action)
    };
    assert!(*non_interactive);
    assert!(instructions.ends_with("Note from the project manager: allow cargo"));
    assert_eq!(answered.action.task_status(), TaskStatus::Ready);
    let row = serde_json::to_string(&answered.message).unwrap();

    // The engine picks the stored answer up, applies it, and the list is shorter.
    let stored: PmMessage = serde_json::from_str(&row).unwrap();
    let resolution = escalator.record_answer(&stored).unwrap();
    assert_eq!(resolution.action, answered.action);
    assert_eq!(
        resolution.log.unwrap().summary,
        "PM-0002 answered A: retry without permission prompts"
    );
    let applied = escalator.mark_applied(&stored.id).unwrap();
    assert!(matches!(applied.state, MessageState::Applied { .. }));
    let now: Vec<PmMessage> = escalator.messages().cloned().collect();
    assert_eq!(list_messages(&now, ListFilter::Pending).len(), 1);
    assert_eq!(list_messages(&now, ListFilter::All).len(), 2);
}

#[test]
fn bad_answers_are_errors_with_useful_text() {
    let (_escalator, clock, rows) = engine_with_two_messages();
    let messages = load(&rows);
    let err = find_message(&messages, "PM-0009").unwrap_err();
    assert_eq!(err.to_string(), "no PM message PM-0009");
    let err = find_message(&messages, "rm -rf").unwrap_err();
    assert!(matches!(err, LifecycleError::InvalidId { .. }));
    let m = find_message(&messages, "pm-1").unwrap();
    let err = answer_message(m, "D", None, clock.now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PM message PM-0001 has no option `D`; choose one of A, B, C"
    );
    let err = answer_message(m, "AB", None, clock.now()).unwrap_err();
    assert!(matches!(err, LifecycleError::UnknownOption { .. }));
    let decided = answer_message(m, "A", None, clock.now()).unwrap();
    assert_eq!(decided.action, Action::Accept);
    let err = answer_message(&decided.message, "B", None, clock.now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PM message PM-0001 is decided; it cannot become decided"
    );
}
