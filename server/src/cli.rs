//! The command line: `baton serve | worker | migrate | schema`, every
//! option also an environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, DEFAULT_DATABASE_URL, EngineConfig, LlmConfig, WorkflowConfig};

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "LLM workflows with human review between them, over GraphQL"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

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
}

impl DbArgs {
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
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
    /// The built review app to serve at `/`.
    #[arg(long, env = "BATON_WEB_DIR", default_value = "web/dist")]
    pub web_dir: std::path::PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub llm: LlmArgs,
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
    pub fn config(&self) -> Config {
        Config {
            database_url: self.db.url(),
            listen: self.listen,
            engine: self.engine.engine(),
            llm: self.llm.llm(),
            workflows: self.engine.workflows(),
            max_wait: Duration::from_secs(self.max_wait_secs.max(1)),
            web_dir: Some(self.web_dir.clone()),
        }
    }
}

impl WorkerArgs {
    pub fn config(&self) -> Config {
        Config {
            database_url: self.db.url(),
            engine: self.engine.engine(),
            llm: self.llm.llm(),
            workflows: self.engine.workflows(),
            ..Config::default()
        }
    }
}
