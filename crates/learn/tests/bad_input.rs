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

#[test]
fn lean_logit_rejects_bad_input_and_leaves_the_start() {
    use prudentia_learn::logistic::{ColumnDesign, LeanLogitConfig, LogitWorkspace};
    let (x, _) = xy();
    let t = Array1::from_shape_fn(10, |i| ((i * 7) % 3 == 0) as u8 as f64);
    let n = 10;
    let mut z = vec![1.0; n * 3];
    for j in 0..2 {
        for i in 0..n {
            z[(j + 1) * n + i] = x[[i, j]];
        }
    }
    let ok = LeanLogitConfig::default();
    let y = t.as_slice().unwrap();
    let d = ColumnDesign::new(&z, n, 3, true).unwrap();
    let mut ws = LogitWorkspace::default();
    let start = [0.1, -0.2, 0.3];
    let mut beta = start;
    let mut refuse =
        |config: LeanLogitConfig, d: &ColumnDesign<'_>, y: &[f64], w: Option<&[f64]>, b: &mut [f64]| {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
            let before = bits(b);
            let e = config.fit_into(d, y, w, b, &mut ws).unwrap_err();
            assert_eq!(bits(b), before, "{e}");
            e
        };
    // settings
    for config in [
        LeanLogitConfig {
            max_iterations: 0,
            ..ok
        },
        LeanLogitConfig {
            tolerance: f64::NAN,
            ..ok
        },
        LeanLogitConfig {
            quadratic_stop: -1.0,
            ..ok
        },
        LeanLogitConfig {
            quadratic_stop: f64::INFINITY,
            ..ok
        },
    ] {
        assert!(matches!(
            refuse(config, &d, y, None, &mut beta),
            LearnError::Core(_)
        ));
    }
    // labels, weights, lengths, start
    let mut bad = y.to_vec();
    bad[4] = 0.5;
    assert!(matches!(
        refuse(ok, &d, &bad, None, &mut beta),
        LearnError::NotBinary { index: 4, .. }
    ));
    // a bad label in the held-out block is not read
    let r = ok
        .fit_into(
            &d.holding_out(4, 5).unwrap(),
            &bad,
            None,
            &mut [0.0; 3],
            &mut LogitWorkspace::default(),
        )
        .unwrap();
    assert!(r.iterations >= 1);
    let mut w = vec![1.0; n];
    w[2] = 0.0;
    assert!(matches!(
        refuse(ok, &d, y, Some(&w), &mut beta),
        LearnError::Core(_)
    ));
    w[2] = f64::NAN;
    assert!(matches!(
        refuse(ok, &d, y, Some(&w), &mut beta),
        LearnError::Core(_)
    ));
    assert!(matches!(
        refuse(ok, &d, y, Some(&w[..3]), &mut beta),
        LearnError::Core(_)
    ));
    assert!(matches!(
        refuse(ok, &d, &y[..9], None, &mut beta),
        LearnError::Core(_)
    ));
    assert!(matches!(
        refuse(ok, &d, y, None, &mut [0.0; 2]),
        LearnError::Core(_)
    ));
    assert!(matches!(
        refuse(ok, &d, y, None, &mut [f64::NAN, 0.0, 0.0]),
        LearnError::Core(_)
    ));
    // too few rows left, a collinear design
    assert!(matches!(
        refuse(ok, &d.holding_out(0, 7).unwrap(), y, None, &mut beta),
        LearnError::TooFewObservations { n: 3, k: 3 }
    ));
    let mut zc = z.clone();
    for i in 0..n {
        zc[2 * n + i] = 2.0 * zc[n + i];
    }
    let dc = ColumnDesign::new(&zc, n, 3, true).unwrap();
    assert!(matches!(
        refuse(ok, &dc, y, None, &mut beta),
        LearnError::Collinear { column: 2 }
    ));
    // the design itself
    let mut zn = z.clone();
    zn[15] = f64::INFINITY;
    assert!(ColumnDesign::new(&zn, n, 3, true).is_err());
    assert!(ColumnDesign::new(&z, n, 4, true).is_err());
    assert!(ColumnDesign::new(&z, n, 0, false).is_err());
    assert!(ColumnDesign::new(&z, 1 << 40, 3, true).is_err());
    assert!(ColumnDesign::new(&z, n, usize::MAX, true).is_err());
    assert!(ColumnDesign::new(&z[n..], n, 2, true).is_err());
    assert!(d.holding_out(5, 4).is_err());
    assert!(d.holding_out(0, 11).is_err());
    // and the row-major entry point
    assert!(matches!(
        ok.fit_xy(&BinaryData::new(x.view(), Array1::from_elem(10, 2.0).view())),
        Err(LearnError::NotBinary { index: 0, .. })
    ));
    assert!(ok
        .fit_xy(&BinaryData::new(
            Array2::zeros((0, 2)).view(),
            Array1::zeros(0).view()
        ))
        .is_err());
    assert_eq!(beta, start);
}
