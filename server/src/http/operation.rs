//! What a GraphQL operation is on either transport (`POST`/`GET /graphql`
//! in `super::graphql`, a `subscribe` message in `super::ws`): the
//! parameters a request carries, checked as the GraphQL-over-HTTP spec
//! says, and the two readings of an answer both transports make: every
//! error coded, and whether it failed before anything ran.

use serde_json::Value;

use crate::error::ErrorCode;

/// A request's parameters, checked against the spec: `query` a string,
/// `operationName` a string or null, `variables` and `extensions` maps or
/// null.
pub fn parse_params(value: Value) -> Result<async_graphql::Request, String> {
    let Value::Object(obj) = &value else {
        return Err("a GraphQL request is a JSON object: {\"query\": \"…\", \"variables\": {…}, \"operationName\": \"…\"}".into());
    };
    match obj.get("query") {
        Some(Value::String(_)) => {}
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("the request has no `query`".into()),
    }
    if !matches!(
        obj.get("operationName"),
        None | Some(Value::Null | Value::String(_))
    ) {
        return Err("`operationName` must be a string or null".into());
    }
    for key in ["variables", "extensions"] {
        if !matches!(obj.get(key), None | Some(Value::Null | Value::Object(_))) {
            return Err(format!("`{key}` must be an object or null"));
        }
    }
    let mut value = value;
    if let Value::Object(obj) = &mut value {
        obj.retain(|_, v| !v.is_null());
    }
    serde_json::from_value(value).map_err(|e| format!("the request does not read: {e}"))
}

/// Errors async-graphql raises itself (a document that does not parse or
/// validate, an argument of the wrong type) carry no code; every error a
/// client sees should, so they get `GRAPHQL_VALIDATION_FAILED`. Our own
/// errors always set theirs (see `graphql::error`).
pub fn code_uncoded(mut response: async_graphql::Response) -> async_graphql::Response {
    for err in &mut response.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", ErrorCode::GraphqlValidationFailed.as_str());
        }
    }
    response
}

/// True when the request failed before execution: a document that does not
/// parse or validate, variables that do not coerce, a limit refused. Such
/// errors carry no path and there is no data.
pub fn failed_before_execution(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_of_the_wrong_type_are_refused() {
        assert!(parse_params(json!({ "query": "{ a }" })).is_ok());
        assert!(
            parse_params(json!({ "query": "{ a }", "variables": null, "operationName": null }))
                .is_ok()
        );
        assert!(parse_params(json!({ "qeury": "{ a }" })).is_err());
        assert!(parse_params(json!({ "query": 0 })).is_err());
        assert!(parse_params(json!({ "query": "{ a }", "variables": "x" })).is_err());
        assert!(parse_params(json!({ "query": "{ a }", "operationName": 1 })).is_err());
        assert!(parse_params(json!({ "query": "{ a }", "extensions": [] })).is_err());
        assert!(parse_params(json!(["x"])).is_err());
    }
}
