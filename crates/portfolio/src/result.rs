//! What an optimization returns.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use prudentia_core::error::CoreError;
use prudentia_core::validate::check_finite;
use prudentia_core::Status;

use crate::config::{CvarMethod, FallbackPolicy};

/// A group of limits, the unit in which infeasibility is diagnosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LimitGroup {
    /// Per-name bounds (weight_min / weight_max or the problem's bounds).
    WeightBounds,
    /// Gross exposure (gross_max).
    Gross,
    /// Net exposure (net_min / net_max).
    Net,
    /// Leverage of the long and short books (leverage_max).
    Leverage,
    /// Sector net exposure (sector_net_min / sector_net_max).
    SectorNet,
    /// Sector gross exposure (sector_gross_max).
    SectorGross,
    /// L1 turnover (turnover_max).
    Turnover,
    /// CVaR hard limit (cvar_max).
    Cvar,
}

impl LimitGroup {
    /// All groups, in diagnosis order.
    pub const ALL: [LimitGroup; 8] = [
        LimitGroup::Cvar,
        LimitGroup::Turnover,
        LimitGroup::SectorGross,
        LimitGroup::SectorNet,
        LimitGroup::Leverage,
        LimitGroup::Gross,
        LimitGroup::Net,
        LimitGroup::WeightBounds,
    ];
}

impl std::str::FromStr for LimitGroup {
    type Err = CoreError;

    /// Parses the `Display` name back (the names in [`Status::Infeasible`]'s culprits),
    /// ignoring the ` [names]` of the assets or sectors a culprit may list.
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let group = match s.find(" [") {
            Some(k) if s.ends_with(']') => &s[..k],
            _ => s,
        };
        LimitGroup::ALL
            .into_iter()
            .find(|g| g.to_string() == group)
            .ok_or_else(|| CoreError::UnknownId {
                kind: "limit group",
                id: s.to_string(),
            })
    }
}

impl fmt::Display for LimitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitGroup::WeightBounds => "weight bounds",
            LimitGroup::Gross => "gross_max",
            LimitGroup::Net => "net_min/net_max",
            LimitGroup::Leverage => "leverage_max",
            LimitGroup::SectorNet => "sector_net_min/sector_net_max",
            LimitGroup::SectorGross => "sector_gross_max",
            LimitGroup::Turnover => "turnover_max",
            LimitGroup::Cvar => "cvar_max",
        })
    }
}

/// One limit row of the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LimitId {
    /// wᵢ ≥ lowerᵢ.
    WeightMin {
        /// Asset index.
        asset: usize,
    },
    /// wᵢ ≤ upperᵢ.
    WeightMax {
        /// Asset index.
        asset: usize,
    },
    /// Σ|w| ≤ gross_max.
    GrossMax,
    /// Σw ≥ net_min.
    NetMin,
    /// Σw ≤ net_max.
    NetMax,
    /// Σw = net (net_min == net_max).
    NetEqual,
    /// Σw⁺ ≤ leverage_max.
    LeverageLong,
    /// Σw⁻ ≤ leverage_max.
    LeverageShort,
    /// Sector net ≥ sector_net_min.
    SectorNetMin {
        /// Sector label.
        sector: String,
    },
    /// Sector net ≤ sector_net_max.
    SectorNetMax {
        /// Sector label.
        sector: String,
    },
    /// Sector gross ≤ sector_gross_max.
    SectorGrossMax {
        /// Sector label.
        sector: String,
    },
    /// Σ|w − w₀| ≤ turnover_max.
    TurnoverMax,
    /// CVaR_α ≤ cvar_max.
    CvarMax,
}

impl LimitId {
    /// The group this limit belongs to.
    pub fn group(&self) -> LimitGroup {
        match self {
            LimitId::WeightMin { .. } | LimitId::WeightMax { .. } => LimitGroup::WeightBounds,
            LimitId::GrossMax => LimitGroup::Gross,
            LimitId::NetMin | LimitId::NetMax | LimitId::NetEqual => LimitGroup::Net,
            LimitId::LeverageLong | LimitId::LeverageShort => LimitGroup::Leverage,
            LimitId::SectorNetMin { .. } | LimitId::SectorNetMax { .. } => LimitGroup::SectorNet,
            LimitId::SectorGrossMax { .. } => LimitGroup::SectorGross,
            LimitId::TurnoverMax => LimitGroup::Turnover,
            LimitId::CvarMax => LimitGroup::Cvar,
        }
    }
}

impl LimitId {
    /// The limit by name: an asset by its name in `asset_names` (its index when the list is
    /// shorter), a sector by its label, e.g. `weight_max[AAPL]`, `sector_net_max[Tech]`.
    pub fn label(&self, asset_names: &[String]) -> String {
        let name = |asset: usize| {
            asset_names
                .get(asset)
                .cloned()
                .unwrap_or_else(|| asset.to_string())
        };
        match self {
            LimitId::WeightMin { asset } => format!("weight_min[{}]", name(*asset)),
            LimitId::WeightMax { asset } => format!("weight_max[{}]", name(*asset)),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for LimitId {
    /// The limit with assets by index (see [`LimitId::label`] for names).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitId::WeightMin { asset } => write!(f, "weight_min[{asset}]"),
            LimitId::WeightMax { asset } => write!(f, "weight_max[{asset}]"),
            LimitId::GrossMax => f.write_str("gross_max"),
            LimitId::NetMin => f.write_str("net_min"),
            LimitId::NetMax => f.write_str("net_max"),
            LimitId::NetEqual => f.write_str("net (equality)"),
            LimitId::LeverageLong => f.write_str("leverage_max (long book)"),
            LimitId::LeverageShort => f.write_str("leverage_max (short book)"),
            LimitId::SectorNetMin { sector } => write!(f, "sector_net_min[{sector}]"),
            LimitId::SectorNetMax { sector } => write!(f, "sector_net_max[{sector}]"),
            LimitId::SectorGrossMax { sector } => write!(f, "sector_gross_max[{sector}]"),
            LimitId::TurnoverMax => f.write_str("turnover_max"),
            LimitId::CvarMax => f.write_str("cvar_max"),
        }
    }
}

/// A limit that binds at the optimum, with its shadow price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveConstraint {
    /// Which limit.
    pub limit: LimitId,
    /// The limit by name ([`LimitId::label`]): assets by the problem's
    /// [`asset_names`](crate::PortfolioProblem::asset_names) (by index when it has none),
    /// sectors by label, e.g. `weight_max[AAPL]`, `sector_net_max[Tech]`.
    #[serde(default)]
    pub name: String,
    /// The limit's value (e.g. 0.3 for a sector cap).
    pub bound: f64,
    /// The constrained quantity at the optimum (e.g. the sector's net exposure).
    pub value: f64,
    /// Shadow price: the gain in the maximized objective J per unit the limit is relaxed
    /// (the dual value of the row; ≥ 0 for inequalities, signed per unit increase for the net
    /// equality).
    pub shadow_price: f64,
}

/// The tolerance within which every limit holds at a [`Status::Converged`] (or
/// [`Status::ReducedAccuracy`]) solution: a limit `quantity ≤ bound` may be exceeded by at most
/// `FEASIBILITY_TOLERANCE · max(1, |bound|)`.
pub const FEASIBILITY_TOLERANCE: f64 = 1e-6;

/// Why a problem is infeasible, in the portfolio's own terms (the status carries the same
/// culprits by name, [`LimitGroup`]'s `Display`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Infeasibility {
    /// Limit groups that conflict, sorted: an irreducible set found by a deletion filter (drop
    /// each group in turn, keep it out while the rest stays infeasible), or the pair a
    /// pre-check found. Empty only when diagnosis is switched off.
    pub culprits: Vec<LimitGroup>,
    /// A human-readable note on how the conflict was found.
    pub detail: String,
    /// For culprit groups whose conflict a pre-check traced to particular members, those
    /// members by name: assets (by the problem's `asset_names`, else index) for
    /// [`LimitGroup::WeightBounds`], sectors by label for the sector groups. A group absent
    /// here conflicts as a whole (e.g. every sector's cap against the net budget).
    #[serde(default)]
    pub members: BTreeMap<LimitGroup, Vec<String>>,
}

impl Infeasibility {
    /// The core status naming the culprits: each group's name, followed by ` [a, b]` when
    /// the conflict was traced to particular assets or sectors (for example
    /// `sector_net_min/sector_net_max [Tech]`, `weight bounds [AAPL]`);
    /// [`LimitGroup`]'s `FromStr` reads either form back.
    pub fn status(&self) -> Status {
        Status::Infeasible {
            culprits: self
                .culprits
                .iter()
                .map(|g| match self.members.get(g) {
                    Some(m) if !m.is_empty() => format!("{g} [{}]", m.join(", ")),
                    _ => g.to_string(),
                })
                .collect(),
        }
    }
}

/// The status of a solve whose weights broke `limits` (empty: non-finite weights): the
/// solver's answer is not trusted.
pub(crate) fn limits_violated(limits: &[LimitId], asset_names: &[String]) -> Status {
    let mut message = String::from("the solver reported convergence, but its weights break ");
    if limits.is_empty() {
        message.push_str("finiteness (non-finite weights)");
    }
    for (i, l) in limits.iter().enumerate() {
        if i > 0 {
            message.push_str(", ");
        }
        message.push_str(&l.label(asset_names));
    }
    Status::Numerical { message }
}

/// The parts of the maximized objective J = expected_return − risk − cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ObjectiveParts {
    /// J at the weights.
    pub objective: f64,
    /// μᵀw (0 for minimum variance).
    pub expected_return: f64,
    /// The risk penalty: γ·wᵀΣw (variance objectives) or λ·CVaR_α (mean–CVaR).
    pub risk: f64,
    /// Σ (cᵢ + λ_τ)|wᵢ − w₀ᵢ| plus the convex cost Σ f̂ᵢ(|wᵢ − w₀ᵢ|) when configured.
    pub cost: f64,
}

/// Risk and exposure figures at the weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct RiskReport {
    /// CVaR_α of the loss −rᵀw over the scenarios (if any).
    pub cvar: Option<f64>,
    /// VaR_α: the lower α-quantile of the scenario loss (if any).
    pub var: Option<f64>,
    /// wᵀΣw with the covariance, else the sample variance over the scenarios.
    pub variance: Option<f64>,
    /// Σ|w|.
    pub gross: f64,
    /// Σw.
    pub net: f64,
    /// Σw⁺.
    pub long: f64,
    /// Σw⁻.
    pub short: f64,
    /// Σ|w − w₀|.
    pub turnover: f64,
}

/// What the PSD repair of the covariance did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PsdReport {
    /// Smallest eigenvalue of the input covariance.
    pub min_eigenvalue_before: f64,
    /// Eigenvalues raised to the floor.
    pub clipped: usize,
    /// ‖repaired − input‖_F.
    pub frobenius_change: f64,
}

/// Record of an explicit fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackRecord {
    /// The policy that produced the weights.
    pub policy: FallbackPolicy,
    /// The scale applied to the current weights (1 for keep-current).
    pub scale: f64,
    /// Whether the fallback weights satisfy every limit.
    pub satisfies_limits: bool,
}

/// How the solve went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SolveInfo {
    /// Interior-point iterations (summed over cutting-plane rounds).
    pub iterations: u32,
    /// Rounds of the decomposition method (0 for a direct solve).
    pub cut_rounds: usize,
    /// The CVaR method used (`None` when the problem has no CVaR term or limit).
    pub cvar_method: Option<CvarMethod>,
    /// Whether Clarabel reported reduced accuracy (`AlmostSolved`).
    pub reduced_accuracy: bool,
    /// Primal variables and constraint rows of the (last) conic problem.
    pub variables: usize,
    /// Constraint rows of the (last) conic problem.
    pub rows: usize,
    /// Whether the structured interior-point method of this crate solved it
    /// ([`SolverConfig::structured_qp`](crate::config::SolverConfig::structured_qp) for a
    /// dense covariance, [`SolverConfig::structured_cvar`](crate::config::SolverConfig::structured_cvar)
    /// for mean–CVaR; with scenario generation or cutting planes, the last round); false when
    /// Clarabel did.
    #[serde(default)]
    pub structured: bool,
}

/// The result of one optimization. Every number in it is finite (checked by the solve and
/// on deserialization, [`PortfolioResult::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct PortfolioResult {
    /// Target weights. On failure without a fallback: the current weights.
    pub weights: Vec<f64>,
    /// How the optimization ended (the underlying status even when a fallback was used):
    /// `Converged` (checked: finite weights within every limit), `ReducedAccuracy` (Clarabel's
    /// `AlmostSolved`, also checked), `IterationLimit` / `TimeLimit` (the last iterate when
    /// finite), `Infeasible` (culprits named, see [`PortfolioResult::infeasibility`]) or
    /// `Numerical` (solver failure, or weights that break a limit).
    pub status: Status,
    /// The structured diagnosis when the status is `Infeasible`.
    #[serde(default)]
    pub infeasibility: Option<Infeasibility>,
    /// Objective parts at the weights.
    pub objective: ObjectiveParts,
    /// Risk and exposures at the weights.
    pub risk: RiskReport,
    /// Limits binding at the optimum with their shadow prices (empty unless optimal).
    pub active: Vec<ActiveConstraint>,
    /// Set when the covariance was repaired to PSD.
    pub covariance_repair: Option<PsdReport>,
    /// Set when a fallback policy produced the weights.
    pub fallback: Option<FallbackRecord>,
    /// Solver statistics.
    pub info: SolveInfo,
}

impl PortfolioResult {
    /// The active constraint for `limit`, if it binds.
    pub fn active(&self, limit: &LimitId) -> Option<&ActiveConstraint> {
        self.active.iter().find(|a| &a.limit == limit)
    }

    /// Checks that every number is finite, naming the first that is not.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_finite("weights", &self.weights)?;
        let o = &self.objective;
        check_finite("objective", &[o.objective, o.expected_return, o.risk, o.cost])?;
        let r = &self.risk;
        check_finite("risk", &[r.gross, r.net, r.long, r.short, r.turnover])?;
        let opt: Vec<f64> = [r.cvar, r.var, r.variance].iter().flatten().copied().collect();
        check_finite("risk", &opt)?;
        for a in &self.active {
            check_finite("active", &[a.bound, a.value, a.shadow_price])?;
        }
        if let Some(p) = &self.covariance_repair {
            check_finite(
                "covariance_repair",
                &[p.min_eigenvalue_before, p.frobenius_change],
            )?;
        }
        if let Some(f) = &self.fallback {
            check_finite("fallback.scale", &[f.scale])?;
        }
        if let Some(inf) = &self.infeasibility {
            if self.status != inf.status() {
                return Err(CoreError::OutOfRange {
                    field: "infeasibility",
                    value: inf.culprits.len() as f64,
                    expected: "the same culprits as an Infeasible status",
                });
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

prudentia_core::checked_serde!(PortfolioResult, PortfolioResult::check);

impl fmt::Display for PortfolioResult {
    /// A few lines: status and objective, exposures and risk, weights by position, binding
    /// limits. (Weights are positional here; pair them with the problem's asset ids for
    /// names, as [`prudentia_core::Weights`] does.)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "portfolio {}: objective {:.6} (expected return {:.6}, risk {:.6})",
            self.status, self.objective.objective, self.objective.expected_return, self.objective.risk
        )?;
        write!(
            f,
            "  gross {:.2}%, net {:.2}%, turnover {:.2}%",
            100.0 * self.risk.gross,
            100.0 * self.risk.net,
            100.0 * self.risk.turnover
        )?;
        if let Some(c) = self.risk.cvar {
            write!(f, ", CVaR {c:.6}")?;
        }
        writeln!(f)?;
        write!(f, "  weights:")?;
        for (i, w) in self.weights.iter().enumerate() {
            write!(f, " [{i}] {:.2}%", 100.0 * w)?;
        }
        for a in &self.active {
            write!(
                f,
                "\n  binding: {} = {:.6} (bound {:.6})",
                if a.name.is_empty() {
                    a.limit.to_string()
                } else {
                    a.name.clone()
                },
                a.value,
                a.bound
            )?;
        }
        Ok(())
    }
}
