//! Batched completions (`runs::complete_many`, the workers' completer):
//! many finished runs stored in one transaction, each still fenced on its
//! own; a run its type's writes refuse, or one the database cannot store,
//! does not take the others down with it; a short attempt's model calls are
//! written in the transaction that stores it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use baton::app::{Overrides, build_state};
use baton::clock::{Clock, ManualClock};
use baton::domain::llm_calls::NewLlmCall;
use baton::domain::runs::{self, Change, Completion, CompletionWrites, FinishError, Stored};
use baton::domain::{Principal, Stamp, workflows};
use baton::engine::{ApprovalRequest, Outcome};
use baton::error::AppError;
use baton::state::AppState;
use baton_e2e::app::test_config;
use baton_e2e::{Backend, TestApp, TestDb, both_backends};
use entity::workflow::{self, WorkflowStatus};
use entity::{approval, event, llm_call};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// A state with no workers of its own (the test claims and stores by
/// hand) on a manual clock, and `n` pending drafts claimed by `worker-a`.
async fn claimed(
    backend: Backend,
    n: usize,
) -> (TestDb, AppState, Arc<ManualClock>, Vec<workflow::Model>) {
    let db = TestDb::create(backend).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut config = test_config(&db.url);
    config.engine.workers = 0;
    let lease = config.engine.lease;
    let state = build_state(
        config,
        Overrides {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let stamp = state.stamp(&Principal::cli());
    for i in 0..n {
        workflows::insert(
            &state.db,
            &stamp,
            workflows::NewWorkflow {
                workflow_type: "generate_draft".into(),
                type_version: None,
                input: json!({ "prompt": format!("brief {i}") }),
                idempotency_key: None,
                chain_id: None,
                triggered_by_approval_id: None,
                max_attempts: 3,
                parent_id: None,
            },
        )
        .await
        .unwrap();
    }
    let types = state.registry.names();
    let mut rows = runs::claim(&state.db, "worker-a", &types, clock.now(), lease, n as u64)
        .await
        .unwrap();
    assert_eq!(rows.len(), n);
    rows.sort_by_key(|r| r.id);
    (db, state, clock, rows)
}

fn outcome(i: usize) -> Outcome {
    Outcome {
        output: json!({ "n": i }),
        artifact: Some(baton::engine::NewArtifact {
            kind: "draft".into(),
            content: json!({ "text": format!("draft {i}") }),
            parent_id: None,
        }),
        approval: Some(ApprovalRequest::default()),
    }
}

fn calls(claim: &workflow::Model, n: usize) -> Vec<NewLlmCall> {
    (0..n)
        .map(|k| NewLlmCall {
            workflow_id: Some(claim.id),
            attempt: claim.attempt,
            purpose: format!("call {k}"),
            provider: "test".into(),
            model: "offline".into(),
            prompt_tokens: 10,
            completion_tokens: 20,
            latency_ms: 1,
            error: None,
            at: chrono::Utc::now(),
        })
        .collect()
}

fn item<'a>(
    claim: &workflow::Model,
    i: usize,
    writes: Option<&'a dyn CompletionWrites>,
) -> Completion<'a> {
    Completion {
        change: Change::of_claim(claim),
        claim: claim.clone(),
        outcome: outcome(i),
        writes,
        calls: calls(claim, 2),
    }
}

async fn status(state: &AppState, id: Uuid) -> WorkflowStatus {
    workflow::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn count_for(state: &AppState, id: Uuid) -> (u64, u64, u64) {
    let approvals = approval::Entity::find()
        .filter(approval::Column::WorkflowId.eq(id))
        .count(&state.db)
        .await
        .unwrap();
    let completed = event::Entity::find()
        .filter(event::Column::WorkflowId.eq(id))
        .filter(event::Column::Kind.eq("workflow.completed"))
        .count(&state.db)
        .await
        .unwrap();
    let calls = llm_call::Entity::find()
        .filter(llm_call::Column::WorkflowId.eq(id))
        .count(&state.db)
        .await
        .unwrap();
    (approvals, completed, calls)
}

/// PostgreSQL: how many transactions wrote the current versions of these
/// workflow rows and their model calls (`xmin`).
async fn writing_transactions(state: &AppState, ids: &[Uuid]) -> i64 {
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let row = state
        .db
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT count(DISTINCT x) AS n FROM (
                   SELECT xmin::text AS x FROM workflows WHERE id IN ({list})
                   UNION ALL SELECT xmin::text FROM llm_calls WHERE workflow_id IN ({list})) t"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

fn ok(s: &Stored) -> bool {
    s.result.is_ok() && s.unwritten_calls.is_empty()
}

both_backends! {
    async fn a_batch_stores_each_run_once_and_leaves_out_a_fenced_one(backend: Backend) {
        let (_db, state, clock, rows) = claimed(backend, 3).await;
        let lease = state.config.engine.lease;
        // Worker A stalls past its lease on the middle run; worker B takes
        // it with a new fence.
        clock.advance(chrono::TimeDelta::from_std(lease).unwrap() + chrono::TimeDelta::seconds(1));
        for r in [&rows[0], &rows[2]] {
            let until = clock.now() + chrono::TimeDelta::from_std(lease).unwrap();
            assert!(runs::renew(&state.db, Change::of_claim(r), clock.now(), until).await.unwrap().is_some());
        }
        let types = state.registry.names();
        let b = runs::claim(&state.db, "worker-b", &types, clock.now(), lease, 10).await.unwrap();
        assert_eq!(b.iter().map(|r| r.id).collect::<Vec<_>>(), vec![rows[1].id]);

        let stamp = state.stamp(&Principal::system());
        let items = rows.iter().enumerate().map(|(i, r)| item(r, i, None)).collect();
        let stored = runs::complete_many(&state.db, &stamp, items).await;
        assert_eq!(stored.len(), 3);
        assert!(ok(&stored[0]) && ok(&stored[2]));
        assert!(matches!(stored[1].result, Err(FinishError::Fenced)), "the lost claim is left out");
        // The fenced attempt's calls were made all the same: logged.
        assert!(stored[1].unwritten_calls.is_empty());

        for i in [0, 2] {
            assert_eq!(status(&state, rows[i].id).await, WorkflowStatus::Completed);
            assert_eq!(count_for(&state, rows[i].id).await, (1, 1, 2));
            let (done, signals) = stored[i].result.as_ref().unwrap();
            assert_eq!(done.output.as_ref().unwrap()["n"], json!(i));
            assert_eq!(signals[0].kind, "workflow.completed");
            assert!(signals.iter().any(|s| s.kind == "approval.created"));
        }
        // B's run is untouched: still running, nothing stored for it.
        assert_eq!(status(&state, rows[1].id).await, WorkflowStatus::Running);
        assert_eq!(count_for(&state, rows[1].id).await, (0, 0, 2));
        if backend == Backend::Postgres {
            assert_eq!(
                writing_transactions(&state, &[rows[0].id, rows[2].id]).await,
                1,
                "both runs and their calls commit in one transaction"
            );
        }

        // Storing A's results again changes nothing: every claim is spent.
        let again = rows.iter().enumerate().map(|(i, r)| Completion { calls: Vec::new(), ..item(r, i, None) }).collect();
        let again = runs::complete_many(&state.db, &stamp, again).await;
        assert!(again.iter().all(|s| matches!(s.result, Err(FinishError::Fenced))));
        assert_eq!(count_for(&state, rows[0].id).await, (1, 1, 2));
    }
}

/// A type's completion writes that refuse one run (a conflict) and fail on
/// another as if the database had refused the row.
struct Picky {
    refuse: Uuid,
    break_on: Option<Uuid>,
}

#[async_trait::async_trait]
impl CompletionWrites for Picky {
    async fn write(
        &self,
        _txn: &DatabaseTransaction,
        _stamp: &Stamp,
        workflow: &workflow::Model,
        _output: &Value,
    ) -> Result<Vec<baton::domain::events::Signal>, AppError> {
        if workflow.id == self.refuse {
            return Err(AppError::Conflict(
                "that config was deployed meanwhile".into(),
            ));
        }
        if Some(workflow.id) == self.break_on {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the row could not be written"
            )));
        }
        Ok(Vec::new())
    }
}

both_backends! {
    async fn a_refused_run_is_left_out_and_the_rest_of_its_batch_stored(backend: Backend) {
        let (_db, state, _clock, rows) = claimed(backend, 3).await;
        let picky = Picky { refuse: rows[1].id, break_on: None };
        let stamp = state.stamp(&Principal::system());
        let items = rows.iter().enumerate().map(|(i, r)| item(r, i, Some(&picky))).collect();
        let stored = runs::complete_many(&state.db, &stamp, items).await;
        assert!(ok(&stored[0]) && ok(&stored[2]));
        match &stored[1].result {
            Err(FinishError::Rejected(why)) => assert!(why.contains("deployed meanwhile"), "{why}"),
            other => panic!("expected a rejection, got {:?}", other.as_ref().map(|(w, _)| w.id)),
        }
        // Its calls were rolled back with the first try: handed back for
        // the failure the worker stores next.
        assert_eq!(stored[1].unwritten_calls.len(), 2);
        assert_eq!(status(&state, rows[1].id).await, WorkflowStatus::Running);
        assert_eq!(count_for(&state, rows[1].id).await, (0, 0, 0));
        for i in [0, 2] {
            assert_eq!(count_for(&state, rows[i].id).await, (1, 1, 2), "run {i} stored once");
        }

        // The worker stores the refusal as a failed attempt, with the calls.
        let failure = runs::Failure { message: "rejected", retryable: true, retry_base: Duration::from_secs(1) };
        let calls = stored.into_iter().nth(1).unwrap().unwritten_calls;
        runs::fail_recording(&state.db, &stamp, Change::of_claim(&rows[1]), &rows[1], failure, calls).await.unwrap();
        assert_eq!(status(&state, rows[1].id).await, WorkflowStatus::Pending);
        assert_eq!(count_for(&state, rows[1].id).await, (0, 0, 2));
    }
}

both_backends! {
    async fn a_run_the_database_cannot_store_does_not_hold_its_batch_back(backend: Backend) {
        let (_db, state, _clock, rows) = claimed(backend, 4).await;
        let picky = Picky { refuse: Uuid::nil(), break_on: Some(rows[2].id) };
        let stamp = state.stamp(&Principal::system());
        let items = rows.iter().enumerate().map(|(i, r)| item(r, i, Some(&picky))).collect();
        let stored = runs::complete_many(&state.db, &stamp, items).await;
        for i in [0, 1, 3] {
            assert!(ok(&stored[i]), "run {i} is stored on its own after the batch failed");
            assert_eq!(count_for(&state, rows[i].id).await, (1, 1, 2));
        }
        assert!(matches!(stored[2].result, Err(FinishError::Db(_))));
        assert_eq!(stored[2].unwritten_calls.len(), 2);
        // Left running: its lease expires and another attempt runs.
        assert_eq!(status(&state, rows[2].id).await, WorkflowStatus::Running);
        assert_eq!(count_for(&state, rows[2].id).await, (0, 0, 0));
    }
}

both_backends! {
    async fn a_short_attempt_writes_its_model_calls_with_its_completion(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let started = app.run_workflow("generate_draft", json!({ "prompt": "a harbour at dawn", "candidates": 2 }), false).await;
        let id = started["workflow"]["id"].as_str().unwrap().to_string();
        let done = app.wait_for_status(&id, &["COMPLETED"], Duration::from_secs(60)).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let wid: Uuid = id.parse().unwrap();
        let calls = llm_call::Entity::find()
            .filter(llm_call::Column::WorkflowId.eq(wid))
            .all(&app.state.db)
            .await
            .unwrap();
        // Two candidates, the merge and the judge: each call logged once,
        // with the attempt and the time it ended, not when it was written.
        assert_eq!(calls.len(), 4, "{:?}", calls.iter().map(|c| &c.purpose).collect::<Vec<_>>());
        assert!(calls.iter().all(|c| c.attempt == 1 && c.error.is_none()));
        let row = workflow::Entity::find_by_id(wid).one(&app.state.db).await.unwrap().unwrap();
        let completed_at = row.completed_at.unwrap();
        assert!(calls.iter().all(|c| c.created_at <= completed_at));
        if backend == Backend::Postgres {
            assert_eq!(writing_transactions(&app.state, &[wid]).await, 1, "the calls commit with the completion");
        }
    }
}
