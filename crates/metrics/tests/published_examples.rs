//! The deflated Sharpe ratio's worked example (Bailey & López de Prado 2014, "The deflated
//! Sharpe ratio", J. Portfolio Management 40(5), section "A numerical example"):
//! N = 100 independent trials, variance of the trials' annualized Sharpe ratios V = 1/2,
//! T = 1250 daily observations (five years of 250 days), skewness −3, kurtosis 10, best
//! annualized Sharpe ratio 2.5. The paper reports E[max SR] = 0.1132 (per day) and
//! DSR = 0.9004; and that DSR reaches 0.95 after N = 46 trials, or with normal returns
//! after N = 88 trials.

use prudentia_metrics::{
    deflated_sharpe_ratio, expected_max_sharpe, probabilistic_sharpe_ratio, Annualization, DsrTrials,
    PerPeriodSharpe, SharpeMoments,
};

fn days250() -> Annualization {
    Annualization::custom(250.0).unwrap()
}

fn moments(skew: f64, kurt: f64) -> SharpeMoments {
    let sr = PerPeriodSharpe::from_annual(2.5, days250()).unwrap();
    SharpeMoments::new(sr, 1250, skew, kurt).unwrap()
}

#[test]
fn deflated_sharpe_worked_example() {
    let trials = DsrTrials::from_annualized_variance(100, 0.5, days250()).unwrap();
    let sr0 = expected_max_sharpe(&trials).unwrap();
    assert!((sr0.get() - 0.1132).abs() < 5e-5, "SR0 = {}", sr0.get());
    let dsr = deflated_sharpe_ratio(&moments(-3.0, 10.0), &trials)
        .value()
        .unwrap();
    assert!((dsr - 0.9004).abs() < 5e-5, "DSR = {dsr}");
    // DSR is the PSR at SR0.
    assert_eq!(
        probabilistic_sharpe_ratio(&moments(-3.0, 10.0), sr0)
            .value()
            .unwrap(),
        dsr
    );
}

#[test]
fn deflated_sharpe_thresholds_in_the_paper() {
    let at = |n, skew, kurt| {
        let t = DsrTrials::from_annualized_variance(n, 0.5, days250()).unwrap();
        deflated_sharpe_ratio(&moments(skew, kurt), &t).value().unwrap()
    };
    assert!((at(46, -3.0, 10.0) - 0.9505).abs() < 5e-5);
    assert!((at(88, 0.0, 3.0) - 0.9505).abs() < 5e-5);
    // Monotone in the number of trials.
    assert!(at(10, -3.0, 10.0) > at(46, -3.0, 10.0));
    assert!(at(46, -3.0, 10.0) > at(100, -3.0, 10.0));
}

#[test]
fn psr_normal_returns_reduce_to_the_lo_standard_error() {
    // With γ₃ = 0, γ₄ = 3 the bracket is 1 + ŜR²/2, Lo's (2002) i.i.d. standard error.
    let sr = 0.1;
    let m = SharpeMoments::new(PerPeriodSharpe::new(sr).unwrap(), 101, 0.0, 3.0).unwrap();
    let se = m.standard_error().value().unwrap();
    assert!((se - ((1.0 + sr * sr / 2.0) / 100.0).sqrt()).abs() < 1e-15);
}
