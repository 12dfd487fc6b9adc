//! A question answered from outside while the run waits: the decision is picked up and
//! applied, and what depends on the task follows it.

use std::time::{Duration, Instant};

use orch_core::TaskStatus;
use orch_engine::RunOutcome;
use orch_escalation::{Action, PmMessage, answer_message};
use orch_store::Store;
use orch_testutils::FakeScenario;

use crate::support::*;

#[test]
fn an_answer_given_during_the_run_is_applied() {
    let plan = plan_of(&[
        Spec {
            id: "TASK-E-001",
            deps: &[],
            files: &[],
            scenario: FakeScenario::preset("success").unwrap(),
        },
        Spec {
            id: "TASK-E-002",
            deps: &["TASK-E-001"],
            files: &[],
            scenario: writes("b.txt"),
        },
    ]);
    let repo = repo_with(&plan);
    let mut options = options(repo.path(), 0);
    options.wait_for_answers = true;
    let db = repo.path().join(".orch/state.db");
    let answerer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let mut store = Store::open_existing(&db).unwrap();
            for row in store.messages().unwrap() {
                let message: PmMessage = serde_json::from_str(&row.json).unwrap();
                if !message.is_pending() {
                    continue;
                }
                let skip = message
                    .options
                    .iter()
                    .find(|o| o.action == Action::Skip)
                    .unwrap();
                let letter = skip.key.letter().to_string();
                let done = answer_message(
                    &message,
                    &letter,
                    Some("not needed"),
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();
                let json = serde_json::to_string(&done.message).unwrap();
                if store
                    .update_message_if(
                        &row.id,
                        &row.json,
                        &done.message.task,
                        done.message.state.name(),
                        &json,
                    )
                    .is_ok()
                {
                    return row.id;
                }
            }
        }
        panic!("no question was asked");
    });
    let report = run(options);
    let answered = answerer.join().unwrap();

    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::Skipped);
    assert_eq!(status(&repo, "TASK-E-002"), TaskStatus::Blocked);
    let store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    let message = store
        .messages()
        .unwrap()
        .into_iter()
        .find(|m| m.id == answered)
        .unwrap();
    assert_eq!(message.state, "applied");
    assert!(report.open_questions.is_empty());
}
