//! `votes`: one reviewer's approve or reject on one version of an approval's
//! artifact. Unique per (approval, reviewer, version).

use sea_orm::entity::prelude::*;

use crate::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum VoteDecision {
    #[sea_orm(string_value = "approve")]
    Approve,
    #[sea_orm(string_value = "reject")]
    Reject,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub approval_id: Uuid,
    pub reviewer: String,
    pub reviewer_role: Role,
    pub decision: VoteDecision,
    pub feedback: Option<String>,
    /// The artifact version the reviewer read (and, after an edit, wrote).
    pub artifact_version: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
