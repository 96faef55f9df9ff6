//! Approvals: the decision people make between two workflows.
//!
//! Invariants:
//! - An approval leaves `pending` at most once. The transaction that moves
//!   it also writes the next workflow (at most one: the
//!   `workflows.triggered_by_approval_id` unique constraint backs this up)
//!   and the `approval.decided` event.
//! - A decision is a vote bound to the artifact version its reviewer read.
//!   A vote on an older version, or on an approval that moved on, answers
//!   `CONFLICT` and changes nothing.
//! - The approval is decided by the k-th distinct approving vote on the
//!   current version (k = the policy's `required_approvals`), or by the
//!   first eligible rejection. Votes on one approval are serialized (a row
//!   lock on PostgreSQL, the single writer on SQLite), so exactly k approving
//!   votes are counted whatever the concurrency.
//! - An edit is a new artifact version authored by the reviewer; approving
//!   votes on earlier versions stop counting (they approved other content),
//!   and the next workflow receives the approved version's id and hash.

use chrono::{DateTime, Utc};
use entity::approval::{self, ApprovalStatus};
use entity::vote::{self, VoteDecision};
use entity::workflow;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Stamp;
use super::artifacts;
use super::events::{self, NewEvent, Signal, kind};
use super::page::{Cursor, Order, Page, PageRequest};
use super::policies::{self, ExpiryAction, Policy};
use super::principal::{Permission, Principal};
use super::workflow_types::{Catalog, DecisionFacts, next_input};
use super::workflows::{self, NewWorkflow};
use crate::error::{AppError, AppResult, is_unique_violation};

pub const APPROVAL_VOTED: &str = "approval.voted";
pub const APPROVAL_REMINDED: &str = "approval.reminded";
pub const APPROVAL_ESCALATED: &str = "approval.escalated";
pub const ARTIFACT_EDITED: &str = "artifact.edited";

/// The decision a finished run asks for, and what each answer starts.
#[derive(Debug, Clone, Default)]
pub struct ApprovalRequest {
    /// What the reviewer sees; the artifact's content when `None`.
    pub artifact_data: Option<Value>,
    /// Quality score (0–100) shown in the queue.
    pub score: Option<f64>,
    pub on_approve: Option<FollowUp>,
    pub on_reject: Option<FollowUp>,
    /// Start `on_reject` only when the reviewer wrote feedback.
    pub reject_requires_feedback: bool,
    pub expires_in: Option<std::time::Duration>,
    /// Inputs of the `on_approve` workflow read, at decision time, from the
    /// artifact version that was approved: `(input key, JSON pointer into
    /// the content)`. What runs next is then exactly what was approved,
    /// reviewer edits included.
    pub artifact_bindings: Vec<(String, String)>,
}

/// The next workflow a decision starts. Its input is `input` plus the
/// decision's keys (see `workflow_types::next_input`).
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub workflow_type: String,
    pub input: Value,
}

/// Longest feedback a reviewer may write.
pub const MAX_FEEDBACK: usize = 20_000;

/// Writes the approval a finishing workflow asked for (inside the finishing
/// transaction) with the policy now in force, and its `approval.created`
/// event. The caller notifies the returned signal ([`events::notify`]) with
/// the rest of its transaction's.
pub async fn insert(
    conn: &impl ConnectionTrait,
    stamp: &Stamp,
    wf: &workflow::Model,
    artifact: Option<&entity::artifact::Model>,
    req: ApprovalRequest,
) -> Result<(approval::Model, Signal), DbErr> {
    let root = if wf.chain_id == wf.id {
        None
    } else {
        workflow::Entity::find_by_id(wf.chain_id).one(conn).await?
    };
    let started_by = root
        .as_ref()
        .map_or_else(|| wf.created_by.clone(), |r| r.created_by.clone());
    // The type's own policy; else the policy of the type that started the
    // chain, so a draft's revision rounds keep the rules set for drafts.
    let own = effective_policy(conn, &wf.workflow_type).await?;
    let stored = match (&own.updated, &root) {
        (None, Some(r)) if r.workflow_type != wf.workflow_type => {
            effective_policy(conn, &r.workflow_type).await?
        }
        _ => own,
    };
    let policy = stored.policy;
    let mut policy_json = policy.to_json();
    if let Value::Object(m) = &mut policy_json {
        m.insert("workflow_type".into(), json!(stored.workflow_type));
    }
    let artifact_data = req
        .artifact_data
        .or_else(|| artifact.map(|a| a.content.clone()))
        .unwrap_or(Value::Null);
    // The policy's deadline wins over the one the workflow asked for.
    let expires_in = policy
        .expires_in_secs
        .map(chrono::TimeDelta::seconds)
        .or_else(|| {
            req.expires_in
                .and_then(|d| chrono::TimeDelta::from_std(d).ok())
        });
    let bindings = (!req.artifact_bindings.is_empty()).then(|| {
        Value::Object(
            req.artifact_bindings
                .iter()
                .map(|(k, p)| (k.clone(), Value::String(p.clone())))
                .collect(),
        )
    });
    let model = approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        workflow_id: Set(wf.id),
        chain_id: Set(wf.chain_id),
        status: Set(ApprovalStatus::Pending),
        artifact_type: Set(artifact.map_or_else(|| "none".to_string(), |a| a.kind.clone())),
        artifact_id: Set(artifact.map(|a| a.id)),
        artifact_data: Set(artifact_data),
        score: Set(req.score),
        next_workflow_type: Set(req.on_approve.as_ref().map(|f| f.workflow_type.clone())),
        next_workflow_input: Set(req.on_approve.map(|f| f.input)),
        reject_workflow_type: Set(req.on_reject.as_ref().map(|f| f.workflow_type.clone())),
        reject_workflow_input: Set(req.on_reject.map(|f| f.input)),
        reject_requires_feedback: Set(req.reject_requires_feedback),
        decided_by: Set(None),
        feedback: Set(None),
        decided_at: Set(None),
        expires_at: Set(expires_in.map(|d| stamp.now + d)),
        next_workflow_id: Set(None),
        created_at: Set(stamp.now),
        artifact_version: Set(artifact.map_or(0, |a| a.version)),
        policy: Set(Some(policy_json.clone())),
        started_by: Set(started_by),
        artifact_bindings: Set(bindings),
        remind_at: Set(policy
            .remind_after_secs
            .map(|s| stamp.now + chrono::TimeDelta::seconds(s))),
        reminded_at: Set(None),
        escalate_at: Set(policy
            .escalate_after_secs
            .map(|s| stamp.now + chrono::TimeDelta::seconds(s))),
        escalated_at: Set(None),
    }
    .insert(conn)
    .await?;
    let signal = events::append_unnotified(
        conn,
        stamp,
        NewEvent {
            kind: kind::APPROVAL_CREATED,
            workflow_id: Some(wf.id),
            approval_id: Some(model.id),
            chain_id: Some(wf.chain_id),
            payload: json!({
                "type": wf.workflow_type,
                "artifact_type": model.artifact_type,
                "artifact_id": model.artifact_id,
                "artifact_version": model.artifact_version,
                "score": model.score,
                "policy": policy_json,
                "expires_at": model.expires_at,
            }),
        },
    )
    .await?;
    Ok((model, signal))
}

async fn effective_policy(
    conn: &impl ConnectionTrait,
    workflow_type: &str,
) -> Result<policies::StoredPolicy, DbErr> {
    policies::effective(conn, workflow_type)
        .await
        .map_err(|e| DbErr::Custom(format!("reading the approval policy: {e:?}")))
}

/// A reviewer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    fn status(self) -> ApprovalStatus {
        match self {
            Decision::Approve => ApprovalStatus::Approved,
            Decision::Reject => ApprovalStatus::Rejected,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }

    fn vote(self) -> VoteDecision {
        match self {
            Decision::Approve => VoteDecision::Approve,
            Decision::Reject => VoteDecision::Reject,
        }
    }
}

/// What a reviewer sends.
#[derive(Debug, Clone)]
pub struct Ballot {
    pub decision: Decision,
    /// The artifact version the reviewer read (`Approval.artifactVersion`).
    pub version: i32,
    pub feedback: Option<String>,
    /// A JSON merge patch of the artifact's content (approve only).
    pub edits: Option<Value>,
}

/// The outcome of a vote: the approval as it is now, the vote recorded,
/// whether this vote decided it, and the workflow the decision started.
#[derive(Debug, Clone)]
pub struct Decided {
    pub approval: approval::Model,
    pub vote: vote::Model,
    pub decided: bool,
    pub next_workflow: Option<workflow::Model>,
    pub signals: Vec<Signal>,
}

/// Records `principal`'s vote on a pending approval and, when it is the
/// deciding one, decides the approval and starts what follows, all in one
/// transaction.
pub async fn vote(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
    principal: &Principal,
    id: Uuid,
    ballot: Ballot,
) -> AppResult<Decided> {
    principal.require(Permission::Review)?;
    let feedback = ballot
        .feedback
        .as_ref()
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    if feedback.as_ref().is_some_and(|f| f.len() > MAX_FEEDBACK) {
        return Err(AppError::bad_input(
            "feedback",
            "feedback is longer than 20,000 characters",
        ));
    }
    if ballot.edits.is_some() && ballot.decision == Decision::Reject {
        return Err(AppError::bad_input(
            "edits",
            "only an approval can carry edits",
        ));
    }
    let txn = db.begin().await?;
    let Some(mut approval) = lock(&txn, id).await? else {
        txn.rollback().await?;
        return Err(AppError::NotFound(format!("no approval with id {id}")));
    };
    let policy = Policy::from_json(approval.policy.as_ref());
    if let Some(why) = policy.refusal(principal, &approval.started_by) {
        txn.rollback().await?;
        return Err(AppError::Forbidden(format!(
            "you may not decide approval {id}: {why}"
        )));
    }
    if let Some(conflict) = moved_on(&approval, stamp.now) {
        txn.rollback().await?;
        return Err(conflict);
    }
    if ballot.version != approval.artifact_version {
        txn.rollback().await?;
        return Err(AppError::StateConflict {
            message: format!(
                "you decided on version {} but the artifact is at version {} now; read it again \
                 and decide on that; nothing was changed",
                ballot.version, approval.artifact_version
            ),
            current_version: Some(approval.artifact_version),
            decided_by: None,
            decided_at: None,
        });
    }
    // Every vote so far, in the order they took this lock.
    let cast = vote::Entity::find()
        .filter(vote::Column::ApprovalId.eq(id))
        .order_by_asc(vote::Column::CreatedAt)
        .order_by_asc(vote::Column::Id)
        .all(&txn)
        .await?;
    if let Some(earlier) = cast
        .iter()
        .find(|v| v.reviewer == principal.id && v.artifact_version == approval.artifact_version)
    {
        txn.rollback().await?;
        return Err(AppError::StateConflict {
            message: format!(
                "you already voted ({}) on version {} of approval {id}; nothing was changed",
                decision_word(earlier.decision),
                earlier.artifact_version
            ),
            current_version: Some(approval.artifact_version),
            decided_by: None,
            decided_at: None,
        });
    }

    // A request is stamped when it arrives but takes the row lock when it
    // can: a vote that waited behind a later-stamped one is recorded no
    // earlier than it, so the trail lists votes in the order they counted
    // and no vote is dated after the decision it preceded.
    let restamped = match cast.last() {
        Some(last) if last.created_at > stamp.now => Stamp {
            now: last.created_at,
            ..stamp.clone()
        },
        _ => stamp.clone(),
    };
    let stamp = &restamped;

    let mut signals = Vec::new();
    if let Some(edits) = &ballot.edits {
        match apply_edits(&txn, catalog, stamp, &approval, edits).await {
            Ok(Some((updated, signal))) => {
                approval = updated;
                signals.push(signal);
            }
            Ok(None) => {}
            Err(e) => {
                txn.rollback().await?;
                return Err(e);
            }
        }
    }

    let inserted = vote::ActiveModel {
        id: Set(Uuid::now_v7()),
        approval_id: Set(id),
        reviewer: Set(principal.id.clone()),
        reviewer_role: Set(principal.role.unwrap_or(super::principal::Role::Viewer)),
        decision: Set(ballot.decision.vote()),
        feedback: Set(feedback.clone()),
        artifact_version: Set(approval.artifact_version),
        created_at: Set(stamp.now),
    }
    .insert(&txn)
    .await;
    let vote = match inserted {
        Ok(v) => v,
        Err(e) if is_unique_violation(&e) => {
            txn.rollback().await?;
            return Err(AppError::Conflict(format!(
                "you already voted on version {} of approval {id}; nothing was changed",
                approval.artifact_version
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let approving = approving_votes(&txn, &approval).await?;
    signals.push(
        events::append(
            &txn,
            stamp,
            NewEvent {
                kind: APPROVAL_VOTED,
                workflow_id: Some(approval.workflow_id),
                approval_id: Some(id),
                chain_id: Some(approval.chain_id),
                payload: json!({
                    "decision": decision_word(vote.decision),
                    "feedback": vote.feedback,
                    "artifact_version": vote.artifact_version,
                    "approvals": approving.len(),
                    "required_approvals": policy.required_approvals,
                }),
            },
        )
        .await?,
    );

    let decides = match ballot.decision {
        Decision::Reject => true,
        Decision::Approve => approving.len() as u32 >= policy.required_approvals,
    };
    if !decides {
        txn.commit().await?;
        return Ok(Decided {
            approval,
            vote,
            decided: false,
            next_workflow: None,
            signals,
        });
    }
    // With several approvers, the next workflow hears all of them.
    let feedback = match ballot.decision {
        Decision::Reject => feedback,
        Decision::Approve => combined_feedback(&approving),
    };
    let (approval, next_workflow, mut more) =
        decide_locked(&txn, catalog, stamp, approval, ballot.decision, feedback).await?;
    signals.append(&mut more);
    txn.commit().await?;
    Ok(Decided {
        approval,
        vote,
        decided: true,
        next_workflow,
        signals,
    })
}

/// Reads the approval, holding its row lock until the transaction ends on
/// PostgreSQL (SQLite has one writer, which is the same guarantee).
async fn lock(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<approval::Model>, DbErr> {
    let q = approval::Entity::find_by_id(id);
    if txn.get_database_backend() == DbBackend::Postgres {
        q.lock_exclusive().one(txn).await
    } else {
        q.one(txn).await
    }
}

/// The `CONFLICT` for an approval that can no longer be decided.
fn moved_on(a: &approval::Model, now: DateTime<Utc>) -> Option<AppError> {
    if a.status == ApprovalStatus::Pending {
        let expired = a.expires_at.is_some_and(|e| e <= now);
        return expired.then(|| AppError::StateConflict {
            message: format!(
                "approval {} expired at {}; nothing was started",
                a.id,
                a.expires_at.unwrap_or(now).to_rfc3339()
            ),
            current_version: Some(a.artifact_version),
            decided_by: None,
            decided_at: a.expires_at,
        });
    }
    Some(AppError::StateConflict {
        message: format!(
            "approval {} was already {} by {} at {}; nothing was started",
            a.id,
            status_word(a.status),
            a.decided_by.as_deref().unwrap_or("the system"),
            a.decided_at
                .map_or_else(|| "an earlier time".to_string(), |t| t.to_rfc3339()),
        ),
        current_version: Some(a.artifact_version),
        decided_by: Some(a.decided_by.clone().unwrap_or_else(|| "system".into())),
        decided_at: a.decided_at,
    })
}

/// Approving votes on the approval's current version, oldest first.
async fn approving_votes(
    conn: &impl ConnectionTrait,
    a: &approval::Model,
) -> Result<Vec<vote::Model>, DbErr> {
    vote::Entity::find()
        .filter(vote::Column::ApprovalId.eq(a.id))
        .filter(vote::Column::Decision.eq(VoteDecision::Approve))
        .filter(vote::Column::ArtifactVersion.eq(a.artifact_version))
        .order_by_asc(vote::Column::CreatedAt)
        .order_by_asc(vote::Column::Id)
        .all(conn)
        .await
}

fn combined_feedback(votes: &[vote::Model]) -> Option<String> {
    let given: Vec<&vote::Model> = votes.iter().filter(|v| v.feedback.is_some()).collect();
    match given.as_slice() {
        [] => None,
        [one] => one.feedback.clone(),
        many => Some(
            many.iter()
                .map(|v| format!("{}: {}", v.reviewer, v.feedback.as_deref().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("\n\n"),
        ),
    }
}

/// Applies a reviewer's merge patch: checks it touches only editable
/// fields and that the result satisfies the type's artifact schema, stores
/// the new version and points the approval at it. `None` when the patch
/// changes nothing.
async fn apply_edits(
    txn: &DatabaseTransaction,
    catalog: &Catalog,
    stamp: &Stamp,
    approval: &approval::Model,
    edits: &Value,
) -> AppResult<Option<(approval::Model, Signal)>> {
    let Some(artifact_id) = approval.artifact_id else {
        return Err(AppError::bad_input(
            "edits",
            "this approval has no artifact to edit",
        ));
    };
    let wf = workflows::find(txn, approval.workflow_id).await?;
    let Some(rules) = catalog.of(txn, &wf).await?.and_then(|t| t.edits.clone()) else {
        return Err(AppError::bad_input(
            "edits",
            format!("{} artifacts cannot be edited", approval.artifact_type),
        ));
    };
    let Some(patch) = edits.as_object() else {
        return Err(AppError::bad_input(
            "edits",
            "edits must be a JSON object (a merge patch of the artifact's content)",
        ));
    };
    if patch.is_empty() {
        return Ok(None);
    }
    if let Some(fields) = &rules.fields
        && let Some(k) = patch.keys().find(|k| !fields.contains(k))
    {
        return Err(AppError::bad_input(
            format!("edits.{k}"),
            format!(
                "edits.{k}: only {} can be edited in a {} artifact",
                fields.join(", "),
                approval.artifact_type
            ),
        ));
    }
    let parent = artifacts::find(txn, artifact_id).await?;
    let content = artifacts::merge_patch(&parent.content, edits);
    if content == parent.content {
        return Ok(None);
    }
    if let Some(v) = crate::jsonschema::validate(&rules.schema, &content)
        .into_iter()
        .next()
    {
        let field = if v.path.is_empty() {
            "edits".to_string()
        } else {
            format!("edits.{}", v.path)
        };
        return Err(AppError::BadInput {
            message: format!("{field}: {}", v.message),
            field: Some(field),
        });
    }
    let edited = artifacts::insert_edit(txn, stamp, &parent, content).await?;
    // What the reviewer sees changes with the content.
    let artifact_data = artifacts::merge_patch(&approval.artifact_data, edits);
    let updated = approval::ActiveModel {
        id: Set(approval.id),
        artifact_id: Set(Some(edited.id)),
        artifact_version: Set(edited.version),
        artifact_data: Set(artifact_data),
        ..Default::default()
    }
    .update(txn)
    .await?;
    let signal = events::append(
        txn,
        stamp,
        NewEvent {
            kind: ARTIFACT_EDITED,
            workflow_id: Some(approval.workflow_id),
            approval_id: Some(approval.id),
            chain_id: Some(approval.chain_id),
            payload: json!({
                "artifact_id": edited.id,
                "artifact_version": edited.version,
                "parent_id": parent.id,
                "parent_version": parent.version,
                "sha256": edited.sha256,
                "edits": edits,
            }),
        },
    )
    .await?;
    Ok(Some((updated, signal)))
}

/// Moves a locked, pending approval to its decided state and starts what
/// follows, in the caller's transaction.
async fn decide_locked(
    txn: &DatabaseTransaction,
    catalog: &Catalog,
    stamp: &Stamp,
    approval: approval::Model,
    decision: Decision,
    feedback: Option<String>,
) -> AppResult<(approval::Model, Option<workflow::Model>, Vec<Signal>)> {
    let id = approval.id;
    // The guard `status = 'pending'` keeps the invariant even for a caller
    // that did not lock the row.
    let decided = approval::Entity::update_many()
        .col_expr(approval::Column::Status, Expr::value(decision.status()))
        .col_expr(
            approval::Column::DecidedBy,
            Expr::value(stamp.actor.clone()),
        )
        .col_expr(approval::Column::Feedback, Expr::value(feedback.clone()))
        .col_expr(approval::Column::DecidedAt, Expr::value(stamp.now))
        .filter(approval::Column::Id.eq(id))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .exec_with_returning(txn)
        .await?;
    let Some(mut approval) = decided.into_iter().next() else {
        return Err(AppError::Conflict(format!(
            "approval {id} was decided by someone else first; nothing was started"
        )));
    };
    let follow_up = match decision {
        Decision::Approve => approval
            .next_workflow_type
            .clone()
            .map(|t| (t, approval.next_workflow_input.clone())),
        Decision::Reject if approval.reject_requires_feedback && feedback.is_none() => None,
        Decision::Reject => approval
            .reject_workflow_type
            .clone()
            .map(|t| (t, approval.reject_workflow_input.clone())),
    };
    let mut signals = Vec::new();
    let mut next_workflow = None;
    if let Some((workflow_type, base)) = follow_up {
        let artifact = match approval.artifact_id {
            Some(artifact_id) => Some(artifacts::find(txn, artifact_id).await?),
            None => None,
        };
        let mut input = next_input(
            &base.unwrap_or(Value::Null),
            &DecisionFacts {
                approval_id: approval.id,
                approved: decision == Decision::Approve,
                feedback: feedback.clone(),
                artifact: artifact
                    .as_ref()
                    .map(|a| (a.id, a.version, artifacts::sha256_of(a))),
            },
        );
        if let (Some(artifact), Some(Value::Object(bindings)), Value::Object(map)) =
            (&artifact, &approval.artifact_bindings, &mut input)
            && decision == Decision::Approve
        {
            for (key, pointer) in bindings {
                if let Some(v) = pointer.as_str().and_then(|p| artifact.content.pointer(p)) {
                    map.insert(key.clone(), v.clone());
                }
            }
        }
        // What starts next is checked against its type now: a refusal
        // leaves the approval pending instead of failing later in a worker.
        let Some(next) = catalog.get(txn, &workflow_type).await? else {
            return Err(AppError::Conflict(format!(
                "approval {id} would start workflow type '{workflow_type}', which no longer \
                 exists; nothing was decided"
            )));
        };
        if let Some((field, message)) = catalog.invalid_input(txn, &next, &input).await? {
            return Err(AppError::Conflict(format!(
                "approval {id} would start {workflow_type} with an input its schema refuses \
                 ({field}: {message}); nothing was decided. Edit the artifact or fix the type's \
                 declaration"
            )));
        }
        let new = NewWorkflow {
            workflow_type,
            type_version: (!next.builtin).then_some(next.version),
            input,
            idempotency_key: None,
            chain_id: Some(approval.chain_id),
            triggered_by_approval_id: Some(approval.id),
            max_attempts: next.max_attempts,
            parent_id: None,
        };
        let (w, signal) = match workflows::insert(txn, stamp, new).await {
            Ok(ok) => ok,
            Err(e) if is_unique_violation(&e) => {
                return Err(AppError::Conflict(format!(
                    "approval {id} already started its next workflow; nothing was changed"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        approval = approval::ActiveModel {
            id: Set(approval.id),
            next_workflow_id: Set(Some(w.id)),
            ..Default::default()
        }
        .update(txn)
        .await?;
        signals.push(signal);
        next_workflow = Some(w);
    }
    let decided = events::append(
        txn,
        stamp,
        NewEvent {
            kind: kind::APPROVAL_DECIDED,
            workflow_id: Some(approval.workflow_id),
            approval_id: Some(approval.id),
            chain_id: Some(approval.chain_id),
            payload: json!({
                "decision": decision.word(),
                "feedback": feedback,
                "artifact_version": approval.artifact_version,
                "next_workflow_id": next_workflow.as_ref().map(|w| w.id),
            }),
        },
    )
    .await?;
    signals.insert(0, decided);
    Ok((approval, next_workflow, signals))
}

/// `approve` or `reject`.
pub fn decision_word(d: VoteDecision) -> &'static str {
    match d {
        VoteDecision::Approve => "approve",
        VoteDecision::Reject => "reject",
    }
}

/// The votes cast on an approval, oldest first.
pub async fn votes(conn: &impl ConnectionTrait, approval_id: Uuid) -> AppResult<Vec<vote::Model>> {
    Ok(vote::Entity::find()
        .filter(vote::Column::ApprovalId.eq(approval_id))
        .order_by_asc(vote::Column::CreatedAt)
        .order_by_asc(vote::Column::Id)
        .all(conn)
        .await?)
}

/// Approving votes on the current version: the "1" of "1 of 2".
pub async fn approvals_count(conn: &impl ConnectionTrait, a: &approval::Model) -> AppResult<usize> {
    Ok(approving_votes(conn, a).await?.len())
}

pub fn status_word(s: ApprovalStatus) -> &'static str {
    match s {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Rejected => "rejected",
        ApprovalStatus::Expired => "expired",
        ApprovalStatus::Cancelled => "cancelled",
    }
}

/// Reminds and escalates pending approvals whose time has come, each step
/// once: the guarded UPDATE (`reminded_at IS NULL`) and its event commit
/// together, so several processes sweeping at once do it once between them.
/// The events queue their notifications (see `outbox`).
pub async fn remind_and_escalate_due(
    db: &DatabaseConnection,
    stamp: &Stamp,
) -> AppResult<Vec<Signal>> {
    let mut signals = Vec::new();
    for (due_col, done_col, kind) in [
        (
            approval::Column::RemindAt,
            approval::Column::RemindedAt,
            APPROVAL_REMINDED,
        ),
        (
            approval::Column::EscalateAt,
            approval::Column::EscalatedAt,
            APPROVAL_ESCALATED,
        ),
    ] {
        let due: Vec<approval::Model> = approval::Entity::find()
            .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
            .filter(due_col.is_not_null())
            .filter(due_col.lte(stamp.now))
            .filter(done_col.is_null())
            .limit(100)
            .all(db)
            .await?;
        for a in due {
            let txn = db.begin().await?;
            let res = approval::Entity::update_many()
                .col_expr(done_col, Expr::value(stamp.now))
                .filter(approval::Column::Id.eq(a.id))
                .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
                .filter(done_col.is_null())
                .exec(&txn)
                .await?;
            if res.rows_affected == 1 {
                let policy = Policy::from_json(a.policy.as_ref());
                signals.push(
                    events::append(
                        &txn,
                        stamp,
                        NewEvent {
                            kind,
                            workflow_id: Some(a.workflow_id),
                            approval_id: Some(a.id),
                            chain_id: Some(a.chain_id),
                            payload: json!({
                                "artifact_type": a.artifact_type,
                                "artifact_version": a.artifact_version,
                                "score": a.score,
                                "expires_at": a.expires_at,
                                "escalate_to": (kind == APPROVAL_ESCALATED).then_some(&policy.escalate_to),
                            }),
                        },
                    )
                    .await?,
                );
            }
            txn.commit().await?;
        }
    }
    Ok(signals)
}

/// Settles pending approvals whose `expires_at` has passed, as each one's
/// policy says: `expired`; `rejected` with the policy's reason; or
/// `expired` and the policy's follow-up workflow started (once: the same
/// unique constraint as a decision's next workflow).
pub async fn expire_due(
    db: &DatabaseConnection,
    catalog: &Catalog,
    stamp: &Stamp,
) -> AppResult<Vec<Signal>> {
    let due: Vec<approval::Model> = approval::Entity::find()
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .filter(approval::Column::ExpiresAt.is_not_null())
        .filter(approval::Column::ExpiresAt.lte(stamp.now))
        .limit(100)
        .all(db)
        .await?;
    let mut signals = Vec::new();
    for a in due {
        let policy = Policy::from_json(a.policy.as_ref());
        let on_expiry = policy.on_expiry;
        let (status, feedback) = match on_expiry.action {
            ExpiryAction::Reject => (
                ApprovalStatus::Rejected,
                Some(
                    on_expiry
                        .reason
                        .clone()
                        .unwrap_or_else(|| "expired before anyone decided".into()),
                ),
            ),
            ExpiryAction::Expire | ExpiryAction::StartWorkflow => {
                (ApprovalStatus::Expired, on_expiry.reason.clone())
            }
        };
        let txn = db.begin().await?;
        let res = approval::Entity::update_many()
            .col_expr(approval::Column::Status, Expr::value(status))
            .col_expr(approval::Column::DecidedAt, Expr::value(stamp.now))
            .col_expr(approval::Column::Feedback, Expr::value(feedback.clone()))
            .filter(approval::Column::Id.eq(a.id))
            .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            let mut next_id = None;
            if on_expiry.action == ExpiryAction::StartWorkflow
                && let Some(t) = on_expiry.workflow_type.clone()
            {
                let input = policies::expiry_input(
                    a.id,
                    a.artifact_id,
                    a.artifact_version,
                    feedback.clone(),
                );
                let next = catalog.get(&txn, &t).await?;
                let problem = match &next {
                    None => Some(format!("workflow type '{t}' does not exist")),
                    Some(w) => catalog
                        .invalid_input(&txn, w, &input)
                        .await?
                        .map(|(f, m)| format!("{t} refuses the expiry's input: {f}: {m}")),
                };
                if let Some(problem) = problem {
                    // The policy was valid when set; the type changed since.
                    tracing::warn!(approval_id = %a.id, %problem, "expiry follow-up not started");
                } else if let Some(next) = next {
                    let (w, signal) = workflows::insert(
                        &txn,
                        stamp,
                        NewWorkflow {
                            workflow_type: t,
                            type_version: (!next.builtin).then_some(next.version),
                            input,
                            idempotency_key: None,
                            chain_id: Some(a.chain_id),
                            triggered_by_approval_id: Some(a.id),
                            max_attempts: next.max_attempts,
                            parent_id: None,
                        },
                    )
                    .await?;
                    approval::ActiveModel {
                        id: Set(a.id),
                        next_workflow_id: Set(Some(w.id)),
                        ..Default::default()
                    }
                    .update(&txn)
                    .await?;
                    next_id = Some(w.id);
                    signals.push(signal);
                }
            }
            signals.push(
                events::append(
                    &txn,
                    stamp,
                    NewEvent {
                        kind: kind::APPROVAL_EXPIRED,
                        workflow_id: Some(a.workflow_id),
                        approval_id: Some(a.id),
                        chain_id: Some(a.chain_id),
                        payload: json!({
                            "outcome": status_word(status),
                            "reason": feedback,
                            "next_workflow_id": next_id,
                        }),
                    },
                )
                .await?,
            );
        }
        txn.commit().await?;
    }
    Ok(signals)
}

pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<approval::Model>> {
    Ok(approval::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<approval::Model> {
    get(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no approval with id {id}")))
}

pub async fn for_workflow(
    conn: &impl ConnectionTrait,
    workflow_id: Uuid,
) -> AppResult<Option<approval::Model>> {
    Ok(approval::Entity::find()
        .filter(approval::Column::WorkflowId.eq(workflow_id))
        .one(conn)
        .await?)
}

/// The approvals of `ids` that exist, in no particular order.
pub async fn get_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<approval::Model>> {
    Ok(super::in_chunks(conn, ids, |chunk| {
        approval::Entity::find().filter(approval::Column::Id.is_in(chunk.iter().copied()))
    })
    .await?)
}

/// The approvals asked for by the workflows of `workflow_ids` (at most one
/// each).
pub async fn for_workflows(
    conn: &impl ConnectionTrait,
    workflow_ids: &[Uuid],
) -> AppResult<Vec<approval::Model>> {
    Ok(super::in_chunks(conn, workflow_ids, |chunk| {
        approval::Entity::find().filter(approval::Column::WorkflowId.is_in(chunk.iter().copied()))
    })
    .await?)
}

/// Every vote on the approvals of `approval_ids`, oldest first (as
/// [`votes`] for each).
pub async fn votes_for(
    conn: &impl ConnectionTrait,
    approval_ids: &[Uuid],
) -> AppResult<Vec<vote::Model>> {
    Ok(super::in_chunks(conn, approval_ids, |chunk| {
        vote::Entity::find()
            .filter(vote::Column::ApprovalId.is_in(chunk.iter().copied()))
            .order_by_asc(vote::Column::CreatedAt)
            .order_by_asc(vote::Column::Id)
    })
    .await?)
}

/// Approving votes on the approval's current version, from all its votes:
/// what [`approvals_count`] counts, for callers that already hold them.
pub fn approving(a: &approval::Model, votes: &[vote::Model]) -> usize {
    votes
        .iter()
        .filter(|v| v.decision == VoteDecision::Approve && v.artifact_version == a.artifact_version)
        .count()
}

/// Which approvals a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ApprovalFilter {
    pub status: Option<ApprovalStatus>,
    pub artifact_type: Option<String>,
    pub workflow_id: Option<Uuid>,
    pub chain_id: Option<Uuid>,
}

pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ApprovalFilter,
    page: &PageRequest,
) -> AppResult<Page<approval::Model>> {
    let mut q = approval::Entity::find();
    if let Some(s) = filter.status {
        q = q.filter(approval::Column::Status.eq(s));
    }
    if let Some(t) = &filter.artifact_type {
        q = q.filter(approval::Column::ArtifactType.eq(t.as_str()));
    }
    if let Some(w) = filter.workflow_id {
        q = q.filter(approval::Column::WorkflowId.eq(w));
    }
    if let Some(c) = filter.chain_id {
        q = q.filter(approval::Column::ChainId.eq(c));
    }
    if let Some(cond) = page.after_condition(approval::Column::CreatedAt, approval::Column::Id) {
        q = q.filter(cond);
    }
    q = match page.order {
        Order::OldestFirst => q
            .order_by_asc(approval::Column::CreatedAt)
            .order_by_asc(approval::Column::Id),
        Order::NewestFirst => q
            .order_by_desc(approval::Column::CreatedAt)
            .order_by_desc(approval::Column::Id),
    };
    let rows = q.limit(page.first + 1).all(conn).await?;
    Ok(Page::from_rows(rows, page, |a| Cursor {
        created_at: a.created_at,
        id: a.id,
    }))
}

/// Pending approvals per artifact type, most first (the queue's filter and
/// its counts).
pub async fn pending_counts(conn: &impl ConnectionTrait) -> AppResult<Vec<(String, i64)>> {
    use sea_orm::sea_query::Expr as E;
    let rows: Vec<(String, i64)> = approval::Entity::find()
        .select_only()
        .column(approval::Column::ArtifactType)
        .column_as(E::col(approval::Column::Id).count(), "n")
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .group_by(approval::Column::ArtifactType)
        .into_tuple()
        .all(conn)
        .await?;
    let mut rows = rows;
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}
