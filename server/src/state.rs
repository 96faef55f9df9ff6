//! What every part of a running Baton shares: the database, the workflow
//! registry and type catalog, the signal hub, the model and the clock.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::workflow_types::Catalog;
use crate::domain::{Principal, Stamp};
use crate::engine::registry::Registry;
use crate::engine::signals::Hub;
use crate::llm::ChatModel;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// The code of the built-in types, for this process's workers.
    pub registry: Arc<Registry>,
    /// Every type, built-in and declared: what may be started and how.
    pub catalog: Arc<Catalog>,
    pub hub: Hub,
    pub config: Arc<Config>,
    pub llm: Arc<dyn ChatModel>,
    pub clock: Arc<dyn Clock>,
    /// This process's name in leases and cross-process notifications.
    pub origin: Arc<str>,
    /// This process's counters and histograms (`/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Per-principal budgets of runs and decisions: one set for the whole
    /// process, so a reviewer's GraphQL votes and decision-link votes
    /// spend the same bucket.
    pub limiter: Arc<crate::ratelimit::RateLimiter>,
    /// Bearer tokens recently verified (see `TokenCache`).
    pub tokens: Arc<crate::domain::credentials::TokenCache>,
}

impl AppState {
    /// A stamp for a write made by `principal`, now.
    pub fn stamp(&self, principal: &Principal) -> Stamp {
        Stamp {
            actor: principal.id.clone(),
            actor_role: principal.role,
            now: self.clock.now(),
            origin: self.origin.to_string(),
            notify_email: self.config.mail.is_some(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        crate::db::is_postgres(&self.db)
    }
}
