//! A seeded synthetic market with injected faults and ground truth, for the behaviour tests.
#![allow(dead_code)]

use prudentia_core::Timestamp;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StudentT};

pub fn day(d: i64) -> Timestamp {
    Timestamp::from_nanos(d * Timestamp::NANOS_PER_DAY)
}

/// Clean prices of `n_assets` assets over `n_days` days: Student-t(5) log returns with a
/// volatility regime that switches at the given change days (0.01 → 0.02 → 0.01 …).
pub struct Market {
    pub prices: Vec<Vec<f64>>,
    pub vol_changes: Vec<usize>,
}

pub fn market(n_assets: usize, n_days: usize, seed: u64) -> Market {
    let mut rng = StdRng::seed_from_u64(seed);
    let t5 = StudentT::new(5.0).unwrap();
    let scale = (3.0f64 / 5.0).sqrt(); // unit variance
    let vol_changes = vec![n_days / 3, 2 * n_days / 3];
    let prices = (0..n_assets)
        .map(|_| {
            let mut p = 50.0 + 100.0 * rng.random::<f64>();
            (0..n_days)
                .map(|d| {
                    let high = d >= vol_changes[0] && d < vol_changes[1];
                    let sigma = if high { 0.02 } else { 0.01 };
                    p *= (sigma * scale * t5.sample(&mut rng)).exp();
                    p
                })
                .collect()
        })
        .collect();
    Market { prices, vol_changes }
}
