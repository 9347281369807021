#![allow(missing_docs)]
//! Hot paths: the causal Hampel update (window 21 and 63), the two-sample KS test on
//! 100k vs 100k, and one drift-monitor step over 50 features.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prudentia_core::Timestamp;
use prudentia_defense::drift::{ks_2samp, Alternative, DriftMonitor, DriftMonitorConfig, KsMethod};
use prudentia_defense::{Observation, RollingMedianMad, Validator, ValidatorConfig};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn normals(n: usize, seed: u64, shift: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z + shift
        })
        .collect()
}

fn hampel(c: &mut Criterion) {
    let xs = normals(1 << 16, 1, 0.0);
    for window in [21usize, 63] {
        let mut g = c.benchmark_group(format!("hampel_w{window}"));
        g.throughput(Throughput::Elements(xs.len() as u64));
        g.bench_function("validator_observe", |b| {
            let cfg = ValidatorConfig {
                window,
                ..Default::default()
            };
            b.iter_batched_ref(
                || Validator::new(cfg.clone()).unwrap(),
                |v| {
                    for (i, x) in xs.iter().enumerate() {
                        let obs = Observation::new(Timestamp::from_nanos(i as i64), *x);
                        let _ = black_box(v.observe(&obs, None));
                    }
                },
                BatchSize::LargeInput,
            );
        });
        g.bench_function("window_push_median_mad", |b| {
            b.iter_batched_ref(
                || RollingMedianMad::new(window).unwrap(),
                |w| {
                    for x in &xs {
                        black_box(w.median_mad());
                        w.push(*x);
                    }
                },
                BatchSize::LargeInput,
            );
        });
        g.finish();
    }
}

fn ks(c: &mut Criterion) {
    let a = normals(100_000, 2, 0.0);
    let b = normals(100_000, 3, 0.01);
    let mut g = c.benchmark_group("ks_2samp");
    g.sample_size(20);
    g.bench_function("100k_vs_100k_asymptotic", |bch| {
        bch.iter(|| {
            ks_2samp(
                black_box(&a),
                black_box(&b),
                Alternative::TwoSided,
                KsMethod::Asymptotic,
            )
            .unwrap()
        })
    });
    // The exact two-sided p-value at 5000 × 4000 on grid samples both sides can build bit for
    // bit (tools/fixtures/defense/ks_timing.py times SciPy on the same arrays): a_i = (i + ½)/5000,
    // b_j = (j + ½)/4000 + 0.03: D = 0.0302 (h = 604 on the lcm grid of 20 000), so the band
    // of the inside recursion is about 2·604/5 ≈ 242 cells wide over 5000 rows.
    let a: Vec<f64> = (0..5000).map(|i| (i as f64 + 0.5) / 5000.0).collect();
    let b: Vec<f64> = (0..4000).map(|j| (j as f64 + 0.5) / 4000.0 + 0.03).collect();
    let r = ks_2samp(&a, &b, Alternative::TwoSided, KsMethod::Exact).unwrap();
    eprintln!("5000 x 4000 exact: D = {}, p = {:e}", r.statistic, r.p_value);
    g.bench_function("5000_vs_4000_exact_two_sided", |bch| {
        bch.iter(|| {
            ks_2samp(
                black_box(&a),
                black_box(&b),
                Alternative::TwoSided,
                KsMethod::Exact,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn drift_monitor(c: &mut Criterion) {
    let n_features = 50;
    let cfg = DriftMonitorConfig::default(); // reference 500, live 250
    let rows: Vec<Vec<f64>> = (0..1000).map(|t| normals(n_features, 10 + t, 0.0)).collect();
    let mut m = DriftMonitor::new(cfg, n_features).unwrap();
    for r in &rows[..800] {
        m.observe(r).unwrap();
    }
    let mut g = c.benchmark_group("drift_monitor_50_features");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("observe_and_report", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            m.observe(&rows[i]).unwrap();
            black_box(m.report())
        })
    });
    g.finish();
}

criterion_group!(benches, hampel, ks, drift_monitor);
criterion_main!(benches);
