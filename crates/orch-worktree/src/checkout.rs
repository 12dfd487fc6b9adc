//! Registering a linked worktree and checking it out.
//!
//! The registration writes the same files `git worktree add` writes (`.git/worktrees/<name>/`
//! with `HEAD`, `commondir`, `gitdir`, and the worktree's `.git` file), holding a `locked`
//! marker while it works so a concurrent `git worktree prune` leaves it alone.
//!
//! The checkout is where the time goes on a large tree. libgit2's checkout is
//! single-threaded and does work a brand-new worktree does not need (a diff against an empty
//! directory, per-file attribute lookups for filters that are not configured). When no
//! checkout filter can apply, orch writes the files itself with one thread per core (each with
//! its own object database handle), then builds the index from the written files' stat data,
//! so `git status` in the new worktree is instant and clean. When a filter might apply
//! (`.gitattributes` anywhere in the tree, `info/attributes`, a global attributes file,
//! `core.autocrlf=true`, …) or a path is unusual, libgit2's checkout is used instead.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Tree};

use crate::error::{WorktreeError, git, io};
use crate::manager::{CREATING, bytes_to_path, path_to_bytes};

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckoutStats {
    /// Files (and symbolic links) written.
    pub files: usize,
    /// Whether orch's parallel writer was used (else libgit2's checkout).
    pub parallel: bool,
}

/// Registers `path` as a linked worktree named `name` on branch `refname` (which must point
/// at `commit`) and checks it out. On error everything created is removed again.
pub(crate) fn add_worktree(
    repo: &Repository,
    common_dir: &Path,
    name: &str,
    path: &Path,
    refname: &str,
    commit: Oid,
    parallel: bool,
) -> Result<CheckoutStats, WorktreeError> {
    let admin = common_dir.join("worktrees").join(name);
    let worktrees = common_dir.join("worktrees");
    std::fs::create_dir_all(&worktrees).map_err(io("create", &worktrees))?;
    std::fs::create_dir(&admin).map_err(io("create", &admin))?;
    let result = (|| {
        write(&admin.join("locked"), format!("{CREATING}\n").as_bytes())?;
        std::fs::create_dir(path).map_err(io("create", path))?;
        let path = path.canonicalize().map_err(io("resolve", path))?;
        let mut gitfile = b"gitdir: ".to_vec();
        gitfile.extend(path_to_bytes(&admin));
        gitfile.push(b'\n');
        write(&path.join(".git"), &gitfile)?;
        write(&admin.join("commondir"), b"../..\n")?;
        let mut gitdir = path_to_bytes(&path.join(".git"));
        gitdir.push(b'\n');
        write(&admin.join("gitdir"), &gitdir)?;
        write(&admin.join("HEAD"), format!("ref: {refname}\n").as_bytes())?;

        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git("read the base commit"))?;
        let stats = match parallel.then(|| plan(repo, common_dir, &tree)).flatten() {
            Some(plan) => write_parallel(common_dir, &path, &admin, plan)?,
            None => {
                let wt = Repository::open(&path).map_err(git("open the new worktree"))?;
                let mut files = 0;
                let mut checkout = git2::build::CheckoutBuilder::new();
                checkout.progress(|_, done, _| files = done);
                wt.checkout_head(Some(&mut checkout))
                    .map_err(git("check out the new worktree"))?;
                drop(checkout);
                CheckoutStats {
                    files,
                    parallel: false,
                }
            }
        };
        std::fs::remove_file(admin.join("locked")).map_err(io("unlock", &admin))?;
        Ok(stats)
    })();
    if result.is_err() {
        if path.join(".git").is_file() {
            let _ = std::fs::remove_dir_all(path);
        }
        let _ = std::fs::remove_dir_all(&admin);
    }
    result
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), WorktreeError> {
    std::fs::write(path, bytes).map_err(io("write", path))
}

/// One thing to write.
#[derive(Debug)]
struct Item {
    rel: Vec<u8>,
    id: Oid,
    mode: u32,
}

/// The tree, flattened, when the fast path applies.
#[derive(Debug)]
struct Plan {
    dirs: Vec<Vec<u8>>,
    items: Vec<Item>,
}

const MODE_FILE: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;
const MODE_TREE: u32 = 0o040000;

/// Flattens `tree`, or `None` when libgit2's checkout must be used (filters might apply,
/// unusual paths or modes, not Unix).
fn plan(repo: &Repository, common_dir: &Path, tree: &Tree<'_>) -> Option<Plan> {
    if !cfg!(unix) || filters_may_apply(repo, common_dir) {
        return None;
    }
    let mut plan = Plan {
        dirs: Vec::new(),
        items: Vec::new(),
    };
    let mut ok = true;
    tree.walk(git2::TreeWalkMode::PreOrder, |prefix, entry| {
        let name = entry.name_bytes();
        if !safe_component(name) || name.eq_ignore_ascii_case(b".gitattributes") {
            ok = false;
            return git2::TreeWalkResult::Abort;
        }
        let mut rel = prefix.as_bytes().to_vec();
        rel.extend_from_slice(name);
        let mode = u32::try_from(entry.filemode()).unwrap_or(0);
        match mode {
            MODE_TREE => plan.dirs.push(rel),
            MODE_FILE | MODE_EXEC | MODE_LINK | MODE_GITLINK => plan.items.push(Item {
                rel,
                id: entry.id(),
                mode,
            }),
            0o100664 => plan.items.push(Item {
                rel,
                id: entry.id(),
                mode: MODE_FILE,
            }),
            _ => {
                ok = false;
                return git2::TreeWalkResult::Abort;
            }
        }
        git2::TreeWalkResult::Ok
    })
    .ok()?;
    ok.then_some(plan)
}

/// Names the fast path writes as they are. `.git` in any disguise (case, trailing dots or
/// spaces, ignorable Unicode, the NTFS short name) and separators are left to libgit2, whose
/// path protections refuse them.
fn safe_component(name: &[u8]) -> bool {
    if name.is_empty() || name == b"." || name == b".." {
        return false;
    }
    if name.iter().any(|b| matches!(b, b'/' | b'\\' | 0 | b':')) {
        return false;
    }
    let ascii: Vec<u8> = name.iter().copied().filter(u8::is_ascii).collect();
    let mut end = ascii.len();
    while end > 0 && matches!(ascii[end - 1], b'.' | b' ') {
        end -= 1;
    }
    let stem = &ascii[..end];
    !(stem.eq_ignore_ascii_case(b".git") || stem.eq_ignore_ascii_case(b"git~1"))
}

/// Whether any checkout filter (line endings, `ident`, custom drivers) or option the fast
/// path does not implement could change what lands on disk.
fn filters_may_apply(repo: &Repository, common_dir: &Path) -> bool {
    if common_dir.join("info/attributes").exists()
        || common_dir.join("info/sparse-checkout").exists()
    {
        return true;
    }
    let Ok(config) = repo.config().and_then(|mut c| c.snapshot()) else {
        return true;
    };
    let is_true = |key| config.get_bool(key).unwrap_or(false);
    let is_false = |key| config.get_bool(key).map(|b| !b).unwrap_or(false);
    if is_true("core.autocrlf")
        || is_true("core.sparseCheckout")
        || is_true("core.ignorecase")
        || is_true("core.precomposeUnicode")
        || is_false("core.symlinks")
        || config.get_string("core.attributesFile").is_ok()
    {
        return true;
    }
    let mut global = Vec::new();
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        global.push(PathBuf::from(xdg).join("git/attributes"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        global.push(PathBuf::from(home).join(".config/git/attributes"));
    }
    global.push(PathBuf::from("/etc/gitattributes"));
    global.iter().any(|p| p.exists())
}

#[cfg(unix)]
fn write_parallel(
    common_dir: &Path,
    root: &Path,
    admin: &Path,
    plan: Plan,
) -> Result<CheckoutStats, WorktreeError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    for dir in &plan.dirs {
        let p = root.join(bytes_to_path(dir));
        std::fs::create_dir(&p).map_err(io("create", &p))?;
    }
    for item in plan.items.iter().filter(|i| i.mode == MODE_GITLINK) {
        let p = root.join(bytes_to_path(&item.rel));
        std::fs::create_dir(&p).map_err(io("create", &p))?;
    }

    const BATCH: usize = 32;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(plan.items.len().div_ceil(BATCH * 4).max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<Vec<(usize, git2::IndexEntry)>, WorktreeError> {
        let repo = Repository::open(common_dir).map_err(git("open the object database"))?;
        let odb = repo.odb().map_err(git("open the object database"))?;
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(BATCH, Ordering::Relaxed);
            if start >= plan.items.len() || failed.load(Ordering::Relaxed) {
                return Ok(done);
            }
            for (i, item) in plan.items[start..(start + BATCH).min(plan.items.len())]
                .iter()
                .enumerate()
            {
                match write_item(&odb, root, item) {
                    Ok(entry) => done.push((start + i, entry)),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
    };
    let results: Vec<_> = if threads == 1 {
        vec![work()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(WorktreeError::Io {
                            op: "check out",
                            path: root.to_owned(),
                            source: std::io::Error::other("checkout thread panicked"),
                        })
                    })
                })
                .collect()
        })
    };
    let mut entries = Vec::with_capacity(plan.items.len());
    for r in results {
        entries.extend(r?);
    }
    entries.sort_unstable_by_key(|(i, _)| *i);

    let index_path = admin.join("index");
    let mut index = git2::Index::open(&index_path).map_err(git("create the worktree index"))?;
    for (_, entry) in &entries {
        index.add(entry).map_err(git("build the worktree index"))?;
    }
    index.write().map_err(git("write the worktree index"))?;
    Ok(CheckoutStats {
        files: entries.len(),
        parallel: true,
    })
}

#[cfg(not(unix))]
fn write_parallel(
    _common_dir: &Path,
    _root: &Path,
    _admin: &Path,
    _plan: Plan,
) -> Result<CheckoutStats, WorktreeError> {
    // plan() returns None off Unix, so this is never called there.
    Err(WorktreeError::Io {
        op: "check out",
        path: _root.to_owned(),
        source: std::io::Error::from(std::io::ErrorKind::Unsupported),
    })
}

#[cfg(unix)]
fn write_item(
    odb: &git2::Odb<'_>,
    root: &Path,
    item: &Item,
) -> Result<git2::IndexEntry, WorktreeError> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    let path = root.join(bytes_to_path(&item.rel));
    let meta = match item.mode {
        MODE_GITLINK => None,
        MODE_LINK => {
            let blob = odb.read(item.id).map_err(git("read a blob"))?;
            std::os::unix::fs::symlink(bytes_to_path(blob.data()), &path)
                .map_err(io("create the symbolic link", &path))?;
            Some(std::fs::symlink_metadata(&path).map_err(io("inspect", &path))?)
        }
        mode => {
            let blob = odb.read(item.id).map_err(git("read a blob"))?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if mode == MODE_EXEC { 0o777 } else { 0o666 })
                .open(&path)
                .map_err(io("create", &path))?;
            file.write_all(blob.data()).map_err(io("write", &path))?;
            Some(file.metadata().map_err(io("inspect", &path))?)
        }
    };
    // Index fields are 32 bits wide; git truncates the same way.
    let time = |secs: i64, nanos: i64| git2::IndexTime::new(secs as i32, nanos as u32);
    Ok(match meta {
        Some(m) => git2::IndexEntry {
            ctime: time(m.ctime(), m.ctime_nsec()),
            mtime: time(m.mtime(), m.mtime_nsec()),
            dev: m.dev() as u32,
            ino: m.ino() as u32,
            mode: item.mode,
            uid: m.uid(),
            gid: m.gid(),
            file_size: m.size() as u32,
            id: item.id,
            flags: 0,
            flags_extended: 0,
            path: item.rel.clone(),
        },
        None => git2::IndexEntry {
            ctime: time(0, 0),
            mtime: time(0, 0),
            dev: 0,
            ino: 0,
            mode: item.mode,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: item.id,
            flags: 0,
            flags_extended: 0,
            path: item.rel.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_names_go_to_libgit2() {
        let bad: [&[u8]; 10] = [
            b"",
            b".",
            b"..",
            b".git",
            b".GIT",
            b".git. ",
            b"GIT~1",
            b"a\\b",
            b"c:",
            ".g\u{200c}it".as_bytes(),
        ];
        for name in bad {
            assert!(!safe_component(name), "{:?}", String::from_utf8_lossy(name));
        }
        let good: [&[u8]; 7] = [
            b"src",
            b"main.rs",
            b".env",
            b"with space",
            "日本".as_bytes(),
            b".github",
            b".gitignore",
        ];
        for name in good {
            assert!(safe_component(name), "{:?}", String::from_utf8_lossy(name));
        }
    }
}
