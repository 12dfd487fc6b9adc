//! The eight built-in checks. Each runs the part of every toolchain found (a mixed repository
//! gets all of them), plus the commands configured for its dimension.

use std::time::Instant;

use crate::check::{BoxFuture, Check, CheckContext, Part, combine, extra_commands};
use crate::command::CommandLine;
use crate::docs::{self, DocCount};
use crate::lang::{go, javascript, pytest, python, rust};
use crate::parse;
use crate::project::{Language, ProjectInfo, Toolchain};
use crate::report::{Dimension, DimensionResult, Finding, Severity};
use crate::secrets::SecretScanner;

/// The eight checks in gate order.
pub fn default_checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(SyntaxCheck),
        Box::new(TypesCheck),
        Box::new(LintCheck),
        Box::new(SecurityCheck),
        Box::new(TestsCheck),
        Box::new(PerformanceCheck),
        Box::new(DocumentationCheck),
        Box::new(IntegrationCheck),
    ]
}

/// The part of `dimension` for one toolchain.
async fn toolchain_part(ctx: &CheckContext, t: &Toolchain, dimension: &Dimension) -> Part {
    use Dimension as D;
    use Language as L;
    match (dimension, t.language) {
        (D::Syntax, L::Rust) => rust::syntax(ctx, t).await,
        (D::Syntax, L::Python) => python::syntax(ctx, t).await,
        (D::Syntax, L::JavaScript) => javascript::syntax(ctx, t).await,
        (D::Syntax, L::Go) => go::syntax(ctx, t).await,
        (D::Types, L::Rust) => rust::types(ctx, t).await,
        (D::Types, L::Python) => python::types(ctx, t).await,
        (D::Types, L::JavaScript) => javascript::types(ctx, t).await,
        (D::Types, L::Go) => go::types(ctx, t).await,
        (D::Lint, L::Rust) => rust::lint(ctx, t).await,
        (D::Lint, L::Python) => python::lint(ctx, t).await,
        (D::Lint, L::JavaScript) => javascript::lint(ctx, t).await,
        (D::Lint, L::Go) => go::lint(ctx, t).await,
        (D::Tests, L::Rust) => rust::tests(ctx, t, false).await,
        (D::Tests, L::Python) => pytest::tests(ctx, t, false).await,
        (D::Tests, L::JavaScript) => javascript::tests(ctx, t, false).await,
        (D::Tests, L::Go) => go::tests(ctx, t).await,
        (other, _) => Part::new(t.label()).skip(format!("{other} has no per-toolchain part")),
    }
}

/// Runs the part of every toolchain, then the configured commands, and combines.
async fn per_toolchain(ctx: &CheckContext, dimension: Dimension) -> DimensionResult {
    let started = Instant::now();
    let mut parts = Vec::new();
    for t in &ctx.project.toolchains {
        parts.push(toolchain_part(ctx, t, &dimension).await);
    }
    parts.extend(extra_commands(ctx, &dimension).await);
    combine(dimension, parts, started)
}

/// The code parses: `cargo check`, Python's compiler, `node --check`/`tsc`, `gofmt`.
#[derive(Debug, Clone, Copy)]
pub struct SyntaxCheck;

impl Check for SyntaxCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Syntax
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(per_toolchain(ctx, Dimension::Syntax))
    }
}

/// The code type-checks: `cargo check`, mypy, `tsc --noEmit`, `go build`.
#[derive(Debug, Clone, Copy)]
pub struct TypesCheck;

impl Check for TypesCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Types
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(per_toolchain(ctx, Dimension::Types))
    }
}

/// Linters are quiet: clippy, ruff or pylint, eslint, staticcheck or go vet.
#[derive(Debug, Clone, Copy)]
pub struct LintCheck;

impl Check for LintCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Lint
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(per_toolchain(ctx, Dimension::Lint))
    }
}

/// No secrets in the tree (built in, always runs), plus bandit and cargo audit where usable.
#[derive(Debug, Clone, Copy)]
pub struct SecurityCheck;

impl Check for SecurityCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Security
    }

    fn applies(&self, _: &ProjectInfo) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(async move {
            let started = Instant::now();
            let mut parts = vec![secrets_part(ctx).await];
            for t in &ctx.project.toolchains {
                let part = match t.language {
                    Language::Rust => rust::security(ctx, t).await,
                    Language::Python => python::security(ctx, t).await,
                    Language::JavaScript => Part::new(format!("{} (npm audit)", t.label()))
                        .skip("npm audit needs the package registry; add it under [quality.commands] security to run it"),
                    Language::Go => Part::new(format!("{} (govulncheck)", t.label()))
                        .skip("govulncheck needs its online database; add it under [quality.commands] security to run it"),
                };
                parts.push(part);
            }
            parts.extend(extra_commands(ctx, &Dimension::Security).await);
            combine(Dimension::Security, parts, started)
        })
    }
}

async fn secrets_part(ctx: &CheckContext) -> Part {
    let root = ctx.project.root.clone();
    let files = ctx.project.files.clone();
    let scanned = files.len();
    let baseline = ctx.baseline.clone();
    let found = tokio::task::spawn_blocking(move || {
        let scanner = SecretScanner::new(baseline.as_deref());
        files
            .iter()
            .flat_map(|f| scanner.scan_file(&root, f))
            .collect::<Vec<Finding>>()
    })
    .await
    .unwrap_or_default();
    let mut part = Part::new("secrets scan");
    part.commands
        .push(format!("built-in secrets scan ({scanned} files)"));
    part.findings = found;
    python::security_verdict(part)
}

/// The suite passes, with coverage where a tool exists: cargo test (llvm-cov), pytest
/// (pytest-cov) or unittest, the package's test script or `node --test`, `go test -cover`.
#[derive(Debug, Clone, Copy)]
pub struct TestsCheck;

impl Check for TestsCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Tests
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(per_toolchain(ctx, Dimension::Tests))
    }
}

/// A configured benchmark stays under its limit; skipped without one.
#[derive(Debug, Clone, Copy)]
pub struct PerformanceCheck;

impl Check for PerformanceCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Performance
    }

    fn applies(&self, _: &ProjectInfo) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(async move {
            let started = Instant::now();
            let mut parts = Vec::new();
            let line = ctx.config.performance_command.trim();
            let limit = ctx.config.performance_max_ms;
            let mut part = Part::new("benchmark");
            if line.is_empty() {
                parts.push(part.skip("no benchmark configured (quality.performance_command)"));
            } else {
                let cmd = CommandLine::shell(&ctx.project.root, line);
                parts.push(match part.exec(ctx, &cmd).await {
                    Ok(out) if !out.success() => {
                        part.findings.push(Finding::general(
                            Severity::Error,
                            format!(
                                "the benchmark exited with {}",
                                crate::check::code_text(out.code)
                            ),
                        ));
                        part.ran(0.0, false)
                    }
                    Ok(out) => {
                        let measured = parse::reported_millis(&out.stdout)
                            .unwrap_or(out.duration.as_secs_f64() * 1000.0);
                        part.metrics =
                            parse::metrics(&[("measured_ms", measured), ("limit_ms", limit)]);
                        let passed = measured <= limit;
                        if !passed {
                            part.findings.push(Finding::general(
                                Severity::Error,
                                format!("{measured:.1} ms is over the limit of {limit:.1} ms"),
                            ));
                        }
                        part.ran((limit / measured.max(f64::MIN_POSITIVE)).min(1.0), passed)
                    }
                    Err(o) => rust::with(part, o),
                });
            }
            parts.extend(extra_commands(ctx, &Dimension::Performance).await);
            combine(Dimension::Performance, parts, started)
        })
    }
}

/// The share of public items documented, and a README.
#[derive(Debug, Clone, Copy)]
pub struct DocumentationCheck;

impl Check for DocumentationCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Documentation
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(async move {
            let started = Instant::now();
            let mut parts = vec![docs_part(ctx)];
            parts.extend(extra_commands(ctx, &Dimension::Documentation).await);
            combine(Dimension::Documentation, parts, started)
        })
    }
}

/// Reads one file's text and counts its public items.
type DocScanner = fn(&str, &str) -> DocCount;

fn docs_part(ctx: &CheckContext) -> Part {
    let mut part = Part::new("documentation");
    let mut count = DocCount::default();
    for t in &ctx.project.toolchains {
        let (exts, scan): (&[&str], DocScanner) = match t.language {
            Language::Rust => (&[".rs"], docs::rust),
            Language::Python => (&[".py"], docs::python),
            Language::JavaScript => (
                &[".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx"],
                docs::javascript,
            ),
            Language::Go => (&[".go"], docs::go),
        };
        for file in ctx.project.files_of(t, exts) {
            if docs::is_test_or_example(file) || !ctx.in_scope(file) || file.ends_with(".d.ts") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(ctx.project.root.join(file)) {
                count.add(scan(file, &text));
            }
        }
    }
    part.commands.push("built-in documentation scan".into());
    let readme = ctx.project.files.iter().any(|f| {
        let lower = f.to_ascii_lowercase();
        !f.contains('/') && (lower == "readme" || lower.starts_with("readme."))
    });
    let documented = count.public - count.undocumented.len();
    let share = if count.public == 0 {
        1.0
    } else {
        documented as f64 / count.public as f64
    };
    part.metrics = parse::metrics(&[
        ("public_items", count.public as f64),
        ("documented", documented as f64),
        ("readme", if readme { 1.0 } else { 0.0 }),
    ]);
    part.findings = count.undocumented;
    if !readme && ctx.changed.is_none() {
        part.findings.push(Finding::general(
            Severity::Warning,
            "no README at the project root",
        ));
    }
    // A missing README costs a fifth of the score.
    let score = share
        * if readme || ctx.changed.is_some() {
            1.0
        } else {
            0.8
        };
    let passed = score + 1e-9 >= ctx.config.docs_threshold;
    if !passed && count.public > 0 {
        part.findings.push(Finding::general(
            Severity::Error,
            format!(
                "{documented} of {} public items documented ({:.0}%), under {:.0}%",
                count.public,
                share * 100.0,
                ctx.config.docs_threshold * 100.0
            ),
        ));
    }
    part.ran(score, passed)
}

/// End-to-end: the configured command, else the project's own integration tests.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationCheck;

impl Check for IntegrationCheck {
    fn dimension(&self) -> Dimension {
        Dimension::Integration
    }

    fn applies(&self, _: &ProjectInfo) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(async move {
            let started = Instant::now();
            let mut parts = Vec::new();
            let line = ctx.config.integration_command.trim();
            if !line.is_empty() {
                let mut part = Part::new("integration command");
                let cmd = CommandLine::shell(&ctx.project.root, line);
                parts.push(match part.exec(ctx, &cmd).await {
                    Ok(out) if out.success() => part.ran(1.0, true),
                    Ok(out) => {
                        part.findings.push(Finding::general(
                            Severity::Error,
                            format!(
                                "`{line}` exited with {}: {}",
                                crate::check::code_text(out.code),
                                crate::check::last_lines(&out.combined(), 4)
                            ),
                        ));
                        part.metrics = parse::metrics(&[("failed", 1.0)]);
                        part.ran(0.0, false)
                    }
                    Err(o) => rust::with(part, o),
                });
            } else {
                for t in &ctx.project.toolchains {
                    parts.push(match t.language {
                        Language::Rust => {
                            let dir = if t.dir.is_empty() {
                                "tests/".to_owned()
                            } else {
                                format!("{}/tests/", t.dir)
                            };
                            if ctx
                                .project
                                .files
                                .iter()
                                .any(|f| f.starts_with(&dir) && f.ends_with(".rs"))
                            {
                                rust::tests(ctx, t, true).await
                            } else {
                                Part::new(t.label()).skip("no integration tests (tests/*.rs)")
                            }
                        }
                        Language::Python => pytest::tests(ctx, t, true).await,
                        Language::JavaScript => javascript::tests(ctx, t, true).await,
                        Language::Go => Part::new(t.label()).skip(
                            "no integration command configured (quality.integration_command)",
                        ),
                    });
                }
                if parts.is_empty() {
                    parts.push(
                        Part::new("integration").skip(
                            "no integration command configured (quality.integration_command)",
                        ),
                    );
                }
            }
            parts.extend(extra_commands(ctx, &Dimension::Integration).await);
            combine(Dimension::Integration, parts, started)
        })
    }
}
