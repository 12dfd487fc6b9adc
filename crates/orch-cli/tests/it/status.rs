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
