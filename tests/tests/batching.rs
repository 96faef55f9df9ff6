//! Related rows are read in batches: a page's nested fields cost the same
//! number of SQL statements whatever the page size (no N+1), the batched
//! answers are the rows the tables hold, and the answer's fields come in
//! the document's order even though they resolve concurrently.
//!
//! Statements are counted by the server's own counter
//! (`baton_db_statements_total`, bumped by the database connection for
//! every statement it sends). The served app runs no workers and polls
//! nothing during the test, so the counter moves only for the request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton::app::{Overrides, build_state};
use baton::domain::Principal;
use baton::domain::workflows::{self, Submission};
use baton::engine::worker::{ExecutionOutcome, Worker};
use baton_e2e::app::test_config;
use baton_e2e::{Backend, TestApp, both_backends};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const HOUR: Duration = Duration::from_secs(3600);

/// The review app's queue item, and every relation the API offers on an
/// approval, each nested once more.
const PAGE: &str = "query($first: Int!) { approvals(first: $first) { edges { node {
    id status artifactType createdAt artifactVersion artifactSha256
    approvalsCount requiredApprovals
    viewerCanDecide { allowed reason }
    votes { id decision artifactVersion reviewer { name } }
    policy { workflowType requiredApprovals }
    workflow { id type approval { id } artifacts { id kind } chain { id } }
    artifact { id version workflow { id } }
    nextWorkflow { id status triggeredByApproval { id } }
} } } }";

/// Statements the server sends while answering `query` as the admin.
async fn statements(app: &TestApp, query: &str, variables: Value) -> (u64, Value) {
    let before = app.state.metrics.statements();
    let data = app.gql_ok(query, variables).await;
    (app.state.metrics.statements() - before, data)
}

/// Waits until the counter stands still for 300 ms: what the approvals
/// above set off (their events, a wake-up) is over.
async fn quiet(app: &TestApp) {
    for _ in 0..50 {
        let before = app.state.metrics.statements();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if app.state.metrics.statements() == before {
            return;
        }
    }
    panic!("the server never stopped sending statements");
}

fn uuid(s: &str) -> uuid::Uuid {
    s.parse().unwrap()
}

both_backends! {
    async fn a_page_costs_the_same_statements_whatever_its_size(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |c| {
                c.engine.workers = 0;
                c.engine.poll_interval = HOUR;
                c.delivery.poll_interval = HOUR;
            },
            Overrides::default(),
        )
        .await;

        // Another state on the same database runs the drafts, so the served
        // app's counter sees none of it.
        let mut config = test_config(&app.db.url);
        config.engine.workers = 0;
        let other = build_state(config, Overrides::default()).await.unwrap();
        let cli = Principal::cli();
        for i in 0..12 {
            workflows::submit(
                &other.db,
                &other.catalog,
                &other.stamp(&cli),
                &cli,
                Submission {
                    workflow_type: "generate_draft".into(),
                    input: json!({ "prompt": format!("scene {i}"), "candidates": 1 }),
                    idempotency_key: None,
                },
            )
            .await
            .unwrap();
        }
        let claims = baton::domain::runs::claim(
            &other.db,
            "other",
            &other.registry.names(),
            other.clock.now(),
            Duration::from_secs(60),
            100,
        )
        .await
        .unwrap();
        assert_eq!(claims.len(), 12);
        for claim in claims {
            assert_eq!(Worker::run_one(&other, claim).await, ExecutionOutcome::Completed);
        }
        // Decide a few, so some approvals have votes and a next workflow:
        // two of the newest four (the small page below) and the oldest.
        let pending = app.pending_approval_ids().await;
        assert_eq!(pending.len(), 12);
        for id in [&pending[11], &pending[9], &pending[0]] {
            let body = app.approve(id, Some("tighter")).await;
            assert!(body.get("errors").is_none(), "{body:#}");
        }

        quiet(&app).await;
        let (small, _) = statements(&app, PAGE, json!({ "first": 4 })).await;
        let (full, body) = statements(&app, PAGE, json!({ "first": 12 })).await;
        let (again, _) = statements(&app, PAGE, json!({ "first": 12 })).await;
        assert_eq!(full, again, "the same request must cost the same");
        // One read per relation and level, not per item: 12 items cost
        // what 4 do (one read per item would add 8 per relation).
        assert_eq!(
            full, small,
            "a page of 12 sent {full} statements, a page of 4 sent {small}"
        );
        // Authentication, the page, and one batch per relation and level.
        assert!(full <= 16, "a page sent {full} statements");

        // The batched answers are the rows the tables hold.
        let conn = app.db.connect().await;
        let edges = body["approvals"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 12);
        let mut with_next = 0;
        for e in edges {
            let n = &e["node"];
            let id = n["id"].as_str().unwrap();
            let votes = entity::vote::Entity::find()
                .filter(entity::vote::Column::ApprovalId.eq(uuid(id)))
                .count(&conn)
                .await
                .unwrap();
            assert_eq!(n["votes"].as_array().unwrap().len() as u64, votes, "{n:#}");
            let wf = n["workflow"]["id"].as_str().unwrap();
            assert_eq!(n["workflow"]["approval"]["id"], n["id"], "{n:#}");
            assert_eq!(n["artifact"]["workflow"]["id"].as_str(), Some(wf));
            let artifacts = entity::artifact::Entity::find()
                .filter(entity::artifact::Column::WorkflowId.eq(uuid(wf)))
                .count(&conn)
                .await
                .unwrap();
            assert_eq!(n["workflow"]["artifacts"].as_array().unwrap().len() as u64, artifacts);
            let chain = n["workflow"]["chain"].as_array().unwrap();
            assert_eq!(chain[0]["id"].as_str(), Some(wf), "a draft starts its chain");
            if n["status"] == "APPROVED" {
                with_next += 1;
                assert_eq!(n["approvalsCount"], 1);
                assert_eq!(n["nextWorkflow"]["triggeredByApproval"]["id"], n["id"]);
                // The chain holds the draft and the workflow the decision started.
                assert_eq!(chain.len(), 2, "{n:#}");
                assert_eq!(chain[1]["id"], n["nextWorkflow"]["id"]);
            } else {
                assert_eq!(n["approvalsCount"], 0);
                assert!(n["nextWorkflow"].is_null());
                assert_eq!(n["viewerCanDecide"]["allowed"], true, "{n:#}");
            }
            // The same approval read alone agrees with the batched read.
            let alone = app
                .gql_ok(
                    "query($id: ID!) { approval(id: $id) { votes { id } workflow { id } artifactSha256 } }",
                    json!({ "id": id }),
                )
                .await;
            let a = &alone["approval"];
            assert_eq!(a["votes"], json!(n["votes"].as_array().unwrap().iter().map(|v| json!({"id": v["id"]})).collect::<Vec<_>>()));
            assert_eq!(a["workflow"]["id"], n["workflow"]["id"]);
            assert_eq!(a["artifactSha256"], n["artifactSha256"]);
        }
        assert_eq!(with_next, 3);
    }
}

both_backends! {
    async fn fields_come_in_the_order_the_document_asks_for(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let body = app.run_workflow("generate_draft", json!({ "prompt": "p", "candidates": 1 }), true).await;
        let id = body["approval"]["id"].as_str().unwrap().to_string();
        // `workflow` and `votes` wait for the database; `id` and `status`
        // do not, and would otherwise be written first.
        let query = "query($id: ID!) { approval(id: $id) {
            workflow { artifacts { id } id } votes { id } ...F id } }
            fragment F on Approval { status }";
        let res = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_token)
            .json(&json!({ "query": query, "variables": { "id": id } }))
            .send()
            .await
            .unwrap();
        let text = res.text().await.unwrap();
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} not in {text}"))
        };
        assert!(at("\"workflow\"") < at("\"votes\""), "{text}");
        assert!(at("\"votes\"") < at("\"status\""), "{text}");
        assert!(at("\"status\"") < at(&format!("\"id\":\"{id}\"")), "{text}");
        // Inside the workflow too: artifacts before the workflow's id.
        assert!(text.contains("\"workflow\":{\"artifacts\":"), "{text}");
    }
}

both_backends! {
    async fn a_token_verified_once_costs_no_reads_for_a_while_on_postgres(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |c| {
                c.engine.workers = 0;
                c.engine.poll_interval = HOUR;
                c.delivery.poll_interval = HOUR;
            },
            Overrides::default(),
        )
        .await;
        let query = "{ pendingApprovals(first: 1) { edges { node { id } } } }";
        statements(&app, query, json!({})).await;
        quiet(&app).await;
        let (n, _) = statements(&app, query, json!({})).await;
        match backend {
            // The page alone: the token's two reads come from the cache.
            Backend::Postgres => assert_eq!(n, 1, "{n} statements"),
            // No cache on SQLite (see `TokenCache`): the token and its user.
            Backend::Sqlite => assert_eq!(n, 3, "{n} statements"),
        }
        // Revoking empties it: the next request reads, and is refused.
        let id = app.gql_ok("{ apiTokens { id } }", json!({})).await["apiTokens"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, other) = app.user_with_token("ops", "ADMIN").await;
        let revoked = app
            .gql_as(Some(&other), "mutation($id: ID!) { revokeToken(id: $id) { active } }", json!({ "id": id }))
            .await;
        assert_eq!(revoked["data"]["revokeToken"]["active"], false, "{revoked}");
        let refused = app.gql(query, json!({})).await;
        assert_eq!(baton_e2e::gql_error_code(&refused), "UNAUTHENTICATED", "{refused}");
    }
}
