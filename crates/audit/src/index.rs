//! The persistent index of a sealed segment: one fixed-size entry per record, so that
//! opening a log does not re-hash every sealed segment.
//!
//! ```text
//! seg-<first sequence>.pidx (little endian)
//!   0  magic "PRUDIDX\0"     8  index version u32     12 format version of the segment u32
//!   16 first sequence u64    24 record count u64      32 segment length in bytes u64
//!   40 chain hash of the segment's last record [32]
//!   72 entries, 72 bytes each:
//!      0 time i64   8 offset u64   16 body length u32   20 record length u32   24 link u64
//!      32 kind u8   33 flags u8    34 reserved [6] (0)   40 snapshot address [32]
//!   end: CRC-32 of everything before it, u32
//! ```
//! An index is written (to a temporary file, synced, then renamed) when its segment is
//! sealed, before the next segment is created. It is never trusted blindly: on open, every
//! entry is checked against the segment's bytes (each record's CRC-32 and header fields,
//! contiguous offsets, the segment length, the last chain hash); only the SHA-256 work is
//! skipped ([`AuditLog::verify`](crate::AuditLog::verify) still does all of it). A missing,
//! damaged or inconsistent index is rebuilt from a full scan of its segment and reported
//! ([`AuditLog::index_rebuilds`](crate::AuditLog::index_rebuilds)).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{io, AuditResult};
use crate::frame::{hash_at, read_frame, readable, u32_at, u64_at, Hash, Kind, FRAME_HEADER};
use crate::log::IndexEntry;

pub(crate) const INDEX_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"PRUDIDX\0";
const HEADER: usize = 72;
const ENTRY: usize = 72;

/// The index file of a segment file.
pub(crate) fn index_path(segment: &Path) -> PathBuf {
    segment.with_extension("pidx")
}

/// A loaded index (checked for its own consistency only).
pub(crate) struct SegmentIndex {
    /// The format version of its segment (the segment's header must say the same).
    pub(crate) format_version: u32,
    pub(crate) first_seq: u64,
    pub(crate) segment_len: u64,
    pub(crate) last_chain: Hash,
    pub(crate) entries: Vec<IndexEntry>,
}

/// Writes the index of a sealed segment of format `format_version` (temporary file, sync,
/// rename).
pub(crate) fn write(
    segment: &Path,
    format_version: u32,
    first_seq: u64,
    segment_len: u64,
    last_chain: &Hash,
    entries: &[IndexEntry],
) -> AuditResult<()> {
    let mut b = Vec::with_capacity(HEADER + entries.len() * ENTRY + 4);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    b.extend_from_slice(&format_version.to_le_bytes());
    b.extend_from_slice(&first_seq.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    b.extend_from_slice(&segment_len.to_le_bytes());
    b.extend_from_slice(last_chain);
    for e in entries {
        b.extend_from_slice(&e.time.to_le_bytes());
        b.extend_from_slice(&e.offset.to_le_bytes());
        b.extend_from_slice(&e.body_len.to_le_bytes());
        b.extend_from_slice(&e.record_len.to_le_bytes());
        b.extend_from_slice(&e.link.to_le_bytes());
        b.push(e.kind as u8);
        b.push(e.flags);
        b.extend_from_slice(&[0u8; 6]);
        b.extend_from_slice(&e.address);
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    let path = index_path(segment);
    let tmp = path.with_extension("pidx.tmp");
    File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(&b)?;
            f.sync_all()
        })
        .map_err(io("writing a segment index", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("renaming a segment index", &path))?;
    Ok(())
}

/// Reads and parses the index of `segment`; `Err(why)` if it is missing or damaged.
pub(crate) fn read(segment: &Path, seg: u32) -> Result<SegmentIndex, &'static str> {
    let b = fs::read(index_path(segment)).map_err(|_| "missing or unreadable")?;
    if b.len() < HEADER + 4 || &b[0..8] != MAGIC {
        return Err("not an index file");
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32fast::hash(body) != u32_at(crc, 0) {
        return Err("checksum mismatch");
    }
    if u32_at(&b, 8) != INDEX_VERSION || !readable(u32_at(&b, 12)) {
        return Err("another version");
    }
    let count = u64_at(&b, 24);
    if (body.len() - HEADER) as u64 != count.saturating_mul(ENTRY as u64) {
        return Err("wrong length");
    }
    let mut entries = Vec::with_capacity(count as usize);
    for e in body[HEADER..].chunks_exact(ENTRY) {
        let kind = Kind::from_u8(e[32]).ok_or("bad record kind")?;
        if e[34..40] != [0u8; 6] {
            return Err("bad reserved bytes");
        }
        entries.push(IndexEntry {
            time: u64_at(e, 0) as i64,
            seg,
            offset: u64_at(e, 8),
            body_len: u32_at(e, 16),
            record_len: u32_at(e, 20),
            link: u64_at(e, 24),
            kind,
            flags: e[33],
            address: hash_at(e, 40),
        });
    }
    Ok(SegmentIndex {
        format_version: u32_at(&b, 12),
        first_seq: u64_at(&b, 16),
        segment_len: u64_at(&b, 32),
        last_chain: hash_at(&b, 40),
        entries,
    })
}

/// Checks an index against its segment's bytes: every record where the index says, with a
/// good CRC-32 and the indexed header fields, contiguous, filling the segment exactly.
/// `first_offset` is where records start (after the segment header). Returns the last
/// record's chain hash from the segment.
pub(crate) fn check(
    idx: &SegmentIndex,
    bytes: &[u8],
    first_offset: usize,
    max_body: u32,
) -> Result<Hash, &'static str> {
    if idx.segment_len != bytes.len() as u64 {
        return Err("segment length differs");
    }
    let mut at = first_offset;
    let mut chain = None;
    for (i, e) in idx.entries.iter().enumerate() {
        if e.offset != at as u64 {
            return Err("offsets not contiguous");
        }
        let (f, total) = read_frame(&bytes[at..], max_body).map_err(|_| "record does not check")?;
        let same = f.seq == idx.first_seq.saturating_add(i as u64)
            && f.time == e.time
            && f.link == e.link
            && f.meta_kind == e.kind as u8
            && f.flags == e.flags
            && f.record_len == e.record_len
            && f.body_len == e.body_len
            && f.address == e.address
            && total == FRAME_HEADER + e.body_len as usize;
        if !same {
            return Err("record differs from its entry");
        }
        chain = Some(f.chain);
        at += total;
    }
    if at != bytes.len() {
        return Err("segment holds more than its index");
    }
    match chain {
        Some(c) if c == idx.last_chain => Ok(c),
        _ => Err("last chain hash differs"),
    }
}
