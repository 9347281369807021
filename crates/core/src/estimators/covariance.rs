use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::traits::CovarianceEstimator;
use crate::validate::{check_finite, check_finite_2d, check_len, check_range};

fn validate_returns(returns: ArrayView2<'_, f64>, min_rows: usize) -> CoreResult<()> {
    check_len("returns (rows)", returns.nrows(), min_rows)?;
    check_len("returns (columns)", returns.ncols(), 1)?;
    check_finite_2d("returns", returns)
}

/// Sample covariance with `ddof` delta degrees of freedom:
/// `Σ = (X − x̄)ᵀ (X − x̄) / (T − ddof)`.
///
/// `ddof = 1` is the unbiased estimator (numpy's `np.cov` default); `ddof = 0` the maximum
/// likelihood one. Needs `T > ddof` rows.
pub fn sample_covariance(returns: ArrayView2<'_, f64>, ddof: usize) -> CoreResult<Array2<f64>> {
    validate_returns(returns, ddof + 1)?;
    let t = returns.nrows();
    let mean = returns.mean_axis(Axis(0)).ok_or(CoreError::EmptyInput {
        field: "returns",
        len: 0,
        min: 1,
    })?;
    let centered = &returns - &mean;
    let mut cov = centered.t().dot(&centered);
    cov /= (t - ddof) as f64;
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EwmaCovariance {
    lambda: f64,
    sum: Array2<f64>,
    weight: f64,
    count: u64,
}

impl EwmaCovariance {
    /// A new estimator for `n` assets with decay `lambda` in (0, 1).
    pub fn new(n: usize, lambda: f64) -> CoreResult<Self> {
        check_len("n", n, 1)?;
        if !(lambda.is_finite() && lambda > 0.0 && lambda < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "lambda",
                value: lambda,
                expected: "in the open interval (0, 1)",
            });
        }
        Ok(Self {
            lambda,
            sum: Array2::zeros((n, n)),
            weight: 0.0,
            count: 0,
        })
    }

    /// Adds one observation (length n, finite).
    pub fn update(&mut self, r: &[f64]) -> CoreResult<()> {
        let n = self.sum.nrows();
        crate::validate::check_shape("observation", &[n], &[r.len()])?;
        check_finite("observation", r)?;
        let l = self.lambda;
        for i in 0..n {
            let ri = r[i];
            let mut row = self.sum.row_mut(i);
            for (j, s) in row.iter_mut().enumerate() {
                *s = l * *s + ri * r[j];
            }
        }
        self.weight = l * self.weight + 1.0;
        self.count += 1;
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
pub fn ewma_covariance(returns: ArrayView2<'_, f64>, lambda: f64) -> CoreResult<Array2<f64>> {
    validate_returns(returns, 1)?;
    let mut e = EwmaCovariance::new(returns.ncols(), lambda)?;
    let mut buf = vec![0.0; returns.ncols()];
    for row in returns.rows() {
        for (b, v) in buf.iter_mut().zip(row.iter()) {
            *b = *v;
        }
        e.update(&buf)?;
    }
    e.covariance()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedoitWolf {
    /// Skip centering (data already have zero mean).
    pub assume_centered: bool,
}

/// The result of [`ledoit_wolf`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedoitWolfEstimate {
    /// Shrunk covariance.
    pub covariance: Array2<f64>,
    /// Shrinkage intensity ρ ∈ [0, 1].
    pub shrinkage: f64,
    /// Target scale μ = tr(S)/n.
    pub mu: f64,
}

/// Ledoit–Wolf shrunk covariance (see [`LedoitWolf`]). Needs at least 2 rows.
pub fn ledoit_wolf(returns: ArrayView2<'_, f64>, assume_centered: bool) -> CoreResult<LedoitWolfEstimate> {
    validate_returns(returns, 2)?;
    let (t, n) = returns.dim();
    let x: Array2<f64> = if assume_centered {
        returns.to_owned()
    } else {
        let mean = returns.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(n));
        &returns - &mean
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
    let shrinkage = if beta == 0.0 { 0.0 } else { beta / delta };
    let mut cov = xtx / tf;
    cov *= 1.0 - shrinkage;
    for i in 0..n {
        cov[[i, i]] += shrinkage * mu;
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

    #[test]
    fn ledoit_wolf_shrinkage_in_unit_interval_and_target_on_identity_data() {
        // Perfectly spherical design: S = mu I, delta = 0 -> beta = 0 -> no shrinkage.
        let x = array![[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        let lw = ledoit_wolf(x.view(), true).unwrap();
        assert_eq!(lw.shrinkage, 0.0);
        assert!((lw.covariance[[0, 0]] - 0.5).abs() < 1e-15);
    }
}
