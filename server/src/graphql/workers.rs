//! GraphQL of workflow types and external workers: declaring a type
//! (ADMIN), and the worker protocol (claim, heartbeat, complete, fail) for
//! service tokens.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::types::Workflow;
use super::{require, state};
use crate::domain::principal::Permission;
use crate::domain::workers::{self, Beat, ClaimRequest, Completion};
use crate::domain::workflow_types::{self, Declaration, NextStep as DomainNextStep, TypeSpec};
use crate::error::AppError;

/// Longest a `claimWorkflows` call waits for work.
pub const MAX_WAIT_SECS: i32 = 30;

/// A workflow type: built-in, or declared at run time.
pub struct WorkflowType(pub Arc<TypeSpec>);

#[Object]
impl WorkflowType {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// JSON Schema of the input; the review app renders a form from it.
    async fn input_schema(&self) -> Json<&Value> {
        Json(&self.0.input_schema)
    }
    /// Whether a finished run asks for a person's decision.
    async fn requires_approval(&self) -> bool {
        self.0.requires_approval
    }
    /// Declared types count versions from 1; built-in types are version 1.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Compiled into Baton and run by its own workers (else declared, and
    /// run by external workers).
    async fn built_in(&self) -> bool {
        self.0.builtin
    }
    /// JSON Schema a completion's output must satisfy.
    async fn output_schema(&self) -> Option<Json<&Value>> {
        self.0.output_schema.as_ref().map(Json)
    }
    /// JSON Schema of the artifact reviewers read (and may edit).
    async fn artifact_schema(&self) -> Option<Json<&Value>> {
        self.0.artifact_schema.as_ref().map(Json)
    }
    /// What the review app calls its artifacts (`artifactType` of its
    /// approvals); the type's name when not declared.
    async fn artifact_kind(&self) -> Option<&str> {
        self.0.artifact_kind.as_deref()
    }
    /// JSON Schema of the config `run_experiment` may tune for this type.
    async fn config_schema(&self) -> Option<Json<&Value>> {
        self.0.config_schema.as_ref().map(Json)
    }
    /// What approving starts (declared types; a built-in type decides per
    /// run).
    async fn next_on_approve(&self) -> Option<NextStep> {
        self.0.next_on_approve.clone().map(NextStep)
    }
    /// What rejecting starts.
    async fn next_on_reject(&self) -> Option<NextStep> {
        self.0.next_on_reject.clone().map(NextStep)
    }
    /// How long one attempt may run.
    async fn timeout_seconds(&self) -> i64 {
        i64::try_from(self.0.timeout.as_secs()).unwrap_or(i64::MAX)
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// Backoff before the second attempt; it doubles per attempt (±25%).
    async fn retry_base_seconds(&self) -> f64 {
        self.0.retry_base.as_secs_f64()
    }
    async fn declared_by(&self) -> Option<&str> {
        self.0.declared_by.as_deref()
    }
    async fn declared_at(&self) -> Option<DateTime<Utc>> {
        self.0.declared_at
    }
}

/// What a decision starts.
pub struct NextStep(DomainNextStep);

#[Object]
impl NextStep {
    async fn workflow_type(&self) -> &str {
        &self.0.workflow_type
    }
    /// Merged with `feedback`, `approved`, `decision`, `approval_id`,
    /// `artifact_id`, `artifact_version` and `artifact_sha256`.
    async fn input(&self) -> Json<&Value> {
        Json(&self.0.input)
    }
    /// On reject: started only when the reviewer wrote feedback.
    async fn requires_feedback(&self) -> bool {
        self.0.requires_feedback
    }
}

/// What a decision starts, as declared.
#[derive(InputObject)]
pub struct NextStepInput {
    /// An existing type (or the one being declared).
    pub workflow_type: String,
    /// A JSON object; the decision's keys are added to it.
    pub input: Option<Json<Value>>,
    /// On reject: start it only when the reviewer wrote feedback (default
    /// true).
    pub requires_feedback: Option<bool>,
}

impl From<NextStepInput> for DomainNextStep {
    fn from(i: NextStepInput) -> Self {
        DomainNextStep {
            workflow_type: i.workflow_type,
            input: i.input.map_or_else(|| serde_json::json!({}), |j| j.0),
            requires_feedback: i.requires_feedback.unwrap_or(true),
        }
    }
}

/// A workflow type to declare (or a new version of one).
#[derive(InputObject)]
pub struct DeclareWorkflowTypeInput {
    /// `^[a-z][a-z0-9_]{0,63}$`, not a built-in type's name.
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema (draft 2020-12 unless `$schema` says otherwise).
    pub input_schema: Json<Value>,
    pub output_schema: Option<Json<Value>>,
    pub artifact_schema: Option<Json<Value>>,
    /// Default: the type's name.
    pub artifact_kind: Option<String>,
    pub config_schema: Option<Json<Value>>,
    pub requires_approval: bool,
    pub next_on_approve: Option<NextStepInput>,
    pub next_on_reject: Option<NextStepInput>,
    /// 1 to 86400; default: the server's workflow timeout.
    pub timeout_seconds: Option<i32>,
    /// 1 to 100; default: the server's.
    pub max_attempts: Option<i32>,
    /// 0.01 to 3600; default: the server's retry base.
    pub retry_base_seconds: Option<f64>,
}

impl DeclareWorkflowTypeInput {
    fn into_declaration(self) -> Result<Declaration, AppError> {
        let timeout_seconds = self
            .timeout_seconds
            .map(|t| {
                u32::try_from(t).map_err(|_| {
                    AppError::bad_input("input.timeoutSeconds", "input.timeoutSeconds: 1 to 86400")
                })
            })
            .transpose()?;
        Ok(Declaration {
            name: self.name,
            description: self.description.unwrap_or_default(),
            input_schema: self.input_schema.0,
            output_schema: self.output_schema.map(|j| j.0),
            artifact_schema: self.artifact_schema.map(|j| j.0),
            artifact_kind: self.artifact_kind,
            config_schema: self.config_schema.map(|j| j.0),
            requires_approval: self.requires_approval,
            next_on_approve: self.next_on_approve.map(Into::into),
            next_on_reject: self.next_on_reject.map(Into::into),
            timeout_seconds,
            max_attempts: self.max_attempts,
            retry_base_seconds: self.retry_base_seconds,
        })
    }
}

/// A claimed workflow: run it, then `completeWorkflow` or `failWorkflow`
/// with the handle.
#[derive(SimpleObject)]
pub struct Claim {
    /// The claim's fencing token; opaque, pass it back verbatim.
    pub handle: String,
    pub workflow: Workflow,
    /// Call `heartbeat` before this to keep the claim.
    pub lease_expires_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct WorkerMutations;

#[Object]
impl WorkerMutations {
    /// Declares a workflow type for external workers (ADMIN). Declaring
    /// the same content again returns the version in force; any change
    /// adds a version, and workflows already queued keep theirs.
    async fn declare_workflow_type(
        &self,
        ctx: &Context<'_>,
        input: DeclareWorkflowTypeInput,
    ) -> Result<WorkflowType> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let declared = workflow_types::declare(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            &principal,
            input.into_declaration()?,
        )
        .await?;
        state.hub.publish(declared.signals);
        Ok(WorkflowType(declared.spec))
    }

    /// Claims up to `limit` due workflows of the named declared types for
    /// this worker (a service token, or an admin). With `waitSeconds`, waits
    /// up to that long for one to become due (woken by new work, not by
    /// polling), then returns what it claimed, maybe nothing.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn claim_workflows(
        &self,
        ctx: &Context<'_>,
        types: Vec<String>,
        // Nullable with defaults, so a client may pass null for "default".
        #[graphql(default = 1, desc = "1 to 100.")] limit: Option<i32>,
        #[graphql(default = 60, desc = "5 to 3600; capped by the types' timeouts.")]
        lease_seconds: Option<i32>,
        #[graphql(default = 0, desc = "0 to 30.")] wait_seconds: Option<i32>,
    ) -> Result<Vec<Claim>> {
        let principal = require(ctx, Permission::Work)?;
        let state = state(ctx);
        let wait_seconds = wait_seconds.unwrap_or(0);
        if !(0..=MAX_WAIT_SECS).contains(&wait_seconds) {
            return Err(AppError::bad_input(
                "waitSeconds",
                format!("waitSeconds: 0 to {MAX_WAIT_SECS}"),
            )
            .into());
        }
        // Checked once; each wake-up below only tries the claim.
        let req = ClaimRequest::new(
            &state.db,
            &state.catalog,
            &principal,
            types,
            limit.unwrap_or(1),
            lease_seconds.unwrap_or(60),
        )
        .await?;
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(u64::try_from(wait_seconds).unwrap_or(0));
        loop {
            // Register for wake-ups before looking, so work committed
            // between the claim and the wait is not missed.
            let wake = state.hub.wake().notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            let (claims, signals) =
                workers::claim(&state.db, &state.stamp(&principal), &principal, &req).await?;
            state.hub.publish(signals);
            let now = tokio::time::Instant::now();
            if !claims.is_empty() || now >= deadline {
                return Ok(claims
                    .into_iter()
                    .map(|c| Claim {
                        handle: c.handle,
                        lease_expires_at: c.workflow.lease_expires_at,
                        workflow: Workflow(c.workflow),
                    })
                    .collect());
            }
            // Delayed retries and expired leases make no signal: look again
            // after the poll interval at the latest.
            let nap = state.config.engine.poll_interval.min(deadline - now);
            tokio::select! {
                _ = &mut wake => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Extends a claim's lease; returns when it now expires. `CONFLICT`
    /// when the claim is stale or the run passed its timeout (the attempt
    /// is then failed): stop working on it.
    async fn heartbeat(
        &self,
        ctx: &Context<'_>,
        handle: String,
        #[graphql(default = 60, desc = "5 to 3600.")] lease_seconds: Option<i32>,
    ) -> Result<DateTime<Utc>> {
        let principal = require(ctx, Permission::Work)?;
        let state = state(ctx);
        let lease = workers::lease_duration(lease_seconds.unwrap_or(60), "leaseSeconds")?;
        let beat = workers::heartbeat(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            &principal,
            &handle,
            lease,
        )
        .await?;
        match beat {
            Beat::Extended(until) => Ok(until),
            Beat::TimedOut { message, signals } => {
                state.hub.publish(signals);
                Err(AppError::Conflict(message).into())
            }
        }
    }

    /// Finishes a claimed run, in one transaction: output, artifact, and
    /// the approval (with the declared next steps) when the type requires
    /// one. Output and artifact must satisfy the type's schemas
    /// (`BAD_USER_INPUT`; the claim stays open). A stale claim is
    /// `CONFLICT` and writes nothing.
    async fn complete_workflow(
        &self,
        ctx: &Context<'_>,
        handle: String,
        output: Option<Json<Value>>,
        artifact: Option<Json<Value>>,
        #[graphql(desc = "Quality score shown in the queue, 0 to 100.")] score: Option<f64>,
    ) -> Result<Workflow> {
        let principal = require(ctx, Permission::Work)?;
        let state = state(ctx);
        let (row, signals) = workers::complete(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            &principal,
            &handle,
            Completion {
                output: output.map(|j| j.0),
                artifact: artifact.map(|j| j.0),
                score,
            },
        )
        .await?;
        state.hub.publish(signals);
        Ok(Workflow(row))
    }

    /// Ends a claimed run as failed: retried after the type's backoff when
    /// `retryable` and attempts remain (status PENDING), else FAILED.
    async fn fail_workflow(
        &self,
        ctx: &Context<'_>,
        handle: String,
        error: String,
        #[graphql(default_with = "Some(true)")] retryable: Option<bool>,
    ) -> Result<Workflow> {
        let principal = require(ctx, Permission::Work)?;
        let state = state(ctx);
        let (row, signals) = workers::fail(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            &principal,
            &handle,
            &error,
            retryable.unwrap_or(true),
        )
        .await?;
        state.hub.publish(signals);
        Ok(Workflow(row))
    }
}
