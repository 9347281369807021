//! Checkpoint/restore, bounded memory without allocation, bad input, Send + Sync and
//! posterior invariants.

use proptest::prelude::*;
use prudentia_core::traits::OnlinePolicy;
use prudentia_core::{CoreError, RegimeLabel, RegimeState};
use prudentia_learn::bandit::{LinUcb, LinUcbConfig};
use prudentia_regime::bocpd::{
    Bocpd, BocpdConfig, Hazard, NormalGammaPrior, NormalKnownVariancePrior, ObservationModel, Truncation,
};
use prudentia_regime::conditional::{ConditionalPolicyConfig, RegimeConditionalPolicy};
use prudentia_regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia_regime::hmm::{GaussianHmm, HmmFilter};
use prudentia_regime::labels::RegimeLabeler;
use prudentia_regime::RegimeError;

fn wave(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let base = ((i * 13) as f64 * 0.37).sin();
            if (i / 150) % 2 == 0 {
                base
            } else {
                3.0 + 2.5 * base
            }
        })
        .collect()
}

#[test]
fn bocpd_checkpoint_restore_gives_identical_posteriors() {
    let x = wave(1200);
    let mut a = Bocpd::new(BocpdConfig::default()).unwrap();
    for &v in &x[..600] {
        let _ = a.update_scalar(v).unwrap();
    }
    let json = serde_json::to_string(&a).unwrap();
    let mut b: Bocpd = serde_json::from_str(&json).unwrap();
    for &v in &x[600..] {
        let sa = a.update_scalar(v).unwrap();
        let sb = b.update_scalar(v).unwrap();
        assert_eq!(sa, sb);
    }
    assert_eq!(
        a.run_length_posterior().collect::<Vec<_>>(),
        b.run_length_posterior().collect::<Vec<_>>()
    );
    // a corrupted checkpoint is an error, not a later panic
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["stats"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<Bocpd>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["config"]["hazard"] = serde_json::json!({"Constant": {"expected_run_length": 0.5}});
    assert!(serde_json::from_value::<Bocpd>(v).is_err());
}

#[test]
fn truncation_bounds_memory_and_updates_do_not_reallocate() {
    let cfg = BocpdConfig {
        truncation: Truncation {
            min_probability: 1e-8,
            max_run_lengths: 200,
        },
        ..Default::default()
    };
    let mut d = Bocpd::new(cfg).unwrap();
    let x = wave(6000);
    for &v in &x[..1000] {
        let s = d.update_scalar(v).unwrap();
        assert!(s.support <= 200);
    }
    let caps = d.buffer_capacities();
    for &v in &x[1000..] {
        let s = d.update_scalar(v).unwrap();
        assert!(s.support <= 200);
        assert_eq!(d.buffer_capacities(), caps, "an update reallocated");
    }
}

#[test]
fn truncated_posterior_stays_close_to_exact() {
    let x = wave(400);
    let mut exact = Bocpd::new(BocpdConfig {
        truncation: Truncation::none(),
        ..Default::default()
    })
    .unwrap();
    let mut trunc = Bocpd::new(BocpdConfig::default()).unwrap();
    for &v in &x {
        let a = exact.update_scalar(v).unwrap();
        let b = trunc.update_scalar(v).unwrap();
        assert_eq!(a.map_run_length, b.map_run_length);
        assert!((a.change_probability - b.change_probability).abs() < 1e-6);
    }
}

#[test]
fn non_finite_observations_are_typed_errors_and_leave_state_unchanged() {
    let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
    let _ = d.update_scalar(0.5).unwrap();
    let before = d.clone();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            d.update_scalar(bad),
            Err(RegimeError::Core(CoreError::NonFinite { .. }))
        ));
    }
    assert!(matches!(
        d.update(&[1.0, 2.0]),
        Err(RegimeError::Core(CoreError::ShapeMismatch { .. }))
    ));
    assert_eq!(d, before);
}

#[test]
fn invalid_priors_and_hazards_are_rejected() {
    let bad_models = [
        ObservationModel::NormalGamma(NormalGammaPrior {
            kappa: -1.0,
            ..Default::default()
        }),
        ObservationModel::NormalGamma(NormalGammaPrior {
            alpha: 0.0,
            ..Default::default()
        }),
        ObservationModel::NormalGamma(NormalGammaPrior {
            mu: f64::NAN,
            ..Default::default()
        }),
        ObservationModel::NormalKnownVariance(NormalKnownVariancePrior {
            mean_variance: 0.0,
            ..Default::default()
        }),
    ];
    for m in bad_models {
        assert!(BocpdConfig::univariate(m).validate().is_err());
        assert!(Bocpd::new(BocpdConfig::univariate(m)).is_err());
    }
    for h in [
        Hazard::Constant {
            expected_run_length: 0.5,
        },
        Hazard::Constant {
            expected_run_length: f64::INFINITY,
        },
        Hazard::Table {
            probabilities: vec![0.0],
        },
        Hazard::Table {
            probabilities: vec![0.2, f64::NAN],
        },
    ] {
        let cfg = BocpdConfig {
            hazard: h,
            ..Default::default()
        };
        assert!(matches!(cfg.validate(), Err(CoreError::OutOfRange { .. })));
    }
}

#[test]
fn detector_checkpoint_restore_and_bad_snapshots() {
    use prudentia_core::{AssetId, MarketSnapshot, Quote, Timestamp};
    let snap = |i: i64, price: f64| MarketSnapshot {
        time: Timestamp::from_nanos(i * Timestamp::NANOS_PER_DAY),
        quotes: vec![Quote {
            asset: AssetId::new("X"),
            time: Timestamp::from_nanos(i * Timestamp::NANOS_PER_DAY),
            price,
            volume: Some(1e6),
            spread_bps: Some(2.0),
        }],
        indicators: vec![],
        assets: vec![],
    };
    let x = wave(600);
    let mut a = MarketRegimeDetector::new(MarketRegimeDetectorConfig::default()).unwrap();
    let mut price = 100.0;
    for (i, &v) in x[..300].iter().enumerate() {
        price *= 1.0 + 0.01 * v;
        let _ = a.step(&snap(i as i64, price)).unwrap();
    }
    let json = serde_json::to_string(&a).unwrap();
    let mut b: MarketRegimeDetector = serde_json::from_str(&json).unwrap();
    for (i, &v) in x[300..].iter().enumerate() {
        price *= 1.0 + 0.01 * v;
        let s = snap(300 + i as i64, price);
        assert_eq!(a.step(&s).unwrap(), b.step(&s).unwrap());
    }
    assert!(a.step(&snap(1000, f64::NAN)).is_err());
    assert!(a.step(&snap(1000, -1.0)).is_err());
    // a missing reference quote (e.g. quarantined by the guard) holds the last state ...
    let mut empty = snap(1000, 1.0);
    empty.quotes.clear();
    let before = b.step(&snap(1000, price)).unwrap();
    let held = b.step(&empty).unwrap();
    assert_eq!(held.label, before.label);
    assert_eq!(held.run_length, before.run_length);
    assert!(!held.changed);
    assert_eq!(held.change_probability, 0.0);
    // ... without touching the posterior: the next step equals one from a detector that
    // never saw the empty snapshot
    let mut c = a.clone();
    let _ = c.step(&snap(1000, price)).unwrap();
    let next = snap(1001, price * 1.01);
    assert_eq!(b.step(&next).unwrap(), c.step(&next).unwrap());
    // ... and is an error only before any state exists
    let mut fresh = MarketRegimeDetector::new(MarketRegimeDetectorConfig::default()).unwrap();
    assert!(matches!(
        fresh.step(&empty),
        Err(RegimeError::Core(CoreError::UnknownId { .. }))
    ));
}

#[test]
fn linucb_and_conditional_checkpoint_restore_give_identical_decisions() {
    let lin = LinUcb::new(LinUcbConfig {
        n_actions: 3,
        dim: 2,
        ..Default::default()
    })
    .unwrap();
    let mut a = RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), lin).unwrap();
    let ctx = |t: usize| [1.0, ((t * 7) as f64 * 0.3).sin()];
    let labels = [RegimeLabel::RISK_ON, RegimeLabel::RISK_OFF];
    for t in 0..200 {
        let _ = a.observe_regime(&RegimeState::certain(labels[(t / 50) % 2].clone()));
        let c = a.decide(&ctx(t), t as u64).unwrap();
        a.update(&ctx(t), c.action, 0.1 * c.action as f64 + ctx(t)[1])
            .unwrap();
    }
    let json = serde_json::to_string(&a).unwrap();
    let mut b: RegimeConditionalPolicy<LinUcb> = serde_json::from_str(&json).unwrap();
    for t in 200..400 {
        let st = RegimeState::certain(labels[(t / 50) % 2].clone());
        assert_eq!(a.observe_regime(&st), b.observe_regime(&st));
        let ca = a.decide(&ctx(t), t as u64).unwrap();
        let cb = b.decide(&ctx(t), t as u64).unwrap();
        assert_eq!(ca, cb);
        let r = 0.1 * ca.action as f64 - ctx(t)[1];
        a.update(&ctx(t), ca.action, r).unwrap();
        b.update(&ctx(t), cb.action, r).unwrap();
    }
}

#[test]
fn hmm_filter_and_labeler_restore() {
    let labeler = RegimeLabeler::new(Default::default()).unwrap();
    let json = serde_json::to_string(&labeler).unwrap();
    let back: RegimeLabeler = serde_json::from_str(&json).unwrap();
    assert_eq!(labeler, back);
    let _ = serde_json::to_string(
        &GaussianHmm::new(prudentia_regime::hmm::HmmParams {
            start: vec![1.0],
            transition: vec![1.0],
            means: vec![0.0],
            variances: vec![1.0],
        })
        .unwrap(),
    )
    .unwrap();
}

#[test]
fn types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Bocpd>();
    check::<GaussianHmm>();
    check::<HmmFilter>();
    check::<RegimeLabeler>();
    check::<MarketRegimeDetector>();
    check::<LinUcb>();
    check::<RegimeConditionalPolicy<LinUcb>>();
    check::<RegimeError>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn posterior_is_a_distribution(xs in prop::collection::vec(-50.0f64..50.0, 1..120),
                                   lambda in 2.0f64..500.0) {
        let cfg = BocpdConfig {
            hazard: Hazard::Constant { expected_run_length: lambda },
            ..Default::default()
        };
        let mut d = Bocpd::new(cfg).unwrap();
        for &x in &xs {
            let s = d.update_scalar(x).unwrap();
            prop_assert!(s.log_evidence.is_finite());
            prop_assert!((0.0..=1.0).contains(&s.change_probability));
            prop_assert!(s.map_run_length <= xs.len());
        }
        let total: f64 = d.run_length_posterior().map(|(_, p)| p).sum();
        prop_assert!((total - 1.0).abs() < 1e-9);
        prop_assert!(d.run_length_posterior().all(|(_, p)| p >= 0.0));
    }
}

#[test]
fn corrupted_checkpoints_are_rejected_at_load() {
    // labeler: a window longer than configured, an invalid config
    let mut l = RegimeLabeler::new(Default::default()).unwrap();
    for i in 0..30 {
        let _ = l
            .observe(&prudentia_regime::labels::IndicatorObservation {
                index_return: Some(0.01 * ((i % 5) as f64 - 2.0)),
                ..Default::default()
            })
            .unwrap();
    }
    let good: serde_json::Value = serde_json::to_value(&l).unwrap();
    let back: RegimeLabeler = serde_json::from_value(good.clone()).unwrap();
    assert_eq!(back, l);
    let mut long = good.clone();
    long["config"]["realized_vol_window"] = serde_json::json!(5);
    let err = serde_json::from_value::<RegimeLabeler>(long)
        .unwrap_err()
        .to_string();
    assert!(err.contains("labeler.returns"), "{err}");
    let mut zero = good;
    zero["config"]["drawdown_window"] = serde_json::json!(0);
    assert!(serde_json::from_value::<RegimeLabeler>(zero).is_err());
}

#[test]
fn panel_detector_inputs_holds_and_checkpoints() {
    use prudentia_datasets::{SyntheticConfig, SyntheticMarket};
    use prudentia_regime::detector::MarketRegimeDetectorConfig;
    let m = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: 6,
        n_sectors: 2,
        n_days: 400,
        ..Default::default()
    })
    .unwrap();
    let ids: Vec<_> = m.assets.iter().map(|a| a.id.clone()).collect();
    // configuration errors: one asset, or a panel with a one-feature BOCPD
    assert!(MarketRegimeDetectorConfig::default()
        .with_panel(ids[..1].to_vec())
        .is_err());
    let mismatched = MarketRegimeDetectorConfig {
        panel: Some(ids.clone()),
        ..Default::default()
    };
    assert!(matches!(
        MarketRegimeDetector::new(mismatched),
        Err(RegimeError::Core(CoreError::ShapeMismatch {
            field: "bocpd.features",
            ..
        }))
    ));
    let cfg = MarketRegimeDetectorConfig::default()
        .with_panel(ids.clone())
        .unwrap();
    let mut d = MarketRegimeDetector::new(cfg).unwrap();
    for t in 0..200 {
        let _ = d.step(&m.snapshot_before(t).unwrap()).unwrap();
    }
    // checkpoint/restore continues identically
    let json = serde_json::to_string(&d).unwrap();
    let mut back: MarketRegimeDetector = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
    for t in 200..260 {
        let s = m.snapshot_before(t).unwrap();
        assert_eq!(d.step(&s).unwrap(), back.step(&s).unwrap());
    }
    // a snapshot missing one panel asset holds the change-point state; the next complete
    // one updates again
    let before = d.last_change_point_step().copied();
    let mut s = m.snapshot_before(260).unwrap();
    s.quotes.retain(|q| q.asset != ids[3]);
    let held = d.step(&s).unwrap();
    assert!(!held.changed);
    assert_eq!(d.last_change_point_step().copied(), before);
    let _ = d.step(&m.snapshot_before(261).unwrap()).unwrap();
    assert_ne!(d.last_change_point_step().copied(), before);
    // a bad panel price is a typed error and changes nothing
    let snapshot_before_error = d.clone();
    let mut bad = m.snapshot_before(262).unwrap();
    bad.quotes[4].price = f64::NAN;
    assert!(d.step(&bad).is_err());
    assert_eq!(d, snapshot_before_error);
}

// ---- issue #22 (reliability) regressions ----

/// A level shift of `+4` at `shift` on the deterministic wave noise.
fn shifted(n: usize, shift: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 * ((i * 13) as f64 * 0.37).sin() + if i < shift { 0.0 } else { 4.0 })
        .collect()
}

#[test]
fn bocpd_survives_one_extreme_value_and_still_finds_a_later_change() {
    let x = shifted(400, 250);
    for extreme in [1e300, -1e300, f64::MAX, 1e155] {
        let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
        for &v in &x[..100] {
            let _ = d.update_scalar(v).unwrap();
        }
        let before = d.clone();
        assert!(matches!(
            d.update_scalar(extreme),
            Err(RegimeError::Core(CoreError::Numerical { .. }))
        ));
        assert_eq!(d, before, "a rejected observation changed the detector");
        let mut found = false;
        for &v in &x[100..] {
            let s = d.update_scalar(v).unwrap();
            let total: f64 = d.run_length_posterior().map(|(_, p)| p).sum();
            assert!((total - 1.0).abs() < 1e-9);
            assert!(d.run_length_posterior().all(|(_, p)| p.is_finite()));
            found |= s.changed && (250..265).contains(&s.index);
        }
        assert!(found, "the shift at 250 was not found after {extreme:e}");
    }
    // a large value that the statistics can hold is a change, and the detector goes on
    let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
    let mut x = shifted(400, 250);
    x[100] = 1e100;
    let mut signals = Vec::new();
    for &v in &x {
        let s = d.update_scalar(v).unwrap();
        assert!(s.change_probability.is_finite() && s.log_evidence.is_finite());
        if s.changed {
            signals.push(s.index);
        }
    }
    assert!(signals.iter().any(|&t| (250..265).contains(&t)), "{signals:?}");
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<Bocpd>(&json).unwrap(), d);
}

#[test]
fn bocpd_absurd_sizes_are_too_large_and_tampered_posteriors_do_not_load() {
    for cfg in [
        BocpdConfig {
            truncation: Truncation {
                min_probability: 1e-8,
                max_run_lengths: usize::MAX,
            },
            ..Default::default()
        },
        BocpdConfig {
            hazard: Hazard::Table {
                probabilities: vec![0.01; (1 << 24) + 1],
            },
            ..Default::default()
        },
        {
            let mut c = BocpdConfig::default();
            c.detection.window = 1 << 40;
            c
        },
    ] {
        assert!(matches!(
            Bocpd::new(cfg),
            Err(RegimeError::Core(CoreError::TooLarge { .. }))
        ));
    }
    let mut d = Bocpd::new(BocpdConfig::default()).unwrap();
    for &v in &wave(300) {
        let _ = d.update_scalar(v).unwrap();
    }
    let json = serde_json::to_string(&d).unwrap();
    let tamper = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        f(&mut v);
        serde_json::from_value::<Bocpd>(v)
    };
    assert!(tamper(&|_| {}).is_ok());
    // a posterior that does not sum to one
    assert!(tamper(&|v| v["log_probs"][0] = serde_json::json!(0.0)).is_err());
    // run lengths longer than the series, or out of order
    assert!(tamper(&|v| v["run_lengths"][0] = serde_json::json!(1u64 << 40)).is_err());
    assert!(tamper(&|v| v["t"] = serde_json::json!(3)).is_err());
    // statistics the prior cannot lead to (a negative rate gives NaN densities)
    assert!(tamper(&|v| v["stats"][3] = serde_json::json!(-1.0)).is_err());
    assert!(tamper(&|v| v["config"]["truncation"]["max_run_lengths"] = serde_json::json!(u64::MAX)).is_err());
}

#[test]
fn evaluation_never_allocates_from_the_series_length_and_saturates() {
    use prudentia_regime::eval::evaluate_detections;
    let r = evaluate_detections(&[0, 0, 5], &[1, usize::MAX], usize::MAX, usize::MAX);
    assert_eq!(r.change_points, 3);
    assert_eq!(r.detections, 2);
    assert!(r.true_positives + r.false_alarms == r.detections);
    let r = evaluate_detections(&[100], &[103], 1 << 40, 10);
    assert_eq!(r.stable_observations, (1 << 40) - 11);
    assert_eq!(r.delays, vec![3]);
}

#[test]
fn panel_features_rescale_extreme_returns() {
    use prudentia_regime::panel::PanelFeatures;
    let mut f = PanelFeatures::new(3).unwrap();
    let base = f.compute(&[0.01, -0.02, 0.03]).unwrap().to_vec();
    for scale in [1e250, 1e-250] {
        let out = f
            .compute(&[0.01 * scale, -0.02 * scale, 0.03 * scale])
            .unwrap()
            .to_vec();
        assert!((out[0] - (base[0] + scale.ln())).abs() < 1e-9, "{out:?}");
        assert!((out[1] / scale - base[1]).abs() < 1e-12);
    }
    assert!(f
        .compute(&[f64::MAX, -f64::MAX, 0.0])
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));
    assert!(matches!(
        PanelFeatures::new(usize::MAX),
        Err(RegimeError::Core(CoreError::TooLarge { .. }))
    ));
}

#[test]
fn conditional_and_detector_checkpoints_are_checked_on_load() {
    let lin = LinUcb::new(LinUcbConfig {
        n_actions: 2,
        dim: 1,
        ..Default::default()
    })
    .unwrap();
    let mut p = RegimeConditionalPolicy::new(ConditionalPolicyConfig::default(), lin).unwrap();
    let _ = p.observe_regime(&RegimeState::certain(RegimeLabel::RISK_ON));
    let json = serde_json::to_string(&p).unwrap();
    let load = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        f(&mut v);
        serde_json::from_value::<RegimeConditionalPolicy<LinUcb>>(v)
    };
    assert!(load(&|_| {}).is_ok());
    // the current regime without a head would fail every decision
    assert!(load(&|v| v["heads"] = serde_json::json!({})).is_err());
    // a freeze longer than configured
    assert!(load(&|v| v["frozen_remaining"] = serde_json::json!(1u64 << 40)).is_err());
    assert!(RegimeConditionalPolicy::new(
        ConditionalPolicyConfig {
            freeze_decisions: usize::MAX,
            ..Default::default()
        },
        LinUcb::new(LinUcbConfig::default()).unwrap()
    )
    .is_err());

    let d = MarketRegimeDetector::new(MarketRegimeDetectorConfig::default()).unwrap();
    let json = serde_json::to_string(&d).unwrap();
    let load = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        f(&mut v);
        serde_json::from_value::<MarketRegimeDetector>(v)
    };
    assert!(load(&|_| {}).is_ok());
    assert!(load(&|v| v["last_price"] = serde_json::json!(-1.0)).is_err());
    // a BOCPD state from another configuration
    assert!(load(&|v| v["config"]["bocpd"]["detection"]["window"] = serde_json::json!(3)).is_err());
}
