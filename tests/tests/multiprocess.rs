//! Several processes on one PostgreSQL: what one finishes reaches a
//! subscriber connected to another.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton_e2e::process::ServerProcess;
use baton_e2e::ws::Subscription;
use baton_e2e::{Backend, TestDb};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_finished_by_one_process_reaches_a_subscriber_of_another() {
    if !baton_e2e::db::postgres_available().await {
        return;
    }
    let db = TestDb::create(Backend::Postgres).await;
    let token = baton_e2e::app::seed_admin(&db.url).await;
    // A serves the API only; B only runs workflows. Whatever A's subscriber
    // hears was committed by B and crossed over LISTEN/NOTIFY.
    let api = ServerProcess::start(&db.url, &[("BATON_WORKERS", "0")]).await;
    let runner = ServerProcess::start(
        &db.url,
        &[("BATON_WORKERS", "2"), ("BATON_POLL_MS", "60000")],
    )
    .await;

    let ws = format!("ws://{}/graphql", api.address);
    let mut completed = Subscription::open(
        &ws,
        Some(&token),
        "subscription { workflowCompleted { id status } }",
        json!({}),
    )
    .await;
    let mut approvals = Subscription::open(
        &ws,
        Some(&token),
        "subscription { approvalEvents { kind approval { id } } }",
        json!({}),
    )
    .await;

    let http = reqwest::Client::new();
    let run = baton_e2e::app::post_graphql_as(
        &http,
        &api.url("/graphql"),
        Some(&token),
        "mutation { runWorkflow(input: { type: \"generate_draft\", input: { prompt: \"across processes\" } }) { workflow { id } } }",
        json!({}),
    )
    .await;
    let id = run["data"]["runWorkflow"]["workflow"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // B's poll interval is a minute: it can only have started this quickly
    // because A's commit woke it through NOTIFY.
    let pushed = completed
        .next(Duration::from_secs(20))
        .await
        .expect("completion pushed to A's subscriber");
    assert_eq!(pushed["workflowCompleted"]["id"], id.as_str());
    assert_eq!(pushed["workflowCompleted"]["status"], "COMPLETED");
    let created = approvals
        .next(Duration::from_secs(20))
        .await
        .expect("approval pushed to A's subscriber");
    assert_eq!(created["approvalEvents"]["kind"], "CREATED");

    runner.terminate().await;
    api.terminate().await;
}

baton_e2e::both_backends! {
    async fn a_worker_process_runs_what_an_api_only_server_accepts(backend: Backend) {
        let db = TestDb::create(backend).await;
        // `baton migrate` alone prepares the database.
        let migrated = std::process::Command::new(baton_e2e::process::baton_bin())
            .arg("migrate")
            .env("BATON_DATABASE_URL", &db.url)
            .env("BATON_LOG", "warn")
            .status()
            .unwrap();
        assert!(migrated.success());
        let token = baton_e2e::app::seed_admin(&db.url).await;
        let api = ServerProcess::start(&db.url, &[("BATON_WORKERS", "0")]).await;
        let worker = baton_e2e::process::WorkerProcess::start(&db.url, &[("BATON_WORKERS", "2")]).await;
        let http = reqwest::Client::new();
        let run = baton_e2e::app::post_graphql_as(
            &http,
            &api.url("/graphql"),
            Some(&token),
            "mutation { runWorkflow(input: { type: \"generate_draft\", input: { prompt: \"p\" } }, ) { workflow { id } } }",
            json!({}),
        )
        .await;
        let id = run["data"]["runWorkflow"]["workflow"]["id"].as_str().unwrap().to_string();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let body = baton_e2e::app::post_graphql_as(
                &http,
                &api.url("/graphql"),
                Some(&token),
                "query($id: ID!) { workflow(id: $id) { status approval { id } } }",
                json!({ "id": id }),
            )
            .await;
            if body["data"]["workflow"]["status"] == "COMPLETED" {
                assert!(body["data"]["workflow"]["approval"]["id"].is_string());
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the worker never ran it: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(worker.terminate().await.success());
        api.terminate().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_workers_long_poll_on_one_process_is_woken_by_work_submitted_to_another() {
    if !baton_e2e::db::postgres_available().await {
        return;
    }
    let db = TestDb::create(Backend::Postgres).await;
    let admin = baton_e2e::app::seed_admin(&db.url).await;
    // The worker long-polls A, whose poll fallback is a minute away; the
    // workflow is submitted to B. Only B's NOTIFY can wake A in time.
    let a = ServerProcess::start(
        &db.url,
        &[("BATON_WORKERS", "0"), ("BATON_POLL_MS", "60000")],
    )
    .await;
    let b = ServerProcess::start(&db.url, &[("BATON_WORKERS", "0")]).await;
    let http = reqwest::Client::new();
    let gql = |server: &ServerProcess, token: &str, query: &str, vars: serde_json::Value| {
        let (http, url, token, query) = (
            http.clone(),
            server.url("/graphql"),
            token.to_string(),
            query.to_string(),
        );
        async move { baton_e2e::app::post_graphql_as(&http, &url, Some(&token), &query, vars).await }
    };
    let declared = gql(
        &b,
        &admin,
        "mutation { declareWorkflowType(input: {name: \"relay\", inputSchema: {type: \"object\"}, requiresApproval: false}) { version } }",
        json!({}),
    )
    .await;
    assert_eq!(
        declared["data"]["declareWorkflowType"]["version"], 1,
        "{declared:#}"
    );
    let token = gql(
        &b,
        &admin,
        "mutation { createToken(input: {name: \"w\", role: SUBMITTER, serviceName: \"w\"}) { secret } }",
        json!({}),
    )
    .await["data"]["createToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();

    let started = std::time::Instant::now();
    let poll = tokio::spawn(gql(
        &a,
        &token,
        "mutation { claimWorkflows(types: [\"relay\"], waitSeconds: 25) { handle workflow { id } } }",
        json!({}),
    ));
    // Let A's claim find nothing and start waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let run = gql(
        &b,
        &admin,
        "mutation { runWorkflow(input: {type: \"relay\", input: {}}) { workflow { id } } }",
        json!({}),
    )
    .await;
    let id = run["data"]["runWorkflow"]["workflow"]["id"].clone();
    let claimed = poll.await.unwrap();
    assert_eq!(
        claimed["data"]["claimWorkflows"][0]["workflow"]["id"], id,
        "{claimed:#}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "woken by NOTIFY, not a poll: {:?}",
        started.elapsed()
    );
    a.terminate().await;
    b.terminate().await;
}
