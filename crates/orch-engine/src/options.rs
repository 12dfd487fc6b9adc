//! Everything a run needs, with [`EngineOptions::from_config`] building it from
//! `.orch/orch.toml`, and the [`StopHandle`] that ends a run early.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orch_core::Config;
use orch_escalation::{DynAdvisor, EscalationPolicy, NotifierSet, RuleAdvisor};
use orch_quality::Gate;
use orch_session::{
    Agent, BackendChoice, BackendOptions, BwrapProbe, CustomCommand, Sandbox, SandboxMode,
    SessionBackend, agent_by_name, open_backend, probe_bwrap,
};
use tokio::sync::watch;

use crate::EngineError;
use crate::advisor::ModelAdvisor;
use crate::progress::{Progress, Silent};

/// What happens to an epic's branch once every task of the epic is completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpicCompletion {
    /// Merge it into the base branch (refused, and reported, when the base checkout has
    /// uncommitted changes).
    Merge,
    /// Leave it for a human.
    Leave,
    /// Open a pull request with `gh` (left as it is when `gh` is not installed).
    PullRequest,
}

impl EpicCompletion {
    fn parse(text: &str) -> Result<EpicCompletion, EngineError> {
        match text {
            "merge" => Ok(EpicCompletion::Merge),
            "leave" => Ok(EpicCompletion::Leave),
            "pr" => Ok(EpicCompletion::PullRequest),
            other => Err(EngineError::Config {
                key: "run.on_epic_complete",
                problem: format!("`{other}`; expected merge, leave or pr"),
            }),
        }
    }
}

/// The settings and collaborators of one run.
pub struct EngineOptions {
    /// The repository's root (main worktree).
    pub repo_root: PathBuf,
    /// Its `.orch/` directory.
    pub orch_dir: PathBuf,
    /// The configuration (worktree root, quality settings, …).
    pub config: Config,
    /// Sessions at once.
    pub parallel: usize,
    /// The agent that runs tasks.
    pub agent: Arc<dyn Agent>,
    /// Agents to switch to when a human (or the circuit breaker) asks for another agent,
    /// in order.
    pub alternate_agents: Vec<Arc<dyn Agent>>,
    /// Where sessions run.
    pub backend: Arc<dyn SessionBackend>,
    /// The quality gate; `None` skips it (then only "changed something" is verified).
    pub gate: Option<Arc<Gate>>,
    /// Retries, escalation limits, expiry.
    pub escalation: EscalationPolicy,
    /// Proposes options for escalations.
    pub advisor: Arc<dyn DynAdvisor>,
    /// Where questions are announced besides the progress output.
    pub notifiers: NotifierSet,
    /// Watches the run.
    pub progress: Arc<dyn Progress>,
    /// Keep running while tasks wait for a human answer (`false`: end the run as
    /// incomplete once nothing else can move; the next run picks the answers up).
    pub wait_for_answers: bool,
    /// The run's spending limit in US dollars (`orch run --max-cost`), over
    /// `[budget] run_usd`.
    pub max_cost: Option<f64>,
    /// Wall-clock limit of one session.
    pub session_timeout: Duration,
    /// Idle limit of one session.
    pub idle_timeout: Option<Duration>,
    /// After a graceful stop, how long running sessions may finish.
    pub stop_grace: Duration,
    /// What to do with finished epics.
    pub epic_completion: EpicCompletion,
    /// Fail an attempt that changed files outside its task's scope (`false`: report only).
    pub fail_out_of_scope: bool,
    /// Extra environment for every agent session.
    pub agent_env: Vec<(String, String)>,
    /// The PRD the plan came from, for excerpts in instructions.
    pub prd: Option<orch_ai::Prd>,
    /// The repository's layout and tools, for the map and conventions in instructions.
    pub repo_map: Option<orch_ai::RepoMap>,
    /// How often the loop looks at the store for answers and refreshes the display.
    pub tick: Duration,
    /// The sandbox agents run in (`[run] sandbox`); `None`: none.
    pub sandbox: Option<Sandbox>,
    /// Why agents run without a sandbox, when they do: shown when the run starts.
    pub sandbox_warning: Option<String>,
    /// Most bytes one attempt's log keeps.
    pub log_limit: Option<u64>,
}

/// The sandbox `[run] sandbox` asks for: `Ok((sandbox, warning))`, or an error when
/// bubblewrap is required and does not work here.
pub fn sandbox_from_config(
    run: &orch_core::RunConfig,
    orch_dir: &Path,
) -> Result<(Option<Sandbox>, Option<String>), EngineError> {
    let mode = SandboxMode::parse(&run.sandbox).ok_or_else(|| EngineError::Config {
        key: "run.sandbox",
        problem: format!("`{}`; expected auto, bwrap or none", run.sandbox),
    })?;
    let unsafe_note = "agents run without a sandbox: they can read and write everything you can \
         (orch still checks refs, hooks, git config and orch.toml after each attempt, but cannot \
         prevent); install bubblewrap (apt-get install bubblewrap) or set [run] sandbox = \"bwrap\"";
    let program = match (mode, probe_bwrap()) {
        (SandboxMode::None, _) => {
            return Ok((
                None,
                Some(format!("[run] sandbox = \"none\": {unsafe_note}")),
            ));
        }
        (_, BwrapProbe::Works(program)) => program,
        (SandboxMode::Bwrap, BwrapProbe::Unavailable(why)) => {
            return Err(EngineError::Config {
                key: "run.sandbox",
                problem: format!("\"bwrap\" is required but {why}"),
            });
        }
        (_, BwrapProbe::Unavailable(why)) => {
            return Ok((None, Some(format!("{why}; {unsafe_note}"))));
        }
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut sandbox = Sandbox::bwrap(program).hide(orch_dir);
    for extra in &run.sandbox_writable {
        let path = match (extra.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(extra),
        };
        sandbox = sandbox.writable(path);
    }
    Ok((Some(sandbox), None))
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("repo_root", &self.repo_root)
            .field("parallel", &self.parallel)
            .field("agent", &self.agent.name())
            .field("gate", &self.gate.is_some())
            .finish_non_exhaustive()
    }
}

impl EngineOptions {
    /// Options from the repository's configuration: the `[run]` agent, backend, limits and
    /// epic handling, the `[quality]` gate, the `[escalation]` policy (its `max_retries`
    /// defaults to `[run] max_retries`), notifiers, and a model-backed advisor when `[ai]`
    /// names a provider.
    pub fn from_config(repo_root: &Path, config: Config) -> Result<EngineOptions, EngineError> {
        let orch_dir = repo_root.join(".orch");
        let run = &config.run;
        let agent = agent_named(&run.agent, &run.agent_command)?;
        let backend_choice = match run.backend.as_str() {
            "tmux" => BackendChoice::Tmux,
            "process" => BackendChoice::Process,
            _ => BackendChoice::Auto,
        };
        let backend = open_backend(
            backend_choice,
            &BackendOptions::new(orch_dir.join("sessions")),
        )?;
        let escalation = escalation_policy(&config)?;
        let notifiers = escalation.notify.build().map_err(|e| EngineError::Config {
            key: "escalation.notify",
            problem: e.to_string(),
        })?;
        let advisor: Arc<dyn DynAdvisor> = match ModelAdvisor::from_config(&config.ai) {
            Ok(Some(model)) => Arc::new(model),
            Ok(None) => Arc::new(RuleAdvisor::new()),
            Err(problem) => {
                return Err(EngineError::Config {
                    key: "ai.provider",
                    problem,
                });
            }
        };
        let gate = run
            .quality_gate
            .then(|| Arc::new(Gate::new(config.quality.clone())));
        let (sandbox, sandbox_warning) = sandbox_from_config(run, &orch_dir)?;
        Ok(EngineOptions {
            repo_root: repo_root.to_owned(),
            orch_dir,
            parallel: usize::try_from(run.parallel.max(1)).unwrap_or(1),
            agent,
            alternate_agents: Vec::new(),
            backend,
            gate,
            escalation,
            advisor,
            notifiers,
            progress: Arc::new(Silent),
            wait_for_answers: true,
            max_cost: None,
            session_timeout: Duration::from_secs(u64::from(run.session_timeout_minutes) * 60),
            idle_timeout: (run.idle_timeout_minutes > 0)
                .then(|| Duration::from_secs(u64::from(run.idle_timeout_minutes) * 60)),
            stop_grace: Duration::from_secs(u64::from(run.stop_grace_seconds)),
            epic_completion: EpicCompletion::parse(&run.on_epic_complete)?,
            fail_out_of_scope: run.out_of_scope != "report",
            agent_env: Vec::new(),
            prd: None,
            repo_map: None,
            tick: Duration::from_millis(200),
            sandbox,
            sandbox_warning,
            log_limit: Some(run.log_max_mb.saturating_mul(1024 * 1024)),
            config,
        })
    }
}

impl EngineOptions {
    /// Leaves questions off the console notifier: for front ends that show them in their
    /// own progress output ([`crate::RunEvent::Question`]).
    pub fn without_console_notifier(&mut self) -> Result<(), EngineError> {
        let mut notify = self.escalation.notify.clone();
        notify.console = false;
        self.notifiers = notify.build().map_err(|e| EngineError::Config {
            key: "escalation.notify",
            problem: e.to_string(),
        })?;
        Ok(())
    }
}

/// The agent adapter called `name`; `custom` uses `command` as its template.
pub fn agent_named(name: &str, command: &[String]) -> Result<Arc<dyn Agent>, EngineError> {
    if name == "custom" {
        if command.is_empty() {
            return Err(EngineError::Config {
                key: "run.agent_command",
                problem: "the custom agent needs a command, e.g. [\"my-agent\", \"{prompt_file}\"]"
                    .into(),
            });
        }
        return Ok(Arc::new(CustomCommand::new(command.iter().cloned())?));
    }
    Ok(agent_by_name(name)?)
}

/// The `[escalation]` policy; `max_retries` falls back to `[run] max_retries`.
pub fn escalation_policy(config: &Config) -> Result<EscalationPolicy, EngineError> {
    let mut table = config.escalation.clone();
    if !table.contains_key("max_retries") {
        table.insert(
            "max_retries".into(),
            toml::Value::Integer(i64::from(config.run.max_retries)),
        );
    }
    let text = toml::to_string(&toml::Table::from_iter([(
        "escalation".to_owned(),
        toml::Value::Table(table),
    )]))
    .map_err(|e| EngineError::Config {
        key: "escalation",
        problem: e.to_string(),
    })?;
    Ok(EscalationPolicy::from_toml(&text)?)
}

/// How hard to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopLevel {
    /// Keep going.
    Run,
    /// Start nothing new; let running sessions finish within the grace period.
    Graceful,
    /// Kill running sessions now.
    Now,
}

/// Ends a run early from another task (the CLI's Ctrl-C handler). Cloneable.
#[derive(Debug, Clone)]
pub struct StopHandle {
    sender: Arc<watch::Sender<StopLevel>>,
}

impl StopHandle {
    /// A handle and the receiver the conductor watches.
    pub(crate) fn new() -> (StopHandle, watch::Receiver<StopLevel>) {
        let (sender, receiver) = watch::channel(StopLevel::Run);
        (
            StopHandle {
                sender: Arc::new(sender),
            },
            receiver,
        )
    }

    /// The first call stops gracefully, the second kills running sessions now.
    pub fn escalate(&self) -> StopLevel {
        let next = match *self.sender.borrow() {
            StopLevel::Run => StopLevel::Graceful,
            _ => StopLevel::Now,
        };
        self.sender.send_replace(next);
        next
    }

    /// Stops at `level` (never lowers it).
    pub fn stop(&self, level: StopLevel) {
        self.sender.send_if_modified(|current| {
            if level > *current {
                *current = level;
                true
            } else {
                false
            }
        });
    }
}
