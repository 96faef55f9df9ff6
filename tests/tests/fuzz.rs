//! Generated documents, variables and inputs thrown at the running server
//! (proptest): every response is a well-formed GraphQL response (a JSON
//! object with `data` and/or `errors`, each error with a string `message`
//! and an `extensions.code`), and the server stays up.
//!
//! Bounded: 250 cases. The seed is printed; `BATON_FUZZ_SEED=<u64>` replays
//! a run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use baton_e2e::{Backend, TestApp};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

const CASES: usize = 250;

/// Field names below the root: real ones, so documents reach resolvers,
/// and a few that do not exist.
const SUBFIELDS: &[&str] = &[
    "id",
    "status",
    "type",
    "edges",
    "node",
    "pageInfo",
    "hasNextPage",
    "endCursor",
    "approval",
    "artifacts",
    "chain",
    "input",
    "output",
    "error",
    "name",
    "__typename",
    "created",
    "workflow",
    "content",
    "nope",
    "fields",
];

const GARBAGE: &[&str] = &[
    "{", "}", "(", ")", ":", "$", "@", "!", "...", "\"", "#", "=", "[", "]", "\u{0}", "é", "query",
    "fragment", "on", "-1e999", "\"\"\"",
];

fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        (-5i64..200).prop_map(|n| format!("first: {n}")),
        "[a-zA-Z0-9_-]{0,40}".prop_map(|s| format!("id: \"{s}\"")),
        Just("id: $id".to_string()),
        Just("input: $input".to_string()),
        Just("filter: $filter".to_string()),
        "[a-z]{0,12}".prop_map(|s| format!("filter: {{ type: \"{s}\", status: COMPLETED }}")),
        "[a-z]{1,8}".prop_map(|s| format!("{s}: null")),
    ]
}

fn selection(depth: u32) -> BoxedStrategy<String> {
    let leaf = (
        prop::option::of("[a-z]{1,6}"),
        prop::sample::select(SUBFIELDS),
    )
        .prop_map(|(alias, f)| match alias {
            Some(a) => format!("{a}: {f}"),
            None => f.to_string(),
        });
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => (prop::sample::select(SUBFIELDS), prop::collection::vec(selection(depth - 1), 1..4))
            .prop_map(|(f, inner)| format!("{f} {{ {} }}", inner.join(" "))),
    ]
    .boxed()
}

fn document(roots: Vec<String>, mutations: Vec<String>) -> impl Strategy<Value = String> {
    let root_field = |names: Vec<String>| {
        (
            prop::sample::select(names),
            prop::collection::vec(argument(), 0..3),
            prop::collection::vec(selection(3), 0..4),
            prop::option::of(Just("@include(if: true)")),
        )
            .prop_map(|(f, args, sel, dir)| {
                let args = if args.is_empty() {
                    String::new()
                } else {
                    format!("({})", args.join(", "))
                };
                let sel = if sel.is_empty() {
                    String::new()
                } else {
                    format!(" {{ {} }}", sel.join(" "))
                };
                format!("{f}{args} {}{sel}", dir.unwrap_or_default())
            })
    };
    let generated = prop_oneof![
        prop::collection::vec(root_field(roots), 1..4)
            .prop_map(|f| format!("query {{ {} }}", f.join(" "))),
        prop::collection::vec(root_field(mutations), 1..2)
            .prop_map(|f| format!("mutation {{ {} }}", f.join(" "))),
    ];
    // Documents that are valid up to their values, so resolvers and input
    // checks run too.
    let templated = (
        prop::sample::select(TEMPLATES),
        -3i64..120,
        "[a-zA-Z0-9 _-]{0,40}",
    )
        .prop_map(|(t, n, s)| t.replace("N", &n.to_string()).replace("S", &s));
    let op = prop_oneof![1 => generated, 2 => templated].prop_map(declare_variables);
    // Garbage: tokens spliced in at random places (in about half of them).
    (
        op,
        prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(GARBAGE)),
            0..3,
        )
        .prop_map(|g| if g.len() == 2 { Vec::new() } else { g }),
    )
        .prop_map(|(mut doc, splices)| {
            for (at, g) in splices {
                let mut i = at.index(doc.len() + 1);
                while !doc.is_char_boundary(i) {
                    i -= 1;
                }
                doc.insert_str(i, &format!(" {g} "));
            }
            doc
        })
}

const TEMPLATES: &[&str] = &[
    "{ workflows(first: N) { edges { cursor node { id type status input output chain { id } } } pageInfo { hasNextPage } } }",
    "{ workflow(id: \"S\") { id status approval { id } artifacts { id content } } }",
    "query { workflow(id: $id) { id } }",
    "{ workflows(filter: $filter, first: N) { edges { node { id } } } }",
    "{ approvals(first: N, filter: {status: PENDING}) { edges { node { id status artifactVersion } } } }",
    "{ pendingApprovals(artifactType: \"S\", first: N) { edges { node { id } } } }",
    "{ workflowTypes { name inputSchema requiresApproval } __typename }",
    "{ history(chainId: \"S\") { __typename } }",
    "mutation { runWorkflow(input: $input) { created workflow { id status } } }",
    "mutation { runWorkflow(input: {type: \"generate_draft\", input: {prompt: \"S\"}, waitTimeoutMs: N}) { created } }",
    "mutation { approve(id: $id, version: N, feedback: \"S\") { decided } }",
    "mutation { reject(id: \"S\", version: N) { decided } }",
    "mutation { cancelWorkflow(id: $id) { id } }",
];

/// Declares the variables a document uses, with the types they have where
/// the templates use them.
fn declare_variables(doc: String) -> String {
    let mut decls = Vec::new();
    for (name, ty) in [
        ("id", "ID"),
        ("filter", "WorkflowFilter"),
        ("input", "RunWorkflowInput!"),
    ] {
        if doc.contains(&format!("${name}")) {
            decls.push(format!("${name}: {ty}"));
        }
    }
    if decls.is_empty() {
        return doc;
    }
    let decls = format!("({})", decls.join(", "));
    for keyword in ["query", "mutation"] {
        if let Some(rest) = doc.strip_prefix(keyword) {
            return format!("{keyword}{decls}{rest}");
        }
    }
    format!("query{decls} {doc}")
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn variables() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), json_value(), "[a-z_]{0,20}").prop_map(
        |(id, filter, input, ty)| {
            json!({
                "id": id,
                "filter": filter,
                "input": { "type": ty, "input": input },
            })
        },
    )
}

#[track_caller]
fn assert_well_formed(doc: &str, vars: &Value, body: &Value) {
    let ctx = format!("document: {doc}\nvariables: {vars}\nresponse: {body}");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object\n{ctx}"));
    assert!(
        obj.contains_key("data") || obj.contains_key("errors"),
        "{ctx}"
    );
    if let Some(errors) = obj.get("errors") {
        let errors = errors
            .as_array()
            .unwrap_or_else(|| panic!("errors is not a list\n{ctx}"));
        assert!(!errors.is_empty(), "{ctx}");
        for e in errors {
            assert!(e["message"].is_string(), "{ctx}");
            assert!(
                e["extensions"]["code"].is_string(),
                "an error without a code\n{ctx}"
            );
        }
    }
}

#[tokio::test]
async fn generated_documents_get_well_formed_answers_and_the_server_stays_up() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let seed: u64 = std::env::var("BATON_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("fuzz seed: {seed} (replay with BATON_FUZZ_SEED={seed})");

    // The real schema's root fields.
    let schema = app
        .gql_ok(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let names = |t: &str| -> Vec<String> {
        schema["__schema"][t]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            // Keep the admin able to finish the run.
            .filter(|n| !matches!(n.as_str(), "disableUser" | "revokeToken" | "signOut"))
            .collect()
    };
    let (roots, mutations) = (names("queryType"), names("mutationType"));
    assert!(roots.len() > 5 && mutations.len() > 5);

    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = (document(roots, mutations), variables());
    let mut executed = 0;
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..CASES {
        let (doc, vars) = strategy.new_tree(&mut runner).unwrap().current();
        let body = app.gql(&doc, vars.clone()).await;
        assert_well_formed(&doc, &vars, &body);
        // Past parsing and validation: it ran (or a resolver refused it).
        if !body["data"].is_null()
            || body["errors"][0]["extensions"]["code"] != "GRAPHQL_VALIDATION_FAILED"
        {
            executed += 1;
        }
        if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
            *codes.entry(code.to_string()).or_default() += 1;
        }
    }
    println!("fuzz: {CASES} cases, {executed} executed, first error codes {codes:?}");
    // Not only parse errors: the generator reaches the resolvers too.
    assert!(
        executed >= CASES / 10,
        "only {executed} of {CASES} documents executed"
    );
    // Inputs of the wrong JSON shape altogether.
    for raw in [
        json!([1, 2]),
        json!("x"),
        json!({ "query": 5 }),
        json!({ "query": "{ __typename }", "variables": [1] }),
    ] {
        let res = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_token)
            .json(&raw)
            .send()
            .await
            .unwrap();
        assert!(res.status().as_u16() < 500, "{raw}: {}", res.status());
    }
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(
        health.status().is_success(),
        "/healthz: {}",
        health.status()
    );
    app.stop().await;
}
