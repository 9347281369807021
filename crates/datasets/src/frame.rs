//! [`Frame`]: a dated table of `f64` columns (prices, returns, indicator levels) in which
//! missing values are surfaced, never filled; the CSV reader; returns from prices; alignment.
//!
//! # CSV format
//! One header row whose first field is `date` (case-insensitive), then one uniquely named
//! column per series. Each data row: an ISO 8601 date (`YYYY-MM-DD`), then one field per
//! column. A **missing** value is an empty field; anything else must parse as a finite
//! `f64` (`NaN`, `inf` and unparsable text are errors, not missing values). Dates must
//! strictly increase. Leading and trailing spaces around fields are ignored; blank lines are
//! skipped; `\n` and `\r\n` line endings and a leading UTF-8 byte-order mark are accepted;
//! quoting follows RFC 4180.
//!
//! # Missing values
//! A missing value is stored as `NaN` in [`Frame::values`] **and** flagged in
//! [`Frame::missing_mask`]; [`Frame::missing_count`] counts them per column. Strict accessors
//! ([`Frame::column_complete`], [`Frame::complete_values`]) fail with
//! [`DatasetError::MissingValues`] instead of handing out a `NaN`. Nothing is ever filled;
//! [`Frame::drop_missing_rows`] is the one explicit, opt-in way to remove incomplete rows.

use std::io::Read;

use chrono::NaiveDate;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use prudentia_core::validate::check_strictly_increasing;
use prudentia_core::{CoreError, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{DatasetError, DatasetResult};

/// A dated table of `f64` columns: rows are dates (strictly increasing), columns are named
/// series. Missing values are `NaN` in [`values`](Frame::values) and `true` in
/// [`missing_mask`](Frame::missing_mask); every non-missing value is finite.
///
/// The invariants (shapes agree, dates strictly increase, unique column names, NaN exactly
/// where the mask says missing, no infinities, at least one row and one column) are checked
/// by every constructor, including deserialization.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "FrameParts", into = "FrameParts")]
pub struct Frame {
    dates: Vec<Timestamp>,
    columns: Vec<String>,
    values: Array2<f64>,
    missing: Array2<bool>,
}

/// A frame of prices (levels). Same type as [`Frame`]; the alias documents intent.
pub type PriceFrame = Frame;
/// A frame of returns. Same type as [`Frame`]; the alias documents intent.
pub type ReturnFrame = Frame;

/// Serialized form of a [`Frame`]: values column by column, `None` where missing
/// (JSON has no NaN).
#[derive(Serialize, Deserialize)]
struct FrameParts {
    dates: Vec<Timestamp>,
    columns: Vec<String>,
    /// `values[j][t]`: column `j`, row `t`.
    values: Vec<Vec<Option<f64>>>,
}

impl TryFrom<FrameParts> for Frame {
    type Error = DatasetError;
    fn try_from(p: FrameParts) -> DatasetResult<Frame> {
        let (t, n) = (p.dates.len(), p.columns.len());
        if p.values.len() != n || p.values.iter().any(|c| c.len() != t) {
            return Err(CoreError::ShapeMismatch {
                field: "values",
                expected: vec![n, t],
                found: vec![p.values.len(), p.values.first().map_or(0, Vec::len)],
            }
            .into());
        }
        let values = Array2::from_shape_fn((t, n), |(i, j)| p.values[j][i].unwrap_or(f64::NAN));
        Frame::new(p.dates, p.columns, values)
    }
}

impl From<Frame> for FrameParts {
    fn from(f: Frame) -> FrameParts {
        let values = (0..f.columns.len())
            .map(|j| {
                f.values
                    .column(j)
                    .iter()
                    .zip(f.missing.column(j))
                    .map(|(&v, &m)| if m { None } else { Some(v) })
                    .collect()
            })
            .collect();
        FrameParts {
            dates: f.dates,
            columns: f.columns,
            values,
        }
    }
}

impl std::fmt::Display for Frame {
    /// A one-paragraph summary: size, date range, and each column with its missing count.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows x {} columns, {} ..= {}; missing:",
            self.n_rows(),
            self.n_columns(),
            self.first_date(),
            self.last_date()
        )?;
        for (name, count) in self.columns.iter().zip(self.missing_counts()) {
            write!(f, " {name}={count}")?;
        }
        Ok(())
    }
}

impl PartialEq for Frame {
    /// Equal dates, columns and missing masks, and equal values wherever present (missing
    /// entries compare equal to each other although they hold `NaN`).
    fn eq(&self, other: &Frame) -> bool {
        self.dates == other.dates
            && self.columns == other.columns
            && self.missing == other.missing
            && self
                .values
                .iter()
                .zip(other.values.iter())
                .zip(self.missing.iter())
                .all(|((a, b), &m)| m || a == b)
    }
}

impl Frame {
    /// A frame from dates, column names and a `T × n` value matrix in which `NaN` marks a
    /// missing value.
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for no rows or no columns, [`CoreError::ShapeMismatch`] if
    /// `values` is not `dates.len() × columns.len()`, [`CoreError::NotIncreasing`] unless the
    /// dates strictly increase, [`CoreError::NonFinite`] for an infinite value,
    /// [`DatasetError::BadHeader`] for an empty or repeated column name.
    pub fn new(dates: Vec<Timestamp>, columns: Vec<String>, values: Array2<f64>) -> DatasetResult<Frame> {
        prudentia_core::validate::check_len("dates", dates.len(), 1)?;
        prudentia_core::validate::check_len("columns", columns.len(), 1)?;
        prudentia_core::validate::check_shape("values", &[dates.len(), columns.len()], values.shape())?;
        check_strictly_increasing("dates", &dates)?;
        check_column_names(&columns, 0)?;
        if let Some(index) = values.iter().position(|v| v.is_infinite()) {
            return Err(CoreError::NonFinite {
                field: "values",
                index,
                value: values.iter().nth(index).copied().unwrap_or(f64::INFINITY),
            }
            .into());
        }
        let missing = values.mapv(f64::is_nan);
        Ok(Frame {
            dates,
            columns,
            values,
            missing,
        })
    }

    /// Number of rows (dates).
    pub fn n_rows(&self) -> usize {
        self.dates.len()
    }

    /// Number of value columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// The row dates, strictly increasing (midnight UTC of each date).
    pub fn dates(&self) -> &[Timestamp] {
        &self.dates
    }

    /// The row dates as calendar dates.
    pub fn naive_dates(&self) -> Vec<NaiveDate> {
        self.dates.iter().map(|d| d.date()).collect()
    }

    /// First date.
    pub fn first_date(&self) -> NaiveDate {
        self.dates[0].date()
    }

    /// Last date.
    pub fn last_date(&self) -> NaiveDate {
        self.dates[self.dates.len() - 1].date()
    }

    /// Column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The `T × n` values, `NaN` where missing (see [`missing_mask`](Frame::missing_mask)).
    pub fn values(&self) -> ArrayView2<'_, f64> {
        self.values.view()
    }

    /// `T × n` mask, `true` where the value is missing.
    pub fn missing_mask(&self) -> ArrayView2<'_, bool> {
        self.missing.view()
    }

    /// Missing values per column, in column order.
    pub fn missing_counts(&self) -> Vec<usize> {
        self.missing
            .axis_iter(Axis(1))
            .map(|c| c.iter().filter(|&&m| m).count())
            .collect()
    }

    /// Missing values in the named column.
    ///
    /// # Errors
    /// [`DatasetError::UnknownColumn`].
    pub fn missing_count(&self, name: &str) -> DatasetResult<usize> {
        let j = self.column_index(name)?;
        Ok(self.missing.column(j).iter().filter(|&&m| m).count())
    }

    /// Total number of missing values.
    pub fn total_missing(&self) -> usize {
        self.missing.iter().filter(|&&m| m).count()
    }

    /// Index of the named column.
    ///
    /// # Errors
    /// [`DatasetError::UnknownColumn`].
    pub fn column_index(&self, name: &str) -> DatasetResult<usize> {
        // Linear in the number of columns; callers that look up many names should build
        // their own map from `columns()`.
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| DatasetError::UnknownColumn {
                name: name.to_owned(),
            })
    }

    /// Index of the row with this date, if any.
    pub fn row_of(&self, date: NaiveDate) -> Option<usize> {
        self.dates.binary_search(&Timestamp::from_date(date)).ok()
    }

    /// The named column, `NaN` where missing (check [`missing_count`](Frame::missing_count)
    /// or use [`column_complete`](Frame::column_complete)).
    ///
    /// # Errors
    /// [`DatasetError::UnknownColumn`].
    pub fn column(&self, name: &str) -> DatasetResult<ArrayView1<'_, f64>> {
        Ok(self.values.column(self.column_index(name)?))
    }

    /// The named column, only if it has no missing value.
    ///
    /// # Errors
    /// [`DatasetError::UnknownColumn`], or [`DatasetError::MissingValues`] naming the count and
    /// the first missing date.
    pub fn column_complete(&self, name: &str) -> DatasetResult<ArrayView1<'_, f64>> {
        let j = self.column_index(name)?;
        self.check_complete(j)?;
        Ok(self.values.column(j))
    }

    /// All values, only if none is missing.
    ///
    /// # Errors
    /// [`DatasetError::MissingValues`] for the first column with a missing value.
    pub fn complete_values(&self) -> DatasetResult<ArrayView2<'_, f64>> {
        for j in 0..self.n_columns() {
            self.check_complete(j)?;
        }
        Ok(self.values.view())
    }

    fn check_complete(&self, j: usize) -> DatasetResult<()> {
        let col = self.missing.column(j);
        let count = col.iter().filter(|&&m| m).count();
        if count == 0 {
            return Ok(());
        }
        let first = col.iter().position(|&m| m).unwrap_or(0);
        Err(DatasetError::MissingValues {
            column: self.columns[j].clone(),
            count,
            first: self.dates[first].date(),
        })
    }

    /// A frame with only the named columns, in the given order.
    ///
    /// # Errors
    /// [`DatasetError::UnknownColumn`]; [`DatasetError::BadHeader`] if a name repeats;
    /// [`CoreError::EmptyInput`] for an empty list.
    pub fn select(&self, names: &[&str]) -> DatasetResult<Frame> {
        let idx = names
            .iter()
            .map(|n| self.column_index(n))
            .collect::<DatasetResult<Vec<_>>>()?;
        let columns = idx.iter().map(|&j| self.columns[j].clone()).collect();
        Frame::new(self.dates.clone(), columns, self.values.select(Axis(1), &idx))
    }

    /// The rows dated `from ..= to`.
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] if no row falls in the range.
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> DatasetResult<Frame> {
        let (a, b) = (Timestamp::from_date(from), Timestamp::from_date(to));
        let rows: Vec<usize> = (0..self.n_rows())
            .filter(|&t| self.dates[t] >= a && self.dates[t] <= b)
            .collect();
        self.take_rows(&rows)
    }

    /// The rows with the given indices (strictly increasing).
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for no index; [`CoreError::NotIncreasing`] unless the
    /// indices strictly increase; [`CoreError::OutOfRange`] for an index past the end.
    pub fn take_rows(&self, rows: &[usize]) -> DatasetResult<Frame> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.n_rows()) {
            return Err(CoreError::OutOfRange {
                field: "rows",
                value: bad as f64,
                expected: "a row index below the number of rows",
            }
            .into());
        }
        if let Some(i) = rows.windows(2).position(|w| w[1] <= w[0]) {
            return Err(CoreError::NotIncreasing {
                field: "rows",
                index: i + 1,
            }
            .into());
        }
        let dates = rows.iter().map(|&t| self.dates[t]).collect();
        Frame::new(dates, self.columns.clone(), self.values.select(Axis(0), rows))
    }

    /// The frame without the rows that have any missing value (listwise deletion). This is
    /// the caller's explicit choice; no loader does it.
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] if every row has a missing value.
    pub fn drop_missing_rows(&self) -> DatasetResult<Frame> {
        let rows: Vec<usize> = (0..self.n_rows())
            .filter(|&t| !self.missing.row(t).iter().any(|&m| m))
            .collect();
        self.take_rows(&rows)
    }

    /// The frame as CSV text in the [module's format](self): a `date` header, ISO dates,
    /// values in Rust's shortest round-trip notation, an empty field where missing.
    /// [`parse_frame`] reads it back into an equal frame.
    pub fn to_csv_string(&self) -> String {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let mut row: Vec<String> = Vec::with_capacity(self.n_columns() + 1);
        row.push("date".to_owned());
        row.extend(self.columns.iter().cloned());
        // Writing into a Vec cannot fail.
        let _ = w.write_record(&row);
        for t in 0..self.n_rows() {
            row.clear();
            row.push(self.dates[t].date().format("%Y-%m-%d").to_string());
            for j in 0..self.n_columns() {
                row.push(if self.missing[[t, j]] {
                    String::new()
                } else {
                    format!("{}", self.values[[t, j]])
                });
            }
            let _ = w.write_record(&row);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// Simple returns `r_t = P_t / P_{t-1} − 1` between consecutive rows.
    ///
    /// Row `t − 1` of the result is dated `dates[t]` (the first date is dropped), so a return
    /// is aligned with the date at whose close it is realized. Returns are per row, not per
    /// calendar day: a gap between rows is one return. If `P_t` or `P_{t-1}` is missing the
    /// return is missing (`NaN` and masked), so one missing price makes two returns missing;
    /// nothing is filled. Call [`drop_missing_rows`](Frame::drop_missing_rows) first to take
    /// returns across the gaps instead.
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for fewer than two rows; [`DatasetError::NonPositivePrice`]
    /// for a present price `≤ 0`.
    pub fn simple_returns(&self) -> DatasetResult<Frame> {
        self.returns_with(|p1, p0| p1 / p0 - 1.0)
    }

    /// Log returns `r_t = ln(P_t / P_{t-1})`, with the alignment and missing-value rule of
    /// [`simple_returns`](Frame::simple_returns).
    ///
    /// # Errors
    /// As [`simple_returns`](Frame::simple_returns).
    pub fn log_returns(&self) -> DatasetResult<Frame> {
        self.returns_with(|p1, p0| (p1 / p0).ln())
    }

    fn returns_with(&self, f: impl Fn(f64, f64) -> f64) -> DatasetResult<Frame> {
        prudentia_core::validate::check_len("rows", self.n_rows(), 2)?;
        for ((t, j), &v) in self.values.indexed_iter() {
            if !self.missing[[t, j]] && v <= 0.0 {
                return Err(DatasetError::NonPositivePrice {
                    column: self.columns[j].clone(),
                    date: self.dates[t].date(),
                    value: v,
                });
            }
        }
        let (t_len, n) = self.values.dim();
        let values = Array2::from_shape_fn((t_len - 1, n), |(t, j)| {
            if self.missing[[t, j]] || self.missing[[t + 1, j]] {
                f64::NAN
            } else {
                f(self.values[[t + 1, j]], self.values[[t, j]])
            }
        });
        Frame::new(self.dates[1..].to_vec(), self.columns.clone(), values)
    }
}

/// Restricts two frames to the dates they share (an inner join on dates), keeping each
/// frame's columns and missing values as they are.
///
/// Typical use: align stock returns with VIX levels before conditioning on VIX.
///
/// # Errors
/// [`DatasetError::NoCommonDates`] if they share no date.
pub fn align(a: &Frame, b: &Frame) -> DatasetResult<(Frame, Frame)> {
    let (mut i, mut j) = (0, 0);
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    while i < a.n_rows() && j < b.n_rows() {
        match a.dates[i].cmp(&b.dates[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                ra.push(i);
                rb.push(j);
                i += 1;
                j += 1;
            }
        }
    }
    if ra.is_empty() {
        return Err(DatasetError::NoCommonDates);
    }
    Ok((a.take_rows(&ra)?, b.take_rows(&rb)?))
}

/// Empty or repeated names are [`DatasetError::BadHeader`]. Hashed: O(n) for n columns
/// (100,000 columns take milliseconds, not the seconds of a pairwise scan).
fn check_column_names(names: &[String], offset: usize) -> DatasetResult<()> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(DatasetError::BadHeader {
                column: k + offset,
                text: name.clone(),
                expected: "a non-empty column name",
            });
        }
        if !seen.insert(name.as_str()) {
            return Err(DatasetError::BadHeader {
                column: k + offset,
                text: name.clone(),
                expected: "a column name not used before",
            });
        }
    }
    Ok(())
}

/// Reads a frame from any reader holding CSV text in the [module's format](self).
///
/// # Errors
/// [`DatasetError::Io`] if reading fails or the bytes are not UTF-8; otherwise as
/// [`parse_frame`].
pub fn load_csv_frame<R: Read>(mut reader: R) -> DatasetResult<Frame> {
    let mut text = String::new();
    reader.read_to_string(&mut text)?;
    parse_frame(&text)
}

/// Parses CSV text in the [module's format](self) into a [`Frame`].
///
/// # Errors
/// [`DatasetError::EmptyInput`] (no header), [`DatasetError::BadHeader`],
/// [`DatasetError::NoDataRows`], [`DatasetError::RaggedRow`], [`DatasetError::BadDate`],
/// [`DatasetError::BadNumber`], [`DatasetError::NonFiniteValue`],
/// [`DatasetError::UnsortedDates`], [`DatasetError::DuplicateDate`], [`DatasetError::Csv`].
pub fn parse_frame(text: &str) -> DatasetResult<Frame> {
    // A UTF-8 byte-order mark (as written by some spreadsheet exports) is not part of the header.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(DatasetError::EmptyInput),
        Some(r) => r.map_err(csv_error)?,
    };
    let first = header.get(0).unwrap_or("");
    if !first.eq_ignore_ascii_case("date") {
        let expected = if first.contains(';') || first.contains('\t') || first.contains('|') {
            "`date` as the first column of a `,`-delimited file (this header looks delimited by              another character: read it with `onramp::read_market_csv` and `CsvOptions`)"
        } else {
            "`date` as the first column (other layouts: `onramp::read_market_csv`)"
        };
        return Err(DatasetError::BadHeader {
            column: 0,
            text: first.to_owned(),
            expected,
        });
    }
    if header.len() < 2 {
        return Err(DatasetError::BadHeader {
            column: 1,
            text: String::new(),
            expected: "at least one value column after `date`",
        });
    }
    let columns: Vec<String> = header.iter().skip(1).map(str::to_owned).collect();
    check_column_names(&columns, 1)?;
    let n = columns.len();

    let mut dates: Vec<Timestamp> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut previous: Option<NaiveDate> = None;
    for record in records {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != n + 1 {
            return Err(DatasetError::RaggedRow {
                line,
                expected: n + 1,
                found: record.len(),
            });
        }
        let date_text = record.get(0).unwrap_or("");
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| DatasetError::BadDate {
            line,
            text: date_text.to_owned(),
        })?;
        if let Some(prev) = previous {
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
        previous = Some(date);
        dates.push(Timestamp::from_date(date));
        for (k, field) in record.iter().skip(1).enumerate() {
            values.push(parse_value(field, line, &columns[k])?);
        }
    }
    if dates.is_empty() {
        return Err(DatasetError::NoDataRows);
    }
    let t = dates.len();
    let values = Array2::from_shape_vec((t, n), values).map_err(|_| CoreError::ShapeMismatch {
        field: "values",
        expected: vec![t, n],
        found: vec![t * n],
    })?;
    Frame::new(dates, columns, values)
}

fn parse_value(field: &str, line: u64, column: &str) -> DatasetResult<f64> {
    if field.is_empty() {
        return Ok(f64::NAN);
    }
    match field.parse::<f64>() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_missing_as_nan_and_mask() {
        let f = parse_frame("date,a,b\n2020-01-01,1,2\n2020-01-02,,3\n").unwrap();
        assert_eq!(f.n_rows(), 2);
        assert!(f.values()[[1, 0]].is_nan());
        assert!(f.missing_mask()[[1, 0]]);
        assert_eq!(f.missing_counts(), vec![1, 0]);
        assert!(f.column_complete("b").is_ok());
        assert!(matches!(
            f.column_complete("a"),
            Err(DatasetError::MissingValues { count: 1, .. })
        ));
    }

    #[test]
    fn tokenizer_errors_map_to_csv_variant() {
        // For `&str` input the csv tokenizer cannot fail (valid UTF-8, flexible rows, no I/O);
        // the mapping is still checked.
        let e = csv_error(csv::Error::from(std::io::Error::other("boom")));
        assert!(matches!(e, DatasetError::Csv { line: 0, .. }));
    }

    #[test]
    fn returns_propagate_missing() {
        let f = parse_frame("date,a\n2020-01-01,1\n2020-01-02,\n2020-01-03,2\n2020-01-06,4\n").unwrap();
        let r = f.simple_returns().unwrap();
        assert_eq!(r.n_rows(), 3);
        assert_eq!(r.missing_counts(), vec![2]);
        assert_eq!(r.values()[[2, 0]], 1.0);
        assert_eq!(r.first_date(), NaiveDate::from_ymd_opt(2020, 1, 2).unwrap());
        let r2 = f.drop_missing_rows().unwrap().log_returns().unwrap();
        assert_eq!(r2.n_rows(), 2);
        assert!((r2.values()[[0, 0]] - 2f64.ln()).abs() < 1e-15);
    }
}
