//! Issue #19: the CSV on-ramp reads long and wide layouts with any delimiter and date
//! format, and its errors name the real problem.

use prudentia_core::Timestamp;
use prudentia_datasets::onramp::{read_market_csv, CsvOptions, Feature, FeatureSpec, Layout};
use prudentia_datasets::real::SP500_STOCKS_CSV;
use prudentia_datasets::{parse_frame, sp500_stocks, DatasetError};

/// A `;`-delimited long file with US dates, rows out of order, a volume column and a
/// missing close (BBB on 01/03).
const LONG_US: &str = "Date;Ticker;Close;Volume\n\
    01/03/2012;AAA;10.5;1000\n\
    01/02/2012;AAA;10;900\n\
    01/02/2012;BBB;20;500\n\
    01/04/2012;BBB;21;400\n\
    01/04/2012;AAA;11;1100\n\
    01/03/2012;BBB;;0\n";

fn us_options() -> CsvOptions {
    CsvOptions {
        delimiter: Some(';'),
        layout: Layout::Long,
        date_formats: vec!["%m/%d/%Y".into()],
        ..Default::default()
    }
}

#[test]
fn semicolon_long_file_with_us_dates_loads_through_options() {
    let data = read_market_csv(LONG_US, &us_options()).unwrap();
    assert_eq!(data.tickers(), ["AAA", "BBB"]);
    assert_eq!(
        data.dates(),
        [
            Timestamp::from_ymd(2012, 1, 2).unwrap(),
            Timestamp::from_ymd(2012, 1, 3).unwrap(),
            Timestamp::from_ymd(2012, 1, 4).unwrap()
        ]
    );
    let close = data.close.values();
    assert_eq!(close[[1, 0]], 10.5);
    assert!(data.close.missing_mask()[[1, 1]]);
    assert_eq!(data.close.missing_counts(), vec![0, 1]);
    let volume = data.volume.as_ref().unwrap();
    assert_eq!(volume.values()[[2, 0]], 1100.0);
    assert!(data.spread_bps.is_none());
    // Sniffing the delimiter and layout gives the same result; only the dates need options.
    let sniffed = CsvOptions {
        date_formats: vec!["%m/%d/%Y".into()],
        ..Default::default()
    };
    assert_eq!(read_market_csv(LONG_US, &sniffed).unwrap(), data);
}

#[test]
fn errors_name_the_delimiter_the_layout_and_the_date_format() {
    // The old loader's message for this file was "expected `date` as the first column".
    let e = parse_frame(LONG_US).unwrap_err().to_string();
    assert!(e.contains("read_market_csv"), "{e}");
    // A `,` delimiter on a `;` file: the error names both.
    let e = read_market_csv(
        LONG_US,
        &CsvOptions {
            delimiter: Some(','),
            ..us_options()
        },
    )
    .unwrap_err();
    assert!(matches!(e, DatasetError::Delimiter { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("','") && msg.contains("';'"), "{msg}");
    // ISO dates expected, US dates found: the error suggests the format that reads them.
    let e = read_market_csv(LONG_US, &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DatasetError::BadDateFormat { line: 2, .. }), "{e:?}");
    assert!(e.to_string().contains("%m/%d/%Y"), "{e}");
    // The long layout asked for on a wide file: the error names the layout and the header.
    let wide = "date;AAA;BBB\n2012-01-02;1;2\n";
    let e = read_market_csv(
        wide,
        &CsvOptions {
            layout: Layout::Long,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, DatasetError::Layout { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("long layout") && msg.contains("AAA, BBB") && msg.contains("Wide"),
        "{msg}"
    );
    // A header with no delimiter at all.
    let e = read_market_csv("date ticker close\n2012-01-02 A 1\n", &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DatasetError::Delimiter { .. }), "{e:?}");
    // A date column under another name.
    let e = read_market_csv("day,AAA\n2012-01-02,1\n", &CsvOptions::default()).unwrap_err();
    assert!(e.to_string().contains("date_column"), "{e}");
    // The same date and ticker twice.
    let e = read_market_csv(
        "date,ticker,close\n2012-01-02,A,1\n2012-01-02,A,2\n",
        &CsvOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, DatasetError::DuplicateEntry { line: 3, .. }), "{e:?}");
    // Bad options are typed.
    for bad in [
        CsvOptions {
            date_formats: vec![],
            ..Default::default()
        },
        CsvOptions {
            delimiter: Some('"'),
            ..Default::default()
        },
        CsvOptions {
            delimiter: Some(','),
            decimal_comma: true,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            read_market_csv(LONG_US, &bad),
            Err(DatasetError::BadOptions { .. })
        ));
    }
}

#[test]
fn wide_tab_file_decimal_commas_and_the_shipped_data() {
    let text = "Date\tAAA\tBBB\n02.01.2012\t1,5\t\n03.01.2012\t1.001,25\t2\n";
    let data = read_market_csv(
        text,
        &CsvOptions {
            date_formats: vec!["%d.%m.%Y".into()],
            decimal_comma: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.close.values()[[0, 0]], 1.5);
    assert_eq!(data.close.values()[[1, 0]], 1001.25);
    assert!(data.close.missing_mask()[[0, 1]]);
    // The shipped wide file reads the same through the on-ramp as through its loader.
    let data = read_market_csv(SP500_STOCKS_CSV, &CsvOptions::default()).unwrap();
    assert_eq!(data.close, sp500_stocks().unwrap());
}

#[test]
fn snapshots_carry_named_features_and_history() {
    let data = read_market_csv(LONG_US, &us_options()).unwrap();
    let spec = FeatureSpec::new([
        ("last", Feature::LastReturn),
        ("mean2", Feature::MeanReturn { days: 2 }),
    ])
    .unwrap();
    assert_eq!(spec.names().collect::<Vec<_>>(), ["last", "mean2"]);
    assert_eq!(spec.lookback(), 2);
    let s = data.snapshot(2, &spec).unwrap();
    assert_eq!(s.time, Timestamp::from_ymd(2012, 1, 4).unwrap());
    assert_eq!(s.quotes.len(), 2);
    assert_eq!(s.quotes[0].volume, Some(1100.0));
    // BBB's 2-day mean is undefined (missing close on 01/03): quoted, but not an asset.
    assert_eq!(s.assets.len(), 1);
    let aaa = &s.assets[0];
    assert_eq!(spec.get(aaa, "last"), Some((11.0f64 / 10.5).ln()));
    assert!((spec.get(aaa, "mean2").unwrap() - (1.1f64).ln() / 2.0).abs() < 1e-15);
    assert_eq!(spec.get(aaa, "nope"), None);
    // The history a forecaster may use on 01/03: two closes.
    let h = data
        .history("AAA", Timestamp::from_ymd(2012, 1, 3).unwrap())
        .unwrap();
    assert_eq!(h.to_vec(), vec![10.0, 10.5]);
    assert!(data.history("ZZZ", s.time).is_err());
    assert!(data.snapshot(3, &spec).is_err());
    assert_eq!(data.snapshots(&spec).unwrap().len(), 1);
    // Bad specs are typed errors.
    assert!(FeatureSpec::new([("v", Feature::Volatility { days: 1 })]).is_err());
    assert!(FeatureSpec::new([("a", Feature::LastReturn), ("a", Feature::LastReturn)]).is_err());
    assert!(FeatureSpec::new([("m", Feature::Momentum { days: 2, skip: 2 })]).is_err());
    assert!(FeatureSpec::new([("m", Feature::MeanReturn { days: usize::MAX })]).is_err());
}

#[test]
fn options_and_specs_deserialize_from_partial_json() {
    let o: CsvOptions = serde_json::from_str(r#"{"delimiter": ";", "date_formats": ["%m/%d/%Y"]}"#).unwrap();
    assert_eq!(o.layout, Layout::Auto);
    assert_eq!(o.close_column, "close");
    let back: CsvOptions = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
    assert_eq!(back, o);
    assert!(serde_json::from_str::<CsvOptions>(r#"{"delimter": ";"}"#).is_err());
    let spec: FeatureSpec =
        serde_json::from_str(r#"[["mom", {"kind": "momentum", "days": 120, "skip": 20}]]"#).unwrap();
    assert_eq!(spec.index_of("mom"), Some(0));
    assert!(serde_json::from_str::<FeatureSpec>(r#"[["v", {"kind": "volatility", "days": 0}]]"#).is_err());
}
