//! The mean–CVaR paths: the choice of method, the Künzi-Bay & Mayer cutting-plane method,
//! scenario generation over the Rockafellar–Uryasev LP, and CVaR of fixed weights.

use std::collections::{BTreeSet, HashSet};

use clarabel::solver::SolverStatus;
use ndarray::ArrayView2;

use super::conic::{is_solved, run, Raw};
use super::PortfolioOptimizer;
use crate::build::{assemble, tail_scale, Assembled, Cut, CvarForm, Resolved, Spec};
use crate::config::CvarMethod;
use crate::error::PortfolioError;
use crate::result::{LimitGroup, SolveInfo};
use crate::risk_measures::{losses_into, var_cvar};

/// A decomposed CVaR solve's last round: the solver outcome, its problem and the solve info.
pub(super) type Rounds = Result<(Raw, Assembled, SolveInfo), PortfolioError>;

/// Adds one round's solve to `info` (iterations summed, sizes and flags of the last round;
/// reduced accuracy in any round sticks).
fn record_round(info: &mut SolveInfo, raw: &Raw, asm: &Assembled) {
    info.iterations = info.iterations.saturating_add(raw.iterations);
    info.variables = asm.layout.nvar;
    info.rows = asm.b.len();
    info.reduced_accuracy |= raw.status == SolverStatus::AlmostSolved;
    info.structured = raw.structured;
}

/// The scenarios, or the error that CVaR needs them.
fn scenarios<'a>(r: &Resolved<'a>) -> Result<ArrayView2<'a, f64>, PortfolioError> {
    r.scenarios.ok_or(PortfolioError::MissingRiskModel {
        needed_by: "CVaR",
        missing: "scenarios",
    })
}

/// Sets in `mask` the bits of the scenarios whose loss exceeds `level` (and clears the rest).
fn tail_mask(losses: &[f64], level: f64, mask: &mut [u64]) {
    mask.iter_mut().for_each(|m| *m = 0);
    for (s, l) in losses.iter().enumerate() {
        if *l > level {
            mask[s / 64] |= 1 << (s % 64);
        }
    }
}

/// The cut of the scenario set K: `coef = −c·Σ_{s∈K} rₛ`, `zeta = −c·|K|`.
fn cut_of(sc: ArrayView2<'_, f64>, members: impl Iterator<Item = usize>, c: f64) -> Cut {
    let mut coef = vec![0.0; sc.ncols()];
    let mut count = 0usize;
    for s in members {
        count += 1;
        for (a, v) in coef.iter_mut().zip(sc.row(s)) {
            *a -= c * v;
        }
    }
    Cut {
        coef,
        zeta: -c * count as f64,
    }
}

impl PortfolioOptimizer {
    /// The CVaR method to use ([`CvarMethod::Auto`] picks scenario generation when there are
    /// more than 4n scenarios).
    pub(super) fn cvar_method(&self, r: &Resolved<'_>) -> CvarMethod {
        let t = r.scenarios.map_or(0, |s| s.nrows());
        match self.config.cvar_method {
            CvarMethod::Auto if t > 4 * r.n => CvarMethod::ScenarioGeneration,
            CvarMethod::Auto => CvarMethod::FullLp,
            m => m,
        }
    }

    /// Künzi-Bay & Mayer (2006): CVaR_α(w) = min_ζ ζ + θ with θ ≥ c·Σ_{s∈K}(ℓₛ(w) − ζ) for
    /// every subset K of scenarios (c = 1/((1−α)T)). Starts from K = ∅ and K = all, solves the
    /// master, adds the cut of K* = {s : ℓₛ(w*) > ζ*} (the most violated one) and the cut tight
    /// at (w*, VaR(w*)), and stops when the master's θ* reaches the true tail term or the cut
    /// repeats.
    pub(super) fn solve_cuts(&self, r: &Resolved<'_>) -> Rounds {
        let cfg = &self.config;
        let sc = scenarios(r)?;
        let (t, n) = sc.dim();
        let c = tail_scale(cfg.alpha, t);
        let mut cuts = vec![cut_of(sc, 0..t, c)];
        let mut seen: HashSet<Vec<u64>> = HashSet::new();
        seen.insert(vec![u64::MAX; t.div_ceil(64)]);
        let none = BTreeSet::new();
        let mut info = SolveInfo {
            cvar_method: Some(CvarMethod::CuttingPlane),
            ..Default::default()
        };
        let mut losses = Vec::with_capacity(t);
        let mut mask = vec![0u64; t.div_ceil(64)];
        loop {
            info.cut_rounds += 1;
            let spec = Spec {
                disabled: &none,
                feasibility_only: false,
                cvar: CvarForm::Cuts(&cuts),
            };
            let asm = assemble(cfg, r, &spec);
            let mut raw = run(&asm, cfg)?;
            record_round(&mut info, &raw, &asm);
            if !is_solved(raw.status) {
                return Ok((raw, asm, info));
            }
            let zeta = raw.x[asm.layout.zeta.unwrap_or(0)];
            let theta = raw.x[asm.layout.theta.unwrap_or(0)];
            losses_into(sc, &raw.x[..n], &mut losses);
            let tail: f64 = losses.iter().map(|l| (l - zeta).max(0.0)).sum::<f64>() * c;
            let gap = tail - theta;
            let scale = (zeta + tail).abs().max(1.0);
            tail_mask(&losses, zeta, &mut mask);
            let repeated = seen.contains(&mask);
            if gap <= cfg.solver.cut_tolerance * scale || repeated {
                return Ok((raw, asm, info));
            }
            if info.cut_rounds >= cfg.solver.max_cut_rounds {
                raw.status = SolverStatus::MaxIterations;
                return Ok((raw, asm, info));
            }
            // the most violated cut at (w*, ζ*), and the cut that is tight at (w*, VaR(w*)),
            // the best ζ for w* (two cuts per round roughly halve the rounds)
            let (var, _) = var_cvar(&losses, cfg.alpha);
            for level in [zeta, var] {
                tail_mask(&losses, level, &mut mask);
                if seen.insert(mask.clone()) {
                    let members = (0..t).filter(|&s| losses[s] > level);
                    cuts.push(cut_of(sc, members, c));
                }
            }
        }
    }

    /// Scenario generation (see [`CvarMethod::ScenarioGeneration`]).
    pub(super) fn solve_scenarios(
        &self,
        r: &Resolved<'_>,
        disabled: &BTreeSet<LimitGroup>,
        feasibility_only: bool,
    ) -> Rounds {
        let cfg = &self.config;
        let sc = scenarios(r)?;
        let (t, n) = sc.dim();
        let mut subset = initial_subset(sc, cfg.alpha);
        let mut member = vec![false; t];
        for &s in &subset {
            member[s] = true;
        }
        let mut info = SolveInfo {
            cvar_method: Some(CvarMethod::ScenarioGeneration),
            ..Default::default()
        };
        let mut losses = Vec::with_capacity(t);
        loop {
            info.cut_rounds += 1;
            let spec = Spec {
                disabled,
                feasibility_only,
                cvar: CvarForm::Subset(&subset),
            };
            let asm = assemble(cfg, r, &spec);
            let mut raw = run(&asm, cfg)?;
            record_round(&mut info, &raw, &asm);
            if !is_solved(raw.status) {
                return Ok((raw, asm, info));
            }
            let zeta = raw.x[asm.layout.zeta.unwrap_or(0)];
            losses_into(sc, &raw.x[..n], &mut losses);
            let tol = cfg.solver.cut_tolerance * zeta.abs().max(1.0);
            let before = subset.len();
            for (s, l) in losses.iter().enumerate() {
                if !member[s] && *l > zeta + tol {
                    member[s] = true;
                    subset.push(s);
                }
            }
            if subset.len() == before {
                return Ok((raw, asm, info));
            }
            if info.cut_rounds >= cfg.solver.max_cut_rounds {
                raw.status = SolverStatus::MaxIterations;
                return Ok((raw, asm, info));
            }
        }
    }
}

/// The first scenario subset: the `min(2·⌈(1−α)T⌉ + n, T)` largest losses of the equally
/// weighted book, in scenario order.
fn initial_subset(sc: ArrayView2<'_, f64>, alpha: f64) -> Vec<usize> {
    let (t, n) = sc.dim();
    let tail = ((1.0 - alpha) * t as f64).ceil() as usize;
    let k0 = (2 * tail + n).min(t);
    let mut losses = Vec::with_capacity(t);
    let ew: Vec<f64> = vec![1.0 / n as f64; n];
    losses_into(sc, &ew, &mut losses);
    let mut order: Vec<usize> = (0..t).collect();
    if k0 < t {
        order.select_nth_unstable_by(k0, |a, b| losses[*b].total_cmp(&losses[*a]));
    }
    let mut subset: Vec<usize> = order[..k0].to_vec();
    subset.sort_unstable();
    subset
}

/// `CVaR_α` and `VaR_α` of the scenario losses of fixed weights (a convenience for callers,
/// e.g. to measure realized risk for the [`crate::PrimalDualController`]).
pub fn scenario_var_cvar(
    scenarios: ArrayView2<'_, f64>,
    weights: &[f64],
    alpha: f64,
) -> Result<(f64, f64), PortfolioError> {
    prudentia_core::validate::check_shape("weights", &[scenarios.ncols()], &[weights.len()])?;
    prudentia_core::validate::check_len("scenarios", scenarios.nrows(), 1)?;
    prudentia_core::validate::check_open_unit("alpha", alpha)?;
    prudentia_core::validate::check_finite_2d("scenarios", scenarios)?;
    prudentia_core::validate::check_finite("weights", weights)?;
    let mut l = Vec::new();
    losses_into(scenarios, weights, &mut l);
    Ok(var_cvar(&l, alpha))
}
