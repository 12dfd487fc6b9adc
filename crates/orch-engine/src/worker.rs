//! One attempt at one task, from workspace to merge: the part of the loop that runs beside
//! the conductor. A worker never writes the store; it reports phases to the conductor
//! (which moves the task's status and waits to acknowledge before the worker goes on, so
//! the store always knows at least as much as git) and ends with a [`Finished`].
//!
//! What the agent says is never the verdict. After its session (whose processes are all
//! gone by then) the worker commits what the agent left on orch's own view of the task
//! branch, checks that nothing protected was touched ([`crate::guard`]), and judges that
//! exact commit: its changes against the recorded base, its scope, and the quality gate on
//! a clean export of it (with the tests that existed before run as they were). The merge
//! then takes that same commit, or nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::{EpicId, Task, TaskId, TaskStatus, scopes_overlap};
use orch_escalation::{DiffStats, FailureContext, FailureKind, QualitySummary};
use orch_quality::{Baseline, CacheSeal, Gate, GateOptions, QualityReport};
use orch_session::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, SessionHandle, SessionPool, SessionReport,
};
use orch_store::AttemptEnd;
use orch_worktree::{ChangeKind, FileAt, MergeError, Replayed, TaskBase, WorktreeManager};
use tokio::sync::{Mutex, mpsc, oneshot};

use orch_worktree::RepoGuard;

/// Largest file whose base version is read for the test-integrity comparison.
const BASELINE_FILE_LIMIT: u64 = 2 * 1024 * 1024;

/// What the workers share.
pub(crate) struct Shared {
    pub worktrees: Arc<WorktreeManager>,
    pub pool: SessionPool,
    pub gate: Option<Arc<Gate>>,
    /// One merge at a time: the merge queue. Every ref orch moves is moved under it.
    pub merge_queue: Mutex<()>,
    pub orch_dir: PathBuf,
    pub agent_env: Vec<(String, String)>,
    pub fail_out_of_scope: bool,
    /// What no agent may change.
    pub guard: RepoGuard,
    /// Seals the gate's cache (a key the agents never see).
    pub cache_seal: CacheSeal,
    /// Exports and build directories of verifications, outside the repository.
    pub verify_dir: PathBuf,
    /// True once another runner took the lease: nothing more is merged.
    pub lease_lost: tokio::sync::watch::Receiver<bool>,
}

/// Where a worker starts.
pub(crate) enum Stage {
    /// Prepare the worktree and start a session.
    Start {
        instructions: String,
        resume: Option<String>,
        fresh_worktree: bool,
        non_interactive: bool,
    },
    /// Supervise a session an earlier run started.
    Adopt(SessionHandle),
    /// The agent is done; verify (after a restart in `Verifying`).
    Verify,
    /// Verified; merge (after a restart in `Merging`).
    Merge,
}

/// One attempt to run.
pub(crate) struct Job {
    pub task: Task,
    /// Epics (other than the task's own) of the task's dependencies: their work is merged
    /// into the task's epic branch before its worktree is created.
    pub upstream_epics: Vec<EpicId>,
    pub attempt: u32,
    pub agent: Arc<dyn Agent>,
    pub stage: Stage,
    /// The commit the task's work started from, as orch recorded it (an earlier attempt in
    /// the same worktree, or this attempt before a restart). Never read from git config,
    /// which an agent could rewrite.
    pub base: Option<String>,
    /// For [`Stage::Merge`]: the commit that was verified before the restart (or that a
    /// reviewer approved).
    pub verified_sha: Option<String>,
    /// Verified work waits for a human review instead of going to the merge queue.
    pub review: bool,
    /// Model, permissions and spending limit of the agent session.
    pub settings: AgentSettings,
}

/// What the agent of one attempt may use and do, from `[agents]`, `[agent.claude]` and
/// `[budget]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentSettings {
    pub model: Option<String>,
    /// Claude Code's `--permission-mode` (other agents keep their own defaults).
    pub permission_mode: Option<String>,
    pub allowed_tools: Vec<String>,
    pub disallowed_tools: Vec<String>,
    pub max_budget_usd: Option<f64>,
}

/// What a worker tells the conductor on the way.
pub(crate) enum WorkerMsg {
    /// The session is up.
    SessionStarted {
        task: TaskId,
        attempt: u32,
        handle: Box<SessionHandle>,
        base_sha: String,
        adopted: bool,
    },
    /// The task moves to `status`; the worker waits for `ack` (sent once it is stored).
    /// With `verified`, what verification established is stored first (the commit to
    /// merge, its score, its files), so a merge resumed after a crash merges exactly it.
    Phase {
        task: TaskId,
        status: TaskStatus,
        verified: Option<Box<AttemptEnd>>,
        ack: oneshot::Sender<()>,
    },
    /// Files outside the task's scope changed.
    ScopeViolation { task: TaskId, files: Vec<String> },
    /// The attempt is over.
    Finished(Box<Finished>),
    /// The notifiers finished announcing a question.
    Notified {
        message: Box<orch_escalation::PmMessage>,
        report: Box<orch_escalation::NotifyReport>,
    },
}

/// How an attempt ended.
pub(crate) struct Finished {
    pub task: TaskId,
    pub attempt: u32,
    pub end: AttemptEnd,
    pub verdict: Verdict,
    /// Time the worker spent (agent, verification, merge).
    pub busy: Duration,
    /// Time inside the agent session.
    pub agent_time: Duration,
}

pub(crate) enum Verdict {
    Merged {
        sha: String,
    },
    /// Verified; the commit waits for a human review (`review = "human"`).
    AwaitingReview {
        sha: String,
        base: String,
    },
    Failed(Box<FailureContext>),
    /// Stopped by the user; not the agent's fault.
    Interrupted,
}

struct Attempt<'a> {
    shared: &'a Shared,
    job: &'a Job,
    tx: &'a mpsc::Sender<WorkerMsg>,
    end: AttemptEnd,
    agent_time: Duration,
    log_tail: Vec<String>,
    /// The commit the work started from (known once the worktree is there).
    base: Option<String>,
}

/// Runs the job to its end. Never panics on a failure of the work: every failure is a
/// [`Verdict::Failed`] with its kind.
pub(crate) async fn run(shared: Arc<Shared>, job: Job, tx: mpsc::Sender<WorkerMsg>) {
    let started = Instant::now();
    let mut attempt = Attempt {
        shared: &shared,
        job: &job,
        tx: &tx,
        end: AttemptEnd::default(),
        agent_time: Duration::ZERO,
        log_tail: Vec::new(),
        base: job.base.clone(),
    };
    let verdict = attempt.go().await;
    let (result, summary) = match &verdict {
        Verdict::Merged { sha } => ("passed".to_owned(), format!("merged as {}", short(sha))),
        Verdict::AwaitingReview { sha, .. } => (
            "passed".to_owned(),
            format!("verified as {}; waiting for a review", short(sha)),
        ),
        Verdict::Failed(f) => (f.kind.as_str().to_owned(), f.message.clone()),
        Verdict::Interrupted => ("interrupted".to_owned(), "stopped by the user".to_owned()),
    };
    attempt.end.result = result;
    attempt.end.summary = summary;
    let finished = Finished {
        task: job.task.id.clone(),
        attempt: job.attempt,
        end: attempt.end,
        verdict,
        busy: started.elapsed(),
        agent_time: attempt.agent_time,
    };
    // The conductor outlives its workers; a closed channel means it is gone already.
    let _ = tx.send(WorkerMsg::Finished(Box::new(finished))).await;
}

fn short(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("blocking git work does not panic")
}

impl Attempt<'_> {
    fn fail(&self, kind: FailureKind, message: impl Into<String>) -> Verdict {
        let mut failure = FailureContext::new(self.job.task.id.clone(), kind, message)
            .with_attempt(self.job.attempt)
            .with_agent(self.job.agent.name())
            .with_log_tail(self.log_tail.iter().cloned());
        failure.quality = self.end.quality_report.as_ref().and_then(quality_summary);
        Verdict::Failed(Box::new(failure))
    }

    async fn phase(&self, status: TaskStatus, verified: Option<AttemptEnd>) {
        let (ack, done) = oneshot::channel();
        let msg = WorkerMsg::Phase {
            task: self.job.task.id.clone(),
            status,
            verified: verified.map(Box::new),
            ack,
        };
        if self.tx.send(msg).await.is_ok() {
            let _ = done.await;
        }
    }

    async fn go(&mut self) -> Verdict {
        let task = self.job.task.id.clone();
        let report = match &self.job.stage {
            Stage::Start {
                instructions,
                resume,
                fresh_worktree,
                non_interactive,
            } => {
                let handle = match self
                    .start(
                        instructions,
                        resume.clone(),
                        *fresh_worktree,
                        *non_interactive,
                    )
                    .await
                {
                    Ok(running) => running,
                    Err(problem) => return self.fail(FailureKind::AgentCrashed, problem),
                };
                Some(handle)
            }
            Stage::Adopt(handle) => {
                if self.base.is_none() {
                    self.base = self.recorded_base().await;
                }
                let _ = self
                    .tx
                    .send(WorkerMsg::SessionStarted {
                        task: task.clone(),
                        attempt: self.job.attempt,
                        handle: Box::new(handle.clone()),
                        base_sha: self.base.clone().unwrap_or_default(),
                        adopted: true,
                    })
                    .await;
                match self
                    .shared
                    .pool
                    .adopt(Arc::clone(&self.job.agent), handle.clone())
                {
                    Ok(running) => Some(running),
                    Err(e) => return self.fail(FailureKind::AgentCrashed, e.to_string()),
                }
            }
            Stage::Verify | Stage::Merge => None,
        };
        if self.base.is_none() {
            self.base = self.recorded_base().await;
        }
        let Some(base) = self.base.clone() else {
            return self.fail(
                FailureKind::AgentCrashed,
                "the commit this task started from is not known; it starts over",
            );
        };
        if let Some(running) = report {
            let agent_started = Instant::now();
            let report = match running.wait().await {
                Ok(report) => report,
                Err(e) => return self.fail(FailureKind::AgentCrashed, e.to_string()),
            };
            self.agent_time = agent_started.elapsed();
            self.take_report(&report);
            self.phase(TaskStatus::Verifying, None).await;
            orch_core::fault::point("verifying");
            // Keep whatever the agent wrote, whatever happened: a retry builds on it.
            if let Err(verdict) = self.commit().await {
                return *verdict;
            }
            if let Some(verdict) = self.agent_verdict(&report.outcome) {
                return verdict;
            }
        }
        let sha = match (&self.job.stage, &self.job.verified_sha) {
            (Stage::Merge, Some(sha)) => sha.clone(),
            _ => {
                if matches!(self.job.stage, Stage::Verify | Stage::Merge)
                    && let Err(verdict) = self.commit().await
                {
                    return *verdict;
                }
                let sha = match self.verify(&base).await {
                    Ok(sha) => sha,
                    Err(verdict) => return verdict,
                };
                let mut verified = self.end.clone();
                verified.result_sha = Some(sha.clone());
                if self.job.review {
                    // The verified commit is pinned: an approval merges exactly it.
                    self.phase(TaskStatus::AwaitingReview, Some(verified)).await;
                    self.end.result_sha = Some(sha.clone());
                    return Verdict::AwaitingReview { sha, base };
                }
                self.phase(TaskStatus::Merging, Some(verified)).await;
                sha
            }
        };
        self.end.result_sha = Some(sha.clone());
        self.merge(&base, sha).await
    }

    /// The base recorded when the worktree was made (trusted only when orch has nothing
    /// better: a worktree from before this version).
    async fn recorded_base(&self) -> Option<String> {
        let worktrees = Arc::clone(&self.shared.worktrees);
        let task = self.job.task.id.clone();
        blocking(move || worktrees.get(&task).ok().and_then(|w| w.base_sha)).await
    }

    async fn start(
        &mut self,
        instructions: &str,
        resume: Option<String>,
        fresh: bool,
        non_interactive: bool,
    ) -> Result<orch_session::RunningSession, String> {
        let task = self.job.task.clone();
        let worktrees = Arc::clone(&self.shared.worktrees);
        let epic = task.epic.clone();
        let id = task.id.clone();
        let upstream = self.job.upstream_epics.clone();
        // Bringing upstream epics in moves the epic branch: a merge like any other.
        let turn = self.shared.merge_queue.lock().await;
        let moved: Vec<String> = std::iter::once(&epic)
            .chain(upstream.iter())
            .map(|e| worktrees.naming().epic_branch(e))
            .collect();
        let worktree =
            blocking(move || prepare_worktree(&worktrees, &id, &epic, &upstream, fresh)).await;
        self.shared.guard.accept_refs(&moved);
        drop(turn);
        let worktree = worktree?;
        orch_core::fault::point("worktree-prepared");
        // A reused worktree keeps the base orch recorded for it; a new one starts from the
        // tip it was just made from.
        if !worktree.reused || self.base.is_none() {
            self.base = Some(worktree.base_sha.clone());
        }

        let prompt = self
            .shared
            .orch_dir
            .join("instructions")
            .join(format!("{}.md", task.id));
        if let Some(dir) = prompt.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&prompt, instructions)
            .map_err(|e| format!("cannot write {}: {e}", prompt.display()))?;

        let mut request = AgentRequest::new(task.id.clone(), &prompt, &worktree.path);
        request.resume = if fresh { None } else { resume };
        let settings = &self.job.settings;
        request.model.clone_from(&settings.model);
        request.max_budget_usd = settings.max_budget_usd;
        if self.job.agent.name() == "claude" {
            request
                .permission_mode
                .clone_from(&settings.permission_mode);
            request.allowed_tools.clone_from(&settings.allowed_tools);
            request
                .disallowed_tools
                .clone_from(&settings.disallowed_tools);
            // After a session stalled on a prompt: a mode that never asks (it refuses what
            // is not allowed). Everything is allowed only where the user configured it.
            if non_interactive && settings.permission_mode.as_deref() != Some("bypassPermissions") {
                request.permission_mode = Some("dontAsk".into());
            }
        }
        request.env = vec![
            ("ORCH_TASK".into(), task.id.to_string()),
            ("ORCH_ATTEMPT".into(), self.job.attempt.to_string()),
            ("ORCH_EPIC".into(), task.epic.to_string()),
        ];
        request.env.extend(self.shared.agent_env.iter().cloned());
        let log = orch_session::attempt_log_path(&self.shared.orch_dir, &task.id, self.job.attempt);
        let running = self
            .shared
            .pool
            .start(Arc::clone(&self.job.agent), request, log)
            .await
            .map_err(|e| e.to_string())?;
        let _ = self
            .tx
            .send(WorkerMsg::SessionStarted {
                task: task.id.clone(),
                attempt: self.job.attempt,
                handle: Box::new(running.handle().clone()),
                base_sha: self.base.clone().unwrap_or_default(),
                adopted: false,
            })
            .await;
        Ok(running)
    }

    fn take_report(&mut self, report: &SessionReport) {
        self.end.agent_outcome = serde_json::to_value(&report.outcome).ok();
        self.end.agent_session_id = report.usage.agent_session_id.clone();
        self.end.cost_usd = report.usage.cost_usd;
        self.end.agent_ms = Some(report.duration_ms);
        self.log_tail = report
            .events
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Text { text } => Some(text.clone()),
                AgentEvent::Error { message, .. } => Some(message.clone()),
                AgentEvent::Output { line, .. } => Some(line.clone()),
                _ => None,
            })
            .rev()
            .take(FailureContext::LOG_TAIL_LINES)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|l| l.chars().take(300).collect())
            .collect();
    }

    /// The failure the agent's own verdict amounts to, if any.
    fn agent_verdict(&self, outcome: &AgentOutcome) -> Option<Verdict> {
        Some(match outcome {
            AgentOutcome::Succeeded => return None,
            AgentOutcome::Killed => Verdict::Interrupted,
            AgentOutcome::ApiError { message } => self.fail(
                FailureKind::AgentApiError,
                message
                    .clone()
                    .unwrap_or_else(|| "the agent reported an API error".into()),
            ),
            AgentOutcome::TimedOut { idle: true } => self.fail(
                FailureKind::Idle,
                "no output for the idle limit (probably waiting on a permission prompt)",
            ),
            AgentOutcome::TimedOut { idle: false } => {
                self.fail(FailureKind::Timeout, "the session hit its wall-clock limit")
            }
            AgentOutcome::Crashed { exit } => self.fail(
                FailureKind::AgentCrashed,
                match exit {
                    Some(exit) => format!("the agent ended without a result ({exit:?})"),
                    None => "the agent's session disappeared without a result".into(),
                },
            ),
            AgentOutcome::Failed { subtype, message } => self.fail(
                FailureKind::AgentCrashed,
                format!(
                    "the agent reported failure `{subtype}`{}",
                    message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            ),
            other => self.fail(
                FailureKind::AgentCrashed,
                format!("agent outcome {other:?}"),
            ),
        })
    }

    /// Commits what the agent left on orch's view of the task branch (build output never
    /// counts). A view that moved (the task branch left HEAD) means someone reached the
    /// main repository: tampering.
    async fn commit(&mut self) -> Result<(), Box<Verdict>> {
        let worktrees = Arc::clone(&self.shared.worktrees);
        let task = self.job.task.clone();
        let commit = blocking(move || worktrees.commit_pending(&task.id, &task.title)).await;
        match commit {
            Ok(Some(commit)) => {
                self.end.changed_files = commit.files;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e @ orch_worktree::WorktreeError::UnexpectedHead { .. }) => {
                Err(Box::new(self.fail(
                    FailureKind::Tampering,
                    format!("orch's view of the task branch was moved: {e}"),
                )))
            }
            Err(e) => Err(Box::new(self.fail(
                FailureKind::AgentCrashed,
                format!("cannot commit the agent's work: {e}"),
            ))),
        }
    }

    /// Nothing protected was touched; a violation fails the attempt as tampering.
    async fn guard(&self) -> Option<Verdict> {
        let violations = {
            let _turn = self.shared.merge_queue.lock().await;
            self.shared.guard.check()
        };
        if violations.is_empty() {
            return None;
        }
        let evidence: Vec<String> = violations
            .iter()
            .map(|v| match &v.repaired {
                Some(r) => format!("{} ({r})", v.what),
                None => v.what.clone(),
            })
            .collect();
        Some(self.fail(
            FailureKind::Tampering,
            format!(
                "changed what agents must not touch: {}",
                evidence.join("; ")
            ),
        ))
    }

    /// Judges the task branch's commit: nothing protected touched, something changed since
    /// `base`, within scope, and the gate passes on a clean export. The verified commit.
    async fn verify(&mut self, base: &str) -> Result<String, Verdict> {
        if let Some(tampered) = self.guard().await {
            return Err(tampered);
        }
        let worktrees = Arc::clone(&self.shared.worktrees);
        let id = self.job.task.id.clone();
        let base_owned = base.to_owned();
        let looked = blocking(
            move || -> Result<(String, bool, Vec<orch_worktree::TreeChange>), String> {
                let head = worktrees.task_tip(&id).map_err(|e| e.to_string())?;
                let descends = worktrees
                    .descends_from(&head, &base_owned)
                    .map_err(|e| e.to_string())?;
                let changes = worktrees
                    .changes_between(&base_owned, &head)
                    .map_err(|e| e.to_string())?;
                Ok((head, descends, changes))
            },
        )
        .await;
        let (head, descends, changes) = match looked {
            Ok(v) => v,
            Err(e) => return Err(self.fail(FailureKind::AgentCrashed, e)),
        };
        if !descends {
            return Err(self.fail(
                FailureKind::Tampering,
                format!(
                    "the task branch ({}) no longer builds on the commit the task started from ({})",
                    short(&head),
                    short(base)
                ),
            ));
        }
        let files: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
        self.end.changed_files = files.clone();
        if files.is_empty() {
            return Err(self.fail(
                FailureKind::NoChanges,
                "the agent claimed it was done but changed nothing",
            ));
        }
        let scope = &self.job.task.files;
        if !scope.is_empty() {
            let outside: Vec<String> = files
                .iter()
                .filter(|f| !scope.iter().any(|s| scopes_overlap(s, f)))
                .cloned()
                .collect();
            if !outside.is_empty() {
                let _ = self
                    .tx
                    .send(WorkerMsg::ScopeViolation {
                        task: self.job.task.id.clone(),
                        files: outside.clone(),
                    })
                    .await;
                if self.shared.fail_out_of_scope {
                    return Err(self.fail(
                        FailureKind::OutOfScope,
                        format!(
                            "changed {} outside the task's files ({})",
                            outside.join(", "),
                            scope.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(failed) = self.gate_commit(base, &head, &changes).await {
            let diff = DiffStats {
                files_changed: u32::try_from(files.len()).unwrap_or(u32::MAX),
                insertions: 0,
                deletions: 0,
            };
            return Err(match failed {
                Verdict::Failed(mut f) => {
                    f.diff = Some(diff);
                    Verdict::Failed(f)
                }
                other => other,
            });
        }
        Ok(head)
    }

    /// Runs the gate on a clean export of `commit` (never on the worktree): the tests that
    /// existed at `base` run as they were beside the new ones, and the comparison with
    /// `base` checks test integrity. `None` when it passes (or is off).
    async fn gate_commit(
        &mut self,
        base: &str,
        commit: &str,
        changes: &[orch_worktree::TreeChange],
    ) -> Option<Verdict> {
        let gate = self.shared.gate.as_ref()?;
        let dir = self.shared.verify_dir.join(self.job.task.id.as_str());
        let tree_dir = dir.join("tree");
        let worktrees = Arc::clone(&self.shared.worktrees);
        let (base_owned, commit_owned) = (base.to_owned(), commit.to_owned());
        let paths: Vec<(String, bool)> = changes
            .iter()
            .map(|c| (c.path.clone(), c.kind == ChangeKind::Added))
            .collect();
        let allow: BTreeSet<String> = self.job.task.allow.iter().cloned().collect();
        let export_dir = tree_dir.clone();
        let prepared = blocking(
            move || -> Result<(orch_worktree::Export, Baseline), String> {
                if export_dir.exists() {
                    std::fs::remove_dir_all(&export_dir)
                        .map_err(|e| format!("cannot clear {}: {e}", export_dir.display()))?;
                }
                let export = worktrees
                    .export_commit(&commit_owned, &export_dir)
                    .map_err(|e| format!("cannot export {commit_owned}: {e}"))?;
                let mut baseline = Baseline {
                    allow,
                    ..Baseline::default()
                };
                for (path, added) in paths {
                    let before = if added {
                        None
                    } else {
                        match worktrees.file_at(&base_owned, &path, BASELINE_FILE_LIMIT) {
                            Ok(FileAt::Bytes(bytes)) => {
                                Some(String::from_utf8_lossy(&bytes).into_owned())
                            }
                            _ => None,
                        }
                    };
                    baseline.files.insert(path, before);
                }
                // The tests the work is measured by, as they were, beside the agent's own.
                for (path, text) in orch_quality::acceptance_copies(&baseline, &export_dir) {
                    let target = export_dir.join(&path);
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                    }
                    std::fs::write(&target, text).map_err(|e| e.to_string())?;
                }
                Ok((export, baseline))
            },
        )
        .await;
        let (export, baseline) = match prepared {
            Ok(v) => v,
            Err(e) => {
                return Some(self.fail(
                    FailureKind::QualityBelowThreshold,
                    format!("the quality gate could not run: {e}"),
                ));
            }
        };
        let options = GateOptions {
            task_id: Some(self.job.task.id.to_string()),
            base: Some(base.to_owned()),
            cache_dir: Some(self.shared.orch_dir.join("cache").join("quality")),
            cache_seal: Some(self.shared.cache_seal.clone()),
            tree: Some(export.tree.clone()),
            changed: Some(baseline.files.keys().cloned().collect()),
            build_dir: Some(dir.join("build")),
            // mypy's, ruff's and Python's caches, warm from one task to the next and from
            // run to run; in the sandbox `.orch/` is out of the agents' reach.
            tool_cache_dir: Some(self.shared.orch_dir.join("cache").join("tools")),
            baseline: Some(Arc::new(baseline)),
            ..GateOptions::default()
        };
        let evaluated = gate.evaluate(&tree_dir, &options).await;
        let _ = std::fs::remove_dir_all(&tree_dir);
        let report = match evaluated {
            Ok(report) => report,
            Err(e) => {
                return Some(self.fail(
                    FailureKind::QualityBelowThreshold,
                    format!("the quality gate could not run: {e}"),
                ));
            }
        };
        self.end.quality = Some(report.quality_score);
        self.end.quality_report = serde_json::to_value(&report).ok();
        if report.passed {
            return None;
        }
        let kind = if !report.integrity.is_empty() {
            FailureKind::TestIntegrity
        } else if report
            .dimension(orch_quality::Dimension::Tests)
            .is_some_and(|d| d.metrics.get("failed").is_some_and(|f| *f > 0.0))
        {
            FailureKind::TestsFailing
        } else {
            FailureKind::QualityBelowThreshold
        };
        Some(self.fail(kind, gate_message(&report)))
    }

    /// The merge queue: one merge at a time, conflicts predicted first, exactly the verified
    /// commit merged (compare-and-swap on the task branch). On a conflict the task's
    /// changes are replayed onto the new epic tip in memory and the result is verified once
    /// more.
    async fn merge(&mut self, base: &str, verified: String) -> Verdict {
        let _turn = self.shared.merge_queue.lock().await;
        if *self.shared.lease_lost.borrow() {
            // Another runner owns the repository now; it resumes this merge.
            return Verdict::Interrupted;
        }
        let violations = self.shared.guard.check();
        if !violations.is_empty() {
            let evidence: Vec<String> = violations.into_iter().map(|v| v.what).collect();
            return self.fail(
                FailureKind::Tampering,
                format!(
                    "changed what agents must not touch: {}",
                    evidence.join("; ")
                ),
            );
        }
        let task = self.job.task.clone();
        let mut sha = verified;
        for round in 0..2 {
            let worktrees = Arc::clone(&self.shared.worktrees);
            let (t, commit) = (task.clone(), sha.clone());
            let merged = blocking(move || -> Result<Result<String, Vec<String>>, MergeError> {
                let report = worktrees.predict_commit_conflicts(&t.epic, &commit)?;
                if !report.is_clean() {
                    return Ok(Err(report.paths().into_iter().map(str::to_owned).collect()));
                }
                Ok(Ok(worktrees
                    .merge_task_at(&t.id, &t.epic, &commit)?
                    .new_target_sha))
            })
            .await;
            self.shared.guard.accept_refs(&[self
                .shared
                .worktrees
                .naming()
                .epic_branch(&task.epic)]);
            let paths = match merged {
                Ok(Ok(new_tip)) => {
                    orch_core::fault::point("task-merged");
                    self.end.result_sha = Some(sha);
                    return Verdict::Merged { sha: new_tip };
                }
                Ok(Err(paths)) => paths,
                Err(MergeError::ConcurrentUpdate { branch })
                    if self.shared.worktrees.naming().is_task_branch(&branch) =>
                {
                    return self.fail(
                        FailureKind::Tampering,
                        format!(
                            "the task branch moved after its commit {} was verified",
                            short(&sha)
                        ),
                    );
                }
                Err(e) => return self.fail(FailureKind::MergeConflict, e.to_string()),
            };
            if round == 1 {
                return self.fail(
                    FailureKind::MergeConflict,
                    format!("still conflicts after a replay: {}", paths.join(", ")),
                );
            }
            let worktrees = Arc::clone(&self.shared.worktrees);
            let (t, base_owned, commit) = (task.clone(), base.to_owned(), sha.clone());
            let replayed =
                blocking(move || worktrees.replay_task(&t.id, &t.epic, &base_owned, &commit)).await;
            let new = match replayed {
                Ok(Replayed::Commit(new)) => new,
                Ok(Replayed::Conflicts(conflicts)) => {
                    return self.fail(
                        FailureKind::MergeConflict,
                        format!("conflicts with its epic branch in {}", conflicts.join(", ")),
                    );
                }
                Err(e) => return self.fail(FailureKind::MergeConflict, e.to_string()),
            };
            // The replayed commit is new code: it is judged again before it merges.
            let worktrees = Arc::clone(&self.shared.worktrees);
            let (b, n) = (base.to_owned(), new.clone());
            let changes = match blocking(move || worktrees.changes_between(&b, &n)).await {
                Ok(changes) => changes,
                Err(e) => return self.fail(FailureKind::MergeConflict, e.to_string()),
            };
            if let Some(failed) = self.gate_commit(base, &new, &changes).await {
                return failed;
            }
            sha = new;
        }
        unreachable!("the loop returns in its second round")
    }
}

/// Creates the task's worktree from its epic's tip, or reuses the existing one (a retry
/// continues where the last attempt left off); `fresh` starts over from the current tip.
fn prepare_worktree(
    worktrees: &WorktreeManager,
    task: &TaskId,
    epic: &EpicId,
    upstream: &[EpicId],
    fresh: bool,
) -> Result<orch_worktree::TaskWorktree, String> {
    if fresh {
        discard_worktree(worktrees, task).map_err(|e| format!("cannot reset the worktree: {e}"))?;
    }
    let mut tip = worktrees
        .ensure_epic_branch(epic)
        .map_err(|e| format!("cannot prepare the epic branch: {e}"))?
        .tip;
    let exists = worktrees.get(task).is_ok();
    if !exists {
        // A dependency in another epic is merged in its epic's branch, not in this one:
        // bring that work in first, or the task would start without it.
        for other in upstream {
            worktrees
                .ensure_epic_branch(other)
                .map_err(|e| format!("cannot prepare the epic branch of {other}: {e}"))?;
            tip = worktrees
                .merge_branches(
                    &worktrees.naming().epic_branch(other),
                    &worktrees.naming().epic_branch(epic),
                )
                .map_err(|e| format!("cannot bring epic {other}'s work into epic {epic}: {e}"))?
                .new_target_sha;
        }
    }
    let base = if exists {
        TaskBase::EpicTip(epic.clone())
    } else {
        TaskBase::pinned(epic.clone(), tip)
    };
    worktrees
        .create(task, &base)
        .map_err(|e| format!("cannot create the worktree: {e}"))
}

/// Removes the task's worktree (uncommitted changes included) and its branch; nothing to
/// do when it has none. Used once a task is merged, finished, or starts over.
pub(crate) fn discard_worktree(
    worktrees: &WorktreeManager,
    task: &TaskId,
) -> Result<(), orch_worktree::WorktreeError> {
    if worktrees.get(task).is_err() {
        return Ok(());
    }
    let options = orch_worktree::RemoveOptions::new()
        .force(true)
        .delete_branch(true);
    worktrees.remove(task, &options).map(|_| ())
}

fn gate_message(report: &QualityReport) -> String {
    let mut parts = vec![format!(
        "quality {:.2} (threshold {:.2})",
        report.quality_score, report.threshold
    )];
    if !report.gate_failures.is_empty() {
        parts.push(report.gate_failures.join("; "));
    }
    parts.join(": ")
}

fn quality_summary(report: &serde_json::Value) -> Option<QualitySummary> {
    let report: QualityReport = serde_json::from_value(report.clone()).ok()?;
    Some(summarize_gate(&report))
}

/// What a retry and a human need from a failed gate: the score, the dimensions that fell
/// short and their concrete findings (file, line, message), bounded.
pub(crate) fn summarize_gate(report: &QualityReport) -> QualitySummary {
    let failed: Vec<&orch_quality::DimensionResult> = report
        .dimensions
        .iter()
        .filter(|d| {
            matches!(
                d.status,
                orch_quality::CheckStatus::Failed | orch_quality::CheckStatus::Error { .. }
            )
        })
        .collect();
    let mut findings = Vec::new();
    for d in &failed {
        if let orch_quality::CheckStatus::Error { reason } = &d.status {
            findings.push(format!("{}: could not run: {reason}", d.dimension));
        }
        // The findings that made it fail first; notes (info) only when there is nothing else.
        let serious: Vec<&orch_quality::Finding> = d
            .findings
            .iter()
            .filter(|f| f.severity >= orch_quality::Severity::Warning)
            .collect();
        let shown = if serious.is_empty() {
            d.findings.iter().collect()
        } else {
            serious
        };
        for f in shown {
            let location = f.location();
            let code = f
                .code
                .as_deref()
                .map(|c| format!("{c} "))
                .unwrap_or_default();
            findings.push(if location == "-" {
                format!("{}: {code}{}", d.dimension, f.message.trim())
            } else {
                format!("{}: {location}: {code}{}", d.dimension, f.message.trim())
            });
        }
    }
    for g in &report.gate_failures {
        if !findings.iter().any(|f| f.contains(g.as_str())) && failed.is_empty() {
            findings.push(g.clone());
        }
    }
    findings.truncate(QualitySummary::MAX_FINDINGS);
    QualitySummary {
        overall: report.quality_score,
        threshold: report.threshold,
        failing: failed.iter().map(|d| d.dimension.to_string()).collect(),
        // The report measures coverage in percent; the summary in 0.0–1.0.
        coverage: report.test_coverage.map(|c| c / 100.0),
        coverage_target: report
            .dimension(orch_quality::Dimension::Tests)
            .and_then(|d| d.metrics.get("coverage_target").copied())
            .map(|c| c / 100.0),
        findings,
    }
}
