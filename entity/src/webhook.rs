//! `webhooks`: where Baton posts notifications, signed per the Standard
//! Webhooks specification. The signing secret must be kept (HMAC needs
//! it); the API shows it once, when it is made or rotated.

use sea_orm::entity::prelude::*;

/// What the receiver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WebhookKind {
    /// Signed JSON `{type, timestamp, data}` (Standard Webhooks).
    #[sea_orm(string_value = "standard")]
    Standard,
    /// A Slack incoming-webhook URL: a Block Kit message.
    #[sea_orm(string_value = "slack")]
    Slack,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Event names it receives, e.g. `["approval.created"]`.
    pub events: Json,
    /// Only events of these workflow types; `None`: all.
    pub workflow_types: Option<Json>,
    /// `whsec_…`.
    pub secret: String,
    /// The secret before the last rotation, still signing until
    /// `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub updated_at: DateTimeUtc,
    pub kind: WebhookKind,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
