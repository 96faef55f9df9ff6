//! `workflow_types`: the versions of the workflow types declared at run
//! time (built-in types are compiled in and have no rows). `definition` is
//! the declaration as JSON (see `baton::domain::workflow_types`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_types")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub definition: Json,
    /// Of the canonical definition: declaring the same content again
    /// finds this version instead of adding one.
    pub sha256: String,
    pub declared_by: String,
    pub declared_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
