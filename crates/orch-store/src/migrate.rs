//! Versioned schema migrations. `PRAGMA user_version` holds the version; each step runs in
//! its own transaction, so a failed step leaves the database at the previous version. Later
//! versions only ever append steps.

use rusqlite::Connection;

use crate::StoreError;

/// Schema steps; step `i` brings the database to version `i + 1`.
const STEPS: &[&str] = &[
    // 1: plan, tasks, event log, runner lease
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE epics (
        position INTEGER PRIMARY KEY,
        id       TEXT NOT NULL UNIQUE,
        json     TEXT NOT NULL
    );
    CREATE TABLE tasks (
        position   INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        epic       TEXT NOT NULL,
        wave       INTEGER NOT NULL,
        status     TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        json       TEXT NOT NULL
    );
    CREATE INDEX tasks_by_status ON tasks(status);
    CREATE INDEX tasks_by_epic ON tasks(epic);
    CREATE INDEX tasks_by_wave ON tasks(wave);
    CREATE TABLE events (
        seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        at   INTEGER NOT NULL,
        kind TEXT NOT NULL,
        task TEXT,
        json TEXT NOT NULL
    );
    CREATE INDEX events_by_task ON events(task) WHERE task IS NOT NULL;
    CREATE TABLE lease (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        owner        TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        host         TEXT NOT NULL,
        acquired_at  INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
    );
    "#,
    // 2: PM messages (escalation questions), stored as JSON with their state for queries
    r#"
    CREATE TABLE messages (
        id         TEXT PRIMARY KEY,
        task       TEXT NOT NULL,
        state      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        json       TEXT NOT NULL
    );
    CREATE INDEX messages_by_task ON messages(task);
    CREATE INDEX messages_by_state ON messages(state);
    "#,
    // 3: one row per attempt at a task: its session, the verdicts, quality and cost
    r#"
    CREATE TABLE attempts (
        task       TEXT NOT NULL,
        attempt    INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at   INTEGER,
        result     TEXT,
        json       TEXT NOT NULL,
        PRIMARY KEY (task, attempt)
    );
    "#,
    // 4: the newest event of a kind (the current run's start) without scanning the log
    r#"
    CREATE INDEX events_by_kind ON events(kind, seq);
    "#,
    // 5: human reviews of verified work before it is merged
    r#"
    CREATE TABLE reviews (
        task         TEXT NOT NULL,
        attempt      INTEGER NOT NULL,
        sha          TEXT NOT NULL,
        base_sha     TEXT NOT NULL,
        state        TEXT NOT NULL,
        decided_by   TEXT,
        note         TEXT,
        requested_at INTEGER NOT NULL,
        decided_at   INTEGER,
        applied      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (task, attempt)
    );
    CREATE INDEX reviews_by_state ON reviews(state, applied);
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = STEPS.len() as u32;

pub(crate) fn current_version(conn: &Connection) -> Result<u32, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Brings the database up to [`SCHEMA_VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in STEPS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let step = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process may have migrated while we waited for the write lock.
            if current_version(&tx)? >= version {
                return Ok(());
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step(conn).map_err(|source| StoreError::Migration {
            version,
            source: source.into(),
        })?;
    }
    Ok(())
}
