use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Whether a `git` executable is on `PATH`.
pub fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A real git repository in a temporary directory, deleted on drop.
///
/// Created with one commit on branch `main` (a `README.md`), a fixed author and no global or
/// system git configuration, so tests behave the same on every machine.
#[derive(Debug)]
pub struct TempRepo {
    dir: TempDir,
    root: PathBuf,
}

impl TempRepo {
    /// A repository with one initial commit on `main`.
    pub fn new() -> TempRepo {
        let repo = TempRepo::empty();
        repo.write("README.md", "# test repository\n");
        repo.commit_all("initial commit");
        repo
    }

    /// A repository with no commit at all (an unborn `main`).
    pub fn empty() -> TempRepo {
        let dir = tempfile::Builder::new()
            .prefix("orch-test-")
            .tempdir()
            .expect("create temp dir");
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).expect("create repo dir");
        let repo = TempRepo { dir, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// The working tree root.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The temporary directory holding the repository (a place for siblings such as an
    /// outside worktree root).
    pub fn temp_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `relative` inside the working tree, creating parent directories.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, contents).expect("write file");
    }

    /// Stages everything and commits; returns the new commit's SHA.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs git in the repository with a hermetic environment; panics on failure and
    /// returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let output = self.git_command(args).output().expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A `git` command set up like [`TempRepo::git`], for tests that need the exit status.
    pub fn git_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.root).args(args);
        hermetic_git_env(&mut cmd);
        cmd
    }
}

impl Default for TempRepo {
    fn default() -> Self {
        TempRepo::new()
    }
}

/// Strips the user's git configuration and fixes identity and dates, so git behaves the
/// same for every test run.
pub(crate) fn hermetic_git_env(cmd: &mut Command) {
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "orch test")
        .env("GIT_AUTHOR_EMAIL", "test@orch.invalid")
        .env("GIT_COMMITTER_NAME", "orch test")
        .env("GIT_COMMITTER_EMAIL", "test@orch.invalid")
        .env("GIT_TERMINAL_PROMPT", "0");
}
