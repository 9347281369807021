//! The main example: load the shipped real data, validate it, summarize the assets and the
//! synthetic market's ground truth, and draw prices with regimes.
//!
//! Run with `cargo run --release --example daily_pipeline`. Pictures go to
//! `$PRUDENTIA_OUT` (default `target/prudentia-examples/`).

use std::error::Error;
use std::path::PathBuf;

use plotters::prelude::*;
use prudentia::core::estimators::{covariance_to_correlation, ledoit_wolf};
use prudentia_datasets::{sector_of, sp500_index, sp500_stocks, vix, SyntheticConfig, SyntheticMarket};

fn out_dir() -> Result<PathBuf, Box<dyn Error>> {
    let dir = std::env::var_os("PRUDENTIA_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/prudentia-examples"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    // ---- real data: load (every defect would be a typed error) and summarize ----
    let prices = sp500_stocks()?;
    let index = sp500_index()?;
    let vix = vix()?;
    println!(
        "S&P 500 sample: {} stocks, {} trading days {} .. {}, {} missing values",
        prices.n_columns(),
        prices.n_rows(),
        prices.first_date(),
        prices.last_date(),
        prices.total_missing()
    );
    println!(
        "VIX: {} rows {} .. {}, {} missing (exchange holidays, left missing)",
        vix.n_rows(),
        vix.first_date(),
        vix.last_date(),
        vix.missing_count("vix")?
    );
    let returns = prices.simple_returns()?;
    let r = returns.complete_values()?;
    let years = r.nrows() as f64 / 252.0;
    println!(
        "\n{:<6} {:<24} {:>10} {:>9} {:>9}",
        "ticker", "sector", "CAGR", "vol", "max DD"
    );
    for (j, name) in prices.columns().iter().enumerate() {
        let col = prices.column_complete(name)?;
        let cagr = (col[col.len() - 1] / col[0]).powf(1.0 / years) - 1.0;
        let rc = r.column(j);
        let mean = rc.mean().unwrap_or(0.0);
        let vol = (rc.mapv(|x| (x - mean).powi(2)).sum() / (rc.len() as f64 - 1.0)).sqrt() * 252f64.sqrt();
        let (mut peak, mut mdd) = (f64::MIN, 0.0_f64);
        for &p in col.iter() {
            peak = peak.max(p);
            mdd = mdd.max(1.0 - p / peak);
        }
        println!(
            "{:<6} {:<24} {:>9.1}% {:>8.1}% {:>8.1}%",
            name,
            sector_of(name).unwrap_or("?"),
            100.0 * cagr,
            100.0 * vol,
            100.0 * mdd
        );
    }
    let last_year = r.slice(ndarray::s![r.nrows() - 252.., ..]);
    let lw = ledoit_wolf(last_year, false)?;
    let corr = covariance_to_correlation(lw.covariance.view())?;
    let n = corr.nrows();
    let avg_corr = (corr.sum() - n as f64) / (n * (n - 1)) as f64;
    println!(
        "\nlast 252 days: Ledoit-Wolf shrinkage {:.3}, average pairwise correlation {:.3}",
        lw.shrinkage, avg_corr
    );

    // ---- synthetic market: known ground truth ----
    let market = SyntheticMarket::generate(&SyntheticConfig::default())?;
    println!(
        "\nsynthetic market: {} assets in {} sectors, {} days, seed {}",
        market.n_assets(),
        market.sectors.len(),
        market.n_days(),
        market.config.seed
    );
    for (k, spec) in market.config.regimes.iter().enumerate() {
        let days = market.regimes.iter().filter(|&&s| s == k).count();
        println!(
            "  regime {:<9} mean {:+.2} bp/day, vol {:.2}%/day, corr {:.2} in / {:.2} across sectors: {} days",
            spec.label.as_str(),
            spec.daily_mean * 1e4,
            spec.daily_vol * 100.0,
            spec.intra_sector_corr,
            spec.cross_sector_corr,
            days
        );
    }
    let cps: Vec<String> = market
        .change_points
        .iter()
        .map(|&t| market.dates[t].to_string())
        .collect();
    println!("  {} change points: {}", cps.len(), cps.join(", "));

    // ---- picture: real index on top, synthetic index with its regimes below ----
    let path = out_dir()?.join("prices_and_regimes.svg");
    let root = SVGBackend::new(&path, (1100, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(350);
    let idx = index.column_complete("SP500")?;
    let x0 = index.dates()[0];
    let xs: Vec<f64> = index
        .dates()
        .iter()
        .map(|d| 1990.0 + d.days_since(x0) / 365.25)
        .collect();
    let ymax = idx.iter().cloned().fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&top)
        .caption("S&P 500 index (real, 1990-2022)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(25)
        .y_label_area_size(55)
        .build_cartesian_2d(1990.0..2023.0, 0.0..ymax * 1.05)?;
    chart.configure_mesh().disable_mesh().draw()?;
    chart.draw_series(LineSeries::new(
        xs.iter().cloned().zip(idx.iter().cloned()),
        &BLUE,
    ))?;

    let level: Vec<f64> = market
        .index_returns
        .iter()
        .scan(100.0, |p, r| {
            *p *= 1.0 + r;
            Some(*p)
        })
        .collect();
    let (lo, hi) = level
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let t_max = level.len() as f64;
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "synthetic market: equal-weight index, risk-off regimes shaded",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(25)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..t_max, lo * 0.95..hi * 1.05)?;
    chart.configure_mesh().disable_mesh().x_desc("day").draw()?;
    for (start, end, k) in market.regime_segments() {
        if k != 0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(start as f64, lo * 0.95), (end as f64, hi * 1.05)],
                RGBColor(255, 200, 200).filled(),
            )))?;
        }
    }
    chart.draw_series(LineSeries::new(
        level.iter().enumerate().map(|(t, v)| (t as f64, *v)),
        &BLACK,
    ))?;
    root.present()?;
    println!("\nwrote {}", path.display());
    Ok(())
}
