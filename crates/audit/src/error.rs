//! Errors of the audit crate.

use std::path::PathBuf;

use prudentia_core::CoreError;
use thiserror::Error;

/// Why an audit call failed. A failed append has acknowledged nothing new and changed no
/// acknowledged record; see each variant for what it means on disk.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Bad configuration or input (non-finite numbers, out-of-range settings, a size beyond
    /// its limit).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// An operating-system error (disk full, permission, …) while `action`. Appends that were
    /// not yet acknowledged when it happened were rolled back; acknowledged ones are kept.
    #[error("audit log I/O error while {action} ({}): {source}", path.display())]
    Io {
        /// What the log was doing.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A record (or its snapshot) could not be encoded or decoded.
    #[error("audit record encoding failed: {0}")]
    Encoding(#[from] serde_json::Error),
    /// A record, outcome or snapshot could not be encoded or decoded in the binary format of
    /// the file store.
    #[error("audit {what}: binary encoding: {message}")]
    Binary {
        /// What was being encoded or decoded.
        what: &'static str,
        /// What went wrong.
        message: String,
    },
    /// An encoded record is larger than the configured limit.
    #[error("audit record of {bytes} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// Its encoded size.
        bytes: u64,
        /// The limit (`LogConfig::max_record_bytes`).
        max: u64,
    },
    /// A record's time is earlier than the previous record's: records are kept in time order.
    #[error("audit record at {time_ns} ns is earlier than the previous record at {last_ns} ns")]
    OutOfOrder {
        /// The rejected record's time (ns since the epoch).
        time_ns: i64,
        /// The last record's time.
        last_ns: i64,
    },
    /// The record and the snapshot passed with it disagree (e.g. on the decision time).
    #[error("audit record does not match its snapshot: {0}")]
    Mismatch(&'static str),
    /// A file written by another (or a future) format version.
    #[error("{} has audit log format version {found}; this build reads version {expected}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// The log on disk is damaged or was tampered with at `sequence` (not a torn tail, which
    /// is truncated and reported on open). Run `verify` for the full report.
    #[error("audit log corrupt at record {sequence} ({} offset {offset}): {reason}", path.display())]
    Corrupt {
        /// The first bad record's sequence number (the one expected at that position).
        sequence: u64,
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the bad record in the file.
        offset: u64,
        /// What is wrong.
        reason: BadReason,
    },
    /// Another writer holds the log (see the `lock` module docs): two writers never append to
    /// one log. Nothing was changed.
    #[error("audit log is locked by another writer ({holder}; lock file {})", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote in it (`pid <n>`), possibly empty.
        holder: String,
    },
    /// The log is closed for writing after a failure that could not be rolled back
    /// (the truncation of a partial write failed). Reopen it to recover.
    #[error("audit log is poisoned after an unrecoverable write failure; reopen it")]
    Poisoned,
    /// No decision precedes an outcome, or a referenced record does not exist.
    #[error("audit log has no record {sequence}")]
    NotFound {
        /// The sequence number asked for.
        sequence: u64,
    },
    /// An error of the SQLite store.
    #[cfg(feature = "sqlite")]
    #[error("sqlite audit store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// What is wrong with the first bad record found by `verify` or on open.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum BadReason {
    /// The segment header is missing, truncated, or fails its checksum or magic number.
    BadSegmentHeader,
    /// The segment header says another first sequence number or chain start than the
    /// previous segment ends with (a deleted, inserted or reordered segment).
    SegmentMismatch,
    /// The record's header or body runs past the end of the file.
    Truncated,
    /// The record's declared length is beyond the limit.
    TooLarge,
    /// The CRC-32 of the record does not match (accidental corruption or an edit).
    Checksum,
    /// The record has another sequence number than its position (deleted, duplicated,
    /// inserted or reordered records).
    Sequence {
        /// The sequence number found.
        found: u64,
    },
    /// The record is earlier in time than its predecessor.
    TimeOrder,
    /// The SHA-256 chain hash does not match the record and its predecessor (tampering).
    Chain,
    /// The record's fields are inconsistent (unknown kind, bad lengths, a snapshot that does
    /// not hash to its address, a reference to a missing snapshot or decision, a body that
    /// does not decode).
    Malformed(String),
    /// The log on disk ends before the open log's last acknowledged record (records were
    /// removed from the end).
    MissingTail,
}

impl std::fmt::Display for BadReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadReason::BadSegmentHeader => f.write_str("bad segment header"),
            BadReason::SegmentMismatch => f.write_str("segment does not continue the previous one"),
            BadReason::Truncated => f.write_str("truncated record"),
            BadReason::TooLarge => f.write_str("declared length beyond the limit"),
            BadReason::Checksum => f.write_str("checksum mismatch"),
            BadReason::Sequence { found } => write!(f, "sequence number {found} out of place"),
            BadReason::TimeOrder => f.write_str("earlier than the previous record"),
            BadReason::Chain => f.write_str("chain hash mismatch"),
            BadReason::Malformed(m) => write!(f, "malformed record: {m}"),
            BadReason::MissingTail => f.write_str("records missing at the end"),
        }
    }
}

/// Result alias.
pub type AuditResult<T> = Result<T, AuditError>;

pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> AuditError {
    let path = path.into();
    move |source| AuditError::Io { action, path, source }
}
