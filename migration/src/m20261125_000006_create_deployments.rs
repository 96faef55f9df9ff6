use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deployments {
    Table,
    Id,
    Target,
    Environment,
    Config,
    ApprovalId,
    ExperimentId,
    RolledBackFrom,
    DeployedBy,
    Active,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deployments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Deployments::Id))
                    .col(string_len(Deployments::Target, 64))
                    .col(string_len(Deployments::Environment, 64))
                    .col(json_binary(Deployments::Config))
                    .col(uuid_null(Deployments::ApprovalId))
                    .col(uuid_null(Deployments::ExperimentId))
                    .col(uuid_null(Deployments::RolledBackFrom))
                    .col(string_len(Deployments::DeployedBy, 128))
                    .col(boolean(Deployments::Active))
                    .col(timestamp_with_time_zone(Deployments::CreatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // At most one active config per (target, environment), whatever the races.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_deployments_active \
             ON deployments (target, environment) WHERE active",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_deployments_history \
             ON deployments (target, environment, created_at)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deployments::Table).to_owned())
            .await
    }
}
