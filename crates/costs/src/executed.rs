//! Learning from the pipeline's fills: [`AdaptiveCostModel`] as an
//! `OnlineLearner<ExecutedOrder<'_>>`, the learner the pipeline's learn flow calls with
//! each fill of the last decision's orders.

use prudentia_core::traits::{OnlineLearner, Role};
use prudentia_core::{ExecutedOrder, RoleError, RoleResult};

use crate::error::CostsResult;
use crate::model::{AdaptiveCostModel, FillAttribution, FillEvent};

impl AdaptiveCostModel {
    /// Learns from a fill of one of the pipeline's orders: the order's market context comes
    /// from the snapshot it was decided on ([`AdaptiveCostModel::context_from`]), the order
    /// time is that snapshot's time. Returns the fill's attribution under the model before
    /// the fill; a rejected fill changes nothing.
    ///
    /// ```
    /// use prudentia_core::{AssetId, AssetInfo, ExecutedOrder, Fill, MarketSnapshot, Order,
    ///     OrderType, Quote, Side, Timestamp, Venue};
    /// use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig};
    ///
    /// let mut model = AdaptiveCostModel::new(CostModelConfig::new(["LIT"]))?;
    /// let id = AssetId::new("AAA");
    /// let time = Timestamp::from_nanos(1_704_186_000_000_000_000); // 2024-01-02 09:00 UTC
    /// let mut info = AssetInfo::new(id.clone(), 50.0)?;
    /// info.adv_shares = Some(2e6);
    /// let market = MarketSnapshot {
    ///     time,
    ///     quotes: vec![Quote { asset: id.clone(), time, price: 50.0, volume: None, spread_bps: Some(4.0) }],
    ///     indicators: vec![],
    ///     assets: vec![info],
    /// };
    /// let venue = Venue("LIT".into());
    /// let mut order = Order::new(id.clone(), Side::Buy, 10_000.0, OrderType::Market)?;
    /// order.venue = Some(venue.clone());
    /// let fill = Fill { asset: id, time, side: Side::Buy, quantity: 10_000.0, price: 50.02,
    ///     arrival_price: 50.0, order_type: OrderType::Market, venue: Some(venue) };
    /// let a = model.learn_executed(&ExecutedOrder { order: &order, fill: &fill, market: &market })?;
    /// assert!((a.realized_bps - 4.0).abs() < 1e-9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn learn_executed(&mut self, e: &ExecutedOrder<'_>) -> CostsResult<FillAttribution> {
        let event = FillEvent {
            fill: e.fill.clone(),
            order_time: e.market.time,
            context: self.context_from(e.order, e.market)?,
        };
        self.learn_fill(&event)
    }
}

impl<'a> OnlineLearner<ExecutedOrder<'a>> for AdaptiveCostModel {
    fn learn(&mut self, event: &ExecutedOrder<'a>) -> RoleResult<()> {
        self.learn_executed(event)
            .map(|_| ())
            .map_err(|e| RoleError::implementation(Role::Costs, e))
    }
}
