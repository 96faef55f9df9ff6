//! GraphQL object types. Each wraps an entity model and exposes chosen
//! fields; relations resolve through `domain` functions.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::approval::ApprovalStatus as DbApprovalStatus;
use entity::workflow::WorkflowStatus as DbWorkflowStatus;
use entity::{approval, artifact, deployment, event, llm_call, workflow};
use serde_json::Value;

use super::loaders::load;
use super::review::{ApprovalPolicy, Eligibility, Vote};
use super::state;
use crate::domain::page::Page;
use crate::domain::policies::Policy;
use crate::domain::{approvals, artifacts, events, llm_calls};

/// Where a workflow is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WorkflowStatus {
    /// Waiting for a worker (or for its retry time).
    Pending,
    /// A worker holds its lease and is running it.
    Running,
    /// Finished; its output, artifact and approval are stored.
    Completed,
    /// Gave up; `error` says why.
    Failed,
    /// Stopped by a person; `retryWorkflow` makes it pending again.
    Cancelled,
}

impl From<DbWorkflowStatus> for WorkflowStatus {
    fn from(s: DbWorkflowStatus) -> Self {
        match s {
            DbWorkflowStatus::Pending => WorkflowStatus::Pending,
            DbWorkflowStatus::Running => WorkflowStatus::Running,
            DbWorkflowStatus::Completed => WorkflowStatus::Completed,
            DbWorkflowStatus::Failed => WorkflowStatus::Failed,
            DbWorkflowStatus::Cancelled => WorkflowStatus::Cancelled,
        }
    }
}

impl From<WorkflowStatus> for DbWorkflowStatus {
    fn from(s: WorkflowStatus) -> Self {
        match s {
            WorkflowStatus::Pending => DbWorkflowStatus::Pending,
            WorkflowStatus::Running => DbWorkflowStatus::Running,
            WorkflowStatus::Completed => DbWorkflowStatus::Completed,
            WorkflowStatus::Failed => DbWorkflowStatus::Failed,
            WorkflowStatus::Cancelled => DbWorkflowStatus::Cancelled,
        }
    }
}

/// Where an approval is; it leaves PENDING at most once.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
    Cancelled,
}

impl From<DbApprovalStatus> for ApprovalStatus {
    fn from(s: DbApprovalStatus) -> Self {
        match s {
            DbApprovalStatus::Pending => ApprovalStatus::Pending,
            DbApprovalStatus::Approved => ApprovalStatus::Approved,
            DbApprovalStatus::Rejected => ApprovalStatus::Rejected,
            DbApprovalStatus::Expired => ApprovalStatus::Expired,
            DbApprovalStatus::Cancelled => ApprovalStatus::Cancelled,
        }
    }
}

impl From<ApprovalStatus> for DbApprovalStatus {
    fn from(s: ApprovalStatus) -> Self {
        match s {
            ApprovalStatus::Pending => DbApprovalStatus::Pending,
            ApprovalStatus::Approved => DbApprovalStatus::Approved,
            ApprovalStatus::Rejected => DbApprovalStatus::Rejected,
            ApprovalStatus::Expired => DbApprovalStatus::Expired,
            ApprovalStatus::Cancelled => DbApprovalStatus::Cancelled,
        }
    }
}

/// One run of a workflow type.
pub struct Workflow(pub workflow::Model);

#[Object]
impl Workflow {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The workflow type's name, e.g. `generate_draft`.
    #[graphql(name = "type")]
    async fn workflow_type(&self) -> &str {
        &self.0.workflow_type
    }
    /// The declared type's version it was created with (null for built-in
    /// types): the schemas it is held to.
    async fn type_version(&self) -> Option<i32> {
        self.0.type_version
    }
    /// The workflow this one is a run of (an experiment over a declared
    /// type starts its runs as children, which open no approvals).
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent_id.map(|id| ID(id.to_string()))
    }
    /// The score its worker reported with the completion (external workers).
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    async fn status(&self) -> WorkflowStatus {
        self.0.status.into()
    }
    /// The input it was started with (validated against its type's schema).
    async fn input(&self) -> Json<&Value> {
        Json(&self.0.input)
    }
    /// What the run produced; null until it completes.
    async fn output(&self) -> Option<Json<&Value>> {
        self.0.output.as_ref().map(Json)
    }
    /// The last error: of the failed attempt while retrying, or why it gave up.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Attempts so far (a claim whose worker died counts as one).
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// Not claimed before this time (the backoff after a failed attempt).
    async fn run_after(&self) -> DateTime<Utc> {
        self.0.run_after
    }
    /// The first workflow of the chain this one belongs to.
    async fn chain_id(&self) -> ID {
        ID(self.0.chain_id.to_string())
    }
    async fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the current (or last) attempt started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// The approval whose decision started this workflow, if any.
    async fn triggered_by_approval(&self, ctx: &Context<'_>) -> Result<Option<Approval>> {
        let Some(id) = self.0.triggered_by_approval_id else {
            return Ok(None);
        };
        Ok(load::approval(ctx, id).await?.map(Approval))
    }
    /// The approval this workflow asked for when it finished, if any.
    async fn approval(&self, ctx: &Context<'_>) -> Result<Option<Approval>> {
        Ok(load::approval_of_workflow(ctx, self.0.id)
            .await?
            .map(Approval))
    }
    /// Artifacts it stored, oldest first.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn artifacts(&self, ctx: &Context<'_>) -> Result<Vec<Artifact>> {
        let rows = load::artifacts_of_workflow(ctx, self.0.id).await?;
        Ok(rows.into_iter().map(Artifact).collect())
    }
    /// Every workflow of its chain in order: the lineage from the first
    /// workflow through each decision.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn chain(&self, ctx: &Context<'_>) -> Result<Vec<Workflow>> {
        Ok(load::chain(ctx, self.0.chain_id)
            .await?
            .into_iter()
            .map(Workflow)
            .collect())
    }
    /// The model calls it made, attempts included.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn llm_calls(&self, ctx: &Context<'_>) -> Result<Vec<LlmCall>> {
        let rows = llm_calls::for_workflow(&state(ctx).db, self.0.id)
            .await
            .map_err(crate::error::AppError::from)?;
        Ok(rows.into_iter().map(LlmCall).collect())
    }
    /// Its audit trail, oldest first.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<Event>> {
        let rows = events::for_subject(&state(ctx).db, Some(self.0.id), None)
            .await
            .map_err(crate::error::AppError::from)?;
        Ok(rows.into_iter().map(Event).collect())
    }
}

/// A request for a person's decision on a workflow's artifact.
pub struct Approval(pub approval::Model);

#[Object]
impl Approval {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> ApprovalStatus {
        self.0.status.into()
    }
    /// What kind of artifact is under review (`draft`, `experiment_results`, …).
    async fn artifact_type(&self) -> &str {
        &self.0.artifact_type
    }
    /// What the reviewer sees, as the workflow stored it.
    async fn artifact_data(&self) -> Json<&Value> {
        Json(&self.0.artifact_data)
    }
    /// Quality score (0–100) when the workflow scored its artifact.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    async fn artifact(&self, ctx: &Context<'_>) -> Result<Option<Artifact>> {
        let Some(id) = self.0.artifact_id else {
            return Ok(None);
        };
        Ok(load::artifact(ctx, id).await?.map(Artifact))
    }
    /// The workflow that asked for this approval.
    async fn workflow(&self, ctx: &Context<'_>) -> Result<Workflow> {
        Ok(Workflow(
            load::existing_workflow(ctx, self.0.workflow_id).await?,
        ))
    }
    /// The experiment under review, for `experiment_results` approvals.
    async fn experiment(&self, ctx: &Context<'_>) -> Result<Option<super::experiment::Experiment>> {
        if self.0.artifact_type != crate::workflows::run_experiment::ARTIFACT_KIND {
            return Ok(None);
        }
        let id = self.0.workflow_id;
        Ok(crate::workflows::run_experiment::load(&state(ctx).db, id)
            .await?
            .map(|r| super::experiment::Experiment::from_results(id, r)))
    }
    async fn chain_id(&self) -> ID {
        ID(self.0.chain_id.to_string())
    }
    /// The workflow type approving starts, if any.
    async fn next_workflow_type(&self) -> Option<&str> {
        self.0.next_workflow_type.as_deref()
    }
    /// The workflow type rejecting starts, if any.
    async fn reject_workflow_type(&self) -> Option<&str> {
        self.0.reject_workflow_type.as_deref()
    }
    /// Whether rejecting starts its follow-up only when feedback is given.
    async fn reject_requires_feedback(&self) -> bool {
        self.0.reject_requires_feedback
    }
    /// The workflow the decision started, once decided.
    async fn next_workflow(&self, ctx: &Context<'_>) -> Result<Option<Workflow>> {
        let Some(id) = self.0.next_workflow_id else {
            return Ok(None);
        };
        Ok(load::workflow(ctx, id).await?.map(Workflow))
    }
    /// Who decided.
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }
    async fn feedback(&self) -> Option<&str> {
        self.0.feedback.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// After this time the approval expires and can no longer be decided.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The version of the artifact the approval shows now (0: it has no
    /// artifact). A decision names it (`approve(id, version)`); a reviewer's
    /// edit raises it.
    async fn artifact_version(&self) -> i32 {
        self.0.artifact_version
    }
    /// Hex SHA-256 of that version's content (canonical JSON).
    async fn artifact_sha256(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self.0.artifact_id else {
            return Ok(None);
        };
        Ok(load::artifact(ctx, id)
            .await?
            .map(|a| artifacts::sha256_of(&a)))
    }
    /// The approval policy in force when the approval was created.
    /// (`workflowType` names the type whose policy it is: the approval's
    /// own, or the chain's first type when its own has none.)
    async fn policy(&self, ctx: &Context<'_>) -> Result<ApprovalPolicy> {
        let source = match Policy::source_type(self.0.policy.as_ref()) {
            Some(t) => t,
            None => {
                load::existing_workflow(ctx, self.0.workflow_id)
                    .await?
                    .workflow_type
            }
        };
        Ok(ApprovalPolicy::snapshot(
            source,
            Policy::from_json(self.0.policy.as_ref()),
        ))
    }
    /// Every vote so far, oldest first.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn votes(&self, ctx: &Context<'_>) -> Result<Vec<Vote>> {
        Ok(load::votes(ctx, self.0.id)
            .await?
            .into_iter()
            .map(|model| Vote {
                model,
                current_version: self.0.artifact_version,
            })
            .collect())
    }
    /// Approving votes on the current version (the 1 of "1 of 2").
    async fn approvals_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let votes = load::votes(ctx, self.0.id).await?;
        Ok(approvals::approving(&self.0, &votes) as i32)
    }
    /// How many distinct approvals decide it (the 2 of "1 of 2").
    async fn required_approvals(&self) -> i32 {
        Policy::from_json(self.0.policy.as_ref()).required_approvals as i32
    }
    /// Who started the chain.
    async fn started_by(&self) -> &str {
        &self.0.started_by
    }
    /// Whether the caller may vote on it now, and why not.
    async fn viewer_can_decide(&self, ctx: &Context<'_>) -> Result<Eligibility> {
        let p = super::principal(ctx);
        let refusal = if self.0.status != DbApprovalStatus::Pending {
            Some(format!(
                "it is already {}",
                approvals::status_word(self.0.status)
            ))
        } else if !p.is_authenticated() {
            Some("sign in to decide".to_string())
        } else if let Some(why) =
            Policy::from_json(self.0.policy.as_ref()).refusal(&p, &self.0.started_by)
        {
            Some(why)
        } else {
            let votes = load::votes(ctx, self.0.id).await?;
            votes
                .iter()
                .find(|v| v.reviewer == p.id && v.artifact_version == self.0.artifact_version)
                .map(|v| {
                    format!(
                        "you already voted to {} version {}",
                        approvals::decision_word(v.decision),
                        v.artifact_version
                    )
                })
        };
        Ok(Eligibility {
            allowed: refusal.is_none(),
            reason: refusal,
        })
    }
}

/// A stored output: a draft, experiment results, a config. Revisions point
/// at their parent.
pub struct Artifact(pub artifact::Model);

#[Object]
impl Artifact {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn content(&self) -> Json<&Value> {
        Json(&self.0.content)
    }
    /// 1 for a first version; a revision has its parent's version + 1.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The previous revision.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Artifact>> {
        let Some(id) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(load::artifact(ctx, id).await?.map(Artifact))
    }
    async fn workflow(&self, ctx: &Context<'_>) -> Result<Workflow> {
        Ok(Workflow(
            load::existing_workflow(ctx, self.0.workflow_id).await?,
        ))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Hex SHA-256 of the content's canonical JSON (keys sorted, compact):
    /// what the next workflow's input names as `artifact_sha256`.
    async fn sha256(&self) -> String {
        artifacts::sha256_of(&self.0)
    }
    /// Who wrote this version: null when its workflow did, else the
    /// reviewer who edited it.
    async fn author(&self) -> Option<&str> {
        self.0.author.as_deref()
    }
}

/// A config that is (or was) live for a workflow type in an environment.
pub struct Deployment(pub deployment::Model);

#[Object]
impl Deployment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The workflow type configured, e.g. `generate_draft`.
    async fn target(&self) -> &str {
        &self.0.target
    }
    /// e.g. `production`.
    async fn environment(&self) -> &str {
        &self.0.environment
    }
    /// The configuration (model, temperature, prompt variant, …).
    async fn config(&self) -> Json<&Value> {
        Json(&self.0.config)
    }
    /// Whether this is the config in use now.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The approval that allowed it; null for a rollback.
    async fn approval(&self, ctx: &Context<'_>) -> Result<Option<Approval>> {
        let Some(id) = self.0.approval_id else {
            return Ok(None);
        };
        Ok(load::approval(ctx, id).await?.map(Approval))
    }
    /// The experiment (its `run_experiment` workflow) that chose the config.
    async fn experiment_id(&self) -> Option<ID> {
        self.0.experiment_id.map(|id| ID(id.to_string()))
    }
    /// For a rollback: the deployment whose config it re-activated.
    async fn rolled_back_from(&self) -> Option<ID> {
        self.0.rolled_back_from.map(|id| ID(id.to_string()))
    }
    async fn deployed_by(&self) -> &str {
        &self.0.deployed_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One model call.
pub struct LlmCall(pub llm_call::Model);

#[Object]
impl LlmCall {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it was for: `draft`, `merge`, `judge`, `revise`, ….
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    /// `openai-compatible` or `offline`.
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    async fn model(&self) -> &str {
        &self.0.model
    }
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn prompt_tokens(&self) -> i32 {
        self.0.prompt_tokens
    }
    async fn completion_tokens(&self) -> i32 {
        self.0.completion_tokens
    }
    async fn latency_ms(&self) -> i64 {
        self.0.latency_ms
    }
    /// Estimated from list prices; null for models without a known price.
    async fn cost_usd(&self) -> Option<f64> {
        self.0.cost_usd
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One entry of the audit trail.
pub struct Event(pub event::Model);

#[Object]
impl Event {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// e.g. `workflow.completed`, `approval.decided`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who caused it (`system` for the engine).
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// The actor's role when it acted; null for the engine.
    async fn actor_role(&self) -> Option<super::identity::Role> {
        self.0.actor_role.map(Into::into)
    }
    async fn payload(&self) -> Json<&Value> {
        Json(&self.0.payload)
    }
}

/// Relay page information.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

pub(crate) fn page_info<T>(page: &Page<T>) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: page.items.first().map(|(c, _)| c.encode()),
        end_cursor: page.items.last().map(|(c, _)| c.encode()),
    }
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ident, $model:ty) => {
        #[doc = concat!("An edge to a ", stringify!($node), ".")]
        #[derive(SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[doc = concat!("A page of ", stringify!($node), "s (Relay cursor connection).")]
        #[derive(SimpleObject)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
        }

        impl From<Page<$model>> for $conn {
            fn from(page: Page<$model>) -> Self {
                let page_info = page_info(&page);
                $conn {
                    edges: page
                        .items
                        .into_iter()
                        .map(|(c, m)| $edge {
                            cursor: c.encode(),
                            node: $node(m),
                        })
                        .collect(),
                    page_info,
                }
            }
        }
    };
}

connection!(WorkflowConnection, WorkflowEdge, Workflow, workflow::Model);
connection!(ApprovalConnection, ApprovalEdge, Approval, approval::Model);
connection!(
    DeploymentConnection,
    DeploymentEdge,
    Deployment,
    deployment::Model
);

/// Which workflows to list.
#[derive(InputObject, Default)]
pub struct WorkflowFilter {
    #[graphql(name = "type")]
    pub workflow_type: Option<String>,
    pub status: Option<WorkflowStatus>,
    pub chain_id: Option<ID>,
}

/// Which approvals to list.
#[derive(InputObject, Default)]
pub struct ApprovalFilter {
    pub status: Option<ApprovalStatus>,
    pub artifact_type: Option<String>,
    pub workflow_id: Option<ID>,
    pub chain_id: Option<ID>,
}

/// Starts a workflow.
#[derive(InputObject)]
pub struct RunWorkflowInput {
    /// A type from `workflowTypes`, e.g. `generate_draft`.
    #[graphql(name = "type")]
    pub workflow_type: String,
    /// Checked against the type's `inputSchema`.
    pub input: Json<Value>,
    /// A repeat with the same key returns the first call's workflow.
    pub idempotency_key: Option<String>,
    /// Answer when the workflow has finished (or the server's wait limit
    /// passed, or `waitTimeoutMs`), instead of at once.
    #[graphql(default = false)]
    pub wait: bool,
    /// Upper bound for `wait`, in milliseconds (capped by the server's limit).
    pub wait_timeout_ms: Option<i32>,
}

/// What `runWorkflow` did.
#[derive(SimpleObject)]
pub struct RunWorkflowPayload {
    pub workflow: Workflow,
    /// The approval the workflow asked for, when it has finished (`wait: true`).
    pub approval: Option<Approval>,
    /// False when an earlier call with the same idempotency key created it.
    pub created: bool,
}

/// What a vote changed.
#[derive(SimpleObject)]
pub struct DecideApprovalPayload {
    /// The approval as it is now: decided, or still pending when more
    /// approvals are needed.
    pub approval: Approval,
    /// The workflow the decision started, if this vote decided it and the
    /// approval has a follow-up.
    pub next_workflow: Option<Workflow>,
    /// The vote recorded.
    pub vote: Vote,
    /// True when this vote decided the approval (the k-th approval, or a
    /// rejection).
    pub decided: bool,
}

/// What happened to an approval.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalEventKind {
    Created,
    Decided,
    Expired,
}

/// Pushed by `approvalEvents`.
#[derive(SimpleObject)]
pub struct ApprovalEvent {
    pub kind: ApprovalEventKind,
    pub approval: Approval,
}

/// Why one item of a batch was not done.
#[derive(SimpleObject)]
pub struct BatchItemError {
    /// The same code a single mutation would answer (`CONFLICT`, `NOT_FOUND`, …).
    pub code: String,
    pub message: String,
}

/// The outcome for one id of a batch decision.
#[derive(SimpleObject)]
pub struct BatchDecisionResult {
    /// The id as given.
    pub id: ID,
    pub ok: bool,
    /// The decided approval, when `ok`.
    pub approval: Option<Approval>,
    /// The workflow the decision started, if any.
    pub next_workflow: Option<Workflow>,
    /// Why it was not decided, when not `ok`.
    pub error: Option<BatchItemError>,
}

/// What a batch decision did, item by item, in the order given.
#[derive(SimpleObject)]
pub struct BatchDecisionPayload {
    pub results: Vec<BatchDecisionResult>,
    /// How many were decided by this call.
    pub decided: i32,
}

/// What happened to a workflow.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WorkflowEventKind {
    Created,
    /// An attempt failed; it runs again after its backoff.
    Retrying,
    Completed,
    Failed,
    Cancelled,
    /// Made pending again by `retryWorkflow`.
    Retried,
    /// Given back by a worker that shut down; pending again.
    Released,
}

impl WorkflowEventKind {
    pub fn from_kind(kind: &str) -> Option<WorkflowEventKind> {
        use crate::domain::events::kind as k;
        Some(match kind {
            k::WORKFLOW_CREATED => WorkflowEventKind::Created,
            k::WORKFLOW_RETRYING => WorkflowEventKind::Retrying,
            k::WORKFLOW_COMPLETED => WorkflowEventKind::Completed,
            k::WORKFLOW_FAILED => WorkflowEventKind::Failed,
            k::WORKFLOW_CANCELLED => WorkflowEventKind::Cancelled,
            k::WORKFLOW_RETRIED => WorkflowEventKind::Retried,
            k::WORKFLOW_RELEASED => WorkflowEventKind::Released,
            _ => return None,
        })
    }
}

/// Pushed by `workflowEvents`.
#[derive(SimpleObject)]
pub struct WorkflowEvent {
    pub kind: WorkflowEventKind,
    /// The workflow as it is when the event is delivered.
    pub workflow: Workflow,
}

/// A number of pending approvals of one artifact type.
#[derive(SimpleObject)]
pub struct ArtifactTypeCount {
    pub artifact_type: String,
    pub count: i32,
}
