//! # prudentia-metrics
//!
//! Know whether it works: performance and risk statistics of return series, and
//! decision-quality metrics of each pipeline stage, gathered in one [`Report`] that
//! serializes to JSON, prints as a table and draws its equity curve with drawdowns (SVG).
//!
//! - **Return statistics** ([`stats`], [`drawdown`], [`tail`], [`rolling`]): cumulative
//!   return, CAGR, annual volatility, Sharpe, Sortino (with a required return), downside
//!   risk, Calmar, omega, stability (R² of the log wealth's trend), tail ratio, historical and
//!   Cornish–Fisher VaR / CVaR (Zangari 1996), maximum drawdown with peak, trough, recovery and durations, the drawdown series,
//!   and rolling versions with O(1) updates. Every statistic is O(n) without sorting
//!   (order statistics by selection) and at least as fast as empyrical's on the same
//!   returns (`benches/vs_empyrical.rs`, `tools/fixtures/metrics/empyrical_timing.py`). Annualization ([`Annualization::Daily252`], …)
//!   and rates ([`PerPeriodRate`]) are types, not bare floats. The conventions are
//!   empyrical's and the values agree with empyrical-reloaded on checked-in fixtures.
//! - **Sharpe inference** ([`sharpe_inference`]): the probabilistic Sharpe ratio (Bailey &
//!   López de Prado 2012, J. Risk 15) and the deflated Sharpe ratio (Bailey & López de
//!   Prado 2014, J. Portfolio Management 40), matching the paper's worked example, and the
//!   minimum track record length.
//! - **Selector** ([`selector`]): regret against the best K in hindsight, top-K hit rate,
//!   slate average pairwise correlation, performance by regime.
//! - **Sizer** ([`sizer`]): PnL per unit of turnover, forecast vs realized risk, CVaR 95,
//!   exposure statistics.
//! - **Execution** ([`execution`]): implementation shortfall against arrival, slippage in
//!   bps, fill rate, from [`prudentia_core::Fill`]s.
//! - **Health** ([`health`]): quarantine rates, forecast calibration (ECE, coverage), regime
//!   changes, from the other stages' outputs.
//!
//! [`Report::for_backtest`] builds the whole report of a walk-forward run from its returns,
//! turnover and, when available, the core [`Decision`](prudentia_core::Decision)s and
//! [`Outcome`](prudentia_core::Outcome)s ([`BacktestRecord`]).
//! - **Benchmark** ([`benchmark`]): alpha, beta, tracking error, information ratio,
//!   correlation, up/down capture ([`RelativeStats`], [`Report::with_benchmark`]), agreeing
//!   with empyrical-reloaded to 1e-10.
//! - **Charts** ([`chart`]): dates on every time axis, missing values as gaps, legends
//!   outside the data listing only what is drawn; equity with a benchmark overlay, stacked
//!   weights of the largest positions plus "other" with gross and net exposure, regimes,
//!   underwater, monthly returns heatmap, rolling Sharpe and volatility, return distribution
//!   with VaR/CVaR. SVG always, PNG with the `png` feature.
//! - **Tear sheet** ([`tearsheet`]): one self-contained HTML file (inline SVG and CSS, no
//!   script) with the metrics table against a benchmark, the charts, decision-quality
//!   metrics, fallback days with their reasons and the run's configuration.
//! - **Exports** ([`export`]): [`Report::to_plain_json`] (ISO-8601 dates, plain numbers,
//!   `null` with a reason) and CSV tables of a backtest ([`BacktestRecord::write_csv`]);
//!   [`ReportConfig::drop_warmup`] leaves a pipeline's warm-up out of the report.
//!
//! An undefined statistic — the Sharpe ratio of all-zero returns, the Calmar ratio without
//! a drawdown — is [`Stat::Undefined`] with its [`Undefined`] reason, never a NaN or an
//! infinity. Invalid input (empty series, NaN unless skipped by [`NanPolicy::Skip`],
//! returns below −100 %) is a [`MetricsError`].
//!
//! ## Conventions, and where they differ from empyrical
//! The statistics follow empyrical-reloaded (0.7.1) and agree with it to 1e-11 relative on
//! S&P 500 daily returns (`tests/empyrical_fixtures.rs`): sample standard deviation with
//! `n − 1`; geometric CAGR `W^(k/n) − 1`; the maximum drawdown as a negative number, the
//! running peak anchored at the starting capital; downside risk as the root mean square of
//! `min(r − req, 0)` over all `n` returns; Sortino as `mean(r − req)·k / downside risk`; omega
//! with the threshold on top of the risk-free rate; numpy's linear-interpolation percentiles
//! for VaR and the tail ratio; CVaR as the mean of the `⌊(n − 1)α⌋ + 1` smallest returns; VaR
//! and CVaR as returns (negative = loss). Where we differ, and why:
//!
//! - **Undefined is a type, not NaN/∞.** empyrical returns NaN (too few observations, no
//!   drawdown) or ±∞ (zero dispersion, no downside, no losses); we return
//!   [`Stat::Undefined`] with the reason, so a report never shows or serializes a NaN.
//!   Constant returns are "zero dispersion" whatever their floating-point residue, as in
//!   empyrical's `_zero_dispersion_std`.
//! - **NaN input is an error by default**; [`NanPolicy::Skip`] drops NaNs before every
//!   statistic. empyrical mixes rules: `nanmean`-based statistics skip NaNs, but
//!   `annual_return` counts them as periods and `cum_returns` as zero returns.
//! - **Returns below −100 % are an error** ([`MetricsError::ReturnBelowTotalLoss`]): wealth
//!   would turn negative and CAGR complex; empyrical returns NaN or garbage. −100 % itself is
//!   allowed: wealth 0, CAGR −1, drawdown −1, never recovered.
//! - **Rates are per period, and typed.** Sharpe's risk-free rate and Sortino's required
//!   return are per-period rates as in empyrical; omega's threshold is per period too, where
//!   empyrical takes an annual `required_return` and converts it with `(1 + R)^(1/k) − 1` —
//!   [`PerPeriodRate::from_annual`] performs exactly that conversion.
//! - **Skewness and kurtosis** are population moments (scipy's `bias=True`), kurtosis not
//!   excess; they feed Cornish–Fisher and the PSR, which empyrical does not have.
//! - **Rolling windows** match empyrical's `roll_*` (one value per full window); the O(1)
//!   sliding updates agree with its window-by-window recomputation to 1e-9 relative.
//!
//! ## Example
//! ```
//! use prudentia_metrics::{
//!     sharpe_ratio, Annualization, PerPeriodRate, Report, ReportConfig, Returns, Stat, Undefined,
//! };
//!
//! # fn main() -> Result<(), prudentia_metrics::MetricsError> {
//! let returns = Returns::from_prices(&[100.0, 101.0, 99.5, 102.0, 101.0, 103.5])?;
//! let rf = PerPeriodRate::from_annual(0.02, Annualization::Daily252)?;
//! let sharpe = sharpe_ratio(&returns, rf, Annualization::Daily252);
//! assert!(sharpe.value().unwrap() > 0.0);
//!
//! // All-zero returns: the Sharpe ratio is undefined, and says why.
//! let flat = Returns::new(vec![0.0; 20])?;
//! assert_eq!(
//!     sharpe_ratio(&flat, PerPeriodRate::ZERO, Annualization::Daily252),
//!     Stat::Undefined(Undefined::ZeroDispersion)
//! );
//!
//! let report = Report::new(ReportConfig::default(), &returns)?;
//! println!("{report}");
//! let json = report.to_json()?;
//! assert!(json.contains("\"sharpe\""));
//! let svg = report.to_svg(800, 500)?;
//! assert!(svg.starts_with("<svg"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backtest;
pub mod benchmark;
pub mod chart;
pub mod drawdown;
pub mod error;
pub mod execution;
pub mod export;
pub mod health;
pub mod normal;
mod order;
mod plot;
#[cfg(feature = "png")]
pub use plot::register_chart_font;
#[cfg(feature = "png")]
mod png;
pub mod report;
pub mod returns;
pub mod rolling;
pub mod selector;
pub mod sharpe_inference;
pub mod sizer;
pub mod stats;
pub mod tail;
pub mod tearsheet;
pub mod types;

pub use backtest::BacktestRecord;
pub use benchmark::{
    alpha, beta, down_capture, information_ratio, tracking_error, up_capture, BenchmarkSummary, RelativeStats,
};
pub use drawdown::{drawdown_series, max_drawdown, wealth_index, MaxDrawdown, Point, Recovery};
pub use error::{MetricsError, MetricsResult};
pub use execution::{fill_rate, implementation_shortfall_bps, slippage_bps, ExecutionMetrics};
pub use export::iso_8601;
pub use health::{
    binary_ece, fallback_stats, forecast_calibration, guard_stats, interval_coverage, regime_change_stats,
    FallbackStats, ForecastCalibration, GuardStats, HealthMetrics, RegimeChangeStats,
};
pub use report::{PerformanceSummary, Report, ReportConfig};
pub use returns::{NanPolicy, Returns};
pub use rolling::{
    rolling_annual_return, rolling_max_drawdown, rolling_sharpe, rolling_sortino, rolling_volatility,
    RollingConfig, RollingReturnStats, RollingSnapshot,
};
pub use selector::{
    performance_by_regime, score_slate, slate_average_correlation, RegimePerformance, SelectorMetrics,
    SlateOutcome,
};
pub use sharpe_inference::{
    deflated_sharpe_ratio, expected_max_sharpe, minimum_track_record_length, probabilistic_sharpe_ratio,
    DsrTrials, SharpeMoments,
};
pub use sizer::{exposure_stats, pnl_per_turnover, risk_gap, ExposureStats, RiskGap, SizerMetrics};
pub use stats::{
    annual_return, annual_volatility, calmar_ratio, cumulative_return, downside_risk, kurtosis, omega_ratio,
    sharpe_ratio, skewness, sortino_ratio, stability_of_timeseries, tail_ratio,
};
pub use tail::{conditional_value_at_risk, cornish_fisher, value_at_risk, CornishFisher};
pub use tearsheet::TearSheet;
pub use types::{Annualization, PerPeriodRate, PerPeriodSharpe, PeriodsPerYear, Stat, TailLevel, Undefined};
