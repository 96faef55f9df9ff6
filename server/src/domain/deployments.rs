//! Deployments: the active config of a workflow type per environment.
//!
//! Invariant: at most one active deployment per (target, environment)
//! (a partial unique index backs this). Activating one deactivates the
//! previous in the same transaction; nothing is deleted, so the history
//! shows every config that was live and where it came from.

use entity::deployment;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::page::{Cursor, Order, Page, PageRequest};
use crate::error::{AppError, AppResult, is_unique_violation};

pub const DEPLOYMENT_ACTIVATED: &str = "deployment.activated";

#[derive(Debug, Clone)]
pub struct NewDeployment {
    /// Chosen by the caller when it must be known before the write.
    pub id: Option<Uuid>,
    pub target: String,
    pub environment: String,
    pub config: Value,
    pub approval_id: Option<Uuid>,
    pub experiment_id: Option<Uuid>,
    pub rolled_back_from: Option<Uuid>,
}

/// Makes `new` the active config of its (target, environment) in `conn`'s
/// transaction.
pub async fn activate(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    new: NewDeployment,
) -> AppResult<(deployment::Model, Signal)> {
    deployment::Entity::update_many()
        .col_expr(deployment::Column::Active, Expr::value(false))
        .filter(deployment::Column::Target.eq(new.target.as_str()))
        .filter(deployment::Column::Environment.eq(new.environment.as_str()))
        .filter(deployment::Column::Active.eq(true))
        .exec(conn)
        .await?;
    let model = deployment::ActiveModel {
        id: Set(new.id.unwrap_or_else(Uuid::now_v7)),
        target: Set(new.target),
        environment: Set(new.environment),
        config: Set(new.config),
        approval_id: Set(new.approval_id),
        experiment_id: Set(new.experiment_id),
        rolled_back_from: Set(new.rolled_back_from),
        deployed_by: Set(stamp.actor.clone()),
        active: Set(true),
        created_at: Set(stamp.now),
    }
    .insert(conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::Conflict(
                "another deployment of this target and environment was activated at the same time; try again"
                    .into(),
            )
        } else {
            e.into()
        }
    })?;
    // The chain it belongs to: the approval's, else the experiment's (a
    // rollback), so a chain's history shows what it deployed.
    let chain_id = match (model.approval_id, model.experiment_id) {
        (Some(a), _) => entity::approval::Entity::find_by_id(a)
            .one(conn)
            .await?
            .map(|a| a.chain_id),
        (None, Some(w)) => entity::workflow::Entity::find_by_id(w)
            .one(conn)
            .await?
            .map(|w| w.chain_id),
        (None, None) => None,
    };
    let signal = events::append(
        conn,
        stamp,
        NewEvent {
            kind: DEPLOYMENT_ACTIVATED,
            approval_id: model.approval_id,
            chain_id,
            payload: json!({
                "deployment_id": model.id,
                "target": model.target,
                "environment": model.environment,
                "config": model.config,
                "deployed_by": model.deployed_by,
                "rolled_back_from": model.rolled_back_from,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok((model, signal))
}

/// Activates the config of an earlier deployment again, as a new deployment.
pub async fn rollback(
    db: &DatabaseConnection,
    stamp: &Stamp,
    principal: &super::Principal,
    to: Uuid,
) -> AppResult<(deployment::Model, Vec<Signal>)> {
    principal.require(super::principal::Permission::Admin)?;
    let earlier = find(db, to).await?;
    if earlier.active {
        return Err(AppError::Conflict(format!(
            "deployment {to} is already the active config of {}/{}",
            earlier.target, earlier.environment
        )));
    }
    let txn = db.begin().await?;
    let (model, signal) = activate(
        &txn,
        stamp,
        NewDeployment {
            id: None,
            target: earlier.target,
            environment: earlier.environment,
            config: earlier.config,
            approval_id: None,
            experiment_id: earlier.experiment_id,
            rolled_back_from: Some(earlier.id),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((model, vec![signal]))
}

pub async fn active(
    conn: &impl ConnectionTrait,
    target: &str,
    environment: &str,
) -> AppResult<Option<deployment::Model>> {
    Ok(deployment::Entity::find()
        .filter(deployment::Column::Target.eq(target))
        .filter(deployment::Column::Environment.eq(environment))
        .filter(deployment::Column::Active.eq(true))
        .one(conn)
        .await?)
}

pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<deployment::Model>> {
    Ok(deployment::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<deployment::Model> {
    get(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no deployment with id {id}")))
}

/// The history, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    target: Option<&str>,
    environment: Option<&str>,
    page: &PageRequest,
) -> AppResult<Page<deployment::Model>> {
    let mut q = deployment::Entity::find();
    if let Some(t) = target {
        q = q.filter(deployment::Column::Target.eq(t));
    }
    if let Some(e) = environment {
        q = q.filter(deployment::Column::Environment.eq(e));
    }
    if let Some(cond) = page.after_condition(deployment::Column::CreatedAt, deployment::Column::Id)
    {
        q = q.filter(cond);
    }
    q = match page.order {
        Order::NewestFirst => q
            .order_by_desc(deployment::Column::CreatedAt)
            .order_by_desc(deployment::Column::Id),
        Order::OldestFirst => q
            .order_by_asc(deployment::Column::CreatedAt)
            .order_by_asc(deployment::Column::Id),
    };
    let rows = q.limit(page.first + 1).all(conn).await?;
    Ok(Page::from_rows(rows, page, |d| Cursor {
        created_at: d.created_at,
        id: d.id,
    }))
}
