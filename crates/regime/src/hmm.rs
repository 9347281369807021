//! Gaussian hidden Markov model for univariate series (Rabiner 1989, Proc. IEEE 77;
//! Hamilton 1989, Econometrica 57): Baum–Welch with seeded restarts, an online forward
//! filter, Viterbi decoding and BIC to choose the number of states.
//!
//! Model: a hidden state `s_t ∈ {0, …, K−1}` follows a Markov chain with start
//! probabilities `π` and transition matrix `A` (`A[i][j] = P(s_t = j | s_{t−1} = i)`);
//! given `s_t = k`, `x_t ~ N(μ_k, σ²_k)`.
//!
//! Baum–Welch (Rabiner eqs. 40a–c, 53) runs the scaled forward–backward recursions
//! (Rabiner §V.A): `α̂_t(j) = (Σ_i α̂_{t−1}(i) A_ij) b_j(x_t) / c_t` with `c_t` the
//! normaliser, so `ln L = Σ_t ln c_t`; emissions are evaluated in log space and shifted by
//! their per-step maximum before exponentiation. The M-step is the maximum-likelihood
//! update `π = γ_0`, `A_ij = Σ_t ξ_t(i,j) / Σ_t γ_t(i)`, `μ_k = Σ γ_t(k) x_t / Σ γ_t(k)`,
//! `σ²_k = Σ γ_t(k)(x_t − μ_k)² / Σ γ_t(k)` (floored at a small variance).
//!
//! `BIC = −2 ln L + p ln T` with `p = (K − 1) + K(K − 1) + 2K` free parameters.
// The recursions read best with explicit state and time indices.
#![allow(clippy::needless_range_loop)]

use prudentia_core::traits::Fit;
use prudentia_core::validate::{
    check_elements, check_finite, check_len, check_positive, check_probability, check_size, MAX_DIM,
    MAX_ELEMENTS,
};
use prudentia_core::{CoreError, Status};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{RegimeError, RegimeResult};

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// The most EM iterations per restart [`GaussianHmmConfig`] accepts (2²⁰).
pub const MAX_ITERATIONS: usize = 1 << 20;

/// The most restarts [`GaussianHmmConfig`] accepts (2¹⁰).
pub const MAX_RESTARTS: usize = 1 << 10;

/// Checks a number of states: at least one, at most `MAX_DIM`, and a `K × K` transition
/// matrix of at most `MAX_ELEMENTS` (so K ≤ 16,384).
fn check_states(k: usize) -> Result<(), CoreError> {
    check_len("n_states", k, 1)?;
    check_size("n_states", k, MAX_DIM)?;
    check_elements("n_states x n_states", &[k, k], MAX_ELEMENTS)?;
    Ok(())
}

/// Checks that a `T × K` forward–backward workspace stays within `MAX_ELEMENTS`.
fn check_workspace(t: usize, k: usize) -> Result<(), CoreError> {
    check_elements("observations x n_states", &[t, k], MAX_ELEMENTS)?;
    Ok(())
}

fn not_finite(operation: &'static str) -> RegimeError {
    CoreError::Numerical {
        operation,
        detail: "the result is not finite: observations too extreme for the model's scale",
    }
    .into()
}

/// Parameters of a K-state univariate Gaussian HMM. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct HmmParams {
    /// Start probabilities `π` (K, summing to one).
    pub start: Vec<f64>,
    /// Transition matrix `A`, row-major K × K, each row summing to one.
    pub transition: Vec<f64>,
    /// State means `μ_k` (K).
    pub means: Vec<f64>,
    /// State variances `σ²_k` (K, finite and at least `f64::MIN_POSITIVE`).
    pub variances: Vec<f64>,
}
prudentia_core::checked_serde!(HmmParams, HmmParams::check);

impl HmmParams {
    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.start.len()
    }

    /// Checks shapes (K within [`MAX_DIM`] and K² within [`MAX_ELEMENTS`], typed
    /// [`CoreError::TooLarge`]), probabilities (rows sum to one within 1e-8) and variances.
    pub fn validate(&self) -> Result<(), CoreError> {
        let k = self.start.len();
        check_len("start", k, 1)?;
        check_states(k)?;
        prudentia_core::validate::check_shape("transition", &[k * k], &[self.transition.len()])?;
        prudentia_core::validate::check_shape("means", &[k], &[self.means.len()])?;
        prudentia_core::validate::check_shape("variances", &[k], &[self.variances.len()])?;
        check_finite("means", &self.means)?;
        for &v in &self.variances {
            check_positive("variances", v)?;
            if v < f64::MIN_POSITIVE {
                return Err(CoreError::OutOfRange {
                    field: "variances",
                    value: v,
                    expected: ">= f64::MIN_POSITIVE (a normal number)",
                });
            }
        }
        for &p in self.start.iter().chain(&self.transition) {
            check_probability("start/transition", p)?;
        }
        let row_ok = |row: &[f64]| (row.iter().sum::<f64>() - 1.0).abs() <= 1e-8;
        if !row_ok(&self.start) {
            return Err(CoreError::OutOfRange {
                field: "start",
                value: self.start.iter().sum(),
                expected: "probabilities summing to 1",
            });
        }
        for row in self.transition.chunks(k) {
            if !row_ok(row) {
                return Err(CoreError::OutOfRange {
                    field: "transition",
                    value: row.iter().sum(),
                    expected: "rows summing to 1",
                });
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// Number of free parameters, `(K−1) + K(K−1) + 2K` (saturating).
    pub fn n_free_parameters(&self) -> usize {
        let k = self.n_states();
        let km1 = k.saturating_sub(1);
        km1.saturating_add(k.saturating_mul(km1))
            .saturating_add(k.saturating_mul(2))
    }

    #[inline]
    fn log_emission(&self, k: usize, x: f64) -> f64 {
        let v = self.variances[k];
        let d = x - self.means[k];
        -0.5 * (LN_2PI + v.ln() + d * d / v)
    }
}

/// A Gaussian HMM with valid parameters. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct GaussianHmm {
    params: HmmParams,
}
prudentia_core::checked_serde!(GaussianHmm, GaussianHmm::check);

impl GaussianHmm {
    /// A model from checked parameters.
    pub fn new(params: HmmParams) -> RegimeResult<Self> {
        params.validate()?;
        Ok(Self { params })
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.params.validate()
    }

    /// The parameters.
    pub fn params(&self) -> &HmmParams {
        &self.params
    }

    fn check_observations(&self, x: &[f64]) -> RegimeResult<()> {
        check_len("observations", x.len(), 1)?;
        check_finite("observations", x)?;
        check_workspace(x.len(), self.n_states())?;
        Ok(())
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.params.n_states()
    }

    /// `ln p(x_{1:T})` by the scaled forward recursion.
    ///
    /// # Errors
    /// Empty or non-finite observations, `T × K` beyond `MAX_ELEMENTS`, and
    /// [`CoreError::Numerical`] when the likelihood is not finite (observations far outside
    /// the model's scale, e.g. `1e300` for unit variances).
    pub fn log_likelihood(&self, x: &[f64]) -> RegimeResult<f64> {
        self.check_observations(x)?;
        let mut w = Workspace::new(x.len(), self.n_states());
        let ll = w.forward(&self.params, x);
        if ll.is_finite() {
            Ok(ll)
        } else {
            Err(not_finite("hmm log-likelihood"))
        }
    }

    /// `BIC = −2 ln L + p ln T` on `x`.
    pub fn bic(&self, x: &[f64]) -> RegimeResult<f64> {
        let ll = self.log_likelihood(x)?;
        let b = bic(ll, self.params.n_free_parameters(), x.len());
        if b.is_finite() {
            Ok(b)
        } else {
            Err(not_finite("hmm bic"))
        }
    }

    /// Smoothed state probabilities `P(s_t = k | x_{1:T})`, row-major T × K.
    pub fn smoothed(&self, x: &[f64]) -> RegimeResult<Vec<f64>> {
        self.check_observations(x)?;
        let mut w = Workspace::new(x.len(), self.n_states());
        let ll = w.forward(&self.params, x);
        if !ll.is_finite() {
            return Err(not_finite("hmm smoothing"));
        }
        w.backward(&self.params);
        let out: Vec<f64> = w.alpha.iter().zip(&w.beta).map(|(a, b)| a * b).collect();
        if out.iter().all(|v| v.is_finite()) {
            Ok(out)
        } else {
            Err(not_finite("hmm smoothing"))
        }
    }

    /// Filtered state probabilities `P(s_t = k | x_{1:t})` for every t, row-major T × K.
    /// Row t uses observations up to t only.
    pub fn filtered(&self, x: &[f64]) -> RegimeResult<Vec<f64>> {
        check_finite("observations", x)?;
        check_workspace(x.len(), self.n_states())?;
        let mut f = self.filter();
        let mut out = Vec::with_capacity(x.len() * self.n_states());
        for &xi in x {
            out.extend_from_slice(f.update(xi)?);
        }
        Ok(out)
    }

    /// The most probable state path (Viterbi, in log space) and its log joint probability.
    ///
    /// # Errors
    /// As [`log_likelihood`](Self::log_likelihood); a path whose log probability is not
    /// finite is [`CoreError::Numerical`].
    pub fn viterbi(&self, x: &[f64]) -> RegimeResult<(Vec<usize>, f64)> {
        self.check_observations(x)?;
        let p = &self.params;
        let k = p.n_states();
        let t_len = x.len();
        let log_a: Vec<f64> = p.transition.iter().map(|a| a.ln()).collect();
        let mut delta: Vec<f64> = (0..k)
            .map(|j| p.start[j].ln() + p.log_emission(j, x[0]))
            .collect();
        let mut next = vec![0.0; k];
        let mut back = vec![0usize; t_len * k];
        for t in 1..t_len {
            for j in 0..k {
                let mut best = f64::NEG_INFINITY;
                let mut arg = 0;
                for i in 0..k {
                    let v = delta[i] + log_a[i * k + j];
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                next[j] = best + p.log_emission(j, x[t]);
                back[t * k + j] = arg;
            }
            std::mem::swap(&mut delta, &mut next);
        }
        let mut last = 0;
        for j in 1..k {
            if delta[j] > delta[last] {
                last = j;
            }
        }
        let score = delta[last];
        if !score.is_finite() {
            return Err(not_finite("hmm viterbi"));
        }
        let mut path = vec![0usize; t_len];
        path[t_len - 1] = last;
        for t in (1..t_len).rev() {
            path[t - 1] = back[t * k + path[t]];
        }
        Ok((path, score))
    }

    /// An online forward filter starting before the first observation.
    pub fn filter(&self) -> HmmFilter {
        let k = self.n_states();
        HmmFilter {
            params: self.params.clone(),
            probs: self.params.start.clone(),
            scratch: vec![0.0; 2 * k],
            started: false,
            log_likelihood: 0.0,
            switch_probability: 0.0,
        }
    }
}

/// `−2 ln L + p ln T`.
pub fn bic(log_likelihood: f64, n_parameters: usize, n_observations: usize) -> f64 {
    -2.0 * log_likelihood + n_parameters as f64 * (n_observations as f64).ln()
}

/// Online forward filter: `P(s_t | x_{1:t})` updated one observation at a time, without
/// allocation.
///
/// Deserializing validates the checkpoint (parameters, a probability vector of length K
/// summing to one, a finite log-likelihood, a switch probability in [0, 1]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct HmmFilter {
    params: HmmParams,
    probs: Vec<f64>,
    #[serde(skip)]
    scratch: Vec<f64>,
    started: bool,
    log_likelihood: f64,
    #[serde(default)]
    switch_probability: f64,
}
prudentia_core::checked_serde!(HmmFilter, HmmFilter::check);

/// Equality of the filter state (scratch buffers excluded).
impl PartialEq for HmmFilter {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params
            && self.probs == other.probs
            && self.started == other.started
            && self.log_likelihood == other.log_likelihood
            && self.switch_probability == other.switch_probability
    }
}

impl HmmFilter {
    fn check(&mut self) -> Result<(), CoreError> {
        self.params.validate()?;
        let k = self.params.n_states();
        prudentia_core::validate::check_shape("hmm_filter.probs", &[k], &[self.probs.len()])?;
        for &p in &self.probs {
            check_probability("hmm_filter.probs", p)?;
        }
        let total: f64 = self.probs.iter().sum();
        let normalized = (total - 1.0).abs() <= 1e-6;
        if !normalized {
            return Err(CoreError::OutOfRange {
                field: "hmm_filter.probs",
                value: total,
                expected: "probabilities summing to 1",
            });
        }
        check_finite("hmm_filter.log_likelihood", &[self.log_likelihood])?;
        check_probability("hmm_filter.switch_probability", self.switch_probability)?;
        self.scratch = vec![0.0; 2 * k];
        Ok(())
    }

    /// `P(s_t ≠ s_{t−1} | x_{1:t})`, the filtered probability that the state switched at
    /// the last observation (0 before the second observation).
    pub fn switch_probability(&self) -> f64 {
        self.switch_probability
    }

    /// Folds in `x` and returns `P(s_t = k | x_{1:t})`.
    ///
    /// Everything is computed before the filter changes (in log space, shifted by the
    /// largest term, so one value far in the tail of every state still updates): a
    /// non-finite `x` is [`CoreError::NonFinite`], and a finite `x` so extreme that every
    /// state's log density overflows (e.g. `1e300` for unit variances) is
    /// [`CoreError::Numerical`]; both leave the filter unchanged, so it keeps working.
    pub fn update(&mut self, x: f64) -> RegimeResult<&[f64]> {
        check_finite("observation", &[x])?;
        let p = &self.params;
        let k = p.n_states();
        if self.scratch.len() != 2 * k {
            self.scratch.resize(2 * k, 0.0);
        }
        let (pred, w) = self.scratch.split_at_mut(k);
        if self.started {
            for j in 0..k {
                let mut s = 0.0;
                for i in 0..k {
                    s += self.probs[i] * p.transition[i * k + j];
                }
                pred[j] = s;
            }
        } else {
            pred.copy_from_slice(&p.start);
        }
        // w_j = ln pred_j + ln b_j(x), shifted by its maximum m
        let mut m = f64::NEG_INFINITY;
        for j in 0..k {
            w[j] = if pred[j] > 0.0 {
                pred[j].ln() + p.log_emission(j, x)
            } else {
                f64::NEG_INFINITY
            };
            if w[j] > m {
                m = w[j];
            }
        }
        if !m.is_finite() {
            return Err(CoreError::Numerical {
                operation: "hmm filter",
                detail: "every state gives the observation zero probability; the filter is unchanged",
            }
            .into());
        }
        let mut c = 0.0;
        let mut stay = 0.0;
        for j in 0..k {
            let v = (w[j] - m).exp();
            if self.started && pred[j] > 0.0 {
                // p_j A_jj b_j / (pred_j b_j) ∈ [0, 1] times pred_j b_j (shifted)
                stay += (self.probs[j] * p.transition[j * k + j] / pred[j]).min(1.0) * v;
            }
            w[j] = v;
            c += v;
        }
        let log_likelihood = self.log_likelihood + c.ln() + m;
        if !(c.is_finite() && log_likelihood.is_finite()) {
            return Err(CoreError::Numerical {
                operation: "hmm filter",
                detail: "the log-likelihood overflows; the filter is unchanged",
            }
            .into());
        }
        for (pj, v) in self.probs.iter_mut().zip(w.iter()) {
            *pj = v / c;
        }
        self.switch_probability = if self.started {
            (1.0 - stay / c).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.log_likelihood = log_likelihood;
        self.started = true;
        Ok(&self.probs)
    }

    /// The current filtered probabilities (the start probabilities before any update).
    pub fn probabilities(&self) -> &[f64] {
        &self.probs
    }

    /// `ln p(x_{1:t})` of the observations folded in so far.
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }

    /// The most probable state now.
    pub fn most_likely(&self) -> usize {
        let mut best = 0;
        for (i, &p) in self.probs.iter().enumerate() {
            if p > self.probs[best] {
                best = i;
            }
        }
        best
    }
}

/// The status of an EM run that met a non-finite log-likelihood.
fn numerical_breakdown() -> Status {
    Status::Numerical {
        message: "an EM step gave a non-finite log-likelihood; the last parameters with a \
                  finite log-likelihood are returned"
            .into(),
    }
}

/// Result of fitting a Gaussian HMM. Validated when deserialized (the model, finite
/// log-likelihoods and BIC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct HmmFit {
    /// The fitted model (the best restart).
    pub model: GaussianHmm,
    /// Its log-likelihood on the training data.
    pub log_likelihood: f64,
    /// Its BIC on the training data.
    pub bic: f64,
    /// EM iterations of the best restart.
    pub iterations: usize,
    /// How the best restart ended: `Converged` (the log-likelihood gain fell below the
    /// tolerance), `IterationLimit`, or `Numerical` (an EM step gave a non-finite
    /// log-likelihood; the last parameters with a finite one are returned).
    pub status: Status,
    /// Log-likelihood reached by each restart, in order.
    pub restart_log_likelihoods: Vec<f64>,
}
prudentia_core::checked_serde!(HmmFit, HmmFit::check);

impl HmmFit {
    fn check(&mut self) -> Result<(), CoreError> {
        self.model.params.validate()?;
        check_finite("hmm_fit.log_likelihood", &[self.log_likelihood, self.bic])?;
        check_finite("hmm_fit.restart_log_likelihoods", &self.restart_log_likelihoods)
    }
}

/// Configuration of Baum–Welch fitting. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct GaussianHmmConfig {
    /// Number of hidden states K. Default 2; in `1..=16,384` (K ≤ `MAX_DIM`, K² ≤
    /// `MAX_ELEMENTS`).
    pub n_states: usize,
    /// EM iterations per restart. Default 500; in `1..=MAX_ITERATIONS` (2²⁰).
    pub max_iterations: usize,
    /// Stop when the log-likelihood improves by less than this. Default 1e-8; > 0.
    pub tolerance: f64,
    /// Number of starts: the first from data quantiles, the others random. Default 5; in
    /// `1..=MAX_RESTARTS` (2¹⁰).
    pub restarts: usize,
    /// Seed of the random restarts. Default 0.
    pub seed: u64,
    /// Variance floor as a fraction of the sample variance. Default 1e-6; in (0, 1).
    pub min_variance_ratio: f64,
}
prudentia_core::checked_serde!(GaussianHmmConfig, GaussianHmmConfig::check);

impl Default for GaussianHmmConfig {
    fn default() -> Self {
        Self {
            n_states: 2,
            max_iterations: 500,
            tolerance: 1e-8,
            restarts: 5,
            seed: 0,
            min_variance_ratio: 1e-6,
        }
    }
}

impl GaussianHmmConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_states(self.n_states)?;
        check_len("max_iterations", self.max_iterations, 1)?;
        check_size("max_iterations", self.max_iterations, MAX_ITERATIONS)?;
        check_len("restarts", self.restarts, 1)?;
        check_size("restarts", self.restarts, MAX_RESTARTS)?;
        check_positive("tolerance", self.tolerance)?;
        if !(self.min_variance_ratio > 0.0 && self.min_variance_ratio < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "min_variance_ratio",
                value: self.min_variance_ratio,
                expected: "in the open interval (0, 1)",
            });
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// Checks the data; returns the data in working units `x / scale` (`scale` 1 unless the
    /// data's magnitude is beyond `1e±50`, where squares would over- or underflow), the
    /// variance floor in working units, and `scale`.
    fn check_data(&self, x: &[f64]) -> RegimeResult<(Vec<f64>, f64, f64)> {
        self.validate()?;
        let min = 2 * self.n_states;
        if x.len() < min {
            return Err(RegimeError::TooFewObservations {
                len: x.len(),
                min,
                n_states: self.n_states,
            });
        }
        check_finite("observations", x)?;
        check_workspace(x.len(), self.n_states)?;
        let big = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let scale = if big > 1e50 || (big > 0.0 && big < 1e-50) {
            big
        } else {
            1.0
        };
        let z: Vec<f64> = if scale == 1.0 {
            x.to_vec()
        } else {
            x.iter().map(|v| v / scale).collect()
        };
        let n = z.len() as f64;
        let mean = z.iter().map(|v| v / n).sum::<f64>();
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let floor = (var * self.min_variance_ratio).max(f64::MIN_POSITIVE);
        Ok((z, floor, scale))
    }

    /// A fit in working units back in the data's units (`scale` from `check_data`).
    fn finish(
        &self,
        n_obs: usize,
        scale: f64,
        (mut params, ll, iterations, status): (HmmParams, f64, usize, Status),
        mut lls: Vec<f64>,
    ) -> RegimeResult<HmmFit> {
        let shift = n_obs as f64 * scale.ln();
        if scale != 1.0 {
            for m in &mut params.means {
                *m *= scale;
            }
            for v in &mut params.variances {
                *v = (*v * scale * scale).max(f64::MIN_POSITIVE);
            }
            for l in &mut lls {
                *l -= shift;
            }
        }
        let ll = if scale != 1.0 { ll - shift } else { ll };
        let finite = ll.is_finite()
            && lls.iter().all(|v| v.is_finite())
            && params
                .means
                .iter()
                .chain(&params.variances)
                .all(|v| v.is_finite());
        if !finite {
            return Err(not_finite("hmm fit"));
        }
        params.validate()?;
        let model = GaussianHmm { params };
        let bic = bic(ll, model.params.n_free_parameters(), n_obs);
        if !bic.is_finite() {
            return Err(not_finite("hmm fit"));
        }
        Ok(HmmFit {
            model,
            log_likelihood: ll,
            bic,
            iterations,
            status,
            restart_log_likelihoods: lls,
        })
    }

    /// Baum–Welch from the given initial parameters (no restarts): the reference path
    /// used to compare with other implementations from the same initialisation.
    pub fn fit_from(&self, x: &[f64], init: &HmmParams) -> RegimeResult<HmmFit> {
        init.validate()?;
        let (z, floor, scale) = self.check_data(x)?;
        prudentia_core::validate::check_shape("init.start", &[self.n_states], &[init.n_states()])?;
        let mut init = init.clone();
        if scale != 1.0 {
            for m in &mut init.means {
                *m /= scale;
            }
            for v in &mut init.variances {
                *v = *v / scale / scale;
            }
        }
        let mut w = Workspace::new(z.len(), self.n_states);
        let out = self.em(&mut w, &z, init, floor);
        let ll = out.1;
        self.finish(x.len(), scale, out, vec![ll])
    }

    fn em(
        &self,
        w: &mut Workspace,
        x: &[f64],
        mut p: HmmParams,
        floor: f64,
    ) -> (HmmParams, f64, usize, Status) {
        let mut prev = f64::NEG_INFINITY;
        for v in &mut p.variances {
            *v = v.max(floor);
        }
        let mut last_good: Option<HmmParams> = None;
        for it in 0..self.max_iterations {
            let ll = w.forward(&p, x);
            if !ll.is_finite() || p.means.iter().chain(&p.variances).any(|v| !v.is_finite()) {
                // a numerical breakdown: back to the last finite step (if any)
                return match last_good {
                    Some(good) => (good, prev, it, numerical_breakdown()),
                    None => (p, ll, it, numerical_breakdown()),
                };
            }
            if it > 0 && (ll - prev).abs() < self.tolerance {
                return (p, ll, it, Status::Converged);
            }
            if ll < prev {
                // a decrease can only come from rounding near convergence
                return (p, ll, it, Status::Converged);
            }
            prev = ll;
            w.backward(&p);
            let next = w.m_step(&p, x, floor);
            last_good = Some(std::mem::replace(&mut p, next));
        }
        let ll = w.forward(&p, x);
        if !ll.is_finite() {
            if let Some(good) = last_good {
                return (good, prev, self.max_iterations, numerical_breakdown());
            }
        }
        (
            p,
            ll,
            self.max_iterations,
            Status::IterationLimit {
                iterations: self.max_iterations,
            },
        )
    }

    fn initial(&self, x: &[f64], floor: f64, restart: usize, rng: &mut StdRng) -> HmmParams {
        let k = self.n_states;
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).max(floor);
        if restart == 0 {
            let mut sorted = x.to_vec();
            sorted.sort_by(f64::total_cmp);
            let means = (0..k)
                .map(|j| sorted[(((j as f64 + 0.5) / k as f64) * n) as usize])
                .collect();
            let mut transition = vec![if k > 1 { 0.1 / (k - 1) as f64 } else { 1.0 }; k * k];
            for j in 0..k {
                transition[j * k + j] = if k > 1 { 0.9 } else { 1.0 };
            }
            HmmParams {
                start: vec![1.0 / k as f64; k],
                transition,
                means,
                variances: vec![var; k],
            }
        } else {
            let means = (0..k).map(|_| x[rng.random_range(0..x.len())]).collect();
            let variances = (0..k)
                .map(|_| (var * rng.random_range(0.2..2.0)).max(floor))
                .collect();
            let mut transition = vec![0.0; k * k];
            for i in 0..k {
                let row = &mut transition[i * k..(i + 1) * k];
                for (j, v) in row.iter_mut().enumerate() {
                    *v = rng.random_range(0.01..1.0) + if i == j { 2.0 } else { 0.0 };
                }
                let s: f64 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= s);
            }
            HmmParams {
                start: vec![1.0 / k as f64; k],
                transition,
                means,
                variances,
            }
        }
    }
}

impl Fit<[f64]> for GaussianHmmConfig {
    type Model = HmmFit;
    type Error = RegimeError;

    /// Baum–Welch with `restarts` starts; keeps the highest log-likelihood.
    fn fit(&self, x: &[f64]) -> RegimeResult<HmmFit> {
        let (z, floor, scale) = self.check_data(x)?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut w = Workspace::new(z.len(), self.n_states);
        let mut best: Option<(HmmParams, f64, usize, Status)> = None;
        let mut lls = Vec::with_capacity(self.restarts);
        for r in 0..self.restarts {
            let init = self.initial(&z, floor, r, &mut rng);
            let out = self.em(&mut w, &z, init, floor);
            lls.push(out.1);
            if best.as_ref().is_none_or(|b| out.1 > b.1 || !b.1.is_finite()) {
                best = Some(out);
            }
        }
        let best = best.ok_or(CoreError::EmptyInput {
            field: "restarts",
            len: 0,
            min: 1,
        })?;
        self.finish(x.len(), scale, best, lls)
    }
}

/// BIC of a fit for each number of states in `states`, and the fit with the lowest BIC.
pub fn select_n_states(
    x: &[f64],
    states: std::ops::RangeInclusive<usize>,
    base: &GaussianHmmConfig,
) -> RegimeResult<(Vec<(usize, f64)>, HmmFit)> {
    // check the largest model before fitting any (sizes, enough data)
    let (lo, hi) = (*states.start(), *states.end());
    if lo <= hi {
        check_states(lo)?;
        check_states(hi)?;
        let min = hi.saturating_mul(2);
        if x.len() < min {
            return Err(RegimeError::TooFewObservations {
                len: x.len(),
                min,
                n_states: hi,
            });
        }
    }
    let mut table = Vec::new();
    let mut best: Option<HmmFit> = None;
    for k in states {
        let cfg = GaussianHmmConfig {
            n_states: k,
            ..base.clone()
        };
        let fit = cfg.fit(x)?;
        table.push((k, fit.bic));
        if best.as_ref().is_none_or(|b| fit.bic < b.bic) {
            best = Some(fit);
        }
    }
    let best = best.ok_or(CoreError::EmptyInput {
        field: "states",
        len: 0,
        min: 1,
    })?;
    Ok((table, best))
}

/// Buffers of one forward–backward pass (T × K each).
struct Workspace {
    k: usize,
    t: usize,
    b: Vec<f64>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
    c: Vec<f64>,
    consts: Vec<(f64, f64, f64)>,
}

impl Workspace {
    fn new(t: usize, k: usize) -> Self {
        Self {
            k,
            t,
            b: vec![0.0; t * k],
            alpha: vec![0.0; t * k],
            beta: vec![0.0; t * k],
            c: vec![0.0; t],
            consts: Vec::with_capacity(k),
        }
    }

    /// Scaled forward pass; fills `b` (shifted emissions), `alpha`, `c`; returns ln L.
    fn forward(&mut self, p: &HmmParams, x: &[f64]) -> f64 {
        let k = self.k;
        let mut ll = 0.0;
        // per-state constants of ln N(x; μ, σ²) = c_j − (x − μ_j)² · h_j
        self.consts.clear();
        for j in 0..k {
            let v = p.variances[j];
            self.consts.push((-0.5 * (LN_2PI + v.ln()), 0.5 / v, p.means[j]));
        }
        for t in 0..self.t {
            let row = &mut self.b[t * k..(t + 1) * k];
            let mut m = f64::NEG_INFINITY;
            for (v, &(c, h, mu)) in row.iter_mut().zip(&self.consts) {
                let d = x[t] - mu;
                *v = c - d * d * h;
                m = m.max(*v);
            }
            for v in row.iter_mut() {
                *v = (*v - m).exp();
            }
            let mut c = 0.0;
            for j in 0..k {
                let pred = if t == 0 {
                    p.start[j]
                } else {
                    let prev = &self.alpha[(t - 1) * k..t * k];
                    let mut s = 0.0;
                    for i in 0..k {
                        s += prev[i] * p.transition[i * k + j];
                    }
                    s
                };
                let a = pred * self.b[t * k + j];
                self.alpha[t * k + j] = a;
                c += a;
            }
            let c = c.max(f64::MIN_POSITIVE);
            for j in 0..k {
                self.alpha[t * k + j] /= c;
            }
            self.c[t] = c;
            ll += c.ln() + m;
        }
        ll
    }

    /// Scaled backward pass (after `forward`).
    fn backward(&mut self, p: &HmmParams) {
        let k = self.k;
        let t_len = self.t;
        for j in 0..k {
            self.beta[(t_len - 1) * k + j] = 1.0;
        }
        for t in (0..t_len - 1).rev() {
            for i in 0..k {
                let mut s = 0.0;
                for j in 0..k {
                    s += p.transition[i * k + j] * self.b[(t + 1) * k + j] * self.beta[(t + 1) * k + j];
                }
                self.beta[t * k + i] = s / self.c[t + 1];
            }
        }
    }

    /// Maximum-likelihood M-step.
    fn m_step(&self, p: &HmmParams, x: &[f64], floor: f64) -> HmmParams {
        let k = self.k;
        let t_len = self.t;
        let mut xi = vec![0.0; k * k];
        let mut gsum = vec![0.0; k];
        let mut gx = vec![0.0; k];
        let mut gxx = vec![0.0; k];
        for t in 0..t_len {
            for j in 0..k {
                let g = self.alpha[t * k + j] * self.beta[t * k + j];
                gsum[j] += g;
                gx[j] += g * x[t];
            }
            if t + 1 < t_len {
                let inv_c = 1.0 / self.c[t + 1];
                for i in 0..k {
                    let a = self.alpha[t * k + i] * inv_c;
                    for j in 0..k {
                        xi[i * k + j] += a
                            * p.transition[i * k + j]
                            * self.b[(t + 1) * k + j]
                            * self.beta[(t + 1) * k + j];
                    }
                }
            }
        }
        let means: Vec<f64> = (0..k)
            .map(|j| {
                if gsum[j] > 0.0 {
                    gx[j] / gsum[j]
                } else {
                    p.means[j]
                }
            })
            .collect();
        for t in 0..t_len {
            for j in 0..k {
                let g = self.alpha[t * k + j] * self.beta[t * k + j];
                let d = x[t] - means[j];
                gxx[j] += g * d * d;
            }
        }
        let variances = (0..k)
            .map(|j| {
                if gsum[j] > 0.0 {
                    (gxx[j] / gsum[j]).max(floor)
                } else {
                    p.variances[j]
                }
            })
            .collect();
        let mut start: Vec<f64> = (0..k).map(|j| self.alpha[j] * self.beta[j]).collect();
        let s: f64 = start.iter().sum();
        if s > 0.0 && s.is_finite() {
            start.iter_mut().for_each(|v| *v /= s);
        } else {
            start.copy_from_slice(&p.start);
        }
        let mut transition = xi;
        for i in 0..k {
            let row = &mut transition[i * k..(i + 1) * k];
            let s: f64 = row.iter().sum();
            if s > 0.0 && s.is_finite() {
                row.iter_mut().for_each(|v| *v /= s);
            } else {
                row.copy_from_slice(&p.transition[i * k..(i + 1) * k]);
            }
        }
        HmmParams {
            start,
            transition,
            means,
            variances,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_state() -> HmmParams {
        HmmParams {
            start: vec![0.5, 0.5],
            transition: vec![0.95, 0.05, 0.1, 0.9],
            means: vec![0.0, 1.0],
            variances: vec![1.0, 4.0],
        }
    }

    #[test]
    fn forward_matches_brute_force_enumeration() {
        let m = GaussianHmm::new(two_state()).unwrap();
        let x = [0.3, -1.2, 2.5, 0.7];
        let p = m.params();
        let mut total = 0.0;
        let mut switched = 0.0;
        for path in 0..16u32 {
            let s: Vec<usize> = (0..4).map(|t| (path >> t & 1) as usize).collect();
            let mut lp = p.start[s[0]].ln() + p.log_emission(s[0], x[0]);
            for t in 1..4 {
                lp += p.transition[s[t - 1] * 2 + s[t]].ln() + p.log_emission(s[t], x[t]);
            }
            total += lp.exp();
            if s[3] != s[2] {
                switched += lp.exp();
            }
        }
        assert!((m.log_likelihood(&x).unwrap() - total.ln()).abs() < 1e-12);
        let f = m.filtered(&x).unwrap();
        let mut filt = m.filter();
        for &v in &x {
            let _ = filt.update(v).unwrap();
        }
        assert!((filt.log_likelihood() - total.ln()).abs() < 1e-12);
        assert!((filt.switch_probability() - switched / total).abs() < 1e-12);
        assert!((f[6] + f[7] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn params_validation() {
        let mut p = two_state();
        p.transition[0] = 0.5;
        assert!(GaussianHmm::new(p).is_err());
        let mut p = two_state();
        p.variances[1] = 0.0;
        assert!(GaussianHmm::new(p).is_err());
        let mut p = two_state();
        p.means.pop();
        assert!(GaussianHmm::new(p).is_err());
        let cfg = GaussianHmmConfig {
            n_states: 0,
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = GaussianHmmConfig::default();
        assert!(matches!(
            cfg.fit(&[1.0, 2.0]),
            Err(RegimeError::TooFewObservations { .. })
        ));
        assert!(cfg.fit(&[1.0, 2.0, f64::NAN, 3.0, 4.0]).is_err());
        let m = GaussianHmm::new(two_state()).unwrap();
        let mut f = m.filter();
        assert!(f.update(f64::INFINITY).is_err());
        assert!(m.viterbi(&[]).is_err());
    }
}
