#![allow(dead_code, missing_docs)]
//! Shared helpers for the integration tests.

use ndarray::Array2;
use serde_json::Value;

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn vec_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn mat(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(vec_f64).collect();
    let (t, n) = (rows.len(), rows[0].len());
    Array2::from_shape_fn((t, n), |(i, j)| rows[i][j])
}

/// The 500 × 20 real returns of the fixtures, with asset names and sectors.
pub fn real_returns() -> (Array2<f64>, Vec<String>, Vec<String>) {
    let f = fixture("returns_20.json");
    let names = f["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let sectors = f["sectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (mat(&f["returns"]), names, sectors)
}

pub fn sample_mean_cov(r: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let (t, n) = r.dim();
    let mu: Vec<f64> = (0..n).map(|j| r.column(j).sum() / t as f64).collect();
    let mut c = Array2::zeros((n, n));
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0;
            for k in 0..t {
                s += (r[[k, i]] - mu[i]) * (r[[k, j]] - mu[j]);
            }
            c[[i, j]] = s / (t - 1) as f64;
        }
    }
    (mu, c)
}

/// A seeded synthetic market: n assets in `sectors` blocks with within-block correlation,
/// Gaussian returns with drift. Returns (mu, covariance, scenarios T × n, sector labels).
pub fn synthetic(n: usize, t: usize, seed: u64) -> (Vec<f64>, Array2<f64>, Array2<f64>, Vec<String>) {
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = StdRng::seed_from_u64(seed);
    let k = 4.min(n);
    let sectors: Vec<String> = (0..n).map(|i| format!("S{}", i % k)).collect();
    let vol: Vec<f64> = (0..n)
        .map(|i| 0.01 + 0.01 * ((i * 7) % 10) as f64 / 10.0)
        .collect();
    let mu: Vec<f64> = (0..n)
        .map(|i| 0.0002 + 0.0008 * ((i * 13) % 17) as f64 / 17.0 - 0.0003)
        .collect();
    let rho_in = 0.5;
    let rho_all = 0.2;
    let mut cov = Array2::zeros((n, n));
    for i in 0..n {
        for j in 0..n {
            let rho = if i == j {
                1.0
            } else if i % k == j % k {
                rho_in
            } else {
                rho_all
            };
            cov[[i, j]] = rho * vol[i] * vol[j];
        }
    }
    // scenarios: market + sector + idiosyncratic factors reproduce the correlation
    let mut s = Array2::zeros((t, n));
    for r in 0..t {
        let m: f64 = StandardNormal.sample(&mut rng);
        let sec: Vec<f64> = (0..k).map(|_| StandardNormal.sample(&mut rng)).collect();
        for i in 0..n {
            let e: f64 = StandardNormal.sample(&mut rng);
            let z = rho_all.sqrt() * m + (rho_in - rho_all).sqrt() * sec[i % k] + (1.0 - rho_in).sqrt() * e;
            s[[r, i]] = mu[i] + vol[i] * z;
        }
    }
    (mu, cov, s, sectors)
}

/// The `limits` object of a fixture as the crate's [`Limits`](prudentia_portfolio::Limits)
/// (missing or null entries are off).
pub fn fixture_limits(l: &Value) -> prudentia_portfolio::Limits {
    let g = |k: &str| l[k].as_f64();
    prudentia_portfolio::Limits {
        weight_min: g("weight_min").unwrap(),
        weight_max: g("weight_max").unwrap(),
        gross_max: g("gross_max"),
        net_min: g("net_min"),
        net_max: g("net_max"),
        leverage_max: g("leverage_max"),
        sector_net_min: g("sector_net_min"),
        sector_net_max: g("sector_net_max"),
        sector_gross_max: g("sector_gross_max"),
        sector_caps: Default::default(),
        turnover_max: g("turnover_max"),
        cvar_max: g("cvar_max"),
    }
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Checks the shadow price of every limit the fixture's cvxpy duals say binds (|dual| ≥ 1e-7)
/// against that dual, to `tol` relative; returns how many were checked.
pub fn check_duals(res: &prudentia_portfolio::PortfolioResult, duals: &Value, tol: f64) -> usize {
    let mut checked = 0;
    for (k, v) in duals.as_object().unwrap() {
        let v = v.as_f64().unwrap();
        if v.abs() < 1e-7 {
            continue;
        }
        let a = res
            .active
            .iter()
            .find(|a| {
                a.limit.to_string() == *k
                    || (k == "leverage_long" && a.limit == prudentia_portfolio::LimitId::LeverageLong)
            })
            .unwrap_or_else(|| panic!("{k} should bind; active = {:?}", res.active));
        let d = (a.shadow_price - v).abs() / v.abs().max(1e-12);
        println!("  {k}: shadow price {:.8e} vs cvxpy {v:.8e}", a.shadow_price);
        assert!(d < tol, "{k}: {} vs {v}", a.shadow_price);
        checked += 1;
    }
    checked
}

/// The mean–CVaR configuration of one case of `mean_cvar_long_only.json` (`f` is the whole
/// fixture, `case` one of its `cases`), solved with `method`.
pub fn mean_cvar_fixture_config(
    f: &Value,
    case: &Value,
    method: prudentia_portfolio::CvarMethod,
) -> prudentia_portfolio::PortfolioConfig {
    prudentia_portfolio::PortfolioConfig {
        objective: prudentia_portfolio::Objective::MeanCvar,
        cvar_penalty: case["cvar_penalty"].as_f64().unwrap(),
        alpha: f["alpha"].as_f64().unwrap(),
        cvar_method: method,
        limits: prudentia_portfolio::Limits {
            weight_min: case["weight_min"].as_f64().unwrap(),
            weight_max: case["weight_max"].as_f64().unwrap(),
            net_min: case["net"].as_f64(),
            net_max: case["net"].as_f64(),
            cvar_max: case["cvar_max"].as_f64(),
            ..Default::default()
        },
        ..Default::default()
    }
}
