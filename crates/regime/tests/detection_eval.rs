//! BOCPD on the equal-weight index of prudentia-datasets' seeded `SyntheticMarket`
//! (default regimes: risk-on, mean 5 bps/day and vol 0.8 %/day per asset; risk-off,
//! mean −10 bps/day and vol 2.5 %/day; mean stays 200 and 100 days), scored against its
//! known change points with a tolerance of 10 observations, at the default hazard (1/250)
//! and detection rule.

use prudentia_datasets::{piecewise_stream, SyntheticConfig, SyntheticMarket};
use prudentia_regime::bocpd::{Bocpd, BocpdConfig, NormalGammaPrior, ObservationModel};
use prudentia_regime::eval::{detect, evaluate_detections, DetectionReport};

/// The returns detector: Normal–Gamma prior of scale 1 %/day with a mean known to be
/// near zero (κ = 100); default hazard and detection rule.
fn returns_detector() -> Bocpd {
    Bocpd::new(BocpdConfig::univariate(ObservationModel::NormalGamma(
        NormalGammaPrior {
            mu: 0.0,
            kappa: 100.0,
            alpha: 1.0,
            beta: 1e-4,
        },
    )))
    .unwrap()
}

#[test]
fn synthetic_market_change_points_are_found_quickly() {
    let mut reports = Vec::new();
    let mut resolvable = (0usize, 0usize);
    for seed in 0..8 {
        let m = SyntheticMarket::generate(&SyntheticConfig {
            seed,
            n_assets: 10,
            n_sectors: 2,
            n_days: 2520,
            ..Default::default()
        })
        .unwrap();
        let x = m.index_returns.to_vec();
        let mut d = returns_detector();
        let dets = detect(&mut d, &x).unwrap();
        let cps = &m.change_points;
        for (i, &c) in cps.iter().enumerate() {
            // both neighbouring segments at least as long as the tolerance window
            let prev = if i == 0 { 0 } else { cps[i - 1] };
            let next = cps.get(i + 1).copied().unwrap_or(x.len());
            if c - prev > 10 && next - c > 10 {
                resolvable.0 += 1;
                resolvable.1 += dets.iter().any(|&t| t >= c && t <= c + 10) as usize;
            }
        }
        reports.push(evaluate_detections(cps, &dets, x.len(), 10));
    }
    let p = DetectionReport::pool(&reports);
    let rr = resolvable.1 as f64 / resolvable.0 as f64;
    eprintln!(
        "synthetic market, 8 seeds x 2520 days: {} change points, recall@10 {:.3} \
         ({}/{} = {rr:.3} of those with both neighbouring segments > 10 days), \
         precision {:.3}, {:.3} false alarms per 1000 stable observations, mean delay {:.2}",
        p.change_points,
        p.recall,
        resolvable.1,
        resolvable.0,
        p.precision,
        p.false_alarms_per_1000,
        p.mean_delay
    );
    assert!(p.recall >= 0.85, "recall {}", p.recall);
    assert!(rr >= 0.9, "resolvable recall {rr}");
    assert!(p.false_alarms_per_1000 <= 1.0);
}

#[test]
fn piecewise_mean_and_scale_shifts() {
    // unit-scale data with the default (κ = 1) prior: level shifts of 2 sd and scale
    // changes by a factor 3
    let segs = [
        (300, 0.0, 1.0),
        (300, 2.0, 1.0),
        (300, 2.0, 3.0),
        (300, -1.0, 3.0),
        (300, -1.0, 1.0),
    ];
    let mut reports = Vec::new();
    for seed in 0..10 {
        let (x, cps) = piecewise_stream(&segs, seed).unwrap();
        let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
        let dets = detect(&mut d, &x).unwrap();
        reports.push(evaluate_detections(&cps, &dets, x.len(), 10));
    }
    let p = DetectionReport::pool(&reports);
    eprintln!(
        "piecewise stream, 10 seeds: recall@10 {:.3}, precision {:.3}, {:.3} false alarms per 1000, mean delay {:.2}",
        p.recall, p.precision, p.false_alarms_per_1000, p.mean_delay
    );
    assert!(p.recall >= 0.7);
    assert!(p.false_alarms_per_1000 <= 2.0);
}
