//! GraphQL over HTTP, as the GraphQL-over-HTTP specification says
//! (<https://graphql.github.io/graphql-over-http/draft/>), checked by the
//! `graphql-http` audit suite (`tests/http-audit`).
//!
//! - `Accept` picks the response media type: `application/graphql-response+json`
//!   when asked for, else `application/json` (also for `*/*` or no `Accept`);
//!   neither acceptable: 406. The `Content-Type` answered is the one picked.
//! - POST bodies must be `application/json` (or `application/graphql-response+json`):
//!   anything else is 415, which also shuts out cross-site `text/plain` and
//!   form posts (they need no CORS preflight). Bodies over the limit get 413
//!   with a GraphQL error, after the rest of the body has been read (up to a
//!   cap), so the client sees the answer instead of a reset connection.
//! - A body that is not JSON, or whose `query`, `operationName`, `variables`
//!   or `extensions` has the wrong type: 400. A document that fails to parse
//!   or validate, or variables that fail to coerce: 400 with
//!   `application/graphql-response+json` (and no `data`), 200 with
//!   `application/json`, as the spec asks of each. Every error of a request
//!   refused as rate-limited: 429 with `Retry-After`.
//! - GET carries queries only (caches and prefetchers replay a GET):
//!   mutations over GET answer 405 with `Allow: POST`.
//! - Batches (a JSON array of requests) only when `--max-batch` > 1.
//!
//! Every request runs as the principal `auth::principal` resolves; the
//! WebSocket upgrade on `GET /graphql` is served by `super::ws`.

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::HttpState;
use super::operation::{code_uncoded, failed_before_execution, parse_params};
use crate::domain::principal::Principal;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// The media type of GraphQL responses (the spec's own).
pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// How much of an oversized body is still read (and thrown away) so the
/// client gets its 413: a client that is still writing when the server
/// closes sees a reset connection, not the answer. Past this, the
/// connection is closed.
const DRAIN_BEYOND_LIMIT: usize = 16 * 1024 * 1024;
/// The longest the drain of an oversized body may take.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The response media type a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// The media type to answer with, from `Accept`; `None` when the client
/// accepts neither (406). `application/graphql-response+json` wins when it
/// is named with at least the weight of `application/json`; wildcards
/// mean `application/json`, which legacy clients expect.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if accept.iter().all(|a| a.trim().is_empty()) {
        return Some(MediaType::Json);
    }
    let (mut graphql, mut json) = (0.0_f32, 0.0_f32);
    for range in accept.iter().flat_map(|a| a.split(',')) {
        let mut parts = range.split(';');
        let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match ty.as_str() {
            GRAPHQL_RESPONSE => graphql = graphql.max(q),
            "application/json" | "application/*" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    if graphql > 0.0 && graphql >= json {
        Some(MediaType::GraphqlResponse)
    } else if json > 0.0 {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// A response of one GraphQL error with `code`, before any execution.
pub fn request_error(media: MediaType, status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    respond(media, status, &body)
}

/// A request Baton cannot run as sent (bad body or parameters): 400,
/// `BAD_USER_INPUT`.
fn bad_request(media: MediaType, message: &str) -> Response {
    request_error(
        media,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadUserInput.as_str(),
        message,
    )
}

fn respond(media: MediaType, status: StatusCode, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    (status, [(header::CONTENT_TYPE, media.content_type())], text).into_response()
}

/// A response body as the GraphQL spec shapes it: no `data` entry when
/// nothing ran. Serialized straight from async-graphql's values, never
/// through `serde_json::Value` (whose maps sort their keys): fields come
/// back in the order the document selected them.
#[derive(serde::Serialize)]
struct AnswerBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

impl<'a> AnswerBody<'a> {
    fn of(response: &'a async_graphql::Response) -> AnswerBody<'a> {
        AnswerBody {
            data: (!failed_before_execution(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        }
    }
}

/// A refused credential: 401 (`WWW-Authenticate: Bearer`) with a GraphQL
/// error body, so clients that only read `errors` still see the code.
fn refuse(media: MediaType, err: AppError) -> Response {
    let code = err.code();
    if let AppError::Internal(source) = &err {
        tracing::error!(error = ?source, "authenticating a request failed");
    }
    let status = match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut res = request_error(media, status, code.as_str(), &err.message());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// When nothing ran because every error is `RATE_LIMITED`: the longest
/// `retryAfterSeconds` among them (at least 1).
pub fn rate_limited(response: &async_graphql::Response) -> Option<u64> {
    let nothing_ran = match &response.data {
        async_graphql::Value::Null => true,
        async_graphql::Value::Object(fields) => fields
            .values()
            .all(|v| matches!(v, async_graphql::Value::Null)),
        _ => false,
    };
    if response.errors.is_empty() || !nothing_ran {
        return None;
    }
    let mut longest = 1_u64;
    for e in &response.errors {
        let ext = e.extensions.as_ref()?;
        match ext.get("code") {
            Some(async_graphql::Value::String(c)) if c == "RATE_LIMITED" => {}
            _ => return None,
        }
        if let Some(async_graphql::Value::Number(n)) = ext.get("retryAfterSeconds") {
            let secs = n
                .as_u64()
                .or_else(|| n.as_f64().map(|f| f.max(0.0).ceil() as u64))
                .unwrap_or(1);
            longest = longest.max(secs);
        }
    }
    Some(longest)
}

/// The HTTP answer to an executed request.
pub fn execution_response(media: MediaType, response: async_graphql::Response) -> Response {
    let response = code_uncoded(response);
    let before = failed_before_execution(&response);
    // Nothing ran, so there is no `data` entry (GraphQL spec, Response).
    let body = AnswerBody::of(&response);
    if let Some(secs) = rate_limited(&response) {
        let mut res = respond(media, StatusCode::TOO_MANY_REQUESTS, &body);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let status = if before && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(media, status, &body)
}

/// Why a body could not be read.
enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a body of at most `max` bytes. An oversized one is read on (and
/// dropped) up to `DRAIN_BEYOND_LIMIT` more bytes, for at most `DRAIN_FOR`,
/// so the 413 reaches a client that writes its whole body before reading.
async fn read_body(body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if buf.len() + chunk.len() > max {
            let mut seen = buf.len() + chunk.len();
            drop(buf);
            let drain = async {
                while let Some(Ok(c)) = stream.next().await {
                    seen += c.len();
                    if seen > max + DRAIN_BEYOND_LIMIT {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

fn too_large(media: MediaType, max: usize) -> Response {
    let mut res = request_error(
        media,
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BadUserInput.as_str(),
        &format!("the request body is larger than {max} bytes"),
    );
    // What is left of the body is not read; the connection cannot be reused.
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Whether the body's declared media type is one GraphQL requests come in.
fn json_body(headers: &HeaderMap) -> bool {
    super::auth::is_json(headers)
}

pub async fn post_handler(State(s): State<HttpState>, req: Request) -> Response {
    let Some(media) = negotiate(req.headers()) else {
        return not_acceptable();
    };
    if !json_body(req.headers()) {
        return request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput.as_str(),
            "send the request as Content-Type: application/json",
        );
    }
    let peer = super::auth::peer(req.extensions());
    let principal = match super::auth::principal(&s.app, req.headers(), peer).await {
        Ok(p) => p,
        Err(e) => return refuse(media, e),
    };
    // A browser sends the cookie by itself: such requests must come from
    // an allowed page, or another site could act as the signed-in user.
    if super::auth::ambient(&principal)
        && let Some(refused) = super::auth::cross_site_refusal(
            req.headers(),
            &super::auth::allowed_origins(&s.app.config),
        )
    {
        return refused;
    }
    let max = s.app.config.http.max_body_bytes;
    let bytes = match read_body(req.into_body(), max).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(media, max),
        Err(BodyError::Broken) => return bad_request(media, "the request body could not be read"),
    };
    let bad = |message: &str| bad_request(media, message);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return bad("the request body is empty: send {\"query\": \"…\"}");
    }
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return bad(&format!("the request body is not JSON: {e}")),
    };
    match value {
        Value::Array(items) => {
            let max_batch = s.app.config.http.max_batch;
            if max_batch <= 1 {
                return bad("batched requests are off: send one operation per request");
            }
            if items.is_empty() || items.len() > max_batch {
                return bad(&format!(
                    "a batch holds 1 to {max_batch} operations; this one has {}",
                    items.len()
                ));
            }
            let mut requests = Vec::with_capacity(items.len());
            for item in items {
                match parse_params(item) {
                    Ok(r) => requests.push(r),
                    Err(m) => return bad(&m),
                }
            }
            let mut answers = Vec::with_capacity(requests.len());
            for r in requests {
                answers.push(code_uncoded(
                    s.schema
                        .execute(with_request_data(&s.app, r, principal.clone()))
                        .await,
                ));
            }
            let bodies: Vec<AnswerBody<'_>> = answers.iter().map(AnswerBody::of).collect();
            respond(media, StatusCode::OK, &bodies)
        }
        other => match parse_params(other) {
            Ok(r) => execution_response(
                media,
                s.schema
                    .execute(with_request_data(&s.app, r, principal))
                    .await,
            ),
            Err(m) => bad(&m),
        },
    }
}

fn not_acceptable() -> Response {
    request_error(
        MediaType::Json,
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::BadUserInput.as_str(),
        "Baton answers application/graphql-response+json or application/json; the Accept header allows neither",
    )
}

pub async fn get_handler(State(s): State<HttpState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(u) => u,
            Err(e) => return e.into_response(),
        };
        return super::ws::upgrade(s, parts, upgrade).await;
    }
    let query = parts.uri.query().filter(|q| !q.is_empty());
    if query.is_none() && s.app.config.http.graphiql {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .title("Baton GraphQL")
                .finish(),
        )
        .into_response();
    }
    let Some(media) = negotiate(&parts.headers) else {
        return not_acceptable();
    };
    let bad = |message: &str| bad_request(media, message);
    let Some(query) = query else {
        return bad("GET /graphql needs ?query=…");
    };
    let gql = match get_params(query) {
        Ok(r) => r,
        Err(m) => return bad(&m),
    };
    if changes_state(&gql.query, gql.operation_name.as_deref()) {
        let mut res = request_error(
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput.as_str(),
            "mutations and subscriptions need POST (or a WebSocket); GET only runs queries",
        );
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    let peer = super::auth::peer(&parts.extensions);
    let principal: Principal = match super::auth::principal(&s.app, &parts.headers, peer).await {
        Ok(p) => p,
        Err(e) => return refuse(media, e),
    };
    execution_response(
        media,
        s.schema
            .execute(with_request_data(&s.app, gql, principal))
            .await,
    )
}

/// What one operation's resolvers read from their context besides the
/// shared state: the caller, and a fresh set of loaders (their cache is
/// this operation's, see `graphql::loaders`).
fn with_request_data(
    app: &AppState,
    request: async_graphql::Request,
    principal: Principal,
) -> async_graphql::Request {
    request
        .data(principal)
        .data(crate::graphql::loaders::Loaders::new(app.db.clone()))
}

/// The parameters of a GET: `query`, `operationName`, and `variables` and
/// `extensions` as URL-encoded JSON.
fn get_params(query_string: &str) -> Result<async_graphql::Request, String> {
    let mut obj = serde_json::Map::new();
    for (key, value) in form_urlencoded_pairs(query_string) {
        let v = match key.as_str() {
            "query" | "operationName" => Value::String(value),
            "variables" | "extensions" => serde_json::from_str(&value)
                .map_err(|e| format!("`{key}` must be URL-encoded JSON: {e}"))?,
            _ => continue,
        };
        obj.insert(key, v);
    }
    parse_params(Value::Object(obj))
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    let Ok(uri) = format!("/?{q}").parse::<axum::http::Uri>() else {
        return Vec::new();
    };
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|axum::extract::Query(pairs)| pairs)
        .unwrap_or_default()
}

/// True when the operation that would run is not a query. A document that
/// does not parse is left to the executor, which reports it properly.
fn changes_state(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    doc.operations.iter().any(|(name, op)| {
        let selected = match (operation_name, name) {
            (Some(want), Some(n)) => want == n.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        };
        selected && op.node.ty != OperationType::Query
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_may_run_over_get() {
        assert!(!changes_state("{ workflowTypes { name } }", None));
        assert!(changes_state(
            "mutation { cancelWorkflow(id: \"x\") { id } }",
            None
        ));
        let both =
            "query A { workflowTypes { name } } mutation B { retryWorkflow(id: \"x\") { id } }";
        assert!(!changes_state(both, Some("A")));
        assert!(changes_state(both, Some("B")));
    }

    fn accept(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn accept_picks_the_graphql_response_type_only_when_asked_for() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept("application/graphql-response+json")),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }

    fn error(code: &str, retry: Option<i64>) -> async_graphql::ServerError {
        let mut e = async_graphql::ServerError::new("slow down", None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", code);
        if let Some(r) = retry {
            ext.set("retryAfterSeconds", r);
        }
        e.extensions = Some(ext);
        e
    }

    #[test]
    fn a_response_of_only_rate_limit_errors_is_429_with_the_longest_retry_after() {
        let res = async_graphql::Response::from_errors(vec![
            error("RATE_LIMITED", Some(3)),
            error("RATE_LIMITED", Some(17)),
        ]);
        let http = execution_response(MediaType::Json, res);
        assert_eq!(http.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(http.headers()[header::RETRY_AFTER], "17");

        let mixed = async_graphql::Response::from_errors(vec![
            error("RATE_LIMITED", Some(3)),
            error("FORBIDDEN", None),
        ]);
        assert_eq!(
            execution_response(MediaType::Json, mixed).status(),
            StatusCode::OK
        );
    }
}
