//! The task list at scale: gzip when the client accepts it, pages that cover every task
//! once, deltas of only what changed, and the same redaction for the streamed list.

use std::io::Read;
use std::time::Duration;

use futures_util::StreamExt;
use orch_core::{Plan, PlanFormat, TaskStatus};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{PLAN, Repo, Server, client, id};

/// A repository whose store holds `plan`, readiness refreshed.
fn repo_with(plan: &Plan) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".orch/logs")).unwrap();
    let repo = Repo { dir };
    let mut store = repo.store();
    store.import_plan(plan, false).unwrap();
    store.refresh_readiness().unwrap();
    repo
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The ids of the whole list, epic by epic, in order.
fn ids_of(all: &Value) -> Vec<String> {
    all["epics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["tasks"].as_array().unwrap())
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_when_the_client_accepts_it_and_only_then() {
    let repo = repo_with(&orch_testutils::large_plan(300, 7));
    let server = Server::start(&repo).await;
    for path in [
        "/api/tasks",
        "/api/tasks?limit=50",
        "/api/state",
        "/",
        "/app.js",
    ] {
        let plain = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(plain.status().as_u16(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain = plain.bytes().await.unwrap();
        let zipped = client()
            .get(server.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(zipped.headers()["vary"], "accept-encoding", "{path}");
        let zipped = zipped.bytes().await.unwrap();
        assert!(zipped.len() < plain.len(), "{path}: gzip is smaller");
        assert_eq!(gunzip(&zipped), plain, "{path}: the same answer");
    }
    // Only what it takes: not an encoding the client refuses or did not name.
    for accept in ["gzip;q=0", "br", "identity"] {
        let response = client()
            .get(server.url("/api/tasks"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("content-encoding").is_none(),
            "{accept}"
        );
        let all: Value = response.json().await.unwrap();
        assert_eq!(ids_of(&all).len(), 300, "{accept}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_is_never_compressed() {
    // A browser asks every request, the WebSocket upgrade too, for gzip.
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let mut request = server.ws_url("?after=0").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("accept-encoding", "gzip, deflate, br".parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    assert!(response.headers().get("content-encoding").is_none());
    let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Text(text) = frame else {
        panic!("{frame:?}")
    };
    let event: Value = serde_json::from_str(text.as_str()).unwrap();
    assert_eq!(event["seq"], 1, "{event}");
}

/// Every id once, in the order of the whole list, following `next` with `limit`.
async fn paged_ids(server: &Server, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut query = format!("/api/tasks?limit={limit}");
    loop {
        let (status, page) = get(server, &query).await;
        assert_eq!(status, 200, "{page}");
        let rows = page["tasks"].as_array().unwrap();
        assert!(rows.len() <= limit);
        ids.extend(rows.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(rows.len(), limit, "only a full page has a next");
                query = format!("/api/tasks?limit={limit}&after={next}");
            }
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cover_every_task_exactly_once() {
    // 10 epics of 25: page sizes that end mid-epic, on an epic's end, and past the list.
    let repo = repo_with(&orch_testutils::large_plan(250, 7));
    let server = Server::start(&repo).await;
    let (_, all) = get(&server, "/api/tasks").await;
    let whole = ids_of(&all);
    assert_eq!(whole.len(), 250);
    for limit in [1, 7, 25, 249, 250, 1000] {
        assert_eq!(paged_ids(&server, limit).await, whole, "limit {limit}");
    }
    let (_, page) = get(&server, "/api/tasks?limit=2").await;
    assert_eq!(page["last_seq"], all["last_seq"]);
    assert_eq!(
        page["tasks"][0], all["epics"][0]["tasks"][0],
        "the same rows"
    );

    // A last epic without tasks: the page that takes the last task is the last page.
    let with_empty_epic = format!("{PLAN}\n[[epic]]\nid = \"DOCS\"\nname = \"Docs\"\n");
    let repo = repo_with(&Plan::parse(&with_empty_epic, PlanFormat::Toml).unwrap());
    let server = Server::start(&repo).await;
    assert_eq!(
        paged_ids(&server, 1).await,
        ["TASK-API-001", "TASK-API-002", "TASK-UI-001"]
    );
    assert_eq!(paged_ids(&server, 3).await.len(), 3);
    let (_, page) = get(&server, "/api/tasks?limit=3").await;
    assert!(page["next"].is_null(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_holds_only_the_tasks_that_changed() {
    let repo = Repo::new().with_finished_attempt();
    let server = Server::start(&repo).await;
    let (_, all) = get(&server, "/api/tasks").await;
    let seq = all["last_seq"].as_u64().unwrap();
    assert_eq!(seq, repo.store().last_event_seq().unwrap());

    let (status, nothing) = get(&server, &format!("/api/tasks?since={seq}")).await;
    assert_eq!(status, 200);
    assert_eq!(nothing["tasks"], Value::Array(vec![]));
    assert_eq!(nothing["reload"], false);
    assert_eq!(nothing["last_seq"], seq);

    let mut store = repo.store();
    store
        .transition(&id("TASK-API-001"), TaskStatus::Verifying, None)
        .unwrap();
    store
        .append_event(&orch_core::Event::LeaseReleased {
            owner: "not about a task".into(),
        })
        .unwrap();
    let (_, delta) = get(&server, &format!("/api/tasks?since={seq}")).await;
    let rows = delta["tasks"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{delta}");
    assert_eq!(rows[0]["id"], "TASK-API-001");
    assert_eq!(rows[0]["status"], "verifying");
    assert_eq!(
        rows[0]["quality"], 0.9,
        "the whole row, not only the status"
    );
    assert_eq!(delta["last_seq"], store.last_event_seq().unwrap());

    // From where that one ended: nothing again.
    let (_, again) = get(&server, &format!("/api/tasks?since={}", delta["last_seq"])).await;
    assert_eq!(again["tasks"], Value::Array(vec![]));

    // What a delta cannot say: a number from another log, or another plan.
    let (_, ahead) = get(&server, "/api/tasks?since=999999").await;
    assert_eq!(ahead["reload"], true, "{ahead}");
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let mut store = repo.store();
    let seq = store.last_event_seq().unwrap();
    let other = PLAN.replace("Products endpoint", "Catalogue endpoint");
    let plan = Plan::parse(&other, PlanFormat::Toml).unwrap();
    store.import_plan(&plan, true).unwrap();
    let (_, replaced) = get(&server, &format!("/api/tasks?since={seq}")).await;
    assert_eq!(replaced["reload"], true, "{replaced}");
    assert_eq!(replaced["tasks"], Value::Array(vec![]));
    assert_eq!(replaced["last_seq"], store.last_event_seq().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_score_shows_in_the_next_list() {
    // The scores of a long list are read once per change of the log, not per request.
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    let (_, before) = get(&server, "/api/tasks").await;
    assert!(
        before["epics"][0]["tasks"][0]["quality"].is_null(),
        "{before}"
    );
    let repo = repo.with_finished_attempt();
    for path in ["/api/tasks", "/api/tasks?limit=1000"] {
        let (_, after) = get(&server, path).await;
        let first = match after.get("epics") {
            Some(epics) => epics[0]["tasks"][0].clone(),
            None => after["tasks"][0].clone(),
        };
        assert_eq!(first["quality"], 0.9, "{path}: {after}");
    }
    drop(repo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_refused_with_the_reason() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    for (query, says) in [
        ("limit=0", "`limit` must be from 1 to 1000"),
        ("limit=5000", "`limit` must be from 1 to 1000"),
        ("limit=ten", "`limit` must be a whole number"),
        ("after=not%20an%20id", "`after` must be a task id"),
        ("after=TASK-NOPE-001", "`after` names no task of this plan"),
        ("since=yesterday", "`since` must be a whole number"),
        ("since=3&limit=10", "`since` cannot be combined"),
    ] {
        let (status, body) = get(&server, &format!("/api/tasks?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"], "bad_request", "{query}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamed_list_is_redacted_like_every_answer() {
    let key = format!("ghp_{}", "k".repeat(36));
    let plan = PLAN.replace(
        "Orders endpoint",
        &format!("Orders endpoint, pushed with {key}"),
    );
    let repo = repo_with(&Plan::parse(&plan, PlanFormat::Toml).unwrap());
    let server = Server::start(&repo).await;
    let seq = repo.store().last_event_seq().unwrap();
    repo.store()
        .transition(&id("TASK-API-002"), TaskStatus::Skipped, None)
        .unwrap();
    for path in [
        "/api/tasks".to_owned(),
        "/api/tasks?limit=5".to_owned(),
        format!("/api/tasks?since={seq}"),
    ] {
        let body = client()
            .get(server.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!body.contains(&key), "{path}: {body}");
        assert!(body.contains("pushed with [redacted]"), "{path}: {body}");
        assert!(serde_json::from_str::<Value>(&body).is_ok(), "{path}");
    }
}
