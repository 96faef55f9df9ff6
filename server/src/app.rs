//! Wiring: connect, migrate, build the state, bind, serve, run workers.
//!
//! `Application::build` binds before it serves, so tests can ask for port 0
//! and read the real address back.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::workflow_types::Defaults;
use crate::engine::registry::Registry;
use crate::engine::signals::Hub;
use crate::engine::{listener, worker::Worker};
use crate::llm::ChatModel;
use crate::llm::offline::OfflineModel;
use crate::llm::openai::{OpenAiClient, OpenAiConfig};
use crate::state::AppState;

/// Parts a caller may swap (tests, benchmarks, integrators with their own
/// workflow types).
#[derive(Default)]
pub struct Overrides {
    pub llm: Option<Arc<dyn ChatModel>>,
    pub clock: Option<Arc<dyn Clock>>,
    pub registry: Option<Registry>,
}

/// How long a verified bearer token is trusted without a read. Revocations
/// empty the cache at once; this only bounds an entry's life should a
/// notification be lost without the listener noticing.
const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects, migrates and builds the shared state (no HTTP).
pub async fn build_state(config: Config, overrides: Overrides) -> anyhow::Result<AppState> {
    // The tail of a v7 id is random: enough to tell processes apart.
    let random = uuid::Uuid::now_v7().simple().to_string();
    let origin = format!("{}-{}", std::process::id(), &random[24..]);
    let metrics = Arc::new(crate::metrics::Metrics::new(origin.clone()));
    let mut db = crate::db::connect_with(&config.database_url, &config.db_pool).await?;
    let counter = metrics.clone();
    db.set_metric_callback(move |_| counter.statement());
    crate::db::migrate(&db).await?;
    let llm = match overrides.llm {
        Some(llm) => llm,
        None => model_from_config(&config)?,
    };
    let registry = overrides.registry.unwrap_or_else(crate::workflows::builtin);
    let catalog = registry.catalog(Defaults {
        timeout: config.engine.workflow_timeout,
        max_attempts: config.engine.max_attempts,
        retry_base: config.engine.retry_base,
    });
    let limiter = Arc::new(crate::ratelimit::RateLimiter::new(&config.limits));
    // See `TokenCache` for why only PostgreSQL.
    let token_ttl = if crate::db::is_postgres(&db) {
        TOKEN_CACHE_TTL
    } else {
        std::time::Duration::ZERO
    };
    Ok(AppState {
        tokens: Arc::new(crate::domain::credentials::TokenCache::new(token_ttl)),
        db,
        registry: Arc::new(registry),
        catalog: Arc::new(catalog),
        hub: Hub::with_metrics(metrics.clone()),
        metrics,
        limiter,
        config: Arc::new(config),
        llm,
        clock: overrides.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        origin: origin.into(),
    })
}

/// The configured model: the OpenAI-compatible client when a base URL is
/// set, else the offline model.
pub fn model_from_config(config: &Config) -> anyhow::Result<Arc<dyn ChatModel>> {
    let llm = &config.llm;
    Ok(match &llm.base_url {
        Some(base_url) => Arc::new(
            OpenAiClient::new(OpenAiConfig {
                base_url: base_url.clone(),
                api_key: llm.api_key.clone(),
                model: llm.model.clone(),
                timeout: llm.timeout,
                max_retries: llm.max_retries,
                max_concurrency: llm.concurrency,
                initial_backoff: std::time::Duration::from_millis(500),
            })
            .context("configuring the LLM client")?,
        ),
        None => Arc::new(OfflineModel::new()),
    })
}

/// Starts what every Baton process runs besides HTTP: the notification
/// dispatcher, the workers (unless there are none) and, on PostgreSQL, the
/// LISTEN loop and what empties the token cache.
pub fn spawn_background(state: &AppState, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if !state.tokens.ttl().is_zero() {
        // Subscribed here, before the first request can fill the cache.
        let notices = state.hub.subscribe_revocations();
        tasks.push(tokio::spawn(empty_token_cache(
            notices,
            state.tokens.clone(),
            shutdown.clone(),
        )));
    }
    if state.is_postgres() {
        let pool = state.db.get_postgres_connection_pool().clone();
        tasks.push(tokio::spawn(listener::run(
            pool,
            state.hub.clone(),
            state.origin.to_string(),
            shutdown.clone(),
        )));
    }
    tasks.push(tokio::spawn(crate::notify::dispatcher::run(
        state.clone(),
        shutdown.clone(),
    )));
    if state.config.engine.workers > 0 {
        tasks.push(tokio::spawn(
            Worker::new(state.clone()).run(shutdown.clone()),
        ));
    }
    tasks
}

/// Empties the token cache whenever a credential may have stopped holding:
/// a revocation in any process, or notifications that may have been lost
/// (the listener reconnected, or this receiver lagged).
async fn empty_token_cache(
    mut notices: tokio::sync::broadcast::Receiver<crate::engine::signals::Notice>,
    tokens: Arc<crate::domain::credentials::TokenCache>,
    shutdown: CancellationToken,
) {
    use crate::engine::signals::Notice;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let notice = tokio::select! {
            n = notices.recv() => n,
            _ = shutdown.cancelled() => return,
        };
        match notice {
            Ok(Notice::Event(s))
                if !crate::domain::credentials::REVOKING.contains(&s.kind.as_str()) => {}
            Err(RecvError::Closed) => return,
            Ok(_) | Err(RecvError::Lagged(_)) => tokens.clear(),
        }
    }
}

/// A server bound to its address, ready to run.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    address: SocketAddr,
    shutdown: CancellationToken,
    first_sign_in: Option<String>,
}

/// On a database with no users, creates the admin user `admin` and returns
/// a one-time sign-in link for it (`None` when users exist). Two servers
/// starting at once on an empty database create one admin between them.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<Option<String>> {
    use crate::domain::{Principal, identity, sessions};
    if identity::count_users(&state.db)
        .await
        .map_err(crate::error::AppError::into_anyhow)?
        > 0
    {
        return Ok(None);
    }
    let stamp = state.stamp(&Principal::system());
    let created = identity::create_user(
        &state.db,
        &stamp,
        identity::NewUser {
            name: "admin".into(),
            email: None,
            role: entity::role::Role::Admin,
        },
    )
    .await;
    let admin = match created {
        Ok((u, signal)) => {
            state.hub.publish([signal]);
            u
        }
        // Another process won the race; its link is the one printed.
        Err(crate::error::AppError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into_anyhow()),
    };
    let (code, _) = sessions::issue_code(&state.db, &stamp, admin.id)
        .await
        .map_err(crate::error::AppError::into_anyhow)?;
    tracing::info!("no users yet: created the admin user 'admin'");
    Ok(Some(sessions::sign_in_url(
        &state.config.public_url(),
        &code,
    )))
}

/// Declares the workflow types of a YAML file (as the command line, an
/// admin). A file that does not parse, or a declaration that is refused,
/// stops the start with the reason: a server must not run half-configured.
pub async fn declare_types_file(state: &AppState, path: &std::path::Path) -> anyhow::Result<()> {
    use crate::domain::{Principal, workflow_types};
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the types file {}", path.display()))?;
    let declarations = workflow_types::parse_file(&text)
        .map_err(|e| anyhow::anyhow!("the types file {} is not valid: {e}", path.display()))?;
    let cli = Principal::cli();
    for d in declarations {
        let name = d.name.clone();
        let declared =
            workflow_types::declare(&state.db, &state.catalog, &state.stamp(&cli), &cli, d)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "the types file {} declares '{name}', which was refused: {}",
                        path.display(),
                        e.message()
                    )
                })?;
        state.hub.publish(declared.signals);
        tracing::info!(
            workflow_type = %name,
            version = declared.spec.version,
            new = declared.created,
            "declared from the types file"
        );
    }
    Ok(())
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with(config, Overrides::default()).await
    }

    pub async fn build_with(
        mut config: Config,
        overrides: Overrides,
    ) -> anyhow::Result<Application> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let address = listener.local_addr()?;
        // Links name the port actually bound (port 0 in tests).
        config.listen = address;
        let bootstrap = config.auth.bootstrap_admin;
        let state = build_state(config, overrides).await?;
        if let Some(path) = state.config.types_file.clone() {
            declare_types_file(&state, &path).await?;
        }
        let first_sign_in = if bootstrap {
            bootstrap_admin(&state).await?
        } else {
            None
        };
        Ok(Application {
            state,
            listener,
            address,
            shutdown: CancellationToken::new(),
            first_sign_in,
        })
    }

    /// The first-start sign-in link, when this start created the first admin.
    pub fn first_sign_in(&self) -> Option<&str> {
        self.first_sign_in.as_deref()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Cancel it to stop the server gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops claiming,
    /// lets running workflows finish (or releases them) and returns.
    pub async fn run(self) -> anyhow::Result<()> {
        let background = spawn_background(&self.state, &self.shutdown);
        let router = crate::http::router(self.state.clone());
        tracing::info!(address = %self.address, "serving GraphQL at http://{}/graphql", self.address);
        let stop = self.shutdown.clone();
        // Peer addresses decide whether a proxy's identity header is trusted.
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .context("serving HTTP")?;
        for task in background {
            let _ = task.await;
        }
        self.state.db.clone().close().await.ok();
        Ok(())
    }
}
