//! # prudentia-costs
//!
//! What an order will cost, and what fills teach about it:
//!
//! - [`ac`]: the Almgren–Chriss optimal execution trajectory (Almgren & Chriss 2000,
//!   "Optimal execution of portfolio transactions", Journal of Risk 3(2), 5–39) for a risk
//!   aversion λ, its expected cost `E`, variance `V`, `E + λV` and the efficient frontier,
//!   with linear temporary and permanent impact and the fixed (spread) cost; the paper's
//!   worked example is reproduced to 1e-10 (tests, also against a direct QP solve).
//! - [`impact`]: the power-law ("square-root") impact model of Almgren, Thum, Hauptmann &
//!   Li (2005, "Direct estimation of equity market impact", Risk 18(7)) for the per-order
//!   estimate, calibrated from fills by Levenberg–Marquardt nonlinear least squares with
//!   standard errors.
//! - [`model`]: [`model::AdaptiveCostModel`], the impact base plus a residual slippage
//!   learned online from every fill (RLS with forgetting over one-hot venue, order type and
//!   time of day and the numeric spread, queue position, volatility and participation, with
//!   a predictive interval; boosted trees refitted in batches; the learner with the lower
//!   held-out error is used), the per-fill [`model::FillAttribution`], and core's
//!   [`CostModel`](prudentia_core::traits::CostModel) and
//!   [`OnlineLearner`](prudentia_core::traits::OnlineLearner) for the pipeline.
//!
//! ## Example
//! ```
//! use prudentia_core::{AssetId, Fill, OrderType, Side, Timestamp, Venue};
//! use prudentia_costs::ac::{optimal_trajectory, AcParams};
//! use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig, FillEvent, OrderContext};
//!
//! # fn main() -> Result<(), prudentia_costs::CostsError> {
//! // Almgren–Chriss: the paper's example at λ = 2e-6 front-loads the sale.
//! let t = optimal_trajectory(&AcParams::paper_example(), 2e-6)?;
//! assert!(t.trades[0] > 2.0 * t.trades[4]);
//!
//! // Per-order estimate, then learn from a fill.
//! let mut model = AdaptiveCostModel::new(CostModelConfig::new(["XNYS", "ARCX"]))?;
//! let ctx = OrderContext { spread_bps: 8.0, volatility: 0.02, adv_shares: 1e6,
//!     queue_position: 0.0, time_of_day: 0.5 };
//! let est = model.estimate_order(10_000.0, &OrderType::Market, Some("XNYS"), &ctx)?;
//! assert!(est.expected_bps > 4.0);
//! let fill = Fill { asset: AssetId::new("ABC"), time: Timestamp::from_nanos(2), side: Side::Buy,
//!     quantity: 10_000.0, price: 100.2, arrival_price: 100.0, order_type: OrderType::Market,
//!     venue: Some(Venue("XNYS".into())) };
//! let attribution = model.learn_fill(&FillEvent { fill, order_time: Timestamp::from_nanos(1), context: ctx })?;
//! assert!((attribution.realized_bps - 20.0).abs() < 1e-9);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ac;
pub mod error;
mod executed;
pub mod impact;
pub mod model;

pub use error::{CostsError, CostsResult};
