//! Every bad API input is a typed error (never a panic, never a silent NaN): NaN
//! thresholds, zero windows and capacities, empty reference samples, unknown ids.

use prudentia_core::CoreError;
use prudentia_defense::detectors::{Adwin, AdwinConfig, PageHinkley, PageHinkleyConfig};
use prudentia_defense::drift::{
    ks_2samp, psi, Alternative, DriftMonitor, DriftMonitorConfig, KsMethod, PsiConfig, PsiReference,
};
use prudentia_defense::eval::evaluate;
use prudentia_defense::{
    DefenseError, InputDefense, InputDefenseConfig, Quarantine, QuarantineConfig, ReleaseMode,
    RollingMedianMad, SnapshotGuard, SnapshotGuardConfig, Validator, ValidatorConfig,
};

#[test]
fn nan_thresholds() {
    for cfg in [
        ValidatorConfig {
            hampel_threshold: f64::NAN,
            ..Default::default()
        },
        ValidatorConfig {
            quarantine_threshold: f64::NAN,
            ..Default::default()
        },
        ValidatorConfig {
            mad_scale: f64::NAN,
            ..Default::default()
        },
        ValidatorConfig {
            min_scale: f64::NAN,
            ..Default::default()
        },
        ValidatorConfig {
            max_jump: Some(f64::NAN),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            Validator::new(cfg),
            Err(DefenseError::Core(CoreError::OutOfRange { .. }))
        ));
    }
    assert!(matches!(
        PageHinkley::new(PageHinkleyConfig {
            threshold: f64::NAN,
            ..Default::default()
        }),
        Err(DefenseError::Core(CoreError::OutOfRange {
            field: "threshold",
            ..
        }))
    ));
    assert!(matches!(
        Adwin::new(AdwinConfig {
            delta: f64::NAN,
            ..Default::default()
        }),
        Err(DefenseError::Core(CoreError::OutOfRange { field: "delta", .. }))
    ));
    assert!(matches!(
        DriftMonitor::new(
            DriftMonitorConfig {
                psi_threshold: f64::NAN,
                ..Default::default()
            },
            1
        ),
        Err(DefenseError::Core(CoreError::OutOfRange {
            field: "psi_threshold",
            ..
        }))
    ));
    assert!(matches!(
        DriftMonitor::new(
            DriftMonitorConfig {
                ks_threshold: f64::NAN,
                ..Default::default()
            },
            1
        ),
        Err(DefenseError::Core(CoreError::OutOfRange {
            field: "ks_threshold",
            ..
        }))
    ));
    assert!(matches!(
        SnapshotGuard::new(SnapshotGuardConfig {
            max_quarantined_share: f64::NAN,
            ..Default::default()
        }),
        Err(DefenseError::Core(CoreError::OutOfRange { .. }))
    ));
    assert!(matches!(
        psi(
            &[1.0],
            &[1.0],
            PsiConfig {
                bins: 10,
                floor: f64::NAN
            }
        ),
        Err(DefenseError::Core(CoreError::OutOfRange { field: "floor", .. }))
    ));
}

#[test]
fn zero_windows_and_capacities() {
    assert!(matches!(
        Validator::new(ValidatorConfig {
            window: 0,
            ..Default::default()
        }),
        Err(DefenseError::TooSmall { field: "window", .. })
    ));
    assert!(matches!(
        RollingMedianMad::new(0),
        Err(DefenseError::TooSmall { field: "window", .. })
    ));
    assert!(matches!(
        Quarantine::new(QuarantineConfig {
            capacity: 0,
            ..Default::default()
        }),
        Err(DefenseError::TooSmall {
            field: "capacity",
            ..
        })
    ));
    assert!(matches!(
        DriftMonitor::new(
            DriftMonitorConfig {
                live_size: 0,
                ..Default::default()
            },
            1
        ),
        Err(DefenseError::TooSmall {
            field: "live_size",
            ..
        })
    ));
    assert!(matches!(
        DriftMonitor::new(
            DriftMonitorConfig {
                reference_size: 0,
                ..Default::default()
            },
            1
        ),
        Err(DefenseError::TooSmall {
            field: "reference_size",
            ..
        })
    ));
    assert!(matches!(
        Adwin::new(AdwinConfig {
            clock: 0,
            ..Default::default()
        }),
        Err(DefenseError::TooSmall { field: "clock", .. })
    ));
    assert!(matches!(
        InputDefense::new(InputDefenseConfig {
            default_validator: ValidatorConfig {
                window: 0,
                ..Default::default()
            },
            ..Default::default()
        }),
        Err(DefenseError::TooSmall { field: "window", .. })
    ));
    assert!(matches!(
        evaluate(&[], &[], 10, 0),
        Err(DefenseError::TooSmall {
            field: "tolerance",
            ..
        })
    ));
}

#[test]
fn empty_reference_samples() {
    assert!(matches!(
        PsiReference::new(&[], PsiConfig::default()),
        Err(DefenseError::Core(CoreError::EmptyInput {
            field: "reference",
            ..
        }))
    ));
    assert!(matches!(
        psi(&[], &[1.0], PsiConfig::default()),
        Err(DefenseError::Core(CoreError::EmptyInput {
            field: "reference",
            ..
        }))
    ));
    assert!(matches!(
        ks_2samp(&[], &[1.0], Alternative::TwoSided, KsMethod::Auto),
        Err(DefenseError::Core(CoreError::EmptyInput { field: "a", .. }))
    ));
    assert!(matches!(
        ks_2samp(&[1.0], &[], Alternative::TwoSided, KsMethod::Exact),
        Err(DefenseError::Core(CoreError::EmptyInput { field: "b", .. }))
    ));
    let mut m = DriftMonitor::new(DriftMonitorConfig::default(), 2).unwrap();
    assert!(matches!(
        m.set_reference(0, &[]),
        Err(DefenseError::Core(CoreError::EmptyInput {
            field: "reference",
            ..
        }))
    ));
    assert!(matches!(
        m.set_reference(0, &[1.0, f64::NAN]),
        Err(DefenseError::Core(CoreError::NonFinite {
            field: "reference",
            index: 1,
            ..
        }))
    ));
    assert!(matches!(
        m.observe(&[1.0]),
        Err(DefenseError::Core(CoreError::ShapeMismatch { field: "row", .. }))
    ));
    assert!(matches!(
        m.feature(5),
        Err(DefenseError::UnknownFeature {
            index: 5,
            n_features: 2
        })
    ));
}

#[test]
fn unknown_quarantine_id_and_inverted_ranges() {
    let mut d = InputDefense::new(InputDefenseConfig::default()).unwrap();
    assert!(matches!(
        d.release(7, ReleaseMode::Recheck, None),
        Err(DefenseError::UnknownQuarantineId { id: 7 })
    ));
    assert!(matches!(
        Validator::new(ValidatorConfig {
            range: Some((2.0, 1.0)),
            ..Default::default()
        }),
        Err(DefenseError::Inverted {
            low_field: "range.0",
            ..
        })
    ));
    assert!(serde_json::from_str::<RollingMedianMad>(r#"{"capacity":2,"values":[1.0,2.0,3.0]}"#).is_err());
}

/// Issue #22 (10): absurd sizes are `TooLarge` at construction, never a later panic or a
/// huge allocation (`InputDefense::new` used to accept `window = usize::MAX` and panic on
/// the first `process`).
#[test]
fn absurd_sizes_are_typed_errors() {
    let too_large = |e: DefenseError| matches!(e, DefenseError::Core(CoreError::TooLarge { .. }));
    for n in [usize::MAX, 1 << 40] {
        let cfg = InputDefenseConfig {
            default_validator: ValidatorConfig {
                window: n,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(too_large(InputDefense::new(cfg).unwrap_err()), "window {n}");
        assert!(too_large(RollingMedianMad::new(n).unwrap_err()));
        assert!(too_large(
            Quarantine::new(QuarantineConfig {
                capacity: n,
                ..Default::default()
            })
            .unwrap_err()
        ));
        assert!(too_large(
            PsiReference::new(
                &[1.0, 2.0],
                PsiConfig {
                    bins: n,
                    ..Default::default()
                }
            )
            .unwrap_err()
        ));
        for cfg in [
            DriftMonitorConfig {
                reference_size: n,
                ..Default::default()
            },
            DriftMonitorConfig {
                live_size: n,
                ..Default::default()
            },
        ] {
            assert!(too_large(DriftMonitor::new(cfg, 1).unwrap_err()));
        }
        assert!(too_large(
            DriftMonitor::new(DriftMonitorConfig::default(), n).unwrap_err()
        ));
        for cfg in [
            AdwinConfig {
                max_buckets: n,
                ..Default::default()
            },
            AdwinConfig {
                clock: n,
                ..Default::default()
            },
            AdwinConfig {
                min_window: n,
                ..Default::default()
            },
        ] {
            assert!(too_large(Adwin::new(cfg).unwrap_err()));
        }
    }
    // Many features times long windows: the product is checked too.
    let cfg = DriftMonitorConfig {
        reference_size: 1 << 20,
        live_size: 1 << 20,
        min_live: 2,
        ..Default::default()
    };
    assert!(too_large(DriftMonitor::new(cfg, 1 << 16).unwrap_err()));
    // The limits themselves are fine and allocate nothing up front.
    let mut d = InputDefense::new(InputDefenseConfig {
        default_validator: ValidatorConfig {
            window: prudentia_core::validate::MAX_WINDOW,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let s = d.process(
        "x",
        &prudentia_defense::Observation::new(prudentia_core::Timestamp::from_nanos(0), 1.0),
        None,
    );
    assert!(s.verdict.is_admitted());
}

/// Issue #22 (12): a NaN, an infinity or a value beyond `MAX_MAGNITUDE` is a typed error
/// that leaves a detector unchanged; a finite extreme value may signal, but the detector
/// still finds a later genuine change (the old ADWIN kept an infinite variance forever, and
/// subtracting a huge bucket left rounding residue that blinded it).
#[test]
fn detectors_survive_extreme_values() {
    let noise = |i: usize| ((i * 7919) % 101) as f64 / 101.0 - 0.5;
    let json = |d: &dyn erased::Json| d.json();
    let ph_cfg = PageHinkleyConfig {
        delta: 0.01,
        threshold: 5.0,
        ..Default::default()
    };
    let detectors: Vec<(&str, MakeDetector)> = vec![
        (
            "page-hinkley",
            Box::new(move || Box::new(PageHinkley::new(ph_cfg.clone()).unwrap())),
        ),
        (
            "adwin",
            Box::new(|| Box::new(Adwin::new(AdwinConfig::default()).unwrap())),
        ),
    ];
    for (name, make) in detectors {
        for extreme in [
            1e300,
            f64::MAX,
            -f64::MAX,
            f64::NAN,
            f64::INFINITY,
            1e99,
            -1e99,
            1e100,
        ] {
            let mut d = make();
            for i in 0..500 {
                d.update(noise(i));
            }
            let before = json(d.as_json());
            let r = d.try_update(extreme);
            if extreme.is_finite() && extreme.abs() <= prudentia_defense::MAX_MAGNITUDE {
                assert!(r.is_ok(), "{name}: {extreme} refused");
            } else {
                assert!(r.is_err(), "{name}: {extreme} accepted");
                assert_eq!(before, json(d.as_json()), "{name}: {extreme} changed the state");
                assert!(!d.update(extreme), "{name}: {extreme}");
                assert_eq!(before, json(d.as_json()), "{name}: {extreme} changed the state");
            }
            // A quiet stretch, then a genuine shift of the mean by one unit at 2000.
            let mut fired = Vec::new();
            for i in 501..3000 {
                let x = if i < 2000 { noise(i) } else { 1.0 + noise(i) };
                if d.try_update(x).unwrap() {
                    fired.push(i);
                }
            }
            // ADWIN's variance-aware bound is, by design, not robust to an admitted outlier
            // a hundred orders of magnitude off (the inflated variance masks changes until
            // the outlier leaves the window): screen its inputs first. Its state stays
            // finite; every refused value leaves it able to detect.
            let admitted = extreme.is_finite() && extreme.abs() <= prudentia_defense::MAX_MAGNITUDE;
            if name == "page-hinkley" || !admitted {
                assert!(
                    fired.iter().any(|&i| (2000..2300).contains(&i)),
                    "{name} after {extreme}: no detection of the shift at 2000: {fired:?}"
                );
            }
            assert!(json_is_finite(&json(d.as_json())), "{name} after {extreme}");
        }
    }
}

/// Whether a serialized state holds only finite numbers (JSON writes NaN and ±inf as `null`).
fn json_is_finite(s: &str) -> bool {
    !s.contains("null")
}

type MakeDetector = Box<dyn Fn() -> Box<dyn Dyn>>;

trait Dyn: prudentia_defense::detectors::ChangeDetector {
    fn as_json(&self) -> &dyn erased::Json;
}
impl<T: prudentia_defense::detectors::ChangeDetector + serde::Serialize> Dyn for T {
    fn as_json(&self) -> &dyn erased::Json {
        self
    }
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}
