//! Review before merge and spending limits (issue #19), end to end: real repositories,
//! the fake Claude Code reporting costs, the real merge queue.

use orch_core::{Event, ReviewMode, TaskId, TaskStatus};
use orch_engine::RunOutcome;
use orch_escalation::{Action, FailureKind, PmMessage, answer_message};
use orch_store::{ReviewVerdict, Store};
use orch_testutils::FakeScenario;

use crate::support::*;

fn store(repo: &orch_testutils::TempRepo) -> Store {
    Store::open_existing(&repo.path().join(".orch/state.db")).unwrap()
}

fn on_main(repo: &orch_testutils::TempRepo, path: &str) -> bool {
    repo.git(&["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .any(|l| l == path)
}

#[test]
fn verified_work_waits_for_a_human_a_rejection_retries_with_the_note_and_an_approval_merges_what_was_reviewed()
 {
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &[],
        scenario: writes("work/a.txt"),
    }]);
    let repo = repo_with(&plan);
    let task = TaskId::new("TASK-E-001").unwrap();
    let with_review = || {
        let mut o = options(repo.path(), 0);
        o.config.run.review = ReviewMode::Human;
        o
    };

    // Verified, but not merged: it waits.
    let report = run(with_review());
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert_eq!(report.awaiting_review, ["TASK-E-001"]);
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::AwaitingReview);
    assert!(
        !on_main(&repo, "work/a.txt"),
        "nothing merged before the review"
    );
    let first = store(&repo).review(&task).unwrap().unwrap();
    assert!(first.is_pending());
    assert_eq!(first.attempt, 1);

    // Rejected: the next attempt is told why.
    store(&repo)
        .decide_review(
            &task,
            ReviewVerdict::Rejected,
            "tester",
            Some("Name the file after the feature, not `a.txt`."),
        )
        .unwrap();
    let report = run(with_review());
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::AwaitingReview);
    let instructions =
        std::fs::read_to_string(repo.path().join(".orch/instructions/TASK-E-001.md")).unwrap();
    assert!(
        instructions.contains("Name the file after the feature, not `a.txt`."),
        "the reviewer's note must reach the agent:\n{instructions}"
    );
    let second = store(&repo).review(&task).unwrap().unwrap();
    assert_eq!(second.attempt, 2);

    // Something lands in the worktree after the review: it must not be merged.
    let worktree = repo.path().join(".worktrees/TASK-E-001");
    std::fs::write(worktree.join("unreviewed.txt"), "sneaked in\n").unwrap();

    // Approved: exactly the reviewed commit is merged.
    store(&repo)
        .decide_review(&task, ReviewVerdict::Approved, "tester", None)
        .unwrap();
    let err = store(&repo)
        .decide_review(&task, ReviewVerdict::Rejected, "late", Some("no"))
        .unwrap_err();
    assert!(err.to_string().contains("approved by tester"), "{err}");
    let report = run(with_review());
    assert_eq!(
        report.outcome,
        RunOutcome::Completed,
        "{:?}",
        statuses(&repo)
    );
    assert!(on_main(&repo, "work/a.txt"));
    assert!(
        !on_main(&repo, "unreviewed.txt"),
        "only the reviewed commit is merged"
    );
    let events = store(&repo).events_since(0, 10_000).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "review_requested").count(),
        2
    );
    assert_eq!(kinds.iter().filter(|k| **k == "review_decided").count(), 2);
    assert_clean(&repo);
}

#[test]
fn a_task_set_to_auto_review_merges_at_once_under_a_human_default() {
    let mut plan = plan_of(&[
        Spec {
            id: "TASK-E-001",
            deps: &[],
            files: &[],
            scenario: writes("one.txt"),
        },
        Spec {
            id: "TASK-E-002",
            deps: &[],
            files: &[],
            scenario: writes("two.txt"),
        },
    ]);
    plan.tasks[1].review = Some(ReviewMode::Auto);
    let repo = repo_with(&plan);
    let mut o = options(repo.path(), 0);
    o.config.run.review = ReviewMode::Human;
    let report = run(o);
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::AwaitingReview);
    assert_eq!(status(&repo, "TASK-E-002"), TaskStatus::Completed);
}

fn costing(path: &str, usd: f64) -> FakeScenario {
    let mut s = writes(path).record(&format!("{path}.argv.json"));
    s.result.cost_usd = usd;
    s
}

#[test]
fn a_run_stops_starting_attempts_at_its_budget_and_asks_whether_to_raise_it() {
    let plan = plan_of(&[
        Spec {
            id: "TASK-E-001",
            deps: &[],
            files: &[],
            scenario: costing("one.txt", 0.30),
        },
        Spec {
            id: "TASK-E-002",
            deps: &["TASK-E-001"],
            files: &[],
            scenario: costing("two.txt", 0.30),
        },
        Spec {
            id: "TASK-E-003",
            deps: &["TASK-E-002"],
            files: &[],
            scenario: costing("three.txt", 0.30),
        },
    ]);
    let repo = repo_with(&plan);
    let budgeted = || {
        let mut o = options(repo.path(), 0);
        o.config.budget.run_usd = Some(0.5);
        o
    };
    let report = run(budgeted());
    assert_eq!(
        report.outcome,
        RunOutcome::Incomplete,
        "{:?}",
        statuses(&repo)
    );
    // 0.30 after the first, 0.60 after the second: the third never starts.
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::Completed);
    assert_eq!(status(&repo, "TASK-E-002"), TaskStatus::Completed);
    assert_eq!(status(&repo, "TASK-E-003"), TaskStatus::Ready);
    assert!(attempts(&repo, "TASK-E-003").is_empty());
    assert_eq!(report.budget.reached, ["run"]);
    let spend = report.budget.run.unwrap();
    assert!((spend.spent_usd - 0.6).abs() < 1e-9 && spend.limit_usd == Some(0.5));
    // The first attempt got what was left of the budget as Claude Code's own limit.
    // (what the fake agent recorded is part of the work, merged into the epic branch)
    let argv = repo.git(&["show", "orch/epic/E:one.txt.argv.json"]);
    assert!(argv.contains(r#""--max-budget-usd","0.50""#), "{argv}");

    // The question: raise (recommended), double, or stop.
    let mut db = store(&repo);
    let rows = db.messages().unwrap();
    assert_eq!(rows.len(), 1);
    let message: PmMessage = serde_json::from_str(&rows[0].json).unwrap();
    assert_eq!(message.kind, FailureKind::BudgetReached);
    assert_eq!(message.task.as_str(), "TASK-E-003");
    assert!(message.question.contains("$0.60"), "{}", message.question);
    assert!(matches!(
        message.options[0].action,
        Action::RaiseBudget {
            limit_cents: 90,
            ..
        }
    ));
    assert!(message.options.iter().any(|o| o.action == Action::StopRun));
    let events = db.events_since(0, 10_000).unwrap();
    assert!(events.iter().any(|e| matches!(
        &e.event,
        Event::BudgetReached { scope, .. } if scope == "run"
    )));

    // Raised between runs: the next run applies it and finishes the plan.
    let answered = answer_message(&message, "A", None, time::OffsetDateTime::now_utc()).unwrap();
    let json = serde_json::to_string(&answered.message).unwrap();
    db.update_message_if(
        &rows[0].id,
        &rows[0].json,
        &message.task,
        answered.message.state.name(),
        &json,
    )
    .unwrap();
    drop(db);
    let report = run(budgeted());
    assert_eq!(
        report.outcome,
        RunOutcome::Completed,
        "{:?}",
        statuses(&repo)
    );
    // The spend across runs counts: 0.90 of the raised 0.90.
    let spend = report.budget.run.unwrap();
    assert!((spend.spent_usd - 0.9).abs() < 1e-9, "{spend:?}");
    assert_eq!(spend.limit_usd, Some(0.9));
}

#[test]
fn a_paused_run_starts_nothing_until_resumed_and_a_stop_request_ends_it() {
    use orch_store::ControlAction;
    let plan = plan_of(&[
        Spec {
            id: "TASK-E-001",
            deps: &[],
            files: &[],
            scenario: writes("one.txt"),
        },
        Spec {
            id: "TASK-E-002",
            deps: &["TASK-E-001"],
            files: &[],
            scenario: writes("two.txt").sleep_ms(400),
        },
    ]);
    let repo = repo_with(&plan);
    store(&repo)
        .request_control(ControlAction::Pause, "slack:U1")
        .unwrap();
    // Paused, not waiting: the run ends at once without starting anything.
    let report = run(options(repo.path(), 0));
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert!(attempts(&repo, "TASK-E-001").is_empty());

    // Waiting: it sits paused until a resume arrives from outside, then works.
    let mut waiting = options(repo.path(), 0);
    waiting.wait_for_answers = true;
    let db = repo.path().join(".orch/state.db");
    let controller = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(600));
        let mut s = Store::open_existing(&db).unwrap();
        assert!(
            s.attempts(None).unwrap().is_empty(),
            "nothing starts while paused"
        );
        s.request_control(ControlAction::Resume, "discord:42")
            .unwrap();
        // Once the second task runs, ask the run to stop: it finishes that task and ends.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while s.attempts(None).unwrap().len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the second task never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        s.request_control(ControlAction::Stop, "line:U9").unwrap();
    });
    let report = run(waiting);
    controller.join().unwrap();
    assert_eq!(report.outcome, RunOutcome::Interrupted);
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::Completed);
    assert_eq!(
        status(&repo, "TASK-E-002"),
        TaskStatus::Completed,
        "a graceful stop lets the running task finish"
    );
    // The stop request is used up; the pause was lifted.
    let control = store(&repo).run_control().unwrap();
    assert_eq!(control, orch_store::RunControl::default());
}
