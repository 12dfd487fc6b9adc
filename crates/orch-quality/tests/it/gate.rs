//! Scoring, hard gates, configuration, caching, diff-aware mode, timeouts and mixed
//! repositories.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use orch_core::QualityConfig;
use orch_quality::{
    BoxFuture, Check, CheckContext, CheckStatus, Dimension, DimensionResult, Finding, Gate,
    GateOptions, Grade, ProjectInfo, Severity,
};

use crate::support::{Project, git, summary};

/// A test double: a dimension with a fixed result, counting its runs.
struct Fixed {
    result: DimensionResult,
    runs: Arc<AtomicUsize>,
}

impl Check for Fixed {
    fn dimension(&self) -> Dimension {
        self.result.dimension.clone()
    }
    fn applies(&self, _: &ProjectInfo) -> bool {
        true
    }
    fn run<'a>(&'a self, _: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { self.result.clone() })
    }
}

fn result(d: Dimension, score: f64, status: CheckStatus) -> DimensionResult {
    DimensionResult {
        dimension: d,
        score,
        status,
        findings: Vec::new(),
        duration: Duration::ZERO,
        commands: vec!["fixed".into()],
        metrics: BTreeMap::new(),
    }
}

fn gate_of(config: QualityConfig, results: Vec<DimensionResult>) -> (Gate, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let checks: Vec<Box<dyn Check>> = results
        .into_iter()
        .map(|result| {
            Box::new(Fixed {
                result,
                runs: Arc::clone(&runs),
            }) as Box<dyn Check>
        })
        .collect();
    (Gate::with_checks(config, checks), runs)
}

fn evaluate(
    gate: &Gate,
    dir: &std::path::Path,
    options: &GateOptions,
) -> orch_quality::QualityReport {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(gate.evaluate(dir, options))
        .unwrap()
}

fn empty_project() -> Project {
    Project::new(&[("README.md", "# x\n")])
}

#[test]
fn weighted_mean_leaves_skipped_out_and_counts_errors_as_zero() {
    let p = empty_project();
    let (gate, _) = gate_of(
        QualityConfig::default(),
        vec![
            result(Dimension::Syntax, 1.0, CheckStatus::Passed),
            result(Dimension::Tests, 0.9, CheckStatus::Passed),
            result(
                Dimension::Performance,
                0.0,
                CheckStatus::Skipped {
                    reason: "none".into(),
                },
            ),
        ],
    );
    let r = evaluate(&gate, p.path(), &GateOptions::default());
    // (1.0 * 1.0 + 0.9 * 1.5) / 2.5
    assert!((r.quality_score - 0.94).abs() < 1e-9, "{}", r.quality_score);
    assert_eq!(r.status, Grade::Excellent);
    assert!(r.passed);
    assert!(!r.breakdown.contains_key(&Dimension::Performance));
    assert_eq!(r.skipped[&Dimension::Performance], "none");

    let (gate, _) = gate_of(
        QualityConfig::default(),
        vec![
            result(Dimension::Syntax, 1.0, CheckStatus::Passed),
            result(
                Dimension::Lint,
                0.0,
                CheckStatus::Error {
                    reason: "timed out".into(),
                },
            ),
        ],
    );
    let r = evaluate(&gate, p.path(), &GateOptions::default());
    assert!(
        (r.quality_score - 1.0 / 1.8).abs() < 1e-4,
        "{}",
        r.quality_score
    );
    assert_eq!(r.status, Grade::NeedsWork);
    assert!(
        r.gate_failures
            .iter()
            .any(|f| f.contains("lint could not be checked: timed out")),
        "{:?}",
        r.gate_failures
    );
}

#[test]
fn hard_gates_hold_whatever_the_score() {
    let p = empty_project();
    let mut security = result(Dimension::Security, 0.9, CheckStatus::Passed);
    security
        .findings
        .push(Finding::general(Severity::High, "shell=True"));
    let mut tests = result(Dimension::Tests, 0.99, CheckStatus::Passed);
    tests.metrics.insert("failed".into(), 1.0);
    let mut config = QualityConfig::default();
    config.required = vec!["syntax".into()]; // advisory everything else: the hard gates still hold
    let (gate, _) = gate_of(
        config,
        vec![
            security,
            tests,
            result(Dimension::Syntax, 1.0, CheckStatus::Passed),
        ],
    );
    let r = evaluate(&gate, p.path(), &GateOptions::default());
    assert!(r.quality_score >= 0.9);
    assert!(!r.passed);
    assert!(
        r.gate_failures
            .iter()
            .any(|f| f.contains("1 high-severity security findings")),
        "{:?}",
        r.gate_failures
    );
    assert!(
        r.gate_failures.iter().any(|f| f.contains("failing tests")),
        "{:?}",
        r.gate_failures
    );
}

#[test]
fn required_dimensions_decide_which_failures_fail_the_gate() {
    let p = empty_project();
    let results = || {
        vec![
            result(Dimension::Syntax, 1.0, CheckStatus::Passed),
            result(Dimension::Tests, 1.0, CheckStatus::Passed),
            result(Dimension::Documentation, 0.7, CheckStatus::Failed),
            result(
                Dimension::Integration,
                0.0,
                CheckStatus::Skipped {
                    reason: "no e2e".into(),
                },
            ),
        ]
    };
    // Default: every dimension that ran must pass.
    let (gate, _) = gate_of(QualityConfig::default(), results());
    let r = evaluate(&gate, p.path(), &GateOptions::default());
    assert_eq!(r.gate_failures, ["documentation failed"]);
    // Documentation advisory: passes. Integration required but skipped: fails.
    let mut config = QualityConfig::default();
    config.required = vec!["syntax".into(), "tests".into()];
    let (gate, _) = gate_of(config.clone(), results());
    assert!(evaluate(&gate, p.path(), &GateOptions::default()).passed);
    config.required.push("integration".into());
    let (gate, _) = gate_of(config, results());
    let r = evaluate(&gate, p.path(), &GateOptions::default());
    assert_eq!(
        r.gate_failures,
        ["integration is required but was skipped: no e2e"]
    );
    // A higher threshold fails on the score alone.
    let mut config = QualityConfig::default();
    config.required = vec!["syntax".into()];
    config.threshold = 0.97;
    let (gate, _) = gate_of(config, results());
    let r = evaluate(&gate, p.path(), &GateOptions::default());
    assert!(
        r.gate_failures[0].starts_with("quality score 0.9"),
        "{:?}",
        r.gate_failures
    );
}

#[test]
fn an_unchanged_tree_is_not_evaluated_twice() {
    let p = empty_project();
    let cache = tempfile::tempdir().unwrap();
    let options = GateOptions {
        cache_dir: Some(cache.path().to_owned()),
        ..Default::default()
    };
    let (gate, runs) = gate_of(
        QualityConfig::default(),
        vec![result(Dimension::Syntax, 1.0, CheckStatus::Passed)],
    );
    let first = evaluate(&gate, p.path(), &options);
    assert!(!first.cached);
    let second = evaluate(&gate, p.path(), &options);
    assert!(second.cached);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the check ran once");
    assert_eq!(second.tree, first.tree);
    // An untracked file changes the tree; an ignored build directory does not.
    std::fs::create_dir_all(p.path().join("target/debug")).unwrap();
    std::fs::write(p.path().join("target/debug/out"), "x").unwrap();
    assert!(
        evaluate(&gate, p.path(), &options).cached,
        "build output is not part of the tree"
    );
    p.write("new.py", "x = 1\n");
    assert!(!evaluate(&gate, p.path(), &options).cached);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // Another configuration is another key.
    let mut config = QualityConfig::default();
    config.threshold = 0.5;
    let (gate2, runs2) = gate_of(
        config,
        vec![result(Dimension::Syntax, 1.0, CheckStatus::Passed)],
    );
    assert!(!evaluate(&gate2, p.path(), &options).cached);
    assert_eq!(runs2.load(Ordering::SeqCst), 1);
    // The real index is untouched by hashing.
    let status = std::process::Command::new("git")
        .args(["diff", "--cached", "--name-only"])
        .current_dir(p.path())
        .output()
        .unwrap();
    assert!(
        status.stdout.is_empty(),
        "nothing staged: {}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn a_forged_cache_entry_is_never_believed() {
    let p = empty_project();
    let cache = tempfile::tempdir().unwrap();
    let options = GateOptions {
        cache_dir: Some(cache.path().to_owned()),
        cache_seal: Some(orch_quality::CacheSeal::new([7; 32])),
        ..Default::default()
    };
    let (gate, runs) = gate_of(
        QualityConfig::default(),
        vec![result(Dimension::Syntax, 0.0, CheckStatus::Failed)],
    );
    let first = evaluate(&gate, p.path(), &options);
    assert!(!first.passed);
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))
        .unwrap()
        .path();
    // Someone who can write the cache rewrites the verdict: unsealed, then with the old
    // seal over the new text.
    let mut forged = first.clone();
    forged.passed = true;
    forged.quality_score = 1.0;
    forged.gate_failures.clear();
    let json = serde_json::to_string(&forged).unwrap();
    let seal = std::fs::read_to_string(&entry)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    for text in [
        format!("-\n{json}"),
        format!("{seal}\n{json}"),
        json.clone(),
    ] {
        std::fs::write(&entry, &text).unwrap();
        let again = evaluate(&gate, p.path(), &options);
        assert!(
            !again.cached && !again.passed,
            "a forged entry was believed"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        4,
        "each forgery was re-evaluated"
    );
    // A genuine entry is still used.
    assert!(evaluate(&gate, p.path(), &options).cached);
    // Another key cannot read it.
    let other = GateOptions {
        cache_seal: Some(orch_quality::CacheSeal::new([8; 32])),
        ..options.clone()
    };
    assert!(!evaluate(&gate, p.path(), &other).cached);
}

#[test]
fn performance_command_is_held_to_its_limit() {
    let p = empty_project();
    let mut config = QualityConfig::default();
    config.performance_command = "echo 'GET /items p95: 150.5 ms'".into();
    let only = GateOptions {
        only: vec![Dimension::Performance],
        ..Default::default()
    };
    let r = Project::gate(&p, config.clone(), only.clone());
    let perf = r.dimension(Dimension::Performance).unwrap();
    assert_eq!(perf.status.word(), "passed", "{}", summary(&r));
    assert_eq!(perf.metrics["measured_ms"], 150.5);
    config.performance_command = "echo 'p95: 250 ms'".into();
    let r = Project::gate(&p, config, only);
    let perf = r.dimension(Dimension::Performance).unwrap();
    assert_eq!(perf.status.word(), "failed");
    assert!((perf.score - 0.8).abs() < 1e-9, "200/250: {}", perf.score);
}

#[test]
fn a_check_over_its_timeout_is_killed_with_its_children() {
    let p = empty_project();
    let mut config = QualityConfig::default();
    config.check_timeout_seconds = 1;
    let marker = p.path().join("survived");
    config.performance_command = format!("(sleep 3; touch {}) & sleep 30", marker.display());
    let started = Instant::now();
    let r = p.gate(
        config,
        GateOptions {
            only: vec![Dimension::Performance],
            ..Default::default()
        },
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout bounds the check"
    );
    let perf = r.dimension(Dimension::Performance).unwrap();
    assert!(
        matches!(&perf.status, CheckStatus::Error { reason } if reason.contains("did not finish within 1s")),
        "{:?}",
        perf.status
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(!marker.exists(), "the whole process group was killed");
}

#[test]
fn extra_commands_count_in_their_dimension() {
    let p = empty_project();
    let mut config = QualityConfig::default();
    config.commands.insert(
        "integration".into(),
        vec!["true".into(), "echo broken >&2; exit 3".into()],
    );
    let r = p.gate(
        config,
        GateOptions {
            only: vec![Dimension::Integration],
            ..Default::default()
        },
    );
    let d = r.dimension(Dimension::Integration).unwrap();
    assert_eq!(d.status.word(), "failed", "{}", summary(&r));
    assert!(
        d.findings
            .iter()
            .any(|f| f.message.contains("exited with code 3: broken")),
        "{:?}",
        d.findings
    );
    assert_eq!(d.commands, ["true", "echo broken >&2; exit 3"]);
}

#[test]
fn diff_aware_mode_judges_only_what_changed() {
    let p = Project::new(&[
        ("pyproject.toml", "[project]\nname = \"x\"\n"),
        ("README.md", "# x\n"),
        ("old.py", "def legacy():\n    return 1\n"),
    ]);
    git(p.path(), &["tag", "base"]);
    p.write(
        "new.py",
        "\"\"\"New.\"\"\"\n\n\ndef fresh():\n    \"\"\"Documented.\"\"\"\n    return 2\n",
    );
    let docs = |base: Option<&str>| {
        let r = p.gate(
            QualityConfig::default(),
            GateOptions {
                only: vec![Dimension::Documentation],
                base: base.map(str::to_owned),
                ..Default::default()
            },
        );
        r.dimension(Dimension::Documentation).unwrap().status.word()
    };
    assert_eq!(docs(None), "failed", "legacy() is undocumented");
    assert_eq!(
        docs(Some("base")),
        "passed",
        "only new.py changed since base"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(Gate::new(QualityConfig::default()).evaluate(
            p.path(),
            &GateOptions {
                base: Some("no-such-ref".into()),
                ..Default::default()
            },
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot compare with `no-such-ref`"),
        "{err}"
    );
}

#[test]
fn mixed_repositories_get_every_toolchain() {
    let p = Project::new(&[
        ("pyproject.toml", "[project]\nname = \"api\"\n"),
        ("README.md", "# mixed\n"),
        ("api.py", "\"\"\"API.\"\"\"\n"),
        ("web/package.json", "{\"name\":\"web\"}\n"),
        ("web/src/app.ts", "/** App. */\nexport const app = 1;\n"),
        ("svc/go.mod", "module svc\n"),
    ]);
    let info = ProjectInfo::detect(p.path()).unwrap();
    let labels: Vec<String> = info.toolchains.iter().map(|t| t.label()).collect();
    assert_eq!(labels, ["python", "go (svc)", "typescript (web)"]);
}

#[test]
fn a_directory_without_a_toolchain_still_gets_the_scans() {
    let p = Project::new(&[("notes.txt", "hello\n")]);
    let r = p.check();
    assert!(r.toolchains.is_empty());
    assert_eq!(
        r.dimension(Dimension::Security).unwrap().status.word(),
        "passed"
    );
    assert!(
        matches!(&r.dimension(Dimension::Syntax).unwrap().status, CheckStatus::Skipped { reason } if reason.contains("no known toolchain"))
    );
}
