//! Experiment benchmark: an L8 × 3 replicates × 2 briefs experiment
//! (48 drafts, no control arm) against a fake OpenAI-compatible model that
//! answers every call in 200 ms.
//!
//! ```text
//! cargo bench -p baton-e2e --bench experiment -- [--delay-ms 200] [--concurrency N]
//! ```
//!
//! Prints the wall time with the given (default: the workflow's default, 8)
//! concurrency against the serial sum of the runs' own durations, and the
//! engine's own overhead per run: a run's duration minus the model time on
//! its critical path (3 candidates in parallel, then merge, then judge =
//! 3 × delay).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use baton::app::{Overrides, build_state, spawn_background};
use baton::domain::Principal;
use baton::domain::workflows::{self, Submission};
use baton_e2e::app::test_config;
use baton_e2e::fake_llm::{FakeLlm, Reply};
use baton_e2e::{Backend, TestDb};
use entity::workflow::WorkflowStatus;
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let delay = Duration::from_millis(
        arg("--delay-ms")
            .and_then(|s| s.parse().ok())
            .unwrap_or(200),
    );
    let concurrency: Option<usize> = arg("--concurrency").and_then(|s| s.parse().ok());
    let llm = FakeLlm::start(move |req, _| Reply::sensible(req).after(delay)).await;
    let db = TestDb::create(Backend::Sqlite).await;
    let mut config = test_config(&db.url);
    config.llm.base_url = Some(llm.base_url());
    config.llm.concurrency = 64;
    config.engine.workers = 1;
    let state = build_state(config, Overrides::default()).await.unwrap();

    let factors: serde_json::Map<String, serde_json::Value> = [
        (
            "temperature",
            json!([{ "temperature": 0.3 }, { "temperature": 1.0 }]),
        ),
        (
            "prompt",
            json!([{ "system_prompt": "novelist" }, { "system_prompt": "minimalist" }]),
        ),
        ("top_p", json!([{ "top_p": 0.9 }, { "top_p": 1.0 }])),
        (
            "max_tokens",
            json!([{ "max_tokens": 300 }, { "max_tokens": 600 }]),
        ),
        (
            "model",
            json!([{ "model": "fake-a" }, { "model": "fake-b" }]),
        ),
        (
            "prompt_b",
            json!([{ "system_prompt": "cinematic" }, { "system_prompt": "novelist" }]),
        ),
        (
            "temp_b",
            json!([{ "temperature": 0.5 }, { "temperature": 0.7 }]),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut input = json!({
        "factors": factors,
        "replicates": 3,
        "control": false,
        "briefs": [{ "prompt": "Mara arrives at the harbour." }, { "prompt": "The storm reaches the island." }],
    });
    if let Some(c) = concurrency {
        input["concurrency"] = json!(c);
    }
    let submitted = workflows::submit(
        &state.db,
        &state.catalog,
        &state.stamp(&Principal::cli()),
        &Principal::cli(),
        Submission {
            workflow_type: "run_experiment".into(),
            input,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let id = submitted.workflow.id;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let tasks = spawn_background(&state, &shutdown);
    state.hub.publish(submitted.signals);
    let done = loop {
        let w = workflows::find(&state.db, id).await.unwrap();
        if matches!(w.status, WorkflowStatus::Completed | WorkflowStatus::Failed) {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wall = started.elapsed();
    shutdown.cancel();
    for t in tasks {
        let _ = t.await;
    }
    assert_eq!(done.status, WorkflowStatus::Completed, "{:?}", done.error);
    let results = baton::workflows::run_experiment::load(&state.db, id)
        .await
        .unwrap()
        .unwrap();
    let runs = &results.runs;
    let serial_ms: u64 = runs.iter().map(|r| r.latency_ms).sum();
    let critical_path_ms = 3 * delay.as_millis() as u64;
    let mut overhead: Vec<i64> = runs
        .iter()
        .map(|r| r.latency_ms as i64 - critical_path_ms as i64)
        .collect();
    overhead.sort_unstable();
    let mean_overhead = overhead.iter().sum::<i64>() as f64 / overhead.len() as f64;
    println!(
        "experiment benchmark: {} ({} rows) x 3 replicates x 2 briefs = {} drafts, fake model {} ms/call, {} model calls",
        results.array,
        results.array_runs,
        runs.len(),
        delay.as_millis(),
        llm.calls()
    );
    println!(
        "concurrency: {}",
        concurrency.map_or("default (8)".to_string(), |c| c.to_string())
    );
    println!(
        "wall time (claim to completion): {:.2} s",
        wall.as_secs_f64()
    );
    println!(
        "serial sum of run durations:     {:.2} s  (speed-up {:.1}x)",
        serial_ms as f64 / 1000.0,
        serial_ms as f64 / 1000.0 / wall.as_secs_f64()
    );
    println!(
        "ideal wall time at this concurrency: {:.2} s",
        (runs.len() as f64 / concurrency.unwrap_or(8) as f64).ceil() * critical_path_ms as f64
            / 1000.0
    );
    println!(
        "engine overhead per run (duration - {} ms model critical path): mean {:.1} ms, p50 {} ms, max {} ms",
        critical_path_ms,
        mean_overhead,
        overhead[overhead.len() / 2],
        overhead[overhead.len() - 1]
    );
    println!("failed runs: {}", results.failed_runs);
}
