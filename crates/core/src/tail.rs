//! Empirical value at risk and conditional value at risk: the one CVaR routine of the
//! workspace (portfolio limits and reports, metrics' historical CVaR).
//!
//! For `T` equally likely losses `ℓ₁ … ℓ_T` and a level `α ∈ [0, 1)` (Rockafellar & Uryasev
//! 2000, J. Risk 2(3); 2002, J. Banking & Finance 26):
//!
//! ```text
//! VaR_α  = ℓ₍ₖ₎,  k = ⌈αT⌉ (1-based order statistic, at least 1)
//! CVaR_α = VaR_α + Σₛ (ℓₛ − VaR_α)⁺ / ((1 − α) T)
//! ```
//!
//! the minimum of the Rockafellar–Uryasev function `ζ + Σ(ℓ − ζ)⁺/((1 − α)T)`. When
//! `(1 − α)T = m` is a whole number, CVaR is the mean of the `m` largest losses (so the
//! "mean of the `m` worst returns" convention of empyrical is this routine at
//! `α = 1 − m/T`, see [`worst_mean`]).
//!
//! ```
//! use prudentia_core::tail::var_cvar;
//!
//! let losses: Vec<f64> = (1..=10).map(f64::from).collect();
//! let (var, cvar) = var_cvar(&losses, 0.8).unwrap();
//! assert_eq!(var, 8.0);
//! assert!((cvar - 9.5).abs() < 1e-12); // the mean of the two largest
//! ```

/// VaR and CVaR at level `alpha` of equally likely `losses` (see the [module docs](self)).
/// `None` for no losses or `alpha` outside `[0, 1)`. Non-finite losses give non-finite
/// figures (callers validate their data).
pub fn var_cvar(losses: &[f64], alpha: f64) -> Option<(f64, f64)> {
    let t = losses.len();
    if t == 0 || !(0.0..1.0).contains(&alpha) {
        return None;
    }
    let mut sorted = losses.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(var_cvar_sorted(&sorted, alpha))
}

/// As [`var_cvar`] on losses already sorted ascending (non-empty, `alpha` in `[0, 1)`).
fn var_cvar_sorted(sorted: &[f64], alpha: f64) -> (f64, f64) {
    let t = sorted.len();
    // the 1e-9 keeps k = αT when αT is a whole number up to rounding
    let k = ((alpha * t as f64 - 1e-9).ceil() as usize).clamp(1, t) - 1;
    let var = sorted[k];
    let tail: f64 = sorted[k..].iter().map(|l| (l - var).max(0.0)).sum();
    (var, var + tail * (1.0 / ((1.0 - alpha) * t as f64)))
}

/// The mean of the `m` largest of `losses` (`1 ≤ m ≤ len`), as the CVaR above at
/// `α = 1 − m/T`. `None` for no losses or `m` outside `1..=len`.
pub fn worst_mean(losses: &[f64], m: usize) -> Option<f64> {
    let t = losses.len();
    if t == 0 || m == 0 || m > t {
        return None;
    }
    let mut sorted = losses.to_vec();
    sorted.sort_by(f64::total_cmp);
    let alpha = 1.0 - m as f64 / t as f64;
    Some(var_cvar_sorted(&sorted, alpha).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand_and_edges() {
        let l: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(var_cvar(&l, 0.8), Some((8.0, 9.5)));
        // α = 0: VaR is the smallest loss, CVaR the mean
        let (v, c) = var_cvar(&l, 0.0).unwrap();
        assert_eq!(v, 1.0);
        assert!((c - 5.5).abs() < 1e-12);
        // a fractional tail weights the VaR atom: α = 0.85, T = 10 → k = 9, tail mass 1.5
        let (v, c) = var_cvar(&l, 0.85).unwrap();
        assert_eq!(v, 9.0);
        assert!((c - (9.0 + 1.0 / 1.5)).abs() < 1e-12);
        assert_eq!(var_cvar(&[], 0.5), None);
        assert_eq!(var_cvar(&l, 1.0), None);
        assert_eq!(var_cvar(&l, f64::NAN), None);
        for m in 1..=10 {
            let want = l[10 - m..].iter().sum::<f64>() / m as f64;
            assert!((worst_mean(&l, m).unwrap() - want).abs() < 1e-12, "m = {m}");
        }
        assert_eq!(worst_mean(&l, 0), None);
        assert_eq!(worst_mean(&l, 11), None);
    }
}
