//! `baton experiment run FILE.yaml`: submit an experiment from a file and
//! report its results in the terminal.

use std::time::Duration;

use anyhow::{Context, bail};
use entity::workflow::WorkflowStatus;
use tokio_util::sync::CancellationToken;

use crate::app::{Overrides, build_state, spawn_background};
use crate::cli::ExperimentRunArgs;
use crate::domain::workflows::{self, Submission};
use crate::domain::{Principal, approvals};
use crate::error::AppError;
use crate::workflows::run_experiment;

/// Reads a YAML or JSON experiment definition into the workflow's input.
pub fn read_definition(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // YAML is a superset of JSON, so one parser reads both.
    serde_yaml_ng::from_str(&text).with_context(|| format!("{} is not valid YAML", path.display()))
}

pub async fn run(args: ExperimentRunArgs) -> anyhow::Result<()> {
    let input = read_definition(&args.file)?;
    let mut config = args.config();
    config.engine.workers = if args.local { 4 } else { 0 };
    let state = build_state(config, Overrides::default()).await?;
    let cli = Principal::cli();
    let stamp = state.stamp(&cli);
    let submitted = match workflows::submit(
        &state.db,
        &state.catalog,
        &stamp,
        &cli,
        Submission {
            workflow_type: run_experiment::NAME.into(),
            input,
            idempotency_key: None,
        },
    )
    .await
    {
        Ok(s) => s,
        Err(AppError::BadInput { message, .. }) => {
            bail!(
                "{}: the experiment is not valid: {message}",
                args.file.display()
            )
        }
        Err(e) => bail!("submitting the experiment failed: {}", e.message()),
    };
    let id = submitted.workflow.id;
    state.hub.publish(submitted.signals);
    println!("experiment submitted: workflow {id}");
    if args.no_wait {
        return Ok(());
    }
    let shutdown = CancellationToken::new();
    let background = if args.local {
        spawn_background(&state, &shutdown)
    } else {
        Vec::new()
    };
    let started = tokio::time::Instant::now();
    let mut warned = false;
    let finished = loop {
        let w = workflows::find(&state.db, id)
            .await
            .map_err(|e| anyhow::anyhow!(e.message()))?;
        match w.status {
            WorkflowStatus::Completed | WorkflowStatus::Failed | WorkflowStatus::Cancelled => {
                break w;
            }
            WorkflowStatus::Pending if !warned && started.elapsed() > Duration::from_secs(10) => {
                eprintln!(
                    "still pending: is a `baton serve` or `baton worker` running on this database? \
                     (or pass --local to run it here)"
                );
                warned = true;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    shutdown.cancel();
    for task in background {
        let _ = task.await;
    }
    if finished.status != WorkflowStatus::Completed {
        bail!(
            "the experiment {}: {}",
            workflows::status_word(finished.status),
            finished.error.unwrap_or_default()
        );
    }
    let results = run_experiment::load(&state.db, id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?
        .context("the experiment finished without results")?;
    println!("\n{}\n", results.summary);
    println!("optimal config: {}", results.optimal_config);
    if let Some(a) = approvals::for_workflow(&state.db, id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?
    {
        println!(
            "approve it to deploy: mutation {{ approve(id: \"{}\", version: {}) {{ nextWorkflow {{ id }} }} }}",
            a.id, a.artifact_version
        );
    }
    Ok(())
}
