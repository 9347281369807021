//! Settings of the audit log.

use std::time::Duration;

use prudentia_core::CoreError;

use crate::error::{AuditError, AuditResult};
use serde::{Deserialize, Serialize};

/// When appended records become durable (reach stable storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Durability {
    /// Write and `fsync` (data sync) every record before acknowledging it: slowest, no
    /// acknowledged record is ever lost.
    PerRecord,
    /// Buffer records and write + `fsync` them together once `max_records` are pending or the
    /// oldest pending one is older than `max_delay` (checked at each append; call
    /// [`AuditLog::sync`](crate::AuditLog::sync) when idle or at shutdown). A record is
    /// acknowledged only when its batch is synced ([`Appended::durable_through`](crate::Appended)).
    GroupCommit {
        /// Records per batch, at least 1.
        max_records: u32,
        /// Longest time a record waits for its batch.
        max_delay: Duration,
    },
    /// Write records to the operating system in large batches and never `fsync` except on
    /// [`AuditLog::sync`](crate::AuditLog::sync): fastest; a crash of the machine (not only
    /// of the process) can lose records that were not synced.
    None,
}

impl Default for Durability {
    fn default() -> Self {
        Durability::GroupCommit {
            max_records: 64,
            max_delay: Duration::from_millis(10),
        }
    }
}

/// Settings of an [`AuditLog`](crate::AuditLog). Validated on deserialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct LogConfig {
    /// Durability policy. Default: group commit of 64 records or 10 ms.
    pub durability: Durability,
    /// A new segment file is started once the current one reaches this size, in bytes.
    /// Default 64 MiB; at least 4 KiB.
    pub segment_max_bytes: u64,
    /// Largest encoded record (decision record plus its snapshot), in bytes. Default 16 MiB;
    /// at most [`MAX_RECORD_BYTES`]. Larger records are refused on append and a larger
    /// declared length on disk is reported as corruption (nothing is allocated from it).
    pub max_record_bytes: u32,
}

/// Hard upper bound of [`LogConfig::max_record_bytes`] (1 GiB).
pub const MAX_RECORD_BYTES: u32 = 1 << 30;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            segment_max_bytes: 64 << 20,
            max_record_bytes: 16 << 20,
        }
    }
}

prudentia_core::checked_serde!(LogConfig, LogConfig::validate);

impl LogConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        if let Durability::GroupCommit { max_records, .. } = self.durability {
            if max_records == 0 {
                return Err(CoreError::OutOfRange {
                    field: "durability.max_records",
                    value: 0.0,
                    expected: ">= 1",
                });
            }
        }
        if self.segment_max_bytes < 4096 {
            return Err(CoreError::OutOfRange {
                field: "segment_max_bytes",
                value: self.segment_max_bytes as f64,
                expected: ">= 4096",
            });
        }
        if self.max_record_bytes == 0 {
            return Err(CoreError::OutOfRange {
                field: "max_record_bytes",
                value: 0.0,
                expected: ">= 1",
            });
        }
        if self.max_record_bytes > MAX_RECORD_BYTES {
            return Err(CoreError::TooLarge {
                field: "max_record_bytes",
                value: u128::from(self.max_record_bytes),
                max: u128::from(MAX_RECORD_BYTES),
            });
        }
        Ok(())
    }
}

impl LogConfig {
    /// Fails with [`AuditError::RecordTooLarge`] when an encoded record of `len` bytes exceeds
    /// `max_record_bytes` (both stores apply it before writing).
    pub(crate) fn check_record_size(&self, len: usize) -> AuditResult<()> {
        if len > self.max_record_bytes as usize {
            Err(AuditError::RecordTooLarge {
                bytes: len as u64,
                max: u64::from(self.max_record_bytes),
            })
        } else {
            Ok(())
        }
    }
}

/// Fails with [`AuditError::OutOfOrder`] when `time` is before the last record's time (both
/// stores keep records in time order).
pub(crate) fn check_order(last_time: Option<i64>, time: i64) -> AuditResult<()> {
    match last_time {
        Some(last) if time < last => Err(AuditError::OutOfOrder {
            time_ns: time,
            last_ns: last,
        }),
        _ => Ok(()),
    }
}
