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
use ndarray::{Array2, ArrayView2};

use crate::config::{Objective, PortfolioConfig};
use crate::problem::CovarianceModel;
use crate::result::{LimitGroup, LimitId};

mod objective;
mod rows;
#[cfg(test)]
mod tests;

use rows::{Rows, Stacked};

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

/// Which parts of the problem are on: the configured limits not disabled by the [`Spec`],
/// and the objective terms unless the problem is a feasibility check.
#[derive(Debug, Clone, Copy)]
struct Switches {
    weight_bounds: bool,
    net: bool,
    gross: bool,
    leverage: bool,
    sector_gross: bool,
    sector_net: bool,
    turnover: bool,
    cvar_limit: bool,
    /// Linear trading costs or a turnover penalty in the objective.
    cost: bool,
    variance: bool,
    expected_return: bool,
    /// The risk aversion γ of the variance term (1 for minimum variance).
    gamma: f64,
    /// The CVaR penalty λ of the objective (0 unless mean–CVaR).
    cvar_penalty: f64,
}

impl Switches {
    fn new(cfg: &PortfolioConfig, r: &Resolved<'_>, spec: &Spec<'_>) -> Self {
        let l = &cfg.limits;
        let on = |g: LimitGroup| !spec.disabled.contains(&g);
        let has_sectors = !r.sector_names.is_empty();
        let objective = !spec.feasibility_only;
        Self {
            weight_bounds: on(LimitGroup::WeightBounds),
            net: on(LimitGroup::Net),
            gross: l.gross_max.is_some() && on(LimitGroup::Gross),
            leverage: l.leverage_max.is_some() && on(LimitGroup::Leverage),
            sector_gross: has_sectors && l.sector_gross_max.is_some() && on(LimitGroup::SectorGross),
            sector_net: has_sectors && l.has_sector_net_bounds() && on(LimitGroup::SectorNet),
            turnover: l.turnover_max.is_some() && on(LimitGroup::Turnover),
            cvar_limit: l.cvar_max.is_some() && on(LimitGroup::Cvar),
            cost: objective && (cfg.turnover_penalty > 0.0 || r.costs.iter().any(|c| *c > 0.0)),
            variance: objective && matches!(cfg.objective, Objective::MeanVariance | Objective::MinVariance),
            expected_return: objective && cfg.objective != Objective::MinVariance,
            gamma: if cfg.objective == Objective::MinVariance {
                1.0
            } else {
                cfg.risk_aversion
            },
            cvar_penalty: if objective && cfg.objective == Objective::MeanCvar {
                cfg.cvar_penalty
            } else {
                0.0
            },
        }
    }
}

/// Everything the row and objective builders read: the inputs, the switches, the variable
/// layout, the factor loadings (when the variance uses a factor model) and the assets of
/// the convex-cost block.
struct Context<'r, 'a> {
    cfg: &'r PortfolioConfig,
    r: &'r Resolved<'a>,
    spec: &'r Spec<'r>,
    on: Switches,
    lay: Layout,
    loadings: Option<&'a Array2<f64>>,
    convex: Vec<ConvexAsset>,
}

impl<'r, 'a> Context<'r, 'a> {
    fn new(cfg: &'r PortfolioConfig, r: &'r Resolved<'a>, spec: &'r Spec<'r>) -> Self {
        let on = Switches::new(cfg, r, spec);
        // the factor block y = Bᵀw: the loadings B and the number of factors
        let factor = match (on.variance, r.cov) {
            (
                true,
                Some(CovarianceModel::Factor {
                    loadings,
                    factor_covariance,
                    ..
                }),
            ) => Some((loadings, factor_covariance.nrows())),
            _ => None,
        };
        // convex cost: one auxiliary per asset with a nonzero cost
        let convex: Vec<ConvexAsset> = match &cfg.convex_cost {
            Some(c) if !spec.feasibility_only => (0..r.n)
                .filter_map(|i| c.normalized_lines(i).map(|(m, lines)| (i, m, lines)))
                .collect(),
            _ => Vec::new(),
        };
        let lay = layout(r, spec, &on, factor.map(|(_, k)| k), convex.len());
        Self {
            cfg,
            r,
            spec,
            on,
            lay,
            loadings: factor.map(|(b, _)| b),
            convex,
        }
    }
}

/// The variable offsets: `w`, then `t`, `u`, `y`, the CVaR block (`ζ, z` or `ζ, θ`) and `v`,
/// each only when needed.
fn layout(r: &Resolved<'_>, spec: &Spec<'_>, on: &Switches, factors: Option<usize>, convex: usize) -> Layout {
    let n = r.n;
    let mut lay = Layout {
        n,
        ..Layout::default()
    };
    let mut next = n;
    if !r.long_only && (on.gross || on.leverage || on.sector_gross) {
        lay.t = Some(next);
        next += n;
    }
    if on.turnover || on.cost {
        lay.u = Some(next);
        next += n;
    }
    if let Some(k) = factors {
        lay.y = Some((next, k));
        next += k;
    }
    match spec.cvar {
        CvarForm::None => {}
        CvarForm::Subset(sub) => {
            lay.zeta = Some(next);
            lay.z = Some((next + 1, sub.len()));
            next += 1 + sub.len();
        }
        CvarForm::Full => {
            let t = r.scenarios.map_or(0, |s| s.nrows());
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
    if convex > 0 {
        lay.v = Some(next);
        next += convex;
    }
    lay.nvar = next;
    lay
}

/// Assembles the conic problem: the rows of each limit group in a fixed order (equalities
/// and inequalities kept apart), the objective, then the stacked constraint matrix.
pub(crate) fn assemble(cfg: &PortfolioConfig, r: &Resolved<'_>, spec: &Spec<'_>) -> Assembled {
    let cx = Context::new(cfg, r, spec);
    let mut eq = Rows::new();
    let mut ineq = Rows::new();
    cx.weight_bound_rows(&mut ineq);
    cx.abs_rows(&mut ineq);
    let turnover_rows = cx.trade_rows(&mut ineq);
    let convex_rows = cx.convex_cost_rows(&mut ineq);
    cx.gross_row(&mut ineq);
    cx.net_rows(&mut eq, &mut ineq);
    cx.leverage_rows(&mut ineq);
    cx.sector_rows(&mut ineq);
    cx.turnover_row(&mut ineq);
    cx.factor_rows(&mut eq);
    cx.cvar_rows(&mut ineq);

    let mut q = cx.linear_objective();
    let (pcolptr, prow, mut pval) = cx.quadratic_objective();
    let obj_scale = objective_scale(&q, &pval);
    if obj_scale != 1.0 {
        q.iter_mut().for_each(|v| *v /= obj_scale);
        pval.iter_mut().for_each(|v| *v /= obj_scale);
    }
    let nvar = cx.lay.nvar;
    let p = CscMatrix::new(nvar, nvar, pcolptr, prow, pval);

    let n_eq = eq.len();
    let Stacked { a, b, meta, cones } = rows::stack(eq, ineq, nvar);
    Assembled {
        p,
        q,
        a,
        b,
        cones,
        meta,
        layout: cx.lay,
        turnover_rows: turnover_rows.into_iter().map(|r| r + n_eq).collect(),
        convex_rows: convex_rows
            .into_iter()
            .map(|(r, i, s, a)| (r + n_eq, i, s, a))
            .collect(),
        obj_scale,
    }
}
