//! The detector: truncation, detection settings, configuration and the run-length
//! posterior update.

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_DIM, MAX_WINDOW};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::RegimeResult;

use super::hazard::Hazard;
use super::models::{predict_and_update, predict_and_update_normal_gamma, ObservationModel};

/// How the run-length posterior is kept bounded. Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Truncation {
    /// Run lengths whose posterior probability is below this are dropped after each
    /// update. Default 1e-8; in [0, 1), 0 keeps everything.
    pub min_probability: f64,
    /// At most this many run lengths are kept (the least probable are dropped first).
    /// Default 1000; in `2..=MAX_WINDOW` (2²⁴).
    pub max_run_lengths: usize,
}
prudentia_core::checked_serde!(Truncation, Truncation::check);

impl Default for Truncation {
    fn default() -> Self {
        Self {
            min_probability: 1e-8,
            max_run_lengths: 1000,
        }
    }
}

impl Truncation {
    /// No truncation: the exact posterior for series of up to `MAX_WINDOW` (2²⁴ ≈ 16.8 M)
    /// observations (memory grows linearly with the series up to that cap).
    pub fn none() -> Self {
        Self {
            min_probability: 0.0,
            max_run_lengths: MAX_WINDOW,
        }
    }

    /// Checks both fields (`max_run_lengths` beyond `MAX_WINDOW` is [`CoreError::TooLarge`]).
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(self.min_probability.is_finite() && (0.0..1.0).contains(&self.min_probability)) {
            return Err(CoreError::OutOfRange {
                field: "truncation.min_probability",
                value: self.min_probability,
                expected: "in [0, 1)",
            });
        }
        if self.max_run_lengths < 2 {
            return Err(CoreError::OutOfRange {
                field: "truncation.max_run_lengths",
                value: self.max_run_lengths as f64,
                expected: ">= 2",
            });
        }
        check_size("truncation.max_run_lengths", self.max_run_lengths, MAX_WINDOW)
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

/// How a change is signalled.
///
/// The change probability at step t is `p_t = P(r_t ≤ window | x_{1:t})`, the posterior
/// probability that the current segment began within the last `window` observations.
/// A change is signalled at t when `p_t ≥ threshold`, the MAP run length is at most
/// `window`, and the MAP segment start `t + 1 − r*_t` lies at least `min_separation`
/// observations after the start signalled last (so one change is signalled once, and the
/// first observations of the series, where every run is short, signal nothing).
///
/// Validated when deserialized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Detection {
    /// Window in observations; in `1..=MAX_WINDOW` (2²⁴). Default 20.
    pub window: usize,
    /// Signal threshold on `p_t`; in (0, 1). Default 0.6.
    pub threshold: f64,
    /// Minimum distance between two signalled segment starts, in observations; at most
    /// `MAX_WINDOW`. Default 5.
    pub min_separation: usize,
}
prudentia_core::checked_serde!(Detection, Detection::check);

impl Detection {
    /// Checks every field (sizes beyond `MAX_WINDOW` are [`CoreError::TooLarge`]).
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.window == 0 {
            return Err(CoreError::OutOfRange {
                field: "detection.window",
                value: 0.0,
                expected: ">= 1 observation",
            });
        }
        check_size("detection.window", self.window, MAX_WINDOW)?;
        check_size("detection.min_separation", self.min_separation, MAX_WINDOW)?;
        let th = self.threshold;
        if !(th.is_finite() && th > 0.0 && th < 1.0) {
            return Err(CoreError::OutOfRange {
                field: "detection.threshold",
                value: th,
                expected: "in the open interval (0, 1)",
            });
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

impl Default for Detection {
    fn default() -> Self {
        Self {
            window: 20,
            threshold: 0.6,
            min_separation: 5,
        }
    }
}

/// Configuration of [`Bocpd`]. Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct BocpdConfig {
    /// One observation model per feature (independent features). Default: one feature,
    /// Normal–Gamma with the default prior. At least one, at most `MAX_DIM` (65,536).
    pub features: Vec<ObservationModel>,
    /// Hazard. Default constant with expected run length 250.
    pub hazard: Hazard,
    /// Truncation of negligible run lengths. Default [`Truncation::default`].
    pub truncation: Truncation,
    /// Change signalling. Default [`Detection::default`].
    pub detection: Detection,
}

impl Default for BocpdConfig {
    fn default() -> Self {
        Self {
            features: vec![ObservationModel::default()],
            hazard: Hazard::default(),
            truncation: Truncation::default(),
            detection: Detection::default(),
        }
    }
}

impl BocpdConfig {
    /// A univariate configuration with the given model and the other defaults.
    pub fn univariate(model: ObservationModel) -> Self {
        Self {
            features: vec![model],
            ..Self::default()
        }
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("features", self.features.len(), 1)?;
        check_size("features", self.features.len(), MAX_DIM)?;
        for f in &self.features {
            f.validate()?;
        }
        self.hazard.validate()?;
        self.truncation.validate()?;
        self.detection.validate()
    }

    fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}
prudentia_core::checked_serde!(BocpdConfig, BocpdConfig::check);

/// What one update found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct BocpdStep {
    /// Index of this observation (0 for the first).
    pub index: u64,
    /// Most probable run length after this observation.
    pub map_run_length: usize,
    /// `P(r_t ≤ window | x_{1:t})`: probability that a change happened within the
    /// detection window.
    pub change_probability: f64,
    /// Whether a change is signalled at this observation (see [`Detection`]).
    pub changed: bool,
    /// Estimated index of the first observation of the current segment,
    /// `index + 1 − map_run_length` (saturating at 0).
    pub segment_start: u64,
    /// `ln p(x_t | x_{1:t−1})`, the one-step log predictive density (log evidence).
    pub log_evidence: f64,
    /// Number of run lengths kept after truncation.
    pub support: usize,
}

/// Bayesian online change-point detector (see the [module docs](super)).
///
/// Serializes its state (configuration, run lengths, log posterior, sufficient statistics,
/// counters); deserialization re-validates the configuration and checks that the stored
/// posterior is consistent with it (sizes, finite values, a normalized posterior, strictly
/// decreasing run lengths no longer than the series, statistics the prior can have led to),
/// so a corrupted checkpoint is an error, not a panic or a NaN later.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Bocpd {
    config: BocpdConfig,
    #[serde(skip)]
    stride: usize,
    #[serde(skip)]
    prior_stats: Vec<f64>,
    #[serde(skip)]
    hazard_logs: Vec<(f64, f64)>,
    run_lengths: Vec<usize>,
    log_probs: Vec<f64>,
    stats: Vec<f64>,
    #[serde(skip)]
    scratch: Vec<f64>,
    /// Copy of `stats` taken before an update, restored if the update fails.
    #[serde(skip)]
    backup: Vec<f64>,
    t: u64,
    last_signal_start: u64,
}
prudentia_core::checked_serde!(Bocpd, Bocpd::check_state);

/// Equality of the model state (scratch buffers excluded).
impl PartialEq for Bocpd {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.stride == other.stride
            && self.prior_stats == other.prior_stats
            && self.hazard_logs == other.hazard_logs
            && self.run_lengths == other.run_lengths
            && self.log_probs == other.log_probs
            && self.stats == other.stats
            && self.t == other.t
            && self.last_signal_start == other.last_signal_start
    }
}

impl Bocpd {
    /// A detector at the start of a series (run length 0 with probability 1).
    pub fn new(config: BocpdConfig) -> RegimeResult<Self> {
        config.validate()?;
        let mut s = Self {
            config,
            stride: 0,
            prior_stats: Vec::new(),
            hazard_logs: Vec::new(),
            run_lengths: Vec::new(),
            log_probs: Vec::new(),
            stats: Vec::new(),
            scratch: Vec::new(),
            backup: Vec::new(),
            t: 0,
            last_signal_start: 0,
        };
        s.derive();
        s.reserve();
        s.reset();
        Ok(s)
    }

    /// Rebuilds what follows from the configuration (stride, prior statistics, hazard logs).
    fn derive(&mut self) {
        self.stride = self.config.features.iter().map(ObservationModel::stride).sum();
        self.prior_stats.clear();
        for f in &self.config.features {
            f.write_prior(&mut self.prior_stats);
        }
        self.hazard_logs = self.config.hazard.log_table();
    }

    /// Reserves the buffers for the steady state (no allocation per update).
    fn reserve(&mut self) {
        let cap = self.config.truncation.max_run_lengths.clamp(2, 4096) + 1;
        let (stride, n) = (self.stride, self.run_lengths.len());
        self.run_lengths.reserve(cap.saturating_sub(n));
        self.log_probs.reserve(cap.saturating_sub(n));
        self.stats.reserve((cap * stride).saturating_sub(n * stride));
        self.scratch = Vec::with_capacity(cap.max(n + 1));
        self.backup = Vec::with_capacity((cap * stride).max((n + 1) * stride));
    }

    /// The checks of a loaded checkpoint (see the type's docs); rebuilds the derived
    /// fields and scratch buffers.
    fn check_state(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        self.derive();
        let n = self.run_lengths.len();
        check_len("bocpd.run_lengths", n, 1)?;
        let max = self.config.truncation.max_run_lengths;
        if n > max {
            return Err(CoreError::ShapeMismatch {
                field: "bocpd.run_lengths",
                expected: vec![max],
                found: vec![n],
            });
        }
        check_shape("bocpd.log_probs", &[n], &[self.log_probs.len()])?;
        check_shape("bocpd.stats", &[n * self.stride], &[self.stats.len()])?;
        check_finite("bocpd.log_probs", &self.log_probs)?;
        let total = log_sum_exp(&self.log_probs);
        let within = total.abs() <= 1e-6;
        if !within {
            return Err(CoreError::OutOfRange {
                field: "bocpd.log_probs",
                value: total,
                expected: "a posterior summing to 1 (log-sum-exp 0)",
            });
        }
        if self.run_lengths.windows(2).any(|w| w[0] <= w[1]) {
            return Err(CoreError::OutOfRange {
                field: "bocpd.run_lengths",
                value: f64::NAN,
                expected: "strictly decreasing run lengths",
            });
        }
        let longest = self.run_lengths[0] as u64;
        if longest > self.t || self.last_signal_start > self.t {
            return Err(CoreError::OutOfRange {
                field: "bocpd.t",
                value: self.t as f64,
                expected: "at least the longest run length and the last signalled start",
            });
        }
        for block in self.stats.chunks_exact(self.stride) {
            let mut off = 0;
            for m in &self.config.features {
                let w = m.stride();
                m.check_stats(&block[off..off + w])?;
                off += w;
            }
        }
        self.reserve();
        Ok(())
    }

    /// Forgets all observations.
    pub fn reset(&mut self) {
        self.run_lengths.clear();
        self.log_probs.clear();
        self.stats.clear();
        self.run_lengths.push(0);
        self.log_probs.push(0.0);
        self.stats.extend_from_slice(&self.prior_stats);
        self.t = 0;
        self.last_signal_start = 0;
    }

    /// The configuration.
    pub fn config(&self) -> &BocpdConfig {
        &self.config
    }

    /// Number of features per observation.
    pub fn n_features(&self) -> usize {
        self.config.features.len()
    }

    /// Number of observations seen.
    pub fn observations(&self) -> u64 {
        self.t
    }

    /// Updates with a univariate observation. Errors if the detector has more than one
    /// feature or `x` is not finite.
    pub fn update_scalar(&mut self, x: f64) -> RegimeResult<BocpdStep> {
        self.update(&[x])
    }

    /// Updates with one observation (one value per feature).
    ///
    /// Errors: [`CoreError::ShapeMismatch`] if `x.len()` differs from the number of
    /// features, [`CoreError::NonFinite`] for NaN or infinite values,
    /// [`CoreError::Numerical`] for a finite value so extreme that no kept run can absorb it
    /// (its squared distance from every run's mean overflows, e.g. `1e300`); the state is
    /// left unchanged in all three cases, so the detector keeps working after a bad value.
    /// A run whose statistics would overflow while others can absorb the value is dropped
    /// from the posterior (the value is then, correctly, strong evidence of a change).
    pub fn update(&mut self, x: &[f64]) -> RegimeResult<BocpdStep> {
        check_shape("observation", &[self.config.features.len()], &[x.len()])?;
        check_finite("observation", x)?;
        let n = self.run_lengths.len();
        if self.scratch.len() < n {
            self.scratch.resize(n, 0.0);
        }
        self.backup.clear();
        self.backup.extend_from_slice(&self.stats);
        let stride = self.stride;
        // base_i = ln p(r_{t−1} = r_i | x_{1:t−1}) + ln π_{r_i}(x_t); −∞ for a run whose
        // statistics overflow (it cannot hold this value)
        if let [ObservationModel::NormalGamma(_)] = self.config.features[..] {
            let x0 = x[0];
            for (base, (lp, block)) in self.scratch[..n]
                .iter_mut()
                .zip(self.log_probs.iter().zip(self.stats.chunks_exact_mut(5)))
            {
                let v = lp + predict_and_update_normal_gamma(block, x0);
                *base = if v.is_nan() || !(block[0].is_finite() && block[3].is_finite()) {
                    f64::NEG_INFINITY
                } else {
                    v
                };
            }
        } else {
            for i in 0..n {
                let block = &mut self.stats[i * stride..(i + 1) * stride];
                let mut lp = 0.0;
                let mut off = 0;
                for (f, model) in self.config.features.iter().enumerate() {
                    let w = model.stride();
                    lp += predict_and_update(model, &mut block[off..off + w], x[f]);
                    off += w;
                }
                let v = self.log_probs[i] + lp;
                self.scratch[i] = if v.is_nan() || block.iter().any(|s| !s.is_finite()) {
                    f64::NEG_INFINITY
                } else {
                    v
                };
            }
        }
        // Σ_i [growth_i + change_i] = Σ_i exp(base_i): the evidence p(x_t | x_{1:t−1})
        let log_z = log_sum_exp(&self.scratch[..n]);
        if !log_z.is_finite() {
            std::mem::swap(&mut self.stats, &mut self.backup);
            return Err(CoreError::Numerical {
                operation: "bocpd update",
                detail: "the observation is too extreme for every run (its log density under- or \
                         overflows); the detector is unchanged",
            }
            .into());
        }
        let last_h = self.hazard_logs.len() - 1;
        let log_cp = if self.hazard_logs.len() == 1 {
            // constant hazard: the change mass is H times the evidence
            self.hazard_logs[0].0
        } else {
            let m = self.scratch[..n]
                .iter()
                .zip(&self.run_lengths)
                .map(|(b, &r)| b + self.hazard_logs[r.min(last_h)].0)
                .fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = self.scratch[..n]
                .iter()
                .zip(&self.run_lengths)
                .map(|(b, &r)| (b + self.hazard_logs[r.min(last_h)].0 - m).exp())
                .sum();
            m + s.ln() - log_z
        };
        for ((lp, r), base) in self
            .log_probs
            .iter_mut()
            .zip(self.run_lengths.iter_mut())
            .zip(&self.scratch[..n])
        {
            *lp = base + self.hazard_logs[(*r).min(last_h)].1 - log_z;
            *r = r.saturating_add(1);
        }
        self.run_lengths.push(0);
        self.log_probs.push(log_cp);
        self.stats.extend_from_slice(&self.prior_stats);
        self.truncate();
        self.t = self.t.saturating_add(1);
        Ok(self.summarize(log_z))
    }

    fn truncate(&mut self) {
        let tr = self.config.truncation;
        // runs that could not hold the last observation (−∞) always go
        let floor = if tr.min_probability > 0.0 {
            tr.min_probability.ln()
        } else {
            f64::MIN
        };
        let mut dropped = self.retain_at_least(floor, usize::MAX);
        if self.run_lengths.len() > tr.max_run_lengths {
            let n = self.run_lengths.len();
            if self.scratch.len() < n {
                self.scratch.resize(n, 0.0);
            }
            let s = &mut self.scratch[..n];
            s.copy_from_slice(&self.log_probs);
            let k = n - tr.max_run_lengths;
            // the k-th smallest is the largest value dropped; keep values above it.
            let (_, kth, _) = s.select_nth_unstable_by(k - 1, f64::total_cmp);
            let cut = *kth;
            dropped |= self.retain_above(cut, tr.max_run_lengths);
        }
        if dropped {
            let log_z = log_sum_exp(&self.log_probs);
            for lp in &mut self.log_probs {
                *lp -= log_z;
            }
        }
    }

    /// Keeps entries with log probability ≥ `floor` (at most `max` of them, first come).
    fn retain_at_least(&mut self, floor: f64, max: usize) -> bool {
        self.compact(|lp| lp >= floor, max)
    }

    /// Keeps entries with log probability > `cut` (at most `max`).
    fn retain_above(&mut self, cut: f64, max: usize) -> bool {
        self.compact(|lp| lp > cut, max)
    }

    fn compact(&mut self, keep: impl Fn(f64) -> bool, max: usize) -> bool {
        let n = self.run_lengths.len();
        let stride = self.stride;
        let mut w = 0;
        for i in 0..n {
            if w < max && keep(self.log_probs[i]) {
                if w != i {
                    self.run_lengths[w] = self.run_lengths[i];
                    self.log_probs[w] = self.log_probs[i];
                    self.stats.copy_within(i * stride..(i + 1) * stride, w * stride);
                }
                w += 1;
            }
        }
        if w == 0 {
            // never empty the posterior: keep the most probable entry
            let best = argmax(&self.log_probs);
            self.run_lengths[0] = self.run_lengths[best];
            self.log_probs[0] = self.log_probs[best];
            self.stats.copy_within(best * stride..(best + 1) * stride, 0);
            w = 1;
        }
        self.run_lengths.truncate(w);
        self.log_probs.truncate(w);
        self.stats.truncate(w * stride);
        w < n
    }

    fn summarize(&mut self, log_evidence: f64) -> BocpdStep {
        let best = argmax(&self.log_probs);
        let map = self.run_lengths[best];
        let window = self.config.detection.window;
        let mut p = 0.0;
        for (r, lp) in self.run_lengths.iter().zip(&self.log_probs) {
            if *r <= window {
                p += lp.exp();
            }
        }
        let p = p.min(1.0);
        let det = self.config.detection;
        let index = self.t.saturating_sub(1);
        let start = (index + 1).saturating_sub(map as u64);
        let changed = p >= det.threshold
            && map <= window
            && start >= self.last_signal_start.saturating_add(det.min_separation as u64);
        if changed {
            self.last_signal_start = start;
        }
        BocpdStep {
            index,
            map_run_length: map,
            change_probability: p,
            changed,
            segment_start: start,
            log_evidence,
            support: self.run_lengths.len(),
        }
    }

    /// The most probable run length now.
    pub fn map_run_length(&self) -> usize {
        self.run_lengths[argmax(&self.log_probs)]
    }

    /// The kept run lengths and their posterior probabilities (in storage order: longest
    /// run first).
    pub fn run_length_posterior(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.run_lengths
            .iter()
            .zip(&self.log_probs)
            .map(|(&r, &lp)| (r, lp.exp()))
    }

    /// The posterior as a dense vector indexed by run length (0 for dropped run lengths).
    pub fn dense_posterior(&self) -> Vec<f64> {
        let max = self.run_lengths.iter().copied().max().unwrap_or(0);
        let mut out = vec![0.0; max + 1];
        for (r, p) in self.run_length_posterior() {
            out[r] += p;
        }
        out
    }

    /// Posterior mean of each feature under the MAP run length (the current segment's
    /// mean estimate).
    pub fn segment_means(&self) -> Vec<f64> {
        let best = argmax(&self.log_probs);
        let block = &self.stats[best * self.stride..(best + 1) * self.stride];
        let mut out = Vec::with_capacity(self.config.features.len());
        let mut off = 0;
        for m in &self.config.features {
            out.push(block[off]);
            off += m.stride();
        }
        out
    }

    /// Capacity of the internal buffers `(run lengths, stats, scratch)`; constant in
    /// steady state, which is how the tests check that updates do not allocate.
    pub fn buffer_capacities(&self) -> (usize, usize, usize) {
        (
            self.run_lengths.capacity(),
            self.stats.capacity(),
            self.scratch.capacity(),
        )
    }
}

/// `ln Σ exp(v_i)`, stable; −∞ for an empty slice.
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    let s: f64 = v.iter().map(|&x| (x - m).exp()).sum();
    m + s.ln()
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
