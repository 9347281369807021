//! Behaviour: limits hold at the optimum, methods agree, models agree, reuse, the role trait.

use crate::common;

use common::{real_returns, sample_mean_cov, synthetic};
use ndarray::{Array1, Array2};
use proptest::prelude::*;
use prudentia_core::traits::{Optimizer, PortfolioInput};
use prudentia_core::types::{AssetInfo, Forecast, Horizon, Opportunity, Weights};
use prudentia_core::Status;
use prudentia_portfolio::{
    CvarMethod, FallbackPolicy, LimitId, Limits, Objective, PortfolioConfig, PortfolioOptimizer,
    PortfolioProblem, PortfolioResult, PrimalDualController, SectorCap,
};

fn all_limits(n: usize) -> Limits {
    let s = 8.0 / n as f64;
    Limits {
        weight_min: -0.15 * s,
        weight_max: 0.3 * s,
        gross_max: Some(1.6),
        net_min: Some(0.2),
        net_max: Some(1.0),
        leverage_max: Some(1.2),
        sector_net_min: Some(-0.1),
        sector_net_max: Some(0.45),
        sector_gross_max: Some(0.7),
        sector_caps: Default::default(),
        turnover_max: Some(0.8),
        cvar_max: None,
    }
}

fn check_limits(r: &PortfolioResult, l: &Limits, sectors: &[String], current: &[f64]) {
    let tol = 1e-6;
    let w = &r.weights;
    assert!(
        w.iter()
            .all(|x| *x >= l.weight_min - tol && *x <= l.weight_max + tol),
        "{w:?}"
    );
    let gross: f64 = w.iter().map(|x| x.abs()).sum();
    let net: f64 = w.iter().sum();
    let long: f64 = w.iter().map(|x| x.max(0.0)).sum();
    let short: f64 = w.iter().map(|x| (-x).max(0.0)).sum();
    let turnover: f64 = w.iter().zip(current).map(|(a, b)| (a - b).abs()).sum();
    assert!(l.gross_max.is_none_or(|g| gross <= g + tol));
    assert!(l.net_min.is_none_or(|g| net >= g - tol));
    assert!(l.net_max.is_none_or(|g| net <= g + tol));
    assert!(l.leverage_max.is_none_or(|g| long <= g + tol && short <= g + tol));
    assert!(l.turnover_max.is_none_or(|g| turnover <= g + tol));
    let mut names: Vec<&String> = sectors.iter().collect();
    names.dedup();
    for s in sectors {
        let idx: Vec<usize> = (0..w.len()).filter(|&i| &sectors[i] == s).collect();
        let sn: f64 = idx.iter().map(|&i| w[i]).sum();
        let sg: f64 = idx.iter().map(|&i| w[i].abs()).sum();
        assert!(l.sector_net_max.is_none_or(|g| sn <= g + tol));
        assert!(l.sector_net_min.is_none_or(|g| sn >= g - tol));
        assert!(l.sector_gross_max.is_none_or(|g| sg <= g + tol));
    }
    if let (Some(c), Some(cv)) = (l.cvar_max, r.risk.cvar) {
        assert!(cv <= c + tol);
    }
}

/// Minimum number of the 12 drawn cases that must solve to optimality (the rest may be
/// infeasible; today all 12 are optimal): a property checked on too few optima would pass
/// on a broken solver.
const MIN_OPTIMAL_CASES: usize = 10;

/// The optimum satisfies every limit, and the reported objective parts add up; the number
/// of optimal cases (deterministic draws) is counted and must reach [`MIN_OPTIMAL_CASES`].
#[test]
fn optimum_satisfies_every_limit() {
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let config = Config::with_cases(12);
    let mut runner =
        TestRunner::new_with_rng(config.clone(), TestRng::deterministic_rng(config.rng_algorithm));
    let optimal = std::cell::Cell::new(0usize);
    let infeasible = std::cell::Cell::new(0usize);
    runner
        .run(
            &(0u64..1000, 0.5f64..20.0, 0.02f64..0.05),
            |(seed, gamma, cvar_cap)| {
                let n = 8;
                let (mu, cov, s, sectors) = synthetic(n, 150, seed);
                let current: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 0.2 } else { 0.05 }).collect();
                let limits = Limits {
                    cvar_max: Some(cvar_cap),
                    ..all_limits(n)
                };
                let cfg = PortfolioConfig {
                    objective: Objective::MeanVariance,
                    risk_aversion: gamma,
                    limits: limits.clone(),
                    ..Default::default()
                };
                let p = PortfolioProblem::new(mu)
                    .with_covariance(cov)
                    .with_scenarios(s)
                    .with_sectors(sectors.clone())
                    .with_current(current.clone())
                    .with_costs(vec![0.001; n]);
                let r = PortfolioOptimizer::new(cfg).unwrap().solve(&p).unwrap();
                if r.status.is_converged() {
                    check_limits(&r, &limits, &sectors, &current);
                    let o = r.objective;
                    prop_assert!((o.objective - (o.expected_return - o.risk - o.cost)).abs() < 1e-12);
                    // shadow prices are non-negative for inequality limits
                    for a in &r.active {
                        if a.limit != LimitId::NetEqual {
                            prop_assert!(a.shadow_price >= -1e-7, "{:?}", a);
                        }
                    }
                    optimal.set(optimal.get() + 1);
                } else {
                    prop_assert!(matches!(r.status, Status::Infeasible { .. }), "{:?}", r.status);
                    infeasible.set(infeasible.get() + 1);
                }
                Ok(())
            },
        )
        .unwrap();
    eprintln!("optimal {} infeasible {}", optimal.get(), infeasible.get());
    assert!(
        optimal.get() >= MIN_OPTIMAL_CASES,
        "only {} of 12 cases optimal ({} infeasible)",
        optimal.get(),
        infeasible.get()
    );
}

#[test]
fn cvar_methods_agree_long_short_with_every_limit() {
    let n = 10;
    let (mu, _, s, sectors) = synthetic(n, 600, 7);
    let current = vec![0.1; n];
    let mut objs = vec![];
    for m in [
        CvarMethod::FullLp,
        CvarMethod::ScenarioGeneration,
        CvarMethod::CuttingPlane,
    ] {
        let limits = Limits {
            cvar_max: Some(0.03),
            ..all_limits(n)
        };
        let cfg = PortfolioConfig {
            objective: Objective::MeanCvar,
            cvar_penalty: 0.05,
            cvar_method: m,
            limits: limits.clone(),
            ..Default::default()
        };
        let p = PortfolioProblem::new(mu.clone())
            .with_scenarios(s.clone())
            .with_sectors(sectors.clone())
            .with_current(current.clone())
            .with_costs(vec![0.0005; n]);
        let r = PortfolioOptimizer::new(cfg).unwrap().solve(&p).unwrap();
        assert!(r.status.is_converged(), "{m:?}: {:?}", r.status);
        check_limits(&r, &limits, &sectors, &current);
        objs.push(r.objective.objective);
    }
    assert!(
        (objs[0] - objs[1]).abs() <= 1e-7 * objs[0].abs().max(1e-3),
        "{objs:?}"
    );
    assert!(
        (objs[0] - objs[2]).abs() <= 1e-6 * objs[0].abs().max(1e-3),
        "{objs:?}"
    );
}

#[test]
fn factor_model_equals_full_covariance() {
    let n = 12;
    let k = 3;
    let b = Array2::from_shape_fn((n, k), |(i, j)| {
        0.01 * (((i * 7 + j * 3) % 11) as f64 - 5.0) / 5.0
    });
    let f = Array2::from_shape_fn((k, k), |(i, j)| if i == j { 1.0 } else { 0.3 });
    let d = Array1::from_shape_fn(n, |i| 1e-4 * (1.0 + (i % 4) as f64));
    let mut full = b.dot(&f).dot(&b.t());
    for i in 0..n {
        full[[i, i]] += d[i];
    }
    let mu: Vec<f64> = (0..n).map(|i| 0.001 * ((i % 5) as f64 - 1.0)).collect();
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        risk_aversion: 3.0,
        limits: all_limits(n),
        ..Default::default()
    };
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let a = opt
        .solve(&PortfolioProblem::new(mu.clone()).with_covariance(full))
        .unwrap();
    let c = opt
        .solve(&PortfolioProblem::new(mu).with_factor_covariance(b, f, d))
        .unwrap();
    assert!(a.status.is_converged() && c.status.is_converged());
    for (x, y) in a.weights.iter().zip(&c.weights) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    assert!((a.objective.objective - c.objective.objective).abs() < 1e-10);
}

#[test]
fn minimum_variance_fully_invested_matches_closed_form() {
    // long/short min variance with Σw = 1 and loose bounds: w = Σ⁻¹1 / 1ᵀΣ⁻¹1 (closed form).
    let (r, _, _) = real_returns();
    let (mu, cov) = sample_mean_cov(&r);
    let n = mu.len();
    let cfg = PortfolioConfig {
        objective: Objective::MinVariance,
        limits: Limits {
            weight_min: -10.0,
            weight_max: 10.0,
            net_min: Some(1.0),
            net_max: Some(1.0),
            ..Default::default()
        },
        ..Default::default()
    };
    let res = PortfolioOptimizer::new(cfg)
        .unwrap()
        .solve(&PortfolioProblem::new(mu).with_covariance(cov.clone()))
        .unwrap();
    assert!(res.status.is_converged());
    // solve Σ x = 1 by Cholesky from core
    let l = prudentia_core::linalg::cholesky(cov.view()).unwrap();
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|j| l[[i, j]] * y[j]).sum();
        y[i] = (1.0 - s) / l[[i, i]];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|j| l[[j, i]] * x[j]).sum();
        x[i] = (y[i] - s) / l[[i, i]];
    }
    let tot: f64 = x.iter().sum();
    for (a, b) in res.weights.iter().zip(x.iter().map(|v| v / tot)) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn prepared_problem_reuse_matches_fresh_solves() {
    let n = 8;
    let (mu, cov, s, sectors) = synthetic(n, 100, 5);
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        risk_aversion: 5.0,
        cvar_method: CvarMethod::FullLp,
        limits: Limits {
            cvar_max: Some(0.05),
            ..all_limits(n)
        },
        ..Default::default()
    };
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let base = PortfolioProblem::new(mu.clone())
        .with_covariance(cov)
        .with_scenarios(s)
        .with_sectors(sectors)
        .with_costs(vec![0.001; n]);
    let mut prepared = opt.prepare(base.clone()).unwrap();
    for k in 0..3 {
        let mu_k: Vec<f64> = mu
            .iter()
            .enumerate()
            .map(|(i, m)| m + 0.0002 * ((i + k) % 3) as f64)
            .collect();
        let cur_k: Vec<f64> = (0..n).map(|i| 0.05 * ((i + k) % 4) as f64).collect();
        prepared.set_expected_returns(&mu_k).unwrap();
        prepared.set_current(&cur_k).unwrap();
        let a = opt.solve_prepared(&prepared).unwrap();
        let mut fresh = base.clone();
        fresh.expected_returns = mu_k;
        fresh.current = cur_k;
        let b = opt.solve(&fresh).unwrap();
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.status, b.status);
    }
    assert!(prepared.set_current(&[0.0; 3]).is_err());
}

fn opportunities(mu: &[f64], sectors: &[String]) -> Vec<Opportunity> {
    mu.iter()
        .zip(sectors)
        .enumerate()
        .map(|(i, (m, s))| {
            let mut asset = AssetInfo::new(format!("A{i}"), 100.0).unwrap();
            asset.sector = Some(s.clone());
            Opportunity {
                asset,
                forecast: Forecast::new(*m, 0.02, Horizon::trading_days(1.0).unwrap()).unwrap(),
            }
        })
        .collect()
}

#[test]
fn optimizer_role_trait_works_boxed() {
    let n = 6;
    let (mu, cov, s, sectors) = synthetic(n, 200, 9);
    let opps = opportunities(&mu, &sectors);
    let current = Weights::new(vec![], vec![]).unwrap();
    let cfg = PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 0.1,
        limits: Limits {
            net_min: Some(1.0),
            net_max: Some(1.0),
            sector_net_max: Some(0.6),
            ..Default::default()
        },
        ..Default::default()
    };
    let boxed: Box<dyn Optimizer> = Box::new(PortfolioOptimizer::new(cfg.clone()).unwrap());
    let input = PortfolioInput {
        opportunities: &opps,
        covariance: Some(cov.view()),
        scenarios: Some(s.view()),
        current: &current,
    };
    let t = boxed.optimize(&input).unwrap();
    assert_eq!(t.status, Status::Converged);
    assert_eq!(t.weights.len(), n);
    assert!((t.weights.net() - 1.0).abs() < 1e-7);
    // infeasible limits come back as a status naming the culprits, through the trait
    let bad = PortfolioConfig {
        limits: Limits {
            net_min: Some(1.0),
            net_max: Some(1.0),
            sector_net_max: Some(0.2),
            ..Default::default()
        },
        ..cfg
    };
    let boxed: Box<dyn Optimizer> = Box::new(PortfolioOptimizer::new(bad).unwrap());
    match boxed.optimize(&input).unwrap().status {
        Status::Infeasible { culprits } => {
            assert_eq!(
                culprits,
                vec![
                    "net_min/net_max".to_string(),
                    "sector_net_min/sector_net_max".to_string()
                ]
            )
        }
        s => panic!("{s:?}"),
    }
    // a call error is a RoleError with the typed source
    let nan = vec![f64::NAN];
    let bad_s = Array2::from_shape_vec((1, 1), nan).unwrap();
    let input = PortfolioInput {
        opportunities: &opps[..1],
        covariance: None,
        scenarios: Some(bad_s.view()),
        current: &current,
    };
    let e = boxed.optimize(&input).unwrap_err();
    let src = std::error::Error::source(&e).unwrap();
    assert!(src
        .downcast_ref::<prudentia_portfolio::PortfolioError>()
        .is_some());
}

#[test]
fn results_and_configs_round_trip_through_serde() {
    let (mu, cov, _, _) = synthetic(4, 10, 1);
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        ..Default::default()
    };
    let r = PortfolioOptimizer::new(cfg.clone())
        .unwrap()
        .solve(&PortfolioProblem::new(mu).with_covariance(cov))
        .unwrap();
    let back: PortfolioResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
    let c: PortfolioConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(c, cfg);
    // defaults fill missing fields
    let c: PortfolioConfig = serde_json::from_str(r#"{"alpha": 0.99}"#).unwrap();
    assert_eq!(c.alpha, 0.99);
    assert_eq!(c.limits, Limits::default());
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<PortfolioOptimizer>();
    check::<PortfolioResult>();
    check::<PrimalDualController>();
    check::<prudentia_portfolio::PreparedProblem>();
    check::<prudentia_portfolio::PortfolioError>();
}

/// The status branches reach the caller through the `Optimizer` role as themselves:
/// Clarabel's `AlmostSolved` as reduced accuracy (never optimal), the iteration limit, and a
/// fallback that keeps the infeasible solve's culprits as its cause.
#[test]
fn status_branches_reach_the_caller_through_the_role() {
    let n = 6;
    let (mu, cov, s, sectors) = synthetic(n, 200, 9);
    let opps = opportunities(&mu, &sectors);
    let current = Weights::new(vec![], vec![]).unwrap();
    let input = PortfolioInput {
        opportunities: &opps,
        covariance: Some(cov.view()),
        scenarios: Some(s.view()),
        current: &current,
    };
    let base = PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 0.1,
        limits: Limits {
            net_min: Some(1.0),
            net_max: Some(1.0),
            ..Default::default()
        },
        ..Default::default()
    };
    // a tolerance below what double precision reaches: Clarabel ends at its reduced
    // tolerances (AlmostSolved), which is reduced accuracy, not optimal
    let mut tight = base.clone();
    tight.solver.tolerance = 1e-16;
    tight.cvar_method = CvarMethod::FullLp;
    let t = PortfolioOptimizer::new(tight).unwrap().optimize(&input).unwrap();
    assert!(
        matches!(t.status, Status::ReducedAccuracy { .. }),
        "{:?}",
        t.status
    );
    assert!((t.weights.net() - 1.0).abs() < 1e-4);
    // the iteration limit
    let mut short = base.clone();
    short.solver.max_iterations = 2;
    let t = PortfolioOptimizer::new(short).unwrap().optimize(&input).unwrap();
    assert_eq!(t.status, Status::IterationLimit { iterations: 2 });
    // a fallback after an infeasible solve keeps the culprits (OptimStatus::Fallback lost them)
    let mut bad = base;
    bad.limits.sector_net_max = Some(0.2);
    bad.fallback = FallbackPolicy::KeepCurrent;
    let t = PortfolioOptimizer::new(bad).unwrap().optimize(&input).unwrap();
    match t.status {
        Status::Fallback { reason, cause } => {
            assert!(reason.contains("kept current weights"), "{reason}");
            assert_eq!(
                *cause,
                Status::Infeasible {
                    culprits: vec![
                        "net_min/net_max".to_string(),
                        "sector_net_min/sector_net_max".to_string()
                    ]
                }
            );
        }
        s => panic!("{s:?}"),
    }
}

fn four_assets() -> PortfolioProblem {
    // Tech (AAPL, MSFT) has the best expected returns.
    let cov = Array2::from_diag(&Array1::from(vec![0.04, 0.04, 0.03, 0.03]));
    PortfolioProblem::new(vec![0.10, 0.09, 0.03, 0.02])
        .with_covariance(cov)
        .with_sectors(["Tech", "Tech", "Energy", "Energy"])
        .with_asset_names(["AAPL", "MSFT", "XOM", "CVX"])
}

fn budget(limits: Limits) -> PortfolioConfig {
    PortfolioConfig {
        objective: Objective::MeanVariance,
        risk_aversion: 0.5,
        limits: Limits {
            net_min: Some(1.0),
            net_max: Some(1.0),
            ..limits
        },
        ..Default::default()
    }
}

/// Issue #19: per-sector caps by sector name, beside the global sector bounds; a cap binds
/// and the binding limit is reported by sector name.
#[test]
fn per_sector_cap_by_name_binds() {
    let p = four_assets();
    let free = PortfolioOptimizer::new(budget(Limits::default()))
        .unwrap()
        .solve(&p)
        .unwrap();
    assert_eq!(free.status, Status::Converged);
    let tech_free = free.weights[0] + free.weights[1];
    assert!(tech_free > 0.5, "{:?}", free.weights);
    // In JSON (as in a configuration file); an unknown sector name is allowed.
    let limits: Limits = serde_json::from_str(
        r#"{"sector_caps": {"Tech": {"net_max": 0.3}, "Utilities": {"net_min": 0.0, "net_max": 0.1}}}"#,
    )
    .unwrap();
    assert_eq!(limits.sector_net_bounds("Tech"), (None, Some(0.3)));
    assert_eq!(limits.sector_net_bounds("Energy"), (None, None));
    let r = PortfolioOptimizer::new(budget(limits.clone()))
        .unwrap()
        .solve(&p)
        .unwrap();
    assert_eq!(r.status, Status::Converged);
    let tech = r.weights[0] + r.weights[1];
    assert!((tech - 0.3).abs() < 1e-6, "{:?}", r.weights);
    let binding = r
        .active
        .iter()
        .find(|a| a.name == "sector_net_max[Tech]")
        .unwrap_or_else(|| panic!("{:?}", r.active));
    assert!(binding.shadow_price > 0.0);
    assert_eq!(
        binding.limit,
        LimitId::SectorNetMax {
            sector: "Tech".into()
        }
    );
    // The cap overrides the global sector bound for Tech only, field by field.
    let both = Limits {
        sector_net_max: Some(0.8),
        ..limits
    };
    assert_eq!(both.sector_net_bounds("Tech"), (None, Some(0.3)));
    assert_eq!(both.sector_net_bounds("Energy"), (None, Some(0.8)));
    let r = PortfolioOptimizer::new(budget(both)).unwrap().solve(&p).unwrap();
    assert_eq!(r.status, Status::Converged);
    assert!((r.weights[0] + r.weights[1] - 0.3).abs() < 1e-6);
    assert!(r.weights[2] + r.weights[3] <= 0.8 + 1e-6);
    // Validated at construction and on load: finite, min ≤ max (after the global bounds).
    let mut bad = Limits::default();
    bad.sector_caps.insert(
        "Tech".into(),
        SectorCap {
            net_min: Some(0.5),
            net_max: Some(0.2),
        },
    );
    let e = PortfolioOptimizer::new(budget(bad)).unwrap_err();
    assert!(e.to_string().contains("Tech"), "{e}");
    let mut bad = Limits {
        sector_net_max: Some(0.2),
        ..Default::default()
    };
    bad.sector_caps.insert(
        "Tech".into(),
        SectorCap {
            net_min: Some(0.3),
            net_max: None,
        },
    );
    assert!(bad.validate().is_err());
    let mut bad = Limits::default();
    bad.sector_caps.insert(
        "Tech".into(),
        SectorCap {
            net_min: None,
            net_max: Some(f64::NAN),
        },
    );
    assert!(bad.validate().is_err());
    for json in [
        r#"{"sector_caps": {"Tech": {"net_min": 0.5, "net_max": 0.2}}}"#,
        r#"{"sector_caps": {"Tech": {"net_mx": 0.2}}}"#,
    ] {
        assert!(serde_json::from_str::<Limits>(json).is_err(), "{json}");
    }
}

/// Issue #19: binding limits and infeasibility culprits name assets and sectors, not indices.
#[test]
fn binding_limits_and_culprits_are_named_by_asset_and_sector() {
    let p = four_assets();
    // A binding per-name cap is reported by asset name.
    let r = PortfolioOptimizer::new(budget(Limits {
        weight_max: 0.35,
        ..Default::default()
    }))
    .unwrap()
    .solve(&p)
    .unwrap();
    assert_eq!(r.status, Status::Converged);
    let names: Vec<&str> = r.active.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"weight_max[AAPL]"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("[0]")), "{names:?}");
    assert!(r.to_string().contains("binding: weight_max[AAPL]"), "{r}");
    // Tech must hold at least 90 % but its two names may hold 40 % each: the culprits name
    // the sector and its assets.
    let mut limits = Limits {
        weight_max: 0.4,
        ..Default::default()
    };
    limits.sector_caps.insert(
        "Tech".into(),
        SectorCap {
            net_min: Some(0.9),
            net_max: None,
        },
    );
    let r = PortfolioOptimizer::new(budget(limits))
        .unwrap()
        .solve(&p)
        .unwrap();
    match &r.status {
        Status::Infeasible { culprits } => assert_eq!(
            culprits,
            &vec![
                "weight bounds [AAPL, MSFT]".to_string(),
                "sector_net_min/sector_net_max [Tech]".to_string()
            ]
        ),
        s => panic!("{s:?}"),
    }
    let inf = r.infeasibility.as_ref().unwrap();
    assert!(inf.detail.contains("sector Tech"), "{}", inf.detail);
    // The named culprits still parse as limit groups.
    if let Status::Infeasible { culprits } = &r.status {
        let groups: Vec<prudentia_portfolio::LimitGroup> =
            culprits.iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(groups, inf.culprits);
    }
    // A conflict only the solver sees (turnover against a sector floor) is narrowed down to
    // the sector by a second deletion filter over the sectors.
    let mut limits = Limits {
        turnover_max: Some(0.5),
        ..Default::default()
    };
    limits.sector_caps.insert(
        "Tech".into(),
        SectorCap {
            net_min: Some(0.6),
            net_max: None,
        },
    );
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        limits,
        ..Default::default()
    };
    let r = PortfolioOptimizer::new(cfg).unwrap().solve(&p).unwrap();
    assert_eq!(
        r.status,
        Status::Infeasible {
            culprits: vec![
                "sector_net_min/sector_net_max [Tech]".into(),
                "turnover_max".into()
            ]
        }
    );
    assert!(r.infeasibility.unwrap().detail.contains("deletion filter"));
    // A per-name bound pair that contradicts itself names the asset.
    let q = four_assets().with_bounds(vec![0.0, 0.0, 0.5, 0.0], vec![1.0, 1.0, 0.2, 1.0]);
    let r = PortfolioOptimizer::new(budget(Limits::default()))
        .unwrap()
        .solve(&q)
        .unwrap();
    assert_eq!(
        r.status,
        Status::Infeasible {
            culprits: vec!["weight bounds [XOM]".into()]
        }
    );
    assert!(r.infeasibility.unwrap().detail.contains("asset XOM"));
    // Through the Optimizer role, asset ids are the names.
    let opps: Vec<Opportunity> = ["AAPL", "MSFT", "XOM", "CVX"]
        .iter()
        .zip([0.10, 0.09, 0.03, 0.02])
        .map(|(id, m)| Opportunity {
            asset: AssetInfo::new(*id, 100.0).unwrap(),
            forecast: Forecast::new(m, 0.2, Horizon::DAY).unwrap(),
        })
        .collect();
    let prob = PortfolioOptimizer::problem_from_input(&PortfolioInput {
        opportunities: &opps,
        covariance: None,
        scenarios: None,
        current: &Weights::default(),
    });
    assert_eq!(prob.asset_names, vec!["AAPL", "MSFT", "XOM", "CVX"]);
}
