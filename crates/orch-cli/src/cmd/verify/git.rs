//! What `orch verify` compares: the working tree it runs in (a linked worktree is checked
//! as itself, not as the main checkout), the base it is compared with, the files changed
//! since that base (committed, staged, unstaged and untracked, never ignored ones) and the
//! base version of each, which the integrity checks read.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use orch_core::exit_code;
use orch_quality::Baseline;

use crate::error::{CliError, CliResult};

/// Git's empty tree: the base of a repository without commits.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/// Largest base version read for the comparison; bigger files are not source code.
const MAX_BASE_FILE: usize = 2 * 1024 * 1024;
/// orch's own directories, never part of the change even when git is not told to ignore
/// them.
const ORCH_DIRS: [&str; 2] = [".orch/", ".worktrees/"];

/// The working tree being verified.
#[derive(Debug)]
pub struct Tree {
    /// Its top directory.
    pub root: PathBuf,
    /// Its own git directory (a linked worktree's, not the shared one).
    pub git_dir: PathBuf,
}

/// What the tree is compared with.
#[derive(Debug)]
pub struct Base {
    /// How it was chosen, for people: `main`, `origin/main`, `HEAD`, or the ref given.
    pub label: String,
    /// The commit (or the empty tree).
    pub commit: String,
}

impl Base {
    /// `main (1a2b3c4)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({})",
            self.label,
            &self.commit[..self.commit.len().min(7)]
        )
    }
}

/// The working tree containing `start`.
pub fn tree_at(start: &Path) -> CliResult<Tree> {
    if !start.is_dir() {
        return Err(CliError::new(
            exit_code::NOT_A_REPOSITORY,
            format!("{} is not a directory", start.display()),
        ));
    }
    let out = git(
        start,
        &["rev-parse", "--show-toplevel", "--absolute-git-dir"],
    )
    .map_err(|message| {
        CliError::new(
            exit_code::NOT_A_REPOSITORY,
            format!(
                "{} is not inside a git working tree: {message}",
                start.display()
            ),
        )
        .with_hint("run `orch verify` in a repository, or point it at one with `-C <path>`")
    })?;
    let mut lines = out.lines();
    match (lines.next(), lines.next()) {
        (Some(root), Some(git_dir)) => Ok(Tree {
            root: PathBuf::from(root),
            git_dir: PathBuf::from(git_dir),
        }),
        _ => Err(CliError::new(
            exit_code::NOT_A_REPOSITORY,
            format!("{} is not inside a git working tree", start.display()),
        )),
    }
}

/// The base: `requested` when given; else the merge-base with the branch's upstream, else
/// with `main` or `master` (local, then `origin/`), else `HEAD` (so uncommitted changes
/// are checked against the last commit); the empty tree before the first commit.
pub fn resolve_base(root: &Path, requested: Option<&str>) -> CliResult<Base> {
    if let Some(name) = requested {
        let bad = |why: String| {
            CliError::new(
                exit_code::INVALID_INPUT,
                format!("cannot compare with `{name}`: {why}"),
            )
            .with_hint("give --base a branch, tag or commit of this repository")
        };
        if name.is_empty() || name.starts_with('-') {
            return Err(bad("not a revision".into()));
        }
        let commit = rev(root, &format!("{name}^{{commit}}"))
            .ok_or_else(|| bad("git does not know it as a commit".into()))?;
        return Ok(Base {
            label: name.to_owned(),
            commit,
        });
    }
    let Some(head) = rev(root, "HEAD") else {
        return Ok(Base {
            label: "the empty tree (no commits yet)".into(),
            commit: EMPTY_TREE.into(),
        });
    };
    let upstream = git(
        root,
        &[
            "rev-parse",
            "--abbrev-ref",
            "--symbolic-full-name",
            "@{upstream}",
        ],
    )
    .ok()
    .filter(|u| !u.is_empty());
    let candidates = upstream.into_iter().chain(
        ["main", "master", "origin/main", "origin/master"]
            .into_iter()
            .filter(|b| rev(root, &format!("{b}^{{commit}}")).is_some())
            .map(str::to_owned),
    );
    for branch in candidates {
        if let Ok(commit) = git(root, &["merge-base", "HEAD", &branch]) {
            return Ok(Base {
                label: branch,
                commit,
            });
        }
    }
    Ok(Base {
        label: "HEAD".into(),
        commit: head,
    })
}

/// Files changed since `base`: in its diff with the working tree (committed, staged and
/// unstaged; renames as a deletion and an addition) and untracked files git does not ignore.
pub fn changed_files(root: &Path, base: &str) -> CliResult<BTreeSet<String>> {
    let failed = |message: String| {
        CliError::new(
            exit_code::FAILURE,
            format!("cannot list the changes since {base}: {message}"),
        )
    };
    let diff = git_raw(
        root,
        &[
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            base,
            "--",
        ],
    )
    .map_err(failed)?;
    let untracked =
        git_raw(root, &["ls-files", "-z", "--others", "--exclude-standard"]).map_err(failed)?;
    Ok(diff
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|p| !p.is_empty() && !ORCH_DIRS.iter().any(|d| p.starts_with(d)))
        .map(str::to_owned)
        .collect())
}

/// The base version of every changed file (`None`: not in the base, not text, or too big).
pub fn baseline(root: &Path, base: &str, changed: &BTreeSet<String>) -> Baseline {
    let files = match read_blobs(root, base, changed) {
        Ok(files) => files,
        Err(e) => {
            eprintln!(
                "warning: cannot read the base versions ({e}); every changed file counts as new"
            );
            changed.iter().map(|p| (p.clone(), None)).collect()
        }
    };
    Baseline {
        files,
        allow: BTreeSet::new(),
    }
}

/// `git cat-file --batch`: one process for all the files.
fn read_blobs(
    root: &Path,
    base: &str,
    paths: &BTreeSet<String>,
) -> std::io::Result<BTreeMap<String, Option<String>>> {
    let asked: Vec<&String> = paths.iter().filter(|p| !p.contains('\n')).collect();
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let requests: String = asked.iter().map(|p| format!("{base}:{p}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let mut files: BTreeMap<String, Option<String>> =
        paths.iter().map(|p| (p.clone(), None)).collect();
    for path in asked {
        let mut header = String::new();
        if out.read_line(&mut header)? == 0 {
            break;
        }
        // `<oid> <type> <size>`, or `<name> missing` / `ambiguous`.
        let fields: Vec<&str> = header.split_whitespace().collect();
        let (Some(kind), Some(size)) = (fields.get(1), fields.get(2)) else {
            continue;
        };
        let size: usize = size
            .parse()
            .map_err(|_| std::io::Error::other(format!("unexpected cat-file header {header:?}")))?;
        let mut content = vec![0u8; size + 1];
        out.read_exact(&mut content)?;
        content.pop();
        if *kind == "blob" && size <= MAX_BASE_FILE {
            files.insert(
                path.clone(),
                Some(String::from_utf8_lossy(&content).into_owned()),
            );
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(files)
}

/// The commit `spec` names, if any.
fn rev(root: &Path, spec: &str) -> Option<String> {
    git(root, &["rev-parse", "--verify", "--quiet", spec])
        .ok()
        .filter(|s| !s.is_empty())
}

/// Runs git in `dir`: trimmed stdout, or what it said on stderr.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    git_raw(dir, args).map(|s| s.trim().to_owned())
}

/// [`git`] with stdout as it is (`-z` lists).
fn git_raw(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(if err.is_empty() {
            format!("git {} failed", args.join(" "))
        } else {
            err
        })
    }
}
