use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Id,
    WorkflowId,
    ChainId,
    Kind,
    Content,
    Version,
    ParentId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Artifacts::Table)
                    .if_not_exists()
                    .col(pk_uuid(Artifacts::Id))
                    .col(uuid(Artifacts::WorkflowId))
                    .col(uuid(Artifacts::ChainId))
                    .col(string_len(Artifacts::Kind, 64))
                    .col(json_binary(Artifacts::Content))
                    .col(integer(Artifacts::Version))
                    .col(uuid_null(Artifacts::ParentId))
                    .col(timestamp_with_time_zone(Artifacts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_artifacts_workflow ON artifacts (workflow_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Artifacts::Table).to_owned())
            .await
    }
}
