//! `users`: people who sign in to Baton.

use sea_orm::entity::prelude::*;

use crate::role::Role;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique; the name every row that records an actor carries.
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(unique)]
    pub email: Option<String>,
    pub role: Role,
    /// A disabled user's tokens and sessions stop working.
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    /// The user asked for no notification emails.
    pub email_opt_out: bool,
    /// Notifications only for these workflow types; `None`: all.
    pub notify_types: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
