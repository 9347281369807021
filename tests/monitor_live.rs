//! Live monitoring against a real InfluxDB 1.x (issue #21).
//!
//! - `influx_year_roundtrip`: a pipeline runs a year of synthetic data with the InfluxDB writer
//!   attached through the observer; every measurement's point count in the database equals
//!   what the monitor emitted, and the values and tags read back equal the values sent. Also
//!   the line-protocol escaping edge cases, read back from the server.
//! - `influx_server_stopped_mid_run`: a private `influxd` is stopped mid-run: `decide` never
//!   waits for it, dropped points are counted, and writing resumes once it is restarted.
//!
//! The server is `PRUDENTIA_INFLUXDB_URL` (default `http://127.0.0.1:8086`). Without the
//! variable, a test whose server (or `influxd` binary) is missing prints why and passes, so
//! `cargo test --workspace` stays green anywhere; with it (CI), a missing server fails.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prudentia::core::traits::RoleResult;
use prudentia::core::{MarketSnapshot, Outcome, Timestamp};
use prudentia::datasets::{ForecasterSpec, SyntheticConfig, SyntheticMarket};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::pipeline::{
    realized_returns, walk_forward, BacktestConfig, MonitorObserver, Pipeline, PipelineBuilder,
    PipelineConfig, Shared,
};
use prudentia::portfolio::{Limits, PortfolioConfig, PortfolioOptimizer};
use prudentia::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia::selection::{DiversityAwareSelector, ProblemConfig, SelectorConfig};
use prudentia::uncertainty::calibrate::{CalibratorConfig, RegimeCalibrator};
use prudentia_monitor::http::{request, BaseUrl};
use prudentia_monitor::influx::{InfluxApi, InfluxConfig, InfluxWriter};
use prudentia_monitor::{FieldValue, Monitor, MonitorConfig, Point, PointSink};
use serde_json::Value;

const ENV: &str = "PRUDENTIA_INFLUXDB_URL";

struct PanelForecaster;
impl prudentia::core::traits::Forecaster for PanelForecaster {
    fn forecast(
        &self,
        a: &prudentia::core::AssetInfo,
        _: &prudentia::core::RegimeState,
    ) -> RoleResult<prudentia::core::Forecast> {
        Ok(prudentia::core::Forecast::new(
            a.features[0],
            a.features[1],
            prudentia::core::Horizon::DAY,
        )?)
    }
}

fn market_snapshots(days: usize) -> Vec<MarketSnapshot> {
    let market = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: 12,
        n_sectors: 3,
        n_days: days,
        seed: 21,
        ..Default::default()
    })
    .unwrap();
    let panel = market.forecasts(&ForecasterSpec::biased()).unwrap();
    (1..market.n_days())
        .map(|t| {
            let mut s = market.snapshot_before(t).unwrap();
            for (i, a) in s.assets.iter_mut().enumerate() {
                a.features = vec![panel.mean[[t, i]], panel.sigma[[t, i]]];
            }
            s
        })
        .collect()
}

fn chain(snapshots: &[MarketSnapshot], monitor: Arc<Mutex<Monitor>>) -> Pipeline {
    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default()).unwrap());
    let optimizer = PortfolioOptimizer::new(PortfolioConfig {
        limits: Limits {
            weight_min: -0.1,
            weight_max: 0.4,
            gross_max: Some(1.5),
            net_min: Some(1.0),
            net_max: Some(1.0),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    PipelineBuilder::new(PipelineConfig {
        universe: snapshots[0].assets.iter().map(|a| a.id.clone()).collect(),
        history_window: 120,
        min_history: 40,
        seed: 7,
        ..Default::default()
    })
    .guard(Box::new(
        SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap(),
    ))
    .regime(Box::new(
        MarketRegimeDetector::new(MarketRegimeDetectorConfig {
            vix_indicator: "realized_vol_20".into(),
            ..Default::default()
        })
        .unwrap(),
    ))
    .forecaster(Box::new(PanelForecaster))
    .calibrator(Box::new(
        RegimeCalibrator::new(CalibratorConfig::default()).unwrap(),
    ))
    .selector(Box::new(
        DiversityAwareSelector::new(SelectorConfig {
            problem: ProblemConfig {
                return_scale: prudentia::selection::ReturnScale::Raw,
                k: 5,
                lambda: 1e-4,
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    ))
    .optimizer(Box::new(optimizer))
    .sizer(Box::new(sizer.clone()))
    .learner(Box::new(sizer))
    .observer(Box::new(MonitorObserver::new(monitor)))
    .build()
    .unwrap()
}

/// Keeps a copy of every point the monitor emitted.
struct Copy(Arc<Mutex<Vec<Point>>>);
impl PointSink for Copy {
    fn send(&mut self, points: &[Point]) -> usize {
        self.0.lock().unwrap().extend_from_slice(points);
        points.len()
    }
    fn dropped(&self) -> u64 {
        0
    }
}

fn ping(url: &str) -> Result<(), String> {
    let base = BaseUrl::parse(url).map_err(|e| e.to_string())?;
    match request(&base, "GET", "/ping", &[], b"", Duration::from_secs(1)) {
        Ok(r) if r.status == 204 || r.status == 200 => Ok(()),
        Ok(r) => Err(format!("/ping answered {}", r.status)),
        Err(e) => Err(e.to_string()),
    }
}

/// The server URL, or `None` (after printing why) when the test should skip.
fn server() -> Option<String> {
    let (url, required) = match std::env::var(ENV) {
        Ok(u) => (u, true),
        Err(_) => ("http://127.0.0.1:8086".to_string(), false),
    };
    match ping(&url) {
        Ok(()) => Some(url),
        Err(e) if !required => {
            eprintln!("skipping: no InfluxDB at {url} ({e}) and {ENV} is unset");
            None
        }
        Err(e) => panic!("{ENV}={url} is set but the server does not answer: {e}"),
    }
}

fn unique_db(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("prudentia_{tag}_{}_{nanos}", std::process::id())
}

fn v1(url: &str, database: &str) -> InfluxConfig {
    InfluxConfig {
        url: url.to_string(),
        api: InfluxApi::V1 {
            database: database.to_string(),
            retention_policy: None,
        },
        flush_interval_ms: 50,
        ..Default::default()
    }
}

fn query(config: &InfluxConfig, q: &str) -> Value {
    let text = config.query(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    if let Some(err) = v["results"][0].get("error") {
        panic!("{q}: {err}");
    }
    v
}

fn count(config: &InfluxConfig, measurement: &str, field: &str, filter: &str) -> u64 {
    let v = query(
        config,
        &format!("SELECT COUNT(\"{field}\") FROM \"{measurement}\" {filter}"),
    );
    v["results"][0]["series"][0]["values"][0][1].as_u64().unwrap_or(0)
}

/// (time, tags) of a stored row.
type RowKey = (i64, Vec<(String, String)>);

/// A field always present in each measurement, for counting.
const COUNTED: [(&str, &str); 7] = [
    ("decision", "step"),
    ("regime_probability", "probability"),
    ("stage_timing", "seconds"),
    ("outcome", "equity"),
    ("calibration", "coverage"),
    ("drift", "psi"),
    ("alert", "value"),
];

#[test]
fn influx_year_roundtrip() {
    let Some(url) = server() else { return };
    let db = unique_db("year");
    let config = v1(&url, &db);
    query(&config, &format!("CREATE DATABASE \"{db}\""));

    let snapshots = market_snapshots(253); // a trading year of decisions
    let emitted = Arc::new(Mutex::new(Vec::new()));
    let writer = InfluxWriter::spawn(config.clone()).unwrap();
    let monitor = Monitor::new(MonitorConfig::default())
        .unwrap()
        .with_sink(Box::new(writer))
        .with_sink(Box::new(Copy(Arc::clone(&emitted))));
    let monitor = Arc::new(Mutex::new(monitor));
    let mut pipeline = chain(&snapshots, Arc::clone(&monitor));
    let run = walk_forward(
        &mut pipeline,
        &snapshots,
        &BacktestConfig {
            show_progress: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(run.decisions.len(), snapshots.len() - 1);

    // close the writer: everything queued is posted
    let sinks = monitor.lock().unwrap().take_sinks();
    drop(sinks);
    let emitted = emitted.lock().unwrap().clone();
    let mut per: BTreeMap<&str, u64> = BTreeMap::new();
    for p in &emitted {
        *per.entry(p.measurement.as_str()).or_default() += 1;
    }
    assert_eq!(per["decision"], run.decisions.len() as u64);
    assert!(per["stage_timing"] >= per["decision"]);
    assert!(per["outcome"] >= per["decision"] - 1);
    for (m, field) in COUNTED {
        let expected = per.get(m).copied().unwrap_or(0);
        assert_eq!(count(&config, m, field, ""), expected, "points of {m}");
        eprintln!("{m}: {expected} points");
    }

    // values and tags read back equal what was sent
    for (m, _) in COUNTED {
        let v = query(&config, &format!("SELECT * FROM \"{m}\""));
        let Some(series) = v["results"][0]["series"][0].as_object() else {
            continue;
        };
        let columns: Vec<&str> = series["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let rows = series["values"].as_array().unwrap();
        // (time, tags) identify a row
        let mut by_key: BTreeMap<RowKey, &Vec<Value>> = BTreeMap::new();
        for row in rows {
            let row = row.as_array().unwrap();
            let time = row[0].as_i64().unwrap();
            let mut tags = Vec::new();
            for p in emitted.iter().filter(|p| p.measurement == m).take(1) {
                for (k, _) in &p.tags {
                    let i = columns.iter().position(|c| c == k).unwrap();
                    tags.push((k.clone(), row[i].as_str().unwrap_or_default().to_string()));
                }
            }
            by_key.insert((time, tags), row);
        }
        let mut checked = 0;
        for p in emitted.iter().filter(|p| p.measurement == m) {
            let row = by_key
                .get(&(p.time.as_nanos(), p.tags.clone()))
                .unwrap_or_else(|| panic!("{m} point at {:?} {:?} not read back", p.time, p.tags));
            for (k, f) in &p.fields {
                let got = &row[columns.iter().position(|c| c == k).unwrap()];
                match f {
                    FieldValue::Float(x) => assert_eq!(got.as_f64(), Some(*x), "{m}.{k}"),
                    FieldValue::Int(x) => assert_eq!(got.as_i64(), Some(*x), "{m}.{k}"),
                    FieldValue::Bool(x) => assert_eq!(got.as_bool(), Some(*x), "{m}.{k}"),
                    FieldValue::Str(x) => assert_eq!(got.as_str(), Some(x.as_str()), "{m}.{k}"),
                }
            }
            checked += 1;
        }
        assert_eq!(checked, rows.len(), "{m}: every row checked");
    }
    // PRUDENTIA_MONITOR_KEEP_DB keeps the database (e.g. to look at the Grafana dashboard)
    if std::env::var_os("PRUDENTIA_MONITOR_KEEP_DB").is_some() {
        eprintln!("kept database {db}");
    } else {
        query(&config, &format!("DROP DATABASE \"{db}\""));
    }
}

#[test]
fn influx_line_protocol_edge_cases_read_back() {
    let Some(url) = server() else { return };
    let db = unique_db("escape");
    let config = v1(&url, &db);
    query(&config, &format!("CREATE DATABASE \"{db}\""));
    let t = Timestamp::from_nanos(1_600_000_000_000_000_000);
    let points = vec![
        Point::new("m x,y=z", t)
            .tag("t k=1", "v,a=b c")
            .tag("q", "say\"hi\"")
            .tag("bs", r"C:\x")
            .field("f=1,g 2", 1_i64)
            .field("s", "a\nb\\\"c, d=e")
            .field("big", 1e300)
            .field("tiny", 5e-324)
            .field("max", f64::MAX)
            .field("neg", -1.5e-7)
            .field("imin", i64::MIN)
            .field("ok", true),
        Point::new("m x,y=z", Timestamp::from_nanos(1_600_000_000_000_000_001))
            .tag("t k=1", "second")
            .field("f=1,g 2", -7_i64),
    ];
    let writer = InfluxWriter::spawn(config.clone()).unwrap();
    assert_eq!(writer.push_all(&points).unwrap(), 2);
    assert!(writer.flush(Duration::from_secs(10)));
    let stats = writer.close();
    assert_eq!(
        (stats.written, stats.rejected, stats.dropped),
        (2, 0, 0),
        "{stats:?}"
    );
    let v = query(&config, "SELECT * FROM \"m x,y=z\"");
    let s = &v["results"][0]["series"][0];
    assert_eq!(s["name"], "m x,y=z");
    let columns: Vec<&str> = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let row = s["values"][0].as_array().unwrap();
    let col = |k: &str| {
        &row[columns
            .iter()
            .position(|c| *c == k)
            .unwrap_or_else(|| panic!("column {k}"))]
    };
    assert_eq!(col("t k=1"), "v,a=b c");
    assert_eq!(col("q"), "say\"hi\"");
    assert_eq!(col("bs"), r"C:\x");
    assert_eq!(col("f=1,g 2").as_i64(), Some(1));
    assert_eq!(col("s"), "a\nb\\\"c, d=e");
    assert_eq!(col("big").as_f64(), Some(1e300));
    assert_eq!(col("tiny").as_f64(), Some(5e-324));
    assert_eq!(col("max").as_f64(), Some(f64::MAX));
    assert_eq!(col("neg").as_f64(), Some(-1.5e-7));
    assert_eq!(col("imin").as_i64(), Some(i64::MIN));
    assert_eq!(col("ok").as_bool(), Some(true));
    assert_eq!(
        s["values"][1][columns.iter().position(|c| *c == "f=1,g 2").unwrap()].as_i64(),
        Some(-7)
    );
    query(&config, &format!("DROP DATABASE \"{db}\""));
}

/// A private `influxd` on a free local port with its data in a temporary directory.
struct Influxd {
    binary: String,
    dir: std::path::PathBuf,
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Influxd {
    fn find() -> Option<String> {
        if let Ok(b) = std::env::var("PRUDENTIA_INFLUXD") {
            return Some(b);
        }
        std::env::var("PATH")
            .ok()?
            .split(':')
            .map(|d| format!("{d}/influxd"))
            .find(|p| std::path::Path::new(p).is_file())
    }

    fn new(binary: String) -> Self {
        let dir = std::env::temp_dir().join(unique_db("influxd"));
        std::fs::create_dir_all(&dir).unwrap();
        let (port, rpc) = (free_port(), free_port());
        let conf = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n[meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [monitor]\n  store-enabled = false\n[http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
             [ifql]\n  enabled = false\n",
            d = dir.display()
        );
        std::fs::write(dir.join("influxdb.conf"), conf).unwrap();
        Self {
            binary,
            dir,
            port,
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let child = Command::new(&self.binary)
            .arg("run")
            .arg("-config")
            .arg(self.dir.join("influxdb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let t0 = Instant::now();
        while ping(&self.url()).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(30), "influxd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn influx_server_stopped_mid_run() {
    let Some(binary) = Influxd::find() else {
        assert!(
            std::env::var(ENV).is_err(),
            "{ENV} is set but no influxd binary was found"
        );
        eprintln!("skipping: no influxd binary on PATH (or PRUDENTIA_INFLUXD)");
        return;
    };
    let mut server = Influxd::new(binary);
    server.start();
    let db = unique_db("down");
    let config = InfluxConfig {
        capacity: 256,
        batch_size: 100,
        max_retries: 2,
        backoff_initial_ms: 200,
        backoff_max_ms: 400,
        timeout_ms: 1000,
        ..v1(&server.url(), &db)
    };
    query(&config, &format!("CREATE DATABASE \"{db}\""));
    let emitted = Arc::new(Mutex::new(Vec::new()));
    let monitor = Monitor::new(MonitorConfig::default())
        .unwrap()
        .with_sink(Box::new(InfluxWriter::spawn(config.clone()).unwrap()))
        .with_sink(Box::new(Copy(Arc::clone(&emitted))));
    let monitor = Arc::new(Mutex::new(monitor));
    let snapshots = market_snapshots(200);
    let mut pipeline = chain(&snapshots, Arc::clone(&monitor));
    let stats = |m: &Arc<Mutex<Monitor>>| {
        let m = m.lock().unwrap();
        let r = m.registry();
        let r = r.lock().unwrap();
        r.value("prudentia_monitor_dropped_points_total", &[])
            .unwrap_or(0.0)
    };
    let step = |pipeline: &mut Pipeline, t: usize| -> Duration {
        let t0 = Instant::now();
        let report = pipeline.decide(&snapshots[t]).unwrap();
        let took = t0.elapsed();
        let universe: Vec<_> = snapshots[0].assets.iter().map(|a| a.id.clone()).collect();
        let realized = realized_returns(&universe, &snapshots[t], &snapshots[t + 1]);
        pipeline
            .learn(&Outcome {
                time: Some(snapshots[t + 1].time),
                realized_returns: realized,
                fills: vec![],
                equity: None,
            })
            .unwrap();
        let _ = report;
        took
    };
    // phase 1: server up
    let mut up = Vec::new();
    for t in 0..60 {
        up.push(step(&mut pipeline, t));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(monitor.lock().unwrap().flush(Duration::from_secs(10)));
    assert_eq!(stats(&monitor), 0.0, "points dropped while the server was up");
    // phase 2: server down; decide does not wait for it, points are dropped and counted
    server.stop();
    let mut down = Vec::new();
    for t in 60..120 {
        down.push(step(&mut pipeline, t));
        std::thread::sleep(Duration::from_millis(20));
    }
    let slowest = down.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_millis(200),
        "a decide took {slowest:?} while the server was down"
    );
    let dropped_down = stats(&monitor);
    assert!(
        dropped_down > 0.0,
        "no point was dropped while the server was down"
    );
    // phase 3: server back; writing resumes
    server.start();
    let phase3_start = snapshots[120].time.as_nanos();
    let dropped_before = stats(&monitor);
    // a live feed: one decision every 20 ms
    for t in 120..snapshots.len() - 1 {
        let _ = step(&mut pipeline, t);
        std::thread::sleep(Duration::from_millis(20));
    }
    let sinks = monitor.lock().unwrap().take_sinks();
    drop(sinks); // closes the writer: posts what is queued
    let dropped_after = stats(&monitor);
    let emitted_phase3 = emitted
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.measurement == "decision" && p.time.as_nanos() >= phase3_start)
        .count() as u64;
    let stored_phase3 = count(
        &config,
        "decision",
        "step",
        &format!("WHERE time >= {phase3_start}"),
    );
    assert!(stored_phase3 > 0, "nothing written after the server came back");
    eprintln!(
        "decide while up: max {:?}; while down: max {slowest:?}; dropped while down {dropped_down}; \
         phase-3 decisions emitted {emitted_phase3}, stored {stored_phase3}, dropped {dropped_after} (before {dropped_before})",
        up.iter().max().unwrap()
    );
    // what was not stored after the restart was dropped while the channel still held the
    // points of the outage
    assert!(stored_phase3 <= emitted_phase3);
    // once the backlog is through, nothing is lost: the last 20 decisions are all stored
    let last20 = snapshots[snapshots.len() - 21].time.as_nanos();
    assert_eq!(
        count(&config, "decision", "step", &format!("WHERE time >= {last20}")),
        20
    );
    let stored_phase1 = count(
        &config,
        "decision",
        "step",
        &format!("WHERE time < {}", snapshots[60].time.as_nanos()),
    );
    assert_eq!(stored_phase1, 60, "phase-1 decisions are all stored");
}
