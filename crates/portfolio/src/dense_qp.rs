//! A structured primal–dual interior-point method for the problems the builder assembles
//! with a full covariance matrix (mean–variance) or with the Rockafellar–Uryasev CVaR rows
//! (mean–CVaR; Rockafellar & Uryasev 2000, "Optimization of conditional value-at-risk",
//! *J. Risk* 2(3)).
//!
//! Problem (the builder's conic form restricted to the zero and nonnegative cones):
//!
//! `min ½xᵀPx + qᵀx  s.t.  A_E x = b_E,  A_I x + s = b_I,  s ≥ 0`,
//!
//! where `P` is nonzero only on the leading `n × n` block (the weights `w`, a dense covariance,
//! or zero for the LP). The *dense* variables are the weights plus a few *hub* columns named
//! by the caller (the CVaR threshold ζ); every other variable is an
//! auxiliary (`t ≥ |w|`, `u ≥ |w − w₀|`, the convex-cost `v`, the scenario excesses
//! `z_s ≥ max(0, −r_sᵀw − ζ)`). The method is Mehrotra's predictor–corrector (Mehrotra 1992,
//! SIAM J. Optim. 2(4); Nocedal & Wright 2006, *Numerical Optimization*, §16.6 for the QP
//! form) with a common primal–dual step and the CVXOPT initial point (Vandenberghe 2010, "The
//! CVXOPT linear and quadratic cone program solvers", §3.3).
//!
//! Each Newton step solves the reduced system `(P + A_IᵀDA_I) dx + A_Eᵀdy = r` with
//! `D = diag(z/s)` by exploiting the structure instead of a general sparse LDLᵀ:
//!
//! - rows with a single dense entry (bounds) add to the diagonal of the dense block;
//! - rows with exactly one auxiliary (and any dense entries) are eliminated per auxiliary in
//!   closed form. The auxiliary's block is a scalar, and its Schur complement onto the dense
//!   block is computed with Lagrange's identity,
//!   `Σ_{r<r'} d_r d_r' (c_r' a_r − c_r a_r')(c_r' a_r − c_r a_r')ᵀ / Σ_r d_r c_r²`
//!   (`c` the coefficient on the auxiliary, `a` the dense part of the row), a sum of positive
//!   semidefinite terms, so there is no cancellation when the `d` spread over many orders of
//!   magnitude near the optimum. For a scenario of the CVaR LP (rows `−r_sᵀw − ζ − z_s ≤ 0`
//!   and `−z_s ≤ 0`) that is one rank-one term `d₁d₂/(d₁+d₂)·(r_s, 1)(r_s, 1)ᵀ`: the dense
//!   block is `P + R̃ᵀER̃ + diag` in O(S·n²) per step;
//! - what remains is the dense block of order n (+ hubs), factored by Cholesky
//!   (faer's kernel, as `prudentia_core::linalg::Cholesky`, in storage kept between steps);
//! - the few remaining rows (sums over many names: net, sector, gross, leverage, turnover,
//!   the CVaR limit, cuts, and every equality) enter through the Schur complement of the
//!   bordered system `[K Gᵀ; G −W]`, with `W = D⁻¹` for inequalities and 0 for equalities;
//! - up to two steps of iterative refinement on the bordered system, stopped at Clarabel's
//!   refinement tolerances.
//!
//! Per iteration that is one dense Cholesky of order n (+ hubs) plus O(n²·h) for h bordering
//! rows, against a general sparse LDLᵀ in a general conic solver. Anything outside this
//! structure, a failed factorization, a stall (the worst of the primal, dual and gap measures
//! not halving over 8 iterations) or no convergence returns `None`, and the caller solves the
//! same problem with Clarabel (which also certifies infeasibility).

// Index loops over parallel arrays (rows, weights, duals) read as the equations do.
#![allow(clippy::needless_range_loop)]

use clarabel::algebra::CscMatrix;
use clarabel::solver::SupportedConeT;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use ndarray::{Array2, ShapeBuilder};
use prudentia_core::linalg::dot;

/// A solution in Clarabel's conventions: `Ax + s = b`, `Px + q + Aᵀz = 0`.
pub(crate) struct QpSolution {
    pub x: Vec<f64>,
    pub z: Vec<f64>,
    pub s: Vec<f64>,
    pub iterations: u32,
}

/// More bordering rows than this and the problem is left to the general solver.
const MAX_BORDER_ROWS: usize = 256;
/// Iterations over which the worst of the primal, dual and gap measures must halve.
const STALL_WINDOW: usize = 8;
/// Auxiliaries whose rows touch at least this many dense columns add their rank-one terms
/// to the dense block through one GEMM (the scenarios of the CVaR LP) rather than one by one.
const WIDE_SUPPORT: usize = 8;
/// Iterative refinement stops at a residual within `REFINE_ABS + REFINE_REL · ‖r‖∞`
/// (Clarabel's `iterative_refinement_abstol` and `_reltol` defaults).
const REFINE_ABS: f64 = 1e-12;
const REFINE_REL: f64 = 1e-13;
/// Fraction of the distance to the boundary taken by a step.
const STEP_FRACTION: f64 = 0.99;
/// The same for a linear program (`P = 0`, the mean–CVaR LP): LP interior-point codes step
/// closer to the boundary (Lustig, Marsten & Shanno 1992, ORSA J. Comput. 4(4), use 0.99995;
/// Mehrotra 1992 a factor tending to 1), which cuts the iterations of the decide-size CVaR
/// LP from 17 to 14; the quadratic programs keep 0.99, against which their tests pin the
/// answers.
const LP_STEP_FRACTION: f64 = 0.999;

/// One row eliminated with its auxiliary: (row, coefficient on the auxiliary).
type AuxRow = (usize, f64);

/// Where a column of `x` goes in the Newton system.
#[derive(Debug, Clone, Copy)]
enum Pos {
    /// A column of the dense block (weights first, then the hubs).
    Dense(usize),
    /// An auxiliary eliminated with its own rows.
    Aux(usize),
}

/// The problem's rows sorted by how they enter the Newton system.
struct Structure {
    /// Weights: the leading columns of `x`, the only ones `P` may touch.
    n: usize,
    /// Order of the dense block: the weights and then the hub columns.
    nd: usize,
    nvar: usize,
    m: usize,
    is_eq: Vec<bool>,
    row_start: Vec<usize>,
    row_col: Vec<usize>,
    row_val: Vec<f64>,
    /// Per row, its longest run of consecutive columns: (first entry, length, first column),
    /// so that the products with a row are slice operations (the weights of a scenario row).
    row_run: Vec<(usize, usize, usize)>,
    /// Per row, its entries on dense columns (CSR: starts, dense positions, values).
    dense_start: Vec<usize>,
    dense_pos: Vec<usize>,
    dense_val: Vec<f64>,
    /// Per row, the first dense position when its dense entries are consecutive positions
    /// (a scenario row of the CVaR LP: the weights and ζ), so that they are slice operations.
    dense_first: Vec<Option<usize>>,
    /// Dense P block, column-major n × n, both triangles.
    p_dense: Vec<f64>,
    /// Whether `P = 0` (a linear program): products with `P` are skipped.
    p_zero: bool,
    /// Column of each dense position.
    dense_cols: Vec<usize>,
    /// Column of each auxiliary.
    aux_cols: Vec<usize>,
    /// Inequality rows with one dense entry and nothing else: (row, dense position, coefficient).
    diag_rows: Vec<(usize, usize, f64)>,
    /// Per auxiliary: its eliminated rows.
    aux_rows: Vec<Vec<AuxRow>>,
    /// Per auxiliary: the sorted dense positions its rows touch (flattened; `sup_start`).
    sup_start: Vec<usize>,
    sup_pos: Vec<usize>,
    /// Per auxiliary: the first position when its support is a contiguous range.
    contiguous: Vec<Option<usize>>,
    /// Bordering rows.
    border: Vec<usize>,
    /// Per row: whether it is a bordering row.
    is_border: Vec<bool>,
}

impl Structure {
    /// `hubs`: columns past the weights kept in the dense block (the CVaR threshold ζ, which
    /// appears in the row of every scenario).
    fn detect(
        p: &CscMatrix<f64>,
        a: &CscMatrix<f64>,
        cones: &[SupportedConeT<f64>],
        n: usize,
        hubs: &[usize],
    ) -> Option<Self> {
        let nvar = a.n;
        let m = a.m;
        if n == 0 || n > nvar || p.n != nvar {
            return None;
        }
        let is_eq = equality_rows(cones, m)?;
        let p_dense = dense_p(p, n)?;
        let (row_start, row_col, row_val) = csc_rows(a);
        let row_run = row_runs(&row_start, &row_col);
        let (pos, dense_cols, aux_cols) = positions(n, nvar, hubs)?;
        let nd = dense_cols.len();
        let n_aux = aux_cols.len();
        let mut diag_rows = Vec::new();
        let mut aux_rows: Vec<Vec<AuxRow>> = vec![Vec::new(); n_aux];
        let mut border = Vec::new();
        let mut dense_start = Vec::with_capacity(m + 1);
        dense_start.push(0);
        let mut dense_pos = Vec::new();
        let mut dense_val = Vec::new();
        for r in 0..m {
            let mut aux_entry = None;
            let mut n_aux_here = 0;
            for k in row_start[r]..row_start[r + 1] {
                let (c, v) = (row_col[k], row_val[k]);
                if v == 0.0 {
                    continue;
                }
                match pos[c] {
                    Pos::Dense(d) => {
                        dense_pos.push(d);
                        dense_val.push(v);
                    }
                    Pos::Aux(ai) => {
                        n_aux_here += 1;
                        aux_entry = Some((ai, v));
                    }
                }
            }
            let n_dense = dense_pos.len() - dense_start[r];
            dense_start.push(dense_pos.len());
            if is_eq[r] {
                border.push(r);
                continue;
            }
            match (n_dense, n_aux_here, aux_entry) {
                (1, 0, _) => {
                    let k = dense_start[r];
                    diag_rows.push((r, dense_pos[k], dense_val[k]));
                }
                (_, 1, Some((ai, av))) => aux_rows[ai].push((r, av)),
                _ => border.push(r),
            }
        }
        // every auxiliary must be pinned by rows of its own, else the block is singular
        if aux_rows.iter().any(|rows| rows.is_empty()) || border.len() > MAX_BORDER_ROWS {
            return None;
        }
        let (sup_start, sup_pos) = supports(&aux_rows, &dense_start, &dense_pos);
        let contiguous = (0..n_aux)
            .map(|ai| {
                let sup = &sup_pos[sup_start[ai]..sup_start[ai + 1]];
                match (sup.first(), sup.last()) {
                    (Some(&f), Some(&l)) if l - f + 1 == sup.len() => Some(f),
                    _ => None,
                }
            })
            .collect();
        let mut is_border = vec![false; m];
        for &r in &border {
            is_border[r] = true;
        }
        let dense_first = dense_start
            .windows(2)
            .map(|w| {
                let run = &dense_pos[w[0]..w[1]];
                let first = *run.first()?;
                run.iter()
                    .enumerate()
                    .all(|(k, &p)| p == first + k)
                    .then_some(first)
            })
            .collect();
        Some(Self {
            dense_first,
            contiguous,
            n,
            nd,
            nvar,
            m,
            is_eq,
            is_border,
            row_start,
            row_col,
            row_val,
            row_run,
            dense_start,
            dense_pos,
            dense_val,
            p_zero: p_dense.iter().all(|v| *v == 0.0),
            p_dense,
            dense_cols,
            aux_cols,
            diag_rows,
            aux_rows,
            sup_start,
            sup_pos,
            border,
        })
    }

    /// The dense entries (position, value) of row `r`.
    fn dense_row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.dense_start[r]..self.dense_start[r + 1]).map(move |k| (self.dense_pos[k], self.dense_val[k]))
    }

    /// `out[p] += f · a_rp` over the dense entries (position p) of row `r`.
    fn dense_axpy(&self, r: usize, f: f64, out: &mut [f64]) {
        let vals = &self.dense_val[self.dense_start[r]..self.dense_start[r + 1]];
        match self.dense_first[r] {
            Some(first) => {
                for (o, v) in out[first..first + vals.len()].iter_mut().zip(vals) {
                    *o += f * v;
                }
            }
            None => {
                for (p, v) in self.dense_row(r) {
                    out[p] += f * v;
                }
            }
        }
    }

    /// `out[p] −= f · a_rp` over the dense entries of row `r` (the same bits: `o + (−f)·v` is
    /// `o − f·v` exactly in IEEE arithmetic).
    fn dense_sub(&self, r: usize, f: f64, out: &mut [f64]) {
        self.dense_axpy(r, -f, out);
    }

    /// The dense positions auxiliary `ai` touches.
    fn support(&self, ai: usize) -> &[usize] {
        &self.sup_pos[self.sup_start[ai]..self.sup_start[ai + 1]]
    }

    fn row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.row_start[r]..self.row_start[r + 1]).map(move |k| (self.row_col[k], self.row_val[k]))
    }

    /// `a_r · v`: the run of consecutive columns as one vectorized dot product, the rest
    /// entry by entry.
    fn row_dot(&self, r: usize, v: &[f64]) -> f64 {
        let (k0, len, c0) = self.row_run[r];
        let mut s = dot(&self.row_val[k0..k0 + len], &v[c0..c0 + len]);
        for k in (self.row_start[r]..k0).chain(k0 + len..self.row_start[r + 1]) {
            s += self.row_val[k] * v[self.row_col[k]];
        }
        s
    }

    /// `out += y · a_r`.
    fn row_axpy(&self, r: usize, y: f64, out: &mut [f64]) {
        let (k0, len, c0) = self.row_run[r];
        for (o, a) in out[c0..c0 + len].iter_mut().zip(&self.row_val[k0..k0 + len]) {
            *o += a * y;
        }
        for k in (self.row_start[r]..k0).chain(k0 + len..self.row_start[r + 1]) {
            out[self.row_col[k]] += self.row_val[k] * y;
        }
    }

    /// `out = A v` (all rows).
    fn mul_a(&self, v: &[f64], out: &mut [f64]) {
        for (r, o) in out.iter_mut().enumerate().take(self.m) {
            *o = self.row_dot(r, v);
        }
    }

    /// `out += Aᵀ y` (all rows).
    fn add_at(&self, y: &[f64], out: &mut [f64]) {
        for (r, &yr) in y.iter().enumerate().take(self.m) {
            if yr != 0.0 {
                self.row_axpy(r, yr, out);
            }
        }
    }

    /// `out = P v`.
    fn mul_p(&self, v: &[f64], out: &mut [f64]) {
        let n = self.n;
        out.iter_mut().for_each(|o| *o = 0.0);
        if self.p_zero {
            return;
        }
        for j in 0..n {
            let vj = v[j];
            if vj != 0.0 {
                let col = &self.p_dense[j * n..(j + 1) * n];
                for (o, p) in out[..n].iter_mut().zip(col) {
                    *o += p * vj;
                }
            }
        }
    }
}

/// Per row, whether it is an equality (zero cone); `None` for another cone, a count that is
/// not `m`, or no inequality at all.
fn equality_rows(cones: &[SupportedConeT<f64>], m: usize) -> Option<Vec<bool>> {
    let mut is_eq = Vec::with_capacity(m);
    for c in cones {
        match c {
            SupportedConeT::ZeroConeT(k) => is_eq.extend(std::iter::repeat_n(true, *k)),
            SupportedConeT::NonnegativeConeT(k) => is_eq.extend(std::iter::repeat_n(false, *k)),
            _ => return None,
        }
    }
    if is_eq.len() != m || is_eq.iter().all(|e| *e) {
        return None;
    }
    Some(is_eq)
}

/// Column positions: weights, then hubs (dense); every other column an auxiliary. Returns
/// (position of each column, column of each dense position, column of each auxiliary);
/// `None` for a hub that is a weight, out of range or repeated.
fn positions(n: usize, nvar: usize, hubs: &[usize]) -> Option<(Vec<Pos>, Vec<usize>, Vec<usize>)> {
    let mut dense_cols: Vec<usize> = (0..n).collect();
    let mut pos: Vec<Option<Pos>> = vec![None; nvar];
    for (i, p) in pos.iter_mut().enumerate().take(n) {
        *p = Some(Pos::Dense(i));
    }
    for &h in hubs {
        if h < n || h >= nvar || pos[h].is_some() {
            return None;
        }
        pos[h] = Some(Pos::Dense(dense_cols.len()));
        dense_cols.push(h);
    }
    let nd = dense_cols.len();
    let mut aux_cols = Vec::with_capacity(nvar - nd);
    for (c, p) in pos.iter_mut().enumerate() {
        if p.is_none() {
            *p = Some(Pos::Aux(aux_cols.len()));
            aux_cols.push(c);
        }
    }
    let pos: Vec<Pos> = pos.into_iter().map(|p| p.unwrap_or(Pos::Aux(0))).collect();
    Some((pos, dense_cols, aux_cols))
}

/// Per auxiliary, the sorted distinct dense positions its rows touch (flattened: starts,
/// positions).
fn supports(
    aux_rows: &[Vec<AuxRow>],
    dense_start: &[usize],
    dense_pos: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let mut sup_start = Vec::with_capacity(aux_rows.len() + 1);
    sup_start.push(0);
    let mut sup_pos = Vec::new();
    for rows in aux_rows {
        let first = sup_pos.len();
        for &(r, _) in rows {
            sup_pos.extend_from_slice(&dense_pos[dense_start[r]..dense_start[r + 1]]);
        }
        // a scenario's rows list its positions in order already
        if !sup_pos[first..].is_sorted() {
            sup_pos[first..].sort_unstable();
        }
        let mut kept = first;
        for i in first..sup_pos.len() {
            if i == first || sup_pos[i] != sup_pos[kept - 1] {
                sup_pos[kept] = sup_pos[i];
                kept += 1;
            }
        }
        sup_pos.truncate(kept);
        sup_start.push(sup_pos.len());
    }
    (sup_start, sup_pos)
}

/// The `n × n` leading block of the upper-triangular CSC `p`, symmetric and column-major;
/// `None` when `p` has a nonzero outside that block.
fn dense_p(p: &CscMatrix<f64>, n: usize) -> Option<Vec<f64>> {
    let nvar = p.n;
    let mut p_dense = vec![0.0; n * n];
    for j in 0..nvar {
        for k in p.colptr[j]..p.colptr[j + 1] {
            let i = p.rowval[k];
            let v = p.nzval[k];
            if v == 0.0 {
                continue;
            }
            if i >= n || j >= n {
                return None;
            }
            p_dense[i + j * n] = v;
            p_dense[j + i * n] = v;
        }
    }
    Some(p_dense)
}

/// Per row of the CSR `(row_start, row_col)` (columns ascending), its longest run of
/// consecutive columns: (first entry, length, first column).
fn row_runs(row_start: &[usize], row_col: &[usize]) -> Vec<(usize, usize, usize)> {
    row_start
        .windows(2)
        .map(|w| {
            let (mut best, mut k) = ((w[0], 0, 0), w[0]);
            while k < w[1] {
                let mut e = k + 1;
                while e < w[1] && row_col[e] == row_col[e - 1] + 1 {
                    e += 1;
                }
                if e - k > best.1 {
                    best = (k, e - k, row_col[k]);
                }
                k = e;
            }
            best
        })
        .collect()
}

/// The rows of the CSC matrix `a` (CSR: row starts, column indices, values).
fn csc_rows(a: &CscMatrix<f64>) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
    let (m, nvar) = (a.m, a.n);
    // rows from the CSC columns
    let mut count = vec![0usize; m + 1];
    for &r in &a.rowval[..a.colptr[nvar]] {
        count[r + 1] += 1;
    }
    for r in 0..m {
        count[r + 1] += count[r];
    }
    let row_start = count.clone();
    let mut fill = count;
    let nnz = row_start[m];
    let mut row_col = vec![0usize; nnz];
    let mut row_val = vec![0.0; nnz];
    for j in 0..nvar {
        for k in a.colptr[j]..a.colptr[j + 1] {
            let r = a.rowval[k];
            row_col[fill[r]] = j;
            row_val[fill[r]] = a.nzval[k];
            fill[r] += 1;
        }
    }
    (row_start, row_col, row_val)
}

/// A dense Cholesky factor `A = L Lᵀ` whose storage is kept from one factorization to the
/// next. The same kernel, parameters, parallelism and storage layout as faer's `Llt::new`
/// (behind `prudentia_core::linalg::Cholesky`), hence the same bits, without its two
/// allocations (the factor and the work stack) per factorization.
pub(crate) struct DenseLlt {
    /// `L` (strictly upper part zero), valid when `ok`.
    l: faer::Mat<f64>,
    mem: MemBuffer,
    ok: bool,
}

impl DenseLlt {
    pub(crate) fn new(n: usize) -> Self {
        let par = faer::get_global_parallelism();
        Self {
            l: faer::Mat::zeros(n, n),
            mem: MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
                n,
                par,
                Default::default(),
            )),
            ok: false,
        }
    }

    /// Factors the column-major `n × n` matrix `a` (its lower triangle is read). `false`
    /// for a wrong length, a non-finite entry or a matrix that is not positive definite (as
    /// `prudentia_core::linalg::Cholesky::new`'s errors).
    pub(crate) fn factor(&mut self, a: &[f64]) -> bool {
        let n = self.l.nrows();
        self.ok = false;
        if a.len() != n * n || !a.iter().all(|v| v.is_finite()) {
            return false;
        }
        // the strictly upper part is zero (from `new` or the last factorization)
        self.l
            .as_mut()
            .copy_from_triangular_lower(faer::MatRef::from_column_major_slice(a, n, n));
        let par = faer::get_global_parallelism();
        let done = llt::factor::cholesky_in_place(
            self.l.as_mut(),
            Default::default(),
            par,
            MemStack::new(&mut self.mem),
            Default::default(),
        );
        for j in 0..n {
            for i in 0..j {
                self.l[(i, j)] = 0.0;
            }
        }
        self.ok = done.is_ok();
        self.ok
    }

    /// Whether every entry of the factor is finite (after a successful [`Self::factor`]).
    pub(crate) fn factor_is_finite(&self) -> bool {
        let n = self.l.nrows();
        (0..n).all(|j| (0..n).all(|i| self.l[(i, j)].is_finite()))
    }

    /// Overwrites the column-major `n × k` block `b` with `A⁻¹ b` (nothing when no factor is
    /// held or the length is not `n·k`).
    fn solve_columns_in_place(&self, b: &mut [f64], k: usize) {
        let n = self.l.nrows();
        if !self.ok || b.len() != n * k {
            debug_assert!(false, "solve without a factor or with a wrong shape");
            return;
        }
        llt::solve::solve_in_place_with_conj(
            self.l.as_ref(),
            faer::Conj::No,
            faer::MatMut::from_column_major_slice_mut(b, n, k),
            faer::get_global_parallelism(),
            // the triangular solves need no work space (`solve_in_place_scratch` is empty)
            MemStack::new(&mut []),
        );
    }
}

/// The factored Newton system for one set of row weights `d` (inequalities) and border
/// weights `W`, with the buffers to refactor it: one per solve, refactored in place every
/// interior-point iteration (no allocation of its own).
struct Factored {
    /// Cholesky of the dense block's Schur complement.
    llt: DenseLlt,
    /// Per auxiliary: K_aa, and K_da on its support (flattened like `Structure::sup_pos`).
    k_aa: Vec<f64>,
    k_da: Vec<f64>,
    /// K⁻¹Gᵀ, nvar × h, column-major.
    u: Vec<f64>,
    /// Cholesky of G K⁻¹ Gᵀ + W (h × h).
    border_llt: DenseLlt,
    /// Row weights (0 on equality rows), for the refinement residuals.
    d: Vec<f64>,
    w_border: Vec<f64>,
    /// Buffers of the solves with this factor (none allocates).
    scratch: Scratch,
    /// Buffers of the factoring: the Schur complement S (nd × nd, column-major), one dense
    /// row (nd), the wide rank-one rows (row-major, nd wide), their Gram matrix, the border
    /// matrix (h × h).
    s: Vec<f64>,
    row: Vec<f64>,
    wide: Vec<f64>,
    gram: Array2<f64>,
    border_m: Array2<f64>,
}

/// Work buffers of [`Factored::solve`].
#[derive(Default)]
struct Scratch {
    /// The dense block's right-hand sides (nd × k).
    w: Vec<f64>,
    /// The border's right-hand side (h).
    t: Vec<f64>,
    /// Refinement residuals and corrections.
    e1: Vec<f64>,
    e2: Vec<f64>,
    work_m: Vec<f64>,
    c1: Vec<f64>,
    c2: Vec<f64>,
}

impl Scratch {
    fn new(nvar: usize, m: usize, h: usize) -> Self {
        Self {
            w: Vec::new(),
            t: vec![0.0; h],
            e1: vec![0.0; nvar],
            e2: vec![0.0; h],
            work_m: vec![0.0; m],
            c1: vec![0.0; nvar],
            c2: vec![0.0; h],
        }
    }
}

/// `s[lower triangle] += f · v vᵀ` on the positions `sup` (sorted) of the column-major
/// `nd × nd` matrix `s`.
fn rank_one_lower(s: &mut [f64], nd: usize, sup: &[usize], v: &[f64], f: f64) {
    let (Some(&first), Some(&last)) = (sup.first(), sup.last()) else {
        return;
    };
    if last - first + 1 == sup.len() {
        // contiguous (the scenario rows of the CVaR LP): column slices, vectorized
        for j in first..=last {
            let fj = f * v[j];
            if fj != 0.0 {
                let col = &mut s[j * nd + j..j * nd + last + 1];
                for (x, vi) in col.iter_mut().zip(&v[j..=last]) {
                    *x += fj * vi;
                }
            }
        }
    } else {
        for (jj, &j) in sup.iter().enumerate() {
            let fj = f * v[j];
            if fj != 0.0 {
                for &i in &sup[jj..] {
                    s[i + j * nd] += fj * v[i];
                }
            }
        }
    }
}

impl Factored {
    /// The buffers for the problem `st` (nothing factored yet).
    fn new(st: &Structure) -> Self {
        let (nd, h) = (st.nd, st.border.len());
        Self {
            llt: DenseLlt::new(nd),
            k_aa: vec![0.0; st.aux_cols.len()],
            k_da: vec![0.0; st.sup_pos.len()],
            u: vec![0.0; st.nvar * h],
            border_llt: DenseLlt::new(h),
            d: vec![0.0; st.m],
            w_border: vec![0.0; h],
            scratch: Scratch::new(st.nvar, st.m, h),
            s: vec![0.0; nd * nd],
            row: vec![0.0; nd],
            wide: Vec::new(),
            gram: Array2::zeros((nd, nd).f()),
            border_m: Array2::zeros((h, h).f()),
        }
    }

    /// Factors the Newton system for the row weights `d` (length m) and the border weights
    /// `w_border` (length h). `None` when a factorization fails (the factor is then unusable
    /// until the next successful call).
    fn factor(&mut self, st: &Structure, d: &[f64], w_border: &[f64]) -> Option<()> {
        let (n, nd) = (st.n, st.nd);
        self.llt.ok = false;
        self.border_llt.ok = false;
        // the lower triangle of S = K_dd − K_da K_aa⁻¹ K_ad (Cholesky reads only that)
        let s = &mut self.s;
        s.iter_mut().for_each(|v| *v = 0.0);
        // a linear program's P block holds only +0.0 (`dense_p` stores nonzeros alone)
        if !st.p_zero {
            for j in 0..n {
                s[j * nd..j * nd + n].copy_from_slice(&st.p_dense[j * n..(j + 1) * n]);
            }
        }
        for &(r, c, v) in &st.diag_rows {
            s[c + c * nd] += d[r] * v * v;
        }
        let (k_aa, k_da, scratch, wide) = (&mut self.k_aa, &mut self.k_da, &mut self.row, &mut self.wide);
        scratch.iter_mut().for_each(|v| *v = 0.0);
        // rank-one terms over wide supports (the scenarios of the CVaR LP), as rows of a
        // matrix B (row-major, nd wide) whose Gram BᵀB is added by one GEMM at the end
        wide.clear();
        for (ai, rows) in st.aux_rows.iter().enumerate() {
            let sup = st.support(ai);
            let kaa: f64 = rows.iter().map(|&(r, ca)| d[r] * ca * ca).sum();
            if !(kaa > 0.0 && kaa.is_finite()) {
                return None;
            }
            k_aa[ai] = kaa;
            if sup.is_empty() {
                continue;
            }
            for &(r, ca) in rows {
                st.dense_axpy(r, d[r] * ca, scratch);
            }
            let span = st.sup_start[ai]..st.sup_start[ai + 1];
            match st.contiguous[ai] {
                Some(first) => {
                    let run = &mut scratch[first..first + sup.len()];
                    k_da[span].copy_from_slice(run);
                    run.iter_mut().for_each(|v| *v = 0.0);
                }
                None => {
                    for (k, &p) in k_da[span].iter_mut().zip(sup) {
                        *k = scratch[p];
                        scratch[p] = 0.0;
                    }
                }
            }
            // Lagrange's identity: Σ d a aᵀ − (Σ d c a)(Σ d c a)ᵀ / Σ d c² =
            // Σ_{r<r'} d_r d_r' (c_r' a_r − c_r a_r')(…)ᵀ / Σ d c², a sum of positive
            // semidefinite terms, without cancellation when the d spread over many orders
            for (i, &(ri, ci)) in rows.iter().enumerate() {
                for &(rj, cj) in &rows[i + 1..] {
                    let f = d[ri] * d[rj] / kaa;
                    if f == 0.0 {
                        continue;
                    }
                    st.dense_axpy(ri, cj, scratch);
                    st.dense_sub(rj, ci, scratch);
                    if sup.len() >= WIDE_SUPPORT && f > 0.0 && f.is_finite() {
                        let g = f.sqrt();
                        let start = wide.len();
                        wide.resize(start + nd, 0.0);
                        match st.contiguous[ai] {
                            Some(first) => {
                                let out = &mut wide[start + first..start + first + sup.len()];
                                for (o, x) in out.iter_mut().zip(&scratch[first..first + sup.len()]) {
                                    *o = g * x;
                                }
                            }
                            None => {
                                for &p in sup {
                                    wide[start + p] = g * scratch[p];
                                }
                            }
                        }
                    } else {
                        rank_one_lower(s, nd, sup, scratch, f);
                    }
                    match st.contiguous[ai] {
                        Some(first) => scratch[first..first + sup.len()]
                            .iter_mut()
                            .for_each(|v| *v = 0.0),
                        None => {
                            for &p in sup {
                                scratch[p] = 0.0;
                            }
                        }
                    }
                }
            }
        }
        if !wide.is_empty() {
            let b = ndarray::ArrayView2::from_shape((wide.len() / nd, nd), wide).ok()?;
            prudentia_core::linalg::gram_into(b, 1.0, self.gram.view_mut()).ok()?;
            // both column-major nd × nd: the same entries in the same order
            let gram = self.gram.as_slice_memory_order()?;
            for (x, g) in s.iter_mut().zip(gram) {
                *x += g;
            }
        }
        if !self.llt.factor(s) {
            return None;
        }
        self.d.copy_from_slice(d);
        self.w_border.copy_from_slice(w_border);
        let h = st.border.len();
        if h > 0 {
            // U = K⁻¹ Gᵀ, all columns through one multi-right-hand-side triangular solve
            let mut u = std::mem::take(&mut self.u);
            u.iter_mut().for_each(|v| *v = 0.0);
            for (j, &r) in st.border.iter().enumerate() {
                for (c, a) in st.row(r) {
                    u[j * st.nvar + c] += a;
                }
            }
            let mut w = std::mem::take(&mut self.scratch.w);
            self.apply_kinv_many(st, &mut u, h, &mut w);
            self.scratch.w = w;
            self.u = u;
            let m = &mut self.border_m;
            for (i, &r) in st.border.iter().enumerate() {
                for j in 0..h {
                    m[[i, j]] = st.row_dot(r, &self.u[j * st.nvar..(j + 1) * st.nvar]);
                }
                m[[i, i]] += w_border[i];
            }
            // symmetrize the rounding
            for i in 0..h {
                for j in 0..i {
                    let v = 0.5 * (m[[i, j]] + m[[j, i]]);
                    m[[i, j]] = v;
                    m[[j, i]] = v;
                }
            }
            if !self.border_llt.factor(m.as_slice_memory_order()?) {
                return None;
            }
        }
        Some(())
    }

    /// Solves `K v = r` in place for `k` right-hand sides stored column-major (nvar × k).
    /// `w` is a buffer (resized to nd·k).
    fn apply_kinv_many(&self, st: &Structure, r: &mut [f64], k: usize, w: &mut Vec<f64>) {
        let (nd, nvar) = (st.nd, st.nvar);
        w.resize(nd * k, 0.0);
        for j in 0..k {
            let col = &r[j * nvar..(j + 1) * nvar];
            let wj = &mut w[j * nd..(j + 1) * nd];
            for (x, &c) in wj.iter_mut().zip(&st.dense_cols) {
                *x = col[c];
            }
            for (ai, &c) in st.aux_cols.iter().enumerate() {
                let ra = col[c];
                if ra != 0.0 {
                    let g = ra / self.k_aa[ai];
                    let span = st.sup_start[ai]..st.sup_start[ai + 1];
                    match st.contiguous[ai] {
                        Some(first) => {
                            let kd = &self.k_da[span];
                            for (x, k) in wj[first..first + kd.len()].iter_mut().zip(kd) {
                                *x -= k * g;
                            }
                        }
                        None => {
                            for (&p, kd) in st.sup_pos[span.clone()].iter().zip(&self.k_da[span]) {
                                wj[p] -= kd * g;
                            }
                        }
                    }
                }
            }
        }
        // the factor is nd × nd and w holds nd·k entries: the shape always matches; the
        // solves run only after a successful `factor`
        self.llt.solve_columns_in_place(w, k);
        for j in 0..k {
            let col = &mut r[j * nvar..(j + 1) * nvar];
            let wj = &w[j * nd..(j + 1) * nd];
            for (x, &c) in wj.iter().zip(&st.dense_cols) {
                col[c] = *x;
            }
            for (ai, &c) in st.aux_cols.iter().enumerate() {
                let span = st.sup_start[ai]..st.sup_start[ai + 1];
                let kw: f64 = match st.contiguous[ai] {
                    Some(first) => {
                        let kd = &self.k_da[span];
                        dot(kd, &wj[first..first + kd.len()])
                    }
                    None => st.sup_pos[span.clone()]
                        .iter()
                        .zip(&self.k_da[span])
                        .map(|(&p, kd)| kd * wj[p])
                        .sum(),
                };
                col[c] = (col[c] - kw) / self.k_aa[ai];
            }
        }
    }

    /// One solve of the bordered system `[K Gᵀ; G −W] [dx; λ] = [r1; r2]`.
    /// `w`, `t`: buffers (see [`Scratch`]).
    #[allow(clippy::too_many_arguments)]
    fn solve_once(
        &self,
        st: &Structure,
        r1: &[f64],
        r2: &[f64],
        dx: &mut [f64],
        lambda: &mut [f64],
        w: &mut Vec<f64>,
        t: &mut [f64],
    ) {
        dx.copy_from_slice(r1);
        self.apply_kinv_many(st, dx, 1, w);
        let h = st.border.len();
        if h == 0 {
            return;
        }
        for (i, &r) in st.border.iter().enumerate() {
            t[i] = st.row_dot(r, dx) - r2[i];
        }
        // the border factor is h × h: the shape always matches
        self.border_llt.solve_columns_in_place(t, 1);
        for i in 0..h {
            lambda[i] = t[i];
            let ui = &self.u[i * st.nvar..(i + 1) * st.nvar];
            for (x, u) in dx.iter_mut().zip(ui) {
                *x -= u * lambda[i];
            }
        }
    }

    /// Residuals of the bordered system at (dx, λ); `adx` receives A·dx (all rows).
    #[allow(clippy::too_many_arguments)]
    fn residual(
        &self,
        st: &Structure,
        r1: &[f64],
        r2: &[f64],
        dx: &[f64],
        lambda: &[f64],
        e1: &mut [f64],
        e2: &mut [f64],
        work_m: &mut [f64],
        adx: &mut [f64],
    ) {
        // K_full dx = P dx + Σ_{non-border inequality rows} d_r a_r (a_r·dx)
        st.mul_p(dx, e1);
        st.mul_a(dx, adx);
        for r in 0..st.m {
            work_m[r] = if st.is_border[r] || st.is_eq[r] {
                0.0
            } else {
                self.d[r] * adx[r]
            };
        }
        st.add_at(work_m, e1);
        for (i, &r) in st.border.iter().enumerate() {
            st.row_axpy(r, lambda[i], e1);
        }
        for (e, r) in e1.iter_mut().zip(r1) {
            *e = r - *e;
        }
        for (i, &r) in st.border.iter().enumerate() {
            e2[i] = r2[i] - (adx[r] - self.w_border[i] * lambda[i]);
        }
    }

    /// Bordered solve with up to two steps of iterative refinement, skipped once the
    /// residual is within `REFINE_ABS + REFINE_REL · ‖r‖∞` (Clarabel's default refinement
    /// tolerances).
    ///
    /// `adx` receives A·dx at the returned dx (all rows): the last residual's product when
    /// no correction followed it, else computed afresh.
    fn solve(
        &mut self,
        st: &Structure,
        r1: &[f64],
        r2: &[f64],
        dx: &mut [f64],
        lambda: &mut [f64],
        adx: &mut [f64],
    ) {
        let mut sc = std::mem::take(&mut self.scratch);
        let Scratch {
            w,
            t,
            e1,
            e2,
            work_m,
            c1,
            c2,
        } = &mut sc;
        self.solve_once(st, r1, r2, dx, lambda, w, t);
        let tol = REFINE_ABS + REFINE_REL * inf_norm(r1).max(inf_norm(r2));
        let mut adx_current = false;
        for _ in 0..2 {
            self.residual(st, r1, r2, dx, lambda, e1, e2, work_m, adx);
            if inf_norm(e1).max(inf_norm(e2)) <= tol {
                adx_current = true;
                break;
            }
            self.solve_once(st, e1, e2, c1, c2, w, t);
            for (x, c) in dx.iter_mut().zip(c1.iter()) {
                *x += c;
            }
            for (l, c) in lambda.iter_mut().zip(c2.iter()) {
                *l += c;
            }
        }
        if !adx_current {
            st.mul_a(dx, adx);
        }
        self.scratch = sc;
    }
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

/// Largest step in (0, 1] keeping `v + α dv ≥ 0` on the inequality rows.
fn max_step(v: &[f64], dv: &[f64], is_eq: &[bool]) -> f64 {
    let mut a = 1.0_f64;
    for ((x, dx), eq) in v.iter().zip(dv).zip(is_eq) {
        if !eq && *dx < 0.0 {
            a = a.min(-x / dx);
        }
    }
    a
}

/// Stopping rules of [`solve`].
pub(crate) struct QpSettings {
    /// Feasibility and gap tolerance (absolute or relative gap, as Clarabel's).
    pub tolerance: f64,
    pub max_iterations: u32,
    /// Wall-clock deadline, checked once per iteration.
    pub deadline: Option<std::time::Instant>,
}

/// Solves the problem if it has the structure above; `None` leaves it to the general solver.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve(
    p: &CscMatrix<f64>,
    q: &[f64],
    a: &CscMatrix<f64>,
    b: &[f64],
    cones: &[SupportedConeT<f64>],
    n: usize,
    hubs: &[usize],
    settings: &QpSettings,
) -> Option<QpSolution> {
    let (tolerance, max_iterations) = (settings.tolerance, settings.max_iterations);
    let mut st = Structure::detect(p, a, cones, n, hubs)?;
    let (nvar, m) = (st.nvar, st.m);
    let m_ineq = st.is_eq.iter().filter(|e| !**e).count() as f64;
    if q.len() != nvar || b.len() != m || !q.iter().chain(b).all(|v| v.is_finite()) {
        return None;
    }
    // Cost scaling (as Clarabel's equilibration does): solve with cP, cq so that the
    // objective is of order one and the absolute criteria mean the same for daily-return
    // data (P ~ 1e-4) as for unit-scale data; the duals are divided by c at the end.
    let scale = st
        .p_dense
        .iter()
        .chain(q)
        .fold(0.0_f64, |m, v| m.max(v.abs()))
        .max(1e-12);
    let c = (1.0 / scale).clamp(1e-6, 1e6);
    st.p_dense.iter_mut().for_each(|v| *v *= c);
    let q: Vec<f64> = q.iter().map(|v| v * c).collect();
    let q = &q[..];
    // one workspace for the whole solve: the Newton system is refactored in place
    let mut work = StepWork::new(&st);

    let Iterate {
        mut x,
        mut s,
        mut z,
        mut lambda,
    } = initial_point(&st, q, b, &mut work.factored)?;
    let mut ax = vec![0.0; m];

    let norm_q = inf_norm(q);
    let norm_b = inf_norm(b);
    let mut px = vec![0.0; nvar];
    let mut rd = vec![0.0; nvar];
    let mut rp = vec![0.0; m];
    let step_fraction = if st.p_zero {
        LP_STEP_FRACTION
    } else {
        STEP_FRACTION
    };
    // progress guard: an infeasible or unbounded problem makes no headway, and is better
    // handed to Clarabel (which certifies it) early than after the iteration limit
    let mut merits: Vec<f64> = Vec::with_capacity(max_iterations as usize);
    for iter in 0..max_iterations {
        if settings.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return None;
        }
        // residuals
        st.mul_p(&x, &mut px);
        st.mul_a(&x, &mut ax);
        for j in 0..nvar {
            rd[j] = px[j] + q[j];
        }
        st.add_at(&z, &mut rd);
        for r in 0..m {
            rp[r] = ax[r] + s[r] - b[r];
        }
        let xpx: f64 = x.iter().zip(&px).map(|(a, b)| a * b).sum();
        let qx: f64 = q.iter().zip(&x).map(|(a, b)| a * b).sum();
        let bz: f64 = b.iter().zip(&z).map(|(a, b)| a * b).sum();
        let pobj = 0.5 * xpx + qx;
        let dobj = -0.5 * xpx - bz;
        let gap = (pobj - dobj).abs();
        let gap_rel = gap / pobj.abs().min(dobj.abs()).max(1e-300);
        let nx = inf_norm(&x);
        let feas_p = inf_norm(&rp) / (1.0_f64).max(norm_b + nx + inf_norm(&s));
        let feas_d = inf_norm(&rd) / (1.0_f64).max(norm_q + nx + inf_norm(&z));
        if !(pobj.is_finite() && dobj.is_finite() && feas_p.is_finite() && feas_d.is_finite()) {
            return None;
        }
        if feas_p <= tolerance && feas_d <= tolerance && (gap <= tolerance || gap_rel <= tolerance) {
            z.iter_mut().for_each(|v| *v /= c);
            return Some(QpSolution {
                x,
                z,
                s,
                iterations: iter,
            });
        }
        let merit = feas_p.max(feas_d).max(gap.min(gap_rel));
        merits.push(merit);
        if merits.len() > STALL_WINDOW && merit > 0.5 * merits[merits.len() - 1 - STALL_WINDOW] {
            return None;
        }
        if nx > 1e12 {
            return None;
        }
        let mu: f64 = s
            .iter()
            .zip(&z)
            .zip(&st.is_eq)
            .filter(|(_, e)| !**e)
            .map(|((s, z), _)| s * z)
            .sum::<f64>()
            / m_ineq;
        let mut it = Iterate { x, s, z, lambda };
        predictor_corrector(&st, &mut it, &mut work, &rd, &rp, mu, m_ineq, step_fraction)?;
        Iterate { x, s, z, lambda } = it;
    }
    None
}

/// A primal-dual iterate: `x`, slacks `s`, duals `z` and the border multipliers `λ`.
struct Iterate {
    x: Vec<f64>,
    s: Vec<f64>,
    z: Vec<f64>,
    lambda: Vec<f64>,
}

/// The CVXOPT initial point: the least-squares problem with all weights 1, then slacks and
/// duals shifted into the interior.
fn initial_point(st: &Structure, q: &[f64], b: &[f64], f0: &mut Factored) -> Option<Iterate> {
    let (nvar, m, h) = (st.nvar, st.m, st.border.len());
    let ones: Vec<f64> = st.is_eq.iter().map(|e| if *e { 0.0 } else { 1.0 }).collect();
    let w_border: Vec<f64> = st.border.iter().map(|&r| ones[r]).collect();
    f0.factor(st, &ones, &w_border)?;
    let mut r1: Vec<f64> = q.iter().map(|v| -v).collect();
    let b_ineq: Vec<f64> = (0..m).map(|r| if st.is_eq[r] { 0.0 } else { b[r] }).collect();
    st.add_at(&b_ineq, &mut r1);
    let r2: Vec<f64> = st
        .border
        .iter()
        .map(|&r| if st.is_eq[r] { b[r] } else { 0.0 })
        .collect();
    let mut x = vec![0.0; nvar];
    let mut lambda = vec![0.0; h];
    let mut ax = vec![0.0; m];
    f0.solve(st, &r1, &r2, &mut x, &mut lambda, &mut ax);
    let mut s = vec![0.0; m];
    let mut z = vec![0.0; m];
    for r in 0..m {
        if !st.is_eq[r] {
            s[r] = b[r] - ax[r];
            z[r] = -s[r];
        }
    }
    for (i, &r) in st.border.iter().enumerate() {
        if st.is_eq[r] {
            z[r] = lambda[i];
        }
    }
    let shift = |v: &mut [f64]| {
        let min = v
            .iter()
            .zip(&st.is_eq)
            .filter(|(_, e)| !**e)
            .fold(f64::INFINITY, |m, (x, _)| m.min(*x));
        if min <= 0.0 {
            for (x, e) in v.iter_mut().zip(&st.is_eq) {
                if !e {
                    *x += 1.0 - min;
                }
            }
        }
    };
    shift(&mut s);
    shift(&mut z);

    Some(Iterate { x, s, z, lambda })
}

/// Work buffers of the predictor-corrector steps (one set per solve).
struct StepWork {
    /// The Newton system, refactored every step.
    factored: Factored,
    /// The border weights W and the right-hand side r1 of a direction.
    w_border: Vec<f64>,
    r1: Vec<f64>,
    hvec: Vec<f64>,
    dx: Vec<f64>,
    adx: Vec<f64>,
    ds_a: Vec<f64>,
    dz_a: Vec<f64>,
    ds: Vec<f64>,
    dz: Vec<f64>,
    d: Vec<f64>,
    r2: Vec<f64>,
}

impl StepWork {
    fn new(st: &Structure) -> Self {
        let (nvar, m, h) = (st.nvar, st.m, st.border.len());
        Self {
            factored: Factored::new(st),
            w_border: vec![0.0; h],
            r1: vec![0.0; nvar],
            hvec: vec![0.0; m],
            dx: vec![0.0; nvar],
            adx: vec![0.0; m],
            ds_a: vec![0.0; m],
            dz_a: vec![0.0; m],
            ds: vec![0.0; m],
            dz: vec![0.0; m],
            d: vec![0.0; m],
            r2: vec![0.0; h],
        }
    }
}

/// One Mehrotra predictor-corrector step from the residuals `rd`, `rp` and the complementarity
/// `mu`: factors the Newton system once, solves the affine and the centered direction, and
/// moves the iterate a fraction of the way to the boundary. `None` when the factorization fails.
#[allow(clippy::too_many_arguments)]
fn predictor_corrector(
    st: &Structure,
    it: &mut Iterate,
    work: &mut StepWork,
    rd: &[f64],
    rp: &[f64],
    mu: f64,
    m_ineq: f64,
    step_fraction: f64,
) -> Option<()> {
    let m = st.m;
    let StepWork {
        factored: f,
        w_border,
        r1,
        hvec,
        dx,
        adx,
        ds_a,
        dz_a,
        ds,
        dz,
        d,
        r2,
    } = work;
    let Iterate { x, s, z, lambda } = it;
    for r in 0..m {
        d[r] = if st.is_eq[r] { 0.0 } else { z[r] / s[r] };
    }
    for (w, &r) in w_border.iter_mut().zip(&st.border) {
        *w = if st.is_eq[r] { 0.0 } else { s[r] / z[r] };
    }
    f.factor(st, d, w_border)?;
    for (i, &r) in st.border.iter().enumerate() {
        r2[i] = if st.is_eq[r] { -rp[r] } else { 0.0 };
    }

    // predictor (affine) then corrector with the same factorization
    let mut direction = |rc: &dyn Fn(usize) -> f64, ds: &mut [f64], dz: &mut [f64]| {
        for r in 0..m {
            hvec[r] = if st.is_eq[r] {
                0.0
            } else {
                (-rc(r) + z[r] * rp[r]) / s[r]
            };
        }
        for (x, v) in r1.iter_mut().zip(rd) {
            *x = -v;
        }
        for r in 0..m {
            if hvec[r] != 0.0 {
                st.row_axpy(r, -hvec[r], r1);
            }
        }
        f.solve(
            st,
            r1,
            r2,
            dx.as_mut_slice(),
            lambda.as_mut_slice(),
            adx.as_mut_slice(),
        );
        for r in 0..m {
            if st.is_eq[r] {
                ds[r] = 0.0;
            } else {
                ds[r] = -rp[r] - adx[r];
                dz[r] = hvec[r] + d[r] * adx[r];
            }
        }
        for (i, &r) in st.border.iter().enumerate() {
            if st.is_eq[r] {
                dz[r] = lambda[i];
            }
        }
    };
    direction(&|r| s[r] * z[r], ds_a.as_mut_slice(), dz_a.as_mut_slice());
    let alpha_a = max_step(s, ds_a, &st.is_eq).min(max_step(z, dz_a, &st.is_eq));
    let mu_a: f64 = (0..m)
        .filter(|&r| !st.is_eq[r])
        .map(|r| (s[r] + alpha_a * ds_a[r]) * (z[r] + alpha_a * dz_a[r]))
        .sum::<f64>()
        / m_ineq;
    let sigma = (mu_a / mu).powi(3).clamp(0.0, 1.0);
    direction(
        &|r| s[r] * z[r] + ds_a[r] * dz_a[r] - sigma * mu,
        ds.as_mut_slice(),
        dz.as_mut_slice(),
    );
    let alpha = (step_fraction * max_step(s, ds, &st.is_eq).min(max_step(z, dz, &st.is_eq))).min(1.0);
    for (xi, d) in x.iter_mut().zip(dx.iter()) {
        *xi += alpha * d;
    }
    for r in 0..m {
        if st.is_eq[r] {
            z[r] += alpha * dz[r];
        } else {
            s[r] += alpha * ds[r];
            z[r] += alpha * dz[r];
        }
    }
    Some(())
}
