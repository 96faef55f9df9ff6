//! `decision_links`: single-use links in notification emails, bound to
//! (approval, reviewer, action, artifact version). Only the code's SHA-256
//! is kept.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "decision_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code_hash: String,
    pub approval_id: Uuid,
    pub user_id: Uuid,
    /// `approve` or `reject`.
    pub action: String,
    pub artifact_version: i32,
    /// The email delivery that carried it.
    pub delivery_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
