//! The in-process hub: committed events fan out to subscriptions, and the
//! ones that make work wake the workers.
//!
//! Signals are hints. A receiver that lags behind, or a process whose
//! PostgreSQL listener reconnected, gets [`Notice::Resync`] and re-reads the
//! `events` table from the last id it saw.

use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use crate::domain::events::Signal;

/// What the hub broadcasts. The signal is shared: every receiver (each
/// subscription, each WebSocket's credential watch, the workers) gets a
/// clone of the notice, and with thousands of subscribers a clone of the
/// signal's strings per receiver and event was a measurable share of a burst.
#[derive(Debug, Clone)]
pub enum Notice {
    Event(Arc<Signal>),
    /// Some notifications may have been missed: re-read from the database.
    Resync,
}

/// Notices a receiver may fall behind by before it lags (and re-reads the
/// events table). A burst of B completions publishes about 3 B notices
/// (created, completed, approval created); with 10,000 subscriber tasks
/// sharing two cores a task can be that many notices late, and a lag makes
/// every lagging subscriber re-read the feed at once. A slot is an `Arc`
/// and a little bookkeeping: 16,384 of them cost well under 1 MiB.
pub const CAPACITY: usize = 16_384;

/// Events after which open WebSocket connections re-check their
/// credentials (and the token cache empties).
pub use crate::domain::credentials::REVOKING;

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Notice>,
    /// Only the [`REVOKING`] events and resyncs: every open WebSocket
    /// watches this. On the main channel each of thousands of idle
    /// connections woke for every event only to ignore it.
    revocations: broadcast::Sender<Notice>,
    wake: Arc<Notify>,
    /// Counts the events this process commits (see `metrics`).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (tx, _) = broadcast::channel(CAPACITY);
        let (revocations, _) = broadcast::channel(64);
        Hub {
            tx,
            revocations,
            wake: Arc::new(Notify::new()),
            metrics: None,
        }
    }

    /// A hub that counts every event published through it in `metrics`.
    pub fn with_metrics(metrics: Arc<crate::metrics::Metrics>) -> Hub {
        Hub {
            metrics: Some(metrics),
            ..Hub::new()
        }
    }

    /// Publishes committed events to this process.
    pub fn publish(&self, signals: impl IntoIterator<Item = Signal>) {
        for s in signals {
            if let Some(m) = &self.metrics {
                m.event(&s);
            }
            if s.makes_work() {
                self.wake.notify_waiters();
            }
            let s = Arc::new(s);
            // No receivers is fine: nobody is subscribed right now.
            if REVOKING.contains(&s.kind.as_str()) {
                let _ = self.revocations.send(Notice::Event(s.clone()));
            }
            let _ = self.tx.send(Notice::Event(s));
        }
    }

    /// Tells everyone that notifications may have been lost.
    pub fn resync(&self) {
        self.wake.notify_waiters();
        let _ = self.tx.send(Notice::Resync);
        let _ = self.revocations.send(Notice::Resync);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }

    /// The [`REVOKING`] events and resyncs only (a lag means some may
    /// have been missed).
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<Notice> {
        self.revocations.subscribe()
    }

    /// Workers wait on this between claims.
    pub fn wake(&self) -> &Notify {
        &self.wake
    }
}
