//! Working with the exact commit a task produced, never with its worktree: exporting its
//! tree to a clean directory (what the quality gate checks), listing what it changed since
//! its base, reading a file as of a commit, merging that very commit (compare-and-swap on
//! the task branch), and replaying it onto a newer epic tip in memory.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, TreeWalkMode, TreeWalkResult};
use orch_core::{EpicId, TaskId};
use serde::Serialize;

use crate::create::{branch_tip, parse_oid, resolve_commit};
use crate::error::{MergeError, WorktreeError, git, io};
use crate::inspect::ChangeKind;
use crate::manager::WorktreeManager;
use crate::merge::{ConflictReport, MergeOutcome};

/// What [`WorktreeManager::export_commit`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Export {
    /// The commit exported.
    pub commit: String,
    /// Its tree (what a quality-gate cache is keyed on).
    pub tree: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// One path that differs between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeChange {
    /// The path, relative to the repository root, `/`-separated.
    pub path: String,
    /// Added, modified or deleted.
    pub kind: ChangeKind,
}

/// A file as of some commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAt {
    /// No such file in that commit.
    Missing,
    /// Its content.
    Bytes(Vec<u8>),
    /// Larger than the limit asked for; its size.
    TooLarge(u64),
}

impl FileAt {
    /// The content, if present and within the limit.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            FileAt::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// What [`WorktreeManager::replay_task`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// The task's changes now sit on the new epic tip as this commit (the task branch
    /// points at it).
    Commit(String),
    /// They conflict with the epic's new work in these paths; nothing moved.
    Conflicts(Vec<String>),
}

impl WorktreeManager {
    /// Writes the tree of `commit` into `dest` (created; must be empty or absent): regular
    /// files with their executable bit, symbolic links, no `.git`, no submodule content.
    /// Nothing of a worktree is read, so files an agent left uncommitted or hidden from git
    /// never reach the copy.
    pub fn export_commit(&self, commit: &str, dest: &Path) -> Result<Export, WorktreeError> {
        let repo = self.repo()?;
        let oid = resolve_commit(&repo, commit)?;
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(git("read the commit's tree"))?;
        if dest.exists()
            && std::fs::read_dir(dest)
                .map_err(io("read", dest))?
                .next()
                .is_some()
        {
            return Err(WorktreeError::PathOccupied {
                path: dest.to_owned(),
            });
        }
        std::fs::create_dir_all(dest).map_err(io("create", dest))?;
        let mut files = 0usize;
        let mut bytes = 0u64;
        let mut failure: Option<WorktreeError> = None;
        tree.walk(TreeWalkMode::PreOrder, |prefix, entry| {
            let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
            // Names a checkout must never write: git itself refuses these in trees.
            if name.is_empty()
                || name == "."
                || name == ".."
                || name.eq_ignore_ascii_case(".git")
                || name.contains(['/', '\0'])
            {
                return TreeWalkResult::Skip;
            }
            let target = dest.join(prefix).join(&name);
            let result = match entry.kind() {
                Some(ObjectType::Tree) => {
                    std::fs::create_dir_all(&target).map_err(io("create", &target))
                }
                Some(ObjectType::Blob) => {
                    let blob = match repo.find_blob(entry.id()) {
                        Ok(b) => b,
                        Err(e) => {
                            failure = Some(git("read a file")(e));
                            return TreeWalkResult::Abort;
                        }
                    };
                    bytes += blob.size() as u64;
                    files += 1;
                    write_entry(&target, blob.content(), entry.filemode())
                }
                // Submodules (commits) stay empty directories, as in a fresh clone.
                Some(ObjectType::Commit) => {
                    std::fs::create_dir_all(&target).map_err(io("create", &target))
                }
                _ => Ok(()),
            };
            match result {
                Ok(()) => TreeWalkResult::Ok,
                Err(e) => {
                    failure = Some(e);
                    TreeWalkResult::Abort
                }
            }
        })
        .map_err(|e| failure.take().unwrap_or_else(|| git("walk the tree")(e)))?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(Export {
            commit: oid.to_string(),
            tree: tree.id().to_string(),
            path: dest.to_owned(),
            files,
            bytes,
        })
    }

    /// Whether `commit` is `ancestor` or one of its descendants.
    pub fn descends_from(&self, commit: &str, ancestor: &str) -> Result<bool, WorktreeError> {
        let repo = self.repo()?;
        let (c, a) = (
            resolve_commit(&repo, commit)?,
            resolve_commit(&repo, ancestor)?,
        );
        Ok(c == a
            || repo
                .graph_descendant_of(c, a)
                .map_err(git("compare histories"))?)
    }

    /// The commit a local branch points at (`NoCommits` when it is unborn,
    /// `BranchNotFound` when missing).
    pub fn branch_tip(&self, branch: &str) -> Result<String, WorktreeError> {
        let repo = self.repo()?;
        Ok(branch_tip(&repo, branch)?.to_string())
    }

    /// The commit the task's branch points at.
    pub fn task_tip(&self, task: &TaskId) -> Result<String, WorktreeError> {
        let repo = self.repo()?;
        Ok(branch_tip(&repo, &self.naming.task_branch(task))?.to_string())
    }

    /// The tree id of `commit`.
    pub fn tree_of(&self, commit: &str) -> Result<String, WorktreeError> {
        let repo = self.repo()?;
        let oid = resolve_commit(&repo, commit)?;
        repo.find_commit(oid)
            .map(|c| c.tree_id().to_string())
            .map_err(git("read a commit"))
    }

    /// The paths that differ between the trees of `base` and `head` (no rename detection:
    /// a rename is a deletion and an addition), sorted.
    pub fn changes_between(
        &self,
        base: &str,
        head: &str,
    ) -> Result<Vec<TreeChange>, WorktreeError> {
        let repo = self.repo()?;
        let tree = |rev: &str| -> Result<git2::Tree<'_>, WorktreeError> {
            let oid = resolve_commit(&repo, rev)?;
            repo.find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(git("read a tree"))
        };
        let (old, new) = (tree(base)?, tree(head)?);
        let diff = repo
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .map_err(git("compare trees"))?;
        let mut out: Vec<TreeChange> = diff
            .deltas()
            .filter_map(|d| {
                let kind = match d.status() {
                    git2::Delta::Added => ChangeKind::Added,
                    git2::Delta::Deleted => ChangeKind::Deleted,
                    _ => ChangeKind::Modified,
                };
                let file = if kind == ChangeKind::Deleted {
                    d.old_file()
                } else {
                    d.new_file()
                };
                let path = file.path()?.to_string_lossy().replace('\\', "/");
                Some(TreeChange { path, kind })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path);
        Ok(out)
    }

    /// The file `path` as of `commit`, if it is at most `max_bytes` long.
    pub fn file_at(
        &self,
        commit: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<FileAt, WorktreeError> {
        let repo = self.repo()?;
        let oid = resolve_commit(&repo, commit)?;
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(git("read a tree"))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(FileAt::Missing),
            Err(e) => return Err(git("look up a file")(e)),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(FileAt::Missing);
        }
        let odb = repo.odb().map_err(git("open the object database"))?;
        let (size, _) = odb.read_header(entry.id()).map_err(git("read a file"))?;
        if size as u64 > max_bytes {
            return Ok(FileAt::TooLarge(size as u64));
        }
        let blob = repo.find_blob(entry.id()).map_err(git("read a file"))?;
        Ok(FileAt::Bytes(blob.content().to_vec()))
    }

    /// Conflicts of merging commit `commit` into the epic's branch, predicted in memory.
    pub fn predict_commit_conflicts(
        &self,
        epic: &EpicId,
        commit: &str,
    ) -> Result<ConflictReport, MergeError> {
        self.predict_conflicts(&self.naming.epic_branch(epic), commit)
    }

    /// Merges exactly `expected` (the commit that was verified) from the task's branch into
    /// the epic's branch. Refused with [`MergeError::ConcurrentUpdate`] when the task branch
    /// no longer points at it: what is merged is always what was checked. The worktree is
    /// not looked at.
    pub fn merge_task_at(
        &self,
        task: &TaskId,
        epic: &EpicId,
        expected: &str,
    ) -> Result<MergeOutcome, MergeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        let source = self.naming.task_branch(task);
        let tip = branch_tip(&repo, &source)?;
        if tip != parse_oid(expected)? {
            return Err(MergeError::ConcurrentUpdate { branch: source });
        }
        self.merge_into(&repo, &source, tip, &self.naming.epic_branch(epic))
    }

    /// Replays the task's changes (`base`..`expected`, as one change) onto the epic branch's
    /// tip, in memory, and moves the task branch there (compare-and-swap on `expected`).
    /// The commit keeps the message of `expected`. No worktree is touched.
    pub fn replay_task(
        &self,
        task: &TaskId,
        epic: &EpicId,
        base: &str,
        expected: &str,
    ) -> Result<Replayed, MergeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        let source = self.naming.task_branch(task);
        let tip = branch_tip(&repo, &source)?;
        let expected = parse_oid(expected)?;
        if tip != expected {
            return Err(MergeError::ConcurrentUpdate { branch: source });
        }
        let onto = branch_tip(&repo, &self.naming.epic_branch(epic))?;
        let read_tree = |oid: Oid| -> Result<git2::Tree<'_>, WorktreeError> {
            repo.find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(git("read a tree"))
        };
        let base_oid = resolve_commit(&repo, base)?;
        let mut index = repo
            .merge_trees(
                &read_tree(base_oid)?,
                &read_tree(onto)?,
                &read_tree(expected)?,
                None,
            )
            .map_err(git("replay in memory"))?;
        if index.has_conflicts() {
            let mut paths: Vec<String> = index
                .conflicts()
                .map_err(git("read conflicts"))?
                .flatten()
                .filter_map(|c| c.our.or(c.their).or(c.ancestor))
                .map(|e| String::from_utf8_lossy(&e.path).into_owned())
                .collect();
            paths.sort();
            paths.dedup();
            return Ok(Replayed::Conflicts(paths));
        }
        let tree_id = index
            .write_tree_to(&repo)
            .map_err(git("write the replayed tree"))?;
        let tree = repo
            .find_tree(tree_id)
            .map_err(git("read the replayed tree"))?;
        let parent = repo.find_commit(onto).map_err(git("read the epic tip"))?;
        let original = repo
            .find_commit(expected)
            .map_err(git("read the task commit"))?;
        let sig = self.signature(&repo)?;
        let message = original.message().unwrap_or("replayed").to_owned();
        let new = repo
            .commit(None, &original.author(), &sig, &message, &tree, &[&parent])
            .map_err(git("write the replayed commit"))?;
        repo.reference_matching(
            &format!("refs/heads/{source}"),
            new,
            true,
            expected,
            "orch: replay onto the epic tip",
        )
        .map_err(|e| match e.code() {
            git2::ErrorCode::Modified | git2::ErrorCode::Locked => MergeError::ConcurrentUpdate {
                branch: source.clone(),
            },
            _ => MergeError::from(git("move the task branch")(e)),
        })?;
        Ok(Replayed::Commit(new.to_string()))
    }
}

fn write_entry(target: &Path, content: &[u8], mode: i32) -> Result<(), WorktreeError> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    if mode == 0o120000 {
        let link = String::from_utf8_lossy(content).into_owned();
        return std::os::unix::fs::symlink(&link, target).map_err(io("create a link", target));
    }
    std::fs::write(target, content).map_err(io("write", target))?;
    if mode == 0o100755 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))
            .map_err(io("make executable", target))?;
    }
    Ok(())
}
