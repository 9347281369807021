//! Small dense linear algebra for the estimators that prudentia-learn does not cover
//! (two-stage least squares, rank checks): column equilibration, Gram matrices, Cholesky.

// index loops over parallel arrays read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::ArrayView2;

/// A relative Cholesky pivot (`1 − R²` of a column on the previous ones) below this means
/// the column is numerically a combination of the others.
pub(crate) const COLLINEAR_PIVOT: f64 = 1e-12;

/// The power of two at or above `|v|` (1 for 0), so that dividing by it is exact.
pub(crate) fn pow2_scale(max_abs: f64) -> f64 {
    if max_abs > 0.0 && max_abs.is_finite() {
        let e = libm::ilogb(max_abs);
        libm::ldexp(1.0, e + 1)
    } else {
        1.0
    }
}

/// A dense design `n × k` held column-major after scaling each column by a power of two
/// so that its largest entry is below 1 (an optional leading column of ones).
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
        for j in 0..self.k {
            let b = beta[j];
            for (o, a) in out.iter_mut().zip(self.col(j)) {
                *o += a * b;
            }
        }
    }
}

/// `Σ aᵢ bᵢ` over the common length, with eight independent accumulators (vectorizes, and is
/// no less accurate than one running sum).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Lower Cholesky factor of a symmetric positive-definite `k × k` matrix (row-major).
pub(crate) struct Cholesky {
    k: usize,
    l: Vec<f64>,
    /// the pivots `dⱼ` (squared diagonal of the factor): the residual sum of squares of
    /// column `j` on the previous columns
    pub pivots: Vec<f64>,
}

impl Cholesky {
    /// Factors `a`; `Err(column)` when the relative pivot of `column` falls below
    /// [`COLLINEAR_PIVOT`] (the column is a combination of the previous ones).
    pub fn new(a: &[f64], k: usize) -> Result<Self, usize> {
        let mut l = vec![0.0; k * k];
        let mut pivots = vec![0.0; k];
        for j in 0..k {
            let mut d = a[j * k + j];
            for m in 0..j {
                d -= l[j * k + m] * l[j * k + m];
            }
            let diag = a[j * k + j];
            if !(diag > 0.0 && d > COLLINEAR_PIVOT * diag && d.is_finite()) {
                return Err(j);
            }
            pivots[j] = d;
            let djj = d.sqrt();
            l[j * k + j] = djj;
            for i in j + 1..k {
                let mut s = a[i * k + j];
                for m in 0..j {
                    s -= l[i * k + m] * l[j * k + m];
                }
                l[i * k + j] = s / djj;
            }
        }
        Ok(Self { k, l, pivots })
    }

    /// Solves `A x = b` in place.
    pub fn solve(&self, b: &mut [f64]) {
        let k = self.k;
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
    }

    /// `A⁻¹` (row-major).
    pub fn inverse(&self) -> Vec<f64> {
        let k = self.k;
        let mut inv = vec![0.0; k * k];
        let mut e = vec![0.0; k];
        for c in 0..k {
            e.iter_mut().for_each(|v| *v = 0.0);
            e[c] = 1.0;
            self.solve(&mut e);
            for r in 0..k {
                inv[r * k + c] = e[r];
            }
        }
        // symmetrize exactly
        for r in 0..k {
            for c in r + 1..k {
                let v = 0.5 * (inv[r * k + c] + inv[c * k + r]);
                inv[r * k + c] = v;
                inv[c * k + r] = v;
            }
        }
        inv
    }
}

/// `B M B` for symmetric `k × k` matrices (row-major).
pub(crate) fn sandwich(b: &[f64], m: &[f64], k: usize) -> Vec<f64> {
    let mut bm = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            bm[i * k + j] = (0..k).map(|l| b[i * k + l] * m[l * k + j]).sum();
        }
    }
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            out[i * k + j] = (0..k).map(|l| bm[i * k + l] * b[l * k + j]).sum();
        }
    }
    for i in 0..k {
        for j in i + 1..k {
            let v = 0.5 * (out[i * k + j] + out[j * k + i]);
            out[i * k + j] = v;
            out[j * k + i] = v;
        }
    }
    out
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

/// Standard normal survival function `P(Z > z)`, accurate in the tail.
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}
