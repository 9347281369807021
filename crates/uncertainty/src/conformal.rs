//! Conformal prediction intervals, each optionally keyed by regime (Mondrian conformal).
//!
//! - [`SplitConformal`] (Lei et al. 2018): with calibration scores `s_i = |y_i − μ_i|`
//!   (or `|y_i − μ_i|/σ_i`), the interval is `μ ± q̂` (or `μ ± q̂σ`) where `q̂` is the
//!   `⌈(n+1)(1−α)⌉`-th smallest score. A plain point prediction (no σ, no horizon) works
//!   with absolute scores: [`SplitConformal::calibrate_points`] / [`SplitConformal::interval_point`]
//!   (MAPIE's `SplitConformalRegressor`, `conformity_score="absolute"`).
//! - [`Cqr`], conformalized quantile regression (Romano, Patterson & Candès 2019): scores
//!   `E_i = max(q̂_lo(x_i) − y_i, y_i − q̂_hi(x_i))`, interval `[q̂_lo − Q, q̂_hi + Q]`; or,
//!   with [`CqrCorrection::Asymmetric`] (MAPIE's default), each side corrected by the
//!   `⌈(n+1)(1−α/2)⌉`-th smallest of its own scores. Both equal MAPIE 1.6.0 on
//!   `tests/fixtures/mapie.json`.
//! - [`AdaptiveConformal`], adaptive conformal inference for time series (Gibbs & Candès
//!   2021): the working level follows `α_{t+1} = α_t + γ (α − err_t)` with
//!   `err_t = 1{y_t ∉ C_t(α_t)}`, and scores come from a trailing window, so long-run
//!   coverage is `1 − α` whatever the distribution shift.
//!
//! Mondrian: with `mondrian = true` each regime label keeps its own scores (and ACI level);
//! a regime with fewer than `min_samples` scores uses the pooled ones, and the interval says so.
//! When the finite-sample quantile index exceeds the number of scores (the theory's infinite
//! interval, or `α_t ≤ 0` in ACI), the largest score is used instead — a documented repair
//! that keeps intervals finite.

use std::collections::{BTreeMap, VecDeque};

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_WINDOW};
use prudentia_core::{CoreError, Forecast, RegimeLabel};
use serde::{Deserialize, Serialize};

use crate::calibrate::check_alpha;
use crate::convert::{check_forecast, finite_or_numerical};
use crate::error::Result;

/// The nonconformity score of a point forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ScoreKind {
    /// `|y − μ|`: intervals of constant width.
    Absolute,
    /// `|y − μ| / σ`: intervals proportional to the forecast's sigma (default).
    #[default]
    Normalized,
}

impl ScoreKind {
    /// The score of a checked forecast and outcome; an error if it overflows.
    fn score(self, f: &Forecast, y: f64) -> Result<f64> {
        let s = match self {
            ScoreKind::Absolute => (y - f.mean).abs(),
            ScoreKind::Normalized => (y - f.mean).abs() / f.sigma,
        };
        if s.is_finite() {
            Ok(s)
        } else {
            Err(CoreError::OutOfRange {
                field: "outcome",
                value: y,
                expected: "a finite nonconformity score |y − μ| (/σ)",
            }
            .into())
        }
    }
    fn interval(self, f: &Forecast, q: f64) -> Result<(f64, f64)> {
        let (lo, hi) = match self {
            ScoreKind::Absolute => (f.mean - q, f.mean + q),
            ScoreKind::Normalized => (f.mean - q * f.sigma, f.mean + q * f.sigma),
        };
        Ok((
            finite_or_numerical(lo, "conformal interval")?,
            finite_or_numerical(hi, "conformal interval")?,
        ))
    }
}

/// Settings shared by the conformal methods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConformalConfig {
    /// Miscoverage level α in (0, 1): intervals target `1 − α` coverage (default 0.1).
    pub alpha: f64,
    /// Key scores by regime label (Mondrian conformal; default `false`).
    pub mondrian: bool,
    /// Scores a regime needs before its own are used (default 30, ≥ 1).
    pub min_samples: usize,
    /// Nonconformity score of point forecasts (default normalized; ignored by CQR).
    pub score: ScoreKind,
    /// Keep only the most recent `window` scores per key (0 = keep all; default 0 for split
    /// conformal and CQR; at most `MAX_WINDOW`). For ACI, 0 means 500.
    pub window: usize,
}

impl Default for ConformalConfig {
    fn default() -> Self {
        Self {
            alpha: 0.1,
            mondrian: false,
            min_samples: 30,
            score: ScoreKind::Normalized,
            window: 0,
        }
    }
}

impl ConformalConfig {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_alpha(self.alpha)?;
        check_size("window", self.window, MAX_WINDOW)?;
        if self.min_samples == 0 {
            return Err(CoreError::OutOfRange {
                field: "min_samples",
                value: 0.0,
                expected: ">= 1",
            }
            .into());
        }
        Ok(())
    }
}

/// Where an interval's scores came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntervalSource {
    /// The regime's own scores.
    Regime(RegimeLabel),
    /// The pooled scores (not Mondrian, or the regime had fewer than `min_samples`).
    Pooled,
    /// No scores yet: the interval is the forecast's own Normal interval.
    NoScores,
}

/// A prediction interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Which scores were used.
    pub source: IntervalSource,
}

impl Interval {
    /// Whether `y` lies in `[lower, upper]`.
    pub fn contains(&self, y: f64) -> bool {
        self.lower <= y && y <= self.upper
    }
    /// `upper − lower`.
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }
}

/// Scores kept sorted, with an optional FIFO window. Insert and evict are O(log w) search
/// plus an O(w) memmove, without allocation once the window is full.
///
/// Validated on load: window at most `MAX_WINDOW`, finite sorted scores, and (windowed) a
/// FIFO holding the same scores, no more than the window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ScoreWindow {
    sorted: Vec<f64>,
    fifo: VecDeque<f64>,
    window: usize,
}

checked_serde!(ScoreWindow, ScoreWindow::check);

fn bad_scores(detail: &'static str) -> crate::UncertaintyError {
    CoreError::Numerical {
        operation: "conformal score window",
        detail,
    }
    .into()
}

impl ScoreWindow {
    /// An empty window (`window = 0`: unbounded).
    ///
    /// Errors: `window` above `MAX_WINDOW` ([`CoreError::TooLarge`]).
    pub fn new(window: usize) -> Result<Self> {
        check_size("window", window, MAX_WINDOW)?;
        Ok(Self::with_window(window))
    }

    /// An empty window of a checked size (memory grows with the scores, up to the window).
    fn with_window(window: usize) -> Self {
        let cap = window.min(1024);
        Self {
            sorted: Vec::with_capacity(cap),
            fifo: VecDeque::with_capacity(cap),
            window,
        }
    }

    fn check(&mut self) -> Result<()> {
        check_size("window", self.window, MAX_WINDOW)?;
        check_size("scores", self.sorted.len(), MAX_WINDOW)?;
        check_finite("scores", &self.sorted)?;
        if self.sorted.windows(2).any(|w| w[1] < w[0]) {
            return Err(bad_scores("scores not sorted"));
        }
        if self.window == 0 {
            if !self.fifo.is_empty() {
                return Err(bad_scores("an unbounded window keeps no FIFO"));
            }
        } else {
            if self.fifo.len() != self.sorted.len() || self.fifo.len() > self.window {
                return Err(bad_scores(
                    "FIFO and sorted scores differ in length or exceed the window",
                ));
            }
            let mut f: Vec<f64> = self.fifo.iter().copied().collect();
            f.sort_by(f64::total_cmp);
            if f != self.sorted {
                return Err(bad_scores("FIFO and sorted scores hold different values"));
            }
        }
        Ok(())
    }

    /// The window (0: unbounded).
    pub fn window(&self) -> usize {
        self.window
    }

    /// The scores, sorted.
    pub fn scores(&self) -> &[f64] {
        &self.sorted
    }

    /// Adds a score, evicting the oldest when full.
    ///
    /// Errors: a non-finite score (nothing changes).
    pub fn push(&mut self, s: f64) -> Result<()> {
        check_finite("score", &[s])?;
        self.push_finite(s);
        Ok(())
    }

    fn push_finite(&mut self, s: f64) {
        if self.window > 0 && self.fifo.len() >= self.window {
            if let Some(old) = self.fifo.pop_front() {
                let i = self.sorted.partition_point(|&v| v < old);
                if i < self.sorted.len() {
                    self.sorted.remove(i);
                }
            }
        }
        if self.window > 0 {
            self.fifo.push_back(s);
        }
        let i = self.sorted.partition_point(|&v| v <= s);
        self.sorted.insert(i, s);
    }
    /// Number of scores held.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }
    /// Whether no score is held.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
    /// The conformal quantile at miscoverage `alpha`: the `⌈(n+1)(1−α)⌉`-th smallest score,
    /// the largest score when that index exceeds n (α ≤ 1/(n+1) or α ≤ 0), and 0 when α ≥ 1.
    pub fn quantile(&self, alpha: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        if alpha >= 1.0 {
            return Some(0.0_f64.min(self.sorted[0]));
        }
        let k = ((n as f64 + 1.0) * (1.0 - alpha)).ceil();
        let k = if k.is_finite() {
            (k as usize).clamp(1, n)
        } else {
            n
        };
        Some(self.sorted[k - 1])
    }
}

/// Scores pooled and per regime.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Keyed {
    pooled: ScoreWindow,
    regimes: BTreeMap<RegimeLabel, ScoreWindow>,
}

impl Keyed {
    fn new(window: usize) -> Self {
        Self {
            pooled: ScoreWindow::with_window(window),
            regimes: BTreeMap::new(),
        }
    }

    /// Every window valid, of the configured size, regime counts within the pool's.
    fn check(&mut self, cfg: &ConformalConfig) -> Result<()> {
        for w in std::iter::once(&mut self.pooled).chain(self.regimes.values_mut()) {
            w.check()?;
            if w.window != cfg.window {
                return Err(bad_scores("a window differs from the configured one"));
            }
        }
        Ok(())
    }

    /// Pushes a finite score.
    fn push(&mut self, cfg: &ConformalConfig, window: usize, regime: &RegimeLabel, s: f64) {
        self.pooled.push_finite(s);
        if cfg.mondrian {
            self.regimes
                .entry(regime.clone())
                .or_insert_with(|| ScoreWindow::with_window(window))
                .push_finite(s);
        }
    }
    fn pick(&self, cfg: &ConformalConfig, regime: &RegimeLabel) -> (&ScoreWindow, IntervalSource) {
        if cfg.mondrian {
            if let Some(w) = self.regimes.get(regime) {
                if w.len() >= cfg.min_samples {
                    return (w, IntervalSource::Regime(regime.clone()));
                }
            }
        }
        (&self.pooled, IntervalSource::Pooled)
    }
}

fn check_regimes(n: usize, regimes: Option<&[RegimeLabel]>) -> Result<()> {
    if let Some(r) = regimes {
        check_shape("regimes", &[n], &[r.len()])?;
    }
    Ok(())
}

/// Split (inductive) conformal intervals around point forecasts, optionally Mondrian.
/// Validated on load (settings, every score window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct SplitConformal {
    config: ConformalConfig,
    scores: Keyed,
}

checked_serde!(SplitConformal, SplitConformal::check);

impl SplitConformal {
    fn check(&mut self) -> Result<()> {
        self.config.validate()?;
        self.scores.check(&self.config)
    }

    /// An empty conformal predictor.
    pub fn new(config: ConformalConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            scores: Keyed::new(config.window),
        })
    }

    /// Calibrates on held-out forecasts and outcomes (regimes needed only when Mondrian).
    ///
    /// Errors: empty input, length mismatch, non-finite outcomes.
    pub fn calibrate(
        config: ConformalConfig,
        forecasts: &[Forecast],
        outcomes: &[f64],
        regimes: Option<&[RegimeLabel]>,
    ) -> Result<Self> {
        check_len("forecasts", forecasts.len(), 1)?;
        check_shape("outcomes", &[forecasts.len()], &[outcomes.len()])?;
        check_regimes(forecasts.len(), regimes)?;
        let mut c = Self::new(config)?;
        for (i, (f, &y)) in forecasts.iter().zip(outcomes).enumerate() {
            let r = regimes.map_or(&RegimeLabel::UNKNOWN, |r| &r[i]);
            c.update(f, y, r)?;
        }
        Ok(c)
    }

    /// Adds one calibration score.
    ///
    /// Errors: an invalid forecast, a non-finite outcome or score (nothing changes).
    pub fn update(&mut self, forecast: &Forecast, outcome: f64, regime: &RegimeLabel) -> Result<()> {
        check_finite("outcome", &[outcome])?;
        check_forecast(forecast)?;
        let s = self.config.score.score(forecast, outcome)?;
        self.scores.push(&self.config, self.config.window, regime, s);
        Ok(())
    }

    /// The `1 − α` interval for a forecast in a regime.
    ///
    /// Errors: an invalid forecast; bounds outside the finite range.
    pub fn interval(&self, forecast: &Forecast, regime: &RegimeLabel) -> Result<Interval> {
        check_forecast(forecast)?;
        let (w, source) = self.scores.pick(&self.config, regime);
        match w.quantile(self.config.alpha) {
            Some(q) => {
                let (lower, upper) = self.config.score.interval(forecast, q)?;
                Ok(Interval { lower, upper, source })
            }
            None => normal_interval(forecast, self.config.alpha),
        }
    }
}

/// Split conformal on a plain point prediction: absolute scores `|y − ŷ|`, no σ or horizon.
impl SplitConformal {
    fn check_absolute(&self) -> Result<()> {
        if self.config.score != ScoreKind::Absolute {
            return Err(CoreError::OutOfRange {
                field: "score",
                value: f64::NAN,
                expected: "ScoreKind::Absolute for a plain point prediction (no sigma)",
            }
            .into());
        }
        Ok(())
    }

    /// Calibrates on held-out point predictions and outcomes with absolute scores
    /// (`config.score` must be [`ScoreKind::Absolute`]); MAPIE's `SplitConformalRegressor`
    /// with `conformity_score="absolute"`.
    ///
    /// ```
    /// use prudentia_core::RegimeLabel;
    /// use prudentia_uncertainty::conformal::{ConformalConfig, ScoreKind, SplitConformal};
    ///
    /// let cfg = ConformalConfig { alpha: 0.5, score: ScoreKind::Absolute, ..Default::default() };
    /// let c = SplitConformal::calibrate_points(cfg, &[0.0, 0.0, 0.0], &[0.1, -0.2, 0.3], None).unwrap();
    /// let i = c.interval_point(1.0, &RegimeLabel::UNKNOWN).unwrap();
    /// assert_eq!((i.lower, i.upper), (0.8, 1.2)); // the ⌈4·0.5⌉ = 2nd smallest score
    /// ```
    ///
    /// Errors: a normalized score kind; empty input, length mismatch, non-finite values (the
    /// error names the row).
    pub fn calibrate_points(
        config: ConformalConfig,
        predictions: &[f64],
        outcomes: &[f64],
        regimes: Option<&[RegimeLabel]>,
    ) -> Result<Self> {
        check_len("predictions", predictions.len(), 1)?;
        check_shape("outcomes", &[predictions.len()], &[outcomes.len()])?;
        check_regimes(predictions.len(), regimes)?;
        let mut c = Self::new(config)?;
        c.check_absolute()?;
        check_finite("predictions", predictions)?;
        check_finite("outcomes", outcomes)?;
        for (i, (&p, &y)) in predictions.iter().zip(outcomes).enumerate() {
            let r = regimes.map_or(&RegimeLabel::UNKNOWN, |r| &r[i]);
            c.update_point(p, y, r)?;
        }
        Ok(c)
    }

    /// Adds one absolute score `|y − ŷ|`.
    ///
    /// Errors: a normalized score kind; non-finite values or score (nothing changes).
    pub fn update_point(&mut self, prediction: f64, outcome: f64, regime: &RegimeLabel) -> Result<()> {
        self.check_absolute()?;
        check_finite("prediction", &[prediction])?;
        check_finite("outcome", &[outcome])?;
        let s = (outcome - prediction).abs();
        if !s.is_finite() {
            return Err(CoreError::OutOfRange {
                field: "outcome",
                value: outcome,
                expected: "a finite score |y − ŷ|",
            }
            .into());
        }
        self.scores.push(&self.config, self.config.window, regime, s);
        Ok(())
    }

    /// The `1 − α` interval `ŷ ± q̂` around a point prediction.
    ///
    /// Errors: a normalized score kind; a non-finite prediction; no scores yet (a point
    /// prediction has no Normal fallback); bounds outside the finite range.
    pub fn interval_point(&self, prediction: f64, regime: &RegimeLabel) -> Result<Interval> {
        self.check_absolute()?;
        check_finite("prediction", &[prediction])?;
        let (w, source) = self.scores.pick(&self.config, regime);
        let q = w.quantile(self.config.alpha).ok_or(CoreError::EmptyInput {
            field: "calibration scores",
            len: 0,
            min: 1,
        })?;
        Ok(Interval {
            lower: finite_or_numerical(prediction - q, "conformal interval")?,
            upper: finite_or_numerical(prediction + q, "conformal interval")?,
            source,
        })
    }
}

fn normal_interval(f: &Forecast, alpha: f64) -> Result<Interval> {
    let z = crate::normal::ppf(1.0 - alpha / 2.0);
    Ok(Interval {
        lower: finite_or_numerical(f.mean - z * f.sigma, "normal interval")?,
        upper: finite_or_numerical(f.mean + z * f.sigma, "normal interval")?,
        source: IntervalSource::NoScores,
    })
}

/// How CQR widens the two bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CqrCorrection {
    /// One correction `Q` for both sides, the `⌈(n+1)(1−α)⌉`-th smallest of
    /// `max(lo − y, y − hi)` (Romano et al. 2019; MAPIE `symmetric_correction=True`).
    #[default]
    Symmetric,
    /// Each side its own correction, the `⌈(n+1)(1−α/2)⌉`-th smallest of `lo − y` (lower)
    /// and of `y − hi` (upper) (Romano et al. 2019, Theorem 2; MAPIE's default
    /// `symmetric_correction=False`).
    Asymmetric,
}

/// Conformalized quantile regression (Romano et al. 2019), optionally Mondrian.
/// Keeps the symmetric scores and each side's scores, so either [`CqrCorrection`] can be
/// asked for at prediction time. Validated on load (settings, every score window, the
/// side windows holding as many scores as the symmetric ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Cqr {
    config: ConformalConfig,
    scores: Keyed,
    lower_side: Keyed,
    upper_side: Keyed,
}

checked_serde!(Cqr, Cqr::check);

impl Cqr {
    fn check(&mut self) -> Result<()> {
        self.config.validate()?;
        self.scores.check(&self.config)?;
        self.lower_side.check(&self.config)?;
        self.upper_side.check(&self.config)?;
        for side in [&self.lower_side, &self.upper_side] {
            let same = side.pooled.len() == self.scores.pooled.len()
                && side.regimes.len() == self.scores.regimes.len()
                && side
                    .regimes
                    .iter()
                    .zip(&self.scores.regimes)
                    .all(|((a, wa), (b, wb))| a == b && wa.len() == wb.len());
            if !same {
                return Err(bad_scores("side scores differ in count from the CQR scores"));
            }
        }
        Ok(())
    }

    /// An empty CQR predictor.
    pub fn new(config: ConformalConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            scores: Keyed::new(config.window),
            lower_side: Keyed::new(config.window),
            upper_side: Keyed::new(config.window),
        })
    }

    /// Calibrates on held-out lower/upper quantile predictions and outcomes.
    ///
    /// Errors: empty input, length mismatch, non-finite values, crossing bounds (lower >
    /// upper; the error names the row).
    pub fn calibrate(
        config: ConformalConfig,
        lower: &[f64],
        upper: &[f64],
        outcomes: &[f64],
        regimes: Option<&[RegimeLabel]>,
    ) -> Result<Self> {
        check_len("lower", lower.len(), 1)?;
        check_shape("upper", &[lower.len()], &[upper.len()])?;
        check_shape("outcomes", &[lower.len()], &[outcomes.len()])?;
        check_regimes(lower.len(), regimes)?;
        let mut c = Self::new(config)?;
        for i in 0..lower.len() {
            let r = regimes.map_or(&RegimeLabel::UNKNOWN, |r| &r[i]);
            c.update(lower[i], upper[i], outcomes[i], r)
                .map_err(|e| at_row(e, i))?;
        }
        Ok(c)
    }

    /// Adds one score `max(lo − y, y − hi)` and the side scores `lo − y`, `y − hi`.
    ///
    /// Errors: non-finite values, crossing bounds, a score that overflows (nothing changes).
    pub fn update(&mut self, lower: f64, upper: f64, outcome: f64, regime: &RegimeLabel) -> Result<()> {
        check_finite("lower", &[lower])?;
        check_finite("upper", &[upper])?;
        check_finite("outcome", &[outcome])?;
        check_bounds(lower, upper, None)?;
        let lo_side = lower - outcome;
        let hi_side = outcome - upper;
        let s = lo_side.max(hi_side);
        if !(lo_side.is_finite() && hi_side.is_finite()) {
            return Err(CoreError::OutOfRange {
                field: "outcome",
                value: outcome,
                expected: "finite scores lo − y and y − hi",
            }
            .into());
        }
        let w = self.config.window;
        self.scores.push(&self.config, w, regime, s);
        self.lower_side.push(&self.config, w, regime, lo_side);
        self.upper_side.push(&self.config, w, regime, hi_side);
        Ok(())
    }

    /// The conformalized interval `[lo − Q, hi + Q]` with the symmetric correction. With no
    /// scores yet, `[lo, hi]`.
    ///
    /// Errors: non-finite or crossing bounds.
    pub fn interval(&self, lower: f64, upper: f64, regime: &RegimeLabel) -> Result<Interval> {
        self.interval_with(lower, upper, regime, CqrCorrection::Symmetric)
    }

    /// The conformalized interval with the chosen correction: symmetric `[lo − Q, hi + Q]`,
    /// or asymmetric `[lo − Q_lo, hi + Q_hi]` (MAPIE's default). With no scores yet,
    /// `[lo, hi]`. Negative corrections may shrink the band, never past its midpoint.
    ///
    /// ```
    /// use prudentia_core::RegimeLabel;
    /// use prudentia_uncertainty::conformal::{ConformalConfig, Cqr, CqrCorrection};
    ///
    /// let lo = [-1.0, -1.0, -1.0, -1.0];
    /// let hi = [1.0, 1.0, 1.0, 1.0];
    /// let y = [-1.5, 0.0, 0.5, 0.2];
    /// let cfg = ConformalConfig { alpha: 0.5, ..Default::default() };
    /// let cqr = Cqr::calibrate(cfg, &lo, &hi, &y, None).unwrap();
    /// let i = cqr.interval_with(-1.0, 1.0, &RegimeLabel::UNKNOWN, CqrCorrection::Asymmetric).unwrap();
    /// assert!(i.lower < -1.0 && i.upper < 1.0); // lower side widened, upper side shrunk
    /// ```
    ///
    /// Errors: non-finite or crossing bounds.
    pub fn interval_with(
        &self,
        lower: f64,
        upper: f64,
        regime: &RegimeLabel,
        correction: CqrCorrection,
    ) -> Result<Interval> {
        check_finite("lower", &[lower])?;
        check_finite("upper", &[upper])?;
        check_bounds(lower, upper, None)?;
        if correction == CqrCorrection::Asymmetric {
            let (wl, source) = self.lower_side.pick(&self.config, regime);
            let (wu, _) = self.upper_side.pick(&self.config, regime);
            let half = 0.5 * self.config.alpha;
            return Ok(match (wl.quantile(half), wu.quantile(half)) {
                (Some(ql), Some(qu)) => {
                    // Never past the midpoint: the two corrections together shrink the band
                    // by at most its width.
                    let floor = -(0.5 * upper - 0.5 * lower);
                    let (ql, qu) = if ql + qu < 2.0 * floor {
                        (floor, floor)
                    } else {
                        (ql, qu)
                    };
                    let (l, u) = (lower - ql, upper + qu);
                    let (l, u) = if l > u {
                        (0.5 * l + 0.5 * u, 0.5 * l + 0.5 * u)
                    } else {
                        (l, u)
                    };
                    Interval {
                        lower: finite_or_numerical(l, "CQR interval")?,
                        upper: finite_or_numerical(u, "CQR interval")?,
                        source,
                    }
                }
                _ => Interval {
                    lower,
                    upper,
                    source: IntervalSource::NoScores,
                },
            });
        }
        let (w, source) = self.scores.pick(&self.config, regime);
        Ok(match w.quantile(self.config.alpha) {
            // A negative Q can shrink the band; never past its midpoint.
            Some(q) => {
                let q = q.max(-(0.5 * upper - 0.5 * lower));
                Interval {
                    lower: finite_or_numerical(lower - q, "CQR interval")?,
                    upper: finite_or_numerical(upper + q, "CQR interval")?,
                    source,
                }
            }
            None => Interval {
                lower,
                upper,
                source: IntervalSource::NoScores,
            },
        })
    }
}

fn check_bounds(lower: f64, upper: f64, row: Option<usize>) -> Result<()> {
    if lower > upper {
        return Err(crate::error::UncertaintyError::CrossingQuantiles {
            row,
            index: 1,
            level: None,
            value: upper,
            previous: lower,
        });
    }
    Ok(())
}

/// Names the batch row in a crossing-bounds error from a single-row call.
fn at_row(e: crate::UncertaintyError, i: usize) -> crate::UncertaintyError {
    match e {
        crate::UncertaintyError::CrossingQuantiles {
            row: None,
            index,
            level,
            value,
            previous,
        } => crate::UncertaintyError::CrossingQuantiles {
            row: Some(i),
            index,
            level,
            value,
            previous,
        },
        other => other,
    }
}

/// Settings of [`AdaptiveConformal`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AciConfig {
    /// The shared conformal settings (`window = 0` means 500 here).
    pub conformal: ConformalConfig,
    /// Step size γ in (0, 1] of the level update (default 0.005, as in Gibbs & Candès'
    /// experiments).
    pub gamma: f64,
}

impl Default for AciConfig {
    fn default() -> Self {
        Self {
            conformal: ConformalConfig::default(),
            gamma: 0.005,
        }
    }
}

impl AciConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        self.conformal.validate()?;
        prudentia_core::validate::check_positive("gamma", self.gamma)?;
        if self.gamma > 1.0 {
            return Err(CoreError::OutOfRange {
                field: "gamma",
                value: self.gamma,
                expected: "in (0, 1]",
            }
            .into());
        }
        Ok(())
    }
}

/// One key's ACI state: working level and trailing scores. Validated on load (finite
/// level, misses at most the count, a valid score window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct AciState {
    alpha_t: f64,
    scores: ScoreWindow,
    count: usize,
    misses: usize,
}

checked_serde!(AciState, AciState::check);

impl AciState {
    fn new(alpha: f64, window: usize) -> Self {
        Self {
            alpha_t: alpha,
            scores: ScoreWindow::with_window(window),
            count: 0,
            misses: 0,
        }
    }

    fn check(&mut self) -> Result<()> {
        check_finite("alpha_t", &[self.alpha_t])?;
        if self.misses > self.count {
            return Err(bad_scores("more misses than observations"));
        }
        self.scores.check()
    }

    /// Working miscoverage level α_t.
    pub fn alpha_t(&self) -> f64 {
        self.alpha_t
    }

    /// Trailing scores.
    pub fn scores(&self) -> &ScoreWindow {
        &self.scores
    }

    /// Observations seen.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Observations outside their interval.
    pub fn misses(&self) -> usize {
        self.misses
    }
    /// Running coverage `1 − misses/count` (None before the first observation).
    pub fn coverage(&self) -> Option<f64> {
        (self.count > 0).then(|| 1.0 - self.misses as f64 / self.count as f64)
    }
}

/// Adaptive conformal inference (Gibbs & Candès 2021) for time series, optionally Mondrian
/// (one level and score window per regime, pooled fallback). Validated on load (settings,
/// window, every state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct AdaptiveConformal {
    config: AciConfig,
    window: usize,
    pooled: AciState,
    regimes: BTreeMap<RegimeLabel, AciState>,
}

checked_serde!(AdaptiveConformal, AdaptiveConformal::check);

impl AdaptiveConformal {
    fn check(&mut self) -> Result<()> {
        self.config.validate()?;
        let window = if self.config.conformal.window == 0 {
            500
        } else {
            self.config.conformal.window
        };
        check_shape("window", &[window], &[self.window])?;
        for st in std::iter::once(&mut self.pooled).chain(self.regimes.values_mut()) {
            st.check()?;
            if st.scores.window != window {
                return Err(bad_scores("a window differs from the configured one"));
            }
        }
        Ok(())
    }

    /// An empty ACI predictor.
    pub fn new(config: AciConfig) -> Result<Self> {
        config.validate()?;
        let window = if config.conformal.window == 0 {
            500
        } else {
            config.conformal.window
        };
        Ok(Self {
            config,
            window,
            pooled: AciState::new(config.conformal.alpha, window),
            regimes: BTreeMap::new(),
        })
    }

    /// The pooled state.
    pub fn pooled(&self) -> &AciState {
        &self.pooled
    }

    /// A regime's state, if Mondrian and seen.
    pub fn regime(&self, label: &RegimeLabel) -> Option<&AciState> {
        self.regimes.get(label)
    }

    /// The state whose intervals apply, and whether it is the regime's own.
    fn pick(&self, regime: &RegimeLabel) -> (&AciState, bool) {
        if self.config.conformal.mondrian {
            if let Some(s) = self.regimes.get(regime) {
                if s.scores.len() >= self.config.conformal.min_samples {
                    return (s, true);
                }
            }
        }
        (&self.pooled, false)
    }

    /// The interval at the current working level.
    ///
    /// Errors: an invalid forecast; bounds outside the finite range.
    pub fn interval(&self, forecast: &Forecast, regime: &RegimeLabel) -> Result<Interval> {
        check_forecast(forecast)?;
        let (st, own) = self.pick(regime);
        let source = if own {
            IntervalSource::Regime(regime.clone())
        } else {
            IntervalSource::Pooled
        };
        match st.scores.quantile(st.alpha_t) {
            Some(q) => {
                let (lower, upper) = self.config.conformal.score.interval(forecast, q)?;
                Ok(Interval { lower, upper, source })
            }
            None => normal_interval(forecast, self.config.conformal.alpha),
        }
    }

    /// Learns one outcome: checks it against the interval the predictor would have given,
    /// moves the working level(s) by `γ (α − err)`, and adds the score. Returns whether the
    /// outcome was covered. O(log w + w) with no allocation once the windows are full.
    ///
    /// Errors: an invalid forecast, a non-finite outcome or score (nothing changes).
    pub fn update(&mut self, forecast: &Forecast, outcome: f64, regime: &RegimeLabel) -> Result<bool> {
        check_finite("outcome", &[outcome])?;
        check_forecast(forecast)?;
        let gamma = self.config.gamma;
        let alpha = self.config.conformal.alpha;
        let score_kind = self.config.conformal.score;
        let s = score_kind.score(forecast, outcome)?;
        let covered_by = |st: &AciState| -> bool {
            match st.scores.quantile(st.alpha_t) {
                Some(q) => s <= q,
                None => true,
            }
        };
        // Covered by the interval `interval()` would have given (score ≤ its quantile), checked
        // without building it, so that an update does not allocate.
        let covered = {
            let (st, _) = self.pick(regime);
            match st.scores.quantile(st.alpha_t) {
                Some(q) => s <= q,
                None => {
                    let z = crate::normal::ppf(1.0 - alpha / 2.0);
                    (outcome - forecast.mean).abs() <= z * forecast.sigma
                }
            }
        };
        // Pooled level follows its own intervals.
        let pc = covered_by(&self.pooled);
        let p = &mut self.pooled;
        p.alpha_t += gamma * (alpha - if pc { 0.0 } else { 1.0 });
        p.scores.push_finite(s);
        p.count = p.count.saturating_add(1);
        p.misses = p.misses.saturating_add(usize::from(!covered)).min(p.count);
        if self.config.conformal.mondrian {
            let window = self.window;
            let st = self
                .regimes
                .entry(regime.clone())
                .or_insert_with(|| AciState::new(alpha, window));
            let rc = match st.scores.quantile(st.alpha_t) {
                Some(q) => s <= q,
                None => true,
            };
            st.alpha_t += gamma * (alpha - if rc { 0.0 } else { 1.0 });
            st.scores.push_finite(s);
            st.count = st.count.saturating_add(1);
            st.misses = st.misses.saturating_add(usize::from(!covered)).min(st.count);
        }
        Ok(covered)
    }
}
