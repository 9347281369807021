//! Plugging your own stages into the pipeline: a momentum forecaster and an inverse-volatility
//! optimizer, written in a few lines each, next to prudentia's guard and Kelly sizer.
//!
//! Run with `cargo run --release --example custom_stage`.

use std::error::Error;

use prudentia::core::traits::{Forecaster, Optimizer, PortfolioInput, RoleResult, TargetPortfolio};
use prudentia::core::Status;
use prudentia::core::{AssetId, AssetInfo, Forecast, Horizon, RegimeState, Weights};
use prudentia::datasets::onramp::{Feature, FeatureSpec, MarketData};
use prudentia::datasets::sp500_stocks;
use prudentia::defense::{SnapshotGuard, SnapshotGuardConfig};
use prudentia::kelly::sizer::{KellySizer, KellySizerConfig};
use prudentia::metrics::ReportConfig;
use prudentia::pipeline::{walk_forward, BacktestConfig, PipelineBuilder, PipelineConfig, Shared};

/// Your forecaster: the trailing 60-day mean log return, with the trailing 60-day volatility
/// as sigma, read by name from the snapshot's features.
struct Momentum(FeatureSpec);
impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _regime: &RegimeState) -> RoleResult<Forecast> {
        let feature = |name| {
            self.0
                .get(asset, name)
                .ok_or(prudentia::core::CoreError::EmptyInput {
                    field: "features",
                    len: asset.features.len(),
                    min: 2,
                })
        };
        Ok(Forecast::new(
            feature("mean60")?,
            feature("vol60")?,
            Horizon::DAY,
        )?)
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
    // Six stocks, snapshots from 2010 to 2022 with features from data up to each day
    // (the 60 rows before 2010 only feed the first features).
    let names = ["AAPL", "JNJ", "JPM", "KO", "MSFT", "XOM"];
    let prices = sp500_stocks()?.select(&names)?;
    let first = prices
        .dates()
        .iter()
        .position(|d| d.date().to_string().as_str() >= "2010-01-04")
        .ok_or("date")?;
    let rows: Vec<usize> = (first - 60..prices.n_rows()).collect();
    let data = MarketData::from(prices.take_rows(&rows)?);
    let spec = FeatureSpec::new([
        ("mean60", Feature::MeanReturn { days: 60 }),
        ("vol60", Feature::Volatility { days: 60 }),
    ])?;
    let snapshots = data.snapshots(&spec)?;

    let sizer = Shared::new(KellySizer::new(KellySizerConfig::default())?);
    let mut pipeline = PipelineBuilder::new(PipelineConfig {
        universe: names.iter().map(|n| AssetId::new(*n)).collect(),
        ..Default::default()
    })
    .guard(Box::new(SnapshotGuard::new(SnapshotGuardConfig::default())?))
    .forecaster(Box::new(Momentum(spec))) // yours
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
