//! The DR-learner's fast path: cross-fitting with the default nuisance models (the crate's
//! [`LogitConfig`] propensity and prudentia-learn's unpenalized OLS outcome models) and the
//! final-stage OLS with HC0/HC1 errors, from per-fold sufficient statistics.
//!
//! The units are put in (fold, arm) order and the covariates centred on their means and
//! scaled by powers of two, column-major. One pass gives the Gram matrix of `[1, x, y]` of
//! every (fold, arm) block; a training set's normal equations are then sums of blocks (no
//! pass over the data per fold, no subtraction), for the pooled model `[1, x, D]` as for
//! one model per arm. The logistic propensity is Newton–Raphson from a warm start (the
//! linear-probability fit rescaled for the first fold, the previous fold's solution for the
//! next ones), each iteration one pass over the training rows with vectorizable column
//! sweeps, stopping by [`LogitConfig`]'s rule (a step below `tolerance · (1 + max|β|)`).
//!
//! The fast path only takes the well-behaved case and hands everything else to the
//! reference path (the generic nuisance models and prudentia-learn's regression, which own
//! the errors and statuses): a design whose pivots are small (`1 − R²` of a column on the
//! previous ones below [`HANDOFF_PIVOT`], measured as prudentia-learn measures it, on the
//! uncentred columns), a likelihood that falls (line search needed), separation, the
//! iteration limit, or any non-finite value. Both paths solve the same problems: the
//! fast path's estimates agree with the reference path's to about 1e-10 (tested).

// index loops over parallel arrays read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::Array1;
use prudentia_core::Status;

use crate::data::CausalData;
use crate::dr::{FinalCovariance, OutcomeModel};
use crate::linalg::{dot, pow2_scale, sandwich, Cholesky};
use crate::logit::LogitConfig;

/// Relative pivots (prudentia-learn's measure) below this go to the reference path; it
/// reports collinearity at 1e-13 and reduced accuracy below 1e-10, and refines its solve
/// below 1e-4 (to the accuracy of this path's centred solve).
pub(crate) const HANDOFF_PIVOT: f64 = 1e-9;

/// The propensity's Newton iteration stops when the next step is predicted (quadratic
/// convergence) below this times `1 + max|β|`: the coefficients are then within about that
/// of the maximum, and the DR estimates unchanged to about 1e-10.
const QUADRATIC_STOP: f64 = 1e-11;

/// Rows per chunk of the product behind the log-likelihood (each factor is in [1, 2]).
const LL_CHUNK: usize = 256;

/// The final stage's coefficients and covariance, in the caller's units.
#[derive(Debug, Clone)]
pub(crate) struct FinalFit {
    pub coefficients: Vec<f64>,
    pub std_errors: Vec<f64>,
    /// row-major `k × k`
    pub correlation: Vec<f64>,
    pub status: Status,
}

/// Out-of-fold nuisances in the caller's row order.
pub(crate) struct Nuisances {
    pub raw_propensity: Array1<f64>,
    pub mu0: Array1<f64>,
    pub mu1: Array1<f64>,
}

/// The data in (fold, arm) order, centred and scaled, with the blocks' Gram matrices.
pub(crate) struct Prepared {
    n: usize,
    /// columns of `[1, z]`
    kx: usize,
    /// `perm[pos]` is the caller's row at position `pos`
    perm: Vec<usize>,
    /// block `b = 2 f + d` (fold `f`, arm `d`) holds positions `start[b]..start[b + 1]`
    start: Vec<usize>,
    folds: usize,
    /// column-major `kx × n`, column 0 the ones, column `j` `(x_{j-1} − m) / s`
    z: Vec<f64>,
    /// `m / s` per column (0 for the intercept)
    shift: Vec<f64>,
    /// the covariates' means `m`
    mean: Vec<f64>,
    /// `s` per column (1 for the intercept)
    scale: Vec<f64>,
    t: Vec<f64>,
    y_mean: f64,
    y_scale: f64,
    /// per block, the Gram matrix of `[1, z, y]` (`(kx + 1)²`, row-major)
    blocks: Vec<Vec<f64>>,
}

fn finite_scale(max_abs: f64) -> Option<f64> {
    let s = pow2_scale(max_abs);
    (max_abs.is_finite() && s.is_finite() && s > 0.0).then_some(s)
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// `out[i] = Σ_j β_j z_j[i]` over `range` of a column-major design with columns of length
/// `stride`.
fn z_mul(z: &[f64], stride: usize, beta: &[f64], lo: usize, hi: usize, out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for (j, &b) in beta.iter().enumerate() {
        let col = &z[j * stride + lo..j * stride + hi];
        for (o, &v) in out.iter_mut().zip(col) {
            *o += v * b;
        }
    }
}

/// Gram matrix `Σ wᵢ cᵢ cᵢᵀ` (or unweighted) of `cols` (each the same length) into `out`
/// (`k × k`, row-major, symmetric), using `buf` (that length) as scratch.
fn gram(cols: &[&[f64]], w: Option<&[f64]>, buf: &mut [f64], out: &mut [f64]) {
    let k = cols.len();
    for a in 0..k {
        let ca: &[f64] = match w {
            Some(w) => {
                for ((u, &x), &wi) in buf.iter_mut().zip(cols[a]).zip(w) {
                    *u = x * wi;
                }
                buf
            }
            None => cols[a],
        };
        for b in a..k {
            let v = dot(ca, cols[b]);
            out[a * k + b] = v;
            out[b * k + a] = v;
        }
    }
}

/// Cholesky factor of `g` (`k × k`) whose relative pivots, measured on the uncentred
/// columns (column `j` is `z_j + shift_j`, column 0 the intercept, `count` rows), stay above
/// [`HANDOFF_PIVOT`].
fn factor(g: &[f64], k: usize, shift: &[f64], count: f64) -> Option<Cholesky> {
    let c = Cholesky::new(g, k).ok()?;
    for j in 1..k {
        let s = shift[j];
        let raw = g[j * k + j] + 2.0 * s * g[j] + count * s * s;
        if !(raw.is_finite() && c.pivots[j] >= HANDOFF_PIVOT * raw) {
            return None;
        }
    }
    Some(c)
}

impl Prepared {
    /// `None` when a mean or scale is not finite (the reference path handles such data).
    pub fn new(data: &CausalData<'_>, labels: &[usize], folds: usize) -> Option<Self> {
        let (n, p) = data.x.dim();
        let kx = p + 1;
        let kw = kx + 1;
        let t_in = data.treatment;
        let arm = |i: usize| usize::from(t_in[i] == 1.0);
        let mut start = vec![0usize; 2 * folds + 1];
        for i in 0..n {
            start[2 * labels[i] + arm(i) + 1] += 1;
        }
        for b in 0..2 * folds {
            start[b + 1] += start[b];
        }
        let mut next = start.clone();
        let mut perm = vec![0usize; n];
        for i in 0..n {
            let b = 2 * labels[i] + arm(i);
            perm[next[b]] = i;
            next[b] += 1;
        }
        // means, then the largest deviation, per column, over a row-major copy if need be
        let xs = data.x.as_standard_layout();
        let xs = xs.as_slice()?;
        let nf = n as f64;
        let mut mean = vec![0.0; p];
        for i in 0..n {
            for (m, &v) in mean.iter_mut().zip(&xs[i * p..(i + 1) * p]) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= nf);
        if !all_finite(&mean) {
            return None;
        }
        let mut dev = vec![0.0f64; p];
        for i in 0..n {
            for ((d, &v), &m) in dev.iter_mut().zip(&xs[i * p..(i + 1) * p]).zip(&mean) {
                *d = d.max((v - m).abs());
            }
        }
        let mut scale = vec![1.0; kx];
        let mut shift = vec![0.0; kx];
        // dividing by a power of two is multiplying by its (exact) inverse
        let mut inv = vec![1.0; p];
        for j in 0..p {
            scale[j + 1] = finite_scale(dev[j])?;
            shift[j + 1] = mean[j] / scale[j + 1];
            inv[j] = 1.0 / scale[j + 1];
            if !(inv[j].is_finite() && inv[j] > 0.0) {
                return None;
            }
        }
        let mut z = vec![0.0; kx * n];
        z[..n].iter_mut().for_each(|v| *v = 1.0);
        let mut t = vec![0.0; n];
        let mut y = vec![0.0; n];
        let y_mean = data.outcome.iter().sum::<f64>() / nf;
        if !y_mean.is_finite() {
            return None;
        }
        let y_scale = finite_scale(data.outcome.iter().fold(0.0f64, |m, v| m.max((v - y_mean).abs())))?;
        // gathered in (fold, arm) order: sequential writes, one row read per unit
        for (pos, &i) in perm.iter().enumerate() {
            let row = &xs[i * p..(i + 1) * p];
            for j in 0..p {
                z[(j + 1) * n + pos] = (row[j] - mean[j]) * inv[j];
            }
            t[pos] = t_in[i];
            y[pos] = (data.outcome[i] - y_mean) / y_scale;
        }
        if !all_finite(&z) || !all_finite(&y) {
            return None;
        }
        let mut blocks = Vec::with_capacity(2 * folds);
        let mut buf = Vec::new();
        for b in 0..2 * folds {
            let (lo, hi) = (start[b], start[b + 1]);
            let mut cols: Vec<&[f64]> = (0..kx).map(|j| &z[j * n + lo..j * n + hi]).collect();
            cols.push(&y[lo..hi]);
            let mut g = vec![0.0; kw * kw];
            gram(&cols, None, &mut buf, &mut g);
            blocks.push(g);
        }
        if !blocks.iter().all(|g| all_finite(g)) {
            return None;
        }
        Some(Self {
            n,
            kx,
            perm,
            start,
            folds,
            z,
            shift,
            mean,
            scale,
            t,
            y_mean,
            y_scale,
            blocks,
        })
    }

    /// The covariates' means.
    pub fn means(&self) -> &[f64] {
        &self.mean
    }

    /// The rank check of `[1, x]` (as `linalg::check_rank`, from the blocks): `Err(column)`
    /// for the first column (intercept = 0) that is a combination of the previous ones, on
    /// the centred, unit-scaled correlation matrix.
    pub fn check_rank(&self) -> Result<(), usize> {
        let (n, kx) = (self.n as f64, self.kx);
        let p = kx - 1;
        if p == 0 {
            return Ok(());
        }
        let kw = kx + 1;
        let (g0, g1) = (self.train_gram(self.folds, 0), self.train_gram(self.folds, 1));
        let g = |a: usize, b: usize| g0[a * kw + b] + g1[a * kw + b];
        // centred cross products (the columns are centred up to rounding)
        let c = |a: usize, b: usize| g(a, b) - g(0, a) * g(0, b) / n;
        let mut norm = vec![0.0; p];
        for j in 0..p {
            let v = c(j + 1, j + 1);
            if v.is_nan() || v <= 0.0 {
                return Err(j + 1);
            }
            norm[j] = v.sqrt();
        }
        let mut r = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                r[a * p + b] = if a == b {
                    1.0
                } else {
                    c(a + 1, b + 1) / (norm[a] * norm[b])
                };
            }
        }
        Cholesky::new(&r, p).map(|_| ()).map_err(|j| j + 1)
    }

    /// The sum of the blocks of `arm` outside fold `f` (all folds for `f = folds`).
    fn train_gram(&self, f: usize, arm: usize) -> Vec<f64> {
        let kw = self.kx + 1;
        let mut g = vec![0.0; kw * kw];
        for h in (0..self.folds).filter(|&h| h != f) {
            for (a, b) in g.iter_mut().zip(&self.blocks[2 * h + arm]) {
                *a += b;
            }
        }
        g
    }

    /// The cross-fitted nuisances, or `None` for the reference path.
    pub fn cross_fit(&self, logit: &LogitConfig, outcome_model: OutcomeModel) -> Option<Nuisances> {
        let (n, kx) = (self.n, self.kx);
        let kw = kx + 1;
        let mut raw = vec![0.0; n];
        let mut mu0 = vec![0.0; n];
        let mut mu1 = vec![0.0; n];
        let mut beta_logit: Option<Vec<f64>> = None;
        let mut scratch = LogitScratch::default();
        let mut lin = vec![0.0; n];
        for f in 0..self.folds {
            let (lo, hi) = (self.start[2 * f], self.start[2 * f + 2]);
            let g0 = self.train_gram(f, 0);
            let g1 = self.train_gram(f, 1);
            let (n0, n1) = (g0[0], g1[0]);
            let ntr = n0 + n1;
            let sub = |g: &[f64], a: usize, b: usize| g[a * kw + b];
            // outcome models in the scaled units: μ = ȳ + s_y z·β
            match outcome_model {
                OutcomeModel::Pooled => {
                    let kp = kx + 1;
                    if ntr <= kp as f64 {
                        return None;
                    }
                    let mut g = vec![0.0; kp * kp];
                    let mut r = vec![0.0; kp];
                    for a in 0..kx {
                        for b in 0..kx {
                            g[a * kp + b] = sub(&g0, a, b) + sub(&g1, a, b);
                        }
                        g[a * kp + kx] = sub(&g1, a, 0);
                        g[kx * kp + a] = sub(&g1, a, 0);
                        r[a] = sub(&g0, a, kx) + sub(&g1, a, kx);
                    }
                    g[kx * kp + kx] = n1;
                    r[kx] = sub(&g1, 0, kx);
                    let mut shift = self.shift.clone();
                    shift.push(0.0);
                    let c = factor(&g, kp, &shift, ntr)?;
                    c.solve(&mut r);
                    if !all_finite(&r) {
                        return None;
                    }
                    let out = &mut lin[lo..hi];
                    z_mul(&self.z, n, &r[..kx], lo, hi, out);
                    for (pos, &v) in (lo..hi).zip(out.iter()) {
                        mu0[pos] = self.y_mean + self.y_scale * v;
                        mu1[pos] = self.y_mean + self.y_scale * (v + r[kx]);
                    }
                }
                OutcomeModel::PerArm => {
                    for (g, mu) in [(&g0, &mut mu0), (&g1, &mut mu1)] {
                        let count = g[0];
                        if count <= kx as f64 {
                            return None;
                        }
                        let mut a = vec![0.0; kx * kx];
                        let mut r = vec![0.0; kx];
                        for i in 0..kx {
                            for j in 0..kx {
                                a[i * kx + j] = sub(g, i, j);
                            }
                            r[i] = sub(g, i, kx);
                        }
                        let c = factor(&a, kx, &self.shift, count)?;
                        c.solve(&mut r);
                        if !all_finite(&r) {
                            return None;
                        }
                        let out = &mut lin[lo..hi];
                        z_mul(&self.z, n, &r, lo, hi, out);
                        for (pos, &v) in (lo..hi).zip(out.iter()) {
                            mu[pos] = self.y_mean + self.y_scale * v;
                        }
                    }
                }
            }
            // propensity: Newton from a warm start
            let mut gx = vec![0.0; kx * kx];
            for a in 0..kx {
                for b in 0..kx {
                    gx[a * kx + b] = sub(&g0, a, b) + sub(&g1, a, b);
                }
            }
            let start = match beta_logit.take() {
                Some(b) => b,
                None => lpm_start(&gx, &g1, kx, kw, n1, ntr)?,
            };
            let beta = self.fit_logit(logit, f, start, n1, ntr, &mut scratch)?;
            let out = &mut lin[lo..hi];
            z_mul(&self.z, n, &beta, lo, hi, out);
            for (pos, &eta) in (lo..hi).zip(out.iter()) {
                raw[pos] = sigmoid(eta);
            }
            beta_logit = Some(beta);
        }
        if !(all_finite(&mu0) && all_finite(&mu1)) {
            return None;
        }
        let mut out = Nuisances {
            raw_propensity: Array1::zeros(n),
            mu0: Array1::zeros(n),
            mu1: Array1::zeros(n),
        };
        for (pos, &i) in self.perm.iter().enumerate() {
            out.raw_propensity[i] = raw[pos];
            out.mu0[i] = mu0[pos];
            out.mu1[i] = mu1[pos];
        }
        Some(out)
    }

    /// Newton–Raphson for the propensity on the rows outside fold `f`, from `beta` (scaled
    /// units); `None` when the reference path should decide.
    fn fit_logit(
        &self,
        config: &LogitConfig,
        f: usize,
        mut beta: Vec<f64>,
        n1: f64,
        ntr: f64,
        s: &mut LogitScratch,
    ) -> Option<Vec<f64>> {
        let (n, kx) = (self.n, self.kx);
        let (lo, hi) = (self.start[2 * f], self.start[2 * f + 2]);
        let m = n - (hi - lo);
        // the training rows: positions 0..lo and hi..n, at lo.. in the row buffers
        s.t.clear();
        s.t.extend_from_slice(&self.t[..lo]);
        s.t.extend_from_slice(&self.t[hi..]);
        s.eta.resize(m, 0.0);
        s.w.resize(m, 0.0);
        s.r.resize(m, 0.0);
        s.buf.resize(m, 0.0);
        let col = |j: usize| &self.z[j * n..(j + 1) * n];
        // Σ over the training rows of v (row buffer) times column j
        let tdot = |v: &[f64], j: usize| dot(&v[..lo], &col(j)[..lo]) + dot(&v[lo..], &col(j)[hi..]);
        let mut h = vec![0.0; kx * kx];
        let mut g = vec![0.0; kx];
        // the intercept-only likelihood: a start that does worse is replaced by it
        let pbar = n1 / ntr;
        let ll_null = n1 * pbar.ln() + (ntr - n1) * (1.0 - pbar).ln();
        let mut null_start = false;
        let mut ll_prev = f64::NEG_INFINITY;
        let mut step_prev = f64::INFINITY;
        let mut it = 0usize;
        loop {
            let (e1, e2) = s.eta.split_at_mut(lo);
            z_mul(&self.z, n, &beta, 0, lo, e1);
            z_mul(&self.z, n, &beta, hi, n, e2);
            let mut ll = 0.0;
            // one scalar sweep: probabilities, weights, residuals and the likelihood
            // (branch-free: the signs of η are a coin toss for the branch predictor)
            let mut wrong = 0.0f64;
            for c0 in (0..m).step_by(LL_CHUNK) {
                let c1 = (c0 + LL_CHUNK).min(m);
                let mut prod = 1.0f64;
                for i in c0..c1 {
                    let et = s.eta[i];
                    let e = (-et.abs()).exp();
                    let d = 1.0 / (1.0 + e);
                    let pos = et >= 0.0;
                    let pi = if pos { d } else { e * d };
                    let y = s.t[i];
                    s.w[i] = pi * (1.0 - pi);
                    s.r[i] = y - pi;
                    wrong += if (y == 1.0) != pos { et.abs() } else { 0.0 };
                    prod *= 1.0 + e;
                }
                ll -= prod.ln();
            }
            ll -= wrong;
            if !ll.is_finite() {
                return None;
            }
            if it == 0 && !null_start && ll < ll_null - 1e-12 * ll_null.abs().max(1.0) {
                beta.iter_mut().for_each(|b| *b = 0.0);
                beta[0] = (pbar / (1.0 - pbar)).ln();
                null_start = true;
                continue;
            }
            if ll < ll_prev - 1e-12 * ll_prev.abs().max(1.0) {
                return None; // a step halving: the reference path's line search decides
            }
            if -ll < 1e-6 * ntr || it >= config.max_iterations {
                return None; // (near) separation or the iteration limit
            }
            it += 1;
            for j in 0..kx {
                g[j] = tdot(&s.r, j);
            }
            for a in 0..kx {
                let ca = col(a);
                let (b1, b2) = s.buf.split_at_mut(lo);
                let (w1, w2) = s.w.split_at(lo);
                for ((u, &wi), &za) in b1.iter_mut().zip(w1).zip(&ca[..lo]) {
                    *u = wi * za;
                }
                for ((u, &wi), &za) in b2.iter_mut().zip(w2).zip(&ca[hi..]) {
                    *u = wi * za;
                }
                for b in a..kx {
                    let v = tdot(&s.buf, b);
                    h[a * kx + b] = v;
                    h[b * kx + a] = v;
                }
            }
            let c = Cholesky::new(&h, kx).ok()?;
            c.solve(&mut g);
            if !all_finite(&g) {
                return None;
            }
            ll_prev = ll;
            for j in 0..kx {
                beta[j] += g[j];
            }
            let bmax = beta.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            let dmax = g.iter().fold(0.0f64, |a, d| a.max(d.abs()));
            // LogitConfig's rule: a step this small leaves an error of about its square
            let done = dmax <= config.tolerance * (1.0 + bmax)
                // in the quadratic regime (a small step, ten times smaller than the one
                // before), the next step would be about c·dmax² with c = dmax / prev²: when
                // that is below QUADRATIC_STOP the pass that would confirm it is skipped
                || (dmax <= 1e-3 * (1.0 + bmax)
                    && dmax <= 0.1 * step_prev
                    && dmax * dmax * (dmax / (step_prev * step_prev)) <= QUADRATIC_STOP * (1.0 + bmax));
            if done {
                return all_finite(&beta).then_some(beta);
            }
            step_prev = dmax;
        }
    }

    /// The final-stage OLS of `psi` (caller's row order) on `[1, x]` with HC0/HC1 errors,
    /// or `None` for the reference path.
    pub fn final_fit(&self, psi: &Array1<f64>, covariance: FinalCovariance) -> Option<FinalFit> {
        let (n, kx) = (self.n, self.kx);
        let kw = kx + 1;
        let all = self.train_gram(self.folds, 0);
        let treated = self.train_gram(self.folds, 1);
        let mut g = vec![0.0; kx * kx];
        for a in 0..kx {
            for b in 0..kx {
                g[a * kx + b] = all[a * kw + b] + treated[a * kw + b];
            }
        }
        let c = factor(&g, kx, &self.shift, n as f64)?;
        let mean = psi.iter().sum::<f64>() / n as f64;
        if !mean.is_finite() {
            return None;
        }
        let sp = finite_scale(psi.iter().fold(0.0f64, |m, v| m.max((v - mean).abs())))?;
        let mut e: Vec<f64> = self.perm.iter().map(|&i| (psi[i] - mean) / sp).collect();
        let mut beta: Vec<f64> = (0..kx).map(|j| dot(&self.z[j * n..(j + 1) * n], &e)).collect();
        c.solve(&mut beta);
        if !all_finite(&beta) {
            return None;
        }
        let mut fit = vec![0.0; n];
        z_mul(&self.z, n, &beta, 0, n, &mut fit);
        for (r, f) in e.iter_mut().zip(&fit) {
            *r -= f;
            *r *= *r;
        }
        let cols: Vec<&[f64]> = (0..kx).map(|j| &self.z[j * n..(j + 1) * n]).collect();
        let mut meat = vec![0.0; kx * kx];
        gram(&cols, Some(&e), &mut fit, &mut meat);
        let bread = c.inverse();
        let mut v = sandwich(&bread, &meat, kx);
        if covariance == FinalCovariance::Hc1 {
            let f = n as f64 / (n - kx) as f64;
            v.iter_mut().for_each(|x| *x *= f);
        }
        // back to the uncentred columns: intercept row [1, −shift], then unscale
        let mut tm = vec![0.0; kx * kx];
        tm[0] = 1.0;
        for j in 1..kx {
            tm[j] = -self.shift[j];
            tm[j * kx + j] = 1.0;
        }
        let mut tv = vec![0.0; kx * kx];
        for i in 0..kx {
            for j in 0..kx {
                tv[i * kx + j] = (0..kx).map(|l| tm[i * kx + l] * v[l * kx + j]).sum();
            }
        }
        let mut w = vec![0.0; kx * kx];
        for i in 0..kx {
            for j in 0..kx {
                w[i * kx + j] = (0..kx).map(|l| tv[i * kx + l] * tm[j * kx + l]).sum();
            }
        }
        let mut coefficients = vec![0.0; kx];
        let mut std_errors = vec![0.0; kx];
        coefficients[0] = mean + sp * (beta[0] - (1..kx).map(|j| beta[j] * self.shift[j]).sum::<f64>());
        std_errors[0] = sp * w[0].max(0.0).sqrt();
        for j in 1..kx {
            coefficients[j] = sp * beta[j] / self.scale[j];
            std_errors[j] = sp * w[j * kx + j].max(0.0).sqrt() / self.scale[j];
        }
        if !(all_finite(&coefficients) && all_finite(&std_errors)) {
            return None;
        }
        let mut correlation = vec![0.0; kx * kx];
        for i in 0..kx {
            correlation[i * kx + i] = 1.0;
            for j in i + 1..kx {
                let den = w[i * kx + i].max(0.0).sqrt() * w[j * kx + j].max(0.0).sqrt();
                let r = if den > 0.0 {
                    (0.5 * (w[i * kx + j] + w[j * kx + i]) / den).clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                let r = if r.is_finite() { r } else { 0.0 };
                correlation[i * kx + j] = r;
                correlation[j * kx + i] = r;
            }
        }
        Some(FinalFit {
            coefficients,
            std_errors,
            correlation,
            status: Status::Converged,
        })
    }
}

#[derive(Default)]
struct LogitScratch {
    t: Vec<f64>,
    eta: Vec<f64>,
    w: Vec<f64>,
    r: Vec<f64>,
    buf: Vec<f64>,
}

/// The first fold's start: the linear-probability fit with its slopes divided by
/// `p̄(1 − p̄)` (the logistic slope at the mean), the intercept `logit(p̄)` less the slopes
/// at the mean covariates.
fn lpm_start(gx: &[f64], g1: &[f64], kx: usize, kw: usize, n1: f64, ntr: f64) -> Option<Vec<f64>> {
    let pbar = n1 / ntr;
    let mut b: Vec<f64> = (0..kx).map(|a| g1[a * kw]).collect();
    let c = Cholesky::new(gx, kx).ok()?;
    c.solve(&mut b);
    let v = pbar * (1.0 - pbar);
    let mut beta = vec![0.0; kx];
    beta[0] = (pbar / (1.0 - pbar)).ln();
    for j in 1..kx {
        beta[j] = b[j] / v;
        beta[0] -= beta[j] * gx[j] / ntr;
    }
    all_finite(&beta).then_some(beta)
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}
