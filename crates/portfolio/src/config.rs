//! Configuration: objective, limits, solver settings and policies.

use serde::{Deserialize, Serialize};

use crate::error::PortfolioError;

/// What the optimizer maximizes. With weights `w`, expected returns `μ`, covariance `Σ`,
/// current weights `w₀`, linear costs `c` and penalties from [`PortfolioConfig`]:
///
/// `J(w) = μᵀw − γ·wᵀΣw − λ·CVaR_α(w) − Σᵢ (cᵢ + λ_τ)·|wᵢ − w₀ᵢ|`
///
/// where the variance term is present for [`Objective::MeanVariance`] (γ = `risk_aversion`)
/// and [`Objective::MinVariance`] (γ = 1, no return term), and the CVaR term for
/// [`Objective::MeanCvar`] (λ = `cvar_penalty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Objective {
    /// Mean–CVaR (Rockafellar & Uryasev 2000) over return scenarios.
    #[default]
    MeanCvar,
    /// Mean–variance with a full or factor covariance.
    MeanVariance,
    /// Minimum variance (the expected returns are ignored).
    MinVariance,
}

/// How CVaR enters the conic problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum CvarMethod {
    /// The Rockafellar–Uryasev LP with one auxiliary variable and one row per scenario.
    FullLp,
    /// Künzi-Bay & Mayer (2006) cutting planes: CVaR as a maximum over scenario subsets,
    /// adding the most violated cut each round and re-solving a small master problem.
    CuttingPlane,
    /// Scenario generation: the R–U LP over a working subset of scenarios (initially the
    /// worst 2⌈(1−α)T⌉ + n losses of the equal-weight book), adding every scenario whose loss
    /// exceeds the current VaR variable ζ until none does. Each added scenario is a cut
    /// `zₛ ≥ ℓₛ(w) − ζ` of the full LP, so the end point is the full LP's optimum; the LPs
    /// solved are a fraction of its size because only tail scenarios matter.
    ScenarioGeneration,
    /// Scenario generation when there are more than 4·n scenarios, else the full LP.
    #[default]
    Auto,
}

/// What to do with a covariance matrix that is not positive semi-definite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PsdPolicy {
    /// Fail with `CoreError::NotPositiveSemiDefinite`.
    Reject,
    /// Replace it by the nearest PSD matrix (`prudentia_core::estimators::nearest_psd`, eigenvalues
    /// floored at `min_eigenvalue`) and report the repair in the result.
    Repair {
        /// Eigenvalue floor of the repaired matrix (≥ 0).
        min_eigenvalue: f64,
    },
}

impl Default for PsdPolicy {
    fn default() -> Self {
        PsdPolicy::Repair { min_eigenvalue: 0.0 }
    }
}

/// An explicit policy for when no optimal portfolio was found (infeasible, iteration limit,
/// numerical failure). Whatever is used is recorded in the result; there is no silent fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum FallbackPolicy {
    /// No fallback: the result carries the failure status and the current weights.
    #[default]
    None,
    /// Keep the current weights.
    KeepCurrent,
    /// Scale the current weights by the largest factor `s ∈ [0, 1]` (to 1e-3) under which
    /// every cap holds (per-name upper bounds, gross, net_max, leverage, sector caps, CVaR);
    /// floors and turnover cannot be met by scaling down and are not checked. Zero weights
    /// when no scale works. The record says whether the result meets every limit.
    ScaleDownCurrent,
}

/// Portfolio limits. `None` means "no limit". Exposures are fractions of equity.
/// Validated on deserialization ([`Limits::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct Limits {
    /// Smallest weight of any name (default 0: long only; negative allows shorts).
    pub weight_min: f64,
    /// Largest weight of any name (default 1).
    pub weight_max: f64,
    /// Gross exposure Σ|wᵢ| ≤ gross_max (default none, ≥ 0).
    pub gross_max: Option<f64>,
    /// Net exposure Σwᵢ ≥ net_min (default none).
    pub net_min: Option<f64>,
    /// Net exposure Σwᵢ ≤ net_max (default none). `net_min == net_max` is an equality (budget).
    pub net_max: Option<f64>,
    /// Leverage: the larger of the long book Σwᵢ⁺ and the short book Σwᵢ⁻ is at most this
    /// (default none, ≥ 0). A 130/30 portfolio has leverage 1.3 and gross exposure 1.6.
    pub leverage_max: Option<f64>,
    /// Net exposure of every sector ≥ sector_net_min (default none).
    pub sector_net_min: Option<f64>,
    /// Net exposure of every sector ≤ sector_net_max (default none).
    pub sector_net_max: Option<f64>,
    /// Gross exposure of every sector ≤ sector_gross_max (default none, ≥ 0).
    pub sector_gross_max: Option<f64>,
    /// L1 turnover Σ|wᵢ − w₀ᵢ| against the current weights ≤ turnover_max (default none, ≥ 0).
    pub turnover_max: Option<f64>,
    /// CVaR_α of the portfolio loss ≤ cvar_max (fraction of equity; default none).
    pub cvar_max: Option<f64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            weight_min: 0.0,
            weight_max: 1.0,
            gross_max: None,
            net_min: None,
            net_max: None,
            leverage_max: None,
            sector_net_min: None,
            sector_net_max: None,
            sector_gross_max: None,
            turnover_max: None,
            cvar_max: None,
        }
    }
}

/// The largest [`SolverConfig::max_cut_rounds`] (100,000 rounds).
pub const MAX_CUT_ROUNDS: usize = 100_000;

/// Interior-point solver settings passed to Clarabel. Validated on deserialization
/// ([`SolverConfig::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct SolverConfig {
    /// Iteration limit of one interior-point solve (default 200, ≥ 1).
    pub max_iterations: u32,
    /// Absolute and relative duality-gap and feasibility tolerance (default 1e-9, in (0, 1e-3]).
    pub tolerance: f64,
    /// Wall-clock limit of one solve in seconds (default none, > 0), shared by the structured
    /// method and Clarabel.
    pub time_limit_s: Option<f64>,
    /// Threads of the sparse LDL factorization (default 1: sequential and deterministic;
    /// 0 lets the solver use every core).
    pub threads: u32,
    /// Solve mean–variance and minimum-variance problems with a full covariance (and no
    /// CVaR rows) by the structured interior-point method of this crate, which factors the
    /// dense covariance block directly (default true). Problems outside that structure, and
    /// any it does not solve to `tolerance`, go to Clarabel, which also certifies
    /// infeasibility. False sends everything to Clarabel.
    pub structured_qp: bool,
    /// Cutting-plane (and scenario-generation) rounds at most (default 500, in
    /// `[1, MAX_CUT_ROUNDS]`).
    pub max_cut_rounds: usize,
    /// Relative gap between the cutting-plane upper and lower bounds at which it stops
    /// (default 1e-9, > 0; relative to max(1, |objective|)).
    pub cut_tolerance: f64,
}

impl Default for SolverConfig {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            tolerance: 1e-9,
            time_limit_s: None,
            threads: 1,
            structured_qp: true,
            max_cut_rounds: 500,
            cut_tolerance: 1e-9,
        }
    }
}

/// Configuration of [`crate::PortfolioOptimizer`]. Validated on deserialization
/// ([`PortfolioConfig::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct PortfolioConfig {
    /// The objective (default [`Objective::MeanCvar`]).
    pub objective: Objective,
    /// γ, the weight of the variance wᵀΣw in [`Objective::MeanVariance`] (default 1, ≥ 0).
    pub risk_aversion: f64,
    /// λ, the weight of CVaR_α in [`Objective::MeanCvar`] (default 1, ≥ 0).
    pub cvar_penalty: f64,
    /// λ_τ, a penalty per unit of L1 turnover added to the linear costs (default 0, ≥ 0).
    pub turnover_penalty: f64,
    /// CVaR confidence level α (default 0.95, in (0, 1)).
    pub alpha: f64,
    /// Limits (default: long only, weights in [0, 1], nothing else).
    pub limits: Limits,
    /// How CVaR is solved (default [`CvarMethod::Auto`]).
    pub cvar_method: CvarMethod,
    /// Non-PSD covariance handling (default repair with floor 0).
    pub psd: PsdPolicy,
    /// Fallback when no optimum was found (default none).
    pub fallback: FallbackPolicy,
    /// Whether to find the conflicting limits of an infeasible problem by relaxing limit
    /// groups in turn (default true; costs one feasibility solve per limit group).
    pub diagnose_infeasibility: bool,
    /// A limit row is reported active when its slack is at most this, relative to
    /// max(1, |limit|) (default 1e-6, > 0).
    pub active_tolerance: f64,
    /// Solver settings.
    pub solver: SolverConfig,
}

impl Default for PortfolioConfig {
    fn default() -> Self {
        Self {
            objective: Objective::MeanCvar,
            risk_aversion: 1.0,
            cvar_penalty: 1.0,
            turnover_penalty: 0.0,
            alpha: 0.95,
            limits: Limits::default(),
            cvar_method: CvarMethod::Auto,
            psd: PsdPolicy::default(),
            fallback: FallbackPolicy::None,
            diagnose_infeasibility: true,
            active_tolerance: 1e-6,
            solver: SolverConfig::default(),
        }
    }
}

fn bad(field: &'static str, value: f64, expected: &'static str) -> PortfolioError {
    PortfolioError::InvalidConfig {
        field,
        value,
        expected,
    }
}

fn non_neg(field: &'static str, v: f64) -> Result<(), PortfolioError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(bad(field, v, "finite and >= 0"))
    }
}

fn finite_opt(field: &'static str, v: Option<f64>) -> Result<(), PortfolioError> {
    match v {
        Some(x) if !x.is_finite() => Err(bad(field, x, "finite")),
        _ => Ok(()),
    }
}

impl PortfolioConfig {
    /// Checks every field; the error names the first bad one. Limits that contradict each
    /// other (e.g. net_min above gross_max) are not errors: the optimizer reports them as an
    /// `Infeasible` status naming the culprits.
    pub fn validate(&self) -> Result<(), PortfolioError> {
        non_neg("risk_aversion", self.risk_aversion)?;
        non_neg("cvar_penalty", self.cvar_penalty)?;
        non_neg("turnover_penalty", self.turnover_penalty)?;
        if !(self.alpha.is_finite() && self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(bad("alpha", self.alpha, "in the open interval (0, 1)"));
        }
        if let PsdPolicy::Repair { min_eigenvalue } = self.psd {
            non_neg("psd.min_eigenvalue", min_eigenvalue)?;
        }
        if !(self.active_tolerance.is_finite() && self.active_tolerance > 0.0) {
            return Err(bad("active_tolerance", self.active_tolerance, "finite and > 0"));
        }
        self.limits.validate()?;
        self.solver.validate()
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

impl Limits {
    /// Checks every field; the error names the first bad one. A bound above its own upper
    /// bound (`weight_min > weight_max`, `net_min > net_max`, `sector_net_min >
    /// sector_net_max`) is an error; other contradictions between limits are statuses of the
    /// solve.
    pub fn validate(&self) -> Result<(), PortfolioError> {
        let l = self;
        if l.weight_min.is_nan() || l.weight_min == f64::INFINITY {
            return Err(bad(
                "limits.weight_min",
                l.weight_min,
                "a number < +inf (-inf allowed)",
            ));
        }
        if l.weight_max.is_nan() || l.weight_max == f64::NEG_INFINITY {
            return Err(bad(
                "limits.weight_max",
                l.weight_max,
                "a number > -inf (+inf allowed)",
            ));
        }
        if let Some(g) = l.gross_max {
            non_neg("limits.gross_max", g)?;
        }
        if let Some(g) = l.leverage_max {
            non_neg("limits.leverage_max", g)?;
        }
        if let Some(g) = l.sector_gross_max {
            non_neg("limits.sector_gross_max", g)?;
        }
        if let Some(g) = l.turnover_max {
            non_neg("limits.turnover_max", g)?;
        }
        finite_opt("limits.net_min", l.net_min)?;
        finite_opt("limits.net_max", l.net_max)?;
        finite_opt("limits.sector_net_min", l.sector_net_min)?;
        finite_opt("limits.sector_net_max", l.sector_net_max)?;
        finite_opt("limits.cvar_max", l.cvar_max)?;
        // A lower bound above its own upper bound is a configuration error, caught at
        // construction (issue #19), not an infeasible solve later.
        if l.weight_min > l.weight_max {
            return Err(bad("limits.weight_min", l.weight_min, "<= limits.weight_max"));
        }
        if let (Some(lo), Some(hi)) = (l.net_min, l.net_max) {
            if lo > hi {
                return Err(bad("limits.net_min", lo, "<= limits.net_max"));
            }
        }
        if let (Some(lo), Some(hi)) = (l.sector_net_min, l.sector_net_max) {
            if lo > hi {
                return Err(bad("limits.sector_net_min", lo, "<= limits.sector_net_max"));
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

impl SolverConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), PortfolioError> {
        let s = self;
        if s.max_iterations == 0 {
            return Err(bad("solver.max_iterations", 0.0, ">= 1"));
        }
        if !(s.tolerance > 0.0 && s.tolerance <= 1e-3) {
            return Err(bad("solver.tolerance", s.tolerance, "in (0, 1e-3]"));
        }
        if let Some(t) = s.time_limit_s.filter(|t| t.is_nan() || *t <= 0.0) {
            return Err(bad("solver.time_limit_s", t, "> 0"));
        }
        if s.max_cut_rounds == 0 || s.max_cut_rounds > MAX_CUT_ROUNDS {
            return Err(bad(
                "solver.max_cut_rounds",
                s.max_cut_rounds as f64,
                "in [1, MAX_CUT_ROUNDS = 100000]",
            ));
        }
        if !(s.cut_tolerance.is_finite() && s.cut_tolerance > 0.0) {
            return Err(bad("solver.cut_tolerance", s.cut_tolerance, "finite and > 0"));
        }
        Ok(())
    }
}

impl SolverConfig {
    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(Limits, Limits::check);
prudentia_core::checked_serde!(SolverConfig, SolverConfig::check);
prudentia_core::checked_serde!(PortfolioConfig, PortfolioConfig::check);
