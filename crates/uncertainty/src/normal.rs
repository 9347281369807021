//! The standard Normal distribution (from [`prudentia_core::normal`]): density, CDF and
//! quantile function to near machine precision (CDF through `libm::erfc`; quantile by
//! Acklam's rational approximation refined by one Halley step).

pub use prudentia_core::normal::{cdf, pdf};

/// Standard Normal quantile Φ⁻¹(p) for p in (0, 1); ±∞ at 0 and 1, NaN outside
/// ([`prudentia_core::normal::quantile`] under SciPy's name).
pub fn ppf(p: f64) -> f64 {
    prudentia_core::normal::quantile(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Closed-form / tabulated values.
        assert!((cdf(0.0) - 0.5).abs() < 1e-16);
        assert!((cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
        assert!((ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((ppf(0.1) + 1.281_551_565_544_600_5).abs() < 1e-12);
        for &p in &[1e-10, 0.001, 0.02, 0.3, 0.5, 0.77, 0.99, 1.0 - 1e-9] {
            assert!((cdf(ppf(p)) - p).abs() < 1e-13 * p.max(1e-3), "p={p}");
        }
        assert!(ppf(1.5).is_nan());
    }
}
