//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI, Ollama, vLLM,
//! llama.cpp server, OpenRouter.

use std::time::Duration;

use serde_json::{Value, json};

use super::anthropic::transport_for;
use super::retry::{AttemptError, parse_retry_after};
use super::{
    BoxFuture, LanguageModel, ModelError, ModelReply, ModelRequest, RetryPolicy, error_message,
};

pub(crate) const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub(crate) const DEFAULT_MODEL: &str = "gpt-4o-mini";
const PROVIDER: &str = "openai";

/// A client for any OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    model: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl OpenAiClient {
    /// A client for `base_url`, e.g. `http://localhost:11434/v1` for Ollama.
    pub fn new(
        base_url: String,
        api_key: Option<String>,
        model: String,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Self {
        OpenAiClient {
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
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.prompt},
            ],
        });
        let mut builder = self
            .http
            .post(format!("{}/chat/completions", self.base_url))
            .timeout(self.timeout)
            .json(&body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        let sent = builder
            .send()
            .await
            .map_err(|e| transport_for(PROVIDER, e, self.timeout))?;
        let status = sent.status().as_u16();
        let retry_after = parse_retry_after(sent.headers().get("retry-after"));
        let text = sent
            .text()
            .await
            .map_err(|e| transport_for(PROVIDER, e, self.timeout))?;
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

fn parse_reply(text: &str) -> Result<ModelReply, ModelError> {
    let malformed = |message: String| ModelError::Malformed {
        provider: PROVIDER,
        message,
    };
    let value: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("not JSON ({e})")))?;
    let content = value
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no `choices[0].message.content`".into()))?;
    Ok(ModelReply {
        text: content.to_owned(),
        model: value
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        input_tokens: value
            .pointer("/usage/prompt_tokens")
            .and_then(Value::as_u64),
        output_tokens: value
            .pointer("/usage/completion_tokens")
            .and_then(Value::as_u64),
        cost_usd: None,
        attempts: 1,
    })
}

impl LanguageModel for OpenAiClient {
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
