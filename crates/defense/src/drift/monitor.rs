//! A drift monitor: a reference window and a live window per feature.

use prudentia_core::validate::{
    check_elements, check_finite, check_len, check_positive, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW,
};
use serde::{Deserialize, Serialize};

use super::ks::{ks_2samp_sorted_unchecked, Alternative, KsMethod};
use super::psi::{PsiConfig, PsiReference};
use crate::error::{DefenseError, DefenseResult};
use crate::rolling::RollingMedianMad;

/// Configuration of a [`DriftMonitor`]. The thresholds are the seed system's: drift when
/// `PSI > 0.25` or the KS statistic `> 0.1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[serde(remote = "Self")]
pub struct DriftMonitorConfig {
    /// Observations per feature that form the reference (the first ones seen, unless set
    /// with [`DriftMonitor::set_reference`]). Default 500; in `[2, MAX_WINDOW]`.
    pub reference_size: usize,
    /// Length of the live (trailing) window. Default 250; in `[2, MAX_WINDOW]`.
    pub live_size: usize,
    /// Live observations needed before a feature is judged. Default 50; in `[1, live_size]`.
    pub min_live: usize,
    /// PSI binning.
    pub psi: PsiConfig,
    /// PSI above which a feature has drifted. Default 0.25; finite, > 0.
    pub psi_threshold: f64,
    /// KS statistic above which a feature has drifted. Default 0.1; in (0, 1].
    pub ks_threshold: f64,
    /// p-value method. Default [`KsMethod::Asymptotic`] (cheap at every step; use `Auto` for
    /// exact p-values on small windows).
    pub ks_method: KsMethod,
}

impl Default for DriftMonitorConfig {
    fn default() -> Self {
        Self {
            reference_size: 500,
            live_size: 250,
            min_live: 50,
            psi: PsiConfig::default(),
            psi_threshold: 0.25,
            ks_threshold: 0.1,
            ks_method: KsMethod::Asymptotic,
        }
    }
}

prudentia_core::checked_serde!(DriftMonitorConfig, DriftMonitorConfig::validate);

impl DriftMonitorConfig {
    /// Checks every field.
    pub fn validate(&self) -> DefenseResult<()> {
        for (field, value) in [
            ("reference_size", self.reference_size),
            ("live_size", self.live_size),
        ] {
            if value < 2 {
                return Err(DefenseError::TooSmall { field, value, min: 2 });
            }
            check_size(field, value, MAX_WINDOW)?;
        }
        if self.min_live == 0 {
            return Err(DefenseError::TooSmall {
                field: "min_live",
                value: 0,
                min: 1,
            });
        }
        if self.min_live > self.live_size {
            return Err(DefenseError::Inverted {
                low_field: "min_live",
                low: self.min_live as f64,
                high_field: "live_size",
                high: self.live_size as f64,
            });
        }
        self.psi.validate()?;
        check_positive("psi_threshold", self.psi_threshold)?;
        prudentia_core::validate::check_range(
            "ks_threshold",
            self.ks_threshold,
            f64::MIN_POSITIVE,
            1.0,
            "in (0, 1]",
        )?;
        Ok(())
    }
}

/// Drift of one feature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// PSI of the live window against the reference.
    pub psi: f64,
    /// Two-sided KS statistic.
    pub ks_statistic: f64,
    /// Its p-value (method per the configuration).
    pub p_value: f64,
    /// `psi > psi_threshold || ks_statistic > ks_threshold`.
    pub drifted: bool,
    /// Live observations behind the numbers.
    pub live_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FeatureState {
    /// Reference values while filling (unsorted), then sorted once frozen.
    reference: Vec<f64>,
    psi_ref: Option<PsiReference>,
    live: RollingMedianMad,
    /// Live counts per PSI bin.
    live_bins: Vec<usize>,
    skipped_non_finite: u64,
}

/// Holds, per feature, a frozen reference sample and a trailing live window, and reports
/// PSI, the KS statistic with its p-value, and a drifted flag. Each step is
/// `O(log w)` for the windows plus `O(n_ref + n_live)` per feature for the KS statistic
/// (the live window is kept sorted, so nothing is re-sorted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct DriftMonitor {
    config: DriftMonitorConfig,
    features: Vec<FeatureState>,
}

prudentia_core::checked_serde!(DriftMonitor, DriftMonitor::check_state);

impl DriftMonitor {
    /// Invariants of a loaded checkpoint: a valid configuration, between 1 and `MAX_DIM`
    /// features, finite reference samples (shorter than `reference_size` while filling,
    /// sorted once frozen), and live windows of `live_size`. The PSI bins and the live bin
    /// counts are rebuilt from the samples (they are derived state).
    fn check_state(&mut self) -> DefenseResult<()> {
        self.config.validate()?;
        check_len("n_features", self.features.len(), 1)?;
        check_size("n_features", self.features.len(), MAX_DIM)?;
        let corrupt = |detail| Err(DefenseError::CorruptState { detail });
        for f in &mut self.features {
            if f.reference.iter().any(|x| !x.is_finite()) {
                return corrupt("drift reference holds a non-finite value");
            }
            if f.live.capacity() != self.config.live_size {
                return corrupt("drift live window length differs from the configuration");
            }
            match f.psi_ref {
                None => {
                    if f.reference.len() >= self.config.reference_size || !f.live.is_empty() {
                        return corrupt("drift reference incomplete but not filling");
                    }
                    f.live_bins.clear();
                }
                Some(_) => {
                    if f.reference.is_empty() || f.reference.windows(2).any(|w| w[1] < w[0]) {
                        return corrupt("frozen drift reference is empty or not sorted");
                    }
                    Self::freeze(&self.config, f);
                }
            }
        }
        Ok(())
    }

    /// A monitor of `n_features` features (`1 <= n_features <= MAX_DIM`, and
    /// `n_features × (reference_size + live_size) <= MAX_ELEMENTS`).
    pub fn new(config: DriftMonitorConfig, n_features: usize) -> DefenseResult<Self> {
        config.validate()?;
        check_len("n_features", n_features, 1)?;
        check_size("n_features", n_features, MAX_DIM)?;
        check_elements(
            "n_features x (reference_size + live_size)",
            &[n_features, config.reference_size.saturating_add(config.live_size)],
            MAX_ELEMENTS,
        )?;
        let live = RollingMedianMad::new(config.live_size)?;
        let features = (0..n_features)
            .map(|_| FeatureState {
                reference: Vec::with_capacity(config.reference_size.min(1024)),
                psi_ref: None,
                live: live.clone(),
                live_bins: Vec::new(),
                skipped_non_finite: 0,
            })
            .collect();
        Ok(Self { config, features })
    }

    /// The configuration.
    pub fn config(&self) -> &DriftMonitorConfig {
        &self.config
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Whether feature `i`'s reference is complete.
    pub fn reference_ready(&self, i: usize) -> bool {
        self.features.get(i).is_some_and(|f| f.psi_ref.is_some())
    }

    fn freeze(config: &DriftMonitorConfig, f: &mut FeatureState) {
        f.reference.sort_unstable_by(f64::total_cmp);
        let r = PsiReference::from_sorted_unchecked(&f.reference, config.psi);
        f.live_bins = vec![0; r.n_bins()];
        for x in f.live.sorted() {
            f.live_bins[r.bin(*x)] += 1;
        }
        f.psi_ref = Some(r);
    }

    /// Replaces feature `i`'s reference with `sample` (non-empty, finite) and freezes it.
    pub fn set_reference(&mut self, i: usize, sample: &[f64]) -> DefenseResult<()> {
        let n_features = self.features.len();
        check_len("reference", sample.len(), 1)?;
        check_finite("reference", sample)?;
        let f = self
            .features
            .get_mut(i)
            .ok_or(DefenseError::UnknownFeature { index: i, n_features })?;
        f.reference = sample.to_vec();
        Self::freeze(&self.config, f);
        Ok(())
    }

    /// Adds one row (one value per feature). Non-finite values are skipped and counted.
    /// Values fill the reference until it holds `reference_size`, then the live window.
    pub fn observe(&mut self, row: &[f64]) -> DefenseResult<()> {
        prudentia_core::validate::check_shape("row", &[self.features.len()], &[row.len()])?;
        for (f, &x) in self.features.iter_mut().zip(row) {
            if !x.is_finite() {
                f.skipped_non_finite = f.skipped_non_finite.saturating_add(1);
                continue;
            }
            match &f.psi_ref {
                None => {
                    f.reference.push(x);
                    if f.reference.len() >= self.config.reference_size {
                        Self::freeze(&self.config, f);
                    }
                }
                Some(r) => {
                    if let Some(old) = f.live.push(x) {
                        if let Some(c) = f.live_bins.get_mut(r.bin(old)) {
                            *c = c.saturating_sub(1);
                        }
                    }
                    if let Some(c) = f.live_bins.get_mut(r.bin(x)) {
                        *c += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Drift of feature `i`, or `None` while its reference is incomplete or its live window
    /// holds fewer than `min_live` values.
    pub fn feature(&self, i: usize) -> DefenseResult<Option<FeatureDrift>> {
        let f = self.features.get(i).ok_or(DefenseError::UnknownFeature {
            index: i,
            n_features: self.features.len(),
        })?;
        let Some(r) = &f.psi_ref else { return Ok(None) };
        let n = f.live.len();
        if n < self.config.min_live {
            return Ok(None);
        }
        let psi = r.psi_from_counts(&f.live_bins, n);
        let ks = ks_2samp_sorted_unchecked(
            &f.reference,
            f.live.sorted(),
            Alternative::TwoSided,
            self.config.ks_method,
        );
        Ok(Some(FeatureDrift {
            psi,
            ks_statistic: ks.statistic,
            p_value: ks.p_value,
            drifted: psi > self.config.psi_threshold || ks.statistic > self.config.ks_threshold,
            live_count: n,
        }))
    }

    /// Drift of every feature (see [`feature`](Self::feature)).
    pub fn report(&self) -> Vec<Option<FeatureDrift>> {
        (0..self.features.len())
            .map(|i| self.feature(i).ok().flatten())
            .collect()
    }

    /// Non-finite values skipped for feature `i`.
    pub fn skipped(&self, i: usize) -> u64 {
        self.features.get(i).map_or(0, |f| f.skipped_non_finite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_shift_and_not_a_copy() {
        let cfg = DriftMonitorConfig {
            reference_size: 200,
            live_size: 100,
            min_live: 50,
            ..Default::default()
        };
        let mut m = DriftMonitor::new(cfg, 2).unwrap();
        // A deterministic, well-spread sequence (golden-ratio low-discrepancy points).
        let u = |i: usize| (i as f64 * 0.618_033_988_749_895).fract();
        for i in 0..200 {
            m.observe(&[u(i), u(i)]).unwrap();
        }
        assert!(m.feature(0).unwrap().is_none());
        for i in 200..300 {
            m.observe(&[u(i), u(i) + 0.5]).unwrap();
        }
        let r = m.report();
        let (a, b) = (r[0].unwrap(), r[1].unwrap());
        assert!(!a.drifted, "{a:?}");
        assert!(b.drifted && b.psi > 0.25 && b.ks_statistic > 0.4, "{b:?}");
        m.observe(&[f64::NAN, 0.0]).unwrap();
        assert_eq!(m.skipped(0), 1);
    }

    #[test]
    fn incremental_windows_agree_with_batch_tests() {
        use crate::drift::{ks_2samp, psi};
        let cfg = DriftMonitorConfig {
            reference_size: 120,
            live_size: 40,
            min_live: 10,
            ks_method: KsMethod::Exact,
            ..Default::default()
        };
        let mut m = DriftMonitor::new(cfg.clone(), 1).unwrap();
        let x: Vec<f64> = (0..400)
            .map(|i| ((i * 7919) % 257) as f64 / 257.0 + (i / 200) as f64 * 0.3)
            .collect();
        for (i, v) in x.iter().enumerate() {
            m.observe(&[*v]).unwrap();
            if i + 1 >= 120 + 10 {
                let live = &x[(i + 1 - 40).max(120)..=i];
                let f = m.feature(0).unwrap().unwrap();
                let k = ks_2samp(&x[..120], live, Alternative::TwoSided, KsMethod::Exact).unwrap();
                let p = psi(&x[..120], live, cfg.psi).unwrap();
                assert_eq!((f.ks_statistic, f.p_value), (k.statistic, k.p_value), "step {i}");
                assert!((f.psi - p).abs() < 1e-12, "step {i}: {} vs {p}", f.psi);
            }
        }
    }

    #[test]
    fn bad_input_is_typed() {
        let bad = |c: DriftMonitorConfig| DriftMonitor::new(c, 1).unwrap_err();
        assert!(matches!(
            bad(DriftMonitorConfig {
                live_size: 0,
                ..Default::default()
            }),
            DefenseError::TooSmall { .. }
        ));
        assert!(matches!(
            bad(DriftMonitorConfig {
                psi_threshold: f64::NAN,
                ..Default::default()
            }),
            DefenseError::Core(_)
        ));
        assert!(matches!(
            bad(DriftMonitorConfig {
                ks_threshold: 0.0,
                ..Default::default()
            }),
            DefenseError::Core(_)
        ));
        assert!(DriftMonitor::new(DriftMonitorConfig::default(), 0).is_err());
        let mut m = DriftMonitor::new(DriftMonitorConfig::default(), 1).unwrap();
        assert!(m.set_reference(0, &[]).is_err());
        assert!(matches!(
            m.set_reference(3, &[1.0]),
            Err(DefenseError::UnknownFeature { index: 3, .. })
        ));
        assert!(m.observe(&[1.0, 2.0]).is_err());
    }
}
