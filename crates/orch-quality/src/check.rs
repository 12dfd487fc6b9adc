//! The [`Check`] seam: one implementation per dimension, run by the gate, and
//! [`CommandCheck`], a dimension scored by one shell command.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use orch_core::QualityConfig;

use crate::command::{CommandLine, CommandOutput, Runner};
use crate::project::{ProjectInfo, Toolchain};
use crate::report::{CheckStatus, Dimension, DimensionResult, Finding};

/// A boxed future, so [`Check`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything a check may look at.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The project.
    pub project: ProjectInfo,
    /// Thresholds and extra commands.
    pub config: QualityConfig,
    /// Runs tools with the per-check timeout; identical commands run once.
    pub runner: Runner,
    /// With `--base`: the files changed since the base (relative to the root). Lint and
    /// documentation look only at these.
    pub changed: Option<BTreeSet<String>>,
    /// A scratch directory outside the project for tool caches and reports, so checking
    /// never writes into the tree being checked.
    pub scratch: std::path::PathBuf,
    /// The code the tree started from, when known (diff-aware checks, allow markers).
    pub baseline: Option<std::sync::Arc<crate::integrity::Baseline>>,
    /// Where tools keep their caches between gate runs (mypy, ruff), outside the tree
    /// ([`crate::GateOptions::tool_cache_dir`]); `None`: their caches live and die in
    /// `scratch`.
    pub tool_cache: Option<std::path::PathBuf>,
    /// The dimensions this gate run evaluates, so a check can read what another one runs
    /// anyway (the integration tests come from the full test run when tests run too).
    pub evaluated: BTreeSet<Dimension>,
    /// Python modules found installed (or not) by running them, so the report's missing
    /// tools need no probe of their own.
    pub(crate) python_modules: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl CheckContext {
    /// Whether `file` counts for diff-aware dimensions.
    pub fn in_scope(&self, file: &str) -> bool {
        self.changed.as_ref().is_none_or(|c| c.contains(file))
    }

    /// Notes whether `python -m <module>` found the module.
    pub(crate) fn saw_python_module(&self, module: &str, found: bool) {
        let mut seen = self
            .python_modules
            .lock()
            .expect("module sightings poisoned");
        *seen.entry(module.to_owned()).or_insert(false) |= found;
    }
}

/// One dimension of the gate: one of the eight built-in ones (replacing its built-in
/// check), or a custom one ([`Dimension::Custom`]) that adds a dimension to every report.
pub trait Check: Send + Sync {
    /// Which dimension this check scores.
    fn dimension(&self) -> Dimension;

    /// The weight of a custom dimension in the overall score, when the configuration
    /// (`[quality.custom.<name>] weight`) does not give one; `None`: 1.0. Ignored for the
    /// eight built-in dimensions, whose weights are `[quality.weights]`.
    fn weight(&self) -> Option<f64> {
        None
    }

    /// Whether it has anything to do for `project`; when not, the dimension is skipped.
    fn applies(&self, project: &ProjectInfo) -> bool {
        !project.toolchains.is_empty()
    }

    /// Runs the check. Never panics on tool failure: a broken tool is a
    /// [`CheckStatus::Error`], a missing one a [`CheckStatus::Skipped`].
    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult>;
}

/// What one toolchain (or the built-in scan, or a configured command) contributed.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub label: String,
    pub outcome: PartOutcome,
    pub findings: Vec<Finding>,
    pub commands: Vec<String>,
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Clone)]
pub(crate) enum PartOutcome {
    Ran { score: f64, passed: bool },
    Skipped(String),
    Error(String),
}

impl Part {
    pub fn new(label: impl Into<String>) -> Part {
        Part {
            label: label.into(),
            outcome: PartOutcome::Skipped("not run".into()),
            findings: Vec::new(),
            commands: Vec::new(),
            metrics: BTreeMap::new(),
        }
    }

    pub fn skip(mut self, reason: impl Into<String>) -> Part {
        self.outcome = PartOutcome::Skipped(reason.into());
        self
    }

    pub fn error(mut self, reason: impl Into<String>) -> Part {
        self.outcome = PartOutcome::Error(reason.into());
        self
    }

    pub fn ran(mut self, score: f64, passed: bool) -> Part {
        self.outcome = PartOutcome::Ran {
            score: score.clamp(0.0, 1.0),
            passed,
        };
        self
    }

    /// Takes `findings` and passes only when none is an error: all or nothing, as for
    /// compilers and type checkers.
    pub fn zero_errors(mut self, findings: Vec<Finding>) -> Part {
        let n = findings
            .iter()
            .filter(|f| f.severity >= crate::report::Severity::Error)
            .count();
        self.findings.extend(findings);
        self.metrics.insert("errors".into(), n as f64);
        self.ran(if n == 0 { 1.0 } else { 0.0 }, n == 0)
    }

    /// Runs `cmd` through the runner and records it; a missing program or a timeout come
    /// back as the part's final state (`Err`).
    pub async fn exec(
        &mut self,
        ctx: &CheckContext,
        cmd: &CommandLine,
    ) -> Result<CommandOutput, PartOutcome> {
        self.commands.push(cmd.display());
        outcome(ctx, cmd, ctx.runner.run(cmd).await)
    }
}

/// What [`Part::exec`] makes of a command's result: a missing program or a timeout are the
/// part's final state (`Err`).
pub(crate) fn outcome(
    ctx: &CheckContext,
    cmd: &CommandLine,
    result: Result<CommandOutput, crate::command::CommandError>,
) -> Result<CommandOutput, PartOutcome> {
    match result {
        Ok(out) if out.timed_out => Err(PartOutcome::Error(format!(
            "`{}` did not finish within {}s",
            cmd.display(),
            ctx.runner.timeout().as_secs()
        ))),
        Ok(out) => Ok(out),
        Err(crate::command::CommandError::NotFound { program }) => {
            Err(PartOutcome::Skipped(format!("{program} is not installed")))
        }
        Err(e) => Err(PartOutcome::Error(e.to_string())),
    }
}

/// Findings with their paths made relative to the project root by `relocate`, keeping only
/// those in scope (diff-aware mode).
pub(crate) fn in_scope_findings(
    ctx: &CheckContext,
    findings: Vec<Finding>,
    relocate: impl Fn(&str) -> String,
) -> Vec<Finding> {
    findings
        .into_iter()
        .map(|mut f| {
            f.file = f.file.take().map(|file| relocate(&file));
            f
        })
        .filter(|f| f.file.as_deref().is_none_or(|file| ctx.in_scope(file)))
        .collect()
}

/// Runs the configured extra commands of a dimension: each passes with exit code 0.
pub(crate) async fn extra_commands(ctx: &CheckContext, dimension: &Dimension) -> Vec<Part> {
    let mut parts = Vec::new();
    for line in ctx
        .config
        .commands
        .get(dimension.name())
        .into_iter()
        .flatten()
    {
        parts.push(command_part(ctx, line).await);
    }
    parts
}

/// Runs one shell command in the project root: it passes with exit code 0; otherwise the
/// end of its output is the finding.
async fn command_part(ctx: &CheckContext, line: &str) -> Part {
    let mut part = Part::new(format!("command `{line}`"));
    let cmd = CommandLine::shell(&ctx.project.root, line);
    match part.exec(ctx, &cmd).await {
        Ok(out) if out.success() => part.ran(1.0, true),
        Ok(out) => {
            let tail: String = last_lines(&out.combined(), 5);
            part.findings.push(Finding::general(
                crate::report::Severity::Error,
                format!("`{line}` exited with {}: {tail}", code_text(out.code)),
            ));
            part.ran(0.0, false)
        }
        Err(outcome) => {
            part.outcome = outcome;
            part
        }
    }
}

/// A dimension scored by one shell command run in the project root (`sh -c`, the gate's
/// environment and per-check timeout): 1.0 and passed on exit code 0, else 0.0 and failed
/// with the end of its output as the finding; a missing program is a skip, a timeout an
/// error. The commands configured for the dimension under `[quality.commands]` run too.
///
/// `[quality.custom.<name>]` in the configuration makes one per entry (see
/// [`crate::custom_checks`]); in code:
///
/// ```
/// use orch_quality::{CommandCheck, Dimension, Gate, QualityConfig};
///
/// let licenses = CommandCheck::new(Dimension::custom("licenses")?, "cargo deny check licenses")
///     .with_weight(0.5);
/// let gate = Gate::new(QualityConfig::default()).with_check(Box::new(licenses));
/// assert_eq!(gate.dimensions().len(), 9);
/// # Ok::<(), orch_quality::InvalidDimension>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CommandCheck {
    dimension: Dimension,
    command: String,
    weight: Option<f64>,
}

impl CommandCheck {
    /// Scores `dimension` with `command`.
    pub fn new(dimension: Dimension, command: impl Into<String>) -> CommandCheck {
        CommandCheck {
            dimension,
            command: command.into(),
            weight: None,
        }
    }

    /// The dimension's weight in the overall score (see [`Check::weight`]).
    pub fn with_weight(mut self, weight: f64) -> CommandCheck {
        self.weight = Some(weight);
        self
    }

    /// The shell command.
    pub fn command(&self) -> &str {
        &self.command
    }
}

impl Check for CommandCheck {
    fn dimension(&self) -> Dimension {
        self.dimension.clone()
    }

    fn weight(&self) -> Option<f64> {
        self.weight
    }

    /// Always: a command needs no known toolchain.
    fn applies(&self, _project: &ProjectInfo) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext) -> BoxFuture<'a, DimensionResult> {
        Box::pin(async move {
            let started = Instant::now();
            let mut parts = vec![command_part(ctx, &self.command).await];
            parts.extend(extra_commands(ctx, &self.dimension).await);
            combine(self.dimension.clone(), parts, started)
        })
    }
}

pub(crate) fn code_text(code: Option<i32>) -> String {
    code.map_or("a signal".into(), |c| format!("code {c}"))
}

/// The last `n` non-empty lines of `text`, joined with ` | `.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Folds the parts of a dimension into its result: the score is the mean of the parts that
/// ran; it fails when any part failed; an error in any part makes the whole an error; it is
/// skipped only when every part was.
pub(crate) fn combine(dimension: Dimension, parts: Vec<Part>, started: Instant) -> DimensionResult {
    let mut result = DimensionResult::skipped(dimension, "");
    result.duration = started.elapsed();
    let mut scores = Vec::new();
    let mut failed = false;
    let mut errors = Vec::new();
    let mut skips = Vec::new();
    for part in parts {
        result.findings.extend(part.findings);
        result.commands.extend(part.commands);
        for (k, v) in part.metrics {
            *result.metrics.entry(k).or_insert(0.0) += v;
        }
        match part.outcome {
            PartOutcome::Ran { score, passed } => {
                scores.push(score);
                failed |= !passed;
            }
            PartOutcome::Skipped(reason) => skips.push(format!("{}: {reason}", part.label)),
            PartOutcome::Error(reason) => errors.push(format!("{}: {reason}", part.label)),
        }
    }
    if !errors.is_empty() {
        result.score = 0.0;
        result.status = CheckStatus::Error {
            reason: errors.join("; "),
        };
    } else if scores.is_empty() {
        result.status = CheckStatus::Skipped {
            reason: if skips.is_empty() {
                "nothing to check".into()
            } else {
                skips.join("; ")
            },
        };
    } else {
        result.score = scores.iter().sum::<f64>() / scores.len() as f64;
        result.status = if failed {
            CheckStatus::Failed
        } else {
            CheckStatus::Passed
        };
        if !skips.is_empty() {
            result
                .metrics
                .insert("parts_skipped".into(), skips.len() as f64);
            result.findings.push(Finding::general(
                crate::report::Severity::Info,
                format!("not checked: {}", skips.join("; ")),
            ));
        }
    }
    result
}

/// A toolchain's label for parts.
pub(crate) fn label(t: &Toolchain) -> String {
    t.label()
}
