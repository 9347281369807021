//! Forecasters with known bias and noise over a [`SyntheticMarket`], so that calibration has
//! something to fix.
//!
//! For day `t` and asset `i` a forecaster with spec `(b, s_n, c)` ([`ForecasterSpec`]) says
//!
//! - mean `m̂_{t,i} = μ_{t,i} + b + s_n e_{t,i}`, `e_{t,i} ~ N(0, 1)` i.i.d.,
//! - sigma `σ̂_{t,i} = c σ_{t,i}`,
//!
//! where `μ`, `σ` are the market's [`true_mean`](SyntheticMarket::true_mean) and
//! [`true_sigma`](SyntheticMarket::true_sigma). The forecast error `r − m̂` then has mean `−b`
//! and standard deviation `sqrt(σ² + s_n²)`, so a calibrated sigma would be
//! `sqrt(σ² + s_n²)`; with `c < 1` the forecaster is over-confident and its `z`-scores
//! `(r − m̂)/σ̂` have standard deviation `sqrt(σ² + s_n²) / (c σ) > 1`.
//! Noise `e` is drawn from `ChaCha8Rng::seed_from_u64(seed)` row by row (day-major).

use ndarray::Array2;
use prudentia_core::{AssetInfo, CoreError, Forecast, Horizon, Opportunity};
use serde::{Deserialize, Serialize};

use crate::error::DatasetResult;
use crate::synthetic::{seeded_rng, std_normal, SyntheticMarket};

/// How a synthetic forecaster distorts the truth. Deserialization runs
/// [`validate`](Self::validate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ForecasterSpec {
    /// Additive bias `b` of the mean (daily decimal return; `|b| ≤ 1`). Default 0.
    pub bias: f64,
    /// Standard deviation `s_n` of the mean's noise (daily decimal; in `[0, 1]`). Default 5e-4.
    pub noise_sd: f64,
    /// Ratio `c` of the stated sigma to the true sigma (in `[1e-3, 1e3]`; `< 1` =
    /// over-confident). Default 0.5.
    pub sigma_scale: f64,
    /// Seed of the noise (default 7).
    pub seed: u64,
}

prudentia_core::checked_serde!(ForecasterSpec, ForecasterSpec::check);

impl Default for ForecasterSpec {
    /// [`ForecasterSpec::overconfident`].
    fn default() -> Self {
        Self::overconfident()
    }
}

impl ForecasterSpec {
    /// Naive forecaster: unbiased, mean noise 5 bps/day, but states half the true sigma.
    pub fn overconfident() -> Self {
        Self {
            bias: 0.0,
            noise_sd: 5e-4,
            sigma_scale: 0.5,
            seed: 7,
        }
    }

    /// Optimistic forecaster: mean 10 bps/day too high, noise 5 bps/day, true sigma.
    pub fn biased() -> Self {
        Self {
            bias: 1e-3,
            noise_sd: 5e-4,
            sigma_scale: 1.0,
            seed: 11,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`CoreError::NonFinite`] for a non-finite bias, [`CoreError::OutOfRange`] for
    /// `noise_sd < 0` or `sigma_scale ≤ 0` (NaN included), and for values outside the
    /// documented ranges (which keep every forecast finite with sigma > 0).
    pub fn validate(&self) -> DatasetResult<()> {
        prudentia_core::validate::check_finite("bias", &[self.bias])?;
        prudentia_core::validate::check_non_negative("noise_sd", self.noise_sd)?;
        prudentia_core::validate::check_positive("sigma_scale", self.sigma_scale)?;
        prudentia_core::validate::check_range("bias", self.bias, -1.0, 1.0, "in [-1, 1]")?;
        prudentia_core::validate::check_range("noise_sd", self.noise_sd, 0.0, 1.0, "in [0, 1]")?;
        prudentia_core::validate::check_range("sigma_scale", self.sigma_scale, 1e-3, 1e3, "in [1e-3, 1e3]")?;
        Ok(())
    }

    fn check(&mut self) -> DatasetResult<()> {
        self.validate()
    }
}

/// Forecasts for every day and asset of a market (`T × n`, like its returns).
///
/// Deserialization checks the spec, equal shapes, finite means and sigmas > 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ForecastPanel {
    /// The spec that produced it.
    pub spec: ForecasterSpec,
    /// Forecast means `m̂` (daily, decimal).
    pub mean: Array2<f64>,
    /// Stated sigmas `σ̂` (daily, decimal, > 0).
    pub sigma: Array2<f64>,
}

prudentia_core::checked_serde!(ForecastPanel, ForecastPanel::check);

impl ForecastPanel {
    fn check(&mut self) -> DatasetResult<()> {
        use prudentia_core::validate::{check_finite_iter, check_shape};
        self.spec.validate()?;
        check_shape("sigma", self.mean.shape(), self.sigma.shape())?;
        check_finite_iter("mean", self.mean.iter())?;
        if let Some(&s) = self.sigma.iter().find(|&&s| !(s.is_finite() && s > 0.0)) {
            return Err(CoreError::OutOfRange {
                field: "sigma",
                value: s,
                expected: "finite and > 0",
            }
            .into());
        }
        Ok(())
    }

    /// The forecast for day `t`, asset `i` as a core [`Forecast`] over one day.
    ///
    /// # Errors
    /// [`CoreError::OutOfRange`] if `(t, i)` is out of bounds.
    pub fn forecast(&self, t: usize, i: usize) -> DatasetResult<Forecast> {
        let (m, s) = match (self.mean.get([t, i]), self.sigma.get([t, i])) {
            (Some(&m), Some(&s)) => (m, s),
            _ => {
                return Err(CoreError::OutOfRange {
                    field: "(t, i)",
                    value: t.max(i) as f64,
                    expected: "a day and asset inside the panel",
                }
                .into())
            }
        };
        Ok(Forecast::new(m, s, Horizon::DAY)?)
    }
}

impl SyntheticMarket {
    /// Forecasts with known bias and noise (see the [module docs](crate::forecast)).
    ///
    /// # Errors
    /// Any error of [`ForecasterSpec::validate`].
    pub fn forecasts(&self, spec: &ForecasterSpec) -> DatasetResult<ForecastPanel> {
        spec.validate()?;
        let mut rng = seeded_rng(spec.seed);
        let mut mean = self.true_mean.clone();
        for m in mean.iter_mut() {
            *m += spec.bias + spec.noise_sd * std_normal(&mut rng);
        }
        let sigma = self.true_sigma.mapv(|s| s * spec.sigma_scale);
        Ok(ForecastPanel {
            spec: *spec,
            mean,
            sigma,
        })
    }

    /// The opportunities of a decision for day `t`: each asset priced at the close of day
    /// `t − 1` (as in [`snapshot_before`](SyntheticMarket::snapshot_before)) with the panel's
    /// forecast for day `t`'s return (row `t`). Their outcome is row `t` of
    /// [`returns`](SyntheticMarket::returns).
    ///
    /// # Errors
    /// [`CoreError::OutOfRange`] if `t` is past the end of the market or the panel;
    /// [`CoreError::ShapeMismatch`] if the panel does not have one column per asset.
    pub fn opportunities_for(&self, t: usize, panel: &ForecastPanel) -> DatasetResult<Vec<Opportunity>> {
        prudentia_core::validate::check_shape(
            "panel",
            &[self.n_days(), self.n_assets()],
            panel.mean.shape(),
        )?;
        let prices = self.prices_before(t).ok_or(CoreError::OutOfRange {
            field: "t",
            value: t as f64,
            expected: "a day of the market",
        })?;
        self.assets
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let price = prices.get(i).copied().ok_or_else(|| CoreError::ShapeMismatch {
                    field: "prices",
                    expected: vec![self.n_assets()],
                    found: vec![prices.len()],
                })?;
                Ok(Opportunity {
                    asset: AssetInfo { price, ..a.clone() },
                    forecast: panel.forecast(t, i)?,
                })
            })
            .collect()
    }
}
