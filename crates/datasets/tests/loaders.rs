//! Every loader on every shipped file, checked against the figures in data/README.md
//! (which come from the shared data folder's extraction report).

use chrono::NaiveDate;
use prudentia_datasets::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn check(f: &Frame, rows: usize, first: NaiveDate, last: NaiveDate, cols: &[&str], missing: usize) {
    assert_eq!(f.n_rows(), rows);
    assert_eq!(f.first_date(), first);
    assert_eq!(f.last_date(), last);
    assert_eq!(f.columns(), cols);
    assert_eq!(f.total_missing(), missing);
    assert_eq!(
        f.values().iter().filter(|v| v.is_nan()).count(),
        missing,
        "NaN exactly where missing"
    );
}

#[test]
fn sp500_stocks_matches_readme() {
    let f = sp500_stocks().unwrap();
    let cols = SP500_SECTORS.map(|(t, _)| t);
    check(&f, 8313, d(1990, 1, 2), d(2022, 12, 28), &cols, 0);
    // First row and extremes quoted in the README.
    assert_eq!(f.column("AAPL").unwrap()[0], 0.264);
    let aapl = f.column_complete("AAPL").unwrap();
    let min = aapl.iter().copied().fold(f64::INFINITY, f64::min);
    let max = aapl.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!((min, max), (0.098, 180.434));
    // RRC placeholder: first 69 rows hold 3.322.
    let rrc = f.column("RRC").unwrap();
    assert!(rrc.iter().take(69).all(|&p| p == 3.322));
    assert_ne!(rrc[69], 3.322);
    assert!(f.complete_values().is_ok());
}

#[test]
fn sp500_index_matches_readme() {
    let f = sp500_index().unwrap();
    check(&f, 8313, d(1990, 1, 2), d(2022, 12, 28), &["SP500"], 0);
    assert_eq!(
        f.dates(),
        sp500_stocks().unwrap().dates(),
        "same calendar as the stocks"
    );
    let ohlcv = sp500_index_ohlcv().unwrap();
    check(
        &ohlcv,
        5031,
        d(1999, 1, 4),
        d(2018, 12, 31),
        &["Open", "High", "Low", "Close", "Adj Close", "Volume"],
        0,
    );
    // Cross-check from the README: the two sources agree to 2-decimal rounding.
    let (a, b) = align(&f, &ohlcv).unwrap();
    assert_eq!(a.n_rows(), 5031);
    let worst = a
        .column("SP500")
        .unwrap()
        .iter()
        .zip(b.column("Adj Close").unwrap())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 0.0051, "{worst}");
}

#[test]
fn vix_matches_readme() {
    let f = vix().unwrap();
    check(&f, 1305, d(2014, 1, 3), d(2019, 1, 3), &["vix"], 46);
    assert_eq!(f.missing_count("vix").unwrap(), 46);
    assert!(f.missing_mask()[[f.row_of(d(2014, 1, 20)).unwrap(), 0]]);
    assert!(matches!(
        f.column_complete("vix"),
        Err(DatasetError::MissingValues { count: 46, first, .. }) if first == d(2014, 1, 20)
    ));
    let present = f.drop_missing_rows().unwrap();
    assert_eq!(present.n_rows(), 1305 - 46);
    let col = present.column_complete("vix").unwrap();
    assert_eq!(col.iter().copied().fold(f64::INFINITY, f64::min), 9.14);
    assert_eq!(col.iter().copied().fold(f64::NEG_INFINITY, f64::max), 40.74);
    // README cross-check: every empty VIX row is a non-trading day for the S&P 500, and no
    // S&P 500 trading day in 2014-01-03..2018-12-31 is absent from the VIX file.
    let spx = sp500_index_ohlcv()
        .unwrap()
        .between(d(2014, 1, 3), d(2018, 12, 31))
        .unwrap();
    let (s, v) = align(&spx, &f).unwrap();
    assert_eq!(s.n_rows(), spx.n_rows());
    assert_eq!(v.total_missing(), 0);
}

#[test]
fn factor_etfs_and_fama_french_match_readme() {
    let f = factor_etfs().unwrap();
    check(
        &f,
        2264,
        d(2014, 1, 2),
        d(2022, 12, 28),
        &["MTUM", "QUAL", "SIZE", "USMV", "VLUE"],
        0,
    );
    let ff = fama_french_monthly().unwrap();
    check(
        &ff,
        1109,
        d(1926, 7, 1),
        d(2018, 11, 1),
        &["Mkt-RF", "SMB", "HML", "RF"],
        0,
    );
    let rf = ff.column("RF").unwrap();
    assert_eq!(rf.iter().filter(|&&x| x < 0.0).count(), 12);
    assert_eq!(rf.iter().filter(|&&x| x == 0.0).count(), 82);
}

#[test]
fn sectors_cover_every_stock() {
    let f = sp500_stocks().unwrap();
    for c in f.columns() {
        assert!(sector_of(c).is_some(), "{c}");
    }
    assert_eq!(sector_of("AAPL"), Some("Information Technology"));
    assert_eq!(sector_of("RRC"), Some("Energy"));
    assert_eq!(sector_of("UNH"), Some("Health Care"));
    assert_eq!(sector_of("XYZ"), None);
    let assets = sp500_assets().unwrap();
    assert_eq!(assets.len(), 20);
    assert_eq!(assets[0].id.as_str(), "AAPL");
    assert_eq!(assets[0].price, 125.674);
    assert_eq!(assets[0].sector.as_deref(), Some("Information Technology"));
}

#[test]
fn returns_rule_on_real_data() {
    let p = sp500_stocks().unwrap();
    let r = p.simple_returns().unwrap();
    let l = p.log_returns().unwrap();
    assert_eq!(r.n_rows(), 8312);
    assert_eq!(r.first_date(), d(1990, 1, 3));
    // AAPL: 0.264 -> 0.266 on 1990-01-03.
    assert!((r.column("AAPL").unwrap()[0] - (0.266 / 0.264 - 1.0)).abs() < 1e-15);
    // README: AAPL's largest move is -0.731 log on 2000-09-29.
    let t = l.row_of(d(2000, 9, 29)).unwrap();
    assert!((l.column("AAPL").unwrap()[t] + 0.731).abs() < 5e-4);
    // VIX changes: two missing changes around each interior holiday.
    let v = vix().unwrap().simple_returns().unwrap();
    assert!(v.total_missing() >= 46);
}

#[test]
fn embedded_files_are_the_shipped_files() {
    // The constants are the exact file bytes (sizes from data/README.md's source table).
    assert_eq!(real::SP500_STOCKS_CSV.len(), 1_204_702);
    assert_eq!(real::SP500_INDEX_CSV.len(), 154_550);
    assert_eq!(real::SP500_INDEX_OHLCV_CSV.len(), 400_667);
    assert_eq!(real::VIX_CSV.len(), 21_767);
    assert_eq!(real::FACTOR_ETFS_CSV.len(), 105_315);
    assert_eq!(real::FAMA_FRENCH_MONTHLY_CSV.len(), 35_298);
    // load_csv_frame on a reader gives the same frame as the loader.
    let from_reader = load_csv_frame(real::VIX_CSV.as_bytes()).unwrap();
    assert_eq!(from_reader, vix().unwrap());
}
