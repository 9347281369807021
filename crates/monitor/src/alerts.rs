//! Threshold and rate alert rules, evaluated by the [`Monitor`](crate::Monitor) on every
//! decision and outcome, returned as typed [`Alert`]s and exported as metrics.

use serde::{Deserialize, Serialize};

use crate::error::MonitorResult;
use prudentia_core::validate::{check_size, MAX_WINDOW};
use prudentia_core::{CoreError, Timestamp};

/// Alert thresholds and windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct AlertConfig {
    /// Drawdown from the equity peak beyond which [`AlertRule::Drawdown`] fires, in (0, 1].
    /// Default 0.2.
    pub max_drawdown: f64,
    /// Population stability index beyond which [`AlertRule::DriftPsi`] fires (> 0). Default 0.25.
    pub max_psi: f64,
    /// Kolmogorov–Smirnov statistic beyond which [`AlertRule::DriftKs`] fires, in (0, 1].
    /// Default 0.1.
    pub max_ks: f64,
    /// Half-width of the forecast interval whose coverage is tracked, in sigmas (mean ± z·σ;
    /// finite, > 0). Default 1.96 (a 95 % interval).
    pub coverage_z: f64,
    /// Rolling coverage below this fires [`AlertRule::CoverageLow`], in [0, 1). Default 0.85.
    pub coverage_low: f64,
    /// Rolling coverage above this fires [`AlertRule::CoverageHigh`], in (`coverage_low`, 1].
    /// Default 0.99.
    pub coverage_high: f64,
    /// Outcomes per regime in the rolling coverage window, 1..=`MAX_WINDOW`. Default 250.
    pub coverage_window: usize,
    /// Samples needed before coverage alerts fire, 1..=`coverage_window`. Default 50.
    pub coverage_min_samples: usize,
    /// Share of fallback decisions in the rolling window beyond which
    /// [`AlertRule::FallbackRate`] fires, in [0, 1]. Default 0.5.
    pub max_fallback_rate: f64,
    /// Decisions in the fallback-rate window (the rule fires once it is full),
    /// 1..=`MAX_WINDOW`. Default 20.
    pub fallback_window: usize,
    /// Absolute error of the cost model (mean realized shortfall − mean expected cost of the
    /// filled orders, bps) beyond which [`AlertRule::CostModelError`] fires (finite, > 0).
    /// Default 25.
    pub max_cost_error_bps: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            max_drawdown: 0.2,
            max_psi: 0.25,
            max_ks: 0.1,
            coverage_z: 1.96,
            coverage_low: 0.85,
            coverage_high: 0.99,
            coverage_window: 250,
            coverage_min_samples: 50,
            max_fallback_rate: 0.5,
            fallback_window: 20,
            max_cost_error_bps: 25.0,
        }
    }
}

fn range(field: &'static str, v: f64, ok: bool, expected: &'static str) -> Result<(), CoreError> {
    if v.is_finite() && ok {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: v,
            expected,
        })
    }
}

impl AlertConfig {
    /// Checks every field (named in the error).
    pub fn validate(&self) -> MonitorResult<()> {
        let d = self.max_drawdown;
        range("max_drawdown", d, d > 0.0 && d <= 1.0, "in (0, 1]")?;
        range("max_psi", self.max_psi, self.max_psi > 0.0, "finite, > 0")?;
        range(
            "max_ks",
            self.max_ks,
            self.max_ks > 0.0 && self.max_ks <= 1.0,
            "in (0, 1]",
        )?;
        range(
            "coverage_z",
            self.coverage_z,
            self.coverage_z > 0.0,
            "finite, > 0",
        )?;
        let (lo, hi) = (self.coverage_low, self.coverage_high);
        range("coverage_low", lo, (0.0..1.0).contains(&lo), "in [0, 1)")?;
        range("coverage_high", hi, hi > lo && hi <= 1.0, "in (coverage_low, 1]")?;
        check_size("coverage_window", self.coverage_window, MAX_WINDOW)?;
        let w = self.coverage_window as f64;
        range("coverage_window", w, self.coverage_window >= 1, ">= 1")?;
        let m = self.coverage_min_samples;
        range(
            "coverage_min_samples",
            m as f64,
            m >= 1 && m <= self.coverage_window,
            "in 1..=coverage_window",
        )?;
        let f = self.max_fallback_rate;
        range("max_fallback_rate", f, (0.0..=1.0).contains(&f), "in [0, 1]")?;
        check_size("fallback_window", self.fallback_window, MAX_WINDOW)?;
        range(
            "fallback_window",
            self.fallback_window as f64,
            self.fallback_window >= 1,
            ">= 1",
        )?;
        let c = self.max_cost_error_bps;
        range("max_cost_error_bps", c, c > 0.0, "finite, > 0")?;
        Ok(())
    }

    /// Nominal coverage of the tracked interval, `2Φ(z) − 1`.
    pub fn nominal_coverage(&self) -> f64 {
        2.0 * prudentia_core::normal::cdf(self.coverage_z) - 1.0
    }
}
prudentia_core::checked_serde!(AlertConfig, AlertConfig::validate);

/// Which rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AlertRule {
    /// Drawdown beyond `max_drawdown`.
    Drawdown,
    /// A drift PSI beyond `max_psi` (subject: the feature).
    DriftPsi,
    /// A drift KS statistic beyond `max_ks` (subject: the feature).
    DriftKs,
    /// Rolling interval coverage below `coverage_low` (subject: the regime).
    CoverageLow,
    /// Rolling interval coverage above `coverage_high` (subject: the regime).
    CoverageHigh,
    /// Share of fallback decisions beyond `max_fallback_rate`.
    FallbackRate,
    /// Cost model error beyond `max_cost_error_bps`.
    CostModelError,
}

impl AlertRule {
    /// Snake-case name, used as tag and label value.
    pub fn name(self) -> &'static str {
        match self {
            AlertRule::Drawdown => "drawdown",
            AlertRule::DriftPsi => "drift_psi",
            AlertRule::DriftKs => "drift_ks",
            AlertRule::CoverageLow => "coverage_low",
            AlertRule::CoverageHigh => "coverage_high",
            AlertRule::FallbackRate => "fallback_rate",
            AlertRule::CostModelError => "cost_model_error",
        }
    }

    /// Every rule.
    pub const ALL: [AlertRule; 7] = [
        AlertRule::Drawdown,
        AlertRule::DriftPsi,
        AlertRule::DriftKs,
        AlertRule::CoverageLow,
        AlertRule::CoverageHigh,
        AlertRule::FallbackRate,
        AlertRule::CostModelError,
    ];
}

/// A fired alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule.
    pub rule: AlertRule,
    /// Time of the decision or outcome that fired it.
    pub time: Timestamp,
    /// The observed value (finite).
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// What it is about (feature, regime), when the rule has a subject.
    pub subject: Option<String>,
}
