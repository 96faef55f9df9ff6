//! Artifacts: what workflows produce, versioned by parent.

use entity::artifact;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::Stamp;
use super::secrets::content_sha256;
use crate::error::{AppError, AppResult};

/// An artifact a workflow's run stores.
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub kind: String,
    pub content: Value,
    /// The previous revision; the new one gets its version + 1.
    pub parent_id: Option<Uuid>,
}

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
        sha256: Set(Some(content_sha256(&new.content))),
        content: Set(new.content),
        version: Set(version),
        parent_id: Set(new.parent_id),
        created_at: Set(stamp.now),
        author: Set(None),
    }
    .insert(conn)
    .await
}

/// The stored hash of an artifact, or (for rows written before hashes
/// existed) the hash of its content.
pub fn sha256_of(a: &artifact::Model) -> String {
    a.sha256
        .clone()
        .unwrap_or_else(|| content_sha256(&a.content))
}

/// A reviewer's edit of `parent`: the merged content as a new version
/// (parent's + 1) authored by the reviewer, in the caller's transaction.
pub async fn insert_edit(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    parent: &artifact::Model,
    content: Value,
) -> Result<artifact::Model, DbErr> {
    artifact::ActiveModel {
        id: Set(Uuid::now_v7()),
        workflow_id: Set(parent.workflow_id),
        chain_id: Set(parent.chain_id),
        kind: Set(parent.kind.clone()),
        sha256: Set(Some(content_sha256(&content))),
        content: Set(content),
        version: Set(parent.version + 1),
        parent_id: Set(Some(parent.id)),
        created_at: Set(stamp.now),
        author: Set(Some(stamp.actor.clone())),
    }
    .insert(conn)
    .await
}

/// RFC 7396 JSON merge patch: objects merge key by key, `null` removes a
/// key, anything else replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch_map) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    for (k, v) in patch_map {
        if v.is_null() {
            out.remove(k);
        } else {
            let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
            out.insert(k.clone(), merged);
        }
    }
    Value::Object(out)
}

pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<artifact::Model>> {
    Ok(artifact::Entity::find_by_id(id).one(conn).await?)
}

/// The artifacts of `ids` that exist, in no particular order.
pub async fn get_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<artifact::Model>> {
    Ok(super::in_chunks(conn, ids, |chunk| {
        artifact::Entity::find().filter(artifact::Column::Id.is_in(chunk.iter().copied()))
    })
    .await?)
}

/// The artifacts of each workflow in `workflow_ids`, oldest first.
pub async fn for_workflows(
    conn: &impl ConnectionTrait,
    workflow_ids: &[Uuid],
) -> AppResult<Vec<artifact::Model>> {
    Ok(super::in_chunks(conn, workflow_ids, |chunk| {
        artifact::Entity::find()
            .filter(artifact::Column::WorkflowId.is_in(chunk.iter().copied()))
            .order_by_asc(artifact::Column::CreatedAt)
    })
    .await?)
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

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_examples() {
        // RFC 7396, section 3 and appendix A.
        let target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        let patch = json!({"a": "z", "c": {"f": null}});
        assert_eq!(
            merge_patch(&target, &patch),
            json!({"a": "z", "c": {"d": "e"}})
        );
        assert_eq!(
            merge_patch(&json!({"a": ["b"]}), &json!({"a": "c"})),
            json!({"a": "c"})
        );
        assert_eq!(
            merge_patch(&json!({"a": "b"}), &json!({"b": "c"})),
            json!({"a": "b", "b": "c"})
        );
        assert_eq!(
            merge_patch(&json!({"a": "foo"}), &json!("bar")),
            json!("bar")
        );
        assert_eq!(
            merge_patch(&json!({"e": null}), &json!({"a": 1})),
            json!({"e": null, "a": 1})
        );
        assert_eq!(
            merge_patch(&json!([1, 2]), &json!({"a": {"bb": {"ccc": null}}})),
            json!({"a": {"bb": {}}})
        );
    }
}
