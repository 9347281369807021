//! Shared fixtures: temporary directories and deterministic records.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use prudentia_audit::{AuditLog, Durability, LogConfig};
use prudentia_core::*;

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("prudentia-audit-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn day(k: u64) -> Timestamp {
    Timestamp::from_nanos(k as i64 * Timestamp::NANOS_PER_DAY)
}

/// A snapshot of `n` assets on day `k` (prices vary with `k`).
pub fn snapshot(k: u64, n: usize) -> MarketSnapshot {
    let time = day(k);
    let ids: Vec<AssetId> = (0..n).map(|i| AssetId::new(format!("S{i:02}"))).collect();
    let price = |i: usize| 100.0 + ((k as usize * 7 + i * 13) % 50) as f64 * 0.37;
    MarketSnapshot {
        time,
        quotes: ids
            .iter()
            .enumerate()
            .map(|(i, id)| Quote {
                asset: id.clone(),
                time,
                price: price(i),
                volume: Some(1e6 + i as f64),
                spread_bps: Some(2.5),
            })
            .collect(),
        indicators: vec![Indicator {
            name: "vix".into(),
            time,
            value: 15.0 + (k % 10) as f64,
        }],
        assets: ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut a = AssetInfo::new(id.clone(), price(i)).unwrap();
                a.sector = Some(format!("sector{}", i % 4));
                a.features = vec![0.001 * i as f64, -0.002, 0.015];
                a
            })
            .collect(),
    }
}

/// A decision for `snapshot` under a simple rule (weight ∝ 1/price over the cheapest `k`).
pub fn decide_cheapest(s: &MarketSnapshot, k: usize, tilt: f64) -> Decision {
    let mut q: Vec<&Quote> = s.quotes.iter().collect();
    q.sort_by(|a, b| a.price.total_cmp(&b.price).then(a.asset.cmp(&b.asset)));
    let chosen: Vec<AssetId> = q.iter().take(k).map(|q| q.asset.clone()).collect();
    let raw: Vec<f64> = q.iter().take(k).map(|q| (1.0 + tilt) / q.price).collect();
    let total: f64 = raw.iter().sum();
    let w = Weights::new(chosen.clone(), raw.iter().map(|r| r / total).collect()).unwrap();
    let forecasts = chosen
        .iter()
        .map(|id| (id.clone(), Forecast::new(0.0005, 0.02, Horizon::DAY).unwrap()))
        .collect();
    let orders = chosen
        .iter()
        .map(|id| Order::new(id.clone(), Side::Buy, 100.0, OrderType::Market).unwrap())
        .collect();
    Decision {
        time: s.time,
        status: DecisionStatus::Normal,
        regime: RegimeState::default(),
        forecasts,
        selected: chosen,
        target: w.clone(),
        sized: w,
        orders,
    }
}

pub fn record(k: u64, s: &MarketSnapshot) -> DecisionRecord {
    DecisionRecord {
        sequence: k,
        policy_id: "test".into(),
        model_hash: "00".repeat(32),
        feature_version: "1".into(),
        seed: k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        inputs_digest: String::new(),
        decision: decide_cheapest(s, 3, 0.0),
        optimizer_status: None,
        timings_ns: vec![("forecast".into(), 1000 + k)],
    }
}

pub fn outcome(k: u64, s: &MarketSnapshot) -> Outcome {
    Outcome {
        time: Some(day(k + 1)),
        realized_returns: s
            .quotes
            .iter()
            .enumerate()
            .map(|(i, q)| (q.asset.clone(), ((k as f64 + i as f64) % 7.0 - 3.0) * 1e-3))
            .collect(),
        fills: vec![],
        equity: None,
    }
}

pub fn config(durability: Durability) -> LogConfig {
    LogConfig {
        durability,
        ..Default::default()
    }
}

/// A log of `days` decisions of `n` assets, each followed by an outcome.
pub fn filled_log(dir: &Path, days: u64, n: usize, cfg: LogConfig) -> AuditLog {
    let mut log = AuditLog::open(dir, cfg).unwrap();
    for k in 0..days {
        let s = snapshot(k, n);
        let _ = log.append(&s, &record(k, &s)).unwrap();
        let _ = log.append_outcome(&outcome(k, &s)).unwrap();
    }
    let _ = log.sync().unwrap();
    log
}
