//! The gate leaves the tree it checks exactly as it found it, for every toolchain: no
//! `target/`, no `Cargo.lock`, no `__pycache__`, no `.pytest_cache`, no coverage data.

use std::collections::BTreeMap;
use std::path::Path;

use orch_quality::on_path;

use crate::support::{Project, python_tools_or_skip, summary};

/// Every file under `root` (but `.git`) with its bytes.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[track_caller]
fn assert_untouched(project: &Project) {
    let before = snapshot(project.path());
    let report = project.check();
    let after = snapshot(project.path());
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| after.get(*k) != before.get(*k))
        .collect();
    assert!(
        added.is_empty() && changed.is_empty(),
        "the gate wrote into the tree: added {added:?}, changed or removed {changed:?}\n{}",
        summary(&report)
    );
}

#[test]
fn python_project_without_gitignore_is_left_as_it_was() {
    if !python_tools_or_skip() {
        return;
    }
    let p = Project::new(&[
        (
            "pyproject.toml",
            "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n",
        ),
        ("app/__init__.py", "\"\"\"Calculator.\"\"\"\n"),
        (
            "app/core.py",
            "\"\"\"Core.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add.\"\"\"\n    return a + b\n",
        ),
        (
            "tests/test_core.py",
            "from app.core import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        ),
    ]);
    assert_untouched(&p);
}

#[test]
fn rust_crate_without_lock_file_or_gitignore_is_left_as_it_was() {
    if !on_path("cargo") {
        eprintln!("notice: skipping: cargo is not installed");
        return;
    }
    let p = Project::new(&[
        (
            "Cargo.toml",
            "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        ),
        ("README.md", "# calc\n"),
        (
            "src/lib.rs",
            "//! Arithmetic.\n\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 3), 5);\n    }\n}\n",
        ),
    ]);
    assert_untouched(&p);
}

#[test]
fn javascript_package_is_left_as_it_was() {
    if !on_path("node") {
        eprintln!("notice: skipping: node is not installed");
        return;
    }
    let p = Project::new(&[
        (
            "package.json",
            "{\"name\":\"calc\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"node --test\"}}\n",
        ),
        (
            "src/add.js",
            "/** Adds. */\nexport function add(a, b) {\n  return a + b;\n}\n",
        ),
        (
            "test/add.test.mjs",
            "import test from 'node:test';\nimport assert from 'node:assert';\nimport { add } from '../src/add.js';\ntest('adds', () => assert.strictEqual(add(2, 3), 5));\n",
        ),
    ]);
    assert_untouched(&p);
}

#[test]
fn go_module_is_left_as_it_was() {
    if !on_path("go") {
        eprintln!("notice: skipping: go is not installed");
        return;
    }
    let p = Project::new(&[
        ("go.mod", "module calc\n\ngo 1.20\n"),
        (
            "calc.go",
            "// Package calc adds.\npackage calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
        ),
        (
            "calc_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 3) != 5 {\n\t\tt.Fatal(\"add\")\n\t}\n}\n",
        ),
    ]);
    assert_untouched(&p);
}

/// A folder of `.py` files with no manifest is a Python project: every dimension that applies
/// runs, and tests in a `tests/` folder without `__init__.py` are found.
#[test]
fn python_files_without_a_manifest_are_checked_as_python() {
    if !python_tools_or_skip() {
        return;
    }
    let p = Project::new(&[
        (
            "calc.py",
            "\"\"\"Calc.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add.\"\"\"\n    return a + b\n",
        ),
        (
            "tests/test_calc.py",
            "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 6\n",
        ),
    ]);
    let report = p.check();
    assert!(
        report.toolchains.iter().any(|t| t.starts_with("python")),
        "{}",
        summary(&report)
    );
    let tests = report.dimension(orch_quality::Dimension::Tests).unwrap();
    assert_eq!(tests.status.word(), "failed", "{}", summary(&report));
    assert!(!report.passed);
    for d in [
        orch_quality::Dimension::Syntax,
        orch_quality::Dimension::Types,
        orch_quality::Dimension::Lint,
    ] {
        assert!(
            report.dimension(&d).unwrap().status.ran(),
            "{d} must run: {}",
            summary(&report)
        );
    }
}
