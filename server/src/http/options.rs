//! The HTTP surface's options (`Config.http`): which browser origins may
//! act with a session cookie or open a WebSocket, which may call across
//! origins (CORS), body and batch limits, GraphiQL, and the graphql-ws
//! timers. Each is a flag with a `BATON_…` variable (see `HttpArgs`).

use std::time::Duration;

use clap::Args;

pub use crate::config::{DEFAULT_MAX_BODY_BYTES, HttpConfig};

#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    /// Comma-separated origins whose pages may use the session cookie and
    /// open WebSockets (e.g. http://localhost:5173 for `npm run dev`).
    /// Unset: the public URL's origin.
    #[arg(long, env = "BATON_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Comma-separated origins that may call the API across origins
    /// (CORS, with a bearer token). Unset: CORS is off.
    #[arg(long, env = "BATON_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Largest request body in bytes; larger ones are answered 413.
    #[arg(long, env = "BATON_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Most operations in one batched POST (a JSON array); 1: no batching.
    #[arg(long, env = "BATON_MAX_BATCH", default_value_t = 1)]
    pub max_batch: usize,
    /// Serve GraphiQL at `GET /graphql`.
    #[arg(long, env = "BATON_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,
    /// Seconds a WebSocket has to send `connection_init`.
    #[arg(long, env = "BATON_WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_init_timeout_secs: u64,
    /// Seconds between the server's pings on an open WebSocket.
    #[arg(long, env = "BATON_WS_KEEPALIVE_SECS", default_value_t = 30)]
    pub ws_keepalive_secs: u64,
}

impl HttpArgs {
    pub fn http(&self) -> HttpConfig {
        let clean = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect()
        };
        HttpConfig {
            allowed_origins: clean(&self.allowed_origins),
            cors_origins: clean(&self.cors_origins),
            max_body_bytes: self.max_body_bytes.max(1024),
            max_batch: self.max_batch.max(1),
            graphiql: self.graphiql,
            ws_init_timeout: Duration::from_secs(self.ws_init_timeout_secs.max(1)),
            ws_keepalive: Duration::from_secs(self.ws_keepalive_secs.max(1)),
        }
    }
}
