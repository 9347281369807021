//! Bad input: every error path and every contradiction has a test.

use crate::common;

use common::synthetic;
use ndarray::{array, Array1, Array2};
use prudentia_core::error::CoreError;
use prudentia_core::Status;
use prudentia_portfolio::{
    FallbackPolicy, LimitGroup, Limits, Objective, PortfolioConfig, PortfolioError, PortfolioOptimizer,
    PortfolioProblem, PsdPolicy,
};

fn mv_config(limits: Limits) -> PortfolioConfig {
    PortfolioConfig {
        objective: Objective::MeanVariance,
        limits,
        ..Default::default()
    }
}

fn non_psd() -> Array2<f64> {
    // correlations 0.9, 0.9, -0.9 cannot hold together: smallest eigenvalue < 0
    array![[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]
}

#[test]
fn non_psd_covariance_is_repaired_with_a_report() {
    let opt = PortfolioOptimizer::new(mv_config(Limits::default())).unwrap();
    let p = PortfolioProblem::new(vec![0.1, 0.05, 0.02]).with_covariance(non_psd());
    let r = opt.solve(&p).unwrap();
    assert!(r.status.is_converged());
    let rep = r.covariance_repair.expect("repair reported");
    assert!(rep.min_eigenvalue_before < -0.5, "{rep:?}");
    assert!(rep.clipped >= 1);
    assert!(rep.frobenius_change > 0.0);
    // a PSD matrix is not touched
    let p = PortfolioProblem::new(vec![0.1, 0.05]).with_covariance(array![[1.0, 0.2], [0.2, 1.0]]);
    assert!(opt.solve(&p).unwrap().covariance_repair.is_none());
}

#[test]
fn non_psd_covariance_is_rejected_under_reject_policy() {
    let cfg = PortfolioConfig {
        psd: PsdPolicy::Reject,
        ..mv_config(Limits::default())
    };
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let e = opt
        .solve(&PortfolioProblem::new(vec![0.1, 0.05, 0.02]).with_covariance(non_psd()))
        .unwrap_err();
    match e {
        PortfolioError::Core(CoreError::NotPositiveSemiDefinite {
            field,
            min_eigenvalue,
        }) => {
            assert_eq!(field, "covariance");
            assert!(min_eigenvalue < -0.5);
        }
        e => panic!("unexpected {e:?}"),
    }
    // the factor covariance goes through the same policy
    let p = PortfolioProblem::new(vec![0.1, 0.05, 0.02]).with_factor_covariance(
        Array2::eye(3),
        non_psd(),
        Array1::from_elem(3, 0.01),
    );
    assert!(matches!(
        opt.solve(&p),
        Err(PortfolioError::Core(CoreError::NotPositiveSemiDefinite {
            field: "factor_covariance",
            ..
        }))
    ));
}

#[test]
fn asymmetric_covariance_is_an_error() {
    let opt = PortfolioOptimizer::new(mv_config(Limits::default())).unwrap();
    let p = PortfolioProblem::new(vec![0.1, 0.05]).with_covariance(array![[1.0, 0.2], [0.3, 1.0]]);
    assert!(matches!(
        opt.solve(&p),
        Err(PortfolioError::Core(CoreError::NotSymmetric { .. }))
    ));
}

#[test]
fn nan_scenarios_are_an_error() {
    let (mu, _, mut s, _) = synthetic(4, 50, 1);
    s[[7, 2]] = f64::NAN;
    let opt = PortfolioOptimizer::new(PortfolioConfig::default()).unwrap();
    let e = opt
        .solve(&PortfolioProblem::new(mu).with_scenarios(s))
        .unwrap_err();
    assert!(matches!(
        e,
        PortfolioError::Core(CoreError::NonFinite {
            field: "scenarios",
            index: 30,
            ..
        })
    ));
}

#[test]
fn nan_and_infinite_inputs_are_errors() {
    let opt = PortfolioOptimizer::new(mv_config(Limits::default())).unwrap();
    let cov = Array2::eye(2);
    let p = PortfolioProblem::new(vec![f64::NAN, 0.1]).with_covariance(cov.clone());
    assert!(matches!(
        opt.solve(&p),
        Err(PortfolioError::Core(CoreError::NonFinite {
            field: "expected_returns",
            ..
        }))
    ));
    let p = PortfolioProblem::new(vec![0.1, 0.1])
        .with_covariance(cov.clone())
        .with_current(vec![0.0, f64::INFINITY]);
    assert!(matches!(
        opt.solve(&p),
        Err(PortfolioError::Core(CoreError::NonFinite {
            field: "current",
            ..
        }))
    ));
    let p = PortfolioProblem::new(vec![0.1, 0.1]).with_covariance(array![[1.0, f64::NAN], [f64::NAN, 1.0]]);
    assert!(matches!(
        opt.solve(&p),
        Err(PortfolioError::Core(CoreError::NonFinite {
            field: "covariance",
            ..
        }))
    ));
}

#[test]
fn dimension_mismatches_are_errors() {
    let opt = PortfolioOptimizer::new(mv_config(Limits::default())).unwrap();
    let field = |p: PortfolioProblem| match opt.solve(&p) {
        Err(PortfolioError::Core(CoreError::ShapeMismatch { field, .. })) => field,
        r => panic!("expected shape mismatch, got {r:?}"),
    };
    let base = || PortfolioProblem::new(vec![0.1, 0.2, 0.3]).with_covariance(Array2::eye(3));
    assert_eq!(
        field(PortfolioProblem::new(vec![0.1, 0.2, 0.3]).with_covariance(Array2::eye(2))),
        "covariance"
    );
    assert_eq!(field(base().with_current(vec![0.0; 2])), "current");
    assert_eq!(field(base().with_costs(vec![0.0; 4])), "costs");
    assert_eq!(field(base().with_sectors(["a", "b"])), "sectors");
    assert_eq!(
        field(base().with_bounds(vec![0.0; 3], vec![1.0; 2])),
        "bounds.upper"
    );
    assert_eq!(field(base().with_scenarios(Array2::zeros((10, 2)))), "scenarios");
    let p = PortfolioProblem::new(vec![0.1, 0.2, 0.3]).with_factor_covariance(
        Array2::zeros((3, 2)),
        Array2::eye(3),
        Array1::zeros(3),
    );
    assert_eq!(field(p), "loadings");
    // empty problem
    assert!(matches!(
        opt.solve(&PortfolioProblem::new(vec![])),
        Err(PortfolioError::Core(CoreError::EmptyInput {
            field: "expected_returns",
            ..
        }))
    ));
}

#[test]
fn missing_risk_model_is_an_error() {
    let opt = PortfolioOptimizer::new(mv_config(Limits::default())).unwrap();
    assert!(matches!(
        opt.solve(&PortfolioProblem::new(vec![0.1])),
        Err(PortfolioError::MissingRiskModel {
            missing: "covariance",
            ..
        })
    ));
    let cfg = PortfolioConfig {
        limits: Limits {
            cvar_max: Some(0.1),
            ..Default::default()
        },
        ..mv_config(Limits::default())
    };
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let p = PortfolioProblem::new(vec![0.1]).with_covariance(Array2::eye(1));
    assert!(matches!(
        opt.solve(&p),
        Err(PortfolioError::MissingRiskModel {
            needed_by: "limit cvar_max",
            ..
        })
    ));
    let opt = PortfolioOptimizer::new(PortfolioConfig::default()).unwrap();
    assert!(matches!(
        opt.solve(&PortfolioProblem::new(vec![0.1])),
        Err(PortfolioError::MissingRiskModel {
            missing: "scenarios",
            ..
        })
    ));
}

#[test]
fn bad_config_names_the_field() {
    let bad = |cfg: PortfolioConfig| match PortfolioOptimizer::new(cfg) {
        Err(PortfolioError::InvalidConfig { field, .. }) => field,
        r => panic!("expected invalid config, got {r:?}"),
    };
    assert_eq!(
        bad(PortfolioConfig {
            alpha: 1.0,
            ..Default::default()
        }),
        "alpha"
    );
    assert_eq!(
        bad(PortfolioConfig {
            risk_aversion: -1.0,
            ..Default::default()
        }),
        "risk_aversion"
    );
    assert_eq!(
        bad(PortfolioConfig {
            cvar_penalty: f64::NAN,
            ..Default::default()
        }),
        "cvar_penalty"
    );
    let limits = Limits {
        gross_max: Some(-1.0),
        ..Default::default()
    };
    assert_eq!(
        bad(PortfolioConfig {
            limits,
            ..Default::default()
        }),
        "limits.gross_max"
    );
    let limits = Limits {
        net_min: Some(f64::INFINITY),
        ..Default::default()
    };
    assert_eq!(
        bad(PortfolioConfig {
            limits,
            ..Default::default()
        }),
        "limits.net_min"
    );
    // unbounded weights are rejected at solve time
    let cfg = mv_config(Limits {
        weight_min: f64::NEG_INFINITY,
        weight_max: f64::INFINITY,
        ..Default::default()
    });
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let p = PortfolioProblem::new(vec![0.1]).with_covariance(Array2::eye(1));
    assert_eq!(opt.solve(&p).unwrap_err(), PortfolioError::Unbounded);
}

fn culprits(status: &Status) -> Vec<LimitGroup> {
    match status {
        Status::Infeasible { culprits } => culprits.iter().map(|c| c.parse().unwrap()).collect(),
        s => panic!("expected infeasible, got {s:?}"),
    }
}

fn ls_problem() -> PortfolioProblem {
    let (mu, cov, s, sectors) = synthetic(8, 200, 3);
    PortfolioProblem::new(mu)
        .with_covariance(cov)
        .with_scenarios(s)
        .with_sectors(sectors)
}

#[test]
fn net_above_gross_is_infeasible_naming_both() {
    let opt = PortfolioOptimizer::new(mv_config(Limits {
        weight_min: -1.0,
        gross_max: Some(1.0),
        net_min: Some(1.5),
        ..Default::default()
    }))
    .unwrap();
    let r = opt.solve(&ls_problem()).unwrap();
    assert_eq!(culprits(&r.status), vec![LimitGroup::Gross, LimitGroup::Net]);
    assert!(r.to_owned().status.to_string().contains("gross_max"));
    // without a fallback the current weights are returned, and no fallback is recorded
    assert_eq!(r.weights, vec![0.0; 8]);
    assert!(r.fallback.is_none());
}

#[test]
fn sector_limits_that_cannot_hold_together() {
    // 4 sectors, each net ≤ 0.2, but the book must be fully invested (net = 1)
    let opt = PortfolioOptimizer::new(mv_config(Limits {
        net_min: Some(1.0),
        net_max: Some(1.0),
        sector_net_max: Some(0.2),
        ..Default::default()
    }))
    .unwrap();
    let r = opt.solve(&ls_problem()).unwrap();
    assert_eq!(culprits(&r.status), vec![LimitGroup::Net, LimitGroup::SectorNet]);
    // sector net floor above the sector gross cap
    let opt = PortfolioOptimizer::new(mv_config(Limits {
        weight_min: -1.0,
        sector_net_min: Some(0.3),
        sector_gross_max: Some(0.2),
        ..Default::default()
    }))
    .unwrap();
    let r = opt.solve(&ls_problem()).unwrap();
    assert_eq!(
        culprits(&r.status),
        vec![LimitGroup::SectorNet, LimitGroup::SectorGross]
    );
}

#[test]
fn solver_detected_conflict_is_diagnosed_by_relaxation() {
    // current weights far from a feasible book, turnover budget too small to get there;
    // no pre-check sees this, the deletion filter finds turnover vs net.
    let mut p = ls_problem();
    p.current = vec![0.0; 8];
    let opt = PortfolioOptimizer::new(mv_config(Limits {
        net_min: Some(1.0),
        net_max: Some(1.0),
        turnover_max: Some(0.5),
        gross_max: Some(3.0),
        ..Default::default()
    }))
    .unwrap();
    let r = opt.solve(&p).unwrap();
    assert_eq!(culprits(&r.status), vec![LimitGroup::Net, LimitGroup::Turnover]);
    // CVaR limit below anything the long-only fully invested book can reach
    let opt = PortfolioOptimizer::new(mv_config(Limits {
        net_min: Some(1.0),
        net_max: Some(1.0),
        cvar_max: Some(0.001),
        ..Default::default()
    }))
    .unwrap();
    let r = opt.solve(&p).unwrap();
    let c = culprits(&r.status);
    assert!(
        c.contains(&LimitGroup::Cvar) && c.contains(&LimitGroup::Net),
        "{c:?}"
    );
}

#[test]
fn explicit_fallbacks_are_recorded() {
    let mut p = ls_problem();
    p.current = vec![0.25; 8];
    let limits = Limits {
        net_min: Some(1.0),
        net_max: Some(1.0),
        sector_net_max: Some(0.2),
        gross_max: Some(1.0),
        ..Default::default()
    };
    let keep = PortfolioOptimizer::new(PortfolioConfig {
        fallback: FallbackPolicy::KeepCurrent,
        ..mv_config(limits.clone())
    })
    .unwrap();
    let r = keep.solve(&p).unwrap();
    assert!(matches!(r.status, Status::Infeasible { .. }));
    let fb = r.fallback.clone().unwrap();
    assert_eq!(fb.policy, FallbackPolicy::KeepCurrent);
    assert!(!fb.satisfies_limits);
    assert_eq!(r.weights, p.current);
    // scale down: current gross 2.0, each sector (2 names) net 0.5. Caps: gross ≤ 1 needs
    // s ≤ 0.5, sector net ≤ 0.2 needs s ≤ 0.4. The net floor 0.9 (which makes the problem
    // infeasible against 4 sectors × 0.2) cannot be met by scaling down.
    let limits = Limits {
        gross_max: Some(1.0),
        net_min: Some(0.9),
        sector_net_max: Some(0.2),
        ..Default::default()
    };
    let scale = PortfolioOptimizer::new(PortfolioConfig {
        fallback: FallbackPolicy::ScaleDownCurrent,
        ..mv_config(limits)
    })
    .unwrap();
    let r = scale.solve(&p).unwrap();
    assert!(matches!(r.status, Status::Infeasible { .. }), "{:?}", r.status);
    let fb = r.fallback.unwrap();
    assert_eq!(fb.policy, FallbackPolicy::ScaleDownCurrent);
    assert!((fb.scale - 0.4).abs() < 2e-3, "{fb:?}");
    assert!(!fb.satisfies_limits);
    assert!(r.weights.iter().all(|w| (w - 0.25 * fb.scale).abs() < 1e-12));
}

#[test]
fn iteration_limit_is_a_status_and_fallback_is_explicit() {
    let p = ls_problem();
    let mut cfg = mv_config(Limits {
        weight_min: -0.5,
        gross_max: Some(1.5),
        net_min: Some(1.0),
        net_max: Some(1.0),
        ..Default::default()
    });
    cfg.solver.max_iterations = 2;
    let r = PortfolioOptimizer::new(cfg.clone()).unwrap().solve(&p).unwrap();
    assert!(matches!(r.status, Status::IterationLimit { .. }));
    assert!(r.fallback.is_none());
    assert_eq!(r.weights.len(), 8);
    cfg.fallback = FallbackPolicy::KeepCurrent;
    let r = PortfolioOptimizer::new(cfg).unwrap().solve(&p).unwrap();
    assert!(matches!(r.status, Status::IterationLimit { .. }));
    assert_eq!(r.fallback.unwrap().policy, FallbackPolicy::KeepCurrent);
    assert_eq!(r.weights, p.current);
}

#[test]
fn covariance_variance_rejects_bad_lengths() {
    // issue #22 (11): CovarianceModel::variance indexed out of bounds on a short or long `w`
    use prudentia_portfolio::CovarianceModel;
    let full = CovarianceModel::Full(Array2::eye(3));
    assert!((full.variance(&[1.0, 2.0, 3.0]).unwrap() - 14.0).abs() < 1e-12);
    for w in [&[1.0][..], &[1.0; 4][..], &[][..]] {
        assert!(matches!(
            full.variance(w),
            Err(PortfolioError::Core(CoreError::ShapeMismatch { .. }))
        ));
    }
    let factor = CovarianceModel::Factor {
        loadings: Array2::ones((3, 2)),
        factor_covariance: Array2::eye(2),
        specific: Array1::from_elem(3, 0.1),
    };
    assert!(factor.variance(&[1.0, 0.0, 0.0]).is_ok());
    assert!(factor.variance(&[1.0, 0.0]).is_err());
    // an inconsistent model (specific variances of the wrong length) is an error, not a panic
    let broken = CovarianceModel::Factor {
        loadings: Array2::ones((3, 2)),
        factor_covariance: Array2::eye(2),
        specific: Array1::from_elem(1, 0.1),
    };
    assert!(broken.variance(&[1.0, 0.0, 0.0]).is_err());
    assert!(broken.validate().is_err());
    // overflow is an error, never an infinite Ok
    let huge = CovarianceModel::Full(Array2::from_elem((2, 2), f64::MAX));
    assert!(matches!(
        huge.variance(&[1.0, 1.0]),
        Err(PortfolioError::Overflow { .. })
    ));
}

#[test]
fn checkpoints_of_problems_and_configs_are_validated_on_load() {
    let p = PortfolioProblem::new(vec![0.1, 0.2]).with_covariance(array![[1.0, 0.2], [0.2, 1.0]]);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(
        serde_json::from_value::<PortfolioProblem>(json.clone()).unwrap(),
        p
    );
    let mut bad = json.clone();
    bad["current"] = serde_json::json!([0.0]);
    assert!(serde_json::from_value::<PortfolioProblem>(bad).is_err());
    let mut bad = json;
    bad["covariance"]["Full"]["data"] = serde_json::json!([1.0, 0.9, 0.2, 1.0]);
    assert!(serde_json::from_value::<PortfolioProblem>(bad).is_err());
    assert!(serde_json::from_str::<PortfolioConfig>(r#"{"alpha": 1.5}"#).is_err());
    assert!(serde_json::from_str::<PortfolioConfig>(r#"{"limits": {"gross_max": -1.0}}"#).is_err());
    // absurd sizes are typed errors
    let e = serde_json::from_str::<PortfolioConfig>(&format!(
        r#"{{"solver": {{"max_cut_rounds": {}}}}}"#,
        usize::MAX
    ));
    assert!(e.is_err());
    let opt = PortfolioOptimizer::new(PortfolioConfig {
        objective: Objective::MeanVariance,
        ..Default::default()
    })
    .unwrap();
    let wide = PortfolioProblem::new(vec![0.0; (1 << 16) + 1]);
    assert!(matches!(
        opt.solve(&wide),
        Err(PortfolioError::Core(CoreError::TooLarge { .. }))
    ));
}

#[test]
fn extreme_scale_is_solved_or_reported_never_a_false_optimal() {
    // issue #22 (12): at 1e150 the solver's absolute tolerances were meaningless. The
    // objective is now rescaled, so Clarabel solves what it reported as a numerical error,
    // and whatever is called Optimal meets every limit.
    let limits = Limits {
        weight_min: -0.2,
        weight_max: 0.6,
        net_min: Some(1.0),
        net_max: Some(1.0),
        gross_max: Some(1.4),
        ..Default::default()
    };
    let cov = array![[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]];
    let mu = [0.08, 0.12, 0.02];
    let reference = PortfolioOptimizer::new(mv_config(limits.clone()))
        .unwrap()
        .solve(&PortfolioProblem::new(mu.to_vec()).with_covariance(cov.clone()))
        .unwrap();
    for scale in [1e-150, 1e150, 1e300] {
        for structured in [true, false] {
            let mut cfg = mv_config(limits.clone());
            cfg.solver.structured_qp = structured;
            let p =
                PortfolioProblem::new(mu.iter().map(|m| m * scale).collect()).with_covariance(&cov * scale);
            let r = PortfolioOptimizer::new(cfg).unwrap().solve(&p).unwrap();
            assert!(
                r.status.is_converged(),
                "{scale:e} structured={structured}: {:?}",
                r.status
            );
            for (w, w0) in r.weights.iter().zip(&reference.weights) {
                assert!((w - w0).abs() < 1e-5, "{scale:e}: {:?}", r.weights);
                assert!(*w >= -0.2 - 1e-6 && *w <= 0.6 + 1e-6);
            }
            assert!(r.active.iter().all(|a| a.shadow_price.is_finite()));
        }
    }
}
