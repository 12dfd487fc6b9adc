//! The REST handlers and the WebSocket upgrade. Every response is JSON; every refusal is an
//! [`ApiError`] with the status code that says why.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use orch_core::{SystemClock, TaskId};
use orch_escalation::{PmMessage, answer_stored_by, find_message};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::feed;
use crate::server::Shared;
use crate::transcript;
use crate::views;

type Api<T> = Result<Json<T>, ApiError>;

fn now() -> time::OffsetDateTime {
    orch_core::Clock::now(&SystemClock)
}

/// `?a=1&b=2` as a map; `+` and `%XX` decoded.
pub(crate) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A numeric query parameter: absent gives `default`, junk is a 400.
pub(crate) fn number(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
) -> Result<u64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad_request(format!("`{name}` must be a whole number, not `{v}`"))
        }),
    }
}

fn flag(query: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match query.get(name).map(String::as_str) {
        None | Some("false" | "0") => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some(v) => Err(ApiError::bad_request(format!(
            "`{name}` must be true or false, not `{v}`"
        ))),
    }
}

pub(crate) async fn state(State(shared): State<Arc<Shared>>) -> Api<views::StateView> {
    // The run's spending limit: `[budget] run_usd`, or what a human raised it to.
    let configured = orch_core::Config::load(&shared.orch_dir.join("orch.toml"))
        .ok()
        .and_then(|c| c.budget.run_usd);
    let view = shared
        .with_store(move |s| {
            let mut view = views::state(s, now())?;
            view.budget_usd = s.run_budget(configured)?;
            Ok(view)
        })
        .await?;
    Ok(Json(view))
}

pub(crate) async fn task(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Api<views::TaskDetail> {
    let mut detail = shared.with_store(move |s| views::task(s, &id)).await?;
    // The attach command of the session still running, if any.
    if let Some(running) = detail
        .attempts_detail
        .iter()
        .rev()
        .find(|a| a.ended_at.is_none())
    {
        detail.attach = match shared.sessions.attach_command(&running.session).await {
            Ok(Some(argv)) => Some(shell_join(&argv)),
            _ => None,
        };
    }
    Ok(Json(detail))
}

fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lines of a log the page may ask for at most.
const MAX_TAIL_LINES: u64 = 2000;
/// Bytes read from the end of a log: a log may be huge, the tail is not.
const MAX_TAIL_BYTES: u64 = 256 * 1024;

#[derive(Debug, Serialize)]
pub(crate) struct LogTail {
    task: TaskId,
    attempt: u32,
    running: bool,
    /// Whether earlier lines exist that are not shown.
    truncated: bool,
    lines: Vec<String>,
}

pub(crate) async fn task_log(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Api<LogTail> {
    let query = query_map(query.as_deref());
    let tail = number(&query, "tail", 200)?.clamp(1, MAX_TAIL_LINES) as usize;
    let wanted = query
        .get("attempt")
        .map(|a| {
            a.parse::<u32>().map_err(|_| {
                ApiError::bad_request(format!("`attempt` must be a number, not `{a}`"))
            })
        })
        .transpose()?;
    let (task, record) = shared
        .with_store(move |s| {
            let task = TaskId::new(&id)
                .map_err(|_| ApiError::not_found(format!("no task `{id}` in this plan")))?;
            s.task(&task)?;
            let attempts = s.attempts(Some(&task))?;
            let record = match wanted {
                Some(n) => attempts
                    .into_iter()
                    .find(|a| a.attempt == n)
                    .ok_or_else(|| {
                        ApiError::not_found(format!("task {task} has no attempt {n}"))
                    })?,
                None => attempts.into_iter().last().ok_or_else(|| {
                    ApiError::not_found(format!("task {task} has not been attempted yet"))
                })?,
            };
            Ok((task, record))
        })
        .await?;
    let raw = flag(&query, "raw")?;
    let path = std::path::PathBuf::from(&record.log_path);
    let agent = record.agent.clone();
    let reader = Arc::clone(&shared);
    let (lines, truncated) = tokio::task::spawn_blocking(move || {
        let (window, cut) = read_window(&path, &reader.redactor);
        let lines = if raw {
            window
        } else {
            let parser = transcript::parser_for(&agent);
            window
                .iter()
                .flat_map(|line| transcript::readable(&*parser, line))
                .collect()
        };
        last_lines(lines, tail, cut)
    })
    .await
    .map_err(|_| ApiError::internal("reading the log panicked"))?;
    Ok(Json(LogTail {
        task,
        attempt: record.attempt,
        running: record.ended_at.is_none(),
        truncated,
        lines,
    }))
}

/// The last `keep` of `lines`, and whether anything before them is not shown.
fn last_lines(mut lines: Vec<String>, keep: usize, cut: bool) -> (Vec<String>, bool) {
    let from = lines.len().saturating_sub(keep);
    (lines.split_off(from), cut || from > 0)
}

/// The lines in the last [`MAX_TAIL_BYTES`] of a file, escape sequences removed, and
/// whether the file goes on before them. A missing log is empty (the session may not have
/// written yet).
/// The last part of a log as lines, secrets redacted over the whole text first (a private
/// key's body spans lines; each line alone would not show it is one).
fn read_window(path: &std::path::Path, redactor: &crate::redact::Redactor) -> (Vec<String>, bool) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return (Vec::new(), false);
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(MAX_TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return (Vec::new(), false);
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = redactor.redact_text(&text);
    let mut all: Vec<&str> = text.lines().collect();
    if start > 0 && !all.is_empty() {
        all.remove(0); // Cut mid-line.
    }
    (all.iter().map(|l| strip_ansi(l)).collect(), start > 0)
}

/// Removes terminal escape sequences (colours, cursor moves) from a log line.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            if !c.is_control() || c == '\t' {
                out.push(c);
            }
            continue;
        }
        match chars.next() {
            Some('[') => {
                // CSI: parameters, then one final byte in @..~
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                // OSC: up to BEL or ESC \
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub(crate) async fn sessions(State(shared): State<Arc<Shared>>) -> Api<Value> {
    let list = shared.sessions.list().await.map_err(|e| {
        tracing::warn!(error = %e, "dashboard cannot list sessions");
        ApiError::internal("the sessions could not be listed")
    })?;
    Ok(Json(json!({ "sessions": list })))
}

pub(crate) async fn messages(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Api<Value> {
    let pending_only = flag(&query_map(query.as_deref()), "pending")?;
    let mut list = shared
        .with_store(|s| Ok(views::decode_messages(s)?))
        .await?;
    if pending_only {
        list.retain(PmMessage::is_pending);
    }
    // Newest first: the open question a person came for is at the top.
    list.reverse();
    Ok(Json(json!({ "messages": list })))
}

pub(crate) async fn message(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Api<PmMessage> {
    let found = shared
        .with_store(move |s| {
            let list = views::decode_messages(s)?;
            Ok(find_message(&list, &id)?.clone())
        })
        .await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    option: String,
    #[serde(default)]
    note: Option<String>,
}

/// Longest note kept with an answer.
pub(crate) const MAX_NOTE_CHARS: usize = 4000;

/// A note from a request: trimmed, empty as none, at most [`MAX_NOTE_CHARS`].
pub(crate) fn note_of(note: Option<String>) -> Result<Option<String>, ApiError> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(ApiError::bad_request(format!(
            "the note is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(note)
}

/// 415 unless the body is declared `application/json` (a form post from another site
/// cannot be).
pub(crate) fn require_json(headers: &HeaderMap, what: &str) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send {what} as application/json"),
        ))
    }
}

/// `POST /api/messages/{id}/answer` with `{"option": "B", "note": "…"}`: records the decision
/// exactly as `orch msg answer` does (same lifecycle step, same compare-and-set write, same
/// event), for the runner to apply.
pub(crate) async fn answer(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Api<Value> {
    require_json(&headers, "the answer")?;
    let body: AnswerBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be {{\"option\": \"A\", \"note\": \"…\"}}: {e}"
        ))
    })?;
    let note = note_of(body.note)?;
    let answered = shared
        .with_store(move |store| {
            let loaded = views::stored_messages(store)?;
            let answer = answer_stored_by(
                &loaded,
                &id,
                &body.option,
                note.as_deref(),
                Some("dashboard"),
                now(),
            )?;
            let message = &answer.answered.message;
            store.update_message_if(
                message.id.as_str(),
                &answer.expected,
                &message.task,
                message.state.name(),
                &answer.document,
            )?;
            Ok(answer.answered)
        })
        .await?;
    Ok(Json(json!({
        "message": answered.message,
        "action": answered.action.to_string(),
    })))
}

/// Events at most per `GET /api/events` page.
const MAX_EVENTS_PAGE: u64 = 1000;

pub(crate) async fn events(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Api<Value> {
    let query = query_map(query.as_deref());
    let after = number(&query, "after", 0)?;
    let limit = number(&query, "limit", 100)?.clamp(1, MAX_EVENTS_PAGE) as usize;
    let (events, last_seq) = shared
        .with_store(move |s| Ok((s.events_since(after, limit)?, s.last_event_seq()?)))
        .await?;
    Ok(Json(json!({ "events": events, "last_seq": last_seq })))
}

/// `GET /ws?after=SEQ`: every event after `SEQ` (default: only new ones), one JSON text
/// frame each, in order, then live.
pub(crate) async fn websocket(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let query = query_map(query.as_deref());
    let after = match query.get("after") {
        Some(_) => number(&query, "after", 0)?,
        None => shared.with_store(|s| Ok(s.last_event_seq()?)).await?,
    };
    let permit = Arc::clone(&shared.clients)
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_clients",
                "the dashboard serves as many live clients as it takes; try again later",
            )
        })?;
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            feed::serve_client(shared, socket, after).await;
            drop(permit);
        }))
}

pub(crate) async fn no_such_endpoint(Path(rest): Path<String>) -> ApiError {
    ApiError::not_found(format!("no endpoint /api/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        let q = query_map(Some("after=12&note=a+b%21&bad=%zz&tail"));
        assert_eq!(q["after"], "12");
        assert_eq!(q["note"], "a b!");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["tail"], "");
        assert!(number(&q, "after", 0).is_ok());
        assert!(number(&q, "note", 0).is_err());
        assert_eq!(number(&q, "missing", 7).unwrap(), 7);
    }

    #[test]
    fn escape_sequences_are_stripped_from_log_lines() {
        assert_eq!(strip_ansi("\u{1b}[1;32mok\u{1b}[0m done"), "ok done");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}text"), "text");
        assert_eq!(strip_ansi("tab\there\r"), "tab\there");
    }

    #[test]
    fn tails_are_bounded_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let redactor = crate::redact::Redactor::new(Vec::new());
        let (window, cut) = read_window(&path, &redactor);
        assert_eq!(window.len(), 50);
        assert!(!cut);
        let (lines, truncated) = last_lines(window.clone(), 3, cut);
        assert_eq!(lines, ["line 48", "line 49", "line 50"]);
        assert!(truncated);
        let (all, truncated) = last_lines(window, 100, cut);
        assert_eq!(all.len(), 50);
        assert!(!truncated);
        assert_eq!(
            read_window(&dir.path().join("none"), &redactor),
            (vec![], false)
        );
        // A log bigger than the window starts at a whole line and says it was cut.
        let big: String = (0..40_000).map(|i| format!("row {i}\n")).collect();
        std::fs::write(&path, big).unwrap();
        let (window, cut) = read_window(&path, &redactor);
        assert!(cut);
        assert!(window[0].starts_with("row "));
        assert_eq!(window.last().unwrap(), "row 39999");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        let argv = ["tmux", "-L", "orch", "attach", "-t", "it's"].map(String::from);
        assert_eq!(shell_join(&argv), r"tmux -L orch attach -t 'it'\''s'");
    }
}
