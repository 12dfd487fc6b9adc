//! Shared helpers.

use std::path::Path;

use orch_core::{EpicId, RepoConfig, TaskId};
use orch_testutils::TempRepo;
use orch_worktree::{Naming, TaskBase, TaskWorktree, WorktreeManager};

pub fn task(id: &str) -> TaskId {
    TaskId::new(id).unwrap()
}

pub fn epic(id: &str) -> EpicId {
    EpicId::new(id).unwrap()
}

/// orch's own naming (`orch/task/<TASK>`, `orch/epic/<EPIC>`), which most tests check
/// against; `naming.rs` covers the default and custom namings.
pub fn orch_naming() -> Naming {
    Naming::new("orch/task/", "orch/epic/").unwrap()
}

pub fn manager(repo: &TempRepo) -> WorktreeManager {
    manager_with(repo, RepoConfig::default())
}

pub fn manager_with(repo: &TempRepo, config: RepoConfig) -> WorktreeManager {
    WorktreeManager::open(repo.path(), &config)
        .unwrap()
        .with_naming(orch_naming())
}

/// Runs git in `dir` (any directory) with the repository's hermetic environment.
pub fn git_in(repo: &TempRepo, dir: &Path, args: &[&str]) -> String {
    let dir = dir.to_str().expect("UTF-8 test path");
    let mut full = vec!["-C", dir];
    full.extend_from_slice(args);
    repo.git(&full)
}

pub fn rev(repo: &TempRepo, rev: &str) -> String {
    repo.git(&["rev-parse", rev])
}

/// Creates `task` from the current tip of `main`, pinned, in epic `E`.
pub fn create_pinned(mgr: &WorktreeManager, repo: &TempRepo, id: &str) -> TaskWorktree {
    let base = rev(repo, "main");
    mgr.create(&task(id), &TaskBase::pinned(epic("E"), base))
        .unwrap()
}

/// Asserts that git sees `wt` as a healthy, clean worktree on `branch`.
pub fn assert_healthy(repo: &TempRepo, wt: &Path, branch: &str) {
    assert_eq!(
        git_in(repo, wt, &["status", "--porcelain"]),
        "",
        "worktree must be clean"
    );
    assert_eq!(
        git_in(repo, wt, &["rev-parse", "--abbrev-ref", "HEAD"]),
        branch
    );
    let listed = git_in(repo, wt, &["worktree", "list", "--porcelain"]);
    assert!(
        listed.contains(&format!("worktree {}", wt.display())),
        "{listed}"
    );
    assert_eq!(
        git_in(repo, wt, &["worktree", "prune", "--dry-run", "-v"]),
        ""
    );
}
