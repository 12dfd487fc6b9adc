//! Opening the database, the plan, and task queries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orch_core::{
    Clock, DepGraph, Epic, EpicId, Event, Plan, SystemClock, Task, TaskId, TaskStatus,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::events::insert_event;
use crate::migrate;
use crate::{StoreError, StoredEvent};

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The state database of one repository (`.orch/state.db`).
///
/// Every write runs in one transaction; readers in other processes see either the state
/// before or after it (SQLite WAL mode), never half of it.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What [`Store::import_plan`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImportOutcome {
    /// The plan was stored; `seq` is its `PlanImported` event.
    Imported {
        /// Sequence number of the event.
        seq: u64,
    },
    /// The same plan was already stored; nothing was written.
    Unchanged,
    /// The plan replaced a different one that had not started.
    Replaced {
        /// Sequence number of the event.
        seq: u64,
        /// Name of the plan it replaced.
        previous: String,
    },
}

/// Facts about the stored plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanInfo {
    /// Plan name.
    pub name: String,
    /// [`Plan::content_fingerprint`].
    pub fingerprint: String,
    /// Strategy text, if the plan has one.
    pub strategy: Option<String>,
    /// When it was imported.
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
    /// Number of epics.
    pub epics: usize,
    /// Number of tasks.
    pub tasks: usize,
}

/// A task with what the store knows beyond the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRecord {
    /// The task, with its current status and attempts.
    pub task: Task,
    /// Its wave (1 = no dependencies).
    pub wave: u32,
    /// When its status last changed (or when it was imported).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which tasks [`Store::tasks`] returns; `Default` is all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only these statuses.
    pub statuses: Option<Vec<TaskStatus>>,
    /// Only this epic.
    pub epic: Option<EpicId>,
    /// Only this wave.
    pub wave: Option<u32>,
}

/// Counts for a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Number of tasks.
    pub total: usize,
    /// Number of epics.
    pub epics: usize,
    /// Tasks per status; every status is present.
    pub by_status: BTreeMap<TaskStatus, usize>,
    /// The lowest wave that still holds an unfinished task; `None` when all are finished.
    pub current_wave: Option<u32>,
    /// Number of waves.
    pub wave_count: u32,
    /// US dollars the agents of every attempt reported spending.
    pub spent_usd: f64,
}

pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> StoreError {
    move |e| StoreError::Corrupt {
        what,
        message: e.to_string(),
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Like [`Store::open`], with a chosen clock (tests use a manual one).
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        })?;
        Store::configure(conn, path, clock)
    }

    /// Opens an existing database for reading and writing; never creates one. A missing file
    /// is [`StoreError::NotInitialized`].
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotInitialized {
                path: path.to_owned(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        })?;
        Store::configure(conn, path, Arc::new(SystemClock))
    }

    fn configure(
        mut conn: Connection,
        path: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        let open_err = |source: rusqlite::Error| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrate::migrate(&mut conn)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            clock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file (equal to [`crate::SCHEMA_VERSION`] once opened).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(migrate::current_version(&self.conn)?)
    }

    /// Imports `plan` atomically: validated first, then written in one transaction with a
    /// `PlanImported` event. Importing the same plan again changes nothing. A different plan
    /// is refused, unless `replace` is set and the stored plan has not started (no task has
    /// left pending, ready or blocked, and no runner holds a fresh lease).
    pub fn import_plan(&mut self, plan: &Plan, replace: bool) -> Result<ImportOutcome, StoreError> {
        let graph = plan.validate()?;
        self.import_validated(plan, &graph, replace)
    }

    /// What is stored of an imported plan: no run state (a plan file's `running` or
    /// `merging` would strand its task; only `completed`, `skipped` and `cancelled`, which a
    /// person may declare, are kept, and no attempts), and no terminal control sequences in
    /// its text (titles, descriptions and criteria are printed to terminals).
    fn as_imported(plan: &Plan) -> Plan {
        let clean = |text: &str| orch_core::sanitize_terminal(text).into_owned();
        let mut plan = plan.clone();
        plan.name = clean(&plan.name);
        for epic in &mut plan.epics {
            epic.name = clean(&epic.name);
            epic.goal = clean(&epic.goal);
        }
        for task in &mut plan.tasks {
            task.title = clean(&task.title);
            task.description = clean(&task.description);
            task.acceptance = task.acceptance.iter().map(|a| clean(a)).collect();
            task.attempts = 0;
            if !matches!(
                task.status,
                TaskStatus::Completed | TaskStatus::Skipped | TaskStatus::Cancelled
            ) {
                task.status = TaskStatus::Pending;
            }
        }
        plan
    }

    /// [`Store::import_plan`] for a caller that already validated the plan: `graph` must be
    /// `plan.validate()`'s result (it supplies the waves).
    pub fn import_validated(
        &mut self,
        plan: &Plan,
        graph: &DepGraph,
        replace: bool,
    ) -> Result<ImportOutcome, StoreError> {
        let plan = &Store::as_imported(plan);
        let definitions = plan.task_definitions();
        let fingerprint = plan.fingerprint_from(&definitions);
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;

        let existing: Option<(String, String)> = tx
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'plan_name'), value FROM meta WHERE key = 'plan_fingerprint'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let mut previous = None;
        if let Some((name, stored_fingerprint)) = existing {
            if stored_fingerprint == fingerprint {
                return Ok(ImportOutcome::Unchanged);
            }
            let started: usize = tx.query_row(
                "SELECT COUNT(*) FROM tasks WHERE status NOT IN ('pending', 'ready', 'blocked')",
                [],
                |row| row.get(0),
            )?;
            let lease_live = crate::lease::fresh_holder(&tx, now)?.is_some();
            if !replace || started > 0 || lease_live {
                return Err(StoreError::PlanConflict {
                    existing: name,
                    started,
                    replace_requested: replace,
                });
            }
            tx.execute_batch("DELETE FROM tasks; DELETE FROM epics;")?;
            previous = Some(name);
        }

        let stamp = millis(now);
        {
            let mut meta = tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?;
            meta.execute(params!["plan_name", plan.name])?;
            meta.execute(params!["plan_fingerprint", fingerprint])?;
            meta.execute(params![
                "plan_strategy",
                plan.strategy.clone().unwrap_or_default()
            ])?;
            meta.execute(params!["plan_version", plan.version.to_string()])?;
            meta.execute(params!["plan_imported_at", stamp.to_string()])?;

            let mut epic_row =
                tx.prepare_cached("INSERT INTO epics (position, id, json) VALUES (?1, ?2, ?3)")?;
            for (position, epic) in plan.epics.iter().enumerate() {
                let json = serde_json::to_string(epic).map_err(corrupt("epic"))?;
                epic_row.execute(params![position as i64, epic.id.as_str(), json])?;
            }
            let mut task_row = tx.prepare_cached(
                "INSERT INTO tasks (position, id, epic, wave, status, attempts, updated_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for ((position, task), definition) in plan.tasks.iter().enumerate().zip(&definitions) {
                task_row.execute(params![
                    position as i64,
                    task.id.as_str(),
                    task.epic.as_str(),
                    graph.wave(position),
                    task.status.as_str(),
                    task.attempts,
                    stamp,
                    definition
                ])?;
            }
        }
        let event = Event::PlanImported {
            plan: plan.name.clone(),
            fingerprint,
            epics: plan.epics.len(),
            tasks: plan.tasks.len(),
            replaced: previous.is_some(),
        };
        let seq = insert_event(&tx, &event, now)?;
        tx.commit()?;
        Ok(match previous {
            Some(previous) => ImportOutcome::Replaced { seq, previous },
            None => ImportOutcome::Imported { seq },
        })
    }

    /// The stored plan, with current statuses and attempts, in import order.
    pub fn plan(&self) -> Result<Option<Plan>, StoreError> {
        let Some(info) = self.plan_info()? else {
            return Ok(None);
        };
        let version: u32 = self
            .meta("plan_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(orch_core::PLAN_FORMAT_VERSION);
        let epics = self.epics()?;
        let tasks = self
            .tasks(&TaskFilter::default())?
            .into_iter()
            .map(|record| record.task)
            .collect();
        Ok(Some(Plan {
            version,
            name: info.name,
            strategy: info.strategy,
            epics,
            tasks,
        }))
    }

    /// The stored plan's epics, in import order (empty without a plan).
    pub fn epics(&self) -> Result<Vec<Epic>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT json FROM epics ORDER BY position")?;
        stmt.query_map([], |row| row.get::<_, String>(0))?
            .map(|json| {
                let json = json?;
                serde_json::from_str::<Epic>(&json).map_err(corrupt("epic"))
            })
            .collect()
    }

    /// A value of the key-value table (plan facts, and state other crates keep here such as
    /// the escalator's).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?)
    }

    /// Name, fingerprint and counts of the stored plan; `None` before the first import.
    pub fn plan_info(&self) -> Result<Option<PlanInfo>, StoreError> {
        let Some(name) = self.meta("plan_name")? else {
            return Ok(None);
        };
        let fingerprint = self.meta("plan_fingerprint")?.unwrap_or_default();
        let strategy = self.meta("plan_strategy")?.filter(|s| !s.is_empty());
        let imported_at = from_millis(
            self.meta("plan_imported_at")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        );
        let (epics, tasks): (usize, usize) = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM epics), (SELECT COUNT(*) FROM tasks)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(Some(PlanInfo {
            name,
            fingerprint,
            strategy,
            imported_at,
            epics,
            tasks,
        }))
    }

    /// One task.
    pub fn task(&self, id: &TaskId) -> Result<TaskRecord, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT json, status, attempts, wave, updated_at FROM tasks WHERE id = ?1",
        )?;
        let row = stmt
            .query_row([id.as_str()], raw_task)
            .optional()?
            .ok_or_else(|| StoreError::UnknownTask { id: id.clone() })?;
        decode_task(row)
    }

    /// Tasks matching `filter`, in plan order.
    pub fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRecord>, StoreError> {
        let mut sql =
            String::from("SELECT json, status, attempts, wave, updated_at FROM tasks WHERE 1 = 1");
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(statuses) = &filter.statuses {
            let marks = vec!["?"; statuses.len()].join(", ");
            sql.push_str(&format!(" AND status IN ({marks})"));
            values.extend(statuses.iter().map(|s| s.as_str().to_owned().into()));
            if statuses.is_empty() {
                return Ok(Vec::new());
            }
        }
        if let Some(epic) = &filter.epic {
            sql.push_str(" AND epic = ?");
            values.push(epic.as_str().to_owned().into());
        }
        if let Some(wave) = filter.wave {
            sql.push_str(" AND wave = ?");
            values.push(i64::from(wave).into());
        }
        sql.push_str(" ORDER BY position");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), raw_task)?;
        rows.map(|row| decode_task(row?)).collect()
    }

    /// Counts per status, the current wave and the number of waves.
    pub fn summary(&self) -> Result<Summary, StoreError> {
        let mut by_status: BTreeMap<TaskStatus, usize> =
            TaskStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        let mut total = 0;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM tasks GROUP BY status")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, usize>(1)?))
        })?;
        for row in rows {
            let (status, n) = row?;
            let status: TaskStatus =
                status
                    .parse()
                    .map_err(|e: orch_core::UnknownStatus| StoreError::Corrupt {
                        what: "task status",
                        message: e.to_string(),
                    })?;
            by_status.insert(status, n);
            total += n;
        }
        let (current_wave, wave_count, epics): (Option<u32>, Option<u32>, usize) = self.conn.query_row(
            "SELECT
                (SELECT MIN(wave) FROM tasks WHERE status NOT IN ('completed', 'skipped', 'cancelled')),
                (SELECT MAX(wave) FROM tasks),
                (SELECT COUNT(*) FROM epics)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        let spent_usd: Option<f64> = self.conn.query_row(
            "SELECT SUM(json_extract(json, '$.cost_usd')) FROM attempts",
            [],
            |row| row.get(0),
        )?;
        Ok(Summary {
            total,
            epics,
            by_status,
            current_wave,
            wave_count: wave_count.unwrap_or(0),
            spent_usd: spent_usd.unwrap_or(0.0),
        })
    }
}

type RawTask = (String, String, u32, u32, i64);

fn raw_task(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawTask> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn decode_task(
    (json, status, attempts, wave, updated_at): RawTask,
) -> Result<TaskRecord, StoreError> {
    let mut task: Task = serde_json::from_str(&json).map_err(corrupt("task"))?;
    task.status = status
        .parse()
        .map_err(|e: orch_core::UnknownStatus| StoreError::Corrupt {
            what: "task status",
            message: e.to_string(),
        })?;
    task.attempts = attempts;
    Ok(TaskRecord {
        task,
        wave,
        updated_at: from_millis(updated_at),
    })
}

impl Store {
    /// Changes a task's status through the core state machine, in one transaction with its
    /// `TaskStatusChanged` event. Moving to `Running` counts an attempt. An illegal move
    /// writes nothing.
    pub fn transition(
        &mut self,
        id: &TaskId,
        to: TaskStatus,
        reason: Option<&str>,
    ) -> Result<StoredEvent, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = transition_in(&tx, id, to, reason, now)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Puts a task's status back to `to` whatever it is now, outside the state machine,
    /// with its event. Only for undoing a write that did not go through
    /// [`Store::transition`] (the runner finds its running task changed behind its back);
    /// returns the status that was there.
    pub fn restore_status(
        &mut self,
        id: &TaskId,
        to: TaskStatus,
        reason: &str,
    ) -> Result<TaskStatus, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: String = tx
            .prepare_cached("SELECT status FROM tasks WHERE id = ?1")?
            .query_row([id.as_str()], |row| row.get(0))
            .optional()?
            .ok_or_else(|| StoreError::UnknownTask { id: id.clone() })?;
        let from: TaskStatus = from.parse().unwrap_or(TaskStatus::Failed);
        tx.prepare_cached("UPDATE tasks SET status = ?1, updated_at = ?2 WHERE id = ?3")?
            .execute(params![to.as_str(), millis(now), id.as_str()])?;
        insert_event(
            &tx,
            &Event::TaskStatusChanged {
                task: id.clone(),
                from,
                to,
                reason: Some(reason.to_owned()),
            },
            now,
        )?;
        tx.commit()?;
        Ok(from)
    }

    /// Several [`Store::transition`]s in one transaction: all of them or none (an illegal
    /// move leaves every status as it was). Returns the events written, in order.
    pub fn transition_all(
        &mut self,
        moves: &[(TaskId, TaskStatus, &str)],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut events = Vec::with_capacity(moves.len());
        for (id, to, reason) in moves {
            events.push(transition_in(&tx, id, *to, Some(reason), now)?);
        }
        tx.commit()?;
        Ok(events)
    }

    /// Moves `Pending` tasks whose dependencies are all `Completed` to `Ready`, and `Pending`
    /// tasks with a dependency that can never complete to `Blocked`, in one transaction.
    /// Returns how many moved.
    pub fn refresh_readiness(&mut self) -> Result<usize, StoreError> {
        let plan = self.plan()?.ok_or(StoreError::NoPlan)?;
        let graph = plan.validate()?;
        let statuses: Vec<TaskStatus> = plan.tasks.iter().map(|t| t.status).collect();
        let ready = orch_core::newly_ready(&graph, &statuses);
        let blocked = orch_core::newly_blocked(&graph, &statuses);
        if ready.is_empty() && blocked.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for &i in &ready {
            transition_in(
                &tx,
                graph.id(i),
                TaskStatus::Ready,
                Some("dependencies completed"),
                now,
            )?;
        }
        for &i in &blocked {
            transition_in(
                &tx,
                graph.id(i),
                TaskStatus::Blocked,
                Some("a dependency was skipped or cancelled"),
                now,
            )?;
        }
        tx.commit()?;
        Ok(ready.len() + blocked.len())
    }
}

/// The status move of [`Store::transition`] inside the caller's transaction.
pub(crate) fn transition_in(
    tx: &rusqlite::Transaction<'_>,
    id: &TaskId,
    to: TaskStatus,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<StoredEvent, StoreError> {
    let from: String = tx
        .prepare_cached("SELECT status FROM tasks WHERE id = ?1")?
        .query_row([id.as_str()], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::UnknownTask { id: id.clone() })?;
    let from: TaskStatus =
        from.parse()
            .map_err(|e: orch_core::UnknownStatus| StoreError::Corrupt {
                what: "task status",
                message: e.to_string(),
            })?;
    orch_core::transition(from, to).map_err(|source| StoreError::IllegalTransition {
        task: id.clone(),
        source,
    })?;
    tx.prepare_cached(
        "UPDATE tasks SET status = ?1, updated_at = ?2,
             attempts = attempts + (CASE WHEN ?1 = 'running' THEN 1 ELSE 0 END)
         WHERE id = ?3",
    )?
    .execute(params![to.as_str(), millis(now), id.as_str()])?;
    let event = Event::TaskStatusChanged {
        task: id.clone(),
        from,
        to,
        reason: reason.map(str::to_owned),
    };
    let seq = insert_event(tx, &event, now)?;
    Ok(StoredEvent {
        seq,
        at: now,
        event,
    })
}
