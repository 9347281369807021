//! Records of the main example's size (20 stocks + the index, 20 calibrated forecasts with
//! quantiles, a slate of 8, 20 target and sized weights, 8 orders), shared by the `store`
//! bench and the `append_rate` example.
#![allow(dead_code)]
use prudentia_core::*;

/// The raw snapshot of day `k`.
pub fn snapshot(k: u64) -> MarketSnapshot {
    let time = Timestamp::from_nanos(k as i64 * Timestamp::NANOS_PER_DAY);
    let price = |i: usize| 50.0 + ((k as usize * 31 + i * 17) % 997) as f64 * 0.173;
    let mut quotes: Vec<Quote> = (0..20)
        .map(|i| Quote {
            asset: AssetId::new(format!("TICK{i:02}")),
            time,
            price: price(i),
            volume: None,
            spread_bps: None,
        })
        .collect();
    quotes.push(Quote {
        asset: "SP500".into(),
        time,
        price: 2000.0 + k as f64 * 0.37,
        volume: None,
        spread_bps: None,
    });
    let assets = (0..20)
        .map(|i| {
            let mut a = AssetInfo::new(AssetId::new(format!("TICK{i:02}")), price(i)).unwrap();
            a.sector = Some(format!("Sector {}", i % 6));
            a.features = vec![1.234e-3 * i as f64, -4.56e-4 * k as f64, 0.0123 + 1e-5 * i as f64];
            a
        })
        .collect();
    MarketSnapshot {
        time,
        quotes,
        indicators: vec![Indicator {
            name: "vix".into(),
            time,
            value: 14.0 + (k % 17) as f64 * 0.31,
        }],
        assets,
    }
}

/// The decision record of day `k`.
pub fn record(k: u64, s: &MarketSnapshot) -> DecisionRecord {
    let ids: Vec<AssetId> = s.assets.iter().map(|a| a.id.clone()).collect();
    let forecasts = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let m = 1.1e-4 * i as f64 - 7.3e-4;
            let f = Forecast::new(m, 0.0173 + 1e-4 * i as f64, Horizon::DAY)
                .unwrap()
                .with_quantiles(vec![
                    Quantile {
                        level: 0.05,
                        value: m - 0.028,
                    },
                    Quantile { level: 0.5, value: m },
                    Quantile {
                        level: 0.95,
                        value: m + 0.028,
                    },
                ])
                .unwrap();
            (id.clone(), f)
        })
        .collect();
    let w: Vec<f64> = (0..20)
        .map(|i| {
            if i % 5 == 0 {
                -0.05
            } else {
                0.0712 + i as f64 * 1e-3
            }
        })
        .collect();
    let target = Weights::new(ids.clone(), w.clone()).unwrap();
    let sized = Weights::new(ids.clone(), w.iter().map(|x| x * 0.5).collect()).unwrap();
    let orders = ids
        .iter()
        .take(8)
        .map(|id| Order::new(id.clone(), Side::Buy, 137.0, OrderType::Market).unwrap())
        .collect();
    DecisionRecord {
        sequence: k,
        policy_id: "daily_pipeline example".into(),
        model_hash: "ab".repeat(32),
        feature_version: "1".into(),
        seed: k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        inputs_digest: "cd".repeat(32),
        decision: Decision {
            time: s.time,
            status: DecisionStatus::Normal,
            regime: RegimeState::default(),
            forecasts,
            selected: ids[..8].to_vec(),
            target,
            sized,
            orders,
        },
        optimizer_status: Some(prudentia_core::Status::Converged),
        timings_ns: vec![("guard".into(), 12_000), ("optimize".into(), 900_000)],
    }
}
