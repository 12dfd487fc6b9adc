//! PM messages: the escalation layer's questions to a human, kept as JSON documents with
//! their id, task and state in columns. The store does not interpret them (it depends only
//! on orch-core); `orch-escalation` owns their shape.

use orch_core::{Event, TaskId};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::events::commit_with_event;
use crate::store::{from_millis, millis};
use crate::{Store, StoreError, StoredEvent};

/// A stored PM message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    /// Message id (`PM-0001`).
    pub id: String,
    /// The task it is about.
    pub task: TaskId,
    /// State name.
    pub state: String,
    /// When it was first stored.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The message document.
    pub json: String,
}

impl Store {
    /// Stores a message, or replaces the stored one with the same id, with a
    /// `MessageChanged` event. For the runner, which owns the message lifecycle.
    pub fn save_message(
        &mut self,
        id: &str,
        task: &TaskId,
        state: &str,
        json: &str,
    ) -> Result<StoredEvent, StoreError> {
        self.write_message(id, task, state, json, None)
    }

    /// Replaces a message only if its stored document is still `expected_json` (the copy the
    /// caller read): an answer from the CLI or the dashboard can never overwrite a change the
    /// runner made meanwhile. Otherwise [`StoreError::MessageChanged`] and nothing written.
    pub fn update_message_if(
        &mut self,
        id: &str,
        expected_json: &str,
        task: &TaskId,
        state: &str,
        json: &str,
    ) -> Result<StoredEvent, StoreError> {
        self.write_message(id, task, state, json, Some(expected_json))
    }

    fn write_message(
        &mut self,
        id: &str,
        task: &TaskId,
        state: &str,
        json: &str,
        expected: Option<&str>,
    ) -> Result<StoredEvent, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<(String, String)> = tx
            .prepare_cached("SELECT state, json FROM messages WHERE id = ?1")?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some(expected) = expected {
            match &current {
                None => return Err(StoreError::UnknownMessage { id: id.to_owned() }),
                Some((state_now, json_now)) if json_now != expected => {
                    return Err(StoreError::MessageChanged {
                        id: id.to_owned(),
                        state: state_now.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        tx.prepare_cached(
            "INSERT INTO messages (id, task, state, created_at, updated_at, json)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET task = excluded.task, state = excluded.state,
                 updated_at = excluded.updated_at, json = excluded.json",
        )?
        .execute(params![id, task.as_str(), state, millis(now), json])?;
        let event = Event::MessageChanged {
            message: id.to_owned(),
            task: task.clone(),
            state: state.to_owned(),
        };
        commit_with_event(tx, event, now)
    }

    /// Every stored message, oldest first.
    pub fn messages(&self) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, task, state, created_at, updated_at, json FROM messages ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (id, task, state, created, updated, json) = row?;
            let task = TaskId::new(task).map_err(|e| StoreError::Corrupt {
                what: "message",
                message: e.to_string(),
            })?;
            Ok(StoredMessage {
                id,
                task,
                state,
                created_at: from_millis(created),
                updated_at: from_millis(updated),
                json,
            })
        })
        .collect()
    }
}
