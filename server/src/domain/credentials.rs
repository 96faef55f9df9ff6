//! Re-checking a credential after the fact: a WebSocket authenticates once,
//! at `connection_init`, and lives for hours; this says whether what it
//! authenticated with (a token, a session, a proxy's user) still holds.
//! And the cache of bearer tokens recently verified, which the same events
//! empty.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::api_token;
use sea_orm::{DatabaseConnection, EntityTrait};

use super::principal::{Credential, Principal};
use super::{identity, secrets, sessions};
use crate::error::AppResult;

/// Events after which a credential that held may no longer hold: open
/// connections re-check theirs and the token cache is emptied.
pub const REVOKING: &[&str] = &[
    identity::kind::TOKEN_REVOKED,
    identity::kind::USER_DISABLED,
    sessions::SESSION_ENDED,
];

/// Bearer tokens verified in the last few seconds, by the hash of their
/// secret: an integrator or dashboard sending hundreds of requests a second
/// with one token would otherwise cost two reads (the token and its user)
/// on every request before any work.
///
/// What keeps it right:
/// - an entry lives at most [`TokenCache::ttl`], and the token's own
///   expiry is checked on every hit;
/// - every [`REVOKING`] event empties the cache: this process's own at
///   once ([`TokenCache::clear`] beside the publish), other processes'
///   when their NOTIFY arrives, and everything when the listener
///   reconnected and may have missed some (see `app::spawn_background`);
/// - a verification that raced with an emptying is not stored (the
///   generation moved while it read);
/// - only PostgreSQL gets a cache: a second process on a SQLite file (the
///   CLI revoking a token) has no way to tell the server, and reads there
///   cost no round trip anyway.
///
/// Only successful verifications are kept, and only the hash: the secret
/// itself is never stored. A cached hit does not move the token's
/// `last_used_at`, which is written at most once a minute anyway.
pub struct TokenCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    verified: Instant,
}

/// Entries kept at most; past it the cache starts over (a flood of
/// distinct valid tokens is no reason to grow without bound).
const MAX_CACHED_TOKENS: usize = 10_000;

impl TokenCache {
    /// A cache keeping entries `ttl`; `Duration::ZERO` turns it off.
    pub fn new(ttl: Duration) -> TokenCache {
        TokenCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long an entry is trusted without a read.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Forgets every entry (a credential was revoked somewhere).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.entries).clear();
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The principal of a bearer token, from the cache when it verified in
    /// the last `ttl`, else as [`identity::authenticate_token`].
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        secret: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Principal> {
        if self.ttl.is_zero() {
            return identity::authenticate_token(db, secret, now).await;
        }
        let key = secrets::hash(secret);
        if let Some(c) = lock(&self.entries).get(&key)
            && c.verified.elapsed() < self.ttl
            && c.expires_at.is_none_or(|e| e > now)
        {
            return Ok(c.principal.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let (principal, expires_at) = identity::verify_token(db, secret, now).await?;
        let mut entries = lock(&self.entries);
        // Checked under the lock `clear` empties under: an emptying after
        // this check comes after the insert and removes it.
        if self.generation.load(Ordering::SeqCst) == generation {
            if entries.len() >= MAX_CACHED_TOKENS {
                entries.clear();
            }
            entries.insert(
                key,
                Cached {
                    principal: principal.clone(),
                    expires_at,
                    verified: Instant::now(),
                },
            );
        }
        Ok(principal)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Re-checks the credential a connection authenticated with: the same
/// principal when it still holds, `None` when it was revoked, expired or
/// its user was disabled. The WebSocket layer calls it to close
/// subscriptions of revoked credentials.
pub async fn recheck(
    db: &DatabaseConnection,
    principal: &Principal,
    now: DateTime<Utc>,
) -> AppResult<Option<Principal>> {
    match &principal.credential {
        Credential::None => Ok(Some(principal.clone())),
        Credential::Token { id, .. } => {
            let Some(t) = api_token::Entity::find_by_id(*id).one(db).await? else {
                return Ok(None);
            };
            identity::principal_for_token(db, &t, now).await
        }
        Credential::Session { id } => sessions::principal_for_session_id(db, *id, now).await,
        Credential::Proxy => match principal.user_id() {
            Some(uid) => Ok(identity::get_user(db, uid)
                .await?
                .and_then(|u| Principal::for_user(&u, Credential::Proxy))),
            None => Ok(None),
        },
    }
}
