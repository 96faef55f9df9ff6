//! Races: one decision wins, whatever the concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use baton_e2e::{TestApp, both_backends, gql_error_code};
use entity::workflow;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

both_backends! {
    async fn twenty_concurrent_approvals_of_one_approval_start_exactly_one_workflow(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p", "candidates": 1 }), true).await;
        let approval_id = run["approval"]["id"].as_str().unwrap().to_string();
        let version = app.approval_version(&approval_id).await;
        // Twenty different reviewers, so that nothing but the decision
        // itself can turn the losers away.
        let mut tokens = Vec::new();
        for i in 0..20 {
            tokens.push(app.user_with_token(&format!("reviewer{i}"), "REVIEWER").await.1);
        }

        let calls = tokens.into_iter().enumerate().map(|(i, token)| {
            let http = app.http.clone();
            let url = app.url("/graphql");
            let id = approval_id.clone();
            tokio::spawn(async move {
                baton_e2e::app::post_graphql_as(
                    &http,
                    &url,
                    Some(&token),
                    "mutation($id: ID!, $v: Int!, $f: String) { approve(id: $id, version: $v, feedback: $f) { nextWorkflow { id } } }",
                    json!({ "id": id, "v": version, "f": format!("reviewer {i}") }),
                )
                .await
            })
        });
        let answers: Vec<serde_json::Value> = futures_util::future::join_all(calls)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();

        let won: Vec<_> = answers.iter().filter(|a| a.get("errors").is_none()).collect();
        let conflicts = answers.iter().filter(|a| gql_error_code(a) == "CONFLICT").count();
        assert_eq!(won.len(), 1, "exactly one approve succeeds: {answers:#?}");
        assert_eq!(conflicts, 19, "every other one is a CONFLICT: {answers:#?}");

        let approval_uuid: uuid::Uuid = approval_id.parse().unwrap();
        let db = app.db.connect().await;
        let next = workflow::Entity::find()
            .filter(workflow::Column::TriggeredByApprovalId.eq(approval_uuid))
            .count(&db)
            .await
            .unwrap();
        assert_eq!(next, 1, "exactly one next workflow exists");
        assert_eq!(
            won[0]["data"]["approve"]["nextWorkflow"]["id"].as_str().map(str::to_string),
            workflow::Entity::find()
                .filter(workflow::Column::TriggeredByApprovalId.eq(approval_uuid))
                .one(&db)
                .await
                .unwrap()
                .map(|w| w.id.to_string())
        );
        app.stop().await;
    }
}

both_backends! {
    async fn concurrent_submissions_with_one_idempotency_key_create_one_workflow(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let calls = (0..10).map(|_| {
            let http = app.http.clone();
            let url = app.url("/graphql");
            let token = app.admin_token.clone();
            tokio::spawn(async move {
                baton_e2e::app::post_graphql_as(
                    &http,
                    &url,
                    Some(&token),
                    "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { created workflow { id } } }",
                    json!({ "input": { "type": "generate_draft", "input": { "prompt": "same" }, "idempotencyKey": "k-1" } }),
                )
                .await
            })
        });
        let answers: Vec<serde_json::Value> = futures_util::future::join_all(calls).await.into_iter().map(|r| r.unwrap()).collect();
        let ids: std::collections::HashSet<&str> = answers
            .iter()
            .map(|a| a["data"]["runWorkflow"]["workflow"]["id"].as_str().unwrap_or_else(|| panic!("{a:#}")))
            .collect();
        assert_eq!(ids.len(), 1, "{answers:#?}");
        let created = answers.iter().filter(|a| a["data"]["runWorkflow"]["created"] == true).count();
        assert_eq!(created, 1);
        app.stop().await;
    }
}
