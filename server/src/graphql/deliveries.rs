//! The rows subscriptions deliver, loaded once per event for every
//! subscriber of this process.
//!
//! Each subscriber runs its own stream (its own hub receiver and
//! [`FeedCursor`](crate::domain::events::FeedCursor), so "each event once,
//! resync after a lag" stays per subscriber), but the row an event is
//! delivered with is the same for all of them: the first subscriber to
//! handle an event loads the workflow (or approval), the others wait for
//! that load and share it. Without this a burst of B completions watched by
//! M subscribers cost M × B reads of the same rows, and those reads, not
//! the fan-out, were what made delivery seconds late.
//!
//! Semantics: an event is delivered with its subject as it was when the
//! first subscriber of this process handled the event, not when each
//! subscriber's message is written. Between two events of one workflow
//! the row is loaded again (the key is the event id), so each event still
//! shows the state that followed it or a later one.
//!
//! The table remembers the last [`KEEP`] events' rows (more than the hub's
//! broadcast window, so a subscriber that has not lagged always finds its
//! event's row); an older event, read back by a catch-up, is loaded again.
//! A failed load is not remembered: the next subscriber tries again.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use entity::{approval, workflow};
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::domain::{approvals, workflows};
use crate::error::AppResult;
use crate::metrics::Metrics;

/// Events whose rows are remembered, per kind of subject.
pub const KEEP: usize = crate::engine::signals::CAPACITY;

/// The metric that counts loads (one per event and subject, whatever the
/// number of subscribers).
pub const LOADS_METRIC: &str = "baton_subscription_loads_total";

/// This process's shared loads (schema data, one per process).
pub struct Deliveries {
    db: DatabaseConnection,
    workflows: Shared<workflow::Model>,
    approvals: Shared<approval::Model>,
    metrics: Option<Arc<Metrics>>,
}

impl Deliveries {
    pub fn new(db: DatabaseConnection, metrics: Option<Arc<Metrics>>) -> Deliveries {
        Deliveries {
            db,
            workflows: Shared::default(),
            approvals: Shared::default(),
            metrics,
        }
    }

    /// The workflow event `event_id` is about, loaded by the first caller.
    pub async fn workflow(
        &self,
        event_id: i64,
        id: Uuid,
    ) -> AppResult<Option<Arc<workflow::Model>>> {
        self.workflows
            .get(event_id, || async move {
                self.count("workflow");
                workflows::get(&self.db, id).await
            })
            .await
    }

    /// The approval event `event_id` is about, loaded by the first caller.
    pub async fn approval(
        &self,
        event_id: i64,
        id: Uuid,
    ) -> AppResult<Option<Arc<approval::Model>>> {
        self.approvals
            .get(event_id, || async move {
                self.count("approval");
                approvals::get(&self.db, id).await
            })
            .await
    }

    fn count(&self, subject: &str) {
        if let Some(m) = &self.metrics {
            m.add(
                LOADS_METRIC,
                "Rows read to deliver subscription events, by subject: one per \
                 event, shared by all of this process's subscribers.",
                vec![("subject", subject.to_string())],
                1.0,
            );
        }
    }
}

type Slot<T> = Arc<OnceCell<Option<Arc<T>>>>;

/// One load per event id, remembered for the last [`KEEP`] ids.
struct Shared<T> {
    slots: Mutex<Slots<T>>,
}

struct Slots<T> {
    by_event: HashMap<i64, Slot<T>>,
    /// Ids in the order they were first asked for: the oldest is forgotten first.
    order: VecDeque<i64>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            slots: Mutex::new(Slots {
                by_event: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }
}

impl<T> Shared<T> {
    fn slot(&self, event_id: i64) -> Slot<T> {
        // Held only to find or insert the cell, never across the load.
        let mut s = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cell) = s.by_event.get(&event_id) {
            return cell.clone();
        }
        let cell = Slot::default();
        s.by_event.insert(event_id, cell.clone());
        s.order.push_back(event_id);
        while s.order.len() > KEEP {
            if let Some(old) = s.order.pop_front() {
                s.by_event.remove(&old);
            }
        }
        cell
    }

    /// The row of `event_id`: `load`ed by the first caller; the callers
    /// that come while it runs wait for it. (If the first caller is
    /// dropped mid-load, a waiting one loads instead.)
    async fn get<F, Fut>(&self, event_id: i64, load: F) -> AppResult<Option<Arc<T>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<Option<T>>>,
    {
        let cell = self.slot(event_id);
        cell.get_or_try_init(|| async { Ok(load().await?.map(Arc::new)) })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_of_one_event_share_one_load() {
        let shared = Shared::<u32>::default();
        let loads = AtomicUsize::new(0);
        let got = futures_util::future::join_all((0..50).map(|_| {
            shared.get(7, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(Some(42))
            })
        }))
        .await;
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert!(
            got.iter()
                .all(|g| g.as_ref().ok().cloned().flatten().as_deref() == Some(&42))
        );
    }

    #[tokio::test]
    async fn a_failed_load_is_tried_again_and_old_events_are_forgotten() {
        let shared = Shared::<u32>::default();
        let failed = shared
            .get(1, || async {
                Err(crate::error::AppError::Internal(anyhow::anyhow!("down")))
            })
            .await;
        assert!(failed.is_err());
        let again = shared.get(1, || async { Ok(Some(1)) }).await;
        assert_eq!(again.ok().flatten().as_deref(), Some(&1));
        for id in 2..=(KEEP as i64 + 1) {
            let _ = shared.get(id, || async { Ok(None) }).await;
        }
        let s = shared.slots.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(s.by_event.len(), KEEP);
        assert!(!s.by_event.contains_key(&1));
    }
}
