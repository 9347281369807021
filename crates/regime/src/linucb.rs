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
use prudentia_core::validate::{check_finite, check_len, check_non_negative, check_positive};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{RegimeError, RegimeResult};

/// Configuration of [`LinUcb`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinUcbConfig {
    /// Number of actions. Default 2; ≥ 1.
    pub n_actions: usize,
    /// Context dimension d. Default 1; ≥ 1.
    pub dim: usize,
    /// Exploration weight α on the confidence width. Default 1; ≥ 0.
    pub alpha: f64,
    /// Ridge λ: prior precision of θ (larger is more conservative). Default 1; > 0.
    pub ridge: f64,
    /// Prior mean θ₀ of every action's coefficients (length d), or empty for zeros.
    /// Default empty.
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

impl LinUcbConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("n_actions", self.n_actions, 1)?;
        check_len("dim", self.dim, 1)?;
        check_non_negative("alpha", self.alpha)?;
        check_positive("ridge", self.ridge)?;
        if !self.prior_mean.is_empty() {
            prudentia_core::validate::check_shape("prior_mean", &[self.dim], &[self.prior_mean.len()])?;
            check_finite("prior_mean", &self.prior_mean)?;
        }
        Ok(())
    }
}

/// Disjoint LinUCB (see the [module docs](self)).
///
/// Deserializing a checkpoint validates it (configuration, state sizes, finite values), so a
/// corrupted or mismatched checkpoint is an error at load time rather than a panic later.
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

// `remote = "Self"` turns the derives into inherent functions; the trait impls below call
// them and check the state, so a checkpoint is validated when it is loaded.
impl Serialize for LinUcb {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        LinUcb::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for LinUcb {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut p = LinUcb::deserialize(deserializer)?;
        p.check_state().map_err(serde::de::Error::custom)?;
        p.scratch = vec![0.0; p.config.dim];
        Ok(p)
    }
}

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
            scratch: vec![0.0; d],
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LinUcbConfig {
        &self.config
    }

    /// Configuration, state sizes and finite values (a loaded checkpoint must pass).
    fn check_state(&self) -> Result<(), CoreError> {
        self.config.validate()?;
        let (k, d) = (self.config.n_actions, self.config.dim);
        let shape = prudentia_core::validate::check_shape;
        shape("linucb.a_inv", &[k * d * d], &[self.a_inv.len()])?;
        shape("linucb.b", &[k * d], &[self.b.len()])?;
        shape("linucb.theta", &[k * d], &[self.theta.len()])?;
        shape("linucb.counts", &[k], &[self.counts.len()])?;
        check_finite("linucb.a_inv", &self.a_inv)?;
        check_finite("linucb.b", &self.b)?;
        check_finite("linucb.theta", &self.theta)
    }

    /// Current coefficient estimate θ̂ of `action`.
    pub fn theta(&self, action: usize) -> &[f64] {
        let d = self.config.dim;
        &self.theta[action * d..(action + 1) * d]
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
    pub fn mean_and_width(&self, action: usize, context: &[f64]) -> (f64, f64) {
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

    /// Scores and choice (see [`OnlinePolicy::choose`]); errors are typed.
    pub fn select(&self, context: &[f64], explore: bool) -> RegimeResult<ActionChoice> {
        self.check_context(context)?;
        let mut scores = Vec::with_capacity(self.config.n_actions);
        let mut best = 0;
        for a in 0..self.config.n_actions {
            let (m, w) = self.mean_and_width(a, context);
            let s = if explore { m + self.config.alpha * w } else { m };
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
        if self.scratch.len() != d {
            self.scratch.resize(d, 0.0);
        }
        let ai = &mut self.a_inv[action * d * d..(action + 1) * d * d];
        // u = A⁻¹x
        for i in 0..d {
            self.scratch[i] = ai[i * d..(i + 1) * d]
                .iter()
                .zip(context)
                .map(|(a, x)| a * x)
                .sum();
        }
        let denom = 1.0 + context.iter().zip(&self.scratch).map(|(x, u)| x * u).sum::<f64>();
        for i in 0..d {
            let ui = self.scratch[i] / denom;
            for j in 0..d {
                ai[i * d + j] -= ui * self.scratch[j];
            }
        }
        let b = &mut self.b[action * d..(action + 1) * d];
        for (bi, x) in b.iter_mut().zip(context) {
            *bi += reward * x;
        }
        let th = &mut self.theta[action * d..(action + 1) * d];
        for i in 0..d {
            th[i] = ai[i * d..(i + 1) * d]
                .iter()
                .zip(b.iter())
                .map(|(a, v)| a * v)
                .sum();
        }
        self.counts[action] += 1;
        Ok(())
    }
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
        assert!((p.theta(0)[0] - th[0]).abs() < 1e-12);
        assert!((p.theta(0)[1] - th[1]).abs() < 1e-12);
        let x = [0.3, 0.9];
        let q = (a[1][1] * x[0] * x[0] - 2.0 * a[0][1] * x[0] * x[1] + a[0][0] * x[1] * x[1]) / det;
        assert!((p.mean_and_width(0, &x).1 - q.sqrt()).abs() < 1e-12);
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
