//! Per-task git worktrees and branches, on libgit2: [`WorktreeManager`].
//!
//! Every task works in its own worktree `<root>/<TASK>` on its own task branch, started
//! from a commit the caller pins (for example the tip of the task's epic integration branch
//! at task start). How branches and worktree directories are named is the caller's choice,
//! a [`Naming`]: `wt/task/<TASK>` and `wt/epic/<EPIC>` by default (orch's engine uses
//! `orch/task/…` and `orch/epic/…`). The manager:
//!
//! - creates epic branches ([`WorktreeManager::ensure_epic_branch`]) and task worktrees
//!   ([`WorktreeManager::create`]), recording the base commit in git configuration
//!   (`branch.<task branch>.orchbase`), copying configured untracked files (`.env`, …) and
//!   listing the root in `.git/info/exclude` (never the user's `.gitignore`);
//! - lists them with state, ahead/behind and changed files ([`WorktreeManager::list`]);
//! - commits what an agent left uncommitted ([`WorktreeManager::commit_pending`]);
//! - removes ([`WorktreeManager::remove`]) and prunes ([`WorktreeManager::prune`]) them;
//! - predicts merge conflicts in memory ([`WorktreeManager::predict_conflicts`]) and merges
//!   task → epic → base without touching a checkout ([`WorktreeManager::merge_task`],
//!   [`WorktreeManager::merge_epic`], [`WorktreeManager::merge_branches`]);
//! - watches the main repository for changes nobody but its owner may make
//!   ([`WorktreeManager::repo_guard`], [`RepoGuard`]).
//!
//! Every edge case gets a typed error ([`WorktreeError`], [`MergeError`]) and leaves the
//! repository as it was: existing or diverged branches, a branch checked out elsewhere, a
//! directory in the way, no commits, detached HEAD, bare repositories, escaping paths,
//! concurrent creation (a repository-wide lock serialises changes across threads and
//! processes). What libgit2 says comes back as a [`GitError`] (message, code, class), so no
//! `git2` type is part of this crate's API. Results are plain `Serialize` values: this crate
//! never writes orch's store.
//!
//! The ids and the configuration it takes are re-exported ([`TaskId`], [`EpicId`],
//! [`RepoConfig`]): a program using this crate alone needs no other orch crate.
//!
//! # Design notes
//!
//! - **Naming**: everything the manager parses back (listing, pruning, merging by task or
//!   epic id, the guard's accepted refs) goes through its [`Naming`], so worktrees and
//!   branches of another naming are never taken for its own.
//! - **Base commit**: recorded as `branch.<task branch>.orchbase` (and the epic as
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
//! use orch_worktree::{
//!     EpicId, Naming, RemoveOptions, RepoConfig, TaskBase, TaskId, WorktreeManager,
//!     WorktreeState,
//! };
//!
//! # let dir = tempfile::tempdir()?;
//! # let git = |args: &[&str]| {
//! #     let ok = std::process::Command::new("git").args(args).current_dir(dir.path())
//! #         .env("GIT_CONFIG_NOSYSTEM", "1").env("HOME", dir.path())
//! #         .output().expect("git runs").status.success();
//! #     assert!(ok, "git {args:?}");
//! # };
//! # git(&["init", "-q", "-b", "main"]);
//! # git(&["-c", "user.name=A", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "init"]);
//! # let repo_path = dir.path();
//! // Any repository with a commit; branches named the way this program likes.
//! let naming = Naming::new("agent/", "feature/")?;
//! let manager = WorktreeManager::open(repo_path, &RepoConfig::default())?.with_naming(naming);
//!
//! let epic = EpicId::new("API")?;
//! let task = TaskId::new("API-1")?;
//! let tip = manager.ensure_epic_branch(&epic)?.tip;
//! let wt = manager.create(&task, &TaskBase::pinned(epic.clone(), tip.clone()))?;
//! assert_eq!(wt.branch, "agent/API-1");
//! assert_eq!(wt.base_sha, tip);
//!
//! // An agent works in the worktree…
//! std::fs::write(wt.path.join("api.rs"), "pub fn api() {}\n")?;
//! assert_eq!(manager.get(&task)?.state, WorktreeState::Dirty);
//! manager.commit_pending(&task, "Add the API")?;
//!
//! // …and its branch merges into `feature/API` without touching any checkout.
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
mod naming;
mod patch;

pub use orch_core::{EpicId, IdError, RepoConfig, TaskId};

pub use commits::{Export, FileAt, Replayed, TreeChange};
pub use create::{EpicBranch, TaskBase, TaskWorktree};
pub use error::{GitError, LockError, MergeError, WorktreeError};
pub use guard::{RepoGuard, Violation};
pub use inspect::{ChangeKind, FileChange, WorktreeInfo, WorktreeState};
pub use isolate::is_build_output;
pub use lifecycle::{
    CommitInfo, PruneAction, PruneEntry, PruneOptions, PruneReason, PruneReport, RemoveOptions,
    Removed,
};
pub use manager::{Author, WorktreeManager};
pub use merge::{Conflict, ConflictKind, ConflictReport, MergeKind, MergeOutcome};
pub use naming::{Naming, NamingError};
pub use patch::{FilePatch, TreePatch};
