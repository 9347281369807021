//! Linear Thompson sampling (Agrawal & Goyal 2013, "Thompson sampling for contextual bandits
//! with linear payoffs", ICML, Algorithm 1), disjoint or shared.
//!
//! Each model keeps the ridge state of [`LinUcb`](super::LinUcb) (`A = λI + Σ x xᵀ`,
//! `θ̂ = A⁻¹b`) and the Cholesky factor `L` of its covariance, `L Lᵀ = A⁻¹`, refreshed for the
//! updated model after every update (O(d³/6); it is derived data, rebuilt when a checkpoint
//! loads, so a restored policy decides bit for bit as the original). A choice samples
//! `θ̃ = θ̂ + v L ε` with `ε ~ N(0, I)` (one `ε` per action for disjoint models, one for all
//! actions for a shared model) and picks the allowed action with the highest `θ̃ᵀx_{t,a}`;
//! this is `multivariate_normal(θ̂, v² A⁻¹, method="cholesky")` as numpy and MABWiser's
//! `LinTS` draw it. The normals are drawn action by action (`d` each) from
//! `ChaCha8Rng::seed_from_u64(seed)` (rand_distr's `StandardNormal`);
//! [`LinearThompson::decide_with_normals`] takes them from the caller instead, which is how the
//! checked-in fixture reproduces MABWiser's decisions exactly.
//!
//! **Propensity.** The probability that the sampled scores make the chosen action the argmax
//! has no closed form. It is estimated by Monte Carlo: the same generator continues with
//! `propensity_draws` (`N`) further independent samples of all actions' scores (for disjoint
//! models one normal `z` per allowed action and sample, the score `θ̂ᵀx + v‖Lᵀx‖ z` having the
//! same distribution as a full draw, independently across actions; for a shared model one
//! `d`-vector `ε` per sample), the chosen
//! action wins `w` of them, and the propensity is `(w + 1) / (N + 1)` (the actual draw counts
//! as one sample that it won; a sample in which `m` allowed actions tie for the maximum counts
//! `1/m`), so it lies in `(0, 1]` with a standard error of about `√(p(1−p)/N)`. It costs `N` times the sampling; lower `propensity_draws` when decisions
//! must be fast. Without exploration the choice is the greedy argmax of `θ̂ᵀx_{t,a}` with
//! propensity 1 (or `1/m` for an `m`-way tie).
//!
//! ```
//! use prudentia_learn::bandit::{LinearBandit, LinearThompson, LinearThompsonConfig};
//!
//! # fn main() -> Result<(), prudentia_learn::LearnError> {
//! let mut ts = LinearThompson::new(LinearThompsonConfig { n_actions: 3, dim: 2, ..Default::default() })?;
//! for t in 0..300u64 {
//!     let x = [1.0, (t as f64 * 0.37).sin()];
//!     let c = ts.choose_masked(&x, None, true, t)?;
//!     assert!(c.propensity > 0.0 && c.propensity <= 1.0);
//!     ts.learn(&x, c.action, if c.action == 2 { 1.0 } else { 0.0 })?;
//! }
//! // the same seed gives the same choice
//! let a = ts.choose_masked(&[1.0, 0.2], None, true, 42)?;
//! assert_eq!(a, ts.choose_masked(&[1.0, 0.2], None, true, 42)?);
//! assert_eq!(ts.choose_masked(&[1.0, 0.2], None, false, 0)?.action, 2);
//! # Ok(()) }
//! ```

use prudentia_core::traits::{ActionChoice, OnlinePolicy, RoleResult};
use prudentia_core::validate::{check_finite, check_len, check_shape, check_size};
use prudentia_core::CoreError;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::{
    allowed, argmax_split, check_choice, check_scale, greedy_scores, overflow, prepare_learn, role,
    update_scratch_len, with_scratch, ArmFeatures, Choice, Layout, LinearArms, LinearBandit, Rows,
    StateNames,
};
use crate::error::LearnResult;

/// The default number of Monte-Carlo samples behind a Thompson-sampling propensity.
pub const DEFAULT_PROPENSITY_DRAWS: usize = 100;

/// The largest [`LinearThompsonConfig::propensity_draws`] (2¹⁶): a choice's cost is
/// proportional to it.
pub const MAX_PROPENSITY_DRAWS: usize = 1 << 16;

/// Configuration of [`LinearThompson`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct LinearThompsonConfig {
    /// Number of actions. Default 2; limits as [`LinUcbConfig::n_actions`](super::LinUcbConfig::n_actions).
    pub n_actions: usize,
    /// Context dimension. Default 1; in `1..=MAX_DIM`.
    pub dim: usize,
    /// Exploration scale `v`: the sampling covariance is `v² A⁻¹` (Agrawal & Goyal's `v`,
    /// MABWiser's `alpha`). Default 1; in `[0, 1e150]`.
    pub v: f64,
    /// Ridge λ. Default 1; in `[1e-150, 1e150]`.
    pub ridge: f64,
    /// Prior mean θ₀ (as [`LinUcbConfig::prior_mean`](super::LinUcbConfig::prior_mean)).
    #[serde(default)]
    pub prior_mean: Vec<f64>,
    /// Disjoint (default) or shared coefficients.
    #[serde(default)]
    pub features: ArmFeatures,
    /// Monte-Carlo samples behind each propensity (see the [module docs](self)). Default
    /// [`DEFAULT_PROPENSITY_DRAWS`] (100); in `1..=`[`MAX_PROPENSITY_DRAWS`] (65,536).
    #[serde(default = "default_draws")]
    pub propensity_draws: usize,
}

fn default_draws() -> usize {
    DEFAULT_PROPENSITY_DRAWS
}

impl Default for LinearThompsonConfig {
    fn default() -> Self {
        Self {
            n_actions: 2,
            dim: 1,
            v: 1.0,
            ridge: 1.0,
            prior_mean: Vec::new(),
            features: ArmFeatures::Disjoint,
            propensity_draws: DEFAULT_PROPENSITY_DRAWS,
        }
    }
}

impl LinearThompsonConfig {
    /// Checks every field (sizes, `v`, ridge, prior mean, action features, the number of
    /// propensity draws).
    pub fn validate(&self) -> Result<(), CoreError> {
        self.layout().validate()?;
        check_scale("v", self.v)?;
        check_len("propensity_draws", self.propensity_draws, 1)?;
        check_size("propensity_draws", self.propensity_draws, MAX_PROPENSITY_DRAWS)
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
prudentia_core::checked_serde!(LinearThompsonConfig, LinearThompsonConfig::check);

const NAMES: StateNames = StateNames {
    a_inv: "thompson.a_inv",
    b: "thompson.b",
    theta: "thompson.theta",
    counts: "thompson.counts",
    bounds: "thompson.b/theta",
};

/// Linear Thompson sampling (see the [module docs](self)). Deserializing validates the
/// checkpoint as [`LinUcb`](super::LinUcb) does and rebuilds the Cholesky factors (an `A⁻¹`
/// that is not positive definite is a load error); a rejected update changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct LinearThompson {
    config: LinearThompsonConfig,
    state: LinearArms,
    /// `Lᵀ` per model (upper triangular, row-major), `L Lᵀ = A⁻¹`.
    #[serde(skip)]
    chol_t: Vec<f64>,
    #[serde(skip)]
    scratch: Vec<f64>,
}

prudentia_core::checked_serde!(LinearThompson, LinearThompson::check_state);

/// Equality of the model state (derived factors and scratch excluded).
impl PartialEq for LinearThompson {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.state == other.state
    }
}

/// The Cholesky factor of the symmetric `a` (its lower triangle is read) as `Lᵀ` into `out`
/// (upper triangular, row-major); `false` when `a` is not numerically positive definite.
fn cholesky_upper(a: &[f64], d: usize, out: &mut [f64]) -> bool {
    out.fill(0.0);
    for j in 0..d {
        // L[j][k] = out[k*d + j]
        let mut s = a[j * d + j];
        for k in 0..j {
            let l = out[k * d + j];
            s -= l * l;
        }
        if !(s > 0.0 && s.is_finite()) {
            return false;
        }
        let ljj = s.sqrt();
        out[j * d + j] = ljj;
        for i in j + 1..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= out[k * d + i] * out[k * d + j];
            }
            let v = s / ljj;
            if !v.is_finite() {
                return false;
            }
            out[j * d + i] = v;
        }
    }
    true
}

impl LinearThompson {
    /// A fresh policy at its prior.
    ///
    /// # Errors
    /// The configuration's [`LinearThompsonConfig::validate`] errors.
    pub fn new(config: LinearThompsonConfig) -> LearnResult<Self> {
        config.validate()?;
        let state = LinearArms::new(&config.layout());
        let mut p = Self {
            state,
            chol_t: Vec::new(),
            scratch: Vec::new(),
            config,
        };
        p.rebuild_factors()?;
        Ok(p)
    }

    /// The configuration.
    pub fn config(&self) -> &LinearThompsonConfig {
        &self.config
    }

    fn rebuild_factors(&mut self) -> Result<(), CoreError> {
        let l = self.config.layout();
        let (m, d) = (l.models(), l.theta_dim());
        self.chol_t = vec![0.0; m * d * d];
        for model in 0..m {
            let block = model * d * d..(model + 1) * d * d;
            if !cholesky_upper(&self.state.a_inv[block.clone()], d, &mut self.chol_t[block]) {
                return Err(CoreError::Numerical {
                    operation: "thompson covariance factor",
                    detail: "A⁻¹ is not positive definite",
                });
            }
        }
        Ok(())
    }

    fn check_state(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        self.state.check(&self.config.layout(), &NAMES)?;
        self.scratch = Vec::new();
        self.rebuild_factors()
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

    /// A Thompson choice with the standard normals `ε` given by the caller instead of drawn:
    /// `normals` holds `models × row_dim` values (one block of `row_dim` per action for
    /// disjoint models, in action order; one block for a shared model). The propensity is
    /// estimated from `ChaCha8Rng::seed_from_u64(seed)` (its first draws, since none were used
    /// for the choice). Used to replay a reference implementation's draws.
    ///
    /// # Errors
    /// As [`LinearBandit::decide`], and [`CoreError::ShapeMismatch`] /
    /// [`CoreError::NonFinite`] for `normals` of the wrong length or non-finite.
    pub fn decide_with_normals(
        &self,
        context: &[f64],
        mask: Option<&[bool]>,
        normals: &[f64],
        seed: u64,
        scores: &mut [f64],
    ) -> LearnResult<Choice> {
        let l = self.config.layout();
        check_choice(&l, Rows::Context(context), mask, scores)?;
        check_shape("normals", &[l.models() * l.theta_dim()], &[normals.len()])?;
        check_finite("normals", normals)?;
        self.sample_and_choose(&l, Rows::Context(context), mask, seed, scores, Some(normals))
    }

    /// Scores of every action for the normals in `eps` (`models × d`), given each action's
    /// mean and `w_a = Lᵀx_a` (`k × d`).
    fn sampled_scores(&self, l: &Layout<'_>, means: &[f64], w: &[f64], eps: &[f64], scores: &mut [f64]) {
        let d = l.theta_dim();
        let v = self.config.v;
        for a in 0..l.n_actions {
            let m = l.model_of(a);
            let e = &eps[m * d..(m + 1) * d];
            scores[a] = means[a] + v * super::dot(&w[a * d..(a + 1) * d], e);
        }
    }

    fn sample_and_choose(
        &self,
        l: &Layout<'_>,
        rows: Rows<'_>,
        mask: Option<&[bool]>,
        seed: u64,
        scores: &mut [f64],
        given: Option<&[f64]>,
    ) -> LearnResult<Choice> {
        let (k, d, models) = (l.n_actions, l.theta_dim(), l.models());
        let draws = self.config.propensity_draws;
        // scratch: row (d) | means (k) | w (k × d) | eps (models × d)
        let len = d + k + k * d + models * d;
        with_scratch(len, |buf| {
            let (row_buf, rest) = buf.split_at_mut(d);
            let (means, rest) = rest.split_at_mut(k);
            let (w, eps) = rest.split_at_mut(k * d);
            for a in 0..k {
                let x = rows.row(l, a, row_buf);
                let m = l.model_of(a);
                means[a] = self.state.mean(m, d, x);
                let u = &self.chol_t[m * d * d..(m + 1) * d * d];
                let wa = &mut w[a * d..(a + 1) * d];
                for i in 0..d {
                    wa[i] = super::dot(&u[i * d + i..(i + 1) * d], &x[i..]);
                }
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            match given {
                Some(n) => eps.copy_from_slice(n),
                None => eps.iter_mut().for_each(|e| *e = rng.sample(StandardNormal)),
            }
            self.sampled_scores(l, means, w, eps, scores);
            if scores.iter().any(|s| !s.is_finite()) {
                return Err(overflow("thompson score").into());
            }
            let (action, ties) = argmax_split(scores, mask, seed);
            // Monte-Carlo propensity: further samples from the same stream (the reported
            // scores stay those of the actual draw)
            let v = self.config.v;
            let disjoint = matches!(l.features, ArmFeatures::Disjoint);
            if disjoint {
                // each action's sampled score is N(θ̂ᵀx, v²‖Lᵀx‖²), independently across
                // actions: one normal per action and sample is the same distribution
                for a in 0..k {
                    let wa = &w[a * d..(a + 1) * d];
                    w[a * d] = v * super::dot(wa, wa).sqrt();
                }
            }
            let mut wins = 1.0 / ties as f64;
            for _ in 0..draws {
                if disjoint {
                    for a in (0..k).filter(|&a| allowed(mask, a)) {
                        let z: f64 = rng.sample(StandardNormal);
                        eps[a] = means[a] + w[a * d] * z;
                    }
                } else {
                    eps.iter_mut().for_each(|e| *e = rng.sample(StandardNormal));
                }
                let score = |a: usize| {
                    if disjoint {
                        eps[a]
                    } else {
                        means[a] + v * super::dot(&w[a * d..(a + 1) * d], &eps[..d])
                    }
                };
                let sa = score(action);
                let mut tied = 1usize;
                let mut beaten = false;
                for b in (0..k).filter(|&b| b != action && allowed(mask, b)) {
                    let sb = score(b);
                    beaten |= sb > sa;
                    tied += usize::from(sb == sa);
                }
                if !beaten {
                    wins += 1.0 / tied as f64;
                }
            }
            Ok(Choice {
                action,
                propensity: wins / (draws + 1) as f64,
            })
        })
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
            self.sample_and_choose(&l, rows, mask, seed, scores, None)
        } else {
            greedy_scores(&l, &self.state, rows, scores, "thompson score")?;
            let (action, ties) = argmax_split(scores, mask, seed);
            Ok(Choice {
                action,
                propensity: 1.0 / ties as f64,
            })
        }
    }

    fn learn_rows(&mut self, rows: Rows<'_>, action: usize, reward: f64) -> LearnResult<()> {
        let l = self.config.layout();
        let d = l.theta_dim();
        let model = prepare_learn(
            &l,
            &self.state,
            &mut self.scratch,
            rows,
            action,
            reward,
            "thompson update",
        )?;
        // the factor of the new A⁻¹, checked before anything is written
        let n = update_scratch_len(d);
        self.scratch.resize(n + d * d, 0.0);
        let (work, factor) = self.scratch.split_at_mut(n);
        if !cholesky_upper(&work[..d * d], d, factor) {
            return Err(CoreError::Numerical {
                operation: "thompson update",
                detail: "A⁻¹ would lose positive definiteness: a context of extreme magnitude",
            }
            .into());
        }
        self.chol_t[model * d * d..(model + 1) * d * d].copy_from_slice(factor);
        self.state.commit(model, action, d, &self.scratch[..n]);
        Ok(())
    }
}

impl LinearBandit for LinearThompson {
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

impl OnlinePolicy for LinearThompson {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_factor_reproduces_the_matrix() {
        let a = [4.0, 2.0, 0.4, 2.0, 3.0, 0.5, 0.4, 0.5, 2.0];
        let mut u = [0.0; 9];
        assert!(cholesky_upper(&a, 3, &mut u));
        for i in 0..3 {
            for j in 0..3 {
                let s: f64 = (0..3).map(|k| u[k * 3 + i] * u[k * 3 + j]).sum();
                assert!((s - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        assert!(!cholesky_upper(&[1.0, 2.0, 2.0, 1.0], 2, &mut [0.0; 4]));
    }
}
