//! Single-asset Kelly fractions and their composition with caps and the drawdown governor.
//!
//! # Formulas
//! - Gaussian returns (Thorp 2006, §7): maximizing `E[log(1 + f r)] ≈ f μ − f² σ² / 2`
//!   gives `f* = μ / σ²`, with `μ` the expected excess return and `σ` its standard
//!   deviation over the same period.
//! - Binary bet (Kelly 1956): win `b` per unit staked with probability `p`, lose the stake
//!   otherwise: `f* = p − (1 − p) / b`. A negative value means the bet has negative edge
//!   (do not bet).
//! - Fractional Kelly: `c f*` with `c ∈ (0, 1]`; half Kelly (`c = ½`) keeps ¾ of the growth
//!   rate with half the volatility (Thorp 2006, §7; MacLean, Thorp & Ziemba 2010).
//! - Volatility cap: `|f| ≤ σ_target / σ`, with the annual target scaled to the forecast's
//!   horizon by `√(h / 252)`.
//!
//! # Uncertainty in μ ([`MeanShrinkage`])
//! When the forecast carries a standard error `s` of its mean `m`:
//! - `PositivePart`: `μ̃ = m · max(0, 1 − s² / m²)`. Derivation: sizing `f = k m / σ²` from
//!   an unbiased estimate `m ~ N(μ, s²)` has expected growth
//!   `(k μ² − k² (μ² + s²) / 2) / σ²`, maximal at `k = μ² / (μ² + s²)`; replacing the unknown
//!   `μ²` by its unbiased estimate `m² − s²` (clipped at 0) gives the rule. It is the
//!   one-asset case of the estimation-risk scaling of Kan & Zhou (2007, JFQA 42, "Optimal
//!   portfolio choice with parameter uncertainty") and the positive-part James–Stein factor;
//!   Baker & McHale (2013, Decision Analysis 10) derive the same shrink-the-Kelly-bet effect
//!   for binary bets.
//! - `Bayesian { prior_mean, prior_sd }`: a conjugate Normal prior `μ ~ N(μ₀, τ²)` gives the
//!   posterior `N(μ_post, s_post²)` with `1 / s_post² = 1/τ² + 1/s²`,
//!   `μ_post = s_post² (μ₀/τ² + m/s²)`; the predictive return is `N(μ_post, σ² + s_post²)`, so
//!   `f* = μ_post / (σ² + s_post²)`.
//!
//! # Composition order ([`Kelly::fraction`])
//! 1. shrink the mean for estimation uncertainty;
//! 2. full Kelly `f* = μ̃ / σ²` (or the Bayesian predictive form);
//! 3. fractional Kelly `c f*`;
//! 4. volatility cap `|f| ≤ σ_target / σ`;
//! 5. leverage cap `|f| ≤ max_fraction`;
//! 6. drawdown governor: multiply by `g(d) ∈ [0, 1]`;
//! 7. optional drawdown-budget cap `|f| ≤ (d₁ − d) / ((1 − d) k σ)`.
//!
//! Caps act on the magnitude and keep the sign. The governor comes after the caps so that
//! its cut is always visible (a cap that binds would otherwise absorb it), and the budget
//! cap last because it bounds the final exposure.

use serde::{Deserialize, Serialize};

use prudentia_core::validate::{check_positive, check_probability, check_range};
use prudentia_core::{CoreError, Forecast, Horizon};

use crate::error::{check_mean, check_sigma, finite, KellyResult};
use crate::governor::DrawdownGovernor;

/// Kelly fraction for Gaussian returns, `f* = μ / σ²`.
///
/// `mean` is the expected excess return and `sigma` its standard deviation over one period.
///
/// # Errors
/// [`KellyError::NonFiniteMean`](crate::KellyError::NonFiniteMean) for a non-finite mean,
/// [`KellyError::NonPositiveSigma`](crate::KellyError::NonPositiveSigma) for `σ ≤ 0` or
/// non-finite, [`KellyError::Overflow`](crate::KellyError::Overflow) when `μ / σ²` is not
/// representable (e.g. `gaussian_kelly(0.001, 1e-300)`).
pub fn gaussian_kelly(mean: f64, sigma: f64) -> KellyResult<f64> {
    check_mean("mean", mean)?;
    check_sigma("sigma", sigma)?;
    finite("mean / sigma²", kelly_ratio(mean, sigma * sigma, sigma))
}

/// `mean / variance`, where `variance` is `σ²` (possibly plus a posterior variance):
/// `0` for a zero mean, and `(mean / σ) / σ` when `σ²` underflows (so a representable ratio
/// is not lost to an underflowed or subnormal denominator). The caller checks the result is finite.
fn kelly_ratio(mean: f64, variance: f64, sigma: f64) -> f64 {
    if mean == 0.0 {
        return 0.0;
    }
    if variance >= f64::MIN_POSITIVE || variance != sigma * sigma {
        mean / variance
    } else {
        // σ² is subnormal or 0: divide twice instead
        (mean / sigma) / sigma
    }
}

/// Kelly fraction for a binary bet, `f* = p − (1 − p) / b`: win `b` per unit staked with
/// probability `p`, lose the stake with probability `1 − p`.
///
/// A negative result means negative edge. Errors: `p` outside `[0, 1]` or `b` not finite
/// and > 0 ([`CoreError::OutOfRange`]); odds so small that `(1 − p) / b` overflows
/// ([`KellyError::Overflow`](crate::KellyError::Overflow), e.g. `b = 5e-324`).
pub fn binary_kelly(p: f64, b: f64) -> KellyResult<f64> {
    check_probability("p", p)?;
    check_positive("b", b)?;
    finite("p − (1 − p) / b", p - (1.0 - p) / b)
}

/// How to shrink the forecast mean for uncertainty in it (see the module docs). Validated
/// on deserialization (a Bayesian prior needs a finite mean and a finite `prior_sd > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MeanShrinkage {
    /// Use the mean as given.
    None,
    /// `μ̃ = m · max(0, 1 − s² / m²)` (growth-optimal plug-in scaling).
    #[default]
    PositivePart,
    /// Conjugate Normal prior on the mean; sizes on the predictive distribution.
    Bayesian {
        /// Prior mean `μ₀` (return units per forecast period).
        prior_mean: f64,
        /// Prior standard deviation `τ` (> 0).
        prior_sd: f64,
    },
}

impl MeanShrinkage {
    /// Shrinks `(mean, sigma)` given the standard error of the mean; returns the mean and
    /// the variance to size with. With no standard error the inputs pass through.
    ///
    /// Computed in ratio form (`(s/m)²`, and the posterior as the precision-weighted average
    /// `a·m + (1 − a)·μ₀` with `a = 1 / (1 + (s/τ)²)`), so extreme but finite inputs do not
    /// overflow in intermediate squares.
    pub fn apply(&self, mean: f64, sigma: f64, std_error: Option<f64>) -> (f64, f64) {
        let var = sigma * sigma;
        let Some(s) = std_error.filter(|s| *s > 0.0) else {
            return (mean, var);
        };
        match *self {
            MeanShrinkage::None => (mean, var),
            MeanShrinkage::PositivePart => {
                if mean == 0.0 {
                    (0.0, var)
                } else {
                    let ratio = s / mean;
                    (mean * (1.0 - ratio * ratio).max(0.0), var)
                }
            }
            MeanShrinkage::Bayesian { prior_mean, prior_sd } => {
                // data weight a = τ² / (τ² + s²), prior weight b = s² / (τ² + s²)
                let rd = s / prior_sd;
                let rp = prior_sd / s;
                let a = 1.0 / (1.0 + rd * rd);
                let b = 1.0 / (1.0 + rp * rp);
                let post_mean = a * mean + b * prior_mean;
                // posterior variance τ²s² / (τ² + s²) = s²·a = τ²·b; take the smaller square
                let post_var = if s <= prior_sd {
                    s * s * a
                } else {
                    prior_sd * prior_sd * b
                };
                (post_mean, var + post_var)
            }
        }
    }

    fn validate(&self) -> Result<(), CoreError> {
        if let MeanShrinkage::Bayesian { prior_mean, prior_sd } = *self {
            prudentia_core::validate::check_finite("prior_mean", &[prior_mean])?;
            check_positive("prior_sd", prior_sd)?;
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(MeanShrinkage, MeanShrinkage::check);

/// Settings of the single-asset composition [`Kelly`] (validated on deserialization).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct KellyConfig {
    /// Kelly multiplier `c` (1 = full Kelly). Default 0.5; range `(0, 1]`.
    pub fraction: f64,
    /// Annualized volatility target for the cap `|f| ≤ σ_target / σ`, as a fraction
    /// (0.2 = 20 %/year); `None` = no cap. Default `Some(0.20)`; range `(0, 10]`.
    pub target_vol_annual: Option<f64>,
    /// Largest absolute fraction of equity in one asset (leverage cap). Default 2; range
    /// `(0, 100]`.
    pub max_fraction: f64,
    /// Shrinkage of the mean for estimation uncertainty. Default `PositivePart`.
    pub shrinkage: MeanShrinkage,
    /// `k` of the drawdown-budget cap `|f| ≤ (d₁ − d) / ((1 − d) k σ)`; `None` = off. Only
    /// applies when a governor is passed. Default `None`; range `(0, 100]`.
    pub stress_sigmas: Option<f64>,
    /// Whether negative fractions (shorts) are allowed; if not they become 0. Default true.
    pub allow_short: bool,
}

impl Default for KellyConfig {
    fn default() -> Self {
        Self {
            fraction: 0.5,
            target_vol_annual: Some(0.20),
            max_fraction: 2.0,
            shrinkage: MeanShrinkage::PositivePart,
            stress_sigmas: None,
            allow_short: true,
        }
    }
}

impl KellyConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(self.fraction.is_finite() && self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(CoreError::OutOfRange {
                field: "fraction",
                value: self.fraction,
                expected: "in (0, 1]",
            });
        }
        if let Some(v) = self.target_vol_annual {
            check_positive("target_vol_annual", v)?;
            check_range("target_vol_annual", v, 0.0, 10.0, "in (0, 10]")?;
        }
        check_positive("max_fraction", self.max_fraction)?;
        check_range("max_fraction", self.max_fraction, 0.0, 100.0, "in (0, 100]")?;
        if let Some(k) = self.stress_sigmas {
            check_positive("stress_sigmas", k)?;
            check_range("stress_sigmas", k, 0.0, 100.0, "in (0, 100]")?;
        }
        self.shrinkage.validate()
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(KellyConfig, KellyConfig::check);

/// What one asset's return looks like to the sizer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KellyInput {
    /// Expected excess return over the horizon.
    pub mean: f64,
    /// Standard deviation of the return over the horizon (> 0).
    pub sigma: f64,
    /// Standard error of `mean`, when the forecaster reports one.
    pub mean_std_error: Option<f64>,
    /// Horizon in trading days (scales the annual volatility target).
    pub horizon_days: f64,
}

impl KellyInput {
    /// A one-day input without a standard error.
    pub fn daily(mean: f64, sigma: f64) -> Self {
        Self {
            mean,
            sigma,
            mean_std_error: None,
            horizon_days: Horizon::DAY.days(),
        }
    }

    /// From a core forecast. The standard error of the mean is taken, in this order, from the
    /// forecast's causal effect (`std_error` of the signal's estimated effect) or, failing
    /// that, from its calibration summary as `σ / √samples` (the standard error of a mean of
    /// `samples` outcomes); otherwise `None`.
    pub fn from_forecast(f: &Forecast) -> Self {
        let se = f
            .causal_effect
            .map(|c| c.std_error)
            .filter(|s| s.is_finite() && *s > 0.0)
            .or_else(|| {
                f.calibration
                    .as_ref()
                    .filter(|c| c.samples > 0)
                    .map(|c| f.sigma / (c.samples as f64).sqrt())
            });
        Self {
            mean: f.mean,
            sigma: f.sigma,
            mean_std_error: se,
            horizon_days: f.horizon.days(),
        }
    }

    fn validate(&self) -> KellyResult<()> {
        check_mean("mean", self.mean)?;
        check_sigma("sigma", self.sigma)?;
        if let Some(se) = self.mean_std_error {
            prudentia_core::validate::check_non_negative("mean_std_error", se)?;
        }
        check_positive("horizon_days", self.horizon_days)?;
        Ok(())
    }
}

/// A limit of the single-asset composition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SizingLimit {
    /// Shrinkage for estimation uncertainty moved the mean.
    Shrinkage,
    /// Fractional Kelly.
    Fraction,
    /// The volatility cap.
    VolatilityCap,
    /// The leverage cap `max_fraction`.
    LeverageCap,
    /// The drawdown governor's multiplier was < 1.
    Governor,
    /// The drawdown-budget cap.
    DrawdownBudget,
    /// Shorts are not allowed.
    NoShort,
}

/// The fraction after each stage of the composition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KellyStages {
    /// Mean after shrinkage.
    pub shrunk_mean: f64,
    /// Variance used (σ², plus posterior variance under Bayesian shrinkage).
    pub variance: f64,
    /// Full Kelly `μ̃ / variance`.
    pub full_kelly: f64,
    /// After fractional Kelly.
    pub fractional: f64,
    /// After the volatility cap.
    pub vol_capped: f64,
    /// After the leverage cap.
    pub leverage_capped: f64,
    /// Governor multiplier applied (1 without a governor).
    pub governor_multiplier: f64,
    /// After the governor.
    pub governed: f64,
    /// After the drawdown-budget cap (the final fraction).
    pub budget_capped: f64,
}

/// A sized fraction with the path that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct SizedFraction {
    /// Final signed fraction of equity.
    pub fraction: f64,
    /// The value after each stage.
    pub stages: KellyStages,
    /// The stages that changed the fraction, in order.
    pub binding: Vec<SizingLimit>,
}

/// The single-asset Kelly composition (a validated [`KellyConfig`], also on
/// deserialization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Kelly {
    config: KellyConfig,
}

impl Kelly {
    /// Validates the settings.
    pub fn new(config: KellyConfig) -> KellyResult<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &KellyConfig {
        &self.config
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.config.validate()
    }

    /// Sizes one asset by the composition in the module docs. `governor` supplies the
    /// drawdown multiplier (and the budget cap when `stress_sigmas` is set).
    ///
    /// Errors: invalid input (a non-finite mean, a `σ` or horizon that is not finite and
    /// positive, a negative standard error), or
    /// [`KellyError::Overflow`](crate::KellyError::Overflow) when a stage is not
    /// representable (e.g. `σ²` overflows for `σ = 1e200`, or `μ / σ²` for `σ = 1e-300`).
    pub fn fraction(
        &self,
        input: &KellyInput,
        governor: Option<&DrawdownGovernor>,
    ) -> KellyResult<SizedFraction> {
        input.validate()?;
        let c = &self.config;
        let mut binding = Vec::new();
        let (shrunk_mean, variance) = c.shrinkage.apply(input.mean, input.sigma, input.mean_std_error);
        if shrunk_mean != input.mean || variance != input.sigma * input.sigma {
            binding.push(SizingLimit::Shrinkage);
        }
        let shrunk_mean = finite("shrunk mean", shrunk_mean)?;
        let variance = finite("variance", variance)?;
        let full_kelly = finite(
            "full Kelly fraction",
            kelly_ratio(shrunk_mean, variance, input.sigma),
        )?;
        let fractional = c.fraction * full_kelly;
        if c.fraction < 1.0 && full_kelly != 0.0 {
            binding.push(SizingLimit::Fraction);
        }
        let mut f = fractional;
        if !c.allow_short && f < 0.0 {
            f = 0.0;
            binding.push(SizingLimit::NoShort);
        }
        if let Some(tv) = c.target_vol_annual {
            let period_target = tv * (input.horizon_days / Horizon::TRADING_DAYS_PER_YEAR).sqrt();
            let cap = period_target / input.sigma;
            if f.abs() > cap {
                f = cap.copysign(f);
                binding.push(SizingLimit::VolatilityCap);
            }
        }
        let vol_capped = f;
        if f.abs() > c.max_fraction {
            f = c.max_fraction.copysign(f);
            binding.push(SizingLimit::LeverageCap);
        }
        let leverage_capped = f;
        let multiplier = governor.map_or(1.0, DrawdownGovernor::multiplier);
        f *= multiplier;
        if multiplier < 1.0 && leverage_capped != 0.0 {
            binding.push(SizingLimit::Governor);
        }
        let governed = f;
        if let (Some(k), Some(g)) = (c.stress_sigmas, governor) {
            if let Some(cap) = g.budget_cap(k, input.sigma)?.filter(|cap| f.abs() > *cap) {
                f = cap.copysign(f);
                binding.push(SizingLimit::DrawdownBudget);
            }
        }
        // -0.0 → 0.0 for clean output
        let f = if f == 0.0 { 0.0 } else { f };
        Ok(SizedFraction {
            fraction: f,
            stages: KellyStages {
                shrunk_mean,
                variance,
                full_kelly,
                fractional,
                vol_capped,
                leverage_capped,
                governor_multiplier: multiplier,
                governed,
                budget_capped: f,
            },
            binding,
        })
    }
}

prudentia_core::checked_serde!(Kelly, Kelly::check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        assert!((gaussian_kelly(0.05, 0.2).unwrap() - 1.25).abs() < 1e-12);
        // Thorp (2006) §2: p = 0.6 at even odds → f* = 2p − 1 = 0.2
        assert!((binary_kelly(0.6, 1.0).unwrap() - 0.2).abs() < 1e-12);
        assert!((binary_kelly(0.5, 2.0).unwrap() - 0.25).abs() < 1e-12);
        assert!(binary_kelly(0.4, 1.0).unwrap() < 0.0);
    }

    #[test]
    fn positive_part_shrinkage() {
        let s = MeanShrinkage::PositivePart;
        let (m, v) = s.apply(0.02, 0.1, Some(0.01));
        assert!((m - 0.02 * 0.75).abs() < 1e-15);
        assert_eq!(v, 0.1 * 0.1);
        assert_eq!(s.apply(0.01, 0.1, Some(0.02)).0, 0.0);
        assert_eq!(s.apply(0.01, 0.1, None).0, 0.01);
    }

    #[test]
    fn bayesian_shrinkage() {
        // Equal prior and data precision: posterior mean halfway, posterior var s²/2.
        let s = MeanShrinkage::Bayesian {
            prior_mean: 0.0,
            prior_sd: 0.01,
        };
        let (m, v) = s.apply(0.02, 0.1, Some(0.01));
        assert!((m - 0.01).abs() < 1e-15);
        assert!((v - (0.01 + 0.00005)).abs() < 1e-15);
    }
}
