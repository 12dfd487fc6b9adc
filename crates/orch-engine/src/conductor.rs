//! The conductor: takes the runner lease, recovers what an earlier run left, then loops:
//! schedule ready tasks, hand each to a worker, move statuses as workers report, retry or
//! escalate failures, pick up human answers, finish epics.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::{EpicId, Event, Plan, ReviewMode, TaskBoard, TaskId, TaskStatus};
use orch_escalation::{Escalator, FailureKind};
use orch_session::{PoolConfig, SessionEvent, SessionPool};
use orch_store::{AttemptRecord, Lease, Store, StoreError, TaskFilter};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc, watch};

use crate::EngineError;
use crate::options::{EngineOptions, StopHandle, StopLevel};
use crate::progress::{ActiveTask, RunEvent, RunOutcome, RunReport, RunSnapshot, TaskSummary};
use crate::worker::{self, Job, Shared, Stage, Verdict, WorkerMsg};

/// How often the runner lease is refreshed, at most.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Meta key of the escalator's state.
pub(crate) const ESCALATOR_KEY: &str = "engine.escalator";

/// What the next attempt of a task should do differently, kept in the store so that a
/// restart does not forget a decided retry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RetryPlan {
    pub feedback: String,
    #[serde(default)]
    pub fresh_worktree: bool,
    #[serde(default)]
    pub non_interactive: bool,
    #[serde(default)]
    pub agent: Option<String>,
}

/// Kinds of change another process may have made, seen in the event log and not yet
/// looked at.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Unseen {
    pub answers: bool,
    pub reviews: bool,
    pub control: bool,
}

pub(crate) fn retry_key(task: &TaskId) -> String {
    format!("engine.retry.{task}")
}

pub(crate) struct InFlight {
    pub attempt: u32,
    pub agent: &'static str,
    pub started: Instant,
    pub last_output: Option<String>,
    pub session: Option<orch_session::SessionId>,
}

/// Runs a stored plan to its end. See the crate documentation for the loop.
pub struct Conductor {
    pub(crate) options: EngineOptions,
    pub(crate) store: Store,
    pub(crate) plan: Plan,
    /// The statuses with the scheduler's indexes, kept in step with every move orch makes
    /// and every status change the store's event log shows (see [`Conductor::refresh`]):
    /// nothing per merge reads or decodes the whole plan.
    pub(crate) board: TaskBoard,
    /// Each epic's tasks, by index.
    epic_tasks: HashMap<EpicId, Vec<usize>>,
    /// What the event log showed since the answers, reviews and run control were last
    /// looked at.
    pub(crate) unseen: Unseen,
    /// When answers, reviews and run control were last read whatever the log showed.
    pub(crate) last_full_pickup: Instant,
    pub(crate) shared: Arc<Shared>,
    pub(crate) escalator: Escalator,
    pub(crate) stop: StopHandle,
    stop_rx: watch::Receiver<StopLevel>,
    pub(crate) inflight: HashMap<TaskId, InFlight>,
    pub(crate) not_before: HashMap<TaskId, Instant>,
    busy: HashMap<TaskId, Duration>,
    agent_time: Duration,
    cost: Option<f64>,
    lease: Option<Lease>,
    /// Keeps the lease alive on its own thread.
    lease_keeper: Option<crate::lease::LeaseKeeper>,
    /// Turns true when another runner took the lease.
    lease_lost: watch::Receiver<bool>,
    run_id: String,
    started: Instant,
    pub(crate) decisions: orch_ai::DecisionLog,
    pub(crate) aborted: bool,
    pub(crate) last_seen_seq: u64,
    epics_finished: HashSet<EpicId>,
    /// Running attempts whose task was changed in the store behind orch's back, with the
    /// evidence: their result is not trusted.
    tampered: HashMap<TaskId, String>,
    /// Notifications still being delivered (the run waits for their reports).
    pub(crate) pending_notifications: usize,
    /// Epics whose tasks are all done but whose merge into the base branch was refused,
    /// with why: retried until it goes through; the run is not complete before.
    pub(crate) pending_epics: std::collections::BTreeMap<EpicId, String>,
    last_epic_retry: Instant,
    pub(crate) tx: mpsc::Sender<WorkerMsg>,
    rx: mpsc::Receiver<WorkerMsg>,
    /// Spending against `[budget]`.
    pub(crate) budgets: crate::budget::Budgets,
    /// Limits reached during this run, by scope, for the report.
    pub(crate) budget_reached: Vec<String>,
    /// Paused from outside (`orch pause`, a chat command): who paused it.
    pub(crate) paused_by: Option<String>,
}

impl std::fmt::Debug for Conductor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conductor")
            .field("run_id", &self.run_id)
            .field("tasks", &self.plan.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Conductor {
    /// Opens the repository's store, takes the single-runner lease (refused while another
    /// live runner holds it) and loads the plan. Must be called inside a tokio runtime.
    pub fn open(options: EngineOptions) -> Result<Conductor, EngineError> {
        let mut store = Store::open_existing(&options.orch_dir.join("state.db"))?;
        let plan = store.plan()?.ok_or(EngineError::NoPlan)?;
        let graph = plan.validate()?;
        // Checked once before anything starts: the repository, the base branch (pinned for
        // the run), git and the agent's program.
        let worktrees = crate::preflight::open_worktrees(&options.repo_root, &options.config.repo)?
            // Agents get isolated worktrees: their `.git` is a private repository.
            .with_isolation(true);
        crate::preflight::check_programs(options.agent.as_ref(), &options.repo_root)?;
        let common_dir = worktrees.common_dir().to_owned();
        let run_id = format!("run-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let stale = Duration::from_secs(options.config.store.lease_stale_seconds);
        let lease = store.acquire_lease(&run_id, stale)?;
        // The heartbeat runs from now on, whatever the loop waits for: a quarter of the
        // staleness limit, so three missed beats are still fine.
        let (lease_keeper, lease_lost) = crate::lease::LeaseKeeper::start(
            options.orch_dir.join("state.db"),
            lease.clone(),
            (stale / 4).clamp(Duration::from_millis(200), HEARTBEAT),
        );
        let escalator = load_escalator(&store, &options)?;
        // Inside the sandbox the main repository's objects stay readable (the agent's
        // private repository borrows them), and orch's own directory is hidden.
        let sandbox = options.sandbox.clone().map(|s| s.readable(&common_dir));
        let sandboxed = sandbox.is_some();
        let pool = SessionPool::new(
            Arc::clone(&options.backend),
            PoolConfig {
                max_sessions: options.parallel,
                timeout: options.session_timeout,
                idle_timeout: options.idle_timeout,
                log_limit: options.log_limit,
                sandbox,
                ..PoolConfig::default()
            },
        );
        let guard = worktrees.repo_guard(
            vec![options.orch_dir.join("orch.toml")],
            options.orch_dir.join("quarantine"),
            sandboxed,
        )?;
        // In the sandbox `.orch/` is hidden, so the gate cache's key can live there; without
        // it an agent could read any file, so the key lives in memory for this run only.
        let cache_seal = if sandboxed {
            let key = options.orch_dir.join(orch_core::GATE_CACHE_KEY_FILE);
            orch_quality::CacheSeal::load_or_create(&key).map_err(|e| EngineError::Config {
                key: "quality cache key",
                problem: format!("{}: {e}", key.display()),
            })?
        } else {
            orch_quality::CacheSeal::random().map_err(|e| EngineError::Config {
                key: "quality cache key",
                problem: e.to_string(),
            })?
        };
        let verify_dir = verify_dir_for(&options.repo_root);
        let shared = Arc::new(Shared {
            worktrees: Arc::new(worktrees),
            pool,
            gate: options.gate.clone(),
            merge_queue: Mutex::new(()),
            orch_dir: options.orch_dir.clone(),
            agent_env: options.agent_env.clone(),
            fail_out_of_scope: options.fail_out_of_scope,
            guard,
            cache_seal,
            verify_dir,
            lease_lost: lease_lost.clone(),
        });
        let (stop, stop_rx) = StopHandle::new();
        let (tx, rx) = mpsc::channel(256);
        let decisions = orch_ai::DecisionLog::new(
            options.orch_dir.join("logs").join("ai_decisions"),
            orch_ai::LogLimits::default(),
        );
        let epics_finished = plan
            .epics
            .iter()
            .filter(|e| store.meta(&epic_key(&e.id)).ok().flatten().is_some())
            .map(|e| e.id.clone())
            .collect();
        let statuses = plan.tasks.iter().map(|t| t.status).collect();
        let board = TaskBoard::new(graph, statuses);
        let mut epic_tasks: HashMap<EpicId, Vec<usize>> = HashMap::new();
        for (i, t) in plan.tasks.iter().enumerate() {
            epic_tasks.entry(t.epic.clone()).or_default().push(i);
        }
        // Status changes before this point are in the plan just read.
        let last_seen_seq = store.last_event_seq()?;
        let budgets = crate::budget::Budgets::load(
            &store,
            &plan,
            options.config.budget.clone(),
            options.max_cost,
        )?;
        Ok(Conductor {
            budgets,
            budget_reached: Vec::new(),
            paused_by: None,
            store,
            plan,
            board,
            epic_tasks,
            // Answers and decisions given between runs are read before anything starts.
            unseen: Unseen {
                answers: true,
                reviews: true,
                control: true,
            },
            last_full_pickup: Instant::now(),
            shared,
            escalator,
            stop,
            stop_rx,
            inflight: HashMap::new(),
            not_before: HashMap::new(),
            busy: HashMap::new(),
            agent_time: Duration::ZERO,
            cost: None,
            lease: Some(lease),
            lease_keeper: Some(lease_keeper),
            lease_lost: lease_lost.clone(),
            run_id,
            started: Instant::now(),
            decisions,
            aborted: false,
            last_seen_seq,
            epics_finished,
            tampered: HashMap::new(),
            pending_notifications: 0,
            pending_epics: std::collections::BTreeMap::new(),
            last_epic_retry: Instant::now(),
            tx,
            rx,
            options,
        })
    }

    /// A handle that stops the run: first call gracefully, second at once.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The run id (also the lease owner).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Runs until every task is completed, nothing more can move, or the run is stopped.
    /// The lease is released in every case.
    pub async fn run(mut self) -> Result<RunReport, EngineError> {
        let result = self.run_loop().await;
        if matches!(result, Err(EngineError::LeaseLost)) {
            // Another runner owns the repository and the sessions now: touch nothing.
            self.lease_keeper.take();
            self.shared.pool.backend().detach_all();
            self.lease.take();
            return Err(EngineError::LeaseLost);
        }
        // Whatever happened, no session is left running unsupervised and the lease goes back.
        if result.is_err() {
            self.shared.pool.kill_all();
            self.drain_workers().await;
        }
        self.lease_keeper.take();
        if let Some(lease) = self.lease.take() {
            let _ = self.store.release_lease(lease);
        }
        let outcome = result?;
        let _ = self.store.append_event(&Event::RunFinished {
            run: self.run_id.clone(),
            outcome: outcome.as_str().to_owned(),
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        self.report(outcome)
    }

    async fn run_loop(&mut self) -> Result<RunOutcome, EngineError> {
        if let Some(warning) = self.options.sandbox_warning.clone() {
            tracing::warn!("{warning}");
            self.note(format!("warning: {warning}"));
        }
        // A stop asked for while no run was going is not this run's.
        self.store.clear_stop_request()?;
        let recovered = self.recover().await?;
        self.store.append_event(&Event::RunStarted {
            run: self.run_id.clone(),
            parallel: u32::try_from(self.options.parallel).unwrap_or(u32::MAX),
            agent: self.options.agent.name().to_owned(),
            recovered,
        })?;
        self.refresh()?;
        // Answers given between runs (`orch msg answer`) are applied before anything is
        // scheduled: with `--no-wait` the loop may end before its first tick.
        self.on_tick().await?;
        // An epic whose last task completed just before an earlier run died (or whose
        // merge hung) is finished now: its work must not stay off the base branch.
        let epics: Vec<EpicId> = self.plan.epics.iter().map(|e| e.id.clone()).collect();
        for epic in &epics {
            self.finish_epic_if_done(epic).await?;
        }
        let mut session_events = self.shared.pool.subscribe();
        let mut tick = tokio::time::interval(self.options.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut lease_lost = self.lease_lost.clone();
        let mut grace_ends: Option<Instant> = None;
        let mut killed = false;
        loop {
            if *lease_lost.borrow() {
                return Err(EngineError::LeaseLost);
            }
            let level = *self.stop_rx.borrow();
            if level >= StopLevel::Graceful && grace_ends.is_none() {
                grace_ends = Some(Instant::now() + self.options.stop_grace);
                if !self.inflight.is_empty() && level == StopLevel::Graceful {
                    self.note(format!(
                        "stopping: no new tasks; {} running may finish within {} s (Ctrl-C again to stop them now)",
                        self.inflight.len(),
                        self.options.stop_grace.as_secs()
                    ));
                }
            }
            let grace_over = grace_ends.is_some_and(|t| Instant::now() >= t);
            if !killed && (level == StopLevel::Now || grace_over) && !self.inflight.is_empty() {
                self.shared.pool.kill_all();
                killed = true;
            }
            if level == StopLevel::Run && !self.aborted {
                self.schedule()?;
            }
            if self.inflight.is_empty() && self.pending_notifications == 0 {
                if self.aborted {
                    return Ok(RunOutcome::Aborted);
                }
                if level >= StopLevel::Graceful {
                    return Ok(RunOutcome::Interrupted);
                }
                if self
                    .board
                    .statuses()
                    .iter()
                    .all(|s| *s == TaskStatus::Completed)
                    && self.pending_epics.is_empty()
                {
                    return Ok(RunOutcome::Completed);
                }
                if !self.can_progress() {
                    return Ok(RunOutcome::Incomplete);
                }
            }
            tokio::select! {
                Some(msg) = self.rx.recv() => self.handle(msg).await?,
                Some(event) = session_events.recv() => self.on_session_event(event),
                _ = tick.tick() => {
                    self.on_tick().await?;
                    self.options.progress.snapshot(&self.snapshot());
                }
                _ = self.stop_rx.changed() => {}
                _ = lease_lost.changed() => {}
            }
        }
    }

    /// Waits for every worker to report (after a kill), storing nothing more.
    async fn drain_workers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.inflight.is_empty() && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(1), self.rx.recv()).await {
                Ok(Some(WorkerMsg::Finished(f))) => {
                    self.inflight.remove(&f.task);
                }
                Ok(Some(WorkerMsg::Phase { ack, .. })) => {
                    let _ = ack.send(());
                }
                Ok(Some(_)) | Err(_) => {}
                Ok(None) => break,
            }
        }
    }

    pub(crate) fn index(&self, task: &TaskId) -> usize {
        self.board
            .graph()
            .index_of(task)
            .expect("tasks come from the plan")
    }

    pub(crate) fn status(&self, task: &TaskId) -> TaskStatus {
        self.board.status(self.index(task))
    }

    /// Moves a task and mirrors the change; an illegal move is reported, not fatal.
    pub(crate) fn set_status(
        &mut self,
        task: &TaskId,
        to: TaskStatus,
        reason: &str,
    ) -> Result<bool, EngineError> {
        match self.store.transition(task, to, Some(reason)) {
            Ok(_) => {
                self.mirror(self.index(task), to);
                Ok(true)
            }
            Err(StoreError::IllegalTransition { source, .. }) => {
                self.note(format!("{task}: {source}"));
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Running tasks must have the status orch gave them: anything else was written past
    /// the state machine (an agent writing `.orch/state.db`). The status is put back, the
    /// session stopped, and the attempt fails as tampering.
    pub(crate) fn check_running_statuses(&mut self) -> Result<(), EngineError> {
        let ids: Vec<TaskId> = self.inflight.keys().cloned().collect();
        for id in ids {
            let stored = self.store.task(&id)?.task.status;
            let ours = self.status(&id);
            if stored == ours {
                continue;
            }
            self.store.restore_status(
                &id,
                ours,
                "put back: changed outside orch while its attempt ran",
            )?;
            let evidence = format!(
                "the store's status of {id} was changed from {ours} to {stored} outside orch while its agent ran"
            );
            self.note(format!("{id}: tampering: {evidence}"));
            if let Some(session) = self.inflight.get(&id).and_then(|f| f.session) {
                self.shared.pool.kill(session);
            }
            self.tampered.insert(id, evidence);
        }
        Ok(())
    }

    /// Puts a status orch made (or the store shows) on the board and in the plan.
    pub(crate) fn mirror(&mut self, i: usize, status: TaskStatus) {
        self.board.set(i, status);
        self.plan.tasks[i].status = status;
    }

    /// Brings the statuses up to date and moves what became ready or blocked. Reads only
    /// what changed: the events after the last one seen (status changes made by orch
    /// itself, by `orch task skip` and the like from another process), then the tasks
    /// those changes can affect. A status written to the database without its event is
    /// not believed; for running tasks it is caught as tampering.
    pub(crate) fn refresh(&mut self) -> Result<(), EngineError> {
        self.check_running_statuses()?;
        self.read_new_events()?;
        loop {
            let moves = self.board.take_readiness_moves();
            if moves.is_empty() {
                return Ok(());
            }
            let writes: Vec<(TaskId, TaskStatus, &str)> = moves
                .iter()
                .map(|&(i, to)| {
                    let reason = if to == TaskStatus::Ready {
                        "dependencies completed"
                    } else {
                        "a dependency was skipped or cancelled"
                    };
                    (self.plan.tasks[i].id.clone(), to, reason)
                })
                .collect();
            let events = self.store.transition_all(&writes)?;
            for &(i, to) in &moves {
                self.mirror(i, to);
            }
            // Our own moves need not be read back.
            if let Some(last) = events.last()
                && last.seq == self.last_seen_seq + events.len() as u64
            {
                self.last_seen_seq = last.seq;
            }
        }
    }

    /// Applies the status changes in the events written since the last one seen, and notes
    /// which other kinds of change (answers, reviews, run control) arrived.
    pub(crate) fn read_new_events(&mut self) -> Result<(), EngineError> {
        /// Events read per query: memory stays bounded however far behind the run is.
        const BATCH: usize = 2_000;
        loop {
            let events = self.store.events_since(self.last_seen_seq, BATCH)?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            for stored in events {
                match stored.event {
                    Event::TaskStatusChanged { task, to, .. } => {
                        // A running attempt's status is orch's own; a change to it is
                        // checked against the store (and put back) as tampering.
                        if self.inflight.contains_key(&task) {
                            continue;
                        }
                        if let Some(i) = self.board.graph().index_of(&task) {
                            self.mirror(i, to);
                        }
                    }
                    Event::AttemptStarted { task, attempt, .. } => {
                        if let Some(i) = self.board.graph().index_of(&task) {
                            let t = &mut self.plan.tasks[i];
                            t.attempts = t.attempts.max(attempt);
                        }
                    }
                    Event::MessageChanged { .. } => self.unseen.answers = true,
                    Event::ReviewDecided { .. } => self.unseen.reviews = true,
                    Event::RunControl { .. } => self.unseen.control = true,
                    _ => {}
                }
            }
            self.last_seen_seq = last;
        }
    }

    pub(crate) fn note(&self, text: String) {
        tracing::info!("{text}");
        self.options.progress.event(&RunEvent::Note { text });
    }

    /// Whether anything can still happen without a new `orch run`: a task is ready, a retry
    /// is waiting for its backoff, or (when waiting for answers) a question is open.
    fn can_progress(&self) -> bool {
        // A ready task held back by a spending limit cannot start before an answer.
        let paused_out = self.paused_by.is_some() && !self.options.wait_for_answers;
        let ready = !paused_out
            && self.board.startable().any(|i| {
                let t = &self.plan.tasks[i];
                self.board.status(i) == TaskStatus::Ready
                    && self.budgets.reached(&t.id, &t.epic).is_none()
            });
        let waiting_human = self.options.wait_for_answers
            && (self.escalator.open_messages() > 0
                || self.board.statuses().contains(&TaskStatus::AwaitingReview)
                || self.escalator.held() > 0
                || !self.pending_epics.is_empty());
        ready || waiting_human
    }

    fn schedule(&mut self) -> Result<(), EngineError> {
        let free = self.options.parallel.saturating_sub(self.inflight.len());
        if free == 0 || self.paused_by.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        self.not_before.retain(|_, at| *at > now);
        self.hold_over_budget()?;
        let picked = self.board.pick(free, |i| {
            let task = &self.plan.tasks[i];
            (self.board.status(i) == TaskStatus::Ready && self.not_before.contains_key(&task.id))
                || self.budgets.reached(&task.id, &task.epic).is_some()
        });
        for i in picked {
            let task = self.plan.tasks[i].id.clone();
            if self.board.status(i) == TaskStatus::Pending {
                self.set_status(&task, TaskStatus::Ready, "dependencies completed")?;
            }
            self.launch(&task)?;
        }
        Ok(())
    }

    fn launch(&mut self, task_id: &TaskId) -> Result<(), EngineError> {
        let i = self.index(task_id);
        let record = self.store.task(task_id)?;
        let attempt = record.task.attempts + 1;
        let retry: RetryPlan = self
            .store
            .meta(&retry_key(task_id))?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let agent = match &retry.agent {
            Some(name) => self.agent_named(name),
            None => Arc::clone(&self.options.agent),
        };
        let previous = self.store.attempts(Some(task_id))?.pop();
        let resume = previous
            .as_ref()
            .filter(|p| p.agent == agent.name())
            .and_then(|p| p.agent_session_id.clone());
        let feedback = (!retry.feedback.is_empty())
            .then(|| retry.feedback.clone())
            .or_else(|| previous.as_ref().and_then(|p| p.feedback.clone()));
        let task = self.plan.tasks[i].clone();
        let instructions = self.instructions(&task, attempt, feedback);
        let claude = &self.options.config.agent.claude;
        let settings = worker::AgentSettings {
            model: self
                .options
                .config
                .agents
                .model_for(task.category, attempt)
                .map(str::to_owned),
            permission_mode: Some(claude.permission_mode.clone()),
            allowed_tools: claude.allowed_tools.clone(),
            disallowed_tools: claude.disallowed_tools.clone(),
            max_budget_usd: self.budgets.attempt_cap(&task.id, &task.epic),
        };
        let log = orch_session::attempt_log_path(&self.options.orch_dir, task_id, attempt);
        self.store.begin_attempt(&AttemptRecord {
            worktree: self
                .shared
                .worktrees
                .worktree_path(task_id)
                .display()
                .to_string(),
            ..AttemptRecord::starting(
                task_id.clone(),
                attempt,
                agent.name(),
                log.display().to_string(),
            )
        })?;
        self.store.set_meta(&retry_key(task_id), "")?;
        self.mirror(i, TaskStatus::Running);
        self.options.progress.event(&RunEvent::TaskPhase {
            task: task_id.clone(),
            status: TaskStatus::Running,
        });
        // A retry in the same worktree keeps the base orch recorded for it.
        let base = (!retry.fresh_worktree)
            .then(|| previous.as_ref().map(|p| p.base_sha.clone()))
            .flatten()
            .filter(|b| !b.is_empty());
        self.spawn(Job {
            upstream_epics: self.upstream_epics(&task),
            task,
            attempt,
            agent,
            stage: Stage::Start {
                instructions,
                resume,
                fresh_worktree: retry.fresh_worktree,
                non_interactive: retry.non_interactive,
            },
            base,
            verified_sha: None,
            review: false,
            settings,
        });
        Ok(())
    }

    /// The epics of `task`'s dependencies other than its own, in plan order.
    pub(crate) fn upstream_epics(&self, task: &orch_core::Task) -> Vec<EpicId> {
        let mut out: Vec<EpicId> = Vec::new();
        for dep in &task.depends_on {
            if let Some(i) = self.board.graph().index_of(dep)
                && let d = &self.plan.tasks[i]
                && d.epic != task.epic
                && !out.contains(&d.epic)
            {
                out.push(d.epic.clone());
            }
        }
        out
    }

    pub(crate) fn spawn(&mut self, mut job: Job) {
        job.review = self
            .plan
            .review_mode(&job.task, self.options.config.run.review)
            == ReviewMode::Human;
        self.inflight.insert(
            job.task.id.clone(),
            InFlight {
                attempt: job.attempt,
                agent: job.agent.name(),
                started: Instant::now(),
                last_output: None,
                session: None,
            },
        );
        tokio::spawn(worker::run(Arc::clone(&self.shared), job, self.tx.clone()));
    }

    pub(crate) fn agent_named(&self, name: &str) -> Arc<dyn orch_session::Agent> {
        if name == self.options.agent.name() {
            return Arc::clone(&self.options.agent);
        }
        if let Some(agent) = self
            .options
            .alternate_agents
            .iter()
            .find(|a| a.name() == name)
        {
            return Arc::clone(agent);
        }
        match crate::options::agent_named(name, &self.options.config.run.agent_command) {
            Ok(agent) => agent,
            Err(e) => {
                self.note(format!(
                    "cannot use agent `{name}` ({e}); using {}",
                    self.options.agent.name()
                ));
                Arc::clone(&self.options.agent)
            }
        }
    }

    fn instructions(
        &self,
        task: &orch_core::Task,
        attempt: u32,
        feedback: Option<String>,
    ) -> String {
        crate::instructions::task_instructions(
            &self.plan,
            task,
            &self.store,
            &self.options,
            attempt,
            feedback,
        )
    }

    async fn handle(&mut self, msg: WorkerMsg) -> Result<(), EngineError> {
        match msg {
            WorkerMsg::SessionStarted {
                task,
                attempt,
                handle,
                base_sha,
                adopted,
            } => {
                self.store.record_session(
                    &task,
                    attempt,
                    &handle.id.to_string(),
                    &handle.name,
                    &base_sha,
                    adopted,
                )?;
                let mut agent = String::new();
                if let Some(f) = self.inflight.get_mut(&task) {
                    f.session = Some(handle.id);
                    agent = f.agent.to_owned();
                }
                let attach = self
                    .shared
                    .pool
                    .backend()
                    .attach_command(&handle)
                    .map(|argv| argv.join(" "));
                self.options.progress.event(&RunEvent::TaskStarted {
                    task,
                    attempt,
                    agent,
                    attach,
                });
            }
            WorkerMsg::Phase {
                task,
                status,
                verified,
                ack,
            } => {
                self.check_running_statuses()?;
                if let Some(verified) = verified
                    && let Some(attempt) = self.inflight.get(&task).map(|f| f.attempt)
                {
                    self.store.record_verified(&task, attempt, &verified)?;
                }
                let reason = match status {
                    TaskStatus::Verifying => "agent finished; verifying",
                    TaskStatus::Merging => "verified; in the merge queue",
                    TaskStatus::AwaitingReview => "verified; waiting for a human review",
                    _ => "worker",
                };
                if self.status(&task) != status {
                    self.set_status(&task, status, reason)?;
                }
                self.options
                    .progress
                    .event(&RunEvent::TaskPhase { task, status });
                let _ = ack.send(());
            }
            WorkerMsg::ScopeViolation { task, files } => {
                self.store.append_event(&Event::ScopeViolation {
                    task: task.clone(),
                    files: files.iter().take(20).cloned().collect(),
                })?;
                self.options
                    .progress
                    .event(&RunEvent::ScopeViolation { task, files });
            }
            WorkerMsg::Finished(finished) => self.finished(*finished).await?,
            WorkerMsg::Notified { message, report } => {
                self.pending_notifications = self.pending_notifications.saturating_sub(1);
                self.record_notified(&message.id, &report)?;
            }
        }
        Ok(())
    }

    async fn finished(&mut self, mut f: worker::Finished) -> Result<(), EngineError> {
        tracing::debug!(
            task = %f.task,
            attempt = f.attempt,
            result = %f.end.result,
            busy_ms = u64::try_from(f.busy.as_millis()).unwrap_or(u64::MAX),
            cost_usd = f.end.cost_usd.unwrap_or(0.0),
            "attempt finished"
        );
        self.check_running_statuses()?;
        self.inflight.remove(&f.task);
        if let Some(evidence) = self.tampered.remove(&f.task) {
            match f.verdict {
                Verdict::Merged { .. } => self.note(format!(
                    "{}: merged before the tampering was noticed: {evidence}",
                    f.task
                )),
                _ => {
                    f.end.result = FailureKind::Tampering.as_str().into();
                    f.end.summary = evidence.clone();
                    f.verdict = Verdict::Failed(Box::new(
                        orch_escalation::FailureContext::new(
                            f.task.clone(),
                            FailureKind::Tampering,
                            evidence,
                        )
                        .with_attempt(f.attempt),
                    ));
                }
            }
        }
        *self.busy.entry(f.task.clone()).or_default() += f.busy;
        self.agent_time += f.agent_time;
        if let Some(c) = f.end.cost_usd {
            *self.cost.get_or_insert(0.0) += c;
            let epic = self.plan.tasks[self.index(&f.task)].epic.clone();
            self.budgets.spent(&f.task, &epic, c);
        }
        let quality = f.end.quality;
        self.store.finish_attempt(&f.task, f.attempt, f.end)?;
        match f.verdict {
            Verdict::Merged { sha } => {
                let epic = self.plan.tasks[self.index(&f.task)].epic.clone();
                self.store.append_event(&Event::Merged {
                    task: Some(f.task.clone()),
                    source: self.shared.worktrees.naming().task_branch(&f.task),
                    target: self.shared.worktrees.naming().epic_branch(&epic),
                    sha,
                })?;
                self.complete(&f.task, "merged into its epic branch")
                    .await?;
                self.options.progress.event(&RunEvent::TaskCompleted {
                    task: f.task.clone(),
                    attempts: f.attempt,
                    quality,
                });
                self.refresh()?;
                orch_core::fault::point("task-completed");
                self.finish_epic_if_done(&epic).await?;
            }
            Verdict::AwaitingReview { sha, base } => {
                self.store.request_review(&f.task, f.attempt, &sha, &base)?;
                let score = quality.map_or_else(String::new, |q| format!(" (quality {q:.2})"));
                self.note(format!(
                    "{}: verified{score}; waiting for your review: `orch review show {}`",
                    f.task, f.task
                ));
            }
            Verdict::Interrupted => {
                let summary = "stopped by the user; runs again on the next `orch run`";
                self.set_status(&f.task, TaskStatus::Failed, "interrupted")?;
                self.set_status(&f.task, TaskStatus::Ready, summary)?;
                self.options.progress.event(&RunEvent::TaskFailed {
                    task: f.task,
                    attempt: f.attempt,
                    kind: "interrupted".into(),
                    summary: summary.into(),
                    next: "interrupted".into(),
                });
            }
            Verdict::Failed(failure) => {
                let summary = format!("{}: {}", failure.kind.describe(), failure.message);
                self.set_status(&f.task, TaskStatus::Failed, &summary)?;
                self.on_failure(*failure).await?;
            }
        }
        Ok(())
    }

    /// Marks a merged task completed and removes its worktree, its branch and its
    /// verification directory.
    pub(crate) async fn complete(
        &mut self,
        task: &TaskId,
        reason: &str,
    ) -> Result<(), EngineError> {
        self.set_status(task, TaskStatus::Completed, reason)?;
        let worktrees = Arc::clone(&self.shared.worktrees);
        let id = task.clone();
        let verify = self.shared.verify_dir.join(task.as_str());
        let removed = tokio::task::spawn_blocking(move || {
            let _ = std::fs::remove_dir_all(&verify);
            worker::discard_worktree(&worktrees, &id)
        })
        .await
        .expect("worktree removal does not panic");
        if let Err(e) = removed {
            self.note(format!(
                "{task}: merged, but its worktree could not be removed: {e}"
            ));
        }
        Ok(())
    }

    fn on_session_event(&mut self, event: SessionEvent) {
        let SessionEvent::Output {
            task: Some(task),
            event,
            ..
        } = event
        else {
            return;
        };
        let line = match event {
            orch_session::AgentEvent::Text { text } => text,
            orch_session::AgentEvent::ToolUse { name, .. } => format!("[{name}]"),
            orch_session::AgentEvent::Output { line } => line,
            _ => return,
        };
        if let Some(f) = self.inflight.get_mut(&task) {
            let line = line
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            f.last_output = Some(line.chars().take(120).collect());
        }
    }

    fn snapshot(&self) -> RunSnapshot {
        let statuses = self.board.statuses();
        let count = |s: TaskStatus| self.board.count(s);
        let wave = (0..statuses.len())
            .filter(|&i| !statuses[i].is_terminal())
            .map(|i| self.board.graph().wave(i))
            .min();
        let mut active: Vec<ActiveTask> = self
            .inflight
            .iter()
            .map(|(task, f)| ActiveTask {
                task: task.clone(),
                status: self.status(task),
                attempt: f.attempt,
                elapsed: f.started.elapsed(),
                last_output: f.last_output.clone(),
            })
            .collect();
        active.sort_by(|a, b| a.task.cmp(&b.task));
        RunSnapshot {
            wave,
            waves: self.board.graph().wave_count(),
            done: count(TaskStatus::Completed),
            dropped: count(TaskStatus::Skipped) + count(TaskStatus::Cancelled),
            total: statuses.len(),
            elapsed: self.started.elapsed(),
            escalated: count(TaskStatus::Escalated),
            active,
        }
    }

    /// Epics whose merge was refused are tried again every few seconds (the user may have
    /// committed or stashed what was in the way meanwhile).
    pub(crate) async fn retry_pending_epics(&mut self) -> Result<(), EngineError> {
        const EVERY: Duration = Duration::from_secs(2);
        if self.pending_epics.is_empty() || self.last_epic_retry.elapsed() < EVERY {
            return Ok(());
        }
        self.last_epic_retry = Instant::now();
        let epics: Vec<EpicId> = self.pending_epics.keys().cloned().collect();
        for epic in epics {
            self.finish_epic_if_done(&epic).await?;
        }
        Ok(())
    }

    /// When every task of the epic is completed, its branch goes into the base branch as
    /// configured. Done once per epic (remembered in the store).
    pub(crate) async fn finish_epic_if_done(&mut self, epic: &EpicId) -> Result<(), EngineError> {
        if self.epics_finished.contains(epic) {
            return Ok(());
        }
        let all_done = self.epic_tasks.get(epic).is_none_or(|tasks| {
            tasks
                .iter()
                .all(|&i| self.board.status(i) == TaskStatus::Completed)
        });
        if !all_done {
            return Ok(());
        }
        let outcome = crate::epic::finish(&self.shared, &self.options, epic, &self.plan).await;
        if let Some(reason) = outcome.refused {
            if self.pending_epics.get(epic) != Some(&reason) {
                self.note(format!(
                    "{}: complete, but its merge into {} was refused: {reason}",
                    epic, outcome.target
                ));
            }
            self.pending_epics.insert(epic.clone(), reason);
            return Ok(());
        }
        self.pending_epics.remove(epic);
        if let Some(sha) = &outcome.merged_sha {
            self.store.append_event(&Event::Merged {
                task: None,
                source: self.shared.worktrees.naming().epic_branch(epic),
                target: outcome.target.clone(),
                sha: sha.clone(),
            })?;
        }
        self.store.set_meta(&epic_key(epic), &outcome.summary)?;
        self.epics_finished.insert(epic.clone());
        self.options.progress.event(&RunEvent::EpicFinished {
            epic: epic.clone(),
            outcome: outcome.summary,
        });
        Ok(())
    }

    fn report(&self, outcome: RunOutcome) -> Result<RunReport, EngineError> {
        let attempts = self.store.attempts(None)?;
        let tasks: Vec<TaskSummary> = self
            .store
            .tasks(&TaskFilter::default())?
            .into_iter()
            .map(|r| {
                // The score of the task's latest attempt only: an older attempt's score
                // (say a failed one, before a run with the gate off) says nothing about
                // the work that stands now.
                let quality = attempts
                    .iter()
                    .rev()
                    .find(|a| a.task == r.task.id)
                    .and_then(|a| a.quality);
                TaskSummary {
                    busy: self.busy.get(&r.task.id).copied().unwrap_or_default(),
                    task: r.task.id,
                    title: r.task.title,
                    status: r.task.status,
                    attempts: r.task.attempts,
                    quality,
                }
            })
            .collect();
        let open_questions = self
            .escalator
            .messages()
            .filter(|m| m.is_pending())
            .map(|m| m.id.to_string())
            .collect();
        Ok(RunReport {
            outcome,
            makespan: self.started.elapsed(),
            serial: tasks.iter().map(|t| t.busy).sum(),
            agent_time: self.agent_time,
            parallel: self.options.parallel,
            tasks,
            cost_usd: self.cost,
            budget: self.budgets.report(self.budget_reached.clone()),
            awaiting_review: self
                .plan
                .tasks
                .iter()
                .enumerate()
                .filter(|(i, _)| self.board.status(*i) == TaskStatus::AwaitingReview)
                .map(|(_, t)| t.id.to_string())
                .collect(),
            open_questions,
            pending_merges: self
                .pending_epics
                .iter()
                .map(|(epic, why)| format!("{epic}: {why}"))
                .collect(),
        })
    }
}

/// Where verifications of this repository export commits and keep build output: a
/// directory of its own under the system's temporary directory (outside the repository,
/// so no project setting above it applies, and private to orch inside the sandbox).
pub(crate) fn verify_dir_for(root: &std::path::Path) -> std::path::PathBuf {
    use std::hash::{Hash, Hasher};
    // `DefaultHasher::new()` uses fixed keys: the same repository gets the same directory
    // in every run, so build output is reused.
    let mut hasher = std::hash::DefaultHasher::new();
    root.hash(&mut hasher);
    std::env::temp_dir().join(format!("orch-verify-{:016x}", hasher.finish()))
}

pub(crate) fn epic_key(epic: &EpicId) -> String {
    format!("engine.epic_finished.{epic}")
}

fn load_escalator(store: &Store, options: &EngineOptions) -> Result<Escalator, EngineError> {
    let clock: Arc<dyn orch_core::Clock> = Arc::new(orch_core::SystemClock);
    let state = match store.meta(ESCALATOR_KEY)? {
        Some(json) if !json.is_empty() => serde_json::from_str(&json).ok(),
        _ => None,
    };
    let state = match state {
        Some(state) => state,
        None => {
            let messages = store
                .messages()?
                .into_iter()
                .filter_map(|m| serde_json::from_str(&m.json).ok());
            orch_escalation::EscalatorState::from_messages(messages)
        }
    };
    Ok(Escalator::with_state(
        options.escalation.clone(),
        clock,
        state,
    )?)
}
