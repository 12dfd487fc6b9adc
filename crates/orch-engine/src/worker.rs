//! One attempt at one task, from worktree to merge: the part of the loop that runs beside
//! the conductor. A worker never writes the store; it reports phases to the conductor
//! (which moves the task's status and waits to acknowledge before the worker goes on, so
//! the store always knows at least as much as git) and ends with a [`Finished`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::{EpicId, Task, TaskId, TaskStatus, scopes_overlap};
use orch_escalation::{DiffStats, FailureContext, FailureKind, QualitySummary};
use orch_quality::{Gate, GateOptions, QualityReport};
use orch_session::{
    Agent, AgentEvent, AgentOutcome, AgentRequest, SessionHandle, SessionPool, SessionReport,
};
use orch_store::AttemptEnd;
use orch_worktree::{MergeError, TaskBase, WorktreeManager};
use tokio::sync::{Mutex, mpsc, oneshot};

/// What the workers share.
pub(crate) struct Shared {
    pub worktrees: Arc<WorktreeManager>,
    pub pool: SessionPool,
    pub gate: Option<Arc<Gate>>,
    /// One merge at a time: the merge queue.
    pub merge_queue: Mutex<()>,
    pub orch_dir: PathBuf,
    pub agent_env: Vec<(String, String)>,
    pub fail_out_of_scope: bool,
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
    Phase {
        task: TaskId,
        status: TaskStatus,
        ack: oneshot::Sender<()>,
    },
    /// Files outside the task's scope changed.
    ScopeViolation { task: TaskId, files: Vec<String> },
    /// The attempt is over.
    Finished(Box<Finished>),
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
    };
    let verdict = attempt.go().await;
    let (result, summary) = match &verdict {
        Verdict::Merged { sha } => ("passed".to_owned(), format!("merged as {}", short(sha))),
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

    async fn phase(&self, status: TaskStatus) {
        let (ack, done) = oneshot::channel();
        let msg = WorkerMsg::Phase {
            task: self.job.task.id.clone(),
            status,
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
                let base = self.base_sha().await;
                let _ = self
                    .tx
                    .send(WorkerMsg::SessionStarted {
                        task: task.clone(),
                        attempt: self.job.attempt,
                        handle: Box::new(handle.clone()),
                        base_sha: base,
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
        if let Some(running) = report {
            let agent_started = Instant::now();
            let report = match running.wait().await {
                Ok(report) => report,
                Err(e) => return self.fail(FailureKind::AgentCrashed, e.to_string()),
            };
            self.agent_time = agent_started.elapsed();
            self.take_report(&report);
            self.phase(TaskStatus::Verifying).await;
            // Keep whatever the agent wrote, whatever happened: a retry builds on it.
            if let Err(e) = self.commit().await {
                return self.fail(FailureKind::AgentCrashed, e);
            }
            if let Some(verdict) = self.agent_verdict(&report.outcome) {
                return verdict;
            }
        }
        if !matches!(self.job.stage, Stage::Merge) {
            if matches!(self.job.stage, Stage::Verify)
                && let Err(e) = self.commit().await
            {
                return self.fail(FailureKind::AgentCrashed, e);
            }
            if let Some(failed) = self.verify().await {
                return failed;
            }
            self.phase(TaskStatus::Merging).await;
        }
        self.merge().await
    }

    async fn base_sha(&self) -> String {
        let worktrees = Arc::clone(&self.shared.worktrees);
        let task = self.job.task.id.clone();
        blocking(move || worktrees.get(&task).ok().and_then(|w| w.base_sha))
            .await
            .unwrap_or_default()
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
        let worktree =
            blocking(move || prepare_worktree(&worktrees, &id, &epic, &upstream, fresh)).await?;
        drop(turn);

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
        if non_interactive {
            request.permission_mode = Some("bypassPermissions".into());
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
                base_sha: worktree.base_sha.clone(),
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

    /// Commits what the agent left; records the files of that commit (verification later
    /// replaces them with everything changed since the base).
    async fn commit(&mut self) -> Result<(), String> {
        let worktrees = Arc::clone(&self.shared.worktrees);
        let task = self.job.task.clone();
        let commit = blocking(move || {
            worktrees
                .commit_pending(&task.id, &task.title)
                .map_err(|e| format!("cannot commit the agent's work: {e}"))
        })
        .await?;
        if let Some(commit) = commit {
            self.end.changed_files = commit.files;
        }
        Ok(())
    }

    /// Checks the work: something changed, within scope (reported), and the gate passes.
    async fn verify(&mut self) -> Option<Verdict> {
        let worktrees = Arc::clone(&self.shared.worktrees);
        let id = self.job.task.id.clone();
        let info = match blocking(move || worktrees.get(&id)).await {
            Ok(info) => info,
            Err(e) => return Some(self.fail(FailureKind::AgentCrashed, e.to_string())),
        };
        let files: Vec<String> = info.changes.iter().map(|c| c.path.clone()).collect();
        self.end.changed_files = files.clone();
        if files.is_empty() {
            return Some(self.fail(
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
                    return Some(self.fail(
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
        let diff = DiffStats {
            files_changed: u32::try_from(files.len()).unwrap_or(u32::MAX),
            insertions: u32::try_from(info.insertions).unwrap_or(u32::MAX),
            deletions: u32::try_from(info.deletions).unwrap_or(u32::MAX),
        };
        let failed = self.gate(&info.path, info.base_sha.clone()).await?;
        Some(match failed {
            Verdict::Failed(mut f) => {
                f.diff = Some(diff);
                Verdict::Failed(f)
            }
            other => other,
        })
    }

    /// Runs the gate; `None` when it passes (or is off).
    async fn gate(&mut self, path: &std::path::Path, base: Option<String>) -> Option<Verdict> {
        let gate = self.shared.gate.as_ref()?;
        let options = GateOptions {
            task_id: Some(self.job.task.id.to_string()),
            only: Vec::new(),
            base,
            cache_dir: Some(self.shared.orch_dir.join("cache").join("quality")),
            ..GateOptions::default()
        };
        let report = match gate.evaluate(path, &options).await {
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
        let tests_failed = report.gate_failures.iter().any(|g| g.contains("tests"));
        let kind = if tests_failed {
            FailureKind::TestsFailing
        } else {
            FailureKind::QualityBelowThreshold
        };
        Some(self.fail(kind, gate_message(&report)))
    }

    /// The merge queue: one merge at a time, conflicts predicted first; on a conflict the
    /// task branch is rebased onto the new epic tip and verified once more.
    async fn merge(&mut self) -> Verdict {
        let _turn = self.shared.merge_queue.lock().await;
        let task = self.job.task.clone();
        for round in 0..2 {
            let worktrees = Arc::clone(&self.shared.worktrees);
            let t = task.clone();
            let merged = blocking(move || -> Result<Result<String, Vec<String>>, MergeError> {
                let report = worktrees.predict_task_conflicts(&t.id)?;
                if !report.is_clean() {
                    return Ok(Err(report.paths().into_iter().map(str::to_owned).collect()));
                }
                Ok(Ok(worktrees.merge_task(&t.id, &t.epic)?.new_target_sha))
            })
            .await;
            let paths = match merged {
                Ok(Ok(sha)) => return Verdict::Merged { sha },
                Ok(Err(paths)) => paths,
                Err(e) => return self.fail(FailureKind::MergeConflict, e.to_string()),
            };
            if round == 1 {
                return self.fail(
                    FailureKind::MergeConflict,
                    format!("still conflicts after a rebase: {}", paths.join(", ")),
                );
            }
            let worktrees = Arc::clone(&self.shared.worktrees);
            let t = task.clone();
            let rebased = blocking(move || rebase_onto_epic(&worktrees, &t.id, &t.epic)).await;
            if let Err(problem) = rebased {
                return self.fail(
                    FailureKind::MergeConflict,
                    format!(
                        "conflicts with its epic branch in {}: {problem}",
                        paths.join(", ")
                    ),
                );
            }
            let path = self.shared.worktrees.worktree_path(&task.id);
            if let Some(failed) = self.gate(&path, None).await {
                return failed;
            }
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
                    &orch_worktree::epic_branch(other),
                    &orch_worktree::epic_branch(epic),
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

/// `git rebase orch/epic/<EPIC>` in the task's worktree; aborted (and the branch left as it
/// was) when it stops on a conflict.
fn rebase_onto_epic(
    worktrees: &WorktreeManager,
    task: &TaskId,
    epic: &EpicId,
) -> Result<(), String> {
    let path = worktrees.worktree_path(task);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&path)
            .args(["-c", "user.name=orch", "-c", "user.email=orch@localhost"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
    };
    let out = git(&["rebase", &orch_worktree::epic_branch(epic)])
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let _ = git(&["rebase", "--abort"]);
    Err(String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .find(|l| l.contains("CONFLICT"))
        .unwrap_or("the rebase stopped")
        .to_owned())
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
