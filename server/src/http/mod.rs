//! The HTTP surface: `/graphql` (POST; GET for queries, GraphiQL and the
//! graphql-ws upgrade), `/healthz`, `/readyz`, and the review app at `/`.

mod auth;
mod decide;
mod graphql;
mod health;
mod metrics;
pub mod request_id;
mod spa;

pub use spa::{app_embedded, describe as describe_app};

use std::time::Duration;

use axum::Router;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::BatonSchema;
use crate::state::AppState;

/// Largest request body accepted (a workflow input included).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: BatonSchema,
}

pub fn router(app: AppState) -> Router {
    let schema = crate::graphql::schema(Some(app.clone()));
    let timed = app.clone();
    let state = HttpState { app, schema };
    // Other origins may call the API with a bearer token; they never get
    // the session cookie (no `allow_credentials`, and it is SameSite=Strict),
    // so a page elsewhere cannot act as a signed-in reviewer.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route(
            "/graphql",
            get(graphql::get_handler).post(graphql::post_handler),
        )
        .route("/auth/session", post(auth::sign_in))
        .route("/auth/signout", post(auth::sign_out))
        .route("/decide/{code}", get(decide::page).post(decide::submit))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::serve))
        // Static files only: GraphQL answers are small, and compressing
        // them beside reflected input and secrets invites BREACH.
        .fallback(get(spa::serve).layer(tower_http::compression::CompressionLayer::new()))
        .with_state(state)
        .layer(axum::middleware::map_response(no_framing))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
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
