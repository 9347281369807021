//! Small deterministic market and stages shared by the pipeline v2 tests.
#![allow(dead_code)]

use prudentia_core::traits::*;
use prudentia_core::*;
use prudentia_pipeline::*;

pub const N: usize = 4;

pub fn ids() -> Vec<AssetId> {
    (0..N).map(|i| AssetId::new(format!("A{i}"))).collect()
}

pub fn day(d: usize) -> Timestamp {
    Timestamp::from_nanos(d as i64 * Timestamp::NANOS_PER_DAY)
}

/// Deterministic price paths (seeded LCG), one snapshot per day; feature 0 = last return.
pub fn snapshots(days: usize, seed: u64) -> Vec<MarketSnapshot> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    };
    let mut prices = vec![100.0; N];
    let mut last_ret = vec![0.0; N];
    (0..days)
        .map(|d| {
            if d > 0 {
                for i in 0..N {
                    let r = 0.0003 * i as f64 + 0.02 * next();
                    prices[i] *= 1.0 + r;
                    last_ret[i] = r;
                }
            }
            snapshot_at(d, &prices, &last_ret)
        })
        .collect()
}

pub fn snapshot_at(d: usize, prices: &[f64], feat: &[f64]) -> MarketSnapshot {
    let time = day(d);
    let ids = ids();
    MarketSnapshot {
        time,
        quotes: ids
            .iter()
            .zip(prices)
            .map(|(id, p)| Quote {
                asset: id.clone(),
                time,
                price: *p,
                volume: Some(1e6),
                spread_bps: Some(2.0),
            })
            .collect(),
        indicators: vec![],
        assets: ids
            .iter()
            .zip(prices.iter().zip(feat))
            .map(|(id, (p, f))| {
                let mut a = AssetInfo::new(id.clone(), *p).unwrap();
                a.features = vec![*f];
                a
            })
            .collect(),
    }
}

/// Forecast mean = last return (feature 0), sigma 2%.
pub struct Momentum;
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        Ok(Forecast::new(asset.features[0], 0.02, Horizon::DAY)?)
    }
}

/// Weights proportional to the forecast mean (long and short), gross 1, with a fixed status.
pub struct Tilt(pub Status);
impl Optimizer for Tilt {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        let means: Vec<f64> = input.opportunities.iter().map(|o| o.forecast.mean).collect();
        let gross: f64 = means.iter().map(|m| m.abs()).sum::<f64>().max(1e-12);
        let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
        Ok(TargetPortfolio {
            weights: Weights::new(ids, means.iter().map(|m| m / gross).collect())?,
            status: self.0.clone(),
        })
    }
}

pub fn config() -> PipelineConfig {
    PipelineConfig {
        universe: ids(),
        history_window: 30,
        min_history: 10,
        seed: 42,
        ..Default::default()
    }
}

pub fn quiet() -> BacktestConfig {
    BacktestConfig {
        show_progress: false,
        ..Default::default()
    }
}

/// The error of a stub stage.
#[derive(Debug, thiserror::Error)]
#[error("stub failure on purpose")]
pub struct Boom;
