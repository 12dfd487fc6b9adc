use crate::support::{ok, with_example_plan};

#[test]
fn status_table_like_the_dashboard() {
    let repo = with_example_plan();
    insta::assert_snapshot!("status_fresh", ok(repo.path(), &["status"]).transcript());
    for s in ["running", "verifying", "merging", "completed"] {
        ok(repo.path(), &["task", "set-status", "TASK-DB-001", s]);
    }
    ok(
        repo.path(),
        &["task", "set-status", "TASK-API-001", "running"],
    );
    insta::assert_snapshot!("status_progress", ok(repo.path(), &["status"]).transcript());
    let filtered = ok(
        repo.path(),
        &["status", "--status", "ready", "--epic", "API"],
    );
    insta::assert_snapshot!("status_filtered", filtered.transcript());
}

#[test]
fn status_json_is_machine_readable() {
    let repo = with_example_plan();
    let json: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["status", "--json"]).stdout).unwrap();
    assert_eq!(json["plan"], "notes-webapp");
    assert_eq!(json["tasks"].as_array().unwrap().len(), 8);
    assert_eq!(json["tasks"][0]["task"]["id"], "TASK-DB-001");
    assert_eq!(json["tasks"][0]["task"]["status"], "ready");
}

#[test]
fn graph_formats() {
    let repo = with_example_plan();
    insta::assert_snapshot!("graph_text", ok(repo.path(), &["graph"]).stdout);
    insta::assert_snapshot!(
        "graph_mermaid",
        ok(repo.path(), &["graph", "--format", "mermaid"]).stdout
    );
    insta::assert_snapshot!(
        "graph_dot",
        ok(repo.path(), &["graph", "--format", "dot"]).stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["graph", "--json"]).stdout).unwrap();
    assert_eq!(json["waves"].as_array().unwrap().len(), 4);
    assert_eq!(json["critical_path"][0], "TASK-DB-001");
}

#[test]
fn task_show_and_set_status() {
    let repo = with_example_plan();
    insta::assert_snapshot!(ok(repo.path(), &["task", "show", "TASK-API-003"]).transcript());
    let json: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["task", "show", "TASK-API-003", "--json"]).stdout)
            .unwrap();
    assert_eq!(json["wave"], 3);
    let run = ok(
        repo.path(),
        &[
            "task",
            "set-status",
            "TASK-DB-001",
            "skipped",
            "--reason",
            "done by hand",
        ],
    );
    insta::assert_snapshot!(run.transcript());
    // dependents of a skipped task are blocked, not silently runnable
    let json: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["task", "show", "TASK-DB-002", "--json"]).stdout)
            .unwrap();
    assert_eq!(json["task"]["status"], "blocked");
}

#[test]
fn status_watch_redraws_when_the_log_grows() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let repo = with_example_plan();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(repo.path())
        .args(["status", "--watch", "--interval", "50"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                return true;
            }
        }
        false
    };
    assert!(wait_for("watching, Ctrl-C to stop"), "first frame");
    ok(
        repo.path(),
        &["task", "set-status", "TASK-DB-001", "running"],
    );
    let found = wait_for("TASK-DB-001   running");
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "the watch redraws with the new status");
}
