//! Trailing return history of the universe, maintained from snapshot prices.

use ndarray::Array2;
use prudentia_core::estimators::{PsdCorrelation, RollingCorrelation};
use prudentia_core::validate::{check_elements, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW};
use prudentia_core::{CoreError, CoreResult};
use serde::{Deserialize, Serialize};

/// The largest price move between two consecutive observations the history accepts, as a
/// ratio: `p_t / p_{t−1}` must lie in `[1 / MAX_PRICE_RATIO, MAX_PRICE_RATIO]`. Larger moves
/// are data faults (a price off by orders of magnitude), not returns; the pipeline treats such
/// a price as not validated and carries the last one.
pub const MAX_PRICE_RATIO: f64 = 1e3;

/// Whether `ratio` (a new price over the last one) is finite and within
/// [`MAX_PRICE_RATIO`] either way.
pub(crate) fn plausible_ratio(ratio: f64) -> bool {
    ratio.is_finite() && (1.0 / MAX_PRICE_RATIO..=MAX_PRICE_RATIO).contains(&ratio)
}

/// The last `window` simple returns `r_t = p_t / p_{t−1} − 1` of each universe asset, and
/// their rolling correlation (updated in O(n²) per observation). The returns themselves are
/// the rolling estimator's window, so they are stored once.
///
/// Sizes are limited: `n ≤ MAX_DIM`, `window ≤ MAX_WINDOW`, `window·n` and `n²` at most
/// `MAX_ELEMENTS` (`prudentia_core::validate`). A checkpoint holds the returns in the window
/// (oldest first) and the last prices; loading checks them and rebuilds the estimator from the
/// returns, so a reloaded history gives the same correlations to rounding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ReturnHistory {
    n: usize,
    last_prices: Option<Vec<f64>>,
    #[serde(with = "rolling_repr")]
    rolling: RollingCorrelation,
    #[serde(skip)]
    scratch: Vec<f64>,
}

prudentia_core::checked_serde!(ReturnHistory, ReturnHistory::check_loaded);

/// Equal when the assets, last prices and rolling state agree (the scratch buffer is not state).
impl PartialEq for ReturnHistory {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.last_prices == other.last_prices && self.rolling == other.rolling
    }
}

fn check_dims(n: usize, window: usize) -> CoreResult<()> {
    check_size("number of assets", n, MAX_DIM)?;
    check_size("history_window", window, MAX_WINDOW)?;
    check_elements("history_window × assets", &[window, n], MAX_ELEMENTS)?;
    check_elements("assets × assets", &[n, n], MAX_ELEMENTS)?;
    Ok(())
}

fn check_prices(prices: &[f64]) -> CoreResult<()> {
    for (index, &p) in prices.iter().enumerate() {
        if !(p.is_finite() && p > 0.0) {
            return Err(CoreError::NonFinite {
                field: "prices (finite and > 0)",
                index,
                value: p,
            });
        }
    }
    Ok(())
}

impl ReturnHistory {
    /// History for `n` assets over `window ≥ 2` returns (sizes within the limits above).
    pub fn new(n: usize, window: usize) -> CoreResult<Self> {
        check_dims(n, window)?;
        Ok(Self {
            n,
            last_prices: None,
            rolling: RollingCorrelation::new(n, window)?,
            scratch: vec![0.0; n],
        })
    }

    fn check_loaded(&mut self) -> CoreResult<()> {
        prudentia_core::validate::check_shape("history assets", &[self.n], &[self.rolling.n_assets()])?;
        if let Some(last) = &self.last_prices {
            prudentia_core::validate::check_shape("last_prices", &[self.n], &[last.len()])?;
            check_prices(last)?;
        } else if !self.rolling.is_empty() {
            return Err(CoreError::EmptyInput {
                field: "last_prices (returns are held)",
                len: 0,
                min: self.n,
            });
        }
        self.scratch = vec![0.0; self.n];
        Ok(())
    }

    /// Number of assets.
    pub(crate) fn n_assets(&self) -> usize {
        self.n
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

    /// Adds a price vector (finite, > 0). The first call only stores the prices. A price
    /// that moved by more than [`MAX_PRICE_RATIO`] either way since the last call is an
    /// error. A rejected call changes nothing.
    pub fn push_prices(&mut self, prices: &[f64]) -> CoreResult<()> {
        prudentia_core::validate::check_shape("prices", &[self.n], &[prices.len()])?;
        check_prices(prices)?;
        match &mut self.last_prices {
            Some(last) => {
                if let Some(ratio) = prices
                    .iter()
                    .zip(last.iter())
                    .map(|(p, q)| p / q)
                    .find(|r| !plausible_ratio(*r))
                {
                    return Err(CoreError::OutOfRange {
                        field: "price ratio to the last price",
                        value: ratio,
                        expected: "within MAX_PRICE_RATIO (1e3) either way",
                    });
                }
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

    /// Correlation of the assets at `columns` (rows and columns in that order): the entries of
    /// [`correlation`](Self::correlation) at those rows and columns, bit for bit (a constant
    /// series anywhere is an error), computed from the running sums in O(columns²) without
    /// forming the full matrix.
    #[cfg(test)]
    pub(crate) fn correlation_of(&self, columns: &[usize]) -> CoreResult<Array2<f64>> {
        self.rolling.correlation_of(columns)
    }

    /// [`correlation_of`](Self::correlation_of) with the certificate that it is PSD by
    /// construction.
    pub(crate) fn correlation_of_psd(&self, columns: &[usize]) -> CoreResult<PsdCorrelation> {
        self.rolling.correlation_of_psd(columns)
    }
}

/// The checkpoint form of the rolling estimator: its window length, number of assets and the
/// returns in the window, oldest first; loading replays them into a fresh estimator.
mod rolling_repr {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Repr {
        n: usize,
        window: usize,
        returns: Vec<Vec<f64>>,
    }

    pub(super) fn serialize<S: Serializer>(r: &RollingCorrelation, s: S) -> Result<S::Ok, S::Error> {
        let all: Vec<usize> = (0..r.n_assets()).collect();
        let returns = r
            .window_observations(&all)
            .map_err(serde::ser::Error::custom)?
            .outer_iter()
            .map(|row| row.to_vec())
            .collect();
        Repr {
            n: r.n_assets(),
            window: r.window(),
            returns,
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RollingCorrelation, D::Error> {
        let repr = Repr::deserialize(d)?;
        let build = || -> CoreResult<RollingCorrelation> {
            check_dims(repr.n, repr.window)?;
            if repr.returns.len() > repr.window {
                return Err(CoreError::TooLarge {
                    field: "returns in the window",
                    value: repr.returns.len() as u128,
                    max: repr.window as u128,
                });
            }
            let mut r = RollingCorrelation::new(repr.n, repr.window)?;
            for row in &repr.returns {
                prudentia_core::validate::check_shape("return row", &[repr.n], &[row.len()])?;
                if let Some(index) = row
                    .iter()
                    .position(|x| !(x.is_finite() && *x >= -1.0 && *x <= MAX_PRICE_RATIO))
                {
                    return Err(CoreError::OutOfRange {
                        field: "return in the history",
                        value: row[index],
                        expected: "finite, in [1/MAX_PRICE_RATIO - 1, MAX_PRICE_RATIO - 1]",
                    });
                }
                r.update(row)?;
            }
            Ok(r)
        };
        build().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson correlation of two columns by the direct two-pass formula.
    fn direct(x: &[f64], y: &[f64]) -> f64 {
        let m = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / m, y.iter().sum::<f64>() / m);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (a, b) in x.iter().zip(y) {
            sxy += (a - mx) * (b - my);
            sxx += (a - mx) * (a - mx);
            syy += (b - my) * (b - my);
        }
        sxy / (sxx * syy).sqrt()
    }

    #[test]
    fn correlation_of_matches_the_direct_formula_after_the_window_wraps() {
        // 9 assets, window 20, 137 price vectors: the ring buffer wraps several times
        let (n, window) = (9, 20);
        let mut h = ReturnHistory::new(n, window).unwrap();
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut prices = vec![100.0; n];
        for t in 0..137 {
            let common = {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            for (i, p) in prices.iter_mut().enumerate() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let own = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                *p *= 1.0 + 0.02 * (own + (i as f64 / n as f64) * common);
            }
            h.push_prices(&prices).unwrap();
            if t < 3 {
                continue;
            }
            let cols = [7, 0, 3, 3, 8, 1];
            let got = h.correlation_of(&cols).unwrap();
            let r = h.returns(&cols).unwrap();
            let full = h.correlation().unwrap();
            for a in 0..cols.len() {
                for b in 0..cols.len() {
                    let want = direct(&r.column(a).to_vec(), &r.column(b).to_vec());
                    assert!(
                        (got[[a, b]] - want).abs() < 1e-12,
                        "t {t} ({a}, {b}): {} vs {want}",
                        got[[a, b]]
                    );
                    assert_eq!(got[[a, b]], full[[cols[a], cols[b]]]);
                }
            }
        }
        assert!(h.correlation_of(&[n]).is_err());
    }

    #[test]
    fn sizes_beyond_the_limits_are_typed_errors() {
        for (n, w) in [
            (usize::MAX, 10),
            (10, usize::MAX),
            (1 << 16, 1 << 16),
            (0, 10),
            (3, 1),
        ] {
            assert!(ReturnHistory::new(n, w).is_err(), "{n} x {w}");
        }
    }

    #[test]
    fn a_rejected_push_changes_nothing_and_implausible_moves_are_refused() {
        let mut h = ReturnHistory::new(2, 5).unwrap();
        h.push_prices(&[100.0, 50.0]).unwrap();
        h.push_prices(&[101.0, 49.0]).unwrap();
        let before = h.clone();
        for bad in [[f64::NAN, 1.0], [1e300, 50.0], [5e-324, 50.0], [0.0, 50.0]] {
            assert!(h.push_prices(&bad).is_err(), "{bad:?}");
            assert_eq!(h, before);
        }
        assert!(h.push_prices(&[1.0]).is_err());
        assert_eq!(h, before);
    }

    #[test]
    fn checkpoints_round_trip_and_bad_ones_are_refused() {
        let mut h = ReturnHistory::new(2, 3).unwrap();
        for p in [
            [100.0, 50.0],
            [101.0, 49.0],
            [99.0, 51.0],
            [100.0, 52.0],
            [98.0, 50.0],
        ] {
            h.push_prices(&p).unwrap();
        }
        let json = serde_json::to_string(&h).unwrap();
        let back: ReturnHistory = serde_json::from_str(&json).unwrap();
        assert_eq!(back.len(), h.len());
        assert_eq!(back.last_prices(), h.last_prices());
        assert_eq!(back.returns(&[0, 1]).unwrap(), h.returns(&[0, 1]).unwrap());
        let (a, b) = (back.correlation().unwrap(), h.correlation().unwrap());
        assert!(a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["n"] = 3.into();
        assert!(serde_json::from_value::<ReturnHistory>(v).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["rolling"]["window"] = 1.into();
        assert!(serde_json::from_value::<ReturnHistory>(v).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["rolling"]["window"] = serde_json::Value::from(1u64 << 40);
        assert!(serde_json::from_value::<ReturnHistory>(v).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["last_prices"] = serde_json::Value::Null;
        assert!(serde_json::from_value::<ReturnHistory>(v).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["last_prices"][0] = (-1.0).into();
        assert!(serde_json::from_value::<ReturnHistory>(v).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["rolling"]["returns"][0][1] = 1e300.into();
        assert!(serde_json::from_value::<ReturnHistory>(v).is_err());
    }
}
