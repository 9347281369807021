//! Calibrating two forecasters of the real S&P 500 stocks' next-day returns per VIX regime.
//!
//! Data: daily closes of 20 S&P 500 stocks and the VIX close (prudentia-datasets; VIX is
//! only available 2014-01-03..2019-01-03). For each stock and day t (known at the close of
//! t) two forecasters predict the return of day t + 1:
//!
//! - **naive**: mean 0, sigma = trailing 20-day standard deviation;
//! - **biased**: mean = trailing 20-day mean return + 5 bps (momentum with an optimistic
//!   tilt), sigma = half the trailing 20-day standard deviation (over-confident).
//!
//! The regime of day t is `high_vol` when that day's VIX close is ≥ 20, else `low_vol`.
//! A [`RegimeCalibrator`] (variance scaling + isotonic PIT recalibration per regime, pooled
//! fallback) is fitted on the first 60 % of days and evaluated on the rest. The example
//! prints a reliability table — the share of outcomes below each forecast quantile level,
//! raw and calibrated, per regime — and draws it as a reliability diagram
//! (`target/uncertainty-vix-reliability.svg`).
//!
//! Run: `cargo run -p prudentia-uncertainty --example vix_reliability`

use plotters::prelude::*;
use prudentia_core::{Forecast, Horizon, RegimeLabel};
use prudentia_datasets::{align, sp500_stocks, vix};
use prudentia_uncertainty::calibrate::{CalibrationEvent, CalibratorConfig, RegimeCalibrator};
use prudentia_uncertainty::probability::{ProbabilityConfig, RegimeProbabilityCalibrator};
use prudentia_uncertainty::scores::{ece, quantile_calibration_error, Binning, DECILE_LEVELS};
use prudentia_uncertainty::{convert, normal};

const WINDOW: usize = 20;
const LEVELS: [f64; 9] = DECILE_LEVELS;

struct Obs {
    day: usize,
    regime: RegimeLabel,
    naive: Forecast,
    biased: Forecast,
    outcome: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let returns = sp500_stocks()?.simple_returns()?;
    let (r, v) = align(&returns, &vix()?)?;
    let rv = r.values();
    let vixc = v.column("vix")?;
    let (t_max, n) = rv.dim();
    let mut obs = Vec::new();
    for t in WINDOW..t_max - 1 {
        if !vixc[t].is_finite() {
            continue;
        }
        let regime = if vixc[t] >= 20.0 {
            RegimeLabel::HIGH_VOL
        } else {
            RegimeLabel::LOW_VOL
        };
        for i in 0..n {
            let w: Vec<f64> = (t + 1 - WINDOW..=t).map(|k| rv[[k, i]]).collect();
            let y = rv[[t + 1, i]];
            if !y.is_finite() || w.iter().any(|x| !x.is_finite()) {
                continue;
            }
            let m = w.iter().sum::<f64>() / WINDOW as f64;
            let sd = (w.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (WINDOW - 1) as f64).sqrt();
            if sd <= 0.0 {
                continue;
            }
            obs.push(Obs {
                day: t,
                regime: regime.clone(),
                naive: Forecast::new(0.0, sd, Horizon::DAY)?,
                biased: Forecast::new(m + 5e-4, 0.5 * sd, Horizon::DAY)?,
                outcome: y,
            });
        }
    }
    let split_day = WINDOW + (t_max - WINDOW) * 6 / 10;
    let (train, test): (Vec<&Obs>, Vec<&Obs>) = obs.iter().partition(|o| o.day < split_day);
    println!(
        "S&P 500 stocks x VIX regimes, {} .. {}: {} forecasts ({} train, {} test)",
        r.first_date(),
        r.last_date(),
        obs.len(),
        train.len(),
        test.len()
    );
    let cfg = CalibratorConfig {
        isotonic: true,
        quantile_levels: LEVELS.to_vec(),
        ..Default::default()
    };
    let fit = |pick: fn(&Obs) -> &Forecast| -> Result<RegimeCalibrator, Box<dyn std::error::Error>> {
        let ev: Vec<CalibrationEvent> = train
            .iter()
            .map(|o| CalibrationEvent {
                forecast: pick(o).clone(),
                regime: o.regime.clone(),
                outcome: o.outcome,
            })
            .collect();
        Ok(RegimeCalibrator::fit(cfg.clone(), &ev)?)
    };
    let naive_cal = fit(|o| &o.naive)?;
    let biased_cal = fit(|o| &o.biased)?;

    // Per-regime Platt scaling of P(up) on the logit of the biased forecaster's raw P(up)
    // (the naive forecaster always says P(up) = 1/2: a constant score, nothing to scale).
    let logit_up = |f: &Forecast| -> f64 {
        let q = (1.0 - normal::cdf(-f.mean / f.sigma)).clamp(1e-9, 1.0 - 1e-9);
        (q / (1.0 - q)).ln()
    };
    let platt =
        |pick: fn(&Obs) -> &Forecast| -> Result<RegimeProbabilityCalibrator, Box<dyn std::error::Error>> {
            let s: Vec<f64> = train.iter().map(|o| logit_up(pick(o))).collect();
            let up: Vec<bool> = train.iter().map(|o| o.outcome > 0.0).collect();
            let reg: Vec<RegimeLabel> = train.iter().map(|o| o.regime.clone()).collect();
            Ok(RegimeProbabilityCalibrator::fit(
                ProbabilityConfig::default(),
                &s,
                &up,
                &reg,
            )?)
        };
    let platt_biased = platt(|o| &o.biased)?;

    let regimes = [RegimeLabel::LOW_VOL, RegimeLabel::HIGH_VOL];
    // curves[regime][series] = observed share below each level.
    let names = ["naive raw", "naive calibrated", "biased raw", "biased calibrated"];
    let mut curves: Vec<Vec<Vec<f64>>> = Vec::new();
    for reg in &regimes {
        let sel: Vec<&&Obs> = test.iter().filter(|o| &o.regime == reg).collect();
        let mut series = Vec::new();
        let mut binary = Vec::new();
        for (k, name) in names.iter().enumerate() {
            let (cal, pick): (&RegimeCalibrator, fn(&Obs) -> &Forecast) = match k {
                0 | 1 => (&naive_cal, |o| &o.naive),
                _ => (&biased_cal, |o| &o.biased),
            };
            let calibrated = k % 2 == 1;
            let mut below = [0usize; 9];
            let mut p_up = Vec::with_capacity(sel.len());
            let mut up = Vec::with_capacity(sel.len());
            for o in &sel {
                let f = if calibrated {
                    cal.calibrate_detailed(pick(o), reg).unwrap().forecast
                } else {
                    pick(o).clone()
                };
                for (j, &l) in LEVELS.iter().enumerate() {
                    let q = if calibrated {
                        convert::forecast_quantile(&f, l)?
                    } else {
                        f.mean + f.sigma * normal::ppf(l)
                    };
                    below[j] += usize::from(o.outcome <= q);
                }
                p_up.push(1.0 - normal::cdf(-f.mean / f.sigma));
                up.push(o.outcome > 0.0);
            }
            let share: Vec<f64> = below
                .iter()
                .map(|&b| b as f64 / sel.len().max(1) as f64)
                .collect();
            let err = share.iter().zip(&LEVELS).map(|(s, l)| (s - l).abs()).sum::<f64>() / 9.0;
            let bin = ece(&p_up, &up, 10, Binning::EqualMass)?.ece;
            binary.push((name, err, bin));
            series.push(share);
        }
        println!("\nregime {reg}: {} test forecasts", sel.len());
        println!(
            "{:>6} | {:>10} {:>10} {:>10} {:>10}",
            "level", "naive", "naive cal", "biased", "biased cal"
        );
        for (j, l) in LEVELS.iter().enumerate() {
            println!(
                "{:>6.2} | {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
                l, series[0][j], series[1][j], series[2][j], series[3][j]
            );
        }
        println!(
            "{:>6} | {:>10.4} {:>10.4} {:>10.4} {:>10.4}   (mean |observed - level|)",
            "ECE", binary[0].1, binary[1].1, binary[2].1, binary[3].1
        );
        println!(
            "{:>6} | {:>10.4} {:>10.4} {:>10.4} {:>10.4}   (P(up) ECE, 10 equal-mass bins)",
            "ECE up", binary[0].2, binary[1].2, binary[2].2, binary[3].2
        );
        let mut pu = Vec::with_capacity(sel.len());
        for o in &sel {
            pu.push(platt_biased.calibrate(logit_up(&o.biased), reg)?.0);
        }
        let up: Vec<bool> = sel.iter().map(|o| o.outcome > 0.0).collect();
        println!(
            "{:>6} | {:>10} {:>10} {:>10} {:>10.4}   (P(up) ECE after per-regime Platt scaling)",
            "Platt",
            "",
            "",
            "",
            ece(&pu, &up, 10, Binning::EqualMass)?.ece
        );
        curves.push(series);
    }
    // Sanity: the pooled decile error of the calibrated naive forecaster on all test data.
    let u: Vec<f64> = test
        .iter()
        .map(|o| {
            let f = naive_cal
                .calibrate_detailed(&o.naive, &o.regime)
                .unwrap()
                .forecast;
            normal::cdf((o.outcome - f.mean) / f.sigma)
        })
        .collect();
    println!(
        "\npooled test ECE of the variance-scaled naive forecaster: {:.4}",
        quantile_calibration_error(&u, &LEVELS)?
    );

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/uncertainty-vix-reliability.svg"
    );
    draw(path, &regimes, &names, &curves)?;
    println!("reliability diagram written to {path}");
    Ok(())
}

fn draw(
    path: &str,
    regimes: &[RegimeLabel],
    names: &[&str],
    curves: &[Vec<Vec<f64>>],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1000, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let colors = [BLUE, CYAN, RED, MAGENTA];
    for ((area, reg), series) in panels.iter().zip(regimes).zip(curves) {
        let mut chart = ChartBuilder::on(area)
            .caption(format!("reliability, VIX regime {reg}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("forecast quantile level")
            .y_desc("share of outcomes below")
            .draw()?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.stroke_width(1)))?
            .label("perfect")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
        for (k, s) in series.iter().enumerate() {
            let c = colors[k];
            let pts: Vec<(f64, f64)> = LEVELS.iter().copied().zip(s.iter().copied()).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                .label(names[k])
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
