//! Reliability (issue #23): a hanging notifier cannot cost the lease; a refused epic merge
//! stays pending and is done once possible; the base branch is pinned for the run.

use std::time::{Duration, Instant};

use orch_core::TaskStatus;
use orch_engine::RunOutcome;
use orch_escalation::{NotifyConfig, Secret, WebhookConfig};
use orch_store::{Store, StoreError};
use orch_testutils::{FakeScenario, MockHttpServer, MockResponse};

use crate::support::*;

#[test]
fn a_notifier_hanging_past_the_staleness_limit_does_not_lose_the_lease() {
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &[],
        // Claims success, changes nothing: escalated at once (no retries).
        scenario: FakeScenario::preset("success").unwrap(),
    }]);
    let repo = repo_with(&plan);
    let server = MockHttpServer::start();
    // The webhook answers after 6 s; the lease goes stale after 2 s without a heartbeat.
    server.set_fallback(MockResponse::json(200, "{}").delay(Duration::from_secs(6)));
    let mut options = options(repo.path(), 0);
    options.config.store.lease_stale_seconds = 2;
    options.notifiers = NotifyConfig {
        console: false,
        retries: 0,
        timeout_seconds: 10,
        deadline_seconds: 8,
        webhook: WebhookConfig {
            url: Some(Secret::new(format!("{}/hook", server.url()))),
            ..WebhookConfig::default()
        },
        ..NotifyConfig::default()
    }
    .build()
    .unwrap();
    let db = repo.path().join(".orch/state.db");
    let intruder = std::thread::spawn(move || {
        // A second runner keeps trying while the first waits on the webhook.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut refused = 0;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            let mut store = Store::open_existing(&db).unwrap();
            match store.acquire_lease("intruder", Duration::from_secs(2)) {
                Err(StoreError::LeaseHeld { .. }) => refused += 1,
                Ok(_) => panic!("a second runner took the lease of a live, waiting runner"),
                Err(e) => panic!("{e}"),
            }
        }
        refused
    });
    let started = Instant::now();
    let report = run(options);
    let refused = intruder.join().unwrap();
    assert!(refused >= 10, "the intruder tried {refused} times");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "the run waited for the notifier's report"
    );
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert_eq!(server.requests().len(), 1, "the webhook was called once");
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::Escalated);
}

#[test]
fn a_refused_epic_merge_stays_pending_until_it_goes_through() {
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &[],
        scenario: writes("work/a.txt"),
    }]);
    let repo = repo_with(&plan);
    // The user has uncommitted changes to a tracked file: the merge into main is refused.
    repo.write("README.md", "# test, being edited\n");
    let main_before = repo.git(&["rev-parse", "main"]);
    let report = run(options(repo.path(), 0));
    assert_eq!(
        report.outcome,
        RunOutcome::Incomplete,
        "{:?}",
        report.pending_merges
    );
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::Completed);
    assert_eq!(
        report.pending_merges.len(),
        1,
        "{:?}",
        report.pending_merges
    );
    assert!(
        report.pending_merges[0].contains("README.md"),
        "{:?}",
        report.pending_merges
    );
    assert_eq!(
        repo.git(&["rev-parse", "main"]),
        main_before,
        "nothing forced"
    );
    // Once the user commits, the next run merges the epic.
    repo.commit_all("the user's edit");
    let report = run(options(repo.path(), 0));
    assert_eq!(
        report.outcome,
        RunOutcome::Completed,
        "{:?}",
        report.pending_merges
    );
    assert_eq!(
        repo.git(&["show", "main:work/a.txt"]),
        "written for work/a.txt"
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn the_base_branch_is_pinned_when_the_run_starts() {
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &[],
        scenario: FakeScenario::new()
            .sleep_ms(1500)
            .write("work/a.txt", "work\n"),
    }]);
    let repo = repo_with(&plan);
    let path = repo.path().to_owned();
    let db = repo.path().join(".orch/state.db");
    let switcher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let running = Store::open_existing(&db)
                .and_then(|s| s.task(&orch_core::TaskId::new("TASK-E-001").unwrap()))
                .is_ok_and(|r| r.task.status == TaskStatus::Running);
            if running {
                break;
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        // The user starts other work in the main checkout mid-run.
        let out = std::process::Command::new("git")
            .args(["checkout", "-q", "-b", "feature"])
            .current_dir(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
    });
    let report = run(options(repo.path(), 0));
    switcher.join().unwrap();
    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(repo.git(&["show", "main:work/a.txt"]), "work");
    let on_feature = repo.git(&["ls-tree", "-r", "--name-only", "feature"]);
    assert!(
        !on_feature.contains("work/a.txt"),
        "merged into the branch checked out later"
    );
}
