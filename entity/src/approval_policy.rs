//! `approval_policies`: who may decide the approvals of one workflow type,
//! and how many must agree. The policy itself is JSON (see
//! `baton::domain::policies::Policy`), copied onto each approval.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_type: String,
    pub policy: Json,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
