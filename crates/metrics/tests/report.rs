//! The report: JSON, table, SVG, attached decision metrics, serde round trips, Send + Sync.

use ndarray::array;
use prudentia_core::{
    AssetId, Fill, Forecast, Horizon, Order, OrderType, RegimeLabel, RegimeState, Side, Timestamp, Weights,
};
use prudentia_metrics::*;

fn sample() -> Returns {
    let v: Vec<f64> = (0..300)
        .map(|i| ((i as f64) * 0.7).sin() * 0.01 + 0.0003)
        .collect();
    let t: Vec<Timestamp> = (0..300)
        .map(|i| Timestamp::from_nanos((i + 1) * Timestamp::NANOS_PER_DAY))
        .collect();
    Returns::with_times(v, t, NanPolicy::Reject).unwrap()
}

fn full_report() -> Report {
    let r = sample();
    let cfg = ReportConfig {
        title: "demo".into(),
        risk_free: PerPeriodRate::new(1e-4).unwrap(),
        dsr_trials: Some(DsrTrials::new(20, 0.5 / 252.0).unwrap()),
        ..ReportConfig::default()
    };
    let slate = [
        score_slate(&[0.02, -0.01, 0.005], &[0, 1]).unwrap(),
        score_slate(&[0.0, 0.01, 0.02], &[2]).unwrap(),
    ];
    let corr = array![[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]];
    let corrs = [
        slate_average_correlation(corr.view(), &[0, 1]).unwrap(),
        Stat::Undefined(Undefined::TooFewObservations { n: 1, min: 2 }),
    ];
    let selector = SelectorMetrics::from_outcomes(&slate, &corrs).unwrap();
    let n = r.len();
    let weights: Vec<Weights> = (0..n)
        .map(|i| Weights::new(vec![AssetId::new("A")], vec![0.5 + (i % 3) as f64 * 0.1]).unwrap())
        .collect();
    let turnover: Vec<f64> = std::iter::once(0.5)
        .chain(weights.windows(2).map(|w| w[0].turnover_to(&w[1])))
        .collect();
    let sizer = SizerMetrics::compute(
        &r,
        r.values(),
        &turnover,
        Some(&vec![0.008; n]),
        Some(&weights),
        Annualization::Daily252,
    )
    .unwrap();
    let fill = Fill {
        asset: "A".into(),
        time: Timestamp::from_nanos(0),
        side: Side::Buy,
        quantity: 100.0,
        price: 50.05,
        arrival_price: 50.0,
        order_type: OrderType::Limit,
        venue: None,
    };
    let order = Order::new("A".into(), Side::Buy, 200.0, OrderType::Limit).unwrap();
    let execution = ExecutionMetrics::compute(&[fill], Some(&[order])).unwrap();
    let f = Forecast::new(0.0, 0.01, Horizon::DAY).unwrap();
    let forecasts = vec![f; n];
    let mut states = vec![RegimeState::certain(RegimeLabel::RISK_ON); n];
    states[100].changed = true;
    let health = HealthMetrics {
        quarantine: None,
        fallbacks: None,
        calibration: Some(forecast_calibration(&forecasts, r.values()).unwrap()),
        regimes: Some(regime_change_stats(&states).unwrap()),
    };
    Report::new(cfg, &r)
        .unwrap()
        .with_selector(selector)
        .with_sizer(sizer)
        .with_execution(execution)
        .with_health(health)
}

#[test]
fn json_round_trip_is_exact() {
    let rep = full_report();
    let json = rep.to_json().unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rep);
}

#[test]
fn table_lists_every_section() {
    let table = full_report().to_string();
    for key in [
        "demo",
        "Sharpe",
        "Sortino",
        "Calmar",
        "omega",
        "CVaR 95 %",
        "Cornish-Fisher VaR",
        "max drawdown",
        "deflated Sharpe",
        "selector: mean regret",
        "sizer: PnL per turnover",
        "execution: shortfall",
        "health: calibration ECE",
        "health: regime changes",
    ] {
        assert!(table.contains(key), "missing {key} in\n{table}");
    }
    assert!(table.contains("10.00 bps"), "{table}");
}

#[test]
fn svg_has_both_panels() {
    let svg = full_report().to_svg(900, 600).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("drawdown (%)"));
    assert!(svg.contains("equity (start = 1)"));
    assert!(svg.contains("<polyline") || svg.contains("<path"));
}

#[test]
fn types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Report>();
    check::<Returns>();
    check::<RollingReturnStats>();
    check::<MetricsError>();
    check::<Stat>();
}

#[cfg(feature = "png")]
#[test]
fn png_is_a_valid_image_with_text_and_lines() {
    let png = full_report().to_png(640, 400).unwrap();
    assert_eq!(&png[..8], &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    // IHDR: 640 × 400, 8-bit RGB.
    assert_eq!(&png[16..24], &[0, 0, 2, 128, 0, 0, 1, 144]);
    assert_eq!(&png[24..26], &[8, 2]);
    // Inflate the stored blocks and check that the picture is not blank: it has dark
    // (text, axes) and reddish (drawdown) pixels.
    let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
    assert_eq!(&png[37..41], b"IDAT");
    let z = &png[41..41 + idat_len];
    let mut raw = Vec::new();
    let mut i = 2;
    loop {
        let last = z[i] & 1 == 1;
        let len = u16::from_le_bytes([z[i + 1], z[i + 2]]) as usize;
        raw.extend_from_slice(&z[i + 5..i + 5 + len]);
        i += 5 + len;
        if last {
            break;
        }
    }
    assert_eq!(raw.len(), 400 * (1 + 640 * 3));
    let px: Vec<&[u8]> = raw
        .chunks(1 + 640 * 3)
        .flat_map(|row| row[1..].chunks(3))
        .collect();
    let dark = px.iter().filter(|p| p[0] < 80 && p[1] < 80 && p[2] < 80).count();
    let red = px
        .iter()
        .filter(|p| p[0] > 200 && p[1] < 200 && p[2] < 200)
        .count();
    assert!(dark > 500, "{dark} dark pixels");
    assert!(red > 100, "{red} red pixels");
    assert!(full_report().to_png(10, 10).is_err());
}

/// Runs `f` on its own thread and fails the test if it does not return within 60 s.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("hung (or panicked)")
}

/// Issue #22 (4): `to_svg` hung with returns [1e300, 1e300, −0.5] (an infinite equity
/// curve). Such returns are now refused (the wealth overflows), and a finite but extreme
/// curve either draws or is a typed error, quickly.
#[test]
fn svg_of_extreme_returns_never_hangs() {
    assert!(matches!(
        Returns::new(vec![1e300, 1e300, -0.5]),
        Err(MetricsError::WealthOverflow { index: 1 })
    ));
    for v in [
        vec![1e300, -0.5],
        vec![1e299, -1.0, 3.0],
        vec![f64::MAX],
        vec![5e-324, -5e-324, 5e-324],
        vec![-1.0],
        vec![1e-300; 40],
        vec![1e150, 1e140, -0.9999999],
    ] {
        let r = Returns::new(v.clone()).unwrap();
        let report = Report::new(ReportConfig::default(), &r).unwrap();
        assert!(
            report
                .equity
                .iter()
                .chain(&report.drawdown)
                .all(|x| x.is_finite()),
            "{v:?}"
        );
        let shown = format!("{v:?}");
        let svg = within_a_minute(move || report.to_svg(200, 200));
        match svg {
            Ok(s) => assert!(s.starts_with("<svg"), "{shown}"),
            Err(e) => assert!(matches!(e, MetricsError::Plot { .. }), "{shown}: {e}"),
        }
    }
    // A hand-edited report with an out-of-range drawdown point is refused on load, and a
    // hand-made one cannot make `to_svg` panic or hang.
    let r = Returns::new(vec![0.1, -0.2, 0.05]).unwrap();
    let mut report = Report::new(ReportConfig::default(), &r).unwrap();
    let mut j = serde_json::to_value(&report).unwrap();
    j["max_drawdown"]["trough"]["index"] = 99.into();
    assert!(serde_json::from_value::<Report>(j).is_err());
    report.max_drawdown.trough.index = 99;
    report.times = Some(vec![]);
    assert!(within_a_minute(move || report.to_svg(300, 300)).is_ok());
    let mut report = Report::new(ReportConfig::default(), &r).unwrap();
    report.equity[2] = f64::INFINITY;
    assert!(within_a_minute(move || report.to_svg(300, 300)).is_err());
}
