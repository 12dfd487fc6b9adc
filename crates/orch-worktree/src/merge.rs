//! Conflict prediction and merges, computed in memory with libgit2 (no checkout is touched
//! unless the target branch is checked out somewhere, see [`WorktreeManager::merge_branches`]).

use std::path::{Path, PathBuf};

use git2::{BranchType, Oid, Repository, StatusOptions};
use orch_core::{EpicId, TaskId};
use serde::Serialize;

use crate::create::{branch_tip, parse_oid};
use crate::error::{MergeError, WorktreeError, git};
use crate::manager::{EPIC_KEY, WorktreeManager, changed_paths};

/// How the two sides of a conflicting path differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConflictKind {
    /// Changed on both sides.
    BothModified,
    /// Added on both sides with different contents.
    BothAdded,
    /// Deleted on our side (the target), changed on theirs.
    DeletedByUs,
    /// Changed on our side (the target), deleted on theirs.
    DeletedByThem,
}

/// One conflicting path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// What kind of conflict.
    pub kind: ConflictKind,
}

/// What merging one side into the other amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MergeKind {
    /// The target already contains the source.
    UpToDate,
    /// The target can simply move to the source.
    FastForward,
    /// A merge commit is needed.
    MergeCommit,
}

/// The result of [`WorktreeManager::predict_conflicts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictReport {
    /// Our side (the merge target), as named by the caller or resolved.
    pub ours: String,
    /// Their side (merged into ours).
    pub theirs: String,
    /// Our commit.
    pub ours_sha: String,
    /// Their commit.
    pub theirs_sha: String,
    /// The merge base, if the histories meet.
    pub merge_base: Option<String>,
    /// What merging theirs into ours would be.
    pub kind: MergeKind,
    /// Conflicting paths, sorted; empty when the merge is clean.
    pub conflicts: Vec<Conflict>,
}

impl ConflictReport {
    /// Whether the merge would go through without conflicts.
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty()
    }

    /// The conflicting paths.
    pub fn paths(&self) -> Vec<&str> {
        self.conflicts.iter().map(|c| c.path.as_str()).collect()
    }
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeOutcome {
    /// What was merged (branch name or revision).
    pub source: String,
    /// The branch merged into.
    pub target: String,
    /// Up to date, fast-forward or merge commit.
    pub kind: MergeKind,
    /// The target's tip before.
    pub old_target_sha: String,
    /// The target's tip after (the merge commit for [`MergeKind::MergeCommit`]).
    pub new_target_sha: String,
    /// The worktree whose checkout was updated because the target branch was checked out
    /// there (clean), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_checkout: Option<PathBuf>,
}

impl WorktreeManager {
    /// Predicts the conflicts of merging `theirs` into `ours` without touching any checkout,
    /// branch or index: the merge runs in memory (libgit2 `merge_commits`, rename detection
    /// on, like `git merge`).
    ///
    /// Each side may be a task id (its task branch), an epic id (its epic branch), a branch
    /// name or any revision, tried in that order; task and epic branches are named by the
    /// manager's [`crate::Naming`].
    pub fn predict_conflicts(
        &self,
        ours: &str,
        theirs: &str,
    ) -> Result<ConflictReport, MergeError> {
        let repo = self.repo()?;
        let (ours_name, ours_oid) = self.resolve_name(&repo, ours)?;
        let (theirs_name, theirs_oid) = self.resolve_name(&repo, theirs)?;
        predict(&repo, ours_name, ours_oid, theirs_name, theirs_oid)
    }

    /// Predicts the conflicts of merging the task's branch into its epic branch (the epic
    /// recorded at creation), or into the base branch when it has no epic.
    pub fn predict_task_conflicts(&self, task: &TaskId) -> Result<ConflictReport, MergeError> {
        let repo = self.repo()?;
        let source = self.naming.task_branch(task);
        let target = match self
            .branch_meta(&repo, &source, EPIC_KEY)
            .and_then(|e| EpicId::new(e).ok())
        {
            Some(epic) => self.naming.epic_branch(&epic),
            None => self.base_branch_in(&repo)?,
        };
        let theirs = branch_tip(&repo, &source)?;
        let ours = branch_tip(&repo, &target)?;
        predict(&repo, target, ours, source, theirs)
    }

    /// Merges the task's branch into the epic's branch: fast-forward when possible,
    /// otherwise a merge commit, computed in memory. Refused, with both branches left as
    /// they were, when it would conflict ([`MergeError::Conflicts`] lists the paths) or the
    /// task's worktree has uncommitted changes. If the epic branch is checked out somewhere,
    /// see [`WorktreeManager::merge_branches`].
    pub fn merge_task(&self, task: &TaskId, epic: &EpicId) -> Result<MergeOutcome, MergeError> {
        let _lock = self.lock()?;
        if let Ok((_, wt)) = self.open_worktree(task) {
            let files = changed_paths(&wt, &self.copied_files(task))?;
            if !files.is_empty() {
                return Err(MergeError::SourceDirty {
                    task: task.clone(),
                    files,
                });
            }
        }
        let repo = self.repo()?;
        let source = self.naming.task_branch(task);
        let oid = branch_tip(&repo, &source)?;
        self.merge_into(&repo, &source, oid, &self.naming.epic_branch(epic))
    }

    /// Merges the epic's branch into the base branch, like [`WorktreeManager::merge_task`].
    /// The base branch is usually checked out in the main worktree: see
    /// [`WorktreeManager::merge_branches`] for how that is handled.
    pub fn merge_epic(&self, epic: &EpicId) -> Result<MergeOutcome, MergeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        let source = self.naming.epic_branch(epic);
        let oid = branch_tip(&repo, &source)?;
        let target = self.base_branch_in(&repo)?;
        self.merge_into(&repo, &source, oid, &target)
    }

    /// Merges `source` (task id, epic id, branch or revision, as in
    /// [`WorktreeManager::predict_conflicts`]) into the local branch `target`.
    ///
    /// When `target` is not checked out anywhere, only the branch moves (fast-forward or a
    /// new merge commit); no file is touched. When it is checked out (typically the base
    /// branch in the main worktree), the merge goes ahead only if that checkout has no
    /// uncommitted changes to tracked files; the new tree is then checked out safely
    /// (libgit2's safe mode, which checks every path before writing any, so untracked files
    /// in the way also refuse the merge) before the branch moves. A refused merge changes nothing.
    pub fn merge_branches(&self, source: &str, target: &str) -> Result<MergeOutcome, MergeError> {
        let _lock = self.lock()?;
        let repo = self.repo()?;
        let (name, oid) = self.resolve_name(&repo, source)?;
        self.merge_into(&repo, &name, oid, target)
    }

    pub(crate) fn merge_into(
        &self,
        repo: &Repository,
        source: &str,
        source_oid: Oid,
        target: &str,
    ) -> Result<MergeOutcome, MergeError> {
        let target_ref = format!("refs/heads/{target}");
        let target_oid = branch_tip(repo, target)?;
        let analysis = analyze(repo, target_oid, source_oid)?;
        let outcome = |kind, new: Oid, updated_checkout| MergeOutcome {
            source: source.to_owned(),
            target: target.to_owned(),
            kind,
            old_target_sha: target_oid.to_string(),
            new_target_sha: new.to_string(),
            updated_checkout,
        };
        let new = match analysis {
            Analysis::UpToDate => return Ok(outcome(MergeKind::UpToDate, target_oid, None)),
            Analysis::FastForward => source_oid,
            Analysis::Unrelated => {
                return Err(MergeError::Unrelated {
                    source_branch: source.to_owned(),
                    target: target.to_owned(),
                });
            }
            Analysis::Merge(mut index) => {
                let conflicts = conflicts(&index)?;
                if !conflicts.is_empty() {
                    return Err(MergeError::Conflicts {
                        source_branch: source.to_owned(),
                        target: target.to_owned(),
                        paths: conflicts.into_iter().map(|c| c.path).collect(),
                    });
                }
                let tree_id = index
                    .write_tree_to(repo)
                    .map_err(git("write the merged tree"))?;
                let tree = repo
                    .find_tree(tree_id)
                    .map_err(git("read the merged tree"))?;
                let ours = repo
                    .find_commit(target_oid)
                    .map_err(git("read the target"))?;
                let theirs = repo
                    .find_commit(source_oid)
                    .map_err(git("read the source"))?;
                let sig = self.signature(repo)?;
                let message = format!("Merge {source} into {target}");
                repo.commit(None, &sig, &sig, &message, &tree, &[&ours, &theirs])
                    .map_err(git("write the merge commit"))?
            }
        };
        let kind = if new == source_oid {
            MergeKind::FastForward
        } else {
            MergeKind::MergeCommit
        };
        let log = format!("orch: merge {source} into {target}");

        let Some(checkout) = self.checked_out_at(repo, &target_ref) else {
            move_branch(repo, &target_ref, new, target_oid, &log)?;
            return Ok(outcome(kind, new, None));
        };
        if !checkout.join(".git").exists() {
            return Err(MergeError::CheckoutMissing {
                branch: target.to_owned(),
                path: checkout,
            });
        }
        let wt = Repository::open(&checkout).map_err(git("open the target's checkout"))?;
        if wt.state() != git2::RepositoryState::Clean {
            return Err(MergeError::CheckoutBusy {
                branch: target.to_owned(),
                path: checkout,
                operation: format!("{:?}", wt.state()).to_lowercase(),
            });
        }
        let dirty = tracked_changes(&wt)?;
        if !dirty.is_empty() {
            return Err(MergeError::CheckoutDirty {
                branch: target.to_owned(),
                path: checkout,
                files: dirty,
            });
        }
        let new_tree = wt
            .find_commit(new)
            .and_then(|c| c.tree())
            .map_err(git("read the merged tree"))?;
        // The intent first: a process killed while the files are written leaves it, and
        // the next `finish_interrupted_merge` completes the update instead of leaving a
        // half-updated checkout.
        let intent = MergeIntent {
            branch: target_ref.clone(),
            old: target_oid.to_string(),
            new: new.to_string(),
            checkout: checkout.clone(),
        };
        intent.write(&self.common_dir)?;
        let in_the_way = safe_checkout(&wt, &new_tree)?;
        if !in_the_way.is_empty() {
            MergeIntent::clear(&self.common_dir);
            return Err(MergeError::CheckoutDirty {
                branch: target.to_owned(),
                path: checkout,
                files: in_the_way,
            });
        }
        orch_core::fault::point("epic-merge-before-ref");
        let moved = move_branch(repo, &target_ref, new, target_oid, &log);
        MergeIntent::clear(&self.common_dir);
        if let Err(e) = moved {
            // Put the files back as they were; the branch did not move.
            if let Ok(old_tree) = wt.find_commit(target_oid).and_then(|c| c.tree()) {
                let mut undo = git2::build::CheckoutBuilder::new();
                undo.force();
                let _ = wt.checkout_tree(old_tree.as_object(), Some(&mut undo));
            }
            return Err(e);
        }
        Ok(outcome(kind, new, Some(checkout)))
    }
}

/// A merge into a checked-out branch in progress: written before the files change,
/// removed once the branch moved.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct MergeIntent {
    branch: String,
    old: String,
    new: String,
    checkout: PathBuf,
}

const INTENT_FILE: &str = "orch-merge-intent.json";

impl MergeIntent {
    fn write(&self, common_dir: &Path) -> Result<(), WorktreeError> {
        let json = serde_json::to_vec(self).expect("an intent serializes");
        crate::manager::write_atomic(&common_dir.join(INTENT_FILE), &json)
    }

    fn read(common_dir: &Path) -> Option<MergeIntent> {
        serde_json::from_slice(&std::fs::read(common_dir.join(INTENT_FILE)).ok()?).ok()
    }

    fn clear(common_dir: &Path) {
        let _ = std::fs::remove_file(common_dir.join(INTENT_FILE));
    }
}

impl WorktreeManager {
    /// Finishes a merge into a checked-out branch that was interrupted (the process died
    /// while writing the checkout's files): the rest of the files are written and the
    /// branch moves, so the checkout is never left half-updated. `Ok(None)` when there was
    /// none; `Ok(Some(what))` when one was finished or found already done.
    pub fn finish_interrupted_merge(&self) -> Result<Option<String>, MergeError> {
        let _lock = self.lock()?;
        let Some(intent) = MergeIntent::read(&self.common_dir) else {
            return Ok(None);
        };
        let repo = self.repo()?;
        let (old, new) = (parse_oid(&intent.old)?, parse_oid(&intent.new)?);
        let now = repo.refname_to_id(&intent.branch).ok();
        if now == Some(new) {
            MergeIntent::clear(&self.common_dir);
            return Ok(Some(format!(
                "{} had already moved to {}",
                intent.branch,
                &intent.new[..10]
            )));
        }
        if now != Some(old) {
            MergeIntent::clear(&self.common_dir);
            return Ok(Some(format!(
                "{} moved elsewhere since; the interrupted merge was dropped",
                intent.branch
            )));
        }
        let wt = Repository::open(&intent.checkout).map_err(git("open the target's checkout"))?;
        let old_tree = repo
            .find_commit(old)
            .and_then(|c| c.tree())
            .map_err(git("read a tree"))?;
        let new_tree = repo
            .find_commit(new)
            .and_then(|c| c.tree())
            .map_err(git("read a tree"))?;
        // Only the paths the merge changes are written (the ones the safe checkout had
        // checked were free); everything else in the checkout is left alone.
        let diff = repo
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
            .map_err(git("compare trees"))?;
        let mut how = git2::build::CheckoutBuilder::new();
        how.force();
        let mut any = false;
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path() {
                    how.path(path);
                    any = true;
                }
            }
        }
        if any {
            let target = wt.find_tree(new_tree.id()).map_err(git("read a tree"))?;
            wt.checkout_tree(target.as_object(), Some(&mut how))
                .map_err(git("finish updating the checkout"))?;
        }
        move_branch(
            &repo,
            &intent.branch,
            new,
            old,
            "orch: finish an interrupted merge",
        )?;
        MergeIntent::clear(&self.common_dir);
        Ok(Some(format!(
            "finished the interrupted merge into {} ({})",
            intent.branch.trim_start_matches("refs/heads/"),
            &intent.new[..10]
        )))
    }
}

enum Analysis {
    UpToDate,
    FastForward,
    Unrelated,
    Merge(git2::Index),
}

fn analyze(repo: &Repository, ours: Oid, theirs: Oid) -> Result<Analysis, WorktreeError> {
    if ours == theirs
        || repo
            .graph_descendant_of(ours, theirs)
            .map_err(git("compare histories"))?
    {
        return Ok(Analysis::UpToDate);
    }
    if repo
        .graph_descendant_of(theirs, ours)
        .map_err(git("compare histories"))?
    {
        return Ok(Analysis::FastForward);
    }
    match repo.merge_base(ours, theirs) {
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Analysis::Unrelated),
        Err(e) => return Err(git("find the merge base")(e)),
        Ok(_) => {}
    }
    let ours = repo.find_commit(ours).map_err(git("read a commit"))?;
    let theirs = repo.find_commit(theirs).map_err(git("read a commit"))?;
    let index = repo
        .merge_commits(&ours, &theirs, Some(&git2::MergeOptions::new()))
        .map_err(git("merge in memory"))?;
    Ok(Analysis::Merge(index))
}

fn predict(
    repo: &Repository,
    ours: String,
    ours_oid: Oid,
    theirs: String,
    theirs_oid: Oid,
) -> Result<ConflictReport, MergeError> {
    let merge_base = repo
        .merge_base(ours_oid, theirs_oid)
        .ok()
        .map(|b| b.to_string());
    let (kind, conflicts) = match analyze(repo, ours_oid, theirs_oid)? {
        Analysis::UpToDate => (MergeKind::UpToDate, Vec::new()),
        Analysis::FastForward => (MergeKind::FastForward, Vec::new()),
        Analysis::Merge(index) => (MergeKind::MergeCommit, conflicts(&index)?),
        Analysis::Unrelated => {
            // Like `git merge --allow-unrelated-histories`: both sides as additions.
            let o = repo.find_commit(ours_oid).map_err(git("read a commit"))?;
            let t = repo.find_commit(theirs_oid).map_err(git("read a commit"))?;
            let index = repo
                .merge_commits(&o, &t, Some(&git2::MergeOptions::new()))
                .map_err(git("merge in memory"))?;
            (MergeKind::MergeCommit, conflicts(&index)?)
        }
    };
    Ok(ConflictReport {
        ours,
        theirs,
        ours_sha: ours_oid.to_string(),
        theirs_sha: theirs_oid.to_string(),
        merge_base,
        kind,
        conflicts,
    })
}

fn conflicts(index: &git2::Index) -> Result<Vec<Conflict>, WorktreeError> {
    if !index.has_conflicts() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for c in index.conflicts().map_err(git("read conflicts"))? {
        let c = c.map_err(git("read conflicts"))?;
        let kind = match (&c.ancestor, &c.our, &c.their) {
            (None, _, _) => ConflictKind::BothAdded,
            (Some(_), None, _) => ConflictKind::DeletedByUs,
            (Some(_), _, None) => ConflictKind::DeletedByThem,
            (Some(_), Some(_), Some(_)) => ConflictKind::BothModified,
        };
        let mut paths: Vec<&[u8]> = [&c.our, &c.their]
            .into_iter()
            .flatten()
            .map(|e| e.path.as_slice())
            .collect();
        if paths.is_empty()
            && let Some(a) = &c.ancestor
        {
            paths.push(&a.path);
        }
        paths.dedup();
        for p in paths {
            out.push(Conflict {
                path: String::from_utf8_lossy(p).into_owned(),
                kind,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

impl WorktreeManager {
    /// A task id, an epic id, a branch, or a revision → (display name, commit).
    fn resolve_name(&self, repo: &Repository, name: &str) -> Result<(String, Oid), WorktreeError> {
        let mut candidates = Vec::new();
        if let Ok(task) = TaskId::new(name) {
            candidates.push(self.naming.task_branch(&task));
        }
        if let Ok(epic) = EpicId::new(name) {
            candidates.push(self.naming.epic_branch(&epic));
        }
        for branch in candidates {
            if let Ok(b) = repo.find_branch(&branch, BranchType::Local)
                && let Ok(c) = b.get().peel_to_commit()
            {
                return Ok((branch, c.id()));
            }
        }
        let oid = crate::create::resolve_commit(repo, name)?;
        Ok((name.to_owned(), oid))
    }
}

/// Moves a branch from `old` to `new`, failing if someone else moved it meanwhile.
fn move_branch(
    repo: &Repository,
    refname: &str,
    new: Oid,
    old: Oid,
    log: &str,
) -> Result<(), MergeError> {
    match repo.reference_matching(refname, new, true, old, log) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::Modified | git2::ErrorCode::Locked
            ) =>
        {
            Err(MergeError::ConcurrentUpdate {
                branch: refname.trim_start_matches("refs/heads/").to_owned(),
            })
        }
        Err(e) => Err(git("move the branch")(e).into()),
    }
}

/// Staged or unstaged changes to tracked files (untracked files do not count).
fn tracked_changes(repo: &Repository) -> Result<Vec<String>, WorktreeError> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git("read the checkout status"))?;
    Ok(statuses
        .iter()
        .filter(|s| !s.status().is_empty())
        .map(|s| String::from_utf8_lossy(s.path_bytes()).into_owned())
        .collect())
}

/// Checks out `tree` in safe mode. libgit2 analyses the whole checkout before it writes
/// anything, so when something is in the way (a modified or untracked file where the new
/// tree writes) nothing changes and the paths are returned.
fn safe_checkout(repo: &Repository, tree: &git2::Tree<'_>) -> Result<Vec<String>, WorktreeError> {
    let mut in_the_way = Vec::new();
    let result = {
        let mut opts = git2::build::CheckoutBuilder::new();
        opts.safe();
        // Fault injection: die half way through writing the files.
        opts.progress(|_, done, total| {
            if total > 10 && done == total / 2 {
                orch_core::fault::point("epic-merge-checkout");
            }
        });
        opts.notify_on(git2::CheckoutNotificationType::CONFLICT);
        opts.notify(|_, path, _, _, _| {
            if let Some(p) = path {
                in_the_way.push(p.to_string_lossy().replace('\\', "/"));
            }
            true
        });
        repo.checkout_tree(tree.as_object(), Some(&mut opts))
    };
    match result {
        Ok(()) => Ok(Vec::new()),
        Err(e) if e.code() == git2::ErrorCode::Conflict && !in_the_way.is_empty() => {
            in_the_way.sort();
            Ok(in_the_way)
        }
        Err(e) => Err(git("update the checkout")(e)),
    }
}
