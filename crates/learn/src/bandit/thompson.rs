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
//! has no closed form.
//!
//! For disjoint models, whose sampled scores `S_b ~ N(μ_b, σ_b²)` (`μ_b = θ̂ᵀx_b`,
//! `σ_b = v‖Lᵀx_b‖`) are independent across actions, it is the one-dimensional integral
//! `P(a) = E_z[∏_{b≠a} Φ((μ_a + σ_a z − μ_b)/σ_b)]`, `z ~ N(0, 1)`, over the allowed `b`,
//! computed by Gauss–Hermite quadrature (32 nodes when every competitor's `σ_a/σ_b ≤ 1.5`,
//! 64 when it is ≤ 3; competitors that cannot beat `a` within 8.5 standard deviations are
//! skipped): accurate to about 5e-7 (a test checks the closed form of two actions), no
//! random draws, and about 2.5 times cheaper than the Monte-Carlo estimate below at the
//! default 100 draws. It is used when `propensity_draws` is at least
//! [`QUADRATURE_MIN_DRAWS`] (16; fewer draws ask for a cheap, rough estimate, and get the
//! Monte-Carlo one). It is floored at `f64::EPSILON`, so that
//! `1/p` stays finite. When some `σ_b` is 0 (e.g. `v = 0`), an action is much wider than a
//! competitor (ratio above 3) or the model is shared, the Monte-Carlo estimate is used:
//! the same generator continues with
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
    /// Monte-Carlo samples behind each propensity when it is estimated (shared models, zero
    /// or very unequal widths; disjoint models otherwise use quadrature, see the
    /// [module docs](self)). Default
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

/// Probabilists' Gauss–Hermite nodes `x > 0` and weights (normalized to the standard normal
/// density: they sum to 1 over `±x`), 32 and 64 nodes (numpy's `hermegauss`).
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
const GH32: [(f64, f64); 16] = [
    (0.27554641923027584, 0.21170556988047928),
    (0.8272849037797652, 0.1565389937575985),
    (1.3809801992721442, 0.08534480827208074),
    (1.9380049059257174, 0.03410984772609207),
    (2.4998404151873954, 0.009903461702320593),
    (3.0681351690131216, 0.0020620510513078808),
    (3.644781249880833, 0.00030255702581706285),
    (4.23202110999541, 3.0559803060896336e-05),
    (4.832604613244489, 2.0596221039534275e-06),
    (5.450033273623428, 8.88129071310589e-08),
    (6.088964309076987, 2.3125184120742393e-09),
    (6.755930830540705, 3.347501239801196e-11),
    (7.460755754121519, 2.3780648557778086e-13),
    (8.219728765382245, 6.755290223670204e-16),
    (9.064399210702405, 5.208449591960913e-19),
    (10.077422674229465, 4.1246074890182835e-23),
];
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
const GH64: [(f64, f64); 32] = [
    (0.1955889105672755, 0.15310831636189684),
    (0.5868828233052925, 0.1314532313175009),
    (0.9785259089850292, 0.09686336389597532),
    (1.3707539637008053, 0.061213638510676474),
    (1.76380737694281, 0.033140485961928),
    (2.1579331167626106, 0.015347721995577652),
    (2.553386870984083, 0.0060684460158915016),
    (2.9504354015399628, 0.002043825838784884),
    (3.3493591797524944, 0.0005846860830696024),
    (3.750455385225611, 0.00014160238834136032),
    (4.154041371340909, 2.8919958244145737e-05),
    (4.5604587281440505, 4.9583797210632245e-06),
    (4.970078111602426, 7.099424621906659e-07),
    (5.383305061164614, 8.437641047541e-08),
    (5.800587101829209, 8.266084421479323e-09),
    (6.222422532626455, 6.621423410950699e-10),
    (6.64937145634172, 4.296426248985271e-11),
    (7.082069830804841, 2.2337268555257743e-12),
    (7.521247661787309, 9.186928787329618e-14),
    (7.967752981941221, 2.944293146997723e-15),
    (8.422584092328586, 7.222153573524514e-17),
    (8.88693390583818, 1.3269088554685194e-18),
    (9.362252546252307, 1.778469191112275e-20),
    (9.85033845788215, 1.6829001120429282e-22),
    (10.353475921269002, 1.0785651103547861e-24),
    (10.874651988398703, 4.435544420470875e-27),
    (11.417918056820673, 1.0883801541458555e-29),
    (11.989036605128154, 1.4384921208585856e-32),
    (12.596752480605723, 8.786635679310362e-36),
    (13.255649357397285, 1.9301704298297602e-39),
    (13.99404990887647, 9.476963190042957e-44),
    (14.886186143339453, 3.1231879651077347e-49),
];

/// Beyond this many standard deviations a normal is treated as certain to be above (the
/// tail is below 1e-16), and quadrature nodes beyond it (weights below 1e-16) are skipped.
const TAIL: f64 = 8.5;

/// `Φ(t)`: for `t ≥ −3` the Zelen & Severo approximation (Abramowitz & Stegun 26.2.17,
/// absolute error below 7.5e-8, one `exp`), below it `libm`'s `erfc` through core (accurate
/// in the tail, where the approximation's relative error would grow).
fn fast_cdf(t: f64) -> f64 {
    if t < -3.0 {
        return prudentia_core::normal::cdf(t);
    }
    let a = t.abs();
    let k = 1.0 / (1.0 + 0.231_641_9 * a);
    let poly = k
        * (0.319_381_530
            + k * (-0.356_563_782 + k * (1.781_477_937 + k * (-1.821_255_978 + k * 1.330_274_429))));
    let tail = 0.398_942_280_401_432_7 * (-0.5 * a * a).exp() * poly;
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The quadrature replaces the Monte-Carlo propensity from this many `propensity_draws` on
/// (below it, the few draws asked for are cheaper than the quadrature: about the cost of 16
/// draws at 8 actions).
pub const QUADRATURE_MIN_DRAWS: usize = 16;

/// Quadrature nodes whose weight is below this are skipped (their total is below 1e-11).
const MIN_WEIGHT: f64 = 1e-13;

/// The exact propensity of `action` for a disjoint model: `E_z[∏_b Φ((μ_a + σ_a z − μ_b)/σ_b)]`
/// over the allowed competitors `b`, by Gauss–Hermite quadrature; `None` when it does not
/// apply (a zero or non-finite `σ`, a width ratio `σ_a/σ_b` above 3). `sigma(b)` is `σ_b`.
fn exact_propensity(
    action: usize,
    means: &[f64],
    sigma: impl Fn(usize) -> f64,
    mask: Option<&[bool]>,
) -> Option<f64> {
    let k = means.len();
    let (ma, sa) = (means[action], sigma(action));
    if !(sa > 0.0 && sa.is_finite() && ma.is_finite()) {
        return None;
    }
    // a competitor matters unless it stays below a's worst case for every relevant node
    let relevant = |b: usize, sb: f64| (ma - means[b] - sa * TAIL) / sb <= TAIL;
    let mut ratio: f64 = 0.0;
    for b in (0..k).filter(|&b| b != action && allowed(mask, b)) {
        let sb = sigma(b);
        if !(sb > 0.0 && sb.is_finite() && means[b].is_finite()) {
            return None;
        }
        if relevant(b, sb) {
            ratio = ratio.max(sa / sb);
        }
    }
    let nodes: &[(f64, f64)] = if ratio <= 1.5 {
        &GH32
    } else if ratio <= 3.0 {
        &GH64
    } else {
        return None;
    };
    // divided by the weights' sum, so that a constant integrand (no competitor) is exact
    let (mut p, mut total) = (0.0, 0.0);
    for &(x, w) in nodes.iter().filter(|(x, w)| *x <= TAIL && *w >= MIN_WEIGHT) {
        total += 2.0 * w;
        let mut pair = 0.0;
        for z in [x, -x] {
            let s = ma + sa * z;
            let mut prod = 1.0;
            for b in (0..k).filter(|&b| b != action && allowed(mask, b)) {
                let t = (s - means[b]) / sigma(b);
                if t > TAIL {
                    continue;
                }
                prod *= fast_cdf(t);
                if prod < 1e-16 {
                    prod = 0.0;
                    break;
                }
            }
            pair += prod;
        }
        p += w * pair;
    }
    let p = p / total;
    p.is_finite().then(|| p.clamp(f64::EPSILON, 1.0))
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
            let v = self.config.v;
            let disjoint = matches!(l.features, ArmFeatures::Disjoint);
            if disjoint {
                // each action's sampled score is N(θ̂ᵀx, v²‖Lᵀx‖²), independently across
                // actions: one normal per action and sample is the same distribution
                for a in 0..k {
                    let wa = &w[a * d..(a + 1) * d];
                    w[a * d] = v * super::dot(wa, wa).sqrt();
                }
                if draws >= QUADRATURE_MIN_DRAWS {
                    if let Some(propensity) = exact_propensity(action, means, |b| w[b * d], mask) {
                        return Ok(Choice { action, propensity });
                    }
                }
            }
            // Monte-Carlo propensity: further samples from the same stream (the reported
            // scores stay those of the actual draw)
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

    #[test]
    fn fast_cdf_is_within_its_bound() {
        for i in -1000..=1000 {
            let t = i as f64 * 0.01;
            let (a, b) = (fast_cdf(t), prudentia_core::normal::cdf(t));
            assert!((a - b).abs() < 1e-7, "{t}: {a} vs {b}");
        }
    }

    #[test]
    fn gauss_hermite_weights_sum_to_one() {
        for nodes in [&GH32[..], &GH64[..]] {
            let s: f64 = nodes.iter().map(|(_, w)| 2.0 * w).sum();
            assert!((s - 1.0).abs() < 1e-14, "{s}");
        }
    }

    #[test]
    fn exact_propensity_matches_closed_forms() {
        use prudentia_core::normal::cdf;
        // two actions: P(S_0 > S_1) = Φ((μ0 − μ1) / √(σ0² + σ1²)), for width ratios up to 3
        for (m0, m1, s0, s1) in [
            (0.5f64, 0.0f64, 0.7f64, 1.0f64),
            (0.5, 0.0, 0.7, 1.0),
            (0.0, 0.3, 1.0, 1.0),
            (1.0, -2.0, 0.4, 2.0),
            (0.2, 0.1, 2.9, 1.0),
            (0.0, 0.0, 1.4, 1.0),
            (-3.0, 3.0, 1.0, 1.0),
        ] {
            let means = [m0, m1];
            let sig = [s0, s1];
            let want = cdf((m0 - m1) / (s0 * s0 + s1 * s1).sqrt());
            let got = exact_propensity(0, &means, |b| sig[b], None).unwrap();
            assert!(
                (got - want.max(f64::EPSILON)).abs() < 5e-7,
                "{means:?} {sig:?}: {got} vs {want}"
            );
            // seen from action 1 the width ratio may exceed 3 (then Monte Carlo applies)
            if let Some(other) = exact_propensity(1, &means, |b| sig[b], None) {
                assert!((got + other - 1.0).abs() < 4e-7, "{got} + {other}");
            } else {
                assert!(s1 / s0 > 3.0);
            }
        }
        // several actions, one masked: the allowed actions' propensities sum to 1
        let means = [0.1, 0.3, -0.2, 0.25, 5.0];
        let sig = [0.5, 0.4, 0.9, 0.6, 1.0];
        let mask = [true, true, true, true, false];
        let total: f64 = (0..4)
            .map(|a| exact_propensity(a, &means, |b| sig[b], Some(&mask)).unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        // degenerate and too-wide cases fall back to Monte Carlo
        assert!(exact_propensity(0, &[0.0, 0.0], |b| [1.0, 0.0][b], None).is_none());
        assert!(exact_propensity(0, &[0.0, 0.0], |b| [4.0, 1.0][b], None).is_none());
        // a competitor far below does not count toward the width ratio
        let p = exact_propensity(0, &[0.0, -1e3], |b| [4.0, 1.0][b], None).unwrap();
        assert_eq!(p, 1.0);
        assert_eq!(
            exact_propensity(1, &[0.0, 0.0], |b| [4.0, 1.0][b], Some(&[false, true])),
            Some(1.0)
        );
    }
}
