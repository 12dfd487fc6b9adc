//! `orch verify`: the working tree against its base, with Claude Code's hook contract
//! (0 passes, 2 blocks with the findings on stderr, anything else is verify's own error).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use orch_core::exit_code;
use orch_testutils::TempRepo;

use crate::support::{Run, orch};

const CALC: &str = "\"\"\"Calc.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n";
const TESTS: &str = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n";

/// A small Python project, committed on `main`.
fn project() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n",
    );
    repo.write("calc.py", CALC);
    repo.write("tests/test_calc.py", TESTS);
    repo.commit_all("calc");
    repo
}

/// A test whose assertion was deleted: it still runs, and checks nothing.
fn weaken_the_test(repo: &TempRepo) {
    repo.write(
        "tests/test_calc.py",
        "from calc import add\n\n\ndef test_add():\n    add(2, 3)\n",
    );
}

fn status(repo: &TempRepo) -> String {
    repo.git(&["status", "--porcelain", "--untracked-files=all"])
}

/// `orch verify --hook` as Claude Code runs it: no `-C`, started elsewhere, the hook input
/// (with the session's `cwd`) on stdin.
fn hook(elsewhere: &Path, input: &serde_json::Value) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["verify", "--hook", "--only", "documentation"])
        .current_dir(elsewhere)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run orch");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_clean_change_passes_without_writing_into_the_tree() {
    let repo = project();
    let run = orch(repo.path(), &["verify"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .starts_with("orch verify: nothing changed since main ("),
        "{}",
        run.stdout
    );

    repo.write(
        "calc.py",
        &format!("{CALC}\n\ndef sub(a: int, b: int) -> int:\n    \"\"\"Subtract.\"\"\"\n    return a - b\n"),
    );
    repo.write("notes.md", "# Notes\n");
    let before = status(&repo);
    let run = orch(repo.path(), &["verify", "--only", "documentation"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.starts_with("orch verify: passed against main (")
            && run.stdout.contains("2 changed files"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(status(&repo), before, "verify writes nothing into the tree");

    let run = orch(repo.path(), &["verify", "--json", "--only", "docs"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["base"]["label"], "main");
    assert_eq!(doc["changed"], serde_json::json!(["calc.py", "notes.md"]));
    assert_eq!(doc["report"]["passed"], true);
}

#[test]
fn a_deleted_assertion_blocks_with_exit_2_and_the_finding_on_stderr() {
    let repo = project();
    weaken_the_test(&repo);
    let before = status(&repo);
    let run = orch(repo.path(), &["verify", "--only", "documentation"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("tests/test_calc.py")
            && run.stderr.contains("test `test_add` asserts nothing real")
            && run.stderr.contains("[test-integrity/edit_tests]"),
        "{}",
        run.stderr
    );
    assert_eq!(status(&repo), before);

    // Committed, the weakening is still a change since the base branch.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit_all("weaken");
    let run = orch(repo.path(), &["verify", "--only", "documentation"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("orch verify: 1 changed file since main ("),
        "{}",
        run.stderr
    );

    let run = orch(repo.path(), &["verify", "--json", "--only", "docs"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["findings"][0]["file"], "tests/test_calc.py");
    assert_eq!(doc["findings"][0]["code"], "test-integrity/edit_tests");
    assert!(run.stderr.contains("asserts nothing"), "{}", run.stderr);
}

#[test]
fn a_syntax_error_blocks() {
    if !orch_quality::on_path("python3") {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let repo = project();
    repo.write("broken.py", "def half(x:\n    return x / 2\n");
    let run = orch(repo.path(), &["verify", "--only", "syntax"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stderr.contains("✗ syntax errors"), "{}", run.stderr);
    assert!(
        run.stderr.contains("syntax        broken.py:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_whole_gate_passes_a_clean_change() {
    if !orch_quality::on_path("python3") {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let repo = project();
    repo.write(
        "calc.py",
        &format!("{CALC}\n\ndef sub(a: int, b: int) -> int:\n    \"\"\"Subtract.\"\"\"\n    return a - b\n"),
    );
    repo.write(
        "tests/test_calc.py",
        &format!(
            "{}\n\ndef test_sub():\n    assert sub(3, 2) == 1\n",
            TESTS.replace("import add", "import add, sub")
        ),
    );
    let before = status(&repo);
    let run = orch(repo.path(), &["verify"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.starts_with("orch verify: passed against main ("),
        "{}",
        run.stdout
    );
    assert_eq!(
        status(&repo),
        before,
        "the gate's tools write nothing into the tree"
    );
}

#[test]
fn the_hook_blocks_three_times_in_a_row_then_lets_claude_stop() {
    let repo = project();
    let elsewhere = tempfile::tempdir().unwrap();
    weaken_the_test(&repo);
    let before = status(&repo);
    let input = |active: bool| {
        serde_json::json!({
            "session_id": "abc123",
            "transcript_path": "/tmp/transcript.jsonl",
            "cwd": repo.path(),
            "permission_mode": "default",
            "hook_event_name": "Stop",
            "stop_hook_active": active,
            "last_assistant_message": "Done.",
        })
    };
    for (n, active) in [false, true, true].into_iter().enumerate() {
        let run = hook(elsewhere.path(), &input(active));
        assert_eq!(run.code, 2, "block {n}: {}", run.transcript());
        assert!(
            run.stderr.contains("`test_add` asserts nothing real"),
            "{}",
            run.stderr
        );
    }
    let run = hook(elsewhere.path(), &input(true));
    assert_eq!(run.code, 0, "{}", run.transcript());
    let message: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        message["systemMessage"]
            .as_str()
            .unwrap()
            .contains("still fails after 3 blocks in a row"),
        "{message}"
    );
    assert!(run.stderr.starts_with("warning:"), "{}", run.stderr);
    // A new turn is blocked again.
    let run = hook(elsewhere.path(), &input(false));
    assert_eq!(run.code, 2, "{}", run.transcript());

    // An agent team's task is held open the same way.
    let task = serde_json::json!({
        "session_id": "abc123",
        "cwd": repo.path(),
        "hook_event_name": "TaskCompleted",
        "task_id": "task-001",
        "task_subject": "Implement subtraction",
    });
    let run = hook(elsewhere.path(), &task);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("asserts nothing real"),
        "{}",
        run.stderr
    );

    repo.write("tests/test_calc.py", TESTS);
    let run = hook(elsewhere.path(), &input(true));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .starts_with("orch verify: nothing changed since main"),
        "{}",
        run.stdout
    );
    weaken_the_test(&repo);
    assert_eq!(status(&repo), before, "the loop guard lives in .git");
}

#[test]
fn its_own_errors_never_exit_2() {
    let outside = tempfile::tempdir().unwrap();
    let run = orch(outside.path(), &["verify"]);
    assert_eq!(
        run.code,
        exit_code::NOT_A_REPOSITORY,
        "{}",
        run.transcript()
    );
    let input = serde_json::json!({"cwd": outside.path(), "hook_event_name": "Stop"});
    let run = hook(outside.path(), &input);
    assert_eq!(
        run.code,
        exit_code::NOT_A_REPOSITORY,
        "{}",
        run.transcript()
    );

    let repo = project();
    for (args, code) in [
        (&["verify", "--base", "nope"][..], exit_code::INVALID_INPUT),
        (&["verify", "--base", "--all"][..], exit_code::INVALID_INPUT),
        (&["verify", "--only", "style"][..], exit_code::INVALID_INPUT),
        (&["verify", "--no-such-flag"][..], exit_code::INVALID_INPUT),
        (
            &["verify", "--json", "--hook"][..],
            exit_code::INVALID_INPUT,
        ),
    ] {
        let run = orch(repo.path(), args);
        assert_eq!(run.code, code, "{args:?}: {}", run.transcript());
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["-C", repo.path().to_str().unwrap(), "verify", "--hook"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"not json").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(exit_code::INVALID_INPUT));
}
