//! The configuration model of `.orch/orch.toml`. Every key is optional; the defaults are
//! documented on each field and in [`DEFAULT_CONFIG_TOML`], the file `orch init` writes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The commented configuration file written by `orch init`. Every line is commented out, so
/// the file parses to [`Config::default`]; uncomment a line to change that value.
pub const DEFAULT_CONFIG_TOML: &str = r#"# orch configuration. Every key is optional; the values shown are the defaults.
# Uncomment a line to change it. Unknown keys are an error, so typos are caught.

[repo]
# Branch epics start from and merge back into. Default: the branch checked out at `orch run`.
# base_branch = "main"
# Where task worktrees live, relative to the repository root (or an absolute path).
# worktree_root = ".worktrees"
# Untracked files to copy into every new worktree (globs), e.g. local settings.
# copy_untracked = [".env", ".env.local"]

[run]
# How many agent sessions may run at once.
# parallel = 3
# Which agent runs tasks: claude, codex, gemini, aider, or custom.
# agent = "claude"
# Retries of a failed task before it is escalated to a human.
# max_retries = 2
# Wall-clock limit of one agent session, in minutes.
# session_timeout_minutes = 30
# An agent that prints nothing for this long is treated as stuck, in minutes.
# idle_timeout_minutes = 10
# Where sessions run: auto (tmux when installed), tmux, or process.
# backend = "auto"
# The custom agent's command (argv, no shell): {prompt_file}, {cwd}, {task_id} (or {task})
# and {session_id} are replaced; write {{ and }} for literal braces, e.g.
# agent_command = ["sh", "-c", "my-agent --task {task_id} < {prompt_file}"]
# agent_command = []
# Run the quality gate on every task (turn off only to measure orch itself).
# quality_gate = true
# Changes outside a task's file scope: fail (the attempt fails and is retried with that
# feedback) or report (an event and a warning only).
# out_of_scope = "fail"
# On Ctrl-C, how long running sessions may finish before they are killed, in seconds.
# stop_grace_seconds = 30
# When every task of an epic is done, its branch goes into the base branch: merge, leave,
# or pr (a pull request with `gh`, when it is installed).
# on_epic_complete = "merge"
# Where agents run: auto (bubblewrap when it works here: own PID namespace, read-only host,
# only the task's workspace writable, .orch/ hidden), bwrap (refuse to run without it), or
# none (the agent runs as you and can reach everything you can; orch only detects).
# sandbox = "auto"
# Extra paths an agent may write inside the sandbox (~ is your home directory), e.g.
# ["~/.cache"]; the default is none.
# sandbox_writable = []
# Most megabytes one attempt's log keeps; the rest is dropped and the cut is noted.
# log_max_mb = 100
# Who lets verified work in: auto (the merge queue, once the quality gate passed) or human
# (the task waits in awaiting_review until `orch review approve`, the dashboard or the MCP
# server approves it; a rejection retries it with the reviewer's note). An epic or a task of
# the plan may set its own `review`.
# review = "auto"

[budget]
# Spending limits in US dollars, from the cost each agent reports; unset means no limit.
# When one is reached no new attempt of what it covers starts, and a question asks whether
# to raise it. `orch run --max-cost` overrides run_usd.
# run_usd = 20.0
# epic_usd = 5.0
# task_usd = 2.0
# One attempt's limit, handed to the agent CLI where it has one (Claude Code's
# --max-budget-usd).
# attempt_usd = 1.0

[agents]
# The model of each attempt; unset: the agent's own default.
# model = "sonnet"
# Attempts after the first (a retry) may use a stronger model.
# retry_model = "opus"

[agents.by_category]
# First attempts by task category (database, backend, api, frontend, infra, testing, docs,
# security, general), for example:
# docs = "haiku"

[agent.claude]
# What Claude Code may do without asking, inside the task's sandboxed workspace:
# default, acceptEdits (edit files; the default), plan (read only), dontAsk, or
# bypassPermissions (everything; never used unless set here).
# permission_mode = "acceptEdits"
# Tools allowed or refused without asking (Claude Code's --allowedTools/--disallowedTools),
# e.g. ["Bash(cargo test:*)", "Bash(npm test:*)"].
# allowed_tools = []
# disallowed_tools = []

[quality]
# Overall score (0.0 to 1.0) a task needs to pass the gate.
# threshold = 0.8
# Dimensions whose failure fails the gate. Empty: every dimension that ran. Names: syntax,
# types, lint, security, tests, performance, documentation, integration.
# required = []
# Line coverage (percent) the tests dimension needs, where a coverage tool exists.
# coverage_threshold = 80.0
# Share (0.0 to 1.0) of public items that must be documented.
# docs_threshold = 0.8
# Lint warnings allowed before the lint dimension fails.
# max_lint_warnings = 0
# Checks run at once, and the limit of one check in seconds.
# parallelism = 4
# check_timeout_seconds = 900
# A benchmark command and the time it must stay under, in milliseconds. The command's
# output may report the time itself (the last "<number> ms" it prints); otherwise its wall
# time counts. Empty: the performance dimension is skipped.
# performance_command = ""
# performance_max_ms = 200.0
# An end-to-end command; empty: the project's own integration tests, where there are any.
# integration_command = ""
# Code changes need tests that ran: when the tests dimension cannot run (no tests, no test
# tool), the result is "Unverified" and does not pass. Off only for a project without tests.
# require_tests = true
# The Python interpreter the Python checks run with (a virtual environment's, say).
# python = "python3"

[quality.weights]
# Weight of each dimension in the overall score.
# syntax = 1.0
# types = 1.0
# lint = 0.8
# security = 1.0
# tests = 1.5
# performance = 0.5
# documentation = 0.5
# integration = 1.0

[quality.commands]
# Extra shell commands per dimension, run in the project root; a non-zero exit fails that
# dimension. For example, under this header: lint with the value ["npx eslint ."].

# Dimensions beyond the eight: one section each, [quality.custom.<name>], with a shell
# command run in the project root (exit code 0 passes) and its weight in the overall score
# (default 1.0). Shown in every report; list the name in `required` to make it a must.
# For example a section [quality.custom.licenses] with command "cargo deny check licenses"
# and weight 0.5.

[store]
# A runner lease whose heartbeat is older than this is stale and may be taken over, in seconds.
# lease_stale_seconds = 30

[ai]
# Who plans PRDs and proposes escalation options: offline (no model, the default),
# anthropic, openai (any OpenAI-compatible server), or claude-cli.
# provider = "offline"
# Model name; empty means the provider's default.
# model = ""
# Base URL of the API; empty means the provider's default (Ollama: http://localhost:11434/v1).
# base_url = ""
# Environment variable holding the API key; empty means the provider's default
# (ANTHROPIC_API_KEY, OPENAI_API_KEY). The key itself never goes in this file.
# api_key_env = ""
# Limit of one model request, in seconds.
# timeout_seconds = 120
# Limit of a whole `orch plan` with a model (every request, retry and repair round), in
# seconds; past it the offline plan is used and the fallback is reported.
# plan_timeout_seconds = 120
# Attempts per request, counting retries after 429, 5xx and overload.
# max_attempts = 4
"#;

/// Where to find things in the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepoConfig {
    /// Branch epics start from and merge into; `None`: the current branch.
    pub base_branch: Option<String>,
    /// Root of task worktrees (default `.worktrees`, relative to the repository root).
    pub worktree_root: PathBuf,
    /// Globs of untracked files copied into each new worktree (default none).
    pub copy_untracked: Vec<String>,
}

impl Default for RepoConfig {
    fn default() -> Self {
        RepoConfig {
            base_branch: None,
            worktree_root: PathBuf::from(".worktrees"),
            copy_untracked: Vec::new(),
        }
    }
}

/// How runs behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Sessions at once (default 3, as in the article).
    pub parallel: u32,
    /// Agent adapter name (default `claude`).
    pub agent: String,
    /// Retries before escalation (default 2).
    pub max_retries: u32,
    /// Session wall-clock limit in minutes (default 30).
    pub session_timeout_minutes: u32,
    /// Idle limit in minutes (default 10).
    pub idle_timeout_minutes: u32,
    /// Session backend: `auto` (tmux when installed), `tmux` or `process` (default `auto`).
    pub backend: String,
    /// The custom agent's command template (for `agent = "custom"`).
    pub agent_command: Vec<String>,
    /// Whether the quality gate runs on every task (default true).
    pub quality_gate: bool,
    /// Changes outside a task's file scope: `fail` or `report` (default `fail`).
    pub out_of_scope: String,
    /// Grace period for running sessions after Ctrl-C, in seconds (default 30).
    pub stop_grace_seconds: u32,
    /// What happens to a finished epic's branch: `merge`, `leave` or `pr` (default `merge`).
    pub on_epic_complete: String,
    /// Where agents run: `auto` (bubblewrap when it works here), `bwrap`, or `none`
    /// (default `auto`).
    pub sandbox: String,
    /// Extra paths writable inside the sandbox (`~` is the home directory), besides the
    /// workspace, a private `/tmp` and the agent CLI's own state directories.
    pub sandbox_writable: Vec<String>,
    /// Most megabytes one attempt's log keeps (default 100); the rest is dropped and the
    /// cut is written at the end of the log.
    pub log_max_mb: u64,
    /// Who lets verified work into its epic branch: `auto` (the merge queue) or `human`
    /// (`orch review approve`); a plan's epic or task may override it.
    pub review: crate::plan::ReviewMode,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            parallel: 3,
            agent: "claude".into(),
            max_retries: 2,
            session_timeout_minutes: 30,
            idle_timeout_minutes: 10,
            backend: "auto".into(),
            agent_command: Vec::new(),
            quality_gate: true,
            out_of_scope: "fail".into(),
            stop_grace_seconds: 30,
            on_epic_complete: "merge".into(),
            sandbox: "auto".into(),
            sandbox_writable: Vec::new(),
            log_max_mb: 100,
            review: crate::plan::ReviewMode::Auto,
        }
    }
}

/// The key that seals the quality gate's cache entries, relative to `.orch/`. Only orch
/// reads it; a sandboxed agent cannot see `.orch/` at all.
pub const GATE_CACHE_KEY_FILE: &str = "keys/gate-cache.key";

/// The eight quality dimensions, by their configuration names, in gate order.
pub const QUALITY_DIMENSIONS: [&str; 8] = [
    "syntax",
    "types",
    "lint",
    "security",
    "tests",
    "performance",
    "documentation",
    "integration",
];

/// Other names accepted for the eight dimensions (`docs` for `documentation`, …), as
/// (alias, dimension). Custom dimensions may not use them either.
pub const QUALITY_DIMENSION_ALIASES: [(&str, &str); 6] = [
    ("docs", "documentation"),
    ("type", "types"),
    ("typing", "types"),
    ("test", "tests"),
    ("perf", "performance"),
    ("e2e", "integration"),
];

/// Longest name of a custom quality dimension, in bytes.
pub const MAX_CUSTOM_DIMENSION_LEN: usize = 32;

/// Why `name` cannot name a custom quality dimension, if it cannot: it must be 1 to
/// [`MAX_CUSTOM_DIMENSION_LEN`] lowercase ASCII letters, digits, `-` or `_`, start with a
/// letter, and be neither one of the eight dimensions nor one of their aliases.
pub fn custom_dimension_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > MAX_CUSTOM_DIMENSION_LEN {
        return Some("a custom dimension's name must be 1 to 32 bytes long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        return Some(
            "a custom dimension's name takes lowercase ASCII letters, digits, `-` and `_`, and starts with a letter",
        );
    }
    if QUALITY_DIMENSIONS.contains(&name)
        || QUALITY_DIMENSION_ALIASES.iter().any(|(a, _)| *a == name)
    {
        return Some("it is the name of a built-in dimension; configure that one instead");
    }
    None
}

/// A custom quality dimension (`[quality.custom.<name>]`): a shell command run in the
/// project root (exit code 0 passes) and its weight in the overall score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCheckConfig {
    /// The shell command (`sh -c`), run in the project root.
    pub command: String,
    /// Weight in the overall score (default 1.0).
    #[serde(default = "default_custom_weight")]
    pub weight: f64,
}

fn default_custom_weight() -> f64 {
    1.0
}

/// Quality gate settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Overall score needed to pass (default 0.8).
    pub threshold: f64,
    /// Dimensions whose failure fails the gate (built-in or custom names); empty: every
    /// dimension that ran.
    pub required: Vec<String>,
    /// Line coverage in percent the tests dimension needs (default 80).
    pub coverage_threshold: f64,
    /// Share of public items that must be documented (default 0.8).
    pub docs_threshold: f64,
    /// Lint warnings allowed (default 0).
    pub max_lint_warnings: u32,
    /// Checks run at once (default 4).
    pub parallelism: usize,
    /// Limit of one check in seconds (default 900).
    pub check_timeout_seconds: u64,
    /// Benchmark command; empty: performance is skipped.
    pub performance_command: String,
    /// The time the benchmark must stay under, in milliseconds (default 200).
    pub performance_max_ms: f64,
    /// End-to-end command; empty: the project's integration tests.
    pub integration_command: String,
    /// Weight of each dimension in the overall score.
    pub weights: QualityWeights,
    /// Extra shell commands per dimension name (built-in or custom).
    pub commands: std::collections::BTreeMap<String, Vec<String>>,
    /// Dimensions beyond the eight, by name (`[quality.custom.licenses]`): each scored by
    /// its command, weighted, shown in every report.
    pub custom: std::collections::BTreeMap<String, CustomCheckConfig>,
    /// Whether code changes need tests that ran (default true): when the tests dimension
    /// could not run, the result is `Unverified` and does not pass. Turn off only for a
    /// project that has no tests and will not get any.
    pub require_tests: bool,
    /// The Python interpreter the gate runs Python tools with (default `python3`; a
    /// project's virtual environment: `.venv/bin/python`).
    pub python: String,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            threshold: 0.8,
            required: Vec::new(),
            coverage_threshold: 80.0,
            docs_threshold: 0.8,
            max_lint_warnings: 0,
            parallelism: 4,
            check_timeout_seconds: 900,
            performance_command: String::new(),
            performance_max_ms: 200.0,
            integration_command: String::new(),
            weights: QualityWeights::default(),
            commands: Default::default(),
            custom: Default::default(),
            require_tests: true,
            python: "python3".into(),
        }
    }
}

/// Weight of each quality dimension in the overall score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[allow(missing_docs)]
pub struct QualityWeights {
    pub syntax: f64,
    pub types: f64,
    pub lint: f64,
    pub security: f64,
    pub tests: f64,
    pub performance: f64,
    pub documentation: f64,
    pub integration: f64,
}

impl Default for QualityWeights {
    fn default() -> Self {
        QualityWeights {
            syntax: 1.0,
            types: 1.0,
            lint: 0.8,
            security: 1.0,
            tests: 1.5,
            performance: 0.5,
            documentation: 0.5,
            integration: 1.0,
        }
    }
}

impl QualityWeights {
    /// The weight of a dimension by its name; `None` for an unknown name.
    pub fn of(&self, dimension: &str) -> Option<f64> {
        Some(match dimension {
            "syntax" => self.syntax,
            "types" => self.types,
            "lint" => self.lint,
            "security" => self.security,
            "tests" => self.tests,
            "performance" => self.performance,
            "documentation" => self.documentation,
            "integration" => self.integration,
            _ => return None,
        })
    }
}

/// State store settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Age in seconds after which a runner lease is stale (default 30).
    pub lease_stale_seconds: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            lease_stale_seconds: 30,
        }
    }
}

/// Model settings for planning and advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    /// `offline`, `anthropic`, `openai` or `claude-cli` (default `offline`).
    pub provider: String,
    /// Model name; empty: the provider's default.
    pub model: String,
    /// API base URL; empty: the provider's default.
    pub base_url: String,
    /// Environment variable with the API key; empty: the provider's default.
    pub api_key_env: String,
    /// Limit of one request in seconds (default 120).
    pub timeout_seconds: u64,
    /// Limit of a whole model planning, retries and repair included (default 120).
    pub plan_timeout_seconds: u64,
    /// Attempts per request including retries (default 4).
    pub max_attempts: u32,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            provider: "offline".into(),
            model: String::new(),
            base_url: String::new(),
            api_key_env: String::new(),
            timeout_seconds: 120,
            plan_timeout_seconds: 120,
            max_attempts: 4,
        }
    }
}

/// The whole of `.orch/orch.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[repo]`
    pub repo: RepoConfig,
    /// `[run]`
    pub run: RunConfig,
    /// `[quality]`
    pub quality: QualityConfig,
    /// `[store]`
    pub store: StoreConfig,
    /// `[ai]`
    pub ai: AiConfig,
    /// `[budget]`
    pub budget: crate::budget::BudgetConfig,
    /// `[agents]`: the model of each attempt.
    pub agents: crate::agents::AgentsConfig,
    /// `[agent.<name>]`: per-agent permissions.
    pub agent: crate::agents::AgentTables,
    /// `[escalation]`: kept as raw TOML here and interpreted by `orch-escalation`'s
    /// `EscalationPolicy` (orch-core depends on no layer crate), which rejects unknown keys.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub escalation: toml::Table,
    /// `[remote]`: kept as raw TOML and interpreted by `orch-remote` (who may act from
    /// Slack, Discord and LINE), which rejects unknown keys.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub remote: toml::Table,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("{path} is not a valid orch configuration: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: `{key}` {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key, e.g. `run.parallel`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Config {
    /// Parses configuration text; `origin` is only used in error messages.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.check(origin)?;
        Ok(config)
    }

    /// Loads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn check(&self, origin: &Path) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| ConfigError::Invalid {
            path: origin.to_owned(),
            key,
            problem: problem.to_owned(),
        };
        if let Some(key) = self.budget.invalid() {
            return Err(invalid(key, "must be a positive amount of US dollars"));
        }
        if let Some(category) = self.agents.unknown_category() {
            return Err(invalid(
                "agents.by_category",
                &format!(
                    "unknown category `{category}`; expected database, backend, api, frontend, infra, testing, docs, security or general"
                ),
            ));
        }
        let mode = self.agent.claude.permission_mode.as_str();
        if !crate::agents::CLAUDE_PERMISSION_MODES.contains(&mode) {
            return Err(invalid(
                "agent.claude.permission_mode",
                &format!(
                    "`{mode}` is not a Claude Code permission mode; expected one of {}",
                    crate::agents::CLAUDE_PERMISSION_MODES.join(", ")
                ),
            ));
        }
        if !["offline", "anthropic", "openai", "claude-cli"].contains(&self.ai.provider.as_str()) {
            return Err(invalid(
                "ai.provider",
                "must be one of offline, anthropic, openai, claude-cli",
            ));
        }
        if self.ai.max_attempts == 0
            || self.ai.timeout_seconds == 0
            || self.ai.plan_timeout_seconds == 0
        {
            return Err(invalid(
                "ai.max_attempts",
                "ai.timeout_seconds and ai.plan_timeout_seconds must be at least 1",
            ));
        }
        if self.run.parallel == 0 {
            return Err(invalid("run.parallel", "must be at least 1"));
        }
        let q = &self.quality;
        if !(0.0..=1.0).contains(&q.threshold) {
            return Err(invalid("quality.threshold", "must be between 0.0 and 1.0"));
        }
        if !(0.0..=1.0).contains(&q.docs_threshold) {
            return Err(invalid(
                "quality.docs_threshold",
                "must be between 0.0 and 1.0",
            ));
        }
        if !(0.0..=100.0).contains(&q.coverage_threshold) {
            return Err(invalid(
                "quality.coverage_threshold",
                "must be between 0 and 100",
            ));
        }
        if q.parallelism == 0 || q.check_timeout_seconds == 0 {
            return Err(invalid(
                "quality.parallelism",
                "and quality.check_timeout_seconds must be at least 1",
            ));
        }
        if q.performance_max_ms.is_nan() || q.performance_max_ms <= 0.0 {
            return Err(invalid("quality.performance_max_ms", "must be above 0"));
        }
        for (name, custom) in &q.custom {
            if let Some(problem) = custom_dimension_problem(name) {
                return Err(invalid(
                    "quality.custom",
                    &format!("names `{name}`: {problem}"),
                ));
            }
            if custom.command.trim().is_empty() {
                return Err(invalid(
                    "quality.custom",
                    &format!("`{name}` needs a command"),
                ));
            }
            if !custom.weight.is_finite() || custom.weight < 0.0 {
                return Err(invalid(
                    "quality.custom",
                    &format!("`{name}`: the weight must be finite and not negative"),
                ));
            }
        }
        let known = QUALITY_DIMENSIONS
            .iter()
            .map(|d| (*d).to_owned())
            .chain(q.custom.keys().cloned())
            .collect::<Vec<_>>();
        let unknown = |name: &String| !known.contains(name);
        if let Some(name) = q.required.iter().find(|n| unknown(n)) {
            return Err(invalid(
                "quality.required",
                &format!("names `{name}`; dimensions are {}", known.join(", ")),
            ));
        }
        if let Some(name) = q.commands.keys().find(|n| unknown(n)) {
            return Err(invalid(
                "quality.commands",
                &format!("names `{name}`; dimensions are {}", known.join(", ")),
            ));
        }
        let w = &q.weights;
        let weights = [
            w.syntax,
            w.types,
            w.lint,
            w.security,
            w.tests,
            w.performance,
            w.documentation,
            w.integration,
        ];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(invalid(
                "quality.weights",
                "must be finite and not negative",
            ));
        }
        if !["auto", "tmux", "process"].contains(&self.run.backend.as_str()) {
            return Err(invalid("run.backend", "must be one of auto, tmux, process"));
        }
        if !["fail", "report"].contains(&self.run.out_of_scope.as_str()) {
            return Err(invalid("run.out_of_scope", "must be one of fail, report"));
        }
        if !["merge", "leave", "pr"].contains(&self.run.on_epic_complete.as_str()) {
            return Err(invalid(
                "run.on_epic_complete",
                "must be one of merge, leave, pr",
            ));
        }
        if q.python.trim().is_empty() {
            return Err(invalid("quality.python", "must name an interpreter"));
        }
        if !["auto", "bwrap", "none"].contains(&self.run.sandbox.as_str()) {
            return Err(invalid("run.sandbox", "must be one of auto, bwrap, none"));
        }
        if self.run.log_max_mb == 0 {
            return Err(invalid("run.log_max_mb", "must be at least 1"));
        }
        if self.run.session_timeout_minutes == 0 {
            return Err(invalid("run.session_timeout_minutes", "must be at least 1"));
        }
        if self.store.lease_stale_seconds == 0 {
            return Err(invalid("store.lease_stale_seconds", "must be at least 1"));
        }
        if let Some(branch) = &self.repo.base_branch
            && (branch.is_empty() || branch.starts_with('-') || branch.contains(".."))
        {
            return Err(invalid("repo.base_branch", "is not a usable branch name"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_defaults() {
        let c = Config::parse(DEFAULT_CONFIG_TOML, Path::new("orch.toml")).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn template_documents_the_defaults() {
        // Uncommenting every `# key = value` line must give the same values.
        let uncommented: String = DEFAULT_CONFIG_TOML
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.contains(" = ")
                        && !rest.contains("base_branch")
                        && !rest.contains("copy_untracked")
                        && !rest.contains("agent_command")
                        // examples of limits and models, not defaults (unset by default)
                        && !rest.contains("_usd")
                        && !rest.contains("model")
                        && !rest.starts_with("docs =") =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&uncommented, Path::new("orch.toml")).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn custom_quality_dimensions() {
        let text = "[quality]\nrequired = [\"licenses\", \"tests\"]\n\
                    [quality.commands]\nlicenses = [\"true\"]\n\
                    [quality.custom.licenses]\ncommand = \"cargo deny check licenses\"\nweight = 2.0\n\
                    [quality.custom.spelling]\ncommand = \"typos\"\n";
        let c = Config::parse(text, Path::new("orch.toml")).unwrap();
        assert_eq!(c.quality.custom.len(), 2);
        assert_eq!(c.quality.custom["licenses"].weight, 2.0);
        assert_eq!(c.quality.custom["spelling"].weight, 1.0);
        assert_eq!(c.quality.custom["spelling"].command, "typos");
        for (bad, problem) in [
            ("[quality.custom.docs]\ncommand = \"x\"\n", "built-in"),
            ("[quality.custom.tests]\ncommand = \"x\"\n", "built-in"),
            ("[quality.custom.Licenses]\ncommand = \"x\"\n", "lowercase"),
            ("[quality.custom.lic]\ncommand = \" \"\n", "needs a command"),
            (
                "[quality.custom.lic]\ncommand = \"x\"\nweight = -1.0\n",
                "weight",
            ),
            (
                "[quality.custom.lic]\ncommand = \"x\"\ntimeout = 3\n",
                "timeout",
            ),
            ("[quality]\nrequired = [\"licenses\"]\n", "licenses"),
        ] {
            let err = Config::parse(bad, Path::new("orch.toml")).unwrap_err();
            assert!(err.to_string().contains(problem), "{bad}: {err}");
        }
    }

    #[test]
    fn partial_files_keep_other_defaults() {
        let c = Config::parse("[run]\nparallel = 8\n", Path::new("x")).unwrap();
        assert_eq!(c.run.parallel, 8);
        assert_eq!(c.run.max_retries, 2);
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let err = Config::parse("[run]\nparalel = 8\n", Path::new("orch.toml")).unwrap_err();
        assert!(err.to_string().contains("paralel"), "{err}");
        let err = Config::parse("[run]\nparallel = 0\n", Path::new("orch.toml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "orch.toml: `run.parallel` must be at least 1"
        );
    }
}
