//! The DR-learner's fast path (default nuisance models, sufficient statistics, warm-started
//! Newton) against the reference path (the same models fitted fold by fold through the
//! `Fit`/`Predict` traits): the same estimates to about 1e-10.

use ndarray::{Array1, Array2};
use prudentia_causal::logit::{Logit, LogitConfig};
use prudentia_causal::{
    CausalData, CausalError, CausalResult, DrConfig, DrFit, DrLearner, FinalCovariance, Folds, OutcomeModel,
};
use prudentia_core::traits::Fit;
use prudentia_learn::linear::{LinearData, LinearRegression, LinearRegressionConfig};
use prudentia_learn::logistic::BinaryData;
use prudentia_learn::LearnResult;

/// The crate's logistic regression behind a type the fast path does not recognise.
struct RefLogit(LogitConfig);

impl<'a> Fit<BinaryData<'a>> for RefLogit {
    type Model = Logit;
    type Error = CausalError;
    fn fit(&self, data: &BinaryData<'a>) -> CausalResult<Logit> {
        self.0.fit(data)
    }
}

/// prudentia-learn's OLS behind a type the fast path does not recognise.
struct RefOls(LinearRegressionConfig);

impl<'a> Fit<LinearData<'a>> for RefOls {
    type Model = LinearRegression;
    type Error = prudentia_learn::LearnError;
    fn fit(&self, data: &LinearData<'a>) -> LearnResult<LinearRegression> {
        self.0.fit(data)
    }
}

fn rel_close(what: &str, a: f64, b: f64, tol: f64) {
    let scale = a.abs().max(b.abs()).max(1e-300);
    assert!(
        (a - b).abs() <= tol * scale.max(1.0),
        "{what}: fast {a} vs reference {b} (tolerance {tol})"
    );
}

fn compare(x: &Array2<f64>, t: &Array1<f64>, y: &Array1<f64>, config: DrConfig, tol: f64) {
    let data = CausalData::new(x.view(), t.view(), y.view());
    let fast: DrFit = DrLearner::new(config.clone()).fit_detailed(&data).unwrap();
    let reference: DrFit = DrLearner::with_models(
        config,
        RefLogit(LogitConfig::default()),
        RefOls(LinearRegressionConfig::default()),
    )
    .fit_detailed(&data)
    .unwrap();
    let (a, b) = (&fast.cross_fit, &reference.cross_fit);
    assert_eq!(a.folds, b.folds);
    let ys = y.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for i in 0..x.nrows() {
        rel_close("raw propensity", a.raw_propensity[i], b.raw_propensity[i], tol);
        rel_close("mu0", a.mu0[i] / ys, b.mu0[i] / ys, tol);
        rel_close("mu1", a.mu1[i] / ys, b.mu1[i] / ys, tol);
    }
    let (m, r) = (&fast.model, &reference.model);
    assert_eq!(m.status(), r.status());
    assert_eq!(m.clipped(), r.clipped());
    let psi = a.pseudo_outcome.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (j, (p, q)) in m.coefficients().iter().zip(r.coefficients()).enumerate() {
        let xs = if j == 0 {
            1.0
        } else {
            x.column(j - 1).iter().fold(1.0f64, |m, v| m.max(v.abs()))
        };
        rel_close(
            &format!("coefficient {j}"),
            p.estimate * xs / psi,
            q.estimate * xs / psi,
            tol,
        );
        rel_close(&format!("std error {j}"), p.std_error, q.std_error, 1e3 * tol);
    }
    let (cm, cr) = (m.correlation(), r.correlation());
    for (u, v) in cm.iter().zip(cr.iter()) {
        rel_close("correlation", *u, *v, 1e3 * tol);
    }
    rel_close("ate", m.ate().estimate / psi, r.ate().estimate / psi, tol);
    rel_close("ate se", m.ate().std_error, r.ate().std_error, 1e3 * tol);
    rel_close(
        "ate|x",
        m.ate_given_x().estimate / psi,
        r.ate_given_x().estimate / psi,
        tol,
    );
    rel_close(
        "ate|x se",
        m.ate_given_x().std_error,
        r.ate_given_x().std_error,
        1e3 * tol,
    );
}

fn config(folds: Folds, outcome_model: OutcomeModel, covariance: FinalCovariance) -> DrConfig {
    DrConfig {
        folds,
        outcome_model,
        covariance,
        ..DrConfig::default()
    }
}

#[test]
fn fast_path_matches_the_reference_path() {
    for (n, p, seed) in [(3_000, 5, 1), (800, 2, 4), (5_000, 3, 9)] {
        let s = prudentia_datasets::causal_dataset(n, p, seed).unwrap();
        let t = s.treatment_indicator();
        for om in [OutcomeModel::Pooled, OutcomeModel::PerArm] {
            for cov in [FinalCovariance::Hc1, FinalCovariance::Hc0] {
                for k in [2, 5] {
                    compare(
                        &s.x,
                        &t,
                        &s.outcome,
                        config(Folds::Seeded { k, seed }, om, cov),
                        1e-10,
                    );
                }
            }
        }
    }
}

#[test]
fn fast_path_matches_on_shifted_and_scaled_data() {
    // covariates far from 0 with a small spread (prices), and outcomes in the millions:
    // the fast path centres them; the reference path refines its solve
    let s = prudentia_datasets::causal_dataset(2_000, 3, 5).unwrap();
    let t = s.treatment_indicator();
    let x = s.x.mapv(|v| 100.0 + 0.5 * v);
    let y = s.outcome.mapv(|v| 2e6 + 3e3 * v);
    for om in [OutcomeModel::Pooled, OutcomeModel::PerArm] {
        compare(
            &x,
            &t,
            &y,
            config(Folds::Seeded { k: 3, seed: 2 }, om, FinalCovariance::Hc1),
            1e-9,
        );
    }
    let x = s.x.mapv(|v| 1e-150 * v);
    let y = s.outcome.mapv(|v| 1e120 * v);
    compare(
        &x,
        &t,
        &y,
        config(
            Folds::Seeded { k: 2, seed: 2 },
            OutcomeModel::Pooled,
            FinalCovariance::Hc1,
        ),
        1e-9,
    );
}

#[test]
fn fast_path_matches_on_the_fixture_folds() {
    let (h, c) = crate::common::read_csv("causal_input.csv");
    let x = crate::common::matrix(&h, &c, &["x0", "x1", "x2"]);
    let t = crate::common::column(&h, &c, "t");
    let y = crate::common::column(&h, &c, "y");
    let fold: Vec<usize> = crate::common::column(&h, &c, "fold")
        .iter()
        .map(|&f| f as usize)
        .collect();
    compare(
        &x,
        &t,
        &y,
        config(Folds::Explicit(fold), OutcomeModel::Pooled, FinalCovariance::Hc1),
        1e-10,
    );
}

#[test]
fn fits_on_one_thread_do_not_leak_into_each_other() {
    // the fast path keeps its buffers between fits on a thread: a fit after fits of other
    // sizes (larger, smaller, other folds) gives the same model as before, and `fit` and
    // `fit_detailed` give the same model
    let a = prudentia_datasets::causal_dataset(3_000, 5, 1).unwrap();
    let ta = a.treatment_indicator();
    let da = CausalData::new(a.x.view(), ta.view(), a.outcome.view());
    let b = prudentia_datasets::causal_dataset(800, 2, 4).unwrap();
    let tb = b.treatment_indicator();
    let db = CausalData::new(b.x.view(), tb.view(), b.outcome.view());
    let c = prudentia_datasets::causal_dataset(6_000, 7, 3).unwrap();
    let tc = c.treatment_indicator();
    let dc = CausalData::new(c.x.view(), tc.view(), c.outcome.view());
    let learner = |k: usize, om: OutcomeModel| {
        DrLearner::new(config(Folds::Seeded { k, seed: 3 }, om, FinalCovariance::Hc1))
    };
    let first = learner(2, OutcomeModel::Pooled).fit(&da).unwrap();
    learner(5, OutcomeModel::PerArm).fit(&db).unwrap();
    learner(3, OutcomeModel::Pooled).fit(&dc).unwrap();
    let again = learner(2, OutcomeModel::Pooled).fit(&da).unwrap();
    assert_eq!(first, again);
    let detailed = learner(2, OutcomeModel::Pooled).fit_detailed(&da).unwrap();
    assert_eq!(first, detailed.model);
    // on another thread (fresh buffers) too
    let other = std::thread::scope(|s| {
        s.spawn(|| learner(2, OutcomeModel::Pooled).fit(&da).unwrap())
            .join()
            .unwrap()
    });
    assert_eq!(first, other);
    // with the bootstrap, which needs the pseudo-outcomes in the caller's order
    let boot = DrConfig {
        bootstrap: Some(prudentia_causal::Bootstrap {
            replications: 20,
            seed: 1,
        }),
        ..config(
            Folds::Seeded { k: 2, seed: 3 },
            OutcomeModel::Pooled,
            FinalCovariance::Hc1,
        )
    };
    let m = DrLearner::new(boot.clone()).fit(&db).unwrap();
    assert_eq!(m, DrLearner::new(boot).fit_detailed(&db).unwrap().model);
    assert!(m.bootstrap().is_some());
}
