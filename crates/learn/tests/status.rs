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

#[test]
fn logistic_numerical_failure() {
    // Extreme weights: after the first step the weighted Hessian of the light observations
    // underflows relative to the heavy one, which alone cannot identify two coefficients.
    let x = array![[1.0], [-1.0], [2.0], [-2.0], [0.5]];
    let y = array![1.0, 1.0, 0.0, 0.0, 1.0];
    let w = array![1.0, 1e-300, 1e-300, 1e-300, 1e-300];
    let r = LogisticRegressionConfig::default().fit(&BinaryData::new(x.view(), y.view()).weighted(w.view()));
    eprintln!("numerical case: {:?}", r.as_ref().map(|m| m.status()));
    match r {
        Ok(m) => assert!(
            matches!(m.status(), Status::Numerical { .. }),
            "status {}",
            m.status()
        ),
        Err(e) => assert!(matches!(e, LearnError::Collinear { .. }), "{e}"),
    }
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
