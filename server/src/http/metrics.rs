//! `/metrics` (Prometheus text format, see `crate::metrics`) and the
//! middleware that times every HTTP request by route and status.
//!
//! Who may read it: by default whoever reaches the listen address, as with
//! most Prometheus targets; the figures are counts and durations by type,
//! model, route and operation name, never ids, inputs or secrets. Where the
//! listen address is reachable by people who should not see even that, set
//! `BATON_METRICS_TOKEN` and give the scraper the token
//! (`authorization: Bearer …`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::state::AppState;

pub async fn serve(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(want) = &s.app.config.ops.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), want.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs the metrics token: authorization: Bearer <BATON_METRICS_TOKEN>\n",
            )
                .into_response();
        }
    }
    let gauges = match crate::metrics::database_gauges(&s.app.db, s.app.clock.now()).await {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(error = %e, "reading the metrics from the database failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer; the figures are unavailable\n",
            )
                .into_response();
        }
    };
    let mut res = s.app.metrics.render(&gauges).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Times one request. The route is the router's pattern (`/decide/{code}`,
/// never the code itself); everything the review app answers counts as
/// `static`, so the number of series stays fixed.
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "static".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    app.metrics.http_request(
        &route,
        &method,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}
