//! Finding the repository and orch's files in it (DESIGN §5).

use std::path::{Path, PathBuf};

use orch_core::{Config, exit_code};

use crate::error::{CliError, CliResult};

/// Where orch keeps its files for one repository.
#[derive(Debug, Clone)]
pub struct RepoPaths {
    /// The main working tree root (also when called from inside a task worktree).
    pub root: PathBuf,
    /// The repository's common git directory (`.git`).
    pub git_dir: PathBuf,
}

impl RepoPaths {
    /// Walks up from `start` to the first directory with a `.git` entry. From a linked
    /// worktree (`.git` is a file) it follows `gitdir:` and `commondir` back to the main
    /// repository, so every worktree shares one `.orch/`.
    pub fn discover(start: &Path) -> CliResult<RepoPaths> {
        let start = start.canonicalize().map_err(|e| {
            CliError::new(
                exit_code::NOT_A_REPOSITORY,
                format!("cannot open {}: {e}", start.display()),
            )
        })?;
        for dir in start.ancestors() {
            let dot_git = dir.join(".git");
            if dot_git.is_dir() {
                return Ok(RepoPaths {
                    root: dir.to_owned(),
                    git_dir: dot_git,
                });
            }
            if dot_git.is_file() {
                let common = common_dir_of_linked(&dot_git)?;
                let root = common.parent().unwrap_or(dir).to_owned();
                return Ok(RepoPaths {
                    root,
                    git_dir: common,
                });
            }
        }
        Err(CliError::new(
            exit_code::NOT_A_REPOSITORY,
            format!(
                "not inside a git repository (searched {} and its parents)",
                start.display()
            ),
        )
        .with_hint("run `git init` first, or point orch at a repository with `-C <path>`"))
    }

    pub fn orch_dir(&self) -> PathBuf {
        self.root.join(".orch")
    }

    pub fn config_file(&self) -> PathBuf {
        self.orch_dir().join("orch.toml")
    }

    pub fn state_db(&self) -> PathBuf {
        self.orch_dir().join("state.db")
    }

    pub fn exclude_file(&self) -> PathBuf {
        self.git_dir.join("info").join("exclude")
    }

    /// The configuration, or the defaults when there is no file.
    pub fn config(&self) -> CliResult<Config> {
        Ok(Config::load(&self.config_file())?)
    }

    /// Fails with a hint when `orch init` has not been run here.
    /// The tracked files and layout, for planning (an empty map when git cannot list them).
    pub fn map(&self) -> orch_ai::RepoMap {
        let listed = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["ls-files", "-z"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        let Ok(out) = listed else {
            return orch_ai::RepoMap::empty();
        };
        if !out.status.success() {
            return orch_ai::RepoMap::empty();
        }
        let paths: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .take(orch_ai::MAX_PATHS)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        let root = self.root.clone();
        orch_ai::RepoMap::from_paths(paths, |name| {
            // Manifests only, and not huge ones.
            let path = root.join(name);
            let meta = std::fs::metadata(&path).ok()?;
            (meta.len() <= 1024 * 1024)
                .then(|| std::fs::read_to_string(&path).ok())
                .flatten()
        })
    }

    pub fn require_initialized(&self) -> CliResult<()> {
        if self.state_db().is_file() {
            Ok(())
        } else {
            Err(CliError::new(
                exit_code::NOT_INITIALIZED,
                format!("orch is not initialised in {}", self.root.display()),
            )
            .with_hint("run `orch init` there first"))
        }
    }
}

/// `.git` file of a linked worktree or submodule: `gitdir: <path>`; a worktree's admin dir
/// also has `commondir` pointing at the main `.git`.
fn common_dir_of_linked(dot_git: &Path) -> CliResult<PathBuf> {
    let text = std::fs::read_to_string(dot_git).map_err(|e| CliError::io(dot_git.display(), e))?;
    let gitdir = text
        .lines()
        .find_map(|l| l.strip_prefix("gitdir:"))
        .map(str::trim)
        .ok_or_else(|| {
            CliError::new(
                exit_code::NOT_A_REPOSITORY,
                format!("{} does not name a git directory", dot_git.display()),
            )
        })?;
    let base = dot_git.parent().unwrap_or(Path::new("."));
    let gitdir = base.join(gitdir);
    let common = match std::fs::read_to_string(gitdir.join("commondir")) {
        Ok(rel) => gitdir.join(rel.trim()),
        Err(_) => gitdir,
    };
    common
        .canonicalize()
        .map_err(|e| CliError::io(common.display(), e))
}
