//! Artifacts: what workflows produce, versioned by parent.

use entity::artifact;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

use super::Stamp;
use crate::engine::registry::NewArtifact;
use crate::error::{AppError, AppResult};

/// Writes an artifact of `workflow_id`; a revision gets its parent's version + 1.
pub async fn insert(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    id: Uuid,
    workflow_id: Uuid,
    chain_id: Uuid,
    new: NewArtifact,
) -> Result<artifact::Model, DbErr> {
    let version = match new.parent_id {
        Some(parent) => artifact::Entity::find_by_id(parent)
            .one(conn)
            .await?
            .map(|p| p.version + 1)
            .unwrap_or(1),
        None => 1,
    };
    artifact::ActiveModel {
        id: Set(id),
        workflow_id: Set(workflow_id),
        chain_id: Set(chain_id),
        kind: Set(new.kind),
        content: Set(new.content),
        version: Set(version),
        parent_id: Set(new.parent_id),
        created_at: Set(stamp.now),
    }
    .insert(conn)
    .await
}

pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<artifact::Model>> {
    Ok(artifact::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<artifact::Model> {
    get(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no artifact with id {id}")))
}

pub async fn for_workflow(
    conn: &impl ConnectionTrait,
    workflow_id: Uuid,
) -> Result<Vec<artifact::Model>, DbErr> {
    artifact::Entity::find()
        .filter(artifact::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(artifact::Column::CreatedAt)
        .all(conn)
        .await
}
