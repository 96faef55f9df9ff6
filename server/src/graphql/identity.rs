//! GraphQL types of identity: roles, the viewer, users, tokens, sign-in
//! links. Secrets appear in exactly one place: `CreateTokenPayload.secret`
//! (and the link of `CreateUserPayload`), answered once.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::role::Role as DbRole;
use entity::{api_token, user};

use super::state;
use crate::domain::identity;
use crate::domain::principal::{Credential, Permission, Principal, PrincipalKind};

/// What a principal may do. Each role includes the ones before it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also starts workflows, and cancels or retries its own.
    Submitter,
    /// Also decides approvals, as each approval's policy allows.
    Reviewer,
    /// Everything: users, tokens, policies, deployments, others' workflows.
    Admin,
}

impl From<DbRole> for Role {
    fn from(r: DbRole) -> Self {
        match r {
            DbRole::Viewer => Role::Viewer,
            DbRole::Submitter => Role::Submitter,
            DbRole::Reviewer => Role::Reviewer,
            DbRole::Admin => Role::Admin,
        }
    }
}

impl From<Role> for DbRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => DbRole::Viewer,
            Role::Submitter => DbRole::Submitter,
            Role::Reviewer => DbRole::Reviewer,
            Role::Admin => DbRole::Admin,
        }
    }
}

/// How the caller proved who it is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AuthMethod {
    /// An API token (`Authorization: Bearer`).
    Token,
    /// The review app's session cookie.
    Session,
    /// An identity header from a trusted reverse proxy (SSO).
    Proxy,
    /// No credential; the server allows anonymous reads.
    Anonymous,
}

/// The caller.
pub struct Viewer(pub Principal);

#[Object]
impl Viewer {
    /// The name recorded on what the caller does: a user's name,
    /// `service:NAME` for a service token, `anonymous`.
    async fn name(&self) -> &str {
        &self.0.id
    }
    async fn role(&self) -> Role {
        self.0.role.unwrap_or(DbRole::Viewer).into()
    }
    /// The user, when the caller is one (not for service tokens).
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.user_id() else {
            return Ok(None);
        };
        Ok(identity::get_user(&state(ctx).db, id).await?.map(User))
    }
    /// The API token's name, when the caller used one.
    async fn token_name(&self) -> Option<&str> {
        match &self.0.credential {
            Credential::Token { name, .. } => Some(name),
            _ => None,
        }
    }
    async fn method(&self) -> AuthMethod {
        match (&self.0.credential, &self.0.kind) {
            (Credential::Token { .. }, _) => AuthMethod::Token,
            (Credential::Session { .. }, _) => AuthMethod::Session,
            (Credential::Proxy, _) => AuthMethod::Proxy,
            (Credential::None, PrincipalKind::Anonymous) => AuthMethod::Anonymous,
            (Credential::None, _) => AuthMethod::Token,
        }
    }
    /// May start workflows (SUBMITTER or above).
    async fn can_submit(&self) -> bool {
        self.0.can(Permission::Submit)
    }
    /// May decide approvals (REVIEWER or above; each approval's policy may
    /// narrow it: see `Approval.viewerCanDecide`).
    async fn can_review(&self) -> bool {
        self.0.can(Permission::Review)
    }
    async fn is_admin(&self) -> bool {
        self.0.can(Permission::Admin)
    }
}

/// A person who signs in to Baton.
pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Unique; what rows this user writes record as their actor.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// A disabled user's tokens and sessions do not work.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// Whether notification email reaches this user (they can opt out).
    async fn email_notifications(&self) -> bool {
        !self.0.email_opt_out
    }
    /// Notifications only for these workflow types; null: all.
    async fn notify_workflow_types(&self) -> Option<Vec<String>> {
        self.0.notify_types.as_ref().and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
        })
    }
}

/// An API token (never its secret).
pub struct ApiToken(pub api_token::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// For a user's token, the effective role is the lower of this and the
    /// user's.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The user the token acts as; null for a service token.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.user_id else {
            return Ok(None);
        };
        Ok(identity::get_user(&state(ctx).db, id).await?.map(User))
    }
    /// The service a service token is for.
    async fn service_name(&self) -> Option<&str> {
        self.0.service_name.as_deref()
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// Updated at most once a minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// Whether it authenticates now: not revoked, not expired, its user
    /// (if any) not disabled.
    async fn active(&self, ctx: &Context<'_>) -> Result<bool> {
        let st = state(ctx);
        let owner = match self.0.user_id {
            Some(id) => identity::get_user(&st.db, id).await?,
            None => None,
        };
        Ok(identity::token_is_live(
            &self.0,
            owner.as_ref(),
            st.clock.now(),
        ))
    }
}

/// A one-time sign-in link.
#[derive(SimpleObject)]
pub struct SignInLink {
    /// Opening it signs the person in once; the code is in the fragment, so
    /// it never reaches a server log.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// What `createUser` did.
#[derive(SimpleObject)]
pub struct CreateUserPayload {
    pub user: User,
    /// Give it to the person; it works once. `createSignInLink` makes another.
    pub sign_in_link: SignInLink,
}

/// What `createToken` did.
#[derive(SimpleObject)]
pub struct CreateTokenPayload {
    pub token: ApiToken,
    /// The secret, shown this once: Baton keeps only its hash.
    pub secret: String,
}

/// Adds a person.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Unique: letters, digits, `-`, `_`, `.`, `@`; at most 64.
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
}

/// Creates an API token for a user (acting as them) or a service.
#[derive(InputObject)]
pub struct CreateTokenInput {
    /// What it is for, e.g. `ci` or `ana's laptop`.
    pub name: String,
    /// At most the user's own role, for a user's token.
    pub role: Role,
    /// The user it acts as. Exactly one of `userId` and `serviceName`.
    pub user_id: Option<ID>,
    /// The service a service token is for; its actor name is `service:NAME`.
    pub service_name: Option<String>,
    /// Lifetime in seconds; no expiry when null.
    pub expires_in_seconds: Option<i32>,
}
