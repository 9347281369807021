//! Change detection on a cross-section of assets: two features per day from the whole
//! panel of returns instead of one index series.
//!
//! A volatility regime moves every asset at once, so one day of a panel says much more
//! about it than one day of an index. Feeding all `n` asset returns to BOCPD as
//! independent features over-counts that evidence (their common factor is counted `n`
//! times) and raises false alarms. [`PanelFeatures`] reduces a day's returns
//! `r_1 … r_n` to two nearly independent features:
//!
//! 1. the **equal-weight return** `m = (1/n) Σ r_i`, which carries the common factor;
//! 2. the **log cross-sectional dispersion** `d = ln s`, with
//!    `s² = Σ (r_i − m)² / (n − 1)`, which carries the idiosyncratic volatility level.
//!
//! For Gaussian returns the sample mean and sample variance are independent (Cochran's
//! theorem), and `ln s` is close to Normal with variance `≈ 1/(2(n − 1))` around the log
//! of the cross-sectional volatility (delta method on `s² ~ σ² χ²_{n−1}/(n − 1)`). A
//! volatility regime that multiplies every asset's volatility by `c` shifts `d` by
//! `ln c` — for a move from 0.8 %/day to 2.5 %/day that is `ln 3.1 ≈ 1.14`, about five
//! standard deviations of `d` with ten assets — so a single day already separates the
//! regimes, where the index return needs several.
//!
//! [`market_panel_config`] builds the matching [`BocpdConfig`]: a Normal–Gamma model on
//! `d` whose prior is vague about the level (`μ = 0`, `κ = 10⁻³`) and centred on the
//! delta-method noise (`α = 1`, `β = 1/(2(n − 1))`), and a Normal–Gamma model on `m` with
//! a mean known to be near zero (`κ = 100`) and a scale of 1 %/day, at the default hazard
//! (expected run length 250) and detection rule.
//!
//! ## Example
//! ```
//! use prudentia_regime::bocpd::Bocpd;
//! use prudentia_regime::panel::{market_panel_config, PanelFeatures};
//!
//! # fn main() -> Result<(), prudentia_regime::RegimeError> {
//! let n_assets = 8;
//! let mut detector = Bocpd::new(market_panel_config(n_assets)?)?;
//! let mut features = PanelFeatures::new(n_assets)?;
//! let mut signals = Vec::new();
//! for t in 0..400u64 {
//!     // volatility triples at t = 200; a deterministic spread of returns as noise
//!     let vol = if t < 200 { 0.008 } else { 0.024 };
//!     let day: Vec<f64> = (0..n_assets as u64)
//!         .map(|i| vol * (((t * 31 + i * 17) % 13) as f64 / 6.0 - 1.0))
//!         .collect();
//!     let step = detector.update(features.compute(&day)?)?;
//!     if step.changed {
//!         signals.push(step.index);
//!     }
//! }
//! assert!(signals.iter().any(|&t| (200..210).contains(&t)));
//! # Ok(()) }
//! ```

use prudentia_core::validate::{check_finite, check_size, MAX_DIM};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::bocpd::{BocpdConfig, NormalGammaPrior, ObservationModel};
use crate::RegimeResult;

/// Turns one day's cross-section of returns into `[log dispersion, equal-weight return]`,
/// the two features [`market_panel_config`] models. Holds its output buffer, so
/// [`compute`](Self::compute) does not allocate. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PanelFeatures {
    n_assets: usize,
    out: [f64; 2],
}
prudentia_core::checked_serde!(PanelFeatures, PanelFeatures::check);

impl PanelFeatures {
    /// Features for a panel of `n_assets` returns per day.
    ///
    /// # Errors
    /// [`CoreError::OutOfRange`] when `n_assets < 2` (one asset has no dispersion),
    /// [`CoreError::TooLarge`] beyond `MAX_DIM` (65,536).
    pub fn new(n_assets: usize) -> RegimeResult<Self> {
        check_assets(n_assets)?;
        Ok(Self {
            n_assets,
            out: [0.0; 2],
        })
    }

    fn check(&mut self) -> Result<(), CoreError> {
        check_assets(self.n_assets)?;
        check_finite("panel.out", &self.out)
    }

    /// Number of assets per day.
    pub fn n_assets(&self) -> usize {
        self.n_assets
    }

    /// `[ln s, m]` for one day's returns (see the [module docs](self)).
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] when `returns.len()` is not `n_assets`;
    /// [`CoreError::NonFinite`] for a NaN or infinite return;
    /// [`CoreError::OutOfRange`] (field `panel.dispersion`) when every return is equal,
    /// so the log dispersion is `−∞` (a frozen or stale feed; repair belongs to defense).
    pub fn compute(&mut self, returns: &[f64]) -> RegimeResult<&[f64]> {
        if returns.len() != self.n_assets {
            return Err(CoreError::ShapeMismatch {
                field: "panel.returns",
                expected: vec![self.n_assets],
                found: vec![returns.len()],
            }
            .into());
        }
        check_finite("panel.returns", returns)?;
        let n = returns.len() as f64;
        // returns beyond 1e±100 are rescaled by their largest magnitude so that squares
        // neither overflow nor underflow: ln s = ln scale + ln s(r / scale)
        let big = returns.iter().fold(0.0_f64, |m, r| m.max(r.abs()));
        let scale = if big > 1e100 || (big > 0.0 && big < 1e-100) {
            big
        } else {
            1.0
        };
        let mean_scaled = returns.iter().map(|r| r / scale).sum::<f64>() / n;
        let ss = returns
            .iter()
            .map(|r| (r / scale - mean_scaled) * (r / scale - mean_scaled))
            .sum::<f64>();
        let var = ss / (n - 1.0);
        if !(var > 0.0 && var.is_finite()) {
            return Err(CoreError::OutOfRange {
                field: "panel.dispersion",
                value: var,
                expected: "> 0: the returns of one day must not all be equal",
            }
            .into());
        }
        self.out = [0.5 * var.ln() + scale.ln(), mean_scaled * scale];
        Ok(&self.out)
    }
}

/// The BOCPD configuration for [`PanelFeatures`] on `n_assets` assets: the priors of the
/// [module docs](self), default hazard, truncation and detection rule.
///
/// # Errors
/// [`CoreError::OutOfRange`] when `n_assets < 2`.
pub fn market_panel_config(n_assets: usize) -> RegimeResult<BocpdConfig> {
    check_assets(n_assets)?;
    let dispersion = NormalGammaPrior {
        mu: 0.0,
        kappa: 1e-3,
        alpha: 1.0,
        beta: 1.0 / (2.0 * (n_assets as f64 - 1.0)),
    };
    let market = NormalGammaPrior {
        mu: 0.0,
        kappa: 100.0,
        alpha: 1.0,
        beta: 1e-4,
    };
    Ok(BocpdConfig {
        features: vec![
            ObservationModel::NormalGamma(dispersion),
            ObservationModel::NormalGamma(market),
        ],
        ..BocpdConfig::default()
    })
}

fn check_assets(n_assets: usize) -> Result<(), CoreError> {
    if n_assets < 2 {
        return Err(CoreError::OutOfRange {
            field: "panel.n_assets",
            value: n_assets as f64,
            expected: ">= 2",
        });
    }
    check_size("panel.n_assets", n_assets, MAX_DIM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_match_their_definition() {
        let mut f = PanelFeatures::new(4).unwrap();
        let r = [0.01, -0.02, 0.03, 0.0];
        let out = f.compute(&r).unwrap().to_vec();
        let m = 0.005;
        let s2 = ((0.005f64).powi(2) + 0.025f64.powi(2) + 0.025f64.powi(2) + 0.005f64.powi(2)) / 3.0;
        assert!((out[0] - 0.5 * s2.ln()).abs() < 1e-14);
        assert!((out[1] - m).abs() < 1e-15);
    }

    #[test]
    fn bad_panels_are_typed_errors() {
        assert!(PanelFeatures::new(1).is_err());
        assert!(market_panel_config(0).is_err());
        let mut f = PanelFeatures::new(3).unwrap();
        assert!(matches!(
            f.compute(&[0.1, 0.2]),
            Err(crate::RegimeError::Core(CoreError::ShapeMismatch { .. }))
        ));
        assert!(matches!(
            f.compute(&[0.1, f64::NAN, 0.2]),
            Err(crate::RegimeError::Core(CoreError::NonFinite { .. }))
        ));
        assert!(matches!(
            f.compute(&[0.01, 0.01, 0.01]),
            Err(crate::RegimeError::Core(CoreError::OutOfRange {
                field: "panel.dispersion",
                ..
            }))
        ));
        // still usable after an error
        assert!(f.compute(&[0.01, 0.02, 0.0]).is_ok());
    }

    #[test]
    fn config_validates_and_has_two_features() {
        let c = market_panel_config(10).unwrap();
        c.validate().unwrap();
        assert_eq!(c.features.len(), 2);
    }
}
