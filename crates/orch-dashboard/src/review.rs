//! Review before merge in the browser: the reviews waiting, one task's verified diff file
//! by file, and approve / reject under the same token rule as answers (every write needs
//! the token; the guard checks it before a handler runs). A decision is the same
//! compare-and-swap as `orch review approve|reject`: two reviewers pressing at once decide
//! once, and the second is told who was first (409).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use orch_core::TaskId;
use orch_store::ReviewVerdict;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::server::Shared;

type Api<T> = Result<Json<T>, ApiError>;

/// Most bytes of diff text one review answer carries.
const MAX_DIFF_BYTES: usize = 4 << 20;

fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    TaskId::new(raw).map_err(|e| ApiError::not_found(format!("no task `{raw}`: {e}")))
}

/// `GET /api/reviews`: every review, newest first, with the task's title.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Api<Value> {
    let reviews = shared
        .with_store(|store| {
            let reviews = store.reviews(false)?;
            let rows: Vec<Value> = reviews
                .into_iter()
                .map(|r| {
                    let title = store
                        .task(&r.task)
                        .map(|t| t.task.title)
                        .unwrap_or_default();
                    let mut row = serde_json::to_value(&r).unwrap_or(Value::Null);
                    row["title"] = Value::String(title);
                    row
                })
                .collect();
            Ok(rows)
        })
        .await?;
    let pending = reviews.iter().filter(|r| r["state"] == "pending").count();
    Ok(Json(json!({ "reviews": reviews, "pending": pending })))
}

/// `GET /api/reviews/{task}`: the latest review of the task and its diff, file by file.
pub(crate) async fn show(State(shared): State<Arc<Shared>>, Path(raw): Path<String>) -> Api<Value> {
    let task = task_id(&raw)?;
    let orch_dir = shared.orch_dir.clone();
    let (review, title, quality) = shared
        .with_store({
            let task = task.clone();
            move |store| {
                let record = store.task(&task)?;
                let review = store
                    .review(&task)?
                    .ok_or_else(|| ApiError::not_found(format!("{task} has no review")))?;
                let quality = store
                    .attempts(Some(&task))?
                    .into_iter()
                    .find(|a| a.attempt == review.attempt)
                    .and_then(|a| a.quality);
                Ok((review, record.task.title, quality))
            }
        })
        .await?;
    let (base, head) = (review.base_sha.clone(), review.sha.clone());
    let diff = tokio::task::spawn_blocking(move || {
        let root = orch_dir
            .parent()
            .ok_or_else(|| ApiError::internal("the .orch directory has no repository"))?
            .to_owned();
        let config = orch_core::Config::load(&orch_dir.join("orch.toml"))
            .map_err(|e| ApiError::internal(format!("orch.toml: {e}")))?;
        // Only commits are compared here, so the naming of branches does not matter (the
        // dashboard does not depend on orch-engine, where orch's naming lives).
        let manager = orch_worktree::WorktreeManager::open(&root, &config.repo)
            .map_err(|e| ApiError::internal(format!("the repository: {e}")))?;
        manager
            .patch_between(&base, &head, MAX_DIFF_BYTES)
            .map_err(|e| ApiError::internal(format!("the diff: {e}")))
    })
    .await
    .map_err(|_| ApiError::internal("reading the diff panicked"))??;
    Ok(Json(json!({
        "review": review,
        "title": title,
        "quality": quality,
        "diff": diff,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// `approve` or `reject`.
    verdict: String,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/reviews/{task}` with `{"verdict": "approve" | "reject", "note": "…"}` (a
/// rejection needs its note: it is what the next attempt is told).
pub(crate) async fn decide(
    State(shared): State<Arc<Shared>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Api<Value> {
    crate::api::require_json(&headers, "the decision")?;
    let task = task_id(&raw)?;
    let body: DecisionBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be {{\"verdict\": \"approve\" | \"reject\", \"note\": \"…\"}}: {e}"
        ))
    })?;
    let verdict = match body.verdict.as_str() {
        "approve" => ReviewVerdict::Approved,
        "reject" => ReviewVerdict::Rejected,
        other => {
            return Err(ApiError::bad_request(format!(
                "verdict `{other}`: expected approve or reject"
            )));
        }
    };
    let note = crate::api::note_of(body.note)?;
    if verdict == ReviewVerdict::Rejected && note.is_none() {
        return Err(ApiError::bad_request(
            "a rejection needs a note: it is what the next attempt is told to change",
        ));
    }
    let review = shared
        .with_store(move |store| {
            Ok(store.decide_review(&task, verdict, "dashboard", note.as_deref())?)
        })
        .await?;
    Ok(Json(json!({ "review": review })))
}
