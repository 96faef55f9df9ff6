//! `workflows`: one row per run of a workflow type.

use sea_orm::entity::prelude::*;

/// Where a workflow is in its life. Only `pending` and `running` rows are
/// looked at by workers; the other three are final until someone retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WorkflowStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_name = "type")]
    pub workflow_type: String,
    /// The declared type's version this row was created with; `None` for
    /// built-in types.
    pub type_version: Option<i32>,
    pub status: WorkflowStatus,
    pub input: Json,
    pub output: Option<Json>,
    pub error: Option<String>,
    /// Claims so far (a claim whose lease expired counts as an attempt).
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_after: DateTimeUtc,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    /// Fencing token: bumped by every claim; every write a worker makes
    /// checks it, so a worker that lost its lease cannot write.
    pub fence: i64,
    #[sea_orm(unique)]
    pub idempotency_key: Option<String>,
    /// The approval whose decision created this workflow; unique, so one
    /// decision can never start two workflows.
    #[sea_orm(unique)]
    pub triggered_by_approval_id: Option<Uuid>,
    pub chain_id: Uuid,
    /// The workflow that started this one to do part of its work (an
    /// experiment's run); such a child opens no approval.
    pub parent_id: Option<Uuid>,
    /// The score a worker reported with its completion (children's scores
    /// are what their parent analyses).
    pub score: Option<f64>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
