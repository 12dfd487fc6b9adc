//! `orch msg` on messages produced by the real escalation policy and stored as the runner
//! stores them.

use std::sync::Arc;

use orch_core::{SystemClock, TaskId, exit_code};
use orch_escalation::{
    Decision, EscalationPolicy, Escalator, FailureContext, FailureKind, PmMessage, RuleAdvisor,
};
use orch_store::Store;

use crate::support::{ok, orch, with_example_plan};

fn escalated_message() -> PmMessage {
    let policy = EscalationPolicy {
        max_retries: 0,
        ..EscalationPolicy::default()
    };
    let mut escalator = Escalator::new(policy, Arc::new(SystemClock)).unwrap();
    let advisor = RuleAdvisor::new();
    let failure = FailureContext::new(
        TaskId::new("TASK-DB-001").unwrap(),
        FailureKind::TestsFailing,
        "2 tests failed: migrations::down_reverts_up",
    );
    let outcome = escalator.on_failure_with(failure, |f| advisor.advise(f));
    let Decision::Escalate { message, .. } = outcome.decision else {
        panic!("expected an escalation, got {:?}", outcome.decision)
    };
    *message
}

fn store_message(repo: &std::path::Path, message: &PmMessage) {
    let mut store = Store::open_existing(&repo.join(".orch/state.db")).unwrap();
    let json = serde_json::to_string(message).unwrap();
    store
        .save_message(
            message.id.as_str(),
            &message.task,
            message.state.name(),
            &json,
        )
        .unwrap();
}

#[test]
fn list_show_answer() {
    let repo = with_example_plan();
    let none = ok(repo.path(), &["msg", "list"]);
    assert!(
        none.stdout.contains("No pending PM messages"),
        "{}",
        none.stdout
    );

    let message = escalated_message();
    store_message(repo.path(), &message);
    let list = ok(repo.path(), &["msg", "list"]).stdout;
    assert!(
        list.contains("PM-0001") && list.contains("TASK-DB-001"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["msg", "list", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["id"], "PM-0001");

    let show = ok(repo.path(), &["msg", "show", "1"]).stdout;
    assert!(show.contains(&message.question), "{show}");
    for option in &message.options {
        assert!(show.contains(&option.title), "{show}");
    }

    let bad = orch(repo.path(), &["msg", "answer", "PM-0001", "Z"]);
    assert_eq!(bad.code, exit_code::INVALID_INPUT, "{}", bad.transcript());
    let missing = orch(repo.path(), &["msg", "show", "PM-0042"]);
    assert_eq!(
        missing.code,
        exit_code::NOT_FOUND,
        "{}",
        missing.transcript()
    );

    let answer = ok(
        repo.path(),
        &["msg", "answer", "pm-1", "a", "--note", "mock the clock"],
    );
    assert!(answer.stdout.contains("answered A"), "{}", answer.stdout);
    let store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    let stored = &store.messages().unwrap()[0];
    assert_eq!(stored.state, "decided");
    assert!(stored.json.contains("mock the clock"));

    // answered: no longer pending, and a second answer is refused
    assert!(
        ok(repo.path(), &["msg", "list"])
            .stdout
            .contains("No pending")
    );
    assert!(
        ok(repo.path(), &["msg", "list", "--all"])
            .stdout
            .contains("PM-0001")
    );
    let again = orch(repo.path(), &["msg", "answer", "PM-0001", "B"]);
    assert_eq!(
        again.code,
        exit_code::ILLEGAL_TRANSITION,
        "{}",
        again.transcript()
    );
}
