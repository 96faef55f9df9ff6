//! `artifacts`: versioned outputs of workflows (drafts, experiment results, configs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "artifacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub chain_id: Uuid,
    pub kind: String,
    pub content: Json,
    /// 1 for a first version, parent's version + 1 for a revision.
    pub version: i32,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// `None`: written by its workflow; else the reviewer who edited it.
    pub author: Option<String>,
    /// Hex SHA-256 of the content's canonical JSON (sorted keys, compact).
    pub sha256: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
