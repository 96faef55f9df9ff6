//! Sign-in links and browser sessions.
//!
//! A sign-in link carries a single-use code (`/signin#code=…`; in the
//! fragment, so it never reaches a server log or a `Referer`). Exchanging
//! the code, or a pasted API token, creates a session whose random id is
//! the value of an `HttpOnly`, `SameSite=Strict` cookie: a script on the
//! page never holds a credential. Only SHA-256 hashes are stored.
//!
//! Invariant: a code signs in at most once (`UPDATE … WHERE used_at IS NULL`
//! decides the race), and a session works only while it is unexpired, not
//! revoked, and its user (or token) still is.

use chrono::{DateTime, Duration as TimeDelta, Utc};
use entity::{api_token, session, sign_in_code};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::identity;
use super::principal::{Credential, Principal};
use super::secrets;
use crate::error::{AppError, AppResult};

/// The events sign-in links and sessions record.
pub const SIGN_IN_LINK_CREATED: &str = "signin_link.created";
pub const SESSION_STARTED: &str = "session.started";
pub const SESSION_ENDED: &str = "session.ended";

/// How long a sign-in link works.
pub const CODE_TTL: TimeDelta = TimeDelta::hours(24);
/// A session's lifetime from sign-in (the cookie's `Max-Age` says the
/// same, so browser and server agree on when it ends).
pub const SESSION_TTL: TimeDelta = TimeDelta::days(14);

/// A new sign-in code for `user_id`: the code (shown once) and its expiry.
pub async fn issue_code(
    db: &DatabaseConnection,
    stamp: &Stamp,
    user_id: Uuid,
) -> AppResult<(String, DateTime<Utc>)> {
    let user = identity::find_user(db, user_id).await?;
    if user.disabled {
        return Err(AppError::bad_input(
            "userId",
            format!("user '{}' is disabled", user.name),
        ));
    }
    let code = secrets::new_secret("")?;
    let expires_at = stamp.now + CODE_TTL;
    sign_in_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        code_hash: Set(secrets::hash(&code)),
        user_id: Set(user_id),
        created_at: Set(stamp.now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_by: Set(stamp.actor.clone()),
    }
    .insert(db)
    .await?;
    // Who handed out a way in, for whom: a link acts as its user.
    events::append(
        db,
        stamp,
        NewEvent {
            kind: SIGN_IN_LINK_CREATED,
            payload: json!({ "user_id": user.id, "name": user.name, "expires_at": expires_at }),
            ..Default::default()
        },
    )
    .await?;
    Ok((code, expires_at))
}

/// The link a person opens to sign in.
pub fn sign_in_url(public_url: &str, code: &str) -> String {
    format!("{}/signin#code={code}", public_url.trim_end_matches('/'))
}

/// A new session: its cookie value (shown once) and the principal.
pub struct NewSession {
    pub cookie: String,
    pub principal: Principal,
    pub expires_at: DateTime<Utc>,
}

/// Spends a sign-in code on a session.
pub async fn exchange_code(
    db: &DatabaseConnection,
    code: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> AppResult<NewSession> {
    let refused = || {
        AppError::Unauthenticated(
            "this sign-in link is not valid: it was already used, it expired, or it was \
             mistyped; ask an admin for a new one"
                .into(),
        )
    };
    if code.is_empty() || code.len() > 128 {
        return Err(refused());
    }
    let spent = sign_in_code::Entity::update_many()
        .col_expr(sign_in_code::Column::UsedAt, Expr::value(now))
        .filter(sign_in_code::Column::CodeHash.eq(secrets::hash(code)))
        .filter(sign_in_code::Column::UsedAt.is_null())
        .filter(sign_in_code::Column::ExpiresAt.gt(now))
        .exec_with_returning(db)
        .await?;
    let Some(row) = spent.into_iter().next() else {
        return Err(refused());
    };
    let user = identity::find_user(db, row.user_id).await?;
    let principal = Principal::for_user(&user, Credential::None).ok_or_else(refused)?;
    start(db, Some(user.id), None, principal, "link", origin, now).await
}

/// Turns a pasted API token into a session that acts as the token (and
/// ends when the token is revoked).
pub async fn exchange_token(
    db: &DatabaseConnection,
    token: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> AppResult<NewSession> {
    let principal = identity::authenticate_token(db, token, now).await?;
    let Credential::Token { id, .. } = principal.credential else {
        return Err(AppError::Unauthenticated("not an API token".into()));
    };
    let user_id = principal.user_id();
    start(db, user_id, Some(id), principal, "token", origin, now).await
}

async fn start(
    db: &DatabaseConnection,
    user_id: Option<Uuid>,
    api_token_id: Option<Uuid>,
    principal: Principal,
    method: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> AppResult<NewSession> {
    let cookie = secrets::new_secret("")?;
    let id = Uuid::now_v7();
    let expires_at = now + SESSION_TTL;
    session::ActiveModel {
        id: Set(id),
        token_hash: Set(secrets::hash(&cookie)),
        user_id: Set(user_id),
        api_token_id: Set(api_token_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        last_seen_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    let stamp = Stamp {
        actor: principal.id.clone(),
        actor_role: principal.role,
        now,
        origin: origin.to_string(),
        notify_email: false,
    };
    events::append(
        db,
        &stamp,
        NewEvent {
            kind: SESSION_STARTED,
            payload: json!({ "session_id": id, "method": method, "api_token_id": api_token_id }),
            ..Default::default()
        },
    )
    .await?;
    let principal = Principal {
        credential: Credential::Session { id },
        ..principal
    };
    Ok(NewSession {
        cookie,
        principal,
        expires_at,
    })
}

/// The principal behind a session cookie, or `UNAUTHENTICATED`.
pub async fn authenticate(
    db: &DatabaseConnection,
    cookie: &str,
    now: DateTime<Utc>,
) -> AppResult<Principal> {
    let refused = || AppError::Unauthenticated("your session has ended; sign in again".to_string());
    if cookie.is_empty() || cookie.len() > 128 {
        return Err(refused());
    }
    let Some(s) = session::Entity::find()
        .filter(session::Column::TokenHash.eq(secrets::hash(cookie)))
        .one(db)
        .await?
    else {
        return Err(refused());
    };
    let principal = principal_for_session(db, &s, now)
        .await?
        .ok_or_else(refused)?;
    // When it was last used, for admins; written at most once a minute.
    if (now - s.last_seen_at).num_seconds() >= 60 {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(s.id))
            .exec(db)
            .await?;
    }
    Ok(principal)
}

pub async fn principal_for_session_id(
    db: &DatabaseConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<Principal>> {
    match session::Entity::find_by_id(id).one(db).await? {
        Some(s) => principal_for_session(db, &s, now).await,
        None => Ok(None),
    }
}

async fn principal_for_session(
    db: &DatabaseConnection,
    s: &session::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<Principal>> {
    if s.revoked_at.is_some() || s.expires_at <= now {
        return Ok(None);
    }
    let principal = if let Some(tid) = s.api_token_id {
        match api_token::Entity::find_by_id(tid).one(db).await? {
            Some(t) => identity::principal_for_token(db, &t, now).await?,
            None => None,
        }
    } else if let Some(uid) = s.user_id {
        identity::get_user(db, uid)
            .await?
            .and_then(|u| Principal::for_user(&u, Credential::None))
    } else {
        None
    };
    Ok(principal.map(|p| Principal {
        credential: Credential::Session { id: s.id },
        ..p
    }))
}

/// Ends a session (sign-out), with a `session.ended` event so the
/// session's open subscriptions close at once, in every process. Unknown
/// or already ended cookies are ignored: signing out twice is not an error.
pub async fn end(
    db: &DatabaseConnection,
    cookie: &str,
    origin: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Signal>> {
    let txn = db.begin().await?;
    let ended = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::TokenHash.eq(secrets::hash(cookie)))
        .filter(session::Column::RevokedAt.is_null())
        .exec_with_returning(&txn)
        .await?;
    let Some(s) = ended.into_iter().next() else {
        txn.rollback().await?;
        return Ok(None);
    };
    let actor = match (s.user_id, s.api_token_id) {
        (Some(uid), _) => identity::get_user(&txn, uid)
            .await?
            .map(|u| (u.name, Some(u.role))),
        (None, Some(tid)) => api_token::Entity::find_by_id(tid)
            .one(&txn)
            .await?
            .map(|t| {
                let service = t.service_name.unwrap_or_else(|| "unknown".into());
                (format!("service:{service}"), Some(t.role))
            }),
        (None, None) => None,
    };
    let (actor, actor_role) = actor.unwrap_or_else(|| ("anonymous".into(), None));
    let stamp = Stamp {
        actor,
        actor_role,
        now,
        origin: origin.to_string(),
        notify_email: false,
    };
    let signal = events::append(
        &txn,
        &stamp,
        NewEvent {
            kind: SESSION_ENDED,
            payload: json!({ "session_id": s.id }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Some(signal))
}
