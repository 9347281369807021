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
//! **Square-root form.** `P` is not updated itself but through a square root `S` with
//! `P = S Sᵀ` (Potter's algorithm, Potter & Stern 1963; Bierman 1977, *Factorization Methods
//! for Discrete Sequential Estimation*, §V.3): with `φ = Sᵀx`, `α = λ + φᵀφ`, `π = Sφ = Px`,
//! `γ = 1 / (1 + √(λ/α))`,
//!
//! ```text
//! S ← (S − γ (π/α) φᵀ) / √λ,
//! ```
//!
//! which is the update of `P` above, exactly in exact arithmetic. `S Sᵀ` is positive
//! semidefinite whatever the rounding, and `S` has the square root of `P`'s condition number,
//! so `P` stays symmetric positive definite over millions of updates with forgetting on
//! poorly excited inputs (where the direct update `P ← (P − kπᵀ)/λ` loses positivity
//! within tens of thousands: a test runs a million). O(d²) per update (3d² multiply–adds
//! instead of 2d²). A checkpoint stores `S`; one written before the square-root form (with
//! `P`) loads through a Cholesky factor of `P` and is refused if `P` is not positive
//! definite.
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
/// it (sizes, finite values, a square root `S` of `P` with no zero row within the trace cap:
/// the invariants every update keeps; a legacy checkpoint's `P` must be symmetric positive
/// definite).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct RecursiveLeastSquares {
    config: RlsConfig,
    coefficients: Vec<f64>,
    /// `P` of a checkpoint written before the square-root form (row-major d × d); converted
    /// into `s` on load and never written.
    #[serde(default, skip_serializing)]
    p: Vec<f64>,
    /// `S`, row-major d × d, with `P = S Sᵀ`.
    #[serde(default)]
    s: Vec<f64>,
    weighted_sse: f64,
    effective_n: f64,
    updates: u64,
    saturated_updates: u64,
    /// `φ = Sᵀx` in `[..d]`, `π = Sφ` in `[d..]`.
    #[serde(skip)]
    scratch: Vec<f64>,
    #[serde(skip)]
    s_next: Vec<f64>,
}
prudentia_core::checked_serde!(RecursiveLeastSquares, RecursiveLeastSquares::check);

/// Equal state (the scratch buffers are not state).
impl PartialEq for RecursiveLeastSquares {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.coefficients == other.coefficients
            && self.s == other.s
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
        let mut s = vec![0.0; d * d];
        let root = (1.0 / config.initial_precision).sqrt();
        for i in 0..d {
            s[i * d + i] = root;
        }
        Ok(Self {
            config,
            coefficients: vec![0.0; d],
            p: Vec::new(),
            s,
            weighted_sse: 0.0,
            effective_n: 0.0,
            updates: 0,
            saturated_updates: 0,
            scratch: vec![0.0; 2 * d],
            s_next: vec![0.0; d * d],
        })
    }

    /// A legacy checkpoint's `P` (symmetric with a positive diagonal, positive definite) as
    /// its lower Cholesky factor in `s`.
    fn legacy_p_to_s(&mut self) -> LearnResult<()> {
        let d = self.config.n_features;
        check_shape("P", &[d * d], &[self.p.len()])?;
        check_finite("P", &self.p)?;
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
        let p =
            ndarray::ArrayView2::from_shape((d, d), &self.p[..]).map_err(|_| CoreError::ShapeMismatch {
                field: "P",
                expected: vec![d, d],
                found: vec![self.p.len()],
            })?;
        let l = prudentia_core::linalg::cholesky(p)?;
        self.s = l.iter().copied().collect();
        self.p = Vec::new();
        Ok(())
    }

    fn check(&mut self) -> LearnResult<()> {
        self.config.validate()?;
        let d = self.config.n_features;
        check_shape("coefficients", &[d], &[self.coefficients.len()])?;
        check_finite("coefficients", &self.coefficients)?;
        match (self.p.is_empty(), self.s.is_empty()) {
            (false, false) => {
                return Err(CoreError::OutOfRange {
                    field: "P and S",
                    value: self.p.len() as f64,
                    expected: "one of P (legacy) or S",
                }
                .into())
            }
            (false, true) => self.legacy_p_to_s()?,
            _ => {}
        }
        check_shape("S", &[d * d], &[self.s.len()])?;
        check_finite("S", &self.s)?;
        let mut trace = 0.0;
        for i in 0..d {
            let row = &self.s[i * d..(i + 1) * d];
            let v: f64 = row.iter().map(|a| a * a).sum();
            if v.is_nan() || v <= 0.0 {
                return Err(CoreError::OutOfRange {
                    field: "P diagonal (squared row norms of S)",
                    value: v,
                    expected: "> 0",
                }
                .into());
            }
            trace += v;
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
        self.scratch = vec![0.0; 2 * d];
        self.s_next = vec![0.0; d * d];
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
    /// coefficients' covariance. Formed from its square root (`S Sᵀ`, O(d³), exactly
    /// symmetric).
    pub fn gain_matrix(&self) -> ndarray::Array2<f64> {
        let d = self.config.n_features;
        let mut p = ndarray::Array2::zeros((d, d));
        for i in 0..d {
            for j in 0..=i {
                let v = crate::dense::dot(&self.s[i * d..(i + 1) * d], &self.s[j * d..(j + 1) * d]);
                p[[i, j]] = v;
                p[[j, i]] = v;
            }
        }
        p
    }

    /// `xᵀPx = ‖Sᵀx‖²` into `phi` (`Sᵀx`, length d).
    fn project(&self, x: &[f64], phi: &mut [f64]) -> f64 {
        let d = self.config.n_features;
        phi.fill(0.0);
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                for (f, &sij) in phi.iter_mut().zip(&self.s[i * d..(i + 1) * d]) {
                    *f += xi * sij;
                }
            }
        }
        crate::dense::dot(phi, phi)
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
        if self.scratch.len() != 2 * d || self.s_next.len() != d * d {
            self.scratch = vec![0.0; 2 * d];
            self.s_next = vec![0.0; d * d];
        }
        // forgetting: λ, or less forgetting when the trace cap binds (trace P = ‖S‖²)
        let trace_p = crate::dense::dot(&self.s, &self.s);
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
        // φ = Sᵀx, xᵀPx = φᵀφ (never negative), π = Sφ = Px, prior error
        let mut scratch = std::mem::take(&mut self.scratch);
        let (phi, pi) = scratch.split_at_mut(d);
        let xpx = self.project(x, phi);
        for i in 0..d {
            pi[i] = crate::dense::dot(&self.s[i * d..(i + 1) * d], phi);
        }
        let pred = crate::dense::dot(&self.coefficients, x);
        let e = y - pred;
        let denom = lam + xpx;
        if !(e.is_finite() && xpx.is_finite() && denom.is_finite() && denom > 0.0) {
            self.scratch = scratch;
            return Err(numerical(
                "xᵀPx or the prior error is not finite: rescale the inputs",
            ));
        }
        let inv_denom = 1.0 / denom;
        let j_new = lam * self.weighted_sse + lam * e * e * inv_denom;
        if !j_new.is_finite() {
            self.scratch = scratch;
            return Err(numerical("the residual sum of squares would overflow"));
        }
        // the new S into the spare buffer, checked as it is written:
        // S ← (S − γ k φᵀ) / √λ with k = π / α, γ = 1 / (1 + √(λ/α))
        let gamma = 1.0 / (1.0 + (lam * inv_denom).sqrt());
        let inv_sqrt_lam = 1.0 / lam.sqrt();
        let mut finite = true;
        let mut zero_row = false;
        for i in 0..d {
            let ki = pi[i] * inv_denom;
            let bi = self.coefficients[i] + ki * e;
            finite &= ki.is_finite() && bi.is_finite();
            let gk = gamma * ki;
            let src = &self.s[i * d..(i + 1) * d];
            let dst = &mut self.s_next[i * d..(i + 1) * d];
            let mut bad = false;
            let mut norm = 0.0;
            for ((o, &sij), &pj) in dst.iter_mut().zip(src).zip(phi.iter()) {
                let v = (sij - gk * pj) * inv_sqrt_lam;
                bad |= !v.is_finite();
                norm += v * v;
                *o = v;
            }
            finite &= !bad;
            zero_row |= norm.is_nan() || norm <= 0.0;
        }
        if !finite {
            self.scratch = scratch;
            return Err(numerical("the update would overflow"));
        }
        if zero_row {
            self.scratch = scratch;
            return Err(numerical("P would lose positive definiteness"));
        }
        // commit
        std::mem::swap(&mut self.s, &mut self.s_next);
        for i in 0..d {
            self.coefficients[i] += pi[i] * inv_denom * e;
        }
        self.scratch = scratch;
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
        for i in 0..d {
            mean += x[i] * self.coefficients[i];
        }
        // xᵀPx = ‖Sᵀx‖² without a buffer: one column of S at a time
        let mut xpx = 0.0;
        for j in 0..d {
            let mut c = 0.0;
            for i in 0..d {
                c += self.s[i * d + j] * x[i];
            }
            xpx += c * c;
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
