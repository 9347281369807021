//! Disjoint LinUCB (Li, Chu, Langford & Schapire 2010, "A contextual-bandit approach to
//! personalized news article recommendation", WWW, Algorithm 1), and its shared-feature
//! variant.
//!
//! Each model keeps `A = λI + Σ x xᵀ` (as `A⁻¹`, Sherman–Morrison) and `b = λθ₀ + Σ r x` over
//! the feature rows `x` of the actions it learned from; `θ̂ = A⁻¹b`. The score of action `a`
//! is `θ̂ᵀx_{t,a} + α √(x_{t,a}ᵀ A⁻¹ x_{t,a})` when exploring and `θ̂ᵀx_{t,a}` when greedy;
//! the highest score among the allowed actions wins. The choice is deterministic: its
//! propensity is 1, or `1/m` when `m` actions tie exactly (the tie is split evenly with the
//! seed, see the [bandit module](super)). With α = 1 and λ = 1 the decisions equal
//! MABWiser's `LearningPolicy.LinUCB(alpha=1, l2_lambda=1)` on the checked-in fixture.
//!
//! ```
//! use prudentia_learn::bandit::{LinUcb, LinUcbConfig, LinearBandit};
//!
//! # fn main() -> Result<(), prudentia_learn::LearnError> {
//! let mut policy = LinUcb::new(LinUcbConfig { n_actions: 2, dim: 1, ..Default::default() })?;
//! policy.learn(&[1.0], 0, 0.0)?;
//! let mut scores = [0.0; 2];
//! let choice = policy.decide(&[1.0], None, true, 7, &mut scores)?;
//! // the untried action has the wider confidence bound: 0 + 1 > 0 + √(1/2)
//! assert_eq!((choice.action, choice.propensity), (1, 1.0));
//! # Ok(()) }
//! ```

use prudentia_core::traits::{ActionChoice, OnlinePolicy, RoleResult};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use super::{
    argmax_split, check_action, check_choice, check_scale, greedy_scores, overflow, prepare_learn, role,
    with_scratch, ArmFeatures, Choice, Layout, LinearArms, LinearBandit, Rows, StateNames,
};
use crate::error::LearnResult;

/// Configuration of [`LinUcb`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct LinUcbConfig {
    /// Number of actions. Default 2; in `1..=MAX_DIM` (65,536), and
    /// `models × d²` at most `MAX_ELEMENTS` (2²⁸), `models` = `n_actions` (disjoint) or 1.
    pub n_actions: usize,
    /// Context dimension. Default 1; in `1..=MAX_DIM`.
    pub dim: usize,
    /// Exploration weight α on the confidence width. Default 1; in `[0, 1e150]`.
    pub alpha: f64,
    /// Ridge λ: prior precision of θ (larger is more conservative). Default 1; in
    /// `[1e-150, 1e150]`.
    pub ridge: f64,
    /// Prior mean θ₀ of every model's coefficients (length `dim`, or `p + dim` for shared
    /// models; `|θ₀|` and `|λθ₀|` at most 1e150), or empty for zeros. Default empty.
    #[serde(default)]
    pub prior_mean: Vec<f64>,
    /// Disjoint (default) or shared coefficients.
    #[serde(default)]
    pub features: ArmFeatures,
}

impl Default for LinUcbConfig {
    fn default() -> Self {
        Self {
            n_actions: 2,
            dim: 1,
            alpha: 1.0,
            ridge: 1.0,
            prior_mean: Vec::new(),
            features: ArmFeatures::Disjoint,
        }
    }
}

impl LinUcbConfig {
    /// Checks every field: sizes within their limits (typed [`CoreError::TooLarge`]),
    /// α and λ finite and in range, the action features and the prior mean of the right
    /// lengths and finite.
    pub fn validate(&self) -> Result<(), CoreError> {
        self.layout().validate()?;
        check_scale("alpha", self.alpha)
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
prudentia_core::checked_serde!(LinUcbConfig, LinUcbConfig::check);

const NAMES: StateNames = StateNames {
    a_inv: "linucb.a_inv",
    b: "linucb.b",
    theta: "linucb.theta",
    counts: "linucb.counts",
    bounds: "linucb.b/theta",
};

/// LinUCB (see the [module docs](self)).
///
/// Deserializing a checkpoint validates it (configuration, state sizes, finite values, a
/// positive diagonal of every `A⁻¹`, `θ̂ = A⁻¹b`), so a corrupted or mismatched checkpoint is
/// an error at load time rather than a panic later. A rejected [`learn`](Self::learn)
/// changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct LinUcb {
    config: LinUcbConfig,
    state: LinearArms,
    #[serde(skip)]
    scratch: Vec<f64>,
}

prudentia_core::checked_serde!(LinUcb, LinUcb::check_state);

/// Equality of the model state (scratch buffers excluded).
impl PartialEq for LinUcb {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.state == other.state
    }
}

impl LinUcb {
    /// A fresh policy at its prior.
    ///
    /// # Errors
    /// The configuration's [`LinUcbConfig::validate`] errors.
    pub fn new(config: LinUcbConfig) -> LearnResult<Self> {
        config.validate()?;
        let state = LinearArms::new(&config.layout());
        Ok(Self {
            state,
            scratch: Vec::new(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LinUcbConfig {
        &self.config
    }

    fn check_state(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        self.state.check(&self.config.layout(), &NAMES)?;
        self.scratch = Vec::new();
        Ok(())
    }

    /// The coefficient estimate θ̂ that scores `action` (the shared one for shared models);
    /// `None` for an action outside `0..n_actions`.
    pub fn theta(&self, action: usize) -> Option<&[f64]> {
        let l = self.config.layout();
        if action >= l.n_actions {
            return None;
        }
        let (m, d) = (l.model_of(action), l.theta_dim());
        self.state.theta.get(m * d..(m + 1) * d)
    }

    /// Times each action was learned from.
    pub fn counts(&self) -> &[u64] {
        &self.state.counts
    }

    /// `(θ̂ᵀx, √(xᵀA⁻¹x))` of one action in `context`.
    ///
    /// # Errors
    /// [`LearnError::UnknownAction`](crate::LearnError::UnknownAction) for an action outside
    /// `0..n_actions`; [`CoreError::ShapeMismatch`] / [`CoreError::NonFinite`] for a context
    /// that is not `dim` finite values; [`CoreError::Numerical`] when the mean or width
    /// overflows (a context of extreme magnitude).
    pub fn mean_and_width(&self, action: usize, context: &[f64]) -> LearnResult<(f64, f64)> {
        let l = self.config.layout();
        check_action(action, l.n_actions)?;
        let rows = Rows::Context(context);
        rows.check(&l)?;
        let d = l.theta_dim();
        let (m, w) = with_scratch(d, |buf| {
            let x = rows.row(&l, action, buf);
            let model = l.model_of(action);
            (self.state.mean(model, d, x), self.state.quad(model, d, x).sqrt())
        });
        if m.is_finite() && w.is_finite() {
            Ok((m, w))
        } else {
            Err(overflow("linucb score").into())
        }
    }

    /// Scores and choice over all actions with seed 0 (see [`LinearBandit::decide`]).
    pub fn select(&self, context: &[f64], explore: bool) -> LearnResult<ActionChoice> {
        self.choose_masked(context, None, explore, 0)
    }

    /// Learns `reward` for `action` in `context` by a Sherman–Morrison update, O(d²).
    ///
    /// Everything is checked, and the new `A⁻¹`, `b` and `θ̂` computed, before any state
    /// changes: an unknown action, a bad context or reward, or an update that would
    /// overflow or push `b` or `θ̂` beyond `±1e150` ([`MAX_SCALE`](super::MAX_SCALE): a
    /// context or reward of extreme magnitude, [`CoreError::Numerical`]) is an error that
    /// leaves the policy as it was, so one absurd reward cannot blind the policy for good.
    pub fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> LearnResult<()> {
        self.learn_rows(Rows::Context(context), action, reward)
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
            "linucb update",
        )?;
        self.state.commit(model, action, l.theta_dim(), &self.scratch);
        Ok(())
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
        check_choice(&l, rows, mask, scores)?;
        if explore {
            let d = l.theta_dim();
            let alpha = self.config.alpha;
            with_scratch(d, |buf| {
                for a in 0..l.n_actions {
                    let x = rows.row(&l, a, buf);
                    let model = l.model_of(a);
                    let s = self.state.mean(model, d, x) + alpha * self.state.quad(model, d, x).sqrt();
                    if !s.is_finite() {
                        return Err(overflow("linucb score"));
                    }
                    scores[a] = s;
                }
                Ok(())
            })?;
        } else {
            greedy_scores(&l, &self.state, rows, scores, "linucb score")?;
        }
        let (action, ties) = argmax_split(scores, mask, seed);
        Ok(Choice {
            action,
            propensity: 1.0 / ties as f64,
        })
    }
}

impl LinearBandit for LinUcb {
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
        LinUcb::learn(self, context, action, reward)
    }

    fn learn_row(&mut self, row: &[f64], action: usize, reward: f64) -> LearnResult<()> {
        self.learn_rows(Rows::Row(row), action, reward)
    }
}

impl OnlinePolicy for LinUcb {
    fn n_actions(&self) -> usize {
        self.config.n_actions
    }

    fn choose(&self, context: &[f64], explore: bool, seed: u64) -> RoleResult<ActionChoice> {
        self.choose_masked(context, None, explore, seed).map_err(role)
    }

    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()> {
        self.learn(context, action, reward).map_err(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LearnError;

    #[test]
    fn sherman_morrison_matches_direct_ridge_solution() {
        let mut p = LinUcb::new(LinUcbConfig {
            n_actions: 1,
            dim: 2,
            ridge: 0.5,
            ..Default::default()
        })
        .unwrap();
        let data = [([1.0, 0.3], 0.7), ([0.2, -1.0], -0.4), ([0.5, 0.5], 0.1)];
        for (x, r) in &data {
            p.learn(x, 0, *r).unwrap();
        }
        // direct: A = λI + Σxxᵀ, θ = A⁻¹ Σ r x
        let mut a = [[0.5, 0.0], [0.0, 0.5]];
        let mut b = [0.0, 0.0];
        for (x, r) in &data {
            for i in 0..2 {
                for j in 0..2 {
                    a[i][j] += x[i] * x[j];
                }
                b[i] += r * x[i];
            }
        }
        let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
        let th = [
            (a[1][1] * b[0] - a[0][1] * b[1]) / det,
            (a[0][0] * b[1] - a[1][0] * b[0]) / det,
        ];
        assert!((p.theta(0).unwrap()[0] - th[0]).abs() < 1e-12);
        assert!((p.theta(0).unwrap()[1] - th[1]).abs() < 1e-12);
        let x = [0.3, 0.9];
        let q = (a[1][1] * x[0] * x[0] - 2.0 * a[0][1] * x[0] * x[1] + a[0][0] * x[1] * x[1]) / det;
        assert!((p.mean_and_width(0, &x).unwrap().1 - q.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(LinUcb::new(LinUcbConfig {
            ridge: 0.0,
            ..Default::default()
        })
        .is_err());
        assert!(LinUcb::new(LinUcbConfig {
            prior_mean: vec![1.0, 2.0],
            ..Default::default()
        })
        .is_err());
        let mut p = LinUcb::new(LinUcbConfig::default()).unwrap();
        assert!(matches!(
            p.learn(&[1.0], 5, 1.0),
            Err(LearnError::UnknownAction { action: 5, .. })
        ));
        assert!(p.learn(&[f64::NAN], 0, 1.0).is_err());
        assert!(p.learn(&[1.0], 0, f64::INFINITY).is_err());
        assert!(p.select(&[1.0, 2.0], true).is_err());
    }
}
