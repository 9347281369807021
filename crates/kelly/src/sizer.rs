//! [`KellySizer`]: the pipeline's [`Sizer`] and the governor's [`OnlineLearner`].
//!
//! `size` turns the optimizer's target weights into sized weights:
//!
//! - [`SizingMode::ScaleTarget`] (default): the optimizer decides the direction, Kelly the
//!   scale. With the target normalized to gross 1, `ŵ = w / Σ|wᵢ|`, the portfolio's
//!   one-day mean is `μ_p = Σ ŵᵢ μᵢ` and its variance `σ_p² = Σ ŵᵢ² σᵢ²` (forecast errors
//!   taken as independent across names, since the sizing context carries no covariance),
//!   with standard error `√(Σ ŵᵢ² sᵢ²)`. The single-asset composition of [`Kelly`] sizes
//!   that portfolio (`max_fraction` then caps the gross leverage); a negative scale (the
//!   target has a negative expected return) becomes 0. Sized weights are `k ŵ`.
//! - [`SizingMode::PerAsset`]: each name gets its own Kelly fraction from its forecast; a
//!   name whose forecast disagrees in sign with its target weight gets 0.
//!
//! Then, when an allocation is configured, the [`Allocator`] turns the fractions into
//! positions for the context's equity (ADV, borrow, per-name caps, lots, sector crowding)
//! and the returned weights are the allocated notionals over equity.
//!
//! `learn(&Outcome)` feeds `outcome.equity` to the drawdown governor (outcomes without an
//! equity figure are counted and skipped). `size` never learns, so a recorded decision
//! replays exactly.

use serde::{Deserialize, Serialize};

use prudentia_core::traits::{OnlineLearner, Role, RoleError, RoleResult, Sizer, SizingContext};
use prudentia_core::{AssetId, Horizon, Opportunity, Outcome, Weights};

use crate::allocation::{Allocation, AllocationConfig, AllocationItem, Allocator};
use crate::error::{check_capital, finite, KellyError, KellyResult};
use crate::governor::{DrawdownGovernor, DrawdownGovernorConfig, DrawdownState};
use crate::single::{Kelly, KellyConfig, KellyInput};

/// How the sizer combines the optimizer's weights with Kelly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SizingMode {
    /// Kelly scales the optimizer's portfolio as a whole.
    #[default]
    ScaleTarget,
    /// Kelly sizes each name from its own forecast.
    PerAsset,
}

/// Settings of a [`KellySizer`] (validated on deserialization).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default)]
pub struct KellySizerConfig {
    /// The single-asset composition (fraction, vol cap, leverage cap, shrinkage).
    pub kelly: KellyConfig,
    /// The drawdown governor.
    pub governor: DrawdownGovernorConfig,
    /// The allocation step; `None` = return the Kelly fractions without it. Default `None`.
    pub allocation: Option<AllocationConfig>,
    /// How targets and Kelly combine. Default `ScaleTarget`.
    pub mode: SizingMode,
    /// In `ScaleTarget` mode, cap the Kelly scale at the target's own gross exposure
    /// `Σ|wᵢ|`, so that Kelly only scales the optimizer's book down: the optimizer's limits
    /// (gross, per-name, sector, turnover) still hold after sizing, and a negligible target
    /// (an optimizer that wants almost nothing) stays negligible instead of being blown up
    /// to a full-size book in the direction of its rounding noise. Default `true`.
    pub cap_at_target: bool,
}

impl Default for KellySizerConfig {
    fn default() -> Self {
        Self {
            kelly: KellyConfig::default(),
            governor: DrawdownGovernorConfig::default(),
            allocation: None,
            mode: SizingMode::default(),
            cap_at_target: true,
        }
    }
}

impl KellySizerConfig {
    /// Checks every field.
    pub fn validate(&self) -> KellyResult<()> {
        self.kelly.validate()?;
        self.governor.validate()?;
        if let Some(a) = &self.allocation {
            a.validate()?;
        }
        Ok(())
    }

    fn check(&mut self) -> KellyResult<()> {
        self.validate()
    }
}

prudentia_core::checked_serde!(KellySizerConfig, KellySizerConfig::check);

/// The sizer's learnable state (for checkpoints; the drawdown state is validated on
/// deserialization, see [`DrawdownState::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct KellySizerState {
    /// The governor's peak, equity and drawdown.
    pub drawdown: DrawdownState,
    /// Outcomes seen without an equity figure.
    pub skipped_outcomes: u64,
}

/// Kelly sizing with a drawdown governor and an optional allocation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "KellySizerCheckpoint", into = "KellySizerCheckpoint")]
pub struct KellySizer {
    config: KellySizerConfig,
    kelly: Kelly,
    governor: DrawdownGovernor,
    allocator: Option<Allocator>,
    skipped_outcomes: u64,
}

/// Serialized form of a [`KellySizer`]: its config and state (validated on restore).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KellySizerCheckpoint {
    /// Settings.
    pub config: KellySizerConfig,
    /// State.
    pub state: KellySizerState,
}

impl TryFrom<KellySizerCheckpoint> for KellySizer {
    type Error = KellyError;
    fn try_from(c: KellySizerCheckpoint) -> KellyResult<Self> {
        Self::restore(c.config, c.state)
    }
}

impl From<KellySizer> for KellySizerCheckpoint {
    fn from(s: KellySizer) -> Self {
        Self {
            config: s.config,
            state: s.state(),
        }
    }
}

/// Sized weights with the Kelly scale and the allocation behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct SizedWeights {
    /// Sized weights (fractions of equity).
    pub weights: Weights,
    /// Kelly scale applied to the normalized target (`ScaleTarget` mode), else `None`.
    pub scale: Option<f64>,
    /// Governor multiplier in force.
    pub governor_multiplier: f64,
    /// The allocation, when configured.
    pub allocation: Option<Allocation>,
}

impl KellySizer {
    /// Validates the settings; the governor starts with no history.
    pub fn new(config: KellySizerConfig) -> KellyResult<Self> {
        Self::restore(config, KellySizerState::default())
    }

    /// Restores a sizer from settings and a checkpointed state.
    pub fn restore(config: KellySizerConfig, state: KellySizerState) -> KellyResult<Self> {
        config.validate()?;
        Ok(Self {
            kelly: Kelly::new(config.kelly)?,
            governor: DrawdownGovernor::with_state(config.governor, state.drawdown)?,
            allocator: config.allocation.map(Allocator::new).transpose()?,
            skipped_outcomes: state.skipped_outcomes,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &KellySizerConfig {
        &self.config
    }

    /// The learnable state.
    pub fn state(&self) -> KellySizerState {
        KellySizerState {
            drawdown: *self.governor.state(),
            skipped_outcomes: self.skipped_outcomes,
        }
    }

    /// The drawdown governor.
    pub fn governor(&self) -> &DrawdownGovernor {
        &self.governor
    }

    /// Records an equity value in the governor (the learn step without an `Outcome`).
    pub fn observe_equity(&mut self, equity: f64) -> KellyResult<f64> {
        self.governor.observe(equity)
    }

    /// Sizes `target` with the full breakdown (see the module docs).
    pub fn size_detailed(
        &self,
        target: &Weights,
        opportunities: &[Opportunity],
        equity: f64,
    ) -> KellyResult<SizedWeights> {
        check_capital("equity", equity)?;
        prudentia_core::validate::check_shape(
            "target weights",
            &[target.assets.len()],
            &[target.values.len()],
        )?;
        prudentia_core::validate::check_finite("target weights", &target.values)?;
        let mut inputs = Vec::with_capacity(target.len());
        for id in &target.assets {
            let opp = find(opportunities, id)?;
            let daily = opp.forecast.rescale(Horizon::DAY)?;
            inputs.push(KellyInput::from_forecast(&daily));
        }
        let multiplier = self.governor.multiplier();
        let (fractions, scale) = match self.config.mode {
            SizingMode::ScaleTarget => {
                let gross = target.gross();
                if gross == 0.0 {
                    (vec![0.0; target.len()], Some(0.0))
                } else {
                    let mut mean = 0.0;
                    let mut var = 0.0;
                    let mut se2 = 0.0;
                    let mut any_se = false;
                    for (w, inp) in target.values.iter().zip(&inputs) {
                        let w = w / gross;
                        crate::error::check_mean("mean", inp.mean)?;
                        crate::error::check_sigma("sigma", inp.sigma)?;
                        mean += w * inp.mean;
                        var += w * w * inp.sigma * inp.sigma;
                        if let Some(s) = inp.mean_std_error {
                            any_se = true;
                            se2 += w * w * s * s;
                        }
                    }
                    let portfolio = KellyInput {
                        mean: finite("portfolio mean", mean)?,
                        sigma: finite("portfolio variance", var)?.sqrt(),
                        mean_std_error: any_se
                            .then(|| finite("portfolio standard error", se2).map(f64::sqrt))
                            .transpose()?,
                        horizon_days: 1.0,
                    };
                    let mut k = self
                        .kelly
                        .fraction(&portfolio, Some(&self.governor))?
                        .fraction
                        .max(0.0);
                    if self.config.cap_at_target {
                        k = k.min(gross);
                    }
                    (target.values.iter().map(|w| k * w / gross).collect(), Some(k))
                }
            }
            SizingMode::PerAsset => {
                let mut out = Vec::with_capacity(inputs.len());
                for (w, inp) in target.values.iter().zip(&inputs) {
                    let f = self.kelly.fraction(inp, Some(&self.governor))?.fraction;
                    out.push(if *w != 0.0 && f * w < 0.0 { 0.0 } else { f });
                }
                (out, None)
            }
        };
        let (values, allocation) = match &self.allocator {
            None => (fractions, None),
            Some(alloc) => {
                let mut items = Vec::with_capacity(fractions.len());
                for (id, f) in target.assets.iter().zip(&fractions) {
                    items.push(AllocationItem::new(&find(opportunities, id)?.asset, *f));
                }
                let a = alloc.allocate(&items, equity)?;
                (a.positions.iter().map(|p| p.fraction).collect(), Some(a))
            }
        };
        Ok(SizedWeights {
            weights: Weights::new(target.assets.clone(), values)?,
            scale,
            governor_multiplier: multiplier,
            allocation,
        })
    }
}

fn find<'a>(opportunities: &'a [Opportunity], id: &AssetId) -> KellyResult<&'a Opportunity> {
    opportunities
        .iter()
        .find(|o| &o.asset.id == id)
        .ok_or_else(|| KellyError::MissingOpportunity { asset: id.clone() })
}

impl Sizer for KellySizer {
    fn size(&self, target: &Weights, context: &SizingContext<'_>) -> RoleResult<Weights> {
        self.size_detailed(target, context.opportunities, context.equity)
            .map(|s| s.weights)
            .map_err(|e| RoleError::implementation(Role::Sizer, e))
    }
}

impl OnlineLearner<Outcome> for KellySizer {
    fn learn(&mut self, event: &Outcome) -> RoleResult<()> {
        match event.equity {
            Some(e) => self
                .governor
                .observe(e)
                .map(|_| ())
                .map_err(|e| RoleError::implementation(Role::Sizer, e)),
            None => {
                self.skipped_outcomes = self.skipped_outcomes.saturating_add(1);
                Ok(())
            }
        }
    }
}
