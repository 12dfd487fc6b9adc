//! LINE Messaging API push messages: `POST {base}/v2/bot/message/push` with
//! `Authorization: Bearer <channel access token>` and a body
//! `{"to": "<user, group or room id>", "messages": [{"type": "text", "text": "…"}]}`.
//!
//! Every delivery carries one `X-Line-Retry-Key` (a UUID) on all its attempts, so a retry
//! after a lost answer cannot send the message twice; LINE answers such a retry with 409,
//! which counts as delivered.

use reqwest::Client;
use serde_json::{Value, json};

use super::http::{self, HttpSettings};
use super::{Notifier, NotifyError};
use crate::message::{PmMessage, truncate};
use crate::secret::Secret;

const NAME: &str = "line";
/// The real API; override it for tests with [`LineNotifier::with_api_base`].
pub const LINE_API_BASE: &str = "https://api.line.me";
/// Longest text message LINE accepts, in characters.
const TEXT_MAX: usize = 5000;

/// Pushes PM messages to a LINE user, group or room.
#[derive(Debug, Clone)]
pub struct LineNotifier {
    token: Secret,
    to: String,
    endpoint: String,
    client: Client,
    settings: HttpSettings,
}

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

fn endpoint(base: &str) -> String {
    format!("{}/v2/bot/message/push", base.trim().trim_end_matches('/'))
}

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
/// rendering, cut to LINE's 5,000 characters.
pub fn line_payload(to: &str, msg: &PmMessage) -> Value {
    json!({
        "to": to,
        "messages": [{"type": "text", "text": truncate(&msg.render_text(), TEXT_MAX)}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
