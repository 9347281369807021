//! Errors of the pipeline.

use std::fmt;

use prudentia_core::{CoreError, RoleError, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A step of `decide` or `learn`, used to label errors and timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Stage {
    /// Input screening (defense).
    Guard,
    /// Return history and correlation bookkeeping.
    History,
    /// Regime detection.
    Regime,
    /// Forecasting.
    Forecast,
    /// Calibration.
    Calibrate,
    /// Causal filtering.
    Causal,
    /// Slate selection.
    Select,
    /// Portfolio optimization.
    Optimize,
    /// Sizing.
    Size,
    /// Order generation and cost estimation.
    Orders,
    /// Routing.
    Route,
    /// Audit recording.
    Audit,
    /// Learning from outcomes.
    Learn,
    /// Refitting a batch model between decisions.
    Refit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Stage::Guard => "guard",
            Stage::History => "history",
            Stage::Regime => "regime",
            Stage::Forecast => "forecast",
            Stage::Calibrate => "calibrate",
            Stage::Causal => "causal",
            Stage::Select => "select",
            Stage::Optimize => "optimize",
            Stage::Size => "size",
            Stage::Orders => "orders",
            Stage::Route => "route",
            Stage::Audit => "audit",
            Stage::Learn => "learn",
            Stage::Refit => "refit",
        };
        f.write_str(s)
    }
}

/// Why a pipeline call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A stage's implementation returned an error.
    #[error("pipeline stage `{stage}` failed: {source}")]
    Stage {
        /// The failing stage.
        stage: Stage,
        /// Its error (typed; the implementation's own error is its source).
        #[source]
        source: RoleError,
        /// Time of the decision (or of the outcome, in the learn flow) the stage failed on,
        /// when known.
        time: Option<Timestamp>,
    },
    /// The pipeline was built without a required stage.
    #[error("pipeline needs a `{stage}` stage")]
    MissingStage {
        /// The missing stage.
        stage: Stage,
    },
    /// Bad input or configuration.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A registered stage state could not be saved into, or loaded from, a checkpoint.
    #[error("stage state `{name}` could not be saved or loaded: {source}")]
    StageState {
        /// The name the state was registered under.
        name: String,
        /// The serialization error.
        #[source]
        source: serde_json::Error,
    },
}

impl PipelineError {
    pub(crate) fn at(stage: Stage) -> impl FnOnce(RoleError) -> PipelineError {
        move |source| PipelineError::Stage {
            stage,
            source,
            time: None,
        }
    }
    pub(crate) fn core_at(stage: Stage) -> impl FnOnce(CoreError) -> PipelineError {
        move |e| PipelineError::Stage {
            stage,
            source: RoleError::Core(e),
            time: None,
        }
    }

    /// The stage that failed, for [`PipelineError::Stage`].
    pub fn stage(&self) -> Option<Stage> {
        match self {
            PipelineError::Stage { stage, .. } => Some(*stage),
            _ => None,
        }
    }

    /// The time of the decision (or outcome) a stage failed on, when known.
    pub fn time(&self) -> Option<Timestamp> {
        match self {
            PipelineError::Stage { time, .. } => *time,
            _ => None,
        }
    }

    /// Sets the time of a stage failure that does not have one yet.
    pub(crate) fn with_time(mut self, at: Timestamp) -> Self {
        if let PipelineError::Stage { time, .. } = &mut self {
            time.get_or_insert(at);
        }
        self
    }
}

/// Result alias.
pub type PipelineResult<T> = Result<T, PipelineError>;
