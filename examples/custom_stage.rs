//! Plugging your own stages into the pipeline: a momentum forecaster and an inverse-volatility
//! optimizer, written in a few lines each, next to prudentia's guard and Kelly sizer.
//!
//! Run with `cargo run --release --example custom_stage`.

use std::error::Error;

use prudentia::core::traits::{Forecaster, Optimizer, PortfolioInput, RoleResult, TargetPortfolio};
use prudentia::core::Status;
use prudentia::core::{
    AssetId, AssetInfo, Forecast, Horizon, MarketSnapshot, Quote, RegimeState, Timestamp, Weights,
};
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::metrics::ReportConfig;
use prudentia::pipeline::{walk_forward, BacktestConfig, PipelineBuilder, PipelineConfig, Shared};
use prudentia_datasets::sp500_stocks;

/// Your forecaster: the trailing 60-day mean return (feature 0), with the trailing
/// volatility (feature 1) as sigma.
struct Momentum;
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _regime: &RegimeState) -> RoleResult<Forecast> {
        Ok(Forecast::new(asset.features[0], asset.features[1], Horizon::DAY)?)
    }
}

/// Your optimizer: long the assets with a positive forecast, weights ∝ 1/σ from the
/// covariance the pipeline provides, fully invested.
struct InverseVol;
impl Optimizer for InverseVol {
    fn optimize(&self, input: &PortfolioInput<'_>) -> RoleResult<TargetPortfolio> {
        let cov = input.covariance.ok_or(prudentia::core::CoreError::EmptyInput {
            field: "covariance",
            len: 0,
            min: 1,
        })?;
        let raw: Vec<f64> = input
            .opportunities
            .iter()
            .enumerate()
            .map(|(i, o)| {
                if o.forecast.mean > 0.0 {
                    1.0 / cov[[i, i]].sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let total: f64 = raw.iter().sum();
        let ids = input.opportunities.iter().map(|o| o.asset.id.clone()).collect();
        let w = raw
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        Ok(TargetPortfolio {
            weights: Weights::new(ids, w)?,
            status: Status::Converged,
        })
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // Six stocks, 2010-2022, features from data up to each day.
    let names = ["AAPL", "JNJ", "JPM", "KO", "MSFT", "XOM"];
    let prices = sp500_stocks()?.select(&names)?;
    let from = prices
        .dates()
        .iter()
        .position(|d| d.date().to_string().as_str() >= "2010-01-04")
        .ok_or("date")?;
    let px = prices.complete_values()?;
    let mut snapshots = Vec::new();
    for t in from..px.nrows() {
        let time: Timestamp = prices.dates()[t];
        let mut quotes = Vec::new();
        let mut assets = Vec::new();
        for (j, name) in names.iter().enumerate() {
            let r: Vec<f64> = (t - 60..t).map(|s| px[[s + 1, j]] / px[[s, j]] - 1.0).collect();
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt();
            let mut a = AssetInfo::new(AssetId::new(*name), px[[t, j]])?;
            a.features = vec![mean, sd];
            assets.push(a);
            quotes.push(Quote {
                asset: AssetId::new(*name),
                time,
                price: px[[t, j]],
                volume: None,
                spread_bps: None,
            });
        }
        snapshots.push(MarketSnapshot {
            time,
            quotes,
            indicators: vec![],
            assets,
        });
    }

    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default())?);
    let mut pipeline = PipelineBuilder::new(PipelineConfig {
        universe: names.iter().map(|n| AssetId::new(*n)).collect(),
        ..Default::default()
    })
    .guard(Box::new(SnapshotGuard::new(SnapshotGuardConfig::default())?))
    .forecaster(Box::new(Momentum)) // yours
    .optimizer(Box::new(InverseVol)) // yours
    .sizer(Box::new(sizer.clone())) // prudentia's half Kelly with a drawdown governor
    .learner(Box::new(sizer))
    .build()?;

    let run = walk_forward(&mut pipeline, &snapshots, &BacktestConfig::default())?;
    let last = run.decisions.last().ok_or("no decision")?;
    println!("last decision {}: target {:?}", last.time, last.target.values);
    println!("sized by Kelly: {:?}", last.sized.values);
    println!(
        "{}",
        run.report(ReportConfig {
            title: "custom stages: momentum + inverse vol, 6 stocks 2010-2022".into(),
            ..Default::default()
        })?
    );
    Ok(())
}
