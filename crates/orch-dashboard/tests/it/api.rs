//! The REST API against a real server on loopback and a real store.

use orch_core::TaskStatus;
use orch_escalation::{MessageState, PmMessage};
use serde_json::{Value, json};

use crate::support::{Repo, Server, client, id};

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_counts_what_the_store_holds() {
    let repo = Repo::new().with_finished_attempt().with_message();
    let server = Server::start(&repo).await;
    let (status, state) = get(&server, "/api/state").await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["plan"]["name"], "shop");
    assert_eq!(state["total"], 3);
    assert_eq!(state["wave"], 1);
    assert_eq!(state["wave_count"], 2);
    assert_eq!(state["active"], 1, "TASK-API-001 is still running: {state}");
    assert_eq!(state["pending"], 2);
    assert_eq!(state["open_messages"], 1);
    assert_eq!(state["active_sessions"], 0);
    assert_eq!(state["cost_usd"], 0.125);
    assert!(state["run"].is_null(), "no run yet: {state}");
    assert_eq!(
        state["last_seq"],
        repo.store().last_event_seq().unwrap(),
        "{state}"
    );
    // The token is nowhere in it.
    assert!(!state.to_string().contains(&server.token));

    // A run appears with its elapsed time, and its outcome when it ends.
    let mut store = repo.store();
    store
        .append_event(&orch_core::Event::RunStarted {
            run: "run-1".into(),
            parallel: 3,
            agent: "claude".into(),
            recovered: 0,
        })
        .unwrap();
    let (_, state) = get(&server, "/api/state").await;
    assert_eq!(state["run"]["id"], "run-1");
    assert!(state["run"]["outcome"].is_null());
    store
        .append_event(&orch_core::Event::RunFinished {
            run: "run-1".into(),
            outcome: "completed".into(),
            elapsed_ms: 61_000,
        })
        .unwrap();
    let (_, state) = get(&server, "/api/state").await;
    assert_eq!(state["run"]["outcome"], "completed");
    assert_eq!(state["run"]["elapsed_ms"], 61_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_by_epic_and_a_task_in_detail() {
    let repo = Repo::new().with_finished_attempt().with_message();
    let server = Server::start(&repo).await;
    let (status, tasks) = get(&server, "/api/tasks").await;
    assert_eq!(status, 200);
    let epics = tasks["epics"].as_array().unwrap();
    assert_eq!(epics.len(), 2);
    assert_eq!(epics[0]["name"], "Backend API");
    let first = &epics[0]["tasks"][0];
    assert_eq!(first["id"], "TASK-API-001");
    assert_eq!(first["status"], "running");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["quality"], 0.9);
    assert_eq!(epics[1]["tasks"][0]["depends_on"], json!(["TASK-API-001"]));
    assert_eq!(epics[1]["tasks"][0]["wave"], 2);

    let (status, detail) = get(&server, "/api/tasks/TASK-API-001").await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["description"],
        "GET /products returns the catalogue."
    );
    let attempt = &detail["attempts_detail"][0];
    assert_eq!(attempt["result"], "passed");
    assert_eq!(attempt["breakdown"]["tests"], 0.8);
    assert_eq!(attempt["skipped"]["performance"], "no benchmark configured");
    assert_eq!(attempt["gate_passed"], true);
    assert_eq!(attempt["changed_files"], json!(["src/products.rs"]));

    let (_, ui) = get(&server, "/api/tasks/TASK-UI-001").await;
    assert_eq!(ui["messages"], json!(["PM-0001"]));

    let (status, log) = get(&server, "/api/tasks/TASK-API-001/log?tail=1").await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["lines"], json!(["all 12 tests passed"]));
    assert_eq!(log["truncated"], true);
    let (_, log) = get(&server, "/api/tasks/TASK-API-001/log").await;
    assert_eq!(
        log["lines"],
        json!(["compiling", "all 12 tests passed"]),
        "escape sequences are stripped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_events_and_sessions_for_scripts() {
    let repo = Repo::new().with_message();
    let server = Server::start(&repo).await;
    let (status, list) = get(&server, "/api/messages?pending=true").await;
    assert_eq!(status, 200);
    let message = &list["messages"][0];
    assert_eq!(message["id"], "PM-0001");
    assert_eq!(message["task"], "TASK-UI-001");
    let options = message["options"].as_array().unwrap();
    assert!(options.len() >= 2, "{message}");
    assert_eq!(
        options.iter().filter(|o| o["recommended"] == true).count(),
        1
    );
    assert!(
        options
            .iter()
            .all(|o| o["pros"].is_array() && o["cons"].is_array())
    );
    let (status, one) = get(&server, "/api/messages/pm-1").await;
    assert_eq!((status, &one["id"]), (200, &json!("PM-0001")));

    let (status, events) = get(&server, "/api/events?after=0&limit=2").await;
    assert_eq!(status, 200);
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[0]["event"]["kind"], "plan_imported");
    assert_eq!(events[1]["seq"], 2);

    let (status, sessions) = get(&server, "/api/sessions").await;
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(sessions["sessions"], json!([]));
}

async fn answer(
    server: &Server,
    id: &str,
    body: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> (u16, Value) {
    let mut request = client()
        .post(server.url(&format!("/api/messages/{id}/answer")))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_records_the_decision_as_the_cli_does() {
    let repo = Repo::new().with_message();
    let server = Server::start(&repo).await;
    let before = repo.store().last_event_seq().unwrap();
    let origin = server.base.clone();
    let (status, body) = answer(
        &server,
        "PM-0001",
        r#"{"option": "b", "note": "  ship it  "}"#,
        Some(&server.token),
        Some(&origin),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["action"].as_str().is_some_and(|a| !a.is_empty()));

    // In the store, read by another connection: decided B with the note, with an event.
    let stored: PmMessage = serde_json::from_str(&repo.message_json("PM-0001")).unwrap();
    match &stored.state {
        MessageState::Decided { option, note } => {
            assert_eq!(option.letter(), 'B');
            assert_eq!(note.as_deref(), Some("ship it"));
        }
        other => panic!("expected decided, got {other:?}"),
    }
    let row = repo.store().messages().unwrap().remove(0);
    assert_eq!(row.state, "decided");
    let events = repo.store().events_since(before, 10).unwrap();
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0].event,
        orch_core::Event::MessageChanged { message, state, .. }
            if message == "PM-0001" && state == "decided"
    ));

    // The same document `orch msg answer` would have written: decide() on the same message.
    let original = crate::support::escalated_message("TASK-UI-001");
    let cli = orch_escalation::answer_message(
        &original,
        "B",
        Some("ship it"),
        stored.history.last().unwrap().at,
    )
    .unwrap();
    assert_eq!(cli.message.state, stored.state);
    assert_eq!(cli.message.history.len(), stored.history.len());

    // Answering again is a conflict and changes nothing.
    let json = repo.message_json("PM-0001");
    let (status, _) = answer(
        &server,
        "PM-0001",
        r#"{"option": "A"}"#,
        Some(&server.token),
        None,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(repo.message_json("PM-0001"), json);
    let task = repo.store().task(&id("TASK-UI-001")).unwrap();
    assert_eq!(
        task.task.status,
        TaskStatus::Pending,
        "the runner applies it"
    );
}

/// Every bad request gets its status and leaves the store exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_change_nothing() {
    let repo = Repo::new().with_message();
    let server = Server::start(&repo).await;
    let token = server.token.clone();
    let json = repo.message_json("PM-0001");
    let seq = repo.store().last_event_seq().unwrap();
    let unchanged = |what: &str| {
        assert_eq!(
            repo.message_json("PM-0001"),
            json,
            "{what} changed the message"
        );
        assert_eq!(
            repo.store().last_event_seq().unwrap(),
            seq,
            "{what} wrote an event"
        );
    };

    /// What is tried, the body, the token, the Origin header, the status wanted.
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, u16);
    let cases: &[Case<'_>] = &[
        ("no token", r#"{"option":"A"}"#, None, None, 401),
        (
            "wrong token",
            r#"{"option":"A"}"#,
            Some("0123456789abcdef0123456789abcdef"),
            None,
            401,
        ),
        ("malformed JSON", r#"{"option":"#, Some(&token), None, 400),
        (
            "missing option",
            r#"{"note":"hi"}"#,
            Some(&token),
            None,
            400,
        ),
        (
            "unknown field",
            r#"{"option":"A","force":true}"#,
            Some(&token),
            None,
            400,
        ),
        (
            "unknown option",
            r#"{"option":"Z"}"#,
            Some(&token),
            None,
            422,
        ),
        (
            "foreign origin",
            r#"{"option":"A"}"#,
            Some(&token),
            Some("http://evil.example"),
            403,
        ),
        (
            "null origin",
            r#"{"option":"A"}"#,
            Some(&token),
            Some("null"),
            403,
        ),
    ];
    for (what, body, token, origin, want) in cases {
        let (status, body) = answer(&server, "PM-0001", body, *token, *origin).await;
        assert_eq!(status, *want, "{what}: {body}");
        assert!(
            body["message"].is_string(),
            "{what}: errors explain: {body}"
        );
        unchanged(what);
    }

    for (what, id, want) in [
        ("unknown message", "PM-0099", 404),
        ("not an id", "banana", 404),
    ] {
        let (status, _) = answer(&server, id, r#"{"option":"A"}"#, Some(&token), None).await;
        assert_eq!(status, want, "{what}");
        unchanged(what);
    }

    // Not JSON at all.
    let response = client()
        .post(server.url("/api/messages/PM-0001/answer"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("option=A")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    unchanged("text/plain");

    // Reads of what does not exist.
    for (path, want) in [
        ("/api/tasks/TASK-NOPE-001", 404),
        ("/api/tasks/not%20an%20id", 404),
        ("/api/tasks/TASK-API-002/log", 404),
        ("/api/tasks/TASK-API-001/log?attempt=7", 404),
        ("/api/tasks/TASK-API-001/log?tail=lots", 400),
        ("/api/messages/PM-0042", 404),
        ("/api/events?after=-1", 400),
        ("/api/messages?pending=maybe", 400),
        ("/api/nothing-here", 404),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, want, "{path}: {body}");
    }

    // A Host the dashboard does not answer to (DNS rebinding) is refused before anything.
    let response = client()
        .get(server.url("/api/state"))
        .header("host", "attacker.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let response = client()
        .post(server.url("/api/messages/PM-0001/answer"))
        .header("host", "attacker.example")
        .header("content-type", "application/json")
        .bearer_auth(&token)
        .body(r#"{"option":"A"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    unchanged("foreign host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_embedded_and_locked_down() {
    let repo = Repo::new();
    let server = Server::start(&repo).await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers["x-frame-options"], "DENY");
        let body = response.text().await.unwrap();
        assert!(!body.contains(&server.token), "{path} shows the token");
        // Nothing is loaded from elsewhere (the SVG namespace is a name, not a fetch).
        let outside = body.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside.contains("https://") && !outside.contains("http://"),
            "{path} refers to another site"
        );
    }
    let (status, _) = get(&server, "/api/auth").await;
    assert_eq!(status, 401);
    let response = client()
        .get(server.url("/api/auth"))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
}

/// Conformance: a real Claude Code session log reads as steps on the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_code_log_reads_as_steps() {
    let Some(fixtures) = orch_testutils::shared_fixtures_or_skip("claude-code") else {
        return;
    };
    let repo = Repo::new();
    let task = id("TASK-API-001");
    let log = repo.orch_dir().join("logs/TASK-API-001-1.log");
    std::fs::copy(fixtures.join("session_tool_use.jsonl"), &log).unwrap();
    repo.store()
        .begin_attempt(&crate::support::attempt(&task, 1, &log))
        .unwrap();
    let server = Server::start(&repo).await;
    let (status, readable) = get(&server, "/api/tasks/TASK-API-001/log").await;
    assert_eq!(status, 200, "{readable}");
    assert_eq!(readable["running"], true);
    let lines: Vec<&str> = readable["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("● session started")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("→ ")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("■ ")), "{lines:#?}");
    assert!(lines.iter().all(|l| !l.starts_with('{')), "{lines:#?}");

    let (_, raw) = get(&server, "/api/tasks/TASK-API-001/log?raw=true").await;
    let raw_lines = raw["lines"].as_array().unwrap();
    assert!(
        raw_lines
            .iter()
            .all(|l| l.as_str().unwrap().starts_with('{'))
    );
}

/// Whatever an agent printed, a key never leaves the server: not in a log tail, a task's
/// attempts, a PM message, the event list or the live feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_leave_the_server() {
    use futures_util::StreamExt;

    let key = format!("sk-ant-api03-{}", "Zq7Xw2Lp".repeat(4));
    let token = crate::support::user_token();
    let repo = Repo::new();
    let task = id("TASK-API-001");
    let log = repo.orch_dir().join("logs/TASK-API-001-1.log");
    std::fs::write(
        &log,
        format!(
            "exporting ANTHROPIC_API_KEY={key}\nthe token is {}\n",
            token.expose()
        ),
    )
    .unwrap();
    let mut store = repo.store();
    store
        .begin_attempt(&crate::support::attempt(&task, 1, &log))
        .unwrap();
    let mut config =
        orch_dashboard::DashboardConfig::new(repo.orch_dir()).with_token(token.clone());
    config.port = 0;
    let server = Server::start_with(config).await;
    let mut feed = tokio_tungstenite::connect_async(server.ws_url("?after=0"))
        .await
        .unwrap()
        .0;
    store
        .finish_attempt(
            &task,
            1,
            orch_store::AttemptEnd {
                result: "api_error".into(),
                summary: format!("401 for key {key}"),
                ..Default::default()
            },
        )
        .unwrap();

    let mut seen = String::new();
    for path in [
        "/api/tasks/TASK-API-001/log",
        "/api/tasks/TASK-API-001/log?raw=true",
        "/api/tasks/TASK-API-001",
        "/api/events?after=0&limit=1000",
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains("[redacted]"), "{path}: {body}");
        assert!(
            serde_json::from_str::<Value>(&body).is_ok(),
            "{path} is still JSON"
        );
        seen.push_str(&body);
    }
    let last = store.last_event_seq().unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(20), feed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let text = frame.into_text().unwrap().to_string();
        seen.push_str(&text);
        let event: Value = serde_json::from_str(&text).unwrap();
        if event["seq"] == last {
            break;
        }
    }
    assert!(seen.contains("401 for key [redacted]"), "{seen}");
    assert!(!seen.contains(&key), "the key leaked");
    assert!(!seen.contains(token.expose()), "the token leaked");
    // The store itself is untouched: redaction is only on the way out.
    assert!(
        repo.store().attempts(Some(&task)).unwrap()[0]
            .summary
            .as_deref()
            .unwrap()
            .contains(&key)
    );
}

/// Every form of secret the gate's scan knows, as an agent might print it, never leaves
/// the server: not in the log (raw or read), a task's attempts, the events, or the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secret_form_is_redacted_everywhere() {
    use futures_util::StreamExt;

    // (the line an agent prints, the secret in it). Built from parts so this file holds
    // no secret a scanner would flag.
    let j = |parts: &[&str]| parts.concat();
    let aws_id = j(&["AKIA", "Z7Q2XK4M9B3N5P6R"]);
    let aws_secret = j(&["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYq9xK2mZt4Q"]);
    let jwt = j(&[
        "eyJhbGciOiJIUzI1NiJ9",
        ".eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ]);
    let body = "MIIEpAIBAAKCAQEA7bq4xyzBODYbodyQWERTYuiopASDFGHjkl1234567890abcd";
    let body2 = "tWGaEf3VkPlOkIjUhYgTfRdEsWaQzXcVbNmLkJhGfDsApOiUyTrEwQ9876543210";
    let b64 = "QUtJQVo3UTJYSzRNOUIzTjVQNlI=";
    let forms: Vec<(String, String)> = vec![
        (format!("export AWS_ACCESS_KEY_ID={aws_id}"), aws_id.clone()),
        (
            format!("AWS_SECRET_ACCESS_KEY={aws_secret}"),
            aws_secret.clone(),
        ),
        (
            format!("aws_secret_access_key = {aws_secret}x"),
            aws_secret.clone(),
        ),
        (j(&["-----BEGIN RSA ", "PRIVATE KEY-----"]), body.to_owned()),
        (body.to_owned(), body.to_owned()),
        (body2.to_owned(), body2.to_owned()),
        (j(&["-----END RSA ", "PRIVATE KEY-----"]), body2.to_owned()),
        (
            j(&[
                "DATABASE_URL=postgres://app:",
                "S3cr3tPw9x@db.internal:5432/app",
            ]),
            "S3cr3tPw9x".into(),
        ),
        (format!("Authorization: Bearer {jwt}"), jwt.clone()),
        ("password=Hunter2Hunter2".into(), "Hunter2Hunter2".into()),
        (
            "db_password: 'Zq8vL2mP9xRt4wK7'".into(),
            "Zq8vL2mP9xRt4wK7".into(),
        ),
        (
            format!("KEY = \"{}\" + \"{}\"", &aws_id[..4], &aws_id[4..]),
            aws_id[4..].to_owned(),
        ),
        (
            format!("{{\"secret\": \"{}\"}}", aws_secret.replace('/', "\\/")),
            aws_secret.replace('/', "\\/"),
        ),
        (
            j(&[
                "{\"key\": \"-----BEGIN EC ",
                "PRIVATE KEY-----\\nMHcCAQEEIBkQbodyline\\n-----END EC ",
                "PRIVATE KEY-----\"}",
            ]),
            "MHcCAQEEIBkQbodyline".into(),
        ),
        (format!("encoded: {b64}"), b64.to_owned()),
        (
            j(&["token ghp_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]),
            j(&["a1B2c3D4e5F6", "g7H8i9J0k1L2m3N4o5P6q7R8"]),
        ),
        (
            j(&["glpat-", "xYz12345678901234567"]),
            "xYz12345678901234567".into(),
        ),
        (
            j(&["SLACK=xoxb-", "1234567890-abcdefghijkl"]),
            "1234567890-abcdefghijkl".into(),
        ),
        (
            j(&[
                "https://hooks.slack.com/services/T0001/B0001/",
                "abcdefghijklmnop",
            ]),
            "abcdefghijklmnop".into(),
        ),
        (
            j(&["sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"]),
            "4eC39HqLyjWDarjtT1zdp7dc".into(),
        ),
        (
            j(&[
                "OPENAI_API_KEY=sk-proj-",
                "abcdefghijklmnopqrstuvwxyz123456",
            ]),
            "abcdefghijklmnopqrstuvwxyz123456".into(),
        ),
        (
            j(&["key=AIza", "SyA1234567890abcdefghijklmnopqrstuv"]),
            j(&["SyA1234567890", "abcdefghijklmnopqrstuv"]),
        ),
    ];
    let token = crate::support::user_token();
    let repo = Repo::new();
    let task = id("TASK-API-001");
    let log = repo.orch_dir().join("logs/TASK-API-001-1.log");
    let text: String = forms.iter().map(|(line, _)| format!("{line}\n")).collect();
    std::fs::write(&log, &text).unwrap();
    let mut store = repo.store();
    store
        .begin_attempt(&crate::support::attempt(&task, 1, &log))
        .unwrap();
    let mut config =
        orch_dashboard::DashboardConfig::new(repo.orch_dir()).with_token(token.clone());
    config.port = 0;
    let server = Server::start_with(config).await;
    let mut feed = tokio_tungstenite::connect_async(server.ws_url("?after=0"))
        .await
        .unwrap()
        .0;
    store
        .finish_attempt(
            &task,
            1,
            orch_store::AttemptEnd {
                result: "api_error".into(),
                summary: text.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    let mut seen = String::new();
    for path in [
        "/api/tasks/TASK-API-001/log?tail=2000",
        "/api/tasks/TASK-API-001/log?raw=true&tail=2000",
        "/api/tasks/TASK-API-001",
        "/api/events?after=0&limit=1000",
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            serde_json::from_str::<Value>(&body).is_ok(),
            "{path} is still JSON"
        );
        // What the page sees: the decoded strings.
        for (_, secret) in &forms {
            assert!(!body.contains(secret.as_str()), "{path} leaked {secret}");
        }
        seen.push_str(&body);
    }
    let last = store.last_event_seq().unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(20), feed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let text = frame.into_text().unwrap().to_string();
        seen.push_str(&text);
        let event: Value = serde_json::from_str(&text).unwrap();
        if event["seq"] == last {
            break;
        }
    }
    let leaked: Vec<&String> = forms
        .iter()
        .map(|(_, secret)| secret)
        .filter(|secret| seen.contains(secret.as_str()))
        .collect();
    assert!(leaked.is_empty(), "leaked: {leaked:?}");
}
