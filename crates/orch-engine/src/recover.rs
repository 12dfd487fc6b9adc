//! Crash recovery: what an earlier run (killed with `kill -9`, a power cut, a closed
//! terminal) left behind is finished before anything new starts.
//!
//! - A `Running` task whose session is still there (running, or ended with its status
//!   recorded by the session wrapper) is adopted: its result is processed as usual. A
//!   session that is gone counts as a crashed attempt and goes through retry/escalation.
//! - A `Verifying` task is verified again; a `Merging` task is merged (a merge that had
//!   already happened is recognised: the epic branch contains the task branch).
//! - Sessions nobody owns any more are killed and forgotten; worktrees of finished tasks
//!   are removed.

use std::collections::HashSet;
use std::sync::Arc;

use orch_core::{TaskId, TaskStatus};
use orch_escalation::{FailureContext, FailureKind};
use orch_store::AttemptEnd;

use crate::EngineError;
use crate::conductor::Conductor;
use crate::progress::RunEvent;
use crate::worker::{Job, Stage};

impl Conductor {
    /// Returns how many tasks were recovered.
    pub(crate) async fn recover(&mut self) -> Result<usize, EngineError> {
        // A merge into the checked-out base branch that a crash cut short is finished
        // first: the checkout must never stay half-updated.
        let worktrees = Arc::clone(&self.shared.worktrees);
        let finished = tokio::task::spawn_blocking(move || worktrees.finish_interrupted_merge())
            .await
            .expect("finishing a merge does not panic");
        match finished {
            Ok(Some(what)) => self.note(what),
            Ok(None) => {}
            Err(e) => self.note(format!("an interrupted merge could not be finished: {e}")),
        }
        let sessions = self.shared.pool.backend().list().await?;
        let mut owned: HashSet<orch_session::SessionId> = HashSet::new();
        let (mut adopted, mut lost, mut resumed) = (Vec::new(), Vec::new(), Vec::new());
        let unfinished = self.store.unfinished_attempts()?;
        for i in 0..self.plan.tasks.len() {
            let status = self.board.status(i);
            if !status.is_active() {
                continue;
            }
            let task = self.plan.tasks[i].clone();
            let attempt = task.attempts.max(1);
            let record = unfinished
                .iter()
                .find(|a| a.task == task.id && a.attempt == attempt);
            let agent = match record {
                Some(r) => self.agent_named(&r.agent),
                None => Arc::clone(&self.options.agent),
            };
            let stage = match status {
                TaskStatus::Running => {
                    let log =
                        orch_session::attempt_log_path(&self.options.orch_dir, &task.id, attempt);
                    let session = sessions.iter().find(|s| {
                        s.task.as_ref() == Some(&task.id)
                            && (s.log_path == log
                                || record.is_some_and(|r| r.session_id == s.id.to_string()))
                    });
                    match session {
                        Some(handle) => {
                            owned.insert(handle.id);
                            adopted.push(task.id.clone());
                            Stage::Adopt(handle.clone())
                        }
                        None if record.is_none_or(|r| r.session_id.is_empty()) => {
                            // orch stopped before the agent ever ran (preparing the
                            // worktree, writing instructions): not the agent's failure, and
                            // not an attempt the task is charged for.
                            resumed.push(task.id.clone());
                            self.not_started(&task.id, attempt, record.is_some())?;
                            continue;
                        }
                        None => {
                            lost.push(task.id.clone());
                            self.lose(&task.id, attempt, record.is_some()).await?;
                            continue;
                        }
                    }
                }
                TaskStatus::Verifying => {
                    resumed.push(task.id.clone());
                    Stage::Verify
                }
                _ => {
                    resumed.push(task.id.clone());
                    // Without a recorded verified commit (an older run), verify again.
                    if record.and_then(|r| r.result_sha.as_ref()).is_some() {
                        Stage::Merge
                    } else {
                        Stage::Verify
                    }
                }
            };
            let base = record.map(|r| r.base_sha.clone()).filter(|b| !b.is_empty());
            let verified_sha = record.and_then(|r| r.result_sha.clone());
            self.spawn(Job {
                upstream_epics: self.upstream_epics(&task),
                task,
                attempt,
                agent,
                stage,
                base,
                verified_sha,
                review: false,
                settings: Default::default(),
            });
        }
        // Sessions of tasks that are not running any more (or of another plan): stop them.
        for handle in sessions.iter().filter(|s| !owned.contains(&s.id)) {
            let backend = self.shared.pool.backend();
            let _ = backend.kill(handle).await;
            let _ = backend.cleanup(handle).await;
        }
        self.remove_finished_worktrees().await;
        let count = adopted.len() + lost.len() + resumed.len();
        if count > 0 {
            self.options.progress.event(&RunEvent::Recovered {
                adopted,
                lost,
                resumed,
            });
        }
        Ok(count)
    }

    /// A `Running` task whose agent never started: back to `Ready`, the attempt recorded as
    /// interrupted (no failure, no retry counted, nothing escalated).
    fn not_started(
        &mut self,
        task: &TaskId,
        attempt: u32,
        has_row: bool,
    ) -> Result<(), EngineError> {
        let message =
            "orch stopped before the agent started; it runs again (not counted as a failure)";
        if has_row {
            self.store.finish_attempt(
                task,
                attempt,
                AttemptEnd {
                    result: "interrupted".into(),
                    summary: message.into(),
                    ..AttemptEnd::default()
                },
            )?;
        }
        self.set_status(task, TaskStatus::Failed, "interrupted")?;
        self.set_status(task, TaskStatus::Ready, message)?;
        Ok(())
    }

    /// A `Running` task whose session vanished: a crashed attempt.
    async fn lose(
        &mut self,
        task: &TaskId,
        attempt: u32,
        has_row: bool,
    ) -> Result<(), EngineError> {
        let message = "the agent's session was gone when orch restarted";
        if has_row {
            self.store.finish_attempt(
                task,
                attempt,
                AttemptEnd {
                    result: FailureKind::AgentCrashed.as_str().into(),
                    summary: message.into(),
                    ..AttemptEnd::default()
                },
            )?;
        }
        self.set_status(task, TaskStatus::Failed, message)?;
        let failure = FailureContext::new(task.clone(), FailureKind::AgentCrashed, message)
            .with_attempt(attempt)
            .with_agent(self.options.agent.name());
        self.on_failure(failure).await
    }

    /// Worktrees of completed, skipped or cancelled tasks (a crash between merge and
    /// cleanup leaves them).
    async fn remove_finished_worktrees(&mut self) {
        let worktrees = Arc::clone(&self.shared.worktrees);
        let finished: HashSet<TaskId> = self
            .plan
            .tasks
            .iter()
            .enumerate()
            .filter(|(i, _)| self.board.status(*i).is_terminal())
            .map(|(_, t)| t.id.clone())
            .collect();
        let removed = tokio::task::spawn_blocking(move || {
            let mut problems = Vec::new();
            for info in worktrees.list().unwrap_or_default() {
                if finished.contains(&info.task)
                    && let Err(e) = crate::worker::discard_worktree(&worktrees, &info.task)
                {
                    problems.push(format!("{}: {e}", info.task));
                }
            }
            problems
        })
        .await
        .unwrap_or_default();
        for problem in removed {
            self.note(format!(
                "cannot remove a finished task's worktree: {problem}"
            ));
        }
    }
}
