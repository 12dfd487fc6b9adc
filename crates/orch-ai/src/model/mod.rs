//! The `LanguageModel` seam and its clients: the Anthropic Messages API, any
//! OpenAI-compatible chat-completions server, and the Claude Code CLI. Every client has a
//! request timeout and a hard bound on attempts; 429, 5xx and 529 are retried with backoff,
//! honouring `retry-after`.

#[cfg(feature = "http")]
mod anthropic;
mod claude_cli;
#[cfg(feature = "http")]
mod openai;
mod retry;
mod scripted;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(feature = "http")]
pub use anthropic::AnthropicClient;
pub use claude_cli::ClaudeCliClient;
#[cfg(feature = "http")]
pub use openai::OpenAiClient;
pub use retry::RetryPolicy;
pub use scripted::ScriptedModel;

/// A boxed future, so [`LanguageModel`] can be used as `dyn LanguageModel`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One request to a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRequest {
    /// The system prompt.
    pub system: String,
    /// The user turn.
    pub prompt: String,
    /// Upper bound on the answer's length.
    pub max_tokens: u32,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The text of the answer.
    pub text: String,
    /// The model that answered, as reported by the provider.
    pub model: String,
    /// Tokens in, when reported.
    pub input_tokens: Option<u64>,
    /// Tokens out, when reported.
    pub output_tokens: Option<u64>,
    /// Cost in US dollars, when reported.
    pub cost_usd: Option<f64>,
    /// How many attempts it took.
    pub attempts: u32,
}

/// Why a model request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The provider needs a key and the variable is unset or empty.
    #[error("{provider} needs an API key: set {variable} (or choose --provider offline)")]
    MissingKey {
        /// Provider name.
        provider: &'static str,
        /// The environment variable.
        variable: String,
    },
    /// The server answered with an error status that is not worth retrying.
    #[error("{provider} returned HTTP {status}: {message}")]
    Status {
        /// Provider name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// The error message from the body, or the body itself.
        message: String,
    },
    /// The request did not finish within the timeout.
    #[error("{provider} did not answer within {seconds} s")]
    Timeout {
        /// Provider name.
        provider: &'static str,
        /// The limit.
        seconds: u64,
    },
    /// Connection refused, reset, or a body cut short.
    #[error("{provider}: {message}")]
    Transport {
        /// Provider name.
        provider: &'static str,
        /// What happened.
        message: String,
    },
    /// The answer arrived but is not in the provider's format.
    #[error("{provider} sent a malformed answer: {message}")]
    Malformed {
        /// Provider name.
        provider: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Every allowed attempt failed with a retryable error.
    #[error("gave up after {attempts} attempts; last error: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: Box<ModelError>,
    },
    /// The CLI could not be started or failed.
    #[error("{message}")]
    Cli {
        /// What happened.
        message: String,
    },
    /// The provider's client is not in this build: orch-ai was built without its `http`
    /// feature, which the Anthropic and OpenAI-compatible clients need.
    #[error("{provider} needs orch-ai's `http` feature, which this build does not have")]
    Unavailable {
        /// Provider name.
        provider: &'static str,
    },
}

impl ModelError {
    /// Whether another attempt may succeed (429, 5xx, 529, timeouts, dropped connections).
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Status { status, .. } => *status == 429 || *status >= 500,
            ModelError::Timeout { .. } | ModelError::Transport { .. } => true,
            _ => false,
        }
    }
}

/// A language model: a request in, text out.
pub trait LanguageModel: Send + Sync {
    /// `provider/model`, for logs and reports.
    fn describe(&self) -> String;

    /// Sends one request, retrying within the client's own bounds.
    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>>;
}

/// Which client to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// No model: the heuristic planner.
    Offline,
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI-compatible chat completions.
    OpenAi,
    /// `claude -p --output-format json`.
    ClaudeCli,
}

impl std::str::FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Provider, String> {
        match s {
            "offline" | "none" => Ok(Provider::Offline),
            "anthropic" => Ok(Provider::Anthropic),
            "openai" => Ok(Provider::OpenAi),
            "claude-cli" | "claude" => Ok(Provider::ClaudeCli),
            other => Err(format!(
                "unknown provider `{other}`; expected one of: offline, anthropic, openai, claude-cli"
            )),
        }
    }
}

/// Everything needed to build a client, usually from `[ai]` in `orch.toml`.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// Which client.
    pub provider: Provider,
    /// Model name; empty for the provider's default.
    pub model: String,
    /// Base URL; empty for the provider's default.
    pub base_url: String,
    /// Variable holding the key; empty for the provider's default.
    pub api_key_env: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retry bounds.
    pub retry: RetryPolicy,
}

impl ModelSettings {
    /// From the `[ai]` configuration section.
    pub fn from_config(ai: &orch_core::AiConfig) -> Result<ModelSettings, String> {
        Ok(ModelSettings {
            provider: ai.provider.parse()?,
            model: ai.model.clone(),
            base_url: ai.base_url.clone(),
            api_key_env: ai.api_key_env.clone(),
            timeout: Duration::from_secs(ai.timeout_seconds),
            retry: RetryPolicy {
                max_attempts: ai.max_attempts,
                ..RetryPolicy::default()
            },
        })
    }

    /// Builds the client; `Ok(None)` for offline. A model provider without its key is an
    /// error here, never a silent fallback; so is an HTTP provider
    /// ([`ModelError::Unavailable`]) when the crate was built without its `http` feature.
    pub fn build(&self) -> Result<Option<Box<dyn LanguageModel>>, ModelError> {
        let or = |value: &str, default: &str| {
            if value.is_empty() {
                default.to_owned()
            } else {
                value.to_owned()
            }
        };
        #[cfg(feature = "http")]
        let key = |provider: &'static str,
                   default_var: &str,
                   required: bool|
         -> Result<Option<String>, ModelError> {
            let variable = or(&self.api_key_env, default_var);
            match std::env::var(&variable) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_owned())),
                _ if required => Err(ModelError::MissingKey { provider, variable }),
                _ => Ok(None),
            }
        };
        Ok(match self.provider {
            Provider::Offline => None,
            #[cfg(not(feature = "http"))]
            Provider::Anthropic => {
                return Err(ModelError::Unavailable {
                    provider: "anthropic",
                });
            }
            #[cfg(not(feature = "http"))]
            Provider::OpenAi => return Err(ModelError::Unavailable { provider: "openai" }),
            #[cfg(feature = "http")]
            Provider::Anthropic => {
                let api_key = key("anthropic", "ANTHROPIC_API_KEY", true)?.expect("required");
                Some(Box::new(AnthropicClient::new(
                    or(&self.base_url, anthropic::DEFAULT_BASE_URL),
                    api_key,
                    or(&self.model, anthropic::DEFAULT_MODEL),
                    self.timeout,
                    self.retry.clone(),
                )))
            }
            #[cfg(feature = "http")]
            Provider::OpenAi => {
                // Local servers (Ollama, llama.cpp) need no key; a hosted one says so with a 401.
                let api_key = key("openai", "OPENAI_API_KEY", false)?;
                Some(Box::new(OpenAiClient::new(
                    or(&self.base_url, openai::DEFAULT_BASE_URL),
                    api_key,
                    or(&self.model, openai::DEFAULT_MODEL),
                    self.timeout,
                    self.retry.clone(),
                )))
            }
            Provider::ClaudeCli => Some(Box::new(ClaudeCliClient::new(
                or(&self.base_url, "claude"),
                (!self.model.is_empty()).then(|| self.model.clone()),
                self.timeout,
            ))),
        })
    }
}

/// The `message` of a provider's JSON error body, or the body cut to a readable length.
#[cfg(feature = "http")]
pub(crate) fn error_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body)
        && let Some(message) = value
            .pointer("/error/message")
            .or_else(|| value.get("message"))
            .and_then(|m| m.as_str())
    {
        return message.to_owned();
    }
    let trimmed = body.trim();
    if trimmed.chars().count() > 300 {
        format!("{}…", trimmed.chars().take(300).collect::<String>())
    } else {
        trimmed.to_owned()
    }
}
