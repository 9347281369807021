//! Which signals really move returns: conditional average treatment effects (CATE) with
//! honest intervals, instrumental variables, diagnostics, and the pipeline's causal filter.
//!
//! A trading signal that fires when a stock is already rising will look profitable in a
//! naive comparison even if it does nothing. This crate estimates the *causal* effect of a
//! binary treatment (the signal fired) on an outcome (the forward return), adjusting for
//! covariates that drive both, and says how sure it is.
//!
//! - [`dr`]: the **DR-learner** (Kennedy 2023, *Electronic Journal of Statistics* 17;
//!   EconML's `LinearDRLearner`): AIPW pseudo-outcomes (Robins, Rotnitzky & Zhao 1994,
//!   *JASA* 89) with K-fold cross-fitting, documented propensity clipping, and a linear
//!   final stage with HC0/HC1 standard errors, so the CATE coefficients, the CATE at new
//!   points and the ATE carry standard errors, 95% intervals and p-values; optional seeded
//!   bootstrap intervals.
//! - [`meta`]: the **S-, T- and X-learners** (Künzel, Sekhon, Bickel & Yu 2019, *PNAS*
//!   116).
//! - [`iv`]: **two-stage least squares** with homoskedastic and robust standard errors,
//!   the first-stage F and partial R², and a weak-instrument status below F = 10 (Staiger &
//!   Stock 1997, *Econometrica* 65).
//! - [`diagnostics`]: overlap (propensity ranges, effective sample size), covariate balance
//!   before and after weighting, and refutations (placebo treatment, random common cause,
//!   data subset).
//! - [`filter`]: [`SignalFilter`], the pipeline's
//!   [`CausalFilter`](prudentia_core::traits::CausalFilter): per-asset effects refitted
//!   from signal histories by the learn flow, Benjamini–Hochberg (1995, *JRSS B* 57) across
//!   the slate, ranked by effect, written into `Forecast.causal_effect`.
//!
//! Nuisance models are pluggable ([`nuisance`]): any configuration implementing core's
//! [`Fit`](prudentia_core::traits::Fit) on prudentia-learn's `LinearData` (a regressor) or
//! `BinaryData` (a classifier) whose model implements
//! [`Predict`](prudentia_core::traits::Predict); prudentia-learn's OLS and the crate's
//! lean unpenalized [`logit`] (prudentia-learn's `LogisticRegressionConfig` plugs in too)
//! are the defaults.
//!
//! **Agreement** (checked-in fixtures, `tools/fixtures/causal/`): EconML 0.17
//! `LinearDRLearner` (unpenalized logistic propensity, OLS outcome model, explicit folds;
//! HC1 and HC0), `TLearner`, `SLearner`, `XLearner` with linear models, and linearmodels 7.1
//! `IV2SLS` (unadjusted and robust, with and without the small-sample correction) with the
//! statsmodels 0.15 first-stage F: point estimates and CATE to 1e-6, standard errors to
//! 1e-4 relative.
//!
//! Bad input is a typed [`CausalError`]; how an estimate came out (clipped propensities,
//! separation in the propensity model, a weak instrument) is a status in the result. Every
//! configuration and fitted model is serde, validated on load.
//!
//! # Example
//!
//! ```
//! use prudentia_causal::{CausalData, DrConfig, DrLearner, Folds, OutcomeModel};
//!
//! // confounded data with a known effect: τ(x) = 0.5 x₀ + 0.2, ATE 0.2
//! let s = prudentia_datasets::causal_dataset(5_000, 3, 1).unwrap();
//! let t = s.treatment_indicator();
//! let data = CausalData::new(s.x.view(), t.view(), s.outcome.view());
//!
//! let model = DrLearner::new(DrConfig {
//!     folds: Folds::Seeded { k: 2, seed: 0 },
//!     outcome_model: OutcomeModel::PerArm,
//!     ..DrConfig::default()
//! })
//! .fit(&data)
//! .unwrap();
//!
//! let naive = s.naive_difference(); // biased upwards by the confounding
//! let ate = model.ate();
//! assert!(naive > 0.5);
//! assert!(ate.lower < 0.2 && 0.2 < ate.upper);
//!
//! // the CATE at a new point, with its interval, and the slope on x₀
//! let at = model.cate_row(&[1.0, 0.0, 0.0]).unwrap();
//! assert!(at.lower < 0.7 && 0.7 < at.upper);
//! assert!(model.coefficients()[1].p_value < 1e-6);
//! ```

pub mod data;
pub mod diagnostics;
pub mod dr;
pub mod error;
pub mod estimate;
mod fast;
pub mod filter;
pub mod iv;
mod linalg;
pub mod logit;
pub mod meta;
pub mod nuisance;

pub use data::{CausalData, Folds, MAX_FOLDS};
pub use dr::{
    Bootstrap, BootstrapIntervals, CrossFit, DrConfig, DrFit, DrLearner, DrModel, FinalCovariance,
    OutcomeModel,
};
pub use error::{CausalError, CausalResult};
pub use estimate::{Estimate, Z95};
pub use filter::{FilterConfig, SignalFilter, SignalHistory};
pub use iv::{IvData, TwoSlsConfig, TwoSlsFit};
pub use logit::{Logit, LogitConfig};
pub use nuisance::{Classifier, Regressor};
