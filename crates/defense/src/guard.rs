//! The snapshot-level guard of the pipeline.

use std::collections::BTreeMap;

use prudentia_core::traits::{Guard, Screened};
use prudentia_core::validate::check_probability;
use prudentia_core::{MarketSnapshot, RoleResult};
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};
use crate::quarantine::{Admission, QuarantineEntry};
use crate::screening::{InputDefense, InputDefenseConfig};
use crate::validator::{HampelAction, Observation, Transform, ValidatorConfig, Verdict};

/// Configuration of a [`SnapshotGuard`].
///
/// The defaults flag only clear faults and repair nothing:
///
/// - **hard faults** are quarantined: missing, non-finite or non-positive prices, quotes older
///   than 7 days at the snapshot time (stale), out-of-order or duplicate times, future-dated
///   quotes, and a price repeated more than 10 times in a row (frozen feed);
/// - **moves** are quarantined only when far beyond what the name's own volatility and the
///   same day's cross-section allow: the day's log return minus the cross-sectional median
///   log return of the snapshot's quotes (the market move, when at least
///   `min_corroborating_quotes` quotes have one) must lie 12 robust standard deviations from
///   the median of the asset's last 63 returns (robust scale `1.4826 · MAD`, floored at 1 %).
///   So a move the index or most peers share the same day is not an outlier, and an earnings
///   move of a few sigmas passes. A genuine jump confirmed by the next quote costs one
///   quarantined day ([`ValidatorConfig::confirm_moves`]);
/// - **no repair**: the Hampel filter's median substitution happens only when configured
///   (see [`SnapshotGuardConfig::classic_hampel`] for the former defaults, which repaired
///   anything beyond 3 robust sigmas over 21 days).
///
/// On the shipped S&P 500 stocks (1990–2022) these defaults quarantine well under 0.05 % of
/// the stock-days outside the documented RRC anomaly, while every injected 10× price, blank,
/// stale quote and reordered time is caught (test `sp500_defaults` of this crate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct SnapshotGuardConfig {
    /// Validators and quarantine. Quotes use the topic `"<asset id>"`; indicators use
    /// `"indicator:<name>"` (set per-topic overrides under those names). Default: see the
    /// type's documentation.
    pub defense: InputDefenseConfig,
    /// Validator for indicators without a per-topic override. Default: levels, 7-day
    /// staleness limit, quarantine (no repair) only beyond 12 robust standard deviations of
    /// the last 63 values; no frozen check (an indicator may legitimately stay flat).
    pub indicator_validator: ValidatorConfig,
    /// Share of a snapshot's values that may be quarantined before the guard answers
    /// `SafeFallback`. Default 0.2; in `[0, 1]`. Fallback when the share is strictly greater.
    pub max_quarantined_share: f64,
    /// Cross-sectional corroboration: when at least this many of a snapshot's quotes have a
    /// log return against their previous admitted price, the median of those returns (the
    /// day's market move) is taken out of every price's robust check
    /// ([`Validator::observe_with_market`](crate::Validator::observe_with_market)). Applies
    /// to topics under [`Transform::LogReturn`]. Default 5; 0 disables, otherwise at least 3.
    pub min_corroborating_quotes: usize,
}

impl Default for SnapshotGuardConfig {
    fn default() -> Self {
        let week = 7 * prudentia_core::Timestamp::NANOS_PER_DAY;
        let clear_faults_only = ValidatorConfig {
            window: 63,
            min_periods: 20,
            hampel_threshold: 12.0,
            quarantine_threshold: 12.0,
            hampel_action: HampelAction::Quarantine,
            max_age_ns: Some(week),
            ..Default::default()
        };
        Self {
            defense: InputDefenseConfig {
                default_validator: ValidatorConfig {
                    transform: Transform::LogReturn,
                    min_scale: 0.01,
                    max_unchanged: Some(10),
                    ..clear_faults_only.clone()
                },
                ..Default::default()
            },
            indicator_validator: clear_faults_only,
            max_quarantined_share: 0.2,
            min_corroborating_quotes: 5,
        }
    }
}

prudentia_core::checked_serde!(SnapshotGuardConfig, SnapshotGuardConfig::validate);

impl SnapshotGuardConfig {
    /// The guard's former defaults (before issue #19), for callers that want aggressive
    /// cleaning: prices on log returns over a 21-observation window, repaired with the
    /// trailing median beyond 3 robust standard deviations and quarantined from 5.5,
    /// indicators likewise on levels, 7-day staleness limit, no frozen check and no
    /// cross-sectional corroboration. On real daily stock prices this changes a few percent
    /// of clean days (earnings moves included).
    pub fn classic_hampel() -> Self {
        let week = 7 * prudentia_core::Timestamp::NANOS_PER_DAY;
        Self {
            defense: InputDefenseConfig {
                default_validator: ValidatorConfig {
                    transform: Transform::LogReturn,
                    max_age_ns: Some(week),
                    ..Default::default()
                },
                ..Default::default()
            },
            indicator_validator: ValidatorConfig {
                max_age_ns: Some(week),
                ..Default::default()
            },
            max_quarantined_share: 0.2,
            min_corroborating_quotes: 0,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> DefenseResult<()> {
        self.defense.validate()?;
        self.indicator_validator.validate()?;
        check_probability("max_quarantined_share", self.max_quarantined_share)?;
        if (1..3).contains(&self.min_corroborating_quotes) {
            return Err(DefenseError::TooSmall {
                field: "min_corroborating_quotes",
                value: self.min_corroborating_quotes,
                min: 3,
            });
        }
        Ok(())
    }
}

/// Screens whole [`MarketSnapshot`]s: every quote price and indicator value goes through its
/// topic's validator; repaired values are substituted, quarantined ones removed (and kept in
/// the quarantine). If the quarantined share exceeds `max_quarantined_share`, the answer is
/// [`Screened::SafeFallback`] with one reason per quarantined value.
///
/// Nothing is lost: when the quarantine is full, the item its overflow policy displaces
/// (the oldest under `EvictOldest`, the new one under `RejectNew`) is kept in an outbox
/// until the caller takes it with [`drain_handed_back`](Self::drain_handed_back). So every
/// screened value is accepted, repaired, held in the quarantine, released through
/// [`defense_mut`](Self::defense_mut), or handed back. The outbox is part of the
/// checkpoint; drain it regularly (it grows by at most one item per quarantined value).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct SnapshotGuard {
    config: SnapshotGuardConfig,
    defense: InputDefense,
    /// Items displaced by the quarantine's overflow policy, oldest first.
    #[serde(default)]
    handed_back: Vec<QuarantineEntry>,
    /// The defense slot of each position of the last snapshot's quotes and indicators (a
    /// cache, not state: each use checks the slot's topic against the key it serves).
    #[serde(skip)]
    slots: SlotCache,
}

/// Equal configuration, defense and outbox (the slot cache is not state).
impl PartialEq for SnapshotGuard {
    fn eq(&self, o: &Self) -> bool {
        self.config == o.config && self.defense == o.defense && self.handed_back == o.handed_back
    }
}

/// The topic prefix of indicators.
const INDICATOR_PREFIX: &str = "indicator:";

/// Slots resolved for the previous snapshot, by position: a snapshot with the same quotes
/// and indicators in the same order (the usual case) screens without a single name lookup
/// or allocation per value. Also the screen's scratch buffers (kept across snapshots, so a
/// screen allocates nothing but its answer).
#[derive(Debug, Clone, Default)]
struct SlotCache {
    quotes: Vec<usize>,
    indicators: Vec<usize>,
    /// The log returns behind the day's market move.
    returns: Vec<f64>,
    /// What became of each quote, then of each indicator, by position.
    outcomes: Vec<Outcome>,
}

/// What the screen made of one value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Accept,
    Repair(f64),
    Quarantine,
    /// Left out without a verdict (a slot that did not resolve; does not happen).
    Skip,
}

prudentia_core::checked_serde!(SnapshotGuard, SnapshotGuard::check_state);

impl SnapshotGuard {
    /// Invariants of a loaded checkpoint: a valid configuration, shared with the defense.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        if self.defense.config() != &self.config.defense {
            return Err(DefenseError::CorruptState {
                detail: "defense configuration differs from the guard's",
            });
        }
        Ok(())
    }

    /// Items displaced from the full quarantine since the last drain, oldest first.
    pub fn handed_back(&self) -> &[QuarantineEntry] {
        &self.handed_back
    }

    /// Takes the items displaced from the full quarantine since the last drain (oldest
    /// first), leaving the outbox empty.
    pub fn drain_handed_back(&mut self) -> Vec<QuarantineEntry> {
        std::mem::take(&mut self.handed_back)
    }

    fn keep(&mut self, admission: Option<Admission>) {
        match admission {
            Some(Admission::StoredEvicting { evicted, .. }) => self.handed_back.push(*evicted),
            Some(Admission::Rejected { entry }) => self.handed_back.push(*entry),
            Some(Admission::Stored { .. }) | None => {}
        }
    }

    /// A guard after checking the configuration.
    pub fn new(config: SnapshotGuardConfig) -> DefenseResult<Self> {
        config.validate()?;
        let defense = InputDefense::new(config.defense.clone())?;
        Ok(Self {
            config,
            defense,
            handed_back: Vec::new(),
            slots: SlotCache::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SnapshotGuardConfig {
        &self.config
    }

    /// The underlying defense (validators, counts, quarantine).
    pub fn defense(&self) -> &InputDefense {
        &self.defense
    }

    /// Mutable access, e.g. to release quarantined items.
    pub fn defense_mut(&mut self) -> &mut InputDefense {
        &mut self.defense
    }

    /// The day's market move: the median log return of the snapshot's quotes against their
    /// previous admitted prices, when at least `min_corroborating_quotes` have one (else 0).
    pub fn market_move(&self, snapshot: &MarketSnapshot) -> f64 {
        let mut scratch = Vec::new();
        self.market_move_of(
            snapshot,
            |i| {
                snapshot
                    .quotes
                    .get(i)
                    .and_then(|q| self.defense.slot_of(q.asset.as_str()))
            },
            &mut scratch,
        )
    }

    /// [`market_move`](Self::market_move) with the slot of the quote at each position
    /// (`None`: no validator yet) and a scratch buffer for the returns.
    fn market_move_of(
        &self,
        snapshot: &MarketSnapshot,
        slot: impl Fn(usize) -> Option<usize>,
        r: &mut Vec<f64>,
    ) -> f64 {
        let min = self.config.min_corroborating_quotes;
        if min == 0 || snapshot.quotes.len() < min {
            return 0.0;
        }
        r.clear();
        r.extend(snapshot.quotes.iter().enumerate().filter_map(|(i, q)| {
            let v = self.defense.slot_validator(slot(i)?)?;
            if v.config().transform != Transform::LogReturn || v.last_time().is_some_and(|t| q.time <= t) {
                return None;
            }
            let reference = v.reference()?;
            let y = (q.price / reference).ln();
            (q.price > 0.0 && y.is_finite()).then_some(y)
        }));
        if r.len() < min {
            return 0.0;
        }
        // The middle order statistics by selection (O(n)); under the total order they are
        // the values a sort would put there, bit for bit.
        let n = r.len();
        let (lower, upper, _) = r.select_nth_unstable_by(n / 2, f64::total_cmp);
        let upper = *upper;
        let m = if n % 2 == 1 {
            upper
        } else {
            let below = lower.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
            0.5 * below + 0.5 * upper
        };
        if m.is_finite() {
            m
        } else {
            0.0
        }
    }

    /// The slot of each quote (created on first sight, like [`InputDefense::process`]),
    /// reusing the cached slot of the same position when its topic is the quote's asset.
    fn quote_slots(&mut self, snapshot: &MarketSnapshot) -> Vec<usize> {
        let mut cache = std::mem::take(&mut self.slots.quotes);
        cache.resize(snapshot.quotes.len(), usize::MAX);
        for (q, slot) in snapshot.quotes.iter().zip(cache.iter_mut()) {
            if self.defense.slot_topic(*slot) != Some(q.asset.as_str()) {
                *slot = self.defense.slot_or_insert(q.asset.as_str());
            }
        }
        cache
    }

    /// The slot of each indicator's topic `"indicator:<name>"` (created on first sight with
    /// its per-topic override or `indicator_validator`), reusing the cached slot of the same
    /// position when its topic matches.
    fn indicator_slots(&mut self, snapshot: &MarketSnapshot) -> Vec<usize> {
        let mut cache = std::mem::take(&mut self.slots.indicators);
        cache.resize(snapshot.indicators.len(), usize::MAX);
        for (ind, slot) in snapshot.indicators.iter().zip(cache.iter_mut()) {
            let cached = self
                .defense
                .slot_topic(*slot)
                .and_then(|t| t.strip_prefix(INDICATOR_PREFIX))
                .is_some_and(|name| name == ind.name);
            if !cached {
                let topic = format!("{INDICATOR_PREFIX}{}", ind.name);
                *slot = match self.defense.slot_of(&topic) {
                    Some(s) => s,
                    None if self.config.defense.topics.contains_key(&topic) => {
                        self.defense.slot_or_insert(&topic)
                    }
                    // Validated in `new`, so registering cannot fail.
                    None => self
                        .defense
                        .register_slot(&topic, self.config.indicator_validator.clone())
                        .unwrap_or_else(|_| self.defense.slot_or_insert(&topic)),
                };
            }
        }
        cache
    }

    /// Screens one snapshot (the typed-error form of [`Guard::screen`]). Quotes dated more
    /// than the validator's `max_future_ns` after `snapshot.time` are quarantined as
    /// [`Reason::FutureTime`](crate::Reason::FutureTime).
    pub fn screen_snapshot(&mut self, snapshot: &MarketSnapshot) -> Screened {
        let now = Some(snapshot.time);
        let mut reasons = Vec::new();
        let (mut repaired, mut quarantined) = (0usize, 0usize);
        let mut outcomes = std::mem::take(&mut self.slots.outcomes);
        outcomes.clear();
        let quote_slots = self.quote_slots(snapshot);
        let mut returns = std::mem::take(&mut self.slots.returns);
        let market = self.market_move_of(snapshot, |i| quote_slots.get(i).copied(), &mut returns);
        self.slots.returns = returns;
        for (q, &slot) in snapshot.quotes.iter().zip(&quote_slots) {
            let obs = Observation::new(q.time, q.price);
            // The slot was resolved above, so `process_slot` answers.
            let Some(s) = self.defense.process_slot(slot, &obs, now, market) else {
                outcomes.push(Outcome::Skip);
                continue;
            };
            self.keep(s.admission);
            outcomes.push(match s.verdict {
                Verdict::Accept => Outcome::Accept,
                Verdict::Repair { value, .. } => {
                    repaired += 1;
                    Outcome::Repair(value)
                }
                Verdict::Quarantine { reason } => {
                    quarantined += 1;
                    reasons.push(format!("{}: {reason}", q.asset));
                    Outcome::Quarantine
                }
            });
        }
        self.slots.quotes = quote_slots;
        let indicator_slots = self.indicator_slots(snapshot);
        for (ind, &slot) in snapshot.indicators.iter().zip(&indicator_slots) {
            let obs = Observation::new(ind.time, ind.value);
            let Some(s) = self.defense.process_slot(slot, &obs, now, 0.0) else {
                outcomes.push(Outcome::Skip);
                continue;
            };
            self.keep(s.admission);
            outcomes.push(match s.verdict {
                Verdict::Accept => Outcome::Accept,
                Verdict::Repair { value, .. } => {
                    repaired += 1;
                    Outcome::Repair(value)
                }
                Verdict::Quarantine { reason } => {
                    quarantined += 1;
                    reasons.push(format!("{INDICATOR_PREFIX}{}: {reason}", ind.name));
                    Outcome::Quarantine
                }
            });
        }
        self.slots.indicators = indicator_slots;
        let total = snapshot.quotes.len() + snapshot.indicators.len();
        let share = if total == 0 {
            0.0
        } else {
            quarantined as f64 / total as f64
        };
        let screened = if share > self.config.max_quarantined_share {
            Screened::SafeFallback {
                reasons,
                quarantined_share: share,
            }
        } else {
            let (quote_outcomes, indicator_outcomes) =
                outcomes.split_at(snapshot.quotes.len().min(outcomes.len()));
            Screened::Clean {
                snapshot: clean_snapshot(snapshot, quote_outcomes, indicator_outcomes),
                repaired,
                quarantined,
            }
        };
        self.slots.outcomes = outcomes;
        screened
    }
}

/// The clean snapshot: repaired values substituted, quarantined ones removed; an asset whose
/// quote was quarantined is removed, and the first asset of a repaired quote's id takes the
/// (last) repaired price. Unchanged parts are cloned as they are.
fn clean_snapshot(snapshot: &MarketSnapshot, quotes: &[Outcome], indicators: &[Outcome]) -> MarketSnapshot {
    let unchanged = |o: &[Outcome]| o.iter().all(|o| *o == Outcome::Accept);
    let quotes_out = if unchanged(quotes) {
        snapshot.quotes.clone()
    } else {
        snapshot
            .quotes
            .iter()
            .zip(quotes)
            .filter_map(|(q, o)| match *o {
                Outcome::Accept => Some(q.clone()),
                Outcome::Repair(value) => {
                    let mut q = q.clone();
                    q.price = value;
                    Some(q)
                }
                Outcome::Quarantine | Outcome::Skip => None,
            })
            .collect()
    };
    let indicators_out = if unchanged(indicators) {
        snapshot.indicators.clone()
    } else {
        snapshot
            .indicators
            .iter()
            .zip(indicators)
            .filter_map(|(ind, o)| match *o {
                Outcome::Accept => Some(ind.clone()),
                Outcome::Repair(value) => {
                    let mut ind = ind.clone();
                    ind.value = value;
                    Some(ind)
                }
                Outcome::Quarantine | Outcome::Skip => None,
            })
            .collect()
    };
    let assets = if unchanged(quotes) {
        snapshot.assets.clone()
    } else {
        // Per asset id with a repaired or quarantined quote: the last repaired price, and
        // whether a quote was quarantined (which removes every asset of that id).
        let mut changed: BTreeMap<&str, (Option<f64>, bool)> = BTreeMap::new();
        for (q, o) in snapshot.quotes.iter().zip(quotes) {
            match *o {
                Outcome::Accept | Outcome::Skip => {}
                Outcome::Repair(value) => changed.entry(q.asset.as_str()).or_default().0 = Some(value),
                Outcome::Quarantine => changed.entry(q.asset.as_str()).or_default().1 = true,
            }
        }
        let mut assets = Vec::with_capacity(snapshot.assets.len());
        for a in &snapshot.assets {
            match changed.get_mut(a.id.as_str()) {
                None => assets.push(a.clone()),
                Some((_, true)) => {}
                Some((price, false)) => {
                    let mut a = a.clone();
                    // Only the first asset of the id takes the repaired price.
                    if let Some(p) = price.take() {
                        a.price = p;
                    }
                    assets.push(a);
                }
            }
        }
        assets
    };
    MarketSnapshot {
        time: snapshot.time,
        quotes: quotes_out,
        indicators: indicators_out,
        assets,
    }
}

impl Guard for SnapshotGuard {
    fn screen(&mut self, snapshot: &MarketSnapshot) -> RoleResult<Screened> {
        Ok(self.screen_snapshot(snapshot))
    }
}
