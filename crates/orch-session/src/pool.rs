//! The session pool: at most N sessions at once, each supervised by a task that reads its
//! log as it grows, turns lines into [`AgentEvent`]s, enforces the wall-clock and idle
//! limits, and reports how the session ended. It runs plain commands
//! ([`SessionPool::run`] with a [`SessionRequest`]) and agents ([`SessionPool::start`]
//! with an [`Agent`] and an [`AgentRequest`]), which are commands too.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orch_core::{RunConfig, TaskId};
use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::agent::{Agent, AgentEvent, AgentOutcome, AgentRequest, AttemptUsage, SessionEnd};
use crate::backend::SessionBackend;
use crate::error::SessionError;
use crate::logs::LogTail;
use crate::registry::now_ms;
use crate::spec::{
    BackendKind, CommandSpec, SessionHandle, SessionId, SessionStatus, SpawnSpec, check_label,
    default_label,
};

/// Limits and rhythm of a [`SessionPool`].
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// Sessions at once (default 3, as in the article).
    pub max_sessions: usize,
    /// Wall-clock limit of one session (default 30 minutes).
    pub timeout: Duration,
    /// A session that prints nothing for this long is stuck (probably on a prompt) and is
    /// killed (default 10 minutes; `None`: no idle limit).
    pub idle_timeout: Option<Duration>,
    /// Longest pause between two looks at a session's log and status (default 50 ms); looks
    /// start every few milliseconds and back off to this while nothing happens. A look is
    /// cheap (a file read and a stat; the tmux backend asks tmux itself at most every
    /// 250 ms).
    pub poll_interval: Duration,
    /// Forget finished sessions (delete their files in the sessions directory; logs stay)
    /// once reported (default true).
    pub cleanup: bool,
    /// Capacity of the event channel; a subscriber that falls further behind misses events
    /// (default 1024).
    pub event_capacity: usize,
    /// Events kept in a [`SessionReport`] besides the verdict-bearing ones (`Init`,
    /// `Result`, `Usage`, `Error`, which are kept up to [`MAX_KEY_EVENTS`]); the oldest go
    /// first (default 256).
    pub keep_events: usize,
    /// Most bytes a session's log keeps (default 100 MiB); the rest is counted, dropped,
    /// and reported at the end of the log. `None`: no limit.
    pub log_limit: Option<u64>,
    /// The sandbox every session runs in; `None`: none (stray processes are still killed
    /// by their environment marker when a session ends).
    pub sandbox: Option<crate::sandbox::Sandbox>,
}

/// Most verdict-bearing events (usage, errors) kept per session; beyond it the oldest
/// usage and error events go (the first `Init` and every `Result` stay).
pub const MAX_KEY_EVENTS: usize = 4096;

/// Default [`PoolConfig::log_limit`]: 100 MiB.
pub const DEFAULT_LOG_LIMIT: u64 = 100 * 1024 * 1024;

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_sessions: 3,
            timeout: Duration::from_secs(30 * 60),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            poll_interval: Duration::from_millis(50),
            cleanup: true,
            event_capacity: 1024,
            keep_events: 256,
            log_limit: Some(DEFAULT_LOG_LIMIT),
            sandbox: None,
        }
    }
}

impl PoolConfig {
    /// The `[run]` section's limits: `parallel`, `session_timeout_minutes`,
    /// `idle_timeout_minutes` (0 turns the idle limit off).
    pub fn from_run_config(run: &RunConfig) -> PoolConfig {
        PoolConfig {
            max_sessions: usize::try_from(run.parallel.max(1)).unwrap_or(usize::MAX),
            timeout: Duration::from_secs(u64::from(run.session_timeout_minutes) * 60),
            idle_timeout: (run.idle_timeout_minutes > 0)
                .then(|| Duration::from_secs(u64::from(run.idle_timeout_minutes) * 60)),
            ..PoolConfig::default()
        }
    }
}

/// What happens to sessions, as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEvent {
    /// A session started (or was adopted after a restart).
    Started {
        /// Session id.
        session: SessionId,
        /// Session name.
        name: String,
        /// The task, when the session belongs to one.
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
        /// Backend.
        backend: BackendKind,
        /// Log file.
        log_path: PathBuf,
        /// Whether it was started by an earlier orchestrator and adopted.
        adopted: bool,
    },
    /// The agent said something (one parsed line may give several events).
    Output {
        /// Session id.
        session: SessionId,
        /// The task, when the session belongs to one.
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
        /// What it said.
        event: AgentEvent,
    },
    /// The agent printed nothing for the idle limit; it is being killed.
    Idle {
        /// Session id.
        session: SessionId,
        /// The task, when the session belongs to one.
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
        /// Milliseconds since its last output.
        idle_ms: u64,
    },
    /// The session hit the wall-clock limit; it is being killed.
    TimedOut {
        /// Session id.
        session: SessionId,
        /// The task, when the session belongs to one.
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
        /// Milliseconds it ran.
        after_ms: u64,
    },
    /// The session ended; always the last event of a session.
    Exited {
        /// Session id.
        session: SessionId,
        /// The task, when the session belongs to one.
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
        /// How it ended.
        end: SessionEnd,
        /// The agent's verdict.
        outcome: AgentOutcome,
    },
}

impl SessionEvent {
    /// The session the event is about.
    pub fn session(&self) -> SessionId {
        match self {
            SessionEvent::Started { session, .. }
            | SessionEvent::Output { session, .. }
            | SessionEvent::Idle { session, .. }
            | SessionEvent::TimedOut { session, .. }
            | SessionEvent::Exited { session, .. } => *session,
        }
    }
}

/// Everything known about a finished session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    /// The session.
    pub handle: SessionHandle,
    /// How it ended.
    pub end: SessionEnd,
    /// The agent's verdict.
    pub outcome: AgentOutcome,
    /// Cost, tokens, turns and the agent-side session id (for a resume).
    pub usage: AttemptUsage,
    /// Wall-clock milliseconds from start to the end being seen.
    pub duration_ms: u64,
    /// The agent's events: all verdict-bearing ones and the latest others (see
    /// [`PoolConfig::keep_events`]).
    pub events: Vec<AgentEvent>,
    /// Events left out of `events`.
    pub dropped_events: usize,
}

/// A session under supervision.
#[derive(Debug)]
pub struct RunningSession {
    handle: SessionHandle,
    join: JoinHandle<SessionReport>,
}

impl RunningSession {
    /// The session.
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }

    /// Its id.
    pub fn id(&self) -> SessionId {
        self.handle.id
    }

    /// Waits for the end. Bounded by the session's wall-clock limit plus the kill grace.
    pub async fn wait(self) -> Result<SessionReport, SessionError> {
        let name = self.handle.name.clone();
        self.join
            .await
            .map_err(|_| SessionError::SupervisorLost { name })
    }
}

#[derive(Debug)]
struct Active {
    handle: SessionHandle,
    kill: Arc<Notify>,
}

#[derive(Debug)]
struct Inner {
    backend: Arc<dyn SessionBackend>,
    config: PoolConfig,
    slots: Arc<Semaphore>,
    events: broadcast::Sender<SessionEvent>,
    active: Mutex<HashMap<SessionId, Active>>,
}

impl Inner {
    fn emit(&self, event: SessionEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Active>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A command for [`SessionPool::run`]: what to run and where, where its output goes, and
/// its limits. No task, prompt file or agent is needed; an agent's session is one of these
/// too, built from its [`AgentRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionRequest {
    /// Program, arguments, extra environment and standard input.
    pub command: CommandSpec,
    /// Working directory; it must exist.
    pub cwd: PathBuf,
    /// The log file; all output (stdout and stderr) is appended to it (its directory is
    /// created).
    pub log_path: PathBuf,
    /// The session's label, which with its short id names it (see [`SpawnSpec::label`]);
    /// `None`: the task id when there is a task, else the program's name.
    pub label: Option<String>,
    /// The task the session belongs to, if any (reported with its events).
    pub task: Option<TaskId>,
    /// Wall-clock limit; `None`: the pool's [`PoolConfig::timeout`].
    pub timeout: Option<Duration>,
    /// Idle limit; `None`: the pool's [`PoolConfig::idle_timeout`]; `Some(None)`: none for
    /// this session.
    pub idle_timeout: Option<Option<Duration>>,
}

impl SessionRequest {
    /// Runs `command` in `cwd`, logging to `log_path`, with the pool's limits.
    pub fn new(
        command: CommandSpec,
        cwd: impl Into<PathBuf>,
        log_path: impl Into<PathBuf>,
    ) -> SessionRequest {
        SessionRequest {
            command,
            cwd: cwd.into(),
            log_path: log_path.into(),
            label: None,
            task: None,
            timeout: None,
            idle_timeout: None,
        }
    }

    /// Sets [`SessionRequest::label`].
    pub fn label(mut self, label: impl Into<String>) -> SessionRequest {
        self.label = Some(label.into());
        self
    }

    /// Sets [`SessionRequest::task`].
    pub fn task(mut self, task: TaskId) -> SessionRequest {
        self.task = Some(task);
        self
    }

    /// Sets the wall-clock limit of this session.
    pub fn timeout(mut self, timeout: Duration) -> SessionRequest {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the idle limit of this session (`None`: no idle limit).
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> SessionRequest {
        self.idle_timeout = Some(idle);
        self
    }
}

/// The events of a [`SessionPool`], from the moment [`SessionPool::subscribe`] was called.
///
/// A subscriber that falls more than [`PoolConfig::event_capacity`] events behind misses the
/// oldest ones; [`Subscription::missed`] counts them.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<SessionEvent>,
    missed: u64,
}

impl Subscription {
    /// The next event, waiting for it; `None` once the pool is gone and every event was
    /// read.
    pub async fn recv(&mut self) -> Option<SessionEvent> {
        loop {
            match self.rx.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(n)) => self.missed += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<SessionEvent> {
        loop {
            match self.rx.try_recv() {
                Ok(event) => return Some(event),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.missed += n,
                Err(_) => return None,
            }
        }
    }

    /// Events skipped because this subscriber fell behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

/// A session's limits.
#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    idle: Option<Duration>,
}

/// Runs sessions on a backend, at most [`PoolConfig::max_sessions`] at once: plain commands
/// ([`SessionPool::run`]) and agents ([`SessionPool::start`]).
///
/// Cloning gives another handle on the same pool. Supervising tasks run on the tokio
/// runtime; they keep going when the [`RunningSession`] is dropped.
#[derive(Debug, Clone)]
pub struct SessionPool {
    inner: Arc<Inner>,
}

impl SessionPool {
    /// A pool on `backend`.
    pub fn new(backend: Arc<dyn SessionBackend>, config: PoolConfig) -> SessionPool {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        SessionPool {
            inner: Arc::new(Inner {
                backend,
                slots: Arc::new(Semaphore::new(config.max_sessions.max(1))),
                config,
                events,
                active: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn SessionBackend> {
        &self.inner.backend
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Events of every session from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.inner.events.subscribe(),
            missed: 0,
        }
    }

    /// Free slots right now.
    pub fn available_slots(&self) -> usize {
        self.inner.slots.available_permits()
    }

    /// Sessions under supervision.
    pub fn active(&self) -> Vec<SessionHandle> {
        self.inner
            .active()
            .values()
            .map(|a| a.handle.clone())
            .collect()
    }

    /// Runs a plain command once a slot is free. Its output lines are reported as
    /// [`AgentEvent::Output`]; its exit code decides the outcome ([`AgentOutcome::Succeeded`]
    /// on 0, [`AgentOutcome::Failed`] with `exit_code_<N>` otherwise); the limits, the
    /// process-group kill, the log and the sandbox are those of any session.
    pub async fn run(&self, request: SessionRequest) -> Result<RunningSession, SessionError> {
        self.launch(
            SessionId::random(),
            request,
            Arc::new(crate::agents::PlainCommand),
            Vec::new(),
            Vec::new(),
        )
        .await
    }

    /// Starts `agent` on `request` once a slot is free, logging to `log_path`: the agent's
    /// command ([`Agent::command`]) run as by [`SessionPool::run`] for the request's task,
    /// its output read by the agent's parser. A first attempt without a session id gets the
    /// session's id as its agent session id (Claude Code `--session-id`).
    pub async fn start(
        &self,
        agent: Arc<dyn Agent>,
        mut request: AgentRequest,
        log_path: impl Into<PathBuf>,
    ) -> Result<RunningSession, SessionError> {
        let id = SessionId::random();
        if request.resume.is_none() && request.session_id.is_none() {
            request.session_id = Some(id.to_string());
        }
        let command = agent.command(&request)?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let writable = home.map(|h| agent.state_paths(&h)).unwrap_or_default();
        let session =
            SessionRequest::new(command, request.cwd.clone(), log_path).task(request.task.clone());
        self.launch(
            id,
            session,
            agent,
            vec![request.prompt_file.clone()],
            writable,
        )
        .await
    }

    /// Starts a session: waits for a slot, marks the command (so stray processes can be
    /// found), puts it in the sandbox with `readable` and `writable` paths, spawns it and
    /// supervises it, reading its output with `reader`.
    async fn launch(
        &self,
        id: SessionId,
        request: SessionRequest,
        reader: Arc<dyn Agent>,
        readable: Vec<PathBuf>,
        writable: Vec<PathBuf>,
    ) -> Result<RunningSession, SessionError> {
        let label = match (&request.label, &request.task) {
            (Some(label), _) => label.clone(),
            (None, Some(task)) => task.to_string(),
            (None, None) => default_label(&request.command),
        };
        check_label(&label)?;
        let limits = Limits {
            timeout: request.timeout.unwrap_or(self.inner.config.timeout),
            idle: request
                .idle_timeout
                .unwrap_or(self.inner.config.idle_timeout),
        };
        let permit = Arc::clone(&self.inner.slots)
            .acquire_owned()
            .await
            .expect("the pool never closes its semaphore");
        let mut command = request.command;
        // The marker by which stray processes of this session are found and killed.
        command.env.push(("ORCH_SESSION_ID".into(), id.to_string()));
        if let Some(sandbox) = &self.inner.config.sandbox {
            let mut sandbox = sandbox.clone();
            for path in readable {
                sandbox = sandbox.readable(path);
            }
            for path in writable {
                sandbox = sandbox.writable(path);
            }
            command = sandbox.wrap(&command, &request.cwd);
        }
        let spec = SpawnSpec {
            id,
            label,
            task: request.task,
            cwd: request.cwd,
            command,
            log_path: request.log_path,
            log_limit: self.inner.config.log_limit,
        };
        let handle = self.inner.backend.spawn(&spec).await?;
        Ok(self.supervise(reader, handle, Some(permit), false, limits))
    }

    /// Supervises an agent's session found with [`SessionBackend::list`] after a restart.
    /// Its log is read from the start (for the verdict) without re-emitting old output; the
    /// wall-clock limit (the pool's) counts from its original start. It takes a slot if one
    /// is free, and runs anyway if not.
    pub fn adopt(
        &self,
        agent: Arc<dyn Agent>,
        handle: SessionHandle,
    ) -> Result<RunningSession, SessionError> {
        if self.inner.active().contains_key(&handle.id) {
            return Err(SessionError::InvalidSpec {
                problem: format!("session {} is already supervised", handle.name),
            });
        }
        let permit = Arc::clone(&self.inner.slots).try_acquire_owned().ok();
        let limits = Limits {
            timeout: self.inner.config.timeout,
            idle: self.inner.config.idle_timeout,
        };
        Ok(self.supervise(agent, handle, permit, true, limits))
    }

    /// [`SessionPool::adopt`] for a plain command's session (see [`SessionPool::run`]).
    pub fn adopt_command(&self, handle: SessionHandle) -> Result<RunningSession, SessionError> {
        self.adopt(Arc::new(crate::agents::PlainCommand), handle)
    }

    /// Asks the supervisor of session `id` to kill it; its report will say
    /// [`SessionEnd::Killed`]. False if the pool does not supervise it.
    pub fn kill(&self, id: SessionId) -> bool {
        match self.inner.active().get(&id) {
            Some(a) => {
                a.kill.notify_one();
                true
            }
            None => false,
        }
    }

    /// Asks every supervisor to kill its session.
    pub fn kill_all(&self) {
        for a in self.inner.active().values() {
            a.kill.notify_one();
        }
    }

    fn supervise(
        &self,
        agent: Arc<dyn Agent>,
        handle: SessionHandle,
        permit: Option<OwnedSemaphorePermit>,
        adopted: bool,
        limits: Limits,
    ) -> RunningSession {
        let kill = Arc::new(Notify::new());
        self.inner.active().insert(
            handle.id,
            Active {
                handle: handle.clone(),
                kill: Arc::clone(&kill),
            },
        );
        self.inner.emit(SessionEvent::Started {
            session: handle.id,
            name: handle.name.clone(),
            task: handle.task.clone(),
            backend: handle.backend,
            log_path: handle.log_path.clone(),
            adopted,
        });
        let inner = Arc::clone(&self.inner);
        let join = tokio::spawn(supervise(
            inner,
            agent,
            handle.clone(),
            kill,
            adopted,
            limits,
            permit,
        ));
        RunningSession { handle, join }
    }
}

/// Events of a run, bounded: verdict-bearing ones are all kept, the others the latest N.
struct EventRecord {
    seq: u64,
    key: Vec<(u64, AgentEvent)>,
    other: VecDeque<(u64, AgentEvent)>,
    keep: usize,
    dropped: usize,
}

impl EventRecord {
    fn new(keep: usize) -> EventRecord {
        EventRecord {
            seq: 0,
            key: Vec::new(),
            other: VecDeque::new(),
            keep,
            dropped: 0,
        }
    }

    fn push(&mut self, event: AgentEvent) {
        self.seq += 1;
        match event {
            AgentEvent::Init { .. }
            | AgentEvent::Result(_)
            | AgentEvent::Usage { .. }
            | AgentEvent::Error { .. } => {
                self.key.push((self.seq, event));
                if self.key.len() > MAX_KEY_EVENTS {
                    // Flooded with usage or error lines: the oldest of those go.
                    if let Some(i) = self.key.iter().position(|(_, e)| {
                        matches!(e, AgentEvent::Usage { .. } | AgentEvent::Error { .. })
                    }) {
                        self.key.remove(i);
                        self.dropped += 1;
                    }
                }
            }
            other => {
                self.other.push_back((self.seq, other));
                if self.other.len() > self.keep {
                    self.other.pop_front();
                    self.dropped += 1;
                }
            }
        }
    }

    fn into_events(self) -> (Vec<AgentEvent>, usize) {
        let mut all: Vec<(u64, AgentEvent)> = self.key;
        all.extend(self.other);
        all.sort_by_key(|(seq, _)| *seq);
        (all.into_iter().map(|(_, e)| e).collect(), self.dropped)
    }
}

const FIRST_POLL: Duration = Duration::from_millis(5);
const MAX_STATUS_ERRORS: u32 = 10;

async fn supervise(
    inner: Arc<Inner>,
    agent: Arc<dyn Agent>,
    handle: SessionHandle,
    kill: Arc<Notify>,
    adopted: bool,
    limits: Limits,
    _permit: Option<OwnedSemaphorePermit>,
) -> SessionReport {
    let config = &inner.config;
    let mut tail = LogTail::new(&handle.log_path);
    let mut record = EventRecord::new(config.keep_events);
    let emit_output = |record: &mut EventRecord, line: &str, emit: bool| {
        for event in agent.parse_line(line) {
            if emit {
                inner.emit(SessionEvent::Output {
                    session: handle.id,
                    task: handle.task.clone(),
                    event: event.clone(),
                });
            }
            record.push(event);
        }
    };
    if adopted {
        // What was said before the restart counts for the verdict but is not news.
        loop {
            let (lines, any) = tail.read_lines();
            for line in &lines {
                emit_output(&mut record, line, false);
            }
            if !any {
                break;
            }
        }
    }

    let age = Duration::from_millis(u64::try_from(now_ms() - handle.started_at_ms).unwrap_or(0));
    let deadline = Instant::now() + limits.timeout.saturating_sub(age);
    let mut last_output = Instant::now();
    let mut step = FIRST_POLL;
    let mut status_errors = 0;
    let end = loop {
        let (lines, any) = tail.read_lines();
        if any {
            last_output = Instant::now();
            step = step.min(Duration::from_millis(20));
        }
        for line in &lines {
            emit_output(&mut record, line, true);
        }

        match inner.backend.status(&handle).await {
            Ok(SessionStatus::Running) => status_errors = 0,
            Ok(SessionStatus::Exited { exit }) => break SessionEnd::Exited { exit },
            Ok(SessionStatus::Killed) => break SessionEnd::Killed,
            Ok(SessionStatus::Gone) => break SessionEnd::Lost,
            Err(e) => {
                status_errors += 1;
                tracing::warn!(session = %handle.name, error = %e, "cannot read session status");
                if status_errors >= MAX_STATUS_ERRORS {
                    break SessionEnd::Lost;
                }
            }
        }

        let now = Instant::now();
        if now >= deadline {
            inner.emit(SessionEvent::TimedOut {
                session: handle.id,
                task: handle.task.clone(),
                after_ms: millis(limits.timeout.max(age)),
            });
            stop(&inner, &handle).await;
            break SessionEnd::TimedOut;
        }
        if let Some(idle) = limits.idle
            && now.duration_since(last_output) >= idle
        {
            inner.emit(SessionEvent::Idle {
                session: handle.id,
                task: handle.task.clone(),
                idle_ms: millis(now.duration_since(last_output)),
            });
            stop(&inner, &handle).await;
            break SessionEnd::IdleTimedOut;
        }

        let mut wake = deadline.min(now + step);
        if let Some(idle) = limits.idle {
            wake = wake.min(last_output + idle);
        }
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            () = kill.notified() => {
                stop(&inner, &handle).await;
                break SessionEnd::Killed;
            }
        }
        step = (step * 2).min(config.poll_interval.max(FIRST_POLL));
    };

    // The exit file is written after the log is complete; read what is left.
    loop {
        let (lines, any) = tail.read_lines();
        for line in &lines {
            emit_output(&mut record, line, true);
        }
        if !any {
            break;
        }
    }
    if let Some(line) = tail.finish() {
        emit_output(&mut record, &line, true);
    }

    // Whatever the agent left running outside its process group goes with the session.
    let strays = tokio::task::spawn_blocking({
        let id = handle.id.to_string();
        move || crate::procs::kill_marked(&id)
    })
    .await
    .unwrap_or(0);
    if strays > 0 {
        tracing::warn!(session = %handle.name, strays, "killed processes the agent left behind");
    }
    let (events, dropped_events) = record.into_events();
    let outcome = agent.outcome(&end, &events);
    let usage = agent.usage(&events);
    if config.cleanup
        && let Err(e) = inner.backend.cleanup(&handle).await
    {
        tracing::warn!(session = %handle.name, error = %e, "cannot clean up session");
    }
    inner.active().remove(&handle.id);
    inner.emit(SessionEvent::Exited {
        session: handle.id,
        task: handle.task.clone(),
        end,
        outcome: outcome.clone(),
    });
    let duration_ms = u64::try_from(now_ms() - handle.started_at_ms).unwrap_or(0);
    tracing::debug!(session = %handle.name, ?end, ?outcome, duration_ms, "session ended");
    SessionReport {
        handle,
        end,
        outcome,
        usage,
        duration_ms,
        events,
        dropped_events,
    }
}

async fn stop(inner: &Inner, handle: &SessionHandle) {
    if let Err(e) = inner.backend.kill(handle).await {
        tracing::warn!(session = %handle.name, error = %e, "cannot kill session");
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keeps_verdicts_and_latest_output() {
        let mut r = EventRecord::new(2);
        r.push(AgentEvent::Init {
            session_id: None,
            model: None,
            cwd: None,
            tools: vec![],
        });
        for i in 0..5 {
            r.push(AgentEvent::Output {
                line: i.to_string(),
            });
        }
        r.push(AgentEvent::Error {
            message: "e".into(),
        });
        let (events, dropped) = r.into_events();
        assert_eq!(dropped, 3);
        assert_eq!(events.len(), 4);
        assert!(matches!(events[0], AgentEvent::Init { .. }));
        assert_eq!(events[1], AgentEvent::Output { line: "3".into() });
        assert!(matches!(events[3], AgentEvent::Error { .. }));
    }

    #[test]
    fn config_from_run_section() {
        let c = PoolConfig::from_run_config(&RunConfig::default());
        assert_eq!(c.max_sessions, 3);
        assert_eq!(c.timeout, Duration::from_secs(1800));
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(600)));
        let run = RunConfig {
            idle_timeout_minutes: 0,
            ..RunConfig::default()
        };
        assert_eq!(PoolConfig::from_run_config(&run).idle_timeout, None);
    }
}
