//! The [`prudentia_core::traits::Optimizer`] role.

use ndarray::Array2;
use prudentia_core::traits::{Optimizer, PortfolioInput, Role, RoleError, RoleResult, TargetPortfolio};
use prudentia_core::types::Weights;
use prudentia_core::Status;

use crate::config::FallbackPolicy;
use crate::optimizer::PortfolioOptimizer;
use crate::problem::{CovarianceModel, PortfolioProblem};
use crate::result::PortfolioResult;

impl PortfolioOptimizer {
    /// The problem a [`PortfolioInput`] describes: μ from each opportunity's forecast mean,
    /// sectors from the asset info, asset names from the asset ids, the covariance and scenarios as given, the current weights
    /// looked up by asset id (0 when absent).
    pub fn problem_from_input(input: &PortfolioInput<'_>) -> PortfolioProblem {
        let mu = input.opportunities.iter().map(|o| o.forecast.mean).collect();
        let mut p = PortfolioProblem::new(mu);
        p.asset_names = input
            .opportunities
            .iter()
            .map(|o| o.asset.id.as_str().to_string())
            .collect();
        p.current = input
            .opportunities
            .iter()
            .map(|o| input.current.get(&o.asset.id))
            .collect();
        if input.opportunities.iter().any(|o| o.asset.sector.is_some()) {
            p.sectors = input
                .opportunities
                .iter()
                .map(|o| o.asset.sector.clone())
                .collect();
        }
        p.covariance = input.covariance.map(|c| CovarianceModel::Full(c.to_owned()));
        p.scenarios = input.scenarios.map(|s| -> Array2<f64> { s.to_owned() });
        p
    }
}

fn core_status(r: &PortfolioResult) -> Status {
    if let Some(fb) = &r.fallback {
        let policy = match fb.policy {
            FallbackPolicy::KeepCurrent => "kept current weights",
            FallbackPolicy::ScaleDownCurrent => "scaled down current weights",
            _ => "fallback",
        };
        return Status::Fallback {
            reason: format!("{policy} (scale {:.3})", fb.scale),
            cause: Box::new(r.status.clone()),
        };
    }
    r.status.clone()
}

impl Optimizer for PortfolioOptimizer {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        let problem = Self::problem_from_input(input);
        let r = self
            .solve(&problem)
            .map_err(|e| RoleError::implementation(Role::Optimizer, e))?;
        let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
        let weights = Weights::new(ids, r.weights.clone())?;
        Ok(TargetPortfolio {
            weights,
            status: core_status(&r),
        })
    }
}
