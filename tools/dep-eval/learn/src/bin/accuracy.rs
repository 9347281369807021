//! Accuracy of linfa-linear, linfa-logistic and perpetual against the statsmodels and
//! scikit-learn fixtures of crates/learn/tests (and against prudentia-learn on the same
//! inputs), plus what each library does with inputs that our robustness rules cover.
//!
//! `RUSTC_BOOTSTRAP=perpetual cargo run --release --bin accuracy` (see README.md).

use dep_eval_learn::*;
use linfa::prelude::*;
use linfa::Dataset;
use linfa_linear::LinearRegression;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use perpetual::objective::Objective;
use perpetual::{Matrix, PerpetualBooster};
use prudentia_learn::boost::{BoostConfig, BoostData};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

fn linfa_ols(x: &Array2<f64>, y: &Array1<f64>) -> Result<Vec<f64>, String> {
    let ds = Dataset::new(x.clone(), y.clone());
    let m = LinearRegression::new().fit(&ds).map_err(|e| e.to_string())?;
    let mut c = vec![m.intercept()];
    c.extend(m.params().iter());
    Ok(c)
}

fn labels(y: &Array1<f64>) -> Array1<usize> {
    y.mapv(|v| usize::from(v > 0.5))
}

/// linfa-logistic with penalty `alpha` (its loss is Σ log-loss + α/2 ‖w‖², intercept not
/// penalized: scikit-learn's with C = 1/α); `tight` = gradient tolerance 1e-10 and 1000
/// iterations instead of the defaults (1e-4, 100).
fn linfa_logit(x: &Array2<f64>, y: &Array1<f64>, alpha: f64, tight: bool) -> Result<Vec<f64>, String> {
    let ds = Dataset::new(x.clone(), labels(y));
    let mut cfg = LogisticRegression::default().alpha(alpha);
    if tight {
        cfg = cfg.gradient_tolerance(1e-10).max_iterations(1000);
    }
    let m = cfg.fit(&ds).map_err(|e| e.to_string())?;
    let mut c = vec![m.intercept()];
    c.extend(m.params().iter());
    Ok(c)
}

fn show(v: &[f64]) -> String {
    let s: Vec<String> = v.iter().map(|x| format!("{x:.6e}")).collect();
    format!("[{}]", s.join(", "))
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Runs `f` on its own thread: Err(message) on a panic, and "no answer within LIMIT" when
/// it has not returned by then (the thread is left running; `main` exits at the end).
fn caught<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    const LIMIT: Duration = Duration::from_secs(20);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into())
                .replace('\n', " ")
        });
        let _ = tx.send(r);
    });
    match rx.recv_timeout(LIMIT) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(p)) => Err(format!("panic: {p}")),
        Err(_) => Err(format!("no answer within {} s (still running)", LIMIT.as_secs())),
    }
}

fn linear() {
    println!("## OLS (linear.json: statsmodels OLS, n = 2263, 4 regressors + intercept)");
    let fx = fixture("linear.json");
    let (x, y, w) = linear_inputs();
    let sm = vec_of(&fx["ols"]["nonrobust"]["params"]);
    let lf = linfa_ols(&x, &y).expect("linfa-linear fit");
    let ours = LinearRegressionConfig::ols(CovarianceKind::Hc1)
        .fit(&LinearData::new(x.view(), y.view()))
        .expect("ours");
    println!("statsmodels        {}", show(&sm));
    println!("linfa-linear       {}", show(&lf));
    println!("prudentia-learn    {}", show(ours.coefficients()));
    println!(
        "max |diff| vs statsmodels: linfa-linear {:.2e}, prudentia-learn {:.2e}",
        max_abs_diff(&lf, &sm),
        max_abs_diff(ours.coefficients(), &sm)
    );
    println!(
        "prudentia-learn HC1 std errors max |diff| vs statsmodels {:.2e} (linfa-linear: none)",
        max_abs_diff(ours.std_errors(), &vec_of(&fx["ols"]["HC1"]["bse"]))
    );
    // linfa-linear reads no sample weights: a weighted dataset fits the unweighted OLS.
    let wds = Dataset::new(x.clone(), y.clone()).with_weights(w.mapv(|v| v as f32));
    let m = LinearRegression::new().fit(&wds).expect("fit");
    let mut lw = vec![m.intercept()];
    lw.extend(m.params().iter());
    let wls = vec_of(&fx["wls"]["nonrobust"]["params"]);
    println!(
        "weighted dataset: linfa-linear vs statsmodels WLS max |diff| {:.2e}, vs OLS {:.2e} (weights ignored)",
        max_abs_diff(&lw, &wls),
        max_abs_diff(&lw, &sm)
    );
    println!("ridge: linfa-linear has none (linfa-elasticnet with l1_ratio = 0 is the linfa ridge)");
    println!();
}

fn logistic() {
    println!("## Logistic (logistic.json: statsmodels Logit / scikit-learn penalty=None, n = 2263)");
    let fx = fixture("logistic.json");
    let (x, y) = logistic_inputs();
    let sm = vec_of(&fx["statsmodels"]["params"]);
    let sk = vec_of(&fx["sklearn_none"]);
    let ours = LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .expect("ours");
    println!("statsmodels               {}", show(&sm));
    println!(
        "prudentia-learn           {} ({})",
        show(ours.coefficients()),
        ours.status()
    );
    for (what, tight) in [
        ("defaults (gtol 1e-4, 100 it)", false),
        ("gtol 1e-10, 1000 it", true),
    ] {
        match linfa_logit(&x, &y, 0.0, tight) {
            Ok(c) => println!(
                "linfa-logistic α=0 {what}: {} max |diff| vs statsmodels {:.2e}, vs sklearn {:.2e}",
                show(&c),
                max_abs_diff(&c, &sm),
                max_abs_diff(&c, &sk)
            ),
            Err(e) => println!("linfa-logistic α=0 {what}: error {e}"),
        }
    }
    println!(
        "prudentia-learn max |diff| vs statsmodels {:.2e}, vs sklearn {:.2e}",
        max_abs_diff(ours.coefficients(), &sm),
        max_abs_diff(ours.coefficients(), &sk)
    );
    let c = fx["sklearn_l2"]["C"].as_f64().expect("C");
    let skl2 = vec_of(&fx["sklearn_l2"]["coef"]);
    let ours_l2 = LogisticRegressionConfig {
        l2: 1.0 / c,
        ..Default::default()
    }
    .fit(&BinaryData::new(x.view(), y.view()))
    .expect("ours l2");
    for (what, tight) in [("defaults", false), ("gtol 1e-10", true)] {
        match linfa_logit(&x, &y, 1.0 / c, tight) {
            Ok(l) => println!(
                "L2 (sklearn C = {c}, linfa α = {}) {what}: linfa-logistic max |diff| {:.2e}",
                1.0 / c,
                max_abs_diff(&l, &skl2)
            ),
            Err(e) => println!("L2 {what}: linfa-logistic error {e}"),
        }
    }
    println!(
        "L2: prudentia-learn max |diff| vs sklearn {:.2e}",
        max_abs_diff(ours_l2.coefficients(), &skl2)
    );

    println!("separation (separation.json, statsmodels: PerfectSeparationWarning):");
    let sep = fixture("separation.json");
    for case in ["complete", "quasi"] {
        let xs = matrix_of(&sep[case]["x"]);
        let ys = Array1::from(vec_of(&sep[case]["y"]));
        let ours = LogisticRegressionConfig::default()
            .fit(&BinaryData::new(xs.view(), ys.view()))
            .expect("ours");
        println!("  {case}: prudentia-learn status: {}", ours.status());
        for tight in [false, true] {
            match linfa_logit(&xs, &ys, 0.0, tight) {
                Ok(c) => println!(
                    "  {case}: linfa-logistic α=0 ({}): Ok, no status, coefficients {} (‖β‖ = {:.3e})",
                    if tight { "gtol 1e-10, 1000 it" } else { "defaults" },
                    show(&c),
                    norm(&c)
                ),
                Err(e) => println!("  {case}: linfa-logistic error: {e}"),
            }
        }
    }
    println!();
}

fn boosting() {
    println!("## Boosting (boost.json: Friedman #1, 2000 train / 1000 test, scikit-learn HGBR)");
    let f = fixture("boost.json");
    let (xtr, ytr) = (matrix_of(&f["x_train"]), vec_of(&f["y_train"]));
    let (xte, yte) = (matrix_of(&f["x_test"]), vec_of(&f["y_test"]));
    let sk = f["sklearn_rmse_test"].as_f64().expect("rmse");
    let ytr_a = Array1::from(ytr.clone());
    let cfg = BoostConfig {
        n_rounds: 200,
        learning_rate: 0.1,
        max_depth: 3,
        min_samples_leaf: 5,
        ..Default::default()
    };
    let ours = cfg.fit(&BoostData::new(xtr.view(), ytr_a.view())).expect("ours");
    let p = ours.predict(xte.view()).expect("predict");
    println!("scikit-learn HGBR (200 rounds, lr 0.1, depth 3, min leaf 5): test RMSE {sk:.4}");
    println!(
        "prudentia-learn (same settings): test RMSE {:.4}, {} trees",
        rmse(p.as_slice().expect("contiguous"), &yte),
        ours.trees().len()
    );
    let xtr_c = column_major(&xtr);
    let xte_c = column_major(&xte);
    let mtr = Matrix::new(&xtr_c, xtr.nrows(), xtr.ncols());
    let mte = Matrix::new(&xte_c, xte.nrows(), xte.ncols());
    for budget in [0.5f32, 1.0, 1.5, 2.0] {
        let mut b = PerpetualBooster::default()
            .set_objective(Objective::SquaredLoss)
            .set_budget(budget)
            .set_num_threads(Some(1))
            .set_seed(0);
        b.fit(&mtr, &ytr, None, None).expect("perpetual fit");
        let p = b.predict(&mte, false);
        println!(
            "perpetual budget {budget} (eta = 10^-budget = {:.3}): test RMSE {:.4}, {} trees (stopped by itself)",
            10f32.powf(-budget),
            rmse(&p, &yte),
            b.get_prediction_trees().len()
        );
    }
    println!();
}

fn report(what: &str, r: Result<Result<Vec<f64>, String>, String>) {
    match r {
        Ok(Ok(c)) => println!("  {what}: Ok, all finite: {}", c.iter().all(|v| v.is_finite())),
        Ok(Err(e)) => println!("  {what}: Err({e})"),
        Err(p) => println!("  {what}: {p}"),
    }
}

fn ours_ols(x: Array2<f64>, y: Array1<f64>) -> Result<Vec<f64>, String> {
    LinearRegressionConfig::default()
        .fit(&LinearData::new(x.view(), y.view()))
        .map(|m| {
            println!("    (prudentia-learn status: {})", m.status());
            m.coefficients().to_vec()
        })
        .map_err(|e| e.to_string())
}

fn ours_logit(x: Array2<f64>, y: Array1<f64>) -> Result<Vec<f64>, String> {
    LogisticRegressionConfig::default()
        .fit(&BinaryData::new(x.view(), y.view()))
        .map(|m| {
            println!("    (prudentia-learn status: {})", m.status());
            m.coefficients().to_vec()
        })
        .map_err(|e| e.to_string())
}

/// perpetual (budget 0.5, one thread) fitted on the first `rows` rows of `x`; predictions.
fn perp(x: Array2<f64>, y: Vec<f64>) -> Result<Vec<f64>, String> {
    let xc = column_major(&x);
    let m = Matrix::new(&xc, x.nrows(), x.ncols());
    let mut b = PerpetualBooster::default()
        .set_objective(Objective::SquaredLoss)
        .set_budget(0.5)
        .set_num_threads(Some(1));
    b.fit(&m, &y, None, None).map_err(|e| e.to_string())?;
    Ok(b.predict(&m, false))
}

fn ours_boost(x: Array2<f64>, y: Vec<f64>) -> Result<Vec<f64>, String> {
    let ya = Array1::from(y);
    BoostConfig::default()
        .fit(&BoostData::new(x.view(), ya.view()))
        .and_then(|m| {
            println!("    (prudentia-learn status: {})", m.status());
            m.predict(x.view())
        })
        .map(|p| p.to_vec())
        .map_err(|e| e.to_string())
}

fn robustness() {
    println!("## Inputs our robustness rules cover (each call on its own thread, 20 s limit)");
    // the panics are reported below, one line each
    std::panic::set_hook(Box::new(|_| {}));
    let (x, y, _) = linear_inputs();
    let short = y.slice(ndarray::s![..100]).to_owned();
    let mut xnan = x.clone();
    xnan[[3, 1]] = f64::NAN;
    let mut xdup = x.clone();
    let c0 = x.column(0).to_owned();
    xdup.column_mut(1).assign(&c0);
    let yhuge = y.mapv(|v| v * 1e300);
    for (what, xx, yy) in [
        ("x 2263 rows, y 100", &x, &short),
        ("NaN in x", &xnan, &y),
        ("two identical columns", &xdup, &y),
        ("y × 1e300", &x, &yhuge),
    ] {
        let (a, b) = (xx.clone(), yy.clone());
        report(
            &format!("linfa-linear, {what}"),
            caught(move || linfa_ols(&a, &b)),
        );
        let (a, b) = (xx.clone(), yy.clone());
        report(
            &format!("prudentia-learn OLS, {what}"),
            caught(move || ours_ols(a, b)),
        );
    }
    let (xl, yl) = logistic_inputs();
    let mut xl_nan = xl.clone();
    xl_nan[[0, 0]] = f64::NAN;
    let yl_one = Array1::<f64>::ones(yl.len());
    let xl_huge = xl.mapv(|v| v * 1e300);
    for (what, xx, yy) in [
        ("NaN in x", &xl_nan, &yl),
        ("one class only", &xl, &yl_one),
        ("x × 1e300", &xl_huge, &yl),
    ] {
        let (a, b) = (xx.clone(), yy.clone());
        report(
            &format!("linfa-logistic, {what}"),
            caught(move || linfa_logit(&a, &b, 0.0, false)),
        );
        let (a, b) = (xx.clone(), yy.clone());
        report(
            &format!("prudentia-learn logistic, {what}"),
            caught(move || ours_logit(a, b)),
        );
    }
    let f = fixture("boost.json");
    let (xtr, ytr) = (matrix_of(&f["x_train"]), vec_of(&f["y_train"]));
    let mut ynan = ytr.clone();
    ynan[5] = f64::NAN;
    let yhuge: Vec<f64> = ytr.iter().map(|v| v * 1e300).collect();
    for (what, yy) in [
        ("y shorter than x", ytr[..100].to_vec()),
        ("NaN in y", ynan),
        ("y × 1e300 (predictions)", yhuge),
    ] {
        let (a, b) = (xtr.clone(), yy.clone());
        report(&format!("perpetual, {what}"), caught(move || perp(a, b)));
        let (a, b) = (xtr.clone(), yy);
        report(
            &format!("prudentia-learn boost, {what}"),
            caught(move || ours_boost(a, b)),
        );
    }
    // Do the 1e300-scaled fits still fit? Train RMSE in the original units, against the
    // same learner's fit on y itself.
    let scaled = |name: &str, fit: fn(Array2<f64>, Vec<f64>) -> Result<Vec<f64>, String>| {
        let plain = fit(xtr.clone(), ytr.clone()).expect("plain fit");
        let huge = fit(xtr.clone(), ytr.iter().map(|v| v * 1e300).collect()).expect("scaled fit");
        let back: Vec<f64> = huge.iter().map(|v| v / 1e300).collect();
        println!(
            "  {name}: train RMSE on y {:.4}; fitted on y × 1e300, scaled back: {:.4}",
            rmse(&plain, &ytr),
            rmse(&back, &ytr)
        );
    };
    scaled("perpetual", perp);
    scaled("prudentia-learn boost", ours_boost);
}

fn main() {
    linear();
    logistic();
    boosting();
    robustness();
    // a call that did not answer may still be running: end the process here
    std::process::exit(0);
}
