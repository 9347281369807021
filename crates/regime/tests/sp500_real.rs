//! Real data: the S&P 500 index 1990–2022 (prudentia-datasets `sp500_index()`).
//! The detector must signal a change within 10 trading days after the Lehman
//! bankruptcy (2008-09-15) and the COVID sell-off (2020-02-24), with bounded false alarms
//! (signals per calm year, and per year overall).

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

/// Upper bound on signals per calm year (every one of them a false alarm; today 3 in 8 years).
const CALM_FALSE_ALARMS_PER_YEAR: f64 = 0.5;
/// Upper bound on all signals per year over 1990-2022 (today 46 in 33 years).
const SIGNALS_PER_YEAR: f64 = 2.0;

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
    // False alarms: signals in calm years (low realized volatility, no crash, no bear
    // market: 1993-1995, 2004-2006, 2013, 2017), per year, and all signals per year.
    let calm = ["1993", "1994", "1995", "2004", "2005", "2006", "2013", "2017"];
    let calm_signals = signals
        .iter()
        .filter(|&&s| calm.contains(&dates[s].format("%Y").to_string().as_str()))
        .count();
    let calm_per_year = calm_signals as f64 / calm.len() as f64;
    eprintln!(
        "{calm_signals} signals in {} calm years ({calm_per_year:.2} per year)",
        calm.len()
    );
    assert!(
        calm_per_year <= CALM_FALSE_ALARMS_PER_YEAR,
        "{calm_per_year} false alarms per calm year"
    );
    assert!(per_year <= SIGNALS_PER_YEAR, "{per_year} signals per year");
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
