//! Users and API tokens, and turning a credential into a [`Principal`].
//!
//! Invariants: a token's secret exists only in the answer that created it
//! (the table keeps its SHA-256); a revoked or expired token, or one whose
//! user is disabled, authenticates nobody from the next request on; a
//! user's token never carries more than the user's own role.

use chrono::{DateTime, Duration as TimeDelta, Utc};
use entity::{api_token, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::Stamp;
use super::events::{self, NewEvent, Signal};
use super::principal::{Credential, Principal, PrincipalKind, Role, role_word};
use super::secrets;
use crate::error::{AppError, AppResult, is_unique_violation};

pub mod kind {
    pub const USER_CREATED: &str = "user.created";
    pub const USER_DISABLED: &str = "user.disabled";
    pub const TOKEN_CREATED: &str = "token.created";
    pub const TOKEN_REVOKED: &str = "token.revoked";
}

/// `last_used_at` is written at most this often per token, so reads do not
/// turn into a write per request.
const LAST_USED_GRANULARITY: i64 = 60;

// ---------- users ----------

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
}

fn check_name(field: &str, name: &str) -> AppResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            // ASCII only: no look-alike names in votes and the audit trail.
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'));
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "{field} must be 1 to 64 ASCII letters, digits, '-', '_', '.', '@' or '+' (got '{name}')"
            ),
        ))
    }
}

fn check_email(email: &str) -> AppResult<()> {
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !email.contains(' '));
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "email",
            format!("'{email}' is not an email address"),
        ))
    }
}

/// Creates a user; names and emails are unique.
pub async fn create_user(
    db: &DatabaseConnection,
    stamp: &Stamp,
    new: NewUser,
) -> AppResult<(user::Model, Signal)> {
    let name = new.name.trim().to_string();
    check_name("name", &name)?;
    let email = new
        .email
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty());
    if let Some(e) = &email {
        check_email(e)?;
    }
    if name.starts_with("service:") || matches!(name.as_str(), "system" | "cli" | "anonymous") {
        return Err(AppError::bad_input("name", format!("'{name}' is reserved")));
    }
    let txn = db.begin().await?;
    let inserted = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.clone()),
        email: Set(email.clone()),
        role: Set(new.role),
        disabled: Set(false),
        created_at: Set(stamp.now),
        created_by: Set(stamp.actor.clone()),
        email_opt_out: Set(false),
        notify_types: Set(None),
    }
    .insert(&txn)
    .await;
    let user = match inserted {
        Ok(u) => u,
        Err(e) if is_unique_violation(&e) => {
            txn.rollback().await?;
            return Err(AppError::Conflict(format!(
                "a user named '{name}'{} already exists",
                email
                    .map(|e| format!(" or with email {e}"))
                    .unwrap_or_default()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::USER_CREATED,
            payload: json!({ "user_id": user.id, "name": user.name, "role": role_word(user.role) }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((user, signal))
}

pub async fn count_users(conn: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(user::Entity::find().count(conn).await?)
}

pub async fn list_users(
    conn: &impl ConnectionTrait,
    include_disabled: bool,
) -> AppResult<Vec<user::Model>> {
    let mut q = user::Entity::find().order_by_asc(user::Column::Name);
    if !include_disabled {
        q = q.filter(user::Column::Disabled.eq(false));
    }
    Ok(q.all(conn).await?)
}

pub async fn get_user(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find_user(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<user::Model> {
    get_user(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user with id {id}")))
}

pub async fn user_by_name(conn: &impl ConnectionTrait, name: &str) -> AppResult<user::Model> {
    user::Entity::find()
        .filter(user::Column::Name.eq(name))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user named '{name}'")))
}

pub async fn user_by_email(
    conn: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_ascii_lowercase()))
        .one(conn)
        .await?)
}

/// Disables a user: their tokens and sessions stop working at once (every
/// authentication checks the flag) and their open subscriptions are closed.
pub async fn disable_user(
    db: &DatabaseConnection,
    stamp: &Stamp,
    id: Uuid,
) -> AppResult<(user::Model, Signal)> {
    let txn = db.begin().await?;
    let user = find_user(&txn, id).await?;
    if user.disabled {
        txn.rollback().await?;
        return Err(AppError::Conflict(format!(
            "user '{}' is already disabled",
            user.name
        )));
    }
    if stamp.actor == user.name {
        txn.rollback().await?;
        return Err(AppError::bad_input(
            "id",
            "you cannot disable yourself; ask another admin",
        ));
    }
    let user = user::ActiveModel {
        id: Set(id),
        disabled: Set(true),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::USER_DISABLED,
            payload: json!({ "user_id": user.id, "name": user.name }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((user, signal))
}

/// A user's notification choices: email on or off, and the workflow types
/// they want to hear about (`Some(None)` clears the filter: all types).
pub async fn set_notification_preferences(
    db: &DatabaseConnection,
    known_types: &[String],
    user_id: Uuid,
    email: Option<bool>,
    workflow_types: Option<Option<Vec<String>>>,
) -> AppResult<user::Model> {
    let current = find_user(db, user_id).await?;
    let mut m: user::ActiveModel = current.into();
    if let Some(on) = email {
        m.email_opt_out = Set(!on);
    }
    if let Some(types) = workflow_types {
        m.notify_types = Set(match types {
            Some(t) if !t.is_empty() => {
                for (i, name) in t.iter().enumerate() {
                    if !known_types.contains(name) {
                        return Err(AppError::bad_input(
                            format!("workflowTypes[{i}]"),
                            format!(
                                "unknown workflow type '{name}'; known types: {}",
                                known_types.join(", ")
                            ),
                        ));
                    }
                }
                Some(serde_json::json!(t))
            }
            _ => None,
        });
    }
    Ok(m.update(db).await?)
}

// ---------- tokens ----------

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    /// Exactly one of `user_id` and `service_name`.
    pub user_id: Option<Uuid>,
    pub service_name: Option<String>,
    pub expires_in: Option<TimeDelta>,
}

/// A token as created: the row, and the secret, which exists nowhere else.
pub struct IssuedToken {
    pub token: api_token::Model,
    pub secret: String,
    pub signal: Signal,
}

pub async fn create_token(
    db: &DatabaseConnection,
    stamp: &Stamp,
    new: NewToken,
) -> AppResult<IssuedToken> {
    let name = new.name.trim().to_string();
    if name.is_empty() || name.len() > 128 {
        return Err(AppError::bad_input(
            "name",
            "name must be 1 to 128 characters",
        ));
    }
    let service_name = new.service_name.map(|s| s.trim().to_string());
    match (&new.user_id, &service_name) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(AppError::bad_input(
                "userId",
                "a token belongs to a user (userId) or a service (serviceName): give exactly one",
            ));
        }
        (None, Some(s)) => check_name("serviceName", s)?,
        (Some(_), None) => {}
    }
    if let Some(d) = new.expires_in
        && d <= TimeDelta::zero()
    {
        return Err(AppError::bad_input(
            "expiresInSeconds",
            "expiresInSeconds must be positive",
        ));
    }
    let txn = db.begin().await?;
    if let Some(uid) = new.user_id {
        let user = get_user(&txn, uid)
            .await?
            .ok_or_else(|| AppError::bad_input("userId", format!("no user with id {uid}")))?;
        if user.disabled {
            return Err(AppError::bad_input(
                "userId",
                format!("user '{}' is disabled", user.name),
            ));
        }
        if new.role > user.role {
            return Err(AppError::bad_input(
                "role",
                format!(
                    "a token of user '{}' cannot carry more than the user's role ({})",
                    user.name,
                    role_word(user.role)
                ),
            ));
        }
    }
    let secret = secrets::new_secret(secrets::TOKEN_PREFIX)?;
    let token = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        token_hash: Set(secrets::hash(&secret)),
        role: Set(new.role),
        user_id: Set(new.user_id),
        service_name: Set(service_name),
        expires_at: Set(new.expires_in.map(|d| stamp.now + d)),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(stamp.now),
        created_by: Set(stamp.actor.clone()),
    }
    .insert(&txn)
    .await?;
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::TOKEN_CREATED,
            payload: json!({
                "token_id": token.id, "name": token.name, "role": role_word(token.role),
                "user_id": token.user_id, "service_name": token.service_name,
            }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedToken {
        token,
        secret,
        signal,
    })
}

pub async fn list_tokens(
    conn: &impl ConnectionTrait,
    include_revoked: bool,
) -> AppResult<Vec<api_token::Model>> {
    let mut q = api_token::Entity::find().order_by_desc(api_token::Column::CreatedAt);
    if !include_revoked {
        q = q.filter(api_token::Column::RevokedAt.is_null());
    }
    Ok(q.all(conn).await?)
}

pub async fn find_token(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<api_token::Model> {
    api_token::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no token with id {id}")))
}

/// Revokes a token: the next request with it is refused, in every process,
/// and its open subscriptions are closed.
pub async fn revoke_token(
    db: &DatabaseConnection,
    stamp: &Stamp,
    id: Uuid,
) -> AppResult<(api_token::Model, Signal)> {
    let txn = db.begin().await?;
    let res = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(stamp.now))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let token = find_token(&txn, id).await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::Conflict(format!(
            "token '{}' was already revoked",
            token.name
        )));
    }
    let signal = events::append(
        &txn,
        stamp,
        NewEvent {
            kind: kind::TOKEN_REVOKED,
            payload: json!({ "token_id": token.id, "name": token.name }),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok((token, signal))
}

/// Whether a token authenticates anyone now.
pub fn token_is_live(
    t: &api_token::Model,
    owner: Option<&user::Model>,
    now: DateTime<Utc>,
) -> bool {
    t.revoked_at.is_none()
        && t.expires_at.is_none_or(|e| e > now)
        && match t.user_id {
            Some(_) => owner.is_some_and(|u| !u.disabled),
            None => true,
        }
}

// ---------- authentication ----------

/// The principal a bearer token stands for, or `UNAUTHENTICATED`. The
/// message never echoes the token.
pub async fn authenticate_token(
    db: &DatabaseConnection,
    secret: &str,
    now: DateTime<Utc>,
) -> AppResult<Principal> {
    Ok(verify_token(db, secret, now).await?.0)
}

/// [`authenticate_token`], also returning when the token expires (for the
/// cache of `credentials::TokenCache`).
pub async fn verify_token(
    db: &DatabaseConnection,
    secret: &str,
    now: DateTime<Utc>,
) -> AppResult<(Principal, Option<DateTime<Utc>>)> {
    let refused = || {
        AppError::Unauthenticated(
            "the token is not valid (unknown, revoked, expired, or its user is disabled)".into(),
        )
    };
    if !secret.starts_with(secrets::TOKEN_PREFIX) || secret.len() > 128 {
        return Err(refused());
    }
    let Some(token) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(secrets::hash(secret)))
        .one(db)
        .await?
    else {
        return Err(refused());
    };
    let principal = principal_for_token(db, &token, now)
        .await?
        .ok_or_else(refused)?;
    let stale = token
        .last_used_at
        .is_none_or(|t| (now - t).num_seconds() >= LAST_USED_GRANULARITY);
    if stale {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    Ok((principal, token.expires_at))
}

/// The principal of a live token; `None` when it authenticates nobody.
pub async fn principal_for_token(
    conn: &impl ConnectionTrait,
    token: &api_token::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<Principal>> {
    let owner = match token.user_id {
        Some(uid) => get_user(conn, uid).await?,
        None => None,
    };
    if !token_is_live(token, owner.as_ref(), now) {
        return Ok(None);
    }
    let credential = Credential::Token {
        id: token.id,
        name: token.name.clone(),
    };
    Ok(Some(match owner {
        Some(u) => Principal {
            id: u.name,
            // A user whose role was lowered after the token was made gets
            // the lower one.
            role: Some(token.role.min(u.role)),
            kind: PrincipalKind::User { user_id: u.id },
            credential,
        },
        None => Principal {
            id: format!(
                "service:{}",
                token.service_name.as_deref().unwrap_or("unknown")
            ),
            role: Some(token.role),
            kind: PrincipalKind::Service,
            credential,
        },
    }))
}

/// The principal for an email asserted by a trusted proxy: the user with
/// that email, or (with a default role) a user created for it on first
/// sight; else `UNAUTHENTICATED`.
pub async fn authenticate_proxy_email(
    db: &DatabaseConnection,
    email: &str,
    default_role: Option<Role>,
    now: DateTime<Utc>,
) -> AppResult<Principal> {
    let email = email.trim().to_ascii_lowercase();
    check_email(&email).map_err(|_| {
        AppError::Unauthenticated("the proxy's identity header holds no email address".into())
    })?;
    let user = match user_by_email(db, &email).await? {
        Some(u) => u,
        None => {
            let Some(role) = default_role else {
                return Err(AppError::Unauthenticated(format!(
                    "{email} is not a Baton user; ask an admin to add it"
                )));
            };
            let stamp = Stamp {
                actor: "system".into(),
                actor_role: None,
                now,
                origin: String::new(),
                notify_email: false,
            };
            let created = create_user(
                db,
                &stamp,
                NewUser {
                    name: email.clone(),
                    email: Some(email.clone()),
                    role,
                },
            )
            .await;
            match created {
                Ok((u, _)) => u,
                // Two first requests raced: the other one created it.
                Err(AppError::Conflict(_)) => {
                    user_by_email(db, &email).await?.ok_or_else(|| {
                        AppError::Unauthenticated(format!("{email} could not be provisioned"))
                    })?
                }
                Err(e) => return Err(e),
            }
        }
    };
    Principal::for_user(&user, Credential::Proxy)
        .ok_or_else(|| AppError::Unauthenticated(format!("user {} is disabled", user.name)))
}
