//! Audit log throughput with records of the main example's size (20 stocks + the index, 20
//! calibrated forecasts with quantiles, a slate of 8, 20 target and sized weights, 8 orders).
//! Targets (issue #17): appends ≥ 200k/s without fsync, ≥ 20k/s with group commit; `verify`
//! ≥ 200 MB/s; a one-day time-range query out of 10 years ≤ 1 ms.
#![allow(missing_docs)]
use std::path::PathBuf;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prudentia_audit::{AuditLog, Durability, LogConfig};
use prudentia_core::*;

fn tmp(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("prudentia-audit-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn snapshot(k: u64) -> MarketSnapshot {
    let time = Timestamp::from_nanos(k as i64 * Timestamp::NANOS_PER_DAY);
    let price = |i: usize| 50.0 + ((k as usize * 31 + i * 17) % 997) as f64 * 0.173;
    let mut quotes: Vec<Quote> = (0..20)
        .map(|i| Quote {
            asset: AssetId::new(format!("TICK{i:02}")),
            time,
            price: price(i),
            volume: None,
            spread_bps: None,
        })
        .collect();
    quotes.push(Quote {
        asset: "SP500".into(),
        time,
        price: 2000.0 + k as f64 * 0.37,
        volume: None,
        spread_bps: None,
    });
    let assets = (0..20)
        .map(|i| {
            let mut a = AssetInfo::new(AssetId::new(format!("TICK{i:02}")), price(i)).unwrap();
            a.sector = Some(format!("Sector {}", i % 6));
            a.features = vec![1.234e-3 * i as f64, -4.56e-4 * k as f64, 0.0123 + 1e-5 * i as f64];
            a
        })
        .collect();
    MarketSnapshot {
        time,
        quotes,
        indicators: vec![Indicator {
            name: "vix".into(),
            time,
            value: 14.0 + (k % 17) as f64 * 0.31,
        }],
        assets,
    }
}

fn record(k: u64, s: &MarketSnapshot) -> DecisionRecord {
    let ids: Vec<AssetId> = s.assets.iter().map(|a| a.id.clone()).collect();
    let forecasts = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let m = 1.1e-4 * i as f64 - 7.3e-4;
            let f = Forecast::new(m, 0.0173 + 1e-4 * i as f64, Horizon::DAY)
                .unwrap()
                .with_quantiles(vec![
                    Quantile {
                        level: 0.05,
                        value: m - 0.028,
                    },
                    Quantile { level: 0.5, value: m },
                    Quantile {
                        level: 0.95,
                        value: m + 0.028,
                    },
                ])
                .unwrap();
            (id.clone(), f)
        })
        .collect();
    let w: Vec<f64> = (0..20)
        .map(|i| {
            if i % 5 == 0 {
                -0.05
            } else {
                0.0712 + i as f64 * 1e-3
            }
        })
        .collect();
    let target = Weights::new(ids.clone(), w.clone()).unwrap();
    let sized = Weights::new(ids.clone(), w.iter().map(|x| x * 0.5).collect()).unwrap();
    let orders = ids
        .iter()
        .take(8)
        .map(|id| Order::new(id.clone(), Side::Buy, 137.0, OrderType::Market).unwrap())
        .collect();
    DecisionRecord {
        sequence: k,
        policy_id: "daily_pipeline example".into(),
        model_hash: "ab".repeat(32),
        feature_version: "1".into(),
        seed: k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        inputs_digest: "cd".repeat(32),
        decision: Decision {
            time: s.time,
            status: DecisionStatus::Normal,
            regime: RegimeState::default(),
            forecasts,
            selected: ids[..8].to_vec(),
            target,
            sized,
            orders,
        },
        optimizer_status: Some(prudentia_core::Status::Converged),
        timings_ns: vec![("guard".into(), 12_000), ("optimize".into(), 900_000)],
    }
}

fn bench(c: &mut Criterion) {
    // pre-built inputs: 4096 distinct days, cycled with increasing times
    let inputs: Vec<(MarketSnapshot, DecisionRecord)> = (0..4096)
        .map(|k| {
            let s = snapshot(k);
            let r = record(k, &s);
            (s, r)
        })
        .collect();
    let bytes = prudentia_audit::snapshot_bytes(&inputs[0].0).unwrap().len()
        + serde_json::to_vec(&inputs[0].1).unwrap().len();
    println!("record size of the main example: {bytes} bytes (record + snapshot)");
    // where an append's time goes
    let mut group = c.benchmark_group("audit_components");
    let (s0, r0) = &inputs[0];
    let snap = prudentia_audit::snapshot_bytes(s0).unwrap();
    let rec = serde_json::to_vec(r0).unwrap();
    group.throughput(Throughput::Bytes(snap.len() as u64 + rec.len() as u64));
    group.bench_function("encode_record_json", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(r0)).unwrap()))
    });
    group.bench_function("encode_snapshot", |b| {
        b.iter(|| black_box(prudentia_audit::snapshot_bytes(black_box(s0)).unwrap()))
    });
    let all: Vec<u8> = [snap.clone(), rec.clone()].concat();
    group.bench_function("sha256", |b| {
        b.iter(|| {
            use sha2::Digest;
            black_box(sha2::Sha256::digest(black_box(&all)))
        })
    });
    group.bench_function("crc32", |b| {
        b.iter(|| black_box(crc32fast::hash(black_box(&all))))
    });
    group.bench_function("clone_inputs", |b| b.iter(|| black_box((s0.clone(), r0.clone()))));
    group.finish();

    let mut group = c.benchmark_group("audit_append");
    group.throughput(Throughput::Elements(1));
    for (name, durability) in [
        ("no_fsync", Durability::None),
        (
            "group_commit_256",
            Durability::GroupCommit {
                max_records: 256,
                max_delay: Duration::from_millis(20),
            },
        ),
    ] {
        let dir = tmp(name);
        let mut log = AuditLog::open(
            &dir,
            LogConfig {
                durability,
                ..Default::default()
            },
        )
        .unwrap();
        let mut k = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    // a fresh day (cloned outside the timing), its time shifted so it keeps
                    // increasing across cycles
                    let (s, r) = &inputs[(k % 4096) as usize];
                    let (mut s, mut r) = (s.clone(), r.clone());
                    s.time = Timestamp::from_nanos(k as i64 * 1000);
                    r.decision.time = s.time;
                    k += 1;
                    (s, r)
                },
                |(s, r)| {
                    let _ = black_box(log.append(&s, &r).unwrap());
                },
                BatchSize::SmallInput,
            )
        });
        drop(log);
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();

    // verify: a log of 4096 main-example records
    let dir = tmp("verify");
    let cfg = LogConfig {
        durability: Durability::None,
        ..Default::default()
    };
    let mut log = AuditLog::open(&dir, cfg.clone()).unwrap();
    for (s, r) in &inputs {
        let _ = log.append(s, r).unwrap();
    }
    let _ = log.sync().unwrap();
    let size: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let mut group = c.benchmark_group("audit_verify");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(20);
    group.bench_function("verify_4096_records", |b| {
        b.iter(|| assert!(log.verify().unwrap().is_ok()))
    });
    group.finish();
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);

    // time-range query: one day out of 10 years of daily decisions (2520)
    let dir = tmp("range");
    let mut log = AuditLog::open(&dir, cfg).unwrap();
    for (s, r) in inputs.iter().take(2520) {
        let _ = log.append(s, r).unwrap();
    }
    let _ = log.sync().unwrap();
    let mut group = c.benchmark_group("audit_range");
    let mut k = 0i64;
    group.bench_function("one_day_of_10y", |b| {
        b.iter(|| {
            k = (k + 997) % 2520;
            let from = Timestamp::from_nanos(k * Timestamp::NANOS_PER_DAY);
            let to = Timestamp::from_nanos((k + 1) * Timestamp::NANOS_PER_DAY);
            let got = log.range(from, to).unwrap();
            assert_eq!(got.len(), 1);
            black_box(got);
        })
    });
    group.finish();
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
