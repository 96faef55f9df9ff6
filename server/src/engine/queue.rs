//! The queue: claiming rows under a lease, renewing it, and the fenced
//! writes that end a run (complete, retry later, fail, release).
//!
//! Every write here carries the claim's fencing token: `WHERE id = … AND
//! fence = … AND status = 'running'`. A claim bumps `fence`, so a worker
//! whose lease expired and whose row was claimed again (or cancelled) writes
//! nothing: its UPDATE matches no row and its transaction rolls back.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, Statement, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use super::registry::{Outcome, Workflow, WorkflowError};
use crate::domain::events::{self, NewEvent, Signal, kind};
use crate::domain::{Stamp, approvals, artifacts};

/// PostgreSQL: two index-ordered picks, each locking rows of the workflows
/// table alone (no joins in a locking subquery, so SKIP LOCKED skips exactly
/// the rows other workers hold): running rows whose lease expired (crash
/// recovery, taken first so it is never starved) and due pending rows. Each
/// pick walks its own partial index in order and stops at the limit, so a
/// claim costs the same with ten rows queued as with a million (an OR of
/// both conditions under one ORDER BY would sort the whole backlog).
const CLAIM_POSTGRES: &str = r#"
WITH expired AS (
       SELECT id FROM workflows
        WHERE status = 'running' AND lease_expires_at < $3
        ORDER BY lease_expires_at
        LIMIT $4
          FOR UPDATE SKIP LOCKED),
     due AS (
       SELECT id FROM workflows
        WHERE status = 'pending' AND run_after <= $3
        ORDER BY run_after
        LIMIT $4
          FOR UPDATE SKIP LOCKED)
UPDATE workflows
   SET status = 'running',
       lease_owner = $1,
       lease_expires_at = $2,
       fence = fence + 1,
       attempt = attempt + 1,
       started_at = $3,
       updated_at = $3
 WHERE id IN (SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT $4)
RETURNING *"#;

/// SQLite: one writer at a time, so the same picks need no row locks and
/// the UPDATE … RETURNING is atomic on its own.
const CLAIM_SQLITE: &str = r#"
WITH expired AS (
       SELECT id FROM workflows
        WHERE status = 'running' AND lease_expires_at < ?3
        ORDER BY lease_expires_at
        LIMIT ?4),
     due AS (
       SELECT id FROM workflows
        WHERE status = 'pending' AND run_after <= ?3
        ORDER BY run_after
        LIMIT ?4)
UPDATE workflows
   SET status = 'running',
       lease_owner = ?1,
       lease_expires_at = ?2,
       fence = fence + 1,
       attempt = attempt + 1,
       started_at = ?3,
       updated_at = ?3
 WHERE id IN (SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT ?4)
RETURNING *"#;

/// Claims up to `limit` due workflows for `owner`.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<workflow::Model>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => CLAIM_POSTGRES,
        _ => CLAIM_SQLITE,
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            owner.into(),
            (now + delta(lease)).into(),
            now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    );
    let rows = db.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| workflow::Model::from_query_result(r, ""))
        .collect()
}

/// The filter every fenced write uses.
fn fenced(claim: &workflow::Model) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(workflow::Column::Id.eq(claim.id))
        .add(workflow::Column::Fence.eq(claim.fence))
        .add(workflow::Column::Status.eq(WorkflowStatus::Running))
}

/// Extends the lease; false when the claim is no longer ours (reclaimed,
/// cancelled), in which case the run must stop.
pub async fn renew(
    db: &DatabaseConnection,
    claim: &workflow::Model,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, DbErr> {
    let res = workflow::Entity::update_many()
        .col_expr(
            workflow::Column::LeaseExpiresAt,
            Expr::value(now + delta(lease)),
        )
        .filter(fenced(claim))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The claim was lost before the write: another worker owns the row now,
/// or someone cancelled it.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    #[error("the lease was lost; the result was discarded")]
    Fenced,
    #[error(transparent)]
    Db(#[from] DbErr),
    /// The type's own completion writes refused the outcome (a conflict).
    #[error("{0}")]
    Rejected(String),
}

/// Stores a finished run: output, status, artifact, approval and events in
/// one transaction.
pub async fn complete(
    db: &DatabaseConnection,
    stamp: &Stamp,
    claim: &workflow::Model,
    wf: &dyn Workflow,
    outcome: Outcome,
) -> Result<Vec<Signal>, FinishError> {
    // The artifact's id is chosen here so the output can name it.
    let artifact_id = outcome.artifact.as_ref().map(|_| Uuid::now_v7());
    let mut output = outcome.output;
    if let (Some(id), Some(map)) = (artifact_id, output.as_object_mut()) {
        map.insert("artifact_id".into(), json!(id));
    }
    let txn = db.begin().await?;
    let res = workflow::Entity::update_many()
        .col_expr(
            workflow::Column::Status,
            Expr::value(WorkflowStatus::Completed),
        )
        .col_expr(workflow::Column::Output, Expr::value(output.clone()))
        .col_expr(workflow::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(workflow::Column::CompletedAt, Expr::value(stamp.now))
        .col_expr(workflow::Column::UpdatedAt, Expr::value(stamp.now))
        .col_expr(
            workflow::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            workflow::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(fenced(claim))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        return Err(FinishError::Fenced);
    }
    let mut signals = match wf.on_complete(&txn, stamp, claim, &output).await {
        Ok(s) => s,
        Err(crate::error::AppError::Internal(e)) => {
            txn.rollback().await?;
            return Err(FinishError::Db(DbErr::Custom(format!("{e:#}"))));
        }
        Err(e) => {
            txn.rollback().await?;
            return Err(FinishError::Rejected(e.message()));
        }
    };
    let artifact = match (outcome.artifact, artifact_id) {
        (Some(a), Some(id)) => {
            Some(artifacts::insert(&txn, stamp, id, claim.id, claim.chain_id, a).await?)
        }
        _ => None,
    };
    let mut approval_id = None;
    if let Some(req) = outcome.approval {
        let (approval, signal) =
            approvals::insert(&txn, stamp, claim, artifact.as_ref(), req).await?;
        approval_id = Some(approval.id);
        signals.push(signal);
    }
    let done = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::WORKFLOW_COMPLETED,
            workflow_id: Some(claim.id),
            approval_id,
            chain_id: Some(claim.chain_id),
            payload: json!({
                "type": claim.workflow_type,
                "attempt": claim.attempt,
                "artifact_id": artifact.as_ref().map(|a| a.id),
            }),
        },
    )
    .await?;
    signals.insert(0, done);
    txn.commit().await?;
    Ok(signals)
}

/// Ends a failed attempt: back to `pending` after a backoff while attempts
/// remain and a retry can help, else `failed` with the error kept.
pub async fn fail(
    db: &DatabaseConnection,
    stamp: &Stamp,
    claim: &workflow::Model,
    error: &WorkflowError,
    retry_base: Duration,
) -> Result<Vec<Signal>, FinishError> {
    let message = match error {
        WorkflowError::Fatal(m) => format!("fatal: {m}"),
        other => other.to_string(),
    };
    let retry = error.is_retryable() && claim.attempt < claim.max_attempts;
    let txn = db.begin().await?;
    let mut update = workflow::Entity::update_many()
        .col_expr(workflow::Column::Error, Expr::value(Some(message.clone())))
        .col_expr(workflow::Column::UpdatedAt, Expr::value(stamp.now))
        .col_expr(
            workflow::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            workflow::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    let run_after = stamp.now + delta(backoff(retry_base, claim.attempt));
    update = if retry {
        update
            .col_expr(
                workflow::Column::Status,
                Expr::value(WorkflowStatus::Pending),
            )
            .col_expr(workflow::Column::RunAfter, Expr::value(run_after))
    } else {
        update
            .col_expr(
                workflow::Column::Status,
                Expr::value(WorkflowStatus::Failed),
            )
            .col_expr(workflow::Column::CompletedAt, Expr::value(stamp.now))
    };
    let res = update.filter(fenced(claim)).exec(&txn).await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        return Err(FinishError::Fenced);
    }
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: if retry {
                kind::WORKFLOW_RETRYING
            } else {
                kind::WORKFLOW_FAILED
            },
            workflow_id: Some(claim.id),
            chain_id: Some(claim.chain_id),
            payload: json!({
                "type": claim.workflow_type,
                "attempt": claim.attempt,
                "error": message,
                "retryable": error.is_retryable(),
                "run_after": retry.then_some(run_after),
            }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(vec![signal])
}

/// Gives a claimed row back untouched (graceful shutdown): pending again,
/// and the interrupted attempt does not count.
pub async fn release(
    db: &DatabaseConnection,
    stamp: &Stamp,
    claim: &workflow::Model,
) -> Result<Vec<Signal>, FinishError> {
    let txn = db.begin().await?;
    let res = workflow::Entity::update_many()
        .col_expr(
            workflow::Column::Status,
            Expr::value(WorkflowStatus::Pending),
        )
        .col_expr(
            workflow::Column::Attempt,
            Expr::col(workflow::Column::Attempt).sub(1),
        )
        .col_expr(workflow::Column::RunAfter, Expr::value(stamp.now))
        .col_expr(workflow::Column::UpdatedAt, Expr::value(stamp.now))
        .col_expr(
            workflow::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            workflow::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(fenced(claim))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        return Err(FinishError::Fenced);
    }
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::WORKFLOW_RELEASED,
            workflow_id: Some(claim.id),
            chain_id: Some(claim.chain_id),
            payload: json!({ "type": claim.workflow_type }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(vec![signal])
}

/// Delay before attempt `attempt + 1`: `base · 2^(attempt-1)`, ±25% jitter so
/// a burst of failures does not retry in lockstep, capped at 10 minutes.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 16)).unwrap_or(0);
    let raw = base.saturating_mul(2u32.saturating_pow(exp));
    let capped = raw.min(Duration::from_secs(600));
    capped.mul_f64(0.75 + fastrand::f64() * 0.5)
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(1);
        for attempt in 1..=5 {
            let nominal = 2f64.powi(attempt - 1);
            let d = backoff(base, attempt).as_secs_f64();
            assert!(
                d >= nominal * 0.75 && d <= nominal * 1.25,
                "attempt {attempt}: {d}"
            );
        }
        assert!(backoff(base, 40) <= Duration::from_secs(750));
    }
}
