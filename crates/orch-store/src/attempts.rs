//! Attempts: one row per run of an agent on a task, with its session, the agent's and the
//! orchestrator's verdicts, the quality score and the cost. The runner writes them; `orch
//! status`, `orch task show` and the dashboard read them.

use orch_core::{Event, TaskId, TaskStatus};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::events::commit_with_event;
use crate::store::{millis, transition_in};
use crate::{Store, StoreError, StoredEvent};

/// One attempt at a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The task.
    pub task: TaskId,
    /// Attempt number, from 1 (the task's attempt counter when it started).
    pub attempt: u32,
    /// Agent adapter name.
    pub agent: String,
    /// orch's session id (UUID), which finds the session again after a restart.
    pub session_id: String,
    /// Session name (tmux session or process label).
    pub session_name: String,
    /// The attempt's log file.
    pub log_path: String,
    /// The worktree it ran in.
    pub worktree: String,
    /// The commit the worktree started from.
    pub base_sha: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended, once it has.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// `passed`, or the failure kind, once it ended.
    #[serde(default)]
    pub result: Option<String>,
    /// One line for humans about how it ended.
    #[serde(default)]
    pub summary: Option<String>,
    /// The quality score, when the gate ran.
    #[serde(default)]
    pub quality: Option<f64>,
    /// The quality report (JSON), when the gate ran.
    #[serde(default)]
    pub quality_report: Option<serde_json::Value>,
    /// The agent's verdict (JSON).
    #[serde(default)]
    pub agent_outcome: Option<serde_json::Value>,
    /// The agent-side session id, for resuming.
    #[serde(default)]
    pub agent_session_id: Option<String>,
    /// Cost in US dollars, where the agent reports it.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Wall-clock milliseconds of the agent session.
    #[serde(default)]
    pub agent_ms: Option<u64>,
    /// Files changed (relative paths), as committed on the task branch.
    #[serde(default)]
    pub changed_files: Vec<String>,
    /// Feedback to put into the next attempt's instructions (set when a retry is decided).
    #[serde(default)]
    pub feedback: Option<String>,
    /// The commit that was verified and is (or was) merged: what a resumed merge takes.
    #[serde(default)]
    pub result_sha: Option<String>,
}

impl AttemptRecord {
    /// Attempt `attempt` at `task` by `agent`, starting now, with its log at `log_path`:
    /// no session yet, no outcome. Set the other fields with struct update syntax.
    pub fn starting(
        task: TaskId,
        attempt: u32,
        agent: impl Into<String>,
        log_path: impl Into<String>,
    ) -> AttemptRecord {
        AttemptRecord {
            task,
            attempt,
            agent: agent.into(),
            session_id: String::new(),
            session_name: String::new(),
            log_path: log_path.into(),
            worktree: String::new(),
            base_sha: String::new(),
            started_at: OffsetDateTime::now_utc(),
            ended_at: None,
            result: None,
            summary: None,
            quality: None,
            quality_report: None,
            agent_outcome: None,
            agent_session_id: None,
            cost_usd: None,
            agent_ms: None,
            changed_files: Vec::new(),
            feedback: None,
            result_sha: None,
        }
    }
}

/// How an attempt ended, for [`Store::finish_attempt`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttemptEnd {
    /// `passed`, or the failure kind.
    pub result: String,
    /// One line for humans.
    pub summary: String,
    /// Quality score, when the gate ran.
    pub quality: Option<f64>,
    /// Quality report (JSON), when the gate ran.
    pub quality_report: Option<serde_json::Value>,
    /// The agent's verdict (JSON).
    pub agent_outcome: Option<serde_json::Value>,
    /// Agent-side session id.
    pub agent_session_id: Option<String>,
    /// Cost.
    pub cost_usd: Option<f64>,
    /// Agent wall-clock milliseconds.
    pub agent_ms: Option<u64>,
    /// Files changed.
    pub changed_files: Vec<String>,
    /// The commit that was verified (merged when the result is `passed`).
    pub result_sha: Option<String>,
}

fn encode(record: &AttemptRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
        what: "attempt",
        message: e.to_string(),
    })
}

fn decode(json: &str) -> Result<AttemptRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: "attempt",
        message: e.to_string(),
    })
}

impl Store {
    /// Starts attempt `record.attempt` of a `Ready` task: moves it to `Running` (which counts
    /// the attempt) and stores the attempt row with an `AttemptStarted` event, in one
    /// transaction. The attempt number must be the task's attempt count plus one. The
    /// session is recorded once it runs ([`Store::record_session`]).
    pub fn begin_attempt(&mut self, record: &AttemptRecord) -> Result<(), StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let attempts: u32 = tx
            .prepare_cached("SELECT attempts FROM tasks WHERE id = ?1")?
            .query_row([record.task.as_str()], |row| row.get(0))
            .optional()?
            .ok_or_else(|| StoreError::UnknownTask {
                id: record.task.clone(),
            })?;
        if record.attempt != attempts + 1 {
            return Err(StoreError::Corrupt {
                what: "attempt",
                message: format!(
                    "{} has {attempts} attempts; attempt {} cannot start",
                    record.task, record.attempt
                ),
            });
        }
        transition_in(
            &tx,
            &record.task,
            TaskStatus::Running,
            Some("agent started"),
            now,
        )?;
        tx.prepare_cached(
            "INSERT INTO attempts (task, attempt, started_at, json) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            record.task.as_str(),
            record.attempt,
            millis(record.started_at),
            encode(record)?
        ])?;
        tx.commit()?;
        Ok(())
    }

    /// Records the session an attempt runs in (once it started, or was adopted after a
    /// restart), with an `AttemptStarted` event.
    pub fn record_session(
        &mut self,
        task: &TaskId,
        attempt: u32,
        session_id: &str,
        session_name: &str,
        base_sha: &str,
        adopted: bool,
    ) -> Result<StoredEvent, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut record = read_attempt(&tx, task, attempt)?;
        record.session_id = session_id.to_owned();
        record.session_name = session_name.to_owned();
        if !base_sha.is_empty() {
            record.base_sha = base_sha.to_owned();
        }
        write_attempt(&tx, &record)?;
        let event = Event::AttemptStarted {
            task: task.clone(),
            attempt,
            session: session_name.to_owned(),
            agent: record.agent.clone(),
            adopted,
        };
        commit_with_event(tx, event, now)
    }

    /// Records how an attempt ended, with an `AttemptFinished` event. The task's status is
    /// moved separately by the runner.
    pub fn finish_attempt(
        &mut self,
        task: &TaskId,
        attempt: u32,
        end: AttemptEnd,
    ) -> Result<StoredEvent, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut record = read_attempt(&tx, task, attempt)?;
        record.ended_at = Some(now);
        record.result = Some(end.result.clone());
        record.summary = Some(end.summary.clone());
        // What is not known at the end (a merge resumed after a crash knows only its
        // commit) keeps what was recorded when it was verified.
        record.quality = end.quality.or(record.quality);
        record.quality_report = end.quality_report.or(record.quality_report);
        record.agent_outcome = end.agent_outcome.or(record.agent_outcome);
        record.agent_session_id = end.agent_session_id.or(record.agent_session_id);
        record.cost_usd = end.cost_usd.or(record.cost_usd);
        record.agent_ms = end.agent_ms.or(record.agent_ms);
        if !end.changed_files.is_empty() {
            record.changed_files = end.changed_files;
        }
        record.result_sha = end.result_sha.or(record.result_sha);
        write_attempt(&tx, &record)?;
        let event = Event::AttemptFinished {
            task: task.clone(),
            attempt,
            result: end.result,
            quality: end.quality,
            summary: end.summary,
        };
        commit_with_event(tx, event, now)
    }

    /// Records what verification established before the merge starts: the commit that
    /// passed, its score and report, the files it changed. A merge resumed after a crash
    /// merges exactly this commit and keeps these facts.
    pub fn record_verified(
        &mut self,
        task: &TaskId,
        attempt: u32,
        verified: &AttemptEnd,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut record = read_attempt(&tx, task, attempt)?;
        record.result_sha.clone_from(&verified.result_sha);
        record.quality = verified.quality;
        record.quality_report.clone_from(&verified.quality_report);
        record.changed_files.clone_from(&verified.changed_files);
        if verified.agent_outcome.is_some() {
            record.agent_outcome.clone_from(&verified.agent_outcome);
        }
        if verified.cost_usd.is_some() {
            record.cost_usd = verified.cost_usd;
        }
        if verified.agent_ms.is_some() {
            record.agent_ms = verified.agent_ms;
        }
        write_attempt(&tx, &record)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets the feedback the next attempt of `task` gets (on its latest attempt row).
    pub fn set_next_feedback(&mut self, task: &TaskId, feedback: &str) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let latest: Option<u32> = tx
            .prepare_cached("SELECT MAX(attempt) FROM attempts WHERE task = ?1")?
            .query_row([task.as_str()], |row| row.get(0))?;
        let Some(latest) = latest else {
            return Ok(());
        };
        let mut record = read_attempt(&tx, task, latest)?;
        record.feedback = Some(feedback.to_owned());
        write_attempt(&tx, &record)?;
        tx.commit()?;
        Ok(())
    }

    /// The attempts of `task` (or of every task), oldest first.
    pub fn attempts(&self, task: Option<&TaskId>) -> Result<Vec<AttemptRecord>, StoreError> {
        // Two statements: `?1 IS NULL OR task = ?1` cannot use the (task, attempt) key, and
        // one task's attempts are read per launch and per instruction file.
        let mut stmt = match task {
            Some(_) => self.conn.prepare_cached(
                "SELECT json FROM attempts WHERE task = ?1 ORDER BY started_at, attempt",
            )?,
            None => self
                .conn
                .prepare_cached("SELECT json FROM attempts ORDER BY started_at, task, attempt")?,
        };
        let params: Vec<&str> = task.map(TaskId::as_str).into_iter().collect();
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
            row.get::<_, String>(0)
        })?;
        rows.map(|json| decode(&json?)).collect()
    }

    /// Attempts that started and have not ended: what a crashed runner left behind.
    pub fn unfinished_attempts(&self) -> Result<Vec<AttemptRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT json FROM attempts WHERE ended_at IS NULL ORDER BY started_at",
        )?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|json| decode(&json?)).collect()
    }

    /// Stores a key-value pair (see [`Store::meta`]).
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        Ok(())
    }
}

fn read_attempt(
    conn: &rusqlite::Connection,
    task: &TaskId,
    attempt: u32,
) -> Result<AttemptRecord, StoreError> {
    let json: String = conn
        .prepare_cached("SELECT json FROM attempts WHERE task = ?1 AND attempt = ?2")?
        .query_row(params![task.as_str(), attempt], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::UnknownTask { id: task.clone() })?;
    decode(&json)
}

fn write_attempt(conn: &rusqlite::Connection, record: &AttemptRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE attempts SET ended_at = ?1, result = ?2, json = ?3 WHERE task = ?4 AND attempt = ?5",
    )?
    .execute(params![
        record.ended_at.map(millis),
        record.result,
        encode(record)?,
        record.task.as_str(),
        record.attempt
    ])?;
    Ok(())
}
