use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Approvals {
    Table,
    Id,
    WorkflowId,
    ChainId,
    Status,
    ArtifactType,
    ArtifactId,
    ArtifactData,
    Score,
    NextWorkflowType,
    NextWorkflowInput,
    RejectWorkflowType,
    RejectWorkflowInput,
    RejectRequiresFeedback,
    DecidedBy,
    Feedback,
    DecidedAt,
    ExpiresAt,
    NextWorkflowId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Approvals::Table)
                    .if_not_exists()
                    .col(pk_uuid(Approvals::Id))
                    .col(uuid_uniq(Approvals::WorkflowId))
                    .col(uuid(Approvals::ChainId))
                    .col(string_len(Approvals::Status, 16))
                    .col(string_len(Approvals::ArtifactType, 64))
                    .col(uuid_null(Approvals::ArtifactId))
                    .col(json_binary(Approvals::ArtifactData))
                    .col(double_null(Approvals::Score))
                    .col(string_len_null(Approvals::NextWorkflowType, 64))
                    .col(json_binary_null(Approvals::NextWorkflowInput))
                    .col(string_len_null(Approvals::RejectWorkflowType, 64))
                    .col(json_binary_null(Approvals::RejectWorkflowInput))
                    .col(boolean(Approvals::RejectRequiresFeedback).default(false))
                    .col(string_len_null(Approvals::DecidedBy, 128))
                    .col(text_null(Approvals::Feedback))
                    .col(timestamp_with_time_zone_null(Approvals::DecidedAt))
                    .col(timestamp_with_time_zone_null(Approvals::ExpiresAt))
                    .col(uuid_null(Approvals::NextWorkflowId))
                    .col(timestamp_with_time_zone(Approvals::CreatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The reviewer's queue: pending approvals, oldest first.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_approvals_pending \
             ON approvals (created_at, id) WHERE status = 'pending'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_approvals_created ON approvals (created_at, id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Approvals::Table).to_owned())
            .await
    }
}
