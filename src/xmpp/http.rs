//! A tiny bounded HTTP/1.1 probe (status line and headers only).

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::{Error, Result, Stage};
use super::stream::{tcp_connect, tls_wrap};
use super::tls::TlsVerify;

/// Largest response head (status line + headers) we read.
pub const MAX_HEAD: usize = 64 * 1024;

/// Status and headers of an HTTP response (the body is not read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// e.g. `HTTP/1.1`
    pub version: String,
    /// e.g. 200
    pub status: u16,
    /// e.g. `OK`
    pub reason: String,
    /// Header (name, value) pairs in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Time from connect to the end of the head.
    pub elapsed: Duration,
}

impl HttpResponse {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Result of [`websocket_probe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketProbe {
    /// The raw response.
    pub response: HttpResponse,
    /// `Sec-WebSocket-Accept` matches our key.
    pub accept_valid: bool,
    /// `Sec-WebSocket-Protocol` chosen by the server.
    pub protocol: Option<String>,
}

impl WebSocketProbe {
    /// 101 Switching Protocols with a valid accept key.
    pub fn upgraded(&self) -> bool {
        self.response.status == 101 && self.accept_valid
    }
}

fn http_err(detail: impl Into<String>) -> Error {
    Error::Http {
        detail: detail.into(),
    }
}

/// `GET path` on `addr` (`host:port`) with `Host: host`, plain or TLS
/// (`tls`), with extra request `headers`; returns status and headers.
/// Sends `Connection: close` unless `headers` set `Connection`.
pub async fn http_get(
    addr: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    tls: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<HttpResponse> {
    for (k, v) in headers {
        if [k, v].iter().any(|s| s.contains(['\r', '\n'])) || k.contains(':') {
            return Err(Error::Config(format!("invalid HTTP header {k:?}: {v:?}")));
        }
    }
    if !path.starts_with('/') || path.contains([' ', '\r', '\n']) {
        return Err(Error::Config(format!("invalid HTTP path {path:?}")));
    }
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: pfe-probe\r\n");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
    {
        req.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");

    let started = Instant::now();
    let work = async {
        let tcp = tcp_connect(addr, timeout).await?;
        match tls {
            None => exchange(tcp, &req, started, timeout).await,
            Some(v) => {
                let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
                let remaining = timeout.saturating_sub(started.elapsed());
                let s = tls_wrap(tcp, v, name, &[b"http/1.1"], remaining).await?;
                exchange(s, &req, started, timeout).await
            }
        }
    };
    match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            stage: Stage::Http,
            expected: format!("an HTTP response to GET {path}"),
            waited: started.elapsed(),
            received: String::new(),
        }),
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &str,
    started: Instant,
    timeout: Duration,
) -> Result<HttpResponse> {
    let remaining = || timeout.saturating_sub(started.elapsed());
    let io = |source| Error::Io {
        stage: Stage::Http,
        source,
    };
    match tokio::time::timeout(remaining(), s.write_all(req.as_bytes())).await {
        Ok(r) => r.map_err(io)?,
        Err(_) => return Err(http_err("timed out sending the request")),
    }
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if head.len() > MAX_HEAD {
            return Err(Error::TooLarge {
                stage: Stage::Http,
                what: "the HTTP response head".into(),
                limit: MAX_HEAD,
                seen: head.len(),
            });
        }
        let n = match tokio::time::timeout(remaining(), s.read(&mut buf)).await {
            Ok(r) => r.map_err(io)?,
            Err(_) => {
                return Err(Error::Timeout {
                    stage: Stage::Http,
                    expected: "the HTTP response head (ending in a blank line)".into(),
                    waited: started.elapsed(),
                    received: super::xml::snippet(&head),
                });
            }
        };
        if n == 0 {
            return Err(Error::Closed {
                stage: Stage::Http,
                expected: "a complete HTTP response head".into(),
                received: super::xml::snippet(&head),
            });
        }
        head.extend_from_slice(&buf[..n]);
    };
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_string();
    let status = parts.next().and_then(|c| c.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(http_err(format!(
            "expected an HTTP/1.x status line, got {status_line:?}"
        )));
    };
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| http_err(format!("malformed header line {l:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), s.shutdown()).await;
    Ok(HttpResponse {
        version,
        status,
        reason,
        headers,
        elapsed,
    })
}

/// The `Sec-WebSocket-Accept` value for `key` (RFC 6455 §4.2.2).
pub fn websocket_accept(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    B64.encode(h.finalize())
}

/// Ask for a WebSocket upgrade with subprotocol `xmpp` (RFC 7395) on
/// `path`, and check the server's answer. Does not speak WebSocket after.
pub async fn websocket_probe(
    addr: &str,
    host: &str,
    path: &str,
    tls: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<WebSocketProbe> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).expect("the OS random source works");
    let key = B64.encode(raw);
    let response = http_get(
        addr,
        host,
        path,
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", &key),
            ("Sec-WebSocket-Protocol", "xmpp"),
        ],
        tls,
        timeout,
    )
    .await?;
    let accept_valid = response.header("Sec-WebSocket-Accept") == Some(&websocket_accept(&key));
    let protocol = response
        .header("Sec-WebSocket-Protocol")
        .map(str::to_string);
    Ok(WebSocketProbe {
        response,
        accept_valid,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_accept_example() {
        assert_eq!(
            websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
