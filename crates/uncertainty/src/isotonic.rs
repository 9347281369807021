//! Isotonic regression by pool-adjacent-violators (Barlow et al. 1972; used for calibration
//! by Zadrozny & Elkan 2002).
//!
//! Fit: sort by x (ties broken by y), merge tied x into one point whose y is the
//! weight-averaged y and whose weight is the summed weight (scikit-learn's `_make_unique`),
//! then solve
//!
//! ```text
//! min_f  Σ_i w_i (y_i − f_i)²   subject to  f_1 ≤ f_2 ≤ … ≤ f_m   (or ≥ when decreasing)
//! ```
//!
//! by pooling adjacent blocks that violate the order into their weighted mean, and finally
//! clip to `[y_min, y_max]`. Prediction interpolates linearly between the fitted points, as
//! scikit-learn's `IsotonicRegression.predict` does; outside the fitted x range it clips
//! (`out_of_bounds="clip"`) or returns a typed error (`"raise"`). scikit-learn's default
//! `"nan"` is not offered: prudentia never returns a silent NaN.

use prudentia_core::validate::{check_finite, check_len, check_shape, check_size, MAX_WINDOW};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};

/// What [`IsotonicModel::predict`] does outside the fitted x range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OutOfBounds {
    /// Clamp x to the fitted range (scikit-learn `out_of_bounds="clip"`).
    #[default]
    Clip,
    /// Return [`UncertaintyError::OutOfBounds`] (scikit-learn `"raise"`).
    Error,
}

/// Settings of an isotonic regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IsotonicConfig {
    /// Fit a non-decreasing (`true`, default) or non-increasing function.
    pub increasing: bool,
    /// Lower clip of the fitted values (default none).
    pub y_min: Option<f64>,
    /// Upper clip of the fitted values (default none).
    pub y_max: Option<f64>,
    /// Behaviour outside the fitted x range (default [`OutOfBounds::Clip`]).
    pub out_of_bounds: OutOfBounds,
}

impl Default for IsotonicConfig {
    fn default() -> Self {
        Self {
            increasing: true,
            y_min: None,
            y_max: None,
            out_of_bounds: OutOfBounds::Clip,
        }
    }
}

impl IsotonicConfig {
    /// Checks the settings: bounds finite and `y_min <= y_max`.
    pub fn validate(&self) -> Result<()> {
        if let Some(lo) = self.y_min {
            check_finite("y_min", &[lo])?;
        }
        if let Some(hi) = self.y_max {
            check_finite("y_max", &[hi])?;
            if let Some(lo) = self.y_min {
                if hi < lo {
                    return Err(CoreError::OutOfRange {
                        field: "y_max",
                        value: hi,
                        expected: ">= y_min",
                    }
                    .into());
                }
            }
        }
        Ok(())
    }
}

/// A validated isotonic regression, ready to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsotonicRegression {
    config: IsotonicConfig,
}

/// A fitted isotonic regression: the knots of a monotone piecewise-linear function.
///
/// Fields are private; a model comes from a fit or [`IsotonicModel::new`] and is validated
/// on load (at least one knot, at most `MAX_WINDOW`, finite, x strictly increasing, y
/// monotone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct IsotonicModel {
    x: Vec<f64>,
    y: Vec<f64>,
    out_of_bounds: OutOfBounds,
}

checked_serde!(IsotonicModel, IsotonicModel::check);

/// Weighted pool-adjacent-violators on already ordered points, in place: `y` becomes the
/// non-decreasing least-squares fit. O(n).
///
/// Errors: `w` not as long as `y`; non-finite values or negative weights (then `y` is
/// unchanged).
pub fn pav_in_place(y: &mut [f64], w: &[f64]) -> Result<()> {
    check_shape("weights", &[y.len()], &[w.len()])?;
    check_finite("y", y)?;
    check_finite("weights", w)?;
    if let Some(i) = w.iter().position(|&v| v < 0.0) {
        return Err(CoreError::OutOfRange {
            field: "weights",
            value: w[i],
            expected: ">= 0",
        }
        .into());
    }
    // Weights rescaled by their largest when their sum overflows (the fit is scale-free).
    let total: f64 = w.iter().sum();
    let wmax = w.iter().fold(0.0f64, |a, &b| a.max(b));
    let wscale = if total.is_finite() { 1.0 } else { wmax };
    pav_core(y, w, wscale);
    Ok(())
}

fn pav_core(y: &mut [f64], w: &[f64], wscale: f64) {
    if !pav_busing(y, w, wscale) {
        pav_stack(y, w, wscale);
    }
}

/// Busing's O(n) PAVA (Busing 2022, J. Stat. Softw. 102(1), Algorithm 1) with the `>=`
/// comparisons of SciPy's `optimize.isotonic_regression` (which scikit-learn ≥ 1.12 calls):
/// adjacent blocks with equal means are pooled, and the block means are formed in SciPy's
/// order, so the fitted values (and hence the trimmed knots) are bit-identical to
/// scikit-learn's. Returns `false`, leaving `y` unchanged, when a running sum overflows
/// (then the caller uses the overflow-safe [`pav_stack`]).
fn pav_busing(y: &mut [f64], w: &[f64], wscale: f64) -> bool {
    let n = y.len();
    if n == 0 {
        return true;
    }
    let mut x = y.to_vec();
    let mut wt: Vec<f64> = w.iter().map(|&v| v / wscale).collect();
    // r[k]..r[k+1] is block k.
    let mut r = vec![0usize; n + 1];
    r[1] = 1;
    let mut b = 0usize;
    let mut xb_prev = x[0];
    let mut wb_prev = wt[0];
    let mut i = 1usize;
    while i < n {
        b += 1;
        let mut xb = x[i];
        let mut wb = wt[i];
        if xb_prev >= xb {
            b -= 1;
            let mut sb = wb_prev * xb_prev + wb * xb;
            wb += wb_prev;
            xb = sb / wb;
            while i < n - 1 && xb >= x[i + 1] {
                i += 1;
                sb += wt[i] * x[i];
                wb += wt[i];
                xb = sb / wb;
            }
            while b > 0 && x[b - 1] >= xb {
                b -= 1;
                sb += wt[b] * x[b];
                wb += wt[b];
                xb = sb / wb;
            }
            if !(sb.is_finite() && xb.is_finite()) {
                // Overflow, or a block of zero total weight (0/0).
                return false;
            }
        }
        x[b] = xb;
        xb_prev = xb;
        wt[b] = wb;
        wb_prev = wb;
        r[b + 1] = i + 1;
        i += 1;
    }
    for k in (0..=b).rev() {
        let v = x[k];
        for t in &mut y[r[k]..r[k + 1]] {
            *t = v;
        }
    }
    true
}

/// Stack-based PAVA with overflow-free pooling; the fallback of [`pav_busing`] for
/// values whose weighted sums overflow. Pools equal means too.
fn pav_stack(y: &mut [f64], w: &[f64], wscale: f64) {
    let n = y.len();
    if n == 0 {
        return;
    }
    // Blocks as a stack: (mean, weight, length).
    let mut means: Vec<f64> = Vec::with_capacity(n);
    let mut weights: Vec<f64> = Vec::with_capacity(n);
    let mut lens: Vec<usize> = Vec::with_capacity(n);
    for i in 0..n {
        let mut m = y[i];
        let mut wt = w[i] / wscale;
        let mut len = 1usize;
        while let Some(&last) = means.last() {
            if last >= m {
                let lw = weights.pop().unwrap_or(0.0);
                means.pop();
                let ll = lens.pop().unwrap_or(0);
                let tw = lw + wt;
                let pooled = if tw > 0.0 {
                    (last * lw + m * wt) / tw
                } else {
                    0.5 * (last + m)
                };
                // Overflow-free form when the products overflow; a pooled mean lies
                // between the two block means.
                m = if pooled.is_finite() {
                    pooled
                } else if tw > 0.0 {
                    (last * (lw / tw) + m * (wt / tw)).clamp(m, last)
                } else {
                    (0.5 * last + 0.5 * m).clamp(m, last)
                };
                wt = tw;
                len += ll;
            } else {
                break;
            }
        }
        means.push(m);
        weights.push(wt);
        lens.push(len);
    }
    let mut k = 0;
    for (b, &len) in lens.iter().enumerate() {
        for v in &mut y[k..k + len] {
            *v = means[b];
        }
        k += len;
    }
}

impl IsotonicRegression {
    /// A regression with validated settings.
    pub fn new(config: IsotonicConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &IsotonicConfig {
        &self.config
    }

    /// Fits `y` on `x` with optional non-negative sample weights.
    ///
    /// Errors: empty input, more than `MAX_WINDOW` points, length mismatch, non-finite
    /// values, negative weights.
    pub fn fit(&self, x: &[f64], y: &[f64], weights: Option<&[f64]>) -> Result<IsotonicModel> {
        check_len("x", x.len(), 1)?;
        check_size("x", x.len(), MAX_WINDOW)?;
        check_shape("y", &[x.len()], &[y.len()])?;
        check_finite("x", x)?;
        check_finite("y", y)?;
        if let Some(w) = weights {
            check_shape("weights", &[x.len()], &[w.len()])?;
            check_finite("weights", w)?;
            if let Some(i) = w.iter().position(|&v| v < 0.0) {
                return Err(CoreError::OutOfRange {
                    field: "weights",
                    value: w[i],
                    expected: ">= 0",
                }
                .into());
            }
        }
        let n = x.len();
        // Weights rescaled by their largest when their sum overflows (the fit is scale-free).
        let wscale = match weights {
            Some(w) if !w.iter().sum::<f64>().is_finite() => w.iter().fold(0.0f64, |a, &b| a.max(b)),
            _ => 1.0,
        };
        let weight = |i: usize| weights.map_or(1.0, |w| w[i] / wscale);
        let mut order: Vec<usize> = (0..n).collect();
        // Stable, as NumPy's `lexsort((y, x))`: tied (x, y) keep their input order, so the
        // weighted sums of a tie group add up in scikit-learn's order.
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
        // Merge tied x (scikit-learn `_make_unique`, which starts a new group when
        // x - current >= float64 resolution 1e-15).
        let eps = 1e-15;
        let mut ux: Vec<f64> = Vec::with_capacity(n);
        let mut uy: Vec<f64> = Vec::with_capacity(n);
        let mut uw: Vec<f64> = Vec::with_capacity(n);
        let mut cur_x = f64::NAN;
        let mut sum_wy = 0.0;
        let mut sum_w = 0.0;
        let mut count = 0usize;
        let mut sum_y = 0.0;
        let mut start = 0usize;
        for (k, &i) in order.iter().enumerate() {
            let wi = weight(i);
            if count > 0 && x[i] - cur_x >= eps {
                ux.push(cur_x);
                uy.push(group_mean(sum_wy, sum_w, sum_y, &order[start..k], y, &weight));
                uw.push(sum_w);
                start = k;
                sum_wy = 0.0;
                sum_w = 0.0;
                sum_y = 0.0;
                count = 0;
            }
            if count == 0 {
                cur_x = x[i];
            }
            sum_wy += wi * y[i];
            sum_w += wi;
            sum_y += y[i];
            count += 1;
        }
        ux.push(cur_x);
        uy.push(group_mean(sum_wy, sum_w, sum_y, &order[start..], y, &weight));
        uw.push(sum_w);

        if self.config.increasing {
            pav_core(&mut uy, &uw, 1.0);
        } else {
            // SciPy's convention: a decreasing fit is the increasing fit of the reversed
            // sequence (not of the negated one, which pools in another order).
            uy.reverse();
            uw.reverse();
            pav_core(&mut uy, &uw, 1.0);
            uy.reverse();
        }
        let lo = self.config.y_min.unwrap_or(f64::NEG_INFINITY);
        let hi = self.config.y_max.unwrap_or(f64::INFINITY);
        for v in &mut uy {
            *v = v.clamp(lo, hi);
        }
        // Keep only knots where the fitted function bends (scikit-learn trim_duplicates).
        let m = ux.len();
        let mut kx = Vec::with_capacity(m);
        let mut ky = Vec::with_capacity(m);
        for i in 0..m {
            let keep = i == 0 || i == m - 1 || uy[i] != uy[i - 1] || uy[i] != uy[i + 1];
            if keep {
                kx.push(ux[i]);
                ky.push(uy[i]);
            }
        }
        Ok(IsotonicModel {
            x: kx,
            y: ky,
            out_of_bounds: self.config.out_of_bounds,
        })
    }
}

/// The (weighted) mean of one group of tied x: the running sums when finite, else an
/// overflow-free running mean of halved values.
fn group_mean(
    sum_wy: f64,
    sum_w: f64,
    sum_y: f64,
    members: &[usize],
    y: &[f64],
    weight: &dyn Fn(usize) -> f64,
) -> f64 {
    let count = members.len().max(1);
    let direct = if sum_w > 0.0 {
        sum_wy / sum_w
    } else {
        sum_y / count as f64
    };
    if direct.is_finite() {
        return direct;
    }
    let (lo, hi) = members
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &i| {
            (a.min(y[i]), b.max(y[i]))
        });
    let use_w = sum_w > 0.0;
    let (mut half, mut acc) = (0.0f64, 0.0f64);
    for &i in members {
        let wi = if use_w { weight(i) } else { 1.0 };
        if wi <= 0.0 {
            continue;
        }
        acc += wi;
        half += (wi / acc) * (0.5 * y[i] - half);
    }
    (2.0 * half).clamp(lo, hi)
}

/// Linear interpolation at `x ∈ [x0, x1]` without overflow.
fn lerp(x0: f64, x1: f64, y0: f64, y1: f64, x: f64) -> f64 {
    let direct = y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    if direct.is_finite() {
        return direct;
    }
    let t = ((0.5 * x - 0.5 * x0) / (0.5 * x1 - 0.5 * x0)).clamp(0.0, 1.0);
    let v = if t.is_finite() {
        y0 * (1.0 - t) + y1 * t
    } else {
        y0
    };
    v.clamp(y0.min(y1), y0.max(y1))
}

impl IsotonicModel {
    /// A validated model from its knots.
    ///
    /// Errors: no knots, more than `MAX_WINDOW`, lengths differ, non-finite values, x not
    /// strictly increasing, y not monotone.
    pub fn new(x: Vec<f64>, y: Vec<f64>, out_of_bounds: OutOfBounds) -> Result<Self> {
        let mut m = Self { x, y, out_of_bounds };
        m.check()?;
        Ok(m)
    }

    fn check(&mut self) -> Result<()> {
        check_len("knots", self.x.len(), 1)?;
        check_size("knots", self.x.len(), MAX_WINDOW)?;
        check_shape("knot values", &[self.x.len()], &[self.y.len()])?;
        check_finite("knots", &self.x)?;
        check_finite("knot values", &self.y)?;
        if let Some(i) = self.x.windows(2).position(|w| w[1] <= w[0]) {
            return Err(CoreError::NotIncreasing {
                field: "knots",
                index: i + 1,
            }
            .into());
        }
        let up = self.y.windows(2).all(|w| w[0] <= w[1]);
        let down = self.y.windows(2).all(|w| w[0] >= w[1]);
        if !(up || down) {
            return Err(CoreError::OutOfRange {
                field: "knot values",
                value: f64::NAN,
                expected: "monotone",
            }
            .into());
        }
        Ok(())
    }

    /// Knot x values, strictly increasing (scikit-learn `X_thresholds_`).
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Fitted values at the knots (scikit-learn `y_thresholds_`).
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Behaviour outside `[x[0], x[last]]`.
    pub fn out_of_bounds(&self) -> OutOfBounds {
        self.out_of_bounds
    }

    /// The fitted function at `x`, linearly interpolated between knots.
    ///
    /// Errors: non-finite `x`; `x` outside the fitted range with [`OutOfBounds::Error`].
    pub fn predict(&self, x: f64) -> Result<f64> {
        check_finite("x", &[x])?;
        let n = self.x.len();
        let (lo, hi) = (self.x[0], self.x[n - 1]);
        if x < lo || x > hi {
            return match self.out_of_bounds {
                OutOfBounds::Clip => Ok(if x < lo { self.y[0] } else { self.y[n - 1] }),
                OutOfBounds::Error => Err(UncertaintyError::OutOfBounds {
                    value: x,
                    min: lo,
                    max: hi,
                }),
            };
        }
        Ok(self.interp(x))
    }

    /// Interpolates at an in-range, finite x.
    fn interp(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 1 {
            return self.y[0];
        }
        // First knot index with knot >= x.
        let j = self.x.partition_point(|&k| k < x);
        if j == 0 {
            return self.y[0];
        }
        if j >= n {
            return self.y[n - 1];
        }
        let (x0, x1) = (self.x[j - 1], self.x[j]);
        let (y0, y1) = (self.y[j - 1], self.y[j]);
        if x1 == x0 {
            return y1;
        }
        lerp(x0, x1, y0, y1, x)
    }

    /// [`IsotonicModel::predict`] for many inputs.
    pub fn predict_many(&self, x: &[f64]) -> Result<Vec<f64>> {
        x.iter().map(|&v| self.predict(v)).collect()
    }

    /// The generalized inverse of a non-decreasing fit: the smallest knot-interpolated x whose
    /// value reaches `target` (clamped to the fitted range). Used to map calibrated levels
    /// back to raw levels.
    ///
    /// Errors: non-finite `target`; a strictly decreasing fit (no such inverse).
    pub fn inverse(&self, target: f64) -> Result<f64> {
        check_finite("target", &[target])?;
        let n = self.x.len();
        if n == 1 || target <= self.y[0] {
            return Ok(self.x[0]);
        }
        if self.y[n - 1] < self.y[0] {
            return Err(CoreError::OutOfRange {
                field: "isotonic direction",
                value: self.y[n - 1] - self.y[0],
                expected: "a non-decreasing fit",
            }
            .into());
        }
        if target >= self.y[n - 1] {
            // Smallest x reaching the maximum.
            let j = self.y.partition_point(|&v| v < self.y[n - 1]);
            return Ok(self.x[j.min(n - 1)]);
        }
        let j = self.y.partition_point(|&v| v < target).clamp(1, n - 1);
        let (x0, x1) = (self.x[j - 1], self.x[j]);
        let (y0, y1) = (self.y[j - 1], self.y[j]);
        if y1 == y0 {
            return Ok(x1);
        }
        Ok(lerp(y0, y1, x0, x1, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pav_pools_violators() {
        // Brute force: the L2 monotone fit of [1, 3, 2, 4] pools (3, 2) into 2.5.
        let mut y = vec![1.0, 3.0, 2.0, 4.0];
        pav_in_place(&mut y, &[1.0; 4]).unwrap();
        assert_eq!(y, vec![1.0, 2.5, 2.5, 4.0]);
    }

    #[test]
    fn ties_are_averaged_first() {
        let iso = IsotonicRegression::new(IsotonicConfig::default()).unwrap();
        let m = iso.fit(&[1.0, 1.0, 2.0], &[0.0, 2.0, 0.5], None).unwrap();
        // Tie at x=1 → y=1 (w=2); then (1, w2), (0.5, w1) pool → (2+0.5)/3.
        assert!((m.predict(1.5).unwrap() - 2.5 / 3.0).abs() < 1e-15);
    }
}
