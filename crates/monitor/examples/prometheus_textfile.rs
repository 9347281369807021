//! Runs the monitor over 300 synthetic decisions and outcomes (with a drawdown, fallbacks and
//! drift that fire alerts) and writes the Prometheus exposition to the path given as the first
//! argument (default `prudentia.prom`), atomically, for the node-exporter textfile collector.
//! CI checks the file with `promtool check metrics`.
//!
//! `cargo run -p prudentia-monitor --example prometheus_textfile -- /tmp/prudentia.prom`

use prudentia_core::Timestamp;
use prudentia_monitor::{DecisionMetrics, Monitor, MonitorConfig, MonitorError, OutcomeMetrics};

fn main() -> Result<(), MonitorError> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "prudentia.prom".into());
    let mut monitor = Monitor::new(MonitorConfig {
        textfile: Some(path.clone().into()),
        textfile_every: 50,
        tags: vec![("strategy".into(), "example".into())],
        ..Default::default()
    })?;
    let mut equity = 1e6;
    let mut alerts = 0;
    for t in 1..=300_i64 {
        let time = Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY);
        let regime = if (t / 50) % 2 == 0 { "risk_on" } else { "risk_off" };
        let fallback = (t < 30 || t % 17 == 0).then(|| "warming up".to_string());
        let obs = monitor.on_decision(&DecisionMetrics {
            time,
            fallback,
            regime: regime.into(),
            change_probability: if t % 50 == 0 { 0.8 } else { 0.02 },
            run_length: (t % 50) as usize,
            regime_probabilities: vec![("risk_on".into(), 0.6), ("risk_off".into(), 0.4)],
            forecasts: (0..20).map(|i| (format!("A{i}"), 1e-4, 0.01)).collect(),
            selected: 5,
            orders: (0..5).map(|i| (format!("A{i}"), Some(4.0))).collect(),
            gross_exposure: 1.2,
            net_exposure: 1.0,
            turnover: 0.1,
            stage_seconds: vec![
                ("forecast".into(), 2e-4),
                ("optimize".into(), 3e-3),
                ("size".into(), 5e-5),
            ],
            drift: vec![("momentum".into(), 0.05 * (t % 7) as f64, 0.02 * (t % 7) as f64)],
            ..Default::default()
        })?;
        alerts += obs.alerts.len();
        equity *= 1.0 + if (150..200).contains(&t) { -0.006 } else { 0.001 };
        let obs = monitor.on_outcome(&OutcomeMetrics {
            time,
            equity,
            realized_returns: (0..20)
                .map(|i| (format!("A{i}"), 0.012 * (((t + i) % 5) as f64 - 2.0)))
                .collect(),
            fill_costs_bps: (0..5).map(|i| (format!("A{i}"), 6.0 + (t % 40) as f64)).collect(),
        })?;
        alerts += obs.alerts.len();
    }
    let registry = monitor.registry();
    let registry = registry.lock().unwrap_or_else(|p| p.into_inner());
    registry.write_textfile(std::path::Path::new(&path))?;
    println!("wrote {path}: {} series, {alerts} alerts fired", registry.len());
    Ok(())
}
