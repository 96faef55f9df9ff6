//! Failure paths: a worker killed mid-run, a lost lease, a failing or
//! misbehaving model, cancellation of a running workflow, SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use baton::app::{Overrides, build_state};
use baton::clock::{Clock, ManualClock};
use baton::domain::runs::{self, Change, FinishError};
use baton::domain::{Principal, workflows};
use baton::engine::{ApprovalRequest, Outcome};
use baton_e2e::app::{post_graphql_as, seed_admin, test_config};
use baton_e2e::fake_llm::{FakeLlm, Reply};
use baton_e2e::process::ServerProcess;
use baton_e2e::{TestApp, TestDb, both_backends, gql_error_code};
use entity::{approval, artifact, llm_call, workflow};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

async fn status_of(http: &reqwest::Client, url: &str, token: &str, id: &str) -> Value {
    let body = post_graphql_as(
        http,
        url,
        Some(token),
        "query($id: ID!) { workflow(id: $id) { status attempt error } }",
        json!({ "id": id }),
    )
    .await;
    body["data"]["workflow"].clone()
}

async fn wait_status(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    id: &str,
    want: &str,
) -> Value {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let w = status_of(http, url, token, id).await;
        if w["status"] == want {
            return w;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never became {want}: {w}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a `generate_draft` on `server` and returns its id once a worker
/// has claimed it.
async fn start_draft_and_wait_until_running(
    http: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    prompt: &str,
) -> String {
    let run = post_graphql_as(
        http,
        &server.url("/graphql"),
        Some(token),
        "mutation($prompt: String!) { runWorkflow(input: { type: \"generate_draft\", input: { prompt: $prompt } }) { workflow { id } } }",
        json!({ "prompt": prompt }),
    )
    .await;
    let id = run["data"]["runWorkflow"]["workflow"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("runWorkflow failed: {run}"))
        .to_string();
    wait_status(http, &server.url("/graphql"), token, &id, "RUNNING").await;
    id
}

both_backends! {
    async fn a_worker_killed_mid_run_loses_nothing_and_the_rerun_completes_once(backend: Backend) {
        // Each model call takes 1 s, so the run is surely in flight when killed.
        let llm = FakeLlm::start(|req, _| Reply::sensible(req).after(Duration::from_millis(1000))).await;
        let db = TestDb::create(backend).await;
        let token = seed_admin(&db.url).await;
        let env = [
            ("BATON_LLM_BASE_URL", llm.base_url()),
            ("BATON_LEASE_SECS", "2".to_string()),
            ("BATON_DRAFT_CANDIDATES", "1".to_string()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let first = ServerProcess::start(&db.url, &env).await;
        let http = reqwest::Client::new();
        let id = start_draft_and_wait_until_running(&http, &first, &token, "kill me").await;
        first.kill().await;

        // A new process takes over once the dead worker's lease expires.
        let second = ServerProcess::start(&db.url, &env).await;
        let done = wait_status(&http, &second.url("/graphql"), &token, &id, "COMPLETED").await;
        assert_eq!(done["attempt"], 2, "the killed attempt counts: {done}");

        let conn = db.connect().await;
        let wid: uuid::Uuid = id.parse().unwrap();
        let approvals = approval::Entity::find().filter(approval::Column::WorkflowId.eq(wid)).count(&conn).await.unwrap();
        let artifacts = artifact::Entity::find().filter(artifact::Column::WorkflowId.eq(wid)).count(&conn).await.unwrap();
        assert_eq!((approvals, artifacts), (1, 1), "one output, one approval");
        let row = workflow::Entity::find_by_id(wid).one(&conn).await.unwrap().unwrap();
        assert!(row.output.is_some() && row.lease_owner.is_none());
        // Model calls are at-least-once: the killed attempt's calls are logged too.
        let second_attempt_calls = llm_call::Entity::find()
            .filter(llm_call::Column::WorkflowId.eq(wid))
            .filter(llm_call::Column::Attempt.eq(2))
            .count(&conn)
            .await
            .unwrap();
        assert_eq!(second_attempt_calls, 2, "draft + judge in the completing attempt");
        second.terminate().await;
    }
}

/// A workflow outcome with an approval, as a worker would store it.
fn outcome() -> Outcome {
    Outcome {
        output: json!({ "ok": true }),
        artifact: None,
        approval: Some(ApprovalRequest::default()),
    }
}

both_backends! {
    async fn a_worker_that_lost_its_lease_cannot_overwrite_the_new_owner(backend: Backend) {
        let db = TestDb::create(backend).await;
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let mut config = test_config(&db.url);
        config.engine.workers = 0;
        let lease = config.engine.lease;
        let state = build_state(config, Overrides { clock: Some(clock.clone()), ..Default::default() })
            .await
            .unwrap();
        let stamp = state.stamp(&Principal::cli());
        let (w, _) = workflows::insert(
            &state.db,
            &stamp,
            workflows::NewWorkflow {
                workflow_type: "generate_draft".into(),
                type_version: None,
                input: json!({ "prompt": "p" }),
                idempotency_key: None,
                chain_id: None,
                triggered_by_approval_id: None,
                max_attempts: 3,
                parent_id: None,
            },
        )
        .await
        .unwrap();

        let types = state.registry.names();
        let a = runs::claim(&state.db, "worker-a", &types, clock.now(), lease, 10).await.unwrap();
        assert_eq!(a.len(), 1);
        let a = a.into_iter().next().unwrap();
        assert_eq!((a.id, a.attempt, a.fence), (w.id, 1, 1));
        // A live lease is not claimable.
        assert!(runs::claim(&state.db, "worker-b", &types, clock.now(), lease, 10).await.unwrap().is_empty());

        // A stalls past its lease; B reclaims with a new fencing token.
        clock.advance(chrono::TimeDelta::from_std(lease).unwrap() + chrono::TimeDelta::seconds(1));
        let b = runs::claim(&state.db, "worker-b", &types, clock.now(), lease, 10).await.unwrap();
        let b = b.into_iter().next().expect("the expired lease is claimable");
        assert_eq!((b.id, b.attempt, b.fence), (w.id, 2, 2));

        let wf = state.registry.get("generate_draft").unwrap().as_ref();
        let writes = baton::engine::OnComplete(wf);
        let system = state.stamp(&Principal::system());
        // Every write A tries is refused.
        let until = clock.now() + chrono::TimeDelta::from_std(lease).unwrap();
        assert!(runs::renew(&state.db, Change::of_claim(&a), clock.now(), until).await.unwrap().is_none());
        let late = runs::complete(&state.db, &system, Change::of_claim(&a), &a, outcome(), Some(&writes)).await;
        assert!(matches!(late, Err(FinishError::Fenced)), "{late:?}");
        let late_fail = runs::fail(&state.db, &system, Change::of_claim(&a), &a, "x", true, Duration::ZERO).await;
        assert!(matches!(late_fail, Err(FinishError::Fenced)));

        // B's result is the one stored, once.
        runs::complete(&state.db, &system, Change::of_claim(&b), &b, outcome(), Some(&writes)).await.unwrap();
        let row = workflow::Entity::find_by_id(w.id).one(&state.db).await.unwrap().unwrap();
        assert_eq!(row.status, entity::workflow::WorkflowStatus::Completed);
        let approvals = approval::Entity::find().filter(approval::Column::WorkflowId.eq(w.id)).count(&state.db).await.unwrap();
        assert_eq!(approvals, 1);
    }
}

both_backends! {
    async fn a_failing_model_is_retried_with_backoff_then_fails_with_its_error_kept(backend: Backend) {
        let llm = FakeLlm::start(|_, _| Reply::status(500)).await;
        let base = llm.base_url();
        let app = TestApp::spawn_with(
            backend,
            move |c| {
                c.llm.base_url = Some(base);
                c.llm.max_retries = 0;
                c.engine.max_attempts = 2;
                c.workflows.draft_candidates = 1;
            },
            Overrides::default(),
        )
        .await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), false).await;
        let id = run["workflow"]["id"].as_str().unwrap();
        let failed = app.wait_for_status(id, &["FAILED"], T).await;
        assert_eq!(failed["attempt"], 2);
        let error = failed["error"].as_str().unwrap();
        assert!(error.contains("500"), "the model's error is kept: {error}");
        let calls = failed["llmCalls"].as_array().unwrap();
        assert_eq!(calls.len(), 2, "one failed call per attempt is logged");
        assert!(calls.iter().all(|c| c["error"].as_str().is_some_and(|e| e.contains("500"))));
        let events = app
            .gql_ok("query($id: ID!) { workflow(id: $id) { events { kind } } }", json!({ "id": id }))
            .await;
        let kinds: Vec<&str> = events["workflow"]["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["workflow.created", "workflow.retrying", "workflow.failed"]);

        // Retrying starts over with a fresh budget.
        let retried = app.gql_ok("mutation($id: ID!) { retryWorkflow(id: $id) { status } }", json!({ "id": id })).await;
        assert_eq!(retried["retryWorkflow"]["status"], "PENDING");
        app.wait_for_status(id, &["FAILED"], T).await;
        assert_eq!(llm.calls(), 4);
        app.stop().await;
    }
}

both_backends! {
    async fn a_rejected_credential_fails_at_once_without_retrying(backend: Backend) {
        let llm = FakeLlm::start(|_, _| Reply::status(401)).await;
        let base = llm.base_url();
        let app = TestApp::spawn_with(
            backend,
            move |c| {
                c.llm.base_url = Some(base);
                c.workflows.draft_candidates = 1;
            },
            Overrides::default(),
        )
        .await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), true).await;
        assert_eq!(run["workflow"]["status"], "FAILED");
        assert_eq!(run["workflow"]["attempt"], 1);
        assert!(run["workflow"]["error"].as_str().unwrap().starts_with("fatal:"));
        assert!(run["approval"].is_null());
        app.stop().await;
    }
}

both_backends! {
    async fn a_malformed_judge_answer_is_retried_then_reported_never_scored(backend: Backend) {
        let llm = FakeLlm::start(|req, _| {
            if req.get("response_format").is_some() {
                Reply::content("Solid work, I'd say 8/10 overall.")
            } else {
                Reply::content("The tide went out and took the boats with it.")
            }
        })
        .await;
        let base = llm.base_url();
        let app = TestApp::spawn_with(
            backend,
            move |c| {
                c.llm.base_url = Some(base);
                c.engine.max_attempts = 1;
                c.workflows.draft_candidates = 1;
            },
            Overrides::default(),
        )
        .await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), true).await;
        assert_eq!(run["workflow"]["status"], "FAILED");
        let error = run["workflow"]["error"].as_str().unwrap();
        assert!(error.contains("judge") && error.contains("malformed 3 times"), "{error}");
        assert!(run["approval"].is_null(), "nothing is scored or sent for review");
        let w = app.workflow(run["workflow"]["id"].as_str().unwrap()).await;
        let judge_calls = w["llmCalls"].as_array().unwrap().iter().filter(|c| c["purpose"] == "judge").count();
        assert_eq!(judge_calls, 3, "asked once and retried twice");
        assert_eq!(w["artifacts"].as_array().map(Vec::len), Some(0));
        app.stop().await;
    }
}

both_backends! {
    async fn cancelling_a_running_workflow_discards_its_result(backend: Backend) {
        let llm = FakeLlm::start(|req, _| Reply::sensible(req).after(Duration::from_millis(700))).await;
        let base = llm.base_url();
        let app = TestApp::spawn_with(
            backend,
            move |c| {
                c.llm.base_url = Some(base);
                c.engine.lease = Duration::from_millis(600);
                c.workflows.draft_candidates = 1;
            },
            Overrides::default(),
        )
        .await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), false).await;
        let id = run["workflow"]["id"].as_str().unwrap();
        app.wait_for_status(id, &["RUNNING"], T).await;
        let body = app.gql("mutation($id: ID!) { cancelWorkflow(id: $id) { status } }", json!({ "id": id })).await;
        assert_eq!(body["data"]["cancelWorkflow"]["status"], "CANCELLED", "{body}");
        // Long enough for the run to have finished had it not been stopped.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let w = app.workflow(id).await;
        assert_eq!(w["status"], "CANCELLED");
        assert!(w["approval"].is_null() && w["output"].is_null());
        assert_eq!(w["artifacts"].as_array().map(Vec::len), Some(0));
        let retry = app.gql("mutation($id: ID!) { cancelWorkflow(id: $id) { status } }", json!({ "id": id })).await;
        assert_eq!(gql_error_code(&retry), "CONFLICT");
        app.stop().await;
    }
}

both_backends! {
    async fn sigterm_releases_running_work_for_the_next_process(backend: Backend) {
        let llm = FakeLlm::start(|req, _| Reply::sensible(req).after(Duration::from_millis(1500))).await;
        let db = TestDb::create(backend).await;
        let token = seed_admin(&db.url).await;
        let env = [
            ("BATON_LLM_BASE_URL", llm.base_url()),
            ("BATON_SHUTDOWN_GRACE_SECS", "0".to_string()),
            ("BATON_DRAFT_CANDIDATES", "1".to_string()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let first = ServerProcess::start(&db.url, &env).await;
        let http = reqwest::Client::new();
        let id = start_draft_and_wait_until_running(&http, &first, &token, "p").await;
        let status = first.terminate().await;
        assert!(status.success(), "clean exit on SIGTERM: {status:?}");

        // Released, not left to a lease: pending again, the attempt not counted.
        let conn = db.connect().await;
        let row = workflow::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&conn).await.unwrap().unwrap();
        assert_eq!(row.status, entity::workflow::WorkflowStatus::Pending);
        assert_eq!(row.attempt, 0);
        assert!(row.lease_owner.is_none());

        let second = ServerProcess::start(&db.url, &env).await;
        let done = wait_status(&http, &second.url("/graphql"), &token, &id, "COMPLETED").await;
        assert_eq!(done["attempt"], 1);
        second.terminate().await;
    }
}
