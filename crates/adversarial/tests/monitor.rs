//! prudentia-monitor under bad input: line-protocol encoding, the Prometheus registry, the
//! monitor's decision/outcome entry points and configs, the InfluxDB writer's config and
//! pushes, and checkpoint mutation of every serde type with state (`MonitorState`,
//! `MonitorConfig`, `AlertConfig`, `InfluxConfig`); plus a pipeline with the
//! `MonitorObserver` attached on corrupted snapshots.

use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::Timestamp;
use prudentia_monitor::influx::{InfluxConfig, InfluxWriter};
use prudentia_monitor::prom::Registry;
use prudentia_monitor::{
    encode, AlertConfig, DecisionMetrics, Monitor, MonitorConfig, MonitorState, OutcomeMetrics, Point,
};

const BAD: [f64; 9] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    -0.0,
];
const NAMES: [&str; 10] = [
    "", " ", "a b", "a,b=c", "a\nb", "a\\", "a\\ b", "\"q\"", "é✓", "\r",
];

fn t(d: i64) -> Timestamp {
    Timestamp::from_nanos(d.saturating_mul(Timestamp::NANOS_PER_DAY))
}

fn decision(d: i64) -> DecisionMetrics {
    DecisionMetrics {
        time: t(d),
        regime: "risk_on".into(),
        change_probability: 0.1,
        regime_probabilities: vec![("risk_on".into(), 0.9), ("risk_off".into(), 0.1)],
        forecasts: vec![("A".into(), 0.001, 0.01), ("B".into(), -0.001, 0.02)],
        selected: 2,
        orders: vec![("A".into(), Some(5.0)), ("B".into(), None)],
        gross_exposure: 1.0,
        net_exposure: 0.5,
        turnover: 0.2,
        stage_seconds: vec![("optimize".into(), 1e-3)],
        drift: vec![("x".into(), 0.1, 0.05)],
        ..Default::default()
    }
}

fn outcome(d: i64) -> OutcomeMetrics {
    OutcomeMetrics {
        time: t(d),
        equity: 100.0,
        realized_returns: vec![("A".into(), 0.01), ("B".into(), -0.02)],
        fill_costs_bps: vec![("A".into(), 6.0)],
    }
}

/// A monitor that has seen a few events.
fn warmed() -> Monitor {
    let mut m = Monitor::new(MonitorConfig::default()).unwrap();
    for d in 1..=5 {
        let _ = m.on_decision(&decision(d)).unwrap();
        let _ = m.on_outcome(&outcome(d)).unwrap();
    }
    let _ = m.on_decision(&decision(6)).unwrap();
    m
}

/// Uses a monitor: one decision and one outcome; every alert and the exposition finite.
fn use_monitor(m: &mut Monitor) -> Check {
    let a = m.on_decision(&decision(100)).map(|o| o.alerts);
    let b = m.on_outcome(&outcome(100)).map(|o| o.alerts);
    let text = m.registry().lock().map(|r| r.render()).unwrap_or_default();
    let clean = !text.contains("NaN") && !text.replace("le=\"+Inf\"", "").contains("Inf");
    result_with(a.and_then(|a| b.map(|b| (a, b))), |_| {
        if clean {
            Ok(())
        } else {
            Err("non-finite value in the exposition".into())
        }
    })
}

#[test]
fn line_protocol_and_registry() {
    let mut s = Suite::new("monitor: line protocol + registry");
    for x in BAD {
        s.check(format!("Point float field {x:e}"), move || {
            result(Point::new("m", t(1)).field("x", x).to_line())
        });
        s.check(format!("Registry::set_gauge {x:e}"), move || {
            let mut r = Registry::new();
            let res = r.set_gauge("g", "h", &[], x);
            Check::invariant(
                res.is_ok() == x.is_finite(),
                "gauge accepts exactly the finite values",
            )
            .and(|| Check::invariant(!r.render().contains("NaN"), "no NaN rendered"))
        });
        s.check(format!("Registry::inc_counter twice {x:e}"), move || {
            let mut r = Registry::new();
            let a = r.inc_counter("c_total", "h", &[], x);
            let b = r.inc_counter("c_total", "h", &[], x);
            let v = r.value("c_total", &[]).unwrap_or(0.0);
            Check::invariant(
                v.is_finite() && v >= 0.0,
                format!("counter {v} after {a:?} {b:?}"),
            )
        });
        s.check(format!("Registry::observe {x:e}"), move || {
            let mut r = Registry::new();
            let _ = r.observe("h_seconds", "h", &[("stage", "s")], x);
            let _ = r.observe("h_seconds", "h", &[("stage", "s")], x);
            Check::invariant(
                !r.render().contains("inf") && !r.render().contains("NaN"),
                "finite sums",
            )
        });
    }
    for name in NAMES {
        s.check(format!("Point names {name:?}"), move || {
            let p = Point::new(name, t(1)).tag(name, name).field(name, name);
            result(p.to_line())
        });
        s.check(format!("Registry names {name:?}"), move || {
            let mut r = Registry::new();
            let res = r.set_gauge(name, name, &[(name, name)], 1.0);
            // a label value may hold anything; names must be valid
            result(res.map(|()| r.render()))
        });
    }
    s.check("encode empty", || result(encode(&[])));
    s.check("Point without field", || result(Point::new("m", t(1)).to_line()));
    s.check("Point at i64::MIN/MAX", || {
        result(encode(&[
            Point::new("m", Timestamp::from_nanos(i64::MIN)).field("x", i64::MIN),
            Point::new("m", Timestamp::from_nanos(i64::MAX)).field("x", i64::MAX),
        ]))
    });
    s.sweep(
        "Point sweep",
        (any_f64(), "[ -~\n\r\\\\\",=é]{0,12}", "[ -~\n\\\\\",=]{0,12}"),
        |(x, tag, sv)| {
            let p = Point::new("m", t(1)).tag("k", tag).field("x", x).field("s", sv);
            result_with(p.to_line(), |line| {
                if line.matches('\n').count()
                    <= p.fields
                        .iter()
                        .map(|(_, v)| format!("{v:?}").matches("\\n").count())
                        .sum()
                {
                    Ok(())
                } else {
                    Err("a newline outside a string field".into())
                }
            })
        },
    );
    s.sweep(
        "Registry sweep",
        (any_f64(), any_f64(), "[a-z_]{1,6}"),
        |(a, b, label)| {
            let mut r = Registry::new();
            let _ = r.set_gauge("g", "h", &[("l", &label)], a);
            let _ = r.inc_counter("c_total", "h", &[("l", &label)], b.abs());
            let _ = r.observe("h_seconds", "h", &[("l", &label)], a);
            let text = r.render();
            Check::invariant(
                !text.contains("NaN") && !text.contains("inf"),
                "finite exposition",
            )
        },
    );
    s.check("Registry: many series stop at the limit", || {
        let mut r = Registry::new();
        let mut refused = 0;
        for i in 0..prudentia_monitor::prom::MAX_SERIES + 10 {
            if r.set_gauge("g", "h", &[("i", &i.to_string())], 1.0).is_err() {
                refused += 1;
            }
        }
        Check::invariant(
            refused == 10 && r.len() == prudentia_monitor::prom::MAX_SERIES,
            "series limit",
        )
    });
    s.finish();
}

#[test]
fn monitor_entry_points() {
    let mut s = Suite::new("monitor");

    // configs
    for x in BAD {
        for field in 0..7 {
            s.check(format!("AlertConfig field {field} = {x:e}"), move || {
                let mut a = AlertConfig::default();
                match field {
                    0 => a.max_drawdown = x,
                    1 => a.max_psi = x,
                    2 => a.max_ks = x,
                    3 => a.coverage_z = x,
                    4 => a.coverage_low = x,
                    5 => a.max_fallback_rate = x,
                    _ => a.max_cost_error_bps = x,
                }
                match Monitor::new(MonitorConfig {
                    alerts: a,
                    ..Default::default()
                }) {
                    Ok(mut m) => use_monitor(&mut m),
                    Err(_) => Check::Rejected,
                }
            });
        }
    }
    for n in [0usize, 1, 1 << 40, usize::MAX] {
        s.check(format!("AlertConfig windows {n}"), move || {
            let a = AlertConfig {
                coverage_window: n,
                coverage_min_samples: n.min(1),
                fallback_window: n,
                ..Default::default()
            };
            match Monitor::new(MonitorConfig {
                alerts: a,
                ..Default::default()
            }) {
                Ok(mut m) => use_monitor(&mut m),
                Err(_) => Check::Rejected,
            }
        });
        s.check(format!("InfluxConfig sizes {n}"), move || {
            let c = InfluxConfig {
                batch_size: n,
                capacity: n,
                ..Default::default()
            };
            result(InfluxWriter::spawn(c).map(|w| w.close()))
        });
    }
    for url in [
        "",
        "http://",
        "https://127.0.0.1:8086",
        "http://127.0.0.1:99999",
        "http://a b",
        "http://h/\r\n",
    ] {
        s.check(format!("InfluxConfig url {url:?}"), move || {
            let c = InfluxConfig {
                url: url.into(),
                ..Default::default()
            };
            result(InfluxWriter::spawn(c).map(|w| w.close()))
        });
    }
    for u in [0u64, u64::MAX] {
        s.check(format!("InfluxConfig times {u}"), move || {
            let c = InfluxConfig {
                flush_interval_ms: u,
                backoff_initial_ms: u,
                backoff_max_ms: u,
                timeout_ms: u,
                ..Default::default()
            };
            result(InfluxWriter::spawn(c).map(|w| w.close()))
        });
    }
    s.check("InfluxWriter push of bad points", || {
        let w = match InfluxWriter::spawn(InfluxConfig::default()) {
            Ok(w) => w,
            Err(e) => return Check::Broken(format!("default config refused: {e}")),
        };
        let bad = [
            Point::new("m", t(1)).field("x", f64::NAN),
            Point::new("", t(1)).field("x", 1.0),
            Point::new("m", t(1)),
        ];
        let refused = bad.iter().all(|p| w.push(p).is_err()) && w.push_all(&bad).is_err();
        let stats = w.close();
        Check::invariant(
            refused && stats.queued == 0,
            "bad points are refused, nothing queued",
        )
    });

    // decisions: every numeric field through the bad values
    for x in BAD {
        for field in 0..10 {
            s.check(format!("on_decision field {field} = {x:e}"), move || {
                let mut d = decision(7);
                match field {
                    0 => d.change_probability = x,
                    1 => d.regime_probabilities[0].1 = x,
                    2 => d.forecasts[0].1 = x,
                    3 => d.forecasts[0].2 = x,
                    4 => d.orders[0].1 = Some(x),
                    5 => d.gross_exposure = x,
                    6 => d.net_exposure = x,
                    7 => d.turnover = x,
                    8 => d.stage_seconds[0].1 = x,
                    _ => d.drift[0].1 = x,
                }
                let mut m = warmed();
                let before = m.state().clone();
                match m.on_decision(&d) {
                    Ok(o) => result(Ok::<_, String>(o.alerts)).and(|| use_monitor(&mut m)),
                    Err(_) => Check::invariant(m.state() == &before, "a refused decision changes nothing"),
                }
            });
        }
        for field in 0..3 {
            s.check(format!("on_outcome field {field} = {x:e}"), move || {
                let mut o = outcome(7);
                match field {
                    0 => o.equity = x,
                    1 => o.realized_returns[0].1 = x,
                    _ => o.fill_costs_bps[0].1 = x,
                }
                let mut m = warmed();
                let before = m.state().clone();
                match m.on_outcome(&o) {
                    Ok(obs) => result(Ok::<_, String>(obs.alerts)).and(|| use_monitor(&mut m)),
                    Err(_) => Check::invariant(m.state() == &before, "a refused outcome changes nothing"),
                }
            });
        }
    }
    s.check("on_decision empty", || {
        let mut m = warmed();
        result(m.on_decision(&DecisionMetrics::default()).map(|o| o.alerts))
    });
    s.check("on_outcome empty", || {
        let mut m = warmed();
        result(m.on_outcome(&OutcomeMetrics::default()).map(|o| o.alerts))
    });
    s.check("on_decision 1<<17 regime labels", || {
        let mut m = warmed();
        let d = DecisionMetrics {
            regime_probabilities: (0..(1 << 17)).map(|i| (format!("r{i}"), 0.0)).collect(),
            ..decision(7)
        };
        result(m.on_decision(&d).map(|o| o.alerts))
    });
    s.check("on_decision duplicated times", || {
        let mut m = warmed();
        let a = m.on_decision(&decision(1)).map(|o| o.alerts);
        let b = m.on_decision(&decision(1)).map(|o| o.alerts);
        result(a.and_then(|a| b.map(|b| (a, b))))
    });
    s.sweep(
        "on_decision sweep",
        (any_f64(), any_f64(), any_f64(), vec_f64(0..6), any_size()),
        |(p, g, mean, sigmas, n)| {
            let mut m = warmed();
            let d = DecisionMetrics {
                change_probability: p,
                gross_exposure: g,
                net_exposure: g,
                forecasts: sigmas
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (format!("A{i}"), mean, *s))
                    .collect(),
                selected: n,
                carried_prices: n,
                ..decision(8)
            };
            result(m.on_decision(&d).map(|o| o.alerts)).and(|| use_monitor(&mut m))
        },
    );
    s.sweep(
        "on_outcome sweep",
        (finite_f64(), vec_f64(0..6), vec_f64(0..4)),
        |(equity, returns, costs)| {
            let mut m = warmed();
            let o = OutcomeMetrics {
                time: t(8),
                equity,
                realized_returns: returns
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("A{i}"), *r))
                    .collect(),
                fill_costs_bps: costs.iter().map(|c| ("A0".to_string(), *c)).collect(),
            };
            result(m.on_outcome(&o).map(|o| o.alerts)).and(|| use_monitor(&mut m))
        },
    );

    // checkpoints: load, then use
    let state = warmed().state().clone();
    s.checkpoint("MonitorState", &state, |json| {
        match serde_json::from_str::<MonitorState>(&json) {
            Ok(state) => use_monitor(&mut Monitor::restore(state)),
            Err(_) => Check::Rejected,
        }
    });
    s.checkpoint(
        "MonitorConfig",
        &MonitorConfig::default(),
        |json| match serde_json::from_str::<MonitorConfig>(&json) {
            Ok(c) => match Monitor::new(c) {
                Ok(mut m) => use_monitor(&mut m),
                Err(e) => Check::Broken(format!("a loaded config is refused by Monitor::new: {e}")),
            },
            Err(_) => Check::Rejected,
        },
    );
    s.checkpoint(
        "AlertConfig",
        &AlertConfig::default(),
        |json| match serde_json::from_str::<AlertConfig>(&json) {
            Ok(a) => match Monitor::new(MonitorConfig {
                alerts: a,
                ..Default::default()
            }) {
                Ok(mut m) => use_monitor(&mut m),
                Err(e) => Check::Broken(format!("a loaded alert config is refused: {e}")),
            },
            Err(_) => Check::Rejected,
        },
    );
    s.checkpoint(
        "InfluxConfig",
        &InfluxConfig::default(),
        |json| match serde_json::from_str::<InfluxConfig>(&json) {
            Ok(c) => match InfluxWriter::spawn(c) {
                Ok(w) => result(Ok::<_, String>(w.close())),
                Err(e) => Check::Broken(format!("a loaded writer config is refused: {e}")),
            },
            Err(_) => Check::Rejected,
        },
    );
    s.finish();
}

#[test]
fn pipeline_with_monitor_observer() {
    use prudentia_core::traits::*;
    use prudentia_core::*;
    use prudentia_pipeline::{MonitorObserver, PipelineBuilder, PipelineConfig};
    use std::sync::{Arc, Mutex};

    struct Flat;
    impl Forecaster for Flat {
        fn forecast(&self, _: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
            Ok(Forecast::new(5e-4, 0.01, Horizon::DAY)?)
        }
    }
    struct Equal;
    impl Optimizer for Equal {
        fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
            let n = input.opportunities.len() as f64;
            let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
            let w = Weights::new(ids, vec![1.0 / n; input.opportunities.len()])?;
            Ok(TargetPortfolio {
                weights: w,
                status: Status::Converged,
            })
        }
    }

    let mut s = Suite::new("monitor: pipeline observer");
    s.sweep(
        "decide/learn with MonitorObserver",
        (vec_f64(8..9), any_f64()),
        |(prices, r)| {
            let ids: Vec<AssetId> = vec!["A".into(), "B".into()];
            let monitor = Arc::new(Mutex::new(Monitor::new(MonitorConfig::default()).unwrap()));
            let config = PipelineConfig {
                universe: ids.clone(),
                min_history: 2,
                history_window: 10,
                ..Default::default()
            };
            let mut p = match PipelineBuilder::new(config)
                .forecaster(Box::new(Flat))
                .optimizer(Box::new(Equal))
                .observer(Box::new(MonitorObserver::new(Arc::clone(&monitor))))
                .build()
            {
                Ok(p) => p,
                Err(e) => return Check::Broken(format!("build: {e}")),
            };
            for (d, pair) in prices.chunks(2).enumerate() {
                let time = Timestamp::from_nanos(d as i64 * Timestamp::NANOS_PER_DAY);
                let quotes = ids
                    .iter()
                    .zip(pair)
                    .map(|(id, p)| Quote {
                        asset: id.clone(),
                        time,
                        price: 50.0 + p,
                        volume: None,
                        spread_bps: None,
                    })
                    .collect();
                let assets = ids
                    .iter()
                    .filter_map(|id| AssetInfo::new(id.clone(), 50.0).ok())
                    .collect();
                let snap = MarketSnapshot {
                    time,
                    quotes,
                    indicators: vec![],
                    assets,
                };
                let _ = p.decide(&snap);
                let _ = p.learn(&Outcome {
                    time: Some(time),
                    realized_returns: vec![(ids[0].clone(), r)],
                    fills: vec![],
                    equity: None,
                });
            }
            let m = monitor.lock().unwrap_or_else(|e| e.into_inner());
            let text = m.registry().lock().map(|r| r.render()).unwrap_or_default();
            Check::invariant(!text.contains("NaN"), "finite exposition after a corrupted run")
        },
    );
    s.finish();
}
