//! `AppError` → GraphQL error with `extensions.code`.
//!
//! Clients see a message they can act on and a code from the closed table
//! in `crate::error::ErrorCode`; for bad input also the offending `field`.
//! Internal errors are logged with their full chain under an id and the
//! client sees only that id.

use async_graphql::{Error, ErrorExtensions};
use uuid::Uuid;

use crate::error::AppError;

impl From<AppError> for Error {
    fn from(err: AppError) -> Error {
        let code = err.code().as_str();
        match err {
            AppError::Internal(source) => {
                let id = Uuid::now_v7();
                tracing::error!(error_id = %id, error = ?source, "internal error");
                Error::new(format!(
                    "internal error (id {id}); the server log has the details"
                ))
                .extend_with(|_, e| {
                    e.set("code", code);
                    e.set("errorId", id.to_string());
                })
            }
            AppError::Unavailable(cause) => {
                // Expected during a database restart: a warning, not an
                // error with an id; the client is told to retry.
                tracing::warn!(error = %cause, "database unavailable; answered UNAVAILABLE");
                Error::new(AppError::Unavailable(String::new()).message())
                    .extend_with(|_, e| e.set("code", code))
            }
            AppError::BadInput { field, message } => Error::new(message).extend_with(|_, e| {
                e.set("code", code);
                if let Some(f) = &field {
                    e.set("field", f.as_str());
                }
            }),
            AppError::StateConflict {
                message,
                current_version,
                decided_by,
                decided_at,
            } => Error::new(message).extend_with(|_, e| {
                e.set("code", code);
                if let Some(v) = current_version {
                    e.set("currentVersion", v);
                }
                if let Some(by) = &decided_by {
                    e.set("decidedBy", by.as_str());
                }
                if let Some(at) = decided_at {
                    e.set("decidedAt", at.to_rfc3339());
                }
            }),
            AppError::RateLimited {
                message,
                retry_after_secs,
            } => Error::new(message).extend_with(|_, e| {
                e.set("code", code);
                e.set("retryAfterSeconds", retry_after_secs.max(1));
            }),
            other => Error::new(other.message()).extend_with(|_, e| e.set("code", code)),
        }
    }
}

/// Parses a GraphQL `ID` argument as a Baton id.
pub fn parse_id(arg: &str, id: &async_graphql::ID) -> Result<Uuid, AppError> {
    id.parse::<Uuid>().map_err(|_| {
        AppError::bad_input(
            arg,
            format!("{arg} '{}' is not a valid id (a UUID)", id.as_str()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn extensions(err: AppError) -> serde_json::Value {
        let e: Error = err.into();
        let server = e.into_server_error(async_graphql::Pos::default());
        serde_json::to_value(&server).unwrap_or_default()
    }

    #[test]
    fn each_code_reaches_the_client_as_extensions_code() {
        let cases = [
            (
                AppError::NotFound("no workflow with id x".into()),
                ErrorCode::NotFound,
            ),
            (
                AppError::Conflict("already approved".into()),
                ErrorCode::Conflict,
            ),
            (
                AppError::bad_input("input.prompt", "input.prompt: is required"),
                ErrorCode::BadUserInput,
            ),
            (
                AppError::Unauthenticated("token missing".into()),
                ErrorCode::Unauthenticated,
            ),
            (
                AppError::Forbidden("reviewers only".into()),
                ErrorCode::Forbidden,
            ),
            (
                AppError::Unavailable("pool timed out".into()),
                ErrorCode::Unavailable,
            ),
            (
                AppError::RateLimited {
                    message: "too many runs".into(),
                    retry_after_secs: 3,
                },
                ErrorCode::RateLimited,
            ),
        ];
        for (err, code) in cases {
            let message = err.message();
            let json = extensions(err);
            assert_eq!(json["extensions"]["code"], code.as_str());
            assert_eq!(json["message"], message);
        }
    }

    #[test]
    fn a_state_conflict_carries_who_decided_when_and_the_current_version() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let json = extensions(AppError::StateConflict {
            message: "already approved".into(),
            current_version: Some(2),
            decided_by: Some("ana".into()),
            decided_at: Some(at),
        });
        assert_eq!(json["extensions"]["code"], "CONFLICT");
        assert_eq!(json["extensions"]["currentVersion"], 2);
        assert_eq!(json["extensions"]["decidedBy"], "ana");
        assert_eq!(json["extensions"]["decidedAt"], "2026-11-27T10:00:00+00:00");
    }

    #[test]
    fn a_rate_limit_says_when_to_retry() {
        let json = extensions(AppError::RateLimited {
            message: "too many runs".into(),
            retry_after_secs: 0,
        });
        assert_eq!(json["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(json["extensions"]["retryAfterSeconds"], 1);
    }

    #[test]
    fn bad_input_names_the_field() {
        let json = extensions(AppError::bad_input(
            "input.prompt",
            "input.prompt: is required",
        ));
        assert_eq!(json["extensions"]["field"], "input.prompt");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let cause =
            anyhow::anyhow!("relation \"workflows\" does not exist: SELECT * FROM workflows");
        let json = extensions(AppError::Internal(cause));
        assert_eq!(json["extensions"]["code"], "INTERNAL_SERVER_ERROR");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("internal error (id "), "{message}");
        assert!(!message.contains("SELECT") && !message.contains("relation"));
        assert!(json["extensions"]["errorId"].is_string());
    }
}
