//! `attempt <= max_attempts` under lost leases: a run whose worker stops
//! renewing its lease on the last allowed attempt is failed in place, not
//! claimed once more, and its failure is one event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use baton::app::{Overrides, build_state};
use baton::clock::{Clock, ManualClock};
use baton::domain::events::kind;
use baton::domain::runs::{self, Change, FinishError};
use baton::domain::{Principal, workflows};
use baton::engine::Outcome;
use baton::state::AppState;
use baton_e2e::app::test_config;
use baton_e2e::{TestDb, both_backends};
use entity::event;
use entity::workflow::{self, WorkflowStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

struct Rig {
    _db: TestDb,
    state: AppState,
    clock: Arc<ManualClock>,
    lease: Duration,
    types: Vec<String>,
}

async fn rig(backend: baton_e2e::Backend) -> Rig {
    let db = TestDb::create(backend).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut config = test_config(&db.url);
    // No background workers: the test is the only claimer.
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
    let types = state.registry.names();
    Rig {
        _db: db,
        state,
        clock,
        lease,
        types,
    }
}

impl Rig {
    async fn insert(&self, max_attempts: i32) -> Uuid {
        let stamp = self.state.stamp(&Principal::cli());
        let (w, _) = workflows::insert(
            &self.state.db,
            &stamp,
            workflows::NewWorkflow {
                workflow_type: "generate_draft".into(),
                type_version: None,
                input: json!({ "prompt": "p" }),
                idempotency_key: None,
                chain_id: None,
                triggered_by_approval_id: None,
                max_attempts,
                parent_id: None,
            },
        )
        .await
        .unwrap();
        w.id
    }

    async fn claim(
        &self,
        owner: &str,
    ) -> (Vec<workflow::Model>, Vec<baton::domain::events::Signal>) {
        let stamp = self.state.stamp(&Principal::system());
        runs::claim_runnable(&self.state.db, &stamp, owner, &self.types, self.lease, 10)
            .await
            .unwrap()
    }

    /// The worker holding the lease stops renewing it: time passes it.
    fn expire_lease(&self) {
        self.clock.advance(
            chrono::TimeDelta::from_std(self.lease).unwrap() + chrono::TimeDelta::seconds(1),
        );
    }

    async fn row(&self, id: Uuid) -> workflow::Model {
        workflow::Entity::find_by_id(id)
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
    }

    async fn event_kinds(&self, id: Uuid) -> Vec<String> {
        event::Entity::find()
            .filter(event::Column::WorkflowId.eq(id))
            .order_by_asc(event::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

fn failed_count(kinds: &[String]) -> usize {
    kinds.iter().filter(|k| *k == kind::WORKFLOW_FAILED).count()
}

both_backends! {
    async fn a_lease_lost_on_the_only_attempt_fails_the_workflow_as_attempt_one_of_one(backend: Backend) {
        let rig = rig(backend).await;
        let id = rig.insert(1).await;
        let (a, _) = rig.claim("worker-a").await;
        assert_eq!(a.len(), 1);
        let a = a.into_iter().next().unwrap();
        assert_eq!((a.id, a.attempt, a.max_attempts), (id, 1, 1));

        // The worker dies; its lease expires; two workers race to reclaim.
        rig.expire_lease();
        let (b, c) = tokio::join!(rig.claim("worker-b"), rig.claim("worker-c"));
        assert!(b.0.is_empty() && c.0.is_empty(), "nothing is run again: {b:?} {c:?}");
        let failed: Vec<_> = b.1.iter().chain(c.1.iter()).collect();
        assert_eq!(failed.len(), 1, "one failure signal between both reapers: {failed:?}");
        assert_eq!(failed[0].kind, kind::WORKFLOW_FAILED);

        let row = rig.row(id).await;
        assert_eq!(row.status, WorkflowStatus::Failed);
        assert_eq!((row.attempt, row.max_attempts), (1, 1));
        let error = row.error.clone().unwrap_or_default();
        assert!(error.contains("lease expired on its last attempt"), "{error}");
        assert!(row.lease_owner.is_none() && row.lease_expires_at.is_none());
        assert!(row.completed_at.is_some());
        assert_eq!(failed_count(&rig.event_kinds(id).await), 1);

        // Later claims neither run nor fail it again.
        rig.expire_lease();
        let (again, signals) = rig.claim("worker-d").await;
        assert!(again.is_empty() && signals.is_empty());
        assert_eq!(failed_count(&rig.event_kinds(id).await), 1);

        // The dead worker's late result is refused.
        let system = rig.state.stamp(&Principal::system());
        let late = runs::complete(&rig.state.db, &system, Change::of_claim(&a), &a, Outcome::default(), None).await;
        assert!(matches!(late, Err(FinishError::Fenced)), "{late:?}");
        assert_eq!(rig.row(id).await.status, WorkflowStatus::Failed);
    }
}

both_backends! {
    async fn with_two_attempts_a_lost_lease_runs_attempt_two_and_never_a_third(backend: Backend) {
        let rig = rig(backend).await;
        let id = rig.insert(2).await;
        let (first, _) = rig.claim("worker-a").await;
        assert_eq!(first.iter().map(|r| r.attempt).collect::<Vec<_>>(), vec![1]);

        rig.expire_lease();
        let (second, signals) = rig.claim("worker-b").await;
        assert!(signals.is_empty(), "attempt one's loss is not a failure: {signals:?}");
        assert_eq!(second.len(), 1);
        assert_eq!((second[0].id, second[0].attempt), (id, 2));

        rig.expire_lease();
        let (third, signals) = rig.claim("worker-c").await;
        assert!(third.is_empty(), "no attempt 3: {third:?}");
        assert_eq!(signals.len(), 1);
        let row = rig.row(id).await;
        assert_eq!(row.status, WorkflowStatus::Failed);
        assert_eq!((row.attempt, row.max_attempts), (2, 2));
        assert!(row.error.unwrap_or_default().contains("lease expired on its last attempt"));
        assert_eq!(failed_count(&rig.event_kinds(id).await), 1);
    }
}

both_backends! {
    async fn a_worker_that_renews_in_time_keeps_its_last_attempt(backend: Backend) {
        let rig = rig(backend).await;
        let id = rig.insert(1).await;
        let (a, _) = rig.claim("worker-a").await;
        let a = a.into_iter().next().unwrap();
        // A slow but live worker renews just before others look again.
        rig.expire_lease();
        let until = rig.clock.now() + chrono::TimeDelta::from_std(rig.lease).unwrap();
        assert!(runs::renew(&rig.state.db, Change::of_claim(&a), rig.clock.now(), until).await.unwrap().is_some());
        let (none, signals) = rig.claim("worker-b").await;
        assert!(none.is_empty() && signals.is_empty());
        let row = rig.row(id).await;
        assert_eq!((row.status, row.attempt), (WorkflowStatus::Running, 1));
        let system = rig.state.stamp(&Principal::system());
        runs::complete(&rig.state.db, &system, Change::of_claim(&a), &a, Outcome::default(), None).await.unwrap();
        assert_eq!(rig.row(id).await.status, WorkflowStatus::Completed);
    }
}
