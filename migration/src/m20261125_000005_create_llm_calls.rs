use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LlmCalls {
    Table,
    Id,
    WorkflowId,
    Attempt,
    Purpose,
    Provider,
    Model,
    PromptTokens,
    CompletionTokens,
    LatencyMs,
    CostUsd,
    Error,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LlmCalls::Table)
                    .if_not_exists()
                    .col(pk_uuid(LlmCalls::Id))
                    .col(uuid_null(LlmCalls::WorkflowId))
                    .col(integer(LlmCalls::Attempt))
                    .col(string_len(LlmCalls::Purpose, 64))
                    .col(string_len(LlmCalls::Provider, 64))
                    .col(string_len(LlmCalls::Model, 128))
                    .col(integer(LlmCalls::PromptTokens))
                    .col(integer(LlmCalls::CompletionTokens))
                    .col(big_integer(LlmCalls::LatencyMs))
                    .col(double_null(LlmCalls::CostUsd))
                    .col(text_null(LlmCalls::Error))
                    .col(timestamp_with_time_zone(LlmCalls::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_llm_calls_workflow ON llm_calls (workflow_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LlmCalls::Table).to_owned())
            .await
    }
}
