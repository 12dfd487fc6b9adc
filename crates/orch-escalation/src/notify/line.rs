//! LINE Messaging API push messages: `POST {base}/v2/bot/message/push` with
//! `Authorization: Bearer <channel access token>` and a body
//! `{"to": "<user, group or room id>", "messages": [{"type": "text", "text": "…"}]}`.
//!
//! The text message carries a `quickReply` with a postback button per option (the first 13,
//! LINE's limit; see [`super::buttons`] for the payload contract), shown on LINE for iOS and
//! Android; a press reaches orch through the channel's webhook.
//!
//! Every delivery carries one `X-Line-Retry-Key` (a UUID) on all its attempts, so a retry
//! after a lost answer cannot send the message twice; LINE answers such a retry with 409,
//! which counts as delivered.

use serde_json::{Value, json};

use super::buttons::{answer_value, cut, label, utf16_len};
use crate::message::PmMessage;
#[cfg(feature = "http")]
use {
    super::http::{self, HttpSettings},
    super::{Notifier, NotifyError},
    crate::secret::Secret,
    reqwest::Client,
};

#[cfg(feature = "http")]
const NAME: &str = "line";
/// The real API; override it for tests with [`LineNotifier::with_api_base`].
pub const LINE_API_BASE: &str = "https://api.line.me";
/// Longest text message LINE accepts, in UTF-16 code units (LINE counts text that way: 🍎
/// is two).
const TEXT_MAX: usize = 5000;
/// Quick reply limits: buttons per message, a button's label, a postback's `displayText`
/// (both counted by LINE in grapheme clusters).
const QUICK_REPLY_MAX: usize = 13;
const LABEL_MAX: usize = 20;
const DISPLAY_TEXT_MAX: usize = 300;

/// Pushes PM messages to a LINE user, group or room. Needs the `http` feature.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct LineNotifier {
    token: Secret,
    to: String,
    endpoint: String,
    client: Client,
    settings: HttpSettings,
}

#[cfg(feature = "http")]
impl LineNotifier {
    /// A notifier with this channel access token, pushing to `to` (a user, group or room id).
    pub fn new(
        token: Secret,
        to: impl Into<String>,
        settings: HttpSettings,
    ) -> Result<LineNotifier, NotifyError> {
        let to = to.into().trim().to_owned();
        if token.is_blank() {
            return Err(NotifyError::Config {
                notifier: NAME.into(),
                problem: "the channel access token is empty".into(),
            });
        }
        if to.is_empty() {
            return Err(NotifyError::Config {
                notifier: NAME.into(),
                problem: "the recipient (`to`) is empty".into(),
            });
        }
        Ok(LineNotifier {
            token,
            to,
            endpoint: endpoint(LINE_API_BASE),
            client: http::client(NAME)?,
            settings,
        })
    }

    /// Sends to another API base URL (a test server) instead of [`LINE_API_BASE`].
    pub fn with_api_base(mut self, base: &str) -> Result<LineNotifier, NotifyError> {
        http::check_url(NAME, "API base", base)?;
        self.endpoint = endpoint(base);
        Ok(self)
    }
}

#[cfg(feature = "http")]
fn endpoint(base: &str) -> String {
    format!("{}/v2/bot/message/push", base.trim().trim_end_matches('/'))
}

#[cfg(feature = "http")]
impl Notifier for LineNotifier {
    fn name(&self) -> &str {
        NAME
    }

    async fn notify(&self, msg: &PmMessage) -> Result<(), NotifyError> {
        let body = line_payload(&self.to, msg);
        let retry_key = uuid::Uuid::new_v4().to_string();
        http::send(
            NAME,
            &self.settings,
            || {
                self.client
                    .post(&self.endpoint)
                    .bearer_auth(self.token.expose().trim())
                    .header("X-Line-Retry-Key", &retry_key)
                    .json(&body)
            },
            |answer| {
                if answer.status == 409 && answer.attempt > 1 {
                    // An earlier attempt with this retry key was accepted.
                    return http::Verdict::Done;
                }
                http::standard(NAME, answer)
            },
        )
        .await
    }
}

/// The JSON body pushed to LINE for a message: one text message with the plain-text
/// rendering, within LINE's 5,000 UTF-16 code units (a long log tail is left out first, so
/// the options and the answer hint stay), and a quick reply button per option (the first
/// 13): a postback of `answer <PM id> <letter>` that shows `<letter>. <title>` in the chat.
pub fn line_payload(to: &str, msg: &PmMessage) -> Value {
    let mut message = json!({"type": "text", "text": text(msg)});
    let items: Vec<Value> = msg
        .options
        .iter()
        .take(QUICK_REPLY_MAX)
        .map(|option| {
            let label = label(option);
            json!({
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": cut(&label, LABEL_MAX),
                    "data": answer_value(msg, option),
                    "displayText": cut(&label, DISPLAY_TEXT_MAX),
                },
            })
        })
        .collect();
    if !items.is_empty() {
        message["quickReply"] = json!({"items": items});
    }
    json!({"to": to, "messages": [message]})
}

/// The plain-text rendering within [`TEXT_MAX`]; without the log tail when it would not fit.
fn text(msg: &PmMessage) -> String {
    let full = msg.render_text();
    if utf16_len(&full) <= TEXT_MAX || msg.context.log_tail.is_empty() {
        return cut(&full, TEXT_MAX);
    }
    let mut short = msg.clone();
    short.context.log_tail.clear();
    cut(&short.render_text(), TEXT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "http")]
    #[test]
    fn config_errors_and_redaction() {
        assert!(LineNotifier::new(Secret::new(""), "U1", HttpSettings::default()).is_err());
        assert!(LineNotifier::new(Secret::new("t"), " ", HttpSettings::default()).is_err());
        let n = LineNotifier::new(Secret::new("TOKEN123"), "U1", HttpSettings::default())
            .unwrap()
            .with_api_base("http://127.0.0.1:9/")
            .unwrap();
        assert_eq!(n.endpoint, "http://127.0.0.1:9/v2/bot/message/push");
        assert!(!format!("{n:?}").contains("TOKEN123"));
    }

    #[test]
    fn text_fits_in_utf16_code_units() {
        use crate::failure::{FailureContext, FailureKind};
        use crate::message::{Action, DecisionOption, MessageId};
        use orch_core::TaskId;

        let failure = FailureContext::new(
            TaskId::new("TASK-A-001").unwrap(),
            FailureKind::TestsFailing,
            "🍎".repeat(2000),
        );
        // 26 options of 200 🍎: 2,000 characters but 4,000 UTF-16 code units per 10 options.
        let options = (0..26)
            .map(|_| DecisionOption::new("🍎".repeat(200), Action::Skip))
            .collect();
        let msg = PmMessage::new(
            MessageId::from_seq(1),
            &failure,
            options,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        assert!(msg.render_text().chars().count() > TEXT_MAX);
        let body = line_payload("U1", &msg);
        let text = body["messages"][0]["text"].as_str().unwrap();
        assert_eq!(utf16_len(text), TEXT_MAX);
        assert!(text.ends_with("🍎…"), "cut on a char boundary");
        let items = body["messages"][0]["quickReply"]["items"]
            .as_array()
            .unwrap();
        assert_eq!(items.len(), QUICK_REPLY_MAX);
        for item in items {
            let label = item["action"]["label"].as_str().unwrap();
            assert!(utf16_len(label) <= LABEL_MAX, "{label}");
        }
    }
}
