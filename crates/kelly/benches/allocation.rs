#![allow(missing_docs)]
//! Allocation of 500 names: continuous (exact greedy) and with integer lots (greedy rounding
//! and MILP via good_lp + microlp).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia_core::AssetInfo;
use prudentia_kelly::allocation::{AllocationConfig, AllocationItem, AllocationMode, Allocator};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn universe(n: usize) -> (Vec<AssetInfo>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(11);
    let mut assets = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n);
    for i in 0..n {
        let mut a = AssetInfo::new(format!("N{i:03}"), rng.random_range(5.0..500.0)).unwrap();
        a.lot_size = if i % 4 == 3 { 100.0 } else { 1.0 };
        a.adv_shares = Some(rng.random_range(1e4..1e7));
        a.borrow_available_shares = Some(rng.random_range(0.0..1e5));
        a.sector = Some(format!("S{}", i % 11));
        assets.push(a);
        targets.push(rng.random_range(-0.01..0.01));
    }
    (assets, targets)
}

fn bench(c: &mut Criterion) {
    let (assets, targets) = universe(500);
    let items: Vec<_> = assets
        .iter()
        .zip(&targets)
        .map(|(a, t)| AllocationItem::new(a, *t))
        .collect();
    let capital = 5e7;
    let make = |mode| {
        Allocator::new(AllocationConfig {
            mode,
            max_gross: 1.5,
            sector_free_fraction: 0.1,
            milp_time_limit_secs: 5.0,
            ..Default::default()
        })
        .unwrap()
    };
    let continuous = make(AllocationMode::Continuous);
    let greedy = make(AllocationMode::GreedyLots);
    let milp = make(AllocationMode::Milp);
    let a = milp.allocate(&items, capital).unwrap();
    println!(
        "500 names, MILP: status {:?}, objective {:.6} vs greedy {:.6}",
        a.status, a.objective, a.greedy_objective
    );
    let mut g = c.benchmark_group("allocation_500");
    g.bench_function("continuous", |b| {
        b.iter(|| continuous.allocate(black_box(&items), capital).unwrap())
    });
    g.bench_function("greedy_lots", |b| {
        b.iter(|| greedy.allocate(black_box(&items), capital).unwrap())
    });
    g.sample_size(10);
    g.bench_function("milp_lots", |b| {
        b.iter(|| milp.allocate(black_box(&items), capital).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
