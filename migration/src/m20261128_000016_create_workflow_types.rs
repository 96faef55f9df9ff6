//! Declared workflow types: types an admin adds at run time (GraphQL or a
//! file read at start) for workers outside Baton. Each change is a new
//! version; a workflow row records the version it was created with, so
//! queued and running workflows keep the contract they were submitted
//! under.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkflowTypes {
    Table,
    Name,
    Version,
    Definition,
    Sha256,
    DeclaredBy,
    DeclaredAt,
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    TypeVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkflowTypes::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(WorkflowTypes::Name)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WorkflowTypes::Version).integer().not_null())
                    .col(
                        ColumnDef::new(WorkflowTypes::Definition)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowTypes::Sha256)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowTypes::DeclaredBy)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowTypes::DeclaredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(WorkflowTypes::Name)
                            .col(WorkflowTypes::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Workflows::Table)
                    .add_column(ColumnDef::new(Workflows::TypeVersion).integer().null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Workflows::Table)
                    .drop_column(Workflows::TypeVersion)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(WorkflowTypes::Table).to_owned())
            .await?;
        Ok(())
    }
}
