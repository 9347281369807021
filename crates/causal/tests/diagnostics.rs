//! Overlap, balance and refutations on the confounded data set.

use prudentia_causal::diagnostics::{balance, overlap, refute, RefutationKind, RefuteConfig};
use prudentia_causal::{CausalData, DrConfig, DrLearner, Folds, OutcomeModel};
use prudentia_datasets::causal_dataset;

#[test]
fn overlap_balance_and_refutations() {
    let s = causal_dataset(4_000, 3, 11).unwrap();
    let t = s.treatment_indicator();
    let data = CausalData::new(s.x.view(), t.view(), s.outcome.view());
    let learner = DrLearner::new(DrConfig {
        folds: Folds::Seeded { k: 2, seed: 3 },
        outcome_model: OutcomeModel::PerArm,
        ..DrConfig::default()
    });
    let fit = learner.fit_detailed(&data).unwrap();
    let e = fit.cross_fit.propensity.view();

    let o = overlap(t.view(), e).unwrap();
    println!("{o:?}");
    assert!(o.treated_range.0 > 0.0 && o.control_range.1 < 1.0);
    assert!(o.ess_treated > 0.2 * o.n_treated as f64 && o.ess_treated <= o.n_treated as f64 + 1e-9);
    assert!(o.ess_control > 0.2 * o.n_control as f64 && o.ess_control <= o.n_control as f64 + 1e-9);

    let b = balance(s.x.view(), t.view(), e).unwrap();
    println!("{b:?}");
    // x0 drives treatment: imbalanced before, balanced after weighting
    assert!(b[0].smd_before > 0.3, "{:?}", b[0]);
    assert!(b[0].smd_after.abs() < 0.1, "{:?}", b[0]);
    assert!(
        b[1].smd_before < -0.15 && b[1].smd_after.abs() < 0.1,
        "{:?}",
        b[1]
    );

    let r = refute(&learner, &data, RefuteConfig::default()).unwrap();
    for x in &r {
        println!(
            "{:?}: {:.4} -> {:.4} ({:+.2} se)",
            x.kind, x.original.estimate, x.refuted.estimate, x.shift_in_se
        );
    }
    assert_eq!(r[0].kind, RefutationKind::PlaceboTreatment);
    // the placebo effect vanishes
    assert!(r[0].refuted.lower < 0.0 && 0.0 < r[0].refuted.upper, "{:?}", r[0]);
    // a random common cause barely moves the estimate
    assert!(r[1].shift_in_se.abs() < 0.5, "{:?}", r[1]);
    // a subset moves it within its error
    assert!(r[2].shift_in_se.abs() < 3.0, "{:?}", r[2]);
}

#[test]
fn overlap_rejects_bad_propensities() {
    let t = ndarray::arr1(&[0.0, 1.0, 1.0]);
    assert!(overlap(t.view(), ndarray::arr1(&[0.5, 0.0, 0.5]).view()).is_err());
    assert!(overlap(t.view(), ndarray::arr1(&[0.5, f64::NAN, 0.5]).view()).is_err());
    assert!(overlap(t.view(), ndarray::arr1(&[0.5, 0.5]).view()).is_err());
    assert!(overlap(
        ndarray::arr1(&[1.0, 1.0]).view(),
        ndarray::arr1(&[0.5, 0.5]).view()
    )
    .is_err());
    // extreme but valid propensities give finite figures
    let o = overlap(t.view(), ndarray::arr1(&[1.0 - 1e-16, 5e-324, 0.5]).view()).unwrap();
    assert!(o.ess_treated.is_finite() && o.ess_control.is_finite());
}
