//! The append-only audit trail, and the signal each event sends.
//!
//! Every state change appends an event in the transaction that makes the
//! change. On PostgreSQL the same transaction calls `pg_notify`, so other
//! processes hear of the event exactly when it commits (and never of one
//! that rolled back). Notifications are hints: a listener that reconnects
//! re-reads the table from the last event id it saw.

use entity::event;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Stamp;

/// The PostgreSQL channel Baton's processes notify each other on.
pub const CHANNEL: &str = "baton_events";

pub mod kind {
    pub const WORKFLOW_CREATED: &str = "workflow.created";
    pub const WORKFLOW_COMPLETED: &str = "workflow.completed";
    pub const WORKFLOW_FAILED: &str = "workflow.failed";
    pub const WORKFLOW_RETRYING: &str = "workflow.retrying";
    pub const WORKFLOW_CANCELLED: &str = "workflow.cancelled";
    pub const WORKFLOW_RETRIED: &str = "workflow.retried";
    pub const WORKFLOW_RELEASED: &str = "workflow.released";
    pub const APPROVAL_CREATED: &str = "approval.created";
    pub const APPROVAL_DECIDED: &str = "approval.decided";
    pub const APPROVAL_EXPIRED: &str = "approval.expired";
}

/// What a process tells its subscribers and workers (and, on PostgreSQL,
/// the other processes) about one committed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    #[serde(rename = "o")]
    pub origin: String,
    #[serde(rename = "e")]
    pub event_id: i64,
    #[serde(rename = "k")]
    pub kind: String,
    #[serde(rename = "w", skip_serializing_if = "Option::is_none", default)]
    pub workflow_id: Option<Uuid>,
    #[serde(rename = "a", skip_serializing_if = "Option::is_none", default)]
    pub approval_id: Option<Uuid>,
    #[serde(rename = "c", skip_serializing_if = "Option::is_none", default)]
    pub chain_id: Option<Uuid>,
    #[serde(rename = "t", skip_serializing_if = "Option::is_none", default)]
    pub workflow_type: Option<String>,
}

impl Signal {
    /// True for events after which a worker may find something to claim.
    pub fn makes_work(&self) -> bool {
        matches!(
            self.kind.as_str(),
            kind::WORKFLOW_CREATED
                | kind::WORKFLOW_RETRYING
                | kind::WORKFLOW_RETRIED
                | kind::WORKFLOW_RELEASED
        )
    }

    fn from_model(m: &event::Model, origin: &str) -> Signal {
        Signal {
            origin: origin.to_string(),
            event_id: m.id,
            kind: m.kind.clone(),
            workflow_id: m.workflow_id,
            approval_id: m.approval_id,
            chain_id: m.chain_id,
            workflow_type: m
                .payload
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

/// An event about to be written.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub kind: &'static str,
    pub workflow_id: Option<Uuid>,
    pub approval_id: Option<Uuid>,
    pub chain_id: Option<Uuid>,
    /// Free-form details; `type` (the workflow type) is read by subscribers.
    pub payload: Value,
}

/// Appends one event (and, on PostgreSQL, its notification) in `conn`'s
/// transaction, returning the signal to publish in this process after commit.
pub async fn append(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    ev: NewEvent,
) -> Result<Signal, DbErr> {
    let model = event::ActiveModel {
        id: NotSet,
        at: Set(stamp.now),
        kind: Set(ev.kind.to_string()),
        workflow_id: Set(ev.workflow_id),
        approval_id: Set(ev.approval_id),
        chain_id: Set(ev.chain_id),
        actor: Set(stamp.actor.clone()),
        actor_role: Set(stamp.actor_role),
        payload: Set(if ev.payload.is_null() {
            Value::Object(Default::default())
        } else {
            ev.payload
        }),
    }
    .insert(conn)
    .await?;
    // Its notifications commit (or roll back) with it.
    super::outbox::enqueue(conn, &model, stamp.notify_email).await?;
    let signal = Signal::from_model(&model, &stamp.origin);
    if conn.get_database_backend() == DbBackend::Postgres {
        let payload = serde_json::to_string(&signal).map_err(|e| DbErr::Custom(e.to_string()))?;
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        ))
        .await?;
    }
    Ok(signal)
}

/// Events after `after_id`, oldest first, as signals; used to catch up after
/// a missed notification.
pub async fn since(
    conn: &impl ConnectionTrait,
    after_id: i64,
    kinds: &[&str],
    limit: u64,
) -> Result<Vec<Signal>, DbErr> {
    let rows = event::Entity::find()
        .filter(event::Column::Id.gt(after_id))
        .filter(event::Column::Kind.is_in(kinds.iter().copied()))
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows.iter().map(|m| Signal::from_model(m, "")).collect())
}

/// The id of the newest event, or 0.
pub async fn last_id(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(event::Entity::find()
        .order_by_desc(event::Column::Id)
        .one(conn)
        .await?
        .map(|m| m.id)
        .unwrap_or(0))
}

/// The events about one workflow or approval, oldest first (the history view).
pub async fn for_subject(
    conn: &impl ConnectionTrait,
    workflow_id: Option<Uuid>,
    approval_id: Option<Uuid>,
) -> Result<Vec<event::Model>, DbErr> {
    let mut q = event::Entity::find();
    if let Some(w) = workflow_id {
        q = q.filter(event::Column::WorkflowId.eq(w));
    }
    if let Some(a) = approval_id {
        q = q.filter(event::Column::ApprovalId.eq(a));
    }
    q.order_by_asc(event::Column::Id)
        .limit(1000)
        .all(conn)
        .await
}
