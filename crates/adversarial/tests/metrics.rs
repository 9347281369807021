//! prudentia-metrics under bad input: returns, every statistic, rolling windows, Sharpe
//! inference, selector/sizer/execution/health metrics, the report (JSON, table, SVG at small
//! sizes), and checkpoint mutation of every stateful serde type.

use ndarray::Array2;
use proptest::prelude::*;
use prudentia_adversarial::{finite, result, result_with, strategies::*, Check, Suite};
use prudentia_core::traits::Screened;
use prudentia_core::{
    AssetId, Fill, Forecast, Horizon, MarketSnapshot, Order, OrderType, RegimeLabel, RegimeState, Side,
    Timestamp, Weights,
};
use prudentia_metrics::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

const BAD: [f64; 11] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
    -1.0,
    -1.5,
];
const SIZES: [usize; 6] = [0, 1, 2, 1 << 20, 1 << 40, usize::MAX];

fn reloads<T: Serialize + DeserializeOwned>(v: &T) -> Result<(), String> {
    let s = serde_json::to_string(v).map_err(|e| format!("does not serialize: {e}"))?;
    serde_json::from_str::<T>(&s)
        .map(|_| ())
        .map_err(|e| format!("own output does not reload: {e}"))
}

fn reload_check<T: Serialize + DeserializeOwned>(v: &T) -> Check {
    finite(v).and(|| match reloads(v) {
        Ok(()) => Check::Ok,
        Err(m) => Check::Broken(m),
    })
}

/// Returns-like values: mostly ordinary daily returns, some valid extremes (total loss,
/// huge gains, subnormals), and now and then a special value (so that about half of the
/// series of 30 are valid).
fn ret() -> impl Strategy<Value = f64> {
    prop_oneof![
        30 => -0.1..0.1f64,
        2 => proptest::sample::select(vec![-1.0, -0.999_999, 1e3, 1e100, 1e200, 5e-324, -5e-324, 1e-300]),
        1 => special_f64(),
    ]
}

fn returns_vec(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(ret(), len)
}

fn ann() -> impl Strategy<Value = Annualization> {
    prop_oneof![
        Just(Annualization::Daily252),
        Just(Annualization::Weekly52),
        Just(Annualization::Monthly12),
        any_f64().prop_filter_map("custom", |k| Annualization::custom(k).ok()),
    ]
}

fn rate() -> impl Strategy<Value = PerPeriodRate> {
    any_f64().prop_map(|r| PerPeriodRate::new(r).unwrap_or(PerPeriodRate::ZERO))
}

fn all_stats(r: &Returns, rf: PerPeriodRate, a: Annualization) -> Vec<Stat> {
    let tail = TailLevel::P05;
    let cf = cornish_fisher(r, tail);
    vec![
        cumulative_return(r),
        annual_return(r, a),
        annual_volatility(r, a),
        sharpe_ratio(r, rf, a),
        downside_risk(r, rf, a),
        sortino_ratio(r, rf, a),
        calmar_ratio(r, a),
        omega_ratio(r, rf, rf),
        tail_ratio(r),
        skewness(r),
        kurtosis(r),
        value_at_risk(r, tail),
        conditional_value_at_risk(r, tail),
        cf.var,
        cf.cvar,
        stability_of_timeseries(r),
    ]
}

#[test]
fn metrics_returns_statistics_and_report() {
    let mut s = Suite::new("metrics (returns, statistics, report)");

    // Typed inputs.
    for x in BAD {
        s.check(format!("typed inputs from {x}"), move || {
            let mut c = Check::Rejected;
            for r in [
                PeriodsPerYear::new(x).map(f64::from),
                PerPeriodRate::new(x).map(|v| v.get()),
                PerPeriodRate::from_annual(x, Annualization::Daily252).map(|v| v.get()),
                PerPeriodSharpe::new(x).map(|v| v.get()),
                PerPeriodSharpe::from_annual(x, Annualization::Weekly52).map(|v| v.get()),
                TailLevel::new(x).map(|v| v.get()),
                Annualization::custom(x).map(|a| a.periods_per_year()),
            ] {
                match result(r) {
                    Check::Ok => c = Check::Ok,
                    Check::Rejected => {}
                    bad => return bad,
                }
            }
            c
        });
    }

    // Returns constructors.
    s.sweep("Returns::new", returns_vec(0..30), |v| {
        result_with(Returns::new(v), reloads)
    });
    s.sweep("Returns::with_policy skip", returns_vec(0..30), |v| {
        result_with(Returns::with_policy(v, NanPolicy::Skip), reloads)
    });
    s.sweep(
        "Returns::with_times",
        (returns_vec(0..20), proptest::collection::vec(any::<i64>(), 0..20)),
        |(v, t)| {
            let times = t.into_iter().map(Timestamp::from_nanos).collect();
            result_with(Returns::with_times(v, times, NanPolicy::Skip), reloads)
        },
    );
    s.sweep(
        "Returns::from_prices",
        proptest::collection::vec(price(), 0..30),
        |p| result_with(Returns::from_prices(&p), reloads),
    );

    // Every statistic, drawdown and tail measure on any valid series.
    s.sweep(
        "statistics",
        (returns_vec(1..60), rate(), ann()),
        |(v, rf, a)| match Returns::new(v) {
            Err(_) => Check::Rejected,
            Ok(r) => {
                let stats = all_stats(&r, rf, a);
                finite(&stats)
                    .and(|| finite(&drawdown_series(&r)))
                    .and(|| finite(&wealth_index(&r)))
                    .and(|| finite(&max_drawdown(&r)))
                    .and(|| finite(&SharpeMoments::from_returns(&r, rf).ok()))
                    .and(|| {
                        let dd = max_drawdown(&r);
                        Check::invariant(
                            (-1.0..=0.0).contains(&dd.depth) && dd.trough.index <= r.len(),
                            format!("{dd:?}"),
                        )
                    })
            }
        },
    );

    // Sharpe inference.
    s.sweep(
        "SharpeMoments / PSR / DSR / MinTRL",
        (
            any_f64(),
            any_size(),
            any_f64(),
            any_f64(),
            any_f64(),
            any_size(),
            any_f64(),
            any_f64(),
        ),
        |(sr, n, sk, ku, bench, trials, var, conf)| {
            let Ok(sr) = PerPeriodSharpe::new(sr) else {
                return Check::Rejected;
            };
            let Ok(m) = SharpeMoments::new(sr, n, sk, ku) else {
                return Check::Rejected;
            };
            let bench = PerPeriodSharpe::new(bench).unwrap_or_default();
            let mut c = finite(&m.standard_error()).and(|| finite(&probabilistic_sharpe_ratio(&m, bench)));
            c = c.and(|| match minimum_track_record_length(&m, bench, conf) {
                Ok(v) => finite(&v),
                Err(_) => Check::Ok,
            });
            c.and(|| match DsrTrials::new(trials, var) {
                Ok(t) => finite(&deflated_sharpe_ratio(&m, &t)).and(|| match expected_max_sharpe(&t) {
                    Ok(v) => finite(&v),
                    Err(_) => Check::Ok,
                }),
                Err(_) => Check::Ok,
            })
        },
    );
    s.sweep("DsrTrials::from_trial_sharpes", vec_f64(0..20), |v| {
        result(DsrTrials::from_trial_sharpes(&v))
    });
    s.sweep(
        "DsrTrials::from_annualized_variance",
        (any_size(), any_f64(), ann()),
        |(n, v, a)| result(DsrTrials::from_annualized_variance(n, v, a)),
    );

    // The report: construction, JSON, table, SVG at small and bad sizes.
    s.sweep(
        "Report::new / to_json / Display / to_svg",
        (
            returns_vec(1..40),
            prop::sample::select(vec![0u32, 1, 199, 200, 201, 333, 20_001, u32::MAX]),
        ),
        |(v, px)| match Returns::new(v) {
            Err(_) => Check::Rejected,
            Ok(r) => {
                let report = match Report::new(ReportConfig::default(), &r) {
                    Ok(x) => x,
                    Err(_) => return Check::Rejected,
                };
                let table = report.to_string();
                reload_check(&report)
                    .and(|| Check::invariant(!table.contains("NaN") && !table.contains("inf"), table.clone()))
                    .and(|| result(report.to_json()))
                    .and(|| match report.to_svg(px, 200.max(px.min(400))) {
                        Ok(svg) => Check::invariant(svg.starts_with("<svg"), "not an SVG"),
                        Err(MetricsError::Plot { .. }) | Err(MetricsError::Core(_)) => Check::Ok,
                        Err(e) => Check::Broken(format!("unexpected error {e}")),
                    })
            }
        },
    );
    for v in [
        vec![1e300, 1e300, -0.5],
        vec![1e300, -0.5],
        vec![f64::MAX],
        vec![5e-324; 3],
        vec![-1.0, 1e300],
        vec![1e150, 1e150, -1.0, 1e100],
    ] {
        s.check(format!("to_svg of {v:?}"), move || match Returns::new(v) {
            Err(_) => Check::Rejected,
            Ok(r) => match Report::new(ReportConfig::default(), &r) {
                Err(_) => Check::Rejected,
                Ok(report) => reload_check(&report).and(|| result(report.to_svg(200, 200))),
            },
        });
    }
    s.sweep(
        "Report::for_backtest",
        (returns_vec(0..30), vec_f64(0..30)),
        |(returns, turnover)| {
            let times: Vec<Timestamp> = (0..returns.len() as i64)
                .map(|d| Timestamp::from_nanos(d * Timestamp::NANOS_PER_DAY))
                .collect();
            let record = BacktestRecord {
                times: &times,
                returns: &returns,
                turnover: &turnover,
                decisions: &[],
                outcomes: &[],
            };
            result_with(Report::for_backtest(ReportConfig::default(), &record), |r| {
                reloads(r)
            })
        },
    );

    // Checkpoints: every single-field mutation loads as an error or as a usable value.
    let times: Vec<Timestamp> = (1..=12)
        .map(|d| Timestamp::from_nanos(d * Timestamp::NANOS_PER_DAY))
        .collect();
    let r = Returns::with_times(
        vec![
            0.01, -0.02, 0.015, 0.0, -0.05, 0.03, 0.02, -0.01, 0.01, 0.005, -0.03, 0.04,
        ],
        times,
        NanPolicy::Reject,
    )
    .expect("valid");
    s.checkpoint("Returns", &r, |json| {
        match serde_json::from_str::<Returns>(&json) {
            Err(_) => Check::Rejected,
            Ok(r) => match Report::new(ReportConfig::default(), &r) {
                Ok(rep) => reload_check(&rep).and(|| result(rep.to_svg(200, 200))),
                Err(e) => Check::Broken(format!("a loaded Returns makes no report: {e}")),
            },
        }
    });
    let report = Report::new(
        ReportConfig {
            dsr_trials: DsrTrials::new(4, 0.01).ok(),
            ..Default::default()
        },
        &r,
    )
    .expect("valid");
    s.checkpoint("Report", &report, |json| {
        match serde_json::from_str::<Report>(&json) {
            Err(_) => Check::Rejected,
            Ok(rep) => {
                let _ = rep.to_string();
                reload_check(&rep).and(|| match rep.to_svg(200, 200) {
                    Ok(_) | Err(MetricsError::Plot { .. }) => Check::Ok,
                    Err(e) => Check::Broken(format!("unexpected error {e}")),
                })
            }
        }
    });
    s.checkpoint(
        "ReportConfig",
        &ReportConfig::default(),
        |json| match serde_json::from_str::<ReportConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(cfg) => {
                let r = Returns::new(vec![0.01, -0.02, 0.03]).expect("valid");
                result_with(Report::new(cfg, &r), reloads)
            }
        },
    );

    s.finish();
}

#[test]
fn metrics_rolling_and_stage_metrics() {
    let mut s = Suite::new("metrics (rolling, selector, sizer, execution, health)");

    // Rolling windows.
    for window in SIZES {
        s.check(
            format!("RollingReturnStats::new window {window}"),
            move || match RollingReturnStats::new(RollingConfig {
                window,
                ..Default::default()
            }) {
                Err(_) => Check::Rejected,
                Ok(mut st) => {
                    for x in [0.01, -0.02, 0.03, 1e300, f64::NAN, -1.0, 0.0] {
                        let _ = st.push(x);
                    }
                    finite(&st.snapshot())
                        .and(|| finite(&st.max_drawdown()))
                        .and(|| reload_check(&st))
                }
            },
        );
        s.check(format!("rolling_max_drawdown window {window}"), move || {
            let r = Returns::new(vec![0.01, -0.5, 0.2, 1e300]).expect("valid");
            result(rolling_max_drawdown(&r, window))
        });
    }
    s.sweep(
        "RollingReturnStats::push",
        (
            proptest::collection::vec(ret(), 0..200),
            2usize..12,
            rate(),
            ann(),
        ),
        |(xs, window, rf, a)| {
            let cfg = RollingConfig {
                window,
                annualization: a,
                risk_free: rf,
                required_return: rf,
            };
            // Rates beyond MAX_ROLLING_RETURN are refused (documented).
            let Ok(mut st) = RollingReturnStats::new(cfg) else {
                return Check::Rejected;
            };
            for x in xs {
                match st.push(x) {
                    Ok(snap) => {
                        let c = finite(&snap);
                        if c != Check::Ok {
                            return c;
                        }
                    }
                    Err(_) => continue,
                }
            }
            finite(&st.max_drawdown()).and(|| reload_check(&st))
        },
    );
    s.sweep(
        "rolling_* batch",
        (returns_vec(1..80), 2usize..10, ann()),
        |(v, window, a)| match Returns::new(v) {
            Err(_) => Check::Rejected,
            Ok(r) => {
                let cfg = RollingConfig {
                    window,
                    annualization: a,
                    ..Default::default()
                };
                result(rolling_sharpe(&r, cfg))
                    .and(|| result(rolling_volatility(&r, cfg)))
                    .and(|| result(rolling_sortino(&r, cfg)))
                    .and(|| result(rolling_annual_return(&r, cfg)))
                    .and(|| result(rolling_max_drawdown(&r, window)))
            }
        },
    );

    // Selector.
    s.sweep(
        "score_slate / from_outcomes",
        (vec_f64(0..12), proptest::collection::vec(any_size(), 0..6)),
        |(realized, selected)| match score_slate(&realized, &selected) {
            Err(_) => Check::Rejected,
            Ok(o) => finite(&o).and(|| {
                result_with(
                    SelectorMetrics::from_outcomes(&[o, o], &[Stat::Value(0.5)]),
                    reloads,
                )
            }),
        },
    );
    s.sweep(
        "slate_average_correlation",
        (matrix(0..6, 0..6), proptest::collection::vec(any_size(), 0..5)),
        |(m, selected): (Array2<f64>, Vec<usize>)| result(slate_average_correlation(m.view(), &selected)),
    );
    s.sweep(
        "performance_by_regime",
        (
            returns_vec(1..30),
            proptest::collection::vec(0u8..3, 0..30),
            rate(),
            ann(),
        ),
        |(v, labels, rf, a)| match Returns::new(v) {
            Err(_) => Check::Rejected,
            Ok(r) => {
                let labels: Vec<RegimeLabel> = labels
                    .into_iter()
                    .map(|l| match l {
                        0 => RegimeLabel::RISK_ON,
                        1 => RegimeLabel::RISK_OFF,
                        _ => RegimeLabel::new("other"),
                    })
                    .collect();
                result(performance_by_regime(&r, &labels, rf, a))
            }
        },
    );

    // Sizer.
    s.sweep(
        "pnl_per_turnover / risk_gap / exposure_stats / SizerMetrics",
        (
            returns_vec(1..30),
            vec_f64(0..30),
            vec_f64(0..30),
            vec_f64(0..30),
            vec_f64(0..4),
        ),
        |(v, pnl, turnover, sigma, w)| {
            let weights: Vec<Weights> = (0..3)
                .map(|k| Weights {
                    assets: (0..w.len()).map(|i| AssetId::new(format!("a{i}"))).collect(),
                    values: w.iter().map(|x| x * k as f64).collect(),
                })
                .collect();
            let c = result(pnl_per_turnover(&pnl, &turnover)).and(|| match exposure_stats(&weights) {
                Ok(e) => finite(&e),
                Err(_) => Check::Ok,
            });
            c.and(|| match Returns::new(v) {
                Err(_) => Check::Rejected,
                Ok(r) => match risk_gap(&r, &sigma, Annualization::Daily252) {
                    Ok(g) => finite(&g),
                    Err(_) => Check::Ok,
                }
                .and(|| {
                    match SizerMetrics::compute(
                        &r,
                        &pnl,
                        &turnover,
                        Some(&sigma),
                        Some(&weights),
                        Annualization::Daily252,
                    ) {
                        Ok(m) => reload_check(&m),
                        Err(_) => Check::Ok,
                    }
                }),
            })
        },
    );

    // Execution.
    s.sweep(
        "slippage / shortfall / fill_rate / ExecutionMetrics",
        proptest::collection::vec((price(), price(), any_f64(), any_f64(), any::<bool>()), 0..8),
        |fills| {
            let fills: Vec<Fill> = fills
                .into_iter()
                .map(|(p, a, q, _oq, buy)| Fill {
                    asset: AssetId::new(if buy { "x" } else { "y" }),
                    time: Timestamp::from_nanos(0),
                    side: if buy { Side::Buy } else { Side::Sell },
                    quantity: q,
                    price: p,
                    arrival_price: a,
                    order_type: OrderType::Market,
                    venue: None,
                })
                .collect();
            let orders: Vec<Order> = fills
                .iter()
                .filter_map(|f| {
                    Order::new(f.asset.clone(), f.side, f.quantity.abs() + 1.0, OrderType::Market).ok()
                })
                .collect();
            let mut c = Check::Ok;
            for f in &fills {
                c = c.and(|| match slippage_bps(f) {
                    Ok(v) => finite(&v),
                    Err(_) => Check::Ok,
                });
            }
            c.and(|| match implementation_shortfall_bps(&fills) {
                Ok(v) => finite(&v),
                Err(_) => Check::Ok,
            })
            .and(|| match fill_rate(&orders, &fills) {
                Ok(v) => finite(&v),
                Err(_) => Check::Ok,
            })
            .and(|| result_with(ExecutionMetrics::compute(&fills, Some(&orders)), reloads))
        },
    );

    // Health.
    for bins in SIZES {
        s.check(format!("binary_ece bins {bins}"), move || {
            result(binary_ece(
                &[0.1, 0.9, 1.0, 0.0],
                &[false, true, true, false],
                bins,
            ))
        });
    }
    s.sweep(
        "binary_ece",
        (
            vec_f64(0..20),
            proptest::collection::vec(any::<bool>(), 0..20),
            1usize..30,
        ),
        |(p, y, bins)| result(binary_ece(&p, &y, bins)),
    );
    s.sweep(
        "forecast_calibration",
        (
            proptest::collection::vec((any_f64(), any_f64()), 0..20),
            vec_f64(0..20),
        ),
        |(fc, y)| {
            let Ok(h) = Horizon::trading_days(1.0) else {
                return Check::Broken("horizon".into());
            };
            let fc: Vec<Forecast> = fc
                .into_iter()
                .filter_map(|(m, sd)| Forecast::new(m, sd, h).ok())
                .collect();
            result_with(forecast_calibration(&fc, &y), reloads)
        },
    );
    s.sweep(
        "interval_coverage",
        (vec_f64(0..10), vec_f64(0..10), vec_f64(0..10)),
        |(lo, hi, y)| result(interval_coverage(&lo, &hi, &y)),
    );
    s.sweep(
        "guard_stats / regime_change_stats",
        proptest::collection::vec((any_f64(), any::<bool>(), any_size()), 0..10),
        |xs| {
            let screened: Vec<Screened> = xs
                .iter()
                .map(|&(share, clean, q)| {
                    if clean {
                        Screened::Clean {
                            snapshot: MarketSnapshot {
                                time: Timestamp::from_nanos(0),
                                quotes: vec![],
                                indicators: vec![],
                                assets: vec![],
                            },
                            repaired: q,
                            quarantined: q,
                        }
                    } else {
                        Screened::SafeFallback {
                            reasons: vec![],
                            quarantined_share: share,
                        }
                    }
                })
                .collect();
            let states: Vec<RegimeState> = xs
                .iter()
                .map(|&(p, changed, run)| RegimeState {
                    label: RegimeLabel::RISK_ON,
                    probabilities: vec![(RegimeLabel::RISK_ON, p)],
                    run_length: run,
                    change_probability: p,
                    changed,
                    since: None,
                })
                .collect();
            result(guard_stats(&screened)).and(|| result(regime_change_stats(&states)))
        },
    );

    // Checkpoint of the rolling estimator.
    let mut st = RollingReturnStats::new(RollingConfig {
        window: 5,
        ..Default::default()
    })
    .expect("valid");
    for x in [0.01, -0.02, 0.03, -1.0, 0.02, 0.01, -0.01] {
        let _ = st.push(x);
    }
    s.checkpoint("RollingReturnStats", &st, |json| {
        match serde_json::from_str::<RollingReturnStats>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut st) => {
                for x in [0.02, -0.01, 0.0, 0.05, -0.03, 0.01] {
                    match st.push(x) {
                        Ok(snap) => {
                            let c = finite(&snap);
                            if c != Check::Ok {
                                return c;
                            }
                        }
                        Err(e) => return Check::Broken(format!("a valid return refused: {e}")),
                    }
                }
                finite(&st.max_drawdown()).and(|| reload_check(&st))
            }
        }
    });
    s.checkpoint(
        "RollingConfig",
        &RollingConfig::default(),
        |json| match serde_json::from_str::<RollingConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(cfg) => result_with(RollingReturnStats::new(cfg), reloads),
        },
    );

    s.finish();
}

/// Daily times from 2020-01-01 (strictly increasing).
fn daily(n: usize) -> Vec<Timestamp> {
    (0..n as i64)
        .map(|d| Timestamp::from_nanos((18_262 + d) * Timestamp::NANOS_PER_DAY))
        .collect()
}

/// An SVG document or a typed error: a `Plot` error is a rejection, anything else too.
fn svg_check(r: MetricsResult<String>) -> Check {
    result_with(r, |svg| {
        if svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf") {
            Ok(())
        } else {
            Err("the SVG holds NaN or inf, or is not an SVG".to_owned())
        }
    })
}

#[test]
fn metrics_charts_tearsheet_benchmark_and_exports() {
    use prudentia_metrics::chart::{Chart, Series};
    use prudentia_metrics::tearsheet::TearSheet;
    let mut s = Suite::new("metrics (charts, tear sheet, benchmark, exports)");

    // Charts: every constructor with a bad value inside, then drawn.
    for x in BAD {
        s.check(format!("Chart::lines with {x}"), move || {
            let mut v = vec![1.0, 2.0, 1.5, 1.7, 1.2];
            v[2] = x;
            svg_check(
                Chart::lines("t", "y", &daily(5), vec![Series::new("a", v)]).and_then(|c| c.to_svg(400, 300)),
            )
        });
        s.check(format!("Chart::weights with {x}"), move || {
            let rows = vec![vec![0.2, x, -0.1]; 4];
            svg_check(
                Chart::weights("w", &daily(4), &["a".into(), "b".into(), "c".into()], &rows, 10)
                    .and_then(|c| c.to_svg(400, 300)),
            )
        });
        s.check(format!("Chart::regimes with {x}"), move || {
            let labels: Vec<String> = ["a", "a", "b", "a"].iter().map(|s| (*s).to_owned()).collect();
            svg_check(
                Chart::regimes(
                    "r",
                    &daily(4),
                    Series::new("lvl", vec![1.0, x, 2.0, 3.0]),
                    &labels,
                    Some(Series::new("ind", vec![x, x, 1.0, x])),
                )
                .and_then(|c| c.to_svg(400, 300)),
            )
        });
        s.check(format!("Chart::underwater with {x}"), move || {
            svg_check(Chart::underwater("d", &daily(3), &[0.0, x, -0.5]).and_then(|c| c.to_svg(400, 300)))
        });
        s.check(
            format!("Chart::monthly_returns/rolling/distribution/equity with {x}"),
            move || {
                let r = vec![0.01, x, -0.02, 0.005, 0.0, 0.01];
                let t = daily(6);
                let mut c = Check::Rejected;
                for chart in [
                    Chart::monthly_returns("m", &t, &r),
                    Chart::rolling("r", &t, &r, 3, Annualization::Daily252),
                    Chart::distribution("d", &t, &r, 0.05),
                    Chart::distribution("d", &t, &[0.0; 6], x),
                    Chart::equity("e", &t, ("s", &r), Some(("b", &r))),
                ] {
                    match svg_check(chart.and_then(|c| c.to_svg(400, 300))) {
                        Check::Ok => c = Check::Ok,
                        Check::Rejected => {}
                        bad => return bad,
                    }
                }
                c
            },
        );
    }
    for n in SIZES {
        s.check(
            format!("Chart::weights max_labelled {n}, rolling window {n}"),
            move || {
                let t = daily(8);
                let rows = vec![vec![0.1; 12]; 8];
                let names: Vec<String> = (0..12).map(|k| format!("a{k}")).collect();
                let w = Chart::weights("w", &t, &names, &rows, n).and_then(|c| {
                    let labelled = c.legend().len();
                    c.to_svg(400, 300).map(|svg| (labelled, svg))
                });
                if let Ok((labelled, _)) = &w {
                    // at most 10 positions + other + gross + net
                    if *labelled > 13 {
                        return Check::Broken(format!("{labelled} legend entries"));
                    }
                }
                let rolling = svg_check(
                    Chart::rolling("r", &t, &[0.01; 8], n, Annualization::Daily252)
                        .and_then(|c| c.to_svg(400, 300)),
                );
                match (result(w), rolling) {
                    (Check::Ok | Check::Rejected, Check::Ok) | (Check::Ok, Check::Rejected) => Check::Ok,
                    (Check::Rejected, Check::Rejected) => Check::Rejected,
                    (Check::Ok | Check::Rejected, bad) | (bad, _) => bad,
                }
            },
        );
    }
    for (w, h) in [(0u32, 300u32), (199, 300), (400, 20_001), (u32::MAX, u32::MAX)] {
        s.check(format!("Chart::to_svg {w}x{h}"), move || {
            svg_check(
                Chart::lines("t", "y", &daily(3), vec![Series::new("a", vec![1.0; 3])])
                    .and_then(|c| c.to_svg(w, h)),
            )
        });
    }
    s.check("Chart at the ends of the time range", || {
        let t = vec![
            Timestamp::from_nanos(i64::MIN),
            Timestamp::from_nanos(0),
            Timestamp::from_nanos(i64::MAX),
        ];
        let mut c = Check::Ok;
        for chart in [
            Chart::lines("t", "y", &t, vec![Series::new("a", vec![1.0, f64::NAN, 2.0])]),
            Chart::monthly_returns("m", &t, &[0.1, -0.1, 0.0]),
            Chart::regimes(
                "r",
                &t,
                Series::new("l", vec![1.0; 3]),
                &["a".into(), "b".into(), "a".into()],
                None,
            ),
        ] {
            c = c.and(|| svg_check(chart.and_then(|c| c.to_svg(600, 400))));
        }
        c
    });
    s.sweep(
        "Chart::lines on random series and times",
        (vec_f64(0..40), proptest::collection::vec(any::<i64>(), 0..40)),
        |(v, t)| {
            let mut times: Vec<Timestamp> = t.into_iter().map(Timestamp::from_nanos).collect();
            times.sort();
            times.dedup();
            let n = times.len().min(v.len());
            times.truncate(n);
            svg_check(
                Chart::lines("t", "y", &times, vec![Series::new("a", v[..n].to_vec())])
                    .and_then(|c| c.to_svg(500, 300)),
            )
        },
    );

    // Benchmark-relative statistics.
    s.sweep(
        "RelativeStats::compute",
        (returns_vec(0..30), returns_vec(0..30), rate(), ann()),
        |(r, b, rf, a)| match (Returns::new(r), Returns::new(b)) {
            (Ok(r), Ok(b)) => result_with(RelativeStats::compute(&r, &b, rf, a), reloads),
            _ => Check::Rejected,
        },
    );
    s.sweep(
        "Report::with_benchmark, plain JSON",
        (returns_vec(1..30), returns_vec(0..30)),
        |(r, b)| match Returns::new(r) {
            Err(_) => Check::Rejected,
            Ok(r) => {
                let rep =
                    Report::new(ReportConfig::default(), &r).and_then(|rep| rep.with_benchmark("b", &b));
                result_with(rep, |rep| {
                    reloads(rep)?;
                    let plain = rep.to_plain_json().map_err(|e| e.to_string())?;
                    if plain.contains("NaN") {
                        return Err("NaN in the plain JSON".into());
                    }
                    Ok(())
                })
            }
        },
    );

    // Tear sheet and CSV from a record without decisions.
    s.sweep(
        "TearSheet and CSV export",
        (
            returns_vec(0..40),
            proptest::collection::vec(0.0..2.0f64, 0..40),
            any_size(),
        ),
        |(r, turnover, window)| {
            let n = r.len();
            let times = daily(n);
            let rec = BacktestRecord {
                times: &times,
                returns: &r,
                turnover: &turnover,
                decisions: &[],
                outcomes: &[],
            };
            let csv = rec.daily_csv();
            let sheet = TearSheet::new(
                ReportConfig {
                    drop_warmup: true,
                    ..Default::default()
                },
                &rec,
            )
            .and_then(|t| t.with_benchmark("b", &r))
            .and_then(|t| t.with_rolling_window(window))
            .and_then(|t| t.to_html());
            match (csv, sheet) {
                (Ok(c), Ok(h)) => Check::invariant(
                    c.lines().count() == n + 1 && h.contains("</html>") && !h.contains("NaN"),
                    "one CSV row per period and a complete page",
                ),
                (Err(_), Err(_)) => Check::Rejected,
                (Ok(_), Err(e)) => result(Err::<(), _>(e)),
                (Err(e), Ok(_)) => Check::Broken(format!("the CSV refused what the tear sheet took: {e}")),
            }
        },
    );

    // Checkpoint: a report with a benchmark, used after loading.
    let r = Returns::new(vec![0.01, -0.02, 0.03, 0.0, -0.01]).expect("valid");
    let report = Report::new(ReportConfig::default(), &r)
        .and_then(|rep| rep.with_benchmark("b", &[0.0, -0.01, 0.02, 0.01, -0.02]))
        .expect("valid");
    s.checkpoint(
        "Report with benchmark",
        &report,
        |json| match serde_json::from_str::<Report>(&json) {
            Err(_) => Check::Rejected,
            Ok(rep) => reload_check(&rep).and(|| match rep.to_plain_json() {
                Ok(p) if !p.contains("NaN") => Check::Ok,
                Ok(_) => Check::Broken("NaN in the plain JSON".into()),
                Err(e) => Check::Broken(format!("a loaded report makes no plain JSON: {e}")),
            }),
        },
    );
    s.finish();
}
