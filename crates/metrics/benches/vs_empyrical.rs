//! Every return statistic that empyrical-reloaded has, and the full report, on the same 7,500
//! daily returns (`benches/data/returns_7500.csv`, written by
//! `tools/fixtures/metrics/make_bench_returns.py`), for the peer comparison of issue #20:
//! `tools/fixtures/metrics/empyrical_timing.py` runs this bench, times empyrical on the same
//! input, checks that both sides computed the same values and prints the ratio table.
//!
//! With `VS_EMPYRICAL_VALUES=<path>` in the environment the bench first writes our value of
//! every statistic there (JSON, names as in empyrical) for that check.
#![allow(missing_docs)]
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia_metrics::{
    alpha, annual_return, annual_volatility, beta, calmar_ratio, conditional_value_at_risk,
    cumulative_return, downside_risk, drawdown_series, kurtosis, max_drawdown, omega_ratio, sharpe_ratio,
    skewness, sortino_ratio, stability_of_timeseries, tail_ratio, value_at_risk, Annualization,
    PerPeriodRate, Report, ReportConfig, Returns, Stat, TailLevel,
};

const DATA: &str = include_str!("data/returns_7500.csv");
const ANN: Annualization = Annualization::Daily252;
const ZERO: PerPeriodRate = PerPeriodRate::ZERO;

fn load() -> (Returns, Returns) {
    let (mut r, mut b) = (Vec::new(), Vec::new());
    for line in DATA.lines().skip(1) {
        let mut it = line.split(',');
        let mut next = || -> f64 { it.next().and_then(|v| v.parse().ok()).expect("a number") };
        r.push(next());
        b.push(next());
    }
    (
        Returns::new(r).expect("valid returns"),
        Returns::new(b).expect("valid benchmark"),
    )
}

type Statistic = fn(&Returns, &Returns) -> Stat;

/// `(empyrical's name, ours)`; skew and kurtosis are scipy.stats' (empyrical has none).
fn statistics() -> Vec<(&'static str, Statistic)> {
    vec![
        ("cum_returns_final", |r, _| cumulative_return(r)),
        ("annual_return", |r, _| annual_return(r, ANN)),
        ("annual_volatility", |r, _| annual_volatility(r, ANN)),
        ("sharpe_ratio", |r, _| sharpe_ratio(r, ZERO, ANN)),
        ("sortino_ratio", |r, _| sortino_ratio(r, ZERO, ANN)),
        ("downside_risk", |r, _| downside_risk(r, ZERO, ANN)),
        ("max_drawdown", |r, _| Stat::Value(max_drawdown(r).depth)),
        ("calmar_ratio", |r, _| calmar_ratio(r, ANN)),
        ("omega_ratio", |r, _| omega_ratio(r, ZERO, ZERO)),
        ("stability_of_timeseries", |r, _| stability_of_timeseries(r)),
        ("tail_ratio", |r, _| tail_ratio(r)),
        ("value_at_risk", |r, _| value_at_risk(r, TailLevel::P05)),
        ("conditional_value_at_risk", |r, _| {
            conditional_value_at_risk(r, TailLevel::P05)
        }),
        ("skew", |r, _| skewness(r)),
        ("kurtosis", |r, _| kurtosis(r)),
        ("alpha", |r, b| alpha(r, b, ZERO, ANN).expect("aligned")),
        ("beta", |r, b| beta(r, b, ZERO).expect("aligned")),
    ]
}

/// Our values, by empyrical's names, for the Python script to compare before it reports a
/// ratio; the report's summary fields under `report.*`.
fn write_values(path: &str, r: &Returns, b: &Returns) {
    let mut out = serde_json::Map::new();
    let num = |s: Stat| s.value().map_or(serde_json::Value::Null, serde_json::Value::from);
    for (name, f) in statistics() {
        out.insert(name.to_owned(), num(f(r, b)));
    }
    let dd = drawdown_series(r);
    out.insert("drawdown_series".to_owned(), serde_json::Value::from(dd));
    let report = Report::new(ReportConfig::default(), r).expect("report");
    let s = &report.summary;
    for (name, v) in [
        ("cum_returns_final", s.cumulative_return),
        ("annual_return", s.annual_return),
        ("annual_volatility", s.annual_volatility),
        ("sharpe_ratio", s.sharpe),
        ("sortino_ratio", s.sortino),
        ("downside_risk", s.downside_risk),
        ("calmar_ratio", s.calmar),
        ("omega_ratio", s.omega),
        ("tail_ratio", s.tail_ratio),
        ("value_at_risk", s.var),
        ("conditional_value_at_risk", s.cvar),
        ("skew", s.skewness),
        ("kurtosis", s.kurtosis),
        ("max_drawdown", Stat::Value(s.max_drawdown)),
    ] {
        out.insert(format!("report.{name}"), num(v));
    }
    out.insert(
        "report.drawdown_series".to_owned(),
        serde_json::Value::from(report.drawdown.clone()),
    );
    out.insert(
        "report.cum_returns".to_owned(),
        serde_json::Value::from(report.equity[1..].to_vec()),
    );
    let json = serde_json::to_string_pretty(&out).expect("json");
    std::fs::write(path, json).expect("write the values file");
}

fn bench(c: &mut Criterion) {
    let (r, b) = load();
    if let Ok(path) = std::env::var("VS_EMPYRICAL_VALUES") {
        write_values(&path, &r, &b);
    }
    let mut g = c.benchmark_group("vs_empyrical");
    for (name, f) in statistics() {
        g.bench_function(name, |bch| bch.iter(|| f(black_box(&r), black_box(&b))));
    }
    g.bench_function("drawdown_series", |bch| {
        bch.iter(|| drawdown_series(black_box(&r)))
    });
    let config = ReportConfig::default();
    g.bench_function("full_report", |bch| {
        bch.iter(|| Report::new(black_box(config.clone()), black_box(&r)).expect("report"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
