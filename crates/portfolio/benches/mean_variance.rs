#![allow(missing_docs)]
//! Long-short mean–variance with every limit (per-name bounds, gross, net band, leverage, sector
//! net and gross, turnover, linear costs) at n = 50, 200, 500, end to end: problem construction
//! plus solve. Group `mean_variance_long_short` is the default (the structured interior-point
//! method); `mean_variance_long_short_clarabel` sends the same problems to Clarabel.

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use prudentia_portfolio::PortfolioOptimizer;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mean_variance_long_short");
    g.sample_size(10);
    for n in [50usize, 200, 500] {
        let d = support::mv_data(n);
        let opt = PortfolioOptimizer::new(support::mv_config(n)).unwrap();
        let res = opt.solve(&support::mv_problem(&d)).unwrap();
        eprintln!(
            "mean_variance n={n}: status {} objective {:.10e} active {} structured {} iterations {}",
            res.status,
            res.objective.objective,
            res.active.len(),
            res.info.structured,
            res.info.iterations
        );
        g.bench_with_input(BenchmarkId::from_parameter(n), &(), |b, _| {
            b.iter(|| black_box(opt.solve(&support::mv_problem(&d)).unwrap()))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("mean_variance_long_short_clarabel");
    g.sample_size(10);
    for n in [50usize, 200, 500] {
        let d = support::mv_data(n);
        let mut cfg = support::mv_config(n);
        cfg.solver.structured_qp = false;
        let opt = PortfolioOptimizer::new(cfg).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(n), &(), |b, _| {
            b.iter(|| black_box(opt.solve(&support::mv_problem(&d)).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
