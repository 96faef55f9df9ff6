//! Operations: `/metrics` (Prometheus text format) on SQLite and
//! PostgreSQL, request ids in headers, errors and JSON log lines, and the
//! review app's static files (ETag, 304, gzip, embedded in the binary).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use baton_e2e::process::ServerProcess;
use baton_e2e::{Backend, TestApp, TestDb, both_backends};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A strict reader of the text exposition format: every sample belongs to
/// a family announced by `# TYPE` before it, names and label names are
/// valid, label values are quoted with escapes, values are numbers.
fn parse_exposition(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(valid_name(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "one TYPE per family: {line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line: {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels close with }");
                let mut labels = BTreeMap::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(valid_name(&key), "label name {key:?} in {line}");
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut v = String::new();
                    loop {
                        match chars.next().expect("unterminated label value") {
                            '\\' => match chars.next() {
                                Some('n') => v.push('\n'),
                                Some(c @ ('\\' | '"')) => v.push(c),
                                other => panic!("bad escape {other:?} in {line}"),
                            },
                            '"' => break,
                            c => v.push(c),
                        }
                    }
                    labels.insert(key, v);
                    if chars.peek() == Some(&',') {
                        chars.next();
                    }
                }
                (name.to_string(), labels)
            }
        };
        assert!(valid_name(&name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(&name);
        assert!(
            types.contains_key(family),
            "sample before its # TYPE: {line}"
        );
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    (types, samples)
}

/// A series' labels, sorted.
type LabelSet = Vec<(String, String)>;

/// Every histogram series: `le` ascending, cumulative counts never
/// falling, the `+Inf` bucket equal to `_count`, a `_sum` beside it.
fn check_histograms(types: &BTreeMap<String, String>, samples: &[Sample]) -> usize {
    let mut checked = 0;
    for (family, _) in types.iter().filter(|(_, k)| *k == "histogram") {
        let mut series: BTreeMap<LabelSet, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut l = s.labels.clone();
            let le = l.remove("le").expect("a bucket has le");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            series
                .entry(l.into_iter().collect())
                .or_default()
                .push((le, s.value));
        }
        for (labels, buckets) in series {
            let find = |suffix: &str| {
                samples
                    .iter()
                    .find(|s| {
                        s.name == format!("{family}{suffix}")
                            && s.labels
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect::<Vec<_>>()
                                == labels
                    })
                    .map(|s| s.value)
                    .unwrap_or_else(|| panic!("{family}{suffix} missing for {labels:?}"))
            };
            assert!(
                buckets.windows(2).all(|w| w[0].0 < w[1].0),
                "{family}: le ascending"
            );
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}: cumulative"
            );
            let last = buckets.last().unwrap();
            assert_eq!(last.0, f64::INFINITY, "{family}: ends with +Inf");
            assert_eq!(
                last.1,
                find("_count"),
                "{family} {labels:?}: +Inf bucket = _count"
            );
            assert!(find("_sum") >= 0.0);
            checked += 1;
        }
    }
    checked
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(app: &TestApp) -> (BTreeMap<String, String>, Vec<Sample>) {
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = res.text().await.unwrap();
    parse_exposition(&text)
}

async fn db_number(app: &TestApp, sql: &str) -> f64 {
    let db = &app.state.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .expect("a row");
    row.try_get_by_index::<i64>(0).map(|v| v as f64).unwrap()
}

const DECLARE: &str =
    "mutation($i: DeclareWorkflowTypeInput!) { declareWorkflowType(input: $i) { name } }";

both_backends! {
    async fn metrics_report_the_queue_approvals_decisions_runs_and_model_calls_that_happened(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |c| {
                // A failed delivery waits an hour: it stays in the backlog.
                c.delivery.retry_base = Duration::from_secs(3600);
            },
            Default::default(),
        )
        .await;
        // A webhook nobody answers: each approval.created leaves a delivery.
        let hook = app
            .gql(
                "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret } }",
                json!({ "i": { "url": "http://127.0.0.1:9/hook", "events": ["approval.created"] } }),
            )
            .await;
        assert!(hook.get("errors").is_none(), "{hook:#}");
        // A declared type no worker runs: its rows wait in the queue.
        let declared = app
            .gql(DECLARE, json!({ "i": { "name": "ops_probe", "inputSchema": { "type": "object" }, "requiresApproval": false } }))
            .await;
        assert!(declared.get("errors").is_none(), "{declared:#}");
        for _ in 0..3 {
            app.run_workflow("ops_probe", json!({}), false).await;
        }
        let brief = json!({ "story_id": "s1", "scene": "harbour", "prompt": "Mara arrives at the harbour at dusk." });
        for _ in 0..2 {
            let run = app.run_workflow("generate_draft", brief.clone(), true).await;
            assert_eq!(run["workflow"]["status"], "COMPLETED", "{run:#}");
        }
        let pending = app.pending_approval_ids().await;
        assert_eq!(pending.len(), 2);
        let decided = app.approve(&pending[0], None).await;
        assert!(decided.get("errors").is_none(), "{decided:#}");
        let next = decided["data"]["approve"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        let done = app.wait_for_status(&next, &["COMPLETED"], T).await;
        assert_eq!(done["type"], "apply_feedback");
        for _ in 0..2 {
            let r = app.gql_ok("query OpsProbe { workflowTypes { name } }", json!({})).await;
            assert!(r["workflowTypes"].is_array());
        }

        let (types, samples) = scrape(&app).await;
        // Read at scrape time from the database.
        assert_eq!(types["baton_queue_depth"], "gauge");
        assert_eq!(value(&samples, "baton_queue_depth", &[("type", "ops_probe"), ("status", "pending")]), Some(3.0));
        assert_eq!(sum(&samples, "baton_queue_depth", &[("type", "generate_draft")]), 0.0);
        assert_eq!(value(&samples, "baton_pending_approvals", &[("type", "generate_draft")]), Some(1.0));
        let open_revisions = db_number(&app, "SELECT COUNT(*) FROM approvals a JOIN workflows w ON w.id = a.workflow_id \
            WHERE a.status = 'pending' AND w.type = 'apply_feedback'").await;
        assert_eq!(sum(&samples, "baton_pending_approvals", &[("type", "apply_feedback")]), open_revisions);
        let age = value(&samples, "baton_oldest_pending_approval_age_seconds", &[("type", "generate_draft")]).unwrap();
        assert!((0.0..600.0).contains(&age), "{age}");
        // Two approval.created events so far met the webhook (more if the revision asked again).
        let created = 2.0 + open_revisions;
        assert_eq!(value(&samples, "baton_outbox_backlog", &[("channel", "webhook")]), Some(created), "{samples:#?}");

        // Counted in this process.
        assert_eq!(types["baton_events_total"], "counter");
        assert_eq!(sum(&samples, "baton_events_total", &[("kind", "approval.decided")]), 1.0);
        assert_eq!(sum(&samples, "baton_events_total", &[("kind", "approval.created")]), created);
        assert_eq!(value(&samples, "baton_events_total", &[("kind", "workflow.created"), ("type", "ops_probe")]), Some(3.0));
        assert_eq!(value(&samples, "baton_workflow_runs_total", &[("type", "generate_draft"), ("outcome", "completed")]), Some(2.0));
        assert_eq!(value(&samples, "baton_workflow_runs_total", &[("type", "apply_feedback"), ("outcome", "completed")]), Some(1.0));
        assert_eq!(sum(&samples, "baton_workflow_runs_total", &[("outcome", "failed")]), 0.0);
        assert_eq!(value(&samples, "baton_workflow_run_seconds_count", &[("type", "generate_draft"), ("outcome", "completed")]), Some(2.0));
        assert_eq!(value(&samples, "baton_workflow_claim_to_start_seconds_count", &[("type", "generate_draft")]), Some(2.0));
        let calls = db_number(&app, "SELECT COUNT(*) FROM llm_calls WHERE model = 'offline' AND error IS NULL").await;
        assert!(calls >= 3.0, "two drafts and a revision call the model: {calls}");
        assert_eq!(value(&samples, "baton_llm_calls_total", &[("model", "offline"), ("result", "ok")]), Some(calls));
        let prompt = db_number(&app, "SELECT CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) FROM llm_calls WHERE model = 'offline'").await;
        assert_eq!(value(&samples, "baton_llm_tokens_total", &[("model", "offline"), ("direction", "prompt")]), Some(prompt));
        assert_eq!(value(&samples, "baton_llm_cost_usd_total", &[("model", "offline")]), Some(0.0));
        assert_eq!(
            value(&samples, "baton_graphql_request_duration_seconds_count", &[("operation", "OpsProbe"), ("errors", "false")]),
            Some(2.0)
        );
        assert!(value(&samples, "baton_http_request_duration_seconds_count", &[("route", "/graphql"), ("method", "POST"), ("status", "200")]).unwrap() >= 10.0);
        let histograms = check_histograms(&types, &samples);
        assert!(histograms >= 5, "{histograms} histogram series checked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_token_keeps_metrics_from_callers_without_it() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        |c| c.ops.metrics_token = Some("scrape-secret".into()),
        Default::default(),
    )
    .await;
    let anon = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let wrong = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let (types, _) = parse_exposition(&ok.text().await.unwrap());
    assert!(
        types.contains_key("baton_http_request_duration_seconds"),
        "{types:?}"
    );
}

async fn post_with_id(
    app: &TestApp,
    token: Option<&str>,
    id: Option<&str>,
    query: &str,
) -> (reqwest::header::HeaderMap, Value) {
    let mut req = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(id) = id {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.unwrap();
    let headers = res.headers().clone();
    (headers, res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_returned_and_quoted_by_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.admin_token.clone();
    let (h, _) = post_with_id(
        &app,
        Some(&token),
        Some("ops-req-42"),
        "{ workflowTypes { name } }",
    )
    .await;
    assert_eq!(h["x-request-id"], "ops-req-42");
    // Without one, or with one that could forge a log line, a new id is made.
    let (h, _) = post_with_id(&app, Some(&token), None, "{ workflowTypes { name } }").await;
    let made = h["x-request-id"].to_str().unwrap().to_string();
    assert!(made.parse::<uuid::Uuid>().is_ok(), "{made}");
    let (h, _) = post_with_id(
        &app,
        Some(&token),
        Some("two words"),
        "{ workflowTypes { name } }",
    )
    .await;
    assert_ne!(h["x-request-id"], "two words");
    // Static files and health checks get one too.
    let res = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "ops-health")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "ops-health");

    // An unauthenticated caller's error names the request.
    let (_, body) =
        post_with_id(&app, None, Some("ops-anon-1"), "{ workflowTypes { name } }").await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "ops-anon-1");

    // An internal error (the table is gone) carries the request id beside its error id.
    app.state
        .db
        .execute_unprepared("DROP TABLE deployments")
        .await
        .unwrap();
    let (h, body) = post_with_id(
        &app,
        Some(&token),
        Some("ops-internal-1"),
        "{ deployments { edges { node { id } } } }",
    )
    .await;
    assert_eq!(h["x-request-id"], "ops-internal-1");
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["code"], "INTERNAL_SERVER_ERROR", "{body:#}");
    assert!(ext["errorId"].is_string(), "{body:#}");
    assert_eq!(ext["requestId"], "ops-internal-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_json_lines_that_carry_the_request_id() {
    let db = TestDb::create(Backend::Sqlite).await;
    let token = baton_e2e::app::seed_admin(&db.url).await;
    let server = ServerProcess::start_capturing(
        &db.url,
        &[
            ("BATON_LOG_FORMAT", "json"),
            ("BATON_LOG", "info,tower_http=debug"),
            ("BATON_WORKERS", "0"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let res = http
        .post(server.url("/graphql"))
        .bearer_auth(&token)
        .header("x-request-id", "ops-json-7")
        .json(&json!({ "query": "{ workflowTypes { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "ops-json-7");
    // The response's log line is written as the response goes out: wait for it.
    let deadline = tokio::time::Instant::now() + T;
    let tagged = loop {
        let lines = server.stderr_lines();
        let tagged: Vec<Value> = lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
            })
            .filter(|v| {
                v["spans"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["request_id"] == "ops-json-7"))
            })
            .collect();
        if tagged
            .iter()
            .any(|v| v["fields"]["message"] == "finished processing request")
        {
            break tagged;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no log line of the request: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for line in &tagged {
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    assert!(!server.stderr_lines().is_empty());
    server.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_have_etags_answer_304_and_gzip_when_asked() {
    let web = baton_e2e::db::TempDir::new();
    std::fs::create_dir_all(web.0.join("assets")).unwrap();
    std::fs::write(
        web.0.join("index.html"),
        "<!doctype html><div id=root></div>",
    )
    .unwrap();
    let script = "console.log('the review app');\n".repeat(40);
    std::fs::write(web.0.join("assets/index-3f2a1c.js"), &script).unwrap();
    let dir = web.0.clone();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        move |c| c.web_dir = Some(dir),
        Default::default(),
    )
    .await;

    let first = app
        .http
        .get(app.url("/assets/index-3f2a1c.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        first.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        first.headers().get("content-encoding").is_none(),
        "not compressed unless asked"
    );
    assert_eq!(first.text().await.unwrap(), script);

    let again = app
        .http
        .get(app.url("/assets/index-3f2a1c.js"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], tag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    // A client route revalidates index.html the same way.
    let index = app.http.get(app.url("/approvals/1")).send().await.unwrap();
    let index_tag = index.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(index_tag, tag);
    let revalidated = app
        .http
        .get(app.url("/"))
        .header("if-none-match", &index_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["cache-control"], "no-cache");
    // A changed file is a new tag: the old one gets the whole file.
    let stale = app
        .http
        .get(app.url("/assets/index-3f2a1c.js"))
        .header("if-none-match", "W/\"0-0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    let gz = app
        .http
        .get(app.url("/assets/index-3f2a1c.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let body = gz.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        body.len() < script.len(),
        "{} bytes for {}",
        body.len(),
        script.len()
    );
    // GraphQL answers are not compressed.
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": "{ workflowTypes { name description inputSchema } }" }))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    app.stop().await;
}

/// One binary: with no `--web-dir`, a `baton serve` started in another
/// working directory serves the review app embedded at build time, byte
/// for byte the `web/dist` it was built from, with its ETag and a `304`.
/// A binary built before `web/dist` existed serves the API alone and says
/// so on `/`. (`scripts/test` builds the app first, so CI takes the first
/// branch.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_started_elsewhere_serves_the_embedded_review_app() {
    let db = TestDb::create(Backend::Sqlite).await;
    let server = ServerProcess::start_in_dir(&db.url, &[], std::path::Path::new("/")).await;
    let http = reqwest::Client::new();
    let index = http.get(server.url("/")).send().await.unwrap();
    let status = index.status();
    let tag = index
        .headers()
        .get("etag")
        .map(|t| t.to_str().unwrap().to_string());
    let body = index.text().await.unwrap();
    if baton::http::app_embedded() {
        eprintln!("the binary embeds the review app: checking it is served from /");
        assert_eq!(status, 200, "{body}");
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
        let on_disk = std::fs::read_to_string(dist.join("index.html"))
            .expect("web/dist/index.html, which the binary embeds");
        assert_eq!(body, on_disk, "the embedded index.html is the built one");
        // Every asset index.html names is served, from the binary.
        let assets: Vec<&str> = body
            .split('"')
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        assert!(!assets.is_empty(), "index.html names its assets: {body}");
        for a in &assets {
            let res = http.get(server.url(a)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{a}");
            assert_eq!(
                res.headers()["cache-control"],
                "public, max-age=31536000, immutable"
            );
        }
        let tag = tag.expect("an ETag on index.html");
        let again = http
            .get(server.url("/reviews/some-client-route"))
            .header("if-none-match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "a client route is index.html too");
        let missing = http
            .get(server.url("/assets/gone-123.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    } else {
        eprintln!("the binary was built without web/dist: checking it says so");
        assert_eq!(status, 503);
        assert!(body.contains("built without it"), "{body}");
    }
    // The API is there either way.
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// Runs `baton serve` with `env` and returns its exit status and stderr,
/// once it has stopped (a start that should fail, but did not, fails the
/// test at the timeout).
async fn serve_refused(db_url: &str, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut cmd = tokio::process::Command::new(baton_e2e::process::baton_bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", db_url)
        .env("BATON_LOG", "error")
        .envs(env.iter().copied())
        .kill_on_drop(true);
    let out = tokio::time::timeout(T, cmd.output())
        .await
        .expect("baton serve should have refused to start")
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_list_entry_that_is_not_an_origin_stops_the_start_naming_the_option_and_the_entry()
 {
    let db = TestDb::create(Backend::Sqlite).await;
    let (status, stderr) = serve_refused(
        &db.url,
        &[(
            "BATON_CORS_ORIGINS",
            "https://dashboard.example,dashboard.example:8443",
        )],
    )
    .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("BATON_CORS_ORIGINS: 'dashboard.example:8443' is not an origin"),
        "{stderr}"
    );
    let (status, stderr) = serve_refused(
        &db.url,
        &[("BATON_ALLOWED_ORIGINS", "http://localhost:5173/app")],
    )
    .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("BATON_ALLOWED_ORIGINS: 'http://localhost:5173/app' is not an origin")
            && stderr.contains("no path"),
        "{stderr}"
    );
}
