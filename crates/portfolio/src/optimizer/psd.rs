//! The covariance under the PSD policy: a check of the smallest eigenvalue, then rejection
//! or repair to the nearest positive semidefinite matrix.

use ndarray::{Array2, ArrayView2};
use prudentia_core::error::CoreError;
use prudentia_core::estimators::nearest_psd;
use prudentia_core::linalg::symmetric_eigen;

use crate::config::PsdPolicy;
use crate::error::PortfolioError;
use crate::problem::CovarianceModel;
use crate::result::PsdReport;

/// Smallest eigenvalue check: PSD within a tolerance relative to the largest diagonal.
fn psd_check(m: ArrayView2<'_, f64>) -> Result<Option<f64>, PortfolioError> {
    let n = m.nrows();
    if n == 0 {
        return Ok(None);
    }
    let scale = (0..n)
        .map(|i| m[[i, i]].abs())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    // column-major, as read by the factorization (`prudentia_core::linalg::cholesky`'s
    // kernel, without its copy of the factor): the same verdict
    let mut shifted = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            shifted[i + j * n] = m[[i, j]];
        }
        shifted[j + j * n] += 1e-10 * scale;
    }
    let mut llt = crate::dense_qp::DenseLlt::new(n);
    if llt.factor(&shifted) && llt.factor_is_finite() {
        return Ok(None);
    }
    let (vals, _) = symmetric_eigen(m)?;
    let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
    if min >= -1e-10 * scale {
        Ok(None)
    } else {
        Ok(Some(min))
    }
}

fn repair(
    field: &'static str,
    m: &Array2<f64>,
    policy: PsdPolicy,
) -> Result<Option<(Array2<f64>, PsdReport)>, PortfolioError> {
    let Some(min) = psd_check(m.view())? else {
        return Ok(None);
    };
    match policy {
        PsdPolicy::Reject => Err(CoreError::NotPositiveSemiDefinite {
            field,
            min_eigenvalue: min,
        }
        .into()),
        PsdPolicy::Repair { min_eigenvalue } => {
            let rep = nearest_psd(m.view(), min_eigenvalue)?;
            Ok(Some((
                rep.matrix,
                PsdReport {
                    min_eigenvalue_before: rep.min_eigenvalue_before,
                    clipped: rep.clipped,
                    frobenius_change: rep.frobenius_change,
                },
            )))
        }
    }
}

/// The covariance after the PSD policy, and the repair report if it was repaired.
pub(super) fn resolve_covariance(
    cov: Option<&CovarianceModel>,
    policy: PsdPolicy,
) -> Result<(Option<CovarianceModel>, Option<PsdReport>), PortfolioError> {
    match cov {
        None => Ok((None, None)),
        Some(CovarianceModel::Full(s)) => match repair("covariance", s, policy)? {
            Some((m, r)) => Ok((Some(CovarianceModel::Full(m)), Some(r))),
            None => Ok((None, None)),
        },
        Some(CovarianceModel::Factor {
            loadings,
            factor_covariance,
            specific,
        }) => match repair("factor_covariance", factor_covariance, policy)? {
            Some((m, r)) => Ok((
                Some(CovarianceModel::Factor {
                    loadings: loadings.clone(),
                    factor_covariance: m,
                    specific: specific.clone(),
                }),
                Some(r),
            )),
            None => Ok((None, None)),
        },
    }
}
