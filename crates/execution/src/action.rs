//! Actions = order type × venue, and masks over them.
//!
//! An [`ActionSpace`] is the product of a list of order types and a list of venues; action
//! `i` is order type `i / n_venues` at venue `i % n_venues`. An [`ActionMask`] says which
//! actions may be taken now ([`MaskRules`]: a venue that is down, an order type not allowed
//! for a name).

use prudentia_core::validate::{check_len, check_size};
use prudentia_core::{CoreError, OrderType, Venue};
use serde::{Deserialize, Serialize};

use crate::error::{ExecutionError, ExecutionResult};

/// The largest number of order types or of venues in a space (256 each, so at most 65,536
/// actions).
pub const MAX_CHOICES: usize = 256;

/// One action: how and where to send an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The order type.
    pub order_type: OrderType,
    /// The venue.
    pub venue: Venue,
}

/// The product of order types and venues.
///
/// Deserialization runs [`ActionSpace::check`].
///
/// ```
/// use prudentia_core::{OrderType, Venue};
/// use prudentia_execution::ActionSpace;
///
/// let space = ActionSpace::new(
///     vec![OrderType::Limit, OrderType::Market],
///     vec![Venue("XNAS".into()), Venue("BATS".into())],
/// )?;
/// assert_eq!(space.len(), 4);
/// let a = space.action(3).unwrap();
/// assert_eq!((a.order_type, a.venue.0.as_str()), (OrderType::Market, "BATS"));
/// assert_eq!(space.index_of(&OrderType::Market, &Venue("BATS".into())), Some(3));
/// assert!(space.action(4).is_none());
/// # Ok::<(), prudentia_execution::ExecutionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ActionSpace {
    order_types: Vec<OrderType>,
    venues: Vec<Venue>,
}
prudentia_core::checked_serde!(ActionSpace, ActionSpace::check);

impl ActionSpace {
    /// A space over `order_types × venues`: each list non-empty, at most [`MAX_CHOICES`]
    /// entries, without duplicates, POV rates in (0, 1].
    pub fn new(order_types: Vec<OrderType>, venues: Vec<Venue>) -> ExecutionResult<Self> {
        let mut s = Self { order_types, venues };
        s.check()?;
        Ok(s)
    }

    /// Checks the invariants of [`ActionSpace::new`] (run on every deserialized value).
    pub fn check(&mut self) -> ExecutionResult<()> {
        check_len("order_types", self.order_types.len(), 1)?;
        check_len("venues", self.venues.len(), 1)?;
        check_size("order_types", self.order_types.len(), MAX_CHOICES)?;
        check_size("venues", self.venues.len(), MAX_CHOICES)?;
        for (i, o) in self.order_types.iter().enumerate() {
            o.clone().check()?;
            if self.order_types[..i].contains(o) {
                return Err(CoreError::OutOfRange {
                    field: "order_types",
                    value: i as f64,
                    expected: "distinct order types",
                }
                .into());
            }
        }
        for (i, v) in self.venues.iter().enumerate() {
            if self.venues[..i].contains(v) {
                return Err(CoreError::UnknownId {
                    kind: "duplicate venue",
                    id: v.0.clone(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Number of actions (`order types × venues`, ≥ 1).
    pub fn len(&self) -> usize {
        self.order_types.len() * self.venues.len()
    }

    /// Always `false`: a space holds at least one action.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The order types.
    pub fn order_types(&self) -> &[OrderType] {
        &self.order_types
    }

    /// The venues.
    pub fn venues(&self) -> &[Venue] {
        &self.venues
    }

    /// Action `index`, or `None` when out of range.
    pub fn action(&self, index: usize) -> Option<Action> {
        let nv = self.venues.len();
        let order_type = *self.order_types.get(index / nv)?;
        let venue = self.venues.get(index % nv)?.clone();
        Some(Action { order_type, venue })
    }

    /// The index of an order type at a venue, if both are in the space.
    pub fn index_of(&self, order_type: &OrderType, venue: &Venue) -> Option<usize> {
        let o = self.order_types.iter().position(|x| x == order_type)?;
        let v = self.venues.iter().position(|x| x == venue)?;
        Some(o * self.venues.len() + v)
    }

    /// The mask that [`MaskRules`] leave: every action whose venue is up and whose order
    /// type is allowed. An all-false mask is [`ExecutionError::EmptyMask`].
    pub fn mask(&self, rules: &MaskRules) -> ExecutionResult<ActionMask> {
        let nv = self.venues.len();
        let allowed = (0..self.len())
            .map(|i| {
                let o = &self.order_types[i / nv];
                let v = &self.venues[i % nv];
                !rules.venues_down.contains(v) && !rules.disallowed_order_types.contains(o)
            })
            .collect();
        ActionMask::new(allowed)
    }
}

/// What is not allowed right now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MaskRules {
    /// Venues that are down (or not connected).
    pub venues_down: Vec<Venue>,
    /// Order types not allowed for this name (e.g. no market orders in an illiquid name).
    pub disallowed_order_types: Vec<OrderType>,
}

/// Which actions may be taken: one flag per action, at least one `true`.
///
/// Deserialization runs [`ActionMask::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ActionMask {
    allowed: Vec<bool>,
}
prudentia_core::checked_serde!(ActionMask, ActionMask::check);

impl ActionMask {
    /// A mask from one flag per action; fails with [`ExecutionError::EmptyMask`] when no
    /// flag is set.
    pub fn new(allowed: Vec<bool>) -> ExecutionResult<Self> {
        let mut m = Self { allowed };
        m.check()?;
        Ok(m)
    }

    /// Every action allowed.
    pub fn all(n_actions: usize) -> ExecutionResult<Self> {
        check_size("n_actions", n_actions, MAX_CHOICES * MAX_CHOICES)?;
        Self::new(vec![true; n_actions])
    }

    /// Checks at least one action is allowed and the size is within limits.
    pub fn check(&mut self) -> ExecutionResult<()> {
        check_size("mask", self.allowed.len(), MAX_CHOICES * MAX_CHOICES)?;
        if !self.allowed.iter().any(|&a| a) {
            return Err(ExecutionError::EmptyMask {
                n_actions: self.allowed.len(),
            });
        }
        Ok(())
    }

    /// Number of actions the mask covers.
    pub fn len(&self) -> usize {
        self.allowed.len()
    }

    /// Always `false` for a valid mask (it covers at least one action).
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether action `index` is allowed (`false` when out of range).
    pub fn allows(&self, index: usize) -> bool {
        self.allowed.get(index).copied().unwrap_or(false)
    }

    /// The flags.
    pub fn as_slice(&self) -> &[bool] {
        &self.allowed
    }
}
