//! Typed inputs and outputs of the return statistics: annualization, per-period rates,
//! tail levels, and [`Stat`], a statistic that is either a finite value or undefined with
//! a reason.

use std::fmt;

use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::MetricsError;

/// A validated number of return periods per year (finite, > 0).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct PeriodsPerYear(f64);

impl PeriodsPerYear {
    /// `periods` must be finite and > 0.
    pub fn new(periods: f64) -> Result<Self, MetricsError> {
        if periods.is_finite() && periods > 0.0 {
            Ok(Self(periods))
        } else {
            Err(CoreError::OutOfRange {
                field: "periods_per_year",
                value: periods,
                expected: "finite and > 0",
            }
            .into())
        }
    }
    /// The number of periods.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for PeriodsPerYear {
    type Error = MetricsError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<PeriodsPerYear> for f64 {
    fn from(p: PeriodsPerYear) -> f64 {
        p.0
    }
}

/// How many return periods make a year: the factor that annualizes means (× k), volatilities
/// (× √k) and compounds growth (CAGR).
///
/// The defaults follow empyrical: daily 252, weekly 52, monthly 12.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub enum Annualization {
    /// Daily returns, 252 trading days a year.
    #[default]
    Daily252,
    /// Weekly returns, 52 a year.
    Weekly52,
    /// Monthly returns, 12 a year.
    Monthly12,
    /// Any other frequency (e.g. 250 trading days, or 365 for crypto).
    Custom(PeriodsPerYear),
}

impl Annualization {
    /// A custom frequency; `periods` must be finite and > 0.
    pub fn custom(periods: f64) -> Result<Self, MetricsError> {
        PeriodsPerYear::new(periods).map(Self::Custom)
    }
    /// Periods per year as a number.
    pub fn periods_per_year(self) -> f64 {
        match self {
            Annualization::Daily252 => 252.0,
            Annualization::Weekly52 => 52.0,
            Annualization::Monthly12 => 12.0,
            Annualization::Custom(p) => p.get(),
        }
    }
}

/// A simple rate of return per period (the risk-free rate, a required return, a threshold),
/// validated finite and > −1.
///
/// Statistics take rates in the units of the returns they are compared with: a daily rate
/// for daily returns. [`PerPeriodRate::from_annual`] converts an annual rate geometrically,
/// `(1 + r_annual)^(1/k) − 1`, the conversion empyrical's `omega_ratio` applies to its
/// `required_return`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, Default)]
#[serde(try_from = "f64", into = "f64")]
pub struct PerPeriodRate(f64);

impl PerPeriodRate {
    /// A zero rate.
    pub const ZERO: PerPeriodRate = PerPeriodRate(0.0);

    /// A per-period rate; finite and > −1.
    pub fn new(rate: f64) -> Result<Self, MetricsError> {
        if rate.is_finite() && rate > -1.0 {
            Ok(Self(rate))
        } else {
            Err(CoreError::OutOfRange {
                field: "per-period rate",
                value: rate,
                expected: "finite and > -1",
            }
            .into())
        }
    }
    /// The per-period rate equivalent to an annual rate under compounding:
    /// `(1 + annual)^(1/k) − 1` with `k` periods per year.
    pub fn from_annual(annual: f64, annualization: Annualization) -> Result<Self, MetricsError> {
        if !(annual.is_finite() && annual > -1.0) {
            return Err(CoreError::OutOfRange {
                field: "annual rate",
                value: annual,
                expected: "finite and > -1",
            }
            .into());
        }
        Self::new((1.0 + annual).powf(1.0 / annualization.periods_per_year()) - 1.0)
    }
    /// The rate.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for PerPeriodRate {
    type Error = MetricsError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<PerPeriodRate> for f64 {
    fn from(p: PerPeriodRate) -> f64 {
        p.0
    }
}

/// A Sharpe ratio per period (not annualized), the unit of the probabilistic and deflated
/// Sharpe ratios. An annualized Sharpe ratio `S` over `k` periods a year is `S / √k` per period.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, Default)]
#[serde(try_from = "f64", into = "f64")]
pub struct PerPeriodSharpe(pub(crate) f64);

impl PerPeriodSharpe {
    /// A per-period Sharpe ratio; must be finite.
    pub fn new(sharpe: f64) -> Result<Self, MetricsError> {
        if sharpe.is_finite() {
            Ok(Self(sharpe))
        } else {
            Err(CoreError::NonFinite {
                field: "sharpe ratio",
                index: 0,
                value: sharpe,
            }
            .into())
        }
    }
    /// From an annualized Sharpe ratio: `annual / √k`.
    pub fn from_annual(annual: f64, annualization: Annualization) -> Result<Self, MetricsError> {
        Self::new(annual / annualization.periods_per_year().sqrt())
    }
    /// The per-period value.
    pub fn get(self) -> f64 {
        self.0
    }
    /// The annualized value, `× √k`.
    pub fn annualized(self, annualization: Annualization) -> f64 {
        self.0 * annualization.periods_per_year().sqrt()
    }
}

impl TryFrom<f64> for PerPeriodSharpe {
    type Error = MetricsError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<PerPeriodSharpe> for f64 {
    fn from(p: PerPeriodSharpe) -> f64 {
        p.0
    }
}

/// The probability mass of a tail, in (0, 0.5]: 0.05 for the 95 % VaR / CVaR.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct TailLevel(f64);

impl TailLevel {
    /// The 5 % tail (95 % VaR and CVaR).
    pub const P05: TailLevel = TailLevel(0.05);
    /// The 1 % tail (99 % VaR and CVaR).
    pub const P01: TailLevel = TailLevel(0.01);

    /// A tail probability in (0, 0.5].
    pub fn new(p: f64) -> Result<Self, MetricsError> {
        if p.is_finite() && p > 0.0 && p <= 0.5 {
            Ok(Self(p))
        } else {
            Err(CoreError::OutOfRange {
                field: "tail level",
                value: p,
                expected: "in (0, 0.5]",
            }
            .into())
        }
    }
    /// The probability.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for TailLevel {
    fn default() -> Self {
        Self::P05
    }
}

impl TryFrom<f64> for TailLevel {
    type Error = MetricsError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<TailLevel> for f64 {
    fn from(p: TailLevel) -> f64 {
        p.0
    }
}

/// Why a statistic has no value for valid input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Undefined {
    /// Fewer observations than the statistic needs.
    TooFewObservations {
        /// Observations available.
        n: usize,
        /// Observations needed.
        min: usize,
    },
    /// All returns are equal: zero standard deviation (e.g. all-zero returns).
    ZeroDispersion,
    /// No return fell below the required return: zero downside deviation.
    NoDownside,
    /// No return fell below the threshold: the omega ratio's denominator is zero.
    NoLosses,
    /// The equity never fell below a previous peak: zero maximum drawdown.
    NoDrawdown,
    /// The denominator of a ratio is zero (e.g. a zero 5th percentile in the tail ratio).
    ZeroDenominator,
    /// The sample moments make the Sharpe ratio's variance non-positive.
    InvalidMoments,
    /// The estimate is not above the benchmark it must beat (e.g. a minimum track record
    /// length for a Sharpe ratio at or below its benchmark).
    NotAboveBenchmark,
    /// The result overflowed to a non-finite number.
    Overflow,
}

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undefined::TooFewObservations { n, min } => {
                write!(f, "undefined: {n} observations, need {min}")
            }
            Undefined::ZeroDispersion => f.write_str("undefined: zero dispersion"),
            Undefined::NoDownside => f.write_str("undefined: no downside"),
            Undefined::NoLosses => f.write_str("undefined: no losses"),
            Undefined::NoDrawdown => f.write_str("undefined: no drawdown"),
            Undefined::ZeroDenominator => f.write_str("undefined: zero denominator"),
            Undefined::InvalidMoments => f.write_str("undefined: invalid moments"),
            Undefined::NotAboveBenchmark => f.write_str("undefined: not above benchmark"),
            Undefined::Overflow => f.write_str("undefined: overflow"),
        }
    }
}

/// A statistic: a finite value, or undefined with a reason. Never NaN, never infinite.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Stat {
    /// A finite value.
    Value(f64),
    /// No value, and why.
    Undefined(Undefined),
}

impl Stat {
    /// `Value(v)` if `v` is finite, else `Undefined(Overflow)`.
    pub fn from_value(v: f64) -> Stat {
        if v.is_finite() {
            Stat::Value(v)
        } else {
            Stat::Undefined(Undefined::Overflow)
        }
    }
    /// `num / den`, or `Undefined(reason)` when `den` is zero; `Overflow` if not finite.
    pub fn ratio(num: f64, den: f64, reason: Undefined) -> Stat {
        if den == 0.0 {
            Stat::Undefined(reason)
        } else {
            Stat::from_value(num / den)
        }
    }
    /// The value, if defined.
    pub fn value(self) -> Option<f64> {
        match self {
            Stat::Value(v) => Some(v),
            Stat::Undefined(_) => None,
        }
    }
    /// Whether the statistic has a value.
    pub fn is_defined(self) -> bool {
        matches!(self, Stat::Value(_))
    }
    /// The value, or `default` when undefined.
    pub fn unwrap_or(self, default: f64) -> f64 {
        self.value().unwrap_or(default)
    }
    /// The reason, if undefined.
    pub fn undefined_reason(self) -> Option<Undefined> {
        match self {
            Stat::Value(_) => None,
            Stat::Undefined(u) => Some(u),
        }
    }
    /// Applies `f` to a defined value (the result is checked for finiteness).
    pub fn map(self, f: impl FnOnce(f64) -> f64) -> Stat {
        match self {
            Stat::Value(v) => Stat::from_value(f(v)),
            u => u,
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Value(v) => match f.precision() {
                Some(p) => write!(f, "{v:.p$}"),
                None => write!(f, "{v}"),
            },
            Stat::Undefined(u) => write!(f, "{u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annualization_factors() {
        assert_eq!(Annualization::Daily252.periods_per_year(), 252.0);
        assert_eq!(Annualization::Weekly52.periods_per_year(), 52.0);
        assert_eq!(Annualization::Monthly12.periods_per_year(), 12.0);
        assert_eq!(Annualization::custom(365.0).unwrap().periods_per_year(), 365.0);
        assert!(Annualization::custom(0.0).is_err());
        assert!(Annualization::custom(f64::NAN).is_err());
    }

    #[test]
    fn rates_validate_and_convert() {
        assert!(PerPeriodRate::new(-1.0).is_err());
        assert!(PerPeriodRate::new(f64::INFINITY).is_err());
        let r = PerPeriodRate::from_annual(0.05, Annualization::Daily252).unwrap();
        // (1.05)^(1/252) − 1, closed form.
        assert!((r.get() - (1.05f64.powf(1.0 / 252.0) - 1.0)).abs() < 1e-18);
        assert!(TailLevel::new(0.0).is_err());
        assert!(TailLevel::new(0.6).is_err());
        assert!(PerPeriodSharpe::new(f64::NAN).is_err());
        let s = PerPeriodSharpe::from_annual(2.5, Annualization::Daily252).unwrap();
        assert!((s.annualized(Annualization::Daily252) - 2.5).abs() < 1e-14);
    }

    #[test]
    fn serde_rejects_invalid() {
        assert!(serde_json::from_str::<PerPeriodRate>("-2.0").is_err());
        assert!(serde_json::from_str::<TailLevel>("0.9").is_err());
        let a: Annualization = serde_json::from_str(r#"{"Custom":250.0}"#).unwrap();
        assert_eq!(a.periods_per_year(), 250.0);
        assert!(serde_json::from_str::<Annualization>(r#"{"Custom":-1.0}"#).is_err());
    }

    #[test]
    fn stat_never_holds_non_finite() {
        assert_eq!(Stat::from_value(f64::NAN), Stat::Undefined(Undefined::Overflow));
        assert_eq!(
            Stat::ratio(1.0, 0.0, Undefined::ZeroDispersion),
            Stat::Undefined(Undefined::ZeroDispersion)
        );
        assert_eq!(Stat::ratio(1.0, 2.0, Undefined::ZeroDispersion), Stat::Value(0.5));
        assert_eq!(format!("{:.2}", Stat::Value(1.2345)), "1.23");
        assert_eq!(
            Stat::Undefined(Undefined::ZeroDispersion).to_string(),
            "undefined: zero dispersion"
        );
    }
}
