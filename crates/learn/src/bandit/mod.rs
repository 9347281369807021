//! Linear contextual bandits: disjoint LinUCB (Li, Chu, Langford & Schapire 2010, "A
//! contextual-bandit approach to personalized news article recommendation", WWW, Algorithm 1),
//! linear Thompson sampling (Agrawal & Goyal 2013, "Thompson sampling for contextual bandits
//! with linear payoffs", ICML) and ε-greedy over the same ridge-regression state.
//!
//! All three learn a ridge regression of the reward on the features of the chosen action,
//! `A = λI + Σ x xᵀ`, `b = λθ₀ + Σ r x`, `θ̂ = A⁻¹b`, keeping `A⁻¹` directly and updating it by
//! Sherman–Morrison, `A⁻¹ ← A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x)`: O(d²) per update, no
//! factorization (Thompson sampling also refreshes the Cholesky factor of the updated
//! action's `A⁻¹`, O(d³/6)).
//!
//! - [`ArmFeatures::Disjoint`]: one `θ_a` per action over the context `x_t` (Li et al.'s
//!   disjoint model).
//! - [`ArmFeatures::Shared`]: one `θ` for all actions over `x_{t,a} = [z_a ; x_t]`, the fixed
//!   features `z_a` of action `a` concatenated with the context (e.g. one-hot order type and
//!   venue, a venue's fee). [`LinearBandit::decide_rows`] and [`LinearBandit::learn_row`] take every action's
//!   full feature row instead (time-varying action features, interactions built by the
//!   caller).
//!
//! Every choice takes an optional action mask (`&[bool]`, one flag per action, `true` =
//! allowed; all masked is [`LearnError::NoAllowedAction`]) and a seed, and returns the chosen
//! action with its **propensity**, the probability that the policy picks that action given
//! the context, the mask and its state (logged for off-policy evaluation):
//!
//! - greedy and LinUCB choices are the argmax of the scores over the allowed actions.
//!   **Ties** (exactly equal scores) are split evenly: the action is drawn uniformly among the
//!   tied ones with the seed, and its propensity is `1 / (number tied)`; without ties the
//!   propensity is 1;
//! - ε-greedy: `1 − ε + ε/k` for the (untied) greedy action and `ε/k` for the others, over the
//!   `k` allowed actions;
//! - Thompson sampling: the probability that the sampled scores make the action the argmax
//!   has no closed form; for disjoint models it is a one-dimensional integral computed by
//!   Gauss–Hermite quadrature (about 5e-7 accurate, no extra draws), otherwise a Monte-Carlo
//!   estimate with a fixed number of extra draws from the same seeded stream (see
//!   [`thompson`]).
//!
//! Randomness comes from `ChaCha8Rng::seed_from_u64(seed)` (rand's portable, value-stable
//! generator), so the same state, context, mask and seed give the same choice. Choices are
//! allocation-free apart from the `scores` vector of [`ActionChoice`] (the `decide…` methods
//! write the scores into a caller buffer instead); the scratch they need is per thread and
//! reused.
//!
//! ## Example
//! ```
//! use prudentia_learn::bandit::{LinUcb, LinUcbConfig, LinearBandit};
//!
//! # fn main() -> Result<(), prudentia_learn::LearnError> {
//! let mut policy = LinUcb::new(LinUcbConfig { n_actions: 3, dim: 2, ..Default::default() })?;
//! for t in 0..200 {
//!     let x = [1.0, (t as f64 * 0.7).sin()];
//!     // action 2 is down: masked out
//!     let choice = policy.choose_masked(&x, Some(&[true, true, false]), true, t)?;
//!     assert!(choice.action != 2 && choice.propensity > 0.0);
//!     let reward = if choice.action == 1 { 1.0 + x[1] } else { 0.2 };
//!     policy.learn(&x, choice.action, reward)?;
//! }
//! let greedy = policy.choose_masked(&[1.0, 0.5], None, false, 0)?;
//! assert_eq!(greedy.action, 1);
//! # Ok(()) }
//! ```

// index loops over parallel arrays (matrix rows, features) read best as such
#![allow(clippy::needless_range_loop)]

pub mod epsilon;
pub mod linucb;
pub mod thompson;

use std::cell::RefCell;

pub use epsilon::{EpsilonGreedy, EpsilonGreedyConfig};
pub use linucb::{LinUcb, LinUcbConfig};
pub use prudentia_core::traits::ActionChoice;
pub use thompson::{LinearThompson, LinearThompsonConfig};

use prudentia_core::traits::OnlinePolicy;
use prudentia_core::validate::{check_elements, check_finite, check_len, check_shape, check_size};
use prudentia_core::validate::{MAX_DIM, MAX_ELEMENTS};
use prudentia_core::CoreError;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{LearnError, LearnResult};

/// The largest exploration weight, ridge, prior mean and action feature the bandit
/// configurations accept (and the inverse of the smallest ridge): beyond it the prior
/// precision or the scores overflow.
pub const MAX_SCALE: f64 = 1e150;

/// How the actions share parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum ArmFeatures {
    /// One coefficient vector `θ_a` per action over the context (length `dim`).
    #[default]
    Disjoint,
    /// One coefficient vector for all actions over `x_{t,a} = [z_a ; x_t]`: `action_features`
    /// holds one row `z_a` per action, all of the same length `p` (finite, `|z| ≤ 1e150`);
    /// `θ` has `p + dim` entries.
    Shared {
        /// `z_a`, one row per action.
        action_features: Vec<Vec<f64>>,
    },
}

impl ArmFeatures {
    /// `p`, the number of action features (0 for disjoint models).
    pub fn width(&self) -> usize {
        match self {
            Self::Disjoint => 0,
            Self::Shared { action_features } => action_features.first().map_or(0, Vec::len),
        }
    }
}

/// A choice without its scores: what the allocation-free `decide…` methods return.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Index of the chosen action.
    pub action: usize,
    /// Probability that the policy chooses this action in this context, mask and state, in
    /// (0, 1] (see the [module docs](self)).
    pub propensity: f64,
}

impl Choice {
    /// The choice with its scores, as core's [`ActionChoice`].
    pub fn with_scores(self, scores: Vec<f64>) -> ActionChoice {
        ActionChoice {
            action: self.action,
            propensity: self.propensity,
            scores,
        }
    }
}

/// The dimensions and prior a policy's ridge state is built from (borrowed from a config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout<'a> {
    pub(crate) n_actions: usize,
    pub(crate) dim: usize,
    pub(crate) ridge: f64,
    pub(crate) prior_mean: &'a [f64],
    pub(crate) features: &'a ArmFeatures,
}

impl Layout<'_> {
    /// Length of a feature row `x_{t,a}` (and of θ).
    pub(crate) fn theta_dim(&self) -> usize {
        self.dim + self.features.width()
    }

    /// Number of coefficient vectors: one per action, or one shared.
    pub(crate) fn models(&self) -> usize {
        match self.features {
            ArmFeatures::Disjoint => self.n_actions,
            ArmFeatures::Shared { .. } => 1,
        }
    }

    /// The model that learns from `action`.
    pub(crate) fn model_of(&self, action: usize) -> usize {
        match self.features {
            ArmFeatures::Disjoint => action,
            ArmFeatures::Shared { .. } => 0,
        }
    }

    /// Checks the common settings: sizes within their limits ([`CoreError::TooLarge`]), the
    /// ridge in `[1e-150, 1e150]`, the action features and the prior mean of the right
    /// lengths, finite and within `±1e150`.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        check_len("n_actions", self.n_actions, 1)?;
        check_len("dim", self.dim, 1)?;
        check_size("n_actions", self.n_actions, MAX_DIM)?;
        check_size("dim", self.dim, MAX_DIM)?;
        if let ArmFeatures::Shared { action_features } = self.features {
            check_shape(
                "action_features rows",
                &[self.n_actions],
                &[action_features.len()],
            )?;
            let p = self.features.width();
            check_size("action_features width", p, MAX_DIM)?;
            for row in action_features {
                check_shape("action_features row", &[p], &[row.len()])?;
                check_finite("action_features", row)?;
                if let Some(&v) = row.iter().find(|v| v.abs() > MAX_SCALE) {
                    return Err(CoreError::OutOfRange {
                        field: "action_features",
                        value: v,
                        expected: "|z| at most 1e150",
                    });
                }
            }
        }
        let d = self.theta_dim();
        check_size("dim + action features", d, MAX_DIM)?;
        check_elements("models x dim x dim", &[self.models(), d, d], MAX_ELEMENTS)?;
        check_elements("n_actions x dim", &[self.n_actions, d], MAX_ELEMENTS)?;
        if !(self.ridge >= 1.0 / MAX_SCALE && self.ridge <= MAX_SCALE) {
            return Err(CoreError::OutOfRange {
                field: "ridge",
                value: self.ridge,
                expected: "in [1e-150, 1e150]",
            });
        }
        if !self.prior_mean.is_empty() {
            check_shape("prior_mean", &[d], &[self.prior_mean.len()])?;
            check_finite("prior_mean", self.prior_mean)?;
            for &m in self.prior_mean {
                if !(m.abs() <= MAX_SCALE && (self.ridge * m).abs() <= MAX_SCALE) {
                    return Err(CoreError::OutOfRange {
                        field: "prior_mean",
                        value: m,
                        expected: "|m| and |ridge * m| at most 1e150",
                    });
                }
            }
        }
        Ok(())
    }
}

/// Checks an exploration weight: finite, in `[0, 1e150]`.
pub(crate) fn check_scale(field: &'static str, v: f64) -> Result<(), CoreError> {
    if (0.0..=MAX_SCALE).contains(&v) {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: v,
            expected: "in [0, 1e150]",
        })
    }
}

/// Field names used in checkpoint errors (so a message names the policy).
pub(crate) struct StateNames {
    pub(crate) a_inv: &'static str,
    pub(crate) b: &'static str,
    pub(crate) theta: &'static str,
    pub(crate) counts: &'static str,
    pub(crate) bounds: &'static str,
}

/// The ridge-regression state of a linear bandit: `A⁻¹`, `b` and `θ̂ = A⁻¹b` per model, and
/// the number of updates per action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinearArms {
    /// `A⁻¹` per model, row-major `d × d` blocks.
    pub(crate) a_inv: Vec<f64>,
    /// `b` per model.
    pub(crate) b: Vec<f64>,
    /// `θ̂` per model.
    pub(crate) theta: Vec<f64>,
    /// Updates per action.
    pub(crate) counts: Vec<u64>,
}

/// The scratch an update needs: the new `A⁻¹`, `A⁻¹x`, the new `b`, the feature row.
pub(crate) fn update_scratch_len(d: usize) -> usize {
    d * d + 3 * d
}

impl LinearArms {
    /// The prior: `A⁻¹ = I/λ`, `b = λθ₀`, `θ̂ = θ₀`.
    pub(crate) fn new(l: &Layout<'_>) -> Self {
        let (m, d) = (l.models(), l.theta_dim());
        let mut a_inv = vec![0.0; m * d * d];
        let mut b = vec![0.0; m * d];
        let mut theta = vec![0.0; m * d];
        for a in 0..m {
            for i in 0..d {
                a_inv[a * d * d + i * d + i] = 1.0 / l.ridge;
                if let Some(&mu) = l.prior_mean.get(i) {
                    b[a * d + i] = l.ridge * mu;
                    theta[a * d + i] = mu;
                }
            }
        }
        Self {
            a_inv,
            b,
            theta,
            counts: vec![0; l.n_actions],
        }
    }

    /// State sizes, finite values, a positive diagonal of every `A⁻¹` and `θ̂ = A⁻¹b` (what
    /// every update keeps; a loaded checkpoint must pass).
    pub(crate) fn check(&self, l: &Layout<'_>, names: &StateNames) -> Result<(), CoreError> {
        let (m, d) = (l.models(), l.theta_dim());
        check_shape(names.a_inv, &[m * d * d], &[self.a_inv.len()])?;
        check_shape(names.b, &[m * d], &[self.b.len()])?;
        check_shape(names.theta, &[m * d], &[self.theta.len()])?;
        check_shape(names.counts, &[l.n_actions], &[self.counts.len()])?;
        check_finite(names.a_inv, &self.a_inv)?;
        check_finite(names.b, &self.b)?;
        check_finite(names.theta, &self.theta)?;
        if let Some(v) = self.b.iter().chain(&self.theta).find(|v| v.abs() > MAX_SCALE) {
            return Err(CoreError::OutOfRange {
                field: names.bounds,
                value: *v,
                expected: "|value| <= 1e150",
            });
        }
        for a in 0..m {
            let ai = &self.a_inv[a * d * d..(a + 1) * d * d];
            for i in 0..d {
                let v = ai[i * d + i];
                if v <= 0.0 {
                    return Err(CoreError::OutOfRange {
                        field: names.a_inv,
                        value: v,
                        expected: "a positive diagonal (A⁻¹ is positive definite)",
                    });
                }
            }
            let b = &self.b[a * d..(a + 1) * d];
            let th = &self.theta[a * d..(a + 1) * d];
            for i in 0..d {
                let row = &ai[i * d..(i + 1) * d];
                let want: f64 = row.iter().zip(b).map(|(x, y)| x * y).sum();
                let scale: f64 = row
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x * y).abs())
                    .sum::<f64>()
                    .max(1e-300);
                if (th[i] - want).abs() > 1e-6 * scale + 1e-12 {
                    return Err(CoreError::OutOfRange {
                        field: names.theta,
                        value: th[i],
                        expected: "theta = A⁻¹ b",
                    });
                }
            }
        }
        Ok(())
    }

    /// `θ̂_mᵀx`.
    pub(crate) fn mean(&self, model: usize, d: usize, x: &[f64]) -> f64 {
        dot(&self.theta[model * d..(model + 1) * d], x)
    }

    /// `xᵀA_m⁻¹x` from the upper triangle (`A⁻¹` is symmetric: half the work),
    /// `Σᵢ xᵢ (aᵢᵢxᵢ + 2 Σ_{j>i} aᵢⱼxⱼ)`, clamped at 0.
    pub(crate) fn quad(&self, model: usize, d: usize, x: &[f64]) -> f64 {
        let ai = &self.a_inv[model * d * d..(model + 1) * d * d];
        let mut q = 0.0;
        for i in 0..d {
            let row = &ai[i * d..(i + 1) * d];
            q += x[i] * (row[i] * x[i] + 2.0 * dot(&row[i + 1..], &x[i + 1..]));
        }
        q.max(0.0)
    }

    /// The Sherman–Morrison update of `model` with `(x, reward)` computed into `scratch`
    /// (new `A⁻¹` in `[..d²]`, new `θ̂` in `[d²..d²+d]`, new `b` in `[d²+d..d²+2d]`) and checked,
    /// without changing the state.
    pub(crate) fn prepare(
        &self,
        model: usize,
        d: usize,
        x: &[f64],
        reward: f64,
        scratch: &mut [f64],
        operation: &'static str,
    ) -> Result<(), CoreError> {
        let (new_ai, rest) = scratch.split_at_mut(d * d);
        let (u, rest) = rest.split_at_mut(d);
        let new_b = &mut rest[..d];
        let ai = &self.a_inv[model * d * d..(model + 1) * d * d];
        // u = A⁻¹x
        for i in 0..d {
            u[i] = dot(&ai[i * d..(i + 1) * d], x);
        }
        let denom = 1.0 + dot(x, u);
        if !(denom.is_finite() && denom >= 1.0 - 1e-12) {
            return Err(overflow(operation));
        }
        for i in 0..d {
            let ui = u[i] / denom;
            for j in 0..d {
                new_ai[i * d + j] = ai[i * d + j] - ui * u[j];
            }
        }
        let b = &self.b[model * d..(model + 1) * d];
        for ((nb, bi), xi) in new_b.iter_mut().zip(b).zip(x) {
            *nb = bi + reward * xi;
        }
        let mut ok = new_ai.iter().all(|v| v.is_finite()) && new_b.iter().all(|v| v.abs() <= MAX_SCALE);
        ok &= (0..d).all(|i| new_ai[i * d + i] > 0.0);
        // θ̂ = A⁻¹b, checked before anything is written
        for i in 0..d {
            let t = dot(&new_ai[i * d..(i + 1) * d], new_b);
            ok &= t.abs() <= MAX_SCALE;
            u[i] = t;
        }
        if ok {
            Ok(())
        } else {
            Err(overflow(operation))
        }
    }

    /// Writes a prepared update of `model` (learned from `action`).
    pub(crate) fn commit(&mut self, model: usize, action: usize, d: usize, scratch: &[f64]) {
        self.a_inv[model * d * d..(model + 1) * d * d].copy_from_slice(&scratch[..d * d]);
        self.theta[model * d..(model + 1) * d].copy_from_slice(&scratch[d * d..d * d + d]);
        self.b[model * d..(model + 1) * d].copy_from_slice(&scratch[d * d + d..d * d + 2 * d]);
        self.counts[action] = self.counts[action].saturating_add(1);
    }

    /// Total updates (saturating).
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |s, &c| s.saturating_add(c))
    }
}

/// `aᵀb` with four independent accumulators (a sequential sum is one long dependency chain;
/// four chains pipeline and vectorize). Deterministic: the order depends only on the length.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

pub(crate) fn overflow(operation: &'static str) -> CoreError {
    CoreError::Numerical {
        operation,
        detail: "the result overflows: a context, feature or reward of extreme magnitude",
    }
}

/// Where the feature rows of a choice come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rows<'a> {
    /// One context for all actions (joined with `z_a` for shared models).
    Context(&'a [f64]),
    /// Every action's full row, `n_actions × theta_dim`, row-major.
    Table(&'a [f64]),
    /// The full row of one action (for an update).
    Row(&'a [f64]),
}

impl<'a> Rows<'a> {
    /// Checks the rows' length and values.
    pub(crate) fn check(&self, l: &Layout<'_>) -> Result<(), CoreError> {
        match self {
            Rows::Context(x) => {
                check_shape("context", &[l.dim], &[x.len()])?;
                check_finite("context", x)
            }
            Rows::Table(t) => {
                // n_actions × theta_dim is below MAX_ELEMENTS (checked at construction)
                check_shape("rows", &[l.n_actions * l.theta_dim()], &[t.len()])?;
                check_finite("rows", t)
            }
            Rows::Row(r) => {
                check_shape("row", &[l.theta_dim()], &[r.len()])?;
                check_finite("row", r)
            }
        }
    }

    /// The row `x_{t,a}` of `action`, built into `buf` (length `theta_dim`) when needed.
    pub(crate) fn row<'b>(&self, l: &Layout<'_>, action: usize, buf: &'b mut [f64]) -> &'b [f64]
    where
        'a: 'b,
    {
        let d = l.theta_dim();
        match (self, l.features) {
            (Rows::Context(x), ArmFeatures::Disjoint) => x,
            (Rows::Context(x), ArmFeatures::Shared { action_features }) => {
                let z = &action_features[action];
                buf[..z.len()].copy_from_slice(z);
                buf[z.len()..d].copy_from_slice(x);
                &buf[..d]
            }
            (Rows::Table(t), _) => &t[action * d..(action + 1) * d],
            (Rows::Row(r), _) => r,
        }
    }
}

/// Checks an update (action, rows, reward) and computes it into `scratch` (resized to
/// [`update_scratch_len`]) without changing the state; returns the model it updates. The
/// caller commits with [`LinearArms::commit`].
pub(crate) fn prepare_learn(
    l: &Layout<'_>,
    arms: &LinearArms,
    scratch: &mut Vec<f64>,
    rows: Rows<'_>,
    action: usize,
    reward: f64,
    operation: &'static str,
) -> LearnResult<usize> {
    check_action(action, l.n_actions)?;
    rows.check(l)?;
    check_finite("reward", &[reward])?;
    let d = l.theta_dim();
    if scratch.len() != update_scratch_len(d) {
        scratch.resize(update_scratch_len(d), 0.0);
    }
    let (work, row_buf) = scratch.split_at_mut(d * d + 2 * d);
    let x = rows.row(l, action, row_buf);
    let model = l.model_of(action);
    arms.prepare(model, d, x, reward, work, operation)?;
    Ok(model)
}

/// The common checks of a choice: rows, mask and the scores buffer. Returns the number of
/// allowed actions.
pub(crate) fn check_choice(
    l: &Layout<'_>,
    rows: Rows<'_>,
    mask: Option<&[bool]>,
    scores: &[f64],
) -> LearnResult<usize> {
    rows.check(l)?;
    check_scores_len(scores, l.n_actions)?;
    check_mask(mask, l.n_actions)
}

/// Greedy scores `θ̂ᵀx_{t,a}` of every action into `scores`; an overflow is an error.
pub(crate) fn greedy_scores(
    l: &Layout<'_>,
    arms: &LinearArms,
    rows: Rows<'_>,
    scores: &mut [f64],
    operation: &'static str,
) -> Result<(), CoreError> {
    let d = l.theta_dim();
    with_scratch(d, |buf| {
        for a in 0..l.n_actions {
            let x = rows.row(l, a, buf);
            let s = arms.mean(l.model_of(a), d, x);
            if !s.is_finite() {
                return Err(overflow(operation));
            }
            scores[a] = s;
        }
        Ok(())
    })
}

/// Checks a mask (length `n_actions`, one allowed action at least); returns the number of
/// allowed actions.
pub(crate) fn check_mask(mask: Option<&[bool]>, n_actions: usize) -> LearnResult<usize> {
    match mask {
        None => Ok(n_actions),
        Some(m) => {
            check_shape("mask", &[n_actions], &[m.len()])?;
            match m.iter().filter(|&&b| b).count() {
                0 => Err(LearnError::NoAllowedAction { n_actions }),
                k => Ok(k),
            }
        }
    }
}

pub(crate) fn allowed(mask: Option<&[bool]>, a: usize) -> bool {
    mask.is_none_or(|m| m[a])
}

pub(crate) fn check_action(action: usize, n_actions: usize) -> LearnResult<()> {
    if action < n_actions {
        Ok(())
    } else {
        Err(LearnError::UnknownAction { action, n_actions })
    }
}

pub(crate) fn check_scores_len(scores: &[f64], n_actions: usize) -> Result<(), CoreError> {
    check_shape("scores", &[n_actions], &[scores.len()])
}

/// The argmax of `scores` over the allowed actions with the tie rule: exactly equal maxima
/// are split evenly, the action drawn uniformly among them from `seed` (a generator is made
/// only when there is a tie). Returns the action and the number tied.
pub(crate) fn argmax_split(scores: &[f64], mask: Option<&[bool]>, seed: u64) -> (usize, usize) {
    let mut best = f64::NEG_INFINITY;
    let mut first = usize::MAX;
    let mut ties = 0usize;
    for (a, &s) in scores.iter().enumerate() {
        if !allowed(mask, a) {
            continue;
        }
        if first == usize::MAX || s > best {
            best = s;
            first = a;
            ties = 1;
        } else if s == best {
            ties += 1;
        }
    }
    if ties <= 1 {
        return (first, 1);
    }
    let pick = ChaCha8Rng::seed_from_u64(seed).random_range(0..ties);
    let action = scores
        .iter()
        .enumerate()
        .filter(|&(a, &s)| allowed(mask, a) && s == best)
        .nth(pick)
        .map_or(first, |(a, _)| a);
    (action, ties)
}

/// Whether `action` is one of the tied maxima of `scores` over the allowed actions, and how
/// many are tied.
pub(crate) fn tied_max(scores: &[f64], mask: Option<&[bool]>) -> (f64, usize) {
    let mut best = f64::NEG_INFINITY;
    let mut ties = 0usize;
    for (a, &s) in scores.iter().enumerate() {
        if !allowed(mask, a) {
            continue;
        }
        if ties == 0 || s > best {
            best = s;
            ties = 1;
        } else if s == best {
            ties += 1;
        }
    }
    (best, ties)
}

thread_local! {
    /// Per-thread scratch of the choice paths (reused, so choices do not allocate once warm).
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a per-thread scratch buffer of at least `len` values.
pub(crate) fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [f64]) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        // re-entered (not done by this crate): fall back to a fresh buffer
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Maps an error of this module into the role error of [`OnlinePolicy`]: shared validation
/// errors stay [`prudentia_core::RoleError::Core`]; the bandit's own errors (unknown action,
/// no allowed action) are reported under [`prudentia_core::Role::Execution`], the role these
/// policies serve (core has no learner role).
pub(crate) fn role(e: LearnError) -> prudentia_core::RoleError {
    match e {
        LearnError::Core(c) => prudentia_core::RoleError::Core(c),
        other => prudentia_core::RoleError::implementation(prudentia_core::Role::Execution, other),
    }
}

/// The common interface of the linear bandits: masked, seeded, allocation-free choices with
/// propensities, and updates from a context or a full feature row. Object-safe.
pub trait LinearBandit: OnlinePolicy {
    /// Context length `dim`.
    fn context_dim(&self) -> usize;
    /// Length of a full feature row `x_{t,a}`: `dim`, or `p + dim` for shared models.
    fn row_dim(&self) -> usize;
    /// Updates per action.
    fn counts(&self) -> &[u64];
    /// Chooses among the allowed actions for `context` (`mask`: one flag per action, `None` =
    /// all allowed), writing every action's score into `scores` (length `n_actions`; masked
    /// actions are scored too). `explore = false` asks for the greedy action.
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] for a context, mask or `scores` of the wrong length,
    /// [`CoreError::NonFinite`] for a non-finite context, [`LearnError::NoAllowedAction`] when
    /// the mask allows nothing, [`CoreError::Numerical`] when a score overflows.
    fn decide(
        &self,
        context: &[f64],
        mask: Option<&[bool]>,
        explore: bool,
        seed: u64,
        scores: &mut [f64],
    ) -> LearnResult<Choice>;
    /// [`decide`](Self::decide) with every action's full feature row given
    /// (`n_actions × row_dim`, row-major) instead of one context.
    fn decide_rows(
        &self,
        rows: &[f64],
        mask: Option<&[bool]>,
        explore: bool,
        seed: u64,
        scores: &mut [f64],
    ) -> LearnResult<Choice>;
    /// Learns `reward` for `action` in `context`. Everything is checked first: on `Err`
    /// (unknown action, bad context, non-finite reward, an update that would overflow) the
    /// policy is unchanged.
    fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> LearnResult<()>;
    /// [`learn`](Self::learn) from the full feature row of `action` (length `row_dim`).
    fn learn_row(&mut self, row: &[f64], action: usize, reward: f64) -> LearnResult<()>;
    /// [`decide`](Self::decide) returning core's [`ActionChoice`] (allocates the scores).
    fn choose_masked(
        &self,
        context: &[f64],
        mask: Option<&[bool]>,
        explore: bool,
        seed: u64,
    ) -> LearnResult<ActionChoice> {
        let mut scores = vec![0.0; self.n_actions()];
        Ok(self
            .decide(context, mask, explore, seed, &mut scores)?
            .with_scores(scores))
    }
}
