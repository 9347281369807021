//! Assembly of the sparse conic problem `min ½xᵀPx + qᵀx  s.t.  Ax + s = b, s ∈ K` for Clarabel.
//!
//! Variable layout `x = [w (n) | t (n) | u (n) | y (k) | ζ | z (T) | θ]`, each block present only
//! when needed: `t ≥ |w|` for gross, leverage and sector-gross limits of a long/short book
//! (a long-only book uses `w` itself), `u ≥ |w − w₀|` for turnover and costs, `y = Bᵀw` for a
//! factor covariance, `ζ, z` for the Rockafellar–Uryasev CVaR LP, `ζ, θ` for the cutting-plane
//! master, then `v` (one per asset with a nonzero [`crate::ConvexCost`]) for the convex cost. Equality rows come first (zero cone), then inequality rows (nonnegative cone).

use std::collections::BTreeSet;

use clarabel::algebra::CscMatrix;
use clarabel::solver::SupportedConeT;
use ndarray::ArrayView2;

use crate::config::{Objective, PortfolioConfig};
use crate::problem::CovarianceModel;
use crate::result::{LimitGroup, LimitId};

/// Problem data after validation and PSD handling.
#[derive(Debug, Clone)]
pub(crate) struct Resolved<'a> {
    pub n: usize,
    pub mu: &'a [f64],
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub current: &'a [f64],
    /// Linear cost per unit traded (without the turnover penalty), n.
    pub costs: Vec<f64>,
    pub sector_of: Vec<Option<usize>>,
    pub sector_names: Vec<String>,
    /// Asset names (n), or empty when the problem has none.
    pub asset_names: &'a [String],
    pub cov: Option<&'a CovarianceModel>,
    pub scenarios: Option<ArrayView2<'a, f64>>,
    pub long_only: bool,
}

impl Resolved<'_> {
    /// The name of asset `i` (its index when the problem has no names).
    pub fn asset_name(&self, i: usize) -> String {
        self.asset_names.get(i).cloned().unwrap_or_else(|| i.to_string())
    }

    pub fn sector_members(&self) -> Vec<Vec<usize>> {
        let mut m = vec![Vec::new(); self.sector_names.len()];
        for (i, s) in self.sector_of.iter().enumerate() {
            if let Some(s) = s {
                m[*s].push(i);
            }
        }
        m
    }
}

/// One cutting-plane cut `coefᵀw + zeta·ζ − θ ≤ 0`.
#[derive(Debug, Clone)]
pub(crate) struct Cut {
    pub coef: Vec<f64>,
    pub zeta: f64,
}

/// How CVaR is represented.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CvarForm<'c> {
    None,
    Full,
    Cuts(&'c [Cut]),
    /// The R–U LP restricted to a subset of scenarios (scale still 1/((1−α)T) over all T).
    Subset(&'c [usize]),
}

/// Meaning of a row.
#[derive(Debug, Clone)]
pub(crate) struct RowMeta {
    /// The limit, or `None` for a row that defines an auxiliary variable.
    pub limit: Option<LimitId>,
    /// +1 if the row is `quantity ≤ bound`, −1 if it is `−quantity ≤ −bound`.
    pub sign: f64,
}

#[derive(Debug, Default)]
struct Rows {
    start: Vec<usize>,
    col: Vec<usize>,
    val: Vec<f64>,
    b: Vec<f64>,
    meta: Vec<RowMeta>,
}

impl Rows {
    fn new() -> Self {
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
    fn len(&self) -> usize {
        self.b.len()
    }
}

/// One asset of the convex-cost block: (asset, fᵢ(D), normalized segment lines (a, s)).
type ConvexAsset = (usize, f64, Vec<(f64, f64)>);

/// Variable offsets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Layout {
    /// Number of weights (the leading block of `x`).
    pub n: usize,
    pub t: Option<usize>,
    pub u: Option<usize>,
    pub y: Option<(usize, usize)>,
    pub zeta: Option<usize>,
    pub z: Option<(usize, usize)>,
    pub theta: Option<usize>,
    /// First column of the convex-cost block `v` and the asset of each of its columns.
    pub v: Option<usize>,
    pub nvar: usize,
}

/// The assembled conic problem.
pub(crate) struct Assembled {
    pub p: CscMatrix<f64>,
    pub q: Vec<f64>,
    pub a: CscMatrix<f64>,
    pub b: Vec<f64>,
    pub cones: Vec<SupportedConeT<f64>>,
    pub meta: Vec<RowMeta>,
    pub layout: Layout,
    /// Row indices of `w − u ≤ w₀` (first n) and `−w − u ≤ −w₀` (next n), for updating w₀.
    pub turnover_rows: Vec<usize>,
    /// Convex-cost rows `±s·w − v ≤ ±s·w₀ − a`: (row, asset, ±s, a), for updating w₀.
    pub convex_rows: Vec<(usize, usize, f64, f64)>,
    /// The objective (`q`, `P`) was divided by this (see [`objective_scale`]); the duals of
    /// the scaled problem times this are the duals of the original one.
    pub obj_scale: f64,
}

/// The power of two nearest the largest magnitude in the objective data when that lies
/// outside `[2⁻²⁰, 2²⁰]` (about 1e-6 to 1e6), else 1 (ordinary data are left as they are). Dividing `q` and `P` by it changes no constraint and no
/// minimizer, but keeps data at 1e±150 (or 1e±300) within the solvers' absolute tolerances
/// and away from overflow.
pub(crate) fn objective_scale(q: &[f64], p: &[f64]) -> f64 {
    let m = q.iter().chain(p).fold(0.0_f64, |m, v| m.max(v.abs()));
    if !(m.is_finite() && m > 0.0) || (2f64.powi(-20)..=2f64.powi(20)).contains(&m) {
        return 1.0;
    }
    // exact in floating point: a power of two, clamped so that 1/scale stays normal
    2f64.powi(m.log2().round().clamp(-1000.0, 1000.0) as i32)
}

/// What to assemble.
pub(crate) struct Spec<'c> {
    pub disabled: &'c BTreeSet<LimitGroup>,
    pub feasibility_only: bool,
    pub cvar: CvarForm<'c>,
}

/// The scale 1/((1−α)T) of the CVaR tail sum.
pub(crate) fn tail_scale(alpha: f64, t: usize) -> f64 {
    1.0 / ((1.0 - alpha) * t as f64)
}

/// Whether the CVaR machinery is needed at all (penalty or hard limit).
pub(crate) fn needs_cvar(
    cfg: &PortfolioConfig,
    disabled: &BTreeSet<LimitGroup>,
    feasibility_only: bool,
) -> bool {
    let penalty = !feasibility_only && cfg.objective == Objective::MeanCvar && cfg.cvar_penalty > 0.0;
    let limit = cfg.limits.cvar_max.is_some() && !disabled.contains(&LimitGroup::Cvar);
    penalty || limit
}

/// Which limit groups have rows in this problem.
pub(crate) fn present_groups(cfg: &PortfolioConfig, r: &Resolved<'_>) -> Vec<LimitGroup> {
    let l = &cfg.limits;
    let has_sectors = !r.sector_names.is_empty();
    let mut g = Vec::new();
    for grp in LimitGroup::ALL {
        let present = match grp {
            LimitGroup::WeightBounds => r.lower.iter().chain(r.upper.iter()).any(|v| v.is_finite()),
            LimitGroup::Gross => l.gross_max.is_some(),
            LimitGroup::Net => l.net_min.is_some() || l.net_max.is_some(),
            LimitGroup::Leverage => l.leverage_max.is_some(),
            LimitGroup::SectorNet => has_sectors && l.has_sector_net_bounds(),
            LimitGroup::SectorGross => has_sectors && l.sector_gross_max.is_some(),
            LimitGroup::Turnover => l.turnover_max.is_some(),
            LimitGroup::Cvar => l.cvar_max.is_some(),
        };
        if present {
            g.push(grp);
        }
    }
    g
}

pub(crate) fn assemble(cfg: &PortfolioConfig, r: &Resolved<'_>, spec: &Spec<'_>) -> Assembled {
    let n = r.n;
    let l = &cfg.limits;
    let on = |g: LimitGroup| !spec.disabled.contains(&g);
    let has_sectors = !r.sector_names.is_empty();
    let gross_on = l.gross_max.is_some() && on(LimitGroup::Gross);
    let lev_on = l.leverage_max.is_some() && on(LimitGroup::Leverage);
    let sg_on = has_sectors && l.sector_gross_max.is_some() && on(LimitGroup::SectorGross);
    let sn_on = has_sectors && l.has_sector_net_bounds() && on(LimitGroup::SectorNet);
    let turn_on = l.turnover_max.is_some() && on(LimitGroup::Turnover);
    let cost_on = !spec.feasibility_only && (cfg.turnover_penalty > 0.0 || r.costs.iter().any(|c| *c > 0.0));
    let variance_on =
        !spec.feasibility_only && matches!(cfg.objective, Objective::MeanVariance | Objective::MinVariance);
    let return_on = !spec.feasibility_only && cfg.objective != Objective::MinVariance;
    let gamma = if cfg.objective == Objective::MinVariance {
        1.0
    } else {
        cfg.risk_aversion
    };
    let cvar_pen = if !spec.feasibility_only && cfg.objective == Objective::MeanCvar {
        cfg.cvar_penalty
    } else {
        0.0
    };

    // layout
    let mut lay = Layout {
        n: r.n,
        ..Layout::default()
    };
    let mut next = n;
    if !r.long_only && (gross_on || lev_on || sg_on) {
        lay.t = Some(next);
        next += n;
    }
    if turn_on || cost_on {
        lay.u = Some(next);
        next += n;
    }
    let factor = match (variance_on, r.cov) {
        (
            true,
            Some(CovarianceModel::Factor {
                loadings,
                factor_covariance,
                specific,
            }),
        ) => Some((loadings, factor_covariance, specific)),
        _ => None,
    };
    if let Some((_, f, _)) = factor {
        lay.y = Some((next, f.nrows()));
        next += f.nrows();
    }
    let scen = r.scenarios;
    match spec.cvar {
        CvarForm::None => {}
        CvarForm::Subset(sub) => {
            lay.zeta = Some(next);
            lay.z = Some((next + 1, sub.len()));
            next += 1 + sub.len();
        }
        CvarForm::Full => {
            let t = scen.map_or(0, |s| s.nrows());
            lay.zeta = Some(next);
            lay.z = Some((next + 1, t));
            next += 1 + t;
        }
        CvarForm::Cuts(_) => {
            lay.zeta = Some(next);
            lay.theta = Some(next + 1);
            next += 2;
        }
    }
    // convex cost: one auxiliary per asset with a nonzero cost
    let convex: Vec<ConvexAsset> = match &cfg.convex_cost {
        Some(c) if !spec.feasibility_only => (0..n)
            .filter_map(|i| c.normalized_lines(i).map(|(m, lines)| (i, m, lines)))
            .collect(),
        _ => Vec::new(),
    };
    if !convex.is_empty() {
        lay.v = Some(next);
        next += convex.len();
    }
    lay.nvar = next;

    // |w_i| expression: (column, coefficient)
    let abs_col = |i: usize| -> usize { lay.t.map_or(i, |t| t + i) };

    let mut eq = Rows::new();
    let mut ineq = Rows::new();

    // per-name bounds
    if on(LimitGroup::WeightBounds) {
        for i in 0..n {
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
    // t ≥ |w|
    if let Some(t) = lay.t {
        for i in 0..n {
            ineq.push([(i, 1.0), (t + i, -1.0)], 0.0, None, 1.0);
            ineq.push([(i, -1.0), (t + i, -1.0)], 0.0, None, 1.0);
        }
    }
    // u ≥ |w − w0|
    let mut turnover_rows = Vec::new();
    if let Some(u) = lay.u {
        for i in 0..n {
            turnover_rows.push(ineq.len());
            ineq.push([(i, 1.0), (u + i, -1.0)], r.current[i], None, 1.0);
        }
        for i in 0..n {
            turnover_rows.push(ineq.len());
            ineq.push([(i, -1.0), (u + i, -1.0)], -r.current[i], None, 1.0);
        }
    }
    // v ≥ a_j ± s_j·(w − w0) (normalized by f(D))
    let mut convex_rows = Vec::new();
    if let Some(v) = lay.v {
        for (k, (i, _, lines)) in convex.iter().enumerate() {
            for &(a, s) in lines {
                for sign in [1.0, -1.0] {
                    let slope = sign * s;
                    convex_rows.push((ineq.len(), *i, slope, a));
                    ineq.push([(*i, slope), (v + k, -1.0)], slope * r.current[*i] - a, None, 1.0);
                }
            }
        }
    }
    // gross
    if gross_on {
        let g = l.gross_max.unwrap_or(f64::INFINITY);
        ineq.push((0..n).map(|i| (abs_col(i), 1.0)), g, Some(LimitId::GrossMax), 1.0);
    }
    // net
    if on(LimitGroup::Net) {
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
    // leverage: (|w| + w)/2 summed ≤ L and (|w| − w)/2 summed ≤ L
    if lev_on {
        let lv = l.leverage_max.unwrap_or(f64::INFINITY);
        if let Some(t) = lay.t {
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
    // sectors
    if sn_on || sg_on {
        let members = r.sector_members();
        for (s, m) in members.iter().enumerate() {
            let name = &r.sector_names[s];
            let (sector_lo, sector_hi) = l.sector_net_bounds(name);
            if sn_on {
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
            if sg_on {
                let g = l.sector_gross_max.unwrap_or(f64::INFINITY);
                ineq.push(
                    m.iter().map(|&i| (abs_col(i), 1.0)),
                    g,
                    Some(LimitId::SectorGrossMax { sector: name.clone() }),
                    1.0,
                );
            }
        }
    }
    // turnover
    if turn_on {
        let u = lay.u.unwrap_or(0);
        ineq.push(
            (0..n).map(|i| (u + i, 1.0)),
            l.turnover_max.unwrap_or(f64::INFINITY),
            Some(LimitId::TurnoverMax),
            1.0,
        );
    }
    // factor definition y = Bᵀw
    if let (Some((loadings, _, _)), Some((y, k))) = (factor, lay.y) {
        for j in 0..k {
            eq.push(
                (0..n).map(|i| (i, loadings[[i, j]])).chain([(y + j, -1.0)]),
                0.0,
                None,
                1.0,
            );
        }
    }
    // CVaR
    let cvar_limit_on = l.cvar_max.is_some() && on(LimitGroup::Cvar);
    match spec.cvar {
        CvarForm::None => {}
        CvarForm::Full | CvarForm::Subset(_) => {
            let (zeta, (z, k)) = (lay.zeta.unwrap_or(0), lay.z.unwrap_or((0, 0)));
            let t_all = scen.map_or(0, |s| s.nrows());
            let pick = |j: usize| match spec.cvar {
                CvarForm::Subset(sub) => sub[j],
                _ => j,
            };
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
            if cvar_limit_on {
                let c = tail_scale(cfg.alpha, t_all);
                ineq.push(
                    std::iter::once((zeta, 1.0)).chain((0..k).map(|j| (z + j, c))),
                    l.cvar_max.unwrap_or(f64::INFINITY),
                    Some(LimitId::CvarMax),
                    1.0,
                );
            }
        }
        CvarForm::Cuts(cuts) => {
            let (zeta, theta) = (lay.zeta.unwrap_or(0), lay.theta.unwrap_or(0));
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
            if cvar_limit_on {
                ineq.push(
                    [(zeta, 1.0), (theta, 1.0)],
                    l.cvar_max.unwrap_or(f64::INFINITY),
                    Some(LimitId::CvarMax),
                    1.0,
                );
            }
        }
    }

    // objective
    let mut q = vec![0.0; lay.nvar];
    if return_on {
        for (qi, m) in q.iter_mut().zip(r.mu) {
            *qi = -m;
        }
    }
    if cost_on {
        if let Some(u) = lay.u {
            for i in 0..n {
                q[u + i] = r.costs[i] + cfg.turnover_penalty;
            }
        }
    }
    if let Some(v) = lay.v {
        for (k, (_, m, _)) in convex.iter().enumerate() {
            q[v + k] = *m;
        }
    }
    if cvar_pen > 0.0 {
        match spec.cvar {
            CvarForm::Full | CvarForm::Subset(_) => {
                let (z, k) = lay.z.unwrap_or((0, 0));
                q[lay.zeta.unwrap_or(0)] = cvar_pen;
                let c = cvar_pen * tail_scale(cfg.alpha, scen.map_or(1, |s| s.nrows()));
                for qz in &mut q[z..z + k] {
                    *qz = c;
                }
            }
            CvarForm::Cuts(_) => {
                q[lay.zeta.unwrap_or(0)] = cvar_pen;
                q[lay.theta.unwrap_or(0)] = cvar_pen;
            }
            CvarForm::None => {}
        }
    }

    // P (upper triangle, column-wise)
    let mut pcolptr = Vec::with_capacity(lay.nvar + 1);
    let mut prow = Vec::new();
    let mut pval = Vec::new();
    pcolptr.push(0);
    let two_g = 2.0 * gamma;
    for j in 0..lay.nvar {
        if variance_on && gamma > 0.0 {
            match r.cov {
                Some(CovarianceModel::Full(sig)) if j < n => {
                    for i in 0..=j {
                        prow.push(i);
                        pval.push(two_g * sig[[i, j]]);
                    }
                }
                Some(CovarianceModel::Factor { specific, .. }) if j < n => {
                    prow.push(j);
                    pval.push(two_g * specific[j]);
                }
                Some(CovarianceModel::Factor {
                    factor_covariance, ..
                }) => {
                    if let Some((y, k)) = lay.y {
                        if j >= y && j < y + k {
                            for i in 0..=(j - y) {
                                prow.push(y + i);
                                pval.push(two_g * factor_covariance[[i, j - y]]);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        pcolptr.push(prow.len());
    }
    let obj_scale = objective_scale(&q, &pval);
    if obj_scale != 1.0 {
        q.iter_mut().for_each(|v| *v /= obj_scale);
        pval.iter_mut().for_each(|v| *v /= obj_scale);
    }
    let p = CscMatrix::new(lay.nvar, lay.nvar, pcolptr, prow, pval);

    // A: equalities then inequalities, transposed from rows to columns
    let n_eq = eq.len();
    let m = n_eq + ineq.len();
    let mut count = vec![0usize; lay.nvar + 1];
    for &c in eq.col.iter().chain(ineq.col.iter()) {
        count[c + 1] += 1;
    }
    for j in 0..lay.nvar {
        count[j + 1] += count[j];
    }
    let colptr = count.clone();
    let nnz = count[lay.nvar];
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
    let a = CscMatrix::new(m, lay.nvar, colptr, rowval, nzval);
    let mut b = eq.b;
    b.extend_from_slice(&ineq.b);
    let mut meta = eq.meta;
    meta.extend(ineq.meta);
    let turnover_rows = turnover_rows.into_iter().map(|r| r + n_eq).collect();
    let convex_rows = convex_rows
        .into_iter()
        .map(|(r, i, s, a)| (r + n_eq, i, s, a))
        .collect();
    let mut cones = Vec::new();
    if n_eq > 0 {
        cones.push(SupportedConeT::ZeroConeT(n_eq));
    }
    if m > n_eq {
        cones.push(SupportedConeT::NonnegativeConeT(m - n_eq));
    }
    Assembled {
        p,
        q,
        a,
        b,
        cones,
        meta,
        layout: lay,
        turnover_rows,
        convex_rows,
        obj_scale,
    }
}
