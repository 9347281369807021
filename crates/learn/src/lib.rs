//! # prudentia-learn
//!
//! The learners that several prudentia roles share, in one shape: a `…Config` (plain
//! settings with `Default`, serde and `validate()`) fits data into a model
//! ([`prudentia_core::traits::Fit`]), models predict from ndarray views
//! ([`prudentia_core::traits::Predict`]), online models `update(&mut self, …)`, and how a fit
//! ended is a [`prudentia_core::Status`] inside the model, never hidden.
//!
//! - [`linear`]: ordinary, ridge and weighted least squares with classical, HC0–HC3
//!   (White 1980, Econometrica 48; MacKinnon & White 1985, J. Econometrics 29) and
//!   cluster-robust (Cameron & Miller 2015, J. Human Resources 50) standard errors, t
//!   statistics and p-values; agrees with statsmodels to 1e-10 (coefficients) and 1e-8
//!   relative (standard errors) on the checked-in fixture.
//! - [`logistic`]: logistic regression by Newton/IRLS with an optional L2 penalty, which
//!   reports complete or quasi-complete separation (Albert & Anderson 1984, Biometrika 71)
//!   as [`prudentia_core::Status::Separation`] instead of returning huge coefficients as
//!   converged; agrees with scikit-learn and statsmodels to 1e-7.
//! - [`rls`]: recursive least squares with exponential forgetting (Haykin 2002, *Adaptive
//!   Filter Theory*, §9), O(d²) per update without allocation, with predictive variance;
//!   equals batch weighted least squares on the same window.
//! - [`bandit`]: linear contextual bandits over per-action or shared ridge regressions:
//!   LinUCB (Li, Chu, Langford & Schapire 2010, WWW), linear Thompson sampling (Agrawal &
//!   Goyal 2013, ICML) and ε-greedy with a decaying ε; action masks, seeded choices, and a
//!   propensity with every choice for off-policy evaluation; LinUCB and Thompson decisions
//!   equal MABWiser's on a checked-in 5,000-round fixture.
//! - [`boost`]: gradient-boosted regression trees on histograms (Friedman 2001, Annals of
//!   Statistics 29; histogram splits as LightGBM, Ke et al. 2017) with seeded row and column
//!   subsampling (Friedman 2002, CSDA 38) and batch refits on a sliding window; its trees
//!   ([`tree`]) are also NGBoost's base learner in `prudentia-uncertainty`.
//!
//! Batch fits equilibrate the design first (rows by `√(wᵢ / max w)`, columns and the
//! response by exact powers of two), so inputs in units from `1e-300` to `1e300` fit; a
//! result that `f64` cannot hold is [`LearnError::Overflow`], never an infinity. Sizes are
//! limited by [`prudentia_core::validate`] (`MAX_WINDOW` rows, `MAX_DIM` columns).
//!
//! ## Example
//! ```
//! use ndarray::{array, Array1};
//! use prudentia_core::traits::Predict;
//! use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
//! use prudentia_learn::logistic::{BinaryData, LogisticRegressionConfig};
//! use prudentia_learn::rls::{RecursiveLeastSquares, RlsConfig};
//!
//! # fn main() -> Result<(), prudentia_learn::LearnError> {
//! let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
//! let y = array![1.1, 2.9, 5.2, 6.8, 9.1, 11.0];
//!
//! // OLS with heteroskedasticity-robust (HC1) standard errors
//! let ols = LinearRegressionConfig::ols(CovarianceKind::Hc1).fit(&LinearData::new(x.view(), y.view()))?;
//! assert!(ols.status().is_converged());
//! assert!((ols.slopes()[0] - 1.98).abs() < 0.05);
//! let table = ols.coefficient_table();
//! assert!(table[1].p_value.unwrap() < 1e-4);
//!
//! // logistic regression: separable labels are reported, not "converged"
//! let labels = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
//! let logit = LogisticRegressionConfig::default().fit(&BinaryData::new(x.view(), labels.view()))?;
//! assert!(matches!(logit.status(), prudentia_core::Status::Separation { .. }));
//! // with an L2 penalty the estimate exists
//! let ridge_logit = LogisticRegressionConfig { l2: 1.0, ..Default::default() }
//!     .fit(&BinaryData::new(x.view(), labels.view()))?;
//! assert!(ridge_logit.status().is_converged());
//! let p = ridge_logit.predict(array![[0.0], [5.0]].view())?;
//! assert!(p[0] < 0.5 && p[1] > 0.5);
//!
//! // recursive least squares with forgetting, one observation at a time
//! let mut rls = RecursiveLeastSquares::new(RlsConfig::new(2).forgetting(0.98))?;
//! for (xi, yi) in x.column(0).iter().zip(y.iter()) {
//!     let _ = rls.update(&[1.0, *xi], *yi)?;
//! }
//! let next = rls.predict_one(&[1.0, 6.0])?;
//! assert!((next.mean - 13.0).abs() < 0.3);
//! assert!(next.variance.unwrap() > 0.0);
//! let _: Array1<f64> = rls.predict(array![[1.0, 7.0]].view())?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bandit;
pub mod boost;
mod dense;
pub mod error;
pub mod linear;
pub mod logistic;
pub mod rls;
pub mod tree;

pub use error::{LearnError, LearnResult};
