//! `deployments`: which config a workflow type uses in an environment.
//! The history is kept; a rollback is a new deployment of an older config.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deployments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The workflow type configured, e.g. `generate_draft`.
    pub target: String,
    /// e.g. `production`.
    pub environment: String,
    pub config: Json,
    /// The approval that allowed it (none for a rollback or a manual deploy).
    pub approval_id: Option<Uuid>,
    /// The experiment (its `run_experiment` workflow) that chose the config.
    pub experiment_id: Option<Uuid>,
    /// The deployment whose config a rollback re-activated.
    pub rolled_back_from: Option<Uuid>,
    pub deployed_by: String,
    /// At most one active row per (target, environment).
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
