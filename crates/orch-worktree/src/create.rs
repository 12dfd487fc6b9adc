//! Creating epic branches and task worktrees.

use std::path::PathBuf;

use git2::{BranchType, Oid, Repository};
use orch_core::{EpicId, TaskId};
use serde::Serialize;

use crate::checkout::add_worktree;
use crate::error::{GitError, WorktreeError, git, io};
use crate::glob::find_matches;
use crate::manager::{
    BASE_KEY, COPIED_FILE, EPIC_KEY, LockState, WorktreeManager, lock_state, read_head,
    registered_path, resolve_path, write_atomic,
};

/// Which commit a new task worktree starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskBase {
    /// The current tip of the epic's branch (`<epic prefix><EPIC>`, created from the base
    /// branch if missing). Not pinned: an existing worktree or an untouched task branch is reused
    /// whatever the epic tip is now.
    EpicTip(EpicId),
    /// A commit the caller pinned (the engine pins the epic tip at task start and passes it
    /// again after a restart). An existing worktree must have been created from exactly this
    /// commit, an existing task branch must point at it.
    Pinned {
        /// The epic the task belongs to (ahead/behind are reported against its branch).
        epic: Option<EpicId>,
        /// A commit SHA or any revision git understands.
        commit: String,
    },
    /// The current tip of the base branch, no epic (for ad-hoc use such as
    /// `orch worktree create TASK` without a plan).
    BaseBranch,
}

impl TaskBase {
    /// The pinned commit `commit` of epic `epic`.
    pub fn pinned(epic: EpicId, commit: impl Into<String>) -> TaskBase {
        TaskBase::Pinned {
            epic: Some(epic),
            commit: commit.into(),
        }
    }

    fn is_pinned(&self) -> bool {
        matches!(self, TaskBase::Pinned { .. })
    }
}

/// An epic's integration branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpicBranch {
    /// The epic.
    pub epic: EpicId,
    /// The branch, `<epic prefix><EPIC>` (see [`crate::Naming`]).
    pub branch: String,
    /// Its tip.
    pub tip: String,
    /// Whether this call created it (from the tip of `base_branch`).
    pub created: bool,
    /// The base branch it was created from (when created) .
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
}

/// A task's worktree, as created or reused by [`WorktreeManager::create`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskWorktree {
    /// The task.
    pub task: TaskId,
    /// The epic, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epic: Option<EpicId>,
    /// The worktree directory.
    pub path: PathBuf,
    /// The task branch, `<task prefix><TASK>` (see [`crate::Naming`]).
    pub branch: String,
    /// The commit the task started from (recorded in git configuration as
    /// `branch.<task branch>.orchbase`).
    pub base_sha: String,
    /// The branch tip now.
    pub head_sha: String,
    /// `true` when the task's worktree already existed and was returned as it is.
    pub reused: bool,
    /// Whether the task branch already existed (untouched since its base, or with the
    /// existing worktree).
    pub branch_reused: bool,
    /// Untracked files copied from the main worktree (`repo.copy_untracked`), relative paths.
    pub copied: Vec<String>,
    /// Submodule paths in the worktree. They are not initialised (their directories are
    /// empty); run `git submodule update --init` in the worktree when the task needs them.
    pub submodules: Vec<String>,
    /// Files written by the checkout (0 when reused).
    pub files_checked_out: usize,
    /// Whether orch's parallel writer checked the files out (`false`: libgit2's checkout,
    /// because a filter could apply or parallel checkout is disabled; or reused).
    pub parallel_checkout: bool,
}

impl WorktreeManager {
    /// Makes sure the epic's branch (`<epic prefix><EPIC>`) exists, creating it from the tip of
    /// the base branch; returns its tip. The branch is never checked out.
    ///
    /// Errors: no commits yet, detached HEAD with no configured base branch, base branch
    /// missing.
    pub fn ensure_epic_branch(&self, epic: &EpicId) -> Result<EpicBranch, WorktreeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        self.ensure_epic_branch_in(&repo, epic)
    }

    fn ensure_epic_branch_in(
        &self,
        repo: &Repository,
        epic: &EpicId,
    ) -> Result<EpicBranch, WorktreeError> {
        let branch = self.naming.epic_branch(epic);
        if let Ok(existing) = repo.find_branch(&branch, BranchType::Local)
            && let Some(tip) = existing.get().target()
        {
            return Ok(EpicBranch {
                epic: epic.clone(),
                branch,
                tip: tip.to_string(),
                created: false,
                base_branch: None,
            });
        }
        let base = self.base_branch_in(repo)?;
        let tip = branch_tip(repo, &base)?;
        let commit = repo.find_commit(tip).map_err(git("read the base branch"))?;
        repo.branch(&branch, &commit, false)
            .map_err(git("create the epic branch"))?;
        Ok(EpicBranch {
            epic: epic.clone(),
            branch,
            tip: tip.to_string(),
            created: true,
            base_branch: Some(base),
        })
    }

    /// Creates the worktree of `task` at [`WorktreeManager::worktree_path`] on its task
    /// branch ([`crate::Naming::task_branch`]) starting from `base`, records the base
    /// commit, copies the configured untracked files and adds the root to
    /// `.git/info/exclude` (when it is inside the repository).
    ///
    /// Calling it again is safe: an existing worktree of the task is returned with
    /// `reused: true` (with a pinned base it must have been created from that base), and an
    /// existing task branch without a worktree is reused when it points at the base.
    ///
    /// Errors (nothing is left half-made): no commits, base not found, task branch with other
    /// commits ([`WorktreeError::BranchDiverged`]), task branch checked out elsewhere, path
    /// occupied by something that is not a registered worktree, path escaping the root, a
    /// worktree of that name registered elsewhere, lock timeout.
    pub fn create(&self, task: &TaskId, base: &TaskBase) -> Result<TaskWorktree, WorktreeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        if repo.is_empty().map_err(git("inspect the repository"))? {
            return Err(WorktreeError::NoCommits {
                branch: self.base_branch_in(&repo).unwrap_or_else(|_| "HEAD".into()),
            });
        }
        let (base_oid, epic) = match base {
            TaskBase::EpicTip(epic) => {
                let e = self.ensure_epic_branch_in(&repo, epic)?;
                (parse_oid(&e.tip)?, Some(epic.clone()))
            }
            TaskBase::Pinned { epic, commit } => (resolve_commit(&repo, commit)?, epic.clone()),
            TaskBase::BaseBranch => {
                let branch = self.base_branch_in(&repo)?;
                (branch_tip(&repo, &branch)?, None)
            }
        };
        let branch = self.naming.task_branch(task);
        let refname = format!("refs/heads/{branch}");
        let path = self.checked_path(task)?;
        self.ensure_excluded()?;

        // 1. An existing registration of this task.
        let admin = self.admin_dir(task);
        // A creation that never finished (the process died): the "initializing" lock, or a
        // registration without its `gitdir` (killed right after the lock file was made,
        // before anything was written to it). Its directory holds a partial checkout and
        // no work: start again. A lock someone set on purpose always has a `gitdir`.
        if admin.is_dir()
            && (lock_state(&admin) == LockState::Interrupted || registered_path(&admin).is_none())
        {
            let stale = registered_path(&admin).unwrap_or_else(|| path.clone());
            // Killed before the checkout began: an empty directory, no `.git` yet.
            if std::fs::read_dir(&stale).is_ok_and(|mut d| d.next().is_none()) {
                std::fs::remove_dir(&stale).map_err(io("remove the empty directory", &stale))?;
            }
            self.remove_worktree_files(&stale, &admin)?;
        }
        if admin.is_dir() {
            let registered = registered_path(&admin);
            let head = read_head(&admin.join("HEAD"));
            let on_branch = head == Some(crate::manager::Head::Branch(refname.clone()));
            let here = registered.as_deref() == Some(path.as_path());
            let exists = registered
                .as_deref()
                .is_some_and(|p| p.join(".git").exists());
            if exists {
                if !(here && on_branch) {
                    return Err(WorktreeError::RegisteredElsewhere {
                        task: task.clone(),
                        path: registered.unwrap_or_default(),
                        head: head
                            .map(|h| h.describe())
                            .unwrap_or_else(|| "no HEAD".into()),
                        expected: path,
                    });
                }
                return self.reuse_existing(&repo, task, base, base_oid, epic, path);
            }
            // The directory vanished: a stale registration, cleared like `git worktree prune`
            // would, unless someone locked it on purpose.
            if let LockState::Locked(reason) = lock_state(&admin) {
                return Err(WorktreeError::WorktreeLocked {
                    task: task.clone(),
                    reason: Some(reason).filter(|r| !r.is_empty()),
                });
            }
            std::fs::remove_dir_all(&admin).map_err(io("remove the stale registration", &admin))?;
        }

        // 2. Something else at the path.
        if std::fs::symlink_metadata(&path).is_ok() {
            let empty_dir = std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none());
            if !empty_dir {
                return Err(WorktreeError::PathOccupied { path });
            }
            std::fs::remove_dir(&path).map_err(io("remove the empty directory", &path))?;
        }

        // 3. The task branch.
        let recorded = self.branch_meta(&repo, &branch, BASE_KEY);
        let (base_oid, branch_reused) = match repo.find_branch(&branch, BranchType::Local) {
            Ok(existing) => {
                let tip = existing
                    .get()
                    .target()
                    .ok_or_else(|| WorktreeError::BranchNotFound {
                        branch: branch.clone(),
                    })?;
                if let Some(at) = self.checked_out_at(&repo, &refname) {
                    return Err(WorktreeError::BranchCheckedOut { branch, path: at });
                }
                let recorded_oid = recorded.as_deref().and_then(|r| Oid::from_str(r).ok());
                if tip == base_oid {
                    (base_oid, true)
                } else if !base.is_pinned() && recorded_oid == Some(tip) {
                    (tip, true)
                } else {
                    return Err(WorktreeError::BranchDiverged {
                        branch,
                        tip: tip.to_string(),
                        base: base_oid.to_string(),
                        recorded,
                    });
                }
            }
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                let commit = repo
                    .find_commit(base_oid)
                    .map_err(git("read the base commit"))?;
                repo.branch(&branch, &commit, false)
                    .map_err(git("create the task branch"))?;
                (base_oid, false)
            }
            Err(e) => return Err(git("look up the task branch")(e)),
        };

        let made = (|| {
            self.set_branch_meta(&repo, &branch, BASE_KEY, Some(&base_oid.to_string()))?;
            self.set_branch_meta(&repo, &branch, EPIC_KEY, epic.as_ref().map(EpicId::as_str))?;
            let stats = add_worktree(
                &repo,
                &self.common_dir,
                &self.naming.worktree_name(task),
                &path,
                &refname,
                base_oid,
                self.parallel_checkout,
            )?;
            let copied = self.copy_untracked(&repo, task, &path).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&path);
                let _ = std::fs::remove_dir_all(self.admin_dir(task));
            })?;
            if self.isolate {
                crate::isolate::isolate(
                    &repo,
                    &self.common_dir,
                    &self.admin_dir(task),
                    &path,
                    &refname,
                    base_oid,
                )
                .inspect_err(|_| {
                    let _ = std::fs::remove_dir_all(&path);
                    let _ = std::fs::remove_dir_all(self.admin_dir(task));
                })?;
            }
            Ok((stats, copied))
        })();
        let (stats, copied) = match made {
            Ok(v) => v,
            Err(e) => {
                if !branch_reused && let Ok(mut b) = repo.find_branch(&branch, BranchType::Local) {
                    let _ = b.delete();
                }
                return Err(e);
            }
        };
        Ok(TaskWorktree {
            task: task.clone(),
            epic,
            path,
            branch,
            base_sha: base_oid.to_string(),
            head_sha: base_oid.to_string(),
            reused: false,
            branch_reused,
            copied,
            submodules: submodules(&repo, base_oid),
            files_checked_out: stats.files,
            parallel_checkout: stats.parallel,
        })
    }

    fn reuse_existing(
        &self,
        repo: &Repository,
        task: &TaskId,
        base: &TaskBase,
        base_oid: Oid,
        epic: Option<EpicId>,
        path: PathBuf,
    ) -> Result<TaskWorktree, WorktreeError> {
        let branch = self.naming.task_branch(task);
        let recorded = self.branch_meta(repo, &branch, BASE_KEY);
        let recorded_oid = recorded.as_deref().and_then(|r| Oid::from_str(r).ok());
        let base_oid = match recorded_oid {
            Some(r) if base.is_pinned() && r != base_oid => {
                return Err(WorktreeError::BaseMismatch {
                    task: task.clone(),
                    recorded: r.to_string(),
                    requested: base_oid.to_string(),
                });
            }
            Some(r) => r,
            None => {
                self.set_branch_meta(repo, &branch, BASE_KEY, Some(&base_oid.to_string()))?;
                base_oid
            }
        };
        let epic = self
            .branch_meta(repo, &branch, EPIC_KEY)
            .and_then(|e| EpicId::new(e).ok())
            .or(epic);
        let head = branch_tip(repo, &branch)?;
        let admin = self.admin_dir(task);
        if self.isolate && !crate::isolate::is_isolated(&admin) {
            // Made before isolation was on (or the isolation was interrupted): the agent
            // gets its private repository now, at orch's view of the branch.
            crate::isolate::isolate(
                repo,
                &self.common_dir,
                &admin,
                &path,
                &format!("refs/heads/{branch}"),
                head,
            )?;
        }
        Ok(TaskWorktree {
            task: task.clone(),
            epic,
            path,
            branch,
            base_sha: base_oid.to_string(),
            head_sha: head.to_string(),
            reused: true,
            branch_reused: true,
            copied: self.copied_files(task).into_iter().collect(),
            submodules: submodules(repo, head),
            files_checked_out: 0,
            parallel_checkout: false,
        })
    }

    /// Copies the configured untracked files of the main worktree into the new worktree and
    /// records their list in the worktree's admin directory.
    fn copy_untracked(
        &self,
        repo: &Repository,
        task: &TaskId,
        dest: &std::path::Path,
    ) -> Result<Vec<String>, WorktreeError> {
        if self.copy.is_empty() {
            return Ok(Vec::new());
        }
        let index = repo.index().map_err(git("read the index"))?;
        let found = find_matches(&self.workdir, &self.copy, &resolve_path(&self.root))?;
        let mut copied = Vec::new();
        for rel in found {
            if index.get_path(std::path::Path::new(&rel), 0).is_some() {
                continue; // tracked: the checkout has it already
            }
            let target = dest.join(&rel);
            if std::fs::symlink_metadata(&target).is_ok() {
                continue; // never overwrite what the checkout wrote
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io("create", parent))?;
            }
            let source = self.workdir.join(&rel);
            std::fs::copy(&source, &target).map_err(io("copy", &source))?;
            copied.push(rel);
        }
        if !copied.is_empty() {
            let mut list = copied.join("\n");
            list.push('\n');
            write_atomic(&self.admin_dir(task).join(COPIED_FILE), list.as_bytes())?;
        }
        Ok(copied)
    }
}

pub(crate) fn parse_oid(sha: &str) -> Result<Oid, WorktreeError> {
    Oid::from_str(sha).map_err(|source| WorktreeError::RevisionNotFound {
        rev: sha.to_owned(),
        source: GitError::from_git2(&source),
    })
}

/// The commit a revision names.
pub(crate) fn resolve_commit(repo: &Repository, rev: &str) -> Result<Oid, WorktreeError> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|source| WorktreeError::RevisionNotFound {
            rev: rev.to_owned(),
            source: GitError::from_git2(&source),
        })
}

/// The tip of a local branch; `NoCommits` when it is unborn, `BranchNotFound` when missing.
pub(crate) fn branch_tip(repo: &Repository, branch: &str) -> Result<Oid, WorktreeError> {
    match repo.find_branch(branch, BranchType::Local) {
        Ok(b) => b
            .get()
            .peel_to_commit()
            .map(|c| c.id())
            .map_err(git("read a branch tip")),
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            let unborn = read_head(&repo.commondir().join("HEAD"))
                == Some(crate::manager::Head::Branch(format!("refs/heads/{branch}")));
            if unborn {
                Err(WorktreeError::NoCommits {
                    branch: branch.to_owned(),
                })
            } else {
                Err(WorktreeError::BranchNotFound {
                    branch: branch.to_owned(),
                })
            }
        }
        Err(e) => Err(git("look up a branch")(e)),
    }
}

/// Paths of gitlinks (submodules) in a commit's tree.
fn submodules(repo: &Repository, commit: Oid) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(tree) = repo.find_commit(commit).and_then(|c| c.tree()) {
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |prefix, entry| {
            if entry.filemode() == 0o160000 {
                out.push(format!(
                    "{prefix}{}",
                    String::from_utf8_lossy(entry.name_bytes())
                ));
            }
            git2::TreeWalkResult::Ok
        });
    }
    out
}
