//! The routing policy: context features from the market, a mask, a seeded choice of order
//! type × venue with its propensity, and learning from fills.
//!
//! [`ExecutionRouter`] implements core's [`ExecutionPolicy`] (routes each order, seeded per
//! order: sets the order type, the venue, a limit price for limit and pegged orders, and the
//! [`RoutingLog`] with action, propensity and seed) and [`OnlineLearner<RoutedFill>`]: a fill
//! becomes the reward `−slippage` in bps against the arrival price,
//! `slippage = sign · (P_fill − P_arrival) / P_arrival · 10⁴` (`sign` = +1 for a buy, −1 for a
//! sell). A fill that is not the routed action's (another order type or venue), a context of
//! the wrong length, NaN anywhere, a propensity of 0: typed errors, and the policy is
//! unchanged.
//!
//! The policy behind the router is any [`RoutingPolicy`]: the linear bandits of
//! prudentia-learn, or the baselines [`FixedAction`] and [`UniformRandom`].

use prudentia_core::traits::{ExecutionPolicy, OnlineLearner, OnlinePolicy};
use prudentia_core::validate::{check_finite, check_shape};
use prudentia_core::{
    CoreError, Fill, MarketSnapshot, Order, OrderType, Role, RoleError, RoleResult, RoutingLog,
};
use prudentia_learn::bandit::LinearBandit;
use prudentia_learn::LearnError;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::action::{ActionMask, ActionSpace, MaskRules};
use crate::error::{ExecutionError, ExecutionResult};
use crate::features::{indicator, MarketFacts, MarketState, SnapshotIndex, N_FEATURES};
use crate::schedule::LimitPriceRule;

/// A contextual policy over a finite action set that can be masked and reports the
/// propensity of its choice. Object-safe.
pub trait RoutingPolicy: Send + Sync {
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Context length.
    fn context_dim(&self) -> usize;
    /// Chooses an allowed action for `context` (`mask` has one flag per action), returning
    /// `(action, propensity)`. `explore = false` asks for the greedy action; `seed` drives
    /// any randomness.
    fn choose(
        &self,
        context: &[f64],
        mask: &ActionMask,
        explore: bool,
        seed: u64,
    ) -> ExecutionResult<(usize, f64)>;
    /// Learns `reward` for `action` in `context`; on `Err` nothing changed.
    fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> ExecutionResult<()>;
}

/// The linear bandits of prudentia-learn ([`LinUcb`](prudentia_learn::bandit::LinUcb),
/// [`LinearThompson`](prudentia_learn::bandit::LinearThompson),
/// [`EpsilonGreedy`](prudentia_learn::bandit::EpsilonGreedy), disjoint or shared-feature)
/// route directly; choices with up to 64 actions allocate nothing.
impl<B: LinearBandit + ?Sized> RoutingPolicy for B {
    fn n_actions(&self) -> usize {
        OnlinePolicy::n_actions(self)
    }
    fn context_dim(&self) -> usize {
        LinearBandit::context_dim(self)
    }
    fn choose(
        &self,
        context: &[f64],
        mask: &ActionMask,
        explore: bool,
        seed: u64,
    ) -> ExecutionResult<(usize, f64)> {
        let n = OnlinePolicy::n_actions(self);
        check_choice_input(context, mask, n, LinearBandit::context_dim(self))?;
        let mut stack = [0.0; 64];
        let mut heap = Vec::new();
        let scores = if n <= stack.len() {
            &mut stack[..n]
        } else {
            heap.resize(n, 0.0);
            &mut heap[..]
        };
        let c = self
            .decide(context, Some(mask.as_slice()), explore, seed, scores)
            .map_err(from_learn)?;
        Ok((c.action, c.propensity))
    }
    fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> ExecutionResult<()> {
        LinearBandit::learn(self, context, action, reward).map_err(from_learn)
    }
}

fn from_learn(e: LearnError) -> ExecutionError {
    match e {
        LearnError::NoAllowedAction { n_actions } => ExecutionError::EmptyMask { n_actions },
        LearnError::UnknownAction { action, n_actions } => {
            ExecutionError::ActionOutOfRange { action, n_actions }
        }
        other => ExecutionError::Learn(other),
    }
}

fn check_choice_input(context: &[f64], mask: &ActionMask, n: usize, d: usize) -> ExecutionResult<()> {
    if context.len() != d {
        return Err(ExecutionError::ContextLength {
            expected: d,
            found: context.len(),
        });
    }
    check_finite("context", context)?;
    if mask.len() != n {
        return Err(CoreError::ShapeMismatch {
            field: "mask",
            expected: vec![n],
            found: vec![mask.len()],
        }
        .into());
    }
    Ok(())
}

/// Always the same action (when the mask allows it; otherwise the first allowed action), with
/// propensity 1: the "single fixed action" baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedAction {
    /// The action.
    pub action: usize,
    /// Number of actions.
    pub n_actions: usize,
    /// Context length.
    pub context_dim: usize,
}

impl RoutingPolicy for FixedAction {
    fn n_actions(&self) -> usize {
        self.n_actions
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn choose(
        &self,
        context: &[f64],
        mask: &ActionMask,
        _explore: bool,
        _seed: u64,
    ) -> ExecutionResult<(usize, f64)> {
        check_choice_input(context, mask, self.n_actions, self.context_dim)?;
        if mask.allows(self.action) {
            return Ok((self.action, 1.0));
        }
        let first = (0..mask.len())
            .find(|&a| mask.allows(a))
            .ok_or(ExecutionError::EmptyMask {
                n_actions: mask.len(),
            })?;
        Ok((first, 1.0))
    }
    fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> ExecutionResult<()> {
        check_learn_input(context, action, reward, self.n_actions, self.context_dim)
    }
}

/// Uniform over the allowed actions (propensity `1 / allowed`): a logging policy with full
/// support, for collecting data to evaluate other policies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniformRandom {
    /// Number of actions.
    pub n_actions: usize,
    /// Context length.
    pub context_dim: usize,
}

impl RoutingPolicy for UniformRandom {
    fn n_actions(&self) -> usize {
        self.n_actions
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn choose(
        &self,
        context: &[f64],
        mask: &ActionMask,
        _explore: bool,
        seed: u64,
    ) -> ExecutionResult<(usize, f64)> {
        check_choice_input(context, mask, self.n_actions, self.context_dim)?;
        let allowed = mask.as_slice().iter().filter(|&&a| a).count();
        if allowed == 0 {
            return Err(ExecutionError::EmptyMask {
                n_actions: mask.len(),
            });
        }
        let pick = ChaCha8Rng::seed_from_u64(seed).random_range(0..allowed);
        let action =
            (0..mask.len())
                .filter(|&a| mask.allows(a))
                .nth(pick)
                .ok_or(ExecutionError::EmptyMask {
                    n_actions: mask.len(),
                })?;
        Ok((action, 1.0 / allowed as f64))
    }
    fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> ExecutionResult<()> {
        check_learn_input(context, action, reward, self.n_actions, self.context_dim)
    }
}

fn check_learn_input(context: &[f64], action: usize, reward: f64, n: usize, d: usize) -> ExecutionResult<()> {
    if context.len() != d {
        return Err(ExecutionError::ContextLength {
            expected: d,
            found: context.len(),
        });
    }
    check_finite("context", context)?;
    if action >= n {
        return Err(ExecutionError::ActionOutOfRange { action, n_actions: n });
    }
    check_finite("reward", &[reward])?;
    Ok(())
}

/// Settings of an [`ExecutionRouter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct RouterConfig {
    /// Explore (the bandit's exploration) when routing; `false` routes greedily. Default `true`.
    pub explore: bool,
    /// Limit price of limit orders. Default [`LimitPriceRule::Join`] (pegged orders are priced
    /// at the mid).
    pub limit_rule: LimitPriceRule,
    /// Price tick (currency units, > 0). Default 0.01.
    pub tick: f64,
    /// What is not allowed right now (venues down, order types not allowed). Default: nothing.
    pub rules: MaskRules,
}
prudentia_core::checked_serde!(RouterConfig, RouterConfig::validate);

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            explore: true,
            limit_rule: LimitPriceRule::Join,
            tick: 0.01,
            rules: MaskRules::default(),
        }
    }
}

impl RouterConfig {
    /// Checks the tick (finite, > 0) and the limit rule.
    pub fn validate(&self) -> ExecutionResult<()> {
        prudentia_core::validate::check_positive("tick", self.tick)?;
        let mut r = self.limit_rule;
        r.check()
    }
}

/// One routing decision with everything needed to learn from its fill and to replay it.
///
/// Deserialization runs [`RoutingRecord::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RoutingRecord {
    /// The context the policy saw ([`N_FEATURES`] values).
    pub context: Vec<f64>,
    /// The chosen action.
    pub action: usize,
    /// Its propensity, in (0, 1].
    pub propensity: f64,
    /// The seed of the choice.
    pub seed: u64,
}
prudentia_core::checked_serde!(RoutingRecord, RoutingRecord::check);

impl RoutingRecord {
    /// Checks a finite context of [`N_FEATURES`] values and a propensity in (0, 1].
    pub fn check(&mut self) -> ExecutionResult<()> {
        if self.context.len() != N_FEATURES {
            return Err(ExecutionError::ContextLength {
                expected: N_FEATURES,
                found: self.context.len(),
            });
        }
        check_finite("context", &self.context)?;
        if !(self.propensity > 0.0 && self.propensity <= 1.0) {
            return Err(ExecutionError::BadPropensity {
                index: 0,
                value: self.propensity,
            });
        }
        Ok(())
    }

    /// The log that goes into core's [`Order`].
    pub fn log(&self) -> RoutingLog {
        RoutingLog {
            action: self.action,
            propensity: self.propensity,
            seed: self.seed,
        }
    }
}

/// A fill together with the routing decision it came from: the event the router learns from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutedFill {
    /// The decision.
    pub routing: RoutingRecord,
    /// The fill (all-in average price, arrival price, order type and venue used).
    pub fill: Fill,
}

impl RoutedFill {
    /// `sign · (P_fill − P_arrival) / P_arrival · 10⁴`: the slippage in bps (positive = cost).
    pub fn slippage_bps(&self) -> f64 {
        slippage_bps(&self.fill)
    }
}

/// The slippage of a fill against its arrival price, bps (positive = cost): core's
/// [`Fill::slippage_bps`].
pub fn slippage_bps(fill: &Fill) -> f64 {
    fill.slippage_bps()
}

/// Routes orders with a [`RoutingPolicy`] over an [`ActionSpace`] and learns from their
/// fills.
///
/// ```
/// use prudentia_core::{OrderType, Venue};
/// use prudentia_execution::router::{ExecutionRouter, RouterConfig, UniformRandom};
/// use prudentia_execution::{ActionMask, ActionSpace, MarketState, N_FEATURES};
///
/// let space = ActionSpace::new(vec![OrderType::Limit, OrderType::Market], vec![Venue("LIT".into())])?;
/// let policy = UniformRandom { n_actions: 2, context_dim: N_FEATURES };
/// let router = ExecutionRouter::new(RouterConfig::default(), space, Box::new(policy))?;
/// let state = MarketState {
///     spread_bps: 5.0, depth_shares: 2_000.0, queue_ahead_shares: 1_000.0, volatility: 0.02,
///     participation: 0.01, order_shares: 500.0, time_of_day: 0.4, imbalance: 0.0,
/// };
/// let d = router.decide(&state, None, 7)?;
/// assert_eq!(d.propensity, 0.5);
/// assert_eq!(d, router.decide(&state, None, 7)?); // seeded: replays exactly
/// # Ok::<(), prudentia_execution::ExecutionError>(())
/// ```
pub struct ExecutionRouter {
    config: RouterConfig,
    space: ActionSpace,
    policy: Box<dyn RoutingPolicy>,
    base_mask: ActionMask,
}

impl std::fmt::Debug for ExecutionRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionRouter")
            .field("config", &self.config)
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl ExecutionRouter {
    /// A router after checking the config, that the policy has one action per action of the
    /// space and takes [`N_FEATURES`] features, and that the config's rules leave an action.
    pub fn new(
        config: RouterConfig,
        space: ActionSpace,
        policy: Box<dyn RoutingPolicy>,
    ) -> ExecutionResult<Self> {
        config.validate()?;
        if policy.n_actions() != space.len() {
            return Err(CoreError::ShapeMismatch {
                field: "policy actions",
                expected: vec![space.len()],
                found: vec![policy.n_actions()],
            }
            .into());
        }
        if policy.context_dim() != N_FEATURES {
            return Err(ExecutionError::ContextLength {
                expected: N_FEATURES,
                found: policy.context_dim(),
            });
        }
        let base_mask = space.mask(&config.rules)?;
        Ok(Self {
            config,
            space,
            policy,
            base_mask,
        })
    }

    /// The action space.
    pub fn space(&self) -> &ActionSpace {
        &self.space
    }

    /// The settings.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The policy.
    pub fn policy(&self) -> &dyn RoutingPolicy {
        self.policy.as_ref()
    }

    /// Replaces the mask rules (a venue went down or came back); an all-masked space is
    /// [`ExecutionError::EmptyMask`] and leaves the router unchanged.
    pub fn set_rules(&mut self, rules: MaskRules) -> ExecutionResult<()> {
        let mask = self.space.mask(&rules)?;
        self.config.rules = rules;
        self.base_mask = mask;
        Ok(())
    }

    /// Chooses an action for `state`: the router's rules, further restricted by `mask` when
    /// given (an empty intersection is [`ExecutionError::EmptyMask`]).
    pub fn decide(
        &self,
        state: &MarketState,
        mask: Option<&ActionMask>,
        seed: u64,
    ) -> ExecutionResult<RoutingRecord> {
        let mut context = [0.0; N_FEATURES];
        state.write_features(&mut context)?;
        let combined;
        let mask = match mask {
            None => &self.base_mask,
            Some(m) => {
                if m.len() != self.space.len() {
                    return Err(CoreError::ShapeMismatch {
                        field: "mask",
                        expected: vec![self.space.len()],
                        found: vec![m.len()],
                    }
                    .into());
                }
                combined = ActionMask::new(
                    m.as_slice()
                        .iter()
                        .zip(self.base_mask.as_slice())
                        .map(|(a, b)| *a && *b)
                        .collect(),
                )?;
                &combined
            }
        };
        let (action, propensity) = self.policy.choose(&context, mask, self.config.explore, seed)?;
        if !mask.allows(action) {
            return Err(ExecutionError::ActionOutOfRange {
                action,
                n_actions: self.space.len(),
            });
        }
        let mut record = RoutingRecord {
            context: context.to_vec(),
            action,
            propensity,
            seed,
        };
        record.check()?;
        Ok(record)
    }

    /// Routes `order` in `snapshot` (see [`MarketState::from_snapshot`] for what it reads):
    /// the returned order has the chosen order type and venue, a limit price for limit
    /// (the config's rule) and pegged (mid) orders, and the routing log; the record is
    /// returned too, for learning from the fill.
    pub fn route_order(
        &self,
        order: &Order,
        snapshot: &MarketSnapshot,
        seed: u64,
    ) -> ExecutionResult<(Order, RoutingRecord)> {
        self.route_in(
            order,
            MarketFacts::find(order, snapshot),
            snapshot.indicator(indicator::TIME_OF_DAY),
            seed,
        )
    }

    /// Routes every order in `snapshot`, order `k` with `seeds[k]`: one result per order,
    /// in order, each exactly what [`ExecutionRouter::route_order`] returns for that order
    /// and seed, from one pass over the snapshot (its quotes, assets and indicators are
    /// indexed once for all orders instead of scanned once per order). Unequal lengths of
    /// `orders` and `seeds` are [`CoreError::ShapeMismatch`] (nothing is routed).
    #[allow(clippy::type_complexity)]
    pub fn route_orders(
        &self,
        orders: &[Order],
        snapshot: &MarketSnapshot,
        seeds: &[u64],
    ) -> ExecutionResult<Vec<ExecutionResult<(Order, RoutingRecord)>>> {
        check_shape("seeds", &[orders.len()], &[seeds.len()])?;
        let index = SnapshotIndex::new(orders, snapshot);
        Ok(orders
            .iter()
            .zip(seeds)
            .map(|(o, &seed)| self.route_in(o, index.get(o), index.time_of_day, seed))
            .collect())
    }

    /// Routes `order` given what the snapshot holds for its asset.
    fn route_in(
        &self,
        order: &Order,
        facts: MarketFacts<'_>,
        time_of_day: Option<f64>,
        seed: u64,
    ) -> ExecutionResult<(Order, RoutingRecord)> {
        let mut o = order.clone();
        o.check()?;
        let state = MarketState::from_facts(order, facts, time_of_day)?;
        let record = self.decide(&state, None, seed)?;
        let action = self
            .space
            .action(record.action)
            .ok_or(ExecutionError::ActionOutOfRange {
                action: record.action,
                n_actions: self.space.len(),
            })?;
        let rule = match action.order_type {
            OrderType::Limit => Some(self.config.limit_rule),
            OrderType::Pegged => Some(LimitPriceRule::MidPeg),
            _ => None,
        };
        o.limit_price = match rule {
            Some(rule) => {
                let quote = facts.quote.ok_or_else(|| ExecutionError::MissingMarketData {
                    what: "quote",
                    asset: order.asset.0.clone(),
                })?;
                Some(rule.limit_price(order.side, quote, self.config.tick)?)
            }
            None => None,
        };
        o.order_type = action.order_type;
        o.venue = Some(action.venue);
        o.routing = Some(record.log());
        Ok((o, record))
    }

    /// Learns from one fill: checks everything (the record, the fill, that the fill used the
    /// routed order type and venue), then updates the policy with `−slippage_bps`.
    pub fn learn_fill(&mut self, event: &RoutedFill) -> ExecutionResult<f64> {
        let mut record = event.routing.clone();
        record.check()?;
        let mut fill = event.fill.clone();
        fill.check()?;
        let action = self
            .space
            .action(record.action)
            .ok_or(ExecutionError::ActionOutOfRange {
                action: record.action,
                n_actions: self.space.len(),
            })?;
        if fill.order_type != action.order_type {
            return Err(ExecutionError::ActionNeverTaken {
                detail: "the fill's order type is not the routed action's",
            });
        }
        if fill.venue.as_ref() != Some(&action.venue) {
            return Err(ExecutionError::ActionNeverTaken {
                detail: "the fill's venue is not the routed action's",
            });
        }
        let reward = -slippage_bps(&fill);
        if !reward.is_finite() {
            return Err(ExecutionError::Overflow {
                what: "slippage in bps",
            });
        }
        self.policy.learn(&record.context, record.action, reward)?;
        Ok(reward)
    }
}

pub(crate) fn role(e: ExecutionError) -> RoleError {
    match e {
        ExecutionError::Core(c) => RoleError::Core(c),
        other => RoleError::implementation(Role::Execution, other),
    }
}

impl ExecutionPolicy for ExecutionRouter {
    fn route(&self, order: &Order, market: &MarketSnapshot, seed: u64) -> RoleResult<Order> {
        self.route_order(order, market, seed)
            .map(|(o, _)| o)
            .map_err(role)
    }

    /// The routes of [`ExecutionPolicy::route`], from one pass over the snapshot (see
    /// [`ExecutionRouter::route_orders`]).
    fn route_all(
        &self,
        orders: &[Order],
        market: &MarketSnapshot,
        seeds: &[u64],
    ) -> RoleResult<Vec<RoleResult<Order>>> {
        Ok(self
            .route_orders(orders, market, seeds)
            .map_err(role)?
            .into_iter()
            .map(|r| r.map(|(o, _)| o).map_err(role))
            .collect())
    }
}

impl OnlineLearner<RoutedFill> for ExecutionRouter {
    fn learn(&mut self, event: &RoutedFill) -> RoleResult<()> {
        self.learn_fill(event).map(|_| ()).map_err(role)
    }
}
