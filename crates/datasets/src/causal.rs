//! A confounded observational data set with a known heterogeneous treatment effect.
//!
//! For row `r` with covariates `x = (x_0, …, x_{p−1})`, `x_j ~ N(0, 1)` i.i.d.:
//!
//! - propensity `e(x) = 0.05 + 0.9 · logistic(0.8 x_0 − 0.5 x_1)` (in `[0.05, 0.95]`, so
//!   overlap holds),
//! - treatment `D ~ Bernoulli(e(x))`,
//! - baseline `μ_0(x) = x_0 + 0.5 x_1`, effect `τ(x) = 0.5 x_0 + 0.2`,
//!   `μ_1(x) = μ_0(x) + τ(x)`,
//! - outcome `Y = μ_0(x) + D τ(x) + ε`, `ε ~ N(0, 0.5²)`.
//!
//! `x_0` raises both the chance of treatment and the baseline outcome, so the naive
//! difference of treated and control means overstates the average effect, whose true value is
//! `E[τ(x)] = 0.2`. Covariates `x_2, …` are irrelevant noise.
//!
//! Draw order from `ChaCha8Rng::seed_from_u64(seed)`: all of `x` row by row, then per row a
//! uniform `u` (treated iff `u < e(x)`) and the normal behind `ε`.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::error::DatasetResult;
use crate::synthetic::{seeded_rng, std_normal, uniform};

/// Population average treatment effect `E[τ(x)]` of [`causal_dataset`].
pub const CAUSAL_TRUE_ATE: f64 = 0.2;
/// Standard deviation of the outcome noise `ε` of [`causal_dataset`].
pub const CAUSAL_NOISE_SD: f64 = 0.5;

/// The true propensity `e(x) = 0.05 + 0.9 · logistic(0.8 x_0 − 0.5 x_1)`.
pub fn causal_propensity(x0: f64, x1: f64) -> f64 {
    0.05 + 0.9 / (1.0 + (-(0.8 * x0 - 0.5 * x1)).exp())
}

/// The true conditional average treatment effect `τ(x) = 0.5 x_0 + 0.2`.
pub fn causal_cate(x0: f64) -> f64 {
    0.5 * x0 + 0.2
}

/// The true control-outcome mean `μ_0(x) = x_0 + 0.5 x_1`.
pub fn causal_baseline(x0: f64, x1: f64) -> f64 {
    x0 + 0.5 * x1
}

/// A sample from [`causal_dataset`], with the truth behind every row.
///
/// Deserialization checks every length against the rows of `x`, finite values and
/// propensities in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CausalSample {
    /// Covariates, `n × p`.
    pub x: Array2<f64>,
    /// Treatment indicator per row.
    pub treatment: Vec<bool>,
    /// Observed outcome `Y`.
    pub outcome: Array1<f64>,
    /// True propensity `e(x)`.
    pub propensity: Array1<f64>,
    /// True effect `τ(x)` per row.
    pub true_cate: Array1<f64>,
    /// True `μ_0(x)` per row.
    pub mu0: Array1<f64>,
    /// True `μ_1(x)` per row.
    pub mu1: Array1<f64>,
}
prudentia_core::checked_serde!(CausalSample, CausalSample::check);

impl CausalSample {
    fn check(&mut self) -> DatasetResult<()> {
        use prudentia_core::validate::{check_finite_iter, check_len, check_probability, check_shape};
        let n = self.x.nrows();
        check_len("x (columns)", self.x.ncols(), 2)?;
        check_finite_iter("x", self.x.iter())?;
        check_shape("treatment", &[n], &[self.treatment.len()])?;
        for (field, a) in [
            ("outcome", &self.outcome),
            ("propensity", &self.propensity),
            ("true_cate", &self.true_cate),
            ("mu0", &self.mu0),
            ("mu1", &self.mu1),
        ] {
            check_shape(field, &[n], &[a.len()])?;
            check_finite_iter(field, a.iter())?;
        }
        for &e in &self.propensity {
            check_probability("propensity", e)?;
        }
        Ok(())
    }

    /// The treatment as `0.0` / `1.0`.
    pub fn treatment_indicator(&self) -> Array1<f64> {
        self.treatment
            .iter()
            .map(|&d| if d { 1.0 } else { 0.0 })
            .collect()
    }

    /// Difference of the mean outcomes of treated and control rows: the naive, confounded
    /// estimate of the average effect. `NaN` if a group is empty.
    pub fn naive_difference(&self) -> f64 {
        let (mut s1, mut n1, mut s0, mut n0) = (0.0, 0usize, 0.0, 0usize);
        for (&d, &y) in self.treatment.iter().zip(self.outcome.iter()) {
            if d {
                s1 += y;
                n1 += 1;
            } else {
                s0 += y;
                n0 += 1;
            }
        }
        s1 / n1 as f64 - s0 / n0 as f64
    }
}

/// `n` rows with `p ≥ 2` covariates from the confounded model in the [module docs](self).
///
/// # Errors
/// [`prudentia_core::CoreError::EmptyInput`] for `n = 0` or `p < 2`;
/// [`prudentia_core::CoreError::TooLarge`] for `n >`
/// [`MAX_WINDOW`](prudentia_core::validate::MAX_WINDOW), `p >`
/// [`MAX_DIM`](prudentia_core::validate::MAX_DIM) or `n · p >`
/// [`MAX_ELEMENTS`](prudentia_core::validate::MAX_ELEMENTS).
pub fn causal_dataset(n: usize, p: usize, seed: u64) -> DatasetResult<CausalSample> {
    use prudentia_core::validate::{check_elements, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW};
    prudentia_core::validate::check_len("n", n, 1)?;
    prudentia_core::validate::check_len("p", p, 2)?;
    check_size("n", n, MAX_WINDOW)?;
    check_size("p", p, MAX_DIM)?;
    check_elements("n × p", &[n, p], MAX_ELEMENTS)?;
    let mut rng = seeded_rng(seed);
    let mut x = Array2::zeros((n, p));
    for v in x.iter_mut() {
        *v = std_normal(&mut rng);
    }
    let mut treatment = Vec::with_capacity(n);
    let (mut outcome, mut propensity) = (Array1::zeros(n), Array1::zeros(n));
    let (mut true_cate, mut mu0, mut mu1) = (Array1::zeros(n), Array1::zeros(n), Array1::zeros(n));
    for r in 0..n {
        let (x0, x1) = (x[[r, 0]], x[[r, 1]]);
        let e = causal_propensity(x0, x1);
        let d = uniform(&mut rng) < e;
        let eps = CAUSAL_NOISE_SD * std_normal(&mut rng);
        let tau = causal_cate(x0);
        let m0 = causal_baseline(x0, x1);
        treatment.push(d);
        propensity[r] = e;
        true_cate[r] = tau;
        mu0[r] = m0;
        mu1[r] = m0 + tau;
        outcome[r] = m0 + if d { tau } else { 0.0 } + eps;
    }
    Ok(CausalSample {
        x,
        treatment,
        outcome,
        propensity,
        true_cate,
        mu0,
        mu1,
    })
}

/// True effect `β` of the treatment in [`iv_dataset`].
pub const IV_TRUE_EFFECT: f64 = 0.5;

/// A sample from [`iv_dataset`], with the unobserved confounder kept for checking.
///
/// Deserialization checks equal lengths, finite values and the first stage's range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct IvSample {
    /// Instrument `z`.
    pub instrument: Array1<f64>,
    /// Continuous treatment `d`.
    pub treatment: Array1<f64>,
    /// Outcome `y`.
    pub outcome: Array1<f64>,
    /// Unobserved confounder `u` (a real analysis would not have it).
    pub confounder: Array1<f64>,
    /// First-stage coefficient `π` used to generate the sample.
    pub first_stage: f64,
}
prudentia_core::checked_serde!(IvSample, IvSample::check);

/// The largest `|π|` of [`iv_dataset`] (1e100).
pub const IV_MAX_FIRST_STAGE: f64 = 1e100;

fn check_first_stage(first_stage: f64) -> DatasetResult<()> {
    prudentia_core::validate::check_finite("first_stage", &[first_stage])?;
    if first_stage.abs() > IV_MAX_FIRST_STAGE {
        return Err(prudentia_core::CoreError::OutOfRange {
            field: "first_stage",
            value: first_stage,
            expected: "|first_stage| <= 1e100",
        }
        .into());
    }
    Ok(())
}

impl IvSample {
    fn check(&mut self) -> DatasetResult<()> {
        use prudentia_core::validate::{check_finite_iter, check_shape};
        check_first_stage(self.first_stage)?;
        let n = self.instrument.len();
        for (field, a) in [
            ("instrument", &self.instrument),
            ("treatment", &self.treatment),
            ("outcome", &self.outcome),
            ("confounder", &self.confounder),
        ] {
            check_shape(field, &[n], &[a.len()])?;
            check_finite_iter(field, a.iter())?;
        }
        Ok(())
    }
}

/// An instrumental-variable sample with a known effect and a tunable instrument strength:
///
/// ```text
/// z, u, v, ε ~ N(0, 1) i.i.d.,   d = π z + u + v,   y = β d + u + ε,   β = 0.5
/// ```
///
/// The confounder `u` moves both `d` and `y`, so ordinary least squares of `y` on `d`
/// converges to `β + 1 / (π² + 2)`, while two-stage least squares with instrument `z` is
/// consistent for `β`. The population first-stage F-statistic is about `n π² / 2`, so
/// `π = 0.05` with `n = 1000` is a weak instrument (F ≈ 1.25) and `π = 1` a strong one.
/// Draw order from `ChaCha8Rng::seed_from_u64(seed)`, per row: `z, u, v, ε`.
///
/// # Errors
/// [`prudentia_core::CoreError::EmptyInput`] for `n = 0`; [`prudentia_core::CoreError::NonFinite`]
/// for a non-finite `first_stage`, [`prudentia_core::CoreError::OutOfRange`] for
/// `|first_stage| >` [`IV_MAX_FIRST_STAGE`]; [`prudentia_core::CoreError::TooLarge`] for
/// `n >` [`MAX_WINDOW`](prudentia_core::validate::MAX_WINDOW).
pub fn iv_dataset(n: usize, first_stage: f64, seed: u64) -> DatasetResult<IvSample> {
    prudentia_core::validate::check_len("n", n, 1)?;
    prudentia_core::validate::check_size("n", n, prudentia_core::validate::MAX_WINDOW)?;
    check_first_stage(first_stage)?;
    let mut rng = seeded_rng(seed);
    let mut s = IvSample {
        instrument: Array1::zeros(n),
        treatment: Array1::zeros(n),
        outcome: Array1::zeros(n),
        confounder: Array1::zeros(n),
        first_stage,
    };
    for r in 0..n {
        let z = std_normal(&mut rng);
        let u = std_normal(&mut rng);
        let v = std_normal(&mut rng);
        let e = std_normal(&mut rng);
        let d = first_stage * z + u + v;
        s.instrument[r] = z;
        s.confounder[r] = u;
        s.treatment[r] = d;
        s.outcome[r] = IV_TRUE_EFFECT * d + u + e;
    }
    Ok(s)
}
