//! `GET /api/tasks`: the whole list by epic, a page of it, or what changed since an event.
//!
//! - no parameters: `{"last_seq", "epics": [{"id", "name", "tasks": [row…]}…]}`, streamed
//!   epic by epic (one epic's tasks in memory at a time, however many the plan holds);
//! - `?limit=N[&after=TASK]`: `{"last_seq", "tasks": [row…], "next"}`, the rows of the same
//!   order one after another, `next` the `after` of the following page (`null` at the end);
//! - `?since=SEQ`: `{"last_seq", "reload", "tasks": [row…]}`, the rows of the tasks named by
//!   an event after `SEQ`, streamed. `reload` (with no rows) says a delta cannot bring the
//!   copy up to date (another plan was imported, the log is not the one `SEQ` came from, or
//!   so much happened that the whole list is cheaper): read it whole again.
//!
//! `last_seq` is read before the rows, so a change after it is in the rows and in the next
//! delta too: a client that applies deltas from `last_seq` on sees some changes twice,
//! never none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use orch_core::{Epic, Event, TaskId};
use orch_store::{Store, StoreError, TaskRecord};
use serde::Serialize;

use crate::api::{number, query_map};
use crate::error::ApiError;
use crate::redact::Redactor;
use crate::server::Shared;
use crate::stream::{json_array, redacted, redacted_elements};
use crate::views::{self, Qualities, QualityCache, TaskRow};

/// Rows at most per page.
const MAX_PAGE: u64 = 1000;
/// Rows per page when `after` comes without `limit`.
const DEFAULT_PAGE: u64 = 200;
/// Events a delta reads at most: past this, the whole list costs less.
const MAX_DELTA_EVENTS: u64 = 20_000;
/// Events read from the log per query while collecting a delta.
const EVENTS_PER_READ: usize = 1000;
/// Rows read and sent per chunk of a delta.
const DELTA_CHUNK: usize = 250;

/// What a request asks for.
#[derive(Debug, PartialEq)]
enum Wanted {
    All,
    Page { after: Option<TaskId>, limit: usize },
    Since(u64),
}

fn wanted(query: &HashMap<String, String>) -> Result<Wanted, ApiError> {
    let paged = query.contains_key("limit") || query.contains_key("after");
    if query.contains_key("since") {
        if paged {
            return Err(ApiError::bad_request(
                "`since` cannot be combined with `limit` or `after`: a delta is never paged",
            ));
        }
        return Ok(Wanted::Since(number(query, "since", 0)?));
    }
    if !paged {
        return Ok(Wanted::All);
    }
    let limit = number(query, "limit", DEFAULT_PAGE)?;
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "`limit` must be from 1 to {MAX_PAGE}, not {limit}"
        )));
    }
    let after = query
        .get("after")
        .map(|raw| {
            TaskId::new(raw).map_err(|_| {
                ApiError::bad_request(format!("`after` must be a task id, not `{raw}`"))
            })
        })
        .transpose()?;
    Ok(Wanted::Page {
        after,
        limit: limit as usize,
    })
}

pub(crate) async fn tasks(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    match wanted(&query_map(query.as_deref()))? {
        Wanted::All => Ok(all(shared).await?),
        Wanted::Page { after, limit } => {
            let reader = Arc::clone(&shared);
            let page = shared
                .with_store(move |s| page(s, &reader.qualities, after.as_ref(), limit))
                .await?;
            Ok(Json(page).into_response())
        }
        Wanted::Since(seq) => since(shared, seq).await,
    }
}

async fn all(shared: Arc<Shared>) -> Result<Response, ApiError> {
    let reader = Arc::clone(&shared);
    let (last_seq, epics, qualities) = shared
        .with_store(move |s| {
            let last_seq = s.last_event_seq()?;
            let qualities = reader.qualities.for_rows(s, usize::MAX)?;
            Ok((last_seq, s.epics()?, qualities))
        })
        .await?;
    let head = format!(r#"{{"last_seq":{last_seq},"epics":["#);
    let items = epics
        .into_iter()
        .map(|epic| (epic, Arc::clone(&qualities)))
        .collect();
    Ok(json_array(shared, head, items, render_epic, "]}"))
}

fn render_epic(
    store: &Store,
    redactor: &Redactor,
    (epic, qualities): (Epic, Arc<Qualities>),
) -> Result<Option<Bytes>, ApiError> {
    let view = views::epic(store, epic, &qualities)?;
    Ok(Some(redacted(&view, redactor)?))
}

/// `?limit=N&after=TASK`.
#[derive(Debug, Serialize)]
struct Page {
    last_seq: u64,
    tasks: Vec<TaskRow>,
    next: Option<TaskId>,
}

/// The rows after `after` (from the first without it) in the order of the whole list: epic
/// by epic, each in plan order.
fn page(
    store: &Store,
    qualities: &QualityCache,
    after: Option<&TaskId>,
    limit: usize,
) -> Result<Page, ApiError> {
    let last_seq = store.last_event_seq()?;
    let epics = store.epics()?;
    let mut from_epic = 0;
    if let Some(id) = after {
        let record = store.task(id).map_err(|err| match err {
            StoreError::UnknownTask { .. } => {
                ApiError::bad_request(format!("`after` names no task of this plan: `{id}`"))
            }
            other => other.into(),
        })?;
        from_epic = epics
            .iter()
            .position(|e| e.id == record.task.epic)
            .unwrap_or(epics.len());
    }
    let mut picked: Vec<TaskRecord> = Vec::with_capacity(limit);
    let mut more = false;
    for (i, epic) in epics.iter().enumerate().skip(from_epic) {
        let mut records = views::epic_tasks(store, epic)?;
        if i == from_epic
            && let Some(id) = after
        {
            let past = records
                .iter()
                .position(|r| &r.task.id == id)
                .map_or(0, |p| p + 1);
            records.drain(..past);
        }
        let room = limit - picked.len();
        if records.len() > room {
            records.truncate(room);
            more = true;
        }
        picked.extend(records);
        if picked.len() == limit {
            // A full page is the last only if no later epic has a task.
            for later in &epics[i + 1..] {
                if more {
                    break;
                }
                more = !views::epic_tasks(store, later)?.is_empty();
            }
            break;
        }
    }
    let next = more
        .then(|| picked.last().map(|r| r.task.id.clone()))
        .flatten();
    let qualities = qualities.for_rows(store, picked.len())?;
    Ok(Page {
        last_seq,
        tasks: views::rows(store, &picked, &qualities)?,
        next,
    })
}

/// What the events after a sequence number say about the task list.
#[derive(Debug)]
enum Changes {
    /// A delta cannot say it: read the whole list.
    Reload { last_seq: u64 },
    /// The tasks named by an event, in the order first named, up to `last_seq`.
    Tasks { last_seq: u64, ids: Vec<TaskId> },
}

fn changes(store: &Store, since: u64) -> Result<Changes, StoreError> {
    let newest = store.last_event_seq()?;
    if since > newest || newest - since > MAX_DELTA_EVENTS {
        return Ok(Changes::Reload { last_seq: newest });
    }
    let mut cursor = since;
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    while cursor < newest {
        let events = store.events_since(cursor, EVENTS_PER_READ)?;
        for stored in &events {
            cursor = stored.seq;
            if matches!(stored.event, Event::PlanImported { .. }) {
                return Ok(Changes::Reload {
                    last_seq: store.last_event_seq()?,
                });
            }
            if let Some(task) = stored.event.task()
                && seen.insert(task.clone())
            {
                ids.push(task.clone());
            }
        }
        if events.len() < EVENTS_PER_READ {
            break;
        }
    }
    Ok(Changes::Tasks {
        last_seq: cursor,
        ids,
    })
}

async fn since(shared: Arc<Shared>, seq: u64) -> Result<Response, ApiError> {
    match shared.with_store(move |s| Ok(changes(s, seq)?)).await? {
        Changes::Reload { last_seq } => Ok(Json(serde_json::json!({
            "last_seq": last_seq, "reload": true, "tasks": []
        }))
        .into_response()),
        Changes::Tasks { last_seq, ids } => {
            let count = ids.len();
            let reader = Arc::clone(&shared);
            let qualities = shared
                .with_store(move |s| Ok(reader.qualities.for_rows(s, count)?))
                .await?;
            let head = format!(r#"{{"last_seq":{last_seq},"reload":false,"tasks":["#);
            let chunks = ids
                .chunks(DELTA_CHUNK)
                .map(|ids| (ids.to_vec(), Arc::clone(&qualities)))
                .collect();
            Ok(json_array(shared, head, chunks, render_rows, "]}"))
        }
    }
}

fn render_rows(
    store: &Store,
    redactor: &Redactor,
    (ids, qualities): (Vec<TaskId>, Arc<Qualities>),
) -> Result<Option<Bytes>, ApiError> {
    let mut records = Vec::with_capacity(ids.len());
    for id in &ids {
        match store.task(id) {
            Ok(record) => records.push(record),
            // Gone with a plan imported since the events were read: the next delta says
            // reload.
            Err(StoreError::UnknownTask { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    redacted_elements(&views::rows(store, &records, &qualities)?, redactor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Wanted, String> {
        wanted(&query_map(Some(raw))).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn the_query_says_whole_page_or_delta() {
        assert_eq!(parse("").unwrap(), Wanted::All);
        assert_eq!(parse("since=7").unwrap(), Wanted::Since(7));
        assert_eq!(
            parse("limit=10").unwrap(),
            Wanted::Page {
                after: None,
                limit: 10
            }
        );
        assert_eq!(
            parse("after=TASK-A-001").unwrap(),
            Wanted::Page {
                after: Some(TaskId::new("TASK-A-001").unwrap()),
                limit: DEFAULT_PAGE as usize
            }
        );
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=ten",
            "since=-1",
            "since=3&limit=5",
            "since=3&after=TASK-A-001",
            "after=no%20such",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
