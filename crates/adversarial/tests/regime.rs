//! prudentia-regime under bad input: every constructor, update/observe, fit, decode,
//! choose/learn and snapshot step fed NaN, ±inf, extremes and absurd sizes; seeded sweeps;
//! and every stateful serde type's checkpoint mutated field by field, loaded and then used.

use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::{Fit, OnlinePolicy};
use prudentia_core::{AssetId, Indicator, MarketSnapshot, Quote, RegimeLabel, RegimeState, Timestamp};
use prudentia_learn::bandit::{LinUcb, LinUcbConfig};
use prudentia_regime::bocpd::{
    Bocpd, BocpdConfig, BocpdStep, Detection, Hazard, NormalGammaPrior, NormalKnownVariancePrior,
    ObservationModel, Truncation,
};
use prudentia_regime::conditional::{ConditionalPolicyConfig, RegimeConditionalPolicy};
use prudentia_regime::detector::{HmmRegimeDetector, MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia_regime::eval::{detect, detect_panel, evaluate_detections};
use prudentia_regime::hmm::{select_n_states, GaussianHmm, GaussianHmmConfig, HmmFilter, HmmFit, HmmParams};
use prudentia_regime::labels::{Hysteresis, IndicatorObservation, LabelerConfig, RegimeLabeler};
use prudentia_regime::panel::{market_panel_config, PanelFeatures};

/// The bad floats of every table.
const BAD: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
    -1.0,
];

/// Absurd sizes of every table.
const SIZES: [usize; 5] = [0, 1, 1 << 20, 1 << 40, usize::MAX];

/// Deterministic series with a level shift at 60.
fn series(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.3 * ((i * 13) as f64 * 0.37).sin() + if i < 60 { 0.0 } else { 2.0 })
        .collect()
}

fn posterior_ok(d: &Bocpd) -> Check {
    let ps: Vec<(usize, f64)> = d.run_length_posterior().collect();
    let total: f64 = ps.iter().map(|p| p.1).sum();
    Check::invariant(
        ps.iter().all(|p| p.1.is_finite() && p.1 >= 0.0) && (total - 1.0).abs() < 1e-6,
        format!("posterior sums to {total}"),
    )
}

fn step_ok(s: &BocpdStep) -> Result<(), String> {
    if (0.0..=1.0).contains(&s.change_probability) && s.support >= 1 {
        Ok(())
    } else {
        Err(format!("bad step {s:?}"))
    }
}

fn bocpd_with_history(cfg: BocpdConfig, n: usize) -> Bocpd {
    let mut d = Bocpd::new(cfg).expect("valid config");
    for &v in &series(n) {
        let _ = d.update_scalar(v).expect("ordinary value");
    }
    d
}

/// Feeds one value, then ordinary values: the detector must stay usable.
fn bocpd_after(mut d: Bocpd, x: f64) -> Check {
    let first = result_with(d.update_scalar(x), step_ok);
    if matches!(first, Check::NonFinite(_) | Check::Broken(_)) {
        return first;
    }
    for &v in &series(80) {
        match d.update_scalar(v) {
            Ok(s) => {
                if let Err(m) = step_ok(&s) {
                    return Check::Broken(format!("after {x:e}: {m}"));
                }
                if !s.log_evidence.is_finite() {
                    return Check::NonFinite(format!("log_evidence after {x:e}"));
                }
            }
            Err(e) => return Check::Broken(format!("an ordinary value fails after {x:e}: {e}")),
        }
    }
    posterior_ok(&d).and(|| first)
}

#[test]
fn regime_bocpd() {
    let mut s = Suite::new("regime/bocpd");

    // constructors: priors, hazards, truncation, detection
    for v in BAD {
        for field in 0..4 {
            s.check(format!("NormalGamma field {field} = {v:e}"), move || {
                let mut p = NormalGammaPrior::default();
                match field {
                    0 => p.mu = v,
                    1 => p.kappa = v,
                    2 => p.alpha = v,
                    _ => p.beta = v,
                }
                let d = Bocpd::new(BocpdConfig::univariate(ObservationModel::NormalGamma(p)));
                match d {
                    Ok(d) => bocpd_after(d, 1.0),
                    Err(_) => Check::Rejected,
                }
            });
        }
        for field in 0..3 {
            s.check(format!("NormalKnownVariance field {field} = {v:e}"), move || {
                let mut p = NormalKnownVariancePrior::default();
                match field {
                    0 => p.mu = v,
                    1 => p.mean_variance = v,
                    _ => p.noise_variance = v,
                }
                match Bocpd::new(BocpdConfig::univariate(ObservationModel::NormalKnownVariance(p))) {
                    Ok(d) => bocpd_after(d, 1.0),
                    Err(_) => Check::Rejected,
                }
            });
        }
        s.check(format!("Hazard::Constant {v:e}"), move || {
            let cfg = BocpdConfig {
                hazard: Hazard::Constant {
                    expected_run_length: v,
                },
                ..Default::default()
            };
            match Bocpd::new(cfg) {
                Ok(d) => bocpd_after(d, 0.5),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("Hazard::Table [0.01, {v:e}]"), move || {
            let cfg = BocpdConfig {
                hazard: Hazard::Table {
                    probabilities: vec![0.01, v],
                },
                ..Default::default()
            };
            match Bocpd::new(cfg) {
                Ok(d) => bocpd_after(d, 0.5),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("truncation.min_probability {v:e}"), move || {
            let mut cfg = BocpdConfig::default();
            cfg.truncation.min_probability = v;
            result(Bocpd::new(cfg))
        });
        s.check(format!("detection.threshold {v:e}"), move || {
            let mut cfg = BocpdConfig::default();
            cfg.detection.threshold = v;
            result(Bocpd::new(cfg))
        });
    }
    for n in SIZES {
        s.check(format!("truncation.max_run_lengths {n}"), move || {
            let cfg = BocpdConfig {
                truncation: Truncation {
                    min_probability: 1e-8,
                    max_run_lengths: n,
                },
                ..Default::default()
            };
            match Bocpd::new(cfg) {
                Ok(d) => bocpd_after(d, 0.5),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("detection window/min_separation {n}"), move || {
            let cfg = BocpdConfig {
                detection: Detection {
                    window: n,
                    threshold: 0.6,
                    min_separation: n,
                },
                ..Default::default()
            };
            match Bocpd::new(cfg) {
                Ok(d) => bocpd_after(d, 0.5),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("market_panel_config {n}"), move || {
            result(market_panel_config(n).and_then(Bocpd::new))
        });
        s.check(format!("PanelFeatures::new {n}"), move || {
            result(PanelFeatures::new(n))
        });
    }
    s.check("no features", || {
        result(Bocpd::new(BocpdConfig {
            features: vec![],
            ..Default::default()
        }))
    });
    s.check("MAX_DIM + 1 features", || {
        result(Bocpd::new(BocpdConfig {
            features: vec![ObservationModel::default(); (1 << 16) + 1],
            ..Default::default()
        }))
    });
    s.check("Truncation::none is valid", || {
        result(Bocpd::new(BocpdConfig {
            truncation: Truncation::none(),
            ..Default::default()
        }))
    });

    // one bad value after a history, then ordinary data (exact and truncated)
    for v in BAD.into_iter().chain([1e155, 1e100, -1e150, f64::MIN_POSITIVE]) {
        s.check(format!("update {v:e} after history"), move || {
            bocpd_after(bocpd_with_history(BocpdConfig::default(), 40), v)
        });
        s.check(format!("update {v:e} without truncation"), move || {
            let cfg = BocpdConfig {
                truncation: Truncation::none(),
                ..Default::default()
            };
            bocpd_after(bocpd_with_history(cfg, 40), v)
        });
        s.check(format!("update {v:e} known variance"), move || {
            let cfg = BocpdConfig::univariate(ObservationModel::NormalKnownVariance(Default::default()));
            bocpd_after(bocpd_with_history(cfg, 40), v)
        });
        s.check(format!("panel update [{v:e}, 0]"), move || {
            let mut d = Bocpd::new(market_panel_config(5).expect("5 assets")).expect("valid");
            let first = result(d.update(&[v, 0.0]));
            if matches!(first, Check::NonFinite(_) | Check::Broken(_)) {
                return first;
            }
            for i in 0..50 {
                if let Err(e) = d.update(&[-4.0 + 0.1 * (i % 3) as f64, 0.001]) {
                    return Check::Broken(format!("ordinary panel value fails: {e}"));
                }
            }
            posterior_ok(&d).and(|| first)
        });
    }
    for len in [0usize, 2, 3] {
        s.check(format!("update with {len} values for 1 feature"), move || {
            let mut d = Bocpd::new(BocpdConfig::default()).expect("valid");
            result(d.update(&vec![0.5; len]))
        });
    }

    // seeded sweeps: a whole series of adversarial values
    s.sweep("bocpd series", vec_f64(1..120), |xs| {
        let mut d = Bocpd::new(BocpdConfig::default()).expect("valid");
        for x in xs {
            if let Ok(st) = d.update_scalar(x) {
                if let Err(m) = step_ok(&st) {
                    return Check::Broken(m);
                }
                if !st.log_evidence.is_finite() {
                    return Check::NonFinite("log_evidence".into());
                }
            }
        }
        posterior_ok(&d).and(
            || match serde_json::to_string(&d).map(|j| serde_json::from_str::<Bocpd>(&j)) {
                Ok(Ok(back)) => Check::invariant(back == d, "checkpoint round trip differs"),
                Ok(Err(e)) => Check::Broken(format!("own checkpoint does not load: {e}")),
                Err(e) => Check::Broken(format!("cannot serialize: {e}")),
            },
        )
    });
    s.sweep(
        "bocpd finite extremes",
        proptest::collection::vec(finite_f64(), 1..80),
        |xs| {
            let mut d = Bocpd::new(BocpdConfig::default()).expect("valid");
            for x in xs {
                let _ = d.update_scalar(x);
            }
            bocpd_after(d, 0.1)
        },
    );
    s.sweep("panel features", vec_f64(0..12), |r| {
        let n = r.len();
        match PanelFeatures::new(n) {
            Ok(mut f) => result(f.compute(&r).map(|x| x.to_vec())),
            Err(_) => Check::Rejected,
        }
    });

    // evaluation helpers
    for n in SIZES {
        s.check(format!("evaluate_detections n = {n}"), move || {
            let r = evaluate_detections(&[0, 0, n, usize::MAX], &[0, 1, usize::MAX], n, n);
            Check::invariant(
                // core::changepoint: every detection is a true positive, a duplicate
                // inside a detected window, or a false alarm
                r.true_positives + r.duplicates + r.false_alarms == r.detections
                    && r.stable_observations <= n
                    && r.precision.is_finite()
                    && r.recall.is_finite()
                    && r.false_alarms_per_1000.is_finite(),
                format!("{r:?}"),
            )
        });
    }
    s.sweep("detect", vec_f64(0..80), |x| {
        let mut d = Bocpd::new(BocpdConfig::default()).expect("valid");
        result(detect(&mut d, &x))
    });
    s.sweep("detect_panel", (vec_f64(0..40), 0usize..6), |(x, n)| {
        let mut d = Bocpd::new(market_panel_config(4).expect("4")).expect("valid");
        let days: Vec<&[f64]> = if n == 0 {
            vec![&x[..]]
        } else {
            x.chunks(n).collect()
        };
        result(detect_panel(&mut d, n.max(1), days))
    });

    // checkpoints: load, then use
    let d = bocpd_with_history(BocpdConfig::default(), 120);
    s.checkpoint("bocpd", &d, |json| match serde_json::from_str::<Bocpd>(&json) {
        Err(_) => Check::Rejected,
        Ok(d) => bocpd_after(d, 0.7),
    });
    let d = {
        let mut d = Bocpd::new(market_panel_config(6).expect("6")).expect("valid");
        for i in 0..60 {
            let _ = d
                .update(&[-4.0 + 0.05 * (i % 5) as f64, 0.001 * (i % 3) as f64])
                .expect("ok");
        }
        d
    };
    s.checkpoint("bocpd panel", &d, |json| {
        match serde_json::from_str::<Bocpd>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut d) => {
                let first = result(d.update(&[-3.0, 0.0]));
                posterior_ok(&d).and(|| first)
            }
        }
    });
    let cfg = BocpdConfig {
        hazard: Hazard::Table {
            probabilities: vec![0.01, 0.02, 0.05],
        },
        features: vec![
            ObservationModel::NormalGamma(Default::default()),
            ObservationModel::NormalKnownVariance(Default::default()),
        ],
        ..Default::default()
    };
    s.checkpoint("bocpd config", &cfg, |json| {
        match serde_json::from_str::<BocpdConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(cfg) => match Bocpd::new(cfg) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(mut d) => {
                    let n = d.n_features();
                    result(d.update(&vec![0.3; n]))
                }
            },
        }
    });
    let mut f = PanelFeatures::new(4).expect("4");
    let _ = f.compute(&[0.01, -0.02, 0.0, 0.03]).expect("ok");
    s.checkpoint("panel features", &f, |json| {
        match serde_json::from_str::<PanelFeatures>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut f) => {
                let r = vec![0.01; f.n_assets()];
                let mut r2 = r.clone();
                r2[0] = -0.02;
                result(f.compute(&r2).map(|x| x.to_vec()))
            }
        }
    });

    s.finish();
}

fn two_state() -> HmmParams {
    HmmParams {
        start: vec![0.5, 0.5],
        transition: vec![0.95, 0.05, 0.1, 0.9],
        means: vec![0.0, 2.0],
        variances: vec![0.2, 1.0],
    }
}

fn quick_fit() -> GaussianHmmConfig {
    GaussianHmmConfig {
        max_iterations: 40,
        restarts: 2,
        ..Default::default()
    }
}

fn filter_after(mut f: HmmFilter, x: f64) -> Check {
    let first = result(f.update(x).map(|p| p.to_vec()));
    if matches!(first, Check::NonFinite(_) | Check::Broken(_)) {
        return first;
    }
    for &v in &series(80) {
        match f.update(v) {
            Ok(p) => {
                let total: f64 = p.iter().sum();
                if !(p.iter().all(|v| v.is_finite()) && (total - 1.0).abs() < 1e-9) {
                    return Check::Broken(format!("filter probabilities {p:?} after {x:e}"));
                }
            }
            Err(e) => return Check::Broken(format!("an ordinary value fails after {x:e}: {e}")),
        }
    }
    Check::invariant(f.log_likelihood().is_finite(), "log-likelihood not finite").and(|| first)
}

#[test]
fn regime_hmm() {
    let mut s = Suite::new("regime/hmm");

    // parameters
    for v in BAD {
        for field in 0..4 {
            s.check(format!("HmmParams field {field} = {v:e}"), move || {
                let mut p = two_state();
                match field {
                    0 => p.start[0] = v,
                    1 => p.transition[1] = v,
                    2 => p.means[0] = v,
                    _ => p.variances[1] = v,
                }
                match GaussianHmm::new(p) {
                    Ok(m) => result(m.log_likelihood(&series(30))).and(|| filter_after(m.filter(), 0.5)),
                    Err(_) => Check::Rejected,
                }
            });
        }
    }
    for (label, p) in [
        (
            "empty",
            HmmParams {
                start: vec![],
                transition: vec![],
                means: vec![],
                variances: vec![],
            },
        ),
        (
            "short transition",
            HmmParams {
                transition: vec![1.0],
                ..two_state()
            },
        ),
        (
            "long means",
            HmmParams {
                means: vec![0.0, 1.0, 2.0],
                ..two_state()
            },
        ),
    ] {
        s.check(format!("HmmParams {label}"), move || result(GaussianHmm::new(p)));
    }
    s.check("HmmParams n_free_parameters of empty", || {
        let p = HmmParams {
            start: vec![],
            transition: vec![],
            means: vec![],
            variances: vec![],
        };
        Check::invariant(p.n_free_parameters() == 0, "free parameters of no states")
    });

    // configs
    for n in SIZES {
        for field in 0..3 {
            s.check(format!("GaussianHmmConfig size field {field} = {n}"), move || {
                let mut c = quick_fit();
                match field {
                    0 => c.n_states = n,
                    1 => c.max_iterations = n,
                    _ => c.restarts = n,
                }
                if c.validate().is_err() {
                    return Check::Rejected;
                }
                result(c.fit(&series(120)))
            });
        }
    }
    for v in BAD {
        s.check(format!("GaussianHmmConfig tolerance {v:e}"), move || {
            let c = GaussianHmmConfig {
                tolerance: v,
                ..quick_fit()
            };
            result(c.fit(&series(120)))
        });
        s.check(format!("GaussianHmmConfig min_variance_ratio {v:e}"), move || {
            let c = GaussianHmmConfig {
                min_variance_ratio: v,
                ..quick_fit()
            };
            result(c.fit(&series(120)))
        });
    }
    for (lo, hi) in [(1usize, usize::MAX), (0, 3), (3, 1), (1 << 40, 1 << 41), (1, 60)] {
        s.check(format!("select_n_states {lo}..={hi}"), move || {
            result(select_n_states(&series(100), lo..=hi, &quick_fit()))
        });
    }

    // fit, decode and filter on hostile data
    for scale in [1e150, 1e-150, 1e300, 5e-324, f64::MAX] {
        s.check(format!("fit at scale {scale:e}"), move || {
            let x: Vec<f64> = series(120).iter().map(|v| v * scale).collect();
            result(quick_fit().fit(&x))
        });
    }
    for c in [0.0, 1.0, 1e300, -1e300, 5e-324, f64::MAX] {
        s.check(format!("fit constant {c:e}"), move || {
            result(quick_fit().fit(&[c; 40]))
        });
        s.check(format!("fit_from constant {c:e}"), move || {
            result(quick_fit().fit_from(&[c; 40], &two_state()))
        });
    }
    s.sweep("fit", vec_f64(0..80), |x| result(quick_fit().fit(&x)));
    s.sweep(
        "fit finite extremes",
        proptest::collection::vec(finite_f64(), 0..60),
        |x| result(quick_fit().fit(&x)),
    );
    s.sweep("decode", vec_f64(0..60), |x| {
        let m = GaussianHmm::new(two_state()).expect("valid");
        result(m.log_likelihood(&x))
            .and(|| result(m.bic(&x)))
            .and(|| result(m.viterbi(&x)))
            .and(|| result(m.smoothed(&x)))
            .and(|| result(m.filtered(&x)))
    });
    s.sweep(
        "decode finite extremes",
        proptest::collection::vec(finite_f64(), 0..60),
        |x| {
            let m = GaussianHmm::new(two_state()).expect("valid");
            result(m.log_likelihood(&x))
                .and(|| result(m.viterbi(&x)))
                .and(|| result(m.smoothed(&x)))
                .and(|| result(m.filtered(&x)))
        },
    );
    for v in BAD.into_iter().chain([1e155, 1e100, -1e150]) {
        s.check(format!("filter update {v:e}"), move || {
            let m = GaussianHmm::new(two_state()).expect("valid");
            let mut f = m.filter();
            for &x in &series(20) {
                let _ = f.update(x);
            }
            filter_after(f, v)
        });
    }
    s.sweep("filter series", vec_f64(1..100), |xs| {
        let m = GaussianHmm::new(two_state()).expect("valid");
        let mut f = m.filter();
        for x in xs {
            let _ = f.update(x);
        }
        filter_after(f, 0.3)
    });

    // checkpoints
    let fit = quick_fit().fit(&series(150)).expect("fit");
    let model = fit.model.clone();
    s.checkpoint("gaussian hmm", &model, |json| {
        match serde_json::from_str::<GaussianHmm>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => result(m.viterbi(&series(30))).and(|| filter_after(m.filter(), 1.0)),
        }
    });
    s.checkpoint("hmm fit", &fit, |json| {
        match serde_json::from_str::<HmmFit>(&json) {
            Err(_) => Check::Rejected,
            Ok(f) => result(f.model.smoothed(&series(30))),
        }
    });
    let mut filter = model.filter();
    for &x in &series(50) {
        let _ = filter.update(x).expect("ok");
    }
    s.checkpoint("hmm filter", &filter, |json| {
        match serde_json::from_str::<HmmFilter>(&json) {
            Err(_) => Check::Rejected,
            Ok(f) => filter_after(f, 0.2),
        }
    });
    s.checkpoint("hmm config", &quick_fit(), |json| {
        match serde_json::from_str::<GaussianHmmConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                // keep the use cheap: the loaded bounds, not the loaded effort
                let c = GaussianHmmConfig {
                    max_iterations: c.max_iterations.min(40),
                    restarts: c.restarts.min(2),
                    n_states: c.n_states.min(4),
                    ..c
                };
                result(c.fit(&series(80)))
            }
        }
    });
    let mut det = HmmRegimeDetector::new(&model, None);
    for i in 0..40 {
        let _ = det.step(&snapshot(i, 100.0 + (i % 7) as f64, None)).expect("ok");
    }
    s.checkpoint("hmm regime detector", &det, |json| {
        match serde_json::from_str::<HmmRegimeDetector>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut d) => {
                let mut out = Check::Ok;
                for i in 40..50 {
                    out = out.and(|| result(d.step(&snapshot(i, 100.0 + (i % 5) as f64, None))));
                }
                out
            }
        }
    });
    for p in [f64::NAN, -1.0, 0.0, 5e-324, f64::MAX, 1e300, f64::INFINITY] {
        s.check(format!("hmm detector price {p:e}"), move || {
            let m = GaussianHmm::new(two_state()).expect("valid");
            let mut d = HmmRegimeDetector::new(&m, None);
            let mut out = result(d.step(&snapshot(0, 100.0, None)));
            out = out.and(|| result(d.step(&snapshot(1, p, None))));
            out.and(|| result(d.step(&snapshot(2, 101.0, None))))
        });
    }

    s.finish();
}

fn snapshot(i: i64, price: f64, vix: Option<f64>) -> MarketSnapshot {
    let time = Timestamp::from_nanos(i * Timestamp::NANOS_PER_DAY);
    MarketSnapshot {
        time,
        quotes: vec![Quote {
            asset: AssetId::new("X"),
            time,
            price,
            volume: Some(1e6),
            spread_bps: Some(2.0),
        }],
        indicators: vix
            .map(|v| {
                vec![Indicator {
                    name: "vix".into(),
                    time,
                    value: v,
                }]
            })
            .unwrap_or_default(),
        assets: vec![],
    }
}

fn panel_snapshot(i: i64, prices: &[f64]) -> MarketSnapshot {
    let time = Timestamp::from_nanos(i * Timestamp::NANOS_PER_DAY);
    MarketSnapshot {
        time,
        quotes: prices
            .iter()
            .enumerate()
            .map(|(k, &price)| Quote {
                asset: AssetId::new(format!("A{k}")),
                time,
                price,
                volume: Some(1e6),
                spread_bps: Some(2.0),
            })
            .collect(),
        indicators: vec![],
        assets: vec![],
    }
}

fn panel_assets(n: usize) -> Vec<AssetId> {
    (0..n).map(|k| AssetId::new(format!("A{k}"))).collect()
}

fn labeler_with_history() -> RegimeLabeler {
    let mut l = RegimeLabeler::new(LabelerConfig::default()).expect("valid");
    for t in 0..120 {
        let _ = l
            .observe(&IndicatorObservation {
                index_return: Some(0.01 * ((t * 7) as f64).sin()),
                vix: Some(15.0 + (t % 20) as f64),
                credit_spread: Some(1.0),
                volume: Some(1e6 * (1.0 + 0.1 * (t % 3) as f64)),
                spread_bps: Some(5.0),
            })
            .expect("ok");
    }
    l
}

#[test]
fn regime_labels_and_detector() {
    let mut s = Suite::new("regime/labels+detector");

    // labeler configuration
    for n in SIZES {
        for field in 0..6 {
            s.check(format!("LabelerConfig size field {field} = {n}"), move || {
                let mut c = LabelerConfig::default();
                match field {
                    0 => c.realized_vol_window = n,
                    1 => c.percentile_lookback = n,
                    2 => c.drawdown_window = n,
                    3 => c.volume_lookback = n,
                    4 => c.max_missing = n,
                    _ => c.vix_high_vol = Some(Hysteresis::new(25.0, 20.0, n)),
                }
                result(RegimeLabeler::new(c))
            });
        }
    }
    for v in BAD {
        s.check(format!("Hysteresis enter {v:e}"), move || {
            result(RegimeLabeler::new(LabelerConfig {
                spread_illiquid: Some(Hysteresis::new(v, 10.0, 5)),
                ..Default::default()
            }))
        });
    }

    // observations: one bad value, then ordinary data
    for v in BAD.into_iter().chain([1e155, f64::MIN_POSITIVE]) {
        for field in 0..5 {
            s.check(format!("observe field {field} = {v:e}"), move || {
                let mut l = labeler_with_history();
                let mut obs = IndicatorObservation::default();
                match field {
                    0 => obs.index_return = Some(v),
                    1 => obs.vix = Some(v),
                    2 => obs.credit_spread = Some(v),
                    3 => obs.volume = Some(v),
                    _ => obs.spread_bps = Some(v),
                }
                let first = result(l.observe(&obs));
                for t in 0..30 {
                    let r = l.observe(&IndicatorObservation {
                        index_return: Some(0.001 * t as f64),
                        volume: Some(1e6),
                        ..Default::default()
                    });
                    if let Err(e) = r {
                        return Check::Broken(format!("ordinary observation fails after {v:e}: {e}"));
                    }
                }
                first.and(|| {
                    match serde_json::to_string(&l).map(|j| serde_json::from_str::<RegimeLabeler>(&j)) {
                        Ok(Ok(_)) => Check::Ok,
                        _ => Check::Broken("own checkpoint does not reload".into()),
                    }
                })
            });
        }
    }
    s.sweep(
        "labeler series",
        proptest::collection::vec((any_f64(), any_f64(), any_f64()), 1..80),
        |obs| {
            let mut l = RegimeLabeler::new(LabelerConfig::default()).expect("valid");
            for (r, vix, vol) in obs {
                let _ = l.observe(&IndicatorObservation {
                    index_return: Some(r),
                    vix: Some(vix),
                    volume: Some(vol),
                    ..Default::default()
                });
            }
            match serde_json::to_string(&l).map(|j| serde_json::from_str::<RegimeLabeler>(&j)) {
                Ok(Ok(back)) => Check::invariant(back == l, "round trip differs"),
                _ => Check::Broken("own checkpoint does not reload".into()),
            }
        },
    );

    // the snapshot detector
    for n in [0usize, 1, 2, 1 << 17] {
        s.check(
            format!("detector panel of {n}"),
            move || match MarketRegimeDetectorConfig::default().with_panel(panel_assets(n)) {
                Ok(c) => result(MarketRegimeDetector::new(c)),
                Err(_) => Check::Rejected,
            },
        );
    }
    s.check("detector panel without the panel BOCPD", || {
        result(MarketRegimeDetector::new(MarketRegimeDetectorConfig {
            panel: Some(panel_assets(3)),
            ..Default::default()
        }))
    });
    s.sweep(
        "detector prices",
        proptest::collection::vec((price(), any_f64()), 1..60),
        |xs| {
            let mut d = MarketRegimeDetector::new(MarketRegimeDetectorConfig::default()).expect("valid");
            for (i, (p, vix)) in xs.into_iter().enumerate() {
                let out = result(d.step(&snapshot(i as i64, p, Some(vix))));
                if matches!(out, Check::NonFinite(_) | Check::Broken(_)) {
                    return out;
                }
            }
            // still usable, and its checkpoint reloads
            let out = result(d.step(&snapshot(1000, 100.0, Some(15.0))));
            out.and(|| {
                match serde_json::to_string(&d).map(|j| serde_json::from_str::<MarketRegimeDetector>(&j)) {
                    Ok(Ok(back)) => Check::invariant(back == d, "round trip differs"),
                    _ => Check::Broken("own checkpoint does not reload".into()),
                }
            })
        },
    );
    s.sweep(
        "panel detector prices",
        proptest::collection::vec(proptest::collection::vec(price(), 3), 1..40),
        |days| {
            let cfg = MarketRegimeDetectorConfig::default()
                .with_panel(panel_assets(3))
                .expect("3 assets");
            let mut d = MarketRegimeDetector::new(cfg).expect("valid");
            for (i, prices) in days.iter().enumerate() {
                let out = result(d.step(&panel_snapshot(i as i64, prices)));
                if matches!(out, Check::NonFinite(_) | Check::Broken(_)) {
                    return out;
                }
            }
            result(d.step(&panel_snapshot(1000, &[100.0, 101.0, 99.0])))
        },
    );

    // checkpoints
    let l = labeler_with_history();
    s.checkpoint("labeler", &l, |json| {
        match serde_json::from_str::<RegimeLabeler>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut l) => result(l.observe(&IndicatorObservation {
                index_return: Some(-0.02),
                vix: Some(31.0),
                volume: Some(2e5),
                ..Default::default()
            })),
        }
    });
    s.checkpoint(
        "labeler config",
        &LabelerConfig::default(),
        |json| match serde_json::from_str::<LabelerConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match RegimeLabeler::new(c) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(mut l) => result(l.observe(&IndicatorObservation {
                    index_return: Some(0.01),
                    ..Default::default()
                })),
            },
        },
    );
    let mut d = MarketRegimeDetector::new(MarketRegimeDetectorConfig::default()).expect("valid");
    for i in 0..80 {
        let p = 100.0 * (1.0 + 0.01 * ((i * 7) as f64).sin());
        let _ = d.step(&snapshot(i, p, Some(18.0))).expect("ok");
    }
    s.checkpoint("market detector", &d, |json| {
        match serde_json::from_str::<MarketRegimeDetector>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut d) => result(d.step(&snapshot(80, 99.0, Some(40.0))))
                .and(|| result(d.step(&snapshot(81, 98.0, Some(41.0))))),
        }
    });
    let cfg = MarketRegimeDetectorConfig::default()
        .with_panel(panel_assets(3))
        .expect("3");
    let mut d = MarketRegimeDetector::new(cfg.clone()).expect("valid");
    for i in 0..40 {
        let f = 1.0 + 0.01 * ((i * 7) as f64).sin();
        let _ = d
            .step(&panel_snapshot(i, &[100.0 * f, 50.0 / f, 20.0 + f]))
            .expect("ok");
    }
    s.checkpoint("panel market detector", &d, |json| {
        match serde_json::from_str::<MarketRegimeDetector>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut d) => result(d.step(&panel_snapshot(40, &[101.0, 49.0, 21.0]))),
        }
    });
    s.checkpoint(
        "market detector config",
        &cfg,
        |json| match serde_json::from_str::<MarketRegimeDetectorConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match MarketRegimeDetector::new(c) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(mut d) => result(d.step(&panel_snapshot(0, &[100.0, 50.0, 20.0]))),
            },
        },
    );

    s.finish();
}

fn trained_linucb() -> LinUcb {
    let mut p = LinUcb::new(LinUcbConfig {
        n_actions: 3,
        dim: 2,
        ..Default::default()
    })
    .expect("valid");
    for t in 0..60 {
        let x = [1.0, ((t * 7) as f64 * 0.3).sin()];
        p.learn(&x, t % 3, 0.1 * (t % 3) as f64 + x[1]).expect("ok");
    }
    p
}

#[test]
fn regime_policies() {
    let mut s = Suite::new("regime/policies");

    // (LinUCB itself is covered by the learn module since it moved to prudentia-learn)

    // the conditional container
    let template = || {
        LinUcb::new(LinUcbConfig {
            n_actions: 2,
            dim: 1,
            ridge: 10.0,
            ..Default::default()
        })
        .expect("valid")
    };
    for n in SIZES {
        s.check(format!("conditional freeze {n}"), move || {
            let cfg = ConditionalPolicyConfig {
                freeze_decisions: n,
                ..Default::default()
            };
            match RegimeConditionalPolicy::new(cfg, template()) {
                Ok(mut p) => {
                    let _ = p.observe_regime(&RegimeState::certain(RegimeLabel::RISK_ON));
                    let _ = p.observe_regime(&RegimeState::certain(RegimeLabel::RISK_OFF));
                    result(p.decide(&[1.0], 0))
                }
                Err(_) => Check::Rejected,
            }
        });
    }
    s.check("conditional decide before any regime", move || {
        let mut p =
            RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), template()).expect("valid");
        result(p.decide(&[1.0], 0))
    });
    s.check("conditional head with other actions", move || {
        let mut p =
            RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), template()).expect("valid");
        result(p.insert_head(RegimeLabel::RISK_ON, trained_linucb()))
    });
    s.check("conditional learn_in unknown regime", move || {
        let mut p =
            RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), template()).expect("valid");
        result(p.learn_in(&RegimeLabel::HIGH_VOL, &[1.0], 0, 1.0))
    });
    s.sweep(
        "conditional",
        proptest::collection::vec((0usize..3, any_f64(), 0usize..3, any_f64()), 1..40),
        move |steps| {
            let mut p =
                RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), template()).expect("valid");
            let labels = [RegimeLabel::RISK_ON, RegimeLabel::RISK_OFF, RegimeLabel::HIGH_VOL];
            for (l, x, a, r) in steps {
                let _ = p.observe_regime(&RegimeState::certain(labels[l].clone()));
                let out = result(p.decide(&[x], 0));
                if matches!(out, Check::NonFinite(_) | Check::Broken(_)) {
                    return out;
                }
                let _ = p.update(&[x], a, r);
            }
            result(p.decide(&[0.5], 1))
        },
    );

    // checkpoints
    let mut p = RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), template()).expect("valid");
    for t in 0..40 {
        let l = if t < 20 {
            RegimeLabel::RISK_ON
        } else {
            RegimeLabel::RISK_OFF
        };
        let _ = p.observe_regime(&RegimeState::certain(l));
        let c = p.decide(&[1.0], t).expect("ok");
        p.update(&[1.0], c.action, 0.1).expect("ok");
    }
    s.checkpoint("conditional policy", &p, |json| {
        match serde_json::from_str::<RegimeConditionalPolicy<LinUcb>>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut p) => {
                let dim = p.head(&RegimeLabel::RISK_OFF).map_or(1, |h| h.config().dim);
                let x = vec![1.0; dim];
                let out = match p.decide(&x, 3) {
                    Ok(c) => Check::ok_finite(&c).and(|| result(p.update(&x, c.action, 0.2))),
                    Err(_) => Check::Rejected,
                };
                out.and(|| {
                    let _ = p.observe_regime(&RegimeState::certain(RegimeLabel::HIGH_VOL));
                    result(p.decide(&x, 4))
                })
            }
        }
    });
    s.checkpoint(
        "conditional config",
        &ConditionalPolicyConfig::default(),
        move |json| match serde_json::from_str::<ConditionalPolicyConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match RegimeConditionalPolicy::new(c, template()) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(mut p) => {
                    let _ = p.observe_regime(&RegimeState::certain(RegimeLabel::RISK_ON));
                    result(p.decide(&[1.0], 0))
                }
            },
        },
    );

    s.finish();
}
