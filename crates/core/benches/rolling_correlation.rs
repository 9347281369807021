//! Rolling-window correlation: one O(n²) update, and update plus a full correlation read-out.
//! Target (issue #2): ≤ 0.5 ms per update at n = 500.
#![allow(missing_docs)]
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::Array2;
use prudentia_core::estimators::RollingCorrelation;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rolling_correlation");
    let window = 252;
    for &n in &[50usize, 200, 500] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let normal = Normal::new(0.0, 0.01).expect("valid normal");
        let rows: Vec<Vec<f64>> = (0..window + 64)
            .map(|_| (0..n).map(|_| normal.sample(&mut rng)).collect())
            .collect();
        let mut rc = RollingCorrelation::new(n, window).expect("valid window");
        for r in rows.iter().take(window) {
            rc.update(r).expect("finite row");
        }
        let mut k = 0usize;
        group.bench_with_input(BenchmarkId::new("update", n), &n, |b, _| {
            b.iter(|| {
                k = (k + 1) % rows.len();
                rc.update(black_box(&rows[k])).expect("finite row");
            })
        });
        let mut out = Array2::zeros((n, n));
        group.bench_with_input(BenchmarkId::new("update_and_correlation", n), &n, |b, _| {
            b.iter(|| {
                k = (k + 1) % rows.len();
                rc.update(black_box(&rows[k])).expect("finite row");
                rc.correlation_into(out.view_mut()).expect("non-constant window");
                black_box(out[[0, 1]]);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
