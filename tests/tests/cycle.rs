//! The whole human-in-the-loop cycle over HTTP and WebSocket, on SQLite and
//! PostgreSQL: run → pushed completion → queue → approve with feedback →
//! apply_feedback → revision whose parent is the first draft.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton_e2e::{TestApp, both_backends};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

both_backends! {
    async fn draft_approve_revise_cycle_runs_end_to_end(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut completed = app
            .subscribe(
                "subscription { workflowCompleted { id type status chainId output } }",
                json!({}),
            )
            .await;
        let mut approvals = app
            .subscribe(
                "subscription { approvalEvents { kind approval { id status artifactType } } }",
                json!({}),
            )
            .await;

        let run = app
            .run_workflow(
                "generate_draft",
                json!({ "story_id": "s1", "scene": "harbour", "prompt": "Mara arrives at the harbour at dusk." }),
                false,
            )
            .await;
        assert_eq!(run["created"], true);
        let first_id = run["workflow"]["id"].as_str().unwrap().to_string();
        let chain_id = run["workflow"]["chainId"].as_str().unwrap().to_string();
        assert_eq!(chain_id, first_id, "a workflow started by a client starts its own chain");

        // The completion is pushed, not polled.
        let pushed = completed.next(T).await.expect("workflowCompleted pushed");
        assert_eq!(pushed["workflowCompleted"]["id"], first_id.as_str());
        assert_eq!(pushed["workflowCompleted"]["status"], "COMPLETED");
        let created = approvals.next(T).await.expect("approvalEvents pushed");
        assert_eq!(created["approvalEvents"]["kind"], "CREATED");
        let approval_id = created["approvalEvents"]["approval"]["id"].as_str().unwrap().to_string();

        // The reviewer's queue lists it, with the draft to read.
        assert_eq!(app.pending_approval_ids().await, vec![approval_id.clone()]);
        let queued = app
            .gql_ok(
                "{ pendingApprovals { edges { node { id artifactType score artifactData workflow { id } artifact { id version kind } } } } }",
                json!({}),
            )
            .await;
        let node = &queued["pendingApprovals"]["edges"][0]["node"];
        assert_eq!(node["artifactType"], "draft");
        assert_eq!(node["workflow"]["id"], first_id.as_str());
        assert_eq!(node["artifact"]["version"], 1);
        let first_draft_id = node["artifact"]["id"].as_str().unwrap().to_string();
        let text = node["artifactData"]["text"].as_str().unwrap();
        assert!(text.contains("[offline model]"), "the offline model names itself: {text}");
        let score = node["score"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&score));
        assert_eq!(node["artifactData"]["rubric"].as_array().map(Vec::len), Some(5));

        // Approve with feedback: the next workflow is created in the same call.
        let decided = app.approve(&approval_id, Some("Give Mara a reason to hesitate.")).await;
        assert!(decided.get("errors").is_none(), "{decided:#}");
        let next = &decided["data"]["approve"]["nextWorkflow"];
        assert_eq!(next["type"], "apply_feedback");
        assert_eq!(next["chainId"], chain_id.as_str());
        assert_eq!(next["input"]["feedback"], "Give Mara a reason to hesitate.");
        assert_eq!(next["input"]["approval_id"], approval_id.as_str());
        assert_eq!(decided["data"]["approve"]["approval"]["status"], "APPROVED");
        assert_eq!(decided["data"]["approve"]["approval"]["decidedBy"], "admin");
        let next_id = next["id"].as_str().unwrap().to_string();

        let decided_event = approvals.next(T).await.expect("decision pushed");
        assert_eq!(decided_event["approvalEvents"]["kind"], "DECIDED");
        assert!(!app.pending_approval_ids().await.contains(&approval_id));

        // apply_feedback runs and its completion is pushed too.
        let pushed = completed.next(T).await.expect("apply_feedback completion pushed");
        assert_eq!(pushed["workflowCompleted"]["id"], next_id.as_str());
        assert_eq!(pushed["workflowCompleted"]["chainId"], chain_id.as_str());

        let revised = app.workflow(&next_id).await;
        assert_eq!(revised["status"], "COMPLETED");
        let artifact = &revised["artifacts"][0];
        assert_eq!(artifact["kind"], "draft");
        assert_eq!(artifact["version"], 2);
        assert_eq!(artifact["parent"]["id"], first_draft_id.as_str(), "the revision's parent is the first draft");
        assert_eq!(artifact["content"]["feedback"], "Give Mara a reason to hesitate.");
        // Final or another round: either way the outcome is consistent.
        let is_final = artifact["content"]["final"].as_bool().unwrap();
        assert_eq!(revised["approval"].is_null(), is_final);

        // The lineage reads back through the chain.
        let chain = app
            .gql_ok(
                "query($id: ID!) { workflow(id: $id) { chain { id type } triggeredByApproval { id } } }",
                json!({ "id": next_id }),
            )
            .await;
        let types: Vec<&str> = chain["workflow"]["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["generate_draft", "apply_feedback"]);
        assert_eq!(chain["workflow"]["triggeredByApproval"]["id"], approval_id.as_str());
        app.stop().await;
    }
}

both_backends! {
    async fn waiting_run_answers_with_the_finished_workflow_and_its_approval(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let run = app
            .run_workflow("generate_draft", json!({ "prompt": "A storm reaches the island.", "candidates": 2 }), true)
            .await;
        assert_eq!(run["workflow"]["status"], "COMPLETED");
        assert_eq!(run["workflow"]["attempt"], 1);
        assert_eq!(run["approval"]["status"], "PENDING");
        assert_eq!(run["approval"]["artifactType"], "draft");
        assert_eq!(run["workflow"]["output"]["candidates"], 2);

        // Every model call is logged: 2 candidates, 1 merge, 1 judge.
        let w = app.workflow(run["workflow"]["id"].as_str().unwrap()).await;
        let purposes: Vec<&str> = w["llmCalls"].as_array().unwrap().iter().map(|c| c["purpose"].as_str().unwrap()).collect();
        assert_eq!(purposes.iter().filter(|p| **p == "draft").count(), 2);
        assert_eq!(purposes.iter().filter(|p| **p == "merge").count(), 1);
        assert_eq!(purposes.iter().filter(|p| **p == "judge").count(), 1);
        assert!(w["llmCalls"].as_array().unwrap().iter().all(|c| c["provider"] == "offline" && c["model"] == "offline"));
        app.stop().await;
    }
}

both_backends! {
    async fn approving_without_feedback_finalizes_the_draft(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "Two sisters argue." }), true).await;
        let approval_id = run["approval"]["id"].as_str().unwrap();
        let decided = app.approve(approval_id, None).await;
        let next_id = decided["data"]["approve"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        let done = app.wait_for_status(&next_id, &["COMPLETED"], T).await;
        assert_eq!(done["output"]["final"], true);
        assert!(done["approval"].is_null(), "a final draft asks for nothing");
        let artifact = &done["artifacts"][0];
        assert_eq!(artifact["content"]["final"], true);
        assert_eq!(artifact["version"], 2);
        assert_eq!(done["llmCalls"].as_array().map(Vec::len), Some(0), "finalizing as-is calls no model");
        app.stop().await;
    }
}

both_backends! {
    async fn rejecting_with_feedback_revises_and_asks_again(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "A chase across rooftops." }), true).await;
        let approval_id = run["approval"]["id"].as_str().unwrap();
        let version = app.approval_version(approval_id).await;
        let body = app
            .gql(
                "mutation($id: ID!, $v: Int!, $f: String) { reject(id: $id, version: $v, feedback: $f) { approval { status feedback } nextWorkflow { id type input } } }",
                json!({ "id": approval_id, "v": version, "f": "Too slow; cut the first paragraph." }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert_eq!(body["data"]["reject"]["approval"]["status"], "REJECTED");
        assert_eq!(body["data"]["reject"]["nextWorkflow"]["input"]["decision"], "rejected");
        let next_id = body["data"]["reject"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        let done = app.wait_for_status(&next_id, &["COMPLETED"], T).await;
        assert_eq!(done["output"]["final"], false, "a rejection never finalizes");
        assert_eq!(done["approval"]["status"], "PENDING", "another round is asked for");
        app.stop().await;
    }
}

both_backends! {
    async fn rejecting_without_feedback_ends_the_chain(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "A quiet breakfast." }), true).await;
        let approval_id = run["approval"]["id"].as_str().unwrap();
        let version = app.approval_version(approval_id).await;
        let body = app
            .gql(
                "mutation($id: ID!, $v: Int!) { reject(id: $id, version: $v) { approval { status } nextWorkflow { id } } }",
                json!({ "id": approval_id, "v": version }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert_eq!(body["data"]["reject"]["approval"]["status"], "REJECTED");
        assert!(body["data"]["reject"]["nextWorkflow"].is_null());
        app.stop().await;
    }
}

both_backends! {
    async fn workflow_events_push_each_status_change(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut events = app
            .subscribe("subscription { workflowEvents(type: \"generate_draft\") { kind workflow { id status } } }", json!({}))
            .await;
        let run = app.run_workflow("generate_draft", json!({ "prompt": "p" }), false).await;
        let id = run["workflow"]["id"].as_str().unwrap();
        let first = events.next(T).await.expect("created pushed");
        assert_eq!(first["workflowEvents"]["kind"], "CREATED");
        assert_eq!(first["workflowEvents"]["workflow"]["id"], id);
        let done = events.next(T).await.expect("completion pushed");
        assert_eq!(done["workflowEvents"]["kind"], "COMPLETED");
        assert_eq!(done["workflowEvents"]["workflow"]["status"], "COMPLETED");
        app.stop().await;
    }
}
