//! Listing task worktrees: state, ahead/behind, changed files with line counts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{BranchType, Delta, DiffOptions, Oid, Repository};
use orch_core::{EpicId, TaskId};
use serde::Serialize;

use crate::create::branch_tip;
use crate::error::{WorktreeError, git};
use crate::manager::{
    BASE_KEY, EPIC_KEY, Head, WorktreeManager, changed_paths, read_head, registered_path,
    worktree_names,
};

/// Whether a worktree has uncommitted work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WorktreeState {
    /// Nothing uncommitted.
    Clean,
    /// Staged, unstaged or untracked (not ignored) changes.
    Dirty,
    /// Registered with git, but the directory has vanished.
    Missing,
}

/// How a file differs from the task's base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// New (committed, staged or untracked).
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
    /// File type changed (file, symbolic link, submodule).
    TypeChanged,
}

/// One changed file of a task worktree, relative to the task's base commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path relative to the worktree root, `/`-separated.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Whether git treats it as binary (no line counts then).
    pub binary: bool,
}

/// One task worktree, as [`WorktreeManager::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorktreeInfo {
    /// The task.
    pub task: TaskId,
    /// The epic recorded at creation, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epic: Option<EpicId>,
    /// The worktree directory.
    pub path: PathBuf,
    /// The task branch, `<task prefix><TASK>` (see [`crate::Naming`]).
    pub branch: String,
    /// The commit the task started from, when recorded.
    pub base_sha: Option<String>,
    /// The commit checked out (the branch tip, or the detached HEAD).
    pub head_sha: Option<String>,
    /// Clean, dirty or missing.
    pub state: WorktreeState,
    /// `Some(reason)` when the worktree is locked (`git worktree lock`); the reason may be
    /// empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<String>,
    /// What `ahead`/`behind` compare against: the epic branch, or the base commit.
    pub compared_to: Option<String>,
    /// Commits on the task branch that `compared_to` does not have.
    pub ahead: Option<usize>,
    /// Commits on `compared_to` that the task branch does not have.
    pub behind: Option<usize>,
    /// Files changed since the base commit, committed or not (untracked files included,
    /// ignored files and the copied untracked files excluded).
    pub changes: Vec<FileChange>,
    /// Sum of `changes[].insertions`.
    pub insertions: usize,
    /// Sum of `changes[].deletions`.
    pub deletions: usize,
}

impl WorktreeManager {
    /// Every task worktree of the repository (registered worktrees named after a task by
    /// this manager's [`crate::Naming`] that are on their task branch or live under the
    /// root), sorted by task id. Other worktrees (other names, other places) are left out.
    pub fn list(&self) -> Result<Vec<WorktreeInfo>, WorktreeError> {
        let repo = self.repo()?;
        let mut out = Vec::new();
        for task in self.registered_tasks(&repo)? {
            out.push(self.info(&repo, &task)?);
        }
        Ok(out)
    }

    /// The task's worktree, like one entry of [`WorktreeManager::list`].
    pub fn get(&self, task: &TaskId) -> Result<WorktreeInfo, WorktreeError> {
        let repo = self.repo()?;
        if !self.admin_dir(task).join("gitdir").is_file() {
            return Err(WorktreeError::NotFound { task: task.clone() });
        }
        self.info(&repo, task)
    }

    /// Tasks with a worktree of this manager's naming registered in git: named after the
    /// task by the naming, and either on the task branch, or under the root and not on a
    /// branch of someone else (the task branch exists, or HEAD is detached: an agent may
    /// have switched away from it). A worktree under the root on another branch while the
    /// task branch does not exist belongs to another naming sharing the root.
    pub(crate) fn registered_tasks(&self, repo: &Repository) -> Result<Vec<TaskId>, WorktreeError> {
        let mut out = Vec::new();
        for name in worktree_names(repo) {
            let Some(task) = self.naming.task_of_worktree(&name) else {
                continue;
            };
            let admin = self.admin_dir(&task);
            let branch = self.naming.task_branch(&task);
            let head = read_head(&admin.join("HEAD"));
            let on_branch = head == Some(Head::Branch(format!("refs/heads/{branch}")));
            let under_root =
                registered_path(&admin).is_some_and(|p| p.parent() == Some(self.root.as_path()));
            let elsewhere = matches!(head, Some(Head::Branch(_)))
                && repo.find_branch(&branch, BranchType::Local).is_err();
            if on_branch || (under_root && !elsewhere) {
                out.push(task);
            }
        }
        out.sort();
        Ok(out)
    }

    pub(crate) fn info(
        &self,
        repo: &Repository,
        task: &TaskId,
    ) -> Result<WorktreeInfo, WorktreeError> {
        let admin = self.admin_dir(task);
        let path = registered_path(&admin).unwrap_or_else(|| self.worktree_path(task));
        let branch = self.naming.task_branch(task);
        let head = match read_head(&admin.join("HEAD")) {
            Some(Head::Detached(sha)) => Oid::from_str(&sha).ok(),
            Some(Head::Branch(r)) => r
                .strip_prefix("refs/heads/")
                .and_then(|b| branch_tip(repo, b).ok()),
            None => None,
        };
        let base = self
            .branch_meta(repo, &branch, BASE_KEY)
            .and_then(|b| Oid::from_str(&b).ok());
        let epic = self
            .branch_meta(repo, &branch, EPIC_KEY)
            .and_then(|e| EpicId::new(e).ok());
        let locked = std::fs::read_to_string(admin.join("locked"))
            .ok()
            .map(|r| r.trim().to_owned());
        let hidden = self.copied_files(task);
        let wt = path
            .join(".git")
            .exists()
            .then(|| crate::isolate::open_checkout(&admin, &path).ok())
            .flatten();
        let state = match &wt {
            None => WorktreeState::Missing,
            Some(wt) if changed_paths(wt, &hidden)?.is_empty() => WorktreeState::Clean,
            Some(_) => WorktreeState::Dirty,
        };

        let epic_tip = epic.as_ref().and_then(|e| {
            let branch = self.naming.epic_branch(e);
            repo.find_branch(&branch, BranchType::Local)
                .ok()
                .and_then(|b| b.get().target())
                .map(|tip| (branch, tip))
        });
        let target = epic_tip.or_else(|| base.map(|b| (b.to_string(), b)));
        let (compared_to, ahead, behind) = match (head, target) {
            (Some(head), Some((name, tip))) => match repo.graph_ahead_behind(head, tip) {
                Ok((a, b)) => (Some(name), Some(a), Some(b)),
                Err(_) => (Some(name), None, None),
            },
            _ => (None, None, None),
        };

        let changes = match base {
            Some(base) => diff_changes(repo, wt.as_ref(), base, head, &hidden)?,
            None => Vec::new(),
        };
        Ok(WorktreeInfo {
            task: task.clone(),
            epic,
            path,
            branch,
            base_sha: base.map(|b| b.to_string()),
            head_sha: head.map(|h| h.to_string()),
            state,
            locked,
            compared_to,
            ahead,
            behind,
            insertions: changes.iter().map(|c| c.insertions).sum(),
            deletions: changes.iter().map(|c| c.deletions).sum(),
            changes,
        })
    }
}

/// Base tree against the worktree (index and files, untracked included) when it exists,
/// else against the branch tip.
fn diff_changes(
    repo: &Repository,
    wt: Option<&Repository>,
    base: Oid,
    head: Option<Oid>,
    hidden: &BTreeSet<String>,
) -> Result<Vec<FileChange>, WorktreeError> {
    let Ok(base_tree) = repo.find_commit(base).and_then(|c| c.tree()) else {
        return Ok(Vec::new()); // the recorded base was garbage-collected: nothing to compare
    };
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true)
        .ignore_submodules(true);
    let diff = match (wt, head) {
        (Some(wt), _) => {
            let base_tree = wt
                .find_tree(base_tree.id())
                .map_err(git("read the base tree"))?;
            wt.diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut opts))
        }
        (None, Some(head)) => {
            let head_tree = repo
                .find_commit(head)
                .and_then(|c| c.tree())
                .map_err(git("read the head tree"))?;
            repo.diff_tree_to_tree(Some(&base_tree), Some(&head_tree), Some(&mut opts))
        }
        (None, None) => return Ok(Vec::new()),
    }
    .map_err(git("diff the worktree against its base"))?;
    let mut out = Vec::new();
    for (i, delta) in diff.deltas().enumerate() {
        let file = if delta.status() == Delta::Deleted {
            delta.old_file()
        } else {
            delta.new_file()
        };
        let Some(path) = file
            .path_bytes()
            .map(|p| String::from_utf8_lossy(p).into_owned())
        else {
            continue;
        };
        if hidden.contains(&path) {
            continue;
        }
        let kind = match delta.status() {
            Delta::Added | Delta::Untracked | Delta::Copied => ChangeKind::Added,
            Delta::Deleted => ChangeKind::Deleted,
            Delta::Typechange => ChangeKind::TypeChanged,
            Delta::Unmodified | Delta::Ignored => continue,
            _ => ChangeKind::Modified,
        };
        let (insertions, deletions, binary) = match git2::Patch::from_diff(&diff, i) {
            Ok(Some(patch)) => {
                let binary = patch.delta().flags().is_binary();
                let (_, ins, del) = patch.line_stats().map_err(git("count changed lines"))?;
                (ins, del, binary)
            }
            Ok(None) => (0, 0, true),
            Err(e) => return Err(git("count changed lines")(e)),
        };
        out.push(FileChange {
            path,
            kind,
            insertions,
            deletions,
            binary,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Registered paths of every worktree git knows (this manager's or not), for prune.
pub(crate) fn all_registered_paths(
    repo: &Repository,
    common_dir: &Path,
) -> Vec<(String, Option<PathBuf>)> {
    worktree_names(repo)
        .into_iter()
        .map(|n| {
            let path = registered_path(&common_dir.join("worktrees").join(&n));
            (n, path)
        })
        .collect()
}
