//! Committing, removing and pruning.

use orch_testutils::TempRepo;
use orch_worktree::{
    Author, PruneAction, PruneOptions, PruneReason, RemoveOptions, TaskBase, WorktreeError,
    WorktreeState,
};

use crate::support::*;

#[test]
fn commit_pending_uses_task_message_and_author() {
    let repo = TempRepo::new();
    repo.write("old.txt", "old\n");
    repo.write(".gitignore", "*.log\n");
    repo.commit_all("old");
    let mgr = manager(&repo).with_author(Author::new("Agent Smith", "agent@orch.invalid"));
    let wt = create_pinned(&mgr, &repo, "TASK-BA-001");
    assert_eq!(
        mgr.commit_pending(&task("TASK-BA-001"), "Nothing").unwrap(),
        None
    );

    std::fs::remove_file(wt.path.join("old.txt")).unwrap();
    std::fs::create_dir_all(wt.path.join("src/deep")).unwrap();
    std::fs::write(wt.path.join("src/deep/new.rs"), "fn main() {}\n").unwrap();
    std::fs::write(wt.path.join("debug.log"), "ignored\n").unwrap();
    let c = mgr
        .commit_pending(&task("TASK-BA-001"), "  Add the parser \n")
        .unwrap()
        .unwrap();
    assert_eq!(c.message, "TASK-BA-001: Add the parser");
    assert_eq!(c.files, vec!["old.txt", "src/deep/new.rs"]);
    assert_eq!(c.sha, rev(&repo, "orch/task/TASK-BA-001"));
    assert_eq!(
        git_in(&repo, &wt.path, &["log", "-1", "--format=%an <%ae>|%cn|%s"]),
        "Agent Smith <agent@orch.invalid>|Agent Smith|TASK-BA-001: Add the parser"
    );
    assert_eq!(
        git_in(&repo, &wt.path, &["status", "--porcelain", "--ignored"]),
        "!! debug.log"
    );
    assert_eq!(
        mgr.get(&task("TASK-BA-001")).unwrap().state,
        WorktreeState::Clean
    );
}

#[test]
fn commit_pending_refuses_a_switched_head() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    git_in(&repo, &wt.path, &["checkout", "-q", "--detach"]);
    std::fs::write(wt.path.join("x"), "x").unwrap();
    let err = mgr.commit_pending(&task("T-1"), "x").unwrap_err();
    assert!(
        matches!(&err, WorktreeError::UnexpectedHead { head, .. } if head.starts_with("detached")),
        "{err}"
    );
}

#[test]
fn remove_refuses_dirty_unless_forced_and_can_delete_the_branch() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    std::fs::write(wt.path.join("wip.txt"), "unsaved").unwrap();
    let err = mgr.remove(&task("T-1"), &RemoveOptions::new()).unwrap_err();
    assert!(
        matches!(&err, WorktreeError::Dirty { files, .. } if files == &["wip.txt"]),
        "{err}"
    );
    assert!(wt.path.join("wip.txt").exists());

    let removed = mgr
        .remove(
            &task("T-1"),
            &RemoveOptions::new().force(true).delete_branch(true),
        )
        .unwrap();
    assert_eq!(removed.discarded, vec!["wip.txt"]);
    assert!(removed.branch_deleted);
    assert_eq!(removed.branch_tip.as_deref(), Some(wt.base_sha.as_str()));
    assert!(!wt.path.exists());
    assert!(repo.git(&["branch", "--list", "orch/task/T-1"]).is_empty());
    assert!(
        repo.git_command(&["config", "branch.orch/task/T-1.orchbase"])
            .output()
            .unwrap()
            .stdout
            .is_empty()
    );
    assert!(!repo.git(&["worktree", "list"]).contains("T-1"));
    assert_eq!(repo.git(&["worktree", "prune", "--dry-run", "-v"]), "");

    let err = mgr.remove(&task("T-1"), &RemoveOptions::new()).unwrap_err();
    assert!(matches!(err, WorktreeError::NotFound { .. }), "{err}");
}

#[test]
fn removed_worktree_comes_back_on_its_kept_branch() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    mgr.remove(&task("T-1"), &RemoveOptions::new()).unwrap();
    assert_eq!(rev(&repo, "orch/task/T-1"), wt.base_sha, "branch kept");
    let back = create_pinned(&mgr, &repo, "T-1");
    assert!(back.branch_reused);
    assert_healthy(&repo, &back.path, "orch/task/T-1");

    // With commits on the kept branch, re-creating from the base is refused.
    std::fs::write(back.path.join("f"), "f").unwrap();
    mgr.commit_pending(&task("T-1"), "f").unwrap();
    mgr.remove(&task("T-1"), &RemoveOptions::new()).unwrap();
    let err = mgr
        .create(
            &task("T-1"),
            &TaskBase::pinned(epic("E"), wt.base_sha.clone()),
        )
        .unwrap_err();
    assert!(
        matches!(&err, WorktreeError::BranchDiverged { recorded: Some(r), .. } if *r == wt.base_sha),
        "{err}"
    );
}

#[test]
fn remove_refuses_locked_worktrees_unless_forced() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    repo.git(&[
        "worktree",
        "lock",
        "--reason",
        "agent running",
        wt.path.to_str().unwrap(),
    ]);
    let err = mgr.remove(&task("T-1"), &RemoveOptions::new()).unwrap_err();
    assert!(
        matches!(&err, WorktreeError::WorktreeLocked { reason: Some(r), .. } if r == "agent running"),
        "{err}"
    );
    assert_eq!(
        mgr.get(&task("T-1")).unwrap().locked.as_deref(),
        Some("agent running")
    );
    mgr.remove(&task("T-1"), &RemoveOptions::new().force(true))
        .unwrap();
    assert!(!wt.path.exists());
}

#[test]
fn prune_vanished_unknown_and_unplanned() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let vanished = create_pinned(&mgr, &repo, "T-GONE");
    let _kept = create_pinned(&mgr, &repo, "T-KEEP");
    let unplanned = create_pinned(&mgr, &repo, "T-OLD");
    let dirty = create_pinned(&mgr, &repo, "T-DIRTY");
    std::fs::remove_dir_all(&vanished.path).unwrap();
    std::fs::write(dirty.path.join("wip"), "wip").unwrap();
    let stray = mgr.worktree_root().join("T-STRAY");
    std::fs::create_dir_all(stray.join("src")).unwrap();
    std::fs::write(stray.join("src/x"), "x").unwrap();
    let other = mgr.worktree_root().join("not a task");
    std::fs::create_dir_all(&other).unwrap();

    let plan = [task("T-KEEP"), task("T-GONE")];
    let dry = mgr
        .prune(&PruneOptions::new().dry_run(true).plan_tasks(plan.clone()))
        .unwrap();
    let summary = |r: &orch_worktree::PruneReport| {
        r.entries
            .iter()
            .map(|e| (e.task.as_ref().unwrap().to_string(), e.reason, e.action))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(&dry),
        [
            (
                "T-DIRTY".into(),
                PruneReason::NotInPlan,
                PruneAction::SkippedDirty
            ),
            (
                "T-GONE".into(),
                PruneReason::Missing,
                PruneAction::WouldRemove
            ),
            (
                "T-OLD".into(),
                PruneReason::NotInPlan,
                PruneAction::WouldRemove
            ),
            (
                "T-STRAY".into(),
                PruneReason::Unregistered,
                PruneAction::WouldRemove
            ),
        ]
    );
    assert_eq!(dry.removed(), 3);
    assert!(
        unplanned.path.exists() && stray.exists(),
        "dry run changes nothing"
    );
    assert!(repo.git(&["worktree", "list"]).contains("T-GONE"));

    let done = mgr
        .prune(&PruneOptions::new().plan_tasks(plan.clone()))
        .unwrap();
    assert_eq!(done.removed(), 3);
    assert!(!unplanned.path.exists() && !stray.exists());
    assert!(other.exists(), "names that are not task ids are left alone");
    assert!(dirty.path.join("wip").exists());
    let listed = repo.git(&["worktree", "list"]);
    assert!(
        !listed.contains("T-GONE") && !listed.contains("T-OLD"),
        "{listed}"
    );
    assert_eq!(
        rev(&repo, "orch/task/T-OLD"),
        unplanned.base_sha,
        "branches are kept"
    );

    let forced = mgr
        .prune(&PruneOptions::new().plan_tasks(plan).force(true))
        .unwrap();
    assert_eq!(
        summary(&forced),
        [(
            "T-DIRTY".into(),
            PruneReason::NotInPlan,
            PruneAction::Removed
        )]
    );
    let names: Vec<String> = mgr
        .list()
        .unwrap()
        .into_iter()
        .map(|i| i.task.to_string())
        .collect();
    assert_eq!(names, ["T-KEEP"]);
    assert_eq!(repo.git(&["worktree", "prune", "--dry-run", "-v"]), "");

    // Without a plan, existing worktrees are kept.
    assert_eq!(mgr.prune(&PruneOptions::new()).unwrap().entries, vec![]);
}

#[test]
fn prune_clears_interrupted_creations() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    std::fs::write(
        repo.path().join(".git/worktrees/T-1/locked"),
        "initializing\n",
    )
    .unwrap();
    let report = mgr.prune(&PruneOptions::new()).unwrap();
    assert_eq!(report.entries.len(), 1);
    assert_eq!(report.entries[0].reason, PruneReason::Interrupted);
    assert_eq!(report.entries[0].action, PruneAction::Removed);
    assert!(!wt.path.exists());
    assert!(mgr.list().unwrap().is_empty());
}
