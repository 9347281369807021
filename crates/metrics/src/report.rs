//! [`Report`]: every metric of a backtest in one value that serializes to JSON, prints as a
//! table and draws its equity curve with drawdowns.

use std::fmt;

use prudentia_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::benchmark::{BenchmarkSummary, RelativeStats};
use crate::drawdown::{MaxDrawdown, Recovery};
use crate::error::MetricsResult;
use crate::execution::ExecutionMetrics;
use crate::health::HealthMetrics;
use crate::order;
use crate::returns::Returns;
use crate::selector::SelectorMetrics;
use crate::sharpe_inference::{deflated_sharpe_ratio, probabilistic_sharpe_ratio, DsrTrials, SharpeMoments};
use crate::sizer::SizerMetrics;
use crate::stats::{self, Moments};
use crate::tail;
use crate::types::{Annualization, PerPeriodRate, PerPeriodSharpe, Stat, TailLevel};

/// Settings of a [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportConfig {
    /// Title printed on the table and the chart. Default `"backtest"`.
    pub title: String,
    /// Periods per year. Default daily, 252.
    pub annualization: Annualization,
    /// Per-period risk-free rate (Sharpe, omega, PSR). Default 0.
    pub risk_free: PerPeriodRate,
    /// Per-period required return of the Sortino ratio and downside risk. Default 0.
    pub required_return: PerPeriodRate,
    /// Per-period threshold of the omega ratio, on top of the risk-free rate. Default 0.
    pub omega_threshold: PerPeriodRate,
    /// Tail of VaR and CVaR. Default 5 % (95 % VaR / CVaR).
    pub tail: TailLevel,
    /// Benchmark of the probabilistic Sharpe ratio, per period. Default 0.
    pub sharpe_benchmark: PerPeriodSharpe,
    /// Trials behind this strategy, for the deflated Sharpe ratio. Default none.
    pub dsr_trials: Option<DsrTrials>,
    /// Leave out the warm-up of a backtest ([`Report::for_backtest`]): the leading periods
    /// whose decision is a safe fallback holding no position (the pipeline's history was
    /// still filling). Default false: every period counts.
    #[serde(default)]
    pub drop_warmup: bool,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            title: "backtest".to_owned(),
            annualization: Annualization::Daily252,
            risk_free: PerPeriodRate::ZERO,
            required_return: PerPeriodRate::ZERO,
            omega_threshold: PerPeriodRate::ZERO,
            tail: TailLevel::P05,
            sharpe_benchmark: PerPeriodSharpe::default(),
            dsr_trials: None,
            drop_warmup: false,
        }
    }
}

impl ReportConfig {
    /// All fields are validated by their types; kept for the house `validate()` pattern.
    pub fn validate(&self) -> MetricsResult<()> {
        Ok(())
    }
}

/// The return statistics of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceSummary {
    /// Number of returns.
    pub observations: usize,
    /// Total compounded return.
    pub cumulative_return: Stat,
    /// CAGR.
    pub annual_return: Stat,
    /// Annualized volatility.
    pub annual_volatility: Stat,
    /// Annualized Sharpe ratio.
    pub sharpe: Stat,
    /// Annualized Sortino ratio.
    pub sortino: Stat,
    /// Annualized downside deviation.
    pub downside_risk: Stat,
    /// Calmar ratio.
    pub calmar: Stat,
    /// Omega ratio.
    pub omega: Stat,
    /// Tail ratio (p95 / p5).
    pub tail_ratio: Stat,
    /// Skewness (population).
    pub skewness: Stat,
    /// Kurtosis, not excess (population).
    pub kurtosis: Stat,
    /// Historical VaR (a return; negative = loss).
    pub var: Stat,
    /// Historical CVaR (a return; negative = loss).
    pub cvar: Stat,
    /// Cornish–Fisher VaR.
    pub cornish_fisher_var: Stat,
    /// Cornish–Fisher CVaR.
    pub cornish_fisher_cvar: Stat,
    /// Maximum drawdown depth (≤ 0).
    pub max_drawdown: f64,
    /// Probabilistic Sharpe ratio against the configured benchmark.
    pub probabilistic_sharpe: Stat,
    /// Deflated Sharpe ratio, when trials were configured.
    pub deflated_sharpe: Option<Stat>,
    /// Best single-period return.
    pub best_period: f64,
    /// Worst single-period return.
    pub worst_period: f64,
    /// Share of periods with a positive return.
    pub positive_share: f64,
}

impl PerformanceSummary {
    /// Computes all statistics in a few O(n) passes without sorting (order statistics by
    /// selection; only the CVaR tail is sorted). Every field equals, bit for bit, the
    /// standalone function's value (`stats`, `tail`, `drawdown`).
    pub fn compute(returns: &Returns, config: &ReportConfig) -> PerformanceSummary {
        let r = returns.values();
        let wealth = stats::final_wealth(r);
        let mdd = crate::drawdown::max_drawdown_depth(r);
        Self::compute_with(returns, config, wealth, mdd)
    }

    /// [`compute`](Self::compute) with the final wealth and the maximum drawdown depth
    /// already known (the report's single drawdown pass provides them).
    fn compute_with(returns: &Returns, config: &ReportConfig, wealth: f64, mdd: f64) -> PerformanceSummary {
        let r = returns.values();
        let ann = config.annualization;
        let n = r.len();
        let raw = Moments::of(r, 0.0);
        let excess = if config.risk_free.get() == 0.0 {
            raw
        } else {
            Moments::of(r, config.risk_free.get())
        };
        // One scratch buffer for every order statistic, one selection per tail.
        let mut keys = order::keys(r);
        let tails = order::tail_stats(&mut keys, config.tail);
        let (worst, best) = order::min_max(&keys);
        // The remaining sums in one pass, each bit for bit the standalone function's.
        let req = config.required_return.get();
        let shift = config.risk_free.get() + config.omega_threshold.get();
        let [downside_ss, up, down, positives] = stats::lane_sums(r, |x| {
            let d = (x - req).min(0.0);
            let e = x - shift;
            [d * d, e.max(0.0), (-e).max(0.0), f64::from(u8::from(x > 0.0))]
        });
        let downside_dev = (downside_ss / n as f64).sqrt();
        let cagr = stats::cagr_from_wealth(wealth, n, ann);
        let sortino = if n < 2 {
            Stat::Undefined(crate::Undefined::TooFewObservations { n, min: 2 })
        } else {
            stats::sortino_from(raw.mean - req, downside_dev, ann)
        };
        let omega = if n < 2 {
            Stat::Undefined(crate::Undefined::TooFewObservations { n, min: 2 })
        } else {
            Stat::ratio(up, down, crate::Undefined::NoLosses)
        };
        let cf = tail::cornish_fisher_from(&raw, config.tail);
        let (psr, dsr) = match SharpeMoments::from_moments(&excess) {
            Ok(m) => (
                probabilistic_sharpe_ratio(&m, config.sharpe_benchmark),
                config.dsr_trials.map(|t| deflated_sharpe_ratio(&m, &t)),
            ),
            Err(u) => (Stat::Undefined(u), config.dsr_trials.map(|_| Stat::Undefined(u))),
        };
        let moment = |v: f64| {
            if raw.constant {
                Stat::Undefined(crate::Undefined::ZeroDispersion)
            } else {
                Stat::from_value(v)
            }
        };
        PerformanceSummary {
            observations: n,
            cumulative_return: Stat::from_value(wealth - 1.0),
            annual_return: cagr,
            annual_volatility: stats::volatility_from(n, raw.std, ann),
            sharpe: stats::sharpe_from(&excess.mean_std(), ann),
            sortino,
            downside_risk: Stat::from_value(downside_dev * ann.periods_per_year().sqrt()),
            calmar: stats::calmar_from(cagr, mdd),
            omega,
            tail_ratio: stats::tail_ratio_from(tails.p05, tails.p95),
            skewness: moment(raw.skewness),
            kurtosis: moment(raw.kurtosis),
            var: Stat::from_value(tails.var),
            cvar: Stat::from_value(tails.cvar),
            cornish_fisher_var: cf.var,
            cornish_fisher_cvar: cf.cvar,
            max_drawdown: mdd,
            probabilistic_sharpe: psr,
            deflated_sharpe: dsr,
            best_period: best,
            worst_period: worst,
            positive_share: positives / n as f64,
        }
    }
}

/// Everything measured over one backtest.
///
/// Validated on deserialization: `n + 1 >= 2` finite, non-negative equity points, `n`
/// drawdowns in `[−1, 0]`, the maximum drawdown's points within the curve, and `n` times
/// when time-stamped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Report {
    /// The settings used.
    pub config: ReportConfig,
    /// End of the first period, if time-stamped.
    pub start: Option<Timestamp>,
    /// End of the last period, if time-stamped.
    pub end: Option<Timestamp>,
    /// Return statistics.
    pub summary: PerformanceSummary,
    /// The maximum drawdown with its dates.
    pub max_drawdown: MaxDrawdown,
    /// Equity curve `W_0 = 1, W_1, …, W_n`.
    pub equity: Vec<f64>,
    /// Drawdown after each return (n values, ≤ 0).
    pub drawdown: Vec<f64>,
    /// Period end times, if known.
    pub times: Option<Vec<Timestamp>>,
    /// Selector metrics, if attached.
    pub selector: Option<SelectorMetrics>,
    /// Sizer metrics, if attached.
    pub sizer: Option<SizerMetrics>,
    /// Execution metrics, if attached.
    pub execution: Option<ExecutionMetrics>,
    /// Health metrics, if attached.
    pub health: Option<HealthMetrics>,
    /// A benchmark with its statistics and the strategy's relative to it, if attached.
    #[serde(default)]
    pub benchmark: Option<BenchmarkSummary>,
    /// Leading periods of the backtest left out as warm-up (see
    /// [`ReportConfig::drop_warmup`]).
    #[serde(default)]
    pub warmup_dropped: usize,
}

prudentia_core::checked_serde!(Report, Report::check);

impl Report {
    fn check(&mut self) -> MetricsResult<()> {
        let n = self.drawdown.len();
        let bad = |detail: &'static str| {
            Err(crate::MetricsError::Core(prudentia_core::CoreError::OutOfRange {
                field: "report",
                value: n as f64,
                expected: detail,
            }))
        };
        if n == 0 || self.equity.len() != n + 1 {
            return bad("n >= 1 drawdowns and n + 1 equity points");
        }
        if !self.equity.iter().all(|w| w.is_finite() && *w >= 0.0) {
            return bad("finite, non-negative equity points");
        }
        if !self.drawdown.iter().all(|d| (-1.0..=0.0).contains(d)) {
            return bad("drawdowns in [-1, 0]");
        }
        let md = &self.max_drawdown;
        if md.peak.index > n || md.trough.index > n || !(-1.0..=0.0).contains(&md.depth) {
            return bad("a maximum drawdown within the curve");
        }
        if self.times.as_ref().is_some_and(|t| t.len() != n) {
            return bad("one time per return");
        }
        if let Some(b) = &self.benchmark {
            b.check(n)?;
        }
        Ok(())
    }

    /// Computes the return statistics, drawdowns and curves of `returns`.
    pub fn new(config: ReportConfig, returns: &Returns) -> MetricsResult<Report> {
        config.validate()?;
        let n = returns.len();
        // Equity, drawdowns and the maximum drawdown in one pass; the summary reuses them.
        let (equity, drawdown, max_drawdown) = crate::drawdown::curves(returns);
        let wealth = equity.last().copied().unwrap_or(1.0);
        let summary = PerformanceSummary::compute_with(returns, &config, wealth, max_drawdown.depth);
        Ok(Report {
            start: returns.point_time(1),
            end: returns.point_time(n),
            max_drawdown,
            summary,
            equity,
            drawdown,
            times: returns.times().map(<[Timestamp]>::to_vec),
            selector: None,
            sizer: None,
            execution: None,
            health: None,
            benchmark: None,
            warmup_dropped: 0,
            config,
        })
    }

    /// Attaches selector metrics.
    pub fn with_selector(mut self, m: SelectorMetrics) -> Self {
        self.selector = Some(m);
        self
    }
    /// Attaches sizer metrics.
    pub fn with_sizer(mut self, m: SizerMetrics) -> Self {
        self.sizer = Some(m);
        self
    }
    /// Attaches execution metrics.
    pub fn with_execution(mut self, m: ExecutionMetrics) -> Self {
        self.execution = Some(m);
        self
    }
    /// Attaches health metrics.
    pub fn with_health(mut self, m: HealthMetrics) -> Self {
        self.health = Some(m);
        self
    }

    /// Attaches a benchmark: `returns` holds one finite return ≥ −1 per period of the
    /// report, aligned with its returns. Computes the benchmark's own statistics and the
    /// strategy's alpha, beta, tracking error, information ratio, correlation and up/down
    /// capture against it ([`RelativeStats`]).
    pub fn with_benchmark(mut self, name: &str, returns: &[f64]) -> MetricsResult<Report> {
        let bench = match &self.times {
            Some(t) => Returns::with_times(returns.to_vec(), t.clone(), crate::NanPolicy::Reject)?,
            None => Returns::new(returns.to_vec())?,
        };
        prudentia_core::validate::check_shape("benchmark", &[self.drawdown.len()], &[bench.len()])?;
        let strategy = Returns::new(self.returns())?;
        let relative = RelativeStats::compute(
            &strategy,
            &bench,
            self.config.risk_free,
            self.config.annualization,
        )?;
        self.benchmark = Some(BenchmarkSummary {
            name: name.to_owned(),
            summary: PerformanceSummary::compute(&bench, &self.config),
            relative,
            returns: returns.to_vec(),
        });
        Ok(self)
    }

    /// The per-period returns, recovered from the equity curve (`W_k / W_{k−1} − 1`; 0 after
    /// a total loss).
    pub fn returns(&self) -> Vec<f64> {
        self.equity
            .windows(2)
            .map(|w| if w[0] > 0.0 { w[1] / w[0] - 1.0 } else { 0.0 })
            .collect()
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> MetricsResult<String> {
        serde_json::to_string_pretty(self).map_err(|e| crate::MetricsError::Serialize {
            detail: e.to_string(),
        })
    }
}

fn pct(s: Stat) -> String {
    match s {
        Stat::Value(v) => format!("{:.2} %", v * 100.0),
        u => u.to_string(),
    }
}

fn num(s: Stat) -> String {
    format!("{s:.3}")
}

fn point(p: &crate::drawdown::Point) -> String {
    match p.time {
        Some(t) => t.to_string(),
        None if p.index == 0 => "start".to_owned(),
        None => format!("period {}", p.index),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        let mut rows: Vec<(String, String)> = vec![
            ("observations".into(), s.observations.to_string()),
            ("cumulative return".into(), pct(s.cumulative_return)),
            ("annual return (CAGR)".into(), pct(s.annual_return)),
            ("annual volatility".into(), pct(s.annual_volatility)),
            ("Sharpe".into(), num(s.sharpe)),
            ("Sortino".into(), num(s.sortino)),
            ("Calmar".into(), num(s.calmar)),
            ("omega".into(), num(s.omega)),
            ("tail ratio".into(), num(s.tail_ratio)),
            ("skewness".into(), num(s.skewness)),
            ("kurtosis".into(), num(s.kurtosis)),
            (
                format!("VaR {:.0} %", 100.0 * (1.0 - self.config.tail.get())),
                pct(s.var),
            ),
            (
                format!("CVaR {:.0} %", 100.0 * (1.0 - self.config.tail.get())),
                pct(s.cvar),
            ),
            ("Cornish-Fisher VaR".into(), pct(s.cornish_fisher_var)),
            ("Cornish-Fisher CVaR".into(), pct(s.cornish_fisher_cvar)),
            ("max drawdown".into(), pct(Stat::Value(s.max_drawdown))),
            ("  peak".into(), point(&self.max_drawdown.peak)),
            ("  trough".into(), point(&self.max_drawdown.trough)),
            (
                "  recovery".into(),
                match self.max_drawdown.recovery {
                    Recovery::NoDrawdown => "no drawdown".into(),
                    Recovery::Recovered { at, periods } => format!("{} ({periods} periods)", point(&at)),
                    Recovery::NotRecovered { underwater_periods } => {
                        format!("not recovered ({underwater_periods} periods underwater)")
                    }
                },
            ),
            ("probabilistic Sharpe".into(), num(s.probabilistic_sharpe)),
        ];
        if let Some(d) = s.deflated_sharpe {
            rows.push(("deflated Sharpe".into(), num(d)));
        }
        if let Some(m) = &self.selector {
            rows.push(("selector: decisions".into(), m.decisions.to_string()));
            rows.push((
                "selector: mean regret".into(),
                format!("{:.3} %", m.mean_regret * 100.0),
            ));
            rows.push((
                "selector: top-K hit rate".into(),
                format!("{:.3}", m.mean_hit_rate),
            ));
            rows.push((
                "selector: slate correlation".into(),
                num(m.mean_slate_correlation),
            ));
        }
        if let Some(m) = &self.sizer {
            rows.push(("sizer: PnL per turnover".into(), num(m.pnl_per_turnover)));
            rows.push(("sizer: CVaR 95".into(), pct(m.cvar_95)));
            if let Some(g) = &m.risk_gap {
                rows.push(("sizer: risk gap".into(), pct(g.relative_gap)));
            }
            if let Some(e) = &m.exposure {
                rows.push(("sizer: mean gross".into(), format!("{:.3}", e.mean_gross)));
                rows.push(("sizer: mean turnover".into(), format!("{:.3}", e.mean_turnover)));
            }
        }
        if let Some(m) = &self.execution {
            rows.push(("execution: fills".into(), m.fills.to_string()));
            rows.push((
                "execution: shortfall".into(),
                format!("{:.2} bps", m.implementation_shortfall_bps),
            ));
            if let Some(r) = m.fill_rate {
                rows.push(("execution: fill rate".into(), pct(r)));
            }
        }
        if let Some(h) = &self.health {
            if let Some(q) = &h.fallbacks {
                rows.push((
                    "health: decision fallbacks".into(),
                    format!("{:.2} %", q.fallback_rate * 100.0),
                ));
            }
            if let Some(q) = &h.quarantine {
                rows.push((
                    "health: fallback rate".into(),
                    format!("{:.2} %", q.fallback_rate * 100.0),
                ));
            }
            if let Some(c) = &h.calibration {
                rows.push(("health: calibration ECE".into(), format!("{:.4}", c.ece)));
            }
            if let Some(r) = &h.regimes {
                rows.push(("health: regime changes".into(), r.changes.to_string()));
            }
        }
        let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        let title = match (self.start, self.end) {
            (Some(a), Some(b)) => format!("{} ({a} .. {b})", self.config.title),
            _ => self.config.title.clone(),
        };
        writeln!(f, "{title}")?;
        writeln!(f, "{}", "-".repeat(w0 + w1 + 3))?;
        for (k, v) in rows {
            writeln!(f, "{k:<w0$} | {v:>w1$}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        calmar_ratio, conditional_value_at_risk, cumulative_return, downside_risk, kurtosis, max_drawdown,
        omega_ratio, skewness, sortino_ratio, tail_ratio, value_at_risk,
    };

    /// The one-pass report equals every standalone function bit for bit (the fused passes
    /// use the same operations in the same order), for several tails and rates.
    #[test]
    fn fused_summary_equals_the_functions() {
        let mut s = 7u64;
        let v: Vec<f64> = (0..1003)
            .map(|i| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                if i % 50 == 0 {
                    0.0
                } else {
                    (u - 0.49) * 0.04
                }
            })
            .collect();
        let r = Returns::new(v).unwrap();
        for (tail, rf) in [
            (TailLevel::P05, 0.0),
            (TailLevel::P01, 1e-4),
            (TailLevel::new(0.5).unwrap(), -2e-4),
        ] {
            let rf = PerPeriodRate::new(rf).unwrap();
            let req = PerPeriodRate::new(1e-4).unwrap();
            let cfg = ReportConfig {
                tail,
                risk_free: rf,
                required_return: req,
                ..ReportConfig::default()
            };
            let a = cfg.annualization;
            let rep = Report::new(cfg, &r).unwrap();
            let m = &rep.summary;
            assert_eq!(m.cvar, conditional_value_at_risk(&r, tail));
            assert_eq!(m.var, value_at_risk(&r, tail));
            assert_eq!(m.tail_ratio, tail_ratio(&r));
            assert_eq!(m.omega, omega_ratio(&r, rf, PerPeriodRate::ZERO));
            assert_eq!(m.downside_risk, downside_risk(&r, req, a));
            assert_eq!(m.annual_volatility, crate::annual_volatility(&r, a));
            assert_eq!(m.sharpe, crate::sharpe_ratio(&r, rf, a));
            assert_eq!(m.skewness, skewness(&r));
            assert_eq!(m.kurtosis, kurtosis(&r));
            assert_eq!(m.cumulative_return, cumulative_return(&r));
            assert_eq!(m.calmar, calmar_ratio(&r, a));
            assert_eq!(rep.max_drawdown, max_drawdown(&r));
            assert_eq!(m.max_drawdown, rep.max_drawdown.depth);
            let sorted = crate::stats::sorted_copy(r.values());
            assert_eq!(
                (m.worst_period, m.best_period),
                (sorted[0], sorted[sorted.len() - 1])
            );
            let positives = r.values().iter().filter(|x| **x > 0.0).count();
            assert_eq!(m.positive_share, positives as f64 / r.len() as f64);
            // Sortino: the report uses mean − req, the function mean(r − req): same to rounding.
            let s1 = m.sortino.value().unwrap();
            let s2 = sortino_ratio(&r, req, a).value().unwrap();
            assert!((s1 - s2).abs() <= 1e-12 * s2.abs(), "{s1} vs {s2}");
        }
    }
}
