#![allow(missing_docs)]
//! Benches: quantile regression (n = 100k, p = 10), NGBoost fit (n = 10k, p = 10, 500
//! trees, the data of tools/fixtures/uncertainty/make_fixtures.py `hetero_data(12, ..)`,
//! which `make_fixtures.py ngboost-timing` times with the Python `ngboost`), isotonic fit
//! (n = 1M), conformal update per observation.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::{Array1, Array2};
use prudentia_core::{Forecast, Horizon, RegimeLabel};
use prudentia_uncertainty::conformal::{AciConfig, AdaptiveConformal, ConformalConfig, SplitConformal};
use prudentia_uncertainty::isotonic::{IsotonicConfig, IsotonicRegression};
use prudentia_uncertainty::ngboost::{NgBoost, NgBoostConfig};
use prudentia_uncertainty::quantreg::{QuantRegConfig, QuantRegSolver, QuantileRegression};

/// splitmix64 (core's), identical to the fixture script's generator.
type SplitMix = prudentia_core::rng::SplitMix64;

/// x ~ U(-1,1)^p; y = x0 + 0.5 x1 + exp(-1 + 0.8 x0 - 0.3 x2) ε.
fn hetero_data(seed: u64, n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let mut g = SplitMix::new(seed);
    let mut x = Array2::zeros((n, p));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        for j in 0..p {
            x[[i, j]] = 2.0 * g.next_f64() - 1.0;
        }
        let sig = (-1.0 + 0.8 * x[[i, 0]] - 0.3 * x[[i, 2 % p]]).exp();
        y[i] = x[[i, 0]] + 0.5 * x[[i, 1 % p]] + sig * g.next_normal();
    }
    (x, y)
}

fn bench_quantreg(c: &mut Criterion) {
    let (x, y) = hetero_data(1, 100_000, 10);
    let mut g = c.benchmark_group("quantreg");
    g.sample_size(10);
    for (name, solver) in [
        ("fit_median_n100k_p10_frisch_newton", QuantRegSolver::FrischNewton),
        ("fit_median_n100k_p10_clarabel", QuantRegSolver::Clarabel),
    ] {
        let qr = QuantileRegression::new(QuantRegConfig {
            levels: vec![0.5],
            solver,
            ..Default::default()
        })
        .unwrap();
        g.bench_function(name, |b| {
            b.iter(|| qr.fit(black_box(x.view()), y.view()).unwrap())
        });
    }
    g.finish();
}

fn bench_ngboost(c: &mut Criterion) {
    let (x, y) = hetero_data(12, 10_000, 10);
    let ng = NgBoost::new(NgBoostConfig::default()).unwrap();
    let mut g = c.benchmark_group("ngboost");
    g.sample_size(10);
    g.bench_function("fit_n10k_p10_500_trees", |b| {
        b.iter(|| ng.fit(black_box(x.view()), y.view(), None).unwrap())
    });
    g.finish();
}

fn bench_isotonic(c: &mut Criterion) {
    let mut gen = SplitMix::new(3);
    let n = 1_000_000;
    let x: Vec<f64> = (0..n).map(|_| gen.next_f64()).collect();
    let y: Vec<f64> = x.iter().map(|&v| v + 0.3 * gen.next_normal()).collect();
    let iso = IsotonicRegression::new(IsotonicConfig::default()).unwrap();
    let mut g = c.benchmark_group("isotonic");
    g.sample_size(10);
    g.bench_function("fit_n1m", |b| {
        b.iter(|| iso.fit(black_box(&x), &y, None).unwrap())
    });
    g.finish();
}

fn bench_conformal(c: &mut Criterion) {
    let mut gen = SplitMix::new(4);
    let f = Forecast::new(0.0, 1.0, Horizon::DAY).unwrap();
    let r = RegimeLabel::HIGH_VOL;
    let ys: Vec<f64> = (0..4096).map(|_| gen.next_normal()).collect();
    let mut g = c.benchmark_group("conformal_update");
    for (name, mondrian) in [("aci_window500", false), ("aci_mondrian_window500", true)] {
        let mut aci = AdaptiveConformal::new(AciConfig {
            conformal: ConformalConfig {
                mondrian,
                window: 500,
                ..Default::default()
            },
            gamma: 0.005,
        })
        .unwrap();
        for &y in &ys {
            let _ = aci.update(&f, y, &r).unwrap();
        }
        let mut k = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                k = (k + 1) & 4095;
                aci.update(&f, black_box(ys[k]), &r).unwrap()
            })
        });
    }
    let mut split = SplitConformal::new(ConformalConfig {
        window: 500,
        ..Default::default()
    })
    .unwrap();
    for &y in &ys {
        split.update(&f, y, &r).unwrap();
    }
    let mut k = 0usize;
    g.bench_function("split_window500", |b| {
        b.iter(|| {
            k = (k + 1) & 4095;
            split.update(&f, black_box(ys[k]), &r).unwrap()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_quantreg,
    bench_ngboost,
    bench_isotonic,
    bench_conformal
);
criterion_main!(benches);
