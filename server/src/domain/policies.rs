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
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::principal::{Principal, PrincipalKind, Role, parse_role, role_word};
use crate::engine::registry::Registry;
use crate::error::{AppError, AppResult};

pub const POLICY_SET: &str = "policy.set";
/// Upper bound for `requiredApprovals`.
pub const MAX_REQUIRED_APPROVALS: u32 = 20;

/// What happens to an approval nobody decided before it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryAction {
    /// It becomes `expired`; nothing starts.
    #[default]
    Expire,
    /// It becomes `rejected`, with the reason as its feedback; the reject
    /// follow-up does not start (no person asked for a revision).
    Reject,
    /// It becomes `expired` and the named workflow starts.
    StartWorkflow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OnExpiry {
    pub action: ExpiryAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_type: Option<String>,
}

/// The rules of one type's approvals; stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Role names (`reviewer`, `admin`) whose holders may decide.
    pub allowed_roles: Vec<String>,
    /// User names who may decide besides the roles (they still need the
    /// reviewer role or above).
    #[serde(default)]
    pub allowed_users: Vec<String>,
    #[serde(default)]
    pub prevent_self_review: bool,
    pub required_approvals: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<i64>,
    #[serde(default)]
    pub on_expiry: OnExpiry,
    /// Remind the reviewers who may decide this long after the approval
    /// was created, if it is still pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_after_secs: Option<i64>,
    /// Escalate (tell `escalate_to`) this long after creation, if still
    /// pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_secs: Option<i64>,
    /// User names told on escalation (they decide only if the policy lets
    /// them, as admins do by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate_to: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allowed_roles: vec!["reviewer".into(), "admin".into()],
            allowed_users: Vec::new(),
            prevent_self_review: false,
            required_approvals: 1,
            expires_in_secs: None,
            on_expiry: OnExpiry::default(),
            remind_after_secs: None,
            escalate_after_secs: None,
            escalate_to: Vec::new(),
        }
    }
}

impl Policy {
    pub fn roles(&self) -> Vec<Role> {
        self.allowed_roles
            .iter()
            .filter_map(|r| parse_role(r))
            .collect()
    }

    /// Reads a stored policy. `None` (approvals from before policies
    /// existed) is the default; a value that does not parse (a hand-edited
    /// row) fails closed: only admins may decide until one sets a policy.
    pub fn from_json(v: Option<&serde_json::Value>) -> Policy {
        match v {
            None => Policy::default(),
            Some(v) => serde_json::from_value(v.clone()).unwrap_or_else(|_| Policy::locked()),
        }
    }

    /// What an unreadable policy becomes.
    pub fn locked() -> Policy {
        Policy {
            allowed_roles: vec!["admin".into()],
            prevent_self_review: true,
            ..Policy::default()
        }
    }

    /// The workflow type whose policy this is, when it was copied onto an
    /// approval (see `approvals::insert`).
    pub fn source_type(v: Option<&serde_json::Value>) -> Option<String> {
        v.and_then(|v| v.get("workflow_type"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }

    /// Why `principal` may not decide an approval under this policy in a
    /// chain `started_by` started; `None` when they may.
    pub fn refusal(&self, principal: &Principal, started_by: &str) -> Option<String> {
        let role = principal.role?;
        if role < Role::Reviewer {
            return Some(format!(
                "your role is {}; deciding needs reviewer or admin",
                role_word(role)
            ));
        }
        let by_name = self.allowed_users.iter().any(|u| u == &principal.id);
        // k of n counts people: a service token votes only where the
        // policy names it.
        if principal.kind == PrincipalKind::Service && !by_name {
            return Some(format!(
                "a service token votes only where the approval policy names it (allowedUsers: \"{}\")",
                principal.id
            ));
        }
        let by_role = self.roles().contains(&role);
        if !by_role && !by_name {
            return Some(format!(
                "the approval policy lets only {} decide",
                self.who()
            ));
        }
        if self.prevent_self_review && principal.id == started_by {
            return Some("you started this chain: someone else must review".into());
        }
        None
    }

    /// "reviewers, admins and ana" — for messages and the review app.
    pub fn who(&self) -> String {
        let mut parts: Vec<String> = self
            .roles()
            .iter()
            .map(|r| format!("{}s", role_word(*r)))
            .collect();
        parts.extend(self.allowed_users.iter().cloned());
        match parts.len() {
            0 => "nobody".into(),
            1 => parts.remove(0),
            _ => {
                let last = parts.pop().unwrap_or_default();
                format!("{} and {last}", parts.join(", "))
            }
        }
    }
}

/// The input of a policy's expiry follow-up workflow.
pub fn expiry_input(
    approval_id: Uuid,
    artifact_id: Option<Uuid>,
    artifact_version: i32,
    reason: Option<String>,
) -> Value {
    json!({
        "approval_id": approval_id,
        "artifact_id": artifact_id,
        "artifact_version": artifact_version,
        "decision": "expired",
        "feedback": reason,
    })
}

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
pub async fn all(conn: &impl ConnectionTrait, registry: &Registry) -> AppResult<Vec<StoredPolicy>> {
    let rows = approval_policy::Entity::find()
        .order_by_asc(approval_policy::Column::WorkflowType)
        .all(conn)
        .await?;
    let mut out = Vec::new();
    for w in registry.all().filter(|w| w.requires_approval()) {
        let stored = rows.iter().find(|r| r.workflow_type == w.name());
        out.push(match stored {
            Some(r) => StoredPolicy {
                workflow_type: r.workflow_type.clone(),
                policy: Policy::from_json(Some(&r.policy)),
                updated: Some((r.updated_by.clone(), r.updated_at)),
            },
            None => StoredPolicy {
                workflow_type: w.name().to_string(),
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
    registry: &Registry,
    stamp: &Stamp,
    change: PolicyChange,
) -> AppResult<(StoredPolicy, Signal)> {
    let wt = change.workflow_type.clone();
    match registry.get(&wt) {
        None => {
            return Err(AppError::bad_input(
                "input.workflowType",
                format!(
                    "unknown workflow type '{wt}'; known types: {}",
                    registry.names().join(", ")
                ),
            ));
        }
        Some(w) if !w.requires_approval() => {
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
                let Some(w) = registry.get(t) else {
                    return Err(AppError::bad_input(
                        "input.onExpiry.workflowType",
                        format!(
                            "unknown workflow type '{t}'; known types: {}",
                            registry.names().join(", ")
                        ),
                    ));
                };
                // It must accept what an expiry hands it.
                let sample = expiry_input(Uuid::nil(), Some(Uuid::nil()), 1, o.reason.clone());
                if let Some((f, m)) = super::workflows::invalid_input(w.as_ref(), &sample) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::principal::Credential;

    fn person(name: &str, role: Role) -> Principal {
        Principal {
            id: name.into(),
            role: Some(role),
            kind: PrincipalKind::User {
                user_id: uuid::Uuid::nil(),
            },
            credential: Credential::None,
        }
    }

    #[test]
    fn service_tokens_vote_only_where_the_policy_names_them() {
        let ci = Principal {
            id: "service:ci".into(),
            kind: PrincipalKind::Service,
            ..person("x", Role::Reviewer)
        };
        let why = Policy::default().refusal(&ci, "x").unwrap_or_default();
        assert!(why.contains("service token"), "{why}");
        let named = Policy {
            allowed_users: vec!["service:ci".into()],
            ..Policy::default()
        };
        assert_eq!(named.refusal(&ci, "x"), None);
    }

    #[test]
    fn the_default_lets_any_reviewer_or_admin_decide_alone_even_their_own_chain() {
        let p = Policy::default();
        assert_eq!(p.refusal(&person("ana", Role::Reviewer), "ana"), None);
        assert_eq!(p.refusal(&person("root", Role::Admin), "x"), None);
        assert!(p.refusal(&person("sam", Role::Submitter), "x").is_some());
        assert_eq!(p.required_approvals, 1);
    }

    #[test]
    fn self_review_and_named_users_are_enforced() {
        let p = Policy {
            allowed_roles: vec!["admin".into()],
            allowed_users: vec!["ana".into()],
            prevent_self_review: true,
            ..Policy::default()
        };
        assert_eq!(p.refusal(&person("ana", Role::Reviewer), "bo"), None);
        let other = p
            .refusal(&person("cy", Role::Reviewer), "bo")
            .unwrap_or_default();
        assert!(other.contains("admins and ana"), "{other}");
        let own = p
            .refusal(&person("ana", Role::Reviewer), "ana")
            .unwrap_or_default();
        assert!(own.contains("you started this chain"), "{own}");
    }

    #[test]
    fn a_hand_edited_row_that_does_not_parse_fails_closed() {
        let p = Policy::from_json(Some(&json!({"nonsense": 1})));
        assert_eq!(p, Policy::locked());
        assert!(p.refusal(&person("ana", Role::Reviewer), "x").is_some());
        assert_eq!(p.refusal(&person("root", Role::Admin), "x"), None);
        assert_eq!(Policy::from_json(None), Policy::default());
        let p = Policy {
            required_approvals: 3,
            ..Policy::default()
        };
        assert_eq!(Policy::from_json(Some(&p.to_json())), p);
    }
}
