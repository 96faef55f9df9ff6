//! Access to large language models.
//!
//! Everything in Baton that talks to a model goes through one trait,
//! [`ChatModel`]: it takes a [`ChatRequest`] (a list of chat [`Message`]s plus
//! sampling parameters and, optionally, a JSON Schema the answer must satisfy)
//! and returns a [`ChatResponse`] (the answer text, which provider and model
//! produced it, token counts and latency) or an [`LlmError`].
//!
//! Two implementations exist:
//!
//! - [`openai::OpenAiClient`] speaks the OpenAI-compatible
//!   `POST {base_url}/chat/completions` protocol, so it works with OpenAI,
//!   vLLM, Ollama, the llama.cpp server and others. It applies a per-request
//!   timeout, limits the number of calls in flight, and retries rate limits
//!   (HTTP 429), server errors (HTTP 5xx), timeouts and transport failures with
//!   exponential backoff and jitter, honouring `Retry-After`.
//! - [`offline::OfflineModel`] needs no network. It answers deterministically
//!   (the same request always gets the same answer), marks every free-text
//!   answer with `[offline model]` so it is never mistaken for a real model,
//!   and, when the request carries a response schema, answers with JSON that
//!   satisfies that schema. It exists for demos and tests.
//!
//! Structured output: when [`ChatRequest::response_schema`] is set, the
//! OpenAI-compatible client asks the endpoint for a `json_schema` response
//! format. Callers should still check the answer with
//! [`crate::jsonschema::validate`], because not every endpoint enforces it.

pub mod offline;
pub mod openai;

use std::time::Duration;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a chat conversation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// A system message (instructions for the model).
    pub fn system(s: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: s.into(),
        }
    }

    /// A user message (the prompt).
    pub fn user(s: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: s.into(),
        }
    }

    /// An assistant message (an earlier answer of the model, for few-shot
    /// examples or multi-turn conversations).
    pub fn assistant(s: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: s.into(),
        }
    }
}

/// What to ask a model.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ChatRequest {
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Which model to use; `None` means the client's configured default model.
    pub model: Option<String>,
    /// Sampling temperature; `None` leaves it to the endpoint.
    pub temperature: Option<f32>,
    /// Nucleus sampling; `None` leaves it to the endpoint.
    pub top_p: Option<f32>,
    /// Upper bound on the answer length in tokens; `None` leaves it to the endpoint.
    pub max_tokens: Option<u32>,
    /// JSON Schema the answer must satisfy (structured output). The answer is
    /// then JSON text.
    pub response_schema: Option<serde_json::Value>,
    /// Name of the schema sent to the endpoint (`"answer"` when `None`).
    pub schema_name: Option<String>,
}

/// What a model answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatResponse {
    /// The answer text (JSON text when a response schema was requested).
    pub content: String,
    /// Which implementation answered: `"openai-compatible"` or `"offline"`.
    pub provider: String,
    /// The model that answered, as reported by the endpoint when it says.
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// Wall-clock time of the whole call, retries and backoff included.
    pub latency_ms: u64,
}

/// Why a model call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model endpoint timed out after {0:?}")]
    Timeout(Duration),
    #[error("rate limited by the model endpoint (HTTP 429)")]
    RateLimited,
    #[error("model endpoint answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("model endpoint answered something that is not a chat completion: {0}")]
    Malformed(String),
    #[error("could not reach the model endpoint: {0}")]
    Transport(String),
}

impl LlmError {
    /// Whether trying the same call again later may succeed: timeouts, rate
    /// limits, server errors (HTTP 5xx) and transport failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Timeout(_) | LlmError::RateLimited | LlmError::Transport(_) => true,
            LlmError::Http { status, .. } => *status >= 500,
            LlmError::Malformed(_) => false,
        }
    }

    /// The same error, saying how many tries it took to give up (only a
    /// transport failure gains words: the others already say what the
    /// endpoint answered).
    pub fn after_tries(self, tries: u32) -> LlmError {
        match self {
            LlmError::Transport(m) => {
                LlmError::Transport(format!("{m} (gave up after {tries} tries)"))
            }
            other => other,
        }
    }
}

/// A chat-completion model.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync + 'static {
    /// Which implementation this is: `"openai-compatible"` or `"offline"`.
    fn provider(&self) -> &str;
    /// The model used when a request does not name one.
    fn default_model(&self) -> &str;
    /// Ask the model. Implementations handle their own retries; an error
    /// returned here is final for this call.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn roles_serialize_lowercase() {
        let m = Message::system("be brief");
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(serde_json::to_value(Role::Assistant).unwrap(), "assistant");
        let back: Message =
            serde_json::from_value(serde_json::json!({"role": "user", "content": "hi"})).unwrap();
        assert_eq!(back.role, Role::User);
    }

    #[test]
    fn retryable_errors() {
        assert!(LlmError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(LlmError::RateLimited.is_retryable());
        assert!(LlmError::Transport("refused".into()).is_retryable());
        assert!(
            LlmError::Http {
                status: 503,
                body: String::new()
            }
            .is_retryable()
        );
        assert!(
            !LlmError::Http {
                status: 400,
                body: String::new()
            }
            .is_retryable()
        );
        assert!(!LlmError::Malformed("x".into()).is_retryable());
    }
}
