//! Per-request batching of related rows (DataLoaders).
//!
//! A page of 50 approvals that asks for each one's `workflow`, `votes` and
//! `viewerCanDecide` would otherwise read one row set per item and field
//! (the N+1 problem: ~200 statements for one page). Here every resolver of a
//! related row asks the request's [`Loaders`] instead; the keys asked for
//! while the request's fields are being polled are gathered into one batch
//! and read with one `IN (…)` query per relation and nesting level, and a
//! row read once is served from the request's cache afterwards.
//!
//! How a batch gathers its keys without a timer: async-graphql polls the
//! fields of a selection set (and the items of a list) inside one task, so
//! a resolver that registers its key and then yields lets its siblings
//! register theirs in the same pass. Whoever runs the batch first yields
//! until a pass adds no key, then closes the batch and reads it. That adds
//! no wall-clock delay (async-graphql's own `DataLoader` sleeps 1 ms per
//! batch) and needs no spawned task, so a cancelled request cancels its
//! reads.
//!
//! The cache lives for one HTTP request. Subscriptions get no loaders: a
//! stream lives for hours and each event must see the rows as they are, so
//! their resolvers read directly (see [`super::types`]).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use entity::{approval, artifact, vote, workflow};
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::domain::{approvals, artifacts, workflows};
use crate::error::AppResult;

type Fetched<K, V> = Result<Arc<HashMap<K, V>>, async_graphql::Error>;
type FetchFuture<K, V> = Pin<Box<dyn Future<Output = AppResult<HashMap<K, V>>> + Send>>;
type Fetch<K, V> = fn(DatabaseConnection, Vec<K>) -> FetchFuture<K, V>;

/// The most passes a batch waits for more keys. A selection set registers
/// its keys in one or two passes; the bound only stops a pathological
/// document from postponing a read for ever.
const MAX_GATHER_PASSES: usize = 8;

/// The related rows one request has read or is reading.
pub struct Loaders {
    workflows: Batcher<Uuid, workflow::Model>,
    approvals: Batcher<Uuid, approval::Model>,
    approval_of_workflow: Batcher<Uuid, approval::Model>,
    artifacts: Batcher<Uuid, artifact::Model>,
    artifacts_of_workflow: Batcher<Uuid, Vec<artifact::Model>>,
    votes: Batcher<Uuid, Vec<vote::Model>>,
    chains: Batcher<Uuid, Vec<workflow::Model>>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Loaders {
        Loaders {
            workflows: Batcher::new(db.clone(), |db, ids| {
                Box::pin(async move { Ok(by(workflows::get_many(&db, &ids).await?, |w| w.id)) })
            }),
            approvals: Batcher::new(db.clone(), |db, ids| {
                Box::pin(async move { Ok(by(approvals::get_many(&db, &ids).await?, |a| a.id)) })
            }),
            approval_of_workflow: Batcher::new(db.clone(), |db, ids| {
                Box::pin(async move {
                    Ok(by(approvals::for_workflows(&db, &ids).await?, |a| {
                        a.workflow_id
                    }))
                })
            }),
            artifacts: Batcher::new(db.clone(), |db, ids| {
                Box::pin(async move { Ok(by(artifacts::get_many(&db, &ids).await?, |a| a.id)) })
            }),
            artifacts_of_workflow: Batcher::new(db.clone(), |db, ids| {
                Box::pin(async move {
                    Ok(grouped(artifacts::for_workflows(&db, &ids).await?, |a| {
                        a.workflow_id
                    }))
                })
            }),
            votes: Batcher::new(db.clone(), |db, ids| {
                Box::pin(async move {
                    Ok(grouped(approvals::votes_for(&db, &ids).await?, |v| {
                        v.approval_id
                    }))
                })
            }),
            chains: Batcher::new(db, |db, ids| {
                Box::pin(
                    async move { Ok(grouped(workflows::chains(&db, &ids).await?, |w| w.chain_id)) },
                )
            }),
        }
    }

    pub async fn workflow(&self, id: Uuid) -> async_graphql::Result<Option<workflow::Model>> {
        self.workflows.load(id).await
    }

    pub async fn approval(&self, id: Uuid) -> async_graphql::Result<Option<approval::Model>> {
        self.approvals.load(id).await
    }

    /// The approval the workflow asked for, if any.
    pub async fn approval_of_workflow(
        &self,
        workflow_id: Uuid,
    ) -> async_graphql::Result<Option<approval::Model>> {
        self.approval_of_workflow.load(workflow_id).await
    }

    pub async fn artifact(&self, id: Uuid) -> async_graphql::Result<Option<artifact::Model>> {
        self.artifacts.load(id).await
    }

    /// The workflow's artifacts, oldest first.
    pub async fn artifacts_of_workflow(
        &self,
        workflow_id: Uuid,
    ) -> async_graphql::Result<Vec<artifact::Model>> {
        Ok(self
            .artifacts_of_workflow
            .load(workflow_id)
            .await?
            .unwrap_or_default())
    }

    /// The approval's votes, oldest first.
    pub async fn votes(&self, approval_id: Uuid) -> async_graphql::Result<Vec<vote::Model>> {
        Ok(self.votes.load(approval_id).await?.unwrap_or_default())
    }

    /// The chain's workflows in order.
    pub async fn chain(&self, chain_id: Uuid) -> async_graphql::Result<Vec<workflow::Model>> {
        Ok(self.chains.load(chain_id).await?.unwrap_or_default())
    }
}

fn by<K: Eq + Hash, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, V> {
    rows.into_iter().map(|r| (key(&r), r)).collect()
}

/// Rows grouped by `key`, each group in the order the query returned it.
fn grouped<K: Eq + Hash, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = HashMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    out
}

/// One relation's loader: a cache from key to the batch that reads it.
struct Batcher<K, V> {
    db: DatabaseConnection,
    fetch: Fetch<K, V>,
    state: Mutex<BatcherState<K, V>>,
}

struct BatcherState<K, V> {
    /// Every key asked for in this request, with the batch that answers it.
    batch_of: HashMap<K, Arc<Batch<K, V>>>,
    /// The batch still taking keys, if any.
    open: Option<Arc<Batch<K, V>>>,
}

struct Batch<K, V> {
    keys: Mutex<Vec<K>>,
    result: OnceCell<Fetched<K, V>>,
}

impl<K, V> Batcher<K, V>
where
    K: Eq + Hash + Copy + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new(db: DatabaseConnection, fetch: Fetch<K, V>) -> Self {
        Batcher {
            db,
            fetch,
            state: Mutex::new(BatcherState {
                batch_of: HashMap::new(),
                open: None,
            }),
        }
    }

    async fn load(&self, key: K) -> async_graphql::Result<Option<V>> {
        let batch = {
            let mut state = lock(&self.state);
            match state.batch_of.get(&key) {
                Some(b) => b.clone(),
                None => {
                    let b = state
                        .open
                        .get_or_insert_with(|| {
                            Arc::new(Batch {
                                keys: Mutex::new(Vec::new()),
                                result: OnceCell::new(),
                            })
                        })
                        .clone();
                    lock(&b.keys).push(key);
                    state.batch_of.insert(key, b.clone());
                    b
                }
            }
        };
        // Whoever gets here first runs the batch; the others wait for it
        // (and one of them takes over if that request's future is dropped).
        let fetched = batch
            .result
            .get_or_init(|| self.run(batch.clone()))
            .await
            .clone()?;
        Ok(fetched.get(&key).cloned())
    }

    async fn run(&self, batch: Arc<Batch<K, V>>) -> Fetched<K, V> {
        let mut seen = lock(&batch.keys).len();
        for _ in 0..MAX_GATHER_PASSES {
            tokio::task::yield_now().await;
            let now = lock(&batch.keys).len();
            if now == seen {
                break;
            }
            seen = now;
        }
        let keys = {
            let mut state = lock(&self.state);
            if state.open.as_ref().is_some_and(|o| Arc::ptr_eq(o, &batch)) {
                state.open = None;
            }
            // Closed above under the same lock `load` registers under: no
            // key joins after this copy.
            lock(&batch.keys).clone()
        };
        match (self.fetch)(self.db.clone(), keys).await {
            Ok(rows) => Ok(Arc::new(rows)),
            Err(e) => Err(e.into()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The resolvers' entry points: through the request's loaders when it has
/// them (HTTP), else one direct read (subscription events).
pub mod load {
    use async_graphql::{Context, Result};
    use entity::{approval, artifact, vote, workflow};
    use uuid::Uuid;

    use super::Loaders;
    use crate::domain::{approvals, artifacts, workflows};
    use crate::error::AppError;
    use crate::graphql::state;

    fn loaders<'a>(ctx: &Context<'a>) -> Option<&'a Loaders> {
        ctx.data_opt::<Loaders>()
    }

    pub async fn workflow(ctx: &Context<'_>, id: Uuid) -> Result<Option<workflow::Model>> {
        match loaders(ctx) {
            Some(l) => l.workflow(id).await,
            None => Ok(workflows::get(&state(ctx).db, id).await?),
        }
    }

    /// A workflow that must exist (a foreign key points at it).
    pub async fn existing_workflow(ctx: &Context<'_>, id: Uuid) -> Result<workflow::Model> {
        workflow(ctx, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no workflow with id {id}")).into())
    }

    pub async fn approval(ctx: &Context<'_>, id: Uuid) -> Result<Option<approval::Model>> {
        match loaders(ctx) {
            Some(l) => l.approval(id).await,
            None => Ok(approvals::get(&state(ctx).db, id).await?),
        }
    }

    pub async fn approval_of_workflow(
        ctx: &Context<'_>,
        workflow_id: Uuid,
    ) -> Result<Option<approval::Model>> {
        match loaders(ctx) {
            Some(l) => l.approval_of_workflow(workflow_id).await,
            None => Ok(approvals::for_workflow(&state(ctx).db, workflow_id).await?),
        }
    }

    pub async fn artifact(ctx: &Context<'_>, id: Uuid) -> Result<Option<artifact::Model>> {
        match loaders(ctx) {
            Some(l) => l.artifact(id).await,
            None => Ok(artifacts::get(&state(ctx).db, id).await?),
        }
    }

    pub async fn artifacts_of_workflow(
        ctx: &Context<'_>,
        workflow_id: Uuid,
    ) -> Result<Vec<artifact::Model>> {
        match loaders(ctx) {
            Some(l) => l.artifacts_of_workflow(workflow_id).await,
            None => Ok(artifacts::for_workflow(&state(ctx).db, workflow_id)
                .await
                .map_err(AppError::from)?),
        }
    }

    pub async fn votes(ctx: &Context<'_>, approval_id: Uuid) -> Result<Vec<vote::Model>> {
        match loaders(ctx) {
            Some(l) => l.votes(approval_id).await,
            None => Ok(approvals::votes(&state(ctx).db, approval_id).await?),
        }
    }

    pub async fn chain(ctx: &Context<'_>, chain_id: Uuid) -> Result<Vec<workflow::Model>> {
        match loaders(ctx) {
            Some(l) => l.chain(chain_id).await,
            None => Ok(workflows::chain(&state(ctx).db, chain_id).await?),
        }
    }
}
