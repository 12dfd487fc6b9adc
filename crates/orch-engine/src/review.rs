//! The conductor's side of human review: a decision written to the store by any client
//! (`orch review approve|reject`, the dashboard, the MCP server) is carried out on the next
//! tick. An approval merges exactly the commit that was reviewed, through the merge queue
//! like any verified work; a rejection retries the task in its worktree with the reviewer's
//! note as feedback.

use orch_core::TaskStatus;
use orch_store::{Review, ReviewVerdict};

use crate::EngineError;
use crate::conductor::{Conductor, RetryPlan};
use crate::worker::{Job, Stage};

impl Conductor {
    /// Carries out every decided review not applied yet.
    pub(crate) fn pick_up_reviews(&mut self) -> Result<(), EngineError> {
        for review in self.store.decided_reviews()? {
            if self.board.graph().index_of(&review.task).is_none() {
                // A review of a task of an earlier plan: nothing to carry out.
                self.store
                    .mark_review_applied(&review.task, review.attempt)?;
                continue;
            }
            let status = self.status(&review.task);
            if status == TaskStatus::AwaitingReview {
                self.apply_review(&review)?;
            } else {
                self.note(format!(
                    "{}: review {}, but the task is {status} now; nothing to apply",
                    review.task, review.state
                ));
            }
            self.store
                .mark_review_applied(&review.task, review.attempt)?;
        }
        Ok(())
    }

    fn apply_review(&mut self, review: &Review) -> Result<(), EngineError> {
        let task = &review.task;
        let by = review.decided_by.as_deref().unwrap_or("a reviewer");
        match review.verdict() {
            Some(ReviewVerdict::Approved) => {
                self.set_status(task, TaskStatus::Merging, &format!("approved by {by}"))?;
                let plan_task = self.plan.tasks[self.index(task)].clone();
                let agent = self
                    .store
                    .attempts(Some(task))?
                    .into_iter()
                    .find(|a| a.attempt == review.attempt)
                    .map(|a| self.agent_named(&a.agent))
                    .unwrap_or_else(|| std::sync::Arc::clone(&self.options.agent));
                self.note(format!("{task}: approved by {by}; merging"));
                self.spawn(Job {
                    upstream_epics: self.upstream_epics(&plan_task),
                    task: plan_task,
                    attempt: review.attempt,
                    agent,
                    stage: Stage::Merge,
                    base: Some(review.base_sha.clone()).filter(|b| !b.is_empty()),
                    verified_sha: Some(review.sha.clone()),
                    review: false,
                    settings: Default::default(),
                });
            }
            Some(ReviewVerdict::Rejected) => {
                let note = review
                    .note
                    .clone()
                    .unwrap_or_else(|| "no reason given".into());
                self.set_status(
                    task,
                    TaskStatus::Failed,
                    &format!("rejected in review by {by}: {note}"),
                )?;
                let feedback = format!(
                    "A human reviewer ({by}) rejected your previous work on this task. Their note:\n\n{note}\n\nAddress it, keep what was right, and make sure the checks still pass."
                );
                let plan = RetryPlan {
                    feedback,
                    ..RetryPlan::default()
                };
                let json = serde_json::to_string(&plan).expect("retry plans serialize");
                self.store
                    .set_meta(&crate::conductor::retry_key(task), &json)?;
                self.store.set_next_feedback(task, &plan.feedback)?;
                self.set_status(task, TaskStatus::Ready, "retry after the review")?;
                self.note(format!("{task}: rejected by {by}; retrying with the note"));
            }
            None => {}
        }
        Ok(())
    }
}
