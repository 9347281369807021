//! Batch robust statistics: median, MAD and MAD z-scores of a sample.

use prudentia_core::validate::check_len;

use crate::error::DefenseResult;
use crate::validator::MAD_SCALE;

/// `(median, MAD)` of a non-empty, finite sample with magnitudes of at most
/// [`MAX_MAGNITUDE`](crate::MAX_MAGNITUDE) (a typed error otherwise), with
/// `MAD = median_i |x_i − median|` (even counts average the two middle values).
pub fn median_mad(sample: &[f64]) -> DefenseResult<(f64, f64)> {
    check_len("sample", sample.len(), 1)?;
    crate::check_magnitude("sample", sample)?;
    let mut s = sample.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let med = median_sorted(&s);
    let mut d: Vec<f64> = s.iter().map(|x| (x - med).abs()).collect();
    d.sort_unstable_by(f64::total_cmp);
    Ok((med, median_sorted(&d)))
}

fn median_sorted(s: &[f64]) -> f64 {
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// MAD z-scores `z_i = (x_i − median) / (1.4826 · MAD)` of every value of a sample against the
/// sample itself (a batch, non-causal check; the streaming validators use a trailing window).
/// A zero MAD gives `±∞` for values off the median and 0 on it.
pub fn mad_zscores(sample: &[f64]) -> DefenseResult<Vec<f64>> {
    let (med, mad) = median_mad(sample)?;
    let scale = MAD_SCALE * mad;
    Ok(sample
        .iter()
        .map(|x| {
            let d = x - med;
            if scale > 0.0 {
                d / scale
            } else if d == 0.0 {
                0.0
            } else {
                d.signum() * f64::INFINITY
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // median 3, |x − 3| = 2, 1, 0, 1, 97 → MAD 1.
        let x = [1.0, 2.0, 3.0, 4.0, 100.0];
        assert_eq!(median_mad(&x).unwrap(), (3.0, 1.0));
        let z = mad_zscores(&x).unwrap();
        assert!((z[4] - 97.0 / MAD_SCALE).abs() < 1e-12);
        assert_eq!(
            mad_zscores(&[2.0, 2.0, 5.0]).unwrap(),
            vec![0.0, 0.0, f64::INFINITY]
        );
        assert!(median_mad(&[]).is_err());
        assert!(mad_zscores(&[f64::NAN]).is_err());
    }
}
