//! Each event records the PostgreSQL transaction that wrote it (`txid`,
//! `pg_current_xact_id()` as a bigint), so a reader of the feed can tell
//! which events are settled: PostgreSQL hands out event ids in insert
//! order, not commit order, and a transaction below a snapshot's `xmin`
//! can no longer commit anything new. On SQLite (one writer at a time, so
//! ids are commit-ordered) the column stays empty.
//!
//! The column is added without a default first and the default set after,
//! so existing rows are not rewritten (a volatile default on ADD COLUMN
//! would rewrite the whole table).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Txid,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(ColumnDef::new(Events::Txid).big_integer().null())
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let conn = manager.get_connection();
            conn.execute_unprepared(
                "ALTER TABLE events ALTER COLUMN txid \
                 SET DEFAULT (pg_current_xact_id()::text::bigint)",
            )
            .await?;
            conn.execute_unprepared("CREATE INDEX IF NOT EXISTS ix_events_txid ON events (txid)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_events_txid")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::Txid)
                    .to_owned(),
            )
            .await
    }
}
