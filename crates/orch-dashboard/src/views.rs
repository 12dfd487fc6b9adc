//! The JSON documents the API serves, read from the store. Plain functions of a [`Store`]:
//! the handlers run them on a blocking thread.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use orch_core::{Epic, Event, TaskId, TaskStatus};
use orch_escalation::{PmMessage, StoredPmMessage, decode_stored};
use orch_store::{AttemptRecord, Store, StoreError, TaskFilter, TaskRecord};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::ApiError;

/// `GET /api/state`: the header figures.
#[derive(Debug, Serialize)]
pub struct StateView {
    /// The plan, if one is imported.
    pub plan: Option<PlanView>,
    /// The lowest wave with unfinished tasks (1-based); `None` when all are done.
    pub wave: Option<u32>,
    /// Number of waves.
    pub wave_count: u32,
    /// Tasks in total.
    pub total: usize,
    /// Completed tasks.
    pub completed: usize,
    /// Tasks not started yet (pending or ready).
    pub pending: usize,
    /// Tasks being worked on (running, verifying, merging).
    pub active: usize,
    /// Failed, escalated or blocked tasks.
    pub stuck: usize,
    /// Count per status name.
    pub by_status: BTreeMap<&'static str, usize>,
    /// Attempts whose session has not ended.
    pub active_sessions: usize,
    /// PM messages waiting for an answer.
    pub open_messages: usize,
    /// The latest run.
    pub run: Option<RunView>,
    /// Total agent cost reported by the agents, in US dollars; `None` when none reported it.
    pub cost_usd: Option<f64>,
    /// The plan's spending limit (`[budget] run_usd`, or as raised), if any.
    pub budget_usd: Option<f64>,
    /// Verified tasks waiting for a human review.
    pub awaiting_review: usize,
    /// The newest event's sequence number: subscribe to `/ws?after=` this.
    pub last_seq: u64,
}

/// The imported plan.
#[derive(Debug, Serialize)]
pub struct PlanView {
    /// Its name.
    pub name: String,
    /// Epics.
    pub epics: usize,
    /// Tasks.
    pub tasks: usize,
    /// When it was imported.
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
}

/// The latest `orch run`.
#[derive(Debug, Serialize)]
pub struct RunView {
    /// Run id.
    pub id: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How it ended, while `None` it is still going (or died without saying).
    pub outcome: Option<String>,
    /// Milliseconds from start to end, or to now while it goes.
    pub elapsed_ms: u64,
    /// Agent adapter.
    pub agent: String,
    /// Sessions at once.
    pub parallel: u32,
}

/// One task in `GET /api/tasks`.
#[derive(Debug, Serialize)]
pub struct TaskRow {
    /// Id.
    pub id: TaskId,
    /// Title.
    pub title: String,
    /// Epic id.
    pub epic: String,
    /// Status name.
    pub status: TaskStatus,
    /// Wave (1-based).
    pub wave: u32,
    /// Attempts so far.
    pub attempts: u32,
    /// Quality score of the latest gated attempt, in [0, 1].
    pub quality: Option<f64>,
    /// Tasks it waits for.
    pub depends_on: Vec<TaskId>,
    /// Last status change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An epic and its tasks, in plan order.
#[derive(Debug, Serialize)]
pub struct EpicView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tasks.
    pub tasks: Vec<TaskRow>,
}

/// `GET /api/tasks/{id}`.
#[derive(Debug, Serialize)]
pub struct TaskDetail {
    /// The task as the list shows it.
    #[serde(flatten)]
    pub row: TaskRow,
    /// What it is about.
    pub description: String,
    /// Acceptance criteria.
    pub acceptance: Vec<String>,
    /// Files it is expected to touch.
    pub files: Vec<String>,
    /// Every attempt, oldest first.
    pub attempts_detail: Vec<AttemptView>,
    /// The command that attaches a terminal to its running session, if any.
    pub attach: Option<String>,
    /// PM messages about it.
    pub messages: Vec<String>,
}

/// One attempt at a task.
#[derive(Debug, Serialize)]
pub struct AttemptView {
    /// Attempt number.
    pub attempt: u32,
    /// Agent adapter.
    pub agent: String,
    /// Session name.
    pub session: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// `passed`, `gate_failed`, … while `None` it runs.
    pub result: Option<String>,
    /// One line on how it went.
    pub summary: Option<String>,
    /// Quality score.
    pub quality: Option<f64>,
    /// Score per dimension that ran (`tests` → 0.8).
    pub breakdown: BTreeMap<String, f64>,
    /// Dimensions left out, with the reason.
    pub skipped: BTreeMap<String, String>,
    /// Whether the gate passed.
    pub gate_passed: Option<bool>,
    /// Why the gate failed.
    pub gate_failures: Vec<String>,
    /// Agent cost in US dollars.
    pub cost_usd: Option<f64>,
    /// Agent wall time.
    pub agent_ms: Option<u64>,
    /// Files the attempt changed.
    pub changed_files: Vec<String>,
}

/// Statuses counted as work in progress.
fn is_active(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Running | TaskStatus::Verifying | TaskStatus::Merging
    )
}

pub(crate) fn state(store: &Store, now: OffsetDateTime) -> Result<StateView, StoreError> {
    let summary = store.summary()?;
    let count = |s: TaskStatus| summary.by_status.get(&s).copied().unwrap_or(0);
    let by_status = summary
        .by_status
        .iter()
        .map(|(s, n)| (s.as_str(), *n))
        .collect();
    let active: usize = TaskStatus::ALL
        .into_iter()
        .filter(|s| is_active(*s))
        .map(count)
        .sum();
    let attempts = store.attempts(None)?;
    let costs: Vec<f64> = attempts.iter().filter_map(|a| a.cost_usd).collect();
    let open_messages = decode_messages(store)?
        .iter()
        .filter(|m| m.is_pending())
        .count();
    Ok(StateView {
        plan: store.plan_info()?.map(|p| PlanView {
            name: p.name,
            epics: p.epics,
            tasks: p.tasks,
            imported_at: p.imported_at,
        }),
        wave: summary.current_wave,
        wave_count: summary.wave_count,
        total: summary.total,
        completed: count(TaskStatus::Completed),
        pending: count(TaskStatus::Pending) + count(TaskStatus::Ready),
        active,
        stuck: count(TaskStatus::Failed)
            + count(TaskStatus::Escalated)
            + count(TaskStatus::Blocked),
        by_status,
        active_sessions: attempts.iter().filter(|a| a.ended_at.is_none()).count(),
        open_messages,
        run: run(store, now)?,
        cost_usd: (!costs.is_empty()).then(|| costs.iter().sum()),
        budget_usd: None,
        awaiting_review: count(TaskStatus::AwaitingReview),
        last_seq: store.last_event_seq()?,
    })
}

fn run(store: &Store, now: OffsetDateTime) -> Result<Option<RunView>, StoreError> {
    let Some(started) = store.latest_event("run_started")? else {
        return Ok(None);
    };
    let Event::RunStarted {
        run,
        parallel,
        agent,
        ..
    } = started.event
    else {
        return Ok(None);
    };
    let finished = store
        .latest_event("run_finished")?
        .filter(|f| f.seq > started.seq);
    let (outcome, elapsed_ms) = match finished.map(|f| f.event) {
        Some(Event::RunFinished {
            outcome,
            elapsed_ms,
            ..
        }) => (Some(outcome), elapsed_ms),
        _ => (
            None,
            u64::try_from((now - started.at).whole_milliseconds()).unwrap_or(0),
        ),
    };
    Ok(Some(RunView {
        id: run,
        started_at: started.at,
        outcome,
        elapsed_ms,
        agent,
        parallel,
    }))
}

impl TaskRow {
    fn new(record: &TaskRecord, quality: Option<f64>) -> TaskRow {
        let task = &record.task;
        TaskRow {
            id: task.id.clone(),
            title: task.title.clone(),
            epic: task.epic.to_string(),
            status: task.status,
            wave: record.wave,
            attempts: task.attempts,
            quality,
            depends_on: task.depends_on.clone(),
            updated_at: record.updated_at,
        }
    }
}

/// Rows up to which [`QualityCache::for_rows`] reads each task's attempts on its own;
/// above, one pass over every attempt costs less (the store reads a task's attempts by
/// scanning them all).
const PER_TASK_READS: usize = 64;

/// Where the rows' quality scores (the latest gated attempt's) come from.
#[derive(Debug)]
pub(crate) enum Qualities {
    /// Read task by task, for a few rows.
    PerTask,
    /// Read for every task at once, for many: the latest score of each attempted task.
    Known(HashMap<TaskId, f64>),
}

/// The scores of every attempted task, kept between requests while the event log stays
/// where it was when they were read: reading every attempt is the costly part of a long
/// list (time, and memory while they are decoded), and concurrent clients share one copy.
/// A score changes with an `attempt_finished` event, or just before the status change that
/// follows a verification, so a list read from a stale copy is put right by the delta that
/// event brings.
#[derive(Debug, Default)]
pub(crate) struct QualityCache(Mutex<Option<(u64, Arc<Qualities>)>>);

impl QualityCache {
    /// The cheaper way for `rows` rows.
    pub(crate) fn for_rows(
        &self,
        store: &Store,
        rows: usize,
    ) -> Result<Arc<Qualities>, StoreError> {
        if rows <= PER_TASK_READS {
            return Ok(Arc::new(Qualities::PerTask));
        }
        // Read before the attempts: a score written after it comes with a later event.
        let seq = store.last_event_seq()?;
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, known)) = &*cached
            && *at == seq
        {
            return Ok(Arc::clone(known));
        }
        *cached = None; // Not two copies at once.
        let mut known = HashMap::new();
        // Oldest first: a later score replaces an earlier one.
        for attempt in store.attempts(None)? {
            if let Some(quality) = attempt.quality {
                known.insert(attempt.task, quality);
            }
        }
        let known = Arc::new(Qualities::Known(known));
        *cached = Some((seq, Arc::clone(&known)));
        Ok(known)
    }
}

impl Qualities {
    fn of(&self, store: &Store, record: &TaskRecord) -> Result<Option<f64>, StoreError> {
        if record.task.attempts == 0 {
            return Ok(None);
        }
        Ok(match self {
            Qualities::PerTask => latest_quality(&store.attempts(Some(&record.task.id))?),
            Qualities::Known(known) => known.get(&record.task.id).copied(),
        })
    }
}

/// The rows of `records`.
pub(crate) fn rows(
    store: &Store,
    records: &[TaskRecord],
    qualities: &Qualities,
) -> Result<Vec<TaskRow>, StoreError> {
    records
        .iter()
        .map(|record| Ok(TaskRow::new(record, qualities.of(store, record)?)))
        .collect()
}

/// The score of the latest attempt that has one (attempts come oldest first).
fn latest_quality(attempts: &[AttemptRecord]) -> Option<f64> {
    attempts.iter().rev().find_map(|a| a.quality)
}

/// The tasks of one epic, in plan order.
pub(crate) fn epic_tasks(store: &Store, epic: &Epic) -> Result<Vec<TaskRecord>, StoreError> {
    store.tasks(&TaskFilter {
        epic: Some(epic.id.clone()),
        ..TaskFilter::default()
    })
}

/// One epic of `GET /api/tasks` with its tasks in plan order. The plan was validated on
/// import, so every task belongs to a listed epic and reading epic by epic misses none.
pub(crate) fn epic(
    store: &Store,
    epic: Epic,
    qualities: &Qualities,
) -> Result<EpicView, StoreError> {
    let records = epic_tasks(store, &epic)?;
    Ok(EpicView {
        id: epic.id.to_string(),
        name: epic.name,
        tasks: rows(store, &records, qualities)?,
    })
}

pub(crate) fn task(store: &Store, raw_id: &str) -> Result<TaskDetail, ApiError> {
    let id = TaskId::new(raw_id)
        .map_err(|_| ApiError::not_found(format!("no task `{raw_id}` in this plan")))?;
    let record = store.task(&id)?;
    let attempts = store.attempts(Some(&id))?;
    let messages = decode_messages(store)?
        .into_iter()
        .filter(|m| m.task == id)
        .map(|m| m.id.to_string())
        .collect();
    let row = TaskRow::new(&record, latest_quality(&attempts));
    let task = record.task;
    Ok(TaskDetail {
        row,
        description: task.description,
        acceptance: task.acceptance,
        files: task.files,
        attach: None,
        attempts_detail: attempts.into_iter().map(attempt_view).collect(),
        messages,
    })
}

fn attempt_view(a: AttemptRecord) -> AttemptView {
    let report = a.quality_report.as_ref();
    let map_of = |key: &str| -> Option<&serde_json::Map<String, serde_json::Value>> {
        report.and_then(|r| r.get(key)).and_then(|v| v.as_object())
    };
    let breakdown = map_of("breakdown")
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let skipped = map_of("skipped")
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let gate_failures = report
        .and_then(|r| r.get("gate_failures"))
        .and_then(|v| v.as_array())
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    AttemptView {
        attempt: a.attempt,
        agent: a.agent,
        session: a.session_name,
        started_at: a.started_at,
        ended_at: a.ended_at,
        result: a.result,
        summary: a.summary,
        quality: a.quality,
        breakdown,
        skipped,
        gate_passed: report
            .and_then(|r| r.get("passed"))
            .and_then(|v| v.as_bool()),
        gate_failures,
        cost_usd: a.cost_usd,
        agent_ms: a.agent_ms,
        changed_files: a.changed_files,
    }
}

/// Every stored PM message, decoded, with the document each was read from (for the
/// compare-and-set of an answer).
pub(crate) fn stored_messages(store: &Store) -> Result<Vec<StoredPmMessage>, StoreError> {
    store
        .messages()?
        .iter()
        .map(|row| {
            decode_stored(&row.id, &row.json).map_err(|e| StoreError::Corrupt {
                what: "PM message",
                message: e.to_string(),
            })
        })
        .collect()
}

pub(crate) fn decode_messages(store: &Store) -> Result<Vec<PmMessage>, StoreError> {
    Ok(stored_messages(store)?
        .into_iter()
        .map(|m| m.message)
        .collect())
}
