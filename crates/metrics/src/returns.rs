//! [`Returns`]: a validated series of simple periodic returns, optionally time-stamped.

use prudentia_core::validate::{check_len, check_shape, check_strictly_increasing};
use prudentia_core::{CoreError, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, MetricsResult};

/// What to do with NaN returns (missing observations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum NanPolicy {
    /// A NaN is an error ([`CoreError::NonFinite`]). The default.
    #[default]
    Reject,
    /// NaNs are dropped (with their timestamps) before any statistic is computed, so every
    /// statistic equals the one of the NaN-free series. Infinite values are still errors.
    ///
    /// empyrical is not uniform here: its `nanmean`/`nanstd` statistics skip NaNs, but
    /// `annual_return` counts them in the number of years and `cum_returns` treats them as
    /// zero returns. Dropping is the one rule that holds for every statistic.
    Skip,
}

/// A series of simple returns `r_t = P_t / P_{t−1} − 1`, one per period, optionally with the
/// timestamp at which each period ended.
///
/// Invariants checked by the constructors and on deserialization: at least one return;
/// every return finite and `≥ −1` (a return of exactly −1 loses all capital and is allowed;
/// below −1 is an error, since an unlevered, limited-liability position cannot lose more
/// than it has); the compounded wealth `Π (1 + r_t)` finite at every point
/// ([`MetricsError::WealthOverflow`] otherwise); timestamps, when given, one per return and
/// strictly increasing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Returns {
    values: Vec<f64>,
    times: Option<Vec<Timestamp>>,
}

prudentia_core::checked_serde!(Returns, Returns::check);

impl Returns {
    /// The invariants of a loaded value (see the type's documentation).
    fn check(&mut self) -> MetricsResult<()> {
        if let Some(t) = &self.times {
            check_shape("times", &[self.values.len()], &[t.len()])?;
            check_strictly_increasing("times", t)?;
        }
        check_values(&self.values)
    }

    /// Validated returns, rejecting NaN.
    pub fn new(values: Vec<f64>) -> MetricsResult<Self> {
        Self::with_policy(values, NanPolicy::Reject)
    }

    /// Validated returns under a NaN policy.
    pub fn with_policy(values: Vec<f64>, nan: NanPolicy) -> MetricsResult<Self> {
        let (values, _) = clean(values, None, nan)?;
        Ok(Self { values, times: None })
    }

    /// Validated, time-stamped returns (`times[i]` ends period `i`).
    pub fn with_times(values: Vec<f64>, times: Vec<Timestamp>, nan: NanPolicy) -> MetricsResult<Self> {
        check_shape("times", &[values.len()], &[times.len()])?;
        check_strictly_increasing("times", &times)?;
        let (values, times) = clean(values, Some(times), nan)?;
        Ok(Self { values, times })
    }

    /// Simple returns of a price (or equity) series: `P_t / P_{t−1} − 1`. Prices must be
    /// finite and > 0; at least two are needed.
    pub fn from_prices(prices: &[f64]) -> MetricsResult<Self> {
        check_len("prices", prices.len(), 2)?;
        if let Some(i) = prices.iter().position(|p| !(p.is_finite() && *p > 0.0)) {
            return Err(CoreError::OutOfRange {
                field: "prices",
                value: prices[i],
                expected: "finite and > 0",
            }
            .into());
        }
        Self::new(prices.windows(2).map(|w| w[1] / w[0] - 1.0).collect())
    }

    /// The returns.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
    /// The timestamps, if given.
    pub fn times(&self) -> Option<&[Timestamp]> {
        self.times.as_deref()
    }
    /// Number of returns (≥ 1).
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// Always false: a `Returns` holds at least one return.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// The timestamp of wealth point `k` (0 = the start, before the first return, which
    /// has no timestamp; `k ≥ 1` = the end of period `k − 1`).
    pub fn point_time(&self, k: usize) -> Option<Timestamp> {
        if k == 0 {
            None
        } else {
            self.times.as_ref().and_then(|t| t.get(k - 1).copied())
        }
    }
}

fn clean(
    values: Vec<f64>,
    times: Option<Vec<Timestamp>>,
    nan: NanPolicy,
) -> MetricsResult<(Vec<f64>, Option<Vec<Timestamp>>)> {
    let (values, times) = match nan {
        NanPolicy::Reject => (values, times),
        NanPolicy::Skip if values.iter().any(|v| v.is_nan()) => {
            let keep: Vec<bool> = values.iter().map(|v| !v.is_nan()).collect();
            let v = values.into_iter().filter(|v| !v.is_nan()).collect();
            let t = times.map(|t| {
                t.into_iter()
                    .zip(&keep)
                    .filter_map(|(t, k)| k.then_some(t))
                    .collect()
            });
            (v, t)
        }
        NanPolicy::Skip => (values, times),
    };
    check_values(&values)?;
    Ok((values, times))
}

fn check_values(values: &[f64]) -> MetricsResult<()> {
    check_len("returns", values.len(), 1)?;
    let mut wealth = 1.0_f64;
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Err(CoreError::NonFinite {
                field: "returns",
                index,
                value,
            }
            .into());
        }
        if value < -1.0 {
            return Err(MetricsError::ReturnBelowTotalLoss { index, value });
        }
        wealth *= 1.0 + value;
        if !wealth.is_finite() {
            return Err(MetricsError::WealthOverflow { index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(matches!(
            Returns::new(vec![]),
            Err(MetricsError::Core(CoreError::EmptyInput { .. }))
        ));
        assert!(matches!(
            Returns::new(vec![0.1, f64::NAN]),
            Err(MetricsError::Core(CoreError::NonFinite { index: 1, .. }))
        ));
        assert!(matches!(
            Returns::new(vec![0.1, -1.5]),
            Err(MetricsError::ReturnBelowTotalLoss { index: 1, .. })
        ));
        assert!(Returns::new(vec![-1.0]).is_ok());
        let r = Returns::with_policy(vec![f64::NAN, 0.1, f64::NAN, 0.2], NanPolicy::Skip).unwrap();
        assert_eq!(r.values(), &[0.1, 0.2]);
        assert!(Returns::with_policy(vec![f64::NAN], NanPolicy::Skip).is_err());
        assert!(Returns::with_policy(vec![f64::INFINITY], NanPolicy::Skip).is_err());
        let t = |d| Timestamp::from_ymd(2020, 1, d).unwrap();
        let r =
            Returns::with_times(vec![0.1, f64::NAN, 0.3], vec![t(1), t(2), t(3)], NanPolicy::Skip).unwrap();
        assert_eq!(r.times().unwrap(), &[t(1), t(3)]);
        assert_eq!(r.point_time(0), None);
        assert_eq!(r.point_time(2), Some(t(3)));
        assert!(Returns::with_times(vec![0.1], vec![], NanPolicy::Reject).is_err());
        assert!(Returns::with_times(vec![0.1, 0.2], vec![t(2), t(1)], NanPolicy::Reject).is_err());
        let p = Returns::from_prices(&[100.0, 110.0, 99.0]).unwrap();
        assert!((p.values()[0] - 0.1).abs() < 1e-15 && (p.values()[1] + 0.1).abs() < 1e-15);
        assert!(Returns::from_prices(&[100.0, 0.0]).is_err());
    }
}
