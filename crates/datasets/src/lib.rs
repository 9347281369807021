//! # prudentia-datasets
//!
//! Sample data for prudentia's tests, examples and benchmarks:
//!
//! 1. **Real data** ([`real`]): daily prices of 20 S&P 500 stocks (1990–2022) with their GICS
//!    sectors, the S&P 500 index (close, and OHLCV 1999–2018), VIX (2014–2019 only), five
//!    factor ETFs and the monthly Fama–French three factors. The CSV files are embedded in
//!    the crate, so the loaders need no path. They are read into a [`Frame`], in which a
//!    missing value is `NaN` **and** flagged in a mask, never filled; returns follow one
//!    documented rule ([`Frame::simple_returns`], [`Frame::log_returns`]); [`align`] joins
//!    two frames on their common dates; [`parse_frame`] / [`load_csv_frame`] read your own
//!    files in the same format, with a typed [`DatasetError`] for every defect (ragged row,
//!    bad number, `NaN`/`inf` text, unsorted or duplicate dates, empty input, bad header).
//! 2. **A synthetic market with known ground truth** ([`synthetic`]): regime-switching
//!    returns with known change points, sectors with block correlation, and the exact mean
//!    and volatility behind every draw; forecasters with known bias and over-confidence
//!    ([`forecast`]); point-in-time snapshots and opportunities for pipeline tests
//!    ([`SyntheticMarket::snapshot_before`], [`SyntheticMarket::opportunities_for`]); a
//!    confounded data set with a known heterogeneous treatment effect and an
//!    instrumental-variable sample with a tunable instrument strength ([`causal`]); fills
//!    with known square-root impact and residual slippage ([`fills()`]); and a
//!    piecewise-Gaussian stream for change-point detectors ([`stream`]).
//!
//! ## Provenance and licensing of the real data
//! The files were extracted from the PyPI wheels of skfolio 1.12.2 (BSD-3-Clause) and
//! arch 8.0.0 (NCSA); `data/README.md` gives each file's source path, SHA-256 and known
//! anomalies, and `data/LICENSE-skfolio`, `data/LICENSE-arch` the full license texts. The
//! package licenses cover the packages, not necessarily the upstream data: the price data's
//! original provider is not stated, and skfolio provides them "solely for testing and
//! example purposes". Use them as test fixtures, not as market data to republish.
//!
//! ## The synthetic model
//! Regime `s_t` follows a Markov chain with transition matrix `A`; asset `i` in sector `g(i)`
//! returns
//!
//! ```text
//! r_{t,i} = μ_{t,i} + σ_{t,i} z_{t,i},   μ_{t,i} = m_{s_t} + a_i,   σ_{t,i} = v_{s_t} w_i,
//! z_t = L_{s_t} ε_t,  ε_t ~ N(0, I),   L_k L_kᵀ = C_k,
//! C_k[i][j] = 1 (i = j),  ρ_in,k (same sector),  ρ_x,k (different sectors)
//! ```
//!
//! with regime means `m_k`, vols `v_k`, asset alphas `a_i ~ N(0, alpha_sd²)` and volatility
//! multipliers `w_i`. Every quantity on the right is stored in the [`SyntheticMarket`], so a
//! test can compare an estimate with the truth. All randomness comes from `ChaCha8Rng`
//! seeded with `seed_from_u64`, whose output is fixed by its algorithm; the same seed gives
//! the same data on every platform and rand release (pinned by value-stability tests).
//!
//! ## Example
//! ```
//! use prudentia_datasets::{sp500_stocks, sector_of, vix, align, SyntheticConfig, SyntheticMarket};
//!
//! # fn main() -> Result<(), prudentia_datasets::DatasetError> {
//! // Real data: returns of 20 stocks, next to VIX on the dates both have.
//! let prices = sp500_stocks()?;
//! assert_eq!((prices.n_rows(), prices.n_columns()), (8313, 20));
//! assert_eq!(sector_of("JPM"), Some("Financials"));
//! let returns = prices.simple_returns()?; // r_t = P_t / P_{t-1} - 1, dated t
//! let (r, v) = align(&returns, &vix()?)?;
//! assert_eq!(r.n_rows(), v.n_rows());
//! assert_eq!(v.missing_count("vix")?, 0); // VIX is missing only on exchange holidays
//!
//! // Synthetic market with known regimes and change points.
//! let market = SyntheticMarket::generate(&SyntheticConfig { n_days: 500, ..Default::default() })?;
//! assert_eq!(market.returns.dim(), (500, 20));
//! for &t in &market.change_points {
//!     assert_ne!(market.regimes[t], market.regimes[t - 1]);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod causal;
pub mod error;
pub mod fill_sim;
pub mod fills;
pub mod forecast;
pub mod frame;
pub mod onramp;
pub mod real;
pub mod stream;
pub mod synthetic;

pub use causal::{
    causal_dataset, iv_dataset, CausalSample, IvSample, CAUSAL_TRUE_ATE, IV_MAX_FIRST_STAGE, IV_TRUE_EFFECT,
};
pub use error::{DatasetError, DatasetResult};
pub use fills::{fills, FillSample};
pub use forecast::{ForecastPanel, ForecasterSpec};
pub use frame::{align, load_csv_frame, parse_frame, Frame, PriceFrame, ReturnFrame};
pub use onramp::{load_market_csv, read_market_csv, CsvOptions, Feature, FeatureSpec, Layout, MarketData};
pub use real::{
    factor_etfs, fama_french_monthly, sector_of, sp500_assets, sp500_index, sp500_index_ohlcv, sp500_stocks,
    vix, Loader, LOADERS, SP500_SECTORS,
};
pub use stream::{piecewise_stream, Segment};
pub use synthetic::{RegimeSpec, SyntheticConfig, SyntheticMarket};
