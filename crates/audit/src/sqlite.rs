//! The same records in SQLite tables (feature `sqlite`, rusqlite with its bundled SQLite).
//!
//! ```sql
//! meta(key TEXT PRIMARY KEY, value TEXT)             -- format_version
//! snapshots(address TEXT PRIMARY KEY, snapshot TEXT) -- lossless snapshot JSON by SHA-256
//! records(sequence INTEGER PRIMARY KEY, time_ns INTEGER, kind TEXT ('decision'|'outcome'),
//!         decision_sequence INTEGER, snapshot_address TEXT, body TEXT, chain_hash TEXT)
//! ```
//! `body` is the decision record's (or outcome's) JSON, so analysts can query it with SQL
//! (`json_extract(body, '$.decision.sized')`), pandas or DuckDB; `snapshot` is the lossless
//! snapshot JSON ([`snapshot_json`](crate::snapshot_json)). Chain hashes and snapshot
//! addresses are computed over the same fields and the same binary encodings as in the file
//! store, so the same records give the same chain. A database keeps the format version it
//! was created with (`meta.format_version`, 2, 3 or 4, which differ in the chain link and
//! the binary encodings as in the file store) for all its records. The stored JSON must be exactly the
//! canonical JSON of the value it decodes to (checked on open and read), so any edit of a
//! body, even one that keeps its meaning, is found.
//! Crash safety is SQLite's (write-ahead log); a record is acknowledged when its
//! transaction commits.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use prudentia_core::traits::AuditSink;
use prudentia_core::{DecisionRecord, MarketSnapshot, Outcome, Role, RoleError, RoleResult, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

use crate::bin;
use crate::config::{Durability, LogConfig};
use crate::encode::{decode_snapshot_json, encode_snapshot_for, encode_snapshot_json};
use crate::error::{AuditError, AuditResult, BadReason};
use crate::frame::{chain_for, readable, sha256, to_hex, Hash, Kind, FLAG_INLINE, FORMAT_VERSION, NO_LINK};
use crate::log::{bin_error, Appended, BadRecord, LogHead, LoggedDecision, VerifyReport};

/// Records per transaction under [`Durability::None`].
const NONE_BATCH: u64 = 1024;

fn fields(
    seq: u64,
    time: i64,
    link: u64,
    kind: Kind,
    flags: u8,
    record_len: u32,
    address: &Hash,
) -> [u8; 64] {
    let mut f = [0u8; 64];
    f[0..8].copy_from_slice(&seq.to_le_bytes());
    f[8..16].copy_from_slice(&time.to_le_bytes());
    f[16..24].copy_from_slice(&link.to_le_bytes());
    f[24] = kind as u8;
    f[25] = flags;
    f[28..32].copy_from_slice(&record_len.to_le_bytes());
    f[32..64].copy_from_slice(address);
    f
}

/// Decodes a stored JSON body, checks that it is the canonical JSON of its value, and
/// returns the value with its binary encoding (what the chain covers).
fn canonical<T: serde::Serialize + serde::de::DeserializeOwned>(
    version: u32,
    json: &str,
) -> Result<(T, Vec<u8>), String> {
    let v: T = serde_json::from_str(json).map_err(|e| format!("body does not decode: {e}"))?;
    if serde_json::to_string(&v).map_err(|e| e.to_string())? != json {
        return Err("body is not the canonical JSON of its value".into());
    }
    let mut b = Vec::new();
    bin::to_writer_for(version, &v, &mut b, true).map_err(|e| e.to_string())?;
    Ok((v, b))
}

/// Decodes a stored snapshot JSON, checks it is canonical, and returns its binary encoding.
fn canonical_snapshot(version: u32, json: &str) -> Result<(MarketSnapshot, Vec<u8>), String> {
    let v = decode_snapshot_json(json.as_bytes()).map_err(|e| format!("snapshot does not decode: {e}"))?;
    let mut again = Vec::new();
    encode_snapshot_json(&v, &mut again).map_err(|e| e.to_string())?;
    if again != json.as_bytes() {
        return Err("snapshot is not the canonical JSON of its value".into());
    }
    let mut b = Vec::new();
    encode_snapshot_for(version, &v, &mut b);
    Ok((v, b))
}

fn from_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(h)
}

/// The audit log in an SQLite database file. Same checks, guarantees and queries as
/// [`AuditLog`](crate::AuditLog) (torn tails are SQLite's to roll back).
pub struct SqliteLog {
    conn: Connection,
    path: PathBuf,
    config: LogConfig,
    head: Hash,
    len: u64,
    last_time: Option<i64>,
    last_decision: Option<u64>,
    addresses: HashSet<Hash>,
    /// Records in the open transaction.
    pending: u64,
    pending_since: Option<Instant>,
    pending_addresses: Vec<Hash>,
    committed: (u64, Hash, Option<i64>, Option<u64>),
    synced: u64,
    /// The database's format version (how its chain links are computed).
    version: u32,
}

impl std::fmt::Debug for SqliteLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLog")
            .field("path", &self.path)
            .field("records", &self.len)
            .finish()
    }
}

impl SqliteLog {
    /// Opens (or creates) the database at `path` and checks every record (as
    /// [`SqliteLog::verify`]); damage is an [`AuditError::Corrupt`].
    pub fn open(path: impl AsRef<Path>, config: LogConfig) -> AuditResult<Self> {
        config.validate()?;
        let path = path.as_ref().to_owned();
        let conn = Connection::open(&path)?;
        let sync = match config.durability {
            Durability::None => "OFF",
            _ => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS snapshots (address TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS records (
                 sequence INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, kind TEXT NOT NULL,
                 decision_sequence INTEGER, snapshot_address TEXT, body TEXT NOT NULL,
                 chain_hash TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS records_time ON records(time_ns);
             CREATE INDEX IF NOT EXISTS records_outcomes ON records(decision_sequence);"
        ))?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'format_version'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let version = match version {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('format_version', ?1)",
                    params![FORMAT_VERSION.to_string()],
                )?;
                FORMAT_VERSION
            }
            Some(v) => {
                let found = v.parse::<u32>().unwrap_or(u32::MAX);
                if !readable(found) {
                    return Err(AuditError::UnsupportedVersion {
                        path,
                        found,
                        expected: FORMAT_VERSION,
                    });
                }
                found
            }
        };
        let mut log = Self {
            conn,
            path,
            config,
            head: [0; 32],
            len: 0,
            last_time: None,
            last_decision: None,
            addresses: HashSet::new(),
            pending: 0,
            pending_since: None,
            pending_addresses: Vec::new(),
            committed: (0, [0; 32], None, None),
            synced: 0,
            version,
        };
        let (report, state) = log.scan()?;
        if let Some(bad) = report.first_bad {
            return Err(AuditError::Corrupt {
                sequence: bad.sequence,
                path: bad.path,
                offset: bad.offset,
                reason: bad.reason,
            });
        }
        log.len = report.records;
        log.head = state.0;
        log.last_time = state.1;
        log.last_decision = state.2;
        log.addresses = state.3;
        log.committed = (log.len, log.head, log.last_time, log.last_decision);
        log.synced = log.len;
        Ok(log)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Number of records.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The last record's sequence number and chain hash.
    pub fn head(&self) -> Option<LogHead> {
        self.len.checked_sub(1).map(|s| LogHead {
            sequence: s,
            chain_hash: to_hex(&self.head),
        })
    }
    /// Every record up to this sequence number is committed (acknowledged).
    pub fn durable_through(&self) -> Option<u64> {
        self.synced.checked_sub(1)
    }

    #[allow(clippy::type_complexity)]
    fn scan(&self) -> AuditResult<(VerifyReport, (Hash, Option<i64>, Option<u64>, HashSet<Hash>))> {
        let mut stmt = self.conn.prepare(
            "SELECT sequence, time_ns, kind, decision_sequence, snapshot_address, body, chain_hash
             FROM records ORDER BY sequence",
        )?;
        let mut snap_stmt = self
            .conn
            .prepare("SELECT snapshot FROM snapshots WHERE address = ?1")?;
        let mut rows = stmt.query([])?;
        let (mut seq, mut chain, mut last_time, mut last_decision) =
            (0u64, [0u8; 32], None::<i64>, None::<u64>);
        let mut addresses = HashSet::new();
        let (mut decisions, mut bytes) = (0u64, 0u64);
        let mut first_bad = None;
        while let Some(row) = rows.next()? {
            let found: i64 = row.get(0)?;
            let time: i64 = row.get(1)?;
            let kind: String = row.get(2)?;
            let link: Option<i64> = row.get(3)?;
            let address: Option<String> = row.get(4)?;
            let body: String = row.get(5)?;
            let stored_chain: String = row.get(6)?;
            bytes += body.len() as u64;
            let bad = |reason| BadRecord {
                sequence: seq,
                path: self.path.clone(),
                offset: 0,
                reason,
            };
            let malformed = |m: &str| bad(BadReason::Malformed(m.to_owned()));
            if found != seq as i64 {
                first_bad = Some(bad(BadReason::Sequence { found: found as u64 }));
                break;
            }
            if last_time.is_some_and(|t| time < t) {
                first_bad = Some(bad(BadReason::TimeOrder));
                break;
            }
            let (kind, flags, addr, link) = match (kind.as_str(), address.as_deref().map(from_hex), link) {
                ("decision", Some(Some(a)), None) => {
                    let inline = !addresses.contains(&a);
                    if inline {
                        let snap: Option<String> = snap_stmt
                            .query_row(params![to_hex(&a)], |r| r.get(0))
                            .optional()?;
                        let ok = snap
                            .as_deref()
                            .map(|s| canonical_snapshot(self.version, s))
                            .is_some_and(|r| r.is_ok_and(|(_, b)| sha256(&b) == a));
                        match snap {
                            Some(s) if ok => bytes += s.len() as u64,
                            _ => {
                                first_bad = Some(malformed("snapshot missing or not matching its address"));
                                break;
                            }
                        }
                        addresses.insert(a);
                    }
                    (Kind::Decision, if inline { FLAG_INLINE } else { 0 }, a, NO_LINK)
                }
                ("outcome", None, l) => {
                    let l = l.map_or(NO_LINK, |v| v as u64);
                    if l != last_decision.unwrap_or(NO_LINK) {
                        first_bad = Some(malformed("outcome not linked to the last decision"));
                        break;
                    }
                    (Kind::Outcome, 0, [0; 32], l)
                }
                _ => {
                    first_bad = Some(malformed("bad kind, address or link"));
                    break;
                }
            };
            let encoded = match kind {
                Kind::Decision => canonical::<DecisionRecord>(self.version, &body).map(|(_, b)| b),
                Kind::Outcome => canonical::<Outcome>(self.version, &body).map(|(_, b)| b),
            };
            let encoded = match encoded {
                Ok(b) => b,
                Err(m) => {
                    first_bad = Some(malformed(&m));
                    break;
                }
            };
            let f = fields(seq, time, link, kind, flags, encoded.len() as u32, &addr);
            let c = chain_for(self.version, &chain, &f, &encoded);
            if Some(c) != from_hex(&stored_chain) {
                first_bad = Some(bad(BadReason::Chain));
                break;
            }
            if kind == Kind::Decision {
                decisions += 1;
                last_decision = Some(seq);
            }
            chain = c;
            last_time = Some(time);
            seq += 1;
        }
        let report = VerifyReport {
            records: seq,
            decisions,
            bytes,
            segments: 1,
            head: seq.checked_sub(1).map(|s| LogHead {
                sequence: s,
                chain_hash: to_hex(&chain),
            }),
            first_bad,
        };
        Ok((report, (chain, last_time, last_decision, addresses)))
    }

    /// Re-reads and checks every record (sequence, time order, SHA-256 chain, snapshot
    /// addresses) and that the database still holds every committed record of this log.
    pub fn verify(&self) -> AuditResult<VerifyReport> {
        let (mut report, (chain, ..)) = self.scan()?;
        let expected = self.committed.0;
        if report.first_bad.is_none() && expected > 0 {
            if report.records < expected {
                report.first_bad = Some(BadRecord {
                    sequence: report.records,
                    path: self.path.clone(),
                    offset: 0,
                    reason: BadReason::MissingTail,
                });
            } else if report.records == expected && chain != self.committed.1 {
                report.first_bad = Some(BadRecord {
                    sequence: expected - 1,
                    path: self.path.clone(),
                    offset: 0,
                    reason: BadReason::Chain,
                });
            }
        }
        Ok(report)
    }

    /// Appends a decision record with its raw snapshot (same checks as
    /// [`AuditLog::append`](crate::AuditLog::append)).
    pub fn append(&mut self, snapshot: &MarketSnapshot, record: &DecisionRecord) -> AuditResult<Appended> {
        if record.decision.time != snapshot.time {
            return Err(AuditError::Mismatch("decision time differs from snapshot time"));
        }
        if !crate::replay::weights_consistent(&record.decision) {
            return Err(AuditError::Mismatch("weights have mismatched lengths"));
        }
        let time = snapshot.time.as_nanos();
        crate::config::check_order(self.last_time, time)?;
        let mut encoded = Vec::new();
        bin::to_writer_for(self.version, record, &mut encoded, true)
            .map_err(|e| bin_error(e, "decision record"))?;
        let body = serde_json::to_string(record)?;
        let mut snap = Vec::new();
        encode_snapshot_for(self.version, snapshot, &mut snap);
        let address = sha256(&snap);
        let inline = !self.addresses.contains(&address);
        let size = encoded.len() + if inline { snap.len() } else { 0 };
        self.config.check_record_size(size)?;
        let snap = if inline {
            let mut json = Vec::new();
            encode_snapshot_json(snapshot, &mut json)?;
            Some(
                String::from_utf8(json)
                    .map_err(|_| AuditError::Mismatch("snapshot encoding is not UTF-8"))?,
            )
        } else {
            None
        };
        self.insert(
            Kind::Decision,
            time,
            NO_LINK,
            inline,
            address,
            (&body, &encoded),
            snap.as_deref(),
        )
    }

    /// Appends an outcome learned after the last decision.
    pub fn append_outcome(&mut self, outcome: &Outcome) -> AuditResult<Appended> {
        let mut encoded = Vec::new();
        bin::to_writer_for(self.version, outcome, &mut encoded, true).map_err(|e| bin_error(e, "outcome"))?;
        let body = serde_json::to_string(outcome)?;
        self.config.check_record_size(encoded.len())?;
        let time = self.last_time.unwrap_or(i64::MIN);
        let link = self.last_decision.unwrap_or(NO_LINK);
        self.insert(Kind::Outcome, time, link, false, [0; 32], (&body, &encoded), None)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        kind: Kind,
        time: i64,
        link: u64,
        inline: bool,
        address: Hash,
        (body, encoded): (&str, &[u8]),
        snapshot: Option<&str>,
    ) -> AuditResult<Appended> {
        let seq = self.len;
        let flags = if inline { FLAG_INLINE } else { 0 };
        let f = fields(seq, time, link, kind, flags, encoded.len() as u32, &address);
        let chain = chain_for(self.version, &self.head, &f, encoded);
        if self.pending == 0 {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.pending_since = Some(Instant::now());
        }
        let res = (|| -> rusqlite::Result<()> {
            if let Some(s) = snapshot {
                self.conn.execute(
                    "INSERT INTO snapshots(address, snapshot) VALUES (?1, ?2)",
                    params![to_hex(&address), s],
                )?;
            }
            let (kind_s, addr, link_v) = match kind {
                Kind::Decision => ("decision", Some(to_hex(&address)), None),
                Kind::Outcome => ("outcome", None, (link != NO_LINK).then_some(link as i64)),
            };
            self.conn.execute(
                "INSERT INTO records(sequence, time_ns, kind, decision_sequence, snapshot_address, body, chain_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![seq as i64, time, kind_s, link_v, addr, body, to_hex(&chain)],
            )?;
            Ok(())
        })();
        if let Err(e) = res {
            self.rollback();
            return Err(e.into());
        }
        self.pending += 1;
        self.len += 1;
        self.head = chain;
        self.last_time = Some(time);
        if kind == Kind::Decision {
            self.last_decision = Some(seq);
            if inline {
                self.addresses.insert(address);
                self.pending_addresses.push(address);
            }
        }
        let commit = match self.config.durability {
            Durability::PerRecord => true,
            Durability::GroupCommit {
                max_records,
                max_delay,
            } => {
                self.pending >= u64::from(max_records)
                    || self.pending_since.is_some_and(|t| t.elapsed() >= max_delay)
            }
            Durability::None => self.pending >= NONE_BATCH,
        };
        if commit {
            self.commit()?;
        }
        Ok(Appended {
            sequence: seq,
            durable_through: self.durable_through(),
        })
    }

    fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
        let (len, head, t, d) = self.committed;
        self.len = len;
        self.head = head;
        self.last_time = t;
        self.last_decision = d;
        for a in self.pending_addresses.drain(..) {
            self.addresses.remove(&a);
        }
        self.pending = 0;
        self.pending_since = None;
    }

    fn commit(&mut self) -> AuditResult<()> {
        if self.pending == 0 {
            return Ok(());
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            self.rollback();
            return Err(e.into());
        }
        self.pending = 0;
        self.pending_since = None;
        self.pending_addresses.clear();
        self.committed = (self.len, self.head, self.last_time, self.last_decision);
        self.synced = self.len;
        Ok(())
    }

    /// Commits everything pending; returns the last durable sequence number.
    pub fn sync(&mut self) -> AuditResult<Option<u64>> {
        self.commit()?;
        Ok(self.durable_through())
    }

    fn decode(&self, seq: i64, time: i64, address: &str, body: &str) -> AuditResult<LoggedDecision> {
        let (record, _) =
            canonical::<DecisionRecord>(self.version, body).map_err(|m| AuditError::Binary {
                what: "stored decision record",
                message: m,
            })?;
        let snap: String = self
            .conn
            .query_row(
                "SELECT snapshot FROM snapshots WHERE address = ?1",
                params![address],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(AuditError::NotFound { sequence: seq as u64 })?;
        let (snapshot, snap_bin) =
            canonical_snapshot(self.version, &snap).map_err(|m| AuditError::Binary {
                what: "stored snapshot",
                message: m,
            })?;
        if Some(sha256(&snap_bin)) != from_hex(address) {
            return Err(AuditError::Mismatch(
                "stored snapshot does not hash to its address",
            ));
        }
        if record.decision.time.as_nanos() != time || snapshot.time.as_nanos() != time {
            return Err(AuditError::Mismatch("stored decision time differs from its row"));
        }
        let chain: String = self.conn.query_row(
            "SELECT chain_hash FROM records WHERE sequence = ?1",
            params![seq],
            |r| r.get(0),
        )?;
        let mut outcomes = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT body FROM records WHERE kind = 'outcome' AND decision_sequence = ?1 ORDER BY sequence",
        )?;
        let mut rows = stmt.query(params![seq])?;
        while let Some(r) = rows.next()? {
            let b: String = r.get(0)?;
            outcomes.push(serde_json::from_str::<Outcome>(&b)?);
        }
        let mut d = LoggedDecision {
            sequence: seq as u64,
            chain_hash: chain,
            snapshot_address: address.to_owned(),
            record,
            snapshot,
            outcomes,
        };
        d.check()?;
        Ok(d)
    }

    /// The decisions with `from <= time < to`, in order, each with its snapshot and outcomes.
    pub fn range(&self, from: Timestamp, to: Timestamp) -> AuditResult<Vec<LoggedDecision>> {
        let mut stmt = self.conn.prepare(
            "SELECT sequence, time_ns, snapshot_address, body FROM records
             WHERE kind = 'decision' AND time_ns >= ?1 AND time_ns < ?2 ORDER BY sequence",
        )?;
        let mut rows = stmt.query(params![from.as_nanos(), to.as_nanos()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let time: i64 = r.get(1)?;
            let address: Option<String> = r.get(2)?;
            let body: String = r.get(3)?;
            let address = address.ok_or(AuditError::NotFound { sequence: seq as u64 })?;
            out.push(self.decode(seq, time, &address, &body)?);
        }
        Ok(out)
    }

    /// Every decision in the log.
    pub fn all(&self) -> AuditResult<Vec<LoggedDecision>> {
        let mut v = self.range(Timestamp::from_nanos(i64::MIN), Timestamp::from_nanos(i64::MAX))?;
        let mut tail = self.range_at_max()?;
        v.append(&mut tail);
        Ok(v)
    }

    fn range_at_max(&self) -> AuditResult<Vec<LoggedDecision>> {
        let mut stmt = self.conn.prepare(
            "SELECT sequence, time_ns, snapshot_address, body FROM records
             WHERE kind = 'decision' AND time_ns = ?1 ORDER BY sequence",
        )?;
        let mut rows = stmt.query(params![i64::MAX])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let address: Option<String> = r.get(2)?;
            let body: String = r.get(3)?;
            let address = address.ok_or(AuditError::NotFound { sequence: seq as u64 })?;
            out.push(self.decode(seq, i64::MAX, &address, &body)?);
        }
        Ok(out)
    }
}

impl Drop for SqliteLog {
    fn drop(&mut self) {
        let _ = self.commit();
    }
}

impl AuditSink for SqliteLog {
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
