//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

use super::HttpState;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
pub async fn readyz(State(s): State<HttpState>) -> (StatusCode, &'static str) {
    let db = &s.app.db;
    let ping = Statement::from_string(db.get_database_backend(), "SELECT 1");
    match db.query_one_raw(ping).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
