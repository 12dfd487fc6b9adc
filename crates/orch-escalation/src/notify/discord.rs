//! Discord webhooks: `POST <webhook URL>` with a JSON body of `content`, `embeds` and
//! `components` (the options as buttons; see [`super::buttons`] for the payload contract).
//! A 429 answer carries `retry_after` (seconds) in its JSON body; the notifier waits that
//! long (within [`HttpSettings::max_retry_after`]) and tries again.
//!
//! Discord ignores `components` sent to a webhook unless the URL has `?with_components=true`,
//! and only a webhook owned by an application may then send interactive components such as
//! these buttons. So the buttons go out with that parameter, and when Discord refuses them
//! (400: a webhook made in a channel's settings, not by an application), the message goes out
//! again without them, as it did before buttons: the embed and its `orch msg answer` hint.

use serde_json::{Value, json};

use super::buttons::{cut, label};
use crate::message::{PmMessage, truncate};
#[cfg(feature = "http")]
use {
    super::http::{self, Answer, HttpSettings, Verdict},
    super::{Notifier, NotifyError},
    crate::secret::Secret,
    reqwest::Client,
    std::time::Duration,
};

#[cfg(feature = "http")]
const NAME: &str = "discord";
/// Embed colour (amber).
const COLOR: u32 = 0xF5_A6_23;

/// Posts PM messages to a Discord webhook. Needs the `http` feature.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct DiscordNotifier {
    url: Secret,
    client: Client,
    settings: HttpSettings,
}

#[cfg(feature = "http")]
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

#[cfg(feature = "http")]
impl Notifier for DiscordNotifier {
    fn name(&self) -> &str {
        NAME
    }

    async fn notify(&self, msg: &PmMessage) -> Result<(), NotifyError> {
        let mut body = discord_payload(msg);
        let url = self.url.expose().trim();
        if body.get("components").is_some() {
            match self.post(&with_components(url), &body).await {
                Err(NotifyError::Http { status: 400, .. }) => {
                    tracing::warn!(
                        message = %msg.id,
                        "discord refused the answer buttons (only an application-owned webhook \
                         can send them); sending the message without them"
                    );
                    if let Some(fields) = body.as_object_mut() {
                        fields.remove("components");
                    }
                }
                other => return other,
            }
        }
        self.post(url, &body).await
    }
}

#[cfg(feature = "http")]
impl DiscordNotifier {
    async fn post(&self, url: &str, body: &Value) -> Result<(), NotifyError> {
        http::send(
            NAME,
            &self.settings,
            || self.client.post(url).json(body),
            judge,
        )
        .await
    }
}

/// The webhook URL with `with_components=true` added to its query (kept as it is when it
/// already says so). The URL was checked when the notifier was made.
#[cfg(feature = "http")]
fn with_components(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_owned();
    };
    if parsed.query_pairs().any(|(k, _)| k == "with_components") {
        return url.to_owned();
    }
    parsed
        .query_pairs_mut()
        .append_pair("with_components", "true");
    parsed.into()
}

#[cfg(feature = "http")]
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
/// Most option fields shown (Discord allows 25; more would crowd out the description). The
/// options after them are listed, one line each, in one more field.
const FIELDS_MAX: usize = 10;
/// Discord's limit on an embed field's value.
const FIELD_VALUE_MAX: usize = 1024;
/// A line of the "More options" field: at most this long, and cut down to at least this
/// when the embed runs short of room (`K. …`).
const MORE_LINE_MAX: usize = 60;
const MORE_LINE_MIN: usize = 4;
/// Characters of description the "More options" field leaves room for.
const DESCRIPTION_KEPT: usize = 600;
/// Component limits of a message without the components-v2 flag: a button's label, buttons
/// per action row, action rows per message.
const BUTTON_LABEL_MAX: usize = 80;
const ROW_MAX: usize = 5;
const ROWS_MAX: usize = 5;

/// The JSON body posted to Discord for a message. Mentions are disabled, so text from logs
/// cannot ping anyone. Every part is cut to Discord's limits, and the embed as a whole to
/// 6,000 characters (the description gives way first). The options are also buttons in
/// `components`: rows of up to 5, at most 5 rows (options after the 25th are in the embed
/// only), the recommended one primary.
pub fn discord_payload(msg: &PmMessage) -> Value {
    let title = truncate(
        &format!("{} · {} · {}", msg.id, msg.task, msg.kind.describe()),
        256,
    );
    let footer = truncate(&msg.answer_hint(), 2048);
    let mut used = title.chars().count() + footer.chars().count();
    let mut fields: Vec<Value> = msg
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
    let more = &msg.options[FIELDS_MAX.min(msg.options.len())..];
    let name = "More options";
    // What the embed can spare for them and still keep some description.
    let budget =
        FIELD_VALUE_MAX.min(EMBED_TOTAL_MAX.saturating_sub(used + name.len() + DESCRIPTION_KEPT));
    if !more.is_empty() && budget > 0 {
        // Every line gets its share (and its newline) of the budget.
        let per_line = (budget / more.len())
            .saturating_sub(1)
            .clamp(MORE_LINE_MIN, MORE_LINE_MAX);
        let lines: Vec<String> = more
            .iter()
            .map(|o| {
                let mut line = label(o);
                if o.recommended {
                    line.push_str(" (recommended)");
                }
                cut(&line, per_line)
            })
            .collect();
        let value = truncate(&lines.join("\n"), budget);
        used += name.chars().count() + value.chars().count();
        fields.push(json!({"name": name, "value": value, "inline": false}));
    }
    let mut description = format!("{}\n\n{}", msg.question, msg.context_lines().join("\n"));
    if !msg.context.log_tail.is_empty() {
        let tail = truncate(&msg.context.log_tail.join("\n"), 1500);
        description.push_str(&format!("\n\n**Last log lines**\n```\n{tail}\n```"));
    }
    let description = truncate(&description, 4096.min(EMBED_TOTAL_MAX.saturating_sub(used)));
    let mut body = json!({
        "content": truncate(&format!("**{}** needs a decision: {}", msg.id, msg.question), 2000),
        "embeds": [{
            "title": title,
            "description": description,
            "color": COLOR,
            "fields": fields,
            "footer": {"text": footer},
        }],
        "allowed_mentions": {"parse": []},
    });
    let rows = answer_rows(msg);
    if !rows.is_empty() {
        body["components"] = Value::Array(rows);
    }
    body
}

/// Action rows of buttons, one per option (the first 25), the recommended one primary (style
/// 1), the others secondary (2).
fn answer_rows(msg: &PmMessage) -> Vec<Value> {
    let buttons: Vec<Value> = msg
        .options
        .iter()
        .take(ROW_MAX * ROWS_MAX)
        .map(|o| {
            json!({
                "type": 2,
                "style": if o.recommended { 1 } else { 2 },
                "label": cut(&label(o), BUTTON_LABEL_MAX),
                "custom_id": format!("orch:answer:{}:{}", msg.id, o.key),
            })
        })
        .collect();
    buttons
        .chunks(ROW_MAX)
        .map(|row| json!({"type": 1, "components": row}))
        .collect()
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
        assert_eq!(
            fields.len(),
            FIELDS_MAX + 1,
            "ten options and the rest in one field"
        );
        assert_eq!(fields[FIELDS_MAX]["name"], "More options");
        assert!(chars(&fields[FIELDS_MAX]["value"]) <= FIELD_VALUE_MAX);
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
        let rows = body["components"].as_array().unwrap();
        assert_eq!(rows.len(), ROWS_MAX);
        for button in rows
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
        {
            assert!(chars(&button["label"]) <= BUTTON_LABEL_MAX);
            assert!(chars(&button["custom_id"]) <= 100);
        }
    }

    #[cfg(feature = "http")]
    #[test]
    fn components_are_asked_for_in_the_query() {
        assert_eq!(
            with_components("https://discord.com/api/webhooks/1/abc"),
            "https://discord.com/api/webhooks/1/abc?with_components=true"
        );
        assert_eq!(
            with_components("https://discord.com/api/webhooks/1/abc?thread_id=7"),
            "https://discord.com/api/webhooks/1/abc?thread_id=7&with_components=true"
        );
        assert_eq!(
            with_components("https://discord.com/api/webhooks/1/abc?with_components=true"),
            "https://discord.com/api/webhooks/1/abc?with_components=true"
        );
    }
}
