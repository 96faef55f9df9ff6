//! The review app is served next to the API, and reviewers can decide
//! several approvals at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use baton_e2e::db::TempDir;
use baton_e2e::{Backend, TestApp, both_backends};
use serde_json::json;

#[tokio::test]
async fn the_built_app_is_served_with_client_routes_and_cached_assets() {
    let web = TempDir::new();
    std::fs::create_dir_all(web.0.join("assets")).unwrap();
    std::fs::write(
        web.0.join("index.html"),
        "<!doctype html><div id=root></div>",
    )
    .unwrap();
    std::fs::write(web.0.join("assets/index-3f2a1c.js"), "console.log(1)").unwrap();
    let dir = web.0.clone();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        move |c| c.web_dir = Some(dir),
        Default::default(),
    )
    .await;

    for route in ["/", "/approvals/123", "/workflows/new"] {
        let res = app.http.get(app.url(route)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{route}");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(res.text().await.unwrap().contains("id=root"));
    }
    let res = app
        .http
        .get(app.url("/assets/index-3f2a1c.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(
        app.http
            .get(app.url("/assets/index-old.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Whatever the client does with `..`, nothing outside the directory is served.
    let escaped = app
        .http
        .get(app.url("/assets/../../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert!(!escaped.text().await.unwrap().contains("[workspace]"));
    // The API is untouched by the fallback.
    let body = app.gql("{ workflowTypes { name } }", json!({})).await;
    assert!(body["data"]["workflowTypes"].is_array());
    app.stop().await;
}

#[tokio::test]
async fn without_a_build_the_root_says_how_to_build_it() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.web_dir = Some("/nonexistent/dist".into()),
        Default::default(),
    )
    .await;
    let res = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.text().await.unwrap().contains("npm --prefix web"));
    app.stop().await;
}

both_backends! {
    async fn a_batch_approval_decides_each_once_and_says_why_others_failed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let run = app.run_workflow("generate_draft", json!({ "prompt": format!("p{i}"), "candidates": 1 }), true).await;
            ids.push(run["approval"]["id"].as_str().unwrap().to_string());
        }
        let counts = app.gql_ok("{ pendingApprovalCounts { artifactType count } }", json!({})).await;
        assert_eq!(counts["pendingApprovalCounts"], json!([{ "artifactType": "draft", "count": 3 }]));
        // Someone decides the second one first.
        assert!(app.approve(&ids[1], None).await.get("errors").is_none());
        let missing = uuid::Uuid::now_v7().to_string();
        let all = vec![ids[0].clone(), ids[1].clone(), ids[2].clone(), missing.clone(), ids[0].clone()];
        let mut items = Vec::new();
        for id in &all {
            items.push(json!({ "id": id, "version": app.approval_version(id).await }));
        }
        let data = app
            .gql_ok(
                "mutation($items: [DecisionItem!]!) { approveMany(items: $items, feedback: \"ship it\") {
                    decided results { id ok approval { status feedback } nextWorkflow { type } error { code message } } } }",
                json!({ "items": items }),
            )
            .await;
        let p = &data["approveMany"];
        assert_eq!(p["decided"], 2);
        let r = p["results"].as_array().unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!((r[0]["ok"].as_bool(), r[2]["ok"].as_bool()), (Some(true), Some(true)));
        assert_eq!(r[0]["approval"]["status"], "APPROVED");
        assert_eq!(r[0]["nextWorkflow"]["type"], "apply_feedback");
        assert_eq!(r[1]["error"]["code"], "CONFLICT");
        assert_eq!(r[3]["error"]["code"], "NOT_FOUND");
        assert_eq!(r[4]["error"]["code"], "BAD_USER_INPUT", "a repeated id is not decided twice");
        let followups = app.gql_ok("{ workflows(filter: { type: \"apply_feedback\" }) { edges { node { id } } } }", json!({})).await;
        assert_eq!(followups["workflows"]["edges"].as_array().map(Vec::len), Some(3));

        let too_many: Vec<_> = (0..101).map(|_| json!({ "id": uuid::Uuid::now_v7().to_string(), "version": 1 })).collect();
        let body = app.gql("mutation($items: [DecisionItem!]!) { approveMany(items: $items) { decided } }", json!({ "items": too_many })).await;
        assert_eq!(baton_e2e::gql_error_code(&body), "BAD_USER_INPUT");
        app.stop().await;
    }
}
