//! The primal–dual controller keeps realized average CVaR and turnover inside their budgets on
//! prudentia-datasets' seeded synthetic market, where a fixed-λ optimizer violates them.

use ndarray::{s, Array1};
use prudentia_core::normal;
use prudentia_datasets::{SyntheticConfig, SyntheticMarket};
use prudentia_portfolio::{
    CvarMethod, Limits, Objective, PortfolioConfig, PortfolioOptimizer, PortfolioProblem, PrimalDualConfig,
    PrimalDualController, RiskOutcome,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const PERIODS: usize = 240;
const WINDOW: usize = 120;
const ALPHA: f64 = 0.95;
const CVAR_BUDGET: f64 = 0.02;
const TURNOVER_BUDGET: f64 = 0.15;

/// prudentia-datasets' regime-switching market (8 assets in 2 sectors, risk-on and risk-off
/// regimes). Each period (one trading day t) the optimizer sees the trailing `WINDOW` days of
/// returns as CVaR scenarios and a noisy forecast of the true drift; the book's realized risk
/// is its CVaR under the market's true distribution that day, N(μ_t, Σ_t), in closed form:
/// `CVaR_α = −wᵀμ_t + sqrt(wᵀΣ_t w)·φ(Φ⁻¹(α))/(1 − α)`.
struct Market {
    m: SyntheticMarket,
    noise: StdRng,
}

impl Market {
    fn new() -> Self {
        let m = SyntheticMarket::generate(&SyntheticConfig {
            n_assets: 8,
            n_sectors: 2,
            n_days: WINDOW + PERIODS,
            ..Default::default()
        })
        .unwrap();
        Self {
            m,
            noise: StdRng::seed_from_u64(42),
        }
    }
    fn n(&self) -> usize {
        self.m.n_assets()
    }
    fn forecast(&mut self, t: usize) -> Vec<f64> {
        let noise = &mut self.noise;
        self.m
            .true_mean
            .row(t)
            .iter()
            .map(|mu| {
                let e: f64 = StandardNormal.sample(noise);
                mu + 0.0008 * e
            })
            .collect()
    }
    fn true_cvar(&self, t: usize, w: &[f64]) -> f64 {
        let w = Array1::from(w.to_vec());
        let cov = self.m.true_covariance(t).unwrap();
        let mean = w.dot(&self.m.true_mean.row(t));
        let sd = w.dot(&cov.dot(&w)).max(0.0).sqrt();
        -mean + sd * normal::pdf(normal::quantile(ALPHA)) / (1.0 - ALPHA)
    }
}

struct Path {
    cvar: Vec<f64>,
    turnover: Vec<f64>,
    lambdas: Vec<(f64, f64)>,
}

fn run(controlled: bool) -> Path {
    let mut market = Market::new();
    let n = market.n();
    let budgets = PrimalDualConfig {
        cvar_budget: CVAR_BUDGET,
        turnover_budget: TURNOVER_BUDGET,
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
        alpha: ALPHA,
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
    let mut w = vec![0.0; n];
    let mut path = Path {
        cvar: vec![],
        turnover: vec![],
        lambdas: vec![],
    };
    for t in WINDOW..WINDOW + PERIODS {
        if controlled {
            ctl.apply(&mut base);
        }
        path.lambdas.push((base.cvar_penalty, base.turnover_penalty));
        let opt = PortfolioOptimizer::new(base.clone()).unwrap();
        let p = PortfolioProblem::new(market.forecast(t))
            .with_scenarios(market.m.returns.slice(s![t - WINDOW..t, ..]).to_owned())
            .with_current(w.clone());
        let r = opt.solve(&p).unwrap();
        assert!(r.status.is_converged(), "{:?}", r.status);
        let turnover: f64 = r.weights.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
        let cvar = market.true_cvar(t, &r.weights);
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
    for k in (0..PERIODS).step_by(10) {
        println!(
            "{k:>4}  {:.4} {:.3} | {:.4} {:.3} {:.3} {:.5}",
            fixed.cvar[k], fixed.turnover[k], pd.cvar[k], pd.turnover[k], pd.lambdas[k].0, pd.lambdas[k].1
        );
    }
    let (fc, ft) = (mean(&fixed.cvar[half..]), mean(&fixed.turnover[half..]));
    let (pc, pt) = (mean(&pd.cvar[half..]), mean(&pd.turnover[half..]));
    println!("second-half averages: fixed cvar {fc:.4} turnover {ft:.3}; primal-dual cvar {pc:.4} turnover {pt:.3}");
    println!("budgets: cvar {CVAR_BUDGET}, turnover {TURNOVER_BUDGET}");
    assert!(
        fc > CVAR_BUDGET && ft > TURNOVER_BUDGET,
        "fixed λ should violate both budgets"
    );
    assert!(
        pc <= CVAR_BUDGET && pt <= TURNOVER_BUDGET,
        "primal-dual should meet both budgets"
    );
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
    assert!(st.average_cvar <= CVAR_BUDGET * 1.05 && st.average_turnover <= TURNOVER_BUDGET * 1.05);
    assert!(mean(&fixed.cvar) > CVAR_BUDGET && mean(&fixed.turnover) > TURNOVER_BUDGET);
}

#[test]
fn extreme_outcomes_keep_the_state_finite_and_reloadable() {
    let mut c = PrimalDualController::new(PrimalDualConfig {
        cvar_budget: 5e-324,
        ..Default::default()
    })
    .unwrap();
    for cvar in [f64::MAX, -f64::MAX, 1e300, -1e300, 5e-324] {
        c.update(&RiskOutcome {
            cvar,
            turnover: 1e300,
        })
        .unwrap();
        let (lc, lt) = c.penalties();
        assert!(lc.is_finite() && lt.is_finite());
        let s = *c.state();
        assert!(s.average_cvar.is_finite() && s.average_turnover.is_finite());
        // the controller's own output always reloads
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<PrimalDualController>(&json).unwrap(), c);
    }
    // a rejected update changes nothing
    let before = c.clone();
    for bad in [
        RiskOutcome {
            cvar: f64::NAN,
            turnover: 0.0,
        },
        RiskOutcome {
            cvar: 0.0,
            turnover: -1.0,
        },
        RiskOutcome {
            cvar: f64::INFINITY,
            turnover: 0.0,
        },
    ] {
        assert!(c.update(&bad).is_err());
        assert_eq!(c, before);
    }
    // the period counter saturates
    let mut state = *c.state();
    state.periods = u64::MAX;
    let mut full = PrimalDualController::from_state(*c.config(), state).unwrap();
    full.update(&RiskOutcome {
        cvar: 0.01,
        turnover: 0.1,
    })
    .unwrap();
    assert_eq!(full.state().periods, u64::MAX);
}

#[test]
fn tampered_controller_checkpoints_are_refused() {
    let c = PrimalDualController::new(PrimalDualConfig::default()).unwrap();
    let json = serde_json::to_value(&c).unwrap();
    assert!(serde_json::from_value::<PrimalDualController>(json.clone()).is_ok());
    for (field, v) in [
        ("cvar_penalty", 1e9),     // above max_cvar_penalty
        ("cvar_penalty", -1.0),    // a multiplier is >= 0
        ("turnover_penalty", 2.0), // above max_turnover_penalty
        ("average_turnover", -0.5),
    ] {
        let mut bad = json.clone();
        bad["state"][field] = serde_json::json!(v);
        assert!(
            serde_json::from_value::<PrimalDualController>(bad).is_err(),
            "{field} = {v}"
        );
    }
    let mut bad = json;
    bad["config"]["decay"] = serde_json::json!(1.0);
    assert!(serde_json::from_value::<PrimalDualController>(bad).is_err());
}
