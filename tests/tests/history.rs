//! The randomized history test: several clients run drafts (with and
//! without idempotency keys, some keys sent to two servers at once) and
//! vote on their approvals (racing each other, under a 2-of-n policy for
//! drafts and 1-of-n for revisions, one by one and in batches), against two
//! `baton serve` processes and a `baton worker` on a throwaway PostgreSQL
//! cluster, while a fault injector SIGKILLs the worker and the servers and
//! restarts the database (fast and immediate). The clients record every
//! answer they get ([`Ledger`]); once the history is over and everything
//! has drained, the checker ([`check`]) judges the end state from SQL and
//! from the API. It prints its seed, its counts and every anomaly.
//!
//! - `BATON_HISTORY_SEED` replays a seed (the choices and the fault
//!   schedule; the interleaving is the machine's);
//! - `BATON_HISTORY_SECS` bounds the history (default 25 s; CI runs the
//!   default, a longer run is `BATON_HISTORY_SECS=600`).
//!
//! A second phase tampers with the finished database and the ledger, one
//! anomaly of each kind, and asserts the checker reports each: a checker
//! that cannot fail proves nothing.
//!
//! Without PostgreSQL's server binaries this skips, except under `CI`,
//! where it fails (see `baton_e2e::cluster`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_e2e::app::{post_graphql_as, seed_admin};
use baton_e2e::fake_llm::{FakeLlm, Reply};
use baton_e2e::history::{
    ApiApproval, Choice, Ledger, Outcome, RunAck, RunCall, Snapshot, VoteAck, VoteCall, check,
};
use baton_e2e::process::{ServerProcess, WorkerProcess, as_refs, env_of};
use baton_e2e::{PgCluster, StopMode, pg_cluster_available};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long the history may take to drain once the clients stop.
const DRAIN: Duration = Duration::from_secs(180);
/// Idempotency keys are drawn from this many, so repeats are common.
const KEYS: u64 = 40;
const CLIENTS: u64 = 3;
const REVIEWERS: [&str; 3] = ["rhea", "sol", "tove"];

/// splitmix64: tiny, seedable, good enough to pick actions with.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[usize::try_from(self.below(xs.len() as u64)).unwrap()]
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from + 1))
    }
}

struct Settings {
    seed: u64,
    secs: u64,
}

impl Settings {
    fn from_env() -> Settings {
        let seed = std::env::var("BATON_HISTORY_SEED")
            .ok()
            .map(|s| s.trim().parse().expect("BATON_HISTORY_SEED is a u64"))
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                u64::try_from(nanos % u128::from(u64::MAX)).unwrap()
            });
        let secs = std::env::var("BATON_HISTORY_SECS")
            .ok()
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("BATON_HISTORY_SECS is whole seconds")
            })
            .unwrap_or(25);
        Settings { seed, secs }
    }
}

/// Who a client acts as.
#[derive(Clone)]
struct Person {
    name: String,
    token: String,
}

/// What every client shares.
#[derive(Clone)]
struct World {
    urls: Vec<String>,
    admin: Person,
    reviewers: Vec<Person>,
    ledger: Arc<Mutex<Ledger>>,
    stop: CancellationToken,
}

/// One POST; `Err` when no GraphQL answer came back.
async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    vars: Value,
) -> Result<Value, String> {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    res.json::<Value>()
        .await
        .map_err(|e| format!("unreadable answer: {e}"))
}

fn refused<T>(body: &Value) -> Outcome<T> {
    Outcome::Refused {
        code: body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_string(),
        message: body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

fn uuid_at(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| s.parse().ok())
}

const RUN: &str =
    "mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { created workflow { id } } }";

async fn run(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: Option<String>,
    prompt: String,
) -> RunCall {
    let vars = json!({ "i": {
        "type": "generate_draft",
        "input": { "prompt": prompt },
        "idempotencyKey": key,
    }});
    let outcome = match post(http, url, token, RUN, vars).await {
        Err(e) => Outcome::Unknown(e),
        Ok(body) => match uuid_at(&body["data"]["runWorkflow"]["workflow"]["id"]) {
            Some(workflow) => Outcome::Acked(RunAck {
                workflow,
                created: body["data"]["runWorkflow"]["created"] == true,
            }),
            None => refused(&body),
        },
    };
    RunCall { key, outcome }
}

const VOTE_FIELDS: &str = "decided approval { status decidedBy } nextWorkflow { id }";

async fn vote(
    http: &reqwest::Client,
    url: &str,
    who: &Person,
    approval: Uuid,
    version: i64,
    choice: Choice,
    feedback: Option<&str>,
) -> VoteCall {
    let field = match choice {
        Choice::Approve => "approve",
        Choice::Reject => "reject",
    };
    let query = format!(
        "mutation($id: ID!, $v: Int!, $f: String) {{ {field}(id: $id, version: $v, feedback: $f) {{ {VOTE_FIELDS} }} }}"
    );
    let vars = json!({ "id": approval, "v": version, "f": feedback });
    let outcome = match post(http, url, &who.token, &query, vars).await {
        Err(e) => Outcome::Unknown(e),
        Ok(body) => {
            let p = &body["data"][field];
            if p.is_object() {
                Outcome::Acked(VoteAck {
                    decided: p["decided"] == true,
                    decided_by: p["approval"]["decidedBy"].as_str().map(str::to_string),
                    next_workflow: uuid_at(&p["nextWorkflow"]["id"]),
                })
            } else {
                refused(&body)
            }
        }
    };
    VoteCall {
        approval,
        reviewer: who.name.clone(),
        choice,
        outcome,
    }
}

/// `approveMany` over `items`: one [`VoteCall`] per item.
async fn vote_many(
    http: &reqwest::Client,
    url: &str,
    who: &Person,
    items: &[(Uuid, i64)],
    feedback: Option<&str>,
) -> Vec<VoteCall> {
    let query = "mutation($items: [DecisionItem!]!, $f: String) { approveMany(items: $items, feedback: $f) {
        results { id ok approval { status decidedBy } nextWorkflow { id } error { code message } } } }";
    let vars = json!({
        "items": items.iter().map(|(id, v)| json!({ "id": id, "version": v })).collect::<Vec<_>>(),
        "f": feedback,
    });
    let call = |approval: Uuid, outcome| VoteCall {
        approval,
        reviewer: who.name.clone(),
        choice: Choice::Approve,
        outcome,
    };
    match post(http, url, &who.token, query, vars).await {
        Err(e) => items
            .iter()
            .map(|(id, _)| call(*id, Outcome::Unknown(e.clone())))
            .collect(),
        Ok(body) => match body["data"]["approveMany"]["results"].as_array() {
            None => items
                .iter()
                .map(|(id, _)| call(*id, refused(&body)))
                .collect(),
            Some(results) => results
                .iter()
                .map(|res| {
                    let id = uuid_at(&res["id"]).expect("the id as given");
                    let outcome = if res["ok"] == true {
                        // The approval as this vote's transaction left it:
                        // decided means this vote decided it.
                        Outcome::Acked(VoteAck {
                            decided: res["approval"]["status"] != "PENDING",
                            decided_by: res["approval"]["decidedBy"].as_str().map(str::to_string),
                            next_workflow: uuid_at(&res["nextWorkflow"]["id"]),
                        })
                    } else {
                        Outcome::Refused {
                            code: res["error"]["code"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            message: res["error"]["message"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        }
                    };
                    call(id, outcome)
                })
                .collect(),
        },
    }
}

/// Up to 50 pending approvals with their versions, as `who` sees them.
async fn pending(http: &reqwest::Client, url: &str, who: &Person) -> Vec<(Uuid, i64)> {
    let body = post(
        http,
        url,
        &who.token,
        "{ pendingApprovals(first: 50) { edges { node { id artifactVersion } } } }",
        json!({}),
    )
    .await
    .unwrap_or_default();
    body["data"]["pendingApprovals"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| {
                    Some((
                        uuid_at(&e["node"]["id"])?,
                        e["node"]["artifactVersion"].as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One client: runs and votes at random until told to stop.
async fn client(world: World, mut rng: Rng, me: u64) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut i = 0;
    while !world.stop.is_cancelled() {
        i += 1;
        let url = rng.pick(&world.urls).clone();
        let roll = rng.below(100);
        let open = if roll < 45 {
            Vec::new()
        } else {
            pending(&http, &url, rng.pick(&world.reviewers)).await
        };
        if open.is_empty() {
            // A run; with a key half the time, and a keyed run is sent to
            // both servers at once a quarter of the time.
            let key = rng.chance(50).then(|| format!("key-{}", rng.below(KEYS)));
            let prompt = match &key {
                Some(k) => format!("a scene for {k}"),
                None => format!("a scene from client {me} #{i}"),
            };
            let calls = if key.is_some() && rng.chance(25) {
                let (a, b) = tokio::join!(
                    run(
                        &http,
                        &world.urls[0],
                        &world.admin.token,
                        key.clone(),
                        prompt.clone()
                    ),
                    run(
                        &http,
                        &world.urls[1],
                        &world.admin.token,
                        key.clone(),
                        prompt.clone()
                    ),
                );
                vec![a, b]
            } else {
                vec![run(&http, &url, &world.admin.token, key, prompt).await]
            };
            world.ledger.lock().unwrap().runs.extend(calls);
        } else if roll < 92 {
            // Votes on one approval: alone, or two or three racing (the
            // same reviewer may race themself).
            let (id, version) = *rng.pick(&open);
            let racers = if rng.chance(35) { 2 + rng.below(2) } else { 1 };
            let mut everyone = world.reviewers.clone();
            everyone.push(world.admin.clone());
            let ballots: Vec<(Person, Choice, Option<&str>, String)> = (0..racers)
                .map(|_| {
                    let who = rng.pick(&everyone).clone();
                    let choice = if rng.chance(75) {
                        Choice::Approve
                    } else {
                        Choice::Reject
                    };
                    let feedback = rng.chance(50).then_some("Tighter, and name the harbour.");
                    (who, choice, feedback, rng.pick(&world.urls).clone())
                })
                .collect();
            let calls = futures_util::future::join_all(ballots.iter().map(
                |(who, choice, feedback, url)| {
                    vote(&http, url, who, id, version, *choice, *feedback)
                },
            ))
            .await;
            world.ledger.lock().unwrap().votes.extend(calls);
        } else {
            // One reviewer approves a few at once.
            let who = rng.pick(&world.reviewers).clone();
            let mut items = Vec::new();
            for _ in 0..2 + rng.below(2) {
                let item = *rng.pick(&open);
                if !items.iter().any(|(id, _)| *id == item.0) {
                    items.push(item);
                }
            }
            let feedback = rng.chance(50).then_some("Fine; shorter.");
            let calls = vote_many(&http, &url, &who, &items, feedback).await;
            world.ledger.lock().unwrap().votes.extend(calls);
        }
        tokio::select! {
            _ = tokio::time::sleep(rng.millis(30, 150)) => {}
            _ = world.stop.cancelled() => {}
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    KillWorker,
    KillServer(usize),
    RestartDatabase(StopMode),
}

/// The fault schedule: every kind once early (a seeded order), then any.
fn schedule(rng: &mut Rng, secs: u64) -> Vec<(Duration, Fault)> {
    let mut first = [
        Fault::KillWorker,
        Fault::KillServer(0),
        Fault::RestartDatabase(if rng.chance(50) {
            StopMode::Fast
        } else {
            StopMode::Immediate
        }),
    ];
    for i in (1..first.len()).rev() {
        first.swap(i, usize::try_from(rng.below(i as u64 + 1)).unwrap());
    }
    let mut out = Vec::new();
    let mut at = rng.millis(2_000, 4_000);
    let end = Duration::from_secs(secs.saturating_sub(2));
    let mut n = 0;
    // The first three always run, however short the history.
    while n < first.len() || at < end {
        let fault = match first.get(n) {
            Some(f) => *f,
            None => *rng.pick(&[
                Fault::KillWorker,
                Fault::KillServer(0),
                Fault::KillServer(1),
                Fault::RestartDatabase(StopMode::Fast),
                Fault::RestartDatabase(StopMode::Immediate),
            ]),
        };
        out.push((at, fault));
        n += 1;
        at += rng.millis(4_000, 7_000);
    }
    out
}

async fn admin_gql(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    vars: Value,
) -> Value {
    let body = post_graphql_as(http, url, Some(token), query, vars).await;
    assert!(body.get("errors").is_none(), "{query}: {body:#}");
    body["data"].clone()
}

/// Waits (bounded) until no workflow is pending or running.
async fn drain(conn: &DatabaseConnection) {
    let deadline = Instant::now() + DRAIN;
    loop {
        let rows = workflow::Entity::find().all(conn).await.unwrap_or_default();
        let open: Vec<_> = rows
            .iter()
            .filter(|w| matches!(w.status, WorkflowStatus::Pending | WorkflowStatus::Running))
            .map(|w| (w.id, w.status, w.attempt))
            .collect();
        if open.is_empty() && !rows.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            // The checker reports what is left open, with the rest.
            eprintln!(
                "history: {} workflows still open after the drain: {open:?}",
                open.len()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// SQL, plus what the API says about every approval and every acknowledged
/// workflow.
async fn snapshot(
    conn: &DatabaseConnection,
    http: &reqwest::Client,
    url: &str,
    token: &str,
    ledger: &Ledger,
) -> Snapshot {
    let mut s = Snapshot::read_sql(conn).await.expect("read the end state");
    for a in &s.approvals {
        let data = admin_gql(
            http,
            url,
            token,
            "query($id: ID!) { approval(id: $id) { status decidedBy requiredApprovals nextWorkflow { id } } }",
            json!({ "id": a.id }),
        )
        .await;
        let v = &data["approval"];
        s.api_approvals.insert(
            a.id,
            ApiApproval {
                status: v["status"].as_str().unwrap_or_default().to_string(),
                decided_by: v["decidedBy"].as_str().map(str::to_string),
                next_workflow: uuid_at(&v["nextWorkflow"]["id"]),
                required_approvals: u32::try_from(v["requiredApprovals"].as_u64().unwrap_or(0))
                    .unwrap(),
            },
        );
    }
    let acked: std::collections::HashSet<Uuid> = ledger
        .runs
        .iter()
        .filter_map(|r| r.outcome.acked().map(|a| a.workflow))
        .collect();
    for id in acked {
        let data = admin_gql(
            http,
            url,
            token,
            "query($id: ID!) { workflow(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
        if let Some(status) = data["workflow"]["status"].as_str() {
            s.api_workflows.insert(id, status.to_string());
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_randomized_history_with_kills_and_database_restarts_keeps_every_guarantee() {
    if !pg_cluster_available() {
        return;
    }
    let settings = Settings::from_env();
    eprintln!(
        "history: seed {} for {} s (replay: BATON_HISTORY_SEED={} BATON_HISTORY_SECS={} cargo test -p baton-e2e --test history)",
        settings.seed, settings.secs, settings.seed, settings.secs
    );
    let mut rng = Rng(settings.seed);
    let mut cluster = PgCluster::start().await;
    let url = cluster.create_database("baton").await;
    let admin_token = seed_admin(&url).await;
    // Model calls take 20 to 140 ms, so kills land mid-run.
    let llm = FakeLlm::start(|req, n| {
        Reply::sensible(req).after(Duration::from_millis(20 + (n as u64 * 37) % 120))
    })
    .await;
    let common = env_of(&[
        ("BATON_LLM_BASE_URL", llm.base_url()),
        ("BATON_DRAFT_CANDIDATES", "1".into()),
        ("BATON_DB_ACQUIRE_TIMEOUT_SECS", "2".into()),
        // A run whose worker died is claimed again 3 s later.
        ("BATON_LEASE_SECS", "3".into()),
        ("BATON_MAX_ATTEMPTS", "10".into()),
        ("BATON_RETRY_BASE_MS", "100".into()),
        ("BATON_POLL_MS", "300".into()),
    ]);
    let with_workers = |n: &str| {
        let mut e = common.clone();
        e.push(("BATON_WORKERS".into(), n.into()));
        e
    };
    // Server 0 runs workflows too; server 1 only answers; the worker only
    // runs.
    let mut servers = vec![
        ServerProcess::start(&url, &as_refs(&with_workers("2"))).await,
        ServerProcess::start(&url, &as_refs(&with_workers("0"))).await,
    ];
    let mut worker = WorkerProcess::start(&url, &as_refs(&with_workers("2"))).await;
    let conn = baton::db::connect(&url).await.unwrap();
    let http = reqwest::Client::new();
    let api = servers[0].url("/graphql");

    let mut reviewers = Vec::new();
    for name in REVIEWERS {
        let user = admin_gql(
            &http,
            &api,
            &admin_token,
            "mutation($n: String!) { createUser(input: {name: $n, role: REVIEWER}) { user { id } } }",
            json!({ "n": name }),
        )
        .await;
        let token = admin_gql(
            &http,
            &api,
            &admin_token,
            "mutation($n: String!, $u: ID!) { createToken(input: {name: $n, role: REVIEWER, userId: $u}) { secret } }",
            json!({ "n": format!("{name} (history)"), "u": user["createUser"]["user"]["id"] }),
        )
        .await;
        reviewers.push(Person {
            name: name.to_string(),
            token: token["createToken"]["secret"].as_str().unwrap().to_string(),
        });
    }
    // Drafts need two approvals (races between approvers matter), the
    // revisions they start one.
    for (ty, k) in [("generate_draft", 2), ("apply_feedback", 1)] {
        admin_gql(
            &http,
            &api,
            &admin_token,
            "mutation($t: String!, $k: Int!) { setApprovalPolicy(input: {workflowType: $t, requiredApprovals: $k}) { requiredApprovals } }",
            json!({ "t": ty, "k": k }),
        )
        .await;
    }

    let world = World {
        urls: servers.iter().map(|s| s.url("/graphql")).collect(),
        admin: Person {
            name: "admin".into(),
            token: admin_token.clone(),
        },
        reviewers,
        ledger: Arc::new(Mutex::new(Ledger::default())),
        stop: CancellationToken::new(),
    };
    let faults = schedule(&mut rng, settings.secs);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let rng = Rng(rng.next() ^ c);
            tokio::spawn(client(world.clone(), rng, c))
        })
        .collect();

    // The fault injector, in this task.
    let started = Instant::now();
    let end = started + Duration::from_secs(settings.secs);
    for (at, fault) in &faults {
        tokio::time::sleep_until(started + *at).await;
        let when = started.elapsed().as_secs_f64();
        match *fault {
            Fault::KillWorker => worker.kill_and_restart().await,
            Fault::KillServer(i) => servers[i].kill_and_restart().await,
            Fault::RestartDatabase(mode) => {
                cluster.stop(mode).await;
                tokio::time::sleep(rng.millis(500, 2_000)).await;
                cluster.start_again().await;
            }
        }
        world
            .ledger
            .lock()
            .unwrap()
            .faults
            .push(format!("{when:.1}s {fault:?}"));
    }
    tokio::time::sleep_until(end).await;
    world.stop.cancel();
    for c in clients {
        c.await.unwrap();
    }

    drain(&conn).await;
    let ledger = world.ledger.lock().unwrap().clone();
    let snap = snapshot(&conn, &http, &api, &admin_token, &ledger).await;
    let report = check(&ledger, &snap);
    eprintln!(
        "history: seed {} over {} s, faults: {:?}\n{}",
        settings.seed,
        settings.secs,
        ledger.faults,
        report.render()
    );
    assert!(
        report.anomalies.is_empty(),
        "the history (seed {}) has {} anomalies:\n{}",
        settings.seed,
        report.anomalies.len(),
        report.render()
    );
    // A history that exercised nothing would pass vacuously.
    let c = |k: &str| report.counts.get(k).copied().unwrap_or(0);
    assert!(
        c("runs_acked") >= 10
            && c("runs_replayed_by_key") >= 1
            && c("approvals_approved") >= 1
            && c("votes_conflicted") >= 1
            && c("next_workflows") >= 1
            && c("faults") >= 3,
        "the history exercised too little: {}",
        report.render()
    );

    the_checker_reports_each_kind_of_tampering(&conn, &ledger, &http, &api, &admin_token).await;

    worker.terminate().await;
    for s in servers {
        s.terminate().await;
    }
}

/// Breaks the finished history one way at a time (in SQL, or in the
/// ledger) and asserts the checker names each break.
async fn the_checker_reports_each_kind_of_tampering(
    conn: &DatabaseConnection,
    ledger: &Ledger,
    http: &reqwest::Client,
    api: &str,
    token: &str,
) {
    let base = snapshot(conn, http, api, token, ledger).await;
    assert!(check(ledger, &base).anomalies.is_empty());
    let approved = base
        .approvals
        .iter()
        .find(|a| a.status == entity::approval::ApprovalStatus::Approved)
        .expect("an approved approval")
        .clone();
    let keyed = base
        .workflows
        .iter()
        .find(|w| w.idempotency_key.is_some())
        .expect("a keyed workflow")
        .clone();

    let mut cases: Vec<(&str, Snapshot, Ledger)> = Vec::new();
    // A re-run that stored a second artifact.
    let mut s = base.clone();
    let draft = s
        .workflows
        .iter()
        .find(|w| w.workflow_type == "generate_draft")
        .unwrap()
        .id;
    let mut extra = s
        .artifacts
        .iter()
        .find(|a| a.workflow_id == draft)
        .unwrap()
        .clone();
    extra.id = Uuid::now_v7();
    s.artifacts.push(extra);
    cases.push(("has 2 artifacts", s, ledger.clone()));
    // A transition announced twice.
    let mut s = base.clone();
    let mut dup = s
        .events
        .iter()
        .find(|e| e.kind == "workflow.completed")
        .unwrap()
        .clone();
    dup.id += 1_000_000;
    s.events.push(dup);
    cases.push(("workflow.completed events", s, ledger.clone()));
    // An approval approved that started nothing.
    let mut s = base.clone();
    let a = s
        .approvals
        .iter_mut()
        .find(|a| a.id == approved.id)
        .unwrap();
    a.next_workflow_id = None;
    cases.push(("should have started one", s, ledger.clone()));
    // A run past its attempts; a lease left behind.
    let mut s = base.clone();
    s.workflows[0].attempt = s.workflows[0].max_attempts + 1;
    s.workflows[1].status = WorkflowStatus::Running;
    s.workflows[1].lease_owner = Some("4242-gone".into());
    cases.push(("more attempts than it may", s.clone(), ledger.clone()));
    cases.push(("still running under", s, ledger.clone()));
    // Two workflows for one key, and the client told two different ids.
    let mut s = base.clone();
    let mut twin = keyed.clone();
    twin.id = Uuid::now_v7();
    s.workflows.push(twin.clone());
    let mut l = ledger.clone();
    l.runs.push(RunCall {
        key: keyed.idempotency_key.clone(),
        outcome: Outcome::Acked(RunAck {
            workflow: twin.id,
            created: true,
        }),
    });
    cases.push(("share the idempotency key", s.clone(), l.clone()));
    // An acknowledged run that is not there.
    let mut l = ledger.clone();
    l.runs.push(RunCall {
        key: None,
        outcome: Outcome::Acked(RunAck {
            workflow: Uuid::now_v7(),
            created: true,
        }),
    });
    cases.push(("is not in the database", base.clone(), l));
    // A second vote told it decided the same approval the other way.
    let mut l = ledger.clone();
    l.votes.push(VoteCall {
        approval: approved.id,
        reviewer: "sol".into(),
        choice: Choice::Reject,
        outcome: Outcome::Acked(VoteAck {
            decided: true,
            decided_by: Some("sol".into()),
            next_workflow: None,
        }),
    });
    cases.push(("was told it decided", base.clone(), l));
    // The API and SQL disagree.
    let mut s = base.clone();
    s.api_approvals.get_mut(&approved.id).unwrap().status = "PENDING".into();
    cases.push(("the API reports", s, ledger.clone()));

    let mut missed = Vec::new();
    for (needle, s, l) in &cases {
        let report = check(l, s);
        if !report.mentions(needle) {
            missed.push(format!("{needle}: {}", report.render()));
        }
    }
    assert!(
        missed.is_empty(),
        "the checker missed tampering:\n{}",
        missed.join("\n")
    );

    // And one break made in the database itself, read back through SQL: a
    // duplicated approval.decided event.
    let (sql, values) = (
        "INSERT INTO events (at, kind, workflow_id, approval_id, chain_id, actor, payload) \
         SELECT at, kind, workflow_id, approval_id, chain_id, actor, payload FROM events \
         WHERE kind = 'approval.decided' AND approval_id = $1",
        vec![approved.id.into()],
    );
    conn.execute_raw(sea_orm::Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        values,
    ))
    .await
    .expect("duplicate an event");
    let tampered = snapshot(conn, http, api, token, ledger).await;
    let report = check(ledger, &tampered);
    assert!(
        report.mentions(&format!(
            "approval {} (Approved) has 2 approval.decided events",
            approved.id
        )),
        "{}",
        report.render()
    );
}
