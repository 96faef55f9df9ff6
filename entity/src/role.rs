//! `Role`: what a principal may do. Each role includes the ones before it
//! (the derive order is the privilege order).

use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// Reads everything.
    #[sea_orm(string_value = "viewer")]
    Viewer,
    /// Also starts workflows, and cancels or retries its own.
    #[sea_orm(string_value = "submitter")]
    Submitter,
    /// Also decides approvals (as the approval policy allows).
    #[sea_orm(string_value = "reviewer")]
    Reviewer,
    /// Everything: users, tokens, policies, deployments, others' workflows.
    #[sea_orm(string_value = "admin")]
    Admin,
}
