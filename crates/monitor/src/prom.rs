//! Prometheus text exposition format (version 0.0.4): gauges, counters and histograms in a
//! [`Registry`], rendered as text, written atomically for the node-exporter textfile
//! collector ([`Registry::write_textfile`]: a temporary file in the same directory, then a
//! rename) or, with the `prometheus` feature, served on a local port (`serve`).
//!
//! Metric names must match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`
//! (not starting with `__`; `le` is reserved for histogram buckets); label values may hold
//! anything and are escaped (`\\`, `\"`, `\n`). Values must be finite; counters only grow.
//! A registry holds at most [`MAX_SERIES`] series.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{MonitorError, MonitorResult};
use prudentia_core::CoreError;

/// The most series (label combinations over all metrics) a [`Registry`] holds.
pub const MAX_SERIES: usize = 10_000;

/// Default histogram bucket upper bounds, in seconds (stage latencies from 1 µs to 10 s).
pub const LATENCY_BUCKETS: [f64; 14] = [
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 10.0,
];

/// The type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A value that goes up and down.
    Gauge,
    /// A value that only grows (name should end in `_total`).
    Counter,
    /// Observations counted in buckets (with `_bucket`, `_sum`, `_count` series).
    Histogram,
}

impl MetricKind {
    fn name(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone)]
enum Series {
    Value(f64),
    Histogram { counts: Vec<u64>, sum: f64, count: u64 },
}

#[derive(Debug, Clone)]
struct Family {
    help: String,
    kind: MetricKind,
    series: BTreeMap<Vec<(String, String)>, Series>,
}

/// Metrics in memory, rendered in the Prometheus text format.
///
/// ```
/// use prudentia_monitor::prom::Registry;
/// let mut r = Registry::new();
/// r.set_gauge("prudentia_drawdown", "Drawdown from the equity peak", &[], 0.05).unwrap();
/// r.inc_counter("prudentia_decisions_total", "Decisions made", &[("status", "normal")], 1.0).unwrap();
/// r.observe("prudentia_stage_duration_seconds", "Stage latency", &[("stage", "optimize")], 0.002).unwrap();
/// let text = r.render();
/// assert!(text.contains("# TYPE prudentia_drawdown gauge\nprudentia_drawdown 0.05\n"));
/// assert!(text.contains("prudentia_decisions_total{status=\"normal\"} 1.0\n"));
/// assert!(text.contains("prudentia_stage_duration_seconds_bucket{stage=\"optimize\",le=\"0.005\"} 1\n"));
/// assert!(r.set_gauge("bad name", "x", &[], 1.0).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Registry {
    families: BTreeMap<String, Family>,
    n_series: usize,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.n_series
    }

    /// Whether no series is held.
    pub fn is_empty(&self) -> bool {
        self.n_series == 0
    }

    /// The value of a gauge or counter series, if present.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let key = owned(labels);
        match self.families.get(name)?.series.get(&key)? {
            Series::Value(v) => Some(*v),
            Series::Histogram { .. } => None,
        }
    }

    /// The observation count of a histogram series, if present.
    pub fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let key = owned(labels);
        match self.families.get(name)?.series.get(&key)? {
            Series::Histogram { count, .. } => Some(*count),
            Series::Value(_) => None,
        }
    }

    /// Sets a gauge.
    pub fn set_gauge(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> MonitorResult<()> {
        check_value(name, value)?;
        let s = self.series(name, help, MetricKind::Gauge, labels)?;
        *s = Series::Value(value);
        Ok(())
    }

    /// Adds `by` (finite, ≥ 0) to a counter, created at 0. A sum that would overflow to
    /// infinity is refused and leaves the counter unchanged.
    pub fn inc_counter(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        by: f64,
    ) -> MonitorResult<()> {
        check_value(name, by)?;
        if by < 0.0 {
            return Err(MonitorError::Core(CoreError::OutOfRange {
                field: "counter increment",
                value: by,
                expected: ">= 0",
            }));
        }
        if let Some(Series::Value(v)) = self.families.get(name).and_then(|f| f.series.get(&owned(labels))) {
            check_value(name, v + by)?;
        }
        let s = self.series(name, help, MetricKind::Counter, labels)?;
        if let Series::Value(v) = s {
            *v += by;
        }
        Ok(())
    }

    /// Records one observation (finite) in a histogram with [`LATENCY_BUCKETS`].
    pub fn observe(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> MonitorResult<()> {
        check_value(name, value)?;
        if let Some(Series::Histogram { sum, .. }) =
            self.families.get(name).and_then(|f| f.series.get(&owned(labels)))
        {
            check_value(name, sum + value)?;
        }
        let s = self.series(name, help, MetricKind::Histogram, labels)?;
        if let Series::Histogram { counts, sum, count } = s {
            if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| value <= b) {
                counts[i] = counts[i].saturating_add(1);
            }
            *sum += value;
            *count = count.saturating_add(1);
        }
        Ok(())
    }

    fn series(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
    ) -> MonitorResult<&mut Series> {
        check_metric_name(name)?;
        for (i, (k, _)) in labels.iter().enumerate() {
            check_label_name(k, kind)?;
            if labels[..i].iter().any(|(j, _)| j == k) {
                return Err(MonitorError::Unrepresentable {
                    kind: "label name",
                    value: (*k).to_string(),
                    reason: "given twice",
                });
            }
        }
        if let Some(f) = self.families.get(name) {
            if f.kind != kind {
                return Err(MonitorError::KindMismatch {
                    name: name.to_string(),
                    existing: f.kind.name(),
                    requested: kind.name(),
                });
            }
        }
        let key = owned(labels);
        let exists = self
            .families
            .get(name)
            .is_some_and(|f| f.series.contains_key(&key));
        if !exists {
            prudentia_core::validate::check_size(
                "Prometheus series",
                self.n_series.saturating_add(1),
                MAX_SERIES,
            )?;
            self.n_series += 1;
        }
        let fam = self.families.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            kind,
            series: BTreeMap::new(),
        });
        Ok(fam.series.entry(key).or_insert_with(|| match kind {
            MetricKind::Histogram => Series::Histogram {
                counts: vec![0; LATENCY_BUCKETS.len()],
                sum: 0.0,
                count: 0,
            },
            _ => Series::Value(0.0),
        }))
    }

    /// The exposition text (families sorted by name, each with `# HELP` and `# TYPE`).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.n_series.saturating_mul(64).min(1 << 22));
        for (name, f) in &self.families {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&f.help));
            let _ = writeln!(out, "# TYPE {name} {}", f.kind.name());
            for (labels, s) in &f.series {
                match s {
                    Series::Value(v) => {
                        let _ = writeln!(out, "{name}{} {}", label_text(labels, None), num(*v));
                    }
                    Series::Histogram { counts, sum, count } => {
                        let mut cum = 0u64;
                        for (b, c) in LATENCY_BUCKETS.iter().zip(counts) {
                            cum = cum.saturating_add(*c);
                            let _ =
                                writeln!(out, "{name}_bucket{} {cum}", label_text(labels, Some(&num(*b))));
                        }
                        let _ = writeln!(out, "{name}_bucket{} {count}", label_text(labels, Some("+Inf")));
                        let _ = writeln!(out, "{name}_sum{} {}", label_text(labels, None), num(*sum));
                        let _ = writeln!(out, "{name}_count{} {count}", label_text(labels, None));
                    }
                }
            }
        }
        out
    }

    /// Writes [`render`](Self::render) to `path` atomically: to a temporary file in the same
    /// directory, then renamed over `path` (so the textfile collector never reads a partial
    /// file). Not fsynced: metrics need no crash durability, and the write runs inside
    /// `decide` when the monitor owns the textfile.
    pub fn write_textfile(&self, path: &Path) -> MonitorResult<()> {
        write_atomic(path, self.render().as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary sibling file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> MonitorResult<()> {
    use std::io::Write;
    let name = path.file_name().ok_or(MonitorError::Io {
        op: "textfile path",
        detail: format!("{} has no file name", path.display()),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f =
            std::fs::File::create(&tmp).map_err(|e| MonitorError::io("create temporary textfile", &e))?;
        f.write_all(bytes)
            .map_err(|e| MonitorError::io("write textfile", &e))?;
        std::fs::rename(&tmp, path).map_err(|e| MonitorError::io("rename textfile", &e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn owned(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn check_value(name: &str, value: f64) -> MonitorResult<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(MonitorError::NonFinite {
            field: name.to_string(),
            value,
        })
    }
}

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn check_metric_name(name: &str) -> MonitorResult<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(MonitorError::Unrepresentable {
            kind: "metric name",
            value: name.to_string(),
            reason: "must match [a-zA-Z_:][a-zA-Z0-9_:]*",
        })
    }
}

fn check_label_name(name: &str, kind: MetricKind) -> MonitorResult<()> {
    let refuse = |reason| MonitorError::Unrepresentable {
        kind: "label name",
        value: name.to_string(),
        reason,
    };
    let ok = !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if !ok {
        return Err(refuse("must match [a-zA-Z_][a-zA-Z0-9_]*"));
    }
    if name.starts_with("__") {
        return Err(refuse("names starting with __ are reserved"));
    }
    if kind == MetricKind::Histogram && name == "le" {
        return Err(refuse("le is reserved for histogram buckets"));
    }
    Ok(())
}

fn escape_label_value(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn label_text(labels: &[(String, String)], le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

/// A finite number in the exposition format (Go's ParseFloat reads Rust's shortest form).
fn num(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v:?}")
}

/// A running Prometheus endpoint (see [`serve`]); stops when dropped.
#[cfg(feature = "prometheus")]
#[derive(Debug)]
pub struct PrometheusServer {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

#[cfg(feature = "prometheus")]
impl PrometheusServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

#[cfg(feature = "prometheus")]
impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // wake the accept loop
        let _ = std::net::TcpStream::connect_timeout(&self.addr, std::time::Duration::from_millis(200));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Serves the registry's exposition on `addr` (e.g. `127.0.0.1:9898`; port 0 picks one) to
/// every HTTP request, one connection at a time, from a background thread. Each connection
/// gets 2 s to send its request; the registry lock is held only while rendering.
#[cfg(feature = "prometheus")]
pub fn serve(
    addr: std::net::SocketAddr,
    registry: std::sync::Arc<std::sync::Mutex<Registry>>,
) -> MonitorResult<PrometheusServer> {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| MonitorError::io("bind Prometheus listener", &e))?;
    let local = listener
        .local_addr()
        .map_err(|e| MonitorError::io("Prometheus listener address", &e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name("prudentia-prometheus".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let _ = conn.set_write_timeout(Some(std::time::Duration::from_secs(2)));
                // read the request head (bounded), ignore its content
                let mut head = Vec::with_capacity(1024);
                let mut buf = [0u8; 1024];
                while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = match registry.lock() {
                    Ok(r) => r.render(),
                    Err(poisoned) => poisoned.into_inner().render(),
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).and_then(|()| conn.write_all(body.as_bytes()));
            }
        })
        .map_err(|e| MonitorError::io("spawn Prometheus thread", &e))?;
    Ok(PrometheusServer {
        addr: local,
        stop,
        handle: Some(handle),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let mut r = Registry::new();
        r.set_gauge("g", "a gauge\nwith \\ newline", &[("l", "a\"b\\c\nd")], -0.0)
            .unwrap();
        r.inc_counter("c_total", "a counter", &[], 2.0).unwrap();
        r.inc_counter("c_total", "a counter", &[], 0.5).unwrap();
        r.observe("h_seconds", "a histogram", &[("stage", "x")], 2e-6)
            .unwrap();
        r.observe("h_seconds", "a histogram", &[("stage", "x")], 20.0)
            .unwrap();
        let text = r.render();
        let expected_head = "# HELP c_total a counter\n# TYPE c_total counter\nc_total 2.5\n\
            # HELP g a gauge\\nwith \\\\ newline\n# TYPE g gauge\ng{l=\"a\\\"b\\\\c\\nd\"} 0.0\n\
            # HELP h_seconds a histogram\n# TYPE h_seconds histogram\n\
            h_seconds_bucket{stage=\"x\",le=\"1e-6\"} 0\nh_seconds_bucket{stage=\"x\",le=\"5e-6\"} 1\n";
        assert!(text.starts_with(expected_head), "{text}");
        assert!(text.contains(
            "h_seconds_bucket{stage=\"x\",le=\"10.0\"} 1\nh_seconds_bucket{stage=\"x\",le=\"+Inf\"} 2\n"
        ));
        assert!(text.contains("h_seconds_sum{stage=\"x\"} 20.000002\nh_seconds_count{stage=\"x\"} 2\n"));
        assert_eq!(r.len(), 3);
        assert_eq!(r.value("c_total", &[]), Some(2.5));
        assert_eq!(r.histogram_count("h_seconds", &[("stage", "x")]), Some(2));
    }

    #[test]
    fn refusals_change_nothing() {
        let mut r = Registry::new();
        r.set_gauge("g", "h", &[], 1.0).unwrap();
        let before = r.render();
        assert!(matches!(
            r.set_gauge("g", "h", &[], f64::NAN),
            Err(MonitorError::NonFinite { .. })
        ));
        assert!(r.inc_counter("g", "h", &[], 1.0).is_err()); // kind mismatch
        assert!(r.inc_counter("c_total", "h", &[], -1.0).is_err());
        assert!(r.inc_counter("c_total", "h", &[], f64::INFINITY).is_err());
        r.inc_counter("big_total", "h", &[], f64::MAX).unwrap();
        assert!(r.inc_counter("big_total", "h", &[], f64::MAX).is_err());
        assert_eq!(r.value("big_total", &[]), Some(f64::MAX));
        for name in ["", "1x", "a-b", "a b", "é"] {
            assert!(r.set_gauge(name, "h", &[], 1.0).is_err(), "{name}");
        }
        for label in ["", "__x", "a:b", "1a"] {
            assert!(r.set_gauge("g2", "h", &[(label, "v")], 1.0).is_err(), "{label}");
        }
        assert!(r.observe("h", "h", &[("le", "1")], 1.0).is_err());
        assert!(r.set_gauge("g3", "h", &[("a", "1"), ("a", "2")], 1.0).is_err());
        r.inc_counter("big_total", "h", &[], 0.0).unwrap();
        assert!(r.render().starts_with("# HELP big_total"));
        assert!(r.render().ends_with(&before));
    }

    #[test]
    fn series_limit() {
        let mut r = Registry::new();
        for i in 0..MAX_SERIES {
            r.set_gauge("g", "h", &[("i", &i.to_string())], 1.0).unwrap();
        }
        assert!(matches!(
            r.set_gauge("g", "h", &[("i", "new")], 1.0),
            Err(MonitorError::Core(CoreError::TooLarge { .. }))
        ));
        // updating an existing series still works
        r.set_gauge("g", "h", &[("i", "0")], 2.0).unwrap();
    }

    #[cfg(feature = "prometheus")]
    #[test]
    fn served_on_a_local_port() {
        use std::io::{Read, Write};
        let registry = std::sync::Arc::new(std::sync::Mutex::new(Registry::new()));
        registry
            .lock()
            .unwrap()
            .set_gauge("g", "h", &[("a", "b")], 2.0)
            .unwrap();
        let server = serve("127.0.0.1:0".parse().unwrap(), std::sync::Arc::clone(&registry)).unwrap();
        for _ in 0..2 {
            let mut c = std::net::TcpStream::connect(server.local_addr()).unwrap();
            c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut resp = String::new();
            c.read_to_string(&mut resp).unwrap();
            assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
            assert!(resp.ends_with(&registry.lock().unwrap().render()));
        }
        // a client that connects and sends nothing does not stop the server
        let idle = std::net::TcpStream::connect(server.local_addr()).unwrap();
        drop(idle);
        let addr = server.local_addr();
        drop(server);
        assert!(std::net::TcpStream::connect(addr).is_err());
    }

    #[test]
    fn textfile_is_atomic_and_complete() {
        let dir = std::env::temp_dir().join(format!("prudentia-monitor-prom-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prudentia.prom");
        let mut r = Registry::new();
        r.set_gauge("g", "h", &[], 1.5).unwrap();
        r.write_textfile(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), r.render());
        // no temporary file is left behind
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(r.write_textfile(&dir.join("missing").join("x.prom")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
