//! Slack incoming webhooks: `POST <webhook URL>` with a JSON body of `text` (the
//! notification fallback) and `blocks` (Block Kit layout).
//!
//! The options also go out as buttons, in an `actions` block (see [`super::buttons`] for the
//! payload contract). Pressing one reaches orch only when the webhook belongs to a Slack app
//! with Interactivity turned on; the text and the `orch msg answer` hint still say how to
//! answer where buttons are not shown or not wired up.

use serde_json::{Value, json};

use super::buttons::{answer_value, cut, label};
use crate::message::{PmMessage, truncate};
#[cfg(feature = "http")]
use {
    super::http::{self, HttpSettings},
    super::{Notifier, NotifyError},
    crate::secret::Secret,
    reqwest::Client,
};

#[cfg(feature = "http")]
const NAME: &str = "slack";
/// Block Kit limits: header text, section text.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
/// Block Kit limits: a button's text, the elements of one actions block. A message may
/// hold 50 blocks; with at most 26 options (`A`–`Z`) it holds at most 33.
const BUTTON_TEXT_MAX: usize = 75;
const ACTIONS_MAX: usize = 25;

/// Posts PM messages to a Slack incoming webhook. Needs the `http` feature.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct SlackNotifier {
    url: Secret,
    client: Client,
    settings: HttpSettings,
}

#[cfg(feature = "http")]
impl SlackNotifier {
    /// A notifier for this webhook URL (`https://hooks.slack.com/services/…`).
    pub fn new(url: Secret, settings: HttpSettings) -> Result<SlackNotifier, NotifyError> {
        http::check_url(NAME, "webhook URL", url.expose())?;
        Ok(SlackNotifier {
            url,
            client: http::client(NAME)?,
            settings,
        })
    }
}

#[cfg(feature = "http")]
impl Notifier for SlackNotifier {
    fn name(&self) -> &str {
        NAME
    }

    async fn notify(&self, msg: &PmMessage) -> Result<(), NotifyError> {
        let body = slack_payload(msg);
        http::send(
            NAME,
            &self.settings,
            || self.client.post(self.url.expose().trim()).json(&body),
            |answer| http::standard(NAME, answer),
        )
        .await
    }
}

/// Escapes the three characters Slack's `mrkdwn` reserves.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mrkdwn_section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)},
    })
}

/// The JSON body posted to Slack for a message.
pub fn slack_payload(msg: &PmMessage) -> Value {
    let title = format!("{} · {} · {}", msg.id, msg.task, msg.kind.describe());
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&title, HEADER_MAX), "emoji": true},
        }),
        mrkdwn_section(&escape(&msg.question)),
        mrkdwn_section(&escape(&msg.context_lines().join("\n"))),
    ];
    if !msg.context.log_tail.is_empty() {
        let tail = escape(&msg.context.log_tail.join("\n"));
        // Keep the closing fence when the tail is long.
        let tail = truncate(&tail, SECTION_MAX - 20);
        blocks.push(mrkdwn_section(&format!(
            "*Last log lines*\n```\n{tail}\n```"
        )));
    }
    blocks.push(json!({"type": "divider"}));
    for option in &msg.options {
        let mut text = format!("*{}. {}*", option.key, escape(&option.title));
        if option.recommended {
            text.push_str("  _(recommended)_");
        }
        for pro in &option.pros {
            text.push_str(&format!("\n:heavy_plus_sign: {}", escape(pro)));
        }
        for con in &option.cons {
            text.push_str(&format!("\n:heavy_minus_sign: {}", escape(con)));
        }
        blocks.push(mrkdwn_section(&text));
    }
    if let Some(actions) = answer_buttons(msg) {
        blocks.push(actions);
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!("Answer with `{}`", escape(&msg.answer_command())),
        }],
    }));
    json!({
        "text": truncate(&format!("{}: {}", msg.id, msg.question), SECTION_MAX),
        "blocks": blocks,
    })
}

/// The `actions` block with one button per option (the first 25; any further option is in
/// the text only), the recommended one `primary`. `None` without options.
fn answer_buttons(msg: &PmMessage) -> Option<Value> {
    let elements: Vec<Value> = msg
        .options
        .iter()
        .take(ACTIONS_MAX)
        .map(|option| {
            let mut button = json!({
                "type": "button",
                "text": {
                    "type": "plain_text",
                    "text": cut(&label(option), BUTTON_TEXT_MAX),
                    "emoji": true,
                },
                "action_id": format!("orch_answer_{}", option.key),
                "value": answer_value(msg, option),
            });
            if option.recommended {
                button["style"] = json!("primary");
            }
            button
        })
        .collect();
    (!elements.is_empty()).then(|| {
        json!({
            "type": "actions",
            "block_id": format!("orch_answer_{}", msg.id),
            "elements": elements,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reserved_characters() {
        assert_eq!(escape("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
    }

    #[cfg(feature = "http")]
    #[test]
    fn debug_hides_the_url() {
        let n = SlackNotifier::new(
            Secret::new("https://hooks.slack.com/services/T0/B0/SECRET"),
            HttpSettings::default(),
        )
        .unwrap();
        let debug = format!("{n:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(!debug.contains("hooks.slack.com"), "{debug}");
        assert!(SlackNotifier::new(Secret::new("not a url"), HttpSettings::default()).is_err());
    }
}
