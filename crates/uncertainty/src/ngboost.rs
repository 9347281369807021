//! NGBoost-style natural-gradient boosting with a Normal predictive distribution (Duan et
//! al. 2020, Algorithm 1), using histogram regression trees
//! ([`prudentia_learn::tree`]) as base learners.
//!
//! Parameters θ = (μ, log σ) start at the marginal MLE of y. At each stage m, on a row
//! minibatch (and a column subsample), the natural gradient of the log score
//!
//! ```text
//! g̃ = I(θ)⁻¹ ∇_θ (−log p(y|θ)) = ( μ − y,  ½ (1 − (y − μ)²/σ²) ),   I(θ) = diag(1/σ², 2)
//! ```
//!
//! is fitted by one tree per parameter, a line search picks the scale ρ (doubled while the
//! batch NLL does not increase, up to 256, then halved until it decreases — as in the
//! `ngboost` package), and θ ← θ − η ρ f_m(x). With a validation set, boosting stops after
//! `early_stopping_rounds` stages without a new best validation NLL, and the model is cut
//! back to the best stage.

use ndarray::{ArrayView1, ArrayView2};
use prudentia_core::traits::{Forecaster, Role, RoleError, RoleResult};
use prudentia_core::validate::{
    check_finite, check_finite_1d, check_finite_2d, check_len, check_shape, check_size, MAX_DIM, MAX_WINDOW,
};
use prudentia_core::{AssetInfo, CoreError, Forecast, Horizon, RegimeState, Status};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};
use prudentia_learn::tree::{Binned, Tree, TreeBuilder};

/// Settings of [`NgBoost`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NgBoostConfig {
    /// Boosting stages (default 500, 1..=65,536 = `MAX_DIM`).
    pub n_estimators: usize,
    /// Learning rate η (default 0.01, in (0, 1]).
    pub learning_rate: f64,
    /// Share of rows sampled without replacement per stage (default 1.0, in (0, 1]).
    pub minibatch_frac: f64,
    /// Share of columns sampled per stage (default 1.0, in (0, 1]; at least one column).
    pub col_sample: f64,
    /// Depth of each tree (default 3, as `ngboost`'s default learner; 1..=12).
    pub max_depth: usize,
    /// Minimum samples per leaf (default 1, 1..=`MAX_WINDOW`).
    pub min_samples_leaf: usize,
    /// Histogram bins per feature (default 255, 2..=256).
    pub max_bins: usize,
    /// Stop after this many stages without improving the validation NLL (default none;
    /// 1..=`MAX_DIM`).
    pub early_stopping_rounds: Option<usize>,
    /// Stop when the mean norm of the fitted natural gradient is below this (default 1e-4, ≥ 0).
    pub tol: f64,
    /// Seed of the row and column sampling (default 0).
    pub seed: u64,
}

impl Default for NgBoostConfig {
    fn default() -> Self {
        Self {
            n_estimators: 500,
            learning_rate: 0.01,
            minibatch_frac: 1.0,
            col_sample: 1.0,
            max_depth: 3,
            min_samples_leaf: 1,
            max_bins: 255,
            early_stopping_rounds: None,
            tol: 1e-4,
            seed: 0,
        }
    }
}

fn range(field: &'static str, v: f64, ok: bool, expected: &'static str) -> Result<()> {
    if ok && v.is_finite() {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            field,
            value: v,
            expected,
        }
        .into())
    }
}

impl NgBoostConfig {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_size("n_estimators", self.n_estimators, MAX_DIM)?;
        check_size("min_samples_leaf", self.min_samples_leaf, MAX_WINDOW)?;
        if let Some(r) = self.early_stopping_rounds {
            check_size("early_stopping_rounds", r, MAX_DIM)?;
        }
        range(
            "n_estimators",
            self.n_estimators as f64,
            self.n_estimators >= 1,
            ">= 1",
        )?;
        range(
            "learning_rate",
            self.learning_rate,
            self.learning_rate > 0.0 && self.learning_rate <= 1.0,
            "in (0, 1]",
        )?;
        range(
            "minibatch_frac",
            self.minibatch_frac,
            self.minibatch_frac > 0.0 && self.minibatch_frac <= 1.0,
            "in (0, 1]",
        )?;
        range(
            "col_sample",
            self.col_sample,
            self.col_sample > 0.0 && self.col_sample <= 1.0,
            "in (0, 1]",
        )?;
        range(
            "max_depth",
            self.max_depth as f64,
            (1..=12).contains(&self.max_depth),
            "in 1..=12",
        )?;
        range(
            "min_samples_leaf",
            self.min_samples_leaf as f64,
            self.min_samples_leaf >= 1,
            ">= 1",
        )?;
        range(
            "max_bins",
            self.max_bins as f64,
            (2..=256).contains(&self.max_bins),
            "in 2..=256",
        )?;
        if let Some(r) = self.early_stopping_rounds {
            range("early_stopping_rounds", r as f64, r >= 1, ">= 1")?;
        }
        range("tol", self.tol, self.tol >= 0.0, ">= 0")?;
        Ok(())
    }
}

/// A validated NGBoost learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct NgBoost {
    config: NgBoostConfig,
}

checked_serde!(NgBoost, NgBoost::check);

/// One boosting stage (validated on load: a finite scale > 0 and valid trees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct BoostStage {
    mean_tree: Tree,
    log_sigma_tree: Tree,
    scale: f64,
}

checked_serde!(BoostStage, BoostStage::check);

impl BoostStage {
    fn check(&mut self) -> Result<()> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(CoreError::OutOfRange {
                field: "stage scale",
                value: self.scale,
                expected: "finite and > 0",
            }
            .into());
        }
        Ok(())
    }

    /// Tree for the mean.
    pub fn mean_tree(&self) -> &Tree {
        &self.mean_tree
    }

    /// Tree for log sigma.
    pub fn log_sigma_tree(&self) -> &Tree {
        &self.log_sigma_tree
    }

    /// Line-search scale ρ.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// The status of a fit stopped before a stage that would leave the finite range.
fn numerical_limit() -> Status {
    Status::Numerical {
        message: "the next stage would drive a prediction or a loss out of the finite range".into(),
    }
}

/// A fitted NGBoost model (fields private; validated on load: feature indices of every
/// tree below `n_features`, finite parameters and losses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[must_use]
pub struct NgBoostModel {
    n_features: usize,
    init: [f64; 2],
    learning_rate: f64,
    stages: Vec<BoostStage>,
    train_loss: Vec<f64>,
    val_loss: Vec<f64>,
    status: Status,
}

checked_serde!(NgBoostModel, NgBoostModel::check);

/// The largest |y| (and the smallest target standard deviation is its reciprocal) that
/// [`NgBoost::fit`] accepts: beyond it the Gaussian log-likelihood is not representable.
pub const MAX_TARGET_SCALE: f64 = 1e100;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

fn nll(mu: f64, ls: f64, y: f64) -> f64 {
    let z = (y - mu) * (-ls).exp();
    0.5 * z * z + ls + HALF_LN_2PI
}

fn to_rows(x: ArrayView2<'_, f64>) -> Vec<f64> {
    x.iter().copied().collect()
}

impl NgBoost {
    /// A learner with validated settings.
    pub fn new(config: NgBoostConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    fn check(&mut self) -> Result<()> {
        self.config.validate()
    }

    /// The settings.
    pub fn config(&self) -> &NgBoostConfig {
        &self.config
    }

    /// Fits on `x` (n × p), `y`, with an optional validation set for monitoring and early
    /// stopping.
    ///
    /// Errors: fewer than 2 rows, shape mismatch, non-finite values, constant `y`, more
    /// than `MAX_DIM` columns, `|y|` above [`MAX_TARGET_SCALE`] or a standard deviation of
    /// `y` below its reciprocal (rescale the target).
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        validation: Option<(ArrayView2<'_, f64>, ArrayView1<'_, f64>)>,
    ) -> Result<NgBoostModel> {
        let cfg = &self.config;
        let (n, p) = x.dim();
        let (yv, init) = checked_target(x, y)?;
        let val = checked_validation(validation, p)?;
        let binned = Binned::new(x, cfg.max_bins).map_err(learn_err)?;
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut mu = vec![init[0]; n];
        let mut ls = vec![init[1]; n];
        let (mut vmu, mut vls) = match &val {
            Some((_, yv2)) => (vec![init[0]; yv2.len()], vec![init[1]; yv2.len()]),
            None => (Vec::new(), Vec::new()),
        };
        let batch = ((cfg.minibatch_frac * n as f64) as usize).clamp(1, n);
        let ncols = ((cfg.col_sample * p as f64) as usize).clamp(1, p);
        let mut all_rows: Vec<usize> = (0..n).collect();
        let mut all_cols: Vec<usize> = (0..p).collect();
        let mut g0 = vec![0.0; n];
        let mut g1 = vec![0.0; n];
        let mut f0 = vec![0.0; n];
        let mut f1 = vec![0.0; n];
        let mut builder = TreeBuilder::default();
        let mut stages = Vec::with_capacity(cfg.n_estimators);
        let mut train_loss = Vec::with_capacity(cfg.n_estimators);
        let mut val_loss = Vec::new();
        let mut best = (f64::INFINITY, 0usize);
        let mut status = Status::IterationLimit {
            iterations: self.config.n_estimators,
        };
        for _stage in 0..cfg.n_estimators {
            // Row and column samples (partial Fisher–Yates, without replacement).
            partial_shuffle(&mut rng, &mut all_rows, batch);
            let idx = &all_rows[..batch];
            partial_shuffle(&mut rng, &mut all_cols, ncols);
            let cols = &all_cols[..ncols];
            let loss0 = natural_gradient(idx, &mu, &ls, &yv, &mut g0, &mut g1);
            train_loss.push(loss0);
            let Some((t0, t1)) = fit_trees(cfg, &mut builder, &binned, idx, [&g0, &g1], cols) else {
                train_loss.pop();
                status = numerical_limit();
                break;
            };
            for i in 0..n {
                f0[i] = t0.predict_binned(&binned, i);
                f1[i] = t1.predict_binned(&binned, i);
            }
            let norm = idx.iter().map(|&i| f0[i].hypot(f1[i])).sum::<f64>() / batch as f64;
            if !(loss0.is_finite() && norm.is_finite()) {
                train_loss.pop();
                status = numerical_limit();
                break;
            }
            // Line search on the batch.
            let batch_loss = |scale: f64| -> f64 {
                idx.iter()
                    .map(|&i| nll(mu[i] - scale * f0[i], ls[i] - scale * f1[i], yv[i]))
                    .sum::<f64>()
                    / batch as f64
            };
            let scale = line_search(batch_loss, loss0, norm, cfg.tol);
            let step = cfg.learning_rate * scale;
            // The stage is taken only if every training and validation prediction and loss
            // stays finite; else boosting stops before it.
            let finite_after = (0..n).all(|i| {
                let (m, l) = (mu[i] - step * f0[i], ls[i] - step * f1[i]);
                m.is_finite() && l.is_finite() && nll(m, l, yv[i]).is_finite()
            });
            let new_val = match (&val, finite_after) {
                (Some(v), true) => Some(validation_loss(v, &vmu, &vls, step, [&t0, &t1], p)?),
                _ => None,
            };
            if !finite_after || new_val.is_some_and(|l| !l.is_finite()) {
                train_loss.pop();
                status = numerical_limit();
                break;
            }
            for i in 0..n {
                mu[i] -= step * f0[i];
                ls[i] -= step * f1[i];
            }
            if let (Some((xv, _)), Some(l)) = (&val, new_val) {
                advance(xv, [&mut vmu, &mut vls], step, [&t0, &t1], p)?;
                val_loss.push(l);
                if l < best.0 {
                    best = (l, stages.len() + 1);
                }
            }
            stages.push(BoostStage {
                mean_tree: t0,
                log_sigma_tree: t1,
                scale,
            });
            if val.is_some() && stalled_validation(cfg.early_stopping_rounds, &val_loss, best.0) {
                stages.truncate(best.1);
                status = Status::Converged;
                break;
            }
            if norm < cfg.tol {
                status = Status::Converged;
                break;
            }
        }
        Ok(NgBoostModel {
            n_features: p,
            init,
            learning_rate: cfg.learning_rate,
            stages,
            train_loss,
            val_loss,
            status,
        })
    }
}

/// The checked training input: `y` as a vector and the initial `[mean, log σ]`. Errors as
/// [`NgBoost::fit`] documents them.
fn checked_target(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<(Vec<f64>, [f64; 2])> {
    let (n, p) = x.dim();
    check_len("x rows", n, 2)?;
    check_len("x columns", p, 1)?;
    check_shape("y", &[n], &[y.len()])?;
    check_finite_2d("x", x)?;
    check_finite_1d("y", y)?;
    check_size("x columns", p, MAX_DIM)?;
    check_target("y", y)?;
    let yv: Vec<f64> = y.iter().copied().collect();
    let m0 = yv.iter().sum::<f64>() / n as f64;
    let v0 = yv.iter().map(|v| (v - m0) * (v - m0)).sum::<f64>() / n as f64;
    if v0 <= 0.0 {
        return Err(CoreError::OutOfRange {
            field: "y",
            value: v0,
            expected: "non-constant (variance > 0)",
        }
        .into());
    }
    if v0.is_nan() || v0.sqrt() < 1.0 / MAX_TARGET_SCALE {
        return Err(CoreError::OutOfRange {
            field: "y",
            value: v0.sqrt(),
            expected: "a standard deviation >= 1e-100 (rescale the target)",
        }
        .into());
    }
    let init = [m0, 0.5 * v0.ln()];
    Ok((yv, init))
}

/// The checked validation set (rows of `x` flattened, `y`) when given.
fn checked_validation(
    validation: Option<(ArrayView2<'_, f64>, ArrayView1<'_, f64>)>,
    p: usize,
) -> Result<Option<(Vec<f64>, Vec<f64>)>> {
    Ok(match validation {
        Some((xv, yv2)) => {
            check_shape("validation x columns", &[p], &[xv.ncols()])?;
            check_shape("validation y", &[xv.nrows()], &[yv2.len()])?;
            check_len("validation rows", xv.nrows(), 1)?;
            check_finite_2d("validation x", xv)?;
            check_finite_1d("validation y", yv2)?;
            check_target("validation y", yv2)?;
            Some((to_rows(xv), yv2.iter().copied().collect::<Vec<f64>>()))
        }
        None => None,
    })
}

/// Moves a uniform sample of `take` entries (without replacement) to the front of `all`
/// (a partial Fisher–Yates shuffle; nothing drawn when all are taken).
fn partial_shuffle(rng: &mut StdRng, all: &mut [usize], take: usize) {
    let n = all.len();
    if take < n {
        for k in 0..take {
            let j = rng.random_range(k..n);
            all.swap(k, j);
        }
    }
}

/// The gradients of the negative log-likelihood in `(μ, log σ)` on the batch rows `idx`
/// (into `g0`, `g1`, Fisher-scaled), and the batch's mean loss.
fn natural_gradient(
    idx: &[usize],
    mu: &[f64],
    ls: &[f64],
    yv: &[f64],
    g0: &mut [f64],
    g1: &mut [f64],
) -> f64 {
    let mut loss0 = 0.0;
    for &i in idx {
        let iv = (-2.0 * ls[i]).exp();
        let r = yv[i] - mu[i];
        g0[i] = -r;
        g1[i] = 0.5 * (1.0 - r * r * iv);
        loss0 += nll(mu[i], ls[i], yv[i]);
    }
    loss0 / idx.len() as f64
}

/// The step scale: doubled while the batch loss does not grow (up to 512), then halved
/// (at most 64 times: ends on finite input whatever the losses) until the loss is below
/// `loss0` or the step is below `tol`.
fn line_search(batch_loss: impl Fn(f64) -> f64, loss0: f64, norm: f64, tol: f64) -> f64 {
    let mut scale = 1.0;
    loop {
        let l = batch_loss(scale);
        if !l.is_finite() || l > loss0 || scale > 256.0 {
            break;
        }
        scale *= 2.0;
    }
    for _ in 0..64 {
        if norm * scale < tol {
            break;
        }
        let l = batch_loss(scale);
        if l.is_finite() && l < loss0 {
            break;
        }
        scale *= 0.5;
    }
    scale
}

/// The two trees of a stage (mean and log σ, on gradients `g`) fitted on the batch rows
/// `idx` (the second on the order the first left them in); `None` if either fit fails.
fn fit_trees(
    cfg: &NgBoostConfig,
    builder: &mut TreeBuilder,
    binned: &Binned,
    idx: &[usize],
    g: [&[f64]; 2],
    cols: &[usize],
) -> Option<(Tree, Tree)> {
    let mut bidx = idx.to_vec();
    match (
        builder.fit(binned, &mut bidx, g[0], cols, cfg.max_depth, cfg.min_samples_leaf),
        builder.fit(binned, &mut bidx, g[1], cols, cfg.max_depth, cfg.min_samples_leaf),
    ) {
        (Ok(a), Ok(b)) => Some((a, b)),
        _ => None,
    }
}

/// Moves the validation predictions `[μ, log σ]` by a stage of `trees` taken with `step`.
fn advance(xv: &[f64], pred: [&mut Vec<f64>; 2], step: f64, trees: [&Tree; 2], p: usize) -> Result<()> {
    let [vmu, vls] = pred;
    for k in 0..vmu.len() {
        let row = &xv[k * p..(k + 1) * p];
        vmu[k] -= step * trees[0].predict(row).map_err(learn_err)?;
        vls[k] -= step * trees[1].predict(row).map_err(learn_err)?;
    }
    Ok(())
}

/// The mean validation loss after a stage of `trees` taken with `step`.
fn validation_loss(
    (xv, yv2): &(Vec<f64>, Vec<f64>),
    vmu: &[f64],
    vls: &[f64],
    step: f64,
    trees: [&Tree; 2],
    p: usize,
) -> Result<f64> {
    let [t0, t1] = trees;
    let mut l = 0.0;
    for k in 0..yv2.len() {
        let row = &xv[k * p..(k + 1) * p];
        let m = vmu[k] - step * t0.predict(row).map_err(learn_err)?;
        let s = vls[k] - step * t1.predict(row).map_err(learn_err)?;
        l += nll(m, s, yv2[k]);
    }
    Ok(l / yv2.len() as f64)
}

/// Early stopping: the best validation loss is below every one of the last `rounds`.
fn stalled_validation(rounds: Option<usize>, val_loss: &[f64], best: f64) -> bool {
    match rounds {
        Some(r) if val_loss.len() > r => {
            let recent = val_loss[val_loss.len() - r..]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            best < recent
        }
        _ => false,
    }
}

/// A learn error as this crate's: the validation errors keep their [`CoreError`].
fn learn_err(e: prudentia_learn::LearnError) -> UncertaintyError {
    match e {
        prudentia_learn::LearnError::Core(c) => c.into(),
        other => CoreError::Numerical {
            operation: "NGBoost trees",
            detail: if matches!(other, prudentia_learn::LearnError::Overflow { .. }) {
                "a tree prediction overflows f64"
            } else {
                "tree fit refused"
            },
        }
        .into(),
    }
}

fn check_target(field: &'static str, y: ArrayView1<'_, f64>) -> Result<()> {
    if let Some(v) = y.iter().find(|v| v.abs() > MAX_TARGET_SCALE) {
        return Err(CoreError::OutOfRange {
            field,
            value: *v,
            expected: "|y| <= 1e100 (rescale the target)",
        }
        .into());
    }
    Ok(())
}

impl NgBoostModel {
    fn check(&mut self) -> Result<()> {
        check_len("n_features", self.n_features, 1)?;
        check_size("n_features", self.n_features, MAX_DIM)?;
        check_size("stages", self.stages.len(), MAX_DIM)?;
        check_size("train_loss", self.train_loss.len(), MAX_DIM)?;
        check_size("val_loss", self.val_loss.len(), MAX_DIM)?;
        check_finite("init", &self.init)?;
        range(
            "learning_rate",
            self.learning_rate,
            self.learning_rate > 0.0 && self.learning_rate <= 1.0,
            "in (0, 1]",
        )?;
        check_finite("train_loss", &self.train_loss)?;
        check_finite("val_loss", &self.val_loss)?;
        for s in &self.stages {
            for t in [&s.mean_tree, &s.log_sigma_tree] {
                if let Some(f) = t.max_feature() {
                    if f >= self.n_features {
                        return Err(CoreError::OutOfRange {
                            field: "tree feature",
                            value: f as f64,
                            expected: "< n_features",
                        }
                        .into());
                    }
                }
            }
        }
        Ok(())
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Initial (μ, log σ).
    pub fn init(&self) -> [f64; 2] {
        self.init
    }

    /// Learning rate η.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// The stages.
    pub fn stages(&self) -> &[BoostStage] {
        &self.stages
    }

    /// Training mean NLL before each stage.
    pub fn train_loss(&self) -> &[f64] {
        &self.train_loss
    }

    /// Validation mean NLL after each stage (when a validation set was given).
    pub fn val_loss(&self) -> &[f64] {
        &self.val_loss
    }

    /// Why boosting stopped: `IterationLimit` (all `n_estimators` stages fitted),
    /// `Converged` (validation NLL stopped improving and the model was cut back to its best
    /// stage, or the fitted gradient fell below `tol`), or `Numerical` (the next stage would
    /// have driven a prediction or a loss out of the finite range, e.g. sigma → 0 on
    /// interpolated points; boosting stopped before it).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Predicted (mean, sigma) for one feature row.
    ///
    /// Errors: wrong length or non-finite features; a prediction outside the finite range
    /// (`CoreError::Numerical`, possible only far outside the training data).
    pub fn predict(&self, features: &[f64]) -> Result<(f64, f64)> {
        check_shape("features", &[self.n_features], &[features.len()])?;
        check_finite("features", features)?;
        let (mut m, mut l) = (self.init[0], self.init[1]);
        for s in &self.stages {
            let step = self.learning_rate * s.scale;
            m -= step * s.mean_tree.predict(features).map_err(learn_err)?;
            l -= step * s.log_sigma_tree.predict(features).map_err(learn_err)?;
        }
        let sd = l.exp();
        if !(m.is_finite() && sd.is_finite() && sd > 0.0) {
            return Err(UncertaintyError::Core(CoreError::Numerical {
                operation: "NGBoost prediction",
                detail: "mean or sigma outside the finite range",
            }));
        }
        Ok((m, sd))
    }

    /// Mean negative log-likelihood of `y` under the model's predictions for `x`.
    pub fn mean_nll(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<f64> {
        check_shape("y", &[x.nrows()], &[y.len()])?;
        check_len("x rows", x.nrows(), 1)?;
        check_finite_1d("y", y)?;
        let mut s = 0.0;
        for (row, &yy) in x.rows().into_iter().zip(y.iter()) {
            let r: Vec<f64> = row.iter().copied().collect();
            let (m, sd) = self.predict(&r)?;
            s += nll(m, sd.ln(), yy);
        }
        let v = s / y.len() as f64;
        if !v.is_finite() {
            return Err(UncertaintyError::Core(CoreError::Numerical {
                operation: "NGBoost mean NLL",
                detail: "the likelihood is not representable",
            }));
        }
        Ok(v)
    }
}

/// A [`Forecaster`] wrapping an [`NgBoostModel`] over a fixed horizon (validated on load: a
/// valid model and a finite horizon > 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct NgBoostForecaster {
    /// The model.
    pub model: NgBoostModel,
    /// The horizon of its target.
    pub horizon: Horizon,
}

checked_serde!(NgBoostForecaster, NgBoostForecaster::check);

impl NgBoostForecaster {
    fn check(&mut self) -> Result<()> {
        crate::convert::check_horizon(self.horizon)
    }
}

impl Forecaster for NgBoostForecaster {
    fn forecast(&self, asset: &AssetInfo, _regime: &RegimeState) -> RoleResult<Forecast> {
        let (m, s) = self
            .model
            .predict(&asset.features)
            .map_err(|e| RoleError::implementation(Role::Forecaster, e))?;
        Ok(Forecast::new(m, s, self.horizon)?)
    }
}
