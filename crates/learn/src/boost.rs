//! Gradient-boosted regression trees on histograms (Friedman 2001, Annals of Statistics
//! 29(5), "Greedy function approximation: a gradient boosting machine", with the squared
//! loss; the histogram split search of LightGBM, Ke et al. 2017, NeurIPS), with seeded row
//! and column subsampling (Friedman 2002, "Stochastic gradient boosting", Computational
//! Statistics & Data Analysis 38) and a batch refit API for models retrained on a sliding
//! window of recent rows ([`BatchRefit`]).
//!
//! The model is `f(x) = s · (f₀ + ν Σₘ Tₘ(x))` where `s = max |y|` rescales the target so
//! that inputs from `5e-324` to `f64::MAX` fit without overflow, `f₀` is the mean of `y / s`
//! and each tree `Tₘ` ([`crate::tree`]) is fitted to the residuals `y/s − f` of a seeded
//! subsample of the rows, on a seeded subsample of the columns.
//!
//! ```
//! use ndarray::{Array1, Array2};
//! use prudentia_core::traits::{Fit, Predict};
//! use prudentia_learn::boost::{BoostConfig, BoostData};
//!
//! # fn main() -> Result<(), prudentia_learn::LearnError> {
//! let x = Array2::from_shape_fn((400, 2), |(i, j)| ((i * (7 + 5 * j)) % 97) as f64 / 97.0);
//! let y = Array1::from_shape_fn(400, |i| if x[[i, 0]] > 0.5 { 2.0 } else { -1.0 } + x[[i, 1]]);
//! let model = BoostConfig { n_rounds: 200, ..Default::default() }.fit(&BoostData::new(x.view(), y.view()))?;
//! assert!(model.status().is_converged());
//! let p = model.predict(x.view())?;
//! let rmse = ((&p - &y).mapv(|e| e * e).sum() / 400.0).sqrt();
//! assert!(rmse < 0.1, "{rmse}");
//! # Ok(()) }
//! ```

use std::collections::VecDeque;

use ndarray::{Array1, ArrayView1, ArrayView2};
use prudentia_core::traits::{Fit, Predict};
use prudentia_core::validate::{
    check_elements, check_finite, check_finite_1d, check_finite_2d, check_len, check_shape, check_size,
    MAX_DIM, MAX_ELEMENTS, MAX_WINDOW,
};
use prudentia_core::{CoreError, Status};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{LearnError, LearnResult};
use crate::tree::{Binned, Tree, TreeBuilder};

fn out_of_range(field: &'static str, value: f64, expected: &'static str) -> LearnError {
    CoreError::OutOfRange {
        field,
        value,
        expected,
    }
    .into()
}

fn unit_interval(field: &'static str, v: f64) -> LearnResult<()> {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(out_of_range(field, v, "in (0, 1]"))
    }
}

/// Settings of a boosted-tree fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(default)]
pub struct BoostConfig {
    /// Boosting rounds (one tree each), default 100, in `1..=MAX_DIM`.
    pub n_rounds: usize,
    /// Learning rate (shrinkage) ν, default 0.1, in `(0, 1]`.
    pub learning_rate: f64,
    /// Depth of each tree, default 3, in `1..=12`.
    pub max_depth: usize,
    /// Minimum rows per leaf, default 5, in `1..=MAX_WINDOW`.
    pub min_samples_leaf: usize,
    /// Histogram bins per feature, default 255, in `2..=256`.
    pub max_bins: usize,
    /// Share of rows drawn without replacement for each tree, default 1.0, in `(0, 1]`.
    pub subsample: f64,
    /// Share of columns drawn for each tree, default 1.0, in `(0, 1]` (at least one).
    pub col_sample: f64,
    /// Seed of the row and column draws (the fit is a function of data, settings and seed).
    pub seed: u64,
}
prudentia_core::checked_serde!(BoostConfig, BoostConfig::validate);

impl Default for BoostConfig {
    fn default() -> Self {
        Self {
            n_rounds: 100,
            learning_rate: 0.1,
            max_depth: 3,
            min_samples_leaf: 5,
            max_bins: 255,
            subsample: 1.0,
            col_sample: 1.0,
            seed: 0,
        }
    }
}

impl BoostConfig {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> LearnResult<()> {
        check_len("n_rounds", self.n_rounds, 1)?;
        check_size("n_rounds", self.n_rounds, MAX_DIM)?;
        check_len("min_samples_leaf", self.min_samples_leaf, 1)?;
        check_size("min_samples_leaf", self.min_samples_leaf, MAX_WINDOW)?;
        unit_interval("learning_rate", self.learning_rate)?;
        unit_interval("subsample", self.subsample)?;
        unit_interval("col_sample", self.col_sample)?;
        if !(1..=12).contains(&self.max_depth) {
            return Err(out_of_range("max_depth", self.max_depth as f64, "in 1..=12"));
        }
        if !(2..=256).contains(&self.max_bins) {
            return Err(out_of_range("max_bins", self.max_bins as f64, "in 2..=256"));
        }
        Ok(())
    }
}

/// Training data of a boosted-tree fit: `x` (n × p) and `y` (n).
#[derive(Debug, Clone, Copy)]
pub struct BoostData<'a> {
    /// Features, one row per observation.
    pub x: ArrayView2<'a, f64>,
    /// Targets.
    pub y: ArrayView1<'a, f64>,
}

impl<'a> BoostData<'a> {
    /// The data `(x, y)`.
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> Self {
        Self { x, y }
    }
}

/// A fitted boosted-tree regression (fields private; validated on load: finite numbers,
/// valid trees reading features below `n_features`, a scale > 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[must_use]
pub struct BoostedTrees {
    config: BoostConfig,
    n_features: usize,
    scale: f64,
    init: f64,
    trees: Vec<Tree>,
    train_mse: Vec<f64>,
    status: Status,
}
prudentia_core::checked_serde!(BoostedTrees, BoostedTrees::check);

impl BoostedTrees {
    fn check(&mut self) -> LearnResult<()> {
        self.config.validate()?;
        check_len("n_features", self.n_features, 1)?;
        check_size("n_features", self.n_features, MAX_DIM)?;
        check_size("trees", self.trees.len(), self.config.n_rounds)?;
        check_size("train_mse", self.train_mse.len(), self.config.n_rounds)?;
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(out_of_range("scale", self.scale, "finite and > 0"));
        }
        // init is the mean of y / max|y|
        if !(self.init.is_finite() && self.init.abs() <= 1.0) {
            return Err(out_of_range("init", self.init, "in [-1, 1]"));
        }
        check_finite("train_mse", &self.train_mse)?;
        for t in &self.trees {
            if let Some(f) = t.max_feature() {
                if f >= self.n_features {
                    return Err(out_of_range("tree feature", f as f64, "< n_features"));
                }
            }
        }
        Ok(())
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &BoostConfig {
        &self.config
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The fitted trees (in units of [`BoostedTrees::scale`]).
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The target scale `s = max |y|` (1 for an all-zero target).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Training mean squared error of `y / s` before each round.
    pub fn train_mse(&self) -> &[f64] {
        &self.train_mse
    }

    /// How the fit ended: converged after all rounds (or when the residuals vanished), or
    /// [`Status::Numerical`] if a round would have left the finite range (the rounds before
    /// it are kept).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The prediction for one feature row.
    ///
    /// Errors: wrong length, non-finite features, a prediction beyond the `f64` range.
    pub fn predict_one(&self, row: &[f64]) -> LearnResult<f64> {
        check_shape("features", &[self.n_features], &[row.len()])?;
        check_finite("features", row)?;
        let mut f = self.init;
        let lr = self.config.learning_rate;
        for t in &self.trees {
            f += lr * t.predict(row)?;
        }
        let v = f * self.scale;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(LearnError::Overflow {
                what: "boosted-tree prediction",
            })
        }
    }

    /// Predictions for every row of `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        check_shape("x columns", &[self.n_features], &[x.ncols()])?;
        check_finite_2d("x", x)?;
        let mut out = Array1::zeros(x.nrows());
        let mut row = vec![0.0; self.n_features];
        for (o, r) in out.iter_mut().zip(x.rows()) {
            for (a, b) in row.iter_mut().zip(r) {
                *a = *b;
            }
            *o = self.predict_one(&row)?;
        }
        Ok(out)
    }
}

impl Predict for BoostedTrees {
    type Output = Array1<f64>;
    type Error = LearnError;
    fn predict(&self, x: ArrayView2<'_, f64>) -> LearnResult<Array1<f64>> {
        BoostedTrees::predict(self, x)
    }
}

impl BoostConfig {
    /// Fits boosted trees to `data`.
    ///
    /// Errors: invalid settings, no rows or columns, mismatched lengths, non-finite values,
    /// more than `MAX_WINDOW` rows or `MAX_DIM` columns.
    pub fn fit(&self, data: &BoostData<'_>) -> LearnResult<BoostedTrees> {
        self.validate()?;
        let (x, y) = (data.x, data.y);
        let (n, p) = x.dim();
        check_len("x rows", n, 1)?;
        check_size("x rows", n, MAX_WINDOW)?;
        check_shape("y", &[n], &[y.len()])?;
        check_finite_1d("y", y)?;
        let binned = Binned::new(x, self.max_bins)?;
        let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let scale = if scale > 0.0 { scale } else { 1.0 };
        let z: Vec<f64> = y.iter().map(|v| v / scale).collect();
        let init = z.iter().sum::<f64>() / n as f64;
        let mut f = vec![init; n];
        let mut r = vec![0.0; n];
        let mut rng = StdRng::seed_from_u64(self.seed);
        let batch = ((self.subsample * n as f64) as usize).clamp(1, n);
        let ncols = ((self.col_sample * p as f64) as usize).clamp(1, p);
        let mut rows: Vec<usize> = (0..n).collect();
        let mut cols: Vec<usize> = (0..p).collect();
        let mut idx = vec![0usize; batch];
        let mut builder = TreeBuilder::default();
        let mut trees = Vec::with_capacity(self.n_rounds);
        let mut train_mse = Vec::with_capacity(self.n_rounds);
        let mut status = Status::Converged;
        let lr = self.learning_rate;
        for _ in 0..self.n_rounds {
            let mut mse = 0.0;
            for i in 0..n {
                r[i] = z[i] - f[i];
                mse += r[i] * r[i];
            }
            mse /= n as f64;
            if mse == 0.0 {
                break;
            }
            if batch < n {
                for k in 0..batch {
                    let j = rng.random_range(k..n);
                    rows.swap(k, j);
                }
            }
            idx.copy_from_slice(&rows[..batch]);
            if ncols < p {
                for k in 0..ncols {
                    let j = rng.random_range(k..p);
                    cols.swap(k, j);
                }
            }
            let tree = match builder.fit(
                &binned,
                &mut idx,
                &r,
                &cols[..ncols],
                self.max_depth,
                self.min_samples_leaf,
            ) {
                Ok(t) => t,
                Err(e) => {
                    status = Status::Numerical {
                        message: e.to_string(),
                    };
                    break;
                }
            };
            let finite = (0..n).all(|i| (f[i] + lr * tree.predict_binned(&binned, i)).is_finite());
            if !(finite && mse.is_finite()) {
                status = Status::Numerical {
                    message: "a round would leave the finite range".into(),
                };
                break;
            }
            for (i, fi) in f.iter_mut().enumerate() {
                *fi += lr * tree.predict_binned(&binned, i);
            }
            train_mse.push(mse);
            trees.push(tree);
        }
        Ok(BoostedTrees {
            config: *self,
            n_features: p,
            scale,
            init,
            trees,
            train_mse,
            status,
        })
    }
}

impl<'a> Fit<BoostData<'a>> for BoostConfig {
    type Model = BoostedTrees;
    type Error = LearnError;
    fn fit(&self, data: &BoostData<'a>) -> LearnResult<BoostedTrees> {
        BoostConfig::fit(self, data)
    }
}

/// Settings of a [`BatchRefit`]: boosted trees refitted on the last `window` rows every
/// `every` new rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct BatchRefitConfig {
    /// The boosted-tree settings of each refit.
    pub boost: BoostConfig,
    /// Number of features of a row, `1..=MAX_DIM`.
    pub n_features: usize,
    /// Rows kept (the most recent), `1..=MAX_WINDOW`; `window × n_features ≤ MAX_ELEMENTS`.
    pub window: usize,
    /// Refit after this many new rows, `1..=MAX_WINDOW`.
    pub every: usize,
    /// No model before this many rows, `1..=window`.
    pub min_rows: usize,
}
prudentia_core::checked_serde!(BatchRefitConfig, BatchRefitConfig::validate);

impl BatchRefitConfig {
    /// Defaults for `n_features`: window 2,000 rows, refit every 250, first fit at 250.
    pub fn new(n_features: usize) -> Self {
        Self {
            boost: BoostConfig::default(),
            n_features,
            window: 2000,
            every: 250,
            min_rows: 250,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> LearnResult<()> {
        self.boost.validate()?;
        check_len("n_features", self.n_features, 1)?;
        check_size("n_features", self.n_features, MAX_DIM)?;
        check_len("window", self.window, 1)?;
        check_size("window", self.window, MAX_WINDOW)?;
        check_elements("window rows", &[self.window, self.n_features], MAX_ELEMENTS)?;
        check_len("every", self.every, 1)?;
        check_size("every", self.every, MAX_WINDOW)?;
        check_len("min_rows", self.min_rows, 1)?;
        check_size("min_rows", self.min_rows, self.window)?;
        Ok(())
    }
}

/// Boosted trees refitted in batches on a sliding window of recent rows: [`BatchRefit::push`]
/// stores a row and refits when `every` rows arrived since the last fit (and at least
/// `min_rows` are stored). Validated on load (settings, row sizes, finite values, the model's
/// width).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct BatchRefit {
    config: BatchRefitConfig,
    x: VecDeque<Vec<f64>>,
    y: VecDeque<f64>,
    since_fit: usize,
    refits: u64,
    model: Option<BoostedTrees>,
}
prudentia_core::checked_serde!(BatchRefit, BatchRefit::check);

impl BatchRefit {
    /// An empty buffer with no model.
    pub fn new(config: BatchRefitConfig) -> LearnResult<Self> {
        config.validate()?;
        Ok(Self {
            config,
            x: VecDeque::new(),
            y: VecDeque::new(),
            since_fit: 0,
            refits: 0,
            model: None,
        })
    }

    fn check(&mut self) -> LearnResult<()> {
        self.config.validate()?;
        check_shape("y rows", &[self.x.len()], &[self.y.len()])?;
        check_size("rows", self.x.len(), self.config.window)?;
        check_size("since_fit", self.since_fit, self.config.every)?;
        for row in &self.x {
            check_shape("row", &[self.config.n_features], &[row.len()])?;
            check_finite("row", row)?;
        }
        check_finite_iter_deque(&self.y)?;
        if let Some(m) = &self.model {
            check_shape("model features", &[self.config.n_features], &[m.n_features()])?;
        }
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &BatchRefitConfig {
        &self.config
    }

    /// The current model (`None` before the first refit).
    pub fn model(&self) -> Option<&BoostedTrees> {
        self.model.as_ref()
    }

    /// Rows stored.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Refits made.
    pub fn refits(&self) -> u64 {
        self.refits
    }

    /// The current model's prediction (`Ok(None)` before the first refit).
    pub fn predict_one(&self, row: &[f64]) -> LearnResult<Option<f64>> {
        match &self.model {
            Some(m) => m.predict_one(row).map(Some),
            None => {
                check_shape("features", &[self.config.n_features], &[row.len()])?;
                check_finite("features", row)?;
                Ok(None)
            }
        }
    }

    /// Stores one row and refits when due; `Ok(true)` when it refitted. A rejected row (wrong
    /// length, non-finite) or a failed refit leaves everything as it was.
    pub fn push(&mut self, row: &[f64], y: f64) -> LearnResult<bool> {
        check_shape("features", &[self.config.n_features], &[row.len()])?;
        check_finite("features", row)?;
        check_finite("y", &[y])?;
        let full = self.y.len() == self.config.window;
        let rows_after = if full { self.y.len() } else { self.y.len() + 1 };
        let due = self.since_fit + 1 >= self.config.every && rows_after >= self.config.min_rows;
        if !due {
            // No refit, nothing can fail: a full window recycles its oldest row's buffer
            // (no allocation per row once the window is full).
            let buf = if full {
                let _ = self.y.pop_front();
                self.x.pop_front().map(|mut r| {
                    r.clear();
                    r.extend_from_slice(row);
                    r
                })
            } else {
                None
            };
            self.x.push_back(buf.unwrap_or_else(|| row.to_vec()));
            self.y.push_back(y);
            self.since_fit = (self.since_fit + 1).min(self.config.every);
            return Ok(false);
        }
        let evicted = if full {
            Some((self.x.pop_front(), self.y.pop_front()))
        } else {
            None
        };
        self.x.push_back(row.to_vec());
        self.y.push_back(y);
        match self.refit_now() {
            Ok(model) => {
                self.model = Some(model);
                self.since_fit = 0;
                self.refits = self.refits.saturating_add(1);
                Ok(true)
            }
            Err(e) => {
                let _ = self.x.pop_back();
                let _ = self.y.pop_back();
                if let Some((Some(xr), Some(yr))) = evicted {
                    self.x.push_front(xr);
                    self.y.push_front(yr);
                }
                Err(e)
            }
        }
    }

    fn refit_now(&self) -> LearnResult<BoostedTrees> {
        let n = self.y.len();
        let p = self.config.n_features;
        let mut x = ndarray::Array2::zeros((n, p));
        for (mut dst, src) in x.rows_mut().into_iter().zip(&self.x) {
            for (a, b) in dst.iter_mut().zip(src) {
                *a = *b;
            }
        }
        let y: Array1<f64> = self.y.iter().copied().collect();
        let seed = self.config.boost.seed.wrapping_add(self.refits);
        BoostConfig {
            seed,
            ..self.config.boost
        }
        .fit(&BoostData::new(x.view(), y.view()))
    }
}

fn check_finite_iter_deque(y: &VecDeque<f64>) -> LearnResult<()> {
    prudentia_core::validate::check_finite_iter("y", y.iter())?;
    Ok(())
}
