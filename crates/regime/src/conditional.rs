//! Regime-conditional policy heads: one [`OnlinePolicy`] per regime, each decision routed
//! to the current regime's head.
//!
//! On a detected change (a new label, or `RegimeState::changed`) exploration is frozen
//! for exactly [`ConditionalPolicyConfig::freeze_decisions`] decisions: the head is asked
//! for its greedy action while the new regime's statistics are thin and the detector may
//! still revise its view. A regime seen for the first time starts from the configured
//! conservative prior (a clone of the template head, e.g. a
//! [`LinUcb`](prudentia_learn::bandit::LinUcb) with a large ridge and zero prior mean).

use std::collections::BTreeMap;

use prudentia_core::traits::{ActionChoice, OnlinePolicy, RoleResult};
use prudentia_core::validate::{check_size, MAX_WINDOW};
use prudentia_core::{CoreError, RegimeLabel, RegimeState};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{RegimeError, RegimeResult};

/// Configuration of [`RegimeConditionalPolicy`]. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct ConditionalPolicyConfig {
    /// Decisions without exploration after each detected change. Default 20; at most
    /// `MAX_WINDOW` (2²⁴).
    pub freeze_decisions: usize,
    /// Whether `RegimeState::changed` with an unchanged label also freezes exploration
    /// (a change point inside the same labelled regime). Default true.
    pub freeze_on_change_point: bool,
}

prudentia_core::checked_serde!(ConditionalPolicyConfig, ConditionalPolicyConfig::check);

impl ConditionalPolicyConfig {
    /// Checks the freeze length (beyond `MAX_WINDOW` is [`CoreError::TooLarge`]).
    pub fn validate(&self) -> Result<(), CoreError> {
        check_size("freeze_decisions", self.freeze_decisions, MAX_WINDOW)
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

impl Default for ConditionalPolicyConfig {
    fn default() -> Self {
        Self {
            freeze_decisions: 20,
            freeze_on_change_point: true,
        }
    }
}

/// One policy head per regime (see the [module docs](self)).
///
/// Deserializing validates the checkpoint (configuration, every head with the template's
/// number of actions, a head for the current regime, a freeze no longer than configured);
/// the heads validate themselves as they load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RegimeConditionalPolicy<P> {
    config: ConditionalPolicyConfig,
    template: P,
    heads: BTreeMap<RegimeLabel, P>,
    current: Option<RegimeLabel>,
    frozen_remaining: usize,
}

// `prudentia_core::checked_serde!` for a generic type: the derives (turned into inherent
// functions by `remote = "Self"`) plus the state check on load.
impl<P: Serialize> Serialize for RegimeConditionalPolicy<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RegimeConditionalPolicy::<P>::serialize(self, serializer)
    }
}

impl<'de, P: Deserialize<'de> + OnlinePolicy> Deserialize<'de> for RegimeConditionalPolicy<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = RegimeConditionalPolicy::<P>::deserialize(deserializer)?;
        value.check_state().map_err(serde::de::Error::custom)?;
        Ok(value)
    }
}

impl<P: OnlinePolicy> RegimeConditionalPolicy<P> {
    fn check_state(&mut self) -> RegimeResult<()> {
        self.config.validate()?;
        let n = self.template.n_actions();
        if n == 0 {
            return Err(CoreError::EmptyInput {
                field: "conservative_template actions",
                len: 0,
                min: 1,
            }
            .into());
        }
        if let Some(h) = self.heads.values().find(|h| h.n_actions() != n) {
            return Err(CoreError::ShapeMismatch {
                field: "head actions",
                expected: vec![n],
                found: vec![h.n_actions()],
            }
            .into());
        }
        if let Some(label) = &self.current {
            if !self.heads.contains_key(label) {
                return Err(RegimeError::NoHead {
                    regime: label.to_string(),
                });
            }
        }
        check_size(
            "frozen_remaining",
            self.frozen_remaining,
            self.config.freeze_decisions,
        )?;
        Ok(())
    }
}

impl<P: OnlinePolicy + Clone> RegimeConditionalPolicy<P> {
    /// A container whose unseen regimes start as clones of `conservative_template`.
    pub fn new(config: ConditionalPolicyConfig, conservative_template: P) -> RegimeResult<Self> {
        config.validate()?;
        if conservative_template.n_actions() == 0 {
            return Err(CoreError::EmptyInput {
                field: "conservative_template actions",
                len: 0,
                min: 1,
            }
            .into());
        }
        Ok(Self {
            config,
            template: conservative_template,
            heads: BTreeMap::new(),
            current: None,
            frozen_remaining: 0,
        })
    }

    /// Installs a (pre-trained) head for `label`. Its action count must match the template's.
    pub fn insert_head(&mut self, label: RegimeLabel, head: P) -> RegimeResult<()> {
        if head.n_actions() != self.template.n_actions() {
            return Err(CoreError::ShapeMismatch {
                field: "head actions",
                expected: vec![self.template.n_actions()],
                found: vec![head.n_actions()],
            }
            .into());
        }
        self.heads.insert(label, head);
        Ok(())
    }

    /// Tells the container the current regime. Returns whether a change was detected
    /// (which starts a freeze). The first regime ever set is not a change.
    pub fn observe_regime(&mut self, state: &RegimeState) -> bool {
        let label_changed = self.current.as_ref().is_some_and(|c| *c != state.label);
        let first = self.current.is_none();
        let change = !first && (label_changed || (self.config.freeze_on_change_point && state.changed));
        if !self.heads.contains_key(&state.label) {
            self.heads.insert(state.label.clone(), self.template.clone());
        }
        self.current = Some(state.label.clone());
        if change {
            self.frozen_remaining = self.config.freeze_decisions;
        }
        change
    }

    /// The current regime.
    pub fn current_regime(&self) -> Option<&RegimeLabel> {
        self.current.as_ref()
    }

    /// Decisions left in the current exploration freeze.
    pub fn frozen_remaining(&self) -> usize {
        self.frozen_remaining
    }

    /// The head of a regime, if it exists.
    pub fn head(&self, label: &RegimeLabel) -> Option<&P> {
        self.heads.get(label)
    }

    /// Number of heads.
    pub fn n_heads(&self) -> usize {
        self.heads.len()
    }

    fn current_head(&self) -> RegimeResult<&P> {
        let label = self.current.as_ref().ok_or_else(|| RegimeError::NoHead {
            regime: "<none: call observe_regime first>".into(),
        })?;
        self.heads.get(label).ok_or_else(|| RegimeError::NoHead {
            regime: label.to_string(),
        })
    }

    /// One decision: routes to the current head, exploring only outside a freeze, and
    /// counts the decision against the freeze.
    pub fn decide(&mut self, context: &[f64], seed: u64) -> RoleResult<ActionChoice> {
        let explore = self.frozen_remaining == 0;
        let choice = self.current_head()?.choose(context, explore, seed)?;
        self.frozen_remaining = self.frozen_remaining.saturating_sub(1);
        Ok(choice)
    }

    /// Learns a reward into the head of `label` (use when the regime moved between the
    /// decision and its outcome).
    pub fn learn_in(
        &mut self,
        label: &RegimeLabel,
        context: &[f64],
        action: usize,
        reward: f64,
    ) -> RoleResult<()> {
        let head = self.heads.get_mut(label).ok_or_else(|| RegimeError::NoHead {
            regime: label.to_string(),
        })?;
        head.update(context, action, reward)
    }
}

impl<P: OnlinePolicy + Clone> OnlinePolicy for RegimeConditionalPolicy<P> {
    fn n_actions(&self) -> usize {
        self.template.n_actions()
    }

    /// Routes to the current head; explores only if asked and not frozen. Does not count
    /// against the freeze (use [`RegimeConditionalPolicy::decide`] for that).
    fn choose(&self, context: &[f64], explore: bool, seed: u64) -> RoleResult<ActionChoice> {
        self.current_head()?
            .choose(context, explore && self.frozen_remaining == 0, seed)
    }

    /// Learns into the current regime's head.
    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()> {
        let label = self.current.clone().ok_or_else(|| RegimeError::NoHead {
            regime: "<none: call observe_regime first>".into(),
        })?;
        self.learn_in(&label, context, action, reward)
    }
}
