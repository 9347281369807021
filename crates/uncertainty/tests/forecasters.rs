//! The fitted models as boxed core forecasters, conversions over horizons, PIT tests.

use ndarray::{Array1, Array2};
use prudentia_core::traits::Forecaster;
use prudentia_core::{AssetInfo, Horizon, RegimeState};
use prudentia_uncertainty::convert::{forecast_quantile, forecast_with_quantiles};
use prudentia_uncertainty::hetero::{HeteroConfig, HeteroForecaster, HeteroscedasticRegression};
use prudentia_uncertainty::ngboost::{NgBoost, NgBoostConfig, NgBoostForecaster};
use prudentia_uncertainty::quantreg::{QuantRegConfig, QuantileForecaster, QuantileRegression};
use prudentia_uncertainty::scores::{pit_histogram, pit_normal};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn data(seed: u64, n: usize) -> (Array2<f64>, Array1<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 2), |_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        z
    });
    let y = Array1::from_shape_fn(n, |i| {
        let z: f64 = StandardNormal.sample(&mut rng);
        0.01 * x[[i, 0]] + 0.02 * (0.3 * x[[i, 1]]).exp() * z
    });
    (x, y)
}

#[test]
fn models_work_as_boxed_forecasters() {
    let (x, y) = data(1, 2000);
    let day = Horizon::DAY;
    let models: Vec<Box<dyn Forecaster>> = vec![
        Box::new(QuantileForecaster {
            model: QuantileRegression::new(QuantRegConfig::default())
                .unwrap()
                .fit(x.view(), y.view())
                .unwrap(),
            horizon: day,
        }),
        Box::new(HeteroForecaster {
            model: HeteroscedasticRegression::new(HeteroConfig::default())
                .unwrap()
                .fit(x.view(), y.view())
                .unwrap(),
            horizon: day,
        }),
        Box::new(NgBoostForecaster {
            model: NgBoost::new(NgBoostConfig {
                n_estimators: 200,
                learning_rate: 0.05,
                ..Default::default()
            })
            .unwrap()
            .fit(x.view(), y.view(), None)
            .unwrap(),
            horizon: day,
        }),
    ];
    let mut asset = AssetInfo::new("AAA", 10.0).unwrap();
    asset.features = vec![1.0, 1.0];
    // Truth at x = (1, 1): mean 0.01, sigma 0.02·e^0.3 ≈ 0.027.
    for m in &models {
        let f = m.forecast(&asset, &RegimeState::default()).unwrap();
        assert!((f.mean - 0.01).abs() < 0.006, "{f:?}");
        assert!((f.sigma / (0.02 * 0.3f64.exp()) - 1.0).abs() < 0.3, "{f:?}");
        assert_eq!(f.horizon, day);
    }
    asset.features = vec![1.0];
    assert!(models[0].forecast(&asset, &RegimeState::default()).is_err());
}

#[test]
fn horizon_scaling_keeps_quantiles_consistent() {
    let f = forecast_with_quantiles(0.001, 0.02, Horizon::DAY, &[0.05, 0.5, 0.95]).unwrap();
    let week = f.rescale(Horizon::trading_days(5.0).unwrap()).unwrap();
    // i.i.d. rule: mean × 5, sigma × √5, and the quantiles move with them.
    assert!((week.mean - 0.005).abs() < 1e-15);
    assert!((week.sigma - 0.02 * 5f64.sqrt()).abs() < 1e-15);
    let q95 = forecast_quantile(&week, 0.95).unwrap();
    assert!((q95 - (0.005 + 0.02 * 5f64.sqrt() * 1.644_853_626_951_472_2)).abs() < 1e-12);
}

#[test]
fn pit_uniformity_tests_separate_calibrated_from_overconfident() {
    let mut rng = StdRng::seed_from_u64(3);
    let n = 5000;
    let y: Vec<f64> = (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z
        })
        .collect();
    let mean = vec![0.0; n];
    let good = pit_histogram(&pit_normal(&mean, &vec![1.0; n], &y).unwrap(), 10).unwrap();
    let over = pit_histogram(&pit_normal(&mean, &vec![0.5; n], &y).unwrap(), 10).unwrap();
    assert!(
        good.chi_square_p_value > 0.01 && good.ks_p_value > 0.01,
        "{good:?}"
    );
    assert!(
        over.chi_square_p_value < 1e-6 && over.ks_p_value < 1e-6,
        "{over:?}"
    );
    // Over-confidence piles PIT mass in the outer bins (∪ shape).
    assert!(over.counts[0] > 2 * over.counts[5] && over.counts[9] > 2 * over.counts[4]);
}
