#![allow(missing_docs)]
//! Baum–Welch on 8,000 daily S&P 500 log returns (in percent) with 2–4 states: one start
//! (restarts = 1), tolerance 1e-6, at most 500 iterations; and the cost of 20 EM
//! iterations from a fixed start (tolerance 0 disabled by a tiny value).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use prudentia_core::traits::Fit;
use prudentia_regime::hmm::GaussianHmmConfig;

fn returns() -> Vec<f64> {
    let f = prudentia_datasets::sp500_index().unwrap();
    let c = f.column("SP500").unwrap().to_vec();
    c.windows(2)
        .map(|w| 100.0 * (w[1] / w[0]).ln())
        .take(8000)
        .collect()
}

fn bench(c: &mut Criterion) {
    let x = returns();
    assert_eq!(x.len(), 8000);
    let mut g = c.benchmark_group("hmm_fit_8000");
    g.sample_size(10);
    for k in 2..=4 {
        let cfg = GaussianHmmConfig {
            n_states: k,
            restarts: 1,
            tolerance: 1e-6,
            max_iterations: 500,
            ..Default::default()
        };
        let fit = cfg.fit(&x).unwrap();
        eprintln!(
            "{k} states: {} iterations, log-likelihood {:.3}, BIC {:.1}",
            fit.iterations, fit.log_likelihood, fit.bic
        );
        g.bench_function(format!("{k}_states_to_convergence"), |b| {
            b.iter(|| black_box(cfg.fit(black_box(&x)).unwrap()))
        });
        let fixed = GaussianHmmConfig {
            tolerance: 1e-300,
            max_iterations: 20,
            ..cfg.clone()
        };
        g.throughput(Throughput::Elements(20));
        g.bench_function(format!("{k}_states_20_em_iterations"), |b| {
            b.iter(|| black_box(fixed.fit(black_box(&x)).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
