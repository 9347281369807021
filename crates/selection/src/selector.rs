//! The [`Selector`] role: opportunities and their correlation in, a diversified slate out.

use std::collections::{BTreeMap, BTreeSet};

use ndarray::{Array2, ArrayView2};
use prudentia_core::estimators::{
    covariance_to_correlation, ledoit_wolf, PsdCorrelation, RollingCorrelation,
};
use prudentia_core::traits::{Role, RoleError, RoleResult, Selector, Slate};
use prudentia_core::validate::check_len;
use prudentia_core::{AssetId, CoreError, Horizon, Opportunity};
use serde::{Deserialize, Serialize};

use crate::error::SelectionError;
use crate::exact::{ExactConfig, ExactSolver};
use crate::heuristic::{Dpp, DppConfig, GreedySwap, GreedySwapConfig, Mmr, MmrConfig};
use crate::problem::{Constraints, ProblemConfig, SelectionProblem};
use crate::solution::Selection;

/// Which number of a [`Forecast`](prudentia_core::Forecast) plays μ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReturnScore {
    /// The forecast mean (default).
    #[default]
    Mean,
    /// Mean divided by sigma (the forecast's Sharpe ratio): a risk-adjusted μ.
    RiskAdjusted,
}

/// Which algorithm the selector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectionMethod {
    /// Exact branch and bound when `n ≤ exact_max_n`, greedy + swap otherwise.
    Auto {
        /// Largest n solved exactly. Default 60.
        exact_max_n: usize,
    },
    /// Always branch and bound (subject to its node/time limits).
    Exact,
    /// Always greedy + 1-swap local search.
    GreedySwap,
    /// Always MMR.
    Mmr,
    /// Always the greedy DPP MAP.
    Dpp,
}

impl Default for SelectionMethod {
    fn default() -> Self {
        SelectionMethod::Auto { exact_max_n: 60 }
    }
}

/// Settings of [`DiversityAwareSelector`]. Deserialization runs
/// [`validate`](Self::validate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct SelectorConfig {
    /// Slate size K (default 10), penalty λ (default 1, unit-free under the default
    /// [`ReturnScale::Standardized`](crate::ReturnScale)) and correlation checks/repair.
    pub problem: ProblemConfig,
    /// What plays μ. Default [`ReturnScore::Mean`].
    pub score: ReturnScore,
    /// Rescale every forecast to this horizon before scoring (i.i.d. rule of
    /// [`Forecast::rescale`](prudentia_core::Forecast::rescale)). Default `None`: use
    /// forecasts as given.
    pub horizon: Option<Horizon>,
    /// Cap on selected items per sector (from `AssetInfo::sector`). Default none.
    pub max_per_sector: Option<usize>,
    /// Per-sector caps overriding `max_per_sector`.
    pub sector_caps: BTreeMap<String, usize>,
    /// Assets that must be selected (each must be among the opportunities).
    pub must_include: Vec<AssetId>,
    /// Assets that must not be selected (ids not offered are ignored).
    pub must_exclude: Vec<AssetId>,
    /// Minimum total μ of the slate. Default none.
    pub min_expected_return: Option<f64>,
    /// Algorithm. Default `Auto { exact_max_n: 60 }`.
    pub method: SelectionMethod,
    /// Branch-and-bound settings.
    pub exact: ExactConfig,
    /// Greedy + swap settings.
    pub greedy: GreedySwapConfig,
    /// MMR settings.
    pub mmr: MmrConfig,
    /// DPP settings.
    pub dpp: DppConfig,
}

prudentia_core::checked_serde!(SelectorConfig, SelectorConfig::check);

impl SelectorConfig {
    fn check(&mut self) -> Result<(), SelectionError> {
        self.validate()
    }

    /// Checks every field that does not depend on the data.
    pub fn validate(&self) -> Result<(), SelectionError> {
        self.problem.validate()?;
        self.exact.validate()?;
        Dpp::new(self.dpp)?;
        if let Some(r) = self.min_expected_return {
            prudentia_core::validate::check_finite("min_expected_return", &[r])?;
            if r.abs() > crate::problem::MAX_MAGNITUDE {
                return Err(CoreError::OutOfRange {
                    field: "min_expected_return",
                    value: r,
                    expected: "finite with magnitude <= 1e100",
                }
                .into());
            }
        }
        Ok(())
    }
}

/// μ for each opportunity under `score`, rescaled to `horizon` when given. Errors on a
/// non-finite result.
pub fn expected_returns(
    opportunities: &[Opportunity],
    score: ReturnScore,
    horizon: Option<Horizon>,
) -> Result<Vec<f64>, SelectionError> {
    let mu: Vec<f64> = opportunities
        .iter()
        .map(|o| {
            // (mean, sigma) without cloning the forecast's quantiles and regime means
            let (mean, sigma) = match horizon {
                Some(h) => {
                    let f = o.forecast.rescale(h)?;
                    (f.mean, f.sigma)
                }
                None => (o.forecast.mean, o.forecast.sigma),
            };
            Ok(match score {
                ReturnScore::Mean => mean,
                ReturnScore::RiskAdjusted => mean / sigma,
            })
        })
        .collect::<Result<_, CoreError>>()?;
    prudentia_core::validate::check_finite("mu", &mu)?;
    Ok(mu)
}

/// Correlation of the last `window` rows of `returns` (T × n), through core's
/// [`RollingCorrelation`] (the 252-day rolling correlation of the specification).
pub fn rolling_correlation(
    returns: ArrayView2<'_, f64>,
    window: usize,
) -> Result<Array2<f64>, SelectionError> {
    let (t, n) = returns.dim();
    check_len("returns", t, window.max(2))?;
    let mut rc = RollingCorrelation::new(n, window)?;
    for row in (t - window)..t {
        let r = returns.row(row);
        match r.as_slice() {
            Some(x) => rc.update(x)?,
            None => rc.update(&r.to_vec())?,
        }
    }
    Ok(rc.correlation()?)
}

/// Correlation of the Ledoit–Wolf shrunk covariance of `returns` (T × n): core's
/// [`ledoit_wolf`] then [`covariance_to_correlation`]; well conditioned when T is small.
pub fn shrunk_correlation(returns: ArrayView2<'_, f64>) -> Result<Array2<f64>, SelectionError> {
    let lw = ledoit_wolf(returns, false)?;
    Ok(covariance_to_correlation(lw.covariance.view())?)
}

/// Diversity-aware slate selection as a pipeline [`Selector`]: maximizes
/// `Σ μ_i x_i − λ Σ_{i<j} ρ_ij x_i x_j` over slates of K opportunities, with μ from each
/// opportunity's forecast and the constraints of [`SelectorConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiversityAwareSelector {
    config: SelectorConfig,
}

impl DiversityAwareSelector {
    /// A validated selector.
    pub fn new(config: SelectorConfig) -> Result<Self, SelectionError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &SelectorConfig {
        &self.config
    }

    /// Builds the validated problem for these opportunities.
    pub fn problem(
        &self,
        opportunities: &[Opportunity],
        correlation: ArrayView2<'_, f64>,
    ) -> Result<SelectionProblem, SelectionError> {
        let (mu, constraints) = self.inputs(opportunities)?;
        SelectionProblem::new(&mu, correlation, &self.config.problem, &constraints)
    }

    /// [`problem`](Self::problem) for a correlation matrix proven positive semi-definite by
    /// its producer ([`SelectionProblem::new_psd`]: the O(n³) PSD check is skipped).
    pub fn problem_psd(
        &self,
        opportunities: &[Opportunity],
        correlation: &PsdCorrelation,
    ) -> Result<SelectionProblem, SelectionError> {
        let (mu, constraints) = self.inputs(opportunities)?;
        SelectionProblem::new_psd(&mu, correlation, &self.config.problem, &constraints)
    }

    /// Expected returns and constraints of the opportunities.
    fn inputs(&self, opportunities: &[Opportunity]) -> Result<(Vec<f64>, Constraints), SelectionError> {
        let c = &self.config;
        check_len("opportunities", opportunities.len(), 1)?;
        let mu = expected_returns(opportunities, c.score, c.horizon)?;
        // (built only when an id has to be looked up)
        let index: BTreeMap<&AssetId, usize> = if c.must_include.is_empty() && c.must_exclude.is_empty() {
            BTreeMap::new()
        } else {
            opportunities
                .iter()
                .enumerate()
                .map(|(i, o)| (&o.asset.id, i))
                .collect()
        };
        let mut must_include = Vec::new();
        for id in &c.must_include {
            match index.get(id) {
                Some(&i) => must_include.push(i),
                None => {
                    return Err(CoreError::UnknownId {
                        kind: "asset",
                        id: id.as_str().to_string(),
                    }
                    .into())
                }
            }
        }
        let must_exclude: BTreeSet<usize> = c
            .must_exclude
            .iter()
            .filter_map(|id| index.get(id).copied())
            .collect();
        let has_sectors = opportunities.iter().any(|o| o.asset.sector.is_some());
        let constraints = Constraints {
            sectors: if has_sectors {
                opportunities.iter().map(|o| o.asset.sector.clone()).collect()
            } else {
                Vec::new()
            },
            max_per_sector: c.max_per_sector,
            sector_caps: c.sector_caps.clone(),
            must_include,
            must_exclude: must_exclude.into_iter().collect(),
            min_expected_return: c.min_expected_return,
        };
        Ok((mu, constraints))
    }

    /// Solves an already built problem with the configured method.
    pub fn solve(&self, problem: &SelectionProblem) -> Result<Selection, SelectionError> {
        let c = &self.config;
        let exact = match c.method {
            SelectionMethod::Auto { exact_max_n } => problem.n() <= exact_max_n,
            SelectionMethod::Exact => true,
            SelectionMethod::GreedySwap | SelectionMethod::Mmr | SelectionMethod::Dpp => false,
        };
        Ok(if exact {
            ExactSolver::new(c.exact)?.solve(problem)
        } else if c.method == SelectionMethod::Mmr {
            Mmr::new(c.mmr)?.solve(problem)
        } else if c.method == SelectionMethod::Dpp {
            Dpp::new(c.dpp)?.solve(problem)
        } else {
            GreedySwap::new(c.greedy)?.solve(problem)
        })
    }

    /// Builds the problem and solves it, returning the full [`Selection`] (status, bound,
    /// nodes) together with the problem (for [`explain`](crate::explain)).
    pub fn select_detailed(
        &self,
        opportunities: &[Opportunity],
        correlation: ArrayView2<'_, f64>,
    ) -> Result<(Selection, SelectionProblem), SelectionError> {
        let p = self.problem(opportunities, correlation)?;
        let s = self.solve(&p)?;
        Ok((s, p))
    }
}

/// The [`Slate`] carries indices, objective, gap and status; the full [`Selection`] (bound,
/// nodes, method) is available from [`DiversityAwareSelector::select_detailed`]. When no slate meets
/// the constraints (status [`Infeasible`](prudentia_core::Status::Infeasible) or, from a
/// heuristic, [`NotFound`](prudentia_core::Status::NotFound)), the
/// slate is empty with `gap = None`.
impl Selector for DiversityAwareSelector {
    fn select(&self, opportunities: &[Opportunity], correlation: ArrayView2<'_, f64>) -> RoleResult<Slate> {
        let (s, _) = self
            .select_detailed(opportunities, correlation)
            .map_err(|e| RoleError::implementation(Role::Selector, e))?;
        Ok(slate(s))
    }

    /// As [`select`](Selector::select), without the O(n³) PSD check of the proven matrix.
    fn select_psd(&self, opportunities: &[Opportunity], correlation: &PsdCorrelation) -> RoleResult<Slate> {
        let s = self
            .problem_psd(opportunities, correlation)
            .and_then(|p| self.solve(&p))
            .map_err(|e| RoleError::implementation(Role::Selector, e))?;
        Ok(slate(s))
    }
}

fn slate(s: Selection) -> Slate {
    Slate {
        indices: s.selected,
        objective: s.objective,
        gap: s.gap,
        status: s.status,
    }
}
