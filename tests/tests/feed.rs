//! The events feed on PostgreSQL, where event ids are handed out at
//! insert and not at commit: an event committed out of id order while a
//! subscriber's listener was down still reaches it, once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton::app::Overrides;
use baton::domain::events::{CHANNEL, Signal, kind};
use baton_e2e::ws::Subscription;
use baton_e2e::{Backend, TestApp, db::postgres_available};
use entity::event;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, Set, Statement, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

const T: Duration = Duration::from_secs(30);

/// Appends a `workflow.retried` event for `workflow` in `txn`, as the
/// engine would but without its notification; returns its id and its
/// transaction (the `txid` column's default).
async fn insert_event(txn: &DatabaseTransaction, workflow: Uuid) -> (i64, Option<i64>) {
    event::ActiveModel {
        id: NotSet,
        at: Set(chrono::Utc::now()),
        kind: Set(kind::WORKFLOW_RETRIED.into()),
        workflow_id: Set(Some(workflow)),
        approval_id: Set(None),
        chain_id: Set(Some(workflow)),
        actor: Set("test".into()),
        actor_role: Set(None),
        payload: Set(json!({ "type": "generate_draft" })),
        txid: NotSet,
    }
    .insert(txn)
    .await
    .map(|e| (e.id, e.txid))
    .unwrap()
}

/// The notification `events::append` sends, from another process: with
/// the event's transaction, which lets a reader drop the notice of an event
/// a resync already read (a resync may run after the commit and before the
/// notice arrives).
async fn notify(txn: &DatabaseTransaction, (id, txid): (i64, Option<i64>), workflow: Uuid) {
    let signal = Signal {
        origin: "another-process".into(),
        event_id: id,
        kind: kind::WORKFLOW_RETRIED.into(),
        workflow_id: Some(workflow),
        approval_id: None,
        chain_id: Some(workflow),
        workflow_type: Some("generate_draft".into()),
        txid,
    };
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [
            CHANNEL.into(),
            serde_json::to_string(&signal).unwrap().into(),
        ],
    ))
    .await
    .unwrap();
}

/// One event committed (with its notification) in a transaction of its own.
async fn commit_notified(db: &DatabaseConnection, workflow: Uuid) -> i64 {
    let txn = db.begin().await.unwrap();
    let event = insert_event(&txn, workflow).await;
    notify(&txn, event, workflow).await;
    txn.commit().await.unwrap();
    event.0
}

/// The backend pid of the server's LISTEN connection, once it has one
/// other than `not`.
async fn listener_pid(db: &DatabaseConnection, not: Option<i32>) -> i32 {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                  WHERE datname = current_database() AND query ILIKE 'LISTEN%' \
                  ORDER BY backend_start DESC LIMIT 1",
            ))
            .await
            .unwrap();
        if let Some(pid) = row.map(|r| r.try_get::<i32>("", "pid").unwrap())
            && Some(pid) != not
        {
            return pid;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never (re)connected its listener"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Drops the server's LISTEN connection; returns once it reconnected (a
/// reconnect tells every subscriber to resync).
async fn cut_listener(db: &DatabaseConnection) {
    let pid = listener_pid(db, None).await;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_terminate_backend($1)",
        [pid.into()],
    ))
    .await
    .unwrap();
    listener_pid(db, Some(pid)).await;
}

async fn new_workflow(app: &TestApp) -> Uuid {
    let w = app
        .run_workflow("generate_draft", json!({ "prompt": "p" }), false)
        .await;
    w["workflow"]["id"].as_str().unwrap().parse().unwrap()
}

/// The workflow id of a pushed `workflowEvents` item.
fn pushed_id(data: &Value) -> Uuid {
    data["workflowEvents"]["workflow"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_out_of_id_order_while_the_listener_was_down_reaches_the_subscriber_once()
 {
    if !postgres_available().await {
        return;
    }
    // No workers: the workflows stay pending and only the test writes events.
    let app = TestApp::spawn_with(
        Backend::Postgres,
        |c| c.engine.workers = 0,
        Overrides::default(),
    )
    .await;
    let db = app.db.connect().await;
    let w1 = new_workflow(&app).await;
    let w2 = new_workflow(&app).await;
    let w3 = new_workflow(&app).await;
    let w4 = new_workflow(&app).await;

    let mut sub: Subscription = app
        .subscribe(
            "subscription { workflowEvents(type: \"generate_draft\") { kind workflow { id } } }",
            json!({}),
        )
        .await;
    // Wait until the subscription is live: workflows created from now on
    // are pushed (their `CREATED` events), the first one proves it.
    let mut live = false;
    for _ in 0..40 {
        let probe = new_workflow(&app).await;
        if sub
            .next_matching(Duration::from_millis(500), |d| pushed_id(d) == probe)
            .await
            .is_some()
        {
            live = true;
            break;
        }
    }
    assert!(live, "the subscription never went live");
    while sub.next(Duration::from_millis(300)).await.is_some() {}

    // T1 takes the lower id and stays open; T2 takes a higher one and commits.
    let t1 = db.begin().await.unwrap();
    let (id1, _) = insert_event(&t1, w1).await;
    let id2 = commit_notified(&db, w2).await;
    assert!(id1 < id2);
    let first = sub.next(T).await.expect("T2's event is pushed");
    assert_eq!(pushed_id(&first), w2);
    assert_eq!(first["workflowEvents"]["kind"], "RETRIED");

    // A resync while T1 is still open must not move past it.
    cut_listener(&db).await;
    commit_notified(&db, w3).await;
    let third = sub.next(T).await.expect("T3's event is pushed");
    assert_eq!(pushed_id(&third), w3, "T2 again or something else: {third}");

    // T1 commits without a notification reaching the listener (as if it
    // was down); the next reconnect's resync must find it.
    t1.commit().await.unwrap();
    cut_listener(&db).await;
    commit_notified(&db, w4).await;

    let mut rest = Vec::new();
    while let Some(d) = sub.next(Duration::from_secs(3)).await {
        rest.push(pushed_id(&d));
        if rest.contains(&w4) && rest.contains(&w1) {
            break;
        }
    }
    // Anything still queued (a duplicate) would come right behind.
    while let Some(d) = sub.next(Duration::from_millis(800)).await {
        rest.push(pushed_id(&d));
    }
    assert_eq!(
        rest.iter().filter(|w| **w == w1).count(),
        1,
        "T1's event exactly once: {rest:?} (w1 {w1}, w4 {w4})"
    );
    assert_eq!(rest.iter().filter(|w| **w == w4).count(), 1, "{rest:?}");
    assert!(
        !rest.contains(&w2) && !rest.contains(&w3),
        "no event twice: {rest:?}"
    );
    // T1's event is found by the resync that followed the reconnect, so it
    // comes before the marker committed after that reconnect.
    assert_eq!(rest, vec![w1, w4]);
    app.stop().await;
}
