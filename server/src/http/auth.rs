//! Who is calling: credentials on HTTP requests and WebSocket upgrades, and
//! the browser's sign-in and sign-out endpoints.
//!
//! A request is authenticated by, in order: `Authorization: Bearer <token>`;
//! the identity header of a trusted reverse proxy (only from its configured
//! addresses); the `baton_session` cookie. A bad bearer token or proxy
//! identity is refused outright (401); a stale cookie counts as no
//! credential, so the review app can show its sign-in screen. Without a
//! credential the caller is unauthenticated (or an anonymous reader, when
//! that is switched on) and every resolver that needs more says so.
//!
//! Credentials are never logged: only the principal's name is.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use crate::domain::principal::{Principal, role_word};
use crate::domain::{identity, sessions};
use crate::error::AppError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "baton_session";

/// The caller of a request with these headers from `peer`.
pub async fn principal(
    app: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<Principal, AppError> {
    let now = app.clock.now();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                AppError::Unauthenticated(
                    "the Authorization header must be `Bearer <token>`".into(),
                )
            })?;
        return identity::authenticate_token(&app.db, token, now).await;
    }
    if let Some(proxy) = &app.config.auth.proxy
        && let Some(value) = headers.get(proxy.header.as_str())
    {
        let trusted = peer.is_some_and(|p| proxy.trusted.iter().any(|n| n.contains(&p.ip())));
        if trusted {
            let email = value.to_str().map_err(|_| {
                AppError::Unauthenticated("the proxy's identity header is not text".into())
            })?;
            return identity::authenticate_proxy_email(&app.db, email, proxy.default_role, now)
                .await;
        }
        // Anyone can send the header; only the proxy's copy counts.
        tracing::warn!(
            peer = ?peer.map(|p| p.ip()),
            header = %proxy.header,
            "ignoring an identity header from an untrusted address"
        );
    }
    if let Some(cookie) = session_cookie(headers) {
        match sessions::authenticate(&app.db, cookie, now).await {
            Ok(p) => return Ok(p),
            Err(AppError::Unauthenticated(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(if app.config.auth.anonymous_read {
        Principal::anonymous_reader()
    } else {
        Principal::unauthenticated()
    })
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The peer address axum recorded for this connection.
pub fn peer(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a)
}

/// What the sign-in endpoint accepts: a code from a sign-in link, or a
/// pasted API token.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    code: Option<String>,
    token: Option<String>,
}

/// `POST /auth/session`: exchanges a sign-in code or an API token for a
/// session cookie (`HttpOnly`, `SameSite=Strict`).
pub async fn sign_in(State(s): State<HttpState>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<SignIn>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "send JSON: {\"code\": \"…\"} from a sign-in link, or {\"token\": \"baton_…\"}",
        );
    };
    let now = s.app.clock.now();
    let started = match (req.code.as_deref(), req.token.as_deref()) {
        (Some(code), None) => sessions::exchange_code(&s.app.db, code.trim(), now).await,
        (None, Some(token)) => sessions::exchange_token(&s.app.db, token.trim(), now).await,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "send exactly one of `code` and `token`",
            );
        }
    };
    match started {
        Ok(session) => {
            let role = session.principal.role.map(role_word).unwrap_or("viewer");
            tracing::info!(principal = %session.principal.id, "signed in");
            let max_age = (session.expires_at - now).num_seconds().max(0);
            let cookie = cookie_header(&s.app, &session.cookie, max_age);
            (
                StatusCode::OK,
                [
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, no_store()),
                ],
                Json(json!({ "name": session.principal.id, "role": role.to_uppercase() })),
            )
                .into_response()
        }
        Err(AppError::Unauthenticated(m)) => {
            problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &m)
        }
        Err(e) => internal(e),
    }
}

/// `POST /auth/signout`: ends the session and clears the cookie.
pub async fn sign_out(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(cookie) = session_cookie(&headers) {
        match sessions::end(&s.app.db, cookie, &s.app.origin, s.app.clock.now()).await {
            Ok(signal) => s.app.hub.publish(signal),
            Err(e) => return internal(e),
        }
    }
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cookie_header(&s.app, "", 0))],
    )
        .into_response()
}

fn cookie_header(app: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if app.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn no_store() -> HeaderValue {
    HeaderValue::from_static("no-store")
}

fn problem(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn internal(e: AppError) -> Response {
    let id = uuid::Uuid::now_v7();
    if let AppError::Internal(source) = &e {
        tracing::error!(error_id = %id, error = ?source, "internal error");
    }
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_SERVER_ERROR",
        &format!("internal error (id {id}); the server log has the details"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; baton_session=abc123 ; other=1"),
        );
        assert_eq!(session_cookie(&h), Some("abc123"));
        let mut none = HeaderMap::new();
        none.insert(header::COOKIE, HeaderValue::from_static("baton_sessionx=1"));
        assert_eq!(session_cookie(&none), None);
    }
}
