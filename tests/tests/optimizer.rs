//! The optimizer end to end: an L8 experiment against a fake model whose
//! answers make one factor clearly matter, the analysis picking it,
//! approval deploying the optimum, the next draft using it, rollback, and
//! bad definitions refused before anything is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use baton_e2e::fake_llm::{FakeLlm, Reply};
use baton_e2e::{TestApp, both_backends, gql_error_code};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

/// The fake model: drafts written "hot" (temperature ≥ 0.8) read badly and
/// the judge says so; everything else barely matters.
fn scripted(req: &Value) -> Reply {
    let hot = req["temperature"].as_f64().unwrap_or(0.0) >= 0.8;
    let marker = if hot { "HOT" } else { "COOL" };
    let schema_name = req
        .pointer("/response_format/json_schema/name")
        .and_then(Value::as_str);
    match schema_name {
        Some("verbalized_candidates") => Reply::content(
            &json!({ "candidates": [
                { "text": format!("{marker} draft one about the harbour."), "probability": 0.6 },
                { "text": format!("{marker} draft two about the harbour."), "probability": 0.4 }
            ] })
            .to_string(),
        ),
        Some(_) => {
            // The judge: read the draft under review from the last message.
            let text = req["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| m["content"].to_string())
                .unwrap_or_default();
            let score = if text.contains("COOL") { 9 } else { 3 };
            let schema = req.pointer("/response_format/json_schema/schema").unwrap();
            let mut answer = serde_json::Map::new();
            for dim in schema["properties"].as_object().unwrap().keys() {
                answer.insert(
                    dim.clone(),
                    json!({ "score": score, "reason": format!("{marker} reads that way") }),
                );
            }
            Reply::content(&Value::Object(answer).to_string())
        }
        None => Reply::content(&format!("{marker}: the harbour lights came on one by one.")),
    }
}

const RUN: &str = "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) {
    workflow { id status error } approval { id artifactType score } } }";

fn experiment_input() -> Value {
    json!({
        "name": "temperature study",
        "replicates": 1,
        "factors": {
            "temperature": [{ "temperature": 0.3 }, { "temperature": 1.0 }],
            "prompt": [{ "system_prompt": "novelist" }, { "system_prompt": "minimalist" }],
            "candidates": [{ "candidates": 1 }, { "candidates": 2 }],
            "top_p": [{ "top_p": 0.9 }, { "top_p": 1.0 }],
            "sampling": [{ "verbalized_sampling": false }, { "verbalized_sampling": true, "vs_k": 2, "selection": "judge" }]
        },
        "briefs": [
            { "prompt": "Mara arrives at the harbour.", "scene": "arrival" },
            { "prompt": "The storm reaches the island.", "scene": "storm" }
        ]
    })
}

both_backends! {
    async fn an_l8_experiment_finds_the_factor_that_matters_and_approval_deploys_it(backend: Backend) {
        let llm = FakeLlm::start(|req, _| scripted(req)).await;
        let base = llm.base_url();
        let app = TestApp::spawn_with(backend, move |c| c.llm.base_url = Some(base), Default::default()).await;

        let run = app
            .gql_ok(RUN, json!({ "input": { "type": "run_experiment", "input": experiment_input(), "wait": true, "waitTimeoutMs": 60000 } }))
            .await;
        let wf = &run["runWorkflow"]["workflow"];
        assert_eq!(wf["status"], "COMPLETED", "{wf}");
        let approval = &run["runWorkflow"]["approval"];
        assert_eq!(approval["artifactType"], "experiment_results");
        let experiment_id = wf["id"].as_str().unwrap().to_string();

        let data = app
            .gql_ok(
                "query($id: ID!) { experiment(id: $id) {
                    array arrayRuns snType failedRuns summary
                    factors { name column levels { index label } }
                    runs { row score error }
                    mainEffects { factor deltaMean rankMean levels { level label meanResponse meanSn } }
                    anova { rows { factor percent pooled f df } errorDf }
                    optimum { factor level label }
                    optimalConfig
                    prediction { score }
                    control { meanScore runs }
                } }",
                json!({ "id": experiment_id }),
            )
            .await;
        let e = &data["experiment"];
        assert_eq!(e["array"], "L8(2^7)");
        assert_eq!(e["arrayRuns"], 8);
        assert_eq!(e["snType"], "LARGER_IS_BETTER");
        assert_eq!(e["failedRuns"], 0);
        assert_eq!(e["runs"].as_array().unwrap().len(), 8 * 2 + 2, "8 rows × 2 briefs, plus the control arm");
        // Temperature explains (nearly) all the variation, and ranks first.
        let temp = e["mainEffects"].as_array().unwrap().iter().find(|m| m["factor"] == "temperature").unwrap();
        assert_eq!(temp["rankMean"], 1);
        assert!((temp["deltaMean"].as_f64().unwrap() - 60.0).abs() < 1e-6, "9/10 vs 3/10 on every dimension: {temp}");
        let rows = e["anova"]["rows"].as_array().unwrap();
        let temp_row = rows.iter().find(|r| r["factor"] == "temperature").unwrap();
        assert!(temp_row["percent"].as_f64().unwrap() > 99.0, "{rows:#?}");
        // The optimum is the cool level; the prediction is the cool score.
        let opt_temp = e["optimum"].as_array().unwrap().iter().find(|o| o["factor"] == "temperature").unwrap();
        assert_eq!(opt_temp["label"], "temperature=0.3");
        assert!((e["optimalConfig"]["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-9);
        assert!((e["prediction"]["score"].as_f64().unwrap() - 90.0).abs() < 1e-6, "{}", e["prediction"]);
        assert!(e["summary"].as_str().unwrap().contains("temperature"));
        // The control arm (no deployment yet: defaults, which run cool) was measured.
        assert_eq!(e["control"]["runs"], 2);

        // The approval exposes the same experiment.
        let via_approval = app
            .gql_ok("query($id: ID!) { approval(id: $id) { experiment { id array } nextWorkflowType } }", json!({ "id": approval["id"] }))
            .await;
        assert_eq!(via_approval["approval"]["experiment"]["id"], experiment_id.as_str());
        assert_eq!(via_approval["approval"]["nextWorkflowType"], "deploy_config");

        // Approve: deploy_config makes the optimum the active production config.
        let decided = app.approve(approval["id"].as_str().unwrap(), None).await;
        let deploy_id = decided["data"]["approve"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        app.wait_for_status(&deploy_id, &["COMPLETED"], T).await;
        let active = app
            .gql_ok(
                "{ activeDeployment(target: \"generate_draft\", environment: \"production\") { id active config experimentId approval { id } } }",
                json!({}),
            )
            .await;
        let dep = &active["activeDeployment"];
        assert_eq!(dep["active"], true);
        assert_eq!(dep["experimentId"], experiment_id.as_str());
        assert_eq!(dep["approval"]["id"], approval["id"]);
        assert!((dep["config"]["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-9);
        let deployment_id = dep["id"].as_str().unwrap().to_string();

        // The next draft uses it and says so.
        let draft = app.run_workflow("generate_draft", json!({ "prompt": "After the storm." }), true).await;
        assert_eq!(draft["workflow"]["status"], "COMPLETED");
        assert_eq!(draft["workflow"]["output"]["deployment_id"], deployment_id.as_str());
        assert!((draft["workflow"]["output"]["config"]["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-9);

        // A manual deploy of another config, then a rollback to the approved one.
        let manual = app
            .run_workflow(
                "deploy_config",
                json!({ "target": "generate_draft", "environment": "production", "config": { "temperature": 1.0 } }),
                true,
            )
            .await;
        assert_eq!(manual["workflow"]["status"], "COMPLETED");
        let rolled = app
            .gql_ok(
                "mutation($id: ID!) { rollbackDeployment(id: $id) { id active config rolledBackFrom } }",
                json!({ "id": deployment_id }),
            )
            .await;
        let r = &rolled["rollbackDeployment"];
        assert_eq!(r["active"], true);
        assert_eq!(r["rolledBackFrom"], deployment_id.as_str());
        assert!((r["config"]["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-9);
        let history = app
            .gql_ok("{ deployments(target: \"generate_draft\") { edges { node { id active } } } }", json!({}))
            .await;
        let nodes = history["deployments"]["edges"].as_array().unwrap();
        assert_eq!(nodes.len(), 3, "approved, manual, rollback: all kept");
        assert_eq!(nodes.iter().filter(|n| n["node"]["active"] == true).count(), 1);
        assert_eq!(nodes[0]["node"]["id"], r["id"], "newest first");
        let again = app.gql("mutation($id: ID!) { rollbackDeployment(id: $id) { id } }", json!({ "id": r["id"] })).await;
        assert_eq!(gql_error_code(&again), "CONFLICT", "the active deployment is not rolled back onto itself");
        app.stop().await;
    }
}

both_backends! {
    async fn bad_experiment_definitions_are_refused_and_create_nothing(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.engine.workers = 0, Default::default()).await;
        let mut one_level = experiment_input();
        one_level["factors"]["temperature"] = json!([{ "temperature": 0.3 }]);
        let mut unknown_field = experiment_input();
        unknown_field["factors"]["temperature"][1] = json!({ "temprature": 1.0 });
        let mut too_many = experiment_input();
        let mut factors = serde_json::Map::new();
        for i in 0..40 {
            factors.insert(format!("f{i:02}"), json!([{ "temperature": 0.1 }, { "temperature": 0.2 }]));
        }
        too_many["factors"] = Value::Object(factors);
        let mut six_levels = experiment_input();
        six_levels["factors"]["temperature"] = json!((0..6).map(|i| json!({ "temperature": f64::from(i) * 0.2 })).collect::<Vec<_>>());
        let mut no_briefs = experiment_input();
        no_briefs["briefs"] = json!([]);

        let cases = [
            (one_level, "input.factors.temperature", "at least 2 levels"),
            (unknown_field, "input.factors.temperature[1].temprature", "not an allowed field"),
            (too_many, "input.factors", "factors"),
            (six_levels, "input.factors.temperature", "6 levels"),
            (no_briefs, "input.briefs", ""),
        ];
        for (input, field, says) in cases {
            let body = app.gql(RUN, json!({ "input": { "type": "run_experiment", "input": input } })).await;
            assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{body:#}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
            let msg = body["errors"][0]["message"].as_str().unwrap();
            assert!(msg.contains(says), "{msg}");
        }
        let count = app.gql_ok("{ workflows { edges { node { id } } } }", json!({})).await;
        assert_eq!(count["workflows"]["edges"].as_array().map(Vec::len), Some(0));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_defined_in_yaml_runs_from_the_command_line() {
    let db = baton_e2e::TestDb::create(baton_e2e::Backend::Sqlite).await;
    let dir = baton_e2e::db::TempDir::new();
    let file = dir.0.join("study.yaml");
    std::fs::write(
        &file,
        "factors:\n  temperature:\n    - { temperature: 0.3 }\n    - { temperature: 1.0 }\n  prompt:\n    - { system_prompt: novelist }\n    - { system_prompt: cinematic }\nbriefs:\n  - prompt: A quiet breakfast.\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(baton_e2e::process::baton_bin())
        .args(["experiment", "run", file.to_str().unwrap(), "--local"])
        .env("BATON_DATABASE_URL", &db.url)
        .env("BATON_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("runs of L4(2^3)"), "{stdout}");
    assert!(stdout.contains("optimal config:"), "{stdout}");
    // The printed command names the version to decide on, and works as printed.
    let hint = stdout
        .lines()
        .find_map(|l| {
            l.split_once("approve it to deploy: ")
                .map(|(_, m)| m.to_string())
        })
        .unwrap_or_else(|| panic!("no approve hint: {stdout}"));
    assert!(
        hint.contains("approve(id:") && hint.contains("version: 1"),
        "{hint}"
    );

    // A bad file says what is wrong and exits non-zero.
    std::fs::write(
        &file,
        "factors:\n  temperature:\n    - { temperature: 0.3 }\nbriefs:\n  - prompt: x\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(baton_e2e::process::baton_bin())
        .args(["experiment", "run", file.to_str().unwrap(), "--local"])
        .env("BATON_DATABASE_URL", &db.url)
        .env("BATON_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("input.factors.temperature") && stderr.contains("at least 2 levels"),
        "{stderr}"
    );

    let app = TestApp::spawn_on(db, |c| c.engine.workers = 0, Default::default()).await;
    let decided = app.gql(&hint, json!({})).await;
    assert!(decided.get("errors").is_none(), "{decided:#}");
    assert!(
        decided["data"]["approve"]["nextWorkflow"]["id"].is_string(),
        "{decided:#}"
    );
    app.stop().await;
}

both_backends! {
    async fn failed_runs_are_recorded_and_left_out_of_the_analysis(backend: Backend) {
        // Drafts for the storm brief at top_p 0.9 are refused by the model.
        let llm = FakeLlm::start(|req, _| {
            let storm = req["messages"].to_string().contains("storm");
            let drafting = req.get("response_format").is_none();
            if drafting && storm && (req["top_p"].as_f64().unwrap_or(1.0) - 0.9).abs() < 1e-6 {
                Reply::status(400)
            } else {
                scripted(req)
            }
        })
        .await;
        let base = llm.base_url();
        let app = TestApp::spawn_with(
            backend,
            move |c| {
                c.llm.base_url = Some(base);
                c.llm.max_retries = 0;
            },
            Default::default(),
        )
        .await;
        let input = json!({
            "factors": {
                "temperature": [{ "temperature": 0.3 }, { "temperature": 1.0 }],
                "prompt": [{ "system_prompt": "novelist" }, { "system_prompt": "minimalist" }],
                "top_p": [{ "top_p": 0.9 }, { "top_p": 1.0 }]
            },
            "control": false,
            "briefs": [{ "prompt": "A calm morning." }, { "prompt": "The storm reaches the island." }]
        });
        let run = app
            .gql_ok(RUN, json!({ "input": { "type": "run_experiment", "input": input, "wait": true, "waitTimeoutMs": 60000 } }))
            .await;
        assert_eq!(run["runWorkflow"]["workflow"]["status"], "COMPLETED", "{run}");
        let id = run["runWorkflow"]["workflow"]["id"].clone();
        let data = app
            .gql_ok("query($id: ID!) { experiment(id: $id) { array failedRuns summary runs { row brief score error } anova { observations } } }", json!({ "id": id }))
            .await;
        let e = &data["experiment"];
        assert_eq!(e["array"], "L4(2^3)");
        assert_eq!(e["failedRuns"], 2, "two rows use top_p 0.9, one storm brief each");
        let failed: Vec<&Value> = e["runs"].as_array().unwrap().iter().filter(|r| !r["error"].is_null()).collect();
        assert_eq!(failed.len(), 2);
        assert!(failed.iter().all(|r| r["score"].is_null() && r["brief"] == 1));
        assert!(failed[0]["error"].as_str().unwrap().contains("400"));
        assert_eq!(e["anova"]["observations"], 6, "8 drafts, 2 failed: 6 observations analysed");
        assert!(e["summary"].as_str().unwrap().contains("2 failed and were left out of the analysis"), "{}", e["summary"]);
        app.stop().await;
    }
}
