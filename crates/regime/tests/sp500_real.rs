//! Real data: the S&P 500 index 1990–2022 (prudentia-datasets `sp500_index()`).
//! The detector must signal a change within 10 trading days after the Lehman
//! bankruptcy (2008-09-15) and the COVID sell-off (2020-02-24).

use chrono::NaiveDate;
use prudentia_core::traits::RegimeDetector;
use prudentia_core::{AssetId, MarketSnapshot, Quote};
use prudentia_regime::detector::{ChangeSource, MarketRegimeDetector, MarketRegimeDetectorConfig};

fn sp500() -> (Vec<NaiveDate>, Vec<f64>) {
    let f = prudentia_datasets::sp500_index().unwrap();
    let dates = f.naive_dates();
    let close = f.column("SP500").unwrap().to_vec();
    (dates, close)
}

fn snapshot(date: NaiveDate, price: f64) -> MarketSnapshot {
    let time = prudentia_core::Timestamp::from_date(date);
    MarketSnapshot {
        time,
        quotes: vec![Quote {
            asset: AssetId::new("SPX"),
            time,
            price,
            volume: None,
            spread_bps: None,
        }],
        indicators: vec![],
        assets: vec![],
    }
}

#[test]
fn signals_change_after_lehman_and_covid() {
    let (dates, close) = sp500();
    assert!(close.iter().all(|p| p.is_finite()));
    let config = MarketRegimeDetectorConfig {
        reference: Some(AssetId::new("SPX")),
        change_source: ChangeSource::ChangePoint,
        ..Default::default()
    };
    let mut det: Box<dyn RegimeDetector> = Box::new(MarketRegimeDetector::new(config).unwrap());
    let mut signals = Vec::new();
    for (i, (&d, &p)) in dates.iter().zip(&close).enumerate() {
        let state = det.observe(&snapshot(d, p)).unwrap();
        if state.changed {
            signals.push(i);
        }
    }
    let per_year = signals.len() as f64 / 33.0;
    eprintln!(
        "{} change signals over 1990-2022 ({per_year:.1} per year)",
        signals.len()
    );
    for event in ["2008-09-15", "2020-02-24"] {
        let e = NaiveDate::parse_from_str(event, "%Y-%m-%d").unwrap();
        let i = dates.iter().position(|&d| d >= e).unwrap();
        let hit = signals.iter().find(|&&s| s >= i && s <= i + 10);
        eprintln!(
            "{event}: first signal in the next 10 trading days: {:?}",
            hit.map(|&s| dates[s])
        );
        assert!(
            hit.is_some(),
            "no change signalled within 10 trading days of {event}"
        );
    }
}
