//! Order statistics by selection: VaR, CVaR and the tail ratio's percentiles in O(n) (plus a
//! sort of the CVaR tail only), on integer keys that order like [`f64::total_cmp`].
//!
//! Returns are finite, so [`f64::total_cmp`]'s order is the numeric order except that
//! `−0 < +0`; the key `bits ^ ((bits >> 63) as u64 >> 1)` (as an `i64`) has exactly that
//! order and maps back without loss, and integer comparisons make the selection about twice
//! as fast as comparing floats with `total_cmp`.

use crate::types::TailLevel;

/// The order-preserving integer key of `x` ([`f64::total_cmp`]'s order).
#[inline]
fn key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The inverse of [`key`].
#[inline]
fn value(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The keys of `x`, a scratch buffer for the selections below.
pub(crate) fn keys(x: &[f64]) -> Vec<i64> {
    x.iter().map(|v| key(*v)).collect()
}

/// The smallest and the largest value behind `keys` (non-empty; NaN, NaN if empty).
pub(crate) fn min_max(keys: &[i64]) -> (f64, f64) {
    let (lo, hi) = keys
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), k| (lo.min(*k), hi.max(*k)));
    if keys.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (value(lo), value(hi))
    }
}

/// numpy's linear-interpolation percentile position: `(⌊h⌋, h − ⌊h⌋)`, `h = q(n − 1)`.
fn position(n: usize, q: f64) -> (usize, f64) {
    let h = q * (n - 1) as f64;
    let lo = (h.floor() as usize).min(n - 1);
    (lo, h - lo as f64)
}

/// numpy's `_lerp`, with its symmetric form for `t ≥ 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Order statistics `lo` and `lo + 1` (0-based; `lo + 1` clamped to the last) of `keys`
/// (non-empty, `lo < len`), by one selection, and how many of the smallest values the
/// selection left first in `keys` (permuted).
fn pair(keys: &mut [i64], lo: usize) -> (f64, f64, usize) {
    let n = keys.len();
    if lo + 1 >= n {
        let (_, a, _) = keys.select_nth_unstable(lo);
        return (value(*a), value(*a), lo + 1);
    }
    if 2 * lo < n {
        // Select `lo + 1`; the `lo`-th is the largest of the (short) prefix.
        let (prefix, b, _) = keys.select_nth_unstable(lo + 1);
        let a = prefix.iter().copied().max().unwrap_or(*b);
        (value(a), value(*b), lo + 2)
    } else {
        // Select `lo`; the next is the smallest of the (short) suffix.
        let (_, a, suffix) = keys.select_nth_unstable(lo);
        let b = suffix.iter().copied().min().unwrap_or(*a);
        (value(*a), value(b), lo + 1)
    }
}

/// numpy's linear percentile at `q` of the values behind `keys` (permuted).
pub(crate) fn percentile(keys: &mut [i64], q: f64) -> f64 {
    if let [one] = keys {
        return value(*one);
    }
    let (lo, t) = position(keys.len(), q);
    let (a, b, _) = pair(keys, lo);
    lerp(a, b, t)
}

/// The 5th and 95th percentiles (the tail ratio's), two selections, the second over the
/// part of `keys` above the first's prefix.
pub(crate) fn p05_p95(keys: &mut [i64]) -> (f64, f64) {
    if let [one] = keys {
        return (value(*one), value(*one));
    }
    let n = keys.len();
    let (lo05, t05) = position(n, 0.05);
    let (lo95, t95) = position(n, 0.95);
    let (a, b, skip) = pair(keys, lo05);
    let p05 = lerp(a, b, t05);
    // The first selection put the `skip` smallest first: order statistic `k` of the rest
    // is order statistic `k + skip` of the whole.
    let (a, b, _) = if lo95 >= skip {
        pair(&mut keys[skip..], lo95 - skip)
    } else {
        pair(keys, lo95)
    };
    (p05, lerp(a, b, t95))
}

/// Where [`prudentia_core::tail::worst_mean`] puts VaR and the tail for the mean of the
/// `m = ⌊(n − 1)α⌋ + 1` smallest returns, in the returns' ascending order: CVaR is
/// `v_j + Σ_{i ≤ j} (v_i − v_j) / …`, summed from `i = j` down to 0.
struct CvarPlan {
    /// Index of the VaR order statistic used as the reference point.
    j: usize,
    /// `α' = 1 − m/n`, the level at which core's routine is called.
    alpha: f64,
}

fn cvar_plan(n: usize, tail: TailLevel) -> CvarPlan {
    let k = ((n - 1) as f64 * tail.get()).floor() as usize;
    let m = k + 1;
    let alpha = 1.0 - m as f64 / n as f64;
    // core: k' = clamp(⌈α' n − 1e-9⌉, 1, n) − 1 over the ascending losses −v.
    let kl = ((alpha * n as f64 - 1e-9).ceil() as usize).clamp(1, n) - 1;
    CvarPlan { j: n - 1 - kl, alpha }
}

/// CVaR from the ascending values `sorted[0..=j]`, with core's arithmetic on the losses
/// (`l = −v`, `l − var = v_j − v` exactly), summed in core's order.
fn cvar_from(sorted: &[i64], plan: &CvarPlan, n: usize) -> f64 {
    let var_r = value(sorted[plan.j]);
    let tail: f64 = sorted[..=plan.j]
        .iter()
        .rev()
        .map(|k| (var_r - value(*k)).max(0.0))
        .sum();
    let var_l = -var_r;
    -(var_l + tail * (1.0 / ((1.0 - plan.alpha) * n as f64)))
}

/// Historical CVaR: the mean of the `⌊(n − 1)α⌋ + 1` smallest values, bit for bit as
/// [`prudentia_core::tail::worst_mean`] on the losses `−v` computes it (which sorts all of
/// them): one selection, then a sort of the tail only.
pub(crate) fn cvar(keys: &mut [i64], tail: TailLevel) -> f64 {
    let n = keys.len();
    let plan = cvar_plan(n, tail);
    keys.select_nth_unstable(plan.j);
    keys[..plan.j].sort_unstable();
    cvar_from(keys, &plan, n)
}

/// Every order statistic of the report, from one scratch buffer: the 5th and 95th
/// percentiles, VaR at `tail`, and CVaR at `tail`.
pub(crate) struct TailStats {
    pub p05: f64,
    pub p95: f64,
    pub var: f64,
    pub cvar: f64,
}

/// [`TailStats`] of the values behind `keys` (non-empty; permuted): one selection of the
/// lower tail, a sort of it (for CVaR's summation order), and one selection in the rest for
/// the 95th percentile.
pub(crate) fn tail_stats(keys: &mut [i64], tail: TailLevel) -> TailStats {
    if let [one] = keys {
        let v = value(*one);
        return TailStats {
            p05: v,
            p95: v,
            var: v,
            cvar: cvar(keys, tail),
        };
    }
    let n = keys.len();
    let (lo05, t05) = position(n, 0.05);
    let (lo95, t95) = position(n, 0.95);
    let (lo_a, t_a) = position(n, tail.get());
    let plan = cvar_plan(n, tail);
    // Order statistics 0..=top are sorted in place after this.
    let top = (lo05 + 1).max(lo_a + 1).max(plan.j).min(n - 1);
    keys.select_nth_unstable(top);
    keys[..top].sort_unstable();
    let at = |keys: &[i64], i: usize| value(keys[i.min(n - 1)]);
    let p05 = lerp(at(keys, lo05), at(keys, lo05 + 1), t05);
    let var = lerp(at(keys, lo_a), at(keys, lo_a + 1), t_a);
    let cvar = cvar_from(keys, &plan, n);
    let (a, b) = if lo95 > top {
        let (a, b, _) = pair(&mut keys[top + 1..], lo95 - top - 1);
        (a, b)
    } else if lo95 < top {
        (at(keys, lo95), at(keys, lo95 + 1))
    } else {
        let b = keys[top + 1..].iter().copied().min().unwrap_or(keys[top]);
        (value(keys[top]), value(b))
    };
    TailStats {
        p05,
        p95: lerp(a, b, t95),
        var,
        cvar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{percentile_sorted, sorted_copy};

    fn series(n: usize, seed: u64) -> Vec<f64> {
        // A small LCG; ties and signed zeros mixed in.
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                match i % 17 {
                    0 => 0.0,
                    5 => -0.0,
                    9 => 0.01,
                    _ => (u - 0.5) * 0.1,
                }
            })
            .collect()
    }

    #[test]
    fn keys_round_trip_in_total_order() {
        let xs = [
            -1.0,
            -0.5,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            0.3,
            1.0,
            f64::MAX,
            -f64::MAX,
        ];
        for &x in &xs {
            assert_eq!(value(key(x)).to_bits(), x.to_bits());
            for &y in &xs {
                assert_eq!(key(x).cmp(&key(y)), x.total_cmp(&y), "{x} {y}");
            }
        }
    }

    /// The selections agree exactly with sorting (percentiles) and with core's sorting CVaR.
    #[test]
    fn selection_equals_sorting() {
        for n in [1, 2, 3, 4, 5, 19, 20, 21, 40, 101, 1000, 7500] {
            for seed in 0..3 {
                let v = series(n, seed);
                let s = sorted_copy(&v);
                for tail in [TailLevel::P05, TailLevel::P01, TailLevel::new(0.5).unwrap()] {
                    let losses: Vec<f64> = v.iter().map(|x| -x).collect();
                    let k = ((n - 1) as f64 * tail.get()).floor() as usize;
                    let old = -prudentia_core::tail::worst_mean(&losses, k + 1).unwrap();
                    assert_eq!(
                        cvar(&mut keys(&v), tail).to_bits(),
                        old.to_bits(),
                        "n {n} {tail:?}"
                    );
                    let all = tail_stats(&mut keys(&v), tail);
                    assert_eq!(all.cvar.to_bits(), old.to_bits());
                    assert_eq!(all.var, percentile_sorted(&s, tail.get()), "n {n}");
                    assert_eq!(all.p05, percentile_sorted(&s, 0.05));
                    assert_eq!(all.p95, percentile_sorted(&s, 0.95));
                    assert_eq!(percentile(&mut keys(&v), tail.get()), all.var);
                }
                let (p05, p95) = p05_p95(&mut keys(&v));
                assert_eq!(
                    (p05, p95),
                    (percentile_sorted(&s, 0.05), percentile_sorted(&s, 0.95))
                );
            }
        }
    }
}
