//! Zero-copy bridges between ndarray and faer, and the few dense routines several crates need.
//!
//! prudentia's public APIs take and return `ndarray` arrays; dense factorizations use
//! `faer` (pure Rust; see docs/architecture.md), kept out of the public API: the crate-private
//! `faer_ref` and `faer_mut` view an
//! ndarray array as a faer matrix without copying, whatever its strides (transposed,
//! sliced, stepped or negative-stride views all work).

use faer::{MatMut, MatRef};
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};

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

/// A mutable faer view of a 2-D mutable ndarray view, sharing its memory (tested below;
/// for the in-place dense routines that route through this module).
#[allow(dead_code)]
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
}
