//! Identity: users, API tokens, browser sessions and single-use sign-in
//! codes. Secrets are never stored: every credential column holds the
//! SHA-256 of a 256-bit random value (hex), looked up by equality.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    Email,
    Role,
    Disabled,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    TokenHash,
    Role,
    UserId,
    ServiceName,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    ApiTokenId,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SignInCodes {
    Table,
    Id,
    CodeHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(uuid(Users::Id).primary_key())
                    .col(string_len_uniq(Users::Name, 64))
                    .col(string_len_null(Users::Email, 254).unique_key())
                    .col(string_len(Users::Role, 16))
                    .col(boolean(Users::Disabled).default(false))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(string_len(Users::CreatedBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .if_not_exists()
                    .col(uuid(ApiTokens::Id).primary_key())
                    .col(string_len(ApiTokens::Name, 128))
                    .col(string_len_uniq(ApiTokens::TokenHash, 64))
                    .col(string_len(ApiTokens::Role, 16))
                    .col(uuid_null(ApiTokens::UserId))
                    .col(string_len_null(ApiTokens::ServiceName, 64))
                    .col(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(string_len(ApiTokens::CreatedBy, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(uuid(Sessions::Id).primary_key())
                    .col(string_len_uniq(Sessions::TokenHash, 64))
                    .col(uuid_null(Sessions::UserId))
                    .col(uuid_null(Sessions::ApiTokenId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SignInCodes::Table)
                    .if_not_exists()
                    .col(uuid(SignInCodes::Id).primary_key())
                    .col(string_len_uniq(SignInCodes::CodeHash, 64))
                    .col(uuid(SignInCodes::UserId))
                    .col(timestamp_with_time_zone(SignInCodes::CreatedAt))
                    .col(timestamp_with_time_zone(SignInCodes::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SignInCodes::UsedAt))
                    .col(string_len(SignInCodes::CreatedBy, 128))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_api_tokens_user ON api_tokens (user_id)",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_sessions_user ON sessions (user_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SignInCodes::Table.into_iden(),
            Sessions::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
