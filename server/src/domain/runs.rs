//! Runs: the worker side of a workflow's life. Claiming due rows under a
//! lease, renewing it, and the fenced writes that end a run (complete,
//! retry later, fail, release). Baton's own workers (`engine::worker`) and
//! external workers (`claimWorkflows` over GraphQL) go through these same
//! functions, so a Python worker's completion is stored exactly as a
//! built-in one's.
//!
//! Every write here but the claim itself is a [`Change`] (see
//! `transitions`): it applies only while the claim's fencing token still
//! matches. A claim bumps `fence`, so a worker whose lease expired and whose
//! row was claimed again (or cancelled) writes nothing: its UPDATE matches
//! no row and its transaction rolls back.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, FromQueryResult,
    Statement, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::approvals::{self, ApprovalRequest};
use super::artifacts::{self, NewArtifact};
use super::events::{self, NewEvent, Signal, kind};
use super::llm_calls::{self, NewLlmCall};
pub use super::transitions::{Change, Guard};
use crate::error::AppError;

/// What a finished run leaves behind.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub output: Value,
    pub artifact: Option<NewArtifact>,
    pub approval: Option<ApprovalRequest>,
}

/// Rows of its own a type writes in the transaction that stores its
/// completed run, after the fencing check, so they commit exactly once with
/// it (a deployment, say).
#[async_trait::async_trait]
pub trait CompletionWrites: Send + Sync {
    async fn write(
        &self,
        txn: &DatabaseTransaction,
        stamp: &Stamp,
        workflow: &workflow::Model,
        output: &Value,
    ) -> Result<Vec<Signal>, AppError>;
}

// ---------------------------------------------------------------------------
// Claiming
// ---------------------------------------------------------------------------

/// PostgreSQL: the function `baton_claim` (migration
/// `m20261207_000019_claim_function`, where its SQL is): two index-ordered
/// picks, each locking rows of the workflows table alone (no joins in a
/// locking subquery, so SKIP LOCKED skips exactly the rows other workers
/// hold): running rows whose lease expired with an attempt left (crash
/// recovery, taken first so it is never starved; a row on its last attempt
/// is failed by [`claim_runnable`] instead) and due pending rows, of the
/// types the caller runs (a JSON array: no array binding needed). Each
/// pick walks its own partial index in order and stops at the limit, so a
/// claim costs the same with ten rows queued as with a million (an OR of
/// both conditions under one ORDER BY would sort the whole backlog). It is
/// a function for its planner settings: with statistics from when the
/// queue was empty, PostgreSQL would rather sort every due row.
const CLAIM_POSTGRES: &str = "SELECT * FROM baton_claim($1, $2, $3, $4, $5::jsonb)";

/// SQLite: one writer at a time, so the same picks need no row locks and
/// the UPDATE … RETURNING is atomic on its own. The types come as a JSON
/// array.
const CLAIM_SQLITE: &str = r#"
WITH expired AS (
       SELECT id FROM workflows
        WHERE status = 'running' AND lease_expires_at < ?3
          AND attempt < max_attempts
          AND type IN (SELECT value FROM json_each(?5))
        ORDER BY lease_expires_at
        LIMIT ?4),
     due AS (
       SELECT id FROM workflows
        WHERE status = 'pending' AND run_after <= ?3
          AND type IN (SELECT value FROM json_each(?5))
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

/// Claims up to `limit` due workflows of `types` for `owner`.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    types: &[String],
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<workflow::Model>, DbErr> {
    if types.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => CLAIM_POSTGRES,
        _ => CLAIM_SQLITE,
    };
    let types: sea_orm::Value = json!(types).to_string().into();
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            owner.into(),
            (now + delta(lease)).into(),
            now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
            types,
        ],
    );
    let rows = db.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| workflow::Model::from_query_result(r, ""))
        .collect()
}

/// Running rows of `types` whose lease expired during their last allowed
/// attempt, oldest expiry first. The claim skips them (`attempt <
/// max_attempts` in its expired pick) so that failing them never counts as
/// one more attempt.
const EXHAUSTED_POSTGRES: &str = r#"
SELECT * FROM workflows
 WHERE status = 'running' AND lease_expires_at < $1
   AND attempt >= max_attempts
   AND type = ANY(ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))
 ORDER BY lease_expires_at
 LIMIT $2"#;

const EXHAUSTED_SQLITE: &str = r#"
SELECT * FROM workflows
 WHERE status = 'running' AND lease_expires_at < ?1
   AND attempt >= max_attempts
   AND type IN (SELECT value FROM json_each(?3))
 ORDER BY lease_expires_at
 LIMIT ?2"#;

/// Why a workflow whose last attempt lost its worker failed.
pub fn exhausted_error(max_attempts: i32) -> String {
    format!(
        "lease expired on its last attempt ({max_attempts} of {max_attempts}): \
         the worker running it stopped renewing its lease"
    )
}

/// Fails the rows whose lease expired on their last allowed attempt, then
/// claims like [`claim`].
///
/// Such a row used to be claimed (attempt + 1) and then failed, which
/// stored it as attempt `max_attempts + 1` of `max_attempts`. Here it is
/// failed in place, fenced by its unchanged `fence` and by its lease still
/// being expired (a worker that renewed in time keeps it), so `attempt <=
/// max_attempts` always holds and two reapers racing write one
/// `workflow.failed` event between them.
pub async fn claim_runnable(
    db: &DatabaseConnection,
    stamp: &Stamp,
    owner: &str,
    types: &[String],
    lease: Duration,
    limit: u64,
) -> Result<(Vec<workflow::Model>, Vec<Signal>), DbErr> {
    let signals = fail_exhausted(db, stamp, types, limit).await?;
    let claimed = claim(db, owner, types, stamp.now, lease, limit).await?;
    Ok((claimed, signals))
}

async fn fail_exhausted(
    db: &DatabaseConnection,
    stamp: &Stamp,
    types: &[String],
    limit: u64,
) -> Result<Vec<Signal>, DbErr> {
    if types.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => EXHAUSTED_POSTGRES,
        _ => EXHAUSTED_SQLITE,
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            stamp.now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
            json!(types).to_string().into(),
        ],
    );
    let rows = db.query_all_raw(stmt).await?;
    let mut signals = Vec::new();
    for r in rows {
        let c = workflow::Model::from_query_result(&r, "")?;
        let why = exhausted_error(c.max_attempts);
        let change = Change::of_claim(&c).only_if_lease_expired(stamp.now);
        match fail(db, stamp, change, &c, &why, false, Duration::ZERO).await {
            Ok(mut s) => signals.append(&mut s),
            Err(FinishError::Db(e)) => return Err(e),
            // Another reaper, a renewal or a cancel got there first.
            Err(_) => {}
        }
    }
    Ok(signals)
}

/// Extends the lease to `until`; false when the claim is no longer ours
/// (reclaimed, cancelled), in which case the run must stop.
pub async fn renew(
    conn: &impl ConnectionTrait,
    change: Change,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<workflow::Model>, DbErr> {
    change
        .set(workflow::Column::LeaseExpiresAt, Expr::value(until))
        .apply(conn, now)
        .await
}

// ---------------------------------------------------------------------------
// Ending a run
// ---------------------------------------------------------------------------

/// Why a fenced write was not stored.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// The claim was lost before the write: another worker owns the row
    /// now, or someone cancelled it.
    #[error("the lease was lost; the result was discarded")]
    Fenced,
    #[error(transparent)]
    Db(#[from] DbErr),
    /// The type's own completion writes refused the outcome (a conflict).
    #[error("{0}")]
    Rejected(String),
}

/// Stores a finished run: output, status, artifact, approval and events in
/// one transaction. `change` is the claim's fenced change; `writes` are the
/// type's own rows, if any. Returns the completed row and the signals.
pub async fn complete(
    db: &DatabaseConnection,
    stamp: &Stamp,
    change: Change,
    claim: &workflow::Model,
    outcome: Outcome,
    writes: Option<&dyn CompletionWrites>,
) -> Result<(workflow::Model, Vec<Signal>), FinishError> {
    let item = Completion {
        change,
        claim: claim.clone(),
        outcome,
        writes,
        calls: Vec::new(),
    };
    complete_many(db, stamp, vec![item])
        .await
        .pop()
        .map_or(Err(FinishError::Fenced), |s| s.result)
}

/// One finished run for [`complete_many`].
pub struct Completion<'a> {
    /// The claim's fenced change.
    pub change: Change,
    pub claim: workflow::Model,
    pub outcome: Outcome,
    /// The type's own rows, if any.
    pub writes: Option<&'a dyn CompletionWrites>,
    /// The attempt's model calls not written yet: written in the same
    /// transaction, whether the run is stored or turns out fenced.
    pub calls: Vec<NewLlmCall>,
}

/// The completed row and its signals, or why nothing was stored.
pub type StoreResult = Result<(workflow::Model, Vec<Signal>), FinishError>;

/// What [`complete_many`] did with one run.
pub struct Stored {
    pub result: StoreResult,
    /// The model calls that were not written (a refused or failed store):
    /// the caller writes them with whatever it does next.
    pub unwritten_calls: Vec<NewLlmCall>,
}

/// Stores many finished runs in one transaction, as [`complete`] stores
/// one: one commit for the lot instead of one each, which is what lets a
/// worker keep up with short workflows. Each run is still fenced on its
/// own: a run whose claim was lost is left out (`Fenced`) and the others
/// are stored. Results come back in the order of `items`.
///
/// A run whose type's writes refuse it (`Rejected`) leaves the transaction
/// rolled back; the batch is stored again without it. A database error
/// fails the transaction; the runs are then stored one transaction each, so
/// a row that cannot be written does not hold the others back.
pub async fn complete_many(
    db: &DatabaseConnection,
    stamp: &Stamp,
    items: Vec<Completion<'_>>,
) -> Vec<Stored> {
    // The artifact's id is chosen here, once, so the output can name it
    // and a second try writes the same.
    let prepared: Vec<Prepared> = items.into_iter().map(Prepared::new).collect();
    let mut results: Vec<Option<StoreResult>> = prepared.iter().map(|_| None).collect();
    let mut calls_written = vec![false; prepared.len()];
    loop {
        let live: Vec<usize> = (0..prepared.len())
            .filter(|&i| results[i].is_none())
            .collect();
        if live.is_empty() {
            break;
        }
        let batch: Vec<&Prepared> = live.iter().map(|&i| &prepared[i]).collect();
        match store_batch(db, stamp, &batch).await {
            Ok(Batch::Stored(outcomes)) => {
                for (i, r) in live.into_iter().zip(outcomes) {
                    results[i] = Some(r);
                    calls_written[i] = true;
                }
            }
            Ok(Batch::Refused(k, why)) => {
                results[live[k]] = Some(Err(FinishError::Rejected(why)));
            }
            Err(e) if live.len() == 1 => results[live[0]] = Some(Err(FinishError::Db(e))),
            Err(e) => {
                tracing::warn!(error = %e, runs = live.len(), "storing a batch of completions failed; storing them one by one");
                for i in live {
                    results[i] = Some(match store_batch(db, stamp, &[&prepared[i]]).await {
                        Ok(Batch::Stored(mut r)) => {
                            calls_written[i] = true;
                            r.pop().unwrap_or(Err(FinishError::Fenced))
                        }
                        Ok(Batch::Refused(_, why)) => Err(FinishError::Rejected(why)),
                        Err(e) => Err(FinishError::Db(e)),
                    });
                }
            }
        }
    }
    prepared
        .into_iter()
        .zip(results)
        .zip(calls_written)
        .map(|((p, r), written)| Stored {
            result: r.unwrap_or(Err(FinishError::Fenced)),
            unwritten_calls: if written { Vec::new() } else { p.item.calls },
        })
        .collect()
}

struct Prepared<'a> {
    item: Completion<'a>,
    artifact_id: Option<Uuid>,
    output: Value,
}

impl<'a> Prepared<'a> {
    fn new(item: Completion<'a>) -> Prepared<'a> {
        let artifact_id = item.outcome.artifact.as_ref().map(|_| Uuid::now_v7());
        let mut output = item.outcome.output.clone();
        if let (Some(id), Some(map)) = (artifact_id, output.as_object_mut()) {
            map.insert("artifact_id".into(), json!(id));
        }
        Prepared {
            item,
            artifact_id,
            output,
        }
    }
}

enum Batch {
    /// Committed: per run, its row and signals or `Fenced`.
    Stored(Vec<StoreResult>),
    /// Rolled back: the type's writes refused the run at this index.
    Refused(usize, String),
}

/// One transaction storing every run of `batch` whose claim still holds.
async fn store_batch(
    db: &DatabaseConnection,
    stamp: &Stamp,
    batch: &[&Prepared<'_>],
) -> Result<Batch, DbErr> {
    let txn = db.begin().await?;
    let mut out = Vec::with_capacity(batch.len());
    let mut notices = Vec::new();
    for (k, p) in batch.iter().enumerate() {
        let claim = &p.item.claim;
        let Some(done) = p
            .item
            .change
            .clone()
            .to(WorkflowStatus::Completed)
            .set(workflow::Column::Output, Expr::value(p.output.clone()))
            .set(workflow::Column::Error, Expr::value(Option::<String>::None))
            .set(workflow::Column::CompletedAt, Expr::value(stamp.now))
            .without_lease()
            .apply(&txn, stamp.now)
            .await?
        else {
            out.push(Err(FinishError::Fenced));
            continue;
        };
        let mut signals = match p.item.writes {
            None => Vec::new(),
            Some(w) => match w.write(&txn, stamp, claim, &p.output).await {
                Ok(s) => s,
                Err(AppError::Internal(e)) => {
                    let _ = txn.rollback().await;
                    return Err(DbErr::Custom(format!("{e:#}")));
                }
                // The database went away mid-transaction: like any lost
                // write, the lease expires and another attempt runs (not a
                // rejection).
                Err(AppError::Unavailable(cause)) => {
                    let _ = txn.rollback().await;
                    return Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(cause)));
                }
                Err(e) => {
                    txn.rollback().await?;
                    return Ok(Batch::Refused(k, e.message()));
                }
            },
        };
        let artifact = match (p.item.outcome.artifact.clone(), p.artifact_id) {
            (Some(a), Some(id)) => {
                Some(artifacts::insert(&txn, stamp, id, claim.id, claim.chain_id, a).await?)
            }
            _ => None,
        };
        let mut approval_id = None;
        if let Some(req) = p.item.outcome.approval.clone() {
            let (approval, signal) =
                approvals::insert(&txn, stamp, claim, artifact.as_ref(), req).await?;
            approval_id = Some(approval.id);
            signals.push(signal);
        }
        let event = events::append_unnotified(
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
        signals.insert(0, event);
        notices.extend(signals.iter().cloned());
        out.push(Ok((done, signals)));
    }
    let calls: Vec<NewLlmCall> = batch
        .iter()
        .flat_map(|p| p.item.calls.iter().cloned())
        .collect();
    llm_calls::record_all(&txn, calls).await?;
    events::notify(&txn, &notices).await?;
    txn.commit().await?;
    Ok(Batch::Stored(out))
}

/// Ends a failed attempt: back to `pending` after a backoff while attempts
/// remain and a retry can help, else `failed` with the error kept.
pub async fn fail(
    db: &DatabaseConnection,
    stamp: &Stamp,
    change: Change,
    claim: &workflow::Model,
    message: &str,
    retryable: bool,
    retry_base: Duration,
) -> Result<Vec<Signal>, FinishError> {
    Ok(
        fail_returning(db, stamp, change, claim, message, retryable, retry_base)
            .await?
            .1,
    )
}

/// [`fail`], also returning the row as it is now.
pub async fn fail_returning(
    db: &DatabaseConnection,
    stamp: &Stamp,
    change: Change,
    claim: &workflow::Model,
    message: &str,
    retryable: bool,
    retry_base: Duration,
) -> Result<(workflow::Model, Vec<Signal>), FinishError> {
    let failure = Failure {
        message,
        retryable,
        retry_base,
    };
    fail_recording(db, stamp, change, claim, failure, Vec::new()).await
}

/// How an attempt failed, for [`fail_recording`].
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub message: &'a str,
    /// A retry could help (and runs while attempts remain).
    pub retryable: bool,
    /// The backoff's base delay.
    pub retry_base: Duration,
}

/// [`fail_returning`], also writing the attempt's model calls not written
/// yet (`calls`) in the same transaction; they are written even when the
/// claim turns out lost, since the calls were made.
pub async fn fail_recording(
    db: &DatabaseConnection,
    stamp: &Stamp,
    change: Change,
    claim: &workflow::Model,
    failure: Failure<'_>,
    calls: Vec<NewLlmCall>,
) -> Result<(workflow::Model, Vec<Signal>), FinishError> {
    let Failure {
        message,
        retryable,
        retry_base,
    } = failure;
    let retry = retryable && claim.attempt < claim.max_attempts;
    let run_after = stamp.now + delta(backoff(retry_base, claim.attempt));
    let change = change
        .set(
            workflow::Column::Error,
            Expr::value(Some(message.to_string())),
        )
        .without_lease();
    let change = if retry {
        change
            .to(WorkflowStatus::Pending)
            .set(workflow::Column::RunAfter, Expr::value(run_after))
    } else {
        change
            .to(WorkflowStatus::Failed)
            .set(workflow::Column::CompletedAt, Expr::value(stamp.now))
    };
    let txn = db.begin().await?;
    llm_calls::record_all(&txn, calls).await?;
    let Some(row) = change.apply(&txn, stamp.now).await? else {
        // Only the calls were written.
        txn.commit().await?;
        return Err(FinishError::Fenced);
    };
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
                "retryable": retryable,
                "run_after": retry.then_some(run_after),
            }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((row, vec![signal]))
}

/// Gives a claimed row back untouched (graceful shutdown): pending again,
/// and the interrupted attempt does not count.
pub async fn release(
    db: &DatabaseConnection,
    stamp: &Stamp,
    claim: &workflow::Model,
) -> Result<Vec<Signal>, FinishError> {
    let txn = db.begin().await?;
    let released = Change::of_claim(claim)
        .to(WorkflowStatus::Pending)
        .set(
            workflow::Column::Attempt,
            Expr::col(workflow::Column::Attempt).sub(1),
        )
        .set(workflow::Column::RunAfter, Expr::value(stamp.now))
        .without_lease()
        .apply(&txn, stamp.now)
        .await?;
    if released.is_none() {
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

pub(crate) fn delta(d: Duration) -> TimeDelta {
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
