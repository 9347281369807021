//! Invariants over random return series.

use proptest::prelude::*;
use prudentia_metrics::*;

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-0.2f64..0.2, 2..200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_statistic_is_ever_non_finite(v in prop::collection::vec(prop_oneof![Just(0.0), Just(-1.0), -0.99f64..2.0], 1..60)) {
        let r = Returns::new(v).unwrap();
        let rep = Report::new(ReportConfig { dsr_trials: Some(DsrTrials::new(10, 1e-3).unwrap()), ..ReportConfig::default() }, &r).unwrap();
        let s = &rep.summary;
        for st in [s.cumulative_return, s.annual_return, s.annual_volatility, s.sharpe, s.sortino, s.downside_risk,
                   s.calmar, s.omega, s.tail_ratio, s.skewness, s.kurtosis, s.var, s.cvar, s.cornish_fisher_var,
                   s.cornish_fisher_cvar, s.probabilistic_sharpe] {
            if let Some(x) = st.value() { prop_assert!(x.is_finite()); }
        }
        prop_assert!(rep.drawdown.iter().all(|d| d.is_finite() && *d <= 0.0 && *d >= -1.0));
        prop_assert!(!rep.to_json().unwrap().contains("NaN"));
    }

    #[test]
    fn drawdown_and_tail_orderings(v in series()) {
        let r = Returns::new(v.clone()).unwrap();
        let m = max_drawdown(&r);
        prop_assert!(m.depth <= 0.0 && m.depth >= -1.0);
        prop_assert!(m.peak.index <= m.trough.index);
        let dd = drawdown_series(&r);
        let min = dd.iter().copied().fold(0.0, f64::min);
        prop_assert_eq!(min, m.depth);
        // CVaR is never above VaR; both between the worst and the best return.
        let var = value_at_risk(&r, TailLevel::P05).value().unwrap();
        let cvar = conditional_value_at_risk(&r, TailLevel::P05).value().unwrap();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        prop_assert!(cvar <= var + 1e-15);
        prop_assert!(cvar >= lo - 1e-15);
        let psr = probabilistic_sharpe_ratio(
            &match SharpeMoments::from_returns(&r, PerPeriodRate::ZERO) { Ok(m) => m, Err(_) => return Ok(()) },
            PerPeriodSharpe::default(),
        );
        if let Some(p) = psr.value() { prop_assert!((0.0..=1.0).contains(&p)); }
    }

    #[test]
    fn sharpe_is_scale_invariant(v in series(), c in 0.1f64..4.0) {
        let r = Returns::new(v.clone()).unwrap();
        let scaled = Returns::new(v.iter().map(|x| x * c).collect()).unwrap();
        let a = sharpe_ratio(&r, PerPeriodRate::ZERO, Annualization::Daily252);
        let b = sharpe_ratio(&scaled, PerPeriodRate::ZERO, Annualization::Daily252);
        match (a.value(), b.value()) {
            (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0)),
            _ => prop_assert_eq!(a.is_defined(), b.is_defined()),
        }
    }

    #[test]
    fn rolling_equals_batch(v in prop::collection::vec(-0.1f64..0.1, 10..120), w in 2usize..10) {
        let r = Returns::new(v.clone()).unwrap();
        let cfg = RollingConfig { window: w, ..RollingConfig::default() };
        let roll = rolling_volatility(&r, cfg).unwrap();
        for (i, win) in v.windows(w).enumerate() {
            let b = annual_volatility(&Returns::new(win.to_vec()).unwrap(), Annualization::Daily252).value().unwrap();
            // The sliding update's rounding error scales with the largest variance recently in
            // the window (≈ 1e-16 of it), not with the current one: an absolute bound.
            prop_assert!((roll[i].value().unwrap() - b).abs() <= 1e-9 * b.max(1.0));
        }
    }
}
