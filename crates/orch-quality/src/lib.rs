//! The quality gate of orch: the orchestrator decides from evidence whether a task is done.
//!
//! [`Gate::evaluate`] detects the toolchains of a directory (Rust, Python,
//! JavaScript/TypeScript, Go; mixed repositories too), runs the project's own tools
//! concurrently with bounded parallelism and per-check timeouts, and scores eight
//! [`Dimension`]s, each a [`Check`]: syntax, types, lint, security, tests (with coverage),
//! performance, documentation and integration. A missing tool is
//! [`CheckStatus::Skipped`] with its reason, never a made-up score. The [`QualityReport`]
//! holds the weighted score, the grade, the hard gates (no syntax or type errors, no
//! high-severity security finding, no failing test) and every finding with its command.
//! Reports are cached by (git tree, configuration), so an unchanged tree is not evaluated
//! twice.
//!
//! # Example
//!
//! ```no_run
//! use orch_quality::{Gate, GateOptions};
//!
//! # async fn run() -> Result<(), orch_quality::GateError> {
//! let gate = Gate::new(orch_core::QualityConfig::default());
//! let report = gate.evaluate(std::path::Path::new("."), &GateOptions::default()).await?;
//! println!("{:.2} {} passed={}", report.quality_score, report.status, report.passed);
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

pub use check::{BoxFuture, Check, CheckContext};
pub use checks::{
    DocumentationCheck, IntegrationCheck, LintCheck, PerformanceCheck, SecurityCheck, SyntaxCheck,
    TestsCheck, TypesCheck, default_checks,
};
pub use command::{CommandError, CommandLine, CommandOutput, Runner, find_program, on_path};
pub use gate::{Gate, GateError, GateOptions, tree_hash};
pub use integrity::{Baseline, acceptance_copies, is_test_path, review as review_integrity};
pub use project::{Language, ProjectInfo, Toolchain};
pub use report::{
    CheckStatus, Dimension, DimensionResult, Finding, Grade, QualityReport, Severity,
};
pub use seal::CacheSeal;
pub use secrets::ALLOW_MARKER;
pub use tools::{MissingTools, missing_tools};
