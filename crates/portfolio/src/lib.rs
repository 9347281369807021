//! # prudentia-portfolio
//!
//! Target weights under formal risk budgets.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod build;
pub mod config;
pub mod controller;
pub mod error;
mod metrics;
mod optimizer;
pub mod problem;
pub mod result;
mod role;

pub use config::{CvarMethod, FallbackPolicy, Limits, Objective, PortfolioConfig, PsdPolicy, SolverConfig};
pub use controller::{PrimalDualConfig, PrimalDualController, PrimalDualState, RiskOutcome};
pub use error::PortfolioError;
pub use metrics::var_cvar;
pub use optimizer::{scenario_var_cvar, PortfolioOptimizer, PreparedProblem};
pub use problem::{CovarianceModel, PortfolioProblem};
pub use result::{
    ActiveConstraint, FallbackRecord, LimitGroup, LimitId, ObjectiveParts, PortfolioResult, PortfolioStatus,
    PsdReport, RiskReport, SolveInfo,
};
