//! Query root.

use async_graphql::{Context, ID, Object, Result};

use super::error::parse_id;
use super::experiment::Experiment;
use super::identity::{ApiToken, User, Viewer};
use super::notify::{DeliveryConnection, DeliveryFilter, Webhook};
use super::review::{ApprovalPolicy, HistoryEvent};
use super::types::{
    Approval, ApprovalConnection, ApprovalFilter, Artifact, ArtifactTypeCount, Deployment,
    DeploymentConnection, Workflow, WorkflowConnection, WorkflowFilter,
};
use super::workers::WorkflowType;
use super::{principal, require, state};
use crate::domain::page::{Order, PageRequest};
use crate::domain::principal::Permission;
use crate::domain::{approvals, artifacts, deployments, workflows};
use crate::domain::{history, identity, outbox, policies, webhooks};
use crate::error::AppResult;
use crate::workflows::run_experiment;
use entity::approval::ApprovalStatus as DbApprovalStatus;

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// One workflow by id; null when there is none.
    async fn workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Workflow>> {
        require(ctx, Permission::Read)?;
        let id = parse_id("id", &id)?;
        Ok(workflows::get(&state(ctx).db, id).await?.map(Workflow))
    }

    /// Workflows, newest first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn workflows(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkflowFilter>,
        #[graphql(
            desc = "Page size, 1 to the server's maximum (100 unless BATON_MAX_PAGE_SIZE says otherwise); default 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "The endCursor of the previous page.")] after: Option<String>,
    ) -> Result<WorkflowConnection> {
        require(ctx, Permission::Read)?;
        let page = page_request(ctx, first, after.as_deref(), Order::NewestFirst)?;
        let filter = filter.unwrap_or_default();
        let filter = workflows::WorkflowFilter {
            workflow_type: filter.workflow_type,
            status: filter.status.map(Into::into),
            chain_id: filter
                .chain_id
                .as_ref()
                .map(|c| parse_id("filter.chainId", c))
                .transpose()?,
        };
        Ok(workflows::list(&state(ctx).db, &filter, &page)
            .await?
            .into())
    }

    /// One approval by id; null when there is none.
    async fn approval(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Approval>> {
        require(ctx, Permission::Read)?;
        let id = parse_id("id", &id)?;
        Ok(approvals::get(&state(ctx).db, id).await?.map(Approval))
    }

    /// Approvals, newest first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApprovalFilter>,
        #[graphql(
            desc = "Page size, 1 to the server's maximum (100 unless BATON_MAX_PAGE_SIZE says otherwise); default 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "The endCursor of the previous page.")] after: Option<String>,
    ) -> Result<ApprovalConnection> {
        require(ctx, Permission::Read)?;
        let page = page_request(ctx, first, after.as_deref(), Order::NewestFirst)?;
        let filter = filter.unwrap_or_default();
        let filter = approvals::ApprovalFilter {
            status: filter.status.map(Into::into),
            artifact_type: filter.artifact_type,
            workflow_id: parse_opt("filter.workflowId", filter.workflow_id.as_ref())?,
            chain_id: parse_opt("filter.chainId", filter.chain_id.as_ref())?,
        };
        Ok(approvals::list(&state(ctx).db, &filter, &page)
            .await?
            .into())
    }

    /// The reviewer's queue: pending approvals, oldest first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn pending_approvals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only approvals of this artifact type.")] artifact_type: Option<String>,
        #[graphql(
            desc = "Page size, 1 to the server's maximum (100 unless BATON_MAX_PAGE_SIZE says otherwise); default 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "The endCursor of the previous page.")] after: Option<String>,
    ) -> Result<ApprovalConnection> {
        require(ctx, Permission::Read)?;
        let page = page_request(ctx, first, after.as_deref(), Order::OldestFirst)?;
        let filter = approvals::ApprovalFilter {
            status: Some(DbApprovalStatus::Pending),
            artifact_type,
            ..Default::default()
        };
        Ok(approvals::list(&state(ctx).db, &filter, &page)
            .await?
            .into())
    }

    /// How many approvals are pending, per artifact type (most first).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn pending_approval_counts(&self, ctx: &Context<'_>) -> Result<Vec<ArtifactTypeCount>> {
        require(ctx, Permission::Read)?;
        Ok(approvals::pending_counts(&state(ctx).db)
            .await?
            .into_iter()
            .map(|(artifact_type, n)| ArtifactTypeCount {
                artifact_type,
                count: i32::try_from(n).unwrap_or(i32::MAX),
            })
            .collect())
    }

    /// One artifact by id; null when there is none.
    async fn artifact(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Artifact>> {
        require(ctx, Permission::Read)?;
        let id = parse_id("id", &id)?;
        Ok(artifacts::get(&state(ctx).db, id).await?.map(Artifact))
    }

    /// The config a workflow type uses now in an environment; null when
    /// nothing was deployed (the type's defaults apply).
    async fn active_deployment(
        &self,
        ctx: &Context<'_>,
        target: String,
        environment: String,
    ) -> Result<Option<Deployment>> {
        require(ctx, Permission::Read)?;
        Ok(deployments::active(&state(ctx).db, &target, &environment)
            .await?
            .map(Deployment))
    }

    /// Deployment history, newest first.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        target: Option<String>,
        environment: Option<String>,
        #[graphql(
            desc = "Page size, 1 to the server's maximum (100 unless BATON_MAX_PAGE_SIZE says otherwise); default 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "The endCursor of the previous page.")] after: Option<String>,
    ) -> Result<DeploymentConnection> {
        require(ctx, Permission::Read)?;
        let page = page_request(ctx, first, after.as_deref(), Order::NewestFirst)?;
        Ok(deployments::list(
            &state(ctx).db,
            target.as_deref(),
            environment.as_deref(),
            &page,
        )
        .await?
        .into())
    }

    /// A Taguchi experiment by the id of its `run_experiment` workflow;
    /// null until that workflow has finished (or when there is none).
    async fn experiment(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Experiment>> {
        require(ctx, Permission::Read)?;
        let id = parse_id("id", &id)?;
        Ok(run_experiment::load(&state(ctx).db, id)
            .await?
            .map(|r| Experiment::from_results(id, r)))
    }

    /// Every workflow type: the built-in ones, and the latest version of
    /// each declared one.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn workflow_types(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowType>> {
        require(ctx, Permission::Read)?;
        let st = state(ctx);
        Ok(st
            .catalog
            .all(&st.db)
            .await?
            .into_iter()
            .map(WorkflowType)
            .collect())
    }

    /// One workflow type, at `version` (default: the latest); null when
    /// there is no such type or version.
    async fn workflow_type(
        &self,
        ctx: &Context<'_>,
        name: String,
        version: Option<i32>,
    ) -> Result<Option<WorkflowType>> {
        require(ctx, Permission::Read)?;
        let st = state(ctx);
        Ok(st
            .catalog
            .get_version(&st.db, &name, version)
            .await?
            .map(WorkflowType))
    }

    /// The caller: who they are, their role and how they signed in; null
    /// when the request carries no credential.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<Viewer> {
        let p = principal(ctx);
        p.is_authenticated().then_some(Viewer(p))
    }

    /// Every user, by name (ADMIN).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "Also list disabled users.")] include_disabled: bool,
    ) -> Result<Vec<User>> {
        require(ctx, Permission::Admin)?;
        Ok(identity::list_users(&state(ctx).db, include_disabled)
            .await?
            .into_iter()
            .map(User)
            .collect())
    }

    /// API tokens, newest first, never their secrets (ADMIN).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "Also list revoked tokens.")] include_revoked: bool,
    ) -> Result<Vec<ApiToken>> {
        require(ctx, Permission::Admin)?;
        Ok(identity::list_tokens(&state(ctx).db, include_revoked)
            .await?
            .into_iter()
            .map(ApiToken)
            .collect())
    }

    /// The approval policy of every workflow type that asks for approval
    /// (the default where none was set).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn approval_policies(&self, ctx: &Context<'_>) -> Result<Vec<ApprovalPolicy>> {
        require(ctx, Permission::Read)?;
        let st = state(ctx);
        Ok(policies::all(&st.db, &st.catalog)
            .await?
            .into_iter()
            .map(ApprovalPolicy)
            .collect())
    }

    /// The approval policy in force for one workflow type.
    async fn approval_policy(
        &self,
        ctx: &Context<'_>,
        workflow_type: String,
    ) -> Result<ApprovalPolicy> {
        require(ctx, Permission::Read)?;
        let st = state(ctx);
        st.catalog
            .require(&st.db, &workflow_type, "workflowType")
            .await?;
        Ok(ApprovalPolicy(
            policies::effective(&st.db, &workflow_type).await?,
        ))
    }

    /// Every webhook (ADMIN).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        require(ctx, Permission::Admin)?;
        Ok(webhooks::list(&state(ctx).db)
            .await?
            .into_iter()
            .map(Webhook)
            .collect())
    }

    /// The delivery log, newest first (ADMIN): status, attempts, the
    /// receiver's last answer, the next try.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeliveryFilter>,
        #[graphql(
            desc = "Page size, 1 to the server's maximum (100 unless BATON_MAX_PAGE_SIZE says otherwise); default 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "The endCursor of the previous page.")] after: Option<String>,
    ) -> Result<DeliveryConnection> {
        require(ctx, Permission::Admin)?;
        let page = page_request(ctx, first, after.as_deref(), Order::NewestFirst)?;
        let f = filter.unwrap_or_default();
        let filter = outbox::DeliveryFilter {
            status: f.status.map(Into::into),
            target_id: parse_opt("filter.webhookId", f.webhook_id.as_ref())?,
            event_type: f.event_type,
        };
        Ok(outbox::list(&state(ctx).db, &filter, &page).await?.into())
    }

    /// Everything recorded about a chain, in order: who started what, the
    /// judge's scores, each vote and edit, the policy in force, what was
    /// deployed and by whom. At most 5,000 events.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn history(&self, ctx: &Context<'_>, chain_id: ID) -> Result<Vec<HistoryEvent>> {
        require(ctx, Permission::Read)?;
        let id = parse_id("chainId", &chain_id)?;
        Ok(history::for_chain(&state(ctx).db, id)
            .await?
            .into_iter()
            .map(HistoryEvent)
            .collect())
    }
}

fn parse_opt(arg: &str, id: Option<&ID>) -> AppResult<Option<uuid::Uuid>> {
    id.map(|i| parse_id(arg, i)).transpose()
}

/// A page request checked against this server's `first` maximum
/// (`BATON_MAX_PAGE_SIZE`).
fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<&str>,
    order: Order,
) -> AppResult<PageRequest> {
    PageRequest::new(first, after, order, state(ctx).config.limits.max_page_size)
}
