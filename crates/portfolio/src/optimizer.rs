//! The optimizer: validation, the solve and its outcome, prepared problems.
//!
//! The parts live in submodules: [`psd`] (the covariance under the PSD policy), [`precheck`]
//! (contradictions visible from the limits alone), [`conic`] (one conic solve), [`cvar`]
//! (the mean–CVaR methods), [`diagnosis`] (binding limits, infeasibility diagnosis) and
//! [`fallback`] (what a solve that does not end optimal returns).

use std::collections::BTreeSet;

use clarabel::solver::SolverStatus;
use prudentia_core::Status;

use crate::build::{assemble, needs_cvar, Assembled, CvarForm, Resolved, Spec};
use crate::config::{CvarMethod, Objective, PortfolioConfig};
use crate::error::PortfolioError;
use crate::problem::{CovarianceModel, PortfolioProblem};
use crate::result::{
    limits_violated, ObjectiveParts, PortfolioResult, PsdReport, SolveInfo, FEASIBILITY_TOLERANCE,
};
use crate::risk_measures::{risk_report, violations};

mod conic;
mod cvar;
mod diagnosis;
mod fallback;
mod precheck;
mod psd;

use conic::{is_solved, run, Raw};
pub use cvar::scenario_var_cvar;
use psd::resolve_covariance;

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
    /// covariance under [`PsdPolicy::Reject`](crate::PsdPolicy::Reject)); an infeasible or unsolved problem is a status
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

    /// Pre-checks, then the solve by the configured method, then its outcome judged.
    fn solve_resolved(&self, r: &Resolved<'_>, cached: Option<&Assembled>) -> PortfolioResult {
        if let Some(res) = self.prechecked(r) {
            return res;
        }
        let none = BTreeSet::new();
        let cvar = needs_cvar(&self.config, &none, false);
        let method = if cvar { Some(self.cvar_method(r)) } else { None };
        let rounds = match method {
            Some(CvarMethod::CuttingPlane) => self.solve_cuts(r),
            Some(CvarMethod::ScenarioGeneration) => self.solve_scenarios(r, &none, false),
            _ => return self.solve_whole(r, cached, method),
        };
        match rounds {
            Ok((raw, asm, info)) => self.conclude(r, &raw, &asm, info),
            Err(e) => self.solver_error(r, &e),
        }
    }

    /// One solve of the whole problem (with the full CVaR LP when `method` is set), reusing
    /// the `cached` assembly when there is one.
    fn solve_whole(
        &self,
        r: &Resolved<'_>,
        cached: Option<&Assembled>,
        method: Option<CvarMethod>,
    ) -> PortfolioResult {
        let cfg = &self.config;
        let built;
        let asm = match cached {
            Some(a) => a,
            None => {
                let spec = Spec {
                    disabled: &BTreeSet::new(),
                    feasibility_only: false,
                    cvar: if method.is_some() {
                        CvarForm::Full
                    } else {
                        CvarForm::None
                    },
                };
                built = assemble(cfg, r, &spec);
                &built
            }
        };
        match run(asm, cfg) {
            Ok(raw) => {
                let info = SolveInfo {
                    iterations: raw.iterations,
                    cvar_method: method,
                    reduced_accuracy: raw.status == SolverStatus::AlmostSolved,
                    variables: asm.layout.nvar,
                    rows: asm.b.len(),
                    structured: raw.structured,
                    ..Default::default()
                };
                self.conclude(r, &raw, asm, info)
            }
            Err(e) => self.solver_error(r, &e),
        }
    }

    /// The result of a finished solve. Optimal is checked, not believed: a solved outcome
    /// is `Converged` (or `ReducedAccuracy`) only with finite weights within every limit, and
    /// reports the binding limits; see [`Self::not_solved`] for the rest.
    fn conclude(&self, r: &Resolved<'_>, raw: &Raw, asm: &Assembled, info: SolveInfo) -> PortfolioResult {
        if !is_solved(raw.status) {
            return self.not_solved(r, raw, info);
        }
        let cfg = &self.config;
        let w = &raw.x[..r.n];
        let w_finite = w.iter().all(|v| v.is_finite());
        let (broken, risk) = if w_finite {
            let rep = risk_report(cfg, r, w);
            (violations(cfg, r, w, &rep, FEASIBILITY_TOLERANCE), Some(rep))
        } else {
            (Vec::new(), None)
        };
        let risk = match risk {
            Some(risk) if broken.is_empty() => risk,
            _ => return self.failed(r, limits_violated(&broken, r.asset_names), info),
        };
        let active = self.active(asm, raw, r.asset_names);
        // Clarabel's AlmostSolved (in any round) is reduced accuracy, never optimal
        let status = if info.reduced_accuracy {
            Status::ReducedAccuracy {
                reason: "Clarabel: AlmostSolved (solved to its reduced tolerances)".into(),
            }
        } else {
            Status::Converged
        };
        // the risk report the limits were checked with (the same weights)
        let mut res = self.evaluate_with(r, w.to_vec(), status, info, risk);
        res.active = active;
        res
    }

    /// Result at given weights (objective parts and risk evaluated directly).
    pub(super) fn evaluate(
        &self,
        r: &Resolved<'_>,
        w: Vec<f64>,
        status: Status,
        info: SolveInfo,
    ) -> PortfolioResult {
        let risk = risk_report(&self.config, r, &w);
        self.evaluate_with(r, w, status, info, risk)
    }

    /// [`Self::evaluate`] with the risk report at `w` already computed.
    fn evaluate_with(
        &self,
        r: &Resolved<'_>,
        w: Vec<f64>,
        status: Status,
        info: SolveInfo,
        risk: crate::result::RiskReport,
    ) -> PortfolioResult {
        let cfg = &self.config;
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
