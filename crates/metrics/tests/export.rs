//! Report JSON for people (ISO-8601 dates, plain numbers, null with a reason), the CSV
//! export of a backtest, and dropping the warm-up.

use crate::common;

use prudentia_core::Timestamp;
use prudentia_metrics::{iso_8601, BacktestRecord, NanPolicy, Report, ReportConfig, Returns};
use serde_json::Value;

fn record(run: &common::Run) -> BacktestRecord<'_> {
    BacktestRecord {
        times: &run.times,
        returns: &run.returns,
        turnover: &run.turnover,
        decisions: &run.decisions,
        outcomes: &[],
    }
}

#[test]
fn plain_json_has_iso_dates_plain_numbers_and_reasons() {
    let run = common::run();
    let rep = Report::for_backtest(ReportConfig::default(), &record(&run))
        .unwrap()
        .with_benchmark("S&P 500", &run.benchmark)
        .unwrap();
    let v: Value = serde_json::from_str(&rep.to_plain_json().unwrap()).unwrap();
    assert_eq!(v["start"], "2014-01-02");
    assert_eq!(v["times"][0], "2014-01-02");
    assert!(v["max_drawdown"]["peak"]["time"]
        .as_str()
        .unwrap()
        .starts_with("201"));
    assert!(v["summary"]["sharpe"].is_f64(), "{}", v["summary"]["sharpe"]);
    assert!(v["benchmark"]["relative"]["beta"].is_f64());
    // nowhere a {"Value": ..} wrapper or a nanosecond time
    let text = v.to_string();
    assert!(!text.contains("\"Value\"") && !text.contains("\"Undefined\""));

    // undefined: null with the reason beside
    let times: Vec<Timestamp> = (1..=4).filter_map(|d| Timestamp::from_ymd(2020, 6, d)).collect();
    let up = Returns::with_times(vec![0.01, 0.02, 0.01, 0.03], times, NanPolicy::Reject).unwrap();
    let v: Value = serde_json::from_str(
        &Report::new(ReportConfig::default(), &up)
            .unwrap()
            .to_plain_json()
            .unwrap(),
    )
    .unwrap();
    assert!(v["summary"]["calmar"].is_null());
    assert_eq!(v["summary"]["calmar_undefined"], "no drawdown");
    assert_eq!(v["end"], "2020-06-04");
    // intraday times keep their time of day
    assert_eq!(
        iso_8601(Timestamp::from_nanos(
            Timestamp::NANOS_PER_DAY + 3_600_000_000_000 + 5
        )),
        "1970-01-02T01:00:00.000000005Z"
    );
}

#[test]
fn csv_export_of_a_backtest() {
    let run = common::run();
    let rec = record(&run);
    let daily = rec.daily_csv().unwrap();
    let lines: Vec<&str> = daily.lines().collect();
    assert_eq!(
        lines[0],
        "date,return,equity,drawdown,turnover,gross,net,status,regime,reasons"
    );
    assert_eq!(lines.len(), run.returns.len() + 1);
    assert!(lines[1].starts_with("2014-01-02,"));
    assert!(lines[1].contains(",safe_fallback,"));
    // the guard refusal carries its reasons, quoted when they hold a comma
    let refused = lines
        .iter()
        .find(|l| l.contains("8x the previous close"))
        .unwrap();
    assert!(refused.contains("safe_fallback"));
    assert_eq!(
        lines.iter().filter(|l| l.contains(",normal,")).count(),
        run.returns.len() - 62
    );
    let last_equity: f64 = lines.last().unwrap().split(',').nth(2).unwrap().parse().unwrap();
    let product: f64 = run.returns.iter().map(|r| 1.0 + r).product();
    assert!((last_equity / product - 1.0).abs() < 1e-12);

    let weights = rec.weights_csv().unwrap();
    assert!(weights.starts_with("date,asset,weight\n"));
    let held: usize = run
        .decisions
        .iter()
        .map(|d| d.sized.values.iter().filter(|v| **v != 0.0).count())
        .sum();
    assert_eq!(weights.lines().count(), held + 1);
    let orders = rec.orders_csv().unwrap();
    assert!(orders.starts_with("date,asset,side,quantity,order_type,limit_price\n"));
    assert!(orders.lines().nth(1).unwrap().contains(",Market,"));
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("csv-export");
    rec.write_csv(&dir).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("daily.csv")).unwrap(), daily);
    // mismatched lengths are a typed error
    let bad = BacktestRecord {
        turnover: &run.turnover[1..],
        ..rec
    };
    assert!(bad.daily_csv().is_err());
}

#[test]
fn warm_up_can_be_left_out() {
    let run = common::run();
    let rec = record(&run);
    assert_eq!(rec.warmup_periods(), 60);
    let all = Report::for_backtest(ReportConfig::default(), &rec).unwrap();
    let cut = Report::for_backtest(
        ReportConfig {
            drop_warmup: true,
            ..Default::default()
        },
        &rec,
    )
    .unwrap();
    assert_eq!(all.warmup_dropped, 0);
    assert_eq!(cut.warmup_dropped, 60);
    assert_eq!(cut.summary.observations, all.summary.observations - 60);
    assert_eq!(cut.start, Some(run.times[60]));
    // the warm-up earns nothing, so the total return is the same; the annual return is not
    assert!(
        (cut.summary.cumulative_return.value().unwrap() - all.summary.cumulative_return.value().unwrap())
            .abs()
            < 1e-12
    );
    assert!(cut.summary.annual_return.value().unwrap() > all.summary.annual_return.value().unwrap());
    // an old config without the field loads with the default
    let mut v: Value = serde_json::to_value(ReportConfig::default()).unwrap();
    v.as_object_mut().unwrap().remove("drop_warmup");
    assert!(!serde_json::from_value::<ReportConfig>(v).unwrap().drop_warmup);
}
