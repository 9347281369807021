//! The on-disk layout: segment headers and length-prefixed, checksummed, chained records.
//!
//! ```text
//! segment header (64 bytes, little endian)
//!   0  magic "PRUDAUD\0"        8  format version u32     12 reserved u32 (0)
//!   16 first sequence u64       24 chain hash before the segment's first record [32]
//!   56 CRC-32 of bytes 0..56    60 reserved u32 (0)
//! record (104-byte header + body)
//!   0  body length u32          4  CRC-32 of bytes 8..104 and the body
//!   8  sequence u64             16 time, ns since the epoch, i64
//!   24 link u64 (outcome: sequence of its decision; else u64::MAX)
//!   32 kind u8 (1 decision, 2 outcome)   33 flags u8 (bit 0: snapshot stored inline)
//!   34 reserved u16 (0)         36 length of the record within the body u32
//!   40 snapshot address: SHA-256 of the snapshot bytes [32] (zero for outcomes)
//!   72 chain hash [32]
//!        version 4: SHA-256(previous chain hash ‖ bytes 8..72 ‖ SHA-256(record) ‖ 4u32)
//!        version 3: SHA-256(previous chain hash ‖ bytes 8..72 ‖ SHA-256(record))
//!        version 2: SHA-256(previous chain hash ‖ bytes 8..72 ‖ record)
//!   body: the record (binary, see the `bin` module), then (inline flag) the snapshot's
//!   bytes (binary, see the `encode` module)
//! ```
//! Version 4 has the layout of version 3; its record and snapshot encodings are more
//! compact (strings interned within each record and snapshot, times within a snapshot
//! relative to its time, flag bytes for optional fields; see the `bin` and `encode`
//! modules), and its link hashes the version, so that a segment relabelled as another
//! version breaks the chain at its first record.
//! The chain starts from 32 zero bytes. The snapshot's bytes enter the chain through their
//! address (bytes 40..72, which the chain covers), and in version 3 the record's bytes
//! through their own SHA-256, so every stored byte is hashed once and the link itself
//! hashes 128 bytes: the record's and the snapshot's digests can be computed apart from
//! (and in parallel with) the sequential chain. Each segment header carries its version;
//! a log may hold segments of version 2 followed by segments of version 3 (appends to a
//! log written by an earlier build start a new segment of the current version).

use sha2::{Digest, Sha256};

/// Format version written by this build. Version 1 stored the record and snapshot as JSON;
/// version 2 stores them in the compact binary encoding; version 3 (the layout above is
/// unchanged) chains the SHA-256 of the record instead of the record's bytes; version 4
/// (same layout) interns strings within each record and snapshot, stores a snapshot's
/// times relative to its own and its optional fields behind flag bytes, and hashes the
/// version into each link. This build reads versions 2, 3 and 4 ([`READ_VERSIONS`]); a file
/// of another version is refused with
/// [`AuditError::UnsupportedVersion`](crate::AuditError::UnsupportedVersion).
pub const FORMAT_VERSION: u32 = 4;

/// Format versions this build reads (and verifies, replays and appends to).
pub const READ_VERSIONS: [u32; 3] = [2, 3, 4];

/// Whether this build reads files of format `version`.
pub(crate) fn readable(version: u32) -> bool {
    READ_VERSIONS.contains(&version)
}
pub(crate) const MAGIC: &[u8; 8] = b"PRUDAUD\0";
pub(crate) const SEGMENT_HEADER: usize = 64;
pub(crate) const FRAME_HEADER: usize = 104;
pub(crate) const NO_LINK: u64 = u64::MAX;
pub(crate) const FLAG_INLINE: u8 = 1;

/// A 32-byte SHA-256 digest.
pub type Hash = [u8; 32];

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Decision = 1,
    Outcome = 2,
}

impl Kind {
    pub(crate) fn from_u8(v: u8) -> Option<Kind> {
        match v {
            1 => Some(Kind::Decision),
            2 => Some(Kind::Outcome),
            _ => None,
        }
    }
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
pub(crate) fn hash_at(b: &[u8], at: usize) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(&b[at..at + 32]);
    h
}

/// A parsed segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) version: u32,
    pub(crate) first_seq: u64,
    pub(crate) prev_chain: Hash,
}

pub(crate) fn segment_header(first_seq: u64, prev_chain: &Hash) -> [u8; SEGMENT_HEADER] {
    let mut h = [0u8; SEGMENT_HEADER];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&first_seq.to_le_bytes());
    h[24..56].copy_from_slice(prev_chain);
    let crc = crc32fast::hash(&h[0..56]);
    h[56..60].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Parses a segment header; `None` if the magic, checksum or reserved bytes are wrong.
pub(crate) fn parse_segment_header(b: &[u8]) -> Option<SegmentHeader> {
    if b.len() < SEGMENT_HEADER || &b[0..8] != MAGIC {
        return None;
    }
    if crc32fast::hash(&b[0..56]) != u32_at(b, 56) || u32_at(b, 12) != 0 || u32_at(b, 60) != 0 {
        return None;
    }
    Some(SegmentHeader {
        version: u32_at(b, 8),
        first_seq: u64_at(b, 16),
        prev_chain: hash_at(b, 24),
    })
}

/// The fields of a record header that the writer chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameMeta {
    pub(crate) seq: u64,
    pub(crate) time: i64,
    pub(crate) link: u64,
    pub(crate) kind: Kind,
    pub(crate) flags: u8,
    pub(crate) record_len: u32,
    pub(crate) address: Hash,
}

/// Fills in the header of one record of the current format: `frame` is the header's room
/// (`FRAME_HEADER` bytes) followed by the body; `record_hash` is the SHA-256 of the record
/// (the first `meta.record_len` bytes of the body). Returns the record's chain hash.
pub(crate) fn fill_frame(frame: &mut [u8], meta: &FrameMeta, prev_chain: &Hash, record_hash: &Hash) -> Hash {
    let body_len = (frame.len() - FRAME_HEADER) as u32;
    let (h, body) = frame.split_at_mut(FRAME_HEADER);
    h[0..4].copy_from_slice(&body_len.to_le_bytes());
    h[8..16].copy_from_slice(&meta.seq.to_le_bytes());
    h[16..24].copy_from_slice(&meta.time.to_le_bytes());
    h[24..32].copy_from_slice(&meta.link.to_le_bytes());
    h[32] = meta.kind as u8;
    h[33] = meta.flags;
    h[34..36].copy_from_slice(&[0u8; 2]);
    h[36..40].copy_from_slice(&meta.record_len.to_le_bytes());
    h[40..72].copy_from_slice(&meta.address);
    let chain = chain_link(FORMAT_VERSION, prev_chain, &h[8..72], record_hash);
    h[72..104].copy_from_slice(&chain);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[8..]);
    crc.update(body);
    h[4..8].copy_from_slice(&crc.finalize().to_le_bytes());
    chain
}

/// The chain hash of a record of format `version` (2, 3 or 4; see the layout above) from
/// the previous chain hash, the header's bytes 8..72 and the record's bytes.
pub(crate) fn chain_for(version: u32, prev: &Hash, fields: &[u8], record: &[u8]) -> Hash {
    if version == 2 {
        chain_hash_v2(prev, fields, record)
    } else {
        chain_link(version, prev, fields, &sha256(record))
    }
}

/// A link of version 3 or later: SHA-256(previous chain hash ‖ header fields ‖ SHA-256 of
/// the record), followed from version 4 by the version (u32 little endian).
pub(crate) fn chain_link(version: u32, prev: &Hash, fields: &[u8], record_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(fields);
    h.update(record_hash);
    if version >= 4 {
        h.update(version.to_le_bytes());
    }
    h.finalize().into()
}

/// A version-2 link: SHA-256(previous chain hash ‖ header fields ‖ record).
pub(crate) fn chain_hash_v2(prev: &Hash, fields: &[u8], body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(fields);
    h.update(body);
    h.finalize().into()
}

pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Lowercase hex of a digest.
pub fn to_hex(h: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(h.len() * 2);
    for b in h {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 0xf)]));
    }
    s
}

/// A record header read from disk, checked for length and checksum only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawFrame {
    pub(crate) meta_kind: u8,
    pub(crate) seq: u64,
    pub(crate) time: i64,
    pub(crate) link: u64,
    pub(crate) flags: u8,
    pub(crate) reserved: u16,
    pub(crate) record_len: u32,
    pub(crate) address: Hash,
    pub(crate) chain: Hash,
    pub(crate) body_len: u32,
}

/// Why a frame could not be read at some offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameFault {
    /// Header or body runs past the end of the data.
    Truncated,
    /// Declared length beyond the limit.
    TooLarge,
    /// CRC mismatch.
    Checksum,
}

/// Reads the frame at the start of `b`: `(frame, total length)`.
pub(crate) fn read_frame(b: &[u8], max_body: u32) -> Result<(RawFrame, usize), FrameFault> {
    if b.len() < FRAME_HEADER {
        return Err(FrameFault::Truncated);
    }
    let body_len = u32_at(b, 0);
    if body_len > max_body {
        return Err(FrameFault::TooLarge);
    }
    let total = FRAME_HEADER + body_len as usize;
    if b.len() < total {
        return Err(FrameFault::Truncated);
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&b[8..total]);
    if crc.finalize() != u32_at(b, 4) {
        return Err(FrameFault::Checksum);
    }
    Ok((
        RawFrame {
            body_len,
            seq: u64_at(b, 8),
            time: u64_at(b, 16) as i64,
            link: u64_at(b, 24),
            meta_kind: b[32],
            flags: b[33],
            reserved: u16::from_le_bytes([b[34], b[35]]),
            record_len: u32_at(b, 36),
            address: hash_at(b, 40),
            chain: hash_at(b, 72),
        },
        total,
    ))
}
