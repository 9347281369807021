//! Bad input is a typed error, never a panic; a rejected call changes nothing.

use ndarray::{array, Array1, Array2};
use prudentia_core::CoreError;
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig};
use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig};
use prudentia_learn::LearnError;

fn xy() -> (Array2<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((10, 2), |(i, j)| ((i * 3 + j * 5) % 7) as f64);
    let y = Array1::from_shape_fn(10, |i| i as f64 * 0.5 + (i % 3) as f64);
    (x, y)
}

#[test]
fn linear_rejects_bad_input() {
    let (x, y) = xy();
    let ols = LinearRegressionConfig::default();
    let mut bad = x.clone();
    bad[[3, 1]] = f64::NAN;
    assert!(matches!(
        ols.fit(&LinearData::new(bad.view(), y.view())),
        Err(LearnError::Core(CoreError::NonFinite { .. }))
    ));
    let short = array![1.0, 2.0];
    assert!(matches!(
        ols.fit(&LinearData::new(x.view(), short.view())),
        Err(LearnError::Core(CoreError::ShapeMismatch { .. }))
    ));
    let few = x.slice(ndarray::s![..3, ..]);
    let fy = y.slice(ndarray::s![..3]);
    assert!(matches!(
        ols.fit(&LinearData::new(few, fy)),
        Err(LearnError::TooFewObservations { n: 3, k: 3 })
    ));
    let w = Array1::from_elem(10, 1.0)
        .into_iter()
        .enumerate()
        .map(|(i, v)| if i == 4 { 0.0 } else { v })
        .collect::<Array1<f64>>();
    assert!(ols
        .fit(&LinearData::new(x.view(), y.view()).weighted(w.view()))
        .is_err());
    assert!(matches!(
        LinearRegressionConfig::ols(CovarianceKind::Clustered).fit(&LinearData::new(x.view(), y.view())),
        Err(LearnError::TooFewClusters { clusters: 0 })
    ));
    let one = vec![7u64; 10];
    assert!(matches!(
        LinearRegressionConfig::ols(CovarianceKind::Clustered)
            .fit(&LinearData::new(x.view(), y.view()).clustered(&one)),
        Err(LearnError::TooFewClusters { clusters: 1 })
    ));
    assert!(LinearRegressionConfig {
        ridge: f64::NAN,
        ..Default::default()
    }
    .validate()
    .is_err());
    let m = ols.fit(&LinearData::new(x.view(), y.view())).unwrap();
    assert!(m.predict(array![[1.0]].view()).is_err());
    assert!(m.predict(array![[1.0, f64::INFINITY]].view()).is_err());
}

#[test]
fn extreme_units_fit_or_overflow_as_an_error() {
    let (x, y) = xy();
    let ols = LinearRegressionConfig::ols(CovarianceKind::Hc3);
    let base = ols.fit(&LinearData::new(x.view(), y.view())).unwrap();
    // rescaling x by 1e-300 and y by 1e300 scales slopes by 1e600: not representable
    let tiny = x.mapv(|v| v * 1e-300);
    let huge = y.mapv(|v| v * 1e300);
    assert!(matches!(
        ols.fit(&LinearData::new(tiny.view(), huge.view())),
        Err(LearnError::Overflow { .. })
    ));
    // both huge: same slopes, intercept scaled
    let xh = x.mapv(|v| v * 1e300);
    let m = ols.fit(&LinearData::new(xh.view(), huge.view())).unwrap();
    for (a, b) in m.slopes().iter().zip(base.slopes()) {
        assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} {b}");
    }
    // subnormal scale
    let xs = x.mapv(|v| v * 5e-324 * 4.0);
    let ys = y.mapv(|v| v * 1e-300);
    let r = ols.fit(&LinearData::new(xs.view(), ys.view()));
    assert!(matches!(r, Err(LearnError::Overflow { .. })) || r.is_ok());
}

#[test]
fn logistic_rejects_bad_input() {
    let (x, y) = xy();
    let labels = y.mapv(|v| if v > 2.0 { 1.0 } else { 0.0 });
    let mut bad = labels.clone();
    bad[2] = 0.5;
    assert!(matches!(
        LogisticRegressionConfig::default().fit(&BinaryData::new(x.view(), bad.view())),
        Err(LearnError::NotBinary { index: 2, .. })
    ));
    for config in [
        LogisticRegressionConfig {
            max_iterations: 0,
            ..Default::default()
        },
        LogisticRegressionConfig {
            max_iterations: usize::MAX,
            ..Default::default()
        },
        LogisticRegressionConfig {
            tolerance: 0.0,
            ..Default::default()
        },
        LogisticRegressionConfig {
            l2: -1.0,
            ..Default::default()
        },
    ] {
        assert!(config.fit(&BinaryData::new(x.view(), labels.view())).is_err());
    }
    let dup = ndarray::stack![ndarray::Axis(1), x.column(0), x.column(0)];
    assert!(matches!(
        LogisticRegressionConfig::default().fit(&BinaryData::new(dup.view(), labels.view())),
        Err(LearnError::Collinear { .. })
    ));
}

#[test]
fn rls_rejects_bad_config() {
    for c in [
        RlsConfig::new(0),
        RlsConfig::new(1 << 20),
        RlsConfig::new(usize::MAX),
        RlsConfig::new(2).forgetting(0.0),
        RlsConfig::new(2).forgetting(f64::NAN),
        RlsConfig::new(2).initial_precision(0.0),
        RlsConfig::new(2).initial_precision(5e-324),
        RlsConfig {
            max_trace: 1.0,
            ..RlsConfig::new(2)
        },
    ] {
        assert!(RecursiveLeastSquares::new(c).is_err(), "{c:?}");
    }
}
