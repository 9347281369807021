//! Instrumental variables: two-stage least squares with homoskedastic and robust standard
//! errors, the first-stage F statistic and partial R², and a weak-instrument status.
//!
//! One endogenous treatment `d`, instruments `z` (n × q, q ≥ 1), exogenous controls `w`
//! (n × r, optional) and an intercept: with `X = [1, d, w]` and `Z = [1, w, z]`,
//! `X̂ = Z (ZᵀZ)⁻¹ ZᵀX` and `β = (X̂ᵀX̂)⁻¹ X̂ᵀy`; residuals `e = y − Xβ` use the observed
//! treatment. Covariances (as linearmodels' `IV2SLS`, Wooldridge 2010, *Econometric Analysis
//! of Cross Section and Panel Data*, §5.2):
//!
//! | [`IvCovariance`] | covariance |
//! |---|---|
//! | `Homoskedastic` | `σ̂² (X̂ᵀX̂)⁻¹`, `σ̂² = eᵀe / n` (linearmodels `unadjusted`) |
//! | `Robust` | `(X̂ᵀX̂)⁻¹ (Σ eᵢ² x̂ᵢx̂ᵢᵀ) (X̂ᵀX̂)⁻¹` (HC0, linearmodels `robust`) |
//!
//! With [`TwoSlsConfig::small_sample`] both are multiplied by `n / (n − k)` (σ̂² over
//! `n − k`; HC1; linearmodels `debiased=True`). Inference is normal, as linearmodels'.
//!
//! **First stage.** `F = ((RSS_r − RSS_u)/q) / (RSS_u/(n − l))` compares the regression of
//! `d` on `[1, w, z]` (`l` columns) with that on `[1, w]`; the partial R² is
//! `1 − RSS_u / RSS_r`. Below [`TwoSlsConfig::weak_threshold`] (default 10, the rule of
//! thumb of Staiger & Stock 1997, *Econometrica* 65, "Instrumental variables regression with
//! weak instruments": with F < 10 the 2SLS bias relative to OLS can exceed ~10% and
//! the nominal intervals undercover) the fit reports [`InstrumentStrength::Weak`]. An
//! instrument set that explains none of the treatment is an error
//! ([`CausalError::Unidentified`]).

// index loops over parallel arrays read best as such
#![allow(clippy::needless_range_loop)]

use ndarray::{ArrayView1, ArrayView2};
use prudentia_core::validate::{
    check_elements, check_finite_1d, check_finite_2d, check_len, check_probability, check_shape, check_size,
    MAX_DIM, MAX_ELEMENTS, MAX_WINDOW,
};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use crate::error::{CausalError, CausalResult};
use crate::estimate::Estimate;
use crate::linalg::{dot, pow2_scale, sandwich, Cholesky, Design};

/// Standard errors of a 2SLS fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IvCovariance {
    /// Homoskedastic errors.
    Homoskedastic,
    /// Heteroskedasticity-robust (HC0; HC1 with `small_sample`).
    #[default]
    Robust,
}

/// Settings of two-stage least squares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct TwoSlsConfig {
    /// Which standard errors. Default [`IvCovariance::Robust`].
    pub covariance: IvCovariance,
    /// Multiply the covariance by `n / (n − k)`. Default `false`.
    pub small_sample: bool,
    /// First-stage F below which the instruments are weak; finite and > 0, default 10.
    pub weak_threshold: f64,
}
prudentia_core::checked_serde!(TwoSlsConfig, TwoSlsConfig::validate);

impl Default for TwoSlsConfig {
    fn default() -> Self {
        Self {
            covariance: IvCovariance::Robust,
            small_sample: false,
            weak_threshold: 10.0,
        }
    }
}

impl TwoSlsConfig {
    /// Checks the settings.
    pub fn validate(&self) -> CausalResult<()> {
        if !(self.weak_threshold.is_finite() && self.weak_threshold > 0.0) {
            return Err(CoreError::OutOfRange {
                field: "weak_threshold",
                value: self.weak_threshold,
                expected: "finite and > 0",
            }
            .into());
        }
        Ok(())
    }

    /// Fits the model (see the [module docs](self)).
    ///
    /// # Errors
    /// Bad input ([`CausalError::Core`]: lengths, non-finite values, sizes), too few
    /// observations, collinear instruments and controls ([`CausalError::Collinear`]), an
    /// instrument set uncorrelated with the treatment ([`CausalError::Unidentified`]),
    /// results beyond `f64` ([`CausalError::Overflow`]). A weak instrument is a status.
    ///
    /// ```
    /// use prudentia_causal::iv::{InstrumentStrength, IvData, TwoSlsConfig};
    /// let s = prudentia_datasets::iv_dataset(2_000, 1.0, 3).unwrap();
    /// let z = s.instrument.view().insert_axis(ndarray::Axis(1));
    /// let fit = TwoSlsConfig::default()
    ///     .fit(&IvData::new(s.outcome.view(), s.treatment.view(), z))
    ///     .unwrap();
    /// assert!(fit.effect.lower < 0.5 && 0.5 < fit.effect.upper);
    /// assert_eq!(fit.strength, InstrumentStrength::Strong);
    /// ```
    pub fn fit(&self, data: &IvData<'_>) -> CausalResult<TwoSlsFit> {
        fit_2sls(self, data)
    }
}

/// The data of an IV regression.
#[derive(Debug, Clone, Copy)]
pub struct IvData<'a> {
    /// Outcome `y` (n).
    pub outcome: ArrayView1<'a, f64>,
    /// Endogenous treatment `d` (n).
    pub treatment: ArrayView1<'a, f64>,
    /// Instruments `z` (n × q, q ≥ 1).
    pub instruments: ArrayView2<'a, f64>,
    /// Exogenous controls `w` (n × r), if any.
    pub controls: Option<ArrayView2<'a, f64>>,
}

impl<'a> IvData<'a> {
    /// Outcome, treatment and instruments, no controls.
    pub fn new(
        outcome: ArrayView1<'a, f64>,
        treatment: ArrayView1<'a, f64>,
        instruments: ArrayView2<'a, f64>,
    ) -> Self {
        Self {
            outcome,
            treatment,
            instruments,
            controls: None,
        }
    }

    /// With exogenous controls.
    pub fn with_controls(mut self, controls: ArrayView2<'a, f64>) -> Self {
        self.controls = Some(controls);
        self
    }
}

/// Whether the instruments are strong enough for the usual inference. Deserialization
/// checks a finite, non-negative F below a finite, positive threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum InstrumentStrength {
    /// First-stage F at or above the threshold.
    Strong,
    /// First-stage F below the threshold: the estimate is biased towards OLS and its
    /// interval undercovers; use weak-instrument-robust inference (Anderson–Rubin).
    Weak {
        /// The first-stage F.
        f_stat: f64,
        /// The threshold it fell below.
        threshold: f64,
    },
}

impl InstrumentStrength {
    fn check(&mut self) -> CausalResult<()> {
        if let InstrumentStrength::Weak { f_stat, threshold } = *self {
            if !(threshold.is_finite() && threshold > 0.0) {
                return Err(CoreError::OutOfRange {
                    field: "weak threshold",
                    value: threshold,
                    expected: "finite and > 0",
                }
                .into());
            }
            if !(f_stat >= 0.0 && f_stat < threshold) {
                return Err(CoreError::OutOfRange {
                    field: "weak first-stage F",
                    value: f_stat,
                    expected: "in [0, threshold)",
                }
                .into());
            }
        }
        Ok(())
    }
}
prudentia_core::checked_serde!(InstrumentStrength, InstrumentStrength::check);

/// The first-stage regression of the treatment on the instruments and controls.
/// Deserialization checks a finite, non-negative F, a p-value and a partial R² in [0, 1],
/// and degrees of freedom of at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct FirstStage {
    /// F statistic of "all instrument coefficients are 0" (homoskedastic).
    pub f_stat: f64,
    /// Its p-value, from `F(q, n − l)`.
    pub f_pvalue: f64,
    /// Numerator degrees of freedom `q` (instruments).
    pub df_num: usize,
    /// Denominator degrees of freedom `n − l`.
    pub df_den: usize,
    /// Partial R² of the instruments.
    pub partial_r2: f64,
}
prudentia_core::checked_serde!(FirstStage, FirstStage::check);

impl FirstStage {
    fn check(&mut self) -> CausalResult<()> {
        if !(self.f_stat.is_finite() && self.f_stat >= 0.0) {
            return Err(CoreError::OutOfRange {
                field: "first-stage F",
                value: self.f_stat,
                expected: "finite and >= 0",
            }
            .into());
        }
        check_probability("first-stage F p-value", self.f_pvalue)?;
        check_probability("partial R2", self.partial_r2)?;
        check_len("first-stage df_num", self.df_num, 1)?;
        check_len("first-stage df_den", self.df_den, 1)?;
        check_size("first-stage df_num", self.df_num, MAX_DIM)?;
        check_size("first-stage df_den", self.df_den, MAX_WINDOW)?;
        Ok(())
    }
}

/// A 2SLS fit. Deserialization validates it: 2 to `MAX_DIM + 2` coefficients, the effect
/// equal to the treatment's coefficient, the observations equal to the first stage's
/// degrees of freedom plus its columns, a weak status that agrees with the first-stage F.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct TwoSlsFit {
    /// The treatment's effect (the coefficient of `d`).
    pub effect: Estimate,
    /// All coefficients: intercept, treatment, then one per control.
    pub coefficients: Vec<Estimate>,
    /// The first stage.
    pub first_stage: FirstStage,
    /// Weak-instrument status.
    pub strength: InstrumentStrength,
    /// Observations.
    pub n_obs: usize,
}
prudentia_core::checked_serde!(TwoSlsFit, TwoSlsFit::check);

impl TwoSlsFit {
    fn check(&mut self) -> CausalResult<()> {
        let k = self.coefficients.len();
        check_len("coefficients", k, 2)?;
        check_size("coefficients", k, MAX_DIM + 2)?;
        if self.effect != self.coefficients[1] {
            return Err(CoreError::OutOfRange {
                field: "effect",
                value: self.effect.estimate,
                expected: "the treatment's coefficient",
            }
            .into());
        }
        // n = (n − l) + l with l = 1 + controls + instruments = (k − 1) + q
        let fs = &self.first_stage;
        let n = fs
            .df_den
            .checked_add(k - 1)
            .and_then(|v| v.checked_add(fs.df_num));
        if n != Some(self.n_obs) {
            return Err(CoreError::ShapeMismatch {
                field: "n_obs",
                expected: vec![n.unwrap_or(usize::MAX)],
                found: vec![self.n_obs],
            }
            .into());
        }
        if let InstrumentStrength::Weak { f_stat, .. } = self.strength {
            if f_stat != fs.f_stat {
                return Err(CoreError::OutOfRange {
                    field: "weak first-stage F",
                    value: f_stat,
                    expected: "the first stage's F",
                }
                .into());
            }
        }
        Ok(())
    }
}

fn fit_2sls(config: &TwoSlsConfig, data: &IvData<'_>) -> CausalResult<TwoSlsFit> {
    config.validate()?;
    let (n, q, r) = check_iv_data(data)?;
    let k = 2 + r;
    let l = 1 + r + q;
    if n <= l {
        return Err(CausalError::TooFewObservations { n, k: l });
    }

    let d2 = data.treatment.insert_axis(ndarray::Axis(1));
    let w = data.controls;
    let mut xb = vec![d2];
    let mut zb = Vec::new();
    let mut wb = Vec::new();
    if let Some(w) = w {
        xb.push(w);
        zb.push(w);
        wb.push(w);
    }
    zb.push(data.instruments);
    let x = Design::new(n, true, &xb);
    let z = Design::new(n, true, &zb);
    let wd = Design::new(n, true, &wb);
    let sy = pow2_scale(data.outcome.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    let y: Vec<f64> = data.outcome.iter().map(|v| v / sy).collect();

    let zz = z.cross(&z);
    let cz = Cholesky::new(&zz, l).map_err(|column| CausalError::Collinear {
        what: "instruments and controls",
        column,
    })?;
    let first_stage = first_stage(&x, &z, &wd, &cz, q)?;
    let partial_r2 = first_stage.partial_r2;
    let f_stat = first_stage.f_stat;
    let (xhat, ca) = projected_design(&x, &z, &cz).ok_or(CausalError::Unidentified { partial_r2 })?;
    let mut beta: Vec<f64> = (0..k).map(|c| dot(&xhat[c * n..(c + 1) * n], &y)).collect();
    ca.solve(&mut beta);
    let mut fitted = vec![0.0; n];
    x.mul(&beta, &mut fitted);
    let e: Vec<f64> = y.iter().zip(&fitted).map(|(a, b)| a - b).collect();
    let cov = second_stage_covariance(config, &ca, &xhat, &e);
    let mut coefficients = Vec::with_capacity(k);
    for c in 0..k {
        let f = sy / x.scale[c];
        let b = beta[c] * f;
        let se = cov[c * k + c].max(0.0).sqrt() * f;
        if !(b.is_finite() && se.is_finite()) {
            return Err(CausalError::Overflow {
                what: "2SLS coefficients",
            });
        }
        coefficients.push(Estimate::normal(b, se)?);
    }
    let strength = if f_stat < config.weak_threshold {
        InstrumentStrength::Weak {
            f_stat,
            threshold: config.weak_threshold,
        }
    } else {
        InstrumentStrength::Strong
    };
    Ok(TwoSlsFit {
        effect: coefficients[1],
        coefficients,
        first_stage,
        strength,
        n_obs: n,
    })
}

/// Checks the sizes and values of the data: `(n, q, r)`, the observations, instruments and
/// controls.
fn check_iv_data(data: &IvData<'_>) -> CausalResult<(usize, usize, usize)> {
    let n = data.outcome.len();
    check_len("outcome", n, 1)?;
    check_size("outcome", n, MAX_WINDOW)?;
    let q = data.instruments.ncols();
    check_len("instruments (columns)", q, 1)?;
    let r = data.controls.map_or(0, |w| w.ncols());
    check_size("instruments (columns)", q, MAX_DIM)?;
    check_size("controls (columns)", r, MAX_DIM)?;
    check_elements("instruments and controls", &[n, q + r + 2], MAX_ELEMENTS)?;
    check_shape("treatment", &[n], &[data.treatment.len()])?;
    check_shape("instruments (rows)", &[n], &[data.instruments.nrows()])?;
    if let Some(w) = data.controls {
        check_shape("controls (rows)", &[n], &[w.nrows()])?;
        check_finite_2d("controls", w)?;
    }
    check_finite_1d("outcome", data.outcome)?;
    check_finite_1d("treatment", data.treatment)?;
    check_finite_2d("instruments", data.instruments)?;
    Ok((n, q, r))
}

/// The first stage: the treatment (column 1 of `x`) on `[1, w, z]` (`z`, factored in `cz`)
/// against `[1, w]` (`wd`), with `q` instruments: partial R², F statistic and its p-value.
fn first_stage(x: &Design, z: &Design, wd: &Design, cz: &Cholesky, q: usize) -> CausalResult<FirstStage> {
    let n = x.n;
    let l = z.k;
    let dcol = x.col(1).to_vec();
    let rss = |des: &Design, chol: &Cholesky| -> f64 {
        let mut b = des.t_mul(&dcol);
        chol.solve(&mut b);
        let mut fit = vec![0.0; n];
        des.mul(&b, &mut fit);
        dcol.iter().zip(&fit).map(|(a, f)| (a - f) * (a - f)).sum()
    };
    let rss_u = rss(z, cz);
    let ww = wd.cross(wd);
    let cw = Cholesky::new(&ww, wd.k).map_err(|column| CausalError::Collinear {
        what: "controls",
        column,
    })?;
    let rss_r = rss(wd, &cw);
    let partial_r2 = if rss_r > 0.0 {
        (1.0 - rss_u / rss_r).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let df_den = n - l;
    if partial_r2.is_nan() || partial_r2 <= 1e-12 {
        return Err(CausalError::Unidentified { partial_r2 });
    }
    let f_stat = if rss_u > 0.0 {
        ((rss_r - rss_u) / q as f64) / (rss_u / df_den as f64)
    } else {
        f64::MAX
    };
    let f_pvalue = FisherSnedecor::new(q as f64, df_den as f64)
        .map(|dist| dist.sf(f_stat))
        .ok()
        .filter(|p| p.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    Ok(FirstStage {
        f_stat: f_stat.min(f64::MAX),
        f_pvalue,
        df_num: q,
        df_den,
        partial_r2,
    })
}

/// `X̂ = ZΠ` with `Π = (ZᵀZ)⁻¹ZᵀX` (column-major, `n × k`) and the Cholesky factor of
/// `X̂ᵀX̂`; `None` when that is singular.
fn projected_design(x: &Design, z: &Design, cz: &Cholesky) -> Option<(Vec<f64>, Cholesky)> {
    let (n, k, l) = (x.n, x.k, z.k);
    let zx = z.cross(x); // l × k
    let mut pi = vec![0.0; l * k];
    let mut colbuf = vec![0.0; l];
    for c in 0..k {
        for i in 0..l {
            colbuf[i] = zx[i * k + c];
        }
        cz.solve(&mut colbuf);
        for i in 0..l {
            pi[i * k + c] = colbuf[i];
        }
    }
    // X̂ columns
    let mut xhat = vec![0.0; n * k];
    for c in 0..k {
        let col: Vec<f64> = (0..l).map(|i| pi[i * k + c]).collect();
        z.mul(&col, &mut xhat[c * n..(c + 1) * n]);
    }
    let xh = |c: usize| &xhat[c * n..(c + 1) * n];
    let mut a = vec![0.0; k * k];
    for i in 0..k {
        for j in i..k {
            let v = dot(xh(i), xh(j));
            a[i * k + j] = v;
            a[j * k + i] = v;
        }
    }
    let ca = Cholesky::new(&a, k).ok()?;
    Some((xhat, ca))
}

/// The second stage's covariance (scaled units, `k × k` row-major) from the factor of
/// `X̂ᵀX̂`, `X̂` and the structural residuals `e`.
fn second_stage_covariance(config: &TwoSlsConfig, ca: &Cholesky, xhat: &[f64], e: &[f64]) -> Vec<f64> {
    let n = e.len();
    let k = xhat.len() / n.max(1);
    let binv = ca.inverse();
    let correction = if config.small_sample {
        n as f64 / (n - k) as f64
    } else {
        1.0
    };
    match config.covariance {
        IvCovariance::Homoskedastic => {
            let s2 = dot(e, e) / n as f64 * correction;
            binv.iter().map(|v| v * s2).collect::<Vec<_>>()
        }
        IvCovariance::Robust => {
            let mut meat = vec![0.0; k * k];
            let mut row = vec![0.0; k];
            for i in 0..n {
                for c in 0..k {
                    row[c] = xhat[c * n + i] * e[i];
                }
                for a_ in 0..k {
                    for b_ in a_..k {
                        meat[a_ * k + b_] += row[a_] * row[b_];
                    }
                }
            }
            for a_ in 0..k {
                for b_ in 0..a_ {
                    meat[a_ * k + b_] = meat[b_ * k + a_];
                }
            }
            sandwich(&binv, &meat, k)
                .into_iter()
                .map(|v| v * correction)
                .collect()
        }
    }
}
