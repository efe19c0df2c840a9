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
    let req = HttpRequest {
        method: "GET",
        path,
        host,
        headers,
        body: None,
    };
    Ok(http_request(addr, &req, tls, timeout, None).await?.response)
}

/// One HTTP/1.1 request for [`http_request`].
#[derive(Clone, Copy, Debug)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, `PUT`, `HEAD`, ...
    pub method: &'a str,
    /// Absolute path (and query), starting with `/`.
    pub path: &'a str,
    /// The `Host` header (`name` or `name:port`); its name is also the TLS
    /// server name.
    pub host: &'a str,
    /// Extra headers (`Connection: close` is added unless one sets `Connection`).
    pub headers: &'a [(&'a str, &'a str)],
    /// A body, sent with `Content-Length`.
    pub body: Option<&'a [u8]>,
}

/// A response head and the body that came with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpExchange {
    /// Status and headers.
    pub response: HttpResponse,
    /// The body (`Content-Length`, chunked or up to the close), empty when
    /// not read.
    pub body: Vec<u8>,
}

/// Send `req` to `addr` (`host:port`), plain or TLS (`tls`), and read the
/// response head, and its body too when `max_body` is given (a larger body
/// is an [`Error::TooLarge`]). Everything within `timeout`.
pub async fn http_request(
    addr: &str,
    req: &HttpRequest<'_>,
    tls: Option<&TlsVerify>,
    timeout: Duration,
    max_body: Option<usize>,
) -> Result<HttpExchange> {
    let bad = |s: &str| s.contains(['\r', '\n']);
    for (k, v) in req.headers {
        if bad(k) || bad(v) || k.contains(':') {
            return Err(Error::Config(format!("invalid HTTP header {k:?}: {v:?}")));
        }
    }
    if !req.path.starts_with('/') || req.path.contains([' ', '\r', '\n']) {
        return Err(Error::Config(format!("invalid HTTP path {:?}", req.path)));
    }
    if req.method.is_empty()
        || !req.method.bytes().all(|b| b.is_ascii_uppercase())
        || bad(req.host)
        || req.host.contains(' ')
    {
        return Err(Error::Config(format!(
            "invalid HTTP request line {} (Host {:?})",
            req.method, req.host
        )));
    }
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: pfe-probe\r\n",
        req.method, req.path, req.host
    );
    if !req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
    {
        head.push_str("Connection: close\r\n");
    }
    for (k, v) in req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = req.body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if let Some(b) = req.body {
        bytes.extend_from_slice(b);
    }
    let what = format!("{} {}", req.method, req.path);
    let no_body = req.method == "HEAD";
    let started = Instant::now();
    let work = async {
        let tcp = tcp_connect(addr, timeout).await?;
        match tls {
            None => exchange(tcp, &bytes, started, timeout, max_body, no_body).await,
            Some(v) => {
                let name = req.host.rsplit_once(':').map_or(req.host, |(h, _)| h);
                let name = name.trim_start_matches('[').trim_end_matches(']');
                let remaining = timeout.saturating_sub(started.elapsed());
                let s = tls_wrap(tcp, v, name, &[b"http/1.1"], remaining).await?;
                exchange(s, &bytes, started, timeout, max_body, no_body).await
            }
        }
    };
    match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            stage: Stage::Http,
            expected: format!("an HTTP response to {what}"),
            waited: started.elapsed(),
            received: String::new(),
        }),
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
    started: Instant,
    timeout: Duration,
    max_body: Option<usize>,
    no_body: bool,
) -> Result<HttpExchange> {
    let remaining = || timeout.saturating_sub(started.elapsed());
    let io = |source| Error::Io {
        stage: Stage::Http,
        source,
    };
    match tokio::time::timeout(remaining(), s.write_all(req)).await {
        Ok(r) => r.map_err(io)?,
        Err(_) => return Err(http_err("timed out sending the request")),
    }
    let mut data = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    // Read more into `data`; Ok(false) at end of stream.
    macro_rules! read_more {
        ($expected:expr) => {
            match tokio::time::timeout(remaining(), s.read(&mut buf)).await {
                Ok(r) => {
                    let n = r.map_err(io)?;
                    data.extend_from_slice(&buf[..n]);
                    n > 0
                }
                Err(_) => {
                    return Err(Error::Timeout {
                        stage: Stage::Http,
                        expected: $expected.into(),
                        waited: started.elapsed(),
                        received: super::xml::snippet(&data),
                    });
                }
            }
        };
    }
    let end = loop {
        if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if data.len() > MAX_HEAD {
            return Err(Error::TooLarge {
                stage: Stage::Http,
                what: "the HTTP response head".into(),
                limit: MAX_HEAD,
                seen: data.len(),
            });
        }
        if !read_more!("the HTTP response head (ending in a blank line)") {
            return Err(Error::Closed {
                stage: Stage::Http,
                expected: "a complete HTTP response head".into(),
                received: super::xml::snippet(&data),
            });
        }
    };
    let elapsed = started.elapsed();
    let response = parse_head(&data[..end], elapsed)?;
    let mut body = Vec::new();
    let bodiless = no_body || matches!(response.status, 100..=199 | 204 | 304);
    if let (Some(limit), false) = (max_body, bodiless) {
        data.drain(..end + 4);
        let too_large = |seen: usize| Error::TooLarge {
            stage: Stage::Http,
            what: "the HTTP response body".into(),
            limit,
            seen,
        };
        let chunked = response
            .header("Transfer-Encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        let length = response
            .header("Content-Length")
            .map(|l| {
                l.trim()
                    .parse::<usize>()
                    .map_err(|_| http_err(format!("bad Content-Length {l:?}")))
            })
            .transpose()?;
        if chunked {
            // size CRLF data CRLF ... 0 CRLF [trailers] CRLF
            let mut pos = 0;
            loop {
                let Some(eol) = data[pos..].windows(2).position(|w| w == b"\r\n") else {
                    if data.len() - pos > 1024 {
                        return Err(http_err("malformed chunk size line"));
                    }
                    if !read_more!("the next chunk of the HTTP body") {
                        return Err(http_err("the body ended inside a chunk header"));
                    }
                    continue;
                };
                let line = String::from_utf8_lossy(&data[pos..pos + eol]).into_owned();
                let size_hex = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_hex, 16)
                    .map_err(|_| http_err(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    break;
                }
                if body.len() + size > limit {
                    return Err(too_large(body.len() + size));
                }
                let start = pos + eol + 2;
                while data.len() < start + size + 2 {
                    if !read_more!("the rest of an HTTP body chunk") {
                        return Err(http_err("the body ended inside a chunk"));
                    }
                }
                body.extend_from_slice(&data[start..start + size]);
                pos = start + size + 2;
            }
        } else if let Some(n) = length {
            if n > limit {
                return Err(too_large(n));
            }
            while data.len() < n {
                if !read_more!(format!("{n} bytes of HTTP body")) {
                    return Err(Error::Closed {
                        stage: Stage::Http,
                        expected: format!("{n} bytes of HTTP body ({} came)", data.len()),
                        received: String::new(),
                    });
                }
            }
            body = data[..n].to_vec();
        } else {
            // Neither: the body runs to the close (we sent Connection: close).
            loop {
                if data.len() > limit {
                    return Err(too_large(data.len()));
                }
                if !read_more!("the end of the HTTP body (connection close)") {
                    break;
                }
            }
            body = std::mem::take(&mut data);
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), s.shutdown()).await;
    Ok(HttpExchange { response, body })
}

fn parse_head(head: &[u8], elapsed: Duration) -> Result<HttpResponse> {
    let text = String::from_utf8_lossy(head).into_owned();
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
