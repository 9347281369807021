//! Charts read from their SVG text: date axes, gaps for missing values, legends that list
//! only what is drawn, a bounded number of labelled positions; and the tear sheet's HTML.

use crate::common;

use prudentia_core::Timestamp;
use prudentia_metrics::chart::{Chart, Series, MAX_LABELLED_POSITIONS};
use prudentia_metrics::tearsheet::TearSheet;
use prudentia_metrics::{BacktestRecord, ReportConfig};

/// Drawn series lines (width 2; axes and grid are width 1).
fn lines(svg: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p[..p.find('>').unwrap_or(0)].contains("stroke-width=\"2\""))
        .count()
}

/// The text of every `<text>` element, in document order.
fn texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let Some(open_end) = rest.find('>') else { break };
        let Some(close) = rest.find("</text>") else { break };
        out.push(rest[open_end + 1..close].trim().to_owned());
        rest = &rest[close + 7..];
    }
    out
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    (b.len() == 7 || b.len() == 10)
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && (b.len() == 7 || (b[7] == b'-' && digits(8..10)))
}

fn days(n: usize) -> Vec<Timestamp> {
    // business days from 2014-01-03
    let start = Timestamp::from_ymd(2014, 1, 3).unwrap();
    let mut out = Vec::new();
    let mut d = 0i64;
    while out.len() < n {
        let t = Timestamp::from_nanos(start.as_nanos() + d * Timestamp::NANOS_PER_DAY);
        // 2014-01-03 is a Friday
        if !matches!(d.rem_euclid(7), 1 | 2) {
            out.push(t);
        }
        d += 1;
    }
    out
}

#[test]
fn time_axes_are_labelled_with_dates() {
    let run = common::run();
    let t = &run.times;
    let labels: Vec<String> = run.decisions.iter().map(|d| d.regime.label.to_string()).collect();
    let charts = [
        Chart::lines(
            "index",
            "level",
            t,
            vec![Series::new("S&P 500", run.index.clone())],
        )
        .unwrap(),
        Chart::regimes(
            "regimes",
            t,
            Series::new("S&P 500", run.index.clone()),
            &labels,
            None,
        )
        .unwrap(),
        Chart::underwater("dd", t, &vec![0.0; t.len()]).unwrap(),
        Chart::rolling(
            "rolling",
            t,
            &run.returns,
            63,
            prudentia_metrics::Annualization::Daily252,
        )
        .unwrap(),
    ];
    for c in charts {
        let svg = c.to_svg(1000, 500).unwrap();
        let dates: Vec<String> = texts(&svg).into_iter().filter(|s| is_date(s)).collect();
        assert!(dates.len() >= 4, "date labels {dates:?}");
        assert!(
            dates.iter().all(|d| ("2014".."2020").contains(&&d[..4])),
            "{dates:?}"
        );
        // no "trading day" counter as an axis
        assert!(!svg.contains("trading day"));
    }
    // a short span is labelled with full dates
    let short = days(30);
    let svg = Chart::lines("s", "v", &short, vec![Series::new("x", vec![1.0; 30])])
        .unwrap()
        .to_svg(800, 400)
        .unwrap();
    assert!(
        texts(&svg).iter().any(|s| s.len() == 10 && is_date(s)),
        "{:?}",
        texts(&svg)
    );
}

#[test]
fn missing_values_are_gaps_not_zeros() {
    let t = days(40);
    let mut vix: Vec<f64> = (0..40).map(|k| 15.0 + (k as f64 * 0.3).sin()).collect();
    // holidays: a blank value in the CSV
    vix[10] = f64::NAN;
    vix[25] = f64::NAN;
    vix[26] = f64::NAN;
    let svg = Chart::lines("VIX", "level", &t, vec![Series::new("VIX", vix.clone())])
        .unwrap()
        .to_svg(800, 400)
        .unwrap();
    // three runs: 0..10, 11..25, 27..40
    assert_eq!(lines(&svg), 3, "one line per run of values");
    // the y axis never reaches 0: no spike to zero
    let ticks: Vec<f64> = texts(&svg).iter().filter_map(|s| s.parse::<f64>().ok()).collect();
    assert!(ticks.iter().all(|v| *v > 10.0), "y ticks {ticks:?}");
    // an isolated value is a dot, not a line to zero
    let mut lone = vec![f64::NAN; 40];
    lone[5] = 1.0;
    lone[20] = 2.0;
    lone[21] = 2.5;
    let svg = Chart::lines("x", "v", &t, vec![Series::new("x", lone)])
        .unwrap()
        .to_svg(800, 400)
        .unwrap();
    assert_eq!(lines(&svg), 1);
    assert_eq!(svg.matches("<circle").count(), 1);
    // the same holds in the regime chart's indicator panel
    let labels = vec!["calm".to_owned(); 40];
    let svg = Chart::regimes(
        "r",
        &t,
        Series::new("index", (0..40).map(|k| 100.0 + k as f64).collect()),
        &labels,
        Some(Series::new("VIX", vix)),
    )
    .unwrap()
    .to_svg(800, 500)
    .unwrap();
    assert_eq!(lines(&svg), 1 + 3);
}

#[test]
fn legend_lists_only_what_is_drawn() {
    let t = days(50);
    let series = vec![
        Series::new("strategy", (0..50).map(|k| 1.0 + 0.01 * k as f64).collect()),
        Series::new("never-drawn", vec![f64::NAN; 50]),
    ];
    let chart = Chart::lines("eq", "equity", &t, series).unwrap();
    assert_eq!(chart.legend(), vec!["strategy".to_owned()]);
    let svg = chart.to_svg(800, 400).unwrap();
    let tx = texts(&svg);
    assert!(tx.iter().any(|s| s == "strategy"));
    assert!(!svg.contains("never-drawn"));
    // regimes: only the labels present, one colour each, and the change marker when there is a change
    let labels: Vec<String> = (0..50)
        .map(|k| {
            if (20..30).contains(&k) {
                "high_vol"
            } else {
                "risk_on"
            }
            .to_owned()
        })
        .collect();
    let chart = Chart::regimes("r", &t, Series::new("index", vec![100.0; 50]), &labels, None).unwrap();
    assert_eq!(
        chart.legend(),
        vec!["index", "risk_on", "high_vol", "regime change"]
    );
    let svg = chart.to_svg(800, 400).unwrap();
    assert!(
        !svg.contains("risk_off"),
        "risk_off is not present and must not be promised"
    );
    // legend outside the data: every legend text starts right of the plotting area
    let x_of = |name: &str| -> f64 {
        let i = svg.find(&format!(">\n{name}\n</text>")).unwrap();
        let open = svg[..i].rfind("<text").unwrap();
        let tag = &svg[open..i];
        let xs = tag.split("x=\"").nth(1).unwrap();
        xs[..xs.find('"').unwrap()].parse().unwrap()
    };
    assert!(x_of("risk_on") > 800.0 - 170.0);
    assert!(x_of("high_vol") > 800.0 - 170.0);
}

#[test]
fn weights_chart_labels_at_most_ten_positions_plus_other() {
    let run = common::run();
    assert_eq!(run.tickers.len(), 20);
    let rows: Vec<Vec<f64>> = run.decisions.iter().map(|d| d.sized.values.clone()).collect();
    let chart = Chart::weights("w", &run.times, &run.tickers, &rows, 25).unwrap();
    let legend = chart.legend();
    let positions: Vec<&String> = legend
        .iter()
        .filter(|l| !matches!(l.as_str(), "other" | "gross exposure" | "net exposure"))
        .collect();
    assert!(positions.len() <= MAX_LABELLED_POSITIONS, "{legend:?}");
    assert!(legend.iter().any(|l| l == "other"));
    let svg = chart.to_svg(1000, 520).unwrap();
    let tx = texts(&svg);
    let named = run.tickers.iter().filter(|t| tx.contains(t)).count();
    assert!(
        named <= MAX_LABELLED_POSITIONS,
        "{named} tickers named in the SVG"
    );
    // the weight axis fits the stacked book: longs up to ~1.2, shorts down to ~-0.2
    let ticks: Vec<f64> = tx.iter().filter_map(|s| s.parse::<f64>().ok()).collect();
    assert!(ticks.iter().cloned().fold(f64::MIN, f64::max) < 2.0, "{ticks:?}");
}

#[test]
fn monthly_heatmap_and_distribution() {
    let run = common::run();
    let svg = Chart::monthly_returns("m", &run.times, &run.returns)
        .unwrap()
        .to_svg(1000, 400)
        .unwrap();
    let tx = texts(&svg);
    for y in ["2014", "2016", "2018"] {
        assert!(tx.iter().any(|s| s == y), "year {y} in {tx:?}");
    }
    assert!(tx.iter().any(|s| s == "Jan") && tx.iter().any(|s| s == "Dec"));
    // 60 months (Jan 2014 .. Dec 2018): one value per month
    let values = tx
        .iter()
        .filter(|s| s.parse::<f64>().is_ok() && s.contains('.'))
        .count();
    assert_eq!(values, 60);
    let chart = Chart::distribution("d", &run.times, &run.returns, 0.05).unwrap();
    let legend = chart.legend();
    assert!(
        legend[1].starts_with("VaR 95%") && legend[2].starts_with("CVaR 95%"),
        "{legend:?}"
    );
}

#[test]
fn bad_chart_inputs_are_typed_errors() {
    let t = days(5);
    let s = |v: Vec<f64>| vec![Series::new("x", v)];
    assert!(Chart::lines("x", "", &[], s(vec![])).is_err());
    assert!(Chart::lines("x", "", &t, s(vec![1.0; 4])).is_err());
    assert!(Chart::lines("x", "", &t, s(vec![1.0, 2.0, 1e301, 1.0, 1.0])).is_err());
    let mut back = t.clone();
    back.swap(1, 2);
    assert!(Chart::lines("x", "", &back, s(vec![1.0; 5])).is_err());
    assert!(Chart::weights("w", &t, &["a".into()], &vec![vec![f64::NAN]; 5], 10).is_err());
    assert!(Chart::underwater("d", &t, &[0.0, -0.1, 0.2, 0.0, 0.0]).is_err());
    assert!(Chart::rolling("r", &t, &[0.0; 5], 1, prudentia_metrics::Annualization::Daily252).is_err());
    assert!(Chart::distribution("d", &t, &[0.0, 0.1, -2.0, 0.0, 0.0], 0.05).is_err());
    let ok = Chart::lines("x", "", &t, s(vec![f64::NAN; 5])).unwrap();
    assert!(ok.to_svg(100, 400).is_err());
    assert!(
        ok.to_svg(800, 400).is_ok(),
        "an all-missing series draws an empty chart"
    );
}

#[test]
fn tear_sheet_has_every_section_and_no_external_resource() {
    let run = common::run();
    let record = BacktestRecord {
        times: &run.times,
        returns: &run.returns,
        turnover: &run.turnover,
        decisions: &run.decisions,
        outcomes: &[],
    };
    let config = ReportConfig {
        title: "momentum book <test> & co".into(),
        drop_warmup: true,
        ..Default::default()
    };
    let sheet = TearSheet::new(config, &record)
        .unwrap()
        .with_benchmark("S&P 500", &run.benchmark)
        .unwrap()
        .with_market(Series::new("S&P 500", run.index.clone()), None)
        .unwrap()
        .with_configuration("strategy", &serde_json::json!({"longs": 12, "shorts": 3}))
        .unwrap();
    assert_eq!(sheet.report().warmup_dropped, 60);
    assert_eq!(sheet.report().summary.observations, run.returns.len() - 60);
    let html = sheet.to_html().unwrap();
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tearsheet-test.html");
    sheet.write_html(&out).unwrap();
    for id in [
        "chart-equity",
        "chart-underwater",
        "chart-weights",
        "chart-regimes",
        "chart-monthly",
        "chart-rolling",
        "chart-distribution",
        "metrics-table",
        "relative-table",
        "decision-table",
        "fallback-table",
        "configuration",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
    }
    assert!(html.contains("momentum book &lt;test&gt; &amp; co"));
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "nothing fetched"
    );
    assert!(!html.contains("@import") && !html.contains("url("));
    assert!(html.contains("price 8x the previous close"));
    assert!(html.contains("&quot;drop_warmup&quot;: true"));
}

#[cfg(feature = "png")]
#[test]
fn charts_draw_as_png_too() {
    let t = days(30);
    let v: Vec<f64> = (0..30)
        .map(|k| if k == 7 { f64::NAN } else { k as f64 })
        .collect();
    let png = Chart::lines("x", "v", &t, vec![Series::new("x", v)])
        .unwrap()
        .to_png(400, 300)
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 400);
}
