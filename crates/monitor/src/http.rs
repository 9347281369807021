//! A minimal HTTP/1.1 client over `std::net` for plain-`http` InfluxDB endpoints: one request
//! per connection (`Connection: close`), connect/read/write timeouts, a bounded response.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{MonitorError, MonitorResult};

/// The largest response body read (larger ones are cut).
const MAX_RESPONSE: usize = 16 << 20;

/// An `http://host[:port][/prefix]` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Host name or address.
    pub host: String,
    /// Port (80 if not given).
    pub port: u16,
    /// Path prefix without trailing slash (may be empty).
    pub prefix: String,
}

impl BaseUrl {
    /// Parses a base URL; only the `http` scheme is supported.
    pub fn parse(url: &str) -> MonitorResult<Self> {
        let refuse = |reason| MonitorError::Unrepresentable {
            kind: "URL",
            value: url.to_string(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| refuse("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(refuse("needs a host (without user info)"));
        }
        if path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
        {
            return Err(refuse("path with spaces, controls, query or fragment"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p.parse::<u16>().map_err(|_| refuse("bad port"))?;
                (h, port)
            }
            _ => (authority, 80),
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refuse("bad host"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            prefix: path.to_string(),
        })
    }
}

/// A response: status code and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body (decoded when chunked).
    pub body: Vec<u8>,
}

/// Percent-encodes a query-string value.
pub fn encode_query(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Sends one request (`path_and_query` is appended to the base prefix) and reads the response.
pub fn request(
    base: &BaseUrl,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> MonitorResult<Response> {
    let io = |op: &'static str| move |e: std::io::Error| MonitorError::io(op, &e);
    let addr = (base.host.as_str(), base.port)
        .to_socket_addrs()
        .map_err(io("resolve host"))?
        .next()
        .ok_or(MonitorError::Io {
            op: "resolve host",
            detail: format!("no address for {}", base.host),
        })?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io("connect"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(io("set timeout"))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(io("set timeout"))?;
    let mut head = format!(
        "{method} {}{path_and_query} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: prudentia-monitor\r\nContent-Length: {}\r\nConnection: close\r\n",
        base.prefix,
        base.host,
        base.port,
        body.len()
    );
    for (k, v) in headers {
        if [k, v].iter().any(|s| s.contains(['\r', '\n'])) {
            return Err(MonitorError::Unrepresentable {
                kind: "HTTP header",
                value: (*k).to_string(),
                reason: "contains a line break",
            });
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io("send request"))?;
    stream.write_all(body).map_err(io("send body"))?;
    stream.flush().map_err(io("send body"))?;
    // read until the server closes, or until the body announced by Content-Length is complete
    // (a server that keeps the connection open is not waited for)
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).map_err(io("read response"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() >= MAX_RESPONSE || complete(&raw) {
            break;
        }
    }
    parse_response(&raw)
}

/// Whether `raw` holds a whole response with a `Content-Length` body.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    head.split("\r\n")
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        })
        .is_some_and(|len| raw.len() >= end.saturating_add(4).saturating_add(len))
}

fn parse_response(raw: &[u8]) -> MonitorResult<Response> {
    let bad = |detail: &str| MonitorError::Http {
        status: 0,
        detail: detail.to_string(),
    };
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("incomplete response head"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("bad chunked body"))?
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        let chunk = data.get(..size)?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = BaseUrl::parse("http://127.0.0.1:8086").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("127.0.0.1", 8086, "")
        );
        let u = BaseUrl::parse("http://localhost/influx/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("localhost", 80, "/influx")
        );
        for bad in [
            "https://x",
            "ftp://x",
            "http://",
            "http://a:b",
            "http://a:99999",
            "http://u@h",
            "http://h/a b",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses() {
        let r = parse_response(b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        assert!(parse_response(b"garbage").is_err());
        assert!(complete(b"HTTP/1.1 204 X\r\nContent-Length: 0\r\n\r\n"));
        assert!(!complete(b"HTTP/1.1 200 X\r\nContent-Length: 3\r\n\r\nab"));
        assert!(complete(b"HTTP/1.1 200 X\r\nContent-Length: 3\r\n\r\nabc"));
        assert!(!complete(b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert_eq!(encode_query("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
