//! Benches of the hot paths: off-policy evaluation over 1M logged decisions (8 actions).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use prudentia_execution::ope::{LoggedData, OffPolicyEvaluator, OpeConfig};

fn ope(c: &mut Criterion) {
    let n = 1_000_000;
    let k = 8;
    // a deterministic log: cyclic actions, varying propensities and rewards
    let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 13) % 101) as f64 / 101.0);
    let actions: Vec<usize> = (0..n).map(|i| (i * 5) % k).collect();
    let props: Vec<f64> = (0..n).map(|i| 0.05 + 0.1 * ((i % 7) as f64 / 7.0)).collect();
    let rewards: Vec<f64> = (0..n).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
    let target = Array2::from_shape_fn((n, k), |(i, a)| if a == i % k { 0.3 } else { 0.1 });
    let q = Array2::from_shape_fn((n, k), |(i, a)| ((i + a) % 5) as f64 - 2.0);
    let log = LoggedData::new(x.view(), &actions, &rewards, &props);
    let eval = OffPolicyEvaluator::new(OpeConfig {
        bootstrap_samples: 0,
        ..OpeConfig::default()
    })
    .expect("valid config");
    let mut g = c.benchmark_group("ope");
    g.sample_size(10);
    g.bench_function("ips_snips_dm_dr_normal_ci_1M_rounds_8_actions", |b| {
        b.iter(|| {
            eval.evaluate_with_rewards(&log, target.view(), q.view())
                .expect("valid log")
        })
    });
    g.finish();
}

criterion_group!(benches, ope);
criterion_main!(benches);
