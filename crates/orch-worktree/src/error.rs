//! The error types: [`WorktreeError`] for worktree and branch lifecycle, [`MergeError`] for
//! conflict prediction and merges, [`LockError`] for the repository-wide lock, and
//! [`GitError`], what libgit2 said (kept as this crate's own type, so a new `git2` release
//! never changes this crate's API).

use std::fmt;
use std::path::PathBuf;

use orch_core::TaskId;

/// An error libgit2 reported: its message, error code and error class. The `source` of the
/// `Git`, `NotARepository` and `RevisionNotFound` variants of [`WorktreeError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitError {
    message: String,
    code: i32,
    class: i32,
}

impl GitError {
    /// libgit2's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// libgit2's error code (`git_error_code`): 0 for a generic error, -3 not found, -4
    /// already exists, -5 ambiguous, -13 conflict, -14 locked, … (negative numbers, stable
    /// across libgit2 releases).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// libgit2's error class (`git_error_t`): which part of libgit2 failed (3 OS, 4
    /// reference, 5 zlib, 6 repository, 7 config, …).
    pub fn class(&self) -> i32 {
        self.class
    }

    /// Whether git reported that something does not exist (code -3).
    pub fn is_not_found(&self) -> bool {
        self.code == -3
    }

    pub(crate) fn from_git2(e: &git2::Error) -> GitError {
        GitError {
            message: e.message().to_owned(),
            code: e.raw_code(),
            class: i32::try_from(e.raw_class()).unwrap_or(0),
        }
    }

    /// An error of this crate's own making, in the same shape.
    pub(crate) fn other(message: impl Into<String>) -> GitError {
        GitError {
            message: message.into(),
            code: -1,
            class: 0,
        }
    }
}

impl fmt::Display for GitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GitError {}

/// The repository-wide lock that serialises orch's worktree and branch changes could not be
/// taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another thread or process held the lock for longer than the timeout.
    #[error(
        "another orch process is changing worktrees of this repository (lock {path} still held after {waited_ms} ms)"
    )]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited, in milliseconds.
        waited_ms: u64,
    },
    /// The lock file cannot be created or locked.
    #[error("cannot use the lock file {path}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a worktree or branch operation was refused or failed. Every edge case named in the
/// crate documentation has its own variant; nothing is left half-done when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorktreeError {
    /// The path is not inside a git repository.
    #[error("{path} is not inside a git repository")]
    NotARepository {
        /// The path that was opened.
        path: PathBuf,
        /// What libgit2 said.
        #[source]
        source: GitError,
    },
    /// The repository is bare: it has no working tree to branch worktrees from.
    #[error(
        "{path} is a bare repository; orch needs a repository with a working tree (clone it without --bare)"
    )]
    BareRepository {
        /// The repository's git directory.
        path: PathBuf,
    },
    /// The repository (or the branch asked for) has no commit yet.
    #[error("the repository has no commits yet on `{branch}`; commit something first")]
    NoCommits {
        /// The unborn branch.
        branch: String,
    },
    /// HEAD is detached and no base branch is configured, so there is no branch to start
    /// epics from or merge them into.
    #[error(
        "HEAD is detached (at {head}); check out a branch or set `repo.base_branch` in .orch/orch.toml"
    )]
    DetachedHead {
        /// The commit HEAD points at.
        head: String,
    },
    /// The configured worktree root cannot be used.
    #[error("worktree root {root} cannot be used: {reason}")]
    InvalidRoot {
        /// The root as resolved.
        root: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// A glob of `repo.copy_untracked` is not valid.
    #[error("copy_untracked pattern `{pattern}` is invalid: {reason}")]
    InvalidGlob {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: &'static str,
    },
    /// A revision (commit SHA, branch, tag) does not name a commit.
    #[error("`{rev}` does not name a commit in this repository")]
    RevisionNotFound {
        /// The revision.
        rev: String,
        /// What libgit2 said.
        #[source]
        source: GitError,
    },
    /// A branch that must exist does not.
    #[error("branch `{branch}` does not exist")]
    BranchNotFound {
        /// The branch.
        branch: String,
    },
    /// The task branch is checked out in another worktree, so a second one cannot use it.
    #[error("branch `{branch}` is already checked out at {path}")]
    BranchCheckedOut {
        /// The branch.
        branch: String,
        /// Where it is checked out.
        path: PathBuf,
    },
    /// The task branch exists but does not point at the base the worktree should start from
    /// (it has commits of an earlier attempt, or was made by hand). Nothing was changed.
    #[error(
        "branch `{branch}` already exists at {tip} but the task should start from {base}{}; delete or rename the branch, or start from its tip",
        recorded.as_ref().map(|r| format!(" (recorded base {r})")).unwrap_or_default()
    )]
    BranchDiverged {
        /// The branch.
        branch: String,
        /// Where it points.
        tip: String,
        /// The base asked for.
        base: String,
        /// The base recorded when orch created it, if any.
        recorded: Option<String>,
    },
    /// The task's worktree exists but was created from another base than the pinned one.
    #[error(
        "the worktree of {task} was created from {recorded}, not from the requested base {requested}; remove it first to start over"
    )]
    BaseMismatch {
        /// The task.
        task: TaskId,
        /// Its recorded base.
        recorded: String,
        /// The base asked for.
        requested: String,
    },
    /// Something that is not a worktree registered with git occupies the worktree's path.
    #[error(
        "{path} already exists and is not a registered git worktree; move it away or run `orch worktree prune`"
    )]
    PathOccupied {
        /// The path.
        path: PathBuf,
    },
    /// A worktree path would resolve outside the worktree root (for example through a
    /// symbolic link planted in the root).
    #[error("{path} resolves outside the worktree root {root}")]
    OutsideRoot {
        /// The path.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// A worktree for the task is registered, but at another path or on another branch than
    /// orch would use.
    #[error(
        "a worktree named {task} is registered at {path} on {head}, not at {expected} on its task branch; remove it with `git worktree remove`"
    )]
    RegisteredElsewhere {
        /// The task.
        task: TaskId,
        /// Where it is.
        path: PathBuf,
        /// What its HEAD is.
        head: String,
        /// Where orch would put it.
        expected: PathBuf,
    },
    /// The task has no worktree.
    #[error("task {task} has no worktree")]
    NotFound {
        /// The task.
        task: TaskId,
    },
    /// The worktree's directory has vanished (it can be pruned).
    #[error("the worktree directory of {task} ({path}) has vanished; run `orch worktree prune`")]
    Missing {
        /// The task.
        task: TaskId,
        /// Where it was.
        path: PathBuf,
    },
    /// The worktree has uncommitted changes and the operation would lose them.
    #[error(
        "the worktree of {task} has uncommitted changes ({}); commit them or force",
        summarize(files)
    )]
    Dirty {
        /// The task.
        task: TaskId,
        /// Its path.
        path: PathBuf,
        /// The changed paths.
        files: Vec<String>,
    },
    /// The worktree is locked (`git worktree lock`, or a creation that was interrupted).
    #[error("the worktree of {task} is locked{}; unlock it or force", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    WorktreeLocked {
        /// The task.
        task: TaskId,
        /// The lock reason, if one was given.
        reason: Option<String>,
    },
    /// The worktree's HEAD is no longer its task branch (the agent checked out something else).
    #[error("the worktree of {task} is on {head}, not on `{branch}`")]
    UnexpectedHead {
        /// The task.
        task: TaskId,
        /// Its HEAD (a branch name or a detached SHA).
        head: String,
        /// The task branch.
        branch: String,
    },
    /// The repository-wide orch lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// libgit2 failed.
    #[error("git failed to {op}")]
    Git {
        /// What was being done.
        op: &'static str,
        /// What libgit2 said.
        #[source]
        source: GitError,
    },
    /// A file-system operation failed.
    #[error("cannot {op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a conflict prediction or a merge was refused or failed. A refused merge leaves both
/// branches and every checkout exactly as they were.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// The merge would conflict; the paths are listed.
    #[error(
        "merging `{source_branch}` into `{target}` would conflict in {}",
        summarize(paths)
    )]
    Conflicts {
        /// What was merged.
        source_branch: String,
        /// Into what.
        target: String,
        /// The conflicting paths.
        paths: Vec<String>,
    },
    /// The two histories share no commit.
    #[error("`{source_branch}` and `{target}` have no common history")]
    Unrelated {
        /// What was merged.
        source_branch: String,
        /// Into what.
        target: String,
    },
    /// The target branch is checked out in a worktree that has uncommitted changes, so it
    /// cannot be moved safely.
    #[error(
        "`{branch}` is checked out at {path} with uncommitted changes ({}); commit or stash them first",
        summarize(files)
    )]
    CheckoutDirty {
        /// The branch.
        branch: String,
        /// The worktree.
        path: PathBuf,
        /// The changed paths.
        files: Vec<String>,
    },
    /// The target branch is checked out in a worktree where a merge, rebase, cherry-pick,
    /// revert or bisect is in progress.
    #[error(
        "`{branch}` is checked out at {path} where a {operation} is in progress; finish or abort it first"
    )]
    CheckoutBusy {
        /// The branch.
        branch: String,
        /// The worktree.
        path: PathBuf,
        /// What is in progress (`merge`, `rebase`, …).
        operation: String,
    },
    /// The target branch is checked out in a worktree whose directory has vanished.
    #[error("`{branch}` is checked out in a vanished worktree at {path}; run `git worktree prune`")]
    CheckoutMissing {
        /// The branch.
        branch: String,
        /// The vanished worktree.
        path: PathBuf,
    },
    /// The task's worktree has uncommitted work that the merge would leave behind.
    #[error(
        "the worktree of {task} has uncommitted changes ({}); commit them first (WorktreeManager::commit_pending)",
        summarize(files)
    )]
    SourceDirty {
        /// The task.
        task: TaskId,
        /// The changed paths.
        files: Vec<String>,
    },
    /// The target branch moved while the merge was computed (another process merged).
    #[error("`{branch}` moved while merging; try again")]
    ConcurrentUpdate {
        /// The branch.
        branch: String,
    },
    /// A worktree-level error (opening the repository, resolving names, locking).
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
}

impl From<LockError> for MergeError {
    fn from(e: LockError) -> Self {
        MergeError::Worktree(WorktreeError::Lock(e))
    }
}

/// `a, b, c and 4 more`
fn summarize(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

pub(crate) fn git(op: &'static str) -> impl FnOnce(git2::Error) -> WorktreeError {
    move |source| WorktreeError::Git {
        op,
        source: GitError::from_git2(&source),
    }
}

pub(crate) fn io(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> WorktreeError {
    let path = path.into();
    move |source| WorktreeError::Io { op, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_bounded() {
        let files: Vec<String> = (0..8).map(|i| format!("f{i}")).collect();
        assert_eq!(summarize(&files), "f0, f1, f2, f3, f4 and 3 more");
        assert_eq!(summarize(&files[..2]), "f0, f1");
    }

    #[test]
    fn messages_name_the_paths() {
        let e = MergeError::Conflicts {
            source_branch: "orch/task/T-1".into(),
            target: "orch/epic/E".into(),
            paths: vec!["a.rs".into(), "b.rs".into()],
        };
        assert_eq!(
            e.to_string(),
            "merging `orch/task/T-1` into `orch/epic/E` would conflict in a.rs, b.rs"
        );
        let e = WorktreeError::BranchDiverged {
            branch: "orch/task/T".into(),
            tip: "abc".into(),
            base: "def".into(),
            recorded: Some("def".into()),
        };
        assert!(e.to_string().contains("(recorded base def)"), "{e}");
    }
}
