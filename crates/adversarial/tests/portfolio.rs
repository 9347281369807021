//! prudentia-portfolio under bad input: configs, problems, solves (every objective and CVaR
//! method, contradictory limits, extreme data), prepared re-solves, the optimizer role, the
//! covariance model, the primal–dual controller, and checkpoint mutations of every serde
//! type (load, then use), and the convex trading-cost term (bad-config table, sweeps, extreme
//! coefficients, checkpoint). An `Optimal` result must meet every limit.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::{Optimizer, PortfolioInput};
use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity, Weights};
use prudentia_portfolio::{
    scenario_var_cvar, ConvexCost, CovarianceModel, CvarMethod, FallbackPolicy, Limits, Objective,
    PortfolioConfig, PortfolioOptimizer, PortfolioProblem, PortfolioResult, PrimalDualConfig,
    PrimalDualController, PrimalDualState, PsdPolicy, RiskOutcome, SectorCap, SolverConfig,
    FEASIBILITY_TOLERANCE,
};

/// Every limit of `cfg` checked directly at an `Optimal` result (independently of the crate's
/// own check), within `FEASIBILITY_TOLERANCE · max(1, |bound|)` plus roundoff of the sums.
fn limits_hold(cfg: &PortfolioConfig, p: &PortfolioProblem, r: &PortfolioResult) -> Result<(), String> {
    // converged and reduced-accuracy results are both checked by the crate: check them here
    if !matches!(
        r.status,
        prudentia_core::Status::Converged | prudentia_core::Status::ReducedAccuracy { .. }
    ) {
        return Ok(());
    }
    let w = &r.weights;
    let n = p.n_assets();
    if w.len() != n {
        return Err(format!("{} weights for {n} assets", w.len()));
    }
    let scale: f64 = w.iter().map(|x| x.abs()).sum::<f64>().max(1.0);
    let over = |what: String, v: f64, bound: f64| -> Result<(), String> {
        let tol = FEASIBILITY_TOLERANCE * bound.abs().max(1.0) + 1e-12 * scale;
        if v > bound + tol {
            Err(format!("Optimal but {what} = {v} above {bound}"))
        } else {
            Ok(())
        }
    };
    let l = &cfg.limits;
    for i in 0..n {
        let (lo, hi) = match &p.bounds {
            Some((lo, hi)) => (lo[i], hi[i]),
            None => (l.weight_min, l.weight_max),
        };
        over(format!("w[{i}]"), w[i], hi)?;
        over(format!("-w[{i}]"), -w[i], -lo)?;
    }
    let gross: f64 = w.iter().map(|x| x.abs()).sum();
    let net: f64 = w.iter().sum();
    let long: f64 = w.iter().map(|x| x.max(0.0)).sum();
    let short: f64 = w.iter().map(|x| (-x).max(0.0)).sum();
    let turnover: f64 = w.iter().zip(&p.current).map(|(a, b)| (a - b).abs()).sum();
    if let Some(g) = l.gross_max {
        over("gross".into(), gross, g)?;
    }
    if let Some(g) = l.net_max {
        over("net".into(), net, g)?;
    }
    if let Some(g) = l.net_min {
        over("-net".into(), -net, -g)?;
    }
    if let Some(g) = l.leverage_max {
        over("long book".into(), long, g)?;
        over("short book".into(), short, g)?;
    }
    if let Some(g) = l.turnover_max {
        over("turnover".into(), turnover, g)?;
    }
    let mut sectors: Vec<&str> = p.sectors.iter().flatten().map(String::as_str).collect();
    sectors.sort_unstable();
    sectors.dedup();
    for s in sectors {
        let members: Vec<usize> = (0..n).filter(|&i| p.sectors[i].as_deref() == Some(s)).collect();
        let snet: f64 = members.iter().map(|&i| w[i]).sum();
        let sgross: f64 = members.iter().map(|&i| w[i].abs()).sum();
        let (sector_min, sector_max) = l.sector_net_bounds(s);
        if let Some(g) = sector_max {
            over(format!("sector {s} net"), snet, g)?;
        }
        if let Some(g) = sector_min {
            over(format!("-sector {s} net"), -snet, -g)?;
        }
        if let Some(g) = l.sector_gross_max {
            over(format!("sector {s} gross"), sgross, g)?;
        }
    }
    if let (Some(c), Some(sc)) = (l.cvar_max, &p.scenarios) {
        let (_, cvar) = scenario_var_cvar(sc.view(), w, cfg.alpha).map_err(|e| e.to_string())?;
        over("CVaR".into(), cvar, c)?;
    }
    Ok(())
}

fn solve_checked(cfg: PortfolioConfig, p: PortfolioProblem) -> Check {
    let opt = match PortfolioOptimizer::new(cfg.clone()) {
        Ok(o) => o,
        Err(_) => return Check::Rejected,
    };
    result_with(opt.solve(&p), |r| limits_hold(&cfg, &p, r))
}

fn fast_solver() -> SolverConfig {
    SolverConfig {
        max_iterations: 100,
        time_limit_s: Some(5.0),
        max_cut_rounds: 50,
        ..Default::default()
    }
}

fn limits_strategy() -> impl Strategy<Value = Limits> {
    let opt = || prop::option::of(prop_oneof![4 => -2.0..2.0f64, 1 => any_f64()]);
    (
        prop_oneof![3 => Just(0.0), 2 => Just(-0.5), 1 => any_f64()],
        prop_oneof![3 => Just(1.0), 2 => Just(0.6), 1 => any_f64()],
        (opt(), opt(), opt(), opt()),
        (opt(), opt(), opt(), opt(), opt()),
    )
        .prop_map(
            |(
                weight_min,
                weight_max,
                (gross_max, net_min, net_max, leverage_max),
                (snmin, snmax, sg, turn, cvar),
            )| {
                Limits {
                    weight_min,
                    weight_max,
                    gross_max,
                    net_min,
                    net_max,
                    leverage_max,
                    sector_net_min: snmin,
                    sector_net_max: snmax,
                    sector_gross_max: sg,
                    sector_caps: Default::default(),
                    turnover_max: turn,
                    cvar_max: cvar,
                }
            },
        )
}

fn base_problem(n: usize) -> PortfolioProblem {
    let mu: Vec<f64> = (0..n).map(|i| 0.01 * (i as f64 + 1.0)).collect();
    let cov = Array2::from_shape_fn((n, n), |(i, j)| if i == j { 0.04 } else { 0.01 });
    let sc = Array2::from_shape_fn((8, n), |(t, i)| 0.02 * ((t * 7 + i * 3) % 5) as f64 - 0.04);
    PortfolioProblem::new(mu)
        .with_covariance(cov)
        .with_scenarios(sc)
        .with_sectors((0..n).map(|i| if i % 2 == 0 { "a" } else { "b" }))
}

#[test]
fn configs_and_solves() {
    let mut s = Suite::new("portfolio: solve");

    // configs
    s.sweep(
        "PortfolioOptimizer::new",
        (
            (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()),
            limits_strategy(),
            (
                any::<u32>(),
                any_f64(),
                prop::option::of(any_f64()),
                any_size(),
                any_f64(),
            ),
        ),
        |((ra, cp, tp, alpha, at), limits, (it, tol, tl, cuts, ctol))| {
            let cfg = PortfolioConfig {
                risk_aversion: ra,
                cvar_penalty: cp,
                turnover_penalty: tp,
                alpha,
                active_tolerance: at,
                limits,
                psd: PsdPolicy::Repair { min_eigenvalue: ra },
                solver: SolverConfig {
                    max_iterations: it,
                    tolerance: tol,
                    time_limit_s: tl,
                    max_cut_rounds: cuts,
                    cut_tolerance: ctol,
                    ..Default::default()
                },
                ..Default::default()
            };
            result(PortfolioOptimizer::new(cfg).map(|o| o.config().clone()))
        },
    );

    // the reported false Optimal: data at 1e±150 and beyond, every objective, both solvers
    for scale in [1e-300, 1e-150, 1e150, 1e300, f64::MAX] {
        for objective in [
            Objective::MeanVariance,
            Objective::MinVariance,
            Objective::MeanCvar,
        ] {
            for structured in [true, false] {
                s.check(
                    format!("scale {scale:e} {objective:?} structured={structured}"),
                    move || {
                        let cfg = PortfolioConfig {
                            objective,
                            limits: Limits {
                                weight_min: -0.2,
                                weight_max: 0.6,
                                net_min: Some(1.0),
                                net_max: Some(1.0),
                                gross_max: Some(1.4),
                                ..Default::default()
                            },
                            solver: SolverConfig {
                                structured_qp: structured,
                                structured_cvar: structured,
                                ..fast_solver()
                            },
                            ..Default::default()
                        };
                        let mut p = base_problem(3);
                        p.expected_returns.iter_mut().for_each(|m| *m *= scale);
                        if let Some(CovarianceModel::Full(c)) = &mut p.covariance {
                            c.mapv_inplace(|v| v * scale);
                        }
                        if let Some(sc) = &mut p.scenarios {
                            sc.mapv_inplace(|v| v * scale);
                        }
                        solve_checked(cfg, p)
                    },
                );
            }
        }
    }

    // random problems: any objective, CVaR method, limits (often contradictory), data
    s.sweep(
        "PortfolioOptimizer::solve",
        (
            (vec_f64(1..5), matrix(2..10, 1..5), matrix(1..12, 1..5)),
            limits_strategy(),
            (
                proptest::sample::select(vec![
                    Objective::MeanVariance,
                    Objective::MinVariance,
                    Objective::MeanCvar,
                ]),
                proptest::sample::select(vec![
                    CvarMethod::Auto,
                    CvarMethod::FullLp,
                    CvarMethod::CuttingPlane,
                    CvarMethod::ScenarioGeneration,
                ]),
                proptest::sample::select(vec![
                    FallbackPolicy::None,
                    FallbackPolicy::KeepCurrent,
                    FallbackPolicy::ScaleDownCurrent,
                ]),
                any::<bool>(),
                any::<bool>(),
            ),
        ),
        |((mu, x, sc), limits, (objective, cvar_method, fallback, structured, sectors))| {
            let n = mu.len();
            let cov = if x.ncols() == n {
                x.t().dot(&x)
            } else {
                Array2::eye(n)
            };
            let sc = if sc.ncols() == n {
                sc
            } else {
                Array2::from_elem((3, n), 0.01)
            };
            let mut p = PortfolioProblem::new(mu.clone())
                .with_covariance(cov)
                .with_scenarios(sc);
            p.current = mu
                .iter()
                .map(|m| if m.is_finite() { m.clamp(-1.0, 1.0) } else { 0.0 })
                .collect();
            if sectors {
                p = p.with_sectors((0..n).map(|i| if i < 2 { "a" } else { "b" }));
            }
            let cfg = PortfolioConfig {
                objective,
                cvar_method,
                fallback,
                limits,
                turnover_penalty: 0.001,
                solver: SolverConfig {
                    structured_qp: structured,
                    structured_cvar: structured,
                    ..fast_solver()
                },
                ..Default::default()
            };
            solve_checked(cfg, p)
        },
    );

    // the structured mean–CVaR LP (`structured_cvar`) against Clarabel on larger scenario
    // sets with twists (huge, tiny, NaN, inf, collinear, zero columns): both refuse the same
    // inputs, and when both converge the objectives agree
    s.sweep(
        "solve mean-CVaR structured vs Clarabel",
        (
            matrix(20..90, 2..7),
            limits_strategy(),
            proptest::sample::select(vec![CvarMethod::FullLp, CvarMethod::ScenarioGeneration]),
            proptest::sample::select(vec![0.5, 0.9, 0.95]),
        ),
        |(sc, limits, cvar_method, alpha)| {
            let n = sc.ncols();
            let mu: Vec<f64> = (0..n).map(|i| 0.001 * (i as f64 - 1.0)).collect();
            let p = PortfolioProblem::new(mu).with_scenarios(sc);
            let cfg = |structured: bool| PortfolioConfig {
                objective: Objective::MeanCvar,
                alpha,
                cvar_method,
                limits: limits.clone(),
                solver: SolverConfig {
                    structured_cvar: structured,
                    ..fast_solver()
                },
                ..Default::default()
            };
            let solve = |structured: bool| PortfolioOptimizer::new(cfg(structured)).map(|o| o.solve(&p));
            match (solve(true), solve(false)) {
                (Err(_), Err(_)) | (Ok(Err(_)), Ok(Err(_))) => Check::Rejected,
                (Ok(Ok(a)), Ok(Ok(b))) => {
                    if let Err(e) = limits_hold(&cfg(true), &p, &a) {
                        return Check::Broken(e);
                    }
                    if a.status.is_converged() && b.status.is_converged() {
                        let (x, y) = (a.objective.objective, b.objective.objective);
                        let tol = 1e-6 * (x.abs().max(y.abs()) + 1e-3);
                        if (x - y).abs() > tol {
                            return Check::Broken(format!("objective {x} (structured) vs {y} (Clarabel)"));
                        }
                    }
                    Check::ok_finite(&a)
                }
                (x, y) => Check::Broken(format!(
                    "structured and Clarabel disagree on refusing: {:?} vs {:?}",
                    x.map(|r| r.map(|r| r.status)),
                    y.map(|r| r.map(|r| r.status))
                )),
            }
        },
    );
    // the issue #18 size (K = 50, T = 252) with extreme scenario magnitudes, both backends
    for scale in [1.0, 1e-300, 5e-324, 1e300, f64::MAX, f64::NAN, f64::INFINITY] {
        for structured in [true, false] {
            s.check(
                format!("mean-CVaR K=50 T=252 scale {scale:e} structured_cvar={structured}"),
                move || {
                    let (t, n) = (252usize, 50usize);
                    let mu: Vec<f64> = (0..n).map(|i| scale * 1e-4 * ((i % 7) as f64 - 2.0)).collect();
                    let sc = Array2::from_shape_fn((t, n), |(s, i)| {
                        scale * 0.01 * ((((s * 31 + i * 17) % 23) as f64) / 11.0 - 1.0)
                    });
                    let cfg = PortfolioConfig {
                        objective: Objective::MeanCvar,
                        limits: Limits {
                            weight_max: 0.1,
                            net_min: Some(1.0),
                            net_max: Some(1.0),
                            ..Default::default()
                        },
                        solver: SolverConfig {
                            structured_cvar: structured,
                            ..fast_solver()
                        },
                        ..Default::default()
                    };
                    solve_checked(cfg, PortfolioProblem::new(mu).with_scenarios(sc))
                },
            );
        }
    }

    // per-name bounds, costs, factor models, mismatched shapes
    s.sweep(
        "solve with bounds, costs and a factor model",
        (
            vec_f64(1..4),
            vec_f64(1..4),
            vec_f64(1..4),
            matrix(1..4, 1..3),
            vec_f64(1..4),
        ),
        |(lo, hi, costs, loadings, specific)| {
            let n = lo.len();
            let mut p = PortfolioProblem::new(vec![0.05; n])
                .with_bounds(lo, hi)
                .with_costs(costs);
            let k = loadings.ncols();
            p.covariance = Some(CovarianceModel::Factor {
                loadings,
                factor_covariance: Array2::eye(k),
                specific: Array1::from_vec(specific),
            });
            let cfg = PortfolioConfig {
                objective: Objective::MeanVariance,
                limits: Limits {
                    gross_max: Some(2.0),
                    ..Default::default()
                },
                solver: fast_solver(),
                ..Default::default()
            };
            solve_checked(cfg, p)
        },
    );
    s.check("solve with no assets", || {
        solve_checked(PortfolioConfig::default(), PortfolioProblem::new(vec![]))
    });
    s.check("solve with 65537 assets", || {
        let cfg = PortfolioConfig {
            objective: Objective::MeanVariance,
            ..Default::default()
        };
        solve_checked(cfg, PortfolioProblem::new(vec![0.0; (1 << 16) + 1]))
    });
    s.check("solve without a risk model", || {
        let cfg = PortfolioConfig {
            objective: Objective::MeanVariance,
            ..Default::default()
        };
        solve_checked(cfg, PortfolioProblem::new(vec![0.1, 0.2]))
    });
    s.check("solve with no bound on the weights", || {
        let cfg = PortfolioConfig {
            objective: Objective::MeanVariance,
            limits: Limits {
                weight_min: f64::NEG_INFINITY,
                weight_max: f64::INFINITY,
                ..Default::default()
            },
            ..Default::default()
        };
        solve_checked(cfg, base_problem(2))
    });

    // prepared problems: validate before mutate
    s.sweep(
        "PreparedProblem::set_*",
        (vec_f64(0..5), vec_f64(0..5), any::<bool>()),
        |(mu, current, structured)| {
            let cfg = PortfolioConfig {
                objective: Objective::MeanVariance,
                limits: Limits {
                    turnover_max: Some(0.5),
                    ..Default::default()
                },
                solver: SolverConfig {
                    structured_qp: structured,
                    ..fast_solver()
                },
                ..Default::default()
            };
            let opt = PortfolioOptimizer::new(cfg.clone()).expect("config");
            let mut prepared = match opt.prepare(base_problem(3)) {
                Ok(p) => p,
                Err(_) => return Check::Broken("a valid problem was refused".into()),
            };
            let before = prepared.problem().clone();
            if prepared.set_expected_returns(&mu).is_err() && prepared.problem() != &before {
                return Check::Broken("a rejected set_expected_returns changed the problem".into());
            }
            let before = prepared.problem().clone();
            if prepared.set_current(&current).is_err() && prepared.problem() != &before {
                return Check::Broken("a rejected set_current changed the problem".into());
            }
            let p = prepared.problem().clone();
            result_with(opt.solve_prepared(&prepared), |r| limits_hold(&cfg, &p, r))
        },
    );

    // the optimizer role
    s.sweep("Optimizer::optimize", (vec_f64(1..4), price()), |(mu, px)| {
        let opps: Option<Vec<Opportunity>> = mu
            .iter()
            .enumerate()
            .map(|(i, m)| {
                Some(Opportunity {
                    asset: AssetInfo::new(format!("A{i}"), px).ok()?,
                    forecast: Forecast::new(*m, 0.02, Horizon::DAY).ok()?,
                })
            })
            .collect();
        let Some(opps) = opps else {
            return Check::Rejected;
        };
        let n = opps.len();
        let cov = Array2::<f64>::eye(n) * 0.04;
        let current = Weights::default();
        let input = PortfolioInput {
            opportunities: &opps,
            covariance: Some(cov.view()),
            scenarios: None,
            current: &current,
        };
        let opt = PortfolioOptimizer::new(PortfolioConfig {
            objective: Objective::MeanVariance,
            solver: fast_solver(),
            ..Default::default()
        })
        .expect("config");
        match opt.optimize(&input) {
            Ok(t) => Check::ok_finite(&t),
            Err(_) => Check::Rejected,
        }
    });

    // measurement helpers
    s.sweep(
        "scenario_var_cvar",
        (matrix(0..8, 1..4), vec_f64(0..4), any_f64()),
        |(sc, w, alpha)| result(scenario_var_cvar(sc.view(), &w, alpha)),
    );
    s.sweep(
        "CovarianceModel::variance",
        (matrix(1..4, 1..4), vec_f64(0..5)),
        |(x, w)| {
            let full = CovarianceModel::Full(x.t().dot(&x));
            let k = x.ncols();
            let factor = CovarianceModel::Factor {
                loadings: x.clone(),
                factor_covariance: Array2::eye(k),
                specific: Array1::from_elem(x.nrows(), 0.01),
            };
            result(
                full.variance(&w)
                    .and_then(|a| factor.variance(&w).map(|b| (a, b))),
            )
        },
    );
    s.finish();
}

#[test]
fn controller() {
    let mut s = Suite::new("portfolio: controller");
    s.sweep(
        "PrimalDualController::new",
        (
            (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()),
            (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()),
        ),
        |((cb, tb, ic, it, cs), (ts, decay, tf, mc, mt))| {
            result(PrimalDualController::new(PrimalDualConfig {
                cvar_budget: cb,
                turnover_budget: tb,
                initial_cvar_penalty: ic,
                initial_turnover_penalty: it,
                cvar_step: cs,
                turnover_step: ts,
                decay,
                target_fraction: tf,
                max_cvar_penalty: mc,
                max_turnover_penalty: mt,
            }))
        },
    );
    s.sweep(
        "PrimalDualController::update",
        (
            prop::collection::vec((any_f64(), any_f64()), 0..12),
            prop_oneof![Just(0.03), Just(5e-324), Just(1e300)],
            any::<u64>(),
        ),
        |(outcomes, budget, periods)| {
            let cfg = PrimalDualConfig {
                cvar_budget: budget,
                turnover_budget: budget,
                ..Default::default()
            };
            let state = PrimalDualState {
                periods,
                ..Default::default()
            };
            let mut c = match PrimalDualController::from_state(cfg, state) {
                Ok(c) => c,
                Err(_) => return Check::Rejected,
            };
            for (cvar, turnover) in outcomes {
                let before = c.clone();
                if c.update(&RiskOutcome { cvar, turnover }).is_err() && c != before {
                    return Check::Broken("a rejected update changed the controller".into());
                }
                let (lc, lt) = c.penalties();
                if !(0.0..=cfg.max_cvar_penalty).contains(&lc)
                    || !(0.0..=cfg.max_turnover_penalty).contains(&lt)
                {
                    return Check::Broken(format!("penalties ({lc}, {lt}) outside their bounds"));
                }
            }
            match serde_json::to_string(&c).map(|j| serde_json::from_str::<PrimalDualController>(&j)) {
                Ok(Ok(back)) if back == c => Check::ok_finite(&(c.state(), c.step_scale())),
                _ => Check::Broken("the controller's own checkpoint does not reload".into()),
            }
        },
    );
    s.sweep(
        "PrimalDualController::from_state",
        (any_f64(), any_f64(), any_f64(), any_f64(), any::<u64>()),
        |(cvar_penalty, turnover_penalty, average_cvar, average_turnover, periods)| {
            let st = PrimalDualState {
                periods,
                cvar_penalty,
                turnover_penalty,
                average_cvar,
                average_turnover,
            };
            result(PrimalDualController::from_state(PrimalDualConfig::default(), st).map(|c| c.penalties()))
        },
    );
    let mut c = PrimalDualController::new(PrimalDualConfig::default()).expect("config");
    for k in 0..5 {
        c.update(&RiskOutcome {
            cvar: 0.02 + 0.01 * k as f64,
            turnover: 0.1,
        })
        .expect("outcome");
    }
    let use_controller = |mut c: PrimalDualController| -> Check {
        let r = c.update(&RiskOutcome {
            cvar: 0.05,
            turnover: 0.3,
        });
        let mut cfg = PortfolioConfig::default();
        c.apply(&mut cfg);
        match r {
            Err(_) => Check::Rejected,
            Ok(()) => {
                let (lc, lt) = c.penalties();
                Check::invariant(
                    (0.0..=c.config().max_cvar_penalty).contains(&lc)
                        && (0.0..=c.config().max_turnover_penalty).contains(&lt),
                    "penalties within their bounds",
                )
                .and(|| result(PortfolioOptimizer::new(cfg).map(|_| (*c.state(), c.step_scale()))))
            }
        }
    };
    s.checkpoint(
        "PrimalDualController",
        &c,
        move |json| match serde_json::from_str::<PrimalDualController>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => use_controller(c),
        },
    );
    let cfg = *c.config();
    s.checkpoint(
        "PrimalDualState",
        c.state(),
        move |json| match serde_json::from_str::<PrimalDualState>(&json) {
            Err(_) => Check::Rejected,
            Ok(st) => match PrimalDualController::from_state(cfg, st) {
                Err(_) => Check::Rejected,
                Ok(c) => use_controller(c),
            },
        },
    );
    s.checkpoint("PrimalDualConfig", &cfg, move |json| {
        match serde_json::from_str::<PrimalDualConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(cfg) => match PrimalDualController::new(cfg) {
                Err(_) => Check::Rejected,
                Ok(c) => use_controller(c),
            },
        }
    });
    s.finish();
}

#[test]
fn checkpoints() {
    let mut s = Suite::new("portfolio: checkpoints");
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        limits: Limits {
            weight_min: -0.3,
            weight_max: 0.7,
            gross_max: Some(1.5),
            net_min: Some(0.5),
            net_max: Some(1.0),
            sector_gross_max: Some(1.0),
            turnover_max: Some(1.2),
            cvar_max: Some(0.5),
            ..Default::default()
        },
        solver: fast_solver(),
        ..Default::default()
    };
    let problem = base_problem(3).with_costs(vec![0.001; 3]);
    let solved = PortfolioOptimizer::new(cfg.clone())
        .expect("config")
        .solve(&problem)
        .expect("solve");
    {
        let problem = problem.clone();
        s.checkpoint("PortfolioConfig", &cfg, move |json| {
            match serde_json::from_str::<PortfolioConfig>(&json) {
                Err(_) => Check::Rejected,
                Ok(mut c) => {
                    // keep the solve short whatever the mutation did to the solver settings
                    c.solver.max_iterations = c.solver.max_iterations.min(100);
                    c.solver.max_cut_rounds = c.solver.max_cut_rounds.min(50);
                    c.solver.time_limit_s = Some(5.0);
                    solve_checked(c, problem.clone())
                }
            }
        });
    }
    {
        let cfg = cfg.clone();
        s.checkpoint(
            "PortfolioProblem",
            &problem,
            move |json| match serde_json::from_str::<PortfolioProblem>(&json) {
                Err(_) => Check::Rejected,
                Ok(p) => solve_checked(cfg.clone(), p),
            },
        );
    }
    {
        let limits = cfg.limits.clone();
        let cfg = cfg.clone();
        let problem = problem.clone();
        s.checkpoint("Limits", &limits, move |json| {
            match serde_json::from_str::<Limits>(&json) {
                Err(_) => Check::Rejected,
                Ok(limits) => solve_checked(
                    PortfolioConfig {
                        limits,
                        ..cfg.clone()
                    },
                    problem.clone(),
                ),
            }
        });
    }
    {
        let solver = cfg.solver;
        let cfg = cfg.clone();
        let problem = problem.clone();
        s.checkpoint("SolverConfig", &solver, move |json| {
            match serde_json::from_str::<SolverConfig>(&json) {
                Err(_) => Check::Rejected,
                Ok(mut solver) => {
                    solver.max_iterations = solver.max_iterations.min(100);
                    solver.max_cut_rounds = solver.max_cut_rounds.min(50);
                    solver.time_limit_s = Some(5.0);
                    solve_checked(
                        PortfolioConfig {
                            solver,
                            ..cfg.clone()
                        },
                        problem.clone(),
                    )
                }
            }
        });
    }
    if let Some(cov) = problem.covariance.clone() {
        let cfg = cfg.clone();
        let problem = problem.clone();
        s.checkpoint("CovarianceModel", &cov, move |json| {
            match serde_json::from_str::<CovarianceModel>(&json) {
                Err(_) => Check::Rejected,
                Ok(c) => {
                    let v = c.variance(&[0.2, 0.3, 0.5]);
                    let mut p = problem.clone();
                    p.covariance = Some(c);
                    match v {
                        Err(_) => result(PortfolioOptimizer::new(cfg.clone()).and_then(|o| o.solve(&p))),
                        Ok(_) => solve_checked(cfg.clone(), p),
                    }
                }
            }
        });
    }
    s.checkpoint("PortfolioResult", &solved, |json| {
        match serde_json::from_str::<PortfolioResult>(&json) {
            Err(_) => Check::Rejected,
            Ok(r) => Check::ok_finite(&(r.active(&prudentia_portfolio::LimitId::GrossMax).cloned(), r)),
        }
    });
    s.finish();
}

/// The convex trading cost (issue #15): the bad-config table, seeded sweeps of configs and
/// solves, extreme coefficients on both solvers, and a checkpoint of a config carrying it.
#[test]
fn convex_cost() {
    let mut s = Suite::new("portfolio: convex cost");
    let mv = |c: ConvexCost, structured: bool| PortfolioConfig {
        objective: Objective::MeanVariance,
        limits: Limits {
            weight_min: -0.2,
            weight_max: 0.8,
            net_min: Some(1.0),
            net_max: Some(1.0),
            gross_max: Some(1.5),
            ..Default::default()
        },
        convex_cost: Some(c),
        solver: SolverConfig {
            structured_qp: structured,
            ..fast_solver()
        },
        ..Default::default()
    };
    let d = ConvexCost::default;
    // the bad-config table: every entry must be refused by new (and on load)
    let table: Vec<(&str, ConvexCost)> = vec![
        (
            "linear NaN",
            ConvexCost {
                linear: vec![f64::NAN; 3],
                ..d()
            },
        ),
        (
            "linear +inf",
            ConvexCost {
                linear: vec![0.0, f64::INFINITY, 0.0],
                ..d()
            },
        ),
        (
            "linear -inf",
            ConvexCost {
                linear: vec![f64::NEG_INFINITY; 3],
                ..d()
            },
        ),
        (
            "linear negative",
            ConvexCost {
                linear: vec![0.1, -1e-300, 0.0],
                ..d()
            },
        ),
        (
            "linear -1e300",
            ConvexCost {
                linear: vec![-1e300; 3],
                ..d()
            },
        ),
        (
            "power NaN",
            ConvexCost {
                power: vec![f64::NAN; 3],
                ..d()
            },
        ),
        (
            "power negative",
            ConvexCost {
                power: vec![-5e-324; 3],
                ..d()
            },
        ),
        (
            "power f64::MAX at D = 2",
            ConvexCost {
                power: vec![f64::MAX; 3],
                max_trade: 2.0,
                ..d()
            },
        ),
        (
            "linear f64::MAX + power f64::MAX",
            ConvexCost {
                linear: vec![f64::MAX; 3],
                power: vec![f64::MAX; 3],
                ..d()
            },
        ),
        (
            "breakpoints 0",
            ConvexCost {
                breakpoints: 0,
                ..d()
            },
        ),
        (
            "breakpoints usize::MAX",
            ConvexCost {
                breakpoints: usize::MAX,
                ..d()
            },
        ),
        (
            "breakpoints 1 << 40",
            ConvexCost {
                breakpoints: 1 << 40,
                ..d()
            },
        ),
        (
            "max_trade 0",
            ConvexCost {
                max_trade: 0.0,
                ..d()
            },
        ),
        (
            "max_trade -1",
            ConvexCost {
                max_trade: -1.0,
                ..d()
            },
        ),
        (
            "max_trade NaN",
            ConvexCost {
                max_trade: f64::NAN,
                ..d()
            },
        ),
        (
            "max_trade inf",
            ConvexCost {
                max_trade: f64::INFINITY,
                ..d()
            },
        ),
        (
            "max_trade 1e300",
            ConvexCost {
                max_trade: 1e300,
                ..d()
            },
        ),
        (
            "max_trade f64::MAX",
            ConvexCost {
                max_trade: f64::MAX,
                ..d()
            },
        ),
    ];
    for (label, c) in table {
        s.check(format!("ConvexCost bad config: {label}"), move || {
            let cfg = mv(c, true);
            let refused = PortfolioOptimizer::new(cfg.clone()).is_err();
            let json = serde_json::to_string(&cfg).unwrap_or_default();
            let load_refused = serde_json::from_str::<PortfolioConfig>(&json).is_err();
            if refused && load_refused {
                Check::Rejected
            } else {
                Check::Broken(format!(
                    "accepted (new refused: {refused}, load refused: {load_refused})"
                ))
            }
        });
    }
    // wrong lengths for the problem, empty and huge problems: typed errors at solve
    for (label, len) in [("0", 0usize), ("2", 2), ("4", 4), ("65537", (1 << 16) + 1)] {
        s.check(format!("ConvexCost of length {label} on 3 assets"), move || {
            let c = ConvexCost {
                power: vec![0.01; len],
                ..ConvexCost::default()
            };
            let check = solve_checked(mv(c, true), base_problem(3));
            // only the empty vector (zeros) fits three assets
            match (len, &check) {
                (0, Check::Rejected) => Check::Broken("empty cost vectors were refused".into()),
                (0, _) | (_, Check::Rejected) => check,
                _ => Check::Broken("a mismatched cost vector was accepted".into()),
            }
        });
    }
    // extreme but valid coefficients: solve or a typed error, never a non-finite Ok
    for (c1, c32, dmax) in [
        (1e300, 0.0, 1.0),
        (0.0, 1e300, 1.0),
        (5e-324, 5e-324, 1.0),
        (1e-300, 1e300, 1e-6),
        (1e150, 1e150, 1e6),
        (f64::MAX / 4.0, 0.0, 1.0),
        (0.0, 1e-3, 1e6),
    ] {
        for structured in [true, false] {
            s.check(
                format!("ConvexCost c1 {c1:e} c32 {c32:e} D {dmax:e} structured={structured}"),
                move || {
                    let c = ConvexCost {
                        linear: vec![c1; 3],
                        power: vec![c32, 0.0, c32],
                        breakpoints: 8,
                        max_trade: dmax,
                    };
                    let p = base_problem(3).with_current(vec![0.5, 0.2, 0.3]);
                    solve_checked(mv(c, structured), p)
                },
            );
        }
    }
    // seeded sweeps: any coefficients, breakpoints, max_trade; objectives and both solvers
    s.sweep(
        "ConvexCost: new + solve",
        (
            vec_f64(0..5),
            vec_f64(0..5),
            any_size(),
            any_f64(),
            (
                proptest::sample::select(vec![
                    Objective::MeanVariance,
                    Objective::MinVariance,
                    Objective::MeanCvar,
                ]),
                any::<bool>(),
            ),
        ),
        move |(linear, power, breakpoints, max_trade, (objective, structured))| {
            let cfg = PortfolioConfig {
                objective,
                ..mv(
                    ConvexCost {
                        linear,
                        power,
                        breakpoints,
                        max_trade,
                    },
                    structured,
                )
            };
            let p = base_problem(3).with_current(vec![0.1, 0.6, 0.3]);
            solve_checked(cfg, p)
        },
    );
    s.sweep(
        "ConvexCost::value and exact",
        (vec_f64(1..3), vec_f64(1..3), any_f64(), any_size()),
        |(linear, power, trade, asset)| {
            let c = ConvexCost {
                linear,
                power,
                ..ConvexCost::default()
            };
            if c.validate().is_err() {
                return Check::Rejected;
            }
            match (c.value(asset, trade), c.exact(asset, trade)) {
                // f̂ interpolates f on [0, D] (D = 1 here) and extends linearly beyond
                (Some(v), Some(e)) => Check::invariant(
                    v.is_finite() && (trade.abs() > 1.0 || v >= e * (1.0 - 1e-12) - 1e-300),
                    "f̂ finite, and ≥ f on [0, D]",
                ),
                (None, _) | (_, None) => Check::Rejected,
            }
        },
    );
    // prepared re-solves with the cost term: set_current moves the cost rows
    s.sweep(
        "ConvexCost: PreparedProblem::set_current",
        (vec_f64(0..5), any::<bool>()),
        move |(current, structured)| {
            let c = ConvexCost {
                linear: vec![0.001; 3],
                power: vec![0.05; 3],
                ..ConvexCost::default()
            };
            let cfg = mv(c, structured);
            let opt = PortfolioOptimizer::new(cfg.clone()).expect("config");
            let Ok(mut prepared) = opt.prepare(base_problem(3)) else {
                return Check::Broken("a valid problem was refused".into());
            };
            let before = prepared.problem().clone();
            if prepared.set_current(&current).is_err() {
                return Check::invariant(
                    prepared.problem() == &before,
                    "a rejected set_current changed nothing",
                );
            }
            let p = prepared.problem().clone();
            result_with(opt.solve_prepared(&prepared), |r| limits_hold(&cfg, &p, r))
        },
    );
    // checkpoint: every mutation of a config with the cost term, loaded and then solved
    let cfg = mv(
        ConvexCost {
            linear: vec![0.001, 0.002, 0.0],
            power: vec![0.05, 0.1, 0.02],
            breakpoints: 6,
            max_trade: 1.5,
        },
        true,
    );
    let problem = base_problem(3).with_current(vec![0.5, 0.2, 0.3]);
    s.checkpoint(
        "PortfolioConfig with ConvexCost",
        &cfg,
        move |json| match serde_json::from_str::<PortfolioConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut c) => {
                c.solver.max_iterations = c.solver.max_iterations.min(100);
                c.solver.max_cut_rounds = c.solver.max_cut_rounds.min(50);
                c.solver.time_limit_s = Some(5.0);
                solve_checked(c, problem.clone())
            }
        },
    );
    let c = cfg.convex_cost.clone().unwrap_or_default();
    s.checkpoint("ConvexCost", &c, move |json| {
        match serde_json::from_str::<ConvexCost>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => match c.value(1, 0.3) {
                Some(v) => Check::ok_finite(&v),
                None => Check::Broken("a loaded cost cannot price a trade".into()),
            },
        }
    });
    s.finish();
}

/// Issue #19: per-sector caps by name and reports by asset and sector name, under bad input.
#[test]
fn sector_caps_and_names() {
    let mut s = Suite::new("portfolio: sector caps and names");
    let base = PortfolioConfig {
        objective: Objective::MeanVariance,
        solver: fast_solver(),
        ..Default::default()
    };
    let bad = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        -1e300,
        5e-324,
        f64::MAX,
        0.0,
        -0.4,
        0.3,
    ];
    for (i, &lo) in bad.iter().enumerate() {
        for &hi in &bad[i..] {
            let base = base.clone();
            s.check(format!("sector_caps a: [{lo:e}, {hi:e}]"), move || {
                let mut limits = Limits {
                    net_min: Some(1.0),
                    net_max: Some(1.0),
                    ..Default::default()
                };
                limits.sector_caps.insert(
                    "a".into(),
                    SectorCap {
                        net_min: Some(lo),
                        net_max: Some(hi),
                    },
                );
                limits.sector_caps.insert(
                    "no such sector".into(),
                    SectorCap {
                        net_min: None,
                        net_max: Some(hi),
                    },
                );
                let cfg = PortfolioConfig {
                    limits,
                    ..base.clone()
                };
                solve_checked(
                    cfg,
                    base_problem(6).with_asset_names(["A", "B", "C", "D", "E", "F"]),
                )
            });
        }
    }
    s.check("sector_caps: too many", move || {
        let mut limits = Limits::default();
        for i in 0..70_000 {
            limits.sector_caps.insert(format!("s{i}"), SectorCap::default());
        }
        result(limits.validate())
    });
    for n in [0usize, 5, 7] {
        let base = base.clone();
        s.check(format!("asset_names of length {n} for 6 assets"), move || {
            let names: Vec<String> = (0..n).map(|i| format!("A{i}")).collect();
            solve_checked(base.clone(), base_problem(6).with_asset_names(names))
        });
    }
    {
        let base = base.clone();
        s.check("culprits name a sector and its assets", move || {
            let mut limits = Limits {
                weight_max: 0.2,
                net_min: Some(1.0),
                net_max: Some(1.0),
                ..Default::default()
            };
            limits.sector_caps.insert(
                "a".into(),
                SectorCap {
                    net_min: Some(0.9),
                    net_max: None,
                },
            );
            let cfg = PortfolioConfig {
                limits,
                ..base.clone()
            };
            let p = base_problem(6).with_asset_names(["A", "B", "C", "D", "E", "F"]);
            match PortfolioOptimizer::new(cfg).map(|o| o.solve(&p)) {
                Ok(Ok(r)) => match &r.status {
                    prudentia_core::Status::Infeasible { culprits } => Check::invariant(
                        culprits.iter().any(|c| c.contains("[a]"))
                            && culprits.iter().any(|c| c.contains("A, C, E")),
                        format!("culprits name the sector and its assets: {culprits:?}"),
                    ),
                    st => Check::Broken(format!("expected infeasible, got {st:?}")),
                },
                _ => Check::Broken("the call itself failed".into()),
            }
        });
    }
    s.sweep(
        "sector caps",
        (
            prop::option::of(-2.0..2.0f64),
            prop::option::of(-2.0..2.0f64),
            limits_strategy(),
        ),
        {
            let base = base.clone();
            move |(lo, hi, mut limits)| {
                limits.sector_caps.insert(
                    "b".into(),
                    SectorCap {
                        net_min: lo,
                        net_max: hi,
                    },
                );
                let cfg = PortfolioConfig {
                    limits,
                    ..base.clone()
                };
                solve_checked(
                    cfg,
                    base_problem(6).with_asset_names(["A", "B", "C", "D", "E", "F"]),
                )
            }
        },
    );
    let mut limits = Limits {
        sector_net_max: Some(0.7),
        ..Default::default()
    };
    limits.sector_caps.insert(
        "a".into(),
        SectorCap {
            net_min: Some(0.1),
            net_max: Some(0.5),
        },
    );
    {
        let base = base.clone();
        s.checkpoint(
            "Limits with sector caps",
            &limits,
            move |json| match serde_json::from_str::<Limits>(&json) {
                Err(_) => Check::Rejected,
                Ok(limits) => solve_checked(
                    PortfolioConfig {
                        limits,
                        ..base.clone()
                    },
                    base_problem(6).with_asset_names(["A", "B", "C", "D", "E", "F"]),
                ),
            },
        );
    }
    let p = base_problem(6).with_asset_names(["A", "B", "C", "D", "E", "F"]);
    s.checkpoint(
        "PortfolioProblem with names",
        &p,
        move |json| match serde_json::from_str::<PortfolioProblem>(&json) {
            Err(_) => Check::Rejected,
            Ok(p) => solve_checked(base.clone(), p),
        },
    );
    s.finish();
}
