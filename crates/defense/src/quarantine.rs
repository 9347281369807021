//! The bounded, inspectable, releasable quarantine.

use std::collections::VecDeque;

use prudentia_core::validate::{check_size, MAX_WINDOW};
use prudentia_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};
use crate::validator::{Observation, Reason, ReasonKind};

/// What happens when an item arrives at a full quarantine. Either way the displaced item is
/// handed back to the caller and counted: nothing is dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OverflowPolicy {
    /// Keep the stored items and hand the new one back ([`Admission::Rejected`]).
    RejectNew,
    /// Store the new item and hand the oldest back ([`Admission::StoredEvicting`]).
    #[default]
    EvictOldest,
}

/// Configuration of a [`Quarantine`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct QuarantineConfig {
    /// Maximum number of items held. Default 10 000; in `[1, MAX_WINDOW]`
    /// ([`prudentia_core::validate::MAX_WINDOW`]).
    pub capacity: usize,
    /// What to do when full. Default [`OverflowPolicy::EvictOldest`].
    pub overflow: OverflowPolicy,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            overflow: OverflowPolicy::EvictOldest,
        }
    }
}

prudentia_core::checked_serde!(QuarantineConfig, QuarantineConfig::validate);

impl QuarantineConfig {
    /// Checks every field.
    pub fn validate(&self) -> DefenseResult<()> {
        if self.capacity == 0 {
            return Err(DefenseError::TooSmall {
                field: "capacity",
                value: 0,
                min: 1,
            });
        }
        check_size("capacity", self.capacity, MAX_WINDOW)?;
        Ok(())
    }
}

/// One quarantined observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// Unique id, increasing in arrival order.
    pub id: u64,
    /// The topic (series) it belongs to.
    pub topic: String,
    /// The observation as it arrived.
    pub observation: Observation,
    /// Why it was quarantined.
    pub reason: Reason,
    /// Processing time when it was quarantined, if known.
    pub quarantined_at: Option<Timestamp>,
}

/// Where a quarantined item went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum Admission {
    /// Stored under this id.
    Stored {
        /// The id.
        id: u64,
    },
    /// Stored under `id`; the oldest item was evicted and is handed back.
    StoredEvicting {
        /// The new item's id.
        id: u64,
        /// The evicted item.
        evicted: Box<QuarantineEntry>,
    },
    /// Not stored (the quarantine was full under [`OverflowPolicy::RejectNew`]); the item is
    /// handed back.
    Rejected {
        /// The rejected item.
        entry: Box<QuarantineEntry>,
    },
}

/// Counters of a quarantine. Invariant: `admitted = held + released + evicted` and
/// `offered = admitted + rejected` (counters saturate at `u64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuarantineStats {
    /// Items offered.
    pub offered: u64,
    /// Items stored.
    pub admitted: u64,
    /// Items currently held.
    pub held: u64,
    /// Items released by an operator.
    pub released: u64,
    /// Items evicted by overflow.
    pub evicted: u64,
    /// Items rejected by overflow.
    pub rejected: u64,
}

/// A filter over quarantined items; every set field must match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuarantineQuery<'a> {
    /// Only this topic.
    pub topic: Option<&'a str>,
    /// Only this kind of reason.
    pub reason: Option<ReasonKind>,
    /// Only observations with `from <= time`.
    pub from: Option<Timestamp>,
    /// Only observations with `time < to`.
    pub to: Option<Timestamp>,
}

impl QuarantineQuery<'_> {
    fn matches(&self, e: &QuarantineEntry) -> bool {
        self.topic.is_none_or(|t| e.topic == t)
            && self.reason.is_none_or(|r| e.reason.kind() == r)
            && self.from.is_none_or(|f| e.observation.time >= f)
            && self.to.is_none_or(|t| e.observation.time < t)
    }
}

/// A bounded FIFO of quarantined observations that can be inspected and released.
///
/// Ids are below 2⁶³ (a checkpoint with a larger next id is refused), so they never wrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Quarantine {
    config: QuarantineConfig,
    items: VecDeque<QuarantineEntry>,
    next_id: u64,
    stats: QuarantineStats,
}

prudentia_core::checked_serde!(Quarantine, Quarantine::check_state);

/// The largest id a checkpoint may hold as its next id.
const MAX_NEXT_ID: u64 = 1 << 63;

impl Quarantine {
    /// Invariants of a loaded checkpoint: a valid configuration, at most `capacity` items
    /// with strictly increasing ids below `next_id`, and counters that add up.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        let corrupt = |detail| Err(DefenseError::CorruptState { detail });
        if self.items.len() > self.config.capacity {
            return corrupt("quarantine holds more items than its capacity");
        }
        if self.next_id > MAX_NEXT_ID {
            return corrupt("quarantine next id beyond 2^63");
        }
        let mut prev: Option<u64> = None;
        for e in &self.items {
            if prev.is_some_and(|p| e.id <= p) || e.id >= self.next_id {
                return corrupt("quarantine ids not increasing or not below the next id");
            }
            prev = Some(e.id);
        }
        let s = self.stats;
        let admitted = s
            .held
            .checked_add(s.released)
            .and_then(|x| x.checked_add(s.evicted));
        let offered = s.admitted.checked_add(s.rejected);
        if s.held != self.items.len() as u64 || admitted != Some(s.admitted) || offered != Some(s.offered) {
            return corrupt("quarantine counters do not add up");
        }
        Ok(())
    }

    /// An empty quarantine after checking the configuration.
    pub fn new(config: QuarantineConfig) -> DefenseResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            items: VecDeque::new(),
            next_id: 0,
            stats: QuarantineStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &QuarantineConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> QuarantineStats {
        self.stats
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Offers an item; see [`OverflowPolicy`].
    pub fn push(
        &mut self,
        topic: &str,
        observation: Observation,
        reason: Reason,
        quarantined_at: Option<Timestamp>,
    ) -> Admission {
        let entry = QuarantineEntry {
            id: self.next_id,
            topic: topic.to_owned(),
            observation,
            reason,
            quarantined_at,
        };
        self.next_id = self.next_id.saturating_add(1);
        self.stats.offered = self.stats.offered.saturating_add(1);
        let mut evicted = None;
        if self.items.len() >= self.config.capacity {
            match self.config.overflow {
                OverflowPolicy::RejectNew => {
                    self.stats.rejected = self.stats.rejected.saturating_add(1);
                    return Admission::Rejected {
                        entry: Box::new(entry),
                    };
                }
                OverflowPolicy::EvictOldest => {
                    evicted = self.items.pop_front();
                    self.stats.evicted = self.stats.evicted.saturating_add(1);
                    self.stats.held = self.stats.held.saturating_sub(1);
                }
            }
        }
        let id = entry.id;
        self.items.push_back(entry);
        self.stats.admitted = self.stats.admitted.saturating_add(1);
        self.stats.held = self.stats.held.saturating_add(1);
        match evicted {
            Some(e) => Admission::StoredEvicting {
                id,
                evicted: Box::new(e),
            },
            None => Admission::Stored { id },
        }
    }

    /// The item with this id, if held.
    pub fn get(&self, id: u64) -> Option<&QuarantineEntry> {
        self.position(id).map(|i| &self.items[i])
    }

    fn position(&self, id: u64) -> Option<usize> {
        // Ids increase along the deque, so binary search.
        self.items.binary_search_by_key(&id, |e| e.id).ok()
    }

    /// All held items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &QuarantineEntry> {
        self.items.iter()
    }

    /// Held items matching a query, oldest first.
    pub fn query<'a>(&'a self, q: &'a QuarantineQuery<'a>) -> impl Iterator<Item = &'a QuarantineEntry> + 'a {
        self.items.iter().filter(move |e| q.matches(e))
    }

    /// Removes and returns an item (the caller re-processes it; see
    /// [`InputDefense::release`](crate::InputDefense::release)).
    pub fn take(&mut self, id: u64) -> DefenseResult<QuarantineEntry> {
        let i = self
            .position(id)
            .ok_or(DefenseError::UnknownQuarantineId { id })?;
        let e = self
            .items
            .remove(i)
            .ok_or(DefenseError::UnknownQuarantineId { id })?;
        self.stats.released = self.stats.released.saturating_add(1);
        self.stats.held = self.stats.held.saturating_sub(1);
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(d: i64) -> Observation {
        Observation::new(Timestamp::from_nanos(d), d as f64)
    }

    #[test]
    fn overflow_policies_hand_items_back_and_count() {
        let mut q = Quarantine::new(QuarantineConfig {
            capacity: 2,
            overflow: OverflowPolicy::RejectNew,
        })
        .unwrap();
        assert!(matches!(
            q.push("a", obs(1), Reason::Missing, None),
            Admission::Stored { id: 0 }
        ));
        assert!(matches!(
            q.push("a", obs(2), Reason::Missing, None),
            Admission::Stored { id: 1 }
        ));
        match q.push("b", obs(3), Reason::Missing, None) {
            Admission::Rejected { entry } => assert_eq!(entry.topic, "b"),
            other => panic!("{other:?}"),
        }
        let s = q.stats();
        assert_eq!((s.offered, s.admitted, s.rejected, s.held), (3, 2, 1, 2));

        let mut q = Quarantine::new(QuarantineConfig {
            capacity: 2,
            overflow: OverflowPolicy::EvictOldest,
        })
        .unwrap();
        let _ = q.push("a", obs(1), Reason::Missing, None);
        let _ = q.push("a", obs(2), Reason::Missing, None);
        match q.push("b", obs(3), Reason::Missing, None) {
            Admission::StoredEvicting { id: 2, evicted } => assert_eq!(evicted.id, 0),
            other => panic!("{other:?}"),
        }
        assert_eq!(q.stats().evicted, 1);
        assert_eq!(q.take(1).unwrap().id, 1);
        assert!(matches!(
            q.take(1),
            Err(DefenseError::UnknownQuarantineId { id: 1 })
        ));
        let s = q.stats();
        assert_eq!(s.admitted, s.held + s.released + s.evicted);
    }

    #[test]
    fn queries_filter_by_topic_reason_and_time() {
        let mut q = Quarantine::new(QuarantineConfig::default()).unwrap();
        let _ = q.push("a", obs(1), Reason::Missing, None);
        let _ = q.push("b", obs(2), Reason::NonFinite { value: f64::NAN }, None);
        let _ = q.push("a", obs(3), Reason::NonFinite { value: f64::NAN }, None);
        let by_topic = QuarantineQuery {
            topic: Some("a"),
            ..Default::default()
        };
        assert_eq!(q.query(&by_topic).count(), 2);
        let by_reason = QuarantineQuery {
            reason: Some(ReasonKind::NonFinite),
            ..Default::default()
        };
        assert_eq!(q.query(&by_reason).map(|e| e.id).collect::<Vec<_>>(), vec![1, 2]);
        let by_time = QuarantineQuery {
            from: Some(Timestamp::from_nanos(2)),
            to: Some(Timestamp::from_nanos(3)),
            ..Default::default()
        };
        assert_eq!(q.query(&by_time).map(|e| e.id).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn zero_capacity_is_an_error() {
        assert!(matches!(
            Quarantine::new(QuarantineConfig {
                capacity: 0,
                ..Default::default()
            }),
            Err(DefenseError::TooSmall {
                field: "capacity",
                ..
            })
        ));
    }
}
