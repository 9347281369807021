//! Walk-forward refits of batch models and checkpoints of a pipeline's state.

use std::collections::VecDeque;

use prudentia_core::validate::{check_len, check_size, MAX_WINDOW};
use prudentia_core::{
    AssetId, CoreError, Forecast, MarketSnapshot, Order, Outcome, RegimeLabel, RegimeState, RoleResult,
    Timestamp, Weights,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::history::ReturnHistory;
use crate::pipeline::PipelineConfig;
use crate::shared::Shared;

/// The data of one decision a refit may use: the guard-cleaned snapshot it was made on and
/// the outcome learned after it (`None` until it is learned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefitPoint {
    /// The cleaned snapshot of the decision.
    pub snapshot: MarketSnapshot,
    /// The outcome that followed it, once learned.
    pub outcome: Option<Outcome>,
}

/// Which past decisions a refit sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefitWindow {
    /// Every decision since the start (at most [`MAX_WINDOW`] of them, the most recent).
    Expanding,
    /// The last `n` decisions (`1 ≤ n ≤ MAX_WINDOW`).
    Trailing(usize),
}

/// When a batch model is refitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefitSchedule {
    /// Refit every `every` decisions (≥ 1).
    pub every: usize,
    /// The data window.
    pub window: RefitWindow,
    /// Refit in the learn flow (right after the outcome of every `every`-th decision is
    /// learned, so the window includes it) instead of at the start of the next decision.
    /// Either way, only data up to the coming decision's time is given.
    pub in_learn_flow: bool,
}

impl RefitSchedule {
    /// Checks `every ≥ 1` and the window size within `[1, MAX_WINDOW]`.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_len("refit every", self.every, 1)?;
        if let RefitWindow::Trailing(n) = self.window {
            check_len("refit window", n, 1)?;
            check_size("refit window", n, MAX_WINDOW)?;
        }
        Ok(())
    }
    pub(crate) fn len(&self) -> usize {
        match self.window {
            RefitWindow::Expanding => MAX_WINDOW,
            RefitWindow::Trailing(n) => n,
        }
    }
}

/// A batch model (forecaster, calibrator, causal learner, cost residual model) that the
/// pipeline refits between decisions on a [`RefitSchedule`]. `data` holds only decisions made
/// before the coming one, oldest first, with the outcomes learned so far: there is no
/// look-ahead. Share the model with its stage slot through [`Shared`], which implements this
/// trait for every `T: Refit`.
///
/// A refit error keeps the previous model: it is a note of the next decision
/// ([`DecisionReport::notes`](crate::DecisionReport::notes)) under
/// [`OnStageError::Fallback`](crate::OnStageError), an error ([`Stage::Refit`](crate::Stage))
/// otherwise.
pub trait Refit: Send {
    /// Refits the model at `now` (the time of the last decision in `data`).
    fn refit(&mut self, now: Timestamp, data: &[RefitPoint]) -> RoleResult<()>;
}

impl<T: Refit> Refit for Shared<T> {
    fn refit(&mut self, now: Timestamp, data: &[RefitPoint]) -> RoleResult<()> {
        self.lock().refit(now, data)
    }
}

/// A stage whose state is part of a pipeline checkpoint ([`Pipeline::checkpoint`](crate::Pipeline::checkpoint)):
/// saved as JSON and loaded back (with the type's own checks on load).
pub trait StageState: Send {
    /// The current state.
    fn save(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// Replaces the state with a saved one; a refused state changes nothing.
    fn load(&mut self, state: &serde_json::Value) -> Result<(), serde_json::Error>;
}

impl<T: Serialize + DeserializeOwned + Send> StageState for Shared<T> {
    fn save(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(&*self.lock())
    }
    fn load(&mut self, state: &serde_json::Value) -> Result<(), serde_json::Error> {
        let value = T::deserialize(state)?;
        *self.lock() = value;
        Ok(())
    }
}

/// Everything a [`Pipeline`](crate::Pipeline) holds between calls, apart from its stages'
/// own code: configuration, return history, positions, equity, the decision counter, the
/// refit window and the state of every stage registered with
/// [`PipelineBuilder::stage_state`](crate::PipelineBuilder::stage_state). Serializable, so a
/// run can be checkpointed, resumed or shipped to another machine; checked on load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PipelineState {
    /// The configuration.
    pub config: PipelineConfig,
    pub(crate) history: ReturnHistory,
    pub(crate) current: Weights,
    pub(crate) pending: Option<Weights>,
    /// The last decision's orders (fills must match them); absent in older checkpoints.
    #[serde(default)]
    pub(crate) pending_orders: Vec<Order>,
    /// The snapshot those orders were decided on, when kept for fill learners.
    #[serde(default)]
    pub(crate) pending_market: Option<MarketSnapshot>,
    pub(crate) last_regime: Option<RegimeState>,
    pub(crate) last_time: Option<Timestamp>,
    pub(crate) equity: f64,
    pub(crate) step: u64,
    pub(crate) pending_forecasts: Vec<(AssetId, Forecast, RegimeLabel)>,
    pub(crate) refit_data: VecDeque<RefitPoint>,
    pub(crate) pending_notes: Vec<String>,
    /// The state of each registered stage, by name.
    pub stages: Vec<(String, serde_json::Value)>,
}

prudentia_core::checked_serde!(PipelineState, PipelineState::check);

impl PipelineState {
    /// Checks the configuration, the history's size against the universe, the books (finite
    /// weights of universe assets), a finite equity ≥ 0 and the refit window's size.
    pub fn check(&mut self) -> Result<(), CoreError> {
        self.config.validate()?;
        let n = self.config.universe.len();
        prudentia_core::validate::check_shape("history assets", &[n], &[self.history.n_assets()])?;
        let universe: std::collections::HashSet<&AssetId> = self.config.universe.iter().collect();
        for (field, w) in std::iter::once(("current weights", &self.current))
            .chain(self.pending.iter().map(|p| ("pending weights", p)))
        {
            prudentia_core::validate::check_shape(field, &[w.assets.len()], &[w.values.len()])?;
            prudentia_core::validate::check_finite(field, &w.values)?;
            if let Some(a) = w.assets.iter().find(|a| !universe.contains(a)) {
                return Err(CoreError::UnknownId {
                    kind: "asset (not in the universe)",
                    id: a.to_string(),
                });
            }
        }
        prudentia_core::validate::check_non_negative("equity", self.equity)?;
        check_size("refit window", self.refit_data.len(), MAX_WINDOW)?;
        check_size("pending forecasts", self.pending_forecasts.len(), n)?;
        check_size("pending orders", self.pending_orders.len(), n)?;
        if let Some(a) = self.pending_orders.iter().find(|o| !universe.contains(&o.asset)) {
            return Err(CoreError::UnknownId {
                kind: "order asset (not in the universe)",
                id: a.asset.to_string(),
            });
        }
        Ok(())
    }
}
