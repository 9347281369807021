use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::linalg::symmetric_eigen;
use crate::validate::{check_finite_2d, check_square, check_symmetric};

/// What a PSD repair did.
///
/// Deserialization checks a square, finite matrix and finite, non-negative change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PsdRepair {
    /// The repaired matrix.
    pub matrix: Array2<f64>,
    /// Whether anything changed beyond rounding.
    pub changed: bool,
    /// Frobenius norm of the change, ‖repaired − input‖_F.
    pub frobenius_change: f64,
    /// Smallest eigenvalue of the input.
    pub min_eigenvalue_before: f64,
    /// Number of eigenvalues raised to the floor.
    pub clipped: usize,
    /// Iterations used (1 for eigenvalue clipping).
    pub iterations: usize,
}
crate::checked_serde!(PsdRepair, PsdRepair::check);

impl PsdRepair {
    fn check(&mut self) -> CoreResult<()> {
        check_square("matrix", self.matrix.view())?;
        check_finite_2d("matrix", self.matrix.view())?;
        crate::validate::check_non_negative("frobenius_change", self.frobenius_change)?;
        crate::validate::check_finite("min_eigenvalue_before", &[self.min_eigenvalue_before])
    }

    /// A repair whose numbers overflowed (input near `f64::MAX`) is an error, never an
    /// infinity in an `Ok`.
    fn finite(self) -> CoreResult<Self> {
        let ok = self.matrix.iter().all(|v| v.is_finite())
            && self.frobenius_change.is_finite()
            && self.min_eigenvalue_before.is_finite();
        if ok {
            Ok(self)
        } else {
            Err(CoreError::Numerical {
                operation: "PSD repair",
                detail: "the result overflows (entries too large)",
            })
        }
    }
}

fn frobenius_diff(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn clip_eigen(a: ArrayView2<'_, f64>, floor: f64) -> CoreResult<(Array2<f64>, f64, usize)> {
    let (vals, vecs) = symmetric_eigen(a)?;
    let min_before = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let clipped = vals.iter().filter(|&&v| v < floor).count();
    if clipped == 0 {
        return Ok((a.to_owned(), min_before, 0));
    }
    let d = vals.mapv(|v| v.max(floor));
    let scaled = &vecs * &d; // columns scaled by eigenvalues
    let mut out = scaled.dot(&vecs.t());
    // enforce exact symmetry
    let n = out.nrows();
    for i in 0..n {
        for j in (i + 1)..n {
            let m = 0.5 * (out[[i, j]] + out[[j, i]]);
            out[[i, j]] = m;
            out[[j, i]] = m;
        }
    }
    Ok((out, min_before, clipped))
}

/// Nearest symmetric positive semi-definite matrix in the Frobenius norm, with eigenvalues
/// floored at `min_eigenvalue ≥ 0`.
///
/// For a symmetric `A = Q Λ Qᵀ` the Frobenius-nearest PSD matrix is `Q max(Λ, 0) Qᵀ`
/// (Higham 1988, "Computing a nearest symmetric positive semidefinite matrix"); a positive
/// floor gives a strictly positive-definite result. The input must be symmetric (to 1e-10
/// relative); an asymmetric matrix is an error rather than silently symmetrized.
pub fn nearest_psd(a: ArrayView2<'_, f64>, min_eigenvalue: f64) -> CoreResult<PsdRepair> {
    check_square("matrix", a)?;
    check_finite_2d("matrix", a)?;
    crate::validate::check_non_negative("min_eigenvalue", min_eigenvalue)?;
    check_symmetric("matrix", a, 1e-10)?;
    let (m, min_before, clipped) = clip_eigen(a, min_eigenvalue)?;
    let change = frobenius_diff(m.view(), a);
    PsdRepair {
        matrix: m,
        changed: clipped > 0,
        frobenius_change: change,
        min_eigenvalue_before: min_before,
        clipped,
        iterations: 1,
    }
    .finite()
}

/// The largest `max_iterations` of [`NearestCorrelationConfig`] (100,000).
pub const MAX_NEAREST_CORRELATION_ITERATIONS: usize = 100_000;

/// Settings of [`nearest_correlation`]. Deserialization runs [`validate`](Self::validate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct NearestCorrelationConfig {
    /// Stop when successive iterates differ by less than this (Frobenius, relative). Default 1e-10.
    pub tolerance: f64,
    /// Iteration limit. Default 1000, in `1 ..=`
    /// [`MAX_NEAREST_CORRELATION_ITERATIONS`] ([`CoreError::TooLarge`] beyond).
    pub max_iterations: usize,
    /// Eigenvalue floor of the result (≥ 0). Default 0.
    pub min_eigenvalue: f64,
}

impl Default for NearestCorrelationConfig {
    fn default() -> Self {
        Self {
            tolerance: 1e-10,
            max_iterations: 1000,
            min_eigenvalue: 0.0,
        }
    }
}

crate::checked_serde!(NearestCorrelationConfig, NearestCorrelationConfig::check);

impl NearestCorrelationConfig {
    fn check(&mut self) -> CoreResult<()> {
        self.validate()
    }

    /// Checks every field.
    pub fn validate(&self) -> CoreResult<()> {
        crate::validate::check_positive("tolerance", self.tolerance)?;
        crate::validate::check_len("max_iterations", self.max_iterations, 1)?;
        crate::validate::check_size(
            "max_iterations",
            self.max_iterations,
            MAX_NEAREST_CORRELATION_ITERATIONS,
        )?;
        crate::validate::check_range("min_eigenvalue", self.min_eigenvalue, 0.0, 1.0, "in [0, 1)")?;
        if self.min_eigenvalue >= 1.0 {
            return Err(CoreError::OutOfRange {
                field: "min_eigenvalue",
                value: self.min_eigenvalue,
                expected: "in [0, 1)",
            });
        }
        Ok(())
    }
}

/// Nearest correlation matrix (unit diagonal, PSD) in the Frobenius norm, by Higham's (2002)
/// alternating projections with Dykstra's correction ("Computing the nearest correlation
/// matrix — a problem from finance", IMA J. Numer. Anal. 22, Algorithm 3.3, W = I).
///
/// Iterates `R = Y − ΔS`, `X = P_S(R)` (PSD projection), `ΔS = X − R`, `Y = P_U(X)`
/// (unit diagonal) until the iterates settle. Reaching the iteration limit is reported in
/// `iterations` (equal to the limit), not as an error.
pub fn nearest_correlation(
    a: ArrayView2<'_, f64>,
    config: &NearestCorrelationConfig,
) -> CoreResult<PsdRepair> {
    config.validate()?;
    let n = check_square("matrix", a)?;
    check_finite_2d("matrix", a)?;
    check_symmetric("matrix", a, 1e-10)?;
    let (vals, _) = symmetric_eigen(a)?;
    let min_before = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let unit_diag = (0..n).all(|i| (a[[i, i]] - 1.0).abs() <= 1e-12);
    if unit_diag && min_before >= config.min_eigenvalue {
        return PsdRepair {
            matrix: a.to_owned(),
            changed: false,
            frobenius_change: 0.0,
            min_eigenvalue_before: min_before,
            clipped: 0,
            iterations: 0,
        }
        .finite();
    }
    let mut y = a.to_owned();
    let mut ds = Array2::<f64>::zeros((n, n));
    let mut x = y.clone();
    let mut iterations = 0;
    let mut clipped_last = 0;
    for it in 1..=config.max_iterations {
        iterations = it;
        let r = &y - &ds;
        let (xp, _, clipped) = clip_eigen(r.view(), config.min_eigenvalue)?;
        clipped_last = clipped;
        ds = &xp - &r;
        let mut y_new = xp.clone();
        for i in 0..n {
            y_new[[i, i]] = 1.0;
        }
        let dx =
            frobenius_diff(xp.view(), x.view()) / (1.0 + frobenius_diff(xp.view(), xp.mapv(|_| 0.0).view()));
        let dy = frobenius_diff(y_new.view(), y.view())
            / (1.0 + frobenius_diff(y_new.view(), y_new.mapv(|_| 0.0).view()));
        x = xp;
        y = y_new;
        if dx.max(dy) < config.tolerance {
            break;
        }
        if !(dx.is_finite() && dy.is_finite()) {
            return Err(CoreError::Numerical {
                operation: "nearest correlation",
                detail: "the iterates overflow (entries too large)",
            });
        }
    }
    // Final iterate: unit diagonal (Y); its eigenvalues are within tolerance of the floor.
    let change = frobenius_diff(y.view(), a);
    PsdRepair {
        matrix: y,
        changed: true,
        frobenius_change: change,
        min_eigenvalue_before: min_before,
        clipped: clipped_last,
        iterations,
    }
    .finite()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn higham_2002_worked_example() {
        // Higham (2002), section 4: A = [[1,1,0],[1,1,1],[0,1,1]] has nearest correlation
        // matrix [[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], [0.1573, 0.7607, 1]].
        let a = array![[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]];
        let r = nearest_correlation(a.view(), &NearestCorrelationConfig::default()).unwrap();
        let expect = array![
            [1.0, 0.7607, 0.1573],
            [0.7607, 1.0, 0.7607],
            [0.1573, 0.7607, 1.0]
        ];
        for (x, e) in r.matrix.iter().zip(expect.iter()) {
            assert!((x - e).abs() < 5e-5, "{x} vs {e}");
        }
        assert!(r.changed);
        assert!(r.min_eigenvalue_before < 0.0);
        let (vals, _) = symmetric_eigen(r.matrix.view()).unwrap();
        assert!(vals[0] > -1e-8);
    }

    #[test]
    fn psd_clip_is_identity_on_psd_and_repairs_indefinite() {
        let a = array![[2.0, 0.5], [0.5, 1.0]];
        let r = nearest_psd(a.view(), 0.0).unwrap();
        assert!(!r.changed);
        assert_eq!(r.frobenius_change, 0.0);
        let b = array![[1.0, 2.0], [2.0, 1.0]]; // eigenvalues 3, -1
        let r = nearest_psd(b.view(), 0.0).unwrap();
        assert!(r.changed);
        assert_eq!(r.clipped, 1);
        assert!((r.min_eigenvalue_before + 1.0).abs() < 1e-12);
        // Q max(Λ,0) Qᵀ = 1.5 * [[1,1],[1,1]], change = |−1| = 1
        assert!((r.matrix[[0, 1]] - 1.5).abs() < 1e-12);
        assert!((r.frobenius_change - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_input() {
        let asym = array![[1.0, 0.2], [0.3, 1.0]];
        assert!(matches!(
            nearest_psd(asym.view(), 0.0),
            Err(CoreError::NotSymmetric { .. })
        ));
        let nan = array![[1.0, f64::NAN], [f64::NAN, 1.0]];
        assert!(matches!(
            nearest_psd(nan.view(), 0.0),
            Err(CoreError::NonFinite { .. })
        ));
        assert!(nearest_psd(array![[1.0]].view(), -1.0).is_err());
        let bad = NearestCorrelationConfig {
            tolerance: 0.0,
            ..Default::default()
        };
        assert!(nearest_correlation(array![[1.0]].view(), &bad).is_err());
        assert!(
            nearest_correlation(array![[1.0, 0.0]].view(), &NearestCorrelationConfig::default()).is_err()
        );
    }

    #[test]
    fn absurd_iteration_limit_and_overflow_are_typed_errors() {
        let cfg = NearestCorrelationConfig {
            max_iterations: usize::MAX,
            ..Default::default()
        };
        assert!(matches!(cfg.validate(), Err(CoreError::TooLarge { .. })));
        let json = serde_json::to_string(&NearestCorrelationConfig::default()).unwrap();
        let bad = json.replace("1000", "0");
        assert!(serde_json::from_str::<NearestCorrelationConfig>(&bad).is_err());
        let huge = array![[f64::MAX, -f64::MAX], [-f64::MAX, f64::MAX]];
        if let Ok(r) = nearest_psd(huge.view(), 0.0) {
            assert!(r.matrix.iter().all(|v| v.is_finite()) && r.frobenius_change.is_finite());
        }
        if let Ok(r) = nearest_correlation(huge.view(), &NearestCorrelationConfig::default()) {
            assert!(r.matrix.iter().all(|v| v.is_finite()) && r.frobenius_change.is_finite());
        }
    }
}
