//! What a retry is told, and what the summary shows (issue #16): the concrete findings of
//! every failed dimension, coverage in percent once, and only the latest attempt's score.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orch_core::{QualityConfig, TaskId, TaskStatus};
use orch_engine::RunOutcome;
use orch_quality::{
    BoxFuture, Check, CheckContext, CheckStatus, Dimension, DimensionResult, Finding, Gate,
    ProjectInfo, Severity,
};
use orch_store::Store;

use crate::support::*;

/// Lint that fails on its first `fail_first` runs with one finding, then passes.
struct FlakyLint {
    runs: Arc<AtomicUsize>,
    fail_first: usize,
}

impl Check for FlakyLint {
    fn dimension(&self) -> Dimension {
        Dimension::Lint
    }
    fn applies(&self, _: &ProjectInfo) -> bool {
        true
    }
    fn run<'a>(&'a self, _: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        let failing = n < self.fail_first;
        Box::pin(async move {
            DimensionResult {
                dimension: Dimension::Lint,
                score: if failing { 0.2 } else { 1.0 },
                status: if failing {
                    CheckStatus::Failed
                } else {
                    CheckStatus::Passed
                },
                findings: if failing {
                    vec![
                        Finding::at(
                            "a.txt",
                            Some(3),
                            Severity::Warning,
                            "F401 `os` imported but unused",
                        )
                        .with_code("F401"),
                    ]
                } else {
                    Vec::new()
                },
                duration: Duration::ZERO,
                commands: vec!["lint".into()],
                metrics: BTreeMap::new(),
            }
        })
    }
}

/// Tests that pass with 85% coverage.
struct Covered;

impl Check for Covered {
    fn dimension(&self) -> Dimension {
        Dimension::Tests
    }
    fn applies(&self, _: &ProjectInfo) -> bool {
        true
    }
    fn run<'a>(&'a self, _: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(async move {
            DimensionResult {
                dimension: Dimension::Tests,
                score: 0.85,
                status: CheckStatus::Passed,
                findings: Vec::new(),
                duration: Duration::ZERO,
                commands: vec!["tests".into()],
                metrics: BTreeMap::from([
                    ("coverage".to_owned(), 85.0),
                    ("coverage_target".to_owned(), 80.0),
                ]),
            }
        })
    }
}

fn gate(fail_first: usize) -> Arc<Gate> {
    let checks: Vec<Box<dyn Check>> = vec![
        Box::new(FlakyLint {
            runs: Arc::new(AtomicUsize::new(0)),
            fail_first,
        }),
        Box::new(Covered),
    ];
    Arc::new(Gate::with_checks(QualityConfig::default(), checks))
}

#[test]
fn a_retry_is_told_the_findings_and_the_coverage_in_percent() {
    // Each attempt appends, so each is a new tree (the gate's verdict on a tree is cached).
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &[],
        scenario: orch_testutils::FakeScenario::new().step(orch_testutils::FakeStep::Append {
            path: "a.txt".into(),
            content: "one more line\n".into(),
        }),
    }]);
    let repo = repo_with(&plan);
    let mut options = options(repo.path(), 1);
    options.gate = Some(gate(1));
    let report = run(options);
    assert_eq!(
        report.outcome,
        RunOutcome::Completed,
        "{:?}",
        attempts(&repo, "TASK-E-001")
            .iter()
            .map(|a| (a.result.clone(), a.summary.clone()))
            .collect::<Vec<_>>()
    );

    let tried = attempts(&repo, "TASK-E-001");
    assert_eq!(tried.len(), 2);
    // The feedback is kept with the attempt that failed.
    let feedback = tried[0].feedback.clone().unwrap_or_default();
    let instructions =
        std::fs::read_to_string(repo.path().join(".orch/instructions/TASK-E-001.md")).unwrap();
    for text in [&feedback, &instructions] {
        assert!(
            text.contains("lint: a.txt:3: F401"),
            "the finding must be in the feedback:\n{text}"
        );
        assert!(text.contains("coverage 85%"), "{text}");
        assert!(!text.contains("8500"), "coverage applied twice:\n{text}");
    }
}

#[test]
fn the_summary_shows_the_latest_attempts_score_only() {
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &[],
        scenario: writes("work/a.txt"),
    }]);
    let repo = repo_with(&plan);
    // First run: the gate fails it (score 0.36), no retries: escalated.
    let mut first = options(repo.path(), 0);
    first.gate = Some(gate(usize::MAX));
    let report = run(first);
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert!(report.tasks[0].quality.is_some_and(|q| q < 0.8));
    // A human sends it back; the next run has the gate off and merges it.
    let mut store = Store::open_existing(&repo.path().join(".orch/state.db")).unwrap();
    let task = TaskId::new("TASK-E-001").unwrap();
    store
        .transition(&task, TaskStatus::Ready, Some("by hand"))
        .unwrap();
    drop(store);
    let mut second = options(repo.path(), 0);
    second.gate = None;
    let report = run(second);
    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(
        report.tasks[0].quality, None,
        "the failed attempt's score must not stand for the merged work"
    );
    assert_eq!(report.mean_quality(), None);
}
