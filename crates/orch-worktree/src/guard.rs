//! [`RepoGuard`]: what a program working in a task worktree must never change in the main
//! repository, checked after the fact: its refs (but the task branches of the guard's
//! [`Naming`], which the caller manages, and remote-tracking refs), the main checkout's
//! HEAD, its hooks, its git config (but the per-branch records of task and epic branches)
//! and attribute filters, and any files the caller names (orch's `orch.toml`). The guard keeps the state it was made with and
//! follows the caller's own changes ([`RepoGuard::accept_refs`] after every ref the caller
//! moves), so any other difference is someone else's doing.
//!
//! Where those programs cannot write the repository at all (a sandbox), a difference is the
//! user's: construct the guard as `trusted` and it is taken as the new normal. Otherwise a
//! difference is a violation with its evidence, and it is put back: refs where they were
//! (what they pointed at kept under `refs/orch/quarantine/`, the main checkout's files
//! following its branch), a planted hook moved to a quarantine directory, the config and
//! watched files as they were (the changed version kept in the quarantine).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use git2::Repository;

use crate::error::GitError;
use crate::manager::WorktreeManager;
use crate::naming::Naming;

fn ignored_ref(naming: &Naming, name: &str) -> bool {
    name.strip_prefix("refs/heads/")
        .is_some_and(|b| naming.is_task_branch(b))
        || name.starts_with("refs/remotes/")
        || name.starts_with("refs/orch/")
}

/// One thing found changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What changed, with the evidence (old and new values).
    pub what: String,
    /// What was done about it, if anything.
    pub repaired: Option<String>,
}

#[derive(Debug, Clone)]
struct Snapshot {
    refs: BTreeMap<String, String>,
    head: String,
    hooks: BTreeMap<String, Vec<u8>>,
    config: String,
    /// The config file as it was, comments included, to put back exactly.
    raw_config: String,
    attributes: Option<Vec<u8>>,
}

/// Watches a repository for changes nobody but its owner may make. See the module
/// documentation.
#[derive(Debug)]
pub struct RepoGuard {
    common_dir: PathBuf,
    naming: Naming,
    watched: Vec<PathBuf>,
    quarantine: PathBuf,
    /// The workers cannot write the repository (a sandbox): a change is the user's.
    trusted: bool,
    state: Mutex<(Snapshot, Vec<Option<Vec<u8>>>)>,
}

impl WorktreeManager {
    /// A [`RepoGuard`] on this repository that leaves the manager's task branches (and the
    /// records of its task and epic branches) to it: see [`RepoGuard::new`].
    pub fn repo_guard(
        &self,
        watched: Vec<PathBuf>,
        quarantine: PathBuf,
        trusted: bool,
    ) -> Result<RepoGuard, crate::WorktreeError> {
        RepoGuard::new(&self.common_dir, &self.naming, watched, quarantine, trusted)
    }
}

impl RepoGuard {
    /// Takes the state now of the repository whose git directory is `common_dir`, and the
    /// content of each `watched` file. Task branches of `naming` (and the per-branch config
    /// records of its task and epic branches) are the owner's to change. Repairs keep what
    /// they replace in `quarantine`.
    pub fn new(
        common_dir: &Path,
        naming: &Naming,
        watched: Vec<PathBuf>,
        quarantine: PathBuf,
        trusted: bool,
    ) -> Result<RepoGuard, crate::WorktreeError> {
        let snapshot =
            snapshot(common_dir, naming).map_err(|message| crate::WorktreeError::Git {
                op: "read the repository's state",
                source: GitError::other(message),
            })?;
        let contents = watched.iter().map(|p| std::fs::read(p).ok()).collect();
        Ok(RepoGuard {
            common_dir: common_dir.to_owned(),
            naming: naming.clone(),
            watched,
            quarantine,
            trusted,
            state: Mutex::new((snapshot, contents)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Snapshot, Vec<Option<Vec<u8>>>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts the current value of refs the owner just moved itself (branch names or full
    /// ref names). Call it while no one else's change can land in between (orch: under its
    /// merge queue).
    pub fn accept_refs(&self, names: &[String]) {
        let Ok(repo) = Repository::open(&self.common_dir) else {
            return;
        };
        let mut state = self.lock();
        for name in names {
            let full = if name.starts_with("refs/") {
                name.clone()
            } else {
                format!("refs/heads/{name}")
            };
            match repo.refname_to_id(&full) {
                Ok(oid) => state.0.refs.insert(full, oid.to_string()),
                Err(_) => state.0.refs.remove(&full),
            };
        }
        if let Ok(head) = read_head(&repo) {
            state.0.head = head;
        }
    }

    /// Compares with the expected state, repairs what the owner owns, and returns what
    /// changed (nothing when `trusted`: changes are taken as the new state).
    pub fn check(&self) -> Vec<Violation> {
        let now = match snapshot(&self.common_dir, &self.naming) {
            Ok(s) => s,
            Err(e) => {
                return vec![Violation {
                    what: format!("the repository could not be read: {e}"),
                    repaired: None,
                }];
            }
        };
        let mut state = self.lock();
        if self.trusted {
            // Nothing here can be a worker's: the repository is read-only to them. The user
            // changed it; take it as the new normal.
            state.0 = now;
            let contents = self.watched.iter().map(|p| std::fs::read(p).ok()).collect();
            state.1 = contents;
            return Vec::new();
        }
        let mut out = Vec::new();
        let before = &state.0;
        let repo = Repository::open(&self.common_dir).ok();
        for (name, old) in &before.refs {
            match now.refs.get(name) {
                Some(new) if new == old => {}
                moved => {
                    let what = match moved {
                        Some(new) => format!("{name} moved from {} to {}", short(old), short(new)),
                        None => format!("{name} (at {}) was deleted", short(old)),
                    };
                    let repaired = repo.as_ref().and_then(|r| {
                        self.put_back_ref(r, name, Some(old), moved.map(String::as_str))
                    });
                    out.push(Violation { what, repaired });
                }
            }
        }
        for (name, new) in &now.refs {
            if !before.refs.contains_key(name) {
                let repaired = repo
                    .as_ref()
                    .and_then(|r| self.put_back_ref(r, name, None, Some(new)));
                out.push(Violation {
                    what: format!("{name} was created at {}", short(new)),
                    repaired,
                });
            }
        }
        if now.head != before.head {
            out.push(Violation {
                what: format!(
                    "the main checkout's HEAD changed from {} to {}",
                    before.head, now.head
                ),
                repaired: None,
            });
        }
        for (name, content) in &now.hooks {
            if before.hooks.get(name) != Some(content) {
                let repaired = self.quarantine_hook(name);
                out.push(Violation {
                    what: format!("git hook `{name}` was added or changed"),
                    repaired,
                });
            }
        }
        for name in before.hooks.keys() {
            if !now.hooks.contains_key(name) {
                out.push(Violation {
                    what: format!("git hook `{name}` was removed"),
                    repaired: None,
                });
            }
        }
        if now.config != before.config {
            let repaired = self.restore_config(&before.raw_config);
            out.push(Violation {
                what: format!(
                    "the repository's git config changed: {}",
                    config_difference(&before.config, &now.config)
                ),
                repaired,
            });
        }
        if now.attributes != before.attributes {
            out.push(Violation {
                what:
                    "the repository's info/attributes changed (filters run on checkout and commit)"
                        .into(),
                repaired: None,
            });
        }
        for i in 0..self.watched.len() {
            let path = self.watched[i].clone();
            let content = std::fs::read(&path).ok();
            if content == state.1[i] {
                continue;
            }
            let repaired = self.restore_file(&path, state.1[i].as_deref(), content.as_deref());
            out.push(Violation {
                what: format!("{} was changed", path.display()),
                repaired,
            });
        }
        out
    }

    /// Puts ref `name` back at `old` (or deletes it when it did not exist); what it pointed
    /// at is kept under `refs/orch/quarantine/…` so nothing is lost. When the ref is the
    /// branch checked out in the main worktree, the files follow (a safe checkout: files
    /// someone changed since are left alone and reported).
    fn put_back_ref(
        &self,
        repo: &Repository,
        name: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Option<String> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let mut kept = None;
        if let Some(new) = new.and_then(|n| git2::Oid::from_str(n).ok()) {
            let slug: String = name
                .trim_start_matches("refs/")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let quarantine = format!("refs/orch/quarantine/{slug}-{stamp}");
            if repo
                .reference(&quarantine, new, true, "orch: kept after tampering")
                .is_ok()
            {
                kept = Some(quarantine);
            }
        }
        let checked_out = repo
            .find_reference("HEAD")
            .ok()
            .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned))
            .is_some_and(|head| head == name);
        // The main checkout's files first, while its HEAD is still the other commit: a
        // safe checkout then updates exactly the files that match it (what someone changed
        // since is left alone).
        let files_restored = match (checked_out, old, repo.workdir()) {
            (true, Some(old), Some(workdir)) => Some(
                Repository::open(workdir)
                    .ok()
                    .and_then(|wt| {
                        let tree = wt
                            .find_commit(git2::Oid::from_str(old).ok()?)
                            .ok()?
                            .tree()
                            .ok()?;
                        let mut how = git2::build::CheckoutBuilder::new();
                        how.safe();
                        wt.checkout_tree(tree.as_object(), Some(&mut how)).ok()
                    })
                    .is_some(),
            ),
            _ => None,
        };
        let mut done = match old.and_then(|o| git2::Oid::from_str(o).ok()) {
            Some(old) => {
                repo.reference(name, old, true, "orch: put back after tampering")
                    .ok()?;
                format!("put back at {}", short(&old.to_string()))
            }
            None => {
                repo.find_reference(name)
                    .and_then(|mut r| r.delete())
                    .ok()?;
                "deleted".to_owned()
            }
        };
        match files_restored {
            Some(true) => done.push_str(", with the main checkout's files"),
            Some(false) => {
                done.push_str("; the main checkout still holds the other files (`git status`)")
            }
            None => {}
        }
        if let Some(kept) = kept {
            done.push_str(&format!("; the other commit is kept as {kept}"));
        }
        Some(done)
    }

    fn quarantine_hook(&self, name: &str) -> Option<String> {
        let from = self.common_dir.join("hooks").join(name);
        std::fs::create_dir_all(&self.quarantine).ok()?;
        let to = self.quarantine.join(format!(
            "hook-{name}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
        ));
        std::fs::rename(&from, &to).ok()?;
        Some(format!("moved to {}", to.display()))
    }

    fn restore_config(&self, original: &str) -> Option<String> {
        // Put the config back as it was, keeping the owner's branch records written since.
        let path = self.common_dir.join("config");
        let current = std::fs::read_to_string(&path).ok()?;
        let without_owned: String = {
            let mut out = String::new();
            let mut inside = false;
            for line in original.lines() {
                let t = line.trim();
                if t.starts_with('[') {
                    inside = owned_section(&self.naming, t);
                }
                if !inside {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out
        };
        let text = format!(
            "{without_owned}{}",
            owned_branch_sections(&self.naming, &current)
        );
        let tmp = path.with_extension("orch-restore");
        std::fs::write(&tmp, text).ok()?;
        std::fs::rename(&tmp, &path).ok()?;
        Some("restored".into())
    }

    fn restore_file(
        &self,
        path: &Path,
        before: Option<&[u8]>,
        now: Option<&[u8]>,
    ) -> Option<String> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let name = path.file_name()?.to_string_lossy().into_owned();
        if let Some(now) = now {
            std::fs::create_dir_all(&self.quarantine).ok()?;
            let _ = std::fs::write(self.quarantine.join(format!("{name}-{stamp}")), now);
        }
        match before {
            Some(bytes) => std::fs::write(path, bytes).ok()?,
            None => std::fs::remove_file(path).ok()?,
        }
        Some(format!(
            "put back; the changed file is kept in {}",
            self.quarantine.display()
        ))
    }
}

fn snapshot(common_dir: &Path, naming: &Naming) -> Result<Snapshot, String> {
    let repo = Repository::open(common_dir).map_err(|e| e.to_string())?;
    let mut refs = BTreeMap::new();
    for reference in repo.references().map_err(|e| e.to_string())?.flatten() {
        let Ok(name) = reference.name() else {
            continue;
        };
        if ignored_ref(naming, name) {
            continue;
        }
        let target = reference
            .resolve()
            .ok()
            .and_then(|r| r.target())
            .map(|o| o.to_string())
            .unwrap_or_default();
        refs.insert(name.to_owned(), target);
    }
    let mut hooks = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(common_dir.join("hooks")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                hooks.insert(
                    entry.file_name().to_string_lossy().into_owned(),
                    std::fs::read(&path).unwrap_or_default(),
                );
            }
        }
    }
    let raw = std::fs::read_to_string(common_dir.join("config")).unwrap_or_default();
    Ok(Snapshot {
        refs,
        head: read_head(&repo).unwrap_or_default(),
        hooks,
        config: normalize_config(naming, &raw),
        raw_config: raw,
        attributes: std::fs::read(common_dir.join("info/attributes")).ok(),
    })
}

fn read_head(repo: &Repository) -> Result<String, git2::Error> {
    let head = repo.find_reference("HEAD")?;
    Ok(head
        .symbolic_target()
        .ok()
        .flatten()
        .map(str::to_owned)
        .or_else(|| head.target().map(|o| o.to_string()))
        .unwrap_or_default())
}

/// Whether a config section header (`[branch "…"]`) is the record of a task or epic
/// branch of `naming`, which the owner writes.
fn owned_section(naming: &Naming, header: &str) -> bool {
    header
        .strip_prefix("[branch \"")
        .is_some_and(|b| naming.is_task_branch(b) || naming.is_epic_branch(b))
}

/// The config without the owner's branch records (`[branch "<task or epic prefix>…"]`),
/// whitespace and comments.
fn normalize_config(naming: &Naming, text: &str) -> String {
    let mut out = String::new();
    let mut owned = false;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') {
            owned = owned_section(naming, t);
        }
        if !owned {
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}

/// The owner's `[branch "<task or epic prefix>…"]` sections of a config text, verbatim.
fn owned_branch_sections(naming: &Naming, text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = owned_section(naming, t);
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn config_difference(before: &str, now: &str) -> String {
    let old: std::collections::BTreeSet<&str> = before.lines().collect();
    let added: Vec<&str> = now.lines().filter(|l| !old.contains(l)).take(5).collect();
    let new: std::collections::BTreeSet<&str> = now.lines().collect();
    let removed: Vec<&str> = before
        .lines()
        .filter(|l| !new.contains(l))
        .take(5)
        .collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(" | ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(" | ")));
    }
    parts.join("; ")
}

fn short(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_branch_records_do_not_count_as_config_changes() {
        let n = Naming::new("orch/task/", "orch/epic/").unwrap();
        let a = "[core]\n\tbare = false\n[branch \"orch/task/T\"]\n\torchbase = abc\n";
        let b = "[core]\n\tbare = false\n# note\n[branch \"orch/task/T\"]\n\torchbase = def\n[branch \"orch/task/U\"]\n\torchbase = 1\n";
        assert_eq!(normalize_config(&n, a), normalize_config(&n, b));
        let evil = "[core]\n\tbare = false\n\thooksPath = /tmp/x\n";
        assert_ne!(normalize_config(&n, a), normalize_config(&n, evil));
        assert_eq!(
            owned_branch_sections(&n, b),
            "[branch \"orch/task/T\"]\n\torchbase = def\n[branch \"orch/task/U\"]\n\torchbase = 1\n"
        );
        // Under another naming, those records are someone else's.
        let other = Naming::default();
        assert_ne!(normalize_config(&other, a), normalize_config(&other, b));
        assert_eq!(owned_branch_sections(&other, b), "");
    }
}
