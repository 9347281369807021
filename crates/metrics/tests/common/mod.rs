//! A backtest-like record on the shipped data, without the pipeline: 20 S&P 500 stocks,
//! 2014-2018, a long/short momentum book of inverse-volatility weights rebalanced daily,
//! a 60-day warm-up of safe fallbacks holding nothing, two guard refusals, and regime
//! labels from the index's 20-day return and volatility. The S&P 500 index is the benchmark.
#![allow(dead_code)]

use prudentia_core::{
    AssetId, Decision, DecisionStatus, Order, OrderType, RegimeLabel, RegimeState, Side, Timestamp, Weights,
};

pub struct Run {
    pub times: Vec<Timestamp>,
    pub returns: Vec<f64>,
    pub turnover: Vec<f64>,
    pub decisions: Vec<Decision>,
    pub benchmark: Vec<f64>,
    pub index: Vec<f64>,
    pub tickers: Vec<String>,
}

pub fn run() -> Run {
    let prices = prudentia_datasets::sp500_stocks().expect("shipped stocks");
    let index = prudentia_datasets::sp500_index().expect("shipped index");
    let tickers: Vec<String> = prices.columns().to_vec();
    let px = prices.complete_values().expect("complete").to_owned();
    let idx = index.column_complete("SP500").expect("index").to_owned();
    let dates = prices.naive_dates();
    let first = dates
        .iter()
        .position(|d| d.to_string().as_str() >= "2014-01-02")
        .expect("2014");
    let last = dates
        .iter()
        .rposition(|d| d.to_string().as_str() <= "2018-12-31")
        .expect("2018");
    let n = tickers.len();
    let ids: Vec<AssetId> = tickers.iter().map(AssetId::new).collect();
    let ret = |t: usize, j: usize| px[[t, j]] / px[[t - 1, j]] - 1.0;
    let mut run = Run {
        times: Vec::new(),
        returns: Vec::new(),
        turnover: Vec::new(),
        decisions: Vec::new(),
        benchmark: Vec::new(),
        index: Vec::new(),
        tickers: tickers.clone(),
    };
    let mut prev = vec![0.0; n];
    for (k, t) in (first..last).enumerate() {
        let time = Timestamp::from_date(dates[t]);
        let warm = k < 60;
        let refused = k == 400 || k == 700;
        let mut w = prev.clone();
        if !warm && !refused {
            // 60-day momentum and 20-day volatility
            let score: Vec<(usize, f64, f64)> = (0..n)
                .map(|j| {
                    let m = px[[t, j]] / px[[t - 60, j]] - 1.0;
                    let rs: Vec<f64> = (t - 19..=t).map(|s| ret(s, j)).collect();
                    let mean = rs.iter().sum::<f64>() / 20.0;
                    let sd = (rs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 19.0).sqrt();
                    (j, m, sd.max(1e-4))
                })
                .collect();
            let mut order = score.clone();
            order.sort_by(|a, b| b.1.total_cmp(&a.1));
            w = vec![0.0; n];
            let longs = &order[..12];
            let shorts = &order[n - 3..];
            let inv: f64 = longs.iter().map(|x| 1.0 / x.2).sum();
            for x in longs {
                w[x.0] = 1.2 / x.2 / inv;
            }
            let inv: f64 = shorts.iter().map(|x| 1.0 / x.2).sum();
            for x in shorts {
                w[x.0] = -0.2 / x.2 / inv;
            }
        }
        let turnover: f64 = w.iter().zip(&prev).map(|(a, b)| (a - b).abs()).sum();
        let r: f64 = (0..n).map(|j| w[j] * ret(t + 1, j)).sum::<f64>() - 5e-4 * turnover;
        let i20 = idx[t] / idx[t - 20] - 1.0;
        let label = if i20 < -0.03 {
            RegimeLabel::RISK_OFF
        } else if i20.abs() > 0.04 {
            RegimeLabel::HIGH_VOL
        } else {
            RegimeLabel::RISK_ON
        };
        let status = if warm {
            DecisionStatus::SafeFallback {
                reasons: vec![format!("warming up: {k} of 60 returns in history")],
            }
        } else if refused {
            DecisionStatus::SafeFallback {
                reasons: vec![
                    format!("quote {}: price 8x the previous close", tickers[3]),
                    "indicator vix: negative value -1".into(),
                ],
            }
        } else {
            DecisionStatus::Normal
        };
        let orders = (0..n)
            .filter(|&j| (w[j] - prev[j]).abs() > 1e-9)
            .take(3)
            .map(|j| {
                let side = if w[j] > prev[j] { Side::Buy } else { Side::Sell };
                Order::new(ids[j].clone(), side, 100.0, OrderType::Market).expect("order")
            })
            .collect();
        let sized = Weights::new(ids.clone(), w.clone()).expect("weights");
        run.decisions.push(Decision {
            time,
            status,
            regime: RegimeState::certain(label),
            forecasts: Vec::new(),
            selected: Vec::new(),
            target: sized.clone(),
            sized,
            orders,
        });
        run.times.push(time);
        run.returns.push(r);
        run.turnover.push(turnover);
        run.benchmark.push(idx[t + 1] / idx[t] - 1.0);
        run.index.push(idx[t]);
        prev = w;
    }
    run
}
