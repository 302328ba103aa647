//! Polling a bundle from any plain HTTP store (a web server, a CDN origin, an
//! object store's HTTP endpoint) with `ETag` / `If-None-Match`, backoff and jitter.
//!
//! [`Poller::poll`] asks once: `304 Not Modified` is [`Polled::Unchanged`]; a
//! `200` body is checked against the trusted keys (the signature is fetched
//! from `URL.sig`) and returned as [`Polled::Updated`] for the caller to
//! validate and activate (for example `Authorizer::replace_bundle`, which keeps
//! the running policy when the new one does not load). [`Poller::next_delay`]
//! says when to ask again: the interval with ±10% jitter, so replicas spread
//! their requests, doubled after each failure up to `max_backoff`.
//!
//! The client speaks HTTP/1.1 over plain TCP (`http://` URLs), reads at most
//! `max_bytes` of body and gives up after `timeout`; put TLS in a local proxy.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::signing::{SignatureError, TrustedKeys};

/// Where and how often to poll.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// `http://host[:port]/path` of the bundle; its signature is at the same URL plus `.sig`.
    pub url: String,
    /// Time between polls when all is well.
    pub interval: Duration,
    /// Longest time between polls after repeated failures.
    pub max_backoff: Duration,
    /// Connect, read and write timeout of one request.
    pub timeout: Duration,
    /// Largest bundle accepted, in bytes.
    pub max_bytes: usize,
    /// Keys a bundle must be signed by; empty accepts unsigned bundles.
    pub trusted: TrustedKeys,
}

impl PollConfig {
    /// Polls `url` every `interval`, backing off to a minute, bundles up to 1 GiB.
    pub fn new(url: impl Into<String>, interval: Duration, trusted: TrustedKeys) -> PollConfig {
        PollConfig {
            url: url.into(),
            interval,
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            max_bytes: 1 << 30,
            trusted,
        }
    }
}

/// Why a poll failed. The running policy is unaffected.
#[derive(Debug)]
pub enum PollError {
    /// The URL is not `http://host[:port]/path`.
    Url(String),
    /// The server could not be reached or the exchange broke off.
    Io(String),
    /// The server answered something other than 200 or 304, or malformed HTTP.
    Http(String),
    /// The bundle's signature is missing, untrusted or wrong.
    Signature(SignatureError),
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollError::Url(m) | PollError::Io(m) | PollError::Http(m) => f.write_str(m),
            PollError::Signature(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PollError {}

/// The outcome of one successful poll.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled {
    /// The store has the bundle last fetched.
    Unchanged,
    /// A new bundle, signature checked, not yet validated by an engine.
    Updated { bundle: Vec<u8>, etag: Option<String> },
}

/// Polls one bundle URL.
pub struct Poller {
    config: PollConfig,
    target: Target,
    etag: Option<String>,
    failures: u32,
}

#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, PollError> {
    let bad = |why: &str| PollError::Url(format!("bundle url {url:?}: {why}"));
    let rest = url.strip_prefix("http://").ok_or_else(|| bad("only http:// urls are supported"))?;
    let (authority, path) = rest.split_at(rest.find('/').ok_or_else(|| bad("no path"))?);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port is not a number"))?),
        None => (authority, 80),
    };
    if host.is_empty() || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(bad("no host, or a path with spaces or control characters"));
    }
    Ok(Target { host: host.to_owned(), port, path: path.to_owned() })
}

/// One HTTP response: status, ETag, body.
struct Response {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl Poller {
    /// A poller for `config.url`; fails only when the URL is not usable.
    pub fn new(config: PollConfig) -> Result<Poller, PollError> {
        let target = parse_url(&config.url)?;
        Ok(Poller { config, target, etag: None, failures: 0 })
    }

    /// The ETag of the bundle last fetched.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// Asks the store once. Call [`Poller::activated`] when an update was put
    /// in service, so the next poll sends its ETag.
    pub fn poll(&mut self) -> Result<Polled, PollError> {
        let result = self.fetch_bundle();
        match &result {
            Ok(_) => self.failures = 0,
            Err(_) => self.failures = self.failures.saturating_add(1),
        }
        result
    }

    /// Records that the bundle with `etag` is the one now in service.
    pub fn activated(&mut self, etag: Option<String>) {
        self.etag = etag;
    }

    /// Records that a fetched bundle failed validation: counts as a failure,
    /// so the store is asked again later with backoff.
    pub fn rejected(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// How long to wait before the next poll: the interval with ±10% jitter,
    /// doubled per consecutive failure, at most `max_backoff` (plus jitter).
    pub fn next_delay(&self) -> Duration {
        let factor = 1u32 << self.failures.min(16);
        let base = self.config.interval.saturating_mul(factor);
        let base = if self.failures > 0 { base.min(self.config.max_backoff.max(self.config.interval)) } else { base };
        let mut random = [0u8; 2];
        // Without randomness the delay is simply not jittered.
        let _ = getrandom::fill(&mut random);
        let spread = f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX); // 0..=1
        base.mul_f64(0.9 + 0.2 * spread)
    }

    fn fetch_bundle(&self) -> Result<Polled, PollError> {
        let response = self.get(&self.target.path, self.etag.as_deref())?;
        match response.status {
            304 => return Ok(Polled::Unchanged),
            200 => {}
            status => return Err(PollError::Http(format!("{}: the store answered {status}", self.config.url))),
        }
        if !self.config.trusted.is_empty() {
            let sig_path = format!("{}.sig", self.target.path);
            let sig = self.get(&sig_path, None)?;
            let text = match sig.status {
                200 => Some(String::from_utf8_lossy(&sig.body).into_owned()),
                404 => None,
                status => {
                    return Err(PollError::Http(format!("{}.sig: the store answered {status}", self.config.url)));
                }
            };
            let name = format!("{}.sig", self.config.url);
            self.config.trusted.verify(&name, &response.body, text.as_deref()).map_err(PollError::Signature)?;
        }
        Ok(Polled::Updated { bundle: response.body, etag: response.etag })
    }

    fn get(&self, path: &str, etag: Option<&str>) -> Result<Response, PollError> {
        let io = |e: std::io::Error| PollError::Io(format!("{}: {e}", self.config.url));
        let Target { host, port, .. } = &self.target;
        let address = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| PollError::Io(format!("{}: the host has no address", self.config.url)))?;
        let mut stream = TcpStream::connect_timeout(&address, self.config.timeout).map_err(io)?;
        stream.set_read_timeout(Some(self.config.timeout)).map_err(io)?;
        stream.set_write_timeout(Some(self.config.timeout)).map_err(io)?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n");
        if let Some(etag) = etag.filter(|e| !e.contains(['\r', '\n'])) {
            request.push_str(&format!("If-None-Match: {etag}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).map_err(io)?;
        let limit = self.config.max_bytes.saturating_add(64 << 10);
        let mut raw = Vec::new();
        stream.take(limit as u64 + 1).read_to_end(&mut raw).map_err(io)?;
        if raw.len() > limit {
            return Err(PollError::Http(format!(
                "{}: the bundle is over {} bytes",
                self.config.url, self.config.max_bytes
            )));
        }
        parse_response(&self.config.url, raw)
    }
}

fn parse_response(url: &str, raw: Vec<u8>) -> Result<Response, PollError> {
    let bad = |why: &str| PollError::Http(format!("{url}: {why}"));
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("malformed status line"))?;
    let mut etag = None;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("etag") {
            etag = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| bad("malformed Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") && !value.eq_ignore_ascii_case("identity") {
            return Err(bad("chunked transfer encoding is not supported"));
        }
    }
    let mut body = raw;
    body.drain(..end + 4);
    if let Some(length) = length {
        if body.len() < length {
            return Err(bad("the body is shorter than its Content-Length"));
        }
        body.truncate(length);
    }
    Ok(Response { status, etag, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_with_a_path() {
        let t = parse_url("http://127.0.0.1:8080/b/x.bundle").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("127.0.0.1", 8080, "/b/x.bundle"));
        assert_eq!(parse_url("http://store/x").unwrap().port, 80);
        assert!(parse_url("https://store/x").unwrap_err().to_string().contains("only http://"));
        assert!(parse_url("http://store").is_err());
        assert!(parse_url("http://store/a b").is_err());
    }

    #[test]
    fn delays_back_off_and_are_jittered() {
        let config = PollConfig::new("http://s/b", Duration::from_secs(1), TrustedKeys::default());
        let mut poller = Poller::new(config).unwrap();
        let d = poller.next_delay();
        assert!(d >= Duration::from_millis(900) && d <= Duration::from_millis(1100), "{d:?}");
        for _ in 0..3 {
            poller.rejected();
        }
        let d = poller.next_delay();
        assert!(d >= Duration::from_millis(7200) && d <= Duration::from_millis(8800), "{d:?}");
        for _ in 0..20 {
            poller.rejected();
        }
        assert!(poller.next_delay() <= Duration::from_secs(66));
    }

    #[test]
    fn responses_are_parsed_and_truncated_to_their_length() {
        let raw = b"HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 3\r\n\r\nxyzzy".to_vec();
        let r = parse_response("u", raw).unwrap();
        assert_eq!((r.status, r.etag.as_deref(), r.body.as_slice()), (200, Some("\"abc\""), &b"xyz"[..]));
        assert!(parse_response("u", b"HTTP/1.1 200 OK\r\n".to_vec()).is_err());
    }
}
