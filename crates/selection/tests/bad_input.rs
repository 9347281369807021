//! Bad input: every error variant, and the correlation repair/reject policy.

use std::collections::BTreeMap;

use ndarray::{array, Array2};
use prudentia_core::estimators::NearestCorrelationConfig;
use prudentia_core::CoreError;
use prudentia_core::Status;
use prudentia_selection::{
    Constraints, CorrelationConfig, CorrelationPolicy, ExactConfig, ExactSolver, GreedySwap,
    GreedySwapConfig, ProblemConfig, SelectionError, SelectionProblem,
};

fn eye(n: usize) -> Array2<f64> {
    Array2::eye(n)
}

fn cfg(k: usize) -> ProblemConfig {
    ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k,
        lambda: 0.1,
        ..Default::default()
    }
}

fn reject(k: usize) -> ProblemConfig {
    ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k,
        lambda: 0.1,
        correlation: CorrelationConfig {
            policy: CorrelationPolicy::Reject,
            ..Default::default()
        },
    }
}

fn new(
    mu: &[f64],
    rho: &Array2<f64>,
    c: &ProblemConfig,
    k: &Constraints,
) -> Result<SelectionProblem, SelectionError> {
    SelectionProblem::new(mu, rho.view(), c, k)
}

#[test]
fn k_zero_and_k_above_n() {
    let none = Constraints::default();
    assert_eq!(
        new(&[0.1, 0.2], &eye(2), &cfg(0), &none).unwrap_err(),
        SelectionError::ZeroK
    );
    assert_eq!(
        new(&[0.1, 0.2], &eye(2), &cfg(3), &none).unwrap_err(),
        SelectionError::KExceedsN { k: 3, n: 2 }
    );
}

#[test]
fn empty_and_non_finite_mu() {
    let none = Constraints::default();
    assert!(matches!(
        new(&[], &eye(0), &cfg(1), &none),
        Err(SelectionError::Core(CoreError::EmptyInput { field: "mu", .. }))
    ));
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            new(&[0.1, bad, 0.2], &eye(3), &cfg(1), &none),
            Err(SelectionError::Core(CoreError::NonFinite {
                field: "mu",
                index: 1,
                ..
            }))
        ));
    }
}

#[test]
fn bad_lambda_and_solver_settings() {
    let none = Constraints::default();
    let c = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        lambda: -1.0,
        ..cfg(1)
    };
    assert!(matches!(
        new(&[0.1], &eye(1), &c, &none),
        Err(SelectionError::Core(CoreError::OutOfRange {
            field: "lambda",
            ..
        }))
    ));
    assert!(ExactSolver::new(ExactConfig {
        node_limit: 0,
        ..Default::default()
    })
    .is_err());
    assert!(ExactSolver::new(ExactConfig {
        time_limit_secs: Some(-1.0),
        ..Default::default()
    })
    .is_err());
}

#[test]
fn correlation_shape_and_non_finite() {
    let none = Constraints::default();
    assert!(matches!(
        new(&[0.1, 0.2], &eye(3), &cfg(1), &none),
        Err(SelectionError::Core(CoreError::ShapeMismatch { .. }))
    ));
    let nan = array![[1.0, f64::NAN], [f64::NAN, 1.0]];
    assert!(matches!(
        new(&[0.1, 0.2], &nan, &cfg(1), &none),
        Err(SelectionError::Core(CoreError::NonFinite { .. }))
    ));
}

#[test]
fn asymmetric_correlation_rejected_or_repaired() {
    let none = Constraints::default();
    let asym = array![[1.0, 0.2, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 1.0]];
    assert!(matches!(
        new(&[0.1, 0.2, 0.3], &asym, &reject(2), &none),
        Err(SelectionError::Core(CoreError::NotSymmetric {
            row: 0,
            col: 1,
            ..
        }))
    ));
    let p = new(&[0.1, 0.2, 0.3], &asym, &cfg(2), &none).unwrap();
    let r = p.correlation_report();
    assert!(r.repaired);
    assert!((r.max_asymmetry - 0.3).abs() < 1e-12);
    assert!(r.frobenius_change > 0.0);
    // symmetric result with the averaged entry (already PSD, so only symmetrized)
    assert_eq!(p.rho(0, 1).unwrap(), p.rho(1, 0).unwrap());
    assert!((p.rho(0, 1).unwrap() - 0.35).abs() < 1e-9);
}

#[test]
fn non_psd_correlation_rejected_or_repaired() {
    let none = Constraints::default();
    // Higham (2002) section 4 example: eigenvalues 1 − √2 < 0.
    let a = array![[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]];
    let err = new(&[0.1, 0.2, 0.3], &a, &reject(2), &none).unwrap_err();
    match err {
        SelectionError::Core(CoreError::NotPositiveSemiDefinite { min_eigenvalue, .. }) => {
            assert!((min_eigenvalue - (1.0 - 2f64.sqrt())).abs() < 1e-9)
        }
        e => panic!("unexpected {e:?}"),
    }
    let p = new(&[0.1, 0.2, 0.3], &a, &cfg(2), &none).unwrap();
    let r = p.correlation_report();
    assert!(r.repaired && r.iterations > 0);
    assert!(r.min_eigenvalue.unwrap() < 0.0);
    // Higham's published nearest correlation matrix: ρ_01 = 0.7607, ρ_02 = 0.1573
    assert!((p.rho(0, 1).unwrap() - 0.7607).abs() < 5e-5);
    assert!((p.rho(0, 2).unwrap() - 0.1573).abs() < 5e-5);
    // custom repair settings are validated
    let bad = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        correlation: CorrelationConfig {
            policy: CorrelationPolicy::Repair(NearestCorrelationConfig {
                tolerance: -1.0,
                ..Default::default()
            }),
            ..Default::default()
        },
        ..cfg(2)
    };
    assert!(new(&[0.1, 0.2, 0.3], &a, &bad, &none).is_err());
}

#[test]
fn bad_diagonal_rejected() {
    let none = Constraints::default();
    let d = array![[2.0, 0.0], [0.0, 1.0]];
    assert!(matches!(
        new(&[0.1, 0.2], &d, &reject(1), &none),
        Err(SelectionError::Core(CoreError::OutOfRange { .. }))
    ));
    let p = new(&[0.1, 0.2], &d, &cfg(1), &none).unwrap();
    assert!(p.correlation_report().repaired);
    assert_eq!(p.rho(0, 0).unwrap(), 1.0);
}

#[test]
fn membership_errors() {
    let rho = eye(4);
    let mu = [0.1, 0.2, 0.3, 0.4];
    let c = |inc: Vec<usize>, exc: Vec<usize>| Constraints {
        must_include: inc,
        must_exclude: exc,
        ..Default::default()
    };
    assert_eq!(
        new(&mu, &rho, &cfg(2), &c(vec![4], vec![])).unwrap_err(),
        SelectionError::IndexOutOfRange {
            field: "must_include",
            index: 4,
            n: 4
        }
    );
    assert_eq!(
        new(&mu, &rho, &cfg(2), &c(vec![], vec![7])).unwrap_err(),
        SelectionError::IndexOutOfRange {
            field: "must_exclude",
            index: 7,
            n: 4
        }
    );
    assert_eq!(
        new(&mu, &rho, &cfg(2), &c(vec![1], vec![1])).unwrap_err(),
        SelectionError::ConflictingMembership { index: 1 }
    );
    assert_eq!(
        new(&mu, &rho, &cfg(2), &c(vec![0, 1, 2], vec![])).unwrap_err(),
        SelectionError::TooManyIncluded { count: 3, k: 2 }
    );
    assert_eq!(
        new(&mu, &rho, &cfg(3), &c(vec![], vec![0, 1])).unwrap_err(),
        SelectionError::InfeasibleSectorCaps { capacity: 2, k: 3 }
    );
}

#[test]
fn infeasible_sector_caps() {
    let rho = eye(6);
    let mu = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    let sectors = vec![
        Some("a".to_string()),
        Some("a".into()),
        Some("a".into()),
        Some("b".into()),
        Some("b".into()),
        None,
    ];
    let c = Constraints {
        sectors: sectors.clone(),
        max_per_sector: Some(1),
        ..Default::default()
    };
    // one from a, one from b, the unsectored one: at most 3
    assert_eq!(
        new(&mu, &rho, &cfg(4), &c).unwrap_err(),
        SelectionError::InfeasibleSectorCaps { capacity: 3, k: 4 }
    );
    assert!(new(&mu, &rho, &cfg(3), &c).is_ok());
    let c2 = Constraints {
        sectors: sectors.clone(),
        sector_caps: BTreeMap::from([("a".to_string(), 1)]),
        must_include: vec![0, 1],
        ..Default::default()
    };
    assert_eq!(
        new(&mu, &rho, &cfg(3), &c2).unwrap_err(),
        SelectionError::IncludedExceedSectorCap {
            sector: "a".into(),
            count: 2,
            cap: 1
        }
    );
    let short = Constraints {
        sectors: vec![None; 5],
        ..Default::default()
    };
    assert!(matches!(
        new(&mu, &rho, &cfg(3), &short),
        Err(SelectionError::Core(CoreError::ShapeMismatch {
            field: "sectors",
            ..
        }))
    ));
}

#[test]
fn unreachable_min_return_is_an_error_and_cap_blocked_is_a_status() {
    let rho = eye(4);
    let mu = [0.1, 0.2, 0.3, 0.4];
    let c = Constraints {
        min_expected_return: Some(0.8),
        ..Default::default()
    };
    assert!(matches!(
        new(&mu, &rho, &cfg(2), &c),
        Err(SelectionError::InfeasibleMinReturn { required, achievable }) if required == 0.8 && (achievable - 0.7).abs() < 1e-12
    ));
    let nan = Constraints {
        min_expected_return: Some(f64::NAN),
        ..Default::default()
    };
    assert!(new(&mu, &rho, &cfg(2), &nan).is_err());
    // reachable ignoring caps (0.3 + 0.4), not with one per sector: the solver says Infeasible
    let capped = Constraints {
        sectors: vec![
            Some("a".into()),
            Some("b".into()),
            Some("c".into()),
            Some("c".into()),
        ],
        max_per_sector: Some(1),
        min_expected_return: Some(0.65),
        ..Default::default()
    };
    let p = new(&mu, &rho, &cfg(2), &capped).unwrap();
    let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    assert!(matches!(s.status, Status::Infeasible { .. }));
    assert!(s.selected.is_empty());
    let h = GreedySwap::new(GreedySwapConfig::default()).unwrap().solve(&p);
    assert_eq!(h.status, Status::NotFound);
    assert!(h.selected.is_empty());
}

#[test]
fn psd_check_accepts_singular_and_tolerance_edge_matrices_and_catches_small_negatives() {
    let none = Constraints::default();
    // rank one (all pairs perfectly correlated): PSD, singular; the Cholesky fast path of
    // ρ + 1e-9·I proves it and no eigendecomposition is needed
    let ones = Array2::from_elem((4, 4), 1.0);
    let p = new(&[0.1, 0.2, 0.3, 0.4], &ones, &reject(2), &none).unwrap();
    assert!(!p.correlation_report().repaired);
    assert_eq!(p.correlation_report().min_eigenvalue, None);
    // a negative eigenvalue of −1e-6, beyond the 1e-9 tolerance: the fast path fails, the
    // spectrum is computed and the matrix rejected (or repaired)
    // [[1, a, 0], [a, 1, a], [0, a, 1]] has eigenvalues 1 and 1 ± a√2
    let a = (1.0 + 1e-6) / 2f64.sqrt();
    let neg = array![[1.0, a, 0.0], [a, 1.0, a], [0.0, a, 1.0]];
    match new(&[0.1, 0.2, 0.3], &neg, &reject(2), &none) {
        Err(SelectionError::Core(CoreError::NotPositiveSemiDefinite { min_eigenvalue, .. })) => {
            assert!(min_eigenvalue < -1e-7, "{min_eigenvalue}")
        }
        other => panic!("unexpected {other:?}"),
    }
    let p = new(&[0.1, 0.2, 0.3], &neg, &cfg(2), &none).unwrap();
    assert!(p.correlation_report().repaired);
}

#[test]
fn exact_solver_respects_a_zero_sector_cap() {
    // Items 0 and 1 (the best returns) are in a sector capped at 0: neither may be chosen.
    let mu = [0.5, 0.4, 0.3, 0.2];
    let c = Constraints {
        sectors: vec![Some("a".into()), Some("a".into()), None, None],
        max_per_sector: Some(0),
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, eye(4).view(), &cfg(2), &c).unwrap();
    for warm_start in [true, false] {
        let s = ExactSolver::new(ExactConfig {
            warm_start,
            ..Default::default()
        })
        .unwrap()
        .solve(&p);
        assert_eq!(s.status, Status::Converged);
        assert_eq!(s.selected, vec![2, 3], "warm start {warm_start}");
        assert!(p.is_feasible(&s.selected));
    }
    let mut caps = BTreeMap::new();
    caps.insert("a".to_string(), 0);
    let c = Constraints {
        sectors: vec![Some("a".into()), Some("b".into()), None, None],
        sector_caps: caps,
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, eye(4).view(), &cfg(2), &c).unwrap();
    let s = ExactSolver::new(ExactConfig::default()).unwrap().solve(&p);
    assert_eq!(s.selected, vec![1, 2]);
}

#[test]
fn tampered_problem_checkpoints_do_not_load() {
    let mu = [0.5, 0.4, 0.3];
    let c = Constraints {
        sectors: vec![Some("a".into()), Some("b".into()), None],
        must_include: vec![2],
        ..Default::default()
    };
    let p = SelectionProblem::new(&mu, eye(3).view(), &cfg(2), &c).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<SelectionProblem>(&json).unwrap(), p);
    for (field, value) in [
        ("k", serde_json::json!(0)),
        ("k", serde_json::json!(4)),
        ("n", serde_json::json!(4)),
        ("n", serde_json::json!(usize::MAX)),
        ("lambda", serde_json::json!(-1.0)),
        ("mu", serde_json::json!([0.5, 0.4])),
        ("rho", serde_json::json!([1.0, 0.0])),
        (
            "rho",
            serde_json::json!([1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
        ),
        (
            "rho",
            serde_json::json!([2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
        ),
        ("sector", serde_json::json!([0, 7, 1])),
        ("sector_cap", serde_json::json!([])),
        ("must_include", serde_json::json!([9])),
        ("included", serde_json::json!([true, false, false])),
        ("excluded", serde_json::json!([false, false, true])),
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v[field] = value.clone();
        assert!(
            serde_json::from_value::<SelectionProblem>(v).is_err(),
            "{field} = {value} loaded"
        );
    }
}

#[test]
fn accessors_with_bad_indices_are_errors_not_panics() {
    let p = new(&[0.3, 0.2, 0.1], &eye(3), &cfg(2), &Constraints::default()).unwrap();
    assert_eq!(p.rho(0, 3), None);
    assert_eq!(p.rho(usize::MAX, 0), None);
    assert!(matches!(
        p.objective(&[0, 5]),
        Err(SelectionError::IndexOutOfRange { index: 5, .. })
    ));
    assert!(p.average_correlation(&[usize::MAX, 0]).is_err());
    let mut s = GreedySwap::new(GreedySwapConfig::default()).unwrap().solve(&p);
    assert!(prudentia_selection::explain(&p, &s, 3).is_ok());
    s.selected = vec![0, 9];
    assert!(prudentia_selection::explain(&p, &s, 3).is_err());
    s.selected = vec![1, 1];
    assert!(prudentia_selection::explain(&p, &s, 3).is_err());
}

#[test]
fn extreme_magnitudes_are_typed_errors() {
    for mu in [[1e300, 0.1], [f64::MAX, 0.1], [-1e200, 0.1]] {
        assert!(new(&mu, &eye(2), &cfg(1), &Constraints::default()).is_err());
    }
    let big = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        lambda: 1e300,
        ..cfg(1)
    };
    assert!(new(&[0.1, 0.2], &eye(2), &big, &Constraints::default()).is_err());
    let p = new(&[0.1, 0.2], &eye(2), &cfg(1), &Constraints::default()).unwrap();
    assert!(p.with_lambda(f64::MAX).is_err());
    assert!(prudentia_selection::relative_gap(f64::MAX, -f64::MAX).is_finite());
}

#[test]
fn only_a_producer_certified_correlation_skips_the_psd_check() {
    use prudentia_core::estimators::RollingCorrelation;
    use prudentia_core::traits::Selector;
    use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity};
    use prudentia_selection::{DiversityAwareSelector, SelectorConfig};

    let opps: Vec<Opportunity> = (0..3)
        .map(|i| Opportunity {
            asset: AssetInfo::new(format!("A{i}"), 10.0).unwrap(),
            forecast: Forecast::new(0.01 * (i + 1) as f64, 0.02, Horizon::DAY).unwrap(),
        })
        .collect();
    let sel = DiversityAwareSelector::new(SelectorConfig {
        problem: reject(2),
        ..Default::default()
    })
    .unwrap();
    // A caller's matrix is always checked: the Higham example (λ_min = 1 − √2) is refused
    // through the selector role under the reject policy.
    let a = array![[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]];
    let err = sel.select(&opps, a.view()).unwrap_err();
    let inner = std::error::Error::source(&err).unwrap();
    assert!(
        matches!(
            inner.downcast_ref::<SelectionError>(),
            Some(SelectionError::Core(CoreError::NotPositiveSemiDefinite { .. }))
        ),
        "{err}"
    );
    // The rolling correlation comes with the certificate: the same problem and slate as
    // the plain matrix, without the O(n³) check (and the Cholesky report is the same: None).
    let mut rc = RollingCorrelation::new(3, 20).unwrap();
    for t in 0..20 {
        let x = t as f64;
        rc.update(&[
            (x * 0.7).sin(),
            (x * 1.3).cos(),
            (x * 0.7).sin() + 0.1 * (x * 2.9).sin(),
        ])
        .unwrap();
    }
    let proven = rc.correlation_of_psd(&[0, 1, 2]).unwrap();
    let plain = rc.correlation_of(&[0, 1, 2]).unwrap();
    assert_eq!(proven.view(), plain.view());
    assert_eq!(
        sel.problem_psd(&opps, &proven).unwrap(),
        sel.problem(&opps, plain.view()).unwrap()
    );
    assert_eq!(
        sel.select_psd(&opps, &proven).unwrap(),
        sel.select(&opps, plain.view()).unwrap()
    );
    let p =
        SelectionProblem::new_psd(&[0.1, 0.2, 0.3], &proven, &reject(2), &Constraints::default()).unwrap();
    assert_eq!(p.correlation_report().min_eigenvalue, None);
    assert!(!p.correlation_report().repaired);
}
