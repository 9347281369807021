//! The main example's chain on the shipped real data (shortened: forecaster and causal filter
//! fitted on 1995–2013 as in the example, 130 daily decisions from 2014), with all eleven stages — the causal
//! filter refitted in the learn flow, expected costs, routing by LinUCB, fills from the
//! simulated broker learned by the cost model and the router — recorded in an audit log
//! through the pipeline's audit sink, replays with every decision bit-identical; a
//! deliberately changed model is caught at its first differing decision; and a policy diff
//! compares the policy without the causal filter. The chain is the example's own code
//! (`examples/support/chain.rs`).

#[path = "../examples/support/chain.rs"]
mod chain;

use chain::{build_pipeline, load, Policy, Replayed, Setup};
use chrono::NaiveDate;
use prudentia::audit::{policy_diff, replay, AuditLog, Durability, LogConfig};
use prudentia::core::DecisionStatus;
use prudentia::pipeline::{walk_forward_with_prices, BacktestConfig, Pipeline, Shared};

const DAYS: usize = 130;

fn policy(causal: bool) -> Policy {
    Policy {
        id: format!("daily causal={causal}"),
        k: 8,
        kelly_fraction: None,
        causal,
    }
}

fn pipeline(
    d: &Setup,
    forecaster: &prudentia::uncertainty::hetero::HeteroForecaster,
    causal: bool,
    log: Option<Shared<AuditLog>>,
) -> Pipeline {
    build_pipeline(&d.universe, forecaster, &d.prior, &policy(causal), log)
        .unwrap()
        .0
}

fn replayed(pipeline: Pipeline, own_fills: bool) -> Replayed {
    Replayed { pipeline, own_fills }
}

#[test]
fn the_recorded_main_example_replays_bit_identically() {
    let d = load(NaiveDate::from_ymd_opt(1995, 1, 3).unwrap(), Some(DAYS)).unwrap();
    let dir = std::env::temp_dir().join(format!("prudentia-audit-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = Shared::new(
        AuditLog::open(
            &dir,
            LogConfig {
                durability: Durability::None,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let quiet = BacktestConfig {
        show_progress: false,
        ..Default::default()
    };
    let mut p = pipeline(&d, &d.forecaster, true, Some(log.clone()));
    let run = walk_forward_with_prices(&mut p, &d.snapshots, &d.snapshots, &quiet).unwrap();
    assert_eq!(run.decisions.len(), DAYS);
    let recorded = log.lock().all().unwrap();
    assert!(log.lock().verify().unwrap().is_ok());
    assert_eq!(recorded.len(), DAYS);
    for (r, dec) in recorded.iter().zip(&run.decisions) {
        assert_eq!(&r.record.decision, dec);
        assert_eq!(r.outcomes.len(), 1);
    }
    let first_normal = run
        .decisions
        .iter()
        .position(|x| x.status == DecisionStatus::Normal)
        .unwrap();
    assert!(first_normal < DAYS - 20);
    // every stage ran: orders carry an expected cost with its interval and a routing log,
    // and the broker's fills came back in the outcomes the pipeline learned from
    let orders: Vec<_> = run.decisions.iter().flat_map(|x| &x.orders).collect();
    assert!(!orders.is_empty());
    for o in &orders {
        assert!(o.expected_cost_bps.is_some() && o.expected_cost_interval_bps.is_some());
        assert!(o.routing.is_some() && o.venue.is_some());
    }
    let fills: usize = run.outcomes.iter().map(|o| o.fills.len()).sum();
    assert_eq!(fills, orders.len());
    let first_forecast = run
        .decisions
        .iter()
        .position(|x| !x.forecasts.is_empty())
        .unwrap();
    // the model hash moves with the learned state (calibrator, governor)
    assert_ne!(
        recorded[first_normal].record.model_hash,
        recorded[DAYS - 1].record.model_hash
    );

    // replay from a fresh pipeline: every decision bit-identical
    let r = replay(
        &recorded,
        &mut replayed(pipeline(&d, &d.forecaster, true, None), true),
    );
    assert!(r.is_identical(), "{:?}", r.first_difference);
    assert_eq!((r.decisions, r.identical, r.outcomes), (DAYS, DAYS, DAYS));

    // a deliberately changed model: caught at the first decision that uses forecasts
    let mut changed = d.forecaster.clone();
    // (the model's fields are private: change one coefficient through its validated checkpoint)
    let mut state = serde_json::to_value(&changed.model).expect("model serializes");
    let c0 = state["mean_coef"][0].as_f64().expect("a first mean coefficient");
    state["mean_coef"][0] = serde_json::json!(c0 + 1e-6);
    changed.model = serde_json::from_value(state).expect("changed model reloads");
    let r = replay(&recorded, &mut replayed(pipeline(&d, &changed, true, None), true));
    let diff = r.first_difference.expect("changed model caught");
    assert_eq!(diff.decision_number, first_forecast as u64);
    assert_eq!(diff.field, "forecasts");
    assert_eq!(r.identical, first_forecast);

    // policy diff: without the causal filter on the same recorded inputs
    let diff = policy_diff(
        &recorded,
        &mut replayed(pipeline(&d, &d.forecaster, false, None), false),
    );
    assert!(diff.stopped.is_none());
    assert_eq!(diff.decisions.len(), DAYS);
    assert!(diff.differing > 0);
    assert!(diff.pnl_gap.is_some_and(f64::is_finite));
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
