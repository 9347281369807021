//! Bad input is a typed error, one test per error.

use ndarray::array;
use prudentia_core::traits::{Role, RoleError, Sizer, SizingContext};
use prudentia_core::{AssetInfo, CoreError, Forecast, Horizon, Opportunity, Weights};
use prudentia_kelly::allocation::{AllocationConfig, AllocationItem, Allocator};
use prudentia_kelly::governor::{DrawdownGovernor, DrawdownGovernorConfig};
use prudentia_kelly::multi::{gaussian_kelly_weights, growth_optimal, GrowthOptimalConfig};
use prudentia_kelly::single::{binary_kelly, gaussian_kelly, Kelly, KellyConfig, KellyInput};
use prudentia_kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia_kelly::KellyError;

#[test]
fn sigma_not_positive() {
    for s in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            gaussian_kelly(0.01, s),
            Err(KellyError::NonPositiveSigma { field: "sigma", .. })
        ));
        let k = Kelly::new(KellyConfig::default()).unwrap();
        assert!(matches!(
            k.fraction(&KellyInput::daily(0.01, s), None),
            Err(KellyError::NonPositiveSigma { .. })
        ));
    }
}

#[test]
fn mean_not_finite() {
    for m in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            gaussian_kelly(m, 0.1),
            Err(KellyError::NonFiniteMean { field: "mean", .. })
        ));
        let k = Kelly::new(KellyConfig::default()).unwrap();
        assert!(matches!(
            k.fraction(&KellyInput::daily(m, 0.1), None),
            Err(KellyError::NonFiniteMean { .. })
        ));
    }
}

#[test]
fn negative_capital() {
    let a = AssetInfo::new("A", 10.0).unwrap();
    let alloc = Allocator::new(AllocationConfig::default()).unwrap();
    for c in [-1.0, f64::NAN, f64::NEG_INFINITY] {
        assert!(matches!(
            alloc.allocate(&[AllocationItem::new(&a, 0.1)], c),
            Err(KellyError::NegativeCapital { field: "capital", .. })
        ));
    }
    let mut g = DrawdownGovernor::new(DrawdownGovernorConfig::default()).unwrap();
    assert!(matches!(g.observe(-5.0), Err(KellyError::NegativeCapital { .. })));
}

#[test]
fn zero_adv() {
    let mut a = AssetInfo::new("ILLIQ", 10.0).unwrap();
    let alloc = Allocator::new(AllocationConfig::default()).unwrap();
    for v in [0.0, -10.0, f64::NAN] {
        a.adv_shares = Some(v);
        match alloc.allocate(&[AllocationItem::new(&a, 0.1)], 1e6) {
            Err(KellyError::ZeroAdv { asset, .. }) => assert_eq!(asset.as_str(), "ILLIQ"),
            other => panic!("expected ZeroAdv, got {other:?}"),
        }
    }
}

#[test]
fn bad_lot_size() {
    let mut a = AssetInfo::new("A", 10.0).unwrap();
    a.lot_size = 0.0;
    let alloc = Allocator::new(AllocationConfig::default()).unwrap();
    assert!(matches!(
        alloc.allocate(&[AllocationItem::new(&a, 0.1)], 1e6),
        Err(KellyError::BadLotSize { .. })
    ));
}

#[test]
fn binary_bet_out_of_range() {
    assert!(matches!(
        binary_kelly(1.2, 1.0),
        Err(KellyError::Core(CoreError::OutOfRange { field: "p", .. }))
    ));
    assert!(matches!(
        binary_kelly(0.5, 0.0),
        Err(KellyError::Core(CoreError::OutOfRange { field: "b", .. }))
    ));
}

#[test]
fn configs_name_the_bad_field() {
    let bad = KellyConfig {
        fraction: 1.5,
        ..Default::default()
    };
    assert!(matches!(
        Kelly::new(bad),
        Err(KellyError::Core(CoreError::OutOfRange {
            field: "fraction",
            ..
        }))
    ));
    let bad = AllocationConfig {
        adv_participation: 0.0,
        ..Default::default()
    };
    assert!(matches!(
        Allocator::new(bad),
        Err(KellyError::Core(CoreError::OutOfRange {
            field: "adv_participation",
            ..
        }))
    ));
    let bad = GrowthOptimalConfig {
        upper: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        growth_optimal(array![[0.1]].view(), &bad),
        Err(KellyError::Core(CoreError::OutOfRange { field: "upper", .. }))
    ));
}

#[test]
fn multi_asset_bad_input() {
    let cfg = GrowthOptimalConfig::default();
    assert!(matches!(
        growth_optimal(array![[0.1, f64::NAN]].view(), &cfg),
        Err(KellyError::Core(CoreError::NonFinite { .. }))
    ));
    assert!(matches!(
        growth_optimal(ndarray::Array2::zeros((0, 2)).view(), &cfg),
        Err(KellyError::Core(CoreError::EmptyInput { .. }))
    ));
    // bounds force gross 3 × 0.5 = 1.5 > max_gross 1
    let forced = GrowthOptimalConfig {
        lower: 0.5,
        ..Default::default()
    };
    assert!(matches!(
        growth_optimal(array![[0.1, 0.0, 0.2]].view(), &forced),
        Err(KellyError::NoInteriorPoint { .. })
    ));
    assert!(matches!(
        gaussian_kelly_weights(array![0.1, 0.2].view(), array![[1.0, 0.0]].view()),
        Err(KellyError::Core(CoreError::ShapeMismatch { .. }))
    ));
    assert!(matches!(
        gaussian_kelly_weights(array![0.1, 0.2].view(), array![[1.0, 2.0], [2.0, 1.0]].view()),
        Err(KellyError::Core(CoreError::Numerical { .. }))
    ));
}

#[test]
fn sizer_missing_opportunity_and_negative_equity() {
    let sizer = KellySizer::new(KellySizerConfig::default()).unwrap();
    let a = AssetInfo::new("A", 10.0).unwrap();
    let opp = Opportunity {
        asset: a,
        forecast: Forecast::new(0.001, 0.01, Horizon::DAY).unwrap(),
    };
    let target = Weights::new(vec!["B".into()], vec![1.0]).unwrap();
    let current = Weights::default();
    let ctx = SizingContext {
        opportunities: std::slice::from_ref(&opp),
        equity: 1e6,
        current: &current,
    };
    let err = sizer.size(&target, &ctx).unwrap_err();
    match &err {
        RoleError::Implementation { role, source } => {
            assert_eq!(*role, Role::Sizer);
            assert!(matches!(
                source.downcast_ref::<KellyError>(),
                Some(KellyError::MissingOpportunity { .. })
            ));
        }
        other => panic!("{other:?}"),
    }
    let target = Weights::new(vec!["A".into()], vec![1.0]).unwrap();
    let ctx = SizingContext { equity: -1.0, ..ctx };
    assert!(sizer.size(&target, &ctx).is_err());
}

#[test]
fn kelly_fraction_overflow_is_an_error() {
    // issue #22 (12): μ / σ² = 0.001 / 1e-600 returned +inf
    assert!(matches!(
        gaussian_kelly(0.001, 1e-300),
        Err(KellyError::Overflow { .. })
    ));
    assert!(matches!(
        gaussian_kelly(-1e300, 1e-10),
        Err(KellyError::Overflow { .. })
    ));
    // representable ratios survive an underflowing σ²
    assert_eq!(gaussian_kelly(0.0, 5e-324).unwrap(), 0.0);
    assert!((gaussian_kelly(1e-300, 1e-160).unwrap() - 1e20).abs() < 1e6);
    let k = Kelly::new(KellyConfig::default()).unwrap();
    assert!(matches!(
        k.fraction(&KellyInput::daily(0.001, 1e-300), None),
        Err(KellyError::Overflow { .. })
    ));
    // σ² overflows: typed error, not an infinite variance in the stages
    assert!(matches!(
        k.fraction(&KellyInput::daily(0.001, 1e200), None),
        Err(KellyError::Overflow { .. })
    ));
    // shrinkage with extreme standard errors stays finite
    let mut input = KellyInput::daily(1e-200, 0.01);
    input.mean_std_error = Some(1e-200);
    let sized = k.fraction(&input, None).unwrap();
    assert!(sized.fraction.is_finite());
    let bayes = Kelly::new(KellyConfig {
        shrinkage: prudentia_kelly::single::MeanShrinkage::Bayesian {
            prior_mean: 0.0,
            prior_sd: 1e-200,
        },
        ..Default::default()
    })
    .unwrap();
    let mut input = KellyInput::daily(0.001, 0.01);
    input.mean_std_error = Some(1e200);
    let sized = bayes.fraction(&input, None).unwrap();
    assert!(sized.fraction.is_finite() && sized.stages.variance.is_finite());
}

#[test]
fn multi_asset_extreme_scale() {
    // the Gaussian problem is scale-free: (μ, Σ) × 1e-300 and × 1e300 give the same weights
    let mu = array![0.05, 0.03];
    let cov = array![[0.04, 0.01], [0.01, 0.09]];
    let cfg = GrowthOptimalConfig {
        lower: -10.0,
        upper: 10.0,
        max_gross: None,
        ..Default::default()
    };
    let base = prudentia_kelly::multi::gaussian_growth_optimal(mu.view(), cov.view(), &cfg).unwrap();
    for s in [1e-300, 1e300] {
        let g = prudentia_kelly::multi::gaussian_growth_optimal((&mu * s).view(), (&cov * s).view(), &cfg)
            .unwrap();
        assert!(g.objective.is_finite());
        for (a, b) in g.full.iter().zip(&base.full) {
            assert!((a - b).abs() < 1e-6, "{s:e}: {a} vs {b}");
        }
        let w = gaussian_kelly_weights((&mu * s).view(), (&cov * s).view()).unwrap();
        assert!(w.iter().all(|v| v.is_finite()));
    }
    // scenario wealth that cannot be represented is an error
    assert!(matches!(
        growth_optimal(
            array![[f64::MAX, f64::MAX]].view(),
            &GrowthOptimalConfig::default()
        ),
        Err(KellyError::Overflow { .. })
    ));
    // absurd sizes are typed errors
    assert!(matches!(
        growth_optimal(
            array![[0.1]].view(),
            &GrowthOptimalConfig {
                max_iterations: usize::MAX,
                ..Default::default()
            }
        ),
        Err(KellyError::Core(CoreError::TooLarge { .. }))
    ));
    assert!(matches!(
        growth_optimal(
            ndarray::Array2::zeros((1, 5000)).view(),
            &GrowthOptimalConfig::default()
        ),
        Err(KellyError::Core(CoreError::TooLarge { .. }))
    ));
}
