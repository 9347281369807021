//! The SQLite store passes the default store's crash, tamper and replay checks
//! (`cargo test -p prudentia-audit --features sqlite`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use prudentia_audit::*;
use prudentia_core::*;
use rusqlite::{params, Connection};

use crate::common::*;

fn filled(path: &std::path::Path, days: u64, durability: Durability) -> SqliteLog {
    let mut log = SqliteLog::open(path, config(durability)).unwrap();
    for k in 0..days {
        let s = snapshot(k / 2, 3); // each snapshot used twice: stored once
        let mut r = record(k, &s);
        r.decision.time = s.time;
        let _ = log.append(&s, &r).unwrap();
        let _ = log.append_outcome(&outcome(k, &s)).unwrap();
    }
    let _ = log.sync().unwrap();
    log
}

#[test]
fn sqlite_round_trip_replay_and_same_chain_as_the_file_store() {
    let dir = TempDir::new("sqlite-rt");
    let db = dir.path().join("audit.db");
    let log = filled(&db, 20, Durability::PerRecord);
    let head = log.head();
    let all = log.all().unwrap();
    assert_eq!(all.len(), 20);
    drop(log);
    let log = SqliteLog::open(&db, config(Durability::PerRecord)).unwrap();
    assert_eq!(log.head(), head);
    assert!(log.verify().unwrap().is_ok());
    assert_eq!(log.all().unwrap(), all);
    assert_eq!(log.range(day(2), day(4)).unwrap().len(), 4);
    let snaps: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(snaps, 10);
    // the file store gives the same chain for the same records
    let fdir = TempDir::new("sqlite-file");
    let mut f = AuditLog::open(fdir.path(), config(Durability::None)).unwrap();
    for k in 0..20u64 {
        let s = snapshot(k / 2, 3);
        let _ = f.append(&s, &record(k, &s)).unwrap();
        let _ = f.append_outcome(&outcome(k, &s)).unwrap();
    }
    assert_eq!(f.head(), head);
    // replay from the SQLite records
    let r = replay(
        &all,
        &mut DecideFn(|s: &MarketSnapshot| Ok::<_, CoreError>(decide_cheapest(s, 3, 0.0))),
    );
    assert!(r.is_identical(), "{r:?}");
    // analysts' SQL over the JSON bodies
    let n: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM records WHERE kind = 'decision' AND json_extract(body, '$.policy_id') = 'test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 20);
}

#[test]
fn sqlite_tampering_is_detected_and_names_the_record() {
    let dir = TempDir::new("sqlite-tamper");
    let db = dir.path().join("audit.db");
    drop(filled(&db, 30, Durability::None));
    let pristine = std::fs::read(&db).unwrap();
    let restore = || std::fs::write(&db, &pristine).unwrap();
    let first_bad = || verify_sqlite(&db).first_bad.map(|b| b.sequence);
    let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
        Connection::open(&db).unwrap().execute(sql, p).unwrap();
    };
    assert_eq!(first_bad(), None);
    // every single-byte change of the body of sampled records (a byte flip within ASCII)
    for seq in [0i64, 17, 59] {
        let body: String = Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT body FROM records WHERE sequence = ?1",
                params![seq],
                |r| r.get(0),
            )
            .unwrap();
        for i in 0..body.len() {
            let mut b = body.clone().into_bytes();
            b[i] = if b[i] == b'x' { b'y' } else { b'x' };
            let t = String::from_utf8(b).unwrap();
            exec("UPDATE records SET body = ?1 WHERE sequence = ?2", &[&t, &seq]);
            assert_eq!(first_bad(), Some(seq as u64), "byte {i} of record {seq}");
        }
        exec("UPDATE records SET body = ?1 WHERE sequence = ?2", &[&body, &seq]);
    }
    // a changed snapshot, time, chain hash
    exec(
        "UPDATE snapshots SET snapshot = snapshot || ' ' WHERE rowid = 3",
        &[],
    );
    assert_eq!(first_bad(), Some(8)); // the third snapshot, first used by decision 4 = record 8
    restore();
    exec(
        "UPDATE records SET time_ns = time_ns + 1 WHERE sequence = 10",
        &[],
    );
    assert_eq!(first_bad(), Some(10));
    restore();
    exec(
        "UPDATE records SET chain_hash = replace(chain_hash, 'a', 'b') WHERE sequence = 12",
        &[],
    );
    assert_eq!(first_bad(), Some(12));
    restore();
    // deleted, duplicated (renumbered) and swapped records
    exec("DELETE FROM records WHERE sequence = 20", &[]);
    assert_eq!(first_bad(), Some(20));
    restore();
    exec(
        "UPDATE records SET sequence = sequence + 1000 WHERE sequence > 20",
        &[],
    );
    exec(
        "UPDATE records SET sequence = sequence - 999 WHERE sequence > 1000",
        &[],
    );
    exec(
        "INSERT INTO records SELECT 21, time_ns, kind, decision_sequence, snapshot_address, body, chain_hash FROM records WHERE sequence = 20",
        &[],
    );
    assert_eq!(first_bad(), Some(21));
    restore();
    exec("UPDATE records SET sequence = -1 WHERE sequence = 30", &[]);
    exec("UPDATE records SET sequence = 30 WHERE sequence = 32", &[]);
    exec("UPDATE records SET sequence = 32 WHERE sequence = -1", &[]);
    assert_eq!(first_bad(), Some(30));
    restore();
    // another format version
    exec("UPDATE meta SET value = '99' WHERE key = 'format_version'", &[]);
    assert!(matches!(
        SqliteLog::open(&db, config(Durability::None)),
        Err(AuditError::UnsupportedVersion { found: 99, .. })
    ));
}

fn verify_sqlite(db: &std::path::Path) -> VerifyReport {
    match SqliteLog::open(db, config(Durability::None)) {
        Ok(l) => l.verify().unwrap(),
        Err(AuditError::Corrupt {
            sequence,
            path,
            offset,
            reason,
        }) => VerifyReport {
            records: sequence,
            decisions: 0,
            bytes: 0,
            segments: 1,
            head: None,
            first_bad: Some(BadRecord {
                sequence,
                path,
                offset,
                reason,
            }),
        },
        Err(e) => panic!("{e}"),
    }
}

const CHILD_ENV: &str = "PRUDENTIA_AUDIT_SQLITE_CHILD";

#[test]
fn sqlite_killed_appenders_lose_no_acknowledged_record() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        let mut log = SqliteLog::open(
            &db,
            config(Durability::GroupCommit {
                max_records: 4,
                max_delay: Duration::from_millis(2),
            }),
        )
        .unwrap();
        let out = std::io::stdout();
        let mut out = out.lock();
        let mut printed = log.durable_through().map_or(0, |d| d + 1);
        loop {
            let k = log.len();
            let s = snapshot(k / 3, 4);
            let _ = log.append(&s, &record(k, &s)).unwrap();
            if let Some(d) = log.durable_through() {
                while printed <= d {
                    writeln!(out, "ack {printed}").unwrap();
                    printed += 1;
                }
                out.flush().unwrap();
            }
        }
    }
    let exe = std::env::current_exe().unwrap();
    let dir = TempDir::new("sqlite-crash");
    let db = dir.path().join("audit.db");
    let mut seed = 7u64;
    let mut max_acked = None;
    for _ in 0..40 {
        let mut ch = Command::new(&exe)
            .args([
                "sqlite::sqlite_killed_appenders_lose_no_acknowledged_record",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = ch.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ack ").and_then(|n| n.parse::<u64>().ok()))
                .max()
        });
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(10 + (seed >> 33) % 60));
        ch.kill().unwrap();
        let _ = ch.wait().unwrap();
        if let Some(a) = reader.join().unwrap() {
            max_acked = Some(max_acked.map_or(a, |m: u64| m.max(a)));
        }
        let log = SqliteLog::open(&db, config(Durability::PerRecord)).unwrap();
        if let Some(m) = max_acked {
            assert!(log.len() > m, "acknowledged record {m} lost");
        }
        assert!(log.verify().unwrap().is_ok());
        assert_eq!(log.all().unwrap().len() as u64, log.len());
    }
}
