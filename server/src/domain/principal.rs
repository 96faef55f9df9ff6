//! Who is making a request, and what their role lets them do.
//!
//! Every request carries a principal, resolved by `domain::identity` from an
//! API token, a session cookie or a trusted proxy header. Its `id` is what
//! rows record as their actor (`created_by`, `decided_by`, `events.actor`):
//! a user's name, `service:NAME` for a service token, `system` for the
//! engine, `cli` for commands run with direct database access, and
//! `anonymous` only where anonymous read access was switched on.

pub use entity::role::Role;
use uuid::Uuid;

use crate::error::AppError;

/// The caller, taken from the HTTP request or the WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Recorded on every row this principal writes.
    pub id: String,
    /// `None`: not signed in (or the engine itself, see `system`).
    pub role: Option<Role>,
    pub kind: PrincipalKind,
    /// What proved it; the WebSocket layer re-checks it to close the
    /// connections of revoked credentials.
    pub credential: Credential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// No credential.
    Anonymous,
    /// A person with a `users` row.
    User { user_id: Uuid },
    /// A service token (no user); its name is `service:NAME`.
    Service,
    /// The engine (retries, expiry) or a trusted command line.
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    /// An API token in `Authorization: Bearer` (or `connection_init`).
    Token {
        id: Uuid,
        name: String,
    },
    /// The browser's session cookie.
    Session {
        id: Uuid,
    },
    /// An identity header set by a trusted reverse proxy.
    Proxy,
}

/// What an operation needs; `Principal::require` checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Queries and subscriptions.
    Read,
    /// `runWorkflow`; cancelling or retrying one's own workflows.
    Submit,
    /// Voting on approvals (the approval's policy narrows it further).
    Review,
    /// Users, tokens, policies, deployments, others' workflows.
    Admin,
    /// Running workflows as an external worker (claim, heartbeat, complete,
    /// fail): a service token of role submitter or above, or an admin. A
    /// person's session or token below admin may not, so nobody can hand in
    /// a "worker's" result from the review app.
    Work,
}

impl Permission {
    pub fn min_role(self) -> Role {
        match self {
            Permission::Read => Role::Viewer,
            Permission::Submit => Role::Submitter,
            Permission::Review => Role::Reviewer,
            Permission::Admin => Role::Admin,
            Permission::Work => Role::Submitter,
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Submit => "start or change workflows",
            Permission::Review => "decide approvals",
            Permission::Admin => "administer Baton",
            Permission::Work => "run workflows as a worker",
        }
    }
}

impl Principal {
    pub const ANONYMOUS: &'static str = "anonymous";

    /// A caller with no credential: may do nothing.
    pub fn unauthenticated() -> Self {
        Principal {
            id: Self::ANONYMOUS.to_string(),
            role: None,
            kind: PrincipalKind::Anonymous,
            credential: Credential::None,
        }
    }

    /// A caller with no credential on a server that allows anonymous reads.
    pub fn anonymous_reader() -> Self {
        Principal {
            role: Some(Role::Viewer),
            ..Self::unauthenticated()
        }
    }

    /// The engine itself, for writes no person asked for (retries, expiry).
    pub fn system() -> Self {
        Principal {
            id: "system".to_string(),
            role: None,
            kind: PrincipalKind::System,
            credential: Credential::None,
        }
    }

    /// A command run by someone with direct access to the database
    /// (`baton user add`, `baton experiment run`): trusted as an admin.
    pub fn cli() -> Self {
        Principal {
            id: "cli".to_string(),
            role: Some(Role::Admin),
            kind: PrincipalKind::System,
            credential: Credential::None,
        }
    }

    /// The principal of an enabled user; `None` for a disabled one.
    pub fn for_user(u: &entity::user::Model, credential: Credential) -> Option<Principal> {
        (!u.disabled).then(|| Principal {
            id: u.name.clone(),
            role: Some(u.role),
            kind: PrincipalKind::User { user_id: u.id },
            credential,
        })
    }

    pub fn is_authenticated(&self) -> bool {
        self.role.is_some()
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match self.kind {
            PrincipalKind::User { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// True when the principal's role reaches `permission`'s (and, for
    /// [`Permission::Work`], it is a service or an admin).
    pub fn can(&self, permission: Permission) -> bool {
        self.role.is_some_and(|r| r >= permission.min_role())
            && (permission != Permission::Work || self.may_work())
    }

    /// Workers are services; of people, only admins may act as one.
    fn may_work(&self) -> bool {
        matches!(self.kind, PrincipalKind::Service | PrincipalKind::System)
            || self.role.is_some_and(|r| r >= Role::Admin)
    }

    /// `UNAUTHENTICATED` without a credential, `FORBIDDEN` when the role
    /// falls short.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        match self.role {
            None => Err(AppError::Unauthenticated(
                "sign in first: send `Authorization: Bearer <token>` or use the review app's \
                 sign-in link"
                    .into(),
            )),
            Some(_) if permission == Permission::Work && !self.may_work() => {
                Err(AppError::Forbidden(format!(
                    "{} is a person; workflows are run as a worker with a service token (baton \
                     token create --service NAME --role submitter) or by an admin",
                    self.id
                )))
            }
            Some(r) if r >= permission.min_role() => Ok(()),
            Some(r) => Err(AppError::Forbidden(format!(
                "{} has role {}; to {} you need {} or above",
                self.id,
                role_word(r),
                permission.doing(),
                role_word(permission.min_role()),
            ))),
        }
    }
}

pub fn role_word(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer",
        Role::Submitter => "submitter",
        Role::Reviewer => "reviewer",
        Role::Admin => "admin",
    }
}

pub fn parse_role(s: &str) -> Option<Role> {
    Some(match s.to_ascii_lowercase().as_str() {
        "viewer" => Role::Viewer,
        "submitter" => Role::Submitter,
        "reviewer" => Role::Reviewer,
        "admin" => Role::Admin,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(role: Role) -> Principal {
        Principal {
            id: "ana".into(),
            role: Some(role),
            kind: PrincipalKind::Service,
            credential: Credential::None,
        }
    }

    #[test]
    fn each_role_includes_the_ones_below_it() {
        assert!(with(Role::Admin).can(Permission::Review));
        assert!(with(Role::Reviewer).can(Permission::Submit));
        assert!(!with(Role::Submitter).can(Permission::Review));
        assert!(!with(Role::Viewer).can(Permission::Submit));
        assert!(with(Role::Viewer).can(Permission::Read));
    }

    #[test]
    fn only_services_and_admins_work() {
        let service = with(Role::Submitter);
        assert!(service.can(Permission::Work));
        assert!(!with(Role::Viewer).can(Permission::Work));
        let person = |role| Principal {
            kind: PrincipalKind::User {
                user_id: Uuid::nil(),
            },
            ..with(role)
        };
        assert!(!person(Role::Reviewer).can(Permission::Work));
        assert!(person(Role::Admin).can(Permission::Work));
    }

    #[test]
    fn refusals_say_unauthenticated_or_forbidden() {
        use crate::error::ErrorCode;
        let no_one = Principal::unauthenticated();
        let err = no_one.require(Permission::Read).err().map(|e| e.code());
        assert_eq!(err, Some(ErrorCode::Unauthenticated));
        let err = with(Role::Submitter).require(Permission::Review).err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some(ErrorCode::Forbidden));
        let msg = err.map(|e| e.message()).unwrap_or_default();
        assert!(
            msg.contains("submitter") && msg.contains("reviewer"),
            "{msg}"
        );
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!(parse_role("ADMIN"), Some(Role::Admin));
        assert_eq!(parse_role("Reviewer"), Some(Role::Reviewer));
        assert_eq!(parse_role("root"), None);
    }
}
