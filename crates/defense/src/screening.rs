//! Many topics, one quarantine, and the books that prove nothing was lost.

use std::collections::BTreeMap;

use prudentia_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};
use crate::quarantine::{Admission, Quarantine, QuarantineConfig, QuarantineEntry};
use crate::validator::{Observation, Validator, ValidatorConfig, Verdict};

/// Configuration of an [`InputDefense`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct InputDefenseConfig {
    /// Validator configuration for topics without an override.
    pub default_validator: ValidatorConfig,
    /// Per-topic overrides.
    pub topics: BTreeMap<String, ValidatorConfig>,
    /// The shared quarantine.
    pub quarantine: QuarantineConfig,
}

prudentia_core::checked_serde!(InputDefenseConfig, InputDefenseConfig::validate);

impl InputDefenseConfig {
    /// Checks every validator and the quarantine configuration.
    pub fn validate(&self) -> DefenseResult<()> {
        self.default_validator.validate()?;
        for c in self.topics.values() {
            c.validate()?;
        }
        self.quarantine.validate()
    }
}

/// Verdict counts. Invariant (the conservation law, property-tested):
/// `accepted + repaired + quarantined = input` (counters saturate at `u64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// Observations processed (releases count again: they are processed as if they arrived).
    pub input: u64,
    /// Accepted as they were.
    pub accepted: u64,
    /// Repaired.
    pub repaired: u64,
    /// Quarantined (stored, or handed back by the overflow policy).
    pub quarantined: u64,
}

impl VerdictCounts {
    fn add(&mut self, v: &Verdict) {
        self.input = self.input.saturating_add(1);
        let c = match v {
            Verdict::Accept => &mut self.accepted,
            Verdict::Repair { .. } => &mut self.repaired,
            Verdict::Quarantine { .. } => &mut self.quarantined,
        };
        *c = c.saturating_add(1);
    }

    fn balanced(&self) -> bool {
        self.accepted
            .checked_add(self.repaired)
            .and_then(|x| x.checked_add(self.quarantined))
            == Some(self.input)
    }
}

/// The result of processing one observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct Screening {
    /// The verdict.
    pub verdict: Verdict,
    /// Where the observation went if quarantined (stored, or handed back on overflow).
    pub admission: Option<Admission>,
}

/// How an operator re-admits a quarantined item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleaseMode {
    /// Process it again through its topic's validator, as if it had just arrived (it may be
    /// quarantined again, under a new id).
    Recheck,
    /// Accept it without checks; the validator's state advances if it is in time order.
    Override,
}

/// A released item and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct Released {
    /// The item taken out of the quarantine.
    pub entry: QuarantineEntry,
    /// Its processing.
    pub screening: Screening,
}

/// One topic's validator and verdict counts (the counts are `None` until the first
/// observation is filed, as a topic registered without data has none).
#[derive(Debug, Clone, PartialEq)]
struct TopicState {
    name: String,
    validator: Validator,
    counts: Option<VerdictCounts>,
}

/// Per-topic validators sharing one quarantine, with verdict counts per topic.
///
/// Topics live in slots (a vector in creation order) with a name → slot index, so a caller
/// that screens the same topics again and again (the [`SnapshotGuard`](crate::SnapshotGuard))
/// resolves each name once and then goes straight to the slot
/// ([`slot_of`](Self::slot_of), [`process_slot`](Self::process_slot)). The serialized form
/// is the topic-keyed maps `validators` and `counts` (sorted by topic), unchanged from
/// before the slots; loading checks the configuration, the quarantine, balanced counts and
/// that every counted topic has a validator.
#[derive(Debug, Clone)]
pub struct InputDefense {
    config: InputDefenseConfig,
    /// Slots in creation order.
    slots: Vec<TopicState>,
    /// Topic → slot.
    index: BTreeMap<String, usize>,
    quarantine: Quarantine,
}

/// Equal when the configuration, the quarantine and every topic's validator and counts are
/// equal (the slot order, which is creation order, is not state).
impl PartialEq for InputDefense {
    fn eq(&self, o: &Self) -> bool {
        self.config == o.config
            && self.quarantine == o.quarantine
            && self.index.len() == o.index.len()
            && self.sorted_slots().zip(o.sorted_slots()).all(|(a, b)| a == b)
    }
}

/// Serializes a map `topic → field` in topic order, borrowing from the slots.
struct SlotMap<'a, T: Serialize> {
    defense: &'a InputDefense,
    field: fn(&TopicState) -> Option<&T>,
}

impl<T: Serialize> Serialize for SlotMap<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.defense
                .sorted_slots()
                .filter_map(|t| (self.field)(t).map(|v| (t.name.as_str(), v))),
        )
    }
}

/// The serialized form of an [`InputDefense`] (borrowed, for writing).
#[derive(Serialize)]
struct InputDefenseRef<'a> {
    config: &'a InputDefenseConfig,
    validators: SlotMap<'a, Validator>,
    counts: SlotMap<'a, VerdictCounts>,
    quarantine: &'a Quarantine,
}

/// The serialized form of an [`InputDefense`] (owned, for reading).
#[derive(Deserialize)]
struct InputDefenseState {
    config: InputDefenseConfig,
    validators: BTreeMap<String, Validator>,
    counts: BTreeMap<String, VerdictCounts>,
    quarantine: Quarantine,
}

impl Serialize for InputDefense {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        InputDefenseRef {
            config: &self.config,
            validators: SlotMap {
                defense: self,
                field: |t| Some(&t.validator),
            },
            counts: SlotMap {
                defense: self,
                field: |t| t.counts.as_ref(),
            },
            quarantine: &self.quarantine,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for InputDefense {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let state = InputDefenseState::deserialize(deserializer)?;
        Self::from_state(state).map_err(serde::de::Error::custom)
    }
}

impl InputDefense {
    /// A loaded checkpoint into slots (in topic order), after checking its invariants
    /// (validators and quarantine check themselves): a valid configuration shared with the
    /// quarantine, balanced verdict counts, and counts only for topics with a validator.
    fn from_state(state: InputDefenseState) -> DefenseResult<Self> {
        let InputDefenseState {
            config,
            validators,
            mut counts,
            quarantine,
        } = state;
        config.validate()?;
        if quarantine.config() != &config.quarantine {
            return Err(DefenseError::CorruptState {
                detail: "quarantine configuration differs from the defense's",
            });
        }
        if !counts.values().all(VerdictCounts::balanced) {
            return Err(DefenseError::CorruptState {
                detail: "verdict counts do not add up",
            });
        }
        if counts.keys().any(|k| !validators.contains_key(k)) {
            return Err(DefenseError::CorruptState {
                detail: "verdict counts for a topic without a validator",
            });
        }
        let mut slots = Vec::with_capacity(validators.len());
        let mut index = BTreeMap::new();
        for (name, validator) in validators {
            let counts = counts.remove(&name);
            index.insert(name.clone(), slots.len());
            slots.push(TopicState {
                name,
                validator,
                counts,
            });
        }
        Ok(Self {
            config,
            slots,
            index,
            quarantine,
        })
    }

    /// The slots in topic order.
    fn sorted_slots(&self) -> impl Iterator<Item = &TopicState> {
        self.index.values().filter_map(|&s| self.slots.get(s))
    }

    /// A defense after checking the configuration.
    pub fn new(config: InputDefenseConfig) -> DefenseResult<Self> {
        config.validate()?;
        let quarantine = Quarantine::new(config.quarantine.clone())?;
        Ok(Self {
            config,
            slots: Vec::new(),
            index: BTreeMap::new(),
            quarantine,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &InputDefenseConfig {
        &self.config
    }

    /// The quarantine (inspect with [`Quarantine::query`]).
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// The validator of a topic, once it has seen data.
    pub fn validator(&self, topic: &str) -> Option<&Validator> {
        self.index
            .get(topic)
            .and_then(|&s| self.slots.get(s))
            .map(|t| &t.validator)
    }

    /// Verdict counts of one topic.
    pub fn counts(&self, topic: &str) -> VerdictCounts {
        self.index
            .get(topic)
            .and_then(|&s| self.slots.get(s))
            .and_then(|t| t.counts)
            .unwrap_or_default()
    }

    /// Verdict counts over all topics.
    pub fn total_counts(&self) -> VerdictCounts {
        self.slots
            .iter()
            .filter_map(|t| t.counts)
            .fold(VerdictCounts::default(), |mut a, c| {
                a.input = a.input.saturating_add(c.input);
                a.accepted = a.accepted.saturating_add(c.accepted);
                a.repaired = a.repaired.saturating_add(c.repaired);
                a.quarantined = a.quarantined.saturating_add(c.quarantined);
                a
            })
    }

    /// Topics seen so far (in topic order).
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// The slot of `topic`, if it has a validator: a handle for
    /// [`process_slot`](Self::process_slot) and [`slot_topic`](Self::slot_topic) that stays
    /// valid for the life of this defense (topics are never removed).
    pub fn slot_of(&self, topic: &str) -> Option<usize> {
        self.index.get(topic).copied()
    }

    /// The topic of a slot, or `None` when `slot` is not one of this defense's.
    pub fn slot_topic(&self, slot: usize) -> Option<&str> {
        self.slots.get(slot).map(|t| t.name.as_str())
    }

    /// The validator in a slot, or `None` when `slot` is not one of this defense's.
    pub fn slot_validator(&self, slot: usize) -> Option<&Validator> {
        self.slots.get(slot).map(|t| &t.validator)
    }

    /// Creates the validator of `topic` with its own configuration (overriding
    /// `default_validator`); no effect if the topic already has a validator.
    pub fn register_topic(&mut self, topic: &str, config: ValidatorConfig) -> DefenseResult<()> {
        self.register_slot(topic, config).map(|_| ())
    }

    /// [`register_topic`](Self::register_topic), returning the topic's slot (the existing
    /// one when the topic already has a validator).
    pub fn register_slot(&mut self, topic: &str, config: ValidatorConfig) -> DefenseResult<usize> {
        if let Some(&s) = self.index.get(topic) {
            return Ok(s);
        }
        let validator = Validator::new(config)?;
        Ok(self.insert(topic, validator))
    }

    fn insert(&mut self, topic: &str, validator: Validator) -> usize {
        let slot = self.slots.len();
        self.slots.push(TopicState {
            name: topic.to_owned(),
            validator,
            counts: None,
        });
        self.index.insert(topic.to_owned(), slot);
        slot
    }

    /// The slot of `topic`, created with its configured validator (the per-topic override or
    /// `default_validator`) on first use.
    pub fn slot_or_insert(&mut self, topic: &str) -> usize {
        if let Some(&s) = self.index.get(topic) {
            return s;
        }
        let cfg = self
            .config
            .topics
            .get(topic)
            .unwrap_or(&self.config.default_validator)
            .clone();
        // Configurations were validated in `new`, so construction cannot fail; fall back
        // to the default configuration defensively rather than panic.
        let v = Validator::new(cfg).unwrap_or_else(|_| {
            Validator::new(ValidatorConfig::default()).unwrap_or_else(|_| unreachable!())
        });
        self.insert(topic, v)
    }

    /// Judges with the slot's validator and files the verdict (counts, quarantine).
    fn judge_and_file(
        &mut self,
        slot: usize,
        obs: &Observation,
        now: Option<Timestamp>,
        judge: impl FnOnce(&mut Validator) -> Verdict,
    ) -> Option<Screening> {
        let t = self.slots.get_mut(slot)?;
        let verdict = judge(&mut t.validator);
        t.counts.get_or_insert_with(VerdictCounts::default).add(&verdict);
        let admission = match verdict {
            Verdict::Quarantine { reason } => Some(self.quarantine.push(&t.name, *obs, reason, now)),
            _ => None,
        };
        Some(Screening { verdict, admission })
    }

    /// Processes one observation of `topic` at processing time `now` (for staleness).
    pub fn process(&mut self, topic: &str, obs: &Observation, now: Option<Timestamp>) -> Screening {
        self.process_with_market(topic, obs, now, 0.0)
    }

    /// Processes one observation of `topic` with the same period's market move taken out
    /// of the robust check (see [`Validator::observe_with_market`]).
    pub fn process_with_market(
        &mut self,
        topic: &str,
        obs: &Observation,
        now: Option<Timestamp>,
        market: f64,
    ) -> Screening {
        let slot = self.slot_or_insert(topic);
        self.process_slot(slot, obs, now, market)
            .unwrap_or_else(|| unreachable!())
    }

    /// [`process_with_market`](Self::process_with_market) for the topic in `slot` (from
    /// [`slot_of`](Self::slot_of) or [`register_slot`](Self::register_slot)), without a
    /// name lookup; `None` (and nothing changes) when `slot` is not one of this defense's.
    pub fn process_slot(
        &mut self,
        slot: usize,
        obs: &Observation,
        now: Option<Timestamp>,
        market: f64,
    ) -> Option<Screening> {
        self.judge_and_file(slot, obs, now, |v| v.observe_with_market(obs, now, market))
    }

    /// Takes item `id` out of the quarantine and processes it again (see [`ReleaseMode`]).
    pub fn release(&mut self, id: u64, mode: ReleaseMode, now: Option<Timestamp>) -> DefenseResult<Released> {
        let entry = self.quarantine.take(id)?;
        let obs = entry.observation;
        let slot = self.slot_or_insert(&entry.topic);
        let screening = self
            .judge_and_file(slot, &obs, now, |v| match mode {
                ReleaseMode::Recheck => v.observe(&obs, now),
                ReleaseMode::Override => v.admit(&obs),
            })
            .unwrap_or_else(|| unreachable!());
        Ok(Released { entry, screening })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quarantine::QuarantineQuery;
    use crate::validator::ReasonKind;

    #[test]
    fn release_recheck_and_override() {
        let mut d = InputDefense::new(InputDefenseConfig::default()).unwrap();
        let t = Timestamp::from_nanos;
        let s = d.process("x", &Observation::new(t(1), f64::NAN), None);
        let Some(Admission::Stored { id }) = s.admission else {
            panic!()
        };
        let s = d.process("x", &Observation::new(t(2), 1.0), None);
        assert_eq!(s.verdict, Verdict::Accept);
        // Rechecking it quarantines it again, under a new id (now also out of order).
        let r = d.release(id, ReleaseMode::Recheck, None).unwrap();
        assert!(matches!(r.screening.admission, Some(Admission::Stored { id: 1 })));
        // An out-of-order value overridden by the operator is accepted but does not move time back.
        let s = d.process("x", &Observation::new(t(0), 5.0), None);
        let Some(Admission::Stored { id }) = s.admission else {
            panic!()
        };
        let q = QuarantineQuery {
            reason: Some(ReasonKind::OutOfOrder),
            ..Default::default()
        };
        assert_eq!(d.quarantine().query(&q).count(), 2);
        let r = d.release(id, ReleaseMode::Override, None).unwrap();
        assert_eq!(r.screening.verdict, Verdict::Accept);
        assert_eq!(d.validator("x").unwrap().last_time(), Some(t(2)));
        let c = d.counts("x");
        assert_eq!(c.input, 5);
        assert_eq!(c.accepted + c.repaired + c.quarantined, c.input);
        let qs = d.quarantine().stats();
        assert_eq!(c.quarantined, qs.held + qs.released + qs.evicted + qs.rejected);
        assert!(d.release(99, ReleaseMode::Recheck, None).is_err());
    }
}
