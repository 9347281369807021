//! Value at risk and conditional value at risk (expected shortfall), historical and
//! Cornish–Fisher.
//!
//! Sign convention (empyrical's): VaR and CVaR are **returns**, negative for losses. The
//! 95 % VaR is the 5 % quantile of the returns; the 95 % CVaR is the mean return in that
//! tail.
//!
//! - Historical VaR: numpy's linear-interpolation percentile at `α` (empyrical
//!   `value_at_risk`).
//! - Historical CVaR: the mean of the `⌊(n − 1)α⌋ + 1` smallest returns (empyrical
//!   `conditional_value_at_risk`, exactly).
//! - Cornish–Fisher VaR (Zangari 1996, RiskMetrics Monitor Q1): `μ + s · z_cf` with
//!   `z = Φ⁻¹(α)`, skewness `S`, excess kurtosis `K`:
//!   `z_cf = z + (z² − 1)S/6 + (z³ − 3z)K/24 − (2z³ − 5z)S²/36`.
//! - Cornish–Fisher CVaR: the average of the Cornish–Fisher quantile over the tail,
//!   `(1/α) ∫₀^α q_cf(u) du`, in closed form with the truncated-normal moments
//!   `I_k = ∫_{−∞}^{z} t^k φ(t) dt` (`I₀ = Φ(z)`, `I₁ = −φ(z)`, `I₂ = Φ(z) − zφ(z)`,
//!   `I₃ = −(z² + 2)φ(z)`):
//!   `μ + (s/α)[I₁ + S/6 (I₂ − I₀) + K/24 (I₃ − 3I₁) − S²/36 (2I₃ − 5I₁)]`.
//!   This is not Boudt, Peterson & Croux's (2008) "modified ES", which uses an Edgeworth
//!   density; it is the expected shortfall of the distribution whose quantile function is
//!   the Cornish–Fisher expansion, consistent with the Cornish–Fisher VaR. The expansion is
//!   monotone only for moderate `S`, `K`; with extreme moments treat both numbers with care.
//!
//! `μ` is the mean, `s` the sample standard deviation (`n − 1`), `S` and `K` the population
//! skewness and excess kurtosis.

use crate::normal;
use crate::order;
use crate::returns::Returns;
use crate::stats::Moments;
use crate::types::{Stat, TailLevel, Undefined};

/// Historical VaR: the `α` quantile of the returns (negative = loss). O(n): two order
/// statistics by selection.
pub fn value_at_risk(returns: &Returns, tail: TailLevel) -> Stat {
    Stat::from_value(order::percentile(&mut order::keys(returns.values()), tail.get()))
}

/// Historical CVaR: mean of the `⌊(n − 1)α⌋ + 1` smallest returns (negative = loss).
///
/// Bit for bit the result of core's CVaR routine on the losses `−r`
/// ([`prudentia_core::tail::worst_mean`]), but O(n + m log m) for a tail of `m` returns:
/// the tail is found by selection and only the tail is sorted (core's summation order).
pub fn conditional_value_at_risk(returns: &Returns, tail: TailLevel) -> Stat {
    Stat::from_value(order::cvar(&mut order::keys(returns.values()), tail))
}

/// Cornish–Fisher VaR and CVaR.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CornishFisher {
    /// Cornish–Fisher VaR (a return, negative = loss).
    pub var: Stat,
    /// Cornish–Fisher CVaR (a return, negative = loss).
    pub cvar: Stat,
}

/// Cornish–Fisher VaR and CVaR at tail level `α`. Undefined with fewer than two returns or
/// constant returns.
pub fn cornish_fisher(returns: &Returns, tail: TailLevel) -> CornishFisher {
    cornish_fisher_from(&Moments::of(returns.values(), 0.0), tail)
}

pub(crate) fn cornish_fisher_from(m: &Moments, tail: TailLevel) -> CornishFisher {
    let undefined = |u| CornishFisher {
        var: Stat::Undefined(u),
        cvar: Stat::Undefined(u),
    };
    if m.n < 2 {
        return undefined(Undefined::TooFewObservations { n: m.n, min: 2 });
    }
    if m.constant {
        return undefined(Undefined::ZeroDispersion);
    }
    let a = tail.get();
    let (s, k) = (m.skewness, m.kurtosis - 3.0);
    let z = normal::quantile(a);
    let (z2, z3) = (z * z, z * z * z);
    let zcf = z + (z2 - 1.0) * s / 6.0 + (z3 - 3.0 * z) * k / 24.0 - (2.0 * z3 - 5.0 * z) * s * s / 36.0;
    let (phi, cdf) = (normal::pdf(z), normal::cdf(z));
    let (i0, i1, i2, i3) = (cdf, -phi, cdf - z * phi, -(z2 + 2.0) * phi);
    let tail_mean =
        i1 + s / 6.0 * (i2 - i0) + k / 24.0 * (i3 - 3.0 * i1) - s * s / 36.0 * (2.0 * i3 - 5.0 * i1);
    CornishFisher {
        var: Stat::from_value(m.mean + m.std * zcf),
        cvar: Stat::from_value(m.mean + m.std * tail_mean / a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_moments_reduce_to_gaussian() {
        // With S = 0 and K = 0 the CF VaR is μ + s·z and the CVaR is μ − s·φ(z)/α.
        let m = Moments {
            n: 100,
            mean: 0.001,
            std: 0.01,
            skewness: 0.0,
            kurtosis: 3.0,
            constant: false,
        };
        let cf = cornish_fisher_from(&m, TailLevel::P05);
        let z = normal::quantile(0.05);
        assert!((cf.var.value().unwrap() - (0.001 + 0.01 * z)).abs() < 1e-15);
        let es = 0.001 - 0.01 * normal::pdf(z) / 0.05;
        assert!((cf.cvar.value().unwrap() - es).abs() < 1e-15);
    }

    #[test]
    fn historical_small_sample() {
        let r = Returns::new(vec![-0.03, 0.01, -0.01, 0.02, 0.0]).unwrap();
        // sorted: −0.03, −0.01, 0, 0.01, 0.02; ⌊4 · 0.05⌋ = 0 → CVaR = −0.03.
        assert_eq!(conditional_value_at_risk(&r, TailLevel::P05), Stat::Value(-0.03));
        // numpy.percentile(…, 5): h = 0.2 → −0.03 + 0.2 · 0.02 = −0.026.
        assert!((value_at_risk(&r, TailLevel::P05).value().unwrap() + 0.026).abs() < 1e-15);
        let one = Returns::new(vec![0.01]).unwrap();
        assert_eq!(value_at_risk(&one, TailLevel::P05), Stat::Value(0.01));
        assert!(!cornish_fisher(&one, TailLevel::P05).var.is_defined());
    }
}
