//! Notifications: admin-configured webhooks, and the outbox of deliveries
//! written in the transaction that records each notifiable event.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    Description,
    Events,
    WorkflowTypes,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    Active,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    EventId,
    EventType,
    Channel,
    TargetId,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    LastStatus,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .if_not_exists()
                    .col(uuid(Webhooks::Id).primary_key())
                    .col(string_len(Webhooks::Url, 2048))
                    .col(string_len_null(Webhooks::Description, 256))
                    .col(json_binary(Webhooks::Events))
                    .col(json_binary_null(Webhooks::WorkflowTypes))
                    .col(string_len(Webhooks::Secret, 128))
                    .col(string_len_null(Webhooks::PreviousSecret, 128))
                    .col(timestamp_with_time_zone_null(Webhooks::PreviousSecretUntil))
                    .col(boolean(Webhooks::Active).default(true))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .col(string_len(Webhooks::CreatedBy, 128))
                    .col(timestamp_with_time_zone(Webhooks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .if_not_exists()
                    .col(uuid(Deliveries::Id).primary_key())
                    .col(big_integer_null(Deliveries::EventId))
                    .col(string_len(Deliveries::EventType, 64))
                    .col(string_len(Deliveries::Channel, 16))
                    .col(uuid(Deliveries::TargetId))
                    .col(json_binary(Deliveries::Payload))
                    .col(string_len(Deliveries::Status, 16))
                    .col(integer(Deliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(string_len_null(Deliveries::LeaseOwner, 128))
                    .col(timestamp_with_time_zone_null(Deliveries::LeaseExpiresAt))
                    .col(integer_null(Deliveries::LastStatus))
                    .col(text_null(Deliveries::LastError))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(Deliveries::DeliveredAt))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        // The dispatcher's claim walks only what is due.
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (next_attempt_at) \
             WHERE status = 'pending'",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_deliveries_target ON deliveries (target_id, created_at)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Deliveries::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).if_exists().to_owned())
            .await
    }
}
