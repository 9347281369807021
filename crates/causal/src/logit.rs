//! The propensity model: an unpenalized logistic regression by lean Newton–Raphson
//! (IRLS), prudentia-learn's [`LeanLogitConfig`] (one pass over the rows per iteration on
//! a power-of-two-scaled copy of `[1, x]`) behind this crate's names and errors.
//!
//! It maximises the unpenalized likelihood `Σ yᵢ ηᵢ − log(1 + e^{ηᵢ})` (scikit-learn's
//! `LogisticRegression(penalty=None)`, statsmodels' `Logit`), stepping `δ = H⁻¹ g` with step
//! halving until the likelihood does not fall, and stops after a step with `max|δ| ≤
//! tolerance · (1 + max|β|)` ([`Status::Converged`](prudentia_core::Status); the error left
//! is of the order of that step squared). A likelihood that reaches 0 (every unit fitted
//! with probability 1 on its own side) stops with `Status::Separation`; a Hessian that is
//! not positive definite stops with `Status::Numerical`; otherwise the iteration limit
//! (`Status::IterationLimit`). The propensity model is refitted on every cross-fitting
//! fold and must be fast: it reads the design once per iteration where prudentia-learn's
//! general [`LogisticRegressionConfig`](prudentia_learn::logistic::LogisticRegressionConfig)
//! (with its separation certificates, standard errors and L2 penalty) reads it several
//! times. The DR-learner's fast path calls the same fit on its own buffers.
//!
//! [`Logit`] is a thin newtype over prudentia-learn's [`LeanLogit`] (the same
//! serialization), so that its errors are [`CausalError`]s.

use ndarray::{Array1, ArrayView1, ArrayView2};
use prudentia_core::traits::{Fit, Predict};
use prudentia_core::{CoreError, Status};
use prudentia_learn::logistic::{BinaryData, LeanLogit, LeanLogitConfig};
use prudentia_learn::LearnError;
use serde::{Deserialize, Serialize};

use crate::error::{CausalError, CausalResult};

/// The largest iteration limit.
pub const MAX_LOGIT_ITERATIONS: usize = prudentia_learn::logistic::MAX_ITERATIONS;

/// Settings of [`Logit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct LogitConfig {
    /// Newton iterations, in `1..=10_000`. Default 100.
    pub max_iterations: usize,
    /// Relative step tolerance, in `(0, 0.01]`. Default 1e-8 (the last Newton step leaves
    /// an error of about its square, ~1e-16 relative).
    pub tolerance: f64,
}
prudentia_core::checked_serde!(LogitConfig, LogitConfig::validate);

impl Default for LogitConfig {
    fn default() -> Self {
        let d = LeanLogitConfig::default();
        Self {
            max_iterations: d.max_iterations,
            tolerance: d.tolerance,
        }
    }
}

/// A prudentia-learn error of the propensity fit as this crate's error.
fn causal_error(e: LearnError) -> CausalError {
    match e {
        LearnError::Core(e) => CausalError::Core(e),
        LearnError::NotBinary { index, value } => CausalError::NotBinary { index, value },
        LearnError::TooFewObservations { n, k } => CausalError::TooFewObservations { n, k },
        LearnError::Collinear { column } => CausalError::Collinear {
            what: "propensity design",
            column,
        },
        LearnError::Overflow { what } => CausalError::Overflow { what },
        e => CausalError::Learn(e),
    }
}

impl LogitConfig {
    /// prudentia-learn's settings of the same fit.
    pub fn lean(&self) -> LeanLogitConfig {
        LeanLogitConfig {
            max_iterations: self.max_iterations,
            tolerance: self.tolerance,
            ..LeanLogitConfig::default()
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> CausalResult<()> {
        self.lean().validate().map_err(causal_error)
    }

    /// Fits labels `y` (0/1) on `x` (see the [module docs](self)); observation weights are
    /// not supported (a weighted `BinaryData` is refused).
    ///
    /// # Errors
    /// Bad shapes or values, labels that are not 0/1, fewer observations than
    /// coefficients, a design that is not of full rank.
    pub fn fit_xy<'a>(&self, x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> CausalResult<Logit> {
        self.lean()
            .fit_xy(&BinaryData::new(x, y))
            .map(Logit)
            .map_err(causal_error)
    }
}

/// A fitted logistic regression (intercept first): prudentia-learn's [`LeanLogit`].
/// Deserialization validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Logit(LeanLogit);

impl Logit {
    /// The coefficients, intercept first.
    pub fn coefficients(&self) -> &[f64] {
        self.0.coefficients()
    }

    /// Newton iterations made.
    pub fn iterations(&self) -> usize {
        self.0.iterations()
    }

    /// How the fit ended.
    pub fn status(&self) -> &Status {
        self.0.status()
    }

    /// prudentia-learn's model.
    pub fn as_lean(&self) -> &LeanLogit {
        &self.0
    }

    /// `P(y = 1 | x)` for every row of `x`.
    ///
    /// # Errors
    /// A wrong width or non-finite input.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        self.0.predict_proba(x).map_err(causal_error)
    }
}

impl From<LeanLogit> for Logit {
    fn from(m: LeanLogit) -> Self {
        Self(m)
    }
}

impl Predict for Logit {
    type Output = Array1<f64>;
    type Error = CausalError;
    fn predict(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        self.predict_proba(x)
    }
}

impl<'a> Fit<BinaryData<'a>> for LogitConfig {
    type Model = Logit;
    type Error = CausalError;
    fn fit(&self, data: &BinaryData<'a>) -> CausalResult<Logit> {
        if data.weights.is_some() {
            return Err(CoreError::OutOfRange {
                field: "weights",
                value: 1.0,
                expected: "none: Logit does not take observation weights",
            }
            .into());
        }
        self.fit_xy(data.x, data.y)
    }
}
