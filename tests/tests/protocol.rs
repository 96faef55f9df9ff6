//! GraphQL over HTTP and over WebSocket, as their specifications say:
//! statuses and media types, body and batch limits, CSRF, Origin and CORS,
//! and the graphql-ws close codes. Against the real server on SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton_e2e::ws::RawSocket;
use baton_e2e::{Backend, TestApp};
use serde_json::{Value, json};

const GR: &str = "application/graphql-response+json";

/// POSTs `body` (already serialised) with `accept` (none: no header) and
/// the admin's token; the status, the content type and the JSON answer.
async fn post(
    app: &TestApp,
    accept: Option<&str>,
    content_type: &str,
    body: String,
) -> (u16, String, Value) {
    let mut req = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
        .header("content-type", content_type)
        .body(body);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let res = req.send().await.expect("POST /graphql");
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.expect("a body");
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn post_json(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    post(app, accept, "application/json", body.to_string()).await
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_picks_the_media_type_and_unacceptable_ones_get_406() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let q = json!({ "query": "{ __typename }" });
    for (accept, want) in [
        (Some(GR), GR),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
    ] {
        let (status, ct, body) = post_json(&app, accept, q.clone()).await;
        assert_eq!(status, 200, "{accept:?}: {body}");
        assert!(ct.starts_with(want), "{accept:?} answered {ct}");
        assert!(ct.contains("charset=utf-8"), "{ct}");
        assert_eq!(body["data"]["__typename"], "QueryRoot", "{body}");
    }
    let (status, _, body) = post_json(&app, Some("text/html"), q).await;
    assert_eq!(status, 406);
    assert_eq!(code(&body), "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_are_400_with_the_graphql_response_type_and_200_with_json() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let parse = json!({ "query": "{" });
    let validate = json!({ "query": "{ noSuchField }" });
    let coerce = json!({ "query": "query($id: ID!) { workflow(id: $id) { id } }", "variables": { "id": null } });
    for (name, req) in [
        ("parse", &parse),
        ("validate", &validate),
        ("coerce", &coerce),
    ] {
        let (status, ct, body) = post_json(&app, Some(GR), req.clone()).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(ct.starts_with(GR), "{name}: {ct}");
        assert!(body.get("data").is_none(), "{name}: no data entry: {body}");
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{name}: {body}");

        let (status, ct, body) = post_json(&app, Some("application/json"), req.clone()).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(ct.starts_with("application/json"), "{name}: {ct}");
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{name}: {body}");
    }
    // A resolver's error is not a request error: 200 either way.
    let (status, _, body) = post_json(
        &app,
        Some(GR),
        json!({ "query": "{ workflow(id: \"00000000-0000-0000-0000-000000000000\") { id } }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_and_parameters_get_400_with_a_coded_graphql_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for accept in [GR, "application/json"] {
        for body in [
            "{ \"not a JSON".to_string(),
            String::new(),
            json!({ "qeury": "{ __typename }" }).to_string(),
            json!({ "query": 0 }).to_string(),
            json!({ "query": "{ __typename }", "variables": "x" }).to_string(),
            json!({ "query": "{ __typename }", "operationName": false }).to_string(),
            json!({ "query": "{ __typename }", "extensions": ["x"] }).to_string(),
        ] {
            let (status, ct, answer) =
                post(&app, Some(accept), "application/json", body.clone()).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(ct.starts_with(accept), "{ct}");
            assert_eq!(code(&answer), "BAD_USER_INPUT", "{body}: {answer}");
            let message = answer["errors"][0]["message"].as_str().unwrap_or("");
            assert!(
                !message.is_empty() && !message.contains("Error("),
                "a sentence, not a Debug string: {message}"
            );
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_json_bodies_are_executed_and_mutations_need_post() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let create = json!({ "query": "mutation { createUser(input: {name: \"csrf\", role: ADMIN}) { user { id } } }" }).to_string();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, _, body) = post(&app, None, ct, create.clone()).await;
        assert_eq!(status, 415, "{ct}: {body}");
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
    let users = app.gql_ok("{ users { name } }", json!({})).await;
    assert!(!users.to_string().contains("csrf"), "nothing ran: {users}");
    // GET runs queries, refuses mutations with 405 and `Allow: POST`.
    let get = |query: &'static str, accept: &'static str| {
        app.http
            .get(app.url("/graphql"))
            .bearer_auth(&app.admin_token)
            .header("accept", accept)
            .query(&[("query", query)])
            .send()
    };
    let res = get("mutation { cancelWorkflow(id: \"x\") { id } }", GR)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let body: Value = res.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("POST")
    );
    let res = get("{ __typename }", GR).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(GR)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8_mib_body_is_answered_413_and_a_body_under_the_limit_runs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // A valid request, padded with whitespace to 8 MiB: only its size is wrong.
    let mut big = json!({ "query": "{ __typename }" }).to_string();
    big.push_str(&" ".repeat(8 * 1024 * 1024));
    let (status, ct, body) = post(&app, Some(GR), "application/json", big).await;
    assert_eq!(status, 413, "{body}");
    assert!(ct.starts_with(GR));
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bytes")
    );
    // Under the limit: runs.
    let mut fine = json!({ "query": "{ __typename }" }).to_string();
    fine.push_str(&" ".repeat(1024 * 1024));
    let (status, _, body) = post(&app, None, "application/json", fine).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "QueryRoot");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_refused_by_default_and_run_up_to_the_configured_size() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let one = json!({ "query": "{ __typename }" });
    let (status, _, body) = post_json(&app, None, json!([one, one])).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("batch")
    );
    app.stop().await;

    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.http.max_batch = 3,
        Default::default(),
    )
    .await;
    let (status, _, body) = post_json(&app, None, json!([one, one, { "query": "{ nope }" }])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["data"]["__typename"], "QueryRoot");
    assert_eq!(body[1]["data"]["__typename"], "QueryRoot");
    assert_eq!(code(&body[2]), "GRAPHQL_VALIDATION_FAILED");
    let (status, _, body) = post_json(&app, None, json!([one, one, one, one])).await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_headers_go_only_to_configured_origins() {
    let preflight = |app: &TestApp, origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = preflight(&app, "http://elsewhere.example").await.unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "CORS is off by default: {:?}",
        res.headers()
    );
    app.stop().await;

    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.http.cors_origins = vec!["http://dashboard.example".into()],
        Default::default(),
    )
    .await;
    let res = preflight(&app, "http://dashboard.example").await.unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://dashboard.example"
    );
    let res = preflight(&app, "http://elsewhere.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_posts_and_upgrades_from_unlisted_origins_are_refused() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.http.allowed_origins = vec!["http://localhost:5173".into()],
        Default::default(),
    )
    .await;
    let (_, token) = app.user_with_token("ana", "ADMIN").await;
    let res = app
        .http
        .post(app.url("/auth/session"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let viewer = |origin: &'static str| {
        app.http
            .post(app.url("/graphql"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .json(&json!({ "query": "{ viewer { name } }" }))
            .send()
    };
    let listed = viewer("http://localhost:5173").await.unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    let body: Value = listed.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["name"], "ana");
    let other = viewer("http://localhost:5174").await.unwrap();
    assert_eq!(other.status().as_u16(), 403);

    assert_eq!(
        RawSocket::connect(
            &app.ws_url(),
            Some("graphql-transport-ws"),
            Some("http://evil.example")
        )
        .await
        .err(),
        Some(403)
    );
    let mut ok = RawSocket::connect(
        &app.ws_url(),
        Some("graphql-transport-ws"),
        Some("http://localhost:5173"),
    )
    .await
    .expect("a listed origin may open a socket");
    ok.init(&app.admin_token).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_closes_with_the_codes_its_protocol_names() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| {
            c.http.ws_init_timeout = Duration::from_secs(1);
            c.http.ws_keepalive = Duration::from_secs(1);
        },
        Default::default(),
    )
    .await;
    let url = app.ws_url();
    let open = || RawSocket::connect(&url, Some("graphql-transport-ws"), None);
    let limit = Duration::from_secs(10);

    // No connection_init in time: 4408.
    let mut s = open().await.unwrap();
    assert_eq!(s.closed(limit).await.0, 4408);
    // Subscribe before the ack: 4401.
    let mut s = open().await.unwrap();
    s.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } }))
        .await;
    assert_eq!(s.closed(limit).await.0, 4401);
    // A bad credential: 4403.
    let mut s = open().await.unwrap();
    s.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } }))
        .await;
    assert_eq!(s.closed(limit).await.0, 4403);
    // Not JSON, an unknown type, a subscribe without id: 4400.
    for bad in [
        "not json",
        "{\"type\":\"hello\"}",
        "{\"type\":\"subscribe\",\"payload\":{\"query\":\"{ __typename }\"}}",
    ] {
        let mut s = open().await.unwrap();
        s.init(&app.admin_token).await;
        s.send_text(bad).await;
        assert_eq!(s.closed(limit).await.0, 4400, "{bad}");
    }
    // A second connection_init: 4429.
    let mut s = open().await.unwrap();
    s.init(&app.admin_token).await;
    s.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(s.closed(limit).await.0, 4429);
    // A subscriber id already running: 4409.
    let mut s = open().await.unwrap();
    s.init(&app.admin_token).await;
    let sub = json!({ "id": "a", "type": "subscribe", "payload": { "query": "subscription { approvalEvents { kind } }" } });
    s.send(sub.clone()).await;
    s.send(sub).await;
    let (code, reason) = s.closed(limit).await;
    assert_eq!(code, 4409, "{reason}");
    assert!(reason.contains("already exists"), "{reason}");
    // Only graphql-transport-ws: a client offering none is closed with 4406
    // (one offering only another gets no subprotocol and gives up itself).
    let mut s = RawSocket::connect(&url, None, None).await.unwrap();
    assert_eq!(s.closed(limit).await.0, 4406);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_pings_answers_pongs_and_runs_operations_to_complete() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.http.ws_keepalive = Duration::from_secs(1),
        Default::default(),
    )
    .await;
    let limit = Duration::from_secs(10);
    let mut s = RawSocket::connect(&app.ws_url(), Some("graphql-transport-ws"), None)
        .await
        .unwrap();
    s.init(&app.admin_token).await;
    s.send(json!({ "type": "ping" })).await;
    assert_eq!(s.next(limit).await.unwrap()["type"], "pong");
    // The server's keep-alive.
    loop {
        let m = s.next(limit).await.expect("still open");
        if m["type"] == "ping" {
            break;
        }
    }
    s.send(json!({ "type": "pong" })).await;
    // A query over the socket: next, then complete.
    s.send(json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ __typename }" } }))
        .await;
    let mut seen = Vec::new();
    while seen.last().map(|m: &Value| m["type"].clone()) != Some(json!("complete")) {
        let m = s.next(limit).await.expect("still open");
        if m["type"] != "ping" {
            seen.push(m);
        }
    }
    assert_eq!(seen[0]["type"], "next");
    assert_eq!(seen[0]["id"], "q");
    assert_eq!(seen[0]["payload"]["data"]["__typename"], "QueryRoot");
    // A document that does not validate: `error`, and the id is free again.
    s.send(
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "subscription { nope }" } }),
    )
    .await;
    let err = loop {
        let m = s.next(limit).await.expect("still open");
        if m["type"] != "ping" {
            break m;
        }
    };
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(
        err["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    app.stop().await;
}

/// Fields come back in the order the document selected them (GraphQL
/// spec, "Response Format"), for one operation and in a batch: the body is
/// read as text, since a JSON map would not tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_fields_keep_the_selection_order() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.http.max_batch = 2,
        Default::default(),
    )
    .await;
    let ask = |body: String| {
        app.http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let text = ask(json!({ "query": "{ viewer { role name } }" }).to_string())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.find("\"role\"").unwrap() < text.find("\"name\"").unwrap(),
        "role before name, as selected: {text}"
    );
    let one = json!({ "query": "{ viewer { role name } }" });
    let batch = ask(json!([one, one]).to_string())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        batch.matches("{\"viewer\":{\"role\":").count(),
        2,
        "both answers keep the order: {batch}"
    );
}
