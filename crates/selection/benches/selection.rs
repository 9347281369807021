#![allow(missing_docs)]
//! Exact n = 40, K = 10 (the HiGHS fixture instance) at λ ∈ {0.1, 0.5} — target ≤ 30 ms;
//! greedy + 1-swap at n = 2000, K = 50 — target ≤ 20 ms; the pipeline's select stage of the
//! decide bench (`benches/decide.rs` at the repository root): 500 candidates, K = 50 of them
//! by greedy + swap, raw λ = 1e-4, a certified PSD rolling correlation of a factor-model
//! market — target ≤ 0.7 ms (issue #18).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use prudentia_core::estimators::{PsdCorrelation, RollingCorrelation};
use prudentia_core::traits::Selector;
use prudentia_core::{Forecast, Horizon, Opportunity};
use prudentia_datasets::{ForecasterSpec, RegimeSpec, SyntheticConfig, SyntheticMarket};
use prudentia_selection::{
    root_upper_bound, Constraints, CorrelationConfig, DiversityAwareSelector, Dpp, DppConfig, ExactConfig,
    ExactSolver, GreedySwap, GreedySwapConfig, Mmr, MmrConfig, ProblemConfig, ReturnScale, SelectionProblem,
    SelectorConfig,
};

#[path = "../tests/common/mod.rs"]
mod common;

fn fixture() -> (Vec<f64>, Array2<f64>) {
    let (_, mu, rho) = common::milp_fixture();
    (mu, rho)
}

/// Sector-block correlation (20 sectors, ρ ≈ 0.6 within, 0.2 between, deterministic jitter)
/// and μ in [0, 0.3), n items.
fn large(n: usize) -> (Vec<f64>, Array2<f64>) {
    let mut state = 42u64;
    let mut unif = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / (1u64 << 53) as f64
    };
    let sectors = 20;
    let a: Vec<f64> = (0..n).map(|_| 0.2f64.sqrt() * (0.8 + 0.4 * unif())).collect();
    let b: Vec<f64> = (0..n).map(|_| 0.4f64.sqrt() * (0.8 + 0.4 * unif())).collect();
    let d: Vec<f64> = (0..n).map(|i| (a[i] * a[i] + b[i] * b[i] + 0.4).sqrt()).collect();
    let rho = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            1.0
        } else {
            let c = a[i] * a[j]
                + if i % sectors == j % sectors {
                    b[i] * b[j]
                } else {
                    0.0
                };
            c / (d[i] * d[j])
        }
    });
    let mu = (0..n).map(|_| 0.3 * unif()).collect();
    (mu, rho)
}

/// The decide bench's select stage: the synthetic market of `benches/decide.rs` (500 assets,
/// 10 sectors, one risk-on regime, seed 11), μ from its over-confident forecast panel on day
/// `DAY` and the 252-day rolling correlation of the returns before it, with its PSD
/// certificate (as the pipeline passes it to `select_psd`).
fn pipeline_select_case() -> (Vec<Opportunity>, PsdCorrelation) {
    const N: usize = 500;
    const WINDOW: usize = 252;
    const DAY: usize = 300;
    let market = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: N,
        n_sectors: 10,
        n_days: 320,
        seed: 11,
        regimes: vec![RegimeSpec::risk_on()],
        transition: vec![vec![1.0]],
        ..Default::default()
    })
    .unwrap();
    let panel = market.forecasts(&ForecasterSpec::overconfident()).unwrap();
    let mut rolling = RollingCorrelation::new(N, WINDOW).unwrap();
    for t in DAY - WINDOW..DAY {
        rolling.update(&market.returns.row(t).to_vec()).unwrap();
    }
    let columns: Vec<usize> = (0..N).collect();
    let correlation = rolling.correlation_of_psd(&columns).unwrap();
    let opportunities = market
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| Opportunity {
            asset: a.clone(),
            forecast: Forecast::new(panel.mean[[DAY, i]], panel.sigma[[DAY, i]], Horizon::DAY).unwrap(),
        })
        .collect();
    (opportunities, correlation)
}

/// The decide bench's selector: K = 50, raw λ = 1e-4, `Auto` (greedy + swap at n = 500).
fn pipeline_selector() -> DiversityAwareSelector {
    DiversityAwareSelector::new(SelectorConfig {
        problem: ProblemConfig {
            return_scale: ReturnScale::Raw,
            k: 50,
            lambda: 1e-4,
            correlation: CorrelationConfig {
                check_psd: false,
                ..Default::default()
            },
        },
        ..Default::default()
    })
    .unwrap()
}

fn bench_pipeline_select(c: &mut Criterion) {
    let (opportunities, correlation) = pipeline_select_case();
    let selector = pipeline_selector();
    c.bench_function("select_psd n=500 K=50 (decide bench)", |bch| {
        bch.iter(|| black_box(selector.select_psd(black_box(&opportunities), black_box(&correlation))))
    });
    c.bench_function("problem_psd n=500 (decide bench)", |bch| {
        bch.iter(|| black_box(selector.problem_psd(black_box(&opportunities), black_box(&correlation))))
    });
    let problem = selector.problem_psd(&opportunities, &correlation).unwrap();
    c.bench_function("solve n=500 K=50 (decide bench)", |bch| {
        bch.iter(|| black_box(selector.solve(black_box(&problem))))
    });
}

fn bench(c: &mut Criterion) {
    let (mu, rho) = fixture();
    let exact = ExactSolver::new(ExactConfig::default()).unwrap();
    for lambda in [0.1, 0.5] {
        let cfg = ProblemConfig {
            return_scale: prudentia_selection::ReturnScale::Raw,
            k: 10,
            lambda,
            ..Default::default()
        };
        let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
        c.bench_function(&format!("exact n=40 K=10 lambda={lambda}"), |bch| {
            bch.iter(|| black_box(exact.solve(black_box(&p))))
        });
    }
    let (mu, rho) = large(2000);
    let cfg = ProblemConfig {
        return_scale: prudentia_selection::ReturnScale::Raw,
        k: 50,
        lambda: 0.01,
        correlation: CorrelationConfig {
            check_psd: false,
            ..Default::default()
        },
    };
    let p = SelectionProblem::new(&mu, rho.view(), &cfg, &Constraints::default()).unwrap();
    let gs = GreedySwap::new(GreedySwapConfig::default()).unwrap();
    c.bench_function("greedy+swap n=2000 K=50", |bch| {
        bch.iter(|| black_box(gs.solve(black_box(&p))))
    });
    let mmr = Mmr::new(MmrConfig::default()).unwrap();
    c.bench_function("mmr n=2000 K=50", |bch| {
        bch.iter(|| black_box(mmr.solve(black_box(&p))))
    });
    let dpp = Dpp::new(DppConfig::default()).unwrap();
    c.bench_function("dpp n=2000 K=50", |bch| {
        bch.iter(|| black_box(dpp.solve(black_box(&p))))
    });
    c.bench_function("root bound n=2000 K=50", |bch| {
        bch.iter(|| black_box(root_upper_bound(black_box(&p))))
    });
}

criterion_group!(benches, bench_pipeline_select, bench);
criterion_main!(benches);
