//! [`WorktreeManager`]: the handle on one repository, its configuration and the shared
//! helpers of every operation (opening, locking, naming, recorded metadata, status).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use git2::{Repository, Signature, StatusOptions};
use orch_core::{RepoConfig, TaskId};
use serde::Serialize;

use crate::error::{GitError, WorktreeError, git, io};
use crate::glob::Glob;
use crate::lock::RepoLock;
use crate::naming::Naming;

/// Per-branch git configuration key holding the base commit a task branch was created from
/// (`branch.<task branch>.orchbase`). Git removes it with the branch.
pub(crate) const BASE_KEY: &str = "orchbase";
/// Per-branch git configuration key holding the epic of a task branch.
pub(crate) const EPIC_KEY: &str = "orchepic";
/// Content of the admin directory's `locked` file while a worktree is being created (git
/// uses the same marker). Seen while holding the repository lock, it means a creation was
/// interrupted.
pub(crate) const CREATING: &str = "initializing";
/// File in a worktree's admin directory listing the untracked files copied into it.
pub(crate) const COPIED_FILE: &str = "orch-copied";

/// Who commits: used for [`WorktreeManager::commit_pending`] and merge commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl Author {
    /// An author with this name and e-mail address.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Author {
        Author {
            name: name.into(),
            email: email.into(),
        }
    }
}

/// Manages task worktrees and branches in one repository, named by its [`Naming`].
///
/// Cheap to clone and `Send + Sync`: every operation opens the repository afresh, and
/// operations that change worktrees or branches hold a repository-wide lock (a file in the
/// git directory locked with the OS's advisory lock), so threads and processes may share a
/// repository safely.
#[derive(Debug, Clone)]
pub struct WorktreeManager {
    pub(crate) workdir: PathBuf,
    pub(crate) common_dir: PathBuf,
    pub(crate) root: PathBuf,
    /// The `info/exclude` line for the root when it is inside the repository.
    pub(crate) root_exclude: Option<String>,
    pub(crate) copy: Vec<Glob>,
    pub(crate) base_branch: Option<String>,
    pub(crate) author: Option<Author>,
    pub(crate) lock_timeout: Duration,
    pub(crate) parallel_checkout: bool,
    pub(crate) isolate: bool,
    pub(crate) naming: Naming,
}

impl WorktreeManager {
    /// Opens the repository containing `path` (any directory inside it, or inside one of its
    /// linked worktrees) with the `[repo]` configuration: base branch, worktree root and
    /// untracked files to copy. Branches and worktrees are named by [`Naming::default`]
    /// (`wt/task/<TASK>`, `wt/epic/<EPIC>`) until [`WorktreeManager::with_naming`] says
    /// otherwise.
    ///
    /// Errors: not a repository, a bare repository, an invalid root (the repository itself,
    /// one of its ancestors, or inside `.git`), an invalid glob.
    pub fn open(
        path: impl AsRef<Path>,
        config: &RepoConfig,
    ) -> Result<WorktreeManager, WorktreeError> {
        let path = path.as_ref();
        let found = Repository::discover(path).map_err(|source| WorktreeError::NotARepository {
            path: path.to_owned(),
            source: GitError::from_git2(&source),
        })?;
        if found.is_bare() {
            return Err(WorktreeError::BareRepository {
                path: found.path().to_owned(),
            });
        }
        let common = found.commondir().to_owned();
        let main = if found.is_worktree() {
            Repository::open(&common).map_err(git("open the main repository"))?
        } else {
            found
        };
        let Some(workdir) = main.workdir().filter(|_| !main.is_bare()) else {
            return Err(WorktreeError::BareRepository { path: common });
        };
        let workdir = workdir
            .canonicalize()
            .map_err(io("resolve", workdir.to_owned()))?;
        let common_dir = common
            .canonicalize()
            .map_err(io("resolve", common.clone()))?;

        let configured = &config.worktree_root;
        let root = resolve_path(&if configured.is_absolute() {
            configured.clone()
        } else {
            workdir.join(configured)
        });
        let invalid = |reason| WorktreeError::InvalidRoot {
            root: root.clone(),
            reason,
        };
        if root == workdir {
            return Err(invalid("it is the repository's working tree itself"));
        }
        if workdir.starts_with(&root) {
            return Err(invalid("it contains the repository"));
        }
        if root.starts_with(&common_dir) {
            return Err(invalid("it is inside the git directory"));
        }
        let root_exclude = root
            .strip_prefix(&workdir)
            .ok()
            .map(|rel| format!("/{}/", escape_exclude(rel)));

        let copy = config
            .copy_untracked
            .iter()
            .map(|p| Glob::new(p))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(WorktreeManager {
            workdir,
            common_dir,
            root,
            root_exclude,
            copy,
            base_branch: config.base_branch.clone(),
            author: None,
            lock_timeout: Duration::from_secs(60),
            parallel_checkout: true,
            isolate: false,
            naming: Naming::default(),
        })
    }

    /// Names task branches, epic branches and worktree directories by `naming` instead of
    /// [`Naming::default`]. Every operation (create, list, get, remove, prune, merges,
    /// conflict prediction, [`WorktreeManager::repo_guard`]) uses it: worktrees and branches
    /// of another naming are not this manager's.
    pub fn with_naming(mut self, naming: Naming) -> WorktreeManager {
        self.naming = naming;
        self
    }

    /// How branches and worktrees are named.
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// Commits made by the manager (pending work, merge commits) use this author and
    /// committer instead of the repository's `user.name` / `user.email` (or `orch
    /// <orch@localhost>` when those are not set).
    pub fn with_author(mut self, author: Author) -> WorktreeManager {
        self.author = Some(author);
        self
    }

    /// How long to wait for another thread or process changing worktrees (default 60 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> WorktreeManager {
        self.lock_timeout = timeout;
        self
    }

    /// Whether new worktrees are checked out by orch's parallel writer (the default) or by
    /// libgit2's own checkout. The parallel writer is used only when no checkout filter can
    /// apply (no `.gitattributes`, no `core.autocrlf=true`, …); otherwise libgit2's checkout
    /// is used anyway.
    pub fn with_parallel_checkout(mut self, enabled: bool) -> WorktreeManager {
        self.parallel_checkout = enabled;
        self
    }

    /// Whether new worktrees get a private repository as their `.git` (see the crate
    /// documentation): the program working in one cannot reach this repository's refs,
    /// config, hooks or index through git. orch's engine turns it on for agents; off by
    /// default, where a worktree is an ordinary `git worktree`.
    pub fn with_isolation(mut self, isolate: bool) -> WorktreeManager {
        self.isolate = isolate;
        self
    }

    /// The main working tree of the repository.
    pub fn repo_root(&self) -> &Path {
        &self.workdir
    }

    /// The repository's git directory shared by all its worktrees (`.git`).
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// The directory holding task worktrees.
    pub fn worktree_root(&self) -> &Path {
        &self.root
    }

    /// Where the worktree of `task` lives (whether or not it exists):
    /// `<root>/<`[`Naming::worktree_name`]`>`.
    pub fn worktree_path(&self, task: &TaskId) -> PathBuf {
        self.root.join(self.naming.worktree_name(task))
    }

    /// The branch epics start from and merge into: the configured one, else the branch
    /// checked out in the main worktree.
    pub fn base_branch(&self) -> Result<String, WorktreeError> {
        let repo = self.repo()?;
        self.base_branch_in(&repo)
    }

    pub(crate) fn base_branch_in(&self, repo: &Repository) -> Result<String, WorktreeError> {
        if let Some(branch) = &self.base_branch {
            return Ok(branch.clone());
        }
        match read_head(&self.common_dir.join("HEAD")) {
            Some(Head::Branch(refname)) => Ok(refname
                .strip_prefix("refs/heads/")
                .unwrap_or(&refname)
                .to_owned()),
            Some(Head::Detached(head)) => Err(WorktreeError::DetachedHead { head }),
            None => {
                let head = repo.head().map_err(git("read HEAD"))?;
                Err(WorktreeError::DetachedHead {
                    head: head.target().map(|o| o.to_string()).unwrap_or_default(),
                })
            }
        }
    }

    pub(crate) fn repo(&self) -> Result<Repository, WorktreeError> {
        Repository::open(&self.workdir).map_err(git("open the repository"))
    }

    pub(crate) fn lock(&self) -> Result<RepoLock, WorktreeError> {
        Ok(RepoLock::acquire(&self.common_dir, self.lock_timeout)?)
    }

    pub(crate) fn admin_dir(&self, task: &TaskId) -> PathBuf {
        self.common_dir
            .join("worktrees")
            .join(self.naming.worktree_name(task))
    }

    pub(crate) fn signature(&self, repo: &Repository) -> Result<Signature<'static>, WorktreeError> {
        match &self.author {
            Some(a) => Signature::now(&a.name, &a.email).map_err(git("build the commit author")),
            None => repo
                .signature()
                .or_else(|_| Signature::now("orch", "orch@localhost"))
                .map_err(git("build the commit author")),
        }
    }

    /// Adds the root to `.git/info/exclude` when it is inside the repository (never to the
    /// user's `.gitignore`). Idempotent.
    pub(crate) fn ensure_excluded(&self) -> Result<(), WorktreeError> {
        let Some(line) = &self.root_exclude else {
            return Ok(());
        };
        let info = self.common_dir.join("info");
        let path = info.join("exclude");
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io("read", path)(e)),
        };
        if current.lines().any(|l| l.trim_end() == line) {
            return Ok(());
        }
        std::fs::create_dir_all(&info).map_err(io("create", &info))?;
        let mut text = current;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# task worktrees (orch-worktree)\n");
        text.push_str(line);
        text.push('\n');
        write_atomic(&path, text.as_bytes())
    }

    /// Creates the root if needed and checks, after resolving symbolic links, that `path`
    /// (a direct child of the root) stays inside it.
    pub(crate) fn checked_path(&self, task: &TaskId) -> Result<PathBuf, WorktreeError> {
        std::fs::create_dir_all(&self.root).map_err(io("create", &self.root))?;
        let root = self
            .root
            .canonicalize()
            .map_err(io("resolve", &self.root))?;
        let path = root.join(self.naming.worktree_name(task));
        let escaped = || WorktreeError::OutsideRoot {
            path: path.clone(),
            root: root.clone(),
        };
        if path.parent() != Some(root.as_path()) {
            return Err(escaped());
        }
        if let Ok(meta) = std::fs::symlink_metadata(&path)
            && meta.file_type().is_symlink()
        {
            let target = path.canonicalize().unwrap_or_default();
            if target.parent() != Some(root.as_path()) {
                return Err(escaped());
            }
            return Err(WorktreeError::PathOccupied { path });
        }
        Ok(path)
    }

    /// Reads a per-branch orch key (`branch.<branch>.<key>`).
    pub(crate) fn branch_meta(&self, repo: &Repository, branch: &str, key: &str) -> Option<String> {
        let config = repo.config().ok()?.snapshot().ok()?;
        config
            .get_string(&format!("branch.{branch}.{key}"))
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// Writes (or with `None` removes) a per-branch orch key in the repository's own config.
    pub(crate) fn set_branch_meta(
        &self,
        repo: &Repository,
        branch: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), WorktreeError> {
        let mut config = repo
            .config()
            .and_then(|c| c.open_level(git2::ConfigLevel::Local))
            .map_err(git("open the repository configuration"))?;
        let name = format!("branch.{branch}.{key}");
        match value {
            Some(v) => config
                .set_str(&name, v)
                .map_err(git("record branch metadata")),
            None => match config.remove(&name) {
                Err(e) if e.code() != git2::ErrorCode::NotFound => {
                    Err(git("record branch metadata")(e))
                }
                _ => Ok(()),
            },
        }
    }

    /// The untracked files orch copied into the task's worktree; they are never reported as
    /// changes nor committed.
    pub(crate) fn copied_files(&self, task: &TaskId) -> BTreeSet<String> {
        std::fs::read_to_string(self.admin_dir(task).join(COPIED_FILE))
            .map(|t| {
                t.lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where `refname` is checked out (main worktree or a linked one), if anywhere.
    pub(crate) fn checked_out_at(&self, repo: &Repository, refname: &str) -> Option<PathBuf> {
        self.checked_out_except(repo, refname, None)
    }

    /// Like [`WorktreeManager::checked_out_at`], ignoring the linked worktree `except`.
    pub(crate) fn checked_out_except(
        &self,
        repo: &Repository,
        refname: &str,
        except: Option<&str>,
    ) -> Option<PathBuf> {
        let wanted = Some(Head::Branch(refname.to_owned()));
        if read_head(&self.common_dir.join("HEAD")) == wanted {
            return Some(self.workdir.clone());
        }
        worktree_names(repo)
            .into_iter()
            .filter(|n| Some(n.as_str()) != except)
            .map(|n| self.common_dir.join("worktrees").join(n))
            .find(|admin| read_head(&admin.join("HEAD")) == wanted)
            .map(|admin| registered_path(&admin).unwrap_or(admin))
    }
}

/// Names of the linked worktrees git knows.
pub(crate) fn worktree_names(repo: &Repository) -> Vec<String> {
    repo.worktrees()
        .map(|names| {
            names
                .iter()
                .flatten()
                .flatten()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The lock state of a worktree's admin directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LockState {
    /// Not locked.
    Unlocked,
    /// Locked by a creation that never finished.
    Interrupted,
    /// Locked on purpose (`git worktree lock`), with the reason (may be empty).
    Locked(String),
}

pub(crate) fn lock_state(admin: &Path) -> LockState {
    match std::fs::read_to_string(admin.join("locked")) {
        Err(_) => LockState::Unlocked,
        Ok(reason) if reason.trim() == CREATING => LockState::Interrupted,
        Ok(reason) => LockState::Locked(reason.trim().to_owned()),
    }
}

/// What a HEAD file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Head {
    /// `ref: refs/heads/...`
    Branch(String),
    /// A commit SHA.
    Detached(String),
}

impl Head {
    pub(crate) fn describe(&self) -> String {
        match self {
            Head::Branch(r) => format!("`{}`", r.strip_prefix("refs/heads/").unwrap_or(r)),
            Head::Detached(sha) => format!("detached HEAD {sha}"),
        }
    }
}

pub(crate) fn read_head(path: &Path) -> Option<Head> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    match text.strip_prefix("ref:") {
        Some(r) => Some(Head::Branch(r.trim().to_owned())),
        None if !text.is_empty() => Some(Head::Detached(text.to_owned())),
        None => None,
    }
}

/// The worktree directory recorded in an admin directory's `gitdir` file.
pub(crate) fn registered_path(admin: &Path) -> Option<PathBuf> {
    let text = std::fs::read(admin.join("gitdir")).ok()?;
    let text = trim_line(&text);
    // Empty when a creation died before writing it: joined to the admin directory it would
    // name `.git/worktrees` itself.
    if text.is_empty() {
        return None;
    }
    let gitfile = bytes_to_path(text);
    if gitfile.file_name() != Some(std::ffi::OsStr::new(".git")) {
        return None;
    }
    let gitfile = if gitfile.is_relative() {
        admin.join(gitfile)
    } else {
        gitfile
    };
    gitfile.parent().map(resolve_path)
}

fn trim_line(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &bytes[..end]
}

#[cfg(unix)]
pub(crate) fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
pub(crate) fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(unix)]
pub(crate) fn path_to_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
pub(crate) fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().replace('\\', "/").into_bytes()
}

/// An absolute path with `.` and `..` removed and symbolic links of its longest existing
/// ancestor resolved, so paths that do not exist yet compare like canonical ones.
pub(crate) fn resolve_path(path: &Path) -> PathBuf {
    let mut lexical = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

/// A path escaped for a gitignore-style pattern.
fn escape_exclude(rel: &Path) -> String {
    let text = rel.to_string_lossy().replace('\\', "/");
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '!' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes through a temporary file and a rename, so readers never see half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WorktreeError> {
    let tmp = path.with_extension(format!("orch-tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("replace", path)(e)
    })
}

/// The changed paths of a worktree, as `git status` would list them (staged, unstaged,
/// untracked; not ignored files, not submodules), minus `hidden`.
/// Paths that differ from the worktree's HEAD (tracked changes and new files), without
/// the `hidden` ones (untracked files orch copied in) and without new build output
/// ([`crate::is_build_output`]).
pub(crate) fn changed_paths(
    repo: &Repository,
    hidden: &BTreeSet<String>,
) -> Result<Vec<String>, WorktreeError> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git("read the worktree status"))?;
    let mut out: Vec<String> = statuses
        .iter()
        .filter(|s| !s.status().is_empty() && !s.status().contains(git2::Status::IGNORED))
        .filter(|s| {
            let new = s.status() == git2::Status::WT_NEW;
            let path = String::from_utf8_lossy(s.path_bytes());
            !(new
                && repo
                    .workdir()
                    .is_some_and(|w| crate::isolate::is_build_output(w, &path)))
        })
        .map(|s| String::from_utf8_lossy(s.path_bytes()).into_owned())
        .filter(|p| !hidden.contains(p))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<WorktreeManager>();
    }

    #[test]
    fn exclude_escaping() {
        assert_eq!(escape_exclude(Path::new(".worktrees")), ".worktrees");
        assert_eq!(escape_exclude(Path::new("a b/#x[1]")), "a b/\\#x\\[1\\]");
    }

    #[test]
    fn resolves_missing_paths_lexically() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let p = resolve_path(&base.join("a/./b/../c"));
        assert_eq!(p, base.join("a/c"));
    }

    #[test]
    fn head_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("HEAD");
        std::fs::write(&p, "ref: refs/heads/main\n").unwrap();
        assert_eq!(read_head(&p), Some(Head::Branch("refs/heads/main".into())));
        std::fs::write(&p, "0123abcd\n").unwrap();
        assert_eq!(read_head(&p), Some(Head::Detached("0123abcd".into())));
        assert_eq!(read_head(&dir.path().join("nope")), None);
    }
}
