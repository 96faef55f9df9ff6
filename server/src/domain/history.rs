//! A chain's history: every event recorded about it, in order. Who started
//! what, what the judge scored, each vote with its feedback and version,
//! each edit, the policy in force, what was deployed and by whom.
//!
//! The events table is append-only (triggers refuse updates and deletes),
//! so this is the record as it was written.

use entity::event;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::error::AppResult;

/// Most events one history answer returns.
pub const MAX_EVENTS: u64 = 5_000;

pub async fn for_chain(
    conn: &impl ConnectionTrait,
    chain_id: Uuid,
) -> AppResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::ChainId.eq(chain_id))
        .order_by_asc(event::Column::Id)
        .limit(MAX_EVENTS)
        .all(conn)
        .await?)
}
