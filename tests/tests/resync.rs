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
use serde_json::json;

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
