//! Tamper detection: every single-byte change in a sample of records, a deleted record, a
//! duplicated record and a swapped pair in a log of 1,000 records are each found by `verify`,
//! which names the first bad record.

use prudentia_audit::*;

use crate::common::*;

const RECORDS: u64 = 1000;

struct Fixture {
    _dir: TempDir,
    dir: std::path::PathBuf,
    seg: std::path::PathBuf,
    bytes: Vec<u8>,
    /// Start offset of every record, plus the end of the file.
    starts: Vec<usize>,
}

fn fixture() -> Fixture {
    let dir = TempDir::new("tamper");
    let mut log = AuditLog::open(dir.path(), config(Durability::None)).unwrap();
    for k in 0..RECORDS {
        let s = snapshot(k, 2);
        let _ = log.append(&s, &record(k, &s)).unwrap();
    }
    let _ = log.sync().unwrap();
    assert_eq!(log.segments(), 1);
    drop(log);
    // the one segment file (the directory also holds the writer's lock file)
    let seg = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "plog"))
        .unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let mut starts = vec![64usize];
    while *starts.last().unwrap() < bytes.len() {
        let at = *starts.last().unwrap();
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        starts.push(at + 104 + len);
    }
    assert_eq!(starts.len() as u64, RECORDS + 1);
    Fixture {
        dir: dir.path().to_owned(),
        _dir: dir,
        seg,
        bytes,
        starts,
    }
}

impl Fixture {
    fn check(&self, data: &[u8]) -> VerifyReport {
        std::fs::write(&self.seg, data).unwrap();
        verify_dir(&self.dir, &LogConfig::default()).unwrap()
    }
    fn frame(&self, k: usize) -> std::ops::Range<usize> {
        self.starts[k]..self.starts[k + 1]
    }
}

#[test]
fn every_single_byte_change_in_sampled_records_is_detected() {
    let f = fixture();
    assert!(f.check(&f.bytes).is_ok());
    let mut data = f.bytes.clone();
    let mut changes = 0;
    // the segment header, the first, two middle and the last record: every byte position,
    // with three different changes each
    let mut positions: Vec<(usize, u64)> = (0..64).map(|p| (p, 0)).collect();
    for k in [0usize, 1, 417, 998, 999] {
        positions.extend(f.frame(k).map(|p| (p, k as u64)));
    }
    for (i, &(p, k)) in positions.iter().enumerate() {
        let flip = [0x01u8, 0x80, 0xff][i % 3];
        data[p] ^= flip;
        let r = f.check(&data);
        data[p] ^= flip;
        let bad = r
            .first_bad
            .unwrap_or_else(|| panic!("byte {p} ^ {flip:#x} not detected"));
        assert_eq!(bad.sequence, k, "byte {p}: wrong record named: {bad:?}");
        changes += 1;
    }
    assert!(changes > 2000, "{changes}");
}

#[test]
fn deleted_duplicated_and_swapped_records_are_detected() {
    let f = fixture();
    for k in [0usize, 500, 998] {
        // deleted
        let mut d = f.bytes[..f.starts[k]].to_vec();
        d.extend_from_slice(&f.bytes[f.starts[k + 1]..]);
        let bad = f.check(&d).first_bad.expect("deletion detected");
        assert_eq!(bad.sequence, k as u64);
        assert_eq!(bad.reason, BadReason::Sequence { found: k as u64 + 1 });
        // duplicated
        let mut d = f.bytes[..f.starts[k + 1]].to_vec();
        d.extend_from_slice(&f.bytes[f.frame(k)]);
        d.extend_from_slice(&f.bytes[f.starts[k + 1]..]);
        let bad = f.check(&d).first_bad.expect("duplicate detected");
        assert_eq!(bad.sequence, k as u64 + 1);
        // swapped with the next one
        let mut d = f.bytes[..f.starts[k]].to_vec();
        d.extend_from_slice(&f.bytes[f.frame(k + 1)]);
        d.extend_from_slice(&f.bytes[f.frame(k)]);
        d.extend_from_slice(&f.bytes[f.starts[k + 2]..]);
        let bad = f.check(&d).first_bad.expect("swap detected");
        assert_eq!(bad.sequence, k as u64);
    }
    // a deleted last record leaves a consistent shorter chain: the open log (or a kept
    // head) catches it
    std::fs::write(&f.seg, &f.bytes).unwrap();
    let log = AuditLog::open(&f.dir, config(Durability::None)).unwrap();
    std::fs::write(&f.seg, &f.bytes[..f.starts[999]]).unwrap();
    let bad = log.verify().unwrap().first_bad.expect("missing tail detected");
    assert_eq!((bad.sequence, bad.reason), (999, BadReason::MissingTail));
    // a record re-chained by a forger from some point on differs from the open log's head
    std::fs::write(&f.seg, &f.bytes).unwrap();
    assert!(log.verify().unwrap().is_ok());
}

/// Start offsets of the records of a segment's bytes, plus the end.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![64usize];
    while *starts.last().unwrap() < bytes.len() {
        let at = *starts.last().unwrap();
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        starts.push(at + 104 + len);
    }
    starts
}

#[test]
fn every_single_byte_change_in_a_format_2_log_is_detected() {
    every_single_byte_change_in_an_earlier_format_log_is_detected("v2-log", 2);
}

#[test]
fn every_single_byte_change_in_a_format_3_log_is_detected() {
    every_single_byte_change_in_an_earlier_format_log_is_detected("v3-log", 3);
}

/// Every byte position of the segment headers and of each segment's first and last record
/// of the fixture log `name` (format `version`), changed three ways, is detected.
fn every_single_byte_change_in_an_earlier_format_log_is_detected(name: &str, version: u32) {
    let dir = crate::store::fixture_copy(name);
    let cfg = LogConfig {
        segment_max_bytes: 4096,
        ..Default::default()
    };
    assert!(verify_dir(dir.path(), &cfg).unwrap().is_ok());
    let mut segs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "plog"))
        .collect();
    segs.sort();
    assert_eq!(segs.len(), 4);
    let mut changes = 0;
    for seg in &segs {
        let first: u64 = seg.file_stem().unwrap().to_str().unwrap()[4..].parse().unwrap();
        let bytes = std::fs::read(seg).unwrap();
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), version);
        let starts = record_starts(&bytes);
        let last = starts.len() - 2;
        // the segment header, the segment's first and last record: every byte position
        let mut positions: Vec<(usize, u64)> = (0..64).map(|p| (p, first)).collect();
        for k in [0, last] {
            positions.extend((starts[k]..starts[k + 1]).map(|p| (p, first + k as u64)));
        }
        let mut data = bytes.clone();
        for (i, &(p, k)) in positions.iter().enumerate() {
            let flip = [0x01u8, 0x80, 0xff][i % 3];
            data[p] ^= flip;
            std::fs::write(seg, &data).unwrap();
            data[p] ^= flip;
            let bad = verify_dir(dir.path(), &cfg)
                .unwrap()
                .first_bad
                .unwrap_or_else(|| panic!("{seg:?} byte {p} ^ {flip:#x} not detected"));
            assert_eq!(bad.sequence, k, "{seg:?} byte {p}: wrong record named: {bad:?}");
            changes += 1;
        }
        std::fs::write(seg, &bytes).unwrap();
    }
    assert!(changes > 2000, "{changes}");
    assert!(verify_dir(dir.path(), &cfg).unwrap().is_ok());
}

#[test]
fn a_current_format_segment_relabelled_as_an_earlier_format_does_not_verify() {
    let f = fixture();
    assert_eq!(
        u32::from_le_bytes(f.bytes[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    for earlier in [2u32, 3] {
        let mut data = f.bytes.clone();
        data[8..12].copy_from_slice(&earlier.to_le_bytes());
        let crc = crc32fast::hash(&data[0..56]);
        data[56..60].copy_from_slice(&crc.to_le_bytes());
        let bad = f.check(&data).first_bad.expect("relabelled segment detected");
        assert_eq!((bad.sequence, bad.reason), (0, BadReason::Chain), "as {earlier}");
    }
}

#[test]
fn a_format_3_segment_relabelled_as_format_2_or_4_does_not_verify() {
    let dir = crate::store::fixture_copy("v3-log");
    let seg = dir.path().join("seg-00000000000000000000.plog");
    let bytes = std::fs::read(&seg).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3);
    for other in [2u32, 4] {
        let mut data = bytes.clone();
        data[8..12].copy_from_slice(&other.to_le_bytes());
        let crc = crc32fast::hash(&data[0..56]);
        data[56..60].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&seg, &data).unwrap();
        let bad = verify_dir(dir.path(), &LogConfig::default())
            .unwrap()
            .first_bad
            .expect("relabelled segment detected");
        assert_eq!((bad.sequence, bad.reason), (0, BadReason::Chain), "as {other}");
    }
}
