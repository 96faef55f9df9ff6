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
    /// A bug or an outage: logged in full, shown as an id.
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
    /// A rate limit: `extensions.retryAfterSeconds` says when to retry.
    RateLimited,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::BadUserInput,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::InternalServerError,
        ErrorCode::GraphqlValidationFailed,
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
            other => anyhow::anyhow!(other.message()),
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("database error"))
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
    fn database_errors_become_internal() {
        let err: AppError = DbErr::Custom("syntax error at or near SELECT".into()).into();
        assert_eq!(err.code(), ErrorCode::InternalServerError);
        assert_eq!(err.message(), "internal error");
    }
}
