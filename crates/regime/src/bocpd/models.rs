//! The conjugate observation models and their predictive densities.

use prudentia_core::validate::{check_finite, check_positive};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

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

    pub(super) fn check(&mut self) -> Result<(), CoreError> {
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

    pub(super) fn check(&mut self) -> Result<(), CoreError> {
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

    pub(super) fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// Checks one run's sufficient statistics `s` (this model's stride) against the prior:
    /// finite, the scales positive and never below (κ, α, β) or above (τ²) the prior's.
    pub(super) fn check_stats(&self, s: &[f64]) -> Result<(), CoreError> {
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

    pub(super) fn stride(&self) -> usize {
        match self {
            ObservationModel::NormalGamma(_) => 5,
            ObservationModel::NormalKnownVariance(_) => 2,
        }
    }

    /// Writes the prior's sufficient statistics.
    pub(super) fn write_prior(&self, out: &mut Vec<f64>) {
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
pub(super) fn predict_and_update_normal_gamma(s: &mut [f64], x: f64) -> f64 {
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
pub(super) fn predict_and_update(model: &ObservationModel, s: &mut [f64], x: f64) -> f64 {
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
