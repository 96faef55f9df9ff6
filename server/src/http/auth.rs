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
use crate::domain::principal::{Credential, Principal, role_word};
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
        return app.tokens.authenticate(&app.db, token, now).await;
    }
    if let Some(proxy) = &app.config.auth.proxy
        && let Some(value) = headers.get(proxy.header.as_str())
    {
        // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
        let trusted = peer.is_some_and(|p| {
            let ip = p.ip().to_canonical();
            proxy.trusted.iter().any(|n| n.contains(&ip))
        });
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

/// True when the principal was authenticated by something a browser sends
/// on its own (the session cookie, or a proxy's own cookie behind the
/// identity header): those requests must come from Baton's own pages.
pub fn ambient(p: &Principal) -> bool {
    matches!(p.credential, Credential::Session { .. } | Credential::Proxy)
}

/// The origins whose pages may act with the session cookie and open
/// WebSockets: `--allowed-origins`, else the public URL's origin.
pub fn allowed_origins(config: &crate::config::Config) -> Vec<String> {
    if config.http.allowed_origins.is_empty() {
        vec![origin_of(&config.public_url())]
    } else {
        config.http.allowed_origins.clone()
    }
}

/// `scheme://host[:port]` of a URL (its path dropped).
pub fn origin_of(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{host}")
        }
        None => url.to_string(),
    }
}

/// Whether a browser request comes from an allowed page: its `Origin` is
/// one of `allowed` or names this server (the `Host` it was sent to), or,
/// without `Origin`, `Sec-Fetch-Site` says same-origin. A request with
/// neither is not from a browser page (curl, scripts) and passes.
pub fn same_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match text(header::ORIGIN) {
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            let host = origin.split_once("://").map_or(origin, |(_, h)| h);
            allowed.iter().any(|a| origin.eq_ignore_ascii_case(a))
                || text(header::HOST).is_some_and(|h| h.eq_ignore_ascii_case(host))
        }
        None => match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some(site) => matches!(site, "same-origin" | "none"),
            None => true,
        },
    }
}

/// Whether the body is declared JSON: a cross-site form or `text/plain`
/// POST (which needs no CORS preflight) is not.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            let t = t.trim();
            t.eq_ignore_ascii_case("application/json")
                || t.eq_ignore_ascii_case("application/graphql-response+json")
        })
}

/// Refuses a request that carries an ambient credential but could have
/// been forged by another site; `None` lets it through.
pub fn cross_site_refusal(headers: &HeaderMap, allowed: &[String]) -> Option<Response> {
    if !same_origin(headers, allowed) {
        return Some(problem(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this request comes from another site's page; Baton's session works only from its own pages (use an API token elsewhere)",
        ));
    }
    if !is_json(headers) {
        return Some(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "send the request as Content-Type: application/json",
        ));
    }
    None
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
pub async fn sign_in(
    State(s): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // A forged sign-in would put a victim's browser in someone else's
    // session (login CSRF).
    if let Some(refused) = cross_site_refusal(&headers, &allowed_origins(&s.app.config)) {
        return refused;
    }
    let Ok(req) = serde_json::from_slice::<SignIn>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "send JSON: {\"code\": \"…\"} from a sign-in link, or {\"token\": \"baton_…\"}",
        );
    };
    let now = s.app.clock.now();
    let started = match (req.code.as_deref(), req.token.as_deref()) {
        (Some(code), None) => {
            sessions::exchange_code(&s.app.db, code.trim(), &s.app.origin, now).await
        }
        (None, Some(token)) => {
            sessions::exchange_token(&s.app.db, token.trim(), &s.app.origin, now).await
        }
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
    if !same_origin(&headers, &allowed_origins(&s.app.config)) {
        return problem(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "sign out from Baton's own pages",
        );
    }
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

pub fn problem(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn internal(e: AppError) -> Response {
    if let AppError::Unavailable(cause) = &e {
        tracing::warn!(error = %cause, "database unavailable");
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            e.code().as_str(),
            &e.message(),
        );
    }
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

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_servers_own_pages_count_as_same_origin() {
        let public = &["https://baton.example.com".to_string()];
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(
            &headers(&[host, ("origin", "http://127.0.0.1:8080")]),
            public
        ));
        assert!(same_origin(
            &headers(&[host, ("origin", "https://baton.example.com")]),
            public
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "http://evil.example")]),
            public
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "http://127.0.0.1:9999")]),
            public
        ));
        assert!(!same_origin(
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
            public
        ));
        assert!(!same_origin(
            &headers(&[host, ("sec-fetch-site", "same-site")]),
            public
        ));
        assert!(same_origin(
            &headers(&[host, ("sec-fetch-site", "same-origin")]),
            public
        ));
        assert!(
            same_origin(&headers(&[host]), public),
            "not a browser page: curl"
        );
    }

    #[test]
    fn an_origin_is_its_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://baton.example.com/"),
            "https://baton.example.com"
        );
        assert_eq!(
            origin_of("https://example.com:8443/baton/"),
            "https://example.com:8443"
        );
        let allowed = &["http://localhost:5173".to_string()];
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(
            &headers(&[host, ("origin", "http://localhost:5173")]),
            allowed
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "http://localhost:5174")]),
            allowed
        ));
    }

    #[test]
    fn only_json_bodies_count_as_json() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[(
            "content-type",
            "multipart/form-data; boundary=x"
        )])));
        assert!(!is_json(&headers(&[])));
    }

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
