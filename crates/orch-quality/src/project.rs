//! What kind of project a directory holds: its toolchains, where each lives, and its files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A language ecosystem the gate knows how to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// `Cargo.toml`.
    Rust,
    /// `pyproject.toml`, `setup.py`, `setup.cfg`, `requirements*.txt`, or `.py` files.
    Python,
    /// `package.json` or `tsconfig.json`, or `.js` / `.ts` files.
    JavaScript,
    /// `go.mod`.
    Go,
}

impl Language {
    /// `rust`, `python`, `javascript`, `go`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::Go => "go",
        }
    }
}

/// One toolchain found in the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// Which ecosystem.
    pub language: Language,
    /// Its directory, relative to the project root (`""` for the root itself).
    pub dir: String,
    /// For JavaScript: whether TypeScript is in use (`tsconfig.json` or `.ts` files).
    pub typescript: bool,
}

impl Toolchain {
    /// A label for reports: `rust`, `python (backend)`.
    pub fn label(&self) -> String {
        let name = if self.typescript {
            "typescript"
        } else {
            self.language.name()
        };
        if self.dir.is_empty() {
            name.to_owned()
        } else {
            format!("{name} ({})", self.dir)
        }
    }
}

/// A project to check: its root, toolchains and files.
#[derive(Debug, Clone)]
pub struct ProjectInfo {
    /// The directory checked.
    pub root: PathBuf,
    /// Toolchains found, root first.
    pub toolchains: Vec<Toolchain>,
    /// Every file that belongs to the project (tracked or untracked, not ignored), relative
    /// to the root, with `/` separators.
    pub files: Vec<String>,
    /// Whether `root` is inside a git work tree.
    pub in_git: bool,
}

/// Directories that never hold the project's own sources.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".orch",
    ".worktrees",
    "target",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "dist",
    "build",
    ".tox",
    "vendor",
];

/// Beyond this many files the listing stops: the gate is for one task's worktree.
const MAX_FILES: usize = 200_000;

impl ProjectInfo {
    /// Looks at `root`: toolchains at the root and one level down (mixed repositories keep
    /// `web/package.json` beside `Cargo.toml`), files from git when it is a repository.
    pub fn detect(root: &Path) -> std::io::Result<ProjectInfo> {
        let root = root.canonicalize()?;
        let (files, in_git) = match git_files(&root) {
            Some(files) => (files, true),
            None => (walk_files(&root), false),
        };
        let mut dirs: BTreeSet<String> = BTreeSet::from([String::new()]);
        for f in &files {
            if let Some((dir, _)) = f.split_once('/')
                && !f[dir.len() + 1..].contains('/')
            {
                dirs.insert(dir.to_owned());
            }
        }
        let has = |dir: &str, name: &str| {
            let path = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            files.binary_search(&path).is_ok()
        };
        let mut toolchains = Vec::new();
        for dir in &dirs {
            if has(dir, "Cargo.toml") && !covered_by_root_workspace(&toolchains, dir) {
                toolchains.push(Toolchain {
                    language: Language::Rust,
                    dir: dir.clone(),
                    typescript: false,
                });
            }
            let python = [
                "pyproject.toml",
                "setup.py",
                "setup.cfg",
                "requirements.txt",
            ]
            .iter()
            .any(|n| has(dir, n))
                || files.iter().any(|f| {
                    let (d, name) = split(f);
                    d == dir && name.starts_with("requirements") && name.ends_with(".txt")
                });
            if python {
                toolchains.push(Toolchain {
                    language: Language::Python,
                    dir: dir.clone(),
                    typescript: false,
                });
            }
            if has(dir, "package.json") || has(dir, "tsconfig.json") {
                let prefix = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                let typescript = has(dir, "tsconfig.json")
                    || files.iter().any(|f| {
                        f.starts_with(&prefix) && (f.ends_with(".ts") || f.ends_with(".tsx"))
                    });
                toolchains.push(Toolchain {
                    language: Language::JavaScript,
                    dir: dir.clone(),
                    typescript,
                });
            }
            if has(dir, "go.mod") {
                toolchains.push(Toolchain {
                    language: Language::Go,
                    dir: dir.clone(),
                    typescript: false,
                });
            }
        }
        // No manifest, but the sources are there: a folder of `.py` files is a Python
        // project, `.js`/`.ts` files a JavaScript one. Checked at the root, where the
        // interpreter finds them; tools that need a manifest say so when they skip.
        let source_of = |exts: &[&str]| files.iter().any(|f| exts.iter().any(|e| f.ends_with(e)));
        if !toolchains.iter().any(|t| t.language == Language::Python) && source_of(&[".py"]) {
            toolchains.push(Toolchain {
                language: Language::Python,
                dir: String::new(),
                typescript: false,
            });
        }
        if !toolchains
            .iter()
            .any(|t| t.language == Language::JavaScript)
            && source_of(&[".js", ".mjs", ".cjs", ".ts", ".tsx"])
        {
            toolchains.push(Toolchain {
                language: Language::JavaScript,
                dir: String::new(),
                typescript: source_of(&[".ts", ".tsx"]),
            });
        }
        // Root first (stable: the order within the root and within subdirectories stays).
        toolchains.sort_by_key(|t| !t.dir.is_empty());
        Ok(ProjectInfo {
            root,
            toolchains,
            files,
            in_git,
        })
    }

    /// Files of a toolchain with one of `extensions`, relative to the project root; test
    /// files included.
    pub fn files_of(&self, toolchain: &Toolchain, extensions: &[&str]) -> Vec<&str> {
        let prefix = if toolchain.dir.is_empty() {
            String::new()
        } else {
            format!("{}/", toolchain.dir)
        };
        self.files
            .iter()
            .filter(|f| f.starts_with(&prefix))
            .filter(|f| extensions.iter().any(|e| f.ends_with(e)))
            .map(String::as_str)
            .collect()
    }

    /// The directory of a toolchain.
    pub fn dir_of(&self, toolchain: &Toolchain) -> PathBuf {
        self.root.join(&toolchain.dir)
    }

    /// Whether some toolchain is of `language`.
    pub fn has(&self, language: Language) -> bool {
        self.toolchains.iter().any(|t| t.language == language)
    }
}

fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// A `Cargo.toml` one level down is a member of the root workspace when the root has one.
fn covered_by_root_workspace(found: &[Toolchain], _dir: &str) -> bool {
    found
        .iter()
        .any(|t| t.language == Language::Rust && t.dir.is_empty())
}

/// Whether a path lies in a directory the gate never looks into.
pub(crate) fn skipped(path: &str) -> bool {
    path.split('/')
        .rev()
        .skip(1)
        .any(|segment| SKIP_DIRS.contains(&segment))
}

/// Tracked and untracked, not ignored files, sorted; `None` outside a git work tree.
fn git_files(root: &Path) -> Option<Vec<String>> {
    let out = std::process::Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            ".",
        ])
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut files: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|f| !skipped(f))
        // A deleted but still tracked file is listed by --cached; it is not there to check.
        .filter(|f| root.join(f).is_file())
        .take(MAX_FILES)
        .collect();
    files.sort();
    files.dedup();
    Some(files)
}

fn walk_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = rel.join(&name);
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if kind.is_file() {
                out.push(path.to_string_lossy().replace('\\', "/"));
                if out.len() >= MAX_FILES {
                    break;
                }
            }
        }
    }
    out.sort();
    out
}
