//! BOCPD on prudentia-datasets' seeded `SyntheticMarket` (default regimes: risk-on, mean
//! 5 bps/day and vol 0.8 %/day per asset; risk-off, mean −10 bps/day and vol 2.5 %/day;
//! mean stays 200 and 100 days), scored against its known change points with a tolerance
//! of 10 observations, at the default hazard (1/250) and detection rule: once on the
//! panel of asset returns through `panel::PanelFeatures` (the target: ≥ 90 %
//! recall with ≤ 1 false alarm per 1000 stable observations), once on the equal-weight
//! index alone (for comparison: one series per day carries less evidence).

use prudentia_datasets::{piecewise_stream, SyntheticConfig, SyntheticMarket};
use prudentia_regime::bocpd::{Bocpd, BocpdConfig, NormalGammaPrior, ObservationModel};
use prudentia_regime::eval::{detect, detect_panel, evaluate_detections, DetectionReport};
use prudentia_regime::panel::market_panel_config;

/// The eight seeded markets both tests score on: 10 assets in 2 sectors, 2520 days each.
fn markets() -> Vec<SyntheticMarket> {
    (0..8)
        .map(|seed| {
            SyntheticMarket::generate(&SyntheticConfig {
                seed,
                n_assets: 10,
                n_sectors: 2,
                n_days: 2520,
                ..Default::default()
            })
            .unwrap()
        })
        .collect()
}

/// Share of change points whose neighbouring segments are both longer than the tolerance
/// window that the detections find: (found, of).
fn resolvable_hits(cps: &[usize], dets: &[usize], len: usize) -> (usize, usize) {
    let mut r = (0, 0);
    for (i, &c) in cps.iter().enumerate() {
        let prev = if i == 0 { 0 } else { cps[i - 1] };
        let next = cps.get(i + 1).copied().unwrap_or(len);
        if c - prev > 10 && next - c > 10 {
            r.1 += 1;
            r.0 += dets.iter().any(|&t| t >= c && t <= c + 10) as usize;
        }
    }
    r
}

#[test]
fn synthetic_market_panel_meets_the_detection_target() {
    let mut reports = Vec::new();
    let mut resolvable = (0usize, 0usize);
    for m in markets() {
        let n = m.returns.ncols();
        let mut d = Bocpd::new(market_panel_config(n).unwrap()).unwrap();
        let days = m.returns.rows().into_iter().map(|r| r.to_slice().unwrap());
        let dets = detect_panel(&mut d, n, days).unwrap();
        let len = m.returns.nrows();
        let (h, of) = resolvable_hits(&m.change_points, &dets, len);
        resolvable = (resolvable.0 + h, resolvable.1 + of);
        reports.push(evaluate_detections(&m.change_points, &dets, len, 10));
    }
    let p = DetectionReport::pool(&reports);
    eprintln!(
        "synthetic market panel (10 assets), 8 seeds x 2520 days: {} change points, recall@10 {:.3} \
         ({}/{} of those with both neighbouring segments > 10 days), precision {:.3}, \
         {:.3} false alarms per 1000 stable observations, mean delay {:.2}",
        p.change_points,
        p.recall,
        resolvable.0,
        resolvable.1,
        p.precision,
        p.false_alarms_per_1000,
        p.mean_delay
    );
    assert!(p.recall >= 0.90, "recall {}", p.recall);
    assert!(
        p.false_alarms_per_1000 <= 1.0,
        "false alarms {}",
        p.false_alarms_per_1000
    );
    assert!(p.mean_delay <= 3.0, "mean delay {}", p.mean_delay);
}

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
fn synthetic_market_index_alone_is_slower() {
    let mut reports = Vec::new();
    let mut resolvable = (0usize, 0usize);
    for m in markets() {
        let x = m.index_returns.to_vec();
        let mut d = returns_detector();
        let dets = detect(&mut d, &x).unwrap();
        let (h, of) = resolvable_hits(&m.change_points, &dets, x.len());
        resolvable = (resolvable.0 + of, resolvable.1 + h);
        reports.push(evaluate_detections(&m.change_points, &dets, x.len(), 10));
    }
    let p = DetectionReport::pool(&reports);
    let rr = resolvable.1 as f64 / resolvable.0 as f64;
    eprintln!(
        "synthetic market index, 8 seeds x 2520 days: {} change points, recall@10 {:.3} \
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

#[test]
fn snapshot_detector_on_the_panel_finds_the_change_points() {
    use prudentia_regime::detector::{ChangeSource, MarketRegimeDetector, MarketRegimeDetectorConfig};
    let mut panel_reports = Vec::new();
    let mut single_reports = Vec::new();
    for m in markets().into_iter().take(4) {
        let ids: Vec<_> = m.assets.iter().map(|a| a.id.clone()).collect();
        let base = MarketRegimeDetectorConfig {
            change_source: ChangeSource::ChangePoint,
            ..Default::default()
        };
        let mut panel = MarketRegimeDetector::new(base.clone().with_panel(ids).unwrap()).unwrap();
        let mut single = MarketRegimeDetector::new(base).unwrap();
        let (mut dp, mut ds) = (Vec::new(), Vec::new());
        // the snapshot before day t carries the return of day t − 1
        for t in 1..m.n_days() {
            let snap = m.snapshot_before(t).unwrap();
            if panel.step(&snap).unwrap().changed {
                dp.push(t - 1);
            }
            if single.step(&snap).unwrap().changed {
                ds.push(t - 1);
            }
        }
        let n = m.n_days() - 1;
        panel_reports.push(evaluate_detections(&m.change_points, &dp, n, 10));
        single_reports.push(evaluate_detections(&m.change_points, &ds, n, 10));
    }
    let p = DetectionReport::pool(&panel_reports);
    let s = DetectionReport::pool(&single_reports);
    eprintln!(
        "MarketRegimeDetector on SyntheticMarket snapshots (4 seeds): panel recall@10 {:.3}, {:.3} false alarms \
         per 1000, delay {:.2}; first asset alone recall@10 {:.3}, {:.3} false alarms per 1000",
        p.recall, p.false_alarms_per_1000, p.mean_delay, s.recall, s.false_alarms_per_1000
    );
    assert!(p.recall >= 0.9 && p.false_alarms_per_1000 <= 1.0);
    assert!(p.recall > s.recall);
}
