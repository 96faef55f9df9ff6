//! Webhooks admins configure: where notifications go, which events, which
//! workflow types, and the signing secret (Standard Webhooks, `whsec_…`).
//!
//! The secret is shown once, when a webhook is made or its secret rotated.
//! Unlike a token it must be kept in the database: signing needs it. A
//! rotation keeps the previous secret signing beside the new one for a
//! while, so receivers can switch without dropping a delivery.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::{self, DeliveryStatus};
use entity::webhook::{self, WebhookKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait, sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::outbox;
use crate::error::{AppError, AppResult};

pub mod kind {
    pub const WEBHOOK_CREATED: &str = "webhook.created";
    pub const WEBHOOK_UPDATED: &str = "webhook.updated";
    pub const WEBHOOK_DELETED: &str = "webhook.deleted";
    pub const WEBHOOK_SECRET_ROTATED: &str = "webhook.secret_rotated";
}

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> AppResult<String> {
    let key = super::secrets::random_bytes()?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// What an admin asks for; on update, unset fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct WebhookSpec {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(None)` clears the filter.
    pub workflow_types: Option<Option<Vec<String>>>,
    pub active: Option<bool>,
    /// Only on create.
    pub kind: Option<WebhookKind>,
}

fn check_url(url: &str) -> AppResult<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| AppError::bad_input("input.url", format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AppError::bad_input(
            "input.url",
            "the URL must be http:// or https:// with a host",
        ));
    }
    if url.len() > 2048 {
        return Err(AppError::bad_input(
            "input.url",
            "the URL is longer than 2,048 characters",
        ));
    }
    Ok(url.to_string())
}

fn check_events(events: &[String]) -> AppResult<Vec<String>> {
    if events.is_empty() {
        return Err(AppError::bad_input(
            "input.events",
            "name at least one event",
        ));
    }
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if !outbox::EVENTS.iter().any(|(name, _)| name == e) {
            return Err(AppError::bad_input(
                format!("input.events[{i}]"),
                format!(
                    "unknown event '{e}'; known events: {}",
                    outbox::EVENTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn check_types(known_types: &[String], types: &[String]) -> AppResult<Vec<String>> {
    for (i, t) in types.iter().enumerate() {
        if !known_types.contains(t) {
            return Err(AppError::bad_input(
                format!("input.workflowTypes[{i}]"),
                format!(
                    "unknown workflow type '{t}'; known types: {}",
                    known_types.join(", ")
                ),
            ));
        }
    }
    Ok(types.to_vec())
}

fn check_description(d: Option<String>) -> AppResult<Option<String>> {
    let d = d.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if d.as_ref().is_some_and(|d| d.len() > 256) {
        return Err(AppError::bad_input(
            "input.description",
            "the description is longer than 256 characters",
        ));
    }
    Ok(d)
}

/// Creates a webhook; returns it with its secret (shown this once).
pub async fn create(
    db: &DatabaseConnection,
    known_types: &[String],
    stamp: &Stamp,
    spec: WebhookSpec,
) -> AppResult<(webhook::Model, String, Signal)> {
    let url = check_url(spec.url.as_deref().unwrap_or(""))?;
    let events = check_events(&spec.events.unwrap_or_default())?;
    let types = match spec.workflow_types.flatten() {
        Some(t) if !t.is_empty() => Some(check_types(known_types, &t)?),
        _ => None,
    };
    let description = check_description(spec.description)?;
    let secret = new_secret()?;
    let txn = db.begin().await?;
    let hook = webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(url),
        description: Set(description),
        events: Set(json!(events)),
        workflow_types: Set(types.map(|t| json!(t))),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        active: Set(spec.active.unwrap_or(true)),
        created_at: Set(stamp.now),
        created_by: Set(stamp.actor.clone()),
        updated_at: Set(stamp.now),
        kind: Set(spec.kind.unwrap_or(WebhookKind::Standard)),
    }
    .insert(&txn)
    .await?;
    let signal = audit(&txn, stamp, kind::WEBHOOK_CREATED, &hook).await?;
    txn.commit().await?;
    Ok((hook, secret, signal))
}

/// The audit event of a change (never the secret).
async fn audit(
    conn: &impl sea_orm::ConnectionTrait,
    stamp: &Stamp,
    kind: &'static str,
    h: &webhook::Model,
) -> Result<Signal, sea_orm::DbErr> {
    events::append(
        conn,
        stamp,
        NewEvent {
            kind,
            payload: json!({
                "webhook_id": h.id, "url": audited_url(h), "events": h.events,
                "workflow_types": h.workflow_types, "active": h.active,
            }),
            ..Default::default()
        },
    )
    .await
}

/// The URL as the audit trail keeps it: a Slack incoming-webhook URL is
/// itself a credential (anyone holding it can post), so only its host.
fn audited_url(h: &webhook::Model) -> String {
    match h.kind {
        WebhookKind::Standard => h.url.clone(),
        WebhookKind::Slack => reqwest::Url::parse(&h.url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|host| format!("{}://{host}/…", u.scheme()))
            })
            .unwrap_or_else(|| "(slack)".into()),
    }
}

pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn find(conn: &impl sea_orm::ConnectionTrait, id: Uuid) -> AppResult<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no webhook with id {id}")))
}

/// Changes a webhook's URL, events, types, description or active flag.
pub async fn update(
    db: &DatabaseConnection,
    known_types: &[String],
    stamp: &Stamp,
    id: Uuid,
    spec: WebhookSpec,
) -> AppResult<(webhook::Model, Signal)> {
    let txn = db.begin().await?;
    let current = find(&txn, id).await?;
    let mut m: webhook::ActiveModel = current.into();
    if let Some(u) = spec.url {
        m.url = Set(check_url(&u)?);
    }
    if let Some(e) = spec.events {
        m.events = Set(json!(check_events(&e)?));
    }
    if let Some(t) = spec.workflow_types {
        m.workflow_types = Set(match t {
            Some(t) if !t.is_empty() => Some(json!(check_types(known_types, &t)?)),
            _ => None,
        });
    }
    if spec.description.is_some() {
        m.description = Set(check_description(spec.description)?);
    }
    if let Some(a) = spec.active {
        m.active = Set(a);
    }
    m.updated_at = Set(stamp.now);
    let hook = m.update(&txn).await?;
    let signal = audit(&txn, stamp, kind::WEBHOOK_UPDATED, &hook).await?;
    txn.commit().await?;
    Ok((hook, signal))
}

/// Deletes a webhook; its pending deliveries become dead ("webhook
/// deleted"), and the log keeps them.
pub async fn delete(
    db: &DatabaseConnection,
    stamp: &Stamp,
    id: Uuid,
) -> AppResult<(webhook::Model, Signal)> {
    let txn = db.begin().await?;
    let hook = find(&txn, id).await?;
    delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Dead))
        .col_expr(
            delivery::Column::LastError,
            Expr::value("the webhook was deleted"),
        )
        .filter(delivery::Column::TargetId.eq(id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(&txn)
        .await?;
    webhook::Entity::delete_by_id(id).exec(&txn).await?;
    let signal = audit(&txn, stamp, kind::WEBHOOK_DELETED, &hook).await?;
    txn.commit().await?;
    Ok((hook, signal))
}

/// Replaces the secret; the previous one keeps signing (beside the new
/// one) for `previous_valid_for`, so receivers can switch without a gap.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    stamp: &Stamp,
    id: Uuid,
    previous_valid_for: TimeDelta,
) -> AppResult<(webhook::Model, String, Signal)> {
    if previous_valid_for < TimeDelta::zero() || previous_valid_for > TimeDelta::days(30) {
        return Err(AppError::bad_input(
            "previousValidForSeconds",
            "previousValidForSeconds must be 0 to 30 days",
        ));
    }
    let secret = new_secret()?;
    let txn = db.begin().await?;
    let current = find(&txn, id).await?;
    let previous = current.secret.clone();
    let mut m: webhook::ActiveModel = current.into();
    m.secret = Set(secret.clone());
    m.previous_secret = Set(Some(previous));
    m.previous_secret_until = Set(Some(stamp.now + previous_valid_for));
    m.updated_at = Set(stamp.now);
    let hook = m.update(&txn).await?;
    let signal = audit(&txn, stamp, kind::WEBHOOK_SECRET_ROTATED, &hook).await?;
    txn.commit().await?;
    Ok((hook, secret, signal))
}

/// The secrets that sign a delivery sent at `now`: the current one, and the
/// previous one while it is still valid.
pub fn signing_secrets(h: &webhook::Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut out = vec![h.secret.as_str()];
    if let (Some(prev), Some(until)) = (&h.previous_secret, h.previous_secret_until)
        && until > now
    {
        out.push(prev.as_str());
    }
    out
}

/// Queues a `webhook.test` delivery to `id`, so an admin can check the
/// receiver end to end.
pub async fn send_test(
    db: &DatabaseConnection,
    stamp: &Stamp,
    id: Uuid,
) -> AppResult<entity::delivery::Model> {
    let hook = find(db, id).await?;
    if !hook.active {
        return Err(AppError::Conflict(
            "the webhook is disabled; enable it to send a test".into(),
        ));
    }
    let body = json!({
        "type": outbox::TEST_EVENT,
        "timestamp": stamp.now.to_rfc3339(),
        "data": { "webhook_id": hook.id, "sent_by": stamp.actor, "message": "A test delivery from Baton." },
    });
    Ok(outbox::insert(
        db,
        None,
        outbox::TEST_EVENT,
        outbox::CHANNEL_WEBHOOK,
        hook.id,
        body,
        stamp.now,
    )
    .await?)
}

/// The event names a webhook receives.
pub fn event_names(h: &webhook::Model) -> Vec<String> {
    strings(&h.events)
}

/// The workflow types a webhook is limited to (`None`: all).
pub fn workflow_types(h: &webhook::Model) -> Option<Vec<String>> {
    h.workflow_types.as_ref().map(strings)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
