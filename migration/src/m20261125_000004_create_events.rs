use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    At,
    Kind,
    WorkflowId,
    ApprovalId,
    ChainId,
    Actor,
    Payload,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Events::Id))
                    .col(timestamp_with_time_zone(Events::At))
                    .col(string_len(Events::Kind, 64))
                    .col(uuid_null(Events::WorkflowId))
                    .col(uuid_null(Events::ApprovalId))
                    .col(uuid_null(Events::ChainId))
                    .col(string_len(Events::Actor, 128))
                    .col(json_binary(Events::Payload))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_events_workflow ON events (workflow_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
