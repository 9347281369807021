//! A [`RegimeDetector`] over [`MarketSnapshot`]s: BOCPD on the reference asset's log
//! returns (or on the [panel features](crate::panel) of a set of assets) for change points
//! and run length, the rule-based [`RegimeLabeler`] for labels.

use prudentia_core::traits::{RegimeDetector, RoleResult};
use prudentia_core::{AssetId, CoreError, MarketSnapshot, Quote, RegimeLabel, RegimeState, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bocpd::{Bocpd, BocpdConfig, BocpdStep, NormalGammaPrior, ObservationModel};
use crate::error::RegimeResult;
use crate::labels::{opposite, IndicatorObservation, LabelerConfig, RegimeLabeler};

/// What sets [`RegimeState::changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ChangeSource {
    /// The primary label changed.
    Label,
    /// BOCPD signalled a change point.
    ChangePoint,
    /// Either of the two.
    #[default]
    Either,
}

/// Configuration of [`MarketRegimeDetector`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct MarketRegimeDetectorConfig {
    /// Asset whose quote price gives the index returns; `None` uses the first quote.
    pub reference: Option<AssetId>,
    /// Indicator name of the VIX. Default `"vix"`.
    pub vix_indicator: String,
    /// Indicator name of the credit spread. Default `"credit_spread"`.
    pub credit_spread_indicator: String,
    /// BOCPD on daily log returns. Default: Normal–Gamma prior of scale 0.01 (1 % daily
    /// volatility), constant hazard 1/250.
    pub bocpd: BocpdConfig,
    /// Labeler rules. Default [`LabelerConfig::default`].
    pub labeler: LabelerConfig,
    /// What sets `changed`. Default [`ChangeSource::Either`].
    pub change_source: ChangeSource,
    /// Assets whose daily log returns feed BOCPD through
    /// [`PanelFeatures`](crate::panel::PanelFeatures) instead of the reference's return: one
    /// day of a cross-section says more about a volatility regime than one day of an index.
    /// At least 2; `bocpd` must then have the two features
    /// [`market_panel_config`](crate::panel::market_panel_config) builds (see
    /// [`with_panel`](Self::with_panel)). Default `None`. A snapshot missing any of them, or
    /// whose returns are all equal (a frozen feed, a holiday), leaves the change-point state
    /// as it is; the labels still update from the reference.
    #[serde(default)]
    pub panel: Option<Vec<AssetId>>,
}
prudentia_core::checked_serde!(MarketRegimeDetectorConfig, MarketRegimeDetectorConfig::check);

impl MarketRegimeDetectorConfig {
    /// Checks every part: the BOCPD and labeler configurations, the panel (2 to `MAX_DIM`
    /// assets) and that BOCPD has one feature per input (1, or 2 for a panel).
    pub fn validate(&self) -> RegimeResult<()> {
        self.bocpd.validate()?;
        self.labeler.validate()?;
        let features = match &self.panel {
            Some(assets) => {
                crate::panel::PanelFeatures::new(assets.len())?;
                2
            }
            None => 1,
        };
        if self.bocpd.features.len() != features {
            return Err(CoreError::ShapeMismatch {
                field: "bocpd.features",
                expected: vec![features],
                found: vec![self.bocpd.features.len()],
            }
            .into());
        }
        Ok(())
    }

    fn check(&mut self) -> RegimeResult<()> {
        self.validate()
    }

    /// This configuration with change points from the panel of `assets` and the matching
    /// BOCPD configuration ([`market_panel_config`](crate::panel::market_panel_config)).
    ///
    /// # Errors
    /// [`CoreError::OutOfRange`] for fewer than 2 assets.
    pub fn with_panel(mut self, assets: Vec<AssetId>) -> RegimeResult<Self> {
        self.bocpd = crate::panel::market_panel_config(assets.len())?;
        self.panel = Some(assets);
        Ok(self)
    }
}

impl Default for MarketRegimeDetectorConfig {
    fn default() -> Self {
        Self {
            reference: None,
            vix_indicator: "vix".into(),
            credit_spread_indicator: "credit_spread".into(),
            bocpd: BocpdConfig::univariate(ObservationModel::NormalGamma(NormalGammaPrior {
                mu: 0.0,
                kappa: 1.0,
                alpha: 1.0,
                beta: 1e-4,
            })),
            labeler: LabelerConfig::default(),
            change_source: ChangeSource::Either,
            panel: None,
        }
    }
}

/// The reference asset's quote in `snapshot`: `Ok(None)` when it is missing (e.g.
/// quarantined by the guard), an error when its price is not finite and positive.
fn reference_quote<'a>(
    snapshot: &'a MarketSnapshot,
    reference: Option<&AssetId>,
) -> RegimeResult<Option<&'a Quote>> {
    let quote = match reference {
        Some(id) => snapshot.quotes.iter().find(|q| &q.asset == id),
        None => snapshot.quotes.first(),
    };
    let Some(quote) = quote else { return Ok(None) };
    checked_price("reference price", quote.price)?;
    Ok(Some(quote))
}

/// `price` if it is finite and positive, else a typed error naming `field`.
fn checked_price(field: &'static str, price: f64) -> RegimeResult<f64> {
    if price.is_finite() && price > 0.0 {
        Ok(price)
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: price,
            expected: "finite and > 0",
        }
        .into())
    }
}

fn missing_reference(reference: Option<&AssetId>) -> crate::RegimeError {
    CoreError::UnknownId {
        kind: "reference asset quote",
        id: reference.map_or_else(|| "<first quote>".to_owned(), |a| a.to_string()),
    }
    .into()
}

/// BOCPD + labeler over market snapshots. Uses data up to the current snapshot only.
///
/// Deserializing validates the checkpoint: the configuration, the BOCPD state and labeler
/// (each checked as it loads) built from that configuration, finite positive last prices
/// of the right number, a consistent last step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct MarketRegimeDetector {
    config: MarketRegimeDetectorConfig,
    bocpd: Bocpd,
    labeler: RegimeLabeler,
    last_price: Option<f64>,
    label: Option<RegimeLabel>,
    since: Option<Timestamp>,
    last_step: Option<BocpdStep>,
    /// Last complete panel prices (panel mode).
    #[serde(default)]
    last_panel: Option<Vec<f64>>,
}
prudentia_core::checked_serde!(MarketRegimeDetector, MarketRegimeDetector::check_state);

impl MarketRegimeDetector {
    /// A detector with no history.
    pub fn new(config: MarketRegimeDetectorConfig) -> RegimeResult<Self> {
        config.validate()?;
        let bocpd = Bocpd::new(config.bocpd.clone())?;
        let labeler = RegimeLabeler::new(config.labeler.clone())?;
        Ok(Self {
            config,
            bocpd,
            labeler,
            last_price: None,
            label: None,
            since: None,
            last_step: None,
            last_panel: None,
        })
    }

    fn check_state(&mut self) -> RegimeResult<()> {
        self.config.validate()?;
        if self.bocpd.config() != &self.config.bocpd || self.labeler.config() != &self.config.labeler {
            return Err(CoreError::OutOfRange {
                field: "detector state",
                value: f64::NAN,
                expected: "BOCPD and labeler states built from the detector's configuration",
            }
            .into());
        }
        if let Some(p) = self.last_price {
            checked_price("last_price", p)?;
        }
        match (&self.last_panel, &self.config.panel) {
            (None, _) => {}
            (Some(prices), Some(assets)) => {
                prudentia_core::validate::check_shape("last_panel", &[assets.len()], &[prices.len()])?;
                for &p in prices {
                    checked_price("last_panel", p)?;
                }
            }
            (Some(_), None) => {
                return Err(CoreError::ShapeMismatch {
                    field: "last_panel",
                    expected: vec![0],
                    found: vec![1],
                }
                .into())
            }
        }
        if let Some(s) = &self.last_step {
            prudentia_core::validate::check_probability(
                "last_step.change_probability",
                s.change_probability,
            )?;
            prudentia_core::validate::check_finite("last_step.log_evidence", &[s.log_evidence])?;
        }
        Ok(())
    }

    /// The panel's prices in this snapshot, in configured order: `Ok(None)` when any is
    /// missing, an error when one is not finite and positive.
    fn panel_prices(&self, assets: &[AssetId], snapshot: &MarketSnapshot) -> RegimeResult<Option<Vec<f64>>> {
        let by_asset: std::collections::HashMap<&AssetId, f64> =
            snapshot.quotes.iter().map(|q| (&q.asset, q.price)).collect();
        let mut prices = Vec::with_capacity(assets.len());
        for a in assets {
            let Some(&p) = by_asset.get(a) else {
                return Ok(None);
            };
            prices.push(checked_price("panel price", p)?);
        }
        Ok(Some(prices))
    }

    /// Panel features of this snapshot against the last complete panel (`None`: no update).
    fn panel_features(&self, prices: &[f64]) -> RegimeResult<Option<Vec<f64>>> {
        let Some(last) = &self.last_panel else {
            return Ok(None);
        };
        let rets: Vec<f64> = prices.iter().zip(last).map(|(p, q)| (p / q).ln()).collect();
        let mut f = crate::panel::PanelFeatures::new(rets.len())?;
        match f.compute(&rets) {
            Ok(x) => Ok(Some(x.to_vec())),
            Err(crate::RegimeError::Core(CoreError::OutOfRange {
                field: "panel.dispersion",
                ..
            })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The last BOCPD step (`None` before the second price).
    pub fn last_change_point_step(&self) -> Option<&BocpdStep> {
        self.last_step.as_ref()
    }

    /// Folds in one snapshot.
    ///
    /// A snapshot without the reference quote (e.g. because the guard quarantined it) holds
    /// the previous state: nothing is updated and the state is reported again with
    /// `changed = false` and `change_probability = 0`; the next quote's return then spans
    /// the gap. Before any state exists, a missing reference quote is an error.
    ///
    /// Errors: no quote for the reference asset before the first state, a non-positive or
    /// non-finite price, non-finite indicators.
    pub fn step(&mut self, snapshot: &MarketSnapshot) -> RegimeResult<RegimeState> {
        let reference = self.config.reference.as_ref();
        let Some(quote) = reference_quote(snapshot, reference)? else {
            return self.held_state().ok_or_else(|| missing_reference(reference));
        };
        let price = quote.price;
        let ret = self.last_price.map(|p| (price / p).ln());
        let obs = IndicatorObservation {
            index_return: ret,
            vix: snapshot.indicator(&self.config.vix_indicator),
            credit_spread: snapshot.indicator(&self.config.credit_spread_indicator),
            volume: quote.volume,
            spread_bps: quote.spread_bps,
        };
        // validate everything before mutating: the labeler's input first (the BOCPD update
        // below leaves its state unchanged when it fails, and the labeler cannot fail after
        // this check)
        self.labeler.check_observation(&obs)?;
        let (step, panel) = match &self.config.panel {
            None => (
                match ret {
                    Some(r) => Some(self.bocpd.update_scalar(r)?),
                    None => None,
                },
                None,
            ),
            Some(assets) => match self.panel_prices(assets, snapshot)? {
                Some(prices) => (
                    match self.panel_features(&prices)? {
                        Some(x) => Some(self.bocpd.update(&x)?),
                        None => None,
                    },
                    Some(prices),
                ),
                None => (None, None),
            },
        };
        let labels = self.labeler.observe(&obs)?;
        self.last_price = Some(price);
        if panel.is_some() {
            self.last_panel = panel;
        }
        if step.is_some() {
            self.last_step = step;
        }
        let label = labels.on(self.config.labeler.primary).clone();
        let label_changed = self.label.as_ref().is_some_and(|l| *l != label);
        if label_changed || self.since.is_none() {
            self.since = Some(snapshot.time);
        }
        self.label = Some(label.clone());
        let cp = step.is_some_and(|s| s.changed);
        let changed = match self.config.change_source {
            ChangeSource::Label => label_changed,
            ChangeSource::ChangePoint => cp,
            ChangeSource::Either => label_changed || cp,
        };
        Ok(RegimeState {
            probabilities: vec![(label.clone(), 1.0), (opposite(&label), 0.0)],
            label,
            run_length: self.last_step.map_or(0, |s| s.map_run_length),
            change_probability: step.map_or(0.0, |s| s.change_probability),
            changed,
            since: self.since,
        })
    }

    /// The current state reported again without an update (`changed = false`, change
    /// probability 0); `None` before the first snapshot.
    fn held_state(&self) -> Option<RegimeState> {
        let label = self.label.clone()?;
        Some(RegimeState {
            probabilities: vec![(label.clone(), 1.0), (opposite(&label), 0.0)],
            label,
            run_length: self.last_step.as_ref().map_or(0, |s| s.map_run_length),
            change_probability: 0.0,
            changed: false,
            since: self.since,
        })
    }
}

impl RegimeDetector for MarketRegimeDetector {
    fn observe(&mut self, snapshot: &MarketSnapshot) -> RoleResult<RegimeState> {
        self.step(snapshot).map_err(Into::into)
    }
}

/// A [`RegimeDetector`] from a fitted Gaussian HMM on the reference asset's daily log
/// returns: the forward filter gives `P(s_t = k | returns up to t)`, reported as the
/// regime probabilities; the label is the most probable state's label. States are
/// labelled by variance: with two states `low_vol` / `high_vol`, with more
/// `low_vol`, `state_1`, …, `high_vol` (ascending variance). `run_length` counts
/// observations since the label last changed; `change_probability` is the filtered
/// probability that the state switched at this observation.
///
/// Deserializing validates the checkpoint (the filter, one label per state, the current
/// state in range, a finite positive last price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct HmmRegimeDetector {
    filter: crate::hmm::HmmFilter,
    labels: Vec<RegimeLabel>,
    reference: Option<AssetId>,
    last_price: Option<f64>,
    current: Option<usize>,
    run_length: usize,
    since: Option<Timestamp>,
}
prudentia_core::checked_serde!(HmmRegimeDetector, HmmRegimeDetector::check_state);

impl HmmRegimeDetector {
    fn check_state(&mut self) -> RegimeResult<()> {
        let k = self.filter.probabilities().len();
        prudentia_core::validate::check_shape("labels", &[k], &[self.labels.len()])?;
        if let Some(c) = self.current {
            if c >= k {
                return Err(CoreError::OutOfRange {
                    field: "current",
                    value: c as f64,
                    expected: "a state index below the number of states",
                }
                .into());
            }
        }
        if let Some(p) = self.last_price {
            checked_price("last_price", p)?;
        }
        Ok(())
    }

    /// A detector from a fitted model whose observations are daily log returns (decimal,
    /// as the model was fitted). `reference` selects the quote (`None`: the first).
    pub fn new(model: &crate::hmm::GaussianHmm, reference: Option<AssetId>) -> Self {
        let v = &model.params().variances;
        let k = v.len();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut labels = vec![RegimeLabel::UNKNOWN; k];
        for (rank, &state) in order.iter().enumerate() {
            labels[state] = if k == 1 {
                RegimeLabel::UNKNOWN
            } else if rank == 0 {
                RegimeLabel::LOW_VOL
            } else if rank == k - 1 {
                RegimeLabel::HIGH_VOL
            } else {
                RegimeLabel::new(format!("state_{rank}"))
            };
        }
        Self {
            filter: model.filter(),
            labels,
            reference,
            last_price: None,
            current: None,
            run_length: 0,
            since: None,
        }
    }

    /// The label of each HMM state.
    pub fn state_labels(&self) -> &[RegimeLabel] {
        &self.labels
    }

    /// Folds in one snapshot (the first only records the price). A snapshot without the
    /// reference quote holds the current state, as in [`MarketRegimeDetector::step`].
    pub fn step(&mut self, snapshot: &MarketSnapshot) -> RegimeResult<RegimeState> {
        let reference = self.reference.as_ref();
        let Some(price) = reference_quote(snapshot, reference)?.map(|q| q.price) else {
            return match self.current {
                Some(best) => Ok(self.state(best, false, 0.0)),
                None => Err(missing_reference(reference)),
            };
        };
        if let Some(p) = self.last_price {
            let _ = self.filter.update((price / p).ln())?;
        }
        self.last_price = Some(price);
        let best = self.filter.most_likely();
        let changed = self.current.is_some_and(|c| c != best);
        if changed || self.current.is_none() {
            self.run_length = 0;
            self.since = Some(snapshot.time);
        }
        self.run_length = self.run_length.saturating_add(1);
        self.current = Some(best);
        let change_probability = self.filter.switch_probability();
        Ok(self.state(best, changed, change_probability))
    }

    fn state(&self, best: usize, changed: bool, change_probability: f64) -> RegimeState {
        RegimeState {
            label: self.labels[best].clone(),
            probabilities: self
                .labels
                .iter()
                .cloned()
                .zip(self.filter.probabilities().iter().copied())
                .collect(),
            run_length: self.run_length,
            change_probability,
            changed,
            since: self.since,
        }
    }
}

impl RegimeDetector for HmmRegimeDetector {
    fn observe(&mut self, snapshot: &MarketSnapshot) -> RoleResult<RegimeState> {
        self.step(snapshot).map_err(Into::into)
    }
}
