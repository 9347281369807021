//! Hot paths of prudentia-learn: one RLS update at d = 20, OLS with HC1 errors at 100k × 20.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::{Array1, Array2};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig};
use rand::SeedableRng;
use rand_distr::{Distribution, Uniform};

fn data(n: usize, p: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let u = Uniform::new(-1.0, 1.0).unwrap();
    let x = Array2::from_shape_fn((n, p), |_| u.sample(&mut rng));
    let y = Array1::from_shape_fn(n, |i| x.row(i).sum() * 0.1 + u.sample(&mut rng));
    (x, y)
}

fn rls_update(c: &mut Criterion) {
    let d = 20;
    let (x, y) = data(4096, d, 1);
    let mut model = RecursiveLeastSquares::new(RlsConfig::new(d).forgetting(0.999)).unwrap();
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut i = 0;
    c.bench_function("rls_update_d20", |b| {
        b.iter(|| {
            let step = model.update(black_box(&rows[i]), black_box(y[i])).unwrap();
            i = (i + 1) % rows.len();
            step
        })
    });
}

fn ols_hc1(c: &mut Criterion) {
    let (x, y) = data(100_000, 20, 2);
    let config = LinearRegressionConfig::ols(CovarianceKind::Hc1);
    let mut group = c.benchmark_group("ols");
    group.sample_size(20);
    group.bench_function("ols_hc1_100k_x_20", |b| {
        b.iter(|| {
            config
                .fit(&LinearData::new(black_box(x.view()), black_box(y.view())))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, rls_update, ols_hc1);
criterion_main!(benches);
