//! A fake OpenAI-compatible server on loopback. It stands in for the model
//! endpoint (something outside Baton); each test scripts its answers, and
//! may take it down ([`FakeLlm::stop`]) and bring it back on the same port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    /// A successful chat completion whose message content is `content`.
    pub fn content(content: &str) -> Reply {
        Reply {
            status: 200,
            body: json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": "fake-model",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46 }
            })
            .to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: json!({ "error": { "message": "scripted failure" } }).to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// A sensible answer to any request: a schema-valid JSON object when
    /// the request asks for structured output, prose otherwise.
    pub fn sensible(request: &Value) -> Reply {
        match request.pointer("/response_format/json_schema/schema") {
            Some(schema) => Reply::content(&baton::jsonschema::example(schema, 7).to_string()),
            None => Reply::content("The harbour lights came on one by one as the ferry docked."),
        }
    }
}

type Script = dyn Fn(&Value, usize) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    script: Arc<Script>,
    calls: Arc<AtomicUsize>,
}

pub struct FakeLlm {
    pub address: SocketAddr,
    calls: Arc<AtomicUsize>,
    shared: Shared,
    serving: Option<Serving>,
}

struct Serving {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    /// Serves `script(request_body, call_index)` for every chat completion.
    pub async fn start(script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> FakeLlm {
        let calls = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            script: Arc::new(script),
            calls: calls.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake LLM");
        let address = listener.local_addr().expect("fake LLM address");
        let serving = Some(serve(listener, shared.clone()));
        FakeLlm {
            address,
            calls,
            shared,
            serving,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Takes the endpoint down: stops listening and closes its open
    /// (keep-alive) connections, so a client's next request is refused,
    /// as when the model server is down. Requests in flight are answered.
    pub async fn stop(&mut self) {
        if let Some(s) = self.serving.take() {
            s.stop.cancel();
            // Graceful shutdown waits for in-flight requests; scripted
            // delays are short, but do not hang a test on one.
            let _ = tokio::time::timeout(Duration::from_secs(30), s.task).await;
        }
    }

    /// Listens again on the same address after [`FakeLlm::stop`].
    pub async fn start_again(&mut self) {
        if self.serving.is_some() {
            return;
        }
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.address).await {
                Ok(l) => break l,
                Err(e) if tries < 40 => {
                    tries += 1;
                    eprintln!(
                        "fake LLM: binding {} again failed ({e}); retrying",
                        self.address
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("fake LLM: could not listen on {} again: {e}", self.address),
            }
        };
        self.serving = Some(serve(listener, self.shared.clone()));
    }
}

fn serve(listener: tokio::net::TcpListener, shared: Shared) -> Serving {
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(handle))
        .with_state(shared);
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
    });
    Serving { stop, task }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(s) = self.serving.take() {
            s.stop.cancel();
            s.task.abort();
        }
    }
}

async fn handle(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let n = s.calls.fetch_add(1, Ordering::SeqCst);
    let reply = (s.script)(&body, n);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json")], reply.body).into_response()
}
