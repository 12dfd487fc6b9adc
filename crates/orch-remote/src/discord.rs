//! Discord interactions: PING (answered PONG), the `/orch` slash command (option `command`,
//! a string) and button presses (`custom_id` `orch:answer:PM-0001:A`). The Ed25519
//! signature over `timestamp + body` is checked before anything is parsed. A command done
//! within Discord's 3 s is the response itself; a slower one is deferred and its result
//! edits the original response through the interaction's webhook.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::server::{Actor, Outcome, Shared};
use crate::slack::refuse;
use crate::verify::{Refusal, verify_discord};

/// Interaction types.
const PING: u64 = 1;
const APPLICATION_COMMAND: u64 = 2;
const MESSAGE_COMPONENT: u64 = 3;
/// Response types.
const PONG: u64 = 1;
const CHANNEL_MESSAGE_WITH_SOURCE: u64 = 4;
const DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: u64 = 5;
/// Message flag: only the user who acted sees it.
const EPHEMERAL: u64 = 1 << 6;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bad_request(what: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": what }))).into_response()
}

fn message(kind: u64, text: &str) -> Value {
    json!({ "type": kind, "data": { "content": cut(text, 2000), "flags": EPHEMERAL } })
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The text command an interaction carries.
fn command_text(body: &Value) -> Option<String> {
    match body["type"].as_u64()? {
        APPLICATION_COMMAND => {
            let options = body["data"]["options"].as_array();
            let text = options
                .into_iter()
                .flatten()
                .filter_map(|o| o["value"].as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Some(text)
        }
        MESSAGE_COMPONENT => {
            let id = body["data"]["custom_id"].as_str()?;
            let rest = id.strip_prefix("orch:")?;
            Some(rest.split(':').collect::<Vec<_>>().join(" "))
        }
        _ => None,
    }
}

fn allowed(shared: &Shared, user: &str, guild: Option<&str>) -> bool {
    let Some(discord) = &shared.config.discord else {
        return false;
    };
    discord.users.iter().any(|u| u == user)
        && (discord.guilds.is_empty()
            || guild.is_some_and(|g| discord.guilds.iter().any(|x| x == g)))
}

/// `POST /discord/interactions`.
pub(crate) async fn interaction(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = &shared.discord_key else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(refusal) = verify_discord(
        key,
        header(&headers, "x-signature-timestamp"),
        header(&headers, "x-signature-ed25519"),
        &body,
        Shared::now_unix(),
        shared.config.timestamp_window_secs,
    ) {
        return refuse(refusal);
    }
    let Ok(interaction) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("the body is not JSON");
    };
    let Some(kind) = interaction["type"].as_u64() else {
        return bad_request("an interaction needs a type");
    };
    if kind == PING {
        return Json(json!({ "type": PONG })).into_response();
    }
    let Some(id) = interaction["id"].as_str() else {
        return bad_request("an interaction needs an id");
    };
    if !shared
        .replay
        .first_time(&format!("discord:{id}"), std::time::Instant::now())
    {
        return refuse(Refusal::Replayed);
    }
    let user = interaction["member"]["user"]["id"]
        .as_str()
        .or_else(|| interaction["user"]["id"].as_str());
    let (Some(user), Some(text)) = (user, command_text(&interaction)) else {
        return bad_request("a command or component interaction with a user is expected");
    };
    let actor = Actor {
        platform: "discord",
        user: user.to_owned(),
    };
    let ok = allowed(&shared, user, interaction["guild_id"].as_str());
    match shared.run(&actor, ok, &text).await {
        Outcome::Done(reply) => {
            Json(message(CHANNEL_MESSAGE_WITH_SOURCE, &reply.text)).into_response()
        }
        Outcome::Later(rx) => {
            let (Some(app), Some(token)) = (
                interaction["application_id"].as_str(),
                interaction["token"].as_str(),
            ) else {
                return Json(message(CHANNEL_MESSAGE_WITH_SOURCE, "Working on it…"))
                    .into_response();
            };
            let url = format!(
                "{}/webhooks/{app}/{token}/messages/@original",
                shared.options.discord_api.trim_end_matches('/')
            );
            let http = shared.http.clone();
            tokio::spawn(async move {
                if let Ok(reply) = rx.await {
                    let body = json!({ "content": cut(&reply.text, 2000) });
                    if let Err(e) = http.patch(&url).json(&body).send().await {
                        tracing::warn!(error = %e, "cannot edit Discord's deferred response");
                    }
                }
            });
            Json(json!({ "type": DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": { "flags": EPHEMERAL } }))
                .into_response()
        }
        Outcome::NotAllowed => (
            StatusCode::FORBIDDEN,
            Json(message(
                CHANNEL_MESSAGE_WITH_SOURCE,
                "You are not allowed to control this orch.",
            )),
        )
            .into_response(),
        Outcome::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(message(
                CHANNEL_MESSAGE_WITH_SOURCE,
                "Too many commands; wait a minute.",
            )),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_buttons_become_text_commands() {
        let slash = json!({"type": 2, "data": {"name": "orch", "options": [{"name": "command", "type": 3, "value": "answer PM-0001 A"}]}});
        assert_eq!(command_text(&slash).as_deref(), Some("answer PM-0001 A"));
        let button =
            json!({"type": 3, "data": {"custom_id": "orch:answer:PM-0001:B", "component_type": 2}});
        assert_eq!(command_text(&button).as_deref(), Some("answer PM-0001 B"));
        let foreign = json!({"type": 3, "data": {"custom_id": "other:thing"}});
        assert_eq!(command_text(&foreign), None);
    }
}
