//! Release timing loop: median and min of process CPU time and of wall time over `RUNS` fits (default 30, after 2 warm-up fits)
//! of each learner at the sizes of crates/learn/benches. Single-threaded everywhere
//! (perpetual with `num_threads = Some(1)`; prudentia-learn does not spawn threads; linfa
//! is built without BLAS), so that a machine shared with other jobs disturbs it least.
//!
//! `RUSTC_BOOTSTRAP=perpetual cargo run --release --bin speed [RUNS] [only]` (see README.md);
//! `only` is one of ols, logistic (= logistic-small and logistic-large), boost.

use dep_eval_learn::*;
use linfa::prelude::*;
use linfa::DatasetBase;
use linfa_linear::LinearRegression;
use linfa_logistic::LogisticRegression;
use perpetual::objective::Objective;
use perpetual::{Matrix, PerpetualBooster};
use prudentia_learn::boost::{BoostConfig, BoostData};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig};

fn line(what: &str, t: Timing) {
    println!(
        "| {what} | {:.1} | {:.1} | {:.1} | {:.1} |",
        t.cpu_median, t.cpu_min, t.wall_median, t.wall_min
    );
}

fn ols(runs: usize) {
    let (x, y) = ols_data(2, 100_000, 20);
    let ds = DatasetBase::new(x.view(), y.view());
    line(
        "OLS 100k×20: linfa-linear (coefficients)",
        time_ms(2, runs, || LinearRegression::new().fit(&ds).expect("linfa")),
    );
    for (what, kind) in [
        (
            "OLS 100k×20: prudentia-learn classical SEs",
            CovarianceKind::Classical,
        ),
        ("OLS 100k×20: prudentia-learn HC1 SEs", CovarianceKind::Hc1),
    ] {
        let cfg = LinearRegressionConfig::ols(kind);
        line(
            what,
            time_ms(2, runs, || {
                cfg.fit(&LinearData::new(x.view(), y.view())).expect("ours")
            }),
        );
    }
}

fn logistic(runs: usize, sizes: &[(usize, usize)]) {
    for &(n, p) in sizes {
        let (x, y) = if n == 2263 {
            logistic_inputs()
        } else {
            logistic_data(3, n, p)
        };
        let labels = y.mapv(|v| usize::from(v > 0.5));
        let ds = DatasetBase::new(x.view(), labels.view());
        let ours = LogisticRegressionConfig::default()
            .fit(&BinaryData::new(x.view(), y.view()))
            .expect("ours");
        let linfa = LogisticRegression::default()
            .alpha(0.0)
            .gradient_tolerance(1e-10)
            .max_iterations(1000)
            .fit(&ds)
            .expect("linfa");
        let mut lc = vec![linfa.intercept()];
        lc.extend(linfa.params().iter());
        println!(
            "<!-- logistic {n}×{p}: ours {}, linfa (gtol 1e-10) vs ours max |diff| {:.1e} -->",
            ours.status(),
            max_abs_diff(&lc, ours.coefficients())
        );
        for (what, gtol, iters) in [("defaults gtol 1e-4", 1e-4, 100u64), ("gtol 1e-10", 1e-10, 1000)] {
            let cfg = LogisticRegression::default()
                .alpha(0.0)
                .gradient_tolerance(gtol)
                .max_iterations(iters);
            line(
                &format!("logistic {n}×{p}: linfa-logistic α=0, {what}"),
                time_ms(2, runs, || cfg.fit(&ds).expect("linfa")),
            );
        }
        let cfg = LogisticRegressionConfig::default();
        line(
            &format!("logistic {n}×{p}: prudentia-learn IRLS (with SEs)"),
            time_ms(2, runs, || {
                cfg.fit(&BinaryData::new(x.view(), y.view())).expect("ours")
            }),
        );
    }
}

fn boost(runs: usize, ours: bool) {
    let (x, y) = hetero_data(12, 10_000, 10);
    let cfg = BoostConfig {
        n_rounds: 500,
        learning_rate: 0.01,
        max_depth: 3,
        min_samples_leaf: 1,
        ..Default::default()
    };
    if ours {
        line(
            "boost 10k×10, 500 rounds depth 3 lr 0.01: prudentia-learn",
            time_ms(2, runs, || {
                cfg.fit(&BoostData::new(x.view(), y.view())).expect("ours")
            }),
        );
    }
    let yv = y.to_vec();
    let xc = column_major(&x);
    let m = Matrix::new(&xc, x.nrows(), x.ncols());
    for (budget, limit) in [(2.0f32, Some(500usize)), (1.0, None)] {
        let fit = || {
            let mut b = PerpetualBooster::default()
                .set_objective(Objective::SquaredLoss)
                .set_budget(budget)
                .set_num_threads(Some(1))
                .set_iteration_limit(limit)
                .set_seed(0);
            b.fit(&m, &yv, None, None).expect("perpetual");
            b
        };
        let trees = fit().get_prediction_trees().len();
        let limit_s = limit.map_or("none".to_string(), |l| l.to_string());
        line(
            &format!("boost 10k×10: perpetual budget {budget} (eta {:.2}), iteration_limit {limit_s} → {trees} trees", 10f32.powf(-budget)),
            // the fit that counted the trees was the warm-up (perpetual takes seconds per fit)
            time_ms(0, runs, fit),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let only = args.get(2).cloned().unwrap_or_default();
    println!("runs per line: {runs} (after 2 warm-up fits)");
    println!("| fit | CPU median ms | CPU min ms | wall median ms | wall min ms |");
    println!("|---|---:|---:|---:|---:|");
    if only.is_empty() || only == "ols" {
        ols(runs);
    }
    if only.is_empty() || only == "logistic" || only == "logistic-small" {
        logistic(runs, &[(2263, 4)]);
    }
    // linfa-logistic takes seconds per fit here: `speed 5 logistic-large` is enough to rank
    if only.is_empty() || only == "logistic" || only == "logistic-large" {
        logistic(runs, &[(100_000, 20)]);
    }
    if only.is_empty() || only == "boost" || only == "boost-ours" {
        boost(runs, true);
    }
    // perpetual's fits here take seconds of CPU each: `speed 3 boost-perpetual`
    if only == "boost-perpetual" {
        boost(runs, false);
    }
}
