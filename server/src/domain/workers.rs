//! External workers: processes outside Baton (a Python worker, any GraphQL
//! client) that run declared workflow types. They claim, heartbeat,
//! complete and fail through the same fenced writes as Baton's own workers
//! (`runs`), so a completion is stored exactly as a built-in one is: output,
//! artifact, approval with the declared next step, events and
//! notifications, in one transaction.
//!
//! A claim's handle is its fencing token: `<workflow id>.<fence>.<nonce>`.
//! The nonce is random per claim and, with the claiming principal, forms the
//! row's `lease_owner`; every write checks id, fence, status `running` and
//! lease owner, so a stale handle (the lease expired and the row was claimed
//! again, or it was cancelled or finished) and another principal's handle
//! both write nothing and answer `CONFLICT`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::approvals::{ApprovalRequest, FollowUp};
use super::artifacts::{self, NewArtifact};
use super::events::Signal;
use super::principal::{Permission, Principal};
use super::runs::{self, Change, FinishError, Outcome};
use super::workflow_types::{Catalog, TypeSpec};
use super::workflows::{self, status_word};
use crate::error::{AppError, AppResult};

pub const MAX_CLAIMS: u64 = 100;
pub const MIN_LEASE_SECS: u64 = 5;
pub const MAX_LEASE_SECS: u64 = 3600;
pub const MAX_ERROR_LEN: usize = 10_000;

/// A claimed workflow and the handle its worker writes with.
#[derive(Debug, Clone)]
pub struct Claim {
    pub handle: String,
    pub workflow: workflow::Model,
}

/// A parsed claim handle.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Handle {
    id: Uuid,
    fence: i64,
    nonce: String,
}

impl Handle {
    fn parse(s: &str) -> AppResult<Handle> {
        let bad = || {
            AppError::bad_input(
                "handle",
                "handle: not a claim handle; pass back the `handle` claimWorkflows returned",
            )
        };
        let mut parts = s.split('.');
        let (Some(id), Some(fence), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        let fence = fence.parse::<i64>().map_err(|_| bad())?;
        if nonce.len() != 24 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Handle {
            id,
            fence,
            nonce: nonce.to_string(),
        })
    }

    fn encode(&self) -> String {
        format!("{}.{}.{}", self.id, self.fence, self.nonce)
    }

    /// The lease owner a claim under this handle wrote: the nonce and who
    /// claimed (`lease_owner` holds 128 characters).
    fn owner(&self, principal: &Principal) -> String {
        let who: String = principal.id.chars().take(100).collect();
        format!("{}@{who}", self.nonce)
    }

    fn change(&self, principal: &Principal) -> Change {
        Change::new(
            self.id,
            runs::Guard::Claim {
                fence: self.fence,
                owner: None,
            },
        )
        .owned_by(&self.owner(principal))
    }
}

/// Checks the types an external worker asks for (declared ones only) and
/// returns the shortest of their timeouts.
async fn claimable_types(
    db: &DatabaseConnection,
    catalog: &Catalog,
    types: &[String],
) -> AppResult<Duration> {
    let mut shortest = Duration::MAX;
    if types.is_empty() {
        return Err(AppError::bad_input(
            "types",
            "types: name at least one declared workflow type to claim",
        ));
    }
    if types.len() > 100 {
        return Err(AppError::bad_input("types", "types: at most 100 types"));
    }
    for (i, t) in types.iter().enumerate() {
        if catalog.builtin(t).is_some() {
            return Err(AppError::bad_input(
                format!("types[{i}]"),
                format!(
                    "types[{i}]: {t} is a built-in type and runs inside Baton; external workers \
                     claim declared types (declareWorkflowType)"
                ),
            ));
        }
        match catalog.get(db, t).await? {
            Some(spec) => shortest = shortest.min(spec.timeout),
            None => {
                return Err(AppError::bad_input(
                    format!("types[{i}]"),
                    format!("types[{i}]: no declared workflow type '{t}'"),
                ));
            }
        }
    }
    Ok(shortest)
}

/// A checked claim: declared types the caller may run, how many, and a
/// lease no longer than the shortest of their timeouts. Checked once, then
/// tried as often as a long poll needs.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    types: Vec<String>,
    limit: u64,
    lease: Duration,
}

impl ClaimRequest {
    pub async fn new(
        db: &DatabaseConnection,
        catalog: &Catalog,
        principal: &Principal,
        types: Vec<String>,
        limit: i32,
        lease_secs: i32,
    ) -> AppResult<ClaimRequest> {
        principal.require(Permission::Work)?;
        let (limit, lease) = claim_bounds(limit, lease_secs)?;
        let shortest_timeout = claimable_types(db, catalog, &types).await?;
        Ok(ClaimRequest {
            types,
            limit,
            lease: lease.min(shortest_timeout),
        })
    }
}

/// `limit` and `leaseSeconds` within their bounds.
fn claim_bounds(limit: i32, lease_secs: i32) -> AppResult<(u64, Duration)> {
    let limit = u64::try_from(limit)
        .ok()
        .filter(|l| (1..=MAX_CLAIMS).contains(l))
        .ok_or_else(|| AppError::bad_input("limit", format!("limit: 1 to {MAX_CLAIMS}")))?;
    Ok((limit, lease_duration(lease_secs, "leaseSeconds")?))
}

pub fn lease_duration(secs: i32, field: &str) -> AppResult<Duration> {
    u64::try_from(secs)
        .ok()
        .filter(|s| (MIN_LEASE_SECS..=MAX_LEASE_SECS).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            AppError::bad_input(
                field,
                format!("{field}: {MIN_LEASE_SECS} to {MAX_LEASE_SECS} seconds"),
            )
        })
}

/// Claims what `req` asks for, for `principal` (one attempt, no waiting:
/// the caller long-polls). The lease never outlives an attempt's deadline;
/// heartbeats extend it up to each run's own deadline.
pub async fn claim(
    db: &DatabaseConnection,
    stamp: &Stamp,
    principal: &Principal,
    req: &ClaimRequest,
) -> AppResult<(Vec<Claim>, Vec<Signal>)> {
    principal.require(Permission::Work)?;
    let nonce = super::secrets::sha256_hex(&super::secrets::random_bytes()?)[..24].to_string();
    let owner = Handle {
        id: Uuid::nil(),
        fence: 0,
        nonce: nonce.clone(),
    }
    .owner(principal);
    let (rows, signals) =
        runs::claim_runnable(db, stamp, &owner, &req.types, req.lease, req.limit).await?;
    let claims = rows
        .into_iter()
        .map(|row| Claim {
            handle: Handle {
                id: row.id,
                fence: row.fence,
                nonce: nonce.clone(),
            }
            .encode(),
            workflow: row,
        })
        .collect();
    Ok((claims, signals))
}

fn deadline(row: &workflow::Model, spec: &TypeSpec, now: DateTime<Utc>) -> DateTime<Utc> {
    row.started_at.unwrap_or(now) + runs::delta(spec.timeout)
}

/// The row a handle names, if the handle still holds its claim; otherwise
/// `CONFLICT` saying what happened to it.
async fn held(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    handle: &Handle,
) -> AppResult<workflow::Model> {
    let row = workflows::find(conn, handle.id).await?;
    let ours = row.status == WorkflowStatus::Running
        && row.fence == handle.fence
        && row.lease_owner.as_deref() == Some(handle.owner(principal).as_str());
    if ours {
        return Ok(row);
    }
    Err(stale(&row, handle))
}

fn stale(row: &workflow::Model, handle: &Handle) -> AppError {
    let why = if row.fence != handle.fence {
        format!(
            "its lease expired and it was claimed again (attempt {})",
            row.attempt
        )
    } else if row.status == WorkflowStatus::Running {
        "the claim belongs to another worker".to_string()
    } else {
        format!("it is {}", status_word(row.status))
    };
    AppError::Conflict(format!(
        "this claim on workflow {} is stale: {why}; nothing was written",
        row.id
    ))
}

/// How a heartbeat went.
#[derive(Debug)]
pub enum Beat {
    /// The lease now ends at this time.
    Extended(DateTime<Utc>),
    /// The run is past its deadline: the attempt was failed (the signals
    /// are that write's), and the worker must stop; `message` says so.
    TimedOut {
        message: String,
        signals: Vec<Signal>,
    },
}

/// Extends a claim's lease by `lease` from now, up to the attempt's
/// deadline. Past the deadline the attempt fails as timed out (retried
/// while attempts remain).
pub async fn heartbeat(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    handle: &str,
    lease: Duration,
) -> AppResult<Beat> {
    principal.require(Permission::Work)?;
    let handle = Handle::parse(handle)?;
    let row = held(db, principal, &handle).await?;
    let spec = spec_of(db, catalog, &row).await?;
    let deadline = deadline(&row, &spec, stamp.now);
    if stamp.now >= deadline {
        let why = format!("timed out after {}s", spec.timeout.as_secs());
        let signals = match runs::fail(
            db,
            stamp,
            handle.change(principal),
            &row,
            &why,
            true,
            spec.retry_base,
        )
        .await
        {
            Ok(s) => s,
            Err(FinishError::Fenced) => vec![],
            Err(e) => return Err(finish_error(e, &row, &handle)),
        };
        let message = format!(
            "workflow {} ran past its timeout of {}s; this attempt was failed{} and nothing more \
             will be accepted for it",
            row.id,
            spec.timeout.as_secs(),
            if row.attempt < row.max_attempts {
                " and will be retried"
            } else {
                ""
            }
        );
        return Ok(Beat::TimedOut { message, signals });
    }
    let until = (stamp.now + runs::delta(lease)).min(deadline);
    match runs::renew(db, handle.change(principal), stamp.now, until).await? {
        Some(_) => Ok(Beat::Extended(until)),
        None => Err(stale(&workflows::find(db, handle.id).await?, &handle)),
    }
}

/// What a worker hands back when a run succeeded.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub output: Option<Value>,
    pub artifact: Option<Value>,
    pub score: Option<f64>,
}

/// Stores a finished run. The output and artifact must satisfy the type's
/// declared schemas (`BAD_USER_INPUT`, and the claim stays open so a fixed
/// call can follow); a type that requires approval opens it, with the
/// declared next steps, in the same transaction.
pub async fn complete(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    handle: &str,
    done: Completion,
) -> AppResult<(workflow::Model, Vec<Signal>)> {
    principal.require(Permission::Work)?;
    let handle = Handle::parse(handle)?;
    let row = held(db, principal, &handle).await?;
    let spec = spec_of(db, catalog, &row).await?;
    let output = done.output.unwrap_or_else(|| json!({}));
    if let Some((field, message)) = spec.invalid_output(&output) {
        return Err(AppError::BadInput {
            message: format!("{field}: {message}"),
            field: Some(field),
        });
    }
    if let Some((field, message)) = done
        .artifact
        .as_ref()
        .and_then(|a| spec.invalid_artifact(a))
    {
        return Err(AppError::BadInput {
            message: format!("{field}: {message}"),
            field: Some(field),
        });
    }
    if let Some(s) = done.score
        && !(s.is_finite() && (0.0..=100.0).contains(&s))
    {
        return Err(AppError::bad_input("score", "score: 0 to 100"));
    }
    let artifact = match done.artifact {
        None => None,
        Some(content) => {
            let kind = spec
                .artifact_kind
                .clone()
                .unwrap_or_else(|| spec.name.clone());
            let parent_id = revised_artifact(db, &row, &kind).await?;
            Some(NewArtifact {
                kind,
                content,
                parent_id,
            })
        }
    };
    // A child run (an experiment's) is judged by its parent, not a person.
    let approval = (spec.requires_approval && row.parent_id.is_none()).then(|| ApprovalRequest {
        // Without an artifact the reviewer reads the output.
        artifact_data: artifact.is_none().then(|| output.clone()),
        score: done.score,
        on_approve: spec.next_on_approve.as_ref().map(|s| FollowUp {
            workflow_type: s.workflow_type.clone(),
            input: s.input.clone(),
        }),
        on_reject: spec.next_on_reject.as_ref().map(|s| FollowUp {
            workflow_type: s.workflow_type.clone(),
            input: s.input.clone(),
        }),
        reject_requires_feedback: spec
            .next_on_reject
            .as_ref()
            .is_some_and(|s| s.requires_feedback),
        expires_in: None,
        artifact_bindings: vec![],
    });
    let outcome = Outcome {
        output,
        artifact,
        approval,
    };
    let change = handle.change(principal).set(
        workflow::Column::Score,
        sea_orm::sea_query::Expr::value(done.score),
    );
    runs::complete(db, stamp, change, &row, outcome, None)
        .await
        .map_err(|e| finish_error(e, &row, &handle))
}

/// A run started by a decision on an artifact (its input names
/// `artifact_id`) that produces an artifact of the same kind is a revision:
/// the new artifact continues the old one's versions, so reviewers see the
/// diff.
async fn revised_artifact(
    conn: &impl ConnectionTrait,
    row: &workflow::Model,
    kind: &str,
) -> AppResult<Option<Uuid>> {
    let Some(id) = row
        .input
        .get("artifact_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Ok(None);
    };
    if row.triggered_by_approval_id.is_none() {
        return Ok(None);
    }
    Ok(artifacts::get(conn, id)
        .await?
        .filter(|a| a.kind == kind)
        .map(|a| a.id))
}

/// Ends a failed attempt: retried after the type's backoff while
/// `retryable` and attempts remain, else `failed`.
pub async fn fail(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    handle: &str,
    error: &str,
    retryable: bool,
) -> AppResult<(workflow::Model, Vec<Signal>)> {
    principal.require(Permission::Work)?;
    let handle = Handle::parse(handle)?;
    let error = error.trim();
    if error.is_empty() {
        return Err(AppError::bad_input("error", "error: say what went wrong"));
    }
    let error: String = error.chars().take(MAX_ERROR_LEN).collect();
    let row = held(db, principal, &handle).await?;
    let spec = spec_of(db, catalog, &row).await?;
    let message = if retryable {
        error
    } else {
        format!("fatal: {error}")
    };
    runs::fail_returning(
        db,
        stamp,
        handle.change(principal),
        &row,
        &message,
        retryable,
        spec.retry_base,
    )
    .await
    .map_err(|e| finish_error(e, &row, &handle))
}

async fn spec_of(
    conn: &impl ConnectionTrait,
    catalog: &Catalog,
    row: &workflow::Model,
) -> AppResult<std::sync::Arc<TypeSpec>> {
    catalog.of(conn, row).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "workflow {} has type {} v{:?}, which is not in the catalog",
            row.id,
            row.workflow_type,
            row.type_version
        ))
    })
}

fn finish_error(e: FinishError, row: &workflow::Model, handle: &Handle) -> AppError {
    match e {
        // The row moved between the read and the write.
        FinishError::Fenced => AppError::Conflict(format!(
            "this claim on workflow {} is stale (claim {}): it was cancelled, finished or \
             claimed again while the write was being made; nothing was written",
            row.id, handle.fence
        )),
        FinishError::Db(e) => e.into(),
        FinishError::Rejected(why) => AppError::Conflict(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_refuse_garbage() {
        let h = Handle {
            id: Uuid::now_v7(),
            fence: 7,
            nonce: "0123456789abcdef01234567".into(),
        };
        assert_eq!(Handle::parse(&h.encode()).ok(), Some(h.clone()));
        for bad in [
            "",
            "x.1.0123456789abcdef01234567",
            &format!("{}.x.0123456789abcdef01234567", h.id),
            &format!("{}.1.short", h.id),
            &format!("{}.1.0123456789abcdef01234567.extra", h.id),
        ] {
            assert!(Handle::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claim_parameters_are_bounded() {
        assert!(claim_bounds(0, 60).is_err());
        assert!(claim_bounds(101, 60).is_err());
        assert!(claim_bounds(1, 4).is_err());
        assert!(claim_bounds(1, 3601).is_err());
        assert!(claim_bounds(100, 3600).is_ok());
    }
}
