//! The append-only event log.

use orch_core::Event;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{from_millis, millis};
use crate::{Store, StoreError};

/// An event as stored: its sequence number (strictly increasing, never reused) and time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    pub event: Event,
}

pub(crate) fn insert_event(
    conn: &Connection,
    event: &Event,
    at: OffsetDateTime,
) -> Result<u64, StoreError> {
    let json = serde_json::to_string(event).map_err(|e| StoreError::Corrupt {
        what: "event",
        message: e.to_string(),
    })?;
    conn.prepare_cached("INSERT INTO events (at, kind, task, json) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            millis(at),
            event.kind(),
            event.task().map(|t| t.as_str()),
            json
        ])?;
    Ok(conn.last_insert_rowid() as u64)
}

/// Inserts `event` and commits the transaction it belongs to: the last step of every write
/// that records an event.
pub(crate) fn commit_with_event(
    tx: rusqlite::Transaction<'_>,
    event: Event,
    at: OffsetDateTime,
) -> Result<StoredEvent, StoreError> {
    let seq = insert_event(&tx, &event, at)?;
    tx.commit()?;
    Ok(StoredEvent { seq, at, event })
}

fn decode_event(seq: i64, at: i64, json: &str) -> Result<StoredEvent, StoreError> {
    let event = serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: "event",
        message: format!("event {seq}: {e}"),
    })?;
    Ok(StoredEvent {
        seq: seq as u64,
        at: from_millis(at),
        event,
    })
}

impl Store {
    /// Appends one event.
    pub fn append_event(&mut self, event: &Event) -> Result<StoredEvent, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        commit_with_event(tx, event.clone(), now)
    }

    /// Appends several events in one transaction; returns the last sequence number.
    pub fn append_events(&mut self, events: &[Event]) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = 0;
        for event in events {
            last = insert_event(&tx, event, now)?;
        }
        tx.commit()?;
        Ok(last)
    }

    /// Events with a sequence number greater than `after_seq`, oldest first, at most `limit`.
    /// Tail the log by passing the last `seq` seen.
    pub fn events_since(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, json FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_seq as i64, limit as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, at, json) = row?;
            decode_event(seq, at, &json)
        })
        .collect()
    }

    /// The newest event of this kind ([`Event::kind`], e.g. `run_started`), if any.
    pub fn latest_event(&self, kind: &str) -> Result<Option<StoredEvent>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT seq, at, json FROM events WHERE kind = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([kind], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        row.map(|(seq, at, json)| decode_event(seq, at, &json))
            .transpose()
    }

    /// The newest sequence number, 0 when the log is empty.
    pub fn last_event_seq(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT MAX(seq) FROM events", [], |row| row.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }
}
