//! The outbox: notifications written in the transaction that records their
//! event, then delivered at least once by a dispatcher.
//!
//! Invariants: a committed notifiable event has its deliveries committed
//! with it, and a rolled-back one has none (`enqueue` runs inside
//! `events::append`'s transaction). A delivery is claimed by one dispatcher
//! at a time (a lease; `SKIP LOCKED` on PostgreSQL), and only the holder of
//! the lease may record its outcome. Its id never changes, so a receiver
//! that sees it twice (a dispatcher died after sending, before recording)
//! drops the repeat.

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::{self, DeliveryStatus};
use entity::{event, webhook};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::page::{Cursor, Order, Page, PageRequest};
use crate::error::{AppError, AppResult};

/// The webhook event names Baton sends, and the audit events they come from.
pub const EVENTS: &[(&str, &str)] = &[
    ("approval.created", "approval.created"),
    ("approval.decided", "approval.decided"),
    ("approval.expired", "approval.expired"),
    ("approval.expiring", "approval.reminded"),
    ("approval.escalated", "approval.escalated"),
    ("workflow.failed", "workflow.failed"),
    ("deployment.created", "deployment.activated"),
];

/// The name a test delivery carries.
pub const TEST_EVENT: &str = "webhook.test";

pub const CHANNEL_WEBHOOK: &str = "webhook";
pub const CHANNEL_EMAIL: &str = "email";

/// The webhook event name of an audit event kind, if it is notifiable.
pub fn webhook_event(kind: &str) -> Option<&'static str> {
    EVENTS
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(name, _)| *name)
}

/// The body receivers get: `{type, timestamp, data}`, as the Standard
/// Webhooks specification recommends.
pub fn payload(name: &str, ev: &event::Model, workflow_type: Option<&str>) -> Value {
    json!({
        "type": name,
        "timestamp": ev.at.to_rfc3339(),
        "data": {
            "event_id": ev.id,
            "workflow_id": ev.workflow_id,
            "approval_id": ev.approval_id,
            "chain_id": ev.chain_id,
            "workflow_type": workflow_type,
            "actor": { "name": ev.actor, "role": ev.actor_role.map(super::principal::role_word) },
            "details": ev.payload,
            "review_path": ev.approval_id.map(|a| format!("/approvals/{a}")),
        }
    })
}

/// Writes the deliveries `ev` calls for, in the caller's transaction (the
/// one that wrote `ev`): to the webhooks that want it, and, when `email` is
/// on and the event opens an approval, one email to each reviewer the
/// approval's policy lets decide.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    ev: &event::Model,
    email: bool,
) -> Result<(), DbErr> {
    let Some(name) = webhook_event(&ev.kind) else {
        return Ok(());
    };
    if email
        && matches!(
            name,
            "approval.created" | "approval.expiring" | "approval.escalated"
        )
    {
        enqueue_emails(conn, ev, name).await?;
    }
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .all(conn)
        .await?;
    let wanted: Vec<&webhook::Model> = hooks
        .iter()
        .filter(|h| list_contains(&h.events, name))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let workflow_type = workflow_type_of(conn, ev).await?;
    for h in wanted {
        if let Some(types) = &h.workflow_types
            && !workflow_type
                .as_deref()
                .is_some_and(|t| list_contains(types, t))
        {
            continue;
        }
        insert(
            conn,
            Some(ev.id),
            name,
            CHANNEL_WEBHOOK,
            h.id,
            payload(name, ev, workflow_type.as_deref()),
            ev.at,
        )
        .await?;
    }
    Ok(())
}

/// One email delivery per person `ev` concerns who has an email address
/// and has not opted out (of email, or of this workflow type): for a new
/// approval or a reminder, each reviewer who may decide it (a reminder
/// skips those who already voted on the current version); for an
/// escalation, the policy's escalation users.
async fn enqueue_emails(
    conn: &impl ConnectionTrait,
    ev: &event::Model,
    name: &str,
) -> Result<(), DbErr> {
    let Some(aid) = ev.approval_id else {
        return Ok(());
    };
    let Some(a) = entity::approval::Entity::find_by_id(aid).one(conn).await? else {
        return Ok(());
    };
    let policy = super::policy::Policy::from_json(a.policy.as_ref());
    let workflow_type = workflow_type_of(conn, ev).await?;
    let users = entity::user::Entity::find()
        .filter(entity::user::Column::Disabled.eq(false))
        .filter(entity::user::Column::EmailOptOut.eq(false))
        .filter(entity::user::Column::Email.is_not_null())
        .all(conn)
        .await?;
    let voted: Vec<String> = if name == "approval.expiring" {
        entity::vote::Entity::find()
            .filter(entity::vote::Column::ApprovalId.eq(a.id))
            .filter(entity::vote::Column::ArtifactVersion.eq(a.artifact_version))
            .all(conn)
            .await?
            .into_iter()
            .map(|v| v.reviewer)
            .collect()
    } else {
        Vec::new()
    };
    for u in users {
        let Some(p) = super::principal::Principal::for_user(&u, super::principal::Credential::None)
        else {
            continue;
        };
        let concerned = if name == "approval.escalated" {
            policy.escalate_to.contains(&u.name)
        } else {
            policy.refusal(&p, &a.started_by).is_none() && !voted.contains(&u.name)
        };
        if !concerned {
            continue;
        }
        if let (Some(types), Some(t)) = (&u.notify_types, &workflow_type)
            && !list_contains(types, t)
        {
            continue;
        }
        let mut body = payload(name, ev, workflow_type.as_deref());
        body["recipient"] = json!({ "user_id": u.id, "name": u.name, "email": u.email });
        insert(conn, Some(ev.id), name, CHANNEL_EMAIL, u.id, body, ev.at).await?;
    }
    Ok(())
}

fn list_contains(list: &Value, item: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(item)))
}

/// The workflow type an event is about: its payload's `type`, else the
/// type of its workflow.
async fn workflow_type_of(
    conn: &impl ConnectionTrait,
    ev: &event::Model,
) -> Result<Option<String>, DbErr> {
    if let Some(t) = ev.payload.get("type").and_then(Value::as_str) {
        return Ok(Some(t.to_string()));
    }
    let Some(wid) = ev.workflow_id else {
        return Ok(None);
    };
    Ok(entity::workflow::Entity::find_by_id(wid)
        .one(conn)
        .await?
        .map(|w| w.workflow_type))
}

/// Writes one pending delivery.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    event_id: Option<i64>,
    event_type: &str,
    channel: &str,
    target_id: Uuid,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<delivery::Model, DbErr> {
    delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(event_id),
        event_type: Set(event_type.to_string()),
        channel: Set(channel.to_string()),
        target_id: Set(target_id),
        payload: Set(payload),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    }
    .insert(conn)
    .await
}

// The claim, one statement per backend. Due pending rows whose lease is
// absent or expired (a dispatcher died mid-send) are claimable alike; each
// claim counts as an attempt.
const CLAIM_POSTGRES: &str = r#"
UPDATE deliveries
   SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
 WHERE id IN (
       SELECT id FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= $3
          AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
        ORDER BY next_attempt_at
        LIMIT $4
          FOR UPDATE SKIP LOCKED)
RETURNING *"#;

// SQLite has one writer: the UPDATE itself is the lock.
const CLAIM_SQLITE: &str = r#"
UPDATE deliveries
   SET lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1
 WHERE id IN (
       SELECT id FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= ?3
          AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
        ORDER BY next_attempt_at
        LIMIT ?4)
RETURNING *"#;

/// Claims up to `limit` due deliveries for `owner` until `now + lease`.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u64,
) -> Result<Vec<delivery::Model>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => CLAIM_POSTGRES,
        _ => CLAIM_SQLITE,
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            owner.into(),
            (now + lease).into(),
            now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    );
    let rows = db.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| delivery::Model::from_query_result(r, ""))
        .collect()
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered {
        status: i32,
    },
    /// Failed; `retry_at` is when to try again, or `None` to give up.
    Failed {
        status: Option<i32>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Records an attempt's outcome, if `owner` still holds the lease. False
/// when it does not (its lease expired and another dispatcher took it).
pub async fn record(
    db: &DatabaseConnection,
    claimed: &delivery::Model,
    owner: &str,
    attempt: Attempt,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut q = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    q = match attempt {
        Attempt::Delivered { status } => q
            .col_expr(
                delivery::Column::Status,
                Expr::value(DeliveryStatus::Delivered),
            )
            .col_expr(delivery::Column::LastStatus, Expr::value(status))
            .col_expr(
                delivery::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(delivery::Column::DeliveredAt, Expr::value(now)),
        Attempt::Failed {
            status,
            error,
            retry_at,
        } => {
            let q = q
                .col_expr(delivery::Column::LastStatus, Expr::value(status))
                .col_expr(delivery::Column::LastError, Expr::value(error));
            match retry_at {
                Some(at) => q.col_expr(delivery::Column::NextAttemptAt, Expr::value(at)),
                None => q.col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Dead)),
            }
        }
    };
    let res = q
        .filter(delivery::Column::Id.eq(claimed.id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Which deliveries a listing returns.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub target_id: Option<Uuid>,
    pub event_type: Option<String>,
}

/// Deliveries, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &DeliveryFilter,
    page: &PageRequest,
) -> AppResult<Page<delivery::Model>> {
    let mut q = delivery::Entity::find();
    if let Some(s) = filter.status {
        q = q.filter(delivery::Column::Status.eq(s));
    }
    if let Some(t) = filter.target_id {
        q = q.filter(delivery::Column::TargetId.eq(t));
    }
    if let Some(e) = &filter.event_type {
        q = q.filter(delivery::Column::EventType.eq(e.as_str()));
    }
    if let Some(cond) = page.after_condition(delivery::Column::CreatedAt, delivery::Column::Id) {
        q = q.filter(cond);
    }
    q = match page.order {
        Order::NewestFirst => q
            .order_by_desc(delivery::Column::CreatedAt)
            .order_by_desc(delivery::Column::Id),
        Order::OldestFirst => q
            .order_by_asc(delivery::Column::CreatedAt)
            .order_by_asc(delivery::Column::Id),
    };
    let rows = q.limit(page.first + 1).all(conn).await?;
    Ok(Page::from_rows(rows, page, |d| Cursor {
        created_at: d.created_at,
        id: d.id,
    }))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<delivery::Model> {
    delivery::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no delivery with id {id}")))
}

/// Sends a dead delivery again: pending now, with a fresh attempt budget
/// and the same id (receivers that got it before drop the repeat).
pub async fn redeliver(
    db: &DatabaseConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<delivery::Model> {
    let current = find(db, id).await?;
    if current.channel == CHANNEL_WEBHOOK {
        match webhook::Entity::find_by_id(current.target_id)
            .one(db)
            .await?
        {
            None => {
                return Err(AppError::Conflict(
                    "its webhook was deleted; there is nowhere to send it".into(),
                ));
            }
            Some(h) if !h.active => {
                return Err(AppError::Conflict(
                    "its webhook is disabled; enable it first".into(),
                ));
            }
            Some(_) => {}
        }
    }
    let res = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Dead))
        .exec(db)
        .await?;
    let d = find(db, id).await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict(format!(
            "delivery {id} is {}; only dead deliveries can be redelivered",
            match d.status {
                DeliveryStatus::Pending => "still pending",
                DeliveryStatus::Delivered => "already delivered",
                DeliveryStatus::Dead => "dead",
            }
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notifiable_events_have_a_webhook_name() {
        assert_eq!(webhook_event("approval.created"), Some("approval.created"));
        assert_eq!(
            webhook_event("deployment.activated"),
            Some("deployment.created")
        );
        assert_eq!(webhook_event("workflow.created"), None);
        assert_eq!(webhook_event("approval.voted"), None);
    }
}
