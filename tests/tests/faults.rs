//! Faults, with real processes against a throwaway PostgreSQL cluster of
//! the test's own (`PgCluster`), so it may stop the database:
//!
//! - PostgreSQL stopped (fast, then immediate) and started again while a
//!   client keeps submitting: the API answers `UNAVAILABLE` while it is
//!   gone, the processes reconnect by themselves, the LISTEN/NOTIFY
//!   listener resubscribes, and every acknowledged workflow completes once;
//! - a `baton worker` and a `baton serve` SIGKILLed mid-run and restarted
//!   under the same load: everything acknowledged still finishes once;
//! - the model endpoint down, then back: retries, a clear failure, and
//!   `retryWorkflow` succeeds afterwards and the chain goes on.
//!
//! "Once" is checked from SQL: every workflow `completed`, one approval and
//! one artifact per `generate_draft` run, one `workflow.completed` event
//! per workflow, no lease left behind.
//!
//! Without PostgreSQL's server binaries these tests skip, except under
//! `CI`, where they fail (see `baton_e2e::cluster`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_e2e::app::{post_graphql_as, seed_admin};
use baton_e2e::fake_llm::{FakeLlm, Reply};
use baton_e2e::process::{ServerProcess, WorkerProcess, as_refs, env_of};
use baton_e2e::ws::Subscription;
use baton_e2e::{PgCluster, StopMode, pg_cluster_available};
use entity::workflow::{self, WorkflowStatus};
use entity::{approval, artifact, event};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Generous bound for anything awaited on a loaded 2-core machine.
const T: Duration = Duration::from_secs(90);

const RUN: &str = "mutation($p: String!) { runWorkflow(input: { type: \"generate_draft\", input: { prompt: $p } }) { workflow { id } } }";

/// What one `runWorkflow` got back.
#[derive(Debug, Clone)]
enum Answer {
    Acked(String),
    /// A GraphQL error with its `extensions.code`.
    Coded(String, String),
    /// No HTTP answer at all (the server was down).
    Transport(String),
}

/// One submission, with the test phase it was sent and answered in.
#[derive(Debug, Clone)]
struct Record {
    sent_in: u32,
    answered_in: u32,
    answer: Answer,
}

/// Everything the client side saw, in order.
#[derive(Default)]
struct Ledger {
    records: Vec<Record>,
}

impl Ledger {
    fn acked(&self) -> Vec<String> {
        self.records
            .iter()
            .filter_map(|r| match &r.answer {
                Answer::Acked(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    /// Requests that got no HTTP answer, with why.
    fn unanswered(&self) -> Vec<&str> {
        self.records
            .iter()
            .filter_map(|r| match &r.answer {
                Answer::Transport(why) => Some(why.as_str()),
                _ => None,
            })
            .collect()
    }

    fn acked_in(&self, phase: u32) -> usize {
        self.records
            .iter()
            .filter(|r| r.answered_in == phase && matches!(r.answer, Answer::Acked(_)))
            .count()
    }

    fn coded_in(&self, phase: u32, code: &str) -> usize {
        self.records
            .iter()
            .filter(|r| {
                (r.sent_in == phase || r.answered_in == phase)
                    && matches!(&r.answer, Answer::Coded(c, _) if c == code)
            })
            .count()
    }
}

async fn submit(http: &reqwest::Client, url: &str, token: &str, prompt: &str) -> Answer {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": RUN, "variables": { "p": prompt } }))
        .send()
        .await;
    let body: Value = match res {
        Ok(r) => match r.json().await {
            Ok(b) => b,
            Err(e) => return Answer::Transport(format!("unreadable answer: {e}")),
        },
        Err(e) => return Answer::Transport(e.to_string()),
    };
    if let Some(id) = body["data"]["runWorkflow"]["workflow"]["id"].as_str() {
        return Answer::Acked(id.to_string());
    }
    Answer::Coded(
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_string(),
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// `n` clients submitting `generate_draft` runs back to back until `stop`,
/// each recording every answer in `ledger` with the current `phase`.
fn spawn_submitters(
    n: usize,
    url: String,
    token: String,
    phase: Arc<AtomicU32>,
    ledger: Arc<Mutex<Ledger>>,
    stop: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|client| {
            let (url, token, phase, ledger, stop) = (
                url.clone(),
                token.clone(),
                phase.clone(),
                ledger.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                let mut i = 0;
                while !stop.is_cancelled() {
                    i += 1;
                    let sent_in = phase.load(Ordering::SeqCst);
                    let answer =
                        submit(&http, &url, &token, &format!("client {client} #{i}")).await;
                    let answered_in = phase.load(Ordering::SeqCst);
                    let transport = matches!(answer, Answer::Transport(_));
                    ledger.lock().unwrap().records.push(Record {
                        sent_in,
                        answered_in,
                        answer,
                    });
                    // Paced below what the workers get through, so the
                    // queue stays short and the test bounded; a refused
                    // connection answers at once: do not spin on it.
                    let pause = if transport { 200 } else { 250 };
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
                        _ = stop.cancelled() => {}
                    }
                }
            })
        })
        .collect()
}

/// Waits for `cond` (checked every 100 ms) or fails with `what`.
async fn wait_until<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn workflows(conn: &DatabaseConnection) -> Vec<workflow::Model> {
    workflow::Entity::find().all(conn).await.unwrap_or_default()
}

async fn completed(conn: &DatabaseConnection) -> usize {
    workflows(conn)
        .await
        .iter()
        .filter(|w| w.status == WorkflowStatus::Completed)
        .count()
}

async fn readyz(http: &reqwest::Client, server: &ServerProcess) -> Option<u16> {
    http.get(server.url("/readyz"))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Waits until every workflow in the database is completed and every
/// acknowledged id is among them; then checks, from SQL, that each finished
/// exactly once. Returns the rows.
async fn assert_all_completed_once(
    conn: &DatabaseConnection,
    acked: &[String],
) -> Vec<workflow::Model> {
    let acked_set: HashSet<&str> = acked.iter().map(String::as_str).collect();
    assert_eq!(
        acked_set.len(),
        acked.len(),
        "no id acknowledged twice: {acked:?}"
    );
    let deadline = Instant::now() + T;
    let rows = loop {
        let rows = workflows(conn).await;
        let ids: HashSet<String> = rows.iter().map(|w| w.id.to_string()).collect();
        let missing: Vec<&&str> = acked_set.iter().filter(|a| !ids.contains(**a)).collect();
        assert!(
            missing.is_empty(),
            "acknowledged workflows missing from the database: {missing:?}"
        );
        let open: Vec<_> = rows
            .iter()
            .filter(|w| w.status != WorkflowStatus::Completed)
            .map(|w| (w.id, w.status, w.attempt, w.error.clone()))
            .collect();
        if open.is_empty() {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "{} workflows never completed: {open:?}",
            open.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let approvals = approval::Entity::find().all(conn).await.unwrap();
    let artifacts = artifact::Entity::find().all(conn).await.unwrap();
    let completions = event::Entity::find()
        .filter(event::Column::Kind.eq("workflow.completed"))
        .all(conn)
        .await
        .unwrap();
    let count = |ids: Vec<uuid::Uuid>| {
        let mut m: HashMap<uuid::Uuid, usize> = HashMap::new();
        for id in ids {
            *m.entry(id).or_default() += 1;
        }
        m
    };
    let approvals = count(approvals.iter().map(|a| a.workflow_id).collect());
    let artifacts = count(artifacts.iter().map(|a| a.workflow_id).collect());
    let completions = count(completions.iter().filter_map(|e| e.workflow_id).collect());
    for w in &rows {
        assert_eq!(w.workflow_type, "generate_draft");
        assert!(w.output.is_some(), "{} has its output", w.id);
        assert!(
            w.lease_owner.is_none() && w.lease_expires_at.is_none(),
            "{} left no lease behind",
            w.id
        );
        let n = |m: &HashMap<uuid::Uuid, usize>| m.get(&w.id).copied().unwrap_or(0);
        assert_eq!(
            (n(&approvals), n(&artifacts), n(&completions)),
            (1, 1, 1),
            "{} (attempt {}): one approval, one artifact, one completion event",
            w.id,
            w.attempt
        );
    }
    rows
}

/// Opens a `workflowCompleted` subscription on `api` (which runs no
/// workers), submits one run there and waits for its completion to be
/// pushed. Only another process finishes it, so the push crossed
/// PostgreSQL's NOTIFY into `api`'s listener (or its resync after
/// reconnecting): the listener is subscribed again.
async fn a_completion_reaches_a_subscriber_of(
    api: &ServerProcess,
    http: &reqwest::Client,
    token: &str,
) {
    let mut sub = Subscription::open(
        &format!("ws://{}/graphql", api.address),
        Some(token),
        "subscription { workflowCompleted { id status } }",
        json!({}),
    )
    .await;
    let id = {
        let deadline = Instant::now() + T;
        loop {
            match submit(http, &api.url("/graphql"), token, "probe").await {
                Answer::Acked(id) => break id,
                other => assert!(Instant::now() < deadline, "probe never accepted: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let pushed = sub
        .next_matching(T, |d| d["workflowCompleted"]["id"] == id.as_str())
        .await
        .unwrap_or_else(|| panic!("the completion of {id} was never pushed to the API server"));
    assert_eq!(pushed["workflowCompleted"]["status"], "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_answers_unavailable_then_every_acknowledged_workflow_completes_once()
 {
    if !pg_cluster_available() {
        return;
    }
    let mut cluster = PgCluster::start().await;
    let url = cluster.create_database("baton").await;
    let token = seed_admin(&url).await;
    // Each model call takes a little while, so runs are in flight when the
    // database goes away.
    let llm = FakeLlm::start(|req, _| Reply::sensible(req).after(Duration::from_millis(100))).await;
    let common = env_of(&[
        ("BATON_LLM_BASE_URL", llm.base_url()),
        ("BATON_DRAFT_CANDIDATES", "1".into()),
        // Answer UNAVAILABLE after 2 s without a connection, not 10.
        ("BATON_DB_ACQUIRE_TIMEOUT_SECS", "2".into()),
        // A run whose result could not be stored is re-run once its lease
        // expires; the outage may cost an attempt or two.
        ("BATON_LEASE_SECS", "3".into()),
        ("BATON_MAX_ATTEMPTS", "6".into()),
        ("BATON_RETRY_BASE_MS", "100".into()),
    ]);
    // The API server runs no workflows: whatever its subscribers hear was
    // finished by the worker process and crossed over LISTEN/NOTIFY.
    let mut api_env = common.clone();
    api_env.push(("BATON_WORKERS".into(), "0".into()));
    let api = ServerProcess::start(&url, &as_refs(&api_env)).await;
    let mut worker_env = common.clone();
    worker_env.extend(env_of(&[
        ("BATON_WORKERS", "4".into()),
        ("BATON_POLL_MS", "500".into()),
    ]));
    let worker = WorkerProcess::start(&url, &as_refs(&worker_env)).await;
    let conn = baton::db::connect(&url).await.unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let phase = Arc::new(AtomicU32::new(0));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = CancellationToken::new();
    let submitters = spawn_submitters(
        2,
        api.url("/graphql"),
        token.clone(),
        phase.clone(),
        ledger.clone(),
        stop.clone(),
    );

    // Phases: 0 before, 1 down (fast stop), 2 between, 3 down (immediate
    // stop, a crash), 4 after.
    for (down, mode) in [(1, StopMode::Fast), (3, StopMode::Immediate)] {
        wait_until(T, "work acknowledged and completed before the stop", || {
            let (ledger, conn) = (ledger.clone(), conn.clone());
            async move {
                let acked = ledger.lock().unwrap().acked_in(down - 1);
                acked >= 8 && completed(&conn).await >= 3
            }
        })
        .await;
        // The outage begins as the stop does: answers during the shutdown
        // count as during it.
        phase.store(down, Ordering::SeqCst);
        cluster.stop(mode).await;

        // While the database is gone the API answers, with a code a client
        // can act on, and is not ready.
        wait_until(T, "UNAVAILABLE answers while the database is down", || {
            let ledger = ledger.clone();
            async move { ledger.lock().unwrap().coded_in(down, "UNAVAILABLE") >= 3 }
        })
        .await;
        assert_eq!(
            readyz(&http, &api).await,
            Some(503),
            "/readyz while the database is down"
        );

        cluster.start_again().await;
        phase.store(down + 1, Ordering::SeqCst);
        // Nobody restarts the processes: their pools reconnect.
        wait_until(T, "/readyz to recover", || {
            let (http, api) = (&http, &api);
            async move { readyz(http, api).await == Some(200) }
        })
        .await;
        a_completion_reaches_a_subscriber_of(&api, &http, &token).await;
    }

    // Keep the load on until everything acknowledged before the second
    // restart has completed, then let the rest drain.
    let before: Vec<String> = ledger.lock().unwrap().acked();
    wait_until(
        T,
        "work acknowledged before the restarts to complete",
        || {
            let (conn, before) = (conn.clone(), before.clone());
            async move {
                let done: HashSet<String> = workflows(&conn)
                    .await
                    .into_iter()
                    .filter(|w| w.status == WorkflowStatus::Completed)
                    .map(|w| w.id.to_string())
                    .collect();
                before.iter().all(|id| done.contains(id))
            }
        },
    )
    .await;
    wait_until(T, "work acknowledged after the restarts", || {
        let ledger = ledger.clone();
        async move { ledger.lock().unwrap().acked_in(4) >= 5 }
    })
    .await;
    stop.cancel();
    for s in submitters {
        s.await.unwrap();
    }

    let records = ledger.lock().unwrap().records.clone();
    let acked = ledger.lock().unwrap().acked();
    let unanswered: Vec<String> = ledger
        .lock()
        .unwrap()
        .unanswered()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert!(
        unanswered.is_empty(),
        "the API server answered every request: {unanswered:?}"
    );
    let rows = assert_all_completed_once(&conn, &acked).await;
    // Every refusal was the retry-later code; none was a bug, and the API
    // server itself never went away.
    let refusals: Vec<&Record> = records
        .iter()
        .filter(|r| !matches!(r.answer, Answer::Acked(_)))
        .collect();
    assert!(
        refusals
            .iter()
            .all(|r| matches!(&r.answer, Answer::Coded(c, m) if c == "UNAVAILABLE" && m.contains("retry later"))),
        "only UNAVAILABLE while the database was down: {refusals:?}"
    );
    assert!(
        refusals
            .iter()
            .all(|r| r.sent_in == 1 || r.sent_in == 3 || r.answered_in == 1 || r.answered_in == 3),
        "refused only around an outage: {refusals:?}"
    );
    let (before_count, after_count) = (
        records
            .iter()
            .filter(|r| r.sent_in == 0 && matches!(r.answer, Answer::Acked(_)))
            .count(),
        records
            .iter()
            .filter(|r| r.sent_in == 4 && matches!(r.answer, Answer::Acked(_)))
            .count(),
    );
    assert!(before_count >= 8 && after_count >= 5);
    eprintln!(
        "restart under load: {} submissions, {} acknowledged, {} refused UNAVAILABLE, {} workflows completed once; max attempt {}",
        records.len(),
        acked.len(),
        refusals.len(),
        rows.len(),
        rows.iter().map(|w| w.attempt).max().unwrap_or(0)
    );
    assert!(worker.terminate().await.success());
    api.terminate().await;
}

/// The first row running under the process whose id is `pid` (a lease
/// owner is `PID-random`).
async fn running_under(conn: &DatabaseConnection, pid: u32) -> Option<uuid::Uuid> {
    let prefix = format!("{pid}-");
    workflows(conn).await.into_iter().find_map(|w| {
        (w.status == WorkflowStatus::Running
            && w.lease_owner
                .as_deref()
                .is_some_and(|o| o.starts_with(&prefix)))
        .then_some(w.id)
    })
}

/// True when `id` is still running under `pid`'s lease (the process died
/// holding it).
async fn still_held_by(conn: &DatabaseConnection, id: uuid::Uuid, pid: u32) -> bool {
    let prefix = format!("{pid}-");
    workflow::Entity::find_by_id(id)
        .one(conn)
        .await
        .ok()
        .flatten()
        .is_some_and(|w| {
            w.status == WorkflowStatus::Running
                && w.lease_owner
                    .as_deref()
                    .is_some_and(|o| o.starts_with(&prefix))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_and_an_api_server_sigkilled_mid_run_and_restarted_finish_everything_acknowledged_once()
 {
    if !pg_cluster_available() {
        return;
    }
    let cluster = PgCluster::start().await;
    let url = cluster.create_database("baton").await;
    let token = seed_admin(&url).await;
    // Two calls of 400 ms per run: a kill lands mid-run.
    let llm = FakeLlm::start(|req, _| Reply::sensible(req).after(Duration::from_millis(400))).await;
    let env = env_of(&[
        ("BATON_LLM_BASE_URL", llm.base_url()),
        ("BATON_DRAFT_CANDIDATES", "1".into()),
        ("BATON_LEASE_SECS", "2".into()),
        ("BATON_MAX_ATTEMPTS", "6".into()),
        ("BATON_RETRY_BASE_MS", "100".into()),
        ("BATON_WORKERS", "2".into()),
        ("BATON_POLL_MS", "300".into()),
    ]);
    // Both run workflows; the API server also takes the submissions.
    let mut api = ServerProcess::start(&url, &as_refs(&env)).await;
    let mut worker = WorkerProcess::start(&url, &as_refs(&env)).await;
    let conn = baton::db::connect(&url).await.unwrap();

    let phase = Arc::new(AtomicU32::new(0));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = CancellationToken::new();
    let submitters = spawn_submitters(
        2,
        api.url("/graphql"),
        token.clone(),
        phase.clone(),
        ledger.clone(),
        stop.clone(),
    );

    // SIGKILL the worker process while it holds a run, then the API server:
    // retry until the victim is seen dead-holding a lease (a run may just
    // have finished between the look and the kill).
    let mut victims = Vec::new();
    for (round, target) in ["worker", "api"].into_iter().enumerate() {
        let round = u32::try_from(round).unwrap();
        let victim = 'found: {
            for _ in 0..10 {
                let pid = if target == "worker" {
                    worker.pid()
                } else {
                    api.pid()
                }
                .expect("running");
                let deadline = Instant::now() + T;
                let id = loop {
                    if let Some(id) = running_under(&conn, pid).await {
                        break id;
                    }
                    assert!(Instant::now() < deadline, "no run held by the {target}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                if target == "worker" {
                    worker.kill_and_restart().await;
                } else {
                    phase.store(round * 2 + 1, Ordering::SeqCst);
                    api.kill_and_restart().await;
                    phase.store(round * 2 + 2, Ordering::SeqCst);
                }
                if still_held_by(&conn, id, pid).await {
                    break 'found id;
                }
            }
            panic!("the {target} was never killed while holding a run");
        };
        victims.push(victim);
        let before = ledger.lock().unwrap().acked().len();
        wait_until(T, "work acknowledged after the kill", || {
            let ledger = ledger.clone();
            async move { ledger.lock().unwrap().acked().len() >= before + 4 }
        })
        .await;
    }
    stop.cancel();
    for s in submitters {
        s.await.unwrap();
    }

    let records = ledger.lock().unwrap().records.clone();
    let acked = ledger.lock().unwrap().acked();
    let rows = assert_all_completed_once(&conn, &acked).await;
    for v in &victims {
        let w = rows.iter().find(|w| w.id == *v).unwrap();
        assert!(
            w.attempt >= 2,
            "{v} was running when its process was killed: the re-run counts, attempt {}",
            w.attempt
        );
    }
    // While the API server was down, submissions were refused at the door,
    // never half-answered with a bug.
    assert!(
        records
            .iter()
            .all(|r| !matches!(&r.answer, Answer::Coded(c, _) if c == "INTERNAL_SERVER_ERROR")),
        "{records:?}"
    );
    eprintln!(
        "kills: {} submissions, {} acknowledged, {} refused while the server was down, {} workflows completed once",
        records.len(),
        acked.len(),
        records
            .iter()
            .filter(|r| matches!(r.answer, Answer::Transport(_)))
            .count(),
        rows.len()
    );
    assert!(worker.terminate().await.success());
    api.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_endpoint_down_fails_a_run_with_a_clear_error_and_retrying_after_it_is_back_continues_the_chain()
 {
    if !pg_cluster_available() {
        return;
    }
    let cluster = PgCluster::start().await;
    let url = cluster.create_database("baton").await;
    let token = seed_admin(&url).await;
    let mut llm = FakeLlm::start(|req, _| Reply::sensible(req)).await;
    let env = env_of(&[
        ("BATON_LLM_BASE_URL", llm.base_url()),
        ("BATON_DRAFT_CANDIDATES", "1".into()),
        ("BATON_LLM_MAX_RETRIES", "2".into()),
        ("BATON_LLM_TIMEOUT_SECS", "2".into()),
        ("BATON_MAX_ATTEMPTS", "2".into()),
        ("BATON_RETRY_BASE_MS", "100".into()),
        ("BATON_WORKERS", "2".into()),
    ]);
    let server = ServerProcess::start(&url, &as_refs(&env)).await;
    let http = reqwest::Client::new();
    let gql = |query: &'static str, vars: Value| {
        let (http, url, token) = (http.clone(), server.url("/graphql"), token.clone());
        async move { post_graphql_as(&http, &url, Some(&token), query, vars).await }
    };
    let wait_status = |id: String, want: &'static [&'static str]| {
        let gql = &gql;
        async move {
            let deadline = Instant::now() + T;
            loop {
                let body = gql(
                    "query($id: ID!) { workflow(id: $id) { status attempt error approval { id artifactVersion } llmCalls { attempt error } } }",
                    json!({ "id": id }),
                )
                .await;
                let w = body["data"]["workflow"].clone();
                if want.iter().any(|s| w["status"] == *s) {
                    return w;
                }
                assert!(
                    Instant::now() < deadline,
                    "{id} never became {want:?}: {body}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    llm.stop().await;
    let run = gql(RUN, json!({ "p": "while the model is down" })).await;
    let id = run["data"]["runWorkflow"]["workflow"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("accepted while the model is down: {run}"))
        .to_string();
    let failed = wait_status(id.clone(), &["FAILED"]).await;
    assert_eq!(failed["attempt"], 2, "every attempt was used: {failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("could not reach the model endpoint"),
        "the stored error says the endpoint was unreachable: {error}"
    );
    assert!(
        error.contains("after 3 tries"),
        "and that the client retried (BATON_LLM_MAX_RETRIES=2): {error}"
    );
    assert!(
        error.contains(&llm.address.to_string()),
        "and names the endpoint: {error}"
    );
    // One logged (failed) call per attempt: the retries are inside a call.
    let calls = failed["llmCalls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c["error"].is_string()));
    assert_eq!(
        llm.calls(),
        0,
        "nothing reached the endpoint while it was down"
    );

    llm.start_again().await;
    let retried = gql(
        "mutation($id: ID!) { retryWorkflow(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        retried["data"]["retryWorkflow"]["status"], "PENDING",
        "{retried}"
    );
    let done = wait_status(id.clone(), &["COMPLETED", "FAILED"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(llm.calls() >= 2, "draft and judge reached the endpoint");

    // The chain goes on: approving starts the next workflow, which runs.
    let approval = done["approval"]["id"].as_str().unwrap().to_string();
    let version = done["approval"]["artifactVersion"].as_i64().unwrap();
    let approved = gql(
        "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v, feedback: \"Shorter.\") { decided nextWorkflow { id type } } }",
        json!({ "id": approval, "v": version }),
    )
    .await;
    assert_eq!(approved["data"]["approve"]["decided"], true, "{approved}");
    let next = approved["data"]["approve"]["nextWorkflow"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a next workflow: {approved}"))
        .to_string();
    let next_done = wait_status(next, &["COMPLETED", "FAILED"]).await;
    assert_eq!(next_done["status"], "COMPLETED", "{next_done}");
    server.terminate().await;
    drop(cluster);
}
