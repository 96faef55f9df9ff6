//! Runtime configuration: one plain struct, filled by the CLI (flags and
//! `BATON_…` environment variables, see `cli.rs`) or directly by tests.
//!
//! The defaults run Baton on SQLite with the offline model and nothing else
//! to set up.

use std::net::SocketAddr;
use std::time::Duration;

/// Where Baton keeps its data when no database URL is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/baton.db?mode=rwc";

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub db_pool: DbPoolConfig,
    pub listen: SocketAddr,
    pub engine: EngineConfig,
    pub llm: LlmConfig,
    pub workflows: WorkflowConfig,
    /// Upper bound for `runWorkflow(wait: true)`.
    pub max_wait: Duration,
    /// Serve the review app from this directory; `None`: the copy embedded
    /// in the binary at build time (none when `web/dist` was not built).
    pub web_dir: Option<std::path::PathBuf>,
    pub auth: AuthConfig,
    pub delivery: DeliveryConfig,
    /// Notification email; `None`: no email is sent.
    pub mail: Option<MailConfig>,
    /// Workflow types to declare at start (`--types FILE.yaml`).
    pub types_file: Option<std::path::PathBuf>,
    pub ops: OpsConfig,
    /// The HTTP surface: origins, CORS, body and batch limits, GraphiQL,
    /// graphql-ws timers.
    pub http: HttpConfig,
    /// What one GraphQL document, its inputs and one caller may ask for.
    pub limits: GraphqlLimits,
}

/// Default largest request body: a workflow input with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The HTTP surface (flags in `http::HttpArgs`): which browser origins may
/// act with a session cookie or open a WebSocket, which may call across
/// origins (CORS), body and batch limits, GraphiQL, the graphql-ws timers.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Origins (`scheme://host[:port]`) whose pages may POST with the
    /// session cookie and open WebSockets. Empty: only the public URL's
    /// origin (and the `Host` a request was sent to).
    pub allowed_origins: Vec<String>,
    /// Origins that get CORS headers. Empty: CORS is off.
    pub cors_origins: Vec<String>,
    /// Largest request body (and WebSocket message), in bytes.
    pub max_body_bytes: usize,
    /// Most operations in one batched POST; 1 turns batching off.
    pub max_batch: usize,
    /// Serve GraphiQL on `GET /graphql`.
    pub graphiql: bool,
    /// A WebSocket that sends no `connection_init` within this closes (4408).
    pub ws_init_timeout: Duration,
    /// How often the server pings an open WebSocket.
    pub ws_keepalive: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allowed_origins: Vec::new(),
            cors_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_batch: 1,
            graphiql: true,
            ws_init_timeout: Duration::from_secs(10),
            ws_keepalive: Duration::from_secs(30),
        }
    }
}

/// Operations: who may read `/metrics`.
#[derive(Clone, Default)]
pub struct OpsConfig {
    /// When set, `/metrics` wants `Authorization: Bearer <token>`; unset, it
    /// is open to whoever reaches the listen address.
    pub metrics_token: Option<String>,
}

impl std::fmt::Debug for OpsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsConfig")
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// How the PostgreSQL connection pool rides out a database that is gone
/// (restarting, failing over).
#[derive(Debug, Clone)]
pub struct DbPoolConfig {
    /// Longest a request or a worker waits for a connection before giving
    /// up: while PostgreSQL is down the API answers `UNAVAILABLE` after
    /// this, instead of hanging. SQLite keeps 30 s (its one connection is
    /// only ever busy, never gone).
    pub acquire_timeout: Duration,
}

impl Default for DbPoolConfig {
    fn default() -> Self {
        DbPoolConfig {
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Default largest `first` of a connection (`BATON_MAX_PAGE_SIZE`).
pub const DEFAULT_MAX_PAGE_SIZE: usize = 100;

/// Limits on GraphQL documents, inputs and rates (README, "Limits"). Each
/// refusal names its limit; a rate of 0 turns that rate limit off.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    /// Nesting of selection sets.
    pub max_depth: usize,
    /// Estimated cost: 1 per field; a connection multiplies its selection by
    /// `first`, a list by 10.
    pub max_complexity: usize,
    /// Aliases in one document.
    pub max_aliases: usize,
    /// Copies of one field (or fragment spread) in one selection set.
    pub max_duplicate_fields: usize,
    /// Directives on one field, fragment or operation.
    pub max_directives: usize,
    /// Lexical tokens in one document, counted before it is parsed.
    pub max_tokens: usize,
    /// Times one path of an introspection query re-enters a type's members
    /// (`fields`, `inputFields`, `interfaces`, `possibleTypes`).
    pub max_introspection_nesting: usize,
    /// Bytes of one string input (variables and literals).
    pub max_string_bytes: usize,
    /// Bytes of one object or list input, as JSON.
    pub max_json_bytes: usize,
    /// Largest `first` of a connection. The complexity estimate counts
    /// `first` as asked, so a larger page may need `max_complexity` raised.
    pub max_page_size: usize,
    /// `__schema` / `__type`; off also turns "Did you mean" suggestions off.
    pub introspection: bool,
    /// Runs one principal may start per minute (runWorkflow, retryWorkflow).
    pub runs_per_min: u32,
    pub runs_burst: u32,
    /// Votes one principal may cast per minute (approve, reject, each item
    /// of approveMany / rejectMany).
    pub decisions_per_min: u32,
    pub decisions_burst: u32,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        GraphqlLimits {
            max_depth: 15,
            max_complexity: 20_000,
            max_aliases: 50,
            max_duplicate_fields: 5,
            max_directives: 5,
            max_tokens: 5_000,
            max_introspection_nesting: 2,
            max_string_bytes: 256 * 1024,
            max_json_bytes: 1024 * 1024,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            introspection: true,
            runs_per_min: 1_200,
            runs_burst: 600,
            decisions_per_min: 600,
            decisions_burst: 300,
        }
    }
}

/// Where notification email goes out.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=starttls`,
    /// `smtps://host:port`; user and password in the URL.
    pub smtp_url: String,
    /// The From address, e.g. `Baton <baton@example.com>`.
    pub from: String,
}

/// How the dispatcher sends notifications.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// First retry delay; doubles per attempt, ±25% jitter, capped at an hour.
    pub retry_base: std::time::Duration,
    /// Attempts before a delivery is dead.
    pub max_attempts: i32,
    /// One attempt's limit (connect, send, answer).
    pub timeout: std::time::Duration,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll_interval: std::time::Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            retry_base: std::time::Duration::from_secs(5),
            max_attempts: 8,
            timeout: std::time::Duration::from_secs(10),
            poll_interval: std::time::Duration::from_secs(1),
        }
    }
}

/// Who may call the API, and how they prove it (see the README's security
/// model).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Callers without a credential may read (as `viewer`). Off by
    /// default: nothing is readable or writable anonymously.
    pub anonymous_read: bool,
    /// The address people open, for sign-in links (`http://HOST:PORT`);
    /// `None`: derived from the listen address.
    pub public_url: Option<String>,
    /// Whether the session cookie is `Secure` (HTTPS only); `None`: when
    /// the public URL is `https://`.
    pub secure_cookies: Option<bool>,
    /// Trust an identity header set by a reverse proxy (SSO).
    pub proxy: Option<ProxyAuth>,
    /// On `serve` with no users yet, create `admin` and print a sign-in
    /// link once.
    pub bootstrap_admin: bool,
}

/// SSO through a reverse proxy (oauth2-proxy and the like): the proxy
/// authenticates people and sets a header with their email.
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    /// e.g. `X-Forwarded-Email`.
    pub header: String,
    /// Only requests from these addresses may set the header; from anywhere
    /// else it is ignored.
    pub trusted: Vec<ipnet::IpNet>,
    /// The role of an email Baton does not know yet (a user is created for
    /// it); `None` refuses unknown emails.
    pub default_role: Option<entity::role::Role>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            anonymous_read: false,
            public_url: None,
            secure_cookies: None,
            proxy: None,
            bootstrap_admin: true,
        }
    }
}

impl Config {
    /// Where people reach this server, for links.
    pub fn public_url(&self) -> String {
        if let Some(u) = &self.auth.public_url {
            return u.trim_end_matches('/').to_string();
        }
        let host = if self.listen.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if self.listen.is_ipv6() {
            format!("[{}]", self.listen.ip())
        } else {
            self.listen.ip().to_string()
        };
        format!("http://{host}:{}", self.listen.port())
    }

    pub fn secure_cookies(&self) -> bool {
        self.auth
            .secure_cookies
            .unwrap_or_else(|| self.public_url().starts_with("https://"))
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Workflows one process runs at once; 0 runs no workers (API only).
    pub workers: usize,
    pub lease: Duration,
    /// How often idle workers look for work when no wake-up arrives.
    pub poll_interval: Duration,
    pub max_attempts: i32,
    /// First retry delay; doubles per attempt, with jitter, capped at 10 min.
    pub retry_base: Duration,
    /// A workflow that runs longer is stopped and counts as a timed-out attempt.
    pub workflow_timeout: Duration,
    /// On SIGTERM, how long running workflows get to finish before they are
    /// released for another worker.
    pub shutdown_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// OpenAI-compatible base URL (`…/v1`); `None` uses the offline model.
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub model: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct WorkflowConfig {
    /// Candidate drafts `generate_draft` writes before merging them.
    pub draft_candidates: u32,
    /// `apply_feedback` finalizes when the score rose by more than this (0–100 scale).
    pub finalize_margin: f64,
    /// Times the judge is asked again after a malformed answer.
    pub judge_retries: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: DEFAULT_DATABASE_URL.to_string(),
            db_pool: DbPoolConfig::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            engine: EngineConfig::default(),
            llm: LlmConfig::default(),
            workflows: WorkflowConfig::default(),
            max_wait: Duration::from_secs(30),
            web_dir: None,
            auth: AuthConfig::default(),
            delivery: DeliveryConfig::default(),
            mail: None,
            types_file: None,
            ops: OpsConfig::default(),
            http: HttpConfig::default(),
            limits: GraphqlLimits::default(),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            max_attempts: 3,
            retry_base: Duration::from_secs(1),
            workflow_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: None,
            api_key: None,
            model: "gpt-4o-mini".to_string(),
            timeout: Duration::from_secs(60),
            max_retries: 3,
            concurrency: 8,
        }
    }
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        WorkflowConfig {
            draft_candidates: 3,
            finalize_margin: 10.0,
            judge_retries: 2,
        }
    }
}

impl Config {
    /// The configuration as one log line, secrets redacted.
    pub fn redacted(&self) -> String {
        format!(
            "database={} listen={} workers={} lease={:?} poll={:?} max_attempts={} llm={} model={} api_key={} anonymous_read={} proxy_auth={} smtp={} metrics_token={}",
            redact_url(&self.database_url),
            self.listen,
            self.engine.workers,
            self.engine.lease,
            self.engine.poll_interval,
            self.engine.max_attempts,
            self.llm.base_url.as_deref().unwrap_or("offline"),
            self.llm.model,
            if self.llm.api_key.is_some() {
                "set"
            } else {
                "unset"
            },
            self.auth.anonymous_read,
            self.auth
                .proxy
                .as_ref()
                .map_or_else(|| "off".to_string(), |p| p.header.clone()),
            self.mail
                .as_ref()
                .map_or_else(|| "off".to_string(), |m| redact_url(&m.smtp_url)),
            if self.ops.metrics_token.is_some() {
                "set"
            } else {
                "unset"
            },
        )
    }
}

/// Hides the password of `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_database_urls() {
        assert_eq!(
            redact_url("postgres://bench:secret@127.0.0.1:5432/bench"),
            "postgres://bench:***@127.0.0.1:5432/bench"
        );
        assert_eq!(redact_url(DEFAULT_DATABASE_URL), DEFAULT_DATABASE_URL);
        assert_eq!(
            redact_url("postgres://postgres@h/db"),
            "postgres://postgres@h/db"
        );
    }
}
