//! Dense helpers shared by the batch learners: the equilibrated design matrix, its Gram
//! matrix through faer, and a small Cholesky that reports how close to singular it was.

// index loops over parallel arrays (matrix rows, scales, penalties) read best as such
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use ndarray::{ArrayView1, ArrayView2};

/// `2^floor(log2 m)` for finite `m > 0`, else 1: an exact (power-of-two) scale that brings
/// `m` into `[1, 2)`.
pub(crate) fn pow2_scale(m: f64) -> f64 {
    if m.is_finite() && m > 0.0 {
        // log2 rounds up to 1024 near f64::MAX: clamp to the finite powers of two
        let e = (m.log2().floor() as i32).clamp(-1074, 1023);
        let s = libm::ldexp(1.0, e);
        if s > 0.0 && s.is_finite() {
            s
        } else {
            1.0
        }
    } else {
        1.0
    }
}

/// The design `Z = R X S⁻¹` (column-major), with `R = diag(√(wᵢ / max w))` the row weights
/// and `S = diag(sⱼ)` power-of-two column scales putting every column's largest entry in
/// `[1, 2)`; an intercept is column 0. The response is `ỹ = R y / s_y`. A coefficient of
/// the scaled problem maps back as `βⱼ = β̃ⱼ · s_y / sⱼ`, exactly as far as `f64` allows.
pub(crate) struct Design {
    /// n × k scaled design.
    pub z: Mat<f64>,
    /// Scaled response (n).
    pub y: Vec<f64>,
    /// Column scales `sⱼ` (k).
    pub col_scale: Vec<f64>,
    /// Response scale `s_y`.
    pub y_scale: f64,
    /// Row weights `√(wᵢ / max w)` when weighted.
    pub row_weight: Option<Vec<f64>>,
    /// The largest weight (1 when unweighted).
    pub max_weight: f64,
}

impl Design {
    /// Builds the design from validated (finite, shape-checked) inputs; weights must be
    /// finite and > 0.
    pub(crate) fn new(
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        weights: Option<ArrayView1<'_, f64>>,
        intercept: bool,
    ) -> Self {
        let (n, p) = x.dim();
        let k = p + usize::from(intercept);
        let (row_weight, max_weight) = match weights {
            Some(w) => {
                let wmax = w.iter().fold(0.0f64, |a, &b| a.max(b));
                (
                    Some(w.iter().map(|&wi| (wi / wmax).sqrt()).collect::<Vec<_>>()),
                    wmax,
                )
            }
            None => (None, 1.0),
        };
        let r = |i: usize| row_weight.as_ref().map_or(1.0, |rw| rw[i]);
        let mut z = Mat::<f64>::zeros(n, k);
        let mut col_scale = vec![1.0; k];
        let off = usize::from(intercept);
        if intercept {
            let m = (0..n).fold(0.0f64, |a, i| a.max(r(i)));
            let s = pow2_scale(m);
            col_scale[0] = s;
            for (i, v) in z.col_as_slice_mut(0).iter_mut().enumerate() {
                *v = r(i) / s;
            }
        }
        for j in 0..p {
            let xj = x.column(j);
            let m = xj
                .iter()
                .enumerate()
                .fold(0.0f64, |a, (i, &v)| a.max((r(i) * v).abs()));
            let s = pow2_scale(m);
            col_scale[j + off] = s;
            for (i, (v, &xv)) in z.col_as_slice_mut(j + off).iter_mut().zip(xj.iter()).enumerate() {
                *v = r(i) * xv / s;
            }
        }
        let my = y
            .iter()
            .enumerate()
            .fold(0.0f64, |a, (i, &v)| a.max((r(i) * v).abs()));
        let y_scale = pow2_scale(my);
        let ys = y.iter().enumerate().map(|(i, &v)| r(i) * v / y_scale).collect();
        Design {
            z,
            y: ys,
            col_scale,
            y_scale,
            row_weight,
            max_weight,
        }
    }

    pub(crate) fn k(&self) -> usize {
        self.z.ncols()
    }
}

/// `ZᵀZ` (k × k, row-major) through faer's blocked matrix product.
pub(crate) fn gram(z: &Mat<f64>) -> Vec<f64> {
    let k = z.ncols();
    let mut g = Mat::<f64>::zeros(k, k);
    matmul(&mut g, Accum::Replace, z.transpose(), z, 1.0, Par::Seq);
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            // symmetrize: the product is symmetric up to rounding
            out[i * k + j] = 0.5 * (g[(i, j)] + g[(j, i)]);
        }
    }
    out
}

/// `Zᵀ v`.
pub(crate) fn zt_mul(z: &Mat<f64>, v: &[f64], out: &mut [f64]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(z.col_as_slice(j), v);
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // four accumulators: faster, and no less accurate than one
    let mut acc = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * c + l] * b[4 * c + l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in 4 * chunks..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// `out = Z β`.
pub(crate) fn z_mul(z: &Mat<f64>, beta: &[f64], out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for (j, &b) in beta.iter().enumerate() {
        if b == 0.0 {
            continue;
        }
        for (o, &zij) in out.iter_mut().zip(z.col_as_slice(j)) {
            *o += zij * b;
        }
    }
}

/// A Cholesky factor of a symmetric positive-definite k × k matrix (row-major, lower).
pub(crate) struct Cholesky {
    l: Vec<f64>,
    k: usize,
    /// The smallest pivot relative to its diagonal entry: `1 − R²` of a column regressed on
    /// the previous ones (1 for orthogonal columns, 0 for a dependent one).
    pub min_relative_pivot: f64,
    /// The column with the smallest relative pivot.
    pub worst_column: usize,
}

/// Relative pivots below this are a rank-deficient matrix.
pub(crate) const SINGULAR_PIVOT: f64 = 1e-13;

impl Cholesky {
    /// Factors `a` (row-major k × k, symmetric). `Err(column)` at the first pivot that is not
    /// positive, not finite, or below [`SINGULAR_PIVOT`] times its diagonal entry.
    pub(crate) fn new(a: &[f64], k: usize) -> Result<Self, usize> {
        let mut l = vec![0.0; k * k];
        let mut min_rel = 1.0f64;
        let mut worst = 0;
        for j in 0..k {
            let ajj = a[j * k + j];
            let mut d = ajj;
            for m in 0..j {
                d -= l[j * k + m] * l[j * k + m];
            }
            if !(ajj.is_finite() && ajj > 0.0 && d.is_finite() && d > SINGULAR_PIVOT * ajj) {
                return Err(j);
            }
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
        Ok(Cholesky {
            l,
            k,
            min_relative_pivot: min_rel,
            worst_column: worst,
        })
    }

    /// Solves `A x = b` in place.
    pub(crate) fn solve(&self, b: &mut [f64]) {
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
    pub(crate) fn inverse(&self) -> Vec<f64> {
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

/// `B M B` for symmetric k × k row-major `B`, `M`.
pub(crate) fn sandwich(b: &[f64], m: &[f64], k: usize) -> Vec<f64> {
    let mut bm = vec![0.0; k * k];
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
    let mut out = vec![0.0; k * k];
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_scale_is_exact_power_of_two() {
        for m in [1.0, 1.5, 3.0, 1e300, f64::MAX, 5e-324, 1e-310, 0.1] {
            let s = pow2_scale(m);
            assert!(s > 0.0 && s.is_finite());
            let r = m / s;
            assert!((1.0..2.0).contains(&r) || (0.5..4.0).contains(&r), "{m} {s} {r}");
        }
        assert_eq!(pow2_scale(0.0), 1.0);
        assert_eq!(pow2_scale(f64::NAN), 1.0);
    }

    #[test]
    fn cholesky_solves_and_detects_singular() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let c = Cholesky::new(&a, 2).unwrap();
        let mut b = [2.0, 1.0];
        c.solve(&mut b);
        assert!((4.0 * b[0] + 2.0 * b[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * b[0] + 3.0 * b[1] - 1.0).abs() < 1e-14);
        let inv = c.inverse();
        assert!((inv[0] - 3.0 / 8.0).abs() < 1e-15);
        assert_eq!(Cholesky::new(&[1.0, 1.0, 1.0, 1.0], 2).err(), Some(1));
        assert_eq!(Cholesky::new(&[0.0, 0.0, 0.0, 1.0], 2).err(), Some(0));
    }
}
