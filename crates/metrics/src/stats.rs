//! Scalar return statistics, with empyrical's conventions.
//!
//! Notation: `r_1..r_n` simple returns, `k` periods per year ([`Annualization`]), `rf` the
//! per-period risk-free rate, `W_n = Π(1 + r_t)` the final wealth per unit invested,
//! `s` the sample standard deviation (`n − 1` in the denominator, as empyrical's `ddof=1`).
//!
//! Where empyrical returns NaN or ±∞ these functions return [`Stat::Undefined`] with the
//! reason; otherwise the values agree with empyrical-reloaded 0.7.1 (see
//! `tests/empyrical_fixtures.rs`).

use crate::returns::Returns;
use crate::types::{Annualization, PerPeriodRate, Stat, Undefined};

/// Mean, sample standard deviation and the (population) third and fourth standardized
/// moments of a series, computed in two passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of observations.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (`n − 1`); 0 when all values are equal or `n < 2`.
    pub std: f64,
    /// Population skewness `m3 / m2^1.5` (scipy's `skew(bias=True)`); NaN if `m2 = 0`.
    pub skewness: f64,
    /// Population kurtosis, not excess, `m4 / m2²` (scipy's `kurtosis(fisher=False,
    /// bias=True)`); NaN if `m2 = 0`.
    pub kurtosis: f64,
    /// Whether all values are equal (empyrical's zero-dispersion rule: max = min).
    pub constant: bool,
}

impl Moments {
    /// Moments of `x` shifted by `-shift` (e.g. excess returns over a risk-free rate).
    ///
    /// Two passes without allocation; the sums run over eight interleaved partial sums, and
    /// the mean and standard deviation are bit for bit those that [`annual_volatility`] and
    /// [`sharpe_ratio`] use, so a statistic computed from either agrees exactly.
    pub fn of(x: &[f64], shift: f64) -> Moments {
        let n = x.len();
        let MeanStd {
            mean, std, constant, ..
        } = mean_std(x, shift);
        if n == 0 {
            return Moments {
                n,
                mean,
                std,
                skewness: f64::NAN,
                kurtosis: f64::NAN,
                constant,
            };
        }
        let nf = n as f64;
        let [m2, m3, m4] = lane_sums(x, |v| {
            let d = v - shift - mean;
            let d2 = d * d;
            [d2, d2 * d, d2 * d2]
        });
        let (p2, p3, p4) = (m2 / nf, m3 / nf, m4 / nf);
        let (skewness, kurtosis) = if constant || p2 == 0.0 {
            (f64::NAN, f64::NAN)
        } else {
            (p3 / p2.powf(1.5), p4 / (p2 * p2))
        };
        Moments {
            n,
            mean,
            std,
            skewness,
            kurtosis,
            constant,
        }
    }
}

impl Moments {
    /// The mean and standard deviation part.
    pub(crate) fn mean_std(&self) -> MeanStd {
        MeanStd {
            n: self.n,
            mean: self.mean,
            std: self.std,
            constant: self.constant,
        }
    }
}

/// Partial sums kept apart: eight independent add chains (one per lane), so that the sums
/// are bound by the adder's throughput rather than its latency and vectorize.
const LANES: usize = 8;

/// `Σ f(x_i)` for each of the `K` components of `f`, accumulated in [`LANES`] interleaved
/// partial sums (element `i` of every full chunk of eight goes to lane `i`; the remainder
/// is summed in order) and reduced pairwise. The result differs from a left-to-right sum by
/// rounding only, and its error bound is about eight times smaller.
#[inline(always)]
pub(crate) fn lane_sums<const K: usize>(x: &[f64], f: impl Fn(f64) -> [f64; K]) -> [f64; K] {
    let mut acc = [[0.0_f64; LANES]; K];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (l, v) in c.iter().enumerate().take(LANES) {
            let y = f(*v);
            for (a, y) in acc.iter_mut().zip(y) {
                a[l] += y;
            }
        }
    }
    reduce(acc, chunks.remainder().iter().map(|v| f(*v)))
}

/// [`lane_sums`] over pairs `(x_i, y_i)` of two slices of the same length (the shorter
/// length otherwise).
#[inline(always)]
pub(crate) fn lane_sums2<const K: usize>(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> [f64; K]) -> [f64; K] {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [[0.0_f64; LANES]; K];
    let (mut cx, mut cy) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    for (a, b) in (&mut cx).zip(&mut cy) {
        for (l, (u, v)) in a.iter().zip(b).enumerate().take(LANES) {
            let z = f(*u, *v);
            for (acc, z) in acc.iter_mut().zip(z) {
                acc[l] += z;
            }
        }
    }
    let rest = cx.remainder().iter().zip(cy.remainder()).map(|(u, v)| f(*u, *v));
    reduce(acc, rest)
}

#[inline(always)]
fn reduce<const K: usize>(acc: [[f64; LANES]; K], rest: impl Iterator<Item = [f64; K]>) -> [f64; K] {
    let mut tail = [0.0_f64; K];
    for y in rest {
        for (t, y) in tail.iter_mut().zip(y) {
            *t += y;
        }
    }
    let mut out = [0.0_f64; K];
    for ((o, a), t) in out.iter_mut().zip(acc).zip(tail) {
        *o = (((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))) + t;
    }
    out
}

/// Mean and sample standard deviation of `x − shift`, two passes, no allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeanStd {
    pub n: usize,
    pub mean: f64,
    /// `n − 1` in the denominator; 0 when `n < 2` or all values are equal.
    pub std: f64,
    /// All `x_i − shift` equal (empyrical's zero-dispersion rule).
    pub constant: bool,
}

pub(crate) fn mean_std(x: &[f64], shift: f64) -> MeanStd {
    let n = x.len();
    let Some(&first) = x.first() else {
        return MeanStd {
            n,
            mean: f64::NAN,
            std: 0.0,
            constant: true,
        };
    };
    let nf = n as f64;
    let [sum] = lane_sums(x, |v| [v - shift]);
    let mean = sum / nf;
    let first = first - shift;
    let constant = x.iter().all(|v| v - shift == first);
    let std = if n < 2 || constant {
        0.0
    } else {
        let [m2] = lane_sums(x, |v| {
            let d = v - shift - mean;
            [d * d]
        });
        (m2 / (nf - 1.0)).sqrt()
    };
    MeanStd {
        n,
        mean,
        std,
        constant,
    }
}

/// Total compounded return `W_n − 1` (empyrical `cum_returns_final`).
pub fn cumulative_return(returns: &Returns) -> Stat {
    Stat::from_value(final_wealth(returns.values()) - 1.0)
}

pub(crate) fn final_wealth(r: &[f64]) -> f64 {
    r.iter().fold(1.0, |w, x| w * (1.0 + x))
}

/// Compound annual growth rate `W_n^(k/n) − 1` (empyrical `annual_return` / `cagr`).
/// A total loss (`W_n = 0`) gives −1.
pub fn annual_return(returns: &Returns, annualization: Annualization) -> Stat {
    cagr_from_wealth(final_wealth(returns.values()), returns.len(), annualization)
}

pub(crate) fn cagr_from_wealth(wealth: f64, n: usize, annualization: Annualization) -> Stat {
    let years = n as f64 / annualization.periods_per_year();
    Stat::from_value(wealth.powf(1.0 / years) - 1.0)
}

/// Annualized volatility `s · √k` (empyrical `annual_volatility`, `ddof = 1`). Needs two
/// observations; constant returns give 0.
pub fn annual_volatility(returns: &Returns, annualization: Annualization) -> Stat {
    volatility_from(returns.len(), mean_std(returns.values(), 0.0).std, annualization)
}

pub(crate) fn volatility_from(n: usize, std: f64, annualization: Annualization) -> Stat {
    if n < 2 {
        return Stat::Undefined(Undefined::TooFewObservations { n, min: 2 });
    }
    Stat::from_value(std * annualization.periods_per_year().sqrt())
}

/// Annualized Sharpe ratio `mean(r − rf) / s(r − rf) · √k` (empyrical `sharpe_ratio`).
///
/// Undefined with fewer than two returns, or when the excess returns are all equal (e.g.
/// all zero), where empyrical returns NaN or ±∞.
pub fn sharpe_ratio(returns: &Returns, risk_free: PerPeriodRate, annualization: Annualization) -> Stat {
    sharpe_from(&mean_std(returns.values(), risk_free.get()), annualization)
}

pub(crate) fn sharpe_from(m: &MeanStd, annualization: Annualization) -> Stat {
    if m.n < 2 {
        return Stat::Undefined(Undefined::TooFewObservations { n: m.n, min: 2 });
    }
    if m.constant {
        return Stat::Undefined(Undefined::ZeroDispersion);
    }
    Stat::ratio(m.mean, m.std, Undefined::ZeroDispersion).map(|v| v * annualization.periods_per_year().sqrt())
}

/// Annualized downside deviation below a required return:
/// `√(mean(min(r − req, 0)²)) · √k` (empyrical `downside_risk`; the mean is over all `n`
/// returns, not only the losing ones).
pub fn downside_risk(returns: &Returns, required: PerPeriodRate, annualization: Annualization) -> Stat {
    Stat::from_value(
        downside_deviation(returns.values(), required.get()) * annualization.periods_per_year().sqrt(),
    )
}

pub(crate) fn downside_deviation(r: &[f64], required: f64) -> f64 {
    let [ss] = lane_sums(r, |x| {
        let d = (x - required).min(0.0);
        [d * d]
    });
    (ss / r.len() as f64).sqrt()
}

/// Annualized Sortino ratio `mean(r − req) · k / downside_risk` (empyrical `sortino_ratio`).
/// Undefined with fewer than two returns or when no return is below `required`.
pub fn sortino_ratio(returns: &Returns, required: PerPeriodRate, annualization: Annualization) -> Stat {
    let r = returns.values();
    if r.len() < 2 {
        return Stat::Undefined(Undefined::TooFewObservations { n: r.len(), min: 2 });
    }
    let [sum] = lane_sums(r, |x| [x - required.get()]);
    sortino_from(
        sum / r.len() as f64,
        downside_deviation(r, required.get()),
        annualization,
    )
}

pub(crate) fn sortino_from(mean_excess: f64, downside_dev: f64, annualization: Annualization) -> Stat {
    let k = annualization.periods_per_year();
    Stat::ratio(mean_excess * k, downside_dev * k.sqrt(), Undefined::NoDownside)
}

/// Calmar ratio `annual_return / |max drawdown|` (empyrical `calmar_ratio`). Undefined
/// when there is no drawdown.
pub fn calmar_ratio(returns: &Returns, annualization: Annualization) -> Stat {
    let mdd = crate::drawdown::max_drawdown(returns).depth;
    calmar_from(annual_return(returns, annualization), mdd)
}

pub(crate) fn calmar_from(cagr: Stat, max_drawdown: f64) -> Stat {
    if max_drawdown >= 0.0 {
        return Stat::Undefined(Undefined::NoDrawdown);
    }
    cagr.map(|c| c / max_drawdown.abs())
}

/// Omega ratio at a per-period threshold: with `x_t = r_t − rf − threshold`,
/// `Σ max(x_t, 0) / Σ max(−x_t, 0)` (empyrical `omega_ratio`).
///
/// empyrical takes the threshold as an annual `required_return` and converts it with
/// `(1 + R)^(1/k) − 1`; pass [`PerPeriodRate::from_annual`] to do the same. Undefined with
/// fewer than two returns or when no return is below the threshold.
pub fn omega_ratio(returns: &Returns, risk_free: PerPeriodRate, threshold: PerPeriodRate) -> Stat {
    let r = returns.values();
    if r.len() < 2 {
        return Stat::Undefined(Undefined::TooFewObservations { n: r.len(), min: 2 });
    }
    let shift = risk_free.get() + threshold.get();
    let [up, down] = lane_sums(r, |x| {
        let e = x - shift;
        [e.max(0.0), (-e).max(0.0)]
    });
    Stat::ratio(up, down, Undefined::NoLosses)
}

/// Linear-interpolation percentile of sorted data (numpy's default `method="linear"`),
/// `q` in [0, 1].
pub(crate) fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let h = q * (n - 1) as f64;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    // numpy's _lerp: symmetric form for t ≥ 0.5.
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

pub(crate) fn sorted_copy(r: &[f64]) -> Vec<f64> {
    let mut s = r.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    s
}

/// Tail ratio `|p95| / |p5|` of the returns (empyrical `tail_ratio`, numpy linear
/// percentiles). Undefined when the 5th percentile is zero.
pub fn tail_ratio(returns: &Returns) -> Stat {
    let (p05, p95) = crate::order::p05_p95(&mut crate::order::keys(returns.values()));
    tail_ratio_from(p05, p95)
}

pub(crate) fn tail_ratio_from(p05: f64, p95: f64) -> Stat {
    Stat::ratio(p95.abs(), p05.abs(), Undefined::ZeroDenominator)
}

/// Stability: the R² of an ordinary least-squares line fitted to the cumulative log returns
/// `y_t = Σ_{s<=t} ln(1 + r_s)` against `t = 0, …, n − 1` (empyrical
/// `stability_of_timeseries`, scipy `linregress`'s `r²`).
///
/// Undefined with fewer than two returns, after a total loss (`y = −∞`) and when `y` is
/// constant (all-zero returns); empyrical returns NaN in all three cases.
///
/// ```
/// use prudentia_metrics::{stability_of_timeseries, Returns};
///
/// # fn main() -> Result<(), prudentia_metrics::MetricsError> {
/// // Constant growth: the log wealth is a straight line, R² = 1.
/// let r = Returns::new(vec![0.01; 50])?;
/// assert!((stability_of_timeseries(&r).value().unwrap() - 1.0).abs() < 1e-12);
/// # Ok(()) }
/// ```
pub fn stability_of_timeseries(returns: &Returns) -> Stat {
    let r = returns.values();
    let n = r.len();
    if n < 2 {
        return Stat::Undefined(Undefined::TooFewObservations { n, min: 2 });
    }
    // With x_t = t − x̄, x̄ = (n − 1)/2: Σx = 0, so Σ x_t (y_t − ȳ) = Σ x_t y_t, and
    // Σ x_t² = n(n² − 1)/12. ȳ needs a first pass; the log returns are kept (one ln_1p each).
    let mut y = Vec::with_capacity(n);
    let mut acc = 0.0_f64;
    for x in r {
        acc += x.ln_1p();
        y.push(acc);
    }
    if !acc.is_finite() {
        return Stat::Undefined(Undefined::Overflow);
    }
    let nf = n as f64;
    let y_mean = y.iter().sum::<f64>() / nf;
    let x_mean = (nf - 1.0) / 2.0;
    let (mut sxy, mut syy) = (0.0_f64, 0.0_f64);
    for (t, v) in y.iter().enumerate() {
        let dy = v - y_mean;
        sxy += (t as f64 - x_mean) * dy;
        syy += dy * dy;
    }
    let sxx = nf * (nf * nf - 1.0) / 12.0;
    if syy == 0.0 {
        return Stat::Undefined(Undefined::ZeroDispersion);
    }
    let rho = (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0);
    Stat::from_value(rho * rho)
}

/// Population skewness (scipy `skew`, `bias=True`). Undefined for constant returns.
pub fn skewness(returns: &Returns) -> Stat {
    let m = Moments::of(returns.values(), 0.0);
    if m.constant {
        Stat::Undefined(Undefined::ZeroDispersion)
    } else {
        Stat::from_value(m.skewness)
    }
}

/// Population kurtosis, not excess (scipy `kurtosis`, `fisher=False, bias=True`); 3 for a
/// normal distribution. Undefined for constant returns.
pub fn kurtosis(returns: &Returns) -> Stat {
    let m = Moments::of(returns.values(), 0.0);
    if m.constant {
        Stat::Undefined(Undefined::ZeroDispersion)
    } else {
        Stat::from_value(m.kurtosis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v: &[f64]) -> Returns {
        Returns::new(v.to_vec()).unwrap()
    }

    #[test]
    fn closed_forms() {
        let x = r(&[0.1, -0.1]);
        // 1.1 · 0.9 − 1 = −0.01.
        assert!((cumulative_return(&x).value().unwrap() + 0.01).abs() < 1e-15);
        // mean 0 → Sharpe 0.
        assert_eq!(
            sharpe_ratio(&x, PerPeriodRate::ZERO, Annualization::Daily252),
            Stat::Value(0.0)
        );
        // s = √0.02, vol = √0.02 · √12.
        let v = annual_volatility(&x, Annualization::Monthly12).value().unwrap();
        assert!((v - (0.02f64 * 12.0).sqrt()).abs() < 1e-15);
        // omega: gains 0.1, losses 0.1.
        assert_eq!(
            omega_ratio(&x, PerPeriodRate::ZERO, PerPeriodRate::ZERO),
            Stat::Value(1.0)
        );
    }

    #[test]
    fn undefined_cases() {
        let zeros = r(&[0.0; 10]);
        let a = Annualization::Daily252;
        let z = PerPeriodRate::ZERO;
        assert_eq!(
            sharpe_ratio(&zeros, z, a),
            Stat::Undefined(Undefined::ZeroDispersion)
        );
        assert_eq!(
            sortino_ratio(&zeros, z, a),
            Stat::Undefined(Undefined::NoDownside)
        );
        assert_eq!(omega_ratio(&zeros, z, z), Stat::Undefined(Undefined::NoLosses));
        assert_eq!(calmar_ratio(&zeros, a), Stat::Undefined(Undefined::NoDrawdown));
        assert_eq!(tail_ratio(&zeros), Stat::Undefined(Undefined::ZeroDenominator));
        assert_eq!(skewness(&zeros), Stat::Undefined(Undefined::ZeroDispersion));
        assert_eq!(annual_volatility(&zeros, a), Stat::Value(0.0));
        assert_eq!(annual_return(&zeros, a), Stat::Value(0.0));
        let one = r(&[0.01]);
        let few = Stat::Undefined(Undefined::TooFewObservations { n: 1, min: 2 });
        assert_eq!(sharpe_ratio(&one, z, a), few);
        assert_eq!(annual_volatility(&one, a), few);
        assert_eq!(sortino_ratio(&one, z, a), few);
        assert_eq!(omega_ratio(&one, z, z), few);
        // CAGR of one day compounds it over 252 days, as empyrical does.
        let c = annual_return(&one, a).value().unwrap();
        assert!((c - (1.01f64.powf(252.0) - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn total_loss() {
        let x = r(&[0.1, -1.0, 0.5]);
        let a = Annualization::Daily252;
        assert_eq!(cumulative_return(&x), Stat::Value(-1.0));
        assert_eq!(annual_return(&x, a), Stat::Value(-1.0));
        assert!(sharpe_ratio(&x, PerPeriodRate::ZERO, a).is_defined());
        assert!((calmar_ratio(&x, a).value().unwrap() + 1.0).abs() < 1e-15);
    }

    #[test]
    fn selection_equals_sorting() {
        let v: Vec<f64> = (0..101).map(|i| ((i * 37) % 101) as f64 * 0.013 - 0.4).collect();
        let s = sorted_copy(&v);
        // (Moved from the removed `percentile_select` / `lowest_sum_select` helpers to the
        // selection routines that replaced them.)
        for q in [0.0, 0.01, 0.05, 0.333, 0.5, 0.95, 0.99, 1.0] {
            let mut b = crate::order::keys(&v);
            assert_eq!(crate::order::percentile(&mut b, q), percentile_sorted(&s, q));
        }
        let mut b = crate::order::keys(&v);
        let k = 7;
        // The CVaR at α = 0.07 is the mean of the ⌊100 · 0.07⌋ + 1 = k + 1 smallest.
        let x = crate::order::cvar(&mut b, crate::TailLevel::new(0.07).unwrap()) * (k + 1) as f64;
        let y: f64 = s[..=k].iter().sum();
        assert!((x - y).abs() < 1e-14);
    }

    #[test]
    fn stability_agrees_with_empyrical() {
        // empyrical-reloaded 0.7.1: stability_of_timeseries(np.array([...])) on these returns.
        let x = r(&[
            0.01, -0.02, 0.015, 0.003, -0.007, 0.02, -0.001, 0.004, 0.012, -0.009, 0.006, 0.0,
        ]);
        let e = 0.7554195944803966;
        assert!((stability_of_timeseries(&x).value().unwrap() - e).abs() < 1e-13);
        // empyrical: NaN for each of these.
        assert_eq!(
            stability_of_timeseries(&r(&[0.0; 5])),
            Stat::Undefined(Undefined::ZeroDispersion)
        );
        assert_eq!(
            stability_of_timeseries(&r(&[0.1, -1.0, 0.2])),
            Stat::Undefined(Undefined::Overflow)
        );
        assert_eq!(
            stability_of_timeseries(&r(&[0.1])),
            Stat::Undefined(Undefined::TooFewObservations { n: 1, min: 2 })
        );
    }

    #[test]
    fn numpy_percentile() {
        let s = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], 5) = 1.15, (…, 95) = 3.85.
        assert!((percentile_sorted(&s, 0.05) - 1.15).abs() < 1e-15);
        assert!((percentile_sorted(&s, 0.95) - 3.85).abs() < 1e-15);
        assert_eq!(percentile_sorted(&[7.0], 0.3), 7.0);
    }
}
