//! InfluxDB line protocol: `measurement[,tag=value…] field=value[,field=value…] timestamp`.
//!
//! Escaping follows the InfluxDB 1.x/2.x line-protocol reference: in measurements, commas and
//! spaces are escaped with a backslash; in tag keys, tag values and field keys, commas, equals
//! signs and spaces; in string field values (double-quoted), double quotes and backslashes.
//! Integer fields carry an `i` suffix, floats are written in Rust's shortest round-trip form
//! (`1.0`, `1e300`, `5e-324`), booleans as `true`/`false`, timestamps in nanoseconds.
//!
//! What the protocol cannot carry is refused with a typed error, never sent garbled: a
//! non-finite float ([`MonitorError::NonFinite`]); an empty measurement, key or tag value; a
//! newline or carriage return outside a string field; and, outside string fields, a backslash
//! the receiver would read as an escape (one at the end, or before a space, comma, equals sign,
//! quote or another backslash) — any other backslash is sent as it is and read back as it is
//! ([`MonitorError::Unrepresentable`]). A point needs at least one field.

use crate::error::{MonitorError, MonitorResult};
use prudentia_core::Timestamp;

/// The value of a line-protocol field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A 64-bit float (must be finite).
    Float(f64),
    /// A signed 64-bit integer (`i` suffix).
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A string (double-quoted; may contain any character).
    Str(String),
}

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::Float(v)
    }
}
impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::Int(v)
    }
}
impl From<usize> for FieldValue {
    fn from(v: usize) -> Self {
        FieldValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}
impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue::Str(v.to_string())
    }
}
impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        FieldValue::Str(v)
    }
}

/// One point: a measurement, tags, fields and a timestamp.
///
/// ```
/// use prudentia_monitor::{FieldValue, Point};
/// use prudentia_core::Timestamp;
/// let p = Point::new("decision", Timestamp::from_nanos(1_700_000_000_000_000_000))
///     .tag("regime", "risk on")
///     .field("gross_exposure", 0.95)
///     .field("orders", 3_i64)
///     .field("reason", "warming up, \"5\" of 20");
/// assert_eq!(
///     p.to_line().unwrap(),
///     r#"decision,regime=risk\ on gross_exposure=0.95,orders=3i,reason="warming up, \"5\" of 20" 1700000000000000000"#
/// );
/// assert!(Point::new("m", Timestamp::from_nanos(0)).field("x", f64::NAN).to_line().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The measurement.
    pub measurement: String,
    /// Tags, in the order given (the server sorts them).
    pub tags: Vec<(String, String)>,
    /// Fields, in the order given.
    pub fields: Vec<(String, FieldValue)>,
    /// Timestamp in nanoseconds since the Unix epoch.
    pub time: Timestamp,
}

impl Point {
    /// A point without tags or fields.
    pub fn new(measurement: impl Into<String>, time: Timestamp) -> Self {
        Self {
            measurement: measurement.into(),
            tags: Vec::new(),
            fields: Vec::new(),
            time,
        }
    }
    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }
    /// Adds a field.
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// The point as one line (without the trailing newline), or why it cannot be encoded.
    pub fn to_line(&self) -> MonitorResult<String> {
        let mut out = String::with_capacity(64);
        self.write_inner(&mut out)?;
        Ok(out)
    }

    /// Appends the point as one line plus `\n` to `out`; on error `out` is left unchanged.
    pub fn write_line(&self, out: &mut String) -> MonitorResult<()> {
        let start = out.len();
        let r = self.write_inner(out);
        if r.is_err() {
            out.truncate(start);
        } else {
            out.push('\n');
        }
        r
    }

    fn write_inner(&self, out: &mut String) -> MonitorResult<()> {
        if self.fields.is_empty() {
            return Err(MonitorError::NoField {
                measurement: self.measurement.clone(),
            });
        }
        escape_name(out, "measurement", &self.measurement, &[',', ' '])?;
        for (k, v) in &self.tags {
            out.push(',');
            escape_name(out, "tag key", k, &[',', '=', ' '])?;
            out.push('=');
            escape_name(out, "tag value", v, &[',', '=', ' '])?;
        }
        for (i, (k, v)) in self.fields.iter().enumerate() {
            out.push(if i == 0 { ' ' } else { ',' });
            escape_name(out, "field key", k, &[',', '=', ' '])?;
            out.push('=');
            match v {
                FieldValue::Float(x) => {
                    if !x.is_finite() {
                        return Err(MonitorError::NonFinite {
                            field: format!("{}.{}", self.measurement, k),
                            value: *x,
                        });
                    }
                    // shortest round-trip form; `-0.0` is sent as 0
                    let x = if *x == 0.0 { 0.0 } else { *x };
                    out.push_str(&format!("{x:?}"));
                }
                FieldValue::Int(x) => {
                    out.push_str(&x.to_string());
                    out.push('i');
                }
                FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                FieldValue::Str(s) => {
                    out.push('"');
                    for c in s.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                }
            }
        }
        out.push(' ');
        out.push_str(&self.time.as_nanos().to_string());
        Ok(())
    }
}

/// Escapes a measurement, key or tag value (`special` are the characters escaped by a backslash).
fn escape_name(out: &mut String, kind: &'static str, s: &str, special: &[char]) -> MonitorResult<()> {
    let refuse = |reason| MonitorError::Unrepresentable {
        kind,
        value: s.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(refuse("empty"));
    }
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\r' => return Err(refuse("contains a newline")),
            '\\' => match chars.peek() {
                None => return Err(refuse("ends with a backslash")),
                Some(' ' | ',' | '=' | '"' | '\\') => {
                    return Err(refuse(
                        "a backslash before a space, comma, equals sign, quote or backslash",
                    ))
                }
                Some(_) => out.push('\\'),
            },
            c if special.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Ok(())
}

/// Encodes points into one line-protocol body (one line each). All points are checked first:
/// on error nothing is returned.
pub fn encode(points: &[Point]) -> MonitorResult<String> {
    let mut out = String::with_capacity(points.len().saturating_mul(96).min(1 << 20));
    for p in points {
        p.write_line(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Timestamp {
        Timestamp::from_nanos(1_556_813_561_098_000_000)
    }

    #[test]
    fn spec_examples() {
        // examples of the InfluxDB line-protocol reference ("special characters")
        let p = Point::new("my Measurement", t()).field("fieldKey", "string value");
        assert_eq!(
            p.to_line().unwrap(),
            r#"my\ Measurement fieldKey="string value" 1556813561098000000"#
        );
        let p = Point::new("myMeasurement", t())
            .tag("tag Key1", "tag Value1")
            .tag("tag Key2", "tag Value2")
            .field("fieldKey", 100.0);
        assert_eq!(
            p.to_line().unwrap(),
            r"myMeasurement,tag\ Key1=tag\ Value1,tag\ Key2=tag\ Value2 fieldKey=100.0 1556813561098000000"
        );
        let p = Point::new("myMeasurement", t()).field("fieldKey", r#"Say "hello""#);
        assert_eq!(
            p.to_line().unwrap(),
            r#"myMeasurement fieldKey="Say \"hello\"" 1556813561098000000"#
        );
        let p = Point::new("myMeasurement", t()).field("fieldKey", r"C:\Program Files");
        assert_eq!(
            p.to_line().unwrap(),
            r#"myMeasurement fieldKey="C:\\Program Files" 1556813561098000000"#
        );
    }

    #[test]
    fn commas_equals_in_names() {
        let p = Point::new("cpu,load", t())
            .tag("a=b", "c,d=e f")
            .field("f=1,g 2", 1_i64);
        assert_eq!(
            p.to_line().unwrap(),
            r"cpu\,load,a\=b=c\,d\=e\ f f\=1\,g\ 2=1i 1556813561098000000"
        );
        // '=' is not escaped in a measurement
        assert_eq!(
            Point::new("a=b", t()).field("x", true).to_line().unwrap(),
            "a=b x=true 1556813561098000000"
        );
        // quotes in tags are sent as they are
        assert_eq!(
            Point::new("m", t())
                .tag("q", "say\"hi\"")
                .field("x", false)
                .to_line()
                .unwrap(),
            "m,q=say\"hi\" x=false 1556813561098000000"
        );
    }

    #[test]
    fn integer_vs_float() {
        let p = Point::new("m", t())
            .field("i", 3_i64)
            .field("f", 3.0)
            .field("neg", -0.0)
            .field("big", 1e300)
            .field("tiny", 5e-324)
            .field("max", f64::MAX)
            .field("imin", i64::MIN);
        assert_eq!(
            p.to_line().unwrap(),
            "m i=3i,f=3.0,neg=0.0,big=1e300,tiny=5e-324,max=1.7976931348623157e308,imin=-9223372036854775808i 1556813561098000000"
        );
    }

    #[test]
    fn newlines_and_backslashes() {
        // a newline in a string field is carried inside the quotes
        let p = Point::new("m", t()).field("s", "a\nb\\\"");
        assert_eq!(p.to_line().unwrap(), "m s=\"a\nb\\\\\\\"\" 1556813561098000000");
        // a newline in any name is refused
        for p in [
            Point::new("m\n", t()).field("x", 1.0),
            Point::new("m", t()).tag("k\n", "v").field("x", 1.0),
            Point::new("m", t()).tag("k", "v\r").field("x", 1.0),
            Point::new("m", t()).field("x\ny", 1.0),
        ] {
            assert!(
                matches!(p.to_line(), Err(MonitorError::Unrepresentable { .. })),
                "{p:?}"
            );
        }
        // a lone backslash before an ordinary character is literal
        assert_eq!(
            Point::new(r"a\b", t())
                .tag("k", r"C:\x")
                .field("x", 1.0)
                .to_line()
                .unwrap(),
            r"a\b,k=C:\x x=1.0 1556813561098000000"
        );
        // one the server would read as an escape is refused
        for v in [r"a\", r"a\ b", r"a\,b", r"a\=b", r"a\\b", r#"a\"b"#] {
            let p = Point::new("m", t()).tag("k", v).field("x", 1.0);
            assert!(
                matches!(p.to_line(), Err(MonitorError::Unrepresentable { .. })),
                "{v}"
            );
        }
    }

    #[test]
    fn refused_points() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let p = Point::new("m", t()).field("ok", 1.0).field("x", x);
            assert!(matches!(p.to_line(), Err(MonitorError::NonFinite { .. })));
        }
        assert!(matches!(
            Point::new("m", t()).to_line(),
            Err(MonitorError::NoField { .. })
        ));
        assert!(Point::new("", t()).field("x", 1.0).to_line().is_err());
        assert!(Point::new("m", t())
            .tag("", "v")
            .field("x", 1.0)
            .to_line()
            .is_err());
        assert!(Point::new("m", t())
            .tag("k", "")
            .field("x", 1.0)
            .to_line()
            .is_err());
        assert!(Point::new("m", t()).field("", 1.0).to_line().is_err());
        // a failing point leaves the buffer unchanged; encode is all or nothing
        let mut buf = String::from("x\n");
        assert!(Point::new("m", t())
            .field("x", f64::NAN)
            .write_line(&mut buf)
            .is_err());
        assert_eq!(buf, "x\n");
        let ok = Point::new("m", t()).field("x", 1.0);
        assert!(encode(&[ok.clone(), Point::new("m", t())]).is_err());
        assert_eq!(encode(&[ok.clone(), ok]).unwrap().lines().count(), 2);
    }

    #[test]
    fn unicode_and_negative_time() {
        let p = Point::new("métrique", Timestamp::from_nanos(-5))
            .tag("régime", "haussier ✓")
            .field("ω", "∞");
        assert_eq!(p.to_line().unwrap(), "métrique,régime=haussier\\ ✓ ω=\"∞\" -5");
    }
}
