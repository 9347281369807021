//! The constraint rows of each limit group, and their stacking into the CSC matrix `A`.

use clarabel::algebra::CscMatrix;
use clarabel::solver::SupportedConeT;

use super::{tail_scale, Context, Cut, CvarForm, RowMeta};
use crate::result::LimitId;

/// Constraint rows in compressed row form, with their right-hand sides and meanings.
#[derive(Debug, Default)]
pub(super) struct Rows {
    start: Vec<usize>,
    col: Vec<usize>,
    val: Vec<f64>,
    b: Vec<f64>,
    meta: Vec<RowMeta>,
}

impl Rows {
    pub(super) fn new() -> Self {
        Self {
            start: vec![0],
            ..Default::default()
        }
    }
    fn push(
        &mut self,
        entries: impl IntoIterator<Item = (usize, f64)>,
        b: f64,
        limit: Option<LimitId>,
        sign: f64,
    ) {
        for (c, v) in entries {
            self.col.push(c);
            self.val.push(v);
        }
        self.start.push(self.col.len());
        self.b.push(b);
        self.meta.push(RowMeta { limit, sign });
    }
    pub(super) fn len(&self) -> usize {
        self.b.len()
    }
}

/// `A`, `b`, the row meanings and the cones of the stacked rows.
pub(super) struct Stacked {
    pub a: CscMatrix<f64>,
    pub b: Vec<f64>,
    pub meta: Vec<RowMeta>,
    pub cones: Vec<SupportedConeT<f64>>,
}

/// Stacks the equalities (zero cone) over the inequalities (nonnegative cone), transposing
/// the rows into the columns of `A` (`nvar` columns).
pub(super) fn stack(eq: Rows, ineq: Rows, nvar: usize) -> Stacked {
    let n_eq = eq.len();
    let m = n_eq + ineq.len();
    let mut count = vec![0usize; nvar + 1];
    for &c in eq.col.iter().chain(ineq.col.iter()) {
        count[c + 1] += 1;
    }
    for j in 0..nvar {
        count[j + 1] += count[j];
    }
    let colptr = count.clone();
    let nnz = count[nvar];
    let mut rowval = vec![0usize; nnz];
    let mut nzval = vec![0.0; nnz];
    let mut fill = count;
    for (rows, off) in [(&eq, 0usize), (&ineq, n_eq)] {
        for ri in 0..rows.len() {
            for k in rows.start[ri]..rows.start[ri + 1] {
                let c = rows.col[k];
                let pos = fill[c];
                rowval[pos] = ri + off;
                nzval[pos] = rows.val[k];
                fill[c] += 1;
            }
        }
    }
    let a = CscMatrix::new(m, nvar, colptr, rowval, nzval);
    let mut b = eq.b;
    b.extend_from_slice(&ineq.b);
    let mut meta = eq.meta;
    meta.extend(ineq.meta);
    let mut cones = Vec::new();
    if n_eq > 0 {
        cones.push(SupportedConeT::ZeroConeT(n_eq));
    }
    if m > n_eq {
        cones.push(SupportedConeT::NonnegativeConeT(m - n_eq));
    }
    Stacked { a, b, meta, cones }
}

impl Context<'_, '_> {
    /// The column of `|wᵢ|`: `tᵢ` for a long/short book, `wᵢ` itself for a long-only one.
    fn abs_col(&self, i: usize) -> usize {
        self.lay.t.map_or(i, |t| t + i)
    }

    /// Per-name bounds `wᵢ ≤ upperᵢ`, `−wᵢ ≤ −lowerᵢ` (finite ones only).
    pub(super) fn weight_bound_rows(&self, ineq: &mut Rows) {
        if !self.on.weight_bounds {
            return;
        }
        let r = self.r;
        for i in 0..r.n {
            if r.upper[i].is_finite() {
                ineq.push([(i, 1.0)], r.upper[i], Some(LimitId::WeightMax { asset: i }), 1.0);
            }
            if r.lower[i].is_finite() {
                ineq.push(
                    [(i, -1.0)],
                    -r.lower[i],
                    Some(LimitId::WeightMin { asset: i }),
                    -1.0,
                );
            }
        }
    }

    /// `t ≥ |w|`: `w − t ≤ 0` and `−w − t ≤ 0` per asset.
    pub(super) fn abs_rows(&self, ineq: &mut Rows) {
        if let Some(t) = self.lay.t {
            for i in 0..self.r.n {
                ineq.push([(i, 1.0), (t + i, -1.0)], 0.0, None, 1.0);
                ineq.push([(i, -1.0), (t + i, -1.0)], 0.0, None, 1.0);
            }
        }
    }

    /// `u ≥ |w − w₀|`: all `w − u ≤ w₀` rows, then all `−w − u ≤ −w₀` rows; returns their
    /// indices among the inequalities.
    pub(super) fn trade_rows(&self, ineq: &mut Rows) -> Vec<usize> {
        let mut rows = Vec::new();
        if let Some(u) = self.lay.u {
            let current = &self.r.current[..self.r.n];
            for (i, &c) in current.iter().enumerate() {
                rows.push(ineq.len());
                ineq.push([(i, 1.0), (u + i, -1.0)], c, None, 1.0);
            }
            for (i, &c) in current.iter().enumerate() {
                rows.push(ineq.len());
                ineq.push([(i, -1.0), (u + i, -1.0)], -c, None, 1.0);
            }
        }
        rows
    }

    /// `v ≥ a_j ± s_j·(w − w₀)` per segment line (normalized by f(D)); returns
    /// (row among the inequalities, asset, ±s, a) per row.
    pub(super) fn convex_cost_rows(&self, ineq: &mut Rows) -> Vec<(usize, usize, f64, f64)> {
        let mut rows = Vec::new();
        if let Some(v) = self.lay.v {
            let current = self.r.current;
            for (k, (i, _, lines)) in self.convex.iter().enumerate() {
                for &(a, s) in lines {
                    for sign in [1.0, -1.0] {
                        let slope = sign * s;
                        rows.push((ineq.len(), *i, slope, a));
                        ineq.push([(*i, slope), (v + k, -1.0)], slope * current[*i] - a, None, 1.0);
                    }
                }
            }
        }
        rows
    }

    /// Gross exposure `Σ|wᵢ| ≤ G`.
    pub(super) fn gross_row(&self, ineq: &mut Rows) {
        if self.on.gross {
            let g = self.cfg.limits.gross_max.unwrap_or(f64::INFINITY);
            ineq.push(
                (0..self.r.n).map(|i| (self.abs_col(i), 1.0)),
                g,
                Some(LimitId::GrossMax),
                1.0,
            );
        }
    }

    /// The net band `lo ≤ Σwᵢ ≤ hi`, an equality when its ends meet.
    pub(super) fn net_rows(&self, eq: &mut Rows, ineq: &mut Rows) {
        if !self.on.net {
            return;
        }
        let n = self.r.n;
        let l = &self.cfg.limits;
        match (l.net_min, l.net_max) {
            (Some(lo), Some(hi)) if lo == hi => {
                eq.push((0..n).map(|i| (i, 1.0)), hi, Some(LimitId::NetEqual), 1.0);
            }
            (lo, hi) => {
                if let Some(hi) = hi {
                    ineq.push((0..n).map(|i| (i, 1.0)), hi, Some(LimitId::NetMax), 1.0);
                }
                if let Some(lo) = lo {
                    ineq.push((0..n).map(|i| (i, -1.0)), -lo, Some(LimitId::NetMin), -1.0);
                }
            }
        }
    }

    /// Leverage: `Σ(|w| + w)/2 ≤ L` (long book) and `Σ(|w| − w)/2 ≤ L` (short book); a
    /// long-only book has only `Σw ≤ L`.
    pub(super) fn leverage_rows(&self, ineq: &mut Rows) {
        if !self.on.leverage {
            return;
        }
        let n = self.r.n;
        let lv = self.cfg.limits.leverage_max.unwrap_or(f64::INFINITY);
        if let Some(t) = self.lay.t {
            ineq.push(
                (0..n).flat_map(|i| [(i, 0.5), (t + i, 0.5)]),
                lv,
                Some(LimitId::LeverageLong),
                1.0,
            );
            ineq.push(
                (0..n).flat_map(|i| [(i, -0.5), (t + i, 0.5)]),
                lv,
                Some(LimitId::LeverageShort),
                1.0,
            );
        } else {
            ineq.push((0..n).map(|i| (i, 1.0)), lv, Some(LimitId::LeverageLong), 1.0);
        }
    }

    /// Per sector, in order: its net maximum, net minimum and gross maximum.
    pub(super) fn sector_rows(&self, ineq: &mut Rows) {
        if !(self.on.sector_net || self.on.sector_gross) {
            return;
        }
        let (r, l) = (self.r, &self.cfg.limits);
        for (s, m) in r.sector_members().iter().enumerate() {
            let name = &r.sector_names[s];
            let (sector_lo, sector_hi) = l.sector_net_bounds(name);
            if self.on.sector_net {
                if let Some(hi) = sector_hi {
                    ineq.push(
                        m.iter().map(|&i| (i, 1.0)),
                        hi,
                        Some(LimitId::SectorNetMax { sector: name.clone() }),
                        1.0,
                    );
                }
                if let Some(lo) = sector_lo {
                    ineq.push(
                        m.iter().map(|&i| (i, -1.0)),
                        -lo,
                        Some(LimitId::SectorNetMin { sector: name.clone() }),
                        -1.0,
                    );
                }
            }
            if self.on.sector_gross {
                let g = l.sector_gross_max.unwrap_or(f64::INFINITY);
                ineq.push(
                    m.iter().map(|&i| (self.abs_col(i), 1.0)),
                    g,
                    Some(LimitId::SectorGrossMax { sector: name.clone() }),
                    1.0,
                );
            }
        }
    }

    /// L1 turnover `Σuᵢ ≤ τ`.
    pub(super) fn turnover_row(&self, ineq: &mut Rows) {
        if self.on.turnover {
            let u = self.lay.u.unwrap_or(0);
            ineq.push(
                (0..self.r.n).map(|i| (u + i, 1.0)),
                self.cfg.limits.turnover_max.unwrap_or(f64::INFINITY),
                Some(LimitId::TurnoverMax),
                1.0,
            );
        }
    }

    /// The factor exposures `y = Bᵀw` (equalities `Bⱼᵀw − yⱼ = 0`).
    pub(super) fn factor_rows(&self, eq: &mut Rows) {
        if let (Some(loadings), Some((y, k))) = (self.loadings, self.lay.y) {
            for j in 0..k {
                eq.push(
                    (0..self.r.n)
                        .map(|i| (i, loadings[[i, j]]))
                        .chain([(y + j, -1.0)]),
                    0.0,
                    None,
                    1.0,
                );
            }
        }
    }

    /// The CVaR rows of the chosen form, with the CVaR cap when it is on.
    pub(super) fn cvar_rows(&self, ineq: &mut Rows) {
        match self.spec.cvar {
            CvarForm::None => {}
            CvarForm::Full => self.scenario_rows(ineq, None),
            CvarForm::Subset(sub) => self.scenario_rows(ineq, Some(sub)),
            CvarForm::Cuts(cuts) => self.cut_rows(ineq, cuts),
        }
    }

    /// The Rockafellar–Uryasev LP over all scenarios or a subset: `−rₛᵀw − ζ − zₛ ≤ 0` per
    /// scenario, `z ≥ 0`, and the cap `ζ + c·Σzₛ ≤ CVaR_max` (c = 1/((1−α)T) over all T).
    fn scenario_rows(&self, ineq: &mut Rows, subset: Option<&[usize]>) {
        let (zeta, (z, k)) = (self.lay.zeta.unwrap_or(0), self.lay.z.unwrap_or((0, 0)));
        let scen = self.r.scenarios;
        let t_all = scen.map_or(0, |s| s.nrows());
        let pick = |j: usize| subset.map_or(j, |sub| sub[j]);
        if let Some(sc) = scen {
            for j in 0..k {
                let row = sc.row(pick(j));
                ineq.push(
                    row.iter()
                        .enumerate()
                        .map(|(i, &v)| (i, -v))
                        .chain([(zeta, -1.0), (z + j, -1.0)]),
                    0.0,
                    None,
                    1.0,
                );
            }
        }
        for j in 0..k {
            ineq.push([(z + j, -1.0)], 0.0, None, 1.0);
        }
        if self.on.cvar_limit {
            let c = tail_scale(self.cfg.alpha, t_all);
            ineq.push(
                std::iter::once((zeta, 1.0)).chain((0..k).map(|j| (z + j, c))),
                self.cfg.limits.cvar_max.unwrap_or(f64::INFINITY),
                Some(LimitId::CvarMax),
                1.0,
            );
        }
    }

    /// The cutting-plane master: `θ ≥ 0`, one row `coefᵀw + zeta·ζ − θ ≤ 0` per cut, and the
    /// cap `ζ + θ ≤ CVaR_max`.
    fn cut_rows(&self, ineq: &mut Rows, cuts: &[Cut]) {
        let (zeta, theta) = (self.lay.zeta.unwrap_or(0), self.lay.theta.unwrap_or(0));
        ineq.push([(theta, -1.0)], 0.0, None, 1.0);
        for cut in cuts {
            ineq.push(
                cut.coef
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i, v))
                    .chain([(zeta, cut.zeta), (theta, -1.0)]),
                0.0,
                None,
                1.0,
            );
        }
        if self.on.cvar_limit {
            ineq.push(
                [(zeta, 1.0), (theta, 1.0)],
                self.cfg.limits.cvar_max.unwrap_or(f64::INFINITY),
                Some(LimitId::CvarMax),
                1.0,
            );
        }
    }
}
