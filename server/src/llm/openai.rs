//! A client for OpenAI-compatible chat-completion endpoints (OpenAI, vLLM,
//! Ollama, the llama.cpp server, …).
//!
//! [`OpenAiClient`] sends `POST {base_url}/chat/completions` with the model,
//! the messages and whichever of `temperature`, `top_p` and `max_tokens` the
//! request sets. When the request carries a response schema it also sends
//! `response_format: {"type": "json_schema", "json_schema": {"name", "schema",
//! "strict": true}}`. An API key, when configured, goes in a bearer
//! `Authorization` header.
//!
//! Behaviour:
//!
//! - **Timeout**: every attempt (connect, request and reading the answer) is
//!   bounded by [`OpenAiConfig::timeout`].
//! - **Concurrency**: at most [`OpenAiConfig::max_concurrency`] HTTP calls are
//!   in flight per client; a permit is held only during the HTTP exchange,
//!   never while waiting to retry.
//! - **Retries**: rate limits (HTTP 429), server errors (HTTP 5xx), timeouts
//!   and transport failures are retried up to [`OpenAiConfig::max_retries`]
//!   times, waiting an exponentially growing delay with jitter starting at
//!   [`OpenAiConfig::initial_backoff`] (capped at 30 s), or what the server asks
//!   for with `Retry-After` (seconds form, on 429 and 503, capped at 60 s).
//!   Other HTTP errors and malformed answers are not retried.
//! - **Answer**: `choices[0].message.content` is the answer text; token counts
//!   come from `usage` (0 when absent) and the model name from `model` (the
//!   requested model when absent). Error bodies are cut to about 500
//!   characters. The latency covers the whole call, retries included.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

use super::{ChatModel, ChatRequest, ChatResponse, LlmError, Message};

/// The provider name this client reports.
pub const PROVIDER: &str = "openai-compatible";

/// Longest wait honoured from a `Retry-After` header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Longest computed backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Error bodies are cut to this many characters.
const MAX_ERROR_BODY: usize = 500;

/// How to reach an OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL up to and including the API version, e.g.
    /// `http://127.0.0.1:8000/v1` or `https://api.openai.com/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// The model used when a request does not name one.
    pub model: String,
    /// Limit for one attempt (connect, send, read the whole answer).
    pub timeout: Duration,
    /// How many times a retryable failure is retried (0 = try once).
    pub max_retries: u32,
    /// Most HTTP calls in flight at once through this client (at least 1).
    pub max_concurrency: usize,
    /// Wait before the first retry; doubled for every further retry.
    pub initial_backoff: Duration,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000/v1".to_string(),
            api_key: None,
            model: "gpt-4o-mini".to_string(),
            timeout: Duration::from_secs(120),
            max_retries: 3,
            max_concurrency: 4,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_concurrency", &self.max_concurrency)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

/// A [`ChatModel`] backed by an OpenAI-compatible HTTP endpoint.
pub struct OpenAiClient {
    http: reqwest::Client,
    endpoint: String,
    cfg: OpenAiConfig,
    permits: Semaphore,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("endpoint", &self.endpoint)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// The JSON body of a chat-completion request.
#[derive(serde::Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
}

/// What one attempt produced when it did not produce an answer.
struct Failure {
    error: LlmError,
    /// How long the server asked us to wait (`Retry-After`).
    retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// A successful answer, before latency is known.
struct Answer {
    content: String,
    model: String,
    prompt_tokens: u32,
    completion_tokens: u32,
}

impl OpenAiClient {
    /// A client for the endpoint in `cfg`. Fails when the base URL is not an
    /// `http://` or `https://` URL or the HTTP client cannot be built.
    pub fn new(cfg: OpenAiConfig) -> Result<Self, LlmError> {
        let base = cfg.base_url.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LlmError::Transport(format!(
                "the base URL {base:?} must start with http:// or https://"
            )));
        }
        let endpoint = format!("{base}/chat/completions");
        if let Err(e) = reqwest::Url::parse(&endpoint) {
            return Err(LlmError::Transport(format!(
                "the base URL {base:?} is not a valid URL: {e}"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.timeout)
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                LlmError::Transport(format!("could not build the HTTP client: {}", describe(&e)))
            })?;
        let permits = Semaphore::new(cfg.max_concurrency.max(1));
        Ok(Self {
            http,
            endpoint,
            cfg,
            permits,
        })
    }

    /// The URL requests are sent to (`{base_url}/chat/completions`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &OpenAiConfig {
        &self.cfg
    }

    fn body(&self, request: &ChatRequest, model: &str) -> Result<Vec<u8>, LlmError> {
        let response_format = request.response_schema.as_ref().map(|schema| {
            serde_json::json!({
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name.as_deref().unwrap_or("answer"),
                    "schema": schema,
                    "strict": true,
                }
            })
        });
        let wire = WireRequest {
            model,
            messages: &request.messages,
            temperature: request.temperature,
            top_p: request.top_p,
            max_tokens: request.max_tokens,
            response_format,
        };
        serde_json::to_vec(&wire)
            .map_err(|e| LlmError::Transport(format!("could not encode the request: {e}")))
    }

    /// Delay before retry number `retry` (0-based): exponential, with the
    /// upper half randomised so that clients do not retry in lockstep.
    fn backoff(&self, retry: u32) -> Duration {
        let base = self
            .cfg
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(MAX_BACKOFF);
        let half = base / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }

    /// One HTTP exchange, bounded by the configured timeout.
    async fn attempt(&self, body: &[u8], requested_model: &str) -> Result<Answer, Failure> {
        let mut builder = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body.to_vec());
        if let Some(key) = &self.cfg.api_key {
            builder = builder.bearer_auth(key);
        }
        let exchange = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let retry_after = parse_retry_after(response.headers());
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, retry_after, bytes))
        };
        let (status, retry_after, bytes) = match tokio::time::timeout(self.cfg.timeout, exchange)
            .await
        {
            Err(_) => return Err(LlmError::Timeout(self.cfg.timeout).into()),
            Ok(Err(e)) if e.is_timeout() => return Err(LlmError::Timeout(self.cfg.timeout).into()),
            Ok(Err(e)) => return Err(LlmError::Transport(describe(&e)).into()),
            Ok(Ok(parts)) => parts,
        };
        match status {
            200..=299 => parse_answer(&bytes, requested_model).map_err(Failure::from),
            429 => Err(Failure {
                error: LlmError::RateLimited,
                retry_after,
            }),
            _ => Err(Failure {
                error: LlmError::Http {
                    status,
                    body: truncate(&String::from_utf8_lossy(&bytes)),
                },
                retry_after: if status == 503 { retry_after } else { None },
            }),
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAiClient {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn default_model(&self) -> &str {
        &self.cfg.model
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let model = request.model.as_deref().unwrap_or(&self.cfg.model);
        let body = self.body(request, model)?;
        let mut retry: u32 = 0;
        loop {
            let outcome = {
                let _permit =
                    self.permits.acquire().await.map_err(|_| {
                        LlmError::Transport("the client is shutting down".to_string())
                    })?;
                self.attempt(&body, model).await
            };
            match outcome {
                Ok(answer) => {
                    return Ok(ChatResponse {
                        content: answer.content,
                        provider: PROVIDER.to_string(),
                        model: answer.model,
                        prompt_tokens: answer.prompt_tokens,
                        completion_tokens: answer.completion_tokens,
                        latency_ms: u64::try_from(started.elapsed().as_millis())
                            .unwrap_or(u64::MAX),
                    });
                }
                Err(failure) if failure.error.is_retryable() && retry < self.cfg.max_retries => {
                    let delay = match failure.retry_after {
                        Some(asked) => asked.min(MAX_RETRY_AFTER),
                        None => self.backoff(retry),
                    };
                    retry += 1;
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        model,
                        attempt = retry,
                        attempts = self.cfg.max_retries + 1,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %failure.error,
                        "model call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                // Say that retries were spent, so a stored error reads
                // "unreachable, gave up after 4 tries", not a single blip.
                Err(failure) if retry > 0 => return Err(failure.error.after_tries(retry + 1)),
                Err(failure) => return Err(failure.error),
            }
        }
    }
}

/// `Retry-After` in its seconds form (fractions accepted); the HTTP-date
/// form is ignored.
fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let seconds: f64 = text.parse().ok()?;
    if seconds.is_finite() && seconds >= 0.0 {
        Some(Duration::from_secs_f64(
            seconds.min(MAX_RETRY_AFTER.as_secs_f64()),
        ))
    } else {
        None
    }
}

/// An error message with its chain of causes, which is where reqwest keeps
/// the useful part ("connection refused", "dns error", …).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The text cut to about [`MAX_ERROR_BODY`] characters.
fn truncate(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ERROR_BODY {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(MAX_ERROR_BODY).collect();
        cut.push('…');
        cut
    }
}

fn token_count(usage: Option<&Value>, key: &str) -> u32 {
    usage
        .and_then(|u| u.get(key))
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn parse_answer(bytes: &[u8], requested_model: &str) -> Result<Answer, LlmError> {
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        LlmError::Malformed(format!(
            "the body is not JSON ({e}): {}",
            truncate(&String::from_utf8_lossy(bytes))
        ))
    })?;
    let message = body.pointer("/choices/0/message");
    let content = match message.and_then(|m| m.get("content")) {
        Some(Value::String(text)) => text.clone(),
        // Some servers send content as a list of parts: [{"type":"text","text":…}].
        Some(Value::Array(parts)) if !parts.is_empty() => {
            let texts: Option<Vec<&str>> = parts
                .iter()
                .map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            match texts {
                Some(texts) => texts.concat(),
                None => return Err(no_content(&body)),
            }
        }
        _ => {
            if let Some(refusal) = message
                .and_then(|m| m.get("refusal"))
                .and_then(Value::as_str)
            {
                return Err(LlmError::Malformed(format!(
                    "the model refused to answer: {}",
                    truncate(refusal)
                )));
            }
            return Err(no_content(&body));
        }
    };
    let usage = body.get("usage");
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(requested_model)
        .to_string();
    Ok(Answer {
        content,
        model,
        prompt_tokens: token_count(usage, "prompt_tokens"),
        completion_tokens: token_count(usage, "completion_tokens"),
    })
}

fn no_content(body: &Value) -> LlmError {
    LlmError::Malformed(format!(
        "no text at choices[0].message.content in {}",
        truncate(&body.to_string())
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use serde_json::json;

    /// What the fake server does for one request.
    enum Reply {
        /// 200 with this JSON body.
        Json(Value),
        /// This status, headers and raw body.
        Raw(u16, Vec<(&'static str, &'static str)>, String),
        /// Wait, then reply.
        Delay(Duration, Box<Reply>),
    }

    /// The reply for request number `n` (0-based).
    type Script = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

    struct Seen {
        authorization: Option<String>,
        body: Value,
    }

    #[derive(Clone)]
    struct Fake {
        hits: Arc<AtomicUsize>,
        in_flight: Arc<AtomicUsize>,
        max_in_flight: Arc<AtomicUsize>,
        seen: Arc<Mutex<Vec<Seen>>>,
        script: Script,
    }

    impl Fake {
        fn hits(&self) -> usize {
            self.hits.load(SeqCst)
        }
    }

    /// Decrements the in-flight count even when the handler is cancelled.
    struct InFlight(Arc<AtomicUsize>);

    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.fetch_sub(1, SeqCst);
        }
    }

    async fn handle(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
        let n = fake.hits.fetch_add(1, SeqCst);
        let now = fake.in_flight.fetch_add(1, SeqCst) + 1;
        let _guard = InFlight(fake.in_flight.clone());
        fake.max_in_flight.fetch_max(now, SeqCst);
        fake.seen.lock().unwrap().push(Seen {
            authorization: headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string()),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let mut reply = (fake.script)(n);
        while let Reply::Delay(wait, next) = reply {
            tokio::time::sleep(wait).await;
            reply = *next;
        }
        match reply {
            Reply::Json(v) => axum::Json(v).into_response(),
            Reply::Raw(status, headers, body) => {
                let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
            Reply::Delay(..) => unreachable!(),
        }
    }

    /// Start a fake endpoint on loopback; returns it and its base URL.
    async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> (Fake, String) {
        let fake = Fake {
            hits: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            seen: Arc::default(),
            script: Arc::new(script),
        };
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(handle))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (fake, format!("http://{addr}/v1"))
    }

    fn completion(content: &str) -> Value {
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "fake-model-2",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        })
    }

    fn config(base_url: &str) -> OpenAiConfig {
        OpenAiConfig {
            base_url: base_url.to_string(),
            api_key: None,
            model: "test-model".to_string(),
            timeout: Duration::from_secs(5),
            max_retries: 2,
            max_concurrency: 4,
            initial_backoff: Duration::from_millis(10),
        }
    }

    fn hello() -> ChatRequest {
        ChatRequest {
            messages: vec![Message::user("Say hello")],
            ..ChatRequest::default()
        }
    }

    #[tokio::test]
    async fn success_sends_the_expected_request() {
        let (fake, url) = start(|_| Reply::Json(completion(r#"{"verdict":"approve"}"#))).await;
        let client = OpenAiClient::new(OpenAiConfig {
            api_key: Some("sk-test".to_string()),
            ..config(&format!("{url}/"))
        })
        .unwrap();
        assert_eq!(client.provider(), "openai-compatible");
        assert_eq!(client.default_model(), "test-model");
        assert_eq!(client.endpoint(), format!("{url}/chat/completions"));
        let schema = json!({"type": "object", "required": ["verdict"], "properties": {"verdict": {"enum": ["approve", "reject"]}}});
        let request = ChatRequest {
            messages: vec![
                Message::system("You review drafts."),
                Message::user("Review this."),
            ],
            temperature: Some(0.2),
            max_tokens: Some(64),
            response_schema: Some(schema.clone()),
            schema_name: Some("verdict".to_string()),
            ..ChatRequest::default()
        };
        let response = client.complete(&request).await.unwrap();
        assert_eq!(response.content, r#"{"verdict":"approve"}"#);
        assert_eq!(response.provider, "openai-compatible");
        assert_eq!(response.model, "fake-model-2");
        assert_eq!(
            (response.prompt_tokens, response.completion_tokens),
            (11, 7)
        );
        assert_eq!(fake.hits(), 1);

        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen[0].authorization.as_deref(), Some("Bearer sk-test"));
        let body = &seen[0].body;
        assert_eq!(body["model"], "test-model");
        assert_eq!(
            body["messages"],
            json!([
                {"role": "system", "content": "You review drafts."},
                {"role": "user", "content": "Review this."}
            ])
        );
        assert_eq!(body["temperature"], json!(0.2));
        assert_eq!(body["max_tokens"], json!(64));
        assert!(
            body.get("top_p").is_none(),
            "unset parameters are not sent: {body}"
        );
        assert_eq!(
            body["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": true}})
        );
    }

    #[tokio::test]
    async fn minimal_request_and_lenient_answer() {
        // No usage and no model in the answer.
        let (fake, url) = start(|_| {
            Reply::Json(
                json!({"choices": [{"message": {"role": "assistant", "content": "hello"}}]}),
            )
        })
        .await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let request = ChatRequest {
            model: Some("other-model".to_string()),
            response_schema: Some(json!({"type": "string"})),
            ..hello()
        };
        let response = client.complete(&request).await.unwrap();
        assert_eq!(response.content, "hello");
        assert_eq!(response.model, "other-model");
        assert_eq!((response.prompt_tokens, response.completion_tokens), (0, 0));
        {
            let seen = fake.seen.lock().unwrap();
            assert_eq!(seen[0].authorization, None);
            assert_eq!(seen[0].body["model"], "other-model");
            assert_eq!(
                seen[0].body["response_format"]["json_schema"]["name"],
                "answer"
            );
        }

        let (fake, url) = start(|_| Reply::Json(completion("plain"))).await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        client.complete(&hello()).await.unwrap();
        let seen = fake.seen.lock().unwrap();
        let body = &seen[0].body;
        assert!(body.get("response_format").is_none(), "{body}");
        assert!(body.get("temperature").is_none(), "{body}");
        assert!(body.get("max_tokens").is_none(), "{body}");
    }

    #[tokio::test]
    async fn rate_limit_with_retry_after_then_success() {
        let (fake, url) = start(|n| {
            if n == 0 {
                Reply::Raw(429, vec![("retry-after", "1")], "slow down".to_string())
            } else {
                Reply::Json(completion("after the wait"))
            }
        })
        .await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let response = client.complete(&hello()).await.unwrap();
        assert_eq!(response.content, "after the wait");
        assert_eq!(fake.hits(), 2);
    }

    #[tokio::test]
    async fn rate_limit_that_persists_is_reported() {
        let (fake, url) = start(|_| Reply::Raw(429, vec![], "no".to_string())).await;
        let client = OpenAiClient::new(OpenAiConfig {
            max_retries: 1,
            ..config(&url)
        })
        .unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        assert!(matches!(err, LlmError::RateLimited), "{err:?}");
        assert_eq!(fake.hits(), 2);
    }

    #[tokio::test]
    async fn server_error_is_retried_then_reported() {
        let (fake, url) = start(|_| Reply::Raw(500, vec![], "boom".to_string())).await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        match &err {
            LlmError::Http { status, body } => {
                assert_eq!(*status, 500);
                assert_eq!(body, "boom");
            }
            other => panic!("expected Http 500, got {other:?}"),
        }
        assert!(err.is_retryable());
        assert_eq!(fake.hits(), 3, "max_retries = 2 means 3 attempts");
    }

    #[tokio::test]
    async fn unavailable_then_success() {
        let (fake, url) = start(|n| {
            if n < 2 {
                Reply::Raw(503, vec![("retry-after", "0")], "warming up".to_string())
            } else {
                Reply::Json(completion("ready"))
            }
        })
        .await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        assert_eq!(client.complete(&hello()).await.unwrap().content, "ready");
        assert_eq!(fake.hits(), 3);
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let (fake, url) = start(|_| {
            Reply::Delay(
                Duration::from_secs(3),
                Box::new(Reply::Json(completion("too late"))),
            )
        })
        .await;
        let client = OpenAiClient::new(OpenAiConfig {
            timeout: Duration::from_millis(200),
            max_retries: 1,
            ..config(&url)
        })
        .unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        match err {
            LlmError::Timeout(after) => assert_eq!(after, Duration::from_millis(200)),
            other => panic!("expected Timeout, got {other:?}"),
        }
        assert_eq!(fake.hits(), 2, "a timeout is retried");
    }

    #[tokio::test]
    async fn malformed_answers_are_not_retried() {
        let (fake, url) = start(|_| {
            Reply::Raw(
                200,
                vec![("content-type", "application/json")],
                "{not json".to_string(),
            )
        })
        .await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Malformed(m) if m.contains("not JSON")),
            "{err:?}"
        );
        assert_eq!(fake.hits(), 1);

        let (fake, url) =
            start(|_| Reply::Json(json!({"object": "chat.completion", "choices": []}))).await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Malformed(m) if m.contains("choices[0].message.content")),
            "{err:?}"
        );
        assert_eq!(fake.hits(), 1);

        let (_, url) = start(|_| {
            Reply::Json(json!({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]}))
        })
        .await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Malformed(m) if m.contains("refused")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_bodies_are_cut() {
        let (fake, url) = start(|_| Reply::Raw(400, vec![], "x".repeat(2_000))).await;
        let client = OpenAiClient::new(config(&url)).unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        match &err {
            LlmError::Http { status, body } => {
                assert_eq!(*status, 400);
                assert!(
                    body.chars().count() <= MAX_ERROR_BODY + 1,
                    "{} chars",
                    body.len()
                );
            }
            other => panic!("expected Http 400, got {other:?}"),
        }
        assert!(!err.is_retryable());
        assert_eq!(fake.hits(), 1);
    }

    #[tokio::test]
    async fn concurrency_limit_is_respected() {
        let (fake, url) = start(|_| {
            Reply::Delay(
                Duration::from_millis(150),
                Box::new(Reply::Json(completion("ok"))),
            )
        })
        .await;
        let client = Arc::new(
            OpenAiClient::new(OpenAiConfig {
                max_concurrency: 2,
                ..config(&url)
            })
            .unwrap(),
        );
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.complete(&hello()).await })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap().content, "ok");
        }
        assert_eq!(fake.hits(), 6);
        let most = fake.max_in_flight.load(SeqCst);
        assert!(
            (1..=2).contains(&most),
            "{most} requests were in flight at once"
        );
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_a_transport_error() {
        // Bind then close a port so that nothing listens on it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = OpenAiClient::new(OpenAiConfig {
            max_retries: 1,
            ..config(&format!("http://{addr}/v1"))
        })
        .unwrap();
        let err = client.complete(&hello()).await.unwrap_err();
        assert!(matches!(err, LlmError::Transport(_)), "{err:?}");
        assert!(err.is_retryable());
        let text = err.to_string();
        assert!(
            text.starts_with("could not reach the model endpoint")
                && text.contains(&addr.to_string())
                && text.ends_with("(gave up after 2 tries)"),
            "{text}"
        );
    }

    #[test]
    fn rejects_bad_base_urls() {
        for bad in ["", "localhost:8000/v1", "ftp://example.com/v1", "http://"] {
            let err = OpenAiClient::new(config(bad)).unwrap_err();
            assert!(matches!(err, LlmError::Transport(_)), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(parse_retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after", "0.5".parse().unwrap());
        assert_eq!(
            parse_retry_after(&headers),
            Some(Duration::from_millis(500))
        );
        headers.insert("retry-after", "86400".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&headers), None);
        headers.insert("retry-after", "-1".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let client = OpenAiClient::new(OpenAiConfig {
            initial_backoff: Duration::from_millis(100),
            ..config("http://127.0.0.1:9/v1")
        })
        .unwrap();
        for _ in 0..20 {
            let first = client.backoff(0);
            assert!(
                first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            let third = client.backoff(2);
            assert!(
                third >= Duration::from_millis(200) && third <= Duration::from_millis(400),
                "{third:?}"
            );
            assert!(client.backoff(40) <= MAX_BACKOFF);
        }
    }

    #[test]
    fn debug_output_hides_the_api_key() {
        let cfg = OpenAiConfig {
            api_key: Some("sk-secret".to_string()),
            ..OpenAiConfig::default()
        };
        let client = OpenAiClient::new(cfg).unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }
}
