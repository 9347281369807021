//! prudentia-datasets under bad input: the CSV reader, frames, every generator, and
//! checkpoint mutation of every generated type.

use proptest::prelude::*;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_datasets::*;

fn small_config() -> SyntheticConfig {
    SyntheticConfig {
        n_assets: 4,
        n_sectors: 2,
        n_days: 40,
        ..Default::default()
    }
}

#[test]
fn datasets_entry_points() {
    let mut s = Suite::new("datasets");

    // CSV reader.
    for text in [
        "",
        "date",
        "date,a\n",
        "date,a,a\n2020-01-01,1,2\n",
        "date,a\n2020-01-01,NaN\n",
        "date,a\n2020-01-01,1e400\n",
        "date,a\n2020-01-02,1\n2020-01-01,2\n",
        "date,a\n2020-01-01,1\n2020-01-01,2\n",
        "date,a\n2020-13-01,1\n",
        "date,a\n2020-01-01,1,2\n",
        "\u{feff}date,a\n2020-01-01,5e-324\n2020-01-02,1e308\n",
        "date,\"a,b\"\n2020-01-01,-1\n",
    ] {
        s.check(format!("parse_frame {text:?}"), move || result(parse_frame(text)));
    }
    s.check("parse_frame 100k columns", || {
        let mut text = String::from("date");
        for j in 0..100_000 {
            text.push_str(&format!(",c{j}"));
        }
        text.push_str("\n2020-01-01");
        for _ in 0..100_000 {
            text.push_str(",1");
        }
        result_with(parse_frame(&text).map(|f| f.n_columns()), |&n| {
            (n == 100_000).then_some(()).ok_or_else(|| format!("{n} columns"))
        })
    });
    s.sweep(
        "parse_frame values",
        proptest::collection::vec(("[0-9eE.+-]{0,6}|NaN|inf|", finite_f64()), 1..6),
        |rows| {
            let mut text = String::from("date,a,b\n");
            for (d, (t, v)) in rows.iter().enumerate() {
                text.push_str(&format!("2020-01-{:02},{t},{v}\n", d + 1));
            }
            match parse_frame(&text) {
                Err(_) => Check::Rejected,
                Ok(f) => result(f.simple_returns().map(|r| r.drop_missing_rows().is_ok()))
                    .and(|| result(f.log_returns().map(|r| r.total_missing())))
                    .and(|| result(parse_frame(&f.to_csv_string()).map(|g| g == f))),
            }
        },
    );
    let frame = sp500_index().ok();
    let f2 = frame.clone();
    s.sweep(
        "Frame accessors",
        (any_size(), any_size(), "[a-zA-Z_ ]{0,8}"),
        move |(a, b, name)| {
            let Some(f) = f2.clone() else {
                return Check::Broken("the embedded index does not load".into());
            };
            let rows: Vec<usize> = [a, b].into_iter().filter(|&r| r < 1 << 40).collect();
            Check::Ok
                .and(|| result(f.take_rows(&rows).map(|g| g.n_rows())))
                .and(|| result(f.column(&name).map(|c| c.len())))
                .and(|| result(f.select(&[&name, "close"]).map(|g| g.n_columns())))
                .and(|| result(f.missing_count(&name)))
        },
    );
    for (name, loader) in LOADERS {
        s.check(format!("loader {name}"), move || {
            result(loader().map(|f| (f.n_rows(), f.n_columns(), f.total_missing())))
        });
    }
    if let (Ok(a), Ok(b)) = (sp500_stocks(), vix()) {
        s.check("align", move || {
            result(align(&a, &b).map(|(x, y)| (x.n_rows(), y.n_rows())))
        });
    }

    // Generators: sizes and parameters.
    s.sweep(
        "SyntheticMarket::generate",
        (
            any_size(),
            any_size(),
            any_size(),
            any_f64(),
            any_f64(),
            any::<u64>(),
        ),
        |(n, g, t, alpha_sd, disp, seed)| {
            let c = SyntheticConfig {
                n_assets: n.min(1 << 40) % 64 + usize::from(n >= 1 << 20) * n,
                n_sectors: g,
                n_days: if t >= 1 << 20 { t } else { t % 300 },
                seed,
                alpha_sd,
                vol_dispersion: disp,
                ..Default::default()
            };
            match SyntheticMarket::generate(&c) {
                Err(_) => Check::Rejected,
                Ok(m) => Check::ok_finite(&m.returns)
                    .and(|| Check::ok_finite(&m.true_covariance(m.n_days() - 1)))
                    .and(|| Check::ok_finite(&m.regime_segments()))
                    .and(|| result(m.forecasts(&ForecasterSpec::default()).map(|p| p.sigma.sum()))),
            }
        },
    );
    s.sweep(
        "regimes and transition",
        (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()),
        |(mean, vol, rin, rx, p)| {
            let r = RegimeSpec {
                label: prudentia_core::RegimeLabel::new("x"),
                daily_mean: mean,
                daily_vol: vol,
                intra_sector_corr: rin,
                cross_sector_corr: rx,
            };
            let c = SyntheticConfig {
                regimes: vec![RegimeSpec::risk_on(), r],
                transition: vec![vec![1.0 - p, p], vec![p, 1.0 - p]],
                ..small_config()
            };
            result(SyntheticMarket::generate(&c).map(|m| m.change_points.len()))
        },
    );
    let market = SyntheticMarket::generate(&small_config()).ok();
    let m2 = market.clone();
    s.sweep(
        "forecasts / opportunities / snapshots",
        (any_f64(), any_f64(), any_f64(), any_size()),
        move |(bias, noise_sd, sigma_scale, t)| {
            let Some(m) = m2.clone() else {
                return Check::Broken("the small market does not generate".into());
            };
            let spec = ForecasterSpec {
                bias,
                noise_sd,
                sigma_scale,
                seed: 1,
            };
            Check::ok_finite(&m.snapshot_before(t).map(|s| s.quotes.len()))
                .and(|| Check::ok_finite(&m.regime_label(t)))
                .and(|| Check::ok_finite(&m.prices_before(t)))
                .and(|| match m.forecasts(&spec) {
                    Err(_) => Check::Rejected,
                    Ok(p) => result(p.forecast(t, t % 5)).and(|| result(m.opportunities_for(t, &p))),
                })
        },
    );
    s.sweep("fills", (any_size(), any::<u64>()), |(n, seed)| {
        result(fills(if n < 1 << 20 { n % 500 } else { n }, seed).map(|f| {
            let x = f.numeric_features();
            (
                x.sum(),
                f.core_order_type(0).is_some(),
                f.core_order_type(usize::MAX).is_none(),
            )
        }))
    });
    s.sweep(
        "causal_dataset",
        (any_size(), any_size(), any::<u64>()),
        |(n, p, seed)| {
            let n = if n < 1 << 20 { n % 300 } else { n };
            let p = if p < 1 << 20 { p % 6 } else { p };
            result(causal_dataset(n, p, seed).map(|c| c.treatment_indicator().sum()))
        },
    );
    s.sweep(
        "iv_dataset",
        (any_size(), any_f64(), any::<u64>()),
        |(n, pi, seed)| {
            let n = if n < 1 << 20 { n % 300 } else { n };
            result(iv_dataset(n, pi, seed))
        },
    );
    s.sweep(
        "piecewise_stream",
        proptest::collection::vec((any_size(), any_f64(), any_f64()), 0..4),
        |segs| {
            let segs: Vec<Segment> = segs
                .into_iter()
                .map(|(l, m, sd)| (if l < 1 << 20 { l % 200 } else { l }, m, sd))
                .collect();
            result(piecewise_stream(&segs, 3))
        },
    );

    for t in ["JPM", "", "jpm", "\u{0}"] {
        s.check(format!("sector_of {t:?}"), move || {
            Check::ok_finite(&sector_of(t).map(str::len))
        });
    }
    s.check("sp500_assets", || {
        result_with(sp500_assets(), |a| {
            a.iter()
                .all(|x| x.price > 0.0)
                .then_some(())
                .ok_or_else(|| "a non-positive price".into())
        })
    });

    // Checkpoints: load, then use.
    if let Some(m) = market.clone() {
        if let Some(snap) = m.snapshot_before(25) {
            s.checkpoint("MarketSnapshot", &snap, |json| {
                match serde_json::from_str::<prudentia_core::MarketSnapshot>(&json) {
                    Err(_) => Check::Rejected,
                    Ok(s) => Check::invariant(s.assets.iter().all(|a| a.price > 0.0), "price <= 0")
                        .and(|| Check::ok_finite(&s.assets)),
                }
            });
        }
    }
    if let Some(m) = market {
        s.checkpoint("SyntheticMarket", &m, |json| {
            match serde_json::from_str::<SyntheticMarket>(&json) {
                Err(_) => Check::Rejected,
                Ok(m) => {
                    let t = m.n_days() - 1;
                    Check::ok_finite(&m.true_covariance(t))
                        .and(|| Check::ok_finite(&m.snapshot_before(t).map(|s| s.assets.len())))
                        .and(|| Check::ok_finite(&m.regime_segments()))
                        .and(|| Check::ok_finite(&m.summary().len()))
                        .and(|| result(m.returns_frame().map(|f| f.n_rows())))
                        .and(|| match m.forecasts(&ForecasterSpec::default()) {
                            Err(_) => Check::Rejected,
                            Ok(p) => result(m.opportunities_for(t, &p)),
                        })
                }
            }
        });
        if let Ok(panel) = m.forecasts(&ForecasterSpec::biased()) {
            s.checkpoint("ForecastPanel", &panel, move |json| {
                match serde_json::from_str::<ForecastPanel>(&json) {
                    Err(_) => Check::Rejected,
                    Ok(p) => result(p.forecast(3, 1)).and(|| result(m.opportunities_for(3, &p))),
                }
            });
        }
    }
    s.checkpoint(
        "SyntheticConfig",
        &small_config(),
        |json| match serde_json::from_str::<SyntheticConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let c = SyntheticConfig {
                    n_days: c.n_days.min(200),
                    n_assets: c.n_assets.min(16),
                    n_sectors: c.n_sectors.min(c.n_assets.min(16)),
                    ..c
                };
                result(SyntheticMarket::generate(&c).map(|m| m.returns.sum()))
            }
        },
    );
    if let Ok(f) = fills(8, 2) {
        s.checkpoint("FillSample", &f, |json| {
            match serde_json::from_str::<FillSample>(&json) {
                Err(_) => Check::Rejected,
                Ok(f) => Check::ok_finite(&f.numeric_features()).and(|| {
                    Check::ok_finite(&(0..f.len()).map(|r| f.core_order_type(r)).collect::<Vec<_>>())
                }),
            }
        });
    }
    if let Ok(c) = causal_dataset(8, 3, 2) {
        s.checkpoint("CausalSample", &c, |json| {
            match serde_json::from_str::<CausalSample>(&json) {
                Err(_) => Check::Rejected,
                Ok(c) => Check::ok_finite(&c.treatment_indicator()),
            }
        });
    }
    if let Ok(iv) = iv_dataset(8, 0.5, 2) {
        s.checkpoint("IvSample", &iv, |json| {
            match serde_json::from_str::<IvSample>(&json) {
                Err(_) => Check::Rejected,
                Ok(v) => Check::invariant(v.treatment.len() == v.outcome.len(), "lengths differ")
                    .and(|| Check::ok_finite(&v)),
            }
        });
    }
    if let Ok(f) = parse_frame("date,a,b\n2020-01-01,1,\n2020-01-02,2,3\n2020-01-03,4,5\n") {
        s.checkpoint("Frame", &f, |json| match serde_json::from_str::<Frame>(&json) {
            Err(_) => Check::Rejected,
            Ok(f) => Check::ok_finite(&f.missing_counts())
                .and(|| {
                    result(
                        f.drop_missing_rows()
                            .map(|g| g.complete_values().map(|v| v.sum()).ok()),
                    )
                })
                .and(|| result(f.simple_returns().map(|r| r.total_missing()))),
        });
    }

    s.finish();
}

/// The CSV on-ramp (issue #19): options, both layouts, named features, snapshots, and
/// checkpoint mutation of the loaded data, the options and a feature spec.
#[test]
fn datasets_onramp() {
    use prudentia_datasets::onramp::*;
    let mut s = Suite::new("datasets onramp");
    let options = [
        CsvOptions::default(),
        CsvOptions {
            delimiter: Some(';'),
            date_formats: vec!["%m/%d/%Y".into()],
            ..Default::default()
        },
        CsvOptions {
            layout: Layout::Long,
            decimal_comma: true,
            delimiter: Some(';'),
            ..Default::default()
        },
        CsvOptions {
            layout: Layout::Wide,
            date_formats: vec![String::new()],
            ..Default::default()
        },
        CsvOptions {
            delimiter: Some('é'),
            ..Default::default()
        },
    ];
    let texts = [
        "",
        "\n\n",
        "date",
        "date,ticker,close\n",
        "date;ticker;close\n01/02/2020;A;1\n",
        "date,ticker,close\n2020-01-01,A,NaN\n",
        "date,ticker,close\n2020-01-01,A,1e400\n",
        "date,ticker,close\n2020-01-01,,1\n",
        "date,ticker,close,volume,spread_bps\n2020-01-01,A,5e-324,1e308,-1\n2020-01-02,A,1.7976931348623157e308,,\n",
        "date,ticker,close\n2020-01-02,A,1\n2020-01-01,A,2\n2020-01-01,B,3\n",
        "date,a,b\n2020-01-01,1,2\n2020-01-01,1,2\n",
        "date;a;b\n2020-01-01;1,5;2\n",
        "date,ticker,close\n2020-01-01,A,1,2\n",
        "Date\tA\n2020-01-01\t1\n",
    ];
    for (k, o) in options.iter().enumerate() {
        for text in texts {
            let o = o.clone();
            s.check(format!("read_market_csv options {k} {text:?}"), move || {
                result_with(read_market_csv(text, &o), |d| {
                    d.check().map_err(|e| e.to_string())?;
                    let spec =
                        FeatureSpec::new([("last", Feature::LastReturn)]).map_err(|e| e.to_string())?;
                    for t in 0..d.close.n_rows() {
                        let snap = d.snapshot(t, &spec).map_err(|e| e.to_string())?;
                        if snap
                            .assets
                            .iter()
                            .any(|a| a.features.iter().any(|x| !x.is_finite()))
                        {
                            return Err("non-finite feature".into());
                        }
                    }
                    Ok(())
                })
            });
        }
    }
    s.sweep(
        "long values",
        proptest::collection::vec((0usize..3, any_f64()), 1..12),
        |rows| {
            let mut text = String::from("date,ticker,close\n");
            for (d, (a, v)) in rows.iter().enumerate() {
                text.push_str(&format!("2020-01-{:02},T{a},{v}\n", d % 28 + 1));
            }
            match read_market_csv(&text, &CsvOptions::default()) {
                Err(_) => Check::Rejected,
                Ok(d) => {
                    let spec = FeatureSpec::new([
                        ("m", Feature::MeanReturn { days: 2 }),
                        ("v", Feature::Volatility { days: 2 }),
                        ("p", Feature::Momentum { days: 3, skip: 1 }),
                    ]);
                    match spec {
                        Err(_) => Check::invariant(false, "valid spec refused"),
                        Ok(spec) => match d.snapshots(&spec) {
                            Err(_) => Check::Rejected,
                            Ok(snaps) => Check::ok_finite(&snaps),
                        },
                    }
                }
            }
        },
    );
    for days in [0, 1, 2, 1 << 40, usize::MAX] {
        s.check(format!("FeatureSpec days {days}"), move || {
            result(FeatureSpec::new([
                ("m", Feature::MeanReturn { days }),
                ("v", Feature::Volatility { days }),
                ("p", Feature::Momentum { days, skip: 1 }),
            ]))
        });
    }
    let text = "date,ticker,close,volume\n2020-01-01,A,1,10\n2020-01-01,B,2,20\n2020-01-02,A,1.1,11\n2020-01-02,B,2.2,\n2020-01-03,A,1.2,12\n";
    if let Ok(data) = read_market_csv(text, &CsvOptions::default()) {
        s.checkpoint("MarketData", &data, |json| {
            match serde_json::from_str::<MarketData>(&json) {
                Err(_) => Check::Rejected,
                Ok(d) => {
                    let spec = FeatureSpec::new([("last", Feature::LastReturn)]);
                    match spec.map(|spec| d.snapshots(&spec)) {
                        Ok(Ok(snaps)) => Check::ok_finite(&snaps),
                        _ => Check::Rejected,
                    }
                }
            }
        });
    }
    s.checkpoint("CsvOptions", &options[1], |json| {
        match serde_json::from_str::<CsvOptions>(&json) {
            Err(_) => Check::Rejected,
            Ok(o) => result(read_market_csv("date;a\n01/02/2020;1\n", &o).map(|d| d.close.n_rows())),
        }
    });
    if let Ok(spec) = FeatureSpec::new([("m", Feature::Momentum { days: 3, skip: 1 })]) {
        s.checkpoint("FeatureSpec", &spec, |json| {
            match serde_json::from_str::<FeatureSpec>(&json) {
                Err(_) => Check::Rejected,
                Ok(spec) => {
                    let close = ndarray::Array1::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]);
                    Check::ok_finite(&spec.values(close.view(), 4))
                }
            }
        });
    }
    s.finish();
}
