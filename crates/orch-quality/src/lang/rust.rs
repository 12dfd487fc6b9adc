//! Rust: cargo check (syntax and types), clippy (lint), cargo test (tests, integration),
//! cargo llvm-cov (coverage, where installed), cargo audit (security, where usable).

use crate::check::{CheckContext, Part, PartOutcome, code_text, label, last_lines};
use crate::command::CommandLine;
use crate::parse::{self, CargoDiagnostic};
use crate::project::Toolchain;
use crate::report::{Finding, Severity};

fn cargo(ctx: &CheckContext, t: &Toolchain, args: &[&str]) -> CommandLine {
    CommandLine::new(&ctx.project.dir_of(t), "cargo", args)
}

fn check_cmd(ctx: &CheckContext, t: &Toolchain) -> CommandLine {
    cargo(
        ctx,
        t,
        &["check", "--all-targets", "--message-format=json", "--quiet"],
    )
}

fn finding(t: &Toolchain, d: &CargoDiagnostic, severity: Severity) -> Finding {
    let file = d.file.as_deref().map(|f| rel(t, f));
    Finding {
        file,
        line: d.line,
        severity,
        message: d.message.clone(),
        code: d.code.clone(),
    }
}

/// A path cargo reports (relative to the package) made relative to the project root.
fn rel(t: &Toolchain, file: &str) -> String {
    if t.dir.is_empty() || file.starts_with('/') {
        file.to_owned()
    } else {
        format!("{}/{file}", t.dir)
    }
}

/// Errors without an error code are the parser's (`expected one of …`); coded ones
/// (`E0308`) come from name resolution and type checking.
fn is_syntax(d: &CargoDiagnostic) -> bool {
    d.level == "error" && d.code.is_none()
}

pub(crate) async fn syntax(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    let out = match part.exec(ctx, &check_cmd(ctx, t)).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let diags = parse::cargo_diagnostics(&out.stdout);
    part.findings = diags
        .iter()
        .filter(|d| is_syntax(d))
        .map(|d| finding(t, d, Severity::Error))
        .collect();
    if !out.success() && diags.iter().all(|d| d.level != "error") {
        return part.error(format!(
            "cargo check exited with {}: {}",
            code_text(out.code),
            last_lines(&out.stderr, 3)
        ));
    }
    let n = part.findings.len();
    part.metrics = parse::metrics(&[("errors", n as f64)]);
    part.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
}

pub(crate) async fn types(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    let out = match part.exec(ctx, &check_cmd(ctx, t)).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let diags = parse::cargo_diagnostics(&out.stdout);
    if diags.iter().any(is_syntax) {
        part.findings.push(Finding::general(
            Severity::Error,
            "type checking did not complete: the code does not parse (see syntax)",
        ));
        return part.ran(0.0, false);
    }
    part.findings = diags
        .iter()
        .filter(|d| d.level == "error")
        .map(|d| finding(t, d, Severity::Error))
        .collect();
    if !out.success() && part.findings.is_empty() {
        return part.error(format!(
            "cargo check exited with {}: {}",
            code_text(out.code),
            last_lines(&out.stderr, 3)
        ));
    }
    let n = part.findings.len();
    part.metrics = parse::metrics(&[("errors", n as f64)]);
    part.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
}

pub(crate) async fn lint(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    let cmd = cargo(
        ctx,
        t,
        &[
            "clippy",
            "--all-targets",
            "--message-format=json",
            "--quiet",
        ],
    );
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    if out.stderr.contains("no such command") {
        return part.skip("clippy is not installed (rustup component add clippy)");
    }
    let diags = parse::cargo_diagnostics(&out.stdout);
    if diags.iter().any(|d| d.level == "error") {
        return part
            .skip("the code does not compile, so it cannot be linted (see syntax and types)");
    }
    part.findings = diags
        .iter()
        .filter(|d| d.level == "warning")
        .map(|d| finding(t, d, Severity::Warning))
        .filter(|f| f.file.as_deref().is_none_or(|file| ctx.in_scope(file)))
        .collect();
    lint_verdict(ctx, part)
}

/// Lint passes with at most `max_lint_warnings`; each warning costs 5% of the score, an
/// error 20%.
pub(crate) fn lint_verdict(ctx: &CheckContext, mut part: Part) -> Part {
    let errors = part
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Error)
        .count();
    let warnings = part
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    part.metrics = parse::metrics(&[("errors", errors as f64), ("warnings", warnings as f64)]);
    let score = 1.0 - 0.05 * warnings as f64 - 0.2 * errors as f64;
    let passed = errors == 0 && warnings <= ctx.config.max_lint_warnings as usize;
    part.ran(score, passed)
}

pub(crate) async fn security(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(format!("{} (cargo audit)", label(t)));
    let probe = cargo(ctx, t, &["audit", "--version"]);
    match ctx.runner.run(&probe).await {
        Ok(out) if out.success() => {}
        _ => return part.skip("cargo-audit is not installed"),
    }
    let cmd = cargo(ctx, t, &["audit", "--json", "--no-fetch", "--stale"]);
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(out.stdout.trim()) else {
        return part.skip(format!(
            "cargo audit could not run offline: {}",
            last_lines(&out.stderr, 2)
        ));
    };
    for vuln in v["vulnerabilities"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let a = &vuln["advisory"];
        part.findings.push(
            Finding::at(
                "Cargo.lock",
                None,
                Severity::High,
                format!(
                    "{} {}: {}",
                    vuln["package"]["name"].as_str().unwrap_or("?"),
                    vuln["package"]["version"].as_str().unwrap_or("?"),
                    a["title"].as_str().unwrap_or("vulnerability")
                ),
            )
            .with_code(a["id"].as_str().unwrap_or("advisory")),
        );
    }
    let n = part.findings.len();
    part.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
}

pub(crate) async fn tests(ctx: &CheckContext, t: &Toolchain, integration_only: bool) -> Part {
    let mut part = Part::new(label(t));
    let coverage_path = ctx
        .scratch
        .join(format!("llvm-cov-{}.json", t.dir.replace('/', "_")));
    let llvm_cov = !integration_only
        && ctx
            .runner
            .run(&cargo(ctx, t, &["llvm-cov", "--version"]))
            .await
            .is_ok_and(|o| o.success());
    let cmd = if integration_only {
        cargo(ctx, t, &["test", "--no-fail-fast", "--test", "*"])
    } else if llvm_cov {
        cargo(
            ctx,
            t,
            &[
                "llvm-cov",
                "--no-fail-fast",
                "--json",
                "--summary-only",
                "--output-path",
            ],
        )
        .args([coverage_path.to_string_lossy().into_owned()])
    } else {
        cargo(ctx, t, &["test", "--no-fail-fast"])
    };
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let counts = parse::cargo_test_counts(&out.stdout);
    if !counts.found {
        if out.success() {
            return part.skip("no tests ran");
        }
        part.findings.push(Finding::general(
            Severity::Error,
            format!("the tests do not build: {}", last_lines(&out.stderr, 4)),
        ));
        part.metrics = parse::metrics(&[("not_built", 1.0)]);
        return part.ran(0.0, false);
    }
    let coverage = if llvm_cov {
        std::fs::read_to_string(&coverage_path)
            .ok()
            .and_then(|j| parse::llvm_cov_percent(&j))
    } else {
        None
    };
    if !integration_only && coverage.is_none() {
        part.findings.push(Finding::general(
            Severity::Info,
            "coverage not measured: cargo-llvm-cov is not installed",
        ));
    }
    test_verdict(ctx, part, counts, coverage)
}

/// Scores a test run: the pass rate, times coverage where measured; fails on any failing
/// test or on coverage under the threshold.
pub(crate) fn test_verdict(
    ctx: &CheckContext,
    mut part: Part,
    counts: parse::TestCounts,
    coverage: Option<f64>,
) -> Part {
    let total = counts.passed + counts.failed;
    if total == 0 {
        return part.skip("the project has no tests");
    }
    let pass_rate = counts.passed as f64 / total as f64;
    part.metrics = parse::metrics(&[
        ("passed", counts.passed as f64),
        ("failed", counts.failed as f64),
    ]);
    part.findings.extend(counts.failures);
    if counts.failed > 0 && part.findings.iter().all(|f| f.severity < Severity::Error) {
        part.findings.push(Finding::general(
            Severity::Error,
            format!("{} tests failed", counts.failed),
        ));
    }
    let mut score = pass_rate;
    let mut passed = counts.failed == 0;
    if let Some(cov) = coverage {
        part.metrics.insert("coverage".into(), cov);
        part.metrics
            .insert("coverage_target".into(), ctx.config.coverage_threshold);
        score *= (cov / 100.0).min(1.0);
        if cov + 1e-9 < ctx.config.coverage_threshold {
            passed = false;
            part.findings.push(Finding::general(
                Severity::Error,
                format!(
                    "line coverage {cov:.2}% is under the threshold of {:.0}%",
                    ctx.config.coverage_threshold
                ),
            ));
        }
    }
    part.ran(score, passed)
}

pub(crate) fn with(mut part: Part, outcome: PartOutcome) -> Part {
    part.outcome = outcome;
    part
}
