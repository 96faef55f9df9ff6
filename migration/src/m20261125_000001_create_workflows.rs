use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
    Type,
    Status,
    Input,
    Output,
    Error,
    Attempt,
    MaxAttempts,
    RunAfter,
    LeaseOwner,
    LeaseExpiresAt,
    Fence,
    IdempotencyKey,
    TriggeredByApprovalId,
    ChainId,
    CreatedBy,
    CreatedAt,
    StartedAt,
    CompletedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workflows::Table)
                    .if_not_exists()
                    .col(pk_uuid(Workflows::Id))
                    .col(string_len(Workflows::Type, 64))
                    .col(string_len(Workflows::Status, 16))
                    .col(json_binary(Workflows::Input))
                    .col(json_binary_null(Workflows::Output))
                    .col(text_null(Workflows::Error))
                    .col(integer(Workflows::Attempt).default(0))
                    .col(integer(Workflows::MaxAttempts))
                    .col(timestamp_with_time_zone(Workflows::RunAfter))
                    .col(string_len_null(Workflows::LeaseOwner, 128))
                    .col(timestamp_with_time_zone_null(Workflows::LeaseExpiresAt))
                    .col(big_integer(Workflows::Fence).default(0))
                    .col(string_len_uniq(Workflows::IdempotencyKey, 255).null())
                    // One next workflow per approval, whatever the races.
                    .col(uuid_uniq(Workflows::TriggeredByApprovalId).null())
                    .col(uuid(Workflows::ChainId))
                    .col(string_len(Workflows::CreatedBy, 128))
                    .col(timestamp_with_time_zone(Workflows::CreatedAt))
                    .col(timestamp_with_time_zone_null(Workflows::StartedAt))
                    .col(timestamp_with_time_zone_null(Workflows::CompletedAt))
                    .col(timestamp_with_time_zone(Workflows::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The claim's two ways in: due pending rows, and running rows whose
        // lease ran out. Partial, so finished history costs the queue nothing.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_workflows_claimable \
             ON workflows (run_after) WHERE status = 'pending'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_workflows_leases \
             ON workflows (lease_expires_at) WHERE status = 'running'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_workflows_created ON workflows (created_at, id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_workflows_chain ON workflows (chain_id, created_at)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Workflows::Table).to_owned())
            .await
    }
}
