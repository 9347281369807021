//! prudentia-causal (docs in progress)
pub mod data;
pub mod diagnostics;
pub mod dr;
pub mod error;
pub mod estimate;
pub mod filter;
pub mod iv;
mod linalg;
pub mod meta;
pub mod nuisance;

pub use data::{CausalData, Folds, MAX_FOLDS};
pub use dr::{
    Bootstrap, BootstrapIntervals, CrossFit, DrConfig, DrFit, DrLearner, DrModel, FinalCovariance,
    OutcomeModel,
};
pub use error::{CausalError, CausalResult};
pub use estimate::{Estimate, Z95};
pub use nuisance::{Classifier, Regressor};
