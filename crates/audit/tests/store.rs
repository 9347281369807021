//! Appends, reopen, content addressing, range queries, durability policies, segments.

use std::time::Duration;

use prudentia_audit::*;
use prudentia_core::*;

use crate::common::*;

#[test]
fn records_snapshots_and_outcomes_round_trip_through_reopen() {
    let dir = TempDir::new("roundtrip");
    let log = filled_log(dir.path(), 20, 5, config(Durability::PerRecord));
    let head = log.head().unwrap();
    assert_eq!(head.sequence, 39);
    drop(log);
    let log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    assert!(log.torn_tail().is_none());
    assert_eq!(log.head().unwrap(), head);
    assert_eq!(log.durable_through(), Some(39));
    let all = log.all().unwrap();
    assert_eq!(all.len(), 20);
    for (k, d) in all.iter().enumerate() {
        let s = snapshot(k as u64, 5);
        assert_eq!(d.sequence, 2 * k as u64);
        assert_eq!(d.snapshot, s);
        assert_eq!(d.record, record(k as u64, &s));
        assert_eq!(d.outcomes, vec![outcome(k as u64, &s)]);
        assert_eq!(d.snapshot_address, to_hex(&sha2_of(&snapshot_bytes(&s).unwrap())));
    }
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.records, report.decisions), (40, 20));
    assert_eq!(report.head.unwrap(), head);
}

fn sha2_of(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

#[test]
fn a_repeated_snapshot_is_stored_once() {
    let dir = TempDir::new("dedup");
    let mut log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    let s = snapshot(3, 20);
    let size = || -> u64 {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    let _ = log.append(&s, &record(0, &s)).unwrap();
    let after_first = size();
    let _ = log.append(&s, &record(1, &s)).unwrap();
    let second = size() - after_first;
    let snap_len = snapshot_bytes(&s).unwrap().len() as u64;
    assert!(
        second < after_first - snap_len / 2,
        "second record {second} bytes, snapshot {snap_len}"
    );
    let all = log.all().unwrap();
    assert_eq!(all[0].snapshot, all[1].snapshot);
    assert_eq!(all[0].snapshot_address, all[1].snapshot_address);
    assert_eq!(all[1].record.sequence, 1);
    drop(log);
    let log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    assert!(log.verify().unwrap().is_ok());
    assert_eq!(log.all().unwrap()[1].snapshot, s);
}

#[test]
fn non_finite_raw_inputs_are_stored_bit_for_bit() {
    let dir = TempDir::new("nan");
    let mut log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    let clean = snapshot(0, 3);
    let rec = record(0, &clean);
    let mut s = clean;
    s.quotes[1].price = f64::NAN;
    s.quotes[2].volume = Some(f64::NEG_INFINITY);
    s.indicators[0].value = f64::INFINITY;
    let _ = log.append(&s, &rec).unwrap();
    let back = &log.all().unwrap()[0].snapshot;
    assert!(back.quotes[1].price.is_nan());
    assert_eq!(back.quotes[2].volume, Some(f64::NEG_INFINITY));
    assert_eq!(back.indicators[0].value, f64::INFINITY);
    assert_eq!(snapshot_bytes(back).unwrap(), snapshot_bytes(&s).unwrap());
}

#[test]
fn time_range_queries() {
    let dir = TempDir::new("range");
    let log = filled_log(dir.path(), 30, 2, config(Durability::None));
    let r = log.range(day(10), day(13)).unwrap();
    assert_eq!(
        r.iter().map(|d| d.record.sequence).collect::<Vec<_>>(),
        vec![10, 11, 12]
    );
    assert_eq!(log.sequences_between(day(10), day(11)), 20..22);
    assert!(log.range(day(40), day(50)).unwrap().is_empty());
    assert!(log.range(day(13), day(10)).unwrap().is_empty());
    assert_eq!(log.decision(21).unwrap(), None); // an outcome
    assert_eq!(log.decision(20).unwrap().unwrap().record.sequence, 10);
    assert_eq!(log.decision(u64::MAX).unwrap(), None);
}

#[test]
fn durability_policies_acknowledge_when_synced() {
    let s = snapshot(0, 2);
    let dir = TempDir::new("dur-rec");
    let mut log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    let a = log.append(&s, &record(0, &s)).unwrap();
    assert_eq!(a.durable_through, Some(0));

    let dir = TempDir::new("dur-group");
    let group = Durability::GroupCommit {
        max_records: 3,
        max_delay: Duration::from_secs(3600),
    };
    let mut log = AuditLog::open(dir.path(), config(group)).unwrap();
    let mut acks = Vec::new();
    for k in 0..7 {
        let s = snapshot(k, 2);
        acks.push(log.append(&s, &record(k, &s)).unwrap().durable_through);
    }
    assert_eq!(
        acks,
        vec![None, None, Some(2), Some(2), Some(2), Some(5), Some(5)]
    );
    // pending records are readable before they are written
    assert_eq!(log.all().unwrap().len(), 7);
    assert_eq!(log.sync().unwrap(), Some(6));

    let dir = TempDir::new("dur-none");
    let mut log = AuditLog::open(dir.path(), config(Durability::None)).unwrap();
    let a = log.append(&s, &record(0, &s)).unwrap();
    assert_eq!(a.durable_through, None);
    assert_eq!(log.sync().unwrap(), Some(0));
}

#[test]
fn segments_roll_and_chain_across_files() {
    let dir = TempDir::new("segments");
    let cfg = LogConfig {
        segment_max_bytes: 8192,
        durability: Durability::None,
        ..Default::default()
    };
    let log = filled_log(dir.path(), 40, 4, cfg.clone());
    assert!(log.segments() > 3, "{} segments", log.segments());
    let head = log.head();
    drop(log);
    let log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    assert_eq!(log.head(), head);
    assert!(log.verify().unwrap().is_ok());
    assert_eq!(log.range(day(5), day(35)).unwrap().len(), 30);
    assert_eq!(verify_dir(dir.path(), &cfg).unwrap().segments, log.segments());
}

#[test]
fn rejected_appends_change_nothing() {
    let dir = TempDir::new("rejected");
    let mut log = filled_log(dir.path(), 3, 2, config(Durability::PerRecord));
    let head = log.head();
    let s = snapshot(5, 2);
    let mut bad = record(5, &s);
    bad.decision.sized.values[0] = f64::NAN;
    assert!(matches!(
        log.append(&s, &bad),
        Err(AuditError::Core(CoreError::NonFinite { .. }))
    ));
    let mut bad = record(5, &s);
    bad.decision.sized.values.pop();
    assert!(matches!(log.append(&s, &bad), Err(AuditError::Mismatch(_))));
    let mut bad = record(5, &s);
    bad.decision.time = day(6);
    assert!(matches!(log.append(&s, &bad), Err(AuditError::Mismatch(_))));
    let early = snapshot(1, 2);
    assert!(matches!(
        log.append(&early, &record(1, &early)),
        Err(AuditError::OutOfOrder { .. })
    ));
    let mut o = outcome(5, &s);
    o.equity = Some(f64::INFINITY);
    assert!(log.append_outcome(&o).is_err());
    assert_eq!(log.head(), head);
    assert!(log.verify().unwrap().is_ok());
    // the log goes on after refusals
    let _ = log.append(&s, &record(5, &s)).unwrap();
    assert_eq!(log.all().unwrap().len(), 4);
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let dir = TempDir::new("cfg");
    for cfg in [
        LogConfig {
            segment_max_bytes: 10,
            ..Default::default()
        },
        LogConfig {
            max_record_bytes: 0,
            ..Default::default()
        },
        LogConfig {
            max_record_bytes: u32::MAX,
            ..Default::default()
        },
        LogConfig {
            durability: Durability::GroupCommit {
                max_records: 0,
                max_delay: Duration::ZERO,
            },
            ..Default::default()
        },
    ] {
        assert!(matches!(
            AuditLog::open(dir.path(), cfg),
            Err(AuditError::Core(_))
        ));
    }
}

#[test]
fn a_second_writer_is_refused_and_a_stale_lock_is_reported() {
    let dir = TempDir::new("lock");
    let mut first = filled_log(dir.path(), 3, 2, config(Durability::PerRecord));
    assert!(first.stale_lock().is_none());
    // a second writer (here in the same process; the lock is per open file) is refused
    match AuditLog::open(dir.path(), config(Durability::PerRecord)) {
        Err(AuditError::Locked { holder, path }) => {
            assert_eq!(holder, format!("pid {}", std::process::id()));
            assert_eq!(path, dir.path().join(LOCK_FILE));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // readers take no lock, and the refused writer changed nothing
    assert!(verify_dir(dir.path(), &LogConfig::default()).unwrap().is_ok());
    let s = snapshot(3, 2);
    let _ = first.append(&s, &record(3, &s)).unwrap();
    let head = first.head();
    drop(first);
    // a clean close releases the lock and leaves no stale lock behind
    let log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    assert!(log.stale_lock().is_none());
    assert_eq!(log.head(), head);
    drop(log);
    // a writer that died without closing (its flock released by the OS, its pid still in
    // the file) is detected and reported, and the log opens
    std::fs::write(dir.path().join(LOCK_FILE), "pid 4242\n").unwrap();
    let log = AuditLog::open(dir.path(), config(Durability::PerRecord)).unwrap();
    assert_eq!(log.stale_lock().unwrap().holder, "pid 4242");
    assert_eq!(log.head(), head);
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn the_segment_index_is_used_checked_against_the_log_and_rebuilt() {
    let dir = TempDir::new("index");
    let cfg = LogConfig {
        segment_max_bytes: 8192,
        durability: Durability::None,
        ..Default::default()
    };
    let log = filled_log(dir.path(), 40, 4, cfg.clone());
    let (head, segments) = (log.head(), log.segments());
    let expected = log.range(day(5), day(35)).unwrap();
    assert_eq!(expected.len(), 30);
    drop(log);
    let mut indexes: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pidx"))
        .collect();
    indexes.sort();
    // every sealed segment has its index; the active one has none
    assert_eq!(indexes.len(), segments - 1);
    let reopen = || {
        let log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
        assert_eq!(log.head(), head);
        assert_eq!(log.range(day(5), day(35)).unwrap(), expected);
        assert!(log.verify().unwrap().is_ok());
        log.index_rebuilds().to_vec()
    };
    assert_eq!(reopen(), vec![]);
    // a missing index is rebuilt and reported (and then used)
    std::fs::remove_file(&indexes[1]).unwrap();
    let rebuilt = reopen();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt[0].segment, indexes[1].with_extension("plog"));
    assert!(indexes[1].exists());
    assert_eq!(reopen(), vec![]);
    // a damaged index (checksum) and an index that is consistent by its own checksum but
    // says something else than the segment (a record's time) are both rebuilt, not trusted
    let good = std::fs::read(&indexes[0]).unwrap();
    let mut bad = good.clone();
    bad[72 + 72] ^= 1; // the second entry's time
    std::fs::write(&indexes[0], &bad).unwrap();
    let rebuilt = reopen();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt[0].reason, "checksum mismatch");
    let n = bad.len();
    let crc = crc32fast::hash(&bad[..n - 4]);
    bad[n - 4..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&indexes[0], &bad).unwrap();
    let rebuilt = reopen();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt[0].reason, "record differs from its entry");
    assert_eq!(std::fs::read(&indexes[0]).unwrap(), good);
    // an index whose segment was damaged: the index is not used, and the damage is the
    // typed error it was without an index
    let seg = indexes[0].with_extension("plog");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), cfg.clone()),
        Err(AuditError::Corrupt {
            reason: BadReason::Checksum,
            ..
        })
    ));
}

/// A copy of `tests/fixtures/<name>` in a temporary directory.
pub fn fixture_copy(name: &str) -> TempDir {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let dir = TempDir::new(name);
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "plog" || x == "pidx") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[test]
fn a_format_2_log_opens_verifies_reads_and_takes_appends() {
    an_earlier_format_log_opens_verifies_reads_and_takes_appends("v2-log", 2);
}

#[test]
fn a_format_3_log_opens_verifies_reads_and_takes_appends() {
    an_earlier_format_log_opens_verifies_reads_and_takes_appends("v3-log", 3);
}

/// The fixture log `name` (written by a build of format `version`, see
/// `tests/fixtures/README.md`) opens, verifies, reads back what that build read, replays,
/// and takes appends (into segments of the current version).
fn an_earlier_format_log_opens_verifies_reads_and_takes_appends(name: &str, version: u32) {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name)
                .join("expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = fixture_copy(name);
    let cfg = LogConfig {
        durability: Durability::None,
        segment_max_bytes: 4096,
        ..Default::default()
    };
    let mut log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    assert!(log.torn_tail().is_none());
    assert!(log.index_rebuilds().is_empty(), "{:?}", log.index_rebuilds());
    assert!(verify_dir(dir.path(), &cfg).unwrap().is_ok());
    assert!(log.verify().unwrap().is_ok());
    assert_eq!(serde_json::to_value(log.head()).unwrap(), expected["head"]);
    assert_eq!(serde_json::json!(log.segments()), expected["segments"]);
    assert_eq!(serde_json::json!(log.len()), expected["records"]);
    let all = log.all().unwrap();
    assert_eq!(serde_json::to_value(&all).unwrap(), expected["all"]);
    // replay: the recorded decisions again, bit for bit
    let decide = |s: &MarketSnapshot| -> Result<Decision, CoreError> {
        let d = all.iter().find(|d| d.snapshot == *s).unwrap();
        Ok(d.record.decision.clone())
    };
    assert!(replay(&all, &mut DecideFn(decide)).is_identical());
    // appends continue the chain (into new segments once the last one is full)
    let before = log.segments();
    for k in 12..20u64 {
        let s = snapshot(k, 4);
        let _ = log.append(&s, &record(k, &s)).unwrap();
    }
    let _ = log.sync().unwrap();
    assert!(log.segments() > before);
    assert!(log.verify().unwrap().is_ok());
    // the earlier segments keep their version; the new ones are of the current version
    let mut segs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "plog"))
        .collect();
    segs.sort();
    let versions: Vec<u32> = segs
        .iter()
        .map(|p| u32::from_le_bytes(std::fs::read(p).unwrap()[8..12].try_into().unwrap()))
        .collect();
    assert_eq!(versions[..before], vec![version; before][..]);
    assert!(
        versions[before..].iter().all(|v| *v == FORMAT_VERSION),
        "{versions:?}"
    );
    let head = log.head().unwrap();
    drop(log);
    let log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    assert!(log.index_rebuilds().is_empty(), "{:?}", log.index_rebuilds());
    assert_eq!(log.head().unwrap(), head);
    assert_eq!(log.all().unwrap().len(), all.len() + 8);
    assert!(verify_dir(dir.path(), &cfg).unwrap().is_ok());
}

#[test]
fn an_empty_format_2_segment_is_given_a_current_header_on_the_first_append() {
    let dir = fixture_copy("v2-log");
    let cfg = LogConfig {
        durability: Durability::PerRecord,
        segment_max_bytes: 4096,
        ..Default::default()
    };
    let (records, head) = {
        let log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
        (log.len(), log.head().unwrap())
    };
    // an empty segment of version 2 after the last one (as a version-2 build leaves it
    // when it has just rolled)
    let hex = |s: &str| -> Vec<u8> {
        (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let mut h = vec![0u8; 64];
    h[0..8].copy_from_slice(b"PRUDAUD\0");
    h[8..12].copy_from_slice(&2u32.to_le_bytes());
    h[16..24].copy_from_slice(&records.to_le_bytes());
    h[24..56].copy_from_slice(&hex(&head.chain_hash));
    let crc = crc32fast::hash(&h[0..56]);
    h[56..60].copy_from_slice(&crc.to_le_bytes());
    let empty = dir.path().join(format!("seg-{records:020}.plog"));
    std::fs::write(&empty, &h).unwrap();
    let mut log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    assert_eq!(log.segments(), 5);
    assert_eq!(log.head().unwrap(), head);
    let s = snapshot(40, 4);
    let _ = log.append(&s, &record(40, &s)).unwrap();
    assert_eq!(log.segments(), 5);
    let bytes = std::fs::read(&empty).unwrap();
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    assert!(log.verify().unwrap().is_ok());
    drop(log);
    let log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
    assert_eq!(log.len(), records + 1);
    assert!(verify_dir(dir.path(), &cfg).unwrap().is_ok());
}

/// Writes a fixture log of the current format version (the recipe of
/// `tests/fixtures/README.md`) into the directory named by `PRUDENTIA_AUDIT_FIXTURE_OUT`,
/// with its `expected.json`: `PRUDENTIA_AUDIT_FIXTURE_OUT=tests/fixtures/v<N>-log cargo test
/// -p prudentia-audit --test audit store::write_fixture_log -- --ignored`.
#[test]
#[ignore = "writes a fixture log; run by hand when the format version changes"]
fn write_fixture_log() {
    let Ok(out) = std::env::var("PRUDENTIA_AUDIT_FIXTURE_OUT") else {
        return;
    };
    let out = std::path::PathBuf::from(out);
    let out = if out.is_absolute() {
        out
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(out)
    };
    assert!(!out.exists(), "{out:?} exists");
    let cfg = LogConfig {
        durability: Durability::None,
        segment_max_bytes: 4096,
        ..Default::default()
    };
    let mut log = AuditLog::open(&out, cfg).unwrap();
    for k in 0..12u64 {
        let s = snapshot(k, 4);
        let _ = log.append(&s, &record(k, &s)).unwrap();
        if k % 3 == 1 {
            // the same snapshot again: stored by reference
            let _ = log.append(&s, &record(k, &s)).unwrap();
        }
        if k % 2 == 0 {
            let _ = log.append_outcome(&outcome(k, &s)).unwrap();
        }
    }
    let _ = log.sync().unwrap();
    let expected = serde_json::json!({
        "head": log.head(),
        "segments": log.segments(),
        "records": log.len(),
        "all": log.all().unwrap(),
    });
    drop(log);
    std::fs::remove_file(out.join(LOCK_FILE)).unwrap();
    std::fs::write(out.join("expected.json"), expected.to_string()).unwrap();
}

/// SHA-256 over the name, length and bytes of every segment and index file of `dir`, in
/// name order.
fn files_digest(dir: &std::path::Path) -> String {
    use sha2::Digest;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "plog" || x == "pidx"))
        .collect();
    files.sort();
    let mut h = sha2::Sha256::new();
    for p in &files {
        let bytes = std::fs::read(p).unwrap();
        h.update(p.file_name().unwrap().as_encoded_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    to_hex(&h.finalize())
}

/// Every byte this build writes is pinned: a log of main-example records (with repeated
/// snapshots stored by reference, outcomes, non-finite raw inputs and rolled segments with
/// their indexes) is byte-identical to the one the format-4 build wrote, whether appends
/// are pipelined through the writer thread (`Durability::None`) or stored on the caller's
/// thread (group commit). A change of the encoder, framing or chaining that moves one byte
/// fails here (a deliberate format change is a new format version with a new digest).
#[test]
fn a_log_written_now_is_byte_identical_to_the_pinned_digest() {
    const PINNED: &str = "500b3850b11bf7c228ffeb3629c9e730fb37d036e80a521305184138dc2141b1";
    for durability in [
        Durability::None,
        Durability::GroupCommit {
            max_records: 64,
            max_delay: Duration::from_secs(3600),
        },
    ] {
        let dir = TempDir::new("pinned");
        let cfg = LogConfig {
            durability,
            segment_max_bytes: 64 << 10,
            ..Default::default()
        };
        let mut log = AuditLog::open(dir.path(), cfg.clone()).unwrap();
        for k in 0..240u64 {
            let mut s = crate::main_example::snapshot(k % 97);
            s.time = day(k);
            if k % 11 == 5 {
                s.quotes[3].price = f64::NAN;
                s.assets[2].features[1] = f64::NEG_INFINITY;
            }
            let mut r = crate::main_example::record(k, &s);
            r.decision.time = s.time;
            let _ = log.append(&s, &r).unwrap();
            if k % 7 == 3 {
                // the same snapshot again: stored by reference
                r.sequence += 1000;
                let _ = log.append(&s, &r).unwrap();
            }
            if k % 3 == 0 {
                let _ = log.append_outcome(&outcome(k, &s)).unwrap();
            }
        }
        let _ = log.sync().unwrap();
        assert!(log.segments() > 10, "{}", log.segments());
        drop(log);
        assert_eq!(files_digest(dir.path()), PINNED, "{durability:?}");
        assert!(verify_dir(dir.path(), &cfg).unwrap().is_ok());
    }
}
