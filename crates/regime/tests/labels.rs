//! Labelers: each axis from its indicators, hysteresis against flicker, and the snapshot
//! detector's labels from VIX.

use prudentia_core::traits::RegimeDetector;
use prudentia_core::{AssetId, Indicator, MarketSnapshot, Quote, RegimeLabel, Timestamp};
use prudentia_regime::detector::{ChangeSource, MarketRegimeDetector, MarketRegimeDetectorConfig};
use prudentia_regime::labels::{Hysteresis, IndicatorObservation, LabelAxis, LabelerConfig, RegimeLabeler};

fn labeler(cfg: LabelerConfig) -> RegimeLabeler {
    RegimeLabeler::new(cfg).unwrap()
}

#[test]
fn noisy_vix_around_threshold_does_not_flicker() {
    let mut l = labeler(LabelerConfig::default());
    let mut switches = 0;
    let mut last = None;
    // VIX oscillating between 21 and 26 every day: crosses 25 often, never falls to 20
    for t in 0..200 {
        let vix = if t % 2 == 0 { 21.0 } else { 26.0 };
        let lab = l
            .observe(&IndicatorObservation {
                vix: Some(vix),
                ..Default::default()
            })
            .unwrap();
        if last.as_ref().is_some_and(|p| *p != lab.volatility) {
            switches += 1;
        }
        last = Some(lab.volatility);
    }
    assert_eq!(switches, 1, "only the first crossing of 25 switches");
    assert_eq!(last, Some(RegimeLabel::HIGH_VOL));
}

#[test]
fn credit_spread_and_drawdown_drive_risk_off() {
    let cfg = LabelerConfig {
        credit_spread_risk_off: Some(Hysteresis::new(3.0, 2.0, 0)),
        drawdown_window: 10,
        ..Default::default()
    };
    let mut l = labeler(cfg.clone());
    let lab = l
        .observe(&IndicatorObservation {
            credit_spread: Some(3.5),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(lab.risk, RegimeLabel::RISK_OFF);
    let lab = l
        .observe(&IndicatorObservation {
            credit_spread: Some(1.5),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(lab.risk, RegimeLabel::RISK_ON);

    let mut l = labeler(cfg);
    let mut last = None;
    for _ in 0..12 {
        last = Some(
            l.observe(&IndicatorObservation {
                index_return: Some(-0.02),
                ..Default::default()
            })
            .unwrap(),
        );
    }
    // cumulative −20 % over 10 days
    assert_eq!(last.unwrap().risk, RegimeLabel::RISK_OFF);
}

#[test]
fn wide_spreads_and_thin_volume_are_illiquid() {
    let cfg = LabelerConfig {
        volume_lookback: 5,
        primary: LabelAxis::Liquidity,
        ..Default::default()
    };
    let mut l = labeler(cfg.clone());
    for _ in 0..10 {
        let lab = l
            .observe(&IndicatorObservation {
                volume: Some(1e6),
                spread_bps: Some(3.0),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(lab.liquidity, RegimeLabel::LIQUID);
    }
    let lab = l
        .observe(&IndicatorObservation {
            volume: Some(3e5),
            spread_bps: Some(3.0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(lab.liquidity, RegimeLabel::ILLIQUID);
    assert_eq!(lab.on(LabelAxis::Liquidity), &RegimeLabel::ILLIQUID);

    let mut l = labeler(cfg);
    for _ in 0..6 {
        let _ = l
            .observe(&IndicatorObservation {
                spread_bps: Some(3.0),
                ..Default::default()
            })
            .unwrap();
    }
    let lab = l
        .observe(&IndicatorObservation {
            spread_bps: Some(45.0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(lab.liquidity, RegimeLabel::ILLIQUID);
    assert!(l
        .observe(&IndicatorObservation {
            volume: Some(f64::NAN),
            ..Default::default()
        })
        .is_err());
}

#[test]
fn snapshot_detector_labels_from_vix_and_reports_changes() {
    let mut det = MarketRegimeDetector::new(MarketRegimeDetectorConfig {
        change_source: ChangeSource::Label,
        ..Default::default()
    })
    .unwrap();
    let mut changes = Vec::new();
    let mut since = None;
    for t in 0..60i64 {
        let time = Timestamp::from_nanos(t * Timestamp::NANOS_PER_DAY);
        let vix = if (20..40).contains(&t) { 35.0 } else { 14.0 };
        let snap = MarketSnapshot {
            time,
            quotes: vec![Quote {
                asset: AssetId::new("SPX"),
                time,
                price: 100.0 + (t % 3) as f64 * 0.1,
                volume: None,
                spread_bps: None,
            }],
            indicators: vec![Indicator {
                name: "vix".into(),
                time,
                value: vix,
            }],
            assets: vec![],
        };
        let s = det.observe(&snap).unwrap();
        if s.changed {
            changes.push((t, s.label.clone()));
            since = s.since;
        }
        assert_eq!(s.probabilities.len(), 2);
    }
    assert_eq!(
        changes,
        vec![(20, RegimeLabel::HIGH_VOL), (40, RegimeLabel::LOW_VOL)]
    );
    assert_eq!(since, Some(Timestamp::from_nanos(40 * Timestamp::NANOS_PER_DAY)));
}

#[test]
fn a_stale_indicator_stops_asserting_its_label() {
    let mut l = labeler(LabelerConfig::default());
    let lab = l
        .observe(&IndicatorObservation {
            vix: Some(40.0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(lab.volatility, RegimeLabel::HIGH_VOL);
    // max_missing = 5: five missing observations keep the label, the sixth drops it
    for _ in 0..5 {
        let lab = l.observe(&IndicatorObservation::default()).unwrap();
        assert_eq!(lab.volatility, RegimeLabel::HIGH_VOL);
    }
    let lab = l.observe(&IndicatorObservation::default()).unwrap();
    assert_eq!(lab.volatility, RegimeLabel::LOW_VOL);
}

// ---- issue #22 (reliability) regressions ----

#[test]
fn extreme_values_are_rejected_without_change_and_sums_stay_finite() {
    let mut l = labeler(LabelerConfig::default());
    for t in 0..100 {
        let _ = l
            .observe(&IndicatorObservation {
                index_return: Some(0.01 * ((t * 7) as f64).sin()),
                volume: Some(1e6),
                vix: Some(15.0),
                ..Default::default()
            })
            .unwrap();
    }
    let before = l.clone();
    for obs in [
        IndicatorObservation {
            index_return: Some(1e300),
            ..Default::default()
        },
        IndicatorObservation {
            index_return: Some(f64::MAX),
            ..Default::default()
        },
        IndicatorObservation {
            volume: Some(f64::MAX),
            ..Default::default()
        },
    ] {
        assert!(l.observe(&obs).is_err(), "{obs:?}");
        assert_eq!(l, before);
    }
    // its own checkpoint reloads (no infinite running sum was stored)
    let json = serde_json::to_string(&l).unwrap();
    assert_eq!(serde_json::from_str::<RegimeLabeler>(&json).unwrap(), l);
    // absurd windows are typed errors, not capacity-overflow panics
    for w in [usize::MAX, 1 << 40] {
        let cfg = LabelerConfig {
            realized_vol_window: w,
            ..Default::default()
        };
        assert!(matches!(
            RegimeLabeler::new(cfg),
            Err(prudentia_regime::RegimeError::Core(
                prudentia_core::CoreError::TooLarge { .. }
            ))
        ));
    }
}
