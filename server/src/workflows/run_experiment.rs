//! `run_experiment`: a Taguchi experiment over a workflow type's configs:
//! `generate_draft`'s, or a declared type's that has a config schema.
//!
//! Each factor is a named list of levels, each level a patch of the
//! target's config. The smallest orthogonal array that fits is chosen; every
//! array row × replicate × brief is one run. For `generate_draft` a run is a
//! draft written and scored exactly like production
//! (`generate_draft::write_draft`), concurrently within a limit. For a
//! declared target a run is a child workflow of that type (its brief plus
//! `config`), done by external workers, which report its score; children
//! open no approvals, and the experiment waits for them (they are machines,
//! not people) and analyses their scores the same way. The rubric score is the response (cost and latency are recorded
//! beside it). A run that fails is recorded as failed and left out of the
//! analysis, which says so. The current production config runs beside the
//! design as a control arm, so the optimum is compared with something
//! measured rather than assumed.
//!
//! The results become an `experiment_results` artifact; approving it starts
//! `deploy_config` with the optimal config.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use std::sync::Arc;

use entity::workflow::WorkflowStatus;

use super::draft_config::DraftConfig;
use super::generate_draft::{self, write_draft};
use super::{Brief, word_count};
use crate::domain::artifacts::merge_patch;
use crate::domain::deployments;
use crate::domain::llm_calls::estimate_cost_usd;
use crate::domain::workflow_types::{TypeLookup, TypeSpec};
use crate::domain::workflows;
use crate::engine::{
    ApprovalRequest, ArtifactEdits, FollowUp, NewArtifact, Outcome, RunContext, Workflow,
    WorkflowError,
};
use crate::optimizer::analysis::{self, Analysis, SnType};
use crate::optimizer::arrays::{self, Design, DesignError};

pub const NAME: &str = "run_experiment";
pub const ARTIFACT_KIND: &str = "experiment_results";
/// Upper bound on drafts one experiment may write (runs × replicates ×
/// briefs, control included), so a typo cannot burn thousands of calls.
pub const MAX_RUNS: usize = 500;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_target")]
    pub target: String,
    #[serde(default = "default_environment")]
    pub environment: String,
    /// Factor name → levels (config patches). Factors are taken in name order.
    pub factors: BTreeMap<String, Vec<Value>>,
    #[serde(default = "default_response")]
    pub response: String,
    #[serde(default = "default_sn")]
    pub sn_type: SnType,
    #[serde(default = "one")]
    pub replicates: usize,
    /// `generate_draft`: briefs; a declared target: inputs of that type
    /// (each run's input is one of them plus `config`).
    pub briefs: Vec<Value>,
    /// Applied to the active production config before the factor levels.
    #[serde(default)]
    pub base_config: Option<Value>,
    #[serde(default)]
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub pool_below_percent: Option<f64>,
    /// Also run the current production config as a control arm.
    #[serde(default = "yes")]
    pub control: bool,
}

fn default_target() -> String {
    generate_draft::NAME.into()
}
fn default_environment() -> String {
    generate_draft::DEFAULT_ENVIRONMENT.into()
}
fn default_response() -> String {
    "score".into()
}
fn default_sn() -> SnType {
    SnType::LargerIsBetter
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}

/// A factor level as the results show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LevelInfo {
    pub index: u8,
    /// Compact text of the patch, e.g. `temperature=0.9`.
    pub label: String,
    pub patch: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FactorInfo {
    pub name: String,
    /// The array column the factor was assigned to (0-based).
    pub column: usize,
    pub levels: Vec<LevelInfo>,
}

/// One draft written for the experiment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Array row (0-based); `None` for the control arm.
    pub row: Option<usize>,
    pub replicate: usize,
    pub brief: usize,
    /// Level of each factor (factor order); empty for the control arm.
    pub levels: Vec<u8>,
    pub config: Value,
    pub score: Option<f64>,
    pub words: Option<usize>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The draft written (its full text).
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OptimumChoice {
    pub factor: String,
    pub level: u8,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PredictionInfo {
    /// Predicted rubric score (0–100) at the optimum, additive model.
    pub score: f64,
    /// Predicted S/N ratio (dB).
    pub sn: Option<f64>,
    /// Predicted generation cost per draft, additive model over run costs.
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ControlArm {
    pub config: Value,
    /// The deployment it is (`None`: no deployment, the defaults).
    pub deployment_id: Option<uuid::Uuid>,
    pub mean_score: Option<f64>,
    pub mean_cost_usd: Option<f64>,
    pub mean_latency_ms: Option<f64>,
    pub runs: usize,
    pub failed: usize,
}

/// Everything the `experiment_results` artifact holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExperimentResults {
    pub name: Option<String>,
    pub target: String,
    pub environment: String,
    pub response: String,
    pub sn_type: SnType,
    pub replicates: usize,
    pub briefs: Vec<Value>,
    pub array: String,
    pub array_runs: usize,
    pub factors: Vec<FactorInfo>,
    pub runs: Vec<RunRecord>,
    pub failed_runs: usize,
    pub analysis: Analysis,
    pub optimum: Vec<OptimumChoice>,
    pub optimal_config: Value,
    pub prediction: PredictionInfo,
    pub control: Option<ControlArm>,
    pub summary: String,
}

pub struct RunExperiment;

/// What the experiment tunes.
#[derive(Clone)]
enum Target {
    /// `generate_draft`, run in process.
    Draft,
    /// A declared type with a config schema, run by external workers.
    Declared(Arc<TypeSpec>),
}

impl Target {
    fn resolve(name: &str, types: &TypeLookup) -> Result<Target, (String, String)> {
        if name == generate_draft::NAME {
            return Ok(Target::Draft);
        }
        let tunable = || {
            let mut names: Vec<&str> = types
                .values()
                .filter(|t| !t.builtin && t.config_schema.is_some())
                .map(|t| t.name.as_str())
                .collect();
            names.insert(0, generate_draft::NAME);
            names.join(", ")
        };
        match types.get(name) {
            Some(t) if !t.builtin && t.config_schema.is_some() => Ok(Target::Declared(t.clone())),
            Some(_) => Err((
                "target".into(),
                format!(
                    "{name} has no config schema to tune; types that do: {}",
                    tunable()
                ),
            )),
            None => Err((
                "target".into(),
                format!(
                    "unknown workflow type '{name}'; types with a config: {}",
                    tunable()
                ),
            )),
        }
    }

    /// A config (or patch) against the target's config schema; the path is
    /// relative to the config.
    fn check_config(&self, config: &Value) -> Result<(), (String, String)> {
        match self {
            Target::Draft => DraftConfig::parse(config).map(|_| ()),
            Target::Declared(t) => match t.invalid_config(config, "") {
                Some(v) => Err(v),
                None => Ok(()),
            },
        }
    }

    /// A config as this target keeps it (`generate_draft`: its known
    /// fields only).
    fn normalized(&self, config: Value) -> Value {
        match self {
            Target::Draft => DraftConfig::parse(&config).unwrap_or_default().to_json(),
            Target::Declared(_) => config,
        }
    }
}

/// `path` under `root`: `("factors.t[1]", "x")` → `factors.t[1].x`.
fn under(root: &str, path: &str) -> String {
    if path.is_empty() {
        root.to_string()
    } else if path.starts_with('[') {
        format!("{root}{path}")
    } else {
        format!("{root}.{path}")
    }
}

impl RunExperiment {
    fn parse(
        input: &Value,
        types: &TypeLookup,
    ) -> Result<(ExperimentInput, Design, Target), (String, String)> {
        let exp: ExperimentInput =
            serde_json::from_value(input.clone()).map_err(|e| (String::new(), e.to_string()))?;
        let target = Target::resolve(&exp.target, types)?;
        if exp.factors.is_empty() {
            return Err((
                "factors".into(),
                "an experiment needs at least one factor".into(),
            ));
        }
        for (name, levels) in &exp.factors {
            if levels.len() < 2 {
                return Err((
                    format!("factors.{name}"),
                    format!(
                        "has {} level; a factor needs at least 2 levels to compare",
                        levels.len()
                    ),
                ));
            }
            for (i, level) in levels.iter().enumerate() {
                target.check_config(level).map_err(|(field, msg)| {
                    (
                        under(&format!("factors.{name}[{i}]"), &field),
                        format!("{msg} (levels are patches of the {} config)", exp.target),
                    )
                })?;
            }
        }
        if let Some(base) = &exp.base_config {
            target
                .check_config(base)
                .map_err(|(f, m)| (under("base_config", &f), m))?;
        }
        for (i, brief) in exp.briefs.iter().enumerate() {
            match &target {
                Target::Draft => {
                    serde_json::from_value::<Brief>(brief.clone())
                        .map_err(|e| (format!("briefs[{i}]"), e.to_string()))?;
                }
                // Each run's input is the brief plus `config`: the target's
                // input schema must take it.
                Target::Declared(t) => {
                    let mut run_input = brief.clone();
                    if let Some(map) = run_input.as_object_mut() {
                        map.insert(
                            "config".into(),
                            exp.base_config.clone().unwrap_or_else(|| json!({})),
                        );
                    }
                    if let Some((field, msg)) = t.schema_violation(&run_input) {
                        let rest = field.strip_prefix("input").unwrap_or(&field);
                        return Err((
                            format!("briefs[{i}]{rest}"),
                            format!(
                                "{msg} (each run of {} gets a brief plus `config` as its input)",
                                t.name
                            ),
                        ));
                    }
                }
            }
        }
        let names: Vec<&String> = exp.factors.keys().collect();
        let levels: Vec<u8> = exp
            .factors
            .values()
            .map(|l| u8::try_from(l.len()).unwrap_or(u8::MAX))
            .collect();
        let design = arrays::choose(&levels).map_err(|e| match e {
            DesignError::UnsupportedLevels { factor, .. }
            | DesignError::TooFewLevels { factor, .. } => (
                format!("factors.{}", names.get(factor).map_or("?", |n| n.as_str())),
                e.to_string(),
            ),
            other => ("factors".to_string(), other.to_string()),
        })?;
        let total = (design.runs + usize::from(exp.control)) * exp.replicates * exp.briefs.len();
        if total > MAX_RUNS {
            return Err((
                String::new(),
                format!(
                    "this experiment would make {total} runs ({} array runs{} × {} replicates × {} briefs); the limit is {MAX_RUNS}",
                    design.runs,
                    if exp.control { " + control" } else { "" },
                    exp.replicates,
                    exp.briefs.len()
                ),
            ));
        }
        Ok((exp, design, target))
    }
}

#[async_trait::async_trait]
impl Workflow for RunExperiment {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Runs a Taguchi orthogonal-array experiment over the configs of generate_draft or of a \
         declared type with a config schema: every array row × replicate × brief is one run \
         (a draft scored by the rubric judge, or a child workflow of the declared type scored \
         by its worker), then analysed (main effects, S/N ratios, ANOVA, optimum and its \
         prediction). Approving the results deploys the optimal config with deploy_config."
    }

    fn input_schema(&self) -> Value {
        // The schema refuses what `parse` refuses wherever JSON Schema can
        // say it; the bounds come from the catalogue of arrays.
        let catalogue = arrays::catalogue();
        let most_factors = catalogue
            .iter()
            .map(arrays::OrthogonalArray::columns)
            .max()
            .unwrap_or(1);
        let most_levels = catalogue
            .iter()
            .flat_map(|a| a.levels.iter().copied())
            .max()
            .unwrap_or(2);
        json!({
            "type": "object",
            "description": format!(
                "A Taguchi experiment over the configs of {} or of a declared type with a config \
                 schema. Checked beyond this schema: a declared target's levels and base_config \
                 against its config schema, and its briefs (plus `config`) against its input \
                 schema; the factors' level counts must fit one orthogonal array of the \
                 catalogue (factors with different level counts combine only in L18: one 2-level \
                 factor and up to seven 3-level ones); and the runs, (array runs + 1 if control) \
                 × replicates × briefs, must be at most {MAX_RUNS}.",
                generate_draft::NAME
            ),
            "required": ["factors", "briefs"],
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "maxLength": 200 },
                "target": { "type": "string", "minLength": 1, "maxLength": 64, "description": "The workflow type whose config is optimized: generate_draft (the default) or a declared type with a config schema." },
                "environment": { "type": "string", "minLength": 1, "maxLength": 64, "description": "Whose active config is the base and the control (default 'production')." },
                "factors": {
                    "type": "object",
                    "description": "Factor name → list of levels; each level is a patch of the target's config.",
                    "minProperties": 1,
                    "maxProperties": most_factors,
                    "x-count-noun": "factor",
                    "additionalProperties": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": most_levels,
                        "x-count-noun": "level",
                        "items": { "type": "object" }
                    }
                },
                "response": { "enum": ["score"], "description": "What is optimized: the rubric score (cost and latency are recorded beside it)." },
                "sn_type": { "enum": ["larger_is_better", "smaller_is_better", "nominal_is_best"] },
                "replicates": { "type": "integer", "minimum": 1, "maximum": 10 },
                "briefs": {
                    "type": "array", "minItems": 1, "maxItems": 10, "x-count-noun": "brief",
                    "description": "generate_draft: briefs to draft; a declared target: inputs of that type (each run gets one plus `config`).",
                    "items": { "type": "object" }
                },
                "base_config": { "type": "object" },
                "concurrency": { "type": "integer", "minimum": 1, "maximum": 32 },
                "pool_below_percent": { "type": "number", "minimum": 0, "maximum": 100 },
                "control": { "type": "boolean", "description": "Also run the current production config (default true)." }
            },
            // generate_draft's configs and briefs are known here; a
            // declared target's are checked against its own schemas.
            "if": { "properties": { "target": { "const": generate_draft::NAME } } },
            "then": {
                "properties": {
                    "factors": { "additionalProperties": { "items": DraftConfig::schema() } },
                    "base_config": DraftConfig::schema(),
                    "briefs": { "items": {
                        "type": "object", "required": ["prompt"], "additionalProperties": false,
                        "properties": {
                            "story_id": { "type": "string", "maxLength": 200 },
                            "scene": { "type": "string", "maxLength": 200 },
                            "prompt": { "type": "string", "minLength": 1, "maxLength": 20000 }
                        }
                    } }
                }
            }
        })
    }

    fn requires_approval(&self) -> bool {
        true
    }

    /// A reviewer may change values of the proposed config before approving
    /// its deployment; the measured results stay as they were.
    fn artifact_edits(&self) -> Option<ArtifactEdits> {
        Some(ArtifactEdits {
            fields: Some(vec!["optimal_config".into()]),
            // A declared target's config is checked against its schema when
            // the approval starts deploy_config.
            schema: json!({
                "type": "object",
                "required": ["optimal_config"],
                "properties": { "optimal_config": { "type": "object" } },
                "if": { "properties": { "target": { "const": generate_draft::NAME } } },
                "then": { "properties": { "optimal_config": DraftConfig::schema() } }
            }),
        })
    }

    /// An experiment writes up to 500 drafts: it gets at least an hour.
    fn timeout(&self, configured: std::time::Duration) -> std::time::Duration {
        configured.max(std::time::Duration::from_secs(3600))
    }

    fn validate(&self, input: &Value, types: &TypeLookup) -> Result<(), (String, String)> {
        RunExperiment::parse(input, types).map(|_| ())
    }

    async fn execute(&self, ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        let types =
            ctx.catalog.lookup(&ctx.db).await.map_err(|e| {
                WorkflowError::Retryable(format!("reading the workflow types: {e:?}"))
            })?;
        let (exp, design, target) = RunExperiment::parse(&input, &types)
            .map_err(|(f, m)| WorkflowError::Fatal(format!("input.{f}: {m}")))?;
        let deployment = deployments::active(&ctx.db, &exp.target, &exp.environment)
            .await
            .map_err(|e| WorkflowError::Retryable(format!("reading the deployed config: {e:?}")))?;
        let production = target.normalized(
            deployment
                .as_ref()
                .map_or_else(|| json!({}), |d| d.config.clone()),
        );
        let base = target.normalized(merge_patch(
            &production,
            exp.base_config.as_ref().unwrap_or(&json!({})),
        ));
        let factor_patches: Vec<Vec<Value>> = exp.factors.values().cloned().collect();
        let config_of = |levels: &[u8]| {
            target.normalized(
                levels
                    .iter()
                    .zip(&factor_patches)
                    .fold(base.clone(), |c, (l, patches)| {
                        merge_patch(&c, &patches[usize::from(*l)])
                    }),
            )
        };

        // The plan: every row × replicate × brief, then the control arm.
        let mut plan = Vec::new();
        for (row, levels) in design.rows.iter().enumerate() {
            for replicate in 0..exp.replicates {
                for brief in 0..exp.briefs.len() {
                    plan.push((
                        Some(row),
                        replicate,
                        brief,
                        levels.clone(),
                        config_of(levels),
                    ));
                }
            }
        }
        if exp.control {
            for replicate in 0..exp.replicates {
                for brief in 0..exp.briefs.len() {
                    plan.push((None, replicate, brief, Vec::new(), production.clone()));
                }
            }
        }
        let mut runs = match &target {
            Target::Draft => draft_runs(ctx, &exp, plan).await?,
            Target::Declared(t) => child_runs(ctx, t, &exp, plan).await?,
        };
        runs.sort_by_key(|r| (r.row.unwrap_or(usize::MAX), r.replicate, r.brief));
        self.analyse(ctx, exp, design, deployment, production, runs, &config_of)
    }
}

/// One planned run: array row (`None`: control), replicate, brief, the
/// row's levels and the config they make.
type PlannedRun = (Option<usize>, usize, usize, Vec<u8>, Value);

/// `generate_draft` runs, in process, `concurrency` at a time.
async fn draft_runs(
    ctx: &RunContext,
    exp: &ExperimentInput,
    plan: Vec<PlannedRun>,
) -> Result<Vec<RunRecord>, WorkflowError> {
    let briefs: Vec<Brief> = exp
        .briefs
        .iter()
        .map(|b| serde_json::from_value(b.clone()).unwrap_or_default())
        .collect();
    let limit = exp.concurrency.unwrap_or(8).max(1);
    let briefs = &briefs;
    Ok(futures_util::stream::iter(plan)
        .map(|(row, replicate, brief, levels, config)| async move {
            let started = Instant::now();
            let draft_config = DraftConfig::parse(&config).unwrap_or_default();
            let result = write_draft(ctx, &briefs[brief], &draft_config).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match result {
                Ok(d) => RunRecord {
                    row,
                    replicate,
                    brief,
                    levels,
                    config,
                    score: Some(d.scorecard.total),
                    words: Some(word_count(&d.text)),
                    prompt_tokens: d.prompt_tokens,
                    completion_tokens: d.completion_tokens,
                    cost_usd: estimate_cost_usd(
                        &d.model,
                        u32::try_from(d.prompt_tokens).unwrap_or(u32::MAX),
                        u32::try_from(d.completion_tokens).unwrap_or(u32::MAX),
                    ),
                    latency_ms,
                    error: None,
                    text: Some(d.text.clone()),
                },
                Err(e) => RunRecord {
                    row,
                    replicate,
                    brief,
                    levels,
                    config,
                    score: None,
                    words: None,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    cost_usd: None,
                    latency_ms,
                    error: Some(e.to_string()),
                    text: None,
                },
            }
        })
        .buffer_unordered(limit)
        .collect()
        .await)
}

/// A declared target's runs: one child workflow each (the brief plus
/// `config`), done by external workers. Started once (keyed by the
/// experiment and the run's index, so a retried experiment finds them),
/// then waited for until every child has ended; a child that failed or was
/// cancelled is a failed run.
async fn child_runs(
    ctx: &RunContext,
    target: &TypeSpec,
    exp: &ExperimentInput,
    plan: Vec<PlannedRun>,
) -> Result<Vec<RunRecord>, WorkflowError> {
    let inputs: Vec<Value> = plan
        .iter()
        .map(|(_, _, brief, _, config)| {
            let mut input = exp.briefs[*brief].clone();
            if let Some(map) = input.as_object_mut() {
                map.insert("config".into(), config.clone());
            }
            input
        })
        .collect();
    let (ids, signals) =
        workflows::start_children(&ctx.db, &ctx.stamp(), &ctx.workflow, target, inputs)
            .await
            .map_err(|e| WorkflowError::Retryable(format!("starting the runs: {e:?}")))?;
    ctx.publish(signals);
    let children = loop {
        let rows = workflows::children(&ctx.db, ctx.workflow.id)
            .await
            .map_err(|e| WorkflowError::Retryable(format!("reading the runs: {e:?}")))?;
        let open = rows
            .iter()
            .filter(|w| matches!(w.status, WorkflowStatus::Pending | WorkflowStatus::Running))
            .count();
        if open == 0 {
            break rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let by_id: BTreeMap<uuid::Uuid, &entity::workflow::Model> =
        children.iter().map(|w| (w.id, w)).collect();
    Ok(plan
        .into_iter()
        .zip(ids)
        .map(|((row, replicate, brief, levels, config), id)| {
            let child = by_id.get(&id);
            let completed = child.is_some_and(|c| c.status == WorkflowStatus::Completed);
            let error = match child {
                None => Some("the run's workflow is missing".to_string()),
                Some(c) if !completed => Some(c.error.clone().unwrap_or_else(|| {
                    format!("the run was {}", workflows::status_word(c.status))
                })),
                Some(c) if c.score.is_none() => {
                    Some("the worker completed the run without a score".to_string())
                }
                Some(_) => None,
            };
            let latency_ms = child
                .and_then(|c| Some((c.completed_at? - c.started_at?).num_milliseconds()))
                .and_then(|ms| u64::try_from(ms).ok())
                .unwrap_or(0);
            RunRecord {
                row,
                replicate,
                brief,
                levels,
                config,
                score: child.and_then(|c| c.score).filter(|_| error.is_none()),
                words: None,
                prompt_tokens: 0,
                completion_tokens: 0,
                cost_usd: None,
                latency_ms,
                error,
                text: None,
            }
        })
        .collect())
}

impl RunExperiment {
    /// The analysis of finished runs, the results artifact and the approval
    /// that deploys the optimum.
    #[allow(clippy::too_many_arguments)]
    fn analyse(
        &self,
        ctx: &RunContext,
        exp: ExperimentInput,
        design: Design,
        deployment: Option<entity::deployment::Model>,
        production: Value,
        runs: Vec<RunRecord>,
        config_of: &dyn Fn(&[u8]) -> Value,
    ) -> Result<Outcome, WorkflowError> {
        let per_row = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Vec<Vec<Option<f64>>> {
            let mut out = vec![Vec::new(); design.runs];
            for r in &runs {
                if let Some(row) = r.row {
                    out[row].push(if r.error.is_none() { f(r) } else { None });
                }
            }
            out
        };
        let pool = exp
            .pool_below_percent
            .unwrap_or(analysis::DEFAULT_POOL_BELOW_PERCENT);
        let scores = per_row(&|r| r.score);
        let analysed = analysis::analyze(&design, &scores, exp.sn_type, pool).map_err(|e| {
            let failures: Vec<&str> = runs
                .iter()
                .filter_map(|r| r.error.as_deref())
                .take(3)
                .collect();
            WorkflowError::Retryable(format!(
                "the experiment could not be analysed: {e}; first failures: {}",
                failures.join(" | ")
            ))
        })?;
        // Cost and latency follow the same additive model at the optimum.
        let side = |f: &dyn Fn(&RunRecord) -> Option<f64>| -> Option<f64> {
            let a = analysis::analyze(&design, &per_row(f), SnType::SmallerIsBetter, pool).ok()?;
            let mut predicted = a.grand_mean;
            for opt in &analysed.optimum {
                let effect = a.effects.get(opt.factor_index)?;
                predicted += effect
                    .level_means
                    .get(usize::from(opt.level))
                    .copied()
                    .flatten()?
                    - a.grand_mean;
            }
            Some(predicted.max(0.0))
        };
        let cost = side(&|r| r.cost_usd);
        let latency = side(&|r| Some(r.latency_ms as f64));

        let names: Vec<&String> = exp.factors.keys().collect();
        let factors: Vec<FactorInfo> = exp
            .factors
            .iter()
            .enumerate()
            .map(|(i, (name, levels))| FactorInfo {
                name: name.clone(),
                column: design.assignments.get(i).map_or(i, |a| a.column),
                levels: levels
                    .iter()
                    .enumerate()
                    .map(|(j, patch)| LevelInfo {
                        index: u8::try_from(j).unwrap_or(u8::MAX),
                        label: label(patch),
                        patch: patch.clone(),
                    })
                    .collect(),
            })
            .collect();
        let optimum: Vec<OptimumChoice> = analysed
            .optimum
            .iter()
            .map(|o| OptimumChoice {
                factor: names
                    .get(o.factor_index)
                    .map_or_else(String::new, |n| (*n).clone()),
                level: o.level,
                label: factors
                    .get(o.factor_index)
                    .and_then(|f| f.levels.get(usize::from(o.level)))
                    .map_or_else(String::new, |l| l.label.clone()),
            })
            .collect();
        let optimal_levels: Vec<u8> = {
            let mut l = vec![0u8; factors.len()];
            for o in &analysed.optimum {
                if let Some(slot) = l.get_mut(o.factor_index) {
                    *slot = o.level;
                }
            }
            l
        };
        let optimal_config = config_of(&optimal_levels);
        let control = exp.control.then(|| {
            let arm: Vec<&RunRecord> = runs.iter().filter(|r| r.row.is_none()).collect();
            let ok: Vec<&&RunRecord> = arm.iter().filter(|r| r.error.is_none()).collect();
            let mean = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
                let v: Vec<f64> = ok.iter().filter_map(|r| f(r)).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            ControlArm {
                config: production.clone(),
                deployment_id: deployment.as_ref().map(|d| d.id),
                mean_score: mean(&|r| r.score),
                mean_cost_usd: mean(&|r| r.cost_usd),
                mean_latency_ms: mean(&|r| Some(r.latency_ms as f64)),
                runs: arm.len(),
                failed: arm.len() - ok.len(),
            }
        });
        let failed_runs = runs
            .iter()
            .filter(|r| r.row.is_some() && r.error.is_some())
            .count();
        let prediction = PredictionInfo {
            score: analysed.prediction.mean,
            sn: analysed.prediction.sn,
            cost_usd: cost,
            latency_ms: latency,
        };
        let mut results = ExperimentResults {
            name: exp.name.clone(),
            target: exp.target.clone(),
            environment: exp.environment.clone(),
            response: exp.response.clone(),
            sn_type: exp.sn_type,
            replicates: exp.replicates,
            briefs: exp.briefs.clone(),
            array: design.array_name.clone(),
            array_runs: design.runs,
            factors,
            runs,
            failed_runs,
            analysis: analysed,
            optimum,
            optimal_config: optimal_config.clone(),
            prediction,
            control,
            summary: String::new(),
        };
        results.summary = summarize(&results);
        let content = serde_json::to_value(&results)
            .map_err(|e| WorkflowError::Fatal(format!("serializing the results: {e}")))?;
        Ok(Outcome {
            output: json!({
                "array": results.array,
                "runs": results.runs.len(),
                "failed_runs": results.failed_runs,
                "predicted_score": results.prediction.score,
                "optimal_config": optimal_config,
            }),
            artifact: Some(NewArtifact {
                kind: ARTIFACT_KIND.into(),
                content,
                parent_id: None,
            }),
            approval: Some(ApprovalRequest {
                artifact_data: Some(json!({
                    "summary": results.summary,
                    "array": results.array,
                    "optimal_config": results.optimal_config,
                    "predicted_score": results.prediction.score,
                    "control_score": results.control.as_ref().and_then(|c| c.mean_score),
                })),
                score: Some(results.prediction.score),
                on_approve: Some(FollowUp {
                    workflow_type: super::deploy_config::NAME.into(),
                    input: json!({
                        "target": results.target,
                        "environment": results.environment,
                        "config": results.optimal_config,
                        "experiment_id": ctx.workflow.id,
                    }),
                }),
                on_reject: None,
                reject_requires_feedback: false,
                expires_in: None,
                // Deploy the config of the version approved (a reviewer may
                // have edited it), not the one computed before review.
                artifact_bindings: vec![("config".into(), "/optimal_config".into())],
            }),
        })
    }
}

/// `{"temperature": 0.9, "model": "m"}` → `model=m, temperature=0.9`.
fn label(patch: &Value) -> String {
    match patch.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => "(no change)".into(),
    }
}

fn dollars(c: f64) -> String {
    if c <= 0.0 {
        "no model cost".into()
    } else {
        format!("about ${c:.6}")
    }
}

/// The plain-language summary a reviewer reads first.
pub fn summarize(r: &ExperimentResults) -> String {
    let mut s = String::new();
    let total = r.runs.iter().filter(|x| x.row.is_some()).count();
    s.push_str(&format!(
        "{} runs of {} ({} rows × {} replicate{} × {} brief{}){}.",
        total,
        r.array,
        r.array_runs,
        r.replicates,
        if r.replicates == 1 { "" } else { "s" },
        r.briefs.len(),
        if r.briefs.len() == 1 { "" } else { "s" },
        if r.failed_runs > 0 {
            format!(
                "; {} failed and were left out of the analysis",
                r.failed_runs
            )
        } else {
            String::new()
        }
    ));
    let mut contributions: Vec<(String, f64, bool)> = r
        .analysis
        .anova
        .factors
        .iter()
        .map(|row| {
            let name = r
                .factors
                .get(row.factor_index)
                .map_or("?", |f| f.name.as_str())
                .to_string();
            (name, row.percent, row.pooled)
        })
        .collect();
    contributions.sort_by(|a, b| b.1.total_cmp(&a.1));
    let matter: Vec<String> = contributions
        .iter()
        .filter(|(_, p, pooled)| !pooled && *p >= 5.0)
        .map(|(n, p, _)| format!("{n} ({p:.0}%)"))
        .collect();
    if matter.is_empty() {
        s.push_str(" No factor clearly matters: the differences are within the noise.");
    } else {
        s.push_str(&format!(
            " What matters, by share of the variation in score: {}.",
            matter.join(", ")
        ));
    }
    let opt: Vec<String> = r
        .optimum
        .iter()
        .map(|o| format!("{}: {}", o.factor, o.label))
        .collect();
    s.push_str(&format!(" Best levels: {}.", opt.join("; ")));
    s.push_str(&format!(
        " Predicted score at the optimum: {:.1}",
        r.prediction.score
    ));
    if let Some(c) = r.prediction.cost_usd {
        s.push_str(&format!(", {} per draft", dollars(c)));
    }
    s.push('.');
    if let Some(control) = &r.control {
        match control.mean_score {
            Some(score) => {
                s.push_str(&format!(
                    " The current {} config scored {:.1} on the same briefs",
                    r.environment, score
                ));
                if let Some(c) = control.mean_cost_usd {
                    s.push_str(&format!(" at {} per draft", dollars(c)));
                }
                s.push_str(&format!(
                    "; the optimum is predicted {:+.1} points.",
                    r.prediction.score - score
                ));
            }
            None => s.push_str(" The control runs of the current config all failed."),
        }
    }
    for note in &r.analysis.notes {
        s.push(' ');
        s.push_str(note);
    }
    s
}

/// The results of the experiment run by workflow `workflow_id`, if it has
/// finished.
pub async fn load(
    conn: &impl sea_orm::ConnectionTrait,
    workflow_id: uuid::Uuid,
) -> crate::error::AppResult<Option<ExperimentResults>> {
    let artifacts = crate::domain::artifacts::for_workflow(conn, workflow_id).await?;
    let Some(a) = artifacts.into_iter().find(|a| a.kind == ARTIFACT_KIND) else {
        return Ok(None);
    };
    serde_json::from_value(a.content).map(Some).map_err(|e| {
        crate::error::AppError::internal(anyhow::anyhow!(
            "experiment results of {workflow_id} do not parse: {e}"
        ))
    })
}
