//! Concurrent creation from several threads.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use orch_testutils::TempRepo;
use orch_worktree::{LockError, TaskBase, WorktreeError};

use crate::support::*;

#[test]
fn threads_creating_different_worktrees_all_succeed() {
    let repo = TempRepo::new();
    for i in 0..50 {
        repo.write(&format!("src/f{i}.rs"), "fn f() {}\n");
    }
    repo.commit_all("files");
    let mgr = manager(&repo);
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let mgr = mgr.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                mgr.create(&task(&format!("T-{i}")), &TaskBase::EpicTip(epic("E")))
            })
        })
        .collect();
    for h in handles {
        let wt = h.join().unwrap().unwrap();
        assert_healthy(&repo, &wt.path, &wt.branch);
    }
    assert_eq!(mgr.list().unwrap().len(), 6);
    assert_eq!(
        repo.git(&["branch", "--list", "orch/epic/*"]),
        "orch/epic/E"
    );
}

#[test]
fn threads_creating_the_same_worktree_get_one_and_the_same() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let mgr = mgr.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                mgr.create(&task("T-SAME"), &TaskBase::BaseBranch)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| !r.reused).count(), 1);
    assert!(results.iter().all(|r| r.path == results[0].path));
    assert_healthy(&repo, &results[0].path, "orch/task/T-SAME");
}

#[test]
fn a_held_lock_times_out_with_a_clear_error() {
    let repo = TempRepo::new();
    let mgr = manager(&repo).with_lock_timeout(Duration::from_millis(50));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(repo.path().join(".git/orch-worktree.lock"))
        .unwrap();
    lock.lock().unwrap();
    let err = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap_err();
    assert!(
        matches!(err, WorktreeError::Lock(LockError::Timeout { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("another orch process"), "{err}");
    drop(lock);
    mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();
}
