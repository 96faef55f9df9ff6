//! `events`: the append-only audit trail; it also feeds subscriptions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// `workflow.created`, `workflow.completed`, `workflow.failed`,
    /// `workflow.retrying`, `workflow.cancelled`, `workflow.retried`,
    /// `approval.created`, `approval.decided`.
    pub kind: String,
    pub workflow_id: Option<Uuid>,
    pub approval_id: Option<Uuid>,
    pub chain_id: Option<Uuid>,
    pub actor: String,
    /// The actor's role when it acted; `None` for the system.
    pub actor_role: Option<crate::role::Role>,
    pub payload: Json,
    /// PostgreSQL: the writing transaction (`pg_current_xact_id()`, set by
    /// the column's default); SQLite: `None`. Lets feed readers tell
    /// settled events from ones still in flight.
    pub txid: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
