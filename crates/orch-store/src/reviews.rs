//! Human reviews of verified work (`review = "human"`). The runner asks for one when a task
//! passed the gate; any client (the CLI, the dashboard, the MCP server) decides it with a
//! compare-and-swap, so two reviewers pressing at once decide it once and the second is
//! told who was first; the runner applies the decision (merge, or a retry with the note).

use orch_core::{Event, TaskId, TaskStatus};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::events::commit_with_event;
use crate::store::{from_millis, millis};
use crate::{Store, StoreError, StoredEvent};

/// A reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// Merge the reviewed commit.
    Approved,
    /// Run the task again with the reviewer's note as feedback.
    Rejected,
}

impl ReviewVerdict {
    /// `approved` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewVerdict::Approved => "approved",
            ReviewVerdict::Rejected => "rejected",
        }
    }
}

/// One review request and, once decided, its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// The task.
    pub task: TaskId,
    /// The attempt whose work is reviewed.
    pub attempt: u32,
    /// The verified commit: exactly what an approval merges.
    pub sha: String,
    /// The commit the work started from (the diff is `base_sha..sha`).
    pub base_sha: String,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// Who decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The reviewer's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// When it was decided.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_at: Option<OffsetDateTime>,
    /// The runner carried the decision out.
    pub applied: bool,
}

impl Review {
    /// Still waiting for a reviewer.
    pub fn is_pending(&self) -> bool {
        self.state == "pending"
    }

    /// The decision, once there is one.
    pub fn verdict(&self) -> Option<ReviewVerdict> {
        match self.state.as_str() {
            "approved" => Some(ReviewVerdict::Approved),
            "rejected" => Some(ReviewVerdict::Rejected),
            _ => None,
        }
    }
}

const COLUMNS: &str =
    "task, attempt, sha, base_sha, state, decided_by, note, requested_at, decided_at, applied";

fn review_from(row: &Row<'_>) -> rusqlite::Result<(String, Review)> {
    let task: String = row.get(0)?;
    Ok((
        task.clone(),
        Review {
            // Replaced by the caller after validation.
            task: TaskId::new("T").expect("a valid placeholder id"),
            attempt: row.get(1)?,
            sha: row.get(2)?,
            base_sha: row.get(3)?,
            state: row.get(4)?,
            decided_by: row.get(5)?,
            note: row.get(6)?,
            requested_at: from_millis(row.get(7)?),
            decided_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
            applied: row.get::<_, i64>(9)? != 0,
        },
    ))
}

fn with_task((task, mut review): (String, Review)) -> Result<Review, StoreError> {
    review.task = TaskId::new(task).map_err(|e| StoreError::Corrupt {
        what: "review",
        message: e.to_string(),
    })?;
    Ok(review)
}

impl Store {
    /// Asks for a review of `task`'s verified commit `sha` (the task is moved to
    /// `AwaitingReview` by the runner separately), with a `ReviewRequested` event.
    pub fn request_review(
        &mut self,
        task: &TaskId,
        attempt: u32,
        sha: &str,
        base_sha: &str,
    ) -> Result<StoredEvent, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO reviews (task, attempt, sha, base_sha, state, requested_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5)
             ON CONFLICT(task, attempt) DO UPDATE SET sha = excluded.sha,
                 base_sha = excluded.base_sha, state = 'pending', decided_by = NULL,
                 note = NULL, requested_at = excluded.requested_at, decided_at = NULL,
                 applied = 0",
        )?
        .execute(params![task.as_str(), attempt, sha, base_sha, millis(now)])?;
        let event = Event::ReviewRequested {
            task: task.clone(),
            attempt,
            sha: sha.to_owned(),
        };
        commit_with_event(tx, event, now)
    }

    /// Decides `task`'s pending review, only if it is still pending and the task still
    /// waits for it: otherwise [`StoreError::ReviewDecided`] (naming who was first) or
    /// [`StoreError::NoReview`], and nothing is written.
    pub fn decide_review(
        &mut self,
        task: &TaskId,
        verdict: ReviewVerdict,
        by: &str,
        note: Option<&str>,
    ) -> Result<Review, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status: String = tx
            .prepare_cached("SELECT status FROM tasks WHERE id = ?1")?
            .query_row([task.as_str()], |row| row.get(0))
            .optional()?
            .ok_or_else(|| StoreError::UnknownTask { id: task.clone() })?;
        let latest = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reviews WHERE task = ?1 ORDER BY attempt DESC LIMIT 1"
            ))?
            .query_row([task.as_str()], review_from)
            .optional()?
            .map(with_task)
            .transpose()?;
        let mut review = match latest {
            Some(r) if !r.is_pending() => {
                return Err(StoreError::ReviewDecided {
                    task: task.clone(),
                    verdict: r.state,
                    by: r.decided_by.unwrap_or_else(|| "someone".into()),
                });
            }
            Some(r) if status == TaskStatus::AwaitingReview.as_str() => r,
            _ => {
                return Err(StoreError::NoReview {
                    task: task.clone(),
                    status,
                });
            }
        };
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        tx.prepare_cached(
            "UPDATE reviews SET state = ?1, decided_by = ?2, note = ?3, decided_at = ?4
             WHERE task = ?5 AND attempt = ?6 AND state = 'pending'",
        )?
        .execute(params![
            verdict.as_str(),
            by,
            note,
            millis(now),
            task.as_str(),
            review.attempt
        ])?;
        review.state = verdict.as_str().to_owned();
        review.decided_by = Some(by.to_owned());
        review.note = note.map(str::to_owned);
        review.decided_at = Some(now);
        let event = Event::ReviewDecided {
            task: task.clone(),
            attempt: review.attempt,
            verdict: verdict.as_str().to_owned(),
            by: by.to_owned(),
            note: review.note.clone(),
        };
        commit_with_event(tx, event, now)?;
        Ok(review)
    }

    /// Every review, newest request first; only pending ones with `pending_only`.
    pub fn reviews(&self, pending_only: bool) -> Result<Vec<Review>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reviews {} ORDER BY requested_at DESC, task",
            if pending_only {
                "WHERE state = 'pending'"
            } else {
                ""
            }
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], review_from)?;
        rows.map(|r| with_task(r?)).collect()
    }

    /// The latest review of `task`, if any.
    pub fn review(&self, task: &TaskId) -> Result<Option<Review>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reviews WHERE task = ?1 ORDER BY attempt DESC LIMIT 1"
            ))?
            .query_row([task.as_str()], review_from)
            .optional()?
            .map(with_task)
            .transpose()
    }

    /// Decisions the runner has not carried out yet, oldest first.
    pub fn decided_reviews(&self) -> Result<Vec<Review>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM reviews WHERE state != 'pending' AND applied = 0
             ORDER BY decided_at, task"
        ))?;
        let rows = stmt.query_map([], review_from)?;
        rows.map(|r| with_task(r?)).collect()
    }

    /// Records that the runner carried out the decision on `task`'s `attempt`.
    pub fn mark_review_applied(&mut self, task: &TaskId, attempt: u32) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE reviews SET applied = 1 WHERE task = ?1 AND attempt = ?2")?
            .execute(params![task.as_str(), attempt])?;
        Ok(())
    }
}
