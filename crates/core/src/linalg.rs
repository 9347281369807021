//! Zero-copy bridges between ndarray and faer, and the few dense routines several crates need.
//!
//! prudentia's public APIs take and return `ndarray` arrays; dense factorizations use
//! `faer` (pure Rust; see docs/architecture.md), kept out of the public API: the crate-private
//! `faer_ref` and `faer_mut` view an
//! ndarray array as a faer matrix without copying, whatever its strides (transposed,
//! sliced, stepped or negative-stride views all work).

use faer::linalg::solvers::{PartialPivLu, Solve};
use faer::{MatMut, MatRef};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, ShapeBuilder};

use crate::error::{CoreError, CoreResult};

/// A faer view of a 2-D ndarray view, sharing its memory.
pub(crate) fn faer_ref<'a>(a: ArrayView2<'a, f64>) -> MatRef<'a, f64> {
    let (nrows, ncols) = a.dim();
    let strides = a.strides();
    // SAFETY: `a.as_ptr()` points at element [0, 0] of a live view that borrows its data for
    // 'a; ndarray guarantees that every `ptr + i*strides[0] + j*strides[1]` for
    // i < nrows, j < ncols is in bounds of that allocation, which is exactly faer's
    // addressing rule for (ptr, nrows, ncols, row_stride, col_stride). The pointer is never
    // null (ndarray uses a dangling, non-null pointer for empty arrays, and faer does not
    // dereference a matrix with a zero dimension). The returned MatRef inherits the
    // immutable borrow's lifetime 'a, so the data cannot be mutated or freed while it lives.
    #[allow(unsafe_code)]
    unsafe {
        MatRef::from_raw_parts(a.as_ptr(), nrows, ncols, strides[0], strides[1])
    }
}

/// A mutable faer view of a 2-D mutable ndarray view, sharing its memory.
pub(crate) fn faer_mut<'a>(mut a: ArrayViewMut2<'a, f64>) -> MatMut<'a, f64> {
    let (nrows, ncols) = a.dim();
    let (rs, cs) = (a.strides()[0], a.strides()[1]);
    let ptr = a.as_mut_ptr();
    // SAFETY: as in `faer_ref`; in addition an `ArrayViewMut2` never aliases two logical
    // elements to one address (ndarray rejects overlapping mutable views), so faer's
    // exclusive-access assumption holds. The view is consumed, and the MatMut keeps its
    // exclusive borrow for 'a.
    #[allow(unsafe_code)]
    unsafe {
        MatMut::from_raw_parts_mut(ptr, nrows, ncols, rs, cs)
    }
}

/// Copies a faer matrix into a new ndarray array.
pub(crate) fn to_array2(m: MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Symmetric eigendecomposition: eigenvalues ascending and eigenvectors as columns.
pub fn symmetric_eigen(a: ArrayView2<'_, f64>) -> CoreResult<(Array1<f64>, Array2<f64>)> {
    let n = crate::validate::check_square("matrix", a)?;
    crate::validate::check_finite_2d("matrix", a)?;
    if n == 0 {
        return Ok((Array1::zeros(0), Array2::zeros((0, 0))));
    }
    let m = faer_ref(a);
    let evd = m
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| CoreError::Numerical {
            operation: "symmetric eigendecomposition",
            detail: "did not converge",
        })?;
    let s = evd.S().column_vector();
    let values = Array1::from_shape_fn(n, |i| s[i]);
    let vectors = to_array2(evd.U());
    if values.iter().chain(vectors.iter()).any(|v| !v.is_finite()) {
        return Err(CoreError::Numerical {
            operation: "symmetric eigendecomposition",
            detail: "non-finite result (entries too large)",
        });
    }
    Ok((values, vectors))
}

/// Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive-definite matrix.
pub fn cholesky(a: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
    crate::validate::check_square("matrix", a)?;
    crate::validate::check_finite_2d("matrix", a)?;
    let m = faer_ref(a);
    let llt = m.llt(faer::Side::Lower).map_err(|_| CoreError::Numerical {
        operation: "Cholesky factorization",
        detail: "matrix is not positive definite",
    })?;
    let l = to_array2(llt.L());
    if l.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::Numerical {
            operation: "Cholesky factorization",
            detail: "non-finite factor (entries too large)",
        });
    }
    Ok(l)
}

/// A Cholesky factorization `A = L Lᵀ` of a symmetric positive-definite matrix, kept for
/// repeated solves (the one dense SPD path of the workspace: Newton steps, KKT blocks).
///
/// Only the lower triangle of `A` is read.
///
/// ```
/// use ndarray::array;
/// use prudentia_core::linalg::Cholesky;
/// let a = array![[4.0, 1.0], [1.0, 3.0]];
/// let chol = Cholesky::new(a.view()).unwrap();
/// let mut b = array![1.0, 2.0];
/// chol.solve_vec_in_place(b.view_mut()).unwrap();
/// assert!((4.0 * b[0] + b[1] - 1.0).abs() < 1e-12);
/// assert!(Cholesky::new(array![[1.0, 2.0], [2.0, 1.0]].view()).is_err());
/// ```
pub struct Cholesky {
    llt: faer::linalg::solvers::Llt<f64>,
}

impl std::fmt::Debug for Cholesky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cholesky").field("dim", &self.dim()).finish()
    }
}

impl Cholesky {
    /// Factors `a`. Errors: not square, non-finite entries, or not positive definite
    /// ([`CoreError::Numerical`]).
    pub fn new(a: ArrayView2<'_, f64>) -> CoreResult<Self> {
        crate::validate::check_square("matrix", a)?;
        crate::validate::check_finite_2d("matrix", a)?;
        let llt = faer_ref(a)
            .llt(faer::Side::Lower)
            .map_err(|_| CoreError::Numerical {
                operation: "Cholesky factorization",
                detail: "matrix is not positive definite",
            })?;
        Ok(Self { llt })
    }

    /// The order `n` of the factored matrix.
    pub fn dim(&self) -> usize {
        self.llt.L().nrows()
    }

    /// The lower-triangular factor `L`.
    pub fn factor(&self) -> Array2<f64> {
        to_array2(self.llt.L())
    }

    /// Overwrites every column of `b` (`n × k`, any layout) with `A⁻¹ b`. Errors: `b` does
    /// not have `n` rows. A non-finite result is left for the caller to judge.
    pub fn solve_in_place(&self, b: ArrayViewMut2<'_, f64>) -> CoreResult<()> {
        crate::validate::check_shape("right-hand side rows", &[self.dim()], &[b.nrows()])?;
        self.llt.solve_in_place(faer_mut(b));
        Ok(())
    }

    /// Overwrites `b` (length `n`) with `A⁻¹ b`. Errors: wrong length.
    pub fn solve_vec_in_place(&self, b: ArrayViewMut1<'_, f64>) -> CoreResult<()> {
        let n = b.len();
        let b2 = b
            .into_shape_with_order((n, 1))
            .map_err(|_| CoreError::Numerical {
                operation: "Cholesky solve",
                detail: "right-hand side view is not reshapeable",
            })?;
        self.solve_in_place(b2)
    }

    /// Overwrites a column-major `n × k` block stored in `b` (`b.len() = n·k`) with `A⁻¹ b`.
    /// Errors: `b.len()` is not a multiple of `n`.
    pub fn solve_columns_in_place(&self, b: &mut [f64], k: usize) -> CoreResult<()> {
        let n = self.dim();
        let len = b.len();
        let view = ArrayViewMut2::from_shape((n, k).f(), b).map_err(|_| CoreError::ShapeMismatch {
            field: "column-major right-hand side",
            expected: vec![n.saturating_mul(k)],
            found: vec![len],
        })?;
        self.solve_in_place(view)
    }
}

/// `out ← alpha · aᵀ a` (the Gram matrix of the columns of `a`, scaled), through one GEMM.
/// Errors: `out` is not `k × k` for `a` of `n × k`.
pub fn gram_into(a: ArrayView2<'_, f64>, alpha: f64, out: ArrayViewMut2<'_, f64>) -> CoreResult<()> {
    let k = a.ncols();
    crate::validate::check_shape("gram output", &[k, k], &[out.nrows(), out.ncols()])?;
    let a = faer_ref(a);
    faer::linalg::matmul::matmul(
        faer_mut(out),
        faer::Accum::Replace,
        a.transpose(),
        a,
        alpha,
        faer::Par::Seq,
    );
    Ok(())
}

/// Solves the square system `a x = b` by LU with partial pivoting.
///
/// Errors: shapes, non-finite input, or a matrix singular to working precision (a pivot of
/// `U` at most `1e-13 · max|aᵢⱼ|`, [`CoreError::Numerical`]); a non-finite solution (overflow)
/// is an error too.
///
/// ```
/// use ndarray::array;
/// use prudentia_core::linalg::lu_solve;
/// let x = lu_solve(array![[2.0, 1.0], [1.0, 3.0]].view(), array![3.0, 5.0].view()).unwrap();
/// assert!((x[0] - 0.8).abs() < 1e-15 && (x[1] - 1.4).abs() < 1e-15);
/// assert!(lu_solve(array![[1.0, 2.0], [2.0, 4.0]].view(), array![1.0, 2.0].view()).is_err());
/// ```
pub fn lu_solve(a: ArrayView2<'_, f64>, b: ArrayView1<'_, f64>) -> CoreResult<Array1<f64>> {
    let n = crate::validate::check_square("matrix", a)?;
    crate::validate::check_shape("right-hand side", &[n], &[b.len()])?;
    crate::validate::check_finite_2d("matrix", a)?;
    crate::validate::check_finite_1d("right-hand side", b)?;
    if n == 0 {
        return Ok(Array1::zeros(0));
    }
    let scale = a
        .iter()
        .fold(0.0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let lu = PartialPivLu::new(faer_ref(a));
    let u = lu.U();
    if (0..n).any(|i| u[(i, i)].abs() <= 1e-13 * scale || !u[(i, i)].is_finite()) {
        return Err(CoreError::Numerical {
            operation: "LU solve",
            detail: "matrix is singular to working precision",
        });
    }
    let mut x = b.to_owned();
    {
        let xm = x
            .view_mut()
            .into_shape_with_order((n, 1))
            .map_err(|_| CoreError::Numerical {
                operation: "LU solve",
                detail: "right-hand side view is not reshapeable",
            })?;
        lu.solve_in_place(faer_mut(xm));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::Numerical {
            operation: "LU solve",
            detail: "non-finite solution (near-singular or entries too large)",
        });
    }
    Ok(x)
}

/// [`lu_solve`] on row-major slices (`a.len() = n²`, `b.len() = n`), for small solvers that
/// keep their matrices flat.
pub fn lu_solve_slice(a: &[f64], b: &[f64], n: usize) -> CoreResult<Vec<f64>> {
    let av = ArrayView2::from_shape((n, n), a).map_err(|_| CoreError::ShapeMismatch {
        field: "row-major matrix",
        expected: vec![n.saturating_mul(n)],
        found: vec![a.len()],
    })?;
    lu_solve(av, ArrayView1::from(b))
        .map(Array1::into_raw_vec_and_offset)
        .map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, s, Array2};

    fn sample() -> Array2<f64> {
        Array2::from_shape_fn((5, 7), |(i, j)| (i * 10 + j) as f64 + 0.5)
    }

    #[test]
    fn view_matches_standard_layout() {
        let a = sample();
        let m = faer_ref(a.view());
        assert_eq!((m.nrows(), m.ncols()), (5, 7));
        for i in 0..5 {
            for j in 0..7 {
                assert_eq!(m[(i, j)], a[[i, j]]);
            }
        }
    }

    #[test]
    fn view_matches_transposed_sliced_stepped_and_reversed() {
        let a = sample();
        let views = [
            a.t(),
            a.slice(s![1..4, 2..6]),
            a.slice(s![..;2, 1..;3]),
            a.slice(s![..;-1, ..]),
            a.slice(s![1..4, ..;-2]).reversed_axes(),
        ];
        for v in views {
            let m = faer_ref(v);
            assert_eq!((m.nrows(), m.ncols()), v.dim());
            for i in 0..v.nrows() {
                for j in 0..v.ncols() {
                    assert_eq!(m[(i, j)], v[[i, j]]);
                }
            }
            assert_eq!(to_array2(m), v.to_owned());
        }
    }

    #[test]
    fn empty_views() {
        let a = Array2::<f64>::zeros((0, 3));
        let m = faer_ref(a.view());
        assert_eq!((m.nrows(), m.ncols()), (0, 3));
        let b = sample();
        let e = b.slice(s![2..2, ..]);
        assert_eq!(faer_ref(e).nrows(), 0);
    }

    #[test]
    fn mutable_view_writes_through() {
        let mut a = sample();
        {
            let mut m = faer_mut(a.slice_mut(s![1..3, ..;2]).reversed_axes());
            m[(0, 1)] = -1.0; // logical [1, 0] of the transposed slice -> a[2, 0]
        }
        assert_eq!(a[[2, 0]], -1.0);
    }

    #[test]
    fn eigen_and_cholesky() {
        let a = array![[4.0, 1.0], [1.0, 3.0]];
        let (vals, vecs) = symmetric_eigen(a.view()).unwrap();
        let rebuilt = vecs.dot(&Array2::from_diag(&vals)).dot(&vecs.t());
        for (x, y) in rebuilt.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!(vals[0] <= vals[1]);
        let l = cholesky(a.view()).unwrap();
        let back = l.dot(&l.t());
        for (x, y) in back.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!(cholesky(array![[1.0, 2.0], [2.0, 1.0]].view()).is_err());
        assert!(symmetric_eigen(array![[1.0, f64::NAN], [0.0, 1.0]].view()).is_err());
    }

    #[test]
    fn cholesky_solves_lu_solves_and_gram() {
        let a = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let chol = Cholesky::new(a.view()).unwrap();
        assert_eq!(chol.dim(), 3);
        let l = chol.factor();
        for (x, y) in l.dot(&l.t()).iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12);
        }
        // two right-hand sides, row-major and column-major
        let b = array![[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]];
        let mut x = b.clone();
        chol.solve_in_place(x.view_mut()).unwrap();
        for (p, q) in a.dot(&x).iter().zip(b.iter()) {
            assert!((p - q).abs() < 1e-12);
        }
        let mut flat = vec![1.0, 2.0, 3.0, 0.0, 1.0, -1.0];
        chol.solve_columns_in_place(&mut flat, 2).unwrap();
        for j in 0..2 {
            for i in 0..3 {
                assert!((flat[j * 3 + i] - x[[i, j]]).abs() < 1e-14);
            }
        }
        assert!(chol.solve_columns_in_place(&mut flat, 3).is_err());
        assert!(chol.solve_in_place(Array2::zeros((2, 1)).view_mut()).is_err());
        let mut v = array![1.0, 2.0, 3.0];
        chol.solve_vec_in_place(v.view_mut()).unwrap();
        assert!((v[0] - x[[0, 0]]).abs() < 1e-14);
        assert!(Cholesky::new(array![[f64::NAN]].view()).is_err());
        assert!(Cholesky::new(Array2::zeros((2, 3)).view()).is_err());

        // LU agrees with the Cholesky solve and refuses singular or non-finite systems
        let y = lu_solve(a.view(), array![1.0, 2.0, 3.0].view()).unwrap();
        assert!(y.iter().zip(v.iter()).all(|(p, q)| (p - q).abs() < 1e-13));
        let flat_a: Vec<f64> = a.iter().copied().collect();
        let z = lu_solve_slice(&flat_a, &[1.0, 2.0, 3.0], 3).unwrap();
        assert!(z.iter().zip(y.iter()).all(|(p, q)| (p - q).abs() < 1e-15));
        assert!(lu_solve_slice(&flat_a, &[1.0, 2.0, 3.0], 2).is_err());
        assert!(lu_solve(array![[0.0, 0.0], [0.0, 0.0]].view(), array![1.0, 1.0].view()).is_err());
        assert!(lu_solve(a.view(), array![1.0, f64::INFINITY, 0.0].view()).is_err());
        assert!(lu_solve(a.view(), array![1.0, 2.0].view()).is_err());
        assert_eq!(
            lu_solve(Array2::zeros((0, 0)).view(), Array1::zeros(0).view())
                .unwrap()
                .len(),
            0
        );
        // tiny pivot against a huge entry: refused rather than a 1e300 answer
        assert!(lu_solve(array![[1e300, 1.0], [1e300, 1.0]].view(), array![1.0, 2.0].view()).is_err());

        // Gram: out = alpha aᵀa for a column-major and a row-major a
        let m = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut g = Array2::zeros((2, 2));
        gram_into(m.view(), -1.0, g.view_mut()).unwrap();
        assert_eq!(g, m.t().dot(&m).mapv(|v| -v));
        let mf = Array2::from_shape_vec((3, 2).f(), vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]).unwrap();
        let mut gf = Array2::zeros((2, 2).f());
        gram_into(mf.view(), 1.0, gf.view_mut()).unwrap();
        assert_eq!(gf, m.t().dot(&m));
        assert!(gram_into(m.view(), 1.0, Array2::zeros((3, 3)).view_mut()).is_err());
    }
}
