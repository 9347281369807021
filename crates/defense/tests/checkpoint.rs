//! Serde checkpoint/restore: a restored validator, defense, guard, drift monitor or change
//! detector gives bit-identical subsequent outputs.

mod common;

use common::{day, market};
use prudentia_core::{MarketSnapshot, Quote};
use prudentia_defense::detectors::{Adwin, AdwinConfig, ChangeDetector, PageHinkley, PageHinkleyConfig};
use prudentia_defense::drift::{DriftMonitor, DriftMonitorConfig};
use prudentia_defense::{InputDefense, InputDefenseConfig, Observation, SnapshotGuard, SnapshotGuardConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn round_trip<T: Serialize + DeserializeOwned>(x: &T) -> T {
    serde_json::from_str(&serde_json::to_string(x).unwrap()).unwrap()
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

fn prices() -> Vec<f64> {
    let mut p = market(1, 600, 3).prices.remove(0);
    for (i, x) in p.iter_mut().enumerate() {
        if i % 37 == 5 {
            *x *= 1.2; // spikes
        }
        if i % 53 == 7 {
            *x = f64::NAN;
        }
    }
    p
}

#[test]
fn defense_restores_identically() {
    let p = prices();
    let mut a = InputDefense::new(InputDefenseConfig::default()).unwrap();
    for (i, x) in p[..300].iter().enumerate() {
        let _ = a.process("x", &Observation::new(day(i as i64), *x), None);
    }
    // NaN != NaN, so states and outputs are compared through their serialized form.
    let json = |x: &dyn erased::Json| x.json();
    let mut b: InputDefense = round_trip(&a);
    assert_eq!(json(&a), json(&b));
    for (i, x) in p[300..].iter().enumerate() {
        let obs = Observation::new(day(300 + i as i64), *x);
        assert_eq!(
            json(&a.process("x", &obs, None)),
            json(&b.process("x", &obs, None))
        );
    }
    assert_eq!(json(&a), json(&b));
}

#[test]
fn guard_restores_identically() {
    let m = market(4, 300, 5);
    let snap = |d: usize| MarketSnapshot {
        time: day(d as i64),
        quotes: (0..4)
            .map(|a| Quote {
                asset: format!("A{a}").into(),
                time: day(d as i64),
                price: if (d + a) % 41 == 0 {
                    m.prices[a][d] * 1.3
                } else {
                    m.prices[a][d]
                },
                volume: None,
                spread_bps: None,
            })
            .collect(),
        indicators: vec![],
        assets: vec![],
    };
    let mut a = SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap();
    for d in 0..150 {
        let _ = a.screen_snapshot(&snap(d));
    }
    let mut b: SnapshotGuard = round_trip(&a);
    for d in 150..300 {
        assert_eq!(a.screen_snapshot(&snap(d)), b.screen_snapshot(&snap(d)));
    }
}

#[test]
fn drift_monitor_and_detectors_restore_identically() {
    let p: Vec<f64> = prices().windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let cfg = DriftMonitorConfig {
        reference_size: 100,
        live_size: 60,
        min_live: 20,
        ..Default::default()
    };
    let mut a = DriftMonitor::new(cfg, 1).unwrap();
    let mut ph = PageHinkley::new(PageHinkleyConfig {
        threshold: 0.05,
        ..Default::default()
    })
    .unwrap();
    let mut ad = Adwin::new(AdwinConfig::default()).unwrap();
    for x in &p[..250] {
        a.observe(&[*x]).unwrap();
        ph.update(*x);
        ad.update(*x);
    }
    let (mut b, mut ph2, mut ad2) = (round_trip(&a), round_trip(&ph), round_trip(&ad));
    for x in &p[250..] {
        a.observe(&[*x]).unwrap();
        b.observe(&[*x]).unwrap();
        assert_eq!(a.report(), b.report());
        assert_eq!(ph.update(*x), ph2.update(*x));
        assert_eq!(ad.update(*x), ad2.update(*x));
    }
    assert_eq!((ph, ad), (ph2, ad2));
}
