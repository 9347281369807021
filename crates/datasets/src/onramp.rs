//! Your own data: read a CSV of daily closes in long (`date,ticker,close`) or wide
//! (`date,AAPL,MSFT,…`) layout with any delimiter and date format, then turn it into
//! [`MarketSnapshot`]s with **named** features computed causally from each asset's history.
//!
//! - [`CsvOptions`] says how the file is laid out; every field has a default (layout and
//!   delimiter are sniffed, dates are ISO `YYYY-MM-DD`), and the options deserialize from a
//!   partial TOML or JSON table.
//! - [`read_market_csv`] / [`load_market_csv`] return [`MarketData`]: a close-price [`Frame`]
//!   and, in the long layout, optional volume and spread frames on the same dates. Missing
//!   closes stay missing (never filled). Errors name the real problem: a header that is one
//!   column under the given delimiter names the delimiter the file seems to use, a date that
//!   no configured format reads names a format that would, and a long layout without its
//!   columns names the layout and the columns found.
//! - [`FeatureSpec`] lists named features ([`Feature`]: trailing mean return, volatility,
//!   momentum, last return); [`MarketData::snapshot`] builds the snapshot of a row with the
//!   features in spec order, [`FeatureSpec::get`] reads them back by name, and
//!   [`MarketData::history`] gives a forecaster any asset's closes up to a date.
//!
//! ```
//! use prudentia_datasets::onramp::{read_market_csv, CsvOptions, Feature, FeatureSpec, Layout};
//!
//! // A `;`-delimited long file with US dates.
//! let text = "date;ticker;close\n\
//!             01/02/2020;AAA;10\n01/02/2020;BBB;20\n\
//!             01/03/2020;AAA;11\n01/03/2020;BBB;19\n\
//!             01/06/2020;AAA;12\n01/06/2020;BBB;21\n";
//! let options = CsvOptions {
//!     delimiter: Some(';'),
//!     layout: Layout::Long,
//!     date_formats: vec!["%m/%d/%Y".into()],
//!     ..Default::default()
//! };
//! let data = read_market_csv(text, &options)?;
//! assert_eq!(data.tickers(), ["AAA", "BBB"]);
//! let spec = FeatureSpec::new([("mom2", Feature::MeanReturn { days: 2 })])?;
//! let snapshot = data.snapshot(2, &spec)?;
//! let aaa = &snapshot.assets[0];
//! let mom = spec.get(aaa, "mom2").unwrap();
//! assert!((mom - ((11f64 / 10.0).ln() + (12f64 / 11.0).ln()) / 2.0).abs() < 1e-12);
//! # Ok::<(), prudentia_datasets::DatasetError>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use ndarray::{Array2, ArrayView1};
use prudentia_core::validate::{check_elements, check_size, MAX_DIM, MAX_ELEMENTS, MAX_WINDOW};
use prudentia_core::{AssetInfo, CoreError, MarketSnapshot, Quote, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{DatasetError, DatasetResult};
use crate::frame::Frame;

/// How the rows of a CSV file are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Long when the header holds the ticker and close columns, wide otherwise.
    #[default]
    Auto,
    /// One column per ticker: `date,AAPL,MSFT,…`, one row per date, closes only.
    Wide,
    /// One row per date and ticker: `date,ticker,close[,volume][,spread_bps]`, rows in any
    /// order.
    Long,
}

/// Delimiters tried when [`CsvOptions::delimiter`] is `None`.
pub const SNIFFED_DELIMITERS: [char; 4] = [',', ';', '\t', '|'];

/// Date formats tried only to suggest a fix when no configured format reads a date.
const SUGGESTED_DATE_FORMATS: [&str; 7] = [
    "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d", "%d-%m-%Y",
];

/// How to read a CSV file of closes. Every field has a default; see [`read_market_csv`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct CsvOptions {
    /// Field delimiter (an ASCII character). Default `None`: sniffed from the header among
    /// `,` `;` tab and `|` (the one that splits it into the most fields).
    pub delimiter: Option<char>,
    /// Row layout. Default [`Layout::Auto`].
    pub layout: Layout,
    /// Name of the date column (case-insensitive). Default `"date"`.
    pub date_column: String,
    /// `chrono` formats tried in order for every date. Default `["%Y-%m-%d"]`.
    pub date_formats: Vec<String>,
    /// Long layout: the ticker column (case-insensitive). Default `"ticker"`.
    pub ticker_column: String,
    /// Long layout: the close-price column (case-insensitive). Default `"close"`.
    pub close_column: String,
    /// Long layout: the volume column, read when present. Default `Some("volume")`.
    pub volume_column: Option<String>,
    /// Long layout: the bid-ask spread column in basis points, read when present. Default
    /// `Some("spread_bps")`.
    pub spread_column: Option<String>,
    /// Numbers use a decimal comma (`12,5`), as many `;`-delimited exports do. Default false.
    pub decimal_comma: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: None,
            layout: Layout::Auto,
            date_column: "date".into(),
            date_formats: vec!["%Y-%m-%d".into()],
            ticker_column: "ticker".into(),
            close_column: "close".into(),
            volume_column: Some("volume".into()),
            spread_column: Some("spread_bps".into()),
            decimal_comma: false,
        }
    }
}

prudentia_core::checked_serde!(CsvOptions, CsvOptions::check);

impl CsvOptions {
    fn check(&mut self) -> DatasetResult<()> {
        self.validate()
    }

    /// Checks the options: an ASCII delimiter that is not a quote or line break, at least one
    /// date format, non-empty column names, no decimal comma with a `,` delimiter.
    ///
    /// # Errors
    /// [`DatasetError::BadOptions`] naming the field.
    pub fn validate(&self) -> DatasetResult<()> {
        let bad = |detail: String| Err(DatasetError::BadOptions { detail });
        if let Some(d) = self.delimiter {
            if !d.is_ascii() || matches!(d, '"' | '\n' | '\r') {
                return bad(format!(
                    "delimiter {d:?} must be one ASCII character other than a quote or line break"
                ));
            }
            if self.decimal_comma && d == ',' {
                return bad("decimal_comma needs a delimiter other than `,`".into());
            }
        }
        if self.date_formats.is_empty() {
            return bad("date_formats is empty: give at least one chrono format such as \"%Y-%m-%d\"".into());
        }
        for (field, v) in [
            ("date_column", &self.date_column),
            ("ticker_column", &self.ticker_column),
            ("close_column", &self.close_column),
        ] {
            if v.trim().is_empty() {
                return bad(format!("{field} is empty"));
            }
        }
        Ok(())
    }
}

/// Daily closes (and, from a long file, volumes and spreads) of a set of tickers, on the
/// same dates. The volume and spread frames, when present, have the dates and columns of
/// `close` (checked on load and by [`MarketData::check`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct MarketData {
    /// Close prices, one column per ticker (missing where the file has none).
    pub close: Frame,
    /// Volumes on the same dates and tickers, when the file has a volume column.
    pub volume: Option<Frame>,
    /// Bid-ask spreads in basis points, when the file has a spread column.
    pub spread_bps: Option<Frame>,
}

prudentia_core::checked_serde!(MarketData, MarketData::check_loaded);

impl From<Frame> for MarketData {
    fn from(close: Frame) -> Self {
        Self {
            close,
            volume: None,
            spread_bps: None,
        }
    }
}

/// Reads a CSV file of closes (see [`read_market_csv`]).
///
/// # Errors
/// [`DatasetError::Io`] if the file cannot be read or is not UTF-8; otherwise as
/// [`read_market_csv`].
pub fn load_market_csv(path: impl AsRef<Path>, options: &CsvOptions) -> DatasetResult<MarketData> {
    let text = std::fs::read_to_string(path)?;
    read_market_csv(&text, options)
}

/// Parses CSV text of closes in the layout and format the options describe.
///
/// Fields are trimmed, RFC 4180 quoting is honoured, a leading byte-order mark and blank
/// lines are ignored. An empty value field is a missing value; anything else must be a
/// finite number. Wide files need strictly increasing dates; long files may list rows in
/// any order (each date–ticker pair once), and a ticker without a row on a date is missing
/// there.
///
/// # Errors
/// [`DatasetError::BadOptions`], [`DatasetError::Delimiter`] (the header is one column under
/// the given delimiter while another splits it), [`DatasetError::Layout`] (missing date,
/// ticker or close column, with the columns found), [`DatasetError::BadDateFormat`] (with a
/// format that would read the date, if one of the common ones does),
/// [`DatasetError::DuplicateEntry`], [`DatasetError::BadNumber`],
/// [`DatasetError::NonFiniteValue`], [`DatasetError::RaggedRow`], the wide-layout errors of
/// [`parse_frame`](crate::parse_frame), and [`CoreError::TooLarge`] beyond
/// [`MAX_DIM`] tickers or [`MAX_ELEMENTS`] values.
pub fn read_market_csv(text: &str, options: &CsvOptions) -> DatasetResult<MarketData> {
    options.validate()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(DatasetError::EmptyInput)?;
    let delimiter = choose_delimiter(header_line, options.delimiter)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter as u8)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        None => return Err(DatasetError::EmptyInput),
        Some(r) => r.map_err(csv_error)?.iter().map(str::to_owned).collect(),
    };
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name.trim()));
    let date_col = find(&options.date_column).ok_or_else(|| DatasetError::Layout {
        detail: format!(
            "no `{}` column in the header [{}] (delimiter {delimiter:?}); set CsvOptions::date_column",
            options.date_column,
            header.join(", ")
        ),
    })?;
    let (ticker_col, close_col) = (find(&options.ticker_column), find(&options.close_column));
    let long = match (options.layout, ticker_col, close_col) {
        (Layout::Long, Some(t), Some(c)) | (Layout::Auto, Some(t), Some(c)) => Some((t, c)),
        (Layout::Long, _, _) => {
            return Err(DatasetError::Layout {
                detail: format!(
                    "the long layout needs a `{}` and a `{}` column; the header has [{}] \
                     (delimiter {delimiter:?}); for one column per ticker use Layout::Wide",
                    options.ticker_column,
                    options.close_column,
                    header.join(", ")
                ),
            })
        }
        _ => None,
    };
    match long {
        Some((t, c)) => read_long(records, &header, date_col, t, c, options),
        None => read_wide(records, &header, date_col, options),
    }
}

fn choose_delimiter(header: &str, given: Option<char>) -> DatasetResult<char> {
    let fields = |d: char| header.split(d).count();
    let best = SNIFFED_DELIMITERS
        .iter()
        .copied()
        .max_by_key(|&d| (fields(d), std::cmp::Reverse(d as u32 == ',' as u32)))
        .unwrap_or(',');
    match given {
        Some(d) if fields(d) < 2 && fields(best) >= 2 => Err(DatasetError::Delimiter {
            detail: format!(
                "with the delimiter {d:?} the header `{header}` is a single column; the file looks \
                 {best:?}-delimited: set CsvOptions::delimiter to Some({best:?})"
            ),
        }),
        Some(d) => Ok(d),
        None if fields(best) < 2 => Err(DatasetError::Delimiter {
            detail: format!(
                "the header `{header}` has a single column under every delimiter tried \
                 ({SNIFFED_DELIMITERS:?}); set CsvOptions::delimiter"
            ),
        }),
        None => Ok(best),
    }
}

fn parse_date(text: &str, line: u64, options: &CsvOptions) -> DatasetResult<NaiveDate> {
    for f in &options.date_formats {
        if let Ok(d) = NaiveDate::parse_from_str(text, f) {
            return Ok(d);
        }
    }
    let works = SUGGESTED_DATE_FORMATS
        .iter()
        .find(|f| NaiveDate::parse_from_str(text, f).is_ok());
    let hint = match works {
        Some(f) => format!("it reads as {f:?}: add that to CsvOptions::date_formats"),
        None => "no common format reads it either".into(),
    };
    Err(DatasetError::BadDateFormat {
        line,
        text: text.to_owned(),
        formats: format!("{:?}", options.date_formats),
        hint,
    })
}

fn parse_number(field: &str, line: u64, column: &str, decimal_comma: bool) -> DatasetResult<f64> {
    if field.is_empty() {
        return Ok(f64::NAN);
    }
    let owned;
    let text = if decimal_comma {
        owned = field.replace('.', "").replace(',', ".");
        owned.as_str()
    } else {
        field
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(DatasetError::NonFiniteValue {
            line,
            column: column.to_owned(),
            text: field.to_owned(),
        }),
        Err(_) => Err(DatasetError::BadNumber {
            line,
            column: column.to_owned(),
            text: field.to_owned(),
        }),
    }
}

fn csv_error(e: csv::Error) -> DatasetError {
    let line = e.position().map_or(0, |p| p.line());
    DatasetError::Csv {
        line,
        detail: e.to_string(),
    }
}

fn read_wide(
    records: csv::StringRecordsIter<'_, &[u8]>,
    header: &[String],
    date_col: usize,
    options: &CsvOptions,
) -> DatasetResult<MarketData> {
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != date_col)
        .map(|(_, h)| h.clone())
        .collect();
    if columns.is_empty() {
        return Err(DatasetError::Layout {
            detail: format!(
                "the wide layout needs at least one ticker column besides `{}`; the header has [{}]",
                options.date_column,
                header.join(", ")
            ),
        });
    }
    check_size("tickers", columns.len(), MAX_DIM)?;
    let n = columns.len();
    let mut rows: Vec<(NaiveDate, u64)> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    for record in records {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(DatasetError::RaggedRow {
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        check_elements("values", &[rows.len() + 1, n], MAX_ELEMENTS)?;
        rows.push((
            parse_date(record.get(date_col).unwrap_or(""), line, options)?,
            line,
        ));
        let mut k = 0;
        for (c, field) in record.iter().enumerate() {
            if c != date_col {
                values.push(parse_number(field, line, &columns[k], options.decimal_comma)?);
                k += 1;
            }
        }
    }
    for w in rows.windows(2) {
        let ((prev, _), (date, line)) = (w[0], w[1]);
        if date == prev {
            return Err(DatasetError::DuplicateDate { line, date });
        }
        if date < prev {
            return Err(DatasetError::UnsortedDates {
                line,
                date,
                previous: prev,
            });
        }
    }
    if rows.is_empty() {
        return Err(DatasetError::NoDataRows);
    }
    let t = rows.len();
    let values = Array2::from_shape_vec((t, n), values).map_err(|_| CoreError::ShapeMismatch {
        field: "values",
        expected: vec![t, n],
        found: vec![t * n],
    })?;
    let dates = rows.iter().map(|(d, _)| Timestamp::from_date(*d)).collect();
    Ok(Frame::new(dates, columns, values)?.into())
}

fn read_long(
    records: csv::StringRecordsIter<'_, &[u8]>,
    header: &[String],
    date_col: usize,
    ticker_col: usize,
    close_col: usize,
    options: &CsvOptions,
) -> DatasetResult<MarketData> {
    let find = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n.trim())))
    };
    let (volume_col, spread_col) = (find(&options.volume_column), find(&options.spread_column));
    // (date, ticker index) -> [close, volume, spread]
    let mut cells: BTreeMap<(NaiveDate, usize), [f64; 3]> = BTreeMap::new();
    let mut tickers: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for record in records {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(DatasetError::RaggedRow {
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        let date = parse_date(record.get(date_col).unwrap_or(""), line, options)?;
        let ticker = record.get(ticker_col).unwrap_or("");
        if ticker.is_empty() {
            return Err(DatasetError::Layout {
                detail: format!("empty `{}` at line {line}", header[ticker_col]),
            });
        }
        let k = match index.get(ticker) {
            Some(&k) => k,
            None => {
                check_size("tickers", tickers.len() + 1, MAX_DIM)?;
                tickers.push(ticker.to_owned());
                index.insert(ticker.to_owned(), tickers.len() - 1);
                tickers.len() - 1
            }
        };
        let num = |c: Option<usize>| -> DatasetResult<f64> {
            match c {
                Some(c) => parse_number(
                    record.get(c).unwrap_or(""),
                    line,
                    &header[c],
                    options.decimal_comma,
                ),
                None => Ok(f64::NAN),
            }
        };
        let cell = [num(Some(close_col))?, num(volume_col)?, num(spread_col)?];
        check_elements("rows", &[cells.len() + 1], MAX_ELEMENTS)?;
        if cells.insert((date, k), cell).is_some() {
            return Err(DatasetError::DuplicateEntry {
                line,
                date,
                ticker: ticker.to_owned(),
            });
        }
    }
    if cells.is_empty() {
        return Err(DatasetError::NoDataRows);
    }
    // Columns in ticker order, for a result that does not depend on the row order.
    let mut order: Vec<usize> = (0..tickers.len()).collect();
    order.sort_by(|&a, &b| tickers[a].cmp(&tickers[b]));
    let mut column_of = vec![0; tickers.len()];
    for (c, &k) in order.iter().enumerate() {
        column_of[k] = c;
    }
    let mut dates: Vec<NaiveDate> = cells.keys().map(|(d, _)| *d).collect();
    dates.dedup();
    let (t, n) = (dates.len(), tickers.len());
    check_elements("values", &[t, n, 3], MAX_ELEMENTS)?;
    let mut frames = [
        Array2::from_elem((t, n), f64::NAN),
        Array2::from_elem((t, n), f64::NAN),
        Array2::from_elem((t, n), f64::NAN),
    ];
    let mut row = 0;
    for ((date, k), cell) in &cells {
        while dates[row] != *date {
            row += 1;
        }
        for (f, v) in frames.iter_mut().zip(cell) {
            f[[row, column_of[*k]]] = *v;
        }
    }
    let names: Vec<String> = order.iter().map(|&k| tickers[k].clone()).collect();
    let stamps: Vec<Timestamp> = dates.iter().map(|d| Timestamp::from_date(*d)).collect();
    let [close, volume, spread] = frames;
    let frame = |v| Frame::new(stamps.clone(), names.clone(), v);
    Ok(MarketData {
        close: frame(close)?,
        volume: volume_col.map(|_| frame(volume)).transpose()?,
        spread_bps: spread_col.map(|_| frame(spread)).transpose()?,
    })
}

/// One named feature, computed at row `t` from the asset's closes up to and including `t`
/// (never later).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Feature {
    /// The last log return `ln(p_t / p_{t−1})`.
    LastReturn,
    /// The mean of the last `days` daily log returns.
    MeanReturn {
        /// Window length in returns, at least 1.
        days: usize,
    },
    /// The sample standard deviation of the last `days` daily log returns.
    Volatility {
        /// Window length in returns, at least 2.
        days: usize,
    },
    /// `ln(p_{t−skip} / p_{t−days})`: the classic momentum that leaves out the last `skip`
    /// days.
    Momentum {
        /// Look-back in days, greater than `skip`.
        days: usize,
        /// Recent days left out.
        skip: usize,
    },
}

impl Feature {
    /// Rows of history needed before row `t` (so `t >= lookback()`).
    pub fn lookback(&self) -> usize {
        match *self {
            Feature::LastReturn => 1,
            Feature::MeanReturn { days } | Feature::Volatility { days } | Feature::Momentum { days, .. } => {
                days
            }
        }
    }

    fn check(&self, name: &str) -> DatasetResult<()> {
        let bad = |detail: String| Err(DatasetError::BadOptions { detail });
        match *self {
            Feature::LastReturn => Ok(()),
            Feature::MeanReturn { days: 0 } => bad(format!("feature `{name}`: days must be at least 1")),
            Feature::Volatility { days } if days < 2 => {
                bad(format!("feature `{name}`: days must be at least 2"))
            }
            Feature::Momentum { days, skip } if days <= skip => bad(format!(
                "feature `{name}`: days ({days}) must exceed skip ({skip})"
            )),
            _ => Ok(check_size("feature days", self.lookback(), MAX_WINDOW)?),
        }
    }

    /// The value at row `t` of `close`, or `None` when the history is too short or holds a
    /// missing or non-positive close.
    pub fn value(&self, close: ArrayView1<'_, f64>, t: usize) -> Option<f64> {
        let lb = self.lookback();
        if t >= close.len() || t < lb {
            return None;
        }
        let window = |k: usize| close[t - lb + k];
        if (0..=lb).any(|k| !(window(k).is_finite() && window(k) > 0.0)) {
            return None;
        }
        let r = |s: usize| (window(s + 1) / window(s)).ln();
        let v = match *self {
            Feature::LastReturn => r(0),
            Feature::MeanReturn { days } => (0..days).map(r).sum::<f64>() / days as f64,
            Feature::Volatility { days } => {
                let m = (0..days).map(r).sum::<f64>() / days as f64;
                ((0..days).map(|s| (r(s) - m).powi(2)).sum::<f64>() / (days - 1) as f64).sqrt()
            }
            Feature::Momentum { days, skip } => (window(days - skip) / window(0)).ln(),
        };
        v.is_finite().then_some(v)
    }
}

/// Named features, in the order they are written to [`AssetInfo::features`]. Read them back
/// by name with [`FeatureSpec::get`], so a forecaster never depends on positions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<(String, Feature)>", into = "Vec<(String, Feature)>")]
pub struct FeatureSpec {
    features: Vec<(String, Feature)>,
}

impl TryFrom<Vec<(String, Feature)>> for FeatureSpec {
    type Error = DatasetError;
    fn try_from(v: Vec<(String, Feature)>) -> DatasetResult<Self> {
        FeatureSpec::new(v)
    }
}

impl From<FeatureSpec> for Vec<(String, Feature)> {
    fn from(s: FeatureSpec) -> Self {
        s.features
    }
}

impl FeatureSpec {
    /// A spec from `(name, feature)` pairs.
    ///
    /// # Errors
    /// [`DatasetError::BadOptions`] for an empty or repeated name or a bad window.
    pub fn new<S: Into<String>>(features: impl IntoIterator<Item = (S, Feature)>) -> DatasetResult<Self> {
        let features: Vec<(String, Feature)> = features.into_iter().map(|(n, f)| (n.into(), f)).collect();
        check_size("features", features.len(), MAX_DIM)?;
        for (i, (name, f)) in features.iter().enumerate() {
            if name.is_empty() || features[..i].iter().any(|(n, _)| n == name) {
                return Err(DatasetError::BadOptions {
                    detail: format!("feature name `{name}` is empty or repeated"),
                });
            }
            f.check(name)?;
        }
        Ok(Self { features })
    }

    /// The feature names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.features.iter().map(|(n, _)| n.as_str())
    }

    /// The position of a feature in [`AssetInfo::features`].
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.features.iter().position(|(n, _)| n == name)
    }

    /// The named feature of an asset built with this spec (`None` for an unknown name or an
    /// asset with fewer features).
    pub fn get(&self, asset: &AssetInfo, name: &str) -> Option<f64> {
        self.index_of(name).and_then(|i| asset.features.get(i).copied())
    }

    /// The longest history any feature needs.
    pub fn lookback(&self) -> usize {
        self.features.iter().map(|(_, f)| f.lookback()).max().unwrap_or(0)
    }

    /// Every feature at row `t` of `close`, or `None` if any is undefined there.
    pub fn values(&self, close: ArrayView1<'_, f64>, t: usize) -> Option<Vec<f64>> {
        self.features.iter().map(|(_, f)| f.value(close, t)).collect()
    }
}

impl MarketData {
    fn check_loaded(&mut self) -> DatasetResult<()> {
        self.check()
    }

    /// Checks that the volume and spread frames, when present, have the dates and columns
    /// of `close`.
    ///
    /// # Errors
    /// [`DatasetError::Layout`] naming the frame that differs.
    pub fn check(&self) -> DatasetResult<()> {
        for (name, f) in [("volume", &self.volume), ("spread_bps", &self.spread_bps)] {
            if let Some(f) = f {
                if f.dates() != self.close.dates() || f.columns() != self.close.columns() {
                    return Err(DatasetError::Layout {
                        detail: format!(
                            "the {name} frame does not have the dates and columns of the close frame"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The tickers (column names of [`close`](Self::close)).
    pub fn tickers(&self) -> &[String] {
        self.close.columns()
    }

    /// The dates of the rows.
    pub fn dates(&self) -> &[Timestamp] {
        self.close.dates()
    }

    /// The closes of `ticker` from the first row up to and including `until` (the history a
    /// forecaster may use at that date; missing closes are `NaN`).
    ///
    /// # Errors
    /// [`DatasetError::UnknownColumn`] for an unknown ticker.
    pub fn history(&self, ticker: &str, until: Timestamp) -> DatasetResult<ArrayView1<'_, f64>> {
        let column = self.close.column(ticker)?;
        let end = self.close.dates().partition_point(|d| *d <= until);
        Ok(column.slice_axis_move(ndarray::Axis(0), ndarray::Slice::from(0..end)))
    }

    /// The snapshot of row `t`: a quote per ticker with a close on that day (with its volume
    /// and spread when known), and an [`AssetInfo`] with the features of `spec` (in spec
    /// order) for every ticker whose features are defined at `t`.
    ///
    /// # Errors
    /// [`CoreError::OutOfRange`] for a row beyond the data; [`DatasetError::Layout`] when
    /// the volume or spread frame does not match the closes ([`check`](Self::check)).
    pub fn snapshot(&self, t: usize, spec: &FeatureSpec) -> DatasetResult<MarketSnapshot> {
        self.snapshot_with_sectors(t, spec, |_| None)
    }

    /// [`snapshot`](Self::snapshot) with a sector label per ticker (for sector limits).
    ///
    /// # Errors
    /// As [`snapshot`](Self::snapshot).
    pub fn snapshot_with_sectors(
        &self,
        t: usize,
        spec: &FeatureSpec,
        sector_of: impl Fn(&str) -> Option<String>,
    ) -> DatasetResult<MarketSnapshot> {
        self.check()?;
        let n_rows = self.close.n_rows();
        if t >= n_rows {
            return Err(CoreError::OutOfRange {
                field: "row",
                value: t as f64,
                expected: "a row of the data (below close.n_rows())",
            }
            .into());
        }
        let time = self.close.dates()[t];
        let values = self.close.values();
        let other = |f: &Option<Frame>, j: usize| {
            f.as_ref()
                .map(|f| f.values()[[t, j]])
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let mut quotes = Vec::new();
        let mut assets = Vec::new();
        for (j, name) in self.tickers().iter().enumerate() {
            let price = values[[t, j]];
            if !(price.is_finite() && price > 0.0) {
                continue;
            }
            quotes.push(Quote {
                asset: name.as_str().into(),
                time,
                price,
                volume: other(&self.volume, j),
                spread_bps: other(&self.spread_bps, j),
            });
            if let Some(features) = spec.values(values.column(j), t) {
                let mut a = AssetInfo::new(name.as_str(), price)?;
                a.features = features;
                a.sector = sector_of(name);
                assets.push(a);
            }
        }
        Ok(MarketSnapshot {
            time,
            quotes,
            indicators: Vec::new(),
            assets,
        })
    }

    /// The snapshots of every row from the first at which `spec` is defined
    /// (`spec.lookback()`) to the last.
    ///
    /// # Errors
    /// As [`snapshot`](Self::snapshot).
    pub fn snapshots(&self, spec: &FeatureSpec) -> DatasetResult<Vec<MarketSnapshot>> {
        (spec.lookback()..self.close.n_rows())
            .map(|t| self.snapshot(t, spec))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_and_volatility_match_hand_values() {
        let close = ndarray::array![100.0, 110.0, 99.0, 120.0];
        let m = Feature::Momentum { days: 3, skip: 1 };
        assert!((m.value(close.view(), 3).unwrap() - (99f64 / 100.0).ln()).abs() < 1e-15);
        assert_eq!(m.value(close.view(), 2), None);
        let v = Feature::Volatility { days: 2 }.value(close.view(), 2).unwrap();
        let (a, b) = ((1.1f64).ln(), (0.9f64).ln());
        let mean = (a + b) / 2.0;
        assert!((v - ((a - mean).powi(2) + (b - mean).powi(2)).sqrt()).abs() < 1e-15);
    }
}
