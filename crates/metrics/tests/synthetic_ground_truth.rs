//! Decision metrics against prudentia-datasets' synthetic data with known truth: regime
//! means, true volatilities, fills with known impact.

use prudentia_core::{Fill, OrderType, RegimeLabel, Side, Timestamp};
use prudentia_datasets::{fills, SyntheticConfig, SyntheticMarket};
use prudentia_metrics::*;

fn market() -> SyntheticMarket {
    SyntheticMarket::generate(&SyntheticConfig {
        n_days: 2000,
        seed: 11,
        ..SyntheticConfig::default()
    })
    .unwrap()
}

#[test]
fn performance_by_regime_recovers_the_true_regime_means() {
    let m = market();
    let asset = 0;
    let r: Vec<f64> = m.returns.column(asset).to_vec();
    let returns = Returns::with_times(r, m.dates.clone(), NanPolicy::Reject).unwrap();
    let labels: Vec<RegimeLabel> = m
        .regimes
        .iter()
        .map(|&k| m.config.regimes[k].label.clone())
        .collect();
    let by = performance_by_regime(&returns, &labels, PerPeriodRate::ZERO, Annualization::Daily252).unwrap();
    for (k, spec) in m.config.regimes.iter().enumerate() {
        let days: Vec<usize> = (0..m.n_days()).filter(|&t| m.regimes[t] == k).collect();
        if days.len() < 30 {
            continue;
        }
        let true_mean = days.iter().map(|&t| m.true_mean[[t, asset]]).sum::<f64>() / days.len() as f64;
        let true_sd = (days
            .iter()
            .map(|&t| m.true_sigma[[t, asset]].powi(2))
            .sum::<f64>()
            / days.len() as f64)
            .sqrt();
        let p = by[&spec.label];
        assert_eq!(p.periods, days.len());
        let se = true_sd / (days.len() as f64).sqrt();
        assert!(
            (p.mean - true_mean).abs() < 4.0 * se,
            "{}: {} vs {}",
            spec.label,
            p.mean,
            true_mean
        );
        let vol = p.annual_volatility.value().unwrap() / 252f64.sqrt();
        assert!(
            (vol / true_sd - 1.0).abs() < 0.15,
            "{}: vol {vol} vs {true_sd}",
            spec.label
        );
    }
}

#[test]
fn risk_gap_is_zero_for_true_sigmas_and_positive_for_overconfidence() {
    let m = market();
    let asset = 3;
    let r: Vec<f64> = m.returns.column(asset).to_vec();
    let returns = Returns::new(r).unwrap();
    let sigma: Vec<f64> = m.true_sigma.column(asset).to_vec();
    let g = risk_gap(&returns, &sigma, Annualization::Daily252).unwrap();
    assert!((g.standardized_std.value().unwrap() - 1.0).abs() < 0.05, "{g:?}");
    assert!((g.exceedance_rate - 0.05).abs() < 0.02, "{g:?}");
    // Forecasting half the true sigma: realized is about twice the forecast.
    let half: Vec<f64> = sigma.iter().map(|s| s / 2.0).collect();
    let g = risk_gap(&returns, &half, Annualization::Daily252).unwrap();
    assert!((g.standardized_std.value().unwrap() - 2.0).abs() < 0.1, "{g:?}");
    assert!(g.relative_gap.value().unwrap() > 0.7, "{g:?}");
}

#[test]
fn execution_metrics_recover_known_slippage() {
    let n = 4000;
    let s = fills(n, 5).unwrap();
    let arrival = 100.0;
    let fs: Vec<Fill> = (0..n)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let sign = if side == Side::Buy { 1.0 } else { -1.0 };
            Fill {
                asset: "SYN".into(),
                time: Timestamp::from_nanos(i as i64),
                side,
                quantity: 100.0,
                price: arrival * (1.0 + sign * s.slippage_bps[i] / 1e4),
                arrival_price: arrival,
                order_type: s.core_order_type(i).unwrap_or(OrderType::Market),
                venue: None,
            }
        })
        .collect();
    // Per fill, slippage_bps inverts the construction exactly (up to rounding).
    for (f, x) in fs.iter().zip(s.slippage_bps.iter()).take(50) {
        assert!((slippage_bps(f).unwrap() - x).abs() < 1e-9);
    }
    let e = ExecutionMetrics::compute(&fs, None).unwrap();
    // Equal quantities and arrival prices: the shortfall is the mean slippage, whose
    // expectation is the mean of impact + residual (noise sd `FILL_NOISE_SD_BPS`).
    let truth = (s.impact_bps.sum() + s.residual_mean_bps.sum()) / n as f64;
    assert!((e.implementation_shortfall_bps - e.mean_slippage_bps).abs() < 1e-9);
    assert!(
        (e.mean_slippage_bps - truth).abs() < 4.0 * fills::FILL_NOISE_SD_BPS / (n as f64).sqrt(),
        "{} vs {truth}",
        e.mean_slippage_bps
    );
}
