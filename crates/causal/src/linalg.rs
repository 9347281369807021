//! Small dense linear algebra for the estimators that prudentia-learn does not cover
//! (two-stage least squares, rank checks): the column-equilibrated design and the rank
//! check. The primitives (dot product, sandwich, the small Cholesky that reports its
//! pivots) are the workspace's one copy in [`prudentia_core::linalg`].

use ndarray::ArrayView2;
use prudentia_core::linalg::SmallCholesky;

pub(crate) use prudentia_core::linalg::{dot, pow2_scale, sandwich as core_sandwich};

/// A relative Cholesky pivot (`1 − R²` of a column on the previous ones) below this means
/// the column is numerically a combination of the others.
pub(crate) const COLLINEAR_PIVOT: f64 = 1e-12;

/// `B M B` for symmetric `k × k` matrices (row-major); both are `k²` long at every call.
pub(crate) fn sandwich(b: &[f64], m: &[f64], k: usize) -> Vec<f64> {
    core_sandwich(b, m, k).unwrap_or_else(|_| vec![f64::NAN; k * k])
}

/// A dense design `n × k` held column-major after scaling each column by a power of two
/// ([`pow2_scale`]: its largest entry in `[1, 2)`; an optional leading column of ones).
pub(crate) struct Design {
    pub n: usize,
    pub k: usize,
    /// column-major, `cols[j * n + i]`
    pub cols: Vec<f64>,
    /// the factor each column was divided by
    pub scale: Vec<f64>,
}

impl Design {
    /// `[1?, blocks…]`: each block a view `n × p_b`, columns appended in order.
    pub fn new(n: usize, intercept: bool, blocks: &[ArrayView2<'_, f64>]) -> Self {
        let k = usize::from(intercept) + blocks.iter().map(|b| b.ncols()).sum::<usize>();
        let mut cols = Vec::with_capacity(n * k);
        let mut scale = Vec::with_capacity(k);
        if intercept {
            cols.extend(std::iter::repeat_n(1.0, n));
            scale.push(1.0);
        }
        for b in blocks {
            for c in b.columns() {
                let s = pow2_scale(c.iter().fold(0.0f64, |m, v| m.max(v.abs())));
                cols.extend(c.iter().map(|v| v / s));
                scale.push(s);
            }
        }
        Self { n, k, cols, scale }
    }

    pub fn col(&self, j: usize) -> &[f64] {
        &self.cols[j * self.n..(j + 1) * self.n]
    }

    /// `AᵀB` for two designs over the same rows (`ka × kb`, row-major).
    pub fn cross(&self, other: &Design) -> Vec<f64> {
        let mut out = vec![0.0; self.k * other.k];
        for a in 0..self.k {
            let ca = self.col(a);
            for b in 0..other.k {
                out[a * other.k + b] = dot(ca, other.col(b));
            }
        }
        out
    }

    /// `Aᵀv`.
    pub fn t_mul(&self, v: &[f64]) -> Vec<f64> {
        (0..self.k).map(|j| dot(self.col(j), v)).collect()
    }

    /// `A β` into `out`.
    pub fn mul(&self, beta: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (j, &b) in beta.iter().enumerate().take(self.k) {
            for (o, a) in out.iter_mut().zip(self.col(j)) {
                *o += a * b;
            }
        }
    }
}

/// Lower Cholesky factor of a symmetric positive-definite `k × k` matrix (row-major):
/// [`SmallCholesky`] at the [`COLLINEAR_PIVOT`] threshold, with its pivots at hand.
pub(crate) struct Cholesky {
    inner: SmallCholesky,
    /// the pivots `dⱼ` (squared diagonal of the factor): the residual sum of squares of
    /// column `j` on the previous columns
    pub pivots: Vec<f64>,
}

impl Cholesky {
    /// Factors `a`; `Err(column)` when the relative pivot of `column` falls below
    /// [`COLLINEAR_PIVOT`] (the column is a combination of the previous ones).
    pub fn new(a: &[f64], k: usize) -> Result<Self, usize> {
        let inner = SmallCholesky::new(a, k, COLLINEAR_PIVOT)?;
        Ok(Self {
            pivots: inner.pivots().to_vec(),
            inner,
        })
    }

    /// Solves `A x = b` in place (`b` has length `k` at every call; another length is left
    /// as NaN).
    pub fn solve(&self, b: &mut [f64]) {
        if self.inner.solve(b).is_err() {
            b.iter_mut().for_each(|v| *v = f64::NAN);
        }
    }

    /// `A⁻¹` (row-major).
    pub fn inverse(&self) -> Vec<f64> {
        self.inner.inverse()
    }
}

/// Rank check of `[1, x]`: `Err(column)` for the first column (intercept = 0) that is a
/// combination of the previous ones, found on the centred, unit-scaled correlation matrix.
pub(crate) fn check_rank(x: ArrayView2<'_, f64>) -> Result<(), usize> {
    let (n, p) = x.dim();
    if p == 0 {
        return Ok(());
    }
    let d = Design::new(n, false, &[x]);
    // centre (the intercept's contribution) and scale to unit norm
    let mut cols = d.cols;
    for j in 0..p {
        let c = &mut cols[j * n..(j + 1) * n];
        let mean = c.iter().sum::<f64>() / n as f64;
        c.iter_mut().for_each(|v| *v -= mean);
        let norm = dot(c, c).sqrt();
        if norm.is_nan() || norm <= 0.0 {
            return Err(j + 1);
        }
        c.iter_mut().for_each(|v| *v /= norm);
    }
    let mut g = vec![0.0; p * p];
    for a in 0..p {
        for b in a..p {
            let v = dot(&cols[a * n..(a + 1) * n], &cols[b * n..(b + 1) * n]);
            g[a * p + b] = v;
            g[b * p + a] = v;
        }
    }
    Cholesky::new(&g, p).map(|_| ()).map_err(|j| j + 1)
}

/// Standard normal survival function `P(Z > z)`, accurate in the tail (core's CDF at `−z`).
pub(crate) fn normal_sf(z: f64) -> f64 {
    prudentia_core::normal::cdf(-z)
}
