//! prudentia-learn under bad input: every constructor, fit, update, predict and
//! deserialization entry point.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::Predict;
use prudentia_learn::boost::{BatchRefit, BatchRefitConfig, BoostConfig, BoostData, BoostedTrees};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegression, LinearRegressionConfig};
use prudentia_learn::logistic::{
    BinaryData, ColumnDesign, LeanLogit, LeanLogitConfig, LogisticRegression, LogisticRegressionConfig,
    LogitWorkspace,
};
use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig};
use prudentia_learn::tree::{Binned, Node, Tree, TreeBuilder};

const KINDS: [CovarianceKind; 6] = [
    CovarianceKind::Classical,
    CovarianceKind::Hc0,
    CovarianceKind::Hc1,
    CovarianceKind::Hc2,
    CovarianceKind::Hc3,
    CovarianceKind::Clustered,
];

const BAD: [f64; 9] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
];

fn base(n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((n, p), |(i, j)| (((i * 7 + j * 13) % 11) as f64 - 5.0) / 5.0);
    let y = Array1::from_shape_fn(n, |i| x.row(i).sum() * 0.5 + ((i % 3) as f64 - 1.0) * 0.1);
    (x, y)
}

fn labels(y: &Array1<f64>) -> Array1<f64> {
    y.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
}

/// The linear model's invariants: sizes, standard errors ≥ 0, a usable table and prediction.
fn linear_ok(m: &LinearRegression) -> Result<(), String> {
    let k = m.coefficients().len();
    if m.std_errors().len() != k || m.std_errors().iter().any(|s| *s < 0.0) {
        return Err("standard errors".into());
    }
    if m.coefficient_table().iter().any(|c| {
        c.statistic.is_some_and(|t| !t.is_finite()) || c.p_value.is_some_and(|p| !(0.0..=1.0).contains(&p))
    }) {
        return Err("coefficient table".into());
    }
    let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
    serde_json::from_str::<LinearRegression>(&json)
        .map_err(|e| format!("own output does not reload: {e}"))?;
    Ok(())
}

fn logistic_ok(m: &LogisticRegression) -> Result<(), String> {
    let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
    serde_json::from_str::<LogisticRegression>(&json)
        .map_err(|e| format!("own output does not reload: {e}"))?;
    if m.iterations() > m.config().max_iterations {
        return Err("iterations beyond the limit".into());
    }
    Ok(())
}

#[test]
fn learn_linear() {
    let mut s = Suite::new("learn linear");

    // a table of bad values in x, y and weights, for every covariance kind
    for kind in KINDS {
        for (bi, bad) in BAD.iter().copied().enumerate() {
            for target in 0..3 {
                s.check(
                    format!("fit {kind:?} bad[{bi}]={bad:e} in {}", ["x", "y", "w"][target]),
                    move || {
                        let (mut x, mut y) = base(12, 2);
                        let mut w = Array1::from_elem(12, 1.0);
                        match target {
                            0 => x[[4, 1]] = bad,
                            1 => y[4] = bad,
                            _ => w[4] = bad,
                        }
                        let clusters: Vec<u64> = (0..12).map(|i| i / 3).collect();
                        let data = LinearData::new(x.view(), y.view())
                            .weighted(w.view())
                            .clustered(&clusters);
                        result_with(LinearRegressionConfig::ols(kind).fit(&data), linear_ok)
                    },
                );
            }
            // every value scaled by a huge or tiny factor
            s.check(format!("fit {kind:?} all scaled by {bad:e}"), move || {
                let (x, y) = base(12, 2);
                let (x, y) = (x.mapv(|v| v * bad), y.mapv(|v| v * bad));
                let clusters: Vec<u64> = (0..12).map(|i| i / 3).collect();
                let data = LinearData::new(x.view(), y.view()).clustered(&clusters);
                result_with(LinearRegressionConfig::ols(kind).fit(&data), linear_ok)
            });
        }
    }
    // shapes: empty, too few rows, mismatched y/weights/clusters
    for (n, p, ny, nw, nc) in [
        (0, 0, 0, 0, 0),
        (0, 2, 0, 0, 0),
        (3, 2, 3, 3, 3),
        (3, 3, 3, 3, 3),
        (10, 2, 9, 10, 10),
        (10, 2, 10, 9, 10),
        (10, 2, 10, 10, 9),
        (10, 0, 10, 10, 10),
    ] {
        for kind in [CovarianceKind::Classical, CovarianceKind::Clustered] {
            s.check(
                format!("fit {kind:?} shapes n={n} p={p} y={ny} w={nw} c={nc}"),
                move || {
                    let (x, _) = base(n, p);
                    let y = Array1::from_shape_fn(ny, |i| i as f64);
                    let w = Array1::from_elem(nw, 1.0);
                    let c: Vec<u64> = (0..nc as u64).map(|i| i % 2).collect();
                    let data = LinearData::new(x.view(), y.view())
                        .weighted(w.view())
                        .clustered(&c);
                    result_with(LinearRegressionConfig::ols(kind).fit(&data), linear_ok)
                },
            );
        }
    }
    s.check("fit without intercept and without columns", || {
        let (x, y) = base(10, 0);
        let c = LinearRegressionConfig {
            intercept: false,
            ..Default::default()
        };
        result(c.fit(&LinearData::new(x.view(), y.view())))
    });
    // ridge settings
    s.sweep("ridge", any_f64(), |ridge| {
        let (x, y) = base(15, 3);
        let c = LinearRegressionConfig {
            ridge,
            ..Default::default()
        };
        result_with(c.fit(&LinearData::new(x.view(), y.view())), linear_ok)
    });
    // hostile matrices with every covariance kind
    s.sweep(
        "fit hostile x",
        (matrix(0..30, 0..5), any_f64(), 0usize..6, proptest::bool::ANY),
        |(x, scale, kind, intercept)| {
            let n = x.nrows();
            let y = Array1::from_shape_fn(n, |i| x.row(i).iter().sum::<f64>() * scale + (i % 5) as f64);
            let clusters: Vec<u64> = (0..n as u64).map(|i| i % 4).collect();
            let c = LinearRegressionConfig {
                intercept,
                ridge: 0.0,
                covariance: KINDS[kind],
            };
            let data = LinearData::new(x.view(), y.view()).clustered(&clusters);
            result_with(c.fit(&data), linear_ok)
        },
    );
    s.sweep(
        "fit hostile weights",
        (vec_f64(12..13), 0usize..6),
        |(w, kind)| {
            let (x, y) = base(12, 2);
            let w = Array1::from(w);
            let clusters: Vec<u64> = (0..12).map(|i| i % 3).collect();
            let data = LinearData::new(x.view(), y.view())
                .weighted(w.view())
                .clustered(&clusters);
            result_with(LinearRegressionConfig::ols(KINDS[kind]).fit(&data), linear_ok)
        },
    );
    // predict with bad rows
    s.sweep("predict", (vec_f64(0..4), 0usize..3), |(row, reps)| {
        let (x, y) = base(12, 2);
        let m = match LinearRegressionConfig::default().fit(&LinearData::new(x.view(), y.view())) {
            Ok(m) => m,
            Err(_) => return Check::Broken("the base fit failed".into()),
        };
        let p = row.len();
        let xs = Array2::from_shape_fn((reps, p), |(_, j)| row[j]);
        result(Predict::predict(&m, xs.view()))
    });
    // checkpoints: load, then predict and read the table
    let (x, y) = base(20, 3);
    for kind in KINDS {
        let clusters: Vec<u64> = (0..20).map(|i| i % 4).collect();
        let m = LinearRegressionConfig::ols(kind)
            .fit(&LinearData::new(x.view(), y.view()).clustered(&clusters))
            .expect("base fit");
        s.checkpoint(
            &format!("LinearRegression {kind:?}"),
            &m,
            |json| match serde_json::from_str::<LinearRegression>(&json) {
                Err(_) => Check::Rejected,
                Ok(m) => {
                    let xs = Array2::from_shape_fn((2, m.n_features()), |(i, j)| (i + j) as f64 * 0.3);
                    let table = m.coefficient_table();
                    let cov = m.covariance();
                    match m.predict(xs.view()) {
                        Ok(p) => Check::ok_finite(&(p, table, cov, m.correlation())),
                        Err(_) => Check::ok_finite(&(table, cov)),
                    }
                }
            },
        );
    }
    s.checkpoint(
        "LinearRegressionConfig",
        &LinearRegressionConfig::default(),
        |json| match serde_json::from_str::<LinearRegressionConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (x, y) = base(12, 2);
                let clusters: Vec<u64> = (0..12).map(|i| i % 3).collect();
                result_with(
                    c.fit(&LinearData::new(x.view(), y.view()).clustered(&clusters)),
                    linear_ok,
                )
            }
        },
    );
    s.finish();
}

#[test]
fn learn_logistic() {
    let mut s = Suite::new("learn logistic");
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for target in 0..3 {
            s.check(
                format!("fit bad[{bi}]={bad:e} in {}", ["x", "y", "w"][target]),
                move || {
                    let (mut x, y) = base(16, 2);
                    let mut y = labels(&y);
                    let mut w = Array1::from_elem(16, 1.0);
                    match target {
                        0 => x[[4, 1]] = bad,
                        1 => y[4] = bad,
                        _ => w[4] = bad,
                    }
                    let data = BinaryData::new(x.view(), y.view()).weighted(w.view());
                    result_with(LogisticRegressionConfig::default().fit(&data), logistic_ok)
                },
            );
        }
        s.check(format!("fit x scaled by {bad:e}"), move || {
            let (x, y) = base(16, 2);
            let y = labels(&y);
            let x = x.mapv(|v| v * bad);
            result_with(
                LogisticRegressionConfig::default().fit(&BinaryData::new(x.view(), y.view())),
                logistic_ok,
            )
        });
    }
    for (n, p, ny) in [(0, 0, 0), (0, 2, 0), (3, 2, 3), (10, 2, 9), (10, 0, 10)] {
        s.check(format!("fit shapes n={n} p={p} y={ny}"), move || {
            let (x, _) = base(n, p);
            let y = Array1::from_shape_fn(ny, |i| (i % 2) as f64);
            result_with(
                LogisticRegressionConfig::default().fit(&BinaryData::new(x.view(), y.view())),
                logistic_ok,
            )
        });
    }
    s.sweep(
        "config",
        (any_f64(), any_size(), any_f64(), proptest::bool::ANY),
        |(l2, max_iterations, tolerance, intercept)| {
            let (x, y) = base(16, 2);
            let y = labels(&y);
            let c = LogisticRegressionConfig {
                intercept,
                l2,
                max_iterations,
                tolerance,
            };
            result_with(c.fit(&BinaryData::new(x.view(), y.view())), logistic_ok)
        },
    );
    s.sweep(
        "fit hostile x",
        (
            matrix(0..40, 0..4),
            proptest::collection::vec(proptest::bool::ANY, 40),
            prop_oneof![Just(0.0), Just(1.0), any_f64()],
        ),
        |(x, flips, l2)| {
            let n = x.nrows();
            let y = Array1::from_shape_fn(n, |i| {
                let s: f64 = x.row(i).iter().sum();
                let base = if s > 0.0 { 1.0 } else { 0.0 };
                if flips[i % flips.len()] && i % 3 == 0 {
                    1.0 - base
                } else {
                    base
                }
            });
            let c = LogisticRegressionConfig {
                l2,
                ..Default::default()
            };
            result_with(c.fit(&BinaryData::new(x.view(), y.view())), logistic_ok)
        },
    );
    s.sweep("predict", (vec_f64(0..4), 0usize..3), |(row, reps)| {
        let (x, y) = base(16, 2);
        let y = labels(&y);
        let m = match LogisticRegressionConfig::default().fit(&BinaryData::new(x.view(), y.view())) {
            Ok(m) => m,
            Err(_) => return Check::Broken("the base fit failed".into()),
        };
        let xs = Array2::from_shape_fn((reps, row.len()), |(_, j)| row[j]);
        result_with(Predict::predict(&m, xs.view()), |p| {
            if p.iter().all(|v| (0.0..=1.0).contains(v)) {
                Ok(())
            } else {
                Err("probability outside [0, 1]".into())
            }
        })
    });
    let (x, y) = base(30, 2);
    let y = labels(&y);
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .expect("base fit");
    s.checkpoint("LogisticRegression", &m, |json| {
        match serde_json::from_str::<LogisticRegression>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let xs = Array2::from_shape_fn((2, m.n_features()), |(i, j)| (i + j) as f64 * 0.3);
                let table = m.coefficient_table();
                match m.predict_proba(xs.view()) {
                    Ok(p) => Check::ok_finite(&(p, table)),
                    Err(_) => Check::ok_finite(&table),
                }
            }
        }
    });
    s.checkpoint(
        "LogisticRegressionConfig",
        &LogisticRegressionConfig::default(),
        |json| match serde_json::from_str::<LogisticRegressionConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (x, y) = base(16, 2);
                let y = labels(&y);
                result_with(c.fit(&BinaryData::new(x.view(), y.view())), logistic_ok)
            }
        },
    );
    s.finish();
}

/// The lean model's invariants: a usable prediction and a reload of its own output.
fn lean_ok(m: &LeanLogit) -> Result<(), String> {
    let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
    serde_json::from_str::<LeanLogit>(&json).map_err(|e| format!("own output does not reload: {e}"))?;
    let xs = Array2::from_shape_fn((2, m.n_features()), |(i, j)| (i + j) as f64 * 0.3 - 0.2);
    let p = m
        .predict_proba(xs.view())
        .map_err(|e| format!("predict on finite rows: {e}"))?;
    if p.iter().all(|v| (0.0..=1.0).contains(v)) {
        Ok(())
    } else {
        Err("probability outside [0, 1]".into())
    }
}

/// Column-major `[1, x]` of `x`.
fn columns(x: &Array2<f64>) -> Vec<f64> {
    let (n, p) = x.dim();
    let mut z = vec![1.0; n * (p + 1)];
    for j in 0..p {
        for i in 0..n {
            z[(j + 1) * n + i] = x[[i, j]];
        }
    }
    z
}

/// One `fit_into` call judged: `Ok` has a finite report and coefficients, a refusal leaves
/// the start untouched.
fn lean_into(
    config: LeanLogitConfig,
    z: &[f64],
    (stride, k, intercept): (usize, usize, bool),
    hole: (usize, usize),
    y: &[f64],
    w: Option<&[f64]>,
    start: Vec<f64>,
) -> Check {
    let d = match ColumnDesign::new(z, stride, k, intercept).and_then(|d| d.holding_out(hole.0, hole.1)) {
        Ok(d) => d,
        Err(_) => return Check::Rejected,
    };
    let mut beta = start.clone();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    match config.fit_into(&d, y, w, &mut beta, &mut LogitWorkspace::default()) {
        Err(_) => Check::invariant(bits(&beta) == bits(&start), "a refused fit changed the start"),
        Ok(r) => Check::ok_finite(&(r.log_likelihood, r.iterations, beta)),
    }
}

#[test]
fn learn_lean_logit() {
    let mut s = Suite::new("learn lean logit");
    let ok = LeanLogitConfig::default();
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for target in 0..3 {
            s.check(
                format!("fit_xy bad[{bi}]={bad:e} in {}", ["x", "y", "w"][target]),
                move || {
                    let (mut x, y) = base(16, 2);
                    let mut y = labels(&y);
                    let mut w = Array1::from_elem(16, 1.0);
                    match target {
                        0 => x[[4, 1]] = bad,
                        1 => y[4] = bad,
                        _ => w[4] = bad,
                    }
                    let data = BinaryData::new(x.view(), y.view()).weighted(w.view());
                    result_with(ok.fit_xy(&data), lean_ok)
                },
            );
        }
        s.check(format!("fit_xy x scaled by {bad:e}"), move || {
            let (x, y) = base(16, 2);
            let y = labels(&y);
            let x = x.mapv(|v| v * bad);
            result_with(ok.fit_xy(&BinaryData::new(x.view(), y.view())), lean_ok)
        });
        for target in 0..4 {
            s.check(
                format!(
                    "fit_into bad[{bi}]={bad:e} in {}",
                    ["z", "y", "w", "start"][target]
                ),
                move || {
                    let (x, y) = base(16, 2);
                    let mut y = labels(&y).to_vec();
                    let mut z = columns(&x);
                    let mut w = vec![1.0; 16];
                    let mut start = vec![0.0; 3];
                    match target {
                        0 => z[20] = bad,
                        1 => y[4] = bad,
                        2 => w[4] = bad,
                        _ => start[1] = bad,
                    }
                    lean_into(ok, &z, (16, 3, true), (0, 0), &y, Some(&w), start)
                },
            );
        }
    }
    for (stride, k, lo, hi, ny, nb) in [
        (0, 1, 0, 0, 0, 1),
        (16, 0, 0, 0, 16, 0),
        (16, 3, 0, 16, 16, 3),
        (16, 3, 0, 13, 16, 3),
        (16, 3, 5, 4, 16, 3),
        (16, 3, 0, 17, 16, 3),
        (16, 3, 0, 0, 15, 3),
        (16, 3, 0, 0, 16, 4),
        (1 << 40, 3, 0, 0, 16, 3),
        (usize::MAX, 3, 0, 0, 16, 3),
        (16, usize::MAX, 0, 0, 16, 3),
        (16, 1 << 40, 0, 0, 16, 3),
    ] {
        s.check(
            format!("fit_into sizes stride={stride} k={k} hole={lo}..{hi} y={ny} start={nb}"),
            move || {
                let (x, y) = base(16, 2);
                let y = labels(&y).to_vec();
                let z = columns(&x);
                let yv: Vec<f64> = (0..ny).map(|i| y[i % 16]).collect();
                lean_into(ok, &z, (stride, k, true), (lo, hi), &yv, None, vec![0.0; nb])
            },
        );
    }
    for (n, p, ny) in [(0, 0, 0), (0, 2, 0), (3, 2, 3), (10, 2, 9), (10, 0, 10)] {
        s.check(format!("fit_xy shapes n={n} p={p} y={ny}"), move || {
            let (x, _) = base(n, p);
            let y = Array1::from_shape_fn(ny, |i| (i % 2) as f64);
            result_with(ok.fit_xy(&BinaryData::new(x.view(), y.view())), lean_ok)
        });
    }
    s.sweep(
        "config",
        (any_size(), any_f64(), any_f64()),
        |(max_iterations, tolerance, quadratic_stop)| {
            let (x, y) = base(16, 2);
            let y = labels(&y);
            let c = LeanLogitConfig {
                max_iterations,
                tolerance,
                quadratic_stop,
            };
            result_with(c.fit_xy(&BinaryData::new(x.view(), y.view())), lean_ok)
        },
    );
    s.sweep(
        "fit hostile x, held-out block, hostile start",
        (
            matrix(0..40, 0..4),
            proptest::collection::vec(proptest::bool::ANY, 40),
            (0usize..40, 0usize..40),
            vec_f64(0..5),
        ),
        move |(x, flips, (a, b), start)| {
            let n = x.nrows();
            let y = Array1::from_shape_fn(n, |i| {
                let s: f64 = x.row(i).iter().sum();
                let base = if s > 0.0 { 1.0 } else { 0.0 };
                if flips[i % flips.len()] && i % 3 == 0 {
                    1.0 - base
                } else {
                    base
                }
            });
            let whole = result_with(ok.fit_xy(&BinaryData::new(x.view(), y.view())), lean_ok);
            let fast = LeanLogitConfig {
                quadratic_stop: 1e-11,
                ..ok
            };
            let k = x.ncols() + 1;
            let into = lean_into(
                fast,
                &columns(&x),
                (n, k, true),
                (a.min(b), a.max(b)),
                y.as_slice().unwrap_or(&[]),
                None,
                start,
            );
            whole.and(|| into)
        },
    );
    s.sweep("predict", (vec_f64(0..4), 0usize..3), |(row, reps)| {
        let (x, y) = base(16, 2);
        let y = labels(&y);
        let m = match LeanLogitConfig::default().fit_xy(&BinaryData::new(x.view(), y.view())) {
            Ok(m) => m,
            Err(_) => return Check::Broken("the base fit failed".into()),
        };
        let xs = Array2::from_shape_fn((reps, row.len()), |(_, j)| row[j]);
        result_with(Predict::predict(&m, xs.view()), |p| {
            if p.iter().all(|v| (0.0..=1.0).contains(v)) {
                Ok(())
            } else {
                Err("probability outside [0, 1]".into())
            }
        })
    });
    let (x, y) = base(30, 2);
    let y = labels(&y);
    let m = ok.fit_xy(&BinaryData::new(x.view(), y.view())).expect("base fit");
    s.checkpoint("LeanLogit", &m, |json| {
        match serde_json::from_str::<LeanLogit>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let xs = Array2::from_shape_fn((2, m.n_features()), |(i, j)| (i + j) as f64 * 0.3);
                result(m.predict_proba(xs.view()))
            }
        }
    });
    s.checkpoint("LeanLogitConfig", &ok, |json| {
        match serde_json::from_str::<LeanLogitConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let (x, y) = base(16, 2);
                let y = labels(&y);
                result_with(c.fit_xy(&BinaryData::new(x.view(), y.view())), lean_ok)
            }
        }
    });
    s.finish();
}

fn rls_state() -> RecursiveLeastSquares {
    let mut m = RecursiveLeastSquares::new(RlsConfig::new(3)).expect("config");
    let (x, y) = base(20, 2);
    for (r, &v) in x.rows().into_iter().zip(y.iter()) {
        let _ = m.update(&[1.0, r[0], r[1]], v).expect("update");
    }
    m
}

#[test]
fn learn_rls() {
    let mut s = Suite::new("learn rls");
    s.sweep(
        "RlsConfig",
        (any_size(), any_f64(), any_f64(), any_f64()),
        |(n_features, forgetting, initial_precision, max_trace)| {
            let c = RlsConfig {
                n_features,
                forgetting,
                initial_precision,
                max_trace,
            };
            result(RecursiveLeastSquares::new(c))
        },
    );
    s.sweep(
        "RlsConfig builders",
        (0usize..6, any_f64(), any_f64()),
        |(d, l, p)| {
            result(RecursiveLeastSquares::new(
                RlsConfig::new(d).forgetting(l).initial_precision(p),
            ))
        },
    );
    for n in [0usize, 1 << 20, 1 << 40, usize::MAX] {
        s.check(format!("RlsConfig::new({n})"), move || {
            result(RecursiveLeastSquares::new(RlsConfig::new(n)))
        });
    }
    // updates with hostile rows: a rejected update must change nothing
    s.sweep("update", (vec_f64(0..5), any_f64()), |(x, y)| {
        let mut m = rls_state();
        let before = serde_json::to_string(&m).unwrap_or_default();
        match m.update(&x, y) {
            Err(_) => Check::invariant(
                serde_json::to_string(&m).unwrap_or_default() == before,
                "a rejected update changed the model",
            )
            .and(|| Check::Rejected),
            Ok(step) => Check::ok_finite(&(step, &m)).and(|| {
                let json = serde_json::to_string(&m).unwrap_or_default();
                Check::invariant(
                    serde_json::from_str::<RecursiveLeastSquares>(&json).is_ok(),
                    "own output does not reload",
                )
            }),
        }
    });
    // long runs of extreme but finite data: never a non-finite state
    s.sweep(
        "update stream",
        (
            proptest::collection::vec((finite_f64(), finite_f64(), finite_f64()), 1..200),
            0.5f64..=1.0,
        ),
        |(rows, lam)| {
            let mut m = match RecursiveLeastSquares::new(RlsConfig::new(2).forgetting(lam)) {
                Ok(m) => m,
                Err(_) => return Check::Broken("config".into()),
            };
            for (a, b, y) in rows {
                let _ = m.update(&[a, b], y);
            }
            let json = serde_json::to_string(&m).unwrap_or_default();
            Check::ok_finite(&m)
                .and(|| {
                    Check::invariant(
                        serde_json::from_str::<RecursiveLeastSquares>(&json).is_ok(),
                        "own output does not reload",
                    )
                })
                .and(|| result(m.predict_one(&[1.0, 1.0])))
        },
    );
    s.sweep("predict_one", vec_f64(0..5), |x| {
        result(rls_state().predict_one(&x))
    });
    s.sweep("predict", (vec_f64(0..5), 0usize..3), |(row, reps)| {
        let xs = Array2::from_shape_fn((reps, row.len()), |(_, j)| row[j]);
        result(Predict::predict(&rls_state(), xs.view()))
    });
    s.checkpoint(
        "RecursiveLeastSquares",
        &rls_state(),
        |json| match serde_json::from_str::<RecursiveLeastSquares>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut m) => {
                let d = m.config().n_features;
                let x: Vec<f64> = (0..d).map(|i| 0.5 + i as f64).collect();
                let p = m.predict_one(&x);
                let u = m.update(&x, 1.0);
                match (p, u) {
                    (Ok(p), Ok(u)) => Check::ok_finite(&(p, u, &m)),
                    (Ok(p), Err(_)) => Check::ok_finite(&(p, &m)),
                    (Err(_), Ok(u)) => Check::ok_finite(&(u, &m)),
                    (Err(_), Err(_)) => Check::ok_finite(&m),
                }
            }
        },
    );
    s.finish();
}

// ---------------------------------------------------------------------------------------
// bandits (LinUCB moved here from the regime module)

use prudentia_learn::bandit::{
    ArmFeatures, Choice, EpsilonGreedy, EpsilonGreedyConfig, LinUcb, LinUcbConfig, LinearBandit,
    LinearThompson, LinearThompsonConfig,
};
use prudentia_learn::LearnResult;
use serde::de::DeserializeOwned;
use serde::Serialize;

const SIZES: [usize; 5] = [0, 1, 1 << 20, 1 << 40, usize::MAX];

/// What the generic bandit cases need of a policy type.
trait Bandit: LinearBandit + Clone + PartialEq + Serialize + DeserializeOwned + Send + 'static {
    fn make(n_actions: usize, dim: usize, features: ArmFeatures) -> LearnResult<Self>;
    fn theta_of(&self, action: usize) -> Option<Vec<f64>>;
}

impl Bandit for LinUcb {
    fn make(n_actions: usize, dim: usize, features: ArmFeatures) -> LearnResult<Self> {
        LinUcb::new(LinUcbConfig {
            n_actions,
            dim,
            features,
            ..Default::default()
        })
    }
    fn theta_of(&self, action: usize) -> Option<Vec<f64>> {
        self.theta(action).map(<[f64]>::to_vec)
    }
}

impl Bandit for LinearThompson {
    fn make(n_actions: usize, dim: usize, features: ArmFeatures) -> LearnResult<Self> {
        LinearThompson::new(LinearThompsonConfig {
            n_actions,
            dim,
            features,
            propensity_draws: 20,
            ..Default::default()
        })
    }
    fn theta_of(&self, action: usize) -> Option<Vec<f64>> {
        self.theta(action).map(<[f64]>::to_vec)
    }
}

impl Bandit for EpsilonGreedy {
    fn make(n_actions: usize, dim: usize, features: ArmFeatures) -> LearnResult<Self> {
        EpsilonGreedy::new(EpsilonGreedyConfig {
            n_actions,
            dim,
            epsilon: 0.2,
            decay: 0.1,
            min_epsilon: 0.01,
            features,
            ..Default::default()
        })
    }
    fn theta_of(&self, action: usize) -> Option<Vec<f64>> {
        self.theta(action).map(<[f64]>::to_vec)
    }
}

fn shared3() -> ArmFeatures {
    ArmFeatures::Shared {
        action_features: vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.5, 0.5]],
    }
}

fn trained<P: Bandit>(features: ArmFeatures) -> P {
    let mut p = P::make(3, 2, features).expect("valid");
    for t in 0..60u64 {
        let x = [1.0, ((t * 7) as f64 * 0.3).sin()];
        let a = (t % 3) as usize;
        p.learn(&x, a, 0.1 * a as f64 + x[1]).expect("ok");
    }
    p
}

/// A choice's invariants: a known, allowed action with a propensity in (0, 1], finite scores.
fn judge(c: LearnResult<Choice>, scores: &[f64], mask: Option<&[bool]>) -> Check {
    result_with(c, |c| {
        if c.action >= scores.len() || mask.is_some_and(|m| !m[c.action]) {
            return Err(format!("action {} not allowed", c.action));
        }
        if !(c.propensity > 0.0 && c.propensity <= 1.0) {
            return Err(format!("propensity {}", c.propensity));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(format!("non-finite scores {scores:?}"));
        }
        Ok(())
    })
}

/// Uses a policy of any size: decide (explore and greedy, with a mask), learn, decide again.
fn use_bandit<P: Bandit>(mut p: P) -> Check {
    let k = p.n_actions();
    let x = vec![0.5; p.context_dim()];
    let mut scores = vec![0.0; k];
    let mut mask = vec![true; k];
    mask[0] = k == 1;
    let first = judge(
        p.decide(&x, Some(&mask), true, 7, &mut scores),
        &scores,
        Some(&mask),
    );
    if matches!(first, Check::NonFinite(_) | Check::Broken(_)) {
        return first;
    }
    first
        .and(|| judge(p.decide(&x, None, false, 8, &mut scores), &scores, None))
        .and(|| result(p.learn(&x, k - 1, 0.3)))
        .and(|| judge(p.decide(&x, None, true, 9, &mut scores), &scores, None))
        .and(|| result(p.choose(&x, true, 10)))
}

fn bandit_cases<P: Bandit>(s: &mut Suite, name: &'static str) {
    for n in SIZES {
        s.check(format!("{name} n_actions {n}"), move || {
            match P::make(n, 1, ArmFeatures::Disjoint) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("{name} dim {n}"), move || {
            match P::make(2, n, ArmFeatures::Disjoint) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("{name} shared width {n}"), move || {
            let f = ArmFeatures::Shared {
                action_features: vec![vec![1.0; n.min(1 << 20)]; 2],
            };
            match P::make(2, 1, f) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
    }
    s.check(format!("{name} 4096 x 4096 x 4096"), || {
        result(P::make(4096, 4096, ArmFeatures::Disjoint).map(|_| ()))
    });
    s.check(format!("{name} 65536 shared actions x 8192"), || {
        let f = ArmFeatures::Shared {
            action_features: vec![vec![0.0]; 1 << 16],
        };
        result(P::make(1 << 16, 1 << 13, f).map(|_| ()))
    });
    for v in BAD {
        s.check(format!("{name} action feature {v:e}"), move || {
            let f = ArmFeatures::Shared {
                action_features: vec![vec![v], vec![1.0], vec![0.0]],
            };
            match P::make(3, 1, f) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
    }
    for features in [ArmFeatures::Disjoint, shared3()] {
        let tag = if matches!(features, ArmFeatures::Disjoint) {
            "disjoint"
        } else {
            "shared"
        };
        // accessors and updates with bad indices and values
        for a in [3usize, 1 << 40, usize::MAX] {
            let f = features.clone();
            s.check(format!("{name} {tag} theta({a})"), move || {
                Check::invariant(
                    trained::<P>(f).theta_of(a).is_none(),
                    "theta of an unknown action",
                )
            });
            let f = features.clone();
            s.check(format!("{name} {tag} learn action {a}"), move || {
                let mut p = trained::<P>(f);
                let before = p.clone();
                let r = result(p.learn(&[1.0, 0.0], a, 1.0));
                Check::invariant(p == before, "a rejected learn changed the policy").and(|| r)
            });
        }
        for (label, mask) in [
            ("empty mask", vec![false; 3]),
            ("short mask", vec![true; 2]),
            ("long mask", vec![true; 4]),
            ("no mask", vec![]),
        ] {
            let f = features.clone();
            s.check(format!("{name} {tag} {label}"), move || {
                let p = trained::<P>(f);
                let mut scores = [0.0; 3];
                judge(
                    p.decide(&[1.0, 0.2], Some(&mask), true, 1, &mut scores),
                    &scores,
                    None,
                )
            });
        }
        let f = features.clone();
        s.check(format!("{name} {tag} scores buffer of 2"), move || {
            let p = trained::<P>(f);
            let mut scores = [0.0; 2];
            judge(p.decide(&[1.0, 0.2], None, true, 1, &mut scores), &scores, None)
        });
        let f = features.clone();
        s.sweep(
            &format!("{name} {tag} learn"),
            (vec_f64(0..4), 0usize..4, any_f64()),
            move |(x, a, r)| {
                let mut p = trained::<P>(f.clone());
                let before = p.clone();
                match p.learn(&x, a, r) {
                    Err(_) => Check::invariant(p == before, "a rejected learn changed the policy"),
                    Ok(()) => use_bandit(p),
                }
            },
        );
        let f = features.clone();
        s.sweep(
            &format!("{name} {tag} learn_row"),
            (vec_f64(0..6), 0usize..4, any_f64()),
            move |(x, a, r)| {
                let mut p = trained::<P>(f.clone());
                let before = p.clone();
                match p.learn_row(&x, a, r) {
                    Err(_) => Check::invariant(p == before, "a rejected learn changed the policy"),
                    Ok(()) => use_bandit(p),
                }
            },
        );
        let f = features.clone();
        s.sweep(
            &format!("{name} {tag} decide"),
            (
                vec_f64(0..4),
                proptest::option::of(proptest::collection::vec(proptest::bool::ANY, 0..5)),
                proptest::bool::ANY,
                any::<u64>(),
            ),
            move |(x, mask, explore, seed)| {
                let p = trained::<P>(f.clone());
                let mut scores = [0.0; 3];
                let m = mask.as_deref();
                judge(p.decide(&x, m, explore, seed, &mut scores), &scores, m)
            },
        );
        let f = features.clone();
        s.sweep(
            &format!("{name} {tag} decide_rows"),
            (vec_f64(0..14), proptest::bool::ANY, any::<u64>()),
            move |(rows, explore, seed)| {
                let p = trained::<P>(f.clone());
                let mut scores = [0.0; 3];
                judge(
                    p.decide_rows(&rows, None, explore, seed, &mut scores),
                    &scores,
                    None,
                )
            },
        );
        let f = features.clone();
        s.sweep(
            &format!("{name} {tag} finite extremes"),
            proptest::collection::vec((finite_f64(), finite_f64(), finite_f64()), 1..40),
            move |xs| {
                let mut p = trained::<P>(f.clone());
                for (i, (x0, x1, r)) in xs.into_iter().enumerate() {
                    let _ = p.learn(&[x0, x1], i % 3, r);
                }
                // never blinded: an ordinary context still scores
                use_bandit(p)
            },
        );
        // checkpoints: mutated, loaded, then used
        s.checkpoint(
            &format!("{name} {tag}"),
            &trained::<P>(features.clone()),
            |json| match serde_json::from_str::<P>(&json) {
                Err(_) => Check::Rejected,
                Ok(p) => use_bandit(p),
            },
        );
    }
}

#[test]
fn learn_bandits() {
    let mut s = Suite::new("learn bandits");
    bandit_cases::<LinUcb>(&mut s, "LinUcb");
    bandit_cases::<LinearThompson>(&mut s, "LinearThompson");
    bandit_cases::<EpsilonGreedy>(&mut s, "EpsilonGreedy");

    // policy-specific settings
    for v in BAD.into_iter().chain([1e200, 1e-200, 0.5, 1.0]) {
        s.check(format!("LinUcb alpha {v:e}"), move || {
            match LinUcb::new(LinUcbConfig {
                alpha: v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("LinUcb ridge {v:e}"), move || {
            match LinUcb::new(LinUcbConfig {
                ridge: v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("LinUcb prior_mean {v:e}"), move || {
            match LinUcb::new(LinUcbConfig {
                prior_mean: vec![v],
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            }
        });
        s.check(
            format!("LinearThompson v {v:e}"),
            move || match LinearThompson::new(LinearThompsonConfig {
                v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            },
        );
        s.check(
            format!("LinearThompson ridge {v:e}"),
            move || match LinearThompson::new(LinearThompsonConfig {
                ridge: v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            },
        );
        s.check(
            format!("EpsilonGreedy epsilon {v:e}"),
            move || match EpsilonGreedy::new(EpsilonGreedyConfig {
                epsilon: v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            },
        );
        s.check(
            format!("EpsilonGreedy decay {v:e}"),
            move || match EpsilonGreedy::new(EpsilonGreedyConfig {
                decay: v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            },
        );
        s.check(
            format!("EpsilonGreedy min_epsilon {v:e}"),
            move || match EpsilonGreedy::new(EpsilonGreedyConfig {
                min_epsilon: v,
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            },
        );
    }
    for n in SIZES {
        s.check(
            format!("LinearThompson propensity_draws {n}"),
            move || match LinearThompson::new(LinearThompsonConfig {
                propensity_draws: n.min(1 << 30),
                ..Default::default()
            }) {
                Ok(p) => use_bandit(p),
                Err(_) => Check::Rejected,
            },
        );
    }
    for a in [2usize, 1 << 40, usize::MAX] {
        s.check(format!("LinUcb mean_and_width({a})"), move || {
            result(trained::<LinUcb>(ArmFeatures::Disjoint).mean_and_width(a, &[1.0, 0.0]))
        });
    }
    s.sweep("LinUcb mean_and_width", (0usize..4, vec_f64(0..4)), |(a, x)| {
        result(trained::<LinUcb>(ArmFeatures::Disjoint).mean_and_width(a, &x))
    });
    s.sweep(
        "LinUcb select",
        (vec_f64(0..4), proptest::bool::ANY),
        |(x, explore)| result(trained::<LinUcb>(ArmFeatures::Disjoint).select(&x, explore)),
    );
    s.sweep(
        "LinearThompson decide_with_normals",
        (vec_f64(0..4), vec_f64(0..8), any::<u64>()),
        |(x, normals, seed)| {
            let p = trained::<LinearThompson>(ArmFeatures::Disjoint);
            let mut scores = [0.0; 3];
            judge(
                p.decide_with_normals(&x, None, &normals, seed, &mut scores),
                &scores,
                None,
            )
        },
    );

    // configurations: mutated, loaded, constructed, used
    s.checkpoint(
        "LinUcb config",
        &LinUcbConfig::default(),
        |json| match serde_json::from_str::<LinUcbConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match LinUcb::new(c) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(p) => use_bandit(p),
            },
        },
    );
    let shared_ts = LinearThompsonConfig {
        n_actions: 3,
        dim: 1,
        features: shared3(),
        propensity_draws: 10,
        ..Default::default()
    };
    s.checkpoint(
        "LinearThompson config",
        &shared_ts,
        |json| match serde_json::from_str::<LinearThompsonConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match LinearThompson::new(c) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(p) => use_bandit(p),
            },
        },
    );
    s.checkpoint(
        "EpsilonGreedy config",
        &EpsilonGreedyConfig::default(),
        |json| match serde_json::from_str::<EpsilonGreedyConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match EpsilonGreedy::new(c) {
                Err(e) => Check::Broken(format!("a loaded config does not construct: {e}")),
                Ok(p) => use_bandit(p),
            },
        },
    );
    s.finish();
}

fn boost_cfg() -> BoostConfig {
    BoostConfig {
        n_rounds: 10,
        ..Default::default()
    }
}

/// A fitted model predicts finite numbers on its training rows and reloads.
fn boost_ok(m: &BoostedTrees, x: ndarray::ArrayView2<'_, f64>) -> Result<(), String> {
    let p = m
        .predict(x)
        .map_err(|e| format!("cannot predict its own training rows: {e}"))?;
    if p.iter().any(|v| !v.is_finite()) {
        return Err("non-finite prediction".into());
    }
    let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
    let _ = serde_json::from_str::<BoostedTrees>(&json)
        .map_err(|e| format!("own output does not reload: {e}"))?;
    Ok(())
}

fn boost_model() -> BoostedTrees {
    let (x, y) = base(40, 3);
    boost_cfg().fit(&BoostData::new(x.view(), y.view())).expect("fit")
}

fn refit_state() -> BatchRefit {
    let mut r = BatchRefit::new(BatchRefitConfig {
        boost: boost_cfg(),
        n_features: 3,
        window: 30,
        every: 10,
        min_rows: 10,
    })
    .expect("config");
    let (x, y) = base(25, 3);
    for (row, &v) in x.rows().into_iter().zip(y.iter()) {
        let _ = r.push(&row.to_vec(), v).expect("push");
    }
    r
}

#[test]
fn learn_boost() {
    let mut s = Suite::new("learn boost");

    // Trees built by hand.
    for (i, nodes) in [
        vec![],
        vec![Node::Leaf(f64::NAN)],
        vec![Node::Split {
            feature: 0,
            threshold: 0.0,
            bin: 0,
            left: 0,
            right: 0,
        }],
        vec![
            Node::Split {
                feature: usize::MAX,
                threshold: 0.0,
                bin: 0,
                left: 1,
                right: 2,
            },
            Node::Leaf(1.0),
            Node::Leaf(2.0),
        ],
        vec![
            Node::Split {
                feature: 5,
                threshold: f64::INFINITY,
                bin: 0,
                left: 1,
                right: 2,
            },
            Node::Leaf(1.0),
            Node::Leaf(2.0),
        ],
        vec![
            Node::Split {
                feature: 5,
                threshold: 0.5,
                bin: 0,
                left: 1,
                right: u32::MAX,
            },
            Node::Leaf(1.0),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        s.check(format!("Tree::new #{i}"), move || match Tree::new(nodes) {
            Ok(t) => result(t.predict(&[0.0, 1.0])),
            Err(_) => Check::Rejected,
        });
    }

    // Binned data and the tree builder.
    for &b in &BAD {
        s.check(format!("Binned::new x = {b:e}"), move || {
            let (mut x, _) = base(10, 2);
            x[[3, 1]] = b;
            match Binned::new(x.view(), 255) {
                Ok(bn) => Check::invariant(bn.n_rows() == 10 && bn.n_features() == 2, "sizes"),
                Err(_) => Check::Rejected,
            }
        });
    }
    for (label, idx, g_len, features, depth) in [
        (
            "row id out of range",
            vec![0usize, 99],
            10usize,
            vec![0usize],
            3usize,
        ),
        ("row id usize::MAX", vec![usize::MAX], 10, vec![0], 3),
        ("feature out of range", vec![0, 1], 10, vec![5], 3),
        ("short targets", vec![0, 1], 3, vec![0], 3),
        ("depth 0", vec![0, 1], 10, vec![0], 0),
        ("depth usize::MAX", vec![0, 1], 10, vec![0], usize::MAX),
        ("empty rows", vec![], 10, vec![0], 3),
        ("no features", vec![0, 1, 2], 10, vec![], 3),
    ] {
        s.check(format!("TreeBuilder::fit {label}"), move || {
            let (x, y) = base(10, 2);
            let bn = Binned::new(x.view(), 16).expect("binned");
            let g: Vec<f64> = y.iter().copied().cycle().take(g_len).collect();
            let mut idx = idx;
            result_with(
                TreeBuilder::default().fit(&bn, &mut idx, &g, &features, depth, 1),
                |t| {
                    if t.predict_binned(&bn, 0).is_finite() {
                        Ok(())
                    } else {
                        Err("non-finite leaf".into())
                    }
                },
            )
        });
    }
    s.sweep("TreeBuilder::fit targets", vec_f64(10..11), |g| {
        let (x, _) = base(10, 2);
        let bn = Binned::new(x.view(), 16).expect("binned");
        let mut idx: Vec<usize> = (0..10).collect();
        result(TreeBuilder::default().fit(&bn, &mut idx, &g, &[0, 1], 3, 1))
    });

    // Boosted-tree fits: bad values in x and y, bad settings, sizes.
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for target in 0..2 {
            s.check(
                format!("boost fit bad[{bi}]={bad:e} in {}", ["x", "y"][target]),
                move || {
                    let (mut x, mut y) = base(30, 2);
                    if target == 0 {
                        x[[4, 1]] = bad;
                    } else {
                        y[4] = bad;
                    }
                    result_with(boost_cfg().fit(&BoostData::new(x.view(), y.view())), |m| {
                        boost_ok(m, x.view())
                    })
                },
            );
        }
    }
    for n in [0usize, 1, 1 << 40, usize::MAX] {
        s.check(format!("boost n_rounds = {n}"), move || {
            let (x, y) = base(20, 2);
            result(
                BoostConfig {
                    n_rounds: n,
                    ..Default::default()
                }
                .fit(&BoostData::new(x.view(), y.view())),
            )
        });
        s.check(format!("boost min_samples_leaf = {n}"), move || {
            let (x, y) = base(20, 2);
            result(
                BoostConfig {
                    min_samples_leaf: n,
                    n_rounds: 5,
                    ..Default::default()
                }
                .fit(&BoostData::new(x.view(), y.view())),
            )
        });
        s.check(format!("BatchRefitConfig window = {n}"), move || {
            result(BatchRefit::new(BatchRefitConfig {
                window: n,
                ..BatchRefitConfig::new(3)
            }))
        });
        s.check(format!("BatchRefitConfig::new({n})"), move || {
            result(BatchRefit::new(BatchRefitConfig::new(n)))
        });
    }
    s.check("boost fit empty", || {
        let x = Array2::<f64>::zeros((0, 2));
        let y = Array1::<f64>::zeros(0);
        result(boost_cfg().fit(&BoostData::new(x.view(), y.view())))
    });
    s.check("boost fit mismatched", || {
        let (x, y) = base(20, 2);
        result(boost_cfg().fit(&BoostData::new(x.view(), y.slice(ndarray::s![..5]))))
    });
    s.sweep(
        "BoostConfig",
        (any_f64(), any_f64(), any_f64(), 0usize..16, 0usize..300),
        |(learning_rate, subsample, col_sample, max_depth, max_bins)| {
            let (x, y) = base(30, 3);
            let c = BoostConfig {
                n_rounds: 5,
                learning_rate,
                subsample,
                col_sample,
                max_depth,
                max_bins,
                ..Default::default()
            };
            result_with(c.fit(&BoostData::new(x.view(), y.view())), |m| {
                boost_ok(m, x.view())
            })
        },
    );
    s.sweep("boost fit extreme data", matrix(5..40, 1..4), |x| {
        let y = Array1::from_shape_fn(x.nrows(), |i| x.row(i).iter().fold(0.0, |a, b| a + b * 0.5));
        result_with(boost_cfg().fit(&BoostData::new(x.view(), y.view())), |m| {
            boost_ok(m, x.view())
        })
    });
    s.sweep("boost predict_one", vec_f64(0..5), |row| {
        result(boost_model().predict_one(&row))
    });
    s.sweep("BatchRefit push", (vec_f64(0..5), any_f64()), |(row, y)| {
        let mut r = refit_state();
        let before = r.clone();
        match r.push(&row, y) {
            Err(_) => {
                Check::invariant(r == before, "a rejected row changed the refitter").and(|| Check::Rejected)
            }
            Ok(_) => {
                let json = serde_json::to_string(&r).unwrap_or_default();
                Check::invariant(
                    serde_json::from_str::<BatchRefit>(&json).is_ok(),
                    "own output does not reload",
                )
            }
        }
    });
    s.checkpoint(
        "BoostedTrees",
        &boost_model(),
        |json| match serde_json::from_str::<BoostedTrees>(&json) {
            Err(_) => Check::Rejected,
            Ok(m) => {
                let (x, _) = base(5, 3);
                result(m.predict(x.view()))
            }
        },
    );
    s.checkpoint("BatchRefit", &refit_state(), |json| {
        match serde_json::from_str::<BatchRefit>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut r) => {
                let (x, y) = base(12, 3);
                for (row, &v) in x.rows().into_iter().zip(y.iter()) {
                    if let Err(e) = r.push(&row.to_vec(), v) {
                        return Check::Broken(format!("a loaded refitter refused a good row: {e}"));
                    }
                }
                result(r.predict_one(&[0.1, 0.2, 0.3]))
            }
        }
    });
    s.finish();
}
