#![allow(missing_docs)]
//! Growth-optimal weights by the barrier Newton method: n assets × T scenarios.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::Array2;
use prudentia_kelly::multi::{growth_optimal, GrowthOptimalConfig};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

fn scenarios(t: usize, n: usize) -> Array2<f64> {
    let mut rng = StdRng::seed_from_u64(3);
    let z = Normal::new(0.0, 1.0).unwrap();
    Array2::from_shape_fn((t, n), |(_, j)| {
        (0.002 + 0.0005 * j as f64 / n as f64 + 0.03 * z.sample(&mut rng)).max(-0.9)
    })
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("growth_optimal");
    g.sample_size(10);
    for &(n, t) in &[(10usize, 1000usize), (50, 1000)] {
        let r = scenarios(t, n);
        let long_only = GrowthOptimalConfig::default();
        let long_short = GrowthOptimalConfig {
            lower: -1.0,
            upper: 1.0,
            max_gross: Some(2.0),
            ..Default::default()
        };
        g.bench_with_input(BenchmarkId::new("long_only", format!("n{n}_T{t}")), &r, |b, r| {
            b.iter(|| growth_optimal(black_box(r.view()), &long_only).unwrap())
        });
        g.bench_with_input(
            BenchmarkId::new("long_short_gross", format!("n{n}_T{t}")),
            &r,
            |b, r| b.iter(|| growth_optimal(black_box(r.view()), &long_short).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
