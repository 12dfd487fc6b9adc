//! Reviews over HTTP: the diff of a verified commit file by file (redacted like everything
//! else), and decisions under the token rule with the store's compare-and-swap.

use std::process::Command;

use orch_core::TaskStatus;
use serde_json::Value;

use crate::support::{Repo, Server, client, id};

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {:?}", out);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The repository (`.orch`'s parent) with a base commit and a task commit on top, and
/// TASK-API-001 waiting for a review of it.
fn awaiting(repo: &Repo, secret: &str) -> (String, String) {
    let dir = repo.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join(".git/info/exclude"), "/.orch/\n").unwrap();
    std::fs::write(dir.join("app.py"), "def main():\n    return 1\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "base"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    std::fs::write(
        dir.join("app.py"),
        format!("def main():\n    # token {secret}\n    return 2\n"),
    )
    .unwrap();
    std::fs::write(dir.join("notes.md"), "new\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "work"]);
    let head = git(dir, &["rev-parse", "HEAD"]);
    let mut store = repo.store();
    let task = id("TASK-API-001");
    for to in [
        TaskStatus::Ready,
        TaskStatus::Running,
        TaskStatus::Verifying,
        TaskStatus::AwaitingReview,
    ] {
        let _ = store.transition(&task, to, None);
    }
    store.request_review(&task, 1, &head, &base).unwrap();
    (base, head)
}

async fn decide(server: &Server, body: &str, token: Option<&str>, json_type: bool) -> (u16, Value) {
    let mut request = client()
        .post(server.url("/api/reviews/TASK-API-001"))
        .header(
            "content-type",
            if json_type {
                "application/json"
            } else {
                "text/plain"
            },
        )
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_shows_its_diff_and_is_decided_once_with_the_token() {
    let repo = Repo::new();
    let secret = format!("sk-ant-api03-{}", "Zq7Xw2Lp".repeat(4));
    let (_, head) = awaiting(&repo, &secret);
    let server = Server::start(&repo).await;

    let listed: Value = client()
        .get(server.url("/api/reviews"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["pending"], 1);
    assert_eq!(listed["reviews"][0]["sha"], head.as_str());

    let response = client()
        .get(server.url("/api/reviews/TASK-API-001"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(&secret),
        "a secret in the diff must be redacted"
    );
    let shown: Value = serde_json::from_str(&text).unwrap();
    let files = shown["diff"]["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["app.py", "notes.md"]);
    assert_eq!(files[0]["status"], "modified");
    assert_eq!(files[1]["status"], "added");
    assert_eq!(shown["diff"]["additions"], 3);
    assert!(
        files[0]["patch"]
            .as_str()
            .unwrap()
            .contains("+    return 2")
    );

    // Writes need the token; bad bodies are refused; nothing changes.
    let before = repo.store().review(&id("TASK-API-001")).unwrap();
    let reject = r#"{"verdict": "reject", "note": "return 3"}"#;
    assert_eq!(decide(&server, reject, None, true).await.0, 401);
    assert_eq!(
        decide(&server, reject, Some("wrong-token-000000"), true)
            .await
            .0,
        401
    );
    let token = Some(server.token.as_str());
    assert_eq!(decide(&server, reject, token, false).await.0, 415);
    assert_eq!(
        decide(&server, r#"{"verdict": "merge"}"#, token, true)
            .await
            .0,
        400
    );
    assert_eq!(
        decide(&server, r#"{"verdict": "reject"}"#, token, true)
            .await
            .0,
        400
    );
    assert_eq!(
        decide(&server, r#"{"verdict": "approve", "x": 1}"#, token, true)
            .await
            .0,
        400
    );
    assert_eq!(repo.store().review(&id("TASK-API-001")).unwrap(), before);

    // Decided once; the second reviewer is told who was first.
    let (status, body) = decide(&server, reject, token, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["review"]["state"], "rejected");
    let (status, body) = decide(&server, r#"{"verdict": "approve"}"#, token, true).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("rejected by dashboard"),
        "{body}"
    );
    let stored = repo.store().review(&id("TASK-API-001")).unwrap().unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.note.as_deref()),
        ("rejected", Some("return 3"))
    );
    // A task with no review at all.
    let missing = client()
        .get(server.url("/api/reviews/TASK-API-002"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
