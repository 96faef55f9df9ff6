//! Workflows as clients see them: submitting one, reading, listing,
//! cancelling and retrying. The worker-side writes (claim, lease, finish)
//! live in `engine::queue`.
//!
//! Invariants: a workflow's input was valid for its type when it was
//! written; an idempotency key names one workflow forever; a workflow leaves
//! a final state (`completed`, `failed`, `cancelled`) only through
//! `retry`, which makes it `pending` again.

use chrono::{DateTime, Utc};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};
use serde_json::Value;
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal, kind};
use super::page::{Cursor, Order, Page, PageRequest};
use super::principal::{Permission, Principal};
use super::transitions::{Change, Guard};
use super::workflow_types::Catalog;
use crate::error::{AppError, AppResult, is_unique_violation};

/// A workflow row about to be written.
#[derive(Debug, Clone)]
pub struct NewWorkflow {
    pub workflow_type: String,
    /// The declared type's version (`None` for built-in types).
    pub type_version: Option<i32>,
    pub input: Value,
    pub idempotency_key: Option<String>,
    /// `None` starts a new chain (the workflow's own id).
    pub chain_id: Option<Uuid>,
    pub triggered_by_approval_id: Option<Uuid>,
    pub max_attempts: i32,
    /// The workflow this one does part of the work of (see `parent_id`).
    pub parent_id: Option<Uuid>,
}

/// Inserts a pending workflow and its `workflow.created` event.
pub async fn insert(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    new: NewWorkflow,
) -> Result<(workflow::Model, Signal), DbErr> {
    let id = Uuid::now_v7();
    let model = workflow::ActiveModel {
        id: Set(id),
        workflow_type: Set(new.workflow_type.clone()),
        type_version: Set(new.type_version),
        status: Set(WorkflowStatus::Pending),
        input: Set(new.input),
        output: Set(None),
        error: Set(None),
        attempt: Set(0),
        max_attempts: Set(new.max_attempts),
        run_after: Set(stamp.now),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        fence: Set(0),
        idempotency_key: Set(new.idempotency_key),
        triggered_by_approval_id: Set(new.triggered_by_approval_id),
        chain_id: Set(new.chain_id.unwrap_or(id)),
        parent_id: Set(new.parent_id),
        score: Set(None),
        created_by: Set(stamp.actor.clone()),
        created_at: Set(stamp.now),
        started_at: Set(None),
        completed_at: Set(None),
        updated_at: Set(stamp.now),
    }
    .insert(conn)
    .await?;
    let signal = events::append(conn, stamp, created_event(&model)).await?;
    Ok((model, signal))
}

fn created_event(w: &workflow::Model) -> NewEvent {
    NewEvent {
        kind: kind::WORKFLOW_CREATED,
        workflow_id: Some(w.id),
        approval_id: w.triggered_by_approval_id,
        chain_id: Some(w.chain_id),
        payload: serde_json::json!({ "type": w.workflow_type }),
    }
}

/// What `runWorkflow` asks for.
#[derive(Debug, Clone)]
pub struct Submission {
    pub workflow_type: String,
    pub input: Value,
    pub idempotency_key: Option<String>,
}

/// The result of a submission: the workflow, and whether this call created
/// it (false when an idempotency key matched an earlier call).
#[derive(Debug, Clone)]
pub struct Submitted {
    pub workflow: workflow::Model,
    pub created: bool,
    pub signals: Vec<Signal>,
}

/// Validates a submission against its type and writes it, or returns the
/// workflow an earlier call with the same idempotency key created.
pub async fn submit(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    sub: Submission,
) -> AppResult<Submitted> {
    principal.require(Permission::Submit)?;
    let wf = catalog.require(db, &sub.workflow_type, "type").await?;
    if wf.admin_only && !principal.can(Permission::Admin) {
        return Err(AppError::Forbidden(format!(
            "only admins may start {} directly; it normally starts when a reviewer approves",
            sub.workflow_type
        )));
    }
    catalog.check_input(db, &wf, &sub.input).await?;
    if let Some(key) = &sub.idempotency_key {
        if key.is_empty() || key.len() > 255 {
            return Err(AppError::bad_input(
                "idempotencyKey",
                "idempotencyKey must be 1 to 255 characters",
            ));
        }
        if let Some(existing) = find_by_idempotency_key(db, key).await? {
            return same_request(existing, &sub);
        }
    }
    let new = NewWorkflow {
        workflow_type: sub.workflow_type.clone(),
        type_version: (!wf.builtin).then_some(wf.version),
        input: sub.input.clone(),
        idempotency_key: sub.idempotency_key.clone(),
        chain_id: None,
        triggered_by_approval_id: None,
        max_attempts: wf.max_attempts,
        parent_id: None,
    };
    let txn = db.begin().await?;
    match insert(&txn, stamp, new).await {
        Ok((workflow, signal)) => {
            txn.commit().await?;
            Ok(Submitted {
                workflow,
                created: true,
                signals: vec![signal],
            })
        }
        // Two calls raced with one key: the loser returns the winner's row.
        Err(e) if is_unique_violation(&e) => {
            txn.rollback().await?;
            let key = sub.idempotency_key.clone().unwrap_or_default();
            match find_by_idempotency_key(db, &key).await? {
                Some(existing) => same_request(existing, &sub),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn same_request(existing: workflow::Model, sub: &Submission) -> AppResult<Submitted> {
    if existing.workflow_type != sub.workflow_type || existing.input != sub.input {
        return Err(AppError::Conflict(format!(
            "idempotency key '{}' was already used for a different request (workflow {}); use a new key",
            sub.idempotency_key.as_deref().unwrap_or_default(),
            existing.id
        )));
    }
    Ok(Submitted {
        workflow: existing,
        created: false,
        signals: vec![],
    })
}

pub async fn find_by_idempotency_key(
    conn: &impl ConnectionTrait,
    key: &str,
) -> AppResult<Option<workflow::Model>> {
    Ok(workflow::Entity::find()
        .filter(workflow::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?)
}

pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<workflow::Model>> {
    Ok(workflow::Entity::find_by_id(id).one(conn).await?)
}

/// The workflows of `ids` that exist, in no particular order: one query
/// for a page's worth of relations (the GraphQL loaders batch with it).
pub async fn get_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<workflow::Model>> {
    Ok(super::in_chunks(conn, ids, |chunk| {
        workflow::Entity::find().filter(workflow::Column::Id.is_in(chunk.iter().copied()))
    })
    .await?)
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<workflow::Model> {
    get(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no workflow with id {id}")))
}

/// Which workflows a listing returns.
#[derive(Debug, Clone, Default)]
pub struct WorkflowFilter {
    pub workflow_type: Option<String>,
    pub status: Option<WorkflowStatus>,
    pub chain_id: Option<Uuid>,
}

/// Workflows, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &WorkflowFilter,
    page: &PageRequest,
) -> AppResult<Page<workflow::Model>> {
    let mut q = workflow::Entity::find();
    if let Some(t) = &filter.workflow_type {
        q = q.filter(workflow::Column::WorkflowType.eq(t.as_str()));
    }
    if let Some(s) = filter.status {
        q = q.filter(workflow::Column::Status.eq(s));
    }
    if let Some(c) = filter.chain_id {
        q = q.filter(workflow::Column::ChainId.eq(c));
    }
    if let Some(cond) = page.after_condition(workflow::Column::CreatedAt, workflow::Column::Id) {
        q = q.filter(cond);
    }
    q = match page.order {
        Order::NewestFirst => q
            .order_by_desc(workflow::Column::CreatedAt)
            .order_by_desc(workflow::Column::Id),
        Order::OldestFirst => q
            .order_by_asc(workflow::Column::CreatedAt)
            .order_by_asc(workflow::Column::Id),
    };
    let rows = q.limit(page.first + 1).all(conn).await?;
    Ok(Page::from_rows(rows, page, |w| Cursor {
        created_at: w.created_at,
        id: w.id,
    }))
}

/// Every workflow of a chain, in the order they were created.
pub async fn chain(conn: &impl ConnectionTrait, chain_id: Uuid) -> AppResult<Vec<workflow::Model>> {
    Ok(workflow::Entity::find()
        .filter(workflow::Column::ChainId.eq(chain_id))
        .order_by_asc(workflow::Column::CreatedAt)
        .order_by_asc(workflow::Column::Id)
        .limit(1000)
        .all(conn)
        .await?)
}

/// The workflows of each chain in `chain_ids`, each chain in order (as
/// [`chain`], at most 1,000 per chain).
pub async fn chains(
    conn: &impl ConnectionTrait,
    chain_ids: &[Uuid],
) -> AppResult<Vec<workflow::Model>> {
    Ok(super::in_chunks(conn, chain_ids, |chunk| {
        workflow::Entity::find()
            .filter(workflow::Column::ChainId.is_in(chunk.iter().copied()))
            .order_by_asc(workflow::Column::CreatedAt)
            .order_by_asc(workflow::Column::Id)
            .limit(1000 * chunk.len() as u64)
    })
    .await?)
}

/// Starts `parent`'s child runs of type `spec`, one per input, each once:
/// a child is keyed by the parent and its index, so a parent that runs
/// again (after a crash) finds the children it started. Children belong to
/// the parent's chain and open no approvals. Returns their ids, in input
/// order.
pub async fn start_children(
    db: &DatabaseConnection,
    stamp: &Stamp,
    parent: &workflow::Model,
    spec: &super::workflow_types::TypeSpec,
    inputs: Vec<Value>,
) -> AppResult<(Vec<Uuid>, Vec<Signal>)> {
    let txn = db.begin().await?;
    let mut ids = Vec::with_capacity(inputs.len());
    let mut signals = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let key = format!("{}/{i}", parent.id);
        if let Some(existing) = find_by_idempotency_key(&txn, &key).await? {
            // Keys are global: a row someone else made with this key is not
            // a child, and waiting on it would be wrong.
            if existing.parent_id != Some(parent.id) {
                txn.rollback().await?;
                return Err(AppError::Conflict(format!(
                    "idempotency key '{key}' belongs to workflow {}, which is not a run of {}",
                    existing.id, parent.id
                )));
            }
            ids.push(existing.id);
            continue;
        }
        let (w, signal) = insert(
            &txn,
            stamp,
            NewWorkflow {
                workflow_type: spec.name.clone(),
                type_version: (!spec.builtin).then_some(spec.version),
                input,
                idempotency_key: Some(key),
                chain_id: Some(parent.chain_id),
                triggered_by_approval_id: None,
                max_attempts: spec.max_attempts,
                parent_id: Some(parent.id),
            },
        )
        .await?;
        ids.push(w.id);
        signals.push(signal);
    }
    txn.commit().await?;
    Ok((ids, signals))
}

/// The child runs of `parent_id`.
pub async fn children(
    conn: &impl ConnectionTrait,
    parent_id: Uuid,
) -> AppResult<Vec<workflow::Model>> {
    Ok(workflow::Entity::find()
        .filter(workflow::Column::ParentId.eq(parent_id))
        .all(conn)
        .await?)
}

/// The workflow a decision on `approval_id` started, if any.
pub async fn triggered_by(
    conn: &impl ConnectionTrait,
    approval_id: Uuid,
) -> AppResult<Option<workflow::Model>> {
    Ok(workflow::Entity::find()
        .filter(workflow::Column::TriggeredByApprovalId.eq(approval_id))
        .one(conn)
        .await?)
}

/// Stops a pending or running workflow. A running one's worker notices at
/// its next lease renewal and its writes are refused (the row is no longer
/// `running`), so nothing it produces after this is stored.
pub async fn cancel(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    id: Uuid,
) -> AppResult<(workflow::Model, Vec<Signal>)> {
    may_change(db, catalog, principal, id, "cancel").await?;
    let txn = db.begin().await?;
    let cancelled = Change::new(
        id,
        Guard::From(&[WorkflowStatus::Pending, WorkflowStatus::Running]),
    )
    .to(WorkflowStatus::Cancelled)
    .set(workflow::Column::CompletedAt, Expr::value(stamp.now))
    .without_lease()
    .apply(&txn, stamp.now)
    .await?;
    let Some(w) = cancelled else {
        txn.rollback().await?;
        let w = find(db, id).await?;
        return Err(AppError::Conflict(format!(
            "workflow {id} is {} and can no longer be cancelled",
            status_word(w.status)
        )));
    };
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::WORKFLOW_CANCELLED,
            workflow_id: Some(w.id),
            chain_id: Some(w.chain_id),
            payload: serde_json::json!({ "type": w.workflow_type }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((w, vec![signal]))
}

/// Makes a failed or cancelled workflow pending again with a fresh attempt
/// budget. Its input, chain and lineage stay as they were.
pub async fn retry(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    id: Uuid,
) -> AppResult<(workflow::Model, Vec<Signal>)> {
    may_change(db, catalog, principal, id, "retry").await?;
    let txn = db.begin().await?;
    let retried = Change::new(
        id,
        Guard::From(&[WorkflowStatus::Failed, WorkflowStatus::Cancelled]),
    )
    .to(WorkflowStatus::Pending)
    .set(workflow::Column::Attempt, Expr::value(0))
    .set(workflow::Column::RunAfter, Expr::value(stamp.now))
    .set(workflow::Column::Error, Expr::value(Option::<String>::None))
    .set(
        workflow::Column::CompletedAt,
        Expr::value(Option::<DateTime<Utc>>::None),
    )
    .apply(&txn, stamp.now)
    .await?;
    let Some(w) = retried else {
        txn.rollback().await?;
        let w = find(db, id).await?;
        return Err(AppError::Conflict(format!(
            "workflow {id} is {}; only failed or cancelled workflows can be retried",
            status_word(w.status)
        )));
    };
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::WORKFLOW_RETRIED,
            workflow_id: Some(w.id),
            chain_id: Some(w.chain_id),
            payload: serde_json::json!({ "type": w.workflow_type }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((w, vec![signal]))
}

/// Submitters and reviewers may cancel or retry the workflows they
/// started; admins any. Types only admins may start (a deployment, a
/// revision) only admins may cancel or retry, whoever's decision started
/// them.
async fn may_change(
    db: &DatabaseConnection,
    catalog: &Catalog,
    principal: &Principal,
    id: Uuid,
    verb: &str,
) -> AppResult<()> {
    principal.require(Permission::Submit)?;
    if principal.can(Permission::Admin) {
        return Ok(());
    }
    let w = find(db, id).await?;
    if catalog
        .builtin(&w.workflow_type)
        .is_some_and(|t| t.admin_only)
    {
        return Err(AppError::Forbidden(format!(
            "only admins may {verb} {} workflows",
            w.workflow_type
        )));
    }
    if w.created_by != principal.id {
        return Err(AppError::Forbidden(format!(
            "workflow {id} was started by {}; only they or an admin may {verb} it",
            w.created_by
        )));
    }
    Ok(())
}

pub fn status_word(s: WorkflowStatus) -> &'static str {
    match s {
        WorkflowStatus::Pending => "pending",
        WorkflowStatus::Running => "running",
        WorkflowStatus::Completed => "completed",
        WorkflowStatus::Failed => "failed",
        WorkflowStatus::Cancelled => "cancelled",
    }
}
