//! The one error type of the API, and the closed table of codes clients see.
//!
//! Every variant says what the caller can do about it. Internal errors are
//! logged with their whole chain under an error id; the client only gets the
//! id, never SQL text or a panic message.

use sea_orm::DbErr;

/// What went wrong, phrased for the caller.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into
/// a GraphQL error without a code, and `?` would pick that conversion. The
/// only way out of a resolver is `From<AppError> for async_graphql::Error`
/// (in `graphql::error`), which always sets `extensions.code`.
#[derive(Debug)]
pub enum AppError {
    /// The thing asked for does not exist.
    NotFound(String),
    /// The request is valid but the state changed under it (already decided,
    /// already finished, idempotency key reused for something else).
    Conflict(String),
    /// A decision found the approval moved on: decided by someone, or its
    /// artifact at a newer version. The details let a client say so
    /// ("Ana approved this 2 minutes ago"). Code `CONFLICT`.
    StateConflict {
        message: String,
        current_version: Option<i32>,
        decided_by: Option<String>,
        decided_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The input is wrong; `field` names the offending field when there is one.
    BadInput {
        field: Option<String>,
        message: String,
    },
    /// No or an invalid credential.
    Unauthenticated(String),
    /// Known caller, not allowed.
    Forbidden(String),
    /// Too many runs or decisions for now; try again after
    /// `retry_after_secs` (at least 1).
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The database cannot be reached right now (down, restarting, every
    /// connection busy past the acquire timeout): nothing was done and the
    /// same request may succeed later. The cause is logged, not shown.
    /// Code `UNAVAILABLE`, so a client can tell "retry later" from a bug.
    Unavailable(String),
    /// A bug: logged in full, shown as an id.
    Internal(anyhow::Error),
}

/// The codes a client may see in `extensions.code`. This list is part of the
/// API: add to it, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    NotFound,
    Conflict,
    BadUserInput,
    Unauthenticated,
    Forbidden,
    InternalServerError,
    /// The document does not parse or validate against the schema.
    GraphqlValidationFailed,
    /// A dependency (the database) is unreachable for now; retry later.
    Unavailable,
    /// A rate limit: `extensions.retryAfterSeconds` says when to retry.
    RateLimited,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::BadUserInput,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::InternalServerError,
        ErrorCode::GraphqlValidationFailed,
        ErrorCode::Unavailable,
        ErrorCode::RateLimited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::RateLimited => "RATE_LIMITED",
        }
    }
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Conflict(_) | AppError::StateConflict { .. } => ErrorCode::Conflict,
            AppError::BadInput { .. } => ErrorCode::BadUserInput,
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::Unavailable(_) => ErrorCode::Unavailable,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Internal(_) => ErrorCode::InternalServerError,
        }
    }

    /// The message a client sees (internal errors say only that).
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::Unauthenticated(m)
            | AppError::Forbidden(m)
            | AppError::BadInput { message: m, .. }
            | AppError::RateLimited { message: m, .. }
            | AppError::StateConflict { message: m, .. } => m.clone(),
            AppError::Unavailable(_) => {
                "the database is unavailable right now; nothing was changed, retry later"
                    .to_string()
            }
            AppError::Internal(_) => "internal error".to_string(),
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The error as a sentence for a command line (`anyhow` at the edges):
    /// internal errors keep their whole chain.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            AppError::Internal(inner) => inner,
            AppError::Unavailable(cause) => anyhow::anyhow!("the database is unavailable: {cause}"),
            other => anyhow::anyhow!(other.message()),
        }
    }

    /// An unexpected error; one whose cause is a lost database (a `DbErr`
    /// somewhere in its chain) is `Unavailable` instead.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        if let Some(db) = err
            .chain()
            .find_map(|e| e.downcast_ref::<DbErr>())
            .filter(|db| is_unavailable(db))
        {
            return AppError::Unavailable(db.to_string());
        }
        AppError::Internal(err)
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            return AppError::Unavailable(err.to_string());
        }
        AppError::Internal(anyhow::Error::new(err).context("database error"))
    }
}

/// True when `err` says the database could not be reached or went away,
/// rather than that the statement was wrong: no connection within the
/// acquire timeout, a connection refused or reset, or PostgreSQL saying it
/// is shutting down or starting up (SQLSTATE class 08 "connection
/// exception", 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now). These are worth retrying later; anything else is a bug.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed => true,
                Sqlx::WorkerCrashed => true,
                Sqlx::Database(db) => db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
                _ => false,
            }
        }
        _ => false,
    }
}

/// True when `err` is a unique-constraint violation (both backends).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_screaming_snake_case() {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        for code in codes {
            assert!(
                code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn a_lost_database_is_unavailable_not_internal() {
        use sea_orm::{ConnAcquireErr, RuntimeErr};
        use std::sync::Arc;
        let io = || {
            sea_orm::sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            ))
        };
        let lost = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::Internal("refused".into())),
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(io()))),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(io()))),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(
                sea_orm::sqlx::Error::PoolTimedOut,
            ))),
        ];
        for db in lost {
            let shown = db.to_string();
            let err: AppError = db.into();
            assert_eq!(err.code(), ErrorCode::Unavailable, "{shown}");
            assert!(err.message().contains("retry later"));
            assert!(!err.message().contains("reset"), "the cause is not shown");
        }
        // Wrapped in context on the way up, it is still an outage.
        let wrapped = anyhow::Error::new(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
            .context("loading the approval");
        assert_eq!(AppError::internal(wrapped).code(), ErrorCode::Unavailable);
        let other = anyhow::Error::new(DbErr::Custom("bad".into())).context("x");
        assert_eq!(
            AppError::internal(other).code(),
            ErrorCode::InternalServerError
        );
    }

    #[test]
    fn database_errors_become_internal() {
        let err: AppError = DbErr::Custom("syntax error at or near SELECT".into()).into();
        assert_eq!(err.code(), ErrorCode::InternalServerError);
        assert_eq!(err.message(), "internal error");
    }
}
