//! Each platform end to end: valid requests act; a bad signature, a stale timestamp, a
//! replay, a user not on the list and a malformed body are refused with their status and
//! change nothing; a double answer from two platforms answers once.

use serde_json::{Value, json};

use crate::support::*;

fn slash(text: &str, user: &str, response_url: &str) -> String {
    form(&[
        ("token", "legacy"),
        ("team_id", "T0001"),
        ("channel_id", "C0001"),
        ("user_id", user),
        ("command", "/orch"),
        ("text", text),
        ("response_url", response_url),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
}

fn block_action(value: &str, user: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "pm"},
        "team": {"id": "T0001"},
        "channel": {"id": "C0001"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": "orch_answer_A", "block_id": "orch_answer_PM-0001", "value": value, "action_ts": "1.0"}],
    });
    form(&[("payload", &payload.to_string())])
}

fn interaction(id: &str, kind: u64, data: Value, user: &str) -> String {
    json!({
        "id": id,
        "application_id": "11111111111111111",
        "type": kind,
        "token": "interaction-token",
        "version": 1,
        "guild_id": "22222222222222222",
        "channel_id": "33333333333333333",
        "member": {"user": {"id": user, "username": "pm"}},
        "data": data,
    })
    .to_string()
}

fn line_event(id: &str, user: &str, event: Value) -> String {
    let mut e = event;
    e["webhookEventId"] = json!(id);
    e["timestamp"] = json!(now() * 1000);
    e["source"] = json!({"type": "user", "userId": user});
    e["replyToken"] = json!(format!("reply-{id}"));
    e["mode"] = json!("active");
    e["deliveryContext"] = json!({"isRedelivery": false});
    json!({"destination": "Uxxxxxxxx", "events": [e]}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_commands_act_and_every_bad_request_is_refused_without_a_trace() {
    let project = Project::new();
    let endpoint = Endpoint::start(&project).await;
    let hook = format!("{}/slack-response", endpoint.platform.url());

    let (status, body) = slack(
        &endpoint,
        "/slack/commands",
        &slash("status", SLACK_USER, &hook),
        now(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["response_type"], "ephemeral");
    let text = reply["text"].as_str().unwrap();
    assert!(
        text.contains("done 0/2") && text.contains("questions PM-0001"),
        "{text}"
    );

    let before = project.state();
    let audited = project.audit().len();
    let valid = slash("pause", SLACK_USER, &hook);
    // A bad signature (the wrong secret), a stale and a future timestamp.
    assert_eq!(
        slack(&endpoint, "/slack/commands", &valid, now(), "wrong-secret")
            .await
            .0,
        401
    );
    assert_eq!(
        slack(
            &endpoint,
            "/slack/commands",
            &valid,
            now() - 600,
            SLACK_SECRET
        )
        .await
        .0,
        401
    );
    assert_eq!(
        slack(
            &endpoint,
            "/slack/commands",
            &valid,
            now() + 600,
            SLACK_SECRET
        )
        .await
        .0,
        401
    );
    // No signature at all.
    let bare = client()
        .post(endpoint.url("/slack/commands"))
        .body(valid.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    // Signed, but not a form.
    assert_eq!(
        slack(&endpoint, "/slack/commands", "%%%", now(), SLACK_SECRET)
            .await
            .0,
        400
    );
    assert_eq!(project.state(), before, "refused requests change nothing");
    assert_eq!(
        project.audit().len(),
        audited,
        "unauthenticated requests leave no event"
    );

    // A user not on the list: refused, audited, nothing else.
    let (status, _) = slack(
        &endpoint,
        "/slack/commands",
        &slash("pause", "U0STRANGER", &hook),
        now(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(project.state(), before);
    assert_eq!(
        project.audit().last().unwrap(),
        &(
            "U0STRANGER".to_owned(),
            "pause".to_owned(),
            "not_allowed".to_owned()
        )
    );

    // The same signed request twice: the second is a replay.
    let ts = now();
    let (first, _) = slack(&endpoint, "/slack/commands", &valid, ts, SLACK_SECRET).await;
    assert_eq!(first, 200);
    assert_eq!(
        project.store().run_control().unwrap().paused_by.as_deref(),
        Some("slack:U0ALLOWED")
    );
    let after_pause = project.state();
    let (replayed, _) = slack(&endpoint, "/slack/commands", &valid, ts, SLACK_SECRET).await;
    assert_eq!(replayed, 409);
    assert_eq!(project.state(), after_pause);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_button_answers_and_the_answer_goes_to_the_response_url() {
    let project = Project::new();
    let endpoint = Endpoint::start(&project).await;
    let hook = format!("{}/slack-response", endpoint.platform.url());
    let (status, body) = slack(
        &endpoint,
        "/slack/interactions",
        &block_action("answer PM-0001 A", SLACK_USER, &hook),
        now(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let message = project.message();
    assert_eq!(message.state.name(), "decided");
    assert_eq!(message.decided_by().unwrap().0, Some("slack:U0ALLOWED"));
    let posted = endpoint.platform_requests(1).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].path, "/slack-response");
    let body: Value = serde_json::from_str(&posted[0].body_text()).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("PM-0001: answered A"),
        "{body}"
    );
    assert_eq!(body["replace_original"], false);
    // A response_url outside Slack's hosts is never called.
    let (status, _) = slack(
        &endpoint,
        "/slack/interactions",
        &block_action("status", SLACK_USER, "http://169.254.169.254/latest"),
        now(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(endpoint.platform.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_pings_commands_buttons_and_refusals() {
    let project = Project::new();
    let endpoint = Endpoint::start(&project).await;
    let key = endpoint.discord_key.clone();

    let ping = json!({"id": "1", "application_id": "11111111111111111", "type": 1, "token": "t", "version": 1}).to_string();
    let (status, body) = discord(&endpoint, &ping, now(), &key).await;
    assert_eq!((status, body.as_str()), (200, r#"{"type":1}"#));
    // Discord checks that a bad signature is refused before it accepts the endpoint.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&key_bytes());
    assert_eq!(discord(&endpoint, &ping, now(), &stranger).await.0, 401);

    let status_cmd = interaction(
        "100",
        2,
        json!({"id": "9", "name": "orch", "type": 1, "options": [{"name": "command", "type": 3, "value": "status"}]}),
        DISCORD_USER,
    );
    let (status, body) = discord(&endpoint, &status_cmd, now(), &key).await;
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["type"], 4);
    assert_eq!(reply["data"]["flags"], 64);
    assert!(
        reply["data"]["content"]
            .as_str()
            .unwrap()
            .contains("done 0/2")
    );

    let before = project.state();
    let audited = project.audit().len();
    assert_eq!(
        discord(&endpoint, &status_cmd, now(), &key).await.0,
        409,
        "a replay"
    );
    let fresh = interaction(
        "101",
        2,
        json!({"name": "orch", "options": [{"name": "command", "type": 3, "value": "stop"}]}),
        DISCORD_USER,
    );
    assert_eq!(
        discord(&endpoint, &fresh, now() - 3600, &key).await.0,
        401,
        "stale"
    );
    assert_eq!(discord(&endpoint, "{not json", now(), &key).await.0, 400);
    assert_eq!(project.state(), before);
    assert_eq!(project.audit().len(), audited);
    let intruder = interaction(
        "102",
        3,
        json!({"custom_id": "orch:answer:PM-0001:A", "component_type": 2}),
        "99999999999999999",
    );
    assert_eq!(discord(&endpoint, &intruder, now(), &key).await.0, 403);
    assert_eq!(project.state(), before);
    assert_eq!(project.audit().last().unwrap().2, "not_allowed");

    let press = interaction(
        "103",
        3,
        json!({"custom_id": "orch:answer:PM-0001:B", "component_type": 2}),
        DISCORD_USER,
    );
    let (status, body) = discord(&endpoint, &press, now(), &key).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("answered B"), "{body}");
    assert_eq!(
        project.message().decided_by().unwrap().0,
        Some("discord:80351110224678912")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_texts_and_postbacks_reply_with_the_reply_token() {
    let project = Project::new();
    let endpoint = Endpoint::start(&project).await;
    let text = line_event(
        "01HLINE0001",
        LINE_USER,
        json!({"type": "message", "message": {"id": "1", "type": "text", "text": "tasks"}}),
    );
    let (status, body) = line(&endpoint, &text, LINE_SECRET).await;
    assert_eq!(status, 200, "{body}");
    let sent = endpoint.platform_requests(1).await;
    assert_eq!(sent[0].path, "/v2/bot/message/reply");
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer line-access-token")
    );
    let reply: Value = serde_json::from_str(&sent[0].body_text()).unwrap();
    assert_eq!(reply["replyToken"], "reply-01HLINE0001");
    assert_eq!(reply["messages"][0]["type"], "text");
    assert!(
        reply["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("TASK-API-002 ready Refunds")
    );

    let before = project.state();
    assert_eq!(line(&endpoint, &text, LINE_SECRET).await.0, 409, "a replay");
    let answer = line_event(
        "01HLINE0002",
        LINE_USER,
        json!({"type": "postback", "postback": {"data": "answer PM-0001 A"}}),
    );
    assert_eq!(line(&endpoint, &answer, "not-the-secret").await.0, 401);
    let mut stale: Value = serde_json::from_str(&answer).unwrap();
    stale["events"][0]["timestamp"] = json!((now() - 3600) * 1000);
    assert_eq!(
        line(&endpoint, &stale.to_string(), LINE_SECRET).await.0,
        401
    );
    assert_eq!(line(&endpoint, "[1, 2", LINE_SECRET).await.0, 400);
    let intruder = line_event(
        "01HLINE0003",
        "Uffffffffffffffffffffffffffffff0",
        json!({"type": "postback", "postback": {"data": "answer PM-0001 A"}}),
    );
    assert_eq!(line(&endpoint, &intruder, LINE_SECRET).await.0, 403);
    assert_eq!(project.state(), before, "refused events change nothing");

    assert_eq!(line(&endpoint, &answer, LINE_SECRET).await.0, 200);
    assert_eq!(
        project.message().decided_by().unwrap().0,
        Some(format!("line:{LINE_USER}").as_str())
    );
    // LINE's console sends an empty verification webhook: 200.
    assert_eq!(
        line(
            &endpoint,
            r#"{"destination":"U1","events":[]}"#,
            LINE_SECRET
        )
        .await
        .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_platforms_pressing_different_options_at_once_answer_once() {
    for round in 0..5 {
        let project = Project::new();
        let endpoint = Endpoint::start(&project).await;
        let hook = format!("{}/slack-response", endpoint.platform.url());
        let key = endpoint.discord_key.clone();
        let slack_press = block_action("answer PM-0001 A", SLACK_USER, &hook);
        let discord_press = interaction(
            &format!("2{round}"),
            3,
            json!({"custom_id": "orch:answer:PM-0001:B", "component_type": 2}),
            DISCORD_USER,
        );
        let (s, d) = tokio::join!(
            slack(
                &endpoint,
                "/slack/interactions",
                &slack_press,
                now(),
                SLACK_SECRET
            ),
            discord(&endpoint, &discord_press, now(), &key)
        );
        assert_eq!((s.0, d.0), (200, 200), "{s:?} {d:?}");
        let message = project.message();
        let (winner, _) = message.decided_by().unwrap();
        let decided_events = project
            .store()
            .events_since(0, 1000)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(&e.event, orch_core::Event::MessageChanged { state, .. } if state == "decided"))
            .count();
        assert_eq!(decided_events, 1, "exactly one answer");
        // The loser is told who answered first.
        let slack_reply = endpoint.platform_requests(1).await[0].body_text();
        let told = if winner == Some("slack:U0ALLOWED") {
            &d.1
        } else {
            &slack_reply
        };
        assert!(
            told.contains("already answered") && told.contains(winner.unwrap()),
            "{told}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_commands_are_answered_later_through_the_platform() {
    let project = Project::new();
    let endpoint =
        Endpoint::start_with(&project, |o| o.answer_within = std::time::Duration::ZERO).await;
    let hook = format!("{}/slack-response", endpoint.platform.url());
    let (status, body) = slack(
        &endpoint,
        "/slack/commands",
        &slash("status", SLACK_USER, &hook),
        now(),
        SLACK_SECRET,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("Working on it"), "{body}");
    let key = endpoint.discord_key.clone();
    let cmd = interaction(
        "300",
        2,
        json!({"name": "orch", "options": [{"name": "command", "type": 3, "value": "status"}]}),
        DISCORD_USER,
    );
    let (status, body) = discord(&endpoint, &cmd, now(), &key).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["type"],
        5,
        "deferred"
    );
    let later = endpoint.platform_requests(2).await;
    let slack_later = later
        .iter()
        .find(|r| r.path == "/slack-response")
        .expect("Slack answered later");
    assert!(slack_later.body_text().contains("done 0/2"));
    let discord_later = later
        .iter()
        .find(|r| r.path == "/webhooks/11111111111111111/interaction-token/messages/@original")
        .expect("Discord's original response edited");
    assert_eq!(discord_later.method, "PATCH");
    assert!(discord_later.body_text().contains("done 0/2"));
}
