//! The doubly robust (DR) learner: AIPW pseudo-outcomes with K-fold cross-fitting and a
//! linear final stage with heteroskedasticity-robust standard errors.
//!
//! Following Kennedy (2023, *Electronic Journal of Statistics* 17, "Towards optimal doubly
//! robust estimation of heterogeneous causal effects") and EconML's `LinearDRLearner`:
//!
//! 1. Split the units into K folds ([`Folds`]). For the units of fold `k`, fit on the other
//!    folds a propensity model `ê(x) = P(D = 1 | x)` and outcome models `μ̂_d(x) = E[Y | x,
//!    D = d]`, and predict.
//! 2. Clip the propensity into `[c, 1 − c]` ([`DrConfig::propensity_clip`], default `1e-6`
//!    as EconML's `min_propensity`; with the clip the inverse weights stay below `1/c`).
//!    Every clipped unit is counted, and the fit's status says how many.
//! 3. Form the AIPW pseudo-outcome (Robins, Rotnitzky & Zhao 1994, JASA 89)
//!    `ψᵢ = μ̂₁(xᵢ) − μ̂₀(xᵢ) + Dᵢ (Yᵢ − μ̂₁(xᵢ)) / êᵢ − (1 − Dᵢ)(Yᵢ − μ̂₀(xᵢ)) / (1 − êᵢ)`.
//! 4. Regress `ψ` on `[1, x]` by least squares: `τ(x) = β₀ + xᵀβ`, with HC1 (EconML's
//!    default inference, `StatsModelsInferenceDiscrete(cov_type='HC1')`) or HC0 standard
//!    errors ([`FinalCovariance`]).
//!
//! Inference (normal approximation, as EconML): the CATE at `x` is `φᵀβ` with `φ = [1, x]`
//! and standard error `√(φᵀ V φ)`. Two average effects are reported:
//! [`DrModel::ate`], the population ATE `mean(ψ)` with standard error `sd(ψ)/√n` (the
//! classical AIPW estimator, whose interval accounts for the sampling of `x`), and
//! [`DrModel::ate_given_x`], the CATE at the mean covariates with its final-stage standard
//! error (EconML's `ate_inference`, which treats the sample's `x` as fixed and is therefore
//! narrower when the effect is heterogeneous).
//!
//! Outcome models ([`OutcomeModel`]): `Pooled` (default) fits one regression of `Y` on
//! `[x, D]` and predicts it at `D = 0` and `D = 1` — EconML's `model_regression`;
//! `PerArm` fits one regression per arm (a T-learner inside), which stays correctly
//! specified when a linear model's slopes differ between the arms.
//!
//! **Speed.** With the default nuisance models ([`LogitConfig`] and prudentia-learn's OLS
//! with an intercept and no ridge) the fit takes a fast path: the units in (fold, arm)
//! order, the covariates centred and scaled once, one pass for the Gram matrices of every
//! (fold, arm) block (a training set's normal equations are sums of blocks), a
//! warm-started Newton propensity with vectorizable column sweeps, and the final stage from
//! the same Gram. Its estimates agree with the reference path (every fold's models fitted
//! through the traits) to about 1e-10; ill-conditioned designs (a column's `1 − R²` on the
//! previous ones below 1e-9), a likelihood that needs a line search, separation or the
//! iteration limit go to the reference path, which owns the errors and statuses. Any other
//! nuisance model (and the final stage, when the fast path does not apply) takes the
//! reference path. `DrLearner`'s methods need `'static` model types (they check the types
//! with [`std::any::Any`]). The fast path works in its own row order and keeps its working
//! buffers per thread between fits (at most 8 MB; larger ones are freed), so that repeated
//! fits neither allocate nor page-fault them afresh; [`DrLearner::fit`] never builds the
//! per-unit nuisances in the caller's order ([`DrLearner::fit_detailed`] does).

use std::any::Any;
use std::borrow::Cow;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use prudentia_core::validate::{check_finite, check_shape, check_size, MAX_DIM};
use prudentia_core::{CoreError, SeparationKind, Status};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::data::{check_arms, check_open, CausalData, Folds};
use crate::error::{CausalError, CausalResult};
use crate::estimate::Estimate;
use crate::fast::{FinalFit, Nuisances, Prepared, Workspace};
use crate::linalg::check_rank;
use crate::logit::LogitConfig;
use crate::nuisance::{fit_clf, fit_reg, predict_checked, Classifier, Regressor};

/// The largest number of bootstrap replications.
pub const MAX_BOOTSTRAP: usize = 10_000;

/// How the outcome nuisance is modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OutcomeModel {
    /// One regression of `Y` on `[x, D]`, predicted at `D = 0` and `D = 1` (EconML).
    #[default]
    Pooled,
    /// One regression per arm on `x`.
    PerArm,
}

/// Standard errors of the final stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FinalCovariance {
    /// White's HC0.
    Hc0,
    /// HC0 × `n / (n − k)` (EconML's default inference for `LinearDRLearner`).
    #[default]
    Hc1,
}

impl FinalCovariance {
    fn kind(self) -> CovarianceKind {
        match self {
            FinalCovariance::Hc0 => CovarianceKind::Hc0,
            FinalCovariance::Hc1 => CovarianceKind::Hc1,
        }
    }
}

/// Settings of the seeded bootstrap of the final stage: rows are resampled with
/// replacement, the final regression and the ATE are recomputed on the (cross-fitted,
/// fixed) pseudo-outcomes, and percentile 95% intervals are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Replications, in `1..=`[`MAX_BOOTSTRAP`].
    pub replications: usize,
    /// Seed of the `ChaCha8Rng` that draws the resamples.
    pub seed: u64,
}

/// Settings of the DR-learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct DrConfig {
    /// Cross-fitting folds. Default 5 seeded stratified folds.
    pub folds: Folds,
    /// Propensities are clipped into `[c, 1 − c]`; `c ∈ (0, 0.5)`, default `1e-6`.
    pub propensity_clip: f64,
    /// Outcome nuisance. Default [`OutcomeModel::Pooled`].
    pub outcome_model: OutcomeModel,
    /// Final-stage standard errors. Default [`FinalCovariance::Hc1`].
    pub covariance: FinalCovariance,
    /// Optional bootstrap intervals. Default `None`.
    pub bootstrap: Option<Bootstrap>,
}
prudentia_core::checked_serde!(DrConfig, DrConfig::validate);

impl Default for DrConfig {
    fn default() -> Self {
        Self {
            folds: Folds::default(),
            propensity_clip: 1e-6,
            outcome_model: OutcomeModel::Pooled,
            covariance: FinalCovariance::Hc1,
            bootstrap: None,
        }
    }
}

impl DrConfig {
    /// Checks the settings.
    pub fn validate(&self) -> CausalResult<()> {
        self.folds.validate()?;
        check_open("propensity_clip", self.propensity_clip, 0.0, 0.5, "in (0, 0.5)")?;
        if let Some(b) = self.bootstrap {
            check_size("bootstrap replications", b.replications, MAX_BOOTSTRAP)?;
            if b.replications == 0 {
                return Err(CoreError::OutOfRange {
                    field: "bootstrap replications",
                    value: 0.0,
                    expected: "in 1..=10000",
                }
                .into());
            }
        }
        Ok(())
    }
}

/// The DR-learner with its nuisance models: `P` the propensity classifier, `R` the outcome
/// regressor (the crate's unpenalized [`LogitConfig`] and prudentia-learn's OLS by default).
#[derive(Debug, Clone, PartialEq)]
pub struct DrLearner<P = LogitConfig, R = LinearRegressionConfig> {
    /// Settings.
    pub config: DrConfig,
    /// Propensity model.
    pub propensity: P,
    /// Outcome model.
    pub outcome: R,
}

impl DrLearner {
    /// The DR-learner with logistic-regression propensities and OLS outcome models.
    pub fn new(config: DrConfig) -> Self {
        Self {
            config,
            propensity: LogitConfig::default(),
            outcome: LinearRegressionConfig::default(),
        }
    }
}

/// The cross-fitted nuisances behind a DR fit, one entry per unit.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossFit {
    /// The fold of every unit.
    pub folds: Vec<usize>,
    /// Out-of-fold propensity after clipping.
    pub propensity: Array1<f64>,
    /// Out-of-fold propensity before clipping.
    pub raw_propensity: Array1<f64>,
    /// Out-of-fold `μ̂₀(x)`.
    pub mu0: Array1<f64>,
    /// Out-of-fold `μ̂₁(x)`.
    pub mu1: Array1<f64>,
    /// AIPW pseudo-outcomes `ψ`.
    pub pseudo_outcome: Array1<f64>,
    /// The treatment (a copy, for diagnostics).
    pub treatment: Array1<f64>,
}

/// A DR fit with its cross-fitted nuisances (for diagnostics).
#[derive(Debug, Clone, PartialEq)]
pub struct DrFit {
    /// The fitted model.
    pub model: DrModel,
    /// The nuisances.
    pub cross_fit: CrossFit,
}

impl<P: Classifier + 'static, R: Regressor + 'static> DrLearner<P, R> {
    /// The DR-learner with the given nuisance models.
    pub fn with_models(config: DrConfig, propensity: P, outcome: R) -> Self {
        Self {
            config,
            propensity,
            outcome,
        }
    }

    /// Fits the model (see the [module docs](self)).
    ///
    /// # Errors
    /// Bad input ([`CausalError::Core`]), a treatment that is not 0/1
    /// ([`CausalError::NotBinary`]), no treated or no control units, or a training fold
    /// without one of the arms ([`CausalError::EmptyArm`]), collinear covariates
    /// ([`CausalError::Collinear`]), bad folds ([`CausalError::InvalidFolds`]), a
    /// nuisance model that refused ([`CausalError::Nuisance`]) and results beyond `f64`
    /// ([`CausalError::Overflow`]). Separation in the propensity model and clipped
    /// propensities are a status ([`DrModel::status`]).
    ///
    /// ```
    /// use prudentia_causal::{CausalData, DrConfig, DrLearner};
    /// let s = prudentia_datasets::causal_dataset(2_000, 3, 7).unwrap();
    /// let t = s.treatment_indicator();
    /// let m = DrLearner::new(DrConfig::default())
    ///     .fit(&CausalData::new(s.x.view(), t.view(), s.outcome.view()))
    ///     .unwrap();
    /// let ate = m.ate();
    /// assert!(ate.lower < 0.2 && 0.2 < ate.upper);
    /// ```
    pub fn fit(&self, data: &CausalData<'_>) -> CausalResult<DrModel> {
        match self.cross_fitted(data)? {
            Stage::Fast {
                mut prep,
                treated,
                summary,
            } => {
                let fin = self.fast_final(data.x, &mut prep)?;
                let psi = self.config.bootstrap.map(|_| prep.psi_caller());
                final_stage(
                    &self.config,
                    data.x,
                    &summary,
                    psi.as_ref(),
                    treated,
                    fin,
                    Some(prep.means()),
                )
            }
            Stage::Reference {
                prep,
                treated,
                summary,
                cross_fit,
            } => self.reference_finish(data.x, prep, treated, &summary, &cross_fit),
        }
    }

    /// Fits the model and returns the cross-fitted nuisances with it.
    ///
    /// # Errors
    /// As [`Self::fit`].
    pub fn fit_detailed(&self, data: &CausalData<'_>) -> CausalResult<DrFit> {
        match self.cross_fitted(data)? {
            Stage::Fast {
                mut prep,
                treated,
                summary,
            } => {
                let cross_fit = prep.cross_fit_caller(data.treatment, self.config.propensity_clip);
                let fin = self.fast_final(data.x, &mut prep)?;
                let psi = Some(&cross_fit.pseudo_outcome);
                let model = final_stage(
                    &self.config,
                    data.x,
                    &summary,
                    psi,
                    treated,
                    fin,
                    Some(prep.means()),
                )?;
                Ok(DrFit { model, cross_fit })
            }
            Stage::Reference {
                prep,
                treated,
                summary,
                cross_fit,
            } => {
                let model = self.reference_finish(data.x, prep, treated, &summary, &cross_fit)?;
                Ok(DrFit {
                    model,
                    cross_fit: *cross_fit,
                })
            }
        }
    }

    /// The final stage from the prepared data and its loaded pseudo-outcomes (by the
    /// reference regression when the fast one does not apply).
    fn fast_final(&self, x: ArrayView2<'_, f64>, prep: &mut Prepared) -> CausalResult<FinalFit> {
        let cov = self.config.covariance;
        match prep.final_fit(cov) {
            Some(fin) => Ok(fin),
            None => reference_final(cov, x, &prep.psi_caller()),
        }
    }

    /// The final stage and the model after the reference path's nuisances.
    fn reference_finish(
        &self,
        x: ArrayView2<'_, f64>,
        prep: Option<Prepared>,
        treated: usize,
        summary: &PsiSummary,
        cf: &CrossFit,
    ) -> CausalResult<DrModel> {
        let psi = &cf.pseudo_outcome;
        let (fin, prep) = match prep {
            Some(mut p) => {
                p.load_psi(psi);
                (self.fast_final(x, &mut p)?, Some(p))
            }
            None => (reference_final(self.config.covariance, x, psi)?, None),
        };
        let means = prep.as_ref().map(Prepared::means);
        final_stage(&self.config, x, summary, Some(psi), treated, fin, means)
    }

    /// Validation, folds and the cross-fitted nuisances with the pseudo-outcomes.
    fn cross_fitted(&self, data: &CausalData<'_>) -> CausalResult<Stage> {
        self.config.validate()?;
        let shape = data.validate(2)?;
        let (n, p) = (shape.n, shape.p);
        if n <= p + 1 {
            return Err(CausalError::TooFewObservations { n, k: p + 1 });
        }
        let collinear = |column| CausalError::Collinear {
            what: "covariates",
            column,
        };
        let mut ws = Workspace::take();
        let k = match self
            .config
            .folds
            .assign_into(data.treatment, &mut ws.labels, &mut ws.order)
        {
            Ok(k) => k,
            Err(e) => {
                // collinear covariates are reported first
                check_rank(data.x).map_err(collinear)?;
                return Err(e);
            }
        };
        // the fast path (module `fast`) when it applies, else the reference path
        let (mut prep, labels) = match Prepared::new(data, ws, k) {
            Ok(prep) => (Some(prep), Vec::new()),
            Err(ws) => (None, ws.labels),
        };
        match &prep {
            Some(prep) => prep.check_rank(),
            None => check_rank(data.x),
        }
        .map_err(collinear)?;
        let clip = self.config.propensity_clip;
        if let Some(logit) = self.fast_logit() {
            if let Some(mut p) = prep.take() {
                if p.cross_fit(logit, self.config.outcome_model) {
                    let summary = p.pseudo_outcomes(data.outcome, clip)?;
                    return Ok(Stage::Fast {
                        prep: p,
                        treated: shape.treated,
                        summary,
                    });
                }
                prep = Some(p);
            }
        }
        let labels = match &prep {
            Some(p) => p.labels().to_vec(),
            None => labels,
        };
        let nuisances = self.nuisances(data, &labels, k)?;
        let cross_fit = finish_cross_fit(data, labels, nuisances, clip)?;
        let summary = summarize(
            &contiguous(&cross_fit.pseudo_outcome),
            &contiguous(&cross_fit.raw_propensity),
            &contiguous(&cross_fit.treatment),
            clip,
        );
        Ok(Stage::Reference {
            prep,
            treated: shape.treated,
            summary,
            cross_fit: Box::new(cross_fit),
        })
    }

    /// The propensity settings when both nuisance models are the defaults' types (the
    /// crate's logistic regression, prudentia-learn's OLS with an intercept and no ridge)
    /// with valid settings: the fast path applies.
    fn fast_logit(&self) -> Option<&LogitConfig> {
        let r = (&self.outcome as &dyn Any).downcast_ref::<LinearRegressionConfig>()?;
        if !(r.intercept && r.ridge == 0.0) {
            return None;
        }
        let l = (&self.propensity as &dyn Any).downcast_ref::<LogitConfig>()?;
        l.validate().is_ok().then_some(l)
    }

    /// The reference path: every fold's nuisance models fitted through the traits.
    fn nuisances(&self, data: &CausalData<'_>, labels: &[usize], k: usize) -> CausalResult<Nuisances> {
        let (n, p) = data.x.dim();
        let mut raw = Array1::zeros(n);
        let mut mu0 = Array1::zeros(n);
        let mut mu1 = Array1::zeros(n);
        for f in 0..k {
            let test: Vec<usize> = (0..n).filter(|&i| labels[i] == f).collect();
            let train: Vec<usize> = (0..n).filter(|&i| labels[i] != f).collect();
            let x_tr = data.x.select(Axis(0), &train);
            let t_tr = data.treatment.select(Axis(0), &train);
            let y_tr = data.outcome.select(Axis(0), &train);
            let x_te = data.x.select(Axis(0), &test);

            let pm = fit_clf(&self.propensity, "propensity", x_tr.view(), t_tr.view())?;
            let e = predict_checked(&pm, "propensity", x_te.view())?;
            if let Some(v) = e.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(CausalError::BadPrediction {
                    stage: "propensity",
                    reason: format!("probability {v} outside [0, 1]"),
                });
            }
            let (m0, m1) = match self.config.outcome_model {
                OutcomeModel::Pooled => {
                    let mut xt = Array2::zeros((train.len(), p + 1));
                    xt.slice_mut(ndarray::s![.., ..p]).assign(&x_tr);
                    xt.column_mut(p).assign(&t_tr);
                    let om = fit_reg(&self.outcome, "outcome", xt.view(), y_tr.view())?;
                    let mut xq = Array2::zeros((test.len(), p + 1));
                    xq.slice_mut(ndarray::s![.., ..p]).assign(&x_te);
                    let m0 = predict_checked(&om, "outcome", xq.view())?;
                    xq.column_mut(p).fill(1.0);
                    let m1 = predict_checked(&om, "outcome", xq.view())?;
                    (m0, m1)
                }
                OutcomeModel::PerArm => {
                    let arm = |d: f64, stage: &'static str| -> CausalResult<Array1<f64>> {
                        let rows: Vec<usize> = (0..train.len()).filter(|&i| t_tr[i] == d).collect();
                        let xa = x_tr.select(Axis(0), &rows);
                        let ya = y_tr.select(Axis(0), &rows);
                        let om = fit_reg(&self.outcome, stage, xa.view(), ya.view())?;
                        predict_checked(&om, stage, x_te.view())
                    };
                    (
                        arm(0.0, "outcome (control arm)")?,
                        arm(1.0, "outcome (treated arm)")?,
                    )
                }
            };
            for (j, &i) in test.iter().enumerate() {
                raw[i] = e[j];
                mu0[i] = m0[j];
                mu1[i] = m1[j];
            }
        }
        Ok(Nuisances {
            raw_propensity: raw,
            mu0,
            mu1,
        })
    }
}

/// Where [`DrLearner::cross_fitted`] left the fit.
enum Stage {
    /// The fast path's nuisances and pseudo-outcomes (position order, in `prep`).
    Fast {
        prep: Prepared,
        treated: usize,
        summary: PsiSummary,
    },
    /// The reference path's (with the prepared data when the final stage can be fast).
    Reference {
        prep: Option<Prepared>,
        treated: usize,
        summary: PsiSummary,
        cross_fit: Box<CrossFit>,
    },
}

/// What the model needs from the pseudo-outcomes and propensities (in any row order).
pub(crate) struct PsiSummary {
    mean: f64,
    var: f64,
    clipped: usize,
    /// every treated unit's propensity above every control's
    separated: bool,
}

/// The array's values as a slice (copied only when it is not contiguous).
fn contiguous(a: &Array1<f64>) -> Cow<'_, [f64]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.to_vec()),
    }
}

/// `ψ = μ̂₁ − μ̂₀ + D (Y − μ̂₁) / e − (1 − D)(Y − μ̂₀) / (1 − e)` for one unit (`e` clipped).
pub(crate) fn aipw(y: f64, d: f64, e: f64, mu0: f64, mu1: f64) -> f64 {
    let y1 = mu1 + if d == 1.0 { (y - mu1) / e } else { 0.0 };
    let y0 = mu0 + if d == 1.0 { 0.0 } else { (y - mu0) / (1.0 - e) };
    y1 - y0
}

/// The mean and variance of `psi`, the clipped count and the arms' separation (`raw` the
/// propensities before clipping, `t` the treatment; all in the same row order).
pub(crate) fn summarize(psi: &[f64], raw: &[f64], t: &[f64], clip: f64) -> PsiSummary {
    let n = psi.len();
    let inv_n = 1.0 / n as f64;
    let mut acc = [0.0f64; 4];
    let chunks = psi.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            acc[l] += c[l] * inv_n;
        }
    }
    let mut mean = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for v in rest {
        mean += v * inv_n;
    }
    let mut acc = [0.0f64; 4];
    let chunks = psi.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            let d = (c[l] - mean) * inv_n;
            acc[l] += d * d;
        }
    }
    let mut ss = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for v in rest {
        let d = (v - mean) * inv_n;
        ss += d * d;
    }
    let var = ss * n as f64 / (n - 1) as f64;
    let (mut min_t, mut max_c) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut clipped = 0usize;
    for (&d, &e) in t.iter().zip(raw) {
        clipped += usize::from(e < clip || e > 1.0 - clip);
        if d == 1.0 {
            min_t = min_t.min(e);
        } else {
            max_c = max_c.max(e);
        }
    }
    PsiSummary {
        mean,
        var,
        clipped,
        separated: max_c < min_t,
    }
}

/// Clips the propensities and forms the AIPW pseudo-outcomes.
fn finish_cross_fit(
    data: &CausalData<'_>,
    labels: Vec<usize>,
    nuisances: Nuisances,
    clip: f64,
) -> CausalResult<CrossFit> {
    let Nuisances {
        raw_propensity: raw,
        mu0,
        mu1,
    } = nuisances;
    let propensity = raw.mapv(|e: f64| e.clamp(clip, 1.0 - clip));
    let pseudo: Array1<f64> = (0..raw.len())
        .map(|i| aipw(data.outcome[i], data.treatment[i], propensity[i], mu0[i], mu1[i]))
        .collect();
    if pseudo.iter().any(|v| !v.is_finite()) {
        return Err(CausalError::Overflow {
            what: "pseudo-outcomes",
        });
    }
    Ok(CrossFit {
        folds: labels,
        propensity,
        raw_propensity: raw,
        mu0,
        mu1,
        pseudo_outcome: pseudo,
        treatment: data.treatment.to_owned(),
    })
}

/// The final stage by prudentia-learn's regression (the reference path).
fn reference_final(
    covariance: FinalCovariance,
    x: ArrayView2<'_, f64>,
    psi: &Array1<f64>,
) -> CausalResult<FinalFit> {
    let lin = LinearRegressionConfig::ols(covariance.kind()).fit(&LinearData::new(x.view(), psi.view()))?;
    Ok(FinalFit {
        coefficients: lin.coefficients().to_vec(),
        std_errors: lin.std_errors().to_vec(),
        correlation: lin.correlation().into_raw_vec_and_offset().0,
        status: lin.status().clone(),
    })
}

fn final_stage(
    config: &DrConfig,
    x: ArrayView2<'_, f64>,
    summary: &PsiSummary,
    psi: Option<&Array1<f64>>,
    treated: usize,
    fin: FinalFit,
    means: Option<&[f64]>,
) -> CausalResult<DrModel> {
    let (n, p) = x.dim();
    let FinalFit {
        coefficients,
        std_errors,
        correlation,
        status: final_status,
    } = fin;
    // population ATE: mean and standard error of the pseudo-outcomes
    let inv_n = 1.0 / n as f64;
    let ate = Estimate::normal(summary.mean, summary.var.sqrt())?;
    // ATE given x: the CATE at the mean covariates
    let k = p + 1;
    let mut xbar = vec![1.0; k];
    match means {
        Some(m) => xbar[1..].copy_from_slice(m),
        None => {
            for j in 0..p {
                xbar[j + 1] = x.column(j).iter().map(|v| v * inv_n).sum();
            }
        }
    }
    let ate_given_x = linear_estimate(&coefficients, &std_errors, &correlation, &xbar)?;

    let (clip, clipped) = (config.propensity_clip, summary.clipped);
    // the arms' propensities do not overlap at all: the scores separate them
    let status = if summary.separated || clipped == n {
        Status::Separation {
            kind: SeparationKind::Complete,
            observations: n,
        }
    } else if clipped > 0 {
        Status::Separation {
            kind: SeparationKind::Quasi,
            observations: clipped,
        }
    } else {
        final_status
    };
    let bootstrap = match (config.bootstrap, psi) {
        (Some(b), Some(psi)) => Some(bootstrap(b, x, psi.view(), &coefficients)?),
        _ => None,
    };
    Ok(DrModel {
        n_features: p,
        coefficients,
        std_errors,
        correlation,
        covariance_kind: config.covariance,
        propensity_clip: clip,
        ate,
        ate_given_x,
        n_obs: n,
        n_treated: treated,
        clipped,
        status,
        bootstrap,
    })
}

/// `φᵀβ` with standard error `√(φᵀVφ)`, `V = S C S` (`S = diag(se)`, `C` the
/// correlation), computed as `m √(bᵀCb)` with `b = Sφ / m`, `m = max|Sφ|`, so that neither
/// overflows nor underflows.
fn linear_estimate(beta: &[f64], se: &[f64], corr: &[f64], phi: &[f64]) -> CausalResult<Estimate> {
    let k = beta.len();
    let mut est = 0.0;
    let mut a = [0.0f64; 64];
    let mut heap;
    let a: &mut [f64] = if k <= 64 {
        &mut a[..k]
    } else {
        heap = vec![0.0; k];
        &mut heap
    };
    let mut m = 0.0f64;
    for i in 0..k {
        est += beta[i] * phi[i];
        a[i] = se[i] * phi[i];
        m = m.max(a[i].abs());
    }
    if !(est.is_finite() && m.is_finite()) {
        return Err(CausalError::Overflow {
            what: "effect estimate",
        });
    }
    if m == 0.0 {
        return Estimate::normal(est, 0.0);
    }
    let mut q = 0.0;
    for i in 0..k {
        let bi = a[i] / m;
        let row = &corr[i * k..(i + 1) * k];
        let mut s = 0.0;
        for j in 0..k {
            s += row[j] * (a[j] / m);
        }
        q += bi * s;
    }
    let sd = m * q.max(0.0).sqrt();
    if !sd.is_finite() {
        return Err(CausalError::Overflow {
            what: "effect standard error",
        });
    }
    Estimate::normal(est, sd)
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let w = pos - lo as f64;
    v[lo] * (1.0 - w) + v[hi] * w
}

fn bootstrap(
    b: Bootstrap,
    x: ArrayView2<'_, f64>,
    psi: ArrayView1<'_, f64>,
    point: &[f64],
) -> CausalResult<BootstrapIntervals> {
    let (n, p) = x.dim();
    let k = p + 1;
    let mut rng = ChaCha8Rng::seed_from_u64(b.seed);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(b.replications); k];
    let mut ates = Vec::with_capacity(b.replications);
    let mut failed = 0usize;
    let cfg = LinearRegressionConfig::default();
    let mut idx = vec![0usize; n];
    for _ in 0..b.replications {
        idx.iter_mut().for_each(|i| *i = rng.random_range(0..n));
        let xb = x.select(Axis(0), &idx);
        let yb = psi.select(Axis(0), &idx);
        ates.push(yb.iter().map(|v| v / n as f64).sum::<f64>());
        match cfg.fit(&LinearData::new(xb.view(), yb.view())) {
            Ok(m) => {
                for (d, c) in draws.iter_mut().zip(m.coefficients()) {
                    d.push(*c);
                }
            }
            Err(_) => failed += 1,
        }
    }
    let coefficients = if draws[0].is_empty() {
        point.iter().map(|&c| (c, c)).collect()
    } else {
        draws
            .iter_mut()
            .map(|d| (percentile(d, 0.025), percentile(d, 0.975)))
            .collect()
    };
    let ate = (percentile(&mut ates, 0.025), percentile(&mut ates, 0.975));
    Ok(BootstrapIntervals {
        replications: b.replications,
        seed: b.seed,
        failed,
        coefficients,
        ate,
    })
}

/// Percentile 95% intervals from the final-stage bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapIntervals {
    /// Replications drawn.
    pub replications: usize,
    /// The seed.
    pub seed: u64,
    /// Replications whose resampled design was collinear (left out of the coefficient
    /// intervals).
    pub failed: usize,
    /// `(lower, upper)` per coefficient (intercept first).
    pub coefficients: Vec<(f64, f64)>,
    /// `(lower, upper)` of the population ATE.
    pub ate: (f64, f64),
}

/// A fitted DR-learner: `τ(x) = β₀ + xᵀβ` with its covariance, and the ATE.
///
/// Deserialization validates it (sizes, finite values, a symmetric covariance with a
/// non-negative diagonal, counts in range, ordered bootstrap intervals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct DrModel {
    n_features: usize,
    coefficients: Vec<f64>,
    std_errors: Vec<f64>,
    /// correlation of the coefficients, `k × k` row-major, `k = n_features + 1`
    correlation: Vec<f64>,
    covariance_kind: FinalCovariance,
    propensity_clip: f64,
    ate: Estimate,
    ate_given_x: Estimate,
    n_obs: usize,
    n_treated: usize,
    clipped: usize,
    status: Status,
    bootstrap: Option<BootstrapIntervals>,
}
prudentia_core::checked_serde!(DrModel, DrModel::check);

impl DrModel {
    fn check(&mut self) -> CausalResult<()> {
        check_size("n_features", self.n_features, MAX_DIM)?;
        let k = self.n_features + 1;
        check_shape("coefficients", &[k], &[self.coefficients.len()])?;
        check_shape("std_errors", &[k], &[self.std_errors.len()])?;
        check_shape("correlation", &[k * k], &[self.correlation.len()])?;
        check_finite("coefficients", &self.coefficients)?;
        check_finite("std_errors", &self.std_errors)?;
        check_finite("correlation", &self.correlation)?;
        check_correlation(&self.std_errors, &self.correlation, k)?;
        check_open("propensity_clip", self.propensity_clip, 0.0, 0.5, "in (0, 0.5)")?;
        if self.n_obs <= k {
            return Err(CausalError::TooFewObservations { n: self.n_obs, k });
        }
        check_arms(
            self.n_treated,
            self.n_obs.saturating_sub(self.n_treated),
            1,
            String::new(),
        )?;
        if self.n_treated > self.n_obs || self.clipped > self.n_obs {
            return Err(CoreError::OutOfRange {
                field: "counts",
                value: self.clipped.max(self.n_treated) as f64,
                expected: "n_treated and clipped <= n_obs",
            }
            .into());
        }
        if let Some(b) = &self.bootstrap {
            check_shape("bootstrap intervals", &[k], &[b.coefficients.len()])?;
            check_size("bootstrap replications", b.replications, MAX_BOOTSTRAP)?;
            if b.failed > b.replications {
                return Err(CoreError::OutOfRange {
                    field: "bootstrap failed",
                    value: b.failed as f64,
                    expected: "<= replications",
                }
                .into());
            }
            for &(lo, hi) in b.coefficients.iter().chain(std::iter::once(&b.ate)) {
                check_finite("bootstrap interval", &[lo, hi])?;
                if lo > hi {
                    return Err(CoreError::OutOfRange {
                        field: "bootstrap interval",
                        value: lo,
                        expected: "lower <= upper",
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Number of covariates.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Observations fitted.
    pub fn n_obs(&self) -> usize {
        self.n_obs
    }

    /// Treated units among them.
    pub fn n_treated(&self) -> usize {
        self.n_treated
    }

    /// Units whose out-of-fold propensity was clipped.
    pub fn clipped(&self) -> usize {
        self.clipped
    }

    /// The propensity clip `c` used.
    pub fn propensity_clip(&self) -> f64 {
        self.propensity_clip
    }

    /// How the fit ended: [`Status::Converged`]; [`Status::ReducedAccuracy`] when some
    /// propensities were clipped (limited overlap, quasi-separation) or the final design is
    /// nearly collinear; [`Status::Separation`] (complete) when the out-of-fold
    /// propensities separate the arms (every treated unit scores above every control, or
    /// every propensity was clipped): there is no overlap, and the effect rests on
    /// extrapolation and the clip, not on comparable units.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The CATE coefficients `[β₀, β₁, …]` (intercept first) with their inference.
    pub fn coefficients(&self) -> Vec<Estimate> {
        let k = self.coefficients.len();
        (0..k)
            .map(|j| {
                let se = self.std_errors[j];
                Estimate::normal(self.coefficients[j], se).unwrap_or(Estimate {
                    estimate: self.coefficients[j],
                    std_error: se,
                    lower: f64::MIN,
                    upper: f64::MAX,
                    p_value: 1.0,
                })
            })
            .collect()
    }

    /// The raw coefficients (intercept first).
    pub fn coefficient_values(&self) -> &[f64] {
        &self.coefficients
    }

    /// The coefficients' covariance (k × k); `None` when an entry overflows `f64`.
    pub fn covariance(&self) -> Option<Array2<f64>> {
        let k = self.coefficients.len();
        let se = &self.std_errors;
        let c = Array2::from_shape_fn((k, k), |(i, j)| se[i] * self.correlation[i * k + j] * se[j]);
        c.iter().all(|v| v.is_finite()).then_some(c)
    }

    /// The coefficients' correlation matrix (k × k).
    pub fn correlation(&self) -> Array2<f64> {
        let k = self.coefficients.len();
        Array2::from_shape_fn((k, k), |(i, j)| self.correlation[i * k + j])
    }

    /// The population average effect: `mean(ψ)` with standard error `sd(ψ)/√n`.
    pub fn ate(&self) -> Estimate {
        self.ate
    }

    /// The average effect given the sample's covariates: the CATE at their mean with the
    /// final-stage standard error (EconML's `ate_inference`).
    pub fn ate_given_x(&self) -> Estimate {
        self.ate_given_x
    }

    /// Bootstrap intervals, when asked for.
    pub fn bootstrap(&self) -> Option<&BootstrapIntervals> {
        self.bootstrap.as_ref()
    }

    /// The CATE at one point `x` (length `n_features`) with its inference.
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] for a wrong length, [`CoreError::NonFinite`] for a
    /// non-finite value, [`CausalError::Overflow`] when the estimate overflows.
    pub fn cate_row(&self, x: &[f64]) -> CausalResult<Estimate> {
        check_shape("x", &[self.n_features], &[x.len()])?;
        check_finite("x", x)?;
        let k = self.n_features + 1;
        let mut phi = [0.0f64; 64];
        let mut heap;
        let phi: &mut [f64] = if k <= 64 {
            &mut phi[..k]
        } else {
            heap = vec![0.0; k];
            &mut heap
        };
        phi[0] = 1.0;
        phi[1..].copy_from_slice(x);
        linear_estimate(&self.coefficients, &self.std_errors, &self.correlation, phi)
    }

    /// The CATE at every row of `x` (m × `n_features`).
    ///
    /// # Errors
    /// As [`Self::cate_row`].
    pub fn cate(&self, x: ArrayView2<'_, f64>) -> CausalResult<Vec<Estimate>> {
        check_shape("x columns", &[self.n_features], &[x.ncols()])?;
        let mut row = vec![0.0; self.n_features];
        x.rows()
            .into_iter()
            .map(|r| {
                row.iter_mut().zip(r.iter()).for_each(|(a, b)| *a = *b);
                self.cate_row(&row)
            })
            .collect()
    }
}

fn check_correlation(se: &[f64], c: &[f64], k: usize) -> CausalResult<()> {
    if let Some(&v) = se.iter().find(|v| **v < 0.0) {
        return Err(CoreError::OutOfRange {
            field: "std_errors",
            value: v,
            expected: ">= 0",
        }
        .into());
    }
    for i in 0..k {
        if c[i * k + i] != 1.0 {
            return Err(CoreError::OutOfRange {
                field: "correlation diagonal",
                value: c[i * k + i],
                expected: "1",
            }
            .into());
        }
        for j in i + 1..k {
            let (a, b) = (c[i * k + j], c[j * k + i]);
            if a != b {
                return Err(CoreError::NotSymmetric {
                    field: "correlation",
                    row: i,
                    col: j,
                    diff: (a - b).abs(),
                }
                .into());
            }
            if a.abs() > 1.0 {
                return Err(CoreError::OutOfRange {
                    field: "correlation",
                    value: a,
                    expected: "in [-1, 1]",
                }
                .into());
            }
        }
    }
    Ok(())
}
