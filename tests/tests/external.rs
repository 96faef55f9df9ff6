//! Declared workflow types and external workers, over the real API: an
//! admin declares types, a worker with a service token claims, heartbeats,
//! completes and fails them, and the decision starts the declared next
//! type; stale claims write nothing; built-in and declared types share one
//! database without stealing each other's rows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton_e2e::{TestApp, both_backends, gql_error_code};
use serde_json::{Value, json};

const DECLARE: &str = "mutation($i: DeclareWorkflowTypeInput!) {
    declareWorkflowType(input: $i) { name version builtIn requiresApproval timeoutSeconds maxAttempts
        nextOnApprove { workflowType input requiresFeedback } } }";
const CLAIM: &str = "mutation($t: [String!]!, $l: Int, $s: Int, $w: Int) {
    claimWorkflows(types: $t, limit: $l, leaseSeconds: $s, waitSeconds: $w) {
        handle leaseExpiresAt workflow { id type typeVersion status attempt input chainId } } }";
const COMPLETE: &str = "mutation($h: String!, $o: JSON, $a: JSON, $s: Float) {
    completeWorkflow(handle: $h, output: $o, artifact: $a, score: $s) {
        id status output approval { id status artifactType artifactVersion score } } }";
const FAIL: &str = "mutation($h: String!, $e: String!, $r: Boolean) {
    failWorkflow(handle: $h, error: $e, retryable: $r) { id status error attempt } }";
const HEARTBEAT: &str =
    "mutation($h: String!, $s: Int) { heartbeat(handle: $h, leaseSeconds: $s) }";

/// A service token of role `role` (what external workers run with).
async fn service_token(app: &TestApp, name: &str, role: &str) -> String {
    let data = app
        .gql_ok(
            "mutation($n: String!, $r: Role!) { createToken(input: {name: $n, role: $r, serviceName: $n}) { secret } }",
            json!({ "n": name, "r": role }),
        )
        .await;
    data["createToken"]["secret"].as_str().unwrap().to_string()
}

/// `summarize` (reviewed; approving starts `publish`) and `publish`.
async fn declare_pair(app: &TestApp) {
    let publish = app
        .gql(
            DECLARE,
            json!({ "i": {
                "name": "publish",
                "inputSchema": {
                    "type": "object",
                    "required": ["channel", "artifact_id", "approved"],
                    "properties": { "channel": { "type": "string" }, "approved": { "const": true } }
                },
                "requiresApproval": false,
            }}),
        )
        .await;
    assert!(publish.get("errors").is_none(), "{publish:#}");
    let body = app
        .gql(
            DECLARE,
            json!({ "i": {
                "name": "summarize",
                "description": "Summarize a document for review.",
                "inputSchema": {
                    "type": "object", "required": ["url"], "additionalProperties": false,
                    "properties": { "url": { "type": "string", "format": "uri" } }
                },
                "outputSchema": { "type": "object", "required": ["words"],
                    "properties": { "words": { "type": "integer", "minimum": 1 } } },
                "artifactSchema": { "type": "object", "required": ["summary"],
                    "properties": { "summary": { "type": "string", "title": "Summary", "minLength": 1 } } },
                "artifactKind": "summary",
                "requiresApproval": true,
                "nextOnApprove": { "workflowType": "publish", "input": { "channel": "blog" } },
                "timeoutSeconds": 120,
                "maxAttempts": 2,
                "retryBaseSeconds": 0.05,
            }}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let t = &body["data"]["declareWorkflowType"];
    assert_eq!(t["version"], 1);
    assert_eq!(t["builtIn"], false);
    assert_eq!(t["timeoutSeconds"], 120);
    assert_eq!(t["nextOnApprove"]["input"]["channel"], "blog");
}

async fn claim(app: &TestApp, token: &str, types: &[&str], lease: i64, wait: i64) -> Vec<Value> {
    let body = app
        .gql_as(
            Some(token),
            CLAIM,
            json!({ "t": types, "l": 10, "s": lease, "w": wait }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["claimWorkflows"].as_array().unwrap().clone()
}

async fn complete(
    app: &TestApp,
    token: &str,
    handle: &str,
    output: Value,
    artifact: Value,
) -> Value {
    app.gql_as(
        Some(token),
        COMPLETE,
        json!({ "h": handle, "o": output, "a": artifact, "s": 87.5 }),
    )
    .await
}

/// Claims the one due `summarize`, completes it with `text`; the approval id.
async fn summarize_once(app: &TestApp, w: &str, text: &str) -> String {
    let c = claim(app, w, &["summarize"], 60, 5).await;
    assert_eq!(c.len(), 1);
    let done = complete(
        app,
        w,
        c[0]["handle"].as_str().unwrap(),
        json!({}),
        json!({ "summary": text }),
    )
    .await;
    done["data"]["completeWorkflow"]["approval"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an approval: {done:#}"))
        .to_string()
}

async fn start(app: &TestApp, workflow_type: &str, input: Value) -> String {
    let run = app.run_workflow(workflow_type, input, false).await;
    run["workflow"]["id"].as_str().unwrap().to_string()
}

both_backends! {
    async fn a_declared_type_runs_on_an_external_worker_and_its_approval_starts_the_declared_next_type(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let worker = service_token(&app, "py-worker", "SUBMITTER").await;

        // The schema is the contract: a bad input is refused at the field.
        let bad = app
            .gql(
                "mutation { runWorkflow(input: {type: \"summarize\", input: {url: 3}}) { workflow { id } } }",
                json!({}),
            )
            .await;
        assert_eq!(gql_error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "input.url", "{bad:#}");

        let id = start(&app, "summarize", json!({ "url": "https://example.com/a" })).await;
        let claims = claim(&app, &worker, &["summarize"], 60, 0).await;
        assert_eq!(claims.len(), 1);
        let c = &claims[0];
        assert_eq!(c["workflow"]["id"], id.as_str());
        assert_eq!(c["workflow"]["typeVersion"], 1);
        assert_eq!(c["workflow"]["status"], "RUNNING");
        assert_eq!(c["workflow"]["input"]["url"], "https://example.com/a");
        let handle = c["handle"].as_str().unwrap();

        // A heartbeat extends the lease.
        let beat = app.gql_as(Some(&worker), HEARTBEAT, json!({ "h": handle, "s": 90 })).await;
        assert!(beat.get("errors").is_none(), "{beat:#}");

        // Output and artifact are held to the declared schemas; the claim
        // stays open after a refusal.
        let bad = complete(&app, &worker, handle, json!({ "words": 0 }), json!({ "summary": "x" })).await;
        assert_eq!(gql_error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "output.words", "{bad:#}");
        let bad = complete(&app, &worker, handle, json!({ "words": 3 }), json!({ "summary": "" })).await;
        assert_eq!(bad["errors"][0]["extensions"]["field"], "artifact.summary", "{bad:#}");
        assert_eq!(app.workflow(&id).await["status"], "RUNNING");

        let done = complete(&app, &worker, handle, json!({ "words": 3 }), json!({ "summary": "A short one." })).await;
        assert!(done.get("errors").is_none(), "{done:#}");
        let w = &done["data"]["completeWorkflow"];
        assert_eq!(w["status"], "COMPLETED");
        assert_eq!(w["output"]["words"], 3);
        let approval = &w["approval"];
        assert_eq!(approval["status"], "PENDING");
        assert_eq!(approval["artifactType"], "summary");
        assert_eq!(approval["score"], 87.5);

        // A completed claim is spent.
        let again = complete(&app, &worker, handle, json!({ "words": 3 }), json!({ "summary": "B" })).await;
        assert_eq!(gql_error_code(&again), "CONFLICT", "{again:#}");

        // Approving starts `publish` with the declared input plus the
        // decision's keys, for the external worker again.
        let approval_id = approval["id"].as_str().unwrap();
        let decided = app.approve(approval_id, Some("ship it")).await;
        assert!(decided.get("errors").is_none(), "{decided:#}");
        let next = claim(&app, &worker, &["publish"], 60, 5).await;
        assert_eq!(next.len(), 1, "the decision started publish");
        let input = &next[0]["workflow"]["input"];
        assert_eq!(input["channel"], "blog");
        assert_eq!(input["approved"], true);
        assert_eq!(input["feedback"], "ship it");
        assert_eq!(input["decision"], "approved");
        assert_eq!(input["approval_id"], approval_id);
        assert!(input["artifact_id"].is_string());
        assert_eq!(input["artifact_version"], 1);
        assert_eq!(input["artifact_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(next[0]["workflow"]["chainId"], claims[0]["workflow"]["chainId"]);
        let h = next[0]["handle"].as_str().unwrap();
        let published = app
            .gql_as(Some(&worker), COMPLETE, json!({ "h": h, "o": { "url": "https://blog" }, "a": { "post": "…" } }))
            .await;
        assert_eq!(published["data"]["completeWorkflow"]["status"], "COMPLETED", "{published:#}");
        assert!(published["data"]["completeWorkflow"]["approval"].is_null());
        // An artifact of another kind starts its own versions, even though
        // the decision named the summary it was made on.
        let post = app.workflow(next[0]["workflow"]["id"].as_str().unwrap()).await;
        let arts = post["artifacts"].as_array().unwrap();
        assert_eq!((arts[0]["kind"].as_str(), arts[0]["version"].as_i64()), (Some("publish"), Some(1)), "{post:#}");
        assert!(arts[0]["parent"].is_null());
        app.stop().await;
    }
}

both_backends! {
    async fn a_stale_claim_writes_nothing_and_the_new_owner_completes_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let a = service_token(&app, "worker-a", "SUBMITTER").await;
        let b = service_token(&app, "worker-b", "SUBMITTER").await;
        let id = start(&app, "summarize", json!({ "url": "https://example.com/b" })).await;

        let first = claim(&app, &a, &["summarize"], 5, 0).await;
        let stale = first[0]["handle"].as_str().unwrap().to_string();
        // Another worker cannot use A's handle, even while it is live.
        let foreign = complete(&app, &b, &stale, json!({ "words": 1 }), json!({ "summary": "b" })).await;
        assert_eq!(gql_error_code(&foreign), "CONFLICT", "{foreign:#}");
        // Nothing is claimable while A's lease runs.
        assert!(claim(&app, &b, &["summarize"], 5, 0).await.is_empty());

        // A stalls past its lease; B's long poll picks the row up.
        let second = claim(&app, &b, &["summarize"], 60, 10).await;
        assert_eq!(second.len(), 1);
        assert_eq!(second[0]["workflow"]["attempt"], 2);

        for late in [
            complete(&app, &a, &stale, json!({ "words": 1 }), json!({ "summary": "late" })).await,
            app.gql_as(Some(&a), HEARTBEAT, json!({ "h": stale })).await,
            app.gql_as(Some(&a), FAIL, json!({ "h": stale, "e": "late" })).await,
        ] {
            assert_eq!(gql_error_code(&late), "CONFLICT", "{late:#}");
            let msg = late["errors"][0]["message"].as_str().unwrap();
            assert!(msg.contains("claimed again"), "{msg}");
        }
        let h = second[0]["handle"].as_str().unwrap();
        let done = complete(&app, &b, h, json!({ "words": 2 }), json!({ "summary": "B's" })).await;
        assert_eq!(done["data"]["completeWorkflow"]["status"], "COMPLETED", "{done:#}");
        let w = app
            .gql_ok(
                "query($id: ID!) { workflow(id: $id) { attempt output artifacts { content } approval { id } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(w["workflow"]["attempt"], 2);
        assert_eq!(w["workflow"]["output"]["words"], 2);
        let arts = w["workflow"]["artifacts"].as_array().unwrap();
        assert_eq!(arts.len(), 1, "one artifact: B's");
        assert_eq!(arts[0]["content"]["summary"], "B's");
        app.stop().await;
    }
}

both_backends! {
    async fn failures_retry_with_the_declared_budget_then_fail(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let w = service_token(&app, "worker", "SUBMITTER").await;
        let id = start(&app, "summarize", json!({ "url": "https://example.com/c" })).await;

        let c = claim(&app, &w, &["summarize"], 60, 0).await;
        let failed = app
            .gql_as(Some(&w), FAIL, json!({ "h": c[0]["handle"], "e": "model timed out" }))
            .await;
        let f = &failed["data"]["failWorkflow"];
        assert_eq!(f["status"], "PENDING", "{failed:#}");
        assert_eq!(f["error"], "model timed out");

        // The retry is due after the declared backoff (50 ms, ±25%).
        let c = claim(&app, &w, &["summarize"], 60, 5).await;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["workflow"]["attempt"], 2);
        // The declared budget is 2 attempts: this failure is final.
        let failed = app
            .gql_as(Some(&w), FAIL, json!({ "h": c[0]["handle"], "e": "still down" }))
            .await;
        assert_eq!(failed["data"]["failWorkflow"]["status"], "FAILED", "{failed:#}");

        // Non-retryable failures end at once, marked fatal; retryWorkflow
        // makes it claimable again.
        let retried = app
            .gql_ok("mutation($id: ID!) { retryWorkflow(id: $id) { status } }", json!({ "id": id }))
            .await;
        assert_eq!(retried["retryWorkflow"]["status"], "PENDING");
        let c = claim(&app, &w, &["summarize"], 60, 0).await;
        let failed = app
            .gql_as(Some(&w), FAIL, json!({ "h": c[0]["handle"], "e": "bad document", "r": false }))
            .await;
        let f = &failed["data"]["failWorkflow"];
        assert_eq!(f["status"], "FAILED", "{failed:#}");
        assert_eq!(f["error"], "fatal: bad document");
        app.stop().await;
    }
}

both_backends! {
    async fn built_in_and_external_workers_share_a_database_without_taking_each_others_rows(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let w = service_token(&app, "worker", "SUBMITTER").await;
        let ext = start(&app, "summarize", json!({ "url": "https://example.com/d" })).await;
        let draft = app.run_workflow("generate_draft", json!({ "prompt": "a harbour" }), true).await;
        // Baton's own workers ran the built-in type and left the declared one.
        assert_eq!(draft["workflow"]["status"], "COMPLETED", "{draft:#}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(app.workflow(&ext).await["status"], "PENDING");

        // External workers may not claim built-in types, nor unknown ones.
        for (types, field) in [(json!(["generate_draft"]), "types[0]"), (json!(["summarize", "nope"]), "types[1]")] {
            let body = app
                .gql_as(Some(&w), "mutation($t: [String!]!) { claimWorkflows(types: $t) { handle } }", json!({ "t": types }))
                .await;
            assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{body:#}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
        }
        let c = claim(&app, &w, &["summarize"], 60, 0).await;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["workflow"]["id"], ext.as_str());
        app.stop().await;
    }
}

both_backends! {
    async fn a_long_poll_is_woken_by_new_work(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.poll_interval = Duration::from_secs(30), Default::default()).await;
        declare_pair(&app).await;
        let w = service_token(&app, "worker", "SUBMITTER").await;
        let started = std::time::Instant::now();
        let waiting = {
            let http = app.http.clone();
            let url = app.url("/graphql");
            let w = w.clone();
            tokio::spawn(async move {
                baton_e2e::app::post_graphql_as(&http, &url, Some(&w), CLAIM, json!({ "t": ["summarize"], "w": 20 })).await
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let id = start(&app, "summarize", json!({ "url": "https://example.com/e" })).await;
        let body = waiting.await.unwrap();
        let claims = body["data"]["claimWorkflows"].as_array().unwrap();
        assert_eq!(claims.len(), 1, "{body:#}");
        assert_eq!(claims[0]["workflow"]["id"], id.as_str());
        // Woken by the commit, not by the 30 s poll interval.
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        app.stop().await;
    }
}

both_backends! {
    async fn declarations_are_versioned_and_queued_workflows_keep_theirs(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let id = start(&app, "summarize", json!({ "url": "https://example.com/f" })).await;

        // The same content again is the same version.
        let again = app
            .gql_ok("query { workflowType(name: \"summarize\") { version declaredBy } }", json!({}))
            .await;
        assert_eq!(again["workflowType"]["version"], 1);
        assert_eq!(again["workflowType"]["declaredBy"], "admin");

        // A changed schema is version 2: a new input is checked against it,
        // the queued workflow stays on version 1.
        let v2 = app
            .gql(
                DECLARE,
                json!({ "i": {
                    "name": "summarize",
                    "inputSchema": { "type": "object", "required": ["url", "lang"],
                        "properties": { "url": { "type": "string" }, "lang": { "enum": ["en", "fr"] } } },
                    "outputSchema": { "type": "object", "required": ["words"] },
                    "requiresApproval": true,
                }}),
            )
            .await;
        assert_eq!(v2["data"]["declareWorkflowType"]["version"], 2, "{v2:#}");
        let refused = app
            .gql(
                "mutation { runWorkflow(input: {type: \"summarize\", input: {url: \"u\"}}) { workflow { id } } }",
                json!({}),
            )
            .await;
        assert_eq!(refused["errors"][0]["extensions"]["field"], "input.lang", "{refused:#}");
        let id2 = start(&app, "summarize", json!({ "url": "u", "lang": "fr" })).await;

        let w = service_token(&app, "worker", "SUBMITTER").await;
        let claims = claim(&app, &w, &["summarize"], 60, 0).await;
        let version_of = |id: &str| {
            claims.iter().find(|c| c["workflow"]["id"] == id).map(|c| c["workflow"]["typeVersion"].clone())
        };
        assert_eq!(version_of(&id), Some(json!(1)));
        assert_eq!(version_of(&id2), Some(json!(2)));
        // Version 1's output schema still holds for the version-1 run: its
        // artifact schema required a non-empty summary.
        let h1 = claims.iter().find(|c| c["workflow"]["id"] == id.as_str()).unwrap()["handle"].as_str().unwrap();
        let bad = complete(&app, &w, h1, json!({ "words": 1 }), json!({ "summary": "" })).await;
        assert_eq!(gql_error_code(&bad), "BAD_USER_INPUT", "{bad:#}");

        let old = app
            .gql_ok("query { workflowType(name: \"summarize\", version: 1) { version nextOnApprove { workflowType } } }", json!({}))
            .await;
        assert_eq!(old["workflowType"]["nextOnApprove"]["workflowType"], "publish");
        let types = app.gql_ok("{ workflowTypes { name version builtIn } }", json!({})).await;
        let summarize: Vec<&Value> = types["workflowTypes"].as_array().unwrap().iter().filter(|t| t["name"] == "summarize").collect();
        assert_eq!(summarize.len(), 1);
        assert_eq!(summarize[0]["version"], 2);
        app.stop().await;
    }
}

both_backends! {
    async fn declarations_are_checked_field_by_field(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let base = json!({ "name": "t", "inputSchema": { "type": "object" }, "requiresApproval": true });
        let with = |patch: Value| {
            let mut i = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                i[k] = v.clone();
            }
            i
        };
        for (input, field) in [
            (with(json!({ "name": "Bad Name" })), "input.name"),
            (with(json!({ "name": "generate_draft" })), "input.name"),
            (with(json!({ "inputSchema": { "type": "nonsense" } })), "input.inputSchema"),
            (with(json!({ "outputSchema": { "minimum": "zero" } })), "input.outputSchema"),
            (with(json!({ "timeoutSeconds": 0 })), "input.timeoutSeconds"),
            (with(json!({ "maxAttempts": 101 })), "input.maxAttempts"),
            (with(json!({ "nextOnApprove": { "workflowType": "nope" } })), "input.nextOnApprove.workflowType"),
            (with(json!({ "requiresApproval": false, "nextOnApprove": { "workflowType": "publish" } })), "input.nextOnApprove"),
            // publish requires `channel`: a decision without it would fail.
            (with(json!({ "nextOnApprove": { "workflowType": "publish" } })), "input.nextOnApprove.input"),
        ] {
            let body = app.gql(DECLARE, json!({ "i": input })).await;
            assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{input}: {body:#}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body:#}");
        }
        app.stop().await;
    }
}

both_backends! {
    async fn people_below_admin_cannot_act_as_workers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        start(&app, "summarize", json!({ "url": "https://example.com/g" })).await;
        let (_, reviewer) = app.user_with_token("rita", "REVIEWER").await;
        let viewer_service = service_token(&app, "reader", "VIEWER").await;
        for token in [&reviewer, &viewer_service] {
            let body = app
                .gql_as(Some(token), "mutation { claimWorkflows(types: [\"summarize\"]) { handle } }", json!({}))
                .await;
            assert_eq!(gql_error_code(&body), "FORBIDDEN", "{body:#}");
        }
        let w = service_token(&app, "worker", "SUBMITTER").await;
        let body = app.gql_as(Some(&w), DECLARE, json!({ "i": { "name": "x", "inputSchema": true, "requiresApproval": false } })).await;
        assert_eq!(gql_error_code(&body), "FORBIDDEN", "{body:#}");
        // The row is still there for a real worker.
        assert_eq!(claim(&app, &w, &["summarize"], 60, 0).await.len(), 1);
        app.stop().await;
    }
}

both_backends! {
    async fn a_decision_whose_next_input_the_next_type_refuses_is_not_committed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        let w = service_token(&app, "worker", "SUBMITTER").await;
        start(&app, "summarize", json!({ "url": "https://example.com/h" })).await;
        let c = claim(&app, &w, &["summarize"], 60, 0).await;
        let done = complete(&app, &w, c[0]["handle"].as_str().unwrap(), json!({ "words": 1 }), json!({ "summary": "s" })).await;
        let approval_id = done["data"]["completeWorkflow"]["approval"]["id"].as_str().unwrap().to_string();
        // publish changes after the approval opened: it now needs `lang`.
        let v2 = app
            .gql(
                DECLARE,
                json!({ "i": { "name": "publish", "inputSchema": { "type": "object", "required": ["lang"] }, "requiresApproval": false } }),
            )
            .await;
        assert!(v2.get("errors").is_none(), "{v2:#}");
        let decided = app.approve(&approval_id, None).await;
        assert_eq!(gql_error_code(&decided), "CONFLICT", "{decided:#}");
        let msg = decided["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains("input.lang") && msg.contains("nothing was decided"), "{msg}");
        let a = app
            .gql_ok("query($id: ID!) { approval(id: $id) { status votes { decision } } }", json!({ "id": approval_id }))
            .await;
        assert_eq!(a["approval"]["status"], "PENDING");
        assert_eq!(a["approval"]["votes"].as_array().unwrap().len(), 0, "the vote rolled back with it");
        app.stop().await;
    }
}

both_backends! {
    async fn a_run_past_its_timeout_is_failed_at_its_heartbeat(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let body = app
            .gql(
                DECLARE,
                json!({ "i": { "name": "quick", "inputSchema": { "type": "object" }, "requiresApproval": false,
                    "timeoutSeconds": 1, "maxAttempts": 1 } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        let w = service_token(&app, "worker", "SUBMITTER").await;
        let id = start(&app, "quick", json!({})).await;
        let c = claim(&app, &w, &["quick"], 60, 0).await;
        // The lease never outlives the timeout.
        let lease: chrono::DateTime<chrono::Utc> = c[0]["leaseExpiresAt"].as_str().unwrap().parse().unwrap();
        assert!(lease <= chrono::Utc::now() + chrono::TimeDelta::seconds(2), "{lease}");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let beat = app.gql_as(Some(&w), HEARTBEAT, json!({ "h": c[0]["handle"] })).await;
        assert_eq!(gql_error_code(&beat), "CONFLICT", "{beat:#}");
        let w = app.workflow(&id).await;
        assert_eq!(w["status"], "FAILED", "{w:#}");
        assert!(w["error"].as_str().unwrap().contains("timed out"), "{w:#}");
        app.stop().await;
    }
}

both_backends! {
    async fn a_types_file_declares_at_start_and_a_refused_one_stops_the_start(backend: Backend) {
        use baton_e2e::process::{ServerProcess, baton_bin};
        let db = baton_e2e::TestDb::create(backend).await;
        let dir = baton_e2e::db::TempDir::new();
        let good = dir.0.join("types.yaml");
        std::fs::write(
            &good,
            "- name: publish\n  input_schema: {type: object}\n  requires_approval: false\n\
             - name: summarize\n  input_schema: {type: object, required: [url]}\n  requires_approval: true\n  \
             next_on_approve: {workflow_type: publish, input: {channel: blog}}\n",
        )
        .unwrap();
        let types = good.to_str().unwrap();
        // Twice: the second start finds the same content and keeps version 1.
        for _ in 0..2 {
            let server = ServerProcess::start(&db.url, &[("BATON_TYPES_FILE", types)]).await;
            server.terminate().await;
        }
        let admin = baton_e2e::app::seed_admin(&db.url).await;
        let server = ServerProcess::start(&db.url, &[]).await;
        let body = baton_e2e::app::post_graphql_as(
            &reqwest::Client::new(),
            &server.url("/graphql"),
            Some(&admin),
            "{ workflowType(name: \"summarize\") { version declaredBy nextOnApprove { workflowType input } } }",
            json!({}),
        )
        .await;
        let t = &body["data"]["workflowType"];
        assert_eq!(t["version"], 1, "{body:#}");
        assert_eq!(t["declaredBy"], "cli");
        assert_eq!(t["nextOnApprove"]["input"]["channel"], "blog");
        server.terminate().await;

        // A declaration the server refuses stops the start, with the reason.
        let bad = dir.0.join("bad.yaml");
        std::fs::write(&bad, "- name: generate_draft\n  input_schema: {type: object}\n  requires_approval: false\n").unwrap();
        let out = tokio::process::Command::new(baton_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--types", bad.to_str().unwrap()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BATON_DATABASE_URL", &db.url)
            .env("BATON_LOG", "error")
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("generate_draft") && stderr.contains("built-in type"), "{stderr}");
    }
}

both_backends! {
    async fn a_reviewer_edits_a_declared_artifact_or_rejects_it_into_a_declared_revision(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_pair(&app).await;
        // v2 of summarize: rejecting with feedback starts a revision of itself.
        let v2 = app
            .gql(
                DECLARE,
                json!({ "i": {
                    "name": "summarize",
                    "inputSchema": { "type": "object", "required": ["url"] },
                    "artifactSchema": { "type": "object", "required": ["summary"], "additionalProperties": false,
                        "properties": { "summary": { "type": "string", "minLength": 1 } } },
                    "artifactKind": "summary",
                    "requiresApproval": true,
                    "nextOnApprove": { "workflowType": "publish", "input": { "channel": "blog" } },
                    "nextOnReject": { "workflowType": "summarize", "input": { "url": "same" } },
                }}),
            )
            .await;
        assert_eq!(v2["data"]["declareWorkflowType"]["version"], 2, "{v2:#}");
        let w = service_token(&app, "worker", "SUBMITTER").await;
        start(&app, "summarize", json!({ "url": "https://example.com/i" })).await;
        let first = summarize_once(&app, &w, "First try.").await;

        // Rejecting without feedback starts nothing (requiresFeedback).
        let silent = app.reject(&first, None).await;
        assert!(silent["data"]["reject"]["nextWorkflow"].is_null(), "{silent:#}");

        start(&app, "summarize", json!({ "url": "https://example.com/j" })).await;
        let second = summarize_once(&app, &w, "Second try.").await;
        let rejected = app.reject(&second, Some("name the author")).await;
        let revision = &rejected["data"]["reject"]["nextWorkflow"];
        assert_eq!(revision["type"], "summarize", "{rejected:#}");
        assert_eq!(revision["input"]["approved"], false);
        assert_eq!(revision["input"]["feedback"], "name the author");
        // The revision's artifact continues the rejected one's versions.
        let third = summarize_once(&app, &w, "Second try, by Ana.").await;
        let a = app
            .gql_ok("query($id: ID!) { approval(id: $id) { artifactVersion artifact { version parent { version } } } }", json!({ "id": third }))
            .await;
        assert_eq!(a["approval"]["artifactVersion"], 2, "{a:#}");
        assert_eq!(a["approval"]["artifact"]["parent"]["version"], 1);

        // Edits are held to the artifact schema; a valid edit is what the
        // next workflow gets.
        let bad = app.approve_as(&app.admin_token, &third, 2, None, Some(json!({ "summary": "" }))).await;
        assert_eq!(gql_error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "edits.summary", "{bad:#}");
        let approved = app
            .approve_as(&app.admin_token, &third, 2, None, Some(json!({ "summary": "By Ana: the second try." })))
            .await;
        let next = &approved["data"]["approve"]["nextWorkflow"];
        assert_eq!(next["type"], "publish", "{approved:#}");
        assert_eq!(next["input"]["artifact_version"], 3);
        let art = app
            .gql_ok("query($id: ID!) { artifact(id: $id) { version content } }", json!({ "id": next["input"]["artifact_id"] }))
            .await;
        assert_eq!(art["artifact"]["content"]["summary"], "By Ana: the second try.");
        app.stop().await;
    }
}

/// Declares `tune_me`, whose runs take a topic and a config.
async fn declare_tunable(app: &TestApp) {
    let body = app
        .gql(
            DECLARE,
            json!({ "i": {
                "name": "tune_me",
                "inputSchema": { "type": "object", "required": ["topic", "config"],
                    "properties": { "topic": { "type": "string" }, "config": { "type": "object" } } },
                "configSchema": { "type": "object", "additionalProperties": false,
                    "properties": { "temperature": { "type": "number", "minimum": 0, "maximum": 1 },
                                    "style": { "enum": ["a", "b"] } } },
                "requiresApproval": true,
            }}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

both_backends! {
    async fn an_experiment_tunes_a_declared_type_through_external_workers_and_approval_deploys_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_tunable(&app).await;
        let w = service_token(&app, "tuner", "SUBMITTER").await;

        // An external worker: the score is a known function of the config,
        // so the analysis has a right answer.
        let worker = {
            let (http, url, w) = (app.http.clone(), app.url("/graphql"), w.clone());
            tokio::spawn(async move {
                let mut done = 0;
                while done < 4 {
                    let body = baton_e2e::app::post_graphql_as(&http, &url, Some(&w), CLAIM,
                        json!({ "t": ["tune_me"], "l": 4, "s": 60, "w": 5 })).await;
                    for c in body["data"]["claimWorkflows"].as_array().cloned().unwrap_or_default() {
                        let config = &c["workflow"]["input"]["config"];
                        let t = config["temperature"].as_f64().unwrap();
                        let score = 50.0 + 40.0 * t + if config["style"] == "b" { 5.0 } else { 0.0 };
                        let r = baton_e2e::app::post_graphql_as(&http, &url, Some(&w), COMPLETE,
                            json!({ "h": c["handle"], "o": { "topic": c["workflow"]["input"]["topic"] }, "s": score })).await;
                        assert_eq!(r["data"]["completeWorkflow"]["status"], "COMPLETED", "{r:#}");
                        done += 1;
                    }
                }
            })
        };
        let run = app
            .run_workflow(
                "run_experiment",
                json!({
                    "target": "tune_me",
                    "factors": {
                        "temperature": [{ "temperature": 0.1 }, { "temperature": 0.9 }],
                        "style": [{ "style": "a" }, { "style": "b" }]
                    },
                    "briefs": [{ "topic": "harbours" }],
                    "control": false
                }),
                false,
            )
            .await;
        let id = run["workflow"]["id"].as_str().unwrap().to_string();
        tokio::time::timeout(Duration::from_secs(60), worker).await.expect("the worker ran 4 runs").unwrap();
        let exp = app.wait_for_status(&id, &["COMPLETED", "FAILED"], Duration::from_secs(30)).await;
        assert_eq!(exp["status"], "COMPLETED", "{exp:#}");
        assert_eq!(exp["output"]["optimal_config"], json!({ "temperature": 0.9, "style": "b" }), "{exp:#}");
        assert_eq!(exp["output"]["runs"], 4);
        assert_eq!(exp["output"]["failed_runs"], 0);

        // The runs are the experiment's children: scored, no approvals.
        let chain = app
            .gql_ok("query($c: ID!) { workflows(first: 20, filter: {chainId: $c}) { edges { node { type parentId score approval { id } } } } }",
                json!({ "c": exp["chainId"] }))
            .await;
        let children: Vec<&Value> = chain["workflows"]["edges"].as_array().unwrap().iter()
            .map(|e| &e["node"]).filter(|n| n["type"] == "tune_me").collect();
        assert_eq!(children.len(), 4);
        for c in &children {
            assert_eq!(c["parentId"], id.as_str());
            assert!(c["score"].as_f64().is_some());
            assert!(c["approval"].is_null(), "{c}");
        }

        // Approving the results deploys the optimum for tune_me.
        let approval = exp["approval"]["id"].as_str().unwrap();
        let decided = app.approve(approval, None).await;
        let next = decided["data"]["approve"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        let deployed = app.wait_for_status(&next, &["COMPLETED", "FAILED"], Duration::from_secs(30)).await;
        assert_eq!(deployed["status"], "COMPLETED", "{deployed:#}");
        let active = app
            .gql_ok("{ activeDeployment(target: \"tune_me\", environment: \"production\") { config } }", json!({}))
            .await;
        assert_eq!(active["activeDeployment"]["config"], json!({ "temperature": 0.9, "style": "b" }));
        app.stop().await;
    }
}

both_backends! {
    async fn an_experiment_over_a_declared_type_is_checked_against_its_schemas(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        declare_tunable(&app).await;
        declare_pair(&app).await;
        let base = json!({
            "target": "tune_me",
            "factors": { "temperature": [{ "temperature": 0.1 }, { "temperature": 0.9 }] },
            "briefs": [{ "topic": "harbours" }]
        });
        let with = |path: &str, v: Value| {
            let mut i = base.clone();
            let p = i.pointer_mut(path).unwrap();
            *p = v;
            i
        };
        for (input, field) in [
            (with("/factors/temperature/1", json!({ "temperature": 3 })), "input.factors.temperature[1].temperature"),
            (with("/factors/temperature/1", json!({ "colour": "red" })), "input.factors.temperature[1].colour"),
            (with("/target", json!("summarize")), "input.target"),
            (with("/target", json!("nope")), "input.target"),
            (with("/briefs/0", json!({ "subject": "x" })), "input.briefs[0].topic"),
        ] {
            let body = app
                .gql("mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { workflow { id } } }",
                    json!({ "i": { "type": "run_experiment", "input": input } }))
                .await;
            assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{input}: {body:#}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body:#}");
        }
        // deploy_config holds a declared target's config to its schema.
        let body = app
            .gql("mutation($i: RunWorkflowInput!) { runWorkflow(input: $i) { workflow { id } } }",
                json!({ "i": { "type": "deploy_config", "input": { "target": "tune_me", "environment": "production", "config": { "temperature": 2 } } } }))
            .await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.config.temperature", "{body:#}");
        app.stop().await;
    }
}
