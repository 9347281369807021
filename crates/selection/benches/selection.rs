#![allow(missing_docs)]
//! Exact n = 40, K = 10 (the HiGHS fixture instance) at λ ∈ {0.1, 0.5} — target ≤ 30 ms;
//! greedy + 1-swap at n = 2000, K = 50 — target ≤ 20 ms.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use prudentia_selection::{
    root_upper_bound, Constraints, CorrelationConfig, Dpp, DppConfig, ExactConfig, ExactSolver, GreedySwap,
    GreedySwapConfig, Mmr, MmrConfig, ProblemConfig, SelectionProblem,
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

criterion_group!(benches, bench);
criterion_main!(benches);
