//! # prudentia-selection
//!
//! Diversity-aware slate selection: choose K of n opportunities with high expected return
//! and low mutual correlation,
//!
//! ```text
//! maximize   Σ_i μ_i x_i − λ Σ_{i<j} ρ_ij x_i x_j
//! subject to Σ_i x_i = K,  x ∈ {0,1}ⁿ,  sector caps,  must-include / must-exclude,
//!            Σ_i μ_i x_i ≥ R (optional minimum expected return).
//! ```
//!
//! By default ([`ReturnScale::Standardized`]) μ is measured in cross-sectional standard
//! deviations and the penalty divided by K − 1, so λ is unit-free (default 1: one standard
//! deviation of μ per unit of a candidate's average correlation with the slate); μ × 1000
//! gives the same slate. [`ReturnScale::Raw`] keeps λ in the units of μ.
//!
//! Each pair is penalized once and the diagonal is left out; the form `Σ_{i,j} ρ_ij x_i x_j`
//! over all ordered pairs gives the same argmax with λ halved (see [`SelectionProblem`]).
//!
//! - [`ExactSolver`]: depth-first branch and bound with a combinatorial bound (each
//!   candidate's marginal gain minus half λ times its r − 1 smallest correlations to the
//!   other candidates), a greedy incumbent, best-first child order and incremental penalty
//!   sums. Returns the optimal set, objective, proven gap, node count and a
//!   [`Status`](prudentia_core::Status); at a node or time limit the best slate with its gap. The
//!   cardinality-constrained binary QP and its bounds: Billionnet & Elloumi (2007),
//!   Math. Programming 109. Portfolio libraries hand this problem to an external MIP solver;
//!   this crate needs none (it is checked against HiGHS on a McCormick linearization).
//! - [`GreedySwap`]: lazy greedy (Minoux 1978) plus best-improvement 1-swap local search,
//!   for large n; [`Mmr`]: maximal marginal relevance (Carbonell & Goldstein 1998, SIGIR);
//!   [`Dpp`]: greedy determinantal-point-process MAP (Chen, Zhang & Zhou 2018, NeurIPS).
//! - [`DiversityAwareSelector`]: the [`Selector`](prudentia_core::traits::Selector) role —
//!   μ from each [`Forecast`](prudentia_core::Forecast) (optionally risk-adjusted by sigma),
//!   correlation from core's estimators ([`rolling_correlation`], [`shrunk_correlation`]),
//!   a non-symmetric or non-PSD correlation repaired by Higham's nearest correlation matrix
//!   with a [`CorrelationReport`], or rejected, per [`CorrelationPolicy`].
//! - [`explain`]: each member's marginal contribution and why the best excluded items lost.
//!
//! ## Example
//! ```
//! use ndarray::array;
//! use prudentia_selection::{
//!     Constraints, ExactConfig, ExactSolver, ProblemConfig, ReturnScale, SelectionProblem,
//! };
//! use prudentia_core::Status;
//!
//! # fn main() -> Result<(), prudentia_selection::SelectionError> {
//! // Items 0 and 1 have the best returns but are nearly the same bet.
//! let mu = [0.10, 0.095, 0.08, 0.05];
//! let rho = array![
//!     [1.0, 0.95, 0.1, 0.0],
//!     [0.95, 1.0, 0.1, 0.0],
//!     [0.1, 0.1, 1.0, 0.2],
//!     [0.0, 0.0, 0.2, 1.0],
//! ];
//! // λ in the units of μ (per pair): the objective is Σ μ_i − λ Σ_{i<j} ρ_ij.
//! let raw = ProblemConfig { k: 2, lambda: 0.05, return_scale: ReturnScale::Raw, ..Default::default() };
//! let problem = SelectionProblem::new(&mu, rho.view(), &raw, &Constraints::default())?;
//! let best = ExactSolver::new(ExactConfig::default())?.solve(&problem);
//! assert_eq!(best.status, Status::Converged);
//! assert_eq!(best.selected, vec![0, 2]); // 0.18 − 0.05·0.1 beats 0.195 − 0.05·0.95
//! assert_eq!(best.gap, Some(0.0));
//!
//! // The default: μ standardized by its cross-sectional dispersion and λ = 1, unit-free, so
//! // the slate is the same whether μ is in fractions, percent or basis points.
//! let config = ProblemConfig { k: 2, ..Default::default() };
//! let solver = ExactSolver::new(ExactConfig::default())?;
//! let bps: Vec<f64> = mu.iter().map(|m| m * 1e4).collect();
//! let a = solver.solve(&SelectionProblem::new(&mu, rho.view(), &config, &Constraints::default())?);
//! let b = solver.solve(&SelectionProblem::new(&bps, rho.view(), &config, &Constraints::default())?);
//! assert_eq!(a.selected, vec![0, 2]);
//! assert_eq!(b.selected, a.selected);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod exact;
mod explain;
mod heuristic;
mod matrix;
mod problem;
mod selector;
mod solution;

pub use error::SelectionError;
pub use exact::{ExactConfig, ExactSolver};
pub use explain::{explain, Contribution, Excluded, ExclusionReason, Explanation};
pub use heuristic::{
    root_upper_bound, top_k_by_return, Dpp, DppConfig, GreedySwap, GreedySwapConfig, Mmr, MmrConfig,
};
pub use problem::{
    Constraints, CorrelationConfig, CorrelationPolicy, CorrelationReport, ProblemConfig, ReturnScale,
    SelectionProblem, MAX_MAGNITUDE,
};
pub use selector::{
    expected_returns, rolling_correlation, shrunk_correlation, DiversityAwareSelector, ReturnScore,
    SelectionMethod, SelectorConfig,
};
pub use solution::{relative_gap, Method, Selection};
