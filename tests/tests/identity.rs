//! Identity end to end: the first-start link, sessions, tokens, revocation
//! (also across processes and for open subscriptions), SSO through a
//! trusted proxy, anonymous reads, the CLI, and secrets kept out of logs
//! and out of the database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use baton::app::Overrides;
use baton::clock::ManualClock;
use baton_e2e::app::{post_graphql_as, seed_admin};
use baton_e2e::process::{ServerProcess, baton_bin};
use baton_e2e::ws::Subscription;
use baton_e2e::{Backend, TestApp, TestDb, both_backends, gql_error_code};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { name role method tokenName canSubmit canReview isAdmin } }";

/// POSTs `body` to `/auth/session`; the status, the `Set-Cookie` header and
/// the JSON answer.
async fn sign_in(app: &TestApp, body: Value) -> (u16, Option<String>, Value) {
    let res = app
        .http
        .post(app.url("/auth/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, cookie, res.json().await.unwrap_or(Value::Null))
}

/// `name=value` of a `Set-Cookie` header, as a browser would send it back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_string()
}

async fn gql_with_cookie(app: &TestApp, cookie: &str, query: &str) -> Value {
    app.http
        .post(app.url("/graphql"))
        .header("cookie", cookie)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn code_of(link: &str) -> String {
    link.split("#code=")
        .nth(1)
        .expect("a #code= fragment")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_link_signs_the_admin_in_once_with_an_http_only_cookie() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.auth.bootstrap_admin = true,
        Overrides::default(),
    )
    .await;
    let link = app
        .first_sign_in
        .clone()
        .expect("an empty database gets a first admin");
    assert!(
        link.starts_with(&format!("http://{}/signin#code=", app.address)),
        "the link names the bound address: {link}"
    );

    // Nothing works before signing in.
    let anon = app
        .gql_as(None, "{ workflowTypes { name } }", json!({}))
        .await;
    assert_eq!(gql_error_code(&anon), "UNAUTHENTICATED");
    assert!(app.gql_as(None, VIEWER, json!({})).await["data"]["viewer"].is_null());

    let (status, set_cookie, who) = sign_in(&app, json!({ "code": code_of(&link) })).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who, json!({ "name": "admin", "role": "ADMIN" }));
    let set_cookie = set_cookie.expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{attr} missing: {set_cookie}");
    }
    let cookie = cookie_pair(&set_cookie);
    assert!(cookie.starts_with("baton_session="));

    let me = gql_with_cookie(&app, &cookie, VIEWER).await;
    assert_eq!(me["data"]["viewer"]["name"], "admin");
    assert_eq!(me["data"]["viewer"]["method"], "SESSION");
    assert_eq!(me["data"]["viewer"]["isAdmin"], true);

    // The code is single-use.
    let (again, _, err) = sign_in(&app, json!({ "code": code_of(&link) })).await;
    assert_eq!(again, 401);
    assert_eq!(err["error"]["code"], "UNAUTHENTICATED");

    // Signing out ends the session for good, and its open subscriptions.
    let mut socket = Subscription::from_socket(
        Subscription::init(&app.ws_url(), None, Some(&cookie))
            .await
            .expect("the cookie authenticates the socket"),
    );
    let out = app
        .http
        .post(app.url("/auth/signout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    let cleared = out.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(gql_with_cookie(&app, &cookie, VIEWER).await["data"]["viewer"].is_null());
    let closed = socket.closed(Duration::from_secs(10)).await;
    assert_eq!(
        closed.map(|c| c.0),
        Some(4403),
        "the signed-out session's socket is closed"
    );
    let conn = app.db.connect().await;
    let ended = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM events WHERE kind = 'session.ended' AND actor = 'admin'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(ended, 1, "the sign-out is in the audit trail");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_prints_no_link_and_bad_sign_in_bodies_are_explained() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(
        app.first_sign_in.is_none(),
        "test config asks for no first admin"
    );
    let (status, _, body) = sign_in(&app, json!({ "code": "x", "token": "y" })).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT");
    let (status, _, body) = sign_in(&app, json!({ "code": "made-up" })).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid")
    );
    app.stop().await;
}

both_backends! {
    async fn a_pasted_token_becomes_a_session_that_ends_with_the_token(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, token) = app.user_with_token("ana", "REVIEWER").await;
        let (status, set_cookie, who) = sign_in(&app, json!({ "token": token })).await;
        assert_eq!(status, 200);
        assert_eq!(who["name"], "ana");
        let cookie = cookie_pair(&set_cookie.unwrap());
        let me = gql_with_cookie(&app, &cookie, VIEWER).await;
        assert_eq!(me["data"]["viewer"]["role"], "REVIEWER");
        assert_eq!(me["data"]["viewer"]["canReview"], true);
        assert_eq!(me["data"]["viewer"]["isAdmin"], false);

        let id = token_id(&app, "ana's token").await;
        revoke(&app, &id).await;
        assert!(gql_with_cookie(&app, &cookie, VIEWER).await["data"]["viewer"].is_null());
        app.stop().await;
    }
}

async fn token_id(app: &TestApp, name: &str) -> String {
    let data = app
        .gql_ok("{ apiTokens { id name active } }", json!({}))
        .await;
    data["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .expect("the token is listed")
}

async fn revoke(app: &TestApp, id: &str) {
    let data = app
        .gql_ok(
            "mutation($id: ID!) { revokeToken(id: $id) { id active revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["revokeToken"]["active"], false);
}

both_backends! {
    async fn a_revoked_token_is_refused_at_once_and_its_subscription_is_closed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, token) = app.user_with_token("ana", "VIEWER").await;
        let me = app.gql_as(Some(&token), VIEWER, json!({})).await;
        assert_eq!(me["data"]["viewer"]["tokenName"], "ana's token");
        assert_eq!(me["data"]["viewer"]["method"], "TOKEN");
        let mut sub = app
            .subscribe_as(&token, "subscription { approvalEvents { kind } }", json!({}))
            .await;

        revoke(&app, &token_id(&app, "ana's token").await).await;

        let res = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(gql_error_code(&body), "UNAUTHENTICATED");
        let closed = sub.closed(Duration::from_secs(10)).await;
        assert_eq!(closed.map(|c| c.0), Some(4403), "the open subscription is closed with 4403");

        // And it cannot open a new one.
        let refused = Subscription::init(&app.ws_url(), Some(&token), None).await;
        assert_eq!(refused.err().map(|c| c.0), Some(4403));
        app.stop().await;
    }
}

both_backends! {
    async fn a_disabled_user_is_refused_and_cannot_be_given_new_tokens(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (id, token) = app.user_with_token("bo", "SUBMITTER").await;
        let mut sub = app.subscribe_as(&token, "subscription { workflowCompleted { id } }", json!({})).await;
        let data = app
            .gql_ok("mutation($id: ID!) { disableUser(id: $id) { name disabled } }", json!({ "id": id }))
            .await;
        assert_eq!(data["disableUser"]["disabled"], true);
        let body = app.gql_as(Some(&token), VIEWER, json!({})).await;
        assert_eq!(gql_error_code(&body), "UNAUTHENTICATED");
        assert_eq!(sub.closed(Duration::from_secs(10)).await.map(|c| c.0), Some(4403));
        let again = app
            .gql(
                "mutation($u: ID!) { createToken(input: {name: \"x\", role: VIEWER, userId: $u}) { secret } }",
                json!({ "u": id }),
            )
            .await;
        assert_eq!(gql_error_code(&again), "BAD_USER_INPUT");
        let twice = app.gql("mutation($id: ID!) { disableUser(id: $id) { name } }", json!({ "id": id })).await;
        assert_eq!(gql_error_code(&twice), "CONFLICT");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_never_carry_more_than_their_users_role() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |_| {},
        Overrides {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    let (id, _) = app.user_with_token("cy", "SUBMITTER").await;
    let too_much = app
        .gql(
            "mutation($u: ID!) { createToken(input: {name: \"t\", role: ADMIN, userId: $u}) { secret } }",
            json!({ "u": id }),
        )
        .await;
    assert_eq!(gql_error_code(&too_much), "BAD_USER_INPUT");
    assert_eq!(too_much["errors"][0]["extensions"]["field"], "input.role");
    let both = app
        .gql(
            "mutation($u: ID!) { createToken(input: {name: \"t\", role: VIEWER, userId: $u, serviceName: \"ci\"}) { secret } }",
            json!({ "u": id }),
        )
        .await;
    assert_eq!(gql_error_code(&both), "BAD_USER_INPUT");

    let data = app
        .gql_ok(
            "mutation { createToken(input: {name: \"nightly\", role: SUBMITTER, serviceName: \"ci\", expiresInSeconds: 60}) { secret token { role serviceName expiresAt active } } }",
            json!({}),
        )
        .await;
    let secret = data["createToken"]["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("baton_") && secret.len() >= 49,
        "256 bits: {secret}"
    );
    let me = app.gql_as(Some(&secret), VIEWER, json!({})).await;
    assert_eq!(me["data"]["viewer"]["name"], "service:ci");
    assert_eq!(me["data"]["viewer"]["user"], Value::Null);

    clock.advance(chrono::TimeDelta::seconds(61));
    let late = app.gql_as(Some(&secret), VIEWER, json!({})).await;
    assert_eq!(gql_error_code(&late), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_needs_a_credential_and_the_browser_cookie_is_one() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.auth.bootstrap_admin = true,
        Overrides::default(),
    )
    .await;
    let none = Subscription::init(&app.ws_url(), None, None).await;
    assert_eq!(none.err().map(|c| c.0), Some(4403), "no credential");
    let bad = Subscription::init(&app.ws_url(), Some("baton_not-a-real-token"), None).await;
    assert_eq!(bad.err().map(|c| c.0), Some(4403), "a made-up token");

    let link = app.first_sign_in.clone().unwrap();
    let (_, set_cookie, _) = sign_in(&app, json!({ "code": code_of(&link) })).await;
    let cookie = cookie_pair(&set_cookie.unwrap());
    assert!(
        Subscription::init(&app.ws_url(), None, Some(&cookie))
            .await
            .is_ok(),
        "the upgrade's session cookie authenticates the socket"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_reads_are_off_unless_switched_on_and_never_allow_writes() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.auth.anonymous_read = true,
        Overrides::default(),
    )
    .await;
    let read = app
        .gql_as(
            None,
            "{ workflowTypes { name } viewer { name role method } }",
            json!({}),
        )
        .await;
    assert!(read.get("errors").is_none(), "{read}");
    assert_eq!(read["data"]["viewer"]["name"], "anonymous");
    assert_eq!(read["data"]["viewer"]["method"], "ANONYMOUS");
    let write = app
        .gql_as(
            None,
            "mutation { runWorkflow(input: {type: \"generate_draft\", input: {prompt: \"x\"}}) { created } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_error_code(&write), "FORBIDDEN");
    assert!(
        Subscription::init(&app.ws_url(), None, None).await.is_ok(),
        "anonymous readers may subscribe"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxys_email_header_signs_people_in_and_others_are_ignored() {
    use baton::config::ProxyAuth;
    let trusted = |default_role: Option<entity::role::Role>, nets: &str| {
        let nets: Vec<ipnet::IpNet> = nets.split(',').map(|n| n.parse().unwrap()).collect();
        move |c: &mut baton::config::Config| {
            c.auth.proxy = Some(ProxyAuth {
                header: "X-Forwarded-Email".into(),
                trusted: nets,
                default_role,
            });
        }
    };
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        trusted(Some(entity::role::Role::Viewer), "127.0.0.1/32"),
        Overrides::default(),
    )
    .await;
    let ask = |email: &'static str| {
        let http = app.http.clone();
        let url = app.url("/graphql");
        async move {
            http.post(url)
                .header("X-Forwarded-Email", email)
                .json(&json!({ "query": VIEWER }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let first = ask("Dana@Example.com").await;
    assert_eq!(
        first["data"]["viewer"]["name"], "dana@example.com",
        "{first}"
    );
    assert_eq!(
        first["data"]["viewer"]["role"], "VIEWER",
        "unknown emails get the default role"
    );
    assert_eq!(first["data"]["viewer"]["method"], "PROXY");
    let users = app.gql_ok("{ users { name email role } }", json!({})).await;
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "dana@example.com"),
        "a user was created for the email: {users}"
    );
    // A known email is that user, with their role.
    app.gql_ok(
        "mutation { createUser(input: {name: \"eve\", email: \"eve@example.com\", role: REVIEWER}) { user { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        ask("eve@example.com").await["data"]["viewer"]["name"],
        "eve"
    );
    app.stop().await;

    // Unknown emails refused when no default role is set.
    let strict = TestApp::spawn_with(
        Backend::Sqlite,
        trusted(None, "127.0.0.1/32"),
        Overrides::default(),
    )
    .await;
    let body: Value = strict
        .http
        .post(strict.url("/graphql"))
        .header("X-Forwarded-Email", "mallory@example.com")
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gql_error_code(&body), "UNAUTHENTICATED");
    strict.stop().await;

    // From an address that is not the proxy, the header counts for nothing.
    let elsewhere = TestApp::spawn_with(
        Backend::Sqlite,
        trusted(Some(entity::role::Role::Admin), "10.0.0.0/8"),
        Overrides::default(),
    )
    .await;
    let body: Value = elsewhere
        .http
        .post(elsewhere.url("/graphql"))
        .header("X-Forwarded-Email", "admin@example.com")
        .json(&json!({ "query": "{ users { name } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gql_error_code(&body), "UNAUTHENTICATED", "{body}");
    elsewhere.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_in_one_process_closes_subscriptions_in_another() {
    if !baton_e2e::db::postgres_available().await {
        return;
    }
    let db = TestDb::create(Backend::Postgres).await;
    let admin = seed_admin(&db.url).await;
    let a = ServerProcess::start(&db.url, &[("BATON_WORKERS", "0")]).await;
    let b = ServerProcess::start(&db.url, &[("BATON_WORKERS", "0")]).await;
    let http = reqwest::Client::new();
    let created = post_graphql_as(
        &http,
        &b.url("/graphql"),
        Some(&admin),
        "mutation { createToken(input: {name: \"dash\", role: VIEWER, serviceName: \"dashboard\"}) { secret token { id } } }",
        json!({}),
    )
    .await;
    let secret = created["data"]["createToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let id = created["data"]["createToken"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A verifies the token once over HTTP, so it holds it in its token
    // cache: the revocation below must empty A's cache too.
    let before = post_graphql_as(&http, &a.url("/graphql"), Some(&secret), VIEWER, json!({})).await;
    assert_eq!(before["data"]["viewer"]["tokenName"], "dash", "{before}");
    let mut sub = Subscription::open(
        &format!("ws://{}/graphql", a.address),
        Some(&secret),
        "subscription { approvalEvents { kind } }",
        json!({}),
    )
    .await;

    let revoked = post_graphql_as(
        &http,
        &b.url("/graphql"),
        Some(&admin),
        "mutation($id: ID!) { revokeToken(id: $id) { active } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(revoked["data"]["revokeToken"]["active"], false, "{revoked}");
    let closed = sub.closed(Duration::from_secs(10)).await;
    assert_eq!(
        closed.map(|c| c.0),
        Some(4403),
        "process A closed the socket after B revoked"
    );
    let on_a = post_graphql_as(&http, &a.url("/graphql"), Some(&secret), VIEWER, json!({})).await;
    assert_eq!(gql_error_code(&on_a), "UNAUTHENTICATED");
    a.terminate().await;
    b.terminate().await;
}

/// Runs `baton ARGS…` on `db_url`; stdout on success.
fn baton(db_url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(baton_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", db_url)
        .env("BATON_LOG", "warn")
        .output()
        .expect("run baton");
    assert!(
        out.status.success(),
        "baton {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_adds_users_and_manages_tokens() {
    let db = TestDb::create(Backend::Sqlite).await;
    let added = baton(
        &db.url,
        &[
            "user",
            "add",
            "ana",
            "--email",
            "ana@example.com",
            "--role",
            "reviewer",
        ],
    );
    let link = added
        .lines()
        .find_map(|l| l.strip_prefix("sign in: "))
        .unwrap_or_else(|| panic!("a `sign in:` line: {added}"))
        .to_string();
    let secret = baton(
        &db.url,
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--role",
            "submitter",
            "--expires-in",
            "30d",
        ],
    );
    let secret = secret.trim().to_string();
    assert!(
        secret.starts_with("baton_"),
        "only the secret on stdout: {secret}"
    );
    let listed = baton(&db.url, &["token", "list"]);
    assert!(
        listed.contains("ci") && listed.contains("service:ci"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "the list never shows a secret");
    let users = baton(&db.url, &["user", "list"]);
    assert!(
        users.contains("ana") && users.contains("reviewer"),
        "{users}"
    );

    let app = TestApp::spawn_on(db, |_| {}, Overrides::default()).await;
    let me = app.gql_as(Some(&secret), VIEWER, json!({})).await;
    assert_eq!(me["data"]["viewer"]["name"], "service:ci");
    assert_eq!(me["data"]["viewer"]["role"], "SUBMITTER");
    let (status, _, who) = sign_in(&app, json!({ "code": code_of(&link) })).await;
    assert_eq!((status, who["name"].as_str()), (200, Some("ana")));

    let id = token_id(&app, "ci").await;
    baton(&app.db.url, &["token", "revoke", &id]);
    assert_eq!(
        gql_error_code(&app.gql_as(Some(&secret), VIEWER, json!({})).await),
        "UNAUTHENTICATED"
    );
    baton(&app.db.url, &["user", "disable", "ana"]);
    let users = app
        .gql_ok(
            "{ users(includeDisabled: true) { name disabled } }",
            json!({}),
        )
        .await;
    let ana = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "ana")
        .cloned()
        .unwrap();
    assert_eq!(ana["disabled"], true);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log_and_the_database_keeps_only_hashes() {
    use sha2::{Digest, Sha256};
    let db = TestDb::create(Backend::Sqlite).await;
    let admin = seed_admin(&db.url).await;
    let log_path = std::env::temp_dir().join(format!("baton-log-{}.txt", uuid::Uuid::now_v7()));
    let log = std::fs::File::create(&log_path).unwrap();
    // Everything Baton logs, at debug, request traces included.
    let mut child = tokio::process::Command::new(baton_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "1"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", &db.url)
        .env("BATON_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = first
        .rsplit("baton listening on ")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let http = reqwest::Client::new();
    let gql = format!("{base}/graphql");

    let created = post_graphql_as(
        &http,
        &gql,
        Some(&admin),
        "mutation { createUser(input: {name: \"ana\", role: REVIEWER}) { user { id } signInLink { url } } }",
        json!({}),
    )
    .await;
    let link = created["data"]["createUser"]["signInLink"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let uid = created["data"]["createUser"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = post_graphql_as(
        &http,
        &gql,
        Some(&admin),
        "mutation($u: ID!) { createToken(input: {name: \"laptop\", role: REVIEWER, userId: $u}) { secret } }",
        json!({ "u": uid }),
    )
    .await["data"]["createToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let signed_in = http
        .post(format!("{base}/auth/session"))
        .json(&json!({ "code": code_of(&link) }))
        .send()
        .await
        .unwrap();
    let cookie = cookie_pair(
        signed_in
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap(),
    );
    let cookie_value = cookie.split_once('=').unwrap().1.to_string();
    // Use each credential, including a refused one and a WebSocket.
    post_graphql_as(&http, &gql, Some(&token), VIEWER, json!({})).await;
    post_graphql_as(
        &http,
        &gql,
        Some("baton_wrong-but-secretish"),
        VIEWER,
        json!({}),
    )
    .await;
    http.post(&gql)
        .header("cookie", &cookie)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap();
    let ws = format!("{}/graphql", base.replace("http://", "ws://"));
    let _sub = Subscription::open(
        &ws,
        Some(&token),
        "subscription { approvalEvents { kind } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;

    let logged = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        logged.contains("signed in"),
        "the log is the server's debug log: {}",
        &logged[..logged.len().min(400)]
    );
    for (what, secret) in [
        ("the admin token", admin.as_str()),
        ("a created token", token.as_str()),
        ("a refused token", "baton_wrong-but-secretish"),
        ("the sign-in code", code_of(&link).as_str()),
        ("the session cookie", cookie_value.as_str()),
    ] {
        assert!(!logged.contains(secret), "{what} appears in the server log");
    }

    // The database holds SHA-256 hashes, never the secrets.
    let conn = db.connect().await;
    let hex = |s: &str| baton_e2e::hex(&Sha256::digest(s.as_bytes()));
    let stored: Vec<String> = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT token_hash FROM api_tokens",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "token_hash").unwrap())
        .collect();
    assert!(
        stored.contains(&hex(&token)) && stored.contains(&hex(&admin)),
        "hashes of both tokens are stored"
    );
    let dump = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT token_hash AS v FROM api_tokens UNION ALL SELECT token_hash FROM sessions UNION ALL SELECT code_hash FROM sign_in_codes",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "v").unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        dump.contains(&hex(&cookie_value)),
        "the session is stored as a hash"
    );
    for secret in [&admin, &token, &cookie_value, &code_of(&link)] {
        assert!(!dump.contains(secret.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_fourteen_days_after_sign_in_however_much_it_is_used() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |_| {},
        Overrides {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    let (_, token) = app.user_with_token("ana", "VIEWER").await;
    let (_, set_cookie, _) = sign_in(&app, json!({ "token": token })).await;
    let set_cookie = set_cookie.unwrap();
    assert!(
        set_cookie.contains(&format!("Max-Age={}", 14 * 24 * 3600)),
        "{set_cookie}"
    );
    let cookie = cookie_pair(&set_cookie);
    for _ in 0..13 {
        clock.advance(chrono::TimeDelta::days(1));
        let me = gql_with_cookie(&app, &cookie, VIEWER).await;
        assert_eq!(me["data"]["viewer"]["name"], "ana", "used every day");
    }
    clock.advance(chrono::TimeDelta::days(1) + chrono::TimeDelta::seconds(1));
    assert!(gql_with_cookie(&app, &cookie, VIEWER).await["data"]["viewer"].is_null());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sites_page_cannot_use_the_session_cookie() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, token) = app.user_with_token("ana", "ADMIN").await;
    let (_, set_cookie, _) = sign_in(&app, json!({ "token": token })).await;
    let cookie = cookie_pair(&set_cookie.unwrap());
    let create = |name: &str| {
        json!({ "query": format!("mutation {{ createUser(input: {{name: \"{name}\", role: ADMIN}}) {{ user {{ id }} }} }}") })
            .to_string()
    };
    let post = |content_type: &'static str, origin: Option<&'static str>, body: String| {
        let mut req = app
            .http
            .post(app.url("/graphql"))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    // A form or text/plain POST needs no CORS preflight: refused.
    let plain = post("text/plain", None, create("csrf1")).await.unwrap();
    assert_eq!(plain.status().as_u16(), 415);
    let form = post("application/x-www-form-urlencoded", None, create("csrf2"))
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415);
    // JSON from another origin: refused.
    let evil = post(
        "application/json",
        Some("http://evil.example"),
        create("csrf3"),
    )
    .await
    .unwrap();
    assert_eq!(evil.status().as_u16(), 403);
    let body: Value = evil.json().await.unwrap();
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    // From Baton's own page it works.
    let own = format!("http://{}", app.address);
    let ok = app
        .http
        .post(app.url("/graphql"))
        .header("cookie", &cookie)
        .header("origin", own.as_str())
        .json(&serde_json::from_str::<Value>(&create("fine")).unwrap())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(ok.get("errors").is_none(), "{ok}");
    let users = app.gql_ok("{ users { name } }", json!({})).await;
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert!(
        names.contains(&"fine") && !names.iter().any(|n| n.starts_with("csrf")),
        "{names:?}"
    );

    // A bearer token is not sent by browsers on their own: no such check.
    let bearer = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("origin", "http://elsewhere.example")
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(bearer["data"]["viewer"]["name"], "ana");

    // Nor can another site sign a browser in, or open a socket with its cookie.
    let forged = app
        .http
        .post(app.url("/auth/session"))
        .header("content-type", "text/plain")
        .body(json!({ "token": token }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 415);
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            app.ws_url(),
        )
        .unwrap();
    let h = request.headers_mut();
    h.insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    h.insert("Cookie", cookie.parse().unwrap());
    h.insert("Origin", "http://evil.example".parse().unwrap());
    // The upgrade itself is refused (cross-site WebSocket hijacking).
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 403)
        }
        Err(other) => panic!("expected a 403 answer to the upgrade, got {other:?}"),
        Ok(_) => panic!("a cross-origin upgrade was accepted"),
    }
    // And nobody may frame the app.
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.headers().get("x-frame-options").unwrap(), "DENY");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_links_and_sessions_are_in_the_audit_trail() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app
        .gql_ok(
            "mutation { createUser(input: {name: \"ana\", role: REVIEWER}) { user { id } signInLink { url } } }",
            json!({}),
        )
        .await;
    let link = created["createUser"]["signInLink"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = sign_in(&app, json!({ "code": code_of(&link) })).await;
    assert_eq!(status, 200);
    let conn = app.db.connect().await;
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT kind, actor FROM events WHERE kind IN ('signin_link.created', 'session.started') ORDER BY id",
        ))
        .await
        .unwrap();
    let seen: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "kind").unwrap(),
                r.try_get::<String>("", "actor").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("signin_link.created".to_string(), "admin".to_string()),
            ("session.started".to_string(), "ana".to_string()),
        ],
        "who made the link, and who used it"
    );
    app.stop().await;
}
