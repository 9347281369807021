//! Dense helpers shared by the batch learners: the equilibrated design matrix and its
//! Gram matrices, meats, leverages and cluster scores, all through
//! [`prudentia_core::linalg`] (its one GEMM and its small Cholesky that reports how close to
//! singular a matrix was).

// index loops over parallel arrays (matrix rows, scales, penalties) read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, ShapeBuilder};
use prudentia_core::linalg::{matmul_into, SmallCholesky};
use prudentia_core::{CoreError, CoreResult};

pub(crate) use prudentia_core::linalg::{dot, pow2_scale, sandwich};

/// A column-major `rows × cols` view of `s` (exactly `rows · cols` long).
fn cm(s: &[f64], rows: usize, cols: usize) -> CoreResult<ArrayView2<'_, f64>> {
    let len = s.len();
    ArrayView2::from_shape((rows, cols).f(), s).map_err(|_| block_error(rows, cols, len))
}

/// A mutable column-major `rows × cols` view of `s`.
fn cm_mut(s: &mut [f64], rows: usize, cols: usize) -> CoreResult<ArrayViewMut2<'_, f64>> {
    let len = s.len();
    ArrayViewMut2::from_shape((rows, cols).f(), s).map_err(|_| block_error(rows, cols, len))
}

/// A row-major `rows × cols` view of `s`.
fn rm(s: &[f64], rows: usize, cols: usize) -> CoreResult<ArrayView2<'_, f64>> {
    let len = s.len();
    ArrayView2::from_shape((rows, cols), s).map_err(|_| block_error(rows, cols, len))
}

fn block_error(rows: usize, cols: usize, len: usize) -> CoreError {
    CoreError::ShapeMismatch {
        field: "dense block",
        expected: vec![rows.saturating_mul(cols)],
        found: vec![len],
    }
}

/// A dense column-major matrix owned as one `Vec`.
pub(crate) struct ColMat {
    data: Vec<f64>,
    nrows: usize,
    ncols: usize,
}

impl ColMat {
    fn zeros(nrows: usize, ncols: usize) -> Self {
        Self {
            data: vec![0.0; nrows * ncols],
            nrows,
            ncols,
        }
    }

    /// Column `j`.
    pub(crate) fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.nrows..(j + 1) * self.nrows]
    }

    fn view(&self) -> CoreResult<ArrayView2<'_, f64>> {
        cm(&self.data, self.nrows, self.ncols)
    }

    pub(crate) fn ncols(&self) -> usize {
        self.ncols
    }
}

/// The design `Z = X S⁻¹` (column-major, materialized: the logistic fit re-weights it every
/// iteration), with `S = diag(sⱼ)` power-of-two column scales putting every column's largest
/// entry in `[1, 2)`; an intercept is column 0. A coefficient of the scaled problem maps back
/// as `βⱼ = β̃ⱼ / sⱼ`, exactly as far as `f64` allows.
pub(crate) struct Design {
    /// n × k scaled design.
    pub z: ColMat,
    /// Column scales `sⱼ` (k).
    pub col_scale: Vec<f64>,
}

impl Design {
    /// Builds the design from a validated (finite) `x`.
    pub(crate) fn new(x: ArrayView2<'_, f64>, intercept: bool) -> CoreResult<Self> {
        let b = BlockDesign::new(x, ndarray::ArrayView1::from(&[][..]), None, intercept)?;
        let (n, k) = (b.n, b.k());
        let mut z = ColMat::zeros(n, k);
        b.for_blocks(|i0, i1, blk| {
            let m = i1 - i0;
            for j in 0..k {
                z.col_mut(j)[i0..i1].copy_from_slice(&blk[j * m..(j + 1) * m]);
            }
            Ok(())
        })?;
        Ok(Design {
            z,
            col_scale: b.col_scale,
        })
    }

    /// `diag(f) Z`, column by column.
    pub(crate) fn rows_scaled(&self, f: &[f64]) -> ColMat {
        let (n, k) = (self.z.nrows, self.z.ncols);
        let mut u = ColMat::zeros(n, k);
        for j in 0..k {
            for ((o, &zv), &fv) in u.col_mut(j).iter_mut().zip(self.z.col(j)).zip(f) {
                *o = zv * fv;
            }
        }
        u
    }

    pub(crate) fn k(&self) -> usize {
        self.z.ncols()
    }
}

/// Rows per block of [`BlockDesign`]: a 2000 × k block stays in the L2 cache for k ≈ 20,
/// and its column stride (16,000 bytes) is not a multiple of 4 KiB, which would alias every
/// column of a row to one cache set while the block is filled row by row.
const BLOCK: usize = 2000;

/// The same equilibrated design as [`Design`], never materialized: every pass rebuilds it
/// block by block (2000 rows at a time, in a reused buffer) from the caller's rows, so a fit
/// streams over `x` a few times instead of allocating and page-faulting an `n × k` copy.
pub(crate) struct BlockDesign<'a> {
    xs: std::borrow::Cow<'a, [f64]>,
    n: usize,
    p: usize,
    intercept: bool,
    /// Scaled response (n).
    pub y: Vec<f64>,
    /// Column scales `sⱼ` (k).
    pub col_scale: Vec<f64>,
    inv_scale: Vec<Option<f64>>,
    /// Response scale `s_y`.
    pub y_scale: f64,
    /// Row weights `√(wᵢ / max w)` when weighted.
    pub row_weight: Option<Vec<f64>>,
    /// The largest weight (1 when unweighted).
    pub max_weight: f64,
    /// `(ZᵀZ, Zᵀỹ)` (row-major k × k, k) when the design is [raw](Self::raw): accumulated
    /// in the pass that found the column scales.
    normal: Option<(Vec<f64>, Vec<f64>)>,
    /// Unweighted, with every column scale within [`RAW_RANGE`]: `x` itself (row-major,
    /// no copy) goes through the products, and their results are rescaled afterwards by
    /// the exact powers of two `1/sⱼ`, which rounds exactly as the scaled design would.
    raw: bool,
}

/// Column maxima in `[2^-RAW_EXP, 2^RAW_EXP]` (or 0) let products of `x` run unscaled:
/// a product of two entries then neither overflows (sums of up to 2^40 terms of at most
/// 2^480) nor underflows where it matters (entries below 2^-480 of a column's largest add
/// nothing to a Gram diagonal of at least that largest squared).
const RAW_EXP: i32 = 240;

fn raw_range(m: f64) -> bool {
    m == 0.0 || (libm::ldexp(1.0, -RAW_EXP)..=libm::ldexp(1.0, RAW_EXP)).contains(&m)
}

/// Symmetrizes a k × k product into row-major `out`, times `scale[j] · scale[l]`.
fn sym_scaled(gm: &Array2<f64>, scale: &[f64], out: &mut [f64]) {
    let k = scale.len();
    for j in 0..k {
        for l in 0..k {
            out[j * k + l] = 0.5 * (gm[[j, l]] + gm[[l, j]]) * scale[j] * scale[l];
        }
    }
}

impl<'a> BlockDesign<'a> {
    /// As [`Design::new`].
    pub(crate) fn new(
        x: ArrayView2<'a, f64>,
        y: ArrayView1<'_, f64>,
        weights: Option<ArrayView1<'_, f64>>,
        intercept: bool,
    ) -> CoreResult<Self> {
        let (n, p) = x.dim();
        let k = p + usize::from(intercept);
        let off = usize::from(intercept);
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
        let xs: std::borrow::Cow<'a, [f64]> = match x.to_slice() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(x.iter().copied().collect()),
        };
        let r = |i: usize| row_weight.as_ref().map_or(1.0, |rw| rw[i]);
        let my = y
            .iter()
            .enumerate()
            .fold(0.0f64, |a, (i, &v)| a.max((r(i) * v).abs()));
        let y_scale = pow2_scale(my);
        let ys: Vec<f64> = y.iter().enumerate().map(|(i, &v)| r(i) * v / y_scale).collect();
        let mut cmax = vec![0.0f64; k];
        // unweighted: the column maxima, column sums, XᵀX and Xᵀỹ in one pass over x
        let raw_moments = if row_weight.is_none() && !ys.is_empty() {
            let (xmax, moments) = raw_pass(&xs, &ys, n, p, intercept)?;
            if intercept {
                cmax[0] = 1.0;
            }
            cmax[off..].copy_from_slice(&xmax);
            moments
        } else {
            for i in 0..n {
                let ri = r(i);
                if intercept {
                    cmax[0] = cmax[0].max(ri);
                }
                for (m, &v) in cmax[off..].iter_mut().zip(&xs[i * p..(i + 1) * p]) {
                    *m = m.max((ri * v).abs());
                }
            }
            None
        };
        let col_scale: Vec<f64> = cmax.iter().map(|&m| pow2_scale(m)).collect();
        let inv_scale: Vec<Option<f64>> = col_scale
            .iter()
            .map(|&s| Some(1.0 / s).filter(|v| v.is_finite() && *v * s == 1.0))
            .collect();
        let raw = raw_moments.is_some()
            && cmax.iter().all(|&m| raw_range(m))
            && inv_scale.iter().all(Option::is_some);
        let normal = raw_moments.filter(|_| raw).map(|(gm, zty)| {
            let sc: Vec<f64> = inv_scale.iter().map(|v| v.unwrap_or(1.0)).collect();
            let mut g = vec![0.0; k * k];
            sym_scaled(&gm, &sc, &mut g);
            let zty = zty.iter().zip(&sc).map(|(v, s)| v * s).collect();
            (g, zty)
        });
        let raw = normal.is_some();
        Ok(BlockDesign {
            xs,
            n,
            p,
            intercept,
            y: ys,
            col_scale,
            inv_scale,
            y_scale,
            row_weight,
            max_weight,
            normal,
            raw,
        })
    }

    /// `(ZᵀZ, Zᵀỹ)`: from the constructor's pass when the design is raw, else by a pass.
    pub(crate) fn normal_equations(&self) -> CoreResult<(Vec<f64>, Vec<f64>)> {
        match &self.normal {
            Some((g, zty)) => Ok((g.clone(), zty.clone())),
            None => {
                let mut zty = vec![0.0; self.k()];
                let g = self.gram(None, Some((&self.y, &mut zty)))?;
                Ok((g, zty))
            }
        }
    }

    /// The exact inverse column scales `1/sⱼ` (all present when the design is raw).
    fn inv_scales(&self) -> Vec<f64> {
        self.inv_scale.iter().map(|v| v.unwrap_or(1.0)).collect()
    }

    /// Rows `i0..i1` of `x` as a row-major matrix (raw design only).
    fn x_block(&self, i0: usize, i1: usize) -> CoreResult<ArrayView2<'_, f64>> {
        rm(&self.xs[i0 * self.p..i1 * self.p], i1 - i0, self.p)
    }

    /// Raw design: `Σ fᵢ² zᵢ zᵢᵀ` over rows `i0..i1` added into `acc` (unscaled, k × k),
    /// through `U = diag(f) [1 x]` built row by row in `u` (row-major, contiguous).
    fn raw_weighted_gram(
        &self,
        i0: usize,
        i1: usize,
        f: &[f64],
        u: &mut [f64],
        acc: &mut Array2<f64>,
    ) -> CoreResult<()> {
        let (p, k, off) = (self.p, self.k(), usize::from(self.intercept));
        let m = i1 - i0;
        let xb = &self.xs[i0 * p..i1 * p];
        for ((urow, xrow), &fi) in u[..m * k]
            .chunks_exact_mut(k)
            .zip(xb.chunks_exact(p.max(1)))
            .zip(f)
        {
            if off == 1 {
                urow[0] = fi;
            }
            for (o, &v) in urow[off..].iter_mut().zip(xrow) {
                *o = fi * v;
            }
        }
        if p == 0 {
            // chunks_exact(1) above visited nothing of x: the intercept column alone
            for (urow, &fi) in u[..m * k].chunks_exact_mut(k).zip(f) {
                urow[0] = fi;
            }
        }
        let um = rm(&u[..m * k], m, k)?;
        matmul_into(acc.view_mut(), true, um.t(), um, 1.0)
    }

    pub(crate) fn k(&self) -> usize {
        self.p + usize::from(self.intercept)
    }

    /// Writes rows `i0..i1` of `Z` into `buf`, column-major with stride `m = i1 − i0`: in
    /// tiles of 64 rows (10 KiB of `x` for 20 columns, in L1), column by column.
    fn fill(&self, i0: usize, i1: usize, buf: &mut [f64]) {
        const TILE: usize = 64;
        let m = i1 - i0;
        let off = usize::from(self.intercept);
        let p = self.p;
        let rw = self.row_weight.as_deref().map(|r| &r[i0..i1]);
        if self.intercept {
            let col = &mut buf[..m];
            let s = self.col_scale[0];
            match rw {
                Some(r) => col.iter_mut().zip(r).for_each(|(o, &w)| *o = w / s),
                None => col.iter_mut().for_each(|o| *o = 1.0 / s),
            }
        }
        let mut t0 = 0;
        while t0 < m {
            let t1 = (t0 + TILE).min(m);
            for src in 0..p {
                let j = src + off;
                let col = &mut buf[j * m + t0..j * m + t1];
                let xs = self.xs[(i0 + t0) * p + src..].iter().step_by(p);
                match self.inv_scale[j] {
                    Some(iv) => col.iter_mut().zip(xs).for_each(|(o, &v)| *o = v * iv),
                    None => {
                        let s = self.col_scale[j];
                        col.iter_mut().zip(xs).for_each(|(o, &v)| *o = v / s)
                    }
                }
            }
            t0 = t1;
        }
        if let Some(r) = rw {
            for j in off..self.k() {
                buf[j * m..(j + 1) * m]
                    .iter_mut()
                    .zip(r)
                    .for_each(|(o, &w)| *o *= w);
            }
        }
    }

    /// Calls `f(i0, i1, block)` for every block of rows; `block` is column-major with
    /// stride `i1 − i0`.
    fn for_blocks(&self, mut f: impl FnMut(usize, usize, &[f64]) -> CoreResult<()>) -> CoreResult<()> {
        let k = self.k();
        let mut buf = vec![0.0; BLOCK.min(self.n.max(1)) * k];
        let mut i0 = 0;
        while i0 < self.n {
            let i1 = (i0 + BLOCK).min(self.n);
            let len = (i1 - i0) * k;
            self.fill(i0, i1, &mut buf[..len]);
            f(i0, i1, &buf[..len])?;
            i0 = i1;
        }
        Ok(())
    }

    /// `Σ fᵢ² zᵢ zᵢᵀ` (row-major k × k), `f = None` for `ZᵀZ`; with `rhs = Some(v)` also
    /// `Zᵀ v` in the same pass.
    pub(crate) fn gram(&self, f: Option<&[f64]>, rhs: Option<(&[f64], &mut [f64])>) -> CoreResult<Vec<f64>> {
        let k = self.k();
        if let (true, Some(f), None) = (self.raw, f, rhs.as_ref()) {
            let mut acc = Array2::<f64>::zeros((k, k));
            let mut u = vec![0.0; BLOCK.min(self.n.max(1)) * k];
            let mut i0 = 0;
            while i0 < self.n {
                let i1 = (i0 + BLOCK).min(self.n);
                self.raw_weighted_gram(i0, i1, &f[i0..i1], &mut u, &mut acc)?;
                i0 = i1;
            }
            let mut g = vec![0.0; k * k];
            sym_scaled(&acc, &self.inv_scales(), &mut g);
            return Ok(g);
        }
        let mut g = vec![0.0; k * k];
        let mut gm = Array2::<f64>::zeros((k, k));
        let mut u = vec![
            0.0;
            if f.is_some() {
                BLOCK.min(self.n.max(1)) * k
            } else {
                0
            }
        ];
        let mut rhs = rhs;
        if let Some((_, out)) = rhs.as_mut() {
            out.iter_mut().for_each(|o| *o = 0.0);
        }
        self.for_blocks(|i0, i1, b| {
            let m = i1 - i0;
            if let Some((v, out)) = rhs.as_mut() {
                matmul_into(
                    cm_mut(out, k, 1)?,
                    true,
                    cm(b, m, k)?.t(),
                    cm(&v[i0..i1], m, 1)?,
                    1.0,
                )?;
            }
            let z: &[f64] = match f {
                Some(f) => {
                    for j in 0..k {
                        for ((o, &zv), &fv) in u[j * m..(j + 1) * m]
                            .iter_mut()
                            .zip(&b[j * m..(j + 1) * m])
                            .zip(&f[i0..i1])
                        {
                            *o = zv * fv;
                        }
                    }
                    &u[..m * k]
                }
                None => b,
            };
            let zm = cm(z, m, k)?;
            matmul_into(gm.view_mut(), true, zm.t(), zm, 1.0)
        })?;
        for j in 0..k {
            for l in 0..k {
                g[j * k + l] = 0.5 * (gm[[j, l]] + gm[[l, j]]);
            }
        }
        Ok(g)
    }

    /// `resid = ỹ − Zβ` and `out = Zᵀ resid`, in one pass; with `meat = Some(m)` also the
    /// HC0 meat `Σ residᵢ² zᵢ zᵢᵀ` (row-major k × k) in the same pass.
    pub(crate) fn residuals(
        &self,
        beta: &[f64],
        resid: &mut [f64],
        out: &mut [f64],
        meat: Option<&mut [f64]>,
    ) -> CoreResult<()> {
        if self.raw {
            return self.raw_residuals(beta, resid, out, meat);
        }
        let k = self.k();
        out.iter_mut().for_each(|o| *o = 0.0);
        let mut meat = meat;
        if let Some(mt) = meat.as_mut() {
            mt.iter_mut().for_each(|v| *v = 0.0);
        }
        let mut u = vec![
            0.0;
            if meat.is_some() {
                BLOCK.min(self.n.max(1)) * k
            } else {
                0
            }
        ];
        let mut mm = Array2::<f64>::zeros((k, k));
        self.for_blocks(|i0, i1, b| {
            let m = i1 - i0;
            let r = &mut resid[i0..i1];
            r.copy_from_slice(&self.y[i0..i1]);
            let zm = cm(b, m, k)?;
            matmul_into(cm_mut(&mut *r, m, 1)?, true, zm, cm(beta, k, 1)?, -1.0)?;
            matmul_into(cm_mut(&mut *out, k, 1)?, true, zm.t(), cm(&*r, m, 1)?, 1.0)?;
            if meat.is_some() {
                for j in 0..k {
                    for ((o, &zv), &rv) in u[j * m..(j + 1) * m]
                        .iter_mut()
                        .zip(&b[j * m..(j + 1) * m])
                        .zip(r.iter())
                    {
                        *o = zv * rv;
                    }
                }
                let um = cm(&u[..m * k], m, k)?;
                matmul_into(mm.view_mut(), true, um.t(), um, 1.0)?;
            }
            Ok(())
        })?;
        if let Some(mt) = meat {
            for j in 0..k {
                for l in 0..k {
                    mt[j * k + l] = 0.5 * (mm[[j, l]] + mm[[l, j]]);
                }
            }
        }
        Ok(())
    }

    /// [`Self::residuals`] on the raw design: `Zβ̃ = b₀ + X β'` with `β'ⱼ = β̃ⱼ / sⱼ` (exact),
    /// `Zᵀe` and the meat from `x` in place, rescaled at the end.
    fn raw_residuals(
        &self,
        beta: &[f64],
        resid: &mut [f64],
        out: &mut [f64],
        meat: Option<&mut [f64]>,
    ) -> CoreResult<()> {
        let (p, k, off) = (self.p, self.k(), usize::from(self.intercept));
        let sc = self.inv_scales();
        let b0 = if off == 1 { beta[0] * sc[0] } else { 0.0 };
        let bx: Vec<f64> = beta[off..].iter().zip(&sc[off..]).map(|(b, s)| b * s).collect();
        let mut xte = vec![0.0; p];
        let mut esum = 0.0;
        let mut acc = Array2::<f64>::zeros((if meat.is_some() { k } else { 0 }, k));
        let mut u = vec![
            0.0;
            if meat.is_some() {
                BLOCK.min(self.n.max(1)) * k
            } else {
                0
            }
        ];
        let mut i0 = 0;
        while i0 < self.n {
            let i1 = (i0 + BLOCK).min(self.n);
            let m = i1 - i0;
            let r = &mut resid[i0..i1];
            r.iter_mut().zip(&self.y[i0..i1]).for_each(|(o, &y)| *o = y - b0);
            if p > 0 {
                let xm = self.x_block(i0, i1)?;
                matmul_into(cm_mut(&mut *r, m, 1)?, true, xm, cm(&bx, p, 1)?, -1.0)?;
                matmul_into(cm_mut(&mut xte, p, 1)?, true, xm.t(), cm(&*r, m, 1)?, 1.0)?;
            }
            esum += r.iter().sum::<f64>();
            if meat.is_some() {
                self.raw_weighted_gram(i0, i1, r, &mut u, &mut acc)?;
            }
            i0 = i1;
        }
        if off == 1 {
            out[0] = esum * sc[0];
        }
        for j in 0..p {
            out[j + off] = xte[j] * sc[j + off];
        }
        if let Some(mt) = meat {
            sym_scaled(&acc, &sc, mt);
        }
        Ok(())
    }

    /// Leverages `hᵢ = zᵢᵀ B zᵢ`.
    pub(crate) fn leverages(&self, bread: &[f64]) -> CoreResult<Vec<f64>> {
        let k = self.k();
        let bm = rm(bread, k, k)?;
        let mut zb = vec![0.0; BLOCK.min(self.n.max(1)) * k];
        let mut h = vec![0.0; self.n];
        self.for_blocks(|i0, i1, b| {
            let m = i1 - i0;
            matmul_into(cm_mut(&mut zb[..m * k], m, k)?, false, cm(b, m, k)?, bm, 1.0)?;
            let hb = &mut h[i0..i1];
            for j in 0..k {
                for ((hv, &a), &c) in hb
                    .iter_mut()
                    .zip(&zb[j * m..(j + 1) * m])
                    .zip(&b[j * m..(j + 1) * m])
                {
                    *hv += a * c;
                }
            }
            Ok(())
        })?;
        Ok(h)
    }

    /// Per-cluster score sums `s_g = Σ_{i∈g} eᵢ zᵢ` (G × k).
    pub(crate) fn cluster_scores(&self, resid: &[f64], ids: &[usize], groups: usize) -> CoreResult<ColMat> {
        let k = self.k();
        let mut s = ColMat::zeros(groups, k);
        self.for_blocks(|i0, i1, b| {
            let m = i1 - i0;
            for j in 0..k {
                let sc = s.col_mut(j);
                for (t, &zv) in b[j * m..(j + 1) * m].iter().enumerate() {
                    sc[ids[i0 + t]] += resid[i0 + t] * zv;
                }
            }
            Ok(())
        })?;
        Ok(s)
    }
}

/// One pass over row-major `x` (n × p): the column maxima `max |xᵢⱼ|` (p) and, unscaled,
/// `[1 x]ᵀ[1 x]` (or `xᵀx` without intercept) and `[1 x]ᵀ v`, by blocks of rows read in
/// place (no copy) through the blocked matrix product; the products are `None` when they
/// overflow (a column beyond the raw range).
type Moments = (Array2<f64>, Vec<f64>);

fn raw_pass(
    xs: &[f64],
    v: &[f64],
    n: usize,
    p: usize,
    intercept: bool,
) -> CoreResult<(Vec<f64>, Option<Moments>)> {
    let off = usize::from(intercept);
    let k = p + off;
    let mut xmax = vec![0.0f64; p];
    let mut sums = vec![0.0f64; p];
    let mut vsum = 0.0;
    let mut gxx = Array2::<f64>::zeros((p, p));
    let mut xtv = vec![0.0f64; p];
    let mut products = true;
    let mut i0 = 0;
    while i0 < n {
        let i1 = (i0 + BLOCK).min(n);
        let m = i1 - i0;
        let xb = &xs[i0 * p..i1 * p];
        if p > 0 {
            for row in xb.chunks_exact(p) {
                for ((mx, s), &x) in xmax.iter_mut().zip(sums.iter_mut()).zip(row) {
                    *mx = mx.max(x.abs());
                    *s += x;
                }
            }
            // a column beyond the raw range may overflow the unscaled products: they are
            // then dropped (the design is not raw), the maxima still gathered
            if products {
                let xm = rm(xb, m, p)?;
                products = matmul_into(gxx.view_mut(), true, xm.t(), xm, 1.0).is_ok()
                    && matmul_into(cm_mut(&mut xtv, p, 1)?, true, xm.t(), cm(&v[i0..i1], m, 1)?, 1.0).is_ok();
            }
        }
        vsum += v[i0..i1].iter().sum::<f64>();
        i0 = i1;
    }
    let mut gm = Array2::<f64>::zeros((k, k));
    let mut ztv = vec![0.0; k];
    if intercept {
        gm[[0, 0]] = n as f64;
        ztv[0] = vsum;
        for j in 0..p {
            gm[[0, j + 1]] = sums[j];
            gm[[j + 1, 0]] = sums[j];
        }
    }
    for j in 0..p {
        ztv[j + off] = xtv[j];
        for l in 0..p {
            gm[[j + off, l + off]] = gxx[[j, l]];
        }
    }
    Ok((xmax, products.then_some((gm, ztv))))
}

/// `ZᵀZ` (k × k, row-major) through the blocked matrix product.
pub(crate) fn gram(z: &ColMat) -> CoreResult<Vec<f64>> {
    let k = z.ncols();
    let mut g = Array2::<f64>::zeros((k, k));
    let zv = z.view()?;
    matmul_into(g.view_mut(), false, zv.t(), zv, 1.0)?;
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            // symmetrize: the product is symmetric up to rounding
            out[i * k + j] = 0.5 * (g[[i, j]] + g[[j, i]]);
        }
    }
    Ok(out)
}

/// `Zᵀ v`.
pub(crate) fn zt_mul(z: &ColMat, v: &[f64], out: &mut [f64]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(z.col(j), v);
    }
}

/// `out = Z β`.
pub(crate) fn z_mul(z: &ColMat, beta: &[f64], out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for (j, &b) in beta.iter().enumerate() {
        if b == 0.0 {
            continue;
        }
        for (o, &zij) in out.iter_mut().zip(z.col(j)) {
            *o += zij * b;
        }
    }
}

/// Relative pivots below this are a rank-deficient matrix.
pub(crate) const SINGULAR_PIVOT: f64 = 1e-13;

/// The Cholesky factor of the symmetric row-major `k × k` matrix `a`: `Err(column)` at the
/// first pivot that is not positive, not finite, or below [`SINGULAR_PIVOT`] times its
/// diagonal entry.
pub(crate) fn cholesky(a: &[f64], k: usize) -> Result<SmallCholesky, usize> {
    SmallCholesky::new(a, k, SINGULAR_PIVOT)
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

    /// The raw (in-place, rescaled afterwards) path and the blocked equilibrated path give
    /// the same normal equations, residuals, `Zᵀe` and meats: unit weights force the
    /// blocked path on the same scaled problem.
    #[test]
    fn raw_design_matches_blocked_design() {
        let (n, p) = (4321, 5);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let scales = [1.0, 1e-30, 3e40, 0.25, 7.0];
        let x = ndarray::Array2::from_shape_fn((n, p), |(_, j)| next() * scales[j]);
        let y = ndarray::Array1::from_shape_fn(n, |i| x.row(i).sum() * 1e-3 + next() * 1e5);
        let ones = ndarray::Array1::from_elem(n, 1.0);
        for intercept in [true, false] {
            let raw = BlockDesign::new(x.view(), y.view(), None, intercept).unwrap();
            let blk = BlockDesign::new(x.view(), y.view(), Some(ones.view()), intercept).unwrap();
            assert!(raw.raw && !blk.raw);
            assert_eq!(raw.col_scale, blk.col_scale);
            let k = raw.k();
            let close = |a: &[f64], b: &[f64], what: &str| {
                let m = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (u, v) in a.iter().zip(b) {
                    assert!((u - v).abs() <= 1e-12 * m, "{what}: {u} vs {v}");
                }
            };
            let (g1, v1) = raw.normal_equations().unwrap();
            let (g2, v2) = blk.normal_equations().unwrap();
            close(&g1, &g2, "gram");
            close(&v1, &v2, "z'y");
            let beta: Vec<f64> = (0..k).map(|j| 0.1 * j as f64 - 0.2).collect();
            let (mut r1, mut r2) = (vec![0.0; n], vec![0.0; n]);
            let (mut o1, mut o2) = (vec![0.0; k], vec![0.0; k]);
            let (mut m1, mut m2) = (vec![0.0; k * k], vec![0.0; k * k]);
            raw.residuals(&beta, &mut r1, &mut o1, Some(&mut m1)).unwrap();
            blk.residuals(&beta, &mut r2, &mut o2, Some(&mut m2)).unwrap();
            close(&r1, &r2, "residuals");
            close(&o1, &o2, "z'e");
            close(&m1, &m2, "meat");
            close(&raw.gram(Some(&r1), None).unwrap(), &m2, "weighted gram");
        }
        // a column beyond the raw range keeps the blocked path
        let mut big = x.clone();
        // (1e250: 1e280 made entries of 3e40 · 1e280 infinite, which the products now refuse)
        big.column_mut(2).mapv_inplace(|v| v * 1e250);
        assert!(!BlockDesign::new(big.view(), y.view(), None, true).unwrap().raw);
    }

    #[test]
    fn cholesky_solves_and_detects_singular() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let c = cholesky(&a, 2).unwrap();
        let mut b = [2.0, 1.0];
        c.solve(&mut b).unwrap();
        assert!((4.0 * b[0] + 2.0 * b[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * b[0] + 3.0 * b[1] - 1.0).abs() < 1e-14);
        let inv = c.inverse();
        assert!((inv[0] - 3.0 / 8.0).abs() < 1e-15);
        assert_eq!(cholesky(&[1.0, 1.0, 1.0, 1.0], 2).err(), Some(1));
        assert_eq!(cholesky(&[0.0, 0.0, 0.0, 1.0], 2).err(), Some(0));
    }
}
