//! A generic JSON webhook: `POST <url>` with the [`PmMessage`] as JSON. With a secret
//! configured, the body is signed: `X-Orch-Signature-256: sha256=<hex HMAC-SHA256 of the
//! body>` (the same scheme as GitHub's `X-Hub-Signature-256`), so the receiver can check
//! that the message came from orch.

#[cfg(feature = "http")]
use {
    super::hmac::hmac_sha256,
    super::http::{self, HttpSettings},
    super::{Notifier, NotifyError},
    crate::failure::hex,
    crate::message::PmMessage,
    crate::secret::Secret,
    reqwest::Client,
    reqwest::header::CONTENT_TYPE,
};

#[cfg(feature = "http")]
const NAME: &str = "webhook";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Orch-Signature-256";

/// Posts PM messages as JSON to any URL. Needs the `http` feature.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    url: Secret,
    secret: Option<Secret>,
    client: Client,
    settings: HttpSettings,
}

#[cfg(feature = "http")]
impl WebhookNotifier {
    /// A notifier for this URL; with `secret`, bodies are signed.
    pub fn new(
        url: Secret,
        secret: Option<Secret>,
        settings: HttpSettings,
    ) -> Result<WebhookNotifier, NotifyError> {
        http::check_url(NAME, "URL", url.expose())?;
        Ok(WebhookNotifier {
            url,
            secret: secret.filter(|s| !s.is_blank()),
            client: http::client(NAME)?,
            settings,
        })
    }

    /// `sha256=<hex>` for a body under a secret: what [`SIGNATURE_HEADER`] carries.
    pub fn signature(secret: &[u8], body: &[u8]) -> String {
        format!("sha256={}", hex(&hmac_sha256(secret, body)))
    }
}

#[cfg(feature = "http")]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        NAME
    }

    async fn notify(&self, msg: &PmMessage) -> Result<(), NotifyError> {
        let body = serde_json::to_vec(msg).map_err(|e| NotifyError::Config {
            notifier: NAME.into(),
            problem: format!("cannot encode the message: {e}"),
        })?;
        let signature = self
            .secret
            .as_ref()
            .map(|s| WebhookNotifier::signature(s.expose().as_bytes(), &body));
        let delivery = uuid::Uuid::new_v4().to_string();
        http::send(
            NAME,
            &self.settings,
            || {
                let mut request = self
                    .client
                    .post(self.url.expose().trim())
                    .header(CONTENT_TYPE, "application/json")
                    .header("X-Orch-Event", "pm_message")
                    .header("X-Orch-Delivery", &delivery)
                    .body(body.clone());
                if let Some(signature) = &signature {
                    request = request.header(SIGNATURE_HEADER, signature);
                }
                request
            },
            |answer| http::standard(NAME, answer),
        )
        .await
    }
}
