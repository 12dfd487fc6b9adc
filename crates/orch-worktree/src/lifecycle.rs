//! Committing pending work, removing and pruning worktrees.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{BranchType, IndexAddOption, Repository};
use orch_core::TaskId;
use serde::Serialize;

use crate::error::{WorktreeError, git, io};
use crate::inspect::all_registered_paths;
use crate::manager::{
    LockState, WorktreeManager, changed_paths, lock_state, registered_path, resolve_path,
};

/// A commit made by [`WorktreeManager::commit_pending`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// The task.
    pub task: TaskId,
    /// The new commit.
    pub sha: String,
    /// Its message, `TASK-ID: title`.
    pub message: String,
    /// The paths it changed.
    pub files: Vec<String>,
}

/// How [`WorktreeManager::remove`] behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoveOptions {
    /// Remove even with uncommitted changes (they are lost) or a lock.
    pub force: bool,
    /// Also delete the task branch (with its recorded base).
    pub delete_branch: bool,
}

impl RemoveOptions {
    /// Refuse dirty or locked worktrees, keep the branch.
    pub fn new() -> RemoveOptions {
        RemoveOptions::default()
    }

    /// Sets [`RemoveOptions::force`].
    pub fn force(mut self, force: bool) -> RemoveOptions {
        self.force = force;
        self
    }

    /// Sets [`RemoveOptions::delete_branch`].
    pub fn delete_branch(mut self, delete: bool) -> RemoveOptions {
        self.delete_branch = delete;
        self
    }
}

/// What [`WorktreeManager::remove`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// The task.
    pub task: TaskId,
    /// The directory that was removed.
    pub path: PathBuf,
    /// The task branch.
    pub branch: String,
    /// Whether the branch was deleted.
    pub branch_deleted: bool,
    /// The branch tip at removal (to restore a deleted branch with `git branch`).
    pub branch_tip: Option<String>,
    /// Uncommitted paths that were thrown away (only with `force`).
    pub discarded: Vec<String>,
}

/// How [`WorktreeManager::prune`] behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneOptions {
    /// Only report what would be removed.
    pub dry_run: bool,
    /// The tasks of the current plan: worktrees of other tasks are removed too. `None`:
    /// keep every worktree whose directory exists.
    pub plan_tasks: Option<BTreeSet<TaskId>>,
    /// Remove worktrees of tasks not in the plan even when dirty or locked.
    pub force: bool,
}

impl PruneOptions {
    /// Prune vanished and unknown worktrees only; not a dry run.
    pub fn new() -> PruneOptions {
        PruneOptions::default()
    }

    /// Sets [`PruneOptions::dry_run`].
    pub fn dry_run(mut self, dry_run: bool) -> PruneOptions {
        self.dry_run = dry_run;
        self
    }

    /// Sets [`PruneOptions::plan_tasks`].
    pub fn plan_tasks(mut self, tasks: impl IntoIterator<Item = TaskId>) -> PruneOptions {
        self.plan_tasks = Some(tasks.into_iter().collect());
        self
    }

    /// Sets [`PruneOptions::force`].
    pub fn force(mut self, force: bool) -> PruneOptions {
        self.force = force;
        self
    }
}

/// Why something is pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PruneReason {
    /// Registered with git, but its directory vanished: the registration goes.
    Missing,
    /// A directory under the root that git does not know as a worktree.
    Unregistered,
    /// The worktree of a task that is not in the plan.
    NotInPlan,
    /// A worktree whose creation was interrupted (the process died): a partial checkout.
    Interrupted,
}

/// What happened to one prune candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PruneAction {
    /// Removed.
    Removed,
    /// Would be removed (dry run).
    WouldRemove,
    /// Kept: it has uncommitted changes (use `force`).
    SkippedDirty,
    /// Kept: it is locked (use `force`).
    SkippedLocked,
    /// Removing it failed; see `detail`.
    Failed,
}

/// One prune candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneEntry {
    /// The task, when the name is a task id.
    pub task: Option<TaskId>,
    /// The directory (which may not exist any more).
    pub path: PathBuf,
    /// Why it is a candidate.
    pub reason: PruneReason,
    /// What was done.
    pub action: PruneAction,
    /// Dirty files, the lock reason or the error, when relevant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What [`WorktreeManager::prune`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
    /// Every candidate, in the order found.
    pub entries: Vec<PruneEntry>,
}

impl PruneReport {
    /// Entries removed (or that would be, in a dry run).
    pub fn removed(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.action, PruneAction::Removed | PruneAction::WouldRemove))
            .count()
    }
}

impl WorktreeManager {
    /// Commits everything uncommitted in the task's worktree (modified, deleted and new
    /// files; not ignored files, not the untracked files orch copied in) on the task branch,
    /// with the message `TASK-ID: title` and the configured author. `Ok(None)` when there is
    /// nothing to commit.
    ///
    /// Errors: no worktree, vanished directory, HEAD no longer on the task branch.
    pub fn commit_pending(
        &self,
        task: &TaskId,
        title: &str,
    ) -> Result<Option<CommitInfo>, WorktreeError> {
        let (path, wt) = self.open_worktree(task)?;
        let branch = self.naming.task_branch(task);
        let head = wt.head().map_err(git("read the worktree HEAD"))?;
        if head.name().ok() != Some(format!("refs/heads/{branch}").as_str()) {
            return Err(WorktreeError::UnexpectedHead {
                task: task.clone(),
                head: head
                    .shorthand()
                    .ok()
                    .filter(|_| head.is_branch())
                    .map(|b| format!("`{b}`"))
                    .unwrap_or_else(|| {
                        format!(
                            "detached HEAD {}",
                            head.target().map(|o| o.to_string()).unwrap_or_default()
                        )
                    }),
                branch,
            });
        }
        let parent = head
            .peel_to_commit()
            .map_err(git("read the worktree HEAD"))?;
        let hidden = self.copied_files(task);
        let files = changed_paths(&wt, &hidden)?;
        if files.is_empty() {
            return Ok(None);
        }
        let mut index = wt.index().map_err(git("read the worktree index"))?;
        let workdir = path.clone();
        let mut skip = |p: &Path, _: &[u8]| -> i32 {
            let rel = p.to_string_lossy().replace('\\', "/");
            i32::from(hidden.contains(&rel))
        };
        // New files that are build output never enter a commit (tracked ones are updated).
        let mut skip_new = |p: &Path, _: &[u8]| -> i32 {
            let rel = p.to_string_lossy().replace('\\', "/");
            i32::from(hidden.contains(&rel) || crate::isolate::is_build_output(&workdir, &rel))
        };
        index
            .update_all(["*"], Some(&mut skip))
            .map_err(git("stage changes"))?;
        index
            .add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip_new))
            .map_err(git("stage new files"))?;
        index.write().map_err(git("write the worktree index"))?;
        let tree_id = index.write_tree().map_err(git("write the tree"))?;
        if tree_id == parent.tree_id() {
            return Ok(None);
        }
        let tree = wt.find_tree(tree_id).map_err(git("read the tree"))?;
        let sig = self.signature(&wt)?;
        let title = title.trim();
        let message = if title.is_empty() {
            task.to_string()
        } else {
            format!("{task}: {title}")
        };
        let sha = wt
            .commit(Some("HEAD"), &sig, &sig, &message, &tree, &[&parent])
            .map_err(git("commit"))?;
        Ok(Some(CommitInfo {
            task: task.clone(),
            sha: sha.to_string(),
            message,
            files,
        }))
    }

    /// Removes the task's worktree: refuses uncommitted changes or a lock unless
    /// `opts.force`; deletes the task branch when `opts.delete_branch` (otherwise the branch
    /// and its recorded base stay, and [`WorktreeManager::create`] can bring the worktree
    /// back).
    pub fn remove(&self, task: &TaskId, opts: &RemoveOptions) -> Result<Removed, WorktreeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        if !self.registered_tasks(&repo)?.contains(task) {
            return Err(WorktreeError::NotFound { task: task.clone() });
        }
        let admin = self.admin_dir(task);
        let path = registered_path(&admin).unwrap_or_else(|| self.worktree_path(task));
        let branch = self.naming.task_branch(task);
        if let LockState::Locked(reason) = lock_state(&admin)
            && !opts.force
        {
            return Err(WorktreeError::WorktreeLocked {
                task: task.clone(),
                reason: Some(reason).filter(|r| !r.is_empty()),
            });
        }
        let mut discarded = Vec::new();
        if path.join(".git").exists() {
            let wt = crate::isolate::open_checkout(&admin, &path)?;
            discarded = changed_paths(&wt, &self.copied_files(task))?;
            if !discarded.is_empty() && !opts.force {
                return Err(WorktreeError::Dirty {
                    task: task.clone(),
                    path,
                    files: discarded,
                });
            }
        }
        let tip = repo
            .find_branch(&branch, BranchType::Local)
            .ok()
            .and_then(|b| b.get().target());
        if opts.delete_branch
            && let Some(at) = self.checked_out_except(
                &repo,
                &format!("refs/heads/{branch}"),
                Some(&self.naming.worktree_name(task)),
            )
        {
            return Err(WorktreeError::BranchCheckedOut { branch, path: at });
        }
        self.remove_worktree_files(&path, &admin)?;
        let mut branch_deleted = false;
        if opts.delete_branch
            && let Ok(mut b) = repo.find_branch(&branch, BranchType::Local)
        {
            b.delete().map_err(git("delete the task branch"))?;
            branch_deleted = true;
        }
        Ok(Removed {
            task: task.clone(),
            path,
            branch,
            branch_deleted,
            branch_tip: tip.map(|t| t.to_string()),
            discarded,
        })
    }

    /// Cleans up: registrations whose directory vanished, creations that were interrupted
    /// (a partial checkout), directories under the root that git does not know (only names
    /// of this manager's [`crate::Naming`] for a valid task id; anything else is left
    /// alone), and with `opts.plan_tasks` the worktrees of tasks that are not in the plan (dirty or
    /// locked ones only with `opts.force`). Task branches are kept. With `opts.dry_run`
    /// nothing changes and the report says what would go.
    pub fn prune(&self, opts: &PruneOptions) -> Result<PruneReport, WorktreeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        let mut entries = Vec::new();
        let done = |result: Result<(), WorktreeError>| match (opts.dry_run, result) {
            (true, _) => (PruneAction::WouldRemove, None),
            (false, Ok(())) => (PruneAction::Removed, None),
            (false, Err(e)) => (PruneAction::Failed, Some(error_chain(&e))),
        };
        for task in self.registered_tasks(&repo)? {
            let admin = self.admin_dir(&task);
            let path = registered_path(&admin).unwrap_or_else(|| self.worktree_path(&task));
            let state = lock_state(&admin);
            let lock = match &state {
                LockState::Locked(reason) => Some(reason.clone()),
                _ => None,
            };
            let entry = |reason, (action, detail)| PruneEntry {
                task: Some(task.clone()),
                path: path.clone(),
                reason,
                action,
                detail,
            };
            if state == LockState::Interrupted {
                entries.push(entry(
                    PruneReason::Interrupted,
                    done(if opts.dry_run {
                        Ok(())
                    } else {
                        self.remove_worktree_files(&path, &admin)
                    }),
                ));
                continue;
            }
            if !path.join(".git").exists() {
                entries.push(match lock {
                    Some(reason) => entry(
                        PruneReason::Missing,
                        (PruneAction::SkippedLocked, Some(reason)),
                    ),
                    None => entry(
                        PruneReason::Missing,
                        done(if opts.dry_run {
                            Ok(())
                        } else {
                            std::fs::remove_dir_all(&admin).map_err(io("remove", &admin))
                        }),
                    ),
                });
                continue;
            }
            if opts.plan_tasks.as_ref().is_some_and(|p| !p.contains(&task)) {
                if let (Some(reason), false) = (&lock, opts.force) {
                    entries.push(entry(
                        PruneReason::NotInPlan,
                        (PruneAction::SkippedLocked, Some(reason.clone())),
                    ));
                    continue;
                }
                let dirty = crate::isolate::open_checkout(&self.admin_dir(&task), &path)
                    .and_then(|wt| changed_paths(&wt, &self.copied_files(&task)))?;
                if !dirty.is_empty() && !opts.force {
                    entries.push(entry(
                        PruneReason::NotInPlan,
                        (PruneAction::SkippedDirty, Some(dirty.join(", "))),
                    ));
                    continue;
                }
                entries.push(entry(
                    PruneReason::NotInPlan,
                    done(if opts.dry_run {
                        Ok(())
                    } else {
                        self.remove_worktree_files(&path, &admin)
                    }),
                ));
            }
        }

        // Directories under the root that git does not know.
        let known: BTreeSet<PathBuf> = all_registered_paths(&repo, &self.common_dir)
            .into_iter()
            .filter_map(|(_, p)| p)
            .collect();
        let root = resolve_path(&self.root);
        if let Ok(dir) = std::fs::read_dir(&root) {
            let mut candidates = Vec::new();
            for item in dir.flatten() {
                let Some(task) = self
                    .naming
                    .task_of_worktree(&item.file_name().to_string_lossy())
                else {
                    continue;
                };
                let path = root.join(self.naming.worktree_name(&task));
                if !known.contains(&path) {
                    candidates.push((task, path));
                }
            }
            candidates.sort();
            for (task, path) in candidates {
                let result = if opts.dry_run {
                    Ok(())
                } else {
                    remove_path(&path)
                };
                let (action, detail) = done(result);
                entries.push(PruneEntry {
                    task: Some(task),
                    path,
                    reason: PruneReason::Unregistered,
                    action,
                    detail,
                });
            }
        }
        Ok(PruneReport {
            dry_run: opts.dry_run,
            entries,
        })
    }

    /// The task's worktree opened as a repository.
    pub(crate) fn open_worktree(
        &self,
        task: &TaskId,
    ) -> Result<(PathBuf, Repository), WorktreeError> {
        let admin = self.admin_dir(task);
        if !admin.join("gitdir").is_file() {
            return Err(WorktreeError::NotFound { task: task.clone() });
        }
        let path = registered_path(&admin).unwrap_or_else(|| self.worktree_path(task));
        if !path.join(".git").exists() {
            return Err(WorktreeError::Missing {
                task: task.clone(),
                path,
            });
        }
        let wt = crate::isolate::open_checkout(&admin, &path)?;
        Ok((path, wt))
    }

    /// Deletes a worktree directory (after checking it really is a linked worktree that is
    /// not the main one) and its admin directory.
    pub(crate) fn remove_worktree_files(
        &self,
        path: &Path,
        admin: &Path,
    ) -> Result<(), WorktreeError> {
        if path.exists() {
            let gitfile = path.join(".git");
            let is_linked = std::fs::symlink_metadata(&gitfile).is_ok_and(|m| m.is_file())
                || (crate::isolate::is_isolated(admin) && gitfile.is_dir());
            if !is_linked || self.workdir.starts_with(path) {
                return Err(WorktreeError::PathOccupied {
                    path: path.to_owned(),
                });
            }
            std::fs::remove_dir_all(path).map_err(io("remove", path))?;
        }
        if admin.exists() {
            std::fs::remove_dir_all(admin).map_err(io("remove", admin))?;
        }
        Ok(())
    }
}

fn remove_path(path: &Path) -> Result<(), WorktreeError> {
    let meta = std::fs::symlink_metadata(path).map_err(io("inspect", path))?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path).map_err(io("remove", path))
    } else {
        std::fs::remove_file(path).map_err(io("remove", path))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
