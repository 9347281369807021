//! The snapshot guard: clean snapshots with repairs substituted, `SafeFallback` with reasons
//! when too much is quarantined, usable as `Box<dyn Guard>`.

mod common;

use common::{day, market};
use prudentia_core::traits::{Guard, Screened};
use prudentia_core::{AssetInfo, Indicator, MarketSnapshot, Quote, Timestamp};
use prudentia_defense::{DefenseError, SnapshotGuard, SnapshotGuardConfig};

fn snapshot(prices: &[f64], d: i64, vix: f64) -> MarketSnapshot {
    MarketSnapshot {
        time: day(d),
        quotes: prices
            .iter()
            .enumerate()
            .map(|(a, p)| Quote {
                asset: format!("A{a}").into(),
                time: day(d),
                price: *p,
                volume: Some(1e6),
                spread_bps: Some(2.0),
            })
            .collect(),
        indicators: vec![Indicator {
            name: "vix".into(),
            time: day(d),
            value: vix,
        }],
        assets: prices
            .iter()
            .enumerate()
            .map(|(a, p)| AssetInfo::new(format!("A{a}"), if p.is_finite() { *p } else { 1.0 }).unwrap())
            .collect(),
    }
}

#[test]
fn clean_repaired_and_fallback() {
    let m = market(10, 120, 9);
    let mut concrete = SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap();
    let guard: &mut dyn Guard = &mut concrete;
    let row = |d: usize| -> Vec<f64> { (0..10).map(|a| m.prices[a][d]).collect() };
    for d in 0..100 {
        let s = guard
            .screen(&snapshot(&row(d), d as i64, 15.0 + (d % 3) as f64))
            .unwrap();
        assert!(matches!(s, Screened::Clean { .. }));
    }
    // One NaN price out of 11 values: clean, with that asset removed.
    let mut r = row(100);
    r[3] = f64::NAN;
    match guard.screen(&snapshot(&r, 100, 16.0)).unwrap() {
        Screened::Clean {
            snapshot,
            quarantined,
            ..
        } => {
            assert_eq!(quarantined, 1);
            assert_eq!(snapshot.quotes.len(), 9);
            assert!(snapshot.assets.iter().all(|a| a.id.as_str() != "A3"));
        }
        other => panic!("{other:?}"),
    }
    // Four of ten prices spiked 50% and VIX NaN: 5/11 > 0.2 → SafeFallback with the reasons.
    let mut r = row(101);
    for x in r.iter_mut().take(4) {
        *x *= 1.5;
    }
    match guard.screen(&snapshot(&r, 101, f64::NAN)).unwrap() {
        Screened::SafeFallback {
            reasons,
            quarantined_share,
        } => {
            assert_eq!(reasons.len(), 5, "{reasons:?}");
            assert!((quarantined_share - 5.0 / 11.0).abs() < 1e-15);
            assert!(
                reasons.iter().any(|r| r.starts_with("A0: outlier")),
                "{reasons:?}"
            );
            assert!(
                reasons.iter().any(|r| r.starts_with("indicator:vix: non-finite")),
                "{reasons:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A stale quote (10 days old) is quarantined as stale.
    let mut s = snapshot(&row(102), 102, 16.0);
    s.quotes[0].time = Timestamp::from_nanos(day(102).as_nanos() - 10 * Timestamp::NANOS_PER_DAY);
    // Out of order too (older than the last seen), which is reported first; the quote is kept out.
    match guard.screen(&s).unwrap() {
        Screened::Clean { snapshot, .. } => assert!(snapshot.quotes.iter().all(|q| q.asset.as_str() != "A0")),
        other => panic!("{other:?}"),
    }
    let q = prudentia_defense::QuarantineQuery {
        topic: Some("A0"),
        reason: Some(prudentia_defense::ReasonKind::OutOfOrder),
        ..Default::default()
    };
    assert_eq!(concrete.defense().quarantine().query(&q).count(), 1);
}

#[test]
fn bad_config_is_typed() {
    let cfg = SnapshotGuardConfig {
        max_quarantined_share: f64::NAN,
        ..Default::default()
    };
    assert!(matches!(SnapshotGuard::new(cfg), Err(DefenseError::Core(_))));
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<SnapshotGuard>();
    check::<prudentia_defense::InputDefense>();
    check::<prudentia_defense::Validator>();
    check::<prudentia_defense::Quarantine>();
    check::<prudentia_defense::drift::DriftMonitor>();
    check::<prudentia_defense::detectors::Adwin>();
    check::<prudentia_defense::detectors::PageHinkley>();
    check::<DefenseError>();
    let _boxed: Vec<Box<dyn prudentia_defense::detectors::ChangeDetector>> = vec![
        Box::new(prudentia_defense::detectors::Adwin::new(Default::default()).unwrap()),
        Box::new(prudentia_defense::detectors::PageHinkley::new(Default::default()).unwrap()),
    ];
}
