//! Outputs for people and other tools: the report as plain JSON (ISO-8601 dates, plain
//! numbers, `null` with a reason for an undefined statistic) and a backtest as CSV tables
//! (daily returns and statuses, weights, orders).
//!
//! ```
//! use prudentia_core::Timestamp;
//! use prudentia_metrics::{NanPolicy, Report, ReportConfig, Returns};
//!
//! # fn main() -> Result<(), prudentia_metrics::MetricsError> {
//! let times: Vec<Timestamp> = (6..=10).filter_map(|d| Timestamp::from_ymd(2024, 5, d)).collect();
//! let r = Returns::with_times(vec![0.01, 0.02, 0.0, 0.01, 0.03], times, NanPolicy::Reject)?;
//! let json = Report::new(ReportConfig::default(), &r)?.to_plain_json()?;
//! assert!(json.contains("\"start\": \"2024-05-06\""));
//! // no drawdown: the Calmar ratio is null, with the reason beside it
//! assert!(json.contains("\"calmar\": null"));
//! assert!(json.contains("\"calmar_undefined\": \"no drawdown\""));
//! # Ok(()) }
//! ```

use std::fmt::Write as _;

use prudentia_core::{DecisionStatus, Timestamp};
use serde_json::{Map, Value};

use crate::backtest::BacktestRecord;
use crate::error::{MetricsError, MetricsResult};
use crate::report::Report;
use crate::types::Undefined;

/// A time as ISO 8601: `YYYY-MM-DD` at midnight UTC (daily data), else
/// `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
pub fn iso_8601(t: Timestamp) -> String {
    let nanos = t.as_nanos().rem_euclid(Timestamp::NANOS_PER_DAY);
    let date = t.date();
    if nanos == 0 {
        return date.to_string();
    }
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    format!(
        "{date}T{:02}:{:02}:{:02}.{frac:09}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn ser_err(e: impl std::fmt::Display) -> MetricsError {
    MetricsError::Serialize {
        detail: e.to_string(),
    }
}

const TIME_KEYS: [&str; 4] = ["time", "start", "end", "at"];

/// Rewrites a serialized report: `{"Value": x}` → `x`; `{"Undefined": r}` → `null` with a
/// `<key>_undefined` reason beside; integer times under time keys → ISO 8601.
fn plain(key: Option<&str>, v: Value) -> (Value, Option<String>) {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Value") => {
            (m.into_iter().next().map(|(_, v)| v).unwrap_or(Value::Null), None)
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Undefined") => {
            let reason = m
                .into_iter()
                .next()
                .and_then(|(_, r)| serde_json::from_value::<Undefined>(r).ok())
                .map(|u| u.to_string().trim_start_matches("undefined: ").to_owned())
                .unwrap_or_else(|| "undefined".to_owned());
            (Value::Null, Some(reason))
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let (v, reason) = plain(Some(&k), v);
                if let Some(r) = reason {
                    out.insert(format!("{k}_undefined"), Value::String(r));
                }
                out.insert(k, v);
            }
            (Value::Object(out), None)
        }
        Value::Array(a) => {
            let times = key == Some("times");
            let items = a
                .into_iter()
                .map(|x| match (&x, times) {
                    (Value::Number(n), true) => n
                        .as_i64()
                        .map_or(x.clone(), |t| Value::String(iso_8601(Timestamp::from_nanos(t)))),
                    _ => plain(None, x).0,
                })
                .collect();
            (Value::Array(items), None)
        }
        Value::Number(n) if key.is_some_and(|k| TIME_KEYS.contains(&k)) => match n.as_i64() {
            Some(t) => (Value::String(iso_8601(Timestamp::from_nanos(t))), None),
            None => (Value::Number(n), None),
        },
        other => (other, None),
    }
}

impl Report {
    /// The report as JSON for people and other tools: the structure of [`Report::to_json`]
    /// with every time as an ISO-8601 string ([`iso_8601`]), every statistic as a plain
    /// number, and an undefined statistic as `null` with a `<name>_undefined` field giving
    /// the reason. (Not meant to be loaded back: [`Report::to_json`] is the checkpoint.)
    pub fn to_plain_json(&self) -> MetricsResult<String> {
        let v = serde_json::to_value(self).map_err(ser_err)?;
        serde_json::to_string_pretty(&plain(None, v).0).map_err(ser_err)
    }
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl BacktestRecord<'_> {
    /// One row per period: `date,return,equity,drawdown,turnover,gross,net,status,regime,reasons`
    /// (equity starts at 1; gross, net, status, regime and the fallback reasons, joined by
    /// `"; "`, are empty without decisions).
    pub fn daily_csv(&self) -> MetricsResult<String> {
        self.check()?;
        let mut out = String::from("date,return,equity,drawdown,turnover,gross,net,status,regime,reasons\n");
        let (mut w, mut peak) = (1.0_f64, 1.0_f64);
        for t in 0..self.returns.len() {
            let r = self.returns[t];
            w *= 1.0 + r;
            peak = peak.max(w);
            let dd = if peak > 0.0 { w / peak - 1.0 } else { 0.0 };
            let _ = write!(
                out,
                "{},{r},{w},{dd},{}",
                iso_8601(self.times[t]),
                self.turnover[t]
            );
            match self.decisions.get(t) {
                Some(d) => {
                    let (status, reasons) = match &d.status {
                        DecisionStatus::Normal => ("normal", String::new()),
                        DecisionStatus::SafeFallback { reasons } => ("safe_fallback", reasons.join("; ")),
                    };
                    let _ = writeln!(
                        out,
                        ",{},{},{status},{},{}",
                        d.sized.gross(),
                        d.sized.net(),
                        field(&d.regime.label.to_string()),
                        field(&reasons)
                    );
                }
                None => out.push_str(",,,,,\n"),
            }
        }
        Ok(out)
    }

    /// The sized weights in long format: `date,asset,weight`, one row per asset held (a
    /// non-zero weight) at each decision.
    pub fn weights_csv(&self) -> MetricsResult<String> {
        self.check()?;
        let mut out = String::from("date,asset,weight\n");
        for d in self.decisions {
            let date = iso_8601(d.time);
            for (a, v) in d.sized.assets.iter().zip(&d.sized.values) {
                if *v != 0.0 {
                    let _ = writeln!(out, "{date},{},{v}", field(a.as_str()));
                }
            }
        }
        Ok(out)
    }

    /// The orders: `date,asset,side,quantity,order_type,limit_price`.
    pub fn orders_csv(&self) -> MetricsResult<String> {
        self.check()?;
        let mut out = String::from("date,asset,side,quantity,order_type,limit_price\n");
        for d in self.decisions {
            let date = iso_8601(d.time);
            for o in &d.orders {
                let kind = format!("{:?}", o.order_type);
                let _ = writeln!(
                    out,
                    "{date},{},{:?},{},{},{}",
                    field(o.asset.as_str()),
                    o.side,
                    o.quantity,
                    field(&kind),
                    o.limit_price.map(|p| p.to_string()).unwrap_or_default()
                );
            }
        }
        Ok(out)
    }

    /// Writes `daily.csv`, `weights.csv` and `orders.csv` into `dir` (created if missing).
    pub fn write_csv(&self, dir: &std::path::Path) -> MetricsResult<()> {
        let io = |e: std::io::Error| MetricsError::Serialize {
            detail: format!("writing CSV files to {}: {e}", dir.display()),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        std::fs::write(dir.join("daily.csv"), self.daily_csv()?).map_err(io)?;
        std::fs::write(dir.join("weights.csv"), self.weights_csv()?).map_err(io)?;
        std::fs::write(dir.join("orders.csv"), self.orders_csv()?).map_err(io)?;
        Ok(())
    }
}
