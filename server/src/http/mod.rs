//! The HTTP surface: `/graphql` (POST; GET for queries, GraphiQL and the
//! graphql-ws upgrade), `/healthz`, `/readyz`, and the review app at `/`.

mod auth;
mod decide;
mod graphql;
mod health;
mod metrics;
mod operation;
mod options;
pub mod request_id;
mod spa;
mod ws;

pub use options::{HttpArgs, HttpConfig};

pub use spa::{app_embedded, describe as describe_app};

use std::time::Duration;

use axum::Router;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::BatonSchema;
use crate::state::AppState;

#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: BatonSchema,
    /// The WebSockets' periodic credential re-checks, shared per credential.
    pub rechecks: std::sync::Arc<ws::Rechecks>,
}

pub fn router(app: AppState) -> Router {
    let schema = crate::graphql::schema(Some(app.clone()));
    let timed = app.clone();
    let state = HttpState {
        app,
        schema,
        rechecks: Default::default(),
    };
    // CORS only for the configured origins (`--cors-origins`); none by
    // default. They call with a bearer token and never get the session
    // cookie (no `allow_credentials`, and it is SameSite=Strict), so a page
    // elsewhere cannot act as a signed-in reviewer. The CLI refuses an
    // entry that is not an origin (`options::parse_origin`), so none is
    // lost to the header conversion.
    let cors_origins: Vec<header::HeaderValue> = state
        .app
        .config
        .http
        .cors_origins
        .iter()
        .filter_map(|o| header::HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(cors_origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
        .max_age(Duration::from_secs(3600));
    let max_body = state.app.config.http.max_body_bytes;
    Router::new()
        .route("/auth/session", post(auth::sign_in))
        .route("/auth/signout", post(auth::sign_out))
        .route("/decide/{code}", get(decide::page).post(decide::submit))
        // `/graphql` reads its body itself, to answer 413 as a GraphQL
        // error after draining what the client is still sending.
        .route_layer(RequestBodyLimitLayer::new(max_body))
        .route(
            "/graphql",
            get(graphql::get_handler).post(graphql::post_handler),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::serve))
        // Static files only: GraphQL answers are small, and compressing
        // them beside reflected input and secrets invites BREACH.
        .fallback(get(spa::serve).layer(tower_http::compression::CompressionLayer::new()))
        .with_state(state)
        .layer(axum::middleware::map_response(no_framing))
        .layer(cors)
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(timed, metrics::track))
        .layer(axum::middleware::from_fn(request_id::layer))
}

/// No other site may frame Baton's pages: a framed review page could be
/// clicked through (clickjacking an approval).
async fn no_framing(mut res: axum::response::Response) -> axum::response::Response {
    let h = res.headers_mut();
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("frame-ancestors 'none'"),
    );
    res
}
