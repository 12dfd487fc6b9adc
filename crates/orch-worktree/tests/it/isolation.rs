//! Isolated worktrees: the agent's `.git` is a private repository. Whatever it does with git
//! there (commits, branch switches, ref moves, hooks, config) stays there; orch reads the
//! files through its own view and never commits build output.

use orch_core::RepoConfig;
use orch_worktree::{RemoveOptions, WorktreeManager, WorktreeState};

use crate::support::*;

fn isolated(repo: &orch_testutils::TempRepo) -> WorktreeManager {
    WorktreeManager::open(repo.path(), &RepoConfig::default())
        .unwrap()
        .with_naming(orch_naming())
        .with_isolation(true)
}

#[test]
fn git_in_an_isolated_worktree_cannot_reach_the_main_repository() {
    let repo = orch_testutils::TempRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("initial");
    let main_before = rev(&repo, "main");
    let mgr = isolated(&repo);
    let wt = create_pinned(&mgr, &repo, "TASK-E-001");
    assert!(
        wt.path.join(".git").is_dir(),
        "the worktree has its own repository"
    );
    // The agent's git works as usual, and starts clean on the task branch.
    assert_eq!(git_in(&repo, &wt.path, &["status", "--porcelain"]), "");
    assert_eq!(
        git_in(&repo, &wt.path, &["rev-parse", "--abbrev-ref", "HEAD"]),
        "orch/task/TASK-E-001"
    );
    assert_eq!(git_in(&repo, &wt.path, &["rev-parse", "HEAD"]), main_before);

    // It commits, switches branches, moves refs, installs a hook, edits its config.
    std::fs::write(wt.path.join("b.txt"), "work\n").unwrap();
    git_in(&repo, &wt.path, &["add", "-A"]);
    git_in(&repo, &wt.path, &["commit", "-qm", "work"]);
    git_in(&repo, &wt.path, &["branch", "-f", "main", "HEAD"]);
    git_in(&repo, &wt.path, &["checkout", "-q", "-b", "elsewhere"]);
    git_in(&repo, &wt.path, &["config", "core.hooksPath", "/tmp/evil"]);
    std::fs::write(wt.path.join(".git/hooks-planted"), "#!/bin/sh\n").unwrap();

    // The main repository saw none of it.
    assert_eq!(rev(&repo, "main"), main_before);
    assert!(!repo.git(&["config", "--list"]).contains("hookspath"));
    assert_eq!(
        repo.git(&["rev-parse", "orch/task/TASK-E-001"]),
        main_before,
        "the task branch moves only when orch commits"
    );
    // orch sees the work in the files and commits it on its own view of the branch.
    let info = mgr.get(&task("TASK-E-001")).unwrap();
    assert_eq!(info.state, WorktreeState::Dirty);
    let commit = mgr
        .commit_pending(&task("TASK-E-001"), "Do it")
        .unwrap()
        .unwrap();
    assert_eq!(commit.files, ["b.txt"]);
    assert_eq!(repo.git(&["show", "orch/task/TASK-E-001:b.txt"]), "work");
    assert_eq!(
        repo.git(&["rev-parse", "orch/task/TASK-E-001^"]),
        main_before
    );
    // The retry's create reuses it even though the agent left its branch.
    let again = mgr
        .create(
            &task("TASK-E-001"),
            &orch_worktree::TaskBase::pinned(epic("E"), main_before.clone()),
        )
        .unwrap();
    assert!(again.reused);
    mgr.remove(
        &task("TASK-E-001"),
        &RemoveOptions::new().force(true).delete_branch(true),
    )
    .unwrap();
    assert!(!wt.path.exists());
    assert!(mgr.list().unwrap().is_empty());
}

#[test]
fn build_output_is_never_committed_even_without_a_gitignore() {
    let repo = orch_testutils::TempRepo::new();
    repo.write("calc.py", "x = 1\n");
    repo.write("Cargo.toml", "[package]\nname = \"x\"\n");
    repo.commit_all("initial");
    let mgr = isolated(&repo);
    let wt = create_pinned(&mgr, &repo, "TASK-E-001");
    for (path, text) in [
        ("calc.py", "x = 2\n"),
        ("__pycache__/calc.cpython-311.pyc", "bytecode"),
        ("tests/__pycache__/t.pyc", "bytecode"),
        (".pytest_cache/v/cache/lastfailed", "{}"),
        ("target/debug/x", "binary"),
        (".coverage", "data"),
        ("src/target.rs", "// not build output\n"),
    ] {
        let p = wt.path.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let commit = mgr
        .commit_pending(&task("TASK-E-001"), "Do it")
        .unwrap()
        .unwrap();
    assert_eq!(commit.files, ["calc.py", "src/target.rs"]);
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "orch/task/TASK-E-001"]);
    assert!(
        !tree.contains("pyc") && !tree.contains("target/debug"),
        "{tree}"
    );
    // Only build output left: nothing to commit, and the worktree counts as clean.
    assert!(
        mgr.commit_pending(&task("TASK-E-001"), "again")
            .unwrap()
            .is_none()
    );
    assert_eq!(
        mgr.get(&task("TASK-E-001")).unwrap().state,
        WorktreeState::Clean
    );
}
