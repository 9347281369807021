//! Sharing one stage between the decide and the learn flow.

use std::sync::{Arc, Mutex, MutexGuard};

use ndarray::ArrayView2;
use prudentia_core::traits::*;
use prudentia_core::{
    AssetInfo, DecisionRecord, Forecast, MarketSnapshot, Opportunity, Order, Outcome, RegimeState, Weights,
};

/// A stage shared between several pipeline slots, e.g. a sizer whose drawdown governor also
/// learns from outcomes, or a calibrator that is both applied and updated:
///
/// ```
/// # use prudentia_core::traits::*; use prudentia_core::*;
/// # use prudentia_pipeline::Shared;
/// # struct Sz; impl Sizer for Sz { fn size(&self, w: &Weights, _: &SizingContext<'_>) -> RoleResult<Weights> { Ok(w.clone()) } }
/// # impl OnlineLearner<Outcome> for Sz { fn learn(&mut self, _: &Outcome) -> RoleResult<()> { Ok(()) } }
/// let sizer = Shared::new(Sz);
/// let as_sizer: Box<dyn Sizer> = Box::new(sizer.clone());
/// let as_learner: Box<dyn OnlineLearner<Outcome>> = Box::new(sizer.clone());
/// ```
///
/// Every clone refers to the same value. A poisoned lock (a panic in another holder) is
/// recovered rather than propagated: stage state is plain data.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Shared<T> {
    /// Wraps a stage.
    pub fn new(stage: T) -> Self {
        Self(Arc::new(Mutex::new(stage)))
    }
    /// Locks the stage for inspection or direct use.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T: Guard> Guard for Shared<T> {
    fn screen(&mut self, snapshot: &MarketSnapshot) -> RoleResult<Screened> {
        self.lock().screen(snapshot)
    }
}
impl<T: RegimeDetector> RegimeDetector for Shared<T> {
    fn observe(&mut self, snapshot: &MarketSnapshot) -> RoleResult<RegimeState> {
        self.lock().observe(snapshot)
    }
}
impl<T: Forecaster + Send> Forecaster for Shared<T> {
    fn forecast(&self, asset: &AssetInfo, regime: &RegimeState) -> RoleResult<Forecast> {
        self.lock().forecast(asset, regime)
    }
}
impl<T: Calibrator + Send> Calibrator for Shared<T> {
    fn calibrate(&self, forecast: &Forecast, regime: &RegimeState) -> RoleResult<Forecast> {
        self.lock().calibrate(forecast, regime)
    }
}
impl<T: CausalFilter + Send> CausalFilter for Shared<T> {
    fn filter(&self, opportunities: Vec<Opportunity>) -> RoleResult<Vec<Opportunity>> {
        self.lock().filter(opportunities)
    }
}
impl<T: Selector + Send> Selector for Shared<T> {
    fn select(&self, opportunities: &[Opportunity], correlation: ArrayView2<'_, f64>) -> RoleResult<Slate> {
        self.lock().select(opportunities, correlation)
    }
}
impl<T: Optimizer + Send> Optimizer for Shared<T> {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        self.lock().optimize(input)
    }
}
impl<T: Sizer + Send> Sizer for Shared<T> {
    fn size(&self, target: &Weights, context: &SizingContext<'_>) -> RoleResult<Weights> {
        self.lock().size(target, context)
    }
}
impl<T: CostModel + Send> CostModel for Shared<T> {
    fn estimate(&self, order: &Order, market: &MarketSnapshot) -> RoleResult<CostEstimate> {
        self.lock().estimate(order, market)
    }
}
impl<T: ExecutionPolicy + Send> ExecutionPolicy for Shared<T> {
    fn route(&self, order: &Order, market: &MarketSnapshot, seed: u64) -> RoleResult<Order> {
        self.lock().route(order, market, seed)
    }
}
impl<T: AuditSink> AuditSink for Shared<T> {
    fn record(&mut self, snapshot: &MarketSnapshot, record: &DecisionRecord) -> RoleResult<()> {
        self.lock().record(snapshot, record)
    }
    fn outcome(&mut self, outcome: &Outcome) -> RoleResult<()> {
        self.lock().outcome(outcome)
    }
}
impl<E: ?Sized, T: OnlineLearner<E>> OnlineLearner<E> for Shared<T> {
    fn learn(&mut self, event: &E) -> RoleResult<()> {
        self.lock().learn(event)
    }
}
impl<T: OnlinePolicy + Send> OnlinePolicy for Shared<T> {
    fn n_actions(&self) -> usize {
        self.lock().n_actions()
    }
    fn choose(&self, context: &[f64], explore: bool, seed: u64) -> RoleResult<ActionChoice> {
        self.lock().choose(context, explore, seed)
    }
    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()> {
        self.lock().update(context, action, reward)
    }
}
