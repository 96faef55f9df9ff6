//! Approvals with a deadline expire: deciding one after it answers
//! CONFLICT, and the sweep moves it to EXPIRED and tells subscribers.
//! Also shows an integrator's workflow type added in one place.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use baton::app::Overrides;
use baton::clock::ManualClock;
use baton::engine::{ApprovalRequest, NewArtifact, Outcome, RunContext, Workflow, WorkflowError};
use baton_e2e::{TestApp, both_backends, gql_error_code};
use serde_json::{Value, json};

/// A workflow type of an integrator's: asks for a sign-off within an hour.
struct SignOff;

#[async_trait::async_trait]
impl Workflow for SignOff {
    fn name(&self) -> &'static str {
        "sign_off"
    }
    fn description(&self) -> &'static str {
        "Asks for a sign-off that expires after an hour."
    }
    fn input_schema(&self) -> Value {
        json!({ "type": "object", "required": ["what"], "properties": { "what": { "type": "string" } } })
    }
    fn requires_approval(&self) -> bool {
        true
    }
    async fn execute(&self, _ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        Ok(Outcome {
            output: json!({ "asked": true }),
            artifact: Some(NewArtifact {
                kind: "config".into(),
                content: input,
                parent_id: None,
            }),
            approval: Some(ApprovalRequest {
                expires_in: Some(Duration::from_secs(3600)),
                ..Default::default()
            }),
        })
    }
}

both_backends! {
    async fn an_approval_past_its_deadline_expires_and_cannot_be_decided(backend: Backend) {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let mut registry = baton::workflows::builtin();
        registry.register(SignOff);
        let app = TestApp::spawn_with(
            backend,
            |_| {},
            Overrides { clock: Some(clock.clone()), registry: Some(registry), ..Default::default() },
        )
        .await;
        let run = app.run_workflow("sign_off", json!({ "what": "the spring budget" }), true).await;
        assert_eq!(run["workflow"]["status"], "COMPLETED", "{run}");
        let id = run["approval"]["id"].as_str().unwrap().to_string();
        let mut events = app.subscribe("subscription { approvalEvents { kind approval { id status } } }", json!({})).await;

        clock.advance(chrono::TimeDelta::hours(2));
        let late = app.approve(&id, None).await;
        assert_eq!(gql_error_code(&late), "CONFLICT");
        assert!(late["errors"][0]["message"].as_str().unwrap().contains("expired"), "{late}");

        let expired = events
            .next_matching(Duration::from_secs(10), |d| d["approvalEvents"]["kind"] == "EXPIRED")
            .await
            .expect("the sweep reports the expiry");
        assert_eq!(expired["approvalEvents"]["approval"]["id"], id.as_str());
        assert_eq!(expired["approvalEvents"]["approval"]["status"], "EXPIRED");
        assert!(app.pending_approval_ids().await.is_empty());
        app.stop().await;
    }
}
