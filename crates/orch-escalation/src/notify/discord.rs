//! Discord webhooks: `POST <webhook URL>` with a JSON body of `content` and `embeds`.
//! A 429 answer carries `retry_after` (seconds) in its JSON body; the notifier waits that
//! long (within [`HttpSettings::max_retry_after`]) and tries again.

use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use super::http::{self, Answer, HttpSettings, Verdict};
use super::{Notifier, NotifyError};
use crate::message::{PmMessage, truncate};
use crate::secret::Secret;

const NAME: &str = "discord";
/// Embed colour (amber).
const COLOR: u32 = 0xF5_A6_23;

/// Posts PM messages to a Discord webhook.
#[derive(Debug, Clone)]
pub struct DiscordNotifier {
    url: Secret,
    client: Client,
    settings: HttpSettings,
}

impl DiscordNotifier {
    /// A notifier for this webhook URL (`https://discord.com/api/webhooks/<id>/<token>`).
    pub fn new(url: Secret, settings: HttpSettings) -> Result<DiscordNotifier, NotifyError> {
        http::check_url(NAME, "webhook URL", url.expose())?;
        Ok(DiscordNotifier {
            url,
            client: http::client(NAME)?,
            settings,
        })
    }
}

impl Notifier for DiscordNotifier {
    fn name(&self) -> &str {
        NAME
    }

    async fn notify(&self, msg: &PmMessage) -> Result<(), NotifyError> {
        let body = discord_payload(msg);
        http::send(
            NAME,
            &self.settings,
            || self.client.post(self.url.expose().trim()).json(&body),
            judge,
        )
        .await
    }
}

fn judge(answer: &Answer<'_>) -> Verdict {
    if answer.status == 429 {
        let from_body = serde_json::from_str::<Value>(answer.body)
            .ok()
            .and_then(|v| v.get("retry_after")?.as_f64())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(86_400.0)));
        let wait = from_body.or_else(|| http::retry_after_header(answer.headers));
        return http::rate_limited(NAME, wait, answer);
    }
    http::standard(NAME, answer)
}

/// Discord's limit on the characters of all embeds of one message together.
const EMBED_TOTAL_MAX: usize = 6000;
/// Most option fields shown (Discord allows 25; more would crowd out the description).
const FIELDS_MAX: usize = 10;

/// The JSON body posted to Discord for a message. Mentions are disabled, so text from logs
/// cannot ping anyone. Every part is cut to Discord's limits, and the embed as a whole to
/// 6,000 characters (the description gives way first).
pub fn discord_payload(msg: &PmMessage) -> Value {
    let title = truncate(
        &format!("{} · {} · {}", msg.id, msg.task, msg.kind.describe()),
        256,
    );
    let footer = truncate(&msg.answer_hint(), 2048);
    let mut used = title.chars().count() + footer.chars().count();
    let fields: Vec<Value> = msg
        .options
        .iter()
        .take(FIELDS_MAX)
        .map(|o| {
            let mut name = format!("{}. {}", o.key, o.title);
            if o.recommended {
                name.push_str(" (recommended)");
            }
            let mut value = String::new();
            for pro in &o.pros {
                value.push_str(&format!("+ {pro}\n"));
            }
            for con in &o.cons {
                value.push_str(&format!("- {con}\n"));
            }
            value.push_str(&format!("→ {}", o.action));
            let name = truncate(&name, 100);
            let value = truncate(&value, 400);
            used += name.chars().count() + value.chars().count();
            json!({"name": name, "value": value, "inline": false})
        })
        .collect();
    let mut description = format!("{}\n\n{}", msg.question, msg.context_lines().join("\n"));
    if !msg.context.log_tail.is_empty() {
        let tail = truncate(&msg.context.log_tail.join("\n"), 1500);
        description.push_str(&format!("\n\n**Last log lines**\n```\n{tail}\n```"));
    }
    let description = truncate(&description, 4096.min(EMBED_TOTAL_MAX.saturating_sub(used)));
    json!({
        "content": truncate(&format!("**{}** needs a decision: {}", msg.id, msg.question), 2000),
        "embeds": [{
            "title": title,
            "description": description,
            "color": COLOR,
            "fields": fields,
            "footer": {"text": footer},
        }],
        "allowed_mentions": {"parse": []},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{FailureContext, FailureKind};
    use crate::message::{Action, DecisionOption, MessageId};
    use orch_core::TaskId;

    #[test]
    fn huge_messages_stay_within_discord_limits() {
        let failure = FailureContext::new(
            TaskId::new("TASK-A-001").unwrap(),
            FailureKind::TestsFailing,
            "x".repeat(10_000),
        )
        .with_log_tail(vec!["y".repeat(400); 50]);
        let options = (0..26)
            .map(|i| {
                DecisionOption::new("t".repeat(300), Action::Skip)
                    .pro("p".repeat(2000))
                    .con(format!("{i}"))
            })
            .collect();
        let msg = PmMessage::new(
            MessageId::from_seq(1),
            &failure,
            options,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let body = discord_payload(&msg);
        let embed = &body["embeds"][0];
        let chars = |v: &Value| v.as_str().unwrap().chars().count();
        let fields = embed["fields"].as_array().unwrap();
        assert_eq!(fields.len(), FIELDS_MAX);
        let total = chars(&embed["title"])
            + chars(&embed["description"])
            + chars(&embed["footer"]["text"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        assert!(total <= EMBED_TOTAL_MAX, "{total}");
        assert!(chars(&embed["description"]) > 500);
        assert!(chars(&body["content"]) <= 2000);
    }
}
