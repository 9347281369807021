//! Input validation helpers used by every prudentia crate.
//!
//! Each helper returns a typed [`CoreError`] naming the offending field, so a bad call
//! is reported, never turned into a panic or a silent NaN.

use crate::error::{CoreError, CoreResult};
use crate::types::Timestamp;
use ndarray::{ArrayView1, ArrayView2};

/// Fails with [`CoreError::EmptyInput`] if `len < min`.
pub fn check_len(field: &'static str, len: usize, min: usize) -> CoreResult<()> {
    if len < min {
        Err(CoreError::EmptyInput { field, len, min })
    } else {
        Ok(())
    }
}

/// The largest window, capacity or history length a prudentia type accepts (2²⁴ ≈ 16.8 M
/// observations); larger sizes are [`CoreError::TooLarge`] at construction.
pub const MAX_WINDOW: usize = 1 << 24;

/// The largest dimension (features, assets, actions, states, bins) a prudentia type accepts
/// (2¹⁶ = 65,536); larger sizes are [`CoreError::TooLarge`] at construction.
pub const MAX_DIM: usize = 1 << 16;

/// The largest number of dense matrix elements a prudentia type allocates from one size
/// parameter (2²⁸ ≈ 268 M, 2 GiB of `f64`); larger products are [`CoreError::TooLarge`].
pub const MAX_ELEMENTS: usize = 1 << 28;

/// Fails with [`CoreError::TooLarge`] if `value > max`.
///
/// ```
/// use prudentia_core::validate::{check_size, MAX_WINDOW};
/// assert!(check_size("window", 252, MAX_WINDOW).is_ok());
/// assert!(check_size("window", usize::MAX, MAX_WINDOW).is_err());
/// ```
pub fn check_size(field: &'static str, value: usize, max: usize) -> CoreResult<()> {
    if value > max {
        Err(CoreError::TooLarge {
            field,
            value: value as u128,
            max: max as u128,
        })
    } else {
        Ok(())
    }
}

/// Fails with [`CoreError::TooLarge`] if the product of `dims` (e.g. the elements of a dense
/// `n × n` matrix, or `actions × d × d`) overflows or exceeds `max`.
pub fn check_elements(field: &'static str, dims: &[usize], max: usize) -> CoreResult<usize> {
    let mut total: u128 = 1;
    for &d in dims {
        total = total.saturating_mul(d as u128);
    }
    if total > max as u128 {
        Err(CoreError::TooLarge {
            field,
            value: total,
            max: max as u128,
        })
    } else {
        Ok(total as usize)
    }
}

/// Fails with [`CoreError::NonFinite`] at the first NaN or infinite value.
pub fn check_finite(field: &'static str, values: &[f64]) -> CoreResult<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(CoreError::NonFinite {
            field,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// [`check_finite`] for any iterator of values (e.g. a strided ndarray view).
pub fn check_finite_iter<'a, I>(field: &'static str, values: I) -> CoreResult<()>
where
    I: IntoIterator<Item = &'a f64>,
{
    for (index, v) in values.into_iter().enumerate() {
        if !v.is_finite() {
            return Err(CoreError::NonFinite {
                field,
                index,
                value: *v,
            });
        }
    }
    Ok(())
}

/// [`check_finite`] for a 1-D view.
pub fn check_finite_1d(field: &'static str, values: ArrayView1<'_, f64>) -> CoreResult<()> {
    check_finite_iter(field, values.iter())
}

/// [`check_finite`] for a 2-D view (index is the row-major flat index).
pub fn check_finite_2d(field: &'static str, values: ArrayView2<'_, f64>) -> CoreResult<()> {
    check_finite_iter(field, values.iter())
}

/// Fails with [`CoreError::ShapeMismatch`] if `found != expected`.
pub fn check_shape(field: &'static str, expected: &[usize], found: &[usize]) -> CoreResult<()> {
    if expected == found {
        Ok(())
    } else {
        Err(CoreError::ShapeMismatch {
            field,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
    }
}

/// Fails unless the 2-D view is square.
pub fn check_square(field: &'static str, m: ArrayView2<'_, f64>) -> CoreResult<usize> {
    let (r, c) = m.dim();
    check_shape(field, &[r, r], &[r, c])?;
    Ok(r)
}

/// Fails unless `value` is finite and in the closed interval `[lo, hi]`.
pub fn check_range(
    field: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    expected: &'static str,
) -> CoreResult<()> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value,
            expected,
        })
    }
}

/// Fails unless `value` is finite and strictly positive.
pub fn check_positive(field: &'static str, value: f64) -> CoreResult<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value,
            expected: "finite and > 0",
        })
    }
}

/// Fails unless `value` is finite and `>= 0`.
pub fn check_non_negative(field: &'static str, value: f64) -> CoreResult<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value,
            expected: "finite and >= 0",
        })
    }
}

/// Fails unless `p` is a probability in `[0, 1]`.
pub fn check_probability(field: &'static str, p: f64) -> CoreResult<()> {
    check_range(field, p, 0.0, 1.0, "a probability in [0, 1]")
}

/// Fails unless `p` lies in the open interval `(0, 1)` (quantile levels, confidence levels).
pub fn check_open_unit(field: &'static str, p: f64) -> CoreResult<()> {
    if p.is_finite() && p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: p,
            expected: "in the open interval (0, 1)",
        })
    }
}

/// Fails with [`CoreError::NotIncreasing`] unless timestamps strictly increase.
pub fn check_strictly_increasing(field: &'static str, ts: &[Timestamp]) -> CoreResult<()> {
    match ts.windows(2).position(|w| w[1] <= w[0]) {
        Some(i) => Err(CoreError::NotIncreasing { field, index: i + 1 }),
        None => Ok(()),
    }
}

/// Fails unless the square matrix is symmetric to within `tol` (absolute, scaled by the
/// largest magnitude on the diagonal when that exceeds one).
pub fn check_symmetric(field: &'static str, m: ArrayView2<'_, f64>, tol: f64) -> CoreResult<()> {
    let n = check_square(field, m)?;
    let scale = (0..n).map(|i| m[[i, i]].abs()).fold(1.0_f64, f64::max);
    let mut worst = (0, 0, 0.0_f64);
    for i in 0..n {
        for j in (i + 1)..n {
            let d = (m[[i, j]] - m[[j, i]]).abs();
            if d > worst.2 || d.is_nan() {
                worst = (i, j, d);
            }
        }
    }
    if worst.2 > tol * scale || worst.2.is_nan() {
        Err(CoreError::NotSymmetric {
            field,
            row: worst.0,
            col: worst.1,
            diff: worst.2,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn finite_reports_first_bad_index() {
        let e = check_finite("x", &[1.0, f64::NAN, f64::INFINITY]).unwrap_err();
        assert!(matches!(e, CoreError::NonFinite { index: 1, .. }));
        let e = check_finite("x", &[1.0, f64::NEG_INFINITY]).unwrap_err();
        assert!(matches!(e, CoreError::NonFinite { index: 1, .. }));
        assert!(check_finite("x", &[]).is_ok());
    }

    #[test]
    fn len_and_shape() {
        assert!(matches!(check_len("x", 0, 1), Err(CoreError::EmptyInput { .. })));
        assert!(check_len("x", 2, 2).is_ok());
        assert!(matches!(
            check_square("m", array![[1.0, 2.0]].view()),
            Err(CoreError::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn ranges() {
        assert!(check_probability("p", 1.0).is_ok());
        assert!(check_probability("p", 1.1).is_err());
        assert!(check_probability("p", f64::NAN).is_err());
        assert!(check_open_unit("q", 0.0).is_err());
        assert!(check_open_unit("q", 0.5).is_ok());
        assert!(check_positive("s", 0.0).is_err());
        assert!(check_non_negative("s", 0.0).is_ok());
        assert!(check_non_negative("s", -1e-300).is_err());
    }

    #[test]
    fn timestamps() {
        let t = |d| Timestamp::from_nanos(d);
        assert!(check_strictly_increasing("t", &[t(1), t(2), t(3)]).is_ok());
        assert_eq!(
            check_strictly_increasing("t", &[t(1), t(3), t(3)]),
            Err(CoreError::NotIncreasing { field: "t", index: 2 })
        );
        assert!(check_strictly_increasing("t", &[t(2), t(1)]).is_err());
    }

    #[test]
    fn symmetry() {
        assert!(check_symmetric("m", array![[1.0, 0.5], [0.5, 1.0]].view(), 1e-12).is_ok());
        assert!(check_symmetric("m", array![[1.0, 0.5], [0.4, 1.0]].view(), 1e-12).is_err());
        assert!(check_symmetric("m", array![[1.0, f64::NAN], [0.4, 1.0]].view(), 1e-12).is_err());
    }
}
