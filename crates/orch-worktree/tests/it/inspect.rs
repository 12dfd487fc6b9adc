//! Listing worktrees.

use orch_testutils::TempRepo;
use orch_worktree::{ChangeKind, TaskBase, WorktreeError, WorktreeState};

use crate::support::*;

#[test]
fn list_reports_state_changes_and_ahead_behind() {
    let repo = TempRepo::new();
    repo.write("keep.txt", "1\n2\n3\n");
    repo.write("gone.txt", "bye\n");
    repo.commit_all("files");
    let mgr = manager(&repo);
    let e = mgr.ensure_epic_branch(&epic("E")).unwrap();
    let a = mgr
        .create(&task("T-A"), &TaskBase::pinned(epic("E"), e.tip.clone()))
        .unwrap();
    let b = mgr
        .create(&task("T-B"), &TaskBase::pinned(epic("E"), e.tip.clone()))
        .unwrap();

    // T-A: one commit plus uncommitted edits.
    std::fs::write(a.path.join("keep.txt"), "1\ntwo\n3\n4\n").unwrap();
    mgr.commit_pending(&task("T-A"), "edit keep")
        .unwrap()
        .unwrap();
    std::fs::remove_file(a.path.join("gone.txt")).unwrap();
    std::fs::write(a.path.join("new.txt"), "a\nb\n").unwrap();
    std::fs::write(a.path.join("bin.dat"), [0u8, 159, 146, 150, 0, 1]).unwrap();

    // T-B merged into the epic, so T-A is one behind.
    std::fs::write(b.path.join("b.txt"), "b\n").unwrap();
    mgr.commit_pending(&task("T-B"), "b").unwrap().unwrap();
    mgr.merge_task(&task("T-B"), &epic("E")).unwrap();

    let list = mgr.list().unwrap();
    assert_eq!(list.len(), 2);
    let info = &list[0];
    assert_eq!(info.task, task("T-A"));
    assert_eq!(info.state, WorktreeState::Dirty);
    assert_eq!(info.base_sha.as_deref(), Some(e.tip.as_str()));
    assert_eq!(
        info.head_sha.as_deref(),
        Some(rev(&repo, "orch/task/T-A").as_str())
    );
    assert_eq!(info.compared_to.as_deref(), Some("orch/epic/E"));
    assert_eq!((info.ahead, info.behind), (Some(1), Some(1)));
    let changes: Vec<(&str, ChangeKind, usize, usize, bool)> = info
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.kind, c.insertions, c.deletions, c.binary))
        .collect();
    assert_eq!(
        changes,
        [
            ("bin.dat", ChangeKind::Added, 0, 0, true),
            ("gone.txt", ChangeKind::Deleted, 0, 1, false),
            ("keep.txt", ChangeKind::Modified, 2, 1, false),
            ("new.txt", ChangeKind::Added, 2, 0, false),
        ]
    );
    assert_eq!((info.insertions, info.deletions), (4, 2));
    // git agrees on the committed part.
    assert_eq!(
        git_in(&repo, &a.path, &["diff", "--numstat", &e.tip, "HEAD"]),
        "2\t1\tkeep.txt"
    );

    let info_b = &list[1];
    assert_eq!(info_b.state, WorktreeState::Clean);
    assert_eq!(
        (info_b.ahead, info_b.behind),
        (Some(0), Some(0)),
        "fast-forwarded"
    );

    // JSON for `orch worktree list --json`.
    let json = serde_json::to_value(&list).unwrap();
    assert_eq!(json[0]["task"], "T-A");
    assert_eq!(json[0]["state"], "dirty");
    assert_eq!(json[0]["changes"][2]["kind"], "modified");
    assert_eq!(json[1]["epic"], "E");
}

#[test]
fn missing_directories_and_foreign_worktrees() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    std::fs::remove_dir_all(&wt.path).unwrap();
    // A worktree that is not orch's is not listed.
    let foreign = repo.temp_dir().join("foreign");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "feature",
        foreign.to_str().unwrap(),
    ]);
    let list = mgr.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].state, WorktreeState::Missing);
    assert_eq!(list[0].head_sha, Some(wt.base_sha.clone()));
    assert!(list[0].changes.is_empty());

    let err = mgr.get(&task("NOPE")).unwrap_err();
    assert!(matches!(err, WorktreeError::NotFound { .. }), "{err}");
    let err = mgr.commit_pending(&task("T-1"), "x").unwrap_err();
    assert!(matches!(err, WorktreeError::Missing { .. }), "{err}");
}
