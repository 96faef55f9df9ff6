//! `deploy_config`: makes an approved config the active one of its target
//! and environment. Started by approving an experiment's results; the
//! previous config stays in the history.
//!
//! The deployment is written in the transaction that completes the run
//! (`on_complete`), so it happens exactly once even if a worker dies and the
//! run is repeated.

use entity::workflow;
use sea_orm::DatabaseTransaction;
use serde_json::{Value, json};
use uuid::Uuid;

use super::draft_config::DraftConfig;
use super::str_field;
use crate::domain::Stamp;
use crate::domain::deployments::{self, NewDeployment};
use crate::domain::events::Signal;
use crate::domain::workflow_types::TypeLookup;
use crate::engine::{Outcome, RunContext, Workflow, WorkflowError};
use crate::error::AppError;

pub const NAME: &str = "deploy_config";

pub struct DeployConfig;

#[async_trait::async_trait]
impl Workflow for DeployConfig {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Makes an approved configuration the active config of a workflow type in an environment, \
         keeping the previous one in the history. Usually started by approving experiment results."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["target", "environment", "config"],
            "properties": {
                "target": { "type": "string", "minLength": 1, "maxLength": 64, "description": "The workflow type configured: generate_draft or a declared type with a config schema (the config is checked against it)." },
                "environment": { "type": "string", "minLength": 1, "maxLength": 64 },
                "config": { "type": "object" },
                "experiment_id": { "type": ["string", "null"], "format": "uuid", "description": "The experiment that chose the config." },
                "approval_id": { "type": ["string", "null"], "format": "uuid" },
                "decision": { "enum": ["approved", "rejected"] },
                "feedback": { "type": ["string", "null"] }
            },
            "if": { "properties": { "target": { "const": "generate_draft" } } },
            "then": { "properties": { "config": DraftConfig::schema() } }
        })
    }

    /// The config must be one its target takes.
    fn validate(&self, input: &Value, types: &TypeLookup) -> Result<(), (String, String)> {
        let target = str_field(input, "target").unwrap_or("generate_draft");
        let Some(spec) = types.get(target).filter(|t| t.config_schema.is_some()) else {
            return Err((
                "target".into(),
                format!("{target} has no config schema, so it has no config to deploy"),
            ));
        };
        let config = input.get("config").cloned().unwrap_or_else(|| json!({}));
        match spec.invalid_config(&config, "config") {
            Some(v) => Err(v),
            None => Ok(()),
        }
    }

    fn requires_approval(&self) -> bool {
        false
    }

    /// Deploying skips review when started by hand: admins only.
    fn admin_only(&self) -> bool {
        true
    }

    async fn execute(&self, _ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        let config = input.get("config").cloned().unwrap_or_else(|| json!({}));
        if str_field(&input, "target").unwrap_or("generate_draft") == "generate_draft" {
            DraftConfig::parse(&config)
                .map_err(|(field, msg)| WorkflowError::Fatal(format!("config.{field}: {msg}")))?;
        }
        Ok(Outcome {
            output: json!({
                "deployment_id": Uuid::now_v7(),
                "target": str_field(&input, "target").unwrap_or("generate_draft"),
                "environment": str_field(&input, "environment").unwrap_or("production"),
                "config": config,
                "approval_id": input.get("approval_id"),
                "experiment_id": input.get("experiment_id"),
            }),
            ..Default::default()
        })
    }

    async fn on_complete(
        &self,
        txn: &DatabaseTransaction,
        stamp: &Stamp,
        workflow: &workflow::Model,
        output: &Value,
    ) -> Result<Vec<Signal>, AppError> {
        let uuid = |k: &str| str_field(output, k).and_then(|s| s.parse::<Uuid>().ok());
        // Deployed by whoever started this run: the reviewer who approved
        // the experiment, not the worker that happened to run it.
        let stamp = Stamp {
            actor: workflow.created_by.clone(),
            actor_role: None,
            ..stamp.clone()
        };
        let (_, signal) = deployments::activate(
            txn,
            &stamp,
            NewDeployment {
                id: uuid("deployment_id"),
                target: str_field(output, "target")
                    .unwrap_or("generate_draft")
                    .to_string(),
                environment: str_field(output, "environment")
                    .unwrap_or("production")
                    .to_string(),
                config: output.get("config").cloned().unwrap_or_else(|| json!({})),
                approval_id: uuid("approval_id"),
                experiment_id: uuid("experiment_id"),
                rolled_back_from: None,
            },
        )
        .await?;
        Ok(vec![signal])
    }
}
