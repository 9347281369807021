//! A point estimate with its normal-theory inference.

use prudentia_core::validate::{check_finite, check_non_negative, check_probability};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{CausalError, CausalResult};
use crate::linalg::normal_sf;

/// The 97.5% quantile of the standard normal: 95% intervals are `estimate ± Z95 · se`.
pub const Z95: f64 = 1.959_963_984_540_054;

/// An estimate with its standard error, 95% interval and two-sided p-value of "= 0", all
/// from the normal approximation (as EconML and linearmodels report them).
///
/// Deserialization checks finite values, `std_error ≥ 0`, `lower ≤ estimate ≤ upper` and
/// `p_value ∈ [0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct Estimate {
    /// The point estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Lower end of the 95% interval.
    pub lower: f64,
    /// Upper end of the 95% interval.
    pub upper: f64,
    /// Two-sided p-value of "the true value is 0" (1 when the standard error is 0 and the
    /// estimate is 0, 0 when the standard error is 0 and the estimate is not).
    pub p_value: f64,
}
prudentia_core::checked_serde!(Estimate, Estimate::check);

impl Estimate {
    /// The normal-theory inference for `estimate` with standard error `std_error`.
    ///
    /// # Errors
    /// [`CoreError::NonFinite`] for a non-finite input, [`CoreError::OutOfRange`] for a
    /// negative standard error, [`CausalError::Overflow`] when the interval overflows `f64`.
    pub fn normal(estimate: f64, std_error: f64) -> CausalResult<Self> {
        check_finite("estimate", &[estimate])?;
        check_non_negative("std_error", std_error)?;
        let half = Z95 * std_error;
        let (lower, upper) = (estimate - half, estimate + half);
        if !(lower.is_finite() && upper.is_finite()) {
            return Err(CausalError::Overflow { what: "95% interval" });
        }
        let p_value = if std_error > 0.0 {
            (2.0 * normal_sf((estimate / std_error).abs())).min(1.0)
        } else if estimate == 0.0 {
            1.0
        } else {
            0.0
        };
        Ok(Self {
            estimate,
            std_error,
            lower,
            upper,
            p_value,
        })
    }

    /// One-sided p-value of "the true value is ≤ 0" against "> 0".
    pub fn p_value_positive(&self) -> f64 {
        if self.std_error > 0.0 {
            normal_sf(self.estimate / self.std_error)
        } else if self.estimate > 0.0 {
            0.0
        } else {
            1.0
        }
    }

    fn check(&mut self) -> CausalResult<()> {
        check_finite("estimate", &[self.estimate, self.lower, self.upper])?;
        check_non_negative("std_error", self.std_error)?;
        check_probability("p_value", self.p_value)?;
        if !(self.lower <= self.estimate && self.estimate <= self.upper) {
            return Err(CoreError::OutOfRange {
                field: "interval",
                value: self.estimate,
                expected: "lower <= estimate <= upper",
            }
            .into());
        }
        Ok(())
    }
}
