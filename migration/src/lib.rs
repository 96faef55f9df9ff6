//! Baton's schema, as sea-orm migrations that run unchanged on SQLite and
//! PostgreSQL. One migration per concern, named `mYYYYMMDD_HHMMSS_verb_table`.
//!
//! Partial indexes are written as plain SQL: both backends accept the same
//! `CREATE INDEX … WHERE …` text.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_workflows;
mod m20261125_000002_create_approvals;
mod m20261125_000003_create_artifacts;
mod m20261125_000004_create_events;
mod m20261125_000005_create_llm_calls;
mod m20261125_000006_create_deployments;
mod m20261125_000007_index_approval_expiry;
mod m20261127_000008_create_identity;
mod m20261127_000009_create_policies_and_votes;
mod m20261127_000010_version_artifacts;
mod m20261127_000011_protect_events;
mod m20261127_000012_create_outbox;
mod m20261127_000013_add_webhook_kind;
mod m20261127_000014_create_decision_links;
mod m20261127_000015_add_approval_reminders;
mod m20261128_000016_create_workflow_types;
mod m20261128_000017_add_workflow_parent_and_score;
mod m20261207_000018_add_event_txid;
mod m20261207_000019_claim_function;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_workflows::Migration),
            Box::new(m20261125_000002_create_approvals::Migration),
            Box::new(m20261125_000003_create_artifacts::Migration),
            Box::new(m20261125_000004_create_events::Migration),
            Box::new(m20261125_000005_create_llm_calls::Migration),
            Box::new(m20261125_000006_create_deployments::Migration),
            Box::new(m20261125_000007_index_approval_expiry::Migration),
            Box::new(m20261127_000008_create_identity::Migration),
            Box::new(m20261127_000009_create_policies_and_votes::Migration),
            Box::new(m20261127_000010_version_artifacts::Migration),
            Box::new(m20261127_000011_protect_events::Migration),
            Box::new(m20261127_000012_create_outbox::Migration),
            Box::new(m20261127_000013_add_webhook_kind::Migration),
            Box::new(m20261127_000014_create_decision_links::Migration),
            Box::new(m20261127_000015_add_approval_reminders::Migration),
            Box::new(m20261128_000016_create_workflow_types::Migration),
            Box::new(m20261128_000017_add_workflow_parent_and_score::Migration),
            Box::new(m20261207_000018_add_event_txid::Migration),
            Box::new(m20261207_000019_claim_function::Migration),
        ]
    }
}
