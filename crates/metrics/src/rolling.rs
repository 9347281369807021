//! Rolling-window return statistics, updated in O(1) per observation.
//!
//! [`RollingReturnStats`] keeps, over the last `w` returns, the mean and the sum of squared
//! deviations (Welford's update with the leaving value removed), the sum of squared
//! shortfalls below the required return, the sum of `ln(1 + r)` (and a count of −100 %
//! returns), and monotone deques of the window's minimum and maximum (amortized O(1); they
//! detect constant windows exactly, empyrical's zero-dispersion rule). Every `64 w` updates
//! the sums are recomputed from the buffer, so rounding error cannot accumulate
//! (amortized O(1)). The sliding variance's rounding error is about 1e-16 of the largest
//! variance recently in the window, so a quiet window right after a volatile one carries a
//! small absolute error (agreement with empyrical on S&P 500 returns: 1e-9 relative).
//!
//! Maximum drawdown has no O(1) sliding update; [`RollingReturnStats::max_drawdown`] and
//! [`rolling_max_drawdown`] cost O(w) per window.
//!
//! The batch helpers match empyrical's `roll_*` functions: one value per full window, the
//! first for the window ending at index `w − 1`.

use std::collections::VecDeque;

use prudentia_core::validate::{check_len, check_size, MAX_WINDOW};
use serde::{Deserialize, Serialize};

use crate::drawdown::max_drawdown_depth;
use crate::error::MetricsResult;
use crate::returns::Returns;
use crate::stats::sortino_from;
use crate::types::{Annualization, PerPeriodRate, Stat, Undefined};

/// The largest return [`RollingReturnStats::push`] accepts (`1e100`, a gain of 10¹⁰² %):
/// it keeps the running sums of squares finite, so the state always serializes.
pub const MAX_ROLLING_RETURN: f64 = 1e100;

fn too_large(value: f64) -> crate::MetricsError {
    prudentia_core::CoreError::OutOfRange {
        field: "return",
        value,
        expected: "at most 1e100 (MAX_ROLLING_RETURN)",
    }
    .into()
}

/// Settings of a rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct RollingConfig {
    /// Window length in periods. Default 63 (a quarter of daily returns); in
    /// `[2, MAX_WINDOW]` ([`prudentia_core::validate::MAX_WINDOW`]).
    pub window: usize,
    /// Periods per year. Default daily, 252.
    pub annualization: Annualization,
    /// Per-period risk-free rate for the Sharpe ratio. Default 0.
    pub risk_free: PerPeriodRate,
    /// Per-period required return for the Sortino ratio. Default 0.
    pub required_return: PerPeriodRate,
}

impl Default for RollingConfig {
    fn default() -> Self {
        Self {
            window: 63,
            annualization: Annualization::Daily252,
            risk_free: PerPeriodRate::ZERO,
            required_return: PerPeriodRate::ZERO,
        }
    }
}

prudentia_core::checked_serde!(RollingConfig, RollingConfig::validate);

impl RollingConfig {
    /// Checks `2 ≤ window ≤ MAX_WINDOW` and rates of at most [`MAX_ROLLING_RETURN`].
    pub fn validate(&self) -> MetricsResult<()> {
        check_len("window", self.window, 2)?;
        check_size("window", self.window, MAX_WINDOW)?;
        for r in [self.risk_free.get(), self.required_return.get()] {
            if r > MAX_ROLLING_RETURN {
                return Err(too_large(r));
            }
        }
        Ok(())
    }
}

/// Statistics of one full window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RollingSnapshot {
    /// Mean return of the window.
    pub mean: f64,
    /// Annualized volatility (`n − 1`).
    pub annual_volatility: Stat,
    /// Annualized Sharpe ratio over the risk-free rate.
    pub sharpe: Stat,
    /// Annualized Sortino ratio over the required return.
    pub sortino: Stat,
    /// Compound annual growth rate of the window.
    pub annual_return: Stat,
}

/// Rolling return statistics with O(1) updates; serializable for checkpoints (validated on
/// load: the buffered returns are checked and every running sum and the min/max deques are
/// rebuilt from them). A running sum that overflows (returns near `f64::MAX`) is recomputed
/// from the buffer at once, so it recovers as soon as the value leaves the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RollingReturnStats {
    config: RollingConfig,
    buf: VecDeque<f64>,
    mean: f64,
    m2: f64,
    down_ss: f64,
    log_sum: f64,
    ruined: usize,
    seq: u64,
    min_q: VecDeque<(u64, f64)>,
    max_q: VecDeque<(u64, f64)>,
    since_resync: usize,
}

prudentia_core::checked_serde!(RollingReturnStats, RollingReturnStats::check);

impl RollingReturnStats {
    fn check(&mut self) -> MetricsResult<()> {
        self.config.validate()?;
        if self.buf.len() > self.config.window || (self.buf.len() as u64) > self.seq || self.seq > 1 << 62 {
            return Err(prudentia_core::CoreError::OutOfRange {
                field: "buffered returns",
                value: self.buf.len() as f64,
                expected: "at most the window and the count of returns seen",
            }
            .into());
        }
        for (index, &value) in self.buf.iter().enumerate() {
            if !value.is_finite() {
                return Err(prudentia_core::CoreError::NonFinite {
                    field: "buffered returns",
                    index,
                    value,
                }
                .into());
            }
            if value < -1.0 {
                return Err(crate::MetricsError::ReturnBelowTotalLoss { index, value });
            }
            if value > MAX_ROLLING_RETURN {
                return Err(too_large(value));
            }
        }
        // The deques and the ruin count are derived exactly from the buffer: rebuilt.
        let first = self.seq - self.buf.len() as u64;
        self.min_q.clear();
        self.max_q.clear();
        for (i, &r) in self.buf.iter().enumerate() {
            let s = first + i as u64;
            while self.min_q.back().is_some_and(|&(_, v)| v >= r) {
                self.min_q.pop_back();
            }
            self.min_q.push_back((s, r));
            while self.max_q.back().is_some_and(|&(_, v)| v <= r) {
                self.max_q.pop_back();
            }
            self.max_q.push_back((s, r));
        }
        self.ruined = self.buf.iter().filter(|x| **x == -1.0).count();
        // The running sums carry rounding history (kept, so a restored estimator continues
        // bit-identically) but must agree with the buffer.
        let live = [self.mean, self.m2, self.down_ss, self.log_sum];
        let mut fresh = self.clone();
        if !fresh.buf.is_empty() {
            fresh.resync();
        }
        let want = if fresh.buf.is_empty() {
            [0.0; 4]
        } else {
            [fresh.mean, fresh.m2, fresh.down_ss, fresh.log_sum]
        };
        let agree = live
            .iter()
            .zip(want)
            .all(|(a, b)| a.is_finite() && (a - b).abs() <= 1e-6 * (1.0 + b.abs()));
        if !agree || self.since_resync > self.config.window.saturating_mul(64) {
            return Err(prudentia_core::CoreError::OutOfRange {
                field: "rolling sums",
                value: self.m2,
                expected: "finite running sums agreeing with the buffered returns",
            }
            .into());
        }
        Ok(())
    }

    /// A rolling estimator; fails unless `2 ≤ window ≤ MAX_WINDOW`.
    pub fn new(config: RollingConfig) -> MetricsResult<Self> {
        config.validate()?;
        let w = config.window.min(1024);
        Ok(Self {
            config,
            buf: VecDeque::with_capacity(w),
            mean: 0.0,
            m2: 0.0,
            down_ss: 0.0,
            log_sum: 0.0,
            ruined: 0,
            seq: 0,
            min_q: VecDeque::with_capacity(w),
            max_q: VecDeque::with_capacity(w),
            since_resync: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RollingConfig {
        &self.config
    }

    /// Whether the window is full.
    pub fn is_full(&self) -> bool {
        self.buf.len() == self.config.window
    }

    /// Adds one return (finite, in `[−1, 1e100]`: checked; a refused return changes
    /// nothing) and returns the window's statistics once the window is full.
    pub fn push(&mut self, r: f64) -> MetricsResult<Option<RollingSnapshot>> {
        // Validate through the same rules as `Returns`.
        if !r.is_finite() {
            return Err(prudentia_core::CoreError::NonFinite {
                field: "return",
                index: 0,
                value: r,
            }
            .into());
        }
        if r < -1.0 {
            return Err(crate::MetricsError::ReturnBelowTotalLoss { index: 0, value: r });
        }
        if r > MAX_ROLLING_RETURN {
            return Err(too_large(r));
        }
        self.push_unchecked(r);
        Ok(self.is_full().then(|| self.snapshot()))
    }

    fn push_unchecked(&mut self, r: f64) {
        let w = self.config.window;
        let req = self.config.required_return.get();
        let seq = self.seq;
        self.seq = self.seq.saturating_add(1);
        // Monotone deques.
        while self.min_q.back().is_some_and(|&(_, v)| v >= r) {
            self.min_q.pop_back();
        }
        self.min_q.push_back((seq, r));
        while self.max_q.back().is_some_and(|&(_, v)| v <= r) {
            self.max_q.pop_back();
        }
        self.max_q.push_back((seq, r));
        let first_kept = seq.saturating_add(1).saturating_sub(w as u64);
        while self.min_q.front().is_some_and(|&(i, _)| i < first_kept) {
            self.min_q.pop_front();
        }
        while self.max_q.front().is_some_and(|&(i, _)| i < first_kept) {
            self.max_q.pop_front();
        }
        let d = (r - req).min(0.0);
        self.down_ss += d * d;
        if r == -1.0 {
            self.ruined += 1;
        } else {
            self.log_sum += r.ln_1p();
        }
        let mut left = None;
        if self.buf.len() < w {
            self.buf.push_back(r);
            let n = self.buf.len() as f64;
            let delta = r - self.mean;
            self.mean += delta / n;
            self.m2 += delta * (r - self.mean);
        } else {
            let old = self.buf.pop_front().unwrap_or(0.0);
            left = Some(old);
            self.buf.push_back(r);
            let n = w as f64;
            let old_mean = self.mean;
            self.mean += (r - old) / n;
            self.m2 += (r - old) * (r - self.mean + old - old_mean);
            let d = (old - req).min(0.0);
            self.down_ss -= d * d;
            if old == -1.0 {
                self.ruined = self.ruined.saturating_sub(1);
            } else {
                self.log_sum -= old.ln_1p();
            }
        }
        self.since_resync = self.since_resync.saturating_add(1);
        let sums_finite = [self.mean, self.m2, self.down_ss, self.log_sum]
            .iter()
            .all(|v| v.is_finite());
        // A value that left the window far outside the remaining values' range leaves
        // cancellation residue of order 1e-16 of its square in the running sums: recompute.
        let range = match (self.min_q.front(), self.max_q.front()) {
            (Some(a), Some(b)) => b.1 - a.1,
            _ => 0.0,
        };
        let lopsided = left.is_some_and(|old| (old - self.mean).abs() > 1e3 * range);
        if self.since_resync >= w.saturating_mul(64) || !sums_finite || lopsided {
            self.resync();
        }
    }

    fn resync(&mut self) {
        let req = self.config.required_return.get();
        let n = self.buf.len() as f64;
        self.mean = self.buf.iter().sum::<f64>() / n;
        self.m2 = self.buf.iter().map(|x| (x - self.mean) * (x - self.mean)).sum();
        self.down_ss = self
            .buf
            .iter()
            .map(|x| {
                let d = (x - req).min(0.0);
                d * d
            })
            .sum();
        self.log_sum = self.buf.iter().filter(|x| **x != -1.0).map(|x| x.ln_1p()).sum();
        self.since_resync = 0;
    }

    /// Statistics of the current window (also for a partial window; `Undefined` below two
    /// observations).
    pub fn snapshot(&self) -> RollingSnapshot {
        let n = self.buf.len();
        let ann = self.config.annualization;
        let k = ann.periods_per_year();
        let constant = match (self.min_q.front(), self.max_q.front()) {
            (Some(a), Some(b)) => a.1 == b.1,
            _ => true,
        };
        let few = Stat::Undefined(Undefined::TooFewObservations { n, min: 2 });
        if n < 2 {
            return RollingSnapshot {
                mean: if n == 1 { self.mean } else { 0.0 },
                annual_volatility: few,
                sharpe: few,
                sortino: few,
                annual_return: if n == 1 { self.annual_return() } else { few },
            };
        }
        let std = if constant {
            0.0
        } else {
            (self.m2.max(0.0) / (n as f64 - 1.0)).sqrt()
        };
        let sharpe = if constant {
            Stat::Undefined(Undefined::ZeroDispersion)
        } else {
            Stat::ratio(
                self.mean - self.config.risk_free.get(),
                std,
                Undefined::ZeroDispersion,
            )
            .map(|v| v * k.sqrt())
        };
        let down = (self.down_ss.max(0.0) / n as f64).sqrt();
        RollingSnapshot {
            mean: self.mean,
            annual_volatility: Stat::from_value(std * k.sqrt()),
            sharpe,
            sortino: sortino_from(self.mean - self.config.required_return.get(), down, ann),
            annual_return: self.annual_return(),
        }
    }

    fn annual_return(&self) -> Stat {
        let n = self.buf.len();
        if self.ruined > 0 {
            return Stat::Value(-1.0);
        }
        let years = n as f64 / self.config.annualization.periods_per_year();
        Stat::from_value((self.log_sum / years).exp_m1())
    }

    /// Maximum drawdown of the current window (≤ 0). O(w).
    pub fn max_drawdown(&self) -> f64 {
        let (a, b) = self.buf.as_slices();
        if b.is_empty() {
            max_drawdown_depth(a)
        } else {
            let mut v = Vec::with_capacity(self.buf.len());
            v.extend_from_slice(a);
            v.extend_from_slice(b);
            max_drawdown_depth(&v)
        }
    }
}

fn roll<T>(
    returns: &Returns,
    config: RollingConfig,
    f: impl Fn(&RollingSnapshot) -> T,
) -> MetricsResult<Vec<T>> {
    let mut s = RollingReturnStats::new(config)?;
    let mut out = Vec::with_capacity(returns.len().saturating_sub(config.window) + 1);
    for &r in returns.values() {
        s.push_unchecked(r);
        if s.is_full() {
            out.push(f(&s.snapshot()));
        }
    }
    Ok(out)
}

/// Rolling annualized Sharpe ratio (empyrical `roll_sharpe_ratio`).
pub fn rolling_sharpe(returns: &Returns, config: RollingConfig) -> MetricsResult<Vec<Stat>> {
    roll(returns, config, |s| s.sharpe)
}

/// Rolling annualized volatility (empyrical `roll_annual_volatility`).
pub fn rolling_volatility(returns: &Returns, config: RollingConfig) -> MetricsResult<Vec<Stat>> {
    roll(returns, config, |s| s.annual_volatility)
}

/// Rolling Sortino ratio (empyrical `roll_sortino_ratio`).
pub fn rolling_sortino(returns: &Returns, config: RollingConfig) -> MetricsResult<Vec<Stat>> {
    roll(returns, config, |s| s.sortino)
}

/// Rolling CAGR (empyrical `roll(…, function=cagr)`).
pub fn rolling_annual_return(returns: &Returns, config: RollingConfig) -> MetricsResult<Vec<Stat>> {
    roll(returns, config, |s| s.annual_return)
}

/// Rolling maximum drawdown (empyrical `roll_max_drawdown`). O(w) per window.
pub fn rolling_max_drawdown(returns: &Returns, window: usize) -> MetricsResult<Vec<f64>> {
    check_len("window", window, 1)?;
    let r = returns.values();
    if r.len() < window {
        return Ok(Vec::new());
    }
    Ok(r.windows(window).map(max_drawdown_depth).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats;

    #[test]
    fn matches_batch_statistics() {
        let v: Vec<f64> = (0..300)
            .map(|i| ((i * 7919) % 113) as f64 / 1000.0 - 0.05)
            .collect();
        let r = Returns::new(v.clone()).unwrap();
        let cfg = RollingConfig {
            window: 20,
            risk_free: PerPeriodRate::new(1e-4).unwrap(),
            required_return: PerPeriodRate::new(2e-4).unwrap(),
            ..RollingConfig::default()
        };
        let sh = rolling_sharpe(&r, cfg).unwrap();
        let so = rolling_sortino(&r, cfg).unwrap();
        let ar = rolling_annual_return(&r, cfg).unwrap();
        assert_eq!(sh.len(), 281);
        for (i, w) in v.windows(20).enumerate() {
            let wr = Returns::new(w.to_vec()).unwrap();
            let a = stats::sharpe_ratio(&wr, cfg.risk_free, cfg.annualization)
                .value()
                .unwrap();
            assert!(
                (sh[i].value().unwrap() - a).abs() < 1e-10 * a.abs().max(1.0),
                "{i}"
            );
            let b = stats::sortino_ratio(&wr, cfg.required_return, cfg.annualization)
                .value()
                .unwrap();
            assert!((so[i].value().unwrap() - b).abs() < 1e-10 * b.abs().max(1.0));
            let c = stats::annual_return(&wr, cfg.annualization).value().unwrap();
            assert!((ar[i].value().unwrap() - c).abs() < 1e-10 * c.abs().max(1.0));
        }
    }

    #[test]
    fn constant_window_is_undefined_then_recovers() {
        let mut s = RollingReturnStats::new(RollingConfig {
            window: 3,
            ..RollingConfig::default()
        })
        .unwrap();
        assert!(s.push(0.01).unwrap().is_none());
        assert!(s.push(0.0).unwrap().is_none());
        assert!(s.push(0.0).unwrap().unwrap().sharpe.is_defined());
        let snap = s.push(0.0).unwrap().unwrap();
        assert_eq!(snap.sharpe, Stat::Undefined(Undefined::ZeroDispersion));
        assert_eq!(snap.annual_volatility, Stat::Value(0.0));
        assert!(s.push(0.02).unwrap().unwrap().sharpe.is_defined());
        assert!(s.push(f64::NAN).is_err());
        assert!(s.push(-1.2).is_err());
        assert!(RollingReturnStats::new(RollingConfig {
            window: 1,
            ..RollingConfig::default()
        })
        .is_err());
    }

    #[test]
    fn checkpoint_restore_is_exact() {
        let mut a = RollingReturnStats::new(RollingConfig::default()).unwrap();
        for i in 0..100 {
            a.push((i as f64 * 0.37).sin() / 100.0).unwrap();
        }
        let json = serde_json::to_string(&a).unwrap();
        let mut b: RollingReturnStats = serde_json::from_str(&json).unwrap();
        for i in 100..200 {
            let x = (i as f64 * 0.37).sin() / 100.0;
            assert_eq!(a.push(x).unwrap(), b.push(x).unwrap());
        }
        assert_eq!(a.max_drawdown(), b.max_drawdown());
    }
}
