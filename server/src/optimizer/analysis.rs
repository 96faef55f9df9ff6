//! Taguchi analysis of the results of an orthogonal-array experiment.
//!
//! This module owns the statistics computed once every run of a
//! [`Design`] has been scored: per-run signal-to-noise (S/N) ratios, main
//! effects (response tables), analysis of variance with pooling, the
//! optimal level of each factor and the additive-model prediction there.
//! It follows the standard treatment in Phadke, *Quality Engineering Using
//! Robust Design* (Prentice Hall, 1989), chapters 3 and 5, and Ross,
//! *Taguchi Techniques for Quality Engineering* (McGraw-Hill, 1988).
//!
//! # Signal-to-noise ratios (dB)
//!
//! For the valid replicates y₁ … yₙ of one run:
//!
//! | type | formula | undefined (reported as `None`, with a note) when |
//! |---|---|---|
//! | larger is better | −10·log₁₀(mean(1/y²)) | any y ≤ 0 |
//! | smaller is better | −10·log₁₀(mean(y²)) | every y = 0 |
//! | nominal is best | 10·log₁₀(ȳ²/s²), s² the sample variance | n < 2, s² = 0 or ȳ = 0 |
//!
//! Larger-is-better rejects y ≤ 0 because 1/y² would rank −10 like +10 and
//! is infinite at 0; score on a strictly positive scale (e.g. 1–10) when
//! using it. A run whose S/N is undefined still counts for the mean
//! response but not for the S/N analysis, which can flatter the levels it
//! used: the notes say when that happened.
//!
//! # ANOVA
//!
//! Done twice: on every valid individual observation (replicates included,
//! so replicate scatter becomes error degrees of freedom) and on the per-run
//! S/N ratios (one value per run). With N values around their grand mean m:
//! SS_total = Σ(y − m)², df_total = N − 1; for a factor,
//! SS = Σ_levels n_level·(m_level − m)² and df = (levels observed) − 1;
//! error SS = SS_total − Σ SS_factor and df_error = df_total − Σ df.
//! Percent contribution is the plain SS/SS_total·100 (not Taguchi's
//! "pure sum of squares" ρ, which subtracts df·MS_error first).
//!
//! Pooling: when the error has no degrees of freedom (a saturated design
//! without replicates, the usual case for S/N), factors contributing less
//! than `pool_below_percent` are pooled into the error. (Phadke's chapter 3
//! example pools the factors with the smallest sums of squares by
//! judgement; a percent threshold makes the rule mechanical.) When
//! replicates leave error degrees of freedom, nothing is pooled. F =
//! MS_factor/MS_error is reported only for unpooled factors and only when
//! the error has degrees of freedom and a positive mean square.
//!
//! If runs are excluded the design is no longer orthogonal and sums of
//! squares stop adding up; the error SS is then floored at 0 and a note
//! says the ANOVA is approximate.
//!
//! # Optimum and prediction
//!
//! Every S/N ratio is defined so that larger is better (the minus signs of
//! the larger- and smaller-is-better forms see to that, and nominal-is-best
//! is a mean-to-variance ratio), so the optimal level of every factor
//! maximises the mean S/N. Ties (equal within 1e-9 relative) are broken by
//! the mean response — larger for larger-is-better and nominal-is-best,
//! smaller for smaller-is-better — then by the lowest level. (Nominal-is-best
//! has no target here; in Taguchi's two-step optimisation the mean is put
//! on target afterwards with an adjustment factor, so this tie rule is only
//! a convention.) When no run has an S/N ratio (e.g. nominal-is-best
//! without replicates) the optimum is chosen on the mean response in the
//! same direction.
//!
//! The additive model predicts ŷ = m + Σ_f (m_f,opt − m) over the unpooled
//! factors, or over every factor when nothing was pooled (Phadke, ch. 3);
//! the S/N prediction is the same with S/N means and the S/N ANOVA's
//! pooling. It can leave the physical range of the response: it is a
//! guide, to be confirmed by a verification run.
//!
//! Level means are means over observations (weighted by replicates), to
//! match the sums of squares. Run and factor numbers in notes are 0-based.

use super::arrays::Design;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The pooling threshold callers use unless told otherwise (percent of the
/// total sum of squares).
pub const DEFAULT_POOL_BELOW_PERCENT: f64 = 5.0;

/// Two values closer than this, relative to the larger, are a tie.
const TIE_TOLERANCE: f64 = 1e-9;

/// A spread of squares below this fraction of Σy² is rounding noise (a
/// relative difference of about 1e-10 between values), treated as zero so
/// that identical responses give exactly zero sums of squares.
const NEGLIGIBLE_SS: f64 = 1e-20;

/// Which signal-to-noise ratio to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnType {
    LargerIsBetter,
    SmallerIsBetter,
    NominalIsBest,
}

impl SnType {
    /// Whether a larger mean response is preferred when breaking ties.
    fn prefers_larger_mean(self) -> bool {
        !matches!(self, SnType::SmallerIsBetter)
    }
}

/// Why the results could not be analysed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalysisError {
    #[error(
        "the design has {expected} runs but responses were given for {got}; give one list of replicates per run (an empty list for a run that failed)"
    )]
    RunCountMismatch { expected: usize, got: usize },
    #[error("the design is malformed: {0}")]
    MalformedDesign(String),
    #[error(
        "no run has a valid response, so there is nothing to analyse; check that the runs produced numeric scores"
    )]
    NoValidResponses,
    #[error("the pooling threshold must be a percentage from 0 to 100, got {0}")]
    InvalidPoolThreshold(f64),
    #[error(
        "the responses are too large to analyse (their squares overflow); rescale them, e.g. to 0–100"
    )]
    Overflow,
}

/// One run that had at least one valid response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// 0-based run number in the design.
    pub run: usize,
    /// Level of each factor in this run.
    pub levels: Vec<u8>,
    /// Number of valid replicates.
    pub replicates: usize,
    /// Mean of the valid replicates.
    pub mean: f64,
    /// Sample standard deviation; `None` with fewer than two replicates.
    pub std_dev: Option<f64>,
    /// S/N ratio in dB; `None` when undefined (see the module docs).
    pub sn: Option<f64>,
}

/// The response table of one factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorEffect {
    /// Index of the factor in the design.
    pub factor_index: usize,
    /// Mean response at each level; `None` for a level no valid run used.
    pub level_means: Vec<Option<f64>>,
    /// Number of observations at each level.
    pub level_observations: Vec<usize>,
    /// Mean S/N at each level; `None` for a level with no S/N ratio.
    pub level_sn: Vec<Option<f64>>,
    /// max − min of the level means; `None` with fewer than two levels
    /// observed (no effect can be estimated).
    pub delta_mean: Option<f64>,
    /// max − min of the level S/N means, likewise.
    pub delta_sn: Option<f64>,
    /// 1 for the largest `delta_mean`; equal deltas share a rank.
    pub rank_mean: Option<usize>,
    /// 1 for the largest `delta_sn`; equal deltas share a rank.
    pub rank_sn: Option<usize>,
}

/// What an [`Anova`] was computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnovaBasis {
    /// Every valid individual observation.
    Observations,
    /// One S/N ratio per run.
    SnRatios,
}

/// One factor's line of an ANOVA table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnovaRow {
    pub factor_index: usize,
    /// Degrees of freedom: levels observed − 1.
    pub df: usize,
    /// Sum of squares.
    pub ss: f64,
    /// Mean square SS/df; `None` when df = 0.
    pub ms: Option<f64>,
    /// F ratio against the (pooled) error; `None` for pooled factors or
    /// when the error has no degrees of freedom or zero mean square.
    pub f: Option<f64>,
    /// SS / SS_total · 100 (0 when SS_total is 0).
    pub percent: f64,
    /// Whether this factor was pooled into the error.
    pub pooled: bool,
}

/// An analysis of variance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anova {
    pub basis: AnovaBasis,
    /// Number of values analysed.
    pub n: usize,
    /// Mean of those values.
    pub grand_mean: f64,
    pub total_ss: f64,
    pub total_df: usize,
    pub factors: Vec<AnovaRow>,
    /// Error sum of squares after pooling.
    pub error_ss: f64,
    /// Error degrees of freedom after pooling.
    pub error_df: usize,
    /// error_ss / error_df; `None` when error_df = 0.
    pub error_ms: Option<f64>,
    /// error_ss / SS_total · 100 (0 when SS_total is 0).
    pub error_percent: f64,
    /// Factors pooled into the error.
    pub pooled: Vec<usize>,
    /// False when the factor sums of squares or degrees of freedom exceed
    /// the total (runs were excluded and the design lost its balance).
    pub additive: bool,
}

/// What decided an optimal level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimumBasis {
    /// The largest mean S/N ratio.
    SnRatio,
    /// The best mean response (no S/N ratio was available).
    Mean,
}

/// How a tie on the primary criterion was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// By the mean response.
    Mean,
    /// By taking the lowest tied level.
    LowestLevel,
}

/// The best level of one factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalLevel {
    pub factor_index: usize,
    /// 0-based level.
    pub level: u8,
    pub basis: OptimumBasis,
    /// Every level tied on the primary criterion, the chosen one included;
    /// empty when there was no tie.
    pub tied_levels: Vec<u8>,
    /// How the tie was broken; `None` when there was none.
    pub tie_broken_by: Option<TieBreak>,
}

/// Additive-model predictions at the optimal levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Predicted mean response.
    pub mean: f64,
    /// Factors whose effects were added for `mean`.
    pub mean_factors: Vec<usize>,
    /// Predicted S/N ratio (dB); `None` when no run had one.
    pub sn: Option<f64>,
    /// Factors whose effects were added for `sn`.
    pub sn_factors: Vec<usize>,
}

/// The complete analysis of one experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub sn_type: SnType,
    pub pool_below_percent: f64,
    /// Runs with at least one valid response, in run order.
    pub runs: Vec<RunResult>,
    /// Runs with no valid response (0-based), left out of everything.
    pub excluded_runs: Vec<usize>,
    /// Number of valid observations.
    pub observations: usize,
    /// Mean of all valid observations.
    pub grand_mean: f64,
    /// Mean of the runs' S/N ratios; `None` when no run had one.
    pub grand_sn: Option<f64>,
    /// Response tables, one per factor.
    pub effects: Vec<FactorEffect>,
    /// ANOVA on the individual observations.
    pub anova: Anova,
    /// ANOVA on the per-run S/N ratios; `None` when no run had one.
    pub anova_sn: Option<Anova>,
    /// Optimal level of each factor.
    pub optimum: Vec<OptimalLevel>,
    pub prediction: Prediction,
    /// What a person should know about the data: missing or invalid
    /// responses, undefined S/N ratios, loss of balance.
    pub notes: Vec<String>,
}

/// The S/N ratio (dB) of one run's responses; `None` when undefined (see
/// the module docs).
pub fn signal_to_noise(sn: SnType, values: &[f64]) -> Option<f64> {
    sn_with_reason(sn, values).ok()
}

fn sn_with_reason(sn: SnType, ys: &[f64]) -> Result<f64, &'static str> {
    if ys.is_empty() {
        return Err("there is no valid response");
    }
    let n = ys.len() as f64;
    let value = match sn {
        SnType::LargerIsBetter => {
            if ys.iter().any(|&y| y <= 0.0) {
                return Err("larger-is-better S/N needs every response above 0");
            }
            -10.0 * (ys.iter().map(|y| 1.0 / (y * y)).sum::<f64>() / n).log10()
        }
        SnType::SmallerIsBetter => {
            let mean_square = ys.iter().map(|y| y * y).sum::<f64>() / n;
            if mean_square == 0.0 {
                return Err("every response is 0, so smaller-is-better S/N is unbounded");
            }
            -10.0 * mean_square.log10()
        }
        SnType::NominalIsBest => {
            if ys.len() < 2 {
                return Err("nominal-is-best S/N needs at least two replicates");
            }
            let mean = ys.iter().sum::<f64>() / n;
            let var = ys.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / (n - 1.0);
            // Identical replicates leave only rounding noise in the variance.
            if var <= NEGLIGIBLE_SS * mean * mean {
                return Err("the replicates are equal, so nominal-is-best S/N is unbounded");
            }
            if mean == 0.0 {
                return Err("the mean response is 0, so nominal-is-best S/N is unbounded");
            }
            10.0 * (mean * mean / var).log10()
        }
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err("the S/N ratio is out of range (responses too large or too close to 0)")
    }
}

/// Analyse the responses of a design. `responses[run]` holds that run's
/// replicates; `None` (or a non-finite number) marks a missing or failed
/// replicate, and a run with no valid replicate is excluded.
/// `pool_below_percent` is the pooling threshold in percent (see the module
/// docs; callers use [`DEFAULT_POOL_BELOW_PERCENT`] unless told otherwise).
pub fn analyze(
    design: &Design,
    responses: &[Vec<Option<f64>>],
    sn: SnType,
    pool_below_percent: f64,
) -> Result<Analysis, AnalysisError> {
    check_design(design)?;
    if responses.len() != design.runs {
        return Err(AnalysisError::RunCountMismatch {
            expected: design.runs,
            got: responses.len(),
        });
    }
    if !(0.0..=100.0).contains(&pool_below_percent) {
        return Err(AnalysisError::InvalidPoolThreshold(pool_below_percent));
    }

    let mut notes = Vec::new();
    let mut runs = Vec::new();
    let mut excluded_runs = Vec::new();
    let mut observations: Vec<(usize, f64)> = Vec::new();
    for (run, replicates) in responses.iter().enumerate() {
        let mut values = Vec::with_capacity(replicates.len());
        for (i, value) in replicates.iter().enumerate() {
            match value {
                Some(v) if v.is_finite() => values.push(*v),
                Some(_) => notes.push(format!(
                    "run {run} replicate {i} is not a finite number and was treated as missing"
                )),
                None => {}
            }
        }
        if values.is_empty() {
            excluded_runs.push(run);
            continue;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std_dev = (values.len() > 1).then(|| {
            (values.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / (n - 1.0)).sqrt()
        });
        let sn_value = match sn_with_reason(sn, &values) {
            Ok(v) => Some(v),
            Err(reason) => {
                notes.push(format!(
                    "run {run}: {reason}; the run is left out of the S/N analysis"
                ));
                None
            }
        };
        observations.extend(values.iter().map(|&v| (run, v)));
        runs.push(RunResult {
            run,
            levels: design.rows[run].clone(),
            replicates: values.len(),
            mean,
            std_dev: std_dev.filter(|s| s.is_finite()),
            sn: sn_value,
        });
    }
    if runs.is_empty() {
        return Err(AnalysisError::NoValidResponses);
    }
    if !excluded_runs.is_empty() {
        notes.push(format!(
            "run(s) {} have no valid response and are left out; the remaining runs are not balanced, so effects and the ANOVA are approximate",
            join(excluded_runs.iter().map(usize::to_string))
        ));
    }

    let sn_values: Vec<(usize, f64)> = runs
        .iter()
        .filter_map(|r| r.sn.map(|v| (r.run, v)))
        .collect();
    let mean_stats = LevelStats::new(design, &observations);
    let anova_mean = anova(
        design,
        &observations,
        &mean_stats,
        AnovaBasis::Observations,
        pool_below_percent,
    )?;
    let sn_stats = (!sn_values.is_empty()).then(|| LevelStats::new(design, &sn_values));
    let anova_sn = match &sn_stats {
        Some(stats) => Some(anova(
            design,
            &sn_values,
            stats,
            AnovaBasis::SnRatios,
            pool_below_percent,
        )?),
        None => None,
    };
    for a in std::iter::once(&anova_mean).chain(anova_sn.as_ref()) {
        if !a.additive {
            notes.push(format!(
                "ANOVA on {}: the factors' sums of squares or degrees of freedom exceed the total because the data are unbalanced; the error term is floored at 0 and the table is approximate",
                match a.basis {
                    AnovaBasis::Observations => "observations",
                    AnovaBasis::SnRatios => "S/N ratios",
                }
            ));
        }
    }

    let factors = design.factor_levels.len();
    let mut effects: Vec<FactorEffect> = (0..factors)
        .map(|f| {
            let level_means = mean_stats.means[f].clone();
            let level_sn = match &sn_stats {
                Some(stats) => stats.means[f].clone(),
                None => vec![None; level_means.len()],
            };
            FactorEffect {
                factor_index: f,
                delta_mean: delta(&level_means),
                delta_sn: delta(&level_sn),
                level_observations: mean_stats.counts[f].clone(),
                level_means,
                level_sn,
                rank_mean: None,
                rank_sn: None,
            }
        })
        .collect();
    let rank_mean = ranks(&effects.iter().map(|e| e.delta_mean).collect::<Vec<_>>());
    let rank_sn = ranks(&effects.iter().map(|e| e.delta_sn).collect::<Vec<_>>());
    for (e, (rm, rs)) in effects.iter_mut().zip(rank_mean.into_iter().zip(rank_sn)) {
        e.rank_mean = rm;
        e.rank_sn = rs;
    }
    for e in &effects {
        let observed: Vec<usize> = (0..e.level_means.len())
            .filter(|&l| e.level_means[l].is_some())
            .collect();
        if let [only] = observed.as_slice() {
            notes.push(format!(
                "factor {}: only level {only} occurs in the valid runs, so its effect cannot be estimated",
                e.factor_index
            ));
        } else if observed.len() < e.level_means.len() {
            let missing = (0..e.level_means.len()).filter(|l| !observed.contains(l));
            notes.push(format!(
                "factor {}: level(s) {} occur in no valid run and have no estimate",
                e.factor_index,
                join(missing.map(|l| l.to_string()))
            ));
        }
    }

    let use_sn = sn_stats.is_some();
    let optimum: Vec<OptimalLevel> = effects
        .iter()
        .map(|e| optimal_level(e, sn, use_sn))
        .collect();

    let (mean_prediction, mean_factors) = predict(
        &anova_mean,
        mean_stats.grand,
        &effects,
        &optimum,
        |e: &FactorEffect| &e.level_means,
    );
    let (sn_prediction, sn_factors) = match (&anova_sn, &sn_stats) {
        (Some(a), Some(stats)) => {
            let (value, used) = predict(a, stats.grand, &effects, &optimum, |e: &FactorEffect| {
                &e.level_sn
            });
            (Some(value), used)
        }
        _ => (None, Vec::new()),
    };

    Ok(Analysis {
        sn_type: sn,
        pool_below_percent,
        runs,
        excluded_runs,
        observations: observations.len(),
        grand_mean: mean_stats.grand,
        grand_sn: sn_stats.as_ref().map(|s| s.grand),
        effects,
        anova: anova_mean,
        anova_sn,
        optimum,
        prediction: Prediction {
            mean: mean_prediction,
            mean_factors,
            sn: sn_prediction.filter(|v| v.is_finite()),
            sn_factors,
        },
        notes,
    })
}

fn check_design(design: &Design) -> Result<(), AnalysisError> {
    let bad = |m: String| Err(AnalysisError::MalformedDesign(m));
    if design.factor_levels.is_empty() {
        return bad("it has no factors".into());
    }
    if design.rows.len() != design.runs {
        return bad(format!(
            "it declares {} runs but has {} rows",
            design.runs,
            design.rows.len()
        ));
    }
    for (run, row) in design.rows.iter().enumerate() {
        if row.len() != design.factor_levels.len() {
            return bad(format!(
                "run {run} sets {} factors but the design has {}",
                row.len(),
                design.factor_levels.len()
            ));
        }
        for (f, (&level, &levels)) in row.iter().zip(&design.factor_levels).enumerate() {
            if level >= levels {
                return bad(format!(
                    "run {run} puts factor {f} at level {level} but it has {levels} levels"
                ));
            }
        }
    }
    Ok(())
}

/// Grand mean and per-level means and counts of a set of (run, value)
/// pairs.
struct LevelStats {
    grand: f64,
    /// `means[factor][level]`.
    means: Vec<Vec<Option<f64>>>,
    /// `counts[factor][level]`.
    counts: Vec<Vec<usize>>,
}

impl LevelStats {
    fn new(design: &Design, values: &[(usize, f64)]) -> Self {
        let grand = values.iter().map(|(_, y)| y).sum::<f64>() / values.len().max(1) as f64;
        let mut means = Vec::with_capacity(design.factor_levels.len());
        let mut counts = Vec::with_capacity(design.factor_levels.len());
        for (f, &levels) in design.factor_levels.iter().enumerate() {
            let mut sum = vec![0.0; usize::from(levels)];
            let mut count = vec![0usize; usize::from(levels)];
            for &(run, y) in values {
                let level = usize::from(design.rows[run][f]);
                sum[level] += y;
                count[level] += 1;
            }
            means.push(
                sum.iter()
                    .zip(&count)
                    .map(|(&s, &c)| (c > 0).then(|| s / c as f64))
                    .collect(),
            );
            counts.push(count);
        }
        LevelStats {
            grand,
            means,
            counts,
        }
    }
}

fn percent(ss: f64, total: f64) -> f64 {
    if total > 0.0 { ss / total * 100.0 } else { 0.0 }
}

fn anova(
    design: &Design,
    values: &[(usize, f64)],
    stats: &LevelStats,
    basis: AnovaBasis,
    pool_below_percent: f64,
) -> Result<Anova, AnalysisError> {
    let n = values.len();
    let total_df = n.saturating_sub(1);
    let scale: f64 = values.iter().map(|(_, y)| y * y).sum();
    let raw_total: f64 = values
        .iter()
        .map(|(_, y)| (y - stats.grand) * (y - stats.grand))
        .sum();
    if !scale.is_finite() || !raw_total.is_finite() {
        return Err(AnalysisError::Overflow);
    }
    // Equal values still leave rounding noise around their computed mean;
    // without this, noise / noise would give arbitrary percentages.
    let degenerate = raw_total <= NEGLIGIBLE_SS * scale;
    let total_ss = if degenerate { 0.0 } else { raw_total };

    let mut rows: Vec<AnovaRow> = (0..design.factor_levels.len())
        .map(|f| {
            let counts = &stats.counts[f];
            let df = counts.iter().filter(|&&c| c > 0).count().saturating_sub(1);
            let ss = if degenerate {
                0.0
            } else {
                stats.means[f]
                    .iter()
                    .zip(counts)
                    .filter_map(|(m, &c)| {
                        m.map(|m| c as f64 * (m - stats.grand) * (m - stats.grand))
                    })
                    .sum()
            };
            AnovaRow {
                factor_index: f,
                df,
                ss,
                ms: (df > 0).then(|| ss / df as f64),
                f: None,
                percent: percent(ss, total_ss),
                pooled: false,
            }
        })
        .collect();

    let factor_ss: f64 = rows.iter().map(|r| r.ss).sum();
    let factor_df: usize = rows.iter().map(|r| r.df).sum();
    let additive = factor_df <= total_df && factor_ss <= total_ss * (1.0 + 1e-9);
    let mut error_ss = total_ss - factor_ss;
    // What is left of an orthogonal, saturated design is rounding noise;
    // an unbalanced design can even leave a negative remainder.
    if error_ss <= 1e-9 * total_ss {
        error_ss = 0.0;
    }
    let mut error_df = total_df.saturating_sub(factor_df);

    let mut pooled = Vec::new();
    if error_df == 0 {
        for row in rows.iter_mut() {
            if row.df > 0 && row.percent < pool_below_percent {
                row.pooled = true;
                error_ss += row.ss;
                error_df += row.df;
                pooled.push(row.factor_index);
            }
        }
    }
    let error_ms = (error_df > 0).then(|| error_ss / error_df as f64);
    for row in rows.iter_mut() {
        if let (false, Some(ms), Some(mse)) = (row.pooled, row.ms, error_ms)
            && mse > 0.0
        {
            row.f = Some(ms / mse);
        }
    }

    Ok(Anova {
        basis,
        n,
        grand_mean: stats.grand,
        total_ss,
        total_df,
        factors: rows,
        error_ss,
        error_df,
        error_ms,
        error_percent: percent(error_ss, total_ss),
        pooled,
        additive,
    })
}

fn nearly_equal(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= TIE_TOLERANCE * scale.max(a.abs()).max(b.abs())
}

fn delta(values: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    if present.len() < 2 {
        return None;
    }
    let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = present.iter().copied().fold(f64::INFINITY, f64::min);
    Some(max - min)
}

/// Competition ranking ("1, 2, 2, 4") of the deltas, largest first.
fn ranks(deltas: &[Option<f64>]) -> Vec<Option<usize>> {
    let scale = deltas.iter().flatten().fold(0.0f64, |m, d| m.max(d.abs()));
    deltas
        .iter()
        .map(|d| {
            d.map(|d| {
                1 + deltas
                    .iter()
                    .flatten()
                    .filter(|&&o| o > d && !nearly_equal(o, d, scale))
                    .count()
            })
        })
        .collect()
}

/// The levels (with their values) that are best by `values`, ties
/// included.
fn best_levels(values: &[(u8, f64)], larger: bool) -> Vec<(u8, f64)> {
    let scale = values.iter().fold(0.0f64, |m, (_, v)| m.max(v.abs()));
    let best = values
        .iter()
        .map(|&(_, v)| v)
        .fold(None, |best: Option<f64>, v| match best {
            Some(b) if (larger && b >= v) || (!larger && b <= v) => Some(b),
            _ => Some(v),
        });
    match best {
        Some(best) => values
            .iter()
            .copied()
            .filter(|&(_, v)| nearly_equal(v, best, scale))
            .collect(),
        None => Vec::new(),
    }
}

fn present(values: &[Option<f64>], levels: impl Iterator<Item = u8>) -> Vec<(u8, f64)> {
    levels
        .filter_map(|l| {
            values
                .get(usize::from(l))
                .copied()
                .flatten()
                .map(|v| (l, v))
        })
        .collect()
}

fn optimal_level(effect: &FactorEffect, sn: SnType, use_sn: bool) -> OptimalLevel {
    let all_levels = || 0..effect.level_means.len() as u8;
    let (basis, primary) = if use_sn && effect.level_sn.iter().any(Option::is_some) {
        (OptimumBasis::SnRatio, &effect.level_sn)
    } else {
        (OptimumBasis::Mean, &effect.level_means)
    };
    let larger = basis == OptimumBasis::SnRatio || sn.prefers_larger_mean();
    let tied: Vec<u8> = best_levels(&present(primary, all_levels()), larger)
        .into_iter()
        .map(|(l, _)| l)
        .collect();

    let (level, tie_broken_by) = match tied.as_slice() {
        // Unreachable with at least one valid run (every factor then has
        // an observed level); level 0 keeps the function total.
        [] => (0, None),
        [only] => (*only, None),
        _ if basis == OptimumBasis::SnRatio => {
            let by_mean: Vec<u8> = best_levels(
                &present(&effect.level_means, tied.iter().copied()),
                sn.prefers_larger_mean(),
            )
            .into_iter()
            .map(|(l, _)| l)
            .collect();
            match by_mean.as_slice() {
                [only] => (*only, Some(TieBreak::Mean)),
                several => (
                    several
                        .iter()
                        .min()
                        .or(tied.iter().min())
                        .copied()
                        .unwrap_or(0),
                    Some(TieBreak::LowestLevel),
                ),
            }
        }
        _ => (
            tied.iter().copied().min().unwrap_or(0),
            Some(TieBreak::LowestLevel),
        ),
    };
    OptimalLevel {
        factor_index: effect.factor_index,
        level,
        basis,
        tied_levels: if tied.len() > 1 { tied } else { Vec::new() },
        tie_broken_by,
    }
}

/// The additive-model prediction at the optimum: the grand mean plus the
/// effect of each unpooled factor that has one.
fn predict<'a>(
    anova: &Anova,
    grand: f64,
    effects: &'a [FactorEffect],
    optimum: &[OptimalLevel],
    level_values: impl Fn(&'a FactorEffect) -> &'a Vec<Option<f64>>,
) -> (f64, Vec<usize>) {
    let mut value = grand;
    let mut used = Vec::new();
    for row in &anova.factors {
        if row.pooled || row.df == 0 {
            continue;
        }
        let f = row.factor_index;
        let at_optimum = optimum
            .get(f)
            .and_then(|o| level_values(&effects[f]).get(usize::from(o.level)).copied())
            .flatten();
        if let Some(m) = at_optimum {
            value += m - grand;
            used.push(f);
        }
    }
    (value, used)
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::optimizer::arrays::choose;

    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want} (±{tol})");
    }

    fn close_opt(got: Option<f64>, want: f64, tol: f64) {
        close(got.expect("expected a value"), want, tol);
    }

    fn single(values: &[f64]) -> Vec<Vec<Option<f64>>> {
        values.iter().map(|&v| vec![Some(v)]).collect()
    }

    /// No NaN or infinity anywhere: the Debug form would print `NaN` or
    /// `inf`, and JSON turns them into `null`, which then fails to
    /// deserialize into a plain `f64` field.
    fn assert_all_finite(a: &Analysis) {
        let debug = format!("{a:?}");
        for token in debug.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')) {
            assert!(
                token != "NaN" && token != "inf",
                "non-finite number in {debug}"
            );
        }
        let json = serde_json::to_value(a).unwrap();
        let back: Analysis = serde_json::from_value(json).unwrap();
        assert_eq!(back.runs.len(), a.runs.len());
        assert_eq!(back.optimum, a.optimum);
    }

    fn levels_of(a: &Analysis) -> Vec<u8> {
        a.optimum.iter().map(|o| o.level).collect()
    }

    // -----------------------------------------------------------------------
    // Published example: Phadke (1989), chapter 3, the CVD (polysilicon
    // deposition) matrix experiment. Four 3-level factors A–D on the
    // standard L9; the nine observations are the runs' S/N ratios η (dB) of
    // the surface-defect count (smaller is better):
    //
    //   run:  1    2    3    4    5    6    7    8    9
    //   η:  -20  -10  -30  -25  -45  -65  -45  -65  -70
    //
    // These are the values as we recall them from Phadke's Table 3.2; the
    // book could not be re-checked while writing this test, so every
    // derived number below is also worked out by hand and the test checks
    // that arithmetic, not the book. The factor-effect table and the
    // F ratios with C and D pooled agree with what we recall of Phadke's
    // Tables 3.3 and 3.4.
    //
    // L9 columns (levels 1-3): A = 111222333, B = 123123123,
    // C = 123231312, D = 123312231.
    //
    // Grand mean m = (-20-10-30-25-45-65-45-65-70)/9 = -375/9 = -41.667.
    // Level means (each over 3 runs):
    //   A1 = (-20-10-30)/3 = -20   A2 = (-25-45-65)/3 = -45   A3 = (-45-65-70)/3 = -60
    //   B1 = (-20-25-45)/3 = -30   B2 = (-10-45-65)/3 = -40   B3 = (-30-65-70)/3 = -55
    //   C1 = (-20-65-65)/3 = -50   C2 = (-10-25-70)/3 = -35   C3 = (-30-45-45)/3 = -40
    //   D1 = (-20-45-70)/3 = -45   D2 = (-10-65-45)/3 = -40   D3 = (-30-25-65)/3 = -40
    // Sums of squares, SS = 3·Σ(level mean − m)²:
    //   A: 3·(21.667² + 3.333² + 18.333²) = 3·816.67 = 2450
    //   B: 3·(11.667² + 1.667² + 13.333²) = 3·316.67 =  950
    //   C: 3·( 8.333² + 6.667² +  1.667²) = 3·116.67 =  350
    //   D: 3·( 3.333² + 1.667² +  1.667²) = 3· 16.67 =   50
    //   total: 21.667² + 31.667² + 11.667² + 16.667² + 3.333² + 23.333²
    //          + 3.333² + 23.333² + 28.333² = 3800 = 2450+950+350+50,
    //   so the error has 8 − 4·2 = 0 degrees of freedom.
    // Contributions: A 64.47 %, B 25.00 %, C 9.21 %, D 1.32 %.
    // Pooling below 5 % pools D: error SS 50, df 2, MS 25, so
    //   F_A = 1225/25 = 49, F_B = 475/25 = 19, F_C = 175/25 = 7.
    // Pooling below 10 % pools C and D: error SS 400, df 4, MS 100, so
    //   F_A = 1225/100 = 12.25, F_B = 475/100 = 4.75.
    // Optimum (maximise η): A1 B1 C2, and D2 = D3 = -40 tie.
    // Prediction with A, B, C (D pooled):
    //   -125/3 + (-20+125/3) + (-30+125/3) + (-35+125/3) = -5/3 = -1.667 dB;
    // with A, B only (C, D pooled): -125/3 + 65/3 + 35/3 = -25/3 = -8.333 dB.
    const PHADKE_ETA: [f64; 9] = [
        -20.0, -10.0, -30.0, -25.0, -45.0, -65.0, -45.0, -65.0, -70.0,
    ];

    fn phadke_design() -> Design {
        let design = choose(&[3, 3, 3, 3]).unwrap();
        assert_eq!(design.array_name, "L9(3^4)");
        // The standard L9 as printed, levels from 0.
        let printed: Vec<Vec<u8>> = [
            [0, 0, 0, 0],
            [0, 1, 1, 1],
            [0, 2, 2, 2],
            [1, 0, 1, 2],
            [1, 1, 2, 0],
            [1, 2, 0, 1],
            [2, 0, 2, 1],
            [2, 1, 0, 2],
            [2, 2, 1, 0],
        ]
        .iter()
        .map(|r| r.to_vec())
        .collect();
        assert_eq!(design.rows, printed);
        design
    }

    const TABLE_3_3: [[f64; 3]; 4] = [
        [-20.0, -45.0, -60.0],
        [-30.0, -40.0, -55.0],
        [-50.0, -35.0, -40.0],
        [-45.0, -40.0, -40.0],
    ];

    fn check_phadke_anova(a: &Anova, pooled_d_only: bool) {
        const TOL: f64 = 1e-9;
        close(a.grand_mean, -375.0 / 9.0, TOL);
        close(a.total_ss, 3800.0, 1e-8);
        assert_eq!(a.total_df, 8);
        for (row, ss) in a.factors.iter().zip([2450.0, 950.0, 350.0, 50.0]) {
            close(row.ss, ss, 1e-8);
            assert_eq!(row.df, 2);
            close(row.percent, ss / 38.0, 1e-9);
        }
        close(a.factors[0].percent, 64.47, 0.005);
        close(a.factors[3].percent, 1.32, 0.005);
        if pooled_d_only {
            assert_eq!(a.pooled, vec![3]);
            close(a.error_ss, 50.0, 1e-8);
            assert_eq!(a.error_df, 2);
            close_opt(a.error_ms, 25.0, 1e-8);
            close_opt(a.factors[0].f, 49.0, 1e-8);
            close_opt(a.factors[1].f, 19.0, 1e-8);
            close_opt(a.factors[2].f, 7.0, 1e-8);
            assert_eq!(a.factors[3].f, None);
        } else {
            assert_eq!(a.pooled, vec![2, 3]);
            close(a.error_ss, 400.0, 1e-8);
            assert_eq!(a.error_df, 4);
            close_opt(a.error_ms, 100.0, 1e-8);
            close_opt(a.factors[0].f, 12.25, 1e-9);
            close_opt(a.factors[1].f, 4.75, 1e-9);
            assert_eq!(a.factors[2].f, None);
            assert_eq!(a.factors[3].f, None);
        }
        assert!(a.additive);
    }

    /// The η values analysed directly as responses (one per run): the
    /// observation ANOVA is then exactly Phadke's ANOVA of η.
    /// Nominal-is-best without replicates has no S/N ratio, so the optimum
    /// falls back to the mean response (larger is better).
    #[test]
    fn phadke_cvd_example_as_responses() {
        let design = phadke_design();
        let a = analyze(&design, &single(&PHADKE_ETA), SnType::NominalIsBest, 5.0).unwrap();
        assert_all_finite(&a);
        assert_eq!(a.observations, 9);
        assert!(a.excluded_runs.is_empty());
        assert_eq!(a.grand_sn, None);
        assert!(a.anova_sn.is_none());
        assert!(a.runs.iter().all(|r| r.sn.is_none() && r.std_dev.is_none()));
        assert_eq!(a.notes.len(), 9, "{:?}", a.notes);

        for (e, row) in a.effects.iter().zip(TABLE_3_3) {
            for (got, want) in e.level_means.iter().zip(row) {
                close_opt(*got, want, 1e-9);
            }
            assert_eq!(e.level_observations, vec![3, 3, 3]);
        }
        let deltas: Vec<f64> = a.effects.iter().map(|e| e.delta_mean.unwrap()).collect();
        for (got, want) in deltas.iter().zip([40.0, 25.0, 15.0, 5.0]) {
            close(*got, want, 1e-9);
        }
        let ranks: Vec<Option<usize>> = a.effects.iter().map(|e| e.rank_mean).collect();
        assert_eq!(ranks, [Some(1), Some(2), Some(3), Some(4)]);

        check_phadke_anova(&a.anova, true);

        assert_eq!(levels_of(&a), [0, 0, 1, 1]);
        assert!(a.optimum.iter().all(|o| o.basis == OptimumBasis::Mean));
        assert_eq!(a.optimum[3].tied_levels, vec![1, 2]);
        assert_eq!(a.optimum[3].tie_broken_by, Some(TieBreak::LowestLevel));
        assert!(a.optimum[0].tied_levels.is_empty());

        assert_eq!(a.prediction.mean_factors, vec![0, 1, 2]);
        close(a.prediction.mean, -5.0 / 3.0, 1e-9);
        assert_eq!(a.prediction.sn, None);

        let a = analyze(&design, &single(&PHADKE_ETA), SnType::NominalIsBest, 10.0).unwrap();
        check_phadke_anova(&a.anova, false);
        assert_eq!(a.prediction.mean_factors, vec![0, 1]);
        close(a.prediction.mean, -25.0 / 3.0, 1e-9);
    }

    /// The same example through the S/N path: responses y = 10^(−η/20)
    /// give, with smaller-is-better and one replicate, S/N = −10·log10(y²)
    /// = η, so the S/N response table and S/N ANOVA must reproduce the
    /// numbers above (to rounding, 1e-9).
    #[test]
    fn phadke_cvd_example_through_smaller_is_better_sn() {
        let design = phadke_design();
        let ys: Vec<f64> = PHADKE_ETA
            .iter()
            .map(|eta| 10f64.powf(-eta / 20.0))
            .collect();
        let a = analyze(&design, &single(&ys), SnType::SmallerIsBetter, 5.0).unwrap();
        assert_all_finite(&a);
        for (r, eta) in a.runs.iter().zip(PHADKE_ETA) {
            close_opt(r.sn, eta, 1e-9);
        }
        close_opt(a.grand_sn, -375.0 / 9.0, 1e-9);
        for (e, row) in a.effects.iter().zip(TABLE_3_3) {
            for (got, want) in e.level_sn.iter().zip(row) {
                close_opt(*got, want, 1e-9);
            }
        }
        let ranks: Vec<Option<usize>> = a.effects.iter().map(|e| e.rank_sn).collect();
        assert_eq!(ranks, [Some(1), Some(2), Some(3), Some(4)]);
        check_phadke_anova(a.anova_sn.as_ref().unwrap(), true);

        // A1 B1 C2; D2 and D3 tie at -40 dB. The tie goes to the smaller
        // mean defect count: D2 = (10^0.5 + 10^3.25 + 10^2.25)/3 = 653.1,
        // D3 = (10^1.5 + 10^1.25 + 10^3.25)/3 = 609.2, so D3.
        assert_eq!(levels_of(&a), [0, 0, 1, 2]);
        assert!(a.optimum.iter().all(|o| o.basis == OptimumBasis::SnRatio));
        assert_eq!(a.optimum[3].tied_levels, vec![1, 2]);
        assert_eq!(a.optimum[3].tie_broken_by, Some(TieBreak::Mean));
        close_opt(a.effects[3].level_means[1], 653.09, 0.01);
        close_opt(a.effects[3].level_means[2], 609.23, 0.01);

        assert_eq!(a.prediction.sn_factors, vec![0, 1, 2]);
        close_opt(a.prediction.sn, -5.0 / 3.0, 1e-9);
    }

    /// Hand-computed example with replicates, L4 and larger-is-better.
    ///
    /// L4 rows (A B C): 000, 011, 101, 110. Responses:
    ///   run 0: 10, 12 (mean 11)   run 1: 14, 16 (mean 15)
    ///   run 2: 20, 22 (mean 21)   run 3: 18, 20 (mean 19)
    /// Grand mean = 132/8 = 16.5.
    /// A: level 0 = {10,12,14,16} mean 13, level 1 = {20,22,18,20} mean 20,
    ///    SS = 4·3.5² + 4·3.5² = 98.
    /// B: level 0 = {10,12,20,22} mean 16, level 1 = {14,16,18,20} mean 17,
    ///    SS = 4·0.5² + 4·0.5² = 2.
    /// C: level 0 = {10,12,18,20} mean 15, level 1 = {14,16,20,22} mean 18,
    ///    SS = 4·1.5² + 4·1.5² = 18.
    /// Total SS = 6.5²+4.5²+2.5²+0.5²+3.5²+5.5²+1.5²+3.5² = 126, df 7;
    /// error SS = 126 − 118 = 8 (the replicate scatter: 4 runs × 2), df 4,
    /// MS 2; F: A 49, B 1, C 9. Contributions: A 77.78 %, B 1.59 %,
    /// C 14.29 %, error 6.35 %. Nothing is pooled (error df > 0).
    /// S/N (LTB) run 0 = −10·log10((1/100 + 1/144)/2) = −10·log10(0.0084722)
    ///   = 20.7200 dB; run 1 = −10·log10((1/196 + 1/256)/2) = 23.4639;
    ///   run 2 = −10·log10((1/400 + 1/484)/2) = 26.4148;
    ///   run 3 = −10·log10((1/324 + 1/400)/2) = 25.5390.
    /// S/N level means: A 22.0920 / 25.9769, B 23.5674 / 24.5014,
    ///   C 23.1295 / 24.9394; grand 24.0344.
    /// S/N ANOVA: SS A 15.0928, B 0.8723, C 3.2756, total 19.2407, error
    ///   df 0, so B (4.53 %) is pooled at 5 %.
    /// Optimum A1 B1 C1. Mean prediction (all factors):
    ///   16.5 + 3.5 + 0.5 + 1.5 = 22. S/N prediction (A, C):
    ///   24.0344 + 1.9425 + 0.9050 = 26.8818 dB.
    #[test]
    fn replicated_l4_larger_is_better_by_hand() {
        let design = choose(&[2, 2, 2]).unwrap();
        let responses = vec![
            vec![Some(10.0), Some(12.0)],
            vec![Some(14.0), Some(16.0)],
            vec![Some(20.0), Some(22.0)],
            vec![Some(18.0), Some(20.0)],
        ];
        let a = analyze(&design, &responses, SnType::LargerIsBetter, 5.0).unwrap();
        assert_all_finite(&a);
        assert!(a.notes.is_empty(), "{:?}", a.notes);
        assert_eq!(a.observations, 8);
        close(a.grand_mean, 16.5, 1e-12);
        for (r, sn) in a.runs.iter().zip([20.7200, 23.4639, 26.4148, 25.5390]) {
            close_opt(r.sn, sn, 1e-4);
            assert_eq!(r.replicates, 2);
            close_opt(r.std_dev, 2f64.sqrt(), 1e-12);
        }
        let means: Vec<[f64; 2]> = vec![[13.0, 20.0], [16.0, 17.0], [15.0, 18.0]];
        for (e, m) in a.effects.iter().zip(&means) {
            close_opt(e.level_means[0], m[0], 1e-12);
            close_opt(e.level_means[1], m[1], 1e-12);
            assert_eq!(e.level_observations, vec![4, 4]);
        }
        let ranks: Vec<Option<usize>> = a.effects.iter().map(|e| e.rank_mean).collect();
        assert_eq!(ranks, [Some(1), Some(3), Some(2)]);

        let an = &a.anova;
        close(an.total_ss, 126.0, 1e-9);
        assert_eq!(an.total_df, 7);
        for (row, (ss, f)) in an
            .factors
            .iter()
            .zip([(98.0, 49.0), (2.0, 1.0), (18.0, 9.0)])
        {
            close(row.ss, ss, 1e-9);
            close_opt(row.f, f, 1e-9);
            assert!(!row.pooled);
        }
        close(an.error_ss, 8.0, 1e-9);
        assert_eq!(an.error_df, 4);
        close_opt(an.error_ms, 2.0, 1e-9);
        close(an.factors[0].percent, 77.78, 0.005);
        close(an.factors[1].percent, 1.59, 0.005);
        close(an.factors[2].percent, 14.29, 0.005);
        close(an.error_percent, 6.35, 0.005);
        assert!(an.pooled.is_empty());

        let sn = a.anova_sn.as_ref().unwrap();
        close(sn.total_ss, 19.2407, 1e-4);
        close(sn.factors[0].ss, 15.0928, 1e-4);
        close(sn.factors[1].ss, 0.8723, 1e-4);
        close(sn.factors[2].ss, 3.2756, 1e-4);
        assert_eq!(sn.pooled, vec![1]);
        assert_eq!(sn.error_df, 1);
        close_opt(sn.factors[0].f, 15.0928 / 0.8723, 1e-2);
        close_opt(a.effects[0].level_sn[1], 25.9769, 1e-4);
        close_opt(a.grand_sn, 24.0344, 1e-4);

        assert_eq!(levels_of(&a), [1, 1, 1]);
        assert_eq!(a.prediction.mean_factors, vec![0, 1, 2]);
        close(a.prediction.mean, 22.0, 1e-12);
        assert_eq!(a.prediction.sn_factors, vec![0, 2]);
        close_opt(a.prediction.sn, 26.8818, 1e-4);
    }

    #[test]
    fn sn_formulas_and_their_undefined_cases() {
        // LTB of a single 10: −10·log10(1/100) = 20 dB.
        close_opt(
            signal_to_noise(SnType::LargerIsBetter, &[10.0]),
            20.0,
            1e-12,
        );
        // STB of 1 and 3: −10·log10((1 + 9)/2) = −10·log10(5) = −6.9897 dB.
        close_opt(
            signal_to_noise(SnType::SmallerIsBetter, &[1.0, 3.0]),
            -6.9897,
            1e-4,
        );
        // NTB of 9 and 11: mean 10, s² = 2, 10·log10(100/2) = 16.9897 dB.
        close_opt(
            signal_to_noise(SnType::NominalIsBest, &[9.0, 11.0]),
            16.9897,
            1e-4,
        );

        assert_eq!(signal_to_noise(SnType::LargerIsBetter, &[0.0, 5.0]), None);
        assert_eq!(signal_to_noise(SnType::LargerIsBetter, &[-1.0]), None);
        assert_eq!(signal_to_noise(SnType::LargerIsBetter, &[1e-200]), None);
        assert_eq!(signal_to_noise(SnType::SmallerIsBetter, &[0.0, 0.0]), None);
        close_opt(
            signal_to_noise(SnType::SmallerIsBetter, &[0.0, -2.0]),
            -3.0103,
            1e-4,
        );
        assert_eq!(signal_to_noise(SnType::NominalIsBest, &[4.0]), None);
        assert_eq!(
            signal_to_noise(SnType::NominalIsBest, &[0.1, 0.1, 0.1]),
            None
        );
        assert_eq!(signal_to_noise(SnType::NominalIsBest, &[-1.0, 1.0]), None);
        assert_eq!(signal_to_noise(SnType::NominalIsBest, &[]), None);
    }

    #[test]
    fn all_equal_responses_give_zero_sums_of_squares_and_no_nan() {
        let design = choose(&[3, 3, 3, 3]).unwrap();
        for sn in [
            SnType::LargerIsBetter,
            SnType::SmallerIsBetter,
            SnType::NominalIsBest,
        ] {
            // With replicates (error df > 0) and without (everything pooled).
            for replicates in [1, 2] {
                let responses = vec![vec![Some(0.1); replicates]; 9];
                let a = analyze(&design, &responses, sn, 5.0).unwrap();
                assert_all_finite(&a);
                for an in std::iter::once(&a.anova).chain(a.anova_sn.as_ref()) {
                    assert_eq!(an.total_ss, 0.0);
                    assert_eq!(an.error_percent, 0.0);
                    for row in &an.factors {
                        assert_eq!((row.ss, row.percent, row.f), (0.0, 0.0, None));
                    }
                    if replicates == 1 || an.basis == AnovaBasis::SnRatios {
                        assert_eq!(an.pooled, vec![0, 1, 2, 3]);
                    } else {
                        assert!(an.pooled.is_empty());
                        assert_eq!(an.error_df, 9);
                    }
                }
                // Everything ties: the lowest level wins, and says so.
                assert_eq!(levels_of(&a), [0, 0, 0, 0]);
                for o in &a.optimum {
                    assert_eq!(o.tied_levels, vec![0, 1, 2]);
                    assert_eq!(o.tie_broken_by, Some(TieBreak::LowestLevel));
                }
                close(a.prediction.mean, 0.1, 1e-12);
                if let Some(sn) = a.prediction.sn {
                    close(sn, a.grand_sn.unwrap(), 1e-9);
                }
            }
        }
    }

    #[test]
    fn missing_replicates_and_excluded_runs() {
        let design = choose(&[3, 3, 3, 3]).unwrap();
        let mut responses = single(&[5.0, 6.0, 7.0, 6.0, 7.0, 8.0, 7.0, 8.0, 9.0]);
        // Runs 0-2 are the only ones with A at level 0: all fail.
        responses[0] = vec![None, None];
        responses[1] = vec![];
        responses[2] = vec![Some(f64::NAN)];
        // A missing replicate elsewhere just lowers the count.
        responses[4] = vec![Some(7.0), None, Some(7.5)];
        let a = analyze(&design, &responses, SnType::LargerIsBetter, 5.0).unwrap();
        assert_all_finite(&a);
        assert_eq!(a.excluded_runs, vec![0, 1, 2]);
        assert_eq!(a.runs.len(), 6);
        assert_eq!(a.runs[1].run, 4);
        assert_eq!(a.runs[1].replicates, 2);
        assert_eq!(a.observations, 7);
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("run 2 replicate 0 is not a finite number"))
        );
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("run(s) 0, 1, 2 have no valid response"))
        );
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("factor 0: level(s) 0 occur in no valid run"))
        );

        let e = &a.effects[0];
        assert_eq!(e.level_means[0], None);
        assert_eq!(e.level_sn[0], None);
        assert_eq!(e.level_observations, vec![0, 4, 3]);
        assert!(e.delta_mean.is_some());
        assert_eq!(a.anova.factors[0].df, 1);
        assert_ne!(a.optimum[0].level, 0);
    }

    #[test]
    fn a_factor_seen_at_one_level_has_no_effect_estimate() {
        let design = choose(&[3, 3, 3, 3]).unwrap();
        let mut responses: Vec<Vec<Option<f64>>> = vec![Vec::new(); 9];
        // Only runs 6-8 (A at level 2) succeed.
        responses[6] = vec![Some(3.0), Some(4.0)];
        responses[7] = vec![Some(5.0), Some(5.5)];
        responses[8] = vec![Some(2.0), Some(2.5)];
        let a = analyze(&design, &responses, SnType::NominalIsBest, 5.0).unwrap();
        assert_all_finite(&a);
        let e = &a.effects[0];
        assert_eq!(e.level_means[..2], [None, None]);
        assert!(e.level_means[2].is_some());
        assert_eq!(
            (e.delta_mean, e.delta_sn, e.rank_mean, e.rank_sn),
            (None, None, None, None)
        );
        assert_eq!(a.anova.factors[0].df, 0);
        assert_eq!(a.anova.factors[0].ss, 0.0);
        assert_eq!(a.anova.factors[0].ms, None);
        assert_eq!(a.optimum[0].level, 2);
        assert!(!a.prediction.mean_factors.contains(&0));
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("factor 0: only level 2 occurs"))
        );
        // 6 observations, df 5, but B, C and D claim 6: unbalanced.
        assert!(!a.anova.additive);
        assert!(
            a.notes
                .iter()
                .any(|n| n.starts_with("ANOVA on observations"))
        );
    }

    #[test]
    fn larger_is_better_with_zero_scores_keeps_means_and_drops_sn() {
        let design = choose(&[2, 2, 2]).unwrap();
        let responses = vec![
            vec![Some(0.0), Some(4.0)],
            vec![Some(5.0), Some(6.0)],
            vec![Some(7.0), Some(8.0)],
            vec![Some(9.0), Some(9.0)],
        ];
        let a = analyze(&design, &responses, SnType::LargerIsBetter, 5.0).unwrap();
        assert_all_finite(&a);
        assert_eq!(a.runs[0].sn, None);
        close(a.runs[0].mean, 2.0, 1e-12);
        assert!(a.notes[0].starts_with("run 0: larger-is-better S/N needs every response above 0"));
        assert_eq!(a.anova_sn.as_ref().unwrap().n, 3);
        assert_eq!(a.anova.n, 8);
    }

    #[test]
    fn ties_on_sn_broken_by_mean_then_lowest_level() {
        // One 2-level factor in L4, two runs per level. S/N (STB) of {1, 3}
        // and {3, 1} are equal, and so are their means: lowest level wins.
        let design = choose(&[2]).unwrap();
        let responses = vec![
            vec![Some(1.0), Some(3.0)],
            vec![Some(1.0), Some(3.0)],
            vec![Some(3.0), Some(1.0)],
            vec![Some(3.0), Some(1.0)],
        ];
        let a = analyze(&design, &responses, SnType::SmallerIsBetter, 5.0).unwrap();
        assert_eq!(a.optimum[0].level, 0);
        assert_eq!(a.optimum[0].tied_levels, vec![0, 1]);
        assert_eq!(a.optimum[0].tie_broken_by, Some(TieBreak::LowestLevel));
        assert_eq!(a.effects[0].rank_sn, Some(1));
    }

    #[test]
    fn equal_deltas_share_a_rank() {
        // L4 with A and B effects of equal size and none for C.
        // Rows (A B C): 000, 011, 101, 110; y = 10 + 2A + 2B.
        let design = choose(&[2, 2, 2]).unwrap();
        let a = analyze(
            &design,
            &single(&[10.0, 12.0, 12.0, 14.0]),
            SnType::LargerIsBetter,
            5.0,
        )
        .unwrap();
        let ranks: Vec<Option<usize>> = a.effects.iter().map(|e| e.rank_mean).collect();
        assert_eq!(ranks, [Some(1), Some(1), Some(3)]);
        // Saturated: error df 0, C (0 %) pooled, but its SS is 0 so the
        // error mean square is 0 and no F can be formed.
        assert_eq!(a.anova.pooled, vec![2]);
        assert_eq!(a.anova.factors[0].f, None);
        assert_all_finite(&a);
    }

    #[test]
    fn bad_input_is_rejected_with_a_reason() {
        let design = choose(&[2, 2, 2]).unwrap();
        let e = analyze(&design, &single(&[1.0, 2.0]), SnType::LargerIsBetter, 5.0).unwrap_err();
        assert_eq!(
            e,
            AnalysisError::RunCountMismatch {
                expected: 4,
                got: 2
            }
        );
        assert!(
            e.to_string()
                .starts_with("the design has 4 runs but responses were given for 2")
        );

        let none = vec![vec![None]; 4];
        assert_eq!(
            analyze(&design, &none, SnType::LargerIsBetter, 5.0).unwrap_err(),
            AnalysisError::NoValidResponses
        );
        for bad in [-1.0, 101.0, f64::NAN] {
            assert!(matches!(
                analyze(&design, &single(&[1.0; 4]), SnType::LargerIsBetter, bad).unwrap_err(),
                AnalysisError::InvalidPoolThreshold(_)
            ));
        }
        let mut broken = design.clone();
        broken.rows[2][1] = 5;
        assert!(matches!(
            analyze(&broken, &single(&[1.0; 4]), SnType::LargerIsBetter, 5.0).unwrap_err(),
            AnalysisError::MalformedDesign(m) if m.contains("run 2 puts factor 1 at level 5")
        ));
        assert_eq!(
            analyze(&design, &single(&[1e200; 4]), SnType::SmallerIsBetter, 5.0).unwrap_err(),
            AnalysisError::Overflow
        );
    }
}
