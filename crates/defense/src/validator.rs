//! Per-topic validators: hard checks, a causal Hampel filter and a MAD z-score check.

use std::fmt;

use prudentia_core::validate::{check_non_negative, check_positive, check_size, MAX_WINDOW};
use prudentia_core::{CoreError, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};
use crate::rolling::RollingMedianMad;
use crate::MAX_MAGNITUDE;

/// The consistency constant that turns a MAD into a standard-deviation estimate under
/// normality: `1 / Φ⁻¹(3/4) ≈ 1.4826`.
pub const MAD_SCALE: f64 = 1.482_602_218_505_602;

/// One observation of a topic (a price, an indicator, a feature).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// When the value was observed (source time, not arrival time).
    pub time: Timestamp,
    /// The value; `None` when the field was missing from the message.
    #[serde(with = "crate::serde_f64::option")]
    pub value: Option<f64>,
}

impl Observation {
    /// An observation with a value.
    pub fn new(time: Timestamp, value: f64) -> Self {
        Self {
            time,
            value: Some(value),
        }
    }
    /// An observation whose value field was missing.
    pub fn missing(time: Timestamp) -> Self {
        Self { time, value: None }
    }
}

/// Why an observation was repaired or quarantined. Each variant carries the numbers behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Reason {
    /// The value field was missing.
    Missing,
    /// The value was NaN or infinite.
    NonFinite {
        /// The value.
        #[serde(with = "crate::serde_f64::plain")]
        value: f64,
    },
    /// The value lies outside the configured range (or beyond [`MAX_MAGNITUDE`]).
    OutOfRange {
        /// The value.
        value: f64,
        /// Lower bound (inclusive).
        #[serde(with = "crate::serde_f64::plain")]
        min: f64,
        /// Upper bound (inclusive).
        #[serde(with = "crate::serde_f64::plain")]
        max: f64,
    },
    /// The observation is older than `max_age` at processing time.
    Stale {
        /// Age at processing time, in nanoseconds.
        age_ns: i64,
        /// The configured limit, in nanoseconds.
        max_age_ns: i64,
    },
    /// The timestamp lies more than the configured tolerance after the processing time
    /// ([`ValidatorConfig::max_future_ns`]): a clock error, which must not move the topic's
    /// time forward (later genuine observations would all be out of order).
    FutureTime {
        /// This observation's time.
        time: Timestamp,
        /// The processing time.
        now: Timestamp,
        /// The configured tolerance, in nanoseconds.
        tolerance_ns: i64,
    },
    /// The timestamp is earlier than the last accepted timestamp of the topic.
    OutOfOrder {
        /// This observation's time.
        time: Timestamp,
        /// The latest time already seen.
        last: Timestamp,
    },
    /// The timestamp equals the last accepted timestamp of the topic.
    DuplicateTimestamp {
        /// The repeated time.
        time: Timestamp,
    },
    /// The relative change from the previous admitted value exceeds the configured limit.
    Jump {
        /// Previous admitted value.
        from: f64,
        /// This value.
        to: f64,
        /// `|to / from − 1|`.
        #[serde(with = "crate::serde_f64::plain")]
        relative: f64,
        /// The configured limit.
        limit: f64,
    },
    /// The (transformed) value is far from the trailing-window median in robust units.
    Outlier {
        /// Robust z-score `(y − median) / (1.4826 · MAD)` (infinite when the MAD is 0).
        #[serde(with = "crate::serde_f64::plain")]
        z: f64,
        /// The threshold that was passed.
        threshold: f64,
        /// The trailing-window median (in transformed units).
        median: f64,
    },
    /// The item was re-admitted by an operator without re-checking ([`ReleaseMode::Override`](crate::ReleaseMode)).
    OperatorOverride,
    /// The value repeats the previous admitted value more often in a row than
    /// [`ValidatorConfig::max_unchanged`] allows (a frozen feed).
    Frozen {
        /// Consecutive observations equal to the reference, this one included.
        repeats: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl Reason {
    /// The kind of reason, for filtering and counting.
    pub fn kind(&self) -> ReasonKind {
        match self {
            Reason::Missing => ReasonKind::Missing,
            Reason::NonFinite { .. } => ReasonKind::NonFinite,
            Reason::OutOfRange { .. } => ReasonKind::OutOfRange,
            Reason::Stale { .. } => ReasonKind::Stale,
            Reason::FutureTime { .. } => ReasonKind::FutureTime,
            Reason::OutOfOrder { .. } => ReasonKind::OutOfOrder,
            Reason::DuplicateTimestamp { .. } => ReasonKind::DuplicateTimestamp,
            Reason::Jump { .. } => ReasonKind::Jump,
            Reason::Outlier { .. } => ReasonKind::Outlier,
            Reason::OperatorOverride => ReasonKind::OperatorOverride,
            Reason::Frozen { .. } => ReasonKind::Frozen,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Missing => write!(f, "missing value"),
            Reason::NonFinite { value } => write!(f, "non-finite value {value}"),
            Reason::OutOfRange { value, min, max } => {
                write!(f, "value {value} outside [{min}, {max}]")
            }
            Reason::Stale { age_ns, max_age_ns } => write!(
                f,
                "stale: {:.3} days old, limit {:.3} days",
                age_ns as f64 / Timestamp::NANOS_PER_DAY as f64,
                max_age_ns as f64 / Timestamp::NANOS_PER_DAY as f64
            ),
            Reason::FutureTime {
                time,
                now,
                tolerance_ns,
            } => write!(
                f,
                "future time: {time} is more than {:.3} hours after {now}",
                tolerance_ns as f64 / 3.6e12
            ),
            Reason::OutOfOrder { time, last } => {
                write!(f, "out of order: {time} is before {last}")
            }
            Reason::DuplicateTimestamp { time } => write!(f, "duplicate timestamp {time}"),
            Reason::Jump {
                from,
                to,
                relative,
                limit,
            } => write!(
                f,
                "jump from {from} to {to} ({:.1}% > {:.1}%)",
                relative * 100.0,
                limit * 100.0
            ),
            Reason::Outlier { z, threshold, median } => write!(
                f,
                "outlier: robust z = {z:.2} (|z| > {threshold}), window median {median:.6}"
            ),
            Reason::OperatorOverride => write!(f, "released by operator override"),
            Reason::Frozen { repeats, limit } => {
                write!(
                    f,
                    "frozen: the same value {repeats} times in a row (limit {limit})"
                )
            }
        }
    }
}

/// The kind of a [`Reason`], without its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReasonKind {
    /// [`Reason::Missing`].
    Missing,
    /// [`Reason::NonFinite`].
    NonFinite,
    /// [`Reason::OutOfRange`].
    OutOfRange,
    /// [`Reason::Stale`].
    Stale,
    /// [`Reason::FutureTime`].
    FutureTime,
    /// [`Reason::OutOfOrder`].
    OutOfOrder,
    /// [`Reason::DuplicateTimestamp`].
    DuplicateTimestamp,
    /// [`Reason::Jump`].
    Jump,
    /// [`Reason::Outlier`].
    Outlier,
    /// [`Reason::OperatorOverride`].
    OperatorOverride,
    /// [`Reason::Frozen`].
    Frozen,
}

/// What a validator made of one observation. A value, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum Verdict {
    /// Use the value as it is.
    Accept,
    /// Use `value` instead of the observed value.
    Repair {
        /// The replacement (in the observation's units).
        value: f64,
        /// Why the observed value was replaced.
        reason: Reason,
    },
    /// Keep the observation out of decisions (it goes to the quarantine, never dropped).
    Quarantine {
        /// Why.
        reason: Reason,
    },
}

impl Verdict {
    /// Whether the verdict lets a value through (accepted or repaired).
    pub fn is_admitted(&self) -> bool {
        !matches!(self, Verdict::Quarantine { .. })
    }
    /// The reason, if any.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Verdict::Accept => None,
            Verdict::Repair { reason, .. } | Verdict::Quarantine { reason } => Some(reason),
        }
    }
}

/// The series the Hampel filter and the z-score look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Transform {
    /// The value itself (indicators, spreads, returns fed directly).
    #[default]
    Level,
    /// `x_t − x_ref`, the change from the previous admitted value.
    Difference,
    /// `ln(x_t / x_ref)`, for strictly positive series such as prices. Non-positive values
    /// are quarantined as out of range.
    LogReturn,
}

/// What the Hampel filter does with an outlier below the quarantine threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HampelAction {
    /// Replace the value with the trailing-window median (Hampel's rule).
    #[default]
    Repair,
    /// Quarantine it.
    Quarantine,
}

/// Configuration of one topic's validator.
///
/// The Hampel filter is **causal**: observation `t` is compared with the median and MAD of
/// the `window` admitted (transformed) values *before* `t`, never with later values:
///
/// `z_t = (y_t − med(y_{t−w..t−1})) / (1.4826 · MAD(y_{t−w..t−1}))`.
///
/// `|z_t| > hampel_threshold` ⇒ `hampel_action` (repair with the median by default);
/// `|z_t| ≥ quarantine_threshold` (default 5.5) ⇒ quarantine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct ValidatorConfig {
    /// Trailing window length, in observations. Default 21; in `[3, MAX_WINDOW]`
    /// ([`prudentia_core::validate::MAX_WINDOW`]).
    pub window: usize,
    /// Admitted observations needed before the Hampel/z-score checks start. Default 10;
    /// in `[3, window]`.
    pub min_periods: usize,
    /// Hampel threshold `k` in robust standard deviations. Default 3.0; finite, > 0.
    pub hampel_threshold: f64,
    /// MAD z-score at or above which the observation is quarantined. Default 5.5 (so a
    /// spike of 6 robust standard deviations is always quarantined); finite,
    /// `>= hampel_threshold`.
    pub quarantine_threshold: f64,
    /// What to do between the two thresholds. Default [`HampelAction::Repair`].
    pub hampel_action: HampelAction,
    /// MAD scale constant. Default [`MAD_SCALE`] (1.4826); finite, > 0.
    pub mad_scale: f64,
    /// Floor on the robust scale `1.4826 · MAD` (in transformed units), so a flat window
    /// does not make every change infinitely surprising. Default 0 (no floor); finite, >= 0.
    pub min_scale: f64,
    /// Series the robust checks look at. Default [`Transform::Level`].
    pub transform: Transform,
    /// Allowed value range (inclusive), if any (bounds may be infinite). Default none.
    /// Values beyond [`MAX_MAGNITUDE`] are out of range whatever this says.
    #[serde(with = "crate::serde_f64::range")]
    pub range: Option<(f64, f64)>,
    /// Maximum age `now − time` in nanoseconds before an observation is stale. Default
    /// none (no staleness check); >= 0.
    pub max_age_ns: Option<i64>,
    /// Tolerance, in nanoseconds, for observations dated after the processing time `now`
    /// (clock skew). An observation with `time > now + tolerance` is quarantined as
    /// [`Reason::FutureTime`] and does not advance the topic's time, so no single
    /// future-dated value can lock a topic out. Checked only when `now` is given. Default one
    /// hour; `None` disables the check; >= 0.
    pub max_future_ns: Option<i64>,
    /// Maximum relative change `|x / x_ref − 1|` from the previous admitted value. Default
    /// none; finite, > 0.
    pub max_jump: Option<f64>,
    /// Confirm a quarantined outlier as a real move when the next observation is consistent
    /// with it: its deviation measured from the quarantined value (instead of the previous
    /// admitted value) is within `hampel_threshold`. The confirming observation is accepted
    /// and becomes the new reference, so a genuine jump costs one quarantined observation
    /// while an isolated spike (followed by a value consistent with the old reference) is
    /// still quarantined. Default true.
    pub confirm_moves: bool,
    /// After this many consecutive outlier or jump quarantines the series is deemed to have
    /// moved to a new level: the window is cleared and the reference reset (the observation
    /// itself stays quarantined). Default 5; at least 1.
    pub reanchor_after: usize,
    /// Quarantine a value as [`Reason::Frozen`] when it equals the previous admitted value
    /// and the series has repeated that value more than this many times in a row (a frozen
    /// or back-filled feed). Default none (no check); at least 1.
    pub max_unchanged: Option<usize>,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        Self {
            window: 21,
            min_periods: 10,
            hampel_threshold: 3.0,
            quarantine_threshold: 5.5,
            hampel_action: HampelAction::Repair,
            mad_scale: MAD_SCALE,
            min_scale: 0.0,
            transform: Transform::Level,
            range: None,
            max_age_ns: None,
            max_future_ns: Some(3_600 * 1_000_000_000),
            max_jump: None,
            confirm_moves: true,
            reanchor_after: 5,
            max_unchanged: None,
        }
    }
}

prudentia_core::checked_serde!(ValidatorConfig, ValidatorConfig::validate);

impl ValidatorConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> DefenseResult<()> {
        if self.window < 3 {
            return Err(DefenseError::TooSmall {
                field: "window",
                value: self.window,
                min: 3,
            });
        }
        check_size("window", self.window, MAX_WINDOW)?;
        if self.min_periods < 3 {
            return Err(DefenseError::TooSmall {
                field: "min_periods",
                value: self.min_periods,
                min: 3,
            });
        }
        if self.min_periods > self.window {
            return Err(DefenseError::Inverted {
                low_field: "min_periods",
                low: self.min_periods as f64,
                high_field: "window",
                high: self.window as f64,
            });
        }
        check_positive("hampel_threshold", self.hampel_threshold)?;
        check_positive("quarantine_threshold", self.quarantine_threshold)?;
        if self.quarantine_threshold < self.hampel_threshold {
            return Err(DefenseError::Inverted {
                low_field: "hampel_threshold",
                low: self.hampel_threshold,
                high_field: "quarantine_threshold",
                high: self.quarantine_threshold,
            });
        }
        check_positive("mad_scale", self.mad_scale)?;
        check_non_negative("min_scale", self.min_scale)?;
        if let Some((lo, hi)) = self.range {
            if lo.is_nan() || hi.is_nan() {
                return Err(CoreError::NonFinite {
                    field: "range",
                    index: usize::from(!lo.is_nan()),
                    value: f64::NAN,
                }
                .into());
            }
            if lo > hi {
                return Err(DefenseError::Inverted {
                    low_field: "range.0",
                    low: lo,
                    high_field: "range.1",
                    high: hi,
                });
            }
        }
        if let Some(a) = self.max_age_ns {
            if a < 0 {
                return Err(CoreError::OutOfRange {
                    field: "max_age_ns",
                    value: a as f64,
                    expected: ">= 0",
                }
                .into());
            }
        }
        if let Some(a) = self.max_future_ns {
            if a < 0 {
                return Err(CoreError::OutOfRange {
                    field: "max_future_ns",
                    value: a as f64,
                    expected: ">= 0",
                }
                .into());
            }
        }
        if let Some(j) = self.max_jump {
            check_positive("max_jump", j)?;
        }
        if self.reanchor_after == 0 {
            return Err(DefenseError::TooSmall {
                field: "reanchor_after",
                value: 0,
                min: 1,
            });
        }
        if self.max_unchanged == Some(0) {
            return Err(DefenseError::TooSmall {
                field: "max_unchanged",
                value: 0,
                min: 1,
            });
        }
        Ok(())
    }
}

/// The validator of one topic: hard checks, then the causal Hampel filter and MAD z-score.
///
/// Checks run in this order and the first failure is the reason: out-of-order and
/// duplicate timestamps, staleness, missing value, non-finite value, range, frozen value
/// ([`ValidatorConfig::max_unchanged`]), jump, robust z-score. State (window, last time, reference value) advances only with admitted
/// observations, except that the last time also advances past a quarantined observation
/// whose timestamp was in order and whose value was present and finite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Validator {
    config: ValidatorConfig,
    window: RollingMedianMad,
    last_time: Option<Timestamp>,
    reference: Option<f64>,
    /// The last value quarantined as an outlier or jump since the last admission.
    pending: Option<f64>,
    consecutive_outliers: usize,
    /// Consecutive in-order observations equal to the reference (for `max_unchanged`).
    #[serde(default)]
    unchanged: usize,
}

prudentia_core::checked_serde!(Validator, Validator::check_state);

impl Validator {
    /// Invariants of a loaded checkpoint: a valid configuration, a window of the configured
    /// length, finite reference and pending values (positive under
    /// [`Transform::LogReturn`]) within [`MAX_MAGNITUDE`], and an outlier streak below
    /// `reanchor_after`.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        let corrupt = |detail| Err(DefenseError::CorruptState { detail });
        if self.window.capacity() != self.config.window {
            return corrupt("validator window length differs from its configuration");
        }
        for v in [self.reference, self.pending].into_iter().flatten() {
            if !(v.is_finite() && v.abs() <= MAX_MAGNITUDE) {
                return corrupt("validator reference or pending value is not finite or too large");
            }
            if self.config.transform == Transform::LogReturn && v <= 0.0 {
                return corrupt("validator reference or pending value is not positive under log returns");
            }
        }
        if self.window.sorted().iter().any(|v| v.abs() > 2.0 * MAX_MAGNITUDE) {
            return corrupt("validator window holds a value beyond the magnitude limit");
        }
        if self.consecutive_outliers >= self.config.reanchor_after {
            return corrupt("validator outlier streak at or above reanchor_after");
        }
        Ok(())
    }

    /// A validator after checking the configuration.
    pub fn new(config: ValidatorConfig) -> DefenseResult<Self> {
        config.validate()?;
        let window = RollingMedianMad::new(config.window)?;
        Ok(Self {
            config,
            window,
            last_time: None,
            reference: None,
            pending: None,
            consecutive_outliers: 0,
            unchanged: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// The trailing window of admitted transformed values.
    pub fn window(&self) -> &RollingMedianMad {
        &self.window
    }

    /// The last timestamp seen in order, if any.
    pub fn last_time(&self) -> Option<Timestamp> {
        self.last_time
    }

    /// The previous admitted value (reference for jumps and transforms), if any.
    pub fn reference(&self) -> Option<f64> {
        self.reference
    }

    /// The last value quarantined as an outlier or jump since the last admission: a
    /// candidate new level that the next observation may confirm (see
    /// [`ValidatorConfig::confirm_moves`]).
    pub fn pending(&self) -> Option<f64> {
        self.pending
    }

    /// Robust z-score of a transformed value `y` against the current window, or `None`
    /// while fewer than `min_periods` values are held.
    ///
    /// The z-score is infinite when the robust scale is zero (or when the deviation is
    /// astronomically larger than the scale); it is never NaN for a finite `y`.
    pub fn robust_z(&self, y: f64) -> Option<(f64, f64)> {
        if self.window.len() < self.config.min_periods {
            return None;
        }
        let (med, mad) = self.window.median_mad()?;
        let scale = (self.config.mad_scale * mad).max(self.config.min_scale);
        let dev = y - med;
        let z = if scale > 0.0 && scale.is_finite() {
            dev / scale
        } else if scale > 0.0 {
            // A huge configured `mad_scale`: halve both sides so that neither overflows.
            (0.5 * y - 0.5 * med) / (self.config.mad_scale * (0.5 * mad)).max(0.5 * self.config.min_scale)
        } else if dev == 0.0 {
            0.0
        } else {
            dev.signum() * f64::INFINITY
        };
        Some((if z.is_nan() { 0.0 } else { z }, med))
    }

    /// Whether the robust check of `y` (net of the market move) surely passes, `|z| ≤
    /// hampel_threshold` and `|z| < quarantine_threshold`, judged against the scale of a lower
    /// bound of the MAD ([`RollingMedianMad::median_mad_lower_bound`], two reads of the
    /// window instead of the MAD's bisection). A smaller scale gives a larger `|z|` (every
    /// rounding is monotone), so a pass here is a pass of [`robust_z`](Self::robust_z) with
    /// the same verdict; anything else (and a scale that could overflow: `mad_scale` times
    /// the largest deviation a window holds, `4·MAX_MAGNITUDE`, not finite) takes the exact
    /// check.
    fn surely_within(&self, y: f64) -> bool {
        let c = &self.config;
        if self.window.len() < c.min_periods || !(c.mad_scale * (4.0 * MAX_MAGNITUDE)).is_finite() {
            return false;
        }
        let Some((med, low)) = self.window.median_mad_lower_bound() else {
            return false;
        };
        let scale = (c.mad_scale * low).max(c.min_scale);
        if !(scale > 0.0 && scale.is_finite()) {
            return false;
        }
        let az = ((y - med) / scale).abs();
        az <= c.hampel_threshold && az < c.quarantine_threshold
    }

    fn transform(&self, x: f64) -> Option<f64> {
        match self.config.transform {
            Transform::Level => Some(x),
            Transform::Difference => self.reference.map(|r| x - r),
            Transform::LogReturn => self.reference.map(|r| (x / r).ln()),
        }
    }

    fn untransform(&self, y: f64) -> f64 {
        match (self.config.transform, self.reference) {
            (Transform::Level, _) | (_, None) => y,
            (Transform::Difference, Some(r)) => r + y,
            (Transform::LogReturn, Some(r)) => r * y.exp(),
        }
    }

    /// Judges one observation and advances the state. `now` is the processing time used by
    /// the staleness check (`None` skips it).
    pub fn observe(&mut self, obs: &Observation, now: Option<Timestamp>) -> Verdict {
        self.observe_with_market(obs, now, 0.0)
    }

    /// Like [`observe`](Self::observe), with the same period's market move `market` (in
    /// transformed units, e.g. the cross-sectional median log return of the day) taken out
    /// before the robust z-score: the observation is judged on `y − market` against the
    /// window, so a move the whole market shares is not an outlier. The window still records
    /// the raw transformed value. A non-finite `market` is treated as 0. Under
    /// [`Transform::Level`] `market` is ignored.
    pub fn observe_with_market(&mut self, obs: &Observation, now: Option<Timestamp>, market: f64) -> Verdict {
        let market = if market.is_finite() && self.config.transform != Transform::Level {
            market
        } else {
            0.0
        };
        let (verdict, advance_time, confirmed, transformed) = self.judge(obs, now, market);
        if advance_time {
            self.last_time = Some(obs.time);
            if let Some(x) = obs.value {
                if self.reference == Some(x) {
                    self.unchanged = self.unchanged.saturating_add(1);
                } else if verdict.is_admitted() {
                    self.unchanged = 0;
                }
            }
        }
        match verdict {
            Verdict::Accept | Verdict::Repair { .. } => {
                // `judge` admits only present, finite values.
                let x = obs.value.unwrap_or(f64::NAN);
                match (confirmed, self.pending) {
                    (true, Some(p)) => self.move_to(p, x),
                    _ => {
                        // (the robust check's transformed value, when it ran)
                        if let Some(y) = transformed.or_else(|| self.transform(x)) {
                            self.window.push(y);
                        }
                    }
                }
                self.reference = Some(x);
                self.pending = None;
                self.consecutive_outliers = 0;
            }
            Verdict::Quarantine { reason } => {
                if matches!(reason, Reason::Outlier { .. } | Reason::Jump { .. }) {
                    self.pending = obs.value;
                    self.consecutive_outliers = self.consecutive_outliers.saturating_add(1);
                    if self.consecutive_outliers >= self.config.reanchor_after {
                        self.window.clear();
                        self.reference = obs.value;
                        self.pending = None;
                        self.consecutive_outliers = 0;
                        if let Some(y) = obs.value.and_then(|x| self.transform(x)) {
                            self.window.push(y);
                        }
                    }
                }
            }
        }
        verdict
    }

    /// The series moved from the admitted reference to the quarantined value `p`, confirmed
    /// by `x`: update the window to the new level.
    fn move_to(&mut self, p: f64, x: f64) {
        match self.config.transform {
            Transform::Level => {
                self.window.clear();
                self.window.push(p);
                self.window.push(x);
            }
            Transform::Difference => {
                self.window.push(x - p);
            }
            Transform::LogReturn => {
                self.window.push((x / p).ln());
            }
        }
    }

    /// Admits an observation without checks (operator override): the state advances as for
    /// an accepted value when the value is present, finite and in time order.
    pub fn admit(&mut self, obs: &Observation) -> Verdict {
        let in_order = self.last_time.is_none_or(|t| obs.time > t);
        if let (Some(x), true) = (obs.value, in_order) {
            // Only a value the checks could have admitted moves the state (so the state
            // stays finite, bounded and reloadable).
            let usable = x.is_finite()
                && x.abs() <= MAX_MAGNITUDE
                && (self.config.transform != Transform::LogReturn || x > 0.0);
            if usable {
                if let Some(y) = self.transform(x) {
                    if y.is_finite() {
                        self.window.push(y);
                    }
                }
                self.reference = Some(x);
                self.last_time = Some(obs.time);
                self.pending = None;
                self.consecutive_outliers = 0;
            }
        }
        Verdict::Accept
    }

    /// Whether `x` is consistent with the pending (quarantined) value: its robust z-score
    /// measured from the pending value is within the Hampel threshold.
    fn confirms_pending(&self, x: f64, median: f64, market: f64) -> bool {
        let Some(p) = self.pending.filter(|_| self.config.confirm_moves) else {
            return false;
        };
        let Some((_, mad)) = self.window.median_mad() else {
            return false;
        };
        let scale = (self.config.mad_scale * mad).max(self.config.min_scale);
        let dev = match self.config.transform {
            Transform::Level => x - p,
            Transform::Difference => (x - p) - market - median,
            Transform::LogReturn => (x / p).ln() - market - median,
        };
        dev.is_finite() && dev.abs() <= self.config.hampel_threshold * scale
    }

    /// The verdict, whether the topic's time advances, whether a pending move is confirmed,
    /// and the transformed value when the robust check computed it.
    fn judge(
        &self,
        obs: &Observation,
        now: Option<Timestamp>,
        market: f64,
    ) -> (Verdict, bool, bool, Option<f64>) {
        let q = |reason| Verdict::Quarantine { reason };
        if let Some(reason) = self.time_check(obs, now) {
            return (q(reason), false, false, None);
        }
        let Some(x) = obs.value else {
            return (q(Reason::Missing), false, false, None);
        };
        if !x.is_finite() {
            return (q(Reason::NonFinite { value: x }), false, false, None);
        }
        if let Some((v, advance, confirmed)) = self.value_check(x) {
            return (v, advance, confirmed, None);
        }
        let y = self.transform(x);
        let (v, advance, confirmed) =
            y.and_then(|y| self.outlier_check(x, y, market))
                .unwrap_or((Verdict::Accept, true, false));
        (v, advance, confirmed, y)
    }

    /// Timestamp checks: too far in the future, out of order, repeated, stale.
    fn time_check(&self, obs: &Observation, now: Option<Timestamp>) -> Option<Reason> {
        if let (Some(tolerance_ns), Some(now)) = (self.config.max_future_ns, now) {
            if obs.time.as_nanos() > now.as_nanos().saturating_add(tolerance_ns) {
                let reason = Reason::FutureTime {
                    time: obs.time,
                    now,
                    tolerance_ns,
                };
                return Some(reason);
            }
        }
        if let Some(last) = self.last_time {
            if obs.time < last {
                return Some(Reason::OutOfOrder { time: obs.time, last });
            }
            if obs.time == last {
                return Some(Reason::DuplicateTimestamp { time: obs.time });
            }
        }
        if let (Some(max_age_ns), Some(now)) = (self.config.max_age_ns, now) {
            let age_ns = now.as_nanos().saturating_sub(obs.time.as_nanos());
            if age_ns > max_age_ns {
                return Some(Reason::Stale { age_ns, max_age_ns });
            }
        }
        None
    }

    /// Checks of a finite value against the range, magnitude, domain, freeze and jump limits.
    fn value_check(&self, x: f64) -> Option<(Verdict, bool, bool)> {
        let q = |reason| Verdict::Quarantine { reason };
        if let Some((min, max)) = self.config.range {
            if x < min || x > max {
                return Some((q(Reason::OutOfRange { value: x, min, max }), true, false));
            }
        }
        if x.abs() > MAX_MAGNITUDE {
            return Some((
                q(Reason::OutOfRange {
                    value: x,
                    min: -MAX_MAGNITUDE,
                    max: MAX_MAGNITUDE,
                }),
                true,
                false,
            ));
        }
        if self.config.transform == Transform::LogReturn && x <= 0.0 {
            return Some((
                q(Reason::OutOfRange {
                    value: x,
                    min: f64::MIN_POSITIVE,
                    max: f64::INFINITY,
                }),
                true,
                false,
            ));
        }
        if let Some(limit) = self.config.max_unchanged {
            let repeats = self.unchanged.saturating_add(1);
            if self.reference == Some(x) && repeats > limit {
                return Some((q(Reason::Frozen { repeats, limit }), true, false));
            }
        }
        if let (Some(limit), Some(from)) = (self.config.max_jump, self.reference) {
            if from != 0.0 {
                let relative = (x / from - 1.0).abs();
                let confirmed = self
                    .pending
                    .filter(|p| self.config.confirm_moves && *p != 0.0)
                    .is_some_and(|p| (x / p - 1.0).abs() <= limit);
                if relative > limit && confirmed {
                    return Some((Verdict::Accept, true, true));
                }
                if relative > limit {
                    return Some((
                        q(Reason::Jump {
                            from,
                            to: x,
                            relative,
                            limit,
                        }),
                        true,
                        false,
                    ));
                }
            }
        }
        None
    }

    /// The Hampel (robust z) check on the transformed value, net of the market move.
    /// `y` is `x` transformed.
    fn outlier_check(&self, x: f64, y: f64, market: f64) -> Option<(Verdict, bool, bool)> {
        if self.surely_within(y - market) {
            return None;
        }
        let q = |reason| Verdict::Quarantine { reason };
        if let Some((z, median)) = self.robust_z(y - market) {
            let az = z.abs();
            if az > self.config.hampel_threshold && self.confirms_pending(x, median, market) {
                return Some((Verdict::Accept, true, true));
            }
            if az >= self.config.quarantine_threshold {
                let reason = Reason::Outlier {
                    z,
                    threshold: self.config.quarantine_threshold,
                    median,
                };
                return Some((q(reason), true, false));
            }
            if az > self.config.hampel_threshold {
                let reason = Reason::Outlier {
                    z,
                    threshold: self.config.hampel_threshold,
                    median,
                };
                let repaired = self.untransform(median + market);
                let v = match self.config.hampel_action {
                    // A repair must be a usable value: quarantine if the median maps
                    // back to something non-finite or too large.
                    HampelAction::Repair if repaired.is_finite() && repaired.abs() <= MAX_MAGNITUDE => {
                        Verdict::Repair {
                            value: repaired,
                            reason,
                        }
                    }
                    _ => q(reason),
                };
                return Some((v, true, false));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(d: i64) -> Timestamp {
        Timestamp::from_nanos(d * Timestamp::NANOS_PER_DAY)
    }

    #[test]
    fn hard_checks_in_order() {
        let cfg = ValidatorConfig {
            range: Some((0.0, 100.0)),
            max_age_ns: Some(2 * Timestamp::NANOS_PER_DAY),
            max_jump: Some(0.5),
            ..Default::default()
        };
        let mut v = Validator::new(cfg).unwrap();
        assert_eq!(
            v.observe(&Observation::new(t(1), 10.0), Some(t(1))),
            Verdict::Accept
        );
        let r = |v: Verdict| v.reason().map(Reason::kind);
        assert_eq!(
            r(v.observe(&Observation::new(t(1), 10.0), None)),
            Some(ReasonKind::DuplicateTimestamp)
        );
        assert_eq!(
            r(v.observe(&Observation::new(t(0), 10.0), None)),
            Some(ReasonKind::OutOfOrder)
        );
        assert_eq!(
            r(v.observe(&Observation::new(t(2), 10.0), Some(t(5)))),
            Some(ReasonKind::Stale)
        );
        assert_eq!(
            r(v.observe(&Observation::missing(t(3)), None)),
            Some(ReasonKind::Missing)
        );
        assert_eq!(
            r(v.observe(&Observation::new(t(3), f64::NAN), None)),
            Some(ReasonKind::NonFinite)
        );
        assert_eq!(
            r(v.observe(&Observation::new(t(3), 101.0), None)),
            Some(ReasonKind::OutOfRange)
        );
        assert_eq!(
            r(v.observe(&Observation::new(t(4), 16.0), None)),
            Some(ReasonKind::Jump)
        );
        assert_eq!(v.observe(&Observation::new(t(5), 11.0), None), Verdict::Accept);
    }

    #[test]
    fn hampel_repairs_and_quarantines_causally() {
        let mut v = Validator::new(ValidatorConfig::default()).unwrap();
        let base = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 0.98, 1.01, 0.99, 1.0];
        for (i, x) in base.iter().enumerate() {
            assert_eq!(
                v.observe(&Observation::new(t(i as i64), *x), None),
                Verdict::Accept
            );
        }
        // median 1.0, MAD 0.02 → scale ≈ 0.0297; 1.12 is z ≈ 4.05 → repaired with the median.
        let r = v.observe(&Observation::new(t(20), 1.12), None);
        assert!(
            matches!(r, Verdict::Repair { value, .. } if value == 1.0),
            "{r:?}"
        );
        // 2.0 is z ≈ 33 → quarantined.
        let r = v.observe(&Observation::new(t(21), 2.0), None);
        assert!(
            matches!(
                r,
                Verdict::Quarantine {
                    reason: Reason::Outlier { .. }
                }
            ),
            "{r:?}"
        );
    }

    #[test]
    fn transforms_repair_in_original_units() {
        // Log returns: 11 returns around 1 % (median 1 %, MAD 0.1 %), then a +1.5 % day:
        // z = 0.005 / (1.4826 · 0.001) ≈ 3.4 → repaired to reference · e^{median}.
        let cfg = ValidatorConfig {
            transform: Transform::LogReturn,
            ..Default::default()
        };
        let mut v = Validator::new(cfg).unwrap();
        let mut p = 100.0;
        let rets = [
            0.01, 0.013, 0.007, 0.01, 0.012, 0.008, 0.01, 0.011, 0.009, 0.01, 0.01,
        ];
        assert_eq!(v.observe(&Observation::new(t(0), p), None), Verdict::Accept);
        for (i, r) in rets.iter().enumerate() {
            p *= f64::exp(*r);
            assert_eq!(
                v.observe(&Observation::new(t(i as i64 + 1), p), None),
                Verdict::Accept
            );
        }
        let (med, _) = v.window().median_mad().unwrap();
        assert!((med - 0.01).abs() < 1e-12);
        match v.observe(&Observation::new(t(20), p * f64::exp(0.015)), None) {
            Verdict::Repair { value, .. } => assert!((value - p * f64::exp(med)).abs() < 1e-9),
            other => panic!("{other:?}"),
        }
        // Differences: the same series of steps on a level.
        let cfg = ValidatorConfig {
            transform: Transform::Difference,
            ..Default::default()
        };
        let mut v = Validator::new(cfg).unwrap();
        let mut x = 5.0;
        assert_eq!(v.observe(&Observation::new(t(0), x), None), Verdict::Accept);
        for (i, r) in rets.iter().enumerate() {
            x += r;
            assert_eq!(
                v.observe(&Observation::new(t(i as i64 + 1), x), None),
                Verdict::Accept
            );
        }
        match v.observe(&Observation::new(t(20), x + 0.015), None) {
            Verdict::Repair { value, .. } => assert!((value - (x + 0.01)).abs() < 1e-12),
            other => panic!("{other:?}"),
        }
        // Quarantine instead of repair when configured.
        let cfg = ValidatorConfig {
            hampel_action: HampelAction::Quarantine,
            ..Default::default()
        };
        let mut v = Validator::new(cfg).unwrap();
        for (i, r) in rets.iter().enumerate() {
            let _ = v.observe(&Observation::new(t(i as i64), *r), None);
        }
        assert!(matches!(
            v.observe(&Observation::new(t(20), 0.0145), None),
            Verdict::Quarantine {
                reason: Reason::Outlier { .. }
            }
        ));
    }

    /// Verdicts on 40 observations near 5 after 30 near 1 (a level shift).
    fn level_shift_verdicts(cfg: ValidatorConfig) -> Vec<Verdict> {
        let mut v = Validator::new(cfg).unwrap();
        let mut day = 0;
        let mut next = |x: f64, v: &mut Validator| {
            day += 1;
            v.observe(&Observation::new(t(day), x), None)
        };
        for i in 0..30 {
            let _ = next(1.0 + 0.01 * ((i * 7) % 5) as f64, &mut v);
        }
        (0..40)
            .map(|i| next(5.0 + 0.01 * ((i * 7) % 5) as f64, &mut v))
            .collect()
    }

    #[test]
    fn level_shift_reanchors() {
        let verdicts = level_shift_verdicts(ValidatorConfig::default());
        let q = verdicts.iter().filter(|v| !v.is_admitted()).count();
        assert_eq!(q, 1, "{verdicts:?}");
        assert!(verdicts[1..].iter().all(|v| *v == Verdict::Accept));
    }

    #[test]
    fn without_move_confirmation_a_level_shift_reanchors_after_five() {
        let cfg = ValidatorConfig {
            confirm_moves: false,
            ..Default::default()
        };
        let verdicts = level_shift_verdicts(cfg);
        let q = verdicts.iter().filter(|v| !v.is_admitted()).count();
        assert_eq!(q, 5, "{verdicts:?}");
        assert!(verdicts[20..].iter().all(|v| *v == Verdict::Accept));
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        let bad = |c: ValidatorConfig| Validator::new(c).unwrap_err();
        assert!(matches!(
            bad(ValidatorConfig {
                window: 0,
                ..Default::default()
            }),
            DefenseError::TooSmall { field: "window", .. }
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                hampel_threshold: f64::NAN,
                ..Default::default()
            }),
            DefenseError::Core(CoreError::OutOfRange {
                field: "hampel_threshold",
                ..
            })
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                quarantine_threshold: 2.0,
                ..Default::default()
            }),
            DefenseError::Inverted { .. }
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                range: Some((1.0, 0.0)),
                ..Default::default()
            }),
            DefenseError::Inverted { .. }
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                range: Some((f64::NAN, 0.0)),
                ..Default::default()
            }),
            DefenseError::Core(CoreError::NonFinite { .. })
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                max_jump: Some(f64::NAN),
                ..Default::default()
            }),
            DefenseError::Core(CoreError::OutOfRange {
                field: "max_jump",
                ..
            })
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                max_age_ns: Some(-1),
                ..Default::default()
            }),
            DefenseError::Core(CoreError::OutOfRange {
                field: "max_age_ns",
                ..
            })
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                min_periods: 30,
                ..Default::default()
            }),
            DefenseError::Inverted { .. }
        ));
        assert!(matches!(
            bad(ValidatorConfig {
                reanchor_after: 0,
                ..Default::default()
            }),
            DefenseError::TooSmall {
                field: "reanchor_after",
                ..
            }
        ));
    }
}

#[cfg(test)]
mod shortcut_tests {
    use super::*;
    use proptest::prelude::*;

    /// The shortcut takes the usual case (a value near the median of a noisy window) and
    /// leaves a clear outlier to the exact check.
    #[test]
    fn the_mad_shortcut_takes_the_usual_case() {
        let mut v = Validator::new(ValidatorConfig::default()).unwrap();
        for i in 0..21 {
            v.window.push(1.0 + 0.01 * f64::from(i % 7));
        }
        assert!(v.surely_within(1.02));
        assert!(!v.surely_within(5.0));
        let (z, _) = v.robust_z(5.0).unwrap();
        assert!(z > v.config.quarantine_threshold);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The robust check's shortcut (`surely_within`, from a lower bound of the MAD) only
        /// passes values the exact check (`robust_z`) passes: `|z| ≤ hampel_threshold` and
        /// `|z| < quarantine_threshold`. So verdicts are those of the exact check, bit for bit,
        /// whatever the configuration (huge `mad_scale`, `min_scale` 0, equal thresholds) and
        /// the window (ties, extreme and tiny values).
        #[test]
        fn the_mad_shortcut_passes_only_what_the_exact_check_passes(
            window in 3usize..70,
            mad_scale in prop_oneof![Just(MAD_SCALE), 1e-300..10.0f64, Just(1e200), Just(1e250)],
            min_scale in prop_oneof![Just(0.0), Just(0.01), 0.0..1.0f64],
            hampel in prop_oneof![Just(3.0), Just(12.0), 1e-6..20.0f64],
            equal_thresholds in any::<bool>(),
            xs in prop::collection::vec(prop_oneof![
                (-5i32..5).prop_map(f64::from),
                -1e3..1e3f64,
                -1e-300..1e-300f64,
                -2e100..2e100f64,
            ], 1..150),
            ys in prop::collection::vec(prop_oneof![
                (-5i32..5).prop_map(f64::from),
                -1e3..1e3f64,
                -1e-300..1e-300f64,
                -4e100..4e100f64,
            ], 1..20),
        ) {
            let config = ValidatorConfig {
                window,
                min_periods: 3,
                mad_scale,
                min_scale,
                hampel_threshold: hampel,
                quarantine_threshold: if equal_thresholds { hampel } else { 2.0 * hampel },
                ..Default::default()
            };
            let mut v = Validator::new(config).unwrap();
            for (i, x) in xs.iter().enumerate() {
                v.window.push(*x);
                for y in &ys {
                    let y = y + if i % 2 == 0 { 0.0 } else { *x };
                    if v.surely_within(y) {
                        let (z, _) = v.robust_z(y).unwrap();
                        prop_assert!(
                            z.abs() <= v.config.hampel_threshold && z.abs() < v.config.quarantine_threshold,
                            "shortcut passed y = {} with z = {}", y, z
                        );
                    }
                }
            }
        }
    }
}
