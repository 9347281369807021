//! The convex trading-cost term (issue #15): value at the solution, monotone shrinkage of the
//! trade, a brute-force check on two assets, and bad configurations.

use ndarray::{array, Array2};
use prudentia_core::error::CoreError;
use prudentia_core::Status;
use prudentia_portfolio::{
    ConvexCost, Limits, Objective, PortfolioConfig, PortfolioError, PortfolioOptimizer, PortfolioProblem,
    PortfolioResult, SolverConfig,
};

/// The piecewise-linear interpolant of c1·d + c32·d^1.5 on D·(j/k)², evaluated by hand.
fn by_hand(c1: f64, c32: f64, k: usize, big_d: f64, d: f64) -> f64 {
    let f = |x: f64| c1 * x + c32 * x.powf(1.5);
    let bp: Vec<f64> = (0..=k).map(|j| big_d * (j as f64 / k as f64).powi(2)).collect();
    let d = d.abs();
    // the segment holding d (the last one beyond D)
    let j = (1..=k).find(|&j| d <= bp[j]).unwrap_or(k);
    let (x0, x1) = (bp[j - 1], bp[j]);
    f(x0) + (f(x1) - f(x0)) * (d - x0) / (x1 - x0)
}

fn mv_problem() -> PortfolioProblem {
    let cov = array![
        [0.040, 0.006, 0.004, 0.002],
        [0.006, 0.090, 0.010, 0.003],
        [0.004, 0.010, 0.060, 0.005],
        [0.002, 0.003, 0.005, 0.020]
    ];
    PortfolioProblem::new(vec![0.08, 0.14, 0.11, 0.03])
        .with_covariance(cov)
        .with_current(vec![0.4, 0.1, 0.1, 0.4])
}

fn scenarios() -> Array2<f64> {
    // deterministic pseudo-random scenarios (LCG), 200 × 4, mean ≈ μ
    let mut state: u64 = 7;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let mu = [0.02, 0.035, 0.03, 0.008];
    let vol = [0.2, 0.35, 0.3, 0.1];
    Array2::from_shape_fn((200, 4), |(_, j)| mu[j] + vol[j] * next())
}

fn budget() -> Limits {
    Limits {
        weight_min: 0.0,
        weight_max: 1.0,
        net_min: Some(1.0),
        net_max: Some(1.0),
        ..Limits::default()
    }
}

fn cost(scale: f64) -> ConvexCost {
    ConvexCost {
        linear: vec![0.002 * scale, 0.004 * scale, 0.003 * scale, 0.001 * scale],
        power: vec![0.05 * scale, 0.2 * scale, 0.1 * scale, 0.02 * scale],
        breakpoints: 6,
        max_trade: 1.0,
    }
}

fn mv_config(c: Option<ConvexCost>, structured: bool) -> PortfolioConfig {
    PortfolioConfig {
        objective: Objective::MeanVariance,
        risk_aversion: 2.0,
        limits: budget(),
        convex_cost: c,
        solver: SolverConfig {
            structured_qp: structured,
            ..SolverConfig::default()
        },
        ..PortfolioConfig::default()
    }
}

fn solve(cfg: PortfolioConfig, p: &PortfolioProblem) -> PortfolioResult {
    let r = PortfolioOptimizer::new(cfg).unwrap().solve(p).unwrap();
    assert_eq!(r.status, Status::Converged, "{:?}", r.status);
    r
}

fn trade(r: &PortfolioResult, w0: &[f64]) -> f64 {
    r.weights.iter().zip(w0).map(|(w, c)| (w - c).abs()).sum()
}

#[test]
fn cost_at_solution_is_the_piecewise_function() {
    let p = mv_problem();
    let c = cost(1.0);
    for structured in [true, false] {
        let r = solve(mv_config(Some(c.clone()), structured), &p);
        // the cost rows (one weight, one auxiliary) stay inside the structured method
        assert_eq!(r.info.structured, structured);
        let hand: f64 = (0..4)
            .map(|i| by_hand(c.linear[i], c.power[i], 6, 1.0, r.weights[i] - p.current[i]))
            .sum();
        assert!(
            (r.objective.cost - hand).abs() < 1e-12,
            "{} vs {hand}",
            r.objective.cost
        );
        for i in 0..4 {
            let d = r.weights[i] - p.current[i];
            let v = c.value(i, d).unwrap();
            assert!((v - by_hand(c.linear[i], c.power[i], 6, 1.0, d)).abs() < 1e-14);
            // the interpolant lies above the exact cost
            assert!(v >= c.exact(i, d).unwrap() - 1e-15);
        }
        // the reported objective is μᵀw − γ wᵀΣw − cost
        let mu_w: f64 = p
            .expected_returns
            .iter()
            .zip(&r.weights)
            .map(|(a, b)| a * b)
            .sum();
        let var = p.covariance.as_ref().unwrap().variance(&r.weights).unwrap();
        assert!((r.objective.objective - (mu_w - 2.0 * var - hand)).abs() < 1e-12);
        assert!(r.objective.cost > 1e-4, "the cost term is active");
    }
    // mean–CVaR LP (smaller costs: the scenario returns are per period)
    let c = cost(0.02);
    let p = PortfolioProblem::new(vec![0.02, 0.035, 0.03, 0.008])
        .with_scenarios(scenarios())
        .with_current(vec![0.4, 0.1, 0.1, 0.4]);
    let cfg = PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 0.5,
        limits: budget(),
        convex_cost: Some(c.clone()),
        ..PortfolioConfig::default()
    };
    let r = solve(cfg, &p);
    let hand: f64 = (0..4)
        .map(|i| by_hand(c.linear[i], c.power[i], 6, 1.0, r.weights[i] - p.current[i]))
        .sum();
    assert!((r.objective.cost - hand).abs() < 1e-12);
    assert!(trade(&r, &p.current) > 1e-3, "{:?}", r.weights);
    assert!(r.objective.cost > 0.0);
}

#[test]
fn larger_costs_shrink_the_trade_and_zero_cost_changes_nothing() {
    let p = mv_problem();
    let base = solve(mv_config(None, true), &p);
    // zero costs, explicit zeros and empty vectors: today's solution
    for zero in [cost(0.0), ConvexCost::default()] {
        for structured in [true, false] {
            let r = solve(mv_config(Some(zero.clone()), structured), &p);
            for (a, b) in r.weights.iter().zip(&base.weights) {
                assert!((a - b).abs() < 1e-6, "{:?} vs {:?}", r.weights, base.weights);
            }
            assert_eq!(r.objective.cost, 0.0);
        }
    }
    let t0 = trade(&base, &p.current);
    assert!(t0 > 0.1, "the cost-free optimum trades ({t0})");
    let mut last = t0;
    let mut last_dist = 0.0;
    for scale in [0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0] {
        let r = solve(mv_config(Some(cost(scale)), true), &p);
        let t = trade(&r, &p.current);
        assert!(t <= last + 1e-6, "scale {scale}: trade {t} > {last}");
        // distance from the cost-free optimum grows
        let dist: f64 = r
            .weights
            .iter()
            .zip(&base.weights)
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(dist >= last_dist - 1e-6, "scale {scale}: {dist} < {last_dist}");
        last = t;
        last_dist = dist;
    }
    assert!(
        last < 0.05 * t0,
        "large costs keep the book near w0 ({last} vs {t0})"
    );
}

/// J(w1) on the line w2 = 1 − w1 with the piecewise cost, for the brute force.
fn two_asset_objective(
    w1: f64,
    mu: [f64; 2],
    cov: [[f64; 2]; 2],
    gamma: f64,
    w0: [f64; 2],
    c: &ConvexCost,
) -> f64 {
    let w = [w1, 1.0 - w1];
    let ret = mu[0] * w[0] + mu[1] * w[1];
    let var = cov[0][0] * w[0] * w[0] + 2.0 * cov[0][1] * w[0] * w[1] + cov[1][1] * w[1] * w[1];
    let cst = c.value(0, w[0] - w0[0]).unwrap() + c.value(1, w[1] - w0[1]).unwrap();
    ret - gamma * var - cst
}

#[test]
fn two_asset_mean_variance_matches_brute_force() {
    let mu = [0.10, 0.04];
    let cov = [[0.05, 0.01], [0.01, 0.02]];
    let w0 = [0.2, 0.8];
    let gamma = 1.5;
    let p = PortfolioProblem::new(mu.to_vec())
        .with_covariance(array![[cov[0][0], cov[0][1]], [cov[1][0], cov[1][1]]])
        .with_current(w0.to_vec());
    for (c1, c32, k) in [(0.0, 0.05, 8), (0.01, 0.1, 4), (0.002, 0.02, 16), (0.03, 0.0, 1)] {
        let c = ConvexCost {
            linear: vec![c1, 2.0 * c1],
            power: vec![c32, 0.5 * c32],
            breakpoints: k,
            max_trade: 1.0,
        };
        let cfg = PortfolioConfig {
            risk_aversion: gamma,
            ..mv_config(Some(c.clone()), true)
        };
        // brute force over a fine grid of w1, then a local refinement
        let steps = 200_000;
        let (mut best_w, mut best_j) = (0.0, f64::NEG_INFINITY);
        for s in 0..=steps {
            let w1 = s as f64 / steps as f64;
            let j = two_asset_objective(w1, mu, cov, gamma, w0, &c);
            if j > best_j {
                best_j = j;
                best_w = w1;
            }
        }
        for structured in [true, false] {
            let cfg = PortfolioConfig {
                solver: SolverConfig {
                    structured_qp: structured,
                    ..SolverConfig::default()
                },
                ..cfg.clone()
            };
            let r = solve(cfg, &p);
            let j = two_asset_objective(r.weights[0], mu, cov, gamma, w0, &c);
            assert!((r.objective.objective - j).abs() < 1e-12);
            assert!(j >= best_j - 1e-9, "solver {j} below brute force {best_j}");
            assert!(
                (r.weights[0] - best_w).abs() < 1e-4,
                "({c1}, {c32}, {k}) w1 {} vs brute force {best_w}",
                r.weights[0]
            );
        }
    }
    // closed form: a linear-only convex cost is the problem's linear cost
    let lin = ConvexCost {
        linear: vec![0.02, 0.01],
        ..ConvexCost::default()
    };
    let a = solve(mv_config(Some(lin), true), &p);
    let b = solve(mv_config(None, true), &p.clone().with_costs(vec![0.02, 0.01]));
    assert!((a.weights[0] - b.weights[0]).abs() < 1e-6);
    assert!((a.objective.cost - b.objective.cost).abs() < 1e-7);
}

#[test]
fn prepared_problem_moves_the_cost_with_the_current_weights() {
    let p = mv_problem();
    let cfg = mv_config(Some(cost(1.0)), true);
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let mut prep = opt.prepare(p.clone()).unwrap();
    let w0 = vec![0.1, 0.3, 0.3, 0.3];
    prep.set_current(&w0).unwrap();
    let a = opt.solve_prepared(&prep).unwrap();
    let b = opt.solve(&p.with_current(w0)).unwrap();
    for (x, y) in a.weights.iter().zip(&b.weights) {
        assert!((x - y).abs() < 1e-7, "{:?} vs {:?}", a.weights, b.weights);
    }
    assert!((a.objective.cost - b.objective.cost).abs() < 1e-9);
}

#[test]
fn bad_convex_cost_is_a_typed_error() {
    let with = |c: ConvexCost| PortfolioConfig {
        convex_cost: Some(c),
        ..PortfolioConfig::default()
    };
    let bad = [
        ConvexCost {
            linear: vec![0.1, -0.01],
            ..ConvexCost::default()
        },
        ConvexCost {
            power: vec![f64::NAN],
            ..ConvexCost::default()
        },
        ConvexCost {
            power: vec![f64::INFINITY],
            ..ConvexCost::default()
        },
        ConvexCost {
            linear: vec![-0.0, f64::NEG_INFINITY],
            ..ConvexCost::default()
        },
        ConvexCost {
            breakpoints: 0,
            ..ConvexCost::default()
        },
        ConvexCost {
            breakpoints: usize::MAX,
            ..ConvexCost::default()
        },
        ConvexCost {
            max_trade: 0.0,
            ..ConvexCost::default()
        },
        ConvexCost {
            max_trade: f64::NAN,
            ..ConvexCost::default()
        },
        ConvexCost {
            max_trade: 1e300,
            ..ConvexCost::default()
        },
        ConvexCost {
            power: vec![f64::MAX],
            max_trade: 4.0,
            ..ConvexCost::default()
        },
    ];
    for c in bad {
        let err = PortfolioOptimizer::new(with(c.clone())).unwrap_err();
        assert!(
            matches!(err, PortfolioError::InvalidConfig { field, .. } if field.starts_with("convex_cost.")),
            "{c:?}: {err:?}"
        );
        // and on load
        let json = serde_json::to_string(&with(c)).unwrap();
        assert!(serde_json::from_str::<PortfolioConfig>(&json).is_err(), "{json}");
    }
    // wrong length for the problem: typed error at solve (and prepare), not a panic
    let opt = PortfolioOptimizer::new(mv_config(Some(cost(1.0)), true)).unwrap();
    let p3 = PortfolioProblem::new(vec![0.1, 0.2, 0.3]).with_covariance(Array2::eye(3));
    for err in [opt.solve(&p3).unwrap_err(), opt.prepare(p3).unwrap_err()] {
        assert!(
            matches!(err, PortfolioError::Core(CoreError::ShapeMismatch { .. })),
            "{err:?}"
        );
    }
    // the default is off, and an old config without the field loads with it off
    assert_eq!(PortfolioConfig::default().convex_cost, None);
    let old: PortfolioConfig = serde_json::from_str(r#"{"risk_aversion": 2.0}"#).unwrap();
    assert_eq!(old.convex_cost, None);
    let partial: ConvexCost = serde_json::from_str(r#"{"power": [0.1]}"#).unwrap();
    assert_eq!(partial.breakpoints, 8);
    // a config's own output reloads
    let good = with(cost(1.0));
    let back: PortfolioConfig = serde_json::from_str(&serde_json::to_string(&good).unwrap()).unwrap();
    assert_eq!(back, good);
    // value/exact on bad input are None, not panics
    let c = cost(1.0);
    assert_eq!(c.value(0, f64::NAN), None);
    assert_eq!(c.exact(0, f64::INFINITY), None);
    assert_eq!(c.value(99, 0.5), Some(0.0));
}
