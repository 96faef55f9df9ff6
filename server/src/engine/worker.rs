//! The worker loop: claim what is due (as many rows as there are free
//! slots), run each under a renewed lease, store the outcome, repeat. Idle
//! workers sleep until a commit wakes them or the poll interval passes.
//!
//! Finished runs are stored by one completer task: whatever finished while
//! it was committing the previous batch goes in its next transaction
//! (`runs::complete_many`), so short workflows cost a share of a commit
//! each rather than one, and a run that finishes alone is stored at once.
//! Their slots free together, so the next claim takes them together too.
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::context::{RunContext, RunServices};
use super::registry::{OnComplete, Workflow, WorkflowError};
use crate::domain::llm_calls::{self, NewLlmCall};
use crate::domain::runs::{self, Change, Completion, FinishError, Outcome, Stored};
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
        let (completer, finished) = Completer::start(self.state.clone());
        let mut last_sweep = tokio::time::Instant::now();
        let mut last_reap: Option<tokio::time::Instant> = None;
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
            // A stored batch frees its slots together: let the other tasks
            // of that batch give theirs back, so one claim takes them all.
            tokio::task::yield_now().await;
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let want = permits.len() as u64;
            let stamp = self.state.stamp(&Principal::system());
            // Runs whose lease expired on their last attempt only appear a
            // lease after their worker died: looking once per poll interval
            // is soon enough, and spares a query per claim when slots free
            // one at a time.
            let reap = last_reap.is_none_or(|t| t.elapsed() >= cfg.poll_interval);
            let claimed = if reap {
                last_reap = Some(tokio::time::Instant::now());
                runs::claim_runnable(
                    &self.state.db,
                    &stamp,
                    &self.state.origin,
                    &self.types,
                    cfg.lease,
                    want,
                )
                .await
                .map(|(rows, gave_up)| {
                    self.state.hub.publish(gave_up);
                    rows
                })
            } else {
                runs::claim(
                    &self.state.db,
                    &self.state.origin,
                    &self.types,
                    stamp.now,
                    cfg.lease,
                    want,
                )
                .await
            };
            let claimed = claimed.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "claiming work failed; retrying after the poll interval");
                Vec::new()
            });
            let got = claimed.len() as u64;
            for (claim, permit) in claimed.into_iter().zip(permits.drain(..)) {
                self.spawn(&mut tasks, claim, permit, completer.clone());
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
        self.drain(tasks, completer, finished, cfg.shutdown_grace)
            .await;
    }

    fn spawn(
        &self,
        tasks: &mut JoinSet<()>,
        claim: workflow::Model,
        permit: OwnedSemaphorePermit,
        completer: Completer,
    ) {
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
                let outcome = Worker::attempt(&state, claim, Some(&completer)).await;
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

    /// Runs one claimed workflow to its end and stores the result (in a
    /// transaction of its own).
    pub async fn run_one(state: &AppState, claim: workflow::Model) -> ExecutionOutcome {
        Worker::attempt(state, claim, None).await
    }

    /// Runs one claimed workflow and stores the result: through the
    /// completer when there is one, else in a transaction of its own.
    async fn attempt(
        state: &AppState,
        claim: workflow::Model,
        completer: Option<&Completer>,
    ) -> ExecutionOutcome {
        let cfg = &state.config.engine;
        let Some(wf) = state.registry.get(&claim.workflow_type).cloned() else {
            let err = WorkflowError::Fatal(format!(
                "no workflow type '{}' is registered in this process",
                claim.workflow_type
            ));
            return store_failure(state, &claim, &err, Vec::new()).await;
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
        let calls = ctx.take_calls();
        let Some(result) = result else {
            renewer.abort();
            tracing::warn!("lease lost while running; abandoning this attempt");
            // The calls were made (and paid for) all the same.
            if let Err(e) = llm_calls::record_all(&state.db, calls).await {
                tracing::warn!(error = %e, "could not record the attempt's LLM calls");
            }
            return ExecutionOutcome::Abandoned;
        };
        let error = match result {
            Ok(Ok(Ok(outcome))) => {
                // The lease is renewed until the result is stored: a batch
                // may wait on the one before it.
                let stored = match completer {
                    Some(c) => c.store(&claim, outcome, wf, calls).await,
                    None => store_alone(state, &claim, outcome, wf.as_ref(), calls).await,
                };
                renewer.abort();
                return settle(state, &claim, stored).await;
            }
            Ok(Ok(Err(e))) => e,
            Ok(Err(panic)) => WorkflowError::Retryable(format!(
                "the workflow panicked: {}",
                panic_message(&panic)
            )),
            Err(_) => WorkflowError::TimedOut(timeout),
        };
        renewer.abort();
        tracing::warn!(error = %error, "attempt failed");
        store_failure(state, &claim, &error, calls).await
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

    async fn drain(
        &self,
        mut tasks: JoinSet<()>,
        completer: Completer,
        finished: tokio::task::JoinHandle<()>,
        grace: Duration,
    ) {
        let n = tasks.len();
        if n > 0 {
            tracing::info!(
                running = n,
                ?grace,
                "shutting down: waiting for running workflows"
            );
        }
        let all_done = async { while tasks.join_next().await.is_some() {} };
        let in_time = tokio::time::timeout(grace, all_done).await.is_ok();
        if !in_time {
            tasks.shutdown().await;
        }
        // The completer ends once the batches handed to it are stored, so a
        // run it stores is not also released below.
        drop(completer);
        let _ = finished.await;
        if in_time {
            return;
        }
        let left: Vec<workflow::Model> = lock(&self.running).drain().map(|(_, c)| c).collect();
        let stamp = self.state.stamp(&Principal::system());
        for claim in left {
            match runs::release(&self.state.db, &stamp, &claim).await {
                Ok(signals) => {
                    tracing::info!(workflow_id = %claim.id, "released for another worker");
                    self.state.hub.publish(signals);
                }
                // Stored by the completer just before the end.
                Err(FinishError::Fenced) => {
                    tracing::debug!(workflow_id = %claim.id, "finished before it could be released")
                }
                Err(e) => tracing::warn!(workflow_id = %claim.id, error = %e, "could not release"),
            }
        }
    }
}

/// Largest batch the completer stores in one transaction.
const COMPLETION_BATCH: usize = 64;

/// A finished run waiting for the completer.
struct Finished {
    claim: workflow::Model,
    outcome: Outcome,
    wf: Arc<dyn Workflow>,
    calls: Vec<NewLlmCall>,
    reply: oneshot::Sender<Stored>,
}

/// The handle a worker task stores its finished run through (see the
/// module docs).
#[derive(Clone)]
struct Completer {
    state: AppState,
    queue: mpsc::UnboundedSender<Finished>,
}

impl Completer {
    /// The handle, and the task that ends when every handle is dropped and
    /// what was handed to it is stored.
    fn start(state: AppState) -> (Completer, tokio::task::JoinHandle<()>) {
        let (queue, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let n = completers(&state);
        let mut set = JoinSet::new();
        for _ in 0..n {
            set.spawn(complete_batches(state.clone(), rx.clone()));
        }
        let task = tokio::spawn(async move { while set.join_next().await.is_some() {} });
        (Completer { state, queue }, task)
    }

    async fn store(
        &self,
        claim: &workflow::Model,
        outcome: Outcome,
        wf: Arc<dyn Workflow>,
        calls: Vec<NewLlmCall>,
    ) -> Stored {
        let (reply, answer) = oneshot::channel();
        let job = Finished {
            claim: claim.clone(),
            outcome,
            wf,
            calls,
            reply,
        };
        if let Err(mpsc::error::SendError(job)) = self.queue.send(job) {
            // Only if the completer task died: store it here.
            return store_alone(&self.state, claim, job.outcome, job.wf.as_ref(), job.calls).await;
        }
        answer.await.unwrap_or_else(|_| Stored {
            result: Err(FinishError::Db(sea_orm::DbErr::Custom(
                "the completer stopped before storing this run".into(),
            ))),
            unwritten_calls: Vec::new(),
        })
    }
}

/// How many batches a process stores at once. One completer leaves the
/// machine idle while its statements make their round trips (a batch is a
/// few statements per run, one after the other); a few overlap them. Each
/// holds one pooled connection while it commits, so they are kept to a
/// quarter of the worker slots, at most 4. SQLite has one connection: one.
fn completers(state: &AppState) -> usize {
    if sea_orm::ConnectionTrait::get_database_backend(&state.db) == sea_orm::DbBackend::Sqlite {
        return 1;
    }
    (state.config.engine.workers / 4).clamp(1, 4)
}

/// A completer task: takes the first finished run, then every other one
/// already waiting (up to [`COMPLETION_BATCH`]), stores them in one
/// transaction and answers each. Completers take turns at the queue, not
/// at the database.
async fn complete_batches(
    state: AppState,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Finished>>>,
) {
    loop {
        let mut batch = Vec::with_capacity(COMPLETION_BATCH);
        if rx
            .lock()
            .await
            .recv_many(&mut batch, COMPLETION_BATCH)
            .await
            == 0
        {
            return;
        }
        state.metrics.completion_batch(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut wfs = Vec::with_capacity(batch.len());
        let mut rest = Vec::with_capacity(batch.len());
        for j in batch {
            replies.push(j.reply);
            wfs.push(j.wf);
            rest.push((j.claim, j.outcome, j.calls));
        }
        let writes: Vec<OnComplete> = wfs.iter().map(|w| OnComplete(w.as_ref())).collect();
        let items = rest
            .into_iter()
            .zip(&writes)
            .map(|((claim, outcome, calls), w)| Completion {
                change: Change::of_claim(&claim),
                claim,
                outcome,
                writes: Some(w),
                calls,
            })
            .collect();
        let stamp = state.stamp(&Principal::system());
        let stored = runs::complete_many(&state.db, &stamp, items).await;
        for (reply, s) in replies.into_iter().zip(stored) {
            // A task cut short at shutdown no longer listens.
            let _ = reply.send(s);
        }
    }
}

/// Stores one finished run in a transaction of its own.
async fn store_alone(
    state: &AppState,
    claim: &workflow::Model,
    outcome: Outcome,
    wf: &dyn Workflow,
    calls: Vec<NewLlmCall>,
) -> Stored {
    let stamp = state.stamp(&Principal::system());
    let writes = OnComplete(wf);
    let item = Completion {
        change: Change::of_claim(claim),
        claim: claim.clone(),
        outcome,
        writes: Some(&writes),
        calls,
    };
    let mut stored = runs::complete_many(&state.db, &stamp, vec![item]).await;
    stored.pop().unwrap_or_else(|| Stored {
        result: Err(FinishError::Fenced),
        unwritten_calls: Vec::new(),
    })
}

/// What storing a finished run means for the attempt.
async fn settle(state: &AppState, claim: &workflow::Model, stored: Stored) -> ExecutionOutcome {
    match stored.result {
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
            store_failure(state, claim, &err, stored.unwritten_calls).await
        }
    }
}

async fn store_failure(
    state: &AppState,
    claim: &workflow::Model,
    error: &WorkflowError,
    calls: Vec<NewLlmCall>,
) -> ExecutionOutcome {
    let stamp = state.stamp(&Principal::system());
    let message = match error {
        WorkflowError::Fatal(m) => format!("fatal: {m}"),
        other => other.to_string(),
    };
    let failure = runs::Failure {
        message: &message,
        retryable: error.is_retryable(),
        retry_base: state.config.engine.retry_base,
    };
    match runs::fail_recording(
        &state.db,
        &stamp,
        Change::of_claim(claim),
        claim,
        failure,
        calls,
    )
    .await
    {
        Ok((_, signals)) => {
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
