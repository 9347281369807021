//! Probabilistic and deflated Sharpe ratios (Bailey & López de Prado 2012, 2014).
//!
//! With the per-period Sharpe ratio `ŜR` estimated from `T` returns with skewness `γ₃` and
//! (non-excess) kurtosis `γ₄`, the probabilistic Sharpe ratio against a benchmark `SR*` is
//! (Bailey & López de Prado 2012, "The Sharpe ratio efficient frontier", J. Risk 15)
//!
//! `PSR(SR*) = Φ( (ŜR − SR*) √(T − 1) / √(1 − γ₃ ŜR + (γ₄ − 1)/4 · ŜR²) )`.
//!
//! The deflated Sharpe ratio (Bailey & López de Prado 2014, "The deflated Sharpe ratio",
//! J. Portfolio Management 40) is `PSR(SR₀)` with `SR₀` the expected maximum of `N`
//! independent trial Sharpe ratios of variance `V`:
//!
//! `SR₀ = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))`, `γ` the Euler–Mascheroni
//! constant.
//!
//! Everything is per period: divide an annualized Sharpe ratio by `√k` and an annualized
//! variance by `k` ([`PerPeriodSharpe::from_annual`], [`DsrTrials::from_annualized_variance`]).
//! The paper's worked example (N = 100, V = 1/2 annualized, T = 1250, γ₃ = −3, γ₄ = 10,
//! annualized ŜR = 2.5, 250 days a year) gives SR₀ = 0.1132 and DSR = 0.9004; see
//! `tests/published_examples.rs`.

use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, MetricsResult};
use crate::normal;
use crate::returns::Returns;
use crate::stats::Moments;
use crate::types::{Annualization, PerPeriodRate, PerPeriodSharpe, Stat, Undefined};

/// Euler–Mascheroni constant γ.
pub const EULER_MASCHERONI: f64 = 0.577_215_664_901_532_9;

/// The sample facts the PSR needs: per-period Sharpe ratio, number of returns, skewness
/// and non-excess kurtosis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SharpeMoments {
    /// Per-period Sharpe ratio `mean(r − rf) / s(r − rf)` (`s` with `n − 1`).
    pub sharpe: PerPeriodSharpe,
    /// Number of returns `T` (≥ 2).
    pub n: usize,
    /// Skewness γ₃ of the returns (population).
    pub skewness: f64,
    /// Kurtosis γ₄, not excess (3 for normal returns; population).
    pub kurtosis: f64,
}

impl SharpeMoments {
    /// From published or externally estimated values: `n ≥ 2`, finite skewness, finite
    /// kurtosis > 0.
    pub fn new(sharpe: PerPeriodSharpe, n: usize, skewness: f64, kurtosis: f64) -> MetricsResult<Self> {
        prudentia_core::validate::check_len("returns", n, 2)?;
        prudentia_core::validate::check_finite("skewness", &[skewness])?;
        prudentia_core::validate::check_positive("kurtosis", kurtosis)?;
        Ok(Self {
            sharpe,
            n,
            skewness,
            kurtosis,
        })
    }

    /// Estimated from returns in excess of `risk_free`. `Err` carries why the Sharpe ratio
    /// is undefined (fewer than two returns, constant returns).
    pub fn from_returns(returns: &Returns, risk_free: PerPeriodRate) -> Result<Self, Undefined> {
        Self::from_moments(&Moments::of(returns.values(), risk_free.get()))
    }

    pub(crate) fn from_moments(m: &Moments) -> Result<Self, Undefined> {
        if m.n < 2 {
            return Err(Undefined::TooFewObservations { n: m.n, min: 2 });
        }
        if m.constant || m.std == 0.0 {
            return Err(Undefined::ZeroDispersion);
        }
        let sr = m.mean / m.std;
        if !(sr.is_finite() && m.skewness.is_finite() && m.kurtosis.is_finite() && m.kurtosis > 0.0) {
            return Err(Undefined::Overflow);
        }
        Ok(Self {
            sharpe: PerPeriodSharpe(sr),
            n: m.n,
            skewness: m.skewness,
            kurtosis: m.kurtosis,
        })
    }

    /// Standard error of the per-period Sharpe ratio,
    /// `√((1 − γ₃ŜR + (γ₄ − 1)/4 ŜR²) / (T − 1))`. Undefined if the bracket is ≤ 0.
    pub fn standard_error(&self) -> Stat {
        let sr = self.sharpe.get();
        let v = 1.0 - self.skewness * sr + (self.kurtosis - 1.0) / 4.0 * sr * sr;
        if v.is_nan() || v <= 0.0 {
            return Stat::Undefined(Undefined::InvalidMoments);
        }
        Stat::from_value((v / (self.n - 1) as f64).sqrt())
    }
}

/// `PSR(SR*)`: the probability that the true Sharpe ratio exceeds `benchmark`.
pub fn probabilistic_sharpe_ratio(moments: &SharpeMoments, benchmark: PerPeriodSharpe) -> Stat {
    match moments.standard_error() {
        Stat::Value(se) => Stat::from_value(normal::cdf((moments.sharpe.get() - benchmark.get()) / se)),
        u => u,
    }
}

/// Minimum track record length (Bailey & López de Prado 2012): the number of returns for
/// which `PSR(SR*)` reaches `confidence`,
/// `MinTRL = 1 + (1 − γ₃ŜR + (γ₄ − 1)/4 · ŜR²) · (Φ⁻¹(confidence) / (ŜR − SR*))²`.
/// `confidence` must lie in (0, 1); undefined when `ŜR ≤ SR*`.
pub fn minimum_track_record_length(
    moments: &SharpeMoments,
    benchmark: PerPeriodSharpe,
    confidence: f64,
) -> MetricsResult<Stat> {
    prudentia_core::validate::check_open_unit("confidence", confidence)?;
    let sr = moments.sharpe.get();
    let edge = sr - benchmark.get();
    if edge <= 0.0 {
        return Ok(Stat::Undefined(Undefined::NotAboveBenchmark));
    }
    let v = 1.0 - moments.skewness * sr + (moments.kurtosis - 1.0) / 4.0 * sr * sr;
    if v.is_nan() || v <= 0.0 {
        return Ok(Stat::Undefined(Undefined::InvalidMoments));
    }
    let z = normal::quantile(confidence);
    Ok(Stat::from_value(1.0 + v * (z / edge).powi(2)))
}

/// The multiple-testing context of a deflated Sharpe ratio: how many strategy variants
/// were tried and the variance of their (per-period) Sharpe ratios.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DsrTrials {
    n_trials: usize,
    sharpe_variance: f64,
}

impl DsrTrials {
    /// `n_trials ≥ 1` independent trials whose per-period Sharpe ratios have variance
    /// `sharpe_variance` (finite, ≥ 0).
    pub fn new(n_trials: usize, sharpe_variance: f64) -> MetricsResult<Self> {
        prudentia_core::validate::check_len("n_trials", n_trials, 1)?;
        prudentia_core::validate::check_non_negative("sharpe_variance", sharpe_variance)?;
        Ok(Self {
            n_trials,
            sharpe_variance,
        })
    }
    /// With the variance of annualized trial Sharpe ratios (divided by `k` here).
    pub fn from_annualized_variance(
        n_trials: usize,
        annualized_variance: f64,
        annualization: Annualization,
    ) -> MetricsResult<Self> {
        Self::new(n_trials, annualized_variance / annualization.periods_per_year())
    }
    /// From the per-period Sharpe ratios of all trials (sample variance, `n − 1`; at least
    /// two trials, all finite).
    pub fn from_trial_sharpes(sharpes: &[f64]) -> MetricsResult<Self> {
        prudentia_core::validate::check_len("trial sharpes", sharpes.len(), 2)?;
        prudentia_core::validate::check_finite("trial sharpes", sharpes)?;
        let n = sharpes.len() as f64;
        let mean = sharpes.iter().sum::<f64>() / n;
        let var = sharpes.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (n - 1.0);
        Self::new(sharpes.len(), var)
    }
    /// Number of trials `N`.
    pub fn n_trials(&self) -> usize {
        self.n_trials
    }
    /// Per-period variance `V` of the trial Sharpe ratios.
    pub fn sharpe_variance(&self) -> f64 {
        self.sharpe_variance
    }
}

/// `SR₀`, the expected maximum per-period Sharpe ratio of `N` unskilled trials. With one
/// trial there is no selection and `SR₀ = 0`.
pub fn expected_max_sharpe(trials: &DsrTrials) -> MetricsResult<PerPeriodSharpe> {
    if trials.n_trials == 1 {
        return Ok(PerPeriodSharpe(0.0));
    }
    let n = trials.n_trials as f64;
    let z = (1.0 - EULER_MASCHERONI) * normal::quantile(1.0 - 1.0 / n)
        + EULER_MASCHERONI * normal::quantile(1.0 - 1.0 / (n * std::f64::consts::E));
    PerPeriodSharpe::new(trials.sharpe_variance.sqrt() * z).map_err(|_| {
        MetricsError::Core(CoreError::Numerical {
            operation: "expected_max_sharpe",
            detail: "non-finite expected maximum",
        })
    })
}

/// `DSR = PSR(SR₀)`: the probability that the best of `N` trials has a true Sharpe ratio
/// above what selection alone would produce.
pub fn deflated_sharpe_ratio(moments: &SharpeMoments, trials: &DsrTrials) -> Stat {
    match expected_max_sharpe(trials) {
        Ok(sr0) => probabilistic_sharpe_ratio(moments, sr0),
        Err(_) => Stat::Undefined(Undefined::Overflow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psr_at_own_sharpe_is_half() {
        let m = SharpeMoments::new(PerPeriodSharpe(0.1), 100, 0.0, 3.0).unwrap();
        assert_eq!(
            probabilistic_sharpe_ratio(&m, PerPeriodSharpe(0.1)),
            Stat::Value(0.5)
        );
    }

    #[test]
    fn min_track_record_length_inverts_psr() {
        let sr = PerPeriodSharpe(0.08);
        let m = SharpeMoments::new(sr, 100, -1.0, 6.0).unwrap();
        let t = minimum_track_record_length(&m, PerPeriodSharpe(0.0), 0.95)
            .unwrap()
            .value()
            .unwrap();
        // At n = MinTRL (continuous), PSR = 0.95 exactly; check with the PSR formula.
        let se = ((1.0 + 0.08 - 0.0 + 5.0 / 4.0 * 0.0064) / (t - 1.0)).sqrt();
        assert!((normal::cdf(0.08 / se) - 0.95).abs() < 1e-12);
        let up = SharpeMoments::new(sr, t.ceil() as usize, -1.0, 6.0).unwrap();
        assert!(
            probabilistic_sharpe_ratio(&up, PerPeriodSharpe(0.0))
                .value()
                .unwrap()
                >= 0.95
        );
        assert_eq!(
            minimum_track_record_length(&m, PerPeriodSharpe(0.1), 0.95).unwrap(),
            Stat::Undefined(Undefined::NotAboveBenchmark)
        );
        assert!(minimum_track_record_length(&m, PerPeriodSharpe(0.0), 1.0).is_err());
    }

    #[test]
    fn validation_and_undefined() {
        assert!(SharpeMoments::new(PerPeriodSharpe(0.1), 1, 0.0, 3.0).is_err());
        assert!(SharpeMoments::new(PerPeriodSharpe(0.1), 10, f64::NAN, 3.0).is_err());
        assert!(DsrTrials::new(0, 1.0).is_err());
        assert!(DsrTrials::new(3, -1.0).is_err());
        assert!(DsrTrials::from_trial_sharpes(&[0.1]).is_err());
        // Bracket 1 − γ₃ŜR + … ≤ 0: undefined, not NaN.
        let m = SharpeMoments::new(PerPeriodSharpe(1.0), 10, 5.0, 1.0).unwrap();
        assert_eq!(
            probabilistic_sharpe_ratio(&m, PerPeriodSharpe(0.0)),
            Stat::Undefined(Undefined::InvalidMoments)
        );
        let zeros = Returns::new(vec![0.0; 5]).unwrap();
        assert_eq!(
            SharpeMoments::from_returns(&zeros, PerPeriodRate::ZERO),
            Err(Undefined::ZeroDispersion)
        );
        assert_eq!(
            expected_max_sharpe(&DsrTrials::new(1, 1.0).unwrap())
                .unwrap()
                .get(),
            0.0
        );
    }
}
