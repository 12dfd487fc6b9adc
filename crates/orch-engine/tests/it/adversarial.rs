//! Agents that misbehave: each attempt must end in the right failure, the task escalated
//! (no retries configured), never `Completed`, and nothing left running.

use std::path::Path;
use std::time::Duration;

use orch_core::TaskStatus;
use orch_engine::RunOutcome;
use orch_testutils::{FakeScenario, FakeStep};

use crate::support::*;

/// Processes whose working directory is inside `root`.
fn processes_in(root: &Path) -> Vec<String> {
    let root = root.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(&root))
        })
        .map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            format!(
                "{}: {}",
                e.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            )
        })
        .collect()
}

#[test]
fn every_misbehaving_agent_ends_in_its_failure_and_never_completes() {
    let specs = [
        (
            "TASK-E-001",
            "no_changes",
            FakeScenario::preset("success").unwrap(),
            &["src/a/**"][..],
        ),
        (
            "TASK-E-002",
            "out_of_scope",
            FakeScenario::new().write("elsewhere/x.txt", "mine now\n"),
            &["src/b/**"][..],
        ),
        (
            "TASK-E-003",
            "timeout",
            // Busy forever: talks every half second, never finishes.
            (0..200).fold(FakeScenario::new(), |s, i| {
                s.text(&format!("still thinking {i}")).sleep_ms(500)
            }),
            &["src/c/**"][..],
        ),
        (
            "TASK-E-004",
            "agent_crashed",
            FakeScenario::new()
                .write("src/d/x.txt", "half\n")
                .step(FakeStep::Crash(3)),
            &["src/d/**"][..],
        ),
        (
            "TASK-E-005",
            "agent_api_error",
            FakeScenario::new()
                .write("src/e/x.txt", "x\n")
                .api_error("API Error: 529 overloaded"),
            &["src/e/**"][..],
        ),
        (
            "TASK-E-006",
            "idle",
            FakeScenario::preset("permission_prompt").unwrap(),
            &["src/f/**"][..],
        ),
    ];
    let plan = plan_of(
        &specs
            .iter()
            .map(|(id, _, scenario, files)| Spec {
                id,
                deps: &[],
                files,
                scenario: scenario.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let repo = repo_with(&plan);
    let mut options = options(repo.path(), 0);
    options.parallel = specs.len();
    // The hanging agent prints now and then; the prompt one prints nothing after its prompt.
    options.session_timeout = Duration::from_secs(5);
    options.idle_timeout = Some(Duration::from_secs(3));
    let report = run(options);

    assert_eq!(report.outcome, RunOutcome::Incomplete);
    for (id, kind, _, _) in &specs {
        assert_eq!(status(&repo, id), TaskStatus::Escalated, "{id}");
        let tried = attempts(&repo, id);
        assert_eq!(tried.len(), 1, "{id}: {tried:?}");
        assert_eq!(
            tried[0].result.as_deref(),
            Some(*kind),
            "{id}: {:?}",
            tried[0].summary
        );
    }
    // The scope violation names the file; the crashed agent's partial work was kept.
    let scope = &attempts(&repo, "TASK-E-002")[0];
    assert!(
        scope
            .summary
            .as_deref()
            .unwrap()
            .contains("elsewhere/x.txt"),
        "{scope:?}"
    );
    assert_eq!(
        attempts(&repo, "TASK-E-004")[0].changed_files,
        ["src/d/x.txt"]
    );
    let left = processes_in(repo.path());
    assert!(left.is_empty(), "processes left running: {left:?}");
    assert_eq!(
        repo.git(&["rev-parse", "orch/epic/E"]),
        repo.git(&["rev-parse", "main"]),
        "nothing may be merged"
    );
}

#[test]
fn an_agent_that_breaks_the_tests_fails_the_real_gate() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("notice: skipping: python3 is not installed");
        return;
    }
    let broken = "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Return a + b.\"\"\"\n    return a - b\n";
    let plan = plan_of(&[Spec {
        id: "TASK-E-001",
        deps: &[],
        files: &["calc.py"],
        scenario: FakeScenario::new().write("calc.py", broken),
    }]);
    let repo = repo_with(&plan);
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n",
    );
    repo.write("calc.py", "\"\"\"Arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Return a + b.\"\"\"\n    return a + b\n");
    repo.write("tests/__init__.py", "");
    repo.write(
        "tests/test_calc.py",
        "\"\"\"Tests of calc.\"\"\"\n\nimport unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    \"\"\"add() adds.\"\"\"\n\n    def test_add(self) -> None:\n        \"\"\"Two and two.\"\"\"\n        self.assertEqual(add(2, 2), 4)\n",
    );
    repo.commit_all("calc with tests");
    let mut options = options(repo.path(), 0);
    options.gate = Some(std::sync::Arc::new(orch_quality::Gate::new(
        orch_core::QualityConfig::default(),
    )));
    let report = run(options);
    assert_eq!(report.outcome, RunOutcome::Incomplete);
    assert_eq!(status(&repo, "TASK-E-001"), TaskStatus::Escalated);
    let tried = attempts(&repo, "TASK-E-001");
    assert_eq!(
        tried[0].result.as_deref(),
        Some("tests_failing"),
        "{:?}",
        tried[0].summary
    );
    assert!(tried[0].quality.is_some_and(|q| q < 1.0));
    assert!(tried[0].quality_report.is_some());
}
