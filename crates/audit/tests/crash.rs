//! Crash test: a child process (this test binary, re-run with an environment variable)
//! appends records and prints every acknowledged sequence number after its durability point;
//! the parent kills it after a seeded delay, reopens the log and checks that no acknowledged
//! record was lost, no corrupt record was accepted and every torn tail was reported.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prudentia_audit::*;

use crate::common::*;

const CHILD_ENV: &str = "PRUDENTIA_AUDIT_CRASH_CHILD";
const KILLS_PER_POLICY: u64 = 110;
/// Kills against one log before the next log starts empty. After each kill the whole log is
/// verified (independently and by the reopened log) and decoded, so one log for all the kills
/// of a policy made the test quadratic in its length (about 40 s of CPU); each log still goes
/// through ten kill–reopen–resume cycles.
const KILLS_PER_LOG: u64 = 10;

fn policy(name: &str) -> Durability {
    match name {
        "per_record" => Durability::PerRecord,
        _ => Durability::GroupCommit {
            max_records: 8,
            max_delay: Duration::from_millis(2),
        },
    }
}

/// The child: append forever, print acknowledged sequence numbers.
fn child(spec: &str) {
    let (dir, name) = spec.split_once('|').unwrap();
    let mut log = AuditLog::open(dir, config(policy(name))).unwrap();
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut printed = log.durable_through().map_or(0, |d| d + 1);
    let mut k = log.len();
    loop {
        let s = snapshot(k / 3, 6); // every snapshot is used three times (stored once)
        let mut r = record(k, &s);
        r.sequence = k;
        let a = log.append(&s, &r).unwrap();
        if k % 5 == 0 {
            let _ = log.append_outcome(&outcome(k, &s)).unwrap();
        }
        if let Some(d) = log.durable_through() {
            while printed <= d.max(a.durable_through.unwrap_or(0)) {
                writeln!(out, "ack {printed}").unwrap();
                printed += 1;
            }
            out.flush().unwrap();
        }
        k = log.len();
    }
}

/// splitmix64, for the seeded kill delays.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn killed_appenders_lose_no_acknowledged_record() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut seed = 0x5EED_u64;
    let mut total_kills = 0;
    let mut torn_seen = 0;
    for name in ["per_record", "group_commit"] {
        let mut records = 0;
        for round in 0..KILLS_PER_POLICY / KILLS_PER_LOG {
            let dir = TempDir::new(&format!("crash-{name}-{round}"));
            let spec = format!("{}|{name}", dir.path().display());
            let mut max_acked: Option<u64> = None;
            for _ in 0..KILLS_PER_LOG {
                let mut ch = Command::new(&exe)
                    .args([
                        "crash::killed_appenders_lose_no_acknowledged_record",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(CHILD_ENV, &spec)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let stdout = ch.stdout.take().unwrap();
                let reader = std::thread::spawn(move || {
                    let mut acks = Vec::new();
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if let Some(n) = line.strip_prefix("ack ") {
                            acks.push(n.parse::<u64>().unwrap());
                        }
                    }
                    acks
                });
                // a seeded delay: from "before the first append" to a few dozen appends
                let delay = 5 + next(&mut seed) % 60;
                std::thread::sleep(Duration::from_millis(delay));
                ch.kill().unwrap();
                let _ = ch.wait().unwrap();
                let acks = reader.join().unwrap();
                let child_acknowledged = !acks.is_empty();
                if let Some(&a) = acks.iter().max() {
                    max_acked = Some(max_acked.map_or(a, |m: u64| m.max(a)));
                }
                total_kills += 1;

                // independent look before reopening: is the tail torn?
                let before = verify_dir(dir.path(), &LogConfig::default()).unwrap();
                let torn_on_disk = before.first_bad.is_some();
                let log = AuditLog::open(dir.path(), config(policy(name))).unwrap();
                // the killed child held the writer lock: the OS released it, and its pid left in
                // the lock file is reported as a stale lock
                if child_acknowledged {
                    assert!(log.stale_lock().is_some(), "stale lock not reported");
                }
                assert_eq!(
                    log.torn_tail().is_some(),
                    torn_on_disk,
                    "torn tail reported iff present: {before:?}"
                );
                if torn_on_disk {
                    torn_seen += 1;
                    let bad = before.first_bad.unwrap();
                    assert_eq!(bad.reason, BadReason::Truncated);
                    assert_eq!(log.torn_tail().unwrap().offset, bad.offset);
                }
                // 0 acknowledged records lost
                if let Some(m) = max_acked {
                    assert!(
                        log.len() > m,
                        "acknowledged record {m} lost (log has {})",
                        log.len()
                    );
                }
                // 0 corrupt records accepted: the whole chain verifies and every record decodes
                assert!(log.verify().unwrap().is_ok());
                let all = log.all().unwrap();
                for d in &all {
                    assert_eq!(d.snapshot.time, d.record.decision.time);
                }
            }
            records += AuditLog::open(dir.path(), config(policy(name))).unwrap().len();
        }
        assert!(
            records > 100,
            "{name}: only {records} records after {KILLS_PER_POLICY} runs"
        );
    }
    println!(
        "crash test: {total_kills} kills, {torn_seen} torn tails reported and cut, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(total_kills >= 200);
}
