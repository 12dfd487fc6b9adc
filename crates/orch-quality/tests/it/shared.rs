//! Work the gate does once for several dimensions, and what it keeps between runs: the
//! integration tests read from the full pytest run, tools found by running them, the tool
//! cache kept outside the tree.

use std::path::Path;

use orch_core::QualityConfig;
use orch_quality::{Dimension, DimensionResult, GateOptions, QualityReport};

use crate::support::{Project, python_tools_or_skip, summary};
use crate::untouched::snapshot;

const CORE: &str = "\"\"\"Core arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n";
const UNIT: &str = "from app.core import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n";
const FLOW: &str = "from app.core import add\n\n\ndef test_chain():\n    assert add(add(1, 2), 3) == 6\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n";

fn project() -> Project {
    Project::new(&[
        ("pyproject.toml", "[project]\nname = \"calc\"\n"),
        ("README.md", "# calc\n"),
        ("app/__init__.py", "\"\"\"Calculator.\"\"\"\n"),
        ("app/core.py", CORE),
        ("tests/test_core.py", UNIT),
        ("tests/integration/test_flow.py", FLOW),
    ])
}

fn only(p: &Project, dimensions: &[Dimension]) -> QualityReport {
    p.gate(
        QualityConfig::default(),
        GateOptions {
            only: dimensions.to_vec(),
            ..GateOptions::default()
        },
    )
}

/// What decides a dimension's verdict (not its commands or duration).
fn verdict(d: &DimensionResult) -> String {
    format!(
        "{:?} {:.4} {:?} {:?}",
        d.status,
        d.score,
        d.metrics,
        d.findings
            .iter()
            .map(|f| (&f.file, &f.message))
            .collect::<Vec<_>>()
    )
}

/// The integration dimension of a full gate run (read from the tests' pytest run) against
/// one run of the integration tests alone.
#[track_caller]
fn assert_same_integration(p: &Project) -> (QualityReport, QualityReport) {
    let full = p.check();
    let alone = only(p, &[Dimension::Integration]);
    let (a, b) = (
        full.dimension(Dimension::Integration).unwrap(),
        alone.dimension(Dimension::Integration).unwrap(),
    );
    assert_eq!(verdict(a), verdict(b), "{}", summary(&full));
    (full, alone)
}

#[test]
fn integration_is_read_from_the_full_test_run() {
    if !python_tools_or_skip() {
        return;
    }
    let p = project();
    let (full, alone) = assert_same_integration(&p);
    assert!(full.passed, "{}", summary(&full));
    let integration = full.dimension(Dimension::Integration).unwrap();
    let tests = full.dimension(Dimension::Tests).unwrap();
    assert_eq!(integration.metrics["passed"], 2.0);
    assert_eq!(tests.metrics["passed"], 3.0);
    assert_eq!(
        integration.commands, tests.commands,
        "one pytest run serves both"
    );
    let own = &alone.dimension(Dimension::Integration).unwrap().commands;
    assert!(own[0].ends_with(" tests/integration"), "{own:?}");
}

#[test]
fn a_broken_integration_test_fails_tests_and_integration() {
    if !python_tools_or_skip() {
        return;
    }
    let p = project();
    p.write(
        "tests/integration/test_flow.py",
        &FLOW.replace("== 6", "== 7"),
    );
    let (full, _) = assert_same_integration(&p);
    assert!(!full.passed);
    for d in [Dimension::Tests, Dimension::Integration] {
        let r = full.dimension(&d).unwrap();
        assert_eq!(r.status.word(), "failed", "{d}: {}", summary(&full));
        assert_eq!(r.metrics["failed"], 1.0, "{d}");
        assert!(
            r.findings.iter().any(|f| f.message.contains("test_chain")
                && f.file.as_deref() == Some("tests/integration/test_flow.py")),
            "{d}: {:#?}",
            r.findings
        );
    }
    assert_eq!(
        full.dimension(Dimension::Integration).unwrap().metrics["passed"],
        1.0
    );
}

#[test]
fn a_collection_error_elsewhere_leaves_integration_to_its_own_run() {
    if !python_tools_or_skip() {
        return;
    }
    let p = project();
    // pytest stops before running any test: the full run cannot speak for the others.
    p.write("tests/test_broken.py", "import does_not_exist\n");
    let (full, _) = assert_same_integration(&p);
    assert_eq!(
        full.dimension(Dimension::Integration)
            .unwrap()
            .status
            .word(),
        "passed",
        "{}",
        summary(&full)
    );
    assert_eq!(
        full.dimension(Dimension::Tests).unwrap().status.word(),
        "failed"
    );
}

#[test]
fn a_suite_stopped_early_leaves_integration_to_its_own_run() {
    if !python_tools_or_skip() {
        return;
    }
    let p = project();
    // A failure before the integration tests (collected first: "a_" sorts before them),
    // then the first of theirs, stop the whole run at two: the second never runs there.
    p.write(
        "pyproject.toml",
        "[project]\nname = \"calc\"\n\n[tool.pytest.ini_options]\naddopts = \"--maxfail=2\"\n",
    );
    p.write("tests/a_test.py", "def test_first():\n    assert 1 == 2\n");
    p.write(
        "tests/integration/test_flow.py",
        &FLOW.replace("== 6", "== 7").replace("== 0", "== 1"),
    );
    let (full, _) = assert_same_integration(&p);
    let integration = full.dimension(Dimension::Integration).unwrap();
    assert_eq!(integration.metrics["failed"], 2.0, "{}", summary(&full));
}

fn cached_gate(p: &Project, cache: &Path) -> QualityReport {
    p.gate(
        QualityConfig::default(),
        GateOptions {
            tool_cache_dir: Some(cache.to_owned()),
            ..GateOptions::default()
        },
    )
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

#[test]
fn tool_caches_persist_outside_the_tree() {
    if !python_tools_or_skip() {
        return;
    }
    let p = project();
    let cache = tempfile::tempdir().unwrap();
    let before = snapshot(p.path());
    let first = cached_gate(&p, cache.path());
    assert!(first.passed, "{}", summary(&first));
    assert_eq!(before, snapshot(p.path()), "nothing written into the tree");
    for kept in ["mypy/root", "ruff", "pycache"] {
        let dir = cache.path().join(kept);
        assert!(
            dir.is_dir() && !is_empty_dir(&dir),
            "{kept} kept in the tool cache"
        );
    }
    let lint = &first.dimension(Dimension::Lint).unwrap().commands;
    assert!(!lint[0].contains("--no-cache"), "{lint:?}");
    let types = &first.dimension(Dimension::Types).unwrap().commands;
    assert!(
        types[0].contains(&*cache.path().to_string_lossy()),
        "{types:?}"
    );

    // Warm: the same verdicts; and a change is seen through the cache.
    let second = cached_gate(&p, cache.path());
    for (a, b) in first.dimensions.iter().zip(&second.dimensions) {
        assert_eq!(verdict(a), verdict(b), "{}", a.dimension);
    }
    p.write(
        "app/core.py",
        &CORE.replace("return a + b", "return str(a + b)"),
    );
    let third = cached_gate(&p, cache.path());
    assert_eq!(
        third.dimension(Dimension::Types).unwrap().status.word(),
        "failed",
        "{}",
        summary(&third)
    );

    // The bytecode of a tree that is gone goes at the next run beside it.
    let bytecode = |p: &Project| {
        let root = p.path().canonicalize().unwrap();
        cache
            .path()
            .join("pycache")
            .join(root.strip_prefix("/").unwrap())
    };
    let gone = bytecode(&p);
    assert!(
        gone.is_dir(),
        "the tree's bytecode is kept while it is there"
    );
    drop(p);
    let other = project();
    cached_gate(&other, cache.path());
    assert!(!gone.exists(), "{} pruned", gone.display());
    assert!(bytecode(&other).is_dir());

    // Another gate run's mypy has the cache: this one checks with a cold one of its own.
    let held = std::fs::File::create(cache.path().join("mypy/root.lock")).unwrap();
    held.lock().unwrap();
    let r = cached_gate(&other, cache.path());
    let types = r.dimension(Dimension::Types).unwrap();
    assert_eq!(types.status.word(), "passed", "{}", summary(&r));
    assert!(
        !types.commands[0].contains(&*cache.path().to_string_lossy()),
        "{:?}",
        types.commands
    );
}

#[test]
fn a_tool_cache_in_the_tree_is_not_used() {
    if !python_tools_or_skip() {
        return;
    }
    let p = project();
    let before = snapshot(p.path());
    let r = cached_gate(&p, &p.path().join(".cache/tools"));
    assert!(r.passed, "{}", summary(&r));
    assert_eq!(before, snapshot(p.path()), "no cache made in the tree");
    let lint = &r.dimension(Dimension::Lint).unwrap().commands;
    assert!(lint[0].contains("--no-cache"), "scratch caches: {lint:?}");

    // `.orch/` is not the tree (a repository checked in place keeps its caches there).
    let r = cached_gate(&p, &p.path().join(".orch/cache/tools"));
    let lint = &r.dimension(Dimension::Lint).unwrap().commands;
    assert!(!lint[0].contains("--no-cache"), "{lint:?}");
    let mut after = snapshot(p.path());
    after.retain(|path, _| !path.starts_with(".orch/"));
    assert_eq!(before, after, "nothing but the cache written");
}

#[test]
fn tools_not_installed_are_skipped_without_a_probe() {
    if !python_tools_or_skip() {
        return;
    }
    // An interpreter without site-packages: no mypy, bandit, pytest or pytest-cov.
    let bin = tempfile::tempdir().unwrap();
    let python = bin.path().join("python-bare");
    std::fs::write(&python, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    let mut permissions = std::fs::metadata(&python).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&python, permissions).unwrap();
    let p = project();
    let mut config = QualityConfig::default();
    config.python = python.to_string_lossy().into_owned();
    let r = p.gate(config, GateOptions::default());
    let reason = |d: Dimension| r.skipped.get(&d).cloned().unwrap_or_default();
    assert!(
        reason(Dimension::Types).contains("mypy is not installed"),
        "{}",
        summary(&r)
    );
    assert!(
        reason(Dimension::Security).is_empty(),
        "the secrets scan ran"
    );
    let security = r.dimension(Dimension::Security).unwrap();
    assert!(
        security
            .findings
            .iter()
            .any(|f| f.message.contains("bandit is not installed")),
        "{:#?}",
        security.findings
    );
    assert!(
        security.commands.iter().all(|c| !c.contains("bandit")),
        "a command that only found bandit missing is not reported as run"
    );
    for d in [Dimension::Tests, Dimension::Integration] {
        let commands = &r.dimension(&d).unwrap().commands;
        assert!(
            commands.len() == 1 && commands[0].contains("-c <script>"),
            "{d} falls back to unittest, and only that is reported: {commands:?}"
        );
    }
    let python_missing = r
        .missing_tools
        .iter()
        .find(|m| m.language == orch_quality::Language::Python)
        .expect("python tools reported missing");
    for tool in ["mypy", "bandit", "pytest", "pytest-cov"] {
        assert!(
            python_missing.tools.iter().any(|t| t == tool),
            "{tool}: {:?}",
            python_missing.tools
        );
    }
}
