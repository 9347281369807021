//! A batching InfluxDB writer that never blocks its caller.
//!
//! [`InfluxWriter::spawn`] starts a background thread that owns the HTTP client. Callers
//! [`push`](InfluxWriter::push) points into a bounded channel with `try_send`: when the
//! channel is full (the server is slow or down) the point is dropped and counted, the call
//! returns at once. The thread posts batches of line protocol to `/write` (InfluxDB 1.x) or
//! `/api/v2/write` (2.x, with a token), when a batch is full or every flush interval, retries
//! a failed post (connection error, 5xx, 429) with exponential backoff, and drops and counts
//! the batch after the last retry; a 4xx answer (bad data) drops the batch as rejected. Writing
//! resumes with the next batch when the server is back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{MonitorError, MonitorResult};
use crate::http::{encode_query, request, BaseUrl};
use crate::line::Point;
use prudentia_core::validate::{check_size, MAX_WINDOW};
use prudentia_core::CoreError;

/// The most points in one posted batch.
pub const MAX_BATCH: usize = 100_000;

/// Which InfluxDB write API to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InfluxApi {
    /// InfluxDB 1.x: `POST /write?db=…&precision=ns`.
    V1 {
        /// Database name.
        database: String,
        /// Retention policy, if not the default.
        #[serde(default)]
        retention_policy: Option<String>,
    },
    /// InfluxDB 2.x: `POST /api/v2/write?org=…&bucket=…&precision=ns` with `Authorization: Token …`.
    V2 {
        /// Organization.
        org: String,
        /// Bucket.
        bucket: String,
        /// API token.
        token: String,
    },
}

/// Configuration of an [`InfluxWriter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct InfluxConfig {
    /// Base URL, `http://host:port[/prefix]`. Default `http://127.0.0.1:8086`.
    pub url: String,
    /// API and target. Default v1, database `prudentia`.
    pub api: InfluxApi,
    /// Points per posted batch, 1..=[`MAX_BATCH`]. Default 1000.
    pub batch_size: usize,
    /// Points the channel holds before pushes are dropped, 1..=`MAX_WINDOW`. Default 10,000.
    pub capacity: usize,
    /// A non-empty batch is posted at least this often (ms, 1..=3,600,000). Default 1000.
    pub flush_interval_ms: u64,
    /// Retries of a failed post before its batch is dropped, ≤ 20. Default 3.
    pub max_retries: u32,
    /// First retry delay (ms, ≥ 1), doubled each retry up to `backoff_max_ms`. Default 100.
    pub backoff_initial_ms: u64,
    /// Longest retry delay (ms, ≥ `backoff_initial_ms`, ≤ 600,000). Default 5000.
    pub backoff_max_ms: u64,
    /// Connect, read and write timeout of one post (ms, 1..=600,000). Default 2000.
    pub timeout_ms: u64,
}

impl Default for InfluxConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8086".into(),
            api: InfluxApi::V1 {
                database: "prudentia".into(),
                retention_policy: None,
            },
            batch_size: 1000,
            capacity: 10_000,
            flush_interval_ms: 1000,
            max_retries: 3,
            backoff_initial_ms: 100,
            backoff_max_ms: 5000,
            timeout_ms: 2000,
        }
    }
}

fn range_u64(field: &'static str, v: u64, lo: u64, hi: u64, expected: &'static str) -> Result<(), CoreError> {
    if v < lo || v > hi {
        return Err(CoreError::OutOfRange {
            field,
            value: v as f64,
            expected,
        });
    }
    Ok(())
}

impl InfluxConfig {
    /// Checks every field (named in the error).
    pub fn validate(&self) -> MonitorResult<()> {
        BaseUrl::parse(&self.url)?;
        let nonempty = |kind, v: &str| {
            if v.is_empty() || v.contains(['\r', '\n']) {
                Err(MonitorError::Unrepresentable {
                    kind,
                    value: v.to_string(),
                    reason: "empty or with a line break",
                })
            } else {
                Ok(())
            }
        };
        match &self.api {
            InfluxApi::V1 {
                database,
                retention_policy,
            } => {
                nonempty("database", database)?;
                if let Some(rp) = retention_policy {
                    nonempty("retention policy", rp)?;
                }
            }
            InfluxApi::V2 { org, bucket, token } => {
                nonempty("org", org)?;
                nonempty("bucket", bucket)?;
                nonempty("token", token)?;
            }
        }
        range_u64("batch_size", self.batch_size as u64, 1, u64::MAX, ">= 1")?;
        check_size("batch_size", self.batch_size, MAX_BATCH)?;
        range_u64("capacity", self.capacity as u64, 1, u64::MAX, ">= 1")?;
        check_size("capacity", self.capacity, MAX_WINDOW)?;
        range_u64(
            "flush_interval_ms",
            self.flush_interval_ms,
            1,
            3_600_000,
            "in 1..=3600000",
        )?;
        range_u64("max_retries", u64::from(self.max_retries), 0, 20, "<= 20")?;
        range_u64(
            "backoff_initial_ms",
            self.backoff_initial_ms,
            1,
            600_000,
            "in 1..=600000",
        )?;
        range_u64(
            "backoff_max_ms",
            self.backoff_max_ms,
            self.backoff_initial_ms,
            600_000,
            ">= backoff_initial_ms and <= 600000",
        )?;
        range_u64("timeout_ms", self.timeout_ms, 1, 600_000, "in 1..=600000")?;
        Ok(())
    }

    fn write_path(&self) -> String {
        match &self.api {
            InfluxApi::V1 {
                database,
                retention_policy,
            } => {
                let mut p = format!("/write?db={}&precision=ns", encode_query(database));
                if let Some(rp) = retention_policy {
                    p.push_str(&format!("&rp={}", encode_query(rp)));
                }
                p
            }
            InfluxApi::V2 { org, bucket, .. } => format!(
                "/api/v2/write?org={}&bucket={}&precision=ns",
                encode_query(org),
                encode_query(bucket)
            ),
        }
    }

    fn auth(&self) -> Option<String> {
        match &self.api {
            InfluxApi::V2 { token, .. } => Some(format!("Token {token}")),
            InfluxApi::V1 { .. } => None,
        }
    }

    /// Runs an InfluxQL query through the 1.x `/query` endpoint (POST, so that statements
    /// such as `CREATE DATABASE` work) and returns the JSON body; an error for a non-2xx
    /// answer. With the v2 API the query goes to the v1-compatible endpoint with the token.
    pub fn query(&self, q: &str) -> MonitorResult<String> {
        self.validate()?;
        let base = BaseUrl::parse(&self.url)?;
        let db = match &self.api {
            InfluxApi::V1 { database, .. } => database,
            InfluxApi::V2 { bucket, .. } => bucket,
        };
        let body = format!("q={}", encode_query(q));
        let path = format!("/query?db={}&epoch=ns", encode_query(db));
        let auth = self.auth();
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        let r = request(
            &base,
            "POST",
            &path,
            &headers,
            body.as_bytes(),
            Duration::from_millis(self.timeout_ms),
        )?;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        if (200..300).contains(&r.status) {
            Ok(text)
        } else {
            Err(MonitorError::Http {
                status: r.status,
                detail: text,
            })
        }
    }
}
prudentia_core::checked_serde!(InfluxConfig, InfluxConfig::validate);

/// Counters of an [`InfluxWriter`] (a snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterStats {
    /// Points accepted into the channel.
    pub queued: u64,
    /// Points the server acknowledged.
    pub written: u64,
    /// Points dropped: channel full or closed, or their batch failed after every retry.
    pub dropped: u64,
    /// Points the server refused (4xx other than 429) and that were not retried.
    pub rejected: u64,
    /// Retried posts.
    pub retries: u64,
    /// Batches dropped after the last retry.
    pub failed_batches: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    retries: AtomicU64,
    failed_batches: AtomicU64,
}

impl Counters {
    fn add(c: &AtomicU64, n: u64) {
        let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_add(n))
        });
    }
    fn snapshot(&self) -> WriterStats {
        WriterStats {
            queued: self.queued.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
        }
    }
}

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

/// The non-blocking batching writer (see the [module docs](self)). Dropping it flushes what
/// is queued (with the configured retries) and stops the thread.
#[derive(Debug)]
pub struct InfluxWriter {
    tx: Option<SyncSender<Msg>>,
    counters: Arc<Counters>,
    handle: Option<JoinHandle<()>>,
}

impl InfluxWriter {
    /// Validates `config` and starts the writer thread (no connection is made yet).
    pub fn spawn(config: InfluxConfig) -> MonitorResult<Self> {
        config.validate()?;
        let base = BaseUrl::parse(&config.url)?;
        let (tx, rx) = mpsc::sync_channel::<Msg>(config.capacity);
        let counters = Arc::new(Counters::default());
        let c = Arc::clone(&counters);
        let handle = std::thread::Builder::new()
            .name("prudentia-influxdb".into())
            .spawn(move || run(&config, &base, &rx, &c))
            .map_err(|e| MonitorError::io("spawn InfluxDB writer thread", &e))?;
        Ok(Self {
            tx: Some(tx),
            counters,
            handle: Some(handle),
        })
    }

    /// Encodes `point` and queues it without blocking. `Ok(true)` when queued, `Ok(false)`
    /// when dropped (channel full: counted in [`WriterStats::dropped`]); an error (and nothing
    /// queued) when the point cannot be encoded.
    pub fn push(&self, point: &Point) -> MonitorResult<bool> {
        let mut line = String::with_capacity(96);
        point.write_line(&mut line)?;
        Ok(self.push_encoded(line))
    }

    /// Queues points (see [`push`](Self::push)); all are encoded first, so on error nothing is
    /// queued. Returns how many were queued.
    pub fn push_all(&self, points: &[Point]) -> MonitorResult<usize> {
        let mut lines = Vec::with_capacity(points.len());
        for p in points {
            let mut line = String::with_capacity(96);
            p.write_line(&mut line)?;
            lines.push(line);
        }
        Ok(lines.into_iter().filter(|l| self.push_encoded(l.clone())).count())
    }

    fn push_encoded(&self, line: String) -> bool {
        let sent = match &self.tx {
            Some(tx) => match tx.try_send(Msg::Line(line)) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            None => false,
        };
        Counters::add(
            if sent {
                &self.counters.queued
            } else {
                &self.counters.dropped
            },
            1,
        );
        sent
    }

    /// Asks the thread to post what it holds and waits up to `timeout` for it (including
    /// retries). `true` when the flush completed in time.
    pub fn flush(&self, timeout: Duration) -> bool {
        let Some(tx) = &self.tx else { return false };
        let deadline = Instant::now() + timeout;
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let mut msg = Msg::Flush(ack_tx);
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(TrySendError::Disconnected(_)) => return false,
            }
        }
        ack_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }

    /// The counters now.
    pub fn stats(&self) -> WriterStats {
        self.counters.snapshot()
    }

    /// Flushes, stops the thread and returns the final counters.
    pub fn close(mut self) -> WriterStats {
        self.shutdown();
        self.counters.snapshot()
    }

    fn shutdown(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for InfluxWriter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The writer thread.
fn run(config: &InfluxConfig, base: &BaseUrl, rx: &mpsc::Receiver<Msg>, c: &Counters) {
    let interval = Duration::from_millis(config.flush_interval_ms);
    let path = config.write_path();
    let auth = config.auth();
    let mut batch = String::new();
    let mut n = 0u64;
    let mut next_flush = Instant::now() + interval;
    let post = |batch: &mut String, n: &mut u64| {
        if *n > 0 {
            post_batch(config, base, &path, auth.as_deref(), batch, *n, c);
        }
        batch.clear();
        *n = 0;
    };
    loop {
        let wait = next_flush.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Msg::Line(l)) => {
                batch.push_str(&l);
                n += 1;
                if n >= config.batch_size as u64 {
                    post(&mut batch, &mut n);
                    next_flush = Instant::now() + interval;
                }
            }
            Ok(Msg::Flush(ack)) => {
                post(&mut batch, &mut n);
                let _ = ack.try_send(());
            }
            Err(RecvTimeoutError::Timeout) => {
                post(&mut batch, &mut n);
                next_flush = Instant::now() + interval;
            }
            Err(RecvTimeoutError::Disconnected) => {
                post(&mut batch, &mut n);
                return;
            }
        }
    }
}

fn post_batch(
    config: &InfluxConfig,
    base: &BaseUrl,
    path: &str,
    auth: Option<&str>,
    body: &str,
    n: u64,
    c: &Counters,
) {
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    let timeout = Duration::from_millis(config.timeout_ms);
    let mut backoff = config.backoff_initial_ms;
    let mut attempt = 0u32;
    loop {
        let retryable = match request(base, "POST", path, &headers, body.as_bytes(), timeout) {
            Ok(r) if (200..300).contains(&r.status) => {
                Counters::add(&c.written, n);
                return;
            }
            Ok(r) if r.status == 429 || r.status >= 500 => true,
            Ok(_) => false,
            Err(_) => true,
        };
        if !retryable {
            Counters::add(&c.rejected, n);
            return;
        }
        if attempt >= config.max_retries {
            Counters::add(&c.dropped, n);
            Counters::add(&c.failed_batches, 1);
            return;
        }
        attempt += 1;
        Counters::add(&c.retries, 1);
        std::thread::sleep(Duration::from_millis(backoff));
        backoff = backoff.saturating_mul(2).min(config.backoff_max_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::Timestamp;

    #[test]
    fn config_validation() {
        InfluxConfig::default().validate().unwrap();
        let bad = [
            InfluxConfig {
                url: "https://x".into(),
                ..Default::default()
            },
            InfluxConfig {
                batch_size: 0,
                ..Default::default()
            },
            InfluxConfig {
                batch_size: MAX_BATCH + 1,
                ..Default::default()
            },
            InfluxConfig {
                capacity: 0,
                ..Default::default()
            },
            InfluxConfig {
                capacity: usize::MAX,
                ..Default::default()
            },
            InfluxConfig {
                flush_interval_ms: 0,
                ..Default::default()
            },
            InfluxConfig {
                max_retries: 21,
                ..Default::default()
            },
            InfluxConfig {
                backoff_initial_ms: 10,
                backoff_max_ms: 5,
                ..Default::default()
            },
            InfluxConfig {
                timeout_ms: 0,
                ..Default::default()
            },
            InfluxConfig {
                api: InfluxApi::V2 {
                    org: "o".into(),
                    bucket: "b".into(),
                    token: "".into(),
                },
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
            assert!(InfluxWriter::spawn(c.clone()).is_err());
            let json = serde_json::to_string(&c).unwrap();
            assert!(serde_json::from_str::<InfluxConfig>(&json).is_err());
        }
        let json = serde_json::to_string(&InfluxConfig::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<InfluxConfig>(&json).unwrap(),
            InfluxConfig::default()
        );
    }

    #[test]
    fn paths() {
        let c = InfluxConfig {
            api: InfluxApi::V1 {
                database: "a b".into(),
                retention_policy: Some("rp".into()),
            },
            ..Default::default()
        };
        assert_eq!(c.write_path(), "/write?db=a%20b&precision=ns&rp=rp");
        let c = InfluxConfig {
            api: InfluxApi::V2 {
                org: "o".into(),
                bucket: "b".into(),
                token: "t".into(),
            },
            ..Default::default()
        };
        assert_eq!(c.write_path(), "/api/v2/write?org=o&bucket=b&precision=ns");
        assert_eq!(c.auth().as_deref(), Some("Token t"));
    }

    /// A local fake server: counts the lines it receives, answers `status`.
    fn fake_server(status: u16) -> (std::net::SocketAddr, Arc<AtomicU64>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let lines = Arc::new(AtomicU64::new(0));
        let lines2 = Arc::clone(&lines);
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                // read head + Content-Length body
                loop {
                    let n = s.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if data.len() >= end + 4 + len {
                            let body = &data[end + 4..end + 4 + len];
                            let count = body.iter().filter(|&&b| b == b'\n').count() as u64;
                            lines2.fetch_add(count, Ordering::SeqCst);
                            break;
                        }
                    }
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        (addr, lines)
    }

    fn config(addr: std::net::SocketAddr) -> InfluxConfig {
        InfluxConfig {
            url: format!("http://{addr}"),
            batch_size: 7,
            flush_interval_ms: 20,
            max_retries: 1,
            backoff_initial_ms: 1,
            backoff_max_ms: 2,
            timeout_ms: 500,
            ..Default::default()
        }
    }

    #[test]
    fn writes_batches_to_a_server() {
        let (addr, lines) = fake_server(204);
        let w = InfluxWriter::spawn(config(addr)).unwrap();
        for i in 0..50_i64 {
            assert!(w
                .push(&Point::new("m", Timestamp::from_nanos(i)).field("x", i))
                .unwrap());
        }
        assert!(w
            .push(&Point::new("m", Timestamp::from_nanos(0)).field("x", f64::NAN))
            .is_err());
        assert!(w.flush(Duration::from_secs(5)));
        let s = w.close();
        assert_eq!((s.queued, s.written, s.dropped, s.rejected), (50, 50, 0, 0));
        assert_eq!(lines.load(Ordering::SeqCst), 50);
    }

    #[test]
    fn rejected_and_failed_batches_are_counted() {
        let (addr, _) = fake_server(400);
        let w = InfluxWriter::spawn(config(addr)).unwrap();
        w.push_all(&[Point::new("m", Timestamp::from_nanos(1)).field("x", 1.0)])
            .unwrap();
        assert!(w.flush(Duration::from_secs(5)));
        assert_eq!(w.close().rejected, 1);

        let (addr, _) = fake_server(503);
        let w = InfluxWriter::spawn(config(addr)).unwrap();
        w.push_all(&[Point::new("m", Timestamp::from_nanos(1)).field("x", 1.0)])
            .unwrap();
        assert!(w.flush(Duration::from_secs(5)));
        let s = w.close();
        assert_eq!((s.dropped, s.failed_batches, s.retries), (1, 1, 1));
    }

    #[test]
    fn a_full_channel_drops_without_blocking() {
        // nothing listens on this port: every post fails after slow backoffs
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = InfluxConfig {
            capacity: 10,
            batch_size: 1,
            backoff_initial_ms: 200,
            backoff_max_ms: 200,
            max_retries: 2,
            ..config(addr)
        };
        let w = InfluxWriter::spawn(c).unwrap();
        let t0 = Instant::now();
        for i in 0..1000_i64 {
            w.push(&Point::new("m", Timestamp::from_nanos(i)).field("x", i))
                .unwrap();
        }
        assert!(t0.elapsed() < Duration::from_millis(500), "{:?}", t0.elapsed());
        let s = w.stats();
        assert!(s.dropped >= 989, "{s:?}");
        assert_eq!(s.queued + s.dropped, 1000);
    }
}
