//! Append, verify and range-query rates with records of the main example's size, in wall
//! time and in CPU time of this thread and of the log's writer thread (Linux:
//! `/proc/thread-self/schedstat`), for machines shared with other work where criterion's
//! wall-clock figures are inflated. The appends are one sustained burst into one log (the
//! `store` bench times many short bursts, each into a fresh log, so that the page cache's
//! writeback of a long burst does not bound its figure): the wall rate until every record
//! is stored (hashed, chained and handed to the writer's buffer or the operating system),
//! and with the final `sync`, which writes back what the page cache still holds.
//!
//! `cargo run --release -p prudentia-audit --example append_rate [appends]`
#[path = "../benches/main_example.rs"]
mod main_example;

use std::time::{Duration, Instant};

use prudentia_audit::{AuditLog, Durability, LogConfig};
use prudentia_core::Timestamp;

/// CPU time of this thread so far (`None` where unavailable).
fn cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// CPU time so far of the log's writer thread (`Durability::None` hashes and writes there;
/// zero before it starts, `None` where unavailable).
fn writer_cpu() -> Option<Duration> {
    let mut total = None;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?.path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() == "prudentia-audit" {
            let s = std::fs::read_to_string(task.join("schedstat")).ok()?;
            let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
            total = Some(total.unwrap_or(Duration::ZERO) + Duration::from_nanos(ns));
        }
    }
    Some(total.unwrap_or(Duration::ZERO))
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let (c0, t0) = (cpu(), Instant::now());
    let out = f();
    let wall = t0.elapsed();
    let cpu = c0.and_then(|c0| Some(cpu()? - c0));
    (out, wall, cpu)
}

fn rate(n: f64, d: Option<Duration>) -> String {
    d.map_or("n/a".into(), |d| format!("{:.0}", n / d.as_secs_f64()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map_or(Ok(200_000), |a| a.parse())?;
    {
        let s = main_example::snapshot(7);
        println!(
            "snapshot: {} bytes (binary), {} bytes (JSON)",
            prudentia_audit::snapshot_bytes(&s)?.len(),
            prudentia_audit::snapshot_json(&s)?.len()
        );
    }
    let mut hot: Vec<_> = (0..64)
        .map(|k| {
            let s = main_example::snapshot(k);
            let r = main_example::record(k, &s);
            (s, r)
        })
        .collect();
    let base = std::env::temp_dir().join(format!("prudentia-audit-rate-{}", std::process::id()));
    for (name, durability) in [
        ("no fsync", Durability::None),
        (
            "group commit 256",
            Durability::GroupCommit {
                max_records: 256,
                max_delay: Duration::from_millis(20),
            },
        ),
        ("fsync per record", Durability::PerRecord),
    ] {
        let dir = base.join(name.replace(' ', "_"));
        let _ = std::fs::remove_dir_all(&dir);
        let config = LogConfig {
            durability,
            ..Default::default()
        };
        let mut log = AuditLog::open(&dir, config.clone())?;
        let count = if durability == Durability::PerRecord {
            (n / 100).max(100)
        } else {
            n
        };
        let w0 = writer_cpu();
        let mut stored = Duration::ZERO;
        let (res, wall, cpu) = measure(|| -> Result<(), prudentia_audit::AuditError> {
            let t0 = Instant::now();
            for k in 0..count {
                let (s, r) = &mut hot[(k % 64) as usize];
                s.time = Timestamp::from_nanos(k as i64 * 1000);
                r.decision.time = s.time;
                let _ = log.append(s, r)?;
            }
            // waits for the writer thread's queue (every record hashed and chained)
            let _ = log.head();
            stored = t0.elapsed();
            let _ = log.sync()?;
            Ok(())
        });
        res?;
        let writer = w0.and_then(|w0| Some(writer_cpu()? - w0));
        println!(
            "{name:>18}: {count} appends into one log, {} /s wall until all are stored, {} /s \
             wall with the final sync, {} /s CPU of the caller",
            rate(count as f64, Some(stored)),
            rate(count as f64, Some(wall)),
            rate(count as f64, cpu)
        );
        if let Some(w) = writer.filter(|w| !w.is_zero()) {
            // a two-stage pipeline runs at the rate of its slower stage (given two cores)
            let slower = cpu.map_or(w, |c| c.max(w));
            println!(
                "{:>18}: {} /s CPU of the writer thread; pipelined: {} /s CPU",
                "",
                rate(count as f64, Some(w)),
                rate(count as f64, Some(slower))
            );
        }
        if durability == Durability::None {
            let bytes: u64 = std::fs::read_dir(&dir)?
                .map(|e| e.and_then(|e| e.metadata()).map(|m| m.len()))
                .sum::<Result<u64, _>>()?;
            let (report, wall, cpu) = measure(|| log.verify());
            assert!(report?.is_ok());
            let mb = bytes as f64 / 1e6;
            println!(
                "{:>18}: {:.0} bytes per record (with its snapshot and frame header)",
                "stored",
                bytes as f64 / count as f64
            );
            println!(
                "{:>18}: {mb:.0} MB, {} MB/s wall, {} MB/s CPU",
                "verify",
                rate(mb, Some(wall)),
                rate(mb, cpu)
            );
        }
        drop(log);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // one day out of 10 years
    let dir = base.join("range");
    let _ = std::fs::remove_dir_all(&dir);
    let mut log = AuditLog::open(
        &dir,
        LogConfig {
            durability: Durability::None,
            ..Default::default()
        },
    )?;
    for k in 0..2520u64 {
        let s = main_example::snapshot(k);
        let _ = log.append(&s, &main_example::record(k, &s))?;
    }
    let _ = log.sync()?;
    let queries = 2000i64;
    let (res, wall, cpu) = measure(|| -> Result<(), prudentia_audit::AuditError> {
        for q in 0..queries {
            let k = (q * 997) % 2520;
            let from = Timestamp::from_nanos(k * Timestamp::NANOS_PER_DAY);
            let to = Timestamp::from_nanos((k + 1) * Timestamp::NANOS_PER_DAY);
            assert_eq!(log.range(from, to)?.len(), 1);
        }
        Ok(())
    });
    res?;
    let per = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6 / queries as f64);
    println!(
        "{:>18}: {} µs wall, {} µs CPU per query",
        "one-day range",
        per(wall),
        cpu.map_or("n/a".into(), per)
    );
    drop(log);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
