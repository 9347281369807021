//! A trailing window that maintains its median and median absolute deviation (MAD).

use prudentia_core::validate::{check_size, MAX_WINDOW};
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};

/// The last `capacity` values of a stream, kept both in arrival order (a ring buffer) and
/// sorted, so that the median and the MAD are available without allocation.
///
/// - push: O(w) worst case (two binary searches + one `memmove` of the values between the
///   evicted and the new value's positions; at the window sizes used in practice, 21 or 63,
///   this is faster than a two-heap structure);
/// - median: O(1); MAD: O(log w) by selecting the middle of the two sorted runs of
///   deviations that start at the median (left run `med − x_(i)`, right run `x_(j) − med`),
///   never sorting or merging.
///
/// `MAD = median_i |x_i − median(x)|`; for an even count both medians average the two
/// middle values (the convention of `numpy.median`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RollingRepr", into = "RollingRepr")]
pub struct RollingMedianMad {
    capacity: usize,
    /// Arrival order; `ring[head]` is the oldest once full.
    ring: Vec<f64>,
    head: usize,
    sorted: Vec<f64>,
}

/// Equal when they hold the same values in the same arrival order (the ring's rotation is
/// an implementation detail).
impl PartialEq for RollingMedianMad {
    fn eq(&self, other: &Self) -> bool {
        self.capacity == other.capacity && self.iter_oldest_first().eq(other.iter_oldest_first())
    }
}

#[derive(Serialize, Deserialize)]
struct RollingRepr {
    capacity: usize,
    /// Oldest first.
    values: Vec<f64>,
}

impl From<RollingMedianMad> for RollingRepr {
    fn from(r: RollingMedianMad) -> Self {
        RollingRepr {
            capacity: r.capacity,
            values: r.iter_oldest_first().collect(),
        }
    }
}

impl TryFrom<RollingRepr> for RollingMedianMad {
    type Error = DefenseError;
    fn try_from(r: RollingRepr) -> DefenseResult<Self> {
        check_size("window", r.capacity, MAX_WINDOW)?;
        if r.values.len() > r.capacity {
            return Err(DefenseError::CorruptState {
                detail: "rolling window holds more values than its capacity",
            });
        }
        if r.values.iter().any(|v| !v.is_finite()) {
            return Err(DefenseError::CorruptState {
                detail: "rolling window holds a non-finite value",
            });
        }
        let mut w = RollingMedianMad::new(r.capacity)?;
        for v in r.values {
            w.push(v);
        }
        Ok(w)
    }
}

impl RollingMedianMad {
    /// An empty window holding at most `capacity` values (`1 <= capacity <= MAX_WINDOW`,
    /// [`prudentia_core::validate::MAX_WINDOW`]). Memory grows with the values held, not
    /// with the capacity.
    pub fn new(capacity: usize) -> DefenseResult<Self> {
        if capacity == 0 {
            return Err(DefenseError::TooSmall {
                field: "window",
                value: 0,
                min: 1,
            });
        }
        check_size("window", capacity, MAX_WINDOW)?;
        let initial = capacity.min(256);
        Ok(Self {
            capacity,
            ring: Vec::with_capacity(initial),
            head: 0,
            sorted: Vec::with_capacity(initial),
        })
    }

    /// Maximum number of values held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Whether the window holds `capacity` values.
    pub fn is_full(&self) -> bool {
        self.sorted.len() == self.capacity
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.ring.clear();
        self.sorted.clear();
        self.head = 0;
    }

    /// The values in ascending order.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// The values, oldest first.
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = f64> + '_ {
        let (a, b) = self.ring.split_at(self.head.min(self.ring.len()));
        b.iter().chain(a.iter()).copied()
    }

    /// Appends a finite value, evicting the oldest when full. Returns the evicted value.
    ///
    /// Non-finite values are ignored (returns `None` and leaves the window unchanged): the
    /// validators never push them, and a NaN would break the ordering.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.ring.len() < self.capacity {
            self.ring.push(x);
            let pos = self.sorted.partition_point(|v| *v < x);
            self.sorted.insert(pos, x);
            return None;
        }
        let old = std::mem::replace(&mut self.ring[self.head], x);
        self.head += 1;
        if self.head == self.capacity {
            self.head = 0;
        }
        // Remove `old` from the sorted array (it is present: every pushed value is) and
        // insert `x`, moving only the values between the two positions (one `memmove`):
        // the same array as removing at `at_old` and then inserting at the partition point
        // of `x` in what remains.
        let at_old = self.sorted.partition_point(|v| *v < old);
        let at_new = self.sorted.partition_point(|v| *v < x);
        if at_new <= at_old {
            self.sorted.copy_within(at_new..at_old, at_new + 1);
            self.sorted[at_new] = x;
        } else {
            self.sorted.copy_within(at_old + 1..at_new, at_old);
            self.sorted[at_new - 1] = x;
        }
        Some(old)
    }

    /// The median, or `None` when empty.
    pub fn median(&self) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let s = &self.sorted;
        Some(if n % 2 == 1 {
            s[n / 2]
        } else {
            // Halves first: the sum of two large values must not overflow.
            0.5 * s[n / 2 - 1] + 0.5 * s[n / 2]
        })
    }

    /// `(median, MAD)`, or `None` when empty. The MAD is unscaled (multiply by 1.4826 for a
    /// consistent estimate of the standard deviation under normality). The MAD is infinite
    /// only when the deviations themselves exceed `f64::MAX` (values spanning more than
    /// the whole `f64` range).
    pub fn median_mad(&self) -> Option<(f64, f64)> {
        let n = self.sorted.len();
        let med = self.median()?;
        let s = &self.sorted;
        // The absolute deviations form two non-decreasing runs that start at the median:
        // left `med − x_(l), med − x_(l−1), …` and right `x_(r) − med, x_(r+1) − med, …`
        // (rounding is monotone, so each run stays sorted). The MAD is the k-th smallest
        // (0-based) of their merge, and for an even count the mean of the k-th and the
        // (k+1)-th: found by bisecting how many of the first k + 1 come from the left run,
        // O(log n) instead of merging k + 1 values. The merge takes the left value on ties,
        // and so does the bisection, so even the sign of a zero deviation is the merge's.
        let (top, right) = if n % 2 == 1 {
            (n / 2, n / 2 + 1)
        } else {
            (n / 2 - 1, n / 2)
        };
        let (k, two) = if n % 2 == 1 {
            (n / 2, false)
        } else {
            (n / 2 - 1, true)
        };
        let (n_left, n_right) = (top + 1, n - right);
        let left = |i: usize| med - s[top - i];
        let at_right = |j: usize| s[right + j] - med;
        let take = k + 1;
        // The number `i` of left values among the first `take` of the merge: the smallest
        // `i` whose left value the merge would take after the right run's last taken one.
        let (mut lo, mut hi) = (take.saturating_sub(n_right), take.min(n_left));
        while lo < hi {
            let i = lo + (hi - lo) / 2;
            if left(i) <= at_right(take - i - 1) {
                lo = i + 1;
            } else {
                hi = i;
            }
        }
        let (i, j) = (lo, take - lo);
        // The last value taken: the larger, and on a tie the right one (taken after).
        let d = match (i, j) {
            (0, _) => at_right(j - 1),
            (_, 0) => left(i - 1),
            _ if left(i - 1) > at_right(j - 1) => left(i - 1),
            _ => at_right(j - 1),
        };
        let mad = if two {
            let dl = if i < n_left { left(i) } else { f64::INFINITY };
            let dr = if j < n_right { at_right(j) } else { f64::INFINITY };
            0.5 * d + 0.5 * if dl <= dr { dl } else { dr }
        } else {
            d
        };
        Some((med, mad))
    }

    /// `(median, l)` with `l ≤ MAD` of [`median_mad`](Self::median_mad), bit for bit, from
    /// two reads instead of the MAD's bisection; `None` when empty.
    ///
    /// The MAD is the `(k+1)`-th smallest of the merge of the two runs of deviations (see
    /// `median_mad`): `d = max(left(i−1), right(j−1))` for the split `i + j = k + 1`, so
    /// one of `i`, `j` is at least `h = ⌈(k+1)/2⌉` and, both runs being non-decreasing (the
    /// rounding of `med − x` and `x − med` is monotone), `d ≥ min(left(h−1), right(h−1))`
    /// (a run shorter than `h` cannot hold the larger share and is left out of the
    /// minimum). For an even count the MAD is `0.5·d + 0.5·d'` with `d' ≥ d`, and `l` is
    /// `0.5·b + 0.5·b` for that bound `b`: every operation is monotone, so `l ≤ MAD` holds
    /// for the rounded values too. A validator whose value passes its robust check even
    /// against this smaller scale passes it against the MAD's (the z-score only grows as
    /// the scale shrinks), so most observations need no MAD at all.
    pub fn median_mad_lower_bound(&self) -> Option<(f64, f64)> {
        let n = self.sorted.len();
        let med = self.median()?;
        let s = &self.sorted;
        let (top, right, take, two) = if n % 2 == 1 {
            (n / 2, n / 2 + 1, n / 2 + 1, false)
        } else {
            (n / 2 - 1, n / 2, n / 2, true)
        };
        let (n_left, n_right) = (top + 1, n - right);
        let h = take.div_ceil(2);
        let left = if h <= n_left {
            s.get(top + 1 - h).map_or(f64::INFINITY, |x| med - x)
        } else {
            f64::INFINITY
        };
        let at_right = if h <= n_right {
            s.get(right + h - 1).map_or(f64::INFINITY, |x| x - med)
        } else {
            f64::INFINITY
        };
        let b = if left <= at_right { left } else { at_right };
        Some((med, if two { 0.5 * b + 0.5 * b } else { b }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn brute(v: &[f64]) -> (f64, f64) {
        fn med(v: &mut [f64]) -> f64 {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                0.5 * (v[n / 2 - 1] + v[n / 2])
            }
        }
        let mut a = v.to_vec();
        let m = med(&mut a);
        let mut d: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
        (m, med(&mut d))
    }

    #[test]
    fn matches_brute_force_with_ties_and_eviction() {
        let mut w = RollingMedianMad::new(6).unwrap();
        let xs = [
            3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 5.0, 5.0, -1.0, 8.0,
        ];
        let mut hist = Vec::new();
        for &x in &xs {
            w.push(x);
            hist.push(x);
            let tail = &hist[hist.len().saturating_sub(6)..];
            assert_eq!(w.median_mad().unwrap(), brute(tail), "after {tail:?}");
        }
        assert_eq!(w.iter_oldest_first().collect::<Vec<_>>(), &hist[hist.len() - 6..]);
    }

    #[test]
    fn zero_capacity_is_an_error_and_nan_is_ignored() {
        assert!(matches!(
            RollingMedianMad::new(0),
            Err(DefenseError::TooSmall { field: "window", .. })
        ));
        let mut w = RollingMedianMad::new(3).unwrap();
        assert_eq!(w.median_mad(), None);
        w.push(f64::NAN);
        assert!(w.is_empty());
    }

    #[test]
    fn serde_round_trip_and_corrupt_state() {
        let mut w = RollingMedianMad::new(4).unwrap();
        for x in [1.0, 7.0, 3.0, 2.0, 9.0] {
            w.push(x);
        }
        let s = serde_json::to_string(&w).unwrap();
        let back: RollingMedianMad = serde_json::from_str(&s).unwrap();
        assert_eq!(back.median_mad(), w.median_mad());
        assert_eq!(
            back.iter_oldest_first().collect::<Vec<_>>(),
            w.iter_oldest_first().collect::<Vec<_>>()
        );
        assert!(serde_json::from_str::<RollingMedianMad>(r#"{"capacity":1,"values":[1.0,2.0]}"#).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// The former push (remove the evicted value, then insert) and MAD (merge the two runs
    /// of deviations outward from the median), kept as the bit-for-bit reference of the
    /// faster ones.
    fn reference(window: &[f64], sorted: &mut Vec<f64>, cap: usize, x: f64) -> (f64, f64) {
        if window.len() > cap {
            let old = window[window.len() - cap - 1];
            let pos = sorted.partition_point(|v| *v < old);
            sorted.remove(pos);
        }
        let pos = sorted.partition_point(|v| *v < x);
        sorted.insert(pos, x);
        let s = &sorted[..];
        let n = s.len();
        let med = if n % 2 == 1 {
            s[n / 2]
        } else {
            0.5 * s[n / 2 - 1] + 0.5 * s[n / 2]
        };
        let (mut l, mut r): (isize, usize) = if n % 2 == 1 {
            (n as isize / 2, n / 2 + 1)
        } else {
            (n as isize / 2 - 1, n / 2)
        };
        let (k, two) = if n % 2 == 1 {
            (n / 2, false)
        } else {
            (n / 2 - 1, true)
        };
        let mut next = || -> f64 {
            let dl = if l >= 0 {
                med - s[l as usize]
            } else {
                f64::INFINITY
            };
            let dr = if r < n { s[r] - med } else { f64::INFINITY };
            if dl <= dr {
                l -= 1;
                dl
            } else {
                r += 1;
                dr
            }
        };
        let mut d = 0.0;
        for _ in 0..=k {
            d = next();
        }
        (med, if two { 0.5 * d + 0.5 * next() } else { d })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The window's sorted array, median and MAD equal the former merge-based ones bit
        /// for bit after every push (ties, signed zeros and values spanning the whole range
        /// included).
        #[test]
        fn push_and_mad_match_the_merge_reference_bit_for_bit(
            cap in 1usize..70,
            xs in prop::collection::vec(prop_oneof![
                (-3i32..3).prop_map(f64::from),
                Just(-0.0),
                Just(0.0),
                Just(f64::MAX),
                Just(-f64::MAX),
                -1e3..1e3f64,
                any::<f64>().prop_filter("finite", |v| v.is_finite()),
            ], 1..300),
        ) {
            let mut w = RollingMedianMad::new(cap).unwrap();
            let mut sorted = Vec::new();
            for (i, x) in xs.iter().enumerate() {
                w.push(*x);
                let (med, mad) = reference(&xs[..=i], &mut sorted, cap, *x);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(w.sorted()), bits(&sorted));
                let (m, d) = w.median_mad().unwrap();
                prop_assert_eq!((m.to_bits(), d.to_bits()), (med.to_bits(), mad.to_bits()));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The MAD's lower bound (the validators' shortcut) never exceeds the MAD, and its
        /// median is the median, over every kind of finite value (huge, subnormal, zero).
        #[test]
        fn mad_lower_bound_is_below_the_mad_bit_for_bit(
            cap in 1usize..70,
            xs in prop::collection::vec(prop_oneof![
                (-5i32..5).prop_map(f64::from),
                -1e3..1e3f64,
                -1e-300..1e-300f64,
                prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
            ], 1..200),
        ) {
            let mut w = RollingMedianMad::new(cap).unwrap();
            for x in &xs {
                w.push(*x);
                let (med, mad) = w.median_mad().unwrap();
                let (m, low) = w.median_mad_lower_bound().unwrap();
                prop_assert_eq!(m.to_bits(), med.to_bits());
                prop_assert!(low <= mad || (low.is_nan() && mad.is_nan()), "bound {} above the MAD {}", low, mad);
            }
        }

        /// Median and MAD equal the brute-force definition after every push.
        #[test]
        fn median_mad_matches_definition(
            cap in 1usize..30,
            xs in prop::collection::vec(prop_oneof![(-5i32..5).prop_map(f64::from), -1e3..1e3f64], 1..200),
        ) {
            let mut w = RollingMedianMad::new(cap).unwrap();
            for (i, x) in xs.iter().enumerate() {
                w.push(*x);
                let tail = &xs[(i + 1).saturating_sub(cap)..=i];
                prop_assert_eq!(w.median_mad().unwrap(), tests::brute(tail));
            }
        }
    }
}
