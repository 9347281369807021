//! Expected costs per order and the cost attribution of simulated fills.
//!
//! `cargo run -p prudentia-costs --example costs`

use prudentia_core::{AssetId, Fill, OrderType, Side, Timestamp, Venue};
use prudentia_costs::ac::{efficient_frontier, AcParams};
use prudentia_costs::model::{AdaptiveCostModel, CostModelConfig, FillEvent, OrderContext};
use prudentia_datasets::fills::fills;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Almgren–Chriss: the paper's example along the efficient frontier.
    println!("Almgren-Chriss (X = 1e6, T = 5 days, N = 5):");
    for t in efficient_frontier(&AcParams::paper_example(), &[0.0, 1e-6, 2e-6])? {
        let trades: Vec<String> = t.trades.iter().map(|n| format!("{n:.0}")).collect();
        println!(
            "  lambda {:.0e}: trades [{}], E = {:.0}, sd = {:.0}, E + lambda V = {:.0}",
            t.lambda,
            trades.join(", "),
            t.expected_cost,
            t.variance.sqrt(),
            t.objective()
        );
    }

    // Learn from 3,000 simulated fills (known square-root impact plus venue, order-type and
    // time-of-day residuals), then estimate orders.
    let sample = fills(3000, 7)?;
    let mut model = AdaptiveCostModel::new(CostModelConfig::new(["V0", "V1", "V2"]))?;
    let adv = 2e6;
    let mut shown = 0;
    println!("\nattribution of simulated fills (bps | currency):");
    for r in 0..sample.len() {
        let side = if r % 2 == 0 { Side::Buy } else { Side::Sell };
        let sign = if r % 2 == 0 { 1.0 } else { -1.0 };
        let e = FillEvent {
            fill: Fill {
                asset: AssetId::new("ABC"),
                time: Timestamp::from_nanos(1_000 * r as i64 + 400),
                side,
                quantity: (sample.participation[r] * adv).round().max(1.0),
                price: 50.0 * (1.0 + sign * sample.slippage_bps[r] * 1e-4),
                arrival_price: 50.0,
                order_type: sample.core_order_type(r).ok_or("row")?,
                venue: Some(Venue(format!("V{}", sample.venue[r]))),
            },
            order_time: Timestamp::from_nanos(1_000 * r as i64),
            context: OrderContext {
                spread_bps: sample.spread_bps[r],
                volatility: sample.volatility[r],
                adv_shares: adv,
                queue_position: 0.0,
                time_of_day: sample.time_of_day[r],
            },
        };
        let a = model.learn_fill(&e)?;
        if r >= sample.len() - 5 {
            shown += 1;
            println!(
                "  fill {r}: {:?} {:.0} @ {:.4} (arrival {:.2}): realized {:.2} = spread {:.2} + impact {:.2} + residual {:.2} + left {:.2} bps | {:.0} = {:.0} + {:.0} + {:.0} + {:.0}",
                a.side, a.quantity, a.fill_price, a.arrival_price,
                a.realized_bps, a.spread_bps, a.impact_bps, a.residual_bps, a.unexplained_bps,
                a.realized, a.spread, a.impact, a.residual, a.unexplained
            );
        }
    }
    assert_eq!(shown, 5);
    if let Some(c) = model.calibration() {
        let se = c.std_errors.ok_or("no standard errors")?;
        println!(
            "\ncalibrated impact: eta = {:.3} (se {:.3}), exponent = {:.3} (se {:.3}), intercept = {:.2} bps; held-out RMSE [base, rls, trees] = {:.2?}, learner {:?}",
            c.params.eta, se.eta, c.params.exponent, se.exponent, c.params.intercept_bps,
            model.held_out_rmse(), model.learner()
        );
    }
    println!("\nexpected cost per order (spread 10 bps, vol 2%, ADV 2M):");
    for (qty, ot, venue, tod) in [
        (2_000.0, OrderType::Limit, "V0", 0.5),
        (20_000.0, OrderType::Market, "V1", 0.05),
        (100_000.0, OrderType::Pov { rate: 0.1 }, "V2", 0.5),
        (200_000.0, OrderType::Pegged, "V0", 0.95),
    ] {
        let ctx = OrderContext {
            spread_bps: 10.0,
            volatility: 0.02,
            adv_shares: adv,
            queue_position: 0.0,
            time_of_day: tod,
        };
        let c = model.estimate_order(qty, &ot, Some(venue), &ctx)?;
        println!(
            "  {qty:>8.0} sh {ot:?} at {venue}, time {tod:.2}: {:.2} bps (spread {:.2} + impact {:.2} + residual {:.2}) +- {:.2}",
            c.expected_bps, c.spread_bps, c.impact_bps, c.residual_bps, c.std_bps
        );
    }
    Ok(())
}
