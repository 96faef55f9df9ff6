//! Experiment design and analysis for tuning workflows: pure maths, no I/O,
//! no async.
//!
//! * [`arrays`] — standard orthogonal arrays (Taguchi's L4 … L32) and the
//!   choice of the smallest one that fits a set of factors.
//! * [`analysis`] — Taguchi analysis of the results of such a design:
//!   signal-to-noise ratios, main effects, ANOVA with pooling, the optimal
//!   level of each factor and the additive-model prediction there.
//! * [`sampling`] — verbalized sampling (Zhang et al., 2025,
//!   arXiv:2510.01171): asking a model for several candidates with stated
//!   probabilities, reading its answer robustly and drawing one.
//!
//! Sources are cited in each module's documentation.

pub mod analysis;
pub mod arrays;
pub mod sampling;
