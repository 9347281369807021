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

/// Per-topic validators sharing one quarantine, with verdict counts per topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct InputDefense {
    config: InputDefenseConfig,
    validators: BTreeMap<String, Validator>,
    counts: BTreeMap<String, VerdictCounts>,
    quarantine: Quarantine,
}

prudentia_core::checked_serde!(InputDefense, InputDefense::check_state);

impl InputDefense {
    /// Invariants of a loaded checkpoint (validators and quarantine check themselves): a
    /// valid configuration shared with the quarantine, and balanced verdict counts.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        if self.quarantine.config() != &self.config.quarantine {
            return Err(DefenseError::CorruptState {
                detail: "quarantine configuration differs from the defense's",
            });
        }
        if !self.counts.values().all(VerdictCounts::balanced) {
            return Err(DefenseError::CorruptState {
                detail: "verdict counts do not add up",
            });
        }
        Ok(())
    }

    /// A defense after checking the configuration.
    pub fn new(config: InputDefenseConfig) -> DefenseResult<Self> {
        config.validate()?;
        let quarantine = Quarantine::new(config.quarantine.clone())?;
        Ok(Self {
            config,
            validators: BTreeMap::new(),
            counts: BTreeMap::new(),
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
        self.validators.get(topic)
    }

    /// Verdict counts of one topic.
    pub fn counts(&self, topic: &str) -> VerdictCounts {
        self.counts.get(topic).copied().unwrap_or_default()
    }

    /// Verdict counts over all topics.
    pub fn total_counts(&self) -> VerdictCounts {
        self.counts.values().fold(VerdictCounts::default(), |mut a, c| {
            a.input = a.input.saturating_add(c.input);
            a.accepted = a.accepted.saturating_add(c.accepted);
            a.repaired = a.repaired.saturating_add(c.repaired);
            a.quarantined = a.quarantined.saturating_add(c.quarantined);
            a
        })
    }

    /// Topics seen so far.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Creates the validator of `topic` with its own configuration (overriding
    /// `default_validator`); no effect if the topic already has a validator.
    pub fn register_topic(&mut self, topic: &str, config: ValidatorConfig) -> DefenseResult<()> {
        if !self.validators.contains_key(topic) {
            let v = Validator::new(config)?;
            self.validators.insert(topic.to_owned(), v);
        }
        Ok(())
    }

    fn validator_mut(&mut self, topic: &str) -> &mut Validator {
        if !self.validators.contains_key(topic) {
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
            self.validators.insert(topic.to_owned(), v);
        }
        self.validators.get_mut(topic).unwrap_or_else(|| unreachable!())
    }

    fn count(&mut self, topic: &str, v: &Verdict) {
        if let Some(c) = self.counts.get_mut(topic) {
            c.add(v);
        } else {
            let mut c = VerdictCounts::default();
            c.add(v);
            self.counts.insert(topic.to_owned(), c);
        }
    }

    fn file(
        &mut self,
        topic: &str,
        obs: &Observation,
        verdict: Verdict,
        now: Option<Timestamp>,
    ) -> Screening {
        self.count(topic, &verdict);
        let admission = match verdict {
            Verdict::Quarantine { reason } => Some(self.quarantine.push(topic, *obs, reason, now)),
            _ => None,
        };
        Screening { verdict, admission }
    }

    /// Processes one observation of `topic` at processing time `now` (for staleness).
    pub fn process(&mut self, topic: &str, obs: &Observation, now: Option<Timestamp>) -> Screening {
        let verdict = self.validator_mut(topic).observe(obs, now);
        self.file(topic, obs, verdict, now)
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
        let verdict = self.validator_mut(topic).observe_with_market(obs, now, market);
        self.file(topic, obs, verdict, now)
    }

    /// Takes item `id` out of the quarantine and processes it again (see [`ReleaseMode`]).
    pub fn release(&mut self, id: u64, mode: ReleaseMode, now: Option<Timestamp>) -> DefenseResult<Released> {
        let entry = self.quarantine.take(id)?;
        let obs = entry.observation;
        let topic = entry.topic.clone();
        let verdict = match mode {
            ReleaseMode::Recheck => self.validator_mut(&topic).observe(&obs, now),
            ReleaseMode::Override => self.validator_mut(&topic).admit(&obs),
        };
        let screening = self.file(&topic, &obs, verdict, now);
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
