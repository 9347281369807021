//! Agreement with statsmodels and scikit-learn on the checked-in fixtures
//! (tools/fixtures/learn/make_fixtures.py; inputs from crates/datasets/data/factors_daily.csv).

use ndarray::{Array1, Array2, Axis};
use prudentia_core::{SeparationKind, Status};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vec_of(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Returns (dates of the returns, names, returns T-1 × 5), as the fixture script derives them.
fn returns() -> (Vec<String>, Vec<String>, Array2<f64>) {
    let path = format!(
        "{}/../datasets/data/factors_daily.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .skip(1)
        .map(String::from)
        .collect();
    let mut dates = Vec::new();
    let mut closes = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let mut f = line.split(',');
        dates.push(f.next().unwrap().to_string());
        closes.push(f.map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>());
    }
    let t = closes.len();
    let r = Array2::from_shape_fn((t - 1, names.len()), |(i, j)| {
        closes[i + 1][j] / closes[i][j] - 1.0
    });
    (dates[1..].to_vec(), names, r)
}

struct Linear {
    x: Array2<f64>,
    y: Array1<f64>,
    w: Array1<f64>,
    clusters: Vec<u64>,
}

fn linear_inputs() -> Linear {
    let (dates, names, r) = returns();
    let col = |n: &str| names.iter().position(|m| m == n).unwrap();
    let y = r.column(col("MTUM")).to_owned();
    let idx: Vec<usize> = ["QUAL", "SIZE", "USMV", "VLUE"].iter().map(|n| col(n)).collect();
    let x = r.select(Axis(1), &idx);
    let w = r.column(col("USMV")).mapv(|v| 1.0 / (0.5 + v.abs() * 100.0));
    let clusters = dates
        .iter()
        .map(|d| d[0..4].parse::<u64>().unwrap() * 100 + d[5..7].parse::<u64>().unwrap())
        .collect();
    Linear { x, y, w, clusters }
}

fn assert_close(what: &str, got: &[f64], want: &[f64], abs: f64, rel: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= abs + rel * w.abs(),
            "{what}[{i}]: got {g:e}, want {w:e} (|diff| {err:e})"
        );
        worst = worst.max(err / w.abs().max(f64::MIN_POSITIVE));
    }
    worst
}

#[test]
fn ols_matches_statsmodels_all_covariances() {
    let fx = fixture("linear.json");
    let d = linear_inputs();
    assert_eq!(d.y.len() as u64, fx["n"].as_u64().unwrap());
    let kinds = [
        ("nonrobust", CovarianceKind::Classical),
        ("HC0", CovarianceKind::Hc0),
        ("HC1", CovarianceKind::Hc1),
        ("HC2", CovarianceKind::Hc2),
        ("HC3", CovarianceKind::Hc3),
        ("cluster", CovarianceKind::Clustered),
    ];
    for (name, kind) in kinds {
        let data = LinearData::new(d.x.view(), d.y.view()).clustered(&d.clusters);
        let m = LinearRegressionConfig::ols(kind).fit(&data).unwrap();
        assert!(m.status().is_converged(), "{name}: {}", m.status());
        let want = &fx["ols"][name];
        let c = assert_close(name, m.coefficients(), &vec_of(&want["params"]), 1e-10, 0.0);
        let se = assert_close(name, m.std_errors(), &vec_of(&want["bse"]), 0.0, 1e-8);
        let table = m.coefficient_table();
        let t: Vec<f64> = table.iter().map(|c| c.statistic.unwrap()).collect();
        let p: Vec<f64> = table.iter().map(|c| c.p_value.unwrap()).collect();
        assert_close(name, &t, &vec_of(&want["tvalues"]), 0.0, 1e-8);
        assert_close(name, &p, &vec_of(&want["pvalues"]), 1e-12, 1e-6);
        eprintln!("ols {name}: coefficient max |diff| {c:.1e} (rel), std error max rel diff {se:.1e}");
        if kind == CovarianceKind::Clustered {
            assert_eq!(
                m.n_clusters().unwrap() as u64,
                fx["ols"]["n_clusters"].as_u64().unwrap()
            );
        }
    }
    let m = LinearRegressionConfig::default()
        .fit(&LinearData::new(d.x.view(), d.y.view()))
        .unwrap();
    let r2 = fx["ols"]["rsquared"].as_f64().unwrap();
    assert!((m.r_squared().unwrap() - r2).abs() < 1e-12);
    let scale = fx["ols"]["scale"].as_f64().unwrap();
    assert!((m.residual_std().powi(2) / scale - 1.0).abs() < 1e-10);
}

#[test]
fn wls_and_ridge_match_statsmodels_and_sklearn() {
    let fx = fixture("linear.json");
    let d = linear_inputs();
    for (name, kind) in [
        ("nonrobust", CovarianceKind::Classical),
        ("HC1", CovarianceKind::Hc1),
    ] {
        let data = LinearData::new(d.x.view(), d.y.view()).weighted(d.w.view());
        let m = LinearRegressionConfig::ols(kind).fit(&data).unwrap();
        let want = &fx["wls"][name];
        assert_close("wls", m.coefficients(), &vec_of(&want["params"]), 1e-10, 0.0);
        assert_close("wls se", m.std_errors(), &vec_of(&want["bse"]), 0.0, 1e-8);
    }
    let m = LinearRegressionConfig::default()
        .fit(&LinearData::new(d.x.view(), d.y.view()).weighted(d.w.view()))
        .unwrap();
    assert!((m.r_squared().unwrap() - fx["wls"]["rsquared"].as_f64().unwrap()).abs() < 1e-12);

    for (name, weighted) in [("ridge", false), ("ridge_weighted", true)] {
        let want = &fx[name];
        let config = LinearRegressionConfig {
            ridge: want["alpha"].as_f64().unwrap(),
            ..Default::default()
        };
        let mut data = LinearData::new(d.x.view(), d.y.view());
        if weighted {
            data = data.weighted(d.w.view());
        }
        let m = config.fit(&data).unwrap();
        let mut expect = vec![want["intercept"].as_f64().unwrap()];
        expect.extend(vec_of(&want["coef"]));
        let worst = assert_close(name, m.coefficients(), &expect, 1e-10, 1e-9);
        eprintln!("{name}: max rel diff {worst:.1e}");
    }
}

fn logistic_inputs() -> (Array2<f64>, Array1<f64>) {
    let (_, names, r) = returns();
    let col = |n: &str| names.iter().position(|m| m == n).unwrap();
    let y = r.column(col("MTUM")).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let idx: Vec<usize> = ["QUAL", "SIZE", "USMV", "VLUE"].iter().map(|n| col(n)).collect();
    let x = r.select(Axis(1), &idx).mapv(|v| 100.0 * v);
    (x, y)
}

#[test]
fn logistic_matches_statsmodels_and_sklearn() {
    let fx = fixture("logistic.json");
    let (x, y) = logistic_inputs();
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert!(m.status().is_converged(), "{}", m.status());
    let sm = &fx["statsmodels"];
    let c = assert_close(
        "logit vs statsmodels",
        m.coefficients(),
        &vec_of(&sm["params"]),
        1e-7,
        1e-7,
    );
    let c2 = assert_close(
        "logit vs sklearn",
        m.coefficients(),
        &vec_of(&fx["sklearn_none"]),
        1e-7,
        1e-7,
    );
    assert_close(
        "logit se",
        &m.std_errors().unwrap(),
        &vec_of(&sm["bse"]),
        0.0,
        1e-7,
    );
    let z: Vec<f64> = m
        .coefficient_table()
        .iter()
        .map(|c| c.statistic.unwrap())
        .collect();
    assert_close("logit z", &z, &vec_of(&sm["zvalues"]), 0.0, 1e-7);
    let p: Vec<f64> = m.coefficient_table().iter().map(|c| c.p_value.unwrap()).collect();
    assert_close("logit p", &p, &vec_of(&sm["pvalues"]), 1e-12, 1e-6);
    assert!((m.log_likelihood() - sm["llf"].as_f64().unwrap()).abs() < 1e-8);
    eprintln!("logit: vs statsmodels {c:.1e}, vs sklearn {c2:.1e} (max rel diff)");

    let l2 = &fx["sklearn_l2"];
    let config = LogisticRegressionConfig {
        l2: 1.0 / l2["C"].as_f64().unwrap(),
        ..Default::default()
    };
    let m = config.fit(&BinaryData::new(x.view(), y.view())).unwrap();
    assert!(m.status().is_converged());
    let c3 = assert_close(
        "logit l2 vs sklearn",
        m.coefficients(),
        &vec_of(&l2["coef"]),
        1e-7,
        1e-7,
    );
    eprintln!("logit l2: vs sklearn {c3:.1e}");
}

fn separation_case(name: &str) -> (Array2<f64>, Array1<f64>, String) {
    let fx = fixture("separation.json");
    let c = &fx[name];
    let rows: Vec<Vec<f64>> = c["x"].as_array().unwrap().iter().map(vec_of).collect();
    let x = Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j]);
    (
        x,
        Array1::from(vec_of(&c["y"])),
        c["statsmodels"].as_str().unwrap().to_string(),
    )
}

#[test]
fn separation_is_reported_not_converged() {
    let (x, y, sm) = separation_case("complete");
    assert!(sm.contains("PerfectSeparation"), "statsmodels said {sm}");
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(
        m.status(),
        &Status::Separation {
            kind: SeparationKind::Complete,
            observations: y.len()
        }
    );
    assert!(m.std_errors().is_none());

    let (x, y, _) = separation_case("quasi");
    let m = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(
        m.status(),
        &Status::Separation {
            kind: SeparationKind::Quasi,
            observations: y.len() - 4
        }
    );
    // a penalty makes the estimate exist
    let m = LogisticRegressionConfig {
        l2: 1.0,
        ..Default::default()
    }
    .fit(&BinaryData::new(x.view(), y.view()))
    .unwrap();
    assert!(m.status().is_converged());
}

#[test]
fn lean_logit_matches_statsmodels_and_sklearn() {
    use prudentia_learn::logistic::{ColumnDesign, LeanLogitConfig, LogitWorkspace};
    let fx = fixture("logistic.json");
    let (x, y) = logistic_inputs();
    let m = LeanLogitConfig::default()
        .fit_xy(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert!(m.status().is_converged(), "{}", m.status());
    let c = assert_close(
        "lean logit vs statsmodels",
        m.coefficients(),
        &vec_of(&fx["statsmodels"]["params"]),
        1e-7,
        1e-7,
    );
    let c2 = assert_close(
        "lean logit vs sklearn",
        m.coefficients(),
        &vec_of(&fx["sklearn_none"]),
        1e-7,
        1e-7,
    );
    eprintln!("lean logit: vs statsmodels {c:.1e}, vs sklearn {c2:.1e} (max rel diff)");

    // the workspace form on a column-major [1, x], cold and warm, with the quadratic stop,
    // with constant weights (the same maximum), and without a held-out block
    let (n, p) = x.dim();
    let mut z = vec![1.0; n * (p + 1)];
    for j in 0..p {
        for i in 0..n {
            z[(j + 1) * n + i] = x[[i, j]];
        }
    }
    let design = ColumnDesign::new(&z, n, p + 1, true).unwrap();
    let mut ws = LogitWorkspace::default();
    let fast = LeanLogitConfig {
        quadratic_stop: 1e-11,
        ..Default::default()
    };
    let w = vec![2.5; n];
    for (config, weights, start) in [
        (LeanLogitConfig::default(), None, 0.0),
        (fast, None, 0.0),
        (fast, Some(&w[..]), 0.0),
        (LeanLogitConfig::default(), None, 0.3),
    ] {
        let mut beta = vec![start; p + 1];
        let r = config
            .fit_into(&design, y.as_slice().unwrap(), weights, &mut beta, &mut ws)
            .unwrap();
        assert!(r.status.is_converged(), "{}", r.status);
        assert_eq!(r.halvings, 0);
        assert!(r.log_likelihood < 0.0);
        assert_close(
            "fit_into vs statsmodels",
            &beta,
            &vec_of(&fx["statsmodels"]["params"]),
            1e-7,
            1e-7,
        );
        // a warm start from the answer converges at once
        let again = config
            .fit_into(&design, y.as_slice().unwrap(), weights, &mut beta, &mut ws)
            .unwrap();
        assert!(again.iterations <= 1, "{again:?}");
    }
    // a held-out block: the same as fitting the other rows
    let (lo, hi) = (n / 3, n / 2);
    let mut beta = vec![0.0; p + 1];
    config_fit_holding_out(&design, &y, lo, hi, &mut beta, &mut ws);
    let keep: Vec<usize> = (0..lo).chain(hi..n).collect();
    let xs = x.select(Axis(0), &keep);
    let ys = y.select(Axis(0), &keep);
    let sub = LeanLogitConfig::default()
        .fit_xy(&BinaryData::new(xs.view(), ys.view()))
        .unwrap();
    assert_close("held-out block", &beta, sub.coefficients(), 1e-9, 1e-9);
    // the general logistic regression agrees with the lean one
    let general = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(xs.view(), ys.view()))
        .unwrap();
    assert_close(
        "lean vs general",
        sub.coefficients(),
        general.coefficients(),
        1e-8,
        1e-8,
    );
}

fn config_fit_holding_out(
    design: &prudentia_learn::logistic::ColumnDesign<'_>,
    y: &Array1<f64>,
    lo: usize,
    hi: usize,
    beta: &mut [f64],
    ws: &mut prudentia_learn::logistic::LogitWorkspace,
) {
    let train = design.holding_out(lo, hi).unwrap();
    assert_eq!(train.rows(), design.rows() - (hi - lo));
    let r = prudentia_learn::logistic::LeanLogitConfig::default()
        .fit_into(&train, y.as_slice().unwrap(), None, beta, ws)
        .unwrap();
    assert!(r.status.is_converged(), "{}", r.status);
}

#[test]
fn lean_logit_reports_separation_not_convergence() {
    use prudentia_learn::logistic::LeanLogitConfig;
    let (x, y, _) = separation_case("complete");
    let m = LeanLogitConfig::default()
        .fit_xy(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(
        m.status(),
        &Status::Separation {
            kind: SeparationKind::Complete,
            observations: y.len()
        }
    );
    let (x, y, _) = separation_case("quasi");
    let m = LeanLogitConfig::default()
        .fit_xy(&BinaryData::new(x.view(), y.view()))
        .unwrap();
    assert!(!m.status().is_converged(), "{}", m.status());
}
