//! Python tests and integration tests: pytest with pytest-cov, or unittest.
//!
//! One pytest run serves both dimensions: it prints a line per test (`-rfEp`), and the
//! integration dimension reads the lines of its directory from it instead of running those
//! tests a second time. It runs them on their own only when the full run cannot say (it
//! stopped at a collection error, or ran none of them), or when the tests dimension is not
//! evaluated.

use std::path::PathBuf;

use crate::check::{CheckContext, Part, PartOutcome, label, last_lines, outcome};
use crate::command::{CommandLine, CommandOutput};
use crate::lang::python::{has_module, is_missing_module, py, run_module};
use crate::lang::rust::{test_verdict, with};
use crate::parse;
use crate::project::Toolchain;
use crate::report::{Dimension, Finding, Severity};

/// unittest discovery from the start directory, plus the test folders that are not
/// packages (`tests/` without `__init__.py`: plain discovery would not look inside), each
/// with itself as the top level so its modules import; the project root stays importable.
const UNITTEST_SCRIPT: &str = r#"
import os, sys, unittest
start = sys.argv[1]
loader = unittest.TestLoader()
suite = unittest.TestSuite()
suite.addTests(loader.discover(start, pattern="test*.py", top_level_dir="."))
for d in ("tests", "test"):
    folder = os.path.join(start, d)
    if os.path.isdir(folder) and not os.path.exists(os.path.join(folder, "__init__.py")):
        suite.addTests(unittest.TestLoader().discover(folder, pattern="test*.py", top_level_dir=folder))
result = unittest.TextTestRunner(verbosity=1).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
"#;

/// Where integration tests usually live.
const INTEGRATION_DIRS: &[&str] = &["tests/integration", "tests/e2e", "integration_tests", "e2e"];

fn is_test_file(f: &str) -> bool {
    let name = f.rsplit('/').next().unwrap_or(f);
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

fn prefix(t: &Toolchain) -> String {
    if t.dir.is_empty() {
        String::new()
    } else {
        format!("{}/", t.dir)
    }
}

/// pytest, quiet, with a line per failed, erroring and passing test.
fn pytest(ctx: &CheckContext, t: &Toolchain) -> CommandLine {
    py(
        ctx,
        t,
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rfEp",
            "--no-header",
        ],
    )
}

/// The whole suite as the tests dimension runs it.
struct FullRun {
    /// What ran, for the report.
    commands: Vec<String>,
    out: CommandOutput,
    /// Where pytest-cov wrote its report, when it was there to.
    coverage_json: Option<PathBuf>,
}

/// Runs the whole suite, with coverage when pytest-cov is installed; `Ok(None)` when pytest
/// is not. Identical for every caller, so the runner runs it once per gate run.
async fn full_run(ctx: &CheckContext, t: &Toolchain) -> Result<Option<FullRun>, PartOutcome> {
    let key = crate::lang::python::cache_key(t);
    let coverage_json = ctx.scratch.join(format!("py-coverage-{key}.json"));
    let rc = ctx.scratch.join("coveragerc");
    // Both dimensions get here: replaced whole (renamed), never truncated under a reader.
    let tmp = ctx
        .scratch
        .join(format!("coveragerc-{}", std::process::id()));
    let text = "[run]\nomit =\n    */tests/*\n    */test_*.py\n    *_test.py\n    */conftest.py\n";
    if !rc.exists() && std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, &rc);
    }
    let with_coverage = pytest(ctx, t)
        .args([
            "--cov=.".to_owned(),
            format!("--cov-config={}", rc.display()),
            format!("--cov-report=json:{}", coverage_json.display()),
            "--cov-report=".to_owned(),
            ".".to_owned(),
        ])
        .env(
            "COVERAGE_FILE",
            ctx.scratch
                .join(format!(".coverage-{key}"))
                .to_string_lossy(),
        );
    let mut part = Part::new("");
    let Some(out) = run_module(ctx, &mut part, &with_coverage, "pytest").await? else {
        return Ok(None);
    };
    // pytest refuses `--cov` without pytest-cov: asked only then, so that a project cannot
    // turn coverage off by refusing the option while pytest-cov is installed.
    let refused = out.code == Some(4)
        && out
            .combined()
            .lines()
            .any(|l| l.contains("unrecognized arguments:") && l.contains(" --cov="));
    if refused && !has_module(ctx, t, "pytest_cov").await {
        ctx.saw_python_module("pytest_cov", false);
        let plain = pytest(ctx, t).args(["."]);
        let out = outcome(ctx, &plain, ctx.runner.run(&plain).await)?;
        if is_missing_module(&out, "pytest") {
            return Ok(None);
        }
        return Ok(Some(FullRun {
            commands: vec![plain.display()],
            out,
            coverage_json: None,
        }));
    }
    ctx.saw_python_module("pytest_cov", true);
    Ok(Some(FullRun {
        commands: part.commands,
        out,
        coverage_json: Some(coverage_json),
    }))
}

pub(crate) async fn tests(ctx: &CheckContext, t: &Toolchain, integration_only: bool) -> Part {
    let mut part = Part::new(label(t));
    let prefix = prefix(t);
    if !integration_only {
        if !ctx
            .project
            .files_of(t, &[".py"])
            .iter()
            .any(|f| is_test_file(f))
        {
            return part.skip("the project has no tests (test_*.py)");
        }
        return match full_run(ctx, t).await {
            Ok(Some(run)) => {
                part.commands = run.commands;
                pytest_verdict(ctx, t, part, &run.out, run.coverage_json, true)
            }
            Ok(None) => unittest(ctx, t, part, ".").await,
            Err(o) => with(part, o),
        };
    }
    let Some(target) = INTEGRATION_DIRS.iter().find(|d| {
        let dir = format!("{prefix}{d}/");
        ctx.project
            .files
            .iter()
            .any(|f| f.starts_with(&dir) && is_test_file(f))
    }) else {
        return part.skip("no integration tests (tests/integration, tests/e2e)");
    };
    if ctx.evaluated.contains(&Dimension::Tests) {
        match full_run(ctx, t).await {
            Ok(Some(run)) => {
                if let Some(out) = integration_subset(ctx, t, &run.out, target) {
                    part.commands = run.commands;
                    return pytest_verdict(ctx, t, part, &out, None, false);
                }
            }
            Ok(None) => return unittest(ctx, t, part, target).await,
            // A timeout or a crash of the whole suite: the integration tests on their own.
            Err(_) => {}
        }
    }
    let cmd = pytest(ctx, t).args([*target]);
    match run_module(ctx, &mut part, &cmd, "pytest").await {
        Ok(Some(out)) => pytest_verdict(ctx, t, part, &out, None, false),
        Ok(None) => unittest(ctx, t, part, target).await,
        Err(o) => with(part, o),
    }
}

/// The part for pytest's output `out`: its counts, failures and (for the whole suite)
/// coverage.
fn pytest_verdict(
    ctx: &CheckContext,
    t: &Toolchain,
    mut part: Part,
    out: &CommandOutput,
    coverage_json: Option<PathBuf>,
    whole_suite: bool,
) -> Part {
    if out.code == Some(5) {
        return part.skip("pytest collected no tests");
    }
    let mut counts = parse::pytest_counts(&out.stdout);
    if !counts.found {
        part.findings.push(Finding::general(
            Severity::Error,
            format!("the tests did not run: {}", last_lines(&out.combined(), 4)),
        ));
        part.metrics = parse::metrics(&[("not_built", 1.0)]);
        return part.ran(0.0, false);
    }
    for f in &mut counts.failures {
        f.file = f.file.take().map(|file| rel(ctx, t, &file));
    }
    let coverage = coverage_json
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|j| parse::coverage_py_percent(&j));
    if whole_suite && coverage.is_none() {
        part.findings.push(Finding::general(
            Severity::Info,
            "coverage not measured: pytest-cov is not installed",
        ));
    }
    test_verdict(ctx, part, counts, coverage)
}

/// What a run of `dir` alone would have printed, read from the whole suite's per-test lines
/// (`PASSED`/`FAILED`/`ERROR <nodeid>`): those of `dir`, then their summary. `None` when the
/// whole run cannot say: it did not run every test (a collection error stops it before any,
/// `-x` after a failure), it ran none of `dir`'s tests, or its paths are not relative to
/// the toolchain directory (pytest's rootdir elsewhere).
fn integration_subset(
    ctx: &CheckContext,
    t: &Toolchain,
    full: &CommandOutput,
    dir: &str,
) -> Option<CommandOutput> {
    // 0: all passed, 1: some failed; anything else (interrupted, usage) is no per-test answer.
    if !matches!(full.code, Some(0 | 1)) || !parse::pytest_counts(&full.stdout).found {
        return None;
    }
    let prefix = prefix(t);
    let within = format!("{dir}/");
    let (mut passed, mut failed, mut lines) = (0usize, 0usize, Vec::new());
    // Only the summary pytest writes after the tests: what the tests print comes before.
    let summary = full.stdout.rsplit_once(" short test summary info ")?.1;
    // `!!! stopping after 1 failures !!!` (`-x`, `--maxfail`): some tests never ran.
    if summary.lines().any(|l| l.starts_with("!!!")) {
        return None;
    }
    for line in summary.lines() {
        let Some((outcome, rest)) = line.split_once(' ') else {
            continue;
        };
        if !matches!(outcome, "PASSED" | "FAILED" | "ERROR") {
            continue;
        }
        let path = rest
            .split(|c: char| c.is_whitespace() || c == ':')
            .next()
            .unwrap_or_default();
        if ctx
            .project
            .files
            .binary_search(&format!("{prefix}{path}"))
            .is_err()
        {
            return None;
        }
        if !path.starts_with(&within) {
            continue;
        }
        if outcome == "PASSED" {
            passed += 1;
        } else {
            failed += 1;
            lines.push(line);
        }
    }
    if passed + failed == 0 {
        return None;
    }
    let mut stdout = lines.join("\n");
    stdout.push_str(&format!("\n{failed} failed, {passed} passed in 0.00s\n"));
    Some(CommandOutput {
        code: Some(if failed == 0 { 0 } else { 1 }),
        stdout,
        stderr: String::new(),
        duration: full.duration,
        timed_out: false,
    })
}

/// unittest, where pytest is not installed.
async fn unittest(ctx: &CheckContext, t: &Toolchain, mut part: Part, start: &str) -> Part {
    part.label = format!("{} (unittest)", label(t));
    let cmd = py(ctx, t, &["-c", UNITTEST_SCRIPT, start]);
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let counts = parse::unittest_counts(&out.stderr);
    if !counts.found {
        return part.error(format!(
            "unittest printed no summary: {}",
            last_lines(&out.stderr, 3)
        ));
    }
    part.findings.push(Finding::general(
        Severity::Info,
        "coverage not measured: pytest and pytest-cov are not installed",
    ));
    test_verdict(ctx, part, counts, None)
}

fn rel(ctx: &CheckContext, t: &Toolchain, file: &str) -> String {
    crate::lang::python::rel(ctx, t, file)
}
