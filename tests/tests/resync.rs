//! Notifications are hints: a subscriber that missed one is re-synced from
//! the events table when its process is told to resync (as the PostgreSQL
//! listener does after every reconnect).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton::app::{Overrides, build_state};
use baton::domain::Principal;
use baton::domain::workflows::{self, Submission};
use baton::engine::worker::{ExecutionOutcome, Worker};
use baton_e2e::app::test_config;
use baton_e2e::{Backend, TestApp};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_missed_a_notification_is_resynced_from_the_events_table() {
    // The served process runs no workers and never hears the other one:
    // on SQLite there is no LISTEN/NOTIFY between processes.
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.engine.workers = 0,
        Overrides::default(),
    )
    .await;
    let mut completed = app
        .subscribe(
            "subscription { workflowCompleted { id status } }",
            json!({}),
        )
        .await;
    // Give the server a moment to register the subscription.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A second process-like state on the same database does the work.
    let mut config = test_config(&app.db.url);
    config.engine.workers = 0;
    let other = build_state(config, Overrides::default()).await.unwrap();
    let cli = Principal::cli();
    let submitted = workflows::submit(
        &other.db,
        &other.catalog,
        &other.stamp(&cli),
        &cli,
        Submission {
            workflow_type: "generate_draft".into(),
            input: json!({ "prompt": "p" }),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let claim = baton::domain::runs::claim(
        &other.db,
        "other",
        &other.registry.names(),
        other.clock.now(),
        Duration::from_secs(30),
        1,
    )
    .await
    .unwrap()
    .pop()
    .unwrap();
    assert_eq!(
        Worker::run_one(&other, claim).await,
        ExecutionOutcome::Completed
    );

    // Nothing was pushed: the served process never heard of it.
    assert!(completed.next(Duration::from_millis(500)).await.is_none());

    // A resync (what a listener reconnect triggers) delivers it from the table.
    app.state.hub.resync();
    let pushed = completed
        .next(Duration::from_secs(10))
        .await
        .expect("delivered after resync");
    assert_eq!(
        pushed["workflowCompleted"]["id"],
        submitted.workflow.id.to_string()
    );
    assert_eq!(pushed["workflowCompleted"]["status"], "COMPLETED");
    // And only once.
    app.state.hub.resync();
    assert!(completed.next(Duration::from_millis(500)).await.is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_wait_returns_the_workflow_as_it_is() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.engine.workers = 0,
        Overrides::default(),
    )
    .await;
    let body = app
        .gql_ok(
            "mutation { runWorkflow(input: { type: \"generate_draft\", input: { prompt: \"p\" }, wait: true, waitTimeoutMs: 300 }) { workflow { status } approval { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["runWorkflow"]["workflow"]["status"], "PENDING");
    assert!(body["runWorkflow"]["approval"].is_null());
    app.stop().await;
}

/// What `baton_subscription_loads_total{subject="…"}` has counted so far.
fn loads(app: &TestApp, subject: &str) -> f64 {
    let text = app.state.metrics.render(&[]);
    let prefix = format!("baton_subscription_loads_total{{subject=\"{subject}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Runs a `generate_draft` in `state`'s process (never published to the
/// served one) and returns its id.
async fn complete_elsewhere(other: &baton::state::AppState) -> String {
    let cli = Principal::cli();
    let submitted = workflows::submit(
        &other.db,
        &other.catalog,
        &other.stamp(&cli),
        &cli,
        Submission {
            workflow_type: "generate_draft".into(),
            input: json!({ "prompt": "p" }),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let claim = baton::domain::runs::claim(
        &other.db,
        "other",
        &other.registry.names(),
        other.clock.now(),
        Duration::from_secs(30),
        1,
    )
    .await
    .unwrap()
    .pop()
    .unwrap();
    assert_eq!(
        Worker::run_one(other, claim).await,
        ExecutionOutcome::Completed
    );
    submitted.workflow.id.to_string()
}

fn completed_id(data: &Value) -> String {
    data["workflowCompleted"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const COMPLETED: &str =
    "subscription { workflowCompleted(type: \"generate_draft\") { id status } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_loads_its_workflow_once_however_many_subscribe() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut subs = Vec::new();
    for _ in 0..25 {
        subs.push(app.subscribe(COMPLETED, json!({})).await);
    }
    // Every subscriber is registered once each has received a first
    // completion (a subscribe is read asynchronously).
    loop {
        let w = app
            .run_workflow("generate_draft", json!({ "prompt": "first" }), true)
            .await;
        let first = w["workflow"]["id"].as_str().unwrap().to_string();
        let mut all = true;
        for s in &mut subs {
            // A subscriber that was not registered yet gets nothing.
            match s.next(Duration::from_secs(2)).await {
                Some(d) => assert_eq!(completed_id(&d), first),
                None => all = false,
            }
        }
        if all {
            break;
        }
    }
    let before = loads(&app, "workflow");

    let mut ids = Vec::new();
    for i in 0..3 {
        let w = app
            .run_workflow("generate_draft", json!({ "prompt": format!("p{i}") }), true)
            .await;
        ids.push(w["workflow"]["id"].as_str().unwrap().to_string());
    }
    for s in &mut subs {
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(completed_id(
                &s.next(Duration::from_secs(10)).await.expect("a completion"),
            ));
        }
        assert_eq!(got, ids);
    }
    // One read per completion, not one per subscriber and completion.
    assert_eq!(loads(&app, "workflow") - before, 3.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_subscribers_each_get_every_missed_event_once_after_a_resync() {
    // As in the test above: the served process never hears the other one.
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.engine.workers = 0,
        Overrides::default(),
    )
    .await;
    let mut config = test_config(&app.db.url);
    config.engine.workers = 0;
    let other = build_state(config, Overrides::default()).await.unwrap();
    let mut subs = Vec::new();
    for _ in 0..20 {
        subs.push(app.subscribe(COMPLETED, json!({})).await);
    }
    // Registered (each caught up on one completion) before the test proper.
    loop {
        let first = complete_elsewhere(&other).await;
        app.state.hub.resync();
        let mut all = true;
        for s in &mut subs {
            match s.next(Duration::from_secs(2)).await {
                Some(d) => assert_eq!(completed_id(&d), first),
                None => all = false,
            }
        }
        if all {
            break;
        }
    }
    let before = loads(&app, "workflow");

    let mut missed = Vec::new();
    for _ in 0..4 {
        missed.push(complete_elsewhere(&other).await);
    }
    // Two resyncs back to back: the second finds nothing new.
    app.state.hub.resync();
    app.state.hub.resync();
    for s in &mut subs {
        let mut got = Vec::new();
        for _ in 0..missed.len() {
            got.push(completed_id(
                &s.next(Duration::from_secs(10))
                    .await
                    .expect("a missed completion"),
            ));
        }
        assert_eq!(got, missed, "every missed completion, in order, once");
        assert!(
            s.next(Duration::from_millis(300)).await.is_none(),
            "nothing twice"
        );
    }
    // Twenty subscribers caught up on four events: four reads.
    assert_eq!(loads(&app, "workflow") - before, 4.0);
    app.stop().await;
}
