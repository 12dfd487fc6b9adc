//! The gate: runs the checks concurrently (bounded), scores them, applies the hard gates,
//! and caches the verdict by (tree, configuration).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::QualityConfig;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::check::{Check, CheckContext, CommandCheck};
use crate::checks::default_checks;
use crate::command::Runner;
use crate::integrity::Baseline;
use crate::project::ProjectInfo;
use crate::report::{
    CheckStatus, Dimension, DimensionResult, Finding, Grade, QualityReport, Severity,
};
use crate::seal::CacheSeal;

/// What to evaluate and how.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// The task the tree belongs to (copied into the report).
    pub task_id: Option<String>,
    /// Only these dimensions (empty: all of the gate's, custom ones included).
    pub only: Vec<Dimension>,
    /// Diff-aware mode: lint and documentation look only at files changed since this ref.
    pub base: Option<String>,
    /// Where cached reports live; `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Seals cache entries: with a seal, only entries it sealed are believed (an entry
    /// written by anything else is ignored). Keep its key out of reach of the checked code.
    pub cache_seal: Option<CacheSeal>,
    /// The git tree id of what is at the root, when the caller knows it (say an export of
    /// the commit to be merged): the cache key, and no git is needed at the root.
    pub tree: Option<String>,
    /// The files changed since the base, when the caller knows them: diff-aware mode
    /// without asking git at the root (which an export does not have).
    pub changed: Option<BTreeSet<String>>,
    /// Where build output goes (cargo's target directory), kept between runs so builds are
    /// incremental. `None`: a scratch directory removed after the run. Never inside the
    /// tree: the gate leaves the tree as it found it.
    pub build_dir: Option<PathBuf>,
    /// The code the tree started from: test integrity is checked against it, and a secret's
    /// allow marker counts only on a line that was already there.
    pub baseline: Option<Arc<Baseline>>,
    /// Where tools keep their caches between runs (mypy's and ruff's, one directory per
    /// tool, and Python's bytecode of the tools), so a gate run costs what the tools cost
    /// warm. `None`: a scratch directory removed after the run (every run cold). Ignored
    /// (with a warning) when it is inside the tree being checked (`.orch/` and `.git/` at
    /// its root excepted: the gate never looks there) or holds it.
    ///
    /// A cache decides what the tools re-check, so whoever can write it can hide findings:
    /// the caller must keep it out of the checked code's reach (the agent's sandbox cannot
    /// write it; `orch` uses `.orch/cache/tools`). The project's tests run unsandboxed in
    /// the gate and can write wherever its user can, this directory included.
    pub tool_cache_dir: Option<PathBuf>,
}

/// Lock files a tool may write or rewrite while checking (cargo writes `Cargo.lock` when it
/// is missing): put back byte for byte, or removed, after the gate.
const PROTECTED_FILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "go.sum",
    "poetry.lock",
    "uv.lock",
];

/// Why the gate could not evaluate at all (a failing gate is a report, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// The path does not exist or is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// Reading the project failed.
    #[error("cannot read the project at {path}")]
    Io {
        /// The project.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `--base` names something git does not know.
    #[error("cannot compare with `{base}`: {message}")]
    Base {
        /// The ref given.
        base: String,
        /// What git said.
        message: String,
    },
    /// Diff-aware mode outside a git repository.
    #[error("--base needs a git repository; {path} is not in one")]
    BaseWithoutGit {
        /// The project.
        path: PathBuf,
    },
}

/// One [`CommandCheck`] per custom dimension of the configuration
/// (`[quality.custom.<name>]`), with its command and weight, by name. Entries whose name
/// cannot name a custom dimension are left out (a configuration loaded by orch-core was
/// validated already).
pub fn custom_checks(config: &QualityConfig) -> Vec<Box<dyn Check>> {
    config
        .custom
        .iter()
        .filter_map(|(name, custom)| {
            let dimension = Dimension::custom(name.as_str()).ok()?;
            let check =
                CommandCheck::new(dimension, custom.command.clone()).with_weight(custom.weight);
            Some(Box::new(check) as Box<dyn Check>)
        })
        .collect()
}

/// The quality gate: a set of [`Check`]s (the eight built-in dimensions and any custom
/// ones) and the configuration that scores them.
pub struct Gate {
    checks: Vec<Box<dyn Check>>,
    config: QualityConfig,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field(
                "checks",
                &self
                    .checks
                    .iter()
                    .map(|c| c.dimension())
                    .collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .finish()
    }
}

impl Gate {
    /// The eight built-in checks, and one [`CommandCheck`] per custom dimension of the
    /// configuration ([`custom_checks`]).
    pub fn new(config: QualityConfig) -> Gate {
        let mut checks = default_checks();
        checks.extend(custom_checks(&config));
        Gate::with_checks(config, checks)
    }

    /// Exactly these checks (test doubles, replacements of built-in dimensions, custom
    /// dimensions); the configuration's custom commands are not added (see
    /// [`custom_checks`]).
    pub fn with_checks(config: QualityConfig, checks: Vec<Box<dyn Check>>) -> Gate {
        Gate { checks, config }
    }

    /// Adds `check`: it replaces the check of the same dimension if there is one (a
    /// built-in one, say), and otherwise adds its dimension to every report.
    pub fn with_check(mut self, check: Box<dyn Check>) -> Gate {
        let dimension = check.dimension();
        match self.checks.iter().position(|c| c.dimension() == dimension) {
            Some(i) => self.checks[i] = check,
            None => self.checks.push(check),
        }
        self
    }

    /// The dimensions this gate scores, in report order.
    pub fn dimensions(&self) -> Vec<Dimension> {
        let mut out: Vec<Dimension> = self.checks.iter().map(|c| c.dimension()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The weight of `dimension` in the overall score: `[quality.weights]` for the eight;
    /// for a custom one `[quality.custom.<name>] weight`, else its check's
    /// [`Check::weight`], else 1.0.
    pub fn weight(&self, dimension: &Dimension) -> f64 {
        let c = &self.config;
        if dimension.is_custom() {
            c.custom
                .get(dimension.name())
                .map(|custom| custom.weight)
                .or_else(|| {
                    self.checks
                        .iter()
                        .find(|check| check.dimension() == *dimension)
                        .and_then(|check| check.weight())
                })
                .unwrap_or(1.0)
        } else {
            c.weights.of(dimension.name()).unwrap_or(1.0)
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &QualityConfig {
        &self.config
    }

    /// Evaluates the tree at `root`.
    pub async fn evaluate(
        &self,
        root: &Path,
        options: &GateOptions,
    ) -> Result<QualityReport, GateError> {
        let started = Instant::now();
        if !root.is_dir() {
            return Err(GateError::NotADirectory {
                path: root.to_owned(),
            });
        }
        let project = ProjectInfo::detect(root).map_err(|source| GateError::Io {
            path: root.to_owned(),
            source,
        })?;
        let changed = match (&options.changed, &options.base) {
            (Some(changed), _) => Some(changed.clone()),
            (None, Some(_)) if !project.in_git => {
                return Err(GateError::BaseWithoutGit {
                    path: project.root.clone(),
                });
            }
            (None, Some(base)) => Some(changed_since(&project.root, base)?),
            (None, None) => None,
        };
        // With a git base and no baseline given, the base versions come from git.
        let options = &match (&options.baseline, &options.base, &changed) {
            (None, Some(base), Some(files)) if options.changed.is_none() => GateOptions {
                baseline: Some(Arc::new(baseline_from_git(&project.root, base, files))),
                ..options.clone()
            },
            _ => options.clone(),
        };
        let tree = match &options.tree {
            Some(tree) => Some(tree.clone()),
            None if project.in_git => tree_hash(&project.root),
            None => None,
        };
        let cache_file = match (&options.cache_dir, &tree) {
            (Some(dir), Some(tree)) => {
                let key = self.cache_key(tree, options);
                Some((dir.join(format!("{key}.json")), key))
            }
            _ => None,
        };
        if let Some((file, key)) = &cache_file
            && let Some(mut report) = read_cached(file, key, options.cache_seal.as_ref())
            && report.tree == tree
        {
            report.cached = true;
            report.task_id = options.task_id.clone().or(report.task_id);
            report.duration = started.elapsed();
            return Ok(report);
        }

        let scratch = tempfile_dir()?;
        let build_dir = options
            .build_dir
            .clone()
            .unwrap_or_else(|| scratch.join("build"));
        let protected = ProtectedFiles::snapshot(&project);
        let tool_cache = options
            .tool_cache_dir
            .as_deref()
            .and_then(|dir| outside_tree(dir, &project.root));
        let wanted = |d: &Dimension| options.only.is_empty() || options.only.contains(d);
        let runner = Runner::new(Duration::from_secs(self.config.check_timeout_seconds))
            .with_env(tool_env(&scratch, &build_dir, tool_cache.as_deref()));
        let mut config = self.config.clone();
        if let Some(python) = resolve_python(&runner, &project, &config.python).await {
            config.python = python;
        }
        let ctx = Arc::new(CheckContext {
            project: project.clone(),
            config,
            runner,
            changed: changed.clone(),
            scratch: scratch.clone(),
            baseline: options.baseline.clone(),
            tool_cache,
            evaluated: self
                .checks
                .iter()
                .filter(|c| wanted(&c.dimension()) && c.applies(&project))
                .map(|c| c.dimension())
                .collect(),
            python_modules: Arc::default(),
        });
        let limit = Arc::new(Semaphore::new(self.config.parallelism.max(1)));
        let mut results: Vec<DimensionResult> = Vec::new();
        let mut running = Vec::new();
        let mut launching: Vec<&Box<dyn Check>> = self
            .checks
            .iter()
            .filter(|c| wanted(&c.dimension()))
            .collect();
        launching.sort_by_key(|c| launch_rank(&c.dimension()));
        for check in launching {
            if !check.applies(&project) {
                results.push(DimensionResult::skipped(
                    check.dimension(),
                    "no known toolchain (Cargo.toml, pyproject.toml, package.json, go.mod) in the project",
                ));
                continue;
            }
            let ctx = Arc::clone(&ctx);
            let limit = Arc::clone(&limit);
            running.push(async move {
                let _slot = limit.acquire().await.expect("semaphore never closed");
                check.run(&ctx).await
            });
        }
        results.extend(futures_join_all(running).await);
        results.sort_by(|a, b| a.dimension.cmp(&b.dimension));
        protected.restore();
        let _ = std::fs::remove_dir_all(&scratch);
        if let Some(dir) = &ctx.tool_cache {
            prune_bytecode(dir, &project.root);
        }

        let integrity = match &options.baseline {
            Some(baseline) if wanted(&Dimension::Tests) => {
                crate::integrity::review(&project.root, baseline)
            }
            _ => Vec::new(),
        };
        let code_changed = code_changed(&project, changed.as_ref());
        let mut report = self.score_with(results, &project, options, integrity, code_changed);
        let detected = project.clone();
        let python = self.config.python.clone();
        // What the checks found running the tools; the rest is asked of the interpreter.
        let seen = ctx
            .python_modules
            .lock()
            .expect("module sightings poisoned")
            .clone();
        report.missing_tools = tokio::task::spawn_blocking(move || {
            crate::tools::missing_tools_seen(&detected, &python, &seen)
        })
        .await
        .unwrap_or_default();
        report.tree = tree;
        report.duration = started.elapsed();
        if let Some((file, key)) = &cache_file {
            write_cached(file, key, options.cache_seal.as_ref(), &report);
        }
        Ok(report)
    }

    /// Weighted mean, grade and the hard gates.
    pub fn score(
        &self,
        dimensions: Vec<DimensionResult>,
        project: &ProjectInfo,
        options: &GateOptions,
    ) -> QualityReport {
        self.score_with(dimensions, project, options, Vec::new(), true)
    }

    /// [`Gate::score`] with test-integrity findings (each fails the tests dimension and
    /// the gate) and whether source code changed (tests that could not run then leave the
    /// result `Unverified`).
    fn score_with(
        &self,
        mut dimensions: Vec<DimensionResult>,
        project: &ProjectInfo,
        options: &GateOptions,
        integrity: Vec<Finding>,
        code_changed: bool,
    ) -> QualityReport {
        if !integrity.is_empty() {
            match dimensions
                .iter_mut()
                .find(|d| d.dimension == Dimension::Tests)
            {
                Some(tests) => {
                    tests.findings.extend(integrity.iter().cloned());
                    tests.status = CheckStatus::Failed;
                    tests.score = 0.0;
                }
                None if options.only.is_empty() || options.only.contains(&Dimension::Tests) => {
                    dimensions.push(DimensionResult {
                        dimension: Dimension::Tests,
                        score: 0.0,
                        status: CheckStatus::Failed,
                        findings: integrity.clone(),
                        duration: Duration::ZERO,
                        commands: vec!["test integrity against the base".into()],
                        metrics: BTreeMap::new(),
                    });
                    dimensions.sort_by(|a, b| a.dimension.cmp(&b.dimension));
                }
                None => {}
            }
        }
        let tests_wanted = options.only.is_empty() || options.only.contains(&Dimension::Tests);
        let unverified = self.config.require_tests
            && tests_wanted
            && code_changed
            && dimensions
                .iter()
                .any(|d| d.dimension == Dimension::Tests && !d.status.ran());
        let c = &self.config;
        let ran: Vec<&DimensionResult> = dimensions.iter().filter(|r| r.status.ran()).collect();
        let weights: BTreeMap<Dimension, f64> = ran
            .iter()
            .map(|r| (r.dimension.clone(), self.weight(&r.dimension)))
            .collect();
        let total_weight: f64 = weights.values().sum();
        let quality_score = if total_weight > 0.0 {
            ran.iter()
                .map(|r| weights[&r.dimension] * r.score)
                .sum::<f64>()
                / total_weight
        } else {
            0.0
        };
        let mut failures = Vec::new();
        if ran.is_empty() {
            failures.push("no dimension could be evaluated".to_owned());
        } else if quality_score + 1e-9 < c.threshold {
            failures.push(format!(
                "quality score {quality_score:.2} is under the threshold {:.2}",
                c.threshold
            ));
        }
        let get = |d: Dimension| dimensions.iter().find(|r| r.dimension == d);
        // Hard gates: no score makes up for these.
        if get(Dimension::Syntax).is_some_and(|r| r.status == CheckStatus::Failed) {
            failures.push("syntax errors".into());
        }
        if get(Dimension::Types).is_some_and(|r| r.status == CheckStatus::Failed) {
            failures.push("type errors".into());
        }
        if let Some(r) = get(Dimension::Security) {
            let high = r.count_at_least(Severity::High);
            if high > 0 {
                failures.push(format!("{high} high-severity security findings"));
            }
        }
        if let Some(r) = get(Dimension::Tests) {
            let failed = r.metrics.get("failed").copied().unwrap_or(0.0);
            if failed > 0.0 {
                failures.push(format!("{failed} failing tests"));
            } else if r.metrics.get("not_built").copied().unwrap_or(0.0) > 0.0 {
                failures.push("the tests do not build or run".into());
            }
        }
        let required: BTreeSet<Dimension> = c
            .required
            .iter()
            .filter_map(|n| Dimension::from_name(n).ok())
            .collect();
        for r in &dimensions {
            let is_required = required.is_empty() || required.contains(&r.dimension);
            if !is_required {
                continue;
            }
            match &r.status {
                CheckStatus::Failed => {
                    let line = format!("{} failed", r.dimension);
                    if !failures
                        .iter()
                        .any(|f| f.starts_with(&format!("{} ", r.dimension)))
                    {
                        failures.push(line);
                    }
                }
                CheckStatus::Error { reason } => {
                    failures.push(format!("{} could not be checked: {reason}", r.dimension))
                }
                CheckStatus::Skipped { reason } if !required.is_empty() => failures.push(format!(
                    "{} is required but was skipped: {reason}",
                    r.dimension
                )),
                _ => {}
            }
        }
        if !integrity.is_empty() {
            failures.push(format!(
                "test integrity: {} finding(s) against the base ({})",
                integrity.len(),
                integrity
                    .iter()
                    .take(3)
                    .map(|f| format!("{}: {}", f.location(), f.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if unverified {
            let reason = get(Dimension::Tests)
                .and_then(|r| match &r.status {
                    CheckStatus::Skipped { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "no tests ran".into());
            failures.push(format!(
                "unverified: the tests did not run ({reason}); code changes need tests that run (or [quality] require_tests = false)"
            ));
        }
        let test_coverage = get(Dimension::Tests).and_then(|r| r.metrics.get("coverage").copied());
        QualityReport {
            task_id: options.task_id.clone(),
            quality_score: (quality_score * 10_000.0).round() / 10_000.0,
            status: if unverified {
                Grade::Unverified
            } else {
                Grade::of(quality_score)
            },
            passed: failures.is_empty(),
            gate_failures: failures,
            test_coverage,
            breakdown: ran
                .iter()
                .map(|r| (r.dimension.clone(), (r.score * 10_000.0).round() / 10_000.0))
                .collect(),
            weights,
            skipped: dimensions
                .iter()
                .filter_map(|r| match &r.status {
                    CheckStatus::Skipped { reason } => Some((r.dimension.clone(), reason.clone())),
                    _ => None,
                })
                .collect::<BTreeMap<_, _>>(),
            toolchains: project.toolchains.iter().map(|t| t.label()).collect(),
            threshold: c.threshold,
            tree: None,
            base: options.base.clone(),
            duration: Duration::ZERO,
            cached: false,
            missing_tools: Vec::new(),
            integrity,
            dimensions,
        }
    }

    /// Cache key: the tree, the configuration, the selection and the base.
    fn cache_key(&self, tree: &str, options: &GateOptions) -> String {
        let mut h = Sha256::new();
        h.update(tree.as_bytes());
        h.update(serde_json::to_vec(&self.config).unwrap_or_default());
        // The checks too: a gate with a custom check added in code scores another report.
        for check in &self.checks {
            h.update(format!("{}={:?};", check.dimension(), check.weight()).as_bytes());
        }
        h.update(
            format!(
                "{:?}|{:?}|{}",
                options.only,
                options.base,
                env!("CARGO_PKG_VERSION")
            )
            .as_bytes(),
        );
        if let Some(base) = &options.base {
            // The base ref may move while the tree stays: key on what it points at.
            h.update(base.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The order checks take the free slots in (the semaphore is first come, first served):
/// the usually longest first, so that with fewer slots than checks a run ends when its
/// longest tool does, not a short tool's time later. Custom checks keep their order.
fn launch_rank(dimension: &Dimension) -> u8 {
    match dimension {
        Dimension::Tests => 0,
        Dimension::Types => 1,
        Dimension::Security => 2,
        Dimension::Lint => 3,
        Dimension::Performance | Dimension::Custom(_) => 4,
        Dimension::Syntax => 5,
        Dimension::Documentation => 6,
        // Last: it often only waits for the tests' run (Python reads it), holding its slot.
        Dimension::Integration => 7,
    }
}

async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    // Polled together on this task: the checks spend their time waiting on child processes.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, fut) in pinned.iter_mut().enumerate() {
            if outputs[i].is_some() {
                continue;
            }
            match fut.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => outputs[i] = Some(v),
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// Whether source code of a detected language changed (all of it counts as changed when
/// the whole tree is judged). Documentation and settings alone need no tests.
fn code_changed(project: &ProjectInfo, changed: Option<&BTreeSet<String>>) -> bool {
    const CODE: &[&str] = &[
        ".rs", ".py", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go",
    ];
    let is_code = |f: &str| CODE.iter().any(|e| f.ends_with(e));
    match changed {
        Some(files) => files.iter().any(|f| is_code(f)),
        None => project.files.iter().any(|f| is_code(f)),
    }
}

fn tempfile_dir() -> Result<PathBuf, GateError> {
    let dir = std::env::temp_dir().join(format!(
        "orch-quality-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).map_err(|source| GateError::Io {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Build output and tool caches never count as part of the tree.
const HASH_EXCLUDES: &[&str] = &[
    ":(exclude,glob)**/target/**",
    ":(exclude,glob)**/node_modules/**",
    ":(exclude,glob)**/__pycache__/**",
    ":(exclude,glob)**/.mypy_cache/**",
    ":(exclude,glob)**/.pytest_cache/**",
    ":(exclude,glob)**/.ruff_cache/**",
    ":(exclude,glob)**/.coverage*",
    ":(exclude,glob).orch/**",
    ":(exclude,glob).worktrees/**",
];

/// The git tree of the working directory as it is now, uncommitted and untracked changes
/// included (ignored files not): staged into a throwaway index, so the real one is untouched.
pub fn tree_hash(root: &Path) -> Option<String> {
    let git = |args: &[&str], index: Option<&Path>| {
        let mut cmd = std::process::Command::new("git");
        cmd.args(args)
            .current_dir(root)
            .stderr(std::process::Stdio::null());
        if let Some(index) = index {
            cmd.env("GIT_INDEX_FILE", index);
        }
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let real_index = git(
        &["rev-parse", "--path-format=absolute", "--git-path", "index"],
        None,
    )?;
    let tmp = std::env::temp_dir().join(format!("orch-quality-index-{}", uuid_like()));
    // Starting from a copy of the real index keeps `git add` incremental (stat cache).
    if std::fs::copy(&real_index, &tmp).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let mut add = vec!["add", "-A", "--", "."];
    add.extend(HASH_EXCLUDES);
    let tree = git(&add, Some(&tmp)).and_then(|_| git(&["write-tree"], Some(&tmp)));
    let _ = std::fs::remove_file(&tmp);
    tree
}

/// Files changed since `base`: committed, staged, unstaged and untracked.
fn changed_since(root: &Path, base: &str) -> Result<BTreeSet<String>, GateError> {
    let err = |message: String| GateError::Base {
        base: base.to_owned(),
        message,
    };
    if base.starts_with('-') {
        return Err(err("not a revision".into()));
    }
    let run = |args: &[&str]| -> Result<String, GateError> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .map_err(|e| err(e.to_string()))?;
        if !out.status.success() {
            return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let prefix = run(&["rev-parse", "--show-prefix"])?.trim().to_owned();
    let mut files = BTreeSet::new();
    let diff = run(&[
        "diff",
        "--name-only",
        "--no-renames",
        "--relative",
        base,
        "--",
    ])?;
    let untracked = run(&["ls-files", "--others", "--exclude-standard"])?;
    let _ = prefix;
    for f in diff.lines().chain(untracked.lines()) {
        if !f.is_empty() {
            files.insert(f.to_owned());
        }
    }
    Ok(files)
}

/// A cache entry: the seal (hex, or `-` without one) on the first line, the report's JSON
/// after it. The seal covers the entry's key and the report, so an entry cannot be copied
/// to another tree's key either.
/// The base version (from `git show BASE:path`) of every changed file.
fn baseline_from_git(root: &Path, base: &str, changed: &BTreeSet<String>) -> Baseline {
    let mut files = BTreeMap::new();
    for path in changed {
        let out = std::process::Command::new("git")
            .args(["show", &format!("{base}:./{path}")])
            .current_dir(root)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        let text = match out {
            Ok(o) if o.status.success() && o.stdout.len() <= 2 * 1024 * 1024 => {
                Some(String::from_utf8_lossy(&o.stdout).into_owned())
            }
            _ => None,
        };
        files.insert(path.clone(), text);
    }
    Baseline {
        files,
        allow: Default::default(),
    }
}

fn read_cached(file: &Path, key: &str, seal: Option<&CacheSeal>) -> Option<QualityReport> {
    let text = std::fs::read_to_string(file).ok()?;
    let (mac, json) = text.split_once('\n')?;
    match seal {
        Some(seal) if !seal.verify(&sealed_bytes(key, json), mac) => {
            tracing::warn!(file = %file.display(), "ignoring a cache entry with a wrong seal");
            let _ = std::fs::remove_file(file);
            return None;
        }
        None if mac != "-" => return None,
        _ => {}
    }
    serde_json::from_str(json).ok()
}

fn sealed_bytes(key: &str, json: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(key.len() + 1 + json.len());
    bytes.extend_from_slice(key.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(json.as_bytes());
    bytes
}

/// Written atomically (temp file + rename), so a concurrent reader never sees half a report.
fn write_cached(file: &Path, key: &str, seal: Option<&CacheSeal>, report: &QualityReport) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(json) = serde_json::to_string(report) else {
        return;
    };
    let mac = seal.map_or_else(|| "-".to_owned(), |s| s.sign(&sealed_bytes(key, &json)));
    let tmp = file.with_extension(format!("tmp-{}", uuid_like()));
    if std::fs::write(&tmp, format!("{mac}\n{json}")).is_ok()
        && std::fs::rename(&tmp, file).is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Where Python keeps bytecode in the tool cache.
fn pycache_dir(tool_cache: &Path) -> PathBuf {
    tool_cache.join("pycache")
}

/// Removes the bytecode of trees that are gone (an export removed after its gate run, a
/// temporary checkout): along the checked tree's path in the bytecode cache (which mirrors
/// absolute paths), the directories whose real counterpart no longer exists. The live
/// tree's bytecode stays, as it would beside its sources: Python checks it against each
/// source's mtime and size.
fn prune_bytecode(tool_cache: &Path, root: &Path) {
    let mirror = pycache_dir(tool_cache);
    for real in root.ancestors() {
        let Ok(entries) = std::fs::read_dir(mirror.join(real.strip_prefix("/").unwrap_or(real)))
        else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) && !real.join(entry.file_name()).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// `dir`, created, when it is neither inside the tree at `root` (canonical) nor holds it;
/// `None`, with a warning, otherwise. `.git` and `.orch` at the root are not the tree: the
/// gate never looks into them (a repository checked in place keeps its cache there).
/// Checked before anything is created: the gate makes nothing in the tree to find out.
fn outside_tree(dir: &Path, root: &Path) -> Option<PathBuf> {
    let in_tree = |d: &Path| {
        d.starts_with(root)
            && !d.starts_with(root.join(".orch"))
            && !d.starts_with(root.join(".git"))
    };
    match resolve(dir) {
        Some(dir) if !in_tree(&dir) && !root.starts_with(&dir) => {
            match std::fs::create_dir_all(&dir) {
                Ok(()) => Some(dir),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot make the tool cache");
                    None
                }
            }
        }
        _ => {
            tracing::warn!(dir = %dir.display(), "the tool cache would be inside the checked tree (or hold it): not used");
            None
        }
    }
}

/// Where `dir` is (or would be once made): its deepest existing ancestor with symbolic
/// links resolved, then the rest as written. `None` when the rest has `..` in it (it could
/// lead anywhere).
fn resolve(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        // `file_name` is `None` at a `..`.
        rest.push(existing.file_name()?);
        existing = existing.parent()?;
    }
    let mut resolved = existing.canonicalize().ok()?;
    resolved.extend(rest.iter().rev());
    Some(resolved)
}

/// The interpreter that `python` (a bare name such as `python3`) starts in the project,
/// asked once per gate run: a version manager's shim (pyenv, asdf) picks the interpreter
/// from the directory and its environment, and the checks then start that interpreter
/// directly instead of paying for the shim in every Python process. `None` keeps the
/// configured name: a path already, no Python toolchain, a toolchain below the root with its
/// own `.python-version` (where a shim could pick another), or no usable answer.
async fn resolve_python(runner: &Runner, project: &ProjectInfo, python: &str) -> Option<String> {
    use crate::project::Language;
    if python.contains('/') || python.is_empty() {
        return None;
    }
    if !project
        .toolchains
        .iter()
        .any(|t| t.language == Language::Python)
        || project
            .files
            .iter()
            .any(|f| f.ends_with("/.python-version"))
    {
        return None;
    }
    let ask = crate::command::CommandLine::new(
        &project.root,
        python,
        &["-S", "-c", "import sys; print(sys.executable)"],
    );
    let out = runner.run(&ask).await.ok().filter(|o| o.success())?;
    let path = out.stdout.trim();
    let resolved = Path::new(path);
    (resolved.is_absolute() && resolved.is_file()).then(|| path.to_owned())
}

/// Environment for every tool: build output and caches in the build directory, the tool
/// cache or the scratch directory, never in the tree being checked. pytest's own cache is
/// off either way: it only remembers which tests failed (no speed), and a project asking for
/// `--last-failed` would run fewer tests.
fn tool_env(scratch: &Path, build_dir: &Path, tool_cache: Option<&Path>) -> Vec<(String, String)> {
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    // Python reads bytecode only under the prefix, never from the tree (where it could differ
    // from the source). Kept, it spares each run compiling the tools and the unchanged
    // modules; an empty PYTHONDONTWRITEBYTECODE lets Python write it (the runner's default
    // is "1").
    let (mypy, ruff, pycache, no_bytecode) = match tool_cache {
        Some(dir) => (dir.join("mypy"), dir.join("ruff"), pycache_dir(dir), ""),
        None => (
            scratch.join("mypy-cache"),
            scratch.join("ruff-cache"),
            scratch.join("pycache"),
            "1",
        ),
    };
    vec![
        ("CARGO_TARGET_DIR".into(), path(build_dir.join("cargo"))),
        ("PYTHONDONTWRITEBYTECODE".into(), no_bytecode.into()),
        ("PYTHONPYCACHEPREFIX".into(), path(pycache)),
        ("PYTEST_ADDOPTS".into(), "-p no:cacheprovider".into()),
        ("MYPY_CACHE_DIR".into(), path(mypy)),
        ("RUFF_CACHE_DIR".into(), path(ruff)),
        ("COVERAGE_FILE".into(), path(scratch.join("coverage-data"))),
        ("GOFLAGS".into(), "-mod=readonly".into()),
    ]
}

/// The lock files of each toolchain as they were before the checks.
struct ProtectedFiles {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl ProtectedFiles {
    fn snapshot(project: &ProjectInfo) -> ProtectedFiles {
        let mut files = Vec::new();
        let mut dirs: Vec<PathBuf> = project
            .toolchains
            .iter()
            .map(|t| project.dir_of(t))
            .collect();
        dirs.push(project.root.clone());
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            for name in PROTECTED_FILES {
                let path = dir.join(name);
                files.push((path.clone(), std::fs::read(&path).ok()));
            }
        }
        ProtectedFiles { files }
    }

    fn restore(&self) {
        for (path, before) in &self.files {
            let now = std::fs::read(path).ok();
            if now == *before {
                continue;
            }
            let result = match before {
                Some(bytes) => std::fs::write(path, bytes),
                None => std::fs::remove_file(path),
            };
            if let Err(e) = result {
                tracing::warn!(path = %path.display(), error = %e, "cannot put a lock file back");
            }
        }
    }
}

#[cfg(test)]
mod python_resolution_tests {
    use super::*;

    /// A shim on `PATH` (as pyenv puts one) that logs each start and runs the real
    /// interpreter.
    fn project_with_shim() -> (tempfile::TempDir, ProjectInfo, Runner, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
        std::fs::write(root.join("app.py"), "X = 1\n").unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = dir.path().join("starts.log");
        let shim = bin.join("orch-test-python");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\necho start >> '{}'\nexec python3 \"$@\"\n",
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let runner = Runner::new(Duration::from_secs(30)).with_env(vec![("PATH".into(), path)]);
        let project = ProjectInfo::detect(&root).unwrap();
        (dir, project, runner, log)
    }

    #[tokio::test]
    async fn a_shim_is_asked_once_for_the_interpreter_it_would_start() {
        if !crate::command::on_path("python3") {
            eprintln!("skipped: no python3");
            return;
        }
        let (_dir, project, runner, log) = project_with_shim();
        let resolved = resolve_python(&runner, &project, "orch-test-python")
            .await
            .expect("resolved");
        assert!(Path::new(&resolved).is_absolute(), "{resolved}");
        assert!(!resolved.ends_with("orch-test-python"), "{resolved}");
        assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
        // A configured path is used as given.
        assert_eq!(
            resolve_python(&runner, &project, "/usr/bin/python3").await,
            None
        );
    }

    #[tokio::test]
    async fn a_subproject_with_its_own_python_version_keeps_the_shim() {
        let (_dir, mut project, runner, log) = project_with_shim();
        project.files.push("sub/.python-version".into());
        assert_eq!(
            resolve_python(&runner, &project, "orch-test-python").await,
            None
        );
        assert!(!log.exists(), "the shim was not even asked");
    }
}
