//! Per-regime calibration of biased, over-confident forecasters.

use prudentia_core::traits::{Calibrator, OnlineLearner};
use prudentia_core::{Forecast, Horizon, RegimeLabel, RegimeState};
use prudentia_uncertainty::calibrate::{
    forecast_calibration_error, BlendEvent, BlendMethod, BlenderConfig, CalibratedBlender, CalibrationEvent,
    CalibrationMethod, CalibrationSource, CalibratorConfig, CalibratorSelection, RegimeCalibrator,
    MIN_VALIDATION_EVENTS,
};
use prudentia_uncertainty::normal;
use prudentia_uncertainty::scores::{ece, Binning};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// Regime-dependent bias and over-confidence: in risk-on the forecaster is biased up by
/// half a sigma and twice too confident; in risk-off biased down and 1.5× too confident.
fn biased(seed: u64, n: usize) -> Vec<CalibrationEvent> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let z: f64 = StandardNormal.sample(&mut rng);
            let on = (i / 250) % 2 == 0;
            let mu = 0.001 * ((i % 11) as f64 - 5.0);
            let s = if on { 0.01 } else { 0.03 };
            let (bias, conf, regime) = if on {
                (0.5 * s, 2.0, RegimeLabel::RISK_ON)
            } else {
                (-0.4 * s, 1.5, RegimeLabel::RISK_OFF)
            };
            CalibrationEvent {
                forecast: Forecast::new(mu + bias, s / conf, Horizon::DAY).unwrap(),
                regime,
                outcome: mu + s * z,
            }
        })
        .collect()
}

fn errors(events: &[CalibrationEvent], cal: Option<&RegimeCalibrator>, regime: &RegimeLabel) -> (f64, f64) {
    let sel: Vec<&CalibrationEvent> = events.iter().filter(|e| &e.regime == regime).collect();
    let fs: Vec<Forecast> = sel
        .iter()
        .map(|e| match cal {
            Some(c) => c.calibrate_detailed(&e.forecast, &e.regime).unwrap().forecast,
            None => e.forecast.clone(),
        })
        .collect();
    let ys: Vec<f64> = sel.iter().map(|e| e.outcome).collect();
    let dist = forecast_calibration_error(&fs, &ys).unwrap();
    // Binary ECE of P(y > 0) = 1 − Φ(−μ/σ).
    let p: Vec<f64> = fs.iter().map(|f| normal::cdf(f.mean / f.sigma)).collect();
    let o: Vec<bool> = ys.iter().map(|&y| y > 0.0).collect();
    let bin = ece(&p, &o, 10, Binning::EqualMass).unwrap().ece;
    (dist, bin)
}

#[test]
fn per_regime_calibration_at_least_halves_ece() {
    let train = biased(10, 20_000);
    let test = biased(11, 20_000);
    let cal = RegimeCalibrator::fit(CalibratorConfig::default(), &train).unwrap();
    let pooled_only = RegimeCalibrator::fit(
        CalibratorConfig {
            min_samples: usize::MAX,
            ..Default::default()
        },
        &train,
    );
    assert!(pooled_only.is_ok());
    for r in [RegimeLabel::RISK_ON, RegimeLabel::RISK_OFF] {
        let (raw_d, raw_b) = errors(&test, None, &r);
        let (cal_d, cal_b) = errors(&test, Some(&cal), &r);
        assert!(cal_d <= 0.5 * raw_d, "{r}: distribution ECE {raw_d} -> {cal_d}");
        assert!(cal_b <= 0.5 * raw_b, "{r}: binary ECE {raw_b} -> {cal_b}");
        assert!(cal_d < 0.02, "{r}: {cal_d}");
    }
}

#[test]
fn isotonic_recalibration_fixes_shape() {
    // Student-t-like heavy tails: variance scaling alone cannot make all deciles right.
    let mut rng = StdRng::seed_from_u64(12);
    let mk = |rng: &mut StdRng| -> Vec<CalibrationEvent> {
        (0..10_000)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                let y = z * z * z / 3.0; // skewed, heavy-tailed
                CalibrationEvent {
                    forecast: Forecast::new(0.0, 1.0, Horizon::DAY).unwrap(),
                    regime: RegimeLabel::UNKNOWN,
                    outcome: y,
                }
            })
            .collect()
    };
    let train = mk(&mut rng);
    let test = mk(&mut rng);
    let levels: Vec<f64> = (1..20).map(|k| k as f64 / 20.0).collect();
    let cfg = CalibratorConfig {
        isotonic: true,
        quantile_levels: levels.clone(),
        ..Default::default()
    };
    let cal = RegimeCalibrator::fit(cfg, &train).unwrap();
    let out = cal
        .calibrate_detailed(&test[0].forecast, &RegimeLabel::UNKNOWN)
        .unwrap()
        .forecast;
    for q in &out.quantiles {
        let share = test.iter().filter(|e| e.outcome <= q.value).count() as f64 / test.len() as f64;
        assert!((share - q.level).abs() < 0.02, "level {}: {share}", q.level);
    }
}

#[test]
fn sparse_regime_falls_back_to_pooled() {
    let mut train = biased(13, 2000);
    train.push(CalibrationEvent {
        forecast: Forecast::new(0.0, 0.01, Horizon::DAY).unwrap(),
        regime: RegimeLabel::ILLIQUID,
        outcome: 0.0,
    });
    let cal = RegimeCalibrator::fit(CalibratorConfig::default(), &train).unwrap();
    let f = Forecast::new(0.0, 0.01, Horizon::DAY).unwrap();
    let out = cal.calibrate_detailed(&f, &RegimeLabel::ILLIQUID).unwrap();
    assert_eq!(
        out.source,
        CalibrationSource::PooledFallback {
            regime: RegimeLabel::ILLIQUID,
            samples: 1
        }
    );
    let out = cal.calibrate_detailed(&f, &RegimeLabel::RISK_ON).unwrap();
    assert_eq!(out.source, CalibrationSource::Regime(RegimeLabel::RISK_ON));
    let fresh = RegimeCalibrator::new(CalibratorConfig::default()).unwrap();
    assert_eq!(
        fresh
            .calibrate_detailed(&f, &RegimeLabel::RISK_ON)
            .unwrap()
            .source,
        CalibrationSource::Identity
    );
}

#[test]
fn online_learning_matches_batch_and_tracks_prequential_error() {
    let train = biased(14, 3000);
    // Online learning applies variance scaling: the batch fit without a held-out choice.
    let fixed = CalibratorConfig {
        selection: CalibratorSelection::Fixed,
        ..Default::default()
    };
    let batch = RegimeCalibrator::fit(fixed.clone(), &train).unwrap();
    let mut online = RegimeCalibrator::new(fixed).unwrap();
    let boxed: &mut dyn OnlineLearner<CalibrationEvent> = &mut online;
    for e in &train {
        boxed.learn(e).unwrap();
    }
    assert_eq!(online, batch);
    let st = online.regime(&RegimeLabel::RISK_ON).unwrap();
    assert!(st.stats.calibrated_error().unwrap() < 0.5 * st.stats.raw_error().unwrap());
    let as_trait: &dyn Calibrator = &online;
    let out = as_trait
        .calibrate(&train[0].forecast, &RegimeState::certain(RegimeLabel::RISK_ON))
        .unwrap();
    assert!(out.sigma > train[0].forecast.sigma);
    assert!(out.calibration.unwrap().samples > 0);
}

#[test]
fn blender_stacking_prefers_the_informative_forecaster() {
    let mut rng = StdRng::seed_from_u64(15);
    let events: Vec<BlendEvent> = (0..4000)
        .map(|i| {
            let signal = 0.01 * ((i % 13) as f64 - 6.0);
            let z: f64 = StandardNormal.sample(&mut rng);
            let regime = if i % 2 == 0 {
                RegimeLabel::RISK_ON
            } else {
                RegimeLabel::RISK_OFF
            };
            BlendEvent {
                forecasts: vec![
                    Forecast::new(signal, 0.02, Horizon::DAY).unwrap(),
                    Forecast::new(0.0, 0.01, Horizon::DAY).unwrap(),
                ],
                regime,
                outcome: signal + 0.02 * z,
            }
        })
        .collect();
    let stack = CalibratedBlender::fit(
        BlenderConfig {
            method: BlendMethod::Stacking,
            ..Default::default()
        },
        &events,
    )
    .unwrap();
    let w = stack.weights(&RegimeLabel::RISK_ON);
    assert!(w[0] > 0.9, "{w:?}");
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let iv = CalibratedBlender::fit(BlenderConfig::default(), &events).unwrap();
    // Inverse variance trusts the (falsely) confident forecaster more.
    let b = iv.blend(&events[0].forecasts, &RegimeLabel::RISK_ON).unwrap();
    assert!((b.sigma - (1.0f64 / (1.0 / 0.0004 + 1.0 / 0.0001)).sqrt()).abs() < 1e-15);
    let c = stack
        .blend_and_calibrate(&events[0].forecasts, &RegimeLabel::RISK_ON)
        .unwrap();
    assert!(matches!(c.source, CalibrationSource::Regime(_)));
}

#[test]
fn per_regime_platt_and_isotonic_fix_event_probabilities() {
    use prudentia_uncertainty::probability::{
        ProbabilityConfig, ProbabilityMethod, ProbabilitySource, RegimeProbabilityCalibrator,
    };
    use rand::RngExt;
    // True P(up) = σ(t); the raw forecast reports σ(3t) in risk-on (over-confident) and
    // σ(t + 1) in risk-off (biased up).
    let sig = |t: f64| 1.0 / (1.0 + (-t).exp());
    let gen = |seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut p, mut o, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..20_000 {
            let t: f64 = StandardNormal.sample(&mut rng);
            let on = i % 2 == 0;
            p.push(if on { sig(3.0 * t) } else { sig(t + 1.0) });
            o.push(rng.random::<f64>() < sig(t));
            r.push(if on {
                RegimeLabel::RISK_ON
            } else {
                RegimeLabel::RISK_OFF
            });
        }
        (p, o, r)
    };
    let (p, o, r) = gen(20);
    let (pt, ot, rt) = gen(21);
    for method in [ProbabilityMethod::Platt, ProbabilityMethod::Isotonic] {
        // Platt on the logit of the raw probability is exact for this family.
        let score = |q: f64| {
            if method == ProbabilityMethod::Platt {
                (q / (1.0 - q)).ln()
            } else {
                q
            }
        };
        let s: Vec<f64> = p.iter().map(|&q| score(q)).collect();
        let cal = RegimeProbabilityCalibrator::fit(
            ProbabilityConfig {
                method,
                ..Default::default()
            },
            &s,
            &o,
            &r,
        )
        .unwrap();
        for label in [RegimeLabel::RISK_ON, RegimeLabel::RISK_OFF] {
            let idx: Vec<usize> = (0..pt.len()).filter(|&i| rt[i] == label).collect();
            let raw: Vec<f64> = idx.iter().map(|&i| pt[i]).collect();
            let outc: Vec<bool> = idx.iter().map(|&i| ot[i]).collect();
            let fixed: Vec<f64> = idx
                .iter()
                .map(|&i| {
                    let (q, src) = cal.calibrate(score(pt[i]), &label).unwrap();
                    assert_eq!(src, ProbabilitySource::Regime(label.clone()));
                    q
                })
                .collect();
            let e_raw = ece(&raw, &outc, 10, Binning::EqualWidth).unwrap().ece;
            let e_cal = ece(&fixed, &outc, 10, Binning::EqualWidth).unwrap().ece;
            assert!(e_cal <= 0.5 * e_raw, "{method:?} {label}: {e_raw} -> {e_cal}");
        }
        let (_, src) = cal.calibrate(0.0, &RegimeLabel::ILLIQUID).unwrap();
        assert_eq!(src, ProbabilitySource::Pooled);
    }
}

/// Issue #22 (1): one event with σ = 5e-324, or an outcome of `f64::MAX`, among normal
/// events used to turn every later calibration in its regime into NaN/inf. Such an event is
/// now refused with a typed error and changes nothing; later calibrations stay finite.
#[test]
fn one_extreme_event_does_not_poison_the_calibrator() {
    let events = biased(3, 200);
    let r = RegimeLabel::RISK_ON;
    for bad in [
        (Forecast::new(0.0, 5e-324, Horizon::DAY).unwrap(), 0.01),
        (Forecast::new(0.0, 0.01, Horizon::DAY).unwrap(), f64::MAX),
        (Forecast::new(-1e308, 1e-300, Horizon::DAY).unwrap(), 1e308),
    ] {
        let mut cal = RegimeCalibrator::new(CalibratorConfig {
            min_samples: 10,
            ..Default::default()
        })
        .unwrap();
        for e in &events {
            cal.learn(e).unwrap();
        }
        let before = cal.clone();
        let event = CalibrationEvent {
            forecast: bad.0,
            regime: r.clone(),
            outcome: bad.1,
        };
        if cal.learn(&event).is_err() {
            assert_eq!(cal, before, "a refused event changed the calibrator");
        }
        for e in events.iter().take(20) {
            let out = cal.calibrate_detailed(&e.forecast, &r).unwrap().forecast;
            assert!(
                out.mean.is_finite() && out.sigma.is_finite() && out.sigma > 0.0,
                "{out:?}"
            );
            assert!(out.quantiles.iter().all(|q| q.value.is_finite()), "{out:?}");
        }
        // And it keeps learning normally.
        cal.learn(&events[0]).unwrap();
    }
}

/// Events from a forecaster that states `sigma_scale` times the true sigma (1 = calibrated),
/// in two regimes, in time order.
fn stated(seed: u64, n: usize, sigma_scale: f64) -> Vec<CalibrationEvent> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let z: f64 = StandardNormal.sample(&mut rng);
            let on = i % 3 != 0;
            let s = if on { 0.01 } else { 0.02 };
            let mu = 0.002 * ((i % 7) as f64 - 3.0);
            CalibrationEvent {
                forecast: Forecast::new(mu, sigma_scale * s, Horizon::DAY).unwrap(),
                regime: if on {
                    RegimeLabel::RISK_ON
                } else {
                    RegimeLabel::RISK_OFF
                },
                outcome: mu + s * z,
            }
        })
        .collect()
}

fn pit_error(cal: Option<&RegimeCalibrator>, events: &[CalibrationEvent]) -> f64 {
    let fs: Vec<Forecast> = events
        .iter()
        .map(|e| match cal {
            Some(c) => c.calibrate_detailed(&e.forecast, &e.regime).unwrap().forecast,
            None => e.forecast.clone(),
        })
        .collect();
    let ys: Vec<f64> = events.iter().map(|e| e.outcome).collect();
    forecast_calibration_error(&fs, &ys).unwrap()
}

/// Issue #19: the default calibrator chooses identity, scaling or isotonic by held-out
/// error, so on well-calibrated forecasts it is no worse than leaving them alone on its own
/// validation split (and on fresh data), and it says what it chose.
#[test]
fn default_calibrator_never_worse_than_identity_on_well_calibrated_input() {
    for seed in [30, 31, 32, 33] {
        let train = stated(seed, 1500, 1.0);
        let cal = RegimeCalibrator::fit(CalibratorConfig::default(), &train).unwrap();
        let r = cal.fit_report().expect("a held-out fit reports its choice");
        assert_eq!(r.status, prudentia_core::Status::Converged);
        assert_eq!((r.training_events, r.validation_events), (1050, 450));
        let chosen = r.error_of(r.method).unwrap();
        let identity = r.identity_error.unwrap();
        assert!(
            chosen <= identity,
            "seed {seed}: {:?} {chosen} > identity {identity}",
            r.method
        );
        assert!(r.scaling_error.is_some() && r.isotonic_error.is_some());
        assert_eq!(cal.method(), r.method);
        // The held-out errors are what they say: the identity error is that of the raw
        // forecasts on the last 450 events.
        assert!((identity - pit_error(None, &train[1050..])).abs() < 1e-12);
        // On fresh data from the same forecaster the choice costs little calibration.
        let test = stated(seed + 100, 3000, 1.0);
        let (raw, out) = (pit_error(None, &test), pit_error(Some(&cal), &test));
        assert!(out <= raw + 0.01, "seed {seed}: {:?} {raw} -> {out}", r.method);
        if r.method == CalibrationMethod::Identity {
            let f = &test[0].forecast;
            let c = cal.calibrate_detailed(f, &test[0].regime).unwrap().forecast;
            assert_eq!((c.mean, c.sigma), (f.mean, f.sigma));
        }
        // The fitted calibrator, report included, reloads.
        let json = serde_json::to_string(&cal).unwrap();
        assert_eq!(serde_json::from_str::<RegimeCalibrator>(&json).unwrap(), cal);
    }
}

#[test]
fn default_calibrator_fixes_over_confident_input() {
    let train = stated(40, 1500, 0.5);
    let cal = RegimeCalibrator::fit(CalibratorConfig::default(), &train).unwrap();
    let r = cal.fit_report().unwrap();
    assert_ne!(r.method, CalibrationMethod::Identity, "{r:?}");
    assert!(
        r.error_of(r.method).unwrap() < 0.5 * r.identity_error.unwrap(),
        "{r:?}"
    );
    let test = stated(41, 3000, 0.5);
    let (raw, out) = (pit_error(None, &test), pit_error(Some(&cal), &test));
    assert!(out < 0.5 * raw, "{raw} -> {out}");
    let f = &test[0].forecast;
    let c = cal.calibrate_detailed(f, &test[0].regime).unwrap().forecast;
    assert!((c.sigma / f.sigma - 2.0).abs() < 0.2, "{}", c.sigma / f.sigma);
}

#[test]
fn too_few_events_for_a_held_out_choice_leave_forecasts_alone_and_say_so() {
    // 60 events: 42 training (< min_samples = 50) and 18 validation (< 20).
    let train = stated(50, 60, 0.5);
    let cal = RegimeCalibrator::fit(CalibratorConfig::default(), &train).unwrap();
    let r = cal.fit_report().unwrap();
    assert_eq!(r.method, CalibrationMethod::Identity);
    assert!(r.validation_events < MIN_VALIDATION_EVENTS);
    match &r.status {
        prudentia_core::Status::ReducedAccuracy { reason } => {
            assert!(reason.contains("held-out"), "{reason}")
        }
        s => panic!("expected ReducedAccuracy, got {s:?}"),
    }
    let f = &train[0].forecast;
    let c = cal.calibrate_detailed(f, &train[0].regime).unwrap().forecast;
    assert_eq!((c.mean, c.sigma), (f.mean, f.sigma));
    // The old behaviour, on request: variance scaling fitted on all events.
    let fixed = RegimeCalibrator::fit(
        CalibratorConfig {
            selection: CalibratorSelection::Fixed,
            ..Default::default()
        },
        &train,
    )
    .unwrap();
    assert!(fixed.fit_report().is_none());
    assert_eq!(fixed.method(), CalibrationMethod::Scaling);
    let c = fixed.calibrate_detailed(f, &train[0].regime).unwrap().forecast;
    assert!(c.sigma > 1.5 * f.sigma);
    // A bad validation fraction is refused, also on load.
    for v in [0.0, 1.0, f64::NAN] {
        let cfg = CalibratorConfig {
            selection: CalibratorSelection::HeldOut {
                validation_fraction: v,
            },
            ..Default::default()
        };
        assert!(RegimeCalibrator::fit(cfg.clone(), &train).is_err());
    }
    let bad = r#"{"selection": {"HeldOut": {"validation_fraction": 1.5}}}"#;
    assert!(serde_json::from_str::<CalibratorConfig>(bad).is_err());
}
