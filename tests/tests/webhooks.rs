//! Webhooks end to end: a receiver on loopback verifies every delivery's
//! Standard Webhooks signature with its own implementation of the
//! algorithm; failures are retried with the same id; filters, rotation,
//! dead deliveries and redelivery; and nothing is lost when the receiver
//! and Baton itself are down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton::app::Overrides;
use baton_e2e::app::{post_graphql_as, seed_admin};
use baton_e2e::process::ServerProcess;
use baton_e2e::{Backend, TestApp, TestDb, both_backends, gql_error_code};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const T: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Value,
    raw: Vec<u8>,
}

/// A webhook receiver on loopback: answers from a script (then 200), and
/// keeps what it got.
#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<u16>>,
    always: Mutex<Option<u16>>,
    got: Mutex<Vec<Received>>,
    delay: Mutex<Duration>,
}

impl Receiver {
    async fn start(addr: SocketAddr) -> (Arc<Receiver>, SocketAddr, tokio::task::JoinHandle<()>) {
        let me = Arc::new(Receiver::default());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(me.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (me, addr, task)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} deliveries arrived: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let delay = *r.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    r.got.lock().unwrap().push(Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body.to_vec(),
    });
    let code = r
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or(*r.always.lock().unwrap())
        .unwrap_or(200);
    StatusCode::from_u16(code).unwrap()
}

/// The receiver's side of the Standard Webhooks specification, written
/// here from the spec: the signed content is `{id}.{timestamp}.{body}`, the
/// key the base64 after `whsec_`, each `v1,` signature a base64 HMAC-SHA256;
/// the timestamp must be within five minutes (replays are refused).
fn verifies(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.raw);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let ts: i64 = r.timestamp.parse().unwrap();
    let fresh = (chrono::Utc::now().timestamp() - ts).abs() <= 300;
    fresh
        && r.signature
            .split(' ')
            .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

async fn create_webhook(
    app: &TestApp,
    url: &str,
    events: &[&str],
    types: Option<&[&str]>,
) -> (String, String) {
    let data = app
        .gql_ok(
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret webhook { id events workflowTypes active } } }",
            json!({ "i": { "url": url, "events": events, "workflowTypes": types } }),
        )
        .await;
    let p = &data["createWebhook"];
    assert_eq!(p["webhook"]["events"], json!(events));
    (
        p["webhook"]["id"].as_str().unwrap().to_string(),
        p["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let data = app
        .gql_ok(
            "query($w: ID!) { deliveries(filter: {webhookId: $w}, first: 100) { edges { node {
                id eventType status attempts lastStatus lastError nextAttemptAt deliveredAt payload } } } }",
            json!({ "w": webhook }),
        )
        .await;
    data["deliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn draft() -> Value {
    json!({ "story_id": "s", "scene": "x", "prompt": "Mara finds a letter." })
}

both_backends! {
    async fn a_signed_approval_event_is_retried_with_the_same_id_until_the_receiver_takes_it(backend: Backend) {
        let (receiver, addr, _r) = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
        receiver.script.lock().unwrap().extend([500, 500]);
        let app = TestApp::spawn(backend).await;
        let (hook, secret) = create_webhook(&app, &format!("http://{addr}/hook"), &["approval.created"], None).await;
        let run = app.run_workflow("generate_draft", draft(), true).await;
        let approval = run["approval"]["id"].as_str().unwrap().to_string();

        let got = receiver.wait_for(3).await;
        assert_eq!(got.len(), 3, "two failures, then delivered: {got:#?}");
        let ids: BTreeSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 1, "one webhook-id throughout");
        for r in &got {
            assert!(verifies(&secret, r), "the signature verifies: {r:?}");
            assert!(!verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", r), "and only with the webhook's secret");
        }
        let body = &got[2].body;
        assert_eq!(body["type"], "approval.created");
        assert_eq!(body["data"]["approval_id"], approval.as_str());
        assert_eq!(body["data"]["workflow_type"], "generate_draft");
        assert_eq!(body["data"]["review_path"], format!("/approvals/{approval}"));
        assert!(body["timestamp"].is_string());

        let deadline = tokio::time::Instant::now() + T;
        let log = loop {
            let log = deliveries(&app, &hook).await;
            if log[0]["status"] == "DELIVERED" {
                break log;
            }
            assert!(tokio::time::Instant::now() < deadline, "{log:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["id"], got[0].id.as_str(), "the log's id is the webhook-id");
        assert_eq!(log[0]["attempts"], 3);
        assert_eq!(log[0]["lastStatus"], 200);
        assert!(log[0]["deliveredAt"].is_string());
        app.stop().await;
    }
}

both_backends! {
    async fn a_webhook_gets_only_the_events_and_types_it_names(backend: Backend) {
        let (receiver, addr, _r) = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
        let app = TestApp::spawn(backend).await;
        let url = format!("http://{addr}/hook");
        let (all, _) = create_webhook(&app, &url, &["approval.created", "approval.decided"], None).await;
        let (experiments, _) = create_webhook(&app, &url, &["approval.decided"], Some(&["run_experiment"])).await;
        let run = app.run_workflow("generate_draft", draft(), true).await;
        let decided = app.approve(run["approval"]["id"].as_str().unwrap(), None).await;
        assert!(decided.get("errors").is_none(), "{decided}");

        // Deliveries are written with their events: they exist as soon as
        // the mutation answered.
        let kinds: BTreeSet<String> = deliveries(&app, &all)
            .await
            .iter()
            .map(|d| d["eventType"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, BTreeSet::from(["approval.created".to_string(), "approval.decided".to_string()]));
        assert!(deliveries(&app, &experiments).await.is_empty(), "a draft is not an experiment");
        let got = receiver.wait_for(2).await;
        assert!(got.iter().any(|r| r.body["type"] == "approval.decided" && r.body["data"]["details"]["decision"] == "approved"));

        // Bad definitions are refused, naming the field.
        for (input, field) in [
            (json!({ "url": "ftp://x", "events": ["approval.created"] }), "input.url"),
            (json!({ "url": url, "events": [] }), "input.events"),
            (json!({ "url": url, "events": ["approval.maybe"] }), "input.events[0]"),
            (json!({ "url": url, "events": ["approval.created"], "workflowTypes": ["nope"] }), "input.workflowTypes[0]"),
        ] {
            let body = app
                .gql("mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret } }", json!({ "i": input }))
                .await;
            assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{input}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}");
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_beside_the_old_one_until_it_expires() {
    let (receiver, addr, _r) = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (hook, old) = create_webhook(
        &app,
        &format!("http://{addr}/hook"),
        &["approval.created"],
        None,
    )
    .await;
    let rotated = app
        .gql_ok(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id, previousValidForSeconds: 3600) { secret webhook { previousSecretValidUntil } } }",
            json!({ "id": hook }),
        )
        .await;
    let new = rotated["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    let sent = app
        .gql_ok(
            "mutation($id: ID!) { sendTestWebhook(id: $id) { id eventType } }",
            json!({ "id": hook }),
        )
        .await;
    assert_eq!(sent["sendTestWebhook"]["eventType"], "webhook.test");
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].body["type"], "webhook.test");
    assert_eq!(
        got[0].signature.split(' ').count(),
        2,
        "{}",
        got[0].signature
    );
    assert!(
        verifies(&old, &got[0]) && verifies(&new, &got[0]),
        "either secret verifies during the rotation"
    );

    // Rotated again with no overlap: only the newest secret signs.
    let newest = app
        .gql_ok(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id, previousValidForSeconds: 0) { secret } }",
            json!({ "id": hook }),
        )
        .await["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    app.gql_ok(
        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
        json!({ "id": hook }),
    )
    .await;
    let got = receiver.wait_for(2).await;
    assert!(verifies(&newest, &got[1]));
    assert!(!verifies(&new, &got[1]) && !verifies(&old, &got[1]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_dies_and_an_admin_can_redeliver_it() {
    let (receiver, addr, _r) = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
    *receiver.always.lock().unwrap() = Some(503);
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.delivery.max_attempts = 3,
        Overrides::default(),
    )
    .await;
    let (hook, secret) = create_webhook(
        &app,
        &format!("http://{addr}/hook"),
        &["approval.created"],
        None,
    )
    .await;
    app.run_workflow("generate_draft", draft(), true).await;
    let deadline = tokio::time::Instant::now() + T;
    let dead = loop {
        let log = deliveries(&app, &hook).await;
        if log.first().is_some_and(|d| d["status"] == "DEAD") {
            break log[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{log:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["lastStatus"], 503);
    assert!(
        dead["lastError"].as_str().unwrap().contains("503"),
        "{dead}"
    );
    assert!(dead["nextAttemptAt"].is_null());
    assert_eq!(receiver.got().len(), 3);

    *receiver.always.lock().unwrap() = None;
    let id = dead["id"].as_str().unwrap().to_string();
    // Nowhere to send it while its webhook is disabled.
    let toggle = |on: bool| {
        app.gql_ok(
            "mutation($id: ID!, $a: Boolean!) { updateWebhook(id: $id, input: {active: $a}) { active } }",
            json!({ "id": hook, "a": on }),
        )
    };
    toggle(false).await;
    let refused = app
        .gql(
            "mutation($id: ID!) { redeliver(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(gql_error_code(&refused), "CONFLICT", "{refused}");
    let test = app
        .gql(
            "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
            json!({ "id": hook }),
        )
        .await;
    assert_eq!(gql_error_code(&test), "CONFLICT", "{test}");
    toggle(true).await;
    let again = app
        .gql_ok(
            "mutation($id: ID!) { redeliver(id: $id) { status attempts } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        again["redeliver"],
        json!({ "status": "PENDING", "attempts": 0 })
    );
    let got = receiver.wait_for(4).await;
    assert_eq!(got[3].id, id, "redelivered with the same id");
    assert!(verifies(&secret, &got[3]));
    let deadline = tokio::time::Instant::now() + T;
    while deliveries(&app, &hook).await[0]["status"] != "DELIVERED" {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let twice = app
        .gql(
            "mutation($id: ID!) { redeliver(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        gql_error_code(&twice),
        "CONFLICT",
        "only dead deliveries are redelivered"
    );
    app.stop().await;
}

/// Approval events the receiver got, by approval id, after dropping
/// repeats by `webhook-id` (as a receiver would).
fn approvals_received(got: &[Received], secret: &str) -> (usize, BTreeSet<String>) {
    let mut ids = BTreeSet::new();
    let mut approvals = BTreeSet::new();
    for r in got {
        assert!(verifies(secret, r), "every delivery verifies: {r:?}");
        if ids.insert(r.id.clone()) && r.body["type"] == "approval.created" {
            approvals.insert(r.body["data"]["approval_id"].as_str().unwrap().to_string());
        }
    }
    (ids.len(), approvals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_receiver_is_down_and_baton_is_killed_mid_dispatch() {
    if !baton_e2e::db::postgres_available().await {
        return;
    }
    const N: usize = 100;
    let db = TestDb::create(Backend::Postgres).await;
    let admin = seed_admin(&db.url).await;
    // A port nobody listens on yet: the receiver is down.
    let spare = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_addr = spare.local_addr().unwrap();
    drop(spare);
    let env = [
        ("BATON_DELIVERY_RETRY_BASE_MS", "100"),
        ("BATON_DELIVERY_MAX_ATTEMPTS", "100"),
        ("BATON_DELIVERY_TIMEOUT_SECS", "1"),
    ];
    let first = ServerProcess::start(&db.url, &env).await;
    let http = reqwest::Client::new();
    let gql = |server: &ServerProcess, q: &str, v: Value| {
        let (http, url, admin, q) = (
            http.clone(),
            server.url("/graphql"),
            admin.clone(),
            q.to_string(),
        );
        async move { post_graphql_as(&http, &url, Some(&admin), &q, v).await }
    };
    let created = gql(
        &first,
        "mutation($u: String!) { createWebhook(input: {url: $u, events: [\"approval.created\"]}) { secret } }",
        json!({ "u": format!("http://{receiver_addr}/hook") }),
    )
    .await;
    let secret = created["data"]["createWebhook"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..N {
        let body = gql(
            &first,
            "mutation($i: JSON!) { runWorkflow(input: {type: \"generate_draft\", input: $i}) { workflow { id } } }",
            json!({ "i": { "story_id": "s", "scene": format!("scene-{i}"), "prompt": "Mara finds a letter." } }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let counts = gql(&first, "{ pendingApprovalCounts { count } }", json!({})).await;
        let n: i64 = counts["data"]["pendingApprovalCounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .sum();
        if n as usize == N {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} of {N} approvals"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Mid-dispatch: deliveries are being attempted (and failing).
    first.kill().await;

    let (receiver, _, _r) = Receiver::start(receiver_addr).await;
    *receiver.delay.lock().unwrap() = Duration::from_millis(5);
    let second = ServerProcess::start(&db.url, &env).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let (unique, approvals) = loop {
        let (unique, approvals) = approvals_received(&receiver.got(), &secret);
        if approvals.len() == N {
            break (unique, approvals);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {N} approvals arrived",
            approvals.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(unique, N, "each delivery id once after deduplication");
    let conn = db.connect().await;
    let rows = sea_orm::ConnectionTrait::query_all_raw(
        &conn,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT id::text AS id FROM approvals".to_string(),
        ),
    )
    .await
    .unwrap();
    let in_db: BTreeSet<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "id").unwrap())
        .collect();
    assert_eq!(approvals, in_db, "every approval was told");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let log = gql(&second, "{ dead: deliveries(filter: {status: DEAD}) { edges { node { id } } } pending: deliveries(filter: {status: PENDING}) { edges { node { id } } } }", json!({})).await;
        assert_eq!(
            log["data"]["dead"]["edges"].as_array().unwrap().len(),
            0,
            "nothing dead"
        );
        if log["data"]["pending"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.terminate().await;
}

/// The receiver code the README shows, run as it stands against a real
/// delivery (and a tampered one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_python_receiver_verifies_a_real_delivery() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let after = readme
        .split("<!-- verify-webhook.py -->")
        .nth(1)
        .expect("the README marks its receiver");
    let snippet = after
        .split("```python\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a python block after the marker");

    let (receiver, addr, _r) = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (hook, secret) = create_webhook(
        &app,
        &format!("http://{addr}/hook"),
        &["approval.created"],
        None,
    )
    .await;
    app.gql_ok(
        "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }",
        json!({ "id": hook }),
    )
    .await;
    let got = receiver.wait_for(1).await.remove(0);
    let mut tampered = got.raw.clone();
    tampered.extend_from_slice(b" ");
    let cases = json!([
        { "body": STANDARD.encode(&got.raw), "secret": secret },
        { "body": STANDARD.encode(&tampered), "secret": secret },
        { "body": STANDARD.encode(&got.raw), "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
    ]);
    let headers = json!({
        "webhook-id": got.id, "webhook-timestamp": got.timestamp, "webhook-signature": got.signature,
    });
    let harness = format!(
        "{snippet}\nimport json, sys\nheaders = json.loads(sys.argv[1])\nfor c in json.loads(sys.argv[2]):\n    print(verify(c['secret'], headers, base64.b64decode(c['body'])))\n"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &harness, &headers.to_string(), &cases.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["True", "False", "False"],
        "authentic, tampered body, wrong secret"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_channel_gets_a_block_kit_message_with_a_review_button() {
    let (receiver, addr, _r) = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app
        .gql_ok(
            "mutation($u: String!) { createWebhook(input: {url: $u, kind: SLACK, events: [\"approval.created\"]}) { webhook { id kind } } }",
            json!({ "u": format!("http://{addr}/hook") }),
        )
        .await;
    assert_eq!(created["createWebhook"]["webhook"]["kind"], "SLACK");
    let run = app.run_workflow("generate_draft", draft(), true).await;
    let approval = run["approval"]["id"].as_str().unwrap();
    let got = receiver.wait_for(1).await.remove(0);
    let m = &got.body;
    assert_eq!(
        m["text"], "Review needed: draft from generate_draft",
        "{m:#}"
    );
    let blocks = m["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let fields = blocks[1]["fields"].to_string();
    assert!(
        fields.contains("Score") && fields.contains("/ 100") && fields.contains("generate_draft"),
        "{fields}"
    );
    let button = &blocks[2]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(
        button["url"],
        format!("http://{}/approvals/{approval}", app.address)
    );
    assert!(
        got.signature.is_empty(),
        "Slack gets no Standard Webhooks headers"
    );
    // The channel's URL is a credential: the audit trail keeps its host only.
    let conn = app.db.connect().await;
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &conn,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(&conn),
            "SELECT payload FROM events WHERE kind = 'webhook.created'".to_string(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let payload: Value = row.try_get("", "payload").unwrap();
    assert_eq!(payload["url"], "http://127.0.0.1/…");
    app.stop().await;
}
