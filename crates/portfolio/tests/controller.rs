//! The primal–dual controller keeps realized average CVaR and turnover inside their budgets on a
//! seeded synthetic market, where a fixed-λ optimizer violates them.

use ndarray::Array2;
use prudentia_portfolio::{
    scenario_var_cvar, CvarMethod, Limits, Objective, PortfolioConfig, PortfolioOptimizer, PortfolioProblem,
    PrimalDualConfig, PrimalDualController, RiskOutcome,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const N: usize = 6;
const PERIODS: usize = 120;
const WINDOW: usize = 120;
const OUT_OF_SAMPLE: usize = 400;

/// Seeded market: true drifts and vols with one common factor; each period the optimizer sees
/// a short estimation window and a noisy drift forecast; realized risk is measured on fresh
/// draws from the true distribution (out of sample).
struct Market {
    rng: StdRng,
    mu: [f64; N],
    vol: [f64; N],
}

impl Market {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            mu: [0.0010, 0.0008, 0.0006, 0.0004, 0.0003, 0.0002],
            vol: [0.030, 0.025, 0.020, 0.015, 0.010, 0.008],
        }
    }
    fn draws(&mut self, t: usize) -> Array2<f64> {
        let mut s = Array2::zeros((t, N));
        for r in 0..t {
            let m: f64 = StandardNormal.sample(&mut self.rng);
            for i in 0..N {
                let e: f64 = StandardNormal.sample(&mut self.rng);
                s[[r, i]] = self.mu[i] + self.vol[i] * (0.6 * m + 0.8 * e);
            }
        }
        s
    }
    fn forecast(&mut self) -> Vec<f64> {
        (0..N)
            .map(|i| {
                let e: f64 = StandardNormal.sample(&mut self.rng);
                self.mu[i] + 0.0008 * e
            })
            .collect()
    }
}

struct Path {
    cvar: Vec<f64>,
    turnover: Vec<f64>,
    lambdas: Vec<(f64, f64)>,
}

fn run(controlled: bool) -> Path {
    let mut market = Market::new(42);
    let budgets = PrimalDualConfig {
        cvar_budget: 0.03,
        turnover_budget: 0.15,
        initial_cvar_penalty: 0.02,
        initial_turnover_penalty: 0.0,
        cvar_step: 0.02,
        turnover_step: 0.0005,
        decay: 0.3,
        ..Default::default()
    };
    let mut ctl = PrimalDualController::new(budgets).unwrap();
    let mut base = PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 0.02,
        alpha: 0.95,
        cvar_method: CvarMethod::FullLp,
        limits: Limits {
            weight_min: -0.5,
            weight_max: 1.0,
            gross_max: Some(2.0),
            net_min: Some(0.0),
            net_max: Some(1.0),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut w = vec![0.0; N];
    let mut path = Path {
        cvar: vec![],
        turnover: vec![],
        lambdas: vec![],
    };
    for _ in 0..PERIODS {
        if controlled {
            ctl.apply(&mut base);
        }
        path.lambdas.push((base.cvar_penalty, base.turnover_penalty));
        let opt = PortfolioOptimizer::new(base.clone()).unwrap();
        let p = PortfolioProblem::new(market.forecast())
            .with_scenarios(market.draws(WINDOW))
            .with_current(w.clone());
        let r = opt.solve(&p).unwrap();
        assert!(r.status.is_optimal(), "{:?}", r.status);
        let turnover: f64 = r.weights.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
        let (_, cvar) = scenario_var_cvar(market.draws(OUT_OF_SAMPLE).view(), &r.weights, 0.95).unwrap();
        w = r.weights;
        ctl.update(&RiskOutcome { cvar, turnover }).unwrap();
        path.cvar.push(cvar);
        path.turnover.push(turnover);
    }
    path
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn primal_dual_meets_budgets_where_fixed_lambda_violates_them() {
    let fixed = run(false);
    let pd = run(true);
    let half = PERIODS / 2;
    println!("period  fixed: cvar turnover | primal-dual: cvar turnover lambda_cvar lambda_turnover");
    for k in (0..PERIODS).step_by(5) {
        println!(
            "{k:>4}  {:.4} {:.3} | {:.4} {:.3} {:.3} {:.5}",
            fixed.cvar[k], fixed.turnover[k], pd.cvar[k], pd.turnover[k], pd.lambdas[k].0, pd.lambdas[k].1
        );
    }
    let (fc, ft) = (mean(&fixed.cvar[half..]), mean(&fixed.turnover[half..]));
    let (pc, pt) = (mean(&pd.cvar[half..]), mean(&pd.turnover[half..]));
    println!("second-half averages: fixed cvar {fc:.4} turnover {ft:.3}; primal-dual cvar {pc:.4} turnover {pt:.3}");
    println!("budgets: cvar 0.03, turnover 0.15");
    assert!(fc > 0.03 && ft > 0.15, "fixed λ should violate both budgets");
    assert!(pc <= 0.03 && pt <= 0.15, "primal-dual should meet both budgets");
    // the running averages the controller tracks end inside the budgets (all periods)
    let st = {
        let mut c = PrimalDualController::new(PrimalDualConfig::default()).unwrap();
        for (cv, t) in pd.cvar.iter().zip(&pd.turnover) {
            c.update(&RiskOutcome {
                cvar: *cv,
                turnover: *t,
            })
            .unwrap();
        }
        *c.state()
    };
    println!(
        "whole-path averages under primal-dual: cvar {:.4} turnover {:.3}",
        st.average_cvar, st.average_turnover
    );
    assert!(st.average_cvar <= 0.03 * 1.05 && st.average_turnover <= 0.15 * 1.05);
    assert!(mean(&fixed.cvar) > 0.03 && mean(&fixed.turnover) > 0.15);
}
