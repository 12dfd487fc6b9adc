//! `orch worktree …` on real repositories.

use orch_core::exit_code;

use crate::support::{ok, orch, with_example_plan};

#[test]
fn create_list_remove_prune() {
    let repo = with_example_plan();
    let created = ok(repo.path(), &["worktree", "create", "TASK-DB-001"]);
    assert!(
        created
            .stdout
            .contains("Created a worktree for TASK-DB-001"),
        "{}",
        created.stdout
    );
    let path = repo.path().join(".worktrees/TASK-DB-001");
    assert!(path.join("README.md").is_file());
    assert_eq!(
        repo.git(&["rev-parse", "--abbrev-ref", "orch/task/TASK-DB-001"]),
        "orch/task/TASK-DB-001"
    );
    assert!(
        repo.git(&["branch", "--list", "orch/epic/DB"])
            .contains("orch/epic/DB"),
        "epic branch made"
    );
    let again = ok(repo.path(), &["worktree", "create", "TASK-DB-001"]);
    assert!(again.stdout.contains("Reused"), "{}", again.stdout);

    std::fs::write(path.join("schema.sql"), "create table users();\n").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["worktree", "list", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["task"], "TASK-DB-001");
    assert_eq!(json[0]["state"], "dirty");
    assert!(
        ok(repo.path(), &["worktree", "list"])
            .stdout
            .contains("dirty")
    );

    let refused = orch(repo.path(), &["worktree", "remove", "TASK-DB-001"]);
    assert_eq!(
        refused.code,
        exit_code::CONFLICT,
        "{}",
        refused.transcript()
    );
    assert!(path.join("schema.sql").exists(), "nothing removed");
    ok(
        repo.path(),
        &[
            "worktree",
            "remove",
            "TASK-DB-001",
            "--force",
            "--delete-branch",
        ],
    );
    assert!(!path.exists());

    // a stray directory under the root is pruned, dry run first
    std::fs::create_dir_all(repo.path().join(".worktrees/TASK-DB-002")).unwrap();
    let dry = ok(repo.path(), &["worktree", "prune", "--dry-run"]);
    assert!(
        dry.stdout.contains("TASK-DB-002") && dry.stdout.contains("dry run"),
        "{}",
        dry.stdout
    );
    assert!(repo.path().join(".worktrees/TASK-DB-002").exists());
    ok(repo.path(), &["worktree", "prune"]);
    assert!(!repo.path().join(".worktrees/TASK-DB-002").exists());
}

#[test]
fn conflicts_are_predicted_without_touching_checkouts() {
    let repo = with_example_plan();
    repo.write("shared.txt", "base\n");
    repo.commit_all("base");
    repo.git(&["branch", "left"]);
    repo.git(&["branch", "right"]);
    repo.git(&["checkout", "-q", "left"]);
    repo.write("shared.txt", "left\n");
    repo.commit_all("left");
    repo.git(&["checkout", "-q", "right"]);
    repo.write("shared.txt", "right\n");
    repo.write("only-right.txt", "x\n");
    repo.commit_all("right");
    let before = repo.git(&["status", "--porcelain"]);

    let run = orch(repo.path(), &["worktree", "conflicts", "left", "right"]);
    assert_eq!(run.code, exit_code::CONFLICT, "{}", run.transcript());
    assert!(
        run.stdout.contains("shared.txt") && !run.stdout.contains("only-right"),
        "{}",
        run.stdout
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), before);
    assert_eq!(repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "right");

    let clean = ok(repo.path(), &["worktree", "conflicts", "main", "right"]);
    assert!(clean.stdout.contains("merge cleanly"), "{}", clean.stdout);
    let unknown = orch(repo.path(), &["worktree", "create", "../escape"]);
    assert_eq!(
        unknown.code,
        exit_code::INVALID_INPUT,
        "{}",
        unknown.transcript()
    );
}
