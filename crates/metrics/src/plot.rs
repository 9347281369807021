//! Equity curve with drawdowns, drawn with plotters: SVG always, PNG with the `png` feature.
//!
//! Top panel: the equity curve `W_k` (starting at 1). Bottom panel: the drawdown in percent
//! as a filled area, with the maximum drawdown's peak and trough marked.
//!
//! No system library is involved. Without the `png` feature, SVG text uses plotters'
//! built-in size estimates. With it, plotters' pure-Rust `ab_glyph` rasterizer draws text
//! with a font embedded in this crate — an ASCII subset (20 kB) of DejaVu Sans
//! (`assets/DejaVuSans-ascii.ttf`, Bitstream Vera license with public-domain DejaVu changes,
//! `assets/LICENSE-DejaVu`), registered with plotters as `"sans-serif"` on first use — and
//! a minimal built-in encoder writes an uncompressed PNG (≈ 3 bytes per pixel).
//!
//! The `png` feature is off by default because Cargo unifies features: enabling it turns
//! plotters' `ab_glyph` feature on for the whole build, which disables plotters' built-in
//! font fallback, so any other plotters chart in the same build then needs a registered
//! font — call `register_chart_font` first.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{MetricsError, MetricsResult};
use crate::report::Report;

fn plot_err<E: std::fmt::Display>(stage: &'static str) -> impl Fn(E) -> MetricsError {
    move |e| MetricsError::Plot {
        stage,
        detail: e.to_string(),
    }
}

#[cfg(feature = "png")]
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-ascii.ttf");

/// Registers the embedded DejaVu Sans subset with plotters as `"sans-serif"` (once; later
/// calls do nothing). With the `png` feature plotters has no fallback font, so call this
/// before drawing any other plotters chart with text in the same program.
#[cfg(feature = "png")]
pub fn register_chart_font() -> MetricsResult<()> {
    ensure_font()
}

pub(crate) fn ensure_font() -> MetricsResult<()> {
    #[cfg(feature = "png")]
    {
        static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let ok = *REGISTERED
            .get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
        if !ok {
            return Err(MetricsError::Plot {
                stage: "registering the embedded font",
                detail: "invalid font data".to_owned(),
            });
        }
    }
    Ok(())
}

pub(crate) fn check_chart_size(width: u32, height: u32) -> MetricsResult<()> {
    prudentia_core::validate::check_range(
        "width",
        f64::from(width),
        200.0,
        20_000.0,
        "in [200, 20000] pixels",
    )?;
    prudentia_core::validate::check_range(
        "height",
        f64::from(height),
        200.0,
        20_000.0,
        "in [200, 20000] pixels",
    )?;
    Ok(())
}

/// The largest equity the chart draws: beyond it the axis range (with its 5 % padding)
/// could overflow `f64` and the axis labels could not be placed.
const MAX_PLOTTED_EQUITY: f64 = 1e300;

impl Report {
    /// `(lo, hi, pad)` of the equity axis, or a typed error when the curves cannot be drawn
    /// (fewer than two points, a drawdown per return missing, a non-finite value or an
    /// equity beyond `1e300`, a drawdown outside `[−1, 0]`).
    fn plot_ranges(&self) -> MetricsResult<(f64, f64, f64)> {
        let fail = |detail: &str| MetricsError::Plot {
            stage: "scaling the axes",
            detail: detail.to_owned(),
        };
        if self.equity.len() < 2 || self.drawdown.len() + 1 != self.equity.len() {
            return Err(fail(
                "need an equity curve of n + 1 points and n drawdowns, n >= 1",
            ));
        }
        if !self
            .equity
            .iter()
            .all(|w| w.is_finite() && w.abs() <= MAX_PLOTTED_EQUITY)
        {
            return Err(fail("the equity curve is not finite or exceeds 1e300"));
        }
        if !self.drawdown.iter().all(|d| (-1.0..=0.0).contains(d)) {
            return Err(fail("a drawdown is outside [-1, 0]"));
        }
        let (lo, hi) = self
            .equity
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &w| {
                (a.min(w), b.max(w))
            });
        // Halves first, so the span of ±1e300 cannot overflow.
        let pad = ((0.5 * hi - 0.5 * lo) * 0.1).max(1e-6);
        Ok((lo, hi, pad))
    }

    /// The equity curve and drawdowns as an SVG document of `width × height` pixels
    /// (each in [200, 20000]). A typed error ([`MetricsError::Plot`]) when the curves cannot
    /// be drawn: an equity beyond `1e300`, non-finite or inconsistent curves (possible only
    /// in a hand-made or edited `Report`).
    pub fn to_svg(&self, width: u32, height: u32) -> MetricsResult<String> {
        check_chart_size(width, height)?;
        ensure_font()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            self.draw(&root, height)?;
        }
        Ok(svg)
    }

    /// The same chart as a PNG file (8-bit RGB, uncompressed deflate), `width × height`
    /// pixels (each in [200, 20000]).
    #[cfg(feature = "png")]
    pub fn to_png(&self, width: u32, height: u32) -> MetricsResult<Vec<u8>> {
        check_chart_size(width, height)?;
        ensure_font()?;
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            self.draw(&root, height)?;
        }
        Ok(crate::png::encode_rgb(width, height, &rgb))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, height: u32) -> MetricsResult<()>
    where
        DB::ErrorType: 'static,
    {
        {
            let (lo, hi, pad) = self.plot_ranges()?;
            root.fill(&WHITE).map_err(plot_err("filling the background"))?;
            let (upper, lower) = root.split_vertically(height * 62 / 100);
            let n = self.equity.len().saturating_sub(1);
            let x_max = n.max(1) as f64;
            let label = |x: &f64| -> String {
                let k = x.round().max(0.0) as usize;
                match self.times.as_ref().and_then(|t| t.get(k.saturating_sub(1))) {
                    Some(t) if k > 0 => t.to_string(),
                    _ => format!("{k}"),
                }
            };
            let mut chart = ChartBuilder::on(&upper)
                .caption(&self.config.title, ("sans-serif", 20))
                .margin(10)
                .x_label_area_size(25)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
                .map_err(plot_err("building the equity chart"))?;
            chart
                .configure_mesh()
                .x_labels(6)
                .x_label_formatter(&label)
                .y_desc("equity (start = 1)")
                .draw()
                .map_err(plot_err("drawing the equity axes"))?;
            chart
                .draw_series(LineSeries::new(
                    self.equity.iter().enumerate().map(|(i, w)| (i as f64, *w)),
                    BLUE.stroke_width(1),
                ))
                .map_err(plot_err("drawing the equity curve"))?;
            let md = &self.max_drawdown;
            let at = |k: usize| self.equity.get(k).map(|w| (k as f64, *w));
            if let (true, Some(peak), Some(trough)) = (md.depth < 0.0, at(md.peak.index), at(md.trough.index))
            {
                let marks = [peak, trough];
                chart
                    .draw_series(marks.iter().map(|&(x, y)| Circle::new((x, y), 4, RED.filled())))
                    .map_err(plot_err("marking the maximum drawdown"))?;
            }

            let dd_min = self.drawdown.iter().copied().fold(0.0_f64, f64::min).max(-1.0) * 100.0;
            let mut dd = ChartBuilder::on(&lower)
                .margin(10)
                .x_label_area_size(25)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max, (dd_min.min(-1e-6) * 1.05)..0.0)
                .map_err(plot_err("building the drawdown chart"))?;
            dd.configure_mesh()
                .x_labels(6)
                .x_label_formatter(&label)
                .y_desc("drawdown (%)")
                .draw()
                .map_err(plot_err("drawing the drawdown axes"))?;
            dd.draw_series(
                AreaSeries::new(
                    std::iter::once((0.0, 0.0)).chain(
                        self.drawdown
                            .iter()
                            .enumerate()
                            .map(|(i, d)| ((i + 1) as f64, d * 100.0)),
                    ),
                    0.0,
                    RED.mix(0.3),
                )
                .border_style(RED),
            )
            .map_err(plot_err("drawing the drawdown area"))?;
            root.present().map_err(plot_err("finishing the document"))?;
        }
        Ok(())
    }
}
