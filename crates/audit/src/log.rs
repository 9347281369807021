//! The embedded default store: append-only segment files of chained records.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use prudentia_core::traits::AuditSink;
use prudentia_core::{
    CoreError, DecisionRecord, MarketSnapshot, Outcome, Role, RoleError, RoleResult, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::bin;
use crate::config::{Durability, LogConfig};
use crate::encode::{decode_snapshot, encode_snapshot_with};
use crate::error::{io, AuditError, AuditResult, BadReason};
use crate::finite::first_non_finite;
use crate::frame::{
    chain_for, fill_frame, parse_segment_header, read_frame, readable, segment_header, sha256, to_hex,
    FrameFault, FrameMeta, Hash, Kind, RawFrame, FLAG_INLINE, FORMAT_VERSION, FRAME_HEADER, NO_LINK,
    SEGMENT_HEADER,
};
use crate::lock::{StaleLock, WriterLock};

/// A hasher for maps keyed by SHA-256 digests: the digest's first 8 bytes are already
/// uniformly distributed, so hashing them again (SipHash) is wasted work.
#[derive(Default, Clone, Copy)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut a = [0u8; 8];
        let n = bytes.len().min(8);
        a[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(a);
    }
}

/// Snapshot addresses and the sequence number of the record that stores each.
type AddressMap = HashMap<Hash, u64, std::hash::BuildHasherDefault<DigestHasher>>;

/// Bytes buffered before a write to the operating system under [`Durability::None`].
const NONE_BATCH_BYTES: usize = 256 << 10;

/// Simulated I/O faults, for testing what the log does when the disk fills up or a device
/// fails. Install with [`AuditLog::open_with_faults`](crate::AuditLog::open_with_faults).
pub trait IoFaults: Send {
    /// Called before `len` bytes are written to a segment: returns how many of them reach the
    /// file before the write fails with "no space left on device" (`len` means no fault).
    fn allow_write(&mut self, len: usize) -> usize;
    /// Called before a segment is synced; `false` makes the sync fail.
    fn allow_sync(&mut self) -> bool;
}

/// The end of the chain: the last record's sequence number and chain hash. Keep it somewhere
/// else (a ticket, another system) to detect a rewritten or shortened log later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    /// Sequence number of the last record.
    pub sequence: u64,
    /// Its SHA-256 chain hash (hex).
    pub chain_hash: String,
}

/// What an append returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Appended {
    /// Sequence number given to the record.
    pub sequence: u64,
    /// Every record up to and including this sequence number is durable (acknowledged)
    /// under the log's [`Durability`]; `None` while nothing is.
    pub durable_through: Option<u64>,
}

/// A torn tail found and cut off on open (an append interrupted by a crash). The records it
/// held were never acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Offset where the file was cut.
    pub offset: u64,
    /// Bytes removed.
    pub bytes_removed: u64,
}

/// A sealed segment's persistent index that could not be used on open and was rebuilt from
/// a full scan of the segment (see [`AuditLog::index_rebuilds`](crate::AuditLog::index_rebuilds)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRebuild {
    /// The segment file.
    pub segment: PathBuf,
    /// Why its index was not used (missing, checksum mismatch, differs from the segment, …).
    pub reason: String,
}

/// The first bad record found by [`AuditLog::verify`](crate::AuditLog::verify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRecord {
    /// Sequence number expected at that position.
    pub sequence: u64,
    /// Segment file.
    pub path: PathBuf,
    /// Byte offset in the file.
    pub offset: u64,
    /// What is wrong.
    pub reason: BadReason,
}

/// Result of [`AuditLog::verify`](crate::AuditLog::verify): what was checked and the first bad record, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct VerifyReport {
    /// Records checked and found good (before the first bad one).
    pub records: u64,
    /// Of which decisions.
    pub decisions: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Segment files read.
    pub segments: usize,
    /// Head of the good part of the chain.
    pub head: Option<LogHead>,
    /// The first modified, deleted, inserted or reordered record.
    pub first_bad: Option<BadRecord>,
}

impl VerifyReport {
    /// Whether the whole log checked out.
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// One logged decision with its inputs and what happened after it. Validated on
/// deserialization (see [`LoggedDecision::check`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct LoggedDecision {
    /// Sequence number in the log.
    pub sequence: u64,
    /// SHA-256 chain hash of the record (hex).
    pub chain_hash: String,
    /// Content address of the raw snapshot: SHA-256 (hex) of its stored bytes.
    pub snapshot_address: String,
    /// The record.
    pub record: DecisionRecord,
    /// The raw snapshot the decision was made from.
    pub snapshot: MarketSnapshot,
    /// Outcomes learned after this decision (and before the next one), in order.
    pub outcomes: Vec<Outcome>,
}

prudentia_core::checked_serde!(LoggedDecision, LoggedDecision::check);

impl LoggedDecision {
    /// Checks what the log checks on read: the decision and snapshot times agree, weight
    /// vectors are as long as their asset lists, and the record and outcomes are finite.
    pub fn check(&mut self) -> AuditResult<()> {
        if self.record.decision.time != self.snapshot.time {
            return Err(AuditError::Mismatch("decision time differs from snapshot time"));
        }
        if !crate::replay::weights_consistent(&self.record.decision) {
            return Err(AuditError::Mismatch("weights have mismatched lengths"));
        }
        if let Some(value) = first_non_finite(&self.record).or_else(|| first_non_finite(&self.outcomes)) {
            return Err(CoreError::NonFinite {
                field: "logged decision",
                index: 0,
                value,
            }
            .into());
        }
        Ok(())
    }
}

/// Where a record is and what its header says (in memory, and in a sealed segment's
/// persistent index, see the `index` module).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexEntry {
    pub(crate) time: i64,
    pub(crate) seg: u32,
    pub(crate) offset: u64,
    pub(crate) body_len: u32,
    pub(crate) record_len: u32,
    pub(crate) link: u64,
    pub(crate) kind: Kind,
    pub(crate) flags: u8,
    pub(crate) address: Hash,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// Sequence number of its first record.
    first_seq: u64,
    /// Bytes of the file that hold records written so far.
    len: u64,
    /// Format version in its header.
    version: u32,
    reader: File,
}

/// In-memory state at the last successful write (what a failed write rolls back to).
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    frames: u64,
    head: Hash,
    last_time: Option<i64>,
    last_decision: Option<u64>,
}

/// Shared checks of a scan over segment bytes (open and verify).
struct Scanner {
    max_body: u32,
    seq: u64,
    chain: Hash,
    last_time: Option<i64>,
    last_decision: Option<u64>,
    addresses: AddressMap,
    decisions: u64,
    bytes: u64,
}

/// Where a scan of one segment stopped.
enum SegmentEnd {
    /// All records good; the offset after the last one.
    Clean(u64),
    /// A bad record.
    Bad {
        offset: u64,
        reason: BadReason,
        torn: bool,
    },
}

impl Scanner {
    fn new(max_body: u32) -> Self {
        Self {
            max_body,
            seq: 0,
            chain: [0; 32],
            last_time: None,
            last_decision: None,
            addresses: AddressMap::default(),
            decisions: 0,
            bytes: 0,
        }
    }

    /// Takes a sealed segment's records from its persistent index after checking the index
    /// against the segment's bytes (CRC-32 and header of every record, see `index::check`)
    /// and the scan so far (sequence, chain continuity, time order, outcome links, snapshot
    /// addresses). Changes nothing and says why when the index cannot be used.
    fn apply_index(
        &mut self,
        idx: &crate::index::SegmentIndex,
        bytes: &[u8],
        mut visit: impl FnMut(IndexEntry),
    ) -> Result<(), &'static str> {
        let h = parse_segment_header(bytes).ok_or("bad segment header")?;
        if !readable(h.version) || idx.format_version != h.version {
            return Err("index of another format version");
        }
        if h.first_seq != self.seq || h.prev_chain != self.chain {
            return Err("segment does not continue the log");
        }
        if idx.first_seq != self.seq {
            return Err("index of another segment");
        }
        let last_chain = crate::index::check(idx, bytes, SEGMENT_HEADER, self.max_body)?;
        let mut last_time = self.last_time;
        let mut last_decision = self.last_decision;
        let mut new_addresses = HashSet::new();
        for (i, e) in idx.entries.iter().enumerate() {
            let seq = self.seq + i as u64;
            if last_time.is_some_and(|t| e.time < t) {
                return Err("records out of time order");
            }
            match e.kind {
                Kind::Decision => {
                    if e.link != NO_LINK || e.flags & !FLAG_INLINE != 0 || e.record_len > e.body_len {
                        return Err("bad decision entry");
                    }
                    let known = self.addresses.contains_key(&e.address) || new_addresses.contains(&e.address);
                    if e.flags & FLAG_INLINE != 0 {
                        if known || !new_addresses.insert(e.address) {
                            return Err("snapshot stored twice");
                        }
                    } else if !known || e.record_len != e.body_len {
                        return Err("reference to a snapshot not stored before");
                    }
                    last_decision = Some(seq);
                }
                Kind::Outcome => {
                    if e.flags != 0 || e.address != [0; 32] || e.record_len != e.body_len {
                        return Err("bad outcome entry");
                    }
                    if e.link != last_decision.unwrap_or(NO_LINK) {
                        return Err("outcome not linked to the last decision");
                    }
                }
            }
            last_time = Some(e.time);
        }
        // every check passed: take the records
        for (i, e) in idx.entries.iter().enumerate() {
            let seq = self.seq + i as u64;
            if e.kind == Kind::Decision {
                self.decisions += 1;
                if e.flags & FLAG_INLINE != 0 {
                    self.addresses.insert(e.address, seq);
                }
            }
            visit(*e);
        }
        self.bytes += bytes.len() as u64;
        self.seq += idx.entries.len() as u64;
        self.chain = last_chain;
        self.last_time = last_time;
        self.last_decision = last_decision;
        Ok(())
    }

    /// Checks one segment's bytes; calls `visit` for every good record.
    fn segment(
        &mut self,
        path: &Path,
        bytes: &[u8],
        is_last: bool,
        mut visit: impl FnMut(IndexEntry, &Hash),
        seg: u32,
    ) -> AuditResult<SegmentEnd> {
        self.bytes += bytes.len() as u64;
        let version = match self.segment_header(path, bytes, is_last)? {
            Ok(version) => version,
            Err(end) => return Ok(end),
        };
        let mut at = SEGMENT_HEADER;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let (f, total) = match read_frame(rest, self.max_body) {
                Ok(x) => x,
                Err(fault) => {
                    let zero_tail = rest.iter().all(|b| *b == 0);
                    let torn = is_last && (fault == FrameFault::Truncated || zero_tail);
                    let reason = match fault {
                        FrameFault::Truncated => BadReason::Truncated,
                        FrameFault::TooLarge => BadReason::TooLarge,
                        FrameFault::Checksum => BadReason::Checksum,
                    };
                    return Ok(SegmentEnd::Bad {
                        offset: at as u64,
                        reason,
                        torn,
                    });
                }
            };
            let kind = match self.record(version, rest, &f, total) {
                Ok(kind) => kind,
                Err(reason) => {
                    return Ok(SegmentEnd::Bad {
                        offset: at as u64,
                        reason,
                        torn: false,
                    })
                }
            };
            visit(
                IndexEntry {
                    time: f.time,
                    seg,
                    offset: at as u64,
                    body_len: f.body_len,
                    record_len: f.record_len,
                    link: f.link,
                    kind,
                    flags: f.flags,
                    address: f.address,
                },
                &f.chain,
            );
            self.chain = f.chain;
            self.last_time = Some(f.time);
            self.seq += 1;
            at += total;
        }
        Ok(SegmentEnd::Clean(at as u64))
    }

    /// Checks a segment's header against the scan so far: its format version, or where the
    /// scan ends (a bad or torn header, a segment that does not continue the log).
    fn segment_header(
        &self,
        path: &Path,
        bytes: &[u8],
        is_last: bool,
    ) -> AuditResult<Result<u32, SegmentEnd>> {
        let Some(h) = parse_segment_header(bytes) else {
            let torn = is_last && (bytes.len() < SEGMENT_HEADER || bytes.iter().all(|b| *b == 0));
            return Ok(Err(SegmentEnd::Bad {
                offset: 0,
                reason: BadReason::BadSegmentHeader,
                torn,
            }));
        };
        if !readable(h.version) {
            return Err(AuditError::UnsupportedVersion {
                path: path.to_owned(),
                found: h.version,
                expected: FORMAT_VERSION,
            });
        }
        if h.first_seq != self.seq || h.prev_chain != self.chain {
            return Ok(Err(SegmentEnd::Bad {
                offset: 0,
                reason: BadReason::SegmentMismatch,
                torn: false,
            }));
        }
        Ok(Ok(h.version))
    }

    /// Checks one record read at the start of `rest` (`total` bytes, checksum good) against
    /// the scan so far: sequence, time order, chain link (of format `version`), header fields,
    /// snapshot address and outcome link. On success, takes the record's snapshot address and
    /// decision into the scan and returns its kind (the caller advances the chain).
    fn record(&mut self, version: u32, rest: &[u8], f: &RawFrame, total: usize) -> Result<Kind, BadReason> {
        let malformed = |m: &str| Err(BadReason::Malformed(m.to_owned()));
        if f.seq != self.seq {
            return Err(BadReason::Sequence { found: f.seq });
        }
        if self.last_time.is_some_and(|t| f.time < t) {
            return Err(BadReason::TimeOrder);
        }
        let body = &rest[FRAME_HEADER..total];
        if f.record_len > f.body_len {
            return malformed("bad header fields");
        }
        if chain_for(version, &self.chain, &rest[8..72], &body[..f.record_len as usize]) != f.chain {
            return Err(BadReason::Chain);
        }
        let Some(kind) = Kind::from_u8(f.meta_kind) else {
            return malformed("unknown record kind");
        };
        if f.reserved != 0 || f.record_len > f.body_len {
            return malformed("bad header fields");
        }
        match kind {
            Kind::Decision => {
                if f.link != NO_LINK || f.flags & !FLAG_INLINE != 0 {
                    return malformed("bad decision header");
                }
                if f.flags & FLAG_INLINE != 0 {
                    if self.addresses.contains_key(&f.address) {
                        return malformed("snapshot stored twice");
                    }
                    if sha256(&body[f.record_len as usize..]) != f.address {
                        return malformed("snapshot does not match its address");
                    }
                    self.addresses.insert(f.address, f.seq);
                } else if f.record_len != f.body_len || !self.addresses.contains_key(&f.address) {
                    return malformed("reference to a snapshot not stored before");
                }
                self.last_decision = Some(f.seq);
                self.decisions += 1;
            }
            Kind::Outcome => {
                if f.flags != 0 || f.address != [0; 32] || f.record_len != f.body_len {
                    return malformed("bad outcome header");
                }
                if f.link != self.last_decision.unwrap_or(NO_LINK) {
                    return malformed("outcome not linked to the last decision");
                }
            }
        }
        Ok(kind)
    }
}

/// The format version in a segment's header (the current one where the header is torn:
/// such a segment holds no record).
fn version_of(bytes: &[u8]) -> u32 {
    parse_segment_header(bytes).map_or(FORMAT_VERSION, |h| h.version)
}

fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.plog")
}

/// Segment files of `dir`, sorted by first sequence number.
fn list_segments(dir: &Path) -> AuditResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io("listing the log directory", dir))? {
        let e = e.map_err(io("listing the log directory", dir))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_segment = name.len() == 29
            && name.starts_with("seg-")
            && name.ends_with(".plog")
            && name[4..24].bytes().all(|b| b.is_ascii_digit());
        if is_segment {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

fn read_all(path: &Path) -> AuditResult<Vec<u8>> {
    fs::read(path).map_err(io("reading a segment", path))
}

fn sync_dir(dir: &Path) -> AuditResult<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing the log directory", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Checks a log directory without opening it for writing (nothing is repaired: a torn tail
/// is reported as the first bad record).
pub fn verify_dir(dir: impl AsRef<Path>, config: &LogConfig) -> AuditResult<VerifyReport> {
    verify_inner(dir.as_ref(), config, u64::MAX).map(|(r, _)| r)
}

/// Verifies `dir`; also returns the chain hash of record `watch`, if it was reached.
fn verify_inner(dir: &Path, config: &LogConfig, watch: u64) -> AuditResult<(VerifyReport, Option<Hash>)> {
    config.validate()?;
    let mut watched = None;
    let paths = list_segments(dir)?;
    let mut sc = Scanner::new(config.max_record_bytes);
    let mut first_bad = None;
    let mut segments = 0;
    for (i, path) in paths.iter().enumerate() {
        let bytes = read_all(path)?;
        segments += 1;
        let mut seq = sc.seq;
        let visit = |_: IndexEntry, chain: &Hash| {
            if seq == watch {
                watched = Some(*chain);
            }
            seq += 1;
        };
        match sc.segment(path, &bytes, false, visit, i as u32)? {
            SegmentEnd::Clean(_) => {}
            SegmentEnd::Bad { offset, reason, .. } => {
                first_bad = Some(BadRecord {
                    sequence: sc.seq,
                    path: path.clone(),
                    offset,
                    reason,
                });
                break;
            }
        }
    }
    let report = VerifyReport {
        records: sc.seq,
        decisions: sc.decisions,
        bytes: sc.bytes,
        segments,
        head: sc.seq.checked_sub(1).map(|s| LogHead {
            sequence: s,
            chain_hash: to_hex(&sc.chain),
        }),
        first_bad,
    };
    Ok((report, watched))
}

/// The log's state and files, owned by the [`AuditLog`](crate::AuditLog) handle or, while
/// it writes a batch under [`Durability::None`], by the log's writer thread.
pub(crate) struct Core {
    dir: PathBuf,
    config: LogConfig,
    segments: Vec<Segment>,
    writer: File,
    index: Vec<IndexEntry>,
    addresses: AddressMap,
    head: Hash,
    last_time: Option<i64>,
    last_decision: Option<u64>,
    /// Encoded records not yet written to the file.
    pending: Vec<u8>,
    pending_since: Option<Instant>,
    pending_addresses: Vec<Hash>,
    written: Checkpoint,
    /// Records known durable.
    synced: u64,
    poisoned: bool,
    torn_tail: Option<TornTail>,
    faults: Option<Box<dyn IoFaults>>,
    stale_lock: Option<StaleLock>,
    index_rebuilds: Vec<IndexRebuild>,
    /// Held while the log is open; dropped after the final flush.
    _lock: WriterLock,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .field("records", &self.index.len())
            .field("segments", &self.segments.len())
            .field("synced", &self.synced)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

/// What opening a log found in its segment files (see [`Opened::scan`]).
struct Opened {
    sc: Scanner,
    index: Vec<IndexEntry>,
    segments: Vec<Segment>,
    torn_tail: Option<TornTail>,
    index_rebuilds: Vec<IndexRebuild>,
}

impl Opened {
    /// Checks every segment of `dir` in order (sealed ones through their persistent index
    /// when it checks out, rebuilding it otherwise), cuts off a torn tail of the last one,
    /// and fails on any other damage.
    fn scan(dir: &Path, config: &LogConfig) -> AuditResult<Self> {
        let paths = list_segments(dir)?;
        let mut o = Opened {
            sc: Scanner::new(config.max_record_bytes),
            index: Vec::new(),
            segments: Vec::new(),
            torn_tail: None,
            index_rebuilds: Vec::new(),
        };
        for (i, path) in paths.iter().enumerate() {
            let is_last = i + 1 == paths.len();
            let bytes = read_all(path)?;
            let first_seq = o.sc.seq;
            if !is_last && o.sealed_by_index(path, &bytes, i as u32, first_seq)? {
                continue;
            }
            let index = &mut o.index;
            let end =
                o.sc.segment(path, &bytes, is_last, |e, _| index.push(e), i as u32)?;
            if !is_last {
                if let SegmentEnd::Clean(len) = end {
                    // rebuilt from the full scan (reported in `index_rebuilds`)
                    let version = version_of(&bytes);
                    let entries = &o.index[first_seq as usize..];
                    crate::index::write(path, version, first_seq, len, &o.sc.chain, entries)?;
                }
            }
            let len = match end {
                SegmentEnd::Clean(len) => len,
                SegmentEnd::Bad {
                    offset, torn: true, ..
                } => match o.cut_torn_tail(dir, path, bytes.len() as u64, offset)? {
                    Some(len) => len,
                    None => continue,
                },
                SegmentEnd::Bad { offset, reason, .. } => {
                    return Err(AuditError::Corrupt {
                        sequence: o.sc.seq,
                        path: path.clone(),
                        offset,
                        reason,
                    })
                }
            };
            o.push_segment(path, first_seq, len, version_of(&bytes))?;
        }
        Ok(o)
    }

    fn push_segment(&mut self, path: &Path, first_seq: u64, len: u64, version: u32) -> AuditResult<()> {
        let reader = File::open(path).map_err(io("opening a segment", path))?;
        self.segments.push(Segment {
            path: path.to_owned(),
            first_seq,
            len,
            version,
            reader,
        });
        Ok(())
    }

    /// Takes a sealed segment's records from its persistent index if the index checks out
    /// against the bytes (`true`); otherwise records why it is to be rebuilt (`false`).
    fn sealed_by_index(&mut self, path: &Path, bytes: &[u8], seg: u32, first_seq: u64) -> AuditResult<bool> {
        let index = &mut self.index;
        let used =
            crate::index::read(path, seg).and_then(|idx| self.sc.apply_index(&idx, bytes, |e| index.push(e)));
        match used {
            Ok(()) => {
                self.push_segment(path, first_seq, bytes.len() as u64, version_of(bytes))?;
                Ok(true)
            }
            Err(reason) => {
                self.index_rebuilds.push(IndexRebuild {
                    segment: path.to_owned(),
                    reason: reason.to_owned(),
                });
                Ok(false)
            }
        }
    }

    /// Cuts the torn tail found at `offset` of the last segment (`file_len` bytes) and
    /// reports it; `Some(new length)`, or `None` when the segment's own header was torn and
    /// the segment (which never held a record) was removed.
    fn cut_torn_tail(
        &mut self,
        dir: &Path,
        path: &Path,
        file_len: u64,
        offset: u64,
    ) -> AuditResult<Option<u64>> {
        self.torn_tail = Some(TornTail {
            path: path.to_owned(),
            offset,
            bytes_removed: file_len - offset,
        });
        if offset == 0 {
            fs::remove_file(path).map_err(io("removing a torn segment", path))?;
            sync_dir(dir)?;
            return Ok(None);
        }
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io("opening a segment", path))?;
        f.set_len(offset).map_err(io("truncating a torn tail", path))?;
        f.sync_all().map_err(io("syncing a segment", path))?;
        Ok(Some(offset))
    }
}

impl Core {
    /// Opens the log (see [`AuditLog::open`](crate::AuditLog::open)).
    fn open_inner(dir: &Path, config: LogConfig, faults: Option<Box<dyn IoFaults>>) -> AuditResult<Self> {
        config.validate()?;
        fs::create_dir_all(dir).map_err(io("creating the log directory", dir))?;
        // the writer lock comes first: nothing (not even a torn tail) is touched without it
        let (lock, stale_lock) = WriterLock::acquire(dir)?;
        let Opened {
            sc,
            index,
            mut segments,
            torn_tail,
            index_rebuilds,
        } = Opened::scan(dir, &config)?;
        let writer = match segments.last() {
            Some(s) => OpenOptions::new()
                .read(true)
                .write(true)
                .open(&s.path)
                .map_err(io("opening a segment for appends", &s.path))?,
            None => {
                let (seg, w) = create_segment(dir, 0, &[0; 32])?;
                segments.push(seg);
                w
            }
        };
        let frames = sc.seq;
        let checkpoint = Checkpoint {
            frames,
            head: sc.chain,
            last_time: sc.last_time,
            last_decision: sc.last_decision,
        };
        Ok(Self {
            dir: dir.to_owned(),
            config,
            segments,
            writer,
            index,
            addresses: sc.addresses,
            head: sc.chain,
            last_time: sc.last_time,
            last_decision: sc.last_decision,
            pending: Vec::new(),
            pending_since: None,
            pending_addresses: Vec::new(),
            written: checkpoint,
            synced: frames,
            poisoned: false,
            torn_tail,
            faults,
            stale_lock,
            index_rebuilds,
            _lock: lock,
        })
    }

    /// Number of records (decisions and outcomes), including those not yet durable.
    pub fn len(&self) -> u64 {
        self.index.len() as u64
    }
    /// Number of segment files.
    pub fn segments(&self) -> usize {
        self.segments.len()
    }
    /// The last record's sequence number and chain hash.
    pub fn head(&self) -> Option<LogHead> {
        (self.len()).checked_sub(1).map(|s| LogHead {
            sequence: s,
            chain_hash: to_hex(&self.head),
        })
    }
    /// Every record up to this sequence number is durable (acknowledged).
    pub fn durable_through(&self) -> Option<u64> {
        self.synced.checked_sub(1)
    }

    /// Checks one record encoded by [`Batch::encode_decision`] or [`Batch::encode_outcome`]
    /// (`body_len` bytes: the record, then a decision's snapshot, whose content address the
    /// encoder computed; the snapshot is stored inline the first time only) against the
    /// log: time order and stored size. Returns its header fields and how many bytes of the
    /// body are stored. Changes nothing.
    fn frame_meta(&self, body_len: usize, e: &Encoded) -> AuditResult<(FrameMeta, usize)> {
        self.check_writable()?;
        Ok(match e.kind {
            Kind::Decision => {
                crate::config::check_order(self.last_time, e.time)?;
                let record_len = e.record_len.min(body_len);
                let inline = !self.addresses.contains_key(&e.address);
                let stored = if inline { body_len } else { record_len };
                self.config.check_record_size(stored)?;
                let meta = FrameMeta {
                    seq: self.len(),
                    time: e.time,
                    link: NO_LINK,
                    kind: Kind::Decision,
                    flags: if inline { FLAG_INLINE } else { 0 },
                    record_len: record_len as u32,
                    address: e.address,
                };
                (meta, stored)
            }
            Kind::Outcome => {
                self.config.check_record_size(body_len)?;
                let meta = FrameMeta {
                    seq: self.len(),
                    time: self.last_time.unwrap_or(i64::MIN),
                    link: self.last_decision.unwrap_or(NO_LINK),
                    kind: Kind::Outcome,
                    flags: 0,
                    record_len: body_len as u32,
                    address: [0; 32],
                };
                (meta, body_len)
            }
        })
    }

    /// Stores one record encoded by [`Batch::encode_decision`] or [`Batch::encode_outcome`]
    /// (`body`: see [`Core::frame_meta`]; the record's SHA-256 is computed here): checks the
    /// size and time order, frames and chains the record and applies the durability policy.
    /// Changes nothing on a refusal.
    fn push_encoded(&mut self, body: &[u8], e: &Encoded) -> AuditResult<Appended> {
        let (meta, stored) = self.frame_meta(body.len(), e)?;
        let start = self.pending.len();
        self.pending.resize(start + FRAME_HEADER, 0);
        self.pending.extend_from_slice(&body[..stored]);
        let record_hash = sha256(&self.pending[start + FRAME_HEADER..][..meta.record_len as usize]);
        let end = self.pending.len();
        self.push_frame(&meta, start, end, false, &record_hash)
            .map(|(appended, _)| appended)
    }

    /// Stores every record of a batch, in order; stops at the first error (the records
    /// before it stay stored, the rest are dropped).
    ///
    /// The records are framed where the caller encoded them: the batch's buffer (with room
    /// for each record's header) becomes the pending buffer, each record's header is filled
    /// in place, and a record moves only when one before it was shortened (a snapshot
    /// already stored is not stored again), so a record is written from the bytes it was
    /// encoded into, with no copy. The batch gets back the emptied pending buffer.
    fn push_batch(&mut self, batch: &mut Batch) -> AuditResult<()> {
        if self.config.durability != Durability::None {
            // (batches are only made under `Durability::None`; any other policy acts per record)
            for e in &batch.entries {
                let _ = self.push_encoded(batch.body(e), e)?;
            }
            return Ok(());
        }
        if batch.entries.is_empty() {
            return Ok(());
        }
        if !self.pending.is_empty() {
            // records pending from a batch too small to be written: written now, so that the
            // batch's buffer can become the pending buffer
            self.flush(false)?;
        }
        std::mem::swap(&mut self.pending, &mut batch.bytes);
        // `pending` holds the framed records, up to `framed`, and then the batch's records
        // not framed yet, each at its `start` less `moved` (bytes the front lost to a segment
        // roll's write)
        let mut framed = 0;
        let mut moved = 0;
        for e in &batch.entries {
            let src = e.start - moved;
            let body_len = e.end - e.start - FRAME_HEADER;
            let (meta, stored) = match self.frame_meta(body_len, e) {
                Ok(x) => x,
                Err(err) => {
                    self.pending.truncate(framed);
                    return Err(err);
                }
            };
            let len = FRAME_HEADER + stored;
            if framed != src {
                self.pending.copy_within(src..src + len, framed);
            }
            let record_hash = sha256(&self.pending[framed + FRAME_HEADER..][..meta.record_len as usize]);
            let start = match self.push_frame(&meta, framed, framed + len, true, &record_hash) {
                Ok((_, start)) => start,
                Err(err) => {
                    // (a failed write rolled the pending buffer back: emptied)
                    self.pending.truncate(framed);
                    return Err(err);
                }
            };
            moved += framed - start;
            framed = start + len;
        }
        self.pending.truncate(framed);
        if self.pending.len() >= NONE_BATCH_BYTES {
            self.flush(false)?;
        }
        Ok(())
    }

    /// Writes and syncs everything pending; returns the last durable sequence number.
    pub fn sync(&mut self) -> AuditResult<Option<u64>> {
        self.check_writable()?;
        self.flush(true)?;
        Ok(self.durable_through())
    }

    fn check_writable(&self) -> AuditResult<()> {
        if self.poisoned {
            Err(AuditError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Completes the frame encoded at `pending[start..end]` (room for the header, then the
    /// body; `record_hash`: SHA-256 of the record) and applies the durability policy. Records
    /// go to a segment of the current format: the active segment of a log written by an
    /// earlier build is sealed first (or, while it holds no record, given a current header).
    /// `in_batch`: the frame is one of a batch's, framed in place (see [`Core::push_batch`]),
    /// which writes the batch after its last record; bytes after `end` (its records not
    /// framed yet) are not written, and stay after the frame. Returns where the frame starts
    /// now (earlier than `start` when the records before it went to a segment that was
    /// sealed).
    fn push_frame(
        &mut self,
        meta: &FrameMeta,
        mut start: usize,
        end: usize,
        in_batch: bool,
        record_hash: &Hash,
    ) -> AuditResult<(Appended, usize)> {
        let body_len = end - start - FRAME_HEADER;
        let frame_len = (end - start) as u64;
        let active = self.segments.len() - 1;
        let seg_bytes = self.segments[active].len + start as u64;
        let older = self.segments[active].version != FORMAT_VERSION;
        let full = seg_bytes + frame_len > self.config.segment_max_bytes;
        if older && seg_bytes == SEGMENT_HEADER as u64 {
            self.upgrade_empty_segment()?;
        } else if seg_bytes > SEGMENT_HEADER as u64 && (full || older) {
            // the new frame goes to the next segment: set it aside while the active one is sealed
            let frame = self.pending.split_off(start);
            self.roll()?;
            start = self.pending.len();
            self.pending.extend_from_slice(&frame);
        }
        let active = self.segments.len() - 1;
        let offset = self.segments[active].len + start as u64;
        let end = start + frame_len as usize;
        self.head = fill_frame(&mut self.pending[start..end], meta, &self.head, record_hash);
        if meta.kind == Kind::Decision {
            if meta.flags & FLAG_INLINE != 0 {
                self.addresses.insert(meta.address, meta.seq);
                self.pending_addresses.push(meta.address);
            }
            self.last_decision = Some(meta.seq);
        }
        self.last_time = Some(meta.time);
        self.index.push(IndexEntry {
            time: meta.time,
            seg: active as u32,
            offset,
            body_len: body_len as u32,
            record_len: meta.record_len,
            link: meta.link,
            kind: meta.kind,
            flags: meta.flags,
            address: meta.address,
        });
        if self.pending_since.is_none() {
            self.pending_since = Some(Instant::now());
        }
        match self.config.durability {
            Durability::PerRecord => self.flush(true)?,
            Durability::GroupCommit {
                max_records,
                max_delay,
            } => {
                let waiting = self.len() - self.written.frames;
                if waiting >= u64::from(max_records)
                    || self.pending_since.is_some_and(|t| t.elapsed() >= max_delay)
                {
                    self.flush(true)?;
                }
            }
            Durability::None => {
                // (a batch is written after its last record, see `push_batch`)
                if !in_batch && self.pending.len() >= NONE_BATCH_BYTES {
                    self.flush(false)?;
                }
            }
        }
        let appended = Appended {
            sequence: meta.seq,
            durable_through: self.durable_through(),
        };
        Ok((appended, start))
    }

    /// Writes the pending records (and syncs when `sync`). On failure, rolls the file and the
    /// in-memory state back to the last successful write.
    fn flush(&mut self, sync: bool) -> AuditResult<()> {
        let active = self.segments.len() - 1;
        let path = self.segments[active].path.clone();
        if !self.pending.is_empty() {
            let start = self.segments[active].len;
            let want = self.pending.len();
            let allowed = self
                .faults
                .as_mut()
                .map_or(want, |f| f.allow_write(want))
                .min(want);
            let res = self
                .writer
                .seek(SeekFrom::Start(start))
                .and_then(|_| self.writer.write_all(&self.pending[..allowed]))
                .and_then(|()| {
                    if allowed < want {
                        Err(io::Error::new(
                            io::ErrorKind::StorageFull,
                            "no space left on device (simulated)",
                        ))
                    } else {
                        Ok(())
                    }
                });
            if let Err(e) = res {
                self.rollback(start);
                return Err(AuditError::Io {
                    action: "appending records (records not yet acknowledged were rolled back)",
                    path,
                    source: e,
                });
            }
            self.segments[active].len += want as u64;
            self.pending.clear();
            self.pending_addresses.clear();
            self.pending_since = None;
            self.written = Checkpoint {
                frames: self.len(),
                head: self.head,
                last_time: self.last_time,
                last_decision: self.last_decision,
            };
        }
        if sync && self.synced < self.written.frames {
            let allowed = self.faults.as_mut().is_none_or(|f| f.allow_sync());
            let res = if allowed {
                self.writer.sync_data()
            } else {
                Err(io::Error::other("sync failed (simulated)"))
            };
            if let Err(e) = res {
                // after a failed fsync the state of the written pages is unknown
                self.poisoned = true;
                return Err(AuditError::Io {
                    action: "syncing records",
                    path,
                    source: e,
                });
            }
            self.synced = self.written.frames;
        }
        Ok(())
    }

    fn rollback(&mut self, file_len: u64) {
        let cp = self.written;
        if self.writer.set_len(file_len).is_err() {
            self.poisoned = true;
        }
        self.index.truncate(cp.frames as usize);
        for a in self.pending_addresses.drain(..) {
            self.addresses.remove(&a);
        }
        self.head = cp.head;
        self.last_time = cp.last_time;
        self.last_decision = cp.last_decision;
        self.pending.clear();
        self.pending_since = None;
    }

    /// Rewrites the header of the active segment, of an earlier format version and holding no
    /// record, as a header of the current version (the chain before it is the log's head).
    fn upgrade_empty_segment(&mut self) -> AuditResult<()> {
        let active = self.segments.len() - 1;
        let seg = &mut self.segments[active];
        let header = segment_header(seg.first_seq, &self.head);
        let res = self
            .writer
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.writer.write_all(&header))
            .and_then(|()| self.writer.sync_data());
        if let Err(e) = res {
            // the header may be half written
            self.poisoned = true;
            return Err(AuditError::Io {
                action: "rewriting a segment header of an earlier format version",
                path: seg.path.clone(),
                source: e,
            });
        }
        seg.version = FORMAT_VERSION;
        Ok(())
    }

    /// Seals the active segment (write + sync) and starts a new one.
    fn roll(&mut self) -> AuditResult<()> {
        let sync = !matches!(self.config.durability, Durability::None);
        self.flush(sync)?;
        // the sealed segment's persistent index, written before the next segment exists
        let sealed = &self.segments[self.segments.len() - 1];
        crate::index::write(
            &sealed.path,
            sealed.version,
            sealed.first_seq,
            sealed.len,
            &self.head,
            &self.index[sealed.first_seq as usize..],
        )?;
        let (seg, w) = create_segment(&self.dir, self.len(), &self.head)?;
        self.segments.push(seg);
        self.writer = w;
        Ok(())
    }

    /// Re-reads every segment and checks every record: length, CRC-32, sequence, time order,
    /// SHA-256 chain and snapshot addresses, and that the files still hold every record this
    /// log has written. Returns the first modified, deleted, inserted or reordered record.
    /// Records still pending in memory (group commit) are not on disk yet and not checked.
    pub fn verify(&self) -> AuditResult<VerifyReport> {
        let expected = self.written.frames;
        let (mut report, watched) = verify_inner(&self.dir, &self.config, expected.wrapping_sub(1))?;
        if report.first_bad.is_none() && expected > 0 {
            let at = |s: u64| {
                self.index
                    .get(s as usize)
                    .map(|e| (self.segments[e.seg as usize].path.clone(), e.offset))
                    .unwrap_or_default()
            };
            if report.records < expected {
                let (path, offset) = at(report.records);
                report.first_bad = Some(BadRecord {
                    sequence: report.records,
                    path,
                    offset,
                    reason: BadReason::MissingTail,
                });
            } else if watched != Some(self.written.head) {
                // the files hold another chain than the one this log wrote (rewritten log)
                let (path, offset) = at(expected - 1);
                report.first_bad = Some(BadRecord {
                    sequence: expected - 1,
                    path,
                    offset,
                    reason: BadReason::Chain,
                });
            }
        }
        Ok(report)
    }

    /// Sequence numbers of the records with `from <= time < to` (binary search on the
    /// in-memory index).
    pub fn sequences_between(&self, from: Timestamp, to: Timestamp) -> Range<u64> {
        let lo = self.index.partition_point(|e| e.time < from.as_nanos());
        let hi = self.index.partition_point(|e| e.time < to.as_nanos()).max(lo);
        lo as u64..hi as u64
    }

    /// Reads and checks one record's bytes: `(chain hash, body)`.
    fn read_raw(&self, seq: u64) -> AuditResult<(Hash, Vec<u8>)> {
        let e = *self
            .index
            .get(usize::try_from(seq).unwrap_or(usize::MAX))
            .ok_or(AuditError::NotFound { sequence: seq })?;
        let seg = &self.segments[e.seg as usize];
        let total = FRAME_HEADER + e.body_len as usize;
        let mut buf = vec![0u8; total];
        if e.offset >= seg.len {
            let at = (e.offset - seg.len) as usize;
            let src = self
                .pending
                .get(at..at + total)
                .ok_or(AuditError::NotFound { sequence: seq })?;
            buf.copy_from_slice(src);
        } else {
            read_at(&seg.reader, &mut buf, e.offset).map_err(io("reading a record", &seg.path))?;
        }
        let corrupt = |reason| AuditError::Corrupt {
            sequence: seq,
            path: seg.path.clone(),
            offset: e.offset,
            reason,
        };
        let (f, _) =
            read_frame(&buf, self.config.max_record_bytes).map_err(|_| corrupt(BadReason::Checksum))?;
        if f.seq != seq || f.time != e.time || f.body_len != e.body_len || f.address != e.address {
            return Err(corrupt(BadReason::Sequence { found: f.seq }));
        }
        buf.drain(..FRAME_HEADER);
        Ok((f.chain, buf))
    }

    fn decode_decision(&self, seq: u64) -> AuditResult<LoggedDecision> {
        let e = self.index[seq as usize];
        let (chain, body) = self.read_raw(seq)?;
        let (rec, snap) = body.split_at(e.record_len as usize);
        let version = self.segments[e.seg as usize].version;
        let record: DecisionRecord =
            bin::from_slice_for(version, rec, true).map_err(|e| bin_error(e, "stored decision record"))?;
        let snapshot_bytes;
        let snap = if e.flags & FLAG_INLINE != 0 {
            snap
        } else {
            let holder = *self
                .addresses
                .get(&e.address)
                .ok_or(AuditError::NotFound { sequence: seq })?;
            let h = self.index[holder as usize];
            let (_, b) = self.read_raw(holder)?;
            snapshot_bytes = b;
            &snapshot_bytes[h.record_len as usize..]
        };
        if sha256(snap) != e.address {
            return Err(AuditError::Mismatch(
                "stored snapshot does not hash to its address",
            ));
        }
        let snapshot = decode_snapshot(snap).map_err(|e| bin_error(e, "stored snapshot"))?;
        if record.decision.time.as_nanos() != e.time || snapshot.time.as_nanos() != e.time {
            return Err(AuditError::Mismatch(
                "stored decision time differs from its record header",
            ));
        }
        if !crate::replay::weights_consistent(&record.decision) {
            return Err(AuditError::Mismatch("stored weights have mismatched lengths"));
        }
        Ok(LoggedDecision {
            sequence: seq,
            chain_hash: to_hex(&chain),
            snapshot_address: to_hex(&e.address),
            record,
            snapshot,
            outcomes: Vec::new(),
        })
    }

    fn decode_outcome(&self, seq: u64) -> AuditResult<Outcome> {
        let (_, body) = self.read_raw(seq)?;
        let version = self.segments[self.index[seq as usize].seg as usize].version;
        bin::from_slice_for(version, &body, true).map_err(|e| bin_error(e, "stored outcome"))
    }

    /// The decision stored at `sequence` (with the outcomes that follow it); `None` if that
    /// record is an outcome or does not exist.
    pub fn decision(&self, sequence: u64) -> AuditResult<Option<LoggedDecision>> {
        match self.index.get(usize::try_from(sequence).unwrap_or(usize::MAX)) {
            Some(e) if e.kind == Kind::Decision => {
                let mut d = self.decode_decision(sequence)?;
                self.attach_outcomes(&mut d, self.len())?;
                Ok(Some(d))
            }
            _ => Ok(None),
        }
    }

    fn attach_outcomes(&self, d: &mut LoggedDecision, end: u64) -> AuditResult<()> {
        let mut s = d.sequence + 1;
        while s < end {
            let e = &self.index[s as usize];
            if e.kind != Kind::Outcome || e.link != d.sequence {
                break;
            }
            d.outcomes.push(self.decode_outcome(s)?);
            s += 1;
        }
        Ok(())
    }

    /// The decisions with `from <= time < to`, in order, each with its snapshot and the
    /// outcomes learned after it. Every record read is checked (CRC-32, header, address).
    pub fn range(&self, from: Timestamp, to: Timestamp) -> AuditResult<Vec<LoggedDecision>> {
        let seqs = self.sequences_between(from, to);
        let mut out = Vec::new();
        for s in seqs {
            if self.index[s as usize].kind == Kind::Decision {
                let mut d = self.decode_decision(s)?;
                self.attach_outcomes(&mut d, self.len())?;
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Every decision in the log (see [`AuditLog::range`](crate::AuditLog::range)).
    pub fn all(&self) -> AuditResult<Vec<LoggedDecision>> {
        let mut out = Vec::new();
        for s in 0..self.len() {
            if self.index[s as usize].kind == Kind::Decision {
                let mut d = self.decode_decision(s)?;
                self.attach_outcomes(&mut d, self.len())?;
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// A binary encoding error as an audit error (non-finite numbers as [`CoreError::NonFinite`]).
pub(crate) fn bin_error(e: bin::BinError, field: &'static str) -> AuditError {
    match e {
        bin::BinError::NonFinite(value) => CoreError::NonFinite {
            field,
            index: 0,
            value,
        }
        .into(),
        other => AuditError::Binary {
            what: field,
            message: other.to_string(),
        },
    }
}

fn create_segment(dir: &Path, first_seq: u64, prev_chain: &Hash) -> AuditResult<(Segment, File)> {
    let path = dir.join(segment_name(first_seq));
    let mut w = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io("creating a segment", &path))?;
    w.write_all(&segment_header(first_seq, prev_chain))
        .and_then(|()| w.sync_all())
        .map_err(io("writing a segment header", &path))?;
    sync_dir(dir)?;
    let reader = File::open(&path).map_err(io("opening a segment", &path))?;
    Ok((
        Segment {
            path,
            first_seq,
            len: SEGMENT_HEADER as u64,
            version: FORMAT_VERSION,
            reader,
        },
        w,
    ))
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::Read;
    let mut f = f.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

impl Drop for Core {
    fn drop(&mut self) {
        if !self.poisoned {
            let sync = !matches!(self.config.durability, Durability::None);
            let _ = self.flush(sync);
        }
    }
}

/// A record encoded by the caller and not yet stored: `FRAME_HEADER` bytes of room for its
/// header at `start`, then the record (`record_len` bytes), then a decision's snapshot, up
/// to `end`, in a [`Batch`].
#[derive(Debug, Clone, Copy)]
struct Encoded {
    start: usize,
    end: usize,
    record_len: usize,
    kind: Kind,
    /// The decision's time (outcomes take the time of the decision they follow).
    time: i64,
    /// A decision's snapshot address: SHA-256 of the snapshot's bytes (after the record in
    /// the body), computed by the caller, in parallel with the writer thread's hashing of
    /// the previous records and chaining (zero for outcomes).
    address: Hash,
}

/// Records encoded by the caller, in order, waiting to be stored.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    entries: Vec<Encoded>,
    /// The encoder's string cache, reused from value to value.
    strings: bin::Interner,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    fn body(&self, e: &Encoded) -> &[u8] {
        &self.bytes[e.start + FRAME_HEADER..e.end]
    }

    /// Encodes a decision record (checking that every number is finite) and its snapshot
    /// after the bytes of the batch; on an error the bytes are left as they were. The entry
    /// is not added to the batch's list.
    fn encode_decision(
        &mut self,
        snapshot: &MarketSnapshot,
        record: &DecisionRecord,
    ) -> AuditResult<Encoded> {
        let start = self.bytes.len();
        self.bytes.resize(start + FRAME_HEADER, 0);
        if let Err(e) = bin::to_writer_interned(record, &mut self.bytes, true, &mut self.strings) {
            self.bytes.truncate(start);
            return Err(bin_error(e, "decision record"));
        }
        let record_len = self.bytes.len() - start - FRAME_HEADER;
        let snapshot_at = self.bytes.len();
        encode_snapshot_with(snapshot, &mut self.bytes, &mut self.strings);
        Ok(Encoded {
            start,
            end: self.bytes.len(),
            record_len,
            kind: Kind::Decision,
            time: snapshot.time.as_nanos(),
            address: sha256(&self.bytes[snapshot_at..]),
        })
    }

    /// Encodes an outcome (checking that every number is finite), as `encode_decision`.
    fn encode_outcome(&mut self, outcome: &Outcome) -> AuditResult<Encoded> {
        let start = self.bytes.len();
        self.bytes.resize(start + FRAME_HEADER, 0);
        if let Err(e) = bin::to_writer_interned(outcome, &mut self.bytes, true, &mut self.strings) {
            self.bytes.truncate(start);
            return Err(bin_error(e, "outcome"));
        }
        Ok(Encoded {
            start,
            end: self.bytes.len(),
            record_len: self.bytes.len() - start - FRAME_HEADER,
            kind: Kind::Outcome,
            time: 0,
            address: [0; 32],
        })
    }
}

/// A batch handed to the writer thread with the core that stores it.
type Job = (Box<Core>, Batch);
/// The core and the (emptied) batch handed back, with how storing it ended.
type Done = (Box<Core>, Batch, AuditResult<()>);

/// The writer thread of a log under [`Durability::None`]: it hashes records, deduplicates
/// snapshots, frames, chains and writes the batches the caller encoded, one at a time, while
/// the caller encodes the next.
#[derive(Debug)]
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    fn spawn() -> io::Result<Worker> {
        let (jobs, todo) = mpsc::channel::<Job>();
        let (tx, done) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new()
            .name("prudentia-audit-writer".into())
            .spawn(move || {
                for (mut core, mut batch) in todo {
                    let res = core.push_batch(&mut batch);
                    batch.clear();
                    if tx.send((core, batch, res)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Worker {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // closing the queue ends the thread's loop
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What an [`AuditLog`] handle keeps behind its lock.
#[derive(Debug)]
struct State {
    /// `None` while the writer thread holds it (or after that thread died).
    core: Option<Box<Core>>,
    /// Records encoded by the caller and not handed over yet (only under `Durability::None`).
    batch: Batch,
    /// An emptied batch to encode into next.
    spare: Batch,
    worker: Option<Worker>,
    /// Whether appends are pipelined through the writer thread (`Durability::None`).
    pipelined: bool,
    max_record_bytes: usize,
    /// An error of the writer thread not reported yet.
    error: Option<AuditError>,
    /// The writer thread died and took the core with it.
    lost: bool,
    /// The caller's view: the next sequence number, the last decision's time, and how many
    /// records are durable.
    next_seq: u64,
    last_time: Option<i64>,
    synced: u64,
}

impl State {
    /// The caller's view from the core (when nothing is queued, or after an error rolled the
    /// core back).
    fn resync(&mut self) {
        if let Some(core) = self.core.as_deref() {
            self.next_seq = core.len();
            self.last_time = core.last_time;
            self.synced = core.synced;
        }
    }

    /// Takes the core back from the writer thread (waiting for its batch); an error it
    /// reports is kept in `error`.
    fn receive(&mut self) {
        if self.core.is_some() {
            return;
        }
        let Some(w) = self.worker.as_ref() else {
            self.lost = true;
            return;
        };
        match w.done.recv() {
            Ok((core, batch, res)) => {
                self.core = Some(core);
                self.spare = batch;
                if let Err(e) = res {
                    self.error.get_or_insert(e);
                }
            }
            Err(_) => {
                self.lost = true;
                self.worker = None;
            }
        }
    }

    /// Takes the core back and stores the caller's batch through it on this thread. After an
    /// error (kept in `error`) the records not stored are dropped and the caller's view is
    /// taken from the rolled-back core.
    fn settle(&mut self) {
        self.receive();
        if !self.batch.entries.is_empty() {
            if let (Some(core), None) = (self.core.as_deref_mut(), self.error.as_ref()) {
                if let Err(e) = core.push_batch(&mut self.batch) {
                    self.error = Some(e);
                }
            }
            self.batch.clear();
        }
        if self.error.is_some() {
            self.batch.clear();
        }
        // nothing is queued now: the core's state is the caller's view
        self.resync();
    }

    /// The settled core, or the error the writer thread reported.
    fn core(&mut self) -> AuditResult<&mut Core> {
        self.settle();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.core.as_deref_mut().ok_or(AuditError::Poisoned)
    }

    fn check_writable(&mut self) -> AuditResult<()> {
        if let Some(e) = self.error.take() {
            self.batch.clear();
            self.resync();
            return Err(e);
        }
        match self.core.as_deref() {
            _ if self.lost => Err(AuditError::Poisoned),
            Some(core) => core.check_writable(),
            None => Ok(()),
        }
    }

    /// Stores (or queues) a record just encoded at the end of `batch.bytes`.
    fn admit(&mut self, e: Encoded) -> AuditResult<Appended> {
        let body_len = e.end - e.start - FRAME_HEADER;
        if !self.pipelined || body_len > self.max_record_bytes {
            // on this thread, after everything queued: the core decides deduplication and
            // the size check exactly
            let tail = (e.start > 0).then(|| self.batch.bytes.split_off(e.start));
            self.settle();
            if let Some(tail) = tail {
                self.batch.bytes = tail;
            }
            let res = match (self.error.take(), self.core.as_deref_mut()) {
                (Some(err), _) => Err(err),
                (None, None) => Err(AuditError::Poisoned),
                (None, Some(core)) => {
                    let e = Encoded {
                        start: 0,
                        end: e.end - e.start,
                        ..e
                    };
                    core.push_encoded(self.batch.body(&e), &e)
                }
            };
            self.batch.clear();
            self.resync();
            return res;
        }
        let sequence = self.next_seq;
        self.batch.entries.push(e);
        self.next_seq += 1;
        if e.kind == Kind::Decision {
            self.last_time = Some(e.time);
        }
        if self.batch.bytes.len() >= NONE_BATCH_BYTES {
            self.hand_off()?;
        }
        Ok(Appended {
            sequence,
            durable_through: self.synced.checked_sub(1),
        })
    }

    /// Hands the caller's batch to the writer thread (after taking back the previous one).
    /// An error of the previous batch is returned here, and the records queued since are
    /// dropped with it.
    fn hand_off(&mut self) -> AuditResult<()> {
        self.receive();
        if let Some(e) = self.error.take() {
            self.batch.clear();
            self.resync();
            return Err(e);
        }
        let Some(core) = self.core.take() else {
            self.batch.clear();
            return Err(AuditError::Poisoned);
        };
        let batch = std::mem::replace(&mut self.batch, std::mem::take(&mut self.spare));
        if self.worker.is_none() {
            // without a thread, batches are stored on the caller's thread
            self.worker = Worker::spawn().ok();
        }
        let job = match self.worker.as_ref().and_then(|w| w.jobs.as_ref()) {
            Some(jobs) => match jobs.send((core, batch)) {
                Ok(()) => return Ok(()),
                Err(mpsc::SendError(job)) => {
                    self.worker = None;
                    job
                }
            },
            None => (core, batch),
        };
        let (core, batch) = job;
        self.core = Some(core);
        self.batch = batch;
        self.settle();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The append-only, SHA-256-chained decision log in a directory of segment files.
///
/// Every decision is stored with its record and its raw snapshot (once per distinct
/// snapshot: later records refer to it by its SHA-256 content address); outcomes are stored
/// after the decision they follow. Each record is length-prefixed, CRC-32 checked, and
/// chained to its predecessor with SHA-256 over every stored byte. See the
/// [crate docs](crate) for the format and guarantees.
///
/// **Pipelining.** Under [`Durability::PerRecord`] and [`Durability::GroupCommit`] an append
/// stores its record before it returns. Under [`Durability::None`], an append checks and
/// encodes the record and its snapshot on the caller's thread, computes the snapshot's
/// address and queues them (`Ok` means *accepted and queued*; nothing is durable before
/// [`AuditLog::sync`] under this policy anyway); a writer thread hashes the records,
/// deduplicates the snapshots, chains and writes the queued records in batches of about
/// 256 KiB while the caller goes on. Every other call (`sync`, `verify`, `range`, `head`, …, and dropping the
/// log) first waits for the queue to be stored, so reads always see every accepted record.
/// A write error of the thread rolls the log back to its last good write, as on the
/// caller's thread, and is returned by the next call that returns a `Result`; the records
/// queued but not written are then dropped (none of them was durable).
pub struct AuditLog {
    dir: PathBuf,
    config: LogConfig,
    torn_tail: Option<TornTail>,
    stale_lock: Option<StaleLock>,
    index_rebuilds: Vec<IndexRebuild>,
    state: Mutex<State>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .field("records", &st.next_seq)
            .field("core", &st.core)
            .finish()
    }
}

impl AuditLog {
    /// Opens (or creates) the log in `dir`. Every record is checked (length, CRC-32, sequence,
    /// time order, chain, snapshot addresses). A torn tail in the last segment (an append cut
    /// short by a crash) is truncated and reported by [`AuditLog::torn_tail`](crate::AuditLog::torn_tail); any other damage
    /// is an [`AuditError::Corrupt`] naming the first bad record, and nothing is changed.
    ///
    /// The open log holds the directory's writer lock (the file [`LOCK_FILE`](crate::LOCK_FILE),
    /// locked with `flock(2)` on Unix): a second writer, in this process or another, gets
    /// [`AuditError::Locked`]. The operating system releases the lock when the holder dies, so
    /// a crash never blocks the next writer; the file records its holder (`pid <n>`) and is
    /// emptied on a clean close, so a writer that finds it non-empty reports the previous
    /// holder's unclean end as [`AuditLog::stale_lock`](crate::AuditLog::stale_lock). (Without `flock`, on non-Unix
    /// platforms, the file is created exclusively and must be removed by hand after a
    /// crash.) Readers such as [`verify_dir`] take no lock.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> AuditResult<Self> {
        Self::open_inner(dir.as_ref(), config, None)
    }

    /// [`AuditLog::open`] with simulated I/O faults (tests of full disks and failing devices).
    pub fn open_with_faults(
        dir: impl AsRef<Path>,
        config: LogConfig,
        faults: Box<dyn IoFaults>,
    ) -> AuditResult<Self> {
        Self::open_inner(dir.as_ref(), config, Some(faults))
    }

    fn open_inner(dir: &Path, config: LogConfig, faults: Option<Box<dyn IoFaults>>) -> AuditResult<Self> {
        let core = Core::open_inner(dir, config.clone(), faults)?;
        let state = State {
            next_seq: core.len(),
            last_time: core.last_time,
            synced: core.synced,
            core: None,
            batch: Batch::default(),
            spare: Batch::default(),
            worker: None,
            pipelined: config.durability == Durability::None,
            max_record_bytes: config.max_record_bytes as usize,
            error: None,
            lost: false,
        };
        Ok(Self {
            dir: core.dir.clone(),
            config,
            torn_tail: core.torn_tail.clone(),
            stale_lock: core.stale_lock.clone(),
            index_rebuilds: core.index_rebuilds.clone(),
            state: Mutex::new(State {
                core: Some(Box::new(core)),
                ..state
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn state(&mut self) -> &mut State {
        self.state.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }
    /// The lock left by a writer that did not close this log cleanly (a crash or a kill),
    /// found and taken over when the log was opened.
    pub fn stale_lock(&self) -> Option<&StaleLock> {
        self.stale_lock.as_ref()
    }
    /// The sealed segments whose persistent index was missing, damaged or inconsistent with
    /// the segment when the log was opened, and was rebuilt from a full scan.
    pub fn index_rebuilds(&self) -> &[IndexRebuild] {
        &self.index_rebuilds
    }
    /// The torn tail cut off when the log was opened, if there was one.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }
    /// Number of records (decisions and outcomes), including those not yet durable (and,
    /// under [`Durability::None`], those queued for the writer thread).
    pub fn len(&self) -> u64 {
        self.lock().next_seq
    }
    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of segment files.
    pub fn segments(&self) -> usize {
        let mut st = self.lock();
        st.settle();
        st.core.as_deref().map_or(0, Core::segments)
    }
    /// The last record's sequence number and chain hash.
    pub fn head(&self) -> Option<LogHead> {
        let mut st = self.lock();
        st.settle();
        st.core.as_deref().and_then(Core::head)
    }
    /// Every record up to this sequence number is durable (acknowledged).
    pub fn durable_through(&self) -> Option<u64> {
        let mut st = self.lock();
        st.settle();
        st.synced.checked_sub(1)
    }

    /// Appends a decision record with its raw snapshot. Checks, before anything is written:
    /// the record holds only finite numbers, its decision time equals the snapshot's and is
    /// not earlier than the previous record's, and the encoded size is within the limit.
    /// On an I/O error, records that were not yet acknowledged are rolled back. Under
    /// [`Durability::None`] the record is queued for the writer thread (see
    /// [`AuditLog`] on pipelining).
    pub fn append(&mut self, snapshot: &MarketSnapshot, record: &DecisionRecord) -> AuditResult<Appended> {
        let st = self.state();
        st.check_writable()?;
        if record.decision.time != snapshot.time {
            return Err(AuditError::Mismatch("decision time differs from snapshot time"));
        }
        if !crate::replay::weights_consistent(&record.decision) {
            return Err(AuditError::Mismatch("weights have mismatched lengths"));
        }
        crate::config::check_order(st.last_time, snapshot.time.as_nanos())?;
        let e = st.batch.encode_decision(snapshot, record)?;
        st.admit(e)
    }

    /// Appends an outcome learned after the last decision (the pipeline does this from
    /// `learn`). The outcome must hold only finite numbers.
    pub fn append_outcome(&mut self, outcome: &Outcome) -> AuditResult<Appended> {
        let st = self.state();
        st.check_writable()?;
        let e = st.batch.encode_outcome(outcome)?;
        st.admit(e)
    }

    /// Writes and syncs everything pending; returns the last durable sequence number.
    pub fn sync(&mut self) -> AuditResult<Option<u64>> {
        let st = self.state();
        let res = st.core().and_then(Core::sync);
        st.resync();
        res
    }

    /// Re-reads every segment and checks every record: length, CRC-32, sequence, time order,
    /// SHA-256 chain and snapshot addresses, and that the files still hold every record this
    /// log has written. Returns the first modified, deleted, inserted or reordered record.
    /// Records still pending in memory (group commit) are not on disk yet and not checked.
    pub fn verify(&self) -> AuditResult<VerifyReport> {
        self.lock().core()?.verify()
    }

    /// Sequence numbers of the records with `from <= time < to` (binary search on the
    /// in-memory index).
    pub fn sequences_between(&self, from: Timestamp, to: Timestamp) -> Range<u64> {
        let mut st = self.lock();
        st.settle();
        st.core.as_deref().map_or(0..0, |c| c.sequences_between(from, to))
    }

    /// The decision stored at `sequence` (with the outcomes that follow it); `None` if that
    /// record is an outcome or does not exist.
    pub fn decision(&self, sequence: u64) -> AuditResult<Option<LoggedDecision>> {
        self.lock().core()?.decision(sequence)
    }

    /// The decisions with `from <= time < to`, in order, each with its snapshot and the
    /// outcomes learned after it. Every record read is checked (CRC-32, header, address).
    pub fn range(&self, from: Timestamp, to: Timestamp) -> AuditResult<Vec<LoggedDecision>> {
        self.lock().core()?.range(from, to)
    }

    /// Every decision in the log (see [`AuditLog::range`]).
    pub fn all(&self) -> AuditResult<Vec<LoggedDecision>> {
        self.lock().core()?.all()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let st = self.state();
        st.settle();
        // the core's own drop writes (and, unless under `Durability::None`, syncs) what is
        // pending and then releases the writer lock; the writer thread ends after it
        drop(st.core.take());
        drop(st.worker.take());
    }
}

impl AuditSink for AuditLog {
    fn record(&mut self, snapshot: &MarketSnapshot, record: &DecisionRecord) -> RoleResult<()> {
        self.append(snapshot, record)
            .map(|_| ())
            .map_err(|e| RoleError::implementation(Role::Audit, e))
    }
    fn outcome(&mut self, outcome: &Outcome) -> RoleResult<()> {
        self.append_outcome(outcome)
            .map(|_| ())
            .map_err(|e| RoleError::implementation(Role::Audit, e))
    }
}
