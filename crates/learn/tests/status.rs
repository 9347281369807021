//! One test per status branch the learners can produce.

use ndarray::{array, Array1, Array2};
use prudentia_core::{SeparationKind, Status};
use prudentia_learn::linear::{LinearData, LinearRegressionConfig};
use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig};
use prudentia_learn::LearnError;

fn noisy(n: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    // a small deterministic generator (no rand dependency in the assertion path)
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let x = Array2::from_shape_fn((n, 2), |_| next());
    let y = Array1::from_shape_fn(n, |i| if x[[i, 0]] + 0.3 * next() > 0.0 { 1.0 } else { 0.0 });
    (x, y)
}

#[test]
fn logistic_converged() {
    let (x, y) = noisy(200, 7);
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(m.status(), &Status::Converged);
    assert!(m.iterations() < 30);
}

#[test]
fn logistic_iteration_limit() {
    let (x, y) = noisy(200, 7);
    let m = LogisticRegressionConfig {
        max_iterations: 2,
        ..Default::default()
    }
    .fit(&BinaryData::new(x.view(), y.view()))
    .unwrap();
    assert_eq!(m.status(), &Status::IterationLimit { iterations: 2 });
    assert_eq!(m.iterations(), 2);
    // the last iterate is usable, with standard errors
    assert!(m.std_errors().is_some());
}

#[test]
fn logistic_complete_separation() {
    let x = array![[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]];
    let y = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(
        m.status(),
        &Status::Separation {
            kind: SeparationKind::Complete,
            observations: 6
        }
    );
}

#[test]
fn logistic_quasi_separation() {
    // x = 0 holds both labels; x < 0 only 0s, x > 0 only 1s
    let x = array![[-2.0], [-1.0], [0.0], [0.0], [1.0], [2.0]];
    let y = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(
        m.status(),
        &Status::Separation {
            kind: SeparationKind::Quasi,
            observations: 4
        }
    );
}

/// Two nearly collinear columns (`x₂ = x₁ + 1e-5 u`, so `1 − R² ≈ 1e-10`).
fn near_collinear(n: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let (x1, y) = noisy(n, seed);
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        if j == 0 {
            x1[[i, 0]]
        } else {
            x1[[i, 0]] + 1e-5 * x1[[i, 1]]
        }
    });
    (x, y)
}

#[test]
fn logistic_reduced_accuracy() {
    // Newton's steps oscillate at cond(H)·ε above the 1e-10 tolerance while the predicted
    // gain is below the rounding of the log-likelihood: reported, not looped to the limit
    let (x, y) = near_collinear(200, 17);
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert!(
        matches!(m.status(), Status::ReducedAccuracy { .. }),
        "{}",
        m.status()
    );
    assert!(m.iterations() < 20);
}

#[test]
fn logistic_numerical_failure() {
    // The near-collinear design with weights 1e-200 on two observations in three: as the
    // heavy observations are fitted, their Hessian weights p(1 − p) fade and the Hessian
    // that remains is numerically singular (1 − R² below 1e-13) without any separation.
    let (x, y) = near_collinear(20, 9);
    let w = Array1::from_shape_fn(20, |i| if i % 3 == 0 { 1.0 } else { 1e-200 });
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()).weighted(w.view()))
        .unwrap();
    match m.status() {
        Status::Numerical { message } => assert!(message.contains("Hessian"), "{message}"),
        other => panic!("expected a numerical failure, got {other}"),
    }
    assert!(m.coefficients().iter().all(|b| b.is_finite()));
}

#[test]
fn ols_converged_reduced_accuracy_and_collinear() {
    let n = 50;
    let x1 = Array1::from_shape_fn(n, |i| ((i * 37) % 50) as f64 / 50.0);
    let y = Array1::from_shape_fn(n, |i| 1.0 + 2.0 * x1[i] + if i % 2 == 0 { 0.01 } else { -0.01 });
    let fit = |x2: Array1<f64>| {
        let x = ndarray::stack![ndarray::Axis(1), x1, x2];
        LinearRegressionConfig::default().fit(&LinearData::new(x.view(), y.view()))
    };
    let other = Array1::from_shape_fn(n, |i| ((i * 13) % 50) as f64 / 50.0);
    assert_eq!(fit(other).unwrap().status(), &Status::Converged);
    let near = Array1::from_shape_fn(n, |i| x1[i] + 1e-6 * (((i * 7) % 11) as f64 - 5.0));
    let m = fit(near).unwrap();
    assert!(
        matches!(m.status(), Status::ReducedAccuracy { .. }),
        "{}",
        m.status()
    );
    let dup = x1.clone();
    assert!(matches!(fit(dup), Err(LearnError::Collinear { column: 2 })));
}
