//! Your own data, from a CSV file to a backtest report, in the code the README shows.
//!
//! The example first writes the shipped prices of six stocks as a user's file would look:
//! long layout (`Date;Ticker;Close`), `;`-delimited, US dates (`12/31/2018`), next to the
//! partial configuration `examples/prudentia.json`, in `$PRUDENTIA_OUT/own-data/`, and runs
//! there. Everything after the README marker is the README's "your own data" code.
//!
//! Run with `cargo run --release --example own_data`.

use std::fmt::Write as _;
use std::path::PathBuf;

// ---- README: your own data ----
use prudentia::config::PrudentiaConfig;
use prudentia::prelude::*;

/// Your forecaster: tomorrow's return is the 60-day mean, with the 60-day volatility as
/// sigma, both read by name from the features the configuration asks for.
struct Momentum(FeatureSpec);

impl Forecaster for Momentum {
    fn forecast(&self, asset: &AssetInfo, _regime: &RegimeState) -> RoleResult<Forecast> {
        let feature = |name: &str| {
            let id = name.to_string();
            self.0
                .get(asset, name)
                .ok_or(CoreError::UnknownId { kind: "feature", id })
        };
        Ok(Forecast::new(
            feature("mean60")?,
            feature("vol60")?,
            Horizon::DAY,
        )?)
    }
}

fn backtest_your_csv() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = PrudentiaConfig::load_json("prudentia.json")?;
    let data = load_market_csv("prices.csv", &config.csv)?;
    println!("loaded {}", data.close);
    let snapshots = data.snapshots(&config.features)?;
    let forecaster = Momentum(config.features.clone());
    let mut pipeline = config.builder(Box::new(forecaster))?.build()?;
    let run = walk_forward(&mut pipeline, &snapshots, &config.backtest)?;
    println!("{}", run.decisions.last().ok_or("no decision")?);
    println!("{}", run.report(config.report.clone())?);
    Ok(())
}
// ---- end of the README code ----

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let out = std::env::var_os("PRUDENTIA_OUT")
        .map_or_else(|| PathBuf::from("target/prudentia-examples"), PathBuf::from);
    let dir = out.join("own-data");
    std::fs::create_dir_all(&dir)?;
    // A user's file: six stocks from 2016 on, one row per date and ticker.
    let names = ["AAPL", "JNJ", "JPM", "KO", "MSFT", "XOM"];
    let prices = prudentia::datasets::sp500_stocks()?.select(&names)?;
    let mut csv = String::from("Date;Ticker;Close\n");
    for (t, date) in prices.dates().iter().enumerate() {
        if date.date() < NaiveDate::from_ymd_opt(2016, 1, 1).ok_or("date")? {
            continue;
        }
        for (j, name) in names.iter().enumerate() {
            let us = date.date().format("%m/%d/%Y");
            writeln!(csv, "{us};{name};{}", prices.values()[[t, j]])?;
        }
    }
    std::fs::write(dir.join("prices.csv"), csv)?;
    std::fs::write(dir.join("prudentia.json"), include_str!("prudentia.json"))?;
    std::env::set_current_dir(&dir)?;
    backtest_your_csv()
}
