//! Decision links: how a reviewer answers from an email.
//!
//! Each link is bound to one approval, one reviewer, one action and the
//! artifact version the email showed; it works once and expires. Its code
//! is 256 random bits; only the code's SHA-256 is stored, so a link cannot
//! be forged or read back from the database. Opening a link (GET) never
//! decides: mail scanners and chat unfurlers open links. The decision is
//! the POST from the page it shows, recorded as that reviewer and subject
//! to the policy like any other vote.

use chrono::{DateTime, TimeDelta, Utc};
use entity::decision_link;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, sea_query::Expr,
};
use uuid::Uuid;

use super::secrets;
use crate::error::AppResult;

/// How long a link in an email works (less when the approval expires sooner).
pub const LINK_TTL: TimeDelta = TimeDelta::days(3);

/// Creates a link; returns its code (shown once, in the email).
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    conn: &impl ConnectionTrait,
    approval_id: Uuid,
    user_id: Uuid,
    action: &str,
    artifact_version: i32,
    delivery_id: Option<Uuid>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let code = secrets::new_secret("")?;
    decision_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        code_hash: Set(secrets::hash(&code)),
        approval_id: Set(approval_id),
        user_id: Set(user_id),
        action: Set(action.to_string()),
        artifact_version: Set(artifact_version),
        delivery_id: Set(delivery_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(code)
}

/// Why a link does not work now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such link: mistyped or tampered with (403).
    Unknown,
    /// Used already (410).
    Used,
    /// Past its expiry (410).
    Expired,
}

/// The link behind `code`, if it still works.
pub async fn inspect(
    db: &DatabaseConnection,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<Result<decision_link::Model, Refusal>> {
    if code.is_empty() || code.len() > 128 {
        return Ok(Err(Refusal::Unknown));
    }
    let Some(link) = decision_link::Entity::find()
        .filter(decision_link::Column::CodeHash.eq(secrets::hash(code)))
        .one(db)
        .await?
    else {
        return Ok(Err(Refusal::Unknown));
    };
    Ok(if link.used_at.is_some() {
        Err(Refusal::Used)
    } else if link.expires_at <= now {
        Err(Refusal::Expired)
    } else {
        Ok(link)
    })
}

/// Spends the link behind `code` (once, whatever the concurrency).
pub async fn spend(
    db: &DatabaseConnection,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<Result<decision_link::Model, Refusal>> {
    let link = match inspect(db, code, now).await? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let spent = decision_link::Entity::update_many()
        .col_expr(decision_link::Column::UsedAt, Expr::value(now))
        .filter(decision_link::Column::Id.eq(link.id))
        .filter(decision_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(if spent.rows_affected == 1 {
        Ok(link)
    } else {
        Err(Refusal::Used)
    })
}
