//! Serde checkpoint/restore: a restored validator, defense, guard, drift monitor or change
//! detector gives bit-identical subsequent outputs.

use crate::common;

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

/// Issue #22 (6): tampered checkpoints are load errors, never a panic inside
/// deserialization (a huge window capacity used to abort in `Vec::with_capacity`) or a later
/// panic or NaN when the loaded value is used.
#[test]
fn tampered_checkpoints_are_load_errors() {
    use prudentia_defense::{Quarantine, RollingMedianMad, Validator};
    fn refused<T: DeserializeOwned>(s: &str) -> bool {
        std::panic::catch_unwind(|| serde_json::from_str::<T>(s).is_err()).unwrap_or(false)
    }
    assert!(refused::<RollingMedianMad>(
        r#"{"capacity":1152921504606846976,"values":[]}"#
    ));
    assert!(refused::<RollingMedianMad>(
        r#"{"capacity":18446744073709551615,"values":[1.0]}"#
    ));

    // A validator whose window disagrees with its configuration.
    let mut v = Validator::new(Default::default()).unwrap();
    for i in 0..30 {
        let _ = v.observe(&Observation::new(day(i), 1.0 + 0.01 * (i % 3) as f64), None);
    }
    let mut j: serde_json::Value = serde_json::to_value(&v).unwrap();
    j["window"]["capacity"] = 5.into();
    assert!(refused::<Validator>(&j.to_string()));
    let mut j: serde_json::Value = serde_json::to_value(&v).unwrap();
    j["consecutive_outliers"] = 99.into();
    assert!(refused::<Validator>(&j.to_string()));

    // A quarantine whose counters do not add up, or with repeated ids.
    let mut d = InputDefense::new(InputDefenseConfig::default()).unwrap();
    for i in 0..3 {
        let _ = d.process("x", &Observation::new(day(i), f64::NAN), None);
    }
    let q = serde_json::to_value(d.quarantine()).unwrap();
    assert!(serde_json::from_value::<Quarantine>(q.clone()).is_ok());
    let mut bad = q.clone();
    bad["stats"]["held"] = 7.into();
    assert!(refused::<Quarantine>(&bad.to_string()));
    let mut bad = q.clone();
    bad["items"][1]["id"] = 0.into();
    assert!(refused::<Quarantine>(&bad.to_string()));
    let mut bad = q;
    bad["config"]["capacity"] = 0.into();
    assert!(refused::<Quarantine>(&bad.to_string()));

    // Detectors: a NaN (JSON null) statistic, an absurd histogram.
    let mut ph = PageHinkley::new(PageHinkleyConfig::default()).unwrap();
    let mut ad = Adwin::new(AdwinConfig::default()).unwrap();
    for i in 0..100 {
        ph.update((i % 7) as f64);
        ad.update((i % 7) as f64);
    }
    let mut bad = serde_json::to_value(&ph).unwrap();
    bad["mean"] = serde_json::Value::Null;
    assert!(refused::<PageHinkley>(&bad.to_string()));
    let mut bad = serde_json::to_value(&ph).unwrap();
    bad["sum_up"] = 1e308.into();
    assert!(refused::<PageHinkley>(&bad.to_string()));
    let good = serde_json::to_value(&ad).unwrap();
    assert!(serde_json::from_value::<Adwin>(good.clone()).is_ok());
    let mut bad = good.clone();
    bad["width"] = 3.into();
    assert!(refused::<Adwin>(&bad.to_string()));
    let mut bad = good.clone();
    bad["sum"] = 1e300.into();
    assert!(refused::<Adwin>(&bad.to_string()));
    let mut bad = good;
    let rows: Vec<serde_json::Value> = (0..100).map(|_| serde_json::json!([])).collect();
    bad["rows"] = rows.into();
    assert!(refused::<Adwin>(&bad.to_string()));

    // A drift monitor whose live bin counts were edited: derived state is rebuilt on load,
    // so using it cannot underflow a counter.
    let cfg = DriftMonitorConfig {
        reference_size: 20,
        live_size: 10,
        min_live: 5,
        ..Default::default()
    };
    let mut m = DriftMonitor::new(cfg, 1).unwrap();
    for i in 0..40 {
        m.observe(&[(i % 11) as f64]).unwrap();
    }
    let mut j = serde_json::to_value(&m).unwrap();
    let bins = j["features"][0]["live_bins"].as_array().unwrap().len();
    j["features"][0]["live_bins"] = vec![0usize; bins].into();
    let mut back: DriftMonitor = serde_json::from_value(j).unwrap();
    for i in 0..40 {
        back.observe(&[(i % 11) as f64]).unwrap();
        m.observe(&[(i % 11) as f64]).unwrap();
    }
    assert_eq!(back.report(), m.report());
    let mut j = serde_json::to_value(&m).unwrap();
    j["features"][0]["reference"][3] = (-1e9).into();
    assert!(refused::<DriftMonitor>(&j.to_string()));

    // Configurations are validated on load too.
    use prudentia_defense::{QuarantineConfig, ValidatorConfig};
    assert!(refused::<ValidatorConfig>(r#"{"window":18446744073709551615}"#));
    assert!(refused::<ValidatorConfig>(r#"{"hampel_threshold":-1.0}"#));
    assert!(serde_json::from_str::<ValidatorConfig>(r#"{"window":30}"#).is_ok());
    assert!(refused::<QuarantineConfig>(r#"{"capacity":0}"#));
    assert!(refused::<SnapshotGuardConfig>(r#"{"max_quarantined_share":1.5}"#));
    assert!(refused::<DriftMonitorConfig>(r#"{"live_size":1099511627776}"#));
    assert!(refused::<AdwinConfig>(r#"{"delta":2.0}"#));
    assert!(refused::<PageHinkleyConfig>(r#"{"min_instances":0}"#));

    // A guard whose defense configuration was swapped out.
    let g = SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap();
    let mut j = serde_json::to_value(&g).unwrap();
    j["config"]["max_quarantined_share"] = 2.0.into();
    assert!(refused::<SnapshotGuard>(&j.to_string()));
    let mut j = serde_json::to_value(&g).unwrap();
    j["defense"]["config"]["quarantine"]["capacity"] = 3.into();
    assert!(refused::<SnapshotGuard>(&j.to_string()));
}
