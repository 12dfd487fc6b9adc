//! The diff a reviewer reads: what a task's verified commit changes against the commit its
//! work started from, file by file, as unified diffs. Built with libgit2 (no external diff
//! drivers or text conversions from the repository's configuration run) and bounded: a
//! huge or binary change is summarised, never loaded whole.

use git2::{DiffOptions, Patch};
use serde::Serialize;

use crate::create::resolve_commit;
use crate::error::{WorktreeError, git};
use crate::manager::WorktreeManager;

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilePatch {
    /// The path after the change (before it, for a deletion), `/`-separated.
    pub path: String,
    /// `added`, `deleted`, `modified`, `renamed` or `typechange`.
    pub status: String,
    /// Lines added.
    pub additions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// A binary file (no text diff).
    pub binary: bool,
    /// The unified diff of this file (`diff --git …` header included), cut at the byte
    /// budget when [`TreePatch::truncated`].
    pub patch: String,
}

/// Every file's change between two commits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TreePatch {
    /// Files in path order.
    pub files: Vec<FilePatch>,
    /// Lines added in all files.
    pub additions: usize,
    /// Lines removed in all files.
    pub deletions: usize,
    /// The diff text was cut at the byte budget (the counts are still complete).
    pub truncated: bool,
}

impl TreePatch {
    /// `3 files changed, 40 insertions(+), 2 deletions(-)` and one line per file.
    pub fn stat(&self) -> String {
        let width = self
            .files
            .iter()
            .map(|f| f.path.len())
            .max()
            .unwrap_or(0)
            .min(60);
        let mut out = String::new();
        for f in &self.files {
            let change = if f.binary {
                "binary".to_owned()
            } else {
                format!("+{} -{}", f.additions, f.deletions)
            };
            out.push_str(&format!(" {:<width$}  {change}  ({})\n", f.path, f.status));
        }
        out.push_str(&format!(
            " {} file{} changed, {} insertion{}(+), {} deletion{}(-)\n",
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            self.additions,
            if self.additions == 1 { "" } else { "s" },
            self.deletions,
            if self.deletions == 1 { "" } else { "s" },
        ));
        out
    }

    /// The whole unified diff.
    pub fn text(&self) -> String {
        self.files.iter().map(|f| f.patch.as_str()).collect()
    }
}

impl WorktreeManager {
    /// What `head` changes against `base` (commits or revisions of the main repository),
    /// with at most `max_bytes` of diff text in all.
    pub fn patch_between(
        &self,
        base: &str,
        head: &str,
        max_bytes: usize,
    ) -> Result<TreePatch, WorktreeError> {
        let repo = self.repo()?;
        let tree = |rev: &str| -> Result<git2::Tree<'_>, WorktreeError> {
            let oid = resolve_commit(&repo, rev)?;
            repo.find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(git("read a commit"))
        };
        let (old, new) = (tree(base)?, tree(head)?);
        let mut options = DiffOptions::new();
        options.context_lines(3).include_typechange(true);
        let diff = repo
            .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))
            .map_err(git("diff two commits"))?;
        let mut out = TreePatch::default();
        let mut budget = max_bytes;
        for index in 0..diff.deltas().len() {
            let Some(delta) = diff.get_delta(index) else {
                continue;
            };
            let path = delta
                .new_file()
                .path()
                .or_else(|| delta.old_file().path())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let status = match delta.status() {
                git2::Delta::Added => "added",
                git2::Delta::Deleted => "deleted",
                git2::Delta::Renamed => "renamed",
                git2::Delta::Typechange => "typechange",
                _ => "modified",
            }
            .to_owned();
            let patch = Patch::from_diff(&diff, index).map_err(git("diff a file"))?;
            let binary = delta.flags().is_binary() || patch.is_none();
            let (mut additions, mut deletions, mut text) = (0, 0, String::new());
            if let Some(mut patch) = patch {
                let (_, added, removed) = patch.line_stats().map_err(git("count lines"))?;
                additions = added;
                deletions = removed;
                if budget > 0 {
                    let buf = patch.to_buf().map_err(git("print a diff"))?;
                    let full = String::from_utf8_lossy(&buf);
                    if full.len() > budget {
                        let cut = floor_char_boundary(&full, budget);
                        text = format!("{}\n… diff cut here (too long)\n", &full[..cut]);
                        out.truncated = true;
                        budget = 0;
                    } else {
                        budget -= full.len();
                        text = full.into_owned();
                    }
                } else {
                    out.truncated = true;
                }
            }
            out.additions += additions;
            out.deletions += deletions;
            out.files.push(FilePatch {
                path,
                status,
                additions,
                deletions,
                binary,
                patch: text,
            });
        }
        Ok(out)
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}
