use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::validate::{
    check_elements, check_finite, check_finite_2d, check_len, check_shape, check_size, check_square, MAX_DIM,
    MAX_ELEMENTS, MAX_WINDOW,
};

/// Correlation from covariance: `ρ_ij = Σ_ij / sqrt(Σ_ii Σ_jj)`, with an exact unit diagonal.
///
/// A zero or negative variance is an error ([`CoreError::OutOfRange`] on `variance`):
/// the correlation of a constant series is undefined, and guessing would hide it.
pub fn covariance_to_correlation(cov: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
    let n = check_square("covariance", cov)?;
    check_finite_2d("covariance", cov)?;
    let mut out = Array2::zeros((n, n));
    corr_into(cov, out.view_mut())?;
    Ok(out)
}

/// A correlation needs a positive variance: the correlation of a constant series is undefined.
fn check_variance(v: f64) -> CoreResult<()> {
    if v > 0.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field: "variance",
            value: v,
            expected: "> 0 (a constant series has no correlation)",
        })
    }
}

fn corr_into(cov: ArrayView2<'_, f64>, mut out: ArrayViewMut2<'_, f64>) -> CoreResult<()> {
    let n = cov.nrows();
    for i in 0..n {
        check_variance(cov[[i, i]])?;
    }
    for i in 0..n {
        out[[i, i]] = 1.0;
        let si = cov[[i, i]].sqrt();
        for j in (i + 1)..n {
            // Divide twice: the product of two tiny standard deviations can underflow to 0.
            let r = (cov[[i, j]] / si / cov[[j, j]].sqrt()).clamp(-1.0, 1.0);
            out[[i, j]] = r;
            out[[j, i]] = r;
        }
    }
    Ok(())
}

/// A correlation matrix whose producer proved it positive semi-definite by construction.
///
/// Only this crate's estimators make one ([`RollingCorrelation::correlation_of_psd`]): the
/// rolling correlation is `D^{-1/2} C D^{-1/2}` with `C` the window's covariance, a Gram
/// matrix of the centred observations, so it is PSD in exact arithmetic (a repeated column
/// repeats a row and a column, which keeps it PSD; entries clamped to [−1, 1] move by at
/// most rounding). Rounding perturbs its eigenvalues by `O(n·ε)` of its scale, far inside
/// the tolerance of a numerical PSD check (e.g. 1e-9). A caller cannot build one from an
/// arbitrary matrix: a matrix from elsewhere goes through the consumer's own check
/// ([`Selector::select`](crate::traits::Selector::select)), while this type goes through
/// [`Selector::select_psd`](crate::traits::Selector::select_psd).
#[derive(Debug, Clone, PartialEq)]
pub struct PsdCorrelation {
    matrix: Array2<f64>,
}

impl PsdCorrelation {
    /// The matrix (square, symmetric, unit diagonal, entries in [−1, 1]).
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.matrix.view()
    }

    /// The matrix, giving up the certificate.
    pub fn into_inner(self) -> Array2<f64> {
        self.matrix
    }
}

/// Correlation (and covariance) over a trailing window of `window` observations, updated in
/// O(n²) per observation.
///
/// State: a ring buffer of the last `window` observations (readable with
/// [`window_observations`](Self::window_observations)) and the running sums
/// `Σ y` and `Σ y yᵀ` (upper triangle) of the shifted data `y = x − K`, where the shift `K`
/// is the first observation ever seen. Shifting makes the sums small, which keeps the
/// textbook formula `Σ yyᵀ/m − ȳȳᵀ` free of catastrophic cancellation (Chan, Golub &
/// LeVeque 1983). Each update adds the new observation and subtracts the one leaving the
/// window: `2·n(n+1)/2` multiply-adds and no allocation. The result equals recomputation
/// from the window to rounding (tested by property test).
///
/// Covariance uses `ddof = 1` (needs at least 2 observations in the window).
///
/// Limits: `n ≤` [`MAX_DIM`], `window ≤` [`MAX_WINDOW`], `window · n ≤` [`MAX_ELEMENTS`]
/// ([`CoreError::TooLarge`] at construction), and an observation may differ from the first
/// one by at most [`max_abs_deviation`](Self::max_abs_deviation) (`sqrt(f64::MAX / (4 ·
/// window))`, about 8e151 for a 252-day window), so the running sums never overflow.
/// Deserialization checks every size, index and value (see the module's tests), so a tampered
/// checkpoint is a load error, never a later panic or division by zero.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RollingCorrelation {
    n: usize,
    window: usize,
    shift: Vec<f64>,
    /// Ring buffer, `window × n`, of the observations as given.
    buffer: Vec<f64>,
    /// Next slot to write in the ring buffer.
    head: usize,
    /// Observations currently in the window.
    len: usize,
    sum: Vec<f64>,
    /// Upper triangle of Σ y yᵀ, row-major n × n (lower part unused).
    cross: Vec<f64>,
    #[serde(skip)]
    scratch: Vec<f64>,
    #[serde(skip)]
    evicted: Vec<f64>,
}
crate::checked_serde!(RollingCorrelation, RollingCorrelation::check);

impl PartialEq for RollingCorrelation {
    /// Equal state (the scratch buffers are not state).
    fn eq(&self, o: &Self) -> bool {
        self.n == o.n
            && self.window == o.window
            && self.shift == o.shift
            && self.buffer == o.buffer
            && self.head == o.head
            && self.len == o.len
            && self.sum == o.sum
            && self.cross == o.cross
    }
}

impl RollingCorrelation {
    /// A rolling estimator for `n` assets (`1 ≤ n ≤` [`MAX_DIM`]) over
    /// `2 ≤ window ≤` [`MAX_WINDOW`] observations, with `window · n ≤` [`MAX_ELEMENTS`].
    pub fn new(n: usize, window: usize) -> CoreResult<Self> {
        Self::check_sizes(n, window)?;
        Ok(Self {
            n,
            window,
            shift: Vec::new(),
            buffer: vec![0.0; window * n],
            head: 0,
            len: 0,
            sum: vec![0.0; n],
            cross: vec![0.0; n * n],
            scratch: vec![0.0; n],
            evicted: vec![0.0; n],
        })
    }

    fn check_sizes(n: usize, window: usize) -> CoreResult<()> {
        check_len("n", n, 1)?;
        check_len("window", window, 2)?;
        check_size("n", n, MAX_DIM)?;
        check_size("window", window, MAX_WINDOW)?;
        check_elements("window × n", &[window, n], MAX_ELEMENTS)?;
        check_elements("n × n", &[n, n], MAX_ELEMENTS)?;
        Ok(())
    }

    /// Checks a deserialized state: sizes within limits, buffers of the right lengths,
    /// indices in range, finite values, and rebuilds the scratch buffers.
    fn check(&mut self) -> CoreResult<()> {
        let (n, window) = (self.n, self.window);
        Self::check_sizes(n, window)?;
        check_shape("buffer", &[window * n], &[self.buffer.len()])?;
        check_shape("sum", &[n], &[self.sum.len()])?;
        check_shape("cross", &[n * n], &[self.cross.len()])?;
        if self.head >= window {
            return Err(CoreError::OutOfRange {
                field: "head",
                value: self.head as f64,
                expected: "< window",
            });
        }
        if self.len > window {
            return Err(CoreError::OutOfRange {
                field: "len",
                value: self.len as f64,
                expected: "<= window",
            });
        }
        if self.len < window && self.head != self.len {
            return Err(CoreError::OutOfRange {
                field: "head",
                value: self.head as f64,
                expected: "equal to len while the window fills",
            });
        }
        let expected_shift = if self.len == 0 { 0 } else { n };
        if self.shift.len() != expected_shift {
            return Err(CoreError::ShapeMismatch {
                field: "shift",
                expected: vec![expected_shift],
                found: vec![self.shift.len()],
            });
        }
        check_finite("shift", &self.shift)?;
        check_finite("buffer", &self.buffer)?;
        check_finite("sum", &self.sum)?;
        check_finite("cross", &self.cross)?;
        let limit = self.max_abs_deviation();
        let m = self.len as f64;
        if self.sum.iter().any(|v| v.abs() > m * limit)
            || self.cross.iter().any(|v| v.abs() > m * limit * limit)
        {
            return Err(CoreError::OutOfRange {
                field: "sum",
                value: m,
                expected: "running sums within len × the deviation limit",
            });
        }
        if !self.shift.is_empty() {
            let start = if self.len < window { 0 } else { self.head };
            for t in 0..self.len {
                let row = &self.buffer[((start + t) % window) * n..((start + t) % window) * n + n];
                for (x, k) in row.iter().zip(&self.shift) {
                    if (x - k).abs() > limit {
                        return Err(CoreError::OutOfRange {
                            field: "buffer",
                            value: *x,
                            expected: "within max_abs_deviation of the first observation",
                        });
                    }
                }
            }
        }
        self.scratch = vec![0.0; n];
        self.evicted = vec![0.0; n];
        Ok(())
    }

    /// The largest `|x_i − K_i|` (distance of an observation from the first one ever seen)
    /// that [`update`](Self::update) accepts: `sqrt(f64::MAX / (4 · window))`.
    pub fn max_abs_deviation(&self) -> f64 {
        (f64::MAX / (4.0 * self.window as f64)).sqrt()
    }

    /// Number of assets.
    pub fn n_assets(&self) -> usize {
        self.n
    }

    /// Window length.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Observations currently in the window (≤ `window`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the window holds no observation.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the window is full.
    pub fn is_full(&self) -> bool {
        self.len == self.window
    }

    /// Adds one observation (length n, finite, within
    /// [`max_abs_deviation`](Self::max_abs_deviation) of the first observation), evicting
    /// the oldest when the window is full. O(n²), no allocation. A rejected observation
    /// changes nothing.
    pub fn update(&mut self, x: &[f64]) -> CoreResult<()> {
        let n = self.n;
        check_shape("observation", &[n], &[x.len()])?;
        check_finite("observation", x)?;
        if !self.shift.is_empty() {
            let limit = self.max_abs_deviation();
            if let Some((xi, _)) = x.iter().zip(&self.shift).find(|(xi, k)| (*xi - *k).abs() > limit) {
                return Err(CoreError::OutOfRange {
                    field: "observation",
                    value: *xi,
                    expected: "within sqrt(f64::MAX / (4 window)) of the first observation",
                });
            }
        } else {
            self.shift = x.to_vec();
        }
        for ((s, xi), k) in self.scratch.iter_mut().zip(x).zip(&self.shift) {
            *s = xi - k;
        }
        let slot = self.head * n;
        if self.len == self.window {
            // Add the new observation and remove the evicted one in the same pass.
            for ((e, b), k) in self
                .evicted
                .iter_mut()
                .zip(&self.buffer[slot..slot + n])
                .zip(&self.shift)
            {
                *e = b - k;
            }
            let old = &self.evicted;
            let y = &self.scratch;
            for i in 0..n {
                let (yi, oi) = (y[i], old[i]);
                self.sum[i] += yi - oi;
                let row = &mut self.cross[i * n + i..i * n + n];
                for ((c, yj), oj) in row.iter_mut().zip(&y[i..]).zip(&old[i..]) {
                    *c += yi * yj - oi * oj;
                }
            }
        } else {
            let y = &self.scratch;
            for i in 0..n {
                let yi = y[i];
                self.sum[i] += yi;
                let row = &mut self.cross[i * n + i..i * n + n];
                for (c, yj) in row.iter_mut().zip(&y[i..]) {
                    *c += yi * yj;
                }
            }
            self.len += 1;
        }
        self.buffer[slot..slot + n].copy_from_slice(x);
        self.head = (self.head + 1) % self.window;
        Ok(())
    }

    /// The observations in the window for the assets at `columns`, oldest first
    /// (`len() × columns.len()`), exactly as they were given to [`update`](Self::update).
    pub fn window_observations(&self, columns: &[usize]) -> CoreResult<Array2<f64>> {
        if let Some(&c) = columns.iter().find(|&&c| c >= self.n) {
            return Err(CoreError::OutOfRange {
                field: "column",
                value: c as f64,
                expected: "< number of assets",
            });
        }
        let start = if self.len < self.window { 0 } else { self.head };
        Ok(Array2::from_shape_fn((self.len, columns.len()), |(t, j)| {
            self.buffer[((start + t) % self.window) * self.n + columns[j]]
        }))
    }

    fn check_ready(&self) -> CoreResult<()> {
        check_len("observations in window", self.len, 2)
    }

    /// Writes the window's covariance (ddof = 1) into `out` (n × n). No allocation.
    pub fn covariance_into(&self, mut out: ArrayViewMut2<'_, f64>) -> CoreResult<()> {
        self.check_ready()?;
        let n = self.n;
        check_shape("out", &[n, n], &[out.nrows(), out.ncols()])?;
        let m = self.len as f64;
        for i in 0..n {
            let mi = self.sum[i] / m;
            for j in i..n {
                let c = (self.cross[i * n + j] - m * mi * (self.sum[j] / m)) / (m - 1.0);
                out[[i, j]] = c;
                out[[j, i]] = c;
            }
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::Numerical {
                operation: "rolling covariance",
                detail: "the covariance overflows",
            });
        }
        Ok(())
    }

    /// The window's covariance (ddof = 1).
    pub fn covariance(&self) -> CoreResult<Array2<f64>> {
        self.check_ready()?;
        let mut out = Array2::zeros((self.n, self.n));
        self.covariance_into(out.view_mut())?;
        Ok(out)
    }

    /// Writes the window's correlation matrix into `out` (n × n). No allocation.
    /// A constant series in the window is an error ([`CoreError::OutOfRange`] on `variance`).
    pub fn correlation_into(&self, mut out: ArrayViewMut2<'_, f64>) -> CoreResult<()> {
        self.check_ready()?;
        let n = self.n;
        check_shape("out", &[n, n], &[out.nrows(), out.ncols()])?;
        let m = self.len as f64;
        // Diagonal first holds 1/sd_i (after checking the variance), then is set to 1.
        for i in 0..n {
            let v = (self.cross[i * n + i] - self.sum[i] * self.sum[i] / m) / (m - 1.0);
            check_variance(v)?;
            out[[i, i]] = 1.0 / v.sqrt();
        }
        let scale = 1.0 / (m - 1.0);
        match out.as_slice_mut() {
            Some(o) => {
                for i in 0..n {
                    let si = o[i * n + i] * scale;
                    let mi = self.sum[i] / m;
                    let cross = &self.cross[i * n..(i + 1) * n];
                    for j in (i + 1)..n {
                        let r = ((cross[j] - mi * self.sum[j]) * si * o[j * n + j]).clamp(-1.0, 1.0);
                        o[i * n + j] = r;
                    }
                }
                for i in 0..n {
                    for j in (i + 1)..n {
                        o[j * n + i] = o[i * n + j];
                    }
                }
            }
            None => {
                for i in 0..n {
                    let si = out[[i, i]] * scale;
                    let mi = self.sum[i] / m;
                    for j in (i + 1)..n {
                        let r =
                            ((self.cross[i * n + j] - mi * self.sum[j]) * si * out[[j, j]]).clamp(-1.0, 1.0);
                        out[[i, j]] = r;
                        out[[j, i]] = r;
                    }
                }
            }
        }
        for i in 0..n {
            out[[i, i]] = 1.0;
        }
        if out.iter().any(|v| v.is_nan()) {
            return Err(CoreError::Numerical {
                operation: "rolling correlation",
                detail: "variances too small to form a correlation",
            });
        }
        Ok(())
    }

    /// The correlation of the assets at `columns` (rows and columns in that order, a column
    /// may repeat), `columns.len()²` entries: the same numbers, bit for bit, as selecting
    /// those rows and columns of [`correlation`](Self::correlation), without forming the
    /// n × n matrix. Like it, a constant series of any asset in the window is an error
    /// ([`CoreError::OutOfRange`] on `variance`), and so is a column `≥ n`.
    pub fn correlation_of(&self, columns: &[usize]) -> CoreResult<Array2<f64>> {
        self.check_ready()?;
        if let Some(&c) = columns.iter().find(|&&c| c >= self.n) {
            return Err(CoreError::OutOfRange {
                field: "column",
                value: c as f64,
                expected: "< number of assets",
            });
        }
        let n = self.n;
        let m = self.len as f64;
        let scale = 1.0 / (m - 1.0);
        // 1/sd of every asset (every variance is checked, as the full matrix does)
        let mut inv_sd = Vec::with_capacity(n);
        for i in 0..n {
            let v = (self.cross[i * n + i] - self.sum[i] * self.sum[i] / m) / (m - 1.0);
            check_variance(v)?;
            inv_sd.push(1.0 / v.sqrt());
        }
        let k = columns.len();
        let mut out = Array2::zeros((k, k));
        if let Some(o) = out.as_slice_mut() {
            for (a, &ca) in columns.iter().enumerate() {
                o[a * k + a] = 1.0;
                for (b, &cb) in columns.iter().enumerate().skip(a + 1) {
                    // the entry (i, j), i < j, of the full matrix, computed as it computes it
                    let r = if ca == cb {
                        1.0
                    } else {
                        let (i, j) = if ca < cb { (ca, cb) } else { (cb, ca) };
                        let si = inv_sd[i] * scale;
                        let mi = self.sum[i] / m;
                        ((self.cross[i * n + j] - mi * self.sum[j]) * si * inv_sd[j]).clamp(-1.0, 1.0)
                    };
                    o[a * k + b] = r;
                    o[b * k + a] = r;
                }
            }
        }
        if out.iter().any(|v| v.is_nan()) {
            return Err(CoreError::Numerical {
                operation: "rolling correlation",
                detail: "variances too small to form a correlation",
            });
        }
        Ok(out)
    }

    /// [`correlation_of`](Self::correlation_of) (the same numbers, bit for bit) carried as a
    /// [`PsdCorrelation`]: the certificate that the matrix is positive semi-definite by
    /// construction, so a consumer may skip its own O(n³) check.
    pub fn correlation_of_psd(&self, columns: &[usize]) -> CoreResult<PsdCorrelation> {
        self.correlation_of(columns)
            .map(|matrix| PsdCorrelation { matrix })
    }

    /// The window's correlation matrix.
    pub fn correlation(&self) -> CoreResult<Array2<f64>> {
        self.check_ready()?;
        let mut out = Array2::zeros((self.n, self.n));
        self.correlation_into(out.view_mut())?;
        Ok(out)
    }

    /// Feeds every row of `returns` (T × n) in order. Every row is checked first, so a
    /// rejected call changes nothing.
    pub fn extend(&mut self, returns: ArrayView2<'_, f64>) -> CoreResult<()> {
        check_shape("returns (columns)", &[self.n], &[returns.ncols()])?;
        check_finite_2d("returns", returns)?;
        if let Some(first) = returns.rows().into_iter().next() {
            let limit = self.max_abs_deviation();
            let shift: Vec<f64> = if self.shift.is_empty() {
                first.to_vec()
            } else {
                self.shift.clone()
            };
            for row in returns.rows() {
                if let Some((x, _)) = row.iter().zip(&shift).find(|(x, k)| (*x - *k).abs() > limit) {
                    return Err(CoreError::OutOfRange {
                        field: "returns",
                        value: *x,
                        expected: "within sqrt(f64::MAX / (4 window)) of the first observation",
                    });
                }
            }
        }
        let mut row_buf = vec![0.0; self.n];
        for row in returns.rows() {
            for (b, v) in row_buf.iter_mut().zip(row.iter()) {
                *b = *v;
            }
            self.update(&row_buf)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::sample_covariance;
    use ndarray::{array, s, Array2};
    use proptest::prelude::*;

    #[test]
    fn correlation_from_covariance() {
        let c = array![[4.0, 2.0], [2.0, 9.0]];
        let r = covariance_to_correlation(c.view()).unwrap();
        assert!((r[[0, 1]] - 2.0 / 6.0).abs() < 1e-15);
        assert_eq!(r[[0, 0]], 1.0);
        assert!(covariance_to_correlation(array![[0.0, 0.0], [0.0, 1.0]].view()).is_err());
        assert!(covariance_to_correlation(array![[1.0, 0.0]].view()).is_err());
    }

    #[test]
    fn rolling_rejects_bad_input() {
        assert!(RollingCorrelation::new(0, 10).is_err());
        assert!(RollingCorrelation::new(3, 1).is_err());
        let mut r = RollingCorrelation::new(2, 3).unwrap();
        assert!(matches!(r.update(&[1.0]), Err(CoreError::ShapeMismatch { .. })));
        assert!(matches!(
            r.update(&[1.0, f64::NAN]),
            Err(CoreError::NonFinite { .. })
        ));
        r.update(&[1.0, 2.0]).unwrap();
        assert!(matches!(r.correlation(), Err(CoreError::EmptyInput { .. })));
        r.update(&[1.0, 3.0]).unwrap();
        // first column constant -> undefined correlation
        assert!(matches!(r.correlation(), Err(CoreError::OutOfRange { .. })));
        let mut out = Array2::zeros((3, 3));
        assert!(r.covariance_into(out.view_mut()).is_err());
        assert!(r.window_observations(&[2]).is_err());
    }

    #[test]
    fn strided_output_equals_contiguous() {
        let x = data(40, 5, 3, 1.0);
        let mut r = RollingCorrelation::new(5, 20).unwrap();
        r.extend(x.view()).unwrap();
        let a = r.correlation().unwrap();
        let mut big = Array2::zeros((10, 5));
        r.correlation_into(big.slice_mut(s![..;2, ..]).reversed_axes())
            .unwrap();
        let b = big.slice(s![..;2, ..]).reversed_axes().to_owned();
        for (u, v) in a.iter().zip(b.iter()) {
            assert!((u - v).abs() < 1e-15);
        }
    }

    #[test]
    fn rolling_checkpoint_is_validated_on_load() {
        let mut r = RollingCorrelation::new(2, 3).unwrap();
        r.extend(array![[1.0, 2.0], [2.0, 1.0], [0.5, 0.7], [0.1, 0.2]].view())
            .unwrap();
        let json = serde_json::to_string(&r).unwrap();
        let back: RollingCorrelation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.correlation().unwrap(), r.correlation().unwrap());
        // window 0 used to load and then divide by zero in `update`.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["window"] = 0.into();
        assert!(serde_json::from_value::<RollingCorrelation>(v).is_err());
        for (field, value) in [
            ("head", serde_json::json!(3)),
            ("len", serde_json::json!(4)),
            ("n", serde_json::json!(3)),
            ("buffer", serde_json::json!([1.0])),
            ("sum", serde_json::json!([1.0])),
            ("cross", serde_json::json!([1.0, 2.0])),
            ("shift", serde_json::json!([])),
            ("sum", serde_json::json!([1e308, 0.0])),
        ] {
            let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
            v[field] = value.clone();
            assert!(
                serde_json::from_value::<RollingCorrelation>(v).is_err(),
                "{field} = {value} loaded"
            );
        }
    }

    #[test]
    fn rolling_rejects_absurd_sizes() {
        for (n, w) in [
            (1, usize::MAX),
            (usize::MAX, 2),
            (1 << 40, 2),
            (2, 1 << 40),
            (1 << 15, 1 << 15),
        ] {
            assert!(
                matches!(RollingCorrelation::new(n, w), Err(CoreError::TooLarge { .. })),
                "{n} x {w}"
            );
        }
    }

    #[test]
    fn rolling_huge_values_work_or_are_rejected_without_change() {
        // 1e150-scale data: the shifted sums stay finite and the correlation matches.
        let x = data(30, 3, 9, 1.0);
        let mut a = RollingCorrelation::new(3, 10).unwrap();
        a.extend(x.view()).unwrap();
        let mut b = RollingCorrelation::new(3, 10).unwrap();
        b.extend((&x * 1e150).view()).unwrap();
        for (u, v) in a
            .correlation()
            .unwrap()
            .iter()
            .zip(b.correlation().unwrap().iter())
        {
            assert!((u - v).abs() < 1e-9, "{u} vs {v}");
        }
        assert!(b.covariance().unwrap().iter().all(|v| v.is_finite()));
        // A jump to 1e300 would overflow the sums: rejected, state untouched.
        let before = b.clone();
        assert!(matches!(
            b.update(&[1e300, 0.0, 0.0]),
            Err(CoreError::OutOfRange { .. })
        ));
        assert!(b
            .extend(array![[1.0, 1.0, 1.0], [f64::MAX, 0.0, 0.0]].view())
            .is_err());
        assert_eq!(b, before);
    }

    fn data(t: usize, n: usize, seed: u64, level: f64) -> Array2<f64> {
        // small deterministic LCG so the property test drives shape and values
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Array2::from_shape_fn((t, n), |(_, j)| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5;
            level * (j as f64 + 1.0) + 0.02 * u
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn correlation_of_equals_the_selected_full_matrix(
            n in 1usize..9, window in 2usize..20, extra in 0usize..40, seed in any::<u64>(),
            picks in proptest::collection::vec(0usize..9, 0..12),
        ) {
            let x = data(window + extra, n, seed, 1.0);
            let mut r = RollingCorrelation::new(n, window).unwrap();
            r.extend(x.view()).unwrap();
            let cols: Vec<usize> = picks.iter().map(|c| c % n).collect();
            let full = r.correlation().unwrap();
            let sub = r.correlation_of(&cols).unwrap();
            prop_assert_eq!(sub.dim(), (cols.len(), cols.len()));
            for (a, &ca) in cols.iter().enumerate() {
                for (b, &cb) in cols.iter().enumerate() {
                    prop_assert_eq!(sub[[a, b]].to_bits(), full[[ca, cb]].to_bits());
                }
            }
            prop_assert!(r.correlation_of(&[n]).is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn rolling_equals_recomputation(
            n in 1usize..8, window in 2usize..30, extra in 0usize..80, seed in any::<u64>(),
            level in prop_oneof![Just(0.0), Just(1.0), Just(100.0)],
        ) {
            let t = window + extra;
            let x = data(t, n, seed, level);
            let mut r = RollingCorrelation::new(n, window).unwrap();
            for (k, row) in x.rows().into_iter().enumerate() {
                r.update(row.as_slice().unwrap()).unwrap();
                if k >= 1 {
                    let lo = (k + 1).saturating_sub(window);
                    let win = x.slice(s![lo..=k, ..]);
                    let expect = sample_covariance(win, 1).unwrap();
                    let cols: Vec<usize> = (0..n).rev().collect();
                    let obs = r.window_observations(&cols).unwrap();
                    for (t, row) in win.rows().into_iter().enumerate() {
                        for (j, &c) in cols.iter().enumerate() {
                            prop_assert_eq!(obs[[t, j]], row[c]);
                        }
                    }
                    let got = r.covariance().unwrap();
                    for (a, b) in got.iter().zip(expect.iter()) {
                        prop_assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "cov {} vs {}", a, b);
                    }
                    let ce = covariance_to_correlation(expect.view()).unwrap();
                    let cg = r.correlation().unwrap();
                    // The rolling sums carry an absolute error of order ε·(spread)²·updates
                    // (≤ 1e-15 here: deviations from the shift are below 0.02); a correlation
                    // inherits it divided by √(vᵢ vⱼ), which is large for a nearly constant
                    // window (two points 1e-5 apart: ρ = ±1 to about 3e-8).
                    for ((i, j), b) in ce.indexed_iter() {
                        let a = cg[[i, j]];
                        let scale = (expect[[i, i]] * expect[[j, j]]).sqrt();
                        let tol = 1e-8 + 1e-15 / scale;
                        prop_assert!((a - b).abs() <= tol, "corr {} vs {} (tolerance {})", a, b, tol);
                    }
                }
            }
        }
    }
}
