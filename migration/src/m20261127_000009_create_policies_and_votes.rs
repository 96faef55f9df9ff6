//! Approval policies (one per workflow type), reviewers' votes, and what an
//! approval keeps of both: the policy in force when it was created, the
//! artifact version it shows, who started its chain, and which inputs of the
//! next workflow are read from the approved artifact.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApprovalPolicies {
    Table,
    WorkflowType,
    Policy,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Votes {
    Table,
    Id,
    ApprovalId,
    Reviewer,
    ReviewerRole,
    Decision,
    Feedback,
    ArtifactVersion,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Approvals {
    Table,
    ArtifactVersion,
    Policy,
    StartedBy,
    ArtifactBindings,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApprovalPolicies::Table)
                    .if_not_exists()
                    .col(string_len(ApprovalPolicies::WorkflowType, 64).primary_key())
                    .col(json_binary(ApprovalPolicies::Policy))
                    .col(string_len(ApprovalPolicies::UpdatedBy, 128))
                    .col(timestamp_with_time_zone(ApprovalPolicies::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Votes::Table)
                    .if_not_exists()
                    .col(uuid(Votes::Id).primary_key())
                    .col(uuid(Votes::ApprovalId))
                    .col(string_len(Votes::Reviewer, 128))
                    .col(string_len(Votes::ReviewerRole, 16))
                    .col(string_len(Votes::Decision, 8))
                    .col(text_null(Votes::Feedback))
                    .col(integer(Votes::ArtifactVersion))
                    .col(timestamp_with_time_zone(Votes::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // One vote per reviewer per version of what they read: a second vote
        // is a conflict, and the constraint holds under any concurrency.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_votes_reviewer \
                 ON votes (approval_id, reviewer, artifact_version)",
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        let adds = [
            ColumnDef::new(Approvals::ArtifactVersion)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Approvals::Policy)
                .json_binary()
                .null()
                .to_owned(),
            ColumnDef::new(Approvals::StartedBy)
                .string_len(128)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(Approvals::ArtifactBindings)
                .json_binary()
                .null()
                .to_owned(),
        ];
        for mut col in adds {
            manager
                .alter_table(
                    Table::alter()
                        .table(Approvals::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        // Approvals written before versions existed show their artifact's.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE approvals SET artifact_version = \
                 (SELECT version FROM artifacts WHERE artifacts.id = approvals.artifact_id) \
                 WHERE artifact_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in [
            Approvals::ArtifactBindings,
            Approvals::StartedBy,
            Approvals::Policy,
            Approvals::ArtifactVersion,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Approvals::Table)
                        .drop_column(c)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Votes::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(ApprovalPolicies::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
