#![allow(missing_docs)]
//! One `SnapshotGuard::screen` at the size of the decide bench (issue #18): 500 assets with
//! quotes (volume, spread), asset infos with two features and ADV, and the indicators
//! `"<asset>:depth"`, `"<asset>:volatility"` and `"volatility:<asset>"` plus the market's own
//! (about 2,000 screened values per snapshot). The snapshots are those of the root crate's
//! `benches/decide.rs` (same generator, same seeds); the guard (default configuration) is
//! warmed on the first 252 days, then one screen of the next day is timed, walking forward
//! (each measured screen is a real next-day screen).
//!
//! Before the criterion run it prints the median, minimum and mean of single screens (also
//! with 8 MiB written between screens, as a decide's other stages would) and the time of a
//! bare clone of the snapshot (the floor of the owned `Screened::Clean` answer). On a machine
//! shared with other work the criterion figure is a mean and carries every preemption; the
//! median is the figure to compare.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia_core::traits::{Guard, Screened};
use prudentia_core::{Indicator, MarketSnapshot};
use prudentia_datasets::{ForecasterSpec, RegimeSpec, SyntheticConfig, SyntheticMarket};
use prudentia_defense::{SnapshotGuard, SnapshotGuardConfig};

const N: usize = 500;
const WARM: usize = 252;

/// The decide bench's snapshots (benches/decide.rs at the repository root).
fn snapshots() -> Vec<MarketSnapshot> {
    let market = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: N,
        n_sectors: 10,
        n_days: 320,
        seed: 11,
        regimes: vec![RegimeSpec::risk_on()],
        transition: vec![vec![1.0]],
        ..Default::default()
    })
    .expect("valid synthetic config");
    let panel = market.forecasts(&ForecasterSpec::overconfident()).expect("panel");
    let mut rng = SplitMix(7);
    let levels: Vec<[f64; 4]> = (0..N)
        .map(|_| {
            [
                2e5 * 25f64.powf(rng.unit()),
                2.0 + 18.0 * rng.unit(),
                500.0 + 4_500.0 * rng.unit(),
                0.01 + 0.02 * rng.unit(),
            ]
        })
        .collect();
    (1..market.n_days())
        .map(|t| {
            let mut s = market.snapshot_before(t).expect("in range");
            let mut jitter = || 0.8 + 0.4 * rng.unit();
            for (i, a) in s.assets.iter_mut().enumerate() {
                a.features = vec![panel.mean[[t, i]], panel.sigma[[t, i]]];
                a.adv_shares = Some(levels[i][0] * jitter());
            }
            for (i, q) in s.quotes.iter_mut().enumerate() {
                q.spread_bps = Some(levels[i % N][1] * jitter());
                q.volume = Some(levels[i % N][0] * jitter());
            }
            let time = s.time;
            for (i, a) in s.assets.iter().enumerate() {
                let vol = levels[i][3] * jitter();
                for (name, value) in [
                    (format!("{}:depth", a.id), levels[i][2] * jitter()),
                    (format!("{}:volatility", a.id), vol),
                    (format!("volatility:{}", a.id), vol),
                ] {
                    s.indicators.push(Indicator { name, time, value });
                }
            }
            s
        })
        .collect()
}

/// SplitMix64 (seeded, deterministic) for the synthetic microstructure fields.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn warmed(snapshots: &[MarketSnapshot]) -> SnapshotGuard {
    let mut guard = SnapshotGuard::new(SnapshotGuardConfig::default()).expect("valid");
    for s in &snapshots[..WARM] {
        let _ = guard.screen(s).expect("screen");
    }
    guard
}

/// Median and minimum of single screens over `rounds` walks through the measured days (on
/// a machine shared with other work the minimum is the figure least inflated by preemption).
/// With `sweep`, 8 MiB are written between screens (untimed), as the other stages of a
/// `decide` would, so the guard's windows are no longer in the core's cache.
fn spread(snapshots: &[MarketSnapshot], warm: &SnapshotGuard, rounds: usize, sweep: bool) -> (f64, f64, f64) {
    let mut ms = Vec::new();
    let mut buffer = vec![0u64; if sweep { 1 << 20 } else { 0 }];
    for round in 0..rounds {
        let mut guard = warm.clone();
        for s in &snapshots[WARM..] {
            for (i, b) in buffer.iter_mut().enumerate() {
                *b = b.wrapping_add((i + round) as u64);
            }
            black_box(&buffer);
            let start = Instant::now();
            let r = guard.screen(s);
            ms.push(start.elapsed().as_secs_f64() * 1e3);
            let _ = black_box(r);
        }
    }
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    (ms[ms.len() / 2], ms[0], mean)
}

fn bench(c: &mut Criterion) {
    let snapshots = snapshots();
    let warm = warmed(&snapshots);
    let mut guard = warm.clone();
    let values = snapshots[WARM].quotes.len() + snapshots[WARM].indicators.len();
    match guard.screen(&snapshots[WARM]).expect("screen") {
        Screened::Clean {
            repaired,
            quarantined,
            ..
        } => eprintln!("guard: {values} values, clean, {repaired} repaired, {quarantined} quarantined"),
        Screened::SafeFallback {
            quarantined_share, ..
        } => eprintln!("guard: {values} values, safe fallback (share {quarantined_share})"),
    }
    for sweep in [false, true] {
        let (median, min, mean) = spread(&snapshots, &warm, 5, sweep);
        eprintln!(
            "guard: one screen over {} days x 5{}: median {median:.3} ms, minimum {min:.3} ms, mean {mean:.3} ms",
            snapshots.len() - WARM,
            if sweep {
                " (8 MiB written between screens)"
            } else {
                ""
            }
        );
    }
    // The floor of the owned answer (`Screened::Clean` holds the clean snapshot): a clone.
    let mut ms: Vec<f64> = (0..5)
        .flat_map(|_| &snapshots[WARM..])
        .map(|s| {
            let start = Instant::now();
            let c = s.clone();
            let t = start.elapsed().as_secs_f64() * 1e3;
            drop(black_box(c));
            t
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "snapshot clone alone: median {:.3} ms, minimum {:.3} ms",
        ms[ms.len() / 2],
        ms[0]
    );
    // One guard walks forward across calls (a fresh clone of the warmed guard when the days
    // run out), so a measured screen is almost always a next-day screen of a guard in use.
    let mut guard = warm.clone();
    let mut t = WARM;
    c.bench_function("guard_screen_n500_decide_snapshot", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if t == snapshots.len() {
                    guard = warm.clone();
                    t = WARM;
                }
                let start = Instant::now();
                let r = guard.screen(&snapshots[t]);
                total += start.elapsed();
                let _ = black_box(r);
                t += 1;
            }
            total
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
