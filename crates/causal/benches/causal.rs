//! Speed of the DR-learner: fit at n = 5,000 × 5 covariates with 2 folds (against EconML's
//! `LinearDRLearner`, timed by `tools/fixtures/causal/bench_econml.py` on the same data),
//! a single-row CATE with its interval, and a fit at n = 100,000 × 10 with 5 folds.

// criterion_group! generates undocumented items
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use prudentia_causal::{CausalData, DrConfig, DrLearner, Folds};
use prudentia_datasets::causal_dataset;

fn learner(k: usize) -> DrLearner {
    DrLearner::new(DrConfig {
        folds: Folds::Seeded { k, seed: 0 },
        ..DrConfig::default()
    })
}

fn bench(c: &mut Criterion) {
    let s = causal_dataset(5_000, 5, 1).unwrap();
    let t = s.treatment_indicator();
    let data = CausalData::new(s.x.view(), t.view(), s.outcome.view());
    let l2 = learner(2);
    c.bench_function("dr_fit_n5000_p5_2folds", |b| {
        b.iter(|| l2.fit(black_box(&data)).unwrap())
    });

    let m = l2.fit(&data).unwrap();
    let row = [0.3, -0.2, 0.1, 0.0, 1.0];
    c.bench_function("cate_row_with_interval", |b| {
        b.iter(|| m.cate_row(black_box(&row)).unwrap())
    });

    let s = causal_dataset(100_000, 10, 2).unwrap();
    let t = s.treatment_indicator();
    let data = CausalData::new(s.x.view(), t.view(), s.outcome.view());
    let l5 = learner(5);
    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    g.bench_function("dr_fit_n100k_p10_5folds", |b| {
        b.iter(|| l5.fit(black_box(&data)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
