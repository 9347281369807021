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

/// `out ← alpha · aᵀ a` (the Gram matrix of the columns of `a`, scaled), through one GEMM,
/// exactly symmetric (the lower triangle mirrored).
///
/// Errors: `out` is not `k × k` for `a` of `n × k`; a non-finite `alpha` or entry of `a`
/// ([`CoreError::NonFinite`]); a product that overflows ([`CoreError::Numerical`]). `Ok`
/// means every entry of `out` is finite. The result is checked, not the input (`k²` reads
/// rather than `n·k`: a non-finite entry of `a` reaches its column's diagonal, and only
/// then is `a` scanned to name it); on an error `out`'s contents are unspecified.
///
/// ```
/// use ndarray::{array, Array2};
/// use prudentia_core::linalg::gram_into;
/// let mut g = Array2::zeros((2, 2));
/// gram_into(array![[1.0, 2.0], [3.0, 4.0]].view(), 1.0, g.view_mut()).unwrap();
/// assert_eq!(g, array![[10.0, 14.0], [14.0, 20.0]]);
/// assert!(gram_into(array![[1e200, 0.0]].view(), 1.0, g.view_mut()).is_err());
/// assert!(gram_into(array![[f64::NAN, 0.0]].view(), 1.0, g.view_mut()).is_err());
/// ```
pub fn gram_into(a: ArrayView2<'_, f64>, alpha: f64, mut out: ArrayViewMut2<'_, f64>) -> CoreResult<()> {
    let k = a.ncols();
    crate::validate::check_shape("gram output", &[k, k], &[out.nrows(), out.ncols()])?;
    check_scalar("gram alpha", alpha)?;
    faer::linalg::matmul::matmul(
        faer_mut(out.view_mut()),
        faer::Accum::Replace,
        faer_ref(a).transpose(),
        faer_ref(a),
        alpha,
        faer::Par::Seq,
    );
    if all_finite_2d(out.view()) {
        // exactly symmetric: the GEMM's two triangles may differ in the last bit
        for i in 0..k {
            for j in i + 1..k {
                out[[i, j]] = out[[j, i]];
            }
        }
        return Ok(());
    }
    crate::validate::check_finite_2d("gram input", a)?;
    Err(CoreError::Numerical {
        operation: "Gram matrix",
        detail: "non-finite product (entries too large)",
    })
}

/// Fails with [`CoreError::NonFinite`] (index 0) for a non-finite scalar.
fn check_scalar(field: &'static str, v: f64) -> CoreResult<()> {
    crate::validate::check_finite(field, &[v])
}

/// Whether every entry is finite (contiguous views in one vectorizable pass).
fn all_finite_2d(v: ArrayView2<'_, f64>) -> bool {
    match v.as_slice_memory_order() {
        Some(s) => all_finite(s),
        None => v.iter().all(|x| x.is_finite()),
    }
}

/// Whether every entry is finite, in one vectorizable pass (`x · 0` is NaN exactly for a
/// non-finite `x`).
fn all_finite(v: &[f64]) -> bool {
    let mut acc = [0.0f64; 8];
    let c = v.chunks_exact(8);
    let rest = c.remainder();
    for x in c {
        for (s, &xi) in acc.iter_mut().zip(x) {
            *s += xi * 0.0;
        }
    }
    let tail: f64 = rest.iter().map(|x| x * 0.0).sum();
    acc.iter().sum::<f64>() + tail == 0.0
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

/// `out ← alpha · a b` (`accumulate = false`) or `out ← out + alpha · a b` (`accumulate =
/// true`), one GEMM through faer on the views as they are laid out (row- or column-major,
/// strided: nothing is copied). Errors: `a` is `m × l`, `b` is `l × n` and `out` is not
/// `m × n` ([`CoreError::ShapeMismatch`]); a non-finite `alpha`, or a non-finite entry of
/// `a`, `b` or (accumulating) `out` that reaches the product ([`CoreError::NonFinite`]); a
/// product that overflows ([`CoreError::Numerical`]). `Ok` means every entry of `out` is
/// finite. The result is checked, not the inputs (`m·n` reads rather than `(m + n)·l`: a
/// non-finite entry of row `i` of `a` or column `j` of `b` makes `out[i, j]` non-finite,
/// and only then are the inputs scanned to name it); on an error `out`'s contents are
/// unspecified.
///
/// ```
/// use ndarray::{array, Array2};
/// use prudentia_core::linalg::matmul_into;
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let mut out = Array2::from_elem((2, 1), 1.0);
/// matmul_into(out.view_mut(), true, a.view(), array![[1.0], [1.0]].view(), 2.0).unwrap();
/// assert_eq!(out, array![[7.0], [15.0]]);
/// assert!(matmul_into(out.view_mut(), false, a.view(), a.view(), 1.0).is_err());
/// // overflow and non-finite input are errors, never an `Ok` holding inf or NaN
/// let big = array![[1e300]];
/// let mut o = Array2::zeros((1, 1));
/// assert!(matmul_into(o.view_mut(), false, big.view(), big.view(), 1.0).is_err());
/// assert!(matmul_into(o.view_mut(), false, array![[f64::NAN]].view(), big.view(), 1.0).is_err());
/// ```
pub fn matmul_into(
    mut out: ArrayViewMut2<'_, f64>,
    accumulate: bool,
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    alpha: f64,
) -> CoreResult<()> {
    crate::validate::check_shape("matrix product inner dimension", &[a.ncols()], &[b.nrows()])?;
    crate::validate::check_shape(
        "matrix product output",
        &[a.nrows(), b.ncols()],
        &[out.nrows(), out.ncols()],
    )?;
    check_scalar("matrix product alpha", alpha)?;
    let accum = if accumulate {
        faer::Accum::Add
    } else {
        faer::Accum::Replace
    };
    faer::linalg::matmul::matmul(
        faer_mut(out.view_mut()),
        accum,
        faer_ref(a),
        faer_ref(b),
        alpha,
        faer::Par::Seq,
    );
    if all_finite_2d(out.view()) {
        return Ok(());
    }
    crate::validate::check_finite_2d("matrix product left operand", a)?;
    crate::validate::check_finite_2d("matrix product right operand", b)?;
    Err(CoreError::Numerical {
        operation: "matrix product",
        detail: "non-finite product (entries too large, or a non-finite accumulated output)",
    })
}

/// `2^⌊log₂ m⌋` for finite `m > 0`, else 1: an exact (power-of-two) scale that brings `m`
/// into `[1, 2)`, so that dividing a column by it and multiplying back are exact (the
/// equilibration of the dense least-squares designs).
///
/// ```
/// use prudentia_core::linalg::pow2_scale;
/// assert_eq!(pow2_scale(3.0), 2.0);
/// assert_eq!(pow2_scale(0.25), 0.25);
/// assert_eq!(pow2_scale(f64::MAX), 2f64.powi(1023));
/// assert_eq!(pow2_scale(5e-324), 5e-324);
/// assert_eq!(pow2_scale(1.0 - f64::EPSILON / 2.0), 0.5);
/// assert_eq!(pow2_scale(0.0), 1.0);
/// assert_eq!(pow2_scale(f64::NAN), 1.0);
/// ```
pub fn pow2_scale(m: f64) -> f64 {
    if m.is_finite() && m > 0.0 {
        // the exact binary exponent (subnormals included): `log2` would round up just below
        // a power of two
        let s = libm::ldexp(1.0, libm::ilogb(m));
        if s > 0.0 && s.is_finite() {
            s
        } else {
            1.0
        }
    } else {
        1.0
    }
}

/// `Σ aᵢ bᵢ` over the common length, with eight independent accumulators (vectorizes, and
/// is no less accurate than one running sum).
///
/// The hot inner product of the dense fits returns the bare `f64`: a non-finite input or
/// a sum beyond `f64::MAX` gives a non-finite value (never a panic), and its callers check
/// what they build from it (a Cholesky factor refuses a non-finite pivot, the fits check
/// their coefficients). Lengths that differ are read over the shorter one.
///
/// ```
/// use prudentia_core::linalg::dot;
/// assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0);
/// ```
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for (l, s) in acc.iter_mut().enumerate() {
            *s += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `B M B` for symmetric `k × k` row-major `B` and `M` (the sandwich covariance
/// `bread · meat · bread`), symmetrized exactly. Errors: `b` or `m` is not `k²` long, a
/// non-finite entry ([`CoreError::NonFinite`]), a product that overflows
/// ([`CoreError::Numerical`]): `Ok` holds finite numbers only.
///
/// ```
/// use prudentia_core::linalg::sandwich;
/// let v = sandwich(&[2.0, 0.0, 0.0, 1.0], &[1.0, 0.5, 0.5, 1.0], 2).unwrap();
/// assert_eq!(v, vec![4.0, 1.0, 1.0, 1.0]);
/// assert!(sandwich(&[1.0], &[1.0, 0.0, 0.0, 1.0], 2).is_err());
/// assert!(sandwich(&[1e200], &[1e200], 1).is_err());
/// assert!(sandwich(&[f64::NAN], &[1.0], 1).is_err());
/// ```
pub fn sandwich(b: &[f64], m: &[f64], k: usize) -> CoreResult<Vec<f64>> {
    let kk = k.saturating_mul(k);
    crate::validate::check_shape("sandwich bread", &[kk], &[b.len()])?;
    crate::validate::check_shape("sandwich meat", &[kk], &[m.len()])?;
    crate::validate::check_finite("sandwich bread", b)?;
    crate::validate::check_finite("sandwich meat", m)?;
    let mut bm = vec![0.0; kk];
    for i in 0..k {
        for l in 0..k {
            let bil = b[i * k + l];
            if bil == 0.0 {
                continue;
            }
            for j in 0..k {
                bm[i * k + j] += bil * m[l * k + j];
            }
        }
    }
    let mut out = vec![0.0; kk];
    for i in 0..k {
        for j in 0..k {
            let mut s = 0.0;
            for l in 0..k {
                s += bm[i * k + l] * b[l * k + j];
            }
            out[i * k + j] = s;
        }
    }
    for i in 0..k {
        for j in i + 1..k {
            let v = 0.5 * (out[i * k + j] + out[j * k + i]);
            out[i * k + j] = v;
            out[j * k + i] = v;
        }
    }
    if !all_finite(&out) {
        return Err(CoreError::Numerical {
            operation: "sandwich covariance",
            detail: "non-finite product (entries too large)",
        });
    }
    Ok(out)
}

/// A Cholesky factor of a small symmetric positive-definite `k × k` matrix held row-major,
/// that reports how close to singular the matrix was: the pivot `dⱼ` of each column (its
/// residual sum of squares on the previous columns) and the smallest relative pivot
/// `dⱼ / aⱼⱼ` (`1 − R²` of the column on the previous ones; 1 for orthogonal columns, 0
/// for a dependent one). The shared factor of the least-squares, logistic and
/// instrumental-variable fits, which need the failing column for their error.
///
/// ```
/// use prudentia_core::linalg::SmallCholesky;
/// let c = SmallCholesky::new(&[4.0, 2.0, 2.0, 3.0], 2, 1e-13).unwrap();
/// let mut b = [2.0, 1.0];
/// c.solve(&mut b).unwrap();
/// assert!((4.0 * b[0] + 2.0 * b[1] - 2.0).abs() < 1e-14);
/// assert_eq!(c.worst_column(), 1);
/// // the second column repeats the first
/// assert_eq!(SmallCholesky::new(&[1.0, 1.0, 1.0, 1.0], 2, 1e-13).err(), Some(1));
/// ```
#[derive(Debug, Clone)]
pub struct SmallCholesky {
    l: Vec<f64>,
    k: usize,
    pivots: Vec<f64>,
    min_relative_pivot: f64,
    worst_column: usize,
}

impl SmallCholesky {
    /// Factors `a` (row-major `k × k`, symmetric; the lower triangle is read). `Err(column)`
    /// at the first pivot that is not positive, not finite, or at most `min_relative_pivot`
    /// times its diagonal entry; `Err(0)` when `a` is not `k²` long.
    pub fn new(a: &[f64], k: usize, min_relative_pivot: f64) -> Result<Self, usize> {
        if a.len() != k.saturating_mul(k) {
            return Err(0);
        }
        let mut l = vec![0.0; a.len()];
        let mut pivots = vec![0.0; k];
        let mut min_rel = 1.0f64;
        let mut worst = 0;
        for j in 0..k {
            let ajj = a[j * k + j];
            let mut d = ajj;
            for m in 0..j {
                d -= l[j * k + m] * l[j * k + m];
            }
            if !(ajj.is_finite() && ajj > 0.0 && d.is_finite() && d > min_relative_pivot * ajj) {
                return Err(j);
            }
            pivots[j] = d;
            let rel = d / ajj;
            if rel < min_rel {
                min_rel = rel;
                worst = j;
            }
            let ljj = d.sqrt();
            l[j * k + j] = ljj;
            for i in j + 1..k {
                let mut s = a[i * k + j];
                for m in 0..j {
                    s -= l[i * k + m] * l[j * k + m];
                }
                l[i * k + j] = s / ljj;
            }
        }
        Ok(Self {
            l,
            k,
            pivots,
            min_relative_pivot: min_rel,
            worst_column: worst,
        })
    }

    /// The order `k`.
    pub fn dim(&self) -> usize {
        self.k
    }

    /// The pivots `dⱼ` (the squared diagonal of the factor).
    pub fn pivots(&self) -> &[f64] {
        &self.pivots
    }

    /// The smallest relative pivot `dⱼ / aⱼⱼ` (1 when `k = 0`).
    pub fn min_relative_pivot(&self) -> f64 {
        self.min_relative_pivot
    }

    /// The column with the smallest relative pivot.
    pub fn worst_column(&self) -> usize {
        self.worst_column
    }

    /// Overwrites `b` (length `k`) with `A⁻¹ b`. Errors: wrong length.
    // the triangular substitutions read best as index loops over `l` and `b`
    #[allow(clippy::needless_range_loop)]
    pub fn solve(&self, b: &mut [f64]) -> CoreResult<()> {
        let k = self.k;
        crate::validate::check_shape("right-hand side", &[k], &[b.len()])?;
        for i in 0..k {
            let mut s = b[i];
            for m in 0..i {
                s -= self.l[i * k + m] * b[m];
            }
            b[i] = s / self.l[i * k + i];
        }
        for i in (0..k).rev() {
            let mut s = b[i];
            for m in i + 1..k {
                s -= self.l[m * k + i] * b[m];
            }
            b[i] = s / self.l[i * k + i];
        }
        Ok(())
    }

    /// `A⁻¹` (row-major), symmetrized exactly.
    pub fn inverse(&self) -> Vec<f64> {
        let k = self.k;
        let mut inv = vec![0.0; k * k];
        let mut e = vec![0.0; k];
        for c in 0..k {
            e.iter_mut().for_each(|v| *v = 0.0);
            e[c] = 1.0;
            // `e` has length k: the solve cannot refuse it
            if self.solve(&mut e).is_err() {
                break;
            }
            for r in 0..k {
                inv[r * k + c] = e[r];
            }
        }
        for r in 0..k {
            for c in r + 1..k {
                let m = 0.5 * (inv[r * k + c] + inv[c * k + r]);
                inv[r * k + c] = m;
                inv[c * k + r] = m;
            }
        }
        inv
    }
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
    fn small_cholesky_matmul_and_helpers() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let c = SmallCholesky::new(&a, 2, 1e-13).unwrap();
        let mut b = [2.0, 1.0];
        c.solve(&mut b).unwrap();
        assert!((4.0 * b[0] + 2.0 * b[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * b[0] + 3.0 * b[1] - 1.0).abs() < 1e-14);
        assert!(c.solve(&mut [1.0]).is_err());
        let inv = c.inverse();
        assert!((inv[0] - 3.0 / 8.0).abs() < 1e-15);
        assert_eq!(c.pivots(), &[4.0, 2.0]);
        assert_eq!(SmallCholesky::new(&[1.0, 1.0, 1.0, 1.0], 2, 1e-13).err(), Some(1));
        assert_eq!(SmallCholesky::new(&[0.0, 0.0, 0.0, 1.0], 2, 1e-13).err(), Some(0));
        assert_eq!(SmallCholesky::new(&[1.0, 0.0, 0.0], 2, 1e-13).err(), Some(0));
        for m in [1.0, 1.5, 3.0, 1e300, f64::MAX, 5e-324, 1e-310, 0.1] {
            let s = pow2_scale(m);
            assert!(s > 0.0 && s.is_finite());
            let r = m / s;
            assert!((1.0..2.0).contains(&r), "{m} {s} {r}");
        }
        let x: Vec<f64> = (0..19).map(|i| i as f64 * 0.5).collect();
        assert_eq!(dot(&x, &x), x.iter().map(|v| v * v).sum::<f64>());
        // column-major and transposed operands
        let m = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut g = Array2::zeros((3, 3));
        matmul_into(g.view_mut(), false, m.t(), m.view(), 1.0).unwrap();
        assert_eq!(g, m.t().dot(&m));
        assert!(matmul_into(g.view_mut(), false, m.view(), m.view(), 1.0).is_err());
    }

    #[test]
    fn products_refuse_non_finite_input_and_overflow() {
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let mut out = Array2::zeros((2, 2));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut x = a.clone();
            x[[1, 0]] = bad;
            let e = matmul_into(out.view_mut(), false, x.view(), a.view(), 1.0).unwrap_err();
            assert!(matches!(e, CoreError::NonFinite { .. }), "{e}");
            assert!(matmul_into(out.view_mut(), false, a.view(), a.view(), bad).is_err());
            assert!(matches!(
                gram_into(x.view(), 1.0, out.view_mut()),
                Err(CoreError::NonFinite { .. })
            ));
            assert!(sandwich(&[1.0, bad, bad, 1.0], &[1.0, 0.0, 0.0, 1.0], 2).is_err());
            // a non-finite accumulated output is refused too
            let mut acc = Array2::from_elem((2, 2), bad);
            assert!(matmul_into(acc.view_mut(), true, a.view(), a.view(), 1.0).is_err());
        }
        let big = array![[1e200, 1.0], [1.0, 1e200]];
        assert!(matches!(
            matmul_into(out.view_mut(), false, big.view(), big.view(), 1.0),
            Err(CoreError::Numerical { .. })
        ));
        assert!(matches!(
            gram_into(big.view(), 1.0, out.view_mut()),
            Err(CoreError::Numerical { .. })
        ));
        assert!(matches!(
            sandwich(&[1e200, 0.0, 0.0, 1e200], &[1.0, 0.0, 0.0, 1.0], 2),
            Err(CoreError::Numerical { .. })
        ));
        // finite extremes that stay in range still work
        let tiny = array![[5e-324, 0.0], [0.0, f64::MAX]];
        matmul_into(
            out.view_mut(),
            false,
            tiny.view(),
            array![[1.0, 0.0], [0.0, 0.5]].view(),
            1.0,
        )
        .unwrap();
        assert_eq!(out[[1, 1]], f64::MAX * 0.5);
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
