//! Python: the interpreter's own parser (syntax), mypy (types), ruff or pylint (lint),
//! bandit (security), pytest with pytest-cov or unittest (tests, integration).
//! Tool caches go to the scratch directory, never into the tree being checked.

use crate::check::in_scope_findings;
use crate::check::{CheckContext, Part, code_text, label, last_lines};
use crate::command::CommandLine;
use crate::lang::rust::{lint_verdict, test_verdict, with};
use crate::parse;
use crate::project::Toolchain;
use crate::report::{Finding, Severity};

/// Compiles each listed file with `compile()`; prints one JSON line per syntax error.
const COMPILE_SCRIPT: &str = r#"
import json, sys
for path in open(sys.argv[1], encoding="utf-8").read().splitlines():
    try:
        with open(path, "rb") as f:
            compile(f.read(), path, "exec", dont_inherit=True)
    except SyntaxError as e:
        print(json.dumps({"file": path, "line": e.lineno, "msg": e.msg}))
    except (ValueError, OSError) as e:
        print(json.dumps({"file": path, "line": None, "msg": str(e)}))
"#;

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

fn py(ctx: &CheckContext, t: &Toolchain, args: &[&str]) -> CommandLine {
    CommandLine::new(&ctx.project.dir_of(t), &ctx.config.python, args)
}

/// Modules any Python check may ask about: probed together, once per gate run (the
/// runner shares identical commands), with `find_spec` rather than an import.
const PROBED_MODULES: &[&str] = &["mypy", "ruff", "pylint", "bandit", "pytest", "pytest_cov"];

/// Whether `python3 -m <module>` would find the module.
async fn has_module(ctx: &CheckContext, t: &Toolchain, module: &str) -> bool {
    let probe =
        py(ctx, t, &["-c", crate::tools::FIND_MODULES_SCRIPT]).args(PROBED_MODULES.iter().copied());
    if !PROBED_MODULES.contains(&module) {
        let single = py(ctx, t, &["-c", crate::tools::FIND_MODULES_SCRIPT, module]);
        return found_in(ctx.runner.run(&single).await, module);
    }
    found_in(ctx.runner.run(&probe).await, module)
}

fn found_in(
    out: Result<crate::command::CommandOutput, crate::command::CommandError>,
    module: &str,
) -> bool {
    out.ok()
        .filter(|o| o.success())
        .and_then(|o| serde_json::from_str::<serde_json::Value>(o.stdout.trim()).ok())
        .and_then(|v| v.get(module).and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

fn sources<'a>(ctx: &'a CheckContext, t: &Toolchain) -> Vec<&'a str> {
    ctx.project.files_of(t, &[".py"])
}

/// Paths tools print relative to the toolchain directory (or absolute), made relative to the
/// project root.
fn rel(ctx: &CheckContext, t: &Toolchain, file: &str) -> String {
    let root = ctx.project.root.to_string_lossy();
    let file = file.trim_start_matches("./");
    if let Some(stripped) = file.strip_prefix(&*root) {
        return stripped.trim_start_matches('/').to_owned();
    }
    if t.dir.is_empty() {
        file.to_owned()
    } else {
        format!("{}/{file}", t.dir)
    }
}

pub(crate) async fn syntax(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    let files = sources(ctx, t);
    if files.is_empty() {
        return part.skip("no Python files");
    }
    let list = ctx
        .scratch
        .join(format!("py-files-{}.txt", t.dir.replace('/', "_")));
    if let Err(e) = std::fs::write(&list, files.join("\n")) {
        return part.error(format!("cannot write {}: {e}", list.display()));
    }
    let cmd = CommandLine::new(
        &ctx.project.root,
        &ctx.config.python,
        &["-c", COMPILE_SCRIPT],
    )
    .args([list.to_string_lossy().into_owned()]);
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    if !out.success() {
        return part.error(format!(
            "{} exited with {}: {}",
            ctx.config.python,
            code_text(out.code),
            last_lines(&out.stderr, 3)
        ));
    }
    for line in out.stdout.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            part.findings.push(Finding::at(
                v["file"].as_str().unwrap_or_default(),
                v["line"].as_u64().map(|l| l as u32),
                Severity::Error,
                v["msg"].as_str().unwrap_or("syntax error"),
            ));
        }
    }
    let n = part.findings.len();
    part.metrics = parse::metrics(&[("errors", n as f64), ("files", files.len() as f64)]);
    part.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
}

pub(crate) async fn types(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(format!("{} (mypy)", label(t)));
    if sources(ctx, t).is_empty() {
        return part.skip("no Python files");
    }
    if !has_module(ctx, t, "mypy").await {
        return part.skip("mypy is not installed (pip install mypy)");
    }
    let cache = ctx.scratch.join("mypy-cache");
    let cmd = py(
        ctx,
        t,
        &[
            "-m",
            "mypy",
            "--no-error-summary",
            "--show-column-numbers",
            "--no-color-output",
            "--ignore-missing-imports",
            "--explicit-package-bases",
            "--exclude",
            "(^|/)(\\.venv|venv|build|dist)/",
            "--cache-dir",
        ],
    )
    .args([cache.to_string_lossy().into_owned(), ".".into()]);
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let mut findings = parse::colon_diagnostics(&out.stdout, Severity::Error);
    for f in &mut findings {
        f.file = f.file.take().map(|file| rel(ctx, t, &file));
    }
    if findings.iter().any(|f| f.code.as_deref() == Some("syntax")) {
        part.findings.push(Finding::general(
            Severity::Error,
            "type checking did not complete: the code does not parse (see syntax)",
        ));
        return part.ran(0.0, false);
    }
    if !out.success() && findings.is_empty() {
        return part.error(format!(
            "mypy exited with {}: {}",
            code_text(out.code),
            last_lines(&out.combined(), 3)
        ));
    }
    part.zero_errors(findings)
}

pub(crate) async fn lint(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    if sources(ctx, t).is_empty() {
        return part.skip("no Python files");
    }
    let ruff_bin = crate::command::on_path("ruff");
    let findings = if ruff_bin || has_module(ctx, t, "ruff").await {
        part.label = format!("{} (ruff)", label(t));
        let args = [
            "check",
            "--output-format",
            "json",
            "--no-cache",
            "--exit-zero",
            ".",
        ];
        let cmd = if ruff_bin {
            CommandLine::new(&ctx.project.dir_of(t), "ruff", &args)
        } else {
            py(ctx, t, &["-m", "ruff"]).args(args)
        };
        match part.exec(ctx, &cmd).await {
            Ok(out) => match parse::ruff_findings(&out.stdout) {
                Some(f) => f,
                None => {
                    return part.error(format!(
                        "ruff printed no report: {}",
                        last_lines(&out.stderr, 3)
                    ));
                }
            },
            Err(o) => return with(part, o),
        }
    } else if has_module(ctx, t, "pylint").await {
        part.label = format!("{} (pylint)", label(t));
        let cmd = py(
            ctx,
            t,
            &[
                "-m",
                "pylint",
                "--output-format=json",
                "--recursive=y",
                "--disable=C,R",
                ".",
            ],
        );
        match part.exec(ctx, &cmd).await {
            Ok(out) => match parse::pylint_findings(&out.stdout) {
                Some(f) => f,
                None => {
                    return part.error(format!(
                        "pylint printed no report: {}",
                        last_lines(&out.stderr, 3)
                    ));
                }
            },
            Err(o) => return with(part, o),
        }
    } else {
        return part.skip("neither ruff nor pylint is installed (pip install ruff)");
    };
    part.findings = in_scope_findings(ctx, findings, |file| rel(ctx, t, file));
    lint_verdict(ctx, part)
}

pub(crate) async fn security(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(format!("{} (bandit)", label(t)));
    if sources(ctx, t).is_empty() {
        return part.skip("no Python files");
    }
    if !has_module(ctx, t, "bandit").await {
        return part.skip("bandit is not installed (pip install bandit)");
    }
    // Tests are left out: `assert` is how they work, not a vulnerability.
    let cmd = py(
        ctx,
        t,
        &[
            "-m",
            "bandit",
            "-r",
            ".",
            "-f",
            "json",
            "-q",
            "-x",
            "./tests,./test,./.venv,./venv,./node_modules",
        ],
    );
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let Some(findings) = parse::bandit_findings(&out.stdout) else {
        return part.error(format!(
            "bandit printed no report: {}",
            last_lines(&out.stderr, 3)
        ));
    };
    part.findings = findings
        .into_iter()
        .map(|mut f| {
            f.file = f.file.take().map(|file| rel(ctx, t, &file));
            f
        })
        .collect();
    security_verdict(part)
}

/// Security passes with no high-severity finding; medium ones cost 10% each.
pub(crate) fn security_verdict(mut part: Part) -> Part {
    let high = part
        .findings
        .iter()
        .filter(|f| f.severity == Severity::High)
        .count();
    let medium = part
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    part.metrics = parse::metrics(&[("high", high as f64), ("medium", medium as f64)]);
    part.ran(1.0 - 0.5 * high as f64 - 0.1 * medium as f64, high == 0)
}

fn is_test_file(f: &str) -> bool {
    let name = f.rsplit('/').next().unwrap_or(f);
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

/// Where integration tests usually live.
const INTEGRATION_DIRS: &[&str] = &["tests/integration", "tests/e2e", "integration_tests", "e2e"];

pub(crate) async fn tests(ctx: &CheckContext, t: &Toolchain, integration_only: bool) -> Part {
    let mut part = Part::new(label(t));
    let prefix = if t.dir.is_empty() {
        String::new()
    } else {
        format!("{}/", t.dir)
    };
    let target = if integration_only {
        match INTEGRATION_DIRS.iter().find(|d| {
            let dir = format!("{prefix}{d}/");
            ctx.project
                .files
                .iter()
                .any(|f| f.starts_with(&dir) && is_test_file(f))
        }) {
            Some(d) => (*d).to_owned(),
            None => return part.skip("no integration tests (tests/integration, tests/e2e)"),
        }
    } else {
        if !ctx
            .project
            .files_of(t, &[".py"])
            .iter()
            .any(|f| is_test_file(f))
        {
            return part.skip("the project has no tests (test_*.py)");
        }
        ".".to_owned()
    };
    let key = t.dir.replace('/', "_");
    if has_module(ctx, t, "pytest").await {
        let mut cmd = py(
            ctx,
            t,
            &[
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-rfE",
                "--no-header",
            ],
        );
        let coverage_json = ctx
            .scratch
            .join(format!("py-coverage-{key}-{integration_only}.json"));
        let with_coverage = !integration_only && has_module(ctx, t, "pytest_cov").await;
        if with_coverage {
            let rc = ctx.scratch.join("coveragerc");
            let _ = std::fs::write(
                &rc,
                "[run]\nomit =\n    */tests/*\n    */test_*.py\n    *_test.py\n    */conftest.py\n",
            );
            cmd = cmd
                .args([
                    "--cov=.".to_owned(),
                    format!("--cov-config={}", rc.display()),
                    format!("--cov-report=json:{}", coverage_json.display()),
                    "--cov-report=".to_owned(),
                ])
                .env(
                    "COVERAGE_FILE",
                    ctx.scratch
                        .join(format!(".coverage-{key}"))
                        .to_string_lossy(),
                );
        }
        let cmd = cmd.args([target]);
        let out = match part.exec(ctx, &cmd).await {
            Ok(out) => out,
            Err(o) => return with(part, o),
        };
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
        let coverage = std::fs::read_to_string(&coverage_json)
            .ok()
            .and_then(|j| parse::coverage_py_percent(&j));
        if !integration_only && coverage.is_none() {
            part.findings.push(Finding::general(
                Severity::Info,
                "coverage not measured: pytest-cov is not installed",
            ));
        }
        return test_verdict(ctx, part, counts, coverage);
    }
    part.label = format!("{} (unittest)", label(t));
    let start = if integration_only {
        target.as_str()
    } else {
        "."
    };
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
