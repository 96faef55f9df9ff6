//! The rules of an approval policy, as data: who may decide, how many
//! must agree, what an expiry does, when to remind and escalate. Pure (no
//! I/O), so the outbox and the review page can apply a policy without the
//! storage of `policies`, which keeps and changes them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::principal::{Principal, PrincipalKind, Role, parse_role, role_word};

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
