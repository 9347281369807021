//! Trailing return history of the universe, maintained from snapshot prices.

use ndarray::Array2;
use prudentia_core::estimators::RollingCorrelation;
use prudentia_core::{CoreError, CoreResult};
use serde::{Deserialize, Serialize};

/// The last `window` simple returns `r_t = p_t / p_{t−1} − 1` of each universe asset, and
/// their rolling correlation (updated in O(n²) per observation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnHistory {
    n: usize,
    window: usize,
    last_prices: Option<Vec<f64>>,
    ring: Vec<f64>,
    head: usize,
    len: usize,
    rolling: RollingCorrelation,
    scratch: Vec<f64>,
}

impl ReturnHistory {
    /// History for `n` assets over `window ≥ 2` returns.
    pub fn new(n: usize, window: usize) -> CoreResult<Self> {
        Ok(Self {
            n,
            window,
            last_prices: None,
            ring: vec![0.0; n * window],
            head: 0,
            len: 0,
            rolling: RollingCorrelation::new(n, window)?,
            scratch: vec![0.0; n],
        })
    }

    /// Number of returns held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no return is held yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        if let Some(last) = &self.last_prices {
            for ((s, p), q) in self.scratch.iter_mut().zip(prices).zip(last) {
                *s = p / q - 1.0;
            }
            self.rolling.update(&self.scratch)?;
            let slot = self.head * self.n;
            self.ring[slot..slot + self.n].copy_from_slice(&self.scratch);
            self.head = (self.head + 1) % self.window;
            self.len = (self.len + 1).min(self.window);
        }
        match &mut self.last_prices {
            Some(last) => last.copy_from_slice(prices),
            None => self.last_prices = Some(prices.to_vec()),
        }
        Ok(())
    }

    /// Returns of the assets at `columns`, oldest first (len × columns.len()).
    pub fn returns(&self, columns: &[usize]) -> Array2<f64> {
        let start = if self.len < self.window { 0 } else { self.head };
        Array2::from_shape_fn((self.len, columns.len()), |(t, j)| {
            let slot = (start + t) % self.window;
            self.ring[slot * self.n + columns[j]]
        })
    }

    /// Correlation of all assets over the window.
    pub fn correlation(&self) -> CoreResult<Array2<f64>> {
        self.rolling.correlation()
    }
}
