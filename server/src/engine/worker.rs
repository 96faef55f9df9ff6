//! The worker loop: claim what is due (as many rows as there are free
//! slots), run each under a renewed lease, store the outcome, repeat. Idle
//! workers sleep until a commit wakes them or the poll interval passes.
//!
//! Shutdown: stop claiming, give running workflows `shutdown_grace` to
//! finish, then release what is still running so another worker takes it
//! at once (no lease to wait out).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entity::workflow;
use futures_util::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::context::{RunContext, RunServices};
use super::registry::{OnComplete, WorkflowError};
use crate::domain::runs::{self, Change, FinishError};
use crate::domain::{Principal, approvals};
use crate::state::AppState;

/// How one execution ended; returned by [`Worker::run_one`] so tests and
/// benchmarks can drain the queue deterministically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionOutcome {
    Completed,
    /// Failed this attempt; `retrying` says whether it will run again.
    Failed {
        retrying: bool,
    },
    /// The lease was lost (reclaimed or cancelled): nothing was written.
    Abandoned,
}

impl ExecutionOutcome {
    /// The `outcome` label of the run metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutionOutcome::Completed => "completed",
            ExecutionOutcome::Failed { retrying: true } => "retrying",
            ExecutionOutcome::Failed { retrying: false } => "failed",
            ExecutionOutcome::Abandoned => "abandoned",
        }
    }
}

pub struct Worker {
    state: AppState,
    running: Arc<Mutex<HashMap<Uuid, workflow::Model>>>,
    /// What this process can run: the registry's types. Declared types are
    /// left to external workers, so a fleet can mix both on one database.
    types: Vec<String>,
}

impl Worker {
    pub fn new(state: AppState) -> Worker {
        let types = state.registry.names();
        Worker {
            state,
            running: Arc::new(Mutex::new(HashMap::new())),
            types,
        }
    }

    /// Runs until `shutdown` is cancelled, then drains as described above.
    pub async fn run(self, shutdown: CancellationToken) {
        let cfg = self.state.config.engine.clone();
        let slots = Arc::new(Semaphore::new(cfg.workers.max(1)));
        let mut tasks = JoinSet::new();
        let mut last_sweep = tokio::time::Instant::now();
        tracing::info!(workers = cfg.workers, origin = %self.state.origin, "workers started");
        loop {
            while tasks.try_join_next().is_some() {}
            // Register for wake-ups before looking, so a commit between the
            // claim and the wait is not missed.
            let wake = self.state.hub.wake().notified();
            tokio::pin!(wake);
            wake.as_mut().enable();

            let first = tokio::select! {
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.cancelled() => break,
            };
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let want = permits.len() as u64;
            let stamp = self.state.stamp(&Principal::system());
            let claimed = match runs::claim_runnable(
                &self.state.db,
                &stamp,
                &self.state.origin,
                &self.types,
                cfg.lease,
                want,
            )
            .await
            {
                Ok((rows, gave_up)) => {
                    self.state.hub.publish(gave_up);
                    rows
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming work failed; retrying after the poll interval");
                    Vec::new()
                }
            };
            let got = claimed.len() as u64;
            for (claim, permit) in claimed.into_iter().zip(permits.drain(..)) {
                self.spawn(&mut tasks, claim, permit);
            }
            drop(permits);

            // Expiry needs no precision beyond seconds; sweeping on every
            // poll would cost a query per poll for a rarely used feature.
            if last_sweep.elapsed() >= (cfg.poll_interval * 5).max(Duration::from_secs(1)) {
                last_sweep = tokio::time::Instant::now();
                self.sweep_expired_approvals().await;
            }
            if got < want {
                tokio::select! {
                    _ = &mut wake => {}
                    _ = tokio::time::sleep(cfg.poll_interval) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
        self.drain(tasks, cfg.shutdown_grace).await;
    }

    fn spawn(&self, tasks: &mut JoinSet<()>, claim: workflow::Model, permit: OwnedSemaphorePermit) {
        let state = self.state.clone();
        let running = self.running.clone();
        lock(&running).insert(claim.id, claim.clone());
        let span = tracing::info_span!(
            "workflow",
            workflow_id = %claim.id,
            workflow_type = %claim.workflow_type,
            attempt = claim.attempt
        );
        tasks.spawn(
            async move {
                let id = claim.id;
                let workflow_type = claim.workflow_type.clone();
                let due = claim.run_after;
                let started = claim.started_at.unwrap_or(due);
                let clock = std::time::Instant::now();
                let outcome = Worker::run_one(&state, claim).await;
                tracing::debug!(?outcome, "execution ended");
                let waited = (started - due).num_milliseconds().max(0) as f64 / 1000.0;
                state.metrics.run(
                    &workflow_type,
                    outcome.as_str(),
                    waited,
                    clock.elapsed().as_secs_f64(),
                );
                lock(&running).remove(&id);
                drop(permit);
            }
            .instrument(span),
        );
    }

    /// Runs one claimed workflow to its end and stores the result.
    pub async fn run_one(state: &AppState, claim: workflow::Model) -> ExecutionOutcome {
        let cfg = &state.config.engine;
        let system = Principal::system();
        let Some(wf) = state.registry.get(&claim.workflow_type).cloned() else {
            let err = WorkflowError::Fatal(format!(
                "no workflow type '{}' is registered in this process",
                claim.workflow_type
            ));
            return store_failure(state, &claim, &err).await;
        };

        let lost = CancellationToken::new();
        let renewer = tokio::spawn(renew_lease(state.clone(), claim.clone(), lost.clone()));
        let ctx = RunContext::new(
            claim.clone(),
            RunServices {
                db: state.db.clone(),
                config: state.config.clone(),
                catalog: state.catalog.clone(),
                llm: state.llm.clone(),
                clock: state.clock.clone(),
                hub: state.hub.clone(),
                origin: state.origin.clone(),
                metrics: state.metrics.clone(),
            },
        );
        let input = claim.input.clone();
        let timeout = wf.timeout(cfg.workflow_timeout);
        let run = tokio::time::timeout(
            timeout,
            AssertUnwindSafe(wf.execute(&ctx, input)).catch_unwind(),
        );
        let result = tokio::select! {
            r = run => Some(r),
            _ = lost.cancelled() => None,
        };
        renewer.abort();
        let Some(result) = result else {
            tracing::warn!("lease lost while running; abandoning this attempt");
            return ExecutionOutcome::Abandoned;
        };
        let error = match result {
            Ok(Ok(Ok(outcome))) => {
                let stamp = state.stamp(&system);
                let change = Change::of_claim(&claim);
                let writes = OnComplete(wf.as_ref());
                return match runs::complete(
                    &state.db,
                    &stamp,
                    change,
                    &claim,
                    outcome,
                    Some(&writes),
                )
                .await
                {
                    Ok((_, signals)) => {
                        state.hub.publish(signals);
                        ExecutionOutcome::Completed
                    }
                    Err(FinishError::Fenced) => {
                        tracing::warn!("finished after losing the lease; result discarded");
                        ExecutionOutcome::Abandoned
                    }
                    Err(FinishError::Db(e)) => {
                        // The lease will expire and another attempt will run.
                        tracing::error!(error = %e, "could not store the result");
                        ExecutionOutcome::Abandoned
                    }
                    Err(FinishError::Rejected(why)) => {
                        let err = WorkflowError::Retryable(why);
                        store_failure(state, &claim, &err).await
                    }
                };
            }
            Ok(Ok(Err(e))) => e,
            Ok(Err(panic)) => WorkflowError::Retryable(format!(
                "the workflow panicked: {}",
                panic_message(&panic)
            )),
            Err(_) => WorkflowError::TimedOut(timeout),
        };
        tracing::warn!(error = %error, "attempt failed");
        store_failure(state, &claim, &error).await
    }

    async fn sweep_expired_approvals(&self) {
        let stamp = self.state.stamp(&Principal::system());
        match approvals::remind_and_escalate_due(&self.state.db, &stamp).await {
            Ok(signals) => self.state.hub.publish(signals),
            Err(e) => tracing::warn!(error = ?e, "reminding or escalating approvals failed"),
        }
        match approvals::expire_due(&self.state.db, &self.state.catalog, &stamp).await {
            Ok(signals) => self.state.hub.publish(signals),
            Err(e) => tracing::warn!(error = ?e, "expiring approvals failed"),
        }
    }

    async fn drain(&self, mut tasks: JoinSet<()>, grace: Duration) {
        let n = tasks.len();
        if n > 0 {
            tracing::info!(
                running = n,
                ?grace,
                "shutting down: waiting for running workflows"
            );
        }
        let all_done = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_ok() {
            return;
        }
        tasks.shutdown().await;
        let left: Vec<workflow::Model> = lock(&self.running).drain().map(|(_, c)| c).collect();
        let stamp = self.state.stamp(&Principal::system());
        for claim in left {
            match runs::release(&self.state.db, &stamp, &claim).await {
                Ok(signals) => {
                    tracing::info!(workflow_id = %claim.id, "released for another worker");
                    self.state.hub.publish(signals);
                }
                Err(e) => tracing::warn!(workflow_id = %claim.id, error = %e, "could not release"),
            }
        }
    }
}

async fn store_failure(
    state: &AppState,
    claim: &workflow::Model,
    error: &WorkflowError,
) -> ExecutionOutcome {
    let stamp = state.stamp(&Principal::system());
    let message = match error {
        WorkflowError::Fatal(m) => format!("fatal: {m}"),
        other => other.to_string(),
    };
    match runs::fail(
        &state.db,
        &stamp,
        Change::of_claim(claim),
        claim,
        &message,
        error.is_retryable(),
        state.config.engine.retry_base,
    )
    .await
    {
        Ok(signals) => {
            state.hub.publish(signals);
            ExecutionOutcome::Failed {
                retrying: error.is_retryable() && claim.attempt < claim.max_attempts,
            }
        }
        Err(FinishError::Fenced) => ExecutionOutcome::Abandoned,
        Err(e) => {
            tracing::error!(error = %e, "could not store the failure");
            ExecutionOutcome::Abandoned
        }
    }
}

/// Renews the lease every third of its length; cancels `lost` when the row
/// is no longer ours. A failed renewal is retried: if the database stays
/// away the lease expires and the fence protects the next owner.
async fn renew_lease(state: AppState, claim: workflow::Model, lost: CancellationToken) {
    let lease = state.config.engine.lease;
    let every = (lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        let now = state.clock.now();
        let until = now + runs::delta(lease);
        match runs::renew(&state.db, Change::of_claim(&claim), now, until).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                lost.cancel();
                return;
            }
            Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
