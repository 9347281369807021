//! Drift monitoring of the standardized residual through core's `DriftDetector`, with a
//! tiny local CUSUM (the defense crate's detectors are exercised in the adversarial suite).

use prudentia_core::drift::{DriftDetector, DriftSignal};
use prudentia_core::{CoreError, RoleResult};
use prudentia_costs::model::AdaptiveCostModel;
use prudentia_datasets::fills::{fills, FILL_NOISE_SD_BPS};

use crate::common::{config, event};

/// Two-sided CUSUM (Page 1954) with reference `k` and threshold `h`, restarting after a
/// detection.
#[derive(Clone)]
struct Cusum {
    k: f64,
    h: f64,
    up: f64,
    down: f64,
}

impl DriftDetector for Cusum {
    fn update(&mut self, x: f64) -> RoleResult<DriftSignal> {
        if !x.is_finite() {
            return Err(CoreError::NonFinite {
                field: "x",
                index: 0,
                value: x,
            }
            .into());
        }
        self.up = (self.up + x - self.k).max(0.0);
        self.down = (self.down - x - self.k).max(0.0);
        let statistic = self.up.max(self.down);
        let detected = statistic > self.h;
        if detected {
            self.up = 0.0;
            self.down = 0.0;
        }
        Ok(DriftSignal { detected, statistic })
    }

    fn boxed_clone(&self) -> Box<dyn DriftDetector> {
        Box::new(self.clone())
    }
}

fn cusum() -> Box<dyn DriftDetector> {
    Box::new(Cusum {
        k: 0.5,
        h: 10.0,
        up: 0.0,
        down: 0.0,
    })
}

const WARMUP: usize = 1000;
const CHANGE: usize = 3000;
const N: usize = 4000;
/// The detection must come within this many fills of the change.
const DELAY: usize = 60;

/// Runs the model over synthetic fills whose true residual shifts up by `shift` bps at
/// `CHANGE`, with the detector attached after `WARMUP`; the fills at which drift was flagged.
fn detections(shift: f64, seed: u64) -> (AdaptiveCostModel, Vec<usize>) {
    let s = fills(N, seed).unwrap();
    let mut m = AdaptiveCostModel::new(config()).unwrap();
    let mut hits = Vec::new();
    for r in 0..N {
        if r == WARMUP {
            assert!(m.set_drift_detector(Some(cusum())).is_none());
        }
        let slip = s.slippage_bps[r] + if r >= CHANGE { shift } else { 0.0 };
        let a = m.learn_fill(&event(&s, r, slip)).unwrap();
        assert!(a.standardized_residual.is_finite());
        assert_eq!(a.drift.is_some(), r >= WARMUP);
        if a.drift.is_some_and(|d| d.detected) {
            hits.push(r);
        }
    }
    (m, hits)
}

#[test]
fn a_shift_of_the_residual_is_flagged_soon_after_and_not_before() {
    for seed in [3, 17] {
        let (m, hits) = detections(3.0 * FILL_NOISE_SD_BPS, seed);
        let before = hits.iter().filter(|&&r| r < CHANGE).count();
        assert_eq!(before, 0, "false alarms before the change: {hits:?}");
        let first = hits.iter().find(|&&r| r >= CHANGE).copied();
        println!(
            "seed {seed}: shift {:.1} bps, first detection {} fills after the change, detections {hits:?}",
            3.0 * FILL_NOISE_SD_BPS,
            first.map_or(-1, |r| (r - CHANGE) as i64)
        );
        assert!(
            matches!(first, Some(r) if r < CHANGE + DELAY),
            "first detection {first:?} not within {DELAY} fills of {CHANGE}: {hits:?}"
        );
        let d = m.drift();
        assert_eq!(d.monitored, (N - WARMUP) as u64);
        assert_eq!(d.refused, 0);
        assert_eq!(d.detections, hits.len() as u64);
        assert_eq!(d.last_detection, hits.last().map(|&r| r as u64 + 1));
    }
}

#[test]
fn no_change_no_alarm_and_the_counts_survive_a_checkpoint() {
    let (m, hits) = detections(0.0, 29);
    println!("no change, seed 29: detections {hits:?}");
    assert!(hits.len() <= 1, "false alarms without a change: {hits:?}");
    let json = serde_json::to_string(&m).unwrap();
    let back: AdaptiveCostModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back.drift(), m.drift());
    assert!(m.has_drift_detector());
    assert!(!back.has_drift_detector(), "the detector is not saved");
    // A checkpoint from before drift monitoring (no `drift` field) still loads.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut old = v.as_object_mut().unwrap().clone();
    let _ = old.remove("drift");
    v = serde_json::Value::Object(old);
    let old: AdaptiveCostModel = serde_json::from_value(v).unwrap();
    assert_eq!(old.drift().monitored, 0);
    // Inconsistent counts are refused.
    let mut bad: serde_json::Value = serde_json::from_str(&json).unwrap();
    bad["drift"]["detections"] = serde_json::json!(u64::MAX);
    assert!(serde_json::from_value::<AdaptiveCostModel>(bad).is_err());
}

#[test]
fn a_refusing_detector_is_counted_and_the_fill_still_learned() {
    #[derive(Clone)]
    struct Refuses;
    impl DriftDetector for Refuses {
        fn update(&mut self, _: f64) -> RoleResult<DriftSignal> {
            Err(CoreError::NonFinite {
                field: "x",
                index: 0,
                value: f64::NAN,
            }
            .into())
        }
        fn boxed_clone(&self) -> Box<dyn DriftDetector> {
            Box::new(Refuses)
        }
    }
    let s = fills(50, 1).unwrap();
    let mut with = AdaptiveCostModel::new(config())
        .unwrap()
        .with_drift_detector(Box::new(Refuses));
    let mut without = AdaptiveCostModel::new(config()).unwrap();
    for r in 0..s.len() {
        let e = event(&s, r, s.slippage_bps[r]);
        let a = with.learn_fill(&e).unwrap();
        assert_eq!(a.drift, None);
        assert_eq!(a, without.learn_fill(&e).unwrap());
    }
    assert_eq!(with.drift().refused, 50);
    assert_eq!(with.drift().monitored, 0);
    let state = |m: &AdaptiveCostModel| {
        let mut v = serde_json::to_value(m).unwrap();
        let _ = v.as_object_mut().unwrap().remove("drift");
        v
    };
    assert_eq!(
        state(&with),
        state(&without),
        "the detector does not change what the model learns"
    );
}
