//! The rules and the writes, one module per aggregate.
//!
//! Nothing here knows about HTTP or GraphQL: resolvers, workers, the CLI and
//! tests call the same functions. Functions take `&impl ConnectionTrait` so a
//! caller can group several writes in one transaction; functions that must
//! be atomic on their own (deciding an approval) open the transaction
//! themselves.

pub mod approvals;
pub mod artifacts;
pub mod credentials;
pub mod decision_links;
pub mod deployments;
pub mod events;
pub mod history;
pub mod identity;
pub mod llm_calls;
pub mod outbox;
pub mod page;
pub mod policies;
pub mod policy;
pub mod principal;
pub mod runs;
pub mod secrets;
pub mod sessions;
pub mod transitions;
pub mod webhooks;
pub mod workers;
pub mod workflow_types;
pub mod workflows;

use chrono::{DateTime, Utc};

pub use principal::Principal;

/// Ids per `IN (…)` in the batch reads (`get_many`, `for_workflows`, …):
/// well under SQLite's bound-parameter limit, and a plan PostgreSQL keeps
/// on its index.
pub const BATCH_CHUNK: usize = 500;

/// The rows of `query(chunk)` for every [`BATCH_CHUNK`] of `ids`, in chunk
/// order: what every batch read above is made of.
async fn in_chunks<E: sea_orm::EntityTrait>(
    conn: &impl sea_orm::ConnectionTrait,
    ids: &[uuid::Uuid],
    query: impl Fn(&[uuid::Uuid]) -> sea_orm::Select<E>,
) -> Result<Vec<E::Model>, sea_orm::DbErr> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH_CHUNK) {
        rows.extend(query(chunk).all(conn).await?);
    }
    Ok(rows)
}

/// Who writes, when, and from which process: stamped on every row and event
/// a write produces.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub actor: String,
    /// The actor's role (`None` for the engine).
    pub actor_role: Option<principal::Role>,
    pub now: DateTime<Utc>,
    /// Identifies this process in cross-process notifications, so it can
    /// ignore its own echoes.
    pub origin: String,
    /// This process sends notification email (an SMTP server is
    /// configured): approvals it opens queue emails to their reviewers.
    pub notify_email: bool,
}
