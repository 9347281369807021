//! Per-decision cost of the monitor with both exporters attached: `on_decision` +
//! `on_outcome` for a decision of the root `benches/decide.rs` size (n = 500 forecasts,
//! K = 50 selected, 50 costed orders, 10 stage timings), with an `InfluxWriter` (its thread
//! posting to a local port) and the Prometheus registry (served on a local port and written
//! as a textfile every 10 decisions). Compare with the `decide` figure of `benches/decide.rs`.
#![allow(missing_docs)]

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia_core::Timestamp;
use prudentia_monitor::influx::{InfluxConfig, InfluxWriter};
use prudentia_monitor::{DecisionMetrics, Monitor, MonitorConfig, OutcomeMetrics};

const N: usize = 500;
const K: usize = 50;

fn metrics(t: i64) -> (DecisionMetrics, OutcomeMetrics) {
    let time = Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY);
    let d = DecisionMetrics {
        time,
        fallback: None,
        regime: "risk_on".into(),
        change_probability: 0.01,
        run_length: 40,
        regime_probabilities: vec![("risk_on".into(), 0.7), ("risk_off".into(), 0.3)],
        forecasts: (0..N)
            .map(|i| (format!("A{i:03}"), 1e-4 * (i % 7) as f64, 0.01 + 1e-4 * i as f64))
            .collect(),
        selected: K,
        orders: (0..K)
            .map(|i| (format!("A{i:03}"), Some(5.0 + i as f64 * 0.1)))
            .collect(),
        gross_exposure: 0.98,
        net_exposure: 0.98,
        turnover: 0.1,
        carried_prices: 0,
        unexecuted: 2,
        excluded: 0,
        optimizer_status: Some("optimal".into()),
        stage_seconds: [
            "guard",
            "history",
            "regime",
            "forecast",
            "calibrate",
            "select",
            "optimize",
            "size",
            "orders",
            "route",
        ]
        .iter()
        .map(|s| ((*s).to_string(), 1e-3))
        .collect(),
        drift: vec![],
    };
    let o = OutcomeMetrics {
        time,
        equity: 1e6 * (1.0 + 1e-4 * (t % 13) as f64),
        realized_returns: (0..N)
            .map(|i| (format!("A{i:03}"), 1e-3 * ((i % 5) as f64 - 2.0)))
            .collect(),
        fill_costs_bps: (0..K)
            .map(|i| (format!("A{i:03}"), 6.0 + (i % 3) as f64))
            .collect(),
    };
    (d, o)
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("prudentia-monitor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let textfile: PathBuf = dir.join("prudentia.prom");
    // a local port with nothing behind it, unless PRUDENTIA_INFLUXDB_URL points at a server
    let url = std::env::var("PRUDENTIA_INFLUXDB_URL").unwrap_or_else(|_| "http://127.0.0.1:9".into());
    let writer = InfluxWriter::spawn(InfluxConfig {
        url,
        max_retries: 0,
        timeout_ms: 200,
        ..Default::default()
    })
    .expect("writer");
    let mut monitor = Monitor::new(MonitorConfig {
        textfile: Some(textfile),
        textfile_every: 10,
        ..Default::default()
    })
    .expect("monitor")
    .with_sink(Box::new(writer));
    let _server = prudentia_monitor::prom::serve("127.0.0.1:0".parse().expect("addr"), monitor.registry())
        .expect("serve");
    let inputs: Vec<_> = (1..=1000).map(metrics).collect();
    let mut k = 0usize;
    c.bench_function(
        "observer: on_decision + on_outcome (n=500, K=50, influx + prometheus)",
        |b| {
            b.iter(|| {
                let (d, o) = &inputs[k % inputs.len()];
                k += 1;
                let _ = black_box(monitor.on_decision(black_box(d)).expect("decision"));
                let _ = black_box(monitor.on_outcome(black_box(o)).expect("outcome"));
            })
        },
    );
    // the same without exporters: the monitor's own work (alerts, points, registry)
    let mut bare = Monitor::new(MonitorConfig::default()).expect("monitor");
    c.bench_function(
        "observer: on_decision + on_outcome (n=500, K=50, no exporter)",
        |b| {
            b.iter(|| {
                let (d, o) = &inputs[k % inputs.len()];
                k += 1;
                let _ = black_box(bare.on_decision(black_box(d)).expect("decision"));
                let _ = black_box(bare.on_outcome(black_box(o)).expect("outcome"));
            })
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
