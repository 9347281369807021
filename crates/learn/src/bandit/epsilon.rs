//! ε-greedy over per-action (or shared) ridge regressions, with an optional decaying ε.
//!
//! The greedy action maximizes `θ̂ᵀx_{t,a}` over the allowed actions (the same ridge state
//! as [`LinUcb`](super::LinUcb), Sherman–Morrison updates). When exploring, with probability
//! `ε_n` the action is drawn uniformly among the `k` allowed actions, otherwise it is the
//! greedy one (ties split evenly, see the [bandit module](super)). `ε_n` decays with the
//! number of updates `n` learned so far:
//!
//! ```text
//! ε_n = max(min_epsilon, epsilon / (1 + decay · n))
//! ```
//!
//! (`decay = 0` keeps ε constant). The propensity is exact: `(1 − ε_n)/m + ε_n/k` for one of
//! the `m` tied greedy actions (`m = 1` without ties), `ε_n/k` for any other allowed action;
//! without exploration it is `1/m`. The draws come from `ChaCha8Rng::seed_from_u64(seed)`:
//! a uniform `u` (explore if `u < ε_n`), then the uniform action index (or the tie
//! break).
//!
//! ```
//! use prudentia_learn::bandit::{EpsilonGreedy, EpsilonGreedyConfig, LinearBandit};
//!
//! # fn main() -> Result<(), prudentia_learn::LearnError> {
//! let mut policy = EpsilonGreedy::new(EpsilonGreedyConfig {
//!     n_actions: 4,
//!     dim: 1,
//!     epsilon: 0.2,
//!     ..Default::default()
//! })?;
//! policy.learn(&[1.0], 2, 1.0)?;
//! let mut scores = [0.0; 4];
//! let c = policy.decide(&[1.0], None, true, 11, &mut scores)?;
//! let expected = if c.action == 2 { 0.8 + 0.2 / 4.0 } else { 0.2 / 4.0 };
//! assert!((c.propensity - expected).abs() < 1e-12);
//! # Ok(()) }
//! ```

use prudentia_core::traits::{ActionChoice, OnlinePolicy, RoleResult};
use prudentia_core::CoreError;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{
    allowed, check_choice, greedy_scores, prepare_learn, role, tied_max, ArmFeatures, Choice, Layout,
    LinearArms, LinearBandit, Rows, StateNames,
};
use crate::error::LearnResult;

/// Configuration of [`EpsilonGreedy`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct EpsilonGreedyConfig {
    /// Number of actions. Default 2; limits as [`LinUcbConfig::n_actions`](super::LinUcbConfig::n_actions).
    pub n_actions: usize,
    /// Context dimension. Default 1; in `1..=MAX_DIM`.
    pub dim: usize,
    /// Initial exploration probability ε₀. Default 0.1; in `[0, 1]`.
    pub epsilon: f64,
    /// Decay rate of ε per update: `ε_n = max(min_epsilon, ε₀ / (1 + decay · n))`. Default 0
    /// (constant); in `[0, 1e150]`.
    #[serde(default)]
    pub decay: f64,
    /// Floor of the decayed ε. Default 0; in `[0, epsilon]`.
    #[serde(default)]
    pub min_epsilon: f64,
    /// Ridge λ. Default 1; in `[1e-150, 1e150]`.
    pub ridge: f64,
    /// Prior mean θ₀ (as [`LinUcbConfig::prior_mean`](super::LinUcbConfig::prior_mean)).
    #[serde(default)]
    pub prior_mean: Vec<f64>,
    /// Disjoint (default) or shared coefficients.
    #[serde(default)]
    pub features: ArmFeatures,
}

impl Default for EpsilonGreedyConfig {
    fn default() -> Self {
        Self {
            n_actions: 2,
            dim: 1,
            epsilon: 0.1,
            decay: 0.0,
            min_epsilon: 0.0,
            ridge: 1.0,
            prior_mean: Vec::new(),
            features: ArmFeatures::Disjoint,
        }
    }
}

impl EpsilonGreedyConfig {
    /// Checks every field (sizes, ε in `[0, 1]`, decay in `[0, 1e150]`, the floor in
    /// `[0, ε]`, ridge, prior mean, action features).
    pub fn validate(&self) -> Result<(), CoreError> {
        self.layout().validate()?;
        if !(0.0..=1.0).contains(&self.epsilon) {
            return Err(CoreError::OutOfRange {
                field: "epsilon",
                value: self.epsilon,
                expected: "in [0, 1]",
            });
        }
        super::check_scale("decay", self.decay)?;
        if !(0.0..=self.epsilon).contains(&self.min_epsilon) {
            return Err(CoreError::OutOfRange {
                field: "min_epsilon",
                value: self.min_epsilon,
                expected: "in [0, epsilon]",
            });
        }
        Ok(())
    }

    pub(crate) fn layout(&self) -> Layout<'_> {
        Layout {
            n_actions: self.n_actions,
            dim: self.dim,
            ridge: self.ridge,
            prior_mean: &self.prior_mean,
            features: &self.features,
        }
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}
prudentia_core::checked_serde!(EpsilonGreedyConfig, EpsilonGreedyConfig::check);

const NAMES: StateNames = StateNames {
    a_inv: "epsilon_greedy.a_inv",
    b: "epsilon_greedy.b",
    theta: "epsilon_greedy.theta",
    counts: "epsilon_greedy.counts",
    bounds: "epsilon_greedy.b/theta",
};

/// ε-greedy (see the [module docs](self)). Deserializing validates the checkpoint as
/// [`LinUcb`](super::LinUcb) does; a rejected update changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct EpsilonGreedy {
    config: EpsilonGreedyConfig,
    state: LinearArms,
    #[serde(skip)]
    scratch: Vec<f64>,
}

prudentia_core::checked_serde!(EpsilonGreedy, EpsilonGreedy::check_state);

/// Equality of the model state (scratch buffers excluded).
impl PartialEq for EpsilonGreedy {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.state == other.state
    }
}

impl EpsilonGreedy {
    /// A fresh policy at its prior.
    ///
    /// # Errors
    /// The configuration's [`EpsilonGreedyConfig::validate`] errors.
    pub fn new(config: EpsilonGreedyConfig) -> LearnResult<Self> {
        config.validate()?;
        let state = LinearArms::new(&config.layout());
        Ok(Self {
            state,
            scratch: Vec::new(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EpsilonGreedyConfig {
        &self.config
    }

    fn check_state(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        self.state.check(&self.config.layout(), &NAMES)?;
        self.scratch = Vec::new();
        Ok(())
    }

    /// The coefficient estimate θ̂ that scores `action`; `None` for an unknown action.
    pub fn theta(&self, action: usize) -> Option<&[f64]> {
        let l = self.config.layout();
        if action >= l.n_actions {
            return None;
        }
        let (m, d) = (l.model_of(action), l.theta_dim());
        self.state.theta.get(m * d..(m + 1) * d)
    }

    /// The current exploration probability `ε_n` (after `n` updates).
    pub fn epsilon(&self) -> f64 {
        let c = &self.config;
        let n = self.state.total() as f64;
        (c.epsilon / (1.0 + c.decay * n)).max(c.min_epsilon)
    }

    fn decide_inner(
        &self,
        rows: Rows<'_>,
        mask: Option<&[bool]>,
        explore: bool,
        seed: u64,
        scores: &mut [f64],
    ) -> LearnResult<Choice> {
        let l = self.config.layout();
        let k = check_choice(&l, rows, mask, scores)?;
        greedy_scores(&l, &self.state, rows, scores, "epsilon-greedy score")?;
        let (best, ties) = tied_max(scores, mask);
        let eps = if explore { self.epsilon() } else { 0.0 };
        if eps == 0.0 && ties == 1 {
            // greedy without a tie: no draw needed
            let action = nth_where(l.n_actions, 0, |a| allowed(mask, a) && scores[a] == best);
            return Ok(Choice {
                action,
                propensity: 1.0,
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let u: f64 = rng.random();
        let action = if u < eps {
            let j = rng.random_range(0..k);
            nth_where(l.n_actions, j, |a| allowed(mask, a))
        } else {
            let j = rng.random_range(0..ties);
            nth_where(l.n_actions, j, |a| allowed(mask, a) && scores[a] == best)
        };
        let greedy_share = if scores[action] == best {
            (1.0 - eps) / ties as f64
        } else {
            0.0
        };
        Ok(Choice {
            action,
            propensity: greedy_share + eps / k as f64,
        })
    }

    fn learn_rows(&mut self, rows: Rows<'_>, action: usize, reward: f64) -> LearnResult<()> {
        let l = self.config.layout();
        let model = prepare_learn(
            &l,
            &self.state,
            &mut self.scratch,
            rows,
            action,
            reward,
            "epsilon-greedy update",
        )?;
        self.state.commit(model, action, l.theta_dim(), &self.scratch);
        Ok(())
    }
}

/// The `j`-th index in `0..n` satisfying `keep` (the last one kept if there are fewer).
fn nth_where(n: usize, j: usize, keep: impl Fn(usize) -> bool) -> usize {
    let mut last = 0;
    let mut seen = 0;
    for a in 0..n {
        if keep(a) {
            if seen == j {
                return a;
            }
            seen += 1;
            last = a;
        }
    }
    last
}

impl LinearBandit for EpsilonGreedy {
    fn context_dim(&self) -> usize {
        self.config.dim
    }

    fn row_dim(&self) -> usize {
        self.config.layout().theta_dim()
    }

    fn counts(&self) -> &[u64] {
        &self.state.counts
    }

    fn decide(
        &self,
        context: &[f64],
        mask: Option<&[bool]>,
        explore: bool,
        seed: u64,
        scores: &mut [f64],
    ) -> LearnResult<Choice> {
        self.decide_inner(Rows::Context(context), mask, explore, seed, scores)
    }

    fn decide_rows(
        &self,
        rows: &[f64],
        mask: Option<&[bool]>,
        explore: bool,
        seed: u64,
        scores: &mut [f64],
    ) -> LearnResult<Choice> {
        self.decide_inner(Rows::Table(rows), mask, explore, seed, scores)
    }

    fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> LearnResult<()> {
        self.learn_rows(Rows::Context(context), action, reward)
    }

    fn learn_row(&mut self, row: &[f64], action: usize, reward: f64) -> LearnResult<()> {
        self.learn_rows(Rows::Row(row), action, reward)
    }
}

impl OnlinePolicy for EpsilonGreedy {
    fn n_actions(&self) -> usize {
        self.config.n_actions
    }

    fn choose(&self, context: &[f64], explore: bool, seed: u64) -> RoleResult<ActionChoice> {
        self.choose_masked(context, None, explore, seed).map_err(role)
    }

    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()> {
        LinearBandit::learn(self, context, action, reward).map_err(role)
    }
}
