//! Bayesian online change-point detection (Adams & MacKay 2007, arXiv:0710.3742).
//!
//! The detector keeps the posterior over the *run length* `r_t`, the number of
//! observations since the last change point, and updates it with one observation at a
//! time (Adams & MacKay, Algorithm 1):
//!
//! ```text
//! growth:  p(r_t = r + 1, x_{1:t}) = p(r_{t-1} = r, x_{1:t-1}) · π_r(x_t) · (1 − H(r))
//! change:  p(r_t = 0,     x_{1:t}) = Σ_r p(r_{t-1} = r, x_{1:t-1}) · π_r(x_t) · H(r)
//! posterior: p(r_t | x_{1:t}) = p(r_t, x_{1:t}) / Σ_r p(r_t = r, x_{1:t})
//! ```
//!
//! where `π_r(x_t) = p(x_t | the last r observations)` is the conjugate posterior
//! predictive and `H(r)` the hazard: the probability that a run holding `r` observations
//! ends after the next one. A run length of `r` means the last `r` observations form the
//! current segment (`r_t = 0` right after a change: the next observation starts a new
//! segment, so `P(r_t = 0 | x_{1:t}) = H` for a constant hazard and carries no signal).
//!
//! Everything is computed in log space. Run lengths whose posterior probability falls
//! below [`Truncation::min_probability`] are dropped and at most
//! [`Truncation::max_run_lengths`] are kept, so memory and time per update stay bounded;
//! with truncation off the posterior is exact (tested against brute-force enumeration of
//! all segmentations). Buffers are reused: in steady state an update does not allocate.
//!
//! Observation models (per feature; a multivariate input is modelled as independent
//! features, the predictive being the product of the features' predictives):
//! - [`NormalGammaPrior`]: unknown mean and variance, Student-t predictive
//!   `x ~ t_{2α}(μ, β(κ+1)/(ακ))` (Murphy 2007, "Conjugate Bayesian analysis of the
//!   Gaussian distribution", eq. 110);
//! - [`NormalKnownVariancePrior`]: unknown mean, known variance σ², Normal predictive
//!   `x ~ N(μ, τ² + σ²)`.

use prudentia_core::validate::{
    check_finite, check_len, check_positive, check_shape, check_size, MAX_DIM, MAX_WINDOW,
};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use crate::error::RegimeResult;

const LN_PI: f64 = 1.144_729_885_849_400_2;
const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// The largest magnitude of a prior mean, and the range `[1/PRIOR_MAX, PRIOR_MAX]` of the
/// prior scales (κ, β, τ², σ²) the observation models accept: beyond it the predictive
/// density under- or overflows before any data arrives.
pub const PRIOR_MAX: f64 = 1e100;

/// The largest Gamma shape α of a [`NormalGammaPrior`] (2α degrees of freedom): beyond it
/// `lnΓ(α+½) − lnΓ(α)` loses all precision, and the Student-t is a Normal anyway.
pub const MAX_SHAPE: f64 = 1e8;

/// Fails unless `v` is finite and in `[lo, hi]`.
fn check_prior(
    field: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
    expected: &'static str,
) -> Result<(), CoreError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: v,
            expected,
        })
    }
}

/// Normal–Gamma prior on the mean `m` and precision `λ` of a Normal observation:
/// `λ ~ Gamma(α, rate β)`, `m | λ ~ N(μ, 1/(κλ))`.
///
/// After observing `x`: `μ' = (κμ + x)/(κ+1)`, `κ' = κ+1`, `α' = α+½`,
/// `β' = β + κ(x−μ)²/(2(κ+1))`. Predictive: Student-t with `2α` degrees of freedom,
/// location `μ`, squared scale `β(κ+1)/(ακ)`. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct NormalGammaPrior {
    /// Prior mean of the observations. Default 0; `|mu| ≤ 1e100` ([`PRIOR_MAX`]).
    pub mu: f64,
    /// Pseudo-observations behind `mu`. Default 1; in `[1e-100, 1e100]`.
    pub kappa: f64,
    /// Gamma shape of the precision. Default 1; in `[1e-100, 1e8]` ([`MAX_SHAPE`]).
    pub alpha: f64,
    /// Gamma rate of the precision (units of x²). Default 1; in `[1e-100, 1e100]`.
    pub beta: f64,
}
prudentia_core::checked_serde!(NormalGammaPrior, NormalGammaPrior::check);

impl Default for NormalGammaPrior {
    fn default() -> Self {
        Self {
            mu: 0.0,
            kappa: 1.0,
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

impl NormalGammaPrior {
    /// A weak prior centred on mean 0 whose expected precision is `1/sigma²`
    /// (`κ = 1`, `α = 1`, `β = sigma²`): a convenient default for data of scale `sigma`.
    pub fn from_scale(sigma: f64) -> Result<Self, CoreError> {
        check_positive("sigma", sigma)?;
        Ok(Self {
            mu: 0.0,
            kappa: 1.0,
            alpha: 1.0,
            beta: sigma * sigma,
        })
    }

    /// Checks every field (finite, positive, within the documented ranges).
    pub fn validate(&self) -> Result<(), CoreError> {
        check_finite("normal_gamma.mu", &[self.mu])?;
        check_positive("normal_gamma.kappa", self.kappa)?;
        check_positive("normal_gamma.alpha", self.alpha)?;
        check_positive("normal_gamma.beta", self.beta)?;
        let (lo, hi) = (1.0 / PRIOR_MAX, PRIOR_MAX);
        check_prior("normal_gamma.mu", self.mu, -hi, hi, "|mu| <= 1e100")?;
        check_prior("normal_gamma.kappa", self.kappa, lo, hi, "in [1e-100, 1e100]")?;
        check_prior(
            "normal_gamma.alpha",
            self.alpha,
            lo,
            MAX_SHAPE,
            "in [1e-100, 1e8]",
        )?;
        check_prior("normal_gamma.beta", self.beta, lo, hi, "in [1e-100, 1e100]")
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

/// Normal prior on the unknown mean `m` of Normal observations with known variance:
/// `x ~ N(m, σ²)`, `m ~ N(μ, τ²)`.
///
/// After observing `x`: `τ'² = 1/(1/τ² + 1/σ²)`, `μ' = τ'²(μ/τ² + x/σ²)`.
/// Predictive: `N(μ, τ² + σ²)`. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct NormalKnownVariancePrior {
    /// Prior mean of `m`. Default 0; `|mu| ≤ 1e100` ([`PRIOR_MAX`]).
    pub mu: f64,
    /// Prior variance `τ²` of `m`. Default 1; in `[1e-100, 1e100]`.
    pub mean_variance: f64,
    /// Known observation variance `σ²`. Default 1; in `[1e-100, 1e100]`.
    pub noise_variance: f64,
}
prudentia_core::checked_serde!(NormalKnownVariancePrior, NormalKnownVariancePrior::check);

impl Default for NormalKnownVariancePrior {
    fn default() -> Self {
        Self {
            mu: 0.0,
            mean_variance: 1.0,
            noise_variance: 1.0,
        }
    }
}

impl NormalKnownVariancePrior {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_finite("normal_known_variance.mu", &[self.mu])?;
        check_positive("normal_known_variance.mean_variance", self.mean_variance)?;
        check_positive("normal_known_variance.noise_variance", self.noise_variance)?;
        let (lo, hi) = (1.0 / PRIOR_MAX, PRIOR_MAX);
        check_prior("normal_known_variance.mu", self.mu, -hi, hi, "|mu| <= 1e100")?;
        let expected = "in [1e-100, 1e100]";
        check_prior(
            "normal_known_variance.mean_variance",
            self.mean_variance,
            lo,
            hi,
            expected,
        )?;
        check_prior(
            "normal_known_variance.noise_variance",
            self.noise_variance,
            lo,
            hi,
            expected,
        )
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

/// The conjugate observation model of one feature. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum ObservationModel {
    /// Unknown mean and variance (Student-t predictive).
    NormalGamma(NormalGammaPrior),
    /// Unknown mean, known variance (Normal predictive).
    NormalKnownVariance(NormalKnownVariancePrior),
}

impl Default for ObservationModel {
    fn default() -> Self {
        ObservationModel::NormalGamma(NormalGammaPrior::default())
    }
}

prudentia_core::checked_serde!(ObservationModel, ObservationModel::check);

impl ObservationModel {
    /// Checks the prior.
    pub fn validate(&self) -> Result<(), CoreError> {
        match self {
            ObservationModel::NormalGamma(p) => p.validate(),
            ObservationModel::NormalKnownVariance(p) => p.validate(),
        }
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// Checks one run's sufficient statistics `s` (this model's stride) against the prior:
    /// finite, the scales positive and never below (κ, α, β) or above (τ²) the prior's.
    fn check_stats(&self, s: &[f64]) -> Result<(), CoreError> {
        let bad = |value: f64, expected: &'static str| CoreError::OutOfRange {
            field: "bocpd.stats",
            value,
            expected,
        };
        check_finite("bocpd.stats", s)?;
        let tol = 1.0 - 1e-12;
        match self {
            ObservationModel::NormalGamma(p) => {
                let (kappa, alpha, beta, lgd) = (s[1], s[2], s[3], s[4]);
                let within = kappa >= p.kappa * tol;
                if !within {
                    return Err(bad(kappa, "kappa >= the prior's"));
                }
                if !(alpha >= p.alpha * tol && alpha <= f64::MAX / 4.0) {
                    return Err(bad(alpha, "alpha >= the prior's"));
                }
                let within = beta >= p.beta * tol;
                if !within {
                    return Err(bad(beta, "beta >= the prior's"));
                }
                let want = ln_gamma(alpha + 0.5) - ln_gamma(alpha);
                let within = (lgd - want).abs() <= 1e-6 * (1.0 + ln_gamma(alpha).abs());
                if !within {
                    return Err(bad(lgd, "lnΓ(α+½) − lnΓ(α)"));
                }
            }
            ObservationModel::NormalKnownVariance(p) => {
                let tau2 = s[1];
                if !(tau2 > 0.0 && tau2 <= p.mean_variance / tol) {
                    return Err(bad(tau2, "0 < tau² <= the prior's"));
                }
            }
        }
        Ok(())
    }

    fn stride(&self) -> usize {
        match self {
            ObservationModel::NormalGamma(_) => 5,
            ObservationModel::NormalKnownVariance(_) => 2,
        }
    }

    /// Writes the prior's sufficient statistics.
    fn write_prior(&self, out: &mut Vec<f64>) {
        match self {
            ObservationModel::NormalGamma(p) => {
                let lgd = ln_gamma(p.alpha + 0.5) - ln_gamma(p.alpha);
                out.extend_from_slice(&[p.mu, p.kappa, p.alpha, p.beta, lgd]);
            }
            ObservationModel::NormalKnownVariance(p) => {
                out.extend_from_slice(&[p.mu, p.mean_variance]);
            }
        }
    }
}

/// Normal–Gamma log predictive (Student-t) of `x`, then the posterior update, on the
/// statistics `[μ, κ, α, β, lnΓ(α+½) − lnΓ(α)]`.
#[inline(always)]
fn predict_and_update_normal_gamma(s: &mut [f64], x: f64) -> f64 {
    let (mu, kappa, alpha, beta, lgd) = (s[0], s[1], s[2], s[3], s[4]);
    let d = x - mu;
    let k1 = kappa + 1.0;
    // ν s² with ν = 2α and s² = β(κ+1)/(ακ)
    let q = 2.0 * beta * k1 / kappa;
    let z = d * d / q;
    let z = if z.is_finite() {
        z.ln_1p()
    } else {
        // d² overflowed: ln(1 + d²/q) = 2 ln|d| − ln q to within rounding
        2.0 * d.abs().ln() - q.ln()
    };
    let lp = lgd - 0.5 * (LN_PI + q.ln()) - (alpha + 0.5) * z;
    s[0] = mu + d / k1;
    s[1] = k1;
    s[2] = alpha + 0.5;
    s[3] = beta + kappa * d * d / (2.0 * k1);
    // lnΓ(α+1) − lnΓ(α+½) = ln α − (lnΓ(α+½) − lnΓ(α))
    s[4] = alpha.ln() - lgd;
    lp
}

/// Log predictive density of `x` under the sufficient statistics `s`, then `s` updated
/// with `x`. Layout: Normal–Gamma `[μ, κ, α, β, lnΓ(α+½) − lnΓ(α)]`; known variance `[μ, τ²]`.
#[inline(always)]
fn predict_and_update(model: &ObservationModel, s: &mut [f64], x: f64) -> f64 {
    match model {
        ObservationModel::NormalGamma(_) => predict_and_update_normal_gamma(s, x),
        ObservationModel::NormalKnownVariance(p) => {
            let (mu, tau2) = (s[0], s[1]);
            let sigma2 = p.noise_variance;
            let v = tau2 + sigma2;
            let d = x - mu;
            let lp = -0.5 * (LN_2PI + v.ln() + d * d / v);
            let post = tau2 * sigma2 / v;
            s[0] = mu + tau2 / v * d;
            s[1] = post;
            lp
        }
    }
}

/// The hazard `H(r)`: probability that a run holding `r` observations ends after the next one.
/// Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum Hazard {
    /// Memoryless: `H(r) = 1/λ` for all `r`, i.e. geometric run lengths with mean λ.
    Constant {
        /// Expected run length λ in observations; > 1. Default 250 (about one change a
        /// trading year on daily data).
        expected_run_length: f64,
    },
    /// User-defined: `H(r) = probabilities[min(r, len − 1)]`, the last value repeating.
    Table {
        /// Hazard per run length, each in the open interval (0, 1); at least one value and
        /// at most `MAX_WINDOW` (2²⁴).
        probabilities: Vec<f64>,
    },
}
prudentia_core::checked_serde!(Hazard, Hazard::check);

impl Default for Hazard {
    fn default() -> Self {
        Hazard::Constant {
            expected_run_length: 250.0,
        }
    }
}

impl Hazard {
    /// Checks the hazard.
    pub fn validate(&self) -> Result<(), CoreError> {
        match self {
            Hazard::Constant { expected_run_length } => {
                if expected_run_length.is_finite() && *expected_run_length > 1.0 {
                    Ok(())
                } else {
                    Err(CoreError::OutOfRange {
                        field: "hazard.expected_run_length",
                        value: *expected_run_length,
                        expected: "finite and > 1 observations",
                    })
                }
            }
            Hazard::Table { probabilities } => {
                check_len("hazard.probabilities", probabilities.len(), 1)?;
                check_size("hazard.probabilities", probabilities.len(), MAX_WINDOW)?;
                for &p in probabilities {
                    if !(p.is_finite() && p > 0.0 && p < 1.0) {
                        return Err(CoreError::OutOfRange {
                            field: "hazard.probabilities",
                            value: p,
                            expected: "in the open interval (0, 1)",
                        });
                    }
                }
                Ok(())
            }
        }
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// `H(r)` (NaN for an empty table, which `validate` rejects).
    pub fn at(&self, run_length: usize) -> f64 {
        match self {
            Hazard::Constant { expected_run_length } => 1.0 / expected_run_length,
            Hazard::Table { probabilities } => probabilities
                .get(run_length.min(probabilities.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN),
        }
    }

    /// `(ln H(r), ln(1 − H(r)))` for each tabulated run length.
    fn log_table(&self) -> Vec<(f64, f64)> {
        match self {
            Hazard::Constant { .. } => {
                let h = self.at(0);
                vec![(h.ln(), (-h).ln_1p())]
            }
            Hazard::Table { probabilities } => {
                probabilities.iter().map(|&h| (h.ln(), (-h).ln_1p())).collect()
            }
        }
    }
}

/// How the run-length posterior is kept bounded. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Truncation {
    /// Run lengths whose posterior probability is below this are dropped after each
    /// update. Default 1e-8; in [0, 1), 0 keeps everything.
    pub min_probability: f64,
    /// At most this many run lengths are kept (the least probable are dropped first).
    /// Default 1000; in `2..=MAX_WINDOW` (2²⁴).
    pub max_run_lengths: usize,
}
prudentia_core::checked_serde!(Truncation, Truncation::check);

impl Default for Truncation {
    fn default() -> Self {
        Self {
            min_probability: 1e-8,
            max_run_lengths: 1000,
        }
    }
}

impl Truncation {
    /// No truncation: the exact posterior for series of up to `MAX_WINDOW` (2²⁴ ≈ 16.8 M)
    /// observations (memory grows linearly with the series up to that cap).
    pub fn none() -> Self {
        Self {
            min_probability: 0.0,
            max_run_lengths: MAX_WINDOW,
        }
    }

    /// Checks both fields (`max_run_lengths` beyond `MAX_WINDOW` is [`CoreError::TooLarge`]).
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(self.min_probability.is_finite() && (0.0..1.0).contains(&self.min_probability)) {
            return Err(CoreError::OutOfRange {
                field: "truncation.min_probability",
                value: self.min_probability,
                expected: "in [0, 1)",
            });
        }
        if self.max_run_lengths < 2 {
            return Err(CoreError::OutOfRange {
                field: "truncation.max_run_lengths",
                value: self.max_run_lengths as f64,
                expected: ">= 2",
            });
        }
        check_size("truncation.max_run_lengths", self.max_run_lengths, MAX_WINDOW)
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

/// How a change is signalled.
///
/// The change probability at step t is `p_t = P(r_t ≤ window | x_{1:t})`, the posterior
/// probability that the current segment began within the last `window` observations.
/// A change is signalled at t when `p_t ≥ threshold`, the MAP run length is at most
/// `window`, and the MAP segment start `t + 1 − r*_t` lies at least `min_separation`
/// observations after the start signalled last (so one change is signalled once, and the
/// first observations of the series, where every run is short, signal nothing).
///
/// Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Detection {
    /// Window in observations; in `1..=MAX_WINDOW` (2²⁴). Default 20.
    pub window: usize,
    /// Signal threshold on `p_t`; in (0, 1). Default 0.6.
    pub threshold: f64,
    /// Minimum distance between two signalled segment starts, in observations; at most
    /// `MAX_WINDOW`. Default 5.
    pub min_separation: usize,
}
prudentia_core::checked_serde!(Detection, Detection::check);

impl Detection {
    /// Checks every field (sizes beyond `MAX_WINDOW` are [`CoreError::TooLarge`]).
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.window == 0 {
            return Err(CoreError::OutOfRange {
                field: "detection.window",
                value: 0.0,
                expected: ">= 1 observation",
            });
        }
        check_size("detection.window", self.window, MAX_WINDOW)?;
        check_size("detection.min_separation", self.min_separation, MAX_WINDOW)?;
        let th = self.threshold;
        if !(th.is_finite() && th > 0.0 && th < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "detection.threshold",
                value: th,
                expected: "in the open interval (0, 1)",
            });
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

impl Default for Detection {
    fn default() -> Self {
        Self {
            window: 20,
            threshold: 0.6,
            min_separation: 5,
        }
    }
}

/// Configuration of [`Bocpd`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct BocpdConfig {
    /// One observation model per feature (independent features). Default: one feature,
    /// Normal–Gamma with the default prior. At least one, at most `MAX_DIM` (65,536).
    pub features: Vec<ObservationModel>,
    /// Hazard. Default constant with expected run length 250.
    pub hazard: Hazard,
    /// Truncation of negligible run lengths. Default [`Truncation::default`].
    pub truncation: Truncation,
    /// Change signalling. Default [`Detection::default`].
    pub detection: Detection,
}

impl Default for BocpdConfig {
    fn default() -> Self {
        Self {
            features: vec![ObservationModel::default()],
            hazard: Hazard::default(),
            truncation: Truncation::default(),
            detection: Detection::default(),
        }
    }
}

impl BocpdConfig {
    /// A univariate configuration with the given model and the other defaults.
    pub fn univariate(model: ObservationModel) -> Self {
        Self {
            features: vec![model],
            ..Self::default()
        }
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("features", self.features.len(), 1)?;
        check_size("features", self.features.len(), MAX_DIM)?;
        for f in &self.features {
            f.validate()?;
        }
        self.hazard.validate()?;
        self.truncation.validate()?;
        self.detection.validate()
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}
prudentia_core::checked_serde!(BocpdConfig, BocpdConfig::check);

/// What one update found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct BocpdStep {
    /// Index of this observation (0 for the first).
    pub index: u64,
    /// Most probable run length after this observation.
    pub map_run_length: usize,
    /// `P(r_t ≤ window | x_{1:t})`: probability that a change happened within the
    /// detection window.
    pub change_probability: f64,
    /// Whether a change is signalled at this observation (see [`Detection`]).
    pub changed: bool,
    /// Estimated index of the first observation of the current segment,
    /// `index + 1 − map_run_length` (saturating at 0).
    pub segment_start: u64,
    /// `ln p(x_t | x_{1:t−1})`, the one-step log predictive density (log evidence).
    pub log_evidence: f64,
    /// Number of run lengths kept after truncation.
    pub support: usize,
}

/// Bayesian online change-point detector (see the [module docs](self)).
///
/// Serializes its state (configuration, run lengths, log posterior, sufficient statistics,
/// counters); deserialization re-validates the configuration and checks that the stored
/// posterior is consistent with it (sizes, finite values, a normalized posterior, strictly
/// decreasing run lengths no longer than the series, statistics the prior can have led to),
/// so a corrupted checkpoint is an error, not a panic or a NaN later.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Bocpd {
    config: BocpdConfig,
    #[serde(skip)]
    stride: usize,
    #[serde(skip)]
    prior_stats: Vec<f64>,
    #[serde(skip)]
    hazard_logs: Vec<(f64, f64)>,
    run_lengths: Vec<usize>,
    log_probs: Vec<f64>,
    stats: Vec<f64>,
    #[serde(skip)]
    scratch: Vec<f64>,
    /// Copy of `stats` taken before an update, restored if the update fails.
    #[serde(skip)]
    backup: Vec<f64>,
    t: u64,
    last_signal_start: u64,
}
prudentia_core::checked_serde!(Bocpd, Bocpd::check_state);

/// Equality of the model state (scratch buffers excluded).
impl PartialEq for Bocpd {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.stride == other.stride
            && self.prior_stats == other.prior_stats
            && self.hazard_logs == other.hazard_logs
            && self.run_lengths == other.run_lengths
            && self.log_probs == other.log_probs
            && self.stats == other.stats
            && self.t == other.t
            && self.last_signal_start == other.last_signal_start
    }
}

impl Bocpd {
    /// A detector at the start of a series (run length 0 with probability 1).
    pub fn new(config: BocpdConfig) -> RegimeResult<Self> {
        config.validate()?;
        let mut s = Self {
            config,
            stride: 0,
            prior_stats: Vec::new(),
            hazard_logs: Vec::new(),
            run_lengths: Vec::new(),
            log_probs: Vec::new(),
            stats: Vec::new(),
            scratch: Vec::new(),
            backup: Vec::new(),
            t: 0,
            last_signal_start: 0,
        };
        s.derive();
        s.reserve();
        s.reset();
        Ok(s)
    }

    /// Rebuilds what follows from the configuration (stride, prior statistics, hazard logs).
    fn derive(&mut self) {
        self.stride = self.config.features.iter().map(ObservationModel::stride).sum();
        self.prior_stats.clear();
        for f in &self.config.features {
            f.write_prior(&mut self.prior_stats);
        }
        self.hazard_logs = self.config.hazard.log_table();
    }

    /// Reserves the buffers for the steady state (no allocation per update).
    fn reserve(&mut self) {
        let cap = self.config.truncation.max_run_lengths.clamp(2, 4096) + 1;
        let (stride, n) = (self.stride, self.run_lengths.len());
        self.run_lengths.reserve(cap.saturating_sub(n));
        self.log_probs.reserve(cap.saturating_sub(n));
        self.stats.reserve((cap * stride).saturating_sub(n * stride));
        self.scratch = Vec::with_capacity(cap.max(n + 1));
        self.backup = Vec::with_capacity((cap * stride).max((n + 1) * stride));
    }

    /// The checks of a loaded checkpoint (see the type's docs); rebuilds the derived
    /// fields and scratch buffers.
    fn check_state(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        self.derive();
        let n = self.run_lengths.len();
        check_len("bocpd.run_lengths", n, 1)?;
        let max = self.config.truncation.max_run_lengths;
        if n > max {
            return Err(CoreError::ShapeMismatch {
                field: "bocpd.run_lengths",
                expected: vec![max],
                found: vec![n],
            });
        }
        check_shape("bocpd.log_probs", &[n], &[self.log_probs.len()])?;
        check_shape("bocpd.stats", &[n * self.stride], &[self.stats.len()])?;
        check_finite("bocpd.log_probs", &self.log_probs)?;
        let total = log_sum_exp(&self.log_probs);
        let within = total.abs() <= 1e-6;
        if !within {
            return Err(CoreError::OutOfRange {
                field: "bocpd.log_probs",
                value: total,
                expected: "a posterior summing to 1 (log-sum-exp 0)",
            });
        }
        if self.run_lengths.windows(2).any(|w| w[0] <= w[1]) {
            return Err(CoreError::OutOfRange {
                field: "bocpd.run_lengths",
                value: f64::NAN,
                expected: "strictly decreasing run lengths",
            });
        }
        let longest = self.run_lengths[0] as u64;
        if longest > self.t || self.last_signal_start > self.t {
            return Err(CoreError::OutOfRange {
                field: "bocpd.t",
                value: self.t as f64,
                expected: "at least the longest run length and the last signalled start",
            });
        }
        for block in self.stats.chunks_exact(self.stride) {
            let mut off = 0;
            for m in &self.config.features {
                let w = m.stride();
                m.check_stats(&block[off..off + w])?;
                off += w;
            }
        }
        self.reserve();
        Ok(())
    }

    /// Forgets all observations.
    pub fn reset(&mut self) {
        self.run_lengths.clear();
        self.log_probs.clear();
        self.stats.clear();
        self.run_lengths.push(0);
        self.log_probs.push(0.0);
        self.stats.extend_from_slice(&self.prior_stats);
        self.t = 0;
        self.last_signal_start = 0;
    }

    /// The configuration.
    pub fn config(&self) -> &BocpdConfig {
        &self.config
    }

    /// Number of features per observation.
    pub fn n_features(&self) -> usize {
        self.config.features.len()
    }

    /// Number of observations seen.
    pub fn observations(&self) -> u64 {
        self.t
    }

    /// Updates with a univariate observation. Errors if the detector has more than one
    /// feature or `x` is not finite.
    pub fn update_scalar(&mut self, x: f64) -> RegimeResult<BocpdStep> {
        self.update(&[x])
    }

    /// Updates with one observation (one value per feature).
    ///
    /// Errors: [`CoreError::ShapeMismatch`] if `x.len()` differs from the number of
    /// features, [`CoreError::NonFinite`] for NaN or infinite values,
    /// [`CoreError::Numerical`] for a finite value so extreme that no kept run can absorb it
    /// (its squared distance from every run's mean overflows, e.g. `1e300`); the state is
    /// left unchanged in all three cases, so the detector keeps working after a bad value.
    /// A run whose statistics would overflow while others can absorb the value is dropped
    /// from the posterior (the value is then, correctly, strong evidence of a change).
    pub fn update(&mut self, x: &[f64]) -> RegimeResult<BocpdStep> {
        check_shape("observation", &[self.config.features.len()], &[x.len()])?;
        check_finite("observation", x)?;
        let n = self.run_lengths.len();
        if self.scratch.len() < n {
            self.scratch.resize(n, 0.0);
        }
        self.backup.clear();
        self.backup.extend_from_slice(&self.stats);
        let stride = self.stride;
        // base_i = ln p(r_{t−1} = r_i | x_{1:t−1}) + ln π_{r_i}(x_t); −∞ for a run whose
        // statistics overflow (it cannot hold this value)
        if let [ObservationModel::NormalGamma(_)] = self.config.features[..] {
            let x0 = x[0];
            for (base, (lp, block)) in self.scratch[..n]
                .iter_mut()
                .zip(self.log_probs.iter().zip(self.stats.chunks_exact_mut(5)))
            {
                let v = lp + predict_and_update_normal_gamma(block, x0);
                *base = if v.is_nan() || !(block[0].is_finite() && block[3].is_finite()) {
                    f64::NEG_INFINITY
                } else {
                    v
                };
            }
        } else {
            for i in 0..n {
                let block = &mut self.stats[i * stride..(i + 1) * stride];
                let mut lp = 0.0;
                let mut off = 0;
                for (f, model) in self.config.features.iter().enumerate() {
                    let w = model.stride();
                    lp += predict_and_update(model, &mut block[off..off + w], x[f]);
                    off += w;
                }
                let v = self.log_probs[i] + lp;
                self.scratch[i] = if v.is_nan() || block.iter().any(|s| !s.is_finite()) {
                    f64::NEG_INFINITY
                } else {
                    v
                };
            }
        }
        // Σ_i [growth_i + change_i] = Σ_i exp(base_i): the evidence p(x_t | x_{1:t−1})
        let log_z = log_sum_exp(&self.scratch[..n]);
        if !log_z.is_finite() {
            std::mem::swap(&mut self.stats, &mut self.backup);
            return Err(CoreError::Numerical {
                operation: "bocpd update",
                detail: "the observation is too extreme for every run (its log density under- or \
                         overflows); the detector is unchanged",
            }
            .into());
        }
        let last_h = self.hazard_logs.len() - 1;
        let log_cp = if self.hazard_logs.len() == 1 {
            // constant hazard: the change mass is H times the evidence
            self.hazard_logs[0].0
        } else {
            let m = self.scratch[..n]
                .iter()
                .zip(&self.run_lengths)
                .map(|(b, &r)| b + self.hazard_logs[r.min(last_h)].0)
                .fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = self.scratch[..n]
                .iter()
                .zip(&self.run_lengths)
                .map(|(b, &r)| (b + self.hazard_logs[r.min(last_h)].0 - m).exp())
                .sum();
            m + s.ln() - log_z
        };
        for ((lp, r), base) in self
            .log_probs
            .iter_mut()
            .zip(self.run_lengths.iter_mut())
            .zip(&self.scratch[..n])
        {
            *lp = base + self.hazard_logs[(*r).min(last_h)].1 - log_z;
            *r = r.saturating_add(1);
        }
        self.run_lengths.push(0);
        self.log_probs.push(log_cp);
        self.stats.extend_from_slice(&self.prior_stats);
        self.truncate();
        self.t = self.t.saturating_add(1);
        Ok(self.summarize(log_z))
    }

    fn truncate(&mut self) {
        let tr = self.config.truncation;
        // runs that could not hold the last observation (−∞) always go
        let floor = if tr.min_probability > 0.0 {
            tr.min_probability.ln()
        } else {
            f64::MIN
        };
        let mut dropped = self.retain_at_least(floor, usize::MAX);
        if self.run_lengths.len() > tr.max_run_lengths {
            let n = self.run_lengths.len();
            if self.scratch.len() < n {
                self.scratch.resize(n, 0.0);
            }
            let s = &mut self.scratch[..n];
            s.copy_from_slice(&self.log_probs);
            let k = n - tr.max_run_lengths;
            // the k-th smallest is the largest value dropped; keep values above it.
            let (_, kth, _) = s.select_nth_unstable_by(k - 1, f64::total_cmp);
            let cut = *kth;
            dropped |= self.retain_above(cut, tr.max_run_lengths);
        }
        if dropped {
            let log_z = log_sum_exp(&self.log_probs);
            for lp in &mut self.log_probs {
                *lp -= log_z;
            }
        }
    }

    /// Keeps entries with log probability ≥ `floor` (at most `max` of them, first come).
    fn retain_at_least(&mut self, floor: f64, max: usize) -> bool {
        self.compact(|lp| lp >= floor, max)
    }

    /// Keeps entries with log probability > `cut` (at most `max`).
    fn retain_above(&mut self, cut: f64, max: usize) -> bool {
        self.compact(|lp| lp > cut, max)
    }

    fn compact(&mut self, keep: impl Fn(f64) -> bool, max: usize) -> bool {
        let n = self.run_lengths.len();
        let stride = self.stride;
        let mut w = 0;
        for i in 0..n {
            if w < max && keep(self.log_probs[i]) {
                if w != i {
                    self.run_lengths[w] = self.run_lengths[i];
                    self.log_probs[w] = self.log_probs[i];
                    self.stats.copy_within(i * stride..(i + 1) * stride, w * stride);
                }
                w += 1;
            }
        }
        if w == 0 {
            // never empty the posterior: keep the most probable entry
            let best = argmax(&self.log_probs);
            self.run_lengths[0] = self.run_lengths[best];
            self.log_probs[0] = self.log_probs[best];
            self.stats.copy_within(best * stride..(best + 1) * stride, 0);
            w = 1;
        }
        self.run_lengths.truncate(w);
        self.log_probs.truncate(w);
        self.stats.truncate(w * stride);
        w < n
    }

    fn summarize(&mut self, log_evidence: f64) -> BocpdStep {
        let best = argmax(&self.log_probs);
        let map = self.run_lengths[best];
        let window = self.config.detection.window;
        let mut p = 0.0;
        for (r, lp) in self.run_lengths.iter().zip(&self.log_probs) {
            if *r <= window {
                p += lp.exp();
            }
        }
        let p = p.min(1.0);
        let det = self.config.detection;
        let index = self.t.saturating_sub(1);
        let start = (index + 1).saturating_sub(map as u64);
        let changed = p >= det.threshold
            && map <= window
            && start >= self.last_signal_start.saturating_add(det.min_separation as u64);
        if changed {
            self.last_signal_start = start;
        }
        BocpdStep {
            index,
            map_run_length: map,
            change_probability: p,
            changed,
            segment_start: start,
            log_evidence,
            support: self.run_lengths.len(),
        }
    }

    /// The most probable run length now.
    pub fn map_run_length(&self) -> usize {
        self.run_lengths[argmax(&self.log_probs)]
    }

    /// The kept run lengths and their posterior probabilities (in storage order: longest
    /// run first).
    pub fn run_length_posterior(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.run_lengths
            .iter()
            .zip(&self.log_probs)
            .map(|(&r, &lp)| (r, lp.exp()))
    }

    /// The posterior as a dense vector indexed by run length (0 for dropped run lengths).
    pub fn dense_posterior(&self) -> Vec<f64> {
        let max = self.run_lengths.iter().copied().max().unwrap_or(0);
        let mut out = vec![0.0; max + 1];
        for (r, p) in self.run_length_posterior() {
            out[r] += p;
        }
        out
    }

    /// Posterior mean of each feature under the MAP run length (the current segment's
    /// mean estimate).
    pub fn segment_means(&self) -> Vec<f64> {
        let best = argmax(&self.log_probs);
        let block = &self.stats[best * self.stride..(best + 1) * self.stride];
        let mut out = Vec::with_capacity(self.config.features.len());
        let mut off = 0;
        for m in &self.config.features {
            out.push(block[off]);
            off += m.stride();
        }
        out
    }

    /// Capacity of the internal buffers `(run lengths, stats, scratch)`; constant in
    /// steady state, which is how the tests check that updates do not allocate.
    pub fn buffer_capacities(&self) -> (usize, usize, usize) {
        (
            self.run_lengths.capacity(),
            self.stats.capacity(),
            self.scratch.capacity(),
        )
    }
}

/// `ln Σ exp(v_i)`, stable; −∞ for an empty slice.
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    let s: f64 = v.iter().map(|&x| (x - m).exp()).sum();
    m + s.ln()
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posterior_sums_to_one_and_grows() {
        let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
        for i in 0..50 {
            let s = d.update_scalar((i as f64 * 0.7).sin()).unwrap();
            assert_eq!(s.index, i);
        }
        let total: f64 = d.run_length_posterior().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn student_t_predictive_matches_statrs() {
        use statrs::distribution::{Continuous, StudentsT};
        let p = NormalGammaPrior {
            mu: 0.3,
            kappa: 2.0,
            alpha: 3.0,
            beta: 1.5,
        };
        let model = ObservationModel::NormalGamma(p);
        let mut s = Vec::new();
        model.write_prior(&mut s);
        let x = -0.8;
        let lp = predict_and_update(&model, &mut s, x);
        let scale = (p.beta * (p.kappa + 1.0) / (p.alpha * p.kappa)).sqrt();
        let t = StudentsT::new(p.mu, scale, 2.0 * p.alpha).unwrap();
        assert!((lp - t.ln_pdf(x)).abs() < 1e-12);
        // the recursion for lnΓ(α+½) − lnΓ(α) stays exact
        assert!((s[4] - (ln_gamma(3.5 + 0.5) - ln_gamma(3.5))).abs() < 1e-12);
    }

    #[test]
    fn validate_rejects_bad_fields() {
        let mut c = BocpdConfig {
            hazard: Hazard::Constant {
                expected_run_length: 1.0,
            },
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(CoreError::OutOfRange {
                field: "hazard.expected_run_length",
                ..
            })
        ));
        c.hazard = Hazard::Table {
            probabilities: vec![0.1, 1.0],
        };
        assert!(c.validate().is_err());
        c.hazard = Hazard::Table {
            probabilities: vec![],
        };
        assert!(c.validate().is_err());
        let mut c = BocpdConfig::univariate(ObservationModel::NormalGamma(NormalGammaPrior {
            beta: 0.0,
            ..Default::default()
        }));
        assert!(matches!(
            c.validate(),
            Err(CoreError::OutOfRange {
                field: "normal_gamma.beta",
                ..
            })
        ));
        c.features = vec![];
        assert!(c.validate().is_err());
        let c = BocpdConfig::univariate(ObservationModel::NormalKnownVariance(NormalKnownVariancePrior {
            noise_variance: f64::NAN,
            ..Default::default()
        }));
        assert!(Bocpd::new(c).is_err());
        let mut c = BocpdConfig::default();
        c.truncation.min_probability = 1.0;
        assert!(c.validate().is_err());
        let mut c = BocpdConfig::default();
        c.detection.threshold = 0.0;
        assert!(c.validate().is_err());
    }
}
