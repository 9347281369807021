//! # prudentia-audit
//!
//! The audit trail of prudentia decisions: every decision is logged with its full context so
//! that it can be explained, verified, replayed and compared.
//!
//! - **Records.** Each decision is stored with its [`DecisionRecord`](prudentia_core::DecisionRecord)
//!   (regime, forecasts, slate, target and sized weights, orders, statuses, timings, seed,
//!   policy id, feature version and a model hash over the serialized state of every stage)
//!   and its raw input snapshot, stored once by content address (SHA-256 of its bytes), so
//!   repeated data is not duplicated. Outcomes the pipeline learns from are stored after the
//!   decision they follow.
//! - **Store.** [`AuditLog`] keeps append-only segment files of length-prefixed, CRC-32
//!   checked records in a compact binary encoding (no float formatting on the append path;
//!   JSON stays available for export through [`snapshot_json`] and the SQLite store), each
//!   chained to its predecessor with SHA-256 over every stored byte (each link hashes the
//!   previous link, the record's header, which holds the snapshot's content address, and
//!   the SHA-256 of the record: the chain of a Merkle–Damgård hash, as in
//!   certificate-transparency-style append-only logs: changing, deleting, inserting or
//!   reordering any record breaks every later link). Time-range
//!   queries use an index kept in memory and persisted per sealed segment; a persisted index
//!   is checked against its segment on open and rebuilt and reported
//!   ([`AuditLog::index_rebuilds`]) when missing or inconsistent. A [`Durability`] policy
//!   chooses between an `fsync` per record, group commit, or none; under none, appends are
//!   pipelined: the caller checks and encodes a record and its snapshot, addresses the
//!   snapshot and queues them, and a writer thread hashes the records, chains and writes the
//!   queue in batches (see [`AuditLog`] on what an `Ok` means
//!   then). On open, a torn tail (an append cut short by a crash) is truncated and reported
//!   ([`AuditLog::torn_tail`]), never silently kept; any other damage is a typed error.
//!   [`AuditLog::verify`] re-reads everything and names the first bad record. A writer lock
//!   ([`LOCK_FILE`]) keeps a second writer out ([`AuditError::Locked`]); a lock left by a
//!   crashed writer is reported ([`AuditLog::stale_lock`]).
//! - **Replay.** [`replay`] re-runs a policy (a pipeline) on the recorded inputs of a range
//!   and proves the decisions bit-identical, or reports the first difference.
//! - **Policy diff.** [`policy_diff`] runs policy B on A's recorded inputs and reports
//!   per-decision slate, weight and order differences, turnover, and the PnL difference where
//!   outcomes were recorded.
//! - **SQLite** (feature `sqlite`, off by default): `SqliteLog` keeps the same records, with
//!   the same chain hashes and checks, in tables that analysts can query with SQL, pandas
//!   or DuckDB.
//! - **Pipeline.** [`AuditLog`] implements [`AuditSink`](prudentia_core::traits::AuditSink):
//!   the pipeline writes to it, with no code in the stages.
//!
//! The record format is described in the `frame` module source; it has a version number in
//! every segment header. This build writes [`FORMAT_VERSION`] 4 and reads, verifies and
//! appends to logs of the versions in [`READ_VERSIONS`] (2, 3 and 4). Version 3 chains the
//! record's SHA-256 instead of its bytes, so that a record's and its snapshot's digests can
//! be computed on the caller's thread or the writer's, apart from the sequential chain. Version 4 keeps that layout and writes fewer
//! bytes: the strings of each record and of each snapshot are interned (a name's first
//! occurrence is written out and later ones are a one-byte index, so the ~76 asset ids,
//! sector and stage names of a record of the main example cost one byte each after the
//! first), a snapshot's quote and indicator times are stored relative to its own time, its
//! optional fields sit behind one flag byte per quote or asset, and a lot size of 1 is a
//! flag bit; each link also hashes the version, so relabelling a segment breaks the chain.
//! Each record and snapshot still decodes on its own (the table belongs to the value), so
//! range queries read one record. Appends to a log of an earlier version start a segment of
//! the current version; a file of another version is refused with
//! [`AuditError::UnsupportedVersion`].
//!
//! ## Example
//! ```
//! use prudentia_audit::{replay, AuditLog, DecideFn, Durability, LogConfig};
//! use prudentia_core::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("prudentia-audit-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let config = LogConfig { durability: Durability::PerRecord, ..Default::default() };
//! let mut log = AuditLog::open(&dir, config.clone())?;
//!
//! // a toy policy: all in on the cheapest asset
//! let decide = |s: &MarketSnapshot| -> Result<Decision, CoreError> {
//!     let best = s.quotes.iter().min_by(|a, b| a.price.total_cmp(&b.price)).unwrap();
//!     let w = Weights::new(vec![best.asset.clone()], vec![1.0])?;
//!     Ok(Decision {
//!         time: s.time, status: DecisionStatus::Normal, regime: RegimeState::default(),
//!         forecasts: vec![], selected: vec![best.asset.clone()], target: w.clone(), sized: w, orders: vec![],
//!     })
//! };
//! for day in 0..3i64 {
//!     let time = Timestamp::from_nanos(day * Timestamp::NANOS_PER_DAY);
//!     let quote = |id: &str, price| Quote { asset: id.into(), time, price, volume: None, spread_bps: None };
//!     let snapshot = MarketSnapshot {
//!         time, quotes: vec![quote("A", 10.0 + day as f64), quote("B", 11.0)], indicators: vec![], assets: vec![],
//!     };
//!     let record = DecisionRecord {
//!         sequence: day as u64, policy_id: "cheapest".into(), model_hash: String::new(),
//!         feature_version: "1".into(), seed: 0, inputs_digest: String::new(),
//!         decision: decide(&snapshot)?, optimizer_status: None, timings_ns: vec![],
//!     };
//!     let ack = log.append(&snapshot, &record)?;
//!     assert_eq!(ack.durable_through, Some(ack.sequence)); // fsync per record
//! }
//! assert!(log.verify()?.is_ok());
//!
//! // replay the whole log: the same policy gives bit-identical decisions
//! let recorded = log.all()?;
//! let report = replay(&recorded, &mut DecideFn(decide));
//! assert!(report.is_identical());
//! assert_eq!(report.decisions, 3);
//! # drop(log); std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bin;
mod config;
mod encode;
mod error;
mod finite;
mod frame;
mod index;
mod lock;
mod log;
mod replay;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use config::{Durability, LogConfig, MAX_RECORD_BYTES};
pub use encode::{snapshot_bytes, snapshot_json};
pub use error::{AuditError, AuditResult, BadReason};
pub use frame::{to_hex, FORMAT_VERSION, READ_VERSIONS};
pub use lock::{StaleLock, LOCK_FILE};
pub use log::{
    verify_dir, Appended, AuditLog, BadRecord, IndexRebuild, IoFaults, LogHead, LoggedDecision, TornTail,
    VerifyReport,
};
pub use replay::{
    policy_diff, replay, DecideFn, DecisionDiff, PolicyDiff, ReplayDifference, ReplayPolicy, ReplayReport,
};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteLog;
