//! Approvals: the decision a person makes between two workflows.
//!
//! Invariant: an approval leaves `pending` at most once, and the transaction
//! that moves it also writes the next workflow (at most one: the
//! `workflows.triggered_by_approval_id` unique constraint backs this up) and
//! the `approval.decided` event. A second decision changes nothing and
//! answers `CONFLICT`.

use chrono::{DateTime, Utc};
use entity::approval::{self, ApprovalStatus};
use entity::workflow;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal, kind};
use super::page::{Cursor, Order, Page, PageRequest};
use super::workflows::{self, NewWorkflow};
use crate::engine::registry::ApprovalRequest;
use crate::error::{AppError, AppResult, is_unique_violation};

/// Writes the approval a finishing workflow asked for (inside the finishing
/// transaction) and its `approval.created` event.
pub async fn insert(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    wf: &workflow::Model,
    artifact: Option<&entity::artifact::Model>,
    req: ApprovalRequest,
) -> Result<(approval::Model, Signal), DbErr> {
    let artifact_data = req
        .artifact_data
        .or_else(|| artifact.map(|a| a.content.clone()))
        .unwrap_or(Value::Null);
    let expires_at = req
        .expires_in
        .and_then(|d| chrono::TimeDelta::from_std(d).ok())
        .map(|d| stamp.now + d);
    let model = approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        workflow_id: Set(wf.id),
        chain_id: Set(wf.chain_id),
        status: Set(ApprovalStatus::Pending),
        artifact_type: Set(artifact.map_or_else(|| "none".to_string(), |a| a.kind.clone())),
        artifact_id: Set(artifact.map(|a| a.id)),
        artifact_data: Set(artifact_data),
        score: Set(req.score),
        next_workflow_type: Set(req.on_approve.as_ref().map(|f| f.workflow_type.clone())),
        next_workflow_input: Set(req.on_approve.map(|f| f.input)),
        reject_workflow_type: Set(req.on_reject.as_ref().map(|f| f.workflow_type.clone())),
        reject_workflow_input: Set(req.on_reject.map(|f| f.input)),
        reject_requires_feedback: Set(req.reject_requires_feedback),
        decided_by: Set(None),
        feedback: Set(None),
        decided_at: Set(None),
        expires_at: Set(expires_at),
        next_workflow_id: Set(None),
        created_at: Set(stamp.now),
    }
    .insert(conn)
    .await?;
    let signal = events::append(
        conn,
        stamp,
        NewEvent {
            kind: kind::APPROVAL_CREATED,
            workflow_id: Some(wf.id),
            approval_id: Some(model.id),
            chain_id: Some(wf.chain_id),
            payload: json!({ "type": wf.workflow_type, "artifact_type": model.artifact_type }),
        },
    )
    .await?;
    Ok((model, signal))
}

/// A reviewer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    fn status(self) -> ApprovalStatus {
        match self {
            Decision::Approve => ApprovalStatus::Approved,
            Decision::Reject => ApprovalStatus::Rejected,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }
}

/// The outcome of a decision: the decided approval and the workflow it started.
#[derive(Debug, Clone)]
pub struct Decided {
    pub approval: approval::Model,
    pub next_workflow: Option<workflow::Model>,
    pub signals: Vec<Signal>,
}

/// Decides a pending approval exactly once and, in the same transaction,
/// starts what follows it.
pub async fn decide(
    db: &DatabaseConnection,
    stamp: &Stamp,
    id: Uuid,
    decision: Decision,
    feedback: Option<String>,
    max_attempts: i32,
) -> AppResult<Decided> {
    let feedback = feedback
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    if feedback.as_ref().is_some_and(|f| f.len() > 20_000) {
        return Err(AppError::bad_input(
            "feedback",
            "feedback is longer than 20,000 characters",
        ));
    }
    let txn = db.begin().await?;
    // The guard `status = 'pending'` is the whole concurrency story: under
    // PostgreSQL's row lock a racing UPDATE re-checks it after the winner
    // commits and matches nothing; SQLite runs one writer at a time.
    let decided = approval::Entity::update_many()
        .col_expr(approval::Column::Status, Expr::value(decision.status()))
        .col_expr(
            approval::Column::DecidedBy,
            Expr::value(stamp.actor.clone()),
        )
        .col_expr(approval::Column::Feedback, Expr::value(feedback.clone()))
        .col_expr(approval::Column::DecidedAt, Expr::value(stamp.now))
        .filter(approval::Column::Id.eq(id))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .filter(
            approval::Column::ExpiresAt
                .is_null()
                .or(approval::Column::ExpiresAt.gt(stamp.now)),
        )
        .exec_with_returning(&txn)
        .await?;
    let Some(mut approval) = decided.into_iter().next() else {
        txn.rollback().await?;
        return Err(not_pending(db, id, stamp.now).await);
    };
    let follow_up = match decision {
        Decision::Approve => approval
            .next_workflow_type
            .clone()
            .map(|t| (t, approval.next_workflow_input.clone())),
        Decision::Reject if approval.reject_requires_feedback && feedback.is_none() => None,
        Decision::Reject => approval
            .reject_workflow_type
            .clone()
            .map(|t| (t, approval.reject_workflow_input.clone())),
    };
    let mut signals = Vec::new();
    let mut next_workflow = None;
    if let Some((workflow_type, base)) = follow_up {
        let mut input = match base {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        input.insert("feedback".into(), json!(feedback));
        input.insert("approval_id".into(), json!(approval.id));
        input.insert("decision".into(), json!(decision.word()));
        if let Some(artifact_id) = approval.artifact_id {
            input.insert("artifact_id".into(), json!(artifact_id));
        }
        let new = NewWorkflow {
            workflow_type,
            input: Value::Object(input),
            idempotency_key: None,
            chain_id: Some(approval.chain_id),
            triggered_by_approval_id: Some(approval.id),
            max_attempts,
        };
        let (w, signal) = match workflows::insert(&txn, stamp, new).await {
            Ok(ok) => ok,
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await?;
                return Err(AppError::Conflict(format!(
                    "approval {id} already started its next workflow; nothing was changed"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        approval = approval::ActiveModel {
            id: Set(approval.id),
            next_workflow_id: Set(Some(w.id)),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        signals.push(signal);
        next_workflow = Some(w);
    }
    let decided = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::APPROVAL_DECIDED,
            workflow_id: Some(approval.workflow_id),
            approval_id: Some(approval.id),
            chain_id: Some(approval.chain_id),
            payload: json!({
                "decision": decision.word(),
                "next_workflow_id": next_workflow.as_ref().map(|w| w.id),
            }),
        },
    )
    .await?;
    signals.insert(0, decided);
    txn.commit().await?;
    Ok(Decided {
        approval,
        next_workflow,
        signals,
    })
}

/// The error for a decision that found nothing pending to decide.
async fn not_pending(db: &DatabaseConnection, id: Uuid, now: DateTime<Utc>) -> AppError {
    match get(db, id).await {
        Err(e) => e,
        Ok(None) => AppError::NotFound(format!("no approval with id {id}")),
        Ok(Some(a)) if a.status == ApprovalStatus::Pending => AppError::Conflict(format!(
            "approval {id} expired at {}; nothing was started",
            a.expires_at.unwrap_or(now).to_rfc3339()
        )),
        Ok(Some(a)) => AppError::Conflict(format!(
            "approval {id} was already {} by {} at {}; nothing was started",
            status_word(a.status),
            a.decided_by.as_deref().unwrap_or("the system"),
            a.decided_at
                .map_or_else(|| "an earlier time".to_string(), |t| t.to_rfc3339()),
        )),
    }
}

pub fn status_word(s: ApprovalStatus) -> &'static str {
    match s {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Rejected => "rejected",
        ApprovalStatus::Expired => "expired",
        ApprovalStatus::Cancelled => "cancelled",
    }
}

/// Moves pending approvals whose `expires_at` has passed to `expired`.
pub async fn expire_due(db: &DatabaseConnection, stamp: &Stamp) -> AppResult<Vec<Signal>> {
    let due: Vec<approval::Model> = approval::Entity::find()
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .filter(approval::Column::ExpiresAt.is_not_null())
        .filter(approval::Column::ExpiresAt.lte(stamp.now))
        .limit(100)
        .all(db)
        .await?;
    let mut signals = Vec::new();
    for a in due {
        let txn = db.begin().await?;
        let res = approval::Entity::update_many()
            .col_expr(
                approval::Column::Status,
                Expr::value(ApprovalStatus::Expired),
            )
            .col_expr(approval::Column::DecidedAt, Expr::value(stamp.now))
            .filter(approval::Column::Id.eq(a.id))
            .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            signals.push(
                events::append(
                    &txn,
                    stamp,
                    NewEvent {
                        kind: kind::APPROVAL_EXPIRED,
                        workflow_id: Some(a.workflow_id),
                        approval_id: Some(a.id),
                        chain_id: Some(a.chain_id),
                        payload: json!({}),
                    },
                )
                .await?,
            );
        }
        txn.commit().await?;
    }
    Ok(signals)
}

pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<approval::Model>> {
    Ok(approval::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<approval::Model> {
    get(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no approval with id {id}")))
}

pub async fn for_workflow(
    conn: &impl ConnectionTrait,
    workflow_id: Uuid,
) -> AppResult<Option<approval::Model>> {
    Ok(approval::Entity::find()
        .filter(approval::Column::WorkflowId.eq(workflow_id))
        .one(conn)
        .await?)
}

/// Which approvals a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ApprovalFilter {
    pub status: Option<ApprovalStatus>,
    pub artifact_type: Option<String>,
    pub workflow_id: Option<Uuid>,
    pub chain_id: Option<Uuid>,
}

pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ApprovalFilter,
    page: &PageRequest,
) -> AppResult<Page<approval::Model>> {
    let mut q = approval::Entity::find();
    if let Some(s) = filter.status {
        q = q.filter(approval::Column::Status.eq(s));
    }
    if let Some(t) = &filter.artifact_type {
        q = q.filter(approval::Column::ArtifactType.eq(t.as_str()));
    }
    if let Some(w) = filter.workflow_id {
        q = q.filter(approval::Column::WorkflowId.eq(w));
    }
    if let Some(c) = filter.chain_id {
        q = q.filter(approval::Column::ChainId.eq(c));
    }
    if let Some(cond) = page.after_condition(approval::Column::CreatedAt, approval::Column::Id) {
        q = q.filter(cond);
    }
    q = match page.order {
        Order::OldestFirst => q
            .order_by_asc(approval::Column::CreatedAt)
            .order_by_asc(approval::Column::Id),
        Order::NewestFirst => q
            .order_by_desc(approval::Column::CreatedAt)
            .order_by_desc(approval::Column::Id),
    };
    let rows = q.limit(page.first + 1).all(conn).await?;
    Ok(Page::from_rows(rows, page, |a| Cursor {
        created_at: a.created_at,
        id: a.id,
    }))
}

/// Pending approvals per artifact type, most first (the queue's filter and
/// its counts).
pub async fn pending_counts(conn: &impl ConnectionTrait) -> AppResult<Vec<(String, i64)>> {
    use sea_orm::sea_query::Expr as E;
    let rows: Vec<(String, i64)> = approval::Entity::find()
        .select_only()
        .column(approval::Column::ArtifactType)
        .column_as(E::col(approval::Column::Id).count(), "n")
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .group_by(approval::Column::ArtifactType)
        .into_tuple()
        .all(conn)
        .await?;
    let mut rows = rows;
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}
