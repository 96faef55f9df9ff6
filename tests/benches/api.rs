//! API benchmark (issue 13 §1): a real `baton serve` process, driven through
//! GraphQL over HTTP and graphql-ws by a Rust load generator in this
//! process, on PostgreSQL and on SQLite, with the peers' figures beside it.
//!
//! ```text
//! scripts/bench [--compare] [--quick] [--scenario NAME[,NAME…]] [--backend postgres|sqlite|both]
//!               [--subscribers M] [--burst B] [--client-procs P] [--big-queue]
//! cargo bench -p baton-e2e --bench api -- [same flags] [--dur S] [--reps R] [--peers FILE]
//! ```
//!
//! Load generator: N tokio tasks (`--conns`, default 16), each with its own
//! reqwest client, i.e. its own keep-alive HTTP/1.1 connection, sending the
//! next request as soon as the previous answer has been read in full (closed
//! loop, like `wrk -c16`). Every answer is checked (200, a `data` object, no
//! `errors`); a failed answer counts as an error and fails the run.
//!
//! Model: the built-in offline model (no `BATON_LLM_BASE_URL`): it answers
//! at once, so no model time is measured; a run of `generate_draft` with one
//! candidate still makes and stores its two model calls (draft + judge).
//!
//! Each scenario gets a fresh database (PostgreSQL: `baton_bench_<random>`
//! on `BATON_BENCH_DATABASE_URL`, else `BATON_TEST_DATABASE_URL`, else the
//! local server; SQLite: a file in a temporary directory) and its own server
//! process, so one scenario's rows never slow down the next. Correctness
//! counts are checked in every run and fail the process; `--quick` checks
//! only those and never judges a timing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow, bail, ensure};
use baton::domain::workflows::{self, NewWorkflow};
use baton::domain::{Principal, Stamp};
use baton_e2e::process::{ServerProcess, baton_bin};
use baton_e2e::ws::Subscription;
use chrono::{DateTime, Utc};
use entity::approval;
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const USAGE: &str =
    "usage: api [--quick] [--scenario NAME[,NAME...]] [--backend postgres|sqlite|both] \
[--dur SECS] [--reps N] [--conns N] [--subscribers M] [--burst B] [--client-procs P] [--big-queue] [--peers FILE]
scenarios: inbox lookup decide enqueue drain cycle subscriptions bigqueue footprint";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const GENERATE_DRAFT: &str = "generate_draft";
const APPLY_FEEDBACK: &str = "apply_feedback";
/// What the peers' approvals table holds: 100k rows, 10% pending, ~1 KB artifact.
const INBOX_ROWS: usize = 100_000;
const BIG_ROWS: usize = 1_000_000;
/// Size of the artifact JSON the seed stores (the peers' `seed.sql` shape).
const ARTIFACT_BYTES: usize = 1024;
/// Rows per transaction when the drain's workflows are inserted.
const INSERT_BATCH: usize = 500;
const STALL_LIMIT: Duration = Duration::from_secs(120);
/// Who the seeded (already decided) approvals say decided them, so that the
/// decide check can tell them from the benchmark's own decisions.
const SEED_ACTOR: &str = "bench-seed";

const INBOX_QUERY: &str =
    "{ pendingApprovals(first: 50) { edges { node { id artifactType artifactData createdAt } } } }";
/// The review app's queue page (`web/src/graphql`'s `PendingApprovals` with
/// its `QueueApproval` fragment): every item's votes, eligibility and
/// workflow, which the server reads through its loaders.
const INBOX_APP_QUERY: &str = "{ pendingApprovals(first: 50) { edges { cursor node {
    id status artifactType artifactData score createdAt artifactVersion approvalsCount requiredApprovals
    viewerCanDecide { allowed reason }
    votes { id reviewer { name } decision artifactVersion }
    workflow { id type typeVersion } } } pageInfo { hasNextPage endCursor } } }";
const LOOKUP_QUERY: &str = "query($id: ID!) { approval(id: $id) { id status artifactType artifactData createdAt workflow { id } } }";
const DEEP_QUERY: &str = "query($after: String) { pendingApprovals(first: 50, after: $after) { edges { node { id artifactType artifactData createdAt } } } }";
const RUN_MUTATION: &str = "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { workflow { id status } approval { id artifactVersion } } }";

// ---------------------------------------------------------------------------
// Arguments

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

const SCENARIOS: &[&str] = &[
    "inbox",
    "inbox_app",
    "lookup",
    "decide",
    "enqueue",
    "drain",
    "cycle",
    "subscriptions",
    "bigqueue",
    "footprint",
];

struct Args {
    quick: bool,
    backends: Vec<Backend>,
    scenarios: Vec<String>,
    dur: Duration,
    reps: usize,
    conns: usize,
    subscribers: usize,
    burst: usize,
    /// Client processes the subscribers are spread over (`--client-procs`;
    /// default one per 2,500 subscribers).
    client_procs: usize,
    peers: Option<PathBuf>,
    /// Sizes, scaled down by `--quick`.
    cycle_n: usize,
    drain_n: usize,
    enqueue_n: usize,
    warmup: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut quick = false;
    let mut backend: Option<Vec<Backend>> = None;
    let mut scenarios: Vec<String> = Vec::new();
    let mut dur: Option<u64> = None;
    let mut reps: Option<usize> = None;
    let mut conns = 16;
    let mut subscribers: Option<usize> = None;
    let mut burst: Option<usize> = None;
    let mut client_procs: Option<usize> = None;
    let mut big_queue = false;
    let mut peers = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let val = |it: &mut std::iter::Skip<std::env::Args>| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            // `cargo bench` passes this to every bench binary.
            "--bench" => {}
            "--quick" => quick = true,
            "--big-queue" => big_queue = true,
            "--scenario" => {
                for s in val(&mut it)?.split(',') {
                    ensure!(SCENARIOS.contains(&s), "unknown scenario '{s}'\n{USAGE}");
                    scenarios.push(s.to_string());
                }
            }
            "--backend" => {
                backend = Some(match val(&mut it)?.as_str() {
                    "postgres" | "postgresql" => vec![Backend::Postgres],
                    "sqlite" => vec![Backend::Sqlite],
                    "both" => vec![Backend::Postgres, Backend::Sqlite],
                    other => bail!("unknown backend '{other}'\n{USAGE}"),
                })
            }
            "--dur" => dur = Some(val(&mut it)?.parse().context("--dur takes seconds")?),
            "--reps" => reps = Some(val(&mut it)?.parse().context("--reps takes a number")?),
            "--conns" => conns = val(&mut it)?.parse().context("--conns takes a number")?,
            "--subscribers" => {
                subscribers = Some(
                    val(&mut it)?
                        .parse()
                        .context("--subscribers takes a number")?,
                )
            }
            "--burst" => burst = Some(val(&mut it)?.parse().context("--burst takes a number")?),
            "--client-procs" => {
                client_procs = Some(
                    val(&mut it)?
                        .parse()
                        .context("--client-procs takes a number")?,
                )
            }
            "--peers" => peers = Some(PathBuf::from(val(&mut it)?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    let big_queue = big_queue || scenarios.iter().any(|s| s == "bigqueue");
    if scenarios.is_empty() {
        scenarios = SCENARIOS
            .iter()
            .filter(|s| **s != "bigqueue" || big_queue)
            .map(|s| s.to_string())
            .collect();
    }
    ensure!(conns > 0, "--conns must be at least 1");
    Ok(Args {
        quick,
        backends: backend.unwrap_or_else(|| vec![Backend::Postgres, Backend::Sqlite]),
        scenarios,
        dur: Duration::from_secs(dur.unwrap_or(if quick { 1 } else { 20 })),
        reps: reps.unwrap_or(if quick { 1 } else { 3 }).max(1),
        conns: if quick { conns.min(4) } else { conns },
        subscribers: subscribers.unwrap_or(if quick { 20 } else { 2_000 }),
        burst: burst.unwrap_or(if quick { 10 } else { 200 }),
        client_procs: client_procs
            .unwrap_or_else(|| subscribers.unwrap_or(2_000).div_ceil(SUBSCRIBERS_PER_PROC))
            .max(1),
        peers,
        cycle_n: if quick { 12 } else { 1_000 },
        drain_n: if quick { 40 } else { 20_000 },
        enqueue_n: if quick { 10 } else { 500 },
        warmup: if quick {
            Duration::ZERO
        } else {
            Duration::from_secs(5)
        },
    })
}

/// Which scenarios run on which backend. The seeded ones (inbox, lookup,
/// decide, big queue) are seeded with PostgreSQL SQL; on SQLite they run
/// only under `--quick`, seeded through the API.
fn applies(scenario: &str, backend: Backend, quick: bool) -> bool {
    match scenario {
        "inbox" | "inbox_app" | "lookup" | "decide" | "subscriptions" => {
            backend == Backend::Postgres || quick
        }
        "bigqueue" => backend == Backend::Postgres && !quick,
        "footprint" => backend == Backend::Sqlite,
        _ => true,
    }
}

// ---------------------------------------------------------------------------
// Results and checks

#[derive(Debug, Clone, Default)]
struct Row {
    scenario: String,
    backend: &'static str,
    value: f64,
    unit: &'static str,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    server_cpu_ms: Option<f64>,
    pg_cpu_ms: Option<f64>,
    /// `peer=value` and the ratio Baton ÷ peer (see each scenario).
    peer: Option<(String, f64)>,
    ratio: Option<f64>,
    target: &'static str,
    extra: Vec<(String, String)>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    /// Records a correctness check; a failure fails the whole run.
    fn check(&mut self, what: String, ok: bool) {
        if ok {
            eprintln!("  check ok: {what}");
            self.passed += 1;
        } else {
            eprintln!("  CHECK FAILED: {what}");
            self.failed.push(what);
        }
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), fmt_num)
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(f64::total_cmp);
    xs
}

// ---------------------------------------------------------------------------
// CPU and memory from /proc

fn clk_tck() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// (comm, utime+stime, cutime+cstime) in seconds.
fn proc_stat(pid: &str) -> Option<(String, f64, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_string();
    let f: Vec<&str> = s[close + 2..].split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let t = clk_tck();
    Some((comm, (n(11) + n(12)) / t, (n(13) + n(14)) / t))
}

/// CPU seconds used so far by the server, by PostgreSQL (every process
/// named `postgres*`, with the reaped children of each, so backends that
/// exited count under the postmaster; as `cpu_split.py` does) and by this
/// process (the load generator).
#[derive(Clone, Copy, Default)]
struct Cpu {
    server: f64,
    postgres: f64,
    loadgen: f64,
}

fn cpu_now(server_pid: Option<u32>) -> Cpu {
    let mut c = Cpu::default();
    if let Some(pid) = server_pid
        && let Some((_, own, _)) = proc_stat(&pid.to_string())
    {
        c.server = own;
    }
    if let Some((_, own, _)) = proc_stat("self") {
        c.loadgen = own;
    }
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str() else { continue };
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some((comm, own, children)) = proc_stat(pid)
                && comm.starts_with("postgres")
            {
                c.postgres += own + children;
            }
        }
    }
    c
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu {
            server: self.server - o.server,
            postgres: self.postgres - o.postgres,
            loadgen: self.loadgen - o.loadgen,
        }
    }
}

fn rss_kib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

// ---------------------------------------------------------------------------
// Databases

/// A fresh database for one scenario, removed by [`BenchDb::remove`].
struct BenchDb {
    backend: Backend,
    url: String,
    pg: Option<(String, String)>,
    dir: Option<PathBuf>,
}

fn random_suffix() -> String {
    let s = Uuid::now_v7().simple().to_string();
    s[s.len() - 12..].to_string()
}

fn pg_server_url() -> String {
    ["BATON_BENCH_DATABASE_URL", "BATON_TEST_DATABASE_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_POSTGRES.to_string())
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

async fn admin_connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(1)
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10));
    Database::connect(opts).await.with_context(|| {
        format!(
            "connecting to PostgreSQL at {}",
            baton::config::redact_url(url)
        )
    })
}

impl BenchDb {
    async fn create(backend: Backend) -> anyhow::Result<BenchDb> {
        // The script names every database after its run, so that it can
        // drop what a crashed run left behind.
        let prefix =
            std::env::var("BATON_BENCH_DB_PREFIX").unwrap_or_else(|_| "baton_bench".into());
        let name = format!("{prefix}_{}", random_suffix());
        match backend {
            Backend::Postgres => {
                let server = pg_server_url();
                let admin = admin_connect(&server).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("creating the database {name}"))?;
                admin.close().await.ok();
                Ok(BenchDb {
                    backend,
                    url: with_database(&server, &name)?,
                    pg: Some((server, name)),
                    dir: None,
                })
            }
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(name);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                Ok(BenchDb {
                    backend,
                    url: format!("sqlite://{}?mode=rwc", dir.join("baton.db").display()),
                    pg: None,
                    dir: Some(dir),
                })
            }
        }
    }

    async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        let mut opts = ConnectOptions::new(self.url.clone());
        opts.max_connections(2)
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10));
        Ok(Database::connect(opts).await?)
    }

    async fn remove(self) {
        if let Some((server, name)) = &self.pg {
            match admin_connect(server).await {
                Ok(admin) => {
                    if let Err(e) = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                    {
                        eprintln!("warning: could not drop {name}: {e}");
                    }
                    admin.close().await.ok();
                }
                Err(e) => eprintln!("warning: could not drop {name}: {e:#}"),
            }
        }
        if let Some(dir) = &self.dir
            && let Err(e) = std::fs::remove_dir_all(dir)
        {
            eprintln!("warning: could not remove {}: {e}", dir.display());
        }
    }
}

/// Statements this program sent through [`count`]: each is a transaction
/// of its own, which [`commits_per`] takes out of the database's commits.
static BENCH_QUERIES: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    BENCH_QUERIES.fetch_add(1, Ordering::Relaxed);
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("running {sql}"))?
        .ok_or_else(|| anyhow!("no row from {sql}"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Transactions committed so far in this database (PostgreSQL; `None` on
/// SQLite): read-only statements outside a transaction count one each. The statistics are flushed by each backend about once a second
/// when idle, so callers wait before the second reading.
async fn commits(db: &DatabaseConnection) -> Option<(i64, i64)> {
    // Not under --quick: it would only add the statistics' flush wait.
    if db.get_database_backend() != sea_orm::DbBackend::Postgres
        || std::env::args().any(|a| a == "--quick")
    {
        return None;
    }
    let n = count(
        db,
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .await
    .ok()?;
    Some((n, BENCH_QUERIES.load(Ordering::Relaxed)))
}

/// Commits per operation between two readings of [`commits`] (the second
/// after the statistics were flushed), less this program's own polling
/// statements (the first reading's included: it commits after it reads),
/// as a `RESULT` field. Approximate: the pool's connection checks are not
/// taken out.
async fn commits_per(
    db: &DatabaseConnection,
    before: Option<(i64, i64)>,
    ops: usize,
) -> Option<(String, String)> {
    let (before, q0) = before?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (after, q1) = commits(db).await?;
    let server = (after - before) - (q1 - q0);
    Some((
        "pg_xacts_per_op".into(),
        fmt_num(server as f64 / ops.max(1) as f64),
    ))
}

// ---------------------------------------------------------------------------
// The server and its GraphQL API

/// The environment every benchmarked server gets: rate limits off (one
/// token sends thousands of requests), one draft candidate, the server's
/// default poll interval (1 s; workers are woken by the hub anyway).
fn server_env(workers: Option<usize>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("BATON_RATE_RUNS_PER_MIN", "0"),
        ("BATON_RATE_DECISIONS_PER_MIN", "0"),
        ("BATON_DRAFT_CANDIDATES", "1"),
        ("BATON_POLL_MS", "1000"),
        ("BATON_NO_BOOTSTRAP_ADMIN", "true"),
        ("BATON_LOG", "warn"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(w) = workers {
        env.push(("BATON_WORKERS".into(), w.to_string()));
    }
    env
}

async fn start_server(db: &BenchDb, workers: Option<usize>) -> ServerProcess {
    let env = server_env(workers);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServerProcess::start(&db.url, &refs).await
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
    ws: String,
    token: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

impl Api {
    fn new(server: &ServerProcess, token: &str) -> Api {
        Api {
            http: client(),
            url: server.url("/graphql"),
            ws: format!("ws://{}/graphql", server.address),
            token: token.to_string(),
        }
    }

    /// A copy with its own connection (for concurrent clients).
    fn fresh(&self) -> Api {
        Api {
            http: client(),
            ..self.clone()
        }
    }

    /// POSTs a query; `data`, or an error naming the GraphQL errors.
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .context("POST /graphql")?;
        let status = res.status();
        let body: Value = res.json().await.context("reading the GraphQL answer")?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors (HTTP {status}): {errors}");
        }
        ensure!(status.is_success(), "HTTP {status}: {body}");
        Ok(body["data"].clone())
    }

    /// `runWorkflow` of one-candidate `generate_draft`; the workflow id.
    async fn run_draft(&self, prompt: &str, wait: bool) -> anyhow::Result<(String, Value)> {
        let data = self
            .gql(
                RUN_MUTATION,
                json!({ "input": { "type": GENERATE_DRAFT, "input": { "prompt": prompt, "candidates": 1 }, "wait": wait } }),
            )
            .await?;
        let id = data["runWorkflow"]["workflow"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("runWorkflow answered no id: {data}"))?
            .to_string();
        Ok((id, data["runWorkflow"].clone()))
    }

    /// Every pending approval over the API, oldest first: (id, version).
    async fn pending(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = self
                .gql(
                    "query($after: String) { pendingApprovals(first: 100, after: $after) {
                        edges { node { id artifactVersion } } pageInfo { endCursor hasNextPage } } }",
                    json!({ "after": after }),
                )
                .await?;
            let page = &data["pendingApprovals"];
            for e in page["edges"].as_array().into_iter().flatten() {
                let id = e["node"]["id"].as_str().unwrap_or_default().to_string();
                out.push((id, e["node"]["artifactVersion"].as_i64().unwrap_or(0)));
            }
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                return Ok(out);
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
        }
    }
}

/// A server on `db` with an admin token (made through the domain, as
/// `baton user add` + `baton token create` do).
async fn serve(db: &BenchDb, workers: Option<usize>) -> (ServerProcess, Api) {
    let token = baton_e2e::app::seed_admin(&db.url).await;
    let server = start_server(db, workers).await;
    let api = Api::new(&server, &token);
    (server, api)
}

/// Waits until `sql` counts `want` (polling every `every`), failing when the
/// count stops moving for [`STALL_LIMIT`].
async fn wait_count(
    db: &DatabaseConnection,
    sql: &str,
    want: i64,
    every: Duration,
) -> anyhow::Result<()> {
    let mut last = -1;
    let mut moved = Instant::now();
    loop {
        let n = count(db, sql).await?;
        if n >= want {
            return Ok(());
        }
        if n != last {
            last = n;
            moved = Instant::now();
        } else if moved.elapsed() > STALL_LIMIT {
            bail!("stalled at {n} of {want}: {sql}");
        }
        tokio::time::sleep(every).await;
    }
}

// ---------------------------------------------------------------------------
// The HTTP load generator

struct Load {
    requests: u64,
    errors: u64,
    secs: f64,
    rps: f64,
    p50: f64,
    p99: f64,
    cpu: Cpu,
    first_error: Option<String>,
}

/// `conns` closed-loop connections for `dur`, each sending the body
/// `next(i)` gives (`None`: this connection stops; ids ran out). An answer
/// is good when it is HTTP 200, starts with `{"data"` and has no `errors`,
/// and `good` accepts it.
async fn load(
    url: &str,
    token: &str,
    conns: usize,
    dur: Duration,
    server_pid: Option<u32>,
    next: Arc<dyn Fn() -> Option<String> + Send + Sync>,
    good: fn(&[u8]) -> bool,
) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let auth = format!("Bearer {token}");
    let before = cpu_now(server_pid);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (stop, errors, first_error, next) = (
            stop.clone(),
            errors.clone(),
            first_error.clone(),
            next.clone(),
        );
        let (url, auth) = (url.to_string(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut lat = Vec::with_capacity(4096);
            while !stop.load(Ordering::Relaxed) {
                let Some(body) = next() else { break };
                let t = Instant::now();
                let res = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("authorization", &auth)
                    .body(body)
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) => {
                        let status = r.status();
                        match r.bytes().await {
                            Ok(b) => {
                                let fine = status.is_success()
                                    && b.starts_with(b"{\"data\"")
                                    && !contains(&b, b"\"errors\"")
                                    && good(&b);
                                if !fine {
                                    let mut f =
                                        first_error.lock().unwrap_or_else(|p| p.into_inner());
                                    if f.is_none() {
                                        let text = String::from_utf8_lossy(&b);
                                        *f = Some(format!(
                                            "HTTP {status}: {}",
                                            text.chars().take(400).collect::<String>()
                                        ));
                                    }
                                }
                                fine
                            }
                            Err(_) => false,
                        }
                    }
                    Err(e) => {
                        let mut f = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        if f.is_none() {
                            *f = Some(e.to_string());
                        }
                        false
                    }
                };
                if ok {
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    tokio::time::sleep(dur).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            lat.extend(l);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_now(server_pid) - before;
    let lat = sorted(lat);
    let first_error = first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Load {
        requests: lat.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        secs,
        rps: lat.len() as f64 / secs,
        p50: pct(&lat, 50.0),
        p99: pct(&lat, 99.0),
        cpu,
        first_error,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The server's `baton_db_statements_total`.
async fn statements_sent(api: &Api, server: &ServerProcess) -> anyhow::Result<f64> {
    metric(&api.http, server, "baton_db_statements_total").await
}

/// The value of an unlabelled metric of the server.
async fn metric(http: &reqwest::Client, server: &ServerProcess, name: &str) -> anyhow::Result<f64> {
    let text = http
        .get(server.url("/metrics"))
        .send()
        .await
        .context("GET /metrics")?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no {name} in /metrics"))
}

/// SQL statements one answer to `query` costs, from the server's own
/// counter over 20 sequential requests (the server runs no workers). A
/// scrape reads gauges from the database too: one scrape's share is
/// measured first and taken off.
async fn statements_per_request(
    api: &Api,
    server: &ServerProcess,
    query: &str,
    variables: Value,
) -> anyhow::Result<f64> {
    const N: usize = 20;
    let a = statements_sent(api, server).await?;
    let b = statements_sent(api, server).await?;
    for _ in 0..N {
        api.gql(query, variables.clone()).await?;
    }
    let c = statements_sent(api, server).await?;
    Ok(((c - b) - (b - a)) / N as f64)
}

fn count_of(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Runs `reps` loads (after a warm-up) and reduces them to one row: the
/// median of each figure, as the peers' scripts report.
#[allow(clippy::too_many_arguments)]
async fn measured_load(
    report: &mut Report,
    args: &Args,
    scenario: &str,
    backend: Backend,
    url: &str,
    token: &str,
    server_pid: Option<u32>,
    next: Arc<dyn Fn() -> Option<String> + Send + Sync>,
    good: fn(&[u8]) -> bool,
    after_each: &mut (dyn FnMut(&Load) + Send),
) -> Row {
    if !args.warmup.is_zero() {
        let w = load(
            url,
            token,
            args.conns,
            args.warmup,
            server_pid,
            next.clone(),
            good,
        )
        .await;
        eprintln!(
            "  [{scenario}/{}] warm-up {:.1}s: {:.0} req/s",
            backend.name(),
            w.secs,
            w.rps
        );
    }
    let mut runs = Vec::new();
    for r in 0..args.reps {
        let profile = (r == 0).then(|| Profile::start(&format!("{scenario}-{}", backend.name())));
        let l = load(
            url,
            token,
            args.conns,
            args.dur,
            server_pid,
            next.clone(),
            good,
        )
        .await;
        eprintln!(
            "  [{scenario}/{}] run {}: {} requests in {:.1}s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {}; CPU s: server {:.2}, postgres {:.2}, load generator {:.2}",
            backend.name(),
            r + 1,
            l.requests,
            l.secs,
            l.rps,
            l.p50,
            l.p99,
            l.errors,
            l.cpu.server,
            l.cpu.postgres,
            l.cpu.loadgen
        );
        drop(profile);
        report.check(
            format!(
                "{scenario}/{}: run {} answered every request correctly ({} errors{})",
                backend.name(),
                r + 1,
                l.errors,
                l.first_error
                    .as_ref()
                    .map(|e| format!("; first: {e}"))
                    .unwrap_or_default()
            ),
            l.errors == 0 && l.requests > 0,
        );
        after_each(&l);
        runs.push(l);
    }
    let per = |f: &dyn Fn(&Load) -> f64| median(runs.iter().map(f).collect());
    let reqs = |l: &Load| l.requests.max(1) as f64;
    Row {
        scenario: scenario.to_string(),
        backend: backend.name(),
        value: per(&|l| l.rps),
        unit: "req/s",
        p50_ms: Some(per(&|l| l.p50)),
        p99_ms: Some(per(&|l| l.p99)),
        server_cpu_ms: Some(per(&|l| l.cpu.server * 1000.0 / reqs(l))),
        pg_cpu_ms: (backend == Backend::Postgres)
            .then(|| per(&|l| l.cpu.postgres * 1000.0 / reqs(l))),
        extra: vec![
            ("conns".into(), args.conns.to_string()),
            (
                "loadgen_cpu_ms_per_req".into(),
                fmt_num(per(&|l| l.cpu.loadgen * 1000.0 / reqs(l))),
            ),
            (
                "cores_busy".into(),
                fmt_num(per(&|l| {
                    (l.cpu.server + l.cpu.postgres + l.cpu.loadgen) / l.secs
                })),
            ),
        ],
        ..Row::default()
    }
}

fn body(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

/// A cheap, dependency-free random index (xorshift), for picking lookup ids.
fn rand_index(n: usize) -> usize {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    (x % n as u64) as usize
}

// ---------------------------------------------------------------------------
// Seeding

/// The rows a real `generate_draft` run wrote (through the API, with the
/// offline model): the template the SQL seed copies.
struct Template {
    workflow_id: String,
    approval_id: String,
    artifact_version: i64,
}

async fn make_template(api: &Api) -> anyhow::Result<Template> {
    let (id, payload) = api.run_draft("bench template", true).await?;
    let approval_id = payload["approval"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("the template run has no approval: {payload}"))?
        .to_string();
    Ok(Template {
        workflow_id: id,
        approval_id,
        artifact_version: payload["approval"]["artifactVersion"].as_i64().unwrap_or(1),
    })
}

/// Copies the template's workflow, artifact and approval `n` times with SQL
/// (PostgreSQL): new ids, one chain each, `created_at` spread over the
/// past, the artifact content padded to ~1 KB (the text field holds md5
/// hex, like the peers' seed), and `pending` for every tenth row (all rows
/// with `all_pending`), the others approved / rejected by [`SEED_ACTOR`].
/// The rows have the columns and values the domain writes; what the seed
/// leaves out is the history: no events, llm_calls or votes for the copies,
/// and decided copies start no next workflow.
async fn seed_sql(
    db: &DatabaseConnection,
    t: &Template,
    n: usize,
    all_pending: bool,
    newest: bool,
) -> anyhow::Result<()> {
    let content: Value = {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT a.content::text FROM artifacts a JOIN approvals p ON p.artifact_id = a.id WHERE p.id = '{}'",
                    t.approval_id
                ),
            ))
            .await?
            .ok_or_else(|| anyhow!("the template approval has no artifact"))?;
        serde_json::from_str(&row.try_get_by_index::<String>(0)?)?
    };
    let mut without_text = content.clone();
    without_text["text"] = json!("");
    let pad = ARTIFACT_BYTES
        .saturating_sub(without_text.to_string().len())
        .max(64);
    // Older than anything the template run wrote, or (for the decide pool)
    // newer, so the inbox's first page stays the same rows.
    let at = if newest {
        "now() + make_interval(secs => s.g * 0.001)"
    } else {
        "now() - interval '1 hour' - make_interval(secs => (s.n - s.g) * 2.0)"
    };
    let status = if all_pending {
        "'pending'".to_string()
    } else {
        "CASE WHEN s.g % 10 = 0 THEN 'pending' WHEN s.g % 10 < 8 THEN 'approved' ELSE 'rejected' END"
            .to_string()
    };
    let doc = format!(
        "jsonb_set(tpl.content, '{{text}}', to_jsonb(left(repeat(md5(s.g::text), {reps}), {pad})))",
        reps = pad / 32 + 1
    );
    let sql = format!(
        "BEGIN;
        CREATE TEMP TABLE bench_seed ON COMMIT DROP AS
          SELECT g, {n}::bigint AS n, gen_random_uuid() AS wid, gen_random_uuid() AS aid, gen_random_uuid() AS pid
          FROM generate_series(1, {n}) g;
        INSERT INTO workflows (id, type, type_version, status, input, output, error, attempt, max_attempts,
            run_after, lease_owner, lease_expires_at, fence, idempotency_key, triggered_by_approval_id,
            chain_id, parent_id, score, created_by, created_at, started_at, completed_at, updated_at)
          SELECT s.wid, w.type, w.type_version, w.status, w.input, w.output, w.error, w.attempt, w.max_attempts,
            {at}, NULL, NULL, w.fence, NULL, NULL, s.wid, NULL, w.score, w.created_by, {at}, {at}, {at}, {at}
          FROM bench_seed s CROSS JOIN (SELECT * FROM workflows WHERE id = '{wf}') w;
        INSERT INTO artifacts (id, workflow_id, chain_id, kind, content, version, parent_id, created_at, author, sha256)
          SELECT s.aid, s.wid, s.wid, tpl.kind, {doc}, tpl.version, NULL, {at}, tpl.author, NULL
          FROM bench_seed s CROSS JOIN (SELECT a.* FROM artifacts a JOIN approvals p ON p.artifact_id = a.id WHERE p.id = '{ap}') tpl;
        INSERT INTO approvals (id, workflow_id, chain_id, status, artifact_type, artifact_id, artifact_data, score,
            next_workflow_type, next_workflow_input, reject_workflow_type, reject_workflow_input,
            reject_requires_feedback, decided_by, feedback, decided_at, expires_at, next_workflow_id, created_at,
            artifact_version, policy, started_by, artifact_bindings, remind_at, reminded_at, escalate_at, escalated_at)
          SELECT s.pid, s.wid, s.wid, st.status, p.artifact_type, s.aid, {doc}, p.score,
            p.next_workflow_type, p.next_workflow_input, p.reject_workflow_type, p.reject_workflow_input,
            p.reject_requires_feedback,
            CASE WHEN st.status = 'pending' THEN NULL ELSE '{SEED_ACTOR}' END, NULL,
            CASE WHEN st.status = 'pending' THEN NULL ELSE {at} END, NULL, NULL, {at},
            p.artifact_version, p.policy, p.started_by, p.artifact_bindings, NULL, NULL, NULL, NULL
          FROM bench_seed s
          CROSS JOIN (SELECT * FROM approvals WHERE id = '{ap}') p
          CROSS JOIN (SELECT a.content FROM artifacts a JOIN approvals p ON p.artifact_id = a.id WHERE p.id = '{ap}') tpl
          CROSS JOIN LATERAL (SELECT {status} AS status) st;
        COMMIT;
        ANALYZE workflows; ANALYZE artifacts; ANALYZE approvals;",
        wf = t.workflow_id,
        ap = t.approval_id,
    );
    db.execute_unprepared(&sql)
        .await
        .context("seeding approvals with SQL")?;
    Ok(())
}

/// Submits `n` one-candidate drafts over the API from `clients` concurrent
/// connections; the workflow ids in submission order per client.
async fn submit_drafts(
    api: &Api,
    n: usize,
    clients: usize,
    tag: &str,
) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (api, next, tag) = (api.fresh(), next.clone(), tag.to_string());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(ids);
                }
                ids.push(api.run_draft(&format!("{tag} {i}"), false).await?.0);
            }
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await??);
    }
    Ok(ids)
}

/// Approves `items` (id, version) from `clients` concurrent connections;
/// how many the server said it decided.
async fn approve_all(
    api: &Api,
    items: Vec<(String, i64)>,
    clients: usize,
    feedback: Option<&str>,
) -> anyhow::Result<usize> {
    let items = Arc::new(items);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (api, items, next) = (api.fresh(), items.clone(), next.clone());
        let feedback = feedback.map(str::to_string);
        tasks.push(tokio::spawn(async move {
            let mut decided = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, v)) = items.get(i) else {
                    return Ok::<_, anyhow::Error>(decided);
                };
                let data = api
                    .gql(
                        "mutation($id: ID!, $v: Int!, $f: String) { approve(id: $id, version: $v, feedback: $f) { decided approval { id status } } }",
                        json!({ "id": id, "v": v, "f": feedback }),
                    )
                    .await?;
                if data["approve"]["decided"] == json!(true) {
                    decided += 1;
                }
            }
        }));
    }
    let mut decided = 0;
    for t in tasks {
        decided += t.await??;
    }
    Ok(decided)
}

// ---------------------------------------------------------------------------
// Peers

/// The peers' `SUMMARY` lines, parsed into the figures the ratios need.
#[derive(Default)]
struct Peers {
    figures: HashMap<&'static str, f64>,
}

/// The first number after `key` in `s`.
fn num_after(s: &str, key: &str) -> Option<f64> {
    let rest = &s[s.find(key)? + key.len()..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let num: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse().ok()
}

/// The number before the last `wf/s` of a LangGraph summary segment.
fn wf_per_s(seg: &str) -> Option<f64> {
    let before = &seg[..seg.rfind(" wf/s")?];
    before.rsplit(' ').next()?.parse().ok()
}

impl Peers {
    fn load(path: &Option<PathBuf>) -> Peers {
        let mut p = Peers::default();
        let Some(path) = path else { return p };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("warning: no peer figures from {}: {e}", path.display());
                return p;
            }
        };
        let mut put = |k: &'static str, v: Option<f64>| {
            if let Some(v) = v {
                p.figures.insert(k, v);
            }
        };
        for line in text.lines().filter(|l| l.starts_with("SUMMARY ")) {
            if line.starts_with("SUMMARY postgraphile v4 approve mutation") {
                let seg = line.split("c16:").nth(1).unwrap_or_default();
                put("pg_approve_rps", num_after(seg, ""));
                put("pg_approve_p99", num_after(seg, "p99="));
            } else if line.starts_with("SUMMARY postgraphile") {
                for (key, rps, p99) in [
                    ("pending50 c16:", "pg_inbox_rps", "pg_inbox_p99"),
                    ("byId c16:", "pg_lookup_rps", "pg_lookup_p99"),
                ] {
                    if let Some(seg) = line.split(key).nth(1) {
                        let seg = seg.split(" | ").next().unwrap_or_default();
                        put(rps, num_after(seg, ""));
                        put(p99, num_after(seg, "p99="));
                    }
                }
            } else if line.starts_with("SUMMARY graphile-worker") {
                put("gw_default", num_after(line, ": default "));
                put("gw_batched", num_after(line, "batched "));
                if let Some(seg) = line.split("enqueue->start latency").nth(1) {
                    put("gw_start_p50", num_after(seg, "p50 "));
                    put("gw_start_p99", num_after(seg, "p99 "));
                }
            } else if line.starts_with("SUMMARY langgraph") {
                for seg in line.split(" | ") {
                    if seg.contains("seq/w") && seg.contains("dur=async") {
                        put("lg_seq", wf_per_s(seg));
                    } else if seg.trim_start().starts_with("async/w") {
                        put("lg_async", wf_per_s(seg));
                    }
                }
            } else if line.starts_with("SUMMARY pgbench") {
                let seg = line.split("queue-1tx").nth(1).unwrap_or_default();
                let seg = seg.split(" | ").next().unwrap_or_default();
                let best = ["c2=", "c4=", "c8="]
                    .iter()
                    .filter_map(|k| num_after(seg, k))
                    .fold(f64::NAN, f64::max);
                put("pgbench_1tx", (!best.is_nan()).then_some(best));
            }
        }
        eprintln!("peer figures: {:?}", p.figures);
        p
    }

    fn get(&self, k: &str) -> Option<f64> {
        self.figures.get(k).copied()
    }
}

/// Sets the peer and the ratio Baton ÷ peer on `row`.
fn compare(row: &mut Row, peers: &Peers, key: &str, label: &str) {
    if let Some(v) = peers.get(key) {
        row.peer = Some((label.to_string(), v));
        row.ratio = Some(row.value / v);
    }
}

// ---------------------------------------------------------------------------
// Scenarios: inbox, lookup, decide (one seeded database)

async fn seeded_group(
    report: &mut Report,
    args: &Args,
    peers: &Peers,
    backend: Backend,
    which: &[&str],
) -> anyhow::Result<()> {
    let db = BenchDb::create(backend).await?;
    let result = seeded_group_on(report, args, peers, &db, which).await;
    db.remove().await;
    result
}

async fn seeded_group_on(
    report: &mut Report,
    args: &Args,
    peers: &Peers,
    db: &BenchDb,
    which: &[&str],
) -> anyhow::Result<()> {
    let backend = db.backend;
    let b = backend.name();
    let conn = db.connect_after_migrate().await?;
    // 1. A server with workers writes the template (and, for --quick, all
    //    the approvals: 60 real runs, through the API).
    let (server, api) = serve(db, None).await;
    let template = make_template(&api).await?;
    let quick_rows = 60;
    if args.quick {
        submit_drafts(&api, quick_rows - 1, 4, "inbox seed").await?;
        wait_count(
            &conn,
            "SELECT count(*) FROM approvals WHERE status = 'pending'",
            quick_rows as i64,
            Duration::from_millis(50),
        )
        .await?;
    }
    server.terminate().await;
    if !args.quick {
        let t = Instant::now();
        seed_sql(&conn, &template, INBOX_ROWS, false, false).await?;
        eprintln!(
            "  [seed/{b}] {INBOX_ROWS} approvals (10% pending, ~1 KB artifact) copied from a real run with SQL in {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }
    // 2. The measured server: no workers, so the decisions' next workflows
    //    stay queued (the peer's mutation only inserts the next job too)
    //    and no worker competes for the CPU.
    let server = start_server(db, Some(0)).await;
    let api = Api::new(&server, &api.token);
    let pid = server.pid();

    if which.contains(&"inbox") {
        let data = api.gql(INBOX_QUERY, json!({})).await?;
        let n = data["pendingApprovals"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
        report.check(
            format!("inbox/{b}: pendingApprovals(first: 50) returned {n} of 50"),
            n == 50,
        );
        let size = data.to_string().len();
        let per_req = statements_per_request(&api, &server, INBOX_QUERY, json!({})).await?;
        let inbox = body(INBOX_QUERY, json!({}));
        let next: Arc<dyn Fn() -> Option<String> + Send + Sync> =
            Arc::new(move || Some(inbox.clone()));
        fn fifty(b: &[u8]) -> bool {
            count_of(b, b"\"artifactType\"") == 50
        }
        let mut row = measured_load(
            report,
            args,
            "inbox",
            backend,
            &api.url,
            &api.token,
            pid,
            next,
            fifty,
            &mut |_| {},
        )
        .await;
        row.target = ">= 2x PostGraphile req/s, p99 no higher";
        row.extra.push(("answer_bytes".into(), size.to_string()));
        row.extra
            .push(("statements_per_req".into(), fmt_num(per_req)));
        compare(
            &mut row,
            peers,
            "pg_inbox_rps",
            "postgraphile_pending50_c16",
        );
        if let (Some(p), Some(b99)) = (peers.get("pg_inbox_p99"), row.p99_ms) {
            row.extra.push(("peer_p99_ms".into(), fmt_num(p)));
            row.extra.push(("p99_ratio".into(), fmt_num(b99 / p)));
        }
        report.rows.push(row);
    }

    if which.contains(&"inbox_app") {
        let data = api.gql(INBOX_APP_QUERY, json!({})).await?;
        let n = data["pendingApprovals"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
        report.check(
            format!("inbox_app/{b}: the review app's queue page returned {n} of 50"),
            n == 50,
        );
        let per_req = statements_per_request(&api, &server, INBOX_APP_QUERY, json!({})).await?;
        let page = body(INBOX_APP_QUERY, json!({}));
        let next: Arc<dyn Fn() -> Option<String> + Send + Sync> =
            Arc::new(move || Some(page.clone()));
        fn fifty_eligibilities(b: &[u8]) -> bool {
            count_of(b, b"\"viewerCanDecide\"") == 50
        }
        let mut row = measured_load(
            report,
            args,
            "inbox_app",
            backend,
            &api.url,
            &api.token,
            pid,
            next,
            fifty_eligibilities,
            &mut |_| {},
        )
        .await;
        row.target = "(no peer: the review app's own page, with votes, eligibility and workflow)";
        row.extra
            .push(("statements_per_req".into(), fmt_num(per_req)));
        report.rows.push(row);
    }

    if which.contains(&"lookup") {
        let ids: Vec<String> = {
            let rows: Vec<Uuid> = approval::Entity::find()
                .select_only()
                .column(approval::Column::Id)
                .into_tuple()
                .all(&conn)
                .await?;
            let mut ids: Vec<String> = rows.iter().map(Uuid::to_string).collect();
            // 1,000 random ids, as the peer's script picks.
            let mut pick = Vec::new();
            for _ in 0..1000.min(ids.len()) {
                pick.push(ids.swap_remove(rand_index(ids.len())));
            }
            pick
        };
        let one = api.gql(LOOKUP_QUERY, json!({ "id": ids[0] })).await?;
        report.check(
            format!("lookup/{b}: approval(id:) returns that approval"),
            one["approval"]["id"] == json!(ids[0]),
        );
        let per_req =
            statements_per_request(&api, &server, LOOKUP_QUERY, json!({ "id": ids[0] })).await?;
        let bodies: Arc<Vec<String>> = Arc::new(
            ids.iter()
                .map(|id| body(LOOKUP_QUERY, json!({ "id": id })))
                .collect(),
        );
        let next: Arc<dyn Fn() -> Option<String> + Send + Sync> =
            Arc::new(move || Some(bodies[rand_index(bodies.len())].clone()));
        fn found(b: &[u8]) -> bool {
            !contains(b, b"\"approval\":null")
        }
        let mut row = measured_load(
            report,
            args,
            "lookup",
            backend,
            &api.url,
            &api.token,
            pid,
            next,
            found,
            &mut |_| {},
        )
        .await;
        row.target = ">= 1.5x PostGraphile req/s";
        compare(&mut row, peers, "pg_lookup_rps", "postgraphile_byid_c16");
        row.extra
            .push(("statements_per_req".into(), fmt_num(per_req)));
        report.rows.push(row);
    }

    if which.contains(&"decide") {
        // A pool of pending approvals for the mutation to consume in order,
        // newer than the inbox's (the peer adds 250k rows the same way).
        let pending: Vec<(String, i64)> = if args.quick {
            api.pending().await?
        } else {
            let pool = (args.reps as u64 * (args.dur.as_secs() + args.warmup.as_secs()) * 1500)
                .max(20_000) as usize;
            let t = Instant::now();
            seed_sql(&conn, &template, pool, true, true).await?;
            eprintln!(
                "  [seed/{b}] decide pool: {pool} more pending approvals in {:.1}s",
                t.elapsed().as_secs_f64()
            );
            let rows: Vec<(Uuid, i32)> = approval::Entity::find()
                .select_only()
                .columns([approval::Column::Id, approval::Column::ArtifactVersion])
                .filter(approval::Column::Status.eq(approval::ApprovalStatus::Pending))
                .order_by_asc(approval::Column::CreatedAt)
                .into_tuple()
                .all(&conn)
                .await?;
            rows.into_iter()
                .map(|(id, v)| (id.to_string(), i64::from(v)))
                .collect()
        };
        ensure!(
            pending.iter().all(|(_, v)| *v == template.artifact_version),
            "the pending approvals are not all at the template's artifact version"
        );
        let total = pending.len();
        let bodies: Arc<Vec<String>> = Arc::new(
            pending
                .iter()
                .map(|(id, v)| {
                    body(
                        "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v, feedback: \"looks good\") { decided approval { id status } } }",
                        json!({ "id": id, "v": v }),
                    )
                })
                .collect(),
        );
        let cursor = Arc::new(AtomicUsize::new(0));
        let (b2, c2) = (bodies.clone(), cursor.clone());
        let next: Arc<dyn Fn() -> Option<String> + Send + Sync> =
            Arc::new(move || b2.get(c2.fetch_add(1, Ordering::Relaxed)).cloned());
        fn decided(b: &[u8]) -> bool {
            contains(b, b"\"decided\":true")
        }
        // After each run: every approval the API was asked to decide (the
        // warm-up's included: the ids consumed so far; a failed answer
        // fails the run's own check) is approved and started exactly one
        // next workflow, and nothing else was decided.
        let checks: Arc<std::sync::Mutex<Vec<(String, bool)>>> = Arc::default();
        let (conn2, cursor2, checks2) = (conn.clone(), cursor.clone(), checks.clone());
        let mut after = move |_: &Load| {
            let (conn, checks) = (conn2.clone(), checks2.clone());
            let asked = cursor2.load(Ordering::Relaxed).min(total) as i64;
            // The closure cannot await: run the counts on this thread.
            let r = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async move {
                    let approved = count(
                        &conn,
                        &format!(
                            "SELECT count(*) FROM approvals WHERE status = 'approved' AND decided_by <> '{SEED_ACTOR}'"
                        ),
                    )
                    .await?;
                    let next = count(
                        &conn,
                        "SELECT count(*) FROM workflows WHERE triggered_by_approval_id IS NOT NULL",
                    )
                    .await?;
                    Ok::<_, anyhow::Error>((approved, next))
                })
            });
            let mut c = checks.lock().unwrap_or_else(|p| p.into_inner());
            match r {
                Ok((approved, next)) => c.push((
                    format!(
                        "decide: approved {approved} == next workflows created {next} == approvals asked to decide {asked}"
                    ),
                    approved == next && next == asked,
                )),
                Err(e) => c.push((format!("decide: counting failed: {e:#}"), false)),
            }
        };
        let commits_before = commits(&conn).await;
        let mut row = measured_load(
            report, args, "decide", backend, &api.url, &api.token, pid, next, decided, &mut after,
        )
        .await;
        let asked = cursor.load(Ordering::Relaxed).min(total);
        row.extra
            .extend(commits_per(&conn, commits_before, asked).await);
        for (what, ok) in checks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            report.check(format!("{what} [{b}]"), ok);
        }
        if cursor.load(Ordering::Relaxed) >= total {
            row.extra.push(("ids_ran_out".into(), "yes".into()));
        }
        row.target = ">= 1.5x PostGraphile approve; >= 60% of pgbench queue 1tx";
        compare(
            &mut row,
            peers,
            "pg_approve_rps",
            "postgraphile_approve_c16",
        );
        if let Some(c) = peers.get("pgbench_1tx") {
            row.extra.push(("pgbench_1tx_tps".into(), fmt_num(c)));
            row.extra
                .push(("of_1tx_ceiling".into(), fmt_num(row.value / c)));
        }
        report.rows.push(row);
    }
    server.terminate().await;
    conn.close().await.ok();
    Ok(())
}

impl BenchDb {
    /// Migrates (as `baton migrate` does) and connects.
    async fn connect_after_migrate(&self) -> anyhow::Result<DatabaseConnection> {
        let db = baton::db::connect(&self.url).await?;
        baton::db::migrate(&db).await?;
        db.close().await.ok();
        self.connect().await
    }
}

// ---------------------------------------------------------------------------
// enqueue → start

async fn enqueue(
    report: &mut Report,
    args: &Args,
    peers: &Peers,
    db: &BenchDb,
) -> anyhow::Result<()> {
    let b = db.backend.name();
    let conn = db.connect_after_migrate().await?;
    let (server, api) = serve(db, None).await;
    // Sequential runs, each waited for: the workers are idle whenever the
    // next one is enqueued. The first 20 warm up (discarded), as the peer's.
    let warm = if args.quick { 2 } else { 20 };
    let mut ids = Vec::new();
    for i in 0..warm + args.enqueue_n {
        let (id, p) = api.run_draft(&format!("enqueue {i}"), true).await?;
        ensure!(
            p["workflow"]["status"] == json!("COMPLETED"),
            "enqueue: run {id} did not complete: {p}"
        );
        if i >= warm {
            ids.push(Uuid::parse_str(&id)?);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rows = workflow::Entity::find()
        .filter(workflow::Column::Id.is_in(ids.clone()))
        .all(&conn)
        .await?;
    report.check(
        format!("enqueue/{b}: all {} runs found, started once", ids.len()),
        rows.len() == ids.len()
            && rows
                .iter()
                .all(|w| w.attempt == 1 && w.started_at.is_some()),
    );
    let lat = sorted(
        rows.iter()
            .filter_map(|w| {
                w.started_at
                    .map(|s| (s - w.created_at).as_seconds_f64() * 1000.0)
            })
            .collect(),
    );
    server.terminate().await;
    conn.close().await.ok();
    let mut row = Row {
        scenario: "enqueue_start".into(),
        backend: b,
        value: pct(&lat, 50.0),
        unit: "ms p50",
        p50_ms: Some(pct(&lat, 50.0)),
        p99_ms: Some(pct(&lat, 99.0)),
        target: "p50 <= 1 ms, p99 <= graphile-worker's",
        extra: vec![("n".into(), ids.len().to_string())],
        ..Row::default()
    };
    // Lower is better: the ratio is Baton's p99 ÷ the peer's p99.
    if let (Some(p), Some(b99)) = (peers.get("gw_start_p99"), row.p99_ms) {
        row.peer = Some(("graphile_worker_start_p99".into(), p));
        row.ratio = Some(b99 / p);
        if let Some(p50) = peers.get("gw_start_p50") {
            row.extra.push(("peer_p50_ms".into(), fmt_num(p50)));
        }
    }
    report.rows.push(row);
    Ok(())
}

// ---------------------------------------------------------------------------
// drain

async fn drain(
    report: &mut Report,
    args: &Args,
    peers: &Peers,
    db: &BenchDb,
) -> anyhow::Result<()> {
    let b = db.backend.name();
    let n = args.drain_n;
    let conn = db.connect_after_migrate().await?;
    // The queue is filled before the server starts (through the domain's
    // own insert, 500 rows per transaction), so the workers find it full.
    let t = Instant::now();
    let cli = Principal::cli();
    let mut done = 0;
    while done < n {
        let batch = INSERT_BATCH.min(n - done);
        let txn = conn.begin().await?;
        for i in 0..batch {
            let stamp = Stamp {
                actor: cli.id.clone(),
                actor_role: cli.role,
                now: Utc::now(),
                origin: "bench".into(),
                notify_email: false,
            };
            workflows::insert(
                &txn,
                &stamp,
                NewWorkflow {
                    workflow_type: GENERATE_DRAFT.into(),
                    type_version: None,
                    input: json!({ "prompt": format!("drain {}", done + i), "candidates": 1 }),
                    idempotency_key: None,
                    chain_id: None,
                    triggered_by_approval_id: None,
                    max_attempts: 3,
                    parent_id: None,
                },
            )
            .await?;
        }
        txn.commit().await?;
        done += batch;
    }
    eprintln!(
        "  [drain/{b}] {n} pending generate_draft rows inserted in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let workers = 16;
    let profile = Profile::start(&format!("drain-{b}"));
    let commits_before = commits(&conn).await;
    let before = cpu_now(None);
    let wall = Instant::now();
    let server = start_server(db, Some(workers)).await;
    let pid = server.pid();
    let server_before = pid
        .and_then(|p| proc_stat(&p.to_string()))
        .map_or(0.0, |s| s.1);
    wait_count(
        &conn,
        "SELECT count(*) FROM workflows WHERE status IN ('completed', 'failed', 'cancelled')",
        n as i64,
        Duration::from_millis(100),
    )
    .await?;
    let wall = wall.elapsed().as_secs_f64();
    let after = cpu_now(pid);
    drop(profile);
    let server_cpu = after.server - server_before;
    let pg_cpu = after.postgres - before.postgres;
    let commits_extra = commits_per(&conn, commits_before, n).await;
    // What the server sent for the lot: statements per workflow and the
    // mean batch its completer stored.
    let http = client();
    let statements = metric(&http, &server, "baton_db_statements_total").await?;
    let batches = metric(&http, &server, "baton_completion_batches_total")
        .await
        .unwrap_or(0.0);
    let batched = metric(&http, &server, "baton_completion_batch_items_total")
        .await
        .unwrap_or(0.0);
    server.terminate().await;

    let rows = workflow::Entity::find()
        .filter(workflow::Column::WorkflowType.eq(GENERATE_DRAFT))
        .all(&conn)
        .await?;
    let completed = rows
        .iter()
        .filter(|w| w.status == WorkflowStatus::Completed)
        .count();
    report.check(
        format!("drain/{b}: {completed} of {n} workflows completed"),
        completed == n,
    );
    drain_checks(report, &conn, b, "drain", n).await?;
    let first = rows.iter().filter_map(|w| w.started_at).min();
    let last = rows.iter().filter_map(|w| w.completed_at).max();
    let secs = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_seconds_f64(),
        _ => wall,
    };
    let rate = n as f64 / secs;
    let lat = sorted(
        rows.iter()
            .filter_map(|w| Some((w.completed_at? - w.started_at?).as_seconds_f64() * 1000.0))
            .collect(),
    );
    conn.close().await.ok();
    let mut row = Row {
        scenario: "drain".into(),
        backend: b,
        value: rate,
        unit: "workflows/s",
        p50_ms: Some(pct(&lat, 50.0)),
        p99_ms: Some(pct(&lat, 99.0)),
        server_cpu_ms: Some(server_cpu * 1000.0 / n as f64),
        pg_cpu_ms: (db.backend == Backend::Postgres).then_some(pg_cpu * 1000.0 / n as f64),
        target: ">= graphile-worker batched, never below its default",
        extra: vec![
            ("n".into(), n.to_string()),
            ("workers".into(), workers.to_string()),
            ("wall_s_from_spawn".into(), fmt_num(wall)),
            ("statements_per_op".into(), fmt_num(statements / n as f64)),
            (
                "completion_batch_mean".into(),
                if batches > 0.0 {
                    fmt_num(batched / batches)
                } else {
                    "-".into()
                },
            ),
        ],
        ..Row::default()
    };
    row.extra.extend(commits_extra);
    compare(&mut row, peers, "gw_batched", "graphile_worker_batched");
    if let Some(d) = peers.get("gw_default") {
        row.extra.push(("gw_default".into(), fmt_num(d)));
        row.extra.push(("ratio_default".into(), fmt_num(rate / d)));
    }
    report.rows.push(row);
    Ok(())
}

/// Every workflow of `GENERATE_DRAFT` finished exactly once with one approval.
async fn drain_checks(
    report: &mut Report,
    conn: &DatabaseConnection,
    b: &str,
    scenario: &str,
    n: usize,
) -> anyhow::Result<()> {
    let completions = count(
        conn,
        "SELECT count(*) FROM events e JOIN workflows w ON w.id = e.workflow_id
         WHERE e.kind = 'workflow.completed' AND w.type = 'generate_draft'",
    )
    .await?;
    let distinct = count(
        conn,
        "SELECT count(DISTINCT e.workflow_id) FROM events e JOIN workflows w ON w.id = e.workflow_id
         WHERE e.kind = 'workflow.completed' AND w.type = 'generate_draft'",
    )
    .await?;
    report.check(
        format!("{scenario}/{b}: every workflow completed exactly once ({completions} completion events, {distinct} workflows, {n} expected)"),
        completions == n as i64 && distinct == n as i64,
    );
    let approvals = count(
        conn,
        "SELECT count(*) FROM approvals a JOIN workflows w ON w.id = a.workflow_id WHERE w.type = 'generate_draft'",
    )
    .await?;
    report.check(
        format!("{scenario}/{b}: one approval per workflow ({approvals} of {n})"),
        approvals == n as i64,
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// whole cycle

async fn cycle(
    report: &mut Report,
    args: &Args,
    peers: &Peers,
    db: &BenchDb,
    clients: usize,
) -> anyhow::Result<()> {
    let b = db.backend.name();
    let n = args.cycle_n;
    let scenario = format!("cycle_c{clients}");
    let conn = db.connect_after_migrate().await?;
    // The server as a user runs it: the default 4 workers.
    let (server, api) = serve(db, None).await;
    let pid = server.pid();
    let profile = Profile::start(&format!("{scenario}-{b}"));
    let commits_before = commits(&conn).await;
    let before = cpu_now(pid);
    let t0 = Instant::now();
    // Phase 1: N runWorkflow, until all N approvals are pending (the
    // database is polled every 10 ms for the phase ends).
    submit_drafts(&api, n, clients, "cycle").await?;
    wait_count(
        &conn,
        "SELECT count(*) FROM approvals WHERE status = 'pending'",
        n as i64,
        Duration::from_millis(10),
    )
    .await?;
    let t1 = t0.elapsed().as_secs_f64();
    // Phase 2: the reviewer reads the queue over the API and approves each
    // (no feedback: the next workflow, apply_feedback, then keeps the draft
    // as final without a model call, like the peer's no-op resume node).
    let items = api.pending().await?;
    report.check(
        format!(
            "{scenario}/{b}: {} approvals pending over the API, {n} expected",
            items.len()
        ),
        items.len() == n,
    );
    let decided = approve_all(&api, items, clients, None).await?;
    wait_count(
        &conn,
        &format!("SELECT count(*) FROM workflows WHERE type = '{APPLY_FEEDBACK}' AND status IN ('completed', 'failed', 'cancelled')"),
        n as i64,
        Duration::from_millis(10),
    )
    .await?;
    let total = t0.elapsed().as_secs_f64();
    let cpu = cpu_now(pid) - before;
    drop(profile);
    // Per workflow pair (the run and the next workflow its approval started).
    let commits_extra = commits_per(&conn, commits_before, n).await;
    server.terminate().await;

    let approved = count(
        &conn,
        "SELECT count(*) FROM approvals WHERE status = 'approved'",
    )
    .await?;
    let next = count(
        &conn,
        "SELECT count(*) FROM workflows WHERE triggered_by_approval_id IS NOT NULL",
    )
    .await?;
    report.check(
        format!("{scenario}/{b}: approved {approved} == decided answers {decided} == next workflows created {next} == {n}"),
        approved == n as i64 && decided == n && next == n as i64,
    );
    let next_done = count(
        &conn,
        &format!("SELECT count(*) FROM workflows WHERE type = '{APPLY_FEEDBACK}' AND status = 'completed'"),
    )
    .await?;
    report.check(
        format!("{scenario}/{b}: {next_done} of {n} next workflows completed"),
        next_done == n as i64,
    );
    drain_checks(report, &conn, b, &scenario, n).await?;
    // Per workflow: run (created → approval pending) and resume (decided →
    // next workflow completed), from the rows' timestamps.
    let wfs = workflow::Entity::find().all(&conn).await?;
    let aps = approval::Entity::find().all(&conn).await?;
    let by_id: HashMap<Uuid, &workflow::Model> = wfs.iter().map(|w| (w.id, w)).collect();
    let mut run = Vec::new();
    let mut resume = Vec::new();
    for a in &aps {
        if let Some(w) = by_id.get(&a.workflow_id)
            && w.workflow_type == GENERATE_DRAFT
        {
            run.push((a.created_at - w.created_at).as_seconds_f64() * 1000.0);
        }
        if let (Some(next), Some(decided_at)) = (a.next_workflow_id, a.decided_at)
            && let Some(done) = by_id.get(&next).and_then(|w| w.completed_at)
        {
            resume.push((done - decided_at).as_seconds_f64() * 1000.0);
        }
    }
    let (run, resume) = (sorted(run), sorted(resume));
    conn.close().await.ok();
    let rate = n as f64 / total;
    let mut row = Row {
        scenario,
        backend: b,
        value: rate,
        unit: "workflows/s",
        p50_ms: Some(pct(&resume, 50.0)),
        p99_ms: Some(pct(&resume, 99.0)),
        server_cpu_ms: Some(cpu.server * 1000.0 / n as f64),
        pg_cpu_ms: (db.backend == Backend::Postgres).then_some(cpu.postgres * 1000.0 / n as f64),
        target: if db.backend == Backend::Postgres {
            ">= 10x LangGraph"
        } else {
            ">= 5x LangGraph on PostgreSQL"
        },
        extra: vec![
            ("n".into(), n.to_string()),
            ("clients".into(), clients.to_string()),
            ("phase1_s".into(), fmt_num(t1)),
            ("phase2_s".into(), fmt_num(total - t1)),
            ("run_p50_ms".into(), fmt_num(pct(&run, 50.0))),
            ("run_p99_ms".into(), fmt_num(pct(&run, 99.0))),
            ("resume_p50_ms".into(), fmt_num(pct(&resume, 50.0))),
            ("resume_p99_ms".into(), fmt_num(pct(&resume, 99.0))),
        ],
        ..Row::default()
    };
    row.extra.extend(commits_extra);
    if clients == 1 {
        compare(&mut row, peers, "lg_seq", "langgraph_seq");
    } else {
        compare(&mut row, peers, "lg_async", "langgraph_async_w8");
    }
    report.rows.push(row);
    Ok(())
}

// ---------------------------------------------------------------------------
// subscriptions

/// The subscribers one client process opens by default (`--client-procs`).
const SUBSCRIBERS_PER_PROC: usize = 2_500;

/// The first argument that makes this program a subscriber client (see
/// [`subscriber_child`]).
const CHILD_FLAG: &str = "--subscriber-child";

/// Latency buckets of the children's histograms: 0.1 ms.
const LAT_BUCKETS_PER_MS: f64 = 10.0;

/// One client process's share of the subscribers: this program run again
/// with [`CHILD_FLAG`]. The issue's target is 10,000 subscribers from
/// several client processes; one process would also need 10,000
/// descriptors and would parse 10 M messages on one runtime.
struct Client {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

/// What a child reported, as it arrives on its stdout (one thread each).
enum ClientLine {
    Ready,
    /// One subscriber: how many completions it got and their wrapping id sum.
    Sub(usize, u128),
    /// `count` deliveries in latency bucket `bucket` (0.1 ms).
    Lat(u64, u64),
    End,
    Gone(String),
}

fn parse_client_line(line: &str) -> Option<ClientLine> {
    let mut f = line.split_whitespace();
    match f.next()? {
        "READY" => Some(ClientLine::Ready),
        "SUB" => Some(ClientLine::Sub(
            f.next()?.parse().ok()?,
            u128::from_str_radix(f.next()?, 16).ok()?,
        )),
        "LAT" => Some(ClientLine::Lat(
            f.next()?.parse().ok()?,
            f.next()?.parse().ok()?,
        )),
        "END" => Some(ClientLine::End),
        _ => None,
    }
}

/// Starts `procs` client processes holding `m` subscribers between them;
/// their lines arrive on the returned channel.
fn spawn_clients(
    api: &Api,
    m: usize,
    procs: usize,
    burst: usize,
) -> anyhow::Result<(
    Vec<Client>,
    tokio::sync::mpsc::UnboundedReceiver<ClientLine>,
)> {
    use std::io::BufRead;
    let exe = std::env::current_exe().context("this program's path")?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut clients = Vec::with_capacity(procs);
    for i in 0..procs {
        let share = m / procs + usize::from(i < m % procs);
        let mut child = std::process::Command::new(&exe)
            .args([
                CHILD_FLAG,
                &api.ws,
                &api.token,
                &share.to_string(),
                &burst.to_string(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("start a subscriber client process")?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no child stdout"))?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        let parsed = parse_client_line(&l);
                        let end = matches!(parsed, Some(ClientLine::End));
                        if let Some(parsed) = parsed {
                            let _ = tx.send(parsed);
                        }
                        // After END its output ends normally: not a failure.
                        if end {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(ClientLine::Gone(e.to_string()));
                        return;
                    }
                }
            }
            let _ = tx.send(ClientLine::Gone("its output ended".into()));
        });
        let stdin = child.stdin.take();
        clients.push(Client { child, stdin });
    }
    Ok((clients, rx))
}

/// A subscriber client process: `CHILD_FLAG ws-url token count burst`.
/// Opens `count` subscribers (100 at a time), prints `READY`, then counts
/// what each receives until it has `burst` completions or a `STOP` line
/// (or the end of stdin) comes; prints `SUB n sum` per subscriber, `LAT
/// bucket count` per latency bucket and `END`. Latency = arrival here −
/// the server's `completedAt` (one machine, one clock).
async fn subscriber_child(argv: Vec<String>) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let [ws, token, count, burst] = argv.as_slice() else {
        bail!("{CHILD_FLAG} ws-url token count burst");
    };
    let count: usize = count.parse().context("count")?;
    let burst: usize = burst.parse().context("burst")?;
    let mut subs = Vec::with_capacity(count);
    while subs.len() < count {
        let k = 100.min(count - subs.len());
        let opened = futures_util::future::join_all((0..k).map(|_| {
            Subscription::open(
                ws,
                Some(token),
                "subscription { workflowCompleted(type: \"generate_draft\") { id completedAt } }",
                json!({}),
            )
        }))
        .await;
        subs.extend(opened);
    }
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(l) if l.trim() == "STOP" => break,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            stop.cancel();
        });
    }
    let mut tasks = Vec::with_capacity(count);
    for mut s in subs {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            // Count, a wrapping sum of the ids (with the count, it tells
            // "every completion once" from "some twice, some never") and
            // each delivery's latency from the server's completedAt.
            let (mut n, mut sum, mut lat) = (0usize, 0u128, HashMap::<u64, u64>::new());
            while n < burst {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    d = s.next(Duration::from_secs(3600)) => {
                        let Some(d) = d else { break };
                        let now = SystemTime::now();
                        let w = &d["workflowCompleted"];
                        if let Some(id) = w["id"].as_str().and_then(|i| Uuid::parse_str(i).ok()) {
                            sum = sum.wrapping_add(id.as_u128());
                        }
                        if let Some(at) = w["completedAt"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
                            let at: SystemTime = at.with_timezone(&Utc).into();
                            let ms = now.duration_since(at).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
                            *lat.entry((ms * LAT_BUCKETS_PER_MS) as u64).or_default() += 1;
                        }
                        n += 1;
                    }
                }
            }
            (n, sum, lat)
        }));
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY")?;
        out.flush()?;
    }
    let mut all = HashMap::<u64, u64>::new();
    let mut lines = String::new();
    for t in tasks {
        let (n, sum, lat) = t.await?;
        lines.push_str(&format!("SUB {n} {sum:x}\n"));
        for (b, c) in lat {
            *all.entry(b).or_default() += c;
        }
    }
    for (b, c) in all {
        lines.push_str(&format!("LAT {b} {c}\n"));
    }
    lines.push_str("END\n");
    let mut out = std::io::stdout().lock();
    out.write_all(lines.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The `p`th percentile (ms) of a histogram of 0.1 ms buckets.
fn hist_pct(hist: &std::collections::BTreeMap<u64, u64>, p: f64) -> f64 {
    let total: u64 = hist.values().sum();
    if total == 0 {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, c) in hist {
        seen += c;
        if seen >= rank {
            return *b as f64 / LAT_BUCKETS_PER_MS;
        }
    }
    f64::NAN
}

async fn subscriptions(report: &mut Report, args: &Args, db: &BenchDb) -> anyhow::Result<()> {
    let b = db.backend.name();
    let (m, burst) = (args.subscribers, args.burst);
    let procs = args.client_procs.min(m.max(1));
    let conn = db.connect_after_migrate().await?;
    let (server, api) = serve(db, None).await;
    let pid = server
        .pid()
        .ok_or_else(|| anyhow!("the server has no pid"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid).unwrap_or(0.0);
    // Open M subscribers from `procs` client processes, each 100 at a
    // time (each: connect, init, subscribe).
    let t = Instant::now();
    let (mut clients, mut lines) = spawn_clients(&api, m, procs, burst)?;
    let mut ready = 0;
    while ready < procs {
        match lines.recv().await {
            Some(ClientLine::Ready) => ready += 1,
            Some(ClientLine::Gone(why)) => bail!("a subscriber client process failed: {why}"),
            Some(_) => {}
            None => bail!("the subscriber client processes went away"),
        }
    }
    // A subscription is registered once the server has read `subscribe`;
    // let it settle before measuring memory and sending the burst.
    tokio::time::sleep(Duration::from_secs(if args.quick { 1 } else { 3 })).await;
    let rss_idle = rss_kib(pid).unwrap_or(0.0);
    eprintln!(
        "  [subscriptions/{b}] {m} subscribers open from {procs} client process(es) in {:.1}s; server RSS {:.1} MiB before, {:.1} MiB with them idle",
        t.elapsed().as_secs_f64(),
        rss_before / 1024.0,
        rss_idle / 1024.0
    );
    let profile = Profile::start(&format!("subscriptions-{b}"));
    let before = cpu_now(Some(pid));
    let t_burst = Instant::now();
    let ids = submit_drafts(&api, burst, 8, "burst").await?;
    let want_sum = ids
        .iter()
        .filter_map(|i| Uuid::parse_str(i).ok())
        .fold(0u128, |s, u| s.wrapping_add(u.as_u128()));
    wait_count(
        &conn,
        "SELECT count(*) FROM workflows WHERE status = 'completed'",
        burst as i64,
        Duration::from_millis(50),
    )
    .await?;
    let completed_s = t_burst.elapsed().as_secs_f64();
    let rss_peak = rss_kib(pid).unwrap_or(0.0);
    // Every delivery is due by now; give the stragglers a bounded grace,
    // then tell the clients to stop and report what they have.
    let grace = Duration::from_secs(if args.quick {
        20
    } else {
        120.max((m * burst / 20_000) as u64)
    });
    let deadline = tokio::time::Instant::now() + grace;
    let mut hist = std::collections::BTreeMap::<u64, u64>::new();
    let (mut complete, mut exact, mut ended, mut reported) = (0, 0, 0, 0);
    let mut stopped = false;
    while ended < procs {
        let line = tokio::select! {
            l = lines.recv() => l,
            _ = tokio::time::sleep_until(deadline), if !stopped => {
                stopped = true;
                for c in &mut clients {
                    if let Some(mut stdin) = c.stdin.take() {
                        use std::io::Write;
                        let _ = stdin.write_all(b"STOP\n");
                    }
                }
                continue;
            }
        };
        match line {
            Some(ClientLine::Sub(n, sum)) => {
                reported += 1;
                if n == burst {
                    complete += 1;
                    if sum == want_sum {
                        exact += 1;
                    }
                }
            }
            Some(ClientLine::Lat(bucket, count)) => *hist.entry(bucket).or_default() += count,
            Some(ClientLine::End) => ended += 1,
            Some(ClientLine::Ready) => {}
            Some(ClientLine::Gone(why)) => bail!("a subscriber client process failed: {why}"),
            None => bail!("the subscriber client processes went away"),
        }
    }
    let delivered_s = t_burst.elapsed().as_secs_f64();
    let cpu = cpu_now(Some(pid)) - before;
    drop(profile);
    for mut c in clients {
        drop(c.stdin.take());
        let _ = c.child.wait();
    }
    let rss_after = rss_kib(pid).unwrap_or(0.0);
    report.check(
        format!("subscriptions/{b}: {complete} of {m} subscribers ({reported} reported) got all {burst} completions, {exact} exactly those"),
        complete == m && exact == m,
    );
    server.terminate().await;
    conn.close().await.ok();
    let deliveries = (m * burst) as f64;
    let p99 = hist_pct(&hist, 99.0);
    report.rows.push(Row {
        scenario: "subscriptions".into(),
        backend: b,
        value: p99,
        unit: "ms p99 delivery",
        p50_ms: Some(hist_pct(&hist, 50.0)),
        p99_ms: Some(p99),
        server_cpu_ms: Some(cpu.server * 1000.0 / deliveries),
        pg_cpu_ms: (db.backend == Backend::Postgres).then_some(cpu.postgres * 1000.0 / deliveries),
        target: "delivery p99 < 1 s (10k subscribers, burst 1,000); < 50 KiB RSS per idle subscriber",
        extra: vec![
            ("subscribers".into(), m.to_string()),
            ("burst".into(), burst.to_string()),
            ("client_procs".into(), procs.to_string()),
            (
                "rss_kib_per_idle_subscriber".into(),
                fmt_num((rss_idle - rss_before) / m as f64),
            ),
            ("server_rss_mib_idle_subs".into(), fmt_num(rss_idle / 1024.0)),
            ("server_rss_mib_burst".into(), fmt_num(rss_peak.max(rss_after) / 1024.0)),
            ("burst_completed_s".into(), fmt_num(completed_s)),
            ("all_delivered_s".into(), fmt_num(delivered_s)),
            ("cpu_per".into(), "delivery".into()),
        ],
        ..Row::default()
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// big queue

async fn big_queue(report: &mut Report, args: &Args, db: &BenchDb) -> anyhow::Result<()> {
    let b = db.backend.name();
    let conn = db.connect_after_migrate().await?;
    let (server, api) = serve(db, None).await;
    let template = make_template(&api).await?;
    server.terminate().await;
    let t = Instant::now();
    seed_sql(&conn, &template, BIG_ROWS, false, false).await?;
    eprintln!(
        "  [seed/{b}] {BIG_ROWS} approvals (10% pending) copied with SQL in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let server = start_server(db, Some(0)).await;
    let api = Api::new(&server, &api.token);
    let pid = server.pid();
    // The cursor 10,000 deep: 100 pages of 100 over the API.
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let data = api
            .gql(
                "query($after: String) { pendingApprovals(first: 100, after: $after) { pageInfo { endCursor } } }",
                json!({ "after": after }),
            )
            .await?;
        after = data["pendingApprovals"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
    }
    fn fifty(b: &[u8]) -> bool {
        count_of(b, b"\"artifactType\"") == 50
    }
    for (name, vars) in [
        ("bigqueue_first_page", json!({ "after": null })),
        ("bigqueue_page_10000_deep", json!({ "after": after })),
    ] {
        let q = body(DEEP_QUERY, vars);
        let next: Arc<dyn Fn() -> Option<String> + Send + Sync> = Arc::new(move || Some(q.clone()));
        let mut row = measured_load(
            report,
            args,
            name,
            db.backend,
            &api.url,
            &api.token,
            pid,
            next,
            fifty,
            &mut |_| {},
        )
        .await;
        row.target = "p99 within 2x of the 100k inbox";
        if let Some(inbox) = report
            .rows
            .iter()
            .find(|r| r.scenario == "inbox" && r.backend == b)
            .and_then(|r| r.p99_ms)
        {
            row.peer = Some(("baton_inbox_100k_p99".into(), inbox));
            row.ratio = row.p99_ms.map(|p| p / inbox);
        }
        report.rows.push(row);
    }
    server.terminate().await;
    conn.close().await.ok();
    Ok(())
}

// ---------------------------------------------------------------------------
// footprint (SQLite)

async fn footprint(report: &mut Report, args: &Args) -> anyhow::Result<()> {
    let reps = if args.quick { 1 } else { 3 };
    let mut ready_fresh = Vec::new();
    let mut ready_again = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..reps {
        let db = BenchDb::create(Backend::Sqlite).await?;
        let r = async {
            let fresh = spawn_to_ready(&db.url).await?;
            ready_fresh.push(fresh.0);
            rss.push(fresh.1);
            // Again on the now migrated file: what a restart costs.
            ready_again.push(spawn_to_ready(&db.url).await?.0);
            Ok::<_, anyhow::Error>(())
        }
        .await;
        db.remove().await;
        r?;
    }
    report.check(
        format!("footprint/sqlite: {reps} starts answered /readyz 200"),
        ready_fresh.len() == reps,
    );
    report.rows.push(Row {
        scenario: "footprint".into(),
        backend: "sqlite",
        value: median(rss.clone()) / 1024.0,
        unit: "MiB idle RSS",
        p50_ms: Some(median(ready_fresh.clone())),
        p99_ms: None,
        target: "~22 MiB idle RSS, < 100 ms spawn to /readyz",
        extra: vec![
            (
                "spawn_to_readyz_ms_fresh_db".into(),
                fmt_num(median(ready_fresh)),
            ),
            (
                "spawn_to_readyz_ms_migrated_db".into(),
                fmt_num(median(ready_again)),
            ),
            ("starts".into(), reps.to_string()),
        ],
        ..Row::default()
    });
    Ok(())
}

/// Spawns `baton serve` on `url`; ms from spawn to the first /readyz 200,
/// and its RSS (KiB) after 2 s idle.
async fn spawn_to_ready(url: &str) -> anyhow::Result<(f64, f64)> {
    // A free port, so the address is known before the server prints it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cmd = tokio::process::Command::new(baton_bin());
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in server_env(None) {
        cmd.env(k, v);
    }
    let http = client();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let t = Instant::now();
    let mut child = cmd.spawn().context("spawning baton serve")?;
    let ms = loop {
        if let Ok(r) = http.get(&ready).send().await
            && r.status().is_success()
        {
            break t.elapsed().as_secs_f64() * 1000.0;
        }
        ensure!(
            t.elapsed() < Duration::from_secs(30),
            "no /readyz 200 within 30 s"
        );
        if let Some(status) = child.try_wait()? {
            bail!("baton serve exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = child.id().ok_or_else(|| anyhow!("no pid"))?;
    let rss = rss_kib(pid).unwrap_or(f64::NAN);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    Ok((ms, rss))
}

// ---------------------------------------------------------------------------
// CPU profiles (BATON_BENCH_PERF=DIR)

/// `perf record -a` (every process: the server, PostgreSQL and this load
/// generator) while a measured phase runs, when `BATON_BENCH_PERF` names a
/// directory; `perf report -i DIR/<name>.data --sort comm,dso,sym` reads it.
struct Profile(Option<std::process::Child>);

impl Profile {
    fn start(name: &str) -> Profile {
        let Some(dir) = std::env::var_os("BATON_BENCH_PERF") else {
            return Profile(None);
        };
        let path = PathBuf::from(dir).join(format!("{name}.data"));
        let child = std::process::Command::new("perf")
            .args(["record", "-a", "-g", "-F", "499", "-o"])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match child {
            Ok(c) => {
                eprintln!("  perf record -a -> {}", path.display());
                Profile(Some(c))
            }
            Err(e) => {
                eprintln!("warning: perf record did not start: {e}");
                Profile(None)
            }
        }
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            // SIGINT: perf writes its file and exits.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// main

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some(CHILD_FLAG) {
        return subscriber_child(argv.collect()).await;
    }
    let args = parse_args()?;
    let started = Instant::now();
    let peers = Peers::load(&args.peers);
    println!(
        "Baton API benchmark{}: {} through GraphQL over HTTP and graphql-ws",
        if args.quick {
            " (--quick: counts only)"
        } else {
            ""
        },
        baton_bin().display()
    );
    println!(
        "  load generator: {} closed-loop connections (reqwest, one keep-alive connection each) in this process; \
         {} run(s) of {}s after a {}s warm-up, medians",
        args.conns,
        args.reps,
        args.dur.as_secs(),
        args.warmup.as_secs()
    );
    println!(
        "  model: the offline model (instant); generate_draft with 1 candidate; rate limits off; BATON_POLL_MS=1000"
    );
    let mut report = Report::default();
    for &backend in &args.backends {
        let on = |s: &str| args.scenarios.iter().any(|x| x == s) && applies(s, backend, args.quick);
        let group: Vec<&str> = ["inbox", "inbox_app", "lookup", "decide"]
            .into_iter()
            .filter(|s| on(s))
            .collect();
        let failed = |report: &mut Report, what: &str, e: anyhow::Error| {
            report.check(format!("{what}/{}: ran ({e:#})", backend.name()), false);
        };
        if !group.is_empty() {
            eprintln!("== {} on {}", group.join(", "), backend.name());
            if let Err(e) = seeded_group(&mut report, &args, &peers, backend, &group).await {
                failed(&mut report, &group.join("+"), e);
            }
        }
        for s in [
            "enqueue",
            "drain",
            "cycle",
            "subscriptions",
            "bigqueue",
            "footprint",
        ] {
            if !on(s) {
                continue;
            }
            eprintln!("== {s} on {}", backend.name());
            let r = match s {
                "footprint" => footprint(&mut report, &args).await,
                _ => {
                    let mut r = Ok(());
                    let runs: &[usize] = if s == "cycle" { &[1, 8] } else { &[0] };
                    for &clients in runs {
                        let db = BenchDb::create(backend).await?;
                        let one = match s {
                            "enqueue" => enqueue(&mut report, &args, &peers, &db).await,
                            "drain" => drain(&mut report, &args, &peers, &db).await,
                            "cycle" => cycle(&mut report, &args, &peers, &db, clients).await,
                            "subscriptions" => subscriptions(&mut report, &args, &db).await,
                            _ => big_queue(&mut report, &args, &db).await,
                        };
                        db.remove().await;
                        if one.is_err() {
                            r = one;
                        }
                    }
                    r
                }
            };
            if let Err(e) = r {
                failed(&mut report, s, e);
            }
        }
    }
    print_report(&report);
    let secs = started.elapsed().as_secs_f64();
    if args.quick {
        // Counted by scripts/test's closing tally.
        println!(
            "bench --quick: {} passed, {} failed in {secs:.1}s",
            report.passed,
            report.failed.len()
        );
    } else {
        println!(
            "checks: {} passed, {} failed ({secs:.0}s)",
            report.passed,
            report.failed.len()
        );
    }
    if !report.failed.is_empty() {
        bail!("failed checks:\n  {}", report.failed.join("\n  "));
    }
    Ok(())
}

fn print_report(report: &Report) {
    println!();
    println!(
        "{:<26} {:<8} {:>10} {:<16} {:>8} {:>8} {:>9} {:>9} {:>10} {:>7}  target",
        "scenario",
        "backend",
        "value",
        "unit",
        "p50 ms",
        "p99 ms",
        "srv ms/op",
        "pg ms/op",
        "peer",
        "ratio"
    );
    for r in &report.rows {
        println!(
            "{:<26} {:<8} {:>10} {:<16} {:>8} {:>8} {:>9} {:>9} {:>10} {:>7}  {}",
            r.scenario,
            r.backend,
            fmt_num(r.value),
            r.unit,
            fmt_opt(r.p50_ms),
            fmt_opt(r.p99_ms),
            fmt_opt(r.server_cpu_ms),
            fmt_opt(r.pg_cpu_ms),
            fmt_opt(r.peer.as_ref().map(|p| p.1)),
            r.ratio.map_or_else(|| "-".into(), |x| format!("{x:.2}x")),
            r.target
        );
    }
    println!();
    for r in &report.rows {
        let mut line = format!(
            "RESULT scenario={} backend={} value={} unit={} p50_ms={} p99_ms={} ratio={} server_cpu_ms_per_req={} pg_cpu_ms_per_req={}",
            r.scenario,
            r.backend,
            fmt_num(r.value),
            r.unit.replace(' ', "_"),
            fmt_opt(r.p50_ms),
            fmt_opt(r.p99_ms),
            r.ratio.map_or_else(|| "-".into(), |x| format!("{x:.3}")),
            fmt_opt(r.server_cpu_ms),
            fmt_opt(r.pg_cpu_ms),
        );
        if let Some((name, v)) = &r.peer {
            line.push_str(&format!(" peer={name} peer_value={}", fmt_num(*v)));
        }
        for (k, v) in &r.extra {
            line.push_str(&format!(" {k}={v}"));
        }
        println!("{line}");
    }
}
