//! Core's [`DriftDetector`] for the streaming detectors, so that other role crates can
//! monitor a series with them through core types (e.g. the cost model's standardized
//! residuals) without depending on this crate.
//!
//! ```
//! use prudentia_core::drift::DriftDetector;
//! use prudentia_defense::detectors::{PageHinkley, PageHinkleyConfig};
//!
//! let cfg = PageHinkleyConfig { threshold: 5.0, ..Default::default() };
//! let mut d: Box<dyn DriftDetector> = Box::new(PageHinkley::new(cfg)?);
//! let mut first = None;
//! for i in 0..200 {
//!     let x = if i < 100 { 0.0 } else { 1.0 };
//!     if d.update(x).unwrap().detected && first.is_none() {
//!         first = Some(i);
//!     }
//! }
//! assert!(matches!(first, Some(i) if (100..120).contains(&i)));
//! assert!(d.update(f64::NAN).is_err());
//! # Ok::<(), prudentia_defense::DefenseError>(())
//! ```

use prudentia_core::drift::{DriftDetector, DriftSignal};
use prudentia_core::traits::{Role, RoleError, RoleResult};

use super::{check_input, Adwin, ChangeDetector, PageHinkley};

fn checked(x: f64) -> RoleResult<()> {
    check_input(x).map_err(|e| RoleError::implementation(Role::Guard, e))
}

impl DriftDetector for PageHinkley {
    /// [`ChangeDetector::update`]; the statistic is the larger of the two Page–Hinkley
    /// statistics after the observation (0 right after a detection, which restarts them).
    /// Refuses what [`ChangeDetector::try_update`] refuses, unchanged.
    fn update(&mut self, x: f64) -> RoleResult<DriftSignal> {
        checked(x)?;
        let detected = ChangeDetector::update(self, x);
        let (up, down) = self.statistics();
        Ok(DriftSignal {
            detected,
            statistic: up.max(down),
        })
    }

    fn boxed_clone(&self) -> Box<dyn DriftDetector> {
        Box::new(self.clone())
    }
}

impl DriftDetector for Adwin {
    /// [`ChangeDetector::update`]; the statistic is the mean of the window after the
    /// observation (after any cut). Refuses what [`ChangeDetector::try_update`] refuses,
    /// unchanged.
    fn update(&mut self, x: f64) -> RoleResult<DriftSignal> {
        checked(x)?;
        let detected = ChangeDetector::update(self, x);
        let mean = self.mean();
        Ok(DriftSignal {
            detected,
            statistic: if mean.is_finite() { mean } else { 0.0 },
        })
    }

    fn boxed_clone(&self) -> Box<dyn DriftDetector> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{AdwinConfig, PageHinkleyConfig};

    fn shifted(i: usize) -> f64 {
        let noise = ((i * 7919) % 101) as f64 / 101.0 - 0.5;
        if i < 1000 {
            noise
        } else {
            noise + 1.0
        }
    }

    #[test]
    fn both_detectors_flag_a_shift_through_the_core_trait() {
        let detectors: Vec<Box<dyn DriftDetector>> = vec![
            Box::new(
                PageHinkley::new(PageHinkleyConfig {
                    threshold: 10.0,
                    ..Default::default()
                })
                .unwrap(),
            ),
            Box::new(Adwin::new(AdwinConfig::default()).unwrap()),
        ];
        for mut d in detectors {
            let mut copy = d.clone();
            let mut hits = Vec::new();
            for i in 0..1500 {
                let s = d.update(shifted(i)).unwrap();
                assert!(s.statistic.is_finite());
                assert_eq!(s, copy.update(shifted(i)).unwrap(), "a clone evolves identically");
                if s.detected {
                    hits.push(i);
                }
            }
            assert!(!hits.is_empty() && hits[0] >= 1000 && hits[0] < 1100, "{hits:?}");
            let before = d.boxed_clone();
            for bad in [f64::NAN, f64::INFINITY, 1e300] {
                assert!(d.update(bad).is_err());
            }
            let mut before = before;
            assert_eq!(
                d.update(0.25).unwrap(),
                before.update(0.25).unwrap(),
                "a refusal changes nothing"
            );
        }
    }
}
