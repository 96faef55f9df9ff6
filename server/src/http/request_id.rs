//! Request ids: every HTTP request gets one, taken from an incoming
//! `x-request-id` when it is short and printable (so a proxy's id carries
//! through), else a new UUID v7. It is returned in the `x-request-id`
//! response header, recorded on the request's tracing span (so every log
//! line of the request carries it), and readable while the request is
//! handled through [`current`] (GraphQL errors quote it as
//! `extensions.requestId`).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
/// Longest incoming id kept; longer ones are replaced, not truncated.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// An id a client may choose: 1–128 visible ASCII characters (no spaces or
/// control characters that could forge log lines).
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn layer(req: Request, next: Next) -> Response {
    let id: Arc<str> = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string().into(), Into::into);
    let span = tracing::info_span!("http", request_id = %id);
    let mut res = REQUEST_ID
        .scope(id.clone(), next.run(req).instrument(span))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_short_printable_ids_are_kept() {
        assert!(acceptable("abc-123_XYZ:7"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("line\nbreak"));
        assert!(!acceptable(&"x".repeat(129)));
        assert!(acceptable(&"x".repeat(128)));
    }
}
