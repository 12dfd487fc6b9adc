//! JavaScript and TypeScript: `node --check` (syntax), `tsc --noEmit` (TypeScript syntax and
//! types, where installed), eslint (lint, where installed), the package's test script or
//! `node --test` (tests), an e2e script (integration).

use std::path::PathBuf;

use crate::check::in_scope_findings;
use crate::check::{CheckContext, Part, code_text, label, last_lines};
use crate::command::{CommandLine, find_program};
use crate::lang::rust::{lint_verdict, test_verdict, with};
use crate::parse;
use crate::project::Toolchain;
use crate::report::{Finding, Severity};

/// Per-file `node --check` runs stop here; the rest of a huge tree is not re-parsed.
const MAX_CHECKED_FILES: usize = 400;

/// A tool from the package's `node_modules/.bin`, else from `PATH`.
fn local_tool(ctx: &CheckContext, t: &Toolchain, name: &str) -> Option<PathBuf> {
    let local = ctx.project.dir_of(t).join("node_modules/.bin").join(name);
    if local.is_file() {
        return Some(local);
    }
    find_program(name)
}

fn package_json(ctx: &CheckContext, t: &Toolchain) -> serde_json::Value {
    std::fs::read_to_string(ctx.project.dir_of(t).join("package.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn rel(ctx: &CheckContext, t: &Toolchain, file: &str) -> String {
    let root = ctx.project.root.to_string_lossy();
    if let Some(s) = file.strip_prefix(&*root) {
        return s.trim_start_matches('/').to_owned();
    }
    if t.dir.is_empty() || file.starts_with('/') {
        file.to_owned()
    } else {
        format!("{}/{file}", t.dir)
    }
}

async fn tsc(
    ctx: &CheckContext,
    t: &Toolchain,
    part: &mut Part,
) -> Result<Option<Vec<(u32, Finding)>>, Part> {
    let Some(tsc) = local_tool(ctx, t, "tsc") else {
        return Ok(None);
    };
    let dir = ctx.project.dir_of(t);
    let mut cmd = CommandLine::new(
        &dir,
        &tsc.to_string_lossy(),
        &["--noEmit", "--pretty", "false"],
    );
    if !dir.join("tsconfig.json").is_file() {
        let files: Vec<String> = ctx
            .project
            .files_of(t, &[".ts", ".tsx"])
            .iter()
            .map(|f| ctx.project.root.join(f).to_string_lossy().into_owned())
            .collect();
        cmd = cmd
            .args(["--strict".to_owned(), "--skipLibCheck".to_owned()])
            .args(files);
    }
    match part.exec(ctx, &cmd).await {
        Ok(out) => {
            let mut diags = parse::tsc_diagnostics(&out.stdout);
            for (_, f) in &mut diags {
                f.file = f.file.take().map(|file| rel(ctx, t, &file));
            }
            if !out.success() && diags.is_empty() {
                let p = std::mem::replace(part, Part::new(""));
                return Err(p.error(format!(
                    "tsc exited with {}: {}",
                    code_text(out.code),
                    last_lines(&out.combined(), 3)
                )));
            }
            Ok(Some(diags))
        }
        Err(o) => {
            let p = std::mem::replace(part, Part::new(""));
            Err(with(p, o))
        }
    }
}

pub(crate) async fn syntax(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    let js = ctx.project.files_of(t, &[".js", ".mjs", ".cjs"]);
    let ts = ctx.project.files_of(t, &[".ts", ".tsx"]);
    if js.is_empty() && ts.is_empty() {
        return part.skip("no JavaScript or TypeScript files");
    }
    let mut checked = 0;
    for file in js.iter().take(MAX_CHECKED_FILES) {
        let cmd = CommandLine::new(&ctx.project.root, "node", &["--check", file]);
        match ctx.runner.run(&cmd).await {
            Ok(out) => {
                checked += 1;
                if !out.success() {
                    let line = out
                        .stderr
                        .lines()
                        .next()
                        .and_then(|l| l.rsplit(':').next())
                        .and_then(|n| n.trim().parse().ok());
                    let msg = out
                        .stderr
                        .lines()
                        .find(|l| l.contains("Error:"))
                        .unwrap_or("syntax error")
                        .trim();
                    part.findings
                        .push(Finding::at(*file, line, Severity::Error, msg));
                }
            }
            Err(crate::command::CommandError::NotFound { .. }) => {
                return part.skip("node is not installed");
            }
            Err(e) => return part.error(e.to_string()),
        }
    }
    if checked > 0 {
        part.commands
            .push(format!("node --check <file> ({checked} files)"));
    }
    if !ts.is_empty() {
        match tsc(ctx, t, &mut part).await {
            Ok(Some(diags)) => part.findings.extend(
                diags
                    .into_iter()
                    .filter(|(code, _)| *code < 2000)
                    .map(|(_, f)| f),
            ),
            Ok(None) if js.is_empty() => {
                return part.skip(
                    "tsc is not installed: TypeScript files not parsed (npm install -D typescript)",
                );
            }
            Ok(None) => part.findings.push(Finding::general(
                Severity::Info,
                "TypeScript files not parsed: tsc is not installed",
            )),
            Err(p) => return p,
        }
    }
    let n = part
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Error)
        .count();
    part.metrics = parse::metrics(&[("errors", n as f64)]);
    part.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
}

pub(crate) async fn types(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(format!("{} (tsc)", label(t)));
    if !t.typescript {
        return part.skip("plain JavaScript has no type checker (add a tsconfig.json with checkJs to type-check it)");
    }
    match tsc(ctx, t, &mut part).await {
        Ok(Some(diags)) => {
            if diags.iter().any(|(code, _)| *code < 2000) {
                part.findings.push(Finding::general(
                    Severity::Error,
                    "type checking did not complete: the code does not parse (see syntax)",
                ));
                return part.ran(0.0, false);
            }
            part.findings = diags.into_iter().map(|(_, f)| f).collect();
            let n = part.findings.len();
            part.metrics = parse::metrics(&[("errors", n as f64)]);
            part.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
        }
        Ok(None) => part.skip("tsc is not installed (npm install -D typescript)"),
        Err(p) => p,
    }
}

pub(crate) async fn lint(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(format!("{} (eslint)", label(t)));
    let Some(eslint) = local_tool(ctx, t, "eslint") else {
        return part.skip("eslint is not installed (npm install -D eslint)");
    };
    let cmd = CommandLine::new(
        &ctx.project.dir_of(t),
        &eslint.to_string_lossy(),
        &["-f", "json", "."],
    );
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let Some(findings) = parse::eslint_findings(&out.stdout) else {
        return part.error(format!(
            "eslint printed no report: {}",
            last_lines(&out.combined(), 3)
        ));
    };
    part.findings = in_scope_findings(ctx, findings, |file| rel(ctx, t, file));
    lint_verdict(ctx, part)
}

/// npm's placeholder test script, which always fails.
fn is_placeholder(script: &str) -> bool {
    script.contains("no test specified")
}

pub(crate) async fn tests(ctx: &CheckContext, t: &Toolchain, integration_only: bool) -> Part {
    let mut part = Part::new(label(t));
    let pkg = package_json(ctx, t);
    let scripts = &pkg["scripts"];
    let dir = ctx.project.dir_of(t);
    let cmd = if integration_only {
        match ["test:e2e", "e2e", "test:integration", "integration"]
            .iter()
            .find(|s| scripts[**s].is_string())
        {
            Some(name) => CommandLine::new(&dir, "npm", &["run", "--silent", name]),
            None => return part.skip("no e2e or integration script in package.json"),
        }
    } else if scripts["test"].as_str().is_some_and(|s| !is_placeholder(s)) {
        CommandLine::new(&dir, "npm", &["test", "--silent"])
    } else if ctx
        .project
        .files_of(t, &[".js", ".mjs", ".cjs"])
        .iter()
        .any(|f| {
            crate::docs::is_test_or_example(f)
                && (f.contains(".test.")
                    || f.contains("/test/")
                    || f.contains("/tests/")
                    || f.starts_with("test/")
                    || f.starts_with("tests/"))
        })
    {
        CommandLine::new(&dir, "node", &["--test", "--experimental-test-coverage"])
    } else {
        return part.skip("the project has no tests (no test script, no *.test.js)");
    };
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let text = out.combined();
    let mut counts = parse::js_test_counts(&text);
    if !counts.found {
        // A runner we cannot read: its exit code is the verdict.
        counts.found = true;
        if out.success() {
            counts.passed = 1;
        } else {
            counts.failed = 1;
            counts.failures.push(Finding::general(
                Severity::Error,
                format!(
                    "the test command exited with {}: {}",
                    code_text(out.code),
                    last_lines(&text, 4)
                ),
            ));
        }
    }
    let coverage = parse::js_coverage(&text);
    test_verdict(
        ctx,
        part,
        counts,
        if integration_only { None } else { coverage },
    )
}
