//! # prudentia-portfolio
//!
//! Target weights under formal risk budgets: long/short portfolio optimization with every
//! limit a trading desk sets, solved exactly, with the binding limits and their shadow prices
//! reported and infeasibility explained rather than papered over.
//!
//! ## Problems
//! Maximize `J(w) = μᵀw − γ·wᵀΣw − λ·CVaR_α(w) − Σᵢ (cᵢ + λ_τ)·|wᵢ − w₀ᵢ|` ([`Objective`]):
//! - **mean–CVaR** over T equally likely return scenarios, by the Rockafellar & Uryasev (2000)
//!   LP `CVaR_α(w) = min_ζ ζ + Σₛ (−rₛᵀw − ζ)⁺ / ((1−α)T)` ("Optimization of conditional
//!   value-at-risk", J. Risk 2), solved as the full LP, by scenario generation, or by the
//!   Künzi-Bay & Mayer (2006) cutting-plane method ([`CvarMethod`]);
//! - **mean–variance** with a full covariance or a factor model `Σ = BFBᵀ + diag(d)`;
//! - **minimum variance**.
//!
//! Limits ([`Limits`]): per-name bounds, gross exposure, a net band (an equality when both ends
//! meet), leverage of the long and short books, sector net and gross caps, L1 turnover against
//! the current weights, a CVaR cap; linear transaction costs enter the objective. Absolute
//! values use auxiliary variables `t ≥ |w|`, `u ≥ |w − w₀|`; a long-only book skips them.
//!
//! ## Solver
//! The sparse conic problem `min ½xᵀPx + qᵀx, Ax + s = b, s ∈ K` is assembled directly in CSC
//! form for Clarabel (Goulart & Chen 2024, arXiv:2405.12762), a pure-Rust interior-point
//! solver. Its dual variables give each binding limit's shadow price
//! ([`ActiveConstraint::shadow_price`]): the objective gained per unit the limit is relaxed.
//!
//! Mean–variance and minimum-variance problems with a full covariance (no CVaR rows) are
//! solved by default by a structured interior-point method of this crate
//! ([`SolverConfig::structured_qp`](config::SolverConfig::structured_qp)): Mehrotra's
//! predictor–corrector (Mehrotra 1992, SIAM J. Optim. 2(4); Nocedal & Wright 2006, §16.6)
//! with the CVXOPT starting point (Vandenberghe 2010), whose Newton step eliminates the
//! auxiliary variables in closed form and factors the dense covariance block by Cholesky.
//! At n = 500 it is about 4× faster than the same problem through Clarabel, with the same
//! duals; what it cannot solve to tolerance goes to Clarabel.
//!
//! Mean–CVaR (the Rockafellar–Uryasev LP; Rockafellar & Uryasev 2000, *J. Risk* 2(3)) goes
//! through the same method by default
//! ([`SolverConfig::structured_cvar`](config::SolverConfig::structured_cvar)): the scenario
//! excess variables are eliminated in closed form, so each Newton step forms the dense
//! (n+1) × (n+1) block `R̃ᵀER̃` in O(S·n²) and factors it by Cholesky, instead of a sparse
//! LDLᵀ of the LP's KKT system; infeasible, unbounded and unsolved problems go to Clarabel,
//! which reports them.
//!
//! ## Outcomes, not errors
//! A [`PortfolioResult`] carries core's [`Status`](prudentia_core::Status): `Converged`,
//! `ReducedAccuracy` (Clarabel's `AlmostSolved`, never reported as optimal), `Infeasible`
//! naming the conflicting limit groups (from pre-checks such as "net above gross", or a
//! deletion filter that relaxes limit groups in turn; the structured [`Infeasibility`] is
//! beside it), `IterationLimit`, `TimeLimit` or `Numerical`. `Converged` is checked, not
//! taken from the solver: the weights are finite and every limit holds within
//! [`FEASIBILITY_TOLERANCE`]; a solver answer that breaks a limit is `Numerical`, naming
//! the limits. The objective is divided by a power of two when its data lie
//! far from unit scale (1e±150), which changes no constraint and no optimum; every number
//! in a result is finite (a solution whose risk or objective overflows is a
//! [`PortfolioError::Overflow`]). There is no silent
//! fallback: a [`FallbackPolicy`] must be chosen explicitly and its use is recorded.
//!
//! ## Risk budgets over time
//! [`PrimalDualController`] is the Lagrangian primal–dual scheme of constrained MDPs
//! (Altman 1999): it raises the CVaR and turnover penalties when realized figures exceed their
//! budgets and lowers them when under, by projected dual ascent with a documented step rule.
//!
//! ## Example
//! ```
//! use ndarray::array;
//! use prudentia_portfolio::{Limits, LimitId, Objective, PortfolioConfig, PortfolioOptimizer, PortfolioProblem};
//!
//! // three assets, long/short, fully invested, at most 60 % in any one name
//! let config = PortfolioConfig {
//!     objective: Objective::MeanVariance,
//!     risk_aversion: 2.0,
//!     limits: Limits {
//!         weight_min: -0.2,
//!         weight_max: 0.6,
//!         net_min: Some(1.0),
//!         net_max: Some(1.0),
//!         gross_max: Some(1.4),
//!         ..Default::default()
//!     },
//!     ..Default::default()
//! };
//! let optimizer = PortfolioOptimizer::new(config)?;
//! let cov = array![[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]];
//! let problem = PortfolioProblem::new(vec![0.08, 0.12, 0.02]).with_covariance(cov);
//! let result = optimizer.solve(&problem)?;
//! assert!(result.status.is_converged());
//! assert!((result.risk.net - 1.0).abs() < 1e-7);
//! assert!(result.risk.gross <= 1.4 + 1e-7);
//! // the budget binds, with a shadow price
//! let budget = result.active(&LimitId::NetEqual).expect("budget binds");
//! println!("weights {:?}, budget shadow price {:.4}", result.weights, budget.shadow_price);
//! # Ok::<(), prudentia_portfolio::PortfolioError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod build;
pub mod config;
pub mod controller;
mod dense_qp;
pub mod error;
mod optimizer;
pub mod problem;
pub mod result;
mod risk_measures;
mod role;

pub use config::{
    ConvexCost, CvarMethod, FallbackPolicy, Limits, Objective, PortfolioConfig, PsdPolicy, SectorCap,
    SolverConfig, MAX_COST_BREAKPOINTS, MAX_COST_TRADE, MAX_CUT_ROUNDS,
};
pub use controller::{PrimalDualConfig, PrimalDualController, PrimalDualState, RiskOutcome};
pub use error::PortfolioError;
pub use optimizer::{scenario_var_cvar, PortfolioOptimizer, PreparedProblem};
pub use problem::{CovarianceModel, PortfolioProblem};
pub use result::{
    ActiveConstraint, FallbackRecord, Infeasibility, LimitGroup, LimitId, ObjectiveParts, PortfolioResult,
    PsdReport, RiskReport, SolveInfo, FEASIBILITY_TOLERANCE,
};
pub use risk_measures::var_cvar;
