//! prudentia-audit under bad input: configurations, appends, outcomes, queries, verify,
//! replay and policy diff, and checkpoint mutations of its serde types.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use prudentia_adversarial::{result, strategies::*, Check, Suite};
use prudentia_audit::{
    policy_diff, replay, verify_dir, AuditLog, DecideFn, Durability, LogConfig, LoggedDecision,
};
use prudentia_core::*;

static N: AtomicU64 = AtomicU64::new(0);

fn tmp() -> PathBuf {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!("prudentia-adv-audit-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn cfg() -> LogConfig {
    LogConfig {
        durability: Durability::None,
        ..Default::default()
    }
}

fn snapshot(day: i64, price: f64) -> MarketSnapshot {
    let time = Timestamp::from_nanos(day * Timestamp::NANOS_PER_DAY);
    MarketSnapshot {
        time,
        quotes: vec![
            Quote {
                asset: "A".into(),
                time,
                price,
                volume: Some(price),
                spread_bps: None,
            },
            Quote {
                asset: "B".into(),
                time,
                price: 10.0,
                volume: None,
                spread_bps: Some(price),
            },
        ],
        indicators: vec![Indicator {
            name: "vix".into(),
            time,
            value: price,
        }],
        assets: vec![],
    }
}

fn decision(time: Timestamp, w: f64) -> Decision {
    let weights = Weights {
        assets: vec!["A".into(), "B".into()],
        values: vec![w, 1.0 - w],
    };
    Decision {
        time,
        status: DecisionStatus::Normal,
        regime: RegimeState::default(),
        forecasts: vec![],
        selected: vec!["A".into()],
        target: weights.clone(),
        sized: weights,
        orders: vec![],
    }
}

fn record(time: Timestamp, w: f64) -> DecisionRecord {
    DecisionRecord {
        sequence: 0,
        policy_id: "p".into(),
        model_hash: String::new(),
        feature_version: "1".into(),
        seed: 1,
        inputs_digest: String::new(),
        decision: decision(time, w),
        optimizer_status: None,
        timings_ns: vec![],
    }
}

/// Appends one record with `price` in the snapshot and `w` in the weights; on success the log
/// must verify and read back the same snapshot encoding.
fn append_and_read(price: f64, w: f64) -> Check {
    let dir = tmp();
    let r = (|| {
        let mut log = AuditLog::open(&dir, cfg())?;
        let s = snapshot(1, price);
        let _ = log.append(&s, &record(s.time, w))?;
        let back = log.all()?;
        let ok = log.verify()?.is_ok()
            && back.len() == 1
            && prudentia_audit::snapshot_bytes(&back[0].snapshot).ok()
                == prudentia_audit::snapshot_bytes(&s).ok();
        Ok::<_, prudentia_audit::AuditError>((ok, back))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    match r {
        Ok((ok, back)) => {
            Check::invariant(ok, "stored snapshot or chain differs").and(|| Check::ok_finite(&back[0].record))
        }
        Err(_) => Check::Rejected,
    }
}

fn recorded_log(days: i64) -> Vec<LoggedDecision> {
    let dir = tmp();
    let mut log = AuditLog::open(&dir, cfg()).unwrap();
    for d in 0..days {
        let s = snapshot(d, 100.0 + d as f64);
        let _ = log.append(&s, &record(s.time, 0.5)).unwrap();
        let _ = log
            .append_outcome(&Outcome {
                time: None,
                realized_returns: vec![("A".into(), 0.01), ("B".into(), -0.02)],
                fills: vec![],
                equity: None,
            })
            .unwrap();
    }
    let all = log.all().unwrap();
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
    all
}

#[test]
fn audit_entry_points() {
    let mut s = Suite::new("audit");

    // configurations: sizes at and beyond their limits are typed errors
    for (seg, max) in [
        (0u64, 1u32),
        (4095, 1),
        (4096, 0),
        (u64::MAX, u32::MAX),
        (1 << 40, 1 << 30),
        (4096, (1 << 30) + 1),
    ] {
        s.check(
            format!("open segment_max_bytes={seg} max_record_bytes={max}"),
            move || {
                let dir = tmp();
                let r = AuditLog::open(
                    &dir,
                    LogConfig {
                        segment_max_bytes: seg,
                        max_record_bytes: max,
                        durability: Durability::None,
                    },
                )
                .map(|l| l.len());
                let _ = std::fs::remove_dir_all(&dir);
                result(r)
            },
        );
    }

    // appends: a table of bad numbers in the raw snapshot (allowed, stored losslessly) and in
    // the record (refused)
    for v in SPECIAL_F64 {
        s.check(format!("append snapshot price {v:e}"), move || {
            append_and_read(v, 0.5)
        });
        s.check(format!("append record weight {v:e}"), move || {
            append_and_read(100.0, v)
        });
    }
    s.sweep("append (price, weight)", (any_f64(), any_f64()), |(p, w)| {
        append_and_read(p, w)
    });

    // mismatched lengths, mismatched times, out-of-order times, a record over the limit
    s.check("append mismatched weights", || {
        let dir = tmp();
        let mut log = AuditLog::open(&dir, cfg()).unwrap();
        let sn = snapshot(1, 1.0);
        let mut r = record(sn.time, 0.5);
        r.decision.sized.values.push(1.0);
        let out = result(log.append(&sn, &r).map(|a| a.sequence));
        let _ = std::fs::remove_dir_all(&dir);
        out
    });
    for (snap_day, rec_day) in [(1i64, 2i64), (i64::MAX / Timestamp::NANOS_PER_DAY, 0)] {
        s.check(
            format!("append snapshot day {snap_day} record day {rec_day}"),
            move || {
                let dir = tmp();
                let mut log = AuditLog::open(&dir, cfg()).unwrap();
                let sn = snapshot(snap_day, 1.0);
                let r = record(Timestamp::from_nanos(rec_day * Timestamp::NANOS_PER_DAY), 0.5);
                let out = result(log.append(&sn, &r).map(|a| a.sequence));
                let _ = std::fs::remove_dir_all(&dir);
                out
            },
        );
    }
    s.check("append out of order", || {
        let dir = tmp();
        let mut log = AuditLog::open(&dir, cfg()).unwrap();
        let later = snapshot(5, 1.0);
        let _ = log.append(&later, &record(later.time, 0.5)).unwrap();
        let earlier = snapshot(4, 1.0);
        let out = result(
            log.append(&earlier, &record(earlier.time, 0.5))
                .map(|a| a.sequence),
        );
        let _ = std::fs::remove_dir_all(&dir);
        out
    });
    s.check("append over the size limit", || {
        let dir = tmp();
        let mut log = AuditLog::open(
            &dir,
            LogConfig {
                max_record_bytes: 64,
                ..cfg()
            },
        )
        .unwrap();
        let sn = snapshot(1, 1.0);
        let out = result(log.append(&sn, &record(sn.time, 0.5)).map(|a| a.sequence));
        let _ = std::fs::remove_dir_all(&dir);
        out
    });
    for v in SPECIAL_F64 {
        s.check(format!("append_outcome return {v:e}"), move || {
            let dir = tmp();
            let mut log = AuditLog::open(&dir, cfg()).unwrap();
            let r = log.append_outcome(&Outcome {
                time: None,
                realized_returns: vec![("A".into(), v)],
                fills: vec![],
                equity: Some(v),
            });
            let out = result(r.map(|a| a.sequence));
            let _ = std::fs::remove_dir_all(&dir);
            out
        });
    }

    // queries with extreme bounds and indices
    for (from, to) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (0, 0), (-1, 1)] {
        s.check(format!("range {from}..{to}"), move || {
            let dir = tmp();
            let mut log = AuditLog::open(&dir, cfg()).unwrap();
            let sn = snapshot(0, 1.0);
            let _ = log.append(&sn, &record(sn.time, 0.5)).unwrap();
            let r = log.range(Timestamp::from_nanos(from), Timestamp::from_nanos(to));
            let out = result(r.map(|v| v.len()));
            let _ = std::fs::remove_dir_all(&dir);
            out
        });
    }
    for seq in [0u64, 1, 1 << 40, u64::MAX] {
        s.check(format!("decision({seq})"), move || {
            let dir = tmp();
            let log = AuditLog::open(&dir, cfg()).unwrap();
            let out = result(log.decision(seq).map(|d| d.map(|d| d.sequence)));
            let _ = std::fs::remove_dir_all(&dir);
            out
        });
    }
    s.check("verify_dir of a missing directory", || {
        result(verify_dir(tmp().join("missing"), &cfg()).map(|r| r.records))
    });
    s.check("verify_dir of a file full of garbage", || {
        let dir = tmp();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seg-{:020}.plog", 0)), vec![0xffu8; 5000]).unwrap();
        let r = verify_dir(&dir, &cfg());
        let _ = std::fs::remove_dir_all(&dir);
        match r {
            Ok(rep) => Check::invariant(rep.first_bad.is_some(), "garbage accepted"),
            Err(_) => Check::Rejected,
        }
    });

    // replay and diff with a policy that answers with non-finite or mismatched weights
    for v in SPECIAL_F64 {
        s.check(format!("replay/diff policy weight {v:e}"), move || {
            let entries = recorded_log(3);
            let rep = replay(
                &entries,
                &mut DecideFn(|s: &MarketSnapshot| Ok::<_, CoreError>(decision(s.time, v))),
            );
            let diff = policy_diff(
                &entries,
                &mut DecideFn(|s: &MarketSnapshot| Ok::<_, CoreError>(decision(s.time, v))),
            );
            Check::ok_finite(&rep).and(|| Check::ok_finite(&diff))
        });
    }
    s.check("diff policy with mismatched weights", || {
        let entries = recorded_log(2);
        let diff = policy_diff(
            &entries,
            &mut DecideFn(|s: &MarketSnapshot| {
                let mut d = decision(s.time, 0.5);
                d.sized.assets.pop();
                Ok::<_, CoreError>(d)
            }),
        );
        Check::invariant(diff.stopped.is_some(), "mismatched weights not reported")
            .and(|| Check::ok_finite(&diff))
    });

    // checkpoints: the configuration, and a logged decision used by replay and diff
    s.checkpoint("LogConfig", &cfg(), |json| {
        match serde_json::from_str::<LogConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let dir = tmp();
                let r = AuditLog::open(&dir, c).map(|l| l.len());
                let _ = std::fs::remove_dir_all(&dir);
                result(r)
            }
        }
    });
    let entry = recorded_log(1).remove(0);
    s.checkpoint("LoggedDecision", &entry, |json| {
        match serde_json::from_str::<LoggedDecision>(&json) {
            Err(_) => Check::Rejected,
            Ok(e) => {
                let entries = vec![e];
                let rep = replay(
                    &entries,
                    &mut DecideFn(|s: &MarketSnapshot| Ok::<_, CoreError>(decision(s.time, 0.5))),
                );
                let diff = policy_diff(
                    &entries,
                    &mut DecideFn(|s: &MarketSnapshot| Ok::<_, CoreError>(decision(s.time, 0.5))),
                );
                Check::ok_finite(&rep).and(|| Check::ok_finite(&diff))
            }
        }
    });

    s.finish();
}

/// CRC-32 (IEEE), as the index files use, to forge a consistent checksum.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A log of `days` decisions in small segments (several sealed, each with its index).
fn segmented_log(dir: &std::path::Path, days: i64) -> LogConfig {
    let c = LogConfig {
        segment_max_bytes: 4096,
        ..cfg()
    };
    let mut log = AuditLog::open(dir, c.clone()).unwrap();
    for d in 0..days {
        let s = snapshot(d, 100.0 + d as f64);
        let _ = log.append(&s, &record(s.time, 0.5)).unwrap();
    }
    drop(log);
    c
}

fn index_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pidx"))
        .collect();
    v.sort();
    v
}

/// Opens the log after `damage` and checks it still answers as before, or refuses.
fn reopen_after(days: i64, damage: impl FnOnce(&std::path::Path)) -> Check {
    let dir = tmp();
    let c = segmented_log(&dir, days);
    let before = AuditLog::open(&dir, c.clone()).unwrap().all().unwrap();
    damage(&dir);
    let r = AuditLog::open(&dir, c).and_then(|l| {
        let all = l.all()?;
        Ok((all, l.verify()?.is_ok(), l.index_rebuilds().len()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    match r {
        Ok((all, verified, _)) => Check::invariant(all == before, "records differ after reopen")
            .and(|| Check::invariant(verified, "reopened log does not verify")),
        Err(_) => Check::Rejected,
    }
}

#[test]
fn audit_lock_and_index_files() {
    let mut s = Suite::new("audit-files");

    // the writer lock: a second writer is refused, a garbage or huge lock file is a stale lock
    s.check("open while another writer holds the lock", || {
        let dir = tmp();
        let first = AuditLog::open(&dir, cfg()).unwrap();
        let second = AuditLog::open(&dir, cfg());
        let locked = matches!(second, Err(prudentia_audit::AuditError::Locked { .. }));
        drop(first);
        let _ = std::fs::remove_dir_all(&dir);
        Check::invariant(locked, "second writer not refused with Locked")
    });
    for (label, contents) in [
        ("binary", vec![0xffu8, 0, 0xfe, 10, 13]),
        ("4 MiB", vec![b'x'; 4 << 20]),
        ("empty", vec![]),
    ] {
        s.check(format!("open with a {label} lock file left behind"), move || {
            let dir = tmp();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(prudentia_audit::LOCK_FILE), &contents).unwrap();
            let r = AuditLog::open(&dir, cfg()).map(|l| l.stale_lock().map(|s| s.holder.len()));
            let _ = std::fs::remove_dir_all(&dir);
            match r {
                Ok(holder) => Check::invariant(
                    holder.is_some() != contents.is_empty() && holder.unwrap_or(0) <= 256,
                    "stale lock not reported, or its holder read unbounded",
                ),
                Err(_) => Check::Rejected,
            }
        });
    }

    // persistent indexes: removed, truncated, emptied, replaced by garbage, or a byte changed
    // (with and without a fixed checksum) — the log opens with the same records or refuses
    s.check("index files removed", || {
        reopen_after(30, |dir| {
            for p in index_files(dir) {
                std::fs::remove_file(p).unwrap();
            }
        })
    });
    for cut in [0usize, 4, 71, 72, 100] {
        s.check(format!("index files cut to {cut} bytes"), move || {
            reopen_after(30, |dir| {
                for p in index_files(dir) {
                    let b = std::fs::read(&p).unwrap();
                    std::fs::write(&p, &b[..cut.min(b.len())]).unwrap();
                }
            })
        });
    }
    s.sweep(
        "index byte changed (position, value, fix checksum)",
        (any_size(), any_size(), any_size()),
        |(at, v, fix)| {
            reopen_after(30, move |dir| {
                for p in index_files(dir) {
                    let mut b = std::fs::read(&p).unwrap();
                    let n = b.len();
                    let i = at % n;
                    b[i] = b[i].wrapping_add((v % 255) as u8 + 1);
                    if fix % 2 == 0 && i < n - 4 {
                        let crc = crc32(&b[..n - 4]);
                        b[n - 4..].copy_from_slice(&crc.to_le_bytes());
                    }
                    std::fs::write(&p, &b).unwrap();
                }
            })
        },
    );
    s.check("index of another segment swapped in", || {
        reopen_after(30, |dir| {
            let v = index_files(dir);
            if v.len() >= 2 {
                let a = std::fs::read(&v[0]).unwrap();
                std::fs::write(&v[1], a).unwrap();
            }
        })
    });

    s.finish();
}
