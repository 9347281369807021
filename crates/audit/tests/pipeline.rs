//! Appends under `Durability::None` are pipelined through a writer thread: the stored bytes,
//! the chain and every read are the same as when records are stored on the caller's thread,
//! and a write error of the thread is reported and rolled back.

use std::path::Path;
use std::sync::{Arc, Mutex};

use prudentia_audit::*;
use prudentia_core::{DecisionRecord, MarketSnapshot};

use crate::common::*;

/// Every file of a log directory (segments and their indexes), by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "plog" || e == "pidx"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Appends `days` decisions of 40 assets (every fifth day repeats the previous day's
/// snapshot, so that deduplication spans batches) with an outcome after each; checks what
/// the log reports while records are still queued.
fn fill(log: &mut AuditLog, days: u64) {
    let mut s = snapshot(0, 40);
    for k in 0..days {
        if k % 5 != 4 {
            s = snapshot(k, 40);
        }
        let a = log.append(&s, &record(k, &s)).unwrap();
        assert_eq!(a.sequence, 2 * k);
        let a = log.append_outcome(&outcome(k, &s)).unwrap();
        assert_eq!(a.sequence, 2 * k + 1);
        assert_eq!(log.len(), 2 * k + 2);
        if k % 97 == 3 && k % 5 != 4 {
            // reads wait for the queue: they see every accepted record
            assert_eq!(log.head().unwrap().sequence, 2 * k + 1);
            assert_eq!(log.all().unwrap().len() as u64, k + 1);
            assert_eq!(log.range(day(k), day(k + 1)).unwrap().len(), 1);
        }
    }
}

#[test]
fn pipelined_appends_store_the_same_bytes_as_direct_ones() {
    for segment_max_bytes in [64 << 20, 96 << 10] {
        let direct = TempDir::new("direct");
        let piped = TempDir::new("piped");
        let cfg = |durability| LogConfig {
            segment_max_bytes,
            ..config(durability)
        };
        let batch = Durability::GroupCommit {
            max_records: 100_000,
            max_delay: std::time::Duration::from_secs(3600),
        };
        let mut a = AuditLog::open(direct.path(), cfg(batch)).unwrap();
        let mut b = AuditLog::open(piped.path(), cfg(Durability::None)).unwrap();
        fill(&mut a, 400);
        fill(&mut b, 400);
        assert_eq!(a.sync().unwrap(), Some(799));
        assert_eq!(b.sync().unwrap(), Some(799));
        assert_eq!(a.head(), b.head());
        assert_eq!(a.segments(), b.segments());
        assert!(b.verify().unwrap().is_ok());
        assert_eq!(a.all().unwrap(), b.all().unwrap());
        let head = b.head();
        drop((a, b));
        let (fa, fb) = (files(direct.path()), files(piped.path()));
        assert!(!fa.is_empty());
        assert!(fa == fb, "the stored files differ");
        if segment_max_bytes < 1 << 20 {
            assert!(fb.len() > 6, "{} files", fb.len());
        }
        let b = AuditLog::open(piped.path(), cfg(Durability::None)).unwrap();
        assert_eq!(b.head(), head);
        assert!(b.verify().unwrap().is_ok());
    }
}

/// A disk that fills up after `budget` bytes (shared so that the test can free space).
#[derive(Clone)]
struct Disk(Arc<Mutex<usize>>);

impl IoFaults for Disk {
    fn allow_write(&mut self, len: usize) -> usize {
        let mut b = self.0.lock().unwrap();
        let n = len.min(*b);
        *b -= n;
        n
    }
    fn allow_sync(&mut self) -> bool {
        true
    }
}

#[test]
fn a_write_error_of_the_writer_thread_is_reported_and_rolled_back() {
    // with small segments, the failing write may be a segment's last (sealing it) in the
    // middle of a batch framed in place
    for segment_max_bytes in [64 << 20, 96 << 10] {
        let cfg = LogConfig {
            segment_max_bytes,
            ..config(Durability::None)
        };
        a_write_error_is_rolled_back(cfg);
    }
}

fn a_write_error_is_rolled_back(cfg: LogConfig) {
    let dir = TempDir::new("piped-full");
    let disk = Disk(Arc::new(Mutex::new(1 << 20)));
    let mut log = AuditLog::open_with_faults(dir.path(), cfg.clone(), Box::new(disk.clone())).unwrap();
    let mut accepted = 0u64;
    let mut error = None;
    for k in 0..5000 {
        let s = snapshot(k, 40);
        match log.append(&s, &record(k, &s)) {
            Ok(a) => {
                assert_eq!(a.sequence, k);
                assert_eq!(a.durable_through, None);
                accepted += 1;
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("the disk filled up");
    match error {
        AuditError::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::StorageFull),
        other => panic!("unexpected {other}"),
    }
    // rolled back to the last good write: fewer records than were accepted, all on disk
    let kept = log.len();
    assert!(kept > 0 && kept < accepted, "kept {kept} of {accepted}");
    let report = log.verify().unwrap();
    assert!(report.is_ok());
    assert_eq!(report.records, kept);
    assert_eq!(log.head().unwrap().sequence, kept - 1);
    // space freed: appends go on from the last written record
    *disk.0.lock().unwrap() = usize::MAX;
    for k in kept..kept + 300 {
        let s = snapshot(k, 40);
        assert_eq!(log.append(&s, &record(k, &s)).unwrap().sequence, k);
    }
    assert_eq!(log.sync().unwrap(), Some(kept + 299));
    drop(log);
    let log = AuditLog::open(dir.path(), cfg).unwrap();
    assert!(log.torn_tail().is_none());
    assert_eq!(log.len(), kept + 300);
    assert!(log.verify().unwrap().is_ok());
    for (k, d) in log.all().unwrap().iter().enumerate() {
        assert_eq!(d.record.sequence, k as u64);
    }
}

#[test]
fn the_size_limit_under_pipelining_is_exact_and_a_refusal_changes_nothing() {
    let dir = TempDir::new("piped-large");
    let big = snapshot(1, 60);
    let inline = snapshot_bytes(&big).unwrap().len() as u32;
    // a record that fits the limit alone but not with the snapshot inline
    let padded = |k: u64, s: &MarketSnapshot| DecisionRecord {
        policy_id: "p".repeat(2000),
        ..record(k, s)
    };
    let cfg = LogConfig {
        max_record_bytes: inline + 1000,
        ..config(Durability::None)
    };
    let mut log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    let _ = log.append(&big, &record(0, &big)).unwrap();
    // stored by reference to the snapshot stored before (maybe still queued)
    for k in 1..4 {
        assert_eq!(log.append(&big, &padded(k, &big)).unwrap().sequence, k);
    }
    // with a new snapshot it does not fit: refused, and the queued records stay
    let mut other = big.clone();
    other.quotes[0].price += 1.0;
    match log.append(&other, &padded(4, &other)) {
        Err(AuditError::RecordTooLarge { bytes, max }) => {
            assert!(bytes > max && max == u64::from(inline) + 1000)
        }
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    assert_eq!(log.len(), 4);
    assert_eq!(log.head().unwrap().sequence, 3);
    assert_eq!(log.append(&big, &padded(4, &big)).unwrap().sequence, 4);
    assert_eq!(log.sync().unwrap(), Some(4));
    assert!(log.verify().unwrap().is_ok());
    let all = log.all().unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|d| d.snapshot_address == all[0].snapshot_address));
    drop(log);
    assert_eq!(AuditLog::open(dir.path(), cfg).unwrap().len(), 5);
}
