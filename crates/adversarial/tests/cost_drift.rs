//! Drift of the cost model's residual monitored with the defense crate's detectors through
//! core's `DriftDetector` (#15): costs and defense do not depend on each other; the user
//! hands a `Box<dyn DriftDetector>` over. A shift of the true residual on synthetic fills is
//! flagged soon after it and not before; extreme fills with a detector attached stay typed.

use prudentia_adversarial::{result_with, Check, Suite};
use prudentia_core::drift::DriftDetector;
use prudentia_core::{AssetId, Fill, Side, Timestamp, Venue};
use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig, FillEvent, OrderContext};
use prudentia_datasets::fills::{fills, FillSample, FILL_NOISE_SD_BPS};
use prudentia_defense::detectors::{Adwin, AdwinConfig, PageHinkley, PageHinkleyConfig};

const ADV: f64 = 1e6;

fn event(s: &FillSample, r: usize, slippage_bps: f64) -> FillEvent {
    let sign = if r % 2 == 0 { 1.0 } else { -1.0 };
    FillEvent {
        fill: Fill {
            asset: AssetId::new("A"),
            time: Timestamp::from_nanos(1_000 * r as i64 + 500),
            side: if r % 2 == 0 { Side::Buy } else { Side::Sell },
            quantity: s.participation[r] * ADV,
            price: 100.0 * (1.0 + sign * slippage_bps * 1e-4),
            arrival_price: 100.0,
            order_type: s.core_order_type(r).expect("row"),
            venue: Some(Venue(format!("V{}", s.venue[r]))),
        },
        order_time: Timestamp::from_nanos(1_000 * r as i64),
        context: OrderContext {
            spread_bps: s.spread_bps[r],
            volatility: s.volatility[r],
            adv_shares: ADV,
            queue_position: 0.0,
            time_of_day: s.time_of_day[r],
        },
    }
}

fn page_hinkley() -> Box<dyn DriftDetector> {
    Box::new(
        PageHinkley::new(PageHinkleyConfig {
            delta: 0.5,
            threshold: 25.0,
            min_instances: 30,
            ..Default::default()
        })
        .expect("config"),
    )
}

fn adwin() -> Box<dyn DriftDetector> {
    Box::new(Adwin::new(AdwinConfig::default()).expect("config"))
}

const WARMUP: usize = 1000;
const CHANGE: usize = 3000;
const N: usize = 4000;

/// Fills at which drift was flagged, with the detector attached after `WARMUP` and the
/// true residual shifted by `shift` bps from `CHANGE` on.
fn run(detector: Box<dyn DriftDetector>, shift: f64, seed: u64) -> Vec<usize> {
    let s = fills(N, seed).expect("fills");
    let mut m = AdaptiveCostModel::new(CostModelConfig::new(["V0", "V1", "V2"])).expect("model");
    let mut detector = Some(detector);
    let mut hits = Vec::new();
    for r in 0..N {
        if r == WARMUP {
            let _ = m.set_drift_detector(detector.take());
        }
        let slip = s.slippage_bps[r] + if r >= CHANGE { shift } else { 0.0 };
        let a = m.learn_fill(&event(&s, r, slip)).expect("fill");
        if a.drift.is_some_and(|d| d.detected) {
            hits.push(r);
        }
    }
    assert_eq!(m.drift().detections, hits.len() as u64);
    hits
}

#[test]
fn defense_detectors_flag_a_residual_shift_through_core() {
    for (name, make, delay) in [
        ("page-hinkley", page_hinkley as fn() -> Box<dyn DriftDetector>, 30),
        ("adwin", adwin as fn() -> Box<dyn DriftDetector>, 64),
    ] {
        for seed in [4, 21] {
            let hits = run(make(), 3.0 * FILL_NOISE_SD_BPS, seed);
            let before = hits.iter().filter(|&&r| r < CHANGE).count();
            assert!(
                before <= 1,
                "{name} seed {seed}: false alarms before the change {hits:?}"
            );
            let first = hits.iter().find(|&&r| r >= CHANGE).copied();
            assert!(
                matches!(first, Some(r) if r < CHANGE + delay),
                "{name} seed {seed}: first detection {first:?} not within {delay} fills: {hits:?}"
            );
            eprintln!("{name} seed {seed}: detections {hits:?}");
        }
    }
}

#[test]
fn cost_drift_bad_input() {
    let mut s = Suite::new("cost_drift");
    let sample = fills(64, 2).expect("fills");
    for (label, slip) in [
        ("zero", 0.0),
        ("huge", 9.9e4),
        ("huge negative", -9.9e4),
        ("beyond the limit", 2e5),
        ("tiny", 5e-324),
    ] {
        let sample = sample.clone();
        s.check(
            format!("learn_fill with a detector, slippage {label}"),
            move || {
                let mut m = AdaptiveCostModel::new(CostModelConfig::new(["V0", "V1", "V2"]))
                    .expect("model")
                    .with_drift_detector(page_hinkley());
                for r in 0..sample.len() {
                    let _ = m.learn_fill(&event(&sample, r, sample.slippage_bps[r]));
                }
                let r = m.learn_fill(&event(&sample, 0, slip));
                result_with(r, |a| {
                    if a.standardized_residual.is_finite() && a.drift.is_some_and(|d| d.statistic.is_finite())
                    {
                        Ok(())
                    } else {
                        Err(format!("{a:?}"))
                    }
                })
            },
        );
    }
    s.check("drift counts survive a checkpoint, the detector does not", || {
        let sample = fills(40, 3).expect("fills");
        let mut m = AdaptiveCostModel::new(CostModelConfig::new(["V0", "V1", "V2"]))
            .expect("model")
            .with_drift_detector(adwin());
        for r in 0..sample.len() {
            let _ = m.learn_fill(&event(&sample, r, sample.slippage_bps[r] + 50.0));
        }
        let json = serde_json::to_string(&m).expect("json");
        match serde_json::from_str::<AdaptiveCostModel>(&json) {
            Ok(back) => Check::invariant(
                back.drift() == m.drift() && !back.has_drift_detector() && m.drift().monitored == 40,
                "drift counts reload",
            ),
            Err(e) => Check::invariant(false, format!("own checkpoint refused: {e}")),
        }
    });
    s.finish();
}
