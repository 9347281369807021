//! Configuration: objective, limits, solver settings and policies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::PortfolioError;

/// What the optimizer maximizes. With weights `w`, expected returns `μ`, covariance `Σ`,
/// current weights `w₀`, linear costs `c` and penalties from [`PortfolioConfig`]:
///
/// `J(w) = μᵀw − γ·wᵀΣw − λ·CVaR_α(w) − Σᵢ (cᵢ + λ_τ)·|wᵢ − w₀ᵢ| − Σᵢ f̂ᵢ(|wᵢ − w₀ᵢ|)`
///
/// where the variance term is present for [`Objective::MeanVariance`] (γ = `risk_aversion`)
/// and [`Objective::MinVariance`] (γ = 1, no return term), and the CVaR term for
/// [`Objective::MeanCvar`] (λ = `cvar_penalty`), and `f̂ᵢ` is the optional convex trading
/// cost of [`ConvexCost`] (`PortfolioConfig::convex_cost`, off by default).
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
    /// Net exposure bounds of named sectors, overriding `sector_net_min` / `sector_net_max`
    /// for those sectors field by field (default empty). Names are matched against the
    /// problem's sector labels; a name no asset carries is allowed and has no effect. At
    /// most `MAX_DIM` entries, each finite with its effective minimum ≤ its effective
    /// maximum (after the global bounds fill in an absent field).
    ///
    /// In JSON `"sector_caps": {"Tech": {"net_max": 0.3}, "Energy": {"net_min": 0.05, "net_max": 0.2}}`;
    /// in TOML `[portfolio.limits.sector_caps.Tech]` then `net_max = 0.3`.
    pub sector_caps: BTreeMap<String, SectorCap>,
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
            sector_caps: BTreeMap::new(),
            turnover_max: None,
            cvar_max: None,
        }
    }
}

/// Net exposure bounds of one named sector ([`Limits::sector_caps`]); an absent field takes
/// the global `sector_net_min` / `sector_net_max`. Validated on deserialization
/// ([`SectorCap::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct SectorCap {
    /// The sector's net exposure ≥ net_min (finite).
    pub net_min: Option<f64>,
    /// The sector's net exposure ≤ net_max (finite).
    pub net_max: Option<f64>,
}

impl SectorCap {
    /// Checks both bounds finite and `net_min ≤ net_max` when both are given (the bounds
    /// merged with the global ones are checked by [`Limits::validate`]).
    pub fn validate(&self) -> Result<(), PortfolioError> {
        finite_opt("limits.sector_caps.net_min", self.net_min)?;
        finite_opt("limits.sector_caps.net_max", self.net_max)?;
        if let (Some(lo), Some(hi)) = (self.net_min, self.net_max) {
            if lo > hi {
                return Err(bad(
                    "limits.sector_caps.net_min",
                    lo,
                    "<= limits.sector_caps.net_max",
                ));
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
    }
}

impl Limits {
    /// The net exposure bounds `(min, max)` that apply to a sector: its
    /// [`sector_caps`](Self::sector_caps) entry, field by field, else the global
    /// `sector_net_min` / `sector_net_max`.
    pub fn sector_net_bounds(&self, sector: &str) -> (Option<f64>, Option<f64>) {
        let cap = self.sector_caps.get(sector);
        (
            cap.and_then(|c| c.net_min).or(self.sector_net_min),
            cap.and_then(|c| c.net_max).or(self.sector_net_max),
        )
    }

    /// Whether any sector net bound is set (globally or for a named sector).
    pub fn has_sector_net_bounds(&self) -> bool {
        self.sector_net_min.is_some()
            || self.sector_net_max.is_some()
            || self
                .sector_caps
                .values()
                .any(|c| c.net_min.is_some() || c.net_max.is_some())
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
    /// Solve the mean–CVaR problems (the Rockafellar–Uryasev LP over all scenarios, or over
    /// a subset in each round of [`CvarMethod::ScenarioGeneration`]; the cutting-plane master
    /// stays with Clarabel) by the same structured interior-point method (default true): the scenario excess variables are eliminated in
    /// closed form, so each Newton step factors a dense (n+1) × (n+1) block `RᵀDR` instead of
    /// the sparse LP's KKT system. As with `structured_qp`, a problem it does not solve to
    /// `tolerance` (and every infeasible or unbounded one) goes to Clarabel. False sends
    /// CVaR problems to Clarabel.
    pub structured_cvar: bool,
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
            structured_cvar: true,
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
    /// An optional convex (market-impact style) trading cost per asset, in the objective
    /// (default none). See [`ConvexCost`].
    pub convex_cost: Option<ConvexCost>,
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
            convex_cost: None,
        }
    }
}

/// The most breakpoints of a [`ConvexCost`] (256).
pub const MAX_COST_BREAKPOINTS: usize = 256;
/// The largest [`ConvexCost::max_trade`] (1e6, in units of equity).
pub const MAX_COST_TRADE: f64 = 1e6;

/// A convex trading cost per asset, charged in the optimizer's objective so that expected
/// costs change the target (issue #15).
///
/// For a trade `d = |wᵢ − w₀ᵢ|` of asset `i` the cost is
///
/// `fᵢ(d) = c₁ᵢ·d + c₃/₂ᵢ·d^{3/2}`
///
/// (a linear spread/fee term plus the square-root market-impact law, whose cost per unit
/// traded grows like `√d`; Almgren, Thum, Hauptmann & Li 2005, "Direct estimation of equity
/// market impact", *Risk* 18(7)). The optimizer uses its piecewise-linear interpolant `f̂ᵢ`
/// with `k = breakpoints` segments on the breakpoints `d_j = D·(j/k)²`, `j = 0..k`,
/// `D = max_trade` (denser near zero, where `d^{3/2}` bends most). On `[0, D]` `f̂ᵢ` interpolates
/// `fᵢ` (`f̂ᵢ ≥ fᵢ`, equal at the breakpoints; the gap on a segment is at most
/// `(d_j − d_{j−1})²·max f″/8`); beyond `D` the last segment is extended linearly, so larger
/// trades are charged at the last segment's slope. `f̂ᵢ` is the maximum of its `k` segment
/// lines `a_j + s_j·d`, so it enters the conic problem as one auxiliary variable `vᵢ ≥ f̂ᵢ`
/// per asset with a nonzero cost and `2k` inequality rows `vᵢ ≥ a_j ± s_j·(wᵢ − w₀ᵢ)` (each row
/// touches one weight and one auxiliary, which keeps the mean–variance problem inside the
/// structured interior-point method; the mean–CVaR LP and everything else go to Clarabel as
/// before). [`ConvexCost::value`] evaluates `f̂ᵢ`; the result's `objective.cost` includes it.
///
/// `linear` and `power` are vectors aligned with the problem's assets (length `n`, finite,
/// `≥ 0`) or empty for zeros. A length that does not match the problem is an error at solve
/// time. Validated on deserialization ([`ConvexCost::validate`]).
///
/// ```
/// use prudentia_portfolio::{ConvexCost, PortfolioConfig};
/// let cost = ConvexCost {
///     linear: vec![0.001, 0.002],
///     power: vec![0.01, 0.05],
///     ..ConvexCost::default()
/// };
/// assert!(cost.validate().is_ok());
/// // exact at a breakpoint (D·(1/k)² with D = 1, k = 8)
/// let d = 1.0 / 64.0;
/// assert!((cost.value(0, d).unwrap() - (0.001 * d + 0.01 * d.powf(1.5))).abs() < 1e-15);
/// let config = PortfolioConfig { convex_cost: Some(cost), ..PortfolioConfig::default() };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct ConvexCost {
    /// c₁ per asset: cost per unit of traded weight (n, finite, ≥ 0; empty = zeros).
    pub linear: Vec<f64>,
    /// c₃/₂ per asset: coefficient of `d^{3/2}` (n, finite, ≥ 0; empty = zeros).
    pub power: Vec<f64>,
    /// k, the number of linear segments (default 8, in `[1, MAX_COST_BREAKPOINTS]`).
    pub breakpoints: usize,
    /// D, the trade size up to which `f` is interpolated (default 1, in
    /// `(0, MAX_COST_TRADE]`); beyond it the last segment is extended.
    pub max_trade: f64,
}

impl Default for ConvexCost {
    fn default() -> Self {
        Self {
            linear: Vec::new(),
            power: Vec::new(),
            breakpoints: 8,
            max_trade: 1.0,
        }
    }
}

impl ConvexCost {
    /// Checks every field; the error names the first bad one. Also checks that `fᵢ(D)` is
    /// representable (huge coefficients are an error, not an overflow later).
    pub fn validate(&self) -> Result<(), PortfolioError> {
        prudentia_core::validate::check_size(
            "convex_cost.linear",
            self.linear.len(),
            prudentia_core::validate::MAX_DIM,
        )?;
        prudentia_core::validate::check_size(
            "convex_cost.power",
            self.power.len(),
            prudentia_core::validate::MAX_DIM,
        )?;
        for &c in &self.linear {
            non_neg("convex_cost.linear", c)?;
        }
        for &c in &self.power {
            non_neg("convex_cost.power", c)?;
        }
        if self.breakpoints == 0 || self.breakpoints > MAX_COST_BREAKPOINTS {
            return Err(bad(
                "convex_cost.breakpoints",
                self.breakpoints as f64,
                "in [1, MAX_COST_BREAKPOINTS = 256]",
            ));
        }
        if !(self.max_trade.is_finite() && self.max_trade > 0.0 && self.max_trade <= MAX_COST_TRADE) {
            return Err(bad("convex_cost.max_trade", self.max_trade, "in (0, 1e6]"));
        }
        for i in 0..self.linear.len().max(self.power.len()) {
            let m = self.exact_unchecked(i, self.max_trade);
            if !m.is_finite() {
                return Err(bad(
                    "convex_cost.power",
                    self.coef(&self.power, i),
                    "small enough that c1·D + c3/2·D^1.5 is finite",
                ));
            }
        }
        Ok(())
    }

    /// Checks that the vectors are empty or `n` long (`n` = the problem's assets).
    pub fn check_assets(&self, n: usize) -> Result<(), PortfolioError> {
        if !self.linear.is_empty() {
            prudentia_core::validate::check_shape("convex_cost.linear", &[n], &[self.linear.len()])?;
        }
        if !self.power.is_empty() {
            prudentia_core::validate::check_shape("convex_cost.power", &[n], &[self.power.len()])?;
        }
        Ok(())
    }

    fn coef(&self, v: &[f64], i: usize) -> f64 {
        v.get(i).copied().unwrap_or(0.0)
    }

    fn exact_unchecked(&self, asset: usize, d: f64) -> f64 {
        self.coef(&self.linear, asset) * d + self.coef(&self.power, asset) * d * d.sqrt()
    }

    /// The exact cost `fᵢ(d) = c₁ᵢ·d + c₃/₂ᵢ·d^{3/2}` of a trade of size `|d|`; `None` for a
    /// non-finite `d` or an overflowing value. Assets beyond the vectors cost nothing.
    pub fn exact(&self, asset: usize, d: f64) -> Option<f64> {
        let v = self.exact_unchecked(asset, d.abs());
        v.is_finite().then_some(v)
    }

    /// The breakpoints `d_j = D·(j/k)²`, `j = 0..=k`.
    pub fn breakpoint_grid(&self) -> Vec<f64> {
        let k = self.breakpoints.clamp(1, MAX_COST_BREAKPOINTS);
        (0..=k)
            .map(|j| {
                let x = j as f64 / k as f64;
                self.max_trade * x * x
            })
            .collect()
    }

    /// `fᵢ(D)` and the segment lines of `f̂ᵢ / fᵢ(D)` as `(intercept, slope)`, normalized so
    /// the conic rows stay O(1/D) whatever the size of the coefficients; `None` when the
    /// asset costs nothing (or the config is invalid).
    pub(crate) fn normalized_lines(&self, asset: usize) -> Option<(f64, Vec<(f64, f64)>)> {
        let m = self.exact_unchecked(asset, self.max_trade);
        if !(m.is_finite() && m > 0.0) {
            return None;
        }
        let d = self.breakpoint_grid();
        let g: Vec<f64> = d.iter().map(|&x| self.exact_unchecked(asset, x) / m).collect();
        let lines = (1..d.len())
            .map(|j| {
                let s = (g[j] - g[j - 1]) / (d[j] - d[j - 1]);
                (g[j - 1] - s * d[j - 1], s)
            })
            .collect();
        Some((m, lines))
    }

    /// The piecewise-linear cost `f̂ᵢ(|d|)` the optimizer charges for a trade `d` of asset
    /// `asset` (0 for an asset without cost); `None` for a non-finite `d` or an overflowing
    /// value.
    pub fn value(&self, asset: usize, d: f64) -> Option<f64> {
        if !d.is_finite() {
            return None;
        }
        let Some((m, lines)) = self.normalized_lines(asset) else {
            return Some(0.0);
        };
        let x = d.abs();
        let g = lines.iter().fold(0.0_f64, |acc, (a, s)| acc.max(a + s * x));
        let v = m * g;
        v.is_finite().then_some(v)
    }

    fn check(&mut self) -> Result<(), PortfolioError> {
        self.validate()
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
        if let Some(c) = &self.convex_cost {
            c.validate()?;
        }
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
        prudentia_core::validate::check_size(
            "limits.sector_caps",
            l.sector_caps.len(),
            prudentia_core::validate::MAX_DIM,
        )?;
        for (name, cap) in &l.sector_caps {
            finite_opt("limits.sector_caps.net_min", cap.net_min)?;
            finite_opt("limits.sector_caps.net_max", cap.net_max)?;
            if let (Some(lo), Some(hi)) = l.sector_net_bounds(name) {
                if lo > hi {
                    return Err(PortfolioError::InvalidSectorCap {
                        sector: name.clone(),
                        min: lo,
                        max: hi,
                    });
                }
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
prudentia_core::checked_serde!(SectorCap, SectorCap::check);
prudentia_core::checked_serde!(SolverConfig, SolverConfig::check);
prudentia_core::checked_serde!(ConvexCost, ConvexCost::check);
prudentia_core::checked_serde!(PortfolioConfig, PortfolioConfig::check);
