//! Re-checking a credential after the fact: a WebSocket authenticates once,
//! at `connection_init`, and lives for hours; this says whether what it
//! authenticated with (a token, a session, a proxy's user) still holds.

use chrono::{DateTime, Utc};
use entity::api_token;
use sea_orm::{DatabaseConnection, EntityTrait};

use super::principal::{Credential, Principal};
use super::{identity, sessions};
use crate::error::AppResult;

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
