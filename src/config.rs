//! One configuration for the whole chain, from a partial TOML or JSON file
//! ([`PrudentiaConfig::from_toml_str`], [`PrudentiaConfig::from_json`],
//! [`PrudentiaConfig::from_path`] by extension; YAML and others through any serde format crate
//! in your application: `PrudentiaConfig` is plain `Deserialize`).
//!
//! Every section and every field has a default, so a file names only what it changes.
//! The same partial configuration in TOML:
//!
//! ```
//! use prudentia::config::PrudentiaConfig;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let config = PrudentiaConfig::from_toml_str(
//!     r#"
//!     [pipeline]
//!     universe = ["AAA", "BBB"]
//!     min_history = 20
//!
//!     [selector.problem]
//!     k = 1
//!
//!     [portfolio.limits]
//!     weight_max = 0.6
//!     "#,
//! )?;
//! assert_eq!(config.pipeline.min_history, 20);
//! assert_eq!(config.selector.problem.k, 1);
//! # Ok(()) }
//! ```
//!
//! and in JSON, configuring a pipeline:
//!
//! ```
//! use prudentia::config::PrudentiaConfig;
//! use prudentia::core::{AssetId, Forecast, Horizon};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let config: PrudentiaConfig = serde_json::from_str(
//!     r#"{ "pipeline": { "universe": ["AAA", "BBB"], "min_history": 20 },
//!          "selector": { "problem": { "k": 1 } },
//!          "portfolio": { "limits": { "weight_max": 0.6 } } }"#,
//! )?;
//! assert_eq!(config.pipeline.min_history, 20);
//! assert_eq!(config.pipeline.history_window, 252); // a default
//! // A user forecaster: a constant forecast for every asset.
//! struct Flat;
//! impl prudentia::core::traits::Forecaster for Flat {
//!     fn forecast(
//!         &self,
//!         _: &prudentia::core::AssetInfo,
//!         _: &prudentia::core::RegimeState,
//!     ) -> prudentia::core::RoleResult<Forecast> {
//!         Ok(Forecast::new(1e-4, 0.01, Horizon::DAY)?)
//!     }
//! }
//! let pipeline = config.builder(Box::new(Flat))?.build()?;
//! # let _ = pipeline;
//! # Ok(()) }
//! ```

use std::error::Error;

use serde::{Deserialize, Serialize};

use crate::core::traits::{Forecaster, OnlineLearner};
use crate::core::{ForecastOutcome, RoleResult};
use crate::datasets::onramp::{CsvOptions, FeatureSpec};
use crate::defense::{SnapshotGuard, SnapshotGuardConfig};
use crate::kelly::sizer::{KellySizer, KellySizerConfig};
use crate::metrics::ReportConfig;
use crate::pipeline::{BacktestConfig, PipelineBuilder, PipelineConfig, Shared};
use crate::portfolio::{PortfolioConfig, PortfolioOptimizer};
use crate::regime::detector::{MarketRegimeDetector, MarketRegimeDetectorConfig};
use crate::selection::{DiversityAwareSelector, SelectorConfig};
use crate::uncertainty::calibrate::{CalibrationEvent, CalibratorConfig, RegimeCalibrator};

/// Every stage's configuration, each section defaulted when absent. Unknown section names
/// are errors (a typo must not silently fall back to a default).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrudentiaConfig {
    /// How to read the user's CSV file.
    pub csv: CsvOptions,
    /// The named features computed for each snapshot (empty by default).
    pub features: FeatureSpec,
    /// The pipeline itself (universe, history, seed, equity, …).
    pub pipeline: PipelineConfig,
    /// The snapshot guard.
    pub guard: SnapshotGuardConfig,
    /// The market regime detector.
    pub regime: MarketRegimeDetectorConfig,
    /// The per-regime calibrator.
    pub calibrator: CalibratorConfig,
    /// The diversity-aware selector.
    pub selector: SelectorConfig,
    /// The portfolio optimizer.
    pub portfolio: PortfolioConfig,
    /// The Kelly sizer and drawdown governor.
    pub sizer: KellySizerConfig,
    /// The walk-forward backtest.
    pub backtest: BacktestConfig,
    /// The metrics report.
    pub report: ReportConfig,
}

/// Feeds realized outcomes of forecasts to the per-regime calibrator.
struct CalibrationLearner(Shared<RegimeCalibrator>);

impl OnlineLearner<ForecastOutcome> for CalibrationLearner {
    fn learn(&mut self, e: &ForecastOutcome) -> RoleResult<()> {
        let event = CalibrationEvent {
            forecast: e.forecast.clone(),
            regime: e.regime.clone(),
            outcome: e.realized,
        };
        self.0.lock().learn(&event)
    }
}

impl PrudentiaConfig {
    /// Parses a (partial) JSON configuration; absent sections and fields take their
    /// defaults, and every section is validated as it loads.
    ///
    /// # Errors
    /// The JSON error, naming the line, column and (for a bad value) the field.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Parses a (partial) TOML configuration: the same sections and fields as the JSON form,
    /// as TOML tables (`[selector.problem]`, `[portfolio.limits]`, …). Absent sections and
    /// fields take their defaults, and every section is validated as it loads.
    ///
    /// TOML has no null: an optional field (`Option`) is set by giving its value and left at
    /// its default (usually none) by leaving it out.
    ///
    /// # Errors
    /// The TOML error, naming the line, column and (for a bad value) the field.
    pub fn from_toml_str(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads and parses a JSON configuration file ([`from_json`](Self::from_json)).
    ///
    /// # Errors
    /// The I/O error, or the JSON error with the file name.
    pub fn load_json(path: impl AsRef<std::path::Path>) -> Result<Self, Box<dyn Error + Send + Sync>> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?)
    }

    /// Reads and parses a configuration file, TOML or JSON by its extension (`.toml`,
    /// `.json`, either case).
    ///
    /// # Errors
    /// Another extension (or none), the I/O error, or the parse error, each with the file name.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self, Box<dyn Error + Send + Sync>> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => Self::load_json(path),
            Some("toml") => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(Self::from_toml_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
            }
            _ => Err(format!(
                "{}: unknown configuration format (expected a .toml or .json extension)",
                path.display()
            )
            .into()),
        }
    }

    /// A pipeline builder with every prudentia stage constructed (and so validated) from its
    /// section, around your forecaster: guard → regime → forecaster → calibrator (learning
    /// online) → selector → optimizer → Kelly sizer (learning from outcomes). Add observers
    /// or model states, then `build()`.
    ///
    /// # Errors
    /// The first section that fails its constructor's validation.
    pub fn builder(
        &self,
        forecaster: Box<dyn Forecaster>,
    ) -> Result<PipelineBuilder, Box<dyn Error + Send + Sync>> {
        self.pipeline.validate()?;
        let calibrator = Shared::new(RegimeCalibrator::new(self.calibrator.clone())?);
        let sizer = Shared::new(KellySizer::new(self.sizer)?);
        Ok(PipelineBuilder::new(self.pipeline.clone())
            .guard(Box::new(SnapshotGuard::new(self.guard.clone())?))
            .regime(Box::new(MarketRegimeDetector::new(self.regime.clone())?))
            .forecaster(forecaster)
            .calibrator(Box::new(calibrator.clone()))
            .forecast_learner(Box::new(CalibrationLearner(calibrator.clone())))
            .model_state("calibrator", Box::new(calibrator))
            .selector(Box::new(DiversityAwareSelector::new(self.selector.clone())?))
            .optimizer(Box::new(PortfolioOptimizer::new(self.portfolio.clone())?))
            .sizer(Box::new(sizer.clone()))
            .learner(Box::new(sizer)))
    }
}
