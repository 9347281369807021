//! Agreement with cvxpy + Clarabel on checked-in fixtures (tools/fixtures/portfolio/make_fixtures.py).

use crate::common;

use common::{check_duals, fixture, fixture_limits, real_returns, sample_mean_cov, strings, vec_f64};
use prudentia_portfolio::{
    CvarMethod, LimitId, Objective, PortfolioConfig, PortfolioOptimizer, PortfolioProblem,
};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn mean_cvar_case(case: &serde_json::Value, method: CvarMethod) {
    let f = fixture("mean_cvar_long_only.json");
    let (r, _, _) = real_returns();
    let mu = vec_f64(&f["mu"]);
    let cfg = common::mean_cvar_fixture_config(&f, case, method);
    let opt = PortfolioOptimizer::new(cfg).unwrap();
    let res = opt.solve(&PortfolioProblem::new(mu).with_scenarios(r)).unwrap();
    assert!(res.status.is_converged(), "{:?}", res.status);
    let want = vec_f64(&case["weights"]);
    let name = case["name"].as_str().unwrap();
    let dw = max_abs_diff(&res.weights, &want);
    let dobj = rel(res.objective.objective, case["objective"].as_f64().unwrap());
    let dcvar = rel(res.risk.cvar.unwrap(), case["cvar"].as_f64().unwrap());
    println!("mean-CVaR {name} {method:?}: max|Δw| = {dw:.2e}, rel Δobjective = {dobj:.2e}, rel ΔCVaR = {dcvar:.2e}, rounds = {}", res.info.cut_rounds);
    assert!(case["unique"].as_bool().unwrap());
    // README quotes 2e-7 in the weights; the bound is 10× that.
    assert!(dw < 2e-6, "{name}: weights differ by {dw}");
    assert!(dobj < 1e-6, "{name}: objective rel diff {dobj}");
    assert!(dcvar < 1e-6, "{name}: cvar rel diff {dcvar}");
    assert!(rel(res.risk.var.unwrap(), case["var"].as_f64().unwrap()) < 1e-4);
    if let Some(d) = case.get("dual_cvar_max") {
        let a = res.active(&LimitId::CvarMax).expect("cvar limit binds");
        let dd = rel(a.shadow_price, d.as_f64().unwrap());
        println!(
            "  shadow price of cvar_max {:.6e} vs cvxpy {:.6e} (rel {dd:.1e})",
            a.shadow_price,
            d.as_f64().unwrap()
        );
        assert!(dd < 1e-5);
    }
    if let Some(d) = case.get("dual_net") {
        let a = res.active(&LimitId::NetEqual).expect("budget row");
        // cvxpy's equality dual is for  sum w == 1  in the maximization; ours is ∂J/∂net.
        let dd = (a.shadow_price.abs() - d.as_f64().unwrap().abs()).abs() / d.as_f64().unwrap().abs();
        println!(
            "  shadow price of budget {:.6e} vs cvxpy {:.6e}",
            a.shadow_price,
            d.as_f64().unwrap()
        );
        assert!(dd < 1e-5);
    }
}

#[test]
fn mean_cvar_long_only_matches_cvxpy_full_lp() {
    let f = fixture("mean_cvar_long_only.json");
    for case in f["cases"].as_array().unwrap() {
        mean_cvar_case(case, CvarMethod::FullLp);
    }
}

#[test]
fn mean_cvar_long_only_matches_cvxpy_scenario_generation() {
    let f = fixture("mean_cvar_long_only.json");
    for case in f["cases"].as_array().unwrap() {
        mean_cvar_case(case, CvarMethod::ScenarioGeneration);
    }
}

#[test]
fn mean_cvar_long_only_matches_cvxpy_cutting_plane() {
    let f = fixture("mean_cvar_long_only.json");
    for case in f["cases"].as_array().unwrap() {
        mean_cvar_case(case, CvarMethod::CuttingPlane);
    }
}

fn long_short_mv(method: CvarMethod) {
    let f = fixture("mean_variance_long_short.json");
    let (r, _, _) = real_returns();
    let (mu, cov) = sample_mean_cov(&r);
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        risk_aversion: f["risk_aversion"].as_f64().unwrap(),
        alpha: f["alpha"].as_f64().unwrap(),
        cvar_method: method,
        limits: fixture_limits(&f["limits"]),
        ..Default::default()
    };
    let sectors = strings(&f["sectors"]);
    let problem = PortfolioProblem::new(mu)
        .with_covariance(cov)
        .with_scenarios(r)
        .with_current(vec_f64(&f["current"]))
        .with_costs(vec_f64(&f["costs"]))
        .with_sectors(sectors);
    let res = PortfolioOptimizer::new(cfg).unwrap().solve(&problem).unwrap();
    assert!(res.status.is_converged(), "{:?}", res.status);
    let dw = max_abs_diff(&res.weights, &vec_f64(&f["weights"]));
    let dobj = rel(res.objective.objective, f["objective"].as_f64().unwrap());
    println!("long-short MV {method:?}: max|Δw| = {dw:.2e}, rel Δobjective = {dobj:.2e}");
    assert!(dw < 2e-6, "weights differ by {dw}");
    assert!(dobj < 1e-6, "objective rel diff {dobj}");
    assert!(rel(res.risk.variance.unwrap(), f["variance"].as_f64().unwrap()) < 1e-4);
    assert!(rel(res.risk.turnover, f["turnover"].as_f64().unwrap()) < 1e-4);
    // shadow prices of the binding limits agree with cvxpy's duals
    // shadow prices: observed within 2e-6 relative, bound 1e-5
    check_duals(&res, &f["duals"], 1e-5);
}

#[test]
fn long_short_mean_variance_every_limit_matches_cvxpy() {
    long_short_mv(CvarMethod::FullLp);
    long_short_mv(CvarMethod::CuttingPlane);
    long_short_mv(CvarMethod::ScenarioGeneration);
}

#[test]
fn fixture_returns_equal_prudentia_datasets_returns() {
    // the fixture's 500 × 20 returns are the last 500 simple returns of the shipped CSV
    let (r, names, sectors) = real_returns();
    let frame = prudentia_datasets::sp500_stocks()
        .unwrap()
        .simple_returns()
        .unwrap();
    assert_eq!(frame.columns(), &names[..]);
    let v = frame.values();
    let off = v.nrows() - r.nrows();
    for ((i, j), x) in r.indexed_iter() {
        assert!((x - v[[off + i, j]]).abs() <= 1e-15, "({i}, {j})");
    }
    for (n, s) in names.iter().zip(&sectors) {
        // the fixture's short sector labels map onto the datasets crate's GICS names
        assert!(prudentia_datasets::sector_of(n).is_some(), "{n} {s}");
    }
}
