//! Subscription root (graphql-ws).
//!
//! Streams follow the in-process hub. When the hub says notifications may
//! have been lost (a lagging receiver, a PostgreSQL listener that
//! reconnected), the stream re-reads the `events` table through its
//! [`events::FeedCursor`], which also finds events committed out of id
//! order, so a subscriber is re-synced rather than left silently behind,
//! and gets each event once.
//!
//! The workflow or approval an event is delivered with is loaded once per
//! event for all of this process's subscribers ([`Deliveries`]): it is the
//! row as it was when the first subscriber handled the event, which every
//! other subscriber shares.

use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::deliveries::Deliveries;
use super::error::parse_id;
use super::types::{
    Approval, ApprovalEvent, ApprovalEventKind, Workflow, WorkflowEvent, WorkflowEventKind,
};
use super::{require, state};
use crate::domain::events::{self, Signal, kind};
use crate::domain::principal::Permission;
use crate::engine::signals::Notice;
use crate::state::AppState;

pub struct SubscriptionRoot;

const COMPLETION_KINDS: &[&str] = &[kind::WORKFLOW_COMPLETED, kind::WORKFLOW_FAILED];
const WORKFLOW_KINDS: &[&str] = &[
    kind::WORKFLOW_CREATED,
    kind::WORKFLOW_RETRYING,
    kind::WORKFLOW_COMPLETED,
    kind::WORKFLOW_FAILED,
    kind::WORKFLOW_CANCELLED,
    kind::WORKFLOW_RETRIED,
    kind::WORKFLOW_RELEASED,
];
const APPROVAL_KINDS: &[&str] = &[
    kind::APPROVAL_CREATED,
    kind::APPROVAL_DECIDED,
    kind::APPROVAL_EXPIRED,
];

#[Subscription]
impl SubscriptionRoot {
    /// A workflow reached `COMPLETED` or `FAILED`. Filter by type and/or chain.
    async fn workflow_completed(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type")] workflow_type: Option<String>,
        chain_id: Option<ID>,
    ) -> Result<impl Stream<Item = Workflow> + use<>> {
        require(ctx, Permission::Read)?;
        let events = workflow_stream(ctx, COMPLETION_KINDS, workflow_type, chain_id).await?;
        Ok(events.map(|e| e.workflow))
    }

    /// Every change of a workflow's status that the engine records:
    /// created, retrying, completed, failed, cancelled, retried, released.
    /// Filter by type and/or chain. (A claim is not an event; `RUNNING`
    /// shows on the next read.)
    async fn workflow_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type")] workflow_type: Option<String>,
        chain_id: Option<ID>,
    ) -> Result<impl Stream<Item = WorkflowEvent> + use<>> {
        require(ctx, Permission::Read)?;
        workflow_stream(ctx, WORKFLOW_KINDS, workflow_type, chain_id).await
    }

    /// Approvals created, decided or expired.
    async fn approval_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ApprovalEvent> + use<>> {
        require(ctx, Permission::Read)?;
        let state = state(ctx).clone();
        let deliveries = deliveries(ctx)?;
        let signals = signal_stream(state, APPROVAL_KINDS).await?;
        Ok(signals.filter_map(move |s| {
            let deliveries = deliveries.clone();
            async move {
                let kind = match s.kind.as_str() {
                    kind::APPROVAL_CREATED => ApprovalEventKind::Created,
                    kind::APPROVAL_DECIDED => ApprovalEventKind::Decided,
                    _ => ApprovalEventKind::Expired,
                };
                let a = deliveries
                    .approval(s.event_id, s.approval_id?)
                    .await
                    .inspect_err(|e| tracing::warn!(error = ?e, "loading an approval event failed"))
                    .ok()??;
                Some(ApprovalEvent {
                    kind,
                    approval: Approval(Arc::unwrap_or_clone(a)),
                })
            }
        }))
    }
}

/// Workflow events of `kinds`, filtered by type and chain, each with the
/// workflow as this process first loaded it for that event.
async fn workflow_stream(
    ctx: &Context<'_>,
    kinds: &'static [&'static str],
    workflow_type: Option<String>,
    chain_id: Option<ID>,
) -> Result<impl Stream<Item = WorkflowEvent> + use<>> {
    let state = state(ctx).clone();
    let deliveries = deliveries(ctx)?;
    let chain_id = chain_id.map(|c| parse_id("chainId", &c)).transpose()?;
    let signals = signal_stream(state, kinds).await?;
    Ok(signals.filter_map(move |s| {
        let wanted = workflow_type
            .as_ref()
            .is_none_or(|t| s.workflow_type.as_ref() == Some(t))
            && chain_id.is_none_or(|c| s.chain_id == Some(c));
        // Every subscriber sees every event: the ones it filters out cost
        // no more than this test.
        let deliveries = wanted.then(|| deliveries.clone());
        async move {
            let deliveries = deliveries?;
            let kind = WorkflowEventKind::from_kind(&s.kind)?;
            let w = deliveries
                .workflow(s.event_id, s.workflow_id?)
                .await
                .inspect_err(|e| tracing::warn!(error = ?e, "loading a workflow event failed"))
                .ok()??;
            Some(WorkflowEvent {
                kind,
                // The object type owns its model: each subscriber clones the
                // shared row (memory, not a query).
                workflow: Workflow(Arc::unwrap_or_clone(w)),
            })
        }
    }))
}

/// The process's shared loads, put into the schema data by `schema()`.
fn deliveries(ctx: &Context<'_>) -> Result<Arc<Deliveries>> {
    Ok(ctx.data::<Arc<Deliveries>>()?.clone())
}

/// Per-subscriber state: where we are in the events feed and what is
/// queued for delivery.
struct Cursor {
    db: sea_orm::DatabaseConnection,
    rx: broadcast::Receiver<Notice>,
    feed: events::FeedCursor,
    queue: VecDeque<Arc<Signal>>,
}

/// Committed events of `kinds` from now on, each once.
async fn signal_stream(
    state: AppState,
    kinds: &'static [&'static str],
) -> Result<impl Stream<Item = Arc<Signal>>> {
    let rx = state.hub.subscribe();
    let feed = events::FeedCursor::start(&state.db, kinds)
        .await
        .map_err(crate::error::AppError::from)?;
    let cursor = Cursor {
        db: state.db,
        rx,
        feed,
        queue: VecDeque::new(),
    };
    Ok(stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(s) = c.queue.pop_front() {
                return Some((s, c));
            }
            match c.rx.recv().await {
                Ok(Notice::Event(s)) => {
                    if c.feed.mark(&s) {
                        c.queue.push_back(s);
                    }
                    if c.feed.wants_read() {
                        c.catch_up().await;
                    }
                }
                Ok(Notice::Resync) | Err(RecvError::Lagged(_)) => c.catch_up().await,
                Err(RecvError::Closed) => return None,
            }
        }
    }))
}

impl Cursor {
    async fn catch_up(&mut self) {
        match self.feed.read(&self.db).await {
            Ok(missed) => self.queue.extend(missed.into_iter().map(Arc::new)),
            // The cursor did not move: the next resync reads the same events.
            Err(e) => tracing::warn!(error = %e, "subscription catch-up failed"),
        }
    }
}
