//! The S-, T- and X-learners of Künzel, Sekhon, Bickel & Yu (2019, *PNAS* 116,
//! "Metalearners for estimating heterogeneous treatment effects using machine learning"),
//! over any [`Regressor`] / [`Classifier`] (EconML's `SLearner`, `TLearner`, `XLearner`).
//!
//! - **S-learner**: one model `μ(x, d)` on `[x, d]` (and `x·d` with
//!   [`SLearner::interactions`]); `τ(x) = μ(x, 1) − μ(x, 0)`.
//! - **T-learner**: `μ₀` on the controls, `μ₁` on the treated; `τ(x) = μ₁(x) − μ₀(x)`.
//! - **X-learner**: the T-learner's `μ₀, μ₁`, then imputed effects `D¹ᵢ = Yᵢ − μ₀(xᵢ)` on
//!   the treated and `D⁰ᵢ = μ₁(xᵢ) − Yᵢ` on the controls, effect models `τ₁` (on `D¹`) and
//!   `τ₀` (on `D⁰`), and `τ(x) = g(x) τ₀(x) + (1 − g(x)) τ₁(x)` with the propensity
//!   `g(x)`.
//!
//! These give point estimates; for standard errors and intervals use the
//! [DR-learner](crate::dr).

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use prudentia_core::traits::Predict;
use prudentia_core::validate::{check_finite_2d, check_shape, check_size, MAX_DIM};
use prudentia_learn::linear::LinearRegressionConfig;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::CausalData;
use crate::error::{CausalError, CausalResult};
use crate::logit::LogitConfig;
use crate::nuisance::{fit_clf, fit_reg, predict_checked, Classifier, Regressor};

fn check_effect(tau: Array1<f64>) -> CausalResult<Array1<f64>> {
    if tau.iter().all(|v| v.is_finite()) {
        Ok(tau)
    } else {
        Err(CausalError::Overflow { what: "effects" })
    }
}

fn arm_rows(data: &CausalData<'_>, d: f64) -> Vec<usize> {
    (0..data.treatment.len())
        .filter(|&i| data.treatment[i] == d)
        .collect()
}

/// The load check of a fitted nuisance model: it must predict one finite value for a row of
/// `width` zeros (a model of another width, or a broken one, is refused).
fn probe<M: Predict<Output = Array1<f64>>>(
    m: &M,
    stage: &'static str,
    width: usize,
) -> CausalResult<Array1<f64>> {
    predict_checked(m, stage, Array2::zeros((1, width)).view())
}

/// `Serialize`/`Deserialize` for a generic fitted learner declared with
/// `#[serde(remote = "Self")]`: loading runs `check` (core's `checked_serde!` for generic
/// types).
macro_rules! checked_serde_generic {
    ($ty:ident<$($p:ident),+>) => {
        impl<$($p: Serialize),+> Serialize for $ty<$($p),+> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $ty::<$($p),+>::serialize(self, serializer)
            }
        }

        impl<'de, $($p),+> Deserialize<'de> for $ty<$($p),+>
        where
            $($p: Deserialize<'de> + Predict<Output = Array1<f64>>),+
        {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut value = $ty::<$($p),+>::deserialize(deserializer)?;
                value.check().map_err(serde::de::Error::custom)?;
                Ok(value)
            }
        }
    };
}

fn check_x(n_features: usize, x: ArrayView2<'_, f64>) -> CausalResult<()> {
    check_shape("x columns", &[n_features], &[x.ncols()])?;
    check_finite_2d("x", x)?;
    Ok(())
}

/// The S-learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SLearner<R = LinearRegressionConfig> {
    /// The outcome model `μ(x, d)`.
    pub model: R,
    /// Add the interactions `x·d` to the features (a linear model then gets a
    /// heterogeneous effect). Default `false` (EconML's `SLearner`).
    pub interactions: bool,
}

impl Default for SLearner {
    fn default() -> Self {
        Self {
            model: LinearRegressionConfig::default(),
            interactions: false,
        }
    }
}

fn s_features(x: ArrayView2<'_, f64>, d: f64, interactions: bool) -> Array2<f64> {
    let n = x.nrows();
    let dcol = Array2::from_elem((n, 1), d);
    if interactions {
        let xd = x.mapv(|v| v * d);
        concatenate(Axis(1), &[x.view(), dcol.view(), xd.view()]).expect("same rows")
    } else {
        concatenate(Axis(1), &[x.view(), dcol.view()]).expect("same rows")
    }
}

impl<R: Regressor> SLearner<R> {
    /// Fits `μ(x, d)`.
    ///
    /// # Errors
    /// Bad data (see [`crate::dr::DrLearner::fit`]), a refusing model.
    pub fn fit(&self, data: &CausalData<'_>) -> CausalResult<SModel<R::Model>> {
        let shape = data.validate(1)?;
        let n = shape.n;
        let mut f = s_features(data.x, 0.0, self.interactions);
        f.column_mut(shape.p).assign(&data.treatment);
        if self.interactions {
            for i in 0..n {
                for j in 0..shape.p {
                    f[[i, shape.p + 1 + j]] = data.x[[i, j]] * data.treatment[i];
                }
            }
        }
        let model = fit_reg(&self.model, "outcome", f.view(), data.outcome.view())?;
        Ok(SModel {
            model,
            n_features: shape.p,
            interactions: self.interactions,
        })
    }
}

/// A fitted S-learner. Deserialization validates it (the width within the limit, and the
/// outcome model predicting a finite value at the width `[x, d]` (and `x·d`) it was fitted on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct SModel<M> {
    model: M,
    n_features: usize,
    interactions: bool,
}
checked_serde_generic!(SModel<M>);

impl<M: Predict<Output = Array1<f64>>> SModel<M> {
    fn check(&mut self) -> CausalResult<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        let width = self.n_features + 1 + if self.interactions { self.n_features } else { 0 };
        probe(&self.model, "outcome", width).map(|_| ())
    }
}

impl<M: Predict<Output = Array1<f64>>> SModel<M> {
    /// `τ(x)` for every row of `x`.
    ///
    /// # Errors
    /// Wrong width, non-finite input, a refusing model, effects beyond `f64`.
    pub fn effect(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        check_x(self.n_features, x)?;
        let m1 = predict_checked(
            &self.model,
            "outcome",
            s_features(x, 1.0, self.interactions).view(),
        )?;
        let m0 = predict_checked(
            &self.model,
            "outcome",
            s_features(x, 0.0, self.interactions).view(),
        )?;
        check_effect(m1 - m0)
    }
}

/// The T-learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TLearner<R = LinearRegressionConfig> {
    /// The per-arm outcome model.
    pub model: R,
}

impl Default for TLearner {
    fn default() -> Self {
        Self {
            model: LinearRegressionConfig::default(),
        }
    }
}

impl<R: Regressor> TLearner<R> {
    /// Fits `μ₀` and `μ₁`.
    ///
    /// # Errors
    /// Bad data (see [`crate::dr::DrLearner::fit`]), a refusing model.
    pub fn fit(&self, data: &CausalData<'_>) -> CausalResult<TModel<R::Model>> {
        let shape = data.validate(1)?;
        let (c, t) = (arm_rows(data, 0.0), arm_rows(data, 1.0));
        let mu0 = fit_reg(
            &self.model,
            "outcome (control arm)",
            data.x.select(Axis(0), &c).view(),
            data.outcome.select(Axis(0), &c).view(),
        )?;
        let mu1 = fit_reg(
            &self.model,
            "outcome (treated arm)",
            data.x.select(Axis(0), &t).view(),
            data.outcome.select(Axis(0), &t).view(),
        )?;
        Ok(TModel {
            mu0,
            mu1,
            n_features: shape.p,
        })
    }
}

/// A fitted T-learner. Deserialization validates it (the width within the limit, both arm
/// models predicting a finite value at that width).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct TModel<M> {
    mu0: M,
    mu1: M,
    n_features: usize,
}
checked_serde_generic!(TModel<M>);

impl<M: Predict<Output = Array1<f64>>> TModel<M> {
    fn check(&mut self) -> CausalResult<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        probe(&self.mu0, "outcome (control arm)", self.n_features)?;
        probe(&self.mu1, "outcome (treated arm)", self.n_features)?;
        Ok(())
    }
}

impl<M: Predict<Output = Array1<f64>>> TModel<M> {
    /// `τ(x) = μ₁(x) − μ₀(x)` for every row of `x`.
    ///
    /// # Errors
    /// Wrong width, non-finite input, a refusing model, effects beyond `f64`.
    pub fn effect(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        check_x(self.n_features, x)?;
        let m1 = predict_checked(&self.mu1, "outcome (treated arm)", x)?;
        let m0 = predict_checked(&self.mu0, "outcome (control arm)", x)?;
        check_effect(m1 - m0)
    }
}

/// The X-learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XLearner<R = LinearRegressionConfig, P = LogitConfig> {
    /// The outcome and effect models.
    pub model: R,
    /// The propensity model `g(x)`.
    pub propensity: P,
}

impl Default for XLearner {
    fn default() -> Self {
        Self {
            model: LinearRegressionConfig::default(),
            propensity: LogitConfig::default(),
        }
    }
}

impl<R: Regressor, P: Classifier> XLearner<R, P> {
    /// Fits the outcome, effect and propensity models.
    ///
    /// # Errors
    /// Bad data (see [`crate::dr::DrLearner::fit`]), a refusing model.
    pub fn fit(&self, data: &CausalData<'_>) -> CausalResult<XModel<R::Model, P::Model>> {
        let shape = data.validate(1)?;
        let (c, t) = (arm_rows(data, 0.0), arm_rows(data, 1.0));
        let (x0, x1) = (data.x.select(Axis(0), &c), data.x.select(Axis(0), &t));
        let (y0, y1) = (data.outcome.select(Axis(0), &c), data.outcome.select(Axis(0), &t));
        let mu0 = fit_reg(&self.model, "outcome (control arm)", x0.view(), y0.view())?;
        let mu1 = fit_reg(&self.model, "outcome (treated arm)", x1.view(), y1.view())?;
        let d1 = &y1 - &predict_checked(&mu0, "outcome (control arm)", x1.view())?;
        let d0 = predict_checked(&mu1, "outcome (treated arm)", x0.view())? - &y0;
        if d1.iter().chain(d0.iter()).any(|v| !v.is_finite()) {
            return Err(CausalError::Overflow {
                what: "imputed effects",
            });
        }
        let tau0 = fit_reg(&self.model, "effect (controls)", x0.view(), d0.view())?;
        let tau1 = fit_reg(&self.model, "effect (treated)", x1.view(), d1.view())?;
        let g = fit_clf(
            &self.propensity,
            "propensity",
            data.x.view(),
            data.treatment.view(),
        )?;
        Ok(XModel {
            tau0,
            tau1,
            propensity: g,
            n_features: shape.p,
        })
    }
}

/// A fitted X-learner. Deserialization validates it (the width within the limit, both
/// effect models predicting a finite value at that width, the propensity model a
/// probability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct XModel<M, G> {
    tau0: M,
    tau1: M,
    propensity: G,
    n_features: usize,
}
checked_serde_generic!(XModel<M, G>);

impl<M: Predict<Output = Array1<f64>>, G: Predict<Output = Array1<f64>>> XModel<M, G> {
    fn check(&mut self) -> CausalResult<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        probe(&self.tau0, "effect (controls)", self.n_features)?;
        probe(&self.tau1, "effect (treated)", self.n_features)?;
        let g = probe(&self.propensity, "propensity", self.n_features)?;
        if let Some(v) = g.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(CausalError::BadPrediction {
                stage: "propensity",
                reason: format!("probability {v} outside [0, 1]"),
            });
        }
        Ok(())
    }
}

impl<M: Predict<Output = Array1<f64>>, G: Predict<Output = Array1<f64>>> XModel<M, G> {
    /// `τ(x) = g(x) τ₀(x) + (1 − g(x)) τ₁(x)` for every row of `x`.
    ///
    /// # Errors
    /// Wrong width, non-finite input, a refusing model, a propensity outside [0, 1],
    /// effects beyond `f64`.
    pub fn effect(&self, x: ArrayView2<'_, f64>) -> CausalResult<Array1<f64>> {
        check_x(self.n_features, x)?;
        let g = predict_checked(&self.propensity, "propensity", x)?;
        if let Some(v) = g.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(CausalError::BadPrediction {
                stage: "propensity",
                reason: format!("probability {v} outside [0, 1]"),
            });
        }
        let t0 = predict_checked(&self.tau0, "effect (controls)", x)?;
        let t1 = predict_checked(&self.tau1, "effect (treated)", x)?;
        let tau = &g * &t0 + &(1.0 - &g) * &t1;
        check_effect(tau)
    }
}
