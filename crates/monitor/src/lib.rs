//! # prudentia-monitor
//!
//! Live monitoring of a running prudentia pipeline: the metrics a desk watches (regime and
//! change probability, exposure, turnover, fallbacks and their rate, stage latencies, drift,
//! rolling forecast-interval coverage per regime, drawdown, expected vs realized costs)
//! streamed to InfluxDB and Prometheus while the pipeline runs, with typed alerts.
//!
//! - [`line`](mod@line): InfluxDB line protocol ([`Point`], [`encode`]) with the reference's escaping;
//!   what the protocol cannot carry (a NaN, a newline in a tag) is a typed error.
//! - `influx` (feature `influxdb`): `InfluxWriter`, a background
//!   thread that batches points to `/write` (1.x) or `/api/v2/write` (2.x, token), retries
//!   with exponential backoff, and never blocks its caller: pushes go through a bounded
//!   channel with `try_send`; when it is full the point is dropped and counted.
//! - [`prom`]: the Prometheus text exposition ([`Registry`](prom::Registry): gauges,
//!   counters, histograms), written atomically for the node-exporter textfile collector or
//!   (feature `prometheus`) served on a local port.
//! - [`alerts`]: threshold and rate rules (drawdown, drift PSI/KS, coverage band, fallback
//!   rate, cost model error), evaluated on every event and exported as metrics.
//! - [`Monitor`]: takes plain [`DecisionMetrics`] / [`OutcomeMetrics`], produces the points,
//!   series and alerts. It depends only on `prudentia-core`; the pipeline's observer adapter
//!   (`prudentia_pipeline::MonitorObserver`) fills these structs from a `DecisionReport` and
//!   an `Outcome`, so no stage carries monitoring code.
//!
//! Line protocol: <https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/>;
//! exposition format: <https://prometheus.io/docs/instrumenting/exposition_formats/>.
//!
//! ## Example
//! ```
//! use prudentia_core::Timestamp;
//! use prudentia_monitor::{AlertRule, DecisionMetrics, MemorySink, Monitor, MonitorConfig, OutcomeMetrics};
//!
//! # fn main() -> Result<(), prudentia_monitor::MonitorError> {
//! let mut monitor = Monitor::new(MonitorConfig::default())?.with_sink(Box::new(MemorySink::default()));
//! let day = Timestamp::NANOS_PER_DAY;
//! let obs = monitor.on_decision(&DecisionMetrics {
//!     time: Timestamp::from_nanos(day),
//!     regime: "risk_on".into(),
//!     gross_exposure: 1.0,
//!     net_exposure: 1.0,
//!     stage_seconds: vec![("optimize".into(), 0.002)],
//!     ..Default::default()
//! })?;
//! assert_eq!(obs.points, 2); // decision + one stage timing
//! monitor.on_outcome(&OutcomeMetrics { time: Timestamp::from_nanos(day), equity: 100.0, ..Default::default() })?;
//! let obs = monitor.on_outcome(&OutcomeMetrics { time: Timestamp::from_nanos(2 * day), equity: 70.0, ..Default::default() })?;
//! assert_eq!(obs.alerts[0].rule, AlertRule::Drawdown); // 30 % > 20 %
//! let text = monitor.registry().lock().unwrap().render();
//! assert!(text.contains("prudentia_drawdown 0.30000000000000004"));
//! assert!(text.contains("prudentia_alerts_total{rule=\"drawdown\"} 1.0"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alerts;
mod error;
#[cfg(feature = "influxdb")]
pub mod http;
#[cfg(feature = "influxdb")]
pub mod influx;
pub mod line;
mod monitor;
pub mod prom;

pub use alerts::{Alert, AlertConfig, AlertRule};
pub use error::{MonitorError, MonitorResult};
pub use line::{encode, FieldValue, Point};
pub use monitor::{
    DecisionMetrics, MemorySink, Monitor, MonitorConfig, MonitorState, Observation, OutcomeMetrics,
    PointSink, MAX_KEPT_ALERTS,
};
