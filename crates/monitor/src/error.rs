//! The error type of prudentia-monitor.

use prudentia_core::CoreError;
use thiserror::Error;

/// An error of a monitoring call: a value the wire formats cannot carry, a bad
/// configuration, or an I/O or HTTP failure of an exporter.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// A shared validation error (bad configuration value, size beyond its limit).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A non-finite number where the format needs a finite one (line-protocol float fields,
    /// Prometheus gauges and histogram observations).
    #[error("{field} must be finite, got {value}")]
    NonFinite {
        /// What the value was for.
        field: String,
        /// The value.
        value: f64,
    },
    /// A name or value that the format cannot represent (empty, a newline, a backslash the
    /// receiver would read as an escape, characters outside a Prometheus name).
    #[error("{kind} {value:?} cannot be encoded: {reason}")]
    Unrepresentable {
        /// Which part of the point or metric (measurement, tag key, label value, …).
        kind: &'static str,
        /// The offending text.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A line-protocol point without any field.
    #[error("point of measurement {measurement:?} has no field")]
    NoField {
        /// The measurement.
        measurement: String,
    },
    /// A metric name already registered with another type.
    #[error("metric {name} is a {existing}, not a {requested}")]
    KindMismatch {
        /// The metric name.
        name: String,
        /// Its registered type.
        existing: &'static str,
        /// The type asked for.
        requested: &'static str,
    },
    /// A file or socket operation failed.
    #[error("{op} failed: {detail}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The operating system's message.
        detail: String,
    },
    /// An HTTP exchange failed or the server answered with a non-success status.
    #[error("HTTP {status}: {detail}")]
    Http {
        /// The status code (0 when no valid response was read).
        status: u16,
        /// The response body or the reason.
        detail: String,
    },
}

impl MonitorError {
    pub(crate) fn io(op: &'static str, e: &std::io::Error) -> Self {
        MonitorError::Io {
            op,
            detail: e.to_string(),
        }
    }
}

/// Result alias of this crate.
pub type MonitorResult<T> = Result<T, MonitorError>;
