//! The exact commit of a task: exported clean, diffed against its base, merged only if it
//! is still what the task branch points at, replayed onto a newer epic tip in memory.

use orch_worktree::{ChangeKind, FileAt, MergeError, Replayed, TaskBase, WorktreeError};

use crate::support::*;

#[test]
fn an_export_holds_the_commit_and_nothing_the_worktree_hides() {
    let repo = orch_testutils::TempRepo::new();
    repo.write("a.txt", "a\n");
    repo.write("bin/run.sh", "#!/bin/sh\necho hi\n");
    repo.write(".gitignore", "hidden/\n");
    repo.commit_all("initial");
    std::fs::set_permissions(
        repo.path().join("bin/run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    repo.commit_all("executable");
    let mgr = manager(&repo).with_isolation(true);
    let wt = create_pinned(&mgr, &repo, "TASK-E-001");
    std::fs::write(wt.path.join("a.txt"), "changed\n").unwrap();
    std::fs::create_dir_all(wt.path.join("hidden")).unwrap();
    std::fs::write(wt.path.join("hidden/pass.py"), "cheat\n").unwrap();
    let commit = mgr
        .commit_pending(&task("TASK-E-001"), "t")
        .unwrap()
        .unwrap();
    std::fs::write(wt.path.join("late.txt"), "written after the commit\n").unwrap();

    let dest = repo.temp_dir().join("export");
    let export = mgr.export_commit(&commit.sha, &dest).unwrap();
    assert_eq!(export.tree, mgr.tree_of(&commit.sha).unwrap());
    assert_eq!(
        std::fs::read_to_string(dest.join("a.txt")).unwrap(),
        "changed\n"
    );
    assert!(
        !dest.join("hidden").exists(),
        "ignored files are not in the commit"
    );
    assert!(!dest.join("late.txt").exists());
    assert!(!dest.join(".git").exists());
    let mode = std::fs::metadata(dest.join("bin/run.sh"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111,
        0o111
    );
    // Never into a directory that holds something.
    assert!(matches!(
        mgr.export_commit(&commit.sha, &dest),
        Err(WorktreeError::PathOccupied { .. })
    ));

    let base = rev(&repo, "main");
    let changes = mgr.changes_between(&base, &commit.sha).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].path, "a.txt");
    assert_eq!(changes[0].kind, ChangeKind::Modified);
    assert_eq!(
        mgr.file_at(&base, "a.txt", 100).unwrap(),
        FileAt::Bytes(b"a\n".to_vec())
    );
    assert_eq!(mgr.file_at(&base, "nope", 100).unwrap(), FileAt::Missing);
    assert_eq!(mgr.file_at(&base, "a.txt", 1).unwrap(), FileAt::TooLarge(2));
}

#[test]
fn only_the_verified_commit_is_merged() {
    let repo = orch_testutils::TempRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("initial");
    let mgr = manager(&repo).with_isolation(true);
    let tip = mgr.ensure_epic_branch(&epic("E")).unwrap().tip;
    let wt = mgr
        .create(&task("TASK-E-001"), &TaskBase::pinned(epic("E"), tip))
        .unwrap();
    std::fs::write(wt.path.join("b.txt"), "b\n").unwrap();
    let verified = mgr
        .commit_pending(&task("TASK-E-001"), "t")
        .unwrap()
        .unwrap();
    // Something moves the task branch after verification: the merge is refused.
    std::fs::write(wt.path.join("c.txt"), "sneaked in\n").unwrap();
    let sneaked = mgr
        .commit_pending(&task("TASK-E-001"), "t")
        .unwrap()
        .unwrap();
    let refused = mgr.merge_task_at(&task("TASK-E-001"), &epic("E"), &verified.sha);
    assert!(
        matches!(refused, Err(MergeError::ConcurrentUpdate { .. })),
        "{refused:?}"
    );
    assert_ne!(rev(&repo, "orch/epic/E"), sneaked.sha);
    // Uncommitted files in the worktree do not stop the merge of the verified commit.
    std::fs::write(wt.path.join("d.txt"), "dirty\n").unwrap();
    mgr.merge_task_at(&task("TASK-E-001"), &epic("E"), &sneaked.sha)
        .unwrap();
    assert_eq!(rev(&repo, "orch/epic/E"), sneaked.sha);
}

#[test]
fn a_task_is_replayed_onto_a_newer_epic_tip_in_memory() {
    let repo = orch_testutils::TempRepo::new();
    repo.write("a.txt", "1\n2\n3\n");
    repo.commit_all("initial");
    let mgr = manager(&repo).with_isolation(true);
    let base = mgr.ensure_epic_branch(&epic("E")).unwrap().tip;
    for id in ["TASK-E-001", "TASK-E-002"] {
        mgr.create(&task(id), &TaskBase::pinned(epic("E"), base.clone()))
            .unwrap();
    }
    let one = mgr.worktree_path(&task("TASK-E-001"));
    std::fs::write(one.join("a.txt"), "one\n2\n3\n").unwrap();
    let c1 = mgr
        .commit_pending(&task("TASK-E-001"), "one")
        .unwrap()
        .unwrap();
    mgr.merge_task_at(&task("TASK-E-001"), &epic("E"), &c1.sha)
        .unwrap();

    let two = mgr.worktree_path(&task("TASK-E-002"));
    std::fs::write(two.join("a.txt"), "1\n2\nthree\n").unwrap();
    let c2 = mgr
        .commit_pending(&task("TASK-E-002"), "two")
        .unwrap()
        .unwrap();
    let Replayed::Commit(replayed) = mgr
        .replay_task(&task("TASK-E-002"), &epic("E"), &base, &c2.sha)
        .unwrap()
    else {
        panic!("a clean replay was expected")
    };
    assert_eq!(rev(&repo, "orch/task/TASK-E-002"), replayed);
    assert_eq!(
        repo.git(&["show", &format!("{replayed}:a.txt")]),
        "one\n2\nthree"
    );
    assert_eq!(repo.git(&["rev-parse", &format!("{replayed}^")]), c1.sha);

    // A real conflict leaves everything where it was.
    mgr.create(
        &task("TASK-E-003"),
        &TaskBase::pinned(epic("E"), base.clone()),
    )
    .unwrap();
    std::fs::write(
        mgr.worktree_path(&task("TASK-E-003")).join("a.txt"),
        "uno\n2\n3\n",
    )
    .unwrap();
    let c3 = mgr
        .commit_pending(&task("TASK-E-003"), "three")
        .unwrap()
        .unwrap();
    assert_eq!(
        mgr.replay_task(&task("TASK-E-003"), &epic("E"), &base, &c3.sha)
            .unwrap(),
        Replayed::Conflicts(vec!["a.txt".into()])
    );
    assert_eq!(rev(&repo, "orch/task/TASK-E-003"), c3.sha);
}
