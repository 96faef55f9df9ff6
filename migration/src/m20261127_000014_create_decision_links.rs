//! Decision links: single-use, expiring links in notification emails, each
//! bound to one approval, one reviewer, one action and the artifact version
//! the email showed. Only the SHA-256 of a link's code is kept. Users can
//! opt out of email, or get it only for some workflow types.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DecisionLinks {
    Table,
    Id,
    CodeHash,
    ApprovalId,
    UserId,
    Action,
    ArtifactVersion,
    DeliveryId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailOptOut,
    NotifyTypes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DecisionLinks::Table)
                    .if_not_exists()
                    .col(uuid(DecisionLinks::Id).primary_key())
                    .col(string_len_uniq(DecisionLinks::CodeHash, 64))
                    .col(uuid(DecisionLinks::ApprovalId))
                    .col(uuid(DecisionLinks::UserId))
                    .col(string_len(DecisionLinks::Action, 8))
                    .col(integer(DecisionLinks::ArtifactVersion))
                    .col(uuid_null(DecisionLinks::DeliveryId))
                    .col(timestamp_with_time_zone(DecisionLinks::CreatedAt))
                    .col(timestamp_with_time_zone(DecisionLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(DecisionLinks::UsedAt))
                    .to_owned(),
            )
            .await?;
        let adds = [
            ColumnDef::new(Users::EmailOptOut)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Users::NotifyTypes)
                .json_binary()
                .null()
                .to_owned(),
        ];
        for mut col in adds {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in [Users::NotifyTypes, Users::EmailOptOut] {
            manager
                .alter_table(Table::alter().table(Users::Table).drop_column(c).to_owned())
                .await?;
        }
        manager
            .drop_table(
                Table::drop()
                    .table(DecisionLinks::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
