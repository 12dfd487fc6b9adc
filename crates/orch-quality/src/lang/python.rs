//! Python: the interpreter's own parser (syntax), mypy (types), ruff or pylint (lint),
//! bandit (security); the tests are in [`super::pytest`]. Tool caches go to the persistent
//! tool cache or the scratch directory, never into the tree being checked.
//!
//! No probe runs before a tool: `python -m <tool>` answers `No module named <tool>` when
//! it is not installed (the lookup `find_spec` makes), so an installed tool costs nothing
//! extra.

use std::path::PathBuf;

use crate::check::in_scope_findings;
use crate::check::{CheckContext, Part, PartOutcome, code_text, label, last_lines};
use crate::command::{CommandLine, CommandOutput};
use crate::lang::rust::{lint_verdict, with};
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

pub(crate) fn py(ctx: &CheckContext, t: &Toolchain, args: &[&str]) -> CommandLine {
    CommandLine::new(&ctx.project.dir_of(t), &ctx.config.python, args)
}

/// Whether `python -m <module>` would find the module, asked with `find_spec` (no import).
/// Only where running the tool cannot tell (pytest-cov, when pytest refuses `--cov`).
pub(crate) async fn has_module(ctx: &CheckContext, t: &Toolchain, module: &str) -> bool {
    let probe = py(ctx, t, &["-c", crate::tools::FIND_MODULES_SCRIPT, module]);
    ctx.runner
        .run(&probe)
        .await
        .ok()
        .filter(|o| o.success())
        .and_then(|o| serde_json::from_str::<serde_json::Value>(o.stdout.trim()).ok())
        .and_then(|v| v.get(module).and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

/// Whether `out` is Python's own answer to `python -m <module>` for a module it cannot find
/// (`…/python3: No module named mypy`).
pub(crate) fn is_missing_module(out: &CommandOutput, module: &str) -> bool {
    let answer = format!(": No module named {module}");
    out.code == Some(1)
        && out.stdout.trim().is_empty()
        && out.stderr.lines().any(|l| l.trim_end().ends_with(&answer))
}

/// Runs `cmd` (`python -m <module> …`) for `part`: `Ok(None)` when the module or the
/// interpreter is not installed, and then the command is left out of the part's record
/// (it was a probe, as far as the report goes).
pub(crate) async fn run_module(
    ctx: &CheckContext,
    part: &mut Part,
    cmd: &CommandLine,
    module: &str,
) -> Result<Option<CommandOutput>, PartOutcome> {
    let out = match part.exec(ctx, cmd).await {
        Ok(out) => out,
        Err(PartOutcome::Skipped(_)) => {
            part.commands.pop();
            return Ok(None);
        }
        Err(other) => return Err(other),
    };
    let found = !is_missing_module(&out, module);
    ctx.saw_python_module(module, found);
    if !found {
        part.commands.pop();
        return Ok(None);
    }
    Ok(Some(out))
}

fn sources<'a>(ctx: &'a CheckContext, t: &Toolchain) -> Vec<&'a str> {
    ctx.project.files_of(t, &[".py"])
}

/// Paths tools print relative to the toolchain directory (or absolute), made relative to the
/// project root.
pub(crate) fn rel(ctx: &CheckContext, t: &Toolchain, file: &str) -> String {
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
    // `-S`: no `site` (no site-packages, no .pth or sitecustomize code), which compiling
    // needs none of; it halves the interpreter's start.
    let cmd = CommandLine::new(
        &ctx.project.root,
        &ctx.config.python,
        &["-S", "-c", COMPILE_SCRIPT],
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
    // Held until mypy is done (dropped with this function).
    let (cache, _lock) = mypy_cache(ctx, t);
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
    let out = match run_module(ctx, &mut part, &cmd, "mypy").await {
        Ok(Some(out)) => out,
        Ok(None) => return part.skip("mypy is not installed (pip install mypy)"),
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
    let findings = match ruff(ctx, t, &mut part).await {
        Ok(Some(findings)) => findings,
        Ok(None) => match pylint(ctx, t, &mut part).await {
            Ok(Some(findings)) => findings,
            Ok(None) => {
                part.label = label(t);
                return part.skip("neither ruff nor pylint is installed (pip install ruff)");
            }
            Err(o) => return with(part, o),
        },
        Err(o) => return with(part, o),
    };
    part.findings = in_scope_findings(ctx, findings, |file| rel(ctx, t, file));
    lint_verdict(ctx, part)
}

/// ruff's findings; `Ok(None)` when ruff is not installed. Its cache is kept only in the
/// persistent tool cache (in a scratch directory it would be written and never read).
async fn ruff(
    ctx: &CheckContext,
    t: &Toolchain,
    part: &mut Part,
) -> Result<Option<Vec<Finding>>, PartOutcome> {
    part.label = format!("{} (ruff)", label(t));
    let mut args = vec!["check", "--output-format", "json"];
    if ctx.tool_cache.is_none() {
        args.push("--no-cache");
    }
    args.extend(["--exit-zero", "."]);
    let out = if crate::command::on_path("ruff") {
        part.exec(
            ctx,
            &CommandLine::new(&ctx.project.dir_of(t), "ruff", &args),
        )
        .await?
    } else {
        match run_module(ctx, part, &py(ctx, t, &["-m", "ruff"]).args(args), "ruff").await? {
            Some(out) => out,
            None => return Ok(None),
        }
    };
    match parse::ruff_findings(&out.stdout) {
        Some(f) => Ok(Some(f)),
        None => Err(PartOutcome::Error(format!(
            "ruff printed no report: {}",
            last_lines(&out.stderr, 3)
        ))),
    }
}

/// pylint's findings; `Ok(None)` when pylint is not installed.
async fn pylint(
    ctx: &CheckContext,
    t: &Toolchain,
    part: &mut Part,
) -> Result<Option<Vec<Finding>>, PartOutcome> {
    part.label = format!("{} (pylint)", label(t));
    let args = [
        "-m",
        "pylint",
        "--output-format=json",
        "--recursive=y",
        "--disable=C,R",
        ".",
    ];
    let Some(out) = run_module(ctx, part, &py(ctx, t, &args), "pylint").await? else {
        return Ok(None);
    };
    match parse::pylint_findings(&out.stdout) {
        Some(f) => Ok(Some(f)),
        None => Err(PartOutcome::Error(format!(
            "pylint printed no report: {}",
            last_lines(&out.stderr, 3)
        ))),
    }
}

/// Where mypy keeps its cache, with the lock that keeps it to this run: the tool cache's,
/// one per toolchain (two packages of a repository may share module names), when no other
/// gate run is using it; else one in the scratch directory (cold, but never a cache another
/// mypy is writing: its files are read and written separately).
fn mypy_cache(ctx: &CheckContext, t: &Toolchain) -> (PathBuf, Option<std::fs::File>) {
    let scratch = ctx.scratch.join(format!("mypy-cache-{}", cache_key(t)));
    let Some(dir) = &ctx.tool_cache else {
        return (scratch, None);
    };
    let cache = dir.join("mypy").join(cache_key(t));
    let lock = std::fs::create_dir_all(&cache)
        .and_then(|()| {
            std::fs::File::create(dir.join("mypy").join(format!("{}.lock", cache_key(t))))
        })
        .ok()
        .filter(|file| file.try_lock().is_ok());
    match lock {
        Some(lock) => (cache, Some(lock)),
        None => (scratch, None),
    }
}

/// A toolchain's name in cache paths: its directory, or `root`.
pub(crate) fn cache_key(t: &Toolchain) -> String {
    if t.dir.is_empty() {
        "root".to_owned()
    } else {
        t.dir.replace('/', "_")
    }
}

pub(crate) async fn security(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(format!("{} (bandit)", label(t)));
    if sources(ctx, t).is_empty() {
        return part.skip("no Python files");
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
    let out = match run_module(ctx, &mut part, &cmd, "bandit").await {
        Ok(Some(out)) => out,
        Ok(None) => return part.skip("bandit is not installed (pip install bandit)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stdout: &str, stderr: &str) -> CommandOutput {
        CommandOutput {
            code: Some(1),
            stdout: stdout.into(),
            stderr: stderr.into(),
            duration: std::time::Duration::ZERO,
            timed_out: false,
        }
    }

    #[test]
    fn a_missing_module_is_pythons_own_answer_only() {
        let missing = failed("", "/usr/bin/python3: No module named mypy\n");
        assert!(is_missing_module(&missing, "mypy"));
        assert!(!is_missing_module(&missing, "my"));
        for other in [
            // Found, but not runnable: an error of the tool, not a missing one.
            failed(
                "",
                "/usr/bin/python3: No module named mypy.__main__; 'mypy' is a package and cannot be directly executed",
            ),
            // A dependency of the tool is missing.
            failed("", "ModuleNotFoundError: No module named 'mypy'"),
            failed(
                "app.py:1: error: x  [misc]",
                "python3: No module named mypy",
            ),
        ] {
            assert!(!is_missing_module(&other, "mypy"), "{other:?}");
        }
    }
}
