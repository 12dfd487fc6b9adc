//! A small Python project: clean it passes; each planted defect is caught by its dimension.

use orch_quality::{Dimension, Severity};

use crate::support::{Project, caught_by, python_tools_or_skip, summary};

const CORE: &str = "\"\"\"Core arithmetic.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n\n\ndef sub(a: int, b: int) -> int:\n    \"\"\"Subtract b from a.\"\"\"\n    return a - b\n";
const TESTS: &str = "from app.core import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n";

fn clean() -> Project {
    Project::new(&[
        (
            "pyproject.toml",
            "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n",
        ),
        ("README.md", "# calc\n"),
        ("app/__init__.py", "\"\"\"Calculator.\"\"\"\n"),
        ("app/core.py", CORE),
        ("tests/test_core.py", TESTS),
    ])
}

#[test]
fn clean_project_passes_every_dimension_that_applies() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    let r = p.check();
    assert!(r.passed, "{}", summary(&r));
    assert_eq!(r.toolchains, ["python"]);
    for d in [
        Dimension::Syntax,
        Dimension::Types,
        Dimension::Lint,
        Dimension::Security,
        Dimension::Tests,
        Dimension::Documentation,
    ] {
        assert_eq!(
            r.dimension(&d).unwrap().status.word(),
            "passed",
            "{d}: {}",
            summary(&r)
        );
    }
    assert_eq!(r.test_coverage, Some(100.0));
    assert!(
        r.skipped.contains_key(&Dimension::Performance),
        "no benchmark configured"
    );
    let tests = r.dimension(Dimension::Tests).unwrap();
    assert_eq!(tests.metrics["passed"], 2.0);
    assert!(
        tests.commands[0].contains("pytest"),
        "the exact command is recorded: {:?}",
        tests.commands
    );
    // Checking wrote nothing into the tree (no caches, no bytecode).
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--ignored"])
        .current_dir(p.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "",
        "the gate must not write into the tree"
    );
}

#[test]
fn syntax_error_is_caught_by_syntax() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    p.write("app/core.py", &CORE.replace("return a + b", "return a +"));
    let r = p.check();
    caught_by(&r, Dimension::Syntax, "invalid syntax");
    assert!(
        r.gate_failures.iter().any(|f| f == "syntax errors"),
        "{:?}",
        r.gate_failures
    );
    let f = &r.dimension(Dimension::Syntax).unwrap().findings[0];
    assert_eq!((f.file.as_deref(), f.line), (Some("app/core.py"), Some(6)));
}

#[test]
fn type_error_is_caught_by_types() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    p.write(
        "app/core.py",
        &CORE.replace("return a - b", "return str(a - b)"),
    );
    let r = p.check();
    caught_by(&r, Dimension::Types, "return-value");
    assert!(r.gate_failures.iter().any(|f| f == "type errors"));
    assert_eq!(
        r.dimension(Dimension::Syntax).unwrap().status.word(),
        "passed"
    );
}

#[test]
fn lint_warning_is_caught_by_lint() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    p.write("app/core.py", &format!("import os\n{CORE}"));
    let r = p.check();
    caught_by(&r, Dimension::Lint, "F401");
}

#[test]
fn failing_test_is_caught_by_tests() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    p.write(
        "tests/test_core.py",
        &TESTS.replace("sub(5, 3) == 2", "sub(5, 3) == 3"),
    );
    let r = p.check();
    caught_by(&r, Dimension::Tests, "test_sub");
    let tests = r.dimension(Dimension::Tests).unwrap();
    assert_eq!(
        (tests.metrics["passed"], tests.metrics["failed"]),
        (1.0, 1.0)
    );
    assert!(
        r.gate_failures.iter().any(|f| f.contains("failing tests")),
        "{:?}",
        r.gate_failures
    );
}

#[test]
fn undocumented_public_items_are_caught_by_documentation() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    p.write(
        "app/core.py",
        &format!("{CORE}\n\ndef mul(a: int, b: int) -> int:\n    return a * b\n\n\ndef div(a: int, b: int) -> float:\n    return a / b\n"),
    );
    let r = p.check();
    caught_by(&r, Dimension::Documentation, "`mul` has no documentation");
    let docs = r.dimension(Dimension::Documentation).unwrap();
    assert_eq!(
        (docs.metrics["public_items"], docs.metrics["documented"]),
        (4.0, 2.0)
    );
}

#[test]
fn hard_coded_secret_is_caught_by_security() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    let key = format!("{}{}", "sk-ant-api03-", "q8Zr3LmP0xV7tKw2Yb5NcD4eF6gH");
    p.write(
        "app/settings.py",
        &format!("\"\"\"Settings.\"\"\"\nANTHROPIC_KEY = \"{key}\"\n"),
    );
    let r = p.check();
    caught_by(&r, Dimension::Security, "Anthropic API key");
    let security = r.dimension(Dimension::Security).unwrap();
    assert!(
        security.findings.iter().all(|f| !f.message.contains(&key)),
        "a secret is never echoed"
    );
    assert!(security.count_at_least(Severity::High) >= 1);
    assert!(
        r.gate_failures.iter().any(|f| f.contains("high-severity")),
        "{:?}",
        r.gate_failures
    );
}

#[test]
fn coverage_under_the_threshold_fails_tests() {
    if !python_tools_or_skip() {
        return;
    }
    let p = clean();
    p.write(
        "tests/test_core.py",
        "from app.core import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    );
    p.write(
        "app/core.py",
        &format!("{CORE}\n\ndef branchy(x: int) -> int:\n    \"\"\"Untested.\"\"\"\n    if x > 0:\n        return 1\n    if x < 0:\n        return -1\n    y = x * 2\n    return y\n"),
    );
    let r = p.check();
    let tests = r.dimension(Dimension::Tests).unwrap();
    let coverage = r.test_coverage.expect("pytest-cov measured coverage");
    assert!(coverage < 80.0, "{coverage}");
    assert_eq!(tests.status.word(), "failed", "{}", summary(&r));
    assert!(
        (tests.score - coverage / 100.0).abs() < 1e-6,
        "score follows coverage: {} vs {coverage}",
        tests.score
    );
    assert!(!r.passed);
}
