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
