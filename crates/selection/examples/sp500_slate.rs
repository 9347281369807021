//! A diversified slate of the 20 real S&P 500 stocks versus the top K by expected return.
//!
//! At each year end, μ is each stock's trailing 252-day mean daily return × 252 (a momentum
//! forecast, risk-adjusted by nothing) and ρ the 252-day rolling correlation (core's
//! `RollingCorrelation`). The slate maximizes `Σ μ − λ Σ_{i<j} ρ_ij` with K = 5, λ = 0.1,
//! at most 2 stocks per GICS sector; the baseline takes the 5 largest μ.
//!
//! Run: `cargo run --release -p prudentia-selection --example sp500_slate`

use ndarray::s;
use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity};
use prudentia_selection::{
    explain, rolling_correlation, top_k_by_return, DiversityAwareSelector, ExclusionReason, SelectionMethod,
    SelectorConfig,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prices = prudentia_datasets::sp500_stocks()?;
    let returns = prudentia_datasets::sp500_stocks()?.simple_returns()?;
    let dates = returns.naive_dates();
    let tickers = prices.columns().to_vec();
    let r = returns.values();
    let mut config = SelectorConfig {
        method: SelectionMethod::Exact,
        max_per_sector: Some(2),
        ..Default::default()
    };
    config.problem.k = 5;
    config.problem.lambda = 0.1;
    config.problem.return_scale = prudentia_selection::ReturnScale::Raw;
    let selector = DiversityAwareSelector::new(config)?;
    println!("K = 5, λ = 0.1, ≤ 2 per sector; μ = 252-day mean × 252, ρ = 252-day rolling correlation");
    println!(
        "{:<10}  {:<28} {:>7} {:>7}   {:<28} {:>7} {:>7}",
        "date", "diversified slate", "Σμ", "avg ρ", "top 5 by μ (same caps)", "Σμ", "avg ρ"
    );
    let mut last = None;
    for year in 1994..=2022 {
        let Some(t) = dates
            .iter()
            .rposition(|d| d.format("%Y").to_string() == year.to_string())
        else {
            continue;
        };
        if t + 1 < 252 {
            continue;
        }
        let window = r.slice(s![t + 1 - 252..=t, ..]);
        let corr = rolling_correlation(window, 252)?;
        let opportunities: Vec<Opportunity> = tickers
            .iter()
            .enumerate()
            .map(|(j, tk)| {
                let col = window.column(j);
                let mean = col.mean().unwrap_or(0.0);
                let sd = col.std(1.0);
                let mut asset = AssetInfo::new(tk.as_str(), prices.values()[[t + 1, j]])?;
                asset.sector = prudentia_datasets::sector_of(tk).map(str::to_owned);
                let forecast = Forecast::new(252.0 * mean, sd * 252f64.sqrt(), Horizon::year())?;
                Ok(Opportunity { asset, forecast })
            })
            .collect::<Result<_, prudentia_core::CoreError>>()?;
        let (slate, problem) = selector.select_detailed(&opportunities, corr.view())?;
        let top = top_k_by_return(&problem);
        let names = |v: &[usize]| {
            v.iter()
                .map(|&i| tickers[i].as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        println!(
            "{:<10}  {:<28} {:>7.3} {:>7.3}   {:<28} {:>7.3} {:>7.3}",
            dates[t],
            names(&slate.selected),
            slate.expected_return,
            problem.average_correlation(&slate.selected)?,
            names(&top.selected),
            top.expected_return,
            problem.average_correlation(&top.selected)?,
        );
        last = Some((slate, problem));
    }
    if let Some((slate, problem)) = last {
        let e = explain(&problem, &slate, 3)?;
        println!(
            "\nWhy, at the last date ({} nodes, status {:?}):",
            slate.nodes, slate.status
        );
        for c in &e.selected {
            println!(
                "  in  {:<5} μ {:>7.3}  penalty {:>6.3}  contribution {:>7.3}",
                tickers[c.index], c.mu, c.penalty, c.contribution
            );
        }
        for x in &e.excluded {
            let why = match &x.reason {
                ExclusionReason::SwapLoss { swap_out, loss } => {
                    format!("best swap (for {}) loses {loss:.3}", tickers[*swap_out])
                }
                ExclusionReason::SectorCap { sector } => format!("sector {sector} is at its cap"),
                r => format!("{r:?}"),
            };
            println!("  out {:<5} μ {:>7.3}  {why}", tickers[x.index], x.mu);
        }
    }
    Ok(())
}
