//! Mutation root.

use std::time::Duration;

use async_graphql::{Context, ID, Object, Result};
use entity::workflow::WorkflowStatus as DbStatus;

use super::error::parse_id;
use super::types::{
    Approval, BatchDecisionPayload, BatchDecisionResult, BatchItemError, DecideApprovalPayload,
    Deployment, RunWorkflowInput, RunWorkflowPayload, Workflow,
};
use super::{principal, state};
use crate::domain::approvals::{self, Decision};
use crate::domain::events::kind;
use crate::domain::workflows::{self, Submission};
use crate::engine::signals::Notice;
use crate::error::AppError;
use crate::state::AppState;

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Starts a workflow. Answers at once with the pending workflow, or with
    /// `wait: true` when it has finished (with its approval), bounded by a
    /// timeout after which the workflow is returned as it is then.
    async fn run_workflow(
        &self,
        ctx: &Context<'_>,
        input: RunWorkflowInput,
    ) -> Result<RunWorkflowPayload> {
        let state = state(ctx);
        let stamp = state.stamp(&principal(ctx));
        // Subscribe before writing, so the completion cannot slip past.
        let notices = input.wait.then(|| state.hub.subscribe());
        let submitted = workflows::submit(
            &state.db,
            &state.registry,
            &stamp,
            state.config.engine.max_attempts,
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

    /// Approves a pending approval, with optional feedback, and starts what
    /// follows it in the same transaction. `CONFLICT` when it was already
    /// decided (nothing is started then).
    async fn approve(
        &self,
        ctx: &Context<'_>,
        id: ID,
        feedback: Option<String>,
    ) -> Result<DecideApprovalPayload> {
        decide(ctx, id, Decision::Approve, feedback).await
    }

    /// Rejects a pending approval, with optional feedback; starts the
    /// rejection follow-up when the approval has one (some require feedback).
    async fn reject(
        &self,
        ctx: &Context<'_>,
        id: ID,
        feedback: Option<String>,
    ) -> Result<DecideApprovalPayload> {
        decide(ctx, id, Decision::Reject, feedback).await
    }

    /// Approves several approvals at once. Each is decided in its own
    /// transaction, exactly once; the result says, per id, whether it was
    /// decided and why not (`CONFLICT` when someone decided it first). At
    /// most 100 ids.
    async fn approve_many(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        feedback: Option<String>,
    ) -> Result<BatchDecisionPayload> {
        decide_many(ctx, ids, Decision::Approve, feedback).await
    }

    /// Rejects several approvals at once; see `approveMany`.
    async fn reject_many(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        feedback: Option<String>,
    ) -> Result<BatchDecisionPayload> {
        decide_many(ctx, ids, Decision::Reject, feedback).await
    }

    /// Activates the config of an earlier deployment again. The rollback is
    /// recorded as a new deployment (`rolledBackFrom` names the earlier one).
    async fn rollback_deployment(&self, ctx: &Context<'_>, id: ID) -> Result<Deployment> {
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (d, signals) =
            crate::domain::deployments::rollback(&state.db, &state.stamp(&principal(ctx)), id)
                .await?;
        state.hub.publish(signals);
        Ok(Deployment(d))
    }

    /// Stops a pending or running workflow. `CONFLICT` once it has finished.
    async fn cancel_workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Workflow> {
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (w, signals) = workflows::cancel(&state.db, &state.stamp(&principal(ctx)), id).await?;
        state.hub.publish(signals);
        Ok(Workflow(w))
    }

    /// Runs a failed or cancelled workflow again with a fresh attempt budget.
    async fn retry_workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Workflow> {
        let state = state(ctx);
        let id = parse_id("id", &id)?;
        let (w, signals) = workflows::retry(&state.db, &state.stamp(&principal(ctx)), id).await?;
        state.hub.publish(signals);
        Ok(Workflow(w))
    }
}

async fn decide(
    ctx: &Context<'_>,
    id: ID,
    decision: Decision,
    feedback: Option<String>,
) -> Result<DecideApprovalPayload> {
    let state = state(ctx);
    let id = parse_id("id", &id)?;
    let decided = approvals::decide(
        &state.db,
        &state.stamp(&principal(ctx)),
        id,
        decision,
        feedback,
        state.config.engine.max_attempts,
    )
    .await?;
    state.hub.publish(decided.signals);
    Ok(DecideApprovalPayload {
        approval: Approval(decided.approval),
        next_workflow: decided.next_workflow.map(Workflow),
    })
}

const MAX_BATCH: usize = 100;

async fn decide_many(
    ctx: &Context<'_>,
    ids: Vec<ID>,
    decision: Decision,
    feedback: Option<String>,
) -> Result<BatchDecisionPayload> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "ids",
            format!(
                "ids must list 1 to {MAX_BATCH} approvals, got {}",
                ids.len()
            ),
        )
        .into());
    }
    let state = state(ctx);
    let principal = principal(ctx);
    let mut seen = std::collections::HashSet::new();
    let mut results = Vec::with_capacity(ids.len());
    let mut decided = 0;
    for id in ids {
        let outcome = match parse_id("ids", &id) {
            Err(e) => Err(e),
            Ok(uuid) if !seen.insert(uuid) => Err(AppError::bad_input(
                "ids",
                format!("{uuid} is listed more than once"),
            )),
            Ok(uuid) => {
                approvals::decide(
                    &state.db,
                    &state.stamp(&principal),
                    uuid,
                    decision,
                    feedback.clone(),
                    state.config.engine.max_attempts,
                )
                .await
            }
        };
        results.push(match outcome {
            Ok(d) => {
                state.hub.publish(d.signals);
                decided += 1;
                BatchDecisionResult {
                    id,
                    ok: true,
                    approval: Some(Approval(d.approval)),
                    next_workflow: d.next_workflow.map(Workflow),
                    error: None,
                }
            }
            Err(AppError::Internal(e)) => return Err(AppError::Internal(e).into()),
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
