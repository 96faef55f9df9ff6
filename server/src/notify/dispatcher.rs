//! The dispatcher: claims due deliveries from the outbox, sends them,
//! records each outcome. Runs in every `baton serve` and `baton worker`
//! process; several are safe together (claims are leased; see
//! `domain::outbox`).
//!
//! At least once: a delivery is recorded only after its receiver answered,
//! so a process killed in between leaves it claimable again when its lease
//! runs out, and it is sent again with the same `webhook-id`.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery;
use entity::webhook::WebhookKind;
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use tokio::sync::broadcast::error::RecvError;

use super::signing;
use crate::domain::outbox::{self, Attempt};
use crate::domain::webhooks;
use crate::engine::signals::Notice;
use crate::state::AppState;

/// How long a wake-up waits for the rest of its burst.
const COALESCE: Duration = Duration::from_millis(20);
/// Deliveries one process sends at once.
const BATCH: u64 = 16;
/// The most a receiver's answer is kept in the log.
const KEEP_BODY: usize = 300;

pub async fn run(state: AppState, shutdown: CancellationToken) {
    let cfg = state.config.delivery.clone();
    let http = match reqwest::Client::builder()
        .timeout(cfg.timeout)
        // A receiver's redirect is not followed: the signed request goes
        // where the admin said, or fails visibly.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Baton-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; no deliveries");
            return;
        }
    };
    let mail = match &state.config.mail {
        Some(cfg) => match super::email::transport(cfg) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "no notification email");
                None
            }
        },
        None => None,
    };
    let owner = format!("{}-outbox", state.origin);
    // The lease outlives the longest attempt, so a live dispatcher's claim
    // is never taken over while it is still sending.
    let lease = TimeDelta::from_std(cfg.timeout * 3).unwrap_or(TimeDelta::seconds(30));
    let mut notices = state.hub.subscribe();
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let now = state.clock.now();
        match outbox::claim(&state.db, &owner, now, lease, BATCH).await {
            Ok(batch) if !batch.is_empty() => {
                join_all(
                    batch
                        .into_iter()
                        .map(|d| deliver(&state, &http, mail.as_ref(), &owner, d)),
                )
                .await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "claiming deliveries failed"),
        }
        let deadline = tokio::time::Instant::now() + cfg.poll_interval;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => break,
                n = notices.recv() => match n {
                    // Only a notifiable event can have queued a delivery.
                    Ok(Notice::Event(s)) if outbox::webhook_event(&s.kind).is_none() => continue,
                    Err(RecvError::Closed) => {
                        tokio::time::sleep_until(deadline).await;
                        break;
                    }
                    _ => {
                        // A burst of events is one claim, not one each.
                        tokio::time::sleep(COALESCE).await;
                        break;
                    }
                },
            }
        }
    }
}

async fn deliver(
    state: &AppState,
    http: &reqwest::Client,
    mail: Option<&super::email::Transport>,
    owner: &str,
    d: delivery::Model,
) {
    let now = state.clock.now();
    // When to try again should this attempt fail (`None`: it was the last).
    let retry = retry_at(
        d.attempts,
        state.config.delivery.max_attempts,
        state.config.delivery.retry_base,
        now,
    );
    let attempt = if d.channel == outbox::CHANNEL_EMAIL {
        super::email::send(state, mail, &d, retry, now).await
    } else {
        webhook(state, http, &d, retry, now).await
    };
    let delivered = matches!(attempt, Attempt::Delivered { .. });
    match outbox::record(&state.db, &d, owner, attempt, state.clock.now()).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            delivery_id = %d.id,
            "the delivery's lease ran out before its outcome was recorded; it will be sent again"
        ),
        Err(e) => tracing::warn!(delivery_id = %d.id, error = %e, "recording a delivery failed"),
    }
    tracing::debug!(delivery_id = %d.id, event = %d.event_type, attempt = d.attempts, delivered, "delivery attempted");
}

async fn webhook(
    state: &AppState,
    http: &reqwest::Client,
    d: &delivery::Model,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Attempt {
    match webhooks::find(&state.db, d.target_id).await {
        Err(_) => Attempt::Failed {
            status: None,
            error: "the webhook no longer exists".into(),
            retry_at: None,
        },
        Ok(h) if !h.active => Attempt::Failed {
            status: None,
            error: "the webhook is disabled".into(),
            retry_at: None,
        },
        Ok(h) => send(state, http, &h, d, retry_at, now).await,
    }
}

async fn send(
    state: &AppState,
    http: &reqwest::Client,
    h: &entity::webhook::Model,
    d: &delivery::Model,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Attempt {
    let slack = h.kind == WebhookKind::Slack;
    let content = if slack {
        super::slack::message(&d.payload, &state.config.public_url())
    } else {
        d.payload.clone()
    };
    let body = match serde_json::to_vec(&content) {
        Ok(b) => b,
        Err(e) => {
            return Attempt::Failed {
                status: None,
                error: format!("the payload does not serialize: {e}"),
                retry_at: None,
            };
        }
    };
    let id = d.id.to_string();
    let timestamp = now.timestamp();
    let signature = match signing::signature_header(
        &webhooks::signing_secrets(h, now),
        &id,
        timestamp,
        &body,
    ) {
        Ok(s) => s,
        Err(e) => {
            return Attempt::Failed {
                status: None,
                error: e,
                retry_at: None,
            };
        }
    };
    let mut request = http
        .post(&h.url)
        .header("content-type", "application/json")
        .body(body);
    // Slack's incoming webhooks verify nothing; a standard receiver does.
    if !slack {
        request = request
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
    }
    let sent = request.send().await;
    match sent {
        Ok(res) if res.status().is_success() => Attempt::Delivered {
            status: i32::from(res.status().as_u16()),
        },
        Ok(res) => {
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            Attempt::Failed {
                status: Some(i32::from(status.as_u16())),
                error: format!("HTTP {status}: {}", cut(&text)),
                retry_at,
            }
        }
        Err(e) => Attempt::Failed {
            status: None,
            error: without_url(e),
            retry_at,
        },
    }
}

/// A transport error without its URL (a receiver's URL may carry a token).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirected (not followed)"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(KEEP_BODY) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// When to try again after attempt number `attempts` failed: exponential
/// backoff from `base` with ±25% jitter, capped at an hour; `None` once
/// `max_attempts` are spent.
pub fn retry_at(
    attempts: i32,
    max_attempts: i32,
    base: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if attempts >= max_attempts {
        return None;
    }
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(Duration::from_secs(3600));
    let jitter = 0.75 + fastrand::f64() * 0.5;
    let delay = delay.mul_f64(jitter);
    Some(now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_then_give_up() {
        let now = Utc::now();
        let base = Duration::from_secs(10);
        for (attempt, nominal) in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0)] {
            let at = retry_at(attempt, 5, base, now).unwrap_or(now);
            let secs = (at - now).num_milliseconds() as f64 / 1000.0;
            assert!(
                secs >= nominal * 0.75 - 0.01 && secs <= nominal * 1.25 + 0.01,
                "attempt {attempt}: {secs}s"
            );
        }
        assert_eq!(retry_at(5, 5, base, now), None);
        let capped = retry_at(30, 99, base, now).unwrap_or(now);
        assert!((capped - now).num_seconds() <= 4500, "capped near an hour");
    }
}
