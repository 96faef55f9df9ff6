//! Engine benchmark: how fast the workers drain the queue, run
//! `generate_draft` with an instant (offline) model, and start the next
//! workflow after a decision — on SQLite and on PostgreSQL.
//!
//! ```text
//! cargo bench -p baton-e2e --bench engine -- [--workflows N] [--backend sqlite|postgres|both] [--workers W]
//! ```
//!
//! Defaults: N = 10000, both backends, W = 8. PostgreSQL: the server named by
//! `BATON_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! the bench creates `baton_bench_<random>` there and drops it at the end.
//! SQLite: a fresh file in a temporary directory.
//!
//! Per backend, with one worker pool of W slots:
//! 1. baseline: N `noop` workflows (no model call, no approval) are inserted
//!    with the workers stopped, then the workers start; drain rate.
//! 2. N `generate_draft` submitted one by one (`workflows::submit` + publish)
//!    while the workers run; throughput and created→completed latency.
//! 3. the N approvals approved with feedback, one by one (`approvals::vote`
//!    + publish); decide rate, decided→next started and decided→completed.
//!
//! Then correctness checks; the process exits non-zero when one fails.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use baton::app::{Overrides, build_state, spawn_background};
use baton::config::{Config, EngineConfig};
use baton::domain::Principal;
use baton::domain::approvals::{self, Ballot, Decision};
use baton::domain::workflows::{self, NewWorkflow, Submission};
use baton::engine::{Outcome, RunContext, Workflow, WorkflowError};
use baton::state::AppState;
use entity::approval::{self, ApprovalStatus};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::prelude::DateTimeUtc;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const USAGE: &str = "usage: cargo bench -p baton-e2e --bench engine -- \
[--workflows N] [--backend sqlite|postgres|both] [--workers W]";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Rows per transaction when the baseline's workflows are inserted.
const INSERT_BATCH: usize = 500;
/// How often the bench asks the database whether the queue is empty.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Give up when the number of unfinished workflows stops moving this long.
const STALL_LIMIT: Duration = Duration::from_secs(120);
const NOOP: &str = "noop";
const GENERATE_DRAFT: &str = "generate_draft";
const APPLY_FEEDBACK: &str = "apply_feedback";
/// Model calls per workflow with the offline model: `generate_draft` with 3
/// candidates = 3 drafts + merge + judge; `apply_feedback` with feedback =
/// revise + judge.
const CALLS_PER_DRAFT: usize = 5;
const CALLS_PER_FEEDBACK: usize = 2;

/// The baseline: the engine's own cost per workflow, without any model call.
struct Noop;

#[async_trait::async_trait]
impl Workflow for Noop {
    fn name(&self) -> &'static str {
        NOOP
    }

    fn description(&self) -> &'static str {
        "Benchmark baseline: does nothing, calls no model and asks for no approval."
    }

    fn input_schema(&self) -> Value {
        json!({ "type": "object" })
    }

    fn requires_approval(&self) -> bool {
        false
    }

    async fn execute(&self, _ctx: &RunContext, _input: Value) -> Result<Outcome, WorkflowError> {
        Ok(Outcome {
            output: json!({}),
            ..Default::default()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

struct Args {
    workflows: usize,
    backends: Vec<Backend>,
    workers: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        workflows: 10_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        workers: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            // `cargo bench` passes this to every bench binary.
            "--bench" => {}
            "--workflows" | "-n" => {
                args.workflows = value(&mut it, inline, &flag)?
                    .parse()
                    .context("--workflows takes a positive number")?;
            }
            "--workers" | "-w" => {
                args.workers = value(&mut it, inline, &flag)?
                    .parse()
                    .context("--workers takes a positive number")?;
            }
            "--backend" => {
                args.backends = match value(&mut it, inline, &flag)?.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" | "postgresql" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => bail!("unknown backend '{other}'\n{USAGE}"),
                };
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    if args.workflows == 0 || args.workers == 0 {
        bail!("--workflows and --workers must be at least 1\n{USAGE}");
    }
    Ok(args)
}

fn value(
    it: &mut impl Iterator<Item = String>,
    inline: Option<String>,
    flag: &str,
) -> anyhow::Result<String> {
    inline
        .or_else(|| it.next())
        .ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let n = args.workflows;
    println!("Baton engine benchmark");
    println!(
        "  N = {n} workflows per phase, engine.workers = {}, poll_interval = 200ms, lease = 30s, max_attempts = 3",
        args.workers
    );
    println!("  model: the offline model (no network, answers at once, latency 0)");
    println!(
        "  generate_draft: 3 candidates = {CALLS_PER_DRAFT} model calls per workflow (3 drafts, merge, judge), \
         each written as an llm_calls row (own INSERT, outside the finishing transaction)"
    );
    println!(
        "  apply_feedback (approved with feedback \"tighter\"): {CALLS_PER_FEEDBACK} model calls (revise, judge)"
    );
    println!(
        "  phase 1 enqueues with domain::workflows::insert, {INSERT_BATCH} rows per transaction, workers stopped;"
    );
    println!(
        "  phase 2 with domain::workflows::submit (one transaction each) + hub.publish, workers running"
    );
    println!();

    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for &backend in &args.backends {
        eprintln!("[{}] starting", backend.name());
        match run_backend(backend, &args).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("[{}] FAILED: {e:#}", backend.name());
                errors.push(format!("{}: {e:#}", backend.name()));
            }
        }
    }
    print_report(&reports);
    let failed_checks: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r.checks
                .iter()
                .filter(|c| c.kind == CheckKind::Required && !c.ok)
                .map(move |c| format!("{}: {}", r.backend, c.label))
        })
        .collect();
    if !errors.is_empty() || !failed_checks.is_empty() {
        bail!(
            "benchmark failed: {}",
            errors
                .into_iter()
                .chain(failed_checks)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(())
}

/// Sets up the backend's fresh database, runs the phases, and removes the
/// database whatever happened.
async fn run_backend(backend: Backend, args: &Args) -> anyhow::Result<Report> {
    let suffix = random_suffix();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("baton-bench-{suffix}"));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            let result = run_on(backend, url, args).await;
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                eprintln!("warning: could not remove {}: {e}", dir.display());
            }
            result
        }
        Backend::Postgres => {
            let server = std::env::var("BATON_TEST_DATABASE_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
            let name = format!("baton_bench_{suffix}");
            let mut opts = ConnectOptions::new(server.clone());
            opts.max_connections(1)
                .sqlx_logging(false)
                .connect_timeout(Duration::from_secs(10));
            let admin = Database::connect(opts).await.with_context(|| {
                format!(
                    "connecting to PostgreSQL at {}",
                    baton::config::redact_url(&server)
                )
            })?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .with_context(|| format!("creating the database {name}"))?;
            eprintln!("[postgres] created database {name}");
            let result = match with_database(&server, &name) {
                Ok(url) => run_on(backend, url, args).await,
                Err(e) => Err(e),
            };
            let dropped = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
            match dropped {
                Ok(_) => eprintln!("[postgres] dropped database {name}"),
                Err(e) => eprintln!("warning: could not drop the database {name}: {e}"),
            }
            result
        }
    }
}

/// `postgres://u@h:5432/test?x=y` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let after_scheme = url
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| anyhow!("not a database URL: {}", baton::config::redact_url(url)))?;
    let (base, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let path_start = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    Ok(format!("{}/{name}{query}", &base[..path_start]))
}

/// 12 random hex digits (the random tail of a v7 UUID).
fn random_suffix() -> String {
    let s = Uuid::now_v7().simple().to_string();
    s[s.len() - 12..].to_string()
}

/// Builds the state, runs the phases, then always stops the workers and
/// waits for them.
async fn run_on(backend: Backend, database_url: String, args: &Args) -> anyhow::Result<Report> {
    let config = Config {
        database_url,
        engine: EngineConfig {
            workers: args.workers,
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(30),
            ..EngineConfig::default()
        },
        ..Config::default()
    };
    // llm.base_url is None by default: the offline model.
    debug_assert!(config.llm.base_url.is_none());
    let mut registry = baton::workflows::builtin();
    registry.register(Noop);
    let state = build_state(
        config,
        Overrides {
            registry: Some(registry),
            ..Overrides::default()
        },
    )
    .await
    .context("building the state")?;
    let token = CancellationToken::new();
    let mut background = Vec::new();
    let result = phases(backend, &state, args, &token, &mut background).await;
    token.cancel();
    for task in background {
        if let Err(e) = task.await {
            eprintln!("warning: a background task ended badly: {e}");
        }
    }
    state.db.clone().close().await.ok();
    result
}

/// One workflow's timestamps, as read back from the table.
struct Times {
    id: Uuid,
    status: WorkflowStatus,
    attempt: i32,
    triggered_by: Option<Uuid>,
    created_at: DateTimeUtc,
    started_at: Option<DateTimeUtc>,
    completed_at: Option<DateTimeUtc>,
}

type TimesRow = (
    Uuid,
    WorkflowStatus,
    i32,
    Option<Uuid>,
    DateTimeUtc,
    Option<DateTimeUtc>,
    Option<DateTimeUtc>,
);

async fn times(db: &DatabaseConnection, workflow_type: &str) -> anyhow::Result<Vec<Times>> {
    let rows: Vec<TimesRow> = workflow::Entity::find()
        .select_only()
        .columns([
            workflow::Column::Id,
            workflow::Column::Status,
            workflow::Column::Attempt,
            workflow::Column::TriggeredByApprovalId,
            workflow::Column::CreatedAt,
            workflow::Column::StartedAt,
            workflow::Column::CompletedAt,
        ])
        .filter(workflow::Column::WorkflowType.eq(workflow_type))
        .into_tuple()
        .all(db)
        .await
        .with_context(|| format!("reading the {workflow_type} workflows"))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, status, attempt, triggered_by, created_at, started_at, completed_at)| Times {
                id,
                status,
                attempt,
                triggered_by,
                created_at,
                started_at,
                completed_at,
            },
        )
        .collect())
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("running {sql}"))?
        .ok_or_else(|| anyhow!("no row from {sql}"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Waits until no workflow is pending or running (retries count as
/// pending). Fails when that number stops moving for `STALL_LIMIT`.
async fn wait_idle(state: &AppState, label: &str) -> anyhow::Result<()> {
    // Two partial-index counts rather than `status IN (…)`.
    const UNFINISHED: &str = "SELECT (SELECT COUNT(*) FROM workflows WHERE status = 'pending') \
                              + (SELECT COUNT(*) FROM workflows WHERE status = 'running')";
    let started = Instant::now();
    let mut last = i64::MAX;
    let mut last_change = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let left = count(&state.db, UNFINISHED).await?;
        if left == 0 {
            return Ok(());
        }
        if left != last {
            last = left;
            last_change = Instant::now();
        } else if last_change.elapsed() > STALL_LIMIT {
            bail!("{label}: {left} workflows still unfinished and no progress for {STALL_LIMIT:?}");
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            eprintln!(
                "  {label}: {left} unfinished after {:.0?}",
                started.elapsed()
            );
        }
        tokio::time::sleep(IDLE_POLL).await;
    }
}

fn micros(later: DateTimeUtc, earlier: DateTimeUtc) -> i64 {
    (later - earlier).num_microseconds().unwrap_or(i64::MAX)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn fmt_ms(us: Option<i64>) -> String {
    us.map_or_else(
        || "-".to_string(),
        |us| format!("{:.1} ms", us as f64 / 1000.0),
    )
}

fn fmt_rate(count: usize, secs: f64) -> String {
    if secs <= 0.0 {
        "-".to_string()
    } else {
        format!("{:.0} /s", count as f64 / secs)
    }
}

fn fmt_secs(secs: f64) -> String {
    format!("{secs:.2} s")
}

/// p50 / p99 / max of a set of latencies, in three rows.
fn latency_rows(metrics: &mut Vec<(String, String)>, label: &str, mut values: Vec<i64>) {
    values.sort_unstable();
    for (name, p) in [("p50", 50.0), ("p99", 99.0), ("max", 100.0)] {
        metrics.push((format!("{label} {name}"), fmt_ms(percentile(&values, p))));
    }
}

struct Check {
    label: String,
    ok: bool,
    detail: String,
    kind: CheckKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckKind {
    /// Fails the run.
    Required,
    /// Printed as a note when it does not hold; does not fail the run.
    Expected,
    /// Just a number.
    Info,
}

struct Report {
    backend: &'static str,
    metrics: Vec<(String, String)>,
    checks: Vec<Check>,
}

async fn phases(
    backend: Backend,
    state: &AppState,
    args: &Args,
    token: &CancellationToken,
    background: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<Report> {
    let n = args.workflows;
    let tag = backend.name();
    // A trusted admin (as `Principal::cli`), recorded as "bench".
    let who = Principal {
        id: "bench".to_string(),
        ..Principal::cli()
    };
    let max_attempts = state.config.engine.max_attempts;
    let db = &state.db;
    let mut metrics: Vec<(String, String)> = Vec::new();
    let mut checks: Vec<Check> = Vec::new();

    // ---- Phase 1: baseline drain of `noop` workflows --------------------
    eprintln!("[{tag}] phase 1: inserting {n} noop workflows (workers stopped)");
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let batch = INSERT_BATCH.min(n - done);
        let txn = db.begin().await?;
        for _ in 0..batch {
            workflows::insert(
                &txn,
                &state.stamp(&who),
                NewWorkflow {
                    workflow_type: NOOP.to_string(),
                    type_version: None,
                    input: json!({}),
                    idempotency_key: None,
                    chain_id: None,
                    triggered_by_approval_id: None,
                    max_attempts,
                    parent_id: None,
                },
            )
            .await
            .context("inserting a noop workflow")?;
        }
        txn.commit().await?;
        done += batch;
    }
    let insert_secs = t.elapsed().as_secs_f64();
    eprintln!("[{tag}] phase 1: starting the workers, draining");
    let drain_start = state.clock.now();
    background.extend(spawn_background(state, token));
    wait_idle(state, &format!("[{tag}] phase 1")).await?;
    let noops = times(db, NOOP).await?;
    let drain_end = noops
        .iter()
        .filter_map(|w| w.completed_at)
        .max()
        .unwrap_or(drain_start);
    let drain_secs = micros(drain_end, drain_start) as f64 / 1e6;
    metrics.push((
        "1 noop insert rate (batches of 500, no workers)".into(),
        fmt_rate(n, insert_secs),
    ));
    metrics.push((
        "1 noop drain: workers start → last completed".into(),
        fmt_secs(drain_secs),
    ));
    metrics.push(("1 noop drain rate".into(), fmt_rate(n, drain_secs)));

    // ---- Phase 2: generate_draft throughput and latency ----------------
    eprintln!("[{tag}] phase 2: submitting {n} generate_draft workflows (workers running)");
    let t = Instant::now();
    for i in 0..n {
        let submitted = workflows::submit(
            db,
            &state.catalog,
            &state.stamp(&who),
            &who,
            Submission {
                workflow_type: GENERATE_DRAFT.to_string(),
                input: json!({ "prompt": format!("bench scene {i}") }),
                idempotency_key: None,
            },
        )
        .await
        .map_err(|e| anyhow!("submitting generate_draft {i}: {e:?}"))?;
        state.hub.publish(submitted.signals);
    }
    let submit_secs = t.elapsed().as_secs_f64();
    eprintln!("[{tag}] phase 2: all submitted in {submit_secs:.1}s; waiting for completion");
    wait_idle(state, &format!("[{tag}] phase 2")).await?;
    let drafts = times(db, GENERATE_DRAFT).await?;
    let first_created = drafts.iter().map(|w| w.created_at).min();
    let last_completed = drafts.iter().filter_map(|w| w.completed_at).max();
    let draft_wall = match (first_created, last_completed) {
        (Some(a), Some(b)) => micros(b, a) as f64 / 1e6,
        _ => 0.0,
    };
    metrics.push((
        "2 generate_draft submit rate (submit + publish)".into(),
        fmt_rate(n, submit_secs),
    ));
    metrics.push((
        "2 generate_draft: first enqueue → last completed".into(),
        fmt_secs(draft_wall),
    ));
    metrics.push((
        "2 generate_draft throughput".into(),
        fmt_rate(n, draft_wall),
    ));
    latency_rows(
        &mut metrics,
        "2 created → completed",
        drafts
            .iter()
            .filter_map(|w| w.completed_at.map(|c| micros(c, w.created_at)))
            .collect(),
    );
    latency_rows(
        &mut metrics,
        "2 created → started (queue wait)",
        drafts
            .iter()
            .filter_map(|w| w.started_at.map(|s| micros(s, w.created_at)))
            .collect(),
    );

    // ---- Phase 3: approve → next workflow start ------------------------
    let pending: Vec<(Uuid, i32)> = approval::Entity::find()
        .select_only()
        .columns([approval::Column::Id, approval::Column::ArtifactVersion])
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .order_by_asc(approval::Column::CreatedAt)
        .order_by_asc(approval::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .context("listing pending approvals")?;
    eprintln!(
        "[{tag}] phase 3: approving {} approvals with feedback, one by one",
        pending.len()
    );
    let t = Instant::now();
    for (id, version) in &pending {
        let decided = approvals::vote(
            db,
            &state.catalog,
            &state.stamp(&who),
            &who,
            *id,
            Ballot {
                decision: Decision::Approve,
                version: *version,
                feedback: Some("tighter".into()),
                edits: None,
            },
        )
        .await
        .map_err(|e| anyhow!("deciding approval {id}: {e:?}"))?;
        state.hub.publish(decided.signals);
    }
    let decide_secs = t.elapsed().as_secs_f64();
    eprintln!("[{tag}] phase 3: all decided in {decide_secs:.1}s; waiting for apply_feedback");
    wait_idle(state, &format!("[{tag}] phase 3")).await?;
    let decided: Vec<(Uuid, Option<DateTimeUtc>, Option<Uuid>)> = approval::Entity::find()
        .select_only()
        .columns([
            approval::Column::Id,
            approval::Column::DecidedAt,
            approval::Column::NextWorkflowId,
        ])
        .filter(approval::Column::DecidedAt.is_not_null())
        .into_tuple()
        .all(db)
        .await
        .context("reading decided approvals")?;
    let feedbacks = times(db, APPLY_FEEDBACK).await?;
    let by_approval: HashMap<Uuid, &Times> = feedbacks
        .iter()
        .filter_map(|w| w.triggered_by.map(|a| (a, w)))
        .collect();
    let mut to_start = Vec::with_capacity(decided.len());
    let mut to_complete = Vec::with_capacity(decided.len());
    let mut linked = 0usize;
    for (approval_id, decided_at, next_id) in &decided {
        let (Some(decided_at), Some(next)) = (decided_at, by_approval.get(approval_id)) else {
            continue;
        };
        if *next_id == Some(next.id) {
            linked += 1;
        }
        if let Some(s) = next.started_at {
            to_start.push(micros(s, *decided_at));
        }
        if let Some(c) = next.completed_at {
            to_complete.push(micros(c, *decided_at));
        }
    }
    let first_decided = decided.iter().filter_map(|d| d.1).min();
    let last_feedback = feedbacks.iter().filter_map(|w| w.completed_at).max();
    let feedback_wall = match (first_decided, last_feedback) {
        (Some(a), Some(b)) => micros(b, a) as f64 / 1e6,
        _ => 0.0,
    };
    metrics.push((
        "3 decide calls (decide + publish, sequential)".into(),
        fmt_rate(decided.len(), decide_secs),
    ));
    metrics.push((
        "3 first decision → last apply_feedback completed".into(),
        fmt_secs(feedback_wall),
    ));
    metrics.push((
        "3 apply_feedback throughput".into(),
        fmt_rate(feedbacks.len(), feedback_wall),
    ));
    latency_rows(&mut metrics, "3 decided → next started", to_start);
    latency_rows(&mut metrics, "3 decided → next completed", to_complete);

    // ---- Correctness ---------------------------------------------------
    let n64 = n as i64;
    let draft_approvals = count(
        db,
        "SELECT COUNT(*) FROM approvals a JOIN workflows w ON w.id = a.workflow_id \
         WHERE w.type = 'generate_draft'",
    )
    .await?;
    let mut check = |label: String, ok: bool, detail: String, kind: CheckKind| {
        checks.push(Check {
            label,
            ok,
            detail,
            kind,
        });
    };
    use CheckKind::{Expected, Info, Required};
    check(
        format!("approvals asked by generate_draft == {n}"),
        draft_approvals == n64,
        draft_approvals.to_string(),
        Required,
    );
    check(
        format!("approvals decided == {n}"),
        decided.len() == n,
        decided.len().to_string(),
        Required,
    );
    check(
        format!("apply_feedback workflows == {n}"),
        feedbacks.len() == n,
        feedbacks.len().to_string(),
        Required,
    );
    // One per approval: distinct triggers, exactly the decided approvals,
    // and each approval's next_workflow_id names its workflow.
    let distinct: HashSet<Uuid> = feedbacks.iter().filter_map(|w| w.triggered_by).collect();
    let decided_ids: HashSet<Uuid> = decided.iter().map(|d| d.0).collect();
    check(
        "apply_feedback: exactly one per approval, linked both ways".into(),
        distinct.len() == feedbacks.len() && distinct == decided_ids && linked == decided.len(),
        format!("{}/{}", linked, decided.len()),
        Required,
    );
    let failed = count(db, "SELECT COUNT(*) FROM workflows WHERE status = 'failed'").await?;
    check(
        "failed workflows == 0".into(),
        failed == 0,
        failed.to_string(),
        Required,
    );
    for (label, rows) in [
        (NOOP, &noops),
        (GENERATE_DRAFT, &drafts),
        (APPLY_FEEDBACK, &feedbacks),
    ] {
        let completed = rows
            .iter()
            .filter(|w| w.status == WorkflowStatus::Completed)
            .count();
        check(
            format!("{label} completed == {n}"),
            completed == n,
            completed.to_string(),
            Required,
        );
    }
    let reruns = noops
        .iter()
        .chain(&drafts)
        .chain(&feedbacks)
        .filter(|w| w.attempt > 1)
        .count();
    check(
        "workflows run more than once (expected 0)".into(),
        reruns == 0,
        reruns.to_string(),
        Expected,
    );
    let llm_calls = count(db, "SELECT COUNT(*) FROM llm_calls").await?;
    let expected_calls = n * (CALLS_PER_DRAFT + CALLS_PER_FEEDBACK);
    check(
        format!(
            "llm_calls rows (expected {CALLS_PER_DRAFT}N + {CALLS_PER_FEEDBACK}N = {expected_calls})"
        ),
        llm_calls == expected_calls as i64,
        llm_calls.to_string(),
        Expected,
    );
    let all_approvals = count(db, "SELECT COUNT(*) FROM approvals").await?;
    check(
        "new approvals asked by apply_feedback (not final)".into(),
        true,
        (all_approvals - draft_approvals).to_string(),
        Info,
    );
    let events = count(db, "SELECT COUNT(*) FROM events").await?;
    check("events rows".into(), true, events.to_string(), Info);
    eprintln!("[{tag}] done");
    Ok(Report {
        backend: tag,
        metrics,
        checks,
    })
}

fn print_report(reports: &[Report]) {
    let Some(first) = reports.first() else {
        println!("no backend finished");
        return;
    };
    let cell = |c: &Check| match (c.kind, c.ok) {
        (CheckKind::Info, _) | (_, true) => c.detail.clone(),
        (CheckKind::Required, false) => format!("FAIL {}", c.detail),
        (CheckKind::Expected, false) => format!("note: {}", c.detail),
    };
    let width = first
        .metrics
        .iter()
        .map(|m| m.0.chars().count())
        .chain(first.checks.iter().map(|c| c.label.chars().count() + 7))
        .max()
        .unwrap_or(10)
        + 2;
    let col = reports
        .iter()
        .flat_map(|r| {
            r.metrics
                .iter()
                .map(|m| m.1.chars().count())
                .chain(r.checks.iter().map(|c| cell(c).chars().count()))
        })
        .max()
        .unwrap_or(10)
        .max(10)
        + 3;
    let header = |title: &str| {
        let mut line = format!("{title:<width$}");
        for r in reports {
            line.push_str(&format!("{:>col$}", r.backend));
        }
        println!("{line}");
        println!("{}", "-".repeat(width + col * reports.len()));
    };
    println!();
    header("metric");
    for (i, (label, _)) in first.metrics.iter().enumerate() {
        let mut line = format!("{label:<width$}");
        for r in reports {
            let v = r.metrics.get(i).map_or("-", |m| m.1.as_str());
            line.push_str(&format!("{v:>col$}"));
        }
        println!("{line}");
    }
    println!();
    header("check");
    for (i, c) in first.checks.iter().enumerate() {
        let mark = match c.kind {
            CheckKind::Required => "[must]",
            CheckKind::Expected => "[note]",
            CheckKind::Info => "[info]",
        };
        let mut line = format!("{:<width$}", format!("{mark} {}", c.label));
        for r in reports {
            let v = r.checks.get(i).map_or_else(|| "-".to_string(), cell);
            line.push_str(&format!("{v:>col$}"));
        }
        println!("{line}");
    }
    let verdict = reports
        .iter()
        .map(|r| {
            let ok = r
                .checks
                .iter()
                .all(|c| c.kind != CheckKind::Required || c.ok);
            format!("{}: {}", r.backend, if ok { "PASS" } else { "FAIL" })
        })
        .collect::<Vec<_>>()
        .join(", ");
    println!("correctness: {verdict}");
    println!();
    println!("Notes: latencies come from the rows' own timestamps (the engine's clock, µs).");
    println!(
        "  'started' is the latest attempt's start (workflows.started_at is overwritten by each claim)."
    );
    println!(
        "  Phase 2 throughput = N / (first created_at → last completed_at) of the generate_draft rows;"
    );
    println!("  phase 3 throughput = N / (first decided_at → last apply_feedback completed_at).");
}
