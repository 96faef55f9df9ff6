//! GraphQL over HTTP and WebSocket.
//!
//! GET carries queries only (a GET must not change anything: caches and
//! prefetchers replay it); mutations over GET answer 405 with a GraphQL error.
//!
//! Every request runs as the principal `auth::principal` resolves. A
//! WebSocket authenticates once, in `connection_init` (payload key
//! `authorization: "Bearer …"`, or the session cookie of the upgrade), and
//! a missing or bad credential closes it with 4403. While it is open, its
//! credential is re-checked whenever a token is revoked, a user disabled or
//! a session ended (in any process: the events travel by NOTIFY), and every
//! 15 seconds (expiry); once it no longer holds, the socket closes with 4403.

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{FromRequest, FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt, future};
use tokio::sync::broadcast::error::RecvError;

use super::HttpState;
use crate::domain::principal::{Permission, Principal};
use crate::domain::{credentials, identity, sessions};
use crate::engine::signals::Notice;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// How often an open WebSocket re-checks its credential without a hint
/// (expiry; a missed notification). Revocations, disabled users and
/// sign-outs are events and close connections at once.
const RECHECK_EVERY: Duration = Duration::from_secs(15);
/// The close code graphql-ws names for a refused connection.
const CLOSE_FORBIDDEN: u16 = 4403;
/// Marks our refusals among async-graphql's close reasons (see `close_code`).
const REFUSED: &str = "Forbidden: ";

/// A refused credential: 401 with a GraphQL error body, so clients that
/// only read `errors` still see `UNAUTHENTICATED`.
fn refuse(err: AppError) -> Response {
    let code = err.code();
    if code != ErrorCode::Unauthenticated {
        let gql: async_graphql::Error = err.into();
        return GraphQLResponse::from(async_graphql::Response::from_errors(vec![
            gql.into_server_error(Default::default()),
        ]))
        .into_response();
    }
    let mut e = ServerError::new(err.message(), None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    e.extensions = Some(ext);
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        GraphQLResponse::from(async_graphql::Response::from_errors(vec![e])),
    )
        .into_response()
}

pub async fn post_handler(State(s): State<HttpState>, req: Request) -> Response {
    let peer = super::auth::peer(req.extensions());
    let principal = match super::auth::principal(&s.app, req.headers(), peer).await {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    // A browser sends the cookie by itself: such requests must be JSON from
    // Baton's own pages, or another site could post a form (CSRF).
    if super::auth::ambient(&principal)
        && let Some(refused) =
            super::auth::cross_site_refusal(req.headers(), &s.app.config.public_url())
    {
        return refused;
    }
    let gql = match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
        req,
        &(),
    )
    .await
    {
        Ok(r) => r.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    GraphQLResponse::from(code_uncoded(s.schema.execute(gql.data(principal)).await)).into_response()
}

/// Errors async-graphql raises itself (a document that does not parse or
/// validate, an argument of the wrong type) carry no code; every error a
/// client sees should, so they get `GRAPHQL_VALIDATION_FAILED`. Our own
/// errors always set theirs (see `graphql::error`).
fn code_uncoded(mut response: async_graphql::Response) -> async_graphql::Response {
    for err in &mut response.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", ErrorCode::GraphqlValidationFailed.as_str());
        }
    }
    response
}

pub async fn get_handler(State(s): State<HttpState>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        };
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(u) => u,
            Err(e) => return e.into_response(),
        };
        // The upgrade's own credential (the browser's cookie); a token in
        // `connection_init` takes precedence.
        let peer = super::auth::peer(&parts.extensions);
        let from_upgrade = super::auth::principal(&s.app, &parts.headers, peer)
            .await
            .map(|p| {
                // Another site's page may open a socket to us with the
                // browser's cookie (cross-site WebSocket hijacking): its
                // cookie counts for nothing.
                if super::auth::ambient(&p)
                    && !super::auth::same_origin(&parts.headers, &s.app.config.public_url())
                {
                    Principal::unauthenticated()
                } else {
                    p
                }
            });
        let schema = s.schema.clone();
        let app = s.app.clone();
        return upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| serve_socket(socket, schema, protocol, app, from_upgrade));
    }
    let Some(query) = parts.uri.query().filter(|q| !q.is_empty()) else {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .title("Baton GraphQL")
                .finish(),
        )
        .into_response();
    };
    let gql = match async_graphql::http::parse_query_string(query) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if changes_state(&gql.query, gql.operation_name.as_deref()) {
        let err = ServerError::new(
            "mutations and subscriptions need POST (or a WebSocket); GET only runs queries",
            None,
        );
        let body = async_graphql::Response::from_errors(vec![err]);
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            GraphQLResponse::from(body),
        )
            .into_response();
    }
    let peer = super::auth::peer(&parts.extensions);
    let principal = match super::auth::principal(&s.app, &parts.headers, peer).await {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    GraphQLResponse::from(code_uncoded(s.schema.execute(gql.data(principal)).await)).into_response()
}

/// Serves one graphql-ws connection: authenticates it at `connection_init`
/// and closes it (4403) when its credential stops holding.
async fn serve_socket(
    socket: WebSocket,
    schema: crate::graphql::BatonSchema,
    protocol: GraphQLProtocol,
    app: AppState,
    from_upgrade: Result<Principal, AppError>,
) {
    let (mut socket_sink, socket_stream) = socket.split();
    // async-graphql writes into this channel; one writer drains it to the
    // socket, so a revocation can add its own close frame.
    let (tx, mut rx) = mpsc::channel::<Message>(32);
    let kill = tx.clone();
    let gql_sink = tx.with(|m: Message| future::ready(Ok::<_, mpsc::SendError>(close_code(m))));
    let authed: Arc<Mutex<Option<Principal>>> = Arc::default();
    let init_app = app.clone();
    let init_authed = authed.clone();
    let serve = GraphQLWebSocket::new_with_pair(gql_sink, socket_stream, schema, protocol)
        .on_connection_init(move |payload| async move {
            let principal = connection_principal(&init_app, &payload, from_upgrade)
                .await
                .map_err(|m| async_graphql::Error::new(format!("{REFUSED}{m}")))?;
            if let Ok(mut a) = init_authed.lock() {
                *a = Some(principal.clone());
            }
            let mut data = Data::default();
            data.insert(principal);
            Ok(data)
        })
        .serve();
    let driver = async move {
        tokio::select! {
            _ = serve => {}
            _ = until_revoked(&app, &authed) => {
                let mut kill = kill;
                let _ = kill
                    .send(Message::Close(Some(CloseFrame {
                        code: CLOSE_FORBIDDEN,
                        reason: "Forbidden: the credential was revoked".into(),
                    })))
                    .await;
            }
        }
    };
    let writer = async move {
        while let Some(m) = rx.next().await {
            let closing = matches!(m, Message::Close(_));
            if socket_sink.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = socket_sink.close().await;
    };
    tokio::join!(driver, writer);
}

/// The principal of a connection: the `authorization` of the init payload,
/// else the upgrade's credential, else (if allowed) an anonymous reader.
async fn connection_principal(
    app: &AppState,
    payload: &serde_json::Value,
    from_upgrade: Result<Principal, AppError>,
) -> Result<Principal, String> {
    let given = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str());
    let principal = match given {
        Some(v) => {
            let token = v.strip_prefix("Bearer ").unwrap_or(v).trim();
            identity::authenticate_token(&app.db, token, app.clock.now())
                .await
                .map_err(|e| e.message())?
        }
        None => from_upgrade.map_err(|e| e.message())?,
    };
    if !principal.can(Permission::Read) {
        return Err(
            "sign in first: send {\"authorization\": \"Bearer <token>\"} in connection_init".into(),
        );
    }
    Ok(principal)
}

/// async-graphql closes a refused `connection_init` with 1002; the
/// graphql-ws protocol says 4403 (Forbidden).
fn close_code(m: Message) -> Message {
    match m {
        Message::Close(Some(frame)) if frame.reason.as_str().starts_with(REFUSED) => {
            Message::Close(Some(CloseFrame {
                code: CLOSE_FORBIDDEN,
                reason: frame.reason,
            }))
        }
        other => other,
    }
}

/// Resolves when the connection's credential no longer holds.
async fn until_revoked(app: &AppState, authed: &Mutex<Option<Principal>>) {
    let mut notices = app.hub.subscribe();
    let mut hub_open = true;
    let mut tick = tokio::time::interval(RECHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            n = notices.recv(), if hub_open => match n {
                Ok(Notice::Event(s)) if !REVOKING.contains(&s.kind.as_str()) => continue,
                Err(RecvError::Closed) => { hub_open = false; continue; }
                _ => {}
            },
            _ = tick.tick() => {}
        }
        let current = authed.lock().ok().and_then(|a| a.clone());
        let Some(principal) = current else { continue };
        match credentials::recheck(&app.db, &principal, app.clock.now()).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::info!(principal = %principal.id, "closing a subscription connection: its credential was revoked");
                return;
            }
            Err(e) => tracing::warn!(error = ?e, "re-checking a connection's credential failed"),
        }
    }
}

/// Events after which open connections re-check their credentials.
const REVOKING: &[&str] = &[
    identity::kind::TOKEN_REVOKED,
    identity::kind::USER_DISABLED,
    sessions::SESSION_ENDED,
];

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
    use super::changes_state;

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
}
