//! The population stability index (PSI) with quantile bins from the reference sample.

use prudentia_core::validate::{check_finite, check_len, check_open_unit, check_size, MAX_DIM};
use serde::{Deserialize, Serialize};

use crate::error::{DefenseError, DefenseResult};

/// Binning rule of the PSI.
///
/// Interior edges are the reference quantiles at levels `k / bins`, `k = 1..bins−1`, by
/// linear interpolation between order statistics (NumPy's default `quantile` method);
/// repeated edges (ties in the reference) are merged, so there may be fewer bins. Bin `i`
/// is `(e_{i−1}, e_i]` with `e_0 = −∞` and `e_bins = +∞`. Empty bins get the share
/// `floor` instead of 0 so that the logarithm stays finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct PsiConfig {
    /// Number of quantile bins. Default 10; in `[2, MAX_DIM]`
    /// ([`prudentia_core::validate::MAX_DIM`]).
    pub bins: usize,
    /// Share used for empty bins. Default 1e-4; in (0, 1).
    pub floor: f64,
}

impl Default for PsiConfig {
    fn default() -> Self {
        Self {
            bins: 10,
            floor: 1e-4,
        }
    }
}

prudentia_core::checked_serde!(PsiConfig, PsiConfig::validate);

impl PsiConfig {
    /// Checks every field.
    pub fn validate(&self) -> DefenseResult<()> {
        if self.bins < 2 {
            return Err(DefenseError::TooSmall {
                field: "bins",
                value: self.bins,
                min: 2,
            });
        }
        check_size("bins", self.bins, MAX_DIM)?;
        check_open_unit("floor", self.floor)?;
        Ok(())
    }
}

/// Linear-interpolation quantile of a sorted, non-empty sample (NumPy's default).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let q = a + (b - a) * frac;
    if q.is_finite() {
        q
    } else {
        // `b − a` overflowed (values spanning more than `f64::MAX`): interpolate by weights.
        a * (1.0 - frac) + b * frac
    }
}

/// A reference sample reduced to its PSI bins and bin shares.
///
/// `PSI = Σ_i (q_i − p_i) · ln(q_i / p_i)` with reference shares `p_i` and live shares
/// `q_i`, each floored at `floor`. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift,
/// > 0.25 significant shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PsiReference {
    config: PsiConfig,
    edges: Vec<f64>,
    shares: Vec<f64>,
}

prudentia_core::checked_serde!(PsiReference, PsiReference::check_state);

impl PsiReference {
    /// Invariants of a loaded checkpoint: a valid configuration, at most `bins − 1` finite,
    /// strictly increasing edges, and one share in `[floor, 1]` per bin.
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        let ok = self.edges.len() < self.config.bins
            && self.edges.iter().all(|e| e.is_finite())
            && self.edges.windows(2).all(|w| w[0] < w[1])
            && self.shares.len() == self.edges.len() + 1
            && self
                .shares
                .iter()
                .all(|p| p.is_finite() && *p >= self.config.floor && *p <= 1.0);
        if ok {
            Ok(())
        } else {
            Err(DefenseError::CorruptState {
                detail: "PSI edges or shares are inconsistent",
            })
        }
    }

    /// Bins a reference sample (non-empty, finite).
    pub fn new(reference: &[f64], config: PsiConfig) -> DefenseResult<Self> {
        config.validate()?;
        check_len("reference", reference.len(), 1)?;
        check_finite("reference", reference)?;
        let mut sorted = reference.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        Ok(Self::from_sorted_unchecked(&sorted, config))
    }

    pub(crate) fn from_sorted_unchecked(sorted: &[f64], config: PsiConfig) -> Self {
        let mut edges: Vec<f64> = (1..config.bins)
            .map(|k| quantile_sorted(sorted, k as f64 / config.bins as f64))
            .collect();
        edges.dedup();
        let mut counts = vec![0usize; edges.len() + 1];
        for x in sorted {
            counts[bin_of(&edges, *x)] += 1;
        }
        let n = sorted.len() as f64;
        let shares = counts.iter().map(|c| (*c as f64 / n).max(config.floor)).collect();
        Self {
            config,
            edges,
            shares,
        }
    }

    /// The interior bin edges.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Number of bins (interior edges + 1).
    pub fn n_bins(&self) -> usize {
        self.edges.len() + 1
    }

    /// The bin of a value.
    pub fn bin(&self, x: f64) -> usize {
        bin_of(&self.edges, x)
    }

    /// PSI of a live sample (non-empty, finite) against the reference.
    pub fn psi(&self, live: &[f64]) -> DefenseResult<f64> {
        check_len("live", live.len(), 1)?;
        check_finite("live", live)?;
        let mut counts = vec![0usize; self.n_bins()];
        for x in live {
            counts[self.bin(*x)] += 1;
        }
        Ok(self.psi_from_counts(&counts, live.len()))
    }

    /// PSI from live bin counts (length [`n_bins`](Self::n_bins); missing bins count as
    /// empty, extra ones are ignored) over `n` live values (at least 1).
    pub fn psi_from_counts(&self, counts: &[usize], n: usize) -> f64 {
        let n = n.max(1) as f64;
        self.shares
            .iter()
            .zip(counts.iter().chain(std::iter::repeat(&0)))
            .map(|(p, c)| {
                let q = (*c as f64 / n).max(self.config.floor);
                (q - p) * (q / p).ln()
            })
            .sum()
    }
}

fn bin_of(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|e| *e < x)
}

/// PSI of `live` against `reference` with quantile bins (see [`PsiReference`]).
pub fn psi(reference: &[f64], live: &[f64], config: PsiConfig) -> DefenseResult<f64> {
    PsiReference::new(reference, config)?.psi(live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::CoreError;

    #[test]
    fn identical_samples_have_zero_psi_and_shift_is_positive() {
        let r: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        assert!(psi(&r, &r, PsiConfig::default()).unwrap().abs() < 1e-15);
        let shifted: Vec<f64> = r.iter().map(|x| x + 0.3).collect();
        let v = psi(&r, &shifted, PsiConfig::default()).unwrap();
        assert!(v > 0.25, "{v}");
    }

    #[test]
    fn hand_computed_two_bins() {
        // Reference 1..=4: median edge 2.5 → bins (−∞, 2.5], (2.5, ∞), shares 0.5/0.5.
        // Live [1, 1, 1, 4]: shares 0.75/0.25.
        // PSI = 0.25 ln 1.5 + (−0.25) ln 0.5 = 0.25 ln 3.
        let cfg = PsiConfig { bins: 2, floor: 1e-4 };
        let v = psi(&[1.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 1.0, 4.0], cfg).unwrap();
        assert!((v - 0.25 * 3f64.ln()).abs() < 1e-15);
        // An empty live bin uses the floor: live all ≤ 2.5 → q = (1, 1e-4).
        let v = psi(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0], cfg).unwrap();
        let want = 0.5 * 2f64.ln() + (1e-4 - 0.5) * (1e-4f64 / 0.5).ln();
        assert!((v - want).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            psi(&[], &[1.0], PsiConfig::default()),
            Err(DefenseError::Core(CoreError::EmptyInput {
                field: "reference",
                ..
            }))
        ));
        assert!(matches!(
            psi(&[1.0], &[], PsiConfig::default()),
            Err(DefenseError::Core(CoreError::EmptyInput { field: "live", .. }))
        ));
        assert!(matches!(
            psi(
                &[1.0],
                &[1.0],
                PsiConfig {
                    floor: f64::NAN,
                    ..Default::default()
                }
            ),
            Err(DefenseError::Core(CoreError::OutOfRange { field: "floor", .. }))
        ));
        assert!(matches!(
            psi(
                &[1.0],
                &[1.0],
                PsiConfig {
                    bins: 1,
                    ..Default::default()
                }
            ),
            Err(DefenseError::TooSmall { field: "bins", .. })
        ));
        assert!(psi(&[f64::NAN], &[1.0], PsiConfig::default()).is_err());
    }
}
