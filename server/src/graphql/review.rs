//! GraphQL types of review: approval policies, votes, eligibility and a
//! chain's history.

use async_graphql::{Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::vote::{self, VoteDecision as DbVoteDecision};
use entity::{event, role::Role as DbRole};
use serde_json::Value;

use super::identity::Role;
use crate::domain::policies::{self, ExpiryAction as DbExpiryAction, Policy, StoredPolicy};

/// What happens to an approval nobody decided before it expired.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExpiryAction {
    /// It becomes EXPIRED; nothing starts.
    Expire,
    /// It becomes REJECTED with the reason as feedback; the reject
    /// follow-up does not start.
    Reject,
    /// It becomes EXPIRED and `workflowType` starts.
    StartWorkflow,
}

impl From<DbExpiryAction> for ExpiryAction {
    fn from(a: DbExpiryAction) -> Self {
        match a {
            DbExpiryAction::Expire => ExpiryAction::Expire,
            DbExpiryAction::Reject => ExpiryAction::Reject,
            DbExpiryAction::StartWorkflow => ExpiryAction::StartWorkflow,
        }
    }
}

impl From<ExpiryAction> for DbExpiryAction {
    fn from(a: ExpiryAction) -> Self {
        match a {
            ExpiryAction::Expire => DbExpiryAction::Expire,
            ExpiryAction::Reject => DbExpiryAction::Reject,
            ExpiryAction::StartWorkflow => DbExpiryAction::StartWorkflow,
        }
    }
}

/// The outcome of an expiry.
#[derive(SimpleObject)]
pub struct ExpiryOutcome {
    pub action: ExpiryAction,
    /// Recorded as the approval's feedback.
    pub reason: Option<String>,
    /// For START_WORKFLOW.
    pub workflow_type: Option<String>,
}

/// The outcome of an expiry, as an admin sets it.
#[derive(InputObject)]
pub struct ExpiryOutcomeInput {
    pub action: ExpiryAction,
    pub reason: Option<String>,
    /// Required with START_WORKFLOW, refused otherwise.
    pub workflow_type: Option<String>,
}

/// Who may decide the approvals of one workflow type, and how many must
/// agree. Copied onto each approval when it is created.
pub struct ApprovalPolicy(pub StoredPolicy);

impl ApprovalPolicy {
    /// The policy an approval carries (not a stored row).
    pub fn snapshot(workflow_type: String, policy: Policy) -> Self {
        ApprovalPolicy(StoredPolicy {
            workflow_type,
            policy,
            updated: None,
        })
    }
}

#[Object]
impl ApprovalPolicy {
    /// The type whose runs ask for these approvals.
    async fn workflow_type(&self) -> &str {
        &self.0.workflow_type
    }
    /// Roles whose holders may decide (default REVIEWER and ADMIN).
    async fn allowed_roles(&self) -> Vec<Role> {
        self.0.policy.roles().into_iter().map(Into::into).collect()
    }
    /// Users who may decide besides those roles (they still need REVIEWER
    /// or above).
    async fn allowed_users(&self) -> &[String] {
        &self.0.policy.allowed_users
    }
    /// Whoever started the chain may not decide any approval in it.
    async fn prevent_self_review(&self) -> bool {
        self.0.policy.prevent_self_review
    }
    /// Distinct eligible reviewers who must approve; one eligible rejection
    /// rejects.
    async fn required_approvals(&self) -> i32 {
        self.0.policy.required_approvals as i32
    }
    /// An approval expires this long after it was created; null: never
    /// (unless the workflow asked for a deadline).
    async fn expires_in_seconds(&self) -> Option<i32> {
        self.0.policy.expires_in_secs.map(|s| s as i32)
    }
    /// Reviewers who may decide are reminded this long after creation.
    async fn remind_after_seconds(&self) -> Option<i32> {
        self.0.policy.remind_after_secs.map(|s| s as i32)
    }
    /// `escalateTo` is told this long after creation.
    async fn escalate_after_seconds(&self) -> Option<i32> {
        self.0.policy.escalate_after_secs.map(|s| s as i32)
    }
    /// Who an escalation tells.
    async fn escalate_to(&self) -> &[String] {
        &self.0.policy.escalate_to
    }
    async fn on_expiry(&self) -> ExpiryOutcome {
        let o = &self.0.policy.on_expiry;
        ExpiryOutcome {
            action: o.action.into(),
            reason: o.reason.clone(),
            workflow_type: o.workflow_type.clone(),
        }
    }
    /// True until an admin sets a policy for the type: any reviewer or
    /// admin decides alone, self-review allowed.
    async fn is_default(&self) -> bool {
        self.0.policy == Policy::default() && self.0.updated.is_none()
    }
    /// Who last changed it (null for the default or a copy on an approval).
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated.as_ref().map(|(by, _)| by.as_str())
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated.as_ref().map(|(_, at)| *at)
    }
}

/// Changes the policy of one workflow type; fields left out keep their value.
#[derive(InputObject)]
pub struct ApprovalPolicyInput {
    pub workflow_type: String,
    /// REVIEWER and/or ADMIN.
    pub allowed_roles: Option<Vec<Role>>,
    /// User names.
    pub allowed_users: Option<Vec<String>>,
    pub prevent_self_review: Option<bool>,
    /// 1 to 20.
    pub required_approvals: Option<i32>,
    /// Seconds; 0 clears the deadline.
    pub expires_in_seconds: Option<i32>,
    pub on_expiry: Option<ExpiryOutcomeInput>,
    /// Remind the reviewers who may decide this long after creation, if
    /// still pending; 0 clears it.
    pub remind_after_seconds: Option<i32>,
    /// Escalate (tell `escalateTo`) this long after creation, if still
    /// pending; longer than the reminder; 0 clears it.
    pub escalate_after_seconds: Option<i32>,
    /// User names an escalation tells.
    pub escalate_to: Option<Vec<String>>,
}

impl ApprovalPolicyInput {
    pub fn into_change(self) -> policies::PolicyChange {
        policies::PolicyChange {
            workflow_type: self.workflow_type,
            allowed_roles: self
                .allowed_roles
                .map(|rs| rs.into_iter().map(DbRole::from).collect()),
            allowed_users: self.allowed_users,
            prevent_self_review: self.prevent_self_review,
            required_approvals: self.required_approvals,
            expires_in_secs: self
                .expires_in_seconds
                .map(|s| (s != 0).then_some(i64::from(s))),
            remind_after_secs: self
                .remind_after_seconds
                .map(|s| (s != 0).then_some(i64::from(s))),
            escalate_after_secs: self
                .escalate_after_seconds
                .map(|s| (s != 0).then_some(i64::from(s))),
            escalate_to: self.escalate_to,
            on_expiry: self.on_expiry.map(|o| policies::OnExpiry {
                action: o.action.into(),
                reason: o.reason.filter(|r| !r.trim().is_empty()),
                workflow_type: o.workflow_type.filter(|t| !t.trim().is_empty()),
            }),
        }
    }
}

/// A reviewer's answer.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum VoteDecision {
    Approve,
    Reject,
}

impl From<DbVoteDecision> for VoteDecision {
    fn from(d: DbVoteDecision) -> Self {
        match d {
            DbVoteDecision::Approve => VoteDecision::Approve,
            DbVoteDecision::Reject => VoteDecision::Reject,
        }
    }
}

/// Who did something.
#[derive(SimpleObject, Clone)]
pub struct Actor {
    /// A user's name, `service:NAME`, `system`, `cli` or `anonymous`.
    pub name: String,
    /// Their role when they acted; null for the system.
    pub role: Option<Role>,
}

/// One reviewer's vote on one version of an approval's artifact.
pub struct Vote {
    pub model: vote::Model,
    /// The approval's artifact version now.
    pub current_version: i32,
}

#[Object]
impl Vote {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    async fn reviewer(&self) -> Actor {
        Actor {
            name: self.model.reviewer.clone(),
            role: Some(self.model.reviewer_role.into()),
        }
    }
    async fn decision(&self) -> VoteDecision {
        self.model.decision.into()
    }
    async fn feedback(&self) -> Option<&str> {
        self.model.feedback.as_deref()
    }
    /// The version the reviewer read (for an edit: the version they wrote).
    async fn artifact_version(&self) -> i32 {
        self.model.artifact_version
    }
    /// The artifact changed after this vote: it no longer counts.
    async fn stale(&self) -> bool {
        self.model.artifact_version != self.current_version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

/// Whether the caller may decide an approval, and why not.
#[derive(SimpleObject)]
pub struct Eligibility {
    pub allowed: bool,
    /// Why not, in words the review app shows ("you started this chain:
    /// someone else must review").
    pub reason: Option<String>,
}

/// One entry of a chain's history.
pub struct HistoryEvent(pub event::Model);

#[Object]
impl HistoryEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// e.g. `workflow.created`, `approval.created` (its payload holds the
    /// policy and score), `artifact.edited`, `approval.voted`,
    /// `approval.decided`, `deployment.activated`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn actor(&self) -> Actor {
        Actor {
            name: self.0.actor.clone(),
            role: self.0.actor_role.map(Into::into),
        }
    }
    async fn workflow_id(&self) -> Option<ID> {
        self.0.workflow_id.map(|id| ID(id.to_string()))
    }
    async fn approval_id(&self) -> Option<ID> {
        self.0.approval_id.map(|id| ID(id.to_string()))
    }
    async fn payload(&self) -> Json<&Value> {
        Json(&self.0.payload)
    }
}

/// An approval and the artifact version the decision was made on.
#[derive(InputObject)]
pub struct DecisionItem {
    pub id: ID,
    /// `Approval.artifactVersion` as read.
    pub version: i32,
}
