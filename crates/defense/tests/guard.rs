//! The snapshot guard: clean snapshots with repairs substituted, `SafeFallback` with reasons
//! when too much is quarantined, usable as `Box<dyn Guard>`.

use crate::common;

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

/// Issue #22 (3): one quote dated a year ahead used to be accepted, after which every
/// genuine quote of that asset was quarantined as out of order (its stale price carried
/// while decisions said Normal). Now it is quarantined as `FutureTime`, the asset's time does
/// not move, and the next genuine quotes are accepted.
#[test]
fn a_future_dated_quote_does_not_lock_an_asset_out() {
    let price =
        |a: usize, d: usize| (50.0 + 10.0 * a as f64) * (1.0 + 0.01 * (1.3 * d as f64 + a as f64).sin());
    let row = |d: usize| -> Vec<f64> { (0..5).map(|a| price(a, d)).collect() };
    let mut guard = SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap();
    for d in 0..40 {
        let s = guard.screen_snapshot(&snapshot(&row(d), d as i64, 15.0));
        assert!(
            matches!(s, Screened::Clean { quarantined: 0, .. }),
            "day {d}: {s:?}"
        );
    }
    let mut s = snapshot(&row(40), 40, 15.0);
    s.quotes[2].time = day(40 + 365);
    match guard.screen_snapshot(&s) {
        Screened::Clean {
            snapshot,
            quarantined,
            ..
        } => {
            assert_eq!(quarantined, 1);
            assert!(snapshot.quotes.iter().all(|q| q.asset.as_str() != "A2"));
        }
        other => panic!("{other:?}"),
    }
    let q = prudentia_defense::QuarantineQuery {
        topic: Some("A2"),
        reason: Some(prudentia_defense::ReasonKind::FutureTime),
        ..Default::default()
    };
    assert_eq!(guard.defense().quarantine().query(&q).count(), 1);
    assert_eq!(
        guard.defense().validator("A2").unwrap().last_time(),
        Some(day(39))
    );
    for d in 41..80 {
        match guard.screen_snapshot(&snapshot(&row(d), d as i64, 15.0)) {
            Screened::Clean {
                snapshot,
                quarantined,
                ..
            } => {
                assert_eq!(quarantined, 0, "day {d}");
                let a2 = snapshot.quotes.iter().find(|q| q.asset.as_str() == "A2");
                assert_eq!(a2.map(|q| q.price), Some(price(2, d)), "day {d}");
            }
            other => panic!("day {d}: {other:?}"),
        }
    }
    // Within the tolerance (one hour by default) a quote may run ahead of the snapshot.
    let mut s = snapshot(&row(79), 80, 15.0);
    for q in &mut s.quotes {
        q.time = Timestamp::from_nanos(day(80).as_nanos() + 1_800_000_000_000);
    }
    assert!(matches!(
        guard.screen_snapshot(&s),
        Screened::Clean { quarantined: 0, .. }
    ));
}

/// Issue #22 (7): with a small quarantine under evict-oldest, the displaced originals used
/// to be dropped with the `Admission` that carried them. They now wait in the guard's
/// outbox until drained, so every quarantined value is held or handed back.
#[test]
fn evicted_quarantine_items_reach_the_caller() {
    let m = market(3, 60, 4);
    let cfg = SnapshotGuardConfig {
        defense: prudentia_defense::InputDefenseConfig {
            quarantine: prudentia_defense::QuarantineConfig {
                capacity: 5,
                overflow: prudentia_defense::OverflowPolicy::EvictOldest,
            },
            ..SnapshotGuardConfig::default().defense
        },
        max_quarantined_share: 1.0,
        ..Default::default()
    };
    let mut guard = SnapshotGuard::new(cfg).unwrap();
    let mut drained = Vec::new();
    for d in 0..60 {
        let mut p: Vec<f64> = (0..3).map(|a| m.prices[a][d]).collect();
        if d % 2 == 0 {
            p[d % 3] = f64::NAN;
        }
        let _ = guard.screen_snapshot(&snapshot(&p, d as i64, if d % 3 == 0 { f64::NAN } else { 15.0 }));
        if d % 10 == 9 {
            drained.extend(guard.drain_handed_back());
        }
    }
    drained.extend(guard.drain_handed_back());
    assert!(guard.handed_back().is_empty());
    let q = guard.defense().quarantine();
    let stats = q.stats();
    assert!(stats.evicted >= 24, "{stats:?}");
    assert_eq!(drained.len() as u64, stats.evicted);
    let mut ids: Vec<u64> = drained
        .iter()
        .map(|e| e.id)
        .chain(q.iter().map(|e| e.id))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..stats.offered).collect::<Vec<_>>());
    let c = guard.defense().total_counts();
    assert_eq!(
        c.accepted + c.repaired + q.len() as u64 + drained.len() as u64,
        c.input
    );
}

/// Issue #19: a move the whole cross-section shares is not an outlier under the defaults,
/// the same move on one name alone is, and a frozen price is quarantined.
#[test]
fn market_moves_are_corroborated_and_frozen_prices_caught() {
    let m = market(10, 120, 5);
    let row = |d: usize| -> Vec<f64> { (0..10).map(|a| m.prices[a][d]).collect() };
    let mut guard = SnapshotGuard::new(SnapshotGuardConfig::default()).unwrap();
    for d in 0..100 {
        assert!(matches!(
            guard.screen_snapshot(&snapshot(&row(d), d as i64, 15.0)),
            Screened::Clean {
                quarantined: 0,
                repaired: 0,
                ..
            }
        ));
    }
    // A 25 % crash of every name on day 100: kept, nothing repaired.
    let crash: Vec<f64> = row(100).iter().map(|p| p * 0.75).collect();
    match guard.screen_snapshot(&snapshot(&crash, 100, 15.0)) {
        Screened::Clean {
            snapshot,
            quarantined,
            repaired,
        } => {
            assert_eq!((quarantined, repaired), (0, 0));
            assert_eq!(snapshot.quotes.iter().map(|q| q.price).collect::<Vec<_>>(), crash);
        }
        other => panic!("{other:?}"),
    }
    // The same crash on A0 alone the next day: quarantined as an outlier.
    let mut r: Vec<f64> = row(101).iter().map(|p| p * 0.75).collect();
    r[0] *= 0.75;
    match guard.screen_snapshot(&snapshot(&r, 101, 15.0)) {
        Screened::Clean { quarantined, .. } => assert_eq!(quarantined, 1),
        other => panic!("{other:?}"),
    }
    let outliers = prudentia_defense::QuarantineQuery {
        topic: Some("A0"),
        reason: Some(prudentia_defense::ReasonKind::Outlier),
        ..Default::default()
    };
    assert_eq!(guard.defense().quarantine().query(&outliers).count(), 1);
    // A1 frozen from day 102 on: from the 11th repeat (day 113) it is quarantined as frozen.
    let frozen = row(102)[1] * 0.75;
    for d in 102..116 {
        let mut r: Vec<f64> = row(d).iter().map(|p| p * 0.75).collect();
        r[1] = frozen;
        let s = guard.screen_snapshot(&snapshot(&r, d as i64, 15.0));
        let Screened::Clean { snapshot, .. } = s else {
            panic!("{s:?}")
        };
        let kept = snapshot.quotes.iter().any(|q| q.asset.as_str() == "A1");
        assert_eq!(kept, d < 113, "day {d}");
    }
    let q = prudentia_defense::QuarantineQuery {
        topic: Some("A1"),
        reason: Some(prudentia_defense::ReasonKind::Frozen),
        ..Default::default()
    };
    assert_eq!(guard.defense().quarantine().query(&q).count(), 3);
}

#[test]
fn corroboration_needs_three_quotes() {
    let cfg = SnapshotGuardConfig {
        min_corroborating_quotes: 2,
        ..Default::default()
    };
    assert!(matches!(
        SnapshotGuard::new(cfg),
        Err(DefenseError::TooSmall {
            field: "min_corroborating_quotes",
            ..
        })
    ));
}

/// The guard's former screen, written against the public API of [`InputDefense`]: per value
/// a topic-name lookup, the clean snapshot built by cloning every kept value, a repaired
/// quote's price written to the first asset of its id, every asset of a quarantined quote's
/// id removed. The reference for the faster screen.
fn reference_screen(
    defense: &mut prudentia_defense::InputDefense,
    config: &SnapshotGuardConfig,
    snapshot: &MarketSnapshot,
) -> Screened {
    use prudentia_defense::{Observation, Transform, Verdict};
    let now = Some(snapshot.time);
    // The day's market move (median log return against the previous admitted prices).
    let min = config.min_corroborating_quotes;
    let mut r: Vec<f64> = snapshot
        .quotes
        .iter()
        .filter_map(|q| {
            let v = defense.validator(q.asset.as_str())?;
            if v.config().transform != Transform::LogReturn || v.last_time().is_some_and(|t| q.time <= t) {
                return None;
            }
            let y = (q.price / v.reference()?).ln();
            (q.price > 0.0 && y.is_finite()).then_some(y)
        })
        .collect();
    let market = if min == 0 || snapshot.quotes.len() < min || r.len() < min {
        0.0
    } else {
        r.sort_unstable_by(f64::total_cmp);
        let n = r.len();
        let m = if n % 2 == 1 {
            r[n / 2]
        } else {
            0.5 * r[n / 2 - 1] + 0.5 * r[n / 2]
        };
        if m.is_finite() {
            m
        } else {
            0.0
        }
    };
    let (mut reasons, mut repaired, mut quarantined, mut total) = (Vec::new(), 0, 0, 0);
    let mut assets = snapshot.assets.clone();
    let mut quotes = Vec::new();
    for q in &snapshot.quotes {
        total += 1;
        let s =
            defense.process_with_market(q.asset.as_str(), &Observation::new(q.time, q.price), now, market);
        match s.verdict {
            Verdict::Accept => quotes.push(q.clone()),
            Verdict::Repair { value, .. } => {
                repaired += 1;
                let mut q = q.clone();
                q.price = value;
                if let Some(a) = assets.iter_mut().find(|a| a.id == q.asset) {
                    a.price = value;
                }
                quotes.push(q);
            }
            Verdict::Quarantine { reason } => {
                quarantined += 1;
                reasons.push(format!("{}: {reason}", q.asset));
                assets.retain(|a| a.id != q.asset);
            }
        }
    }
    let mut indicators = Vec::new();
    for ind in &snapshot.indicators {
        total += 1;
        let topic = format!("indicator:{}", ind.name);
        if defense.validator(&topic).is_none() && !config.defense.topics.contains_key(&topic) {
            defense
                .register_topic(&topic, config.indicator_validator.clone())
                .unwrap();
        }
        let s = defense.process(&topic, &Observation::new(ind.time, ind.value), now);
        match s.verdict {
            Verdict::Accept => indicators.push(ind.clone()),
            Verdict::Repair { value, .. } => {
                repaired += 1;
                let mut i = ind.clone();
                i.value = value;
                indicators.push(i);
            }
            Verdict::Quarantine { reason } => {
                quarantined += 1;
                reasons.push(format!("{topic}: {reason}"));
            }
        }
    }
    let share = if total == 0 {
        0.0
    } else {
        quarantined as f64 / total as f64
    };
    if share > config.max_quarantined_share {
        Screened::SafeFallback {
            reasons,
            quarantined_share: share,
        }
    } else {
        Screened::Clean {
            snapshot: MarketSnapshot {
                time: snapshot.time,
                quotes,
                indicators,
                assets,
            },
            repaired,
            quarantined,
        }
    }
}

/// The screen (slots, scratch buffers, a clean snapshot built from per-position outcomes)
/// answers exactly what the former screen answered, bit for bit (`Debug` prints every f64
/// so that distinct values print differently), on a stream with repairs, quarantines,
/// fallbacks, a quote repeated for one asset, an asset listed twice, a reordered universe
/// and indicators appearing late, under the default and the classic Hampel settings.
#[test]
fn screen_matches_the_former_screen_bit_for_bit() {
    let m = market(12, 160, 21);
    for config in [
        SnapshotGuardConfig::default(),
        SnapshotGuardConfig::classic_hampel(),
    ] {
        let mut guard = SnapshotGuard::new(config.clone()).unwrap();
        let mut reference = prudentia_defense::InputDefense::new(config.defense.clone()).unwrap();
        let mut kinds = [0usize; 3]; // clean with a repair, clean with a quarantine, fallback
        for d in 0..160 {
            let mut prices: Vec<f64> = (0..12).map(|a| m.prices[a][d]).collect();
            match d % 17 {
                5 => prices[2] *= 1.3,
                7 => prices[4] = f64::NAN,
                9 if d > 100 => prices.iter_mut().take(5).for_each(|p| *p *= 1.6),
                11 => prices[1] *= 1.04,
                _ => {}
            }
            let mut s = snapshot(
                &prices,
                d as i64,
                15.0 + (d % 5) as f64 + if d % 23 == 0 { 40.0 } else { 0.0 },
            );
            if d % 19 == 3 {
                // a second quote of one asset (later the same day) and the asset listed twice
                let mut q = s.quotes[6].clone();
                q.price *= 1.5;
                q.time = Timestamp::from_nanos(q.time.as_nanos() + 1);
                s.quotes.push(q);
                s.assets.push(s.assets[6].clone());
            }
            if d % 17 == 13 {
                s.quotes[7].price = -1.0;
            }
            if d % 31 == 30 {
                s.quotes.reverse();
            }
            if d > 80 {
                s.indicators.push(Indicator {
                    name: "spread".into(),
                    time: day(d as i64),
                    value: 1.0 + 0.01 * (d % 7) as f64 + if d % 29 == 0 { 5.0 } else { 0.0 },
                });
            }
            let got = guard.screen(&s).unwrap();
            let want = reference_screen(&mut reference, &config, &s);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "day {d}");
            match &got {
                Screened::Clean { repaired, .. } if *repaired > 0 => kinds[0] += 1,
                Screened::Clean { quarantined, .. } if *quarantined > 0 => kinds[1] += 1,
                Screened::SafeFallback { .. } => kinds[2] += 1,
                Screened::Clean { .. } => {}
            }
        }
        // (as JSON: a quarantined NaN observation is not equal to itself)
        assert_eq!(
            serde_json::to_string(guard.defense()).unwrap(),
            serde_json::to_string(&reference).unwrap()
        );
        assert!(kinds[1] > 0 && kinds[2] > 0, "{kinds:?}");
        if config.defense.default_validator.hampel_action == prudentia_defense::HampelAction::Repair {
            assert!(kinds[0] > 0, "{kinds:?}");
        }
    }
}
