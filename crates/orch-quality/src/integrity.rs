//! Test integrity: what only a comparison with the code an attempt started from can tell.
//! A task's result is measured by its tests; an agent must not make the measurement easier.
//! Against the [`Baseline`] (the base version of every changed file) this finds:
//!
//! - test files deleted, or test functions removed (fewer tests than before);
//! - new skip / xfail / ignore markers;
//! - tests without a real assertion (none, or `assert True`) among new or changed tests;
//! - new inline suppressions (`noqa`, `type: ignore`, `nosec`, `pragma: no cover`,
//!   `#[allow(...)]`, `eslint-disable`, `@ts-ignore`, `//nolint`, …);
//! - changed lint, type-check or security settings, and changed test-runner settings
//!   (`conftest.py`, `[tool.pytest]`, coverage settings, jest / vitest config);
//! - code that disables assertions or test runs for everyone (patching `TestCase`,
//!   `builtins`, deselecting collected tests, `os._exit(0)`).
//!
//! Each finding fails the tests dimension unless the task's `allow` list permits its kind.
//! [`acceptance_copies`] also says which existing test files should run as they were
//! (their base versions beside the new ones): tests an agent weakened still measure it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::report::{Finding, Severity};

/// The code a checked tree started from: the base version of every changed file, and what
/// the task is allowed to change in its tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Every path changed since the base, with its content in the base (`None`: it is new
    /// there). Paths not listed are unchanged.
    pub files: BTreeMap<String, Option<String>>,
    /// Allowances from the task (`delete_tests`, `skip_tests`, `edit_tests`,
    /// `suppressions`, `tool_config`, `test_config`).
    pub allow: BTreeSet<String>,
}

impl Baseline {
    /// Whether the task may make changes of `kind`.
    pub fn allows(&self, kind: &str) -> bool {
        self.allow.contains(kind)
    }

    /// Whether `line` is in the base version of `file` (always, for unchanged files).
    pub fn has_line(&self, file: &str, line: &str) -> bool {
        match self.files.get(file) {
            None => true,
            Some(None) => false,
            Some(Some(text)) => text.lines().any(|l| l == line),
        }
    }
}

/// Longest file read for the comparison; bigger ones are not source code.
const MAX_READ: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Rust,
    Js,
    Go,
}

fn lang_of(path: &str) -> Option<Lang> {
    let ext = path.rsplit('.').next().unwrap_or("");
    Some(match ext {
        "py" => Lang::Python,
        "rs" => Lang::Rust,
        "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts" => Lang::Js,
        "go" => Lang::Go,
        _ => return None,
    })
}

/// Whether `path` holds tests (by the conventions of its language).
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_tests_dir = path
        .split('/')
        .rev()
        .skip(1)
        .any(|d| matches!(d, "tests" | "test" | "__tests__" | "spec"));
    match lang_of(path) {
        Some(Lang::Python) => {
            name.starts_with("test_")
                || name.ends_with("_test.py")
                || (in_tests_dir && name != "__init__.py" && name != "conftest.py")
        }
        Some(Lang::Rust) => in_tests_dir,
        Some(Lang::Js) => {
            name.contains(".test.") || name.contains(".spec.") || path.contains("__tests__/")
        }
        Some(Lang::Go) => name.ends_with("_test.go"),
        None => false,
    }
}

/// One test function: its name and its body's text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TestFn {
    name: String,
    body: String,
}

/// The tests in a file's text.
fn tests_in(lang: Lang, text: &str) -> Vec<TestFn> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    match lang {
        Lang::Python => {
            for (i, line) in lines.iter().enumerate() {
                let trimmed = line.trim_start();
                let Some(rest) = trimmed
                    .strip_prefix("def ")
                    .or_else(|| trimmed.strip_prefix("async def "))
                else {
                    continue;
                };
                if !rest.starts_with("test") {
                    continue;
                }
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let indent = line.len() - trimmed.len();
                let body: Vec<&str> = lines[i + 1..]
                    .iter()
                    .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                    .copied()
                    .collect();
                out.push(TestFn {
                    name,
                    body: body.join("\n"),
                });
            }
        }
        Lang::Rust => {
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim();
                if !(t.starts_with("#[test]")
                    || t.starts_with("#[tokio::test")
                    || t.ends_with("::test]"))
                {
                    continue;
                }
                // The fn after the attributes, and its braces.
                let Some(start) = (i + 1..lines.len()).find(|&j| lines[j].contains("fn ")) else {
                    continue;
                };
                let name: String = lines[start]
                    .split("fn ")
                    .nth(1)
                    .unwrap_or("")
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let attributes = lines[i..start].join("\n");
                out.push(TestFn {
                    name,
                    body: format!("{attributes}\n{}", braced(&lines, start)),
                });
            }
        }
        Lang::Js => {
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim_start();
                let is_test = [
                    "it(",
                    "test(",
                    "it.only(",
                    "test.only(",
                    "it.skip(",
                    "test.skip(",
                    "xit(",
                ]
                .iter()
                .any(|p| t.starts_with(p));
                if !is_test {
                    continue;
                }
                let name = t.split(['\'', '"', '`']).nth(1).unwrap_or("").to_owned();
                out.push(TestFn {
                    name,
                    body: braced(&lines, i),
                });
            }
        }
        Lang::Go => {
            for (i, line) in lines.iter().enumerate() {
                let Some(rest) = line.strip_prefix("func Test") else {
                    continue;
                };
                let name: String = format!(
                    "Test{}",
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<String>()
                );
                out.push(TestFn {
                    name,
                    body: braced(&lines, i),
                });
            }
        }
    }
    out
}

/// The text from line `start` to the line closing its first `{`.
fn braced(lines: &[&str], start: usize) -> String {
    let mut depth = 0i32;
    let mut opened = false;
    let mut out = Vec::new();
    for line in &lines[start..] {
        out.push(*line);
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            break;
        }
    }
    out.join("\n")
}

/// Whether a test's body checks something real.
fn asserts_something(lang: Lang, body: &str) -> bool {
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with("//"))
        .collect();
    let checks: &[&str] = match lang {
        Lang::Python => &[
            "assert ",
            "assert(",
            "self.assert",
            ".assert_",
            "pytest.raises",
            "assertRaises",
            "pytest.fail",
            "raise AssertionError",
            "pytest.approx",
            "self.fail(",
        ],
        Lang::Rust => &[
            "assert!",
            "assert_eq!",
            "assert_ne!",
            "panic!",
            "should_panic",
            "unwrap()",
            ".expect(",
            "matches!",
            "?;",
            "unreachable!",
        ],
        Lang::Js => &[
            "expect(",
            "assert",
            ".should",
            "t.is(",
            "t.true(",
            "t.deepEqual(",
            "toThrow",
            "rejects",
        ],
        Lang::Go => &[
            "t.Error", "t.Fatal", "t.Fail", "require.", "assert.", "Errorf(", "Fatalf(",
        ],
    };
    lines
        .iter()
        .filter(|l| !trivial_assertion(l))
        .any(|l| checks.iter().any(|c| l.contains(c)))
}

/// `assert True`, `assert 1 == 1`, `assertTrue(True)`, `assert!(true)`,
/// `expect(true).toBe(true)`: an assertion that cannot fail.
fn trivial_assertion(line: &str) -> bool {
    let l: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    let l = l.trim_end_matches(';');
    const TRIVIAL: &[&str] = &[
        "assertTrue",
        "assert1",
        "assertnotFalse",
        "assert(True)",
        "self.assertTrue(True)",
        "self.assertFalse(False)",
        "assert!(true)",
        "assert!(!false)",
        "expect(true).toBe(true)",
        "expect(true).toBeTruthy()",
        "expect(1).toBe(1)",
        "assert.ok(true)",
    ];
    if TRIVIAL.contains(&l) {
        return true;
    }
    // `assert x == x`, `assert_eq!(a, a)`, `self.assertEqual(a, a)`, `expect(a).toBe(a)`.
    let same_sides = |inner: &str, sep: &str| {
        inner
            .split_once(sep)
            .is_some_and(|(a, b)| !a.is_empty() && a == b)
    };
    if let Some(rest) = l.strip_prefix("assert")
        && !rest.starts_with('_')
        && !rest.starts_with('!')
        && !rest.starts_with('E')
    {
        return same_sides(rest.trim_start_matches('('), "==");
    }
    for prefix in [
        "assert_eq!(",
        "self.assertEqual(",
        "assert.equal(",
        "assert.strictEqual(",
    ] {
        if let Some(inner) = l.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            return same_sides(inner, ",");
        }
    }
    if let Some(inner) = l.strip_prefix("expect(")
        && let Some((a, rest)) = inner.split_once(").toBe(")
    {
        return rest.strip_suffix(')') == Some(a);
    }
    false
}

/// Skip / xfail / ignore markers in a text.
fn skip_markers(lang: Lang, text: &str) -> usize {
    let markers: &[&str] = match lang {
        Lang::Python => &[
            "@pytest.mark.skip",
            "@pytest.mark.xfail",
            "pytest.skip(",
            "pytest.xfail(",
            "@unittest.skip",
            "unittest.skip(",
            "self.skipTest(",
            "@unittest.expectedFailure",
            "raise unittest.SkipTest",
            "raise SkipTest",
            "pytest.importorskip(",
        ],
        Lang::Rust => &["#[ignore"],
        Lang::Js => &[
            "it.skip(",
            "test.skip(",
            "describe.skip(",
            "xit(",
            "xdescribe(",
            "xtest(",
            "it.todo(",
            "test.todo(",
            ".skip(",
        ],
        Lang::Go => &["t.Skip(", "t.SkipNow(", "t.Skipf("],
    };
    text.lines()
        .map(|l| markers.iter().filter(|m| l.contains(*m)).count())
        .sum()
}

/// Inline suppressions, by marker.
const SUPPRESSIONS: &[(&str, &str)] = &[
    ("noqa", "# noqa"),
    ("noqa", "#noqa"),
    ("ruff: noqa", "# ruff: noqa"),
    ("flake8: noqa", "# flake8: noqa"),
    ("type: ignore", "type: ignore"),
    ("mypy: ignore-errors", "mypy: ignore-errors"),
    ("nosec", "# nosec"),
    ("pragma: no cover", "pragma: no cover"),
    ("pylint: disable", "pylint: disable"),
    ("pyright: ignore", "pyright: ignore"),
    ("allow(...)", "#[allow("),
    ("allow(...)", "#![allow("),
    ("allow(...)", "allow(clippy"),
    ("eslint-disable", "eslint-disable"),
    ("ts-ignore", "@ts-ignore"),
    ("ts-nocheck", "@ts-nocheck"),
    ("ts-expect-error", "@ts-expect-error"),
    ("nolint", "//nolint"),
    ("nolint", "// nolint"),
    ("istanbul ignore", "istanbul ignore"),
    ("c8 ignore", "c8 ignore"),
];

fn suppression_counts(text: &str) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (name, marker) in SUPPRESSIONS {
            if line.contains(marker) && seen.insert(name) {
                *counts.entry(*name).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Code that turns off checking for everyone: patched assertions, deselected tests,
/// exiting "successfully" mid-run.
const TAMPERING: &[(&str, &str)] = &[
    ("TestCase.assert", "patches unittest's assertions"),
    ("setattr(TestCase", "patches unittest's assertions"),
    ("setattr(unittest", "patches unittest"),
    ("unittest.TestCase.", "patches unittest's TestCase"),
    ("builtins.", "patches builtins"),
    ("setattr(builtins", "patches builtins"),
    ("__builtins__", "patches builtins"),
    ("AssertionError =", "replaces AssertionError"),
    ("sys.modules[\"pytest\"]", "replaces pytest"),
    ("sys.modules['pytest']", "replaces pytest"),
    ("sys.modules[\"unittest\"]", "replaces unittest"),
    ("sys.modules['unittest']", "replaces unittest"),
    (
        "pytest_collection_modifyitems",
        "changes which tests are collected",
    ),
    ("pytest_runtest_makereport", "rewrites test outcomes"),
    ("pytest_runtest_call", "intercepts test calls"),
    ("os._exit(0)", "exits as a success before the run ends"),
    ("PYTHONOPTIMIZE", "turns assertions off"),
    ("sys.flags.optimize", "turns assertions off"),
];

/// Settings files of lint, type and security tools: any change counts.
const TOOL_CONFIG_FILES: &[&str] = &[
    "ruff.toml",
    ".ruff.toml",
    "mypy.ini",
    ".mypy.ini",
    ".flake8",
    ".pylintrc",
    "pylintrc",
    ".bandit",
    "bandit.yaml",
    "bandit.yml",
    ".eslintrc",
    ".eslintrc.js",
    ".eslintrc.cjs",
    ".eslintrc.json",
    ".eslintrc.yml",
    ".eslintrc.yaml",
    "eslint.config.js",
    "eslint.config.mjs",
    "eslint.config.cjs",
    "eslint.config.ts",
    ".golangci.yml",
    ".golangci.yaml",
    ".golangci.toml",
    "clippy.toml",
    ".clippy.toml",
    "pyrightconfig.json",
    "tslint.json",
    "biome.json",
    ".semgrepignore",
];

/// Settings files of test runners and coverage: any change counts.
const TEST_CONFIG_FILES: &[&str] = &[
    "conftest.py",
    "pytest.ini",
    ".coveragerc",
    "noxfile.py",
    "jest.config.js",
    "jest.config.ts",
    "jest.config.mjs",
    "jest.config.cjs",
    "jest.config.json",
    "vitest.config.js",
    "vitest.config.ts",
    "vitest.config.mjs",
    ".mocharc",
    ".mocharc.js",
    ".mocharc.json",
    ".mocharc.yml",
    "karma.conf.js",
    ".nycrc",
    ".nycrc.json",
    ".c8rc",
    ".c8rc.json",
    "sitecustomize.py",
    "usercustomize.py",
];

/// Sections of shared manifests that hold tool or test settings: `(file, section prefix,
/// kind)`. A change inside one of these sections counts; the rest of the file (versions,
/// dependencies) is free to change.
const SECTIONS: &[(&str, &str, &str)] = &[
    ("pyproject.toml", "tool.ruff", "tool_config"),
    ("pyproject.toml", "tool.mypy", "tool_config"),
    ("pyproject.toml", "tool.pylint", "tool_config"),
    ("pyproject.toml", "tool.bandit", "tool_config"),
    ("pyproject.toml", "tool.flake8", "tool_config"),
    ("pyproject.toml", "tool.pyright", "tool_config"),
    ("pyproject.toml", "tool.pytest", "test_config"),
    ("pyproject.toml", "tool.coverage", "test_config"),
    ("setup.cfg", "flake8", "tool_config"),
    ("setup.cfg", "mypy", "tool_config"),
    ("setup.cfg", "pylint", "tool_config"),
    ("setup.cfg", "tool:pytest", "test_config"),
    ("setup.cfg", "coverage:", "test_config"),
    ("tox.ini", "flake8", "tool_config"),
    ("tox.ini", "pytest", "test_config"),
    ("tox.ini", "coverage:", "test_config"),
    ("Cargo.toml", "lints", "tool_config"),
    ("Cargo.toml", "workspace.lints", "tool_config"),
    ("package.json", "eslintConfig", "tool_config"),
    ("package.json", "jest", "test_config"),
    ("package.json", "scripts.test", "test_config"),
    ("tsconfig.json", "compilerOptions", "tool_config"),
];

/// Findings of the comparison of `root` (the checked tree) with `baseline`.
pub fn review(root: &Path, baseline: &Baseline) -> Vec<Finding> {
    let mut out = Vec::new();
    for (path, base) in &baseline.files {
        let head = read_text(&root.join(path));
        review_file(path, base.as_deref(), head.as_deref(), baseline, &mut out);
    }
    out
}

fn read_text(path: &Path) -> Option<String> {
    let meta = path.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_READ {
        return None;
    }
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn finding(out: &mut Vec<Finding>, file: &str, kind: &str, message: String) {
    out.push(
        Finding::at(file, None, Severity::Error, message)
            .with_code(format!("test-integrity/{kind}")),
    );
}

fn review_file(
    path: &str,
    base: Option<&str>,
    head: Option<&str>,
    baseline: &Baseline,
    out: &mut Vec<Finding>,
) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lang = lang_of(path);
    // Tests deleted or removed, skips added, assertions gone.
    if let Some(lang) = lang.filter(|_| is_test_path(path)) {
        let before = base.map(|b| tests_in(lang, b)).unwrap_or_default();
        let after = head.map(|h| tests_in(lang, h)).unwrap_or_default();
        if !baseline.allows("delete_tests") {
            if head.is_none() && base.is_some() {
                finding(
                    out,
                    path,
                    "delete_tests",
                    format!("test file deleted ({} tests in it before)", before.len()),
                );
            } else if after.len() < before.len() {
                let gone: Vec<&str> = before
                    .iter()
                    .filter(|b| !after.iter().any(|a| a.name == b.name))
                    .map(|b| b.name.as_str())
                    .collect();
                finding(
                    out,
                    path,
                    "delete_tests",
                    format!(
                        "{} → {} tests; removed: {}",
                        before.len(),
                        after.len(),
                        gone.join(", ")
                    ),
                );
            }
        }
        if !baseline.allows("skip_tests") {
            let (b, a) = (
                base.map_or(0, |t| skip_markers(lang, t)),
                head.map_or(0, |t| skip_markers(lang, t)),
            );
            if a > b {
                finding(
                    out,
                    path,
                    "skip_tests",
                    format!("{} new skip/xfail/ignore marker(s)", a - b),
                );
            }
        }
        for test in &after {
            let unchanged = before
                .iter()
                .any(|b| b.name == test.name && b.body == test.body);
            if !unchanged && !asserts_something(lang, &test.body) {
                finding(
                    out,
                    path,
                    "edit_tests",
                    format!(
                        "test `{}` asserts nothing real (no assertion, or one that cannot fail)",
                        test.name
                    ),
                );
            }
        }
    }
    // Suppressions added anywhere.
    if let Some(head) = head
        && !baseline.allows("suppressions")
    {
        let before = base.map(suppression_counts).unwrap_or_default();
        for (marker, count) in suppression_counts(head) {
            let was = before.get(marker).copied().unwrap_or(0);
            if count > was {
                finding(
                    out,
                    path,
                    "suppressions",
                    format!("{} new `{marker}` suppression(s)", count - was),
                );
            }
        }
    }
    // Settings files.
    let changed = base != head;
    if changed && TOOL_CONFIG_FILES.contains(&name) && !baseline.allows("tool_config") {
        finding(
            out,
            path,
            "tool_config",
            "lint / type-check / security settings changed".into(),
        );
    }
    if changed && TEST_CONFIG_FILES.contains(&name) && !baseline.allows("test_config") {
        finding(
            out,
            path,
            "test_config",
            format!("test-runner settings changed ({name})"),
        );
    }
    if changed {
        for (file, section, kind) in SECTIONS {
            if name != *file || baseline.allows(kind) {
                continue;
            }
            let before = base
                .map(|t| section_text(name, t, section))
                .unwrap_or_default();
            let after = head
                .map(|t| section_text(name, t, section))
                .unwrap_or_default();
            if before != after {
                finding(
                    out,
                    path,
                    kind,
                    format!("settings `[{section}]` changed in {name}"),
                );
            }
        }
    }
    // Code that disables checking, in added lines.
    if let Some(head) = head {
        let base_lines: BTreeSet<&str> = base.map(|b| b.lines().collect()).unwrap_or_default();
        for (n, line) in head.lines().enumerate() {
            if base_lines.contains(line) {
                continue;
            }
            let code = line.trim();
            if code.starts_with('#') || code.starts_with("//") {
                continue;
            }
            if let Some((pattern, what)) = TAMPERING.iter().find(|(p, _)| code.contains(p)) {
                let _ = pattern;
                out.push(
                    Finding::at(
                        path,
                        Some(n as u32 + 1),
                        Severity::Error,
                        format!("{what}: tests must not be tampered with"),
                    )
                    .with_code("test-integrity/tampering"),
                );
            }
        }
    }
}

/// The text of one settings section, normalised, for comparison.
fn section_text(file: &str, text: &str, section: &str) -> String {
    if file.ends_with(".json") {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            return text.to_owned();
        };
        let mut at = &value;
        for key in section.split('.') {
            match at.get(key) {
                Some(v) => at = v,
                None => return String::new(),
            }
        }
        return at.to_string();
    }
    if file.ends_with(".toml") {
        let Ok(value) = text.parse::<toml::Table>() else {
            return text.to_owned();
        };
        let mut at = toml::Value::Table(value);
        for key in section.split('.') {
            match at.get(key) {
                Some(v) => at = v.clone(),
                None => return String::new(),
            }
        }
        return at.to_string();
    }
    // INI: every `[name]` section whose name starts with `section`.
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            inside = t[1..t.len() - 1].trim().starts_with(section);
            if inside {
                out.push_str(t);
                out.push('\n');
            }
            continue;
        }
        if inside && !t.is_empty() && !t.starts_with('#') && !t.starts_with(';') {
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}

/// Test files that existed before and were changed or deleted (when the task may not edit
/// or delete tests): each with a name its runner still collects and its base content, to
/// be written beside the checked tree's own tests, so the tests the work was measured by
/// run as they were. Go test files are left out (a copy would redeclare its package's
/// tests); Rust only for integration tests (`tests/*.rs`).
pub fn acceptance_copies(baseline: &Baseline, root: &Path) -> Vec<(String, String)> {
    if baseline.allows("edit_tests") && baseline.allows("delete_tests") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (path, base) in &baseline.files {
        let Some(base) = base else { continue };
        let Some(lang) = lang_of(path).filter(|_| is_test_path(path)) else {
            continue;
        };
        let head = read_text(&root.join(path));
        if head.as_deref() == Some(base.as_str()) {
            continue;
        }
        if tests_in(lang, base).is_empty() {
            continue;
        }
        let copy = match lang {
            Lang::Python => {
                let (dir, name) = path
                    .rsplit_once('/')
                    .map_or(("", path.as_str()), |(d, n)| (d, n));
                let stem = name.trim_end_matches(".py");
                let new = if stem.ends_with("_test") {
                    format!("{}_orchbase_test.py", stem.trim_end_matches("_test"))
                } else {
                    format!("{stem}_orchbase.py")
                };
                if dir.is_empty() {
                    new
                } else {
                    format!("{dir}/{new}")
                }
            }
            Lang::Js => match path.rfind(".test.").or_else(|| path.rfind(".spec.")) {
                Some(i) => format!("{}.orchbase{}", &path[..i], &path[i..]),
                None => continue,
            },
            Lang::Rust if path.starts_with("tests/") || path.contains("/tests/") => {
                format!("{}_orchbase.rs", path.trim_end_matches(".rs"))
            }
            _ => continue,
        };
        if root.join(&copy).exists() {
            continue;
        }
        out.push((copy, base.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(files: &[(&str, Option<&str>)]) -> Baseline {
        Baseline {
            files: files
                .iter()
                .map(|(p, t)| ((*p).to_owned(), t.map(str::to_owned)))
                .collect(),
            allow: BTreeSet::new(),
        }
    }

    fn review_texts(path: &str, base: Option<&str>, head: Option<&str>) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        if let Some(head) = head {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, head).unwrap();
        }
        review(dir.path(), &baseline(&[(path, base)]))
            .into_iter()
            .map(|f| format!("{}: {}", f.code.unwrap_or_default(), f.message))
            .collect()
    }

    const TESTS: &str = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_neg():\n    assert add(-1, 1) == 0\n";

    #[test]
    fn weakened_python_tests_are_found() {
        let deleted = review_texts("tests/test_calc.py", Some(TESTS), None);
        assert!(
            deleted[0].contains("test file deleted (2 tests"),
            "{deleted:?}"
        );
        let fewer = review_texts(
            "tests/test_calc.py",
            Some(TESTS),
            Some("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"),
        );
        assert!(
            fewer[0].contains("2 → 1 tests; removed: test_neg"),
            "{fewer:?}"
        );
        let skipped = review_texts(
            "tests/test_calc.py",
            Some(TESTS),
            Some(&TESTS.replace("def test_neg", "@pytest.mark.skip\ndef test_neg")),
        );
        assert!(skipped.iter().any(|f| f.contains("skip")), "{skipped:?}");
        let trivial = review_texts(
            "tests/test_calc.py",
            Some(TESTS),
            Some(&TESTS.replace("assert add(-1, 1) == 0", "assert True")),
        );
        assert!(
            trivial
                .iter()
                .any(|f| f.contains("`test_neg` asserts nothing")),
            "{trivial:?}"
        );
        let empty = review_texts(
            "tests/test_new.py",
            None,
            Some("def test_it():\n    add(1, 2)\n"),
        );
        assert!(
            empty
                .iter()
                .any(|f| f.contains("`test_it` asserts nothing")),
            "{empty:?}"
        );
        let same = review_texts(
            "tests/test_new.py",
            None,
            Some("def test_it():\n    x = 1\n    assert x == x\n"),
        );
        assert!(
            same.iter().any(|f| f.contains("asserts nothing")),
            "{same:?}"
        );
        let honest = review_texts(
            "tests/test_calc.py",
            Some(TESTS),
            Some(&format!(
                "{TESTS}\n\ndef test_big():\n    assert add(10, 20) == 30  # the sum\n"
            )),
        );
        assert!(honest.is_empty(), "{honest:?}");
    }

    #[test]
    fn suppressions_settings_and_tampering_are_found() {
        let noqa = review_texts(
            "calc.py",
            Some("import os\n"),
            Some("import os  # noqa\nx = eval(s)  # nosec\n"),
        );
        assert!(
            noqa.iter().any(|f| f.contains("`noqa`")) && noqa.iter().any(|f| f.contains("`nosec`")),
            "{noqa:?}"
        );
        let kept = review_texts(
            "calc.py",
            Some("import os  # noqa\n"),
            Some("import os  # noqa\nx = 1\n"),
        );
        assert!(kept.is_empty(), "{kept:?}");
        let ruff = review_texts(
            "pyproject.toml",
            Some("[project]\nname = \"a\"\n[tool.ruff]\nselect = [\"E\", \"F\"]\n"),
            Some("[project]\nname = \"a\"\ndependencies = [\"x\"]\n[tool.ruff]\nselect = []\n"),
        );
        assert_eq!(ruff.len(), 1, "{ruff:?}");
        assert!(ruff[0].contains("tool.ruff"), "{ruff:?}");
        let deps_only = review_texts(
            "pyproject.toml",
            Some("[project]\nname = \"a\"\n"),
            Some("[project]\nname = \"a\"\ndependencies = [\"x\"]\n"),
        );
        assert!(deps_only.is_empty(), "{deps_only:?}");
        let conftest = review_texts(
            "tests/conftest.py",
            None,
            Some("import unittest\nunittest.TestCase.assertEqual = lambda *a: None\n"),
        );
        assert!(
            conftest.iter().any(|f| f.contains("test_config")),
            "{conftest:?}"
        );
        assert!(
            conftest.iter().any(|f| f.contains("tampering")),
            "{conftest:?}"
        );
        let rust = review_texts(
            "src/lib.rs",
            Some("pub fn a() {}\n"),
            Some("#![allow(dead_code)]\npub fn a() {}\n"),
        );
        assert!(rust.iter().any(|f| f.contains("allow(...)")), "{rust:?}");
    }

    #[test]
    fn allowances_permit_their_kind_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = baseline(&[("tests/test_calc.py", Some(TESTS))]);
        b.allow.insert("delete_tests".into());
        assert!(review(dir.path(), &b).is_empty());
        let copies = acceptance_copies(&b, dir.path());
        assert_eq!(
            copies,
            vec![("tests/test_calc_orchbase.py".to_owned(), TESTS.to_owned())]
        );
        b.allow.insert("edit_tests".into());
        assert!(acceptance_copies(&b, dir.path()).is_empty());
    }

    #[test]
    fn rust_and_js_tests_are_counted() {
        let rust = "#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}\n\n#[test]\nfn subs() {\n    assert_eq!(sub(2, 1), 1);\n}\n";
        assert_eq!(tests_in(Lang::Rust, rust).len(), 2);
        let weakened = review_texts(
            "tests/api.rs",
            Some(rust),
            Some(
                &rust
                    .replace("assert_eq!(sub(2, 1), 1);", "assert!(true);")
                    .replace("#[test]\nfn adds", "#[test]\n#[ignore]\nfn adds"),
            ),
        );
        assert!(weakened.iter().any(|f| f.contains("skip")), "{weakened:?}");
        assert!(
            weakened
                .iter()
                .any(|f| f.contains("`subs` asserts nothing")),
            "{weakened:?}"
        );
        let js = "test('adds', () => {\n  expect(add(1, 2)).toBe(3);\n});\n";
        let skipped = review_texts(
            "src/add.test.js",
            Some(js),
            Some(&js.replace("test(", "test.skip(")),
        );
        assert!(skipped.iter().any(|f| f.contains("skip")), "{skipped:?}");
    }
}
