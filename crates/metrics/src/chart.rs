//! Charts of a backtest that can be read: dates on every time axis, missing values drawn as
//! gaps, legends outside the data listing only what is drawn.
//!
//! Each constructor validates its input and returns a [`Chart`]; [`Chart::to_svg`] draws it
//! (and `Chart::to_png` with the `png` feature). The charts:
//!
//! - [`Chart::lines`]: named series over time (an equity curve with a benchmark overlay, an
//!   index level, VIX). A non-finite value is *missing*: the line stops and starts again,
//!   it is never drawn as zero.
//! - [`Chart::weights`]: the largest positions as a stacked area (longs stacked up from
//!   zero, shorts down), the rest summed as "other", with gross and net exposure beneath.
//! - [`Chart::regimes`]: a level (e.g. the index) with one shading colour per regime label
//!   present, the change points marked, and an optional indicator panel (e.g. VIX).
//! - [`Chart::underwater`]: the drawdown curve.
//! - [`Chart::monthly_returns`]: compounded returns per calendar month, a year × month
//!   heatmap.
//! - [`Chart::rolling`]: rolling Sharpe ratio and annualized volatility.
//! - [`Chart::distribution`]: histogram of the period returns with VaR and CVaR marked.
//!
//! Times are [`Timestamp`]s and must increase strictly; the x axis is calendar time (a
//! weekend takes its calendar width), with ticks on 1 January over spans above three years,
//! on the first of a month over spans above 75 days (labelled `YYYY-MM`), and on evenly
//! spaced days otherwise (labelled `YYYY-MM-DD`).
//!
//! ```
//! use prudentia_core::Timestamp;
//! use prudentia_metrics::chart::{Chart, Series};
//!
//! # fn main() -> Result<(), prudentia_metrics::MetricsError> {
//! let times: Vec<Timestamp> = (1..=5).filter_map(|d| Timestamp::from_ymd(2024, 3, d)).collect();
//! // a holiday on the third day: a gap, not a drop to zero
//! let vix = Series::new("VIX", vec![14.0, 15.5, f64::NAN, 16.0, 15.0]);
//! let svg = Chart::lines("VIX", "level", &times, vec![vix])?.to_svg(800, 400)?;
//! // two line segments (series are drawn 2 px wide; axes and grid 1 px)
//! let lines = svg
//!     .split("<polyline")
//!     .skip(1)
//!     .filter(|p| p.split('>').next().unwrap_or("").contains("stroke-width=\"2\""))
//!     .count();
//! assert_eq!(lines, 2);
//! assert!(svg.contains("2024-03-0"));
//! # Ok(()) }
//! ```

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use prudentia_core::validate::{check_elements, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW};
use prudentia_core::{CoreError, Timestamp};

use crate::error::{MetricsError, MetricsResult};
use crate::types::Annualization;

/// Line colours (Tableau 10), in order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Light shading colours for regime labels, in order of first appearance.
const SHADES: [RGBColor; 8] = [
    RGBColor(198, 219, 239),
    RGBColor(253, 208, 162),
    RGBColor(252, 187, 161),
    RGBColor(199, 233, 192),
    RGBColor(218, 218, 235),
    RGBColor(246, 232, 195),
    RGBColor(204, 235, 197),
    RGBColor(222, 203, 228),
];
const OTHER: RGBColor = RGBColor(190, 190, 190);
/// Largest magnitude a chart draws: beyond it axis ranges could overflow.
const MAX_VALUE: f64 = 1e300;
/// Most labelled positions of a weights chart (plus "other").
pub const MAX_LABELLED_POSITIONS: usize = 10;
/// Width of the legend column, pixels.
const LEGEND_WIDTH: u32 = 170;
const FONT: &str = "sans-serif";

fn plot_err<E: std::fmt::Display>(stage: &'static str) -> impl Fn(E) -> MetricsError {
    move |e| MetricsError::Plot {
        stage,
        detail: e.to_string(),
    }
}

fn invalid(field: &'static str, value: f64, expected: &'static str) -> MetricsError {
    MetricsError::Core(CoreError::OutOfRange {
        field,
        value,
        expected,
    })
}

/// A named series; non-finite values are missing and drawn as gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// One value per time; NaN or ±∞ = missing.
    pub values: Vec<f64>,
}

impl Series {
    /// A series named `name`.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            values,
        }
    }
    fn drawn(&self) -> bool {
        self.values.iter().any(|v| v.is_finite())
    }
}

/// Regime labels per time for [`Chart::regimes`].
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Lines {
        y_desc: String,
        series: Vec<Series>,
        percent: bool,
    },
    Weights {
        /// Stacked layers: labelled positions, then "other" (may be all zero).
        layers: Vec<Series>,
        gross: Vec<f64>,
        net: Vec<f64>,
    },
    Regimes {
        level: Series,
        labels: Vec<String>,
        indicator: Option<Series>,
    },
    Underwater {
        drawdown: Vec<f64>,
    },
    Monthly {
        first_year: i32,
        /// Per year, 12 months; NaN = no return that month.
        cells: Vec<[f64; 12]>,
    },
    Rolling {
        window: usize,
        sharpe: Vec<f64>,
        volatility: Vec<f64>,
    },
    Distribution {
        returns: Vec<f64>,
        var: f64,
        cvar: f64,
        tail: f64,
    },
}

/// A validated chart, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    title: String,
    times: Vec<Timestamp>,
    kind: Kind,
}

fn check_times(times: &[Timestamp]) -> MetricsResult<()> {
    if times.is_empty() {
        return Err(MetricsError::Core(CoreError::EmptyInput {
            field: "times",
            len: 0,
            min: 1,
        }));
    }
    check_size("times", times.len(), MAX_ELEMENTS)?;
    if times.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid("times", f64::NAN, "strictly increasing times"));
    }
    Ok(())
}

fn check_values(field: &'static str, values: &[f64], n: usize) -> MetricsResult<()> {
    prudentia_core::validate::check_shape(field, &[n], &[values.len()])?;
    if let Some(v) = values.iter().find(|v| v.is_finite() && v.abs() > MAX_VALUE) {
        return Err(invalid(field, *v, "values within ±1e300 (non-finite = missing)"));
    }
    Ok(())
}

fn finite_or_nan(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        f64::NAN
    }
}

impl Chart {
    /// Named series over `times` (one value per time each; non-finite = missing, a gap).
    /// Series without any finite value are not drawn and not in the legend.
    pub fn lines(
        title: &str,
        y_desc: &str,
        times: &[Timestamp],
        series: Vec<Series>,
    ) -> MetricsResult<Chart> {
        check_times(times)?;
        check_size("series", series.len(), MAX_DIM)?;
        for s in &series {
            check_values("series", &s.values, times.len())?;
        }
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Lines {
                y_desc: y_desc.to_owned(),
                series,
                percent: false,
            },
        })
    }

    /// Equity curves (start = 1) of a strategy and, when given, a benchmark, from their
    /// per-period returns (the first point is after the first return).
    pub fn equity(
        title: &str,
        times: &[Timestamp],
        strategy: (&str, &[f64]),
        benchmark: Option<(&str, &[f64])>,
    ) -> MetricsResult<Chart> {
        let wealth = |r: &[f64]| {
            let mut w = 1.0_f64;
            r.iter()
                .map(|x| {
                    if x.is_finite() {
                        w *= 1.0 + x;
                    }
                    w
                })
                .collect::<Vec<f64>>()
        };
        let mut series = vec![Series::new(strategy.0, wealth(strategy.1))];
        if let Some((name, r)) = benchmark {
            series.push(Series::new(name, wealth(r)));
        }
        Chart::lines(title, "equity (start = 1)", times, series)
    }

    /// Weights over time: `assets` names the columns of `weights` (one row per time, finite).
    /// The `max_labelled` (at most [`MAX_LABELLED_POSITIONS`]) positions with the largest
    /// mean absolute weight are stacked and labelled, the rest summed into "other"; gross
    /// (`Σ|w|`) and net (`Σw`) exposure are drawn beneath.
    pub fn weights(
        title: &str,
        times: &[Timestamp],
        assets: &[String],
        weights: &[Vec<f64>],
        max_labelled: usize,
    ) -> MetricsResult<Chart> {
        check_times(times)?;
        check_size("assets", assets.len(), MAX_DIM)?;
        check_elements("weights", &[times.len(), assets.len()], MAX_ELEMENTS)?;
        prudentia_core::validate::check_shape("weights", &[times.len()], &[weights.len()])?;
        for row in weights {
            prudentia_core::validate::check_shape("weights row", &[assets.len()], &[row.len()])?;
            if let Some(v) = row.iter().find(|v| !(v.is_finite() && v.abs() <= 1e6)) {
                return Err(invalid("weights", *v, "finite weights within ±1e6"));
            }
        }
        let k = max_labelled.clamp(1, MAX_LABELLED_POSITIONS).min(assets.len());
        let n = times.len();
        let mut order: Vec<(usize, f64)> = (0..assets.len())
            .map(|j| (j, weights.iter().map(|r| r[j].abs()).sum::<f64>() / n as f64))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top: Vec<usize> = order
            .iter()
            .take(k)
            .filter(|(_, m)| *m > 0.0)
            .map(|(j, _)| *j)
            .collect();
        let mut layers: Vec<Series> = top
            .iter()
            .map(|&j| Series::new(assets[j].clone(), weights.iter().map(|r| r[j]).collect()))
            .collect();
        let other: Vec<f64> = weights
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(j, _)| !top.contains(j))
                    .map(|(_, v)| v)
                    .sum()
            })
            .collect();
        // "other" of longs and shorts would net out: keep its parts separate by stacking
        // positive and negative parts of every asset outside the top.
        let other_pos: Vec<f64> = weights
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(j, _)| !top.contains(j))
                    .map(|(_, v)| v.max(0.0))
                    .sum()
            })
            .collect();
        let other_neg: Vec<f64> = other.iter().zip(&other_pos).map(|(o, p)| o - p).collect();
        if other_pos.iter().chain(&other_neg).any(|v| *v != 0.0) {
            layers.push(Series::new("other", other_pos));
            layers.push(Series::new("other", other_neg));
        }
        let gross = weights.iter().map(|r| r.iter().map(|v| v.abs()).sum()).collect();
        let net = weights.iter().map(|r| r.iter().sum()).collect();
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Weights { layers, gross, net },
        })
    }

    /// A level series (e.g. an index; non-finite = missing) shaded by regime label, one
    /// colour per label present, with each change of label marked; `indicator` (e.g. VIX)
    /// is drawn in a panel beneath.
    pub fn regimes(
        title: &str,
        times: &[Timestamp],
        level: Series,
        labels: &[String],
        indicator: Option<Series>,
    ) -> MetricsResult<Chart> {
        check_times(times)?;
        check_values("level", &level.values, times.len())?;
        prudentia_core::validate::check_shape("labels", &[times.len()], &[labels.len()])?;
        if let Some(s) = &indicator {
            check_values("indicator", &s.values, times.len())?;
        }
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Regimes {
                level,
                labels: labels.to_vec(),
                indicator,
            },
        })
    }

    /// The drawdown after each period (in `[−1, 0]`), as a filled underwater curve.
    pub fn underwater(title: &str, times: &[Timestamp], drawdown: &[f64]) -> MetricsResult<Chart> {
        check_times(times)?;
        check_values("drawdown", drawdown, times.len())?;
        if let Some(d) = drawdown.iter().find(|d| !(-1.0..=0.0).contains(*d)) {
            return Err(invalid("drawdown", *d, "drawdowns in [-1, 0]"));
        }
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Underwater {
                drawdown: drawdown.to_vec(),
            },
        })
    }

    /// Compounded return of each calendar month (of the period end times), as a year ×
    /// month heatmap with the values printed in percent. Returns must be finite and ≥ −1.
    pub fn monthly_returns(title: &str, times: &[Timestamp], returns: &[f64]) -> MetricsResult<Chart> {
        check_times(times)?;
        check_returns(returns, times.len())?;
        let ym = |t: Timestamp| {
            let s = t.date().to_string();
            let mut parts = s.split('-');
            let y: i32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let m: usize = parts.next().and_then(|p| p.parse().ok()).unwrap_or(1);
            (y, m.clamp(1, 12) - 1)
        };
        let first_year = ym(times[0]).0;
        let last_year = ym(times[times.len() - 1]).0;
        let years = usize::try_from(i64::from(last_year) - i64::from(first_year) + 1).unwrap_or(0);
        check_size("years", years, 1000)?;
        let mut growth = vec![[f64::NAN; 12]; years];
        for (t, r) in times.iter().zip(returns) {
            let (y, m) = ym(*t);
            let row = usize::try_from(i64::from(y) - i64::from(first_year)).unwrap_or(0);
            let cell = &mut growth[row.min(years - 1)][m];
            *cell = if cell.is_nan() { 1.0 + r } else { *cell * (1.0 + r) };
        }
        let cells = growth
            .into_iter()
            .map(|row| row.map(|g| finite_or_nan(g - 1.0)))
            .collect();
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Monthly { first_year, cells },
        })
    }

    /// Rolling annualized Sharpe ratio (risk-free 0) and volatility over `window` periods
    /// (≥ 2); the first `window − 1` periods and windows of zero dispersion are gaps.
    pub fn rolling(
        title: &str,
        times: &[Timestamp],
        returns: &[f64],
        window: usize,
        annualization: Annualization,
    ) -> MetricsResult<Chart> {
        check_times(times)?;
        check_returns(returns, times.len())?;
        if window < 2 {
            return Err(invalid("window", window as f64, "at least 2 periods"));
        }
        check_size("window", window, MAX_WINDOW)?;
        let k = annualization.periods_per_year();
        let n = returns.len();
        let (mut sharpe, mut volatility) = (vec![f64::NAN; n], vec![f64::NAN; n]);
        for t in window.saturating_sub(1)..n {
            let w = &returns[t + 1 - window..=t];
            let mean = w.iter().sum::<f64>() / window as f64;
            let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (window - 1) as f64;
            let sd = var.sqrt();
            volatility[t] = finite_or_nan(sd * k.sqrt());
            if sd > 1e-12 * mean.abs().max(1e-300) && sd > 0.0 {
                sharpe[t] = finite_or_nan(mean / sd * k.sqrt());
            }
        }
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Rolling {
                window,
                sharpe,
                volatility,
            },
        })
    }

    /// Histogram of `returns` (finite, ≥ −1; at least 2) with the historical VaR and CVaR at
    /// tail `tail` (e.g. 0.05) marked; `times` are only validated (one per return).
    pub fn distribution(
        title: &str,
        times: &[Timestamp],
        returns: &[f64],
        tail: f64,
    ) -> MetricsResult<Chart> {
        check_times(times)?;
        check_returns(returns, times.len())?;
        if returns.len() < 2 {
            return Err(invalid("returns", returns.len() as f64, "at least 2 returns"));
        }
        if !(tail > 0.0 && tail < 0.5) {
            return Err(invalid("tail", tail, "in (0, 0.5)"));
        }
        let mut sorted = returns.to_vec();
        sorted.sort_by(f64::total_cmp);
        let pos = (sorted.len() - 1) as f64 * tail;
        let (i, f) = (pos.floor() as usize, pos - pos.floor());
        let var = sorted[i] + f * (sorted[(i + 1).min(sorted.len() - 1)] - sorted[i]);
        let m = ((sorted.len() - 1) as f64 * tail).floor() as usize + 1;
        let cvar = sorted[..m].iter().sum::<f64>() / m as f64;
        Ok(Chart {
            title: title.to_owned(),
            times: times.to_vec(),
            kind: Kind::Distribution {
                returns: returns.to_vec(),
                var,
                cvar,
                tail,
            },
        })
    }

    /// Draws values in percent on the y axis (multiplies by 100 when drawing). For
    /// [`Chart::lines`] only; other charts choose their own units.
    pub fn in_percent(mut self) -> Chart {
        if let Kind::Lines { percent, .. } = &mut self.kind {
            *percent = true;
        }
        self
    }

    /// The legend entries the chart will draw, in order.
    pub fn legend(&self) -> Vec<String> {
        self.legend_items().into_iter().map(|(name, _)| name).collect()
    }

    /// The chart as an SVG document of `width × height` pixels (each in [200, 20000]).
    pub fn to_svg(&self, width: u32, height: u32) -> MetricsResult<String> {
        crate::plot::check_chart_size(width, height)?;
        crate::plot::ensure_font()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            self.draw(&root)?;
        }
        Ok(svg)
    }

    /// The chart as a PNG file (8-bit RGB), `width × height` pixels (each in [200, 20000]).
    #[cfg(feature = "png")]
    pub fn to_png(&self, width: u32, height: u32) -> MetricsResult<Vec<u8>> {
        crate::plot::check_chart_size(width, height)?;
        crate::plot::ensure_font()?;
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            self.draw(&root)?;
        }
        Ok(crate::png::encode_rgb(width, height, &rgb))
    }

    fn legend_items(&self) -> Vec<(String, Mark)> {
        match &self.kind {
            Kind::Lines { series, .. } => series
                .iter()
                .enumerate()
                .filter(|(_, s)| s.drawn())
                .map(|(i, s)| (s.name.clone(), Mark::Line(PALETTE[i % PALETTE.len()])))
                .collect(),
            Kind::Weights { layers, .. } => {
                let mut items: Vec<(String, Mark)> = Vec::new();
                for (i, l) in layers.iter().enumerate() {
                    if l.name == "other" {
                        if !items.iter().any(|(n, _)| n == "other") {
                            items.push(("other".into(), Mark::Fill(OTHER)));
                        }
                    } else {
                        items.push((l.name.clone(), Mark::Fill(PALETTE[i % PALETTE.len()])));
                    }
                }
                items.push(("gross exposure".into(), Mark::Line(BLACK)));
                items.push(("net exposure".into(), Mark::Line(PALETTE[3])));
                items
            }
            Kind::Regimes { level, labels, .. } => {
                let mut items = Vec::new();
                if level.drawn() {
                    items.push((level.name.clone(), Mark::Line(BLACK)));
                }
                for (i, l) in present_labels(labels).iter().enumerate() {
                    items.push((l.clone(), Mark::Fill(SHADES[i % SHADES.len()])));
                }
                if labels.windows(2).any(|w| w[0] != w[1]) {
                    items.push(("regime change".into(), Mark::Line(RGBColor(90, 90, 90))));
                }
                items
            }
            Kind::Underwater { .. } => vec![("drawdown".into(), Mark::Fill(PALETTE[3]))],
            Kind::Monthly { .. } => Vec::new(),
            Kind::Rolling { window, .. } => vec![
                (format!("Sharpe, {window} periods"), Mark::Line(PALETTE[0])),
                (format!("volatility, {window} periods"), Mark::Line(PALETTE[1])),
            ],
            Kind::Distribution { var, cvar, tail, .. } => vec![
                ("returns".into(), Mark::Fill(PALETTE[0])),
                (
                    format!("VaR {:.0}%: {:.2}%", 100.0 * (1.0 - tail), 100.0 * var),
                    Mark::Line(PALETTE[1]),
                ),
                (
                    format!("CVaR {:.0}%: {:.2}%", 100.0 * (1.0 - tail), 100.0 * cvar),
                    Mark::Line(PALETTE[3]),
                ),
            ],
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> MetricsResult<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(plot_err("filling the background"))?;
        let (w, _) = root.dim_in_pixel();
        let titled = root
            .titled(&self.title, (FONT, 18))
            .map_err(plot_err("drawing the title"))?;
        let items = self.legend_items();
        let (plot, legend) = if items.is_empty() {
            (titled.clone(), None)
        } else {
            let (p, l) = titled.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
            (p, Some(l))
        };
        let axis = DateAxis::new(&self.times);
        match &self.kind {
            Kind::Lines {
                y_desc,
                series,
                percent,
            } => {
                let scale = if *percent { 100.0 } else { 1.0 };
                let (lo, hi) = y_range(
                    series.iter().flat_map(|s| s.values.iter().map(|v| v * scale)),
                    false,
                );
                let mut chart = time_chart(&plot, &axis, lo..hi, y_desc, 35)?;
                for (i, s) in series.iter().enumerate() {
                    let ys: Vec<f64> = s.values.iter().map(|v| v * scale).collect();
                    draw_gapped(&mut chart, &axis, &ys, PALETTE[i % PALETTE.len()].stroke_width(2))?;
                }
            }
            Kind::Weights { layers, gross, net } => {
                draw_weights(&plot, &axis, self.times.len(), layers, [gross, net])?
            }
            Kind::Regimes {
                level,
                labels,
                indicator,
            } => draw_regimes(&plot, &axis, level, labels, indicator.as_ref())?,
            Kind::Underwater { drawdown } => {
                let dd: Vec<f64> = drawdown.iter().map(|d| d * 100.0).collect();
                let lo = dd.iter().copied().fold(0.0_f64, f64::min).min(-1e-6) * 1.05;
                let mut chart = time_chart(&plot, &axis, lo..0.0, "drawdown (%)", 35)?;
                let pts: Vec<(f64, f64)> = (0..dd.len()).map(|t| (axis.x(t), dd[t])).collect();
                chart
                    .draw_series(AreaSeries::new(pts, 0.0, PALETTE[3].mix(0.35)).border_style(PALETTE[3]))
                    .map_err(plot_err("drawing the drawdown area"))?;
            }
            Kind::Monthly { first_year, cells } => draw_monthly(&plot, *first_year, cells)?,
            Kind::Rolling {
                sharpe, volatility, ..
            } => {
                let (_, ph) = plot.dim_in_pixel();
                let (upper, lower) = plot.split_vertically(ph / 2);
                let (lo, hi) = y_range(sharpe.iter().copied().chain([0.0]), false);
                let mut chart = time_chart(&upper, &axis, lo..hi, "Sharpe (annual)", 35)?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(axis.x(0), 0.0), (axis.x(self.times.len() - 1), 0.0)],
                        RGBColor(160, 160, 160),
                    )))
                    .map_err(plot_err("drawing the zero line"))?;
                draw_gapped(&mut chart, &axis, sharpe, PALETTE[0].stroke_width(2))?;
                let vol: Vec<f64> = volatility.iter().map(|v| v * 100.0).collect();
                let (lo, hi) = y_range(vol.iter().copied().chain([0.0]), false);
                let mut chart = time_chart(&lower, &axis, lo..hi, "volatility (annual %)", 35)?;
                draw_gapped(&mut chart, &axis, &vol, PALETTE[1].stroke_width(2))?;
            }
            Kind::Distribution {
                returns, var, cvar, ..
            } => draw_distribution(&plot, returns, *var, *cvar)?,
        }
        if let Some(area) = legend {
            draw_legend(&area, &items)?;
        }
        root.present().map_err(plot_err("finishing the document"))?;
        Ok(())
    }
}

fn check_returns(returns: &[f64], n: usize) -> MetricsResult<()> {
    prudentia_core::validate::check_shape("returns", &[n], &[returns.len()])?;
    if let Some(r) = returns
        .iter()
        .find(|r| !(r.is_finite() && **r >= -1.0 && **r <= MAX_VALUE))
    {
        return Err(invalid("returns", *r, "finite returns in [-1, 1e300]"));
    }
    Ok(())
}

/// Labels in order of first appearance.
fn present_labels(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Fill(RGBColor),
}

/// Calendar x axis: days since the first time, ticks on calendar boundaries (1 January,
/// the first of a month, or evenly spaced days), labelled with dates.
struct DateAxis {
    t0: Timestamp,
    xs: Vec<f64>,
    /// Tick positions (days since `t0`) and whether labels show the day.
    ticks: Vec<f64>,
    with_day: bool,
}

impl DateAxis {
    fn new(times: &[Timestamp]) -> DateAxis {
        // Days since midnight UTC of the first date.
        let first = times.first().copied().unwrap_or(Timestamp::from_nanos(0));
        let t0 = Timestamp::from_date(first.date());
        let xs: Vec<f64> = times.iter().map(|t| t.days_since(t0)).collect();
        let span = xs.last().copied().unwrap_or(0.0).max(1.0);
        let day0 = t0.date();
        let ymd = |d: chrono::NaiveDate| {
            let s = d.to_string();
            let y: i32 = s.get(..4).and_then(|v| v.parse().ok()).unwrap_or(1970);
            let m: u32 = s.get(5..7).and_then(|v| v.parse().ok()).unwrap_or(1);
            (y, m)
        };
        let (y0, m0) = ymd(day0);
        let at = |y: i32, m: u32| -> Option<f64> { Timestamp::from_ymd(y, m, 1).map(|t| t.days_since(t0)) };
        let mut ticks = Vec::new();
        let mut with_day = false;
        if span > 3.0 * 365.0 {
            // yearly (every k years so there are at most ~10)
            let step = ((span / 365.25 / 10.0).ceil() as i32).max(1);
            let mut y = y0 + 1;
            while let Some(x) = at(y, 1) {
                if x > span || ticks.len() > 64 {
                    break;
                }
                ticks.push(x);
                y += step;
            }
        } else if span > 75.0 {
            // monthly, every 1, 2, 3, 6 or 12 months
            let months = span / 30.44;
            let step = [1u32, 2, 3, 6, 12]
                .into_iter()
                .find(|s| months / f64::from(*s) <= 10.0)
                .unwrap_or(12);
            let (mut y, mut m) = (y0, m0);
            loop {
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
                if (m - 1) % step != 0 {
                    continue;
                }
                match at(y, m) {
                    Some(x) if x <= span && ticks.len() <= 64 => ticks.push(x),
                    _ => break,
                }
            }
        }
        if ticks.len() < 2 {
            with_day = true;
            let step = (span / 6.0).ceil().max(1.0);
            ticks = (0..=6).map(|k| k as f64 * step).filter(|x| *x <= span).collect();
        }
        DateAxis {
            t0,
            xs,
            ticks,
            with_day,
        }
    }
    fn x(&self, t: usize) -> f64 {
        self.xs.get(t).copied().unwrap_or(0.0)
    }
    fn range(&self) -> DateRange {
        let lo = self.xs.first().copied().unwrap_or(0.0);
        let hi = self.xs.last().copied().unwrap_or(0.0);
        DateRange {
            inner: (lo..hi.max(lo + 1.0)).into(),
            ticks: self.ticks.clone(),
        }
    }
    fn label(&self, x: f64) -> String {
        let nanos = (self.t0.as_nanos() as f64 + x.round() * Timestamp::NANOS_PER_DAY as f64)
            .clamp(i64::MIN as f64, i64::MAX as f64) as i64;
        let d = Timestamp::from_nanos(nanos).date().to_string();
        if self.with_day {
            d
        } else {
            d.get(..7).unwrap_or(&d).to_owned()
        }
    }
}

/// The x coordinate of a time chart: days, with the calendar ticks of [`DateAxis`] as its
/// only key points (the bold grid lines and labels).
#[derive(Clone)]
struct DateRange {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for DateRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<DateRange, RangedCoordf64>>;

fn time_chart<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axis: &DateAxis,
    y: std::ops::Range<f64>,
    y_desc: &str,
    x_label_area: u32,
) -> MetricsResult<TimeChart<'a, DB>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(x_label_area)
        .y_label_area_size(70)
        .build_cartesian_2d(axis.range(), y)
        .map_err(plot_err("building a time chart"))?;
    let label = |x: &f64| axis.label(*x);
    chart
        .configure_mesh()
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(225, 225, 225))
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&label)
        .y_label_formatter(&|v: &f64| fmt_tick(*v))
        .y_desc(y_desc)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(plot_err("drawing the axes"))?;
    Ok(chart)
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// `(lo, hi)` over the finite values with 5 % padding; `(0, 1)` when none.
fn y_range(values: impl Iterator<Item = f64>, _stacked: bool) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    // Halves first, so a span of ±1e300 cannot overflow.
    let pad = ((0.5 * hi - 0.5 * lo) * 0.1).max(1e-9 * lo.abs().max(hi.abs()).max(1e-9));
    (lo - pad, hi + pad)
}

/// Draws the finite runs of `ys` as separate lines (a gap at every missing value) and an
/// isolated finite value as a dot.
fn draw_gapped<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    axis: &DateAxis,
    ys: &[f64],
    style: ShapeStyle,
) -> MetricsResult<()>
where
    DB::ErrorType: 'static,
{
    let mut t = 0;
    while t < ys.len() {
        if !ys[t].is_finite() {
            t += 1;
            continue;
        }
        let start = t;
        while t < ys.len() && ys[t].is_finite() {
            t += 1;
        }
        if t - start == 1 {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (axis.x(start), ys[start]),
                    2,
                    style.color.filled(),
                )))
                .map_err(plot_err("drawing a point"))?;
        } else {
            chart
                .draw_series(LineSeries::new((start..t).map(|k| (axis.x(k), ys[k])), style))
                .map_err(plot_err("drawing a line"))?;
        }
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, Mark)],
) -> MetricsResult<()>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 13).into_font()).color(&BLACK);
    for (i, (name, mark)) in items.iter().enumerate() {
        let y = 20 + 20 * i as i32;
        match mark {
            Mark::Line(c) => area
                .draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(3)))
                .map_err(plot_err("drawing the legend"))?,
            Mark::Fill(c) => area
                .draw(&Rectangle::new([(8, y - 6), (30, y + 6)], c.filled()))
                .map_err(plot_err("drawing the legend"))?,
        }
        area.draw(&Text::new(name.clone(), (36, y - 7), style.clone()))
            .map_err(plot_err("drawing the legend"))?;
    }
    Ok(())
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The stacked weights (positive layers up, negative down) over the gross and net exposure.
fn draw_weights<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    axis: &DateAxis,
    axis_len: usize,
    layers: &[Series],
    [gross, net]: [&[f64]; 2],
) -> MetricsResult<()>
where
    DB::ErrorType: 'static,
{
    let (_, ph) = plot.dim_in_pixel();
    let (upper, lower) = plot.split_vertically(ph * 68 / 100);
    let n = axis_len;
    let (mut pos, mut neg) = (vec![0.0_f64; n], vec![0.0_f64; n]);
    let mut polys: Vec<(Vec<(f64, f64)>, RGBColor)> = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let color = if l.name == "other" {
            OTHER
        } else {
            PALETTE[i % PALETTE.len()]
        };
        for (base, sign) in [(&mut pos, 1.0), (&mut neg, -1.0)] {
            let part: Vec<f64> = l.values.iter().map(|v| (sign * v).max(0.0) * sign).collect();
            if part.iter().all(|v| *v == 0.0) {
                continue;
            }
            let top: Vec<f64> = base.iter().zip(&part).map(|(b, p)| b + p).collect();
            let mut pts: Vec<(f64, f64)> = (0..n).map(|t| (axis.x(t), top[t])).collect();
            pts.extend((0..n).rev().map(|t| (axis.x(t), base[t])));
            polys.push((pts, color));
            *base = top;
        }
    }
    let (lo, hi) = y_range(pos.iter().chain(&neg).copied().chain([0.0]), true);
    let mut chart = time_chart(&upper, axis, lo..hi, "weight", 35)?;
    for (pts, color) in polys {
        chart
            .draw_series(std::iter::once(Polygon::new(pts, color.mix(0.85).filled())))
            .map_err(plot_err("drawing the stacked weights"))?;
    }
    let (lo, hi) = y_range(gross.iter().chain(net).copied().chain([0.0]), true);
    let mut chart = time_chart(&lower, axis, lo..hi, "exposure", 35)?;
    // gross wider underneath, so it shows where it equals net (a long-only book)
    draw_gapped(&mut chart, axis, gross, BLACK.stroke_width(4))?;
    draw_gapped(&mut chart, axis, net, PALETTE[3].stroke_width(2))?;
    Ok(())
}

/// The level with its regimes shaded and their changes marked, over an optional indicator.
fn draw_regimes<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    axis: &DateAxis,
    level: &Series,
    labels: &[String],
    indicator: Option<&Series>,
) -> MetricsResult<()>
where
    DB::ErrorType: 'static,
{
    let (_, ph) = plot.dim_in_pixel();
    let (upper, lower) = match indicator {
        Some(_) => {
            let (u, l) = plot.split_vertically(ph * 65 / 100);
            (u, Some(l))
        }
        None => (plot.clone(), None),
    };
    let (lo, hi) = y_range(level.values.iter().copied(), false);
    let mut chart = time_chart(&upper, axis, lo..hi, &level.name, 35)?;
    let present = present_labels(labels);
    let shade = |l: &String| {
        let i = present.iter().position(|p| p == l).unwrap_or(0);
        SHADES[i % SHADES.len()]
    };
    // One rectangle per run of a label, from its first time to the next run's.
    let mut start = 0;
    for t in 1..=labels.len() {
        if t == labels.len() || labels[t] != labels[start] {
            let x1 = if t == labels.len() {
                axis.x(t - 1)
            } else {
                axis.x(t)
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(axis.x(start), lo), (x1, hi)],
                    shade(&labels[start]).filled(),
                )))
                .map_err(plot_err("shading the regimes"))?;
            start = t;
        }
    }
    let changes: Vec<f64> = (1..labels.len())
        .filter(|&t| labels[t] != labels[t - 1])
        .map(|t| axis.x(t))
        .collect();
    chart
        .draw_series(
            changes
                .iter()
                .map(|&x| PathElement::new(vec![(x, lo), (x, hi)], RGBColor(90, 90, 90).stroke_width(1))),
        )
        .map_err(plot_err("marking the regime changes"))?;
    draw_gapped(&mut chart, axis, &level.values, BLACK.stroke_width(2))?;
    if let (Some(area), Some(ind)) = (lower, indicator) {
        let (lo, hi) = y_range(ind.values.iter().copied(), false);
        let mut chart = time_chart(&area, axis, lo..hi, &ind.name, 35)?;
        draw_gapped(&mut chart, axis, &ind.values, PALETTE[0].stroke_width(2))?;
    }
    Ok(())
}

fn draw_monthly<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    first_year: i32,
    cells: &[[f64; 12]],
) -> MetricsResult<()>
where
    DB::ErrorType: 'static,
{
    let years = cells.len().max(1) as f64;
    // Room for the year labels left of the cells and the month names above them.
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .build_cartesian_2d(-1.3..12.0, 0.0..years + 0.6)
        .map_err(plot_err("building the heatmap"))?;
    let label = TextStyle::from((FONT, 12).into_font()).color(&BLACK);
    chart
        .draw_series(
            MONTHS.iter().enumerate().map(|(m, name)| {
                Text::new((*name).to_owned(), (m as f64 + 0.3, years + 0.45), label.clone())
            }),
        )
        .map_err(plot_err("labelling the months"))?;
    chart
        .draw_series((0..cells.len()).map(|row| {
            let y = years - 1.0 - row as f64;
            Text::new(
                format!("{}", i64::from(first_year) + row as i64),
                (-1.2, y + 0.7),
                label.clone(),
            )
        }))
        .map_err(plot_err("labelling the years"))?;
    let scale = cells
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |a, v| a.max(v.abs()))
        .max(1e-12);
    let text = TextStyle::from((FONT, 11).into_font()).color(&BLACK);
    for (row, months) in cells.iter().enumerate() {
        // Latest year at the top.
        let y = years - 1.0 - row as f64;
        for (m, v) in months.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let s = (v.abs() / scale).min(1.0);
            let fade = |c: u8| (255.0 - s * (255.0 - f64::from(c))).round() as u8;
            let color = if *v >= 0.0 {
                RGBColor(fade(44), fade(160), fade(44))
            } else {
                RGBColor(fade(214), fade(39), fade(40))
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(m as f64 + 0.03, y + 0.05), (m as f64 + 0.97, y + 0.95)],
                    color.filled(),
                )))
                .map_err(plot_err("drawing a heatmap cell"))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{:.1}", 100.0 * v),
                    (m as f64 + 0.25, y + 0.7),
                    text.clone(),
                )))
                .map_err(plot_err("writing a heatmap value"))?;
        }
    }
    Ok(())
}

fn draw_distribution<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    returns: &[f64],
    var: f64,
    cvar: f64,
) -> MetricsResult<()>
where
    DB::ErrorType: 'static,
{
    let pct: Vec<f64> = returns.iter().map(|r| 100.0 * r).collect();
    let (lo, hi) = pct.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
        (a.min(v), b.max(v))
    });
    let bins = 60usize;
    let width = ((0.5 * hi - 0.5 * lo) * 2.0 / bins as f64).max(1e-12);
    let mut counts = vec![0usize; bins];
    for v in &pct {
        let b = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[b] = counts[b].saturating_add(1);
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
    let x0 = lo - width;
    let x1 = lo + width * (bins as f64 + 1.0);
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..top)
        .map_err(plot_err("building the histogram"))?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(225, 225, 225))
        .x_desc("period return (%)")
        .y_desc("periods")
        .x_label_formatter(&|v: &f64| fmt_tick(*v))
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(plot_err("drawing the histogram axes"))?;
    chart
        .draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(b, c)| {
            let a = lo + width * b as f64;
            Rectangle::new([(a, 0.0), (a + width, *c as f64)], PALETTE[0].mix(0.7).filled())
        }))
        .map_err(plot_err("drawing the histogram"))?;
    for (x, c) in [(100.0 * var, PALETTE[1]), (100.0 * cvar, PALETTE[3])] {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, top)],
                c.stroke_width(2),
            )))
            .map_err(plot_err("marking VaR and CVaR"))?;
    }
    Ok(())
}
