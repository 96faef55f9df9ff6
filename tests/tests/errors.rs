//! What a client sees when something is wrong: a code it can branch on, a
//! message a person can act on, and nothing changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use baton_e2e::{Backend, TestApp, both_backends, gql_error_code};
use serde_json::json;

const RUN: &str = "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { created workflow { id } } }";

async fn workflow_count(app: &TestApp) -> usize {
    let data = app
        .gql_ok(
            "{ workflows(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    data["workflows"]["edges"].as_array().map_or(0, Vec::len)
}

both_backends! {
    async fn unknown_workflow_type_names_the_known_ones(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let body = app.gql(RUN, json!({ "input": { "type": "write_novel", "input": {} } })).await;
        assert_eq!(gql_error_code(&body), "BAD_USER_INPUT");
        let msg = body["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains("write_novel") && msg.contains("generate_draft") && msg.contains("apply_feedback"), "{msg}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "type");
        assert_eq!(workflow_count(&app).await, 0);
        app.stop().await;
    }
}

both_backends! {
    async fn invalid_input_names_the_offending_field_and_writes_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let cases = [
            (json!({ "scene": "x" }), "input.prompt"),
            (json!({ "prompt": 42 }), "input.prompt"),
            (json!({ "prompt": "" }), "input.prompt"),
            (json!({ "prompt": "ok", "candidates": 99 }), "input.candidates"),
            (json!({ "prompt": "ok", "colour": "red" }), "input.colour"),
            (json!("just a string"), "input"),
        ];
        for (input, field) in cases {
            let body = app.gql(RUN, json!({ "input": { "type": "generate_draft", "input": input } })).await;
            assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{body:#}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
            let msg = body["errors"][0]["message"].as_str().unwrap();
            assert!(msg.starts_with(field), "the message names the field: {msg}");
        }
        assert_eq!(workflow_count(&app).await, 0);
        app.stop().await;
    }
}

both_backends! {
    async fn idempotency_key_returns_the_first_workflow(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let input = json!({ "input": { "type": "generate_draft", "input": { "prompt": "p" }, "idempotencyKey": "order-42" } });
        let first = app.gql_ok(RUN, input.clone()).await;
        let again = app.gql_ok(RUN, input).await;
        assert_eq!(first["runWorkflow"]["created"], true);
        assert_eq!(again["runWorkflow"]["created"], false);
        assert_eq!(first["runWorkflow"]["workflow"]["id"], again["runWorkflow"]["workflow"]["id"]);

        let other = json!({ "input": { "type": "generate_draft", "input": { "prompt": "different" }, "idempotencyKey": "order-42" } });
        let body = app.gql(RUN, other).await;
        assert_eq!(gql_error_code(&body), "CONFLICT");
        assert_eq!(workflow_count(&app).await, 1);
        app.stop().await;
    }
}

both_backends! {
    async fn deciding_twice_answers_conflict_and_starts_one_workflow(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), true).await;
        let id = run["approval"]["id"].as_str().unwrap();
        let first = app.approve(id, Some("more")).await;
        assert!(first.get("errors").is_none(), "{first:#}");
        let second = app.approve(id, Some("again")).await;
        assert_eq!(gql_error_code(&second), "CONFLICT");
        let msg = second["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains("already approved"), "{msg}");
        assert_eq!(second["errors"][0]["extensions"]["decidedBy"], "admin", "{second:#}");
        let version = app.approval_version(id).await;
        let reject = app.gql("mutation($id: ID!, $v: Int!) { reject(id: $id, version: $v, feedback: \"x\") { approval { id } } }", json!({ "id": id, "v": version })).await;
        assert_eq!(gql_error_code(&reject), "CONFLICT");
        let data = app.gql_ok("{ workflows(filter: { type: \"apply_feedback\" }) { edges { node { id } } } }", json!({})).await;
        assert_eq!(data["workflows"]["edges"].as_array().map(Vec::len), Some(1));
        app.stop().await;
    }
}

both_backends! {
    async fn unknown_and_malformed_ids_are_told_apart(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let missing = uuid::Uuid::now_v7().to_string();
        let body = app.approve(&missing, None).await;
        assert_eq!(gql_error_code(&body), "NOT_FOUND");
        let body = app.approve("not-an-id", None).await;
        assert_eq!(gql_error_code(&body), "BAD_USER_INPUT");
        let body = app.gql("query($id: ID!) { workflow(id: $id) { id } }", json!({ "id": missing })).await;
        assert!(body["data"]["workflow"].is_null() && body.get("errors").is_none(), "{body:#}");
        let body = app.gql("mutation($id: ID!) { cancelWorkflow(id: $id) { id } }", json!({ "id": missing })).await;
        assert_eq!(gql_error_code(&body), "NOT_FOUND");
        app.stop().await;
    }
}

both_backends! {
    async fn page_size_and_cursors_are_checked(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let body = app.gql("{ workflows(first: 101) { edges { cursor } } }", json!({})).await;
        assert_eq!(gql_error_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "first");
        let body = app.gql("{ pendingApprovals(after: \"garbage\") { edges { cursor } } }", json!({})).await;
        assert_eq!(gql_error_code(&body), "BAD_USER_INPUT");

        // Keyset pages walk every row once, newest first.
        for i in 0..5 {
            app.run_workflow("generate_draft", json!({ "prompt": format!("p{i}") }), false).await;
        }
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = app
                .gql_ok(
                    "query($after: String) { workflows(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
                    json!({ "after": after }),
                )
                .await;
            let conn = &data["workflows"];
            for e in conn["edges"].as_array().unwrap() {
                seen.push(e["node"]["id"].as_str().unwrap().to_string());
            }
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
        }
        assert_eq!(seen.len(), 5);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(seen, sorted, "uuid v7 ids sort by creation time; newest first");
        app.stop().await;
    }
}

both_backends! {
    async fn cancel_and_retry_follow_the_status_rules(backend: Backend) {
        // No workers: the workflow stays pending until cancelled.
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), false).await;
        let id = run["workflow"]["id"].as_str().unwrap();
        let retry_pending = app.gql("mutation($id: ID!) { retryWorkflow(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(gql_error_code(&retry_pending), "CONFLICT");
        let cancelled = app.gql_ok("mutation($id: ID!) { cancelWorkflow(id: $id) { status completedAt } }", json!({ "id": id })).await;
        assert_eq!(cancelled["cancelWorkflow"]["status"], "CANCELLED");
        let again = app.gql("mutation($id: ID!) { cancelWorkflow(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(gql_error_code(&again), "CONFLICT");
        let retried = app.gql_ok("mutation($id: ID!) { retryWorkflow(id: $id) { status attempt error } }", json!({ "id": id })).await;
        assert_eq!(retried["retryWorkflow"]["status"], "PENDING");
        assert_eq!(retried["retryWorkflow"]["attempt"], 0);
        app.stop().await;
    }
}

#[tokio::test]
async fn mutations_over_get_are_refused_and_queries_run() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app
        .http
        .get(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
        .query(&[("query", "mutation { cancelWorkflow(id: \"x\") { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let res = app
        .http
        .get(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
        .query(&[(
            "query",
            "{ workflowTypes { name requiresApproval inputSchema } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let names: Vec<&str> = body["data"]["workflowTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "apply_feedback",
            "deploy_config",
            "generate_draft",
            "run_experiment"
        ]
    );
    assert_eq!(
        body["data"]["workflowTypes"][2]["inputSchema"]["required"][0],
        "prompt"
    );

    // A browser gets GraphiQL.
    let page = app
        .http
        .get(app.url("/graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.to_lowercase().contains("graphiql"));
    // Health and readiness.
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn documents_that_do_not_validate_get_a_code_too() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.engine.workers = 0,
        Default::default(),
    )
    .await;
    let body = app
        .gql(
            "{ workflows { edges { node { nosuchfield } } } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    let body = app.gql("{ workflows(", json!({})).await;
    assert_eq!(gql_error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    let body = app
        .gql("mutation { approve(id: 5) { approval { id } } }", json!({}))
        .await;
    assert!(
        body["errors"][0]["extensions"]["code"].is_string(),
        "{body:#}"
    );
    app.stop().await;
}

#[tokio::test]
async fn internal_errors_do_not_leak_sql() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.engine.workers = 0,
        Default::default(),
    )
    .await;
    // Break the database under the running server.
    let db = app.db.connect().await;
    sea_orm::ConnectionTrait::execute_unprepared(&db, "DROP TABLE approvals")
        .await
        .unwrap();
    db.close().await.ok();
    let body = app
        .gql("{ pendingApprovals { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(gql_error_code(&body), "INTERNAL_SERVER_ERROR");
    let msg = body["errors"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("internal error (id "), "{msg}");
    assert!(
        !msg.to_lowercase().contains("approvals") && !msg.contains("SELECT"),
        "{msg}"
    );
    app.stop().await;
}
