//! Mutation root.

use std::time::Duration;

use async_graphql::{Context, ID, Json, Object, Result};
use entity::workflow::WorkflowStatus as DbStatus;
use serde_json::Value;

use super::error::parse_id;
use super::identity::{
    ApiToken, CreateTokenInput, CreateTokenPayload, CreateUserInput, CreateUserPayload, SignInLink,
    User,
};
use super::notify::{
    CreateWebhookInput, Delivery, UpdateWebhookInput, Webhook, WebhookSecretPayload,
};
use super::review::{ApprovalPolicy, ApprovalPolicyInput, DecisionItem, Vote};
use super::types::{
    Approval, BatchDecisionPayload, BatchDecisionResult, BatchItemError, DecideApprovalPayload,
    Deployment, RunWorkflowInput, RunWorkflowPayload, Workflow,
};
use super::workers::WorkerMutations;
use super::{require, spend, state};
use crate::domain::approvals::{self, Ballot, Decision};
use crate::domain::events::kind;
use crate::domain::identity::{self, NewToken, NewUser};
use crate::domain::principal::Permission;
use crate::domain::webhooks::{self, WebhookSpec};
use crate::domain::workflows::{self, Submission};
use crate::domain::{outbox, policies, sessions};
use crate::engine::signals::Notice;
use crate::error::AppError;
use crate::ratelimit::Kind;
use crate::state::AppState;

/// The root mutations, merged from one object per concern.
#[derive(async_graphql::MergedObject, Default)]
pub struct MutationRoot(CoreMutations, NotifyMutations, WorkerMutations);

#[derive(Default)]
pub struct CoreMutations;

/// Webhooks and the delivery log.
#[derive(Default)]
pub struct NotifyMutations;

#[Object]
impl CoreMutations {
    /// Starts a workflow. Answers at once with the pending workflow, or with
    /// `wait: true` when it has finished (with its approval), bounded by a
    /// timeout after which the workflow is returned as it is then.
    async fn run_workflow(
        &self,
        ctx: &Context<'_>,
        input: RunWorkflowInput,
    ) -> Result<RunWorkflowPayload> {
        let principal = require(ctx, Permission::Submit)?;
        spend(ctx, &principal, Kind::Runs, 1)?;
        let state = state(ctx);
        let stamp = state.stamp(&principal);
        // Subscribe before writing, so the completion cannot slip past.
        let notices = input.wait.then(|| state.hub.subscribe());
        let submitted = workflows::submit(
            &state.db,
            &state.catalog,
            &stamp,
            &principal,
            Submission {
                workflow_type: input.workflow_type,
                input: input.input.0,
                idempotency_key: input.idempotency_key,
            },
        )
        .await?;
        state.hub.publish(submitted.signals);
        let mut workflow = submitted.workflow;
        if let Some(notices) = notices {
            let limit = match input.wait_timeout_ms {
                Some(ms) if ms <= 0 => {
                    return Err(AppError::bad_input(
                        "input.waitTimeoutMs",
                        "waitTimeoutMs must be positive",
                    )
                    .into());
                }
                Some(ms) => Duration::from_millis(ms as u64).min(state.config.max_wait),
                None => state.config.max_wait,
            };
            workflow = wait_until_finished(state, workflow, notices, limit).await?;
        }
        let approval = if workflow.status == DbStatus::Completed {
            approvals::for_workflow(&state.db, workflow.id)
                .await?
                .map(Approval)
        } else {
            None
        };
        Ok(RunWorkflowPayload {
            workflow: Workflow(workflow),
            approval,
            created: submitted.created,
        })
    }

    /// Votes to approve, on the artifact version the reviewer read
    /// (`Approval.artifactVersion`). With `edits` (a JSON merge patch of the
    /// artifact's editable fields) the edited content is stored as a new
    /// version first, and that is what is approved. The k-th approval the
    /// policy requires decides it and starts what follows in the same
    /// transaction. `CONFLICT` (with `extensions.currentVersion`,
    /// `decidedBy`, `decidedAt`) when the version is stale, the approval was
    /// decided, or this reviewer already voted; `FORBIDDEN` when the policy
    /// does not let the caller decide.
    async fn approve(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(desc = "The artifact version the decision is made on.")] version: i32,
        feedback: Option<String>,
        #[graphql(desc = "A JSON merge patch (RFC 7396) of the artifact's content.")] edits: Option<
            Json<Value>,
        >,
    ) -> Result<DecideApprovalPayload> {
        let ballot = Ballot {
            decision: Decision::Approve,
            version,
            feedback,
            edits: edits.map(|e| e.0),
        };
        decide(ctx, id, ballot).await
    }

    /// Votes to reject; one eligible rejection decides the approval and
    /// starts the rejection follow-up when it has one (some require
    /// feedback). Errors as for `approve`.
    async fn reject(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(desc = "The artifact version the decision is made on.")] version: i32,
        feedback: Option<String>,
    ) -> Result<DecideApprovalPayload> {
        let ballot = Ballot {
            decision: Decision::Reject,
            version,
            feedback,
            edits: None,
        };
        decide(ctx, id, ballot).await
    }

    /// Votes to approve several approvals, each on the version given. Each
    /// vote is its own transaction; the result says, per item, what
    /// happened and why not (`CONFLICT`, `FORBIDDEN`, …). At most 100.
    async fn approve_many(
        &self,
        ctx: &Context<'_>,
        items: Vec<DecisionItem>,
        feedback: Option<String>,
    ) -> Result<BatchDecisionPayload> {
        decide_many(ctx, items, Decision::Approve, feedback).await
    }

    /// Votes to reject several approvals; see `approveMany`.
    async fn reject_many(
        &self,
        ctx: &Context<'_>,
        items: Vec<DecisionItem>,
        feedback: Option<String>,
    ) -> Result<BatchDecisionPayload> {
        decide_many(ctx, items, Decision::Reject, feedback).await
    }

    /// Activates the config of an earlier deployment again (ADMIN). The
    /// rollback is recorded as a new deployment (`rolledBackFrom` names the
    /// earlier one).
    async fn rollback_deployment(&self, ctx: &Context<'_>, id: ID) -> Result<Deployment> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (d, signals) = crate::domain::deployments::rollback(
            &state.db,
            &state.stamp(&principal),
            &principal,
            id,
        )
        .await?;
        state.hub.publish(signals);
        Ok(Deployment(d))
    }

    /// Stops a pending or running workflow (its creator, or an admin).
    /// `CONFLICT` once it has finished.
    async fn cancel_workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Workflow> {
        let principal = require(ctx, Permission::Submit)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (w, signals) = workflows::cancel(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            &principal,
            id,
        )
        .await?;
        state.hub.publish(signals);
        Ok(Workflow(w))
    }

    /// Runs a failed or cancelled workflow again with a fresh attempt budget
    /// (its creator, or an admin).
    async fn retry_workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Workflow> {
        let principal = require(ctx, Permission::Submit)?;
        spend(ctx, &principal, Kind::Runs, 1)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (w, signals) = workflows::retry(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            &principal,
            id,
        )
        .await?;
        state.hub.publish(signals);
        Ok(Workflow(w))
    }

    /// Adds a person and returns a one-time sign-in link for them (ADMIN).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> Result<CreateUserPayload> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let stamp = state.stamp(&principal);
        let (user, signal) = identity::create_user(
            &state.db,
            &stamp,
            NewUser {
                name: input.name,
                email: input.email,
                role: input.role.into(),
            },
        )
        .await
        .map_err(with_input_prefix)?;
        state.hub.publish([signal]);
        let (code, expires_at) = sessions::issue_code(&state.db, &stamp, user.id).await?;
        Ok(CreateUserPayload {
            user: User(user),
            sign_in_link: SignInLink {
                url: sessions::sign_in_url(&state.config.public_url(), &code),
                expires_at,
            },
        })
    }

    /// Disables a user (ADMIN): their tokens and sessions stop working at
    /// once and their open subscriptions are closed.
    async fn disable_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (user, signal) =
            identity::disable_user(&state.db, &state.stamp(&principal), id).await?;
        // At once here; other processes empty theirs on the event.
        state.tokens.clear();
        state.hub.publish([signal]);
        Ok(User(user))
    }

    /// A new one-time sign-in link for a user (ADMIN).
    async fn create_sign_in_link(&self, ctx: &Context<'_>, user_id: ID) -> Result<SignInLink> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("userId", &user_id)?;
        let (code, expires_at) =
            sessions::issue_code(&state.db, &state.stamp(&principal), id).await?;
        Ok(SignInLink {
            url: sessions::sign_in_url(&state.config.public_url(), &code),
            expires_at,
        })
    }

    /// Creates an API token (ADMIN). Its secret is in this answer only:
    /// Baton keeps just its hash.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        input: CreateTokenInput,
    ) -> Result<CreateTokenPayload> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let user_id = input
            .user_id
            .as_ref()
            .map(|u| parse_id("input.userId", u))
            .transpose()?;
        let issued = identity::create_token(
            &state.db,
            &state.stamp(&principal),
            NewToken {
                name: input.name,
                role: input.role.into(),
                user_id,
                service_name: input.service_name,
                expires_in: input
                    .expires_in_seconds
                    .map(|s| chrono::TimeDelta::seconds(i64::from(s))),
            },
        )
        .await
        .map_err(with_input_prefix)?;
        state.hub.publish([issued.signal]);
        Ok(CreateTokenPayload {
            token: ApiToken(issued.token),
            secret: issued.secret,
        })
    }

    /// Revokes a token (ADMIN): refused from the next request on, in every
    /// process (another process hears of it by NOTIFY, within
    /// milliseconds), and its open subscriptions are closed.
    async fn revoke_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (token, signal) =
            identity::revoke_token(&state.db, &state.stamp(&principal), id).await?;
        // At once here; other processes empty theirs on the event.
        state.tokens.clear();
        state.hub.publish([signal]);
        Ok(ApiToken(token))
    }

    /// Sets who hears about what: email on or off, and only some workflow
    /// types (an empty list: all). For yourself; an admin may set anyone's
    /// with `userId`.
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        email: Option<bool>,
        workflow_types: Option<Vec<String>>,
    ) -> Result<User> {
        let principal = require(ctx, Permission::Read)?;
        let state = state(ctx);
        let target = match user_id {
            Some(id) => {
                let id = parse_id("userId", &id)?;
                if Some(id) != principal.user_id() {
                    principal.require(Permission::Admin)?;
                }
                id
            }
            None => principal.user_id().ok_or_else(|| {
                AppError::bad_input(
                    "userId",
                    "only users have notification preferences; name one with userId",
                )
            })?,
        };
        let user = identity::set_notification_preferences(
            &state.db,
            &state.catalog.names(&state.db).await?,
            target,
            email,
            workflow_types.map(Some),
        )
        .await?;
        Ok(User(user))
    }

    /// Sets the approval policy of a workflow type (ADMIN); recorded as a
    /// `policy.set` event. Approvals already open keep the policy they were
    /// created under.
    async fn set_approval_policy(
        &self,
        ctx: &Context<'_>,
        input: ApprovalPolicyInput,
    ) -> Result<ApprovalPolicy> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let (stored, signal) = policies::set(
            &state.db,
            &state.catalog,
            &state.stamp(&principal),
            input.into_change(),
        )
        .await?;
        state.hub.publish([signal]);
        Ok(ApprovalPolicy(stored))
    }
}

#[Object]
impl NotifyMutations {
    /// Adds a webhook (ADMIN); its signing secret is in this answer only.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<WebhookSecretPayload> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let (hook, secret, signal) = webhooks::create(
            &state.db,
            &state.catalog.names(&state.db).await?,
            &state.stamp(&principal),
            WebhookSpec {
                url: Some(input.url),
                description: input.description,
                events: Some(input.events),
                workflow_types: Some(input.workflow_types),
                active: None,
                kind: Some(input.kind.into()),
            },
        )
        .await?;
        state.hub.publish([signal]);
        Ok(WebhookSecretPayload {
            webhook: Webhook(hook),
            secret,
        })
    }

    /// Changes a webhook (ADMIN).
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (hook, signal) = webhooks::update(
            &state.db,
            &state.catalog.names(&state.db).await?,
            &state.stamp(&principal),
            id,
            WebhookSpec {
                url: input.url,
                description: input.description,
                events: input.events,
                workflow_types: input.workflow_types.map(Some),
                active: input.active,
                kind: None,
            },
        )
        .await?;
        state.hub.publish([signal]);
        Ok(Webhook(hook))
    }

    /// Deletes a webhook (ADMIN); its pending deliveries die, the log keeps them.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (hook, signal) = webhooks::delete(&state.db, &state.stamp(&principal), id).await?;
        state.hub.publish([signal]);
        Ok(Webhook(hook))
    }

    /// Gives a webhook a new secret (ADMIN), shown this once. The previous
    /// one keeps signing beside it for `previousValidForSeconds` (default a
    /// day), so the receiver can switch without a gap.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = 86400)] previous_valid_for_seconds: i32,
    ) -> Result<WebhookSecretPayload> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (hook, secret, signal) = webhooks::rotate_secret(
            &state.db,
            &state.stamp(&principal),
            id,
            chrono::TimeDelta::seconds(i64::from(previous_valid_for_seconds)),
        )
        .await?;
        state.hub.publish([signal]);
        Ok(WebhookSecretPayload {
            webhook: Webhook(hook),
            secret,
        })
    }

    /// Queues a `webhook.test` delivery to a webhook (ADMIN).
    async fn send_test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Delivery> {
        let principal = require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        Ok(Delivery(
            webhooks::send_test(&state.db, &state.stamp(&principal), id).await?,
        ))
    }

    /// Sends a dead delivery again, with the same id (ADMIN). `CONFLICT`
    /// unless it is dead.
    async fn redeliver(&self, ctx: &Context<'_>, id: ID) -> Result<Delivery> {
        require(ctx, Permission::Admin)?;
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        Ok(Delivery(
            outbox::redeliver(&state.db, id, state.clock.now()).await?,
        ))
    }
}

/// Field errors of inputs given as `input: {…}` name the field as
/// `input.name`, as the schema shows it.
fn with_input_prefix(e: AppError) -> AppError {
    match e {
        AppError::BadInput {
            field: Some(f),
            message,
        } if !f.starts_with("input.") => AppError::BadInput {
            field: Some(format!("input.{f}")),
            message,
        },
        other => other,
    }
}

async fn decide(ctx: &Context<'_>, id: ID, ballot: Ballot) -> Result<DecideApprovalPayload> {
    let principal = require(ctx, Permission::Review)?;
    spend(ctx, &principal, Kind::Decisions, 1)?;
    let state = state(ctx);
    let id = parse_id("id", &id)?;
    let decided = approvals::vote(
        &state.db,
        &state.catalog,
        &state.stamp(&principal),
        &principal,
        id,
        ballot,
    )
    .await?;
    state.hub.publish(decided.signals);
    let current_version = decided.approval.artifact_version;
    Ok(DecideApprovalPayload {
        approval: Approval(decided.approval),
        next_workflow: decided.next_workflow.map(Workflow),
        vote: Vote {
            model: decided.vote,
            current_version,
        },
        decided: decided.decided,
    })
}

const MAX_BATCH: usize = 100;

async fn decide_many(
    ctx: &Context<'_>,
    items: Vec<DecisionItem>,
    decision: Decision,
    feedback: Option<String>,
) -> Result<BatchDecisionPayload> {
    let principal = require(ctx, Permission::Review)?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "items",
            format!(
                "items must list 1 to {MAX_BATCH} approvals, got {}",
                items.len()
            ),
        )
        .into());
    }
    // Each item is a vote: a batch spends as many as it lists.
    spend(
        ctx,
        &principal,
        Kind::Decisions,
        u32::try_from(items.len()).unwrap_or(u32::MAX),
    )?;
    let state = state(ctx);
    let mut seen = std::collections::HashSet::new();
    let mut results = Vec::with_capacity(items.len());
    let mut decided = 0;
    for item in items {
        let id = item.id;
        let outcome = match parse_id("items", &id) {
            Err(e) => Err(e),
            Ok(uuid) if !seen.insert(uuid) => Err(AppError::bad_input(
                "items",
                format!("{uuid} is listed more than once"),
            )),
            Ok(uuid) => {
                approvals::vote(
                    &state.db,
                    &state.catalog,
                    &state.stamp(&principal),
                    &principal,
                    uuid,
                    Ballot {
                        decision,
                        version: item.version,
                        feedback: feedback.clone(),
                        edits: None,
                    },
                )
                .await
            }
        };
        results.push(match outcome {
            Ok(d) => {
                state.hub.publish(d.signals);
                if d.decided {
                    decided += 1;
                }
                BatchDecisionResult {
                    id,
                    ok: true,
                    approval: Some(Approval(d.approval)),
                    next_workflow: d.next_workflow.map(Workflow),
                    error: None,
                }
            }
            // A bug or a lost database ends the whole batch, not one item.
            Err(e @ (AppError::Internal(_) | AppError::Unavailable(_))) => return Err(e.into()),
            Err(e) => BatchDecisionResult {
                id,
                ok: false,
                approval: None,
                next_workflow: None,
                error: Some(BatchItemError {
                    code: e.code().as_str().to_string(),
                    message: e.message(),
                }),
            },
        });
    }
    Ok(BatchDecisionPayload { results, decided })
}

/// Waits for `workflow` to reach a final state, listening for its events
/// and re-reading the row once a second in case a notification was missed.
async fn wait_until_finished(
    state: &AppState,
    mut workflow: entity::workflow::Model,
    mut notices: tokio::sync::broadcast::Receiver<Notice>,
    limit: Duration,
) -> Result<entity::workflow::Model, AppError> {
    let deadline = tokio::time::Instant::now() + limit;
    let id = workflow.id;
    while !is_final(workflow.status) {
        let woke = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + Duration::from_secs(1)),
            notices.recv(),
        )
        .await;
        if let Ok(Ok(Notice::Event(s))) = &woke {
            let ends = matches!(
                s.kind.as_str(),
                kind::WORKFLOW_COMPLETED | kind::WORKFLOW_FAILED | kind::WORKFLOW_CANCELLED
            );
            if (s.workflow_id != Some(id) || !ends) && tokio::time::Instant::now() < deadline {
                continue;
            }
        }
        workflow = workflows::find(&state.db, id).await?;
        if tokio::time::Instant::now() >= deadline {
            break;
        }
    }
    Ok(workflow)
}

fn is_final(s: DbStatus) -> bool {
    matches!(
        s,
        DbStatus::Completed | DbStatus::Failed | DbStatus::Cancelled
    )
}
