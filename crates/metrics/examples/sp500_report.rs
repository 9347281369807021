//! The report of buying and holding the S&P 500 (real daily closes, 1990–2022, from
//! prudentia-datasets): the table, a few decision-quality numbers, and the equity curve with
//! drawdowns written as SVG.
//!
//! Run: `cargo run -p prudentia-metrics --example sp500_report [out.svg]` (add
//! `--features png` for a PNG next to the SVG).
use prudentia_metrics::{
    Annualization, DsrTrials, NanPolicy, PerPeriodRate, Report, ReportConfig, Returns, RollingConfig,
    RollingReturnStats,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prices = prudentia_datasets::sp500_index()?;
    let returns = prices.simple_returns()?;
    let r = returns.column("SP500")?.to_vec();
    let returns = Returns::with_times(r, returns.dates().to_vec(), NanPolicy::Skip)?;
    let config = ReportConfig {
        title: "S&P 500 buy and hold".into(),
        risk_free: PerPeriodRate::from_annual(0.02, Annualization::Daily252)?,
        // As if this were the best of 20 variants whose annualized Sharpe ratios vary by 0.5².
        dsr_trials: Some(DsrTrials::from_annualized_variance(
            20,
            0.25,
            Annualization::Daily252,
        )?),
        ..ReportConfig::default()
    };
    let report = Report::new(config, &returns)?;
    println!("{report}");

    // The rolling one-year Sharpe ratio at its best and worst.
    let mut rolling = RollingReturnStats::new(RollingConfig {
        window: 252,
        ..RollingConfig::default()
    })?;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in returns.values() {
        if let Some(s) = rolling.push(x)?.and_then(|s| s.sharpe.value()) {
            lo = lo.min(s);
            hi = hi.max(s);
        }
    }
    println!("rolling 1-year Sharpe: worst {lo:.2}, best {hi:.2}");

    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("prudentia_sp500_report.svg"));
    std::fs::write(&out, report.to_svg(1000, 600)?)?;
    println!("equity curve: {}", out.display());
    #[cfg(feature = "png")]
    {
        let png = out.with_extension("png");
        std::fs::write(&png, report.to_png(1000, 600)?)?;
        println!("equity curve: {}", png.display());
    }
    Ok(())
}
