//! The error type of prudentia-datasets.

use prudentia_core::CoreError;
use thiserror::Error;

/// Why a data set could not be read, or a synthetic data set could not be generated.
///
/// Line numbers are 1-based lines of the CSV text (the header is line 1). Column names are
/// the header's names; `text` fields carry the offending field exactly as it was written.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// Reading the input failed (I/O error or invalid UTF-8).
    #[error("could not read CSV input ({kind:?}): {detail}")]
    Io {
        /// The I/O error kind (`InvalidData` for invalid UTF-8).
        kind: std::io::ErrorKind,
        /// The reader's message.
        detail: String,
    },
    /// The CSV tokenizer rejected the input.
    #[error("malformed CSV at line {line}: {detail}")]
    Csv {
        /// Line of the error (0 if unknown).
        line: u64,
        /// The tokenizer's message.
        detail: String,
    },
    /// The input holds no header line at all.
    #[error("the CSV input is empty (no header line)")]
    EmptyInput,
    /// The input has a header but no data rows.
    #[error("the CSV input has a header but no data rows")]
    NoDataRows,
    /// The header is unusable: the first column must be `date`, every other column needs a
    /// unique non-empty name, and at least one value column is required.
    #[error("bad header at column {column} (`{text}`): expected {expected}")]
    BadHeader {
        /// 0-based column index in the header (the number of columns when one is missing).
        column: usize,
        /// The header field as written.
        text: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A data row has a different number of fields than the header.
    #[error("ragged row at line {line}: {found} fields, header has {expected}")]
    RaggedRow {
        /// Line of the row.
        line: u64,
        /// Number of fields in the header.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },
    /// A date field is not an ISO 8601 date (`YYYY-MM-DD`).
    #[error("unparsable date `{text}` at line {line}: expected YYYY-MM-DD")]
    BadDate {
        /// Line of the row.
        line: u64,
        /// The field as written.
        text: String,
    },
    /// A value field is neither empty (missing) nor a number.
    #[error("unparsable number `{text}` at line {line}, column `{column}`")]
    BadNumber {
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// The field as written.
        text: String,
    },
    /// A value field parses to a non-finite number (`NaN`, `inf`, or an overflowing literal).
    /// Missing values must be written as empty fields, never as `NaN`.
    #[error(
        "non-finite value `{text}` at line {line}, column `{column}` (write missing values as empty fields)"
    )]
    NonFiniteValue {
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// The field as written.
        text: String,
    },
    /// A date is earlier than the date on the line before.
    #[error("dates not sorted at line {line}: {date} comes after {previous}")]
    UnsortedDates {
        /// Line of the out-of-order row.
        line: u64,
        /// Its date.
        date: chrono::NaiveDate,
        /// The date on the preceding row.
        previous: chrono::NaiveDate,
    },
    /// A date appears twice.
    #[error("duplicate date {date} at line {line}")]
    DuplicateDate {
        /// Line of the second occurrence.
        line: u64,
        /// The repeated date.
        date: chrono::NaiveDate,
    },
    /// A column name that the frame does not have.
    #[error("unknown column `{name}`")]
    UnknownColumn {
        /// The requested name.
        name: String,
    },
    /// A column asked for as complete has missing values.
    #[error("column `{column}` has {count} missing values (first on {first})")]
    MissingValues {
        /// Column name.
        column: String,
        /// Number of missing values.
        count: usize,
        /// Date of the first missing value.
        first: chrono::NaiveDate,
    },
    /// A price that must be positive to form a return is not.
    #[error("non-positive price {value} in column `{column}` on {date}")]
    NonPositivePrice {
        /// Column name.
        column: String,
        /// Date of the price.
        date: chrono::NaiveDate,
        /// The price.
        value: f64,
    },
    /// Two frames to be aligned have no date in common.
    #[error("the two frames have no date in common")]
    NoCommonDates,
    /// A transition-matrix row is not a probability distribution.
    #[error("transition matrix row {row} sums to {sum}, expected 1 (entries must be in [0, 1])")]
    NotStochastic {
        /// The offending row.
        row: usize,
        /// Its sum (NaN if an entry is not a probability).
        sum: f64,
    },
    /// A regime's block correlation matrix (intra- and cross-sector correlations) is not
    /// positive definite, so returns cannot be drawn from it.
    #[error("regime {regime} (`{label}`): block correlation matrix with intra-sector {intra_sector_corr} and cross-sector {cross_sector_corr} is not positive definite")]
    CorrelationNotPositiveDefinite {
        /// Index of the regime in the configuration.
        regime: usize,
        /// Its label.
        label: String,
        /// Its intra-sector correlation.
        intra_sector_corr: f64,
        /// Its cross-sector correlation.
        cross_sector_corr: f64,
    },
    /// Invalid CSV reading options or feature spec (the detail names the field).
    #[error("bad CSV options: {detail}")]
    BadOptions {
        /// What is wrong.
        detail: String,
    },
    /// The file does not split into columns under the delimiter given (or any sniffed one).
    #[error("CSV delimiter: {detail}")]
    Delimiter {
        /// What was found and what to set.
        detail: String,
    },
    /// The header lacks the columns the layout needs.
    #[error("CSV layout: {detail}")]
    Layout {
        /// The layout, the columns needed and the columns found.
        detail: String,
    },
    /// No configured date format reads a date.
    #[error("unparsable date `{text}` at line {line} with the formats {formats}: {hint}")]
    BadDateFormat {
        /// Line of the row.
        line: u64,
        /// The date field.
        text: String,
        /// The formats tried.
        formats: String,
        /// A format that reads it, if a common one does.
        hint: String,
    },
    /// A long-layout file lists the same date and ticker twice.
    #[error("duplicate row for {ticker} on {date} at line {line}")]
    DuplicateEntry {
        /// Line of the second row.
        line: u64,
        /// The date.
        date: chrono::NaiveDate,
        /// The ticker.
        ticker: String,
    },
    /// A shared validation error (empty input, out-of-range parameter, shape mismatch, …).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<std::io::Error> for DatasetError {
    fn from(e: std::io::Error) -> Self {
        DatasetError::Io {
            kind: e.kind(),
            detail: e.to_string(),
        }
    }
}

/// Result alias with [`DatasetError`].
pub type DatasetResult<T> = Result<T, DatasetError>;
