//! Approval policies: who may decide the approvals a workflow type asks
//! for, how many must agree, and what happens when nobody decides in time.
//!
//! A policy is stored per workflow type and changed only by admins (each
//! change an audited `policy.set` event). The policy in force is copied onto
//! every approval when it is created, so changing a policy never changes
//! the rules of a decision already under way.
//!
//! Until an admin sets one, a type's approvals may be decided by any
//! reviewer or admin, one approval suffices and self-review is allowed (so
//! a lone first-start admin can work).

use entity::approval_policy;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Set,
    TransactionTrait,
};

use serde_json::json;
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::principal::{Role, role_word};
use super::workflow_types::Catalog;
use crate::error::{AppError, AppResult};

pub const POLICY_SET: &str = "policy.set";
/// Upper bound for `requiredApprovals`.
pub const MAX_REQUIRED_APPROVALS: u32 = 20;

pub use super::policy::{ExpiryAction, OnExpiry, Policy, expiry_input};

/// A policy as stored, with who set it.
#[derive(Debug, Clone)]
pub struct StoredPolicy {
    pub workflow_type: String,
    pub policy: Policy,
    /// `None` for the default (never set).
    pub updated: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

/// The policy in force for `workflow_type` (the default when none is set).
pub async fn effective(
    conn: &impl ConnectionTrait,
    workflow_type: &str,
) -> AppResult<StoredPolicy> {
    let row = approval_policy::Entity::find_by_id(workflow_type.to_string())
        .one(conn)
        .await?;
    Ok(match row {
        Some(r) => StoredPolicy {
            workflow_type: r.workflow_type,
            policy: Policy::from_json(Some(&r.policy)),
            updated: Some((r.updated_by, r.updated_at)),
        },
        None => StoredPolicy {
            workflow_type: workflow_type.to_string(),
            policy: Policy::default(),
            updated: None,
        },
    })
}

/// The policy of every type that asks for approval, by name.
pub async fn all(conn: &impl ConnectionTrait, catalog: &Catalog) -> AppResult<Vec<StoredPolicy>> {
    let rows = approval_policy::Entity::find()
        .order_by_asc(approval_policy::Column::WorkflowType)
        .all(conn)
        .await?;
    let mut out = Vec::new();
    for w in catalog
        .all(conn)
        .await?
        .iter()
        .filter(|w| w.requires_approval)
    {
        let stored = rows.iter().find(|r| r.workflow_type == w.name);
        out.push(match stored {
            Some(r) => StoredPolicy {
                workflow_type: r.workflow_type.clone(),
                policy: Policy::from_json(Some(&r.policy)),
                updated: Some((r.updated_by.clone(), r.updated_at)),
            },
            None => StoredPolicy {
                workflow_type: w.name.clone(),
                policy: Policy::default(),
                updated: None,
            },
        });
    }
    Ok(out)
}

/// A change an admin asks for; unset fields keep their current value.
#[derive(Debug, Clone, Default)]
pub struct PolicyChange {
    pub workflow_type: String,
    pub allowed_roles: Option<Vec<Role>>,
    pub allowed_users: Option<Vec<String>>,
    pub prevent_self_review: Option<bool>,
    pub required_approvals: Option<i32>,
    /// `Some(None)` clears the expiry.
    pub expires_in_secs: Option<Option<i64>>,
    pub on_expiry: Option<OnExpiry>,
    /// `Some(None)` clears it.
    pub remind_after_secs: Option<Option<i64>>,
    /// `Some(None)` clears it.
    pub escalate_after_secs: Option<Option<i64>>,
    pub escalate_to: Option<Vec<String>>,
}

/// Validates and stores a policy change, with a `policy.set` event that
/// records the policy before and after.
pub async fn set(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    change: PolicyChange,
) -> AppResult<(StoredPolicy, Signal)> {
    let wt = change.workflow_type.clone();
    match catalog.get(db, &wt).await? {
        None => {
            return Err(AppError::bad_input(
                "input.workflowType",
                format!(
                    "unknown workflow type '{wt}'; known types: {}",
                    catalog.names(db).await?.join(", ")
                ),
            ));
        }
        Some(w) if !w.requires_approval => {
            return Err(AppError::bad_input(
                "input.workflowType",
                format!("'{wt}' never asks for approval, so a policy would have no effect"),
            ));
        }
        Some(_) => {}
    }
    let txn = db.begin().await?;
    let before = effective(&txn, &wt).await?;
    let mut p = before.policy.clone();
    if let Some(roles) = change.allowed_roles {
        if let Some(r) = roles.iter().find(|r| **r < Role::Reviewer) {
            return Err(AppError::bad_input(
                "input.allowedRoles",
                format!(
                    "{} cannot decide approvals; allowed roles are REVIEWER and ADMIN",
                    role_word(*r).to_uppercase()
                ),
            ));
        }
        let mut words: Vec<String> = roles.iter().map(|r| role_word(*r).to_string()).collect();
        words.sort();
        words.dedup();
        p.allowed_roles = words;
    }
    if let Some(users) = change.allowed_users {
        let mut names = Vec::new();
        for (i, name) in users.iter().enumerate() {
            let name = name.trim();
            let field = format!("input.allowedUsers[{i}]");
            let known = match name.strip_prefix("service:") {
                // Service tokens have no user row; the name is what their
                // votes record.
                Some(service) if !service.is_empty() => name.to_string(),
                _ => {
                    super::identity::user_by_name(&txn, name)
                        .await
                        .map_err(|_| {
                            AppError::bad_input(&field, format!("no user named '{name}'"))
                        })?
                        .name
                }
            };
            if !names.contains(&known) {
                names.push(known);
            }
        }
        p.allowed_users = names;
    }
    if let Some(v) = change.prevent_self_review {
        p.prevent_self_review = v;
    }
    if let Some(k) = change.required_approvals {
        if k < 1 || k as u32 > MAX_REQUIRED_APPROVALS {
            return Err(AppError::bad_input(
                "input.requiredApprovals",
                format!("requiredApprovals must be 1 to {MAX_REQUIRED_APPROVALS}, got {k}"),
            ));
        }
        p.required_approvals = k as u32;
    }
    if let Some(e) = change.expires_in_secs {
        if let Some(s) = e
            && !(1..=365 * 24 * 3600).contains(&s)
        {
            return Err(AppError::bad_input(
                "input.expiresInSeconds",
                "expiresInSeconds must be 1 second to 365 days (or 0 for never)",
            ));
        }
        p.expires_in_secs = e;
    }
    if let Some(o) = change.on_expiry {
        if o.reason.as_ref().is_some_and(|r| r.len() > 1000) {
            return Err(AppError::bad_input(
                "input.onExpiry.reason",
                "reason is longer than 1,000 characters",
            ));
        }
        match (o.action, &o.workflow_type) {
            (ExpiryAction::StartWorkflow, None) => {
                return Err(AppError::bad_input(
                    "input.onExpiry.workflowType",
                    "START_WORKFLOW needs the workflow type to start",
                ));
            }
            (ExpiryAction::StartWorkflow, Some(t)) => {
                let Some(w) = catalog.get(&txn, t).await? else {
                    return Err(AppError::bad_input(
                        "input.onExpiry.workflowType",
                        format!(
                            "unknown workflow type '{t}'; known types: {}",
                            catalog.names(&txn).await?.join(", ")
                        ),
                    ));
                };
                // It must accept what an expiry hands it.
                let sample = expiry_input(Uuid::nil(), Some(Uuid::nil()), 1, o.reason.clone());
                if let Some((f, m)) = catalog.invalid_input(&txn, &w, &sample).await? {
                    return Err(AppError::bad_input(
                        "input.onExpiry.workflowType",
                        format!(
                            "{t} cannot start from an expiry: it refuses {{approval_id, artifact_id, \
                             artifact_version, decision: \"expired\", feedback}} ({f}: {m})"
                        ),
                    ));
                }
            }
            (ExpiryAction::Expire | ExpiryAction::Reject, Some(_)) => {
                return Err(AppError::bad_input(
                    "input.onExpiry.workflowType",
                    "workflowType only goes with START_WORKFLOW",
                ));
            }
            _ => {}
        }
        p.on_expiry = o;
    }
    for (field, value, target) in [
        (
            "input.remindAfterSeconds",
            change.remind_after_secs,
            &mut p.remind_after_secs,
        ),
        (
            "input.escalateAfterSeconds",
            change.escalate_after_secs,
            &mut p.escalate_after_secs,
        ),
    ] {
        if let Some(v) = value {
            if let Some(s) = v
                && !(1..=365 * 24 * 3600).contains(&s)
            {
                return Err(AppError::bad_input(
                    field,
                    format!(
                        "{} must be 1 second to 365 days (or 0 for never)",
                        &field[6..]
                    ),
                ));
            }
            *target = v;
        }
    }
    if let Some(users) = change.escalate_to {
        let mut names = Vec::new();
        for (i, name) in users.iter().enumerate() {
            let name = name.trim();
            let u = super::identity::user_by_name(&txn, name)
                .await
                .map_err(|_| {
                    AppError::bad_input(
                        format!("input.escalateTo[{i}]"),
                        format!("no user named '{name}'"),
                    )
                })?;
            if !names.contains(&u.name) {
                names.push(u.name);
            }
        }
        p.escalate_to = names;
    }
    if let (Some(r), Some(e)) = (p.remind_after_secs, p.escalate_after_secs)
        && e <= r
    {
        return Err(AppError::bad_input(
            "input.escalateAfterSeconds",
            "escalation comes after the reminder: escalateAfterSeconds must exceed remindAfterSeconds",
        ));
    }
    if p.escalate_after_secs.is_some() && p.escalate_to.is_empty() {
        return Err(AppError::bad_input(
            "input.escalateTo",
            "name the users an escalation tells",
        ));
    }
    if p.roles().is_empty() && p.allowed_users.is_empty() {
        return Err(AppError::bad_input(
            "input.allowedRoles",
            "name at least one role or user who may decide",
        ));
    }
    let row = approval_policy::ActiveModel {
        workflow_type: Set(wt.clone()),
        policy: Set(p.to_json()),
        updated_by: Set(stamp.actor.clone()),
        updated_at: Set(stamp.now),
    };
    if before.updated.is_some() {
        row.update(&txn).await?;
    } else {
        row.insert(&txn).await?;
    }
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: POLICY_SET,
            payload: json!({
                "type": wt,
                "policy": p.to_json(),
                "previous": before.policy.to_json(),
            }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((
        StoredPolicy {
            workflow_type: wt,
            policy: p,
            updated: Some((stamp.actor.clone(), stamp.now)),
        },
        signal,
    ))
}
