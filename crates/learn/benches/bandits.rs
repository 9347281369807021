//! Bandit hot paths: a LinUCB choice at d = 20 with 8 actions (target ≤ 2 µs), its update,
//! Thompson-sampling choices (with and without the Monte-Carlo propensity), and a
//! routing-sized decision (8 actions, d = 12; target ≤ 1 µs).
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use prudentia_learn::bandit::{
    EpsilonGreedy, EpsilonGreedyConfig, LinUcb, LinUcbConfig, LinearBandit, LinearThompson,
    LinearThompsonConfig,
};

fn context(t: usize, d: usize) -> Vec<f64> {
    (0..d).map(|i| ((t * 31 + i * 7) as f64 * 0.173).sin()).collect()
}

/// A policy after 2,000 updates, so the inverses are dense.
fn trained<P: LinearBandit>(mut p: P, d: usize) -> P {
    let k = p.n_actions();
    for t in 0..2000 {
        let x = context(t, d);
        p.learn(&x, t % k, x[0] * 0.3 + (t % 5) as f64 * 0.01).unwrap();
    }
    p
}

fn linucb(k: usize, d: usize) -> LinUcb {
    trained(
        LinUcb::new(LinUcbConfig {
            n_actions: k,
            dim: d,
            ..Default::default()
        })
        .unwrap(),
        d,
    )
}

fn thompson(k: usize, d: usize, draws: usize) -> LinearThompson {
    trained(
        LinearThompson::new(LinearThompsonConfig {
            n_actions: k,
            dim: d,
            propensity_draws: draws,
            ..Default::default()
        })
        .unwrap(),
        d,
    )
}

fn epsilon(k: usize, d: usize) -> EpsilonGreedy {
    trained(
        EpsilonGreedy::new(EpsilonGreedyConfig {
            n_actions: k,
            dim: d,
            ..Default::default()
        })
        .unwrap(),
        d,
    )
}

fn bench_choose(c: &mut Criterion, group: &str, p: &dyn LinearBandit, d: usize) {
    let k = p.n_actions();
    let xs: Vec<Vec<f64>> = (0..64).map(|t| context(5000 + t, d)).collect();
    let mut scores = vec![0.0; k];
    let mask: Vec<bool> = (0..k).map(|a| a != 3).collect();
    let mut g = c.benchmark_group(group);
    let mut t = 0usize;
    g.bench_function("decide", |b| {
        b.iter(|| {
            t = t.wrapping_add(1);
            black_box(
                p.decide(&xs[t % 64], Some(&mask), true, t as u64, &mut scores)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn choices(c: &mut Criterion) {
    bench_choose(c, "linucb choose d=20 k=8", &linucb(8, 20), 20);
    bench_choose(c, "routing linucb d=12 k=8", &linucb(8, 12), 12);
    bench_choose(c, "routing epsilon-greedy d=12 k=8", &epsilon(8, 12), 12);
    bench_choose(c, "routing thompson d=12 k=8 draws=1", &thompson(8, 12, 1), 12);
    for draws in [1usize, 100] {
        bench_choose(
            c,
            &format!("thompson choose d=20 k=8 draws={draws}"),
            &thompson(8, 20, draws),
            20,
        );
    }
}

fn updates(c: &mut Criterion) {
    let mut g = c.benchmark_group("bandit update");
    for d in [12usize, 20] {
        let xs: Vec<Vec<f64>> = (0..64).map(|t| context(7000 + t, d)).collect();
        let mut p = linucb(8, d);
        let mut t = 0usize;
        g.bench_function(BenchmarkId::new("linucb", d), |b| {
            b.iter(|| {
                t = t.wrapping_add(1);
                p.learn(&xs[t % 64], t % 8, 0.01).unwrap();
            })
        });
        let mut p = thompson(8, d, 1);
        g.bench_function(BenchmarkId::new("thompson", d), |b| {
            b.iter(|| {
                t = t.wrapping_add(1);
                LinearBandit::learn(&mut p, &xs[t % 64], t % 8, 0.01).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, choices, updates);
criterion_main!(benches);
