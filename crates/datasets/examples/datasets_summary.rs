//! Prints what prudentia-datasets ships: each real data set's size, dates and missing
//! values, and the default synthetic market's ground truth.
//!
//! Run with `cargo run -p prudentia-datasets --example datasets_summary`.

use prudentia_datasets::{sector_of, sp500_stocks, DatasetError, SyntheticConfig, SyntheticMarket, LOADERS};

fn main() -> Result<(), DatasetError> {
    for (name, load) in LOADERS {
        println!("{name}: {}", load()?);
    }
    let stocks = sp500_stocks()?;
    println!("\nsectors:");
    for ticker in stocks.columns() {
        println!("  {ticker:5} {}", sector_of(ticker).unwrap_or("?"));
    }
    let returns = stocks.simple_returns()?;
    let aapl = returns.column_complete("AAPL")?;
    let mean = aapl.sum() / aapl.len() as f64;
    println!(
        "\nAAPL mean daily simple return {:.5} over {} days",
        mean,
        aapl.len()
    );

    let market = SyntheticMarket::generate(&SyntheticConfig::default())?;
    println!("\n{}", market.summary());
    println!("change points: {:?}", market.change_points);
    Ok(())
}
