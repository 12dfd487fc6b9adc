//! Slack: the `/orch` slash command (a form body) and button presses (`block_actions`, a
//! form body with a JSON `payload`). The signature is checked on the raw body before
//! anything is parsed; the timestamp must be within the window and the signature new.
//! A command answers in the HTTP response when it is done within Slack's 3 s, otherwise
//! through the request's `response_url` (only Slack's own hosts).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::command::Reply;
use crate::server::{Actor, Outcome, Shared};
use crate::verify::{Refusal, verify_slack};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Signature, timestamp and replay, in that order; a refusal says why (never what was
/// expected).
fn authenticate(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let secret = shared
        .secrets
        .slack_signing_secret
        .as_deref()
        .unwrap_or_default();
    let signature = header(headers, "x-slack-signature");
    verify_slack(
        secret.as_bytes(),
        header(headers, "x-slack-request-timestamp"),
        signature,
        body,
        Shared::now_unix(),
        shared.config.timestamp_window_secs,
    )?;
    let key = format!("slack:{}", signature.unwrap_or_default());
    if !shared.replay.first_time(&key, std::time::Instant::now()) {
        return Err(Refusal::Replayed);
    }
    Ok(())
}

pub(crate) fn refuse(refusal: Refusal) -> Response {
    let status = match refusal {
        Refusal::Replayed => StatusCode::CONFLICT,
        _ => StatusCode::UNAUTHORIZED,
    };
    tracing::warn!(%refusal, "refused a remote request");
    (status, Json(json!({ "error": refusal.to_string() }))).into_response()
}

fn bad_request(what: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": what }))).into_response()
}

fn form(body: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=')?;
        out.insert(decode(k)?, decode(v)?);
    }
    Some(out)
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space); `None` when malformed.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn allowed(shared: &Shared, user: &str, channel: &str) -> bool {
    let Some(slack) = &shared.config.slack else {
        return false;
    };
    slack.users.iter().any(|u| u == user)
        && (slack.channels.is_empty() || slack.channels.iter().any(|c| c == channel))
}

fn message(text: &str) -> Value {
    json!({ "response_type": "ephemeral", "text": text })
}

/// Posts `reply` to a `response_url`, if it is one of Slack's.
fn answer_later(
    shared: &Arc<Shared>,
    url: &str,
    reply: impl std::future::Future<Output = Option<Reply>> + Send + 'static,
) {
    if !shared
        .options
        .slack_response_prefixes
        .iter()
        .any(|p| url.starts_with(p.as_str()))
    {
        tracing::warn!("a Slack response_url outside Slack's hosts was ignored");
        return;
    }
    let (http, url) = (shared.http.clone(), url.to_owned());
    tokio::spawn(async move {
        if let Some(reply) = reply.await {
            let mut body = message(&reply.text);
            body["replace_original"] = json!(false);
            if let Err(e) = http.post(&url).json(&body).send().await {
                tracing::warn!(error = %e, "cannot answer through Slack's response_url");
            }
        }
    });
}

/// `POST /slack/commands`: `/orch status`, `/orch answer PM-0001 A`, …
pub(crate) async fn command(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = authenticate(&shared, &headers, &body) {
        return refuse(refusal);
    }
    let Some(fields) = form(&body) else {
        return bad_request("the body is not a Slack slash command form");
    };
    let (Some(user), Some(text)) = (fields.get("user_id"), fields.get("text")) else {
        return bad_request("user_id and text are required");
    };
    let channel = fields.get("channel_id").cloned().unwrap_or_default();
    let actor = Actor {
        platform: "slack",
        user: user.clone(),
    };
    let ok = allowed(&shared, user, &channel);
    respond(
        &shared,
        shared.run(&actor, ok, text).await,
        fields.get("response_url"),
    )
}

fn respond(shared: &Arc<Shared>, outcome: Outcome, response_url: Option<&String>) -> Response {
    match outcome {
        Outcome::Done(reply) => Json(message(&reply.text)).into_response(),
        Outcome::Later(rx) => {
            if let Some(url) = response_url {
                answer_later(shared, url, async move { rx.await.ok() });
            }
            Json(message("Working on it…")).into_response()
        }
        Outcome::NotAllowed => (
            StatusCode::FORBIDDEN,
            Json(message("You are not allowed to control this orch.")),
        )
            .into_response(),
        Outcome::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(message("Too many commands; wait a minute.")),
        )
            .into_response(),
    }
}

/// `POST /slack/interactions`: a button of a PM message (`value`: `answer PM-0001 A`).
pub(crate) async fn interaction(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = authenticate(&shared, &headers, &body) {
        return refuse(refusal);
    }
    let Some(payload) = form(&body)
        .and_then(|f| f.get("payload").cloned())
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
    else {
        return bad_request("the body is not a Slack interaction (payload=JSON)");
    };
    if payload["type"] != "block_actions" {
        // Other interactions (shortcuts, view submissions) are not used by orch.
        return StatusCode::OK.into_response();
    }
    let (Some(user), Some(value)) = (
        payload["user"]["id"].as_str(),
        payload["actions"][0]["value"].as_str(),
    ) else {
        return bad_request("a block_actions payload needs user.id and actions[0].value");
    };
    let channel = payload["channel"]["id"].as_str().unwrap_or_default();
    let actor = Actor {
        platform: "slack",
        user: user.to_owned(),
    };
    let ok = allowed(&shared, user, channel);
    let outcome = shared.run(&actor, ok, value).await;
    // Slack wants the press acknowledged with 200; the answer goes to response_url.
    let url = payload["response_url"].as_str().map(str::to_owned);
    match outcome {
        Outcome::Done(reply) => {
            if let Some(url) = &url {
                answer_later(&shared, url, async move { Some(reply) });
            }
            StatusCode::OK.into_response()
        }
        Outcome::Later(rx) => {
            if let Some(url) = &url {
                answer_later(&shared, url, async move { rx.await.ok() });
            }
            StatusCode::OK.into_response()
        }
        other => respond(&shared, other, url.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_strictly() {
        let f = form(b"text=answer+PM-0001+A&user_id=U1&x=%E3%81%82").unwrap();
        assert_eq!(f["text"], "answer PM-0001 A");
        assert_eq!(f["x"], "あ");
        assert!(form(b"text=%ZZ").is_none());
        assert!(form(b"novalue").is_none());
    }
}
