//! The pipeline's causal filter: keep the opportunities whose signal has a positive effect
//! that survives multiple-testing control across the slate.
//!
//! [`SignalFilter::refit`] — called by the learn flow on its schedule, never by the decide
//! flow — estimates for every asset the average effect of its signal on the forward return
//! from the asset's signal history, with the [DR-learner](crate::dr) (covariates control
//! for what drives both the signal and the return). [`CausalFilter::filter`] then only
//! reads those estimates: for the opportunities of the slate that have one, it computes the
//! one-sided p-value of "effect ≤ 0" and applies the Benjamini–Hochberg step-up procedure
//! at [`FilterConfig::fdr`] (Benjamini & Hochberg 1995, *JRSS B* 57: reject the `k`
//! smallest p-values, `k` the largest with `p₍ₖ₎ ≤ k q / m`), which keeps the expected
//! share of null signals among the kept ones at or below `q` for independent tests (one
//! test per name at 5% would let ~5% of all null signals through, whatever their number).
//! Kept opportunities are ranked by effect, largest first, and carry the estimate, its
//! standard error and its two-sided p-value in `Forecast.causal_effect`. Opportunities
//! without an estimate are dropped (no evidence of an effect); [`SignalFilter::screen`]
//! tells why each opportunity was kept or dropped.

use std::collections::BTreeMap;

use ndarray::{ArrayView1, ArrayView2};
use prudentia_core::traits::{CausalFilter, Role};
use prudentia_core::validate::check_size;
use prudentia_core::{AssetId, CausalEffect, CoreError, Opportunity, RoleError, RoleResult, Status};
use serde::{Deserialize, Serialize};

use crate::data::{check_open, CausalData, Folds};
use crate::dr::{DrConfig, DrLearner, OutcomeModel};
use crate::error::{CausalError, CausalResult};

/// The largest number of assets a filter holds estimates for.
pub const MAX_ASSETS: usize = 1 << 16;

/// Settings of the [`SignalFilter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Target false discovery rate `q ∈ (0, 1)`. Default 0.10.
    pub fdr: f64,
    /// The DR-learner's settings for each asset (folds must be [`Folds::Seeded`]). Default:
    /// 2 seeded folds, per-arm outcome models, HC1.
    pub dr: DrConfig,
    /// Fewest observations in a history for an estimate (≥ 2). Default 50.
    pub min_history: usize,
}
prudentia_core::checked_serde!(FilterConfig, FilterConfig::validate);

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            fdr: 0.10,
            dr: DrConfig {
                folds: Folds::Seeded { k: 2, seed: 0 },
                outcome_model: OutcomeModel::PerArm,
                ..DrConfig::default()
            },
            min_history: 50,
        }
    }
}

impl FilterConfig {
    /// Checks the settings.
    pub fn validate(&self) -> CausalResult<()> {
        check_open("fdr", self.fdr, 0.0, 1.0, "in (0, 1)")?;
        self.dr.validate()?;
        if !matches!(self.dr.folds, Folds::Seeded { .. }) {
            return Err(CausalError::InvalidFolds {
                reason: "the filter fits histories of different lengths: use seeded folds".into(),
            });
        }
        if self.min_history < 2 {
            return Err(CoreError::OutOfRange {
                field: "min_history",
                value: self.min_history as f64,
                expected: ">= 2",
            }
            .into());
        }
        check_size(
            "min_history",
            self.min_history,
            prudentia_core::validate::MAX_WINDOW,
        )?;
        Ok(())
    }
}

/// One asset's signal history: per period, the covariates, whether the signal fired (1) or
/// not (0), and the forward return that followed.
#[derive(Debug, Clone, Copy)]
pub struct SignalHistory<'a> {
    /// Covariates (n × p, p ≥ 1): what may drive both the signal and the return.
    pub covariates: ArrayView2<'a, f64>,
    /// 1 when the signal fired, 0 otherwise.
    pub signal: ArrayView1<'a, f64>,
    /// The forward return after each period.
    pub forward_return: ArrayView1<'a, f64>,
}

/// One asset's fitted effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetEffect {
    /// Estimate, standard error and two-sided p-value.
    pub effect: CausalEffect,
    /// Observations behind it.
    pub n_obs: usize,
    /// How the DR fit ended.
    pub status: Status,
}

/// What a refit did, per asset.
#[derive(Debug, Clone, PartialEq)]
pub struct RefitReport {
    /// Assets with a new estimate.
    pub fitted: Vec<AssetId>,
    /// Assets without one, and why (their old estimate is dropped).
    pub skipped: Vec<(AssetId, CausalError)>,
}

/// Why an opportunity was kept or dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Verdict {
    /// Kept: positive and significant after Benjamini–Hochberg.
    Kept,
    /// No estimate for this asset.
    NoEstimate,
    /// The estimated effect is not positive.
    NotPositive,
    /// Positive, but its one-sided p-value is above the Benjamini–Hochberg cut-off.
    NotSignificant {
        /// The cut-off `k q / m` of the slate (0 when nothing is rejected).
        cutoff: f64,
    },
}

/// The filter's reasoning for one opportunity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screening {
    /// The asset.
    pub asset: AssetId,
    /// Its effect estimate, if any.
    pub effect: Option<CausalEffect>,
    /// One-sided p-value of "effect ≤ 0", if estimated.
    pub p_one_sided: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The causal filter stage (see the [module docs](self)).
///
/// Deserialization validates the configuration and every estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct SignalFilter {
    config: FilterConfig,
    effects: BTreeMap<AssetId, AssetEffect>,
}
prudentia_core::checked_serde!(SignalFilter, SignalFilter::check);

fn one_sided(e: &CausalEffect) -> f64 {
    if e.std_error > 0.0 {
        crate::linalg::normal_sf(e.cate / e.std_error)
    } else if e.cate > 0.0 {
        0.0
    } else {
        1.0
    }
}

impl SignalFilter {
    /// A filter without estimates (it keeps nothing until the first [`Self::refit`]).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn new(config: FilterConfig) -> CausalResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            effects: BTreeMap::new(),
        })
    }

    fn check(&mut self) -> CausalResult<()> {
        self.config.validate()?;
        check_size("assets", self.effects.len(), MAX_ASSETS)?;
        for a in self.effects.values() {
            if a.n_obs < self.config.min_history {
                return Err(CoreError::OutOfRange {
                    field: "n_obs",
                    value: a.n_obs as f64,
                    expected: ">= min_history",
                }
                .into());
            }
        }
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &FilterConfig {
        &self.config
    }

    /// The current estimate for `asset`.
    pub fn effect(&self, asset: &AssetId) -> Option<&AssetEffect> {
        self.effects.get(asset)
    }

    /// Number of assets with an estimate.
    pub fn len(&self) -> usize {
        self.effects.len()
    }

    /// Whether no asset has an estimate.
    pub fn is_empty(&self) -> bool {
        self.effects.is_empty()
    }

    /// Re-estimates every asset's effect from its history (the learn flow's job). Each
    /// history is fitted with the DR-learner; an asset whose history is refused (too short,
    /// one arm only, bad values…) is reported in [`RefitReport::skipped`] and loses its old
    /// estimate. Assets not in `histories` keep theirs. Nothing changes on `Err`.
    ///
    /// # Errors
    /// More than [`MAX_ASSETS`] assets, or the same asset twice.
    pub fn refit(&mut self, histories: &[(AssetId, SignalHistory<'_>)]) -> CausalResult<RefitReport> {
        check_size("histories", histories.len(), MAX_ASSETS)?;
        let mut seen = std::collections::BTreeSet::new();
        for (id, _) in histories {
            if !seen.insert(id) {
                return Err(CoreError::OutOfRange {
                    field: "histories (duplicate asset)",
                    value: 0.0,
                    expected: "each asset once",
                }
                .into());
            }
        }
        let learner = DrLearner::new(self.config.dr.clone());
        let mut fitted = Vec::new();
        let mut skipped = Vec::new();
        let mut new = Vec::new();
        for (id, h) in histories {
            match self.estimate(&learner, h) {
                Ok(e) => {
                    fitted.push(id.clone());
                    new.push((id.clone(), Some(e)));
                }
                Err(err) => {
                    skipped.push((id.clone(), err));
                    new.push((id.clone(), None));
                }
            }
        }
        let mut effects = self.effects.clone();
        for (id, e) in new {
            match e {
                Some(e) => {
                    effects.insert(id, e);
                }
                None => {
                    effects.remove(&id);
                }
            }
        }
        check_size("assets", effects.len(), MAX_ASSETS)?;
        self.effects = effects;
        Ok(RefitReport { fitted, skipped })
    }

    fn estimate(&self, learner: &DrLearner, h: &SignalHistory<'_>) -> CausalResult<AssetEffect> {
        let n = h.forward_return.len();
        if n < self.config.min_history {
            return Err(CoreError::EmptyInput {
                field: "history",
                len: n,
                min: self.config.min_history,
            }
            .into());
        }
        let m = learner.fit(&CausalData::new(h.covariates, h.signal, h.forward_return))?;
        let ate = m.ate();
        Ok(AssetEffect {
            effect: CausalEffect {
                cate: ate.estimate,
                std_error: ate.std_error,
                p_value: ate.p_value,
            },
            n_obs: m.n_obs(),
            status: m.status().clone(),
        })
    }

    /// Sets one asset's estimate directly (e.g. from an offline study).
    ///
    /// # Errors
    /// An invalid effect, `n_obs` below `min_history`, or too many assets.
    pub fn set_effect(&mut self, asset: AssetId, mut effect: AssetEffect) -> CausalResult<()> {
        effect.effect.check()?;
        if effect.n_obs < self.config.min_history {
            return Err(CoreError::EmptyInput {
                field: "n_obs",
                len: effect.n_obs,
                min: self.config.min_history,
            }
            .into());
        }
        if !self.effects.contains_key(&asset) {
            check_size("assets", self.effects.len() + 1, MAX_ASSETS)?;
        }
        self.effects.insert(asset, effect);
        Ok(())
    }

    /// The verdict for every opportunity of the slate, in the slate's order. Each
    /// opportunity with an estimate is one test in the Benjamini–Hochberg family (an asset
    /// listed twice counts twice).
    pub fn screen(&self, opportunities: &[Opportunity]) -> Vec<Screening> {
        let effects: Vec<Option<&AssetEffect>> = opportunities
            .iter()
            .map(|o| self.effects.get(&o.asset.id))
            .collect();
        let mut ps: Vec<(usize, f64)> = effects
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (i, one_sided(&e.effect))))
            .collect();
        ps.sort_by(|a, b| a.1.total_cmp(&b.1));
        let m = ps.len();
        let mut k = 0;
        for (rank, &(_, p)) in ps.iter().enumerate() {
            if p <= (rank + 1) as f64 * self.config.fdr / m as f64 {
                k = rank + 1;
            }
        }
        let cutoff = if m > 0 {
            k as f64 * self.config.fdr / m as f64
        } else {
            0.0
        };
        let mut rejected = vec![false; opportunities.len()];
        for &(i, _) in ps.iter().take(k) {
            rejected[i] = true;
        }
        opportunities
            .iter()
            .zip(effects)
            .enumerate()
            .map(|(i, (o, e))| {
                let verdict = match e {
                    None => Verdict::NoEstimate,
                    Some(e) if e.effect.cate <= 0.0 => Verdict::NotPositive,
                    Some(_) if rejected[i] => Verdict::Kept,
                    Some(_) => Verdict::NotSignificant { cutoff },
                };
                Screening {
                    asset: o.asset.id.clone(),
                    effect: e.map(|e| e.effect),
                    p_one_sided: e.map(|e| one_sided(&e.effect)),
                    verdict,
                }
            })
            .collect()
    }
}

impl CausalFilter for SignalFilter {
    /// Keeps the opportunities with a positive effect significant after Benjamini–Hochberg,
    /// ranked by effect (largest first; ties by asset id), each with its `causal_effect`.
    fn filter(&self, opportunities: Vec<Opportunity>) -> RoleResult<Vec<Opportunity>> {
        if opportunities.len() > MAX_ASSETS {
            return Err(RoleError::implementation(
                Role::Causal,
                CausalError::Core(CoreError::TooLarge {
                    field: "opportunities",
                    value: opportunities.len() as u128,
                    max: MAX_ASSETS as u128,
                }),
            ));
        }
        let screening = self.screen(&opportunities);
        let mut kept: Vec<Opportunity> = opportunities
            .into_iter()
            .zip(screening)
            .filter(|(_, s)| s.verdict == Verdict::Kept)
            .map(|(mut o, s)| {
                o.forecast.causal_effect = s.effect;
                o
            })
            .collect();
        kept.sort_by(|a, b| {
            let ea = a.forecast.causal_effect.as_ref().map_or(0.0, |e| e.cate);
            let eb = b.forecast.causal_effect.as_ref().map_or(0.0, |e| e.cate);
            eb.total_cmp(&ea).then_with(|| a.asset.id.cmp(&b.asset.id))
        });
        Ok(kept)
    }
}
