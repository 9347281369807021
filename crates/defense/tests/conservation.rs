//! Nothing is lost: for any stream (faulty timestamps, NaN, missing values, spikes), any
//! quarantine capacity and overflow policy, and any releases,
//! `accepted + repaired + quarantined = input` and every quarantined item is held,
//! released, evicted or rejected — and each evicted or rejected item was handed back.

use proptest::prelude::*;
use prudentia_core::Timestamp;
use prudentia_defense::{
    Admission, InputDefense, InputDefenseConfig, Observation, OverflowPolicy, QuarantineConfig, ReleaseMode,
};

#[derive(Debug, Clone)]
enum Step {
    Obs { topic: u8, dt: i64, value: Option<f64> },
    Release { pick: usize, recheck: bool },
}

fn step() -> impl Strategy<Value = Step> {
    let value = prop_oneof![
        8 => (90.0..110.0f64).prop_map(Some),
        1 => Just(Some(f64::NAN)),
        1 => Just(None),
        1 => (-1e6..1e6f64).prop_map(Some),
    ];
    prop_oneof![
        10 => (0u8..3, -2i64..4, value).prop_map(|(topic, dt, value)| Step::Obs { topic, dt, value }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, recheck)| Step::Release { pick, recheck }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn accepted_plus_repaired_plus_quarantined_is_input(
        steps in prop::collection::vec(step(), 1..400),
        capacity in 1usize..20,
        evict in any::<bool>(),
    ) {
        let cfg = InputDefenseConfig {
            quarantine: QuarantineConfig {
                capacity,
                overflow: if evict { OverflowPolicy::EvictOldest } else { OverflowPolicy::RejectNew },
            },
            ..Default::default()
        };
        let mut d = InputDefense::new(cfg).unwrap();
        let mut clock = [0i64; 3];
        let (mut handed_back, mut inputs) = (0u64, 0u64);
        let count = |a: &Option<Admission>| match a {
            Some(Admission::StoredEvicting { .. }) | Some(Admission::Rejected { .. }) => 1,
            _ => 0,
        };
        for s in steps {
            match s {
                Step::Obs { topic, dt, value } => {
                    clock[topic as usize] += dt;
                    let obs = Observation { time: Timestamp::from_nanos(clock[topic as usize]), value };
                    let sc = d.process(&format!("t{topic}"), &obs, None);
                    handed_back += count(&sc.admission);
                    inputs += 1;
                }
                Step::Release { pick, recheck } => {
                    let ids: Vec<u64> = d.quarantine().iter().map(|e| e.id).collect();
                    if ids.is_empty() {
                        continue;
                    }
                    let mode = if recheck { ReleaseMode::Recheck } else { ReleaseMode::Override };
                    let r = d.release(ids[pick % ids.len()], mode, None).unwrap();
                    handed_back += count(&r.screening.admission);
                    inputs += 1;
                }
            }
        }
        let c = d.total_counts();
        let q = d.quarantine().stats();
        prop_assert_eq!(c.input, inputs);
        prop_assert_eq!(c.accepted + c.repaired + c.quarantined, c.input);
        prop_assert_eq!(c.quarantined, q.offered);
        prop_assert_eq!(q.offered, q.held + q.released + q.evicted + q.rejected);
        prop_assert_eq!(q.held as usize, d.quarantine().len());
        prop_assert!(d.quarantine().len() <= capacity);
        prop_assert_eq!(handed_back, q.evicted + q.rejected);
    }
}
