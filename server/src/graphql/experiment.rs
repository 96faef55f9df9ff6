//! Experiments, typed: design, runs, main effects, S/N, ANOVA, optimum and
//! prediction. Built from the `experiment_results` artifact a
//! `run_experiment` workflow stored.

use async_graphql::{Enum, ID, Json, SimpleObject};
use serde_json::Value;

use crate::optimizer::analysis::{self, AnovaBasis as DbAnovaBasis, SnType as DbSnType};
use crate::workflows::run_experiment::ExperimentResults;

/// Which signal-to-noise ratio the experiment maximized.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnType {
    LargerIsBetter,
    SmallerIsBetter,
    NominalIsBest,
}

impl From<DbSnType> for SnType {
    fn from(s: DbSnType) -> Self {
        match s {
            DbSnType::LargerIsBetter => SnType::LargerIsBetter,
            DbSnType::SmallerIsBetter => SnType::SmallerIsBetter,
            DbSnType::NominalIsBest => SnType::NominalIsBest,
        }
    }
}

/// What an ANOVA table was computed on.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AnovaBasis {
    /// Every valid individual observation (runs × replicates × briefs).
    Observations,
    /// One S/N ratio per array row.
    SnRatios,
}

impl From<DbAnovaBasis> for AnovaBasis {
    fn from(b: DbAnovaBasis) -> Self {
        match b {
            DbAnovaBasis::Observations => AnovaBasis::Observations,
            DbAnovaBasis::SnRatios => AnovaBasis::SnRatios,
        }
    }
}

/// A Taguchi experiment over a workflow's configuration.
#[derive(SimpleObject)]
pub struct Experiment {
    /// The id of the `run_experiment` workflow.
    pub id: ID,
    pub name: Option<String>,
    /// The workflow type whose config was varied.
    pub target: String,
    pub environment: String,
    /// What was optimized (`score`: the rubric score).
    pub response: String,
    pub sn_type: SnType,
    pub replicates: i32,
    /// The briefs every configuration was tried on.
    pub briefs: Json<Value>,
    /// The orthogonal array used, e.g. `L8(2^7)`.
    pub array: String,
    pub array_runs: i32,
    pub factors: Vec<ExperimentFactor>,
    /// Every draft written, control arm included.
    pub runs: Vec<ExperimentRun>,
    /// Design runs that failed and were left out of the analysis.
    pub failed_runs: i32,
    /// Array rows with no valid response at all (excluded from the analysis).
    pub excluded_rows: Vec<i32>,
    /// Mean response and S/N per array row.
    pub row_summaries: Vec<RowSummary>,
    pub grand_mean: f64,
    pub main_effects: Vec<MainEffect>,
    /// ANOVA of the responses.
    pub anova: Anova,
    /// ANOVA of the S/N ratios, when there were enough rows with one.
    pub anova_sn: Option<Anova>,
    pub optimum: Vec<OptimumLevel>,
    /// The target's config at the optimum (what approving deploys).
    pub optimal_config: Json<Value>,
    pub prediction: ExperimentPrediction,
    /// The current production config, run beside the design.
    pub control: Option<ControlArm>,
    /// Plain-language summary: what matters, the optimum, against production.
    pub summary: String,
    /// Caveats the analysis found (excluded rows, unbalanced design, …).
    pub notes: Vec<String>,
}

/// A factor and the config patch of each of its levels.
#[derive(SimpleObject)]
pub struct ExperimentFactor {
    pub name: String,
    /// The array column it was assigned to (0-based).
    pub column: i32,
    pub levels: Vec<FactorLevel>,
}

#[derive(SimpleObject)]
pub struct FactorLevel {
    /// 0-based.
    pub index: i32,
    pub label: String,
    pub patch: Json<Value>,
}

/// One draft written for the experiment.
#[derive(SimpleObject)]
pub struct ExperimentRun {
    /// Array row (0-based); null for the control arm.
    pub row: Option<i32>,
    pub replicate: i32,
    /// Index into `briefs`.
    pub brief: i32,
    /// Level of each factor, in `factors` order.
    pub levels: Vec<i32>,
    pub config: Json<Value>,
    pub score: Option<f64>,
    pub words: Option<i32>,
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    pub cost_usd: Option<f64>,
    pub latency_ms: f64,
    /// Why the run failed; it was left out of the analysis.
    pub error: Option<String>,
    /// The draft written.
    pub text: Option<String>,
}

#[derive(SimpleObject)]
pub struct RowSummary {
    pub row: i32,
    pub replicates: i32,
    pub mean: f64,
    pub std_dev: Option<f64>,
    /// S/N ratio in dB.
    pub sn: Option<f64>,
}

/// The response table of one factor.
#[derive(SimpleObject)]
pub struct MainEffect {
    pub factor: String,
    pub levels: Vec<LevelEffect>,
    /// max − min of the level means.
    pub delta_mean: Option<f64>,
    pub delta_sn: Option<f64>,
    /// 1 for the factor with the largest effect on the mean.
    pub rank_mean: Option<i32>,
    pub rank_sn: Option<i32>,
}

#[derive(SimpleObject)]
pub struct LevelEffect {
    pub level: i32,
    pub label: String,
    /// Mean response at this level; null when no valid run used it.
    pub mean_response: Option<f64>,
    pub mean_sn: Option<f64>,
    pub observations: i32,
}

/// An analysis of variance.
#[derive(SimpleObject)]
pub struct Anova {
    pub basis: AnovaBasis,
    pub observations: i32,
    pub grand_mean: f64,
    pub total_ss: f64,
    pub total_df: i32,
    pub rows: Vec<AnovaRow>,
    pub error_ss: f64,
    pub error_df: i32,
    pub error_ms: Option<f64>,
    pub error_percent: f64,
    /// False when excluded runs broke the design's balance.
    pub additive: bool,
}

#[derive(SimpleObject)]
pub struct AnovaRow {
    pub factor: String,
    pub df: i32,
    pub ss: f64,
    pub ms: Option<f64>,
    /// F ratio against the (pooled) error; null for pooled factors or
    /// when the error has no degrees of freedom.
    pub f: Option<f64>,
    /// Percent contribution to the total sum of squares.
    pub percent: f64,
    /// Pooled into the error (contribution below the threshold).
    pub pooled: bool,
}

/// The best level of one factor.
#[derive(SimpleObject)]
pub struct OptimumLevel {
    pub factor: String,
    pub level: i32,
    pub label: String,
    /// Levels tied on the primary criterion (empty without a tie).
    pub tied_levels: Vec<i32>,
}

/// Additive-model predictions at the optimum.
#[derive(SimpleObject)]
pub struct ExperimentPrediction {
    /// Predicted rubric score (0–100).
    pub score: f64,
    /// Predicted S/N ratio (dB).
    pub sn: Option<f64>,
    /// Predicted generation cost per draft.
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
    /// Factors whose effects the score prediction adds up.
    pub factors: Vec<String>,
}

/// The current production config, measured on the same briefs.
#[derive(SimpleObject)]
pub struct ControlArm {
    pub config: Json<Value>,
    pub deployment_id: Option<ID>,
    pub mean_score: Option<f64>,
    pub mean_cost_usd: Option<f64>,
    pub mean_latency_ms: Option<f64>,
    pub runs: i32,
    pub failed: i32,
}

fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Experiment {
    pub fn from_results(id: uuid::Uuid, r: ExperimentResults) -> Experiment {
        let factor_name = |i: usize| {
            r.factors
                .get(i)
                .map_or_else(|| format!("factor {i}"), |f| f.name.clone())
        };
        let level_label = |f: usize, l: usize| {
            r.factors
                .get(f)
                .and_then(|x| x.levels.get(l))
                .map_or_else(|| format!("level {l}"), |x| x.label.clone())
        };
        let anova = |a: &analysis::Anova| Anova {
            basis: a.basis.into(),
            observations: int(a.n),
            grand_mean: a.grand_mean,
            total_ss: a.total_ss,
            total_df: int(a.total_df),
            rows: a
                .factors
                .iter()
                .map(|row| AnovaRow {
                    factor: factor_name(row.factor_index),
                    df: int(row.df),
                    ss: row.ss,
                    ms: row.ms,
                    f: row.f,
                    percent: row.percent,
                    pooled: row.pooled,
                })
                .collect(),
            error_ss: a.error_ss,
            error_df: int(a.error_df),
            error_ms: a.error_ms,
            error_percent: a.error_percent,
            additive: a.additive,
        };
        let an = &r.analysis;
        Experiment {
            id: ID(id.to_string()),
            name: r.name.clone(),
            target: r.target.clone(),
            environment: r.environment.clone(),
            response: r.response.clone(),
            sn_type: r.sn_type.into(),
            replicates: int(r.replicates),
            briefs: Json(serde_json::to_value(&r.briefs).unwrap_or_default()),
            array: r.array.clone(),
            array_runs: int(r.array_runs),
            factors: r
                .factors
                .iter()
                .map(|f| ExperimentFactor {
                    name: f.name.clone(),
                    column: int(f.column),
                    levels: f
                        .levels
                        .iter()
                        .map(|l| FactorLevel {
                            index: i32::from(l.index),
                            label: l.label.clone(),
                            patch: Json(l.patch.clone()),
                        })
                        .collect(),
                })
                .collect(),
            runs: r
                .runs
                .iter()
                .map(|x| ExperimentRun {
                    row: x.row.map(int),
                    replicate: int(x.replicate),
                    brief: int(x.brief),
                    levels: x.levels.iter().map(|l| i32::from(*l)).collect(),
                    config: Json(x.config.clone()),
                    score: x.score,
                    words: x.words.map(int),
                    prompt_tokens: x.prompt_tokens as f64,
                    completion_tokens: x.completion_tokens as f64,
                    cost_usd: x.cost_usd,
                    latency_ms: x.latency_ms as f64,
                    error: x.error.clone(),
                    text: x.text.clone(),
                })
                .collect(),
            failed_runs: int(r.failed_runs),
            excluded_rows: an.excluded_runs.iter().map(|x| int(*x)).collect(),
            row_summaries: an
                .runs
                .iter()
                .map(|x| RowSummary {
                    row: int(x.run),
                    replicates: int(x.replicates),
                    mean: x.mean,
                    std_dev: x.std_dev,
                    sn: x.sn,
                })
                .collect(),
            grand_mean: an.grand_mean,
            main_effects: an
                .effects
                .iter()
                .map(|e| MainEffect {
                    factor: factor_name(e.factor_index),
                    levels: e
                        .level_means
                        .iter()
                        .enumerate()
                        .map(|(l, m)| LevelEffect {
                            level: int(l),
                            label: level_label(e.factor_index, l),
                            mean_response: *m,
                            mean_sn: e.level_sn.get(l).copied().flatten(),
                            observations: int(e.level_observations.get(l).copied().unwrap_or(0)),
                        })
                        .collect(),
                    delta_mean: e.delta_mean,
                    delta_sn: e.delta_sn,
                    rank_mean: e.rank_mean.map(int),
                    rank_sn: e.rank_sn.map(int),
                })
                .collect(),
            anova: anova(&an.anova),
            anova_sn: an.anova_sn.as_ref().map(anova),
            optimum: an
                .optimum
                .iter()
                .map(|o| OptimumLevel {
                    factor: factor_name(o.factor_index),
                    level: i32::from(o.level),
                    label: level_label(o.factor_index, usize::from(o.level)),
                    tied_levels: o.tied_levels.iter().map(|l| i32::from(*l)).collect(),
                })
                .collect(),
            optimal_config: Json(r.optimal_config.clone()),
            prediction: ExperimentPrediction {
                score: r.prediction.score,
                sn: r.prediction.sn,
                cost_usd: r.prediction.cost_usd,
                latency_ms: r.prediction.latency_ms,
                factors: an
                    .prediction
                    .mean_factors
                    .iter()
                    .map(|i| factor_name(*i))
                    .collect(),
            },
            control: r.control.as_ref().map(|c| ControlArm {
                config: Json(c.config.clone()),
                deployment_id: c.deployment_id.map(|d| ID(d.to_string())),
                mean_score: c.mean_score,
                mean_cost_usd: c.mean_cost_usd,
                mean_latency_ms: c.mean_latency_ms,
                runs: int(c.runs),
                failed: int(c.failed),
            }),
            summary: r.summary.clone(),
            notes: an.notes.clone(),
        }
    }
}
