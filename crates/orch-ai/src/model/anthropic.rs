//! The Anthropic Messages API (`POST /v1/messages`).

use std::time::Duration;

use serde_json::{Value, json};

use super::retry::{AttemptError, parse_retry_after};
use super::{
    BoxFuture, LanguageModel, ModelError, ModelReply, ModelRequest, RetryPolicy, error_message,
};

pub(crate) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub(crate) const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
const API_VERSION: &str = "2023-06-01";
const PROVIDER: &str = "anthropic";

/// A client for the Anthropic Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl AnthropicClient {
    /// A client for `base_url` (`https://api.anthropic.com` in production).
    pub fn new(
        base_url: String,
        api_key: String,
        model: String,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Self {
        AnthropicClient {
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model,
            timeout,
            retry,
        }
    }

    async fn attempt(&self, request: &ModelRequest) -> Result<ModelReply, AttemptError> {
        let body = json!({
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": [{"role": "user", "content": request.prompt}],
        });
        let sent = self
            .http
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .header("content-type", "application/json")
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout))?;
        let status = sent.status().as_u16();
        let retry_after = parse_retry_after(sent.headers().get("retry-after"));
        let text = sent.text().await.map_err(|e| transport(e, self.timeout))?;
        if status != 200 {
            return Err(AttemptError {
                error: ModelError::Status {
                    provider: PROVIDER,
                    status,
                    message: error_message(&text),
                },
                retry_after,
            });
        }
        parse_reply(&text).map_err(Into::into)
    }
}

pub(crate) fn transport(e: reqwest::Error, timeout: Duration) -> ModelError {
    transport_for(PROVIDER, e, timeout)
}

pub(crate) fn transport_for(
    provider: &'static str,
    e: reqwest::Error,
    timeout: Duration,
) -> ModelError {
    if e.is_timeout() {
        ModelError::Timeout {
            provider,
            seconds: timeout.as_secs().max(1),
        }
    } else {
        // Include the source chain: "error decoding response body: unexpected EOF".
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        ModelError::Transport { provider, message }
    }
}

fn parse_reply(text: &str) -> Result<ModelReply, ModelError> {
    let malformed = |message: String| ModelError::Malformed {
        provider: PROVIDER,
        message,
    };
    let value: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("not JSON ({e})")))?;
    let content = value
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no `content` array".into()))?;
    let text: String = content
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    if text.is_empty() {
        return Err(malformed("no text block in `content`".into()));
    }
    Ok(ModelReply {
        text,
        model: value
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        input_tokens: value.pointer("/usage/input_tokens").and_then(Value::as_u64),
        output_tokens: value
            .pointer("/usage/output_tokens")
            .and_then(Value::as_u64),
        cost_usd: None,
        attempts: 1,
    })
}

impl LanguageModel for AnthropicClient {
    fn describe(&self) -> String {
        format!("{PROVIDER}/{}", self.model)
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(self.retry.run(move || self.attempt(request)))
    }
}
