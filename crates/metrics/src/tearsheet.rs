//! The tear sheet: one self-contained HTML file with the metrics table (strategy vs
//! benchmark), the charts of [`chart`](crate::chart), the decision-quality metrics (selector
//! regret and hit rate, sizer risk gap, fallback days with their reasons) and the run's
//! configuration.
//!
//! The file has inline SVG and CSS only: no script, no font or image fetched from
//! anywhere, so it opens offline and can be mailed or archived as is.
//!
//! ```
//! use prudentia_core::Timestamp;
//! use prudentia_metrics::tearsheet::TearSheet;
//! use prudentia_metrics::{BacktestRecord, ReportConfig};
//!
//! # fn main() -> Result<(), prudentia_metrics::MetricsError> {
//! let times: Vec<Timestamp> = (0..60)
//!     .map(|d| Timestamp::from_nanos((19_000 + d) * Timestamp::NANOS_PER_DAY))
//!     .collect();
//! let returns: Vec<f64> = (0..60).map(|t| 0.01 * ((t as f64) * 0.7).sin()).collect();
//! let turnover = vec![0.1; 60];
//! let record = BacktestRecord { times: &times, returns: &returns, turnover: &turnover, decisions: &[], outcomes: &[] };
//! let bench: Vec<f64> = returns.iter().map(|r| 0.5 * r + 0.001).collect();
//! let html = TearSheet::new(ReportConfig::default(), &record)?
//!     .with_benchmark("half and a bit", &bench)?
//!     .to_html()?;
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(!html.contains("<script"));
//! # Ok(()) }
//! ```

use std::fmt::Write as _;

use prudentia_core::{DecisionStatus, Timestamp};
use serde::Serialize;

use crate::backtest::BacktestRecord;
use crate::chart::{Chart, Series, MAX_LABELLED_POSITIONS};
use crate::error::{MetricsError, MetricsResult};
use crate::export::iso_8601;
use crate::report::{PerformanceSummary, Report, ReportConfig};
use crate::returns::Returns;
use crate::sizer::{risk_gap, RiskGap};
use crate::types::Stat;

/// Chart width in the tear sheet, pixels (scaled down by the browser when narrower).
const WIDTH: u32 = 1000;
/// Most fallback days listed one by one.
const MAX_LISTED_FALLBACKS: usize = 60;

/// Everything a tear sheet shows, gathered from a backtest. Build with [`TearSheet::new`],
/// add what the record does not carry, then [`TearSheet::to_html`] or
/// [`TearSheet::write_html`].
#[derive(Debug, Clone)]
pub struct TearSheet {
    report: Report,
    times: Vec<Timestamp>,
    returns: Vec<f64>,
    /// Asset names and one row of sized weights per period.
    weights: Option<(Vec<String>, Vec<Vec<f64>>)>,
    regimes: Option<Vec<String>>,
    fallbacks: Vec<(Timestamp, Vec<String>)>,
    market: Option<(Series, Option<Series>)>,
    configuration: Vec<(String, String)>,
    /// Per-period portfolio sigma forecast from the decisions (independence assumed).
    forecast_sigma: Option<Vec<f64>>,
    rolling_window: usize,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(s: Stat) -> String {
    match s {
        Stat::Value(v) => format!("{:.2}%", 100.0 * v),
        Stat::Undefined(u) => format!("<span class=\"na\" title=\"{}\">n/a</span>", esc(&u.to_string())),
    }
}

fn num(s: Stat) -> String {
    match s {
        Stat::Value(v) => format!("{v:.3}"),
        Stat::Undefined(u) => format!("<span class=\"na\" title=\"{}\">n/a</span>", esc(&u.to_string())),
    }
}

const CSS: &str = "
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#1f3b57;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px 0;font-size:22px}
header p{margin:0;opacity:.85;font-size:14px}
main{max-width:1080px;margin:0 auto;padding:16px 24px 48px}
section{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin:18px 0;padding:14px 20px}
h2{font-size:17px;margin:4px 0 12px;color:#1f3b57}
table{border-collapse:collapse;font-size:13px}
td,th{padding:4px 12px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}
th{background:#f0f3f6}
.cols{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
.na{color:#999}
#fallback-table td{text-align:left;vertical-align:top}
#fallback-table td:first-child{white-space:nowrap}
figure{margin:8px 0 18px}
figure svg{width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#555;margin-top:4px}
pre{background:#f7f7f9;padding:10px;font-size:12px;overflow-x:auto;max-height:420px}
.note{font-size:12px;color:#666}
";

impl TearSheet {
    /// Gathers the report ([`Report::for_backtest`], honouring
    /// [`ReportConfig::drop_warmup`]), the returns, and from the decisions (when present)
    /// the sized weights, regime labels, fallback days with their reasons and a portfolio
    /// risk forecast.
    pub fn new(config: ReportConfig, record: &BacktestRecord<'_>) -> MetricsResult<TearSheet> {
        let configuration = vec![(
            "report".to_owned(),
            serde_json::to_string_pretty(&config).map_err(|e| MetricsError::Serialize {
                detail: e.to_string(),
            })?,
        )];
        let report = Report::for_backtest(config, record)?;
        let rec = record.skip(report.warmup_dropped);
        let decisions = rec.decisions;
        let (mut weights, mut regimes, mut fallbacks, mut forecast_sigma) = (None, None, Vec::new(), None);
        if !decisions.is_empty() {
            let mut assets: Vec<String> = Vec::new();
            for d in decisions {
                for a in &d.sized.assets {
                    if !assets.iter().any(|x| x == a.as_str()) {
                        assets.push(a.as_str().to_owned());
                    }
                }
            }
            prudentia_core::validate::check_size("assets", assets.len(), prudentia_core::validate::MAX_DIM)?;
            let rows = decisions
                .iter()
                .map(|d| {
                    let mut row = vec![0.0; assets.len()];
                    for (a, v) in d.sized.assets.iter().zip(&d.sized.values) {
                        if let Some(j) = assets.iter().position(|x| x == a.as_str()) {
                            row[j] += v;
                        }
                    }
                    row
                })
                .collect();
            weights = Some((assets, rows));
            regimes = Some(decisions.iter().map(|d| d.regime.label.to_string()).collect());
            fallbacks = decisions
                .iter()
                .filter_map(|d| match &d.status {
                    DecisionStatus::SafeFallback { reasons } => Some((d.time, reasons.clone())),
                    DecisionStatus::Normal => None,
                })
                .collect();
            // sqrt(Σ w² σ²): the portfolio sigma if the assets were independent.
            forecast_sigma = Some(
                decisions
                    .iter()
                    .map(|d| {
                        d.sized
                            .assets
                            .iter()
                            .zip(&d.sized.values)
                            .filter_map(|(a, w)| {
                                d.forecasts
                                    .iter()
                                    .find(|(id, _)| id == a)
                                    .map(|(_, f)| (w * f.sigma).powi(2))
                            })
                            .sum::<f64>()
                            .sqrt()
                    })
                    .collect(),
            );
        }
        Ok(TearSheet {
            times: rec.times.to_vec(),
            returns: rec.returns.to_vec(),
            report,
            weights,
            regimes,
            fallbacks,
            market: None,
            configuration,
            forecast_sigma,
            rolling_window: 126,
        })
    }

    /// The report behind the tear sheet.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Adds a benchmark: one return per period of the record given to [`TearSheet::new`]
    /// (the warm-up, if dropped, is dropped here too). Drawn over the equity curve and
    /// compared in the metrics table ([`Report::with_benchmark`]).
    pub fn with_benchmark(mut self, name: &str, returns: &[f64]) -> MetricsResult<TearSheet> {
        let skip = self.report.warmup_dropped;
        prudentia_core::validate::check_shape("benchmark", &[self.returns.len() + skip], &[returns.len()])?;
        self.report = self.report.with_benchmark(name, &returns[skip..])?;
        Ok(self)
    }

    /// Adds a market level (e.g. the index; drawn under the regime shading, instead of the
    /// strategy's equity) and an optional indicator panel (e.g. VIX); one value per period
    /// of the record given to [`TearSheet::new`], non-finite = missing.
    pub fn with_market(mut self, level: Series, indicator: Option<Series>) -> MetricsResult<TearSheet> {
        let skip = self.report.warmup_dropped;
        let n = self.returns.len() + skip;
        let cut = |s: Series| -> MetricsResult<Series> {
            prudentia_core::validate::check_shape("market series", &[n], &[s.values.len()])?;
            Ok(Series::new(s.name, s.values[skip..].to_vec()))
        };
        let level = cut(level)?;
        let indicator = indicator.map(cut).transpose()?;
        // Validates values as the chart will.
        Chart::lines("market", "", &self.times, vec![level.clone()])?;
        self.market = Some((level, indicator));
        Ok(self)
    }

    /// Adds a configuration shown as JSON in the tear sheet's last section (e.g. the
    /// pipeline's and the backtest's settings).
    pub fn with_configuration<T: Serialize>(mut self, name: &str, config: &T) -> MetricsResult<TearSheet> {
        let json = serde_json::to_string_pretty(config).map_err(|e| MetricsError::Serialize {
            detail: e.to_string(),
        })?;
        self.configuration.push((name.to_owned(), json));
        Ok(self)
    }

    /// Window of the rolling Sharpe and volatility chart, periods (≥ 2). Default 126.
    pub fn with_rolling_window(mut self, window: usize) -> MetricsResult<TearSheet> {
        if window < 2 {
            return Err(MetricsError::Core(prudentia_core::CoreError::OutOfRange {
                field: "rolling window",
                value: window as f64,
                expected: "at least 2 periods",
            }));
        }
        self.rolling_window = window;
        Ok(self)
    }

    /// The charts of the tear sheet, `(id, caption, chart)`, in order.
    pub fn charts(&self) -> MetricsResult<Vec<(&'static str, String, Chart)>> {
        let t = &self.times;
        let r = &self.returns;
        let mut out = Vec::new();
        let bench = self.report.benchmark.as_ref();
        out.push((
            "equity",
            match bench {
                Some(b) => format!("Equity of the strategy and of {}, start = 1.", b.name),
                None => "Equity of the strategy, start = 1.".to_owned(),
            },
            Chart::equity(
                "Equity",
                t,
                ("strategy", r),
                bench.map(|b| (b.name.as_str(), b.returns.as_slice())),
            )?,
        ));
        out.push((
            "underwater",
            "Drawdown from the running peak (underwater curve).".to_owned(),
            Chart::underwater("Drawdown", t, &self.report.drawdown)?,
        ));
        if let Some((assets, rows)) = &self.weights {
            out.push((
                "weights",
                format!(
                    "Sized weights: the {MAX_LABELLED_POSITIONS} largest positions by mean absolute weight stacked (longs up, shorts down), the rest as \"other\"; gross and net exposure beneath."
                ),
                Chart::weights("Positions", t, assets, rows, MAX_LABELLED_POSITIONS)?,
            ));
        }
        if let Some(labels) = &self.regimes {
            let (level, indicator) = match &self.market {
                Some((l, i)) => (l.clone(), i.clone()),
                None => (
                    Series::new("strategy equity", self.report.equity[1..].to_vec()),
                    None,
                ),
            };
            out.push((
                "regimes",
                "Detected regime at each decision (shading, one colour per label present; lines mark the changes).".to_owned(),
                Chart::regimes("Regimes", t, level, labels, indicator)?,
            ));
        }
        out.push((
            "monthly",
            "Compounded return of each calendar month, percent.".to_owned(),
            Chart::monthly_returns("Monthly returns (%)", t, r)?,
        ));
        if r.len() > self.rolling_window {
            out.push((
                "rolling",
                format!(
                    "Rolling Sharpe ratio and volatility over {} periods, annualized.",
                    self.rolling_window
                ),
                Chart::rolling(
                    "Rolling Sharpe and volatility",
                    t,
                    r,
                    self.rolling_window,
                    self.report.config.annualization,
                )?,
            ));
        }
        if r.len() >= 2 {
            out.push((
                "distribution",
                "Distribution of the period returns with the historical VaR and CVaR.".to_owned(),
                Chart::distribution(
                    "Return distribution",
                    t,
                    r,
                    self.report.config.tail.get().clamp(1e-6, 0.49),
                )?,
            ));
        }
        Ok(out)
    }

    fn metrics_table(&self, html: &mut String) {
        let s = &self.report.summary;
        let b: Option<&PerformanceSummary> = self.report.benchmark.as_ref().map(|b| &b.summary);
        let tail = 100.0 * (1.0 - self.report.config.tail.get());
        type Row = (String, fn(&PerformanceSummary) -> String);
        let rows: Vec<Row> = vec![
            ("Cumulative return".into(), |s| pct(s.cumulative_return)),
            ("Annual return (CAGR)".into(), |s| pct(s.annual_return)),
            ("Annual volatility".into(), |s| pct(s.annual_volatility)),
            ("Sharpe".into(), |s| num(s.sharpe)),
            ("Sortino".into(), |s| num(s.sortino)),
            ("Calmar".into(), |s| num(s.calmar)),
            ("Max drawdown".into(), |s| pct(Stat::Value(s.max_drawdown))),
            ("Omega".into(), |s| num(s.omega)),
            ("Tail ratio".into(), |s| num(s.tail_ratio)),
            ("Skewness".into(), |s| num(s.skewness)),
            ("Kurtosis".into(), |s| num(s.kurtosis)),
            (format!("VaR {tail:.0}%"), |s| pct(s.var)),
            (format!("CVaR {tail:.0}%"), |s| pct(s.cvar)),
            ("Best period".into(), |s| pct(Stat::from_value(s.best_period))),
            ("Worst period".into(), |s| pct(Stat::from_value(s.worst_period))),
            ("Positive periods".into(), |s| {
                pct(Stat::from_value(s.positive_share))
            }),
            ("Probabilistic Sharpe".into(), |s| num(s.probabilistic_sharpe)),
        ];
        html.push_str("<table id=\"metrics-table\"><tr><th>Metric</th><th>Strategy</th>");
        if let Some(bm) = &self.report.benchmark {
            let _ = write!(html, "<th>{}</th>", esc(&bm.name));
        }
        html.push_str("</tr>");
        for (name, f) in rows {
            let _ = write!(html, "<tr><td>{}</td><td>{}</td>", esc(&name), f(s));
            if let Some(b) = b {
                let _ = write!(html, "<td>{}</td>", f(b));
            }
            html.push_str("</tr>");
        }
        html.push_str("</table>");
        if let Some(bm) = &self.report.benchmark {
            let r = &bm.relative;
            let _ = write!(
                html,
                "<table id=\"relative-table\"><tr><th>Against {}</th><th></th></tr>\
                 <tr><td>Alpha (annual)</td><td>{}</td></tr><tr><td>Beta</td><td>{}</td></tr>\
                 <tr><td>Correlation</td><td>{}</td></tr><tr><td>Tracking error</td><td>{}</td></tr>\
                 <tr><td>Information ratio</td><td>{}</td></tr><tr><td>Up capture</td><td>{}</td></tr>\
                 <tr><td>Down capture</td><td>{}</td></tr></table>",
                esc(&bm.name),
                pct(r.alpha),
                num(r.beta),
                num(r.correlation),
                pct(r.tracking_error),
                num(r.information_ratio),
                num(r.up_capture),
                num(r.down_capture)
            );
        }
    }

    fn risk_gap(&self) -> Option<RiskGap> {
        let sigma = self.forecast_sigma.as_ref()?;
        let (r, s): (Vec<f64>, Vec<f64>) = self
            .returns
            .iter()
            .zip(sigma)
            .filter(|(_, s)| s.is_finite() && **s > 0.0)
            .map(|(r, s)| (*r, *s))
            .unzip();
        let returns = Returns::new(r).ok()?;
        risk_gap(&returns, &s, self.report.config.annualization).ok()
    }

    fn decision_quality(&self, html: &mut String) {
        let mut rows: Vec<(String, String)> = Vec::new();
        if let Some(m) = &self.report.selector {
            rows.push(("Selector: decisions scored".into(), m.decisions.to_string()));
            rows.push((
                "Selector: mean regret vs best slate in hindsight".into(),
                format!("{:.3}%", 100.0 * m.mean_regret),
            ));
            rows.push((
                "Selector: top-K hit rate".into(),
                format!("{:.3}", m.mean_hit_rate),
            ));
            rows.push((
                "Selector: mean slate return".into(),
                format!("{:.3}%", 100.0 * m.mean_slate_return),
            ));
        }
        if let Some(g) = self.risk_gap() {
            rows.push((
                "Sizer: forecast volatility (annual, independent assets)".into(),
                format!("{:.2}%", 100.0 * g.forecast_volatility),
            ));
            rows.push((
                "Sizer: realized volatility (annual)".into(),
                pct(g.realized_volatility),
            ));
            rows.push((
                "Sizer: risk gap (realized / forecast − 1)".into(),
                pct(g.relative_gap),
            ));
            rows.push((
                "Sizer: periods beyond ±1.96 forecast σ".into(),
                format!("{:.2}%", 100.0 * g.exceedance_rate),
            ));
        }
        if let Some(m) = &self.report.sizer {
            rows.push((
                "Sizer: PnL per unit turnover".into(),
                match m.pnl_per_turnover {
                    Stat::Value(v) => format!("{v:.2e}"),
                    u => num(u),
                },
            ));
            if let Some(e) = &m.exposure {
                rows.push((
                    "Sizer: mean gross exposure".into(),
                    format!("{:.3}", e.mean_gross),
                ));
                rows.push(("Sizer: mean net exposure".into(), format!("{:.3}", e.mean_net)));
                rows.push(("Sizer: mean turnover".into(), format!("{:.3}", e.mean_turnover)));
                rows.push(("Sizer: mean positions".into(), format!("{:.1}", e.mean_positions)));
            }
        }
        if let Some(m) = &self.report.execution {
            rows.push(("Execution: fills".into(), m.fills.to_string()));
            rows.push((
                "Execution: implementation shortfall".into(),
                format!("{:.2} bp", m.implementation_shortfall_bps),
            ));
        }
        if let Some(h) = &self.report.health {
            if let Some(f) = &h.fallbacks {
                rows.push((
                    "Fallback days (positions kept)".into(),
                    format!(
                        "{} of {} ({:.2}%)",
                        f.fallbacks,
                        f.decisions,
                        100.0 * f.fallback_rate
                    ),
                ));
            }
            if let Some(c) = &h.calibration {
                rows.push(("Forecast calibration ECE".into(), format!("{:.4}", c.ece)));
            }
            if let Some(r) = &h.regimes {
                rows.push(("Regime changes".into(), r.changes.to_string()));
            }
        }
        if self.report.warmup_dropped > 0 {
            rows.push((
                "Warm-up periods left out".into(),
                self.report.warmup_dropped.to_string(),
            ));
        }
        if rows.is_empty() {
            html.push_str("<p class=\"note\">No decisions were recorded with this backtest.</p>");
            return;
        }
        html.push_str("<table id=\"decision-table\"><tr><th>Measure</th><th>Value</th></tr>");
        for (k, v) in rows {
            let _ = write!(html, "<tr><td>{}</td><td>{v}</td></tr>", esc(&k));
        }
        html.push_str("</table>");
        if self.forecast_sigma.is_some() {
            html.push_str(
                "<p class=\"note\">The sizer's forecast volatility is √(Σ w²σ²) from each decision's sized weights \
                 and per-asset forecast σ, as if the assets were independent; correlated books realize more.</p>",
            );
        }
    }

    fn fallback_list(&self, html: &mut String) {
        if self.fallbacks.is_empty() {
            html.push_str("<p>No fallback days.</p>");
            return;
        }
        // Group identical reason lists into runs (e.g. the warm-up).
        let _ = write!(
            html,
            "<table id=\"fallback-table\"><tr><th>Date</th><th>Reasons</th></tr>"
        );
        let mut i = 0;
        let mut listed = 0;
        while i < self.fallbacks.len() && listed < MAX_LISTED_FALLBACKS {
            let (t0, reasons) = &self.fallbacks[i];
            let key = reasons
                .first()
                .map(|r| r.split(':').next().unwrap_or(""))
                .unwrap_or("");
            let mut j = i + 1;
            while j < self.fallbacks.len()
                && self.fallbacks[j]
                    .1
                    .first()
                    .map(|r| r.split(':').next().unwrap_or(""))
                    .unwrap_or("")
                    == key
                && key.starts_with("warming up")
            {
                j += 1;
            }
            let date = if j - i > 1 {
                format!(
                    "{} .. {} ({} days)",
                    iso_8601(*t0),
                    iso_8601(self.fallbacks[j - 1].0),
                    j - i
                )
            } else {
                iso_8601(*t0)
            };
            let shown: Vec<String> = reasons.iter().take(4).map(|r| esc(r)).collect();
            let more = if reasons.len() > 4 {
                format!("; … {} more", reasons.len() - 4)
            } else {
                String::new()
            };
            let _ = write!(
                html,
                "<tr><td>{date}</td><td>{}{more}</td></tr>",
                shown.join("; ")
            );
            i = j;
            listed += 1;
        }
        html.push_str("</table>");
        if i < self.fallbacks.len() {
            let _ = write!(
                html,
                "<p class=\"note\">… and {} more fallback days (see the CSV export).</p>",
                self.fallbacks.len() - i
            );
        }
    }

    /// The tear sheet as one self-contained HTML document.
    pub fn to_html(&self) -> MetricsResult<String> {
        let rep = &self.report;
        let mut html = String::with_capacity(1 << 20);
        let period = match (rep.start, rep.end) {
            (Some(a), Some(b)) => format!("{} to {}", iso_8601(a), iso_8601(b)),
            _ => String::new(),
        };
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title><style>{CSS}</style></head><body>\
             <header><h1>{title}</h1><p>{period} · {n} periods{warm} · prudentia-metrics {ver}</p></header><main>",
            title = esc(&rep.config.title),
            n = rep.summary.observations,
            warm = if rep.warmup_dropped > 0 {
                format!(" (after {} warm-up periods)", rep.warmup_dropped)
            } else {
                String::new()
            },
            ver = env!("CARGO_PKG_VERSION"),
        );
        html.push_str("<section id=\"summary\"><h2>Performance</h2><div class=\"cols\">");
        self.metrics_table(&mut html);
        html.push_str("</div></section>");
        html.push_str("<section id=\"charts\"><h2>Charts</h2>");
        for (id, caption, chart) in self.charts()? {
            let height = match id {
                "weights" | "regimes" | "rolling" => 520,
                "monthly" => (90 + 34 * (rep.summary.observations / 250 + 2)).clamp(240, 900) as u32,
                _ => 380,
            };
            let svg = chart.to_svg(WIDTH, height)?;
            let _ = write!(
                html,
                "<figure class=\"chart\" id=\"chart-{id}\">{svg}<figcaption>{}</figcaption></figure>",
                esc(&caption)
            );
        }
        html.push_str("</section>");
        html.push_str("<section id=\"decisions\"><h2>Decision quality</h2>");
        self.decision_quality(&mut html);
        html.push_str("<h2>Fallback days</h2>");
        self.fallback_list(&mut html);
        html.push_str("</section>");
        html.push_str("<section id=\"configuration\"><h2>Configuration</h2>");
        for (name, json) in &self.configuration {
            let _ = write!(html, "<h3>{}</h3><pre>{}</pre>", esc(name), esc(json));
        }
        html.push_str("</section></main></body></html>\n");
        Ok(html)
    }

    /// Writes [`TearSheet::to_html`] to `path`.
    pub fn write_html(&self, path: &std::path::Path) -> MetricsResult<()> {
        let html = self.to_html()?;
        std::fs::write(path, html).map_err(|e| MetricsError::Serialize {
            detail: format!("writing {}: {e}", path.display()),
        })
    }
}
