//! Regimes of the S&P 500, 1990–2022: Bayesian online change points on daily log returns
//! and rule-based volatility labels (realized-vol percentile, VIX where available:
//! 2014-01-03 to 2019-01-03 in the sample data), printed and drawn over the price chart.
//!
//! Run: `cargo run -p prudentia-regime --example sp500_regimes`
//! Writes `target/regime-sp500.svg`.

use chrono::{Datelike, NaiveDate};
use plotters::prelude::*;
use prudentia_core::traits::RegimeDetector;
use prudentia_core::{AssetId, Indicator, MarketSnapshot, Quote, RegimeLabel, Timestamp};
use prudentia_regime::detector::{ChangeSource, MarketRegimeDetector, MarketRegimeDetectorConfig};

fn year_fraction(d: NaiveDate) -> f64 {
    d.year() as f64 + (d.ordinal() as f64 - 1.0) / 365.25
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let index = prudentia_datasets::sp500_index()?;
    let dates = index.naive_dates();
    let close = index.column("SP500")?.to_vec();
    let vix_frame = prudentia_datasets::vix()?;
    let vix_col = vix_frame.column("vix")?.to_vec();

    let config = MarketRegimeDetectorConfig {
        reference: Some(AssetId::new("SPX")),
        change_source: ChangeSource::ChangePoint,
        ..Default::default()
    };
    let mut detector: Box<dyn RegimeDetector> = Box::new(MarketRegimeDetector::new(config)?);

    let mut labels = Vec::with_capacity(dates.len());
    let mut changes = Vec::new();
    let mut vix_points = Vec::new();
    for (i, (&d, &p)) in dates.iter().zip(&close).enumerate() {
        let time = Timestamp::from_date(d);
        let mut indicators = Vec::new();
        if let Some(v) = vix_frame.row_of(d).map(|r| vix_col[r]).filter(|v| v.is_finite()) {
            indicators.push(Indicator {
                name: "vix".into(),
                time,
                value: v,
            });
            vix_points.push((year_fraction(d), v));
        }
        let snapshot = MarketSnapshot {
            time,
            quotes: vec![Quote {
                asset: AssetId::new("SPX"),
                time,
                price: p,
                volume: None,
                spread_bps: None,
            }],
            indicators,
            assets: vec![],
        };
        let state = detector.observe(&snapshot)?;
        if state.changed {
            changes.push((i, state.run_length, state.change_probability));
        }
        labels.push(state.label);
    }

    println!(
        "S&P 500 {} .. {}: {} trading days",
        dates[0],
        dates[dates.len() - 1],
        dates.len()
    );
    println!("\nchange points signalled by BOCPD (date signalled, estimated start, P(r <= 20)):");
    for &(i, run, p) in &changes {
        let start = dates[(i + 1).saturating_sub(run)];
        println!("  {}  start ~{}  p = {:.2}", dates[i], start, p);
    }
    println!("\nvolatility regimes (labeler with hysteresis):");
    let mut segments = Vec::new();
    let mut s = 0;
    for i in 1..=labels.len() {
        if i == labels.len() || labels[i] != labels[s] {
            segments.push((s, i - 1, labels[s].clone()));
            s = i;
        }
    }
    for (a, b, l) in &segments {
        if *l == RegimeLabel::HIGH_VOL {
            println!(
                "  {:<8} {} .. {} ({} days)",
                l.as_str(),
                dates[*a],
                dates[*b],
                b - a + 1
            );
        }
    }
    let high_days: usize = segments
        .iter()
        .filter(|s| s.2 == RegimeLabel::HIGH_VOL)
        .map(|s| s.1 - s.0 + 1)
        .sum();
    println!(
        "\n{} change signals, {} high-vol periods covering {:.1}% of days",
        changes.len(),
        segments.iter().filter(|s| s.2 == RegimeLabel::HIGH_VOL).count(),
        100.0 * high_days as f64 / dates.len() as f64
    );

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/regime-sp500.svg");
    let xs: Vec<f64> = dates.iter().map(|&d| year_fraction(d)).collect();
    let root = SVGBackend::new(path, (1400, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(520);
    let (x0, x1) = (xs[0], xs[xs.len() - 1] + 0.01);
    let pmax = close.iter().copied().fold(0.0, f64::max) * 1.05;
    let mut chart = ChartBuilder::on(&top)
        .caption(
            "S&P 500: high-vol regimes (shaded) and BOCPD change signals (red lines)",
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, (200.0..pmax).log_scale())?;
    chart.configure_mesh().y_desc("index level (log scale)").draw()?;
    chart.draw_series(
        segments
            .iter()
            .filter(|s| s.2 == RegimeLabel::HIGH_VOL)
            .map(|&(a, b, _)| {
                Rectangle::new(
                    [(xs[a], 200.0), (xs[b] + 0.004, pmax)],
                    RGBColor(255, 200, 150).mix(0.6).filled(),
                )
            }),
    )?;
    chart.draw_series(changes.iter().map(|&(i, _, _)| {
        PathElement::new(vec![(xs[i], 200.0), (xs[i], pmax)], RED.mix(0.5).stroke_width(1))
    }))?;
    chart.draw_series(LineSeries::new(
        xs.iter().copied().zip(close.iter().copied()),
        BLUE.stroke_width(1),
    ))?;

    // bottom: 21-day realized volatility (annualized, %) and VIX where available
    let rv: Vec<f64> = (0..close.len())
        .map(|t| {
            if t < 22 {
                return f64::NAN;
            }
            let s: f64 = (t - 20..=t).map(|k| (close[k] / close[k - 1]).ln().powi(2)).sum();
            (s / 21.0 * 252.0).sqrt() * 100.0
        })
        .collect();
    let vmax = rv.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max) * 1.05;
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "21-day realized volatility (blue) and VIX (black, 2014-2019)",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..vmax)?;
    chart.configure_mesh().y_desc("annualized %").draw()?;
    chart.draw_series(LineSeries::new(
        xs.iter()
            .copied()
            .zip(rv.iter().copied())
            .filter(|p| p.1.is_finite()),
        BLUE.mix(0.7).stroke_width(1),
    ))?;
    chart.draw_series(LineSeries::new(vix_points, BLACK.stroke_width(1)))?;
    root.present()?;
    println!("chart written to {path}");
    Ok(())
}
