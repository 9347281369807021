//! The optimizer: validation, PSD handling, pre-checks, solve, diagnosis, fallback.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus};
use ndarray::{Array2, ArrayView2};
use prudentia_core::error::CoreError;
use prudentia_core::estimators::nearest_psd;
use prudentia_core::linalg::{cholesky, symmetric_eigen};

use crate::build::{
    assemble, needs_cvar, present_groups, tail_scale, Assembled, Cut, CvarForm, Resolved, Spec,
};
use crate::config::{CvarMethod, FallbackPolicy, Objective, PortfolioConfig, PsdPolicy, SectorCap};
use crate::error::PortfolioError;
use crate::problem::{CovarianceModel, PortfolioProblem};
use crate::result::{
    limits_violated, ActiveConstraint, FallbackRecord, Infeasibility, LimitGroup, LimitId, ObjectiveParts,
    PortfolioResult, PsdReport, SolveInfo, FEASIBILITY_TOLERANCE,
};
use crate::risk_measures::{losses_into, risk_report, var_cvar, violations};
use prudentia_core::Status;

/// `Ok(result)` if every number in it is finite, else [`PortfolioError::Overflow`].
fn checked(result: PortfolioResult) -> Result<PortfolioResult, PortfolioError> {
    result.validate().map_err(|_| PortfolioError::Overflow {
        quantity: "result (weights, risk or objective at the solution)",
    })?;
    Ok(result)
}

/// Constrained portfolio optimizer (mean–CVaR, mean–variance, minimum variance).
///
/// Construct with [`PortfolioOptimizer::new`], which validates the configuration, then call
/// [`PortfolioOptimizer::solve`] per decision. The optimizer holds no state between calls.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioOptimizer {
    config: PortfolioConfig,
}

/// Outcome of one conic solve.
struct Raw {
    status: SolverStatus,
    x: Vec<f64>,
    z: Vec<f64>,
    s: Vec<f64>,
    iterations: u32,
    structured: bool,
}

fn settings(cfg: &PortfolioConfig) -> DefaultSettings<f64> {
    let s = &cfg.solver;
    DefaultSettings {
        verbose: false,
        max_iter: s.max_iterations,
        time_limit: s.time_limit_s.unwrap_or(f64::INFINITY),
        max_threads: s.threads,
        tol_gap_abs: s.tolerance,
        tol_gap_rel: s.tolerance,
        tol_feas: s.tolerance,
        ..DefaultSettings::default()
    }
}

fn run(asm: &Assembled, cfg: &PortfolioConfig) -> Result<Raw, PortfolioError> {
    let start = std::time::Instant::now();
    let limit = cfg
        .solver
        .time_limit_s
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok());
    // the CVaR threshold ζ joins the weights in the dense block; the cutting-plane master
    // (dense cut rows, θ) stays with Clarabel
    let hubs: Vec<usize> = asm.layout.zeta.into_iter().collect();
    let structured = match (asm.layout.zeta, asm.layout.theta) {
        (None, _) => cfg.solver.structured_qp,
        (Some(_), None) => cfg.solver.structured_cvar,
        (Some(_), Some(_)) => false,
    };
    if structured {
        let qp = crate::dense_qp::QpSettings {
            tolerance: cfg.solver.tolerance,
            max_iterations: cfg.solver.max_iterations.min(80),
            deadline: limit.and_then(|l| start.checked_add(l)),
        };
        if let Some(sol) = crate::dense_qp::solve(
            &asm.p,
            &asm.q,
            &asm.a,
            &asm.b,
            &asm.cones,
            asm.layout.n,
            &hubs,
            &qp,
        ) {
            return Ok(Raw {
                status: SolverStatus::Solved,
                x: sol.x,
                z: sol.z,
                s: sol.s,
                iterations: sol.iterations,
                structured: true,
            });
        }
    }
    let mut settings = settings(cfg);
    if let Some(l) = limit {
        // the time the structured attempt used counts against the limit
        settings.time_limit = l.saturating_sub(start.elapsed()).as_secs_f64().max(1e-6);
    }
    let mut solver =
        DefaultSolver::new(&asm.p, &asm.q, &asm.a, &asm.b, &asm.cones, settings).map_err(|e| {
            PortfolioError::Solver {
                detail: match e {
                    clarabel::solver::SolverError::BadInputData(d) => d,
                    _ => "invalid settings",
                },
            }
        })?;
    solver.solve();
    let sol = &solver.solution;
    Ok(Raw {
        status: sol.status,
        x: sol.x.clone(),
        z: sol.z.clone(),
        s: sol.s.clone(),
        iterations: sol.iterations,
        structured: false,
    })
}

fn is_solved(s: SolverStatus) -> bool {
    matches!(s, SolverStatus::Solved | SolverStatus::AlmostSolved)
}

fn is_infeasible(s: SolverStatus) -> bool {
    matches!(
        s,
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible
    )
}

/// Core status of a Clarabel outcome that is neither solved nor infeasible (those two are
/// checked or diagnosed by the caller).
fn map_status(s: SolverStatus, info: &SolveInfo, cfg: &PortfolioConfig) -> Status {
    match s {
        SolverStatus::MaxIterations => Status::IterationLimit {
            iterations: info.iterations as usize,
        },
        SolverStatus::MaxTime => Status::TimeLimit {
            elapsed_ms: cfg
                .solver
                .time_limit_s
                .map_or(0, |t| (t * 1000.0).min(u64::MAX as f64) as u64),
        },
        other => Status::Numerical {
            message: format!("Clarabel: {other:?}"),
        },
    }
}

/// Smallest eigenvalue check: PSD within a tolerance relative to the largest diagonal.
fn psd_check(m: ArrayView2<'_, f64>) -> Result<Option<f64>, PortfolioError> {
    let n = m.nrows();
    if n == 0 {
        return Ok(None);
    }
    let scale = (0..n)
        .map(|i| m[[i, i]].abs())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut shifted = m.to_owned();
    for i in 0..n {
        shifted[[i, i]] += 1e-10 * scale;
    }
    if cholesky(shifted.view()).is_ok() {
        return Ok(None);
    }
    let (vals, _) = symmetric_eigen(m)?;
    let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
    if min >= -1e-10 * scale {
        Ok(None)
    } else {
        Ok(Some(min))
    }
}

fn repair(
    field: &'static str,
    m: &Array2<f64>,
    policy: PsdPolicy,
) -> Result<Option<(Array2<f64>, PsdReport)>, PortfolioError> {
    let Some(min) = psd_check(m.view())? else {
        return Ok(None);
    };
    match policy {
        PsdPolicy::Reject => Err(CoreError::NotPositiveSemiDefinite {
            field,
            min_eigenvalue: min,
        }
        .into()),
        PsdPolicy::Repair { min_eigenvalue } => {
            let rep = nearest_psd(m.view(), min_eigenvalue)?;
            Ok(Some((
                rep.matrix,
                PsdReport {
                    min_eigenvalue_before: rep.min_eigenvalue_before,
                    clipped: rep.clipped,
                    frobenius_change: rep.frobenius_change,
                },
            )))
        }
    }
}

/// The covariance after the PSD policy, and the repair report if it was repaired.
fn resolve_covariance(
    cov: Option<&CovarianceModel>,
    policy: PsdPolicy,
) -> Result<(Option<CovarianceModel>, Option<PsdReport>), PortfolioError> {
    match cov {
        None => Ok((None, None)),
        Some(CovarianceModel::Full(s)) => match repair("covariance", s, policy)? {
            Some((m, r)) => Ok((Some(CovarianceModel::Full(m)), Some(r))),
            None => Ok((None, None)),
        },
        Some(CovarianceModel::Factor {
            loadings,
            factor_covariance,
            specific,
        }) => match repair("factor_covariance", factor_covariance, policy)? {
            Some((m, r)) => Ok((
                Some(CovarianceModel::Factor {
                    loadings: loadings.clone(),
                    factor_covariance: m,
                    specific: specific.clone(),
                }),
                Some(r),
            )),
            None => Ok((None, None)),
        },
    }
}

/// Contradictions visible from the limits alone: conflicting groups, a note, and the members
/// (assets, sectors) of a group the conflict was traced to.
fn precheck(cfg: &PortfolioConfig, r: &Resolved<'_>) -> Option<(Vec<LimitGroup>, String, Members)> {
    let l = &cfg.limits;
    let eps = 1e-12;
    let bad: Vec<usize> = (0..r.n).filter(|&i| r.lower[i] > r.upper[i] + eps).collect();
    if let Some(&i) = bad.first() {
        let names: Vec<String> = bad.iter().map(|&i| r.asset_name(i)).collect();
        return Some((
            vec![LimitGroup::WeightBounds],
            format!(
                "asset {}: lower bound {} above upper bound {}",
                r.asset_name(i),
                r.lower[i],
                r.upper[i]
            ),
            Members::from([(LimitGroup::WeightBounds, names)]),
        ));
    }
    precheck_groups(l, r, eps)
        .map(|(g, d)| (g, d, Members::new()))
        .or_else(|| precheck_sectors(l, r, eps))
}

type Members = BTreeMap<LimitGroup, Vec<String>>;

/// Conflicts between whole limit groups.
fn precheck_groups(
    l: &crate::config::Limits,
    r: &Resolved<'_>,
    eps: f64,
) -> Option<(Vec<LimitGroup>, String)> {
    use LimitGroup as G;
    if let (Some(lo), Some(hi)) = (l.net_min, l.net_max) {
        if lo > hi + eps {
            return Some((vec![G::Net], format!("net_min {lo} above net_max {hi}")));
        }
    }
    if let Some(g) = l.gross_max {
        if let Some(lo) = l.net_min.filter(|lo| *lo > g + eps) {
            return Some((
                vec![G::Net, G::Gross],
                format!("net_min {lo} above gross_max {g} (|net| ≤ gross)"),
            ));
        }
        if let Some(hi) = l.net_max.filter(|hi| *hi < -g - eps) {
            return Some((
                vec![G::Net, G::Gross],
                format!("net_max {hi} below -gross_max {g} (|net| ≤ gross)"),
            ));
        }
        let forced: f64 = (0..r.n)
            .map(|i| r.lower[i].max(0.0) + (-r.upper[i]).max(0.0))
            .sum();
        if forced > g + eps {
            return Some((
                vec![G::WeightBounds, G::Gross],
                format!("weight bounds force gross {forced} above gross_max {g}"),
            ));
        }
    }
    if let Some(lv) = l.leverage_max {
        if let Some(lo) = l.net_min.filter(|lo| *lo > lv + eps) {
            return Some((
                vec![G::Net, G::Leverage],
                format!("net_min {lo} above leverage_max {lv} (net ≤ long book)"),
            ));
        }
        if let Some(hi) = l.net_max.filter(|hi| *hi < -lv - eps) {
            return Some((
                vec![G::Net, G::Leverage],
                format!("net_max {hi} below -leverage_max {lv}"),
            ));
        }
    }
    let sum_lo: f64 = r.lower.iter().sum();
    let sum_hi: f64 = r.upper.iter().sum();
    if let Some(hi) = l.net_max.filter(|hi| sum_lo > *hi + eps) {
        return Some((
            vec![G::WeightBounds, G::Net],
            format!("weight lower bounds sum to {sum_lo}, above net_max {hi}"),
        ));
    }
    if let Some(lo) = l.net_min.filter(|lo| sum_hi < *lo - eps) {
        return Some((
            vec![G::WeightBounds, G::Net],
            format!("weight upper bounds sum to {sum_hi}, below net_min {lo}"),
        ));
    }
    if !r.sector_names.is_empty() && r.sector_of.iter().all(Option::is_some) {
        // Every asset is in a sector: the sector bounds add up to bounds on the net.
        let k = r.sector_names.len() as f64;
        let his: Option<Vec<f64>> = r.sector_names.iter().map(|s| l.sector_net_bounds(s).1).collect();
        let los: Option<Vec<f64>> = r.sector_names.iter().map(|s| l.sector_net_bounds(s).0).collect();
        if let (Some(lo), Some(his)) = (l.net_min, his) {
            let total: f64 = his.iter().sum();
            if lo > total + eps {
                return Some((
                    vec![G::Net, G::SectorNet],
                    format!("net_min {lo} above the {k} sectors' net maxima, summing to {total}"),
                ));
            }
        }
        if let (Some(hi), Some(los)) = (l.net_max, los) {
            let total: f64 = los.iter().sum();
            if hi < total - eps {
                return Some((
                    vec![G::Net, G::SectorNet],
                    format!("net_max {hi} below the {k} sectors' net minima, summing to {total}"),
                ));
            }
        }
        if let (Some(lo), Some(sg)) = (l.net_min, l.sector_gross_max) {
            if lo > k * sg + eps {
                return Some((
                    vec![G::Net, G::SectorGross],
                    format!("net_min {lo} above {k} sectors × sector_gross_max {sg}"),
                ));
            }
        }
    }
    None
}

/// Conflicts of particular sectors' bounds, with the sectors (and assets) named.
fn precheck_sectors(
    l: &crate::config::Limits,
    r: &Resolved<'_>,
    eps: f64,
) -> Option<(Vec<LimitGroup>, String, Members)> {
    use LimitGroup as G;
    if r.sector_names.is_empty() {
        return None;
    }
    let members = r.sector_members();
    let bounds: Vec<(Option<f64>, Option<f64>)> =
        r.sector_names.iter().map(|s| l.sector_net_bounds(s)).collect();
    let named = |pred: &dyn Fn(usize) -> bool| -> Vec<usize> {
        (0..r.sector_names.len()).filter(|&s| pred(s)).collect()
    };
    let sector_list =
        |idx: &[usize]| -> Vec<String> { idx.iter().map(|&s| r.sector_names[s].clone()).collect() };
    if let Some(sg) = l.sector_gross_max {
        let bad = named(&|s| {
            bounds[s].0.is_some_and(|lo| lo > sg + eps) || bounds[s].1.is_some_and(|hi| hi < -sg - eps)
        });
        if !bad.is_empty() {
            let names = sector_list(&bad);
            return Some((
                vec![G::SectorNet, G::SectorGross],
                format!(
                    "sector net bounds of {} outside ±sector_gross_max {sg}",
                    names.join(", ")
                ),
                Members::from([(G::SectorNet, names.clone()), (G::SectorGross, names)]),
            ));
        }
    }
    // A sector's net bounds against its members' weight bounds.
    let sum = |s: usize, v: &[f64]| -> f64 { members[s].iter().map(|&i| v[i]).sum() };
    let bad = named(&|s| {
        bounds[s].1.is_some_and(|hi| sum(s, &r.lower) > hi + eps)
            || bounds[s].0.is_some_and(|lo| sum(s, &r.upper) < lo - eps)
    });
    if !bad.is_empty() {
        let names = sector_list(&bad);
        let assets: Vec<String> = bad
            .iter()
            .flat_map(|&s| members[s].iter().map(|&i| r.asset_name(i)))
            .collect();
        let detail = bad
            .iter()
            .map(|&s| {
                let (lo, hi) = bounds[s];
                format!(
                    "sector {}: members' weights within [{}, {}], sector net bounds [{}, {}]",
                    r.sector_names[s],
                    sum(s, &r.lower),
                    sum(s, &r.upper),
                    lo.map_or("-inf".into(), |v| v.to_string()),
                    hi.map_or("inf".into(), |v| v.to_string()),
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Some((
            vec![G::WeightBounds, G::SectorNet],
            detail,
            Members::from([(G::WeightBounds, assets), (G::SectorNet, names)]),
        ));
    }
    None
}

impl PortfolioOptimizer {
    /// A validated optimizer.
    pub fn new(config: PortfolioConfig) -> Result<Self, PortfolioError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The configuration.
    pub fn config(&self) -> &PortfolioConfig {
        &self.config
    }

    fn resolve<'a>(
        &self,
        p: &'a PortfolioProblem,
        cov: Option<&'a CovarianceModel>,
    ) -> Result<Resolved<'a>, PortfolioError> {
        let cfg = &self.config;
        let n = p.n_assets();
        let (lower, upper) = match &p.bounds {
            Some((lo, hi)) => (lo.clone(), hi.clone()),
            None => (vec![cfg.limits.weight_min; n], vec![cfg.limits.weight_max; n]),
        };
        let long_only = lower.iter().all(|l| *l >= 0.0);
        let bounded = lower.iter().all(|v| v.is_finite()) && upper.iter().all(|v| v.is_finite());
        if !bounded && cfg.limits.gross_max.is_none() && cfg.limits.leverage_max.is_none() {
            return Err(PortfolioError::Unbounded);
        }
        let mut sector_names: Vec<String> = Vec::new();
        let mut sector_of = vec![None; n];
        for (i, s) in p.sectors.iter().enumerate() {
            if let Some(s) = s {
                let k = match sector_names.iter().position(|x| x == s) {
                    Some(k) => k,
                    None => {
                        sector_names.push(s.clone());
                        sector_names.len() - 1
                    }
                };
                sector_of[i] = Some(k);
            }
        }
        Ok(Resolved {
            n,
            mu: &p.expected_returns,
            lower,
            upper,
            current: &p.current,
            costs: if p.costs.is_empty() {
                vec![0.0; n]
            } else {
                p.costs.clone()
            },
            sector_of,
            sector_names,
            asset_names: &p.asset_names,
            cov,
            scenarios: p.scenarios.as_ref().map(|s| s.view()),
            long_only,
        })
    }

    fn check_requirements(&self, p: &PortfolioProblem) -> Result<(), PortfolioError> {
        let cfg = &self.config;
        match cfg.objective {
            Objective::MeanVariance if p.covariance.is_none() => {
                return Err(PortfolioError::MissingRiskModel {
                    needed_by: "objective MeanVariance",
                    missing: "covariance",
                })
            }
            Objective::MinVariance if p.covariance.is_none() => {
                return Err(PortfolioError::MissingRiskModel {
                    needed_by: "objective MinVariance",
                    missing: "covariance",
                })
            }
            Objective::MeanCvar if cfg.cvar_penalty > 0.0 && p.scenarios.is_none() => {
                return Err(PortfolioError::MissingRiskModel {
                    needed_by: "objective MeanCvar",
                    missing: "scenarios",
                })
            }
            _ => {}
        }
        if let Some(c) = &cfg.convex_cost {
            c.check_assets(p.n_assets())?;
        }
        if cfg.limits.cvar_max.is_some() && p.scenarios.is_none() {
            return Err(PortfolioError::MissingRiskModel {
                needed_by: "limit cvar_max",
                missing: "scenarios",
            });
        }
        Ok(())
    }

    /// Solves one problem.
    ///
    /// `Err` means the call was wrong (bad config for this problem, bad shapes, NaN, non-PSD
    /// covariance under [`PsdPolicy::Reject`]); an infeasible or unsolved problem is a status
    /// in the result.
    pub fn solve(&self, problem: &PortfolioProblem) -> Result<PortfolioResult, PortfolioError> {
        problem.validate()?;
        self.check_requirements(problem)?;
        let (repaired, psd_report) = resolve_covariance(problem.covariance.as_ref(), self.config.psd)?;
        let cov = repaired.as_ref().or(problem.covariance.as_ref());
        let r = self.resolve(problem, cov)?;
        let mut result = self.solve_resolved(&r, None);
        result.covariance_repair = psd_report;
        checked(result)
    }

    /// Validates `problem`, applies the PSD policy once and, when CVaR is not solved by
    /// cutting planes, assembles the sparse conic problem once. Later calls of
    /// [`PreparedProblem::set_expected_returns`] and [`PreparedProblem::set_current`] update
    /// only the linear objective and the turnover rows in place, so a rebalance that changes
    /// only μ or the current weights skips validation and assembly.
    pub fn prepare(&self, problem: PortfolioProblem) -> Result<PreparedProblem, PortfolioError> {
        problem.validate()?;
        self.check_requirements(&problem)?;
        let (repaired, psd) = resolve_covariance(problem.covariance.as_ref(), self.config.psd)?;
        let mut problem = problem;
        if let Some(c) = repaired {
            problem.covariance = Some(c);
        }
        let asm = {
            let r = self.resolve(&problem, problem.covariance.as_ref())?;
            let none = BTreeSet::new();
            let cvar = needs_cvar(&self.config, &none, false);
            if cvar && self.cvar_method(&r) != CvarMethod::FullLp {
                None
            } else {
                let spec = Spec {
                    disabled: &none,
                    feasibility_only: false,
                    cvar: if cvar { CvarForm::Full } else { CvarForm::None },
                };
                Some(assemble(&self.config, &r, &spec))
            }
        };
        Ok(PreparedProblem {
            problem,
            config: self.config.clone(),
            psd,
            asm,
        })
    }

    /// Solves a prepared problem (reusing its assembled data when it was prepared with this
    /// optimizer's configuration).
    pub fn solve_prepared(&self, prepared: &PreparedProblem) -> Result<PortfolioResult, PortfolioError> {
        let r = self.resolve(&prepared.problem, prepared.problem.covariance.as_ref())?;
        let cached = if prepared.config == self.config {
            prepared.asm.as_ref()
        } else {
            None
        };
        let mut result = self.solve_resolved(&r, cached);
        result.covariance_repair = prepared.psd;
        checked(result)
    }

    fn cvar_method(&self, r: &Resolved<'_>) -> CvarMethod {
        let t = r.scenarios.map_or(0, |s| s.nrows());
        match self.config.cvar_method {
            CvarMethod::Auto if t > 4 * r.n => CvarMethod::ScenarioGeneration,
            CvarMethod::Auto => CvarMethod::FullLp,
            m => m,
        }
    }

    fn solve_resolved(&self, r: &Resolved<'_>, cached: Option<&Assembled>) -> PortfolioResult {
        let cfg = &self.config;
        if let Some((mut culprits, detail, members)) = precheck(cfg, r) {
            culprits.sort();
            let inf = Infeasibility {
                culprits,
                detail: format!("pre-check: {detail}"),
                members,
            };
            let mut res = self.failed(r, inf.status(), SolveInfo::default());
            res.infeasibility = Some(inf);
            return res;
        }
        let none = BTreeSet::new();
        let cvar = needs_cvar(cfg, &none, false);
        let built;
        let method = if cvar { Some(self.cvar_method(r)) } else { None };
        let decomposed = match method {
            Some(CvarMethod::CuttingPlane) => Some(self.solve_cuts(r)),
            Some(CvarMethod::ScenarioGeneration) => Some(self.solve_scenarios(r, &none, false)),
            _ => None,
        };
        let outcome = if let Some(d) = decomposed {
            match d {
                Ok((raw, asm, info)) => {
                    built = asm;
                    Ok((raw, &built, info))
                }
                Err(e) => Err(e),
            }
        } else {
            let asm = match cached {
                Some(a) => a,
                None => {
                    let spec = Spec {
                        disabled: &none,
                        feasibility_only: false,
                        cvar: if cvar { CvarForm::Full } else { CvarForm::None },
                    };
                    built = assemble(cfg, r, &spec);
                    &built
                }
            };
            run(asm, cfg).map(|raw| {
                let info = SolveInfo {
                    iterations: raw.iterations,
                    cvar_method: method,
                    reduced_accuracy: raw.status == SolverStatus::AlmostSolved,
                    variables: asm.layout.nvar,
                    rows: asm.b.len(),
                    structured: raw.structured,
                    ..Default::default()
                };
                (raw, asm, info)
            })
        };
        let (raw, asm, info) = match outcome {
            Ok(o) => o,
            Err(e) => {
                let status = Status::Numerical {
                    message: e.to_string(),
                };
                return self.failed(r, status, SolveInfo::default());
            }
        };
        let w = &raw.x[..r.n];
        let w_finite = w.iter().all(|v| v.is_finite());
        if is_solved(raw.status) {
            // Optimal is checked, not believed: finite weights within every limit
            let broken = if w_finite {
                let rep = risk_report(cfg, r, w);
                violations(cfg, r, w, &rep, FEASIBILITY_TOLERANCE)
            } else {
                Vec::new()
            };
            if w_finite && broken.is_empty() {
                let active = self.active(asm, &raw, r.asset_names);
                // Clarabel's AlmostSolved (in any round) is reduced accuracy, never optimal
                let status = if info.reduced_accuracy {
                    Status::ReducedAccuracy {
                        reason: "Clarabel: AlmostSolved (solved to its reduced tolerances)".into(),
                    }
                } else {
                    Status::Converged
                };
                let mut res = self.evaluate(r, w.to_vec(), status, info);
                res.active = active;
                return res;
            }
            return self.failed(r, limits_violated(&broken, r.asset_names), info);
        }
        if is_infeasible(raw.status) {
            let inf = self.diagnose(r);
            let mut res = self.failed(r, inf.status(), info);
            res.infeasibility = Some(inf);
            return res;
        }
        let status = map_status(raw.status, &info, cfg);
        let stopped = matches!(status, Status::IterationLimit { .. } | Status::TimeLimit { .. });
        let mut res = self.failed(r, status.clone(), info);
        if stopped && res.fallback.is_none() && w_finite {
            // the best iterate is more useful than the current weights
            res = self.evaluate(r, w.to_vec(), status, info);
        }
        res
    }

    /// Künzi-Bay & Mayer (2006): CVaR_α(w) = min_ζ ζ + θ with θ ≥ c·Σ_{s∈K}(ℓₛ(w) − ζ) for
    /// every subset K of scenarios (c = 1/((1−α)T)). Starts from K = ∅ and K = all, solves the
    /// master, adds the cut of K* = {s : ℓₛ(w*) > ζ*} (the most violated one) and the cut tight
    /// at (w*, VaR(w*)), and stops when the master's θ* reaches the true tail term or the cut
    /// repeats.
    fn solve_cuts(&self, r: &Resolved<'_>) -> Result<(Raw, Assembled, SolveInfo), PortfolioError> {
        let cfg = &self.config;
        let Some(sc) = r.scenarios else {
            return Err(PortfolioError::MissingRiskModel {
                needed_by: "CVaR",
                missing: "scenarios",
            });
        };
        let (t, n) = sc.dim();
        let c = tail_scale(cfg.alpha, t);
        let mut cuts = Vec::new();
        let mut seen: HashSet<Vec<u64>> = HashSet::new();
        let mut all = vec![0.0; n];
        for row in sc.rows() {
            for (a, v) in all.iter_mut().zip(row) {
                *a -= c * v;
            }
        }
        cuts.push(Cut {
            coef: all,
            zeta: -c * t as f64,
        });
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
            info.iterations += raw.iterations;
            info.variables = asm.layout.nvar;
            info.rows = asm.b.len();
            info.reduced_accuracy |= raw.status == SolverStatus::AlmostSolved;
            info.structured = raw.structured;
            if !is_solved(raw.status) {
                return Ok((raw, asm, info));
            }
            let w = &raw.x[..n];
            let zeta = raw.x[asm.layout.zeta.unwrap_or(0)];
            let theta = raw.x[asm.layout.theta.unwrap_or(0)];
            losses_into(sc, w, &mut losses);
            let tail: f64 = losses.iter().map(|l| (l - zeta).max(0.0)).sum::<f64>() * c;
            let gap = tail - theta;
            let scale = (zeta + tail).abs().max(1.0);
            mask.iter_mut().for_each(|m| *m = 0);
            for (s, l) in losses.iter().enumerate() {
                if *l > zeta {
                    mask[s / 64] |= 1 << (s % 64);
                }
            }
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
                mask.iter_mut().for_each(|m| *m = 0);
                let mut count = 0usize;
                let mut coef = vec![0.0; n];
                for (s, l) in losses.iter().enumerate() {
                    if *l > level {
                        mask[s / 64] |= 1 << (s % 64);
                        count += 1;
                        for (a, v) in coef.iter_mut().zip(sc.row(s)) {
                            *a -= c * v;
                        }
                    }
                }
                if seen.insert(mask.clone()) {
                    cuts.push(Cut {
                        coef,
                        zeta: -c * count as f64,
                    });
                }
            }
        }
    }

    /// Scenario generation (see [`CvarMethod::ScenarioGeneration`]).
    fn solve_scenarios(
        &self,
        r: &Resolved<'_>,
        disabled: &BTreeSet<LimitGroup>,
        feasibility_only: bool,
    ) -> Result<(Raw, Assembled, SolveInfo), PortfolioError> {
        let cfg = &self.config;
        let Some(sc) = r.scenarios else {
            return Err(PortfolioError::MissingRiskModel {
                needed_by: "CVaR",
                missing: "scenarios",
            });
        };
        let (t, n) = sc.dim();
        let tail = ((1.0 - cfg.alpha) * t as f64).ceil() as usize;
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
        let mut member = vec![false; t];
        for &s in &subset {
            member[s] = true;
        }
        let mut info = SolveInfo {
            cvar_method: Some(CvarMethod::ScenarioGeneration),
            ..Default::default()
        };
        loop {
            info.cut_rounds += 1;
            let spec = Spec {
                disabled,
                feasibility_only,
                cvar: CvarForm::Subset(&subset),
            };
            let asm = assemble(cfg, r, &spec);
            let mut raw = run(&asm, cfg)?;
            info.iterations += raw.iterations;
            info.variables = asm.layout.nvar;
            info.rows = asm.b.len();
            info.reduced_accuracy |= raw.status == SolverStatus::AlmostSolved;
            info.structured = raw.structured;
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

    fn active(&self, asm: &Assembled, raw: &Raw, asset_names: &[String]) -> Vec<ActiveConstraint> {
        let tol = self.config.active_tolerance;
        let n_eq = match asm.cones.first() {
            Some(clarabel::solver::SupportedConeT::ZeroConeT(k)) => *k,
            _ => 0,
        };
        let mut out = Vec::new();
        for (i, m) in asm.meta.iter().enumerate() {
            let Some(limit) = &m.limit else { continue };
            let slack = raw.s[i];
            if i < n_eq || slack <= tol * asm.b[i].abs().max(1.0) {
                out.push(ActiveConstraint {
                    name: limit.label(asset_names),
                    limit: limit.clone(),
                    bound: m.sign * asm.b[i],
                    value: m.sign * (asm.b[i] - slack),
                    shadow_price: raw.z[i] * asm.obj_scale,
                });
            }
        }
        out
    }

    /// Deletion filter over limit groups: drop a group for good whenever the rest stays
    /// infeasible; what remains is an irreducible conflicting set.
    fn diagnose(&self, r: &Resolved<'_>) -> Infeasibility {
        let cfg = &self.config;
        if !cfg.diagnose_infeasibility {
            return Infeasibility {
                culprits: Vec::new(),
                detail: "solver certificate of primal infeasibility (diagnosis off)".into(),
                members: BTreeMap::new(),
            };
        }
        let present = present_groups(cfg, r);
        let mut disabled = BTreeSet::new();
        let mut solves = 0;
        for g in &present {
            disabled.insert(*g);
            let cvar = needs_cvar(cfg, &disabled, true);
            solves += 1;
            let raw = if cvar && self.cvar_method(r) != CvarMethod::FullLp {
                // the CVaR limit's feasibility by scenario generation (a relaxation while
                // scenarios are missing, so an infeasible subset proves infeasibility)
                self.solve_scenarios(r, &disabled, true).map(|(raw, _, _)| raw)
            } else {
                let spec = Spec {
                    disabled: &disabled,
                    feasibility_only: true,
                    cvar: if cvar { CvarForm::Full } else { CvarForm::None },
                };
                run(&assemble(cfg, r, &spec), cfg)
            };
            let still_infeasible = matches!(raw, Ok(raw) if is_infeasible(raw.status));
            if !still_infeasible {
                disabled.remove(g);
            }
        }
        let mut culprits: Vec<LimitGroup> = present.into_iter().filter(|g| !disabled.contains(g)).collect();
        culprits.sort();
        let mut members = BTreeMap::new();
        if culprits.contains(&LimitGroup::SectorNet) && !needs_cvar(cfg, &disabled, true) {
            if let Some(names) = self.conflicting_sectors(r, &disabled, &mut solves) {
                members.insert(LimitGroup::SectorNet, names);
            }
        }
        Infeasibility {
            detail: format!(
                "solver certificate of primal infeasibility; deletion filter over limit groups ({solves} feasibility solves): \
                 these limits conflict, and dropping any one of them resolves this conflict"
            ),
            culprits,
            members,
        }
    }

    /// The second stage of the deletion filter, inside the sector net group: relax one
    /// sector's net bounds at a time (a non-binding per-sector cap), keeping it relaxed while
    /// the problem stays infeasible. The sectors left are needed for the conflict; `None`
    /// when that is every sector (the group conflicts as a whole) or a solve fails.
    fn conflicting_sectors(
        &self,
        r: &Resolved<'_>,
        disabled: &BTreeSet<LimitGroup>,
        solves: &mut usize,
    ) -> Option<Vec<String>> {
        let mut trial = self.config.clone();
        let spec = Spec {
            disabled,
            feasibility_only: true,
            cvar: CvarForm::None,
        };
        let members = r.sector_members();
        let mut needed = Vec::new();
        for (s, name) in r.sector_names.iter().enumerate() {
            // A bound no book within the weight bounds (or gross limit) can reach.
            let reach: f64 = members[s]
                .iter()
                .map(|&i| r.lower[i].abs().max(r.upper[i].abs()))
                .sum::<f64>()
                .min(trial.limits.gross_max.unwrap_or(f64::INFINITY))
                .min(trial.limits.leverage_max.map_or(f64::INFINITY, |l| 2.0 * l));
            if !reach.is_finite() {
                return None;
            }
            let loose = reach + 1.0;
            let saved = trial.limits.sector_caps.insert(
                name.clone(),
                SectorCap {
                    net_min: Some(-loose),
                    net_max: Some(loose),
                },
            );
            *solves += 1;
            let raw = run(&assemble(&trial, r, &spec), &trial).ok()?;
            if !is_infeasible(raw.status) {
                // needed: restore its bounds
                match saved {
                    Some(c) => trial.limits.sector_caps.insert(name.clone(), c),
                    None => trial.limits.sector_caps.remove(name),
                };
                needed.push(name.clone());
            }
        }
        (!needed.is_empty() && needed.len() < r.sector_names.len()).then_some(needed)
    }

    /// Result at given weights (objective parts and risk evaluated directly).
    fn evaluate(&self, r: &Resolved<'_>, w: Vec<f64>, status: Status, info: SolveInfo) -> PortfolioResult {
        let cfg = &self.config;
        let risk = risk_report(cfg, r, &w);
        let expected_return = if cfg.objective == Objective::MinVariance {
            0.0
        } else {
            r.mu.iter().zip(&w).map(|(a, b)| a * b).sum()
        };
        let risk_term = match cfg.objective {
            Objective::MeanVariance => cfg.risk_aversion * risk.variance.unwrap_or(0.0),
            Objective::MinVariance => risk.variance.unwrap_or(0.0),
            Objective::MeanCvar => cfg.cvar_penalty * risk.cvar.unwrap_or(0.0),
        };
        let mut cost: f64 = (0..r.n)
            .map(|i| (r.costs[i] + cfg.turnover_penalty) * (w[i] - r.current[i]).abs())
            .sum();
        if let Some(c) = &cfg.convex_cost {
            // a non-finite value is caught by `checked` as an overflow
            cost += (0..r.n)
                .map(|i| c.value(i, w[i] - r.current[i]).unwrap_or(f64::INFINITY))
                .sum::<f64>();
        }
        PortfolioResult {
            weights: w,
            status,
            objective: ObjectiveParts {
                objective: expected_return - risk_term - cost,
                expected_return,
                risk: risk_term,
                cost,
            },
            risk,
            active: Vec::new(),
            covariance_repair: None,
            fallback: None,
            infeasibility: None,
            info,
        }
    }

    /// A non-optimal outcome: the current weights, or the fallback policy's weights.
    fn failed(&self, r: &Resolved<'_>, status: Status, info: SolveInfo) -> PortfolioResult {
        let cfg = &self.config;
        let check_all = |w: &[f64]| {
            let rep = risk_report(cfg, r, w);
            violations(cfg, r, w, &rep, 1e-9).is_empty()
        };
        // scaling down can only help caps; floors and turnover are not its business
        let check = |w: &[f64]| {
            let rep = risk_report(cfg, r, w);
            violations(cfg, r, w, &rep, 1e-9).iter().all(|v| {
                matches!(
                    v,
                    LimitId::NetMin
                        | LimitId::SectorNetMin { .. }
                        | LimitId::TurnoverMax
                        | LimitId::WeightMin { .. }
                )
            })
        };
        let scaled = |s: f64| r.current.iter().map(|x| x * s).collect::<Vec<f64>>();
        let (w, record) = match cfg.fallback {
            FallbackPolicy::None => (r.current.to_vec(), None),
            FallbackPolicy::KeepCurrent => {
                let ok = check_all(r.current);
                (
                    r.current.to_vec(),
                    Some(FallbackRecord {
                        policy: FallbackPolicy::KeepCurrent,
                        scale: 1.0,
                        satisfies_limits: ok,
                    }),
                )
            }
            FallbackPolicy::ScaleDownCurrent => {
                // the feasible scales form an interval (all limits are convex in w): scan a
                // coarse grid from the top, then bisect between the first feasible point and
                // the grid point above it.
                let mut found = None;
                for k in (0..=100).rev() {
                    let s = k as f64 / 100.0;
                    if check(&scaled(s)) {
                        found = Some(s);
                        break;
                    }
                }
                match found {
                    Some(s0) => {
                        let (mut lo, mut hi) = (s0, (s0 + 0.01).min(1.0));
                        if hi > lo {
                            while hi - lo > 1e-3 {
                                let mid = 0.5 * (lo + hi);
                                if check(&scaled(mid)) {
                                    lo = mid;
                                } else {
                                    hi = mid;
                                }
                            }
                        }
                        (
                            scaled(lo),
                            Some(FallbackRecord {
                                policy: FallbackPolicy::ScaleDownCurrent,
                                scale: lo,
                                satisfies_limits: check_all(&scaled(lo)),
                            }),
                        )
                    }
                    None => (
                        vec![0.0; r.n],
                        Some(FallbackRecord {
                            policy: FallbackPolicy::ScaleDownCurrent,
                            scale: 0.0,
                            satisfies_limits: false,
                        }),
                    ),
                }
            }
        };
        let mut res = self.evaluate(r, w, status, info);
        res.fallback = record;
        res
    }
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

/// A validated, assembled problem that can be re-solved after changing only the expected
/// returns or the current weights (see [`PortfolioOptimizer::prepare`]).
pub struct PreparedProblem {
    problem: PortfolioProblem,
    config: PortfolioConfig,
    psd: Option<PsdReport>,
    asm: Option<Assembled>,
}

impl std::fmt::Debug for PreparedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedProblem")
            .field("problem", &self.problem)
            .field("assembled", &self.asm.is_some())
            .finish()
    }
}

impl PreparedProblem {
    /// The problem (with the covariance as repaired by the PSD policy).
    pub fn problem(&self) -> &PortfolioProblem {
        &self.problem
    }

    /// Replaces the expected returns μ.
    pub fn set_expected_returns(&mut self, mu: &[f64]) -> Result<(), PortfolioError> {
        let n = self.problem.n_assets();
        prudentia_core::validate::check_shape("expected_returns", &[n], &[mu.len()])?;
        prudentia_core::validate::check_finite("expected_returns", mu)?;
        self.problem.expected_returns.copy_from_slice(mu);
        if let Some(asm) = &mut self.asm {
            if self.config.objective != Objective::MinVariance {
                for (q, m) in asm.q.iter_mut().zip(mu) {
                    *q = -m / asm.obj_scale;
                }
            }
        }
        Ok(())
    }

    /// Replaces the current weights w₀ (the reference of turnover and costs).
    pub fn set_current(&mut self, current: &[f64]) -> Result<(), PortfolioError> {
        let n = self.problem.n_assets();
        prudentia_core::validate::check_shape("current", &[n], &[current.len()])?;
        prudentia_core::validate::check_finite("current", current)?;
        self.problem.current.copy_from_slice(current);
        if let Some(asm) = &mut self.asm {
            if asm.turnover_rows.len() == 2 * n {
                for (i, &c) in current.iter().enumerate() {
                    asm.b[asm.turnover_rows[i]] = c;
                    asm.b[asm.turnover_rows[n + i]] = -c;
                }
            }
            for &(row, i, s, a) in &asm.convex_rows {
                asm.b[row] = s * current[i] - a;
            }
        }
        Ok(())
    }
}
