//! A single piecewise-stationary Gaussian stream with known change points, for change-point
//! and drift detectors.

use prudentia_core::CoreError;

use crate::error::DatasetResult;
use crate::synthetic::{seeded_rng, std_normal};

/// One segment of a [`piecewise_stream`]: `len` observations drawn from `N(mean, sd²)`.
pub type Segment = (usize, f64, f64);

/// Concatenates Gaussian segments `(len, mean, sd)`: `x_t = mean_k + sd_k · ε_t`,
/// `ε_t ~ N(0, 1)` from `ChaCha8Rng::seed_from_u64(seed)`. Returns the stream and its change
/// points: the start index of every segment after the first (so `segments.len() − 1` of them,
/// even if two neighbours happen to share parameters).
///
/// ```
/// let (x, cps) = prudentia_datasets::piecewise_stream(&[(100, 0.0, 1.0), (50, 3.0, 1.0)], 1)?;
/// assert_eq!((x.len(), cps), (150, vec![100]));
/// # Ok::<(), prudentia_datasets::DatasetError>(())
/// ```
///
/// # Errors
/// [`CoreError::EmptyInput`] for no segment or a segment of length 0;
/// [`CoreError::TooLarge`] if the total length exceeds
/// [`MAX_WINDOW`](prudentia_core::validate::MAX_WINDOW);
/// [`CoreError::NonFinite`] for a non-finite mean; [`CoreError::OutOfRange`] for a
/// negative or non-finite sd, or a mean and sd so large that a draw overflows.
pub fn piecewise_stream(segments: &[Segment], seed: u64) -> DatasetResult<(Vec<f64>, Vec<usize>)> {
    use prudentia_core::validate::{check_size, MAX_WINDOW};
    prudentia_core::validate::check_len("segments", segments.len(), 1)?;
    let total = segments.iter().fold(0usize, |acc, s| acc.saturating_add(s.0));
    check_size("total stream length", total, MAX_WINDOW)?;
    for &(len, mean, sd) in segments {
        prudentia_core::validate::check_len("segment length", len, 1)?;
        if !mean.is_finite() {
            return Err(CoreError::NonFinite {
                field: "segment mean",
                index: 0,
                value: mean,
            }
            .into());
        }
        prudentia_core::validate::check_non_negative("segment sd", sd)?;
    }
    let mut rng = seeded_rng(seed);
    let mut x = Vec::with_capacity(total);
    let mut cps = Vec::with_capacity(segments.len() - 1);
    for (k, &(len, mean, sd)) in segments.iter().enumerate() {
        if k > 0 {
            cps.push(x.len());
        }
        for _ in 0..len {
            x.push(mean + sd * std_normal(&mut rng));
        }
    }
    if let Some(&v) = x.iter().find(|v| !v.is_finite()) {
        return Err(CoreError::OutOfRange {
            field: "segment mean / sd",
            value: v,
            expected: "a mean and sd whose draws stay finite",
        }
        .into());
    }
    Ok((x, cps))
}
