//! Shared test helpers: seeded random instances and brute force.
#![allow(dead_code)]

use ndarray::Array2;
use std::collections::BTreeMap;

use prudentia_selection::{Constraints, SelectionProblem};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// A seeded random correlation matrix from a `factors`-factor model plus idiosyncratic noise
/// (PSD with unit diagonal by construction), and μ uniform in [mu_lo, mu_hi].
pub fn random_instance(
    seed: u64,
    n: usize,
    factors: usize,
    mu_lo: f64,
    mu_hi: f64,
) -> (Vec<f64>, Array2<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut load = Array2::<f64>::zeros((n, factors));
    for v in load.iter_mut() {
        *v = rng.sample::<f64, _>(StandardNormal);
    }
    let mut cov = load.dot(&load.t());
    for i in 0..n {
        cov[[i, i]] += 0.5 + rng.random_range(0.0..1.0);
    }
    let d: Vec<f64> = (0..n).map(|i| cov[[i, i]].sqrt()).collect();
    let mut rho = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..n {
            rho[[i, j]] = if i == j { 1.0 } else { cov[[i, j]] / (d[i] * d[j]) };
        }
    }
    let mu = (0..n).map(|_| rng.random_range(mu_lo..mu_hi)).collect();
    (mu, rho)
}

/// Block ("sector") correlation: items in the same of `sectors` blocks correlate about
/// `within`, others about `between`, plus seeded noise; μ uniform in [mu_lo, mu_hi].
pub fn sector_instance(
    seed: u64,
    n: usize,
    sectors: usize,
    within: f64,
    between: f64,
    mu_lo: f64,
    mu_hi: f64,
) -> (Vec<f64>, Array2<f64>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let sec: Vec<usize> = (0..n).map(|i| i % sectors).collect();
    // factor model: market + sector + idiosyncratic, loadings jittered
    let bm = between.sqrt();
    let bs = (within - between).max(0.0).sqrt();
    let mut load = Array2::<f64>::zeros((n, 1 + sectors));
    for i in 0..n {
        load[[i, 0]] = bm * (0.8 + 0.4 * rng.random_range(0.0..1.0));
        load[[i, 1 + sec[i]]] = bs * (0.8 + 0.4 * rng.random_range(0.0..1.0));
    }
    let mut cov = load.dot(&load.t());
    for i in 0..n {
        let common = cov[[i, i]];
        cov[[i, i]] = common + (1.0 - within).max(0.05);
    }
    let d: Vec<f64> = (0..n).map(|i| cov[[i, i]].sqrt()).collect();
    let mut rho = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..n {
            rho[[i, j]] = if i == j { 1.0 } else { cov[[i, j]] / (d[i] * d[j]) };
        }
    }
    let mu = (0..n).map(|_| rng.random_range(mu_lo..mu_hi)).collect();
    (mu, rho, sec)
}

/// The objective `Σ μ_i − λ Σ_{i<j} ρ_ij` computed here from the problem's data (μ, the
/// correlation in use, λ), not by the solver's code.
pub fn own_objective(p: &SelectionProblem, set: &[usize]) -> f64 {
    let n = p.n();
    let rho = p.correlation();
    let mu = p.mu();
    let mut ret = 0.0;
    let mut pen = 0.0;
    for (a, &i) in set.iter().enumerate() {
        ret += mu[i];
        for &j in &set[a + 1..] {
            pen += rho[i * n + j];
        }
    }
    ret - p.lambda() * pen
}

/// Feasibility of a set of distinct indices checked here from the caller's constraints
/// (size, must-include, must-exclude, per-sector caps, minimum return with the documented
/// tolerance `1e-12 · max(λ, max|μ|) · K`), not by the solver's code.
pub fn own_feasible(p: &SelectionProblem, c: &Constraints, set: &[usize]) -> bool {
    if set.len() != p.k() {
        return false;
    }
    if c.must_exclude.iter().any(|i| set.contains(i)) || c.must_include.iter().any(|i| !set.contains(i)) {
        return false;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in set {
        if let Some(Some(s)) = c.sectors.get(i) {
            *counts.entry(s.as_str()).or_default() += 1;
        }
    }
    for (s, &count) in &counts {
        let cap = c.sector_caps.get(*s).copied().or(c.max_per_sector);
        if cap.is_some_and(|cap| count > cap) {
            return false;
        }
    }
    if let Some(r) = c.min_expected_return {
        let mu = p.mu();
        let scale = mu.iter().fold(p.lambda(), |a, m| a.max(m.abs()));
        let tol = 1e-12 * scale.max(1e-300) * p.k() as f64;
        if set.iter().map(|&i| mu[i]).sum::<f64>() < r - tol {
            return false;
        }
    }
    true
}

/// The best feasible K-subset by enumerating every combination, with the objective and the
/// constraints evaluated by this file's own code ([`own_objective`], [`own_feasible`]).
pub fn brute_force(p: &SelectionProblem, c: &Constraints) -> Option<(Vec<usize>, f64)> {
    let n = p.n();
    let k = p.k();
    let mut best: Option<(Vec<usize>, f64)> = None;
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        if own_feasible(p, c, &idx) {
            let f = own_objective(p, &idx);
            if best.as_ref().is_none_or(|(_, b)| f > *b) {
                best = Some((idx.clone(), f));
            }
        }
        // next combination
        let mut i = k;
        loop {
            if i == 0 {
                return best;
            }
            i -= 1;
            if idx[i] != i + n - k {
                break;
            }
            if i == 0 {
                return best;
            }
        }
        if idx[i] == i + n - k {
            return best;
        }
        idx[i] += 1;
        for j in (i + 1)..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// The HiGHS fixture instance (`tests/fixtures/milp_n40.json`): the whole document, and its
/// μ and correlation matrix.
pub fn milp_fixture() -> (serde_json::Value, Vec<f64>, Array2<f64>) {
    let v: serde_json::Value = serde_json::from_str(include_str!("../fixtures/milp_n40.json")).unwrap();
    let mu: Vec<f64> = v["mu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let n = mu.len();
    let mut rho = Array2::zeros((n, n));
    for (i, row) in v["rho"].as_array().unwrap().iter().enumerate() {
        for (j, x) in row.as_array().unwrap().iter().enumerate() {
            rho[[i, j]] = x.as_f64().unwrap();
        }
    }
    (v, mu, rho)
}
