//! Artifacts record who wrote each version (null: its workflow; else the
//! reviewer who edited it) and the SHA-256 of their content.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Author,
    Sha256,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let adds = [
            ColumnDef::new(Artifacts::Author)
                .string_len(128)
                .null()
                .to_owned(),
            ColumnDef::new(Artifacts::Sha256)
                .string_len(64)
                .null()
                .to_owned(),
        ];
        for mut col in adds {
            manager
                .alter_table(
                    Table::alter()
                        .table(Artifacts::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in [Artifacts::Sha256, Artifacts::Author] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Artifacts::Table)
                        .drop_column(c)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
