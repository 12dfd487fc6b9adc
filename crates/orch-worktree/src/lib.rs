//! Per-task git worktrees and branches for orch, on libgit2: [`WorktreeManager`].
//!
//! Every task works in its own worktree `<root>/<TASK>` on its own branch `orch/task/<TASK>`,
//! started from a commit the caller pins (the tip of the epic's integration branch
//! `orch/epic/<EPIC>` at task start). The manager:
//!
//! - creates epic branches ([`WorktreeManager::ensure_epic_branch`]) and task worktrees
//!   ([`WorktreeManager::create`]), recording the base commit in git configuration
//!   (`branch.orch/task/<TASK>.orchbase`), copying configured untracked files (`.env`, …) and
//!   listing the root in `.git/info/exclude` (never the user's `.gitignore`);
//! - lists them with state, ahead/behind and changed files ([`WorktreeManager::list`]);
//! - commits what an agent left uncommitted ([`WorktreeManager::commit_pending`]);
//! - removes ([`WorktreeManager::remove`]) and prunes ([`WorktreeManager::prune`]) them;
//! - predicts merge conflicts in memory ([`WorktreeManager::predict_conflicts`]) and merges
//!   task → epic → base without touching a checkout ([`WorktreeManager::merge_task`],
//!   [`WorktreeManager::merge_epic`], [`WorktreeManager::merge_branches`]).
//!
//! Every edge case gets a typed error ([`WorktreeError`], [`MergeError`]) and leaves the
//! repository as it was: existing or diverged branches, a branch checked out elsewhere, a
//! directory in the way, no commits, detached HEAD, bare repositories, escaping paths,
//! concurrent creation (a repository-wide lock serialises changes across threads and
//! processes). Results are plain `Serialize` values: this crate never writes orch's store.
//!
//! # Design notes
//!
//! - **Base commit**: recorded as `branch.orch/task/<TASK>.orchbase` (and the epic as
//!   `…orchepic`) in the repository's git configuration. It survives removing the worktree
//!   while keeping the branch, and git deletes it with the branch.
//! - **Reuse rules**: an existing worktree of the task is returned as it is (with a pinned
//!   base it must have been created from that base); an existing task branch without a
//!   worktree is reused only when it points at the requested base (or, unpinned, at its
//!   recorded base); anything else is refused, never moved or overwritten.
//! - **Checkout**: new worktrees are registered exactly like `git worktree add` does and
//!   written by a parallel writer (one thread per core) that builds the index from the
//!   written files, unless a checkout filter could apply (`.gitattributes`, `autocrlf`…), in
//!   which case libgit2's checkout runs. Hooks (`post-checkout`) and external filter drivers
//!   (Git LFS) are not run; submodules are left uninitialised.
//! - **Merging into a checked-out branch** (usually the base branch in the main worktree):
//!   allowed only when that checkout has no staged or unstaged changes to tracked files and
//!   no merge/rebase in progress; the new tree is then checked out in libgit2's safe mode,
//!   which refuses before writing anything if an untracked file is in the way, and only then
//!   does the branch move (compare-and-swap on the old tip).
//! - **Locking**: one advisory file lock (`.git/orch-worktree.lock`) serialises every
//!   change (create, remove, prune, merges) across threads and processes; reads (list,
//!   conflict prediction) take no lock. The kernel drops the lock when a process dies.
//!
//! # Example
//!
//! ```
//! use orch_core::{EpicId, RepoConfig, TaskId};
//! use orch_worktree::{RemoveOptions, TaskBase, WorktreeManager, WorktreeState};
//!
//! let repo = orch_testutils::TempRepo::new();
//! let manager = WorktreeManager::open(repo.path(), &RepoConfig::default())?;
//!
//! let epic = EpicId::new("API")?;
//! let task = TaskId::new("TASK-API-001")?;
//! let tip = manager.ensure_epic_branch(&epic)?.tip;
//! let wt = manager.create(&task, &TaskBase::pinned(epic.clone(), tip.clone()))?;
//! assert_eq!(wt.branch, "orch/task/TASK-API-001");
//! assert_eq!(wt.base_sha, tip);
//!
//! // An agent works in the worktree…
//! std::fs::write(wt.path.join("api.rs"), "pub fn api() {}\n")?;
//! assert_eq!(manager.get(&task)?.state, WorktreeState::Dirty);
//! manager.commit_pending(&task, "Add the API")?;
//!
//! // …and its branch merges into the epic branch without touching any checkout.
//! assert!(manager.predict_task_conflicts(&task)?.is_clean());
//! manager.merge_task(&task, &epic)?;
//! manager.remove(&task, &RemoveOptions::new().delete_branch(true))?;
//! assert!(manager.list()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod checkout;
mod commits;
mod create;
mod error;
mod glob;
mod guard;
mod inspect;
mod isolate;
mod lifecycle;
mod lock;
mod manager;
mod merge;
mod patch;

pub use commits::{Export, FileAt, Replayed, TreeChange};
pub use create::{EpicBranch, TaskBase, TaskWorktree};
pub use error::{LockError, MergeError, WorktreeError};
pub use guard::{RepoGuard, Violation};
pub use inspect::{ChangeKind, FileChange, WorktreeInfo, WorktreeState};
pub use isolate::is_build_output;
pub use lifecycle::{
    CommitInfo, PruneAction, PruneEntry, PruneOptions, PruneReason, PruneReport, RemoveOptions,
    Removed,
};
pub use manager::{
    Author, EPIC_BRANCH_PREFIX, TASK_BRANCH_PREFIX, WorktreeManager, epic_branch, task_branch,
};
pub use merge::{Conflict, ConflictKind, ConflictReport, MergeKind, MergeOutcome};
pub use patch::{FilePatch, TreePatch};
