//! PM messages with their options as buttons: each notifier posts a real message to a local
//! server and the received body is checked field by field against the platform's documented
//! shape and orch's button payload contract, with 3 options and at the platforms' limits.
//!
//! Documented limits checked here:
//! - Slack Block Kit: button `text` plain_text ≤ 75 characters, `action_id` unique in its
//!   block (≤ 255), `value` ≤ 2,000, `style` `primary` on one button of a set; an actions
//!   block holds ≤ 25 elements; a message ≤ 50 blocks.
//! - Discord: button `label` ≤ 80 characters, `custom_id` ≤ 100 and unique; an action row
//!   holds ≤ 5 buttons, a message (without the components-v2 flag) ≤ 5 action rows;
//!   components only with `?with_components=true` on a webhook.
//! - LINE: ≤ 13 quick reply items; postback `label` ≤ 20, `data` ≤ 300, `displayText` ≤ 300
//!   (required for quick reply buttons); a text message ≤ 5,000 UTF-16 code units.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use orch_core::TaskId;
use orch_escalation::{
    Action, DecisionOption, DiscordNotifier, FailureContext, FailureKind, HttpSettings,
    LineNotifier, MessageId, Notifier, PmMessage, RuleAdvisor, Secret, SlackNotifier,
};
use orch_testutils::{MockHttpServer, MockResponse, RecordedRequest};
use serde_json::Value;

use crate::t0;

fn fast() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(500),
        retries: 1,
        backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    }
}

fn body_json(request: &RecordedRequest) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

/// A Japanese title of 336 characters: longer than every button limit.
fn long_japanese_title() -> String {
    "失敗しているテストを指示として渡して再試行する。".repeat(14)
}

fn failure() -> FailureContext {
    FailureContext::new(
        TaskId::new("TASK-BA-002").unwrap(),
        FailureKind::TestsFailing,
        "3 of 42 tests fail",
    )
    .with_attempt(3)
    .with_agent("claude")
}

/// PM-0042 with three options; the second (`B`, the long Japanese title) is recommended.
fn three_options() -> PmMessage {
    let options = vec![
        DecisionOption::new(
            "Retry with the failing tests",
            Action::RetryWithInstructions {
                instructions: "Make the failing tests pass.".into(),
                fresh_worktree: false,
                non_interactive: false,
            },
        ),
        DecisionOption::new(long_japanese_title(), Action::Skip).recommended(),
        DecisionOption::new("Skip the task", Action::Skip),
    ];
    PmMessage::new(MessageId::from_seq(42), &failure(), options, t0())
}

/// PM-0043 built from 30 options, `G` recommended. A message keeps at most 26 (`A`–`Z`).
fn thirty_options() -> PmMessage {
    let options = (1..=30)
        .map(|i| {
            let o = DecisionOption::new(format!("Option number {i}"), Action::Skip);
            if i == 7 { o.recommended() } else { o }
        })
        .collect();
    let msg = PmMessage::new(MessageId::from_seq(43), &failure(), options, t0());
    assert_eq!(msg.options.len(), 26, "a message has at most 26 options");
    msg
}

fn letters(n: usize) -> Vec<char> {
    ('A'..='Z').take(n).collect()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn chars(v: &Value) -> usize {
    v.as_str().expect("a string").chars().count()
}

/// Checks that `got` is `full` cut to exactly `max` characters on a char boundary: the
/// first `max - 1` characters of `full` and `…`.
fn assert_cut(got: &Value, full: &str, max: usize) {
    let got = got.as_str().expect("a string");
    assert!(
        full.chars().count() > max,
        "{full} is not longer than {max}"
    );
    assert_eq!(got.chars().count(), max, "{got}");
    assert_eq!(got.encode_utf16().count(), max, "{got}");
    let expected: String = full.chars().take(max - 1).chain(['…']).collect();
    assert_eq!(got, expected);
    assert!(full.starts_with(got.trim_end_matches('…')));
}

// ---------------------------------------------------------------------------------------
// Slack

fn slack(server: &MockHttpServer) -> SlackNotifier {
    SlackNotifier::new(
        Secret::new(format!("{}/services/T000/B000/XXXXSECRET", server.url())),
        fast(),
    )
    .unwrap()
}

async fn post_to_slack(msg: &PmMessage) -> Value {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(200, "ok"));
    slack(&server).notify(msg).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/services/T000/B000/XXXXSECRET");
    body_json(&requests[0])
}

/// The one actions block, which comes right before the closing context (the CLI hint).
fn slack_actions(body: &Value) -> &Value {
    let blocks = body["blocks"].as_array().unwrap();
    let actions: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "actions").collect();
    assert_eq!(actions.len(), 1, "one actions block");
    let n = blocks.len();
    assert_eq!(blocks[n - 2]["type"], "actions");
    assert_eq!(blocks[n - 1]["type"], "context");
    actions[0]
}

/// The plain text of a Slack message: every option and the CLI hint are there.
fn assert_slack_text_has_every_option(body: &Value, msg: &PmMessage) {
    assert_eq!(body["text"], format!("{}: {}", msg.id, msg.question));
    let blocks = body["blocks"].as_array().unwrap();
    for o in &msg.options {
        let start = format!("*{}. {}*", o.key, o.title);
        assert!(
            blocks.iter().any(|b| b["type"] == "section"
                && b["text"]["type"] == "mrkdwn"
                && b["text"]["text"].as_str().unwrap().starts_with(&start)),
            "no section for option {}",
            o.key
        );
    }
    let hint = &blocks[blocks.len() - 1]["elements"][0];
    assert_eq!(hint["type"], "mrkdwn");
    let letters = msg
        .options
        .iter()
        .map(|o| o.key.to_string())
        .collect::<Vec<_>>()
        .join("|");
    assert_eq!(
        hint["text"],
        format!(
            "Answer with `orch msg answer {} &lt;{letters}&gt; [--note TEXT]`",
            msg.id
        )
    );
}

#[tokio::test]
async fn slack_sends_an_answer_button_per_option() {
    let msg = three_options();
    let body = post_to_slack(&msg).await;
    let actions = slack_actions(&body);
    assert_eq!(keys(actions), set(&["type", "block_id", "elements"]));
    assert_eq!(actions["block_id"], "orch_answer_PM-0042");
    let elements = actions["elements"].as_array().unwrap();
    assert_eq!(elements.len(), 3);
    for (e, letter) in elements.iter().zip(letters(3)) {
        let recommended = letter == 'B';
        let mut expected_keys = vec!["type", "text", "action_id", "value"];
        if recommended {
            expected_keys.push("style");
        }
        assert_eq!(keys(e), set(&expected_keys), "{letter}");
        assert_eq!(e["type"], "button");
        assert_eq!(keys(&e["text"]), set(&["type", "text", "emoji"]));
        assert_eq!(e["text"]["type"], "plain_text");
        assert_eq!(e["text"]["emoji"], true);
        assert!(chars(&e["text"]["text"]) <= 75);
        assert_eq!(e["action_id"], format!("orch_answer_{letter}"));
        assert_eq!(e["value"], format!("answer PM-0042 {letter}"));
        if recommended {
            assert_eq!(e["style"], "primary");
        }
    }
    assert_eq!(
        elements[0]["text"]["text"],
        "A. Retry with the failing tests"
    );
    assert_cut(
        &elements[1]["text"]["text"],
        &format!("B. {}", long_japanese_title()),
        75,
    );
    assert_eq!(elements[2]["text"]["text"], "C. Skip the task");
    assert_slack_text_has_every_option(&body, &msg);
}

#[tokio::test]
async fn slack_buttons_stop_at_25_and_the_rest_stay_in_the_text() {
    let msg = thirty_options();
    let body = post_to_slack(&msg).await;
    assert!(body["blocks"].as_array().unwrap().len() <= 50);
    let elements = slack_actions(&body)["elements"].as_array().unwrap();
    assert_eq!(elements.len(), 25, "Slack's limit per actions block");
    let ids: HashSet<&str> = elements
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 25, "action_ids are unique in the block");
    for (e, letter) in elements.iter().zip(letters(25)) {
        assert_eq!(e["action_id"], format!("orch_answer_{letter}"));
        assert_eq!(e["value"], format!("answer PM-0043 {letter}"));
        let i = letter as usize - 'A' as usize + 1;
        assert_eq!(e["text"]["text"], format!("{letter}. Option number {i}"));
    }
    let primary: Vec<&Value> = elements
        .iter()
        .filter(|e| e.get("style").is_some())
        .collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["style"], "primary");
    assert_eq!(primary[0]["action_id"], "orch_answer_G");
    // Z has no button, but is in the text like every other option.
    assert!(elements.iter().all(|e| e["action_id"] != "orch_answer_Z"));
    assert_slack_text_has_every_option(&body, &msg);
}

// ---------------------------------------------------------------------------------------
// Discord

fn discord(server: &MockHttpServer, path: &str) -> DiscordNotifier {
    DiscordNotifier::new(Secret::new(format!("{}{path}", server.url())), fast()).unwrap()
}

async fn post_to_discord(msg: &PmMessage) -> Value {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(204, ""));
    discord(&server, "/api/webhooks/123/XXXXSECRET")
        .notify(msg)
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path,
        "/api/webhooks/123/XXXXSECRET?with_components=true"
    );
    body_json(&requests[0])
}

/// Checks the rows' shape and returns their buttons in order.
fn discord_buttons(body: &Value) -> Vec<&Value> {
    let rows = body["components"].as_array().expect("components");
    let mut buttons = Vec::new();
    for row in rows {
        assert_eq!(keys(row), set(&["type", "components"]));
        assert_eq!(row["type"], 1, "an action row");
        let row_buttons = row["components"].as_array().unwrap();
        assert!((1..=5).contains(&row_buttons.len()));
        for b in row_buttons {
            assert_eq!(keys(b), set(&["type", "style", "label", "custom_id"]));
            assert_eq!(b["type"], 2, "a button");
            assert!(chars(&b["label"]) <= 80);
            assert!(chars(&b["custom_id"]) <= 100);
            buttons.push(b);
        }
    }
    buttons
}

/// The embed still carries the options and the CLI hint.
fn assert_discord_text_has_every_option(body: &Value, msg: &PmMessage) {
    let embed = &body["embeds"][0];
    let mut text = String::new();
    for field in embed["fields"].as_array().unwrap() {
        text.push_str(field["name"].as_str().unwrap());
        text.push('\n');
        text.push_str(field["value"].as_str().unwrap());
        text.push('\n');
    }
    for o in &msg.options {
        let line = format!("{}. {}", o.key, o.title);
        let line: String = line.chars().take(59).collect();
        assert!(text.contains(line.trim_end_matches('…')), "{line}\n{text}");
    }
    assert_eq!(embed["footer"]["text"], msg.answer_hint());
    assert!(
        embed["footer"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Answer with: orch msg answer {} <", msg.id))
    );
    assert_eq!(
        body["content"],
        format!("**{}** needs a decision: {}", msg.id, msg.question)
    );
}

#[tokio::test]
async fn discord_sends_an_answer_button_per_option() {
    let msg = three_options();
    let body = post_to_discord(&msg).await;
    assert_eq!(body["components"].as_array().unwrap().len(), 1);
    let buttons = discord_buttons(&body);
    assert_eq!(buttons.len(), 3);
    for (b, letter) in buttons.iter().zip(letters(3)) {
        assert_eq!(b["custom_id"], format!("orch:answer:PM-0042:{letter}"));
        assert_eq!(b["style"], if letter == 'B' { 1 } else { 2 }, "{letter}");
    }
    assert_eq!(buttons[0]["label"], "A. Retry with the failing tests");
    assert_cut(
        &buttons[1]["label"],
        &format!("B. {}", long_japanese_title()),
        80,
    );
    assert_eq!(buttons[2]["label"], "C. Skip the task");
    assert_discord_text_has_every_option(&body, &msg);
}

#[tokio::test]
async fn discord_buttons_fill_five_rows_of_five() {
    let msg = thirty_options();
    let body = post_to_discord(&msg).await;
    let rows = body["components"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "Discord's limit of action rows");
    for row in rows {
        assert_eq!(row["components"].as_array().unwrap().len(), 5);
    }
    let buttons = discord_buttons(&body);
    assert_eq!(buttons.len(), 25);
    let ids: HashSet<&str> = buttons
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 25, "custom_ids are unique");
    for (b, letter) in buttons.iter().zip(letters(25)) {
        assert_eq!(b["custom_id"], format!("orch:answer:PM-0043:{letter}"));
        let i = letter as usize - 'A' as usize + 1;
        assert_eq!(b["label"], format!("{letter}. Option number {i}"));
    }
    let primary: Vec<&&Value> = buttons.iter().filter(|b| b["style"] == 1).collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["custom_id"], "orch:answer:PM-0043:G");
    assert!(buttons.iter().all(|b| b["style"] == 1 || b["style"] == 2));
    let fields = body["embeds"][0]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 11);
    assert_eq!(fields[10]["name"], "More options");
    assert!(
        fields[10]["value"]
            .as_str()
            .unwrap()
            .ends_with("Y. Option number 25\nZ. Option number 26")
    );
    assert_discord_text_has_every_option(&body, &msg);
}

#[tokio::test]
async fn discord_keeps_the_webhook_query() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(204, ""));
    discord(&server, "/api/webhooks/123/XXXXSECRET?thread_id=99")
        .notify(&three_options())
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].path,
        "/api/webhooks/123/XXXXSECRET?thread_id=99&with_components=true"
    );
}

#[tokio::test]
async fn discord_sends_the_message_without_buttons_when_the_webhook_cannot_have_them() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(
        400,
        r#"{"message": "Invalid Form Body", "code": 50035}"#,
    ));
    server.push(MockResponse::new(204, ""));
    discord(&server, "/api/webhooks/123/XXXXSECRET")
        .notify(&three_options())
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "400 is not retried as is");
    assert_eq!(
        requests[0].path,
        "/api/webhooks/123/XXXXSECRET?with_components=true"
    );
    assert_eq!(requests[1].path, "/api/webhooks/123/XXXXSECRET");
    let mut with = body_json(&requests[0]);
    let without = body_json(&requests[1]);
    assert!(without.get("components").is_none());
    with.as_object_mut().unwrap().remove("components");
    assert_eq!(with, without, "otherwise the same message");

    // A second refusal is the notifier's error.
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::json(400, r#"{"message": "bad"}"#));
    let err = discord(&server, "/api/webhooks/123/XXXXSECRET")
        .notify(&three_options())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), r#"discord: HTTP 400: {"message": "bad"}"#);
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------
// LINE

async fn push_to_line(msg: &PmMessage) -> Value {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, "{}"));
    LineNotifier::new(Secret::new("XXXXSECRET-TOKEN"), "U4af4980629", fast())
        .unwrap()
        .with_api_base(server.url())
        .unwrap()
        .notify(msg)
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v2/bot/message/push");
    let body = body_json(&requests[0]);
    assert_eq!(keys(&body), set(&["to", "messages"]));
    assert_eq!(body["to"], "U4af4980629");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    body
}

/// Checks the quick reply's shape and returns its postback actions in order.
fn line_actions(message: &Value) -> Vec<&Value> {
    assert_eq!(keys(message), set(&["type", "text", "quickReply"]));
    assert_eq!(message["type"], "text");
    assert_eq!(keys(&message["quickReply"]), set(&["items"]));
    let items = message["quickReply"]["items"].as_array().unwrap();
    assert!((1..=13).contains(&items.len()));
    items
        .iter()
        .map(|item| {
            assert_eq!(keys(item), set(&["type", "action"]));
            assert_eq!(item["type"], "action");
            let a = &item["action"];
            assert_eq!(keys(a), set(&["type", "label", "data", "displayText"]));
            assert_eq!(a["type"], "postback");
            assert!(chars(&a["label"]) <= 20);
            assert!(chars(&a["data"]) <= 300);
            assert!(chars(&a["displayText"]) <= 300);
            a
        })
        .collect()
}

fn assert_line_text_has_every_option(message: &Value, msg: &PmMessage) {
    let text = message["text"].as_str().unwrap();
    assert!(text.encode_utf16().count() <= 5000);
    for o in &msg.options {
        let line = format!(
            "  {}. {}{}\n",
            o.key,
            o.title,
            if o.recommended { "  (recommended)" } else { "" }
        );
        assert!(text.contains(&line), "{line}");
    }
    assert!(
        text.contains(&format!("\n{}\n", msg.answer_hint())),
        "{text}"
    );
}

#[tokio::test]
async fn line_sends_a_quick_reply_per_option() {
    let msg = three_options();
    let body = push_to_line(&msg).await;
    let message = &body["messages"][0];
    let actions = line_actions(message);
    assert_eq!(actions.len(), 3);
    for (a, letter) in actions.iter().zip(letters(3)) {
        assert_eq!(a["data"], format!("answer PM-0042 {letter}"));
    }
    let a_label = "A. Retry with the failing tests";
    assert_cut(&actions[0]["label"], a_label, 20);
    assert_eq!(actions[0]["label"], "A. Retry with the f…");
    assert_eq!(actions[0]["displayText"], a_label);
    let b_label = format!("B. {}", long_japanese_title());
    assert_cut(&actions[1]["label"], &b_label, 20);
    assert_eq!(actions[1]["label"], "B. 失敗しているテストを指示として渡…");
    assert_cut(&actions[1]["displayText"], &b_label, 300);
    assert_eq!(actions[2]["label"], "C. Skip the task");
    assert_eq!(actions[2]["displayText"], "C. Skip the task");
    assert_eq!(message["text"], msg.render_text());
    assert_line_text_has_every_option(message, &msg);
}

#[tokio::test]
async fn line_quick_replies_stop_at_13_and_the_rest_stay_in_the_text() {
    let msg = thirty_options();
    let body = push_to_line(&msg).await;
    let message = &body["messages"][0];
    let actions = line_actions(message);
    assert_eq!(actions.len(), 13, "LINE's limit of quick reply buttons");
    for (a, letter) in actions.iter().zip(letters(13)) {
        let i = letter as usize - 'A' as usize + 1;
        let label = format!("{letter}. Option number {i}");
        assert_eq!(a["data"], format!("answer PM-0043 {letter}"));
        assert_eq!(a["displayText"], label);
        if label.chars().count() > 20 {
            assert_cut(&a["label"], &label, 20);
        } else {
            assert_eq!(a["label"], label);
        }
    }
    assert_line_text_has_every_option(message, &msg);
}

#[tokio::test]
async fn line_text_leaves_out_a_long_log_before_the_options() {
    // 20 log lines of 250 🍎 (500 characters, 1,000 UTF-16 code units each).
    let mut msg = three_options();
    msg.context.log_tail = vec!["🍎".repeat(250); 20];
    assert!(msg.render_text().encode_utf16().count() > 5000);
    let body = push_to_line(&msg).await;
    let message = &body["messages"][0];
    let text = message["text"].as_str().unwrap();
    assert!(!text.contains("Last log lines"), "{text}");
    assert_line_text_has_every_option(message, &msg);
    assert_eq!(line_actions(message).len(), 3);
}

// ---------------------------------------------------------------------------------------
// What a Slack message with buttons reads like (the README's capture).

/// Renders a Slack payload as the text a reader sees: blocks in order, mrkdwn markers
/// dropped, code blocks indented, a divider as a rule, buttons as `[ label ]` (the primary
/// one marked recommended) wrapped at 100 columns.
fn slack_as_text(body: &Value) -> String {
    let mrkdwn = |text: &str| {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
            .replace(":heavy_plus_sign:", "   +")
            .replace(":heavy_minus_sign:", "   -")
            .replace("_(recommended)_", "(recommended)")
            .replace('*', "")
    };
    let mut out = String::new();
    for block in body["blocks"].as_array().unwrap() {
        match block["type"].as_str().unwrap() {
            "header" => {
                out.push_str(block["text"]["text"].as_str().unwrap());
                out.push_str("\n\n");
            }
            "section" => {
                let mut in_code = false;
                for line in mrkdwn(block["text"]["text"].as_str().unwrap()).lines() {
                    if line == "```" {
                        in_code = !in_code;
                        continue;
                    }
                    if in_code {
                        out.push_str("    ");
                    }
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
            }
            "divider" => out.push_str(&format!("{}\n\n", "─".repeat(60))),
            "actions" => {
                let mut line = String::new();
                for e in block["elements"].as_array().unwrap() {
                    let mut button = format!("[ {}", e["text"]["text"].as_str().unwrap());
                    if e["style"] == "primary" {
                        button.push_str(" (recommended)");
                    }
                    button.push_str(" ]");
                    if !line.is_empty() && line.chars().count() + 1 + button.chars().count() > 100 {
                        out.push_str(&line);
                        out.push('\n');
                        line.clear();
                    }
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(&button);
                }
                out.push_str(&line);
                out.push_str("\n\n");
            }
            "context" => {
                for e in block["elements"].as_array().unwrap() {
                    out.push_str(&mrkdwn(e["text"].as_str().unwrap()));
                    out.push('\n');
                }
            }
            other => panic!("unexpected block {other}"),
        }
    }
    out
}

#[tokio::test]
async fn slack_message_reads_as_text() {
    let failure = FailureContext::new(
        TaskId::new("TASK-AUTH-003").unwrap(),
        FailureKind::TestsFailing,
        "2 of 41 tests fail: auth::refresh::rejects_expired, auth::refresh::rotates_token",
    )
    .with_attempt(3)
    .with_agent("claude")
    .with_log_tail([
        "test auth::refresh::rejects_expired ... FAILED",
        "test result: FAILED. 39 passed; 2 failed",
    ]);
    let options = RuleAdvisor::new().advise(&failure);
    let msg = PmMessage::new(MessageId::from_seq(7), &failure, options, t0());
    let body = post_to_slack(&msg).await;
    let text = slack_as_text(&body);
    println!("{text}");
    assert!(text.starts_with("PM-0007 · TASK-AUTH-003 · "), "{text}");
    assert!(
        text.contains(
            "[ A. Retry with the failing tests as instructions (recommended) ] \
             [ B. Retry with another agent ]"
        ),
        "{text}"
    );
    assert!(text.ends_with("Answer with `orch msg answer PM-0007 <A|B|C|D> [--note TEXT]`\n"));
}
