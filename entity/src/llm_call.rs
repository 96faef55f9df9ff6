//! `llm_calls`: one row per model call, successful or not.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "llm_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workflow_id: Option<Uuid>,
    /// The workflow attempt that made the call (calls are at-least-once).
    pub attempt: i32,
    /// What the call was for: `draft`, `merge`, `judge`, `revise`, ….
    pub purpose: String,
    pub provider: String,
    pub model: String,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub latency_ms: i64,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
