//! Bad input: truncated files, another version, wrong order, oversized records, full disk.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use prudentia_audit::*;

use crate::common::*;

fn segment_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "plog"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_truncated_file_loses_only_the_torn_record_and_says_so() {
    let dir = TempDir::new("torn");
    let log = filled_log(dir.path(), 6, 3, config(Durability::PerRecord));
    let records = log.len();
    drop(log);
    let seg = segment_files(dir.path())[0].clone();
    let full = std::fs::read(&seg).unwrap();
    let last_start = {
        // the last record is the outcome of day 5; cut anywhere inside it
        let dir5 = TempDir::new("torn-5");
        let mut l = filled_log(dir5.path(), 5, 3, config(Durability::PerRecord));
        let s = snapshot(5, 3);
        let _ = l.append(&s, &record(5, &s)).unwrap();
        drop(l);
        std::fs::metadata(&segment_files(dir5.path())[0]).unwrap().len() as usize
    };
    assert!(last_start < full.len());
    for cut in (last_start + 1..full.len()).step_by(7) {
        std::fs::write(&seg, &full[..cut]).unwrap();
        let log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
        let torn = log.torn_tail().expect("torn tail reported");
        assert_eq!(torn.offset as usize, last_start);
        assert_eq!(torn.bytes_removed as usize, cut - last_start);
        assert_eq!(log.len(), records - 1);
        assert!(log.verify().unwrap().is_ok());
        drop(log);
        assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, last_start);
    }
    // a zero-filled tail (preallocated space after a power cut) is torn too
    let mut zeros = full.clone();
    zeros.extend(std::iter::repeat_n(0u8, 300));
    std::fs::write(&seg, &zeros).unwrap();
    let log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    assert_eq!(log.torn_tail().unwrap().bytes_removed, 300);
    assert_eq!(log.len(), records);
}

#[test]
fn damage_that_is_not_a_torn_tail_is_a_typed_error_and_changes_nothing() {
    let dir = TempDir::new("midcorrupt");
    drop(filled_log(dir.path(), 6, 3, config(Durability::PerRecord)));
    let seg = segment_files(dir.path())[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 0x40; // inside the first record
    std::fs::write(&seg, &bytes).unwrap();
    match AuditLog::open(dir.path(), config(Durability::PerRecord)) {
        Err(AuditError::Corrupt { sequence, reason, .. }) => {
            assert_eq!(sequence, 0);
            assert_eq!(reason, BadReason::Checksum);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "nothing truncated");
    // a torn record in a segment that is not the last one is damage, not a torn tail
    let dir = TempDir::new("midseg");
    let cfg = LogConfig {
        segment_max_bytes: 4096,
        ..config(Durability::None)
    };
    drop(filled_log(dir.path(), 20, 3, cfg.clone()));
    let segs = segment_files(dir.path());
    assert!(segs.len() > 2);
    let first = std::fs::read(&segs[0]).unwrap();
    std::fs::write(&segs[0], &first[..first.len() - 5]).unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), cfg.clone()),
        Err(AuditError::Corrupt {
            reason: BadReason::Truncated,
            ..
        })
    ));
    // a deleted middle segment
    std::fs::write(&segs[0], &first).unwrap();
    std::fs::remove_file(&segs[1]).unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), cfg),
        Err(AuditError::Corrupt {
            reason: BadReason::SegmentMismatch,
            ..
        })
    ));
}

#[test]
fn format_versions_before_2_and_after_4_are_refused() {
    assert_eq!((FORMAT_VERSION, READ_VERSIONS), (4, [2, 3, 4]));
    for version in [0u32, 1, 5, u32::MAX] {
        let dir = TempDir::new("versions");
        drop(filled_log(dir.path(), 2, 2, config(Durability::PerRecord)));
        let seg = segment_files(dir.path())[0].clone();
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..56]);
        bytes[56..60].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&seg, &bytes).unwrap();
        match AuditLog::open(dir.path(), config(Durability::PerRecord)) {
            Err(AuditError::UnsupportedVersion { found, expected, .. }) => {
                assert_eq!((found, expected), (version, FORMAT_VERSION))
            }
            other => panic!("version {version}: expected UnsupportedVersion, got {other:?}"),
        }
    }
}

#[test]
fn a_file_from_another_version_is_refused() {
    let dir = TempDir::new("version");
    drop(filled_log(dir.path(), 2, 2, config(Durability::PerRecord)));
    let seg = segment_files(dir.path())[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let crc = crc32fast::hash(&bytes[0..56]);
    bytes[56..60].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    match AuditLog::open(dir.path(), config(Durability::PerRecord)) {
        Err(AuditError::UnsupportedVersion { found, expected, .. }) => {
            assert_eq!((found, expected), (FORMAT_VERSION + 1, FORMAT_VERSION))
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert!(matches!(
        verify_dir(dir.path(), &LogConfig::default()),
        Err(AuditError::UnsupportedVersion { .. })
    ));
    // not a log at all
    std::fs::write(
        &seg,
        b"hello, this is not an audit log at all, but long enough to hold a header..",
    )
    .unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), config(Durability::PerRecord)),
        Err(AuditError::Corrupt {
            reason: BadReason::BadSegmentHeader,
            ..
        })
    ));
}

#[test]
fn a_wrong_key_order_is_refused() {
    // records out of time order on append
    let dir = TempDir::new("order");
    let mut log = filled_log(dir.path(), 3, 2, config(Durability::PerRecord));
    let s = snapshot(1, 2);
    assert!(matches!(
        log.append(&s, &record(9, &s)),
        Err(AuditError::OutOfOrder { .. })
    ));
    drop(log);
    // a record body whose fields were reordered (same content, other bytes; in the binary
    // format the fields are in declaration order, each string's first occurrence prefixed
    // with varint(length << 1 | 1) since version 4): the chain covers the exact stored
    // bytes, so this is tampering
    let seg = segment_files(dir.path())[0].clone();
    let bytes = std::fs::read(&seg).unwrap();
    let zeros = "0".repeat(64);
    let a = [&[9u8][..], b"test", &[0x81, 0x01], zeros.as_bytes()].concat();
    let at = bytes.windows(a.len()).position(|w| w == &a[..]).unwrap();
    let mut edited = bytes.clone();
    let swapped = [&[0x81u8, 0x01][..], zeros.as_bytes(), &[9u8], b"test"].concat();
    assert_eq!(a.len(), swapped.len());
    edited[at..at + a.len()].copy_from_slice(&swapped);
    std::fs::write(&seg, &edited).unwrap();
    let report = verify_dir(dir.path(), &LogConfig::default()).unwrap();
    assert_eq!(report.first_bad.unwrap().sequence, 0);
}

#[test]
fn a_record_larger_than_the_limit_is_refused() {
    let dir = TempDir::new("large");
    let cfg = LogConfig {
        max_record_bytes: 4000,
        ..config(Durability::PerRecord)
    };
    let mut log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    let small = snapshot(0, 2);
    let _ = log.append(&small, &record(0, &small)).unwrap();
    let big = snapshot(1, 60);
    match log.append(&big, &record(1, &big)) {
        Err(AuditError::RecordTooLarge { bytes, max }) => assert!(bytes > max && max == 4000),
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    assert_eq!(log.len(), 1);
    drop(log);
    // on disk: a declared length beyond the reader's limit is damage, not an allocation
    let seg = segment_files(dir.path())[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[64..68].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    let report = verify_dir(dir.path(), &cfg).unwrap();
    assert_eq!(report.first_bad.unwrap().reason, BadReason::TooLarge);
    // and a log written with a larger limit than the reader's is refused, not truncated
    let dir = TempDir::new("large2");
    drop(filled_log(dir.path(), 2, 30, config(Durability::PerRecord)));
    let small_limit = LogConfig {
        max_record_bytes: 1000,
        ..config(Durability::PerRecord)
    };
    assert!(matches!(
        AuditLog::open(dir.path(), small_limit),
        Err(AuditError::Corrupt {
            reason: BadReason::TooLarge,
            ..
        })
    ));
}

/// A disk that fills up after `budget` bytes (shared so the test can free space).
#[derive(Clone)]
struct Disk {
    budget: Arc<Mutex<usize>>,
    fail_sync: Arc<Mutex<bool>>,
}

impl IoFaults for Disk {
    fn allow_write(&mut self, len: usize) -> usize {
        let mut b = self.budget.lock().unwrap();
        let n = len.min(*b);
        *b -= n;
        n
    }
    fn allow_sync(&mut self) -> bool {
        !*self.fail_sync.lock().unwrap()
    }
}

#[test]
fn a_full_disk_loses_nothing_acknowledged() {
    for durability in [
        Durability::PerRecord,
        Durability::GroupCommit {
            max_records: 4,
            max_delay: std::time::Duration::from_secs(60),
        },
    ] {
        let dir = TempDir::new("full");
        let disk = Disk {
            budget: Arc::new(Mutex::new(30_000)),
            fail_sync: Arc::new(Mutex::new(false)),
        };
        let mut log =
            AuditLog::open_with_faults(dir.path(), config(durability), Box::new(disk.clone())).unwrap();
        let mut acked = None;
        let mut failed_at = None;
        for k in 0..200 {
            let s = snapshot(k, 4);
            match log.append(&s, &record(k, &s)) {
                Ok(a) => acked = a.durable_through,
                Err(AuditError::Io { source, .. }) => {
                    assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
                    failed_at = Some(k);
                    break;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        let failed_at = failed_at.expect("the disk filled up");
        let acked = acked.expect("something was acknowledged");
        // the partial write was rolled back: the log holds exactly the written records
        assert_eq!(log.durable_through(), Some(acked));
        assert!(log.verify().unwrap().is_ok());
        // space freed: appends go on from the last written record
        *disk.budget.lock().unwrap() = usize::MAX;
        let s = snapshot(failed_at, 4);
        let a = log.append(&s, &record(failed_at, &s)).unwrap();
        assert_eq!(a.sequence, acked + 1 + (log.len() - 1 - (acked + 1)));
        let _ = log.sync().unwrap();
        // a failed sync poisons the log until it is reopened
        *disk.fail_sync.lock().unwrap() = true;
        let s = snapshot(failed_at + 1, 4);
        let r = log
            .append(&s, &record(failed_at + 1, &s))
            .and_then(|_| log.sync().map(|_| ()));
        assert!(r.is_err());
        assert!(matches!(
            log.append(&s, &record(failed_at + 2, &s)),
            Err(AuditError::Poisoned)
        ));
        let durable = log.durable_through();
        drop(log);
        let log = AuditLog::open(dir.path(), config(durability)).unwrap();
        assert!(log.len() > durable.unwrap());
        assert!(log.verify().unwrap().is_ok());
        let all = log.all().unwrap();
        for (k, d) in all.iter().enumerate().take(acked as usize + 1) {
            assert_eq!(d.record.sequence, k as u64);
        }
    }
}
