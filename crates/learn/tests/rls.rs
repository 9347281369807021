//! Recursive least squares equals batch weighted least squares on the same window.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use prudentia_learn::linear::{LinearData, LinearRegressionConfig};
use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig};

/// Batch solution of `Σ λ^{n−i}(yᵢ − xᵢᵀβ)² + λⁿδ‖β‖²` (weighted ridge, no intercept).
fn batch(x: &Array2<f64>, y: &Array1<f64>, lambda: f64, delta: f64) -> (Vec<f64>, f64) {
    let n = y.len();
    let w = Array1::from_shape_fn(n, |i| lambda.powi((n - 1 - i) as i32));
    let ridge = lambda.powi(n as i32) * delta;
    let m = LinearRegressionConfig {
        intercept: false,
        ridge,
        ..Default::default()
    }
    .fit(&LinearData::new(x.view(), y.view()).weighted(w.view()))
    .unwrap();
    let beta = m.coefficients().to_vec();
    let fitted = x.dot(&Array1::from(beta.clone()));
    let j: f64 = (0..n).map(|i| w[i] * (y[i] - fitted[i]).powi(2)).sum::<f64>()
        + ridge * beta.iter().map(|b| b * b).sum::<f64>();
    (beta, j)
}

fn case() -> impl Strategy<Value = (Array2<f64>, Array1<f64>, f64, f64)> {
    (1usize..7, 0usize..60, 0.9f64..=1.0, 1e-3f64..1.0).prop_flat_map(|(d, extra, lambda, delta)| {
        let n = d + 2 + extra;
        (
            proptest::collection::vec(-1.0f64..1.0, n * d),
            proptest::collection::vec(-1.0f64..1.0, d),
            proptest::collection::vec(-0.1f64..0.1, n),
        )
            .prop_map(move |(xs, beta, noise)| {
                let x = Array2::from_shape_vec((n, d), xs).unwrap();
                let y = Array1::from_shape_fn(n, |i| {
                    x.row(i).iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() + noise[i]
                });
                (x, y, lambda, delta)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn rls_equals_batch_weighted_least_squares((x, y, lambda, delta) in case()) {
        let d = x.ncols();
        let mut rls = RecursiveLeastSquares::new(
            RlsConfig::new(d).forgetting(lambda).initial_precision(delta),
        ).unwrap();
        for (row, &yi) in x.rows().into_iter().zip(y.iter()) {
            let _ = rls.update(row.as_slice().unwrap(), yi).unwrap();
        }
        prop_assert_eq!(rls.saturated_updates(), 0);
        let (beta, j) = batch(&x, &y, lambda, delta);
        for (a, b) in rls.coefficients().iter().zip(&beta) {
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "rls {} batch {}", a, b);
        }
        prop_assert!((rls.weighted_sse() - j).abs() <= 1e-9 * (1.0 + j), "J {} vs {}", rls.weighted_sse(), j);
        let n = y.len();
        let neff: f64 = (0..n).map(|i| lambda.powi(i as i32)).sum();
        prop_assert!((rls.effective_n() - neff).abs() <= 1e-9 * neff);
    }
}

#[test]
fn predictive_variance_grows_off_the_data() {
    let mut rls = RecursiveLeastSquares::new(RlsConfig::new(2).forgetting(1.0)).unwrap();
    assert!(rls.predict_one(&[1.0, 0.0]).unwrap().variance.is_none());
    for i in 0..50 {
        let x = (i as f64 / 49.0) * 2.0 - 1.0;
        let noise = if i % 2 == 0 { 0.1 } else { -0.1 };
        let _ = rls.update(&[1.0, x], 0.5 + 2.0 * x + noise).unwrap();
    }
    let s2 = rls.noise_variance().unwrap();
    assert!((s2 - 0.01).abs() < 0.002, "{s2}");
    let near = rls.predict_one(&[1.0, 0.0]).unwrap();
    let far = rls.predict_one(&[1.0, 10.0]).unwrap();
    assert!((near.mean - 0.5).abs() < 0.05);
    assert!(far.variance.unwrap() > 10.0 * (near.variance.unwrap() - s2));
    assert!(near.variance.unwrap() > s2);
}

#[test]
fn windup_is_capped_and_counted() {
    // only the first feature is ever excited: P grows like λ^{-n} in the second direction
    let config = RlsConfig {
        max_trace: 1e3,
        ..RlsConfig::new(2).forgetting(0.5).initial_precision(1.0)
    };
    let mut rls = RecursiveLeastSquares::new(config).unwrap();
    for _ in 0..200 {
        let step = rls.update(&[1.0, 0.0], 1.0).unwrap();
        assert!(step.forgetting_used >= 0.5 && step.forgetting_used <= 1.0);
    }
    let p = rls.gain_matrix();
    assert!(p[[0, 0]] + p[[1, 1]] <= 1e3 * (1.0 + 1e-9));
    assert!(rls.saturated_updates() > 0);
    // once the cap binds the prior term stops fading, so the fit is close but not exact
    assert!(
        (rls.coefficients()[0] - 1.0).abs() < 1e-2,
        "{}",
        rls.coefficients()[0]
    );
}

#[test]
fn a_rejected_update_changes_nothing() {
    let mut rls = RecursiveLeastSquares::new(RlsConfig::new(2)).unwrap();
    let _ = rls.update(&[1.0, 2.0], 3.0).unwrap();
    let before = serde_json::to_string(&rls).unwrap();
    assert!(rls.update(&[1.0, f64::NAN], 1.0).is_err());
    assert!(rls.update(&[1.0], 1.0).is_err());
    assert!(rls.update(&[1.0, 2.0], f64::INFINITY).is_err());
    assert!(rls.update(&[1e300, 1e300], 1.0).is_err());
    assert!(rls.update(&[1.0, 2.0], 1e308).is_ok() || serde_json::to_string(&rls).unwrap() == before);
    let mut fresh = RecursiveLeastSquares::new(RlsConfig::new(2)).unwrap();
    let _ = fresh.update(&[1.0, 2.0], 3.0).unwrap();
    let before = serde_json::to_string(&fresh).unwrap();
    assert!(fresh.update(&[f64::MAX, 0.0], 0.0).is_err());
    assert_eq!(serde_json::to_string(&fresh).unwrap(), before);
}
