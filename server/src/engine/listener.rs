//! PostgreSQL LISTEN: hears events committed by other processes and
//! republishes them in this one (waking workers, feeding subscriptions).
//!
//! NOTIFY is lost while the listener is disconnected, so every (re)connect
//! is followed by a resync: workers re-scan the queue and subscribers
//! re-read the events table from the last id they saw.

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool};
use tokio_util::sync::CancellationToken;

use super::signals::Hub;
use crate::domain::events::{CHANNEL, parse_notification};

pub async fn run(pool: PgPool, hub: Hub, origin: String, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut listener = tokio::select! {
            l = connect(&pool) => match l {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, ?backoff, "LISTEN connection failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            },
            _ = shutdown.cancelled() => return,
        };
        backoff = Duration::from_millis(200);
        hub.resync();
        loop {
            let next = tokio::select! {
                n = listener.try_recv() => n,
                _ = shutdown.cancelled() => return,
            };
            match next {
                // One signal, or the array a transaction that wrote many
                // events sends.
                Ok(Some(n)) => match parse_notification(n.payload()) {
                    Ok(signals) => hub.publish(signals.into_iter().filter(|s| s.origin != origin)),
                    Err(e) => tracing::warn!(error = %e, "ignoring a malformed notification"),
                },
                Ok(None) => {
                    tracing::warn!("LISTEN connection lost; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}
