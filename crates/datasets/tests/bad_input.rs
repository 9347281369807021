//! Every defect of a CSV input, and every bad synthetic configuration, is a typed error.

use prudentia_core::CoreError;
use prudentia_datasets::*;

#[test]
fn empty_input() {
    assert_eq!(parse_frame(""), Err(DatasetError::EmptyInput));
    assert_eq!(parse_frame("\n\n"), Err(DatasetError::EmptyInput));
    assert_eq!(parse_frame("date,a\n"), Err(DatasetError::NoDataRows));
}

#[test]
fn bad_header() {
    assert!(matches!(
        parse_frame("day,a\n2020-01-01,1\n"),
        Err(DatasetError::BadHeader { column: 0, .. })
    ));
    assert!(matches!(
        parse_frame("date\n2020-01-01\n"),
        Err(DatasetError::BadHeader { column: 1, .. })
    ));
    assert!(matches!(
        parse_frame("date,a,a\n2020-01-01,1,2\n"),
        Err(DatasetError::BadHeader { column: 2, .. })
    ));
    assert!(matches!(
        parse_frame("date,a,\n2020-01-01,1,2\n"),
        Err(DatasetError::BadHeader { column: 2, .. })
    ));
}

#[test]
fn ragged_rows() {
    assert_eq!(
        parse_frame("date,a,b\n2020-01-01,1,2\n2020-01-02,1\n"),
        Err(DatasetError::RaggedRow {
            line: 3,
            expected: 3,
            found: 2
        })
    );
    assert!(matches!(
        parse_frame("date,a\n2020-01-01,1,2\n"),
        Err(DatasetError::RaggedRow {
            line: 2,
            found: 3,
            ..
        })
    ));
}

#[test]
fn unparsable_values() {
    assert_eq!(
        parse_frame("date,a\n2020-01-01,1.5x\n"),
        Err(DatasetError::BadNumber {
            line: 2,
            column: "a".into(),
            text: "1.5x".into()
        })
    );
    assert!(matches!(
        parse_frame("date,a\n2020-01-01,.\n"),
        Err(DatasetError::BadNumber { .. })
    ));
    assert!(matches!(
        parse_frame("date,a\n01/02/2020,1\n"),
        Err(DatasetError::BadDate { line: 2, .. })
    ));
    assert!(matches!(
        parse_frame("date,a\n2020-02-30,1\n"),
        Err(DatasetError::BadDate { .. })
    ));
}

#[test]
fn non_finite_text() {
    for text in ["NaN", "nan", "inf", "-inf", "infinity", "1e400"] {
        let csv = format!("date,a\n2020-01-01,1\n2020-01-02,{text}\n");
        assert_eq!(
            parse_frame(&csv),
            Err(DatasetError::NonFiniteValue {
                line: 3,
                column: "a".into(),
                text: text.into()
            }),
            "{text}"
        );
    }
}

#[test]
fn unsorted_and_duplicate_dates() {
    assert!(matches!(
        parse_frame("date,a\n2020-01-02,1\n2020-01-01,2\n"),
        Err(DatasetError::UnsortedDates { line: 3, .. })
    ));
    assert!(matches!(
        parse_frame("date,a\n2020-01-02,1\n2020-01-02,2\n"),
        Err(DatasetError::DuplicateDate { line: 3, .. })
    ));
}

#[test]
fn io_errors() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    assert!(matches!(
        load_csv_frame(Failing),
        Err(DatasetError::Io {
            kind: std::io::ErrorKind::Other,
            ..
        })
    ));
    let bad_utf8: &[u8] = b"date,a\n2020-01-01,\xff\n";
    assert!(matches!(
        load_csv_frame(bad_utf8),
        Err(DatasetError::Io {
            kind: std::io::ErrorKind::InvalidData,
            ..
        })
    ));
}

#[test]
fn frame_accessors_and_returns_errors() {
    let f = parse_frame("date,a\n2020-01-01,1\n").unwrap();
    assert!(matches!(f.column("b"), Err(DatasetError::UnknownColumn { .. })));
    assert!(matches!(
        f.simple_returns(),
        Err(DatasetError::Core(CoreError::EmptyInput { .. }))
    ));
    let g = parse_frame("date,a\n2020-01-01,0\n2020-01-02,1\n").unwrap();
    assert!(matches!(
        g.log_returns(),
        Err(DatasetError::NonPositivePrice { .. })
    ));
    let h = parse_frame("date,b\n2021-01-01,1\n").unwrap();
    assert_eq!(align(&f, &h), Err(DatasetError::NoCommonDates));
    assert!(matches!(
        f.between(
            chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2021, 2, 1).unwrap()
        ),
        Err(DatasetError::Core(CoreError::EmptyInput { .. }))
    ));
    let all_missing = parse_frame("date,a\n2020-01-01,\n").unwrap();
    assert!(all_missing.drop_missing_rows().is_err());
}

#[test]
fn frame_new_checks_invariants() {
    use ndarray::array;
    use prudentia_core::Timestamp;
    let t = |d| Timestamp::from_ymd(2020, 1, d).unwrap();
    assert!(matches!(
        Frame::new(vec![t(2), t(1)], vec!["a".into()], array![[1.0], [2.0]]),
        Err(DatasetError::Core(CoreError::NotIncreasing { .. }))
    ));
    assert!(matches!(
        Frame::new(vec![t(1)], vec!["a".into()], array![[f64::INFINITY]]),
        Err(DatasetError::Core(CoreError::NonFinite { .. }))
    ));
    assert!(matches!(
        Frame::new(vec![t(1)], vec!["a".into(), "b".into()], array![[1.0]]),
        Err(DatasetError::Core(CoreError::ShapeMismatch { .. }))
    ));
    assert!(matches!(
        Frame::new(vec![], vec!["a".into()], ndarray::Array2::zeros((0, 1))),
        Err(DatasetError::Core(CoreError::EmptyInput { .. }))
    ));
}

#[test]
fn synthetic_config_errors() {
    let base = SyntheticConfig::default();
    let bad = |c: SyntheticConfig| SyntheticMarket::generate(&c).unwrap_err();

    assert!(matches!(
        bad(SyntheticConfig {
            n_assets: 0,
            ..base.clone()
        }),
        DatasetError::Core(CoreError::EmptyInput {
            field: "n_assets",
            ..
        })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            n_sectors: 21,
            ..base.clone()
        }),
        DatasetError::Core(CoreError::OutOfRange {
            field: "n_sectors",
            ..
        })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            n_days: 1,
            ..base.clone()
        }),
        DatasetError::Core(CoreError::EmptyInput { field: "n_days", .. })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            regimes: vec![],
            transition: vec![],
            ..base.clone()
        }),
        DatasetError::Core(CoreError::EmptyInput { field: "regimes", .. })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            transition: vec![vec![0.9, 0.2], vec![0.01, 0.99]],
            ..base.clone()
        }),
        DatasetError::NotStochastic { row: 0, .. }
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            transition: vec![vec![1.5, -0.5], vec![0.01, 0.99]],
            ..base.clone()
        }),
        DatasetError::NotStochastic { row: 0, .. }
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            transition: vec![vec![1.0, 0.0], vec![f64::NAN, 1.0]],
            ..base.clone()
        }),
        DatasetError::NotStochastic { row: 1, .. }
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            transition: vec![vec![1.0]],
            ..base.clone()
        }),
        DatasetError::Core(CoreError::ShapeMismatch {
            field: "transition",
            ..
        })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            initial_regime: 2,
            ..base.clone()
        }),
        DatasetError::Core(CoreError::OutOfRange {
            field: "initial_regime",
            ..
        })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            alpha_sd: f64::NAN,
            ..base.clone()
        }),
        DatasetError::Core(CoreError::OutOfRange {
            field: "alpha_sd",
            ..
        })
    ));
    assert!(matches!(
        bad(SyntheticConfig {
            vol_dispersion: 1.0,
            ..base.clone()
        }),
        DatasetError::Core(CoreError::OutOfRange {
            field: "vol_dispersion",
            ..
        })
    ));

    let with_regime = |r: RegimeSpec| SyntheticConfig {
        regimes: vec![r],
        transition: vec![vec![1.0]],
        ..base.clone()
    };
    assert!(matches!(
        bad(with_regime(RegimeSpec {
            daily_vol: 0.0,
            ..RegimeSpec::risk_on()
        })),
        DatasetError::Core(CoreError::OutOfRange {
            field: "regimes.daily_vol",
            ..
        })
    ));
    assert!(matches!(
        bad(with_regime(RegimeSpec {
            daily_mean: f64::NAN,
            ..RegimeSpec::risk_on()
        })),
        DatasetError::Core(CoreError::OutOfRange {
            field: "regimes.daily_mean",
            ..
        })
    ));
    assert!(matches!(
        bad(with_regime(RegimeSpec {
            intra_sector_corr: 1.0,
            ..RegimeSpec::risk_on()
        })),
        DatasetError::Core(CoreError::OutOfRange {
            field: "regimes.intra_sector_corr",
            ..
        })
    ));
    // Each correlation in range, but cross > intra with large blocks: not positive definite.
    assert!(matches!(
        bad(with_regime(RegimeSpec {
            intra_sector_corr: 0.1,
            cross_sector_corr: 0.9,
            ..RegimeSpec::risk_on()
        })),
        DatasetError::CorrelationNotPositiveDefinite { regime: 0, .. }
    ));
    // Strongly negative cross-sector correlation across 4 sectors: not positive definite.
    assert!(matches!(
        bad(with_regime(RegimeSpec {
            intra_sector_corr: 0.5,
            cross_sector_corr: -0.5,
            ..RegimeSpec::risk_on()
        })),
        DatasetError::CorrelationNotPositiveDefinite { .. }
    ));
    assert!(base.validate().is_ok());
}

#[test]
fn generator_argument_errors() {
    let m = SyntheticMarket::generate(&SyntheticConfig {
        n_days: 10,
        ..Default::default()
    })
    .unwrap();
    for spec in [
        ForecasterSpec {
            bias: f64::INFINITY,
            ..Default::default()
        },
        ForecasterSpec {
            noise_sd: -1.0,
            ..Default::default()
        },
        ForecasterSpec {
            sigma_scale: 0.0,
            ..Default::default()
        },
        ForecasterSpec {
            sigma_scale: f64::NAN,
            ..Default::default()
        },
    ] {
        assert!(
            matches!(m.forecasts(&spec), Err(DatasetError::Core(_))),
            "{spec:?}"
        );
    }
    assert!(m
        .forecasts(&ForecasterSpec::default())
        .unwrap()
        .forecast(10, 0)
        .is_err());
    assert!(causal_dataset(0, 3, 1).is_err());
    assert!(causal_dataset(10, 1, 1).is_err());
    assert!(fills(0, 1).is_err());
    assert!(piecewise_stream(&[], 1).is_err());
    assert!(piecewise_stream(&[(0, 0.0, 1.0)], 1).is_err());
    assert!(piecewise_stream(&[(5, f64::NAN, 1.0)], 1).is_err());
    assert!(piecewise_stream(&[(5, 0.0, -1.0)], 1).is_err());
}

#[test]
fn tolerated_variants_parse_identically() {
    let plain = parse_frame("date,a,b\n2020-01-01,1,\n2020-01-02,2.5,3\n").unwrap();
    for text in [
        "date,a,b\r\n2020-01-01,1,\r\n2020-01-02,2.5,3\r\n",
        "\u{feff}date,a,b\n2020-01-01,1,\n2020-01-02,2.5,3\n",
        "Date, a , b\n\n2020-01-01, 1 ,\n2020-01-02,2.5,3",
        "\"date\",\"a\",\"b\"\n2020-01-01,\"1\",\"\"\n2020-01-02,2.5e0,3\n",
    ] {
        let f = parse_frame(text).unwrap();
        assert_eq!(f, plain, "{text:?}");
    }
}

#[test]
fn hundred_thousand_columns_parse_in_linear_time() {
    // The duplicate-name check used to compare every pair (14.6 s here); it is hashed now.
    let n = 100_000;
    let mut text = String::from("date");
    for j in 0..n {
        text.push_str(&format!(",c{j}"));
    }
    text.push_str("\n2020-01-01");
    for j in 0..n {
        text.push_str(&format!(",{j}"));
    }
    text.push('\n');
    let f = parse_frame(&text).unwrap();
    assert_eq!(f.n_columns(), n);
    let dup = text.replacen(",c99999", ",c0", 1);
    assert!(matches!(
        parse_frame(&dup),
        Err(DatasetError::BadHeader { column: 100_000, .. })
    ));
}

#[test]
fn absurd_generator_sizes_are_too_large_errors() {
    for (n_assets, n_days) in [
        (usize::MAX, 10),
        (1 << 40, 10),
        (5, usize::MAX),
        (5, 1 << 40),
        (20_000, 20_000),
    ] {
        let c = SyntheticConfig {
            n_assets,
            n_sectors: 1,
            n_days,
            ..Default::default()
        };
        assert!(
            matches!(
                SyntheticMarket::generate(&c),
                Err(DatasetError::Core(CoreError::TooLarge { .. }))
            ),
            "{n_assets} x {n_days}"
        );
    }
    for n in [usize::MAX, 1 << 40] {
        assert!(matches!(
            fills(n, 1),
            Err(DatasetError::Core(CoreError::TooLarge { .. }))
        ));
        assert!(matches!(
            causal_dataset(n, 2, 1),
            Err(DatasetError::Core(CoreError::TooLarge { .. }))
        ));
        assert!(matches!(
            causal_dataset(10, n, 1),
            Err(DatasetError::Core(CoreError::TooLarge { .. }))
        ));
        assert!(matches!(
            iv_dataset(n, 1.0, 1),
            Err(DatasetError::Core(CoreError::TooLarge { .. }))
        ));
        assert!(matches!(
            piecewise_stream(&[(n, 0.0, 1.0), (n, 0.0, 1.0)], 1),
            Err(DatasetError::Core(CoreError::TooLarge { .. }))
        ));
    }
    assert!(iv_dataset(10, f64::MAX, 1).is_err());
    assert!(piecewise_stream(&[(10, f64::MAX, f64::MAX)], 1).is_err());
}

#[test]
fn tampered_checkpoints_do_not_load() {
    let m = SyntheticMarket::generate(&SyntheticConfig {
        n_assets: 4,
        n_sectors: 2,
        n_days: 30,
        ..Default::default()
    })
    .unwrap();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<SyntheticMarket>(&json).unwrap(), m);
    let mut bad_regime: serde_json::Value = serde_json::from_str(&json).unwrap();
    bad_regime["regimes"][3] = 7.into();
    let mut bad_sector: serde_json::Value = serde_json::from_str(&json).unwrap();
    bad_sector["asset_sector"][0] = 9.into();
    let mut short: serde_json::Value = serde_json::from_str(&json).unwrap();
    short["dates"] = serde_json::json!([]);
    let mut cfg: serde_json::Value = serde_json::from_str(&json).unwrap();
    cfg["config"]["n_assets"] = serde_json::json!(usize::MAX);
    for v in [bad_regime, bad_sector, short, cfg] {
        assert!(serde_json::from_value::<SyntheticMarket>(v).is_err());
    }
    let panel = m.forecasts(&ForecasterSpec::default()).unwrap();
    let pj = serde_json::to_string(&panel).unwrap();
    assert!(serde_json::from_str::<ForecastPanel>(&pj).is_ok());
    let mut v: serde_json::Value = serde_json::from_str(&pj).unwrap();
    v["spec"]["sigma_scale"] = serde_json::json!(-1.0);
    assert!(serde_json::from_value::<ForecastPanel>(v).is_err());
    let f = fills(5, 1).unwrap();
    let mut v = serde_json::to_value(&f).unwrap();
    v["order_type"][0] = 9.into();
    assert!(serde_json::from_value::<FillSample>(v).is_err());
    let c = causal_dataset(5, 2, 1).unwrap();
    let mut v = serde_json::to_value(&c).unwrap();
    v["treatment"] = serde_json::json!([true]);
    assert!(serde_json::from_value::<CausalSample>(v).is_err());
}
