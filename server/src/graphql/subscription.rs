//! Subscription root (graphql-ws).
//!
//! Streams follow the in-process hub. When the hub says notifications may
//! have been lost (a lagging receiver, a PostgreSQL listener that
//! reconnected), the stream re-reads the `events` table from the highest
//! event id it has delivered, so a subscriber is re-synced rather than left
//! silently behind.

use std::collections::{HashSet, VecDeque};

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::error::parse_id;
use super::types::{
    Approval, ApprovalEvent, ApprovalEventKind, Workflow, WorkflowEvent, WorkflowEventKind,
};
use super::{require, state};
use crate::domain::events::{self, Signal, kind};
use crate::domain::principal::Permission;
use crate::domain::{approvals, workflows};
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
        let signals = signal_stream(state.clone(), APPROVAL_KINDS).await?;
        Ok(signals.filter_map(move |s| {
            let state = state.clone();
            async move {
                let kind = match s.kind.as_str() {
                    kind::APPROVAL_CREATED => ApprovalEventKind::Created,
                    kind::APPROVAL_DECIDED => ApprovalEventKind::Decided,
                    _ => ApprovalEventKind::Expired,
                };
                let a = approvals::get(&state.db, s.approval_id?).await.ok()??;
                Some(ApprovalEvent {
                    kind,
                    approval: Approval(a),
                })
            }
        }))
    }
}

/// Workflow events of `kinds`, filtered by type and chain, each with the
/// workflow as it is when delivered.
async fn workflow_stream(
    ctx: &Context<'_>,
    kinds: &'static [&'static str],
    workflow_type: Option<String>,
    chain_id: Option<ID>,
) -> Result<impl Stream<Item = WorkflowEvent> + use<>> {
    let state = state(ctx).clone();
    let chain_id = chain_id.map(|c| parse_id("chainId", &c)).transpose()?;
    let signals = signal_stream(state.clone(), kinds).await?;
    Ok(signals.filter_map(move |s| {
        let state = state.clone();
        let wanted = workflow_type
            .as_ref()
            .is_none_or(|t| s.workflow_type.as_ref() == Some(t))
            && chain_id.is_none_or(|c| s.chain_id == Some(c));
        async move {
            if !wanted {
                return None;
            }
            let kind = WorkflowEventKind::from_kind(&s.kind)?;
            let w = workflows::get(&state.db, s.workflow_id?).await.ok()??;
            Some(WorkflowEvent {
                kind,
                workflow: Workflow(w),
            })
        }
    }))
}

/// Per-subscriber state: where we are in the events table, what we have
/// already delivered, and what is queued for delivery.
struct Cursor {
    state: AppState,
    rx: broadcast::Receiver<Notice>,
    kinds: &'static [&'static str],
    high_water: i64,
    seen: HashSet<i64>,
    queue: VecDeque<Signal>,
}

/// Committed events of `kinds` from now on, each once.
async fn signal_stream(
    state: AppState,
    kinds: &'static [&'static str],
) -> Result<impl Stream<Item = Signal>> {
    let rx = state.hub.subscribe();
    let high_water = events::last_id(&state.db)
        .await
        .map_err(crate::error::AppError::from)?;
    let cursor = Cursor {
        state,
        rx,
        kinds,
        high_water,
        seen: HashSet::new(),
        queue: VecDeque::new(),
    };
    Ok(stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(s) = c.queue.pop_front() {
                return Some((s, c));
            }
            match c.rx.recv().await {
                Ok(Notice::Event(s)) => c.accept(s),
                Ok(Notice::Resync) | Err(RecvError::Lagged(_)) => c.catch_up().await,
                Err(RecvError::Closed) => return None,
            }
        }
    }))
}

impl Cursor {
    fn accept(&mut self, s: Signal) {
        if !self.kinds.contains(&s.kind.as_str()) || !self.seen.insert(s.event_id) {
            return;
        }
        if self.seen.len() > 10_000 {
            // Old ids are below the high-water mark; a catch-up never
            // returns them again.
            let hw = self.high_water;
            self.seen.retain(|id| *id > hw - 1_000);
        }
        self.high_water = self.high_water.max(s.event_id);
        self.queue.push_back(s);
    }

    async fn catch_up(&mut self) {
        match events::since(&self.state.db, self.high_water, self.kinds, 1000).await {
            Ok(missed) => {
                for s in missed {
                    self.accept(s);
                }
            }
            Err(e) => tracing::warn!(error = %e, "subscription catch-up failed"),
        }
    }
}
