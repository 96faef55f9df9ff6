//! Reminders and escalation: when each is due (from the policy, fixed when
//! the approval is created, so the sweep finds them by index) and when it
//! happened (so it happens once).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Approvals {
    Table,
    RemindAt,
    RemindedAt,
    EscalateAt,
    EscalatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in [
            Approvals::RemindAt,
            Approvals::RemindedAt,
            Approvals::EscalateAt,
            Approvals::EscalatedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Approvals::Table)
                        .add_column(ColumnDef::new(c).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_approvals_remind ON approvals (remind_at) \
             WHERE status = 'pending' AND remind_at IS NOT NULL AND reminded_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_approvals_escalate ON approvals (escalate_at) \
             WHERE status = 'pending' AND escalate_at IS NOT NULL AND escalated_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS ix_approvals_remind")
            .await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS ix_approvals_escalate")
            .await?;
        for c in [
            Approvals::EscalatedAt,
            Approvals::EscalateAt,
            Approvals::RemindedAt,
            Approvals::RemindAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Approvals::Table)
                        .drop_column(c)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
