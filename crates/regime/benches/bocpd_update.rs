#![allow(missing_docs)]
//! BOCPD update cost: Normal–Gamma, default truncation (1e-8, at most 1000 run lengths),
//! on a stationary stream of standard-normal-like values and on daily-return-like data
//! with a volatility switch every 500 observations; and the panel detector (features of a
//! 10-asset cross-section, then a two-feature update).

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prudentia_regime::bocpd::{Bocpd, BocpdConfig, NormalGammaPrior, ObservationModel, Truncation};
use prudentia_regime::panel::{market_panel_config, PanelFeatures};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

fn series(n: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(1);
    let z = Normal::new(0.0, 1.0).unwrap();
    (0..n)
        .map(|t| {
            let vol = if (t / 500) % 2 == 0 { 0.008 } else { 0.025 };
            vol * z.sample(&mut rng)
        })
        .collect()
}

fn warmed(data: &[f64]) -> Bocpd {
    let cfg = BocpdConfig::univariate(ObservationModel::NormalGamma(NormalGammaPrior {
        mu: 0.0,
        kappa: 100.0,
        alpha: 1.0,
        beta: 1e-4,
    }));
    let mut d = Bocpd::new(cfg).unwrap();
    for &x in data {
        let _ = d.update_scalar(x).unwrap();
    }
    d
}

fn bench(c: &mut Criterion) {
    let data = series(20_000);
    let warm = warmed(&data[..5_000]);
    let stream = &data[5_000..];
    let mut g = c.benchmark_group("bocpd_update");
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("normal_gamma_truncated_1000_updates", |b| {
        b.iter_batched_ref(
            || warm.clone(),
            |d| {
                for &x in &stream[..1_000] {
                    let _ = black_box(d.update_scalar(x).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    // a fixed window of the 200 most probable run lengths (no probability floor), the
    // setting of the published 24.9 µs/update Rust figure
    let mut cfg = warm.config().clone();
    cfg.truncation = Truncation {
        min_probability: 0.0,
        max_run_lengths: 200,
    };
    let mut w200 = Bocpd::new(cfg).unwrap();
    for &x in &data[..5_000] {
        let _ = w200.update_scalar(x).unwrap();
    }
    g.bench_function("normal_gamma_window_200_1000_updates", |b| {
        b.iter_batched_ref(
            || w200.clone(),
            |d| {
                for &x in &stream[..1_000] {
                    let _ = black_box(d.update_scalar(x).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    // panel: 10 assets per day, same volatility switches
    let n_assets = 10;
    let mut rng = StdRng::seed_from_u64(2);
    let z = Normal::new(0.0, 1.0).unwrap();
    let panel: Vec<Vec<f64>> = (0..6_000)
        .map(|t| {
            let vol = if (t / 500) % 2 == 0 { 0.008 } else { 0.025 };
            let m = z.sample(&mut rng);
            (0..n_assets)
                .map(|_| vol * (0.6 * m + 0.8 * z.sample(&mut rng)))
                .collect()
        })
        .collect();
    let mut pd = Bocpd::new(market_panel_config(n_assets).unwrap()).unwrap();
    let mut pf = PanelFeatures::new(n_assets).unwrap();
    for day in &panel[..5_000] {
        let _ = pd.update(pf.compute(day).unwrap()).unwrap();
    }
    g.bench_function("panel_10_assets_1000_updates", |b| {
        b.iter_batched_ref(
            || (pd.clone(), pf.clone()),
            |(d, f)| {
                for day in &panel[5_000..6_000] {
                    let _ = black_box(d.update(f.compute(day).unwrap()).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
    let mut d = warm.clone();
    let mut support = 0usize;
    for &x in stream {
        support = support.max(d.update_scalar(x).unwrap().support);
    }
    eprintln!("max run lengths kept over {} updates: {support}", stream.len());
}

criterion_group!(benches, bench);
criterion_main!(benches);
