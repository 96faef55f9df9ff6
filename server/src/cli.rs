//! The command line: `baton serve | worker | migrate | schema`, every
//! option also an environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    AuthConfig, Config, DEFAULT_DATABASE_URL, DEFAULT_MAX_PAGE_SIZE, DbPoolConfig, DeliveryConfig,
    EngineConfig, GraphqlLimits, LlmConfig, MailConfig, OpsConfig, ProxyAuth, WorkflowConfig,
};

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "LLM workflows with human review between them, over GraphQL"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as `text` (for people) or `json` (one object a line, for
    /// log collectors).
    #[arg(long, global = true, env = "BATON_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (and run workers, unless --workers 0).
    Serve(ServeArgs),
    /// Run workers only, no HTTP.
    Worker(WorkerArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Taguchi experiments over workflow configs.
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// People who sign in: add, list, disable, new sign-in link.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens: create (the secret is printed once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and print a one-time sign-in link.
    Add(UserAddArgs),
    /// List users.
    List(UserListArgs),
    /// Disable a user: their tokens and sessions stop working at once.
    Disable(UserNameArgs),
    /// Print a new one-time sign-in link for a user.
    Link(UserNameArgs),
}

#[derive(Debug, Args, Clone)]
pub struct UserAddArgs {
    pub name: String,
    #[arg(long)]
    pub email: Option<String>,
    /// viewer, submitter, reviewer or admin.
    #[arg(long)]
    pub role: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// The address people open, for the link.
    #[arg(
        long,
        env = "BATON_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

#[derive(Debug, Args, Clone)]
pub struct UserListArgs {
    /// Also list disabled users.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct UserNameArgs {
    pub name: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// The address people open, for the link.
    #[arg(
        long,
        env = "BATON_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown this once only).
    Create(TokenCreateArgs),
    /// List tokens (never their secrets).
    List(TokenListArgs),
    /// Revoke a token by id: it stops working on the next request.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args, Clone)]
pub struct TokenCreateArgs {
    /// What the token is for, e.g. "ci" or "ana's laptop".
    #[arg(long)]
    pub name: String,
    /// viewer, submitter, reviewer or admin.
    #[arg(long)]
    pub role: String,
    /// The user it acts as (by name); without it, a service token.
    #[arg(long)]
    pub user: Option<String>,
    /// The service a service token is for (default: the token's name).
    #[arg(long, conflicts_with = "user")]
    pub service: Option<String>,
    /// Lifetime, e.g. 30d, 12h, 90m, 3600s (default: no expiry).
    #[arg(long)]
    pub expires_in: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct TokenListArgs {
    /// Also list revoked tokens.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct TokenRevokeArgs {
    /// The token's id (from `baton token list`).
    pub id: String,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct AuthArgs {
    /// Let callers without a credential read (as viewer). Writes always
    /// need a credential.
    #[arg(long, env = "BATON_ANONYMOUS_READ", default_value_t = false)]
    pub anonymous_read: bool,
    /// The address people open (for sign-in links), e.g.
    /// https://baton.example.com. Default: http://LISTEN.
    #[arg(long, env = "BATON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mark the session cookie Secure (HTTPS only). Default: when the
    /// public URL is https.
    #[arg(long, env = "BATON_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
    /// Trust this identity header (an email) from the trusted proxies,
    /// e.g. X-Forwarded-Email from oauth2-proxy.
    #[arg(long, env = "BATON_PROXY_AUTH_HEADER", requires = "trusted_proxies")]
    pub proxy_auth_header: Option<String>,
    /// Addresses (or CIDR ranges) of the reverse proxies allowed to set the
    /// identity header, comma-separated.
    #[arg(long, env = "BATON_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Role of an email the proxy vouches for that Baton does not know
    /// (a user is created for it); unset: such emails are refused.
    #[arg(long, env = "BATON_PROXY_DEFAULT_ROLE")]
    pub proxy_default_role: Option<String>,
    /// Do not create a first admin on an empty database.
    #[arg(long, env = "BATON_NO_BOOTSTRAP_ADMIN", default_value_t = false)]
    pub no_bootstrap_admin: bool,
}

impl AuthArgs {
    pub fn auth(&self) -> anyhow::Result<AuthConfig> {
        let proxy = match &self.proxy_auth_header {
            None => None,
            Some(header) => {
                let mut trusted = Vec::new();
                for t in self
                    .trusted_proxies
                    .iter()
                    .map(|t| t.trim())
                    .filter(|t| !t.is_empty())
                {
                    let net = t
                        .parse::<ipnet::IpNet>()
                        .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "BATON_TRUSTED_PROXIES: '{t}' is not an address or CIDR range"
                            )
                        })?;
                    trusted.push(net);
                }
                if trusted.is_empty() {
                    anyhow::bail!("BATON_PROXY_AUTH_HEADER needs BATON_TRUSTED_PROXIES");
                }
                let default_role = match &self.proxy_default_role {
                    None => None,
                    Some(r) => Some(crate::domain::principal::parse_role(r).ok_or_else(|| {
                        anyhow::anyhow!("BATON_PROXY_DEFAULT_ROLE: '{r}' is not viewer, submitter, reviewer or admin")
                    })?),
                };
                Some(ProxyAuth {
                    header: header.clone(),
                    trusted,
                    default_role,
                })
            }
        };
        Ok(AuthConfig {
            anonymous_read: self.anonymous_read,
            public_url: self.public_url.clone().filter(|s| !s.is_empty()),
            secure_cookies: self.secure_cookies,
            proxy,
            bootstrap_admin: !self.no_bootstrap_admin,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Submit a `run_experiment` workflow defined in a YAML (or JSON) file,
    /// wait for its results and print the summary.
    Run(ExperimentRunArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ExperimentRunArgs {
    /// The experiment definition (see examples/tone-study.yaml).
    pub file: std::path::PathBuf,
    /// Run the experiment in this process instead of waiting for a
    /// `baton serve` or `baton worker` on the same database.
    #[arg(long)]
    pub local: bool,
    /// Only submit it; print the workflow id and exit.
    #[arg(long, conflicts_with = "local")]
    pub no_wait: bool,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub llm: LlmArgs,
}

impl ExperimentRunArgs {
    pub fn config(&self) -> Config {
        Config {
            database_url: self.db.url(),
            llm: self.llm.llm(),
            ..Config::default()
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// sqlite://path?mode=rwc or postgres://user:pass@host/db. Also read
    /// from DATABASE_URL.
    #[arg(long, env = "BATON_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Seconds a request or worker waits for a PostgreSQL connection before
    /// giving up (the API then answers UNAVAILABLE).
    #[arg(long, env = "BATON_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 10)]
    pub db_acquire_timeout_secs: u64,
}

impl DbArgs {
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
    }

    pub fn pool(&self) -> DbPoolConfig {
        DbPoolConfig {
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs.max(1)),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BATON_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Longest `runWorkflow(wait: true)` may wait, in seconds.
    #[arg(long, env = "BATON_MAX_WAIT_SECS", default_value_t = 30)]
    pub max_wait_secs: u64,
    /// Serve the review app from this directory (e.g. `web/dist`) instead
    /// of the copy embedded in the binary: for development, a rebuilt app
    /// shows up without rebuilding Baton.
    #[arg(long, env = "BATON_WEB_DIR")]
    pub web_dir: Option<std::path::PathBuf>,
    /// A YAML file of workflow types to declare at start (a list of
    /// declarations, see the README); unchanged ones keep their version.
    #[arg(long = "types", env = "BATON_TYPES_FILE", value_name = "FILE.yaml")]
    pub types_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub llm: LlmArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub http: crate::http::HttpArgs,
    #[command(flatten)]
    pub limits: Box<LimitArgs>,
}

#[derive(Debug, Args, Clone)]
pub struct OpsArgs {
    /// A bearer token `/metrics` asks for; unset: `/metrics` is open to
    /// whoever reaches the listen address.
    #[arg(long, env = "BATON_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl OpsArgs {
    pub fn ops(&self) -> OpsConfig {
        OpsConfig {
            metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
        }
    }
}

/// Limits on GraphQL documents, inputs and rates (see `GraphqlLimits`).
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Deepest nesting of selection sets.
    #[arg(long, env = "BATON_MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,
    /// Highest query cost (1 per field; connections times `first`, lists times 10).
    #[arg(long, env = "BATON_MAX_COMPLEXITY", default_value_t = 20_000)]
    pub max_complexity: usize,
    /// Aliases per document.
    #[arg(long, env = "BATON_MAX_ALIASES", default_value_t = 50)]
    pub max_aliases: usize,
    /// Copies of one field in one selection set.
    #[arg(long, env = "BATON_MAX_DUPLICATE_FIELDS", default_value_t = 5)]
    pub max_duplicate_fields: usize,
    /// Directives per field, fragment or operation.
    #[arg(long, env = "BATON_MAX_DIRECTIVES", default_value_t = 5)]
    pub max_directives: usize,
    /// Tokens per document.
    #[arg(long, env = "BATON_MAX_TOKENS", default_value_t = 5_000)]
    pub max_tokens: usize,
    /// Times an introspection path may re-enter a type's members.
    #[arg(long, env = "BATON_MAX_INTROSPECTION_NESTING", default_value_t = 2)]
    pub max_introspection_nesting: usize,
    /// Bytes of one string input.
    #[arg(long, env = "BATON_MAX_STRING_BYTES", default_value_t = 256 * 1024)]
    pub max_string_bytes: usize,
    /// Bytes of one object or list input (as JSON).
    #[arg(long, env = "BATON_MAX_JSON_BYTES", default_value_t = 1024 * 1024)]
    pub max_json_bytes: usize,
    /// Largest `first` (page size) of a connection.
    #[arg(long, env = "BATON_MAX_PAGE_SIZE", default_value_t = DEFAULT_MAX_PAGE_SIZE)]
    pub max_page_size: usize,
    /// Answer introspection (`__schema`, `__type`); false also turns field
    /// suggestions off.
    #[arg(long, env = "BATON_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Runs one caller may start per minute (0: no limit).
    #[arg(long, env = "BATON_RATE_RUNS_PER_MIN", default_value_t = 1_200)]
    pub rate_runs_per_min: u32,
    /// Runs one caller may start at once before the rate applies.
    #[arg(long, env = "BATON_RATE_RUNS_BURST", default_value_t = 600)]
    pub rate_runs_burst: u32,
    /// Decisions (votes) one caller may make per minute (0: no limit).
    #[arg(long, env = "BATON_RATE_DECISIONS_PER_MIN", default_value_t = 600)]
    pub rate_decisions_per_min: u32,
    /// Decisions one caller may make at once before the rate applies.
    #[arg(long, env = "BATON_RATE_DECISIONS_BURST", default_value_t = 300)]
    pub rate_decisions_burst: u32,
}

impl LimitArgs {
    fn limits(&self) -> GraphqlLimits {
        GraphqlLimits {
            max_depth: self.max_depth.max(1),
            max_complexity: self.max_complexity.max(1),
            max_aliases: self.max_aliases,
            max_duplicate_fields: self.max_duplicate_fields.max(1),
            max_directives: self.max_directives,
            max_tokens: self.max_tokens.max(1),
            max_introspection_nesting: self.max_introspection_nesting.max(1),
            max_string_bytes: self.max_string_bytes.max(1),
            max_json_bytes: self.max_json_bytes.max(2),
            max_page_size: self.max_page_size.max(1),
            introspection: self.introspection,
            runs_per_min: self.rate_runs_per_min,
            runs_burst: self.rate_runs_burst.max(1),
            decisions_per_min: self.rate_decisions_per_min,
            decisions_burst: self.rate_decisions_burst.max(1),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Workflows this process runs at once (0: API only).
    #[arg(long, env = "BATON_WORKERS", default_value_t = 4)]
    pub workers: usize,
    /// Lease length in seconds; a worker renews it every third.
    #[arg(long, env = "BATON_LEASE_SECS", default_value_t = 30)]
    pub lease_secs: u64,
    /// How often idle workers poll when no wake-up arrives, in milliseconds.
    #[arg(long, env = "BATON_POLL_MS", default_value_t = 1000)]
    pub poll_ms: u64,
    /// Attempts per workflow before it fails.
    #[arg(long, env = "BATON_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: i32,
    /// First retry delay in milliseconds (doubles per attempt).
    #[arg(long, env = "BATON_RETRY_BASE_MS", default_value_t = 1000)]
    pub retry_base_ms: u64,
    /// A run longer than this many seconds is stopped as timed out.
    #[arg(long, env = "BATON_WORKFLOW_TIMEOUT_SECS", default_value_t = 300)]
    pub workflow_timeout_secs: u64,
    /// On SIGTERM, seconds running workflows get before they are released.
    #[arg(long, env = "BATON_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Candidate drafts generate_draft writes before merging.
    #[arg(long, env = "BATON_DRAFT_CANDIDATES", default_value_t = 3)]
    pub draft_candidates: u32,
    /// apply_feedback finalizes when the score rose by more than this (0–100).
    #[arg(long, env = "BATON_FINALIZE_MARGIN", default_value_t = 10.0)]
    pub finalize_margin: f64,
    /// First retry delay of a failed notification, in milliseconds
    /// (doubles per attempt, ±25% jitter, capped at an hour).
    #[arg(long, env = "BATON_DELIVERY_RETRY_BASE_MS", default_value_t = 5000)]
    pub delivery_retry_base_ms: u64,
    /// Attempts before a notification is dead (an admin may redeliver it).
    #[arg(long, env = "BATON_DELIVERY_MAX_ATTEMPTS", default_value_t = 8)]
    pub delivery_max_attempts: i32,
    /// One delivery attempt's time limit, in seconds.
    #[arg(long, env = "BATON_DELIVERY_TIMEOUT_SECS", default_value_t = 10)]
    pub delivery_timeout_secs: u64,
    /// SMTP server for notification email: smtp://host:port,
    /// smtp://host:port?tls=starttls or smtps://host:port, with
    /// user:password@ when it needs them. Unset: no email.
    #[arg(long, env = "BATON_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From address of notification email.
    #[arg(
        long,
        env = "BATON_MAIL_FROM",
        default_value = "Baton <baton@localhost>"
    )]
    pub mail_from: String,
}

#[derive(Debug, Args, Clone)]
pub struct LlmArgs {
    /// OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or
    /// http://127.0.0.1:8000/v1. Unset: the offline model.
    #[arg(long, env = "BATON_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    /// Bearer token for the endpoint.
    #[arg(long, env = "BATON_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    #[arg(long, env = "BATON_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,
    /// Per-request timeout in seconds.
    #[arg(long, env = "BATON_LLM_TIMEOUT_SECS", default_value_t = 60)]
    pub llm_timeout_secs: u64,
    /// Retries on 429, 5xx and timeouts.
    #[arg(long, env = "BATON_LLM_MAX_RETRIES", default_value_t = 3)]
    pub llm_max_retries: u32,
    /// Model calls in flight at once, per process.
    #[arg(long, env = "BATON_LLM_CONCURRENCY", default_value_t = 8)]
    pub llm_concurrency: usize,
}

impl EngineArgs {
    fn engine(&self) -> EngineConfig {
        EngineConfig {
            workers: self.workers,
            lease: Duration::from_secs(self.lease_secs.max(1)),
            poll_interval: Duration::from_millis(self.poll_ms.max(10)),
            max_attempts: self.max_attempts.max(1),
            retry_base: Duration::from_millis(self.retry_base_ms),
            workflow_timeout: Duration::from_secs(self.workflow_timeout_secs.max(1)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }

    fn delivery(&self) -> DeliveryConfig {
        DeliveryConfig {
            retry_base: Duration::from_millis(self.delivery_retry_base_ms.max(10)),
            max_attempts: self.delivery_max_attempts.max(1),
            timeout: Duration::from_secs(self.delivery_timeout_secs.max(1)),
            poll_interval: Duration::from_millis(self.poll_ms.max(10)),
        }
    }

    fn mail(&self) -> Option<MailConfig> {
        self.smtp_url
            .clone()
            .filter(|u| !u.is_empty())
            .map(|smtp_url| MailConfig {
                smtp_url,
                from: self.mail_from.clone(),
            })
    }

    fn workflows(&self) -> WorkflowConfig {
        WorkflowConfig {
            draft_candidates: self.draft_candidates.clamp(1, 8),
            finalize_margin: self.finalize_margin,
            ..WorkflowConfig::default()
        }
    }
}

impl LlmArgs {
    fn llm(&self) -> LlmConfig {
        LlmConfig {
            base_url: self.llm_base_url.clone().filter(|s| !s.is_empty()),
            api_key: self.llm_api_key.clone().filter(|s| !s.is_empty()),
            model: self.llm_model.clone(),
            timeout: Duration::from_secs(self.llm_timeout_secs.max(1)),
            max_retries: self.llm_max_retries,
            concurrency: self.llm_concurrency.max(1),
        }
    }
}

impl ServeArgs {
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config {
            database_url: self.db.url(),
            db_pool: self.db.pool(),
            listen: self.listen,
            engine: self.engine.engine(),
            llm: self.llm.llm(),
            workflows: self.engine.workflows(),
            max_wait: Duration::from_secs(self.max_wait_secs.max(1)),
            web_dir: self.web_dir.clone(),
            auth: self.auth.auth()?,
            delivery: self.engine.delivery(),
            mail: self.engine.mail(),
            types_file: self.types_file.clone(),
            ops: self.ops.ops(),
            http: self.http.http()?,
            limits: self.limits.limits(),
        })
    }
}

impl WorkerArgs {
    pub fn config(&self) -> Config {
        Config {
            database_url: self.db.url(),
            db_pool: self.db.pool(),
            engine: self.engine.engine(),
            llm: self.llm.llm(),
            workflows: self.engine.workflows(),
            delivery: self.engine.delivery(),
            mail: self.engine.mail(),
            ..Config::default()
        }
    }
}
