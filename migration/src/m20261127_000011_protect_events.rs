//! The audit trail is append-only, and the database says so: triggers
//! refuse every UPDATE and DELETE of `events` (and TRUNCATE on PostgreSQL),
//! whoever connects. Events also record the actor's role.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    ActorRole,
}

const POSTGRES_UP: &str = r#"
CREATE OR REPLACE FUNCTION baton_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION baton_events_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION baton_events_append_only();
"#;

const SQLITE_UP: [&str; 2] = [
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events \
     BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events \
     BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE refused'); END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(ColumnDef::new(Events::ActorRole).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(POSTGRES_UP).await?;
            }
            _ => {
                for sql in SQLITE_UP {
                    conn.execute_unprepared(sql).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(
                    "DROP TRIGGER IF EXISTS events_append_only ON events; \
                     DROP TRIGGER IF EXISTS events_no_truncate ON events; \
                     DROP FUNCTION IF EXISTS baton_events_append_only();",
                )
                .await?;
            }
            _ => {
                conn.execute_unprepared("DROP TRIGGER IF EXISTS events_no_update")
                    .await?;
                conn.execute_unprepared("DROP TRIGGER IF EXISTS events_no_delete")
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::ActorRole)
                    .to_owned(),
            )
            .await
    }
}
