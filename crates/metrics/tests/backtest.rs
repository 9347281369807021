//! `Report::for_backtest` from core decisions and outcomes.

use prudentia_core::{
    AssetId, Decision, DecisionStatus, Fill, Forecast, Horizon, Order, OrderType, Outcome, RegimeLabel,
    RegimeState, Side, Timestamp, Weights,
};
use prudentia_metrics::*;

fn day(i: usize) -> Timestamp {
    Timestamp::from_nanos((i as i64 + 1) * Timestamp::NANOS_PER_DAY)
}

type Run = (Vec<Timestamp>, Vec<f64>, Vec<f64>, Vec<Decision>, Vec<Outcome>);

fn run(n: usize) -> Run {
    let ids: Vec<AssetId> = ["A", "B", "C"].iter().map(|s| AssetId::new(*s)).collect();
    let mut decisions = Vec::new();
    let mut outcomes = Vec::new();
    let mut returns = Vec::new();
    for i in 0..n {
        let f = Forecast::new(0.001, 0.01, Horizon::DAY).unwrap();
        let mut regime = RegimeState::certain(if i < n / 2 {
            RegimeLabel::RISK_ON
        } else {
            RegimeLabel::RISK_OFF
        });
        regime.changed = i == n / 2;
        let status = if i % 10 == 9 {
            DecisionStatus::SafeFallback {
                reasons: vec!["stale".into()],
            }
        } else {
            DecisionStatus::Normal
        };
        let order = Order::new(ids[0].clone(), Side::Buy, 100.0, OrderType::Market).unwrap();
        decisions.push(Decision {
            time: day(i),
            status,
            regime,
            forecasts: ids.iter().map(|a| (a.clone(), f.clone())).collect(),
            selected: vec![ids[0].clone(), ids[1].clone()],
            target: Weights::new(vec![ids[0].clone(), ids[1].clone()], vec![0.5, 0.5]).unwrap(),
            sized: Weights::new(vec![ids[0].clone(), ids[1].clone()], vec![0.4, 0.4]).unwrap(),
            orders: vec![order],
        });
        // Realized: A is always best, C always worst, B in between.
        let base = ((i as f64) * 0.9).sin() * 0.01;
        let realized = vec![
            (ids[0].clone(), base + 0.01),
            (ids[1].clone(), base),
            (ids[2].clone(), base - 0.01),
        ];
        returns.push(0.4 * (base + 0.01) + 0.4 * base);
        outcomes.push(Outcome {
            time: Some(day(i)),
            realized_returns: realized,
            fills: vec![Fill {
                asset: ids[0].clone(),
                time: day(i),
                side: Side::Buy,
                quantity: 50.0,
                price: 100.1,
                arrival_price: 100.0,
                order_type: OrderType::Market,
                venue: None,
            }],
            equity: None,
        });
    }
    let times = (0..n).map(day).collect();
    (times, returns, vec![0.1; n], decisions, outcomes)
}

#[test]
fn every_section_is_filled() {
    let (times, returns, turnover, decisions, outcomes) = run(100);
    let rec = BacktestRecord {
        times: &times,
        returns: &returns,
        turnover: &turnover,
        decisions: &decisions,
        outcomes: &outcomes,
    };
    let rep = Report::for_backtest(ReportConfig::default(), &rec).unwrap();
    let sel = rep.selector.as_ref().unwrap();
    // Selected {A, B} of {A, B, C}: the best two, so zero regret and full hit rate.
    assert_eq!(sel.decisions, 100);
    assert_eq!(sel.mean_regret, 0.0);
    assert_eq!(sel.mean_hit_rate, 1.0);
    let sizer = rep.sizer.as_ref().unwrap();
    let e = sizer.exposure.unwrap();
    assert!((e.mean_gross - 0.8).abs() < 1e-12);
    assert!(sizer.pnl_per_turnover.is_defined());
    let ex = rep.execution.as_ref().unwrap();
    assert!((ex.implementation_shortfall_bps - 10.0).abs() < 1e-9);
    assert_eq!(ex.fill_rate, Some(Stat::Value(0.5)));
    let h = rep.health.as_ref().unwrap();
    assert_eq!(h.fallbacks.unwrap().fallbacks, 10);
    assert_eq!(h.regimes.as_ref().unwrap().changes, 1);
    assert_eq!(h.calibration.as_ref().unwrap().samples, 300);
    let table = rep.to_string();
    assert!(table.contains("health: decision fallbacks"), "{table}");
    let back: Report = serde_json::from_str(&rep.to_json().unwrap()).unwrap();
    assert_eq!(back, rep);
}

#[test]
fn returns_only_and_shape_errors() {
    let (times, returns, turnover, decisions, outcomes) = run(20);
    let bare = BacktestRecord {
        times: &times,
        returns: &returns,
        turnover: &turnover,
        decisions: &[],
        outcomes: &[],
    };
    let rep = Report::for_backtest(ReportConfig::default(), &bare).unwrap();
    assert!(rep.selector.is_none() && rep.health.is_none() && rep.execution.is_none());
    assert!(rep.sizer.is_some());
    let bad = BacktestRecord {
        turnover: &turnover[1..],
        ..bare
    };
    assert!(Report::for_backtest(ReportConfig::default(), &bad).is_err());
    let bad = BacktestRecord {
        decisions: &decisions[1..],
        ..bare
    };
    assert!(Report::for_backtest(ReportConfig::default(), &bad).is_err());
    let bad = BacktestRecord {
        outcomes: &outcomes,
        ..bare
    };
    assert!(Report::for_backtest(ReportConfig::default(), &bad).is_err());
}
