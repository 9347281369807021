//! Pluggable nuisance models: anything that implements core's [`Fit`] and [`Predict`].
//!
//! A regressor is a configuration implementing `Fit<LinearData>` whose model predicts an
//! `Array1<f64>` (prudentia-learn's [`LinearRegressionConfig`] by default); a classifier is
//! one implementing `Fit<BinaryData>` whose model predicts `P(treated | x)`
//! ([`LogisticRegressionConfig`] by default). Both data types are prudentia-learn's; a
//! user's own model only needs the two trait impls.
//!
//! [`LinearRegressionConfig`]: prudentia_learn::linear::LinearRegressionConfig
//! [`LogisticRegressionConfig`]: prudentia_learn::logistic::LogisticRegressionConfig

use ndarray::{Array1, ArrayView1, ArrayView2};
use prudentia_core::traits::{Fit, Predict};
use prudentia_learn::linear::LinearData;
use prudentia_learn::logistic::BinaryData;

use crate::error::{CausalError, CausalResult};

/// A regression nuisance model (outcome models, the X-learner's effect models).
pub trait Regressor {
    /// The fitted model.
    type Model: Predict<Output = Array1<f64>>;
    /// Fits `y` on `x`.
    fn fit_regressor<'a>(
        &self,
        x: ArrayView2<'a, f64>,
        y: ArrayView1<'a, f64>,
    ) -> Result<Self::Model, String>;
}

impl<R, M, E> Regressor for R
where
    R: for<'a> Fit<LinearData<'a>, Model = M, Error = E>,
    M: Predict<Output = Array1<f64>>,
    E: std::error::Error,
{
    type Model = M;
    fn fit_regressor<'a>(&self, x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> Result<M, String> {
        self.fit(&LinearData::new(x, y)).map_err(|e| e.to_string())
    }
}

/// A classification nuisance model (the propensity score).
pub trait Classifier {
    /// The fitted model; its `predict` gives `P(treated | x)`.
    type Model: Predict<Output = Array1<f64>>;
    /// Fits labels `t` (0/1) on `x`.
    fn fit_classifier<'a>(
        &self,
        x: ArrayView2<'a, f64>,
        t: ArrayView1<'a, f64>,
    ) -> Result<Self::Model, String>;
}

impl<C, M, E> Classifier for C
where
    C: for<'a> Fit<BinaryData<'a>, Model = M, Error = E>,
    M: Predict<Output = Array1<f64>>,
    E: std::error::Error,
{
    type Model = M;
    fn fit_classifier<'a>(&self, x: ArrayView2<'a, f64>, t: ArrayView1<'a, f64>) -> Result<M, String> {
        self.fit(&BinaryData::new(x, t)).map_err(|e| e.to_string())
    }
}

/// Fits, mapping a refusal to [`CausalError::Nuisance`].
pub(crate) fn fit_reg<'a, R: Regressor>(
    r: &R,
    stage: &'static str,
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
) -> CausalResult<R::Model> {
    r.fit_regressor(x, y)
        .map_err(|message| CausalError::Nuisance { stage, message })
}

pub(crate) fn fit_clf<'a, C: Classifier>(
    c: &C,
    stage: &'static str,
    x: ArrayView2<'a, f64>,
    t: ArrayView1<'a, f64>,
) -> CausalResult<C::Model> {
    c.fit_classifier(x, t)
        .map_err(|message| CausalError::Nuisance { stage, message })
}

/// Predicts and checks one finite value per row.
pub(crate) fn predict_checked<M: Predict<Output = Array1<f64>>>(
    m: &M,
    stage: &'static str,
    x: ArrayView2<'_, f64>,
) -> CausalResult<Array1<f64>> {
    let out = m.predict(x).map_err(|e| CausalError::Nuisance {
        stage,
        message: e.to_string(),
    })?;
    if out.len() != x.nrows() {
        return Err(CausalError::BadPrediction {
            stage,
            reason: format!("{} predictions for {} rows", out.len(), x.nrows()),
        });
    }
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        return Err(CausalError::BadPrediction {
            stage,
            reason: format!("prediction {i} is {}", out[i]),
        });
    }
    Ok(out)
}
