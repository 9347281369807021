//! Off-policy evaluation: the value of a target policy estimated from decisions logged under
//! another (logging) policy.
//!
//! A log holds `n` rounds `(xᵢ, aᵢ, rᵢ, pᵢ)`: context, action taken, reward observed and the
//! logging policy's propensity `pᵢ = μ(aᵢ | xᵢ) > 0`. The target policy gives probabilities
//! `π(a | xᵢ)` (an `n × k` matrix), a reward model gives `q̂(xᵢ, a)` (an `n × k` matrix,
//! [`RewardModel`]). With importance weights `wᵢ = π(aᵢ | xᵢ) / pᵢ` the estimators are
//! (definitions as in Open Bandit Pipeline, Saito et al. 2021):
//!
//! | estimator | value | source |
//! |---|---|---|
//! | IPS | `(1/n) Σ wᵢ rᵢ` | Horvitz & Thompson 1952 |
//! | SNIPS | `Σ wᵢ rᵢ / Σ wᵢ` | Swaminathan & Joachims 2015, NeurIPS |
//! | DM | `(1/n) Σᵢ Σₐ π(a\|xᵢ) q̂(xᵢ, a)` | |
//! | DR | `(1/n) Σᵢ [Σₐ π(a\|xᵢ) q̂(xᵢ, a) + wᵢ (rᵢ − q̂(xᵢ, aᵢ))]` | Dudík, Langford & Li 2011, ICML |
//!
//! Standard errors are those of a mean of the per-round terms (sample standard deviation
//! over `√n`); for SNIPS the delta method, `sd(wᵢ (rᵢ − V̂)) / (√n · mean w)`. Normal
//! intervals are `V̂ ± z se` with `z = Φ⁻¹((1 + confidence) / 2)`; bootstrap intervals are
//! percentile intervals of the estimator over `B` resamples of the rounds drawn with
//! replacement from a `ChaCha8Rng` seeded with [`OpeConfig::seed`] (deterministic per seed).
//! The effective sample size is `(Σ wᵢ)² / Σ wᵢ²` (Kish).
//!
//! **Support.** IPS and DR are unbiased only where the logging policy could have taken the
//! actions the target policy takes. [`SupportStatus::Deficient`] reports the target mass on
//! actions whose logging probability is below [`OpeConfig::support_threshold`] (computed from
//! the full logging distribution when [`LoggedData::with_logging_policy`] gives it, otherwise
//! from the logged propensities).
//!
//! Rewards and `q̂` are scaled by a power of two internally (exact), so rewards up to
//! `f64::MAX` work; a result `f64` cannot hold is [`ExecutionError::Overflow`].

use ndarray::{Array2, ArrayView2, Axis};
use prudentia_core::validate::{
    check_elements, check_finite_2d, check_len, check_shape, check_size, MAX_ELEMENTS, MAX_WINDOW,
};
use prudentia_core::{CoreError, Status};
use prudentia_learn::linear::{CovarianceKind, LinearData, LinearRegressionConfig};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{ExecutionError, ExecutionResult};

/// Tolerance on a target-policy row summing to one.
pub const DISTRIBUTION_TOLERANCE: f64 = 1e-6;

/// The largest number of bootstrap resamples.
pub const MAX_BOOTSTRAP: usize = 100_000;

/// Settings of an off-policy evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct OpeConfig {
    /// Coverage of the intervals, in (0, 1). Default 0.95.
    pub confidence: f64,
    /// Bootstrap resamples (0 = no bootstrap interval), at most [`MAX_BOOTSTRAP`]. Default 200.
    pub bootstrap_samples: usize,
    /// Seed of the bootstrap. Default 0.
    pub seed: u64,
    /// Logging probabilities below this count as outside the support, in [0, 1). Default 1e-3.
    pub support_threshold: f64,
    /// Ridge penalty of the per-action reward model ([`RewardModel`]), ≥ 0. Default 1.
    pub ridge: f64,
}
prudentia_core::checked_serde!(OpeConfig, OpeConfig::validate);

impl Default for OpeConfig {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            bootstrap_samples: 200,
            seed: 0,
            support_threshold: 1e-3,
            ridge: 1.0,
        }
    }
}

impl OpeConfig {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> ExecutionResult<()> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "confidence",
                value: self.confidence,
                expected: "in (0, 1)",
            }
            .into());
        }
        check_size("bootstrap_samples", self.bootstrap_samples, MAX_BOOTSTRAP)?;
        if !(self.support_threshold >= 0.0 && self.support_threshold < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "support_threshold",
                value: self.support_threshold,
                expected: "in [0, 1)",
            }
            .into());
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(CoreError::OutOfRange {
                field: "ridge",
                value: self.ridge,
                expected: "finite and >= 0",
            }
            .into());
        }
        Ok(())
    }
}

/// Decisions logged under a logging policy: one row per round.
#[derive(Debug, Clone, Copy)]
pub struct LoggedData<'a> {
    /// Contexts, `n × d`.
    pub contexts: ArrayView2<'a, f64>,
    /// Action taken per round, `< k`.
    pub actions: &'a [usize],
    /// Reward observed per round (finite).
    pub rewards: &'a [f64],
    /// Logging propensity of the action taken, in (0, 1].
    pub propensities: &'a [f64],
    /// The logging policy's full distribution, `n × k`, if known (for the support check).
    pub logging_policy: Option<ArrayView2<'a, f64>>,
}

impl<'a> LoggedData<'a> {
    /// A log without the logging policy's full distribution.
    pub fn new(
        contexts: ArrayView2<'a, f64>,
        actions: &'a [usize],
        rewards: &'a [f64],
        propensities: &'a [f64],
    ) -> Self {
        Self {
            contexts,
            actions,
            rewards,
            propensities,
            logging_policy: None,
        }
    }

    /// Adds the logging policy's probabilities of every action (`n × k`).
    pub fn with_logging_policy(mut self, probabilities: ArrayView2<'a, f64>) -> Self {
        self.logging_policy = Some(probabilities);
        self
    }

    /// Number of rounds.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Checks lengths, action indices, propensities in (0, 1] and finite rewards against an
    /// action space of `k` actions; returns `n`. Contexts are checked by the reward model.
    fn check(&self, k: usize) -> ExecutionResult<usize> {
        let n = self.actions.len();
        check_len("actions", n, 2)?;
        check_size("actions", n, MAX_WINDOW)?;
        check_shape("rewards", &[n], &[self.rewards.len()])?;
        check_shape("propensities", &[n], &[self.propensities.len()])?;
        check_shape("contexts rows", &[n], &[self.contexts.nrows()])?;
        if let Some(&action) = self.actions.iter().find(|&&a| a >= k) {
            return Err(ExecutionError::ActionOutOfRange { action, n_actions: k });
        }
        if let Some((index, &value)) = self
            .propensities
            .iter()
            .enumerate()
            .find(|(_, p)| !(**p > 0.0 && **p <= 1.0))
        {
            return Err(ExecutionError::BadPropensity { index, value });
        }
        prudentia_core::validate::check_finite("rewards", self.rewards)?;
        if let Some(l) = self.logging_policy {
            check_distributions("logging_policy", l, n, k)?;
            for (i, (&a, &p)) in self.actions.iter().zip(self.propensities).enumerate() {
                if (l[[i, a]] - p).abs() > DISTRIBUTION_TOLERANCE {
                    return Err(CoreError::OutOfRange {
                        field: "logging_policy",
                        value: l[[i, a]],
                        expected: "equal to the logged propensity of the action taken",
                    }
                    .into());
                }
            }
        }
        Ok(n)
    }
}

fn check_distributions(
    field: &'static str,
    m: ArrayView2<'_, f64>,
    n: usize,
    k: usize,
) -> ExecutionResult<()> {
    check_shape(field, &[n, k], &[m.nrows(), m.ncols()])?;
    for (index, row) in m.axis_iter(Axis(0)).enumerate() {
        let mut sum = 0.0;
        for &p in row {
            if !(p.is_finite() && p >= 0.0) {
                return Err(ExecutionError::NotADistribution { index, sum: p });
            }
            sum += p;
        }
        if (sum - 1.0).abs() > DISTRIBUTION_TOLERANCE {
            return Err(ExecutionError::NotADistribution { index, sum });
        }
    }
    Ok(())
}

/// The reward of one action as a function of the context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ActionReward {
    /// A ridge regression `b₀ + xᵀβ`.
    Linear {
        /// Intercept `b₀`.
        intercept: f64,
        /// Slopes `β` (one per feature).
        slopes: Vec<f64>,
    },
    /// A constant: the action's mean reward (too few rounds for a regression), or the
    /// overall mean when the action was never taken.
    Constant(f64),
}

/// A direct-method reward model: one ridge regression per action (prudentia-learn's
/// [`LinearRegressionConfig`] with an intercept), fitted on the rounds where that action was
/// taken.
///
/// Deserialization runs [`RewardModel::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RewardModel {
    n_features: usize,
    actions: Vec<ActionReward>,
    status: Status,
}
prudentia_core::checked_serde!(RewardModel, RewardModel::check);

impl RewardModel {
    /// Fits one ridge regression per action (`k` actions) on the rounds that took it. An
    /// action with at most `d + 1` rounds, or whose regression is refused, gets its mean
    /// reward (the overall mean when never taken) and the model's status says so
    /// ([`Status::ReducedAccuracy`]).
    pub fn fit(logged: &LoggedData<'_>, n_actions: usize, ridge: f64) -> ExecutionResult<Self> {
        check_len("n_actions", n_actions, 1)?;
        check_size("n_actions", n_actions, prudentia_core::validate::MAX_DIM)?;
        let n = logged.check(n_actions)?;
        let d = logged.contexts.ncols();
        check_size("contexts columns", d, prudentia_core::validate::MAX_DIM)?;
        check_elements("contexts", &[n, d], MAX_ELEMENTS)?;
        check_finite_2d("contexts", logged.contexts)?;
        let config = LinearRegressionConfig {
            intercept: true,
            ridge,
            covariance: CovarianceKind::Classical,
        };
        config.validate()?;
        let overall = mean_of(logged.rewards);
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); n_actions];
        for (i, &a) in logged.actions.iter().enumerate() {
            rows[a].push(i);
        }
        let mut degraded = Vec::new();
        let mut actions = Vec::with_capacity(n_actions);
        for (a, idx) in rows.iter().enumerate() {
            if idx.is_empty() {
                degraded.push(a);
                actions.push(ActionReward::Constant(overall));
                continue;
            }
            let y: Vec<f64> = idx.iter().map(|&i| logged.rewards[i]).collect();
            let mean = mean_of(&y);
            if idx.len() <= d + 1 {
                degraded.push(a);
                actions.push(ActionReward::Constant(mean));
                continue;
            }
            let x = logged.contexts.select(Axis(0), idx);
            let y = ndarray::Array1::from(y);
            match config.fit(&LinearData::new(x.view(), y.view())) {
                Ok(m)
                    if m.intercept().is_some_and(f64::is_finite)
                        && m.slopes().iter().all(|b| b.is_finite()) =>
                {
                    if !m.status().is_converged() {
                        degraded.push(a);
                    }
                    actions.push(ActionReward::Linear {
                        intercept: m.intercept().unwrap_or(0.0),
                        slopes: m.slopes().to_vec(),
                    });
                }
                _ => {
                    degraded.push(a);
                    actions.push(ActionReward::Constant(mean));
                }
            }
        }
        let status = if degraded.is_empty() {
            Status::Converged
        } else {
            Status::ReducedAccuracy {
                reason: format!("actions {degraded:?}: too few rounds or an ill-conditioned regression"),
            }
        };
        let mut m = Self {
            n_features: d,
            actions,
            status,
        };
        m.check()?;
        Ok(m)
    }

    /// Checks coefficients finite and one slope per feature (run on every deserialized value).
    pub fn check(&mut self) -> ExecutionResult<()> {
        check_len("actions", self.actions.len(), 1)?;
        check_size("actions", self.actions.len(), prudentia_core::validate::MAX_DIM)?;
        check_size("n_features", self.n_features, prudentia_core::validate::MAX_DIM)?;
        for a in &self.actions {
            match a {
                ActionReward::Linear { intercept, slopes } => {
                    check_shape("slopes", &[self.n_features], &[slopes.len()])?;
                    prudentia_core::validate::check_finite("slopes", slopes)?;
                    prudentia_core::validate::check_finite("intercept", &[*intercept])?;
                }
                ActionReward::Constant(c) => prudentia_core::validate::check_finite("constant", &[*c])?,
            }
        }
        Ok(())
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.actions.len()
    }

    /// Number of context features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// How the fit ended.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The model of each action.
    pub fn actions(&self) -> &[ActionReward] {
        &self.actions
    }

    /// `q̂(x, a)` for every row of `contexts` (`n × d`) and action: an `n × k` matrix.
    pub fn predict(&self, contexts: ArrayView2<'_, f64>) -> ExecutionResult<Array2<f64>> {
        if contexts.ncols() != self.n_features {
            return Err(ExecutionError::ContextLength {
                expected: self.n_features,
                found: contexts.ncols(),
            });
        }
        check_elements(
            "predictions",
            &[contexts.nrows(), self.actions.len()],
            MAX_ELEMENTS,
        )?;
        check_finite_2d("contexts", contexts)?;
        let mut out = Array2::zeros((contexts.nrows(), self.actions.len()));
        for (x, mut o) in contexts.axis_iter(Axis(0)).zip(out.axis_iter_mut(Axis(0))) {
            for (a, q) in self.actions.iter().zip(o.iter_mut()) {
                *q = match a {
                    ActionReward::Linear { intercept, slopes } => {
                        intercept + x.iter().zip(slopes).map(|(xi, b)| xi * b).sum::<f64>()
                    }
                    ActionReward::Constant(c) => *c,
                };
            }
        }
        prudentia_core::validate::check_finite_2d("predictions", out.view()).map_err(|_| {
            ExecutionError::Overflow {
                what: "reward predictions",
            }
        })?;
        Ok(out)
    }
}

fn mean_of(v: &[f64]) -> f64 {
    // scaled so that a sum of values near f64::MAX cannot overflow
    let scale = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if scale == 0.0 || v.is_empty() {
        return 0.0;
    }
    v.iter().map(|x| x / scale).sum::<f64>() / v.len() as f64 * scale
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

impl Interval {
    /// Whether `value` lies in `[lower, upper]`.
    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }
}

/// One estimate of a policy's value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimated value (mean reward per round under the target policy).
    pub value: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Normal interval `value ± z · std_error` (a bound beyond the `f64` range saturates at
    /// `±f64::MAX`).
    pub normal: Interval,
    /// Bootstrap percentile interval (`None` when no resamples were asked for).
    pub bootstrap: Option<Interval>,
}

/// Whether the target policy stays where the logging policy could act.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SupportStatus {
    /// Every action the target policy takes had logging probability ≥ the threshold.
    Full,
    /// The target policy puts mass where the logging probability is 0 or below the
    /// threshold: IPS and DR are biased there (DR only through the reward model).
    Deficient {
        /// Rounds with target mass outside the support.
        rows: usize,
        /// Average target mass per round outside the support (with the full logging
        /// distribution), or the average target probability of the logged action over the
        /// rounds with a tiny logged propensity (without it).
        target_mass: f64,
        /// The threshold used.
        threshold: f64,
    },
}

/// The result of an off-policy evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct OpeReport {
    /// Rounds evaluated.
    pub n: usize,
    /// Inverse propensity scoring.
    pub ips: Estimate,
    /// Self-normalized IPS (`None` when every importance weight is 0: the target policy never
    /// takes a logged action).
    pub snips: Option<Estimate>,
    /// Direct method.
    pub dm: Estimate,
    /// Doubly robust.
    pub dr: Estimate,
    /// Kish effective sample size `(Σw)² / Σw²` (0 when every weight is 0).
    pub effective_sample_size: f64,
    /// The largest importance weight.
    pub max_weight: f64,
    /// Support of the target policy under the logging policy.
    pub support: SupportStatus,
    /// How the reward model was fitted ([`Status::Converged`] when `q̂` was given).
    pub reward_model: Status,
}

/// Off-policy evaluation with a validated configuration.
///
/// ```
/// use ndarray::{array, Array2};
/// use prudentia_execution::ope::{LoggedData, OffPolicyEvaluator, OpeConfig};
///
/// // two actions, uniform logging; action 1 pays 1, action 0 pays 0
/// let contexts = Array2::from_elem((6, 1), 1.0);
/// let actions = [0, 1, 0, 1, 0, 1];
/// let rewards = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
/// let propensities = [0.5; 6];
/// let log = LoggedData::new(contexts.view(), &actions, &rewards, &propensities);
/// // the target policy always takes action 1
/// let target = Array2::from_shape_fn((6, 2), |(_, a)| a as f64);
/// let eval = OffPolicyEvaluator::new(OpeConfig::default())?;
/// let q_hat = Array2::from_shape_fn((6, 2), |(_, a)| a as f64);
/// let report = eval.evaluate_with_rewards(&log, target.view(), q_hat.view())?;
/// assert_eq!(report.ips.value, 1.0);
/// assert_eq!(report.dr.value, 1.0);
/// assert_eq!(report.effective_sample_size, 3.0);
/// # Ok::<(), prudentia_execution::ExecutionError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OffPolicyEvaluator {
    config: OpeConfig,
}

impl OffPolicyEvaluator {
    /// An evaluator after [`OpeConfig::validate`].
    pub fn new(config: OpeConfig) -> ExecutionResult<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &OpeConfig {
        &self.config
    }

    /// Evaluates `target` (`n × k` probabilities), fitting the [`RewardModel`] for DM and DR
    /// on the same log.
    pub fn evaluate(
        &self,
        logged: &LoggedData<'_>,
        target: ArrayView2<'_, f64>,
    ) -> ExecutionResult<OpeReport> {
        let k = target.ncols();
        let model = RewardModel::fit(logged, k, self.config.ridge)?;
        let q_hat = model.predict(logged.contexts)?;
        let mut report = self.evaluate_with_rewards(logged, target, q_hat.view())?;
        report.reward_model = model.status().clone();
        Ok(report)
    }

    /// Evaluates `target` (`n × k` probabilities) with given reward estimates `q_hat`
    /// (`n × k`), as Open Bandit Pipeline's `estimated_rewards_by_reg_model`.
    pub fn evaluate_with_rewards(
        &self,
        logged: &LoggedData<'_>,
        target: ArrayView2<'_, f64>,
        q_hat: ArrayView2<'_, f64>,
    ) -> ExecutionResult<OpeReport> {
        let k = target.ncols();
        check_len("target columns", k, 1)?;
        check_size("target columns", k, prudentia_core::validate::MAX_DIM)?;
        let n = logged.check(k)?;
        check_elements("target", &[n, k], MAX_ELEMENTS)?;
        check_shape("target", &[n, k], &[target.nrows(), target.ncols()])?;
        check_shape("q_hat", &[n, k], &[q_hat.nrows(), q_hat.ncols()])?;
        // contiguous row-major data (a copy only for views in another layout)
        let target = target.as_standard_layout();
        let q_hat = q_hat.as_standard_layout();
        let logging = logged.logging_policy.as_ref().map(|l| l.as_standard_layout());
        let layout = || CoreError::Numerical {
            operation: "off-policy evaluation",
            detail: "a standard-layout array has no contiguous slice",
        };
        let ts = target.as_slice().ok_or_else(layout)?;
        let qs = q_hat.as_slice().ok_or_else(layout)?;
        let ls = match &logging {
            Some(l) => Some(l.as_slice().ok_or_else(layout)?),
            None => None,
        };
        evaluate_checked(
            &self.config,
            logged,
            Matrices {
                target: ts,
                q_hat: qs,
                logging: ls,
                k,
            },
            n,
        )
    }
}

/// The row-major `n × k` inputs of an evaluation.
struct Matrices<'a> {
    target: &'a [f64],
    q_hat: &'a [f64],
    logging: Option<&'a [f64]>,
    k: usize,
}

struct Terms {
    w: Vec<f64>,
    wr: Vec<f64>,
    dm: Vec<f64>,
    dr: Vec<f64>,
}

/// Shifted sums `Σ (x − c)` and `Σ (x − c)²` for a mean and a variance in one pass (the shift
/// `c`, the first value, keeps the variance accurate).
#[derive(Default)]
struct Moments {
    shift: f64,
    s1: f64,
    s2: f64,
}

impl Moments {
    fn push(&mut self, first: bool, x: f64) {
        if first {
            self.shift = x;
        }
        let d = x - self.shift;
        self.s1 += d;
        self.s2 += d * d;
    }
    /// Mean and standard error of the mean over `n > 1` values.
    fn mean_se(&self, n: f64) -> (f64, f64) {
        let mean = self.shift + self.s1 / n;
        let var = ((self.s2 - self.s1 * self.s1 / n) / (n - 1.0)).max(0.0);
        (mean, (var / n).sqrt())
    }
}

fn evaluate_checked(
    config: &OpeConfig,
    logged: &LoggedData<'_>,
    m: Matrices<'_>,
    n: usize,
) -> ExecutionResult<OpeReport> {
    let scale = reward_scale(logged, &m)?;
    let keep = config.bootstrap_samples > 0;
    let pass = weighted_pass(config, logged, &m, n, 1.0 / scale)?;
    let threshold = config.support_threshold;
    let support = if pass.deficient_rows == 0 {
        SupportStatus::Full
    } else {
        let denom = if m.logging.is_some() {
            n
        } else {
            pass.deficient_rows
        };
        SupportStatus::Deficient {
            rows: pass.deficient_rows,
            target_mass: pass.deficient_mass / denom as f64,
            threshold,
        }
    };

    let z = prudentia_core::normal::quantile(0.5 + config.confidence / 2.0);
    let nf = n as f64;
    let [sum_w, sum_w2, sum_wr, sum_wr2, sum_w_wr] = pass.sums;
    if !(sum_w.is_finite() && sum_w2.is_finite()) {
        return Err(ExecutionError::Overflow {
            what: "importance weights",
        });
    }
    let ess = if sum_w2 > 0.0 { sum_w * sum_w / sum_w2 } else { 0.0 };
    let [ips_m, dm_m, dr_m] = &pass.moments;
    let (ips_v, ips_se) = ips_m.mean_se(nf);
    let (dm_v, dm_se) = dm_m.mean_se(nf);
    let (dr_v, dr_se) = dr_m.mean_se(nf);
    let snips_vs = if sum_w > 0.0 {
        let v = sum_wr / sum_w;
        let mean_w = sum_w / nf;
        // delta method: Var(V̂) ≈ Σ (wᵢrᵢ − V wᵢ)² / ((n − 1) n mean(w)²); Σ (wr − V w) = 0
        let ss = (sum_wr2 - 2.0 * v * sum_w_wr + v * v * sum_w2).max(0.0);
        Some((v, (ss / (nf - 1.0) / nf).sqrt() / mean_w))
    } else {
        None
    };

    let boot = if keep {
        Some(bootstrap(config, &pass.terms, n))
    } else {
        None
    };
    let make = |vs: (f64, f64), b: Option<Interval>| estimate(vs, b, z, scale);
    let pick = |j: usize| boot.as_ref().and_then(|b: &[Option<Interval>; 4]| b[j]);
    Ok(OpeReport {
        n,
        ips: make((ips_v, ips_se), pick(0))?,
        snips: snips_vs.map(|s| make(s, pick(1))).transpose()?,
        dm: make((dm_v, dm_se), pick(2))?,
        dr: make((dr_v, dr_se), pick(3))?,
        effective_sample_size: ess,
        max_weight: pass.max_weight,
        support,
        reward_model: Status::Converged,
    })
}

/// The power-of-two scale of the rewards and the reward model's values (checked finite).
fn reward_scale(logged: &LoggedData<'_>, m: &Matrices<'_>) -> ExecutionResult<f64> {
    let mut max_q = 0.0f64;
    for (index, &v) in m.q_hat.iter().enumerate() {
        if !v.is_finite() {
            return Err(CoreError::NonFinite {
                field: "q_hat",
                index,
                value: v,
            }
            .into());
        }
        max_q = max_q.max(v.abs());
    }
    let max_r = logged.rewards.iter().fold(0.0f64, |acc, r| acc.max(r.abs()));
    // core's exact power of two (the largest scaled value in [1, 2)), at least the smallest
    // normal number so that its inverse is finite
    Ok(prudentia_core::linalg::pow2_scale(max_r.max(max_q)).max(f64::MIN_POSITIVE))
}

/// What one pass over the logged rows gathers (scaled units).
struct Pass {
    /// Per-row terms, kept for the bootstrap.
    terms: Terms,
    /// Moments of IPS, DM and DR terms.
    moments: [Moments; 3],
    /// `Σ w`, `Σ w²`, `Σ wr`, `Σ (wr)²`, `Σ w·wr`.
    sums: [f64; 5],
    max_weight: f64,
    deficient_rows: usize,
    deficient_mass: f64,
}

/// The importance weights and the IPS, DM and DR terms of every row, in one pass that also
/// checks each target row is a distribution and measures the support deficiency.
fn weighted_pass(
    config: &OpeConfig,
    logged: &LoggedData<'_>,
    m: &Matrices<'_>,
    n: usize,
    inv: f64,
) -> ExecutionResult<Pass> {
    let k = m.k;
    let keep = config.bootstrap_samples > 0;
    let cap = if keep { n } else { 0 };
    let mut t = Terms {
        w: Vec::with_capacity(cap),
        wr: Vec::with_capacity(cap),
        dm: Vec::with_capacity(cap),
        dr: Vec::with_capacity(cap),
    };
    let mut deficient_rows = 0usize;
    let mut deficient_mass = 0.0;
    let (mut ips_m, mut dm_m, mut dr_m) = (Moments::default(), Moments::default(), Moments::default());
    let (mut sum_w, mut sum_w2, mut sum_wr, mut sum_wr2, mut sum_w_wr) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut max_weight = 0.0f64;
    for i in 0..n {
        let a = logged.actions[i];
        let pi_row = &m.target[i * k..(i + 1) * k];
        let q_row = &m.q_hat[i * k..(i + 1) * k];
        // the target row must be a distribution (checked in the same pass)
        let mut sum = 0.0;
        let mut dm = 0.0;
        for (&p, &q) in pi_row.iter().zip(q_row) {
            if !(p.is_finite() && p >= 0.0) {
                return Err(ExecutionError::NotADistribution { index: i, sum: p });
            }
            sum += p;
            dm += p * (q * inv);
        }
        if (sum - 1.0).abs() > DISTRIBUTION_TOLERANCE {
            return Err(ExecutionError::NotADistribution { index: i, sum });
        }
        let w = pi_row[a] / logged.propensities[i];
        let r = logged.rewards[i] * inv;
        let wr = w * r;
        let dr = dm + w * (r - q_row[a] * inv);
        let first = i == 0;
        ips_m.push(first, wr);
        dm_m.push(first, dm);
        dr_m.push(first, dr);
        sum_w += w;
        sum_w2 += w * w;
        sum_wr += wr;
        sum_wr2 += wr * wr;
        sum_w_wr += w * wr;
        max_weight = max_weight.max(w);
        if keep {
            t.w.push(w);
            t.wr.push(wr);
            t.dm.push(dm);
            t.dr.push(dr);
        }
        if let Some(mass) = deficient_target_mass(config.support_threshold, logged, m, i) {
            deficient_rows += 1;
            deficient_mass += mass;
        }
    }
    Ok(Pass {
        terms: t,
        moments: [ips_m, dm_m, dr_m],
        sums: [sum_w, sum_w2, sum_wr, sum_wr2, sum_w_wr],
        max_weight,
        deficient_rows,
        deficient_mass,
    })
}

/// The target probability of row `i` on actions the logging policy gave less than
/// `threshold` (all of them with the logging matrix, the logged action without), when
/// positive.
fn deficient_target_mass(threshold: f64, logged: &LoggedData<'_>, m: &Matrices<'_>, i: usize) -> Option<f64> {
    let k = m.k;
    let a = logged.actions[i];
    let pi_row = &m.target[i * k..(i + 1) * k];
    match m.logging {
        Some(l) => {
            let mass: f64 = pi_row
                .iter()
                .zip(&l[i * k..(i + 1) * k])
                .filter(|(_, &mu)| mu < threshold || mu == 0.0)
                .map(|(p, _)| *p)
                .sum();
            (mass > 0.0).then_some(mass)
        }
        None => (logged.propensities[i] < threshold && pi_row[a] > 0.0).then_some(pi_row[a]),
    }
}

/// An estimate in the caller's units from scaled `(value, standard error)`, its normal
/// interval at quantile `z` and its bootstrap interval; an overflow is an error.
fn estimate((v, se): (f64, f64), b: Option<Interval>, z: f64, scale: f64) -> ExecutionResult<Estimate> {
    // interval bounds beyond the f64 range saturate at ±f64::MAX
    let sat = |x: f64| {
        if x.is_nan() {
            x
        } else {
            x.clamp(-f64::MAX, f64::MAX)
        }
    };
    let e = Estimate {
        value: v * scale,
        std_error: se * scale,
        normal: Interval {
            lower: sat((v - z * se) * scale),
            upper: sat((v + z * se) * scale),
        },
        bootstrap: b.map(|b| Interval {
            lower: sat(b.lower * scale),
            upper: sat(b.upper * scale),
        }),
    };
    let all = [e.value, e.std_error, e.normal.lower, e.normal.upper];
    let boot_ok = e
        .bootstrap
        .is_none_or(|b| b.lower.is_finite() && b.upper.is_finite());
    if all.iter().all(|x| x.is_finite()) && boot_ok {
        Ok(e)
    } else {
        Err(ExecutionError::Overflow {
            what: "policy value estimates",
        })
    }
}

/// Percentile bootstrap intervals of IPS, SNIPS, DM and DR (in the scaled units).
fn bootstrap(config: &OpeConfig, t: &Terms, n: usize) -> [Option<Interval>; 4] {
    let b = config.bootstrap_samples;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut est: [Vec<f64>; 4] = std::array::from_fn(|_| Vec::with_capacity(b));
    let nf = n as f64;
    for _ in 0..b {
        let (mut sw, mut swr, mut sdm, mut sdr) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            let i = rng.random_range(0..n);
            sw += t.w[i];
            swr += t.wr[i];
            sdm += t.dm[i];
            sdr += t.dr[i];
        }
        est[0].push(swr / nf);
        if sw > 0.0 {
            est[1].push(swr / sw);
        }
        est[2].push(sdm / nf);
        est[3].push(sdr / nf);
    }
    let alpha = (1.0 - config.confidence) / 2.0;
    est.map(|mut v| {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Interval {
            lower: percentile(&v, alpha),
            upper: percentile(&v, 1.0 - alpha),
        })
    })
}

/// Linear-interpolation percentile of sorted values (numpy's default).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}
