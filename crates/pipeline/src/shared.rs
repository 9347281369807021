//! Sharing one stage between the decide and the learn flow.

use std::sync::{Arc, Mutex, MutexGuard};

use ndarray::ArrayView2;
use prudentia_core::traits::*;
use prudentia_core::{
    AssetInfo, CoreError, DecisionRecord, Forecast, MarketSnapshot, Opportunity, Order, Outcome, RegimeState,
    Weights,
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
/// Every clone refers to the same value. If a holder panics while using the stage, its state
/// may be half-updated: every later call through a role trait is then refused with a typed
/// error (never a panic) until the state has been inspected ([`Shared::lock`] still gives
/// access) and [`Shared::clear_poison`] is called.
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
    /// Locks the stage for inspection or direct use (also when it is poisoned).
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Whether a holder panicked while using the stage (role-trait calls are then refused).
    pub fn is_poisoned(&self) -> bool {
        self.0.is_poisoned()
    }
    /// Accepts the stage's state again after a panic in a holder.
    pub fn clear_poison(&self) {
        self.0.clear_poison()
    }
    /// The stage for a role-trait call: refused while poisoned.
    fn stage(&self) -> RoleResult<MutexGuard<'_, T>> {
        self.0.lock().map_err(|_| {
            RoleError::Core(CoreError::Numerical {
                operation: "shared stage",
                detail: "poisoned by a panic in another holder (inspect with `lock`, then `clear_poison`)",
            })
        })
    }
}

impl<T: Guard> Guard for Shared<T> {
    fn screen(&mut self, snapshot: &MarketSnapshot) -> RoleResult<Screened> {
        self.stage()?.screen(snapshot)
    }
}
impl<T: RegimeDetector> RegimeDetector for Shared<T> {
    fn observe(&mut self, snapshot: &MarketSnapshot) -> RoleResult<RegimeState> {
        self.stage()?.observe(snapshot)
    }
}
impl<T: Forecaster + Send> Forecaster for Shared<T> {
    fn forecast(&self, asset: &AssetInfo, regime: &RegimeState) -> RoleResult<Forecast> {
        self.stage()?.forecast(asset, regime)
    }
}
impl<T: Calibrator + Send> Calibrator for Shared<T> {
    fn calibrate(&self, forecast: &Forecast, regime: &RegimeState) -> RoleResult<Forecast> {
        self.stage()?.calibrate(forecast, regime)
    }
}
impl<T: CausalFilter + Send> CausalFilter for Shared<T> {
    fn filter(&self, opportunities: Vec<Opportunity>) -> RoleResult<Vec<Opportunity>> {
        self.stage()?.filter(opportunities)
    }
}
impl<T: Selector + Send> Selector for Shared<T> {
    fn select(&self, opportunities: &[Opportunity], correlation: ArrayView2<'_, f64>) -> RoleResult<Slate> {
        self.stage()?.select(opportunities, correlation)
    }
    fn select_psd(
        &self,
        opportunities: &[Opportunity],
        correlation: &prudentia_core::estimators::PsdCorrelation,
    ) -> RoleResult<Slate> {
        self.stage()?.select_psd(opportunities, correlation)
    }
}
impl<T: Optimizer + Send> Optimizer for Shared<T> {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        self.stage()?.optimize(input)
    }
}
impl<T: Sizer + Send> Sizer for Shared<T> {
    fn size(&self, target: &Weights, context: &SizingContext<'_>) -> RoleResult<Weights> {
        self.stage()?.size(target, context)
    }
}
impl<T: CostModel + Send> CostModel for Shared<T> {
    fn estimate(&self, order: &Order, market: &MarketSnapshot) -> RoleResult<CostEstimate> {
        self.stage()?.estimate(order, market)
    }
    fn estimate_all(&self, orders: &[Order], market: &MarketSnapshot) -> Vec<RoleResult<CostEstimate>> {
        match self.stage() {
            Ok(m) => m.estimate_all(orders, market),
            // each order gets the poisoned lock's error, as from `estimate`
            Err(_) => orders.iter().map(|o| self.estimate(o, market)).collect(),
        }
    }
}
impl<T: ExecutionPolicy + Send> ExecutionPolicy for Shared<T> {
    fn route(&self, order: &Order, market: &MarketSnapshot, seed: u64) -> RoleResult<Order> {
        self.stage()?.route(order, market, seed)
    }
    fn route_all(
        &self,
        orders: &[Order],
        market: &MarketSnapshot,
        seeds: &[u64],
    ) -> RoleResult<Vec<RoleResult<Order>>> {
        match self.stage() {
            Ok(p) => p.route_all(orders, market, seeds),
            // each order gets the poisoned lock's error, as from `route`
            Err(_) => {
                prudentia_core::validate::check_shape("seeds", &[orders.len()], &[seeds.len()])?;
                Ok(orders
                    .iter()
                    .zip(seeds)
                    .map(|(o, &seed)| self.route(o, market, seed))
                    .collect())
            }
        }
    }
}
impl<T: AuditSink> AuditSink for Shared<T> {
    fn record(&mut self, snapshot: &MarketSnapshot, record: &DecisionRecord) -> RoleResult<()> {
        self.stage()?.record(snapshot, record)
    }
    fn outcome(&mut self, outcome: &Outcome) -> RoleResult<()> {
        self.stage()?.outcome(outcome)
    }
}
impl<E: ?Sized, T: OnlineLearner<E>> OnlineLearner<E> for Shared<T> {
    fn learn(&mut self, event: &E) -> RoleResult<()> {
        self.stage()?.learn(event)
    }
}
impl<T: OnlinePolicy + Send> OnlinePolicy for Shared<T> {
    fn n_actions(&self) -> usize {
        self.lock().n_actions()
    }
    fn choose(&self, context: &[f64], explore: bool, seed: u64) -> RoleResult<ActionChoice> {
        self.stage()?.choose(context, explore, seed)
    }
    fn update(&mut self, context: &[f64], action: usize, reward: f64) -> RoleResult<()> {
        self.stage()?.update(context, action, reward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prudentia_core::Outcome;

    struct Fragile(usize);
    impl OnlineLearner<Outcome> for Fragile {
        fn learn(&mut self, o: &Outcome) -> RoleResult<()> {
            self.0 += 1;
            if o.equity == Some(13.0) {
                panic!("half-updated");
            }
            Ok(())
        }
    }

    #[test]
    fn a_poisoned_stage_is_refused_until_cleared() {
        let s = Shared::new(Fragile(0));
        let mut learner = s.clone();
        learner.learn(&Outcome::default()).unwrap();
        let mut other = s.clone();
        let bad = Outcome {
            equity: Some(13.0),
            ..Default::default()
        };
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| other.learn(&bad))).is_err());
        assert!(s.is_poisoned());
        assert!(learner.learn(&Outcome::default()).is_err());
        assert_eq!(s.lock().0, 2);
        s.clear_poison();
        learner.learn(&Outcome::default()).unwrap();
        assert_eq!(s.lock().0, 3);
    }
}
