//! Slack incoming webhooks: `POST <webhook URL>` with a JSON body of `text` (the
//! notification fallback) and `blocks` (Block Kit layout).

use reqwest::Client;
use serde_json::{Value, json};

use super::http::{self, HttpSettings};
use super::{Notifier, NotifyError};
use crate::message::{PmMessage, truncate};
use crate::secret::Secret;

const NAME: &str = "slack";
/// Block Kit limits: header text, section text.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;

/// Posts PM messages to a Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct SlackNotifier {
    url: Secret,
    client: Client,
    settings: HttpSettings,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reserved_characters() {
        assert_eq!(escape("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
    }

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
