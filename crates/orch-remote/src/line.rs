//! LINE Messaging API webhooks: text messages (`status`, `answer PM-0001 A`, …) and
//! postbacks (the quick-reply buttons of a PM message, `data` `answer PM-0001 A`). The
//! signature over the raw body is checked before anything is parsed; each event is held to
//! the timestamp window, refused when its `webhookEventId` was seen, and answered with its
//! reply token.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::server::{Actor, Outcome, Shared};
use crate::slack::refuse;
use crate::verify::{Refusal, verify_line};

fn bad_request(what: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": what }))).into_response()
}

fn allowed(shared: &Shared, user: &str) -> bool {
    shared
        .config
        .line
        .as_ref()
        .is_some_and(|line| line.users.iter().any(|u| u == user))
}

/// What one event asks.
fn event_text(event: &Value) -> Option<String> {
    match event["type"].as_str()? {
        "message" if event["message"]["type"] == "text" => {
            event["message"]["text"].as_str().map(str::to_owned)
        }
        "postback" => event["postback"]["data"].as_str().map(str::to_owned),
        _ => None,
    }
}

/// `POST /line/webhook`.
pub(crate) async fn webhook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secret = shared
        .secrets
        .line_channel_secret
        .as_deref()
        .unwrap_or_default();
    let signature = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok());
    if let Err(refusal) = verify_line(secret.as_bytes(), signature, &body) {
        return refuse(refusal);
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("the body is not JSON");
    };
    let Some(events) = payload["events"].as_array() else {
        return bad_request("a webhook body needs an events array");
    };
    let now_ms = Shared::now_unix() * 1000;
    let window_ms = shared.config.timestamp_window_secs * 1000;
    let (mut acted, mut refused_users, mut stale, mut replays) = (0, 0, 0, 0);
    for event in events {
        let Some(text) = event_text(event) else {
            continue; // follows, joins, stickers: nothing to do
        };
        let (Some(user), Some(id), Some(at)) = (
            event["source"]["userId"].as_str(),
            event["webhookEventId"].as_str(),
            event["timestamp"].as_i64(),
        ) else {
            return bad_request("an event needs source.userId, webhookEventId and timestamp");
        };
        if (now_ms - at).abs() > window_ms {
            stale += 1;
            continue;
        }
        if !shared
            .replay
            .first_time(&format!("line:{id}"), std::time::Instant::now())
        {
            replays += 1;
            continue;
        }
        let actor = Actor {
            platform: "line",
            user: user.to_owned(),
        };
        let ok = allowed(&shared, user);
        let text_reply = match shared.run(&actor, ok, &text).await {
            Outcome::Done(reply) => Some(reply.text),
            Outcome::Later(rx) => rx.await.ok().map(|r| r.text),
            Outcome::NotAllowed => {
                refused_users += 1;
                None
            }
            Outcome::RateLimited => Some("Too many commands; wait a minute.".to_owned()),
        };
        acted += 1;
        if let (Some(text), Some(token)) = (text_reply, event["replyToken"].as_str()) {
            reply(&shared, token, &text);
        }
    }
    if acted == 0 && stale > 0 {
        return refuse(Refusal::StaleTimestamp {
            age_secs: shared.config.timestamp_window_secs + 1,
            limit_secs: shared.config.timestamp_window_secs,
        });
    }
    if acted == 0 && replays > 0 {
        return refuse(Refusal::Replayed);
    }
    if acted > 0 && refused_users == acted {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "not allowed to control this orch" })),
        )
            .into_response();
    }
    StatusCode::OK.into_response()
}

/// Replies with the event's reply token (off the request: LINE wants its 200 quickly).
fn reply(shared: &Arc<Shared>, token: &str, text: &str) {
    let Some(access) = shared.secrets.line_access_token.clone() else {
        tracing::warn!("ORCH_LINE_CHANNEL_ACCESS_TOKEN is not set: cannot reply on LINE");
        return;
    };
    let url = format!(
        "{}/v2/bot/message/reply",
        shared.options.line_api.trim_end_matches('/')
    );
    let body = json!({
        "replyToken": token,
        "messages": [{ "type": "text", "text": text.chars().take(5000).collect::<String>() }],
    });
    let http = shared.http.clone();
    tokio::spawn(async move {
        if let Err(e) = http.post(&url).bearer_auth(access).json(&body).send().await {
            tracing::warn!(error = %e, "cannot reply on LINE");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_postbacks_are_commands() {
        let text = json!({"type": "message", "message": {"type": "text", "text": "status"}});
        assert_eq!(event_text(&text).as_deref(), Some("status"));
        let postback = json!({"type": "postback", "postback": {"data": "answer PM-0001 A"}});
        assert_eq!(event_text(&postback).as_deref(), Some("answer PM-0001 A"));
        let sticker = json!({"type": "message", "message": {"type": "sticker"}});
        assert_eq!(event_text(&sticker), None);
    }
}
