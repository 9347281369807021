#![allow(missing_docs)]
//! Bench: boosted-tree fit, n = 10k, p = 10, 500 rounds of depth-3 trees, on the data of
//! prudentia-uncertainty's NGBoost bench (`hetero_data(12, ..)`, which fits 2 trees per
//! stage on the same histograms), so that the two compare.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::{Array1, Array2};
use prudentia_learn::boost::{BoostConfig, BoostData};

/// splitmix64, identical to the uncertainty bench's generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// x ~ U(-1,1)^p; y = x0 + 0.5 x1 + exp(-1 + 0.8 x0 - 0.3 x2) ε.
fn hetero_data(seed: u64, n: usize, p: usize) -> (Array2<f64>, Array1<f64>) {
    let mut g = SplitMix(seed);
    let mut x = Array2::zeros((n, p));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        for j in 0..p {
            x[[i, j]] = 2.0 * g.uniform() - 1.0;
        }
        let sig = (-1.0 + 0.8 * x[[i, 0]] - 0.3 * x[[i, 2 % p]]).exp();
        y[i] = x[[i, 0]] + 0.5 * x[[i, 1 % p]] + sig * g.normal();
    }
    (x, y)
}

fn boost_fit(c: &mut Criterion) {
    let (x, y) = hetero_data(12, 10_000, 10);
    let cfg = BoostConfig {
        n_rounds: 500,
        learning_rate: 0.01,
        max_depth: 3,
        min_samples_leaf: 1,
        ..Default::default()
    };
    let mut g = c.benchmark_group("boost");
    g.sample_size(10);
    g.bench_function("fit_n10k_p10_500_rounds", |b| {
        b.iter(|| cfg.fit(&BoostData::new(black_box(x.view()), y.view())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, boost_fit);
criterion_main!(benches);
