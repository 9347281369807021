//! The hazard `H(r)` of a run ending.

use prudentia_core::validate::{check_len, check_size, MAX_WINDOW};
use prudentia_core::CoreError;
use serde::{Deserialize, Serialize};

/// The hazard `H(r)`: probability that a run holding `r` observations ends after the next one.
/// Validated when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum Hazard {
    /// Memoryless: `H(r) = 1/λ` for all `r`, i.e. geometric run lengths with mean λ.
    Constant {
        /// Expected run length λ in observations; > 1. Default 250 (about one change a
        /// trading year on daily data).
        expected_run_length: f64,
    },
    /// User-defined: `H(r) = probabilities[min(r, len − 1)]`, the last value repeating.
    Table {
        /// Hazard per run length, each in the open interval (0, 1); at least one value and
        /// at most `MAX_WINDOW` (2²⁴).
        probabilities: Vec<f64>,
    },
}
prudentia_core::checked_serde!(Hazard, Hazard::check);

impl Default for Hazard {
    fn default() -> Self {
        Hazard::Constant {
            expected_run_length: 250.0,
        }
    }
}

impl Hazard {
    /// Checks the hazard.
    pub fn validate(&self) -> Result<(), CoreError> {
        match self {
            Hazard::Constant { expected_run_length } => {
                if expected_run_length.is_finite() && *expected_run_length > 1.0 {
                    Ok(())
                } else {
                    Err(CoreError::OutOfRange {
                        field: "hazard.expected_run_length",
                        value: *expected_run_length,
                        expected: "finite and > 1 observations",
                    })
                }
            }
            Hazard::Table { probabilities } => {
                check_len("hazard.probabilities", probabilities.len(), 1)?;
                check_size("hazard.probabilities", probabilities.len(), MAX_WINDOW)?;
                for &p in probabilities {
                    if !(p.is_finite() && p > 0.0 && p < 1.0) {
                        return Err(CoreError::OutOfRange {
                            field: "hazard.probabilities",
                            value: p,
                            expected: "in the open interval (0, 1)",
                        });
                    }
                }
                Ok(())
            }
        }
    }

    pub(super) fn check(&mut self) -> Result<(), CoreError> {
        self.validate()
    }

    /// `H(r)` (NaN for an empty table, which `validate` rejects).
    pub fn at(&self, run_length: usize) -> f64 {
        match self {
            Hazard::Constant { expected_run_length } => 1.0 / expected_run_length,
            Hazard::Table { probabilities } => probabilities
                .get(run_length.min(probabilities.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN),
        }
    }

    /// `(ln H(r), ln(1 − H(r)))` for each tabulated run length.
    pub(super) fn log_table(&self) -> Vec<(f64, f64)> {
        match self {
            Hazard::Constant { .. } => {
                let h = self.at(0);
                vec![(h.ln(), (-h).ln_1p())]
            }
            Hazard::Table { probabilities } => {
                probabilities.iter().map(|&h| (h.ln(), (-h).ln_1p())).collect()
            }
        }
    }
}
