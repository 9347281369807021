//! Behaviour of the monitor: alert rules, refusals that change nothing, checkpoints.

use prudentia_core::Timestamp;
use prudentia_monitor::{
    AlertConfig, AlertRule, DecisionMetrics, MemorySink, Monitor, MonitorConfig, MonitorError, MonitorState,
    OutcomeMetrics,
};

fn day(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY)
}

fn decision(t: i64) -> DecisionMetrics {
    DecisionMetrics {
        time: day(t),
        regime: "risk_on".into(),
        forecasts: vec![("A".into(), 0.0, 0.01), ("B".into(), 0.0, 0.01)],
        orders: vec![("A".into(), Some(5.0))],
        gross_exposure: 1.0,
        net_exposure: 1.0,
        ..Default::default()
    }
}

fn outcome(t: i64, equity: f64, r: f64) -> OutcomeMetrics {
    OutcomeMetrics {
        time: day(t),
        equity,
        realized_returns: vec![("A".into(), r), ("B".into(), r)],
        fill_costs_bps: vec![("A".into(), 6.0)],
    }
}

fn rules(obs: &prudentia_monitor::Observation) -> Vec<AlertRule> {
    obs.alerts.iter().map(|a| a.rule).collect()
}

#[test]
fn coverage_alerts_per_regime_after_min_samples() {
    let config = MonitorConfig {
        alerts: AlertConfig {
            coverage_window: 20,
            coverage_min_samples: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut m = Monitor::new(config).unwrap();
    // realized 5 sigma away: never covered
    for t in 1..=4 {
        let _ = m.on_decision(&decision(t)).unwrap();
        let obs = m.on_outcome(&outcome(t, 100.0, 0.05)).unwrap();
        assert!(rules(&obs).is_empty(), "{t}: {} samples < 10", 2 * t);
    }
    let _ = m.on_decision(&decision(5)).unwrap();
    let obs = m.on_outcome(&outcome(5, 100.0, 0.05)).unwrap();
    assert_eq!(rules(&obs), vec![AlertRule::CoverageLow]);
    assert_eq!(obs.alerts[0].subject.as_deref(), Some("risk_on"));
    assert_eq!(obs.alerts[0].value, 0.0);
    // always covered: coverage 1 > 0.99
    let mut m = Monitor::new(MonitorConfig {
        alerts: AlertConfig {
            coverage_window: 20,
            coverage_min_samples: 10,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let mut last = None;
    for t in 1..=5 {
        let _ = m.on_decision(&decision(t)).unwrap();
        last = Some(m.on_outcome(&outcome(t, 100.0, 0.0)).unwrap());
    }
    assert_eq!(rules(&last.unwrap()), vec![AlertRule::CoverageHigh]);
    let r = m.registry();
    let r = r.lock().unwrap();
    assert_eq!(
        r.value("prudentia_interval_coverage", &[("regime", "risk_on")]),
        Some(1.0)
    );
    assert_eq!(
        r.value("prudentia_alerts_total", &[("rule", "coverage_high")]),
        Some(1.0)
    );
}

#[test]
fn fallback_rate_drift_cost_and_drawdown() {
    let mut m = Monitor::new(MonitorConfig {
        alerts: AlertConfig {
            fallback_window: 4,
            max_fallback_rate: 0.5,
            max_cost_error_bps: 0.5,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let fb = |t| DecisionMetrics {
        fallback: Some("warming up".into()),
        ..decision(t)
    };
    for t in 1..=3 {
        assert!(
            rules(&m.on_decision(&fb(t)).unwrap()).is_empty(),
            "window not full"
        );
    }
    assert_eq!(
        rules(&m.on_decision(&fb(4)).unwrap()),
        vec![AlertRule::FallbackRate]
    );
    let drift = DecisionMetrics {
        drift: vec![("x".into(), 0.3, 0.05), ("y".into(), 0.1, 0.2)],
        ..decision(5)
    };
    let obs = m.on_decision(&drift).unwrap();
    assert_eq!(
        rules(&obs),
        vec![AlertRule::FallbackRate, AlertRule::DriftPsi, AlertRule::DriftKs]
    );
    assert_eq!(obs.alerts[1].subject.as_deref(), Some("x"));
    assert_eq!(obs.alerts[2].subject.as_deref(), Some("y"));
    // realized 6 bps vs expected 5: error 1 bps > 0.5
    let obs = m.on_outcome(&outcome(5, 100.0, 0.0)).unwrap();
    assert_eq!(rules(&obs), vec![AlertRule::CostModelError]);
    assert_eq!(obs.alerts[0].value, 1.0);
    let _ = m.on_decision(&decision(6)).unwrap();
    let obs = m
        .on_outcome(&OutcomeMetrics {
            fill_costs_bps: vec![],
            ..outcome(6, 75.0, 0.0)
        })
        .unwrap();
    assert_eq!(rules(&obs), vec![AlertRule::Drawdown]);
    assert_eq!(obs.alerts[0].value, 0.25);
    assert_eq!(m.take_alerts().len(), 6); // 1 + 3 + 1 + 1 (at t = 6 the rate is 0.5, not above)
    assert!(m.take_alerts().is_empty());
}

#[test]
fn refused_input_changes_nothing() {
    let mut m = Monitor::new(MonitorConfig::default())
        .unwrap()
        .with_sink(Box::new(MemorySink::default()));
    let _ = m.on_decision(&decision(1)).unwrap();
    let _ = m.on_outcome(&outcome(1, 100.0, 0.0)).unwrap();
    let state = m.state().clone();
    let text = m.registry().lock().unwrap().render();
    let bad_decisions = [
        DecisionMetrics {
            change_probability: f64::NAN,
            ..decision(2)
        },
        DecisionMetrics {
            change_probability: 1.5,
            ..decision(2)
        },
        DecisionMetrics {
            gross_exposure: f64::INFINITY,
            ..decision(2)
        },
        DecisionMetrics {
            gross_exposure: -1.0,
            ..decision(2)
        },
        DecisionMetrics {
            net_exposure: f64::NAN,
            ..decision(2)
        },
        DecisionMetrics {
            turnover: f64::NEG_INFINITY,
            ..decision(2)
        },
        DecisionMetrics {
            forecasts: vec![("A".into(), 0.0, 0.0)],
            ..decision(2)
        },
        DecisionMetrics {
            forecasts: vec![("A".into(), f64::NAN, 0.1)],
            ..decision(2)
        },
        DecisionMetrics {
            orders: vec![("A".into(), Some(f64::NAN))],
            ..decision(2)
        },
        DecisionMetrics {
            stage_seconds: vec![("s".into(), -1.0)],
            ..decision(2)
        },
        DecisionMetrics {
            drift: vec![("x".into(), 0.1, 2.0)],
            ..decision(2)
        },
        DecisionMetrics {
            regime_probabilities: vec![("r".into(), f64::NAN)],
            ..decision(2)
        },
        DecisionMetrics {
            regime: "a\nb".into(),
            ..decision(2)
        },
        DecisionMetrics {
            stage_seconds: vec![("".into(), 1.0)],
            ..decision(2)
        },
        DecisionMetrics {
            fallback: Some("ok".into()),
            drift: vec![("x\\".into(), 0.1, 0.1)],
            ..decision(2)
        },
    ];
    for d in &bad_decisions {
        assert!(m.on_decision(d).is_err(), "{d:?}");
    }
    let bad_outcomes = [
        OutcomeMetrics {
            equity: f64::NAN,
            ..outcome(2, 1.0, 0.0)
        },
        OutcomeMetrics {
            equity: -1.0,
            ..outcome(2, 1.0, 0.0)
        },
        outcome(2, 100.0, f64::INFINITY),
        OutcomeMetrics {
            fill_costs_bps: vec![("A".into(), f64::NAN)],
            ..outcome(2, 1.0, 0.0)
        },
    ];
    for o in &bad_outcomes {
        assert!(m.on_outcome(o).is_err(), "{o:?}");
    }
    assert_eq!(m.state(), &state);
    assert_eq!(m.registry().lock().unwrap().render(), text);
}

#[test]
fn extreme_finite_input_stays_finite() {
    let mut m = Monitor::new(MonitorConfig::default()).unwrap();
    for (t, x) in [(1, 1e300), (2, f64::MAX), (3, 5e-324), (4, -f64::MAX)] {
        let d = DecisionMetrics {
            net_exposure: x,
            gross_exposure: x.abs(),
            forecasts: vec![("A".into(), x, x.abs().max(5e-324))],
            orders: vec![("A".into(), Some(x)), ("B".into(), Some(x))],
            ..decision(t)
        };
        let _ = m.on_decision(&d).unwrap();
        let o = OutcomeMetrics {
            equity: x.abs(),
            realized_returns: vec![("A".into(), x)],
            fill_costs_bps: vec![("A".into(), -x), ("A".into(), -x)],
            ..outcome(t, 1.0, 0.0)
        };
        let obs = m.on_outcome(&o).unwrap();
        assert!(obs.alerts.iter().all(|a| a.value.is_finite()));
    }
    let json = serde_json::to_string(m.state()).unwrap();
    let back: MonitorState = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, m.state());
    assert!(!m.registry().lock().unwrap().render().contains("inf"));
}

#[test]
fn checkpoint_round_trip_and_tampering() {
    let mut m = Monitor::new(MonitorConfig::default()).unwrap();
    for t in 1..=30 {
        let _ = m.on_decision(&decision(t)).unwrap();
        let _ = m.on_outcome(&outcome(t, 100.0 + t as f64, 0.001)).unwrap();
    }
    let _ = m.on_decision(&decision(31)).unwrap();
    let json = serde_json::to_string(m.state()).unwrap();
    let state: MonitorState = serde_json::from_str(&json).unwrap();
    let mut restored = Monitor::restore(state);
    let a = m.on_outcome(&outcome(31, 90.0, 0.05)).unwrap();
    let b = restored.on_outcome(&outcome(31, 90.0, 0.05)).unwrap();
    assert_eq!(a.alerts, b.alerts);
    assert_eq!(m.state(), restored.state());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["equity_peak"] = serde_json::json!(-1.0);
    assert!(serde_json::from_value::<MonitorState>(v.clone()).is_err());
    v["equity_peak"] = serde_json::json!(1.0);
    v["config"]["alerts"]["fallback_window"] = serde_json::json!(0);
    assert!(serde_json::from_value::<MonitorState>(v.clone()).is_err());
    v["config"]["alerts"]["fallback_window"] = serde_json::json!(2);
    assert!(
        serde_json::from_value::<MonitorState>(v).is_err(),
        "window longer than its length"
    );
}

#[test]
fn config_validation() {
    let bad = [
        AlertConfig {
            max_drawdown: 0.0,
            ..Default::default()
        },
        AlertConfig {
            max_drawdown: f64::NAN,
            ..Default::default()
        },
        AlertConfig {
            max_psi: -1.0,
            ..Default::default()
        },
        AlertConfig {
            max_ks: 1.5,
            ..Default::default()
        },
        AlertConfig {
            coverage_z: f64::INFINITY,
            ..Default::default()
        },
        AlertConfig {
            coverage_low: 0.99,
            coverage_high: 0.9,
            ..Default::default()
        },
        AlertConfig {
            coverage_window: 0,
            ..Default::default()
        },
        AlertConfig {
            coverage_window: usize::MAX,
            ..Default::default()
        },
        AlertConfig {
            coverage_min_samples: 251,
            ..Default::default()
        },
        AlertConfig {
            max_fallback_rate: 1.1,
            ..Default::default()
        },
        AlertConfig {
            fallback_window: 1 << 40,
            ..Default::default()
        },
        AlertConfig {
            max_cost_error_bps: 0.0,
            ..Default::default()
        },
    ];
    for a in bad {
        assert!(a.validate().is_err(), "{a:?}");
        assert!(Monitor::new(MonitorConfig {
            alerts: a,
            ..Default::default()
        })
        .is_err());
    }
    assert!(matches!(
        Monitor::new(MonitorConfig {
            textfile_every: 0,
            ..Default::default()
        }),
        Err(MonitorError::Core(_))
    ));
    assert!(Monitor::new(MonitorConfig {
        tags: vec![("k".into(), "".into())],
        ..Default::default()
    })
    .is_err());
    let nominal = AlertConfig::default().nominal_coverage();
    assert!((nominal - 0.95).abs() < 1e-4, "{nominal}");
}

#[test]
fn textfile_failures_are_reported_not_fatal() {
    let mut m = Monitor::new(MonitorConfig {
        textfile: Some(
            std::env::temp_dir()
                .join("prudentia-no-such-dir-xyz")
                .join("p.prom"),
        ),
        textfile_every: 1,
        ..Default::default()
    })
    .unwrap();
    let obs = m.on_decision(&decision(1)).unwrap();
    assert_eq!(obs.export_errors.len(), 1);
    assert!(matches!(obs.export_errors[0], MonitorError::Io { .. }));
    let r = m.registry();
    assert_eq!(
        r.lock()
            .unwrap()
            .value("prudentia_monitor_export_errors_total", &[]),
        Some(1.0)
    );
}
