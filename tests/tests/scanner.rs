//! The checks GraphQL security scanners run (alias overloading, field
//! duplication, directive overloading, circular introspection, deep
//! nesting, expensive lists, token floods, introspection and suggestions
//! when disabled), against the real server in its default configuration;
//! and every document, input and rate limit at its edge: the maximum
//! passes, one more is refused with a message naming the limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton::app::Overrides;
use baton::config::Config;
use baton_e2e::{Backend, TestApp, gql_error_code};
use serde_json::{Value, json};

async fn spawn(configure: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, configure, Overrides::default()).await
}

/// Asserts `body` was refused by `limit` before anything ran.
#[track_caller]
fn assert_refused(body: &Value, code: &str, limit: &str, option: &str) {
    assert!(body["data"].is_null(), "expected no data: {body:#}");
    assert_eq!(gql_error_code(body), code, "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], limit, "{body:#}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(option),
        "the message names {option}: {message}"
    );
}

#[track_caller]
fn assert_ok(body: &Value) {
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    assert!(body["data"].is_object(), "{body:#}");
}

fn aliases(n: usize) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
    format!("{{ {} }}", fields.join(" "))
}

/// The query GraphiQL and graphql-js clients send (`getIntrospectionQuery`).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

#[tokio::test]
async fn scanner_attacks_are_refused_in_the_default_configuration() {
    let app = spawn(|_| {}).await;

    // Alias overloading: 1,000 aliases in one document.
    let body = app.gql(&aliases(1_000), json!({})).await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "aliases",
        "BATON_MAX_ALIASES",
    );

    // Field duplication: one field 1,000 times.
    let body = app
        .gql(&format!("{{ {} }}", "__typename ".repeat(1_000)), json!({}))
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "duplicateFields",
        "BATON_MAX_DUPLICATE_FIELDS",
    );

    // Directive overloading: 200 directives on one field.
    let body = app
        .gql(
            &format!("{{ __typename {} }}", "@include(if: true) ".repeat(200)),
            json!({}),
        )
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "directives",
        "BATON_MAX_DIRECTIVES",
    );

    // Circular introspection, 8 levels of type → fields → type.
    let mut circular = String::from("{ __schema { types { name } } __type(name: \"Workflow\") { ");
    for _ in 0..8 {
        circular.push_str("fields { type { ");
    }
    circular.push_str("name");
    circular.push_str(&" } }".repeat(8));
    circular.push_str(" } }");
    let body = app.gql(&circular, json!({})).await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "introspectionNesting",
        "BATON_MAX_INTROSPECTION_NESTING",
    );

    // Deep nesting through a cycle of the schema (Workflow.chain), 20 and
    // 200 levels deep.
    for levels in [20, 200] {
        let query = format!(
            "{{ workflows(first: 1) {{ edges {{ node {{ {} id {} }} }} }} }}",
            "chain { ".repeat(levels),
            "}".repeat(levels)
        );
        let body = app.gql(&query, json!({})).await;
        assert_refused(
            &body,
            "GRAPHQL_VALIDATION_FAILED",
            "depth",
            "BATON_MAX_DEPTH",
        );
    }

    // An expensive list query: 100 workflows, each with its chain three
    // times over.
    let body = app
        .gql(
            "{ workflows(first: 100) { edges { node { chain { chain { chain { id } } } } } } }",
            json!({}),
        )
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "complexity",
        "BATON_MAX_COMPLEXITY",
    );

    // A token flood: 100,000 tokens, refused before parsing.
    let flood = format!("{{ {} }}", "a ".repeat(100_000));
    let body = app.gql(&flood, json!({})).await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "tokens",
        "BATON_MAX_TOKENS",
    );

    // What clients really send still works: GraphiQL's introspection query,
    // and a full page of workflows with their approvals and artifacts.
    let body = app.gql(INTROSPECTION, json!({})).await;
    assert_ok(&body);
    assert!(
        body["data"]["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.len() > 20)
    );
    let body = app
        .gql(
            "{ workflows(first: 100) { edges { cursor node { id type status attempt input output error
                approval { id status artifactType votes { decision reviewer { name } } }
                artifacts { id kind version content } llmCalls { model error } } }
                pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_ok(&body);
    // Suggestions are on while introspection is.
    let body = app.gql("{ workflowz { id } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Did you mean"), "{message}");

    // And the server is still up.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(health.status().is_success());
    app.stop().await;
}

#[tokio::test]
async fn without_introspection_schema_and_type_are_refused_and_nothing_is_suggested() {
    let app = spawn(|c| c.limits.introspection = false).await;
    for query in [
        "{ __schema { types { name } } }",
        "{ __type(name: \"Workflow\") { name fields { name } } }",
        INTROSPECTION,
    ] {
        let body = app.gql(query, json!({})).await;
        assert_refused(
            &body,
            "GRAPHQL_VALIDATION_FAILED",
            "introspection",
            "BATON_INTROSPECTION",
        );
        assert!(
            !body.to_string().contains("runWorkflow"),
            "nothing of the schema leaks: {body:#}"
        );
    }
    for query in [
        "{ workflowz { id } }",
        "{ workflows { edges { node { statuz } } } }",
    ] {
        let body = app.gql(query, json!({})).await;
        assert_eq!(
            gql_error_code(&body),
            "GRAPHQL_VALIDATION_FAILED",
            "{body:#}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("Did you mean"), "{message}");
    }
    // Ordinary queries (and __typename) still work.
    assert_ok(
        &app.gql("{ __typename workflowTypes { name } }", json!({}))
            .await,
    );
    app.stop().await;
}

#[tokio::test]
async fn each_document_limit_allows_its_maximum_and_refuses_one_more() {
    let app = spawn(|c| {
        c.limits.max_depth = 4;
        c.limits.max_complexity = 31;
        c.limits.max_aliases = 3;
        c.limits.max_duplicate_fields = 2;
        c.limits.max_directives = 2;
    })
    .await;
    let v = json!({});

    // Depth: workflows > edges > node > id is 4 levels.
    assert_ok(
        &app.gql(
            "{ workflows(first: 1) { edges { node { id } } } }",
            v.clone(),
        )
        .await,
    );
    let body = app
        .gql(
            "{ workflows(first: 1) { edges { node { approval { id } } } } }",
            v.clone(),
        )
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "depth",
        "BATON_MAX_DEPTH",
    );

    // Complexity: first × (edges + node + id) + 1 = 10 × 3 + 1 = 31.
    assert_ok(
        &app.gql(
            "{ workflows(first: 10) { edges { node { id } } } }",
            v.clone(),
        )
        .await,
    );
    let body = app
        .gql(
            "{ workflows(first: 11) { edges { node { id } } } }",
            v.clone(),
        )
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "complexity",
        "BATON_MAX_COMPLEXITY",
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("34"),
        "{body:#}"
    );

    // Aliases.
    assert_ok(&app.gql(&aliases(3), v.clone()).await);
    let body = app.gql(&aliases(4), v.clone()).await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "aliases",
        "BATON_MAX_ALIASES",
    );

    // Duplicated fields, also through inline fragments and spreads.
    assert_ok(&app.gql("{ __typename __typename }", v.clone()).await);
    for query in [
        "{ __typename __typename __typename }",
        "{ __typename ... on Query { __typename __typename } }",
        "query { ...F ...F ...F } fragment F on Query { __typename }",
    ] {
        let body = app.gql(query, v.clone()).await;
        assert_refused(
            &body,
            "GRAPHQL_VALIDATION_FAILED",
            "duplicateFields",
            "BATON_MAX_DUPLICATE_FIELDS",
        );
    }

    // Directives on one field.
    assert_ok(
        &app.gql(
            "{ __typename @include(if: true) @skip(if: false) }",
            v.clone(),
        )
        .await,
    );
    let body = app
        .gql(
            "{ __typename @include(if: true) @skip(if: false) @include(if: true) }",
            v.clone(),
        )
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "directives",
        "BATON_MAX_DIRECTIVES",
    );

    app.stop().await;

    let tokens = spawn(|c| c.limits.max_tokens = 20).await;
    // Tokens: 20, counted as the grammar does (commas and comments are
    // not tokens).
    let twenty = "query Q { a: __typename, b: __typename # three aliases\n c: __typename \
                  workflowTypes { name, description, inputSchema, requiresApproval } }";
    assert_ok(&tokens.gql(twenty, v.clone()).await);
    let body = tokens
        .gql(&twenty.replace("Q {", "Q { __typename"), v.clone())
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "tokens",
        "BATON_MAX_TOKENS",
    );

    tokens.stop().await;

    let defaults = spawn(|_| {}).await;
    // Introspection nesting: type > fields > type > fields is 2.
    assert_ok(
        &defaults
            .gql(
                "{ __type(name: \"Workflow\") { fields { type { fields { name } } } } }",
                v.clone(),
            )
            .await,
    );
    let body = defaults
        .gql("{ __type(name: \"Workflow\") { fields { type { fields { type { fields { name } } } } } } }", v.clone())
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "introspectionNesting",
        "BATON_MAX_INTROSPECTION_NESTING",
    );
    defaults.stop().await;
}

#[tokio::test]
async fn string_and_json_inputs_over_their_size_are_bad_user_input_naming_the_field() {
    let app = spawn(|c| {
        c.limits.max_string_bytes = 100;
        c.limits.max_json_bytes = 300;
    })
    .await;
    let by_variable =
        "query($t: String) { workflows(filter: {type: $t}) { edges { node { id } } } }";
    assert_ok(&app.gql(by_variable, json!({ "t": "x".repeat(100) })).await);
    let body = app.gql(by_variable, json!({ "t": "x".repeat(101) })).await;
    assert_refused(
        &body,
        "BAD_USER_INPUT",
        "stringBytes",
        "BATON_MAX_STRING_BYTES",
    );
    assert_eq!(body["errors"][0]["extensions"]["field"], "$t");

    let literal = |n: usize| {
        format!(
            "{{ workflows(filter: {{type: \"{}\"}}) {{ edges {{ node {{ id }} }} }} }}",
            "y".repeat(n)
        )
    };
    assert_ok(&app.gql(&literal(100), json!({})).await);
    let body = app.gql(&literal(101), json!({})).await;
    assert_refused(
        &body,
        "BAD_USER_INPUT",
        "stringBytes",
        "BATON_MAX_STRING_BYTES",
    );
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "workflows.filter.type"
    );

    // An object input: exactly 300 bytes as JSON passes, 301 does not,
    // wherever its strings are short enough.
    let run = "mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { created } }";
    let body = app.gql(run, json!({ "i": sized(301) })).await;
    assert_refused(&body, "BAD_USER_INPUT", "jsonBytes", "BATON_MAX_JSON_BYTES");
    assert_eq!(body["errors"][0]["extensions"]["field"], "$i");
    let body = app.gql(run, json!({ "i": sized(300) })).await;
    // Within the size limits, the input reaches the workflow's own checks.
    assert!(
        body["errors"][0]["extensions"]["limit"].is_null(),
        "{body:#}"
    );
    app.stop().await;
}

#[tokio::test]
async fn first_above_the_maximum_is_bad_user_input() {
    let app = spawn(|_| {}).await;
    assert_ok(
        &app.gql(
            "{ workflows(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await,
    );
    let body = app
        .gql(
            "{ workflows(first: 101) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "first");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("BATON_MAX_PAGE_SIZE"), "{message}");
    app.stop().await;
}

/// Every connection field, with a page of `first`.
fn connections(first: u32) -> Vec<String> {
    [
        "workflows",
        "approvals",
        "pendingApprovals",
        "deployments",
        "deliveries",
    ]
    .iter()
    .map(|field| format!("{{ {field}(first: {first}) {{ pageInfo {{ hasNextPage }} }} }}"))
    .collect()
}

#[tokio::test]
async fn a_configured_page_maximum_allows_its_size_on_every_connection_and_refuses_one_more() {
    let app = spawn(|c| c.limits.max_page_size = 7).await;
    for query in connections(7) {
        assert_ok(&app.gql(&query, json!({})).await);
    }
    for query in connections(8) {
        let body = app.gql(&query, json!({})).await;
        assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{query}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "first",
            "{body:#}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("between 1 and 7 (BATON_MAX_PAGE_SIZE), got 8"),
            "{query}: {message}"
        );
    }
    // Without `first`, the page is the default 20 cut to the maximum, not
    // a refusal.
    assert_ok(
        &app.gql("{ workflows { pageInfo { hasNextPage } } }", json!({}))
            .await,
    );

    // A larger maximum lets larger pages through, still costed by `first`
    // against the complexity limit.
    let app2 = spawn(|c| c.limits.max_page_size = 500).await;
    assert_ok(
        &app2
            .gql(
                "{ workflows(first: 500) { edges { node { id } } } }",
                json!({}),
            )
            .await,
    );
    let body = app2
        .gql(
            "{ workflows(first: 501) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{body:#}");
    let body = app2
        .gql(
            "{ workflows(first: 500) { edges { node { chain { chain { id } } } } } }",
            json!({}),
        )
        .await;
    assert_refused(
        &body,
        "GRAPHQL_VALIDATION_FAILED",
        "complexity",
        "BATON_MAX_COMPLEXITY",
    );
    app.stop().await;
    app2.stop().await;
}

/// A `RunWorkflowInput` of exactly `bytes` bytes as compact JSON, made of
/// strings of at most 50 bytes.
fn sized(bytes: usize) -> Value {
    let mut tags: Vec<String> = Vec::new();
    loop {
        let v = json!({ "type": "generate_draft", "input": { "prompt": "p", "tags": tags } });
        let len = serde_json::to_string(&v).unwrap().len();
        assert!(len <= bytes, "{bytes} bytes is too small for an input");
        let rest = bytes - len;
        let overhead = if tags.is_empty() { 2 } else { 3 };
        if rest == 0 {
            return v;
        } else if rest < overhead {
            tags.last_mut().expect("a tag").push_str(&"x".repeat(rest));
        } else if rest <= 50 + overhead {
            tags.push("x".repeat(rest - overhead));
        } else {
            tags.push("x".repeat(50));
        }
    }
}

const RUN: &str = "mutation { runWorkflow(input: {type: \"generate_draft\", input: {prompt: \"a scene\"}}) { created } }";
const APPROVE: &str = "mutation($id: ID!) { approve(id: $id, version: 1) { decided } }";

#[tokio::test]
async fn runs_and_decisions_over_the_rate_are_rate_limited_until_the_bucket_refills() {
    let app = spawn(|c| {
        c.engine.workers = 0;
        c.limits.runs_per_min = 60;
        c.limits.runs_burst = 2;
        c.limits.decisions_per_min = 60;
        c.limits.decisions_burst = 1;
    })
    .await;
    for _ in 0..2 {
        assert_ok(&app.gql(RUN, json!({})).await);
    }
    let body = app.gql(RUN, json!({})).await;
    assert_eq!(gql_error_code(&body), "RATE_LIMITED", "{body:#}");
    let retry = body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or(0);
    assert!(retry >= 1, "{body:#}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("BATON_RATE_RUNS_PER_MIN")
    );

    // Another caller has a bucket of its own.
    let (_, other) = app.user_with_token("bo", "SUBMITTER").await;
    assert_ok(&app.gql_as(Some(&other), RUN, json!({})).await);

    // One run per second comes back: the admin is let through again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = app.gql(RUN, json!({})).await;
        if body.get("errors").is_none() {
            break;
        }
        assert_eq!(gql_error_code(&body), "RATE_LIMITED", "{body:#}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bucket never refilled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Decisions: each vote spends one, whatever its outcome.
    let id = uuid::Uuid::now_v7().to_string();
    let body = app.gql(APPROVE, json!({ "id": id })).await;
    assert_eq!(gql_error_code(&body), "NOT_FOUND", "{body:#}");
    let body = app.gql(APPROVE, json!({ "id": id })).await;
    assert_eq!(gql_error_code(&body), "RATE_LIMITED", "{body:#}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("BATON_RATE_DECISIONS_PER_MIN")
    );
    assert!(
        body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    app.stop().await;
}

/// The page of a decision link for `user` on `approval` (version 1), as an
/// approval email would carry it.
async fn decision_link(app: &TestApp, approval: &str, user: &str) -> String {
    let now = chrono::Utc::now();
    let code = baton::domain::decision_links::issue(
        &app.state.db,
        approval.parse().unwrap(),
        user.parse().unwrap(),
        "approve",
        1,
        None,
        now + chrono::TimeDelta::days(1),
        now,
    )
    .await
    .unwrap();
    app.url(&format!("/decide/{code}"))
}

#[tokio::test]
async fn decision_links_spend_the_reviewers_decisions_budget_and_answer_429_with_retry_after() {
    let app = spawn(|c| {
        // One vote back every 30 s: nothing refills while the test runs.
        c.limits.decisions_per_min = 2;
        c.limits.decisions_burst = 1;
    })
    .await;
    let (ana, ana_token) = app.user_with_token("ana", "REVIEWER").await;
    let (bo, _) = app.user_with_token("bo", "REVIEWER").await;
    let mut approvals = Vec::new();
    for scene in ["one", "two"] {
        let run = app
            .run_workflow(
                "generate_draft",
                json!({ "story_id": "s", "scene": scene, "prompt": "Mara finds a letter." }),
                true,
            )
            .await;
        approvals.push(run["approval"]["id"].as_str().unwrap().to_string());
    }

    // ana's link spends her one decision…
    let first = decision_link(&app, &approvals[0], &ana).await;
    let done = app
        .http
        .post(&first)
        .form(&[("feedback", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    // …so her GraphQL vote is refused, and so is her next link.
    let body = app
        .approve_as(&ana_token, &approvals[1], 1, None, None)
        .await;
    assert_eq!(gql_error_code(&body), "RATE_LIMITED", "{body:#}");
    let second = decision_link(&app, &approvals[1], &ana).await;
    let refused = app
        .http
        .post(&second)
        .form(&[("feedback", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "Retry-After: {retry}");
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Too many decisions")
            && page.contains(&format!("Try again in {retry} s"))
            && page.contains("this link still works"),
        "{page}"
    );

    // Nothing was decided, and the link was not spent: it still shows its form.
    let status = app
        .gql_ok(
            "query($id: ID!) { approval(id: $id) { status } }",
            json!({ "id": approvals[1] }),
        )
        .await;
    assert_eq!(status["approval"]["status"], "PENDING");
    let still = app.http.get(&second).send().await.unwrap();
    assert_eq!(still.status(), 200);
    assert!(
        still
            .text()
            .await
            .unwrap()
            .contains("<form method=\"post\">")
    );

    // Another reviewer has a budget of their own.
    let bos = decision_link(&app, &approvals[1], &bo).await;
    let done = app
        .http
        .post(&bos)
        .form(&[("feedback", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    app.stop().await;
}
