//! Trailing return history of the universe, maintained from snapshot prices.

use ndarray::Array2;
use prudentia_core::estimators::RollingCorrelation;
use prudentia_core::{CoreError, CoreResult};
use serde::{Deserialize, Serialize};

/// The last `window` simple returns `r_t = p_t / p_{t−1} − 1` of each universe asset, and
/// their rolling correlation (updated in O(n²) per observation). The returns themselves are
/// the rolling estimator's window, so they are stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnHistory {
    n: usize,
    last_prices: Option<Vec<f64>>,
    rolling: RollingCorrelation,
    scratch: Vec<f64>,
}

impl ReturnHistory {
    /// History for `n` assets over `window ≥ 2` returns.
    pub fn new(n: usize, window: usize) -> CoreResult<Self> {
        Ok(Self {
            n,
            last_prices: None,
            rolling: RollingCorrelation::new(n, window)?,
            scratch: vec![0.0; n],
        })
    }

    /// Number of returns held.
    pub fn len(&self) -> usize {
        self.rolling.len()
    }

    /// Whether no return is held yet.
    pub fn is_empty(&self) -> bool {
        self.rolling.is_empty()
    }

    /// The last prices pushed, if any.
    pub fn last_prices(&self) -> Option<&[f64]> {
        self.last_prices.as_deref()
    }

    /// Adds a price vector (finite, > 0). The first call only stores the prices.
    pub fn push_prices(&mut self, prices: &[f64]) -> CoreResult<()> {
        prudentia_core::validate::check_shape("prices", &[self.n], &[prices.len()])?;
        for (index, &p) in prices.iter().enumerate() {
            if !(p.is_finite() && p > 0.0) {
                return Err(CoreError::NonFinite {
                    field: "prices (finite and > 0)",
                    index,
                    value: p,
                });
            }
        }
        match &mut self.last_prices {
            Some(last) => {
                for ((s, p), q) in self.scratch.iter_mut().zip(prices).zip(last.iter()) {
                    *s = p / q - 1.0;
                }
                self.rolling.update(&self.scratch)?;
                last.copy_from_slice(prices);
            }
            None => self.last_prices = Some(prices.to_vec()),
        }
        Ok(())
    }

    /// Returns of the assets at `columns`, oldest first (len × columns.len()).
    pub fn returns(&self, columns: &[usize]) -> CoreResult<Array2<f64>> {
        self.rolling.window_observations(columns)
    }

    /// Correlation of all assets over the window.
    pub fn correlation(&self) -> CoreResult<Array2<f64>> {
        self.rolling.correlation()
    }
}
