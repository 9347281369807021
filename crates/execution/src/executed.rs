//! Learning from the pipeline's fills: [`ExecutionRouter`] as an
//! `OnlineLearner<ExecutedOrder<'_>>`, the learner the pipeline's learn flow calls with each
//! fill of the last decision's orders.

use prudentia_core::traits::OnlineLearner;
use prudentia_core::{ExecutedOrder, RoleResult};

use crate::error::{ExecutionError, ExecutionResult};
use crate::features::{MarketState, N_FEATURES};
use crate::router::{role, ExecutionRouter, RoutedFill, RoutingRecord};

impl ExecutionRouter {
    /// Learns from a fill of an order this router routed in the pipeline: the context is
    /// rebuilt from the snapshot the order was routed on (the same [`MarketState`] the
    /// choice saw, so it is bit-identical), the action, propensity and seed come from the
    /// order's routing log. Returns the reward learned (minus the slippage in bps). An order
    /// without a routing log is an [`ExecutionError::ActionNeverTaken`]; a rejected fill
    /// changes nothing.
    pub fn learn_executed(&mut self, e: &ExecutedOrder<'_>) -> ExecutionResult<f64> {
        let log = e.order.routing.as_ref().ok_or(ExecutionError::ActionNeverTaken {
            detail: "the order carries no routing log (it was not routed by a policy)",
        })?;
        let state = MarketState::from_snapshot(e.order, e.market)?;
        let mut context = vec![0.0; N_FEATURES];
        state.write_features(&mut context)?;
        self.learn_fill(&RoutedFill {
            routing: RoutingRecord {
                context,
                action: log.action,
                propensity: log.propensity,
                seed: log.seed,
            },
            fill: e.fill.clone(),
        })
    }
}

/// The pipeline's learn flow. An order without a routing log was not chosen by this router
/// (the pipeline sends an order it could not route as it made it, with a note in the
/// decision report): a bandit learns only from its own choices, whose propensities it knows,
/// so such a fill is skipped and changes nothing. [`ExecutionRouter::learn_executed`], called
/// directly, refuses it with [`ExecutionError::ActionNeverTaken`].
impl<'a> OnlineLearner<ExecutedOrder<'a>> for ExecutionRouter {
    fn learn(&mut self, event: &ExecutedOrder<'a>) -> RoleResult<()> {
        if event.order.routing.is_none() {
            return Ok(());
        }
        self.learn_executed(event).map(|_| ()).map_err(role)
    }
}
