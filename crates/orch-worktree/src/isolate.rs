//! Isolated checkouts: a task worktree whose `.git` is a private repository of its own, so
//! the program working in it (an agent) cannot reach the main repository's refs, config,
//! hooks or index through git.
//!
//! The worktree stays registered in the main repository (its admin directory under
//! `.git/worktrees/<name>` keeps the manager's view: HEAD on the task branch and the index),
//! and the manager always opens it through that admin directory. Only `<worktree>/.git` changes: the
//! gitfile becomes a small repository with the same branch at the same commit, the same
//! index, and the main object database as an alternate, so `git status`, `git log`,
//! `git diff` and `git commit` work as usual for the agent while every object and ref it
//! writes stays inside the worktree. What the agent leaves is read from the files, never
//! from its repository.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, RepositoryOpenFlags};

use crate::error::{WorktreeError, git, io};
use crate::manager::write_atomic;

/// Marker file in a worktree's admin directory: its `.git` is a private repository.
pub(crate) const ISOLATED_MARKER: &str = "orch-isolated";

/// Whether the worktree registered at `admin` was isolated.
pub(crate) fn is_isolated(admin: &Path) -> bool {
    admin.join(ISOLATED_MARKER).is_file()
}

/// Replaces `<path>/.git` (a gitfile) with a private repository: `branch_ref` at `head`,
/// the admin directory's index, the main repository's excludes and author, and the main
/// object database as an alternate. Written in a temporary directory and renamed into
/// place, so a crash leaves either the gitfile or the whole repository.
pub(crate) fn isolate(
    main: &Repository,
    common_dir: &Path,
    admin: &Path,
    path: &Path,
    branch_ref: &str,
    head: Oid,
) -> Result<(), WorktreeError> {
    let staging = path.join(format!("{STAGING_PREFIX}{}", std::process::id()));
    // A run killed while isolating leaves its staging directory behind (under its own
    // process id): remove every one, so none is ever committed as the agent's work.
    remove_stale_staging(path)?;
    let made = (|| -> Result<(), WorktreeError> {
        let mkdir = |p: PathBuf| std::fs::create_dir_all(&p).map_err(io("create", &p));
        mkdir(staging.join("objects/info"))?;
        mkdir(staging.join("objects/pack"))?;
        mkdir(staging.join("refs/tags"))?;
        mkdir(staging.join("info"))?;
        let objects = common_dir.join("objects");
        write_atomic(
            &staging.join("objects/info/alternates"),
            format!("{}\n", objects.display()).as_bytes(),
        )?;
        let ref_path = staging.join(branch_ref);
        if let Some(parent) = ref_path.parent() {
            mkdir(parent.to_owned())?;
        }
        write_atomic(&ref_path, format!("{head}\n").as_bytes())?;
        write_atomic(
            &staging.join("HEAD"),
            format!("ref: {branch_ref}\n").as_bytes(),
        )?;
        let mut config = String::from(
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n",
        );
        if let Ok(cfg) = main.config() {
            let name = cfg.get_string("user.name").ok();
            let email = cfg.get_string("user.email").ok();
            if name.is_some() || email.is_some() {
                config.push_str("[user]\n");
                for (key, value) in [("name", name), ("email", email)] {
                    if let Some(v) = value.filter(|v| !v.contains(['\n', '"', '\\'])) {
                        config.push_str(&format!("\t{key} = \"{v}\"\n"));
                    }
                }
            }
        }
        write_atomic(&staging.join("config"), config.as_bytes())?;
        let exclude = std::fs::read(common_dir.join("info/exclude")).unwrap_or_default();
        write_atomic(&staging.join("info/exclude"), &exclude)?;
        let index = admin.join("index");
        if index.is_file() {
            std::fs::copy(&index, staging.join("index")).map_err(io("copy", &index))?;
        }
        Ok(())
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let gitfile = path.join(".git");
    // Rename over the gitfile is not possible (file → directory): remove it first. The
    // marker is written before, so an interruption here is repaired by `isolate` again.
    write_atomic(
        &admin.join(ISOLATED_MARKER),
        b"private repository in .git\n",
    )?;
    if std::fs::symlink_metadata(&gitfile).is_ok_and(|m| m.is_file()) {
        std::fs::remove_file(&gitfile).map_err(io("remove", &gitfile))?;
    }
    if gitfile.is_dir() {
        std::fs::remove_dir_all(&gitfile).map_err(io("remove", &gitfile))?;
    }
    std::fs::rename(&staging, &gitfile).map_err(io("move into place", &gitfile))?;
    Ok(())
}

/// Where a private repository is assembled before it becomes `<worktree>/.git`.
const STAGING_PREFIX: &str = ".git-orch-";

/// Removes staging directories left in the worktree at `path` by interrupted runs.
pub(crate) fn remove_stale_staging(path: &Path) -> Result<(), WorktreeError> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(STAGING_PREFIX) && entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path()).map_err(io("remove", &entry.path()))?;
        }
    }
    Ok(())
}

/// The worktree as orch sees it: opened through its admin directory (HEAD, index) with the
/// registered directory as its working tree, whatever `<path>/.git` holds.
pub(crate) fn open_checkout(admin: &Path, path: &Path) -> Result<Repository, WorktreeError> {
    let repo = Repository::open_ext(admin, RepositoryOpenFlags::NO_SEARCH, &[] as &[&str])
        .map_err(git("open the worktree"))?;
    repo.set_workdir(path, false)
        .map_err(git("set the worktree's directory"))?;
    Ok(repo)
}

/// Build output and caches that orch never commits from a worktree, whatever the
/// repository's ignore rules say (a repository without `.gitignore` still gets no
/// `__pycache__`): tool caches anywhere, `target/` beside a `Cargo.toml` or `pom.xml`,
/// `venv/` holding a `pyvenv.cfg`. Only new files are judged; tracked files are committed
/// as usual.
pub fn is_build_output(workdir: &Path, rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let (file, dirs) = parts.split_last().unwrap_or((&"", &[]));
    const DIRS: &[&str] = &[
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        ".venv",
        "node_modules",
        ".eggs",
        "htmlcov",
        ".gradle",
        ".next",
        ".turbo",
        ".parcel-cache",
    ];
    if dirs
        .iter()
        .any(|d| DIRS.contains(d) || d.ends_with(".egg-info"))
    {
        return true;
    }
    // orch's own staging of a private repository, left by an interrupted run.
    if dirs.first().is_some_and(|d| d.starts_with(STAGING_PREFIX)) {
        return true;
    }
    for (i, d) in dirs.iter().enumerate() {
        let parent = workdir.join(parts[..i].join("/"));
        if *d == "target"
            && (parent.join("Cargo.toml").is_file() || parent.join("pom.xml").is_file())
        {
            return true;
        }
        if *d == "venv" && parent.join("venv/pyvenv.cfg").is_file() {
            return true;
        }
    }
    file.ends_with(".pyc")
        || file.ends_with(".pyo")
        || *file == ".coverage"
        || file.starts_with(".coverage.")
        || *file == ".DS_Store"
}

#[cfg(test)]
mod tests {
    use super::is_build_output;

    #[test]
    fn build_output_is_recognised_and_sources_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        for junk in [
            "__pycache__/a.cpython-311.pyc",
            ".git-orch-18021/objects/info/alternates",
            "pkg/__pycache__/x.pyc",
            "a.pyc",
            ".pytest_cache/v/cache/nodeids",
            ".mypy_cache/3.11/x.json",
            "target/debug/app",
            "node_modules/x/index.js",
            ".coverage",
            ".coverage.host.123",
            "calc.egg-info/PKG-INFO",
        ] {
            assert!(is_build_output(dir.path(), junk), "{junk}");
        }
        for source in [
            "src/target.rs",
            "docs/target/index.md",
            "build.py",
            "tests/test_cache.py",
            "venv/README.md",
            "coverage.md",
        ] {
            assert!(!is_build_output(dir.path(), source), "{source}");
        }
    }
}
