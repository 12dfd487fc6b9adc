//! `orch quality [PATH]`: the gate from the command line, on any directory.

use orch_core::exit_code;

use crate::support::orch;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("pyproject.toml", "[project]\nname = \"calc\"\n");
    write("README.md", "# calc\n");
    write(
        "app/core.py",
        "\"\"\"Core.\"\"\"\n\n\ndef add(a, b):\n    \"\"\"Add.\"\"\"\n    return a + b\n",
    );
    let git = |args: &[&str]| {
        assert!(
            std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
                .status
                .success()
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "init",
    ]);
    dir
}

#[test]
fn a_passing_tree_exits_zero_and_a_second_run_is_cached() {
    let dir = project();
    let run = orch(dir.path(), &["quality", "--only", "documentation,security"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("Quality of"), "{}", run.stdout);
    assert!(
        run.stdout.contains("documentation  passed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("gate passed"), "{}", run.stdout);
    let again = orch(dir.path(), &["quality", "--only", "documentation,security"]);
    assert!(
        again
            .stdout
            .contains("cached: this tree was already evaluated"),
        "{}",
        again.stdout
    );
    // The cache lives in the git directory, not in the tree.
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        status.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn a_failing_gate_exits_with_its_code_and_json_has_the_articles_fields() {
    let dir = project();
    std::fs::write(
        dir.path().join("app/extra.py"),
        "def undocumented():\n    return 1\n\n\ndef also():\n    return 2\n",
    )
    .unwrap();
    let run = orch(
        dir.path(),
        &[
            "quality",
            "--json",
            "--task",
            "TASK-QA-001",
            "--only",
            "docs,security",
        ],
    );
    assert_eq!(run.code, exit_code::GATE_FAILED, "{}", run.transcript());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["task_id"], "TASK-QA-001");
    assert_eq!(v["passed"], false);
    assert!(v["quality_score"].as_f64().unwrap() < 1.0);
    assert!(v["status"].is_string());
    assert!(v.get("test_coverage").is_some());
    assert!(v["breakdown"]["documentation"].as_f64().unwrap() < 0.8);
    let failures: Vec<&str> = v["gate_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(failures.contains(&"documentation failed"), "{failures:?}");
    assert!(
        run.stderr.contains("the quality gate failed:"),
        "{}",
        run.stderr
    );
    // Human output names the finding and where it is.
    let run = orch(dir.path(), &["quality", "--only", "documentation"]);
    assert!(
        run.stdout
            .contains("app/extra.py:1  public function `undocumented` has no documentation"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_input_is_refused_clearly() {
    let dir = project();
    let run = orch(dir.path(), &["quality", "--only", "style"]);
    assert_eq!(run.code, exit_code::USAGE, "{}", run.transcript());
    assert!(
        run.stderr.contains("unknown dimension `style`"),
        "{}",
        run.stderr
    );
    let run = orch(dir.path(), &["quality", "no/such/dir"]);
    assert_eq!(run.code, exit_code::NOT_FOUND, "{}", run.transcript());
    let run = orch(dir.path(), &["quality", "--base", "nope", "--only", "docs"]);
    assert_eq!(run.code, exit_code::INVALID_INPUT, "{}", run.transcript());
    assert!(
        run.stderr.contains("cannot compare with `nope`"),
        "{}",
        run.stderr
    );
}
