//! Edge cases: empty series, all-zero returns, a single observation, returns at and below
//! −100 %, NaN inside. Undefined statistics are typed results, invalid input is an error.

use prudentia_core::CoreError;
use prudentia_metrics::*;

const D: Annualization = Annualization::Daily252;
const Z: PerPeriodRate = PerPeriodRate::ZERO;

#[test]
fn empty_series_is_an_error() {
    assert!(matches!(
        Returns::new(vec![]),
        Err(MetricsError::Core(CoreError::EmptyInput { len: 0, .. }))
    ));
    assert!(matches!(
        Returns::with_policy(vec![f64::NAN, f64::NAN], NanPolicy::Skip),
        Err(MetricsError::Core(CoreError::EmptyInput { .. }))
    ));
    assert!(Returns::from_prices(&[100.0]).is_err());
}

#[test]
fn all_zero_returns_give_typed_undefined_statistics() {
    let r = Returns::new(vec![0.0; 252]).unwrap();
    assert_eq!(sharpe_ratio(&r, Z, D), Stat::Undefined(Undefined::ZeroDispersion));
    // A non-zero risk-free rate does not rescue it: excess returns are still constant.
    assert_eq!(
        sharpe_ratio(&r, PerPeriodRate::new(1e-4).unwrap(), D),
        Stat::Undefined(Undefined::ZeroDispersion)
    );
    assert_eq!(sortino_ratio(&r, Z, D), Stat::Undefined(Undefined::NoDownside));
    assert_eq!(calmar_ratio(&r, D), Stat::Undefined(Undefined::NoDrawdown));
    assert_eq!(omega_ratio(&r, Z, Z), Stat::Undefined(Undefined::NoLosses));
    assert_eq!(tail_ratio(&r), Stat::Undefined(Undefined::ZeroDenominator));
    assert_eq!(cumulative_return(&r), Stat::Value(0.0));
    assert_eq!(annual_return(&r, D), Stat::Value(0.0));
    assert_eq!(annual_volatility(&r, D), Stat::Value(0.0));
    assert_eq!(max_drawdown(&r).recovery, Recovery::NoDrawdown);
    let cf = cornish_fisher(&r, TailLevel::P05);
    assert_eq!(cf.var, Stat::Undefined(Undefined::ZeroDispersion));
    assert_eq!(SharpeMoments::from_returns(&r, Z), Err(Undefined::ZeroDispersion));
    // The report carries the same typed values, and its JSON has no NaN or inf.
    let rep = Report::new(ReportConfig::default(), &r).unwrap();
    assert_eq!(rep.summary.sharpe, Stat::Undefined(Undefined::ZeroDispersion));
    let json = rep.to_json().unwrap();
    assert!(json.contains("ZeroDispersion"));
    assert!(!json.contains("NaN") && !json.contains("inf"));
    let table = rep.to_string();
    assert!(table.contains("undefined: zero dispersion"), "{table}");
    assert!(rep.to_svg(600, 400).is_ok());
    // Rolling: a constant window is undefined too.
    let roll = rolling_sharpe(
        &r,
        RollingConfig {
            window: 20,
            ..RollingConfig::default()
        },
    )
    .unwrap();
    assert!(roll
        .iter()
        .all(|s| *s == Stat::Undefined(Undefined::ZeroDispersion)));
}

#[test]
fn constant_non_zero_returns_are_zero_dispersion_not_infinite() {
    // empyrical would return +inf or a huge number here; we say why there is no ratio.
    let r = Returns::new(vec![0.001; 30]).unwrap();
    assert_eq!(sharpe_ratio(&r, Z, D), Stat::Undefined(Undefined::ZeroDispersion));
    assert_eq!(sortino_ratio(&r, Z, D), Stat::Undefined(Undefined::NoDownside));
}

#[test]
fn single_observation() {
    let r = Returns::new(vec![-0.02]).unwrap();
    let few = Stat::Undefined(Undefined::TooFewObservations { n: 1, min: 2 });
    assert_eq!(sharpe_ratio(&r, Z, D), few);
    assert_eq!(sortino_ratio(&r, Z, D), few);
    assert_eq!(annual_volatility(&r, D), few);
    assert_eq!(omega_ratio(&r, Z, Z), few);
    assert_eq!(cornish_fisher(&r, TailLevel::P05).cvar, few);
    // (1 − 0.02) − 1 in floating point.
    assert!((cumulative_return(&r).value().unwrap() + 0.02).abs() < 1e-16);
    assert_eq!(value_at_risk(&r, TailLevel::P05), Stat::Value(-0.02));
    assert_eq!(conditional_value_at_risk(&r, TailLevel::P05), Stat::Value(-0.02));
    let m = max_drawdown(&r);
    assert!((m.depth + 0.02).abs() < 1e-16);
    assert_eq!((m.peak.index, m.trough.index), (0, 1));
    let rep = Report::new(ReportConfig::default(), &r).unwrap();
    assert_eq!(rep.summary.sharpe, few);
    assert_eq!(rep.summary.probabilistic_sharpe, few);
    assert!(rep.to_svg(400, 300).is_ok());
}

#[test]
fn total_loss_and_below() {
    // −100 % is a valid (ruinous) return: wealth goes to zero and stays there.
    let r = Returns::new(vec![0.05, -1.0, 0.1, 0.2]).unwrap();
    assert_eq!(cumulative_return(&r), Stat::Value(-1.0));
    assert_eq!(annual_return(&r, D), Stat::Value(-1.0));
    let m = max_drawdown(&r);
    assert_eq!(m.depth, -1.0);
    assert_eq!(
        m.recovery,
        Recovery::NotRecovered {
            underwater_periods: 3
        }
    );
    assert_eq!(drawdown_series(&r)[1..], [-1.0, -1.0, -1.0]);
    let rep = Report::new(ReportConfig::default(), &r).unwrap();
    assert!(rep.to_json().is_ok());
    let mut rolling = RollingReturnStats::new(RollingConfig {
        window: 2,
        ..RollingConfig::default()
    })
    .unwrap();
    rolling.push(0.05).unwrap();
    assert_eq!(
        rolling.push(-1.0).unwrap().unwrap().annual_return,
        Stat::Value(-1.0)
    );
    rolling.push(0.1).unwrap();
    // The −100 % return has left the window.
    assert!(rolling.push(0.2).unwrap().unwrap().annual_return.value().unwrap() > 0.0);
    // Below −100 % is an error naming the index.
    assert!(matches!(
        Returns::new(vec![0.1, -1.01]),
        Err(MetricsError::ReturnBelowTotalLoss { index: 1, .. })
    ));
    assert!(rolling.push(-1.5).is_err());
}

#[test]
fn nan_inside() {
    let with_nan = vec![0.01, f64::NAN, -0.02, 0.03, f64::NAN, 0.005];
    assert!(matches!(
        Returns::new(with_nan.clone()),
        Err(MetricsError::Core(CoreError::NonFinite { index: 1, .. }))
    ));
    let skipped = Returns::with_policy(with_nan, NanPolicy::Skip).unwrap();
    let clean = Returns::new(vec![0.01, -0.02, 0.03, 0.005]).unwrap();
    assert_eq!(skipped, clean);
    assert_eq!(sharpe_ratio(&skipped, Z, D), sharpe_ratio(&clean, Z, D));
    assert!(Returns::with_policy(vec![0.1, f64::INFINITY], NanPolicy::Skip).is_err());
}

#[test]
fn bad_parameters_are_errors() {
    assert!(Annualization::custom(-252.0).is_err());
    assert!(PerPeriodRate::new(f64::NAN).is_err());
    assert!(PerPeriodRate::from_annual(-1.0, D).is_err());
    assert!(TailLevel::new(0.0).is_err());
    assert!(TailLevel::new(1.0).is_err());
    assert!(DsrTrials::new(0, 0.1).is_err());
    assert!(RollingReturnStats::new(RollingConfig {
        window: 0,
        ..RollingConfig::default()
    })
    .is_err());
    let r = Returns::new(vec![0.01, 0.02]).unwrap();
    let rep = Report::new(ReportConfig::default(), &r).unwrap();
    assert!(rep.to_svg(10, 10).is_err());
}
