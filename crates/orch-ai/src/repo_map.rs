//! What the planner knows about the target repository: its tracked files, languages, where
//! source and tests live, the modules that exist, and the tools it uses. Built from a list
//! of paths (what `git ls-files` prints) and the text of a few manifest files, so it is
//! cheap, deterministic and testable without a repository.
//!
//! ```
//! use orch_ai::RepoMap;
//!
//! let map = RepoMap::from_paths(
//!     ["Cargo.toml", "src/lib.rs", "src/billing/mod.rs", "tests/billing.rs"],
//!     |_| None,
//! );
//! assert_eq!(map.source_root.as_deref(), Some("src"));
//! assert_eq!(map.test_root.as_deref(), Some("tests"));
//! assert!(map.modules.iter().any(|m| m.path == "src/billing"));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// At most this many paths are read; a larger repository is mapped by its first ones.
pub const MAX_PATHS: usize = 200_000;

/// A module that exists: a directory or a source file under a source root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Module {
    /// Path relative to the repository root (`src/billing`, `app/models/invoice.rb`).
    pub path: String,
    /// A directory (scoped as `path/**`) or a file (scoped as itself).
    pub is_dir: bool,
    /// Its words, lowercased and stemmed (`invoice_items.py` → invoice, item).
    #[serde(skip)]
    pub words: Vec<String>,
}

/// Tools the repository uses, detected from its manifests and config files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Conventions {
    /// `cargo test`, `pytest`, `jest`, `vitest`, `go test`, …
    pub test_framework: Option<String>,
    /// `clippy`, `ruff`, `eslint`, …
    pub linters: Vec<String>,
    /// `mypy`, `tsc`, …
    pub type_checkers: Vec<String>,
    /// `rustfmt`, `black`, `prettier`, …
    pub formatters: Vec<String>,
    /// Where tests go: `tests/` beside `src/`, or next to the code (`*_test.go`,
    /// `*.test.ts`).
    pub tests_next_to_code: bool,
}

/// The repository as the planner sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoMap {
    /// Number of tracked files read.
    pub files: usize,
    /// Languages by file count, most first (`rust`, `python`, `typescript`, …).
    pub languages: Vec<(String, usize)>,
    /// The main source directory (`src`, `lib`, `app`, a package name), when there is one.
    pub source_root: Option<String>,
    /// Where tests live (`tests`, `test`, `spec`, `__tests__`), when there is such a
    /// directory.
    pub test_root: Option<String>,
    /// Modules under the source root (and top-level packages).
    pub modules: Vec<Module>,
    /// Tools.
    pub conventions: Conventions,
    /// Top-level entries, for the map printed in instructions.
    pub top_level: Vec<String>,
}

const SOURCE_ROOTS: &[&str] = &["src", "lib", "app", "pkg", "internal", "server", "backend"];
const TEST_ROOTS: &[&str] = &["tests", "test", "spec", "__tests__", "testing"];

fn language_of(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "rs" => "rust",
        "py" => "python",
        "ts" | "tsx" => "typescript",
        "js" | "jsx" | "mjs" | "cjs" => "javascript",
        "go" => "go",
        "rb" => "ruby",
        "java" => "java",
        "kt" => "kotlin",
        "cs" => "csharp",
        "php" => "php",
        "swift" => "swift",
        "c" | "h" => "c",
        "cc" | "cpp" | "hpp" => "cpp",
        _ => return None,
    })
}

impl RepoMap {
    /// An empty repository (or none): scopes follow conventions, not files.
    pub fn empty() -> RepoMap {
        RepoMap::default()
    }

    /// Maps tracked `paths`; `read` returns the text of a file (manifests only are asked).
    pub fn from_paths<I, S>(paths: I, read: impl Fn(&str) -> Option<String>) -> RepoMap
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let paths: Vec<String> = paths
            .into_iter()
            .take(MAX_PATHS)
            .map(|p| p.as_ref().trim_start_matches("./").to_owned())
            .filter(|p| !p.is_empty() && !p.starts_with(".orch/"))
            .collect();
        let mut languages: BTreeMap<&str, usize> = BTreeMap::new();
        let mut top: BTreeSet<String> = BTreeSet::new();
        for p in &paths {
            if let Some(lang) = language_of(p) {
                *languages.entry(lang).or_default() += 1;
            }
            top.insert(match p.split_once('/') {
                Some((dir, _)) => format!("{dir}/"),
                None => p.clone(),
            });
        }
        let mut languages: Vec<(String, usize)> = languages
            .into_iter()
            .map(|(l, n)| (l.to_owned(), n))
            .collect();
        languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let main = languages.first().map(|(l, _)| l.clone());
        let has_dir = |d: &str| paths.iter().any(|p| p.starts_with(&format!("{d}/")));
        let is_test = |p: &str| {
            TEST_ROOTS
                .iter()
                .any(|t| p.starts_with(&format!("{t}/")) || p.contains(&format!("/{t}/")))
                || p.contains("_test.")
                || p.contains(".test.")
                || p.contains(".spec.")
                || p.rsplit('/').next().is_some_and(|f| f.starts_with("test_"))
        };
        let source_root = SOURCE_ROOTS
            .iter()
            .find(|d| has_dir(d))
            .map(|d| (*d).to_owned())
            .or_else(|| python_package(&paths))
            .or_else(|| {
                // A single top-level directory holding most of the code.
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for p in paths
                    .iter()
                    .filter(|p| language_of(p).is_some() && !is_test(p))
                {
                    if let Some((dir, _)) = p.split_once('/') {
                        *counts.entry(dir).or_default() += 1;
                    }
                }
                counts
                    .into_iter()
                    .max_by_key(|(_, n)| *n)
                    .filter(|(d, _)| !d.starts_with('.'))
                    .map(|(d, _)| d.to_owned())
            });
        let test_root = TEST_ROOTS
            .iter()
            .find(|d| has_dir(d))
            .map(|d| (*d).to_owned());
        let colocated = paths
            .iter()
            .filter(|p| p.contains("_test.go") || p.contains(".test.") || p.contains(".spec."));
        let tests_next_to_code =
            test_root.is_none() && colocated.count() > 0 || matches!(main.as_deref(), Some("go"));
        let modules = modules_of(&paths, source_root.as_deref(), &is_test);
        let conventions = Conventions {
            tests_next_to_code,
            ..conventions_of(&paths, main.as_deref(), &read)
        };
        RepoMap {
            files: paths.len(),
            languages,
            source_root,
            test_root,
            modules,
            conventions,
            top_level: top.into_iter().take(40).collect(),
        }
    }

    /// The main language, if any code is tracked.
    pub fn language(&self) -> Option<&str> {
        self.languages.first().map(|(l, _)| l.as_str())
    }

    /// Whether nothing is known (no tracked files).
    pub fn is_empty(&self) -> bool {
        self.files == 0
    }

    /// Modules whose words include `word` (a stem, as [`crate::text::stem`] makes it), best
    /// (shortest path) first.
    pub fn modules_named(&self, word: &str) -> Vec<&Module> {
        let mut found: Vec<&Module> = self
            .modules
            .iter()
            .filter(|m| m.words.iter().any(|w| w == word))
            .collect();
        found.sort_by_key(|m| (m.path.matches('/').count(), m.path.len()));
        found
    }

    /// A few lines describing the layout, for instructions and model prompts.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "The repository is empty: follow the language's usual layout.".into();
        }
        let mut out = Vec::new();
        let langs: Vec<String> = self
            .languages
            .iter()
            .take(3)
            .map(|(l, n)| format!("{l} ({n} files)"))
            .collect();
        if !langs.is_empty() {
            out.push(format!("Languages: {}.", langs.join(", ")));
        }
        if let Some(src) = &self.source_root {
            out.push(format!("Source: `{src}/`."));
        }
        match (&self.test_root, self.conventions.tests_next_to_code) {
            (Some(t), _) => out.push(format!("Tests: `{t}/`.")),
            (None, true) => out.push("Tests: next to the code they test.".into()),
            _ => {}
        }
        out.push(format!("Top level: {}.", self.top_level.join(" ")));
        out.join(" ")
    }
}

/// `mypkg/__init__.py` at the top: a Python package is the source root.
fn python_package(paths: &[String]) -> Option<String> {
    paths
        .iter()
        .filter_map(|p| p.strip_suffix("/__init__.py"))
        .filter(|d| !d.contains('/') && !TEST_ROOTS.contains(d))
        .min()
        .map(str::to_owned)
}

/// Directories and source files under the source root (two levels), and top-level
/// packages elsewhere (`crates/billing`, `packages/web`).
fn modules_of(paths: &[String], root: Option<&str>, is_test: &dyn Fn(&str) -> bool) -> Vec<Module> {
    let mut seen: BTreeMap<String, bool> = BTreeMap::new();
    for p in paths.iter().filter(|p| !is_test(p)) {
        let parts: Vec<&str> = p.split('/').collect();
        let under_root = root.is_some_and(|r| parts.first() == Some(&r));
        let workspace = matches!(
            parts.first(),
            Some(&("crates" | "packages" | "apps" | "services" | "cmd"))
        );
        if !(under_root || workspace) || parts.len() < 2 {
            continue;
        }
        // `src/billing/mod.rs` → src/billing (dir); `src/billing.rs` → the file.
        for depth in 2..=parts.len().min(3) {
            let path = parts[..depth].join("/");
            let is_dir = depth < parts.len();
            if !is_dir && language_of(&path).is_none() {
                continue;
            }
            seen.entry(path).or_insert(is_dir);
        }
    }
    seen.into_iter()
        .map(|(path, is_dir)| {
            let last = path.rsplit('/').next().unwrap_or(&path);
            let stem = if is_dir {
                last
            } else {
                last.split('.').next().unwrap_or(last)
            };
            Module {
                words: words_of(stem),
                path,
                is_dir,
            }
        })
        .filter(|m| !m.words.is_empty())
        .collect()
}

/// `invoice_items`, `InvoiceItems`, `invoice-items` → invoice, item (stemmed).
pub(crate) fn words_of(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .filter(|w| {
            w.len() >= 3 && !["mod", "index", "main", "lib", "init", "src"].contains(&w.as_str())
        })
        .map(|w| crate::text::stem(&w))
        .collect()
}

fn conventions_of(
    paths: &[String],
    main: Option<&str>,
    read: &dyn Fn(&str) -> Option<String>,
) -> Conventions {
    let has = |name: &str| {
        paths
            .iter()
            .any(|p| p == name || p.ends_with(&format!("/{name}")))
    };
    let mut c = Conventions::default();
    let package_json = read("package.json").unwrap_or_default();
    let pyproject = read("pyproject.toml").unwrap_or_default();
    match main {
        Some("rust") => {
            c.test_framework = Some("cargo test".into());
            c.linters.push("cargo clippy".into());
            c.formatters.push("rustfmt".into());
        }
        Some("python") => {
            c.test_framework = Some(
                if pyproject.contains("pytest") || has("pytest.ini") || has("conftest.py") {
                    "pytest"
                } else {
                    "unittest"
                }
                .into(),
            );
            if pyproject.contains("ruff") || has("ruff.toml") {
                c.linters.push("ruff".into());
            } else if has(".flake8") || pyproject.contains("flake8") {
                c.linters.push("flake8".into());
            }
            if pyproject.contains("mypy") || has("mypy.ini") {
                c.type_checkers.push("mypy".into());
            }
            if pyproject.contains("black") {
                c.formatters.push("black".into());
            }
        }
        Some("typescript" | "javascript") => {
            for (tool, name) in [("vitest", "vitest"), ("jest", "jest"), ("mocha", "mocha")] {
                if package_json.contains(&format!("\"{tool}\"")) {
                    c.test_framework = Some(name.into());
                    break;
                }
            }
            if package_json.contains("eslint") || has(".eslintrc.json") || has("eslint.config.js") {
                c.linters.push("eslint".into());
            }
            if main == Some("typescript") || has("tsconfig.json") {
                c.type_checkers.push("tsc".into());
            }
            if package_json.contains("prettier") || has(".prettierrc") {
                c.formatters.push("prettier".into());
            }
        }
        Some("go") => {
            c.test_framework = Some("go test".into());
            c.linters.push("go vet".into());
            c.formatters.push("gofmt".into());
        }
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let rust = RepoMap::from_paths(
            [
                "Cargo.toml",
                "src/lib.rs",
                "src/billing/mod.rs",
                "src/search.rs",
                "tests/billing.rs",
            ],
            |_| None,
        );
        assert_eq!(rust.language(), Some("rust"));
        assert_eq!(
            rust.conventions.test_framework.as_deref(),
            Some("cargo test")
        );
        let names: Vec<&str> = rust.modules.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(names, ["src/billing", "src/search.rs"]);
        assert_eq!(rust.modules_named("bill")[0].path, "src/billing");

        let python = RepoMap::from_paths(
            [
                "pyproject.toml",
                "shop/__init__.py",
                "shop/invoice_items.py",
                "tests/test_items.py",
            ],
            |p| (p == "pyproject.toml").then(|| "[tool.pytest.ini_options]\n[tool.ruff]".into()),
        );
        assert_eq!(python.source_root.as_deref(), Some("shop"));
        assert_eq!(python.conventions.test_framework.as_deref(), Some("pytest"));
        assert_eq!(python.conventions.linters, ["ruff"]);
        assert_eq!(
            python.modules_named("item")[0].path,
            "shop/invoice_items.py"
        );

        let go = RepoMap::from_paths(
            [
                "go.mod",
                "internal/billing/billing.go",
                "internal/billing/billing_test.go",
            ],
            |_| None,
        );
        assert!(go.conventions.tests_next_to_code);
        assert_eq!(go.source_root.as_deref(), Some("internal"));

        assert!(RepoMap::from_paths(Vec::<String>::new(), |_| None).is_empty());
        assert_eq!(words_of("InvoiceItems"), ["invoic", "item"]);
    }
}
