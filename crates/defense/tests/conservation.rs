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

#[derive(Debug, Clone)]
enum Quote {
    Price(f64),
    Nan,
    Future,
    Past,
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![
        8 => (90.0..110.0f64).prop_map(Quote::Price),
        1 => (1.0..1e6f64).prop_map(Quote::Price),
        1 => Just(Quote::Nan),
        1 => Just(Quote::Future),
        1 => Just(Quote::Past),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The snapshot guard with a small quarantine (evicting or rejecting): every screened
    /// value is accepted, repaired, held, or handed back through `drain_handed_back`, and the
    /// ids of held and handed-back items are exactly the ids ever issued (issue #22 (7): the
    /// guard used to drop the evicted originals).
    #[test]
    fn guard_hands_back_everything_the_quarantine_displaces(
        days in prop::collection::vec(prop::collection::vec(quote(), 1..5), 1..120),
        capacity in 1usize..4,
        evict in any::<bool>(),
        drain_every in 1usize..20,
    ) {
        use prudentia_core::traits::Screened;
        use prudentia_core::{MarketSnapshot, Quote as CoreQuote};
        use prudentia_defense::{SnapshotGuard, SnapshotGuardConfig};
        let day = |d: i64| Timestamp::from_nanos(d * Timestamp::NANOS_PER_DAY);
        let cfg = SnapshotGuardConfig {
            defense: InputDefenseConfig {
                quarantine: QuarantineConfig {
                    capacity,
                    overflow: if evict { OverflowPolicy::EvictOldest } else { OverflowPolicy::RejectNew },
                },
                ..SnapshotGuardConfig::default().defense
            },
            ..Default::default()
        };
        let mut guard = SnapshotGuard::new(cfg).unwrap();
        let (mut inputs, mut admitted, mut drained) = (0u64, 0u64, Vec::new());
        for (d, quotes) in days.iter().enumerate() {
            let t = day(d as i64 + 10);
            let snapshot = MarketSnapshot {
                time: t,
                quotes: quotes
                    .iter()
                    .enumerate()
                    .map(|(a, q)| {
                        let (time, price) = match q {
                            Quote::Price(p) => (t, *p),
                            Quote::Nan => (t, f64::NAN),
                            Quote::Future => (day(d as i64 + 400), 100.0),
                            Quote::Past => (day(d as i64 - 5), 100.0),
                        };
                        CoreQuote { asset: format!("A{a}").into(), time, price, volume: None, spread_bps: None }
                    })
                    .collect(),
                indicators: vec![],
                assets: vec![],
            };
            inputs += quotes.len() as u64;
            match guard.screen_snapshot(&snapshot) {
                Screened::Clean { snapshot, .. } => admitted += snapshot.quotes.len() as u64,
                Screened::SafeFallback { .. } => {}
            }
            if d % drain_every == 0 {
                drained.extend(guard.drain_handed_back());
            }
        }
        drained.extend(guard.drain_handed_back());
        let c = guard.defense().total_counts();
        let q = guard.defense().quarantine();
        let s = q.stats();
        prop_assert_eq!(c.input, inputs);
        prop_assert_eq!(c.accepted + c.repaired + c.quarantined, c.input);
        prop_assert_eq!(c.accepted + c.repaired + q.len() as u64 + drained.len() as u64, c.input);
        prop_assert_eq!(drained.len() as u64, s.evicted + s.rejected);
        prop_assert!(admitted <= c.accepted + c.repaired);
        let mut ids: Vec<u64> = drained.iter().map(|e| e.id).chain(q.iter().map(|e| e.id)).collect();
        ids.sort_unstable();
        prop_assert_eq!(ids, (0..s.offered).collect::<Vec<_>>());
    }
}
