//! Recursive least squares with exponential forgetting: an online linear model, O(d²) per
//! update and allocation-free, with a predictive variance.
//!
//! After `n` updates the coefficients minimise
//! `Σᵢ λ^{n−i} (yᵢ − xᵢᵀβ)² + λⁿ δ ‖β‖²`, the exponentially weighted least-squares
//! criterion with the prior `P₀ = I / δ` (Haykin 2002, *Adaptive Filter Theory*, §9): they
//! equal batch weighted least squares with weights `λ^{n−i}` and ridge `λⁿδ` on the same
//! observations, to rounding (a property test checks 1e-9). One update, with
//! `e = y − xᵀβ`:
//!
//! ```text
//! π = P x,  k = π / (λ + xᵀπ),  β ← β + k e,  P ← (P − k πᵀ) / λ,
//! J ← λ J + λ e² / (λ + xᵀπ),  n_eff ← λ n_eff + 1.
//! ```
//!
//! `J` is the weighted residual sum of squares (prior term included) and `n_eff` the
//! effective sample size; the noise variance is `σ̂² = J / (n_eff − d)` and a prediction at
//! `x` has variance `σ̂² (1 + xᵀPx)` (once `n_eff > d`).
//!
//! **Windup.** Without excitation in some direction, `P` grows like `λ^{−n}` there. The
//! trace of `P` is capped at `max_trace`: an update that would exceed it forgets less
//! (uses `λ' = trace(P − kπᵀ) / max_trace > λ`, the constant-trace idea of Fortescue, Kershenbaum
//! & Ydstie 1981, Automatica 17) and is counted in [`RecursiveLeastSquares::saturated_updates`].
//!
//! An update is checked in full before it changes anything: non-finite input, and an
//! update that would overflow or make `P` lose positivity, are errors that leave the model
//! as it was.

// index loops over parallel arrays (matrix rows, scales, penalties) read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::{Array1, ArrayView2};
use prudentia_core::traits::Predict;
use prudentia_core::validate::{
    check_elements, check_finite, check_len, check_shape, check_size, MAX_DIM, MAX_ELEMENTS,
};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{LearnError, LearnResult};

/// Settings of a recursive least-squares model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct RlsConfig {
    /// Number of features `d` (include a constant 1.0 feature for an intercept), in
    /// `1..=4096` (`P` holds `d²` numbers).
    pub n_features: usize,
    /// Forgetting factor `λ` in `(0, 1]` (1 = no forgetting; the memory is about
    /// `1 / (1 − λ)` observations). Default 0.99.
    pub forgetting: f64,
    /// Prior precision `δ > 0`, finite: `P₀ = I / δ` (small = a weak prior). Default 1e-6.
    pub initial_precision: f64,
    /// Cap on `trace(P)`, finite and ≥ `d / δ`. Default `1e8 · d / δ`.
    pub max_trace: f64,
}

/// The largest `d` an [`RlsConfig`] accepts.
pub const MAX_RLS_FEATURES: usize = 4096;

impl RlsConfig {
    /// Defaults for `d` features: `λ = 0.99`, `δ = 1e-6`, `max_trace = 1e8 · d / δ`.
    pub fn new(n_features: usize) -> Self {
        Self {
            n_features,
            forgetting: 0.99,
            initial_precision: 1e-6,
            max_trace: 1e8 * n_features as f64 / 1e-6,
        }
    }

    /// With forgetting factor `λ`.
    pub fn forgetting(mut self, lambda: f64) -> Self {
        self.forgetting = lambda;
        self
    }

    /// With prior precision `δ` (and `max_trace` moved to `1e8 · d / δ`).
    pub fn initial_precision(mut self, delta: f64) -> Self {
        self.initial_precision = delta;
        self.max_trace = 1e8 * self.n_features as f64 / delta;
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> LearnResult<()> {
        check_len("n_features", self.n_features, 1)?;
        check_size("n_features", self.n_features, MAX_RLS_FEATURES)?;
        check_elements("P", &[self.n_features, self.n_features], MAX_ELEMENTS)?;
        let lam = self.forgetting;
        if !(lam > 0.0 && lam <= 1.0) {
            return Err(CoreError::OutOfRange {
                field: "forgetting",
                value: lam,
                expected: "in (0, 1]",
            }
            .into());
        }
        let delta = self.initial_precision;
        if !(delta.is_finite() && delta > 0.0 && (1.0 / delta).is_finite()) {
            return Err(CoreError::OutOfRange {
                field: "initial_precision",
                value: delta,
                expected: "finite, > 0, with a finite inverse",
            }
            .into());
        }
        let t0 = self.n_features as f64 / delta;
        if !(self.max_trace.is_finite() && self.max_trace >= t0) {
            return Err(CoreError::OutOfRange {
                field: "max_trace",
                value: self.max_trace,
                expected: "finite and >= n_features / initial_precision",
            }
            .into());
        }
        Ok(())
    }
}
prudentia_core::checked_serde!(RlsConfig, RlsConfig::validate);

/// A prediction with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RlsPrediction {
    /// `xᵀβ`.
    pub mean: f64,
    /// `σ̂² (1 + xᵀPx)`, the variance of a new observation at `x`; `None` until the
    /// effective sample size exceeds `d` (or if it would overflow).
    pub variance: Option<f64>,
}

/// What one update did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct RlsStep {
    /// The a-priori error `y − xᵀβ` (before the update).
    pub prior_error: f64,
    /// The forgetting factor used (above `λ` when the trace cap bound).
    pub forgetting_used: f64,
}

/// A recursive least-squares model (see the [module docs](self)). Deserialization validates
/// it (sizes, finite values, a symmetric `P` with a positive diagonal within the trace cap:
/// the invariants every update keeps; full positive definiteness can be lost to rounding
/// after extreme inputs such as 1e150, and then an update with `xᵀPx ≤ 0` is refused).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct RecursiveLeastSquares {
    config: RlsConfig,
    coefficients: Vec<f64>,
    /// `P`, row-major d × d.
    p: Vec<f64>,
    weighted_sse: f64,
    effective_n: f64,
    updates: u64,
    saturated_updates: u64,
    #[serde(skip)]
    scratch: Vec<f64>,
    #[serde(skip)]
    p_next: Vec<f64>,
}
prudentia_core::checked_serde!(RecursiveLeastSquares, RecursiveLeastSquares::check);

/// Equal state (the scratch buffers are not state).
impl PartialEq for RecursiveLeastSquares {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.coefficients == other.coefficients
            && self.p == other.p
            && self.weighted_sse == other.weighted_sse
            && self.effective_n == other.effective_n
            && self.updates == other.updates
            && self.saturated_updates == other.saturated_updates
    }
}

impl RecursiveLeastSquares {
    /// A model at its prior: `β = 0`, `P = I / δ`.
    pub fn new(config: RlsConfig) -> LearnResult<Self> {
        config.validate()?;
        let d = config.n_features;
        let mut p = vec![0.0; d * d];
        for i in 0..d {
            p[i * d + i] = 1.0 / config.initial_precision;
        }
        Ok(Self {
            config,
            coefficients: vec![0.0; d],
            p,
            weighted_sse: 0.0,
            effective_n: 0.0,
            updates: 0,
            saturated_updates: 0,
            scratch: vec![0.0; d],
            p_next: vec![0.0; d * d],
        })
    }

    fn check(&mut self) -> LearnResult<()> {
        self.config.validate()?;
        let d = self.config.n_features;
        check_shape("coefficients", &[d], &[self.coefficients.len()])?;
        check_shape("P", &[d * d], &[self.p.len()])?;
        check_finite("coefficients", &self.coefficients)?;
        check_finite("P", &self.p)?;
        let mut trace = 0.0;
        for i in 0..d {
            let v = self.p[i * d + i];
            if v <= 0.0 {
                return Err(CoreError::OutOfRange {
                    field: "P diagonal",
                    value: v,
                    expected: "> 0",
                }
                .into());
            }
            trace += v;
            for j in i + 1..d {
                if self.p[i * d + j] != self.p[j * d + i] {
                    return Err(CoreError::NotSymmetric {
                        field: "P",
                        row: i,
                        col: j,
                        diff: (self.p[i * d + j] - self.p[j * d + i]).abs(),
                    }
                    .into());
                }
            }
        }
        if trace.is_nan() || trace > self.config.max_trace * (1.0 + 1e-9) {
            return Err(CoreError::OutOfRange {
                field: "trace of P",
                value: trace,
                expected: "<= max_trace",
            }
            .into());
        }
        for (field, v) in [
            ("weighted_sse", self.weighted_sse),
            ("effective_n", self.effective_n),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(CoreError::OutOfRange {
                    field,
                    value: v,
                    expected: "finite and >= 0",
                }
                .into());
            }
        }
        if self.saturated_updates > self.updates {
            return Err(CoreError::OutOfRange {
                field: "saturated_updates",
                value: self.saturated_updates as f64,
                expected: "<= updates",
            }
            .into());
        }
        self.scratch = vec![0.0; d];
        self.p_next = vec![0.0; d * d];
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &RlsConfig {
        &self.config
    }

    /// The coefficients `β`.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// `P` (d × d), the inverse of the weighted Gram matrix plus prior: `σ̂² P` is the
    /// coefficients' covariance.
    pub fn gain_matrix(&self) -> ndarray::Array2<f64> {
        let d = self.config.n_features;
        ndarray::Array2::from_shape_fn((d, d), |(i, j)| self.p[i * d + j])
    }

    /// The weighted residual sum of squares `J` (prior term included).
    pub fn weighted_sse(&self) -> f64 {
        self.weighted_sse
    }

    /// The effective sample size `Σ λ^{n−i}`.
    pub fn effective_n(&self) -> f64 {
        self.effective_n
    }

    /// Updates made.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Updates in which the trace cap reduced forgetting.
    pub fn saturated_updates(&self) -> u64 {
        self.saturated_updates
    }

    /// The noise variance `σ̂² = J / (n_eff − d)`, once `n_eff > d`.
    pub fn noise_variance(&self) -> Option<f64> {
        let dof = self.effective_n - self.config.n_features as f64;
        (dof > 0.0)
            .then(|| self.weighted_sse / dof)
            .filter(|v| v.is_finite())
    }

    /// Learns from one observation `(x, y)` in O(d²) without allocating. Checks everything
    /// first: on `Err` the model is unchanged.
    pub fn update(&mut self, x: &[f64], y: f64) -> LearnResult<RlsStep> {
        let d = self.config.n_features;
        check_shape("x", &[d], &[x.len()])?;
        check_finite("x", x)?;
        check_finite("y", &[y])?;
        if self.scratch.len() != d || self.p_next.len() != d * d {
            self.scratch = vec![0.0; d];
            self.p_next = vec![0.0; d * d];
        }
        // forgetting: λ, or less forgetting when the trace cap binds
        let trace_p: f64 = (0..d).map(|i| self.p[i * d + i]).sum();
        let lam = if trace_p / self.config.forgetting > self.config.max_trace {
            (trace_p / self.config.max_trace).clamp(self.config.forgetting, 1.0)
        } else {
            self.config.forgetting
        };
        let numerical = |detail: &'static str| -> LearnError {
            CoreError::Numerical {
                operation: "recursive least-squares update",
                detail,
            }
            .into()
        };
        // pass 1: π = P x (scratch), xᵀπ, prior error
        let mut xpx = 0.0;
        for i in 0..d {
            let s = crate::dense::dot(&self.p[i * d..(i + 1) * d], x);
            self.scratch[i] = s;
            xpx += x[i] * s;
        }
        let pred = crate::dense::dot(&self.coefficients, x);
        let e = y - pred;
        let denom = lam + xpx;
        if !(e.is_finite() && xpx.is_finite() && xpx >= 0.0 && denom.is_finite() && denom > 0.0) {
            return Err(numerical(
                "xᵀPx or the prior error is not finite: rescale the inputs",
            ));
        }
        let inv_denom = 1.0 / denom;
        let inv_lam = 1.0 / lam;
        let j_new = lam * self.weighted_sse + lam * e * e * inv_denom;
        if !j_new.is_finite() {
            return Err(numerical("the residual sum of squares would overflow"));
        }
        // pass 2: the new P into the spare buffer, checked as it is written. Row by row in
        // full (contiguous, vectorizes); `(πᵢ πⱼ) / denom` is the same number for (i, j) and
        // (j, i), so P stays exactly symmetric.
        let mut finite = true;
        for i in 0..d {
            let ki = self.scratch[i] * inv_denom;
            let bi = self.coefficients[i] + ki * e;
            finite &= ki.is_finite() && bi.is_finite();
            let pi = self.scratch[i];
            let src = &self.p[i * d..(i + 1) * d];
            let dst = &mut self.p_next[i * d..(i + 1) * d];
            let mut bad = false;
            for ((o, &pij), &pj) in dst.iter_mut().zip(src).zip(&self.scratch) {
                let v = (pij - (pi * pj) * inv_denom) * inv_lam;
                bad |= !v.is_finite();
                *o = v;
            }
            finite &= !bad;
        }
        let positive = (0..d).all(|i| self.p_next[i * d + i] > 0.0);
        if !finite {
            return Err(numerical("the update would overflow"));
        }
        if !positive {
            return Err(numerical("P would lose positive definiteness"));
        }
        // commit
        std::mem::swap(&mut self.p, &mut self.p_next);
        for i in 0..d {
            self.coefficients[i] += self.scratch[i] * inv_denom * e;
        }
        self.weighted_sse = j_new;
        self.effective_n = lam * self.effective_n + 1.0;
        self.updates = self.updates.saturating_add(1);
        if lam != self.config.forgetting {
            self.saturated_updates = self.saturated_updates.saturating_add(1);
        }
        Ok(RlsStep {
            prior_error: e,
            forgetting_used: lam,
        })
    }

    /// Prediction at one feature vector, with its variance.
    pub fn predict_one(&self, x: &[f64]) -> LearnResult<RlsPrediction> {
        let d = self.config.n_features;
        check_shape("x", &[d], &[x.len()])?;
        check_finite("x", x)?;
        let mut mean = 0.0;
        let mut xpx = 0.0;
        for i in 0..d {
            mean += x[i] * self.coefficients[i];
            let row = &self.p[i * d..(i + 1) * d];
            let s: f64 = row.iter().zip(x).map(|(a, b)| a * b).sum();
            xpx += x[i] * s;
        }
        if !mean.is_finite() {
            return Err(LearnError::Overflow { what: "prediction" });
        }
        let variance = self
            .noise_variance()
            .map(|s2| s2 * (1.0 + xpx.max(0.0)))
            .filter(|v| v.is_finite());
        Ok(RlsPrediction { mean, variance })
    }
}

impl Predict for RecursiveLeastSquares {
    type Output = Array1<f64>;
    type Error = LearnError;
    /// Means `xᵢᵀβ` for every row.
    fn predict(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        check_shape("x columns", &[self.config.n_features], &[x.ncols()])?;
        prudentia_core::validate::check_finite_2d("x", x)?;
        let out: Array1<f64> = x
            .rows()
            .into_iter()
            .map(|r| r.iter().zip(&self.coefficients).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        if out.iter().all(|v| v.is_finite()) {
            Ok(out)
        } else {
            Err(LearnError::Overflow { what: "predictions" })
        }
    }
}

const _: () = assert!(MAX_RLS_FEATURES <= MAX_DIM);
