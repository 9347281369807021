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

/// Issue #22 (12): a serialized `Returns` below −100 % (or non-finite wealth, or mismatched
/// times) was accepted on load; it is now validated like the constructors.
#[test]
fn returns_are_validated_on_load() {
    let ok: Returns = serde_json::from_str(r#"{"values":[0.1,-1.0],"times":null}"#).unwrap();
    assert_eq!(ok.values(), &[0.1, -1.0]);
    for bad in [
        r#"{"values":[0.1,-1.5],"times":null}"#,
        r#"{"values":[],"times":null}"#,
        r#"{"values":[1e300,1e300],"times":null}"#,
        r#"{"values":[0.1,0.2],"times":[5]}"#,
        r#"{"values":[0.1,0.2],"times":[5,5]}"#,
    ] {
        assert!(serde_json::from_str::<Returns>(bad).is_err(), "{bad}");
    }
    let r = Returns::new(vec![0.01, -0.02]).unwrap();
    let back: Returns = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

/// Issue #22 (6, 10, 12): rolling statistics refuse absurd windows and returns, survive a
/// return near `f64::MAX` in the batch path, and validate their checkpoints.
#[test]
fn rolling_sizes_extremes_and_checkpoints() {
    let too_large = |c: RollingConfig| {
        matches!(
            RollingReturnStats::new(c),
            Err(MetricsError::Core(CoreError::TooLarge { .. }))
        )
    };
    for window in [usize::MAX, 1 << 40] {
        assert!(too_large(RollingConfig {
            window,
            ..Default::default()
        }));
    }
    let mut s = RollingReturnStats::new(RollingConfig {
        window: 4,
        ..Default::default()
    })
    .unwrap();
    for x in [0.01, -0.02, 0.03] {
        s.push(x).unwrap();
    }
    let before = serde_json::to_string(&s).unwrap();
    assert!(s.push(1e300).is_err());
    assert!(s.push(f64::NAN).is_err());
    assert_eq!(serde_json::to_string(&s).unwrap(), before);
    let back: RollingReturnStats = serde_json::from_str(&before).unwrap();
    assert_eq!(back, s);
    let mut j: serde_json::Value = serde_json::from_str(&before).unwrap();
    j["m2"] = 5.0.into();
    assert!(serde_json::from_value::<RollingReturnStats>(j).is_err());
    let mut j: serde_json::Value = serde_json::from_str(&before).unwrap();
    j["buf"][0] = (-3.0).into();
    assert!(serde_json::from_value::<RollingReturnStats>(j).is_err());
    let mut j: serde_json::Value = serde_json::from_str(&before).unwrap();
    j["config"]["window"] = 1.into();
    assert!(serde_json::from_value::<RollingReturnStats>(j).is_err());

    // The batch path: an extreme return makes the window's statistics undefined while it is
    // in the window, and they recover once it has left.
    let mut v = vec![0.01, -0.01, 0.02, 0.0, 0.01, -0.02];
    v.push(1e300);
    v.push(-0.99);
    v.extend([0.01, -0.01, 0.02, 0.0, 0.01, -0.02]);
    let r = Returns::new(v).unwrap();
    let vol = rolling_volatility(
        &r,
        RollingConfig {
            window: 3,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        vol.last().unwrap().value().is_some_and(|x| x > 0.0 && x < 1.0),
        "{vol:?}"
    );
}
