//! A trailing window that maintains its median and median absolute deviation (MAD).

use prudentia_core::validate::{check_size, MAX_WINDOW};
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};

/// The last `capacity` values of a stream, kept both in arrival order (a ring buffer) and
/// sorted, so that the median and the MAD are available without allocation.
///
/// - push: O(w) worst case (binary search + `memmove` of at most `w` floats; at the window
///   sizes used in practice, 21 or 63, this is faster than a two-heap structure);
/// - median: O(1); MAD: O(w/2) by merging the two sorted runs of deviations that start
///   at the median (left run `med − x_(i)`, right run `x_(j) − med`), never sorting.
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
        let evicted = if self.ring.len() < self.capacity {
            self.ring.push(x);
            None
        } else {
            let old = std::mem::replace(&mut self.ring[self.head], x);
            self.head += 1;
            if self.head == self.capacity {
                self.head = 0;
            }
            // Remove `old` from the sorted array (it is present: every pushed value is).
            let pos = self.sorted.partition_point(|v| *v < old);
            self.sorted.remove(pos);
            Some(old)
        };
        let pos = self.sorted.partition_point(|v| *v < x);
        self.sorted.insert(pos, x);
        evicted
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
        // Two runs of deviations in non-decreasing order: left goes down from `l`, right up from `r`.
        let (mut l, mut r): (isize, usize) = if n % 2 == 1 {
            (n as isize / 2, n / 2 + 1)
        } else {
            (n as isize / 2 - 1, n / 2)
        };
        // Index (0-based) of the smallest deviation we need, and whether we need the next one too.
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
        let mad = if two { 0.5 * d + 0.5 * next() } else { d };
        Some((med, mad))
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

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
