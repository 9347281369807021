//! Bad input gives typed errors or documented repairs, one test each.

use ndarray::{array, Array1, Array2};
use prudentia_core::{CoreError, Horizon};
use prudentia_uncertainty::conformal::{AciConfig, ConformalConfig, Cqr, SplitConformal};
use prudentia_uncertainty::convert::{
    check_quantiles, forecast_from_quantiles, normal_quantiles, CrossingRepair,
};
use prudentia_uncertainty::hetero::{HeteroConfig, HeteroscedasticRegression};
use prudentia_uncertainty::isotonic::{IsotonicConfig, IsotonicRegression, OutOfBounds};
use prudentia_uncertainty::ngboost::{NgBoost, NgBoostConfig};
use prudentia_uncertainty::platt::{PlattConfig, PlattScaling};
use prudentia_uncertainty::quantreg::{QuantRegConfig, QuantileRegression};
use prudentia_uncertainty::scores::{ece, interval_score, pit_histogram, Binning};
use prudentia_uncertainty::UncertaintyError;

fn is_core(e: &UncertaintyError, f: impl Fn(&CoreError) -> bool) -> bool {
    matches!(e, UncertaintyError::Core(c) if f(c))
}

#[test]
fn mismatched_lengths() {
    let iso = IsotonicRegression::new(IsotonicConfig::default()).unwrap();
    let e = iso.fit(&[1.0, 2.0], &[1.0], None).unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::ShapeMismatch { field: "y", .. }
    )));
    let e = PlattScaling::fit(&[1.0, 2.0], &[true], &PlattConfig::default()).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::ShapeMismatch { .. })));
    let qr = QuantileRegression::new(QuantRegConfig::default()).unwrap();
    let x = Array2::<f64>::zeros((3, 1));
    let e = qr.fit(x.view(), Array1::zeros(2).view()).unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::ShapeMismatch { field: "y", .. }
    )));
    let e = ece(&[0.5], &[true, false], 10, Binning::EqualWidth).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::ShapeMismatch { .. })));
    let e = interval_score(&[0.0], &[1.0, 2.0], &[0.5]).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::ShapeMismatch { .. })));
    let e = Cqr::calibrate(ConformalConfig::default(), &[0.0], &[1.0], &[], None).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::ShapeMismatch { .. })));
}

#[test]
fn nan_inputs() {
    let iso = IsotonicRegression::new(IsotonicConfig::default()).unwrap();
    let e = iso.fit(&[1.0, f64::NAN], &[1.0, 2.0], None).unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::NonFinite {
            field: "x",
            index: 1,
            ..
        }
    )));
    let m = iso.fit(&[1.0, 2.0], &[1.0, 2.0], None).unwrap();
    assert!(m.predict(f64::NAN).is_err());
    let hr = HeteroscedasticRegression::new(HeteroConfig::default()).unwrap();
    let x = array![[1.0], [2.0], [f64::NAN], [4.0]];
    let e = hr.fit(x.view(), array![1.0, 2.0, 3.0, 4.0].view()).unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::NonFinite { field: "x", .. }
    )));
    let ng = NgBoost::new(NgBoostConfig::default()).unwrap();
    let e = ng
        .fit(
            array![[1.0], [2.0]].view(),
            array![1.0, f64::INFINITY].view(),
            None,
        )
        .unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::NonFinite { field: "y", .. }
    )));
    let e = ece(&[f64::NAN], &[true], 10, Binning::EqualMass).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::NonFinite { .. })));
    let mut sc = SplitConformal::new(ConformalConfig::default()).unwrap();
    let f = prudentia_core::Forecast::new(0.0, 1.0, Horizon::DAY).unwrap();
    assert!(sc
        .update(&f, f64::NAN, &prudentia_core::RegimeLabel::UNKNOWN)
        .is_err());
    let e = pit_histogram(&[0.5, 1.5], 10).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::OutOfRange { .. })));
}

#[test]
fn constant_features() {
    let x = array![
        [1.0, 5.0],
        [2.0, 5.0],
        [3.0, 5.0],
        [4.0, 5.0],
        [5.0, 5.0],
        [6.0, 5.0]
    ];
    let y = array![1.0, 3.0, 2.0, 5.0, 4.0, 6.0];
    let qr = QuantileRegression::new(QuantRegConfig::default()).unwrap();
    assert!(matches!(
        qr.fit(x.view(), y.view()),
        Err(UncertaintyError::ConstantFeature { column: 1, .. })
    ));
    let hr = HeteroscedasticRegression::new(HeteroConfig::default()).unwrap();
    assert!(matches!(
        hr.fit(x.view(), y.view()),
        Err(UncertaintyError::ConstantFeature {
            column: 1,
            value: 5.0
        })
    ));
    assert!(matches!(
        PlattScaling::fit(&[1.0, 1.0, 1.0], &[true, false, true], &PlattConfig::default()),
        Err(UncertaintyError::ConstantFeature { column: 0, .. })
    ));
    // Trees simply never split on a constant column (documented), and a constant target is an error.
    let ng = NgBoost::new(NgBoostConfig {
        n_estimators: 5,
        ..Default::default()
    })
    .unwrap();
    assert!(ng.fit(x.view(), y.view(), None).is_ok());
    let e = ng
        .fit(x.view(), array![1.0, 1.0, 1.0, 1.0, 1.0, 1.0].view(), None)
        .unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::OutOfRange { field: "y", .. }
    )));
}

#[test]
fn quantile_levels_outside_unit_interval() {
    for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        let e = normal_quantiles(0.0, 1.0, &[bad]).unwrap_err();
        assert!(
            is_core(&e, |c| matches!(
                c,
                CoreError::OutOfRange {
                    field: "quantile level",
                    ..
                }
            )),
            "{bad}"
        );
        let e = QuantileRegression::new(QuantRegConfig {
            levels: vec![0.5, bad],
            ..Default::default()
        });
        assert!(e.is_err());
    }
    let e = normal_quantiles(0.0, 1.0, &[0.5, 0.4]).unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::NotIncreasing { .. })));
    assert!(ConformalConfig {
        alpha: 1.0,
        ..Default::default()
    }
    .validate()
    .is_err());
    assert!(AciConfig {
        gamma: 0.0,
        ..Default::default()
    }
    .validate()
    .is_err());
}

#[test]
fn crossing_quantiles_error_or_rearrange() {
    let levels = [0.1, 0.5, 0.9];
    let vals = [1.0, 0.5, 2.0];
    let e = check_quantiles(&levels, &vals, CrossingRepair::Error).unwrap_err();
    assert!(matches!(e, UncertaintyError::CrossingQuantiles { index: 1, .. }));
    assert_eq!(
        check_quantiles(&levels, &vals, CrossingRepair::Rearrange).unwrap(),
        vec![0.5, 1.0, 2.0]
    );
    assert!(forecast_from_quantiles(&levels, &vals, Horizon::DAY, CrossingRepair::Error).is_err());
    let f = forecast_from_quantiles(&levels, &vals, Horizon::DAY, CrossingRepair::Rearrange).unwrap();
    assert!(f.quantiles.windows(2).all(|w| w[0].value <= w[1].value));
    // CQR refuses crossing bounds.
    let cqr = Cqr::new(ConformalConfig::default()).unwrap();
    assert!(matches!(
        cqr.interval(2.0, 1.0, &prudentia_core::RegimeLabel::UNKNOWN),
        Err(UncertaintyError::CrossingQuantiles { .. })
    ));
}

#[test]
fn out_of_bounds_and_bad_settings() {
    let iso = IsotonicRegression::new(IsotonicConfig {
        out_of_bounds: OutOfBounds::Error,
        ..Default::default()
    })
    .unwrap();
    let m = iso.fit(&[0.0, 1.0], &[0.0, 1.0], None).unwrap();
    assert!(matches!(
        m.predict(2.0),
        Err(UncertaintyError::OutOfBounds { .. })
    ));
    assert!(IsotonicRegression::new(IsotonicConfig {
        y_min: Some(1.0),
        y_max: Some(0.0),
        ..Default::default()
    })
    .is_err());
    assert!(NgBoost::new(NgBoostConfig {
        minibatch_frac: 0.0,
        ..Default::default()
    })
    .is_err());
    assert!(NgBoost::new(NgBoostConfig {
        learning_rate: f64::NAN,
        ..Default::default()
    })
    .is_err());
    let e = PlattScaling::fit(&[0.0, 1.0], &[true, true], &PlattConfig::default()).unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::OutOfRange { field: "labels", .. }
    )));
    let e = ece(&[0.5], &[true], 0, Binning::EqualWidth).unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::EmptyInput { field: "n_bins", .. }
    )));
    let e = IsotonicRegression::new(IsotonicConfig::default())
        .unwrap()
        .fit(&[], &[], None)
        .unwrap_err();
    assert!(is_core(&e, |c| matches!(c, CoreError::EmptyInput { .. })));
}

#[test]
fn probability_calibrator_bad_input() {
    use prudentia_core::RegimeLabel;
    use prudentia_uncertainty::probability::{ProbabilityConfig, RegimeProbabilityCalibrator};
    let r = vec![RegimeLabel::UNKNOWN; 3];
    let e = RegimeProbabilityCalibrator::fit(
        ProbabilityConfig::default(),
        &[0.1, 0.2, 0.3],
        &[true, false, true],
        &r[..2],
    )
    .unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::ShapeMismatch { field: "regimes", .. }
    )));
    let e = RegimeProbabilityCalibrator::fit(
        ProbabilityConfig {
            min_samples: 1,
            ..Default::default()
        },
        &[0.1, 0.2, 0.3],
        &[true, false, true],
        &r,
    )
    .unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::OutOfRange {
            field: "min_samples",
            ..
        }
    )));
    let e = RegimeProbabilityCalibrator::fit(
        ProbabilityConfig::default(),
        &[0.1, f64::NAN, 0.3],
        &[true, false, true],
        &r,
    )
    .unwrap_err();
    assert!(is_core(&e, |c| matches!(
        c,
        CoreError::NonFinite { field: "scores", .. }
    )));
    let cal = RegimeProbabilityCalibrator::fit(
        ProbabilityConfig::default(),
        &[0.1, 0.2, 0.3],
        &[false, true, true],
        &r,
    )
    .unwrap();
    assert!(cal.calibrate(f64::INFINITY, &RegimeLabel::UNKNOWN).is_err());
}

/// Issue #22 (10): absurd sizes are `CoreError::TooLarge` at construction, never a capacity
/// overflow or an allocation of the requested size.
#[test]
fn absurd_sizes_are_too_large() {
    use prudentia_uncertainty::conformal::ScoreWindow;
    let too_large = |e: &UncertaintyError| is_core(e, |c| matches!(c, CoreError::TooLarge { .. }));
    for n in [1usize << 40, usize::MAX] {
        let e = NgBoost::new(NgBoostConfig {
            n_estimators: n,
            ..Default::default()
        })
        .unwrap_err();
        assert!(too_large(&e), "{e}");
        let e = NgBoost::new(NgBoostConfig {
            min_samples_leaf: n,
            ..Default::default()
        })
        .unwrap_err();
        assert!(too_large(&e), "{e}");
        let e = ConformalConfig {
            window: n,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(too_large(&e), "{e}");
        assert!(too_large(&ScoreWindow::new(n).unwrap_err()));
        assert!(too_large(
            &ece(&[0.5], &[true], n, Binning::EqualWidth).unwrap_err()
        ));
        assert!(too_large(&pit_histogram(&[0.5], n).unwrap_err()));
        let e = PlattScaling::fit(
            &[0.0, 1.0],
            &[false, true],
            &PlattConfig {
                max_iter: n,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(too_large(&e), "{e}");
        let e = HeteroscedasticRegression::new(HeteroConfig {
            max_iter: n,
            ..Default::default()
        })
        .unwrap_err();
        assert!(too_large(&e), "{e}");
    }
}

/// Issue #22 (11, 12): public constructors and accessors validate instead of panicking, and
/// finite input never yields a silent non-finite `Ok`.
#[test]
fn no_panics_and_no_silent_infinities() {
    use prudentia_uncertainty::isotonic::IsotonicModel;
    use prudentia_uncertainty::scores::crps_normal;
    assert!(IsotonicModel::new(vec![], vec![], OutOfBounds::Clip).is_err());
    assert!(IsotonicModel::new(vec![1.0, 0.0], vec![0.0, 1.0], OutOfBounds::Clip).is_err());
    assert!(IsotonicModel::new(vec![0.0, 1.0, 2.0], vec![0.0, 1.0, 0.5], OutOfBounds::Clip).is_err());
    let m = IsotonicModel::new(vec![-1e308, 1e308], vec![-1e308, 1e308], OutOfBounds::Clip).unwrap();
    assert!(m.predict(0.0).unwrap().is_finite());
    assert!(m.inverse(f64::NAN).is_err());
    // (The tree assertions moved with the trees: prudentia-learn tests/boost.rs.)
    // Silent infinities on finite input.
    assert!(crps_normal(0.0, 1e-300, 1e300).is_err());
    assert!(normal_quantiles(1e308, 1e308, &[0.99]).is_err());
    // Widths of 1.2e308 whose sum overflows: the mean is representable and returned.
    let w = interval_score(&[-6e307, -6e307], &[6e307, 6e307], &[0.0, 0.0])
        .unwrap()
        .mean_width;
    assert!((w - 1.2e308).abs() < 1e294, "{w}");
    // A mean width that is not representable is an error.
    assert!(interval_score(&[-1e308], &[1e308], &[0.0]).is_err());
    // Isotonic fit of values near f64::MAX: no NaN from the weighted means.
    let iso = IsotonicRegression::new(IsotonicConfig::default()).unwrap();
    let m = iso
        .fit(
            &[0.0, 0.0, 1.0],
            &[f64::MAX, f64::MAX, -f64::MAX],
            Some(&[f64::MAX, f64::MAX, 1.0]),
        )
        .unwrap();
    assert!(m.y().iter().all(|v| v.is_finite()));
    // Platt on huge scores is rescaled internally and says so in finite numbers.
    let p = PlattScaling::fit(
        &[-1e300, -2e300, 1e300, 3e300],
        &[false, true, false, true],
        &PlattConfig::default(),
    )
    .unwrap();
    assert!(p.a().is_finite() && p.b().is_finite() && p.predict(1e300).unwrap().is_finite());
}

/// The CQR crossing error names the calibration row and no fake level; a normalized split
/// conformal refuses a plain point prediction.
#[test]
fn cqr_crossing_names_the_row_and_point_needs_absolute_score() {
    let lo = [0.0, 0.0, 3.0, 0.0];
    let hi = [1.0, 1.0, 2.0, 1.0];
    let e = Cqr::calibrate(ConformalConfig::default(), &lo, &hi, &[0.5; 4], None).unwrap_err();
    assert!(matches!(
        e,
        UncertaintyError::CrossingQuantiles {
            row: Some(2),
            level: None,
            ..
        }
    ));
    let msg = e.to_string();
    assert!(msg.contains("row 2") && !msg.contains("NaN"), "{msg}");
    let single = Cqr::new(ConformalConfig::default())
        .unwrap()
        .interval(2.0, 1.0, &prudentia_core::RegimeLabel::UNKNOWN)
        .unwrap_err()
        .to_string();
    assert!(!single.contains("NaN") && !single.contains("index"), "{single}");
    let e = prudentia_uncertainty::conformal::SplitConformal::calibrate_points(
        ConformalConfig::default(),
        &[0.0],
        &[1.0],
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("Absolute"), "{e}");
}
