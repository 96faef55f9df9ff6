//! The in-process hub: committed events fan out to subscriptions, and the
//! ones that make work wake the workers.
//!
//! Signals are hints. A receiver that lags behind, or a process whose
//! PostgreSQL listener reconnected, gets [`Notice::Resync`] and re-reads the
//! `events` table from the last id it saw.

use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use crate::domain::events::Signal;

#[derive(Debug, Clone)]
pub enum Notice {
    Event(Signal),
    /// Some notifications may have been missed: re-read from the database.
    Resync,
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Notice>,
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
        let (tx, _) = broadcast::channel(4096);
        Hub {
            tx,
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
            // No receivers is fine: nobody is subscribed right now.
            let _ = self.tx.send(Notice::Event(s));
        }
    }

    /// Tells everyone that notifications may have been lost.
    pub fn resync(&self) {
        self.wake.notify_waiters();
        let _ = self.tx.send(Notice::Resync);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }

    /// Workers wait on this between claims.
    pub fn wake(&self) -> &Notify {
        &self.wake
    }
}
