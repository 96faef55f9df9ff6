//! GraphQL over HTTP and WebSocket.
//!
//! GET carries queries only (a GET must not change anything: caches and
//! prefetchers replay it); mutations over GET answer 405 with a GraphQL error.

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{FromRequest, FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::HttpState;
use crate::domain::Principal;
use crate::error::ErrorCode;

/// The caller of an HTTP request. Until tokens exist, everyone is anonymous.
fn principal_from_headers(_headers: &axum::http::HeaderMap) -> Principal {
    Principal::anonymous()
}

pub async fn post_handler(State(s): State<HttpState>, req: Request) -> Response {
    let principal = principal_from_headers(req.headers());
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
        let schema = s.schema.clone();
        return upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| async move {
                GraphQLWebSocket::new(socket, schema, protocol)
                    .on_connection_init(|_payload| async move {
                        // The connection's principal; tokens will be read
                        // from this payload.
                        let mut data = Data::default();
                        data.insert(Principal::anonymous());
                        Ok(data)
                    })
                    .serve()
                    .await
            });
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
    let principal = principal_from_headers(&parts.headers);
    GraphQLResponse::from(code_uncoded(s.schema.execute(gql.data(principal)).await)).into_response()
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
