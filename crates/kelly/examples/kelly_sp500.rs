//! Kelly sizing on real data (the S&P 500 sample shipped with prudentia-datasets):
//!
//! 1. full, half and governed Kelly on the index, 1991–2022, with a naive forecaster
//!    (trailing 250-day mean, EWMA volatility);
//! 2. growth-optimal long-only weights over the 20 stocks from their last 500 daily returns;
//! 3. the half-Kelly weights allocated for $1M with caps and a sector crowding penalty.
//!
//! Run: `cargo run -p prudentia-kelly --example kelly_sp500 --release`

use prudentia_core::AssetInfo;
use prudentia_datasets::real::{sp500_assets, sp500_index, sp500_stocks};
use prudentia_kelly::allocation::{AllocationConfig, AllocationItem, Allocator};
use prudentia_kelly::governor::{DrawdownGovernor, DrawdownGovernorConfig};
use prudentia_kelly::multi::{growth_optimal, GrowthOptimalConfig};
use prudentia_kelly::single::{Kelly, KellyConfig, KellyInput, MeanShrinkage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. the index
    let index = sp500_index()?.simple_returns()?;
    let r = index.column_complete("SP500")?;
    let base = KellyConfig {
        fraction: 1.0,
        target_vol_annual: None,
        max_fraction: 5.0,
        shrinkage: MeanShrinkage::None,
        stress_sigmas: None,
        allow_short: false,
    };
    let full = Kelly::new(base)?;
    let half = Kelly::new(KellyConfig {
        fraction: 0.5,
        ..base
    })?;
    let governed = Kelly::new(KellyConfig {
        stress_sigmas: Some(6.0),
        ..base
    })?;
    let hard = DrawdownGovernorConfig {
        start_drawdown: 0.05,
        stop_drawdown: 0.25,
        exponent: 2.0,
        recovery_half_life: None,
    };
    // a permanent hard stop, and one whose reference peak decays (half-life 60 days)
    let mut governors = [
        DrawdownGovernor::new(hard)?,
        DrawdownGovernor::new(DrawdownGovernorConfig {
            recovery_half_life: Some(60.0),
            ..hard
        })?,
    ];
    let window = 250;
    let mut sum: f64 = r.iter().take(window).sum();
    let mut var = r.iter().take(window).map(|x| x * x).sum::<f64>() / window as f64;
    let mut paths = [(1.0_f64, 1.0_f64, 0.0_f64); 4]; // (equity, peak, max drawdown)
    for g in &mut governors {
        g.observe(1.0)?;
    }
    for t in window..r.len() {
        let input = KellyInput::daily(sum / window as f64, var.sqrt());
        let f = [
            full.fraction(&input, None)?.fraction,
            half.fraction(&input, None)?.fraction,
            governed.fraction(&input, Some(&governors[0]))?.fraction,
            governed.fraction(&input, Some(&governors[1]))?.fraction,
        ];
        for (p, f) in paths.iter_mut().zip(f) {
            p.0 *= 1.0 + f * r[t];
            p.1 = p.1.max(p.0);
            p.2 = p.2.max(1.0 - p.0 / p.1);
        }
        governors[0].observe(paths[2].0)?;
        governors[1].observe(paths[3].0)?;
        sum += r[t] - r[t - window];
        var = 0.94 * var + 0.06 * r[t] * r[t];
    }
    println!("S&P 500 index, {} days, leverage cap 5:", r.len() - window);
    let names = [
        "full Kelly",
        "half Kelly",
        "governed, hard stop 25 %",
        "governed, re-armed (half-life 60 d)",
    ];
    for (name, p) in names.iter().zip(paths) {
        println!(
            "  {name:<36} final equity {:>8.2}  max drawdown {:>5.1} %",
            p.0,
            100.0 * p.2
        );
    }

    // 2. growth-optimal weights over the 20 stocks
    let prices = sp500_stocks()?;
    let last: Vec<usize> = (prices.n_rows() - 501..prices.n_rows()).collect();
    let returns = prices.take_rows(&last)?.simple_returns()?;
    let scenarios = returns.complete_values()?;
    let cfg = GrowthOptimalConfig {
        upper: 0.25,
        fraction: 0.5,
        ..Default::default()
    };
    let g = growth_optimal(scenarios, &cfg)?;
    println!(
        "\ngrowth-optimal long-only (≤ 25 % a name, gross ≤ 1) over the last {} days: \
         mean log return {:.5}/day, {:?}, {} Newton steps",
        scenarios.nrows(),
        g.objective,
        g.status,
        g.iterations
    );
    let names = returns.columns();
    for (name, w) in names.iter().zip(g.full.iter()) {
        if *w > 1e-4 {
            println!("  {name:<6} {:>6.2} %", 100.0 * w);
        }
    }

    // 3. allocate the half-Kelly weights
    let assets: Vec<AssetInfo> = sp500_assets()?;
    let items: Vec<_> = assets
        .iter()
        .zip(g.weights.iter())
        .map(|(a, w)| AllocationItem::new(a, *w))
        .collect();
    let allocator = Allocator::new(AllocationConfig {
        max_name_fraction: 0.08,
        sector_free_fraction: 0.1,
        ..Default::default()
    })?;
    let alloc = allocator.allocate(&items, 1_000_000.0)?;
    println!(
        "\nhalf-Kelly allocation of $1M ({:?}, {:?}): gross ${:.0}",
        alloc.method,
        alloc.status,
        alloc.gross_notional()
    );
    for p in alloc
        .positions
        .iter()
        .filter(|p| p.target_notional != 0.0 || p.shares != 0.0)
    {
        println!(
            "  {:<6} {:>6} shares  ${:>9.0} of ${:>9.0}  {:?}",
            p.asset.as_str(),
            p.shares,
            p.notional,
            p.target_notional,
            p.binding
        );
    }
    println!("  cut by: {:?}", alloc.cuts);
    Ok(())
}
