//! LinUCB with disjoint linear models (Li, Chu, Langford & Schapire 2010, "A
//! contextual-bandit approach to personalized news article recommendation", WWW,
//! Algorithm 1).
//!
//! Each action `a` keeps `A_a = λI + Σ x xᵀ` and `b_a = λθ₀ + Σ r x` over the contexts
//! `x` in which it was chosen; `θ̂_a = A_a⁻¹ b_a`. The score is
//! `θ̂_aᵀx + α √(xᵀ A_a⁻¹ x)` when exploring and `θ̂_aᵀx` when greedy; the highest score
//! wins (ties to the lowest index), so the propensity is 1.
//!
//! `A_a⁻¹` is kept directly and updated by Sherman–Morrison,
//! `A⁻¹ ← A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x)`, so an update costs O(d²) and no
//! factorization.

use prudentia_core::traits::{ActionChoice, OnlinePolicy, Role, RoleError, RoleResult};
use prudentia_core::validate::{
    check_elements, check_finite, check_len, check_non_negative, check_positive, check_shape, check_size,
    MAX_DIM, MAX_ELEMENTS,
};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{RegimeError, RegimeResult};

/// Configuration of [`LinUcb`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct LinUcbConfig {
    /// Number of actions. Default 2; in `1..=MAX_DIM` (65,536), and
    /// `n_actions × dim²` at most `MAX_ELEMENTS` (2²⁸).
    pub n_actions: usize,
    /// Context dimension d. Default 1; in `1..=MAX_DIM`.
    pub dim: usize,
    /// Exploration weight α on the confidence width. Default 1; in `[0, 1e150]`.
    pub alpha: f64,
    /// Ridge λ: prior precision of θ (larger is more conservative). Default 1; in
    /// `[1e-150, 1e150]`.
    pub ridge: f64,
    /// Prior mean θ₀ of every action's coefficients (length d, `|θ₀|` and `|λθ₀|` at most
    /// 1e150), or empty for zeros. Default empty.
    pub prior_mean: Vec<f64>,
}

impl Default for LinUcbConfig {
    fn default() -> Self {
        Self {
            n_actions: 2,
            dim: 1,
            alpha: 1.0,
            ridge: 1.0,
            prior_mean: Vec::new(),
        }
    }
}

/// The largest exploration weight and ridge [`LinUcbConfig`] accepts (and the inverse of the
/// smallest ridge): beyond it the prior precision or the scores overflow.
pub const MAX_SCALE: f64 = 1e150;

impl LinUcbConfig {
    /// Checks every field: sizes within their limits (typed [`CoreError::TooLarge`]),
    /// α and λ finite and in range, the prior mean of length d and finite.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("n_actions", self.n_actions, 1)?;
        check_len("dim", self.dim, 1)?;
        check_size("n_actions", self.n_actions, MAX_DIM)?;
        check_size("dim", self.dim, MAX_DIM)?;
        check_elements(
            "n_actions x dim x dim",
            &[self.n_actions, self.dim, self.dim],
            MAX_ELEMENTS,
        )?;
        check_non_negative("alpha", self.alpha)?;
        check_positive("ridge", self.ridge)?;
        for (field, v, lo) in [("alpha", self.alpha, 0.0), ("ridge", self.ridge, 1.0 / MAX_SCALE)] {
            if !(lo..=MAX_SCALE).contains(&v) {
                return Err(CoreError::OutOfRange {
                    field,
                    value: v,
                    expected: "in [0, 1e150] (alpha) or [1e-150, 1e150] (ridge)",
                });
            }
        }
        if !self.prior_mean.is_empty() {
            check_shape("prior_mean", &[self.dim], &[self.prior_mean.len()])?;
            check_finite("prior_mean", &self.prior_mean)?;
            for &m in &self.prior_mean {
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

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}
prudentia_core::checked_serde!(LinUcbConfig, LinUcbConfig::check);

/// Disjoint LinUCB (see the [module docs](self)).
///
/// Deserializing a checkpoint validates it (configuration, state sizes, finite values, a
/// positive diagonal of every `A⁻¹`, `θ̂ = A⁻¹b`), so a corrupted or mismatched checkpoint is
/// an error at load time rather than a panic later. A rejected [`learn`](Self::learn)
/// changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct LinUcb {
    config: LinUcbConfig,
    a_inv: Vec<f64>,
    b: Vec<f64>,
    theta: Vec<f64>,
    counts: Vec<u64>,
    #[serde(skip)]
    scratch: Vec<f64>,
}

prudentia_core::checked_serde!(LinUcb, LinUcb::check_state);

/// Equality of the model state (scratch buffers excluded).
impl PartialEq for LinUcb {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.a_inv == other.a_inv
            && self.b == other.b
            && self.theta == other.theta
            && self.counts == other.counts
    }
}

impl LinUcb {
    /// A fresh policy at its prior.
    pub fn new(config: LinUcbConfig) -> RegimeResult<Self> {
        config.validate()?;
        let (k, d) = (config.n_actions, config.dim);
        let mut a_inv = vec![0.0; k * d * d];
        let mut b = vec![0.0; k * d];
        let mut theta = vec![0.0; k * d];
        for a in 0..k {
            for i in 0..d {
                a_inv[a * d * d + i * d + i] = 1.0 / config.ridge;
                if let Some(&m) = config.prior_mean.get(i) {
                    b[a * d + i] = config.ridge * m;
                    theta[a * d + i] = m;
                }
            }
        }
        Ok(Self {
            a_inv,
            b,
            theta,
            counts: vec![0; k],
            scratch: vec![0.0; d * d + 2 * d],
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LinUcbConfig {
        &self.config
    }

    /// Configuration, state sizes, finite values, a positive diagonal of every `A⁻¹` and
    /// `θ̂ = A⁻¹b` (a loaded checkpoint must pass); rebuilds the scratch buffer.
    fn check_state(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        let (k, d) = (self.config.n_actions, self.config.dim);
        check_shape("linucb.a_inv", &[k * d * d], &[self.a_inv.len()])?;
        check_shape("linucb.b", &[k * d], &[self.b.len()])?;
        check_shape("linucb.theta", &[k * d], &[self.theta.len()])?;
        check_shape("linucb.counts", &[k], &[self.counts.len()])?;
        check_finite("linucb.a_inv", &self.a_inv)?;
        check_finite("linucb.b", &self.b)?;
        check_finite("linucb.theta", &self.theta)?;
        if let Some(v) = self.b.iter().chain(&self.theta).find(|v| v.abs() > MAX_SCALE) {
            return Err(CoreError::OutOfRange {
                field: "linucb.b/theta",
                value: *v,
                expected: "|value| <= 1e150",
            });
        }
        for a in 0..k {
            let ai = &self.a_inv[a * d * d..(a + 1) * d * d];
            for i in 0..d {
                let v = ai[i * d + i];
                let within = v > 0.0;
                if !within {
                    return Err(CoreError::OutOfRange {
                        field: "linucb.a_inv",
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
                let within = (th[i] - want).abs() <= 1e-6 * scale + 1e-12;
                if !within {
                    return Err(CoreError::OutOfRange {
                        field: "linucb.theta",
                        value: th[i],
                        expected: "theta = A⁻¹ b",
                    });
                }
            }
        }
        self.scratch = vec![0.0; d * d + 2 * d];
        Ok(())
    }

    /// Current coefficient estimate θ̂ of `action`; `None` for an action outside
    /// `0..n_actions`.
    pub fn theta(&self, action: usize) -> Option<&[f64]> {
        let d = self.config.dim;
        if action >= self.config.n_actions {
            return None;
        }
        self.theta.get(action * d..(action + 1) * d)
    }

    /// Times each action was updated.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    fn check_context(&self, context: &[f64]) -> Result<(), CoreError> {
        prudentia_core::validate::check_shape("context", &[self.config.dim], &[context.len()])?;
        check_finite("context", context)
    }

    /// `(θ̂ᵀx, √(xᵀA⁻¹x))` of one action.
    ///
    /// # Errors
    /// [`RegimeError::UnknownAction`] for an action outside `0..n_actions`;
    /// [`CoreError::ShapeMismatch`] / [`CoreError::NonFinite`] for a context that is not `d`
    /// finite values; [`CoreError::Numerical`] when the mean or width overflows (a context
    /// of extreme magnitude).
    pub fn mean_and_width(&self, action: usize, context: &[f64]) -> RegimeResult<(f64, f64)> {
        if action >= self.config.n_actions {
            return Err(RegimeError::UnknownAction {
                action,
                n_actions: self.config.n_actions,
            });
        }
        self.check_context(context)?;
        let (m, w) = self.mean_and_width_unchecked(action, context);
        if m.is_finite() && w.is_finite() {
            Ok((m, w))
        } else {
            Err(overflow("linucb score"))
        }
    }

    /// [`mean_and_width`](Self::mean_and_width) for a checked action and context.
    fn mean_and_width_unchecked(&self, action: usize, context: &[f64]) -> (f64, f64) {
        let d = self.config.dim;
        let th = &self.theta[action * d..(action + 1) * d];
        let ai = &self.a_inv[action * d * d..(action + 1) * d * d];
        let mean: f64 = th.iter().zip(context).map(|(t, x)| t * x).sum();
        let mut q = 0.0;
        for i in 0..d {
            let row = &ai[i * d..(i + 1) * d];
            let s: f64 = row.iter().zip(context).map(|(a, x)| a * x).sum();
            q += context[i] * s;
        }
        (mean, q.max(0.0).sqrt())
    }

    /// Scores and choice (see [`OnlinePolicy::choose`]); errors are typed, and a score
    /// that overflows (a context of extreme magnitude) is [`CoreError::Numerical`].
    pub fn select(&self, context: &[f64], explore: bool) -> RegimeResult<ActionChoice> {
        self.check_context(context)?;
        let mut scores = Vec::with_capacity(self.config.n_actions);
        let mut best = 0;
        for a in 0..self.config.n_actions {
            let (m, w) = self.mean_and_width_unchecked(a, context);
            let s = if explore { m + self.config.alpha * w } else { m };
            if !s.is_finite() {
                return Err(overflow("linucb score"));
            }
            if s > scores.get(best).copied().unwrap_or(f64::NEG_INFINITY) {
                best = a;
            }
            scores.push(s);
        }
        Ok(ActionChoice {
            action: best,
            propensity: 1.0,
            scores,
        })
    }

    /// Sherman–Morrison update of `action` with `(context, reward)`; O(d²).
    ///
    /// Everything is checked, and the new `A⁻¹`, `b` and `θ̂` computed, before any state
    /// changes: an unknown action, a bad context or reward, or an update that would
    /// overflow or push `b` or `θ̂` beyond `±1e150` ([`MAX_SCALE`]: a context or reward of
    /// extreme magnitude, [`CoreError::Numerical`]) is an error that leaves the policy as it
    /// was, so one absurd reward cannot blind the policy for good.
    pub fn learn(&mut self, context: &[f64], action: usize, reward: f64) -> RegimeResult<()> {
        if action >= self.config.n_actions {
            return Err(RegimeError::UnknownAction {
                action,
                n_actions: self.config.n_actions,
            });
        }
        self.check_context(context)?;
        check_finite("reward", &[reward])?;
        let d = self.config.dim;
        if self.scratch.len() != d * d + 2 * d {
            self.scratch.resize(d * d + 2 * d, 0.0);
        }
        let (new_ai, rest) = self.scratch.split_at_mut(d * d);
        let (u, new_b) = rest.split_at_mut(d);
        let ai = &self.a_inv[action * d * d..(action + 1) * d * d];
        // u = A⁻¹x
        for i in 0..d {
            u[i] = ai[i * d..(i + 1) * d]
                .iter()
                .zip(context)
                .map(|(a, x)| a * x)
                .sum();
        }
        let denom = 1.0 + context.iter().zip(u.iter()).map(|(x, v)| x * v).sum::<f64>();
        if !(denom.is_finite() && denom >= 1.0 - 1e-12) {
            return Err(overflow("linucb update"));
        }
        for i in 0..d {
            let ui = u[i] / denom;
            for j in 0..d {
                new_ai[i * d + j] = ai[i * d + j] - ui * u[j];
            }
        }
        let b = &self.b[action * d..(action + 1) * d];
        for ((nb, bi), x) in new_b.iter_mut().zip(b).zip(context) {
            *nb = bi + reward * x;
        }
        let mut ok = new_ai.iter().all(|v| v.is_finite()) && new_b.iter().all(|v| v.abs() <= MAX_SCALE);
        ok &= (0..d).all(|i| new_ai[i * d + i] > 0.0);
        // θ̂ = A⁻¹b, checked before anything is written
        for i in 0..d {
            let t: f64 = new_ai[i * d..(i + 1) * d]
                .iter()
                .zip(new_b.iter())
                .map(|(a, v)| a * v)
                .sum();
            ok &= t.abs() <= MAX_SCALE;
            u[i] = t;
        }
        if !ok {
            return Err(overflow("linucb update"));
        }
        self.a_inv[action * d * d..(action + 1) * d * d].copy_from_slice(new_ai);
        self.b[action * d..(action + 1) * d].copy_from_slice(new_b);
        self.theta[action * d..(action + 1) * d].copy_from_slice(u);
        self.counts[action] = self.counts[action].saturating_add(1);
        Ok(())
    }
}

fn overflow(operation: &'static str) -> RegimeError {
    CoreError::Numerical {
        operation,
        detail: "the result overflows: a context or reward of extreme magnitude",
    }
    .into()
}

fn role(e: RegimeError) -> RoleError {
    RoleError::implementation(Role::Regime, e)
}

impl OnlinePolicy for LinUcb {
    fn n_actions(&self) -> usize {
        self.config.n_actions
    }

    fn choose(&self, context: &[f64], explore: bool, _seed: u64) -> RoleResult<ActionChoice> {
        self.select(context, explore).map_err(role)
    }

    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()> {
        self.learn(context, action, reward).map_err(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Err(RegimeError::UnknownAction { action: 5, .. })
        ));
        assert!(p.learn(&[f64::NAN], 0, 1.0).is_err());
        assert!(p.learn(&[1.0], 0, f64::INFINITY).is_err());
        assert!(p.select(&[1.0, 2.0], true).is_err());
    }
}
