//! The quality gate of orch: the orchestrator decides from evidence whether a task is done.
//! Main type: [`Gate`].
//!
//! [`Gate::evaluate`] detects the toolchains of a directory (Rust, Python,
//! JavaScript/TypeScript, Go; mixed repositories too), runs the project's own tools
//! concurrently with bounded parallelism and per-check timeouts, and scores eight built-in
//! [`Dimension`]s, each a [`Check`]: syntax, types, lint, security, tests (with coverage),
//! performance, documentation and integration. A project adds its own dimensions beyond the
//! eight ([`Dimension::Custom`]): a [`CommandCheck`] per `[quality.custom.<name>]` section
//! of the configuration (a shell command and a weight), or any [`Check`] given to
//! [`Gate::with_check`]. Custom dimensions are scored, weighted and required like the
//! others, and appear in every report. A missing tool is [`CheckStatus::Skipped`] with its
//! reason, never a made-up score. The [`QualityReport`] holds the weighted score, the
//! grade, the weights, the hard gates (no syntax or type errors, no high-severity security
//! finding, no failing test) and every finding with its command. Reports are cached by (git
//! tree, configuration, checks), so an unchanged tree is not evaluated twice; the tools' own
//! caches (mypy, ruff, Python bytecode) persist in [`GateOptions::tool_cache_dir`], outside
//! the tree, so a run costs about what the tools cost run directly.
//!
//! The configuration types come from orch-core and are re-exported ([`QualityConfig`],
//! [`QualityWeights`], [`CustomCheckConfig`]): a program using this crate alone needs no
//! other orch crate.
//!
//! # Example
//!
//! ```no_run
//! use orch_quality::{CommandCheck, Dimension, Gate, GateOptions, QualityConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The eight dimensions, plus a ninth: licences checked by cargo-deny, weighted 0.5.
//! let licenses = CommandCheck::new(Dimension::custom("licenses")?, "cargo deny check licenses")
//!     .with_weight(0.5);
//! let gate = Gate::new(QualityConfig::default()).with_check(Box::new(licenses));
//! let report = gate.evaluate(std::path::Path::new("."), &GateOptions::default()).await?;
//! println!("{:.2} {} passed={}", report.quality_score, report.status, report.passed);
//! for (dimension, score) in &report.breakdown {
//!     println!("  {dimension:<14} {score:.2} (weight {})", report.weights[dimension]);
//! }
//! for failure in &report.gate_failures {
//!     println!("  {failure}");
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod check;
mod checks;
mod command;
mod docs;
mod gate;
mod integrity;
mod lang;
mod parse;
mod project;
mod report;
mod seal;
mod secrets;
mod tools;

pub use orch_core::{CustomCheckConfig, QualityConfig, QualityWeights};

pub use check::{BoxFuture, Check, CheckContext, CommandCheck};
pub use checks::{
    DocumentationCheck, IntegrationCheck, LintCheck, PerformanceCheck, SecurityCheck, SyntaxCheck,
    TestsCheck, TypesCheck, default_checks,
};
pub use command::{CommandError, CommandLine, CommandOutput, Runner, find_program, on_path};
pub use gate::{Gate, GateError, GateOptions, custom_checks, tree_hash};
pub use integrity::{Baseline, acceptance_copies, is_test_path, review as review_integrity};
pub use project::{Language, ProjectInfo, Toolchain};
pub use report::{
    CheckStatus, CustomDimension, Dimension, DimensionResult, Finding, Grade, InvalidDimension,
    QualityReport, Severity,
};
pub use seal::CacheSeal;
pub use secrets::ALLOW_MARKER;
pub use tools::{MissingTools, missing_tools};
