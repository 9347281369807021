//! Real data: on the 20 S&P 500 stocks with a 252-day rolling correlation, the diversified
//! slate has a lower average pairwise correlation than the top K by μ, at equal or slightly
//! lower total μ (same constraints for both).

use ndarray::s;
use prudentia_core::traits::Selector;
use prudentia_core::Status;
use prudentia_core::{AssetInfo, Forecast, Horizon, Opportunity};
use prudentia_selection::{
    rolling_correlation, top_k_by_return, DiversityAwareSelector, SelectionMethod, SelectorConfig,
};

#[test]
fn slate_is_less_correlated_than_top_k_at_similar_return() {
    let prices = prudentia_datasets::sp500_stocks().unwrap();
    let returns = prices.simple_returns().unwrap();
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
    let selector = DiversityAwareSelector::new(config).unwrap();
    let (mut mu_slate, mut mu_top, mut differ) = (0.0, 0.0, 0);
    for year in 1994..=2022 {
        let t = dates
            .iter()
            .rposition(|d| d.format("%Y").to_string() == year.to_string())
            .unwrap();
        let window = r.slice(s![t + 1 - 252..=t, ..]);
        let corr = rolling_correlation(window, 252).unwrap();
        let opportunities: Vec<Opportunity> = tickers
            .iter()
            .enumerate()
            .map(|(j, tk)| {
                let col = window.column(j);
                let mut asset = AssetInfo::new(tk.as_str(), prices.values()[[t + 1, j]]).unwrap();
                asset.sector = prudentia_datasets::sector_of(tk).map(str::to_owned);
                let f = Forecast::new(
                    252.0 * col.mean().unwrap(),
                    col.std(1.0) * 252f64.sqrt(),
                    Horizon::year(),
                );
                Opportunity {
                    asset,
                    forecast: f.unwrap(),
                }
            })
            .collect();
        let (slate, problem) = selector.select_detailed(&opportunities, corr.view()).unwrap();
        assert_eq!(slate.status, Status::Converged);
        assert!(
            !problem.correlation_report().repaired,
            "rolling correlation is a valid correlation"
        );
        let top = top_k_by_return(&problem);
        let (cs, ct) = (
            problem.average_correlation(&slate.selected).unwrap(),
            problem.average_correlation(&top.selected).unwrap(),
        );
        // optimality of the slate and of the top K imply both inequalities
        assert!(cs <= ct + 1e-12, "{year}: slate ρ {cs} > top-K ρ {ct}");
        assert!(slate.expected_return <= top.expected_return + 1e-12);
        if slate.selected != top.selected {
            differ += 1;
            assert!(cs < ct);
        }
        mu_slate += slate.expected_return;
        mu_top += top.expected_return;
        // the trait object gives the same slate
        let boxed: Box<dyn Selector> = Box::new(selector.clone());
        assert_eq!(
            boxed.select(&opportunities, corr.view()).unwrap().indices,
            slate.selected
        );
        if year == 2019 {
            // AAPL,AMD,BBY,GE,PG vs AAPL,AMD,BAC,BBY,GE (see the sp500_slate example)
            assert!(ct - cs > 0.05, "2019: {cs} vs {ct}");
            assert!(slate.expected_return >= 0.95 * top.expected_return);
        }
    }
    assert!(
        differ >= 5,
        "the penalty changed the slate in only {differ} years"
    );
    // total μ over the 29 year ends: within 2% of the top-K's
    assert!(mu_slate >= 0.98 * mu_top, "{mu_slate} vs {mu_top}");
}
