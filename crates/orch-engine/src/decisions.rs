//! The conductor's side of escalation: each failure goes to the [`Escalator`], whose
//! decision is carried out here (retry after a backoff with feedback, a question to a human,
//! hold, or a quiet action); answers written to the store by `orch msg answer` (or the
//! dashboard) are picked up on every tick, as are expiries and held escalations.
//!
//! [`Escalator`]: orch_escalation::Escalator

use std::sync::Arc;
use std::time::Instant;

use orch_core::{Event, TaskId, TaskStatus};
use orch_escalation::{
    Action, Decision, FailureContext, MessageState, NotifyReport, Outcome, PmMessage,
};

use crate::EngineError;
use crate::conductor::{Conductor, ESCALATOR_KEY, RetryPlan, retry_key};
use crate::progress::RunEvent;

/// How often answers, reviews and run control are read even when no event announced them.
const FULL_PICKUP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl Conductor {
    pub(crate) async fn on_failure(&mut self, failure: FailureContext) -> Result<(), EngineError> {
        let task = failure.task.clone();
        let attempt = failure.attempt;
        let kind = failure.kind.as_str().to_owned();
        let summary = failure.message.clone();
        let advisor = Arc::clone(&self.options.advisor);
        let outcome = self.escalator.on_failure(failure, &*advisor).await;
        let next = match &outcome.decision {
            Decision::Retry { after, .. } if after.as_secs() > 0 => {
                format!("retry in {} s", after.as_secs())
            }
            other => other.name().to_owned(),
        };
        self.options.progress.event(&RunEvent::TaskFailed {
            task: task.clone(),
            attempt,
            kind,
            summary,
            next,
        });
        self.carry_out(&task, outcome).await
    }

    /// Carries out one escalator decision for `task` (which is `Failed`).
    pub(crate) async fn carry_out(
        &mut self,
        task: &TaskId,
        outcome: Outcome,
    ) -> Result<(), EngineError> {
        self.write_log(outcome.log.as_ref());
        match outcome.decision {
            Decision::Retry {
                attempt,
                after,
                feedback,
                fresh_worktree,
                non_interactive,
                ..
            } => {
                let plan = RetryPlan {
                    feedback,
                    fresh_worktree,
                    non_interactive,
                    agent: None,
                };
                self.plan_retry(task, &plan)?;
                self.not_before.insert(task.clone(), Instant::now() + after);
                let max = self.escalator.policy().max_retries;
                self.set_status(
                    task,
                    TaskStatus::Ready,
                    &format!("automatic retry {attempt} of {max}"),
                )?;
            }
            Decision::Escalate { message, notify } => {
                self.publish_question(task, *message, notify)?;
            }
            Decision::Hold { reason } => {
                self.note(format!(
                    "{task}: escalation held back ({reason}); it waits for a free slot"
                ));
            }
            Decision::Suppress { reason, action } => match action {
                Some(action) => {
                    self.note(format!(
                        "{task}: not escalated ({reason}); applying `{}`",
                        action.name()
                    ));
                    self.apply_action(task, action).await?;
                }
                None => self.note(format!("{task}: not escalated again ({reason})")),
            },
        }
        self.save_escalator()
    }

    /// Stores and announces a question the escalator opened outside a failure (a budget).
    pub(crate) fn carry_out_question(
        &mut self,
        task: &TaskId,
        outcome: Outcome,
    ) -> Result<(), EngineError> {
        self.write_log(outcome.log.as_ref());
        if let Decision::Escalate { message, notify } = outcome.decision {
            self.publish_question(task, *message, notify)?;
        }
        self.save_escalator()
    }

    /// Saves `message`, moves a failed task to `Escalated`, and notifies (off the loop).
    fn publish_question(
        &mut self,
        task: &TaskId,
        message: PmMessage,
        notify: bool,
    ) -> Result<(), EngineError> {
        {
            {
                self.save_message(&message)?;
                if self.status(task) == TaskStatus::Failed {
                    self.set_status(
                        task,
                        TaskStatus::Escalated,
                        &format!("waiting for an answer to {}", message.id),
                    )?;
                }
                self.options.progress.event(&RunEvent::Question {
                    message: message.id.to_string(),
                    task: task.clone(),
                    text: message.render_text(),
                });
                if notify && !self.options.notifiers.is_empty() {
                    // Notifiers talk to the network: off the loop, so a hanging webhook
                    // never stalls the run (each is bounded by the set's deadline).
                    let notifiers = self.options.notifiers.clone();
                    let tx = self.tx.clone();
                    let message = Box::new(message.clone());
                    self.pending_notifications += 1;
                    tokio::spawn(async move {
                        let report = notifiers.notify_all(&message).await;
                        let _ = tx
                            .send(crate::worker::WorkerMsg::Notified {
                                message,
                                report: Box::new(report),
                            })
                            .await;
                    });
                } else {
                    self.record_notified(&message.id, &NotifyReport::default())?;
                }
            }
        }
        Ok(())
    }

    /// Stores who was notified about `message`.
    pub(crate) fn record_notified(
        &mut self,
        message: &orch_escalation::MessageId,
        report: &NotifyReport,
    ) -> Result<(), EngineError> {
        let notified = self.escalator.record_notification(message, report)?.clone();
        self.save_message(&notified)?;
        self.save_escalator()
    }

    fn plan_retry(&mut self, task: &TaskId, plan: &RetryPlan) -> Result<(), EngineError> {
        let json = serde_json::to_string(plan).expect("retry plans serialize");
        self.store.set_meta(&retry_key(task), &json)?;
        if !plan.feedback.is_empty() {
            self.store.set_next_feedback(task, &plan.feedback)?;
        }
        Ok(())
    }

    /// Applies a decided action to a `Failed` or `Escalated` task.
    pub(crate) async fn apply_action(
        &mut self,
        task: &TaskId,
        action: Action,
    ) -> Result<(), EngineError> {
        let from_failed = |c: &mut Conductor| -> Result<(), EngineError> {
            if c.status(task) == TaskStatus::Failed {
                c.set_status(task, TaskStatus::Escalated, "decision taken")?;
            }
            Ok(())
        };
        match action {
            Action::Accept => {
                from_failed(self)?;
                let shared = Arc::clone(&self.shared);
                let t = self.plan.tasks[self.index(task)].clone();
                // The merge-queue turn covers this merge only: finishing the epic below
                // takes its own turn (the lock is not reentrant).
                let turn = shared.merge_queue.lock().await;
                let worktrees = Arc::clone(&shared.worktrees);
                let epic_branch = worktrees.naming().epic_branch(&t.epic);
                let merged = tokio::task::spawn_blocking(move || {
                    // What is merged is what the worktree holds now, committed first: the
                    // same commit is recorded and merged (never the files left after).
                    if worktrees.get(&t.id).is_ok() {
                        worktrees
                            .commit_pending(&t.id, &t.title)
                            .map_err(|e| e.to_string())?;
                    }
                    let sha = worktrees.task_tip(&t.id).map_err(|e| e.to_string())?;
                    worktrees
                        .merge_task_at(&t.id, &t.epic, &sha)
                        .map_err(|e| e.to_string())
                })
                .await
                .expect("merging does not panic");
                shared.guard.accept_refs(&[epic_branch]);
                drop(turn);
                match merged {
                    Ok(outcome) => {
                        let epic = self.plan.tasks[self.index(task)].epic.clone();
                        self.store.append_event(&Event::Merged {
                            task: Some(task.clone()),
                            source: outcome.source,
                            target: outcome.target,
                            sha: outcome.new_target_sha,
                        })?;
                        self.complete(task, "accepted by a human decision").await?;
                        self.refresh()?;
                        self.finish_epic_if_done(&epic).await?;
                    }
                    Err(problem) => {
                        self.note(format!("{task}: accepted, but it does not merge ({problem}); retrying from the current epic tip"));
                        self.plan_retry(
                            task,
                            &RetryPlan {
                                feedback: format!("Your previous work did not merge cleanly: {problem}. Redo the task on the current code."),
                                fresh_worktree: true,
                                ..RetryPlan::default()
                            },
                        )?;
                        self.set_status(
                            task,
                            TaskStatus::Ready,
                            "accepted work did not merge; retrying",
                        )?;
                    }
                }
            }
            Action::RetryWithInstructions {
                instructions,
                fresh_worktree,
                non_interactive,
            } => {
                self.plan_retry(
                    task,
                    &RetryPlan {
                        feedback: instructions,
                        fresh_worktree,
                        non_interactive,
                        agent: None,
                    },
                )?;
                self.set_status(task, TaskStatus::Ready, "retry decided")?;
            }
            Action::RetryWithAgent {
                agent,
                instructions,
            } => {
                let current = self
                    .store
                    .attempts(Some(task))?
                    .pop()
                    .map(|a| a.agent)
                    .unwrap_or_else(|| self.options.agent.name().to_owned());
                let agent = agent.or_else(|| {
                    std::iter::once(&self.options.agent)
                        .chain(self.options.alternate_agents.iter())
                        .map(|a| a.name().to_owned())
                        .find(|name| *name != current)
                });
                if agent.is_none() {
                    self.note(format!(
                        "{task}: no other agent is configured; retrying with {current}"
                    ));
                }
                self.plan_retry(
                    task,
                    &RetryPlan {
                        feedback: instructions,
                        agent,
                        ..RetryPlan::default()
                    },
                )?;
                self.set_status(task, TaskStatus::Ready, "retry with another agent decided")?;
            }
            Action::SplitTask { hint } => {
                self.set_status(
                    task,
                    TaskStatus::Skipped,
                    &format!("to be split ({hint}); add the smaller tasks to the plan"),
                )?;
            }
            Action::Skip => {
                self.set_status(task, TaskStatus::Skipped, "skipped by decision")?;
            }
            Action::AbortRun => {
                self.set_status(task, TaskStatus::Cancelled, "the run was aborted")?;
                self.aborted = true;
                self.stop.stop(crate::StopLevel::Graceful);
            }
            Action::RaiseBudget { .. } | Action::StopRun => {
                self.apply_budget_action(&action)?;
            }
        }
        self.refresh()
    }

    /// Answers, expiries and held escalations; called on every tick.
    pub(crate) async fn on_tick(&mut self) -> Result<(), EngineError> {
        self.retry_pending_epics().await?;
        // A direct write to the database leaves no event: running tasks are looked at
        // every tick (a handful of indexed reads, in `refresh`). Answers, review decisions and run control come from other processes, each with
        // its event; they are read when the log shows one, and every few seconds anyway
        // (a write that left no event is still seen, later).
        self.refresh()?;
        let full = self.last_full_pickup.elapsed() >= FULL_PICKUP_EVERY;
        if full {
            self.last_full_pickup = Instant::now();
        }
        let unseen = std::mem::take(&mut self.unseen);
        if full || unseen.answers {
            self.pick_up_answers().await?;
        }
        if full || unseen.reviews {
            self.pick_up_reviews()?;
        }
        if full || unseen.control {
            self.follow_run_control()?;
        }
        for resolution in self.escalator.expire_due() {
            self.write_log(resolution.log.as_ref());
            self.save_message(&resolution.message)?;
            let task = resolution.message.task.clone();
            self.note(format!(
                "{}: unanswered and expired; applying `{}`",
                resolution.message.id,
                resolution.action.name()
            ));
            self.apply_action(&task, resolution.action).await?;
            self.save_escalator()?;
        }
        if self.escalator.held() > 0 {
            let advisor = Arc::clone(&self.options.advisor);
            for outcome in self.escalator.release_held(&*advisor).await {
                let task = match &outcome.decision {
                    Decision::Escalate { message, .. } => message.task.clone(),
                    _ => continue,
                };
                self.carry_out(&task, outcome).await?;
            }
        }
        Ok(())
    }

    /// Pause, resume and stop requests written to the store from outside the run.
    fn follow_run_control(&mut self) -> Result<(), EngineError> {
        let control = self.store.run_control()?;
        if control.paused_by != self.paused_by {
            match &control.paused_by {
                Some(by) => self.note(format!(
                    "paused by {by}: no new attempts start (running ones go on) until resumed"
                )),
                None => self.note("resumed: attempts start again".into()),
            }
            self.paused_by = control.paused_by;
        }
        if let Some(by) = control.stop_by {
            self.store.clear_stop_request()?;
            self.note(format!(
                "stop requested by {by}: running tasks finish, no new ones start"
            ));
            self.stop.stop(crate::StopLevel::Graceful);
        }
        Ok(())
    }

    async fn pick_up_answers(&mut self) -> Result<(), EngineError> {
        for stored in self.store.messages()? {
            if stored.state != "decided" {
                continue;
            }
            let Ok(decided) = serde_json::from_str::<PmMessage>(&stored.json) else {
                self.note(format!(
                    "{}: unreadable message in the store; ignored",
                    stored.id
                ));
                continue;
            };
            let ours_pending = self
                .escalator
                .message(&decided.id)
                .is_some_and(|m| !matches!(m.state, MessageState::Applied { .. }));
            if !ours_pending {
                continue;
            }
            let resolution = match self.escalator.record_answer(&decided) {
                Ok(r) => r,
                Err(e) => {
                    self.note(format!("{}: answer not applied: {e}", decided.id));
                    continue;
                }
            };
            self.write_log(resolution.log.as_ref());
            let task = resolution.message.task.clone();
            let action_name = resolution.action.name().to_owned();
            let status = self.status(&task);
            // A budget question is about a task that has not started (it stays ready).
            let about_budget =
                resolution.message.kind == orch_escalation::FailureKind::BudgetReached;
            if about_budget && !status.is_terminal() {
                if resolution.action == Action::Skip {
                    self.set_status(&task, TaskStatus::Skipped, "skipped: over its budget")?;
                } else {
                    self.apply_budget_action(&resolution.action)?;
                }
            } else if matches!(status, TaskStatus::Escalated | TaskStatus::Failed) {
                self.apply_action(&task, resolution.action).await?;
            } else {
                self.note(format!(
                    "{}: answered, but {task} is {status} now; nothing to apply",
                    decided.id
                ));
            }
            let applied = self.escalator.mark_applied(&decided.id)?.clone();
            self.save_message(&applied)?;
            self.save_escalator()?;
            self.options.progress.event(&RunEvent::DecisionApplied {
                message: decided.id.to_string(),
                task,
                action: action_name,
            });
        }
        Ok(())
    }

    pub(crate) fn save_message(&mut self, message: &PmMessage) -> Result<(), EngineError> {
        let json = serde_json::to_string(message).expect("messages serialize");
        self.store.save_message(
            message.id.as_str(),
            &message.task,
            message.state.name(),
            &json,
        )?;
        Ok(())
    }

    pub(crate) fn save_escalator(&mut self) -> Result<(), EngineError> {
        let json =
            serde_json::to_string(self.escalator.state()).expect("escalator state serializes");
        self.store.set_meta(ESCALATOR_KEY, &json)?;
        Ok(())
    }

    fn write_log(&self, log: Option<&orch_escalation::DecisionLog>) {
        let Some(log) = log else { return };
        let output = serde_json::to_string(log).unwrap_or_default();
        if let Err(e) = self.decisions.record(
            "escalation",
            "orch-escalation",
            log.task.as_str(),
            &output,
            &log.decision,
        ) {
            tracing::warn!(error = %e, "cannot write the decision log");
        }
    }
}
