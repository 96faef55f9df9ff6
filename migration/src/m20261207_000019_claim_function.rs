//! PostgreSQL: the claim runs as a function whose planner settings keep it
//! on the claim indexes, in order.
//!
//! The claim's picks want an index scan of `ix_workflows_claimable` (and
//! `ix_workflows_leases`) in order, stopping at the limit. The planner
//! chooses it only when the table's statistics say the pending rows are
//! many. After a burst of new rows on a table analyzed while the queue was
//! empty (a fresh database, or a quiet one), it estimates a handful and
//! picks a bitmap scan of every due row plus a sort: with 20,000 rows due
//! that is 6–7 ms per claim instead of 0.2 ms, until autovacuum analyzes
//! the table again (measured: `docs/performance.md`, "The claim's plan").
//! A function's `SET` clauses apply while it runs, and turn those two plan
//! shapes off for the claim alone (a sort is still possible if nothing
//! else is, at a high cost). SQLite plans the claim from the index on its
//! own, so it keeps the statement in `runs.rs`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE OR REPLACE FUNCTION baton_claim(
    p_owner text, p_until timestamptz, p_now timestamptz, p_limit bigint, p_types jsonb)
RETURNS SETOF workflows
LANGUAGE sql
SET enable_bitmapscan = off
SET enable_sort = off
AS $$
WITH expired AS (
       SELECT id FROM workflows
        WHERE status = 'running' AND lease_expires_at < p_now
          AND attempt < max_attempts
          AND type = ANY(ARRAY(SELECT jsonb_array_elements_text(p_types)))
        ORDER BY lease_expires_at
        LIMIT p_limit
          FOR UPDATE SKIP LOCKED),
     due AS (
       SELECT id FROM workflows
        WHERE status = 'pending' AND run_after <= p_now
          AND type = ANY(ARRAY(SELECT jsonb_array_elements_text(p_types)))
        ORDER BY run_after
        LIMIT p_limit
          FOR UPDATE SKIP LOCKED)
UPDATE workflows
   SET status = 'running',
       lease_owner = p_owner,
       lease_expires_at = p_until,
       fence = fence + 1,
       attempt = attempt + 1,
       started_at = p_now,
       updated_at = p_now
 WHERE id IN (SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT p_limit)
RETURNING *
$$
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP FUNCTION IF EXISTS baton_claim(text, timestamptz, timestamptz, bigint, jsonb)",
                )
                .await?;
        }
        Ok(())
    }
}
