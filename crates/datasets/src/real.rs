//! Loaders for the real sample data shipped inside the crate (`data/`), and GICS sector
//! labels for the 20 S&P 500 stocks.
//!
//! The CSV files are embedded with `include_str!`, so the loaders need no file path and work
//! from a crates.io download. Each loader parses its file once per process (then clones the
//! cached [`Frame`]). Provenance, checksums, licenses and known anomalies are in
//! `data/README.md`; in short: prices and index levels come from the skfolio 1.12.2 and
//! arch 8.0.0 Python wheels, are meant for **testing and example purposes** only, and are not
//! market data to republish.
//!
//! | loader | file | rows | dates | columns | missing |
//! |---|---|---|---|---|---|
//! | [`sp500_stocks`] | `sp500_stocks_daily.csv` | 8313 | 1990-01-02 ..= 2022-12-28 | 20 adjusted closes | 0 |
//! | [`sp500_index`] | `sp500_index_close_daily.csv` | 8313 | 1990-01-02 ..= 2022-12-28 | `SP500` | 0 |
//! | [`sp500_index_ohlcv`] | `sp500_index_daily.csv` | 5031 | 1999-01-04 ..= 2018-12-31 | Open, High, Low, Close, Adj Close, Volume | 0 |
//! | [`vix`] | `vix_daily.csv` | 1305 | 2014-01-03 ..= 2019-01-03 | `vix` | 46 (exchange holidays) |
//! | [`factor_etfs`] | `factors_daily.csv` | 2264 | 2014-01-02 ..= 2022-12-28 | MTUM, QUAL, SIZE, USMV, VLUE prices | 0 |
//! | [`fama_french_monthly`] | `ff3_factors_monthly.csv` | 1109 | 1926-07-01 ..= 2018-11-01 | Mkt-RF, SMB, HML, RF in **percent** | 0 |

use std::sync::OnceLock;

use prudentia_core::{AssetInfo, CoreError};

use crate::error::DatasetResult;
use crate::frame::{parse_frame, Frame};

/// The embedded text of `sp500_stocks_daily.csv`.
pub const SP500_STOCKS_CSV: &str = include_str!("../data/sp500_stocks_daily.csv");
/// The embedded text of `sp500_index_close_daily.csv`.
pub const SP500_INDEX_CSV: &str = include_str!("../data/sp500_index_close_daily.csv");
/// The embedded text of `sp500_index_daily.csv`.
pub const SP500_INDEX_OHLCV_CSV: &str = include_str!("../data/sp500_index_daily.csv");
/// The embedded text of `vix_daily.csv`.
pub const VIX_CSV: &str = include_str!("../data/vix_daily.csv");
/// The embedded text of `factors_daily.csv`.
pub const FACTOR_ETFS_CSV: &str = include_str!("../data/factors_daily.csv");
/// The embedded text of `ff3_factors_monthly.csv`.
pub const FAMA_FRENCH_MONTHLY_CSV: &str = include_str!("../data/ff3_factors_monthly.csv");

fn cached(cell: &'static OnceLock<DatasetResult<Frame>>, text: &str) -> DatasetResult<Frame> {
    cell.get_or_init(|| parse_frame(text)).clone()
}

/// Daily adjusted close prices (USD) of 20 S&P 500 stocks, 1990-01-02 ..= 2022-12-28,
/// 8313 rows, columns AAPL, AMD, BAC, BBY, CVX, GE, HD, JNJ, JPM, KO, LLY, MRK, MSFT, PEP,
/// PFE, PG, RRC, UNH, WMT, XOM; no missing value.
///
/// Source: skfolio 1.12.2 (`load_sp500_dataset`), BSD-3-Clause; provider not stated;
/// rounded to 3 decimals. Known anomaly, not fixed: RRC holds a back-filled 3.322 for its
/// first 69 rows and jumps between tick levels in 1990–1992; start RRC at 1993 or leave it out
/// for return-based tests. See `data/README.md`.
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn sp500_stocks() -> DatasetResult<Frame> {
    static CELL: OnceLock<DatasetResult<Frame>> = OnceLock::new();
    cached(&CELL, SP500_STOCKS_CSV)
}

/// Daily S&P 500 index close (column `SP500`), same 8313 dates as [`sp500_stocks`].
///
/// Source: skfolio 1.12.2 (`load_sp500_index`), BSD-3-Clause; provider not stated.
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn sp500_index() -> DatasetResult<Frame> {
    static CELL: OnceLock<DatasetResult<Frame>> = OnceLock::new();
    cached(&CELL, SP500_INDEX_CSV)
}

/// Daily S&P 500 index Open, High, Low, Close, Adj Close (index points) and Volume,
/// 1999-01-04 ..= 2018-12-31, 5031 rows.
///
/// Source: arch 8.0.0 (`arch.data.sp500`), NCSA license; Yahoo-Finance-style layout.
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn sp500_index_ohlcv() -> DatasetResult<Frame> {
    static CELL: OnceLock<DatasetResult<Frame>> = OnceLock::new();
    cached(&CELL, SP500_INDEX_OHLCV_CSV)
}

/// Daily CBOE VIX close (column `vix`), 2014-01-03 ..= 2019-01-03 **only**, 1305 rows of
/// which 46 are missing (exchange holidays kept as rows by the FRED-style source).
///
/// Source: arch 8.0.0 (`arch.data.vix`), NCSA license; most likely FRED VIXCLS (inference).
/// Use [`align`](crate::align) to put it next to stock returns; the missing rows are not
/// equity trading days.
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn vix() -> DatasetResult<Frame> {
    static CELL: OnceLock<DatasetResult<Frame>> = OnceLock::new();
    cached(&CELL, VIX_CSV)
}

/// Daily adjusted close **prices** (not returns) of five iShares MSCI USA factor ETFs:
/// MTUM (momentum), QUAL (quality), SIZE (size), USMV (minimum volatility), VLUE (value);
/// 2014-01-02 ..= 2022-12-28, 2264 rows.
///
/// Source: skfolio 1.12.2 (`load_factors_dataset`), BSD-3-Clause; provider not stated.
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn factor_etfs() -> DatasetResult<Frame> {
    static CELL: OnceLock<DatasetResult<Frame>> = OnceLock::new();
    cached(&CELL, FACTOR_ETFS_CSV)
}

/// Monthly Fama–French three factors in **percent per month**: `Mkt-RF`, `SMB`, `HML` and
/// `RF`, dated the first day of the month, 1926-07-01 ..= 2018-11-01, 1109 rows. Divide by
/// 100 for decimal returns. RF is negative in 12 months and zero in 82, as in French's data.
///
/// Source: arch 8.0.0 (`arch.data.frenchdata`), NCSA license; data from Kenneth French's
/// data library (free to download, no explicit license).
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn fama_french_monthly() -> DatasetResult<Frame> {
    static CELL: OnceLock<DatasetResult<Frame>> = OnceLock::new();
    cached(&CELL, FAMA_FRENCH_MONTHLY_CSV)
}

/// A loader of one embedded data set.
pub type Loader = fn() -> DatasetResult<Frame>;

/// Every embedded data set as `(name, loader)`, the name being the loader's function name.
pub const LOADERS: [(&str, Loader); 6] = [
    ("sp500_stocks", sp500_stocks),
    ("sp500_index", sp500_index),
    ("sp500_index_ohlcv", sp500_index_ohlcv),
    ("vix", vix),
    ("factor_etfs", factor_etfs),
    ("fama_french_monthly", fama_french_monthly),
];

/// GICS sectors of the 20 stocks in [`sp500_stocks`], as `(ticker, sector)` in the file's
/// column order.
pub const SP500_SECTORS: [(&str, &str); 20] = [
    ("AAPL", "Information Technology"),
    ("AMD", "Information Technology"),
    ("BAC", "Financials"),
    ("BBY", "Consumer Discretionary"),
    ("CVX", "Energy"),
    ("GE", "Industrials"),
    ("HD", "Consumer Discretionary"),
    ("JNJ", "Health Care"),
    ("JPM", "Financials"),
    ("KO", "Consumer Staples"),
    ("LLY", "Health Care"),
    ("MRK", "Health Care"),
    ("MSFT", "Information Technology"),
    ("PEP", "Consumer Staples"),
    ("PFE", "Health Care"),
    ("PG", "Consumer Staples"),
    ("RRC", "Energy"),
    ("UNH", "Health Care"),
    ("WMT", "Consumer Staples"),
    ("XOM", "Energy"),
];

/// The GICS sector of one of the 20 stocks in [`sp500_stocks`]; `None` for other tickers.
pub fn sector_of(ticker: &str) -> Option<&'static str> {
    SP500_SECTORS.iter().find(|(t, _)| *t == ticker).map(|(_, s)| *s)
}

/// The 20 stocks as [`AssetInfo`]s: id = ticker, GICS sector, price = last close in the
/// file (2022-12-28), lot size 1; ADV and borrow unknown (`None`), as the data do not carry
/// them.
///
/// # Errors
/// Only if the embedded file were corrupt (tested not to be).
pub fn sp500_assets() -> DatasetResult<Vec<AssetInfo>> {
    let frame = sp500_stocks()?;
    let last = frame.n_rows() - 1;
    frame
        .columns()
        .iter()
        .enumerate()
        .map(|(j, ticker)| {
            let mut info = AssetInfo::new(ticker.as_str(), frame.values()[[last, j]])?;
            info.sector = sector_of(ticker).map(str::to_owned);
            Ok::<_, CoreError>(info)
        })
        .collect::<Result<Vec<_>, CoreError>>()
        .map_err(Into::into)
}
