use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::traits::CovarianceEstimator;
use crate::validate::{
    check_elements, check_finite, check_finite_2d, check_len, check_range, check_size, MAX_DIM, MAX_ELEMENTS,
};

fn validate_returns(returns: ArrayView2<'_, f64>, min_rows: usize) -> CoreResult<()> {
    check_len("returns (rows)", returns.nrows(), min_rows)?;
    check_len("returns (columns)", returns.ncols(), 1)?;
    check_size("returns (columns)", returns.ncols(), MAX_DIM)?;
    check_finite_2d("returns", returns)
}

/// A power of two `s` with `max|x| / s` in `[0.5, 1)` (1 for all-zero data), clamped to
/// `2^±1000` so that `s` and `1/s` are finite normal numbers. Scaling by a power of two is
/// exact, so estimates computed on `x / s` and scaled back equal the unscaled ones to the
/// last bit whenever the unscaled computation does not overflow or underflow.
fn power_of_two_scale(returns: ArrayView2<'_, f64>) -> f64 {
    let max = returns.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        return 1.0;
    }
    let e = (max.log2().floor() as i32 + 1).clamp(-1000, 1000);
    2f64.powi(e)
}

/// Multiplies a covariance computed on `x / s` back by `s²` (as `(v·s)·s`, so `s²` itself
/// never overflows), failing with [`CoreError::OutOfRange`] on `returns` if the result does
/// not fit in an `f64`.
fn scale_back(cov: &mut Array2<f64>, s: f64, max_abs: f64) -> CoreResult<()> {
    if s != 1.0 {
        cov.mapv_inplace(|v| (v * s) * s);
    }
    if cov.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field: "returns",
            value: max_abs,
            expected: "values small enough that their covariance is finite (|x| ≲ 1e154)",
        })
    }
}

fn max_abs(returns: ArrayView2<'_, f64>) -> f64 {
    returns.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
}

/// Sample covariance with `ddof` delta degrees of freedom:
/// `Σ = (X − x̄)ᵀ (X − x̄) / (T − ddof)`.
///
/// `ddof = 1` is the unbiased estimator (numpy's `np.cov` default); `ddof = 0` the maximum
/// likelihood one. Needs `T > ddof` rows.
///
/// The data are scaled by a power of two before the products are formed (exact), so data
/// at 1e150 or 1e-150 scale give the right answer; a covariance too large for an `f64` is
/// [`CoreError::OutOfRange`] on `returns`, never an infinity.
pub fn sample_covariance(returns: ArrayView2<'_, f64>, ddof: usize) -> CoreResult<Array2<f64>> {
    validate_returns(returns, ddof.saturating_add(1))?;
    let t = returns.nrows();
    let s = power_of_two_scale(returns);
    let x = returns.mapv(|v| v / s);
    let mean = x.mean_axis(Axis(0)).ok_or(CoreError::EmptyInput {
        field: "returns",
        len: 0,
        min: 1,
    })?;
    let centered = &x - &mean;
    let mut cov = centered.t().dot(&centered);
    cov /= (t - ddof) as f64;
    scale_back(&mut cov, s, max_abs(returns))?;
    Ok(cov)
}

/// [`sample_covariance`] as a [`CovarianceEstimator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleCovariance {
    /// Delta degrees of freedom (default 1).
    pub ddof: usize,
}

impl Default for SampleCovariance {
    fn default() -> Self {
        Self { ddof: 1 }
    }
}

impl CovarianceEstimator for SampleCovariance {
    fn estimate(&self, returns: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
        sample_covariance(returns, self.ddof)
    }
}

/// Exponentially weighted covariance (RiskMetrics-style, zero mean, weight-normalized).
///
/// With decay `λ ∈ (0, 1)`, after observations `r_1 … r_t`:
/// `S_t = λ S_{t−1} + r_t r_tᵀ`, `W_t = λ W_{t−1} + 1`, `Σ_t = S_t / W_t`,
/// i.e. the weighted average of outer products with weights `λ^{t−s}` normalized to sum to
/// one, so early estimates are not biased toward zero. RiskMetrics (1996) uses λ = 0.94
/// for daily data. Returns are assumed to have zero mean, as in RiskMetrics.
///
/// Each [`update`](EwmaCovariance::update) is O(n²) and allocation-free.
///
/// Observations are limited to `|r| ≤ sqrt(f64::MAX · (1 − λ) / 4)` (about 3e153 at
/// λ = 0.94; [`EwmaCovariance::max_abs_observation`]) so that the running sums can never
/// overflow; [`ewma_covariance`] rescales internally and has no such limit. Deserialization
/// checks λ, the shape and finiteness of the sums, and a weight consistent with the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct EwmaCovariance {
    lambda: f64,
    sum: Array2<f64>,
    weight: f64,
    count: u64,
}
crate::checked_serde!(EwmaCovariance, EwmaCovariance::check);

fn check_lambda(lambda: f64) -> CoreResult<()> {
    if lambda.is_finite() && lambda > 0.0 && lambda < 1.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field: "lambda",
            value: lambda,
            expected: "in the open interval (0, 1)",
        })
    }
}

impl EwmaCovariance {
    /// A new estimator for `n` assets (`1 ≤ n ≤` [`MAX_DIM`]) with decay `lambda` in (0, 1).
    pub fn new(n: usize, lambda: f64) -> CoreResult<Self> {
        check_len("n", n, 1)?;
        check_size("n", n, MAX_DIM)?;
        check_elements("n × n", &[n, n], MAX_ELEMENTS)?;
        check_lambda(lambda)?;
        Ok(Self {
            lambda,
            sum: Array2::zeros((n, n)),
            weight: 0.0,
            count: 0,
        })
    }

    /// The largest `|r_i|` [`update`](Self::update) accepts: `sqrt(f64::MAX · (1 − λ) / 4)`.
    pub fn max_abs_observation(&self) -> f64 {
        (f64::MAX * (1.0 - self.lambda) / 4.0).sqrt()
    }

    fn check(&mut self) -> CoreResult<()> {
        check_lambda(self.lambda)?;
        let n = crate::validate::check_square("sum", self.sum.view())?;
        check_len("n", n, 1)?;
        check_size("n", n, MAX_DIM)?;
        check_finite_2d("sum", self.sum.view())?;
        let max_weight = 1.0 / (1.0 - self.lambda) + 1e-6;
        let weight_ok = if self.count == 0 {
            self.weight == 0.0 && self.sum.iter().all(|&v| v == 0.0)
        } else {
            self.weight.is_finite() && self.weight >= 1.0 && self.weight <= max_weight
        };
        if self.sum.iter().any(|v| v.abs() > f64::MAX / 4.0) {
            return Err(CoreError::OutOfRange {
                field: "sum",
                value: f64::MAX,
                expected: "|sum| <= f64::MAX / 4 (the bound updates keep)",
            });
        }
        if !weight_ok {
            return Err(CoreError::OutOfRange {
                field: "weight",
                value: self.weight,
                expected: "0 with empty sums before any observation, else in [1, 1/(1 − λ)]",
            });
        }
        Ok(())
    }

    /// Adds one observation (length n, finite, `|r_i| ≤`
    /// [`max_abs_observation`](Self::max_abs_observation)). A rejected observation changes
    /// nothing.
    pub fn update(&mut self, r: &[f64]) -> CoreResult<()> {
        let n = self.sum.nrows();
        crate::validate::check_shape("observation", &[n], &[r.len()])?;
        check_finite("observation", r)?;
        let limit = self.max_abs_observation();
        if let Some(&big) = r.iter().find(|v| v.abs() > limit) {
            return Err(CoreError::OutOfRange {
                field: "observation",
                value: big,
                expected: "|r| <= sqrt(f64::MAX (1 - lambda) / 4)",
            });
        }
        let l = self.lambda;
        for i in 0..n {
            let ri = r[i];
            let mut row = self.sum.row_mut(i);
            for (j, s) in row.iter_mut().enumerate() {
                *s = l * *s + ri * r[j];
            }
        }
        self.weight = l * self.weight + 1.0;
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// Number of observations seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The current covariance estimate; an error before the first observation.
    pub fn covariance(&self) -> CoreResult<Array2<f64>> {
        if self.count == 0 {
            return Err(CoreError::EmptyInput {
                field: "observations",
                len: 0,
                min: 1,
            });
        }
        Ok(&self.sum / self.weight)
    }
}

/// Batch [`EwmaCovariance`] over the rows of `returns`.
///
/// Computed on the data scaled by a power of two (exact) and scaled back, so any finite
/// data work; a covariance too large for an `f64` is [`CoreError::OutOfRange`] on
/// `returns`.
pub fn ewma_covariance(returns: ArrayView2<'_, f64>, lambda: f64) -> CoreResult<Array2<f64>> {
    validate_returns(returns, 1)?;
    let mut e = EwmaCovariance::new(returns.ncols(), lambda)?;
    let s = power_of_two_scale(returns);
    let mut buf = vec![0.0; returns.ncols()];
    for row in returns.rows() {
        for (b, v) in buf.iter_mut().zip(row.iter()) {
            *b = *v / s;
        }
        e.update(&buf)?;
    }
    let mut cov = e.covariance()?;
    scale_back(&mut cov, s, max_abs(returns))?;
    Ok(cov)
}

/// Ledoit–Wolf shrinkage toward a scaled identity.
///
/// Ledoit & Wolf (2004), "A well-conditioned estimator for large-dimensional covariance
/// matrices", J. Multivariate Analysis 88, Lemma 3.2 / Theorem 3.1 with the finite-sample
/// estimators of section 3.3, in the form scikit-learn's `LedoitWolf` computes:
///
/// with `S = XᵀX / T` (X centered unless `assume_centered`), `μ = tr(S)/n`,
/// `δ² = ‖S − μI‖²_F / n`, `β̄² = (1/(nT²)) Σ_t ‖x_t x_tᵀ − S‖²_F`, `β² = min(β̄², δ²)`,
/// shrinkage `ρ = β²/δ²` and `Σ̂ = (1 − ρ) S + ρ μ I`.
///
/// Agrees with scikit-learn 1.x `LedoitWolf` (shrinkage and covariance) on the fixture in
/// `tests/fixtures/ledoit_wolf.json`.
///
/// Computed on the data scaled by a power of two (exact; the shrinkage is scale-free), so
/// data at 1e150 scale work; a covariance too large for an `f64` is
/// [`CoreError::OutOfRange`] on `returns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedoitWolf {
    /// Skip centering (data already have zero mean).
    pub assume_centered: bool,
}

/// The result of [`ledoit_wolf`].
///
/// Deserialization checks a square, finite covariance, shrinkage in [0, 1] and μ finite
/// and ≥ 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct LedoitWolfEstimate {
    /// Shrunk covariance.
    pub covariance: Array2<f64>,
    /// Shrinkage intensity ρ ∈ [0, 1].
    pub shrinkage: f64,
    /// Target scale μ = tr(S)/n.
    pub mu: f64,
}
crate::checked_serde!(LedoitWolfEstimate, LedoitWolfEstimate::check);

impl LedoitWolfEstimate {
    fn check(&mut self) -> CoreResult<()> {
        crate::validate::check_square("covariance", self.covariance.view())?;
        check_finite_2d("covariance", self.covariance.view())?;
        crate::validate::check_probability("shrinkage", self.shrinkage)?;
        crate::validate::check_non_negative("mu", self.mu)
    }
}

/// Ledoit–Wolf shrunk covariance (see [`LedoitWolf`]). Needs at least 2 rows.
pub fn ledoit_wolf(returns: ArrayView2<'_, f64>, assume_centered: bool) -> CoreResult<LedoitWolfEstimate> {
    validate_returns(returns, 2)?;
    let (t, n) = returns.dim();
    let s = power_of_two_scale(returns);
    let scaled = returns.mapv(|v| v / s);
    let x: Array2<f64> = if assume_centered {
        scaled
    } else {
        let mean = scaled.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(n));
        &scaled - &mean
    };
    let tf = t as f64;
    let nf = n as f64;
    let x2 = x.mapv(|v| v * v);
    let emp_cov_diag: Array1<f64> = x2.sum_axis(Axis(0)) / tf;
    let mu = emp_cov_diag.sum() / nf;
    let xtx = x.t().dot(&x);
    let x2tx2 = x2.t().dot(&x2);
    let beta_raw = x2tx2.sum();
    let delta_raw = xtx.iter().map(|v| v * v).sum::<f64>() / (tf * tf);
    let mut beta = (beta_raw / tf - delta_raw) / (nf * tf);
    let mut delta = delta_raw - 2.0 * mu * emp_cov_diag.sum() + nf * mu * mu;
    delta /= nf;
    beta = beta.min(delta);
    // As scikit-learn (`0 if beta == 0 else beta / delta`), guarded against rounding: a
    // non-positive δ² (spherical data) or a β² rounded below 0 means no shrinkage.
    let shrinkage = if beta <= 0.0 || delta <= 0.0 {
        0.0
    } else {
        (beta / delta).clamp(0.0, 1.0)
    };
    let mut cov = xtx / tf;
    cov *= 1.0 - shrinkage;
    for i in 0..n {
        cov[[i, i]] += shrinkage * mu;
    }
    scale_back(&mut cov, s, max_abs(returns))?;
    let mu = (mu * s) * s;
    if !mu.is_finite() {
        return Err(CoreError::OutOfRange {
            field: "returns",
            value: max_abs(returns),
            expected: "values small enough that their covariance is finite (|x| ≲ 1e154)",
        });
    }
    Ok(LedoitWolfEstimate {
        covariance: cov,
        shrinkage,
        mu,
    })
}

impl CovarianceEstimator for LedoitWolf {
    fn estimate(&self, returns: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
        Ok(ledoit_wolf(returns, self.assume_centered)?.covariance)
    }
}

/// Validates an EWMA decay given as a half-life in observations and converts it to λ.
pub fn lambda_from_half_life(half_life: f64) -> CoreResult<f64> {
    check_range(
        "half_life",
        half_life,
        f64::MIN_POSITIVE,
        f64::MAX,
        "finite and > 0",
    )?;
    Ok(0.5_f64.powf(1.0 / half_life))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sample_covariance_matches_hand_computation() {
        let x = array![[1.0, 2.0], [2.0, 4.0], [3.0, 7.0]];
        let c = sample_covariance(x.view(), 1).unwrap();
        // var(x1) = 1, var(x2) = 6.333.., cov = 2.5
        assert!((c[[0, 0]] - 1.0).abs() < 1e-12);
        assert!((c[[1, 1]] - 19.0 / 3.0).abs() < 1e-12);
        assert!((c[[0, 1]] - 2.5).abs() < 1e-12);
        assert!(sample_covariance(x.slice(ndarray::s![..1, ..]), 1).is_err());
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let e = Array2::<f64>::zeros((0, 3));
        assert!(matches!(
            sample_covariance(e.view(), 1),
            Err(CoreError::EmptyInput { .. })
        ));
        assert!(matches!(
            ledoit_wolf(e.view(), false),
            Err(CoreError::EmptyInput { .. })
        ));
        let nan = array![[1.0, f64::NAN], [2.0, 1.0]];
        assert!(matches!(
            ledoit_wolf(nan.view(), false),
            Err(CoreError::NonFinite { .. })
        ));
        assert!(matches!(
            ewma_covariance(nan.view(), 0.94),
            Err(CoreError::NonFinite { .. })
        ));
        assert!(EwmaCovariance::new(2, 1.0).is_err());
        assert!(EwmaCovariance::new(2, f64::NAN).is_err());
        let mut e = EwmaCovariance::new(2, 0.9).unwrap();
        assert!(e.covariance().is_err());
        assert!(matches!(e.update(&[1.0]), Err(CoreError::ShapeMismatch { .. })));
        assert!(lambda_from_half_life(0.0).is_err());
    }

    #[test]
    fn ewma_equals_explicit_weighted_average() {
        let x = array![[0.01, -0.02], [0.03, 0.01], [-0.01, 0.02], [0.02, 0.0]];
        let lambda = 0.8;
        let c = ewma_covariance(x.view(), lambda).unwrap();
        let t = x.nrows();
        let mut num = Array2::<f64>::zeros((2, 2));
        let mut den = 0.0;
        for (s, row) in x.rows().into_iter().enumerate() {
            let w = lambda.powi((t - 1 - s) as i32);
            den += w;
            for i in 0..2 {
                for j in 0..2 {
                    num[[i, j]] += w * row[i] * row[j];
                }
            }
        }
        for (a, b) in c.iter().zip((num / den).iter()) {
            assert!((a - b).abs() < 1e-15);
        }
        assert!((lambda_from_half_life(1.0).unwrap() - 0.5).abs() < 1e-15);
    }

    fn wiggly(t: usize, n: usize) -> Array2<f64> {
        Array2::from_shape_fn((t, n), |(i, j)| {
            ((i * 7 + j * 3) as f64).sin() * 0.01 + 0.001 * j as f64
        })
    }

    #[test]
    fn estimators_at_1e150_scale_are_finite_and_scale_exactly() {
        let x = wiggly(40, 4);
        let big = &x * 1e150;
        let lw = ledoit_wolf(x.view(), false).unwrap();
        let lwb = ledoit_wolf(big.view(), false).unwrap();
        assert!(lwb.covariance.iter().all(|v| v.is_finite()) && lwb.mu.is_finite());
        assert!((lw.shrinkage - lwb.shrinkage).abs() < 1e-12);
        for (a, b) in lw.covariance.iter().zip(lwb.covariance.iter()) {
            assert!((a * 1e300 - b).abs() <= 1e-9 * b.abs().max(1e290), "{a} vs {b}");
        }
        let s = sample_covariance(big.view(), 1).unwrap();
        let s0 = sample_covariance(x.view(), 1).unwrap();
        for (a, b) in s0.iter().zip(s.iter()) {
            assert!(b.is_finite() && (a * 1e300 - b).abs() <= 1e-9 * b.abs().max(1e290));
        }
        let e = ewma_covariance(big.view(), 0.94).unwrap();
        assert!(e.iter().all(|v| v.is_finite()));
        // Tiny data: no underflow to a wrong sign or NaN.
        let tiny = &x * 1e-150;
        assert!(ledoit_wolf(tiny.view(), false)
            .unwrap()
            .covariance
            .iter()
            .all(|v| v.is_finite()));
        // 1e300 data: the covariance does not fit in an f64, a typed error.
        let huge = &x * 1e300;
        assert!(matches!(
            ledoit_wolf(huge.view(), false),
            Err(CoreError::OutOfRange { .. })
        ));
        assert!(matches!(
            sample_covariance(huge.view(), 1),
            Err(CoreError::OutOfRange { .. })
        ));
        assert!(matches!(
            ewma_covariance(huge.view(), 0.94),
            Err(CoreError::OutOfRange { .. })
        ));
        let mut m = Array2::from_elem((3, 2), f64::MAX);
        m[[1, 0]] = -f64::MAX;
        assert!(ledoit_wolf(m.view(), false).is_err());
    }

    #[test]
    fn absurd_sizes_and_ddof_are_typed_errors() {
        assert!(matches!(
            EwmaCovariance::new(usize::MAX, 0.9),
            Err(CoreError::TooLarge { .. })
        ));
        assert!(matches!(
            EwmaCovariance::new(1 << 40, 0.9),
            Err(CoreError::TooLarge { .. })
        ));
        let x = wiggly(5, 2);
        assert!(matches!(
            sample_covariance(x.view(), usize::MAX),
            Err(CoreError::EmptyInput { .. })
        ));
    }

    #[test]
    fn ewma_checkpoint_is_validated_and_counter_saturates() {
        let mut e = EwmaCovariance::new(2, 0.9).unwrap();
        e.update(&[0.01, -0.02]).unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<EwmaCovariance>(&json).unwrap(), e);
        for (field, value) in [
            ("lambda", serde_json::json!(1.0)),
            ("weight", serde_json::json!(0.0)),
            ("weight", serde_json::json!(1e9)),
            ("count", serde_json::json!(0)),
        ] {
            let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
            v[field] = value;
            assert!(serde_json::from_value::<EwmaCovariance>(v).is_err(), "{field}");
        }
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["count"] = serde_json::json!(u64::MAX);
        let mut full: EwmaCovariance = serde_json::from_value(v).unwrap();
        full.update(&[0.0, 0.0]).unwrap();
        assert_eq!(full.count(), u64::MAX);
        // An observation that would overflow the sums is refused and changes nothing.
        let before = e.clone();
        assert!(e.update(&[1e300, 0.0]).is_err());
        assert_eq!(e, before);
    }

    #[test]
    fn ledoit_wolf_shrinkage_in_unit_interval_and_target_on_identity_data() {
        // Perfectly spherical design: S = mu I, delta = 0 -> beta = 0 -> no shrinkage.
        let x = array![[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        let lw = ledoit_wolf(x.view(), true).unwrap();
        assert_eq!(lw.shrinkage, 0.0);
        assert!((lw.covariance[[0, 0]] - 0.5).abs() < 1e-15);
    }
}
