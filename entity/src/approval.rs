//! `approvals`: a request for a person's decision on a workflow's artifact.

use sea_orm::entity::prelude::*;

/// An approval leaves `pending` at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ApprovalStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approvals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The workflow that asked for this approval (one approval per workflow).
    #[sea_orm(unique)]
    pub workflow_id: Uuid,
    pub chain_id: Uuid,
    pub status: ApprovalStatus,
    pub artifact_type: String,
    pub artifact_id: Option<Uuid>,
    /// What the reviewer sees.
    pub artifact_data: Json,
    /// Quality score (0–100) of the artifact, when the workflow scored it.
    pub score: Option<f64>,
    pub next_workflow_type: Option<String>,
    pub next_workflow_input: Option<Json>,
    pub reject_workflow_type: Option<String>,
    pub reject_workflow_input: Option<Json>,
    /// The reject follow-up starts only when the reviewer wrote feedback.
    pub reject_requires_feedback: bool,
    /// Whose vote decided it (the k-th approval or the rejection).
    pub decided_by: Option<String>,
    pub feedback: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub next_workflow_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// The version of the artifact the approval shows now (0: no artifact).
    pub artifact_version: i32,
    /// The approval policy in force when it was created (`None` only for
    /// approvals written before policies existed: the default applies).
    pub policy: Option<Json>,
    /// Who started the chain (for `preventSelfReview`).
    pub started_by: String,
    /// Inputs of the next workflow read from the approved artifact at
    /// decision time: `{"input_key": "/json/pointer"}`.
    pub artifact_bindings: Option<Json>,
    /// When the eligible reviewers are reminded, if still pending.
    pub remind_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
    /// When it is escalated to the policy's escalation reviewers.
    pub escalate_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
