//! Monthly rebalancing of a long/short mean–CVaR portfolio of the 20 real S&P 500 stocks, with
//! GICS sector caps, hard gross/net/leverage limits, and CVaR and turnover budgets kept over
//! time by the Lagrangian primal–dual controller.
//!
//! Each month-end (every 21 trading days) over 2020-01 .. 2022-12:
//! - scenarios: the trailing 500 daily returns; μ: their mean shrunk halfway to zero;
//! - the optimizer maximizes μᵀw − λ_c·CVaR₉₅(w) − λ_τ·Σ|w − w₀| under the hard limits;
//! - after the month, the controller sees the ex-post CVaR₉₅ of the held weights over the
//!   trailing 250 days (which now include the month held) and the rebalance's turnover, and
//!   takes a projected dual-ascent step on λ_c and λ_τ.
//!
//! Prints the weights, the binding limits with shadow prices, and the multiplier path; draws
//! the weights over time to `target/portfolio_monthly_weights.svg`.
//!
//! Run: `cargo run -p prudentia-portfolio --example monthly_rebalance`

use ndarray::{Axis, Slice};
use plotters::prelude::*;
use prudentia_datasets::{sector_of, sp500_stocks};
use prudentia_portfolio::{
    scenario_var_cvar, Limits, Objective, PortfolioConfig, PortfolioOptimizer, PortfolioProblem,
    PrimalDualConfig, PrimalDualController, RiskOutcome,
};

const WINDOW: usize = 500;
const MONTH: usize = 21;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prices = sp500_stocks()?;
    let returns = prices.simple_returns()?;
    let names: Vec<String> = returns.columns().to_vec();
    let sectors: Vec<String> = names
        .iter()
        .map(|t| sector_of(t).unwrap_or("Other").to_string())
        .collect();
    let dates = returns.naive_dates();
    let r = returns.values();
    let n = names.len();
    let start = dates
        .iter()
        .position(|d| d.to_string().as_str() >= "2020-01-01")
        .ok_or("no 2020 data")?;

    let mut config = PortfolioConfig {
        objective: Objective::MeanCvar,
        alpha: 0.95,
        limits: Limits {
            weight_min: -0.15,
            weight_max: 0.25,
            gross_max: Some(2.0),
            net_min: Some(0.0),
            net_max: Some(1.0),
            leverage_max: Some(1.5),
            sector_net_min: Some(-0.3),
            sector_net_max: Some(0.3),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut controller = PrimalDualController::new(PrimalDualConfig {
        cvar_budget: 0.022,
        turnover_budget: 0.25,
        initial_cvar_penalty: 0.02,
        initial_turnover_penalty: 0.0,
        cvar_step: 0.02,
        turnover_step: 0.0005,
        decay: 0.3,
        ..Default::default()
    })?;

    let mut w = vec![0.0; n];
    let mut path = Vec::new();
    println!(
        "{:<10} {:>7} {:>8} {:>7} {:>7} {:>8} {:>6}  binding limits",
        "date", "λ_cvar", "λ_turn", "gross", "net", "turnover", "CVaR"
    );
    let mut t = start;
    while t + MONTH <= r.nrows() {
        controller.apply(&mut config);
        let (lc, lt) = controller.penalties();
        let window = r.slice_axis(Axis(0), Slice::from(t - WINDOW..t)).to_owned();
        let mu: Vec<f64> = (0..n)
            .map(|j| 0.5 * window.column(j).mean().unwrap_or(0.0))
            .collect();
        let problem = PortfolioProblem::new(mu)
            .with_scenarios(window)
            .with_sectors(sectors.iter().cloned())
            .with_current(w.clone());
        let res = PortfolioOptimizer::new(config.clone())?.solve(&problem)?;
        if !res.status.is_converged() {
            println!("{}: {} — keeping the book", dates[t], res.status);
            t += MONTH;
            continue;
        }
        let binding: Vec<String> = res
            .active
            .iter()
            .filter(|a| {
                !matches!(
                    a.limit,
                    prudentia_portfolio::LimitId::WeightMin { .. }
                        | prudentia_portfolio::LimitId::WeightMax { .. }
                )
            })
            .map(|a| format!("{} ({:.2e})", a.limit, a.shadow_price))
            .collect();
        let name_caps = res.active.len() - binding.len();
        println!(
            "{:<10} {:>7.4} {:>8.5} {:>7.3} {:>7.3} {:>8.3} {:>6.4}  {} + {name_caps} name bounds",
            dates[t].to_string(),
            lc,
            lt,
            res.risk.gross,
            res.risk.net,
            res.risk.turnover,
            res.risk.cvar.unwrap_or(f64::NAN),
            binding.join(", ")
        );
        let turnover = res.risk.turnover;
        w = res.weights.clone();
        // ex-post: trailing 250 days ending after the month held
        let post = r.slice_axis(Axis(0), Slice::from(t + MONTH - 250..t + MONTH));
        let (_, cvar) = scenario_var_cvar(post, &w, 0.95)?;
        controller.update(&RiskOutcome { cvar, turnover })?;
        path.push((dates[t], w.clone(), lc, lt, cvar, turnover));
        t += MONTH;
    }

    let st = controller.state();
    println!(
        "\naverages over {} months: ex-post CVaR95 {:.4} (budget {:.4}), turnover {:.3} (budget {:.3})",
        st.periods,
        st.average_cvar,
        controller.config().cvar_budget,
        st.average_turnover,
        controller.config().turnover_budget
    );
    println!("\nfinal weights:");
    for (j, name) in names.iter().enumerate() {
        println!("  {name:<5} {:<24} {:>7.3}", sectors[j], w[j]);
    }

    // weights over time
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/portfolio_monthly_weights.svg");
    std::fs::create_dir_all(out.parent().ok_or("no parent")?)?;
    let root = SVGBackend::new(&out, (1150, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, legend) = root.split_horizontally(1010);
    let months = path.len();
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "Monthly long/short mean-CVaR weights (20 S&P 500 stocks)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..(months.max(2) - 1) as f64, -0.2f64..0.3f64)?;
    chart
        .configure_mesh()
        .x_desc("rebalance date")
        .y_desc("weight")
        .x_label_formatter(&|x| {
            path.get(*x as usize)
                .map(|p| p.0.format("%Y-%m").to_string())
                .unwrap_or_default()
        })
        .draw()?;
    for (j, name) in names.iter().enumerate() {
        let color = Palette99::pick(j).to_rgba();
        chart.draw_series(LineSeries::new(
            path.iter().enumerate().map(|(k, p)| (k as f64, p.1[j])),
            color.stroke_width(2),
        ))?;
        let y = 60 + 26 * j as i32;
        legend.draw(&PathElement::new(vec![(8, y), (32, y)], color.stroke_width(3)))?;
        legend.draw(&Text::new(name.clone(), (38, y - 7), ("sans-serif", 14)))?;
    }
    root.present()?;
    println!("\nweights over time drawn to {}", out.display());
    Ok(())
}
